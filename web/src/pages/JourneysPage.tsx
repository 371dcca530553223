import { apiGet, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { useTitle } from "../ui/useTitle";
import { JourneysEmpty } from "./JourneysEmpty";

function JourneyTable({ journeys }: { journeys: Schemas["JourneySummary"][] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Id</th>
          <th scope="col">Status</th>
          <th scope="col">State</th>
          <th scope="col">Version</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {journeys.map((j) => (
          <tr key={j.id}>
            <td>
              <Link to={`/journeys/${encodeURIComponent(j.id)}`}>{j.name}</Link>
            </td>
            <td>
              <code>{j.id}</code>
            </td>
            <td>
              <span className={`status status-${j.status}`}>{j.status}</span>
            </td>
            <td>
              <span className={`status status-${j.state}`}>{j.state}</span>
            </td>
            <td>{j.published_version ?? <span className="muted">none</span>}</td>
            <td>
              <time dateTime={j.updated_at}>{new Date(j.updated_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function JourneysPage() {
  useTitle("Journeys");
  const [list, reload] = useApi("journeys", (signal) => apiGet("/api/journeys", { signal }));
  return (
    <div className="page">
      <div className="page-head">
        <h1>Journeys</h1>
        <Link to="/journeys/+new" className="button button-primary">
          New journey
        </Link>
      </div>
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading the journeys…
        </p>
      )}
      {list.state === "failed" && <ErrorNotice what="The journeys could not be listed" error={list.error} onRetry={reload} />}
      {list.state === "ready" && (list.data.journeys.length === 0 ? <JourneysEmpty /> : <JourneyTable journeys={list.data.journeys} />)}
    </div>
  );
}
