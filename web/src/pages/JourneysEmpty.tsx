import { EXAMPLES } from "../examples";
import { describe } from "../journey/describe";
import { toGraph } from "../journey/graph";

/** The empty journeys page teaches: the example journeys, how to create one, how to send a first event. */
export function JourneysEmpty() {
  const origin = window.location.origin;
  const auth = `-H "Authorization: Bearer $TOKEN" -H 'content-type: application/json'`;
  return (
    <div className="panel" data-testid="journeys-empty">
      <h2>No journeys yet</h2>
      <p>
        A journey is one JSON document: what starts a run, then its steps. The repository's <code>examples/</code> has complete ones for common
        campaigns. Create and publish one with the <code>wayfarer</code> command (with <code>WAYFARER_ADMIN_TOKEN</code> set):
      </p>
      <ul className="examples">
        {EXAMPLES.map(({ file, doc }) => (
          <li key={file} className="panel">
            <strong>{doc.name ?? doc.id}</strong>
            <span className="muted">
              {describe(toGraph(doc).nodes[0])}; {doc.steps.length} steps
            </span>
            <pre tabIndex={0}>{`wayfarer journeys apply examples/${file}`}</pre>
          </li>
        ))}
      </ul>
      <p>or with the API:</p>
      <pre tabIndex={0}>{`curl -X POST ${origin}/api/journeys ${auth} -d @examples/consultation.json
curl -X POST ${origin}/api/journeys/consultation/publish -H "Authorization: Bearer $TOKEN"`}</pre>
      <h2>Send a first event</h2>
      <p>
        Events come in through the Segment tracking API. Make a source for its write key, then point any Segment SDK at this server, e.g.{" "}
        <code>@segment/analytics-node</code>:
      </p>
      <pre tabIndex={0}>{`curl -X POST ${origin}/api/sources ${auth} -d '{"id": "website"}'    # answers with its write_key`}</pre>
      <pre tabIndex={0}>{`import { Analytics } from "@segment/analytics-node";

const analytics = new Analytics({ writeKey: "WRITE_KEY", host: "${origin}" });
analytics.identify({ userId: "alice", traits: { email: "alice@example.com", firstName: "Alice" } });
analytics.page({ userId: "alice", name: "Product", properties: { path: "/products/a" } });`}</pre>
    </div>
  );
}
