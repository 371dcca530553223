// Where each validator diagnostic shows on the canvas: on its step, on the entry, or on the
// journey as a whole (goal, exits, id, name...); and in a form, at the field it is about.
import { ENTRY_ID, type JourneyGraph } from "./graph";

/** A diagnostic as POST /api/journeys/validate reports it. */
export interface CanvasDiagnostic {
  node?: string;
  /** A JSON pointer into the document. */
  path: string;
  code: string;
  severity: "error" | "warning";
  message: string;
}

export interface PlacedDiagnostics {
  byNode: Record<string, CanvasDiagnostic[]>;
  journey: CanvasDiagnostic[];
}

export function placeDiagnostics(graph: JourneyGraph, diagnostics: CanvasDiagnostic[]): PlacedDiagnostics {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const placed: PlacedDiagnostics = { byNode: {}, journey: [] };
  for (const d of diagnostics) {
    const node = d.node !== undefined && ids.has(d.node) ? d.node : d.path === "/entry" || d.path.startsWith("/entry/") ? ENTRY_ID : undefined;
    if (node === undefined) placed.journey.push(d);
    else (placed.byNode[node] ??= []).push(d);
  }
  return placed;
}

/** The diagnostics about the value at `path` (a JSON pointer) or inside it: what its field shows. */
export function diagnosticsAt(diagnostics: readonly CanvasDiagnostic[] | undefined, path: string): CanvasDiagnostic[] {
  return (diagnostics ?? []).filter((d) => d.path === path || d.path.startsWith(`${path}/`));
}
