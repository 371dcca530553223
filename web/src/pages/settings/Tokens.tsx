import { useId, useState, type FormEvent } from "react";
import { apiDelete, apiGet, apiPost, type ApiError, type Schemas } from "../../api/client";
import { useApi } from "../../api/useApi";
import { CopyButton } from "../../ui/CopyButton";
import { ErrorNotice } from "../../ui/ErrorNotice";
import { Time } from "../../ui/Time";
import { asApiError, ConfirmDelete } from "./parts";

type Token = Schemas["TokenView"];

function TokenRow({ token, onDeleted }: { token: Token; onDeleted: () => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const remove = () => {
    setBusy(true);
    setError(undefined);
    apiDelete("/api/me/tokens/{id}", { params: { id: token.id } }).then(
      () => {
        setBusy(false);
        setAsking(false);
        onDeleted();
      },
      (e: unknown) => {
        setBusy(false);
        setError(asApiError(e).message);
      },
    );
  };
  return (
    <>
      <tr>
        <td>{token.name}</td>
        <td>
          <Time at={token.created_at} />
        </td>
        <td>{token.last_used_at ? <Time at={token.last_used_at} /> : <span className="muted">never</span>}</td>
        <td>
          <button type="button" className="button button-small" aria-label={`Delete the token ${token.name}`} onClick={() => setAsking(true)}>
            Delete
          </button>
        </td>
      </tr>
      {(asking || error) && (
        <tr className="row-detail">
          <td colSpan={4}>
            {asking && (
              <ConfirmDelete
                question={`Delete the token ${token.name}? What uses it can no longer reach the API.`}
                action={`Yes, delete ${token.name}`}
                busy={busy}
                onConfirm={remove}
                onCancel={() => setAsking(false)}
              />
            )}
            {error && (
              <p className="item-error" role="alert">
                {error}
              </p>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/** The signed-in user's personal API tokens: each secret is shown once, when it is made. */
export function Tokens() {
  const id = useId();
  const [list, reload] = useApi("tokens", (signal) => apiGet("/api/me/tokens", { signal }));
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [created, setCreated] = useState<Schemas["TokenCreated"]>();
  const create = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === "") return;
    setBusy(true);
    setError(undefined);
    setCreated(undefined);
    apiPost("/api/me/tokens", { name: name.trim() }, {}).then(
      // The server answers 201, which the client's answer type (200 only) does not name.
      (token: Schemas["TokenCreated"]) => {
        setBusy(false);
        setName("");
        setCreated(token);
        reload();
      },
      (e: unknown) => {
        setBusy(false);
        setError(asApiError(e));
      },
    );
  };
  return (
    <>
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading your tokens…
        </p>
      )}
      {list.state === "failed" && <ErrorNotice what="Your tokens could not be listed" error={list.error} onRetry={reload} />}
      {list.state === "ready" &&
        (list.data.tokens.length === 0 ? (
          <p className="muted">No tokens yet.</p>
        ) : (
          <table className="table" aria-label="Your API tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.tokens.map((t) => (
                <TokenRow key={t.id} token={t} onDeleted={reload} />
              ))}
            </tbody>
          </table>
        ))}
      {created && (
        <div className="notice" role="status" aria-label="New token">
          <p>
            <strong>Token {created.name}</strong>, shown this once: copy it now.
          </p>
          <span className="inline">
            <code className="write-key" data-testid="new-token">
              {created.token}
            </code>
            <CopyButton text={created.token} label={`Copy the token ${created.name}`} />
          </span>
          <p className="muted">
            For journeys as code: <code>wayfarer journeys apply FILE --token …</code>
          </p>
          <div>
            <button type="button" className="button button-small" onClick={() => setCreated(undefined)}>
              Done, hide it
            </button>
          </div>
        </div>
      )}
      <form className="token-form" onSubmit={create} aria-label="New token">
        <div className="field">
          <label htmlFor={id}>New token's name (what it is for, e.g. ci)</label>
          <input id={id} value={name} maxLength={100} autoComplete="off" onChange={(e) => setName(e.target.value)} />
        </div>
        <button type="submit" className="button button-primary" disabled={busy || name.trim() === ""}>
          {busy ? "Creating…" : "Create token"}
        </button>
      </form>
      {error && (
        <p className="item-error" role="alert">
          {error.message}
        </p>
      )}
    </>
  );
}
