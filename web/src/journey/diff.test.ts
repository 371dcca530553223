// The same cases as the CLI's own tests (crates/server/src/cli.rs, mod tests): the web's diff
// says what `wayfarer journeys diff` says, line for line.
import { expect, test } from "vitest";
import { changeLines, diff, nodeMarks } from "./diff";

const lines = (a: unknown, b: unknown) => diff(a, b).flatMap(changeLines);

type Doc = { [k: string]: unknown; steps: Record<string, unknown>[] };

function journey(): Doc {
  return {
    id: "j",
    name: "J",
    entry: { event: "Signed Up" },
    exit: [{ event: "Left" }],
    steps: [
      { id: "a", type: "wait", duration: "1d", next: "b" },
      { id: "b", type: "send", template: "t", next: "c" },
      { id: "c", type: "wait", duration: "3d", next: "d" },
      { id: "d", type: "send", template: "u" },
    ],
  };
}

test("removing the first step is one removal", () => {
  const old = journey();
  const next = journey();
  next.steps.splice(0, 1);
  expect(lines(old, next)).toEqual(['- step a (was the first step; runs now start at b): {"duration":"1d","id":"a","next":"b","type":"wait"}']);
  expect(lines(old, old)).toEqual([]);
});

test("a step in the middle removed shows the removal and the next that changed", () => {
  const old = journey();
  const next = journey();
  next.steps.splice(2, 1);
  next.steps[1].next = "d";
  expect(lines(old, next)).toEqual(['- step c: {"duration":"3d","id":"c","next":"d","type":"wait"}', '~ step b /next: "c" -> "d"']);
});

test("changes are listed fields first, then removed, added and changed steps", () => {
  const old = journey();
  const next = journey();
  next.timezone = "Europe/Paris";
  next.name = "J2";
  (next.entry as Record<string, unknown>).filter = { property: "plan", op: "eq", value: "pro" };
  next.exit = [];
  next.goal = { event: "Paid" };
  delete next.steps[3].template;
  next.steps[3].next = "e";
  next.steps[1].template = "t2";
  next.steps.splice(0, 1);
  next.steps.unshift({ id: "z", type: "wait", duration: "2d", next: "b" });
  next.steps.push({ id: "e", type: "exit" });
  expect(lines(old, next)).toEqual([
    '~ /name: "J" -> "J2"',
    '+ /timezone: "Europe/Paris"',
    '+ /entry/filter: {"op":"eq","property":"plan","value":"pro"}',
    '- /exit/0: {"event":"Left"}',
    '+ /goal: {"event":"Paid"}',
    '- step a (was the first step; runs now start at z): {"duration":"1d","id":"a","next":"b","type":"wait"}',
    '+ step z (now the first step: runs start here): {"duration":"2d","id":"z","next":"b","type":"wait"}',
    '+ step e: {"id":"e","type":"exit"}',
    '~ step b /template: "t" -> "t2"',
    '+ step d /next: "e"',
    '- step d /template: "u"',
  ]);
  const marks = nodeMarks(diff(old, next));
  expect([...marks.added]).toEqual(["z", "e"]);
  expect([...marks.removed]).toEqual(["a"]);
  expect([...marks.changed]).toEqual(["b", "d"]);
  expect(marks.entryChanged).toBe(true);
});

test("a new order of the same steps is a change", () => {
  const old = journey();
  const next = journey();
  [next.steps[0], next.steps[1]] = [next.steps[1], next.steps[0]];
  expect(lines(old, next)).toEqual(["~ step order: a, b, c, d -> b, a, c, d"]);
});

test("steps without unique ids are compared by position", () => {
  const old = { id: "j", steps: [{ id: "a", timeout: "3d" }, { id: "a" }] };
  const next = { id: "j", steps: [{ id: "a", timeout: "5d" }], goal: { event: "X" } };
  expect(lines(old, next)).toEqual(['+ /goal: {"event":"X"}', '~ /steps/0/timeout: "3d" -> "5d"', '- /steps/1: {"id":"a"}']);
});
