// The side panel's other tabs: problems, versions (with a diff), a backtest; and the period the
// counts are of.
import { useEffect, useId, useState } from "react";
import type { ApiError, Schemas } from "../../api/client";
import { changeLines, type Change } from "../../journey/diff";

type Diagnostic = Schemas["Diagnostic"];

export function problemsSummary(diagnostics: Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  if (diagnostics.length === 0) return "No problems found";
  const parts = [errors > 0 ? `${errors} error${errors > 1 ? "s" : ""}` : "", warnings > 0 ? `${warnings} warning${warnings > 1 ? "s" : ""}` : ""];
  return parts.filter(Boolean).join(", ");
}

/** Diagnostics as a list; each one selects the node it is about. */
export function DiagnosticList({ diagnostics, onPick }: { diagnostics: Diagnostic[]; onPick: (d: Diagnostic) => void }) {
  if (diagnostics.length === 0) return null;
  return (
    <ul className="problems">
      {diagnostics.map((d, i) => (
        <li key={`${d.path}:${d.code}:${i}`} className={`problem problem-${d.severity}`}>
          <button type="button" onClick={() => onPick(d)} title={d.node ? `Select ${d.node}` : d.path.startsWith("/entry") ? "Select the entry" : "Open the journey's settings"}>
            <strong>{d.severity}</strong> <span>{d.message}</span>
            <span className="problem-where">
              {d.node ? <>step {d.node} · </> : null}
              <code>{d.path || "/"}</code> <code>{d.code}</code>
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

export function ProblemsPanel({ diagnostics, error, pending, onPick }: { diagnostics?: Diagnostic[]; error?: ApiError; pending: boolean; onPick: (d: Diagnostic) => void }) {
  return (
    <div className="ed-panel-body">
      <h2>Problems</h2>
      <p className="muted" role="status">
        {diagnostics === undefined ? "Checking…" : `${problemsSummary(diagnostics)}${pending ? " (checking the latest edit…)" : ""}`}
      </p>
      {error && (
        <p className="ed-error" role="alert">
          The document could not be checked: {error.message} <code>{error.code}</code>
        </p>
      )}
      {diagnostics && <DiagnosticList diagnostics={diagnostics} onPick={onPick} />}
      <p className="ed-hint">Errors stop a publish; warnings (names no data has had yet) do not. The checks are the server's, as the API and the CLI make them.</p>
    </div>
  );
}

/** A version to compare: a published one by number, or the draft being edited. */
export type Side = number | "draft";

export function VersionsPanel({
  versions,
  error,
  compare,
  onCompare,
  changes,
}: {
  versions?: Schemas["PublishedVersion"][];
  error?: ApiError;
  compare?: { from: Side; to: Side };
  onCompare: (c: { from: Side; to: Side } | undefined) => void;
  changes?: Change[];
}) {
  const id = useId();
  const [from, setFrom] = useState<Side | undefined>(compare?.from);
  const [to, setTo] = useState<Side>(compare?.to ?? "draft");
  useEffect(() => {
    if (from === undefined && versions && versions.length > 0) setFrom(versions[0].version);
  }, [versions]);
  const options = [{ value: "draft", label: "The draft (being edited)" }, ...(versions ?? []).map((v) => ({ value: String(v.version), label: `Version ${v.version}` }))];
  const parse = (v: string): Side => (v === "draft" ? "draft" : Number(v));
  return (
    <div className="ed-panel-body">
      <h2>Versions</h2>
      {error && <p className="ed-error">The versions could not be listed: {error.message}</p>}
      {versions === undefined && !error && <p className="muted">Loading the versions…</p>}
      {versions?.length === 0 && <p className="muted">Never published: there is only the draft.</p>}
      {versions && versions.length > 0 && (
        <>
          <ol className="versions">
            {versions.map((v) => (
              <li key={v.version}>
                <strong>Version {v.version}</strong> <time dateTime={v.published_at}>{new Date(v.published_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}</time>
              </li>
            ))}
          </ol>
          <fieldset className="ed-compare">
            <legend>Compare</legend>
            <div className="ed-field">
              <label htmlFor={`${id}-from`}>From</label>
              <select id={`${id}-from`} value={String(from ?? "")} onChange={(e) => setFrom(parse(e.target.value))}>
                {options.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </div>
            <div className="ed-field">
              <label htmlFor={`${id}-to`}>To</label>
              <select id={`${id}-to`} value={String(to)} onChange={(e) => setTo(parse(e.target.value))}>
                {options.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </div>
            <div className="ed-row">
              <button type="button" className="button button-primary button-small" disabled={from === undefined} onClick={() => from !== undefined && onCompare({ from, to })}>
                Show the differences
              </button>
              {compare && (
                <button type="button" className="button button-small" onClick={() => onCompare(undefined)}>
                  Stop comparing
                </button>
              )}
            </div>
          </fieldset>
        </>
      )}
      {compare && changes && (
        <section aria-label="Differences">
          <h3 className="ed-section">
            {changes.length === 0 ? "No differences" : `${changes.reduce((n, c) => n + changeLines(c).length, 0)} difference(s)`}
          </h3>
          <ul className="diff-lines">
            {changes.flatMap((c, i) =>
              changeLines(c).map((line, j) => (
                <li key={`${i}:${j}`} className={`diff-line diff-line-${line[0] === "+" ? "add" : line[0] === "-" ? "remove" : "change"}`}>
                  <code>{line}</code>
                </li>
              )),
            )}
          </ul>
        </section>
      )}
    </div>
  );
}

/** `<input type="datetime-local">` value for an instant, in this browser's zone. */
export function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export type BacktestState =
  | { state: "idle" }
  | { state: "running"; since: number; from: string; to: string }
  | { state: "done"; report: Schemas["BacktestResponse"]; shown: boolean }
  | { state: "failed"; error: ApiError; diagnostics?: Diagnostic[] };

function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  return <>{((now - since) / 1000).toFixed(1)} s</>;
}

const byCount = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]);

export function BacktestPanel({
  state,
  defaults,
  onRun,
  onShow,
  onPick,
}: {
  state: BacktestState;
  defaults: () => Promise<{ from: Date; to: Date }>;
  onRun: (from: string, to: string) => void;
  onShow: (shown: boolean) => void;
  onPick: (d: Diagnostic) => void;
}) {
  const id = useId();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  useEffect(() => {
    let live = true;
    void defaults().then((d) => {
      if (!live) return;
      setFrom((f) => f || localInput(d.from));
      setTo((t) => t || localInput(d.to));
    });
    return () => {
      live = false;
    };
  }, []);
  const run = () => onRun(new Date(from).toISOString(), new Date(to).toISOString());
  const report = state.state === "done" ? state.report : undefined;
  return (
    <div className="ed-panel-body">
      <h2>Backtest</h2>
      <p className="ed-hint">Replays the stored events through the journey as edited now (saved or not), as if published at “from”. Nothing is sent and nothing live changes.</p>
      <div className="ed-field">
        <label htmlFor={`${id}-from`}>From</label>
        <input id={`${id}-from`} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </div>
      <div className="ed-field">
        <label htmlFor={`${id}-to`}>To</label>
        <input id={`${id}-to`} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
      </div>
      <div className="ed-row">
        <button type="button" className="button button-primary" disabled={state.state === "running" || !from || !to} onClick={run}>
          {state.state === "running" ? "Running…" : "Run the backtest"}
        </button>
        {report && (
          <button type="button" className="button" onClick={() => onShow(!(state.state === "done" && state.shown))}>
            {state.state === "done" && state.shown ? "Show live counts" : "Show simulated counts"}
          </button>
        )}
      </div>
      {state.state === "running" && (
        <div className="progress" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Replaying the events… <Elapsed since={state.since} />
        </div>
      )}
      {state.state === "failed" && (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>The backtest failed</strong>: {state.error.message} <code>{state.error.code}</code>
          </p>
          {state.diagnostics && <DiagnosticList diagnostics={state.diagnostics} onPick={onPick} />}
        </div>
      )}
      {report && (
        <section className="backtest-report" aria-label="Backtest summary">
          <p className="muted">
            {new Date(report.from).toLocaleString()} – {new Date(report.to).toLocaleString()}
          </p>
          <dl className="summary">
            <dt>Events</dt>
            <dd>
              {report.events.toLocaleString("en")} <span className="muted">({report.warmup_events.toLocaleString("en")} before, as warm-up)</span>
            </dd>
            {report.entries && (
              <>
                <dt>Entry events</dt>
                <dd>
                  {report.entries.events.toLocaleString("en")}: entered {report.entries.entered}, filter false {report.entries.filtered}, already waiting {report.entries.waiting}, re-entry{" "}
                  {report.entries.reentry}, limit {report.entries.limit}
                </dd>
              </>
            )}
            <dt>Runs</dt>
            <dd>
              {report.runs.toLocaleString("en")} <span className="muted">(control group {report.control_group})</span>
            </dd>
            <dt>Conversions</dt>
            <dd>{report.conversions.toLocaleString("en")}</dd>
            <dt>Sends</dt>
            <dd>{Object.keys(report.sends).length === 0 ? "none" : byCount(report.sends).map(([k, n]) => `${n} ${k}`).join(", ")}</dd>
            <dt>Would fail</dt>
            <dd>{Object.keys(report.failed).length === 0 ? "none" : byCount(report.failed).map(([k, n]) => `${n}: ${k}`).join("; ")}</dd>
            <dt>Exits</dt>
            <dd>{Object.keys(report.exits).length === 0 ? "none" : byCount(report.exits).map(([k, n]) => `${n} ${k}`).join(", ")}</dd>
          </dl>
          {report.entries && report.entries.filter_reasons.length > 0 && (
            <>
              <h3 className="ed-section">Commonest false filter comparisons</h3>
              <ul className="diff-lines">
                {report.entries.filter_reasons.map((r, i) => (
                  <li key={i}>
                    <code>
                      {r.count} {r.comparison}
                    </code>
                  </li>
                ))}
              </ul>
            </>
          )}
          {report.samples.length > 0 && (
            <details>
              <summary>Sample paths ({report.samples.length})</summary>
              {report.samples.map((s, i) => (
                <div key={i} className="sample">
                  <strong>{s.person}</strong>
                  <pre tabIndex={0}>{s.path.join("\n")}</pre>
                </div>
              ))}
            </details>
          )}
        </section>
      )}
    </div>
  );
}
