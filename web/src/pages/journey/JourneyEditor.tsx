// The journey editor: the canvas and the forms edit the journey document itself (never a model
// of it), through the operations of journey/ops.ts, with undo and redo as a stack of documents.
// Around it: the server's validator as you edit, draft → publish, versions and their diff,
// pause / resume / stop, live counts, and a backtest drawn on the same cards.
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { ApiError, apiGet, apiPost, apiPut, type Schemas } from "../../api/client";
import { apiGetAll } from "../../api/getAll";
import { liveCounts, simulatedCounts, waitingNow } from "../../journey/counts";
import type { JourneyDocument, StepType } from "../../journey/doc";
import { diff, nodeMarks } from "../../journey/diff";
import { EditorContext, NO_NAMES, type EditorApi } from "../../journey/edit/context";
import { JourneySettings, NodeForm } from "../../journey/edit/forms";
import { nearest, type Direction } from "../../journey/edit/navigate";
import { ENTRY_DRAG_TYPE, Palette } from "../../journey/edit/Palette";
import { ENTRY_ID, toGraph } from "../../journey/graph";
import { commit, redo, seal, start, undo, type History } from "../../journey/history";
import { JourneyCanvas, type CanvasEditing } from "../../journey/JourneyCanvas";
import { JourneyTabs } from "../../journey/JourneyTabs";
import { deepEqual, isObject, setIn, type Path } from "../../journey/json";
import { layout } from "../../journey/layout";
import type { DiffMark } from "../../journey/NodeCard";
import {
  addStep,
  changeEntryKind,
  clipboardText,
  connect,
  copySteps,
  defaultOutput,
  defaultPlace,
  deleteSteps,
  pasteSteps,
  readClipboard,
  stepIds,
  type At,
  type EntryKind,
} from "../../journey/ops";
import { readDocument } from "../../journey/read";
import { namesOf, refsOf } from "../../segments/segments";
import { Link, navigate, useLeaveGuard } from "../../router";
import { JsonText } from "../../journey/edit/fields";
import { PublishDialog, StopDialog, type InFlight } from "./dialogs";
import { useLiveCounts, useOnce, useServerClock, useValidation, type Period } from "./hooks";
import { BacktestPanel, localInput, ProblemsPanel, problemsSummary, VersionsPanel, type BacktestState, type Side } from "./panels";
import "../../journey/edit/editor.css";

/** Measures `name` from `start` once the next frame has been painted. */
function afterFrame(name: string, start?: string) {
  requestAnimationFrame(() => {
    try {
      performance.measure(name, start);
    } catch {
      // The start mark is gone (cleared by a test): nothing to measure.
    }
  });
}

/** A step's form, drawn again when the document or the step changes (it reads them from the context), not on every validator answer. */
const StepForm = memo(NodeForm);

type Tab = "details" | "problems" | "versions" | "backtest";
type Diagnostic = Schemas["Diagnostic"];

export interface JourneyEditorProps {
  /** The journey as the server has it; undefined for a new one. */
  journey?: Schemas["JourneyView"];
  /** The document to edit: the journey's draft, or a new journey's. */
  initial: JourneyDocument;
}

const isField = (t: EventTarget | null) => t instanceof Element && t.closest("input, textarea, select, [contenteditable=''], [contenteditable='true'], dialog") !== null;

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

function detailsDiagnostics(e: ApiError): Diagnostic[] {
  const d = (e as ApiError & { details?: unknown }).details;
  return isObject(d) && Array.isArray(d.diagnostics) ? (d.diagnostics as Diagnostic[]) : [];
}

