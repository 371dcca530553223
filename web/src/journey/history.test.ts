import { expect, test } from "vitest";
import { commit, redo, seal, start, undo, UNDO_LIMIT } from "./history";

test("undo and redo walk the documents", () => {
  let h = start("a");
  h = commit(h, "b");
  h = commit(h, "c");
  expect(h.present).toBe("c");
  h = undo(h);
  expect(h.present).toBe("b");
  h = undo(h);
  expect(h.present).toBe("a");
  expect(undo(h)).toBe(h);
  h = redo(redo(h));
  expect(h.present).toBe("c");
  expect(redo(h)).toBe(h);
});

test("an edit after undoing drops what could be redone", () => {
  const h = commit(undo(commit(commit(start(1), 2), 3)), 4);
  expect(h.past).toEqual([1, 2]);
  expect(h.future).toEqual([]);
});

test("typing in one field is one undo step, until sealed or another field", () => {
  let h = start("");
  for (const v of ["h", "he", "hel"]) h = commit(h, v, "name");
  expect(h.past).toEqual([""]);
  h = commit(h, "hel!", "other");
  expect(h.past).toEqual(["", "hel"]);
  h = seal(commit(h, "hel!!", "other"));
  h = commit(h, "x", "other");
  expect(h.past).toEqual(["", "hel", "hel!!"]);
  expect(undo(h).present).toBe("hel!!");
});

test("the same document is no edit; the stack is bounded", () => {
  const h = start({ a: 1 });
  expect(commit(h, h.present)).toBe(h);
  let big = start(0);
  for (let i = 1; i <= UNDO_LIMIT + 10; i++) big = commit(big, i);
  expect(big.past).toHaveLength(UNDO_LIMIT);
});
