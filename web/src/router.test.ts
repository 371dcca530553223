import { expect, test } from "vitest";
import { match } from "./router";
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
  expect(sectionOf("/people")).toBe("/people");
  expect(sectionOf("/journeysx")).toBe("");
});
