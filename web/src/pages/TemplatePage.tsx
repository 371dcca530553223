// A template's editor: the Liquid on the left with the variables it can use, the message
// rendered for a person on the right, as the template is typed. A template holds an email
// (subject, HTML, text), an SMS text and a push notification (title, body, link, image), each
// sent by the send steps of its channel.
import { useEffect, useRef, useState, type ChangeEvent } from "react";
import { apiGet, apiPost, apiPut, ApiError, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { useMay } from "../auth/context";
import { ContextTree } from "../content/ContextTree";
import "../content/content.css";
import { EmailPreview } from "../content/EmailPreview";
import { PersonPicker } from "../content/PersonPicker";
import { PartProblem } from "../content/PartProblem";
import { PushPreview } from "../content/PushPreview";
import { SmsPreview } from "../content/SmsPreview";
import {
  bodyOf,
  draftOf,
  EMAIL_ONLY_VARIABLES,
  EMAIL_PARTS,
  EMPTY_DRAFT,
  offsetOf,
  PART_LABEL,
  PARTS,
  previewPart,
  problemsByPart,
  PUSH_PARTS,
  TEMPLATE_ID,
  type Draft,
  type Part,
} from "../content/template";
import { Link, useLeaveGuard } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useDebounced } from "../ui/useDebounced";
import { useTitle } from "../ui/useTitle";

type Preview = { state: "idle" } | { state: "loading"; last?: Schemas["Preview"] } | { state: "ready"; data: Schemas["Preview"] } | { state: "failed"; error: ApiError; last?: Schemas["Preview"] };

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/** The preview of `draft` for `profile`, asked for again once typing pauses. */
function usePreview(draft: Draft, profile: number | null): [Preview, () => void] {
  const settled = useDebounced(JSON.stringify([draft, profile]), 400);
  const [preview, setPreview] = useState<Preview>({ state: "idle" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const [template, profile_id] = JSON.parse(settled) as [Draft, number | null];
    const controller = new AbortController();
    setPreview((p) => ({ state: "loading", last: p.state === "ready" ? p.data : p.state !== "idle" ? p.last : undefined }));
    apiPost("/api/template-preview", { template: bodyOf(template), profile_id }, { signal: controller.signal }).then(
      (data) => setPreview({ state: "ready", data }),
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setPreview((p) => ({ state: "failed", error: asApiError(e), last: p.state === "loading" ? p.last : undefined }));
      },
    );
    return () => controller.abort();
  }, [settled, attempt]);
  return [preview, () => setAttempt((n) => n + 1)];
}

type Field = HTMLInputElement | HTMLTextAreaElement;

/** Parts written on one line; the others get a text area of `ROWS` lines (else 6). */
const LINE_PARTS: readonly Part[] = ["subject", "push.title", "push.link", "push.image"];
const ROWS: Partial<Record<Part, number>> = { html: 14, sms: 4, "push.body": 3 };
const PLACEHOLDER: Partial<Record<Part, string>> = { "push.link": "https://… or an app link (myapp://…)", "push.image": "https://…" };

