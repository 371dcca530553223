// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, expect, test } from "vitest";
import type { Schemas } from "../../api/client";
import { AGGREGATES, ConditionBuilder, HistoryForm, SEGMENT_KINDS } from "./ConditionBuilder";
import { ConditionContext, type ConditionApi } from "./context";

afterEach(cleanup);

const NAMES: Schemas["Names"] = {
  events: ["Order Completed", "Product Viewed"],
  traits: ["plan"],
  properties: { "Order Completed": ["total", "currency"], "Product Viewed": ["sku", "category"] },
  template_variables: [],
};
const API: ConditionApi = { names: NAMES, refs: false, sinceEntry: false };

/** A condition builder holding its value; the value is read back from `latest`. */
let latest: unknown;
function Harness({ initial }: { initial: unknown }) {
  const [value, setValue] = useState<unknown>(initial);
  latest = value;
  return (
    <ConditionContext.Provider value={API}>
      <ConditionBuilder label="Who" value={value} onChange={(c) => setValue(c)} kinds={SEGMENT_KINDS} at="/condition" />
    </ConditionContext.Provider>
  );
}

const who = () => screen.getByRole("region", { name: "Who" });
const suggestions = (input: HTMLElement) => [...(document.getElementById(input.getAttribute("list") ?? "")?.querySelectorAll("option") ?? [])].map((o) => o.getAttribute("value"));

test("the history form offers every aggregate: count, any, sum, smallest, largest, first, last, how many different", () => {
  render(<Harness initial={{ history: { event: "Order Completed", within: "30d" }, op: "gte", value: 1 }} />);
  const aggregate = within(who()).getByLabelText("History: aggregate") as HTMLSelectElement;
  expect([...aggregate.options].map((o) => [o.value, o.textContent])).toEqual([
    ["count", "Number of"],
    ["exists", "Any"],
    ["sum", "Sum of"],
    ["min", "Smallest"],
    ["max", "Largest"],
    ["first", "First value of"],
    ["last", "Last value of"],
    ["distinct", "Number of different"],
  ]);
  expect(AGGREGATES.map((a) => a.value)).toEqual(["count", "exists", "sum", "min", "max", "first", "last", "distinct"]);
  // Count reads no property.
  expect(within(who()).queryByLabelText("History: property")).toBeNull();
});

test("largest: a property of the history's event, compared with a number", () => {
  render(<Harness initial={{ history: { event: "Order Completed", within: "30d" }, op: "gte", value: 1 }} />);
  fireEvent.change(within(who()).getByLabelText("History: aggregate"), { target: { value: "max" } });
  const property = within(who()).getByLabelText("History: property");
  // Suggested from the events the data has shown: Order Completed's.
  expect(suggestions(property)).toEqual(["total", "currency"]);
  expect(within(who()).getByText("of")).toBeTruthy();
  fireEvent.change(property, { target: { value: "total" } });
  expect([...(within(who()).getByLabelText("History: operator") as HTMLSelectElement).options].map((o) => o.textContent)).toEqual([
    "at least",
    "at most",
    "exactly",
    "more than",
    "fewer than",
    "not exactly",
  ]);
  fireEvent.change(within(who()).getByLabelText("History: number"), { target: { value: "100" } });
  expect(latest).toEqual({ history: { event: "Order Completed", within: "30d", aggregate: "max", property: "total" }, op: "gte", value: 100 });
  // Back to a count: no property.
  fireEvent.change(within(who()).getByLabelText("History: aggregate"), { target: { value: "count" } });
  expect(latest).toEqual({ history: { event: "Order Completed", within: "30d" }, op: "gte", value: 100 });
});

test("smallest and how many different: numbers; first: any value with every operator", () => {
  render(<Harness initial={{ history: { event: "Product Viewed", within: "7d" }, op: "gte", value: 1 }} />);
  fireEvent.change(within(who()).getByLabelText("History: aggregate"), { target: { value: "distinct" } });
  fireEvent.change(within(who()).getByLabelText("History: property"), { target: { value: "sku" } });
  fireEvent.change(within(who()).getByLabelText("History: count"), { target: { value: "3" } });
  expect(latest).toEqual({ history: { event: "Product Viewed", within: "7d", aggregate: "distinct", property: "sku" }, op: "gte", value: 3 });

  fireEvent.change(within(who()).getByLabelText("History: aggregate"), { target: { value: "min" } });
  // The property is kept: it is the one the events have.
  expect((within(who()).getByLabelText("History: property") as HTMLInputElement).value).toBe("sku");
  expect(within(who()).getByLabelText("History: number")).toBeTruthy();

  fireEvent.change(within(who()).getByLabelText("History: aggregate"), { target: { value: "first" } });
  const op = within(who()).getByLabelText("History: operator") as HTMLSelectElement;
  expect([...op.options].map((o) => o.value)).toContain("starts_with");
  // A value of the property now, not a count: "is" something.
  expect(op.value).toBe("eq");
  fireEvent.change(within(who()).getByLabelText("History: value"), { target: { value: "A-1" } });
  expect(latest).toEqual({ history: { event: "Product Viewed", within: "7d", aggregate: "first", property: "sku" }, op: "eq", value: "A-1" });

  // Any: happened or not, no property.
  fireEvent.change(within(who()).getByLabelText("History: aggregate"), { target: { value: "exists" } });
  expect(latest).toEqual({ history: { event: "Product Viewed", within: "7d", aggregate: "exists" }, op: "eq", value: true });
  expect(within(who()).getByLabelText("History: happened")).toBeTruthy();
});

test("a history query alone (a computed trait's): no comparison; each problem under the field its path names", () => {
  let query: unknown = { event: "Order Completed", within: "30d", aggregate: "max" };
  const diagnostics = [
    { path: "/history/property", code: "condition_invalid", severity: "error" as const, message: 'aggregate "max" needs the "property" it reads' },
    { path: "/history/within", code: "invalid_computed_trait", severity: "error" as const, message: "a computed trait has no entry" },
    { path: "/history/where/property", code: "condition_invalid", severity: "error" as const, message: "where: a property" },
    { path: "/history", code: "x", severity: "error" as const, message: "the whole query" },
  ];
  function Alone() {
    const [h, setH] = useState<unknown>(query);
    query = h;
    return (
      <ConditionContext.Provider value={API}>
        <HistoryForm label="What it keeps" value={h} onChange={setH} at="/history" diagnostics={diagnostics} />
      </ConditionContext.Provider>
    );
  }
  render(<Alone />);
  const form = screen.getByRole("region", { name: "What it keeps" });
  expect(within(form).queryByLabelText("History: operator")).toBeNull();
  expect(within(form).queryByLabelText("History: happened")).toBeNull();
  const property = within(form).getByLabelText("History: property");
  expect(property.getAttribute("aria-invalid")).toBe("true");
  expect(within(form).getByText('aggregate "max" needs the "property" it reads')).toBeTruthy();
  expect(within(form).getByText("a computed trait has no entry")).toBeTruthy();
  expect(within(form).getByLabelText("In the last: number").getAttribute("aria-invalid")).toBe("true");
  // No "since the run entered": a computed trait has no run.
  expect([...(within(form).getByLabelText("In the last: unit") as HTMLSelectElement).options].map((o) => o.value)).not.toContain("entry");
  expect(within(form).getByText("the whole query")).toBeTruthy();
  // The where's problem is for a where, not shown while there is none.
  expect(within(form).queryByText("where: a property")).toBeNull();
  fireEvent.change(property, { target: { value: "total" } });
  expect(query).toEqual({ event: "Order Completed", within: "30d", aggregate: "max", property: "total" });
});
