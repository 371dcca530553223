import { describe, expect, test } from "vitest";
import { EXAMPLES } from "../examples";
import type { JourneyDocument, StepType } from "./doc";
import { STEP_TYPES } from "./doc";
import { ENTRY_ID, toGraph } from "./graph";
import { commit, start, undo } from "./history";
import { deepEqual, getIn, parsePointer, pointer, setIn } from "./json";
import {
  addStep,
  changeEntryKind,
  clipboardText,
  connect,
  copySteps,
  defaultOutput,
  defaultPlace,
  deleteSteps,
  ENTRY_KINDS,
  entryKind,
  insertSteps,
  newStep,
  outputPath,
  pasteSteps,
  readClipboard,
  renameStep,
  replaceStep,
  slots,
  uniqueId,
} from "./ops";

const example = (file: string) => EXAMPLES.find((e) => e.file === file)?.doc as JourneyDocument;
const consultation = () => example("consultation.json");
const trial = () => example("trial-onboarding.json");
const winBack = () => example("win-back.json");
const cart = () => example("abandoned-cart.json");

/** Frozen all the way down: an operation that mutates its input throws. */
function frozen<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.values(v).forEach(frozen);
    Object.freeze(v);
  }
  return v;
}

const ids = (doc: JourneyDocument) => doc.steps.map((s) => s.id);
const step = (doc: JourneyDocument, id: string) => doc.steps.find((s) => s.id === id) as unknown as Record<string, unknown>;

