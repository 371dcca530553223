import { useEffect, useId, useState } from "react";
import type { Schemas } from "../api/client";
import { Identities } from "../people/Identities";
import { briefTraits, personName, traitText } from "../people/person";
import { useProfiles } from "../people/useProfiles";
import "../people/people.css";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { useDebounced } from "../ui/useDebounced";
import { useTitle } from "../ui/useTitle";

const PAGE = 50;

function PeopleTable({ people }: { people: Schemas["ProfileSummary"][] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Person</th>
          <th scope="col">Identities</th>
          <th scope="col">Traits</th>
        </tr>
      </thead>
      <tbody>
        {people.map((p) => (
          <tr key={p.id}>
            <td>
              <Link to={`/people/${p.id}`}>{personName(p)}</Link>
            </td>
            <td>
              <Identities identities={p.identities} />
            </td>
            <td>
              <dl className="brief-traits">
                {briefTraits(p.traits).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{traitText(v)}</dd>
                  </div>
                ))}
              </dl>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The search is kept in the address (`/people?q=ali`), so going back to it finds it again. */
function initialQuery(): string {
  return new URLSearchParams(window.location.search).get("q") ?? "";
}

export function PeoplePage() {
  useTitle("People");
  const inputId = useId();
  const [q, setQ] = useState(initialQuery);
  const settled = useDebounced(q.trim(), 250);
  useEffect(() => {
    const url = settled === "" ? window.location.pathname : `${window.location.pathname}?q=${encodeURIComponent(settled)}`;
    window.history.replaceState(window.history.state, "", url);
  }, [settled]);
  const list = useProfiles(settled, PAGE);
  return (
    <div className="page">
      <div className="page-head">
        <h1>People</h1>
      </div>
      <form className="search" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={inputId}>Find a person by the start of a user id or an anonymous id</label>
          <input id={inputId} type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="alice, anon-…" autoComplete="off" spellCheck={false} />
        </div>
      </form>
      {list.state === "loading" && (
        <p className="muted" role="status">
          Looking…
        </p>
      )}
      {list.state === "failed" && list.error && <ErrorNotice what="People could not be listed" error={list.error} onRetry={list.reload} />}
      {list.state === "ready" &&
        (list.items.length === 0 ? (
          <div className="panel">
            <p>{settled === "" ? "Nobody yet: people appear with their first event (see Settings for a source's write key)." : `Nobody has an identity that starts with “${settled}”.`}</p>
          </div>
        ) : (
          <>
            <PeopleTable people={list.items} />
            <div className="list-foot">
              <span className="muted" role="status">
                {list.items.length} {list.items.length === 1 ? "person" : "people"} shown{list.more ? "" : ", that is all"}
              </span>
              {list.more && (
                <button className="button" type="button" onClick={list.loadMore} disabled={list.loadingMore}>
                  {list.loadingMore ? "Loading…" : "Load more"}
                </button>
              )}
            </div>
            {list.error && <ErrorNotice what="The next people could not be loaded" error={list.error} onRetry={list.loadMore} />}
          </>
        ))}
    </div>
  );
}
