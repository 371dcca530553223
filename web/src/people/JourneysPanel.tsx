// The right of a person's page: each published journey from their side — in it or not, their
// runs, and in one click why they are not in it (with what their latest entry events did).
import { useId, useState } from "react";
import type { Schemas } from "../api/client";
import type { Loadable } from "../api/useApi";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { Time } from "../ui/Time";

const VERDICT_LABEL: Record<Schemas["EntryVerdict"], string> = {
  entered: "entered",
  filtered: "filtered out",
  waiting: "already waiting",
  reentry: "re-entry rule",
  limit: "entry limit",
  no_key: "no key",
  not_live: "not live",
  unexplained: "unexplained",
};

function RecentEntries({ entries }: { entries: Schemas["RecentEntry"][] }) {
  return (
    <ol className="recent-entries" aria-label="Latest entry events">
      {entries.map((e) => (
        <li key={e.message_id}>
          <div className="item-head">
            <span className={`verdict verdict-${e.verdict}`}>{VERDICT_LABEL[e.verdict]}</span>
            <Time at={e.at} />
          </div>
          <p>{e.detail}</p>
          {e.comparisons && e.comparisons.length > 0 && (
            <ul className="comparisons">
              {e.comparisons.map((c, i) => (
                <li key={i}>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ol>
  );
}

function WhyNot({ journey, name }: { journey: Schemas["ProfileJourney"]; name: string }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const entries = journey.recent_entries ?? [];
  return (
    <div className="why-not">
      <button type="button" className="button button-small" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        Why not in {name}?
      </button>
      {open && (
        <div id={id} className="why-not-body">
          <p>{journey.why_not ?? "The server gave no reason."}</p>
          {entries.length > 0 ? <RecentEntries entries={entries} /> : journey.recent_entries && <p className="muted">No entry events from this person yet.</p>}
        </div>
      )}
    </div>
  );
}

function RunRow({ profileId, run }: { profileId: number; run: Schemas["RunView"] }) {
  return (
    <li>
      <Link to={`/people/${profileId}/runs/${run.run_id}`}>Run {run.run_id}</Link>{" "}
      <span className={`status status-run-${run.status}`}>{run.status}</span>{" "}
      {run.node && (
        <>
          {run.status === "waiting" ? "at" : "ended at"} <code>{run.node}</code>
        </>
      )}
      {run.control_group && <span className="muted"> · control group</span>}
      {run.converted_at && <span className="converted"> · converted</span>}
      <div className="muted">
        entered <Time at={run.entered_at} />
        {run.exit_reason && <> · {run.exit_reason}</>}
      </div>
    </li>
  );
}

function JourneyCard({ profileId, journey, name }: { profileId: number; journey: Schemas["ProfileJourney"]; name: string }) {
  const runs = [...journey.runs].sort((a, b) => b.run_id - a.run_id);
  return (
    <li className="panel journey-card" data-in-journey={journey.in_journey}>
      <div className="item-head">
        <h3>
          <Link to={`/journeys/${encodeURIComponent(journey.journey)}`}>{name}</Link>
        </h3>
        <span className="muted">v{journey.version}</span>
        {journey.state !== "active" && <span className={`status status-${journey.state}`}>{journey.state}</span>}
      </div>
      <p className={journey.in_journey ? "in-journey" : "muted"}>{journey.in_journey ? "In this journey now" : "Not in this journey"}</p>
      {runs.length > 0 && (
        <ul className="runs" aria-label={`Runs in ${name}`}>
          {runs.map((r) => (
            <RunRow key={r.run_id} profileId={profileId} run={r} />
          ))}
        </ul>
      )}
      {!journey.in_journey && <WhyNot journey={journey} name={name} />}
    </li>
  );
}

export function JourneysPanel({
  profileId,
  journeys,
  names,
  onRetry,
}: {
  profileId: number;
  journeys: Loadable<Schemas["ProfileJourneys"]>;
  /** Journey id → name, when known. */
  names: Record<string, string>;
  onRetry: () => void;
}) {
  return (
    <aside className="person-journeys" aria-label="Journeys">
      <h2>Journeys</h2>
      {journeys.state === "loading" && (
        <p className="muted" role="status">
          Loading the journeys…
        </p>
      )}
      {journeys.state === "failed" && <ErrorNotice what="This person's journeys could not be loaded" error={journeys.error} onRetry={onRetry} />}
      {journeys.state === "ready" &&
        (journeys.data.journeys.length === 0 ? (
          <p className="muted">No journey is published yet.</p>
        ) : (
          <ul className="journey-cards">
            {journeys.data.journeys.map((j) => (
              <JourneyCard key={j.journey} profileId={profileId} journey={j} name={names[j.journey] ?? j.journey} />
            ))}
          </ul>
        ))}
    </aside>
  );
}
