// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { answer, mockApi, type MockRequest, type Route } from "../test/api";
import { flows, lifecycle, segment } from "../test/fixtures";
import { sessionAs, withSession } from "../test/session";
import { LifecyclePage } from "./LifecyclePage";

beforeEach(() => window.history.pushState(null, "", "/lifecycle"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const NAMES: Schemas["Names"] = { events: ["Order Completed"], traits: ["email", "plan"], properties: {}, template_variables: [] };
const BUYERS = segment({ id: "buyers", name: "Buyers" });

/** A server with the fixture's lifecycle (Lead, Customer, At risk) and the last 30 days' moves. */
function server(over: Record<string, Route | object> = {}) {
  return mockApi({
    "GET /api/lifecycle": lifecycle(),
    "GET /api/names": NAMES,
    "GET /api/segments": { segments: [BUYERS, segment()] },
    "GET /api/lifecycle/flows": flows(),
    "GET /api/clock": { now: "2030-02-01T00:00:00Z", manual: true },
    ...over,
  });
}

const stageList = () => screen.getByRole("region", { name: "Stages" });
const stageCards = () => within(stageList()).getAllByRole("listitem").filter((li) => li.parentElement?.classList.contains("stage-list"));
const card = (name: string) => within(stageList()).getByRole("region", { name });
const map = () => screen.getByRole("region", { name: "Journey map" });

/** Picks `item` from the menu the last button named `button` in `scope` opens. */
function pickFrom(scope: HTMLElement, button: string, item: string) {
  fireEvent.click(within(scope).getAllByRole("button", { name: button }).at(-1) as HTMLElement);
  fireEvent.click(within(scope).getByRole("menuitem", { name: item }));
}

test("the stages in order: each with its name, id, people now and condition (as a segment's); a tab of Segments", async () => {
  server();
  render(<LifecyclePage />);
  expect(await screen.findByRole("heading", { name: "Lifecycle", level: 1 })).toBeTruthy();
  await screen.findByRole("region", { name: "Lead" });
  expect(stageCards().map((li) => within(li).getByRole("heading", { level: 3 }).textContent)).toEqual(["Lead", "Customer", "At risk"]);
  const lead = card("Lead");
  expect((within(lead).getByLabelText("Name") as HTMLInputElement).value).toBe("Lead");
  expect((within(lead).getByLabelText("Id") as HTMLInputElement).value).toBe("lead");
  expect(within(lead).getByTestId("stage-people").textContent).toBe("40 people now");
  expect((within(lead).getByLabelText("Trait name") as HTMLInputElement).value).toBe("email");
  expect((within(lead).getByLabelText("Trait: operator") as HTMLSelectElement).value).toBe("exists");
  expect(within(card("Customer")).getByTestId("stage-people").textContent).toBe("12 people now");
  // Another segment is picked by its name; no "since the run entered" (a stage has no run).
  const atRisk = card("At risk");
  await waitFor(() => expect((within(atRisk).getByLabelText("Segment") as HTMLSelectElement).selectedOptions[0].textContent).toBe("Buyers"));
  expect([...(within(atRisk).getByLabelText("In the last: unit") as HTMLSelectElement).options].map((o) => o.value)).not.toContain("entry");
  // The first cannot move up, the last cannot move down.
  expect((within(lead).getByRole("button", { name: "Move Lead up" }) as HTMLButtonElement).disabled).toBe(true);
  expect((within(atRisk).getByRole("button", { name: "Move At risk down" }) as HTMLButtonElement).disabled).toBe(true);
  expect(screen.getByText("3 stages").getAttribute("role")).toBe("status");
  expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);
  const tabs = screen.getByRole("navigation", { name: "Segments, computed traits and lifecycle" });
  expect(within(tabs).getByRole("link", { name: "Lifecycle" }).getAttribute("aria-current")).toBe("page");
});

test("edited: renamed, a stage added with its condition and moved up; saved at once as the documentation writes it", async () => {
  let saved: unknown;
  server({
    "PUT /api/lifecycle": ({ body }: MockRequest) => {
      saved = body;
      const stages = (body as { stages: { id: string; name?: string; condition: unknown }[] }).stages;
      return { stages: stages.map((s) => ({ id: s.id, name: s.name ?? s.id, condition: s.condition, people: 0 })), fill: null };
    },
  });
  render(<LifecyclePage />);
  await screen.findByRole("region", { name: "Lead" });
  fireEvent.change(within(card("Lead")).getByLabelText("Name"), { target: { value: "Known lead" } });
  expect(screen.getByText("Changes not saved")).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "+ Add stage" }));
  const added = card("Stage 4");
  expect(within(added).getByTestId("stage-people").textContent).toBe("not saved yet");
  fireEvent.change(within(added).getByLabelText("Id"), { target: { value: "pro" } });
  fireEvent.change(within(card("pro")).getByLabelText("Name"), { target: { value: "Pro" } });
  pickFrom(card("Pro"), "+ Add a condition", "Trait");
  fireEvent.change(within(card("Pro")).getByLabelText("Trait name"), { target: { value: "plan" } });
  fireEvent.change(within(card("Pro")).getByLabelText("Trait: value"), { target: { value: "pro" } });
  // The kinds a stage may read: a segment's (no event property, run variable or clock).
  fireEvent.click(within(card("Pro")).getByRole("button", { name: "+ And" }));
  expect(within(card("Pro")).getAllByRole("menuitem").map((m) => m.textContent)).toEqual([
    "Trait",
    "Event history (count…)",
    "Reachable (email, SMS, push or in-app)",
    "Segment membership",
    "Group (all / any)",
  ]);
  fireEvent.click(within(card("Pro")).getByRole("menuitem", { name: "Trait" }));
  fireEvent.click(within(card("Pro")).getAllByRole("button", { name: "Remove this condition" }).at(-1) as HTMLElement);
  fireEvent.click(within(card("Pro")).getByRole("button", { name: "Move Pro up" }));
  expect(stageCards().map((li) => within(li).getByRole("heading", { level: 3 }).textContent)).toEqual(["Known lead", "Customer", "Pro", "At risk"]);
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  // No stage with people at it is removed: saved at once.
  await waitFor(() => expect(saved).toBeDefined());
  expect(saved).toEqual({
    stages: [
      { id: "lead", name: "Known lead", condition: { trait: "email", op: "exists" } },
      { id: "customer", name: "Customer", condition: { history: { event: "Order Completed", within: "365d" }, op: "gte", value: 1 } },
      { id: "pro", name: "Pro", condition: { all: [{ trait: "plan", op: "eq", value: "pro" }] } },
      { id: "at-risk", name: "At risk", condition: { all: [{ segment: "buyers" }, { history: { event: "Order Completed", within: "60d" }, op: "eq", value: 0 }] } },
    ],
  });
  await waitFor(() => expect(screen.getByText("4 stages")).toBeTruthy());
  expect(within(card("Pro")).getByTestId("stage-people").textContent).toBe("0 people now");
});

