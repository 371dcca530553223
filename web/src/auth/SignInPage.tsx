import { useId, useState, type FormEvent } from "react";
import { signIn, type Session, type SignInProblem } from "./session";

/** The sign-in form: email and password; the server sets an HttpOnly session cookie. */
export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const emailId = useId();
  const passwordId = useId();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<SignInProblem | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const out = await signIn(email, password);
      if ("kind" in out) setProblem(out);
      else onSignedIn(out);
    } catch (err) {
      setProblem({ kind: "other", message: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <form className="signin-form" onSubmit={submit} aria-describedby={problem ? `${emailId}-problem` : undefined}>
        <h1>Sign in to Wayfarer</h1>
        <div className="field">
          <label htmlFor={emailId}>Email</label>
          <input id={emailId} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={passwordId}>Password</label>
          <input
            id={passwordId}
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {problem && (
          <p id={`${emailId}-problem`} className="notice notice-error" role="alert">
            {problem.kind === "credentials" ? "That email and password do not match a user." : problem.message}
          </p>
        )}
        <button className="button button-primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted">
          The first start of the server prints the first admin's email and password. More users: <code>wayfarer users add</code>, or Settings
          once signed in as an admin.
        </p>
      </form>
    </main>
  );
}
