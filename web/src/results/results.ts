// What the journey's Results page computes before drawing: rates and differences in words, the
// geometry of the conversions chart and of the sparklines, the rows of the per-step table and of
// the funnel per content, and the experiments' titles and verdicts. Pure functions, tested alone.
import type { Schemas } from "../api/client";
import { describe, durationText } from "../journey/describe";
import type { Goal, JourneyDocument, Step } from "../journey/doc";
import { toGraph, type NodeKind } from "../journey/graph";
import { formatNumber } from "../ui/format";

export type Results = Schemas["Results"];
export type Series = Schemas["JourneySeries"];
export type Experiment = Schemas["Experiment"];
export type Arm = Schemas["ArmView"];
export type Comparison = Schemas["ComparisonView"];
export type ContentFunnel = Schemas["ContentFunnelView"];
export type Bucket = "day" | "hour";

/** The entry and the control group, as the counts name them. */
export const ENTRY_NODE = "$entry";
export const CONTROL_NODE = "$control";
/** The holdout's experiment: the control group against the people the journey acts on. */
export const HOLDOUT = "$holdout";

/** What the server needs before it gives a verdict (domain::stats): people in each arm, conversions in both. */
export const VERDICT_NEEDS = { people: 30, conversions: 5 };

// ---- Numbers in words ----

const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });
const money = new Intl.NumberFormat("en", { minimumFractionDigits: 0, maximumFractionDigits: 2 });
const money2 = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const points = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

/** Rounding noise of the interval arithmetic (2.8e-17) is 0. */
const clean = (x: number) => (Number.isFinite(x) && Math.abs(x) > 1e-9 ? x : 0);

/** A share (0..1) as people read it: "25%", "33.3%", "0.4%". */
export function percentText(share: number): string {
  return percent.format(clean(share));
}

/** `part` of `whole` as a share, or undefined when there is no whole. */
export function shareOf(part: number, whole: number): number | undefined {
  return whole > 0 ? part / whole : undefined;
}

/** "2 of 8 (25%)"; "0 of 0" when nobody. */
export function rateText(converted: number, people: number): string {
  const share = shareOf(converted, people);
  return `${formatNumber(converted)} of ${formatNumber(people)}${share === undefined ? "" : ` (${percentText(share)})`}`;
}

/** A rate with its 95% interval: "25% (95% interval 7.1% to 59.1%)". */
export function intervalText(rate: number, low: number, high: number): string {
  return `${percentText(rate)} (95% interval ${percentText(low)} to ${percentText(high)})`;
}

/** A difference of rates in percentage points, signed: "+3.2 points", "−1 point", "0 points". */
export function pointsText(difference: number): string {
  const p = clean(difference) * 100;
  const n = Math.round(Math.abs(p) * 10) / 10;
  const sign = n === 0 ? "" : p > 0 ? "+" : "−";
  return `${sign}${points.format(n)} point${n === 1 ? "" : "s"}`;
}

/** Revenue: the goal events' `revenue`, whatever its currency: "1,234", "99.50". */
export function revenueText(revenue: number): string {
  const r = clean(revenue);
  return Number.isInteger(r) ? money.format(r) : money2.format(r);
}

/** "1 person", "8 people". */
export function peopleText(n: number): string {
  return `${formatNumber(n)} ${n === 1 ? "person" : "people"}`;
}

/** The text with its first letter capitalized: the server's verdicts start with an arm's name ("journey against …"). */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The goal in words: "Order Completed within 7 days of step offer; ends the run". */
export function goalText(goal: Goal): string {
  const within = goal.within ? ` within ${durationText(goal.within)}${goal.from ? ` of step ${goal.from}` : " of entering"}` : goal.from ? ` from step ${goal.from} on` : "";
  const filtered = goal.filter ? " (filtered)" : "";
  return `${goal.event}${filtered}${within}${goal.exit ? "; ends the run" : ""}`;
}

// ---- Buckets ----

const dayFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeZone: "UTC" });
const hourFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });

