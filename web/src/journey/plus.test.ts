import { expect, test } from "vitest";
import { plusPoint } from "./JourneyEdge";

test("an edge's + is halfway along it, or below its label", () => {
  expect(plusPoint({ points: [{ x: 0, y: 0 }, { x: 0, y: 100 }] })).toEqual({ x: 0, y: 50 });
  // A straight labelled edge: the label is on it, not one of its points.
  expect(plusPoint({ points: [{ x: 0, y: 0 }, { x: 0, y: 88 }], label: { x: 0, y: 44 } })).toEqual({ x: 0, y: 66 });
  // A bent one: after the label, along the rest.
  expect(plusPoint({ points: [{ x: 0, y: 0 }, { x: 0, y: 40 }, { x: 100, y: 40 }, { x: 100, y: 200 }], label: { x: 100, y: 40 } })).toEqual({ x: 100, y: 120 });
  expect(plusPoint({ points: [{ x: 0, y: 0 }] })).toBeUndefined();
});
