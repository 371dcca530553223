// A run's trace, read for drawing: each transition's structured steps when the server sends
// them, and the path the run took.
//
// TODO(schema): the structured decisions (`TraceEntry.steps`) are being added to the server;
// once web/openapi.json has them, replace TraceStep/TraceCheck with
// Schemas["TraceEntry"]["steps"] and its check type, and `stepsOf` with `entry.steps`.
import type { Schemas } from "../api/client";
import { ENTRY_ID } from "../journey/graph";

/** One comparison a decision made, with the value it saw. */
export interface TraceCheck {
  /** What was read: `trait plan`, `property path`, `count("Page Viewed" in 7d)`, `reachable by email`. */
  subject: string;
  /** The value seen; absent when there was none (a JSON null is a value). */
  seen?: unknown;
  op: string;
  /** What it was compared with: the document's value, or what `reference` read. */
  expected?: unknown;
  /** For comparisons with a reference (`event.cart_id`). */
  reference?: string | null;
  result: boolean;
  /** Why, where the values do not say (`no email trait`). */
  note?: string | null;
}

/** One thing a transition did, about one step (`node`) or the run as a whole. */
export interface TraceStep {
  node?: string | null;
  /** `entered`, `case`, `else`, `wait`, `got`, `send`, `exit`, ... */
  kind: string;
  text: string;
  checks?: TraceCheck[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const optional = (v: unknown, type: "string") => v === undefined || v === null || typeof v === type;

function isCheck(v: unknown): v is TraceCheck {
  return isObject(v) && typeof v.subject === "string" && typeof v.op === "string" && typeof v.result === "boolean" && optional(v.reference, "string") && optional(v.note, "string");
}

function isStep(v: unknown): v is TraceStep {
  return (
    isObject(v) && typeof v.kind === "string" && typeof v.text === "string" && optional(v.node, "string") && (v.checks === undefined || (Array.isArray(v.checks) && v.checks.every(isCheck)))
  );
}

/** A transition's structured steps, if it has them: rows written before traces were
 * structured read as `text` steps alone, which say no more than the lines. */
export function stepsOf(entry: Schemas["TraceEntry"]): TraceStep[] | undefined {
  const steps: unknown = (entry as { steps?: unknown }).steps;
  if (!Array.isArray(steps) || !steps.every(isStep)) return undefined;
  return steps.some((s) => s.kind !== "text") ? steps : undefined;
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
