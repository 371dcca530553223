// @vitest-environment happy-dom
import { renderHook, waitFor } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import type { Loadable } from "./useApi";
import { useLive } from "./useLive";

afterEach(() => {
  Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
});

test("loaded once, then asked again every few ms: each answer shown in place, never loading in between; a failed refresh keeps the last", async () => {
  let n = 0;
  const seen: Loadable<number>[] = [];
  const load = () => {
    n += 1;
    // Five at most: the test cannot miss the last.
    return n === 3 ? Promise.reject(new Error("flaky")) : Promise.resolve(Math.min(n, 5));
  };
  const { result, unmount } = renderHook(() => {
    const [live] = useLive("k", load, 30);
    seen.push(live);
    return live;
  });
  await waitFor(() => expect(result.current).toEqual({ state: "ready", data: 5 }));
  // Loading first, then each answer in turn: the third failed, and the second stayed until the fourth came.
  const shown = seen.map((s) => (s.state === "ready" ? s.data : s.state)).filter((v, i, all) => i === 0 || v !== all[i - 1]);
  expect(shown.slice(0, 5)).toEqual(["loading", 1, 2, 4, 5]);
  unmount();
  const after = n;
  await new Promise((r) => setTimeout(r, 60));
  expect(n).toBe(after);
});

test("a hidden page is not asked again until it is visible", async () => {
  Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
  let n = 0;
  const { result } = renderHook(() => useLive("k", () => Promise.resolve(++n), 10)[0]);
  await waitFor(() => expect(result.current).toEqual({ state: "ready", data: 1 }));
  await new Promise((r) => setTimeout(r, 60));
  expect(n).toBe(1);
  Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
  await waitFor(() => expect(n).toBeGreaterThan(1));
});
