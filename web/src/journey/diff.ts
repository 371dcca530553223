// The differences between two versions of a journey document, as `wayfarer journeys diff`
// reports them (crates/server/src/cli.rs, `diff`): fields outside the steps by JSON pointer,
// steps matched by id (removed, added, changed field by field), and a change of order.
import { compactJson, deepEqual, isObject } from "./json";

export interface FieldChange {
  path: string;
  old?: unknown;
  new?: unknown;
}

export type Change =
  | { kind: "field"; change: FieldChange }
  | { kind: "removed"; id: string; step: unknown; first?: string }
  | { kind: "added"; id: string; step: unknown; first: boolean }
  | { kind: "changed"; id: string; fields: FieldChange[] }
  | { kind: "order"; old: string[]; new: string[] };

/** The top-level fields in the order of docs/JOURNEYS.md, then any other alphabetically. */
const FIELD_ORDER = ["id", "name", "timezone", "entry", "exit", "goal", "history"];

const sign = (c: FieldChange) => (c.old !== undefined && c.new !== undefined ? "~" : c.old === undefined ? "+" : "-");

function describeField(c: FieldChange): string {
  if (c.old !== undefined && c.new !== undefined) return `${c.path}: ${compactJson(c.old)} -> ${compactJson(c.new)}`;
  return `${c.path}: ${compactJson(c.old !== undefined ? c.old : c.new)}`;
}

function fieldChanges(path: string, a: unknown, b: unknown, out: FieldChange[]): void {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) fieldChanges(`${path}/${k}`, a[k], b[k], out);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) fieldChanges(`${path}/${i}`, a[i], b[i], out);
  } else if (!(a === undefined && b === undefined) && !deepEqual(a, b)) {
    out.push({ path, ...(a !== undefined ? { old: a } : {}), ...(b !== undefined ? { new: b } : {}) });
  }
}

/** The steps by id, in order; undefined when they cannot be matched by id (then compared by position). */
function stepsById(doc: unknown): [string, unknown][] | undefined {
  const steps = isObject(doc) ? doc.steps : undefined;
  if (steps === undefined) return [];
  if (!Array.isArray(steps)) return undefined;
  const seen = new Set<string>();
  const out: [string, unknown][] = [];
  for (const s of steps) {
    if (!isObject(s) || typeof s.id !== "string" || seen.has(s.id)) return undefined;
    seen.add(s.id);
    out.push([s.id, s]);
  }
  return out;
}

/** Every difference from `old` to `new`, in the CLI's order. */
export function diff(old: unknown, next: unknown): Change[] {
  if (!isObject(old) || !isObject(next)) {
    const fields: FieldChange[] = [];
    fieldChanges("", old, next, fields);
    return fields.map((change) => ({ kind: "field", change }));
  }
  const a = stepsById(old);
  const b = stepsById(next);
  const matched = a !== undefined && b !== undefined;
  const rank = (k: string) => {
    const i = FIELD_ORDER.indexOf(k);
    return i < 0 ? FIELD_ORDER.length : i;
  };
  const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])]
    .filter((k) => !matched || k !== "steps")
    .sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0));
  const fields: FieldChange[] = [];
  for (const k of keys) fieldChanges(`/${k}`, old[k], next[k], fields);
  const out: Change[] = fields.map((change) => ({ kind: "field", change }));
  if (!matched) return out;
  const find = (list: [string, unknown][], id: string) => list.findIndex(([i]) => i === id);
  a.forEach(([id, step], i) => {
    if (find(b, id) < 0) out.push({ kind: "removed", id, step, ...(i === 0 ? { first: b[0]?.[0] ?? "(none)" } : {}) });
  });
  b.forEach(([id, step], i) => {
    if (find(a, id) < 0) out.push({ kind: "added", id, step, first: i === 0 });
  });
  for (const [id, step] of b) {
    const j = find(a, id);
    if (j < 0) continue;
    const changed: FieldChange[] = [];
    fieldChanges("", a[j][1], step, changed);
    if (changed.length > 0) out.push({ kind: "changed", id, fields: changed });
  }
  const common = (from: [string, unknown][], other: [string, unknown][]) => from.filter(([id]) => find(other, id) >= 0).map(([id]) => id);
  const [oldOrder, newOrder] = [common(a, b), common(b, a)];
  if (oldOrder.join("\n") !== newOrder.join("\n")) out.push({ kind: "order", old: oldOrder, new: newOrder });
  return out;
}

/** The lines `wayfarer journeys diff` prints for a change. */
export function changeLines(c: Change): string[] {
  switch (c.kind) {
    case "field":
      return [`${sign(c.change)} ${describeField(c.change)}`];
    case "removed":
      return [`- step ${c.id}${c.first !== undefined ? ` (was the first step; runs now start at ${c.first})` : ""}: ${compactJson(c.step)}`];
    case "added":
      return [`+ step ${c.id}${c.first ? " (now the first step: runs start here)" : ""}: ${compactJson(c.step)}`];
    case "changed":
      return c.fields.map((f) => `${sign(f)} step ${c.id} ${describeField(f)}`);
    case "order":
      return [`~ step order: ${c.old.join(", ")} -> ${c.new.join(", ")}`];
  }
}

/** How each node differs, for marking the canvas: by step id, and the entry. */
export interface NodeMarks {
  added: Set<string>;
  removed: Set<string>;
  changed: Set<string>;
  entryChanged: boolean;
}

export function nodeMarks(changes: Change[]): NodeMarks {
  const marks: NodeMarks = { added: new Set(), removed: new Set(), changed: new Set(), entryChanged: false };
  for (const c of changes) {
    if (c.kind === "added") marks.added.add(c.id);
    else if (c.kind === "removed") marks.removed.add(c.id);
    else if (c.kind === "changed") marks.changed.add(c.id);
    else if (c.kind === "field" && (c.change.path === "/entry" || c.change.path.startsWith("/entry/"))) marks.entryChanged = true;
  }
  return marks;
}
