// The editor's operations on the journey document: small pure functions from a document to a
// document. They change only what they are about (every other key, known or not, is kept as it
// was), so undoing is going back to the previous document, and the canvas and journeys as code
// edit the same JSON.
import type { JourneyDocument, Step, StepType } from "./doc";
import { ENTRY_ID } from "./graph";
import { getIn, isObject, setIn, type Path } from "./json";

type Obj = Record<string, unknown>;

/** Where a new step goes: after `source` (a step id, or ENTRY_ID), on its output `output`. */
export interface At {
  source: string;
  /** An output name as the graph names them: next, case-1, else, event-1, timeout, path-1, unreachable, failed. */
  output: string;
}

/** Where, inside a step, an output's step id is: "case-2" → ["cases", 1, "next"]. */
export function outputPath(output: string): Path {
  const indexed = output.match(/^(case|event|path)-(\d+)$/);
  if (indexed) {
    const list = { case: "cases", event: "events", path: "paths" }[indexed[1] as "case" | "event" | "path"];
    return [list, Number(indexed[2]) - 1, "next"];
  }
  switch (output) {
    case "next":
      return ["next"];
    case "else":
      return ["else"];
    case "timeout":
      return ["timeout_next"];
    case "unreachable":
      return ["on_unreachable"];
    case "failed":
      return ["on_failure"];
    default:
      throw new Error(`unknown output ${output}`);
  }
}

export interface Slot {
  /** The output's name (see At). */
  output: string;
  /** Where the step id is, inside the step. */
  path: Path;
  /** The step id there: undefined when absent, null when explicitly null (ends the run). */
  target: string | null | undefined;
}

const listOf = (step: Obj, key: string): unknown[] => (Array.isArray(step[key]) ? (step[key] as unknown[]) : []);

/** Every way out of a step that names a step, in the document's order, present or not. */
export function slots(step: unknown): Slot[] {
  if (!isObject(step)) return [];
  const slot = (output: string): Slot => {
    const path = outputPath(output);
    const v = getIn(step, path);
    return { output, path, target: typeof v === "string" || v === null ? v : undefined };
  };
  switch (step.type) {
    case "wait":
    case "update":
    case "webhook":
    case "task":
      return [slot("next")];
    case "send":
      return [slot("next"), ...("on_unreachable" in step ? [slot("unreachable")] : []), ...("on_failure" in step ? [slot("failed")] : [])];
    case "wait_for":
      return [...listOf(step, "events").map((_, i) => slot(`event-${i + 1}`)), slot("timeout")];
    case "branch":
      return [...listOf(step, "cases").map((_, i) => slot(`case-${i + 1}`)), slot("else")];
    case "split":
      return listOf(step, "paths").map((_, i) => slot(`path-${i + 1}`));
    default:
      return [];
  }
}

const stepsOf = (doc: JourneyDocument): Obj[] => (Array.isArray(doc.steps) ? (doc.steps as unknown as Obj[]) : []);

export function stepIndex(doc: JourneyDocument, id: string): number {
  return stepsOf(doc).findIndex((s) => isObject(s) && s.id === id);
}

/** The path of step `id` in the document (["steps", i]), or of the entry. */
export function nodePath(doc: JourneyDocument, id: string): Path | undefined {
  if (id === ENTRY_ID) return ["entry"];
  const i = stepIndex(doc, id);
  return i < 0 ? undefined : ["steps", i];
}

export function stepIds(doc: JourneyDocument): Set<string> {
  return new Set(stepsOf(doc).flatMap((s) => (isObject(s) && typeof s.id === "string" ? [s.id] : [])));
}

/** `base` if free, else base-2, base-3... (a trailing -N of `base` is replaced). */
export function uniqueId(base: string, taken: Set<string>): string {
  const clean = base.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "step";
  if (!taken.has(clean)) return clean;
  const stem = clean.replace(/-\d+$/, "");
  for (let n = 2; ; n++) {
    const id = `${stem}-${n}`;
    if (!taken.has(id)) return id;
  }
}

const BASE_IDS: Record<StepType, string> = {
  wait: "wait",
  wait_for: "wait-for",
  branch: "branch",
  split: "split",
  send: "send",
  update: "update",
  webhook: "webhook",
  task: "task",
  exit: "exit",
};

