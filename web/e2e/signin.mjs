// Browser test of signing in and of roles, against a running server: Debian's Chromium driven
// by playwright-core, with no token in the page: people sign in with the form. It makes two
// users through the API first (an editor and a viewer) and the consultation journey.
//
//   WAYFARER_URL    the server (default http://127.0.0.1:8420)
//   WAYFARER_TOKEN  its admin token (required: to make the users)
//   WAYFARER_PREVIEW  set to 1 to open web/dist through a `vite preview` (proxying the API to
//                   WAYFARER_URL) even when the server serves its own pages (the UI built before
//                   the server was)
//   SCREENSHOTS     where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Run from web/: node --test e2e/signin.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { apiClient, checkAccessible, example, openBrowser, screenshot, servePages } from "./lib/browser.mjs";

const server = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
/** Where the pages are opened: the server, or a preview in front of it. */
let base = server;
let preview;
const token = process.env.WAYFARER_TOKEN ?? "";
const { api } = apiClient(server, token);
const stamp = Date.now().toString(36);
const viewer = { email: `viewer-${stamp}@acme.test`, name: "Vic Viewer", role: "viewer", password: "a viewer's long password" };
const editor = { email: `editor-${stamp}@acme.test`, name: "Eddie Editor", role: "editor", password: "an editor's long password" };

let browser;

before(async () => {
  assert.ok(token, "WAYFARER_TOKEN is required");
  for (const u of [viewer, editor]) {
    const made = await api("POST", "/api/users", u);
    assert.equal(made.status, 201, JSON.stringify(made.json));
  }
  const journeys = await api("GET", "/api/journeys");
  if (!journeys.json.journeys.some((j) => j.id === "consultation")) {
    for (const t of ["consultation-invite", "consultation-reminder"]) {
      assert.equal((await api("PUT", `/api/templates/${t}`, { subject: "Hi", text: "Book a consultation." })).status, 200);
    }
    assert.equal((await api("POST", "/api/journeys/consultation/apply", { document: example("consultation") })).status, 200);
  }
  ({ base, preview } = await servePages(server, "/journeys", 4179));
  // No token: people sign in with the form.
  browser = await openBrowser({ origin: base });
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

async function signIn(page, who) {
  await page.goto(`${base}/journeys`);
  await page.getByRole("heading", { name: "Sign in to Wayfarer" }).waitFor();
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Journeys", level: 1 }).waitFor();
  await page.getByText(who.email).waitFor();
}

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to Wayfarer" }).waitFor();
}

test("a wrong password is refused with a message, in the page", async () => {
  const page = await browser.page();
  await page.goto(`${base}/`);
  await page.getByRole("heading", { name: "Sign in to Wayfarer" }).waitFor();
  await checkAccessible(page, "the sign-in page");
  await page.getByLabel("Email").fill(viewer.email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That email and password do not match a user.").waitFor();
  await checkAccessible(page, "the sign-in page with its error");
  await screenshot(page, "signin-refused");
});

test("a viewer signs in, sees the journey drawn with nothing to change it with, and the API refuses their changes", async () => {
  const page = await browser.page();
  await signIn(page, viewer);
  await page.goto(`${base}/journeys/consultation`);
  await page.getByText("Read only: viewers cannot change this").first().waitFor();
  await page.locator('.card[data-kind="entry"]').waitFor();
  assert.equal(await page.getByRole("button", { name: /Publish/ }).count(), 0, "no Publish for a viewer");
  assert.equal(await page.getByRole("button", { name: /Save draft/ }).count(), 0, "no Save for a viewer");
  await screenshot(page, "viewer-journey");
  // The journey's results are theirs to read.
  await page.getByRole("navigation", { name: "Journey views" }).getByRole("link", { name: "Results" }).click();
  await page.waitForURL(`${base}/journeys/consultation/results`);
  await page.getByRole("region", { name: "Nobody has entered this journey yet" }).or(page.getByTestId("results-people")).first().waitFor();
  assert.equal(await page.getByRole("alert").count(), 0, "the results load for a viewer");
  await checkAccessible(page, "a journey's results for a viewer");
  // The same session, through the API: the cookie (and its CSRF token) are the viewer's.
  const answer = await page.evaluate(async () => {
    const session = await (await fetch("/api/session")).json();
    const r = await fetch("/api/journeys/consultation/pause", { method: "POST", headers: { "x-csrf-token": session.csrf_token } });
    return { role: session.role, status: r.status, body: await r.json() };
  });
  assert.deepEqual([answer.role, answer.status, answer.body.code], ["viewer", 403, "forbidden"]);
  const noCsrf = await page.evaluate(async () => (await fetch("/api/journeys/consultation/pause", { method: "POST" })).status);
  assert.equal(noCsrf, 403, "a cookie write without the CSRF token is refused");
  await signOut(page);
});

test("an editor signs in and gets the editor; signing out ends the session", async () => {
  const page = await browser.page();
  await signIn(page, editor);
  await page.goto(`${base}/journeys/consultation`);
  await page.getByRole("button", { name: /Publish/ }).first().waitFor();
  await screenshot(page, "editor-journey");
  await signOut(page);
  const after = await page.evaluate(async () => (await fetch("/api/journeys")).status);
  assert.equal(after, 401, "signed out, the API answers 401");
});

test("the page made no request elsewhere and threw no error", () => browser.clean());
