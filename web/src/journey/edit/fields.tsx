// The inputs the forms are made of: each labelled, each reading and writing one JSON value.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Schemas } from "../../api/client";
import type { StepType } from "../doc";
import { STEP_TYPES } from "../doc";
import { deepEqual, type Json } from "../json";
import { KINDS } from "../kinds";

/** A labelled row: the label above, the control, an optional hint below. */
export function Field({ label, hint, children, id }: { label: ReactNode; hint?: ReactNode; children: ReactNode; id: string }) {
  return (
    <div className="ed-field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <p className="ed-hint">{hint}</p>}
    </div>
  );
}

export function TextInput({
  label,
  value,
  onChange,
  hint,
  placeholder,
  list,
  mono,
  onCommit,
  invalid,
}: {
  label: string;
  value: string | undefined;
  onChange: (v: string) => void;
  hint?: ReactNode;
  placeholder?: string;
  /** Suggestions (a datalist): free text stays allowed. */
  list?: readonly string[];
  mono?: boolean;
  onCommit?: () => void;
  /** The validator has a problem with it (shown in the hint). */
  invalid?: boolean;
}) {
  const id = useId();
  return (
    <Field label={label} hint={hint} id={id}>
      <input
        id={id}
        className={mono ? "mono" : undefined}
        value={value ?? ""}
        placeholder={placeholder}
        list={list && list.length > 0 ? `${id}-list` : undefined}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={invalid || undefined}
        onChange={(e) => onChange(e.target.value)}
        onBlur={onCommit}
      />
      {list && list.length > 0 && (
        <datalist id={`${id}-list`}>
          {list.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      )}
    </Field>
  );
}

export function NumberInput({
  label,
  value,
  onChange,
  hint,
  min,
  max,
  placeholder,
  invalid,
}: {
  label: string;
  value: number | undefined;
  onChange: (v: number | undefined) => void;
  hint?: ReactNode;
  min?: number;
  max?: number;
  placeholder?: string;
  /** The validator has a problem with it (shown in the hint). */
  invalid?: boolean;
}) {
  const id = useId();
  return (
    <Field label={label} hint={hint} id={id}>
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        placeholder={placeholder}
        value={value ?? ""}
        aria-invalid={invalid || undefined}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
    </Field>
  );
}

export function Checkbox({ label, checked, onChange, hint }: { label: string; checked: boolean; onChange: (v: boolean) => void; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className="ed-check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
      {hint && <p className="ed-hint">{hint}</p>}
    </div>
  );
}

export function Select<T extends string>({
  label,
  value,
  options,
  onChange,
  hint,
  hideLabel,
  invalid,
}: {
  label: string;
  value: T;
  options: readonly { value: T; label: string }[];
  onChange: (v: T) => void;
  hint?: ReactNode;
  hideLabel?: boolean;
  /** The validator has a problem with it (shown in the hint). */
  invalid?: boolean;
}) {
  const id = useId();
  const select = (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value as T)} aria-label={hideLabel ? label : undefined} aria-invalid={invalid || undefined}>
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
  if (hideLabel) return select;
  return (
    <Field label={label} hint={hint} id={id}>
      {select}
    </Field>
  );
}

/**
 * A segment, picked by its name from `segments` (undefined: not loaded yet), `self` left out (a
 * segment cannot test itself). One that is named but not there is kept, said as such; none chosen
 * yet offers "Choose a segment…".
 */
export function SegmentSelect({
  label,
  value,
  segments,
  self,
  onChange,
  hint,
  hideLabel,
  invalid,
}: {
  label: string;
  value: string;
  segments: readonly Schemas["SegmentRef"][] | undefined;
  self?: string;
  onChange: (id: string) => void;
  hint?: ReactNode;
  hideLabel?: boolean;
  invalid?: boolean;
}) {
  const id = useId();
  const offered = (segments ?? []).filter((s) => s.id !== self);
  const known = offered.some((s) => s.id === value);
  // Two segments of one name are told apart by their ids.
  const named = (s: Schemas["SegmentRef"]) => (offered.filter((o) => o.name === s.name).length > 1 ? `${s.name} (${s.id})` : s.name);
  const select = (
    <select id={id} value={value} aria-label={hideLabel ? label : undefined} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value)}>
      {value === "" && <option value="">{segments === undefined ? "Loading the segments…" : offered.length === 0 ? "No segment to choose yet" : "Choose a segment…"}</option>}
      {value !== "" && !known && <option value={value}>{segments === undefined ? value : `${value} (no such segment)`}</option>}
      {offered.map((s) => (
        <option key={s.id} value={s.id}>
          {named(s)}
        </option>
      ))}
    </select>
  );
  if (hideLabel) return select;
  return (
    <Field label={label} hint={hint} id={id}>
      {select}
    </Field>
  );
}

const UNIT_NAMES: { value: string; label: string }[] = [
  { value: "m", label: "minutes" },
  { value: "h", label: "hours" },
  { value: "d", label: "days" },
  { value: "w", label: "weeks" },
  { value: "s", label: "seconds" },
];

