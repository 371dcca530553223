// Browser test of in-app messages on a website of another origin, against a running server:
// Debian's Chromium driven by playwright-core. The test serves a shop's page itself (a Node HTTP
// server on a free port) that includes the script the server serves (/in-app.js) with a source's
// write key, a visitor's anonymous id and the place "home" (an element with
// data-wayfarer-placement="home"). It makes, through the admin API, a template with a banner and
// a journey that keeps it for whoever abandons a cart, and one with a modal for whoever checks
// out; then sends the visitor's events (POST /v1/track) while the page is open: the banner
// appears in its place without a reload, its button records a click and leads to the link, the
// modal is a dialog that Escape closes; what the visitor did comes back as events on their
// profile.
//
//   WAYFARER_URL    the server (default http://127.0.0.1:8420)
//   WAYFARER_TOKEN  its admin token (required)
//   SCREENSHOTS     where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Run from web/: node --test e2e/in-app.mjs. The server's testing.manual_clock may be on or off.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { apiClient, checkAccessible, openBrowser, screenshot } from "./lib/browser.mjs";

const server = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? "";
const { api, ok, segment } = apiClient(server, token);

/** A visitor of this run only, so that reruns against the same server start afresh. */
const visitor = `visitor-${Date.now().toString(36)}`;
const sourceId = "site";

let writeKey;
/** The shop's address: http://127.0.0.1:<free port>. */
let site;
let shop;
let browser;

/** A 1×1 PNG: the banner's image, served by the shop. */
const PIXEL = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");

/** A page of the shop: its home page has the place "home" and the script. */
function shopPage(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}

