// A run drawn on its journey: the read-only canvas, with the path the run took highlighted.
// The canvas is not changed for it: the cards and edges it draws carry their ids (`data-id`),
// and a style made for this run picks out those on the path.
import { useMemo } from "react";
import type { JourneyDocument } from "../journey/doc";
import { toGraph } from "../journey/graph";
import { JourneyCanvas } from "../journey/JourneyCanvas";
import { useSegmentNames } from "../segments/segments";

const quoted = (id: string) => `"${id.replace(/["\\]/g, "\\$&")}"`;

/** The edges a run went along: from each node of its path to the next. */
export function pathEdges(doc: JourneyDocument, path: string[]): string[] {
  const graph = toGraph(doc);
  const pairs = new Set(path.slice(1).map((to, i) => `${path[i]}\u0000${to}`));
  return graph.edges.filter((e) => pairs.has(`${e.source}\u0000${e.target}`)).map((e) => e.id);
}

export function pathStyle(doc: JourneyDocument, path: string[], current: string | undefined): string {
  const node = (id: string) => `.run-canvas .react-flow__node[data-id=${quoted(id)}] .card`;
  const edge = (id: string) => `.run-canvas .react-flow__edge[data-id=${quoted(id)}] .react-flow__edge-path`;
  const rules: string[] = [];
  if (path.length > 0) rules.push(`${path.map(node).join(",\n")} { opacity: 1; box-shadow: 0 0 0 3px var(--path); }`);
  const edges = pathEdges(doc, path);
  if (edges.length > 0) rules.push(`${edges.map(edge).join(",\n")} { stroke: var(--path); stroke-width: 3; }`);
  if (current) rules.push(`${node(current)} { box-shadow: 0 0 0 3px var(--path), 0 0 0 7px var(--path-soft); }`);
  return rules.join("\n");
}

export function RunCanvas({ doc, path, current }: { doc: JourneyDocument; path: string[]; current?: string }) {
  const style = useMemo(() => pathStyle(doc, path, current), [doc, path, current]);
  const segmentNames = useSegmentNames();
  return (
    <div className="run-canvas" data-path={path.join(" ")}>
      <style>{style}</style>
      <JourneyCanvas doc={doc} segmentNames={segmentNames} />
    </div>
  );
}
