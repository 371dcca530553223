// @vitest-environment happy-dom
import { afterEach, expect, test, vi } from "vitest";
import { mockApi } from "../test/api";
import { apiGetAll } from "./getAll";

afterEach(() => vi.unstubAllGlobals());

const template = (id: string) => ({ id, subject: `Hi from ${id}`, html: "", text: "x", updated_at: "2030-01-01T00:00:00Z" });

test("follows next_cursor page after page, and answers every item once, in the server's order", async () => {
  const ids = ["a", "a-c", "a0", "a_b", "ab"];
  const { calls } = mockApi({
    "GET /api/templates": ({ query }: { query: URLSearchParams }) => {
      const limit = Number(query.get("limit"));
      const start = query.get("cursor") === null ? 0 : ids.indexOf(query.get("cursor") ?? "") + 1;
      const page = ids.slice(start, start + limit);
      return { templates: page.map(template), next_cursor: page.length === limit ? page[page.length - 1] : null };
    },
  });
  const all = await apiGetAll("/api/templates", { limit: 2 });
  expect(all.map((t) => t.id)).toEqual(ids);
  expect(all[4].subject).toBe("Hi from ab");
  expect(calls.map((c) => [c.query.get("cursor"), c.query.get("limit")])).toEqual([
    [null, "2"],
    ["a-c", "2"],
    ["a_b", "2"],
  ]);
});

test("a whole page asks for the most the API gives, and a last full page is followed by an empty one", async () => {
  const { calls } = mockApi({
    "GET /api/users": ({ query }: { query: URLSearchParams }) =>
      query.get("cursor") === null
        ? { users: [{ id: 1, email: "ann@acme.test", name: "Ann", role: "admin", created_at: "", updated_at: "" }], next_cursor: "1" }
        : { users: [], next_cursor: null },
  });
  const users = await apiGetAll("/api/users");
  expect(users.map((u) => u.email)).toEqual(["ann@acme.test"]);
  expect(calls.map((c) => c.query.toString())).toEqual(["limit=1000", "limit=1000&cursor=1"]);
});

test("a failed page fails the whole list with the server's error, and a cursor given twice is an error, not a loop", async () => {
  mockApi({
    "GET /api/journeys": ({ query }: { query: URLSearchParams }) =>
      query.get("cursor") ? { __status: 503, body: { code: "unavailable", message: "the store is unavailable" } } : { journeys: [], next_cursor: "x" },
    "GET /api/sources": { sources: [], next_cursor: "same" },
  });
  await expect(apiGetAll("/api/journeys")).rejects.toMatchObject({ code: "unavailable", message: "the store is unavailable" });
  await expect(apiGetAll("/api/sources")).rejects.toMatchObject({ code: "malformed_answer" });
});
