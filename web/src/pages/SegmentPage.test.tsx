// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { answer, mockApi, type MockRequest, type Route } from "../test/api";
import { member, segment, sizes } from "../test/fixtures";
import { sessionAs, withSession } from "../test/session";
import { SegmentPage } from "./SegmentPage";

beforeEach(() => window.history.pushState(null, "", "/segments/pro"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  localStorage.clear();
});

const NAMES: Schemas["Names"] = { events: ["Order Completed"], traits: ["plan", "country", "email"], properties: {}, template_variables: [] };
const PRO = segment();
const LAPSED = segment({ id: "lapsed", name: "No order in 30 days", condition: { trait: "email", op: "exists" } as unknown as Schemas["SegmentView"]["condition"] });

/** A server with the segment `pro` (unless `over` says otherwise): two pages of members, 30 days of sizes. */
function server(over: Record<string, Route | object> = {}) {
  return mockApi({
    "GET /api/segments/pro": PRO,
    "GET /api/segments": { segments: [LAPSED, PRO] },
    "GET /api/names": NAMES,
    "GET /api/segments/pro/sizes": sizes(30, 0),
    "GET /api/segments/pro/members": ({ query }: MockRequest) =>
      query.get("cursor") === "5"
        ? { members: [member(7, "carol")], next_cursor: null }
        : { members: [member(4, "alice", "2030-01-02T00:00:00Z", { name: "Alice Martin" }), member(5, "bob")], next_cursor: "5" },
    ...over,
  });
}

const definition = () => screen.getByRole("form", { name: "Definition" });
const who = () => within(definition()).getByRole("region", { name: "Who is in it" });
const members = () => screen.getByRole("region", { name: "Members" });

/** Picks `item` from the menu the last button named `button` in `scope` opens. */
function pickFrom(scope: HTMLElement, button: string, item: string) {
  fireEvent.click(within(scope).getAllByRole("button", { name: button }).at(-1) as HTMLElement);
  fireEvent.click(within(scope).getByRole("menuitem", { name: item }));
}

test("a segment: its name and condition in the journey editor's forms, the size now and over 30 days, its members a page at a time, the CSV", async () => {
  const { calls } = server();
  render(<SegmentPage id="pro" />);
  expect(await screen.findByRole("heading", { name: "Pro customers", level: 1 })).toBeTruthy();
  expect(screen.getByText(/^Saved/).getAttribute("role")).toBe("status");
  expect((within(definition()).getByLabelText("Name") as HTMLInputElement).value).toBe("Pro customers");
  expect((within(who()).getByLabelText("Trait name") as HTMLInputElement).value).toBe("plan");
  expect((within(who()).getByLabelText("Trait: operator") as HTMLSelectElement).value).toBe("eq");
  expect((within(who()).getByLabelText("Trait: value") as HTMLInputElement).value).toBe("pro");
  // No references in a segment: a value, not "compared with".
  expect(within(who()).queryByLabelText("Trait: compared with")).toBeNull();
  // The JSON, for engineers.
  expect(JSON.parse((within(definition()).getByLabelText("JSON of the condition") as HTMLTextAreaElement).value)).toEqual({ trait: "plan", op: "eq", value: "pro" });

  expect(within(members()).getByTestId("segment-size").textContent).toBe("12 people");
  const chart = await within(members()).findByRole("img", { name: /^Size over the last 30 days: 0 people on .*2030, 29 people on .*2030; at most 29\. 29 entered, 0 left\.$/ });
  expect(chart.querySelectorAll("rect")).toHaveLength(30);
  expect(chart.querySelector('rect[data-day="2030-01-30"] title')?.textContent).toMatch(/: 29 people \(1 entered, 0 left\)$/);
  expect(calls.find((c) => c.path === "/api/segments/pro/sizes")?.query.get("days")).toBe("30");

  const table = await within(members()).findByRole("table");
  const link = within(table).getByRole("link", { name: "Alice Martin" });
  expect(link.getAttribute("href")).toBe("/people/4");
  expect(within(table).getByText("alice")).toBeTruthy();
  expect(within(table).getAllByRole("row")[1].querySelector("time")?.getAttribute("dateTime")).toBe("2030-01-02T00:00:00Z");
  expect(within(members()).getByText("2 members shown")).toBeTruthy();
  fireEvent.click(within(members()).getByRole("button", { name: "Load more" }));
  expect(await within(members()).findByRole("link", { name: "carol" })).toBeTruthy();
  expect(within(members()).getByText("3 members shown, that is all")).toBeTruthy();
  expect(calls.filter((c) => c.path === "/api/segments/pro/members").map((c) => c.query.toString())).toEqual(["limit=50", "limit=50&cursor=5"]);

  const csv = within(members()).getByRole("link", { name: "Export CSV" });
  expect(csv.getAttribute("href")).toBe("/api/segments/pro/members.csv");
  expect(csv.getAttribute("download")).toBe("pro.csv");
});

