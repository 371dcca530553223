// @vitest-environment happy-dom
import { cleanup, render, screen, within } from "@testing-library/react";
import type { Schemas } from "../api/client";
import { afterEach, expect, test, vi } from "vitest";
import { ENTRY_ID } from "../journey/graph";
import { mockApi } from "../test/api";
import { consultation, profile, run } from "../test/fixtures";
import { RunPage } from "./RunPage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const versions = { versions: [{ version: 2, document: consultation, published_at: "2030-01-01T00:00:00Z" }, { version: 1, document: { ...consultation, steps: [] }, published_at: "2029-12-01T00:00:00Z" }] };

/** The structured trace. */
const steps: Schemas["TraceStep"][] = [
  { kind: "entered", text: "entered on Page Viewed", checks: [{ subject: "property path", seen: "/products/c", op: "starts_with", expected: "/products/", result: true, text: 'property path = "/products/c" starts_with "/products/" -> true' }] },
  { node: "invite", kind: "send", text: "email consultation-invite", checks: [] },
  { node: "booked", kind: "wait_for", text: "waiting for Consultation Booked", checks: [] },
];

test("a run on its journey's canvas, the version it runs, the path highlighted, the trace beside it", async () => {
  const withSteps = run({ trace: [{ seq: 5, at: "2030-01-01T00:03:00Z", lines: ["entered on Page Viewed"], steps }] });
  const { calls } = mockApi({ "GET /api/profiles/4": profile({ journeys: [withSteps] }), "GET /api/journeys/consultation/versions": versions });
  const { container } = render(
    <div style={{ width: 1200, height: 800 }}>
      <RunPage id="4" runId="11" />
    </div>,
  );
  expect(await screen.findByRole("heading", { name: "Run 11 in consultation", level: 1 })).toBeTruthy();
  expect(screen.getByRole("link", { name: "Alice" }).getAttribute("href")).toBe("/people/4");
  await vi.waitFor(() => expect(container.querySelector(".react-flow__node[data-id=remind]")).toBeTruthy());
  expect(calls.map((c) => c.path)).toContain("/api/journeys/consultation/versions");
  const canvas = container.querySelector(".run-canvas") as HTMLElement;
  expect(canvas.dataset.path).toBe(`${ENTRY_ID} invite booked`);
  const style = canvas.querySelector("style")?.textContent ?? "";
  expect(style).toContain(`.react-flow__node[data-id="${ENTRY_ID}"] .card`);
  expect(style).toContain('.react-flow__node[data-id="booked"] .card { box-shadow');
  expect(style).toContain('.react-flow__edge[data-id="invite/next"]');
  expect(style).not.toContain('data-id="remind"');
  const trace = screen.getByRole("region", { name: "Trace" });
  expect(within(trace).getByText("entry → invite → booked")).toBeTruthy();
  expect(within(trace).getByRole("table", { name: "Conditions checked: entry" })).toBeTruthy();
  expect(screen.getByText(/Highlighted: the path this run took/)).toBeTruthy();
});

test("without structured steps: the current step only, and the trace's lines", async () => {
  mockApi({ "GET /api/profiles/4": profile(), "GET /api/journeys/consultation/versions": versions });
  const { container } = render(<RunPage id="4" runId="11" />);
  await vi.waitFor(() => expect(container.querySelector(".run-canvas")).toBeTruthy());
  expect((container.querySelector(".run-canvas") as HTMLElement).dataset.path).toBe("booked");
  expect(screen.getByText("booked: waiting for Consultation Booked")).toBeTruthy();
  expect(screen.getByText(/Highlighted: where this run is/)).toBeTruthy();
});

test("a run that is not the person's, and versions that cannot be loaded", async () => {
  mockApi({ "GET /api/profiles/4": profile(), "GET /api/journeys/consultation/versions": { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } } });
  render(<RunPage id="4" runId="12" />);
  expect((await screen.findByRole("alert")).textContent).toContain("No run 12 among the runs of Alice");
  cleanup();
  render(<RunPage id="4" runId="11" />);
  expect((await screen.findByRole("alert")).textContent).toContain("The versions of consultation could not be loaded: the store is unavailable");
});
