// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi } from "../test/api";
import { lifecycle, message, profile, run } from "../test/fixtures";
import { PersonPage } from "./PersonPage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const journeys: Schemas["ProfileJourneys"] = {
  profile_id: 4,
  journeys: [
    { journey: "consultation", version: 2, state: "active", in_journey: true, runs: [run()] },
    {
      journey: "win-back",
      version: 1,
      state: "active",
      in_journey: false,
      runs: [],
      why_not: "no Order Completed event in the last 60 days",
      recent_entries: [
        {
          at: "2030-01-01T00:02:00Z",
          received_at: "2030-01-01T00:02:00Z",
          message_id: "m2",
          verdict: "filtered",
          detail: "the entry filter was false",
          comparisons: ['property total = 5 gte 20 -> false'],
        },
      ],
    },
  ],
};

function server(messages: Schemas["MessageView"][], tasks: Schemas["TaskView"][] = [], extra: Record<string, object> = {}) {
  return mockApi({
    ...extra,
    "GET /api/profiles/4": profile({
      warnings: ['the timezone trait "Mars/Base" is not a time zone'],
      refused_merges: [{ other_profile_id: 8, identity: { kind: "anonymous_id", value: "shared-browser" }, identity_now_with: 8, reason: "both have a user id", message_id: "m9", at: "2030-01-01T00:00:30Z" }],
    }),
    "GET /api/profiles/4/journeys": journeys,
    "GET /api/journeys": { journeys: [{ id: "win-back", name: "Win back customers", status: "published", state: "active", updated_at: "2030-01-01T00:00:00Z", waiting: 0, entered_7d: 0, converted_7d: 0 }], next_cursor: null },
    "GET /api/messages": messages.length ? { messages, next_cursor: null } : { messages: [], next_cursor: null },
    "GET /api/tasks": { tasks, next_cursor: null },
    "GET /api/clock": { now: "2030-01-01T00:10:00Z", manual: true },
    "POST /api/messages/32/retry": { retried: 1 },
    "POST /api/messages/33/retry": { __status: 409, body: { code: "conflict", message: "message 33 is not failed" } },
  });
}

test("traits, identities, warnings and refused merges on the left; the timeline interleaved, newest first", async () => {
  const { calls } = server([message()]);
  render(<PersonPage id="4" />);
  expect(await screen.findByRole("heading", { name: "Alice", level: 1 })).toBeTruthy();
  const facts = screen.getByRole("complementary", { name: "Traits and identities" });
  expect(within(facts).getByText("alice@example.com")).toBeTruthy();
  expect(within(facts).getByText("anon-1")).toBeTruthy();
  expect(within(facts).getByText('the timezone trait "Mars/Base" is not a time zone')).toBeTruthy();
  expect(within(facts).getByText(/both have a user id/)).toBeTruthy();

  const timeline = screen.getByRole("region", { name: "Timeline" });
  await within(timeline).findByRole("button", { name: /Email: consultation-invite/ });
  const titles = within(timeline)
    .getAllByRole("button", { expanded: false })
    .map((b) => b.textContent?.replace("▸", ""));
  // At 00:03 the message, the run's step and the event that caused them; then the earlier events.
  expect(titles).toEqual(["Email: consultation-invite", "consultation: entered on Page Viewed", "Page Viewed", "Page Viewed", "Page Viewed"]);
  expect(within(timeline).getByText("captured: no SMTP server is configured")).toBeTruthy();
  expect(calls.find((c) => c.path === "/api/messages")?.query.get("profile_id")).toBe("4");

  // Each item opens to its JSON.
  const first = within(timeline).getAllByRole("button", { name: "Page Viewed" })[0];
  fireEvent.click(first);
  expect(first.getAttribute("aria-expanded")).toBe("true");
  expect(within(timeline).getByText(/"path": "\/products\/c"/)).toBeTruthy();

  // Only the messages.
  fireEvent.click(within(timeline).getByLabelText("Events"));
  fireEvent.click(within(timeline).getByLabelText("Journey steps"));
  expect(within(timeline).getAllByRole("listitem")).toHaveLength(1);
});