function Editor({ id, initial }: { id: string; initial: Schemas["TemplateView"] | null }) {
  useTitle(id);
  const [saved, setSaved] = useState(initial);
  const [draft, setDraft] = useState<Draft>(initial ? draftOf(initial) : EMPTY_DRAFT);
  const [category, setCategory] = useState<Schemas["Category"]>(initial?.category ?? "marketing");
  const [person, setPerson] = useState<Schemas["ProfileSummary"] | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ApiError>();
  const [problems, setProblems] = useState<Partial<Record<Part, string[]>>>({});
  const fields = useRef<Partial<Record<Part, Field | null>>>({});
  const [lastField, setLastField] = useState<Part>("html");
  const caret = useRef<{ part: Part; at: number } | null>(null);
  const [names, reloadNames] = useApi("names", (signal) => apiGet("/api/names", { signal }));
  const [preview, retryPreview] = usePreview(draft, person?.id ?? null);
  const shown = preview.state === "ready" ? preview.data : preview.state === "idle" ? undefined : preview.last;
  // What was saved, in the editor's shape, to tell what changed.
  const before = saved === null ? EMPTY_DRAFT : draftOf(saved);
  const dirty = saved === null || PARTS.some((p) => draft[p] !== before[p]) || category !== saved.category;
  // A new template asks once something is written in it.
  useLeaveGuard((saved === null ? PARTS.some((p) => draft[p] !== "") : dirty) ? "This template has changes that are not saved. Leave without saving them?" : undefined);

  // After an insertion, the caret goes after what was inserted.
  useEffect(() => {
    const c = caret.current;
    if (!c) return;
    caret.current = null;
    const el = fields.current[c.part];
    el?.focus();
    el?.setSelectionRange(c.at, c.at);
  }, [draft]);

  const edit = (part: Part, value: string) => {
    setDraft((d) => ({ ...d, [part]: value }));
    setProblems((p) => ({ ...p, [part]: undefined }));
  };

  const insert = (liquid: string) => {
    const part = lastField;
    const el = fields.current[part];
    const value = draft[part];
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    caret.current = { part, at: start + liquid.length };
    edit(part, value.slice(0, start) + liquid + value.slice(end));
  };

  const goTo = (part: Part, line: number, column: number) => {
    const el = fields.current[part];
    if (!el) return;
    const at = offsetOf(draft[part], line, column);
    el.focus();
    el.setSelectionRange(at, at);
  };

  const save = () => {
    setSaving(true);
    setSaveError(undefined);
    apiPut("/api/templates/{id}", { ...bodyOf(draft), category }, { params: { id } }).then(
      (view) => {
        setSaving(false);
        setSaved(view);
        setProblems({});
      },
      (e: unknown) => {
        setSaving(false);
        const error = asApiError(e);
        const byPart = problemsByPart(error);
        if (byPart) setProblems(byPart);
        else setSaveError(error);
      },
    );
  };

  // The unsubscribe link is not offered where it cannot be used.
  const emailField = (EMAIL_PARTS as readonly Part[]).includes(lastField);
  const variables = names.state === "ready" ? names.data.template_variables.filter((v) => emailField || !EMAIL_ONLY_VARIABLES.includes(v)) : [];
  const traits = names.state === "ready" ? names.data.traits : [];
  const editor = useMay("editor");
  const saveProblems = PARTS.filter((p) => problems[p]?.length);
  const hasEmail = EMAIL_PARTS.some((p) => draft[p].trim() !== "");
  const who = person ? (person.identities[0]?.value ?? `person ${person.id}`) : undefined;

  const field = (part: Part) => {
    const fieldId = `template-${part.replace(".", "-")}`;
    const renderError = shown && previewPart(shown, part).error;
    const saveErrors = problems[part] ?? [];
    const describedBy = [renderError ? `${fieldId}-render` : "", saveErrors.length ? `${fieldId}-save` : ""].filter(Boolean).join(" ") || undefined;
    const common = {
      id: fieldId,
      value: draft[part],
      spellCheck: false,
      "aria-invalid": saveErrors.length > 0 || renderError ? true : undefined,
      "aria-describedby": describedBy,
      onFocus: () => setLastField(part),
      onChange: (e: ChangeEvent<Field>) => edit(part, e.target.value),
    };
    return (
      <div className="field" key={part}>
        <label htmlFor={fieldId}>{PART_LABEL[part]}</label>
        {LINE_PARTS.includes(part) ? (
          <input {...common} ref={(el) => void (fields.current[part] = el)} type="text" autoComplete="off" placeholder={PLACEHOLDER[part]} />
        ) : (
          <textarea {...common} ref={(el) => void (fields.current[part] = el)} rows={ROWS[part] ?? 6} />
        )}
        {saveErrors.length > 0 && (
          <div id={`${fieldId}-save`}>
            {saveErrors.map((m) => (
              <PartProblem key={m} label={`Not saved: ${PART_LABEL[part]}`} message={m} onGoTo={(line, column) => goTo(part, line, column)} />
            ))}
          </div>
        )}
        {renderError && (
          <PartProblem
            id={`${fieldId}-render`}
            soft
            label={`Does not render for ${who ?? "nobody"}`}
            message={renderError}
            onGoTo={(line, column) => goTo(part, line, column)}
          />
        )}
      </div>
    );
  };

  return (
    <div className="page page-wide">
      <div className="page-head">
        <Link to="/content">Content</Link>
        <span aria-hidden="true">/</span>
        <h1>{id}</h1>
        <span className="muted" role="status">
          {saved === null ? "New template, not saved yet" : dirty ? "Changes not saved" : <>Saved <Time at={saved.updated_at} /></>}
        </span>
        {editor ? (
          <button type="button" className="button button-primary" onClick={save} disabled={saving || !dirty}>
            {saving ? "Saving…" : "Save"}
          </button>
        ) : (
          <ReadOnly />
        )}
        {saveProblems.length > 0 && (
          <span className="item-error" role="alert">
            Not saved: {saveProblems.map((p) => PART_LABEL[p]).join(", ")} {saveProblems.length > 1 ? "have" : "has"} problems
          </span>
        )}
      </div>
      {saveError && <ErrorNotice what="The template could not be saved" error={saveError} onRetry={save} />}
      <div className="template-editor">
        <form className="template-source" onSubmit={(e) => e.preventDefault()} aria-label="Template">
          <section className="template-channel" aria-label="Email">
            <h2>Email</h2>
            <p className="muted">
              Sent by email send steps to the person's <code>email</code> trait: HTML, text or both.
            </p>
            {EMAIL_PARTS.map(field)}
          </section>
          <section className="template-channel" aria-label="SMS">
            <h2>SMS</h2>
            <p className="muted">
              Texted by SMS send steps to the person's <code>phone</code> trait (with + and the country code). Plain text: nothing is HTML-escaped, and there
              is no <code>unsubscribe_url</code> (people text STOP).
            </p>
            {field("sms")}
          </section>
          <section className="template-channel" aria-label="Push notification">
            <h2>Push notification</h2>
            <p className="muted">
              Sent by push send steps to the person's devices: the <code>push_tokens</code> trait, kept from their events' <code>context.device.token</code>. A
              title, a body or both; the link (https, or an app's deep link) opens on a tap, and the image (https) is shown with it. Plain text, and no{" "}
              <code>unsubscribe_url</code>.
            </p>
            {PUSH_PARTS.map(field)}
          </section>
          <div className="field">
            <label htmlFor="template-category">Kind of message</label>
            <select id="template-category" value={category} onChange={(e) => setCategory(e.target.value as Schemas["Category"])}>
              <option value="marketing">Marketing: not sent to people who unsubscribed</option>
              <option value="transactional">Transactional (a receipt, a password reset): sent even to people who unsubscribed</option>
            </select>
          </div>
          <section className="variables" aria-label="Variables">
            <h2>Variables</h2>
            <p className="muted">Click to insert where the cursor was (now: {PART_LABEL[lastField]}).</p>
            {names.state === "failed" && <ErrorNotice what="The variables could not be listed" error={names.error} onRetry={reloadNames} />}
            <ul className="variable-list">
              {variables.map((v) => (
                <li key={v}>
                  <button type="button" className="chip" onClick={() => insert(`{{ ${v} }}`)}>
                    {v}
                  </button>
                </li>
              ))}
              {traits.map((t) => (
                <li key={`traits.${t}`}>
                  <button type="button" className="chip" onClick={() => insert(`{{ traits.${t} }}`)}>
                    traits.{t}
                  </button>
                </li>
              ))}
            </ul>
            {shown && (
              <>
                <h3>What the template sees{who ? ` for ${who}` : ""}</h3>
                <ContextTree context={shown.context} onInsert={insert} />
              </>
            )}
          </section>
        </form>
        <section className="template-preview" aria-label="Preview">
          <PersonPicker picked={person} onPick={setPerson} />
          {preview.state === "failed" && <ErrorNotice what="The preview could not be made" error={preview.error} onRetry={retryPreview} />}
          {shown ? (
            <>
              <h2>Email</h2>
              {hasEmail ? (
                <EmailPreview preview={shown} stale={preview.state === "loading"} />
              ) : (
                <p className="muted">No email: this template has no subject, HTML or text, so email send steps cannot use it.</p>
              )}
              <h2>SMS</h2>
              <SmsPreview preview={shown} source={draft.sms} stale={preview.state === "loading"} />
              <h2>Push notification</h2>
              <PushPreview preview={shown} source={{ title: draft["push.title"], body: draft["push.body"] }} who={who} stale={preview.state === "loading"} />
            </>
          ) : (
            preview.state !== "failed" && (
              <p className="muted" role="status">
                Rendering…
              </p>
            )
          )}
        </section>
      </div>
    </div>
  );
}

export function TemplatePage({ id }: { id: string }) {
  const valid = TEMPLATE_ID.test(id);
  const [template, reload] = useApi(valid ? `template:${id}` : null, (signal) => apiGet("/api/templates/{id}", { params: { id }, signal }));
  useTitle(id);
  if (!valid) {
    return (
      <div className="page">
        <div className="notice notice-error" role="alert">
          <p>
            <strong>“{id}” cannot be a template's id</strong>: ids are 1-100 characters of a-z, 0-9, - and _. Back to <Link to="/content">Content</Link>.
          </p>
        </div>
      </div>
    );
  }
  if (template.state === "ready") return <Editor id={id} initial={template.data} />;
  if (template.state === "failed" && template.error.code === "not_found") return <Editor id={id} initial={null} />;
  return (
    <div className="page">
      <div className="page-head">
        <Link to="/content">Content</Link>
        <span aria-hidden="true">/</span>
        <h1>{id}</h1>
      </div>
      {template.state === "loading" ? (
        <p className="muted" role="status">
          Loading the template…
        </p>
      ) : (
        <ErrorNotice what={`Template ${id} could not be loaded`} error={template.error} onRetry={reload} />
      )}
    </div>
  );
}
