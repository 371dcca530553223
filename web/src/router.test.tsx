// @vitest-environment happy-dom
import { renderHook } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import { match, navigate, useLeaveGuard } from "./router";
import { sectionOf } from "./ui/Nav";

test("patterns match paths and decode their parameters", () => {
  expect(match("/journeys/:id", "/journeys/win-back")).toEqual({ id: "win-back" });
  expect(match("/journeys/:id", "/journeys/a%20b/")).toEqual({ id: "a b" });
  expect(match("/journeys/:id", "/journeys")).toBeNull();
  expect(match("/journeys", "/people")).toBeNull();
});

test("a journey's page belongs to Journeys in the navigation", () => {
  expect(sectionOf("/")).toBe("/journeys");
  expect(sectionOf("/journeys/consultation")).toBe("/journeys");
  expect(sectionOf("/journeys/consultation/results")).toBe("/journeys");
  expect(sectionOf("/people")).toBe("/people");
  expect(sectionOf("/journeysx")).toBe("");
  // Computed traits and the lifecycle are tabs of Segments.
  expect(sectionOf("/segments/lapsed")).toBe("/segments");
  expect(sectionOf("/computed-traits")).toBe("/segments");
  expect(sectionOf("/lifecycle")).toBe("/segments");
});

afterEach(() => vi.unstubAllGlobals());

test("while a leave guard is set, navigating asks first and stays on a no; the page's own moves do not ask", () => {
  window.history.replaceState(null, "", "/journeys/+new");
  const confirm = vi.fn(() => false);
  vi.stubGlobal("confirm", confirm);
  const guard = renderHook(({ q }) => useLeaveGuard(q), { initialProps: { q: "Leave without saving?" as string | undefined } });
  navigate("/people");
  expect(confirm).toHaveBeenCalledWith("Leave without saving?");
  expect(window.location.pathname).toBe("/journeys/+new");
  confirm.mockReturnValue(true);
  navigate("/people");
  expect(window.location.pathname).toBe("/people");
  // Forced (saved, so moving on): no question.
  confirm.mockClear();
  navigate("/journeys/a", { force: true });
  expect(confirm).not.toHaveBeenCalled();
  expect(window.location.pathname).toBe("/journeys/a");
  // Nothing to lose any more: no question.
  guard.rerender({ q: undefined });
  navigate("/settings");
  expect(confirm).not.toHaveBeenCalled();
  expect(window.location.pathname).toBe("/settings");
  guard.unmount();
});

test("while a leave guard is set, closing the tab asks (beforeunload is cancelled); not after", () => {
  const guard = renderHook(() => useLeaveGuard("Leave?"));
  const before = new Event("beforeunload", { cancelable: true });
  window.dispatchEvent(before);
  expect(before.defaultPrevented).toBe(true);
  guard.unmount();
  const after = new Event("beforeunload", { cancelable: true });
  window.dispatchEvent(after);
  expect(after.defaultPrevented).toBe(false);
});
