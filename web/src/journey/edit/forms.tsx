// A form per node, in the side panel: the entry, each step type, and the journey's own settings
// when nothing is selected. Every control reads one value of the document and writes it back
// by its path: nothing else in the document changes.
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { useSession } from "../../auth/context";
import { CHANNELS } from "../describe";
import { diagnosticsAt, type CanvasDiagnostic } from "../diagnostics";
import type { JourneyDocument, QuietThen, Step } from "../doc";
import { ENTRY_ID } from "../graph";
import { getIn, isObject, pointer, type Json, type Path } from "../json";
import { KINDS } from "../kinds";
import { changeEntryKind, deleteSteps, ENTRY_KINDS, entryKind, insertSteps, nodePath, renameStep, replaceStep, stepIds, uniqueId, type At, type EntryKind } from "../ops";
import { ConditionBuilder, type ConditionKind } from "./ConditionBuilder";
import { entryEvent, propertyPaths, useEditor } from "./context";
import { Checkbox, DurationInput, Field, JsonText, NumberInput, RawJson, SegmentSelect, Select, StepMenu, TextInput, TimeInput, ValueInput } from "./fields";
import { TemplatePicker } from "./TemplatePicker";

type Obj = Record<string, unknown>;

const SLUG = /^[a-z0-9_-]{1,100}$/;

/** Reads and writes values under one path of the document. */
function useAt(base: Path) {
  const { doc, edit } = useEditor();
  const get = (rel: Path): unknown => getIn(doc, [...base, ...rel]);
  /** Typing: one undo step per field. */
  const type = (rel: Path, v: unknown) => edit([...base, ...rel], v, pointer([...base, ...rel]));
  /** A choice: its own undo step. */
  const set = (rel: Path, v: unknown) => edit([...base, ...rel], v);
  return { get, type, set };
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** Where a step's output leads: another step, or the end. With "+" to add a new step there. */
export function NextSelect({ label, value, onChange, at, explicitNull, hint }: { label: string; value: unknown; onChange: (v: string | null | undefined) => void; at?: At; explicitNull?: boolean; hint?: ReactNode }) {
  const { doc, addAt } = useEditor();
  const id = useId();
  const ids = [...stepIds(doc)];
  const current = value === null ? "null" : typeof value === "string" ? `step:${value}` : "";
  return (
    <Field label={label} hint={hint} id={id}>
      <div className="ed-row">
        <select
          id={id}
          value={current}
          onChange={(e) => {
            const v = e.target.value;
            onChange(v === "" ? undefined : v === "null" ? null : v.slice(5));
          }}
        >
          {explicitNull ? (
            <>
              <option value="">Not routed: go on to next</option>
              <option value="null">End the run</option>
            </>
          ) : (
            <option value="">End the run</option>
          )}
          {typeof value === "string" && !ids.includes(value) && <option value={current}>{value} (no such step)</option>}
          {ids.map((s) => (
            <option key={s} value={`step:${s}`}>
              Go to {s}
            </option>
          ))}
        </select>
        {at && <StepMenu label="+ Add" title={`Add a new step at ${label.toLowerCase()}`} onPick={(t) => addAt(at, t)} />}
      </div>
    </Field>
  );
}

/** The step's id, renamed on Enter or leaving the field, with every reference. */
function StepIdField({ id }: { id: string }) {
  const { doc, apply, select } = useEditor();
  const [text, setText] = useState(id);
  useEffect(() => setText(id), [id]);
  const problem = text === id ? null : !SLUG.test(text) ? "1 to 100 of a-z, 0-9, - and _" : stepIds(doc).has(text) ? "another step has this id" : null;
  const commit = () => {
    if (text === id) return;
    if (problem) return setText(id);
    apply(renameStep(doc, id, text));
    select(text);
  };
  const inputId = useId();
  return (
    <Field label="Step id" id={inputId} hint={problem ? <span className="ed-error">{problem}</span> : "Renaming updates every link to it."}>
      <input
        id={inputId}
        className="mono"
        value={text}
        aria-invalid={problem !== null}
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            commit();
          } else if (e.key === "Escape") {
            setText(id);
          }
        }}
      />
    </Field>
  );
}

