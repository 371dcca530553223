// @vitest-environment happy-dom
import { afterEach, expect, test, vi } from "vitest";
import { remember } from "../auth/session";
import { sessionAs } from "../test/session";
import { apiGet, apiPost, apiPostOffThread, apiPut, apiUpload, ApiError, setToken } from "./client";
import type { WorkerAnswer, WorkerRequest } from "./worker-protocol";

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

test("uploads a file as the body itself, with its own type and the name in the query; answers what was created", async () => {
  setToken("wf_abc");
  const created = { hash: "ab", content_type: "image/png", name: "logo.png", size: 8, url: "/a/ab.png", created_at: "2030-01-01T00:00:00Z" };
  const fetch = answer(201, created);
  const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "logo.png", { type: "image/png" });
  expect(await apiUpload("/api/assets", file, { query: { name: "my logo.png" } })).toEqual(created);
  const [url, init] = fetch.mock.calls[0];
  expect([url, init?.method, init?.body]).toEqual(["/api/assets?name=my+logo.png", "POST", file]);
  const headers = new Headers(init?.headers);
  expect(headers.get("content-type")).toBe("image/png");
  expect(headers.get("authorization")).toBe("Bearer wf_abc");
  expect(headers.get("accept")).toBe("application/json");
  // A file the browser could not type: the server says what it takes.
  await apiUpload("/api/assets", new File(["x"], "notes"), {});
  expect(new Headers(fetch.mock.calls[1][1]?.headers).get("content-type")).toBe("application/octet-stream");
});

test("an upload signed in with the session cookie carries the session's CSRF token, as every change does", async () => {
  remember({ ...sessionAs("editor"), csrf_token: "csrf-123" });
  try {
    const fetch = answer(415, { code: "unsupported_media_type", message: '"text/plain" is not an image kind taken' });
    const failure = apiUpload("/api/assets", new File(["hi"], "notes.txt", { type: "text/plain" }), { query: { name: "notes.txt" } });
    await expect(failure).rejects.toEqual(new ApiError("unsupported_media_type", '"text/plain" is not an image kind taken'));
    const headers = new Headers(fetch.mock.calls[0][1]?.headers);
    expect(headers.get("x-csrf-token")).toBe("csrf-123");
    expect(headers.has("authorization")).toBe(false);
    expect(headers.get("content-type")).toBe("text/plain");
  } finally {
    remember(null);
  }
});

test("an upload to an unreachable server is a network error", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    }),
  );
  await expect(apiUpload("/api/assets", new File(["x"], "a.png", { type: "image/png" }), {})).rejects.toMatchObject({ code: "network" });
});

/** A stand-in for api/fetch.worker.ts: records what the page posts and answers as `reply` says. */
class FakeWorker {
  static last: FakeWorker | undefined;
  static reply: (m: WorkerRequest) => WorkerAnswer | undefined = () => undefined;
  posted: WorkerRequest[] = [];
  onmessage: ((e: MessageEvent<WorkerAnswer>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  constructor() {
    FakeWorker.last = this;
  }
  postMessage(m: WorkerRequest) {
    this.posted.push(m);
    const a = FakeWorker.reply(m);
    if (a) queueMicrotask(() => this.onmessage?.({ data: a } as MessageEvent<WorkerAnswer>));
  }
}

test("off the main thread: the worker is sent the request with its credentials, and its answer is read as fetch's would be", async () => {
  vi.stubGlobal("Worker", FakeWorker);
  setToken("wf_w");
  FakeWorker.reply = (m) => (m.kind === "fetch" ? { kind: "answer", id: m.id, status: 200, statusText: "OK", text: JSON.stringify({ valid: true, diagnostics: [] }), took: 3 } : undefined);
  const doc = { id: "j", entry: { event: "A" }, steps: [] };
  const v = await apiPostOffThread("/api/journeys/validate", doc as never, {});
  expect(v).toEqual({ valid: true, diagnostics: [] });
  const sent = FakeWorker.last?.posted.at(-1);
  expect(sent).toMatchObject({ kind: "fetch", method: "POST", path: "/api/journeys/validate", body: JSON.stringify(doc) });
  expect(sent?.kind === "fetch" && sent.headers).toMatchObject({ authorization: "Bearer wf_w", "content-type": "application/json" });

  FakeWorker.reply = (m) => (m.kind === "fetch" ? { kind: "answer", id: m.id, status: 401, statusText: "Unauthorized", text: JSON.stringify({ code: "not_signed_in", message: "sign in" }), took: 3 } : undefined);
  await expect(apiPostOffThread("/api/journeys/validate", doc as never, {})).rejects.toMatchObject({ code: "not_signed_in", message: "sign in" });
  FakeWorker.reply = (m) => (m.kind === "fetch" ? { kind: "failed", id: m.id, message: "Failed to fetch" } : undefined);
  await expect(apiPostOffThread("/api/journeys/validate", doc as never, {})).rejects.toMatchObject({ code: "network" });
});

test("off the main thread: aborting tells the worker, and the call rejects", async () => {
  vi.stubGlobal("Worker", FakeWorker);
  FakeWorker.reply = () => undefined;
  const controller = new AbortController();
  const call = apiPostOffThread("/api/journeys/validate", { id: "j" } as never, { signal: controller.signal });
  const sent = FakeWorker.last?.posted.at(-1);
  controller.abort();
  await expect(call).rejects.toMatchObject({ name: "AbortError" });
  expect(FakeWorker.last?.posted.at(-1)).toEqual({ kind: "abort", id: sent?.id });
});

test("off the main thread: a worker that fails fails what waits on it, and the page fetches from then on", async () => {
  vi.stubGlobal("Worker", FakeWorker);
  FakeWorker.reply = () => undefined;
  const waiting = apiPostOffThread("/api/journeys/validate", { id: "j" } as never, {});
  FakeWorker.last?.onerror?.({ message: "no script" } as ErrorEvent);
  await expect(waiting).rejects.toMatchObject({ code: "network", message: "the server could not be reached (the request worker failed: no script)" });
  const fetch = answer(200, { valid: true, diagnostics: [] });
  expect(await apiPostOffThread("/api/journeys/validate", { id: "j" } as never, {})).toEqual({ valid: true, diagnostics: [] });
  expect(fetch).toHaveBeenCalledTimes(1);
});
