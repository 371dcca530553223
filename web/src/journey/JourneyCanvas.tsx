// The journey canvas: the document drawn top to bottom, read-only for now. Everything it shows
// is computed from the document (positions included), so an editor only has to change the
// document and draw again.
import { Background, Controls, MarkerType, Panel, Position, ReactFlow, useReactFlow, useStore, type NodeHandle } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useRef } from "react";
import "./canvas.css";
import type { NodeCounts } from "./counts";
import { describe } from "./describe";
import { placeDiagnostics, type CanvasDiagnostic } from "./diagnostics";
import type { JourneyDocument } from "./doc";
import { ENTRY_ID, toGraph, type GraphNode } from "./graph";
import { JourneyEdge, type RouteEdge } from "./JourneyEdge";
import { JourneyOverview } from "./JourneyOverview";
import { layout, NODE_HEIGHT, NODE_WIDTH, type NodeBox } from "./layout";
import { NodeCard, type CardNode } from "./NodeCard";
import { initialViewport } from "./viewport";

export interface JourneyCanvasProps {
  doc: JourneyDocument;
  /** Counts by node id (the entry's is ENTRY_ID). */
  counts?: Record<string, NodeCounts>;
  diagnostics?: CanvasDiagnostic[];
}

const nodeTypes = { card: NodeCard };
const edgeTypes = { route: JourneyEdge };

/** Where edges meet a card; the routes come from the layout, these only let React Flow draw them. */
const HANDLES: NodeHandle[] = [
  { type: "target", position: Position.Top, x: NODE_WIDTH / 2, y: 0 },
  { type: "source", position: Position.Bottom, x: NODE_WIDTH / 2, y: NODE_HEIGHT },
];

/** Sets the first view once the canvas knows its size; never again, so edits do not move it. */
function InitialView({ bounds }: { bounds: NodeBox }) {
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  const { setViewport } = useReactFlow();
  const done = useRef(false);
  useEffect(() => {
    if (done.current || width === 0 || height === 0) return;
    done.current = true;
    void setViewport(initialViewport(bounds, { width, height }));
  }, [bounds, width, height, setViewport]);
  return null;
}

const title = (node: GraphNode) => (node.kind === "entry" ? "Entry" : node.id);

export function JourneyCanvas({ doc, counts, diagnostics = [] }: JourneyCanvasProps) {
  const graph = useMemo(() => toGraph(doc), [doc]);
  const positions = useMemo(() => layout(graph), [graph]);
  const placed = useMemo(() => placeDiagnostics(graph, diagnostics), [graph, diagnostics]);

  const nodes = useMemo(
    (): CardNode[] =>
      graph.nodes.map((node) => {
        const box = positions.nodes[node.id];
        const text = describe(node);
        const fullText = describe(node, Infinity);
        return {
          id: node.id,
          type: "card",
          position: { x: box.x, y: box.y },
          width: box.width,
          height: box.height,
          handles: HANDLES,
          draggable: false,
          connectable: false,
          ariaLabel: `${title(node)}: ${fullText}`,
          data: {
            node,
            title: title(node),
            text,
            fullText,
            counts: counts?.[node.id],
            entries: counts?.[ENTRY_ID]?.entered,
            diagnostics: placed.byNode[node.id] ?? [],
          },
        };
      }),
    [graph, positions, counts, placed],
  );

  const edges = useMemo(
    (): RouteEdge[] =>
      graph.edges.map((edge) => ({
        id: edge.id,
        type: "route",
        source: edge.source,
        target: edge.target,
        className: `edge-${edge.kind}${edge.back ? " edge-back" : ""}`,
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18, color: edge.kind === "failed" ? "var(--danger)" : "var(--edge)" },
        ariaLabel: `${edge.label ?? "then"}: from ${edge.source === ENTRY_ID ? "the entry" : edge.source} to ${edge.target}`,
        data: { edge, route: positions.edges[edge.id] },
      })),
    [graph, positions],
  );

  return (
    <div className="canvas" data-testid="journey-canvas">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        panOnScroll
        minZoom={0.2}
        maxZoom={1.5}
      >
        <InitialView bounds={positions.bounds} />
        <Background gap={16} />
        <Controls showInteractive={false} />
        <Panel position="top-left">
          <JourneyOverview doc={doc} diagnostics={placed.journey} />
        </Panel>
      </ReactFlow>
    </div>
  );
}
