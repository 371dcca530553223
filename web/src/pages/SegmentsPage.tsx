// Segments: named conditions on people ("no order in 30 days") whose members Wayfarer keeps as
// things happen. The list: each segment's name, id, its condition in words and its size now; while
// everyone is evaluated again after a change (`fill`), how far that is, refreshed until done.
import { useId, useMemo, useState, type FormEvent } from "react";
import { apiGet } from "../api/client";
import { useApi } from "../api/useApi";
import { useMay } from "../auth/context";
import { conditionText, type SegmentNames } from "../journey/describe";
import type { Condition } from "../journey/doc";
import { Link, navigate } from "../router";
import { FILL_REFRESH_MS, FillProgress } from "../segments/FillProgress";
import { namesOf, SEGMENT_ID, useRefreshed, type Segment } from "../segments/segments";
import { SegmentsTabs } from "../segments/SegmentsTabs";
import "../segments/segments.css";
import { ErrorNotice } from "../ui/ErrorNotice";
import { formatNumber } from "../ui/format";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";

/** A new segment's id, then its page. `taken` are the ids there are (the API lists them all). */
function NewSegment({ taken, onCancel }: { taken: Set<string>; onCancel: () => void }) {
  const inputId = useId();
  const [id, setId] = useState("");
  const [problem, setProblem] = useState<string>();
  const create = (e: FormEvent) => {
    e.preventDefault();
    const wanted = id.trim();
    if (!SEGMENT_ID.test(wanted)) return setProblem("An id is 1 to 64 of a-z, 0-9, - and _, starting with a letter or a digit.");
    if (taken.has(wanted)) return setProblem(`There is a segment ${wanted} already.`);
    navigate(`/segments/${wanted}`);
  };
  return (
    <form className="panel new-segment" onSubmit={create} aria-label="New segment">
      <div className="field">
        <label htmlFor={inputId}>Id of the new segment (what journeys name)</label>
        <input
          id={inputId}
          value={id}
          autoFocus
          autoComplete="off"
          spellCheck={false}
          placeholder="lapsed-buyers"
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${inputId}-problem` : undefined}
          onChange={(e) => {
            setId(e.target.value);
            setProblem(undefined);
          }}
        />
      </div>
      {problem && (
        <p id={`${inputId}-problem`} className="item-error" role="alert">
          {problem}
        </p>
      )}
      <div className="page-head">
        <button type="submit" className="button button-primary">
          Create
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function SegmentTable({ segments, names }: { segments: Segment[]; names: SegmentNames }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Segment</th>
          <th scope="col">Who</th>
          <th scope="col" className="num">
            Size
          </th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {segments.map((s) => (
          <tr key={s.id}>
            <td>
              <Link to={`/segments/${encodeURIComponent(s.id)}`}>{s.name}</Link>
              <div>
                <code className="muted">{s.id}</code>
              </div>
            </td>
            <td className="segment-condition-text">{conditionText(s.condition as unknown as Condition, 96, names)}</td>
            <td className="num">
              {formatNumber(s.size)}
              {s.fill && (
                <div>
                  <FillProgress fill={s.fill} />
                </div>
              )}
            </td>
            <td className="nowrap">
              <Time at={s.updated_at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const EXAMPLE = (origin: string) => `curl -X PUT ${origin}/api/segments/lapsed-buyers -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
  -d '{"name": "No order in 30 days", "condition": {"all": [{"trait": "email", "op": "exists"},
       {"history": {"event": "Order Completed", "within": "30d"}, "op": "eq", "value": 0}]}}'`;

export function SegmentsPage() {
  useTitle("Segments");
  const [list, reload] = useApi("segments", (signal) => apiGet("/api/segments", { signal }));
  // While a fill goes on, the list is asked for again (in place) until it is done.
  const segments = useRefreshed(
    list.state === "ready" ? list.data.segments : undefined,
    (signal) => apiGet("/api/segments", { signal }).then((l) => l.segments),
    (latest) => latest.some((s) => s.fill),
    FILL_REFRESH_MS,
  );
  const names = useMemo(() => namesOf(segments), [segments]);
  const [adding, setAdding] = useState(false);
  const editor = useMay("editor");
  return (
    <div className="page">
      <SegmentsTabs current="/segments" />
      <div className="page-head">
        <h1>Segments</h1>
        {!editor ? (
          <ReadOnly />
        ) : (
          !adding && (
            <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
              New segment
            </button>
          )
        )}
      </div>
      <p className="muted">
        A segment is a named condition on people: their traits, what they did (event history), whether they can be reached, other segments. Wayfarer keeps
        its members as things happen, after each of their events and trait changes and when a time window moves on (“no order in 30 days”). Journeys start
        when people enter or leave one, and branches test whether they are in it.
      </p>
      {adding && editor && <NewSegment taken={new Set((segments ?? []).map((s) => s.id))} onCancel={() => setAdding(false)} />}
      <section aria-label="Segments">
        {list.state === "loading" && (
          <p className="muted" role="status">
            Loading the segments…
          </p>
        )}
        {list.state === "failed" && <ErrorNotice what="The segments could not be listed" error={list.error} onRetry={reload} />}
        {segments &&
          (segments.length === 0 ? (
            <div className="panel">
              <p>
                <strong>No segments yet.</strong> Make one with “New segment”: name it, then say who is in it with the same conditions journeys use (a
                trait, a count of events in the last days, a channel that reaches them). Or with the API:
              </p>
              <pre tabIndex={0}>{EXAMPLE(window.location.origin)}</pre>
            </div>
          ) : (
            <>
              <SegmentTable segments={segments} names={names} />
              <p className="muted" role="status">
                {segments.length} {segments.length === 1 ? "segment" : "segments"}
              </p>
            </>
          ))}
      </section>
    </div>
  );
}
