import { useId, useState, type FormEvent } from "react";
import { apiGet, ApiError, type Schemas } from "../api/client";
import { usePaged } from "../api/usePaged";
import { useMay } from "../auth/context";
import "../content/content.css";
import { ImagesSection } from "../content/Images";
import { channelsOf, localeLabel, TEMPLATE_ID } from "../content/template";
import { Link, navigate } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ListFoot } from "../ui/ListFoot";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useTitle } from "../ui/useTitle";

/** Templates a page. */
export const TEMPLATES_PAGE = 100;

/**
 * A new template's id, then its editor. `taken` are the ids listed so far; when the list has more
 * pages (`complete` false), an id not among them is asked about.
 */
function NewTemplate({ taken, complete, onCancel }: { taken: Set<string>; complete: boolean; onCancel: () => void }) {
  const inputId = useId();
  const [id, setId] = useState("");
  const [problem, setProblem] = useState<string>();
  const create = (e: FormEvent) => {
    e.preventDefault();
    const wanted = id.trim();
    const exists = () => setProblem(`There is a template ${wanted} already.`);
    if (!TEMPLATE_ID.test(wanted)) return setProblem("An id is 1-100 characters of a-z, 0-9, - and _.");
    if (taken.has(wanted)) return exists();
    if (complete) return navigate(`/content/${wanted}`);
    apiGet("/api/templates/{id}", { params: { id: wanted } }).then(exists, (err: unknown) => {
      if (err instanceof ApiError && err.code === "not_found") navigate(`/content/${wanted}`);
      else setProblem(`Whether there is a template ${wanted} already could not be checked: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
  return (
    <form className="panel new-template" onSubmit={create} aria-label="New template">
      <div className="field">
        <label htmlFor={inputId}>Id of the new template (what journeys' send steps name)</label>
        <input
          id={inputId}
          value={id}
          autoFocus
          autoComplete="off"
          spellCheck={false}
          placeholder="welcome-email"
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? `${inputId}-problem` : undefined}
          onChange={(e) => {
            setId(e.target.value);
            setProblem(undefined);
          }}
        />
      </div>
      {problem && (
        <p id={`${inputId}-problem`} className="item-error" role="alert">
          {problem}
        </p>
      )}
      <div className="page-head">
        <button type="submit" className="button button-primary">
          Create
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** What a template can be sent as: "Email (HTML, text) · SMS · Push · In-app". */
function channelsText(t: Schemas["TemplateView"]): string {
  const email = [t.html.trim() && "HTML", t.text.trim() && "text"].filter(Boolean).join(", ");
  const name: Record<Schemas["Channel"], string> = { email: `Email (${email})`, sms: "SMS", push: "Push", in_app: "In-app" };
  return channelsOf(t).map((c) => name[c]).join(" · ");
}

function TemplateTable({ templates }: { templates: Schemas["TemplateView"][] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Id</th>
          <th scope="col">Subject</th>
          <th scope="col">Channels</th>
          <th scope="col">Translations</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {templates.map((t) => (
          <tr key={t.id}>
            <td>
              <Link to={`/content/${encodeURIComponent(t.id)}`}>{t.id}</Link>
            </td>
            <td>{t.subject ? <code>{t.subject}</code> : <span className="muted">none</span>}</td>
            <td>{channelsText(t) || <span className="muted">subject only</span>}</td>
            <td>
              {Object.keys(t.locales ?? {}).length > 0 ? (
                <span className="template-locales" title={Object.keys(t.locales).map(localeLabel).join(", ")}>
                  {Object.keys(t.locales).join(", ")}
                </span>
              ) : (
                <span className="muted">none</span>
              )}
            </td>
            <td>
              <Time at={t.updated_at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ContentPage() {
  useTitle("Content");
  const list = usePaged("templates", async (cursor, signal) => {
    const page = await apiGet("/api/templates", { query: { limit: TEMPLATES_PAGE, cursor }, signal });
    return { items: page.templates, next: page.next_cursor ?? null };
  });
  const [adding, setAdding] = useState(false);
  const editor = useMay("editor");
  // In the server's order (by id), a page after another.
  const templates = list.state === "ready" ? list.items : [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Content</h1>
        {!editor ? (
          <ReadOnly />
        ) : (
          !adding && (
            <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
              New template
            </button>
          )
        )}
      </div>
      <p className="muted">
        Templates in Liquid, with an email, an SMS text, a push notification, an in-app message or several: <code>traits</code> is the person,{" "}
        <code>event</code> the event that started the run. A journey's send step names one by its id, and sends it by email, SMS or push, or keeps it for the
        person's next visit to the website or app (in-app). A template's translations go to people whose <code>locale</code> trait is theirs.
      </p>
      {adding && editor && <NewTemplate taken={new Set(templates.map((t) => t.id))} complete={list.state === "ready" && !list.more} onCancel={() => setAdding(false)} />}
      <section className="template-list" aria-label="Templates">
        {list.state === "loading" && (
          <p className="muted" role="status">
            Loading the templates…
          </p>
        )}
        {list.state === "failed" && list.error && <ErrorNotice what="The templates could not be listed" error={list.error} onRetry={list.reload} />}
        {list.state === "ready" &&
          (templates.length === 0 ? (
            <div className="panel">
              <p>No templates yet. Make one with “New template”, or with the API:</p>
              <pre tabIndex={0}>{`curl -X PUT ${window.location.origin}/api/templates/welcome -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
  -d '{"subject": "Welcome, {{ traits.firstName | default: \\"there\\" }}", "text": "Glad you are here."}'`}</pre>
            </div>
          ) : (
            <>
              <TemplateTable templates={templates} />
              <ListFoot list={list} one="template" many="templates" />
            </>
          ))}
      </section>
      <ImagesSection />
    </div>
  );
}