test("removing a stage people are at asks once on Save, naming it and its people", async () => {
  let puts = 0;
  server({
    "PUT /api/lifecycle": () => {
      puts++;
      return lifecycle({ stages: lifecycle().stages.slice(0, 2) });
    },
  });
  render(<LifecyclePage />);
  await screen.findByRole("region", { name: "At risk" });
  fireEvent.click(within(card("At risk")).getByRole("button", { name: "Remove At risk" }));
  expect(within(stageList()).queryByRole("region", { name: "At risk" })).toBeNull();
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const question = screen.getByRole("group", { name: "Save without At risk (3 people)?" });
  expect(question.textContent).toContain("The people at it move to the last stage that still holds for them, or to none");
  fireEvent.click(within(question).getByRole("button", { name: "Cancel" }));
  expect(puts).toBe(0);
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  fireEvent.click(screen.getByRole("button", { name: "Yes, save" }));
  await waitFor(() => expect(screen.getByText("2 stages")).toBeTruthy());
  expect(puts).toBe(1);
});

test("problems found before sending, and the server's (422 lifecycle_invalid), each at the stage and field its path names", async () => {
  const { calls } = server({
    "PUT /api/lifecycle": answer(422, {
      code: "lifecycle_invalid",
      message: "the lifecycle is not valid: …",
      details: {
        diagnostics: [
          { path: "/stages/2/condition", code: "unknown_segment", severity: "error", message: 'segment "buyers" does not exist' },
          { path: "/stages/0/condition/property", code: "not_in_segment", severity: "error", message: "a stage is about the person, not one event" },
          { path: "/stages", code: "invalid_lifecycle", severity: "error", message: "a lifecycle has at most 20 stages" },
        ],
      },
    }),
  });
  render(<LifecyclePage />);
  await screen.findByRole("region", { name: "Lead" });
  // A new stage with no id and no condition: said at once, nothing sent.
  fireEvent.click(screen.getByRole("button", { name: "+ Add stage" }));
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const stage4 = card("Stage 4");
  expect(within(stage4).getByText("Give the stage an id (what the lifecycle_stage trait holds), e.g. customer.")).toBeTruthy();
  expect(within(stage4).getByLabelText("Id").getAttribute("aria-invalid")).toBe("true");
  expect(within(stage4).getByText("Add a condition: who is at this stage.")).toBeTruthy();
  expect(screen.getByRole("alert").textContent).toBe("Not saved: the lifecycle has 2 problems, shown at the stages they are about.");
  expect(calls.some((c) => c.method === "PUT")).toBe(false);
  // Removed: the problems go with it.
  fireEvent.click(within(stage4).getByRole("button", { name: "Remove Stage 4" }));
  expect(screen.queryByRole("alert")).toBeNull();

  // The Lead's condition written as JSON with what a stage may not read.
  const json = within(card("Lead")).getByLabelText("JSON of the condition of Lead");
  fireEvent.change(json, { target: { value: JSON.stringify({ property: "path", op: "exists" }) } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const alert = await screen.findByRole("alert");
  expect(alert.textContent).toContain("Not saved: the lifecycle has 3 problems, shown at the stages they are about.");
  expect(within(alert).getByText("/stages")).toBeTruthy();
  expect(within(alert).getByText(/a lifecycle has at most 20 stages/)).toBeTruthy();
  expect(within(card("Lead")).getByText("a stage is about the person, not one event")).toBeTruthy();
  expect(within(card("At risk")).getByText('segment "buyers" does not exist')).toBeTruthy();
  expect(within(card("Customer")).queryByText(/does not exist|not one event/)).toBeNull();
  // Kept while a value is fixed; moving a stage (the places change) hides them.
  fireEvent.change(within(card("Lead")).getByLabelText("Event property name"), { target: { value: "email" } });
  expect(within(card("Lead")).getByText("a stage is about the person, not one event")).toBeTruthy();
  fireEvent.click(within(card("Customer")).getByRole("button", { name: "Move Customer up" }));
  expect(screen.queryByRole("alert")).toBeNull();
});

test("while everyone is evaluated again: how far, asked for again until done", async () => {
  let asked = 0;
  server({
    "GET /api/lifecycle": () => {
      asked++;
      return asked === 1 ? lifecycle({ fill: { done: 5, of: 10 } }) : lifecycle();
    },
  });
  render(<LifecyclePage />);
  expect(await screen.findByRole("progressbar", { name: "Filling: 5 of 10 people" })).toBeTruthy();
  await waitFor(() => expect(screen.queryByText(/Filling/)).toBeNull(), { timeout: 6000 });
  expect(within(card("Lead")).getByTestId("stage-people").textContent).toBe("40 people now");
}, 15000);

test("the journey map: a Sankey diagram of the moves, No stage first, bands as wide as their people, said in words and as a table", async () => {
  const { calls } = server();
  render(<LifecyclePage />);
  const chart = await within(await screen.findByRole("region", { name: "Journey map" })).findByRole("img");
  expect(chart.tagName.toLowerCase()).toBe("svg");
  expect(chart.getAttribute("aria-label")).toBe(
    "Moves between lifecycle stages in the last 30 days: 44 in all. No stage → Lead: 30 people; Lead → Customer: 10 people; Customer → At risk: 3 people; At risk → Customer: 1 person.",
  );
  const nodes = (side: string) => [...chart.querySelectorAll(`.sankey-node[data-side="${side}"]`)].map((g) => g.querySelector("text")?.textContent);
  expect(nodes("from")).toEqual(["No stage30", "Lead10", "Customer3", "At risk1"]);
  expect(nodes("to")).toEqual(["Lead30", "Customer11", "At risk3"]);
  expect(chart.querySelector('.sankey-node[data-side="to"][data-stage="customer"] rect title')?.textContent).toBe("Customer: 11 people reached it");
  // A band's count on it when it is wide enough: No stage → Lead's 30.
  expect([...chart.querySelectorAll(".sankey-counts text")].map((t) => t.textContent)).toContain("30");
  const bands = [...chart.querySelectorAll<SVGPathElement>("path.sankey-link")];
  expect(bands.map((b) => `${b.dataset.from}>${b.dataset.to}`)).toEqual([">lead", "lead>customer", "customer>at-risk", "at-risk>customer"]);
  expect(bands.map((b) => b.querySelector("title")?.textContent)).toEqual([
    "No stage → Lead: 30 people",
    "Lead → Customer: 10 people",
    "Customer → At risk: 3 people",
    "At risk → Customer: 1 person",
  ]);
  expect(bands[3].getAttribute("class")).toContain("sankey-back");
  expect(within(map()).getByText(/back \(to an earlier stage, or to none\)/)).toBeTruthy();
  const table = within(map()).getByRole("table");
  expect(within(table).getAllByRole("row").slice(1).map((r) => r.textContent)).toEqual(["No stageLead30", "LeadCustomer10", "CustomerAt risk3", "At riskCustomer1"]);
  // The server's default period: no `from`.
  expect(calls.find((c) => c.path === "/api/lifecycle/flows")?.query.toString()).toBe("");
});

test("the map's period (from the server's clock) and segment: asked for again with from and segment", async () => {
  const { calls } = server({
    "GET /api/lifecycle/flows": ({ query }: MockRequest) => (query.get("segment") === "buyers" ? flows({ segment: "buyers", flows: [] }) : flows()),
  });
  render(<LifecyclePage />);
  await within(await screen.findByRole("region", { name: "Journey map" })).findByRole("img");
  const period = within(map()).getByLabelText("Period") as HTMLSelectElement;
  expect([...period.options].map((o) => o.textContent)).toEqual(["Last 7 days", "Last 30 days", "Last 90 days"]);
  expect(period.value).toBe("30");
  fireEvent.change(period, { target: { value: "7" } });
  await waitFor(() => expect(calls.filter((c) => c.path === "/api/lifecycle/flows")).toHaveLength(2));
  expect(calls.filter((c) => c.path === "/api/lifecycle/flows")[1].query.get("from")).toBe("2030-01-25T00:00:00.000Z");
  expect(await within(map()).findByRole("img", { name: /^Moves between lifecycle stages in the last 7 days:/ })).toBeTruthy();
  const people = within(map()).getByLabelText("People") as HTMLSelectElement;
  expect([...people.options].map((o) => o.textContent)).toEqual(["Everyone", "Buyers", "Pro customers"]);
  fireEvent.change(people, { target: { value: "buyers" } });
  expect(await within(map()).findByText("Nobody moved between stages in the last 7 days among Buyers.")).toBeTruthy();
  const last = calls.filter((c) => c.path === "/api/lifecycle/flows").at(-1);
  expect(last?.query.get("segment")).toBe("buyers");
  expect(last?.query.get("from")).toBe("2030-01-25T00:00:00.000Z");
});

test("no stages yet: what a stage is, an example to start from, the API; the map says what it will show", async () => {
  let saved: unknown;
  server({
    "GET /api/lifecycle": { stages: [], fill: null },
    "GET /api/lifecycle/flows": flows({ flows: [] }),
    "PUT /api/lifecycle": ({ body }: MockRequest) => {
      saved = body;
      return lifecycle();
    },
  });
  render(<LifecyclePage />);
  expect(await screen.findByText("No stages yet.", { selector: "strong" })).toBeTruthy();
  expect(screen.getByText(/curl -X PUT .*\/api\/lifecycle/)).toBeTruthy();
  expect(await within(map()).findByText(/Define the stages above and save them/)).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Start from an example: Lead → Customer → Repeat customer → At risk" }));
  expect(stageCards().map((li) => within(li).getByRole("heading", { level: 3 }).textContent)).toEqual(["Lead", "Customer", "Repeat customer", "At risk"]);
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  await waitFor(() => expect((saved as { stages: { id: string }[] }).stages.map((s) => s.id)).toEqual(["lead", "customer", "repeat", "at-risk"]));
});

test("a viewer reads the stages and the map, and is told why there is nothing to change them with", async () => {
  server();
  render(withSession(sessionAs("viewer"), <LifecyclePage />));
  await screen.findByRole("region", { name: "Lead" });
  expect(screen.queryByRole("button", { name: "Save" })).toBeNull();
  expect(screen.queryByRole("button", { name: "+ Add stage" })).toBeNull();
  expect(screen.queryByRole("button", { name: "Remove Lead" })).toBeNull();
  expect(screen.queryByRole("button", { name: "Move Lead down" })).toBeNull();
  expect(screen.getByText(/Read only/)).toBeTruthy();
  expect(await within(map()).findByRole("img")).toBeTruthy();
});

test("the lifecycle could not be had: the server's words, and Try again", async () => {
  let fail = true;
  server({ "GET /api/lifecycle": () => (fail ? answer(503, { code: "unavailable", message: "the store is unavailable" }) : lifecycle()) });
  render(<LifecyclePage />);
  expect((await screen.findByRole("alert")).textContent).toContain("The lifecycle could not be loaded: the store is unavailable");
  fail = false;
  fireEvent.click(screen.getByRole("button", { name: "Try again" }));
  expect(await screen.findByRole("region", { name: "Lead" })).toBeTruthy();
});
