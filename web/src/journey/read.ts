// A stored draft is any JSON (drafts are saved even when invalid): this checks it has the shape
// the canvas relies on before it is drawn. Everything else is the validator's job.
import { STEP_TYPES, type JourneyDocument } from "./doc";

export type ReadResult = { ok: true; doc: JourneyDocument } | { ok: false; problem: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const ENTRY_KINDS = ["event", "trait_change", "schedule", "date", "api", "segment"];

/** The list each step type must have, if any. */
const LISTS: Partial<Record<string, string>> = { wait_for: "events", branch: "cases", split: "paths" };

function stepProblem(step: unknown, i: number): string | undefined {
  if (!isObject(step)) return `step ${i + 1} is not an object`;
  if (typeof step.id !== "string") return `step ${i + 1} has no "id"`;
  if (typeof step.type !== "string" || !(STEP_TYPES as readonly string[]).includes(step.type)) {
    return `step "${step.id}" has no known "type" (${STEP_TYPES.join(", ")})`;
  }
  const list = LISTS[step.type];
  if (list !== undefined && (!Array.isArray(step[list]) || !step[list].every(isObject))) {
    return `step "${step.id}" needs "${list}", a list of objects`;
  }
  return undefined;
}

export function readDocument(value: unknown): ReadResult {
  if (!isObject(value)) return { ok: false, problem: "the document is not a JSON object" };
  const entry = value.entry;
  if (!isObject(entry) || !ENTRY_KINDS.some((k) => k in entry)) {
    return { ok: false, problem: `the document has no "entry" (one of ${ENTRY_KINDS.join(", ")})` };
  }
  if (!Array.isArray(value.steps)) return { ok: false, problem: 'the document has no "steps" list' };
  const problem = value.steps.map(stepProblem).find((p) => p !== undefined);
  if (problem !== undefined) return { ok: false, problem };
  return { ok: true, doc: value as unknown as JourneyDocument };
}
