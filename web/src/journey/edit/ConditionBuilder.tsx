// The condition builder: all / any / not groups of comparisons on traits, event properties,
// history aggregates, the person's local clock, run variables, reachability and segment
// membership, writing the condition JSON of docs/JOURNEYS.md ("Conditions") as it is, key for
// key. Names autocomplete from what the data has shown (GET /api/names): traits, event names, and
// the property paths of the event a comparison reads (`PropertyEvent`). The journey editor, a
// segment's page and the lifecycle's stages use it (`useConditionApi`); the server's problems
// with a condition show at the condition they are about, by their JSON pointer. A computed trait's
// history query is edited with the history condition's own fields (`HistoryForm`).
import { createContext, useContext, useId, useState, type ReactNode } from "react";
import { CHANNELS, channelText, PROPERTY_AGGREGATES } from "../describe";
import type { CanvasDiagnostic } from "../diagnostics";
import type { Json } from "../json";
import { isObject } from "../json";
import { DurationInput, SegmentSelect, ValueInput } from "./fields";
import { PropertyEvent, propertyPaths, useConditionApi } from "./context";

type Obj = Record<string, unknown>;

/** Kinds of condition a place allows (the validator says the rest: a trait in a history where...). */
export type ConditionKind = "trait" | "property" | "history" | "time_of_day" | "day_of_week" | "run" | "reachable" | "segment" | "group";

export const ALL_KINDS: readonly ConditionKind[] = ["property", "trait", "history", "time_of_day", "day_of_week", "run", "reachable", "segment", "group"];

/** What a segment's condition may read: the person (traits, history, reachability, other segments), not an event, a run or the clock. */
export const SEGMENT_KINDS: readonly ConditionKind[] = ["trait", "history", "reachable", "segment", "group"];

const KIND_LABELS: Record<ConditionKind, string> = {
  property: "Event property",
  trait: "Trait",
  history: "Event history (count…)",
  time_of_day: "Local time of day",
  day_of_week: "Day of the week",
  run: "Run variable",
  reachable: "Reachable (email, SMS, push or in-app)",
  segment: "Segment membership",
  group: "Group (all / any)",
};

/** A new condition of a kind, with the keys in the order the documentation writes them. */
export function newCondition(kind: ConditionKind): Obj {
  switch (kind) {
    case "trait":
      return { trait: "", op: "eq", value: "" };
    case "property":
      return { property: "", op: "eq", value: "" };
    case "run":
      return { run: "", op: "eq", value: "" };
    case "history":
      return { history: { event: "", within: "7d" }, op: "gte", value: 1 };
    case "time_of_day":
      return { clock: "time_of_day", op: "gte", value: "09:00" };
    case "day_of_week":
      return { clock: "day_of_week", op: "in", value: ["sat", "sun"] };
    case "reachable":
      return { reachable: "email" };
    case "segment":
      return { segment: "" };
    case "group":
      return { all: [] };
  }
}

export const OPERATORS: { value: string; label: string }[] = [
  { value: "eq", label: "is" },
  { value: "ne", label: "is not" },
  { value: "gt", label: "is greater than" },
  { value: "gte", label: "is at least" },
  { value: "lt", label: "is less than" },
  { value: "lte", label: "is at most" },
  { value: "contains", label: "contains" },
  { value: "starts_with", label: "starts with" },
  { value: "ends_with", label: "ends with" },
  { value: "in", label: "is one of" },
  { value: "exists", label: "is set" },
  { value: "not_exists", label: "is not set" },
];

const COUNT_OPERATORS = [
  { value: "gte", label: "at least" },
  { value: "lte", label: "at most" },
  { value: "eq", label: "exactly" },
  { value: "gt", label: "more than" },
  { value: "lt", label: "fewer than" },
  { value: "ne", label: "not exactly" },
];

const TIME_OPERATORS = [
  { value: "gte", label: "at or after" },
  { value: "lt", label: "before" },
  { value: "lte", label: "at or before" },
  { value: "gt", label: "after" },
  { value: "eq", label: "exactly at" },
];

const DAYS = [
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
] as const;