test("edited and saved: the name and the condition as the documentation writes it; the members asked for again", async () => {
  let saved: unknown;
  const { calls } = server({
    "PUT /api/segments/pro": ({ body }: MockRequest) => {
      saved = body;
      const b = body as { name: string; condition: Schemas["SegmentView"]["condition"] };
      return segment({ name: b.name, condition: b.condition, updated_at: "2030-01-03T00:00:00Z" });
    },
  });
  render(<SegmentPage id="pro" />);
  await screen.findByRole("heading", { name: "Pro customers", level: 1 });
  await within(members()).findByRole("table");
  fireEvent.change(within(definition()).getByLabelText("Name"), { target: { value: "Pro customers in France" } });
  expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("Pro customers in France");
  expect(screen.getByText("Changes not saved")).toBeTruthy();
  // And: the country is FR.
  pickFrom(who(), "+ And", "Trait");
  fireEvent.change(within(who()).getAllByLabelText("Trait name")[1], { target: { value: "country" } });
  fireEvent.change(within(who()).getAllByLabelText("Trait: value")[1], { target: { value: "FR" } });
  // And: at least 1 Order Completed in the last 30 days.
  pickFrom(who(), "+ Add condition", "Event history (count…)");
  fireEvent.change(within(who()).getByLabelText("History: event name"), { target: { value: "Order Completed" } });
  fireEvent.change(within(who()).getByLabelText("In the last: number"), { target: { value: "30" } });
  // A segment has no run: no "since the run entered".
  expect([...(within(who()).getByLabelText("In the last: unit") as HTMLSelectElement).options].map((o) => o.value)).toEqual(["m", "h", "d", "w", "s"]);
  const before = calls.length;
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.getByText(/^Saved/)).toBeTruthy());
  expect(saved).toEqual({
    name: "Pro customers in France",
    condition: {
      all: [
        { trait: "plan", op: "eq", value: "pro" },
        { trait: "country", op: "eq", value: "FR" },
        { history: { event: "Order Completed", within: "30d" }, op: "gte", value: 1 },
      ],
    },
  });
  expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(true);
  // Who is in it may have changed: asked for again.
  await waitFor(() => expect(calls.slice(before).some((c) => c.path === "/api/segments/pro/members")).toBe(true));
  expect(calls.slice(before).some((c) => c.path === "/api/segments/pro/sizes")).toBe(true);
});

