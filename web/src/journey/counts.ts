// The counts a node's card shows: absolute numbers first, with a share of the journey's entries.
import type { Schemas } from "../api/client";
import { ENTRY_ID } from "./graph";

export interface NodeCounts {
  entered?: number;
  /** Waiting at the step now: what marketers look at first. */
  waiting?: number;
  passed?: number;
  exited?: number;
  converted?: number;
  /** A backtest's visits: how many times runs reached the step (simulated). */
  visits?: number;
}

const COUNTS: { key: keyof NodeCounts; short: string; long: string }[] = [
  { key: "entered", short: "in", long: "entered" },
  { key: "visits", short: "visits", long: "visits" },
  { key: "waiting", short: "waiting", long: "waiting now" },
  { key: "passed", short: "passed", long: "passed" },
  { key: "exited", short: "exited", long: "exited" },
  { key: "converted", short: "conv.", long: "converted" },
];

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

export interface CountBadge {
  key: keyof NodeCounts;
  /** "1.2K" */
  value: string;
  short: string;
  /** "20%": the share of the journey's entries, when there are entries. */
  share?: string;
  /** "62 waiting now, 20% of the journey's entries" */
  long: string;
}

/** The badges for `counts`, each with its share of `entries` (the entry node's "entered"). */
export function countBadges(counts: NodeCounts, entries: number | undefined): CountBadge[] {
  return COUNTS.flatMap(({ key, short, long }) => {
    const n = counts[key];
    if (n === undefined) return [];
    const pct = entries !== undefined && entries > 0 ? Math.round((n / entries) * 100) : undefined;
    const share = pct !== undefined ? `, ${pct}% of the journey's entries` : "";
    return [{ key, value: compact.format(n), short, ...(pct !== undefined ? { share: `${pct}%` } : {}), long: `${n.toLocaleString("en")} ${long}${share}` }];
  });
}

/** The server's counts (GET /api/journeys/{id}/counts) by canvas node: `$entry` is the entry card. */
export function liveCounts(answer: Schemas["JourneyCounts"]): Record<string, NodeCounts> {
  const out: Record<string, NodeCounts> = {};
  for (const [node, c] of Object.entries(answer.nodes)) {
    if (node === "$control") continue;
    out[node === "$entry" ? ENTRY_ID : node] = { entered: c.entered, waiting: c.waiting, passed: c.passed, exited: c.exited, converted: c.converted };
  }
  return out;
}

/** A backtest's visits and runs still waiting at its end, by node; the entry shows the runs. */
export function simulatedCounts(report: Schemas["BacktestResponse"]): Record<string, NodeCounts> {
  const out: Record<string, NodeCounts> = {};
  for (const [step, n] of Object.entries(report.visits)) out[step] = { visits: n, waiting: report.waiting[step] ?? 0 };
  for (const [step, n] of Object.entries(report.waiting)) out[step] ??= { visits: 0, waiting: n };
  out[ENTRY_ID] = { entered: report.runs, converted: report.conversions };
  return out;
}

/** Runs waiting in the journey now: what stopping it ends. */
export function waitingNow(answer: Schemas["JourneyCounts"]): number {
  return Object.entries(answer.nodes)
    .filter(([node]) => node !== "$control")
    .reduce((n, [, c]) => n + c.waiting, 0);
}
