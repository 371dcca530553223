// Browser smoke test of the web UI: Debian's Chromium driven by playwright-core.
//
//   WAYFARER_URL      the server (default http://127.0.0.1:8420; with WAYFARER_MOCK_API=1, a
//                     `vite preview` of web/dist that this script starts)
//   WAYFARER_TOKEN    the admin token, put in localStorage as the UI keeps it
//   WAYFARER_JOURNEY  the journey page to open (default consultation)
//   WAYFARER_EXPECT   a step's description the canvas must show (default, for consultation:
//                     "Email: consultation-invite")
//   WAYFARER_MOCK_API set to 1 to answer /api/** from ../examples instead of a server (for
//                     trying the UI against `vite preview`)
//   SCREENSHOTS       where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//
// Run from web/: npm run smoke (against a server), npm run smoke:mock (against web/dist, mocked API).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { apiClient, checkAccessible, example, openBrowser, previewDist, screenshot } from "./lib/browser.mjs";

const mock = process.env.WAYFARER_MOCK_API === "1";
const servesItself = mock && !process.env.WAYFARER_URL;
let base = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? (mock ? "wf_smoke" : "");
const journeyId = process.env.WAYFARER_JOURNEY ?? "consultation";
const expected = process.env.WAYFARER_EXPECT ?? (journeyId === "consultation" ? "Email: consultation-invite" : undefined);

/** The example journeys, as the mocked API serves them. */
function examples() {
  const dir = fileURLToPath(new URL("../../examples/", import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
}

/** Answers /api/** like the server would, from the examples. */
async function mockApi(page, { journeys }) {
  const at = "2030-01-01T00:00:00.000Z";
  await page.route(`${base}/api/**`, async (route) => {
    const request = route.request();
    const path = new URL(request.url()).pathname;
    const json = (status, body) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
    if (request.headers().authorization !== `Bearer ${token}`) {
      return json(401, { code: "invalid_admin_token", message: "the admin token is not valid" });
    }
    if (request.method() === "GET" && path === "/api/session") {
      return json(200, { actor: "admin token", role: "admin" });
    }
    if (request.method() === "GET" && path === "/api/journeys") {
      return json(200, {
        journeys: journeys.map((d) => ({ id: d.id, name: d.name ?? d.id, status: "published", state: "active", published_version: 1, updated_at: at, waiting: 0, entered_7d: 0, converted_7d: 0 })),
        next_cursor: null,
      });
    }
    if (request.method() === "POST" && path === "/api/journeys/validate") {
      const doc = request.postDataJSON();
      const waitFor = doc.steps.find((s) => s.type === "wait_for");
      const diagnostics = waitFor
        ? [{ node: waitFor.id, path: "/steps/0/events/0/event", code: "unseen_event", severity: "warning", message: `no event named "${waitFor.events[0].event}" has been seen yet` }]
        : [];
      return json(200, { valid: true, diagnostics });
    }
    const one = path.match(/^\/api\/journeys\/([^/]+)$/);
    const doc = one && journeys.find((d) => d.id === decodeURIComponent(one[1]));
    if (request.method() === "GET" && doc) {
      return json(200, { id: doc.id, status: "published", state: "active", published_version: 1, draft: doc, published: { version: 1, document: doc, published_at: at }, updated_at: at });
    }
    return json(404, { code: "not_found", message: `${request.method()} ${path} not found` });
  });
}

let browser;
let preview;

/** Against a real server with no journey yet: the consultation example and its templates, published. */
async function seed() {
  const { api, ok } = apiClient(base, token);
  const listed = await ok("GET", "/api/journeys");
  if (listed.journeys.some((j) => j.id === journeyId) || journeyId !== "consultation") return;
  for (const t of ["consultation-invite", "consultation-reminder"]) {
    await ok("PUT", `/api/templates/${t}`, { subject: "Hi {{ traits.firstName | default: \"there\" }}", text: "Book a free consultation." });
  }
  assert.equal((await api("POST", "/api/journeys", example("consultation"))).status, 201);
  await ok("POST", "/api/journeys/consultation/publish");
}

before(async () => {
  if (!mock) await seed();
  if (servesItself) {
    // The page's /api calls are answered by mockApi before they would reach the proxy.
    ({ preview, base } = await previewDist(base, 4173));
  }
  browser = await openBrowser({ origin: base, token });
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

async function newPage(journeys) {
  const page = await browser.page();
  if (mock) {
    await page.unrouteAll();
    await mockApi(page, { journeys });
  }
  return page;
}

const journeyRow = (page) => page.locator("tr", { has: page.locator(`code:text-is("${journeyId}")`) });

test("the journeys page lists the journeys", async () => {
  const page = await newPage(examples());
  await page.goto(`${base}/journeys`);
  await page.getByRole("heading", { name: "Journeys", level: 1 }).waitFor();
  await page.locator("table.table, [data-testid=journeys-empty]").first().waitFor();
  if (!(await page.locator("table.table").count())) assert.fail("the journeys page shows no journeys: create one first (examples/)");
  await journeyRow(page).getByRole("link").waitFor();
  await checkAccessible(page, "the journeys page");
  await screenshot(page, "journeys");
});

test("a journey page draws the canvas: the entry and a step's description", async () => {
  const page = await newPage(examples());
  await page.goto(`${base}/journeys`);
  await page.locator("table.table").waitFor();
  // Follow the list's link, as a person would (client-side navigation).
  await journeyRow(page).getByRole("link").click();
  await page.waitForURL(`${base}/journeys/${journeyId}`);
  const entry = page.locator('.card[data-kind="entry"]');
  await entry.waitFor();
  assert.match(await entry.locator(".card-title").innerText(), /^Entry$/);
  const steps = page.locator('.card:not([data-kind="entry"]) .card-text');
  await steps.first().waitFor();
  if (expected) await page.locator(".card-text", { hasText: expected }).first().waitFor();
  else assert.notEqual((await steps.first().innerText()).trim(), "");
  assert.ok((await page.locator(".react-flow__edge").count()) > 0, "the canvas draws edges");
  await checkAccessible(page, "a journey's page");
  await screenshot(page, "journey");
  // Opened directly (the server answers client-side routes with index.html).
  await page.goto(`${base}/journeys/${journeyId}`);
  await entry.waitFor();
});

test("the empty journeys page teaches", { skip: !mock && "needs WAYFARER_MOCK_API=1" }, async () => {
  const page = await newPage([]);
  await page.goto(`${base}/journeys`);
  const empty = page.locator("[data-testid=journeys-empty]");
  await empty.waitFor();
  await empty.getByText("Invite engaged visitors to a free consultation").waitFor();
  await empty.getByText("@segment/analytics-node").first().waitFor();
  await checkAccessible(page, "the empty journeys page");
  await screenshot(page, "journeys-empty", { fullPage: true });
});

test("the page made no request elsewhere and threw no error", () => browser.clean());
