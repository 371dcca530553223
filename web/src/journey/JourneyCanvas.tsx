// The journey canvas: the document drawn top to bottom. Everything it shows is computed from
// the document (positions included), so the editor only changes the document and draws again.
// Read-only unless given `editing`: then the selected card shows its outputs (drag one onto a
// step to connect it, "+" to add a step there), edges have a "+" to insert a step, and step
// types dropped from the palette land where they are dropped.
import {
  Background,
  ControlButton,
  Controls,
  getViewportForBounds,
  MarkerType,
  Panel,
  Position,
  ReactFlow,
  useReactFlow,
  useStore,
  type Connection,
  type NodeChange,
  type NodeHandle,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { memo, useEffect, useLayoutEffect, useMemo, useRef, type DragEvent } from "react";
import "./canvas.css";
import type { NodeCounts } from "./counts";
import { describe, type SegmentNames } from "./describe";
import { placeDiagnostics, type CanvasDiagnostic } from "./diagnostics";
import type { JourneyDocument, StepType } from "./doc";
import { quietHoursText } from "./facts";
import { ENTRY_ID, toGraph, type GraphEdge, type GraphNode, type JourneyGraph } from "./graph";
import { JourneyEdge, type RouteEdge } from "./JourneyEdge";
import { JourneyOverview } from "./JourneyOverview";
import { layout, NODE_HEIGHT, NODE_WIDTH, type Layout, type NodeBox } from "./layout";
import { CardActions, NodeCard, type CardNode, type CardOutput, type DiffMark } from "./NodeCard";
import { slots, type At } from "./ops";
import { initialViewport } from "./viewport";

/** What an editable canvas calls back. */
export interface CanvasEditing {
  /** Output `output` of `source` now leads to `target`. */
  connect: (source: string, output: string, target: string) => void;
  /** A new step of `type` at `at` (an edge's "+", an output's "+"). */
  insert: (at: At, type: StepType) => void;
  /** A step type dropped from the palette: on a card (after it), on an edge's "+", or elsewhere (null). */
  drop: (type: StepType, on: { node: string } | At | null) => void;
}

export interface JourneyCanvasProps {
  doc: JourneyDocument;
  /** Counts by node id (the entry's is ENTRY_ID). */
  counts?: Record<string, NodeCounts>;
  /** The counts are a backtest's. */
  simulated?: boolean;
  diagnostics?: CanvasDiagnostic[];
  selected?: ReadonlySet<string>;
  onSelect?: (ids: string[]) => void;
  editing?: CanvasEditing;
  /** Versions compared: how each node differs. */
  marks?: Record<string, DiffMark>;
  /** Brings a node into view when `seq` changes. */
  focus?: { id: string; seq: number };
  /** Called after each drawing of a new document or new diagnostics has been committed. */
  onDrawn?: (doc: JourneyDocument, diagnostics: CanvasDiagnostic[] | undefined) => void;
  /** Segment id → name: cards say "Enters segment No order in 30 days" (else the id). */
  segmentNames?: SegmentNames;
}

/** From this many nodes on, only the cards in view are drawn. */
const LARGE = 80;

/** The MIME type of a step type dragged from the palette. */
export const DRAG_TYPE = "application/x-wayfarer-step";

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

/**
 * Fits the whole journey in view. (React Flow's own fit view waits for the nodes to be passed
 * again after a change it proposes; the canvas's nodes come from the document, so it never
 * would: the bounds are known here anyway.)
 */
function FitView({ bounds }: { bounds: NodeBox }) {
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  const { setViewport } = useReactFlow();
  return (
    <ControlButton
      onClick={() => void setViewport(getViewportForBounds(bounds, width, height, 0.1, 1.5, 0.05), { duration: 200 })}
      title="Fit the whole journey in view"
      aria-label="Fit the whole journey in view"
    >
      <svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
        <path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" />
      </svg>
    </ControlButton>
  );
}

/** Scrolls a node into view (keyboard moves, a diagnostic clicked), keeping the zoom. */
function Focus({ focus, positions }: { focus?: { id: string; seq: number }; positions: Layout }) {
  const { getViewport, setCenter } = useReactFlow();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  useEffect(() => {
    if (!focus) return;
    const box = positions.nodes[focus.id];
    if (!box || width === 0) return;
    const { x, y, zoom } = getViewport();
    const [left, top] = [box.x * zoom + x, box.y * zoom + y];
    const inside = left >= 0 && top >= 0 && left + box.width * zoom <= width && top + box.height * zoom <= height;
    if (!inside) void setCenter(box.x + box.width / 2, box.y + box.height / 2, { zoom, duration: 150 });
    // Only a new request moves the view, not a new layout.
  }, [focus?.seq]);
  return null;
}

/**
 * Tells when React Flow has taken the current cards in: its store holds our nodes array, and
 * the cards it renders from it are committed with this component. Also when only the
 * diagnostics changed and no card shows it (`doc` and `diagnostics` are here for that).
 */
function DrawnProbe({ latest, doc, diagnostics }: { latest: { current: { nodes: CardNode[]; onDrawn?: JourneyCanvasProps["onDrawn"] } }; doc: JourneyDocument; diagnostics?: CanvasDiagnostic[] }) {
  const stored = useStore((s) => s.nodes);
  useLayoutEffect(() => {
    const { nodes, onDrawn } = latest.current;
    if (stored === nodes) onDrawn?.(doc, diagnostics);
  }, [stored, doc, diagnostics]);
  return null;
}

/** What a card shows of its diagnostics (their severity and message, not where in the document they are). */
const shownDiagnostics = (ds: CanvasDiagnostic[] | undefined) => (ds ? ds.map((d) => `${d.severity}: ${d.message}`).join("\n") : "");

const NO_SEGMENT_NAMES: SegmentNames = {};

/**
 * A card's text depends on its step (or entry) and the segments' names alone: kept while those
 * objects are (a step moved, not changed).
 */
const described = new WeakMap<SegmentNames, WeakMap<object, { text: string; fullText: string }>>();
function texts(node: GraphNode, source: object, names: SegmentNames): { text: string; fullText: string } {
  let byNames = described.get(names);
  if (!byNames) described.set(names, (byNames = new WeakMap()));
  let t = byNames.get(source);
  if (!t) byNames.set(source, (t = { text: describe(node, undefined, names), fullText: describe(node, Infinity, names) }));
  return t;
}

const title = (node: GraphNode) => (node.kind === "entry" ? "Entry" : node.id);

/** The graph's shape (what the layout depends on): a layout is computed again only when it changes. */
function shapeKey(graph: JourneyGraph): string {
  return JSON.stringify([graph.nodes.map((n) => n.id), graph.edges.map((e) => [e.id, e.target, e.label ?? ""])]);
}

/** Each node's outgoing edges. */
function edgesFrom(graph: JourneyGraph): Map<string, GraphEdge[]> {
  const from = new Map<string, GraphEdge[]>();
  for (const e of graph.edges) {
    const list = from.get(e.source);
    if (list) list.push(e);
    else from.set(e.source, [e]);
  }
  return from;
}

function outputsOf(node: GraphNode, out: GraphEdge[]): CardOutput[] {
  if (node.kind === "entry") return [{ name: "next", label: "first step", open: out.length === 0 }];
  const labels = new Map(out.map((e) => [e.id.slice(node.id.length + 1), e.label]));
  const step = node.step as unknown as Record<string, unknown>;
  return slots(step).map((s) => {
    const n = s.output.match(/^(case|event|path)-(\d+)$/);
    const i = n ? Number(n[2]) - 1 : 0;
    let label = labels.get(s.output) ?? s.output;
    if (!labels.has(s.output)) {
      if (n?.[1] === "case") label = `case ${i + 1}`;
      else if (n?.[1] === "event") label = String((step.events as { event?: string }[])[i]?.event || `event ${i + 1}`);
      else if (n?.[1] === "path") label = String((step.paths as { name?: string }[])[i]?.name || `path ${i + 1}`);
      else if (s.output === "next") label = "then";
    }
    return { name: s.output, label, open: s.target === undefined || s.target === null };
  });
}

/**
 * The canvas, drawn again only when one of its props changes: the editor around it renders on
 * every validator answer, status poll and keystroke in a form.
 */
export const JourneyCanvas = memo(function JourneyCanvas({
  doc,
  counts,
  simulated,
  diagnostics,
  selected,
  onSelect,
  editing,
  marks,
  focus,
  onDrawn,
  segmentNames = NO_SEGMENT_NAMES,
}: JourneyCanvasProps) {
  const graph = useMemo(() => toGraph(doc), [doc]);
  const shape = useMemo(() => shapeKey(graph), [graph]);
  // Typing in a form changes the document, rarely its shape: keep the positions then.
  const positions = useMemo(() => layout(graph), [shape]);
  const placed = useMemo(() => placeDiagnostics(graph, diagnostics ?? []), [graph, diagnostics]);
  // Quiet hours apply to every send: its card says so.
  const quiet = doc.quiet_hours ? quietHoursText(doc.quiet_hours) : undefined;
  const cache = useRef(new Map<string, { key: unknown[]; node: CardNode }>());
  const previousList = useRef<CardNode[]>(undefined);

  const nodes = useMemo((): CardNode[] => {
    const from = edgesFrom(graph);
    const next = new Map<string, { key: unknown[]; node: CardNode }>();
    const list = graph.nodes.map((node) => {
      const box = positions.nodes[node.id];
      const isSelected = selected?.has(node.id) ?? false;
      const nodeCounts = counts?.[node.id];
      const entries = counts?.[ENTRY_ID]?.entered;
      const diags = placed.byNode[node.id];
      const mark = marks?.[node.id];
      const source = node.kind === "entry" ? node.entry : node.step;
      // The same inputs give the same node object: React Flow then leaves its card alone.
      // The entry's outputs depend on whether there is a first step; a step's, on the step only.
      const out = from.get(node.id) ?? [];
      const firstStep = node.kind === "entry" ? out.length > 0 : null;
      const quietHere = node.kind === "send" ? quiet : undefined;
      const key = [source, node.endings.join("\n"), box.x, box.y, isSelected, nodeCounts, entries, simulated, shownDiagnostics(diags), mark, !!editing, firstStep, quietHere, segmentNames];
      const old = cache.current.get(node.id);
      if (old && old.key.every((k, i) => k === key[i])) {
        next.set(node.id, old);
        return old.node;
      }
      const { text, fullText } = texts(node, source, segmentNames);
      const card: CardNode = {
        id: node.id,
        type: "card",
        position: { x: box.x, y: box.y },
        width: box.width,
        height: box.height,
        handles: HANDLES,
        draggable: false,
        connectable: !!editing,
        selected: isSelected,
        ariaLabel: `${title(node)}: ${fullText}${quietHere ? ` (quiet hours ${quietHere})` : ""}`,
        data: {
          node,
          title: title(node),
          text,
          fullText,
          counts: nodeCounts,
          entries,
          simulated,
          diagnostics: diags ?? [],
          mark,
          quiet: quietHere,
          outputs: editing ? outputsOf(node, out) : undefined,
        },
      };
      next.set(node.id, { key, node: card });
      return card;
    });
    // Nothing changed on any card (the diagnostics moved with the steps, say): the same array,
    // so React Flow has nothing to take in either.
    const previous = list.length === cache.current.size && [...cache.current.values()];
    const same = previous && list.every((n, i) => previous[i].node === n);
    cache.current = next;
    return same && previousList.current ? previousList.current : (previousList.current = list);
  }, [graph, positions, counts, placed, selected, simulated, marks, editing, quiet, segmentNames]);

  const edges = useMemo(
    (): RouteEdge[] =>
      graph.edges.map((edge) => ({
        id: edge.id,
        type: "route",
        source: edge.source,
        target: edge.target,
        selectable: false,
        className: `edge-${edge.kind}${edge.back ? " edge-back" : ""}`,
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18, color: edge.kind === "failed" ? "var(--danger)" : "var(--edge)" },
        ariaLabel: `${edge.label ?? "then"}: from ${edge.source === ENTRY_ID ? "the entry" : edge.source} to ${edge.target}`,
        data: { edge, route: positions.edges[edge.id] },
      })),
    [graph, positions],
  );

  // What the cards now being drawn show, for onDrawn.
  const latest = useRef({ nodes, onDrawn });
  latest.current = { nodes, onDrawn };

  const onNodesChange = (changes: NodeChange<CardNode>[]) => {
    if (!onSelect) return;
    const picks = changes.filter((c) => c.type === "select");
    if (picks.length === 0) return;
    const next = new Set(selected);
    for (const c of picks) {
      if (c.type !== "select") continue;
      if (c.selected) next.add(c.id);
      else next.delete(c.id);
    }
    onSelect([...next]);
  };

  const onConnect = (c: Connection) => {
    if (editing && c.source && c.target && c.target !== ENTRY_ID) editing.connect(c.source, c.sourceHandle ?? "next", c.target);
  };

  const onDragOver = (e: DragEvent) => {
    if (editing && e.dataTransfer.types.includes(DRAG_TYPE)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    }
  };
  const onDrop = (e: DragEvent) => {
    if (!editing) return;
    const type = e.dataTransfer.getData(DRAG_TYPE) as StepType;
    if (!type) return;
    e.preventDefault();
    const target = e.target instanceof Element ? e.target : null;
    const plus = target?.closest<HTMLElement>(".edge-plus");
    const card = target?.closest<HTMLElement>(".react-flow__node");
    if (plus?.dataset.source && plus.dataset.output) editing.drop(type, { source: plus.dataset.source, output: plus.dataset.output });
    else if (card?.dataset.id) editing.drop(type, { node: card.dataset.id });
    else editing.drop(type, null);
  };

  const actions = useMemo(() => (editing ? { insert: editing.insert } : null), [editing]);

  return (
    <div className={`canvas${editing ? " canvas-editing" : ""}${simulated ? " canvas-simulated" : ""}`} data-testid="journey-canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <CardActions.Provider value={actions}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          nodesDraggable={false}
          nodesConnectable={!!editing}
          elementsSelectable={!!onSelect}
          onNodesChange={onNodesChange}
          onPaneClick={onSelect ? () => onSelect([]) : undefined}
          onConnect={onConnect}
          connectionRadius={48}
          deleteKeyCode={null}
          selectionKeyCode={null}
          multiSelectionKeyCode={["Meta", "Control", "Shift"]}
          panOnScroll
          // Large journeys draw only the cards in view: an edit then redraws tens of cards, not hundreds.
          onlyRenderVisibleElements={graph.nodes.length > LARGE}
          minZoom={0.1}
          maxZoom={1.5}
        >
          <InitialView bounds={positions.bounds} />
          <DrawnProbe latest={latest} doc={doc} diagnostics={diagnostics} />
          <Focus focus={focus} positions={positions} />
          <Background gap={16} />
          <Controls showInteractive={false} showFitView={false}>
            <FitView bounds={positions.bounds} />
          </Controls>
          {editing ? (
            // While editing, the side panel holds these: folded in a corner, out of the cards' way.
            <Panel position="bottom-right" className="overview-corner">
              <details className="overview-fold">
                <summary>Goal, exits, rules{placed.journey.length > 0 ? ` · ${placed.journey.length} problem${placed.journey.length > 1 ? "s" : ""}` : ""}</summary>
                <JourneyOverview doc={doc} diagnostics={placed.journey} />
              </details>
            </Panel>
          ) : (
            <Panel position="top-left">
              <JourneyOverview doc={doc} diagnostics={placed.journey} />
            </Panel>
          )}
        </ReactFlow>
      </CardActions.Provider>
    </div>
  );
});
