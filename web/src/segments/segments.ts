// Segments as the pages use them: ids as the server takes them, names by id for the words that
// name segments (a journey's cards, a person's page), what a fill says, and the problems a save
// was refused with (a segment's, a computed trait's, the lifecycle's).
import { useEffect, useMemo, useRef, useState } from "react";
import { ApiError, apiGet, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import type { SegmentNames } from "../journey/describe";
import { isObject } from "../journey/json";
import { formatNumber } from "../ui/format";

export type Segment = Schemas["SegmentView"];
export type SegmentDiagnostic = Schemas["Diagnostic"];

/** A segment's id, as the server checks it: 1 to 64 of a-z, 0-9, - and _, starting with a letter or digit. */
export const SEGMENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Id → name. */
export function namesOf(segments: readonly Pick<Segment, "id" | "name">[] | undefined): SegmentNames {
  return Object.fromEntries((segments ?? []).map((s) => [s.id, s.name]));
}

/** What pickers offer: each segment's id and name. */
export const refsOf = (segments: readonly Segment[]): Schemas["SegmentRef"][] => segments.map(({ id, name }) => ({ id, name }));

/** The segments' names by id, loaded once (empty until then, or when they cannot be had: ids are shown). */
export function useSegmentNames(): SegmentNames {
  const [list] = useApi("segments", (signal) => apiGet("/api/segments", { signal }));
  const segments = list.state === "ready" ? list.data.segments : undefined;
  return useMemo(() => namesOf(segments), [segments]);
}

/** "Filling: 200 of 1,000 people" while everyone is evaluated again after a change. */
export function fillText(fill: Schemas["Fill"]): string {
  return `Filling: ${formatNumber(fill.done)} of ${formatNumber(fill.of)} people`;
}

/** "1 person", "1,234 people". */
export function peopleText(n: number): string {
  return `${formatNumber(n)} ${n === 1 ? "person" : "people"}`;
}

/**
 * The problems a save was refused with (a 422 of `code`: `segment_invalid`,
 * `computed_trait_invalid`, `lifecycle_invalid`, each with `details.diagnostics`), or undefined
 * for another failure.
 */
export function refusalProblems(error: ApiError, code: string): SegmentDiagnostic[] | undefined {
  if (error.code !== code) return undefined;
  const d = error.details;
  return isObject(d) && Array.isArray(d.diagnostics) ? (d.diagnostics as SegmentDiagnostic[]) : [];
}

/** The problems a segment's save was refused with (422 `segment_invalid`), or undefined for another failure. */
export const segmentProblems = (error: ApiError) => refusalProblems(error, "segment_invalid");

/** "1 problem", "2 problems". */
export const problemsText = (n: number) => `${n} problem${n === 1 ? "" : "s"}`;

/** Whether `path` is `at` or inside it (JSON pointers: "/stages/1" holds "/stages/1/id", not "/stages/10"). */
export const under = (path: string, at: string) => path === at || path.startsWith(`${at}/`);

/**
 * A condition's structure without its values: problems found in a condition stay shown while
 * values are edited (to fix them), not once conditions are added, removed or moved (their places
 * would name others).
 */
export function shapeOf(value: unknown): string {
  const shape = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(shape);
    if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])]));
    return null;
  };
  return JSON.stringify(shape(value)) ?? "";
}

/**
 * `first` (a page's answer), asked for again with `load` every `every` ms while `again` holds for
 * the latest answer: the latest, shown in place (no "Loading…" in between). A failed refresh
 * keeps the last answer and tries again.
 */
export function useRefreshed<T>(first: T | undefined, load: (signal: AbortSignal) => Promise<T>, again: (latest: T) => boolean, every = 2000): T | undefined {
  const [latest, setLatest] = useState<{ of: T | undefined; value: T }>();
  const [attempt, setAttempt] = useState(0);
  // A new first answer (saved, loaded again) replaces what was refreshed before it.
  const shown = latest !== undefined && latest.of === first ? latest.value : first;
  const wanted = shown !== undefined && again(shown);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    if (!wanted) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      loadRef.current(controller.signal).then(
        (value) => setLatest({ of: first, value }),
        () => {
          if (!controller.signal.aborted) setAttempt((n) => n + 1);
        },
      );
    }, every);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [wanted, shown, attempt, first]);
  return shown;
}
