// A tiny client-side router: the path of the location, links that change it without a page
// load, and patterns such as "/journeys/:id". The server answers every client-side route with
// index.html.
import { useLayoutEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const NAVIGATED = "wayfarer:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** What to ask before leaving the page while something would be lost; see `useLeaveGuard`. */
let guard: string | undefined;

/**
 * While `question` is set (changes not saved, say), leaving asks first: a link or `navigate`
 * asks `question` and stays if the answer is no; closing or reloading the tab gets the
 * browser's own "leave site?" question.
 */
export function useLeaveGuard(question: string | undefined): void {
  // A layout effect: the guard changes with the render that shows the change (a click right
  // after "Saved" appears must not be asked about).
  useLayoutEffect(() => {
    if (!question) return;
    guard = question;
    const onUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onUnload);
    return () => {
      if (guard === question) guard = undefined;
      window.removeEventListener("beforeunload", onUnload);
    };
  }, [question]);
}

/** Goes to `to`; asks first while a leave guard is set, unless `force` (the page itself moves on, its work saved). */
export function navigate(to: string, { force = false }: { force?: boolean } = {}): void {
  if (to === window.location.pathname) return;
  if (guard && !force && !window.confirm(guard)) return;
  if (force) guard = undefined;
  window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATED));
  window.scrollTo(0, 0);
}

/** The parameters of `path` if it matches `pattern` ("/journeys/:id"), else null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    if (part.startsWith(":")) params[part.slice(1)] = decodeURIComponent(have[i]);
    else if (part !== have[i]) return null;
  }
  return params;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & { to: string };

export function Link({ to, onClick, ...rest }: LinkProps) {
  const follow = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    // Let the browser open new tabs and windows itself.
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={follow} {...rest} />;
}
