// Lifecycle stages as the page uses them: the stages being edited (each with a key of its own, so
// that moving one keeps its form), what is sent, what is said before sending, and the journey
// map's moves in words and as a Sankey diagram's geometry (`sankey`: pure, drawn by
// JourneyMap.tsx).
import type { Schemas } from "../api/client";
import { compactJson } from "../journey/json";
import { formatNumber } from "../ui/format";
import { peopleText, SEGMENT_ID, shapeOf, type SegmentDiagnostic } from "./segments";

export type Lifecycle = Schemas["LifecycleView"];
export type Flow = Schemas["Flow"];

/** The most stages a lifecycle may have (as the server counts). */
export const MAX_STAGES = 20;

/** A stage as edited: `key` is the page's own, never sent. */
export interface StageDraft {
  key: number;
  id: string;
  name: string;
  /** undefined until a condition is added. */
  condition: unknown;
}

let nextKey = 1;
/** A fresh key for a stage the page shows. */
export const stageKey = () => nextKey++;

/** The stages of a lifecycle as the page edits them (a name that is the id is shown empty: the server names a stage by its id). */
export function draftsOf(stages: readonly Pick<Schemas["StageView"], "id" | "name" | "condition">[]): StageDraft[] {
  return stages.map((s) => ({ key: stageKey(), id: s.id, name: s.name === s.id ? "" : s.name, condition: s.condition }));
}

/** What is sent: `{"stages": [{"id", "name", "condition"}]}`, a name only when there is one. */
export function bodyOf(stages: readonly StageDraft[]): Schemas["LifecycleBody"] {
  return {
    stages: stages.map((s) => ({ id: s.id.trim(), ...(s.name.trim() !== "" ? { name: s.name.trim() } : {}), condition: s.condition })),
  };
}

/** Whether the stages being edited say what `saved` says (keys in any order: the server answers them sorted). */
export function sameStages(stages: readonly StageDraft[], saved: readonly Pick<Schemas["StageView"], "id" | "name" | "condition">[]): boolean {
  return compactJson(bodyOf(stages).stages) === compactJson(bodyOf(draftsOf(saved)).stages);
}

/**
 * What the page can say before sending, at the paths the server would: an id it would refuse or
 * one listed twice, a stage with no condition.
 */
export function localProblems(stages: readonly StageDraft[]): SegmentDiagnostic[] {
  const out: SegmentDiagnostic[] = [];
  const error = (path: string, message: string) => out.push({ path, code: "invalid_lifecycle", severity: "error", message });
  stages.forEach((s, i) => {
    const id = s.id.trim();
    if (id === "") error(`/stages/${i}/id`, "Give the stage an id (what the lifecycle_stage trait holds), e.g. customer.");
    else if (!SEGMENT_ID.test(id)) error(`/stages/${i}/id`, "An id is 1 to 64 of a-z, 0-9, - and _, starting with a letter or a digit.");
    else if (stages.slice(0, i).some((o) => o.id.trim() === id)) error(`/stages/${i}/id`, `Stage ${id} is listed twice.`);
    if (s.condition === undefined) error(`/stages/${i}/condition`, "Add a condition: who is at this stage.");
  });
  if (stages.length > MAX_STAGES) error("/stages", `A lifecycle has at most ${MAX_STAGES} stages.`);
  return out;
}

/**
 * The stages' structure: problems stay shown while values are fixed, not once stages are added,
 * removed or moved, or conditions added or removed (their places would name others).
 */
export function stagesShape(stages: readonly StageDraft[]): string {
  return `${stages.map((s) => s.key).join(",")}|${shapeOf(stages.map((s) => s.condition ?? null))}`;
}

/** Where to start when there are no stages: the path most shops draw. */
export const EXAMPLE_STAGES: readonly Omit<StageDraft, "key">[] = [
  { id: "lead", name: "Lead", condition: { trait: "email", op: "exists" } },
  { id: "customer", name: "Customer", condition: { history: { event: "Order Completed", within: "365d" }, op: "gte", value: 1 } },
  { id: "repeat", name: "Repeat customer", condition: { history: { event: "Order Completed", within: "365d" }, op: "gte", value: 2 } },
  {
    id: "at-risk",
    name: "At risk",
    condition: {
      all: [
        { history: { event: "Order Completed", within: "365d" }, op: "gte", value: 1 },
        { history: { event: "Order Completed", within: "60d" }, op: "eq", value: 0 },
      ],
    },
  },
];

/** "No stage" for null; a stage by its name; one that is no longer a stage by its id. */
export function stageText(id: string | null | undefined, names: Readonly<Record<string, string>>): string {
  if (id == null) return "No stage";
  return Object.hasOwn(names, id) ? names[id] : id;
}

/** A move in words: "No stage → Lead". */
export const moveText = (from: string | null | undefined, to: string | null | undefined, names: Readonly<Record<string, string>>) =>
  `${stageText(from, names)} → ${stageText(to, names)}`;

/** "in the last 7 days" for a period of days; the server's default is 30. */
export const periodText = (days: number) => `in the last ${days} days`;

/** The journey map in words: each move with its people, most first (as the server orders them). */
export function flowsSummary(flows: readonly Flow[], names: Readonly<Record<string, string>>, period: string): string {
  if (flows.length === 0) return `Nobody moved between stages ${period}.`;
  const total = flows.reduce((n, f) => n + f.people, 0);
  const moves = flows.map((f) => `${moveText(f.from, f.to, names)}: ${peopleText(f.people)}`);
  return `Moves between lifecycle stages ${period}: ${formatNumber(total)} in all. ${moves.join("; ")}.`;
}

