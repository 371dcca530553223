// A run's trace, read for drawing: each transition's structured steps when the server sends
// them, and the path the run took.
import type { Schemas } from "../api/client";
import { ENTRY_ID } from "../journey/graph";

/** One comparison a decision made, with the value it saw. */
export type TraceCheck = Schemas["Check"];

/** One thing a transition did, about one step (`node`) or the run as a whole. */
export type TraceStep = Schemas["TraceStep"];

/** A transition's structured steps, if it has them: rows written before traces were
 * structured read as `text` steps alone, which say no more than the lines. */
export function stepsOf(entry: Schemas["TraceEntry"]): TraceStep[] | undefined {
  return entry.steps.some((s) => s.kind !== "text") ? entry.steps : undefined;
}

export interface RunPath {
  /** Canvas node ids in the order the run reached them (the entry is ENTRY_ID). */
  path: string[];
  /** Where the run waits now, if it does. */
  current?: string;
  /** Whether the path comes from the trace's steps; if not, it is the run's current step only. */
  structured: boolean;
}

/** The path a run took: the steps' nodes in order; without structured steps, only where it is. */
export function runPath(run: Schemas["RunView"]): RunPath {
  const current = run.status === "waiting" && run.node ? run.node : undefined;
  const steps = run.trace.map(stepsOf);
  if (!steps.some((s) => s !== undefined)) return { path: run.node ? [run.node] : [], current, structured: false };
  const path: string[] = [];
  for (const step of steps.flatMap((s) => s ?? [])) {
    const node = step.kind === "entered" ? ENTRY_ID : step.node;
    if (node && path[path.length - 1] !== node) path.push(node);
  }
  if (current && path[path.length - 1] !== current) path.push(current);
  return { path, current, structured: true };
}