describe("json", () => {
  test("setIn replaces in place, keeps key order, removes with undefined", () => {
    const v = frozen({ a: 1, b: { c: 2, d: 3 }, e: [1, 2, 3] });
    expect(Object.keys(setIn(v, ["b", "c"], 9).b)).toEqual(["c", "d"]);
    expect(setIn(v, ["b", "c"], 9)).toEqual({ a: 1, b: { c: 9, d: 3 }, e: [1, 2, 3] });
    expect(setIn(v, ["b", "c"], undefined)).toEqual({ a: 1, b: { d: 3 }, e: [1, 2, 3] });
    expect(setIn(v, ["e", 1], undefined)).toEqual({ a: 1, b: { c: 2, d: 3 }, e: [1, 3] });
    expect(setIn(v, ["x", "y"], 1)).toEqual({ a: 1, b: { c: 2, d: 3 }, e: [1, 2, 3], x: { y: 1 } });
    expect(setIn(v, ["b", "c"], 9).e).toBe(v.e);
  });

  test("pointers both ways, with escapes", () => {
    expect(pointer(["steps", 0, "a/b", "c~d"])).toBe("/steps/0/a~1b/c~0d");
    expect(parsePointer("/steps/0/a~1b/c~0d")).toEqual(["steps", 0, "a/b", "c~d"]);
    expect(parsePointer("")).toEqual([]);
    expect(getIn({ a: [{ b: 1 }] }, ["a", 0, "b"])).toBe(1);
  });

  test("deepEqual ignores key order, not values", () => {
    expect(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
  });
});

describe("outputs", () => {
  test("each output name has its place in the step", () => {
    expect(outputPath("next")).toEqual(["next"]);
    expect(outputPath("case-2")).toEqual(["cases", 1, "next"]);
    expect(outputPath("event-1")).toEqual(["events", 0, "next"]);
    expect(outputPath("path-3")).toEqual(["paths", 2, "next"]);
    expect(outputPath("timeout")).toEqual(["timeout_next"]);
    expect(outputPath("else")).toEqual(["else"]);
    expect(outputPath("unreachable")).toEqual(["on_unreachable"]);
    expect(outputPath("failed")).toEqual(["on_failure"]);
  });

  test("slots name the graph's edges", () => {
    for (const { doc } of EXAMPLES) {
      const edges = toGraph(doc).edges.filter((e) => e.source !== ENTRY_ID);
      for (const e of edges) {
        const [source, output] = e.id.split("/");
        const s = slots(step(doc, source)).find((x) => x.output === output);
        expect(s?.target, e.id).toBe(e.target);
      }
    }
  });
});

describe("adding steps", () => {
  test("after a step that ends: appended, linked, and the new one ends", () => {
    const doc = frozen(consultation());
    const { doc: out, id } = addStep(doc, "exit", { source: "remind", output: "next" });
    expect(id).toBe("exit");
    expect(ids(out)).toEqual(["invite", "booked", "remind", "exit"]);
    expect(step(out, "remind").next).toBe("exit");
    expect(step(out, "exit")).toEqual({ id: "exit", type: "exit" });
  });

  test("on an edge: inserted between, going on where the edge went", () => {
    const doc = frozen(consultation());
    const { doc: out, id } = addStep(doc, "wait", { source: "invite", output: "next" });
    expect(id).toBe("wait");
    expect(ids(out)).toEqual(["invite", "wait", "booked", "remind"]);
    expect(step(out, "invite").next).toBe("wait");
    expect(step(out, "wait")).toEqual({ id: "wait", type: "wait", duration: "1d", next: "booked" });
  });

  test("after the entry: the new step is the first, then the old first", () => {
    const { doc: out, id } = addStep(frozen(consultation()), "update", { source: ENTRY_ID, output: "next" });
    expect(ids(out)[0]).toBe(id);
    expect(step(out, id).next).toBe("invite");
  });

  test("into an empty journey", () => {
    const empty = frozen({ id: "j", entry: { event: "A" }, steps: [] }) as JourneyDocument;
    const { doc: out, id } = addStep(empty, "send", defaultPlace(empty));
    expect(out.steps).toEqual([{ id, type: "send", channel: "email", template: "" }]);
  });

  test("a branch goes on by else, a wait_for by its timeout, a split by every path", () => {
    const doc = frozen(consultation());
    const at = { source: "invite", output: "next" };
    expect(step(addStep(doc, "branch", at).doc, "branch").else).toBe("booked");
    expect(step(addStep(doc, "wait_for", at).doc, "wait-for").timeout_next).toBe("booked");
    const split = step(addStep(doc, "split", at).doc, "split");
    expect((split.paths as { next: string }[]).map((p) => p.next)).toEqual(["booked", "booked"]);
    // An exit ends the run: what came after is left for the validator (unreachable).
    const exit = addStep(doc, "exit", at).doc;
    expect(step(exit, "invite").next).toBe("exit");
  });

  test("a task step: inserted on an edge it goes on by next; deleted, what led to it goes on", () => {
    const doc = frozen(consultation());
    const { doc: out, id } = addStep(doc, "task", { source: "invite", output: "next" });
    expect(id).toBe("task");
    expect(step(out, "task")).toEqual({ id: "task", type: "task", title: "", next: "booked" });
    expect(slots(step(out, "task")).map((s) => [s.output, s.target])).toEqual([["next", "booked"]]);
    expect(deleteSteps(out, ["task"])).toEqual(doc);
    // Renamed, every reference follows.
    expect(step(renameStep(out, "task", "call"), "invite").next).toBe("call");
  });

  test("on a branch's case and a wait_for's timeout", () => {
    const doc = frozen(trial());
    const out = addStep(doc, "wait", { source: "pro-yet", output: "case-1" }).doc;
    expect((step(out, "pro-yet").cases as { next: string }[])[0].next).toBe("wait");
    expect(step(out, "wait").next).toBe("upgraded");
    const c = addStep(frozen(cart()), "send", { source: "idle", output: "timeout" }).doc;
    expect(step(c, "idle").timeout_next).toBe("send");
    expect(step(c, "send").next).toBe("remind");
  });

  test("ids are unique", () => {
    let doc = frozen(consultation());
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = addStep(doc, "wait", defaultPlace(doc));
      doc = r.doc;
      made.push(r.id);
    }
    expect(made).toEqual(["wait", "wait-2", "wait-3"]);
    expect(uniqueId("remind", new Set(["remind", "remind-2"]))).toBe("remind-3");
    expect(uniqueId("Hello World!", new Set())).toBe("hello-world");
  });

  test("every type has a new step its form can fill", () => {
    for (const type of STEP_TYPES) expect(newStep(type, "x")).toMatchObject({ id: "x", type });
  });

  test("where the palette adds: the selected step's first open output, else the last open end", () => {
    const doc = consultation();
    expect(defaultOutput(doc, "booked")).toBe("event-1");
    expect(defaultOutput(doc, "invite")).toBe("next");
    expect(defaultOutput(doc, ENTRY_ID)).toBe("next");
    expect(defaultPlace(doc)).toEqual({ source: "remind", output: "next" });
    expect(defaultPlace(winBack())).toEqual({ source: "redeem", output: "next" });
  });
});

