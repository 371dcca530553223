// A run drawn on its journey (the version it runs on), the path it took highlighted, its
// trace beside it.
import { useMemo } from "react";
import { apiGet, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { readDocument } from "../journey/read";
import "../people/people.css";
import { personName } from "../people/person";
import { RunCanvas } from "../people/RunCanvas";
import { RunTrace } from "../people/RunTrace";
import { runPath } from "../people/trace";
import { ErrorNotice } from "../ui/ErrorNotice";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";
import { PersonHead, PersonPending, useProfile } from "./PersonPage";

function RunFacts({ run }: { run: Schemas["RunView"] }) {
  const variables = Object.entries(run.variables);
  const splits = Object.entries(run.assignments);
  return (
    <p className="run-facts">
      <span className={`status status-run-${run.status}`}>{run.status}</span>
      {run.node && (
        <span>
          {run.status === "waiting" ? "at" : "ended at"} <code>{run.node}</code>
        </span>
      )}
      {run.wake_at && (
        <span>
          until <Time at={run.wake_at} />
        </span>
      )}
      <span>
        entered <Time at={run.entered_at} />
      </span>
      {run.exit_reason && <span>{run.exit_reason}</span>}
      {run.converted_at && (
        <span className="converted">
          converted <Time at={run.converted_at} />
        </span>
      )}
      {run.control_group && <span>control group</span>}
      {run.key && (
        <span>
          key <code>{run.key}</code>
        </span>
      )}
      {splits.map(([step, path]) => (
        <span key={step}>
          {step}: <code>{path}</code>
        </span>
      ))}
      {variables.length > 0 && (
        <span>
          variables <code>{JSON.stringify(run.variables)}</code>
        </span>
      )}
    </p>
  );
}

function RunView({ run }: { run: Schemas["RunView"] }) {
  const [versions, reload] = useApi(`versions:${run.journey}`, (signal) => apiGet("/api/journeys/{id}/versions", { params: { id: run.journey }, signal }));
  const published = versions.state === "ready" ? versions.data.versions.find((v) => v.version === run.version) : undefined;
  const read = useMemo(() => (published ? readDocument(published.document) : undefined), [published]);
  const { path, current, structured } = useMemo(() => runPath(run), [run]);
  return (
    <>
      <RunFacts run={run} />
      <div className="run-view">
        <div className="run-view-canvas">
          {versions.state === "loading" && (
            <p className="muted" role="status">
              Loading version {run.version} of {run.journey}…
            </p>
          )}
          {versions.state === "failed" && <ErrorNotice what={`The versions of ${run.journey} could not be loaded`} error={versions.error} onRetry={reload} />}
          {versions.state === "ready" && !published && (
            <div className="notice notice-error" role="alert">
              <p>
                <strong>Version {run.version} of {run.journey} was not found</strong> among its published versions.
              </p>
            </div>
          )}
          {read && !read.ok && (
            <div className="notice notice-error" role="alert">
              <p>
                <strong>Version {run.version} cannot be drawn</strong>: {read.problem}.
              </p>
            </div>
          )}
          {read?.ok && (
            <>
              <p className="muted run-legend">
                {structured ? "Highlighted: the path this run took." : "Highlighted: where this run is (its path comes with the structured trace)."} Version{" "}
                {run.version} of {read.doc.name ?? run.journey}.
              </p>
              <RunCanvas doc={read.doc} path={path} current={current} />
            </>
          )}
        </div>
        <RunTrace run={run} path={path} />
      </div>
    </>
  );
}

export function RunPage({ id, runId }: { id: string; runId: string }) {
  const [profile, reload] = useProfile(id);
  const run = profile.state === "ready" ? profile.data.journeys.find((r) => String(r.run_id) === runId) : undefined;
  useTitle(run ? `Run ${run.run_id} in ${run.journey}` : `Run ${runId}`);
  if (profile.state !== "ready") return <PersonPending id={id} profile={profile} onRetry={reload} />;
  return (
    <div className="page page-wide">
      <PersonHead id={id} profile={profile.data}>
        <span aria-hidden="true">/</span>
        <h1>{run ? `Run ${run.run_id} in ${run.journey}` : `Run ${runId}`}</h1>
      </PersonHead>
      {run ? (
        <RunView run={run} />
      ) : (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>No run {runId}</strong> among the runs of {personName(profile.data)}.
          </p>
        </div>
      )}
    </div>
  );
}
