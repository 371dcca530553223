// The lifecycle: everyone on one ordered path of stages (lead → customer → at risk …), a person at
// the last stage whose condition holds. The stages in order, each with its name, id, how many
// people are at it now and its condition, edited with the condition builder as a segment's is;
// added, removed and moved up or down, saved at once with the server's problems at the stage and
// field their paths name; while everyone is evaluated again, how far that is. Below, the journey
// map: who moved from one stage to another in a period, for everyone or a segment's members.
import { useId, useMemo, useState } from "react";
import { ApiError, apiGet, apiPut, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { useMay } from "../auth/context";
import { ConditionBuilder, problemsAt, SEGMENT_KINDS } from "../journey/edit/ConditionBuilder";
import { ConditionContext, NO_NAMES, type ConditionApi } from "../journey/edit/context";
import "../journey/edit/editor.css";
import { RawJson, TextInput } from "../journey/edit/fields";
import { useLeaveGuard } from "../router";
import { FILL_REFRESH_MS, FillProgress } from "../segments/FillProgress";
import { FlowTable, JourneyMap } from "../segments/JourneyMap";
import {
  bodyOf,
  draftsOf,
  EXAMPLE_STAGES,
  localProblems,
  MAX_STAGES,
  periodText,
  sameStages,
  stageKey,
  stagesShape,
  type Lifecycle,
  type StageDraft,
} from "../segments/lifecycle";
import { peopleText, problemsText, refsOf, refusalProblems, under, useRefreshed, type SegmentDiagnostic } from "../segments/segments";
import "../segments/segments.css";
import { SegmentsTabs } from "../segments/SegmentsTabs";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";
import { asApiError } from "./settings/parts";

/** The periods the journey map offers, in days; the server's default (no `from`) is 30. */
export const PERIODS = [7, 30, 90] as const;
const DEFAULT_PERIOD = 30;
const DAY_MS = 24 * 3600_000;

/** The problems a save was refused with (or found before sending), and the structure of the stages they were about. */
interface Refused {
  diagnostics: SegmentDiagnostic[];
  shape: string;
}

function problemHint(problems: readonly SegmentDiagnostic[], hint?: string) {
  if (problems.length === 0) return hint;
  return <span className={problems.some((d) => d.severity === "error") ? "ed-error" : undefined}>{problems.map((d) => d.message).join("; ")}</span>;
}

/** One stage: its place, name, id, people now, condition; moved, removed. */
function StageCard({
  stage,
  index,
  count,
  people,
  problems,
  editor,
  onChange,
  onMove,
  onRemove,
}: {
  stage: StageDraft;
  index: number;
  count: number;
  /** How many people are at it now; undefined for a stage not saved yet. */
  people: number | undefined;
  problems: readonly SegmentDiagnostic[];
  editor: boolean;
  onChange: (s: StageDraft) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}) {
  const headingId = useId();
  const at = `/stages/${index}`;
  const shown = stage.name.trim() || stage.id.trim() || `Stage ${index + 1}`;
  const idProblems = problemsAt(problems, `${at}/id`, []);
  const nameProblems = problemsAt(problems, `${at}/name`, []);
  // Anything else about the stage (not an object, a key it does not have) shows under its head.
  const rest = problemsAt(problems, at, [`${at}/id`, `${at}/name`, `${at}/condition`]);
  return (
    <section className="panel stage ed-panel-body" aria-labelledby={headingId} data-invalid={problemsAt(problems, at, []).length > 0 || undefined}>
      <div className="stage-head">
        <span className="stage-number" aria-hidden="true">
          {index + 1}
        </span>
        <h3 id={headingId}>{shown}</h3>
        <span className="stage-people" data-testid="stage-people">
          {people === undefined ? <span className="muted">not saved yet</span> : `${peopleText(people)} now`}
        </span>
        {editor && (
          <span className="stage-actions">
            <button type="button" className="button button-small" aria-label={`Move ${shown} up`} title="Earlier in the lifecycle" disabled={index === 0} onClick={() => onMove(-1)}>
              ↑
            </button>
            <button
              type="button"
              className="button button-small"
              aria-label={`Move ${shown} down`}
              title="Further along the lifecycle"
              disabled={index === count - 1}
              onClick={() => onMove(1)}
            >
              ↓
            </button>
            <button type="button" className="button button-small button-danger-outline" aria-label={`Remove ${shown}`} onClick={onRemove}>
              Remove
            </button>
          </span>
        )}
      </div>
      {rest.length > 0 && (
        <ul className="cond-problems">
          {rest.map((d, i) => (
            <li key={i} className={d.severity === "error" ? "ed-error" : "ed-hint"}>
              {d.message}
            </li>
          ))}
        </ul>
      )}
      <div className="stage-fields">
        <TextInput
          label="Name"
          value={stage.name}
          placeholder={stage.id || "Customer"}
          invalid={nameProblems.length > 0}
          hint={problemHint(nameProblems, "What people call it. Empty, its id.")}
          onChange={(name) => onChange({ ...stage, name })}
        />
        <TextInput
          label="Id"
          mono
          value={stage.id}
          placeholder="customer"
          invalid={idProblems.length > 0}
          hint={problemHint(idProblems, "What the lifecycle_stage trait holds, and Stage Changed events say.")}
          onChange={(id) => onChange({ ...stage, id })}
        />
      </div>
      <ConditionBuilder
        label={`Who is at ${shown}`}
        value={stage.condition}
        onChange={(c) => onChange({ ...stage, condition: c ?? { all: [] } })}
        kinds={SEGMENT_KINDS}
        at={`${at}/condition`}
        diagnostics={problems}
      />
      <RawJson what={`the condition of ${shown}`} value={stage.condition ?? null} onChange={(v) => onChange({ ...stage, condition: v === null ? undefined : v })} />
    </section>
  );
}

/** The journey map: a period, a segment (or everyone), the moves as a Sankey diagram and as a table. */
function MapSection({ stages, segments, generation }: { stages: Schemas["StageView"][]; segments: readonly Schemas["SegmentRef"][] | undefined; generation: string }) {
  const [days, setDays] = useState<number>(DEFAULT_PERIOD);
  const [segment, setSegment] = useState("");
  const periodId = useId();
  const segmentId = useId();
  const [flows, reload] = useApi(`flows:${days}:${segment}:${generation}`, async (signal) => {
    const query: { from?: string; segment?: string } = segment ? { segment } : {};
    if (days !== DEFAULT_PERIOD) {
      // The period ends at the server's now (a manual clock in tests), not this browser's.
      const now = await apiGet("/api/clock", { signal }).then(
        (c) => Date.parse(c.now),
        () => Date.now(),
      );
      query.from = new Date(now - days * DAY_MS).toISOString();
    }
    return apiGet("/api/lifecycle/flows", { query, signal });
  });
  const segmentName = segments?.find((s) => s.id === segment)?.name ?? segment;
  const period = `${periodText(days)}${segment ? ` among ${segmentName}` : ""}`;
  return (
    <section className="panel journey-map-panel" aria-labelledby="journey-map">
      <h2 id="journey-map">Journey map</h2>
      <p className="muted">Who moved from one stage to another: people leave the stages on the left for those on the right.</p>
      <div className="map-controls">
        <div className="field">
          <label htmlFor={periodId}>Period</label>
          <select id={periodId} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {PERIODS.map((d) => (
              <option key={d} value={d}>
                Last {d} days
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={segmentId}>People</label>
          <select id={segmentId} value={segment} onChange={(e) => setSegment(e.target.value)}>
            <option value="">Everyone</option>
            {(segments ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {flows.state === "loading" && (
        <p className="muted" role="status">
          Loading the moves…
        </p>
      )}
      {flows.state === "failed" && <ErrorNotice what="The moves could not be loaded" error={flows.error} onRetry={reload} />}
      {flows.state === "ready" &&
        (flows.data.flows.length === 0 ? (
          <div className="map-empty">
            <p>
              <strong>Nobody moved between stages {period}.</strong>{" "}
              {stages.length === 0
                ? "Define the stages above and save them: from then on, each time a person's events or traits put them at another stage, the move is drawn here."
                : "People move when their events and traits make another stage's condition hold (or none), and when a window moves on. Saving new stages moves everyone once, as they are evaluated again."}
            </p>
          </div>
        ) : (
          <>
            <JourneyMap flows={flows.data.flows} stages={stages} period={period} />
            <p className="muted">
              From <Time at={flows.data.from} /> to <Time at={flows.data.to} />
              {segment ? ` · members of ${segmentName} (as they are now)` : ""}
            </p>
            <details className="flow-details">
              <summary>The moves as a table</summary>
              <FlowTable flows={flows.data.flows} stages={stages} />
            </details>
          </>
        ))}
    </section>
  );
}

const CURL = (origin: string) => `curl -X PUT ${origin}/api/lifecycle -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"stages": [
  {"id": "lead", "name": "Lead", "condition": {"trait": "email", "op": "exists"}},
  {"id": "customer", "name": "Customer", "condition": {"history": {"event": "Order Completed", "within": "365d"}, "op": "gte", "value": 1}}]}'`;

function LifecycleEditor({ initial }: { initial: Lifecycle }) {
  const [saved, setSaved] = useState(initial);
  const [generation, setGeneration] = useState(0);
  const [stages, setStages] = useState<StageDraft[]>(() => draftsOf(initial.stages));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ApiError>();
  const [refused, setRefused] = useState<Refused>();
  const [confirming, setConfirming] = useState(false);
  const editor = useMay("editor");

  // How many are at each stage, and the fill, asked for again while a fill goes on.
  const live = useRefreshed(saved, (signal) => apiGet("/api/lifecycle", { signal }), (l) => !!l.fill, FILL_REFRESH_MS) ?? saved;
  const [namesAnswer] = useApi("names", (signal) => apiGet("/api/names", { signal }));
  const [segmentsAnswer] = useApi("segments", (signal) => apiGet("/api/segments", { signal }));
  const names = namesAnswer.state === "ready" ? namesAnswer.data : NO_NAMES;
  const segments = useMemo(() => (segmentsAnswer.state === "ready" ? refsOf(segmentsAnswer.data.segments) : undefined), [segmentsAnswer]);
  const conditionApi: ConditionApi = useMemo(() => ({ names, segments, refs: false, sinceEntry: false }), [names, segments]);

  const dirty = !sameStages(stages, saved.stages);
  useLeaveGuard(dirty ? "The lifecycle has changes that are not saved. Leave without saving them?" : undefined);
  const people = new Map(live.stages.map((s) => [s.id, s.people]));
  // Saved stages with people at them that the changes remove: saving asks first.
  const removed = saved.stages.filter((s) => s.people > 0 && !stages.some((d) => d.id.trim() === s.id));
  const liveRemoved = removed.map((s) => ({ ...s, people: people.get(s.id) ?? s.people }));

  // The problems, while the stages have the structure they were about.
  const problems = refused && refused.shape === stagesShape(stages) ? refused.diagnostics : undefined;
  const all = problems ?? [];
  const elsewhere = all.filter((d) => !stages.some((_, i) => under(d.path, `/stages/${i}`)));

  const change = (next: StageDraft[]) => {
    setStages(next);
    setConfirming(false);
  };
  const move = (i: number, by: -1 | 1) => {
    const next = [...stages];
    [next[i], next[i + by]] = [next[i + by], next[i]];
    change(next);
  };

  const save = (asked = false) => {
    const local = localProblems(stages);
    if (local.length > 0) {
      setRefused({ diagnostics: local, shape: stagesShape(stages) });
      return;
    }
    if (liveRemoved.length > 0 && !asked) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    setSaving(true);
    setSaveError(undefined);
    const shape = stagesShape(stages);
    apiPut("/api/lifecycle", bodyOf(stages), {}).then(
      (view) => {
        setSaving(false);
        setSaved(view);
        setGeneration((n) => n + 1);
        setRefused(undefined);
      },
      (e: unknown) => {
        setSaving(false);
        const error = asApiError(e);
        const diagnostics = refusalProblems(error, "lifecycle_invalid");
        if (diagnostics) setRefused({ diagnostics, shape });
        else setSaveError(error);
      },
    );
  };

  const removedText = liveRemoved.map((s) => `${s.name} (${peopleText(s.people)})`).join(", ");
  return (
    <div className="page">
      <SegmentsTabs current="/lifecycle" />
      <div className="page-head">
        <h1>Lifecycle</h1>
        <span className="muted" role="status">
          {dirty ? "Changes not saved" : saved.stages.length === 0 ? "No stages yet" : `${saved.stages.length} ${saved.stages.length === 1 ? "stage" : "stages"}`}
        </span>
        {editor ? (
          <button type="button" className="button button-primary" onClick={() => save()} disabled={saving || !dirty}>
            {saving ? "Saving…" : "Save"}
          </button>
        ) : (
          <ReadOnly />
        )}
      </div>
      <p className="muted">
        Lifecycle stages put everyone on one path, first stage first. A person is at the <strong>last</strong> stage whose condition holds — the
        furthest along — or at none. Their stage is the trait <code>lifecycle_stage</code>, kept as their events and traits change and as time windows
        move on; each move is a <code>Stage Changed</code> event journeys can start on.
      </p>
      {live.fill && (
        <p className="segment-size">
          <FillProgress fill={live.fill} />
          <span className="muted">Everyone is being evaluated again after the last change: the counts grow as it goes.</span>
        </p>
      )}
      {problems && (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>Not saved</strong>: the lifecycle has {problemsText(problems.length)}
            {problems.length === elsewhere.length ? "" : problems.length === 1 ? ", shown at the stage it is about" : ", shown at the stages they are about"}.
          </p>
          {elsewhere.length > 0 && (
            <ul className="segment-save-problems">
              {elsewhere.map((d, i) => (
                <li key={i}>
                  {d.path ? <code>{d.path}</code> : null} {d.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {saveError && <ErrorNotice what="The lifecycle could not be saved" error={saveError} onRetry={() => save(true)} />}
      {confirming && (
        <div className="confirm" role="group" aria-label={`Save without ${removedText}?`}>
          <span>
            Save without {removedText}? The people at {liveRemoved.length === 1 ? "it" : "them"} move to the last stage that still holds for them, or to
            none, each move a Stage Changed event.
          </span>
          <button type="button" className="button button-danger" autoFocus onClick={() => save(true)}>
            Yes, save
          </button>
          <button type="button" className="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ConditionContext.Provider value={conditionApi}>
        <section className="stages" aria-labelledby="lifecycle-stages">
          <h2 id="lifecycle-stages">Stages</h2>
          {stages.length === 0 ? (
            <div className="panel">
              <p>
                <strong>No stages yet.</strong> A stage is a name and a condition on the person, as a segment's: a trait, an event history, whether a
                channel reaches them, a segment. List them in the order people go through them — visitor, lead, customer, repeat customer, at risk —
                and Wayfarer keeps each person at the furthest one that holds, and draws the moves between them below.
              </p>
              {editor && (
                <div className="page-head">
                  <button type="button" className="button" onClick={() => change(EXAMPLE_STAGES.map((s) => ({ ...s, key: stageKey() })))}>
                    Start from an example: Lead → Customer → Repeat customer → At risk
                  </button>
                </div>
              )}
              <p>Or with the API:</p>
              <pre tabIndex={0}>{CURL(window.location.origin)}</pre>
            </div>
          ) : (
            <ol className="stage-list">
              {stages.map((s, i) => (
                <li key={s.key}>
                  <StageCard
                    stage={s}
                    index={i}
                    count={stages.length}
                    people={saved.stages.some((o) => o.id === s.id.trim()) ? (people.get(s.id.trim()) ?? 0) : undefined}
                    problems={all}
                    editor={editor}
                    onChange={(next) => change(stages.map((o) => (o.key === s.key ? next : o)))}
                    onMove={(by) => move(i, by)}
                    onRemove={() => change(stages.filter((o) => o.key !== s.key))}
                  />
                </li>
              ))}
            </ol>
          )}
          {editor && (
            <div className="page-head">
              <button
                type="button"
                className="button"
                disabled={stages.length >= MAX_STAGES}
                title={stages.length >= MAX_STAGES ? `A lifecycle has at most ${MAX_STAGES} stages` : undefined}
                onClick={() => change([...stages, { key: stageKey(), id: "", name: "", condition: undefined }])}
              >
                + Add stage
              </button>
              <span className="ed-hint">A new stage goes last: the furthest along. Move it up to place it earlier.</span>
            </div>
          )}
        </section>
      </ConditionContext.Provider>
      <MapSection stages={live.stages} segments={segments} generation={`${generation}:${live.fill ? "filling" : "filled"}`} />
    </div>
  );
}

export function LifecyclePage() {
  useTitle("Lifecycle");
  const [lifecycle, reload] = useApi("lifecycle", (signal) => apiGet("/api/lifecycle", { signal }));
  if (lifecycle.state === "ready") return <LifecycleEditor initial={lifecycle.data} />;
  return (
    <div className="page">
      <SegmentsTabs current="/lifecycle" />
      <div className="page-head">
        <h1>Lifecycle</h1>
      </div>
      {lifecycle.state === "loading" ? (
        <p className="muted" role="status">
          Loading the lifecycle…
        </p>
      ) : (
        <ErrorNotice what="The lifecycle could not be loaded" error={lifecycle.error} onRetry={reload} />
      )}
    </div>
  );
}