test("refused: each of the server's problems next to the condition it is about, by its path; kept while values are fixed", async () => {
  server({
    "PUT /api/segments/pro": answer(422, {
      code: "segment_invalid",
      message: "the segment is not valid: …",
      details: {
        diagnostics: [
          { path: "/condition/all/1/property", code: "not_in_segment", severity: "error", message: 'a segment is about the person, not one event: use "trait", or a "history" query of the event' },
          { path: "/condition", code: "unknown_segment", severity: "error", message: "pro tests ghost, which does not exist" },
        ],
      },
    }),
  });
  render(<SegmentPage id="pro" />);
  await screen.findByRole("heading", { name: "Pro customers", level: 1 });
  // An engineer writes it as JSON: a property (not in a segment) and a segment that is not there.
  const json = within(definition()).getByLabelText("JSON of the condition");
  const written = { all: [{ trait: "plan", op: "eq", value: "pro" }, { property: "path", op: "exists" }, { segment: "ghost" }] };
  fireEvent.change(json, { target: { value: JSON.stringify(written) } });
  expect(who().querySelectorAll(".cond-items > li")).toHaveLength(3);
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
  const alert = await screen.findByRole("alert");
  expect(alert.textContent).toBe("Not saved: the segment has 2 problems, shown at the conditions they are about.");
  const [, property, ghost] = [...who().querySelectorAll<HTMLElement>(".cond-items > li")];
  expect(within(property).getByText('a segment is about the person, not one event: use "trait", or a "history" query of the event')).toBeTruthy();
  expect((property.querySelector(".cond") as HTMLElement).dataset.invalid).toBe("true");
  expect(within(ghost).getByText("ghost (no such segment)")).toBeTruthy();
  expect(within(ghost).queryByText(/does not exist/)).toBeNull();
  // The whole condition's problem, at the whole.
  const root = who().querySelector(".cond") as HTMLElement;
  expect([...root.querySelectorAll(":scope > .cond-body > .cond-problems li")].map((li) => li.textContent)).toEqual(["pro tests ghost, which does not exist"]);
  // Fixing a value keeps them shown; removing a condition (the places change) hides them.
  fireEvent.change(within(property).getByLabelText("Event property name"), { target: { value: "plan" } });
  expect(within(property).getByText(/a segment is about the person/)).toBeTruthy();
  fireEvent.click(within(property).getByRole("button", { name: "Remove this condition" }));
  expect(screen.queryByText(/a segment is about the person/)).toBeNull();
  expect(screen.queryByRole("alert")).toBeNull();
});

test("a new segment: saved once it has a condition; the forms offer what a segment may read; another segment is picked by name, not itself", async () => {
  window.history.pushState(null, "", "/segments/big-spenders");
  let saved: unknown;
  server({
    "GET /api/segments/big-spenders": answer(404, { code: "not_found", message: 'segment "big-spenders"' }),
    "PUT /api/segments/big-spenders": ({ body }: MockRequest) => {
      saved = body;
      return answer(201, segment({ id: "big-spenders", name: "big-spenders", size: 0, condition: (body as Schemas["SegmentBody"]).condition, fill: { done: 0, of: 10 } }));
    },
    "GET /api/segments/big-spenders/sizes": sizes(30, 0),
    "GET /api/segments/big-spenders/members": { members: [], next_cursor: null },
  });
  render(<SegmentPage id="big-spenders" />);
  expect(await screen.findByText("New segment, not saved yet")).toBeTruthy();
  expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("big-spenders");
  const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
  expect(save.disabled).toBe(true);
  expect(within(members()).getByText(/Save the segment to see who is in it/)).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Delete…" })).toBeNull();
  fireEvent.click(within(who()).getByRole("button", { name: "+ Add a condition" }));
  expect(within(who()).getAllByRole("menuitem").map((m) => m.textContent)).toEqual([
    "Trait",
    "Event history (count…)",
    "Reachable (email, SMS, push or in-app)",
    "Segment membership",
    "Group (all / any)",
  ]);
  fireEvent.click(within(who()).getByRole("menuitem", { name: "Segment membership" }));
  const picker = within(who()).getByLabelText("Segment") as HTMLSelectElement;
  await waitFor(() => expect([...picker.options].map((o) => o.textContent)).toEqual(["Choose a segment…", "No order in 30 days", "Pro customers"]));
  fireEvent.change(picker, { target: { value: "lapsed" } });
  expect(within(who()).getByText("Is in segment")).toBeTruthy();
  fireEvent.click(within(who()).getByRole("button", { name: "Not" }));
  expect(within(who()).getByText("Is not in segment")).toBeTruthy();
  expect(save.disabled).toBe(false);
  fireEvent.click(save);
  await waitFor(() => expect(screen.getByText(/^Saved/)).toBeTruthy());
  // No name: the server names it by its id.
  expect(saved).toEqual({ condition: { not: { segment: "lapsed" } } });
  expect(await within(members()).findByText("Nobody is in it now.")).toBeTruthy();
  expect(within(members()).getByRole("progressbar", { name: "Filling: 0 of 10 people" })).toBeTruthy();
  expect(screen.getByRole("button", { name: "Delete…" })).toBeTruthy();
});

