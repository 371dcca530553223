// Positions for a journey graph, top to bottom, the entry pinned at the origin so that edits
// below it do not make the graph jump. Computed every time, never stored.
//
// A layered tree layout, in time linear in the size of the graph (a 200-step journey lays out
// in a few milliseconds, where dagre took over a hundred): a depth-first walk from the entry,
// following each node's outputs in the order of the document, gives the tree; each node's
// rank is its longest distance from the entry (loops excluded), so every way forward goes
// down; an edge that skips ranks runs through a column of its own; each subtree takes the
// width it needs and a parent sits over its children. Outputs are therefore left to right in
// the document's order, and a step appended at the end moves no other card.
import { ENTRY_ID, type GraphEdge, type JourneyGraph } from "./graph";

export const NODE_WIDTH = 264;
export const NODE_HEIGHT = 128;

/** Room an edge label takes: its text at about 7 px a character, in a 20 px high pill. */
const LABEL_CHAR_WIDTH = 7;
const LABEL_PADDING = 16;

/** Between two subtrees side by side. */
const NODE_SEP = 48;
/** Between ranks: less where no label has to fit. */
const RANK_GAP = 48;
const LABELLED_RANK_GAP = 88;
/** The width a column of an edge skipping ranks takes. */
const LANE_WIDTH = 24;
/** How far a loop from a step to itself reaches out of the step's right side, beside its label. */
const LOOP_HALF_HEIGHT = 24;
/** Loops back to an earlier step run up on the right, this far apart. */
const BACK_LANE = 20;

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

const labelWidth = (label: string) => label.length * LABEL_CHAR_WIDTH + LABEL_PADDING;