test("an SMS in the timeline: named for its channel, with the text as it was sent", async () => {
  const text = message({
    id: 34,
    channel: "sms",
    template: "login-code",
    to: "+14155550100",
    status: "sent",
    note: null,
    message: { sid: "SM1", status: "queued", to: "+14155550100", body: "Alice, your code is 1234.\nIt expires in 10 minutes.", segments: 1 },
  });
  server([text]);
  render(<PersonPage id="4" />);
  const timeline = await screen.findByRole("region", { name: "Timeline" });
  const title = await within(timeline).findByRole("button", { name: /SMS: login-code/ });
  const item = title.closest(".timeline-body") as HTMLElement;
  expect(within(item).getByText(/to \+14155550100/)).toBeTruthy();
  expect(item.querySelector(".item-sms")?.textContent).toBe("Alice, your code is 1234.\nIt expires in 10 minutes.");
});

test("a push notification in the timeline: named for its channel, with its devices, and its title and body when it was captured", async () => {
  const captured = message({
    id: 35,
    channel: "push",
    template: "back-in-stock",
    to: null,
    status: "captured",
    note: null,
    message: { devices: 2, title: "Alice, it is back", body: "Your size is in stock again.", link: "myapp://cart", image: null },
  });
  const sent = message({
    id: 36,
    channel: "push",
    template: "price-drop",
    to: null,
    status: "sent",
    note: null,
    created_at: "2030-01-01T00:01:00Z",
    message: { devices: 1, sent: ["projects/acme/messages/1"], unregistered: 0, errors: [] },
  });
  server([captured, sent]);
  render(<PersonPage id="4" />);
  const timeline = await screen.findByRole("region", { name: "Timeline" });
  const item = (await within(timeline).findByRole("button", { name: /Push: back-in-stock/ })).closest(".timeline-body") as HTMLElement;
  expect(within(item).getByText(/to 2 devices/)).toBeTruthy();
  const text = item.querySelector(".item-push") as HTMLElement;
  expect([...text.children].map((c) => [c.tagName, c.textContent])).toEqual([
    ["STRONG", "Alice, it is back"],
    ["SPAN", "Your size is in stock again."],
  ]);
  // Sent, the provider's answer does not repeat the text: only the devices are said.
  const other = within(timeline).getByRole("button", { name: /Push: price-drop/ }).closest(".timeline-body") as HTMLElement;
  expect(within(other).getByText(/to 1 device ·/)).toBeTruthy();
  expect(other.querySelector(".item-push")).toBeNull();
});

test("an in-app message in the timeline: named for its channel, a banner or a modal and its place, with its title and body as kept", async () => {
  const banner = message({
    id: 37,
    channel: "in_app",
    template: "spring-offer",
    to: null,
    status: "sent",
    delivered: true,
    note: null,
    message: { placement: "home", title: "Alice, 20% off this week", body: "On everything in the shop.", button: "Shop", link: "https://shop.acme.test/sale" },
  });
  const modal = message({
    id: 38,
    channel: "in_app",
    template: "survey",
    to: null,
    status: "sent",
    delivered: true,
    note: null,
    created_at: "2030-01-01T00:01:00Z",
    message: { layout: "modal", title: "Two questions?" },
  });
  server([banner, modal]);
  render(<PersonPage id="4" />);
  const timeline = await screen.findByRole("region", { name: "Timeline" });
  const item = (await within(timeline).findByRole("button", { name: /In-app: spring-offer/ })).closest(".timeline-body") as HTMLElement;
  expect(within(item).getByText("home").tagName).toBe("CODE");
  expect(item.querySelector(".item-text")?.textContent).toMatch(/^a banner in the place home · from invite/);
  const text = item.querySelector(".item-push") as HTMLElement;
  expect([...text.children].map((c) => [c.tagName, c.textContent])).toEqual([
    ["STRONG", "Alice, 20% off this week"],
    ["SPAN", "On everything in the shop."],
  ]);
  // A modal for any place, with a title alone.
  const other = within(timeline).getByRole("button", { name: /In-app: survey/ }).closest(".timeline-body") as HTMLElement;
  expect(other.querySelector(".item-text")?.textContent).toMatch(/^a modal · from invite/);
  expect([...(other.querySelector(".item-push") as HTMLElement).children].map((c) => c.textContent)).toEqual(["Two questions?"]);
});

