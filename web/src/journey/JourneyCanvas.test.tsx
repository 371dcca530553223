// @vitest-environment happy-dom
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import { EXAMPLES } from "../examples";
import type { CanvasDiagnostic } from "./diagnostics";
import type { JourneyDocument } from "./doc";
import { ENTRY_ID } from "./graph";
import { JourneyCanvas } from "./JourneyCanvas";
import { routePath } from "./JourneyEdge";

const consultation = EXAMPLES.find((e) => e.file === "consultation.json")?.doc as JourneyDocument;

afterEach(cleanup);

function renderCanvas(props: Partial<Parameters<typeof JourneyCanvas>[0]> = {}) {
  return render(
    <div style={{ width: 1200, height: 800 }}>
      <JourneyCanvas doc={consultation} {...props} />
    </div>,
  );
}

const card = (container: HTMLElement, id: string) => {
  const node = container.querySelector(`.react-flow__node[data-id="${id}"]`);
  if (!(node instanceof HTMLElement)) throw new Error(`no card ${id}`);
  return within(node);
};

test("draws a card per node with its kind, title and words", () => {
  const { container } = renderCanvas();
  expect(container.querySelectorAll(".react-flow__node")).toHaveLength(4);
  const entry = card(container, ENTRY_ID);
  expect(entry.getByText("Entry", { selector: ".card-title" })).toBeTruthy();
  expect(entry.getByText("On Page Viewed if path starts with /products/ and …")).toBeTruthy();
  expect(container.querySelector(`.react-flow__node[data-id="${ENTRY_ID}"] .card`)?.getAttribute("data-kind")).toBe("entry");
  const invite = card(container, "invite");
  expect(invite.getByText("Send")).toBeTruthy();
  expect(invite.getByText("Email: consultation-invite")).toBeTruthy();
  expect(card(container, "booked").getByText("Consultation Booked → end")).toBeTruthy();
  expect(card(container, "remind").getByText("end")).toBeTruthy();
});

test("the full sentence is the card's tooltip and accessible name", () => {
  const { container } = renderCanvas();
  const full =
    "On Page Viewed if path starts with /products/ and ≥ 3 Page Viewed (path starts with /products/) in 7 days and no Sales Contacted in 7 days and reachable by email";
  expect(card(container, ENTRY_ID).getByTitle(full)).toBeTruthy();
  expect(container.querySelector(`.react-flow__node[data-id="${ENTRY_ID}"]`)?.getAttribute("aria-label")).toBe(`Entry: ${full}`);
});

test("draws the edges and their labels", () => {
  const { container } = renderCanvas();
  expect(container.querySelectorAll(".react-flow__edge")).toHaveLength(3);
  expect(container.querySelector(".react-flow__edge.edge-timeout")).toBeTruthy();
  expect(screen.getByText("timeout 3d")).toBeTruthy();
});

test("goal, exits and re-entry are journey-wide, beside the graph", () => {
  renderCanvas();
  const overview = within(screen.getByRole("region", { name: "Journey-wide settings" }));
  expect(overview.getByText("Consultation Booked within 7 days of reaching invite")).toBeTruthy();
  expect(overview.getByText("Sales Contacted")).toBeTruthy();
});

test("quiet hours: beside the graph, and said on every send's card", () => {
  const { container } = renderCanvas({ doc: { ...consultation, quiet_hours: { from: "21:00", to: "08:00", then: "hold" } } });
  const overview = within(screen.getByRole("region", { name: "Journey-wide settings" }));
  expect(overview.getByText("Quiet hours")).toBeTruthy();
  expect(overview.getByText("21:00–08:00, held")).toBeTruthy();
  for (const id of ["invite", "remind"]) {
    expect(card(container, id).getByTitle("Quiet hours 21:00–08:00, held: set for the whole journey").textContent).toBe("quiet hours");
    expect(container.querySelector(`.react-flow__node[data-id="${id}"]`)?.getAttribute("aria-label")).toMatch(/\(quiet hours 21:00–08:00, held\)$/);
  }
  // Not on the other steps: a wait for an event sends nothing.
  expect(container.querySelectorAll(".card-quiet")).toHaveLength(2);
});

test("the frequency cap: beside the graph, not on the cards", () => {
  const { container } = renderCanvas({ doc: { ...consultation, cap: { max: 3, within: "7d" } } });
  const overview = within(screen.getByRole("region", { name: "Journey-wide settings" }));
  expect(overview.getByText("Frequency cap")).toBeTruthy();
  expect(overview.getByText("at most 3 messages in 7d")).toBeTruthy();
  // A send says nothing of it: the cap is counted across the journey, not at one step.
  expect(card(container, "invite").queryByText(/cap/)).toBeNull();
});

test("the priority: beside the graph, not on the cards", () => {
  const { container } = renderCanvas({ doc: { ...consultation, priority: 10 } });
  const overview = within(screen.getByRole("region", { name: "Journey-wide settings" }));
  expect(overview.getByText("Priority")).toBeTruthy();
  expect(overview.getByText("10, above the default 0")).toBeTruthy();
  expect(card(container, "invite").queryByText(/priority/i)).toBeNull();
});

test("counts on the cards, with shares of the entries", () => {
  const { container } = renderCanvas({ counts: { [ENTRY_ID]: { entered: 310 }, booked: { entered: 62, waiting: 41, passed: 21 } } });
  const booked = card(container, "booked");
  expect(booked.getByLabelText("41 waiting now, 13% of the journey's entries")).toBeTruthy();
  expect(booked.getByLabelText("62 entered, 20% of the journey's entries")).toBeTruthy();
  expect(container.querySelectorAll(`.react-flow__node[data-id="invite"] .count`)).toHaveLength(0);
});

test("diagnostics: a badge on the step, journey-wide ones in the panel", () => {
  const diagnostics: CanvasDiagnostic[] = [
    { node: "booked", path: "/steps/1/events/0/event", code: "unseen_event", severity: "warning", message: 'no event named "Consultation Booked" has been seen yet' },
    { node: "invite", path: "/steps/0/template", code: "unknown_template", severity: "error", message: 'template "consultation-invite" does not exist' },
    { node: "invite", path: "/steps/0/channel", code: "x", severity: "warning", message: "another" },
    { path: "/goal/within", code: "invalid_duration", severity: "error", message: "not a duration" },
  ];
  const { container } = renderCanvas({ diagnostics });
  expect(card(container, "booked").getByRole("img", { name: /^1 warning: / })).toBeTruthy();
  const invite = card(container, "invite").getByRole("img", { name: /^1 error: / });
  expect(invite.className).toContain("badge-error");
  expect(invite.textContent).toBe("1");
  expect(within(screen.getByRole("region", { name: "Journey-wide settings" })).getByText("not a duration")).toBeTruthy();
});

test("edges follow the layout's points, their bends rounded", () => {
  expect(routePath([{ x: 0, y: 0 }, { x: 0, y: 40 }])).toBe("M 0 0 L 0 40");
  expect(routePath([{ x: 0, y: 0 }, { x: 0, y: 40 }, { x: 40, y: 40 }])).toBe("M 0 0 Q 0 40 20 40 L 40 40");
});
