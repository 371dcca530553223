import { useEffect, useState } from "react";
import { ApiError } from "./client";

export type Loadable<T> = { state: "loading" } | { state: "failed"; error: ApiError } | { state: "ready"; data: T };

/**
 * Loads `load` whenever `key` changes (and on `reload`), dropping the answers of earlier keys.
 * Pass a `key` of null to load nothing yet.
 */
export function useApi<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    setResult({ state: "loading" });
    load(controller.signal).then(
      (data) => setResult({ state: "ready", data }),
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setResult({ state: "failed", error: e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)) });
      },
    );
    return () => controller.abort();
    // `load` is a new function on every render: `key` names what it loads.
  }, [key, attempt]);
  return [result, () => setAttempt((n) => n + 1)];
}
