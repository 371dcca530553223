// A template's editor: the Liquid on the left with the variables it can use, the message
// rendered for a person on the right, as the template is typed. A template holds an email
// (subject, HTML, text), an SMS text, a push notification (title, body, link, image) and an
// in-app message (where and how it shows; title, body, button, link, image), each sent by the
// send steps of its channel; and translations of those parts by locale, each empty one falling
// back to the template's own. Variables and uploaded images' addresses insert at the cursor.
import { useEffect, useId, useRef, useState, type ChangeEvent, type KeyboardEvent } from "react";
import { apiGet, apiPost, apiPut, ApiError, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { useMay } from "../auth/context";
import { ContextTree } from "../content/ContextTree";
import "../content/content.css";
import { EmailPreview } from "../content/EmailPreview";
import { ImagePicker } from "../content/Images";
import { InAppPreview } from "../content/InAppPreview";
import { PersonPicker } from "../content/PersonPicker";
import { PartProblem } from "../content/PartProblem";
import { PushPreview } from "../content/PushPreview";
import { SmsPreview } from "../content/SmsPreview";
import {
  bodyOf,
  draftOf,
  effectivePart,
  EMAIL_ONLY_VARIABLES,
  EMAIL_PARTS,
  EMPTY_DRAFT,
  IN_APP_PARTS,
  isLocale,
  localeFor,
  localeLabel,
  localesBody,
  normalizeLocale,
  offsetOf,
  PART_LABEL,
  PARTS,
  PLAIN_PARTS,
  previewPart,
  problemsByLocale,
  PUSH_PARTS,
  sameTranslations,
  TEMPLATE_ID,
  translationDraftOf,
  type Draft,
  type Part,
  type PartProblems,
} from "../content/template";
import { Link, useLeaveGuard } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { useDebounced } from "../ui/useDebounced";
import { useTitle } from "../ui/useTitle";

type Preview = { state: "idle" } | { state: "loading"; last?: Schemas["Preview"] } | { state: "ready"; data: Schemas["Preview"] } | { state: "failed"; error: ApiError; last?: Schemas["Preview"] };

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/**
 * The preview of `draft` for `profile`, asked for again once typing pauses: the template's own
 * parts (`locale` ""), or its translation in `locale` (sent with the translations, asking for it).
 */
function usePreview(draft: Draft, profile: number | null, locale: string, translations: Record<string, Draft>): [Preview, () => void] {
  const settled = useDebounced(JSON.stringify([draft, profile, locale, locale === "" ? null : translations]), 400);
  const [preview, setPreview] = useState<Preview>({ state: "idle" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const [template, profile_id, asked, locales] = JSON.parse(settled) as [Draft, number | null, string, Record<string, Draft> | null];
    const controller = new AbortController();
    setPreview((p) => ({ state: "loading", last: p.state === "ready" ? p.data : p.state !== "idle" ? p.last : undefined }));
    const body: Schemas["PreviewRequest"] =
      asked === "" || locales === null
        ? { template: bodyOf(template), profile_id }
        : { template: { ...bodyOf(template), locales: localesBody(locales) }, profile_id, locale: asked };
    apiPost("/api/template-preview", body, { signal: controller.signal }).then(
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

/** A template's translations as the editor holds them, by locale. */
const translationsOf = (t: Schemas["TemplateView"] | null): Record<string, Draft> =>
  Object.fromEntries(Object.entries(t?.locales ?? {}).map(([locale, tr]) => [locale, translationDraftOf(tr)]));

/**
 * The locales: the template's own parts ("Default"), a tab per translation, and a new one by its
 * code (checked as the server checks it). `problems` are the locales whose parts have some.
 */
function LocaleTabs({
  locales,
  current,
  problems,
  editor,
  onPick,
  onAdd,
}: {
  locales: string[];
  current: string;
  problems: Set<string>;
  editor: boolean;
  onPick: (locale: string) => void;
  onAdd: (locale: string) => void;
}) {
  const inputId = useId();
  const [adding, setAdding] = useState(false);
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<string>();
  const add = () => {
    const locale = normalizeLocale(code);
    if (!isLocale(locale)) return setProblem(`“${code.trim()}” is not a locale: a language (fr) and maybe a region or a script (pt-BR, zh-Hant).`);
    if (locales.includes(locale)) return setProblem(`There is a ${localeLabel(locale)} translation already.`);
    onAdd(locale);
    setAdding(false);
    setCode("");
    setProblem(undefined);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      add();
    } else if (e.key === "Escape") {
      setAdding(false);
    }
  };
  const tab = (locale: string, label: string) => (
    <button key={locale} type="button" role="tab" aria-selected={current === locale} onClick={() => onPick(locale)} className={problems.has(locale) ? "tab-invalid" : undefined}>
      {label}
      {problems.has(locale) && <span className="visually-hidden"> (has problems)</span>}
    </button>
  );
  return (
    <div className="locale-bar">
      <div className="locale-tabs" role="tablist" aria-label="Locales">
        {tab("", "Default")}
        {locales.map((l) => tab(l, localeLabel(l)))}
      </div>
      {editor &&
        (adding ? (
          <div className="locale-add">
            <div className="field">
              <label htmlFor={inputId}>Locale of the translation</label>
              <input
                id={inputId}
                value={code}
                autoFocus
                autoComplete="off"
                spellCheck={false}
                placeholder="fr, pt-BR"
                aria-invalid={problem ? true : undefined}
                aria-describedby={problem ? `${inputId}-problem` : `${inputId}-hint`}
                onKeyDown={onKey}
                onChange={(e) => {
                  setCode(e.target.value);
                  setProblem(undefined);
                }}
              />
              {problem ? (
                <p id={`${inputId}-problem`} className="item-error" role="alert">
                  {problem}
                </p>
              ) : (
                <p id={`${inputId}-hint`} className="muted">
                  People whose <code>locale</code> trait is it, or a locale of its language (fr-CA for fr), get the translation.
                </p>
              )}
            </div>
            <div className="locale-add-actions">
              <button type="button" className="button button-primary button-small" onClick={add}>
                Add
              </button>
              <button type="button" className="button button-small" onClick={() => (setAdding(false), setProblem(undefined))}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <button type="button" className="button button-small" onClick={() => setAdding(true)}>
            + Add a translation
          </button>
        ))}
    </div>
  );
}

type Field = HTMLInputElement | HTMLTextAreaElement;

/** Parts written on one line; the others get a text area of `ROWS` lines (else 6). */
const LINE_PARTS: readonly Part[] = [
  "subject",
  "push.title",
  "push.link",
  "push.image",
  "in_app.placement",
  "in_app.title",
  "in_app.button",
  "in_app.link",
  "in_app.image",
];
const ROWS: Partial<Record<Part, number>> = { html: 14, sms: 4, "push.body": 3, "in_app.body": 3 };
const PLACEHOLDER: Partial<Record<Part, string>> = {
  "push.link": "https://… or an app link (myapp://…)",
  "push.image": "https://…",
  "in_app.placement": "any place",
  "in_app.button": "Open",
  "in_app.link": "https://… or an app link (myapp://…)",
  "in_app.image": "https://…",
};
/** What a part is for, under it. */
const HINT: Partial<Record<Part, string>> = {
  "in_app.placement":
    'Empty: any place. Else the place the page or app asks for: the script\'s data-placement="home", /v1/decide?placement=home. Plain words, not Liquid.',
  "in_app.layout": "A banner is a strip across the top of the page, or inside its place's element; a modal is a dialog over the page.",
  "in_app.button": 'Shown with the link; "Open" when empty.',
};
/** An in-app message's layouts, as the select offers them. */
const LAYOUTS = [
  ["banner", "Banner"],
  ["modal", "Modal"],
] as const;

function Editor({ id, initial }: { id: string; initial: Schemas["TemplateView"] | null }) {
  useTitle(id);
  const [saved, setSaved] = useState(initial);
  const [draft, setDraft] = useState<Draft>(initial ? draftOf(initial) : EMPTY_DRAFT);
  const [translations, setTranslations] = useState<Record<string, Draft>>(() => translationsOf(initial));
  // The tab shown: the template's own parts (""), or a translation's locale.
  const [locale, setLocale] = useState("");
  const [category, setCategory] = useState<Schemas["Category"]>(initial?.category ?? "marketing");
  const [person, setPerson] = useState<Schemas["ProfileSummary"] | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<ApiError>();
  // The server's problems with the last save, by locale ("" for the template's own parts).
  const [problems, setProblems] = useState<Record<string, PartProblems>>({});
  const fields = useRef<Partial<Record<Part, Field | null>>>({});
  const [lastField, setLastField] = useState<Part>("html");
  const caret = useRef<{ part: Part; at: number } | null>(null);
  const [names, reloadNames] = useApi("names", (signal) => apiGet("/api/names", { signal }));
  const [preview, retryPreview] = usePreview(draft, person?.id ?? null, locale, translations);
  const shown = preview.state === "ready" ? preview.data : preview.state === "idle" ? undefined : preview.last;
  // What was saved, in the editor's shape, to tell what changed.
  const before = saved === null ? EMPTY_DRAFT : draftOf(saved);
  const dirty =
    saved === null || PARTS.some((p) => draft[p] !== before[p]) || category !== saved.category || !sameTranslations(translations, translationsOf(saved));
  // A new template asks once something is written in it.
  const written = PARTS.some((p) => draft[p] !== EMPTY_DRAFT[p]) || Object.keys(translations).length > 0;
  useLeaveGuard((saved === null ? written : dirty) ? "This template has changes that are not saved. Leave without saving them?" : undefined);
  const locales = Object.keys(translations);
  /** The parts shown: the template's own, or the translation's. */
  const current = locale === "" ? draft : (translations[locale] ?? EMPTY_DRAFT);
  const translation = locale === "" ? undefined : current;
  /** A part as sent in the locale shown: a translation's empty part is the template's own. */
  const sent = (part: Part) => effectivePart(draft, translation, part);

  // After an insertion, the caret goes after what was inserted.
  useEffect(() => {
    const c = caret.current;
    if (!c) return;
    caret.current = null;
    const el = fields.current[c.part];
    el?.focus();
    el?.setSelectionRange(c.at, c.at);
  }, [draft, translations]);

  const edit = (part: Part, value: string) => {
    if (locale === "") setDraft((d) => ({ ...d, [part]: value }));
    else setTranslations((t) => ({ ...t, [locale]: { ...(t[locale] ?? EMPTY_DRAFT), [part]: value } }));
    setProblems((p) => ({ ...p, [locale]: { ...p[locale], [part]: undefined } }));
  };

  const addTranslation = (l: string) => {
    setTranslations((t) => ({ ...t, [l]: EMPTY_DRAFT }));
    setLocale(l);
  };

  const removeTranslation = (l: string) => {
    const written = PARTS.some((p) => !PLAIN_PARTS.includes(p) && translations[l]?.[p].trim());
    if (written && !window.confirm(`Remove the ${localeLabel(l)} translation? What it says is lost once the template is saved.`)) return;
    setTranslations((t) => Object.fromEntries(Object.entries(t).filter(([k]) => k !== l)));
    setProblems((p) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== l)));
    setLocale("");
  };

  const insert = (liquid: string) => {
    const part = lastField;
    const el = fields.current[part];
    const value = current[part];
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    caret.current = { part, at: start + liquid.length };
    edit(part, value.slice(0, start) + liquid + value.slice(end));
  };

  const goTo = (part: Part, line: number, column: number) => {
    const el = fields.current[part];
    if (!el) return;
    const at = offsetOf(current[part], line, column);
    el.focus();
    el.setSelectionRange(at, at);
  };

  const save = () => {
    setSaving(true);
    setSaveError(undefined);
    // Every translation goes back as it is held: saving another part changes none of them.
    apiPut("/api/templates/{id}", { ...bodyOf(draft), locales: localesBody(translations), category }, { params: { id } }).then(
      (view) => {
        setSaving(false);
        setSaved(view);
        setProblems({});
      },
      (e: unknown) => {
        setSaving(false);
        const error = asApiError(e);
        const byLocale = problemsByLocale(error);
        if (byLocale) {
          setProblems(byLocale);
          // The problems of the locale shown, else of the first that has some.
          if (!byLocale[locale]) setLocale(Object.keys(byLocale).sort()[0]);
        } else setSaveError(error);
      },
    );
  };

  // The unsubscribe link is not offered where it cannot be used.
  const emailField = (EMAIL_PARTS as readonly Part[]).includes(lastField);
  const variables = names.state === "ready" ? names.data.template_variables.filter((v) => emailField || !EMAIL_ONLY_VARIABLES.includes(v)) : [];
  const traits = names.state === "ready" ? names.data.traits : [];
  const editor = useMay("editor");
  // Each part with problems, "Subject (French (fr))" for a translation's.
  const saveProblems = Object.entries(problems).flatMap(([l, byPart]) =>
    PARTS.filter((p) => byPart[p]?.length).map((p) => (l === "" ? PART_LABEL[p] : `${PART_LABEL[p]} (${localeLabel(l)})`)),
  );
  const problemLocales = new Set(Object.entries(problems).flatMap(([l, byPart]) => (PARTS.some((p) => byPart[p]?.length) ? [l] : [])));
  const hasEmail = EMAIL_PARTS.some((p) => sent(p).trim() !== "");
  const who = person ? (person.identities[0]?.value ?? `person ${person.id}`) : undefined;
  // On the template's own parts, for a person whose locale has a translation: they get that instead.
  const personLocale = (shown?.context.traits as Record<string, unknown> | undefined)?.locale;
  const theirs = locale === "" && person ? localeFor(locales, personLocale) : undefined;

  const field = (part: Part) => {
    // A translation has the template's placement and layout: said once, above its in-app parts.
    if (translation && PLAIN_PARTS.includes(part)) return null;
    const fieldId = `template-${locale === "" ? "" : `${locale}-`}${part.replace(".", "-")}`;
    const renderError = shown && previewPart(shown, part)?.error;
    const saveErrors = problems[locale]?.[part] ?? [];
    const hint = translation ? undefined : HINT[part];
    // An empty part of a translation is the template's own: shown in its place, greyed.
    const placeholder = translation ? draft[part] || `(empty in the default too)` : PLACEHOLDER[part];
    const describedBy =
      [hint ? `${fieldId}-hint` : "", renderError ? `${fieldId}-render` : "", saveErrors.length ? `${fieldId}-save` : ""].filter(Boolean).join(" ") || undefined;
    const common = {
      id: fieldId,
      value: current[part],
      spellCheck: false,
      "aria-invalid": saveErrors.length > 0 || renderError ? true : undefined,
      "aria-describedby": describedBy,
      // Variables go into Liquid only: the cursor of a plain part is not where they go.
      onFocus: () => {
        if (!PLAIN_PARTS.includes(part)) setLastField(part);
      },
      onChange: (e: ChangeEvent<Field>) => edit(part, e.target.value),
    };
    return (
      <div className="field" key={part}>
        <label htmlFor={fieldId}>{PART_LABEL[part]}</label>
        {part === "in_app.layout" ? (
          <select id={fieldId} value={current[part]} onChange={(e) => edit(part, e.target.value)} aria-describedby={describedBy}>
            {LAYOUTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        ) : LINE_PARTS.includes(part) ? (
          <input {...common} ref={(el) => void (fields.current[part] = el)} type="text" autoComplete="off" placeholder={placeholder} />
        ) : (
          <textarea {...common} ref={(el) => void (fields.current[part] = el)} rows={ROWS[part] ?? 6} placeholder={translation ? placeholder : undefined} />
        )}
        {hint && (
          <p className="muted" id={`${fieldId}-hint`}>
            {hint}
          </p>
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
            Not saved: {saveProblems.join(", ")} {saveProblems.length > 1 ? "have" : "has"} problems
          </span>
        )}
      </div>
      {saveError && <ErrorNotice what="The template could not be saved" error={saveError} onRetry={save} />}
      <div className="template-editor">
        <form className="template-source" onSubmit={(e) => e.preventDefault()} aria-label="Template">
          <LocaleTabs locales={locales} current={locale} problems={problemLocales} editor={editor} onPick={setLocale} onAdd={addTranslation} />
          <div className="template-locale" role="tabpanel" aria-label={locale === "" ? "Default" : localeLabel(locale)}>
            {translation ? (
              <div className="locale-head">
                <p>
                  <strong>{localeLabel(locale)}</strong>: for people whose <code>locale</code> trait is {locale}
                  {locale.includes("-") ? "" : <> or a locale of its language ({locale}-…)</>}, unless a translation fits theirs better. Its empty parts fall back
                  to the default's, shown greyed in each field.
                </p>
                {editor && (
                  <button type="button" className="button button-small" onClick={() => removeTranslation(locale)}>
                    Remove this translation
                  </button>
                )}
              </div>
            ) : (
              locales.length > 0 && (
                <p className="muted">The default parts: for people whose locale has no translation (and the translations' empty parts).</p>
              )
            )}
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
            <section className="template-channel" aria-label="In-app message">
              <h2>In-app message</h2>
              <p className="muted">
                Kept by in-app send steps for the person's next visit to the website or app, where the script <code>/in-app.js</code> (or the app, asking{" "}
                <code>/v1/decide</code>) shows it as a banner or a modal, until they click or dismiss it. A title, a body or both; the button opens the link. Plain
                text, and no <code>unsubscribe_url</code>.
              </p>
              {translation && (
                <p className="muted" data-testid="translation-in-app-where">
                  Where and how it shows are the default's: {draft["in_app.placement"] ? <>the place <code>{draft["in_app.placement"]}</code></> : "any place"}, as a{" "}
                  {draft["in_app.layout"] === "modal" ? "modal" : "banner"}.
                </p>
              )}
              {IN_APP_PARTS.map(field)}
            </section>
          </div>
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
          <ImagePicker onInsert={insert} />
        </form>
        <section className="template-preview" aria-label="Preview">
          <PersonPicker picked={person} onPick={setPerson} />
          {preview.state === "failed" && <ErrorNotice what="The preview could not be made" error={preview.error} onRetry={retryPreview} />}
          {translation ? (
            <p className="preview-locale" data-testid="preview-locale">
              The {localeLabel(locale)} translation, as people whose locale is {locale} get it; its empty parts are the default's.
            </p>
          ) : (
            theirs && (
              <p className="preview-locale" data-testid="preview-locale">
                The default parts. {who}'s locale is {String(personLocale)}: sends to them use the {localeLabel(theirs)} translation (its tab previews it).
              </p>
            )
          )}
          {shown ? (
            <>
              <h2>Email</h2>
              {hasEmail ? (
                <EmailPreview preview={shown} stale={preview.state === "loading"} />
              ) : (
                <p className="muted">No email: this template has no subject, HTML or text, so email send steps cannot use it.</p>
              )}
              <h2>SMS</h2>
              <SmsPreview preview={shown} source={sent("sms")} stale={preview.state === "loading"} />
              <h2>Push notification</h2>
              <PushPreview preview={shown} source={{ title: sent("push.title"), body: sent("push.body") }} who={who} stale={preview.state === "loading"} />
              <h2>In-app message</h2>
              <InAppPreview
                preview={shown}
                source={{ title: sent("in_app.title"), body: sent("in_app.body"), placement: draft["in_app.placement"], layout: draft["in_app.layout"] }}
                who={who}
                stale={preview.state === "loading"}
              />
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
