// What the journey page keeps up to date: the validator's diagnostics for the document being
// edited, live counts, the server's clock, the names the data has and the templates.
import { useCallback, useEffect, useRef, useState } from "react";
import { flushSync } from "react-dom";
import { ApiError, apiGet, apiPostOffThread, type Schemas } from "../../api/client";
import type { JourneyDocument } from "../../journey/doc";
import { deepEqual } from "../../journey/json";

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

export interface Checked {
  /** The document these diagnostics are of. */
  doc: JourneyDocument;
  diagnostics: Schemas["Diagnostic"][];
  valid: boolean;
}

/**
 * The server's validator on the document as it is edited: at once after an operation, ~300 ms
 * after the last keystroke while typing. The validator is the server's (the one the API and the
 * CLI use), never a copy. `start` sends a document at once, before it is even drawn: the
 * server checks it while the browser lays it out.
 */
export function useValidation(
  doc: JourneyDocument | undefined,
  typing: boolean,
): { checked?: Checked; error?: ApiError; pending: boolean; start: (doc: JourneyDocument) => void } {
  const [checked, setChecked] = useState<Checked>();
  const [error, setError] = useState<ApiError>();
  const inflight = useRef<{ doc: JourneyDocument; controller: AbortController }>(undefined);
  const start = useCallback((d: JourneyDocument) => {
    if (inflight.current?.doc === d) return;
    inflight.current?.controller.abort();
    const controller = new AbortController();
    inflight.current = { doc: d, controller };
    apiPostOffThread("/api/journeys/validate", d as unknown as Schemas["JourneyDocument"], { signal: controller.signal }).then(
      (v) => {
        // Drawn at once, not in a later task: the page is waiting for it. The same diagnostics
        // as before stay the same array: the canvas then has nothing to redraw.
        flushSync(() => {
          setChecked((old) => ({ doc: d, diagnostics: old && deepEqual(old.diagnostics, v.diagnostics) ? old.diagnostics : v.diagnostics, valid: v.valid }));
          setError(undefined);
        });
      },
      (e: unknown) => {
        if (!controller.signal.aborted) setError(asApiError(e));
      },
    );
  }, []);
  useEffect(() => {
    if (doc === undefined || inflight.current?.doc === doc) return;
    const timer = setTimeout(() => start(doc), typing ? 300 : 0);
    return () => clearTimeout(timer);
  }, [doc]);
  useEffect(() => () => inflight.current?.controller.abort(), []);
  return { checked, error, pending: checked?.doc !== doc, start };
}

/** The period of the counts: the last 7 days (the server's default) or from/to (RFC 3339). */
export type Period = { kind: "default" } | { kind: "range"; from: string; to: string };

/** GET /api/journeys/{id}/counts every 2 s while the page is visible; nothing while it is hidden. */
export function useLiveCounts(id: string | undefined, period: Period, every = 2000): { counts?: Schemas["JourneyCounts"]; error?: ApiError } {
  const [counts, setCounts] = useState<Schemas["JourneyCounts"]>();
  const [error, setError] = useState<ApiError>();
  const [visible, setVisible] = useState(() => typeof document === "undefined" || document.visibilityState !== "hidden");
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", onChange);
    return () => document.removeEventListener("visibilitychange", onChange);
  }, []);
  const key = period.kind === "range" ? `${period.from}/${period.to}` : "";
  useEffect(() => setCounts(undefined), [id, key]);
  useEffect(() => {
    if (!id || !visible) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      const query = period.kind === "range" ? { from: period.from, to: period.to } : undefined;
      apiGet("/api/journeys/{id}/counts", { params: { id }, query, signal: controller.signal }).then(
        (c) => {
          setCounts(c);
          setError(undefined);
        },
        (e: unknown) => {
          if (!controller.signal.aborted) setError(asApiError(e));
        },
      ).finally(() => {
        if (!controller.signal.aborted) timer = setTimeout(poll, every);
      });
    };
    poll();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [id, key, visible, every]);
  return { counts, error };
}

/** The server's time (a manual clock in tests), as an offset from this browser's; `refresh` asks again. */
export function useServerClock(): { now: () => Date; refresh: () => Promise<Date> } {
  const offset = useRef(0);
  const refresh = async (signal?: AbortSignal) => {
    try {
      const c = await apiGet("/api/clock", { signal });
      offset.current = Date.parse(c.now) - Date.now();
    } catch {
      // The browser's clock, then.
    }
    return new Date(Date.now() + offset.current);
  };
  useEffect(() => {
    const controller = new AbortController();
    void refresh(controller.signal);
    return () => controller.abort();
  }, []);
  return { now: () => new Date(Date.now() + offset.current), refresh: () => refresh() };
}

/** Something loaded once (and again on `reload`), undefined until then or on failure. */
export function useOnce<T>(load: (signal: AbortSignal) => Promise<T>): [T | undefined, () => void, ApiError | undefined] {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (v) => {
        setValue(v);
        setError(undefined);
      },
      (e: unknown) => {
        if (!controller.signal.aborted) setError(asApiError(e));
      },
    );
    return () => controller.abort();
  }, [attempt]);
  return [value, () => setAttempt((n) => n + 1), error];
}
