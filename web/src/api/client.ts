// A small typed fetch over the admin API: paths, parameters, bodies and answers come from the
// types generated from openapi.json (npm run gen). Every failure is an ApiError {code, message},
// as the server words its own.
import type { components, paths } from "./schema";

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

type Method = "get" | "post" | "put";
type PathWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends { responses: object } ? P : never }[keyof paths];
type Operation<P extends keyof paths, M extends Method> = paths[P][M];
type Answer<Op> = Op extends { responses: { 200: { content: { "application/json": infer T } } } } ? T : never;
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

async function request(method: Method, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method: method.toUpperCase(), headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError("network", `the server could not be reached (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const known = problem(json);
    throw known ? new ApiError(known.code, known.message, (json as { details?: unknown }).details) : new ApiError(`http_${response.status}`, `the server answered ${response.status} ${response.statusText}`.trim());
  }
  if (json === undefined) throw new ApiError("malformed_answer", `the server's answer to ${method.toUpperCase()} ${path} is not JSON`);
  return json;
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

export function apiPut<P extends PathWith<"put">>(
  path: P,
  body: RequestBody<Operation<P, "put">>,
  options: Options<Operation<P, "put">>,
): Promise<Answer<Operation<P, "put">>> {
  return request("put", url(path, options.params), body, options.signal) as Promise<Answer<Operation<P, "put">>>;
}