describe("connecting", () => {
  test("an output to a step, and back to the end", () => {
    const doc = frozen(consultation());
    const out = connect(doc, "booked", "event-1", "remind");
    expect((step(out, "booked").events as { next?: string }[])[0].next).toBe("remind");
    expect(connect(out, "booked", "event-1", null)).toEqual(doc);
  });

  test("unreachable and failure routes keep an explicit null", () => {
    const out = connect(frozen(consultation()), "invite", "failed", null);
    expect(step(out, "invite").on_failure).toBeNull();
  });

  test("the entry to a step makes it the first", () => {
    const out = connect(frozen(consultation()), ENTRY_ID, "next", "remind");
    expect(ids(out)).toEqual(["remind", "invite", "booked"]);
  });
});

describe("deleting steps", () => {
  test("with one way on: what pointed at it goes on there", () => {
    const doc = frozen(trial());
    const out = deleteSteps(doc, ["tip"]);
    expect(ids(out)).not.toContain("tip");
    expect(step(out, "pro-yet").else).toBe("last-day");
  });

  test("the first step: runs start at its next", () => {
    const out = deleteSteps(frozen(consultation()), ["invite"]);
    expect(ids(out)).toEqual(["booked", "remind"]);
  });

  test("a step that ends the run: what pointed at it ends", () => {
    const out = deleteSteps(frozen(trial()), ["upgraded"]);
    const cases = step(out, "pro-yet").cases as Record<string, unknown>[];
    expect(cases[0]).toEqual({ when: { trait: "plan", op: "eq", value: "pro" } });
  });

  test("with several ways on: references are left for the validator to report", () => {
    const out = deleteSteps(frozen(trial()), ["pro-yet"]);
    expect(step(out, "day-7").next).toBe("pro-yet");
  });

  test("several at once, along a chain", () => {
    const out = deleteSteps(frozen(winBack()), ["discount", "coupon"]);
    const paths = step(out, "subject").paths as { next: string }[];
    expect(paths[0].next).toBe("redeem");
    expect(step(out, "miss-you").next).toBe("redeem");
  });
});

describe("renaming", () => {
  test("every reference follows: outputs, goal.from, calendar waits' after", () => {
    const doc = frozen(trial());
    const out = renameStep(doc, "tip", "day-7-tip");
    expect(step(out, "pro-yet").else).toBe("day-7-tip");
    expect(step(out, "last-day").until).toEqual({ time: "09:00", days: 6, after: "day-7-tip" });
    expect(ids(out)).toContain("day-7-tip");
    const c = renameStep(frozen(consultation()), "invite", "offer");
    expect(c.goal?.from).toBe("offer");
  });

  test("a taken id changes nothing", () => {
    const doc = frozen(trial());
    expect(renameStep(doc, "tip", "welcome")).toBe(doc);
  });
});

describe("copy and paste", () => {
  test("pasted steps get free ids, links among them follow, links elsewhere are kept when they exist", () => {
    const doc = frozen(trial());
    const copied = copySteps(doc, new Set(["tip", "last-day"]));
    const text = clipboardText(copied);
    const steps = readClipboard(text);
    expect(steps).toHaveLength(2);
    const { doc: out, ids: pasted } = pasteSteps(doc, steps ?? [], { source: "ending", output: "next" });
    expect(pasted).toEqual(["tip-2", "last-day-2"]);
    expect(step(out, "ending").next).toBe("tip-2");
    expect(step(out, "tip-2").next).toBe("last-day-2");
    expect(step(out, "last-day-2").next).toBe("pro-now");
    expect(step(out, "last-day-2").until).toEqual({ time: "09:00", days: 6, after: "tip-2" });
  });

  test("into another journey: links to steps it does not have end", () => {
    const copied = copySteps(trial(), new Set(["tip"]));
    const { doc: out, ids: pasted } = pasteSteps(frozen(consultation()), readClipboard(clipboardText(copied)) ?? [], { source: "invite", output: "next" });
    expect(pasted).toEqual(["tip"]);
    // Its next (last-day) is not in this journey: the output was open, so it goes on where the edge went.
    expect(step(out, "tip")).toEqual({ id: "tip", type: "send", channel: "email", template: "trial-tip", next: "booked" });
    expect(step(out, "invite").next).toBe("tip");
  });

  test("the clipboard takes our JSON, a list of steps, or one step", () => {
    expect(readClipboard('{"id": "a", "type": "exit"}')).toEqual([{ id: "a", type: "exit" }]);
    expect(readClipboard('[{"id": "a", "type": "exit"}]')).toEqual([{ id: "a", type: "exit" }]);
    expect(readClipboard("not json")).toBeUndefined();
    expect(readClipboard('{"hello": 1}')).toBeUndefined();
  });

  test("a group with ends in two steps does not guess which goes on", () => {
    const doc = frozen(consultation());
    const group = [
      { id: "b", type: "branch", cases: [{ when: { all: [] }, next: "x" }] },
      { id: "x", type: "wait", duration: "1d" },
    ] as unknown as JourneyDocument["steps"];
    const out = insertSteps(doc, group, { source: "invite", output: "next" });
    expect(step(out, "b").else).toBeUndefined();
    expect(step(out, "x").next).toBeUndefined();
  });
});