/** Counts of a period: the last 7 days by default, or presets and a custom range. */
function PeriodPicker({ period, onChange, now }: { period: Period; onChange: (p: Period) => void; now: () => Date }) {
  const [preset, setPreset] = useState("7d");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const hour = 3600_000;
  const choose = (p: string) => {
    setPreset(p);
    if (p === "7d") return onChange({ kind: "default" });
    // Whole hours: up to the end of the current one.
    const end = new Date(Math.ceil(now().getTime() / hour) * hour);
    if (p === "custom") {
      const f = new Date(end.getTime() - 7 * 24 * hour);
      setFrom(localInput(f));
      setTo(localInput(end));
      return onChange({ kind: "range", from: f.toISOString(), to: end.toISOString() });
    }
    const hours = p === "24h" ? 24 : 30 * 24;
    onChange({ kind: "range", from: new Date(end.getTime() - hours * hour).toISOString(), to: end.toISOString() });
  };
  const custom = (f: string, t: string) => {
    setFrom(f);
    setTo(t);
    if (f && t) onChange({ kind: "range", from: new Date(f).toISOString(), to: new Date(t).toISOString() });
  };
  return (
    <div className="period" role="group" aria-label="Counts period">
      <select aria-label="Counts over" value={preset} onChange={(e) => choose(e.target.value)}>
        <option value="7d">Last 7 days</option>
        <option value="24h">Last 24 hours</option>
        <option value="30d">Last 30 days</option>
        <option value="custom">From … to …</option>
      </select>
      {preset === "custom" && period.kind === "range" && (
        <>
          <input type="datetime-local" aria-label="Counts from" value={from} onChange={(e) => custom(e.target.value, to)} />
          <input type="datetime-local" aria-label="Counts to" value={to} onChange={(e) => custom(from, e.target.value)} />
        </>
      )}
    </div>
  );
}

/** The union of two versions, for drawing a diff: the newer one, and the steps it no longer has. */
function unionDoc(from: JourneyDocument, to: JourneyDocument): JourneyDocument {
  const have = stepIds(to);
  const gone = from.steps.filter((s) => !have.has(s.id));
  return { ...to, steps: [...to.steps, ...gone] };
}

