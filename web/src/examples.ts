// The example journeys of the repository (examples/*.json), bundled for the empty states.
import type { JourneyDocument } from "./journey/doc";
import { readDocument } from "./journey/read";

const files = import.meta.glob<unknown>("../../examples/*.json", { eager: true, import: "default" });

export interface Example {
  /** The file name, e.g. "consultation.json". */
  file: string;
  doc: JourneyDocument;
}

export const EXAMPLES: Example[] = Object.keys(files)
  .sort()
  .flatMap((path) => {
    const read = readDocument(files[path]);
    return read.ok ? [{ file: path.slice(path.lastIndexOf("/") + 1), doc: read.doc }] : [];
  });
