// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { App } from "./App";
import { EXAMPLES } from "./examples";

/** A server that wants `token` and has no journeys. */
function server(token: string) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (_: string, init?: RequestInit) =>
      new Headers(init?.headers).get("authorization") === `Bearer ${token}`
        ? new Response(JSON.stringify({ journeys: [] }), { status: 200 })
        : new Response(JSON.stringify({ code: "invalid_admin_token", message: "the admin API needs `Authorization: Bearer <admin token>`" }), { status: 401 }),
    ),
  );
}

beforeEach(() => window.history.pushState(null, "", "/journeys"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

test("without a token: the server's message, and a form for the token; with it, the journeys", async () => {
  server("wf_good");
  render(<App />);
  expect((await screen.findByRole("alert")).textContent).toContain("the admin API needs `Authorization: Bearer <admin token>`");
  fireEvent.change(screen.getByLabelText("Admin token"), { target: { value: "wf_good" } });
  fireEvent.click(screen.getByRole("button", { name: "Use this token" }));
  expect(await screen.findByText("No journeys yet")).toBeTruthy();
  expect(localStorage.getItem("wayfarer.token")).toBe("wf_good");
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
  server("none");
  render(<App />);
  fireEvent.click(screen.getByRole("link", { name: "People" }));
  expect(window.location.pathname).toBe("/people");
  expect(await screen.findByRole("heading", { name: "People", level: 1 })).toBeTruthy();
  expect(screen.getByRole("link", { name: "People" }).getAttribute("aria-current")).toBe("page");
  expect(screen.getByRole("link", { name: "Journeys" }).getAttribute("aria-current")).toBeNull();
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
    "/api/names": { events: [], traits: [], template_variables: [] },
    "/api/templates": { templates: [] },
    "/api/clock": { now: "2030-01-02T00:00:00Z", manual: true },
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