export function JourneyEditor({ journey, initial }: JourneyEditorProps) {
  const isNew = journey === undefined;
  const [view, setView] = useState(journey);
  const [h, setH] = useState<History<JourneyDocument>>(() => start(initial));
  const doc = h.present;
  const [saved, setSaved] = useState<JourneyDocument | undefined>(isNew ? undefined : initial);
  const dirty = useMemo(() => saved === undefined || !deepEqual(doc, saved), [doc, saved]);
  const readable = useMemo(() => readDocument(doc), [doc]);
  // A new journey asks once something was done to it; a saved one, once it differs from what was saved.
  useLeaveGuard((isNew ? doc !== initial : dirty) ? "This journey has changes that are not saved. Leave without saving them?" : undefined);
  const [selected, setSelected] = useState<Set<string>>(() => new Set(isNew ? [ENTRY_ID] : []));
  const [tab, setTab] = useState<Tab>("details");
  const [focus, setFocus] = useState<{ id: string; seq: number }>();
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string; diagnostics?: Diagnostic[] }>();
  const [busy, setBusy] = useState<"save" | "publish" | "state" | undefined>();
  const [dialog, setDialog] = useState<"publish" | "stop" | undefined>();
  const [refused, setRefused] = useState<{ message: string; diagnostics: Diagnostic[] }>();
  const [period, setPeriod] = useState<Period>({ kind: "default" });
  const [backtest, setBacktest] = useState<BacktestState>({ state: "idle" });
  const [compare, setCompare] = useState<{ from: Side; to: Side }>();
  const clock = useServerClock();

  const id = view?.id ?? doc.id;
  // The journey is drawn first, then checked: the first answer does not hold up the first frame.
  const [drawnOnce, setDrawnOnce] = useState(false);
  const validation = useValidation(readable.ok && drawnOnce ? doc : undefined, h.merge !== undefined);
  const checked = validation.checked;
  const diagnostics = checked?.diagnostics;
  const live = useLiveCounts(view?.published ? view.id : undefined, period);
  const [namesAnswer] = useOnce((signal) => apiGet("/api/names", { signal }));
  // Every template (the picker offers them all), however many pages the list takes.
  const [templatesAnswer, reloadTemplates] = useOnce((signal) => apiGetAll("/api/templates", { signal }).then((templates) => ({ templates })));
  // The segments the segment entry and membership conditions pick from, and the cards name.
  const [segmentsAnswer] = useOnce((signal) => apiGet("/api/segments", { signal }));
  const segments = useMemo(() => (segmentsAnswer ? refsOf(segmentsAnswer.segments) : undefined), [segmentsAnswer]);
  const segmentNames = useMemo(() => namesOf(segments), [segments]);
  const [versionsAnswer, reloadVersions, versionsError] = useOnce((signal) =>
    isNew ? Promise.resolve({ versions: [] as Schemas["PublishedVersion"][] }) : apiGet("/api/journeys/{id}/versions", { params: { id: journey.id }, signal }),
  );

  // Selection: only nodes that exist (an undo may remove the selected step).
  const ids = useMemo(() => stepIds(doc), [doc]);
  const selection = useMemo(() => new Set([...selected].filter((s) => s === ENTRY_ID || ids.has(s))), [selected, ids]);
  const primary = selection.size === 1 ? [...selection][0] : undefined;

  // ---- Performance marks: wf:render (first drawing), wf:edit (an edit to its redrawn, re-validated canvas). ----
  // An edit is done when the canvas shows its document with the validator's diagnostics for it:
  // either drawn with them, or the validator's answer found the ones already drawn unchanged.
  const perf = useRef({ rendered: false, editPending: false, drawPending: false });
  const drawn = useRef<{ doc: JourneyDocument; diagnostics: Diagnostic[] | undefined }>(undefined);
  const checkedRef = useRef(checked);
  checkedRef.current = checked;
  const markEdit = () => {
    performance.mark("wf:edit-start");
    perf.current.editPending = true;
    perf.current.drawPending = true;
  };
  const settle = useCallback(() => {
    const p = perf.current;
    const c = checkedRef.current;
    const d = drawn.current;
    if (p.editPending && c && d && c.doc === d.doc && c.diagnostics === d.diagnostics) {
      p.editPending = false;
      afterFrame("wf:edit", "wf:edit-start");
    }
  }, []);
  const onDrawn = useCallback((drawnDoc: JourneyDocument, drawnDiagnostics: Diagnostic[] | undefined) => {
    const p = perf.current;
    drawn.current = { doc: drawnDoc, diagnostics: drawnDiagnostics };
    if (!p.rendered) {
      p.rendered = true;
      afterFrame("wf:render", performance.getEntriesByName("wf:render-start").length > 0 ? "wf:render-start" : undefined);
      requestAnimationFrame(() => setDrawnOnce(true));
    }
    if (p.drawPending) {
      p.drawPending = false;
      afterFrame("wf:edit-draw", "wf:edit-start");
    }
    settle();
  }, []);
  useLayoutEffect(settle, [checked]);

  // ---- Editing ----
  // The history as of the last render, for edits computed from it (events come one at a time).
  const history = useRef(h);
  history.current = h;
  const startValidation = validation.start;
  /** Records an edit; an operation (not typing) is sent to the validator before it is drawn. */
  const record = useCallback((next: JourneyDocument, merge?: string) => {
    const old = history.current;
    if (next === old.present) return;
    markEdit();
    const updated = commit(old, next, merge);
    history.current = updated;
    setH(updated);
    if (merge === undefined && readDocument(next).ok) startValidation(next);
  }, []);
  const edit = useCallback((path: Path, value: unknown, merge?: string) => record(setIn(history.current.present, path, value), merge), []);
  const apply = useCallback((next: JourneyDocument) => record(next), []);
  const select = useCallback((node: string | null) => {
    setSelected(new Set(node === null ? [] : [node]));
    if (node !== null) {
      setTab("details");
      setFocus((f) => ({ id: node, seq: (f?.seq ?? 0) + 1 }));
    }
  }, []);
  const onCanvasSelect = useCallback((s: string[]) => {
    setSelected(new Set(s));
    if (s.length > 0) setTab("details");
  }, []);
  const closeForm = useCallback(() => select(null), [select]);
  const addAt = useCallback(
    (at: At, type: StepType) => {
      const r = addStep(history.current.present, type, at);
      record(r.doc);
      select(r.id);
    },
    [select],
  );
  const placeAfter = (node: string): At | undefined => {
    const output = defaultOutput(doc, node);
    return output ? { source: node, output } : undefined;
  };
  const addFromPalette = (type: StepType) => addAt((primary && placeAfter(primary)) || defaultPlace(doc), type);
  const setEntryKind = (kind: EntryKind) => {
    edit(["entry"], changeEntryKind(doc.entry, kind));
    select(ENTRY_ID);
  };
  const doUndo = () => {
    const next = undo(seal(history.current));
    history.current = next;
    setH(next);
  };
  const doRedo = () => {
    const next = redo(history.current);
    history.current = next;
    setH(next);
  };
  const deleteSelection = () => {
    const steps = [...selection].filter((s) => s !== ENTRY_ID);
    if (steps.length === 0) return;
    apply(deleteSteps(doc, steps));
    setSelected(new Set());
  };

  // Stable while editing (the cards and edges need not change with it): reads the document when called.
  const docRef = useRef(doc);
  docRef.current = doc;
  const editing: CanvasEditing | undefined = useMemo(
    () =>
      compare
        ? undefined
        : {
            connect: (source, output, target) => apply(connect(docRef.current, source, output, target)),
            insert: addAt,
            drop: (type, on) => {
              const d = docRef.current;
              if (on === null) return addAt(defaultPlace(d), type);
              if ("node" in on) {
                const output = defaultOutput(d, on.node);
                return addAt(output ? { source: on.node, output } : defaultPlace(d), type);
              }
              addAt(on, type);
            },
          },
    [compare, addAt, apply],
  );

  // ---- Keyboard and clipboard ----
  const keys = useRef({ doc, selection, primary, doUndo, doRedo, deleteSelection, select, apply, compare });
  keys.current = { doc, selection, primary, doUndo, doRedo, deleteSelection, select, apply, compare };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const k = keys.current;
      const mod = e.ctrlKey || e.metaKey;
      if (e.key === "Escape") {
        if (document.querySelector("dialog[open]")) return;
        if (k.compare) setCompare(undefined);
        else k.select(null);
        return;
      }
      if (isField(e.target) || document.querySelector("dialog[open]")) return;
      if (mod && (e.key === "z" || e.key === "Z")) {
        e.preventDefault();
        if (e.shiftKey) k.doRedo();
        else k.doUndo();
      } else if (mod && (e.key === "y" || e.key === "Y")) {
        e.preventDefault();
        k.doRedo();
      } else if ((e.key === "Delete" || e.key === "Backspace") && !mod && !k.compare) {
        e.preventDefault();
        k.deleteSelection();
      } else if (e.key.startsWith("Arrow") && !mod) {
        const dir = e.key.slice(5).toLowerCase() as Direction;
        const from = k.primary ?? ENTRY_ID;
        const r = readDocument(k.doc);
        if (!r.ok) return;
        e.preventDefault();
        const to = k.primary ? nearest(layout(toGraph(r.doc)), from, dir) : ENTRY_ID;
        if (to) {
          k.select(to);
          requestAnimationFrame(() => document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(to)}"]`)?.focus());
        }
      }
    };
    const copy = (e: ClipboardEvent, cut: boolean) => {
      const k = keys.current;
      if (isField(e.target) || !e.clipboardData) return;
      const steps = copySteps(k.doc, k.selection);
      if (steps.length === 0) return;
      e.preventDefault();
      e.clipboardData.setData("text/plain", clipboardText(steps));
      if (cut && !k.compare) k.deleteSelection();
    };
    const paste = (e: ClipboardEvent) => {
      const k = keys.current;
      if (isField(e.target) || !e.clipboardData || k.compare) return;
      const steps = readClipboard(e.clipboardData.getData("text/plain"));
      if (!steps || steps.length === 0) return;
      e.preventDefault();
      const output = k.primary ? defaultOutput(k.doc, k.primary) : undefined;
      const at = k.primary && output ? { source: k.primary, output } : defaultPlace(k.doc);
      const r = pasteSteps(k.doc, steps, at);
      k.apply(r.doc);
      setSelected(new Set(r.ids));
    };
    const onCopy = (e: ClipboardEvent) => copy(e, false);
    const onCut = (e: ClipboardEvent) => copy(e, true);
    window.addEventListener("keydown", onKey);
    document.addEventListener("copy", onCopy);
    document.addEventListener("cut", onCut);
    document.addEventListener("paste", paste);
    return () => {
      window.removeEventListener("keydown", onKey);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("cut", onCut);
      document.removeEventListener("paste", paste);
    };
  }, []);

  // ---- Saving, publishing, state ----
  const refresh = async () => {
    if (!view) return;
    const v = await apiGet("/api/journeys/{id}", { params: { id: view.id } });
    setView(v);
  };
  const saveDraft = async (): Promise<boolean> => {
    setBusy("save");
    setNotice(undefined);
    try {
      if (isNew) {
        const r = (await apiPost("/api/journeys", doc as unknown as Schemas["JourneyDocument"], {})) as unknown as Schemas["DraftSaved"];
        setSaved(doc);
        navigate(`/journeys/${encodeURIComponent(doc.id)}`, { force: true });
        setNotice({ kind: "ok", text: r.valid ? "Journey created as a draft" : "Journey created as a draft, with problems to fix before publishing" });
      } else {
        const r = await apiPut("/api/journeys/{id}", doc as unknown as Schemas["JourneyDocument"], { params: { id } });
        setSaved(doc);
        setNotice({ kind: "ok", text: r.valid ? "Draft saved" : "Draft saved, with problems to fix before publishing" });
        void refresh();
      }
      return true;
    } catch (e) {
      const err = asApiError(e);
      setNotice({ kind: "error", text: `The draft was not saved: ${err.message}`, diagnostics: detailsDiagnostics(err) });
      return false;
    } finally {
      setBusy(undefined);
    }
  };
  const publish = async (inFlight: InFlight) => {
    setBusy("publish");
    setRefused(undefined);
    try {
      if (isNew) await apiPost("/api/journeys", doc as unknown as Schemas["JourneyDocument"], {});
      else if (dirty) await apiPut("/api/journeys/{id}", doc as unknown as Schemas["JourneyDocument"], { params: { id } });
      setSaved(doc);
      const r = await apiPost("/api/journeys/{id}/publish", { in_flight: inFlight } satisfies Schemas["PublishRequest"] as never, { params: { id: doc.id } });
      setDialog(undefined);
      setNotice({ kind: "ok", text: `Published version ${r.version}${r.moved_runs > 0 ? `; ${r.moved_runs} waiting run(s) moved to it` : ""}` });
      if (isNew) navigate(`/journeys/${encodeURIComponent(doc.id)}`, { force: true });
      else {
        void refresh();
        reloadVersions();
      }
    } catch (e) {
      const err = asApiError(e);
      setRefused({ message: err.message, diagnostics: detailsDiagnostics(err) });
    } finally {
      setBusy(undefined);
    }
  };
  const changeState = async (action: "pause" | "resume" | "stop", reason?: string) => {
    if (!view) return;
    setBusy("state");
    try {
      if (action === "stop") {
        const r = await apiPost("/api/journeys/{id}/stop", (reason ? { reason } : {}) satisfies Schemas["StopRequest"] as never, { params: { id: view.id } });
        setNotice({ kind: "ok", text: `Stopped: ${r.stopped_runs} waiting run(s) ended` });
      } else {
        await apiPost(`/api/journeys/{id}/${action}` as "/api/journeys/{id}/pause", undefined as never, { params: { id: view.id } });
        setNotice({ kind: "ok", text: action === "pause" ? "Paused: nobody new enters; runs in flight go on" : "Resumed: the journey takes entries again" });
      }
      setDialog(undefined);
      await refresh();
    } catch (e) {
      setNotice({ kind: "error", text: `Could not ${action} the journey: ${asApiError(e).message}` });
    } finally {
      setBusy(undefined);
    }
  };

  // ---- Backtest ----
  const runBacktest = async (from: string, to: string) => {
    setBacktest({ state: "running", since: Date.now(), from, to });
    try {
      const report = await apiPost("/api/journeys/backtest", { document: doc as unknown as Schemas["JourneyDocument"], from, to }, {});
      setBacktest({ state: "done", report, shown: true });
    } catch (e) {
      const err = asApiError(e);
      setBacktest({ state: "failed", error: err, diagnostics: detailsDiagnostics(err) });
    }
  };
  const simulated = backtest.state === "done" && backtest.shown ? backtest.report : undefined;

  // ---- Versions compared ----
  const versionDoc = (side: Side): unknown => (side === "draft" ? doc : versionsAnswer?.versions.find((v) => v.version === side)?.document);
  const comparison = useMemo(() => {
    if (!compare) return undefined;
    const [a, b] = [versionDoc(compare.from), versionDoc(compare.to)];
    if (a === undefined || b === undefined) return undefined;
    const changes = diff(a, b);
    const ra = readDocument(a);
    const rb = readDocument(b);
    if (!ra.ok || !rb.ok) return { changes };
    const m = nodeMarks(changes);
    const marks: Record<string, DiffMark> = {};
    for (const s of m.added) marks[s] = "added";
    for (const s of m.changed) marks[s] = "changed";
    for (const s of m.removed) marks[s] = "removed";
    if (m.entryChanged) marks[ENTRY_ID] = "changed";
    return { changes, doc: unionDoc(ra.doc, rb.doc), marks };
  }, [compare, versionsAnswer, doc]);

  const pick = (d: Diagnostic) => {
    if (d.node && ids.has(d.node)) select(d.node);
    else if (d.path === "/entry" || d.path.startsWith("/entry/")) select(ENTRY_ID);
    else {
      select(null);
      setTab("details");
    }
  };

  const api: EditorApi = useMemo(
    () => ({ doc, edit, apply, addAt, select, names: namesAnswer ?? NO_NAMES, templates: templatesAnswer?.templates, reloadTemplates, segments }),
    [doc, edit, apply, addAt, select, namesAnswer, templatesAnswer, segments],
  );

  const counts = useMemo(() => (simulated ? simulatedCounts(simulated) : live.counts ? liveCounts(live.counts) : undefined), [simulated, live.counts]);
  const waiting = live.counts ? waitingNow(live.counts) : undefined;
  const control = live.counts?.nodes.$control;
  const name = doc.name || doc.id || "New journey";
  const state = view?.published ? view.state : undefined;
  const errors = diagnostics?.filter((d) => d.severity === "error").length ?? 0;

  useEffect(() => {
    document.title = `${name} · Wayfarer`;
  }, [name]);
  // Good news goes away by itself; errors stay until dismissed.
  useEffect(() => {
    if (notice?.kind !== "ok") return;
    const t = setTimeout(() => setNotice(undefined), 6000);
    return () => clearTimeout(t);
  }, [notice]);

  const unpublished = useMemo(() => !!view?.published && !deepEqual(doc, view.published.document), [doc, view]);
  const shownDoc = comparison?.doc ?? (readable.ok ? readable.doc : undefined);

  return (
    <EditorContext.Provider value={api}>
      <div className="je">
        <header className="je-head">
          <div className="page-head">
            <Link to="/journeys">Journeys</Link>
            <span aria-hidden="true">/</span>
            <h1>{name}</h1>
            {!isNew && <code>{id}</code>}
            {view && <span className={`status status-${view.status}`}>{view.status}</span>}
            {state && <span className={`status status-${state}`}>{state}</span>}
            {view?.published ? <span className="muted">live: version {view.published.version}</span> : <span className="muted">{isNew ? "new, not saved yet" : "draft, never published"}</span>}
            {unpublished && <span className="muted">· the draft has changes not published yet</span>}
          </div>
          {!isNew && <JourneyTabs id={id} current="canvas" />}
        </header>
        <div className="je-toolbar" role="toolbar" aria-label="Journey">
          <button type="button" className="button" onClick={doUndo} disabled={h.past.length === 0 || !!compare} title="Undo (Ctrl/Cmd+Z)">
            Undo
          </button>
          <button type="button" className="button" onClick={doRedo} disabled={h.future.length === 0 || !!compare} title="Redo (Shift+Ctrl/Cmd+Z)">
            Redo
          </button>
          <span className="je-sep" />
          <button type="button" className="button" onClick={() => void saveDraft()} disabled={busy !== undefined}>
            {busy === "save" ? "Saving…" : "Save draft"}
          </button>
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              setRefused(undefined);
              setDialog("publish");
            }}
            disabled={busy !== undefined}
          >
            Publish…
          </button>
          <span className="muted je-saved" role="status">
            {dirty ? "Unsaved changes" : "Saved"}
          </span>
          <button type="button" className={`je-problems ${errors > 0 ? "has-errors" : ""}`} onClick={() => setTab("problems")} aria-label={`Problems: ${diagnostics ? problemsSummary(diagnostics) : "checking"}`}>
            {diagnostics ? problemsSummary(diagnostics) : "Checking…"}
          </button>
          <span className="je-grow" />
          {view?.published && (
            <div className="je-live">
              {state === "active" && (
                <button type="button" className="button" disabled={busy !== undefined} onClick={() => changeState("pause")} title="No new entries; runs in flight go on">
                  Pause
                </button>
              )}
              {state === "paused" && (
                <button type="button" className="button" disabled={busy !== undefined} onClick={() => changeState("resume")}>
                  Resume
                </button>
              )}
              {state !== "stopped" && (
                <button type="button" className="button button-danger-outline" disabled={busy !== undefined} onClick={() => setDialog("stop")}>
                  Stop…
                </button>
              )}
            </div>
          )}
          {view?.published && <PeriodPicker period={period} onChange={setPeriod} now={clock.now} />}
        </div>
        {notice && (
          <div className={`je-notice ${notice.kind === "error" ? "notice notice-error" : "notice notice-ok"}`} role={notice.kind === "error" ? "alert" : "status"}>
            <span>{notice.text}</span>
            {notice.diagnostics && notice.diagnostics.length > 0 && <span> ({problemsSummary(notice.diagnostics)})</span>}
            <button type="button" className="button button-small" onClick={() => setNotice(undefined)} aria-label="Dismiss">
              ✕
            </button>
          </div>
        )}
        <div className="je-body">
          <Palette onStep={addFromPalette} onEntry={setEntryKind} disabled={!readable.ok || !!compare} />
          <div
            className="je-canvas"
            onDragOver={(e) => {
              if (e.dataTransfer.types.includes(ENTRY_DRAG_TYPE)) e.preventDefault();
            }}
            onDrop={(e) => {
              const k = e.dataTransfer.getData(ENTRY_DRAG_TYPE);
              if (k) {
                e.preventDefault();
                setEntryKind(k as EntryKind);
              }
            }}
          >
            {simulated && !compare && (
              <div className="banner banner-sim" role="status">
                <span>
                  <strong>Simulation</strong>: backtest from {new Date(simulated.from).toLocaleString()} to {new Date(simulated.to).toLocaleString()}. The counts on the cards are
                  what this version would have done; nothing was sent.
                </span>
                <button type="button" className="button button-small" onClick={() => backtest.state === "done" && setBacktest({ ...backtest, shown: false })}>
                  Show live counts
                </button>
              </div>
            )}
            {compare && (
              <div className="banner banner-diff" role="status">
                <strong>
                  Comparing {compare.from === "draft" ? "the draft" : `version ${compare.from}`} → {compare.to === "draft" ? "the draft" : `version ${compare.to}`}
                </strong>
                <span className="legend">
                  <span className="diff-mark diff-added">added</span>
                  <span className="diff-mark diff-changed">changed</span>
                  <span className="diff-mark diff-removed">removed</span>
                </span>
                <button type="button" className="button button-small" onClick={() => setCompare(undefined)}>
                  Back to editing
                </button>
              </div>
            )}
            {shownDoc ? (
              <JourneyCanvas
                doc={shownDoc}
                counts={compare ? undefined : counts}
                simulated={!!simulated && !compare}
                diagnostics={compare ? undefined : diagnostics}
                selected={selection}
                onSelect={onCanvasSelect}
                editing={editing}
                marks={comparison?.marks}
                focus={focus}
                onDrawn={onDrawn}
                segmentNames={segmentNames}
              />
            ) : (
              <div className="notice notice-error je-unreadable" role="alert">
                <p>
                  <strong>This document cannot be drawn</strong>: {readable.ok ? "" : readable.problem}. Fix it as JSON:
                </p>
                <JsonText label="The journey's JSON" value={doc} rows={20} onChange={(v) => isObject(v) && apply(v as unknown as JourneyDocument)} />
              </div>
            )}
          </div>
          <aside className="je-panel" aria-label="Details">
            <div className="tabs" role="tablist" aria-label="Panel">
              {(
                [
                  ["details", primary ? "Step" : selection.size > 1 ? "Selection" : "Journey"],
                  ["problems", `Problems${diagnostics && diagnostics.length > 0 ? ` (${diagnostics.length})` : ""}`],
                  ["versions", "Versions"],
                  ["backtest", "Backtest"],
                ] as [Tab, string][]
              ).map(([t, label]) => (
                <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
                  {label}
                </button>
              ))}
            </div>
            <div className="je-panel-scroll" role="tabpanel">
              {tab === "details" &&
                (!readable.ok ? (
                  <p className="muted">Fix the document's JSON first.</p>
                ) : primary ? (
                  <StepForm key={primary} nodeId={primary} onClose={closeForm} diagnostics={diagnostics} />
                ) : selection.size > 1 ? (
                  <div className="ed-panel-body">
                    <h2>{selection.size} selected</h2>
                    <p className="ed-hint">Ctrl/Cmd+C copies them (paste into this or another journey with Ctrl/Cmd+V); Delete removes them.</p>
                    <button type="button" className="button" onClick={deleteSelection}>
                      Delete {selection.size} steps
                    </button>
                  </div>
                ) : (
                  <JourneySettings
                    isNew={isNew}
                    diagnostics={diagnostics}
                    control={
                      view?.published && (
                        <section className="control" aria-label="Control group">
                          <h3 className="ed-section">Control group</h3>
                          {control ? (
                            <p>
                              {control.entered.toLocaleString("en")} entered, {control.converted.toLocaleString("en")} converted, {control.exited.toLocaleString("en")} exited
                              {control.waiting > 0 ? `, ${control.waiting} waiting` : ""} <span className="muted">(held out: nothing sent)</span>
                            </p>
                          ) : (
                            <p className="muted">{doc.entry.holdout ? "Nobody held out in this period yet." : "No holdout: everyone gets the messages."}</p>
                          )}
                          {live.error && <p className="ed-error">Counts unavailable: {live.error.message}</p>}
                        </section>
                      )
                    }
                  />
                ))}
              {tab === "problems" && <ProblemsPanel diagnostics={diagnostics} error={validation.error} pending={validation.pending} onPick={pick} />}
              {tab === "versions" && <VersionsPanel versions={versionsAnswer?.versions} error={versionsError} compare={compare} onCompare={setCompare} changes={comparison?.changes} />}
              {tab === "backtest" && (
                <BacktestPanel
                  state={backtest}
                  defaults={async () => {
                    // Up to the server's now, rounded up to the minute (the pickers' precision).
                    const now = await clock.refresh();
                    const to = new Date(Math.ceil(now.getTime() / 60_000) * 60_000);
                    return { from: new Date(to.getTime() - 7 * 24 * 3600_000), to };
                  }}
                  onRun={(f, t) => void runBacktest(f, t)}
                  onShow={(shown) => backtest.state === "done" && setBacktest({ ...backtest, shown })}
                  onPick={pick}
                />
              )}
            </div>
          </aside>
        </div>
        {dialog === "publish" && (
          <PublishDialog waiting={waiting} dirty={dirty} busy={busy === "publish"} refused={refused} onPublish={(c) => void publish(c)} onClose={() => setDialog(undefined)} onPick={(d) => (setDialog(undefined), pick(d))} />
        )}
        {dialog === "stop" && <StopDialog waiting={waiting} busy={busy === "state"} onStop={(r) => void changeState("stop", r)} onClose={() => setDialog(undefined)} />}
      </div>
    </EditorContext.Provider>
  );
}
