// A small typed fetch over the admin API: paths, parameters, bodies and answers come from the
// types generated from openapi.json (npm run gen). Every failure is an ApiError {code, message},
// as the server words its own.
import { csrfToken } from "../auth/session";
import type { components, paths } from "./schema";
import type { WorkerAnswer, WorkerRequest } from "./worker-protocol";

export type Schemas = components["schemas"];

/** Where the admin token is kept until signing in with a cookie replaces it. */
const TOKEN_KEY = "wayfarer.token";

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token.trim());
}

export class ApiError extends Error {
  readonly code: string;
  /** The answer's `details`, for the codes that have some (`template_invalid`: `{problems}`). */
  readonly details: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.details = details;
  }
}

type Method = "get" | "post" | "put" | "delete";
type PathWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends { responses: object } ? P : never }[keyof paths];
type Operation<P extends keyof paths, M extends Method> = paths[P][M];
type Answer<Op> = Op extends { responses: { 200: { content: { "application/json": infer T } } } } ? T : never;
/** What a route answers with 201 Created (an upload). */
type Created<Op> = Op extends { responses: { 201: { content: { "application/json": infer T } } } } ? T : never;
type RequestBody<Op> = Op extends { requestBody: { content: { "application/json": infer T } } } ? T : never;
/** A call's options: the path parameters when the path has some ("/api/journeys/{id}" → params: {id}). */
type Options<Op> = { signal?: AbortSignal } & (Op extends { parameters: { path: infer T } } ? { params: T } : { params?: never }) &
  (Op extends { parameters: { query?: infer Q } } ? ([Q] extends [undefined] ? { query?: never } : { query?: Q }) : { query?: never });

function url(template: string, params: object | undefined, query?: object): string {
  const values: Record<string, unknown> = { ...params };
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(values[name])));
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null) search.set(name, String(value));
  const qs = search.toString();
  return qs === "" ? path : `${path}?${qs}`;
}

function problem(value: unknown): { code: string; message: string } | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { code, message } = value as Record<string, unknown>;
  return typeof code === "string" && typeof message === "string" ? { code, message } : undefined;
}

/** What every request carries: the token or the session's CSRF token, and the body's type (JSON unless said). */
function headersFor(method: Method, body: unknown, contentType = "application/json"): Record<string, string> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  // Signed in with the session cookie: what changes something carries the session's CSRF token.
  const csrf = csrfToken();
  if (csrf && method !== "get") headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = contentType;
  return headers;
}

const unreachable = (message: string) => new ApiError("network", `the server could not be reached (${message})`);

/** The answer's JSON, or the ApiError it says. */
function read(method: Method, path: string, status: number, statusText: string, text: string): unknown {
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status < 200 || status > 299) {
    const known = problem(json);
    throw known ? new ApiError(known.code, known.message, (json as { details?: unknown }).details) : new ApiError(`http_${status}`, `the server answered ${status} ${statusText}`.trim());
  }
  // A deletion answers 204 with no body.
  if (json === undefined && method === "delete" && status === 204) return undefined;
  if (json === undefined) throw new ApiError("malformed_answer", `the server's answer to ${method.toUpperCase()} ${path} is not JSON`);
  return json;
}

async function request(method: Method, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, { method: method.toUpperCase(), headers: headersFor(method, body), body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw unreachable(e instanceof Error ? e.message : String(e));
  }
  return read(method, path, response.status, response.statusText, await response.text());
}

let worker: Worker | undefined;
/** The worker could not run (its script did not load, say): requests are made by the page. */
let noWorker = false;
let nextId = 0;
const pending = new Map<number, (a: WorkerAnswer) => void>();

/**
 * `request`, with the fetch made by a worker (api/fetch.worker.ts): its answer is read there
 * and reaches the page in one task, however busy the page was drawing meanwhile. Where there
 * are no workers (the component tests), the page fetches itself.
 */
