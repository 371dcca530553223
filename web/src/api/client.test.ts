// @vitest-environment happy-dom
import { afterEach, expect, test, vi } from "vitest";
import { apiGet, apiPost, apiPut, ApiError, setToken } from "./client";

function answer(status: number, body: unknown) {
  const fetch = vi.fn(async (..._: Parameters<typeof globalThis.fetch>) => new Response(typeof body === "string" ? body : JSON.stringify(body), { status }));
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

test("sends the bearer token and fills the path's parameters", async () => {
  setToken(" wf_abc ");
  const fetch = answer(200, { id: "a b", status: "draft" });
  const journey = await apiGet("/api/journeys/{id}", { params: { id: "a b" } });
  expect(journey.id).toBe("a b");
  const [url, init] = fetch.mock.calls[0];
  expect(url).toBe("/api/journeys/a%20b");
  expect(new Headers(init?.headers).get("authorization")).toBe("Bearer wf_abc");
});

test("posts JSON", async () => {
  const fetch = answer(200, { valid: true, diagnostics: [] });
  await apiPost("/api/journeys/validate", { id: "x" }, {});
  const [, init] = fetch.mock.calls[0];
  expect(init?.method).toBe("POST");
  expect(init?.body).toBe('{"id":"x"}');
  expect(new Headers(init?.headers).get("content-type")).toBe("application/json");
  expect(new Headers(init?.headers).has("authorization")).toBe(false);
});

test("errors are the server's {code, message}", async () => {
  answer(401, { code: "invalid_admin_token", message: "the admin token is not valid" });
  await expect(apiGet("/api/journeys", {})).rejects.toEqual(new ApiError("invalid_admin_token", "the admin token is not valid"));
  await expect(apiGet("/api/journeys", {})).rejects.toMatchObject({ code: "invalid_admin_token" });
});

test("an error without that shape still says what happened", async () => {
  answer(502, "<html>bad gateway</html>");
  await expect(apiGet("/api/journeys", {})).rejects.toMatchObject({ code: "http_502" });
});

test("an unreachable server is a network error", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    }),
  );
  await expect(apiGet("/api/journeys", {})).rejects.toMatchObject({ code: "network", message: "the server could not be reached (Failed to fetch)" });
});

test("adds the query's parameters, leaving out those not given", async () => {
  const fetch = answer(200, { profiles: [], next_cursor: null });
  await apiGet("/api/profiles", { query: { q: "al ice", limit: 20, cursor: undefined } });
  expect(fetch.mock.calls[0][0]).toBe("/api/profiles?q=al+ice&limit=20");
  await apiGet("/api/profiles", {});
  expect(fetch.mock.calls[1][0]).toBe("/api/profiles");
});

test("puts JSON, and keeps an error's details", async () => {
  const fetch = answer(422, { code: "template_invalid", message: "html has a problem", details: { problems: [{ part: "html", message: "bad tag" }] } });
  const failure = apiPut("/api/templates/{id}", { subject: "Hi" }, { params: { id: "welcome" } });
  await expect(failure).rejects.toMatchObject({ code: "template_invalid", details: { problems: [{ part: "html", message: "bad tag" }] } });
  const [url, init] = fetch.mock.calls[0];
  expect([url, init?.method, init?.body]).toEqual(["/api/templates/welcome", "PUT", '{"subject":"Hi"}']);
});