/** A new step of a type, as the palette adds it: what the type needs, to be filled in its form. */
export function newStep(type: StepType, id: string): Step {
  switch (type) {
    case "wait":
      return { id, type, duration: "1d" };
    case "wait_for":
      return { id, type, events: [{ event: "" }], timeout: "3d" };
    case "branch":
      return { id, type, cases: [{ when: { all: [] } }] };
    case "split":
      return {
        id,
        type,
        paths: [
          { name: "a", weight: 50 },
          { name: "b", weight: 50 },
        ],
      };
    case "send":
      return { id, type, channel: "email", template: "" };
    case "update":
      return { id, type, set: {} };
    case "webhook":
      return { id, type, url: "", method: "POST" };
    case "task":
      return { id, type, title: "" };
    case "exit":
      return { id, type };
  }
}

/** The step's output a run takes when it goes on after a step inserted before `target`. */
function continuation(step: Obj): Path | undefined {
  switch (step.type) {
    case "wait":
    case "update":
    case "webhook":
    case "send":
    case "task":
      return ["next"];
    case "branch":
      return ["else"];
    case "wait_for":
      return ["timeout_next"];
    default:
      return undefined;
  }
}

/** Sets an output to `target`; null ends the run there (the key is removed where absence means the same). */
function setOutput(step: Obj, path: Path, target: string | null): Obj {
  const explicitNull = path[0] === "on_unreachable" || path[0] === "on_failure";
  return setIn(step, path, target === null && !explicitNull ? undefined : target);
}

/** The first step id, where runs start. */
export function firstStep(doc: JourneyDocument): string | undefined {
  const first = stepsOf(doc)[0];
  return isObject(first) && typeof first.id === "string" ? first.id : undefined;
}

/** What output `at` leads to now. */
export function targetOf(doc: JourneyDocument, at: At): string | null | undefined {
  if (at.source === ENTRY_ID) return firstStep(doc);
  const i = stepIndex(doc, at.source);
  if (i < 0) return undefined;
  const v = getIn(stepsOf(doc)[i], outputPath(at.output));
  return typeof v === "string" || v === null ? v : undefined;
}

/** Moves step `id` to the front: runs start at it. */
function makeFirst(doc: JourneyDocument, id: string): JourneyDocument {
  const i = stepIndex(doc, id);
  if (i <= 0) return doc;
  const steps = [...stepsOf(doc)];
  const [step] = steps.splice(i, 1);
  steps.unshift(step);
  return { ...doc, steps: steps as unknown as Step[] };
}

/**
 * Points output `output` of step `source` at `target` (null: the run ends there). From the
 * entry, `target` becomes the first step.
 */
export function connect(doc: JourneyDocument, source: string, output: string, target: string | null): JourneyDocument {
  if (source === ENTRY_ID) return target === null ? doc : makeFirst(doc, target);
  const i = stepIndex(doc, source);
  if (i < 0) return doc;
  const step = setOutput(stepsOf(doc)[i], outputPath(output), target);
  return setIn(doc, ["steps", i], step);
}

/**
 * The first output of a step a new step is best added on: the first that ends the run, else
 * the first. For the entry, "next".
 */
export function defaultOutput(doc: JourneyDocument, source: string): string | undefined {
  if (source === ENTRY_ID) return "next";
  const i = stepIndex(doc, source);
  if (i < 0) return undefined;
  const all = slots(stepsOf(doc)[i]);
  return (all.find((s) => s.target === undefined || s.target === null) ?? all[0])?.output;
}

/** Where the palette adds a step when nothing is selected: after the last step with an open end, else after the entry. */
export function defaultPlace(doc: JourneyDocument): At {
  const steps = stepsOf(doc);
  if (steps.length === 0) return { source: ENTRY_ID, output: "next" };
  for (let i = steps.length - 1; i >= 0; i--) {
    const open = slots(steps[i]).find((s) => s.target === undefined || s.target === null);
    if (open && typeof steps[i].id === "string") return { source: steps[i].id as string, output: open.output };
  }
  return { source: ENTRY_ID, output: "next" };
}

/**
 * Inserts `group` (steps with ids free in `doc`, linked among themselves) at `at`: the output
 * now leads to the group's first step, and what it led to before follows the group's one open
 * end, if it has exactly one. The group goes right after the source in the list.
 */
