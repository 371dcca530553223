// Positions for a journey graph: dagre, top to bottom, the entry pinned at the origin so that
// edits below it do not make the graph jump. Computed every time, never stored.
import { Graph, layout as dagreLayout, type EdgeLabel, type GraphLabel, type NodeLabel } from "@dagrejs/dagre";
import { ENTRY_ID, type GraphEdge, type JourneyGraph } from "./graph";

export const NODE_WIDTH = 264;
export const NODE_HEIGHT = 128;

/** Room an edge label takes: its text at about 7 px a character, in a 20 px high pill. */
const LABEL_CHAR_WIDTH = 7;
const LABEL_PADDING = 16;
const LABEL_HEIGHT = 20;

/** How far a loop from a step to itself reaches out of the step's right side, beside its label. */
const LOOP_HALF_HEIGHT = 24;

export interface Point {
  x: number;
  y: number;
}

export interface NodeBox extends Point {
  width: number;
  height: number;
}

export interface EdgeRoute {
  /** From the source's border to the target's border. */
  points: Point[];
  /** Where the label's centre goes, for a labelled edge. */
  label?: Point;
}

export interface Layout {
  /** Top-left corner and size of each node, by id; the entry's top centre is (0, 0). */
  nodes: Record<string, NodeBox>;
  edges: Record<string, EdgeRoute>;
  /** The box around every node and edge. */
  bounds: NodeBox;
}

function boundsOf(nodes: NodeBox[], points: Point[]): NodeBox {
  const xs = [...nodes.flatMap((n) => [n.x, n.x + n.width]), ...points.map((p) => p.x)];
  const ys = [...nodes.flatMap((n) => [n.y, n.y + n.height]), ...points.map((p) => p.y)];
  const [x, y] = [Math.min(...xs), Math.min(...ys)];
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** A labelled edge between two steps runs through a node of its own, its label: a port. */
type DagreGraph = Graph<GraphLabel, NodeLabel, EdgeLabel>;

const labelNode = (edge: GraphEdge) => `label:${edge.id}`;
const hasPort = (edge: GraphEdge) => edge.label !== undefined && edge.source !== edge.target;
const labelSize = (label: string) => ({ width: label.length * LABEL_CHAR_WIDTH + LABEL_PADDING, height: LABEL_HEIGHT });

/**
 * Builds the dagre graph. Labels are nodes placed just below their source (the edge into them
 * weighs more), like ports.
 */
function dagreGraph(graph: JourneyGraph): DagreGraph {
  const g: DagreGraph = new Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 48, ranksep: 40, edgesep: 24 });
  for (const node of graph.nodes) g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.edges) {
    if (!hasPort(edge)) {
      // A loop to the same step: dagre keeps room for its label beside the step.
      const room = edge.label !== undefined ? { ...labelSize(edge.label), labelpos: "c" as const } : {};
      g.setEdge(edge.source, edge.target, room, edge.id);
      continue;
    }
    const port = labelNode(edge);
    g.setNode(port, labelSize(edge.label ?? ""));
    g.setEdge(edge.source, port, { weight: 4 }, edge.id);
    g.setEdge(port, edge.target, { weight: 1 }, edge.id);
  }
  return g;
}

/**
 * The left-to-right order of each rank, in place of dagre's crossing reduction: nodes in the
 * order a depth-first walk from the entry meets them, following each node's outputs in the
 * order of the document (branch cases then else, wait_for events then the timeout, split
 * paths). Outputs then sit in that order, and a step appended at the end changes no earlier
 * node's place.
 */
function documentOrder(graph: JourneyGraph): (layered: DagreGraph) => void {
  const rank = new Map(graph.edges.map((e, i) => [e.id, i]));
  const outputRank = (name: string | undefined) => (name === undefined ? Infinity : (rank.get(name) ?? Infinity));
  return (layered) => {
    const seen = new Set<string>();
    const found: string[] = [];
    const walk = (root: string) => {
      const stack = [root];
      while (stack.length > 0) {
        const v = stack.pop() as string;
        if (seen.has(v)) continue;
        seen.add(v);
        found.push(v);
        const outs = [...(layered.outEdges(v) ?? [])].sort((a, b) => outputRank(a.name) - outputRank(b.name));
        for (const e of outs.reverse()) stack.push(e.w);
      }
    };
    walk(ENTRY_ID);
    layered.nodes().forEach(walk);
    const filled = new Map<number, number>();
    for (const v of found) {
      const node = layered.node(v);
      const r = node.rank ?? 0;
      node.order = filled.get(r) ?? 0;
      filled.set(r, node.order + 1);
    }
  };
}

const round = (p: Point): Point => ({ x: Math.round(p.x), y: Math.round(p.y) });

export function layout(graph: JourneyGraph): Layout {
  const g = dagreGraph(graph);
  dagreLayout(g, { customOrder: documentOrder(graph) });

  const entry = g.node(ENTRY_ID);
  const origin = { x: entry.x ?? 0, y: (entry.y ?? 0) - NODE_HEIGHT / 2 };
  const shift = (p: Point): Point => round({ x: p.x - origin.x, y: p.y - origin.y });
  const center = (id: string): Point => ({ x: g.node(id).x ?? 0, y: g.node(id).y ?? 0 });

  const nodes: Record<string, NodeBox> = {};
  for (const node of graph.nodes) {
    const c = center(node.id);
    nodes[node.id] = { ...shift({ x: c.x - NODE_WIDTH / 2, y: c.y - NODE_HEIGHT / 2 }), width: NODE_WIDTH, height: NODE_HEIGHT };
  }

  const edges: Record<string, EdgeRoute> = {};
  for (const edge of graph.edges) {
    if (hasPort(edge)) {
      const port = labelNode(edge);
      const into = g.edge(edge.source, port, edge.id).points ?? [];
      const out = g.edge(port, edge.target, edge.id).points ?? [];
      const label = center(port);
      edges[edge.id] = { points: [...into.slice(0, -1), label, ...out.slice(1)].map(shift), label: shift(label) };
    } else if (edge.source === edge.target) {
      // Out of the step's right side, round its label and back in, above.
      const c = center(edge.source);
      const side = c.x + NODE_WIDTH / 2;
      const reach = g.edge(edge.source, edge.target, edge.id).x ?? side + LOOP_HALF_HEIGHT;
      const [low, high] = [c.y + LOOP_HALF_HEIGHT, c.y - LOOP_HALF_HEIGHT];
      const points = [
        { x: side, y: low },
        { x: reach, y: low },
        { x: reach, y: high },
        { x: side, y: high },
      ];
      edges[edge.id] = { points: points.map(shift), ...(edge.label !== undefined ? { label: shift({ x: reach, y: c.y }) } : {}) };
    } else {
      edges[edge.id] = { points: (g.edge(edge.source, edge.target, edge.id).points ?? []).map(shift) };
    }
  }
  const points = Object.values(edges).flatMap((e) => (e.label ? [...e.points, e.label] : e.points));
  return { nodes, edges, bounds: boundsOf(Object.values(nodes), points) };
}
