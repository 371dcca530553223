// Sessions for component tests: a page rendered as a given role.
import type { ReactElement } from "react";
import { SessionContext } from "../auth/context";
import type { Role, Session } from "../auth/session";

export const userOf = (id: number, email: string, role: Role) => ({
  id,
  email,
  name: email.split("@")[0],
  role,
  created_at: "2030-01-01T00:00:00Z",
  updated_at: "2030-01-01T00:00:00Z",
});

export function sessionAs(role: Role, email = `${role}@acme.test`): Session {
  return { actor: `user:${email}`, role, user: userOf(1, email, role), csrf_token: null };
}

/** The admin token: an admin with no user. */
export const adminToken: Session = { actor: "admin token", role: "admin", user: null, csrf_token: null };

export function withSession(session: Session, ui: ReactElement) {
  return <SessionContext.Provider value={session}>{ui}</SessionContext.Provider>;
}
