import { useEffect } from "react";
import { apiGet, type Schemas } from "../api/client";
import { usePaged } from "../api/usePaged";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ListFoot } from "../ui/ListFoot";
import { formatNumber } from "../ui/format";
import { useTitle } from "../ui/useTitle";
import { JourneysEmpty } from "./JourneysEmpty";
import { preloadEditor } from "./JourneyPage";

/** Journeys a page. */
export const JOURNEYS_PAGE = 100;

function JourneyTable({ journeys }: { journeys: Schemas["JourneySummary"][] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Journey</th>
          <th scope="col">Status</th>
          <th scope="col">State</th>
          <th scope="col">Version</th>
          <th scope="col" className="num">
            Waiting now
          </th>
          <th scope="col" className="num">
            Entered, 7 days
          </th>
          <th scope="col" className="num">
            Converted, 7 days
          </th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {journeys.map((j) => (
          <tr key={j.id}>
            <td>
              <Link to={`/journeys/${encodeURIComponent(j.id)}`}>{j.name}</Link>
              <div>
                <code className="muted">{j.id}</code>
              </div>
            </td>
            <td>
              <span className={`status status-${j.status}`}>{j.status}</span>
            </td>
            <td>
              <span className={`status status-${j.state}`}>{j.state}</span>
            </td>
            <td>{j.published_version ?? <span className="muted">none</span>}</td>
            <td className="num">{formatNumber(j.waiting)}</td>
            <td className="num">{formatNumber(j.entered_7d)}</td>
            <td className="num">
              {formatNumber(j.converted_7d)}
              {j.entered_7d > 0 && <span className="muted"> · {Math.round((j.converted_7d / j.entered_7d) * 100)}%</span>}
            </td>
            <td className="nowrap">
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
  const list = usePaged("journeys", async (cursor, signal) => {
    const page = await apiGet("/api/journeys", { query: { limit: JOURNEYS_PAGE, cursor }, signal });
    return { items: page.journeys, next: page.next_cursor ?? null };
  });
  // The next page is most likely a journey: its editor loads while this list is read.
  useEffect(preloadEditor, []);
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
      {list.state === "failed" && list.error && <ErrorNotice what="The journeys could not be listed" error={list.error} onRetry={list.reload} />}
      {list.state === "ready" &&
        (list.items.length === 0 ? (
          <JourneysEmpty />
        ) : (
          <>
            <JourneyTable journeys={list.items} />
            <ListFoot list={list} one="journey" many="journeys" />
          </>
        ))}
    </div>
  );
}
