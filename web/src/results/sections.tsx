// The Results page's sections: the headline numbers, the steps over time, the experiments and the
// funnel per content. Each takes answers already loaded; the page loads them.
import { useId } from "react";
import { channelText } from "../journey/describe";
import type { JourneyDocument } from "../journey/doc";
import { KINDS } from "../journey/kinds";
import { Link } from "../router";
import { formatNumber } from "../ui/format";
import { IntervalBar, scaleText, Sparkline } from "./charts";
import {
  armLabel,
  experimentDetail,
  experimentTitle,
  funnelRows,
  goalText,
  intervalScale,
  METRIC_LABELS,
  METRICS,
  percentText,
  pointsText,
  revenueText,
  sentence,
  shareOf,
  STAGE_HELP,
  STAGES,
  verdictOf,
  VERDICT_NEEDS,
  type ContentFunnel,
  type Experiment,
  type Metric,
  type NodeRow,
  type Results,
} from "./results";

/** People, conversions with their rate, revenue, and the goal they are counted against. */
export function Headline({ results, doc }: { results: Results; doc: JourneyDocument | undefined }) {
  const rate = shareOf(results.converted, results.people);
  return (
    <dl className="rs-stats" aria-label="Headline">
      <div className="rs-stat">
        <dt>People</dt>
        <dd className="rs-stat-value" data-testid="results-people">
          {formatNumber(results.people)}
        </dd>
        <dd className="muted">entered{doc?.entry.holdout ? ", the control group included" : ""}</dd>
      </div>
      <div className="rs-stat">
        <dt>Conversions</dt>
        <dd className="rs-stat-value" data-testid="results-converted">
          {formatNumber(results.converted)}
        </dd>
        <dd className="muted" data-testid="results-rate">
          {rate === undefined ? "no one to convert yet" : `${percentText(rate)} of people`}
        </dd>
      </div>
      <div className="rs-stat">
        <dt>Revenue</dt>
        <dd className="rs-stat-value" data-testid="results-revenue">
          {revenueText(results.revenue)}
        </dd>
        <dd className="muted">the goal events' revenue</dd>
      </div>
      <div className="rs-stat rs-stat-goal">
        <dt>Goal</dt>
        {doc?.goal ? (
          <dd className="rs-goal">{goalText(doc.goal)}</dd>
        ) : (
          <dd className="rs-goal muted">None: give the journey a goal (its settings on the canvas) to count conversions.</dd>
        )}
      </div>
    </dl>
  );
}

function KindMark({ kind }: { kind: NodeRow["kind"] }) {
  const known = kind !== "control" && kind !== "unknown" ? KINDS[kind] : undefined;
  return (
    <span className="rs-kind" data-kind={kind} aria-hidden="true">
      {known ? <known.Icon /> : null}
    </span>
  );
}

