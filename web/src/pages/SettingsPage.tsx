import { useId, useState, type FormEvent } from "react";
import { apiGet, apiPost, ApiError, type Schemas } from "../api/client";
import { usePaged } from "../api/usePaged";
import { useMay, useSession, VIEWERS_CANNOT } from "../auth/context";
import { CopyButton } from "../ui/CopyButton";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ListFoot } from "../ui/ListFoot";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";
import { Audit } from "./settings/Audit";
import { Tokens } from "./settings/Tokens";
import { Users } from "./settings/Users";

const SOURCE_ID = /^[a-z0-9_-]{1,100}$/;

/** Sources a page. */
export const SOURCES_PAGE = 100;

/** How to send events with a source's write key: a Segment SDK pointed at this server, or plain HTTP. */
export function segmentSnippet(writeKey: string, origin: string): string {
  return `// npm install @segment/analytics-node
import { Analytics } from "@segment/analytics-node";

const analytics = new Analytics({ writeKey: "${writeKey}", host: "${origin}" });
analytics.identify({ userId: "alice", traits: { email: "alice@example.com", firstName: "Alice" } });
analytics.track({ userId: "alice", event: "Signed Up", properties: { plan: "pro" } });`;
}

export function curlSnippet(writeKey: string, origin: string): string {
  return `curl -u '${writeKey}:' ${origin}/v1/track -H 'content-type: application/json' \\
  -d '{"userId": "alice", "event": "Signed Up", "properties": {"plan": "pro"}}'`;
}

function NewSource({ onCreated }: { onCreated: (s: Schemas["SourceView"]) => void }) {
  const inputId = useId();
  const [id, setId] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const create = (e?: FormEvent) => {
    e?.preventDefault();
    const wanted = id.trim();
    setError(undefined);
    if (!SOURCE_ID.test(wanted)) return setProblem("An id is 1-100 characters of a-z, 0-9, - and _.");
    setBusy(true);
    apiPost("/api/sources", { id: wanted }, {}).then(
      // The server answers 201, which the client's answer type (200 only) does not name.
      (source: Schemas["SourceView"]) => {
        setBusy(false);
        setId("");
        onCreated(source);
      },
      (e: unknown) => {
        setBusy(false);
        const err = e instanceof ApiError ? e : new ApiError("internal", String(e));
        // The id's own problems (taken, reserved) next to the id; anything else below.
        if (err.code === "conflict" || err.code === "invalid_request") setProblem(err.message);
        else setError(err);
      },
    );
  };
  return (
    <form className="new-source" onSubmit={create} aria-label="New source">
      <div className="field">
        <label htmlFor={inputId}>New source (an app or a website that sends events)</label>
        <div className="inline">
          <input
            id={inputId}
            value={id}
            placeholder="website"
            autoComplete="off"
            spellCheck={false}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? `${inputId}-problem` : undefined}
            onChange={(e) => {
              setId(e.target.value);
              setProblem(undefined);
            }}
          />
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? "Creating…" : "Create source"}
          </button>
        </div>
      </div>
      {problem && (
        <p id={`${inputId}-problem`} className="item-error" role="alert">
          {problem}
        </p>
      )}
      {error && <ErrorNotice what="The source could not be created" error={error} onRetry={() => create()} />}
    </form>
  );
}

