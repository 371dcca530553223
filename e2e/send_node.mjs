// Send Segment calls with the real @segment/analytics-node SDK.
//
// Usage: node send_node.mjs HOST WRITE_KEY < calls.json
// calls.json is a list of {"call": "identify|track|page|screen|group|alias", ...} objects
// with the SDK's own field names (userId, anonymousId, event, name, properties, traits,
// previousId, groupId, timestamp). All calls go out in order, in one batch.
// Exits 1 if the SDK reports any delivery failure.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, 'package.json'))
const { Analytics } = require('@segment/analytics-node')

const [host, writeKey] = process.argv.slice(2)
const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const calls = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const analytics = new Analytics({ writeKey, host, flushAt: Math.max(calls.length, 1), flushInterval: 60000, maxRetries: 3 })
let failures = 0
analytics.on('error', (err) => {
  failures++
  console.error('delivery failure:', err.code, String(err.reason))
})
for (const c of calls) {
  const { call, ...fields } = c
  if (fields.timestamp) fields.timestamp = new Date(fields.timestamp)
  analytics[call](fields)
}
await analytics.closeAndFlush({ timeout: 30000 })
process.exit(failures ? 1 : 0)
