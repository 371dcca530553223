import { useEffect, useRef, useState } from "react";
import { ApiError } from "./client";

/** A page of a list the API answers a page at a time. */
export interface Page<T> {
  items: T[];
  /** The cursor of the next page; null on the last. */
  next: string | null;
}

export interface Paged<T> {
  state: "loading" | "ready" | "failed";
  /** Every item loaded so far, in the API's order. */
  items: T[];
  /** The first page's failure, or the last "load more"'s. */
  error?: ApiError;
  /** There is a next page. */
  more: boolean;
  /** A next page is loading. */
  loadingMore: boolean;
  loadMore: () => void;
  reload: () => void;
  /** Puts `item` first (one just made: an upload), dropping the one loaded already that is `same` as it. */
  prepend: (item: T, same: (a: T, b: T) => boolean) => void;
}

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/**
 * A list loaded a page at a time: the first page whenever `key` changes (null: nothing yet), the
 * next one on `loadMore`, each asked for with the cursor the page before answered.
 */
export function usePaged<T>(key: string | null, load: (cursor: string | undefined, signal: AbortSignal) => Promise<Page<T>>): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [state, setState] = useState<Paged<T>["state"]>("loading");
  const [error, setError] = useState<ApiError>();
  const [next, setNext] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const current = useRef<AbortController | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    current.current = controller;
    setState("loading");
    setItems([]);
    setNext(null);
    setError(undefined);
    setLoadingMore(false);
    loadRef.current(undefined, controller.signal).then(
      (page) => {
        setItems(page.items);
        setNext(page.next);
        setState("ready");
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setError(asApiError(e));
        setState("failed");
      },
    );
    return () => controller.abort();
  }, [key, attempt]);

  const loadMore = () => {
    const controller = current.current;
    if (next === null || loadingMore || !controller) return;
    setLoadingMore(true);
    setError(undefined);
    loadRef.current(next, controller.signal).then(
      (page) => {
        if (controller.signal.aborted) return;
        setItems((before) => [...before, ...page.items]);
        setNext(page.next);
        setLoadingMore(false);
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setError(asApiError(e));
        setLoadingMore(false);
      },
    );
  };

  const prepend = (item: T, same: (a: T, b: T) => boolean) => setItems((before) => [item, ...before.filter((b) => !same(b, item))]);

  return { state, items, error, more: next !== null, loadingMore, loadMore, reload: () => setAttempt((n) => n + 1), prepend };
}
