// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import { mockApi, type MockRequest } from "../test/api";
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
    "GET /api/sources": () => ({ sources }),
    "POST /api/sources": ({ body }: MockRequest) => {
      const { id } = body as Schemas["NewSource"];
      if (sources.some((s) => s.id === id)) return { __status: 409, body: { code: "conflict", message: `source ${id} exists` } };
      const created = { id, write_key: `wk_${id}`, created_at: "2030-01-02T00:00:00Z" };
      sources.push(created);
      return { __status: 201, body: created };
    },
  });
  render(<SettingsPage />);
  const table = await screen.findByRole("table");
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
  expect((await screen.findByRole("alert")).textContent).toBe("source website exists");
  fireEvent.change(id, { target: { value: "Mobile App" } });
  fireEvent.click(screen.getByRole("button", { name: "Create source" }));
  expect(screen.getByRole("alert").textContent).toContain("1-100 characters of a-z");
  fireEvent.change(id, { target: { value: "ios" } });
  fireEvent.click(screen.getByRole("button", { name: "Create source" }));
  expect(await within(screen.getByRole("table")).findByText("wk_ios")).toBeTruthy();
  // The snippet now shows the new source's key, and another can be picked.
  expect(screen.getByTestId("segment-snippet").textContent).toContain('writeKey: "wk_ios"');
  fireEvent.change(screen.getByLabelText("with the key of"), { target: { value: "website" } });
  expect(screen.getByTestId("segment-snippet").textContent).toContain('writeKey: "wk_website_123"');
});

test("users and roles and the audit log say they come with sign-in, with no made-up data", async () => {
  mockApi({ "GET /api/sources": { sources: [] } });
  render(<SettingsPage />);
  expect(await screen.findByText("No sources yet: create one to get a write key.")).toBeTruthy();
  const users = screen.getByRole("region", { name: "Users and roles" });
  expect(users.textContent).toContain("Comes with sign-in");
  expect(within(users).queryByRole("table")).toBeNull();
  expect(screen.getByRole("region", { name: "Audit log" }).textContent).toContain("Comes with sign-in");
});

test("an error listing the sources is said with the server's message", async () => {
  mockApi({ "GET /api/sources": { __status: 401, body: { code: "invalid_admin_token", message: "the admin token is not valid" } } });
  render(<SettingsPage />);
  expect((await screen.findByRole("alert")).textContent).toContain("The sources could not be listed: the admin token is not valid");
  expect(screen.getByLabelText("Admin token")).toBeTruthy();
});
