// The repository's examples are what the canvas is tested on: make sure they are all here.
import { expect, test } from "vitest";
import { EXAMPLES } from "../examples";

test("every example journey in examples/ is read", () => {
  expect(EXAMPLES.map((e) => e.file)).toEqual(["abandoned-cart.json", "consultation.json", "trial-onboarding.json", "win-back.json"]);
});
