// Whose traits a preview uses: the People search, a few at a time.
import { useId, useState } from "react";
import type { Schemas } from "../api/client";
import { personName } from "../people/person";
import { useProfiles } from "../people/useProfiles";
import { useDebounced } from "../ui/useDebounced";

export function PersonPicker({ picked, onPick }: { picked: Schemas["ProfileSummary"] | null; onPick: (p: Schemas["ProfileSummary"] | null) => void }) {
  const inputId = useId();
  const [q, setQ] = useState("");
  const [open, setOpen] = useState(false);
  const settled = useDebounced(q.trim(), 250);
  const list = useProfiles(open ? settled : null, 8);
  const pick = (p: Schemas["ProfileSummary"] | null) => {
    onPick(p);
    setOpen(false);
    setQ("");
  };
  return (
    <div className="person-picker">
      <div className="person-picker-head">
        <span>
          Preview for <strong>{picked ? personName(picked) : "nobody"}</strong>
          {picked && <span className="muted"> (person {picked.id})</span>}
        </span>
        {!open && (
          <button type="button" className="button button-small" onClick={() => setOpen(true)}>
            {picked ? "Change" : "Pick a person"}
          </button>
        )}
        {!open && picked && (
          <button type="button" className="button button-small" onClick={() => pick(null)}>
            Nobody
          </button>
        )}
      </div>
      {open && (
        <div className="person-picker-search">
          <div className="field">
            <label htmlFor={inputId}>Find a person by the start of a user id or an anonymous id</label>
            <input
              id={inputId}
              type="search"
              value={q}
              autoFocus
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => setQ(e.target.value)}
              onKeyDown={(e) => e.key === "Escape" && setOpen(false)}
            />
          </div>
          {list.state === "loading" && (
            <p className="muted" role="status">
              Looking…
            </p>
          )}
          {list.state === "failed" && list.error && (
            <p className="item-error" role="alert">
              People could not be listed: {list.error.message}
            </p>
          )}
          {list.state === "ready" && (
            <ul className="picker-results" aria-label="People found">
              {list.items.length === 0 && <li className="muted">Nobody found.</li>}
              {list.items.map((p) => (
                <li key={p.id}>
                  <button type="button" className="button button-small" onClick={() => pick(p)}>
                    {personName(p)}
                  </button>{" "}
                  <span className="muted">{p.identities.map((i) => i.value).join(", ")}</span>
                </li>
              ))}
              {list.more && (
                <li>
                  <button type="button" className="button button-small" onClick={list.loadMore} disabled={list.loadingMore}>
                    {list.loadingMore ? "Loading…" : "More people"}
                  </button>
                </li>
              )}
            </ul>
          )}
          <div>
            <button type="button" className="button button-small" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
