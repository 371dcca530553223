import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { useMay } from "../auth/context";
import { ReadOnly } from "../ui/ReadOnly";
import { apiGet, type Schemas } from "../api/client";
import { useApi, type Loadable } from "../api/useApi";
import type { JourneyDocument } from "../journey/doc";
import { JourneyTabs } from "../journey/JourneyTabs";
import { Link } from "../router";
import { useSegmentNames } from "../segments/segments";
import { ErrorNotice } from "../ui/ErrorNotice";
import { useTitle } from "../ui/useTitle";

// The editor (React Flow, the layout, the forms) loads with the first journey page, not with the
// shell: fetched as the page opens, alongside the journey, not after it. Not through Suspense,
// which holds a loaded component back a while to avoid flicker: the page shows "Drawing…"
// until the module is there, then the editor at once.
type EditorModule = typeof import("./journey/JourneyEditor");
let editorModule: EditorModule | undefined;
let editorLoading: Promise<EditorModule> | undefined;
const loadEditor = () =>
  (editorLoading ??= import("./journey/JourneyEditor").then((m) => {
    editorModule = m;
    return m;
  }));

/** Fetches the editor's module ahead of the first journey page (from the journeys list, say). */
export const preloadEditor = () => void loadEditor();

function useEditorModule(): EditorModule | undefined {
  const [loaded, setLoaded] = useState(editorModule);
  useEffect(() => {
    if (!loaded) void loadEditor().then(setLoaded);
  }, []);
  return loaded;
}

/** The id of the journeys page's "New journey": "+" is not a journey id character, so no journey has it. */
export const NEW_JOURNEY = "+new";

/** A new journey: an entry on an event to be named, no steps yet. */
export function newJourney(): JourneyDocument {
  return { id: "new-journey", name: "New journey", entry: { event: "" }, steps: [] };
}

/**
 * The document and the editor's module are both there: the start of `wf:render` (measured once
 * the canvas has drawn it). Loading the module is not drawing: the journeys list fetches it ahead
 * (`preloadEditor`), and `render_since_navigation_ms` of e2e/perf.mjs counts everything.
 */
function useRenderStart(ready: boolean) {
  // Marked while rendering, not in an effect: the canvas's effects, which end the measure, run
  // before this page's.
  const marked = useRef(false);
  if (ready && !marked.current) {
    marked.current = true;
    performance.clearMarks("wf:render-start");
    performance.mark("wf:render-start");
  }
}

function Drawing() {
  return (
    <p className="muted page" role="status">
      Drawing the journey…
    </p>
  );
}

function JourneyPending({ id, journey, onRetry }: { id: string; journey: Exclude<Loadable<Schemas["JourneyView"]>, { state: "ready" }>; onRetry: () => void }) {
  useTitle(id);
  return (
    <div className="page">
      <div className="page-head">
        <Link to="/journeys">Journeys</Link>
        <span aria-hidden="true">/</span>
        <h1>{id}</h1>
      </div>
      {journey.state === "loading" ? (
        <p className="muted" role="status">
          Loading the journey…
        </p>
      ) : (
        <ErrorNotice what={`Journey ${id} could not be loaded`} error={journey.error} onRetry={onRetry} />
      )}
    </div>
  );
}

function NewJourneyPage({ editor }: { editor?: EditorModule }) {
  const [initial] = useState(newJourney);
  const mayEdit = useMay("editor");
  useRenderStart(editor !== undefined);
  if (!mayEdit) {
    return (
      <p className="page">
        <ReadOnly />
      </p>
    );
  }
  return editor ? <editor.JourneyEditor initial={initial} /> : <Drawing />;
}

const Canvas = lazy(() => import("../journey/JourneyCanvas").then((m) => ({ default: m.JourneyCanvas })));

/** What a viewer sees: the journey (its live version, else its draft) drawn, and nothing to change it with. */
function ViewerJourney({ journey }: { journey: Schemas["JourneyView"] }) {
  const doc = (journey.published?.document ?? journey.draft) as unknown as JourneyDocument;
  const segmentNames = useSegmentNames();
  return (
    <div className="page">
      <div className="page-head">
        <Link to="/journeys">Journeys</Link>
        <span aria-hidden="true">/</span>
        <h1>{doc.name ?? journey.id}</h1>
        <JourneyTabs id={journey.id} current="canvas" />
      </div>
      <p>
        <ReadOnly /> {journey.published ? `(version ${journey.published.version}, ${journey.state})` : "(a draft, never published)"}
      </p>
      <div className="run-canvas">
        <Suspense fallback={<p className="muted">Drawing…</p>}>
          <Canvas doc={doc} segmentNames={segmentNames} />
        </Suspense>
      </div>
    </div>
  );
}

function ExistingJourneyPage({ id, editor }: { id: string; editor?: EditorModule }) {
  const [journey, reload] = useApi(`journey:${id}`, (signal) => apiGet("/api/journeys/{id}", { params: { id }, signal }));
  const mayEdit = useMay("editor");
  useRenderStart(journey.state === "ready" && editor !== undefined);
  if (journey.state !== "ready") return <JourneyPending id={id} journey={journey} onRetry={reload} />;
  if (!mayEdit) return <ViewerJourney journey={journey.data} />;
  return editor ? <editor.JourneyEditor journey={journey.data} initial={journey.data.draft as unknown as JourneyDocument} /> : <Drawing />;
}

/** A journey's page: its draft in the editor, with its live state, counts, versions and backtests. */
export function JourneyPage({ id }: { id: string }) {
  const editor = useEditorModule();
  return id === NEW_JOURNEY ? <NewJourneyPage editor={editor} /> : <ExistingJourneyPage id={id} editor={editor} />;
}