/** A comparison with `op` changed: a value of the right shape for it (a list for "in", none for exists). */
function withOp(c: Obj, op: string): Obj {
  const out: Obj = { ...c, op };
  if (op === "exists" || op === "not_exists") {
    delete out.value;
    delete out.ref;
  } else if (op === "in" && !("ref" in out) && !Array.isArray(out.value)) {
    out.value = out.value === undefined || out.value === "" ? [] : [out.value as Json];
  } else if (op !== "in" && Array.isArray(out.value)) {
    out.value = out.value.length > 0 ? out.value[0] : "";
  } else if (!("value" in out) && !("ref" in out)) {
    out.value = "";
  }
  return out;
}

function kindOf(c: Obj): ConditionKind | "not" | "unknown" {
  if ("all" in c || "any" in c) return "group";
  if ("not" in c) return "not";
  if ("history" in c) return "history";
  if ("clock" in c) return c.clock === "day_of_week" ? "day_of_week" : "time_of_day";
  if ("trait" in c) return "trait";
  if ("property" in c) return "property";
  if ("run" in c) return "run";
  if ("reachable" in c) return "reachable";
  if ("segment" in c) return "segment";
  return "unknown";
}

function NameField({
  label,
  value,
  onChange,
  list,
  placeholder,
  invalid,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  list?: readonly string[];
  placeholder?: string;
  invalid?: boolean;
}) {
  const id = useId();
  return (
    <>
      <input
        id={id}
        aria-label={label}
        aria-invalid={invalid || undefined}
        className="ed-name"
        value={value}
        placeholder={placeholder}
        list={list && list.length > 0 ? `${id}-names` : undefined}
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
      />
      {list && list.length > 0 && (
        <datalist id={`${id}-names`}>
          {list.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      )}
    </>
  );
}

const REF_ROOTS = [
  { value: "value", label: "the value" },
  { value: "event", label: "the entry event's property" },
  { value: "run", label: "the run variable" },
  { value: "traits", label: "the trait" },
] as const;

/**
 * The right side of a comparison: a literal `value`, or a `ref` to the run's event, variables or
 * traits (where references are allowed, or one is written).
 */
function RightSide({ c, onChange, what }: { c: Obj; onChange: (c: Obj) => void; what: string }) {
  const { names, entryEvent, refs } = useConditionApi();
  const op = c.op as string;
  if (op === "exists" || op === "not_exists") return null;
  const ref = typeof c.ref === "string" ? c.ref : undefined;
  if (!refs && ref === undefined) {
    return <ValueInput label={`${what}: value`} value={c.value ?? ""} onChange={(v) => onChange({ ...c, value: v })} kinds={op === "in" ? ["list"] : ["text", "number", "boolean"]} />;
  }
  const root = ref === undefined ? "value" : (ref.split(".")[0] as string);
  const rest = ref === undefined ? "" : ref.split(".").slice(1).join(".");
  const setRoot = (r: string) => {
    const out = { ...c };
    if (r === "value") {
      delete out.ref;
      out.value = op === "in" ? [] : "";
    } else {
      delete out.value;
      out.ref = `${r}.${rest}`;
    }
    onChange(out);
  };
  return (
    <>
      <select aria-label={`${what}: compared with`} value={REF_ROOTS.some((r) => r.value === root) ? root : "value"} onChange={(e) => setRoot(e.target.value)}>
        {REF_ROOTS.map((r) => (
          <option key={r.value} value={r.value}>
            {r.label}
          </option>
        ))}
      </select>
      {ref === undefined ? (
        <ValueInput label={`${what}: value`} value={c.value ?? ""} onChange={(v) => onChange({ ...c, value: v })} kinds={op === "in" ? ["list"] : ["text", "number", "boolean"]} />
      ) : (
        <NameField
          label={`${what}: reference name`}
          value={rest}
          list={root === "traits" ? names.traits : root === "event" ? propertyPaths(names, entryEvent) : undefined}
          placeholder={root === "event" ? "cart_id" : "name"}
          onChange={(v) => onChange({ ...c, ref: `${root}.${v}` })}
        />
      )}
    </>
  );
}

function Comparison({ c, onChange, subject }: { c: Obj; onChange: (c: Obj) => void; subject: "trait" | "property" | "run" }) {
  const { names } = useConditionApi();
  const event = useContext(PropertyEvent);
  const label = { trait: "Trait", property: "Event property", run: "Run variable" }[subject];
  return (
    <div className="cond-line">
      <span className="cond-what">{label}</span>
      <NameField
        label={`${label} name`}
        value={String(c[subject] ?? "")}
        list={subject === "trait" ? names.traits : subject === "property" ? propertyPaths(names, event) : undefined}
        placeholder={subject === "property" ? "path" : subject === "trait" ? "plan" : "total"}
        onChange={(v) => onChange({ ...c, [subject]: v })}
      />
      <select aria-label={`${label}: operator`} value={String(c.op ?? "eq")} onChange={(e) => onChange(withOp(c, e.target.value))}>
        {OPERATORS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <RightSide c={c} onChange={onChange} what={label} />
    </div>
  );
}

/** What a history query aggregates, as the form offers it. */
export const AGGREGATES: { value: string; label: string }[] = [
  { value: "count", label: "Number of" },
  { value: "exists", label: "Any" },
  { value: "sum", label: "Sum of" },
  { value: "min", label: "Smallest" },
  { value: "max", label: "Largest" },
  { value: "first", label: "First value of" },
  { value: "last", label: "Last value of" },
  { value: "distinct", label: "Number of different" },
];

/** Aggregates compared with a number ("at least 3"); `first` and `last` are compared as any value, `exists` as happened or not. */
const NUMERIC_AGGREGATES = ["count", "sum", "min", "max", "distinct"];

/** The parts of a history query the form has a field for: a problem at one shows under it. */
export type HistoryField = "aggregate" | "property" | "event" | "within";

/**
 * The query of an event history (`{event, within, where, aggregate, property}`): the aggregate
 * and the property it reads, the event (picked from the names the data has), the window, and the
 * events' `where`. A history condition and a computed trait both edit theirs with it. `at` is the
 * query's JSON pointer (its `where` shows the problems under `${at}/where`); `fieldProblems`, when
 * given, puts the problems about each field under it (else they show at the whole condition).
 * `onChange` says which aggregate was chosen when it changed (a condition changes its comparison).
 */
export function HistoryQueryFields({
  value,
  onChange,
  depth,
  at,
  fieldProblems,
}: {
  value: Obj;
  onChange: (h: Obj, aggregate?: string) => void;
  depth: number;
  at?: string;
  fieldProblems?: (field: HistoryField) => readonly CanvasDiagnostic[];
}) {
  const { names, sinceEntry } = useConditionApi();
  const h = value;
  const aggregate = typeof h.aggregate === "string" ? h.aggregate : "count";
  const reads = PROPERTY_AGGREGATES.includes(aggregate);
  // Its `property` and `where` read the properties of the history's events.
  const event = typeof h.event === "string" && h.event !== "" ? h.event : undefined;
  const problems = (field: HistoryField) => fieldProblems?.(field) ?? [];
  const invalid = (field: HistoryField) => problems(field).some((d) => d.severity === "error") || undefined;
  const setH = (key: string, v: unknown) => {
    const next: Obj = { ...h };
    if (v === undefined) delete next[key];
    else next[key] = v;
    onChange(next);
  };
  const setAggregate = (a: string) => {
    const next: Obj = { ...h };
    if (a === "count") delete next.aggregate;
    else next.aggregate = a;
    if (PROPERTY_AGGREGATES.includes(a)) next.property = typeof h.property === "string" ? h.property : "";
    else delete next.property;
    onChange(next, a);
  };
  const known = AGGREGATES.some((a) => a.value === aggregate);
  return (
    <>
      <div className="cond-line">
        <select aria-label="History: aggregate" value={aggregate} aria-invalid={invalid("aggregate")} onChange={(e) => setAggregate(e.target.value)}>
          {!known && <option value={aggregate}>{aggregate}</option>}
          {AGGREGATES.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
        {reads && (
          <NameField
            label="History: property"
            value={String(h.property ?? "")}
            list={propertyPaths(names, event)}
            placeholder={aggregate === "distinct" || aggregate === "first" || aggregate === "last" ? "sku" : "total"}
            invalid={invalid("property")}
            onChange={(v) => setH("property", v)}
          />
        )}
        {reads && <span className="cond-what">of</span>}
        <NameField
          label="History: event name"
          value={String(h.event ?? "")}
          list={names.events}
          placeholder="Page Viewed"
          invalid={invalid("event")}
          onChange={(v) => setH("event", v)}
        />
      </div>
      <ProblemList problems={[...problems("aggregate"), ...problems("property"), ...problems("event")]} />
      <div className="cond-line">
        <DurationInput
          label="In the last"
          value={typeof h.within === "string" ? h.within : undefined}
          sinceEntry={sinceEntry || h.within === "entry"}
          invalid={invalid("within")}
          onChange={(v) => setH("within", v ?? "")}
        />
      </div>
      <ProblemList problems={problems("within")} />
      <div className="cond-where">
        <PropertyEvent.Provider value={event}>
          {h.where === undefined ? (
            <AddCondition label="+ Where…" title="Count only the events whose properties match" kinds={["property", "group"]} onAdd={(w) => setH("where", w)} />
          ) : (
            <>
              <span className="cond-what">where</span>
              <ConditionNode
                value={h.where}
                onChange={(w) => setH("where", w)}
                onRemove={() => setH("where", undefined)}
                depth={depth + 1}
                kinds={["property", "group"]}
                at={at === undefined ? undefined : `${at}/where`}
              />
            </>
          )}
        </PropertyEvent.Provider>
      </div>
    </>
  );
}

function History({ c, onChange, depth, at }: { c: Obj; onChange: (c: Obj) => void; depth: number; at?: string }) {
  const h = isObject(c.history) ? c.history : {};
  const aggregate = typeof h.aggregate === "string" ? h.aggregate : "count";
  const numeric = NUMERIC_AGGREGATES.includes(aggregate);
  const setQuery = (next: Obj, chosen?: string) => {
    const out: Obj = { ...c, history: next };
    // A new aggregate is compared as it reads: happened or not, a number, or any value.
    if (chosen === "exists") Object.assign(out, { op: "eq", value: true });
    else if (chosen !== undefined && NUMERIC_AGGREGATES.includes(chosen)) {
      Object.assign(out, { op: COUNT_OPERATORS.some((o) => o.value === c.op) ? c.op : "gte", value: typeof c.value === "number" ? c.value : 1 });
    } else if ((chosen === "first" || chosen === "last") && aggregate !== "first" && aggregate !== "last") {
      // A value of the property ("plan is pro"), not the count it was compared with.
      Object.assign(out, { op: "eq", value: "" });
    }
    onChange(out);
  };
  return (
    <div className="cond-history">
      <HistoryQueryFields value={h} onChange={setQuery} depth={depth} at={at === undefined ? undefined : `${at}/history`} />
      <div className="cond-line">
        <span className="cond-what">is</span>
        {aggregate === "exists" ? (
          <select
            aria-label="History: happened"
            value={c.value === false ? (c.op === "ne" ? "true" : "false") : c.op === "ne" ? "false" : "true"}
            onChange={(e) => onChange({ ...c, op: "eq", value: e.target.value === "true" })}
          >
            <option value="true">has happened</option>
            <option value="false">has not happened</option>
          </select>
        ) : (
          <>
            <select aria-label="History: operator" value={String(c.op ?? "gte")} onChange={(e) => onChange(withOp(c, e.target.value))}>
              {(numeric ? COUNT_OPERATORS : OPERATORS).map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
            {!numeric ? (
              <ValueInput label="History: value" value={c.value ?? ""} onChange={(v) => onChange({ ...c, value: v })} />
            ) : (
              <input
                aria-label={aggregate === "count" || aggregate === "distinct" ? "History: count" : "History: number"}
                type="number"
                className="ed-num"
                value={typeof c.value === "number" ? c.value : ""}
                onChange={(e) => onChange({ ...c, value: e.target.value === "" ? 0 : Number(e.target.value) })}
              />
            )}
          </>
        )}
      </div>
    </div>
  );
}

/**
 * A history query on its own (a computed trait's `history`): the same fields as a history
 * condition's, without a comparison. `at` is its JSON pointer ("/history"): the server's problems
 * show under the field they name, those of its `where` at the condition they are about, the rest
 * under the whole.
 */
export function HistoryForm({
  label,
  value,
  onChange,
  at,
  diagnostics,
}: {
  label: string;
  value: unknown;
  onChange: (h: Obj) => void;
  at: string;
  diagnostics?: readonly CanvasDiagnostic[];
}) {
  const all = diagnostics ?? [];
  const fields: HistoryField[] = ["aggregate", "property", "event", "within"];
  const fieldProblems = (field: HistoryField) => problemsAt(all, `${at}/${field}`, []);
  const rest = problemsAt(all, at, [...fields.map((f) => `${at}/${f}`), `${at}/where`]);
  return (
    <Problems.Provider value={all}>
      <section className="cond-builder" aria-label={label}>
        <h4>{label}</h4>
        <div className="cond" data-kind="history" data-invalid={rest.some((d) => d.severity === "error") || undefined}>
          <div className="cond-body">
            <div className="cond-history">
              <HistoryQueryFields value={isObject(value) ? value : {}} onChange={(h) => onChange(h)} depth={0} at={at} fieldProblems={fieldProblems} />
            </div>
            <ProblemList problems={rest} />
          </div>
        </div>
      </section>
    </Problems.Provider>
  );
}

function Clock({ c, onChange }: { c: Obj; onChange: (c: Obj) => void }) {
  if (c.clock === "day_of_week") {
    const days = Array.isArray(c.value) ? (c.value as string[]) : typeof c.value === "string" ? [c.value] : [];
    const toggle = (d: string) => {
      const next = days.includes(d) ? days.filter((x) => x !== d) : DAYS.map(([k]) => k).filter((k) => k === d || days.includes(k));
      onChange({ ...c, op: c.op === "in" || c.op === undefined ? "in" : c.op, value: next });
    };
    return (
      <div className="cond-line" role="group" aria-label="Days of the week">
        <span className="cond-what">Local day is</span>
        {DAYS.map(([k, label]) => (
          <label key={k} className="cond-day">
            <input type="checkbox" checked={days.includes(k)} onChange={() => toggle(k)} />
            {label}
          </label>
        ))}
      </div>
    );
  }
  return (
    <div className="cond-line">
      <span className="cond-what">Local time is</span>
      <select aria-label="Local time: operator" value={String(c.op ?? "gte")} onChange={(e) => onChange({ ...c, op: e.target.value })}>
        {TIME_OPERATORS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <input aria-label="Local time" type="time" value={typeof c.value === "string" ? c.value : ""} onChange={(e) => onChange({ ...c, value: e.target.value.slice(0, 5) })} />
    </div>
  );
}

/** "+ Add condition" and the kinds to choose from. */
export function AddCondition({ label, title, kinds, onAdd }: { label: string; title?: string; kinds: readonly ConditionKind[]; onAdd: (c: Obj) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="ed-menu">
      <button type="button" className="button button-small" aria-haspopup="menu" aria-expanded={open} title={title} onClick={() => setOpen((o) => !o)}>
        {label}
      </button>
      {open && (
        <ul role="menu" className="ed-menu-list" onKeyDown={(e) => e.key === "Escape" && (e.stopPropagation(), setOpen(false))}>
          {kinds.map((k, i) => (
            <li key={k} role="none">
              <button
                type="button"
                role="menuitem"
                autoFocus={i === 0}
                onClick={() => {
                  setOpen(false);
                  onAdd(newCondition(k));
                }}
              >
                {KIND_LABELS[k]}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Group({ c, onChange, depth, kinds, at }: { c: Obj; onChange: (c: Obj) => void; depth: number; kinds: readonly ConditionKind[]; at?: string }) {
  const join = "any" in c ? "any" : "all";
  const items = Array.isArray(c[join]) ? (c[join] as unknown[]) : [];
  const set = (list: unknown[]) => onChange(replaceKey(c, join, join, list));
  return (
    <div className={`cond-group cond-${join}`} role="group" aria-label={join === "all" ? "All of these" : "Any of these"}>
      <div className="cond-line">
        <select aria-label="Match" value={join} onChange={(e) => onChange(replaceKey(c, join, e.target.value, items))}>
          <option value="all">All of these hold</option>
          <option value="any">Any of these holds</option>
        </select>
      </div>
      {items.length === 0 && <p className="ed-hint">No condition yet: always true.</p>}
      <ol className="cond-items">
        {items.map((item, i) => (
          <li key={i}>
            <ConditionNode
              value={item}
              depth={depth + 1}
              kinds={kinds}
              at={at === undefined ? undefined : `${at}/${join}/${i}`}
              onChange={(v) => set(items.map((x, j) => (j === i ? v : x)))}
              onRemove={() => set(items.filter((_, j) => j !== i))}
            />
          </li>
        ))}
      </ol>
      <AddCondition label="+ Add condition" kinds={kinds} onAdd={(n) => set([...items, n])} />
    </div>
  );
}

/** `obj` with key `from` renamed `to` (and its value set), in the same place. */
function replaceKey(obj: Obj, from: string, to: string, value: unknown): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === from) out[to] = value;
    else out[k] = v;
  }
  if (!(from in obj)) out[to] = value;
  return out;
}

/**
 * The server's problems with the condition being edited (a segment's, refused on save; the
 * journey validator's), each shown at the condition its JSON pointer names.
 */
const Problems = createContext<readonly CanvasDiagnostic[]>([]);

const under = (path: string, at: string) => path === at || path.startsWith(`${at}/`);

/** The problems about the condition at `at` itself: at it or inside it, but not inside one of its `children` (shown there). */
export function problemsAt(all: readonly CanvasDiagnostic[], at: string | undefined, children: readonly string[]): CanvasDiagnostic[] {
  if (at === undefined) return [];
  return all.filter((d) => under(d.path, at) && !children.some((c) => under(d.path, c)));
}

function ProblemList({ problems }: { problems: readonly CanvasDiagnostic[] }) {
  if (problems.length === 0) return null;
  return (
    <ul className="cond-problems">
      {problems.map((d, i) => (
        <li key={i} className={d.severity === "error" ? "ed-error" : "ed-hint"}>
          {d.message}
        </li>
      ))}
    </ul>
  );
}

/** Membership of a segment, picked from the segments there are: "Is in segment …", negated "Is not in segment …". */
function SegmentLine({ c, onChange, negated }: { c: Obj; onChange: (c: Obj) => void; negated: boolean }) {
  const { segments, self } = useConditionApi();
  return (
    <div className="cond-line">
      <span className="cond-what">{negated ? "Is not in segment" : "Is in segment"}</span>
      <SegmentSelect label="Segment" hideLabel value={typeof c.segment === "string" ? c.segment : ""} segments={segments} self={self} onChange={(id) => onChange({ ...c, segment: id })} />
    </div>
  );
}

/** One condition of any kind, with "not" and remove; `at`, its JSON pointer, places the server's problems. */
export function ConditionNode({
  value,
  onChange,
  onRemove,
  depth,
  kinds = ALL_KINDS,
  at,
}: {
  value: unknown;
  onChange: (c: Obj) => void;
  onRemove?: () => void;
  depth: number;
  kinds?: readonly ConditionKind[];
  at?: string;
}) {
  const all = useContext(Problems);
  const c = isObject(value) ? value : {};
  const kind = kindOf(c);
  // "Not in a segment" reads as one line.
  const notSegment = kind === "not" && isObject(c.not) && kindOf(c.not) === "segment";
  let children: string[] = [];
  let body: ReactNode;
  if (notSegment) {
    body = <SegmentLine c={c.not as Obj} negated onChange={(v) => onChange({ ...c, not: v })} />;
  } else if (kind === "not") {
    children = at === undefined ? [] : [`${at}/not`];
    body = (
      <div className="cond-not">
        <span className="cond-what">Not:</span>
        <ConditionNode value={c.not} onChange={(v) => onChange({ ...c, not: v })} depth={depth + 1} kinds={kinds} at={children[0]} />
      </div>
    );
  } else if (kind === "group") {
    const join = "any" in c ? "any" : "all";
    const items = Array.isArray(c[join]) ? (c[join] as unknown[]) : [];
    children = at === undefined ? [] : items.map((_, i) => `${at}/${join}/${i}`);
    body = <Group c={c} onChange={onChange} depth={depth} kinds={kinds} at={at} />;
  } else if (kind === "history") {
    children = at === undefined ? [] : [`${at}/history/where`];
    body = <History c={c} onChange={onChange} depth={depth} at={at} />;
  } else if (kind === "time_of_day" || kind === "day_of_week") body = <Clock c={c} onChange={onChange} />;
  else if (kind === "trait" || kind === "property" || kind === "run") body = <Comparison c={c} onChange={onChange} subject={kind} />;
  else if (kind === "segment") body = <SegmentLine c={c} negated={false} onChange={onChange} />;
  else if (kind === "reachable") {
    body = (
      <div className="cond-line">
        <span className="cond-what">Can be reached by</span>
        <select aria-label="Reachable by: channel" value={String(c.reachable ?? "email")} onChange={(e) => onChange({ ...c, reachable: e.target.value })}>
          {CHANNELS.map((o) => (
            <option key={o.value} value={o.value}>
              {channelText(o.value)}
            </option>
          ))}
        </select>
        {c.reachable === "in_app" && <span className="ed-hint">always true: an in-app message waits for the person's next visit, no address needed</span>}
      </div>
    );
  } else {
    body = <pre tabIndex={0} className="ed-hint">{JSON.stringify(value)}</pre>;
  }
  const problems = problemsAt(all, at, children);
  return (
    <div className="cond" data-kind={kind} data-invalid={problems.some((d) => d.severity === "error") || undefined}>
      <div className="cond-body">
        {body}
        <ProblemList problems={problems} />
      </div>
      <div className="cond-actions">
        <button
          type="button"
          className="button button-small"
          aria-pressed={kind === "not"}
          title={kind === "not" ? "Remove the not" : "Negate: holds when this does not"}
          onClick={() => onChange(kind === "not" && isObject(c.not) ? c.not : { not: c })}
        >
          Not
        </button>
        {onRemove && (
          <button type="button" className="button button-small" aria-label="Remove this condition" title="Remove this condition" onClick={onRemove}>
            ✕
          </button>
        )}
      </div>
    </div>
  );
}

/**
 * A condition that may be absent (a filter): "Add a filter" first; a single comparison gets
 * "and" / "or" to grow into a group. With `at` (its JSON pointer in the document) and
 * `diagnostics`, the server's problems show at the conditions they are about.
 */
export function ConditionBuilder({
  label,
  value,
  onChange,
  optional,
  kinds = ALL_KINDS,
  event,
  at,
  diagnostics,
}: {
  label: string;
  value: unknown;
  /** undefined removes the condition (an optional filter). */
  onChange: (c: Obj | undefined) => void;
  optional?: boolean;
  kinds?: readonly ConditionKind[];
  /** The event whose properties `property` reads here (undefined: not known; every event's paths are suggested). */
  event?: string;
  /** Where the condition is in its document ("/condition", "/steps/2/cases/0/when"). */
  at?: string;
  diagnostics?: readonly CanvasDiagnostic[];
}) {
  const single = isObject(value) && !("all" in value) && !("any" in value);
  return (
    <Problems.Provider value={diagnostics ?? []}>
      <PropertyEvent.Provider value={event === "" ? undefined : event}>
        <section className="cond-builder" aria-label={label}>
          <h4>{label}</h4>
          {value === undefined ? (
            <>
              <AddCondition label="+ Add a condition" kinds={kinds} onAdd={(c) => onChange(c)} />
              <ProblemList problems={problemsAt(diagnostics ?? [], at, [])} />
            </>
          ) : (
            <>
              <ConditionNode
                value={value}
                depth={0}
                kinds={kinds}
                at={at}
                onChange={onChange}
                onRemove={optional ? () => onChange(undefined) : single ? () => onChange({ all: [] }) : undefined}
              />
              {single && (
                <div className="ed-row">
                  <AddCondition label="+ And" kinds={kinds} onAdd={(c) => onChange({ all: [value, c] })} />
                  <AddCondition label="+ Or" kinds={kinds} onAdd={(c) => onChange({ any: [value, c] })} />
                </div>
              )}
            </>
          )}
        </section>
      </PropertyEvent.Provider>
    </Problems.Provider>
  );
}