/** A column's node: a stage (or none) people left (`from`) or reached (`to`). */
export interface SankeyNode {
  side: "from" | "to";
  id: string | null;
  label: string;
  people: number;
  x: number;
  y: number;
  height: number;
}

/** A band from one stage to another, as wide as the people who moved. */
export interface SankeyLink {
  flow: Flow;
  /** Whether it goes further along the lifecycle, back (to an earlier stage or to none), or stays (the same stage again). */
  direction: "forward" | "back" | "same";
  /** The band's outline (an SVG path). */
  path: string;
  /** Where it leaves (its middle) and how wide it is. */
  x0: number;
  y0: number;
  width: number;
}

export interface SankeyLayout {
  width: number;
  height: number;
  nodes: SankeyNode[];
  links: SankeyLink[];
}

/** The diagram's measures (in the SVG's own units). */
export const SANKEY = {
  width: 720,
  /** Room for the labels on either side. */
  label: 176,
  node: 12,
  gap: 12,
  top: 28,
  bottom: 8,
  /** The height of the tallest column of nodes (gaps included), at least. */
  minPlot: 160,
  /** Per node of the fuller column. */
  perNode: 36,
  minNode: 4,
};

/**
 * Where each node and band goes: the stages people left on the left, those they reached on the
 * right, each column in lifecycle order with "No stage" first (stages that are no longer in the
 * lifecycle after, by id); a node as tall as its people, a band as wide as its flow's, stacked in
 * the order of the nodes it joins, so bands do not cross more than they must.
 */
export function sankey(flows: readonly Flow[], stages: readonly { id: string; name: string }[]): SankeyLayout {
  const names = Object.fromEntries(stages.map((s) => [s.id, s.name]));
  const known = new Map(stages.map((s, i) => [s.id, i + 1]));
  const others = [...new Set(flows.flatMap((f) => [f.from, f.to]).filter((id): id is string => id != null && !known.has(id)))].sort();
  const rank = (id: string | null | undefined) => (id == null ? 0 : (known.get(id) ?? stages.length + 1 + others.indexOf(id)));
  const moved = flows.filter((f) => f.people > 0);
  const total = moved.reduce((n, f) => n + f.people, 0);
  const { width, label, node, gap, top, bottom, minPlot, perNode, minNode } = SANKEY;

  const column = (side: "from" | "to") => {
    const people = new Map<string | null, number>();
    for (const f of moved) {
      const id = (side === "from" ? f.from : f.to) ?? null;
      people.set(id, (people.get(id) ?? 0) + f.people);
    }
    return [...people.entries()].sort(([a], [b]) => rank(a) - rank(b));
  };
  const left = column("from");
  const right = column("to");
  const count = Math.max(left.length, right.length, 1);
  const plot = Math.max(minPlot, perNode * count);
  // One scale for both columns: people per unit of height.
  const scale = total === 0 ? 0 : (plot - gap * (count - 1)) / total;

  const place = (entries: [string | null, number][], side: "from" | "to"): SankeyNode[] => {
    let y = top;
    return entries.map(([id, people]) => {
      const height = Math.max(minNode, people * scale);
      const n: SankeyNode = { side, id, label: stageText(id, names), people, x: side === "from" ? label : width - label - node, y, height };
      y += height + gap;
      return n;
    });
  };
  const nodes = [...place(left, "from"), ...place(right, "to")];
  const at = (side: "from" | "to", id: string | null) => nodes.find((n) => n.side === side && n.id === id) as SankeyNode;

  // Each node's bands, stacked from its top (centred in a node drawn taller than its people).
  const offsets = new Map<SankeyNode, number>();
  const start = (n: SankeyNode) => n.y + (n.height - n.people * scale) / 2;
  const slot = (n: SankeyNode, w: number) => {
    const y = offsets.get(n) ?? start(n);
    offsets.set(n, y + w);
    return y;
  };
  const ordered = [...moved].sort((a, b) => rank(a.from) - rank(b.from) || rank(a.to) - rank(b.to));
  const starts = new Map<Flow, number>();
  for (const f of ordered) starts.set(f, slot(at("from", f.from ?? null), f.people * scale));
  const ends = new Map<Flow, number>();
  for (const f of [...moved].sort((a, b) => rank(a.to) - rank(b.to) || rank(a.from) - rank(b.from))) ends.set(f, slot(at("to", f.to ?? null), f.people * scale));

  const x0 = label + node;
  const x1 = width - label - node;
  const mid = (x0 + x1) / 2;
  const links: SankeyLink[] = ordered.map((f) => {
    const w = f.people * scale;
    // At least a hairline: a flow of one among thousands still shows.
    const drawn = Math.max(1, w);
    const a = (starts.get(f) ?? 0) + (w - drawn) / 2;
    const b = (ends.get(f) ?? 0) + (w - drawn) / 2;
    const r = (n: number) => Math.round(n * 10) / 10;
    const path =
      `M${r(x0)},${r(a)} C${r(mid)},${r(a)} ${r(mid)},${r(b)} ${r(x1)},${r(b)} ` +
      `L${r(x1)},${r(b + drawn)} C${r(mid)},${r(b + drawn)} ${r(mid)},${r(a + drawn)} ${r(x0)},${r(a + drawn)} Z`;
    const from = rank(f.from);
    const to = rank(f.to);
    return { flow: f, direction: to > from ? "forward" : to < from ? "back" : "same", path, x0, y0: a + drawn / 2, width: drawn };
  });
  const bottoms = nodes.map((n) => n.y + n.height);
  return { width, height: Math.ceil(Math.max(top + plot, ...bottoms) + bottom), nodes, links };
}
