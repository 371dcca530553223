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
}

export const EditorContext = createContext<EditorApi | null>(null);

export function useEditor(): EditorApi {
  const api = useContext(EditorContext);
  if (!api) throw new Error("useEditor outside the editor");
  return api;
}

export const NO_NAMES: Schemas["Names"] = { events: [], traits: [], template_variables: [] };
