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
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const mock = process.env.WAYFARER_MOCK_API === "1";
const servesItself = mock && !process.env.WAYFARER_URL;
let base = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? (mock ? "wf_smoke" : "");
const journeyId = process.env.WAYFARER_JOURNEY ?? "consultation";
const expected = process.env.WAYFARER_EXPECT ?? (journeyId === "consultation" ? "Email: consultation-invite" : undefined);
const shots = process.env.SCREENSHOTS ?? fileURLToPath(new URL("./screenshots/", import.meta.url));
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

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
    if (request.method() === "GET" && path === "/api/journeys") {
      return json(200, {
        journeys: journeys.map((d) => ({ id: d.id, name: d.name ?? d.id, status: "published", state: "active", published_version: 1, updated_at: at, waiting: 0, entered_7d: 0, converted_7d: 0 })),
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

let context;
let profile;
let preview;
const outside = [];
const pageErrors = [];

/** Against a real server with no journey yet: the consultation example and its templates, published. */
async function seed() {
  const api = (method, path, body) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const listed = await (await api("GET", "/api/journeys")).json();
  if (listed.journeys.some((j) => j.id === journeyId) || journeyId !== "consultation") return;
  for (const t of ["consultation-invite", "consultation-reminder"]) {
    const r = await api("PUT", `/api/templates/${t}`, { subject: "Hi {{ traits.firstName | default: \"there\" }}", text: "Book a free consultation." });
    assert.equal(r.status, 200, `template ${t}: ${await r.text()}`);
  }
  const doc = examples().find((d) => d.id === "consultation");
  assert.equal((await api("POST", "/api/journeys", doc)).status, 201);
  const published = await api("POST", "/api/journeys/consultation/publish");
  assert.equal(published.status, 200, await published.text());
}

before(async () => {
  if (!mock) await seed();
  if (servesItself) {
    const vite = await import("vite");
    preview = await vite.preview({ root: fileURLToPath(new URL("..", import.meta.url)), logLevel: "warn", preview: { host: "127.0.0.1", port: 4173 } });
    base = preview.resolvedUrls.local[0].replace(/\/$/, "");
  }
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "wayfarer-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 800 },
  });
  await context.addInitScript((t) => {
    if (t) localStorage.setItem("wayfarer.token", t);
  }, token);
  context.on("request", (r) => {
    const url = new URL(r.url());
    if (!["data:", "blob:"].includes(url.protocol) && url.origin !== new URL(base).origin) outside.push(r.url());
  });
  context.on("weberror", (e) => pageErrors.push(String(e.error())));
});

after(async () => {
  await context?.close();
  await preview?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function newPage(journeys) {
  const page = context.pages()[0] ?? (await context.newPage());
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
  await page.screenshot({ path: join(shots, "journeys.png") });
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
  await page.screenshot({ path: join(shots, "journey.png") });
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
  await page.screenshot({ path: join(shots, "journeys-empty.png"), fullPage: true });
});

test("the page made no request elsewhere and threw no error", () => {
  assert.deepEqual(outside, []);
  assert.deepEqual(pageErrors, []);
});