export const parseDuration = (v: string | undefined): { n: string; unit: string } | undefined => {
  const m = v?.match(/^(\d+)([smhdw])$/);
  return m ? { n: m[1], unit: m[2] } : undefined;
};

/**
 * A duration ("3d"): a number and a unit. Durations of several parts ("1d12h") are shown as
 * text. `since entry` adds the choice "entry" (history windows since the run entered).
 */
export function DurationInput({
  label,
  value,
  onChange,
  hint,
  sinceEntry,
  signed,
  invalid,
}: {
  label: string;
  value: string | undefined;
  onChange: (v: string | undefined) => void;
  hint?: ReactNode;
  sinceEntry?: boolean;
  /** An offset: before (-) or after. */
  signed?: boolean;
  /** The validator has a problem with it (shown in the hint): marked on the text or the number. */
  invalid?: boolean;
}) {
  const id = useId();
  const sign = signed && value?.startsWith("-") ? "-" : "";
  const bare = signed ? value?.replace(/^[+-]/, "") : value;
  const parsed = parseDuration(bare);
  const [unit, setUnit] = useState(parsed?.unit ?? "d");
  useEffect(() => {
    if (parsed) setUnit(parsed.unit);
  }, [parsed?.unit]);
  const text = value !== undefined && value !== "" && value !== "entry" && !parsed;
  const [asText, setAsText] = useState(text);
  if (text && !asText) setAsText(true);
  const emit = (n: string, u: string, s = sign) => onChange(n === "" ? undefined : `${s}${n}${u}`);
  return (
    <Field label={label} hint={hint} id={id}>
      {asText ? (
        <div className="ed-row">
          <input id={id} className="mono" value={value ?? ""} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} placeholder="1d12h" />
          <button type="button" className="button button-small" onClick={() => setAsText(false)} disabled={text}>
            Simple
          </button>
        </div>
      ) : (
        <div className="ed-row" role="group" aria-label={label}>
          {value !== "entry" && (
            <input
              id={id}
              type="number"
              inputMode="numeric"
              min={0}
              className="ed-num"
              value={parsed?.n ?? ""}
              aria-label={`${label}: number`}
              aria-invalid={invalid || undefined}
              onChange={(e) => emit(e.target.value, unit)}
            />
          )}
          <select
            aria-label={`${label}: unit`}
            value={value === "entry" ? "entry" : unit}
            onChange={(e) => {
              const u = e.target.value;
              if (u === "entry") return onChange("entry");
              setUnit(u);
              emit(parsed?.n ?? (value === "entry" ? "7" : ""), u);
            }}
          >
            {UNIT_NAMES.map((u) => (
              <option key={u.value} value={u.value}>
                {u.label}
              </option>
            ))}
            {sinceEntry && <option value="entry">since the run entered</option>}
          </select>
          {signed && (
            <select aria-label={`${label}: before or after`} value={sign === "-" ? "before" : "after"} onChange={(e) => parsed && emit(parsed.n, parsed.unit, e.target.value === "before" ? "-" : "")}>
              <option value="before">before</option>
              <option value="after">after</option>
            </select>
          )}
          <button type="button" className="button button-small" title="Type a duration of several parts, such as 1d12h" onClick={() => setAsText(true)}>
            Text
          </button>
        </div>
      )}
    </Field>
  );
}

/** A local time of day ("09:00"). `invalid`: the validator has a problem with it (shown in the hint). */
export function TimeInput({ label, value, onChange, hint, quarter, invalid }: { label: string; value: string | undefined; onChange: (v: string) => void; hint?: ReactNode; quarter?: boolean; invalid?: boolean }) {
  const id = useId();
  return (
    <Field label={label} hint={hint} id={id}>
      <input id={id} type="time" step={quarter ? 900 : 60} value={value ?? ""} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value.slice(0, 5))} />
    </Field>
  );
}

type ValueKind = "text" | "number" | "boolean" | "list" | "json";

export function valueKind(v: unknown): ValueKind {
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "boolean";
  if (Array.isArray(v)) return "list";
  if (v === null || typeof v === "object") return v === null ? "json" : "json";
  return "text";
}

function convert(v: unknown, kind: ValueKind): Json {
  switch (kind) {
    case "text":
      return Array.isArray(v) ? v.join(", ") : v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    case "number": {
      const n = Number(Array.isArray(v) ? v[0] : v);
      return Number.isFinite(n) ? n : 0;
    }
    case "boolean":
      return v === true || v === "true";
    case "list":
      return Array.isArray(v) ? (v as Json[]) : v === undefined || v === "" ? [] : [v as Json];
    case "json":
      return (v ?? null) as Json;
  }
}

