import { useEffect, useRef, useState } from "react";
import { useApi, type Loadable } from "./useApi";

/** Whether the page is visible (not a hidden tab). */
export function useVisible(): boolean {
  const [visible, setVisible] = useState(() => typeof document === "undefined" || document.visibilityState !== "hidden");
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", onChange);
    return () => document.removeEventListener("visibilitychange", onChange);
  }, []);
  return visible;
}

/**
 * `useApi`, then asked again every `every` ms while the page is visible: each new answer shown
 * in place of the last (no "Loading…" in between, so numbers change without the layout
 * jumping). A failed refresh keeps the last answer and tries again at the next tick.
 */
export function useLive<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>, every: number): [Loadable<T>, () => void] {
  const [first, reload] = useApi(key, load);
  const [fresh, setFresh] = useState<{ of: T; value: T }>();
  const visible = useVisible();
  const loadRef = useRef(load);
  loadRef.current = load;
  const base = first.state === "ready" ? first.data : undefined;
  useEffect(() => {
    if (base === undefined || !visible) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      timer = setTimeout(() => {
        loadRef.current(controller.signal).then(
          (value) => {
            setFresh({ of: base, value });
            tick();
          },
          () => {
            if (!controller.signal.aborted) tick();
          },
        );
      }, every);
    };
    tick();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [base, visible, every]);
  // A refreshed answer counts only for the first answer it followed (not an earlier key's).
  if (base !== undefined && fresh?.of === base) return [{ state: "ready", data: fresh.value }, reload];
  return [first, reload];
}
