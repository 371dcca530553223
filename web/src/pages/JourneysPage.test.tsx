// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi } from "../test/api";
import { JourneysPage } from "./JourneysPage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const journey = (over: Partial<Schemas["JourneySummary"]>): Schemas["JourneySummary"] => ({
  id: "consultation",
  name: "Invite engaged visitors",
  status: "published",
  state: "active",
  published_version: 3,
  updated_at: "2030-01-01T00:00:00Z",
  waiting: 1234,
  entered_7d: 200,
  converted_7d: 50,
  ...over,
});

test("the list: status, state, version, waiting now, entered and converted in 7 days, numbers right-aligned", async () => {
  mockApi({ "GET /api/journeys": { journeys: [journey({}), journey({ id: "cart", name: "Cart", status: "draft", published_version: null, waiting: 0, entered_7d: 0, converted_7d: 0 })], next_cursor: null } });
  render(<JourneysPage />);
  const table = await screen.findByRole("table");
  const headers = within(table)
    .getAllByRole("columnheader")
    .map((h) => h.textContent);
  expect(headers).toEqual(["Journey", "Status", "State", "Version", "Waiting now", "Entered, 7 days", "Converted, 7 days", "Updated"]);
  const [first, second] = within(table).getAllByRole("row").slice(1);
  const cells = within(first).getAllByRole("cell");
  expect(cells[0].textContent).toBe("Invite engaged visitorsconsultation");
  expect(cells.slice(1, 7).map((c) => c.textContent)).toEqual(["published", "active", "3", "1,234", "200", "50 · 25%"]);
  expect(cells[4].className).toBe("num");
  expect(within(second).getAllByRole("cell")[3].textContent).toBe("none");
  expect(within(second).getAllByRole("cell")[6].textContent).toBe("0");
  expect(within(first).getByRole("link", { name: "Invite engaged visitors" }).getAttribute("href")).toBe("/journeys/consultation");
});

test("an error says the server's message", async () => {
  mockApi({ "GET /api/journeys": { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } } });
  render(<JourneysPage />);
  expect((await screen.findByRole("alert")).textContent).toContain("The journeys could not be listed: the store is unavailable");
});

test("a page of journeys at a time: Load more asks for the next with the cursor, until the last", async () => {
  const { calls } = mockApi({
    "GET /api/journeys": ({ query }: { query: URLSearchParams }) => {
      if (query.get("cursor") === null) return { journeys: [journey({ id: "a", name: "First" }), journey({ id: "b", name: "Second" })], next_cursor: "b" };
      if (query.get("cursor") === "b") return { journeys: [journey({ id: "c", name: "Third" })], next_cursor: null };
      return { __status: 400, body: { code: "invalid_request", message: "not a cursor" } };
    },
  });
  render(<JourneysPage />);
  expect(await screen.findByRole("link", { name: "Second" })).toBeTruthy();
  expect(screen.getByRole("status").textContent).toBe("2 journeys shown");
  fireEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await screen.findByRole("link", { name: "Third" })).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
  expect(screen.getByRole("status").textContent).toBe("3 journeys shown, that is all");
  expect(within(screen.getByRole("table")).getAllByRole("link").map((l) => l.textContent)).toEqual(["First", "Second", "Third"]);
  expect(calls.map((c) => [c.query.get("cursor"), c.query.get("limit")])).toEqual([
    [null, "100"],
    ["b", "100"],
  ]);
});

test("a next page that fails says why beside the journeys already shown", async () => {
  mockApi({
    "GET /api/journeys": ({ query }: { query: URLSearchParams }) =>
      query.get("cursor") ? { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } } : { journeys: [journey({})], next_cursor: "consultation" },
  });
  render(<JourneysPage />);
  fireEvent.click(await screen.findByRole("button", { name: "Load more" }));
  expect((await screen.findByRole("alert")).textContent).toContain("The next journeys could not be loaded: the store is unavailable");
  expect(screen.getByRole("link", { name: "Invite engaged visitors" })).toBeTruthy();
});