export function insertSteps(doc: JourneyDocument, group: Step[], at: At): JourneyDocument {
  if (group.length === 0) return doc;
  const before = targetOf(doc, at);
  let linked = group as unknown as Obj[];
  if (typeof before === "string") {
    // The open ends of each step: a split's paths that end, or the one output others go on by.
    const ends = linked.flatMap((s, gi) => {
      if (s.type === "split") return slots(s).filter((x) => x.target == null).map((x) => ({ gi, path: x.path }));
      const c = continuation(s);
      return c && getIn(s, c) == null ? [{ gi, path: c }] : [];
    });
    // Only when they are one step's: otherwise which should go on is the author's choice.
    if (ends.length > 0 && ends.every((e) => e.gi === ends[0].gi)) {
      linked = linked.map((s, gi) => ends.filter((e) => e.gi === gi).reduce((acc, e) => setIn(acc, e.path, before), s));
    }
  }
  const steps = [...stepsOf(doc)];
  const where = at.source === ENTRY_ID ? 0 : stepIndex(doc, at.source) + 1;
  steps.splice(where < 0 ? steps.length : where, 0, ...linked);
  const inserted = { ...doc, steps: steps as unknown as Step[] };
  const head = linked[0].id as string;
  return connect(inserted, at.source, at.output, head);
}

/** Adds a new step of `type` at `at` (see insertSteps); answers the document and the step's id. */
export function addStep(doc: JourneyDocument, type: StepType, at: At): { doc: JourneyDocument; id: string } {
  const id = uniqueId(BASE_IDS[type], stepIds(doc));
  return { doc: insertSteps(doc, [newStep(type, id)], at), id };
}

/** Every place in the document that names step `id` (outputs, goal.from, calendar waits' after). */
function referencesTo(doc: JourneyDocument, id: string): Path[] {
  const out: Path[] = [];
  stepsOf(doc).forEach((step, i) => {
    for (const s of slots(step)) if (s.target === id) out.push(["steps", i, ...s.path]);
    if (getIn(step, ["until", "after"]) === id) out.push(["steps", i, "until", "after"]);
  });
  if (getIn(doc, ["goal", "from"]) === id) out.push(["goal", "from"]);
  return out;
}

/** Renames step `from` to `to` and every reference to it. Unchanged if `to` is taken. */
export function renameStep(doc: JourneyDocument, from: string, to: string): JourneyDocument {
  if (from === to || stepIds(doc).has(to)) return doc;
  const i = stepIndex(doc, from);
  if (i < 0) return doc;
  let next = referencesTo(doc, from).reduce((d, path) => setIn(d, path, to), doc);
  next = setIn(next, ["steps", i, "id"], to);
  return next;
}

/**
 * Where runs at a deleted step should go instead, when that is clear: its only way on (null:
 * the run ends), or undefined when it has several different ones.
 */
function onlyWayOn(step: Obj): string | null | undefined {
  const all = slots(step);
  if (all.length === 0) return null;
  const targets = new Set(all.map((s) => (s.target === undefined ? null : s.target)).filter((t) => t !== step.id));
  if (targets.size === 1) return [...targets][0];
  return undefined;
}

/**
 * Deletes steps. What pointed at a deleted step now points where it went on, when that is
 * unambiguous (one way on); otherwise the references are left as they are, and the validator
 * reports them (dangling_next) for the author to choose.
 */
export function deleteSteps(doc: JourneyDocument, ids: Iterable<string>): JourneyDocument {
  let out = doc;
  for (const id of ids) {
    const i = stepIndex(out, id);
    if (i < 0) continue;
    const step = stepsOf(out)[i];
    const way = onlyWayOn(step);
    const wasFirst = i === 0;
    if (way !== undefined) {
      stepsOf(out).forEach((s, si) => {
        for (const sl of slots(s)) {
          if (sl.target === id) {
            const path = ["steps", si, ...sl.path];
            const explicitNull = sl.path[0] === "on_unreachable" || sl.path[0] === "on_failure";
            out = setIn(out, path, way === null && !explicitNull ? undefined : way);
          }
        }
      });
    }
    const steps = stepsOf(out).filter((_, si) => si !== i);
    out = { ...out, steps: steps as unknown as Step[] };
    if (wasFirst && typeof way === "string") out = makeFirst(out, way);
  }
  return out;
}

/**
 * Steps to paste: ids made unique in `doc` (and among themselves), references among them
 * renamed with them, references to steps `doc` does not have removed (those outputs end).
 */
