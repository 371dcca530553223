// Who is signed in: the session the server keeps in an HttpOnly cookie (the page never sees
// it), and the CSRF token every request that changes something must carry.
import type { components } from "../api/schema";

export type Session = components["schemas"]["SessionView"];
export type Role = components["schemas"]["Role"];

let csrf: string | null = null;

/** The CSRF token of the signed-in session, for `X-CSRF-Token` (none with a bearer token). */
export function csrfToken(): string | null {
  return csrf;
}

export function remember(session: Session | null): void {
  csrf = session?.csrf_token ?? null;
}

/** What a role may do: viewers read, editors also change journeys and content, admins also manage users and sources. */
export function may(role: Role, needs: Role): boolean {
  const order: Role[] = ["viewer", "editor", "admin"];
  return order.indexOf(role) >= order.indexOf(needs);
}

export type SignInProblem = { kind: "credentials" | "limited" | "other"; message: string };

async function problem(response: Response): Promise<SignInProblem> {
  let message = `the server answered ${response.status}`;
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === "string") message = body.message;
  } catch {
    // keep the status
  }
  if (response.status === 401) return { kind: "credentials", message };
  if (response.status === 429) {
    const seconds = Number(response.headers.get("retry-after"));
    const wait = Number.isFinite(seconds) && seconds > 0 ? ` Try again in ${Math.ceil(seconds / 60)} minute(s).` : "";
    return { kind: "limited", message: `${message}.${wait}` };
  }
  return { kind: "other", message };
}

/** The current session, or null when nobody is signed in. */
export async function currentSession(headers: Record<string, string>): Promise<Session | null> {
  const response = await fetch("/api/session", { headers: { accept: "application/json", ...headers } });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error((await problem(response)).message);
  return (await response.json()) as Session;
}

export async function signIn(email: string, password: string): Promise<Session | SignInProblem> {
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) return problem(response);
  return (await response.json()) as Session;
}

export async function signOut(): Promise<void> {
  await fetch("/api/session", { method: "DELETE", headers: csrf ? { "x-csrf-token": csrf } : {} });
  remember(null);
}