function boundsOf(nodes: NodeBox[], points: Point[]): NodeBox {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const n of nodes) {
    x0 = Math.min(x0, n.x);
    y0 = Math.min(y0, n.y);
    x1 = Math.max(x1, n.x + n.width);
    y1 = Math.max(y1, n.y + n.height);
  }
  for (const p of points) {
    x0 = Math.min(x0, p.x);
    y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x);
    y1 = Math.max(y1, p.y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** A node of the layout tree: a card, or one rank of an edge that skips ranks. */
interface Item {
  /** A node id, or "lane:<edge id>:<rank>". */
  key: string;
  rank: number;
  width: number;
  children: Item[];
  /** Filled in: the width of the subtree, the centre x. */
  span: number;
  x: number;
}

export function layout(graph: JourneyGraph): Layout {
  const ids = graph.nodes.map((n) => n.id);
  const outs = new Map<string, GraphEdge[]>(ids.map((id) => [id, []]));
  for (const e of graph.edges) outs.get(e.source)?.push(e);

  // 1. A depth-first walk from the entry (then from anything it does not reach, in the
  //    document's order): tree edges, and loops (edges back to a node on the walk's path).
  const kind = new Map<string, "tree" | "back" | "cross" | "self">();
  const visited = new Set<string>();
  const roots: string[] = [];
  for (const root of [ENTRY_ID, ...ids]) {
    if (visited.has(root)) continue;
    roots.push(root);
    visited.add(root);
    const onPath = new Set<string>([root]);
    const stack: { id: string; next: number }[] = [{ id: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const edges = outs.get(top.id) ?? [];
      if (top.next >= edges.length) {
        onPath.delete(top.id);
        stack.pop();
        continue;
      }
      const e = edges[top.next++];
      if (e.target === e.source) kind.set(e.id, "self");
      else if (onPath.has(e.target)) kind.set(e.id, "back");
      else if (visited.has(e.target)) kind.set(e.id, "cross");
      else {
        kind.set(e.id, "tree");
        visited.add(e.target);
        onPath.add(e.target);
        stack.push({ id: e.target, next: 0 });
      }
    }
  }

  // 2. Ranks: the longest way from a root over the edges that go forward (a topological order
  //    of the graph without its loops). Anything but the entry is at least on rank 1.
  const forward = graph.edges.filter((e) => kind.get(e.id) === "tree" || kind.get(e.id) === "cross");
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const e of forward) indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1);
  const rank = new Map<string, number>(ids.map((id) => [id, id === ENTRY_ID ? 0 : 1]));
  const ready = ids.filter((id) => indegree.get(id) === 0);
  for (let i = 0; i < ready.length; i++) {
    const v = ready[i];
    for (const e of outs.get(v) ?? []) {
      const k = kind.get(e.id);
      if (k !== "tree" && k !== "cross") continue;
      rank.set(e.target, Math.max(rank.get(e.target) ?? 0, (rank.get(v) ?? 0) + 1));
      const left = (indegree.get(e.target) ?? 0) - 1;
      indegree.set(e.target, left);
      if (left === 0) ready.push(e.target);
    }
  }

  // 3. The layout tree: cards, and a lane item for each rank a tree edge skips.
  const items = new Map<string, Item>();
  const item = (key: string, r: number, width: number): Item => {
    const it: Item = { key, rank: r, width, children: [], span: 0, x: 0 };
    items.set(key, it);
    return it;
  };
  for (const id of ids) item(id, rank.get(id) ?? 0, NODE_WIDTH);
  /** The item right below each tree edge's source: where its label goes. */
  const firstHop = new Map<string, Item>();
  for (const id of ids) {
    const parent = items.get(id) as Item;
    for (const e of outs.get(id) ?? []) {
      if (kind.get(e.id) !== "tree") continue;
      const target = items.get(e.target) as Item;
      let at = parent;
      for (let r = parent.rank + 1; r < target.rank; r++) {
        const lane = item(`lane:${e.id}:${r}`, r, r === parent.rank + 1 && e.label !== undefined ? labelWidth(e.label) : LANE_WIDTH);
        at.children.push(lane);
        at = lane;
      }
      at.children.push(target);
      const hop = parent.children[parent.children.length - 1];
      firstHop.set(e.id, hop);
      if (e.label !== undefined && hop === target) target.width = Math.max(target.width, labelWidth(e.label));
    }
  }

  // 4. Widths bottom up, then x top down: each subtree takes its own band.
  const spanOf = (it: Item): number => {
    // Iterative post-order: journeys can be deep.
    const order: Item[] = [];
    const stack = [it];
    while (stack.length > 0) {
      const n = stack.pop() as Item;
      order.push(n);
      stack.push(...n.children);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i];
      const children = n.children.reduce((w, c) => w + c.span, 0) + NODE_SEP * Math.max(0, n.children.length - 1);
      n.span = Math.max(n.width, children);
    }
    return it.span;
  };
  const place = (it: Item, left: number) => {
    const stack: [Item, number][] = [[it, left]];
    const placed: Item[] = [];
    while (stack.length > 0) {
      const [n, l] = stack.pop() as [Item, number];
      placed.push(n);
      const total = n.children.reduce((w, c) => w + c.span, 0) + NODE_SEP * Math.max(0, n.children.length - 1);
      let cursor = l + (n.span - total) / 2;
      for (const c of n.children) {
        stack.push([c, cursor]);
        cursor += c.span + NODE_SEP;
      }
      n.x = l + n.span / 2;
    }
    // A parent sits over its children: between the first and the last.
    for (let i = placed.length - 1; i >= 0; i--) {
      const n = placed[i];
      if (n.children.length > 0) n.x = (n.children[0].x + n.children[n.children.length - 1].x) / 2;
    }
  };
  let left = 0;
  for (const root of roots) {
    const it = items.get(root) as Item;
    spanOf(it);
    place(it, left);
    left += it.span + NODE_SEP;
  }

  // 5. y by rank: a taller gap below a rank that has labels to show.
  const maxRank = Math.max(0, ...[...items.values()].map((i) => i.rank));
  const labelled = new Set<number>();
  for (const e of graph.edges) {
    const k = kind.get(e.id);
    if (e.label !== undefined && k !== "self") labelled.add(items.get(e.source)?.rank ?? 0);
  }
  const top: number[] = [0];
  for (let r = 1; r <= maxRank + 1; r++) top[r] = top[r - 1] + NODE_HEIGHT + (labelled.has(r - 1) ? LABELLED_RANK_GAP : RANK_GAP);
  const gapMid = (r: number) => top[r] + NODE_HEIGHT + (top[r + 1] - top[r] - NODE_HEIGHT) / 2;

  // The entry's centre is x = 0.
  const shift = (items.get(ENTRY_ID) as Item).x;
  const cx = (it: Item) => Math.round(it.x - shift);
  const nodes: Record<string, NodeBox> = {};
  for (const id of ids) {
    const it = items.get(id) as Item;
    nodes[id] = { x: cx(it) - NODE_WIDTH / 2, y: top[it.rank], width: NODE_WIDTH, height: NODE_HEIGHT };
  }

  // 6. Routes. Every way out leaves from the bottom of its card, bends (or shows its label)
  //    halfway down the gap below, at an x in the order of the outputs, and comes in at the
  //    top of its target; loops back run up on the right side and come in from the right.
  const edges: Record<string, EdgeRoute> = {};
  const rightOf = new Map<number, number>();
  for (const it of items.values()) rightOf.set(it.rank, Math.max(rightOf.get(it.rank) ?? -Infinity, cx(it) + it.width / 2));
  let backLanes = 0;
  for (const id of ids) {
    const box = nodes[id];
    const source = items.get(id) as Item;
    const bottom = { x: box.x + box.width / 2, y: box.y + box.height };
    const list = outs.get(id) ?? [];
    // Where each output crosses the gap below its card: tree edges over their first item,
    // the others in between, in the order of the outputs.
    const slots: (number | undefined)[] = list.map((e) => (kind.get(e.id) === "tree" ? cx(firstHop.get(e.id) as Item) : undefined));
    // Runs of outputs without a slot share the room between their neighbours (or beside them).
    const half = NODE_WIDTH / 2 + NODE_SEP / 2;
    for (let i = 0; i < list.length; ) {
      if (slots[i] !== undefined || kind.get(list[i].id) === "self") {
        i++;
        continue;
      }
      let j = i;
      while (j < list.length && slots[j] === undefined && kind.get(list[j].id) !== "self") j++;
      const before = slots.slice(0, i).filter((x) => x !== undefined).pop();
      const after = slots.slice(j).find((x) => x !== undefined);
      const n = j - i;
      for (let m = 0; m < n; m++) {
        if (before !== undefined && after !== undefined) slots[i + m] = before + ((after - before) * (m + 1)) / (n + 1);
        else if (before !== undefined) slots[i + m] = before + half * (m + 1);
        else if (after !== undefined) slots[i + m] = after - half * (n - m);
        else slots[i + m] = bottom.x + half * (m - (n - 1) / 2);
      }
      i = j;
    }
    list.forEach((e, i) => {
      const k = kind.get(e.id);
      const target = nodes[e.target];
      if (k === "self") {
        const c = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
        const side = box.x + box.width;
        const reach = side + (e.label !== undefined ? labelWidth(e.label) / 2 + 16 : LOOP_HALF_HEIGHT);
        const [low, high] = [c.y + LOOP_HALF_HEIGHT, c.y - LOOP_HALF_HEIGHT];
        edges[e.id] = {
          points: [
            { x: side, y: low },
            { x: reach, y: low },
            { x: reach, y: high },
            { x: side, y: high },
          ],
          ...(e.label !== undefined ? { label: { x: reach, y: c.y } } : {}),
        };
        return;
      }
      const slot = { x: Math.round(slots[i] as number), y: gapMid(source.rank) };
      const label = e.label !== undefined ? { ...slot } : undefined;
      // Down from the card, across to its slot (where the label is), then on.
      const points: Point[] = [bottom, { x: bottom.x, y: slot.y }, slot];
      if (k === "back") {
        // Up on the right of every card in between, into the target's right side.
        const targetRank = items.get(e.target)?.rank ?? 0;
        let lane = -Infinity;
        for (let r = targetRank; r <= source.rank; r++) lane = Math.max(lane, rightOf.get(r) ?? -Infinity);
        lane += NODE_SEP / 2 + BACK_LANE * backLanes++;
        const y = target.y + target.height / 2;
        points.push({ x: lane, y: slot.y }, { x: lane, y }, { x: target.x + target.width, y });
      } else {
        if (k === "tree") {
          // Down its lane, through each rank it skips.
          const targetRank = items.get(e.target)?.rank ?? 0;
          for (let r = source.rank + 1; r < targetRank; r++) {
            const lane = items.get(`lane:${e.id}:${r}`) as Item;
            points.push({ x: cx(lane), y: top[r] }, { x: cx(lane), y: gapMid(r) });
          }
        }
        const targetRank = items.get(e.target)?.rank ?? 0;
        if (k === "cross" && targetRank > source.rank + 1) {
          // Down beside the cards in between (its slot is beside its siblings), across above the target.
          points.push({ x: slot.x, y: gapMid(targetRank - 1) });
        }
        // Across to the target's centre, then down into it.
        const tx = target.x + target.width / 2;
        const last = points[points.length - 1];
        if (last.x !== tx) points.push({ x: tx, y: last.y });
        points.push({ x: tx, y: target.y });
      }
      edges[e.id] = { points: dedupe(points), ...(label ? { label } : {}) };
    });
  }

  const points = Object.values(edges).flatMap((e) => (e.label ? [...e.points, e.label] : e.points));
  return { nodes, edges, bounds: boundsOf(Object.values(nodes), points) };
}

/** The points without repeats in a row (a straight edge has just its two ends). */
function dedupe(points: Point[]): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (!last || last.x !== p.x || last.y !== p.y) out.push(p);
  }
  // Points on one vertical line with the ones around them add nothing.
  return out.filter((p, i) => i === 0 || i === out.length - 1 || !(out[i - 1].x === p.x && out[i + 1].x === p.x));
}
