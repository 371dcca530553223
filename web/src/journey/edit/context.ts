// What the forms of the editor share: the document, one way to change it, and what the data has
// (event and trait names, templates) for pickers.
import { createContext, useContext } from "react";
import type { Schemas } from "../../api/client";
import type { JourneyDocument, StepType } from "../doc";
import type { Path } from "../json";
import type { At } from "../ops";

/**
 * Sets the value at `path` in the document (undefined removes it). Edits with the same `merge`
 * key in a row are one undo step (typing in one field).
 */
export type Edit = (path: Path, value: unknown, merge?: string) => void;

export interface EditorApi {
  doc: JourneyDocument;
  edit: Edit;
  /** Replaces the whole document (an operation of ops.ts), as one undo step. */
  apply: (doc: JourneyDocument) => void;
  /** Adds a new step of `type` at `at` and opens its form. */
  addAt: (at: At, type: StepType) => void;
  select: (id: string | null) => void;
  names: Schemas["Names"];
  templates: Schemas["TemplateView"][] | undefined;
  /** Loads the templates again (after one was created elsewhere). */
  reloadTemplates: () => void;
  /** The segments (the segment entry's and conditions' pickers); undefined until loaded, or when they could not be. */
  segments?: readonly Schemas["SegmentRef"][];
}

export const EditorContext = createContext<EditorApi | null>(null);

export function useEditor(): EditorApi {
  const api = useContext(EditorContext);
  if (!api) throw new Error("useEditor outside the editor");
  return api;
}

export const NO_NAMES: Schemas["Names"] = { events: [], traits: [], properties: {}, template_variables: [] };

type Names = Schemas["Names"];

const unions = new WeakMap<Names, readonly string[]>();

/** Every property path of every event the data has shown, sorted, once (computed once per answer). */
function allPaths(names: Names): readonly string[] {
  let all = unions.get(names);
  if (!all) {
    all = [...new Set(Object.values(names.properties).flat())].sort();
    unions.set(names, all);
  }
  return all;
}

/**
 * The property paths to suggest where a condition reads the properties of `event`: the paths the
 * data has shown for that event (none for an event seen without properties); where the event is
 * unknown (none named, or one the data has not shown), every event's paths.
 */
export function propertyPaths(names: Names, event: string | undefined): readonly string[] {
  if (event !== undefined && event !== "") {
    const paths = names.properties[event];
    if (paths) return paths;
    if (names.events.includes(event)) return [];
  }
  return allPaths(names);
}

/**
 * What the condition builder reads (names for suggestions, the segments to pick from) and what
 * its place allows. The journey editor's comes from its context; a segment's page gives its own.
 */
export interface ConditionApi {
  names: Schemas["Names"];
  /** The event that starts a run (`event.` references suggest its paths); undefined where none. */
  entryEvent?: string;
  /** The segments a membership condition picks from; undefined until loaded. */
  segments?: readonly Schemas["SegmentRef"][];
  /** A segment not to offer (the one being edited: it cannot test itself). */
  self?: string;
  /** Comparisons may be with references (`ref`: the run's event, its variables, traits): not in a segment. */
  refs: boolean;
  /** History windows may be "since the run entered": not in a segment, which has no run. */
  sinceEntry: boolean;
}

export const ConditionContext = createContext<ConditionApi | null>(null);

/** The condition builder's context: its own (a segment's page), else the journey editor's. */
export function useConditionApi(): ConditionApi {
  const own = useContext(ConditionContext);
  const editor = useContext(EditorContext);
  if (own) return own;
  if (!editor) throw new Error("the condition builder outside the editor and without a ConditionContext");
  return { names: editor.names, entryEvent: entryEvent(editor.doc), segments: editor.segments, refs: true, sinceEntry: true };
}

/**
 * The event whose properties a `property` condition reads here (an entry's or a wait_for path's
 * event, a history's event for its `where`): undefined where it is not known.
 */
export const PropertyEvent = createContext<string | undefined>(undefined);

/** The event that starts a run (what `event.` references and a branch's `property` read): the entry's, if it is an event. */
export function entryEvent(doc: JourneyDocument): string | undefined {
  const entry: unknown = doc.entry;
  if (typeof entry !== "object" || entry === null) return undefined;
  const event = (entry as Record<string, unknown>).event;
  return typeof event === "string" && event !== "" ? event : undefined;
}