/** A literal value of any JSON type: text, a number, yes/no, a list of texts, or JSON. */
export function ValueInput({ label, value, onChange, kinds }: { label: string; value: unknown; onChange: (v: Json) => void; kinds?: readonly ValueKind[] }) {
  const id = useId();
  const kind = valueKind(value);
  const choices = kinds ?? (["text", "number", "boolean", "list", "json"] as const);
  const names: Record<ValueKind, string> = { text: "text", number: "number", boolean: "yes/no", list: "list", json: "JSON" };
  return (
    <div className="ed-value">
      {kind === "text" && <input id={id} aria-label={label} value={value as string} onChange={(e) => onChange(e.target.value)} spellCheck={false} />}
      {kind === "number" && <input id={id} aria-label={label} type="number" value={value as number} onChange={(e) => onChange(e.target.value === "" ? 0 : Number(e.target.value))} />}
      {kind === "boolean" && (
        <select id={id} aria-label={label} value={String(value)} onChange={(e) => onChange(e.target.value === "true")}>
          <option value="true">yes (true)</option>
          <option value="false">no (false)</option>
        </select>
      )}
      {kind === "list" && (
        <input
          id={id}
          aria-label={`${label} (comma-separated)`}
          value={(value as Json[]).map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(", ")}
          placeholder="a, b, c"
          onChange={(e) =>
            onChange(
              e.target.value
                .split(",")
                .map((s) => s.trim())
                .filter((s) => s !== ""),
            )
          }
        />
      )}
      {kind === "json" && <JsonText label={label} value={value as Json} onChange={onChange} rows={2} />}
      {choices.length > 1 && (
        <select aria-label={`${label}: type`} className="ed-kind" value={kind} onChange={(e) => onChange(convert(value, e.target.value as ValueKind))}>
          {choices.map((k) => (
            <option key={k} value={k}>
              {names[k]}
            </option>
          ))}
        </select>
      )}
    </div>
  );
}

/** JSON in a text area: applied as soon as it parses, the parse error shown until then. */
export function JsonText({ label, value, onChange, rows = 8 }: { label: string; value: unknown; onChange: (v: Json) => void; rows?: number }) {
  const id = useId();
  const [text, setText] = useState(() => JSON.stringify(value, null, 2) ?? "");
  const [error, setError] = useState<string | null>(null);
  const last = useRef(value);
  // The value changed elsewhere (undo, the form): show it, unless it is what the text says.
  useEffect(() => {
    if (value === last.current) return;
    last.current = value;
    let same = false;
    try {
      same = deepEqual(JSON.parse(text), value);
    } catch {
      same = false;
    }
    if (!same) {
      setText(JSON.stringify(value, null, 2) ?? "");
      setError(null);
    }
  }, [value]);
  return (
    <div className="ed-json">
      <textarea
        id={id}
        aria-label={label}
        className="mono"
        rows={rows}
        spellCheck={false}
        value={text}
        aria-invalid={error !== null}
        onChange={(e) => {
          setText(e.target.value);
          try {
            const parsed = JSON.parse(e.target.value) as Json;
            setError(null);
            last.current = parsed;
            onChange(parsed);
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          }
        }}
      />
      {error && (
        <p className="ed-error" role="alert">
          Not JSON yet: {error}
        </p>
      )}
    </div>
  );
}

/** A node's JSON, for engineers: folded under the form. */
export function RawJson({ value, onChange, what }: { value: unknown; onChange: (v: Json) => void; what: string }) {
  return (
    <details className="ed-raw">
      <summary>JSON of {what}</summary>
      <JsonText label={`JSON of ${what}`} value={value} onChange={onChange} rows={12} />
    </details>
  );
}

/** The step types, for menus. */
export const STEP_CHOICES: { type: StepType; label: string; hint: string }[] = STEP_TYPES.map((type) => ({
  type,
  label: KINDS[type].label,
  hint: {
    wait: "a duration, a time of day, a date trait",
    wait_for: "an event, or a timeout",
    branch: "if / else on conditions",
    split: "random paths by weight (A/B)",
    send: "an email, SMS, push or in-app message from a template",
    update: "set traits or run variables",
    webhook: "call a URL",
    task: "ask a teammate to act (call, check)",
    exit: "end the run",
  }[type],
}));

/** A button opening a list of step types; picking one calls `onPick`. */
export function StepMenu({ label, onPick, className, title }: { label: ReactNode; onPick: (t: StepType) => void; className?: string; title?: string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);
  return (
    <div className="ed-menu nodrag nopan" ref={ref}>
      <button type="button" className={className ?? "button button-small"} aria-haspopup="menu" aria-expanded={open} title={title} onClick={() => setOpen((o) => !o)}>
        {label}
      </button>
      {open && (
        <ul role="menu" className="ed-menu-list" onKeyDown={(e) => e.key === "Escape" && (e.stopPropagation(), setOpen(false))}>
          {STEP_CHOICES.map((c, i) => (
            <li key={c.type} role="none">
              <button
                type="button"
                role="menuitem"
                autoFocus={i === 0}
                onClick={() => {
                  setOpen(false);
                  onPick(c.type);
                }}
              >
                <strong>{c.label}</strong> <span className="muted">{c.hint}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
