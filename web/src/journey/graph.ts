// The journey document as a graph: one node for the entry and one per step, one edge for every
// way a run moves on. Goal and exits are journey-wide, not nodes.
import type { Entry, JourneyDocument, Next, Step, StepType } from "./doc";
import { conditionText } from "./describe";

/** The entry's node id: not a valid step id (a-z, 0-9, - and _), so it never collides with one. */
export const ENTRY_ID = "(entry)";

export type NodeKind = "entry" | StepType;

export interface EntryNode {
  id: string;
  kind: "entry";
  entry: Entry;
  /** Labels of the outcomes that end the run here ("" for the plain end). */
  endings: string[];
}

export interface StepNode {
  id: string;
  kind: StepType;
  step: Step;
  endings: string[];
}

export type GraphNode = EntryNode | StepNode;

export type EdgeKind = "next" | "case" | "else" | "event" | "timeout" | "split" | "sent" | "unreachable" | "failed";

export interface GraphEdge {
  /** `source/output`, unique: "pro-yet/case-1", "booked/timeout", "(entry)/next". */
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
  label?: string;
  /** More words for a tooltip: a branch case's condition. */
  detail?: string;
  /** Goes back to the same or an earlier step: a loop. */
  back: boolean;
}

export interface JourneyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface Output {
  name: string;
  kind: EdgeKind;
  next: Next | undefined;
  label?: string;
  detail?: string;
}

/** The ways a run leaves a step, in the order the document lists them. */
function outputs(step: Step): Output[] {
  switch (step.type) {
    case "wait":
    case "update":
    case "webhook":
    case "task":
      return [{ name: "next", kind: "next", next: step.next }];
    case "send": {
      const routed = step.on_failure !== undefined;
      const out: Output[] = [{ name: "next", kind: routed ? "sent" : "next", next: step.next, label: routed ? "sent" : undefined }];
      if (step.on_unreachable !== undefined) {
        out.push({ name: "unreachable", kind: "unreachable", next: step.on_unreachable, label: "unreachable" });
      }
      if (routed) out.push({ name: "failed", kind: "failed", next: step.on_failure, label: "failed" });
      return out;
    }
    case "wait_for": {
      const out: Output[] = step.events.map((path, i) => ({
        name: `event-${i + 1}`,
        kind: "event",
        next: path.next,
        label: path.event,
        detail: path.filter ? `${path.event} where ${conditionText(path.filter)}` : undefined,
      }));
      if (step.timeout !== undefined) {
        out.push({ name: "timeout", kind: "timeout", next: step.timeout_next, label: `timeout ${step.timeout}` });
      }
      return out;
    }
    case "branch":
      return [
        ...step.cases.map((c, i): Output => ({
          name: `case-${i + 1}`,
          kind: "case",
          next: c.next,
          label: `case ${i + 1}`,
          detail: `if ${conditionText(c.when)}`,
        })),
        { name: "else", kind: "else", next: step.else, label: "else" },
      ];
    case "split":
      return step.paths.map((p, i) => ({ name: `path-${i + 1}`, kind: "split", next: p.next, label: `${p.name} ${p.weight}%` }));
    case "exit":
      return [];
  }
}

/**
 * The graph of a document. Steps with an id used before are left out (the validator reports
 * them), and so are edges to a step that does not exist: the canvas draws what it can.
 */
export function toGraph(doc: JourneyDocument): JourneyGraph {
  const order = new Map<string, number>([[ENTRY_ID, -1]]);
  const steps: Step[] = [];
  for (const step of doc.steps) {
    if (order.has(step.id)) continue;
    order.set(step.id, steps.length);
    steps.push(step);
  }
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];

  function follow(source: string, outs: Output[]): string[] {
    const endings: string[] = [];
    for (const out of outs) {
      if (out.next === undefined || out.next === null) {
        endings.push(out.label ?? "");
        continue;
      }
      const target = order.get(out.next);
      if (target === undefined) continue;
      edges.push({
        id: `${source}/${out.name}`,
        source,
        target: out.next,
        kind: out.kind,
        label: out.label,
        detail: out.detail,
        back: target <= (order.get(source) ?? -1),
      });
    }
    return endings;
  }

  const first = steps.length > 0 ? steps[0].id : undefined;
  nodes.push({ id: ENTRY_ID, kind: "entry", entry: doc.entry, endings: follow(ENTRY_ID, [{ name: "next", kind: "next", next: first }]) });
  for (const step of steps) {
    nodes.push({ id: step.id, kind: step.type, step, endings: follow(step.id, outputs(step)) });
  }
  return { nodes, edges };
}
