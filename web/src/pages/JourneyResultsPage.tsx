// A journey's results (/journeys/{id}/results), the tab beside its canvas: how many people entered
// and converted, with the revenue; entries and conversions over the last 30 days (or 168 hours);
// what runs did at each step over the same period; each experiment (the holdout, splits, a send's
// A/B variants) with its arms' rates, their 95% intervals and the verdict in words; and how far
// each content's messages got (sent, delivered, opened, clicked, converted). The numbers are
// asked for again every few seconds while the page is visible, and change in place.
import { useMemo, useState } from "react";
import { apiGet, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { useLive } from "../api/useLive";
import { describe } from "../journey/describe";
import type { JourneyDocument } from "../journey/doc";
import { toGraph } from "../journey/graph";
import { journeyPath, JourneyTabs } from "../journey/JourneyTabs";
import { readDocument } from "../journey/read";
import { ConversionsChart } from "../results/charts";
import "../results/results.css";
import { METRIC_LABELS, METRICS, nodeRows, periodText, spanText, type Bucket, type Metric } from "../results/results";
import { ExperimentPanel, FunnelTable, Headline, NodeTable } from "../results/sections";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { useTitle } from "../ui/useTitle";

/** How often the numbers are asked for again while the page is open. */
export const REFRESH_MS = 10_000;

const BUCKETS: { value: Bucket; label: string; title: string }[] = [
  { value: "day", label: "Day", title: "The last 30 days, by day" },
  { value: "hour", label: "Hour", title: "The last 168 hours, by hour" },
];

/** The journey's document as the results are about it: its live version, else its draft (when it can be read). */
function documentOf(journey: Schemas["JourneyView"]): JourneyDocument | undefined {
  const read = readDocument(journey.published?.document ?? journey.draft);
  return read.ok ? read.doc : undefined;
}

function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

function Head({ id, journey }: { id: string; journey: Schemas["JourneyView"] | undefined }) {
  const doc = journey ? documentOf(journey) : undefined;
  const name = doc?.name || id;
  return (
    <div className="page-head rs-head">
      <Link to="/journeys">Journeys</Link>
      <span aria-hidden="true">/</span>
      <h1>{name}</h1>
      {name !== id && <code className="muted">{id}</code>}
      {journey?.published ? (
        <>
          <span className={`status status-${journey.state}`}>{journey.state}</span>
          <span className="muted">live: version {journey.published.version}</span>
        </>
      ) : journey ? (
        <span className="muted">draft, never published</span>
      ) : null}
      <JourneyTabs id={id} current="results" />
    </div>
  );
}

/** Nobody has entered: what this page will show, and how people get in. */
function NobodyYet({ journey, doc }: { journey: Schemas["JourneyView"]; doc: JourneyDocument | undefined }) {
  const entry = doc ? toGraph(doc).nodes.find((n) => n.kind === "entry") : undefined;
  const how = entry ? describe(entry, Infinity) : undefined;
  return (
    <section className="panel rs-empty" aria-labelledby="rs-nobody">
      <h2 id="rs-nobody">Nobody has entered this journey yet</h2>
      <p>
        {journey.published
          ? journey.state === "active"
            ? `It is live: people enter it as its entry says${how ? ` — “${how}”` : ""}.`
            : `It is ${journey.state}: nobody enters it until it is ${journey.state === "paused" ? "resumed" : "published again"}.`
          : "It is a draft, never published: publish it on the canvas, and people start entering it."}
      </p>
      <p className="muted">
        Then this page shows how many people entered and reached the goal, with the revenue; entries and conversions day by day; what happened at each step;
        each experiment (a split, a send's A/B variants, the holdout) with its verdict; and how far each message got — sent, delivered, opened, clicked,
        converted.
      </p>
      <div>
        <Link className="button" to={journeyPath(journey.id)}>
          Open the canvas
        </Link>
      </div>
    </section>
  );
}

function Switch<T extends string>({ label, options, value, onChange }: { label: string; options: { value: T; label: string; title?: string }[]; value: T; onChange: (v: T) => void }) {
  return (
    <div className="segmented" role="group" aria-label={label}>
      {options.map((o) => (
        <button key={o.value} type="button" aria-pressed={o.value === value} title={o.title} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

function Sections({ id, journey, results }: { id: string; journey: Schemas["JourneyView"]; results: Schemas["Results"] }) {
  const doc = useMemo(() => documentOf(journey), [journey]);
  const [bucket, setBucket] = useState<Bucket>("day");
  const [metric, setMetric] = useState<Metric>("entered");
  const [series, reloadSeries] = useLive(`series:${id}:${bucket}`, (signal) => apiGet("/api/journeys/{id}/series", { params: { id }, query: { bucket }, signal }), REFRESH_MS);
  const [funnel, reloadFunnel] = useLive(`funnel:${id}`, (signal) => apiGet("/api/journeys/{id}/funnel", { params: { id }, signal }), REFRESH_MS);
  const [counts] = useLive(`counts:${id}`, (signal) => apiGet("/api/journeys/{id}/counts", { params: { id }, signal }), REFRESH_MS);
  const rows = useMemo(() => (series.state === "ready" ? nodeRows(series.data, doc) : []), [series, doc]);
  const waiting = useMemo(
    () => (counts.state === "ready" ? Object.fromEntries(Object.entries(counts.data.nodes).map(([node, c]) => [node, c.waiting])) : undefined),
    [counts],
  );
  const period = series.state === "ready" ? periodText(series.data) : bucket === "hour" ? "the last 168 hours, by hour (UTC)" : "the last 30 days, by day (UTC)";
  const quiet = series.state === "ready" && series.data.entered.every((n) => n === 0) && series.data.converted.every((n) => n === 0);
  return (
    <>
      <Headline results={results} doc={doc} />
      <p className="muted rs-scope">These numbers count everyone the journey has started a run for (once each, however often they entered); the chart and the steps below cover {period}.</p>

      <section className="panel rs-section" aria-labelledby="rs-conversions">
        <div className="rs-section-head">
          <h2 id="rs-conversions">Conversions over time</h2>
          <Switch label="Count by" options={BUCKETS} value={bucket} onChange={setBucket} />
        </div>
        <p className="muted">Runs started and goals reached in {period}, the control group's included.</p>
        {series.state === "loading" && <Loading what="the counts over time" />}
        {series.state === "failed" && <ErrorNotice what="The counts over time could not be loaded" error={series.error} onRetry={reloadSeries} />}
        {series.state === "ready" &&
          (quiet ? (
            <p className="rs-quiet">
              <strong>Nobody entered or converted in {spanText(series.data)}.</strong>{" "}
              {bucket === "hour" ? "Count by day to see the last 30 days." : "Earlier runs still count in the numbers above."}
            </p>
          ) : (
            <ConversionsChart series={series.data} />
          ))}
      </section>

      <section className="panel rs-section" aria-labelledby="rs-steps">
        <div className="rs-section-head">
          <h2 id="rs-steps">Steps over time</h2>
          <Switch label="Per step, draw" options={METRICS.map((m) => ({ value: m, label: METRIC_LABELS[m] }))} value={metric} onChange={setMetric} />
        </div>
        <p className="muted">
          What runs did at each step in {period}, as on the canvas's cards: entered (reached it), passed (went on), exited (ended there), converted (reached
          the goal there). The entry counts the people the journey acts on; the control group is counted apart.
        </p>
        {series.state === "loading" && <Loading what="the steps' counts" />}
        {series.state === "ready" && <NodeTable rows={rows} metric={metric} bucket={bucket} waiting={waiting} />}
      </section>

      <section className="panel rs-section" aria-labelledby="rs-experiments">
        <h2 id="rs-experiments">Experiments</h2>
        {results.experiments.length === 0 ? (
          <p className="muted">
            No experiment in this journey's runs. A split step, a send's A/B variants, or a holdout on the entry (a share of people who get nothing)
            compares conversions here, with a verdict once there is enough data.
          </p>
        ) : (
          results.experiments.map((e) => <ExperimentPanel key={e.step} experiment={e} doc={doc} />)
        )}
      </section>

      <section className="panel rs-section" aria-labelledby="rs-funnel">
        <h2 id="rs-funnel">Funnel per content</h2>
        <p className="muted">Every message the journey's send steps made, by step and template (each A/B variant has its row); percentages are of the messages sent.</p>
        {funnel.state === "loading" && <Loading what="the funnel" />}
        {funnel.state === "failed" && <ErrorNotice what="The funnel could not be loaded" error={funnel.error} onRetry={reloadFunnel} />}
        {funnel.state === "ready" &&
          (funnel.data.contents.length === 0 ? (
            <p className="rs-quiet">
              <strong>No messages yet.</strong> When a run reaches a send step, its message is counted here, then its delivery, opens, clicks and conversions.
            </p>
          ) : (
            <FunnelTable contents={funnel.data.contents} />
          ))}
      </section>
    </>
  );
}

export function JourneyResultsPage({ id }: { id: string }) {
  const [journey, reloadJourney] = useApi(`journey:${id}`, (signal) => apiGet("/api/journeys/{id}", { params: { id }, signal }));
  const [results, reloadResults] = useLive(`results:${id}`, (signal) => apiGet("/api/journeys/{id}/results", { params: { id }, signal }), REFRESH_MS);
  const view = journey.state === "ready" ? journey.data : undefined;
  useTitle(`${(view && documentOf(view)?.name) || id} · Results`);
  return (
    <div className="page rs-page">
      <Head id={id} journey={view} />
      {journey.state === "loading" && <Loading what="the journey" />}
      {journey.state === "failed" && <ErrorNotice what={`Journey ${id} could not be loaded`} error={journey.error} onRetry={reloadJourney} />}
      {view && results.state === "loading" && <Loading what="the results" />}
      {view && results.state === "failed" && <ErrorNotice what="The results could not be loaded" error={results.error} onRetry={reloadResults} />}
      {view &&
        results.state === "ready" &&
        (results.data.people === 0 ? <NobodyYet journey={view} doc={documentOf(view)} /> : <Sections id={id} journey={view} results={results.data} />)}
    </div>
  );
}
