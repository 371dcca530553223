import { useId, useState, type FormEvent } from "react";
import { setToken, type ApiError } from "../api/client";

/** A bearer token (the admin token, or a personal API token) for engineers who use one instead of signing in. */
function TokenForm({ onSaved }: { onSaved: () => void }) {
  const id = useId();
  const [value, setValue] = useState("");
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim() === "") return;
    setToken(value);
    onSaved();
  };
  return (
    <form className="token-form" onSubmit={save}>
      <div className="field">
        <label htmlFor={id}>Admin token</label>
        <input id={id} type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} placeholder="wf_…" />
      </div>
      <button className="button button-primary" type="submit">
        Use this token
      </button>
    </form>
  );
}

/** An API error as the server words it, next to what failed; a token form when the token is the problem. */
export function ErrorNotice({ what, error, onRetry }: { what: string; error: ApiError; onRetry: () => void }) {
  const tokenProblem = error.code === "invalid_admin_token";
  // The session ended (signed out elsewhere, expired, password changed): sign in again.
  const signedOut = error.code === "not_signed_in";
  return (
    <div className="notice notice-error" role="alert">
      <p>
        <strong>{what}</strong>: {error.message} <code>{error.code}</code>
      </p>
      {signedOut ? (
        <div>
          <button className="button button-primary" type="button" onClick={() => window.location.reload()}>
            Sign in again
          </button>
        </div>
      ) : tokenProblem ? (
        <TokenForm onSaved={onRetry} />
      ) : (
        <div>
          <button className="button" type="button" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
    </div>
  );
}
