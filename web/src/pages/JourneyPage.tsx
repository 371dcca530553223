import { lazy, Suspense, useMemo, useState } from "react";
import { apiGet, apiPost, type Schemas } from "../api/client";
import { useApi, type Loadable } from "../api/useApi";
import { readDocument } from "../journey/read";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { useTitle } from "../ui/useTitle";

// The canvas (React Flow and dagre) loads with the first journey page, not with the shell.
const JourneyCanvas = lazy(() => import("../journey/JourneyCanvas").then((m) => ({ default: m.JourneyCanvas })));

type Version = "published" | "draft";

function problemsSummary(diagnostics: Schemas["Diagnostic"][]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  if (diagnostics.length === 0) return "No problems found";
  const parts = [errors > 0 ? `${errors} error${errors > 1 ? "s" : ""}` : "", warnings > 0 ? `${warnings} warning${warnings > 1 ? "s" : ""}` : ""];
  return parts.filter(Boolean).join(", ");
}

function VersionSwitch({ journey, shown, onShow }: { journey: Schemas["JourneyView"]; shown: Version; onShow: (v: Version) => void }) {
  if (!journey.published) return <span className="muted">Draft, never published</span>;
  const changed = JSON.stringify(journey.published.document) !== JSON.stringify(journey.draft);
  return (
    <>
      <div className="segmented" role="group" aria-label="Version shown">
        <button type="button" aria-pressed={shown === "published"} onClick={() => onShow("published")}>
          Published v{journey.published.version}
        </button>
        <button type="button" aria-pressed={shown === "draft"} onClick={() => onShow("draft")}>
          Draft
        </button>
      </div>
      {changed && <span className="muted">The draft has changes not published yet</span>}
    </>
  );
}

function JourneyView({ journey }: { journey: Schemas["JourneyView"] }) {
  const [shown, setShown] = useState<Version>(journey.published ? "published" : "draft");
  const raw = shown === "published" && journey.published ? journey.published.document : journey.draft;
  const read = useMemo(() => readDocument(raw), [raw]);
  const [validation, revalidate] = useApi(read.ok ? `${journey.id}:${shown}:${journey.updated_at}` : null, (signal) =>
    apiPost("/api/journeys/validate", raw, { signal }),
  );
  const name = read.ok && read.doc.name ? read.doc.name : journey.id;
  useTitle(name);
  const diagnostics = validation.state === "ready" ? validation.data.diagnostics : undefined;
  return (
    <div className="page page-wide">
      <div className="page-head">
        <Link to="/journeys">Journeys</Link>
        <span aria-hidden="true">/</span>
        <h1>{name}</h1>
      </div>
      <div className="page-head">
        <code>{journey.id}</code>
        <span className={`status status-${journey.status}`}>{journey.status}</span>
        <span className={`status status-${journey.state}`}>{journey.state}</span>
        <VersionSwitch journey={journey} shown={shown} onShow={setShown} />
        {diagnostics && (
          <span className="muted" role="status">
            {problemsSummary(diagnostics)}
          </span>
        )}
      </div>
      {validation.state === "failed" && <ErrorNotice what="The document could not be checked" error={validation.error} onRetry={revalidate} />}
      {read.ok ? (
        <Suspense fallback={<p className="muted">Drawing the journey…</p>}>
          <JourneyCanvas doc={read.doc} diagnostics={diagnostics} />
        </Suspense>
      ) : (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>This {shown} cannot be drawn</strong>: {read.problem}.
          </p>
          <pre>{JSON.stringify(raw, null, 2)}</pre>
        </div>
      )}
    </div>
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

export function JourneyPage({ id }: { id: string }) {
  const [journey, reload] = useApi(`journey:${id}`, (signal) => apiGet("/api/journeys/{id}", { params: { id }, signal }));
  return journey.state === "ready" ? <JourneyView journey={journey.data} /> : <JourneyPending id={id} journey={journey} onRetry={reload} />;
}
