// What property fields suggest: the paths of the event a condition reads, or every event's.
import { describe, expect, test } from "vitest";
import type { Schemas } from "../../api/client";
import type { JourneyDocument } from "../doc";
import { entryEvent, NO_NAMES, propertyPaths } from "./context";

const names: Schemas["Names"] = {
  events: ["Order Completed", "Page Viewed", "Signed Up"],
  traits: [],
  properties: { "Order Completed": ["cart.total", "coupon", "path"], "Page Viewed": ["path", "url"] },
  template_variables: [],
};

describe("propertyPaths", () => {
  test("an event the data has shown: its paths", () => {
    expect(propertyPaths(names, "Order Completed")).toEqual(["cart.total", "coupon", "path"]);
    expect(propertyPaths(names, "Page Viewed")).toEqual(["path", "url"]);
  });

  test("an event shown without properties: none", () => {
    expect(propertyPaths(names, "Signed Up")).toEqual([]);
  });

  test("no event, or one the data has not shown: every event's paths, once each, sorted", () => {
    const all = ["cart.total", "coupon", "path", "url"];
    expect(propertyPaths(names, undefined)).toEqual(all);
    expect(propertyPaths(names, "")).toEqual(all);
    expect(propertyPaths(names, "Page viewed")).toEqual(all);
    expect(propertyPaths(names, undefined), "computed once per answer").toBe(propertyPaths(names, "Nope"));
    expect(propertyPaths(NO_NAMES, "Page Viewed")).toEqual([]);
  });
});

describe("entryEvent", () => {
  const doc = (entry: unknown) => ({ id: "j", entry, steps: [] }) as unknown as JourneyDocument;
  test("the entry's event, if the entry is an event", () => {
    expect(entryEvent(doc({ event: "Page Viewed" }))).toBe("Page Viewed");
    expect(entryEvent(doc({ event: "" }))).toBeUndefined();
    expect(entryEvent(doc({ trait_change: { trait: "plan" } }))).toBeUndefined();
    expect(entryEvent(doc(null))).toBeUndefined();
  });
});