test("the person's tasks above the timeline, open ones with Complete and Decline; a task step's message is named by its task", async () => {
  const open: Schemas["TaskView"] = {
    id: 7,
    profile_id: 4,
    person: { id: 4, identities: [{ kind: "user_id", value: "alice" }], traits: { name: "Alice" } },
    journey: "consultation",
    node: "call",
    title: "Call Alice",
    body: "About the pro plan.",
    assignee: null,
    team: "sales",
    due_at: "2030-01-02T00:00:00Z",
    created_at: "2030-01-01T00:03:00Z",
    status: "open",
    closed_at: null,
    closed_by: null,
    note: null,
  };
  const done = { ...open, id: 6, title: "Check Alice's account", status: "completed" as const, closed_at: "2030-01-01T00:05:00Z", closed_by: "user:sam@acme.test", note: "All good" };
  const made = message({ id: 39, channel: "task", template: null, to: null, status: "sent", note: null, node: "call", message: { title: "Call Alice", body: "About the pro plan.", team: "sales" } });
  const { calls } = server([made], [done, open], {
    "POST /api/tasks/7/complete": { ...open, status: "completed", closed_at: "2030-01-01T00:10:00Z", closed_by: "admin token", note: "Booked" },
  });
  render(<PersonPage id="4" />);
  const tasks = await screen.findByRole("region", { name: "Tasks" });
  expect(calls.find((c) => c.path === "/api/tasks")?.query.get("profile_id")).toBe("4");
  expect(within(tasks).getByText(/1 open of 2/)).toBeTruthy();
  expect(within(tasks).getAllByRole("heading", { level: 3 }).map((h) => h.textContent)).toEqual(["Check Alice's account", "Call Alice"]);
  // On the person's own page, no link to them.
  expect(within(tasks).queryByRole("link", { name: "person 4" })).toBeNull();
  expect(within(tasks).getByText("All good")).toBeTruthy();
  expect(within(tasks).getAllByRole("button", { name: "Complete" })).toHaveLength(1);
  fireEvent.change(within(tasks).getByLabelText("Note (optional)"), { target: { value: "Booked" } });
  fireEvent.click(within(tasks).getByRole("button", { name: "Complete" }));
  expect(await within(tasks).findByText(/0 open of 2/)).toBeTruthy();
  expect(within(tasks).queryByRole("button", { name: "Complete" })).toBeNull();
  expect(calls.find((c) => c.path === "/api/tasks/7/complete")?.body).toEqual({ note: "Booked" });
  // The step's message: the task as it was put in the inbox.
  const timeline = screen.getByRole("region", { name: "Timeline" });
  expect(await within(timeline).findByRole("button", { name: /Task: Call Alice/ })).toBeTruthy();
});

test("a person with no task: no tasks panel", async () => {
  const { calls } = server([]);
  render(<PersonPage id="4" />);
  await screen.findByRole("region", { name: "Timeline" });
  await vi.waitFor(() => expect(calls.some((c) => c.path === "/api/tasks")).toBe(true));
  await new Promise((r) => setTimeout(r, 50));
  expect(screen.queryByRole("region", { name: "Tasks" })).toBeNull();
});

