// Computed traits: traits Wayfarer keeps from each person's history ("spent in 90 days", "the
// largest order", "how many different products viewed"), written on the profile where templates,
// conditions and segments read them like any trait. The list says what each keeps in words; a
// form makes or changes one with the history query of the condition builder, the server's
// problems under the field they name; deleting one asks once.
import { useId, useMemo, useState, type FormEvent } from "react";
import { ApiError, apiDelete, apiGet, apiPut, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { useMay } from "../auth/context";
import { HistoryForm, problemsAt } from "../journey/edit/ConditionBuilder";
import { ConditionContext, NO_NAMES, type ConditionApi } from "../journey/edit/context";
import "../journey/edit/editor.css";
import { RawJson, TextInput } from "../journey/edit/fields";
import { deepEqual } from "../journey/json";
import { useLeaveGuard } from "../router";
import { computedProblems, EXAMPLE, keptText, NEW_HISTORY, STAGE_TRAIT, TRAIT_NAME, type ComputedTrait } from "../segments/computed";
import { namesOf, problemsText, shapeOf, under, type SegmentDiagnostic } from "../segments/segments";
import "../segments/segments.css";
import { SegmentsTabs } from "../segments/SegmentsTabs";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";
import { asApiError, ConfirmDelete } from "./settings/parts";

/** Where the query is in a computed trait's document: the server's problems' paths start there. */
const AT = "/history";

/** What the form edits: a new trait (`initial` undefined, or an example to start from) or one there is. */
interface Draft {
  trait: string;
  name: string;
  history: unknown;
}

/** The problems a save was refused with, and the structure of the query they were about. */
interface Refused {
  diagnostics: SegmentDiagnostic[];
  shape: string;
}

function problemHint(problems: readonly SegmentDiagnostic[], hint?: string) {
  if (problems.length === 0) return hint;
  return <span className={problems.some((d) => d.severity === "error") ? "ed-error" : undefined}>{problems.map((d) => d.message).join("; ")}</span>;
}

/**
 * The form of a computed trait: its trait (new ones only: a trait there is keeps its name), its
 * label, and the history query it keeps. Saved with PUT; a 422 shows each problem under the field
 * its path names (`/trait`, `/name`, `/history/event`...), kept while values are fixed.
 */
function TraitForm({
  existing,
  start,
  taken,
  names,
  segmentNames,
  onSaved,
  onCancel,
}: {
  /** The trait being changed; undefined for a new one. */
  existing?: ComputedTrait;
  start: Draft;
  /** The computed traits there are (a new one may not take one's name). */
  taken: ReadonlySet<string>;
  names: Schemas["Names"];
  segmentNames: Readonly<Record<string, string>>;
  onSaved: (saved: ComputedTrait, created: boolean) => void;
  onCancel: () => void;
}) {
  const formId = useId();
  const [trait, setTrait] = useState(start.trait);
  const [name, setName] = useState(start.name);
  const [history, setHistory] = useState<unknown>(start.history);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ApiError>();
  const [refused, setRefused] = useState<Refused>();
  const [local, setLocal] = useState<string>();
  const isNew = existing === undefined;
  const conditionApi: ConditionApi = useMemo(() => ({ names, refs: false, sinceEntry: false }), [names]);

  const changed = trait !== start.trait || name !== start.name || !deepEqual(history, start.history);
  useLeaveGuard(changed ? "This computed trait has changes that are not saved. Leave without saving them?" : undefined);

  // The refusal's problems, while the query has the structure they were about.
  const problems = refused && refused.shape === shapeOf(history) ? refused.diagnostics : undefined;
  const all = problems ?? [];
  const traitProblems = problemsAt(all, "/trait", []);
  const nameProblems = problemsAt(all, "/name", []);
  const elsewhere = all.filter((d) => !under(d.path, "/trait") && !under(d.path, "/name") && !under(d.path, AT));

  const wanted = trait.trim();
  // Said before anything is sent: a name the server would refuse, or one there is already.
  const check = (): string | undefined => {
    if (!isNew) return undefined;
    if (!TRAIT_NAME.test(wanted)) return "A trait's name is 1 to 64 of a-z, 0-9 and _, starting with a letter (templates read it as traits.name).";
    if (taken.has(wanted)) return `There is a computed trait ${wanted} already: change it from the list.`;
    if (wanted === STAGE_TRAIT) return `${STAGE_TRAIT} is each person's lifecycle stage: Wayfarer writes it already.`;
    return undefined;
  };
  // A trait the data has already: the computed value replaces what is sent.
  const overwrites = isNew && TRAIT_NAME.test(wanted) && !taken.has(wanted) && names.traits.includes(wanted);

  const save = () => {
    const problem = check();
    setLocal(problem);
    if (problem) return;
    setSaving(true);
    setSaveError(undefined);
    const id = isNew ? wanted : existing.trait;
    const body: Schemas["ComputedTraitBody"] = { ...(name.trim() !== "" ? { name: name.trim() } : {}), history: history as Schemas["ComputedTraitBody"]["history"] };
    const sent = history;
    apiPut("/api/computed-traits/{trait}", body, { params: { trait: id } }).then(
      (view) => {
        setSaving(false);
        setRefused(undefined);
        onSaved(view, isNew);
      },
      (err: unknown) => {
        setSaving(false);
        const error = asApiError(err);
        const diagnostics = computedProblems(error);
        if (diagnostics) setRefused({ diagnostics, shape: shapeOf(sent) });
        else setSaveError(error);
      },
    );
  };

  const title = isNew ? "New computed trait" : `Change ${existing.label}`;
  return (
    <form className="panel computed-form ed-panel-body" aria-labelledby={`${formId}-title`} onSubmit={(e: FormEvent) => (e.preventDefault(), save())}>
      <h2 id={`${formId}-title`}>{title}</h2>
      {problems && (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>Not saved</strong>: the computed trait has {problemsText(problems.length)}
            {problems.length === elsewhere.length ? "" : problems.length === 1 ? ", shown at the field it is about" : ", shown at the fields they are about"}.
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
      {saveError && <ErrorNotice what="The computed trait could not be saved" error={saveError} onRetry={save} />}
      <div className="computed-names">
        {isNew ? (
          <TextInput
            label="Trait"
            mono
            value={trait}
            placeholder="spent_90d"
            invalid={local !== undefined || traitProblems.length > 0}
            hint={
              local ? (
                <span className="ed-error" role="alert">
                  {local}
                </span>
              ) : traitProblems.length > 0 ? (
                problemHint(traitProblems)
              ) : overwrites ? (
                `Profiles have a ${wanted} trait already: from now on Wayfarer writes it, and what sources send for it is replaced.`
              ) : (
                "What templates, conditions and segments read: traits." + (wanted || "name") + "."
              )
            }
            onChange={(v) => {
              setTrait(v);
              setLocal(undefined);
            }}
          />
        ) : (
          <div className="ed-field">
            <span className="computed-label">Trait</span>
            <code>{existing.trait}</code>
            <p className="ed-hint">A computed trait keeps its name: to rename it, make a new one and delete this one.</p>
          </div>
        )}
        <TextInput
          label="Label"
          value={name}
          placeholder={wanted || existing?.trait}
          invalid={nameProblems.length > 0}
          hint={problemHint(nameProblems, "What people call it. Empty, the trait's name.")}
          onChange={setName}
        />
      </div>
      <ConditionContext.Provider value={conditionApi}>
        <HistoryForm label="What it keeps" value={history} onChange={setHistory} at={AT} diagnostics={all} />
      </ConditionContext.Provider>
      <p className="ed-hint computed-says" aria-live="polite">
        <code>traits.{(isNew ? wanted : existing.trait) || "…"}</code> = {keptText(history, segmentNames)}
      </p>
      <p className="ed-hint">
        Wayfarer updates it on each event it counts and when an event leaves the window, with no event needed. Saved, it is computed for everyone from
        their history.
      </p>
      <RawJson what="the history query" value={history ?? null} onChange={(v) => setHistory(v)} />
      <div className="page-head">
        <button type="submit" className="button button-primary" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TraitTable({
  traits,
  names,
  editor,
  onEdit,
  onDelete,
}: {
  traits: readonly ComputedTrait[];
  names: Readonly<Record<string, string>>;
  editor: boolean;
  onEdit: (t: ComputedTrait) => void;
  onDelete: (t: ComputedTrait) => void;
}) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Trait</th>
          <th scope="col">What it keeps</th>
          <th scope="col">Updated</th>
          {editor && (
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {traits.map((t) => (
          <tr key={t.trait}>
            <td>
              <strong>{t.label}</strong>
              <div>
                <code className="muted">{t.trait}</code>
              </div>
            </td>
            <td className="segment-condition-text">{keptText(t.history, names)}</td>
            <td className="nowrap">
              <Time at={t.updated_at} />
            </td>
            {editor && (
              <td className="nowrap">
                <div className="computed-actions">
                  <button type="button" className="button button-small" aria-label={`Change ${t.label}`} onClick={() => onEdit(t)}>
                    Change
                  </button>
                  <button type="button" className="button button-small button-danger-outline" aria-label={`Delete ${t.label}…`} onClick={() => onDelete(t)}>
                    Delete…
                  </button>
                </div>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const CURL = (origin: string) => `curl -X PUT ${origin}/api/computed-traits/spent_90d -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
  -d '{"name": "Spent in 90 days",
       "history": {"event": "Order Completed", "within": "90d", "aggregate": "sum", "property": "total"}}'`;

/** What the form is open for: nothing, a new trait (from scratch or the example), or one there is. */
type Open = { kind: "none" } | { kind: "new"; start: Draft } | { kind: "edit"; trait: ComputedTrait };

export function ComputedTraitsPage() {
  useTitle("Computed traits");
  const [list, reload] = useApi("computed-traits", (signal) => apiGet("/api/computed-traits", { signal }));
  const [namesAnswer] = useApi("names", (signal) => apiGet("/api/names", { signal }));
  const [segmentsAnswer] = useApi("segments", (signal) => apiGet("/api/segments", { signal }));
  const names = namesAnswer.state === "ready" ? namesAnswer.data : NO_NAMES;
  const segmentNames = useMemo(() => namesOf(segmentsAnswer.state === "ready" ? segmentsAnswer.data.segments : undefined), [segmentsAnswer]);
  const editor = useMay("editor");
  const [open, setOpen] = useState<Open>({ kind: "none" });
  const [done, setDone] = useState<string>();
  const [deleting, setDeleting] = useState<{ trait: ComputedTrait; busy: boolean }>();
  const [deleteError, setDeleteError] = useState<ApiError>();
  const traits = list.state === "ready" ? list.data.computed_traits : undefined;

  const start = (o: Open) => {
    setOpen(o);
    setDone(undefined);
    setDeleting(undefined);
    setDeleteError(undefined);
  };
  const saved = (view: ComputedTrait, created: boolean) => {
    setOpen({ kind: "none" });
    setDone(`${created ? "Made" : "Saved"} ${view.label} (traits.${view.trait}): it is being computed for everyone from their history.`);
    reload();
  };
  const remove = () => {
    if (!deleting) return;
    const { trait } = deleting;
    setDeleting({ trait, busy: true });
    setDeleteError(undefined);
    apiDelete("/api/computed-traits/{trait}", { params: { trait: trait.trait } }).then(
      () => {
        setDeleting(undefined);
        setDone(`Deleted ${trait.label}: traits.${trait.trait} is no longer kept.`);
        if (open.kind === "edit" && open.trait.trait === trait.trait) setOpen({ kind: "none" });
        reload();
      },
      (e: unknown) => {
        setDeleting(undefined);
        setDeleteError(asApiError(e));
        // Gone already (404): the list says so.
        reload();
      },
    );
  };

  return (
    <div className="page">
      <SegmentsTabs current="/computed-traits" />
      <div className="page-head">
        <h1>Computed traits</h1>
        {!editor ? (
          <ReadOnly />
        ) : (
          open.kind === "none" && (
            <button type="button" className="button button-primary" onClick={() => start({ kind: "new", start: { trait: "", name: "", history: NEW_HISTORY } })}>
              New computed trait
            </button>
          )
        )}
      </div>
      <p className="muted">
        A computed trait is a value Wayfarer keeps from each person's history — how much they spent in 90 days, their largest order, how many different
        products they viewed — written on their profile as a trait. Templates, conditions, segments and trait-change entries read it like any other, and
        it stays up to date as events come in and leave its window.
      </p>
      {done && (
        <p className="notice" role="status">
          {done}
        </p>
      )}
      {deleteError && (
        <p className="notice notice-error" role="alert">
          <span>
            <strong>Not deleted</strong>: {deleteError.message}
          </span>
        </p>
      )}
      {editor && open.kind === "new" && (
        <TraitForm start={open.start} taken={new Set((traits ?? []).map((t) => t.trait))} names={names} segmentNames={segmentNames} onSaved={saved} onCancel={() => setOpen({ kind: "none" })} />
      )}
      {editor && open.kind === "edit" && (
        <TraitForm
          key={open.trait.trait}
          existing={open.trait}
          start={{ trait: open.trait.trait, name: open.trait.label === open.trait.trait ? "" : open.trait.label, history: open.trait.history }}
          taken={new Set()}
          names={names}
          segmentNames={segmentNames}
          onSaved={saved}
          onCancel={() => setOpen({ kind: "none" })}
        />
      )}
      {deleting && (
        <ConfirmDelete
          question={`Delete the computed trait “${deleting.trait.label}”? Wayfarer stops keeping traits.${deleting.trait.trait}: the values written stay on the profiles, no longer updated.`}
          action={`Yes, delete ${deleting.trait.label}`}
          busy={deleting.busy}
          onConfirm={remove}
          onCancel={() => setDeleting(undefined)}
        />
      )}
      <section aria-label="Computed traits">
        {list.state === "loading" && (
          <p className="muted" role="status">
            Loading the computed traits…
          </p>
        )}
        {list.state === "failed" && <ErrorNotice what="The computed traits could not be listed" error={list.error} onRetry={reload} />}
        {traits &&
          (traits.length === 0 ? (
            <div className="panel">
              <p>
                <strong>No computed traits yet.</strong> Make one with “New computed trait”: name the trait, then say what it keeps from each person's
                events — how many, whether any, the sum, the smallest or largest, the first or last value, or how many different values of a property, in
                the last days.
              </p>
              {editor && (
                <div>
                  <button type="button" className="button" onClick={() => start({ kind: "new", start: EXAMPLE })}>
                    Start from an example: {EXAMPLE.name}
                  </button>
                </div>
              )}
              <p>Or with the API:</p>
              <pre tabIndex={0}>{CURL(window.location.origin)}</pre>
            </div>
          ) : (
            <>
              <TraitTable
                traits={traits}
                names={segmentNames}
                editor={editor}
                onEdit={(t) => start({ kind: "edit", trait: t })}
                onDelete={(t) => {
                  setDone(undefined);
                  setDeleteError(undefined);
                  setDeleting({ trait: t, busy: false });
                }}
              />
              <p className="muted" role="status">
                {traits.length} computed {traits.length === 1 ? "trait" : "traits"}
              </p>
            </>
          ))}
      </section>
    </div>
  );
}