function requestOffThread(method: Method, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  if (typeof Worker === "undefined" || noWorker) return request(method, path, body, signal);
  if (!worker) {
    worker = new Worker(new URL("./fetch.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e: MessageEvent<WorkerAnswer>) => {
      pending.get(e.data.id)?.(e.data);
      pending.delete(e.data.id);
    };
    // A worker that fails answers nothing: what waits on it fails, and the page fetches from now on.
    worker.onerror = (e: ErrorEvent) => {
      noWorker = true;
      worker = undefined;
      for (const [id, settle] of pending) settle({ kind: "failed", id, message: `the request worker failed: ${e.message || "it did not load"}` });
      pending.clear();
    };
  }
  const w = worker;
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("aborted", "AbortError"));
    signal?.addEventListener("abort", () => {
      pending.delete(id);
      w.postMessage({ kind: "abort", id } satisfies WorkerRequest);
      reject(new DOMException("aborted", "AbortError"));
    });
    const sent = performance.now();
    pending.set(id, (a) => {
      if (a.kind === "failed") return reject(unreachable(a.message));
      // The request's own time, as the worker saw it (e2e/perf.mjs reports it beside the edit's).
      performance.measure(`wf:fetch ${path}`, { start: sent, duration: a.took });
      try {
        resolve(read(method, path, a.status, a.statusText, a.text));
      } catch (e) {
        reject(e);
      }
    });
    w.postMessage({ kind: "fetch", id, method: method.toUpperCase(), path, headers: headersFor(method, body), body: body === undefined ? undefined : JSON.stringify(body) } satisfies WorkerRequest);
  });
}

export function apiGet<P extends PathWith<"get">>(path: P, options: Options<Operation<P, "get">>): Promise<Answer<Operation<P, "get">>> {
  return request("get", url(path, options.params, options.query), undefined, options.signal) as Promise<Answer<Operation<P, "get">>>;
}

export function apiPost<P extends PathWith<"post">>(
  path: P,
  body: RequestBody<Operation<P, "post">>,
  options: Options<Operation<P, "post">>,
): Promise<Answer<Operation<P, "post">>> {
  return request("post", url(path, options.params), body, options.signal) as Promise<Answer<Operation<P, "post">>>;
}

/** `apiPost` made by a worker: for a request sent while the page is busy drawing, whose answer is wanted at once. */
export function apiPostOffThread<P extends PathWith<"post">>(
  path: P,
  body: RequestBody<Operation<P, "post">>,
  options: Options<Operation<P, "post">>,
): Promise<Answer<Operation<P, "post">>> {
  return requestOffThread("post", url(path, options.params), body, options.signal) as Promise<Answer<Operation<P, "post">>>;
}

export function apiPut<P extends PathWith<"put">>(
  path: P,
  body: RequestBody<Operation<P, "put">>,
  options: Options<Operation<P, "put">>,
): Promise<Answer<Operation<P, "put">>> {
  return request("put", url(path, options.params), body, options.signal) as Promise<Answer<Operation<P, "put">>>;
}

/** Deletes what `path` names; the server answers 204 with no body. */
export function apiDelete<P extends PathWith<"delete">>(path: P, options: Options<Operation<P, "delete">>): Promise<void> {
  return request("delete", url(path, options.params), undefined, options.signal).then(() => undefined);
}

/**
 * What `path` answers that is not JSON (a CSV export), as a file: with the token or the
 * session's cookie as every request; the ApiError the server says when it fails.
 */
export async function apiFile(path: string, options: { signal?: AbortSignal; accept?: string } = {}): Promise<Blob> {
  const headers = headersFor("get", undefined);
  headers.accept = options.accept ?? "*/*";
  let response: Response;
  try {
    response = await fetch(path, { headers, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw unreachable(e instanceof Error ? e.message : String(e));
  }
  if (!response.ok) read("get", path, response.status, response.statusText, await response.text());
  return response.blob();
}

/**
 * Posts `file` itself as the body, with its own content type (an image to `/api/assets`, whose
 * body is the image's bytes, not JSON), and the token or the session's CSRF token as every
 * request carries them; answers what the server created (201), or the ApiError it says. A file
 * the browser could not type goes as `application/octet-stream`, for the server to refuse.
 */
export async function apiUpload<P extends PathWith<"post">>(path: P, file: Blob, options: Options<Operation<P, "post">>): Promise<Created<Operation<P, "post">>> {
  const at = url(path, options.params, options.query);
  let response: Response;
  try {
    response = await fetch(at, { method: "POST", headers: headersFor("post", file, file.type || "application/octet-stream"), body: file, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw unreachable(e instanceof Error ? e.message : String(e));
  }
  return read("post", at, response.status, response.statusText, await response.text()) as Created<Operation<P, "post">>;
}