test("the journeys panel: in it with its runs, or not, and in one click why not", async () => {
  server([]);
  render(<PersonPage id="4" />);
  const panel = await screen.findByRole("complementary", { name: "Journeys" });
  expect(await within(panel).findByText("In this journey now")).toBeTruthy();
  expect(within(panel).getByRole("link", { name: "Run 11" }).getAttribute("href")).toBe("/people/4/runs/11");
  expect(within(panel).getByText("Not in this journey")).toBeTruthy();
  // Named from the journeys list when it has them.
  const why = await within(panel).findByRole("button", { name: "Why not in Win back customers?" });
  expect(why.getAttribute("aria-expanded")).toBe("false");
  fireEvent.click(why);
  expect(why.getAttribute("aria-expanded")).toBe("true");
  expect(within(panel).getByText("no Order Completed event in the last 60 days")).toBeTruthy();
  const entries = within(panel).getByRole("list", { name: "Latest entry events" });
  expect(within(entries).getByText("filtered out")).toBeTruthy();
  expect(within(entries).getByText("the entry filter was false")).toBeTruthy();
  expect(within(entries).getByText("property total = 5 gte 20 -> false")).toBeTruthy();
  // No "why not" for a journey the person is in.
  expect(within(panel).queryByRole("button", { name: "Why not in consultation?" })).toBeNull();
});

test("a failed message: its error, and Retry sends it again; a refused retry says why next to it", async () => {
  const failed = message({ id: 32, status: "failed", last_error: "550 mailbox unavailable", note: null, attempts: 5 });
  const other = message({ id: 33, status: "failed", last_error: "timeout", note: null, created_at: "2030-01-01T00:00:00Z" });
  const { calls } = server([failed, other]);
  render(<PersonPage id="4" />);
  expect(await screen.findByText("550 mailbox unavailable")).toBeTruthy();
  fireEvent.click(screen.getAllByRole("button", { name: "Retry" })[0]);
  await vi.waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/messages/32/retry")).toBe(true));
  // The messages are asked for again after the retry.
  await vi.waitFor(() => expect(calls.filter((c) => c.path === "/api/messages")).toHaveLength(2));
  fireEvent.click((await screen.findAllByRole("button", { name: "Retry" }))[1]);
  expect((await screen.findByRole("alert")).textContent).toContain("Message 33 could not be retried: message 33 is not failed");
});

test("a person that does not exist, and an address that is not a person", async () => {
  mockApi({ "GET /api/profiles/5": { __status: 404, body: { code: "not_found", message: "no profile 5" } } });
  render(<PersonPage id="5" />);
  expect((await screen.findByRole("alert")).textContent).toContain("Person 5 could not be loaded: no profile 5");
  cleanup();
  render(<PersonPage id="alice" />);
  expect(screen.getByRole("alert").textContent).toContain("“alice” is not a person's number");
});

test("the segments the person is in, each a link to its page; none said so", async () => {
  server([]);
  const { unmount } = render(<PersonPage id="4" />);
  // The fixture's person is in no segment: said so.
  const none = await screen.findByRole("region", { name: "Segments" });
  expect(within(none).getByText("In no segment.")).toBeTruthy();
  unmount();
  cleanup();
  vi.unstubAllGlobals();
  mockApi({
    "GET /api/profiles/4": profile({ segments: [{ id: "lapsed", name: "No order in 30 days" }, { id: "vip", name: "VIP" }] }),
    "GET /api/profiles/4/journeys": journeys,
    "GET /api/journeys": { journeys: [], next_cursor: null },
    "GET /api/messages": { messages: [], next_cursor: null },
    "GET /api/tasks": { tasks: [], next_cursor: null },
  });
  render(<PersonPage id="4" />);
  const segments = await screen.findByRole("region", { name: "Segments" });
  const links = within(segments).getAllByRole("link");
  expect(links.map((a) => [a.textContent, a.getAttribute("href")])).toEqual([
    ["No order in 30 days", "/segments/lapsed"],
    ["VIP", "/segments/vip"],
  ]);
  // Inside the facts on the left, under the identities.
  expect(screen.getByRole("complementary", { name: "Traits and identities" }).contains(segments)).toBe(true);
});

