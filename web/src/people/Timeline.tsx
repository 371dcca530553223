// The middle of a person's page: events, messages and journey steps, newest first, each
// expandable to its JSON; failed messages can be sent again.
import { useId, useState, type ReactNode } from "react";
import { apiPost, ApiError, type Schemas } from "../api/client";
import type { Paged } from "../api/usePaged";
import { useMay } from "../auth/context";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { formatDateAndTime } from "../ui/format";
import { ReadOnly } from "../ui/ReadOnly";
import { Time } from "../ui/Time";
import { timeline, type TimelineItem, type TimelineKind } from "./timeline";

const KIND_LABEL: Record<TimelineKind, string> = { event: "Events", message: "Messages", step: "Journey steps" };

function Expandable({ title, meta, json, children }: { title: string; meta?: ReactNode; json: unknown; children?: ReactNode }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <>
      <div className="item-head">
        <button type="button" className="disclosure" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
          <span aria-hidden="true" className="disclosure-mark">
            {open ? "▾" : "▸"}
          </span>
          {title}
        </button>
        {meta}
      </div>
      {children}
      {open && (
        <pre tabIndex={0} id={id} className="item-json">
          {JSON.stringify(json, null, 2)}
        </pre>
      )}
    </>
  );
}

/** An event's properties in a few words: "path /products/a". */
function propsBrief(props: Record<string, unknown>): string {
  return Object.entries(props)
    .slice(0, 3)
    .map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

function EventItem({ event }: { event: Schemas["EventView"] }) {
  const brief = propsBrief(event.properties);
  return (
    <Expandable title={event.name} json={event} meta={<span className="muted">{event.type}</span>}>
      {brief && <p className="item-text">{brief}</p>}
    </Expandable>
  );
}

export function messageTitle(m: Schemas["MessageView"]): string {
  if (m.channel === "email") return `Email: ${m.template ?? "(no template)"}`;
  if (m.channel === "sms") return `SMS: ${m.template ?? "(no template)"}`;
  if (m.channel === "push") return `Push: ${m.template ?? "(no template)"}`;
  if (m.channel === "in_app") return `In-app: ${m.template ?? "(no template)"}`;
  if (m.channel === "webhook") return `Webhook: ${m.url ?? ""}`;
  // A task step's: the task as it was put in the inbox (`message.title`, rendered).
  if (m.channel === "task") {
    const title = typeof m.message === "object" && m.message !== null ? (m.message as { title?: unknown }).title : undefined;
    return `Task: ${typeof title === "string" && title !== "" ? title : "(no title)"}`;
  }
  return `${m.channel}: ${m.template ?? m.url ?? ""}`;
}

/** An SMS's text as it was sent (`message.body`), once rendered. */
function smsBody(m: Schemas["MessageView"]): string | undefined {
  if (m.channel !== "sms" || typeof m.message !== "object" || m.message === null) return undefined;
  const body = (m.message as { body?: unknown }).body;
  return typeof body === "string" && body !== "" ? body : undefined;
}

/**
 * What a push notification carried and to how many devices, once known: `message` is
 * `{devices, title, body, link, image}` when it was captured, `{devices, sent, …}` when it was
 * sent (without its text).
 */
function pushShown(m: Schemas["MessageView"]): { devices?: number; title?: string; body?: string } | undefined {
  if (m.channel !== "push" || typeof m.message !== "object" || m.message === null) return undefined;
  const { devices, title, body } = m.message as { devices?: unknown; title?: unknown; body?: unknown };
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return { devices: typeof devices === "number" ? devices : undefined, title: text(title), body: text(body) };
}

/**
 * What an in-app message showed, once kept: `message` is the rendered message `{placement?,
 * layout? ("modal"; a banner says none), title, body, button, link, image}`, empty parts left out.
 */
function inAppShown(m: Schemas["MessageView"]): { placement?: string; modal: boolean; title?: string; body?: string } | undefined {
  if (m.channel !== "in_app" || typeof m.message !== "object" || m.message === null) return undefined;
  const { placement, layout, title, body } = m.message as { placement?: unknown; layout?: unknown; title?: unknown; body?: unknown };
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return { placement: text(placement), modal: layout === "modal", title: text(title), body: text(body) };
}

/** A message: where it went, from which step, its status and error, and Retry when it failed. `person` links to whom it went. */
export function MessageItem({ message, onRetried, person }: { message: Schemas["MessageView"]; onRetried: () => void; person?: boolean }) {
  const [retrying, setRetrying] = useState(false);
  const editor = useMay("editor");
  const [error, setError] = useState<ApiError>();
  const retry = () => {
    setRetrying(true);
    setError(undefined);
    // The route takes no body (the client types a missing body as `never`).
    apiPost("/api/messages/{id}/retry", undefined as never, { params: { id: message.id } }).then(
      () => {
        setRetrying(false);
        onRetried();
      },
      (e: unknown) => {
        setRetrying(false);
        setError(e instanceof ApiError ? e : new ApiError("internal", String(e)));
      },
    );
  };
  const sms = smsBody(message);
  const push = pushShown(message);
  const inApp = inAppShown(message);
  return (
    <Expandable
      title={messageTitle(message)}
      json={message}
      meta={
        <span className={`status status-${message.status}`} title={message.delivered ? "delivered" : undefined}>
          {message.status}
        </span>
      }
    >
      <p className="item-text">
        {person && (
          <>
            <Link to={`/people/${message.profile_id}`}>person {message.profile_id}</Link> ·{" "}
          </>
        )}
        {message.to && <>to {message.to} · </>}
        {push?.devices !== undefined && <>to {push.devices === 1 ? "1 device" : `${push.devices} devices`} · </>}
        {inApp && (
          <>
            {inApp.modal ? "a modal" : "a banner"}
            {inApp.placement ? (
              <>
                {" "}
                in the place <code>{inApp.placement}</code>
              </>
            ) : null}{" "}
            ·{" "}
          </>
        )}
        from <code>{message.node}</code>
        {message.attempts > 1 && <> · {message.attempts} attempts</>}
        {message.next_attempt_at && (
          <>
            {" "}
            · next attempt <Time at={message.next_attempt_at} />
          </>
        )}
      </p>
      {sms && <p className="item-sms">{sms}</p>}
      {(push?.title || push?.body) && (
        <p className="item-sms item-push">
          {push.title && <strong>{push.title}</strong>}
          {push.body && <span>{push.body}</span>}
        </p>
      )}
      {(inApp?.title || inApp?.body) && (
        <p className="item-sms item-push">
          {inApp.title && <strong>{inApp.title}</strong>}
          {inApp.body && <span>{inApp.body}</span>}
        </p>
      )}
      {message.note && <p className="item-text">{message.note}</p>}
      {message.last_error && <p className="item-text item-error">{message.last_error}</p>}
      {message.status === "failed" && (
        <div>
          {editor ? (
            <button type="button" className="button button-small" onClick={retry} disabled={retrying}>
              {retrying ? "Retrying…" : "Retry"}
            </button>
          ) : (
            <ReadOnly />
          )}
        </div>
      )}
      {error && <ErrorNotice what={`Message ${message.id} could not be retried`} error={error} onRetry={retry} />}
    </Expandable>
  );
}

/** A trace line's words and, apart, the comparisons it lists in brackets ("entered on X [a -> true; b -> true]"). */
function splitLine(line: string): [string, string[]] {
  const at = line.indexOf(" [");
  if (at < 0 || !line.endsWith("]")) return [line, []];
  return [line.slice(0, at), line.slice(at + 2, -1).split("; ")];
}

function StepItem({ profileId, run, entry }: { profileId: number; run: Schemas["RunView"]; entry: Schemas["TraceEntry"] }) {
  const [first = "a transition", ...rest] = entry.lines;
  const [words, comparisons] = splitLine(first);
  return (
    <Expandable title={`${run.journey}: ${words}`} json={entry} meta={<Link to={`/people/${profileId}/runs/${run.run_id}`}>Run {run.run_id}</Link>}>
      {comparisons.length + rest.length > 0 && (
        <ul className="item-lines">
          {comparisons.map((c, i) => (
            <li key={`c${i}`}>
              <code>{c}</code>
            </li>
          ))}
          {rest.map((l, i) => (
            <li key={i}>{l}</li>
          ))}
        </ul>
      )}
    </Expandable>
  );
}

function Item({ profileId, item, onRetried }: { profileId: number; item: TimelineItem; onRetried: () => void }) {
  return (
    <li className="timeline-item" data-kind={item.kind}>
      <time dateTime={item.at} title={item.at}>
        {formatDateAndTime(item.at).map((part) => (
          <span key={part}>{part}</span>
        ))}
      </time>
      <div className="timeline-body">
        {item.kind === "event" && <EventItem event={item.event} />}
        {item.kind === "message" && <MessageItem message={item.message} onRetried={onRetried} />}
        {item.kind === "step" && <StepItem profileId={profileId} run={item.run} entry={item.entry} />}
      </div>
    </li>
  );
}

export function Timeline({ profile, messages, onRetried }: { profile: Schemas["ProfileView"]; messages: Paged<Schemas["MessageView"]>; onRetried: () => void }) {
  const [shown, setShown] = useState<Record<TimelineKind, boolean>>({ event: true, message: true, step: true });
  const items = timeline(profile.events, messages.items, profile.journeys).filter((i) => shown[i.kind]);
  return (
    <section className="timeline" aria-label="Timeline">
      <div className="timeline-head">
        <h2>Timeline</h2>
        <fieldset className="filters">
          <legend className="visually-hidden">Show</legend>
          {(Object.keys(KIND_LABEL) as TimelineKind[]).map((k) => (
            <label key={k}>
              <input type="checkbox" checked={shown[k]} onChange={(e) => setShown({ ...shown, [k]: e.target.checked })} /> {KIND_LABEL[k]}
            </label>
          ))}
        </fieldset>
      </div>
      {messages.state === "loading" && (
        <p className="muted" role="status">
          Loading the messages…
        </p>
      )}
      {messages.state === "failed" && messages.error && <ErrorNotice what="The messages could not be loaded" error={messages.error} onRetry={messages.reload} />}
      {items.length === 0 ? (
        <p className="muted">Nothing to show.</p>
      ) : (
        <ol className="timeline-items">
          {items.map((item) => (
            <Item key={item.key} profileId={profile.id} item={item} onRetried={onRetried} />
          ))}
        </ol>
      )}
      <div className="list-foot">
        {profile.events.length >= 200 && <span className="muted">The latest 200 events are shown.</span>}
        {messages.more && (
          <button className="button" type="button" onClick={messages.loadMore} disabled={messages.loadingMore}>
            {messages.loadingMore ? "Loading…" : "Load older messages"}
          </button>
        )}
      </div>
      {messages.state === "ready" && messages.error && <ErrorNotice what="Older messages could not be loaded" error={messages.error} onRetry={messages.loadMore} />}
    </section>
  );
}
