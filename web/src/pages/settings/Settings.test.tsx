// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, expect, test, vi } from "vitest";
import type { Schemas } from "../../api/client";
import { mockApi, type MockRequest } from "../../test/api";
import { adminToken, sessionAs, userOf, withSession } from "../../test/session";
import { SettingsPage } from "../SettingsPage";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const ann = userOf(1, "ann@acme.test", "admin");
const bob = userOf(2, "bob@acme.test", "editor");

const entry = (id: number, action: string, diff: Schemas["AuditChange"][] = []): Schemas["AuditEntryView"] => ({
  id,
  at: `2030-01-0${id}T00:00:00Z`,
  actor: "user:ann@acme.test",
  action,
  target: `journey:j${id}`,
  diff,
});

function server(extra: Record<string, unknown> = {}) {
  const users = [ann, bob];
  return mockApi({
    "GET /api/sources": { sources: [], next_cursor: null },
    "GET /api/users": () => ({ users: [...users], next_cursor: null }),
    "POST /api/users": ({ body }: MockRequest) => {
      const u = body as Schemas["NewUser"];
      if (u.password.length < 12) return { __status: 422, body: { code: "weak_password", message: "a password needs at least 12 characters" } };
      const created = { ...userOf(users.length + 1, u.email, u.role), name: u.name ?? u.email.split("@")[0] };
      users.push(created);
      return { __status: 201, body: created };
    },
    "PUT /api/users/1": { __status: 409, body: { code: "conflict", message: "ann@acme.test is the last admin" } },
    "GET /api/me/tokens": { tokens: [] },
    "GET /api/audit": { entries: [], next_cursor: null },
    ...extra,
  });
}

test("an admin sees the users with their roles and the audit log", async () => {
  server({ "GET /api/audit": { entries: [entry(1, "journey.publish")], next_cursor: null } });
  render(withSession(sessionAs("admin", "ann@acme.test"), <SettingsPage />));
  const users = await screen.findByRole("table", { name: "Users" });
  expect(within(users).getByText("bob@acme.test")).toBeTruthy();
  expect((within(users).getByLabelText("Role of bob@acme.test") as HTMLSelectElement).value).toBe("editor");
  const audit = screen.getByRole("region", { name: "Audit log" });
  expect(await within(audit).findByText("journey.publish")).toBeTruthy();
});

test("add a user with a generated password, shown to copy", async () => {
  const { calls } = server();
  const writeText = vi.fn(async () => undefined);
  vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
  render(withSession(sessionAs("admin", "ann@acme.test"), <SettingsPage />));
  await screen.findByRole("table", { name: "Users" });
  fireEvent.click(screen.getByRole("button", { name: "Add user" }));
  const form = screen.getByRole("form", { name: "Add user" });
  fireEvent.change(within(form).getByLabelText("Email"), { target: { value: "cy@acme.test" } });
  fireEvent.change(within(form).getByLabelText("Role"), { target: { value: "viewer" } });
  fireEvent.click(within(form).getByRole("button", { name: "Generate" }));
  const password = within(form).getByLabelText("Password") as HTMLInputElement;
  expect(password.type).toBe("text");
  expect(password.value.length).toBeGreaterThanOrEqual(16);
  fireEvent.click(within(form).getByRole("button", { name: "Copy the password" }));
  expect(writeText).toHaveBeenCalledWith(password.value);
  const generated = password.value;
  fireEvent.click(within(form).getByRole("button", { name: "Add user" }));
  expect(await screen.findByText("cy@acme.test can sign in now.")).toBeTruthy();
  expect(calls.find((c) => c.method === "POST" && c.path === "/api/users")?.body).toEqual({ email: "cy@acme.test", name: null, role: "viewer", password: generated });
  expect(await within(screen.getByRole("table", { name: "Users" })).findByText("cy@acme.test")).toBeTruthy();
  // The password is not shown any more.
  expect(screen.queryByDisplayValue(generated)).toBeNull();
});

test("the last admin's 409 is shown next to the row", async () => {
  server();
  render(withSession(sessionAs("admin", "ann@acme.test"), <SettingsPage />));
  const users = await screen.findByRole("table", { name: "Users" });
  fireEvent.change(within(users).getByLabelText("Role of ann@acme.test"), { target: { value: "editor" } });
  fireEvent.click(within(users).getByRole("button", { name: "Save the role of ann@acme.test" }));
  const alert = await within(users).findByRole("alert");
  expect(alert.textContent).toBe("ann@acme.test is the last admin");
  // Next to ann's row, not bob's.
  expect(alert.closest("tr")?.previousElementSibling?.textContent).toContain("ann@acme.test");
});

test("deleting a user asks once, naming them", async () => {
  const { calls } = server({ "DELETE /api/users/2": () => ({ __status: 204, body: "" }) });
  render(withSession(sessionAs("admin", "ann@acme.test"), <SettingsPage />));
  const users = await screen.findByRole("table", { name: "Users" });
  fireEvent.click(within(users).getByRole("button", { name: "Delete bob@acme.test" }));
  expect(within(users).getByText(/Delete bob@acme.test\? They can no longer sign in/)).toBeTruthy();
  fireEvent.click(within(users).getByRole("button", { name: "Yes, delete bob@acme.test" }));
  await vi.waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/users/2")).toBe(true));
});

