import { describe as group, expect, test } from "vitest";
import { EXAMPLES } from "../examples";
import type { JourneyDocument, SendStep, Step, UpdateStep, WaitStep, WebhookStep } from "./doc";
import { ENTRY_ID, toGraph, type JourneyGraph } from "./graph";
import { layout, NODE_HEIGHT, NODE_WIDTH, type NodeBox, type Point } from "./layout";

const overlap = (a: NodeBox, b: NodeBox) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const near = (p: Point, box: NodeBox) => p.x >= box.x - 1 && p.x <= box.x + box.width + 1 && p.y >= box.y - 1 && p.y <= box.y + box.height + 1;

/** The document with a step appended at the end, after the last step whose run ends there. */
function appended(doc: JourneyDocument): JourneyDocument {
  const steps: Step[] = structuredClone(doc.steps);
  const ending = (s: Step): s is SendStep | WaitStep | UpdateStep | WebhookStep =>
    (s.type === "send" || s.type === "wait" || s.type === "update" || s.type === "webhook") && !s.next;
  const last = steps.findLast(ending);
  if (last) last.next = "appended";
  steps.push({ id: "appended", type: "send", channel: "email", template: "appended" });
  return { ...doc, steps };
}

/** Ways out of each node, in output order, whose targets share a row: their x must grow. */
function outputsInOrder(graph: JourneyGraph, positions: ReturnType<typeof layout>) {
  for (const node of graph.nodes) {
    const outs = graph.edges.filter((e) => e.source === node.id && e.label !== undefined && e.target !== node.id);
    const labels = outs.map((e) => positions.edges[e.id].label?.x ?? NaN);
    expect(labels, `labels of ${node.id}`).toEqual([...labels].sort((a, b) => a - b));
    for (let i = 1; i < outs.length; i++) {
      const [a, b] = [positions.nodes[outs[i - 1].target], positions.nodes[outs[i].target]];
      if (a.y === b.y && a !== b) expect(a.x, `${outs[i - 1].target} left of ${outs[i].target}`).toBeLessThan(b.x);
    }
  }
}

group.each(EXAMPLES)("layout($file)", ({ doc }) => {
  const graph = toGraph(doc);
  const positions = layout(graph);

  test("the entry is pinned at the top, centred on x = 0; every step is below it", () => {
    expect(positions.nodes[ENTRY_ID]).toEqual({ x: -NODE_WIDTH / 2, y: 0, width: NODE_WIDTH, height: NODE_HEIGHT });
    for (const node of graph.nodes.slice(1)) expect(positions.nodes[node.id].y).toBeGreaterThanOrEqual(NODE_HEIGHT);
  });

  test("the same document always lays out the same", () => {
    expect(layout(toGraph(structuredClone(doc)))).toEqual(positions);
  });

  test("no two cards overlap", () => {
    const boxes = Object.values(positions.nodes);
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => expect(overlap(a, b)).toBe(false)));
  });

  test("every edge runs from its source's card to its target's, labels where there are labels", () => {
    for (const e of graph.edges) {
      const route = positions.edges[e.id];
      expect(route.points.length).toBeGreaterThanOrEqual(2);
      expect(near(route.points[0], positions.nodes[e.source]), `${e.id} starts at ${e.source}`).toBe(true);
      expect(near(route.points[route.points.length - 1], positions.nodes[e.target]), `${e.id} ends at ${e.target}`).toBe(true);
      expect(route.label !== undefined).toBe(e.label !== undefined);
    }
  });

  test("outputs are laid out in the order of the document", () => {
    outputsInOrder(graph, positions);
  });

  test("appending a step at the end moves no existing card", () => {
    const longer = layout(toGraph(appended(doc)));
    for (const node of graph.nodes) expect(longer.nodes[node.id], node.id).toEqual(positions.nodes[node.id]);
    expect(longer.nodes.appended.y).toBeGreaterThan(Math.max(...Object.values(positions.nodes).map((n) => n.y)));
  });

  test("the bounds hold every card", () => {
    const b = positions.bounds;
    for (const n of Object.values(positions.nodes)) {
      expect(n.x >= b.x && n.y >= b.y && n.x + n.width <= b.x + b.width && n.y + n.height <= b.y + b.height).toBe(true);
    }
  });
});

group("layout", () => {
  const loop: JourneyDocument = {
    id: "loop",
    entry: { event: "Signed Up" },
    steps: [
      { id: "check", type: "branch", cases: [{ when: { trait: "done", op: "eq", value: true }, next: "end" }], else: "nudge" },
      { id: "nudge", type: "send", template: "nudge", next: "pause" },
      { id: "pause", type: "wait", duration: "2d", next: "check" },
      { id: "end", type: "exit" },
    ],
  };

  test("a loop back to an earlier step is an edge, and the layout holds: entry on top, cards apart, outputs in order", () => {
    const graph = toGraph(loop);
    const positions = layout(graph);
    const back = graph.edges.find((e) => e.id === "pause/next");
    expect(back?.back).toBe(true);
    expect(positions.edges["pause/next"].points.length).toBeGreaterThanOrEqual(2);
    expect(positions.nodes[ENTRY_ID].y).toBe(0);
    for (const node of graph.nodes.slice(1)) expect(positions.nodes[node.id].y).toBeGreaterThan(0);
    const boxes = Object.values(positions.nodes);
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => expect(overlap(a, b)).toBe(false)));
    outputsInOrder(graph, positions);
  });

  test("a many-way branch keeps its cases left to right, else last", () => {
    const steps: Step[] = [
      {
        id: "tier",
        type: "branch",
        cases: ["gold", "silver", "bronze"].map((t) => ({ when: { trait: "tier", op: "eq" as const, value: t }, next: t })),
        else: "other",
      },
      ...["gold", "silver", "bronze", "other"].map((id): Step => ({ id, type: "send", template: id })),
    ];
    const positions = layout(toGraph({ id: "tiers", entry: { event: "A" }, steps }));
    const xs = ["gold", "silver", "bronze", "other"].map((id) => positions.nodes[id].x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(["gold", "silver", "bronze", "other"].map((id) => positions.nodes[id].y)).size).toBe(1);
  });

  test("an edge that joins a later step runs beside the cards in between, not through them", () => {
    const steps: Step[] = [
      { id: "check", type: "branch", cases: [{ when: { trait: "vip", op: "eq", value: true }, next: "a" }], else: "c" },
      { id: "a", type: "wait", duration: "1d", next: "b" },
      { id: "b", type: "send", template: "b", next: "c" },
      { id: "c", type: "send", template: "c" },
    ];
    const graph = toGraph({ id: "join", entry: { event: "A" }, steps });
    const positions = layout(graph);
    const route = positions.edges["check/else"].points;
    // A segment (horizontal or vertical) crossing a card's inside.
    const crosses = (p: Point, q: Point, box: NodeBox) =>
      Math.max(p.x, q.x) > box.x + 1 && Math.min(p.x, q.x) < box.x + box.width - 1 && Math.max(p.y, q.y) > box.y + 1 && Math.min(p.y, q.y) < box.y + box.height - 1;
    for (const id of ["a", "b"]) {
      route.slice(1).forEach((q, i) => expect(crosses(route[i], q, positions.nodes[id]), `check/else crosses ${id}`).toBe(false));
    }
    expect(near(route[route.length - 1], positions.nodes.c)).toBe(true);
  });
});
