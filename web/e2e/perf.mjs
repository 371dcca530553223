// Browser measure of the editor on a large journey: a generated 200-node journey (a tree of
// branches over chains of waits and sends) is saved to the server, opened, and edited. Prints
// JSON with the app's own performance measures; asserts nothing about the figures.
//
//   wf:render     the journey's JSON received → its canvas drawn (cards in the DOM, next frame)
//   wf:edit       an edit (a step added from the palette) → the canvas redrawn with the
//                 server validator's diagnostics for the edited document
//   wf:edit-draw  the same edit → the canvas redrawn (before the diagnostics come back)
//   validate_ms   each edit's POST /api/journeys/validate, sent → answer read, in the worker
//                 that makes it (api/fetch.worker.ts): it runs while the canvas is drawn, and
//                 its answer reaches the page once the page is free again
//
//   WAYFARER_URL      the server (default http://127.0.0.1:8420)
//   WAYFARER_TOKEN    the admin token
//   WAYFARER_UI       where the UI is served (default WAYFARER_URL); with WAYFARER_PREVIEW=1, a
//                     `vite preview` of web/dist this script starts, proxying the API to WAYFARER_URL
//   PERF_NODES        the number of nodes (default 200)
//   PERF_EDITS        how many edits to measure (default 9)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//
// Run from web/: node e2e/perf.mjs
import { fileURLToPath } from "node:url";
import { apiClient, openBrowser, previewDist, screenshot } from "./lib/browser.mjs";

const api = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? "";
const nodes = Number(process.env.PERF_NODES ?? 200);
const edits = Number(process.env.PERF_EDITS ?? 9);
const call = apiClient(api, token).ok;

/**
 * A valid journey of exactly `n` nodes (the entry and n - 1 steps): a root branch whose arms are
 * chains of waits and sends, each chain forking again at a branch, until the steps run out.
 */
export function generate(id, n) {
  const steps = [];
  let count = 0;
  const fresh = (prefix) => `${prefix}-${++count}`;
  // Exactly `budget` steps: a chain of waits and sends, then (while there is room) a branch
  // whose arms are trees again. Answers the first step's id.
  const tree = (budget, depth) => {
    const arms = depth === 0 ? 3 : 2;
    const fork = depth < 4 && budget >= 8;
    const len = fork ? Math.max(2, Math.floor(budget / 4)) : budget;
    const ids = Array.from({ length: len }, (_, i) => fresh(i % 2 === 0 ? "wait" : "send"));
    ids.forEach((sid, i) => {
      const step = i % 2 === 0 ? { id: sid, type: "wait", duration: `${(i % 5) + 1}d` } : { id: sid, type: "send", channel: "email", template: "perf-mail" };
      if (ids[i + 1]) step.next = ids[i + 1];
      steps.push(step);
    });
    if (!fork) return ids[0];
    const b = { id: fresh("branch"), type: "branch", cases: [] };
    steps.find((s) => s.id === ids[ids.length - 1]).next = b.id;
    steps.push(b);
    let rest = budget - len - 1;
    const heads = [];
    for (let a = 0; a < arms; a++) {
      const share = a === arms - 1 ? rest : Math.floor(rest / (arms - a));
      rest -= share;
      if (share > 0) heads.push(tree(share, depth + 1));
    }
    heads.slice(0, -1).forEach((h, i) => b.cases.push({ when: { trait: "plan", op: "eq", value: `plan-${depth}-${i}` }, next: h }));
    b.else = heads[heads.length - 1];
    if (b.cases.length === 0) b.cases.push({ when: { trait: "plan", op: "eq", value: "none" } });
    return ids[0];
  };
  tree(n - 1, 0);
  return { id, name: `A ${n}-node journey`, entry: { event: "Perf Event" }, steps };
}

async function main() {
  let preview;
  let ui = (process.env.WAYFARER_UI ?? api).replace(/\/$/, "");
  if (process.env.WAYFARER_PREVIEW === "1") ({ preview, base: ui } = await previewDist(api, 4174));
  const id = `perf-${nodes}`;
  const doc = generate(id, nodes);
  await call("PUT", "/api/templates/perf-mail", { subject: "Hello", text: "Hello {{ traits.email | default: 'there' }}" });
  const saved = await call("PUT", `/api/journeys/${id}`, doc);
  const errors = saved.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`the generated journey is not valid: ${JSON.stringify(errors.slice(0, 3))}`);

  const browser = await openBrowser({ origin: ui, token });
  const result = { nodes: 1 + doc.steps.length, url: `${ui}/journeys/${id}` };
  try {
    const page = await browser.page();
    const measures = (name) => page.evaluate((n) => performance.getEntriesByName(n, "measure").map((m) => Math.round(m.duration * 10) / 10), name);
    await page.goto(result.url);
    await page.waitForFunction(() => performance.getEntriesByName("wf:render", "measure").length > 0, null, { timeout: 60000 });
    [result.render_ms] = await measures("wf:render");
    result.render_since_navigation_ms = await page.evaluate(() => Math.round(performance.getEntriesByName("wf:render", "measure")[0].startTime + performance.getEntriesByName("wf:render", "measure")[0].duration));
    result.cards = await page.locator(".react-flow__node").count();
    // Wait for the first validation, so each edit's is its own.
    await page.getByRole("button", { name: /^Problems: / }).filter({ hasNotText: "Checking" }).waitFor();
    await page.locator('.react-flow__node[data-id="(entry)"]').click();
    for (let i = 0; i < edits; i++) {
      const before = (await measures("wf:edit")).length;
      await page.getByRole("button", { name: "Add Wait", exact: true }).click();
      await page.waitForFunction((b) => performance.getEntriesByName("wf:edit", "measure").length > b, before, { timeout: 30000 });
      // Back to the entry: the next step is added right under it, moving everything below.
      await page.locator('.react-flow__node[data-id="(entry)"]').click();
    }
    result.edit_ms = await measures("wf:edit");
    // The validator's round trips (request sent → answer read, in the worker that makes them),
    // the first one's (on opening) left out: how much of an edit is the server's.
    result.validate_ms = (await measures("wf:fetch /api/journeys/validate")).slice(1);
    result.edit_draw_ms = await measures("wf:edit-draw");
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    result.edit_median_ms = median(result.edit_ms);
    result.edit_draw_median_ms = median(result.edit_draw_ms);
    result.validate_median_ms = median(result.validate_ms);
    result.cards_after = await page.locator(".react-flow__node").count();
    if (process.env.SCREENSHOTS) await screenshot(page, `perf-${nodes}`);
  } finally {
    await browser.close();
    await preview?.close();
  }
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
