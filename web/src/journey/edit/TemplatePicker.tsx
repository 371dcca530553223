// Picks a send's template from GET /api/templates, with the message rendered by the server
// (POST /api/template-preview) as a send would, optionally for one person: the email, or the
// SMS text, push notification or in-app message for a send on that channel.
import { useEffect, useId, useState, type ReactNode } from "react";
import { apiGet, apiPost, type ApiError, type Schemas } from "../../api/client";
import { buttonLabel, channelsOf } from "../../content/template";
import { useEditor } from "./context";

type Preview = { state: "idle" } | { state: "loading" } | { state: "ready"; preview: Schemas["Preview"] } | { state: "failed"; error: ApiError };

function Part({ name, part }: { name: string; part: Schemas["PreviewPart"] }) {
  if (part.error) {
    return (
      <p className="ed-error">
        {name} does not render: {part.error}
      </p>
    );
  }
  return null;
}

/** A push notification as it is sent (each part trimmed), or why there is none. */
function PushNotification({ preview, source }: { preview: Schemas["PushPreview"]; source: Schemas["PushContent"] }) {
  const [title, body, link] = [preview.title, preview.body, preview.link].map((p) => (p.rendered ?? "").trim());
  const failed = [preview.title, preview.body, preview.link, preview.image].some((p) => p.error);
  return (
    <>
      <Part name="The push title" part={preview.title} />
      <Part name="The push body" part={preview.body} />
      <Part name="The push link" part={preview.link} />
      <Part name="The push image" part={preview.image} />
      {!failed &&
        (title || body ? (
          <div className="ed-preview-push">
            {title && <strong>{title}</strong>}
            {body && <p>{body}</p>}
            {link && <p className="muted">Opens: {link}</p>}
          </div>
        ) : (
          <p className="ed-hint">
            {(source.title ?? "").trim() || (source.body ?? "").trim() ? "No push notification: its title and body render as nothing here." : "No push notification: the template has no push title or body."}
          </p>
        ))}
    </>
  );
}

/** An in-app message as it is kept (each part trimmed): a banner or a modal, where it shows, or why there is none. */
function InAppMessage({ preview, source }: { preview: Schemas["InAppPreview"]; source: Schemas["InAppContent"] }) {
  const [title, body, button, link] = [preview.title, preview.body, preview.button, preview.link].map((p) => (p.rendered ?? "").trim());
  const failed = [preview.title, preview.body, preview.button, preview.link, preview.image].some((p) => p.error);
  const label = buttonLabel(button, link);
  const placement = (source.placement ?? "").trim();
  return (
    <>
      <Part name="The in-app title" part={preview.title} />
      <Part name="The in-app body" part={preview.body} />
      <Part name="The in-app button label" part={preview.button} />
      <Part name="The in-app link" part={preview.link} />
      <Part name="The in-app image" part={preview.image} />
      {!failed &&
        (title || body ? (
          <div className="ed-preview-push ed-preview-in-app">
            <span className="muted">
              {source.layout === "modal" ? "Modal" : "Banner"}, {placement ? `in the place “${placement}”` : "in any place"}
            </span>
            {title && <strong>{title}</strong>}
            {body && <p>{body}</p>}
            {label && (
              <p className="muted">
                {label} opens: {link}
              </p>
            )}
          </div>
        ) : (
          <p className="ed-hint">
            {(source.title ?? "").trim() || (source.body ?? "").trim() ? "No in-app message: its title and body render as nothing here." : "No in-app message: the template has no in-app title or body."}
          </p>
        ))}
    </>
  );
}

/** What a template lacks when it has nothing to send on a channel. */
const NO_CONTENT: Record<Schemas["Channel"], string> = { email: "no email", sms: "no SMS text", push: "no push notification", in_app: "no in-app message" };

/** A send's channel as the template picker knows it: an unknown one reads as email, the default. */
const asChannel = (channel: string): Schemas["Channel"] => (channel === "sms" || channel === "push" || channel === "in_app" ? channel : "email");

/** A template as the list offers it for a channel: what it says first, or that it has nothing to send on it. */
function optionText(t: Schemas["TemplateView"], channel: Schemas["Channel"]): string {
  if (!channelsOf(t).includes(channel)) return `${t.id} (${NO_CONTENT[channel]})`;
  const first = {
    email: t.subject,
    sms: t.sms.trim(),
    push: (t.push.title ?? "").trim() || (t.push.body ?? "").trim(),
    in_app: (t.in_app.title ?? "").trim() || (t.in_app.body ?? "").trim(),
  }[channel];
  return first ? `${t.id} — ${first.length > 60 ? `${first.slice(0, 60)}…` : first}` : t.id;
}

/**
 * `problems`: the validator's about the template named here (it does not exist, it has nothing
 * for the channel), shown under the list, which is then marked invalid.
 */
