// Plain JSON helpers for editing the journey document in place of a model: values are never
// mutated, each change copies only the objects on its path, and keys keep their order (a
// changed key stays where it was; a new one goes last), so a document saved unchanged is the
// document loaded.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A path into a document: object keys and array indexes, as a JSON pointer's parts. */
export type Path = readonly (string | number)[];

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Structural equality of JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

export function getIn(value: unknown, path: Path): unknown {
  let v = value;
  for (const key of path) {
    if (Array.isArray(v) && typeof key === "number") v = v[key];
    else if (isObject(v) && typeof key === "string") v = v[key];
    else return undefined;
  }
  return v;
}

/**
 * `value` with the value at `path` replaced; `undefined` removes the key (or the array item).
 * Missing objects on the way are created. The original is left as it was.
 */
export function setIn<T>(value: T, path: Path, next: unknown): T {
  if (path.length === 0) return next as T;
  const [key, ...rest] = path;
  if (typeof key === "number") {
    const list = Array.isArray(value) ? [...value] : [];
    const item = setIn(list[key], rest, next);
    if (item === undefined && rest.length === 0) list.splice(key, 1);
    else list[key] = item;
    return list as T;
  }
  const obj: Record<string, unknown> = isObject(value) ? { ...value } : {};
  const item = setIn(obj[key], rest, next);
  if (item === undefined) delete obj[key];
  else obj[key] = item;
  return obj as T;
}

/** "/steps/0/events/1/next" for ["steps", 0, "events", 1, "next"] (RFC 6901 escapes). */
export function pointer(path: Path): string {
  return path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** The parts of a JSON pointer ("" is the whole document); numbers for what look like indexes. */
export function parsePointer(ptr: string): (string | number)[] {
  if (ptr === "") return [];
  return ptr
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) => (/^(0|[1-9]\d*)$/.test(p) ? Number(p) : p));
}

/** A value as JSON text on one line, object keys sorted (as the server's CLI prints them). */
export function compactJson(v: unknown): string {
  return JSON.stringify(sortKeys(v)) ?? "undefined";
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}
