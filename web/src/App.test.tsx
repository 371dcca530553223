// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { App } from "./App";
import { EXAMPLES } from "./examples";

/** A server that takes `token` as a bearer token, or ann@acme.test's password (then a session cookie), and has no journeys. */
function server(token: string) {
  let signedIn = false;
  const ann = { id: 1, email: "ann@acme.test", name: "Ann", role: "editor", created_at: "2030-01-01T00:00:00Z", updated_at: "2030-01-01T00:00:00Z" };
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const bearer = new Headers(init?.headers).get("authorization") === `Bearer ${token}`;
    if (url === "/api/session" && init?.method === "POST") {
      const { email, password } = JSON.parse(String(init.body)) as { email: string; password: string };
      if (email !== "ann@acme.test" || password !== "correct horse battery") {
        return json(401, { code: "invalid_credentials", message: "the email or the password is wrong" });
      }
      signedIn = true;
      return json(200, { user: ann, actor: "user:ann@acme.test", role: "editor", csrf_token: "c5rf" });
    }
    if (url === "/api/session") {
      if (bearer) return json(200, { user: null, actor: "admin token", role: "admin", csrf_token: null });
      if (signedIn) return json(200, { user: ann, actor: "user:ann@acme.test", role: "editor", csrf_token: "c5rf" });
      return json(401, { code: "not_signed_in", message: "sign in first" });
    }
    if (bearer || signedIn) return json(200, { journeys: [] });
    return json(401, { code: "not_signed_in", message: "sign in first" });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

beforeEach(() => window.history.pushState(null, "", "/journeys"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

test("signed out: the sign-in form; a wrong password says so; signed in, the journeys and who you are", async () => {
  server("wf_good");
  render(<App />);
  expect(await screen.findByRole("heading", { name: "Sign in to Wayfarer" })).toBeTruthy();
  fireEvent.change(screen.getByLabelText("Email"), { target: { value: "ann@acme.test" } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "wrong" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect((await screen.findByRole("alert")).textContent).toContain("That email and password do not match a user.");
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "correct horse battery" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByText("No journeys yet")).toBeTruthy();
  expect(screen.getByText("ann@acme.test")).toBeTruthy();
  expect(screen.getByRole("button", { name: "Sign out" })).toBeTruthy();
});

test("signed in with the cookie, what changes something carries the session's CSRF token", async () => {
  const fetch = server("wf_good");
  render(<App />);
  fireEvent.change(await screen.findByLabelText("Email"), { target: { value: "ann@acme.test" } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "correct horse battery" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
  await screen.findByText("No journeys yet");
  const { apiPost } = await import("./api/client");
  await apiPost("/api/journeys/validate", { id: "x" } as never, {}).catch(() => undefined);
  const [, init] = fetch.mock.calls[fetch.mock.calls.length - 1];
  expect(new Headers(init?.headers).get("x-csrf-token")).toBe("c5rf");
});

test("the empty journeys page names the example journeys and shows how to send a first event", async () => {
  localStorage.setItem("wayfarer.token", "wf_good");
  server("wf_good");
  render(<App />);
  expect(await screen.findByText("Invite engaged visitors to a free consultation")).toBeTruthy();
  expect(screen.getByText("Win back customers who stopped ordering")).toBeTruthy();
  expect(screen.getByText(/analytics\.page\(/)).toBeTruthy();
});

test("the navigation moves between sections without a page load, and marks where you are", async () => {
  localStorage.setItem("wayfarer.token", "wf_good");
  server("wf_good");
  render(<App />);
  fireEvent.click(await screen.findByRole("link", { name: "People" }));
  expect(window.location.pathname).toBe("/people");
  expect(await screen.findByRole("heading", { name: "People", level: 1 })).toBeTruthy();
  expect(screen.getByRole("link", { name: "People" }).getAttribute("aria-current")).toBe("page");
  expect(screen.getByRole("link", { name: "Journeys" }).getAttribute("aria-current")).toBeNull();
  // The tasks inbox is a section of its own.
  const nav = screen.getByRole("navigation", { name: "Main" });
  expect([...nav.querySelectorAll("a")].map((a) => a.textContent)).toEqual(["Journeys", "People", "Segments", "Tasks", "Content", "Delivery", "Settings"]);
  fireEvent.click(screen.getByRole("link", { name: "Tasks" }));
  expect(window.location.pathname).toBe("/tasks");
  expect(await screen.findByRole("heading", { name: "Tasks", level: 1 })).toBeTruthy();
  expect(screen.getByRole("link", { name: "Tasks" }).getAttribute("aria-current")).toBe("page");
});

test("a journey's page: its draft in the editor, the live version, the validator's findings on the canvas", { timeout: 20000 }, async () => {
  const doc = EXAMPLES.find((e) => e.file === "consultation.json")?.doc;
  const draft = { ...doc, name: "A newer name" };
  const view = { id: "consultation", status: "published", state: "paused", published_version: 2, draft, published: { version: 2, document: doc, published_at: "2030-01-01T00:00:00Z" }, updated_at: "2030-01-02T00:00:00Z" };
  const answers: Record<string, unknown> = {
    "/api/journeys/validate": { valid: true, diagnostics: [{ node: "booked", path: "/steps/1", code: "unseen_event", severity: "warning", message: "never seen" }] },
    "/api/journeys/consultation": view,
    "/api/journeys/consultation/versions": { versions: [view.published] },
    "/api/journeys/consultation/counts": { journey: "consultation", from: "", to: "", nodes: {} },
    "/api/names": { events: [], traits: [], properties: {}, template_variables: [] },
    "/api/templates": { templates: [], next_cursor: null },
    "/api/clock": { now: "2030-01-02T00:00:00Z", manual: true },
    "/api/session": { user: null, actor: "admin token", role: "admin", csrf_token: null },
  };
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const path = url.split("?")[0];
      return path in answers ? new Response(JSON.stringify(answers[path])) : new Response(JSON.stringify({ code: "not_found", message: path }), { status: 404 });
    }),
  );
  window.history.pushState(null, "", "/journeys/consultation");
  render(<App />);
  expect(await screen.findByRole("heading", { name: "A newer name", level: 1 }, { timeout: 15000 })).toBeTruthy();
  expect(screen.getByText("live: version 2")).toBeTruthy();
  expect(screen.getByText("paused")).toBeTruthy();
  expect(await screen.findByRole("button", { name: "Problems: 1 warning" }, { timeout: 5000 })).toBeTruthy();
  expect(await screen.findByText("Email: consultation-invite", undefined, { timeout: 5000 })).toBeTruthy();
  expect(screen.getByRole("img", { name: "1 warning: warning: never seen" })).toBeTruthy();
  expect(screen.getByRole("button", { name: "Resume" })).toBeTruthy();
});

test("a viewer sees a journey drawn, and nothing to change it with", { timeout: 20000 }, async () => {
  const doc = EXAMPLES.find((e) => e.file === "consultation.json")?.doc;
  const view = { id: "consultation", status: "published", state: "active", published_version: 1, draft: doc, published: { version: 1, document: doc, published_at: "2030-01-01T00:00:00Z" }, updated_at: "2030-01-02T00:00:00Z" };
  const answers: Record<string, unknown> = {
    "/api/journeys/consultation": view,
    "/api/session": { user: { id: 2, email: "vic@acme.test", name: "Vic", role: "viewer", created_at: "", updated_at: "" }, actor: "user:vic@acme.test", role: "viewer", csrf_token: "x" },
  };
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const path = url.split("?")[0];
      return path in answers ? new Response(JSON.stringify(answers[path])) : new Response(JSON.stringify({ code: "not_found", message: path }), { status: 404 });
    }),
  );
  window.history.pushState(null, "", "/journeys/consultation");
  render(<App />);
  expect(await screen.findByText("Email: consultation-invite", undefined, { timeout: 15000 })).toBeTruthy();
  expect(screen.getByText(/Read only: viewers cannot change this/)).toBeTruthy();
  expect(screen.queryByRole("button", { name: /Publish/ })).toBeNull();
  expect(screen.queryByRole("button", { name: /Save draft/ })).toBeNull();
});