/** Keys and values (traits to set, run variables, saves): rows that can be added and removed. */
function MapEditor({
  label,
  value,
  onChange,
  keyLabel,
  keyList,
  renderValue,
  newValue,
  addLabel,
}: {
  label: string;
  value: unknown;
  onChange: (v: Obj | undefined) => void;
  keyLabel: string;
  keyList?: readonly string[];
  renderValue: (v: unknown, set: (v: unknown) => void, label: string) => ReactNode;
  newValue: unknown;
  addLabel: string;
}) {
  const obj = isObject(value) ? value : {};
  const entries = Object.entries(obj);
  const listId = useId();
  const rename = (from: string, to: string) => onChange(Object.fromEntries(entries.map(([k, v]) => [k === from ? to : k, v])));
  const setValue = (key: string, v: unknown) => onChange({ ...obj, [key]: v });
  const remove = (key: string) => {
    const out = Object.fromEntries(entries.filter(([k]) => k !== key));
    onChange(Object.keys(out).length === 0 ? undefined : out);
  };
  const add = () => {
    let key = "";
    for (let n = 1; key === "" || key in obj; n++) key = n === 1 ? "name" : `name_${n}`;
    onChange({ ...obj, [key]: newValue });
  };
  return (
    <fieldset className="ed-map">
      <legend>{label}</legend>
      {keyList && keyList.length > 0 && (
        <datalist id={listId}>
          {keyList.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
      )}
      {entries.map(([k, v], i) => (
        <div className="ed-map-row" key={i}>
          <input aria-label={`${keyLabel} ${i + 1}`} className="mono" value={k} list={keyList ? listId : undefined} spellCheck={false} onChange={(e) => rename(k, e.target.value)} />
          {renderValue(v, (nv) => setValue(k, nv), `${label}: value of ${k}`)}
          <button type="button" className="button button-small" aria-label={`Remove ${k}`} onClick={() => remove(k)}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="button button-small" onClick={add}>
        {addLabel}
      </button>
    </fieldset>
  );
}

/** Run variables to set and to append to (an update step's `run`, a wait_for path's `run`). */
function RunUpdate({ base }: { base: Path }) {
  const { get, type } = useAt(base);
  const run = get([]);
  const value = (v: unknown, set: (v: unknown) => void, label: string) =>
    typeof v === "string" ? (
      <input aria-label={label} className="mono" value={v} spellCheck={false} onChange={(e) => set(e.target.value)} />
    ) : (
      <ValueInput label={label} value={v} onChange={set} />
    );
  const setPart = (part: "set" | "append", v: Obj | undefined) => {
    const next: Obj = { ...(isObject(run) ? run : {}) };
    if (v === undefined) delete next[part];
    else next[part] = v;
    type([], Object.keys(next).length === 0 ? undefined : next);
  };
  return (
    <div className="ed-group">
      <MapEditor label="Set run variables" keyLabel="Variable" value={getIn(run, ["set"])} onChange={(v) => setPart("set", v)} renderValue={value} newValue="" addLabel="+ Set a variable" />
      <MapEditor label="Append to run variables (lists)" keyLabel="Variable" value={getIn(run, ["append"])} onChange={(v) => setPart("append", v)} renderValue={value} newValue="{{ received }}" addLabel="+ Append to a variable" />
      <p className="ed-hint">Values are Liquid templates: {"{{ event.total }}"} keeps its type.</p>
    </div>
  );
}

// ---- The entry ----

const ENTRY_LABELS: Record<EntryKind, string> = {
  event: "An event",
  trait_change: "A trait changes",
  api: "The API (POST …/enter)",
  schedule: "A schedule",
  date: "A date trait",
  segment: "Entering or leaving a segment",
};

const SEGMENT_ON: { value: "enter" | "leave"; label: string }[] = [
  { value: "enter", label: "Enters the segment (Segment Entered)" },
  { value: "leave", label: "Leaves the segment (Segment Exited)" },
];

function Reentry({ base }: { base: Path }) {
  const { get, set, type } = useAt(base);
  const r = get(["reentry"]);
  const mode = r === "never" ? "never" : isObject(r) ? "after" : "always";
  return (
    <>
      <Select
        label="Re-entry"
        value={mode}
        options={[
          { value: "always", label: "Whenever they are not in it already" },
          { value: "never", label: "Never: once per person" },
          { value: "after", label: "After some time since the last entry" },
        ]}
        onChange={(m) => set(["reentry"], m === "always" ? undefined : m === "never" ? "never" : { after: "30d" })}
      />
      {mode === "after" && <DurationInput label="Re-entry after" value={str(getIn(r, ["after"]))} onChange={(v) => type(["reentry", "after"], v ?? "")} />}
    </>
  );
}

export function EntryForm({ diagnostics }: { diagnostics?: CanvasDiagnostic[] }) {
  const { doc, edit, names, segments } = useEditor();
  const { get, set, type } = useAt(["entry"]);
  const entry = get([]);
  const kind = entryKind(entry);
  const segmentProblems = diagnosticsAt(diagnostics, "/entry/segment");
  return (
    <div className="ed-form">
      <Select label="Runs start when" value={kind} options={ENTRY_KINDS.map((k) => ({ value: k, label: ENTRY_LABELS[k] }))} onChange={(k) => edit(["entry"], changeEntryKind(entry, k))} />
      {kind === "event" && (
        <>
          <TextInput label="Event" value={str(get(["event"]))} list={names.events} placeholder="Page Viewed" onChange={(v) => type(["event"], v)} hint="Page calls are Page Viewed; screen calls Screen Viewed." />
          <ConditionBuilder
            label="Only if (filter)"
            value={get(["filter"])}
            optional
            onChange={(c) => set(["filter"], c)}
            kinds={["property", "trait", "history", "time_of_day", "day_of_week", "reachable", "segment", "group"]}
            event={str(get(["event"]))}
          />
        </>
      )}
      {kind === "trait_change" && (
        <>
          <TextInput label="Trait" value={str(get(["trait_change", "trait"]))} list={names.traits} onChange={(v) => type(["trait_change", "trait"], v)} />
          <OptionalValue label="From (optional)" value={get(["trait_change", "from"])} onChange={(v) => type(["trait_change", "from"], v)} />
          <OptionalValue label="To (optional)" value={get(["trait_change", "to"])} onChange={(v) => type(["trait_change", "to"], v)} />
        </>
      )}
      {kind === "schedule" && (
        <>
          <TextInput label="Cron (minute hour day month weekday)" mono value={str(get(["schedule", "cron"]))} onChange={(v) => type(["schedule", "cron"], v)} hint="0 9 * * mon: Mondays at 09:00" />
          <TimezoneInput label="Time zone of the schedule" value={str(get(["schedule", "timezone"]))} onChange={(v) => type(["schedule", "timezone"], v || undefined)} />
          <ConditionBuilder
            label="For everyone matching (audience)"
            value={get(["audience"])}
            optional
            onChange={(c) => set(["audience"], c)}
            kinds={["trait", "time_of_day", "day_of_week", "reachable", "segment", "group"]}
          />
        </>
      )}
      {kind === "date" && (
        <>
          <TextInput label="Date trait" value={str(get(["date", "trait"]))} list={names.traits} placeholder="renewal_date" onChange={(v) => type(["date", "trait"], v)} />
          <DurationInput label="Offset" signed value={str(get(["date", "offset"]))} onChange={(v) => type(["date", "offset"], v)} hint="e.g. 3 days before the date" />
          <TimeInput label="At (their local time, on a quarter hour)" quarter value={str(get(["date", "at"]))} onChange={(v) => type(["date", "at"], v || undefined)} />
        </>
      )}
      {kind === "segment" && (
        <>
          <SegmentSelect
            label="Segment"
            value={str(get(["segment"])) ?? ""}
            segments={segments}
            invalid={segmentProblems.some((d) => d.severity === "error")}
            hint={problemHint(segmentProblems, "People are members while its condition holds (the Segments page defines them).")}
            onChange={(v) => set(["segment"], v)}
          />
          <Select label="A run starts when a person" value={get(["on"]) === "leave" ? "leave" : "enter"} options={SEGMENT_ON} onChange={(v) => set(["on"], v)} />
        </>
      )}
      {(kind === "event" || kind === "api") && (
        <TextInput
          label="One run per (key, optional)"
          mono
          value={str(get(["key"]))}
          list={kind === "event" ? propertyPaths(names, str(get(["event"]))) : undefined}
          placeholder="cart_id"
          onChange={(v) => type(["key"], v === "" ? undefined : v)}
          hint="A property of the entry event: runs are then per person and key."
        />
      )}
      <h3 className="ed-section">Entry rules</h3>
      <Reentry base={["entry"]} />
      <Checkbox label="Concurrent: each entry starts a run of its own" checked={get(["concurrent"]) === true} onChange={(v) => set(["concurrent"], v ? true : undefined)} />
      <NumberInput label="Limit (runs in all, optional)" min={1} value={num(get(["limit"]))} onChange={(v) => type(["limit"], v)} />
      <NumberInput label="Holdout (% in a control group)" min={0} max={100} value={num(get(["holdout"]))} onChange={(v) => type(["holdout"], v)} hint="They go through the steps, but nothing is sent: conversions can be compared." />
      <RawJson what="the entry" value={entry} onChange={(v) => edit(["entry"], v, "raw:/entry")} />
      {doc.steps.length === 0 && <p className="ed-hint">Add the first step from the palette.</p>}
    </div>
  );
}

function OptionalValue({ label, value, onChange }: { label: string; value: unknown; onChange: (v: Json | undefined) => void }) {
  return (
    <div className="ed-field">
      <span className="ed-label">{label}</span>
      {value === undefined ? (
        <button type="button" className="button button-small" onClick={() => onChange("")}>
          + Set
        </button>
      ) : (
        <div className="ed-row">
          <ValueInput label={label} value={value} onChange={onChange} />
          <button type="button" className="button button-small" aria-label={`Remove ${label}`} onClick={() => onChange(undefined)}>
            ✕
          </button>
        </div>
      )}
    </div>
  );
}

const ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
})();

function TimezoneInput({ label, value, onChange, hint }: { label: string; value: string | undefined; onChange: (v: string) => void; hint?: ReactNode }) {
  return <TextInput label={label} value={value} list={ZONES} placeholder="Europe/Paris" onChange={onChange} hint={hint} />;
}

// ---- Steps ----

function WaitForm({ base }: { base: Path }) {
  const { doc, edit, names } = useEditor();
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  const mode = "until" in step ? "until" : "until_trait" in step ? "until_trait" : "duration";
  const setMode = (m: string) => {
    const out: Obj = {};
    for (const [k, v] of Object.entries(step)) if (!["duration", "until", "until_trait", "offset"].includes(k) || k === m) out[k] = v;
    if (m === "duration" && !("duration" in out)) out.duration = "1d";
    if (m === "until" && !("until" in out)) out.until = { time: "09:00" };
    if (m === "until_trait" && !("until_trait" in out)) out.until_trait = "";
    // Keep "next" last, where it was.
    if ("next" in out) {
      const next = out.next;
      delete out.next;
      out.next = next;
    }
    edit(base, out);
  };
  const calendar = getIn(step, ["until", "days"]) !== undefined;
  const ids = [...stepIds(doc)].filter((s) => s !== step.id);
  return (
    <>
      <Select
        label="Wait"
        value={mode}
        options={[
          { value: "duration", label: "For a while" },
          { value: "until", label: "Until a time of day (their local time)" },
          { value: "until_trait", label: "Until a date trait" },
        ]}
        onChange={setMode}
      />
      {mode === "duration" && <DurationInput label="For" value={str(get(["duration"]))} onChange={(v) => type(["duration"], v ?? "")} />}
      {mode === "until" && (
        <>
          <TimeInput label="Until" value={str(get(["until", "time"]))} onChange={(v) => type(["until", "time"], v)} />
          <Checkbox
            label="On a given day (a calendar wait)"
            checked={calendar}
            onChange={(on) => {
              const until = { ...(get(["until"]) as Obj) };
              if (on) until.days = 7;
              else {
                delete until.days;
                delete until.after;
              }
              set(["until"], until);
            }}
          />
          {calendar && (
            <>
              <NumberInput label="Days after" min={0} max={366} value={num(get(["until", "days"]))} onChange={(v) => type(["until", "days"], v ?? 0)} />
              <Select
                label="After the day of"
                value={str(get(["until", "after"])) ?? "entry"}
                options={[{ value: "entry", label: "the run's entry" }, ...ids.map((s) => ({ value: s, label: `reaching step ${s}` }))]}
                onChange={(v) => set(["until", "after"], v === "entry" ? undefined : v)}
              />
            </>
          )}
          <TimezoneInput
            label="Time zone (optional)"
            value={str(get(["until", "timezone"]))}
            onChange={(v) => type(["until", "timezone"], v || undefined)}
            hint="Empty: the person's timezone trait, else the journey's."
          />
        </>
      )}
      {mode === "until_trait" && (
        <>
          <TextInput label="Date trait" value={str(get(["until_trait"]))} list={names.traits} onChange={(v) => type(["until_trait"], v)} />
          <DurationInput label="Offset" signed value={str(get(["offset"]))} onChange={(v) => type(["offset"], v)} />
        </>
      )}
      <NextSelect label="Then" value={get(["next"])} onChange={(v) => set(["next"], v)} at={{ source: String(step.id), output: "next" }} />
    </>
  );
}

function WaitForForm({ base }: { base: Path }) {
  const { names, edit } = useEditor();
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  const events = Array.isArray(step.events) ? (step.events as Obj[]) : [];
  const id = String(step.id);
  return (
    <>
      <h3 className="ed-section">Wait for the first of</h3>
      <ol className="ed-list">
        {events.map((e, i) => (
          <li key={i} className="ed-item">
            <div className="ed-item-head">
              <strong>Event {i + 1}</strong>
              <button type="button" className="button button-small" aria-label={`Remove event ${i + 1}`} onClick={() => set(["events"], events.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
            <TextInput label="Event" value={str(e.event)} list={names.events} onChange={(v) => type(["events", i, "event"], v)} />
            <ConditionBuilder label="Only if" value={e.filter} optional onChange={(c) => set(["events", i, "filter"], c)} event={str(e.event)} />
            <details className="ed-more" open={e.run !== undefined}>
              <summary>Run variables when taken</summary>
              <RunUpdate base={[...base, "events", i, "run"]} />
            </details>
            <NextSelect label="Then" value={e.next} onChange={(v) => set(["events", i, "next"], v)} at={{ source: id, output: `event-${i + 1}` }} />
          </li>
        ))}
      </ol>
      <button type="button" className="button button-small" onClick={() => set(["events"], [...events, { event: "" }])}>
        + Another event
      </button>
      <h3 className="ed-section">Timeout</h3>
      <Checkbox
        label="Give up after a while"
        checked={"timeout" in step}
        onChange={(on) => {
          if (on) set(["timeout"], "3d");
          else edit(base, Object.fromEntries(Object.entries(step).filter(([k]) => k !== "timeout" && k !== "timeout_next")));
        }}
      />
      {"timeout" in step && (
        <>
          <DurationInput label="Timeout" value={str(step.timeout)} onChange={(v) => type(["timeout"], v ?? "")} />
          <NextSelect label="On timeout" value={step.timeout_next} onChange={(v) => set(["timeout_next"], v)} at={{ source: id, output: "timeout" }} />
        </>
      )}
    </>
  );
}

function BranchForm({ base, diagnostics }: FormProps) {
  const { doc } = useEditor();
  const { get, set } = useAt(base);
  const step = get([]) as Obj;
  const cases = Array.isArray(step.cases) ? (step.cases as Obj[]) : [];
  const id = String(step.id);
  const move = (i: number, d: number) => {
    const list = [...cases];
    const [c] = list.splice(i, 1);
    list.splice(i + d, 0, c);
    set(["cases"], list);
  };
  return (
    <>
      <p className="ed-hint">The first case that holds is taken, else “else”.</p>
      <ol className="ed-list">
        {cases.map((c, i) => (
          <li key={i} className="ed-item">
            <div className="ed-item-head">
              <strong>Case {i + 1}</strong>
              <span className="ed-row">
                <button type="button" className="button button-small" aria-label={`Move case ${i + 1} up`} disabled={i === 0} onClick={() => move(i, -1)}>
                  ↑
                </button>
                <button type="button" className="button button-small" aria-label={`Move case ${i + 1} down`} disabled={i === cases.length - 1} onClick={() => move(i, 1)}>
                  ↓
                </button>
                <button type="button" className="button button-small" aria-label={`Remove case ${i + 1}`} onClick={() => set(["cases"], cases.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </span>
            </div>
            <ConditionBuilder
              label={`If (case ${i + 1})`}
              value={c.when}
              onChange={(w) => set(["cases", i, "when"], w ?? { all: [] })}
              event={entryEvent(doc)}
              at={`${pointer(base)}/cases/${i}/when`}
              diagnostics={diagnostics}
            />
            <NextSelect label="Then" value={c.next} onChange={(v) => set(["cases", i, "next"], v)} at={{ source: id, output: `case-${i + 1}` }} />
          </li>
        ))}
      </ol>
      <button type="button" className="button button-small" onClick={() => set(["cases"], [...cases, { when: { all: [] } }])}>
        + Another case
      </button>
      <NextSelect label="Else" value={step.else} onChange={(v) => set(["else"], v)} at={{ source: id, output: "else" }} />
    </>
  );
}

function SplitForm({ base }: { base: Path }) {
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  const paths = Array.isArray(step.paths) ? (step.paths as Obj[]) : [];
  const total = paths.reduce((n, p) => n + (typeof p.weight === "number" ? p.weight : 0), 0);
  const id = String(step.id);
  const even = () => {
    const n = paths.length;
    const share = Math.floor(100 / n);
    set(
      ["paths"],
      paths.map((p, i) => ({ ...p, weight: share + (i < 100 - share * n ? 1 : 0) })),
    );
  };
  return (
    <>
      <p className="ed-hint">Each person gets one path at random, by weight, always the same one.</p>
      <ol className="ed-list">
        {paths.map((p, i) => (
          <li key={i} className="ed-item">
            <div className="ed-item-head">
              <strong>Path {i + 1}</strong>
              <button type="button" className="button button-small" aria-label={`Remove path ${i + 1}`} onClick={() => set(["paths"], paths.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
            <TextInput label="Name" mono value={str(p.name)} onChange={(v) => type(["paths", i, "name"], v)} />
            <NumberInput label="Weight (%)" min={0} max={100} value={num(p.weight)} onChange={(v) => type(["paths", i, "weight"], v ?? 0)} />
            <NextSelect label="Then" value={p.next} onChange={(v) => set(["paths", i, "next"], v)} at={{ source: id, output: `path-${i + 1}` }} />
          </li>
        ))}
      </ol>
      <p className={total === 100 ? "ed-hint" : "ed-error"} role="status">
        The weights add up to {total}%{total === 100 ? "." : ": they must add up to 100."}
      </p>
      <div className="ed-row">
        <button type="button" className="button button-small" onClick={() => set(["paths"], [...paths, { name: String.fromCharCode(97 + paths.length), weight: 0 }])}>
          + Another path
        </button>
        <button type="button" className="button button-small" onClick={even} disabled={paths.length === 0}>
          Even out
        </button>
      </div>
    </>
  );
}

/** What a send on each channel goes to, and who it cannot reach. */
const CHANNEL_HINT: Record<string, string> = {
  sms: "Texts the template's SMS text to the person's phone trait (with + and the country code).",
  push: "Sends the template's push notification to the person's devices: the push_tokens trait, kept from their events' context.device.token.",
  in_app:
    "Keeps the template's in-app message (a banner or a modal) for the person's next visit to the website or app, until they click or dismiss it: no address needed, so everyone can be reached.",
};
const UNREACHABLE: Record<string, string> = { email: "no email", sms: "no phone number", push: "no push device", in_app: "never for in-app messages" };

/** A step's form: where the step is in the document, and the validator's diagnostics (shown at their fields). */
interface FormProps {
  base: Path;
  diagnostics?: CanvasDiagnostic[];
}

/**
 * `obj` with key `from` replaced by `to` (set to `value`) in its place; the other keys keep
 * their order. Without `from`, `to` goes before the step's outputs.
 */
function replaceKey(obj: Obj, from: string, to: string, value: unknown): Obj {
  const keys = Object.keys(obj).filter((k) => k !== to);
  let at = keys.indexOf(from);
  if (at < 0) at = keys.findIndex((k) => ["next", "on_unreachable", "on_failure"].includes(k));
  if (at < 0) at = keys.length;
  const out: Obj = {};
  keys.forEach((k, i) => {
    if (i === at) out[to] = value;
    if (k !== from) out[k] = obj[k];
  });
  if (at === keys.length) out[to] = value;
  return out;
}

/** A send's content: one template, or variants (A/B) each person gets one of. */
type SendContent = "template" | "variants";
const SEND_CONTENT: { value: SendContent; label: string }[] = [
  { value: "template", label: "One template" },
  { value: "variants", label: "A/B variants: each person gets one" },
];

/** A/B variants: a name, a weight and a template each; the weights add up to 100. */
function SendVariants({ base, channel, variants, diagnostics }: { base: Path; channel: string; variants: Obj[]; diagnostics?: CanvasDiagnostic[] }) {
  const { set, type } = useAt(base);
  const at = pointer(base);
  const total = variants.reduce((n, v) => n + (typeof v.weight === "number" ? v.weight : 0), 0);
  // The list as a whole (fewer than two, "template" beside it); weights that do not add up to 100 are said above.
  const others = (diagnostics ?? []).filter((d) => d.path === `${at}/variants` && d.code !== "split_weights");
  const taken = new Set(variants.map((v) => v.name));
  const even = () => {
    const n = variants.length;
    const share = Math.floor(100 / n);
    set(
      ["variants"],
      variants.map((v, i) => ({ ...v, weight: share + (i < 100 - share * n ? 1 : 0) })),
    );
  };
  const another = () => {
    let name = "";
    for (let n = variants.length; name === "" || taken.has(name); n++) name = n < 26 ? String.fromCharCode(97 + n) : `v${n + 1}`;
    set(["variants"], [...variants, { name, weight: 0, template: "" }]);
  };
  return (
    <>
      <p className="ed-hint">Each person gets one variant at random, by weight, always the same one; the run's assignments record which.</p>
      <ol className="ed-list" aria-label="Variants">
        {variants.map((v, i) => {
          const [name, weight, template] = ["name", "weight", "template"].map((k) => diagnosticsAt(diagnostics, `${at}/variants/${i}/${k}`));
          return (
            <li key={i} className="ed-item">
              <div className="ed-item-head">
                <strong>Variant {i + 1}</strong>
                <button
                  type="button"
                  className="button button-small"
                  aria-label={`Remove variant ${i + 1}`}
                  title={variants.length <= 2 ? "An A/B send has two variants at least: choose One template instead" : undefined}
                  disabled={variants.length <= 2}
                  onClick={() => set(["variants"], variants.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </div>
              <div className="ed-pair">
                <TextInput label="Name" mono value={str(v.name)} invalid={name.length > 0} hint={problemHint(name)} onChange={(nv) => type(["variants", i, "name"], nv)} />
                <NumberInput label="Weight (%)" min={0} max={100} value={num(v.weight)} invalid={weight.length > 0} hint={problemHint(weight)} onChange={(nv) => type(["variants", i, "weight"], nv ?? 0)} />
              </div>
              <TemplatePicker value={str(v.template) ?? ""} channel={channel} problems={problemHint(template)} onChange={(t) => type(["variants", i, "template"], t)} />
            </li>
          );
        })}
      </ol>
      <p className={total === 100 ? "ed-hint" : "ed-error"} role="status">
        The weights add up to {total}%{total === 100 ? "." : ": they must add up to 100."}
      </p>
      {others.length > 0 && <p className="ed-error">{others.map((d) => d.message).join("; ")}</p>}
      <div className="ed-row">
        <button type="button" className="button button-small" onClick={another}>
          + Another variant
        </button>
        <button type="button" className="button button-small" onClick={even} disabled={variants.length === 0}>
          Even out
        </button>
      </div>
    </>
  );
}

function SendForm({ base, diagnostics }: FormProps) {
  const { edit } = useEditor();
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  const id = String(step.id);
  const channel = str(step.channel) ?? "email";
  const variants = Array.isArray(step.variants) ? (step.variants as Obj[]) : undefined;
  const content: SendContent = variants ? "variants" : "template";
  const setContent = (c: SendContent) => {
    if (c === content) return;
    if (c === "variants") {
      // The template chosen so far is the first variant's.
      const first = str(step.template) ?? "";
      edit(base, replaceKey(step, "template", "variants", [{ name: "a", weight: 50, template: first }, { name: "b", weight: 50, template: "" }]));
    } else {
      edit(base, replaceKey(step, "variants", "template", str(variants?.[0]?.template) ?? ""));
    }
  };
  const template = diagnosticsAt(diagnostics, `${pointer(base)}/template`);
  return (
    <>
      <Select
        label="Channel"
        value={channel}
        options={CHANNELS}
        onChange={(v) => set(["channel"], v)}
        hint={CHANNEL_HINT[channel]}
      />
      <Select label="Content" value={content} options={SEND_CONTENT} onChange={setContent} />
      {variants ? (
        <SendVariants base={base} channel={channel} variants={variants} diagnostics={diagnostics} />
      ) : (
        <TemplatePicker value={str(step.template) ?? ""} channel={channel} problems={problemHint(template)} onChange={(v) => type(["template"], v)} />
      )}
      <NextSelect label="Then" value={step.next} onChange={(v) => set(["next"], v)} at={{ source: id, output: "next" }} />
      <NextSelect
        label={`If they cannot be reached (${UNREACHABLE[channel] ?? UNREACHABLE.email})`}
        explicitNull
        value={step.on_unreachable}
        onChange={(v) => set(["on_unreachable"], v)}
        at={"on_unreachable" in step ? { source: id, output: "unreachable" } : undefined}
      />
      <NextSelect
        label="If the message fails"
        explicitNull
        value={step.on_failure}
        onChange={(v) => set(["on_failure"], v)}
        at={"on_failure" in step ? { source: id, output: "failed" } : undefined}
        hint="Routed: the run waits at the send for the message's outcome."
      />
    </>
  );
}

/** Variables a task's title and body can insert: what templates see (objects aside), traits, the entry event's properties. */
const OBJECT_VARIABLES = ["traits", "event", "run", "unsubscribe_url"];

/**
 * A Liquid text (a task's title, its body): an input or a text area; `onFocus` tells the form
 * where variables go. Its problems show in place of its hint.
 */
function LiquidField({
  label,
  value,
  onChange,
  onFocus,
  inputRef,
  multiline,
  placeholder,
  hint,
  problems,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  onFocus: () => void;
  inputRef: (el: HTMLInputElement | HTMLTextAreaElement | null) => void;
  multiline?: boolean;
  placeholder?: string;
  hint?: ReactNode;
  problems: CanvasDiagnostic[];
}) {
  const id = useId();
  const common = {
    id,
    value,
    placeholder,
    spellCheck: false,
    "aria-invalid": problems.length > 0 || undefined,
    onFocus,
  };
  return (
    <Field label={label} hint={problemHint(problems, hint)} id={id}>
      {multiline ? (
        <textarea {...common} ref={inputRef} rows={3} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input {...common} ref={inputRef} autoComplete="off" onChange={(e) => onChange(e.target.value)} />
      )}
    </Field>
  );
}

/** A wait_for step for what became of task step `task`: its Task Completed or Task Declined (told apart from other tasks' by `node`), up to `timeout`. */
export function taskOutcomeStep(task: string, id: string, timeout = "3d"): Step {
  const on = (event: string) => ({ event, filter: { property: "node", op: "eq" as const, value: task } });
  return { id, type: "wait_for", events: [on("Task Completed"), on("Task Declined")], timeout };
}

type TaskText = "title" | "body";

function TaskForm({ base, diagnostics }: FormProps) {
  const { doc, names, apply, select } = useEditor();
  const session = useSession();
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  const id = String(step.id);
  const at = pointer(base);
  const problems = (key: string) => diagnosticsAt(diagnostics, `${at}/${key}`);
  const fields = useRef<Partial<Record<TaskText, HTMLInputElement | HTMLTextAreaElement | null>>>({});
  const [last, setLast] = useState<TaskText>("title");
  const caret = useRef<{ field: TaskText; at: number } | null>(null);
  const title = str(step.title) ?? "";
  const body = str(step.body) ?? "";
  // After an insertion, the caret goes after what was inserted.
  useEffect(() => {
    const c = caret.current;
    if (!c) return;
    caret.current = null;
    const el = fields.current[c.field];
    el?.focus();
    el?.setSelectionRange(c.at, c.at);
  }, [title, body]);
  /** An optional text: empty, it is left out (the server refuses an empty one). */
  const optional = (key: string) => (v: string) => type([key], v === "" ? undefined : v);
  const write = (field: TaskText, v: string) => (field === "title" ? type(["title"], v) : optional("body")(v));
  const field = (f: TaskText) => (f === "title" ? title : body);
  const insert = (liquid: string) => {
    const value = field(last);
    const el = fields.current[last];
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    caret.current = { field: last, at: start + liquid.length };
    write(last, value.slice(0, start) + liquid + value.slice(end));
  };
  const variables = [
    ...names.template_variables.filter((v) => !OBJECT_VARIABLES.includes(v)),
    ...names.traits.map((t) => `traits.${t}`),
    ...propertyPaths(names, entryEvent(doc)).map((p) => `event.${p}`),
  ];
  const me = session?.user?.email;
  const due = str(step.due);
  const waitFor = () => {
    const wait = uniqueId(`${id}-done`, stepIds(doc));
    apply(insertSteps(doc, [taskOutcomeStep(id, wait, due)], { source: id, output: "next" }));
    select(wait);
  };
  return (
    <>
      <p className="ed-hint">
        Puts a task about the person in the Tasks inbox, for a teammate to act on (call them, check their account); the run goes on at once.
      </p>
      <LiquidField
        label="Title"
        value={title}
        placeholder="Call {{ traits.name }}"
        inputRef={(el) => void (fields.current.title = el)}
        onFocus={() => setLast("title")}
        onChange={(v) => write("title", v)}
        problems={problems("title")}
        hint="Liquid, as templates: {{ traits.name }}, {{ event.plan }}. Required."
      />
      <LiquidField
        label="Body (optional)"
        multiline
        value={body}
        placeholder="What to do, and what to say"
        inputRef={(el) => void (fields.current.body = el)}
        onFocus={() => setLast("body")}
        onChange={(v) => write("body", v)}
        problems={problems("body")}
        hint="Liquid, as the title."
      />
      {variables.length > 0 && (
        <div className="ed-field">
          <span className="ed-label">Insert a variable (into the {last})</span>
          <ul className="ed-chips" aria-label="Variables">
            {variables.map((v) => (
              <li key={v}>
                <button type="button" className="chip" onClick={() => insert(`{{ ${v} }}`)}>
                  {v}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      <TextInput
        label="Assignee (optional)"
        value={str(step.assignee)}
        placeholder={me ?? "sam@acme.test"}
        list={me ? [me] : undefined}
        invalid={problems("assignee").length > 0}
        hint={problemHint(problems("assignee"), "A user's email: the task is theirs (“Mine” on the Tasks page).")}
        onChange={optional("assignee")}
      />
      <TextInput
        label="Team (optional)"
        value={str(step.team)}
        placeholder="sales"
        invalid={problems("team").length > 0}
        hint={problemHint(problems("team"), "The Tasks page lists a team's tasks. With neither an assignee nor a team, the task is anyone's.")}
        onChange={optional("team")}
      />
      <DurationInput
        label="Due after (optional)"
        value={due}
        invalid={problems("due").length > 0}
        hint={problemHint(problems("due"), "How long after the task is made it is due (overdue tasks are marked in the inbox); empty: no due date.")}
        onChange={(v) => type(["due"], v)}
      />
      <NextSelect label="Then" value={step.next} onChange={(v) => set(["next"], v)} at={{ source: id, output: "next" }} />
      <div className="ed-field">
        <span className="ed-label">When it is done</span>
        <p className="ed-hint">
          Completing or declining the task is a Task Completed or Task Declined event on the person (with its note), which a Wait for step takes: filter on
          the property node = {id} to tell this task from others.
        </p>
        <div>
          <button type="button" className="button button-small" onClick={waitFor}>
            + Wait for its outcome
          </button>
        </div>
      </div>
    </>
  );
}

function UpdateForm({ base }: { base: Path }) {
  const { names } = useEditor();
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  const unset = Array.isArray(step.unset) ? (step.unset as string[]) : [];
  return (
    <>
      <MapEditor
        label="Set traits"
        keyLabel="Trait"
        keyList={names.traits}
        value={step.set}
        onChange={(v) => type(["set"], v)}
        renderValue={(v, s, label) => <ValueInput label={label} value={v} onChange={s} />}
        newValue=""
        addLabel="+ Set a trait"
      />
      <MapEditor
        label="Increment traits"
        keyLabel="Trait"
        keyList={names.traits}
        value={step.increment}
        onChange={(v) => type(["increment"], v)}
        renderValue={(v, s, label) => <input aria-label={label} type="number" className="ed-num" value={typeof v === "number" ? v : 0} onChange={(e) => s(Number(e.target.value))} />}
        newValue={1}
        addLabel="+ Increment a trait"
      />
      <TextInput
        label="Unset traits (comma-separated)"
        mono
        list={names.traits}
        value={unset.join(", ")}
        onChange={(v) => {
          const list = v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
          type(["unset"], list.length === 0 ? undefined : list);
        }}
      />
      <h3 className="ed-section">Run variables</h3>
      <RunUpdate base={[...base, "run"]} />
      <NextSelect label="Then" value={step.next} onChange={(v) => set(["next"], v)} at={{ source: String(step.id), output: "next" }} />
    </>
  );
}

function WebhookForm({ base }: { base: Path }) {
  const { names } = useEditor();
  const { get, set, type } = useAt(base);
  const step = get([]) as Obj;
  return (
    <>
      <TextInput label="URL" mono value={str(step.url)} placeholder="https://example.com/hook" onChange={(v) => type(["url"], v)} />
      <Select
        label="Method"
        value={str(step.method) ?? "POST"}
        options={["POST", "PUT", "PATCH", "GET", "DELETE"].map((m) => ({ value: m, label: m }))}
        onChange={(v) => set(["method"], v)}
      />
      <div className="ed-field">
        <span className="ed-label">Body (JSON; strings are Liquid templates)</span>
        {step.body === undefined ? (
          <button type="button" className="button button-small" onClick={() => set(["body"], { email: "{{ traits.email }}" })}>
            + Add a body
          </button>
        ) : (
          <>
            <JsonText label="Webhook body" value={step.body} onChange={(v) => type(["body"], v)} />
            <button type="button" className="button button-small" onClick={() => set(["body"], undefined)}>
              Remove the body
            </button>
          </>
        )}
      </div>
      <MapEditor
        label="Save from the response (trait → JSON pointer)"
        keyLabel="Trait"
        keyList={names.traits}
        value={step.save}
        onChange={(v) => type(["save"], v)}
        renderValue={(v, s, label) => <input aria-label={label} className="mono" value={typeof v === "string" ? v : ""} placeholder="/score" onChange={(e) => s(e.target.value)} />}
        newValue="/"
        addLabel="+ Save a field"
      />
      <NextSelect label="Then" value={step.next} onChange={(v) => set(["next"], v)} at={{ source: String(step.id), output: "next" }} />
    </>
  );
}

/** The form of the selected node: its kind, id, fields, delete, and its JSON. */
export function NodeForm({ nodeId, onClose, diagnostics }: { nodeId: string; onClose: () => void; diagnostics?: CanvasDiagnostic[] }) {
  const { doc, apply, select } = useEditor();
  const path = nodePath(doc, nodeId);
  if (!path) return <p className="muted">This step is gone.</p>;
  if (nodeId === ENTRY_ID) {
    return (
      <div className="ed-panel-body">
        <FormHead kind="entry" title="Entry" onClose={onClose} />
        <EntryForm diagnostics={diagnostics} />
      </div>
    );
  }
  const step = getIn(doc, path) as Obj;
  const kind = (typeof step.type === "string" && step.type in KINDS ? step.type : "wait") as keyof typeof KINDS;
  const Body: (props: FormProps) => ReactNode = {
    wait: WaitForm,
    wait_for: WaitForForm,
    branch: BranchForm,
    split: SplitForm,
    send: SendForm,
    update: UpdateForm,
    webhook: WebhookForm,
    task: TaskForm,
    exit: ExitForm,
    entry: ExitForm,
  }[kind];
  return (
    <div className="ed-panel-body">
      <FormHead
        kind={kind}
        title={String(step.id)}
        onClose={onClose}
        onDelete={() => {
          apply(deleteSteps(doc, [nodeId]));
          select(null);
        }}
      />
      <div className="ed-form" key={nodeId}>
        <StepIdField id={String(step.id)} />
        <Body base={path} diagnostics={diagnostics} />
        <RawJson what={`step ${step.id}`} value={step} onChange={(v) => apply(replaceStep(doc, nodeId, v))} />
      </div>
    </div>
  );
}

function ExitForm() {
  return <p className="ed-hint">The run ends here.</p>;
}

function FormHead({ kind, title, onClose, onDelete }: { kind: keyof typeof KINDS; title: string; onClose: () => void; onDelete?: () => void }) {
  const { label, Icon } = KINDS[kind];
  return (
    <div className="ed-form-head" data-kind={kind}>
      <span className="card-icon">
        <Icon />
      </span>
      <div className="ed-form-title">
        <span className="card-kind">{label}</span>
        <h2>{title}</h2>
      </div>
      {onDelete && (
        <button type="button" className="button button-small" onClick={onDelete} title="Delete this step (Delete key)">
          Delete
        </button>
      )}
      <button type="button" className="button button-small" onClick={onClose} aria-label="Close the form (Escape)" title="Close (Escape)">
        ✕
      </button>
    </div>
  );
}

// ---- The journey ----

function EventMatches({ label, value, onChange }: { label: string; value: unknown; onChange: (v: unknown) => void }) {
  const { names } = useEditor();
  const list = Array.isArray(value) ? (value as Obj[]) : [];
  const set = (l: Obj[]) => onChange(l.length === 0 ? undefined : l);
  return (
    <fieldset className="ed-map">
      <legend>{label}</legend>
      {list.map((m, i) => (
        <div key={i} className="ed-item">
          <div className="ed-item-head">
            <strong>Exit {i + 1}</strong>
            <button type="button" className="button button-small" aria-label={`Remove exit ${i + 1}`} onClick={() => set(list.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
          <TextInput label="Event" value={str(m.event)} list={names.events} onChange={(v) => set(list.map((x, j) => (j === i ? { ...x, event: v } : x)))} />
          <ConditionBuilder
            label="Only if"
            value={m.filter}
            optional
            event={str(m.event)}
            onChange={(c) => set(list.map((x, j) => (j === i ? (c === undefined ? Object.fromEntries(Object.entries(x).filter(([k]) => k !== "filter")) : { ...x, filter: c }) : x)))}
          />
        </div>
      ))}
      <button type="button" className="button button-small" onClick={() => set([...list, { event: "" }])}>
        + An exit event
      </button>
    </fieldset>
  );
}

/** The validator's messages about a field, in place of its hint (as the step id's problems show). */
function problemHint(problems: CanvasDiagnostic[], hint?: ReactNode): ReactNode {
  if (problems.length === 0) return hint;
  return <span className={problems.some((d) => d.severity === "error") ? "ed-error" : undefined}>{problems.map((d) => d.message).join("; ")}</span>;
}

const QUIET_THEN: { value: QuietThen; label: string }[] = [
  { value: "hold", label: "Hold sends until they end" },
  { value: "skip", label: "Skip sends" },
];

/**
 * Quiet hours: no message goes out in them, on each person's wall clock; a send then waits
 * until they end, or is skipped. Off, the document has no `quiet_hours` at all.
 */
function QuietHoursSetting({ diagnostics }: { diagnostics?: CanvasDiagnostic[] }) {
  const { get, set, type } = useAt(["quiet_hours"]);
  const quiet = get([]);
  const [from, to, then] = ["from", "to", "then"].map((k) => diagnosticsAt(diagnostics, `/quiet_hours/${k}`));
  // Anything else about it (not an object, a key it does not have) shows under the whole.
  const rest = diagnosticsAt(diagnostics, "/quiet_hours").filter((d) => ![...from, ...to, ...then].includes(d));
  const thenValue = (str(get(["then"])) ?? "hold") as QuietThen;
  return (
    <>
      <Checkbox
        label="Quiet hours"
        checked={quiet !== undefined}
        onChange={(v) => set([], v ? { from: "21:00", to: "08:00", then: "hold" } : undefined)}
        hint="On each person's wall clock (their timezone trait, else the journey's); applies to every send step."
      />
      {quiet !== undefined && (
        <div className="ed-item">
          <div className="ed-pair">
            <TimeInput label="From" value={str(get(["from"]))} invalid={from.length > 0} hint={problemHint(from)} onChange={(v) => type(["from"], v)} />
            <TimeInput label="To" value={str(get(["to"]))} invalid={to.length > 0} hint={problemHint(to, "Earlier than From: over midnight.")} onChange={(v) => type(["to"], v)} />
          </div>
          <Select
            label="A send in quiet hours"
            value={thenValue}
            options={QUIET_THEN}
            invalid={then.length > 0}
            hint={problemHint(then, thenValue === "skip" ? "The run goes on to the send's next step." : "The run waits at the send; exits and the goal still apply.")}
            onChange={(v) => set(["then"], v)}
          />
          {rest.length > 0 && <p className="ed-error">{rest.map((d) => d.message).join("; ")}</p>}
        </div>
      )}
    </>
  );
}

/**
 * The journey's frequency cap: at most `max` marketing messages from it to one person within
 * `within`, on any channel, checked as each is sent. Off, the document has no `cap` at all.
 */
function CapSetting({ diagnostics }: { diagnostics?: CanvasDiagnostic[] }) {
  const { get, set, type } = useAt(["cap"]);
  const cap = get([]);
  const [max, within] = ["max", "within"].map((k) => diagnosticsAt(diagnostics, `/cap/${k}`));
  // Anything else about it (not an object, a key it does not have) shows under the whole.
  const rest = diagnosticsAt(diagnostics, "/cap").filter((d) => ![...max, ...within].includes(d));
  return (
    <>
      <Checkbox
        label="Frequency cap"
        checked={cap !== undefined}
        onChange={(v) => set([], v ? { max: 3, within: "7d" } : undefined)}
        hint="Marketing messages from this journey to one person, on any channel; transactional ones are never stopped."
      />
      {cap !== undefined && (
        <div className="ed-item">
          <div className="ed-pair ed-pair-narrow">
            <NumberInput label="At most" min={1} value={num(get(["max"]))} invalid={max.length > 0} hint={problemHint(max, "messages")} onChange={(v) => type(["max"], v)} />
            <DurationInput label="Within" value={str(get(["within"]))} invalid={within.length > 0} hint={problemHint(within)} onChange={(v) => type(["within"], v ?? "")} />
          </div>
          {rest.length > 0 && <p className="ed-error">{rest.map((d) => d.message).join("; ")}</p>}
        </div>
      )}
    </>
  );
}

/** The lowest and highest priority (the server's). */
const PRIORITY_RANGE = [-1000, 1000] as const;

/** What a priority typed says in the document: none for empty or 0 (the default), else the number. */
const priorityOf = (typed: string): number | undefined => {
  const n = typed.trim() === "" ? 0 : Number(typed);
  return n === 0 ? undefined : n;
};

/**
 * The journey's priority: when journeys message a person on one channel at once, only the
 * marketing messages of the highest priority go. 0 (the default) or empty, the document has no
 * `priority` at all.
 */
function PrioritySetting({ diagnostics }: { diagnostics?: CanvasDiagnostic[] }) {
  const id = useId();
  const { get, type } = useAt(["priority"]);
  const value = get([]);
  const problems = diagnosticsAt(diagnostics, "/priority");
  // What is typed, shown while it says what the document has ("0" and "" are no priority, "-" on
  // the way to "-5" too); the document's own value once it says something else (undo, the raw JSON).
  const [typed, setTyped] = useState<string>();
  const shown = typed !== undefined && priorityOf(typed) === value ? typed : typeof value === "number" ? String(value) : "";
  const hint = (
    <>
      When journeys message a person on one channel at once (answering the same event), only the marketing messages of the highest priority go; the others
      are suppressed, saying which journey won. From {PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]}; empty is 0. Transactional messages are never held back.
    </>
  );
  return (
    <Field label="Priority" hint={problemHint(problems, hint)} id={id}>
      <input
        id={id}
        className="ed-num"
        type="number"
        inputMode="numeric"
        step={1}
        min={PRIORITY_RANGE[0]}
        max={PRIORITY_RANGE[1]}
        placeholder="0"
        value={shown}
        aria-invalid={problems.length > 0 || undefined}
        onChange={(e) => {
          setTyped(e.target.value);
          type([], priorityOf(e.target.value));
        }}
      />
    </Field>
  );
}

/** The journey's own settings, shown when nothing is selected; `diagnostics` are the validator's, shown at their fields. */
export function JourneySettings({ isNew, control, diagnostics }: { isNew: boolean; control?: ReactNode; diagnostics?: CanvasDiagnostic[] }) {
  const { doc, edit, names } = useEditor();
  const { get, set, type } = useAt([]);
  const goal = get(["goal"]);
  const ids = [...stepIds(doc)];
  const idOk = SLUG.test(String(doc.id ?? ""));
  return (
    <div className="ed-panel-body">
      <div className="ed-form-head">
        <div className="ed-form-title">
          <span className="card-kind">Journey</span>
          <h2>Settings</h2>
        </div>
      </div>
      <div className="ed-form">
        {isNew ? (
          <TextInput label="Id" mono value={str(doc.id)} onChange={(v) => type(["id"], v)} hint={idOk ? "Fixed once created: a-z, 0-9, - and _." : <span className="ed-error">1 to 100 of a-z, 0-9, - and _</span>} />
        ) : (
          <p>
            <span className="muted">Id</span> <code>{doc.id}</code>
          </p>
        )}
        <TextInput label="Name" value={str(get(["name"]))} onChange={(v) => type(["name"], v === "" ? undefined : v)} />
        <TimezoneInput label="Time zone" value={str(get(["timezone"]))} onChange={(v) => type(["timezone"], v === "" ? undefined : v)} hint="For people without a valid timezone trait; default UTC." />
        <QuietHoursSetting diagnostics={diagnostics} />
        <CapSetting diagnostics={diagnostics} />
        <PrioritySetting diagnostics={diagnostics} />
        {control}
        <h3 className="ed-section">Goal</h3>
        {goal === undefined ? (
          <button type="button" className="button button-small" onClick={() => set(["goal"], { event: "" })}>
            + Set a goal
          </button>
        ) : (
          <div className="ed-item">
            <TextInput label="Goal event" value={str(getIn(goal, ["event"]))} list={names.events} onChange={(v) => type(["goal", "event"], v)} />
            <ConditionBuilder label="Only if" value={getIn(goal, ["filter"])} optional onChange={(c) => set(["goal", "filter"], c)} event={str(getIn(goal, ["event"]))} />
            <DurationInput label="Within (optional)" value={str(getIn(goal, ["within"]))} onChange={(v) => type(["goal", "within"], v)} />
            <Select
              label="Counted from"
              value={str(getIn(goal, ["from"])) ?? ""}
              options={[{ value: "", label: "the run's entry" }, ...ids.map((s) => ({ value: s, label: `reaching step ${s}` }))]}
              onChange={(v) => set(["goal", "from"], v === "" ? undefined : v)}
            />
            <Checkbox label="Reaching the goal ends the run" checked={getIn(goal, ["exit"]) === true} onChange={(v) => set(["goal", "exit"], v ? true : undefined)} />
            <button type="button" className="button button-small" onClick={() => set(["goal"], undefined)}>
              Remove the goal
            </button>
          </div>
        )}
        <h3 className="ed-section">Exits</h3>
        <EventMatches label="End a run at once on" value={get(["exit"])} onChange={(v) => set(["exit"], v)} />
        <RawJson what="the whole journey" value={doc} onChange={(v) => isObject(v) && edit([], v as unknown as JourneyDocument, "raw:/")} />
      </div>
    </div>
  );
}

export type { ConditionKind };