export function TemplatePicker({ value, channel: named, onChange, problems }: { value: string; channel: string; onChange: (id: string) => void; problems?: ReactNode }) {
  const { templates, reloadTemplates } = useEditor();
  const channel = asChannel(named);
  const id = useId();
  const [person, setPerson] = useState("");
  const [preview, setPreview] = useState<Preview>({ state: "idle" });
  const chosen = templates?.find((t) => t.id === value);
  // A person by profile id, or by the start of any identity (a user id, an anonymous id).
  const [profileId, setProfileId] = useState<number | undefined>(undefined);
  const [who, setWho] = useState<string>();
  useEffect(() => {
    const q = person.trim();
    setWho(undefined);
    if (q === "") return setProfileId(undefined);
    if (/^\d+$/.test(q)) return setProfileId(Number(q));
    const controller = new AbortController();
    const timer = setTimeout(() => {
      apiGet("/api/profiles", { query: { q, limit: 1 }, signal: controller.signal }).then(
        (page) => {
          const found = page.profiles[0];
          setProfileId(found?.id);
          setWho(found ? `person ${found.id} (${found.identities.map((i) => i.value).join(", ")})` : `nobody has an identity starting with "${q}"`);
        },
        () => undefined,
      );
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [person]);

  useEffect(() => {
    if (!chosen) {
      setPreview({ state: "idle" });
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      setPreview({ state: "loading" });
      // With its translations: the person gets the one of their locale trait, as a send would.
      const { subject, html, text, sms, push, in_app, locales } = chosen;
      const body: Schemas["PreviewRequest"] = { template: { subject, html, text, sms, push, in_app, locales }, ...(profileId !== undefined ? { profile_id: profileId } : {}) };
      apiPost("/api/template-preview", body, { signal: controller.signal }).then(
        (p) => setPreview({ state: "ready", preview: p }),
        (e: ApiError) => !controller.signal.aborted && setPreview({ state: "failed", error: e }),
      );
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [chosen, profileId]);

  // None chosen yet is "Choose a template…", not a template that does not exist.
  const known = value === "" || (templates?.some((t) => t.id === value) ?? true);
  return (
    <div className="ed-template">
      <div className="ed-field">
        <label htmlFor={id}>Template</label>
        <div className="ed-row">
          <select id={id} value={known ? value : `?${value}`} onChange={(e) => onChange(e.target.value)} aria-invalid={problems ? true : undefined}>
            <option value="">Choose a template…</option>
            {!known && <option value={`?${value}`}>{value} (no such template)</option>}
            {(templates ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {optionText(t, channel)}
              </option>
            ))}
          </select>
          <button type="button" className="button button-small" onClick={reloadTemplates} title="List the templates again">
            Reload
          </button>
        </div>
        {problems && <p className="ed-hint">{problems}</p>}
        {templates === undefined && <p className="ed-hint">Loading the templates…</p>}
        {templates?.length === 0 && <p className="ed-hint">No template yet: create one under Content (or PUT /api/templates/&#123;id&#125;).</p>}
      </div>
      {chosen && (
        <div className="ed-preview" aria-label="Preview" role="region">
          <div className="ed-row">
            <label htmlFor={`${id}-person`}>Preview for</label>
            <input id={`${id}-person`} value={person} placeholder="a user id, or nobody" onChange={(e) => setPerson(e.target.value)} />
          </div>
          {who && <p className="ed-hint">{who}</p>}
          {preview.state === "loading" && (
            <p className="muted" role="status">
              Rendering…
            </p>
          )}
          {preview.state === "failed" && <p className="ed-error">The preview failed: {preview.error.message}</p>}
          {preview.state === "ready" && preview.preview.locale && (
            <p className="ed-hint">In the {preview.preview.locale} translation (the person's locale trait).</p>
          )}
          {preview.state === "ready" && channel === "sms" && (
            <>
              <Part name="The SMS text" part={preview.preview.sms} />
              {preview.preview.sms.rendered?.trim() ? (
                <>
                  <pre tabIndex={0} className="ed-preview-text">
                    {preview.preview.sms.rendered.trim()}
                  </pre>
                  <p className="muted">
                    {preview.preview.sms_segments} {preview.preview.sms_segments === 1 ? "part" : "parts"}
                  </p>
                </>
              ) : (
                !preview.preview.sms.error && <p className="ed-hint">{chosen.sms.trim() ? "No SMS: its SMS text renders as nothing here." : "No SMS: the template has no SMS text to send."}</p>
              )}
            </>
          )}
          {preview.state === "ready" && channel === "push" && <PushNotification preview={preview.preview.push} source={chosen.push} />}
          {preview.state === "ready" && channel === "in_app" && <InAppMessage preview={preview.preview.in_app} source={chosen.in_app} />}
          {preview.state === "ready" && channel === "email" && (
            <>
              <p className="ed-subject">
                <span className="muted">Subject:</span> {preview.preview.subject.rendered ?? "—"}
              </p>
              <Part name="The subject" part={preview.preview.subject} />
              <Part name="The HTML" part={preview.preview.html} />
              <Part name="The text" part={preview.preview.text} />
              {preview.preview.html.rendered ? (
                <iframe className="ed-preview-html" title={`Preview of ${chosen.id}`} sandbox="" srcDoc={preview.preview.html.rendered} />
              ) : (
                preview.preview.text.rendered && <pre tabIndex={0} className="ed-preview-text">{preview.preview.text.rendered}</pre>
              )}
            </>
          )}
        </div>
      )}
    </div>
  );
}
