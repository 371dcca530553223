// @vitest-environment happy-dom
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import type { Schemas } from "../api/client";
import { ENTRY_ID } from "../journey/graph";
import { RunTrace } from "./RunTrace";
import { runPath, stepsOf } from "./trace";

afterEach(cleanup);

const run = (trace: Schemas["TraceEntry"][], over: Partial<Schemas["RunView"]> = {}): Schemas["RunView"] => ({
  run_id: 7,
  journey: "consultation",
  version: 1,
  status: "waiting",
  node: "booked",
  entered_at: "2030-01-01T00:00:00Z",
  updated_at: "2030-01-01T00:00:00Z",
  control_group: false,
  assignments: {},
  variables: {},
  trace,
  ...over,
});

/** The structured decisions, by hand, in the shape the server sends. */
const structured = run([
  {
    seq: 1,
    at: "2030-01-01T00:00:00Z",
    lines: ["entered on Page Viewed [...]", "invite: email consultation-invite", "booked: waiting for Consultation Booked"],
    steps: [
      {
        kind: "entered",
        text: "entered on Page Viewed",
        checks: [
          { subject: "property path", seen: "/products/c", op: "starts_with", expected: "/products/", result: true, text: "property path = \"/products/c\" starts_with \"/products/\" -> true" },
          { subject: 'count("Page Viewed" in 7d)', seen: 3, op: "gte", expected: 3, result: true, text: "count(\"Page Viewed\" in 7d) = 3 gte 3 -> true" },
          { subject: "trait plan", op: "exists", result: false, text: "trait plan = (absent) exists -> false" },
          { subject: "property cart_id", seen: "c1", op: "eq", expected: "c1", reference: "event.cart_id", result: true, text: "property cart_id = \"c1\" eq event.cart_id (\"c1\") -> true" },
          { subject: "reachable by email", seen: "alice@example.com", op: "reachable", result: true, text: "reachable by email -> true" },
        ],
      },
      { node: "invite", kind: "send", text: "email consultation-invite", checks: [] },
      { node: "booked", kind: "wait_for", text: "waiting for Consultation Booked, at most 3d", checks: [] },
    ],
  },
  { seq: 2, at: "2030-01-04T00:00:00Z", lines: ["booked: timed out"], steps: [{ node: "booked", kind: "timed_out", text: "timed out after 3d", checks: [] }, { node: "remind", kind: "send", text: "email consultation-reminder", checks: [] }] },
], { node: "remind", status: "exited" });

test("with steps: each decision's conditions as rows, the path from the steps' nodes", () => {
  const { path, structured: fromSteps } = runPath(structured);
  expect(fromSteps).toBe(true);
  expect(path).toEqual([ENTRY_ID, "invite", "booked", "remind"]);
  render(<RunTrace run={structured} path={path} />);
  expect(screen.getByText("entry → invite → booked → remind")).toBeTruthy();
  const table = screen.getByRole("table", { name: "Conditions checked: entry" });
  const rows = within(table)
    .getAllByRole("row")
    .slice(1)
    .map((r) => within(r).getAllByRole("cell").map((c) => c.textContent));
  expect(rows).toEqual([
    ["property path", '"/products/c"', "starts_with", '"/products/"', "→ true"],
    ['count("Page Viewed" in 7d)', "3", "gte", "3", "→ true"],
    ["trait plan", "(absent)", "exists", "", "→ false"],
    ["property cart_id", '"c1"', "eq", 'event.cart_id ("c1")', "→ true"],
    ["reachable by email", '"alice@example.com"', "reachable", "", "→ true"],
  ]);
  expect(within(table).getAllByRole("row")[3].className).toBe("check-false");
  expect(screen.getByText("email consultation-reminder")).toBeTruthy();
  // The lines are not shown twice when the steps say it.
  expect(screen.queryByText("booked: timed out")).toBeNull();
});

test("without steps: the lines as the server wrote them, the path is the run's current step", () => {
  const lines = ['entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true]', "booked: waiting"];
  // A row stored before traces were structured: the server answers its lines as `text` steps.
  const old = run([{ seq: 1, at: "2030-01-01T00:00:00Z", lines, steps: lines.map((text) => ({ kind: "text", text, checks: [] })) }]);
  expect(stepsOf(old.trace[0])).toBeUndefined();
  expect(runPath(old)).toEqual({ path: ["booked"], current: "booked", structured: false });
  render(<RunTrace run={old} path={runPath(old).path} />);
  expect(screen.getByText('entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true]')).toBeTruthy();
  expect(screen.queryByRole("table")).toBeNull();
});
