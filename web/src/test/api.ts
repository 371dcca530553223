// A fetch that answers like the admin API, for component tests: routes by "METHOD /path"
// (the query is handed to the handler), everything else a 404 `not_found`.
import { vi } from "vitest";

export interface MockRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The JSON body, parsed. */
  body: unknown;
  /** The body as sent, when it is not JSON (an uploaded file). */
  raw?: BodyInit | null;
  headers: Headers;
}

/** What a route answers: a body (status 200), or [status, body]. */
export type MockAnswer = unknown;
export type Route = (request: MockRequest) => MockAnswer | Promise<MockAnswer>;

export const answer = (status: number, body: unknown) => ({ __status: status, body });

export function mockApi(routes: Record<string, Route | object>) {
  const calls: MockRequest[] = [];
  const fetch = vi.fn(async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://wayfarer.test");
    const method = (init?.method ?? "GET").toUpperCase();
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    const raw = typeof init?.body === "string" ? undefined : init?.body;
    const request = { method, path: url.pathname, query: url.searchParams, body, raw, headers: new Headers(init?.headers) };
    calls.push(request);
    const route = routes[`${method} ${url.pathname}`];
    if (route === undefined) {
      return new Response(JSON.stringify({ code: "not_found", message: `no ${method} ${url.pathname} in this test` }), { status: 404 });
    }
    const out = typeof route === "function" ? await (route as Route)(request) : route;
    const framed = typeof out === "object" && out !== null && "__status" in out ? (out as { __status: number; body: unknown }) : undefined;
    const [status, payload] = framed ? [framed.__status, framed.body] : [200, out];
    return new Response(JSON.stringify(payload), { status });
  });
  vi.stubGlobal("fetch", fetch);
  return { fetch, calls };
}