describe("raw JSON and the entry", () => {
  test("replacing a step with its edited JSON; a new id renames the references", () => {
    const doc = frozen(consultation());
    const out = replaceStep(doc, "booked", { id: "wait-booking", type: "wait_for", events: [{ event: "Consultation Booked" }], timeout: "5d", timeout_next: "remind" });
    expect(step(out, "invite").next).toBe("wait-booking");
    expect(step(out, "wait-booking").timeout).toBe("5d");
  });

  test("changing the entry's kind keeps its rules and unknown keys", () => {
    const entry = frozen({ event: "A", filter: { all: [] }, key: "cart_id", reentry: "never", limit: 3, extra: 1 });
    expect(entryKind(entry)).toBe("event");
    expect(changeEntryKind(entry, "api")).toEqual({ api: true, key: "cart_id", reentry: "never", limit: 3, extra: 1 });
    expect(changeEntryKind(entry, "trait_change")).toEqual({ trait_change: { trait: "" }, reentry: "never", limit: 3, extra: 1 });
    expect(changeEntryKind({ date: { trait: "d" }, holdout: 5 }, "event")).toEqual({ event: "", holdout: 5 });
    expect(changeEntryKind(entry, "event")).toBe(entry);
  });

  test("a segment entry: the segment to pick and entering, the rules kept; back to an event, its segment and on gone", () => {
    const entry = frozen({ event: "A", filter: { all: [] }, key: "cart_id", reentry: "never", limit: 3, extra: 1 });
    const segment = changeEntryKind(entry, "segment");
    expect(segment).toEqual({ segment: "", on: "enter", reentry: "never", limit: 3, extra: 1 });
    expect(entryKind(segment)).toBe("segment");
    expect(entryKind({ segment: "lapsed", on: "leave", holdout: 10 })).toBe("segment");
    expect(changeEntryKind({ segment: "lapsed", on: "leave", holdout: 10 }, "event")).toEqual({ event: "", holdout: 10 });
    expect(changeEntryKind({ segment: "lapsed", on: "leave", concurrent: true }, "api")).toEqual({ api: true, concurrent: true });
    expect(ENTRY_KINDS).toContain("segment");
  });
});

describe("every operation, on every example, is undone exactly", () => {
  const types: StepType[] = [...STEP_TYPES];
  for (const { file, doc: original } of EXAMPLES) {
    test(file, () => {
      const doc = frozen(structuredClone(original));
      const graph = toGraph(doc);
      const edits: [string, JourneyDocument][] = [];
      for (const node of graph.nodes) {
        const outs = node.id === ENTRY_ID ? ["next"] : slots(step(doc, node.id)).map((s) => s.output);
        for (const output of outs) for (const type of types) edits.push([`add ${type} at ${node.id}/${output}`, addStep(doc, type, { source: node.id, output }).doc]);
        for (const output of outs) for (const target of ids(doc)) edits.push([`connect ${node.id}/${output} to ${target}`, connect(doc, node.id, output, target)]);
      }
      for (const id of ids(doc)) {
        edits.push([`delete ${id}`, deleteSteps(doc, [id])]);
        edits.push([`rename ${id}`, renameStep(doc, id, `${id}-renamed`)]);
        edits.push([`paste ${id}`, pasteSteps(doc, copySteps(doc, new Set([id])), defaultPlace(doc)).doc]);
      }
      edits.push(["set name", setIn(doc, ["name"], "Another name")]);
      edits.push(["delete everything", deleteSteps(doc, ids(doc))]);
      for (const [what, edited] of edits) {
        const h = undo(commit(start(doc), edited));
        expect(h.present, what).toBe(doc);
        expect(deepEqual(h.present, original), what).toBe(true);
      }
    });
  }
});