function Sources() {
  const list = usePaged("sources", async (cursor, signal) => {
    const page = await apiGet("/api/sources", { query: { limit: SOURCES_PAGE, cursor }, signal });
    return { items: page.sources, next: page.next_cursor ?? null };
  });
  const [chosen, setChosen] = useState<string>();
  const selectId = useId();
  const sources = list.state === "ready" ? list.items : [];
  const source = sources.find((s) => s.id === chosen) ?? sources[0];
  const origin = window.location.origin;
  const admin = useMay("admin");
  const editor = useMay("editor");
  return (
    <section className="panel settings-section" aria-labelledby="sources-title">
      <h2 id="sources-title">Sources and write keys</h2>
      <p className="muted">
        A source's write key is the user name of HTTP Basic authentication on the Segment tracking API (<code>/v1/*</code>); the password is empty.
      </p>
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading the sources…
        </p>
      )}
      {list.state === "failed" && list.error && <ErrorNotice what="The sources could not be listed" error={list.error} onRetry={list.reload} />}
      {list.state === "ready" &&
        (sources.length === 0 ? (
          <p>No sources yet: create one to get a write key.</p>
        ) : (
          <>
            <table className="table" aria-label="Sources">
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Write key</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {sources.map((s) => (
                  <tr key={s.id}>
                    <td>
                      <code>{s.id}</code>
                    </td>
                    <td>
                      <span className="inline">
                        <code className="write-key">{s.write_key}</code>
                        <CopyButton text={s.write_key} label={`Copy the write key of ${s.id}`} />
                      </span>
                    </td>
                    <td>
                      <Time at={s.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <ListFoot list={list} one="source" many="sources" />
          </>
        ))}
      {admin ? (
        <NewSource
          onCreated={(s) => {
            setChosen(s.id);
            list.reload();
          }}
        />
      ) : (
        <p className="muted" title={editor ? "only admins create sources" : VIEWERS_CANNOT}>
          {editor ? "Only admins create sources." : "Read only: viewers cannot change this."}
        </p>
      )}
      {source && (
        <div className="snippets">
          <div className="inline">
            <h3>Send events</h3>
            {sources.length > 1 && (
              <div className="field field-inline">
                <label htmlFor={selectId}>with the key of</label>
                <select id={selectId} value={source.id} onChange={(e) => setChosen(e.target.value)}>
                  {sources.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.id}
                    </option>
                  ))}
                </select>
              </div>
            )}
          </div>
          <p className="muted">Any Segment SDK works unchanged with this server as its host. Page calls are matched by journeys as the event “Page Viewed”.</p>
          <div className="inline">
            <strong>Node.js</strong>
            <CopyButton text={segmentSnippet(source.write_key, origin)} label="Copy the Node.js snippet" />
          </div>
          <pre tabIndex={0} data-testid="segment-snippet">{segmentSnippet(source.write_key, origin)}</pre>
          <div className="inline">
            <strong>HTTP</strong>
            <CopyButton text={curlSnippet(source.write_key, origin)} label="Copy the curl command" />
          </div>
          <pre tabIndex={0}>{curlSnippet(source.write_key, origin)}</pre>
        </div>
      )}
    </section>
  );
}

export function SettingsPage() {
  useTitle("Settings");
  const session = useSession();
  const admin = useMay("admin");
  return (
    <div className="page">
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <Sources />
      <section className="panel settings-section" aria-labelledby="users-title">
        <h2 id="users-title">Users and roles</h2>
        {session && (
          <p>
            You are {session.user ? session.user.email : session.actor}, with the role <strong>{session.role}</strong>.
          </p>
        )}
        {admin ? (
          <Users me={session?.user?.id} />
        ) : (
          <p className="muted">An admin manages users and their roles: ask one to change yours.</p>
        )}
      </section>
      <section className="panel settings-section" aria-labelledby="tokens-title">
        <h2 id="tokens-title">Your API tokens</h2>
        {session && !session.user ? (
          <p className="muted">
            API tokens belong to users: this is the admin token, which has no user. Sign in as a user to make one for journeys as code (
            <code>wayfarer journeys apply FILE --token …</code>).
          </p>
        ) : (
          <>
            <p className="muted">A token acts with your role. Use it as <code>Authorization: Bearer</code>, or for journeys as code.</p>
            <Tokens />
          </>
        )}
      </section>
      {admin && (
        <section className="panel settings-section" aria-labelledby="audit-title">
          <h2 id="audit-title">Audit log</h2>
          <p className="muted">Who changed which journey, template, user or setting, and when; newest first.</p>
          <Audit />
        </section>
      )}
    </div>
  );
}
