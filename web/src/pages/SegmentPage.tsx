// A segment's page: its name and condition, edited with the journey editor's condition builder
// (the forms marketers know, the JSON beside them for engineers), saved with the server's
// problems shown at the conditions they are about; its size now and over the last 30 days; its
// members a page at a time, and all of them as CSV; deleted after asking once.
import { useMemo, useState, type MouseEvent } from "react";
import { ApiError, apiDelete, apiFile, apiGet, apiPut, getToken, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { usePaged } from "../api/usePaged";
import { useMay } from "../auth/context";
import { ConditionBuilder, SEGMENT_KINDS } from "../journey/edit/ConditionBuilder";
import { ConditionContext, NO_NAMES, type ConditionApi } from "../journey/edit/context";
import "../journey/edit/editor.css";
import { RawJson, TextInput } from "../journey/edit/fields";
import { deepEqual } from "../journey/json";
import { Identities } from "../people/Identities";
import "../people/people.css";
import { personName } from "../people/person";
import { Link, navigate, useLeaveGuard } from "../router";
import { peopleText, refsOf, SEGMENT_ID, segmentProblems, shapeOf, useRefreshed, type Segment, type SegmentDiagnostic } from "../segments/segments";
import "../segments/segments.css";
import { FILL_REFRESH_MS, FillProgress } from "../segments/FillProgress";
import { SizeChart } from "../segments/SizeChart";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ListFoot } from "../ui/ListFoot";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";
import { ConfirmDelete } from "./settings/parts";

/** Members a page. */
export const MEMBERS_PAGE = 50;
/** The days the size chart shows. */
export const SIZE_DAYS = 30;

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/** Where the condition is in the segment's document: the server's problems' paths start there. */
const AT = "/condition";

/** The problems a save was refused with, and the structure of the condition they were about. */
interface Refused {
  diagnostics: SegmentDiagnostic[];
  shape: string;
}

/** "1 problem", "2 problems". */
const problemsText = (n: number) => `${n} problem${n === 1 ? "" : "s"}`;

/**
 * "Export CSV": a plain link (the session's cookie goes with it); signed in with a token instead,
 * which a link cannot carry, the file is fetched with it and saved from here.
 */