test("the person's lifecycle stage by its name, since when, and their moves newest first; computed traits marked", async () => {
  mockApi({
    "GET /api/profiles/4": profile({
      traits: { firstName: "Alice", email: "alice@example.com", spent_90d: 120, lifecycle_stage: "customer" },
      computed_traits: ["spent_90d"],
      stage_history: [
        { at: "2030-01-01T00:01:00Z", from: null, to: "lead" },
        { at: "2030-01-02T00:00:00Z", from: "lead", to: "customer" },
      ],
    }),
    "GET /api/profiles/4/journeys": journeys,
    "GET /api/journeys": { journeys: [], next_cursor: null },
    "GET /api/messages": { messages: [], next_cursor: null },
    "GET /api/tasks": { tasks: [], next_cursor: null },
    "GET /api/lifecycle": lifecycle(),
  });
  render(<PersonPage id="4" />);
  const stage = await screen.findByRole("region", { name: "Lifecycle stage" });
  expect(screen.getByRole("complementary", { name: "Traits and identities" }).contains(stage)).toBe(true);
  // By its name once the lifecycle is had.
  expect((await within(stage).findByRole("link", { name: "Customer" })).getAttribute("href")).toBe("/lifecycle");
  expect(within(stage).getByTestId("person-stage").querySelector("time")?.getAttribute("dateTime")).toBe("2030-01-02T00:00:00Z");
  const moves = within(stage).getByRole("list", { name: "Stage moves, newest first" });
  expect(within(moves).getAllByRole("listitem").map((li) => [li.querySelector("span")?.textContent, li.querySelector("time")?.getAttribute("dateTime")])).toEqual([
    ["Lead → Customer", "2030-01-02T00:00:00Z"],
    ["No stage → Lead", "2030-01-01T00:01:00Z"],
  ]);
  // The traits: the computed one marked so, the stage trait as the stage.
  const traits = within(screen.getByRole("complementary", { name: "Traits and identities" })).getByRole("heading", { name: "Traits" }).parentElement as HTMLElement;
  // Said beside the value.
  const term = (name: string) => [...traits.querySelectorAll("dt")].find((dt) => dt.textContent === name)?.nextElementSibling as HTMLElement;
  expect(within(term("spent_90d")).getByText("computed").getAttribute("title")).toMatch(/^Wayfarer computes it from the person's history/);
  expect(within(term("lifecycle_stage")).getByText("stage")).toBeTruthy();
  expect(within(term("email")).queryByText("computed")).toBeNull();
});

test("a person at no stage, with no moves; stage ids until the lifecycle is had", async () => {
  server([]);
  const { unmount } = render(<PersonPage id="4" />);
  const stage = await screen.findByRole("region", { name: "Lifecycle stage" });
  expect(within(stage).getByText("At no stage.")).toBeTruthy();
  expect(within(stage).queryByRole("list")).toBeNull();
  unmount();
  cleanup();
  vi.unstubAllGlobals();
  mockApi({
    "GET /api/profiles/4": profile({ traits: { lifecycle_stage: "customer" }, stage_history: [{ at: "2030-01-02T00:00:00Z", from: "lead", to: "customer" }] }),
    "GET /api/profiles/4/journeys": journeys,
    "GET /api/journeys": { journeys: [], next_cursor: null },
    "GET /api/messages": { messages: [], next_cursor: null },
    "GET /api/tasks": { tasks: [], next_cursor: null },
  });
  render(<PersonPage id="4" />);
  const again = await screen.findByRole("region", { name: "Lifecycle stage" });
  expect(within(again).getByRole("link", { name: "customer" })).toBeTruthy();
  expect(within(again).getByText("lead → customer")).toBeTruthy();
});
