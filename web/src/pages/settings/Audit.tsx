import { useId, useState } from "react";
import { apiGet, type Schemas } from "../../api/client";
import { usePaged } from "../../api/usePaged";
import { ErrorNotice } from "../../ui/ErrorNotice";
import { Time } from "../../ui/Time";
import { compact } from "./password";

type Entry = Schemas["AuditEntryView"];
const PAGE = 50;

function AuditItem({ entry }: { entry: Entry }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  return (
    <li className="audit-entry">
      <div className="inline">
        <Time at={entry.at} />
        <span>{entry.actor}</span>
        <code>{entry.action}</code>
        <span>{entry.target}</span>
        {entry.diff.length > 0 && (
          <button type="button" className="button button-small" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
            {open ? "Hide changes" : `${entry.diff.length} change${entry.diff.length === 1 ? "" : "s"}`}
          </button>
        )}
      </div>
      {open && (
        <ul id={id} className="audit-diff" aria-label={`Changes of ${entry.action} ${entry.target}`}>
          {entry.diff.map((c, i) => (
            <li key={i}>
              <code>{c.path === "" ? "/" : c.path}</code> — <code>{compact("old" in c ? c.old : undefined)}</code> → <code>{compact("new" in c ? c.new : undefined)}</code>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

/** Who changed what and when, newest first, a page at a time. */
export function Audit() {
  const log = usePaged<Entry>("audit", (cursor, signal) =>
    apiGet("/api/audit", { signal, query: { cursor, limit: PAGE } }).then((page) => ({ items: page.entries, next: page.next_cursor ?? null })),
  );
  return (
    <>
      {log.state === "loading" && (
        <p className="muted" role="status">
          Loading the audit log…
        </p>
      )}
      {log.state === "failed" && log.error && <ErrorNotice what="The audit log could not be loaded" error={log.error} onRetry={log.reload} />}
      {log.state === "ready" && log.items.length === 0 && <p className="muted">Nothing changed yet.</p>}
      {log.state === "ready" && log.items.length > 0 && (
        <ul className="audit-list" aria-label="Audit entries">
          {log.items.map((e) => (
            <AuditItem key={e.id} entry={e} />
          ))}
        </ul>
      )}
      {log.state === "ready" && log.more && (
        <div>
          <button type="button" className="button" onClick={log.loadMore} disabled={log.loadingMore}>
            {log.loadingMore ? "Loading…" : "Load older"}
          </button>
        </div>
      )}
      {log.state === "ready" && log.error && <ErrorNotice what="Older entries could not be loaded" error={log.error} onRetry={log.loadMore} />}
    </>
  );
}