function ExportLink({ id }: { id: string }) {
  const href = `/api/segments/${encodeURIComponent(id)}/members.csv`;
  const file = `${id}.csv`;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const withToken = (e: MouseEvent<HTMLAnchorElement>) => {
    if (!getToken()) return;
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    apiFile(href, { accept: "text/csv" }).then(
      (blob) => {
        setBusy(false);
        const url = URL.createObjectURL(blob);
        const a = document.createElement("a");
        a.href = url;
        a.download = file;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
      (err: unknown) => {
        setBusy(false);
        setError(asApiError(err));
      },
    );
  };
  return (
    <>
      <a className="button" href={href} download={file} onClick={withToken} aria-busy={busy || undefined}>
        {busy ? "Exporting…" : "Export CSV"}
      </a>
      {error && (
        <p className="item-error" role="alert">
          The members could not be exported: {error.message}
        </p>
      )}
    </>
  );
}

function MemberTable({ members }: { members: Schemas["Member"][] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Person</th>
          <th scope="col">Identities</th>
          <th scope="col">Member since</th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => (
          <tr key={m.person.id}>
            <td>
              <Link to={`/people/${m.person.id}`}>{personName(m.person)}</Link>
            </td>
            <td>
              <Identities identities={m.person.identities} />
            </td>
            <td className="nowrap">
              <Time at={m.since} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Who is in the segment: the size now (and the fill, while it goes on), over the last 30 days, and the members. */
function Members({ segment }: { segment: Segment }) {
  const id = segment.id;
  // Members and sizes are asked for again once a save or a fill changed them.
  const generation = `${id}:${segment.updated_at}:${segment.fill ? "filling" : "filled"}`;
  const [sizes, reloadSizes] = useApi(`sizes:${generation}`, (signal) => apiGet("/api/segments/{id}/sizes", { params: { id }, query: { days: SIZE_DAYS }, signal }));
  const members = usePaged(`members:${generation}`, async (cursor, signal) => {
    const page = await apiGet("/api/segments/{id}/members", { params: { id }, query: { limit: MEMBERS_PAGE, cursor }, signal });
    return { items: page.members, next: page.next_cursor ?? null };
  });
  return (
    <section className="panel segment-members" aria-labelledby="segment-members">
      <h2 id="segment-members">Members</h2>
      <p className="segment-size">
        <strong data-testid="segment-size">{peopleText(segment.size)}</strong>
        <span className="muted">now</span>
        {segment.fill && <FillProgress fill={segment.fill} />}
      </p>
      {segment.fill && <p className="muted">Everyone is being evaluated again after the last change: the members and the size grow as it goes.</p>}
      <h3 className="ed-section">The last {SIZE_DAYS} days</h3>
      {sizes.state === "loading" && (
        <p className="muted" role="status">
          Loading the sizes…
        </p>
      )}
      {sizes.state === "failed" && <ErrorNotice what="The sizes could not be loaded" error={sizes.error} onRetry={reloadSizes} />}
      {sizes.state === "ready" && <SizeChart days={sizes.data.days} />}
      <div className="segment-actions">
        <h3 className="ed-section">Who</h3>
        <ExportLink id={id} />
      </div>
      {members.state === "loading" && (
        <p className="muted" role="status">
          Loading the members…
        </p>
      )}
      {members.state === "failed" && members.error && <ErrorNotice what="The members could not be listed" error={members.error} onRetry={members.reload} />}
      {members.state === "ready" &&
        (members.items.length === 0 ? (
          <p className="muted">Nobody is in it now.</p>
        ) : (
          <>
            <MemberTable members={members.items} />
            <ListFoot list={members} one="member" many="members" />
          </>
        ))}
    </section>
  );
}

function Editor({ id, initial }: { id: string; initial: Segment | null }) {
  const [saved, setSaved] = useState(initial);
  const [name, setName] = useState(initial?.name ?? "");
  const [condition, setCondition] = useState<unknown>(initial?.condition);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ApiError>();
  const [refused, setRefused] = useState<Refused>();
  const [deleting, setDeleting] = useState<"idle" | "asking" | "busy">("idle");
  const [deleteError, setDeleteError] = useState<ApiError>();
  const editor = useMay("editor");
  useTitle(name.trim() || id);

  // The size and the fill, asked for again while a fill goes on.
  const live = useRefreshed(saved ?? undefined, (signal) => apiGet("/api/segments/{id}", { params: { id }, signal }), (s) => !!s.fill, FILL_REFRESH_MS);
  const [namesAnswer] = useApi("names", (signal) => apiGet("/api/names", { signal }));
  const [segmentsAnswer] = useApi(`segments:${saved?.updated_at ?? ""}`, (signal) => apiGet("/api/segments", { signal }));
  const names = namesAnswer.state === "ready" ? namesAnswer.data : NO_NAMES;
  const segments = useMemo(() => (segmentsAnswer.state === "ready" ? refsOf(segmentsAnswer.data.segments) : undefined), [segmentsAnswer]);
  const conditionApi: ConditionApi = useMemo(() => ({ names, segments, self: id, refs: false, sinceEntry: false }), [names, segments, id]);

  const savedName = saved?.name ?? "";
  const dirty = saved === null || name.trim() !== savedName || !deepEqual(condition, saved.condition);
  const written = name.trim() !== "" || condition !== undefined;
  useLeaveGuard((saved === null ? written : dirty) ? "This segment has changes that are not saved. Leave without saving them?" : undefined);

  // The refusal's problems, while the condition has the structure they were about.
  const problems = refused && refused.shape === shapeOf(condition) ? refused.diagnostics : undefined;
  const elsewhere = (problems ?? []).filter((d) => d.path !== AT && !d.path.startsWith(`${AT}/`));

  const save = () => {
    if (condition === undefined) return;
    setSaving(true);
    setSaveError(undefined);
    const body: Schemas["SegmentBody"] = { condition: condition as Schemas["SegmentBody"]["condition"], ...(name.trim() !== "" ? { name: name.trim() } : {}) };
    const sent = condition;
    apiPut("/api/segments/{id}", body, { params: { id } }).then(
      (view) => {
        setSaving(false);
        setSaved(view);
        setName(view.name);
        setRefused(undefined);
      },
      (e: unknown) => {
        setSaving(false);
        const error = asApiError(e);
        const diagnostics = segmentProblems(error);
        if (diagnostics) setRefused({ diagnostics, shape: shapeOf(sent) });
        else setSaveError(error);
      },
    );
  };

  const remove = () => {
    setDeleting("busy");
    setDeleteError(undefined);
    apiDelete("/api/segments/{id}", { params: { id } }).then(
      () => navigate("/segments", { force: true }),
      (e: unknown) => {
        setDeleting("idle");
        setDeleteError(asApiError(e));
      },
    );
  };

  const shownName = name.trim() || savedName || id;
  const shown = live ?? saved;
  return (
    <div className="page page-wide">
      <div className="page-head">
        <Link to="/segments">Segments</Link>
        <span aria-hidden="true">/</span>
        <h1>{shownName}</h1>
        <code className="muted">{id}</code>
        <span className="muted" role="status">
          {saved === null ? (
            "New segment, not saved yet"
          ) : dirty ? (
            "Changes not saved"
          ) : (
            <>
              Saved <Time at={saved.updated_at} />
            </>
          )}
        </span>
        {editor ? (
          <>
            <button type="button" className="button button-primary" onClick={save} disabled={saving || !dirty || condition === undefined}>
              {saving ? "Saving…" : "Save"}
            </button>
            {saved !== null && deleting === "idle" && (
              <button type="button" className="button button-danger-outline" onClick={() => (setDeleting("asking"), setDeleteError(undefined))}>
                Delete…
              </button>
            )}
          </>
        ) : (
          <ReadOnly />
        )}
      </div>
      {problems && (
        <div className="notice notice-error" role="alert">
          <p>
            <strong>Not saved</strong>: the segment has {problemsText(problems.length)}
            {problems.length === elsewhere.length ? "" : problems.length === 1 ? ", shown at the condition it is about" : ", shown at the conditions they are about"}.
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
      {saveError && <ErrorNotice what="The segment could not be saved" error={saveError} onRetry={save} />}
      {saved !== null && deleting !== "idle" && (
        <ConfirmDelete
          question={`Delete the segment “${savedName}”? Its ${peopleText(shown?.size ?? 0)} leave it at once (no Segment Exited events), and journeys can no longer start on it or test it.`}
          action={`Yes, delete ${savedName}`}
          busy={deleting === "busy"}
          onConfirm={remove}
          onCancel={() => setDeleting("idle")}
        />
      )}
      {deleteError && (
        <p className="notice notice-error" role="alert">
          <span>
            <strong>Not deleted</strong>: {deleteError.message}
          </span>
        </p>
      )}
      <div className="segment-layout">
        <form className="panel segment-definition ed-panel-body" aria-label="Definition" onSubmit={(e) => e.preventDefault()}>
          <h2>Definition</h2>
          <TextInput label="Name" value={name} placeholder={id} onChange={setName} hint="What people call it: journeys' cards and a person's page show it. Empty, the id." />
          <ConditionContext.Provider value={conditionApi}>
            <ConditionBuilder
              label="Who is in it"
              value={condition}
              onChange={(c) => setCondition(c ?? { all: [] })}
              kinds={SEGMENT_KINDS}
              at={AT}
              diagnostics={problems}
            />
          </ConditionContext.Provider>
          <p className="ed-hint">
            People are members while this holds. It reads the person: traits, what they did (an event history: how many, in the last days), whether a
            channel reaches them, other segments. It is evaluated again after each of their events and trait changes, and when a window moves on (30 days
            after the last order, say), with no event needed.
          </p>
          {condition === undefined && <p className="ed-hint">Add a condition to save the segment.</p>}
          <RawJson what="the condition" value={condition ?? null} onChange={(v) => setCondition(v === null ? undefined : v)} />
        </form>
        {shown ? (
          <Members segment={shown} />
        ) : (
          <section className="panel segment-members" aria-labelledby="segment-members">
            <h2 id="segment-members">Members</h2>
            <p className="muted">Save the segment to see who is in it: everyone is evaluated, and the members appear here.</p>
          </section>
        )}
      </div>
    </div>
  );
}

export function SegmentPage({ id }: { id: string }) {
  const valid = SEGMENT_ID.test(id);
  const [segment, reload] = useApi(valid ? `segment:${id}` : null, (signal) => apiGet("/api/segments/{id}", { params: { id }, signal }));
  useTitle(id);
  if (!valid) {
    return (
      <div className="page">
        <div className="notice notice-error" role="alert">
          <p>
            <strong>“{id}” cannot be a segment's id</strong>: ids are 1 to 64 of a-z, 0-9, - and _, starting with a letter or a digit. Back to{" "}
            <Link to="/segments">Segments</Link>.
          </p>
        </div>
      </div>
    );
  }
  if (segment.state === "ready") return <Editor id={id} initial={segment.data} />;
  if (segment.state === "failed" && segment.error.code === "not_found") return <Editor id={id} initial={null} />;
  return (
    <div className="page">
      <div className="page-head">
        <Link to="/segments">Segments</Link>
        <span aria-hidden="true">/</span>
        <h1>{id}</h1>
      </div>
      {segment.state === "loading" ? (
        <p className="muted" role="status">
          Loading the segment…
        </p>
      ) : (
        <ErrorNotice what={`Segment ${id} could not be loaded`} error={segment.error} onRetry={reload} />
      )}
    </div>
  );
}