/** A bucket's start as a label: "Jan 5, 2030" for a (UTC) day, "Jan 5, 14:00" for an hour (UTC). */
export function bucketText(start: string, bucket: Bucket): string {
  const d = new Date(start);
  if (Number.isNaN(d.getTime())) return start;
  return (bucket === "hour" ? hourFormat : dayFormat).format(d);
}

/** "the last 30 days" / "the last 168 hours". */
export function spanText(series: Pick<Series, "starts" | "bucket">): string {
  const n = series.starts.length;
  const unit = series.bucket === "hour" ? "hour" : "day";
  return `the last ${formatNumber(n)} ${unit}${n === 1 ? "" : "s"}`;
}

/** "the last 30 days, by day (UTC)" / "the last 168 hours, by hour (UTC)": the series' buckets are UTC's. */
export function periodText(series: Pick<Series, "starts" | "bucket">): string {
  return `${spanText(series)}, by ${series.bucket === "hour" ? "hour" : "day"} (UTC)`;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Entries and conversions over the series' buckets, in words: what the chart shows. */
export function chartSummary(series: Series): string {
  const bucket: Bucket = series.bucket === "hour" ? "hour" : "day";
  const n = series.starts.length;
  if (n === 0) return "No buckets.";
  const entered = sum(series.entered);
  const converted = sum(series.converted);
  const most = Math.max(0, ...series.entered);
  const first = bucketText(series.starts[0], bucket);
  const last = bucketText(series.starts[n - 1], bucket);
  return (
    `Entries and conversions by ${bucket} from ${first} to ${last} (UTC): ${formatNumber(entered)} entered, ${formatNumber(converted)} converted` +
    `; at most ${formatNumber(most)} entered in ${bucket === "hour" ? "an hour" : "a day"}.`
  );
}

// ---- The conversions chart ----

/** The axis' ticks for values up to `max`: whole steps of 1, 2 or 5 × 10ⁿ, at most 4 intervals, the last ≥ max. */
export function ticks(max: number): number[] {
  const top = Math.max(1, Math.ceil(max));
  let step = 1;
  for (let magnitude = 1; ; magnitude *= 10) {
    const found = [1, 2, 5].map((m) => m * magnitude).find((s) => Math.ceil(top / s) <= 4);
    if (found !== undefined) {
      step = found;
      break;
    }
  }
  const count = Math.ceil(top / step);
  return Array.from({ length: count + 1 }, (_, i) => i * step);
}

export interface ChartBar {
  start: string;
  entered: number;
  converted: number;
  /** The bucket's band. */
  x: number;
  band: number;
  /** The entries' bar, the width of the band less a gap. */
  enteredX: number;
  enteredWidth: number;
  enteredY: number;
  enteredHeight: number;
  /** The conversions' bar, narrower, in front of the entries'. */
  convertedX: number;
  convertedWidth: number;
  convertedY: number;
  convertedHeight: number;
}

export interface ChartGeometry {
  width: number;
  height: number;
  /** The axis' ticks; the last is the top of the chart. */
  ticks: number[];
  top: number;
  bars: ChartBar[];
}

/** Where each bucket's bars go in a `width` × `height` box: both bars on one scale, whose top is the last tick. */
export function chartGeometry(series: Pick<Series, "starts" | "entered" | "converted">, width: number, height: number): ChartGeometry {
  const n = series.starts.length;
  const axis = ticks(Math.max(0, ...series.entered, ...series.converted));
  const top = axis[axis.length - 1];
  const band = n > 0 ? width / n : width;
  const gap = band >= 6 ? Math.min(band * 0.2, 6) : 0;
  const y = (v: number) => height - (v / top) * height;
  const bars = series.starts.map((start, i) => {
    const entered = series.entered[i] ?? 0;
    const converted = series.converted[i] ?? 0;
    const x = i * band;
    const enteredWidth = band - gap;
    const convertedWidth = enteredWidth * 0.5;
    return {
      start,
      entered,
      converted,
      x,
      band,
      enteredX: x + gap / 2,
      enteredWidth,
      enteredY: y(entered),
      enteredHeight: height - y(entered),
      convertedX: x + gap / 2 + (enteredWidth - convertedWidth) / 2,
      convertedWidth,
      convertedY: y(converted),
      convertedHeight: height - y(converted),
    };
  });
  return { width, height, ticks: axis, top, bars };
}

/** A sparkline of `values` in a `width` × `height` box: the line's points and the area under it (SVG path data). */
export function sparkline(values: readonly number[], width: number, height: number): { line: string; area: string; max: number } {
  const max = Math.max(0, ...values);
  const n = values.length;
  // A little room so the line's stroke is not cut at the top and bottom.
  const pad = 1.5;
  const inner = height - 2 * pad;
  const x = (i: number) => (n <= 1 ? width / 2 : (i / (n - 1)) * width);
  const y = (v: number) => pad + inner - (max > 0 ? (v / max) * inner : 0);
  const round = (v: number) => Math.round(v * 100) / 100;
  const points = values.map((v, i) => `${round(x(i))},${round(y(v))}`);
  if (points.length === 0) return { line: "", area: "", max };
  const line = `M${points.join("L")}`;
  const area = `${line}L${round(x(n - 1))},${height}L${round(x(0))},${height}Z`;
  return { line, area, max };
}

// ---- The steps over time ----

export const METRICS = ["entered", "passed", "exited", "converted"] as const;
export type Metric = (typeof METRICS)[number];
export const METRIC_LABELS: Record<Metric, string> = { entered: "Entered", passed: "Passed", exited: "Exited", converted: "Converted" };

export interface NodeRow {
  /** `$entry`, `$control` or a step id. */
  id: string;
  /** "Entry", "Control group" or the step id. */
  label: string;
  kind: NodeKind | "control" | "unknown";
  /** What it does, in words ("Wait 7 days"); for a step no longer in the journey, that. */
  detail: string;
  totals: Record<Metric, number>;
  series: Schemas["NodeSeries"];
}

const zeros = (n: number) => Array.from({ length: n }, () => 0);

/** The rows of the per-step table: the entry, the control group (when it has counts), each step of `doc` in its order (with zeros where nothing was counted), then the steps counted that `doc` no longer has. */
export function nodeRows(series: Series, doc: JourneyDocument | undefined): NodeRow[] {
  const n = series.starts.length;
  const empty = { entered: zeros(n), passed: zeros(n), exited: zeros(n), converted: zeros(n) };
  const graph = doc ? toGraph(doc) : undefined;
  const row = (id: string, label: string, kind: NodeRow["kind"], detail: string): NodeRow => {
    const s = series.nodes[id] ?? empty;
    return { id, label, kind, detail, series: s, totals: { entered: sum(s.entered), passed: sum(s.passed), exited: sum(s.exited), converted: sum(s.converted) } };
  };
  const rows: NodeRow[] = [];
  const entry = graph?.nodes.find((node) => node.kind === "entry");
  rows.push(row(ENTRY_NODE, "Entry", "entry", entry ? describe(entry) : "Where runs start"));
  if (series.nodes[CONTROL_NODE] || doc?.entry.holdout) rows.push(row(CONTROL_NODE, "Control group", "control", `Held out${doc?.entry.holdout ? ` (${doc.entry.holdout}%)` : ""}: nothing is sent`));
  const known = new Set<string>([ENTRY_NODE, CONTROL_NODE]);
  for (const node of graph?.nodes ?? []) {
    if (node.kind === "entry") continue;
    known.add(node.id);
    rows.push(row(node.id, node.id, node.kind, describe(node)));
  }
  for (const id of Object.keys(series.nodes).sort()) {
    if (!known.has(id)) rows.push(row(id, id, "unknown", "Not in this version of the journey"));
  }
  return rows;
}

// ---- Experiments ----

export const VERDICTS: Record<string, { label: string; symbol: string }> = {
  better: { label: "Better", symbol: "▲" },
  worse: { label: "Worse", symbol: "▼" },
  no_difference: { label: "No difference shown", symbol: "=" },
  not_enough_data: { label: "Not enough data yet", symbol: "…" },
};

/** The verdict's class suffix and words; an unknown verdict reads as not enough data. */
export function verdictOf(verdict: string): { key: string; label: string; symbol: string } {
  const key = Object.hasOwn(VERDICTS, verdict) ? verdict : "not_enough_data";
  return { key, ...VERDICTS[key] };
}

const stepOf = (doc: JourneyDocument | undefined, id: string): Step | undefined => doc?.steps.find((s) => s.id === id);

/** An experiment's title: "Holdout (control group)", "Split pick", "A/B test in send welcome". */
export function experimentTitle(step: string, doc: JourneyDocument | undefined): string {
  if (step === HOLDOUT) return "Holdout (control group)";
  const s = stepOf(doc, step);
  if (s?.type === "split") return `Split ${step}`;
  if (s?.type === "send") return `A/B test in send ${step}`;
  return `Experiment at ${step}`;
}

/** What the experiment compares, in words. */
export function experimentDetail(step: string, doc: JourneyDocument | undefined): string {
  if (step === HOLDOUT) {
    const share = doc?.entry.holdout;
    return `${share ? `${share}% of the people who enter are` : "Some people who enter are"} held out: their runs are recorded but nothing is sent. The journey's conversions are compared with theirs.`;
  }
  const s = stepOf(doc, step);
  if (s?.type === "split") return `Each path against the first: ${s.paths.map((p) => `${p.name} ${p.weight}%`).join(", ")}.`;
  if (s?.type === "send" && s.variants) return `Each variant against the first: ${s.variants.map((v) => `${v.name} (${v.template}) ${v.weight}%`).join(", ")}.`;
  return "Each arm against the first. This step is not in this version of the journey.";
}

/** An arm's name as a person reads it: the holdout's are "Control group" and "Journey". */
export function armLabel(step: string, name: string): string {
  return step === HOLDOUT ? sentence(name) : name;
}

/** The top of the scale the experiment's intervals are drawn on: a round share at or above every arm's upper bound. */
export function intervalScale(arms: readonly Pick<Arm, "high">[]): number {
  const high = Math.max(0, ...arms.map((a) => a.high));
  return [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1].find((s) => s >= high - 1e-12) ?? 1;
}

// ---- The funnel per content ----

export const STAGES = ["sent", "delivered", "opened", "clicked", "converted"] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_HELP: Record<Stage, { label: string; help: string }> = {
  sent: { label: "Sent", help: "sent, or captured when no provider is configured" },
  delivered: { label: "Delivered", help: "reported delivered by the provider" },
  opened: { label: "Opened", help: "an email's pixel loaded, an in-app message viewed, a push tapped" },
  clicked: { label: "Clicked", help: "a tracked link followed, an in-app message clicked" },
  converted: { label: "Converted", help: "sent in a run that then reached the goal" },
};

export interface FunnelCell {
  stage: Stage;
  value: number;
  /** Of the messages sent; undefined when none were. */
  share: number | undefined;
}

export interface FunnelRow {
  node: string;
  template: string;
  channel: string;
  cells: FunnelCell[];
  /** Opens or clicks with no delivery report: the provider sends none (or none arrived). */
  noDeliveryReports: boolean;
}

/** One row per content, each stage with its share of the messages sent (stages are not nested: opens may exceed deliveries). */
export function funnelRows(contents: readonly ContentFunnel[]): FunnelRow[] {
  return contents.map((c) => ({
    node: c.node,
    template: c.template,
    channel: c.channel,
    cells: STAGES.map((stage) => ({ stage, value: c[stage], share: shareOf(c[stage], c.sent) })),
    noDeliveryReports: c.delivered === 0 && (c.opened > 0 || c.clicked > 0),
  }));
}
