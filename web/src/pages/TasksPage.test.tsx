// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi, type MockRequest } from "../test/api";
import { adminToken, sessionAs, withSession } from "../test/session";
import { TasksPage } from "./TasksPage";

beforeEach(() => window.history.pushState(null, "", "/tasks"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const task = (id: number, over: Partial<Schemas["TaskView"]> = {}): Schemas["TaskView"] => ({
  id,
  profile_id: 4,
  person: { id: 4, identities: [{ kind: "user_id", value: "alice" }], traits: { name: "Alice Martin", email: "alice@x.test" } },
  journey: "trial-onboarding",
  node: "call",
  title: `Call Alice (${id})`,
  body: "She looked at pricing 3 times this week.",
  assignee: null,
  team: "sales",
  due_at: "2030-01-02T00:00:00Z",
  created_at: "2030-01-01T00:00:00Z",
  status: "open",
  closed_at: null,
  closed_by: null,
  note: null,
  ...over,
});

/** The server's clock: a day and a half after the first task was made. */
const CLOCK = { now: "2030-01-02T12:00:00Z", manual: true };

const items = () => within(screen.getByRole("list", { name: "Tasks" })).getAllByRole("listitem");

test("open tasks, oldest first: what, about whom, from which journey's step, whose, due (overdue marked); a page at a time", async () => {
  const { calls } = mockApi({
    "GET /api/tasks": ({ query }: MockRequest) =>
      query.get("cursor") === "2"
        ? { tasks: [task(3, { due_at: null, team: null, assignee: null })], next_cursor: null }
        : { tasks: [task(1), task(2, { due_at: "2030-01-05T00:00:00Z", assignee: "sam@acme.test", team: null, body: "" })], next_cursor: "2" },
    "GET /api/clock": CLOCK,
  });
  render(withSession(sessionAs("viewer", "sam@acme.test"), <TasksPage />));
  expect(await screen.findByRole("heading", { name: "Call Alice (1)", level: 2 })).toBeTruthy();
  expect(calls.find((c) => c.path === "/api/tasks")?.query.toString()).toBe("limit=50&status=open");
  const [first, second] = items();
  expect(within(first).getByText("She looked at pricing 3 times this week.")).toBeTruthy();
  expect(within(first).getByRole("link", { name: "Alice Martin" }).getAttribute("href")).toBe("/people/4");
  expect(within(first).getByRole("link", { name: "trial-onboarding" }).getAttribute("href")).toBe("/journeys/trial-onboarding");
  expect(within(first).getByText("call").tagName).toBe("CODE");
  expect(within(first).getByText("team sales")).toBeTruthy();
  // Due a day after it was made, and the server's clock is past that: overdue.
  await waitFor(() => expect(within(first).getByText("overdue").className).toContain("status-task-overdue"));
  expect(within(first).getByRole("article").getAttribute("data-overdue")).toBe("true");
  expect(within(second).queryByText("overdue")).toBeNull();
  expect(within(second).getByText("sam@acme.test")).toBeTruthy();
  expect(screen.getByRole("status").textContent).toBe("2 tasks shown");
  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await screen.findByRole("heading", { name: "Call Alice (3)" })).toBeTruthy();
  expect(within(items()[2]).getByText("anyone")).toBeTruthy();
  expect(within(items()[2]).getByText("no due date")).toBeTruthy();
  expect(calls.filter((c) => c.path === "/api/tasks").map((c) => c.query.get("cursor"))).toEqual([null, "2"]);
});

test("completing with a note, declining: the task as the server answers it, in its place; a viewer may", async () => {
  const { calls } = mockApi({
    "GET /api/tasks": { tasks: [task(1), task(2)], next_cursor: null },
    "GET /api/clock": CLOCK,
    "POST /api/tasks/1/complete": ({ body }: MockRequest) =>
      task(1, { status: "completed", closed_at: "2030-01-02T12:00:00Z", closed_by: "user:vic@acme.test", note: (body as { note?: string }).note ?? null }),
    "POST /api/tasks/2/decline": task(2, { status: "declined", closed_at: "2030-01-02T12:00:00Z", closed_by: "user:vic@acme.test" }),
  });
  render(withSession(sessionAs("viewer", "vic@acme.test"), <TasksPage />));
  await screen.findByRole("heading", { name: "Call Alice (1)" });
  const [first, second] = items();
  fireEvent.change(within(first).getByLabelText("Note (optional)"), { target: { value: "  Booked a demo for Friday " } });
  fireEvent.click(within(first).getByRole("button", { name: "Complete" }));
  expect(await within(first).findByText("completed")).toBeTruthy();
  expect(within(first).getByText("Booked a demo for Friday")).toBeTruthy();
  expect(within(first).getByText(/by vic@acme\.test/)).toBeTruthy();
  expect(within(first).queryByRole("button", { name: "Complete" })).toBeNull();
  expect(within(first).queryByText("overdue")).toBeNull();
  expect(screen.getByText("Completed: Call Alice (1)").getAttribute("role")).toBe("status");
  expect(calls.find((c) => c.path === "/api/tasks/1/complete")?.body).toEqual({ note: "Booked a demo for Friday" });
  // Without a note, none is sent.
  fireEvent.click(within(second).getByRole("button", { name: "Decline" }));
  expect(await within(second).findByText("declined")).toBeTruthy();
  expect(calls.find((c) => c.path === "/api/tasks/2/decline")?.body).toEqual({});
});

test("a task closed meanwhile (409 conflict): the server's message, and the list loaded again", async () => {
  let closed = false;
  const { calls } = mockApi({
    "GET /api/tasks": () => ({ tasks: closed ? [] : [task(1)], next_cursor: null }),
    "GET /api/clock": CLOCK,
    "POST /api/tasks/1/complete": () => {
      closed = true;
      return { __status: 409, body: { code: "conflict", message: "task 1 is declined already" } };
    },
  });
  render(<TasksPage />);
  await screen.findByRole("heading", { name: "Call Alice (1)" });
  fireEvent.click(screen.getByRole("button", { name: "Complete" }));
  expect((await screen.findByRole("alert")).textContent).toBe("task 1 is declined already: the list is loaded again.");
  expect(await screen.findByText("No open task.")).toBeTruthy();
  expect(calls.filter((c) => c.path === "/api/tasks")).toHaveLength(2);
});

test("filters: status, mine (the signed-in user's email), a team; kept in the address", async () => {
  const { calls } = mockApi({
    "GET /api/tasks": ({ query }: MockRequest) => ({ tasks: query.get("status") === "completed" ? [] : [task(1)], next_cursor: null }),
    "GET /api/clock": CLOCK,
  });
  render(withSession(sessionAs("editor", "Sam@Acme.test"), <TasksPage />));
  await screen.findByRole("heading", { name: "Call Alice (1)" });
  const asked = () => calls.filter((c) => c.path === "/api/tasks").at(-1)?.query;
  fireEvent.click(screen.getByLabelText("Mine only (Sam@Acme.test)"));
  await waitFor(() => expect(asked()?.get("assignee")).toBe("Sam@Acme.test"));
  fireEvent.change(screen.getByLabelText("Team"), { target: { value: " sales " } });
  await waitFor(() => expect(asked()?.get("team")).toBe("sales"));
  expect(window.location.search).toBe("?mine=1&team=sales");
  fireEvent.change(screen.getByLabelText("Show"), { target: { value: "completed" } });
  await waitFor(() => expect(asked()?.get("status")).toBe("completed"));
  expect(window.location.search).toBe("?status=completed&mine=1&team=sales");
  expect(await screen.findByText("No completed task of yours (Sam@Acme.test) and of team sales.")).toBeTruthy();
  // The empty state says where tasks come from.
  expect(screen.getByText(/^Tasks come from journeys/).textContent).toContain("a Task step (in the journey editor's palette) asks a teammate to act about the person in the run");
  fireEvent.change(screen.getByLabelText("Show"), { target: { value: "all" } });
  await waitFor(() => expect(asked()?.has("status")).toBe(false));
});

test("signed in with the admin token: no user, so no tasks are its own; the filters come from the address", async () => {
  window.history.pushState(null, "", "/tasks?status=declined&team=support");
  const { calls } = mockApi({ "GET /api/tasks": { tasks: [], next_cursor: null }, "GET /api/clock": CLOCK });
  render(withSession(adminToken, <TasksPage />));
  const mine = (await screen.findByLabelText("Mine only: signed in with a token, not as a user")) as HTMLInputElement;
  expect(mine.disabled).toBe(true);
  expect((screen.getByLabelText("Show") as HTMLSelectElement).value).toBe("declined");
  expect((screen.getByLabelText("Team") as HTMLInputElement).value).toBe("support");
  expect(await screen.findByText("No declined task of team support.")).toBeTruthy();
  const query = calls.find((c) => c.path === "/api/tasks")?.query;
  expect([query?.get("status"), query?.get("team"), query?.has("assignee")]).toEqual(["declined", "support", false]);
  expect(screen.getByText(/"type": "task"/)).toBeTruthy();
});