/** Each node's totals over the period, the chosen metric per bucket as a sparkline, and who waits there now. */
export function NodeTable({
  rows,
  metric,
  bucket,
  waiting,
}: {
  rows: NodeRow[];
  metric: Metric;
  bucket: "day" | "hour";
  /** Runs waiting at each node now (GET /counts), once loaded. */
  waiting: Record<string, number> | undefined;
}) {
  return (
    <div className="rs-scroll">
      <table className="table rs-nodes">
        <thead>
          <tr>
            <th scope="col">Step</th>
            {METRICS.map((m) => (
              <th key={m} scope="col" className={m === metric ? "num rs-current" : "num"}>
                {METRIC_LABELS[m]}
              </th>
            ))}
            <th scope="col" className="num">
              Waiting now
            </th>
            <th scope="col">
              {METRIC_LABELS[metric]} per {bucket}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const values = r.series[metric];
            const most = Math.max(0, ...values);
            const label = `${r.label}: ${METRIC_LABELS[metric].toLowerCase()} per ${bucket}, ${formatNumber(r.totals[metric])} in all${most > 0 ? `, at most ${formatNumber(most)} in ${bucket === "hour" ? "an hour" : "a day"}` : ""}`;
            const wait = r.id === "$control" ? undefined : waiting?.[r.id];
            return (
              <tr key={r.id} data-node={r.id}>
                <th scope="row">
                  <span className="rs-node">
                    <KindMark kind={r.kind} />
                    <span className="rs-node-text">
                      <span className="rs-node-label">{r.label}</span>
                      <span className="rs-node-detail muted" title={r.detail}>
                        {r.detail}
                      </span>
                    </span>
                  </span>
                </th>
                {METRICS.map((m) => (
                  <td key={m} className={m === metric ? "num rs-current" : "num"} data-metric={m}>
                    {formatNumber(r.totals[m])}
                  </td>
                ))}
                <td className="num" data-metric="waiting">
                  {wait === undefined ? <span className="muted">–</span> : formatNumber(wait)}
                </td>
                <td className="rs-spark-cell">
                  <Sparkline values={values} label={label} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** One experiment: each comparison's verdict in words, then the arms with their rates and 95% intervals. */
export function ExperimentPanel({ experiment, doc }: { experiment: Experiment; doc: JourneyDocument | undefined }) {
  const headingId = useId();
  const scale = intervalScale(experiment.arms);
  const step = experiment.step;
  return (
    <section className="rs-experiment" aria-labelledby={headingId} data-step={step}>
      <h3 id={headingId}>{experimentTitle(step, doc)}</h3>
      <p className="muted">{experimentDetail(step, doc)}</p>
      {experiment.comparisons.length > 0 && (
        <ul className="rs-verdicts">
          {experiment.comparisons.map((c) => {
            const v = verdictOf(c.verdict);
            return (
              <li key={`${c.arm}/${c.baseline}`} className={`rs-verdict rs-verdict-${v.key}`} data-verdict={v.key}>
                <span className="rs-verdict-symbol" aria-hidden="true" title={v.label}>
                  {v.symbol}
                </span>
                <div>
                  <p className="rs-verdict-words">
                    <strong>{sentence(c.words)}</strong>
                  </p>
                  <p className="rs-verdict-detail">
                    {armLabel(step, c.arm)} − {armLabel(step, c.baseline)}: {pointsText(c.difference)} (95% interval {pointsText(c.low)} to {pointsText(c.high)})
                    {v.key === "not_enough_data" &&
                      `. A verdict needs ${VERDICT_NEEDS.people} people in each arm and ${VERDICT_NEEDS.conversions} conversions between them.`}
                  </p>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      <div className="rs-scroll">
        <table className="table rs-arms">
          <thead>
            <tr>
              <th scope="col">{step === "$holdout" ? "Group" : "Arm"}</th>
              <th scope="col" className="num">
                People
              </th>
              <th scope="col" className="num">
                Conversions
              </th>
              <th scope="col" className="num">
                Rate
              </th>
              <th scope="col">
                95% interval <span className="muted">({scaleText(scale)})</span>
              </th>
              <th scope="col" className="num">
                Revenue
              </th>
            </tr>
          </thead>
          <tbody>
            {experiment.arms.map((a, i) => (
              <tr key={a.name} data-arm={a.name}>
                <th scope="row">
                  {armLabel(step, a.name)}
                  {i === 0 && experiment.arms.length > 1 && <span className="rs-baseline">baseline</span>}
                </th>
                <td className="num" data-col="people">
                  {formatNumber(a.people)}
                </td>
                <td className="num" data-col="converted">
                  {formatNumber(a.converted)}
                </td>
                <td className="num" data-col="rate">
                  {percentText(a.rate)}
                </td>
                <td>
                  <IntervalBar arm={a} scale={scale} />
                </td>
                <td className="num" data-col="revenue">
                  {revenueText(a.revenue)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The stages' meaning, in one line under the funnel. */
function StageHelp() {
  return (
    <dl className="rs-stage-help">
      {STAGES.map((s) => (
        <div key={s}>
          <dt>{STAGE_HELP[s].label}</dt>
          <dd>{STAGE_HELP[s].help}</dd>
        </div>
      ))}
    </dl>
  );
}

/** One row per send step and template: the five stages as numbers, their share of the messages sent, and bars. */
export function FunnelTable({ contents }: { contents: readonly ContentFunnel[] }) {
  const rows = funnelRows(contents);
  const unreported = rows.filter((r) => r.noDeliveryReports);
  return (
    <>
      <div className="rs-scroll">
        <table className="table rs-funnel">
          <thead>
            <tr>
              <th scope="col">Content</th>
              {STAGES.map((s) => (
                <th key={s} scope="col" title={sentence(STAGE_HELP[s].help)}>
                  {STAGE_HELP[s].label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.node}/${r.template}`} data-node={r.node} data-template={r.template}>
                <th scope="row">
                  <span className="rs-content">
                    <Link to={`/content/${encodeURIComponent(r.template)}`}>{r.template}</Link>
                    <span className="muted">
                      {sentence(channelText(r.channel))} · step {r.node}
                    </span>
                  </span>
                </th>
                {r.cells.map((c) => (
                  <td key={c.stage} className="rs-stage" data-stage={c.stage} data-value={c.value}>
                    <span className="rs-stage-numbers">
                      <span className="rs-stage-value">{formatNumber(c.value)}</span>
                      {c.stage !== "sent" && c.share !== undefined && <span className="rs-stage-share">{percentText(c.share)}</span>}
                    </span>
                    <span className={`rs-bar rs-bar-${c.stage}`} aria-hidden="true">
                      <span style={{ width: `${Math.min(1, c.share ?? 0) * 100}%` }} />
                    </span>
                    {c.stage === "delivered" && r.noDeliveryReports && <span className="rs-no-reports">no reports</span>}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {unreported.length > 0 && (
        <p className="notice notice-warning rs-note" role="note">
          <span>
            <strong>No delivery reports from the provider</strong> for {unreported.map((r) => r.template).join(", ")}: opens and clicks are counted without them, so they
            can exceed deliveries. Percentages are of the messages sent.
          </span>
        </p>
      )}
      <StageHelp />
    </>
  );
}
