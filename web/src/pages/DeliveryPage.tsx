import { useId, useState } from "react";
import { apiGet, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { usePaged } from "../api/usePaged";
import { MessageItem } from "../people/Timeline";
import "../people/people.css";
import { ErrorNotice } from "../ui/ErrorNotice";
import { formatDateAndTime } from "../ui/format";
import { ListFoot } from "../ui/ListFoot";
import { useTitle } from "../ui/useTitle";

/** Messages a page. */
export const MESSAGES_PAGE = 50;

type Status = Schemas["MessageStatus"] | "all";

const STATUSES: { value: Status; label: string }[] = [
  { value: "failed", label: "Failed" },
  { value: "pending", label: "Waiting" },
  { value: "sent", label: "Sent" },
  { value: "captured", label: "Captured (not delivered)" },
  { value: "suppressed", label: "Suppressed (consent)" },
  { value: "all", label: "All" },
];

/** "At most 10 a second", or that there is no limit. */
export function rateText(rate: number): string {
  return rate > 0 ? `at most ${rate} a second` : "no limit";
}

function Channels() {
  const [channels, reload] = useApi("channels", (signal) => apiGet("/api/channels", { signal }));
  return (
    <section className="panel settings-section" aria-labelledby="channels-title">
      <div className="page-head">
        <h2 id="channels-title">Channels</h2>
        <button type="button" className="button button-small" onClick={reload}>
          Refresh
        </button>
      </div>
      <p className="muted">
        Each channel sends from a queue of its own, so a slow provider never holds up another. Limits are set in the configuration (
        <code>[smtp]</code>, <code>[sms]</code>, <code>[push]</code>, <code>[webhook]</code>: <code>concurrency</code>, <code>rate_per_sec</code>; <code>[delivery]</code>:{" "}
        <code>email_cap</code>, <code>email_cap_within</code>, <code>cap</code>, <code>cap_within</code>, and <code>in_app_ttl</code>, how long an in-app message
        waits for its person's next visit).
      </p>
      {channels.state === "loading" && (
        <p className="muted" role="status">
          Loading…
        </p>
      )}
      {channels.state === "failed" && <ErrorNotice what="The channels could not be listed" error={channels.error} onRetry={reload} />}
      {channels.state === "ready" && (
        <table className="table" aria-labelledby="channels-title">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Sends to</th>
              <th scope="col">At once</th>
              <th scope="col">Rate</th>
              <th scope="col">Waiting</th>
              <th scope="col">Frequency cap</th>
            </tr>
          </thead>
          <tbody>
            {channels.data.channels.map((c) => (
              <tr key={c.name}>
                <th scope="row">{c.name}</th>
                <td>{c.detail}</td>
                <td>{c.concurrency}</td>
                <td>{rateText(c.rate_per_sec)}</td>
                <td>{c.pending}</td>
                <td>{c.frequency_cap ?? "none"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Messages() {
  const selectId = useId();
  const [status, setStatus] = useState<Status>("failed");
  const [generation, setGeneration] = useState(0);
  const list = usePaged(`messages:${status}:${generation}`, async (cursor, signal) => {
    const query = { limit: MESSAGES_PAGE, cursor, ...(status === "all" ? {} : { status }) };
    const page = await apiGet("/api/messages", { query, signal });
    return { items: page.messages, next: page.next_cursor ?? null };
  });
  const label = STATUSES.find((s) => s.value === status)?.label.toLowerCase() ?? status;
  return (
    <section className="panel settings-section" aria-labelledby="messages-title">
      <h2 id="messages-title">Messages</h2>
      <p className="muted">
        A message that failed for good (a permanent error, or its retries used up) stays here until it is sent again: Retry sends it once more
        with the same idempotency key.
      </p>
      <div className="field">
        <label htmlFor={selectId}>Show</label>
        <select id={selectId} value={status} onChange={(e) => setStatus(e.target.value as Status)}>
          {STATUSES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading…
        </p>
      )}
      {list.state === "failed" && list.error && <ErrorNotice what="Messages could not be listed" error={list.error} onRetry={list.reload} />}
      {list.state === "ready" &&
        (list.items.length === 0 ? (
          <p>{status === "all" ? "No message yet." : `No ${label} message.`}</p>
        ) : (
          <>
            <ol className="timeline-items" aria-label="Messages">
              {list.items.map((m) => (
                <li key={m.id} className="timeline-item" data-kind="message">
                  <time dateTime={m.updated_at} title={m.updated_at}>
                    {formatDateAndTime(m.updated_at).map((part) => (
                      <span key={part}>{part}</span>
                    ))}
                  </time>
                  <div className="timeline-body">
                    <MessageItem message={m} person onRetried={() => setGeneration((g) => g + 1)} />
                  </div>
                </li>
              ))}
            </ol>
            <ListFoot list={list} one="message" many="messages" />
          </>
        ))}
    </section>
  );
}

/** Delivery: each channel's queue, and the messages, failed ones first, with Retry. */
export function DeliveryPage() {
  useTitle("Delivery");
  return (
    <div className="page">
      <div className="page-head">
        <h1>Delivery</h1>
      </div>
      <Channels />
      <Messages />
    </div>
  );
}