function startShop() {
  const home = () =>
    shopPage(
      "Acme shop",
      `<div data-wayfarer-placement="home"></div><p>Headphones, speakers and more.</p>` +
        `<script src="${server}/in-app.js" data-write-key="${writeKey}" data-placement="home" data-anonymous-id="${visitor}" async></script>`,
    );
  const pages = { "/": home, "/thanks": () => shopPage("Your cart", "<p>Thanks for coming back.</p>"), "/survey": () => shopPage("Survey", "<p>Two questions.</p>") };
  shop = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://shop").pathname;
    if (path === "/offer.png") {
      res.writeHead(200, { "content-type": "image/png" });
      res.end(PIXEL);
    } else if (pages[path]) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(pages[path]());
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  return new Promise((resolve) => shop.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${shop.address().port}`)));
}

/** A journey that sends `template` in the app to whoever sends `event`, published. */
async function inAppJourney(id, event, template) {
  const doc = { id, entry: { event }, steps: [{ id: "show", type: "send", channel: "in_app", template }] };
  const made = await api("POST", "/api/journeys", doc);
  // Made by an earlier run against this server: its draft is replaced.
  if (made.status === 409) await ok("PUT", `/api/journeys/${id}`, doc);
  else assert.equal(made.status, 201, JSON.stringify(made.json));
  await ok("POST", `/api/journeys/${id}/publish`, {});
}

async function seed() {
  // A source (made once per server) and its write key.
  const created = await api("POST", "/api/sources", { id: sourceId });
  if (created.status === 201) writeKey = created.json.write_key;
  else writeKey = (await ok("GET", "/api/sources")).sources.find((s) => s.id === sourceId)?.write_key;
  assert.ok(writeKey, `no write key for source ${sourceId}: ${JSON.stringify(created.json)}`);
  site = await startShop();
  await ok("PUT", "/api/templates/offer", {
    in_app: {
      placement: "home",
      layout: "banner",
      title: "Still thinking about the {{ event.item }}?",
      body: "They are in your cart, at {{ event.price }}.",
      button: "Back to my cart",
      link: `${site}/thanks`,
      image: `${site}/offer.png`,
    },
  });
  await inAppJourney("offer", "Cart Abandoned", "offer");
  await ok("PUT", "/api/templates/survey", {
    in_app: { layout: "modal", title: "How was checkout?", body: "{{ event.items }} items, paid by {{ event.method }}: tell us in a minute.", button: "Take the survey", link: `${site}/survey` },
  });
  await inAppJourney("survey", "Checkout Completed", "survey");
}

/**
 * The visitor's profile once the server has these events in it (polled, 10 s at most): each
 * `[name, journey]`, the journey (of an in-app message's event) left out for any.
 */
async function eventsRecorded(wanted) {
  const has = (events, [name, journey]) => events.some((e) => e.name === name && (journey === undefined || e.properties.journey === journey));
  for (let i = 0; ; i++) {
    const { status, json } = await api("GET", `/api/profiles/lookup?anonymous_id=${visitor}`);
    const events = status === 200 ? json.events : [];
    if (wanted.every((w) => has(events, w))) return json;
    const seen = events.map((e) => `${e.name} (${e.properties.journey ?? "-"})`);
    assert.ok(i < 100, `the visitor's events ${JSON.stringify(seen)} lack some of ${JSON.stringify(wanted)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens the shop's home page; resolves once its script listens to the server's stream. */
async function openHome(p) {
  const listening = p.waitForResponse((r) => r.url().startsWith(`${server}/v1/in-app/stream?`) && r.status() === 200);
  await p.goto(`${site}/`);
  await p.getByRole("heading", { name: "Acme shop", level: 1 }).waitFor();
  await listening;
  // Set on this page only: still there later means the page was not loaded again.
  await p.evaluate(() => void (window.sameVisit = true));
}

before(async () => {
  assert.ok(token, "set WAYFARER_TOKEN to the server's admin token");
  await seed();
  browser = await openBrowser({ origin: site, also: [server] });
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (shop ? shop.close(r) : r()));
});

test("a banner appears live in its place, rendered for the visitor; its button records the click and leads to the link", async () => {
  const p = await browser.page();
  await openHome(p);
  const place = p.locator('[data-wayfarer-placement="home"]');
  assert.equal(await place.locator("[data-wayfarer-message]").count(), 0, "nothing to show before the visitor's event");

  // The visitor leaves a cart: the journey keeps the banner for them, and the open page shows it.
  await segment(writeKey, "track", { anonymousId: visitor, event: "Cart Abandoned", properties: { item: "headphones", price: "$59" } });
  const banner = place.getByRole("region", { name: "Still thinking about the headphones?" });
  await banner.waitFor();
  assert.equal(await p.evaluate(() => window.sameVisit), true, "the banner came without a reload");
  // In the place's element, in a shadow root of its own (the page's styles do not reach it).
  assert.equal(await p.locator('[data-wayfarer-placement="home"] > [data-wayfarer-message]').count(), 1);
  assert.equal(await p.locator("[data-wayfarer-message]").evaluate((host) => host.shadowRoot?.mode), "open");
  await banner.getByText("They are in your cart, at $59.", { exact: true }).waitFor();
  assert.equal(await banner.locator("img").getAttribute("src"), `${site}/offer.png`);
  assert.equal(await banner.locator("img").getAttribute("alt"), "");
  await banner.getByRole("button", { name: "Close" }).waitFor();
  const button = banner.getByRole("button", { name: "Back to my cart" });
  await checkAccessible(p, "a page with an in-app banner");
  await screenshot(p, "in-app-banner");

  await button.click();
  await p.waitForURL(`${site}/thanks`);
  await p.getByRole("heading", { name: "Your cart", level: 1 }).waitFor();
  const profile = await eventsRecorded([["Cart Abandoned"], ["In-App Message Viewed", "offer"], ["In-App Message Clicked", "offer"]]);
  const clicked = profile.events.find((e) => e.name === "In-App Message Clicked");
  assert.equal(clicked.properties.link, `${site}/thanks`);
  assert.equal(clicked.properties.placement, "home");
  assert.equal(clicked.properties.channel, "in_app");
  assert.equal(clicked.properties.journey, "offer");
  assert.equal(clicked.properties.template, "offer");
  // Kept as sent, rendered; once clicked, not offered again.
  const { messages } = await ok("GET", `/api/messages?profile_id=${profile.id}`);
  const kept = messages.find((m) => m.template === "offer");
  assert.equal(kept?.channel, "in_app");
  assert.equal(kept?.status, "sent");
  assert.equal(kept?.message?.title, "Still thinking about the headphones?");
  const decided = await ok("GET", `/v1/decide?placement=home&anonymousId=${visitor}`, undefined, { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` });
  assert.deepEqual(decided.messages, []);
});

test("a modal is a dialog over the page, its button focused; Escape closes it and records the dismissal", async () => {
  const p = await browser.page();
  await openHome(p);
  await segment(writeKey, "track", { anonymousId: visitor, event: "Checkout Completed", properties: { items: 3, method: "card" } });
  const dialog = p.getByRole("dialog", { name: "How was checkout?" });
  await dialog.waitFor();
  assert.equal(await p.evaluate(() => window.sameVisit), true, "the modal came without a reload");
  assert.equal(await dialog.getAttribute("aria-modal"), "true");
  await dialog.getByText("3 items, paid by card: tell us in a minute.", { exact: true }).waitFor();
  const button = dialog.getByRole("button", { name: "Take the survey" });
  assert.equal(await button.evaluate((el) => el.getRootNode().activeElement === el), true, "the dialog's button has the focus");
  // Over the page, not in its place; the banner, clicked, is not shown again.
  assert.equal(await p.locator('[data-wayfarer-placement="home"] [data-wayfarer-message]').count(), 0);
  assert.equal(await p.locator("[data-wayfarer-message]").count(), 1);
  await checkAccessible(p, "a page with an in-app modal");
  await screenshot(p, "in-app-modal");
  // The focus stays in the dialog: Tab and Shift+Tab go round its buttons, never to the page.
  const focused = () => p.evaluate(() => document.querySelector("[data-wayfarer-message]")?.shadowRoot?.activeElement?.textContent ?? null);
  await p.keyboard.press("Tab");
  assert.equal(await focused(), "\u00d7", "Tab goes to Close");
  await p.keyboard.press("Tab");
  assert.equal(await focused(), "Take the survey", "and round again, not to the page behind");
  await p.keyboard.press("Shift+Tab");
  assert.equal(await focused(), "\u00d7");

  await p.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal(await p.locator("[data-wayfarer-message]").count(), 0);
  assert.equal(p.url(), `${site}/`, "Escape stays on the page");
  const profile = await eventsRecorded([["In-App Message Viewed", "survey"], ["In-App Message Dismissed", "survey"]]);
  const dismissed = profile.events.find((e) => e.name === "In-App Message Dismissed");
  assert.equal(dismissed.properties.template, "survey");
  assert.equal(dismissed.properties.channel, "in_app");
  // Each recorded once: the banner seen once, the modal once.
  assert.equal(profile.events.filter((e) => e.name === "In-App Message Viewed").length, 2);
  assert.equal(profile.events.some((e) => e.name === "In-App Message Clicked" && e.properties.journey === "survey"), false);
  await screenshot(p, "in-app-dismissed");
});

test("the pages asked only the shop and the server, and threw no error", () => browser.clean());