export function prepareSteps(doc: JourneyDocument, steps: unknown[]): Step[] {
  const taken = stepIds(doc);
  const renamed = new Map<string, string>();
  const valid = steps.filter((s): s is Obj => isObject(s) && typeof s.id === "string" && typeof s.type === "string");
  for (const s of valid) {
    const id = uniqueId(s.id as string, taken);
    taken.add(id);
    if (!renamed.has(s.id as string)) renamed.set(s.id as string, id);
  }
  const existing = stepIds(doc);
  return valid.map((s) => {
    let step: Obj = { ...s, id: renamed.get(s.id as string) };
    for (const sl of slots(step)) {
      if (typeof sl.target !== "string") continue;
      const to = renamed.get(sl.target) ?? (existing.has(sl.target) ? sl.target : undefined);
      step = to === undefined ? setOutput(step, sl.path, null) : setIn(step, sl.path, to);
    }
    const after = getIn(step, ["until", "after"]);
    if (typeof after === "string" && renamed.has(after)) step = setIn(step, ["until", "after"], renamed.get(after));
    return step as unknown as Step;
  });
}

/** Pastes copied steps at `at` (see prepareSteps and insertSteps); answers the new ids. */
export function pasteSteps(doc: JourneyDocument, steps: unknown[], at: At): { doc: JourneyDocument; ids: string[] } {
  const group = prepareSteps(doc, steps);
  return { doc: insertSteps(doc, group, at), ids: group.map((s) => s.id) };
}

/** Replaces step `id` with `step` (its raw JSON edited); a new id is a rename of every reference. */
export function replaceStep(doc: JourneyDocument, id: string, step: unknown): JourneyDocument {
  const i = stepIndex(doc, id);
  if (i < 0 || !isObject(step)) return doc;
  let out = doc;
  if (typeof step.id === "string" && step.id !== id) {
    if (stepIds(doc).has(step.id)) return doc;
    out = renameStep(doc, id, step.id);
  }
  return setIn(out, ["steps", i], step);
}

/** The selected steps, in document order, for copying. */
export function copySteps(doc: JourneyDocument, ids: Set<string>): Step[] {
  return stepsOf(doc).filter((s) => typeof s.id === "string" && ids.has(s.id)) as unknown as Step[];
}

/** What the clipboard holds: steps as JSON, recognisable when pasted into another journey. */
export const CLIPBOARD_KIND = "wayfarer/steps";

export function clipboardText(steps: Step[]): string {
  return JSON.stringify({ kind: CLIPBOARD_KIND, steps }, null, 2);
}

/** Steps from pasted text: our own clipboard, a list of steps, or one step. */
export function readClipboard(text: string): unknown[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (isObject(value) && value.kind === CLIPBOARD_KIND && Array.isArray(value.steps)) return value.steps;
  if (Array.isArray(value) && value.every((s) => isObject(s) && "type" in s)) return value;
  if (isObject(value) && typeof value.type === "string" && typeof value.id === "string") return [value];
  return undefined;
}

/** The entry's trigger kinds and the keys each has besides the rules every entry has. */
export const ENTRY_KINDS = ["event", "trait_change", "api", "schedule", "date", "segment"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

const ENTRY_OWN_KEYS: Record<EntryKind, string[]> = {
  event: ["event", "filter", "key"],
  trait_change: ["trait_change"],
  api: ["api", "key"],
  schedule: ["schedule", "audience"],
  date: ["date"],
  segment: ["segment", "on"],
};

export function entryKind(entry: unknown): EntryKind {
  if (!isObject(entry)) return "event";
  return ENTRY_KINDS.find((k) => k !== "event" && k in entry) ?? "event";
}

/** An entry of another kind, keeping the rules (reentry, limit, holdout, concurrent) and unknown keys. */
export function changeEntryKind(entry: unknown, kind: EntryKind): Obj {
  const old = isObject(entry) ? entry : {};
  const current = entryKind(old);
  if (current === kind) return old;
  const out: Obj = {};
  const fresh: Record<EntryKind, Obj> = {
    event: { event: "" },
    trait_change: { trait_change: { trait: "" } },
    api: { api: true },
    schedule: { schedule: { cron: "0 9 * * mon" } },
    date: { date: { trait: "", at: "09:00" } },
    // Entering, said in so many words (the default), the segment to be picked.
    segment: { segment: "", on: "enter" },
  };
  Object.assign(out, fresh[kind]);
  // "key" goes with event and api entries both.
  if (typeof old.key === "string" && ENTRY_OWN_KEYS[kind].includes("key")) out.key = old.key;
  for (const [k, v] of Object.entries(old)) if (!ENTRY_OWN_KEYS[current].includes(k)) out[k] = v;
  return out;
}
