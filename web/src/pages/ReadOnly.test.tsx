// @vitest-environment happy-dom
// A viewer reads everything and changes nothing: the controls they may not use are not there,
// and a note says why.
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi } from "../test/api";
import { message, profile } from "../test/fixtures";
import { sessionAs, withSession } from "../test/session";
import { ContentPage } from "./ContentPage";
import { PersonPage } from "./PersonPage";
import { TemplatePage } from "./TemplatePage";

beforeEach(() => window.history.pushState(null, "", "/"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const welcome: Schemas["TemplateView"] = { id: "welcome", subject: "Hi", html: "<p>Hello</p>", text: "", category: "marketing", sms: "", push: {}, in_app: {}, locales: {}, updated_at: "2030-01-01T00:00:00Z" };
const viewer = sessionAs("viewer");

const NO_ASSETS = { assets: [], next_cursor: null };

test("a viewer sees no New template, no image upload and no Save", async () => {
  mockApi({
    "GET /api/templates": { templates: [welcome], next_cursor: null },
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: [] },
    "GET /api/assets": NO_ASSETS,
  });
  render(withSession(viewer, <ContentPage />));
  expect(await screen.findByText("welcome")).toBeTruthy();
  expect(screen.queryByRole("button", { name: "New template" })).toBeNull();
  // The templates' and the images': a note where each control would be.
  expect(screen.getAllByTitle("viewers cannot change this")).toHaveLength(2);
  expect(screen.queryByLabelText("Upload an image")).toBeNull();
  expect(await screen.findByText("No images yet. An editor uploads them here, or with the API:")).toBeTruthy();
  cleanup();
  render(withSession(viewer, <TemplatePage id="welcome" />));
  expect(await screen.findByTitle("viewers cannot change this")).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Save" })).toBeNull();
});

test("an editor sees New template, the image upload and Save", async () => {
  mockApi({
    "GET /api/templates": { templates: [welcome], next_cursor: null },
    "GET /api/templates/welcome": welcome,
    "GET /api/names": { events: [], traits: [], properties: {}, template_variables: [] },
    "GET /api/assets": NO_ASSETS,
  });
  render(withSession(sessionAs("editor"), <ContentPage />));
  expect(await screen.findByRole("button", { name: "New template" })).toBeTruthy();
  expect(screen.getByLabelText("Upload an image")).toBeTruthy();
  expect(screen.queryByTitle("viewers cannot change this")).toBeNull();
  cleanup();
  render(withSession(sessionAs("editor"), <TemplatePage id="welcome" />));
  expect(await screen.findByRole("button", { name: "Save" })).toBeTruthy();
});

test("a viewer sees a failed message with no Retry", async () => {
  const failed = message({ id: 32, status: "failed", last_error: "550 mailbox unavailable", note: null });
  mockApi({
    "GET /api/profiles/4": profile(),
    "GET /api/profiles/4/journeys": { profile_id: 4, journeys: [] },
    "GET /api/journeys": { journeys: [], next_cursor: null },
    "GET /api/messages": { messages: [failed], next_cursor: null },
  });
  render(withSession(viewer, <PersonPage id="4" />));
  expect(await screen.findByText("550 mailbox unavailable")).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
  expect(screen.getByTitle("viewers cannot change this")).toBeTruthy();
});
