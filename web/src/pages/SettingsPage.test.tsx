// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi, type MockRequest } from "../test/api";
import { adminToken, withSession } from "../test/session";
import { SettingsPage } from "./SettingsPage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const website: Schemas["SourceView"] = { id: "website", write_key: "wk_website_123", created_at: "2030-01-01T00:00:00Z" };

test("sources with their write keys, a copy button, the Segment snippet with the key; a new source", async () => {
  const sources = [website];
  const writeText = vi.fn(async () => undefined);
  vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
  mockApi({
    "GET /api/sources": () => ({ sources, next_cursor: null }),
    "GET /api/users": { users: [], next_cursor: null },
    "GET /api/audit": { entries: [], next_cursor: null },
    "POST /api/sources": ({ body }: MockRequest) => {
      const { id } = body as Schemas["NewSource"];
      if (sources.some((s) => s.id === id)) return { __status: 409, body: { code: "conflict", message: `source ${id} exists` } };
      const created = { id, write_key: `wk_${id}`, created_at: "2030-01-02T00:00:00Z" };
      sources.push(created);
      return { __status: 201, body: created };
    },
  });
  render(withSession(adminToken, <SettingsPage />));
  const table = await screen.findByRole("table", { name: "Sources" });
  expect(within(table).getByText("wk_website_123")).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Copy the write key of website" }));
  expect(writeText).toHaveBeenCalledWith("wk_website_123");
  expect(await screen.findByText("Copied")).toBeTruthy();
  const snippet = screen.getByTestId("segment-snippet").textContent ?? "";
  expect(snippet).toContain('writeKey: "wk_website_123"');
  expect(snippet).toContain(`host: "${window.location.origin}"`);

  const id = screen.getByRole("textbox", { name: /New source/ });
  fireEvent.change(id, { target: { value: "website" } });
  fireEvent.click(screen.getByRole("button", { name: "Create source" }));
  const sourcesRegion = screen.getByRole("region", { name: "Sources and write keys" });
  expect((await within(sourcesRegion).findByRole("alert")).textContent).toBe("source website exists");
  fireEvent.change(id, { target: { value: "Mobile App" } });
  fireEvent.click(screen.getByRole("button", { name: "Create source" }));
  expect(within(sourcesRegion).getByRole("alert").textContent).toContain("1-100 characters of a-z");
  fireEvent.change(id, { target: { value: "ios" } });
  fireEvent.click(screen.getByRole("button", { name: "Create source" }));
  expect(await within(screen.getByRole("table", { name: "Sources" })).findByText("wk_ios")).toBeTruthy();
  // The snippet now shows the new source's key, and another can be picked.
  expect(screen.getByTestId("segment-snippet").textContent).toContain('writeKey: "wk_ios"');
  fireEvent.change(screen.getByLabelText("with the key of"), { target: { value: "website" } });
  expect(screen.getByTestId("segment-snippet").textContent).toContain('writeKey: "wk_website_123"');
});

test("an error listing the sources is said with the server's message", async () => {
  const invalid = { __status: 401, body: { code: "invalid_admin_token", message: "the admin token is not valid" } };
  mockApi({ "GET /api/sources": invalid, "GET /api/users": { users: [], next_cursor: null }, "GET /api/audit": { entries: [], next_cursor: null } });
  render(withSession(adminToken, <SettingsPage />));
  expect((await within(screen.getByRole("region", { name: "Sources and write keys" })).findByRole("alert")).textContent).toContain("The sources could not be listed: the admin token is not valid");
  expect(screen.getByLabelText("Admin token")).toBeTruthy();
});
