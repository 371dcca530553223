// The signed-in session for the pages (App provides it), and what its role may do.
import { createContext, useContext } from "react";
import { may, type Role, type Session } from "./session";

/** The signed-in session: who, with which role (pages hide what the role may not do). */
export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session | null {
  return useContext(SessionContext);
}

/** The sentence next to a control the role may not use. */
export const VIEWERS_CANNOT = "viewers cannot change this";

/**
 * Whether the signed-in role may do what needs `needs`. With no session known (a page rendered
 * on its own, as component tests do) nothing is hidden: the server decides anyway.
 */
export function useMay(needs: Role): boolean {
  const session = useSession();
  return session === null || may(session.role, needs);
}
