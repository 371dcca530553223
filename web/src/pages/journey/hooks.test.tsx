// @vitest-environment happy-dom
import { act, renderHook, waitFor } from "@testing-library/react";
import { expect, test } from "vitest";
import type { JourneyDocument } from "../../journey/doc";
import { mockApi } from "../../test/api";
import { useValidation } from "./hooks";

const doc = (name: string): JourneyDocument => ({ id: "j", name, entry: { event: "A" }, steps: [] });
const warning = { path: "/entry/event", code: "unseen_event", severity: "warning", message: "no event named \"A\" has been seen yet" };

test("the validator's answer keeps the same diagnostics array when they did not change, so nothing is redrawn for it", async () => {
  let answer: unknown[] = [warning];
  mockApi({ "POST /api/journeys/validate": () => ({ valid: true, diagnostics: answer }) });
  const first = doc("one");
  const { result } = renderHook(({ d }) => useValidation(d, false), { initialProps: { d: first } });
  await waitFor(() => expect(result.current.checked?.doc).toBe(first));
  const shown = result.current.checked?.diagnostics;
  expect(shown).toEqual([warning]);

  // Another document, the same findings (a new array from the server): the old array stays.
  const second = doc("two");
  act(() => result.current.start(second));
  await waitFor(() => expect(result.current.checked?.doc).toBe(second));
  expect(result.current.checked?.diagnostics).toBe(shown);

  // Different findings: the new ones.
  answer = [];
  const third = doc("three");
  act(() => result.current.start(third));
  await waitFor(() => expect(result.current.checked?.doc).toBe(third));
  expect(result.current.checked?.diagnostics).toEqual([]);
  expect(result.current.checked?.diagnostics).not.toBe(shown);
});
