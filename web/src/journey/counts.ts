// The counts a node's card shows: absolute numbers first, with a share of the journey's entries.

export interface NodeCounts {
  entered?: number;
  /** Waiting at the step now: what marketers look at first. */
  waiting?: number;
  passed?: number;
  exited?: number;
  converted?: number;
}

const COUNTS: { key: keyof NodeCounts; short: string; long: string }[] = [
  { key: "entered", short: "in", long: "entered" },
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
  /** "62 waiting now, 20% of the journey's entries" */
  long: string;
}

/** The badges for `counts`, each with its share of `entries` (the entry node's "entered"). */
export function countBadges(counts: NodeCounts, entries: number | undefined): CountBadge[] {
  return COUNTS.flatMap(({ key, short, long }) => {
    const n = counts[key];
    if (n === undefined) return [];
    const share = entries !== undefined && entries > 0 ? `, ${Math.round((n / entries) * 100)}% of the journey's entries` : "";
    return [{ key, value: compact.format(n), short, long: `${n.toLocaleString("en")} ${long}${share}` }];
  });
}
