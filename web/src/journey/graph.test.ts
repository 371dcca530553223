import { describe as group, expect, test } from "vitest";
import { EXAMPLES } from "../examples";
import type { JourneyDocument, Step } from "./doc";
import { ENTRY_ID, toGraph, type JourneyGraph } from "./graph";

/** Each edge as "source -> target [label]", in the graph's order. */
const edgeList = (g: JourneyGraph) => g.edges.map((e) => `${e.source} -> ${e.target}${e.label ? ` [${e.label}]` : ""}${e.back ? " (loop)" : ""}`);

const doc = (steps: Step[]): JourneyDocument => ({ id: "t", entry: { event: "Signed Up" }, steps });

const EXPECTED: Record<string, { edges: string[]; endings: Record<string, string[]> }> = {
  "abandoned-cart.json": {
    edges: [
      "(entry) -> first-item",
      "first-item -> idle",
      "idle -> idle [Product Added] (loop)",
      "idle -> remind [timeout 1h]",
      "remind -> a-day",
      "a-day -> remind-again",
    ],
    endings: { "remind-again": [""] },
  },
  "consultation.json": {
    edges: ["(entry) -> invite", "invite -> booked", "booked -> remind [timeout 3d]"],
    endings: { booked: ["Consultation Booked"], remind: [""] },
  },
  "trial-onboarding.json": {
    edges: [
      "(entry) -> welcome",
      "welcome -> day-7",
      "day-7 -> pro-yet",
      "pro-yet -> upgraded [case 1]",
      "pro-yet -> tip [else]",
      "tip -> last-day",
      "last-day -> pro-now",
      "pro-now -> upgraded [case 1]",
      "pro-now -> ending [else]",
    ],
    endings: { ending: [""] },
  },
  "win-back.json": {
    edges: [
      "(entry) -> quiet",
      "quiet -> quiet [Order Completed] (loop)",
      "quiet -> subject [timeout 30d]",
      "subject -> discount [discount 50%]",
      "subject -> miss-you [miss-you 50%]",
      "discount -> coupon",
      "miss-you -> coupon",
      "coupon -> redeem",
    ],
    endings: { redeem: [""] },
  },
};

group.each(EXAMPLES)("toGraph($file)", ({ file, doc: example }) => {
  const graph = toGraph(example);

  test("one node for the entry, first, and one per step, in document order", () => {
    expect(graph.nodes.map((n) => n.id)).toEqual([ENTRY_ID, ...example.steps.map((s) => s.id)]);
    expect(graph.nodes.map((n) => n.kind)).toEqual(["entry", ...example.steps.map((s) => s.type)]);
  });

  test("edges and their labels", () => {
    expect(edgeList(graph)).toEqual(EXPECTED[file].edges);
  });

  test("edge ids are unique and every edge joins two nodes", () => {
    const ids = new Set(graph.nodes.map((n) => n.id));
    expect(new Set(graph.edges.map((e) => e.id)).size).toBe(graph.edges.length);
    for (const e of graph.edges) {
      expect(ids.has(e.source) && ids.has(e.target)).toBe(true);
    }
  });

  test("where runs end", () => {
    const endings = Object.fromEntries(graph.nodes.filter((n) => n.endings.length > 0).map((n) => [n.id, n.endings]));
    expect(endings).toEqual(EXPECTED[file].endings);
  });

  test("goal and exits are not nodes", () => {
    expect(graph.nodes).toHaveLength(example.steps.length + 1);
  });
});

group("toGraph", () => {
  test("a send's ways out: sent, unreachable, failed", () => {
    const g = toGraph(
      doc([
        { id: "mail", type: "send", channel: "email", template: "t", next: "done", on_unreachable: "sms", on_failure: "later" },
        { id: "sms", type: "exit" },
        { id: "later", type: "wait", duration: "1d", next: "mail" },
        { id: "done", type: "exit" },
      ]),
    );
    expect(edgeList(g)).toEqual(["(entry) -> mail", "mail -> done [sent]", "mail -> sms [unreachable]", "mail -> later [failed]", "later -> mail (loop)"]);
    expect(g.edges.map((e) => e.kind)).toEqual(["next", "sent", "unreachable", "failed", "next"]);
  });

  test("null routes end the run, and say how", () => {
    const g = toGraph(doc([{ id: "mail", type: "send", template: "t", on_unreachable: null, on_failure: null }]));
    expect(g.edges.map((e) => e.id)).toEqual(["(entry)/next"]);
    expect(g.nodes[1].endings).toEqual(["sent", "unreachable", "failed"]);
  });

  test("branch cases in order, then else; each case's condition as its detail", () => {
    const g = toGraph(
      doc([
        {
          id: "b",
          type: "branch",
          cases: [
            { when: { trait: "plan", op: "eq", value: "pro" }, next: "x" },
            { when: { trait: "plan", op: "eq", value: "team" }, next: "x" },
          ],
          else: "y",
        },
        { id: "x", type: "exit" },
        { id: "y", type: "exit" },
      ]),
    );
    expect(edgeList(g).slice(1)).toEqual(["b -> x [case 1]", "b -> x [case 2]", "b -> y [else]"]);
    expect(g.edges.map((e) => e.id).slice(1)).toEqual(["b/case-1", "b/case-2", "b/else"]);
    expect(g.edges[1].detail).toBe("if plan is pro");
  });

  test("a branch without else ends the run there", () => {
    const g = toGraph(doc([{ id: "b", type: "branch", cases: [{ when: { reachable: "email" }, next: "b2" }] }, { id: "b2", type: "exit" }]));
    expect(g.nodes[1].endings).toEqual(["else"]);
  });

  test("a wait_for without timeout has no timeout way out", () => {
    const g = toGraph(doc([{ id: "w", type: "wait_for", events: [{ event: "A", next: "x" }, { event: "B" }] }, { id: "x", type: "exit" }]));
    expect(edgeList(g).slice(1)).toEqual(["w -> x [A]"]);
    expect(g.nodes[1].endings).toEqual(["B"]);
  });

  test("a next to an earlier step is a loop", () => {
    const g = toGraph(
      doc([
        { id: "a", type: "wait", duration: "1d", next: "b" },
        { id: "b", type: "update", set: { n: 1 }, next: "a" },
      ]),
    );
    expect(edgeList(g)).toEqual(["(entry) -> a", "a -> b", "b -> a (loop)"]);
  });

  test("what the validator refuses is left out, not drawn wrong: a missing step, a second step of the same id", () => {
    const g = toGraph(
      doc([
        { id: "a", type: "wait", duration: "1d", next: "nowhere" },
        { id: "a", type: "exit" },
      ]),
    );
    expect(g.nodes.map((n) => n.id)).toEqual([ENTRY_ID, "a"]);
    expect(edgeList(g)).toEqual(["(entry) -> a"]);
  });

  test("a journey without steps is its entry, which ends the run", () => {
    const g = toGraph(doc([]));
    expect(g.nodes).toHaveLength(1);
    expect(g.edges).toEqual([]);
    expect(g.nodes[0].endings).toEqual([""]);
  });
});