test("while everyone is evaluated again: how far, asked for again until done; then the members and sizes again", async () => {
  let asked = 0;
  const { calls } = server({
    "GET /api/segments/pro": () => {
      asked++;
      return segment({ size: asked === 1 ? 5 : 9, fill: asked === 1 ? { done: 5, of: 10 } : null });
    },
  });
  render(<SegmentPage id="pro" />);
  expect(await within(await screen.findByRole("region", { name: "Members" })).findByText("Filling: 5 of 10 people")).toBeTruthy();
  expect(within(members()).getByTestId("segment-size").textContent).toBe("5 people");
  await waitFor(() => expect(within(members()).getByTestId("segment-size").textContent).toBe("9 people"), { timeout: 6000 });
  expect(within(members()).queryByText(/Filling/)).toBeNull();
  await waitFor(() => expect(calls.filter((c) => c.path === "/api/segments/pro/members")).toHaveLength(2));
}, 15000);

test("delete asks once, naming the segment; in use (409), the server's words; deleted, back to the list", async () => {
  let inUse = true;
  const { calls } = server({
    "DELETE /api/segments/pro": () =>
      inUse ? answer(409, { code: "conflict", message: 'segment "pro" is used by journey "winback"; change them first' }) : answer(204, ""),
  });
  render(<SegmentPage id="pro" />);
  await screen.findByRole("heading", { name: "Pro customers", level: 1 });
  fireEvent.click(screen.getByRole("button", { name: "Delete…" }));
  const question = screen.getByRole("group", { name: /^Delete the segment “Pro customers”\?/ });
  expect(question.textContent).toContain("Its 12 people leave it at once (no Segment Exited events)");
  fireEvent.click(within(question).getByRole("button", { name: "Cancel" }));
  expect(calls.some((c) => c.method === "DELETE")).toBe(false);
  fireEvent.click(screen.getByRole("button", { name: "Delete…" }));
  fireEvent.click(screen.getByRole("button", { name: "Yes, delete Pro customers" }));
  expect((await screen.findByRole("alert")).textContent).toBe('Not deleted: segment "pro" is used by journey "winback"; change them first');
  expect(window.location.pathname).toBe("/segments/pro");
  inUse = false;
  fireEvent.click(screen.getByRole("button", { name: "Delete…" }));
  fireEvent.click(screen.getByRole("button", { name: "Yes, delete Pro customers" }));
  await waitFor(() => expect(window.location.pathname).toBe("/segments"));
  expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(2);
});

test("Export CSV with a token (which a link cannot carry): fetched with it and saved as the segment's file", async () => {
  localStorage.setItem("wayfarer.token", "wf_test");
  const { calls } = server({ "GET /api/segments/pro/members.csv": () => "profile_id,user_id,email,since\r\n4,alice,,2030-01-02T00:00:00Z\r\n" });
  const made: Blob[] = [];
  URL.createObjectURL = vi.fn((b: Blob) => (made.push(b), "blob:csv"));
  URL.revokeObjectURL = vi.fn();
  const saved: string[] = [];
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    saved.push(`${this.download} ${this.getAttribute("href")}`);
  });
  render(<SegmentPage id="pro" />);
  fireEvent.click(await screen.findByRole("link", { name: "Export CSV" }));
  await waitFor(() => expect(saved).toEqual(["pro.csv blob:csv"]));
  const asked = calls.find((c) => c.path === "/api/segments/pro/members.csv");
  expect(asked?.headers.get("authorization")).toBe("Bearer wf_test");
  expect(await made[0].text()).toContain("profile_id,user_id,email,since");
});

test("a viewer reads it all, and is told why there is no Save or Delete", async () => {
  server();
  render(withSession(sessionAs("viewer"), <SegmentPage id="pro" />));
  await screen.findByRole("heading", { name: "Pro customers", level: 1 });
  expect(screen.queryByRole("button", { name: "Save" })).toBeNull();
  expect(screen.queryByRole("button", { name: "Delete…" })).toBeNull();
  expect(screen.getByText(/Read only/)).toBeTruthy();
  expect(await within(members()).findByRole("link", { name: "Alice Martin" })).toBeTruthy();
});

test("an address that cannot be a segment's id says so", () => {
  mockApi({});
  render(<SegmentPage id="Big Spenders" />);
  expect(screen.getByRole("alert").textContent).toContain("“Big Spenders” cannot be a segment's id");
});
