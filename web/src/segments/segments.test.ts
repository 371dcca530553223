import { describe, expect, test } from "vitest";
import { ApiError } from "../api/client";
import { problemsAt } from "../journey/edit/ConditionBuilder";
import { sizes } from "../test/fixtures";
import { fillText, namesOf, peopleText, SEGMENT_ID, segmentProblems, shapeOf } from "./segments";
import { sizesSummary } from "./SizeChart";

describe("segments", () => {
  test("ids as the server takes them", () => {
    for (const id of ["lapsed", "vip-2", "a_b", "0day", "x".repeat(64)]) expect(SEGMENT_ID.test(id), id).toBe(true);
    for (const id of ["", "Lapsed", "big spenders", "-x", "_x", "x".repeat(65), "é"]) expect(SEGMENT_ID.test(id), id).toBe(false);
  });

  test("names by id; sizes and fills in words", () => {
    expect(namesOf([{ id: "vip", name: "VIP" }])).toEqual({ vip: "VIP" });
    expect(namesOf(undefined)).toEqual({});
    expect(peopleText(1)).toBe("1 person");
    expect(peopleText(1234)).toBe("1,234 people");
    expect(fillText({ done: 200, of: 1000 })).toBe("Filling: 200 of 1,000 people");
    expect(sizesSummary([])).toBe("No sizes yet.");
    expect(sizesSummary(sizes(3, 5).days)).toMatch(/^Size over the last 3 days: 5 people on .+, 7 people on .+; at most 7\. 7 entered, 0 left\.$/);
  });

  test("a refusal's problems: segment_invalid's details.diagnostics; another failure has none", () => {
    const d = { path: "/condition", code: "unknown_segment", severity: "error" as const, message: "x" };
    expect(segmentProblems(new ApiError("segment_invalid", "not valid", { diagnostics: [d] }))).toEqual([d]);
    expect(segmentProblems(new ApiError("segment_invalid", "not valid"))).toEqual([]);
    expect(segmentProblems(new ApiError("unavailable", "later"))).toBeUndefined();
  });

  test("a condition's shape: the same when values change, another when conditions are added, removed or changed in kind", () => {
    const c = { all: [{ trait: "plan", op: "eq", value: "pro" }, { segment: "vip" }] };
    expect(shapeOf({ all: [{ value: "free", trait: "country", op: "ne" }, { segment: "lapsed" }] })).toBe(shapeOf(c));
    expect(shapeOf({ all: [{ segment: "vip" }] })).not.toBe(shapeOf(c));
    expect(shapeOf({ all: [{ property: "plan", op: "eq", value: "pro" }, { segment: "vip" }] })).not.toBe(shapeOf(c));
    expect(shapeOf({ any: c.all })).not.toBe(shapeOf(c));
  });
});

describe("the condition builder's problems, by JSON pointer", () => {
  const at = (path: string) => ({ path, code: "c", severity: "error" as const, message: path });
  const all = [at("/condition"), at("/condition/all"), at("/condition/all/0/trait"), at("/condition/all/1/history/within"), at("/condition/all/1/history/where/property"), at("/name")];
  const paths = (ds: { path: string }[]) => ds.map((d) => d.path);

  test("each condition has its own: at it or inside it, not inside a condition it holds", () => {
    expect(paths(problemsAt(all, "/condition", ["/condition/all/0", "/condition/all/1"]))).toEqual(["/condition", "/condition/all"]);
    expect(paths(problemsAt(all, "/condition/all/0", []))).toEqual(["/condition/all/0/trait"]);
    expect(paths(problemsAt(all, "/condition/all/1", ["/condition/all/1/history/where"]))).toEqual(["/condition/all/1/history/within"]);
    expect(paths(problemsAt(all, "/condition/all/1/history/where", []))).toEqual(["/condition/all/1/history/where/property"]);
    // Not a prefix of a longer key: /condition/all/1 is not /condition/all/10.
    expect(paths(problemsAt([at("/condition/all/10")], "/condition/all/1", []))).toEqual([]);
    expect(problemsAt(all, undefined, [])).toEqual([]);
  });
});