test("a token is created and its secret shown once, with the journeys-as-code sentence; deleting asks once", async () => {
  const tokens: Schemas["TokenView"][] = [];
  const { calls } = server({
    "GET /api/me/tokens": () => ({ tokens: [...tokens] }),
    "POST /api/me/tokens": ({ body }: MockRequest) => {
      const t = { id: 7, name: (body as Schemas["NewToken"]).name, created_at: "2030-01-02T00:00:00Z" };
      tokens.push({ ...t, last_used_at: null });
      return { __status: 201, body: { ...t, token: "wft_secret" } };
    },
    "DELETE /api/me/tokens/7": () => {
      tokens.length = 0;
      return { __status: 204, body: "" };
    },
  });
  render(withSession(sessionAs("viewer", "vi@acme.test"), <SettingsPage />));
  const section = screen.getByRole("region", { name: "Your API tokens" });
  expect(await within(section).findByText("No tokens yet.")).toBeTruthy();
  fireEvent.change(within(section).getByLabelText(/New token's name/), { target: { value: "ci" } });
  fireEvent.click(within(section).getByRole("button", { name: "Create token" }));
  expect((await within(section).findByTestId("new-token")).textContent).toBe("wft_secret");
  expect(within(section).getByRole("button", { name: "Copy the token ci" })).toBeTruthy();
  expect(section.textContent).toContain("wayfarer journeys apply FILE --token …");
  const table = await within(section).findByRole("table", { name: "Your API tokens" });
  expect(within(table).getByText("never")).toBeTruthy();
  fireEvent.click(within(section).getByRole("button", { name: "Done, hide it" }));
  expect(within(section).queryByText("wft_secret")).toBeNull();
  fireEvent.click(within(table).getByRole("button", { name: "Delete the token ci" }));
  expect(within(table).getByText(/Delete the token ci\?/)).toBeTruthy();
  fireEvent.click(within(table).getByRole("button", { name: "Yes, delete ci" }));
  expect(await within(section).findByText("No tokens yet.")).toBeTruthy();
  expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(1);
});

test("with the admin token, tokens belong to users", async () => {
  server();
  render(withSession(adminToken, <SettingsPage />));
  const section = screen.getByRole("region", { name: "Your API tokens" });
  expect(section.textContent).toContain("API tokens belong to users");
  expect(within(section).queryByRole("button", { name: "Create token" })).toBeNull();
});

test("the audit log: newest first, Load older with the cursor, each entry's diff", async () => {
  const { calls } = server({
    "GET /api/audit": ({ query }: MockRequest) =>
      query.get("cursor") === "5"
        ? { entries: [entry(1, "template.put")], next_cursor: null }
        : { entries: [entry(3, "user.update", [{ path: "/role", old: "editor", new: "admin" }, { path: "/name", new: { first: "Bo" } }]), entry(2, "journey.publish")], next_cursor: "5" },
  });
  render(withSession(sessionAs("admin"), <SettingsPage />));
  const audit = screen.getByRole("region", { name: "Audit log" });
  const list = await within(audit).findByRole("list", { name: "Audit entries" });
  expect(within(list).getAllByRole("listitem").map((li) => li.querySelector("code")?.textContent)).toEqual(["user.update", "journey.publish"]);
  fireEvent.click(within(list).getByRole("button", { name: "2 changes" }));
  const diff = within(list).getByRole("list", { name: "Changes of user.update journey:j3" });
  const rows = within(diff).getAllByRole("listitem").map((li) => li.textContent);
  expect(rows).toEqual(['/role — "editor" → "admin"', '/name — (none) → {"first":"Bo"}']);
  fireEvent.click(within(audit).getByRole("button", { name: "Load older" }));
  expect(await within(list).findByText("template.put")).toBeTruthy();
  expect(calls.filter((c) => c.path === "/api/audit").map((c) => c.query.get("cursor"))).toEqual([null, "5"]);
  expect(within(audit).queryByRole("button", { name: "Load older" })).toBeNull();
});

test("a viewer sees their role, no users, no audit log and no way to create a source", async () => {
  const { calls } = server();
  render(withSession(sessionAs("viewer", "vi@acme.test"), <SettingsPage />));
  const users = screen.getByRole("region", { name: "Users and roles" });
  expect(users.textContent).toContain("with the role viewer");
  expect(users.textContent).toContain("An admin manages users");
  expect(screen.queryByRole("region", { name: "Audit log" })).toBeNull();
  expect(await screen.findByText("Read only: viewers cannot change this.")).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Create source" })).toBeNull();
  expect(screen.queryByRole("button", { name: "Add user" })).toBeNull();
  expect(calls.some((c) => c.path === "/api/users" || c.path === "/api/audit")).toBe(false);
});
