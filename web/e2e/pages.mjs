// Browser test of People, Content, Delivery and Settings against a running server: Debian's
// Chromium driven by playwright-core. It seeds what it needs through the API first: a source,
// the consultation journey (examples/consultation.json) and its two templates, a person (with a
// phone number, and a device from an event's context.device.token) whose events start a run of
// it, and a journey whose webhook goes to a private address (refused by the SSRF guard unless
// webhook.allow_private is on), for a failed message. A template with SMS text only, one with a
// push notification only and one with an in-app message only are made in the editor, and a French
// translation of another. A journey with a task step puts a task in the inbox for a lead of this
// run, which the Tasks page completes. An image (a PNG made here, unique to the run) is uploaded on
// the Content page, its picture loaded from the server, and its address put into a template; a
// text file is refused with the server's words.
//
//   WAYFARER_URL    the server (default http://127.0.0.1:8420). A server that does not serve
//                   the web interface itself (built before it embedded web/dist) gets a
//                   `vite preview` of web/dist in front of it, proxying /api, /v1 and /a/ to it.
//   WAYFARER_TOKEN  its admin token (required)
//   WAYFARER_PREVIEW  set to 1 to open web/dist through a `vite preview` (proxying the API to
//                   WAYFARER_URL) even when the server serves its own pages (the UI built before
//                   the server was)
//   SCREENSHOTS     where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Run from web/: npm run e2e:pages. The server's testing.manual_clock may be on or off.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import { apiClient, checkAccessible, example, openBrowser, screenshot, servePages } from "./lib/browser.mjs";

const server = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
/** Where the pages are opened: the server, or a preview in front of it. */
let base = server;
const token = process.env.WAYFARER_TOKEN ?? "";
const { api, ok, segment } = apiClient(server, token);

/** A person of this run only, so that reruns against the same server start afresh. */
const user = `e2e-${Date.now().toString(36)}`;
const sourceId = "pages-e2e";

let writeKey;
let profileId;
let runId;

async function seed() {
  // A source (made once per server) and its write key.
  const created = await api("POST", "/api/sources", { id: sourceId });
  if (created.status === 201) writeKey = created.json.write_key;
  else writeKey = (await ok("GET", "/api/sources")).sources.find((s) => s.id === sourceId)?.write_key;
  assert.ok(writeKey, `no write key for source ${sourceId}: ${JSON.stringify(created.json)}`);
  // The journey's templates, and the journey, published.
  await ok("PUT", "/api/templates/consultation-invite", {
    subject: "{{ traits.firstName }}, would a free consultation help?",
    html: "<h1>Hi {{ traits.firstName }}</h1><p>You looked at {{ event.path | default: 'our products' }}.</p>",
    text: "Hi {{ traits.firstName }}, book a free consultation.",
  });
  await ok("PUT", "/api/templates/consultation-reminder", { subject: "A reminder for {{ traits.firstName }}", text: "The offer stands." });
  const doc = example("consultation");
  await ok("POST", `/api/journeys/${doc.id}/apply`, { document: doc });
  // A webhook to a private address: refused for good (a failed message) by default.
  const hook = { id: "delivery-e2e", entry: { event: "Delivery Checked" }, steps: [{ id: "notify", type: "webhook", url: "http://127.0.0.1:9/delivery-e2e" }] };
  await ok("POST", `/api/journeys/${hook.id}/apply`, { document: hook });
  // A person who looks at three products: the third view starts a run, which sends the invite.
  await segment(writeKey, "identify", { userId: user, traits: { firstName: "Ada", email: `${user}@example.com`, phone: "+14155550100" } });
  for (const p of ["a", "b", "c"]) await segment(writeKey, "page", { userId: user, name: "Product", properties: { path: `/products/${p}` } });
  // From the person's phone: its push token is kept in push_tokens.
  await segment(writeKey, "track", { userId: user, event: "Delivery Checked", context: { device: { token: `${user}-device` } } });
  for (let i = 0; i < 100; i++) {
    const { status, json } = await api("GET", `/api/profiles/lookup?user_id=${user}`);
    const run = status === 200 ? json.journeys.find((r) => r.journey === "consultation") : undefined;
    if (run) {
      profileId = json.id;
      runId = run.run_id;
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no consultation run for ${user} after 10 s`);
}

let browser;
let preview;

before(async () => {
  assert.ok(token, "set WAYFARER_TOKEN to the server's admin token");
  await seed();
  ({ base, preview } = await servePages(server, "/people", 4174));
  // Through a preview, the server's own pages (unsubscribe) and images are still its own.
  browser = await openBrowser({ origin: base, token, also: base === server ? [] : [server] });
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

const page = () => browser.page();

test("People: search, the person's timeline and journeys, a run on its canvas with the trace", async () => {
  const p = await page();
  await p.goto(`${base}/people`);
  await p.getByRole("heading", { name: "People", level: 1 }).waitFor();
  // The search is debounced: wait for its answer, so that the list is not redrawn under the click.
  const searched = p.waitForResponse((r) => r.url().includes("/api/profiles?") && r.url().includes(encodeURIComponent(user)));
  await p.getByRole("searchbox").fill(user);
  await searched;
  // Earlier runs' people are listed until the search (debounced) answers.
  await p.waitForFunction((u) => {
    const rows = document.querySelectorAll("tbody tr");
    return rows.length === 1 && rows[0].textContent.includes(u);
  }, user);
  const link = p.getByRole("link", { name: "Ada" });
  await checkAccessible(p, "People");
  await screenshot(p, "people");
  await link.click();
  await p.waitForURL(`${base}/people/${profileId}`);
  await p.getByRole("heading", { name: "Ada", level: 1 }).waitFor();
  const timeline = p.getByRole("region", { name: "Timeline" });
  await timeline.getByRole("button", { name: "Email: consultation-invite" }).waitFor();
  assert.equal(await timeline.getByRole("button", { name: "Page Viewed", exact: true }).count(), 3);
  const journeys = p.getByRole("complementary", { name: "Journeys" });
  await journeys.getByText("In this journey now").waitFor();
  await checkAccessible(p, "a person's page");
  await screenshot(p, "person");
  // An event opens to its JSON.
  await timeline.getByRole("button", { name: "Page Viewed", exact: true }).first().click();
  await timeline.getByText('"path": "/products/c"').waitFor();

  await journeys.getByRole("link", { name: `Run ${runId}` }).click();
  await p.waitForURL(`${base}/people/${profileId}/runs/${runId}`);
  await p.getByRole("heading", { name: `Run ${runId} in consultation`, level: 1 }).waitFor();
  await p.locator('.run-canvas .react-flow__node[data-id="booked"] .card').waitFor();
  const path = await p.locator(".run-canvas").getAttribute("data-path");
  assert.match(path ?? "", /booked$/, "the path ends where the run waits");
  const trace = p.getByRole("region", { name: "Trace" });
  await trace.locator(".trace-entry").first().waitFor();
  assert.match(await trace.innerText(), /Page Viewed/);
  await checkAccessible(p, "a run's page");
  await screenshot(p, "run");
});

test("Content: edit a template and see the preview change for a picked person", async () => {
  const p = await page();
  await p.goto(`${base}/content`);
  await p.getByRole("link", { name: "consultation-invite" }).click();
  await p.waitForURL(`${base}/content/consultation-invite`);
  const subject = p.getByLabel("Subject");
  await subject.waitFor();
  await p.getByRole("button", { name: "Pick a person" }).click();
  await p.getByRole("searchbox").fill(user);
  await p.getByRole("list", { name: "People found" }).getByRole("listitem").filter({ hasText: user }).getByRole("button", { name: "Ada" }).click();
  const rendered = p.getByTestId("preview-subject");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-subject"]')?.textContent === "Ada, would a free consultation help?");
  assert.match((await p.locator("iframe.preview-frame").getAttribute("srcdoc")) ?? "", /<h1>Hi Ada<\/h1>/);
  await subject.fill("Hello {{ traits.firstName }}, from the e2e test");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-subject"]')?.textContent === "Hello Ada, from the e2e test");
  assert.equal(await rendered.innerText(), "Hello Ada, from the e2e test");
  await p.getByRole("status").filter({ hasText: "Changes not saved" }).waitFor();
  await checkAccessible(p, "a template's editor");
  await screenshot(p, "content");
  await p.getByRole("button", { name: /Phone/ }).click();
  await p.getByTitle("The HTML part at phone width").waitFor();
  await screenshot(p, "content-phone");
  // The changes are not saved: leaving through the navigation asks, and "no" stays.
  const asked = browser.dialogs.length;
  await p.getByRole("navigation").getByRole("link", { name: "Content" }).click();
  assert.deepEqual(browser.dialogs.slice(asked), [{ type: "confirm", message: "This template has changes that are not saved. Leave without saving them?" }]);
  assert.equal(new URL(p.url()).pathname, "/content/consultation-invite");
  await subject.waitFor();
});

test("Settings: the source's write key and the snippet with it; users, tokens and the audit log", async () => {
  const p = await page();
  const asked = browser.dialogs.length;
  await p.goto(`${base}/settings`);
  // Leaving the template's unsaved changes (the test before) asked the browser's own question.
  assert.deepEqual(browser.dialogs.slice(asked).map((d) => d.type), ["beforeunload"]);
  await p.getByRole("heading", { name: "Sources and write keys" }).waitFor();
  await p.getByRole("table", { name: "Sources" }).getByText(writeKey, { exact: true }).waitFor();
  await p.getByRole("button", { name: `Copy the write key of ${sourceId}` }).waitFor();
  // The admin token: an admin with no user, so users and the audit log, and no tokens of its own.
  await p.getByRole("table", { name: "Users" }).waitFor();
  await p.getByRole("region", { name: "Your API tokens" }).getByText(/API tokens belong to users/).waitFor();
  await p.getByRole("region", { name: "Audit log" }).locator(".audit-list, p:has-text('Nothing changed yet.')").first().waitFor();
  await checkAccessible(p, "Settings");
  await screenshot(p, "settings", { fullPage: true });
});

test("Content: a template with SMS text only, made in the editor, previewed as a text with its parts for a person with a phone", async () => {
  const id = `${user}-code`;
  const p = await page();
  await p.goto(`${base}/content`);
  await p.getByRole("button", { name: "New template" }).click();
  await p.getByLabel("Id of the new template").fill(id);
  await p.getByRole("button", { name: "Create" }).click();
  await p.waitForURL(`${base}/content/${id}`);
  await p.getByText("New template, not saved yet").waitFor();
  await p.getByRole("button", { name: "Pick a person" }).click();
  await p.getByRole("searchbox").fill(user);
  await p.getByRole("list", { name: "People found" }).getByRole("listitem").filter({ hasText: user }).getByRole("button", { name: "Ada" }).click();
  const sms = p.getByRole("region", { name: "SMS" }).getByLabel("SMS text");
  await sms.fill("Hi {{ traits.firstName }}, your code is ready. Texted to {{ traits.phone }}.");
  const text = "Hi Ada, your code is ready. Texted to +14155550100.";
  await p.waitForFunction((t) => document.querySelector('[data-testid="preview-sms"]')?.textContent === t, text);
  const count = p.getByTestId("preview-sms-count");
  assert.equal(await count.innerText(), `${text.length} characters · 1 part`);
  const preview = p.getByRole("region", { name: "Preview" });
  await preview.getByText("No email: this template has no subject, HTML or text", { exact: false }).waitFor();
  // Past 160 characters, a text goes as parts of 153 (the server counts them).
  await sms.fill(`Hi {{ traits.firstName }}, ${"a long message ".repeat(12)}`);
  await p.waitForFunction(() => / · 2 parts$/.test(document.querySelector('[data-testid="preview-sms-count"]')?.textContent ?? ""));
  await checkAccessible(p, "a template's editor with SMS text");
  await p.getByTestId("preview-sms").scrollIntoViewIfNeeded();
  await screenshot(p, "content-sms");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByRole("status").filter({ hasText: /^Saved/ }).waitFor();
  const saved = await ok("GET", `/api/templates/${id}`);
  assert.deepEqual([saved.html, saved.text, saved.sms], ["", "", `Hi {{ traits.firstName }}, ${"a long message ".repeat(12)}`]);
  // The list says which channels each template has.
  await p.getByRole("navigation").getByRole("link", { name: "Content" }).click();
  const row = p.getByRole("row").filter({ has: p.getByRole("link", { name: id, exact: true }) });
  assert.equal((await row.locator("td").nth(2).innerText()).trim(), "SMS");
  const invite = p.getByRole("row").filter({ has: p.getByRole("link", { name: "consultation-invite", exact: true }) });
  assert.equal((await invite.locator("td").nth(2).innerText()).trim(), "Email (HTML, text)");
  await checkAccessible(p, "Content");
});

test("Content: a template with a push notification only, made in the editor, previewed as a notification for a person with a device", async () => {
  const id = `${user}-restock`;
  const p = await page();
  await p.goto(`${base}/content`);
  await p.getByRole("button", { name: "New template" }).click();
  await p.getByLabel("Id of the new template").fill(id);
  await p.getByRole("button", { name: "Create" }).click();
  await p.waitForURL(`${base}/content/${id}`);
  await p.getByText("New template, not saved yet").waitFor();
  await p.getByRole("button", { name: "Pick a person" }).click();
  await p.getByRole("searchbox").fill(user);
  await p.getByRole("list", { name: "People found" }).getByRole("listitem").filter({ hasText: user }).getByRole("button", { name: "Ada" }).click();
  const push = p.getByRole("region", { name: "Push notification" });
  await push.getByLabel("Push title").fill("{{ traits.firstName }}, it is back");
  await push.getByLabel("Push body").fill("The product you looked at is in stock again.");
  await push.getByLabel("Push link").fill("https://shop.example.com/products/c");
  await push.getByLabel("Push image").fill("https://cdn.example.com/products/c.png");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-push-title"]')?.textContent === "Ada, it is back");
  const card = p.getByTestId("preview-push");
  assert.equal(await p.getByTestId("preview-push-body").innerText(), "The product you looked at is in stock again.");
  assert.equal(await p.getByTestId("preview-push-link").innerText(), "Opens: https://shop.example.com/products/c");
  // The image is named, never fetched.
  await card.getByText("https://cdn.example.com/products/c.png").waitFor();
  assert.equal(await p.getByRole("region", { name: "Preview" }).locator("img").count(), 0);
  // The device of the seeded event's context.device.token.
  await p.getByText(/^Goes to .+'s device \(push_tokens\)\.$/).waitFor();
  const preview = p.getByRole("region", { name: "Preview" });
  await preview.getByText("No email: this template has no subject, HTML or text", { exact: false }).waitFor();
  await preview.getByText("No SMS: this template has no SMS text", { exact: false }).waitFor();
  await checkAccessible(p, "a template's editor with a push notification");
  await card.scrollIntoViewIfNeeded();
  await screenshot(p, "content-push");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByRole("status").filter({ hasText: /^Saved/ }).waitFor();
  const saved = await ok("GET", `/api/templates/${id}`);
  assert.deepEqual([saved.html, saved.text, saved.sms], ["", "", ""]);
  assert.deepEqual(saved.push, {
    title: "{{ traits.firstName }}, it is back",
    body: "The product you looked at is in stock again.",
    link: "https://shop.example.com/products/c",
    image: "https://cdn.example.com/products/c.png",
  });
  // Listed as a push notification.
  await p.getByRole("navigation").getByRole("link", { name: "Content" }).click();
  const row = p.getByRole("row").filter({ has: p.getByRole("link", { name: id, exact: true }) });
  assert.equal((await row.locator("td").nth(2).innerText()).trim(), "Push");
  await checkAccessible(p, "Content");
});

test("Content: a template with an in-app message only, made in the editor, previewed as a banner in its place, then as a modal", async () => {
  const id = `${user}-offer`;
  const p = await page();
  await p.goto(`${base}/content`);
  await p.getByRole("button", { name: "New template" }).click();
  await p.getByLabel("Id of the new template").fill(id);
  await p.getByRole("button", { name: "Create" }).click();
  await p.waitForURL(`${base}/content/${id}`);
  await p.getByText("New template, not saved yet").waitFor();
  await p.getByRole("button", { name: "Pick a person" }).click();
  await p.getByRole("searchbox").fill(user);
  await p.getByRole("list", { name: "People found" }).getByRole("listitem").filter({ hasText: user }).getByRole("button", { name: "Ada" }).click();
  const inApp = p.getByRole("region", { name: "In-app message" });
  await inApp.getByLabel("In-app placement").fill("home");
  await inApp.getByLabel("In-app title").fill("{{ traits.firstName }}, your cart is waiting");
  await inApp.getByLabel("In-app body").fill("Free shipping until Sunday.");
  await inApp.getByLabel("In-app button label").fill("Back to my cart");
  await inApp.getByLabel("In-app link").fill("https://shop.example.com/cart");
  await inApp.getByLabel("In-app image").fill("https://cdn.example.com/cart.png");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-in-app-title"]')?.textContent === "Ada, your cart is waiting");
  const message = p.getByTestId("preview-in-app");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-in-app-link"]')?.textContent === "Back to my cart opens: https://shop.example.com/cart");
  assert.equal(await message.getAttribute("data-layout"), "banner");
  assert.equal(await p.getByTestId("preview-in-app-body").innerText(), "Free shipping until Sunday.");
  assert.equal(await p.getByTestId("preview-in-app-button").innerText(), "Back to my cart");
  const preview = p.getByRole("region", { name: "Preview" });
  await preview.getByText("A banner in the page's place “home”").waitFor();
  // The image is named, never fetched.
  await message.getByText("https://cdn.example.com/cart.png").waitFor();
  assert.equal(await preview.locator("img").count(), 0);
  await preview.getByText("No email: this template has no subject, HTML or text", { exact: false }).waitFor();
  await preview.getByText("No SMS: this template has no SMS text", { exact: false }).waitFor();
  await preview.getByText("No push notification: this template has no push title or body", { exact: false }).waitFor();
  await checkAccessible(p, "a template's editor with an in-app banner");
  await message.scrollIntoViewIfNeeded();
  await screenshot(p, "content-in-app");
  // As a modal over the page.
  await inApp.getByLabel("In-app layout").selectOption("modal");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-in-app"]')?.getAttribute("data-layout") === "modal");
  await preview.getByText("A modal over the page").waitFor();
  await checkAccessible(p, "a template's editor with an in-app modal");
  await message.scrollIntoViewIfNeeded();
  await screenshot(p, "content-in-app-modal");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByRole("status").filter({ hasText: /^Saved/ }).waitFor();
  const saved = await ok("GET", `/api/templates/${id}`);
  assert.deepEqual([saved.html, saved.text, saved.sms, saved.push.title, saved.push.body], ["", "", "", "", ""]);
  assert.deepEqual(saved.in_app, {
    placement: "home",
    layout: "modal",
    title: "{{ traits.firstName }}, your cart is waiting",
    body: "Free shipping until Sunday.",
    button: "Back to my cart",
    link: "https://shop.example.com/cart",
    image: "https://cdn.example.com/cart.png",
  });
  // Listed as an in-app message.
  await p.getByRole("navigation").getByRole("link", { name: "Content" }).click();
  const row = p.getByRole("row").filter({ has: p.getByRole("link", { name: id, exact: true }) });
  assert.equal((await row.locator("td").nth(2).innerText()).trim(), "In-app");
  await checkAccessible(p, "Content");
});

test("Delivery: each channel's queue, and the webhook's message with its person, its error and Retry", async () => {
  const p = await page();
  await p.goto(`${base}/delivery`);
  const channels = p.getByRole("table", { name: "Channels" });
  for (const name of ["email", "sms", "push", "in_app", "webhook"]) await channels.getByRole("rowheader", { name }).waitFor();
  await channels.getByRole("row", { name: /^webhook/ }).getByText("the URL each step names", { exact: false }).waitFor();
  // Captured without a provider, else Twilio's.
  await channels.getByRole("row", { name: /^sms/ }).getByText(/text messages are rendered and kept|Twilio Messages API/).waitFor();
  // Captured without a provider, else Firebase Cloud Messaging.
  await channels.getByRole("row", { name: /^push/ }).getByText(/notifications are rendered and kept|Firebase Cloud Messaging/).waitFor();
  // Kept for each person's next visit: no provider, no address.
  await channels.getByRole("row", { name: /^in_app/ }).getByText("kept for each person's next visit to the website or app", { exact: false }).waitFor();
  // Every message, this run's webhook among them (failed if the guard refused it, else waiting for a retry).
  await p.getByLabel("Show").selectOption("all");
  const mine = (list) => list.getByRole("listitem").filter({ hasText: "127.0.0.1:9/delivery-e2e" }).filter({ hasText: `person ${profileId}` });
  const item = mine(p.getByRole("list", { name: "Messages" }));
  await item.first().waitFor();
  const status = (await item.first().locator(".status").textContent())?.trim();
  assert.ok(["failed", "pending"].includes(status), `the webhook's message is failed or waiting, not ${status}`);
  if (status === "failed") {
    await item.first().getByText("refused", { exact: false }).waitFor();
    await p.getByLabel("Show").selectOption("failed");
    // The retry sent before the page is loaded again (a reload at once may cancel it).
    const retried = p.waitForResponse((r) => r.request().method() === "POST" && /\/api\/messages\/\d+\/retry$/.test(r.url()));
    await mine(p.getByRole("list", { name: "Messages" })).first().getByRole("button", { name: "Retry" }).click();
    assert.ok((await retried).ok(), "the retry is accepted");
    // Sent once more and refused once more: failed again, with one more attempt.
    for (let i = 0; ; i++) {
      await p.reload();
      await p.getByLabel("Show").selectOption("failed");
      await p.getByRole("list", { name: "Messages" }).or(p.getByText("No failed message.")).first().waitFor();
      if ((await mine(p.getByRole("list", { name: "Messages" })).filter({ hasText: "2 attempts" }).count()) > 0) break;
      assert.ok(i < 50, "the retried message failed again with 2 attempts");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await checkAccessible(p, "Delivery");
  await screenshot(p, "delivery", { fullPage: true });
});

test("Unsubscribe: the link in an email asks first (link scanners only GET), then unsubscribes", async () => {
  // The invite the person's run sent (captured: no SMTP server), with its one-click unsubscribe.
  const { messages } = await ok("GET", `/api/messages?profile_id=${profileId}`);
  const invite = messages.find((m) => m.template === "consultation-invite");
  const link = invite?.message?.list_unsubscribe;
  assert.ok(link, `the invite has no unsubscribe link: set tracking.base_url to the server's address (${JSON.stringify(invite)})`);
  const p = await page();
  await p.goto(link);
  await p.getByRole("heading", { name: "Unsubscribe" }).waitFor();
  await checkAccessible(p, "the unsubscribe page");
  await screenshot(p, "unsubscribe");
  const before = await ok("GET", `/api/profiles/${profileId}`);
  assert.equal(before.traits.email_unsubscribed, undefined, "opening the link changed nothing");
  const consent = async (want, what) => {
    for (let i = 0; ; i++) {
      const person = await ok("GET", `/api/profiles/${profileId}`);
      if (person.traits.email_unsubscribed === want) return;
      assert.ok(i < 50, what);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await p.getByRole("button", { name: "Unsubscribe" }).click();
  await p.getByRole("heading", { name: "Unsubscribed" }).waitFor();
  await p.getByText("You are unsubscribed").waitFor();
  await consent(true, "the person is unsubscribed");
  // The page is their preferences from then on: they can subscribe again.
  await p.goto(link);
  await p.getByRole("heading", { name: "Email preferences" }).waitFor();
  await checkAccessible(p, "the preference page");
  await p.getByRole("button", { name: "Subscribe again" }).click();
  await p.getByText("You are subscribed again").waitFor();
  await consent(false, "the person is subscribed again");
});

test("Content: a French translation added in the template editor, previewed in French for the person, its empty parts the template's own", async () => {
  const id = `${user}-welcome`;
  await ok("PUT", `/api/templates/${id}`, { subject: "Welcome, {{ traits.firstName }}", text: "Hello {{ traits.firstName }}, glad you are here." });
  const p = await page();
  await p.goto(`${base}/content/${id}`);
  await p.getByLabel("Subject").waitFor();
  await p.getByRole("button", { name: "Pick a person" }).click();
  await p.getByRole("searchbox").fill(user);
  await p.getByRole("list", { name: "People found" }).getByRole("listitem").filter({ hasText: user }).getByRole("button", { name: "Ada" }).click();
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-subject"]')?.textContent === "Welcome, Ada");
  // A locale the server would refuse is refused at once.
  await p.getByRole("button", { name: "+ Add a translation" }).click();
  const code = p.getByLabel("Locale of the translation");
  await code.fill("french!");
  await p.getByRole("button", { name: "Add", exact: true }).click();
  await p.locator(".locale-add").getByRole("alert").getByText("is not a locale", { exact: false }).waitFor();
  await code.fill("FR");
  await p.getByRole("button", { name: "Add", exact: true }).click();
  const tab = p.getByRole("tab", { name: "French (fr)" });
  assert.equal(await tab.getAttribute("aria-selected"), "true");
  const panel = p.getByRole("tabpanel", { name: "French (fr)" });
  // Its empty parts show the template's own: they fall back to it.
  assert.equal(await panel.getByLabel("Text", { exact: true }).getAttribute("placeholder"), "Hello {{ traits.firstName }}, glad you are here.");
  await panel.getByLabel("Subject").fill("Bienvenue, {{ traits.firstName }}");
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-subject"]')?.textContent === "Bienvenue, Ada");
  assert.equal(await p.getByTestId("preview-text").innerText(), "Hello Ada, glad you are here.");
  assert.equal(await p.getByTestId("preview-locale").innerText(), "The French (fr) translation, as people whose locale is fr get it; its empty parts are the default's.");
  await checkAccessible(p, "a template's editor with a translation");
  await screenshot(p, "content-translation");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByRole("status").filter({ hasText: /^Saved/ }).waitFor();
  const saved = await ok("GET", `/api/templates/${id}`);
  assert.equal(saved.subject, "Welcome, {{ traits.firstName }}");
  assert.deepEqual(Object.keys(saved.locales), ["fr"]);
  assert.deepEqual([saved.locales.fr.subject, saved.locales.fr.text, saved.locales.fr.html], ["Bienvenue, {{ traits.firstName }}", "", ""]);
  // Back on the template's own parts, the preview is in them again.
  await p.getByRole("tab", { name: "Default" }).click();
  await p.waitForFunction(() => document.querySelector('[data-testid="preview-subject"]')?.textContent === "Welcome, Ada");
  // The list says which translations each template has.
  await p.getByRole("navigation").getByRole("link", { name: "Content" }).click();
  const row = p.getByRole("row").filter({ has: p.getByRole("link", { name: id, exact: true }) });
  assert.equal((await row.locator("td").nth(3).innerText()).trim(), "fr");
  // Saving another part in the editor gives the translation back as it was.
  await row.getByRole("link", { name: id, exact: true }).click();
  await p.getByLabel("Subject").fill("Welcome aboard, {{ traits.firstName }}");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByRole("status").filter({ hasText: /^Saved/ }).waitFor();
  const again = await ok("GET", `/api/templates/${id}`);
  assert.equal(again.subject, "Welcome aboard, {{ traits.firstName }}");
  assert.deepEqual(again.locales, saved.locales);
});

test("Tasks: a journey's task step puts a task in the inbox; completed there with a note, it is Task Completed on the person", async () => {
  // A journey of this run: a task for a team of this run (so the inbox shows this run's alone), then a wait for it.
  const team = `sales-${user}`;
  const journey = `tasks-${user}`;
  await ok("POST", `/api/journeys/${journey}/apply`, {
    document: {
      id: journey,
      entry: { event: "Demo Requested" },
      steps: [
        { id: "call", type: "task", title: "Call {{ traits.firstName }}", body: "About the {{ event.plan }} plan.", team, due: "1d", next: "called" },
        { id: "called", type: "wait_for", events: [{ event: "Task Completed", filter: { property: "node", op: "eq", value: "call" } }], timeout: "3d" },
      ],
    },
  });
  const lead = `${user}-lead`;
  await segment(writeKey, "identify", { userId: lead, traits: { firstName: "Grace", email: `${lead}@example.com` } });
  await segment(writeKey, "track", { userId: lead, event: "Demo Requested", properties: { plan: "pro" } });
  // The dispatcher puts the task in the inbox when it is due: a manual clock moves a second at a time.
  let task;
  for (let i = 0; !task; i++) {
    const { tasks } = await ok("GET", `/api/tasks?team=${encodeURIComponent(team)}`);
    task = tasks[0];
    if (task) break;
    assert.ok(i < 100, "no task in the inbox after 10 s");
    await api("POST", "/api/clock", { advance: "1s" });
    await new Promise((r) => setTimeout(r, 100));
  }
  const p = await page();
  await p.goto(`${base}/tasks`);
  await p.getByRole("heading", { name: "Tasks", level: 1 }).waitFor();
  await p.getByLabel("Team").fill(team);
  // The filter is kept in the address once typing pauses, and the list is the team's.
  await p.waitForURL((u) => u.search === `?team=${encodeURIComponent(team)}`);
  const item = p.getByRole("list", { name: "Tasks" }).getByRole("listitem").filter({ has: p.getByRole("heading", { name: "Call Grace" }) });
  await item.waitFor();
  await p.getByRole("status").filter({ hasText: "1 task shown, that is all" }).waitFor();
  await item.getByText("About the pro plan.").waitFor();
  // About whom, by name (first name here: no name or last name trait).
  assert.equal(task.person.traits.firstName, "Grace");
  assert.equal(await item.getByRole("link", { name: "Grace", exact: true }).getAttribute("href"), `/people/${task.profile_id}`);
  assert.equal(await item.getByRole("link", { name: journey }).getAttribute("href"), `/journeys/${journey}`);
  await item.getByText(`team ${team}`).waitFor();
  await checkAccessible(p, "Tasks");
  await screenshot(p, "tasks");
  await item.getByLabel("Note (optional)").fill("Booked a demo for Friday");
  await item.getByRole("button", { name: "Complete" }).click();
  await item.getByText("completed", { exact: true }).waitFor();
  await item.getByText("Booked a demo for Friday").waitFor();
  await p.getByRole("status").filter({ hasText: "Completed: Call Grace" }).waitFor();
  assert.equal(await item.getByRole("button", { name: "Complete" }).count(), 0);
  await checkAccessible(p, "Tasks, one completed");
  // On the person's profile: Task Completed, with the note; the run that waited for it went on.
  let completed;
  for (let i = 0; !completed; i++) {
    const person = await ok("GET", `/api/profiles/lookup?user_id=${lead}`);
    completed = person.events.find((e) => e.name === "Task Completed");
    if (completed) {
      assert.equal(person.id, task.profile_id);
      break;
    }
    assert.ok(i < 50, "no Task Completed on the person");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(
    { ...completed.properties, by: undefined },
    { task_id: task.id, journey, node: "call", title: "Call Grace", by: undefined, note: "Booked a demo for Friday" },
  );
  assert.equal(completed.properties.by, "admin token");
  // Loaded again, the open tasks of the team are none; the empty state says where tasks come from.
  await p.reload();
  await p.getByText(`No open task of team ${team}.`).waitFor();
  await p.getByText("Tasks come from journeys", { exact: false }).waitFor();
  // The person's page lists it.
  await p.goto(`${base}/people/${task.profile_id}`);
  const mine = p.getByRole("region", { name: "Tasks" });
  await mine.getByRole("heading", { name: "Call Grace" }).waitFor();
  await mine.getByText("0 open of 1", { exact: false }).waitFor();
  await p.getByRole("region", { name: "Timeline" }).getByRole("button", { name: "Task Completed", exact: true }).waitFor();
  await checkAccessible(p, "a person's page with a task");
});

/**
 * A PNG of `width`×`height` pixels of one colour, with `note` in a text chunk (so that each run's
 * bytes, and so its image, are its own: the same bytes are the same image).
 */
function png(width, height, [r, g, b], note) {
  const chunk = (type, data) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([head, Buffer.from(type), data, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits a sample, RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("tEXt", Buffer.from(`Comment\0${note}`, "latin1")),
    chunk("IDAT", pixels),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

test("Content: an image uploaded, listed with its picture loaded from the server, its address copied and put into a template; a text file refused", async () => {
  const name = `${user}-logo.png`;
  const bytes = png(6, 4, [52, 84, 209], user);
  const hash = createHash("sha256").update(bytes).digest("hex");
  const p = await page();
  await p.goto(`${base}/content`);
  const images = p.getByRole("region", { name: "Images" });
  const input = images.getByLabel("Upload an image");
  await input.setInputFiles({ name, mimeType: "image/png", buffer: bytes });
  await images.getByRole("status").filter({ hasText: `Uploaded ${name}: it is the one at the top.` }).waitFor();
  // At the top of the list: its name, size, type, and its picture, loaded from the server.
  const row = images.getByRole("table", { name: "Images" }).getByRole("row").nth(1);
  await row.getByText(name, { exact: true }).waitFor();
  assert.equal((await row.locator("td").nth(2).innerText()).trim(), `${bytes.length} bytes`);
  assert.equal((await row.locator("td").nth(3).innerText()).trim(), "PNG");
  const picture = row.locator("img");
  assert.equal(await picture.getAttribute("src"), `/a/${hash}.png`);
  await p.waitForFunction((el) => el.complete && el.naturalWidth > 0, await picture.elementHandle());
  assert.deepEqual(await picture.evaluate((el) => [el.naturalWidth, el.naturalHeight]), [6, 4]);
  // The API has it, with the address templates use.
  const { assets } = await ok("GET", "/api/assets");
  const mine = assets.find((a) => a.hash === hash);
  assert.deepEqual({ ...mine, url: undefined, created_at: undefined }, { hash, content_type: "image/png", name, size: bytes.length, url: undefined, created_at: undefined });
  assert.match(mine.url, new RegExp(`/a/${hash}\\.png$`));
  await row.getByText(mine.url, { exact: true }).waitFor();
  // Its address, copied.
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const copy = row.getByRole("button", { name: `Copy address of ${name}` });
  await copy.click();
  await row.getByRole("button", { name: `Copy address of ${name}` }).filter({ hasText: "Copied" }).waitFor();
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), mine.url);
  await checkAccessible(p, "Content with an image uploaded");
  await images.scrollIntoViewIfNeeded();
  await screenshot(p, "content-images");

  // A text file: refused, in the server's words; nothing added.
  await input.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") });
  const refused = images.getByRole("alert");
  await refused.getByText('"text/plain" is not an image kind taken: send image/png, image/jpeg, image/gif or image/webp', { exact: false }).waitFor();
  assert.match(await refused.innerText(), /^notes\.txt could not be uploaded: /);
  await refused.getByText("unsupported_media_type").waitFor();
  // The same file would be refused again: nothing to try again.
  assert.equal(await images.getByRole("button", { name: "Try again" }).count(), 0);
  // Text that says it is a PNG: refused too.
  await input.setInputFiles({ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("not a picture") });
  await refused.getByText("fake.png could not be uploaded", { exact: false }).waitFor();
  await refused.getByText("invalid_request").waitFor();
  assert.equal((await images.getByRole("table", { name: "Images" }).getByRole("row").nth(1).locator("td").nth(1).innerText()).trim(), name);
  await checkAccessible(p, "Content with an upload refused");
  await screenshot(p, "content-images-refused");
  // The same bytes again are the same image: said so, and listed once.
  await input.setInputFiles({ name: "again.png", mimeType: "image/png", buffer: bytes });
  await images.getByRole("status").filter({ hasText: `This image was uploaded before, as ${name}` }).waitFor();
  assert.equal(await images.getByRole("row").filter({ hasText: name }).count(), 1);

  // In the template editor: its address inserted where the cursor was, in the HTML and as a push notification's image.
  const id = `${user}-sale`;
  await ok("PUT", `/api/templates/${id}`, { subject: "Our sale", html: '<p><img src="" alt="The sale"></p>' });
  await p.goto(`${base}/content/${id}`);
  const html = p.getByLabel("HTML", { exact: true });
  await html.waitFor();
  await html.evaluate((el) => (el.focus(), el.setSelectionRange(13, 13)));
  const picker = p.getByRole("region", { name: "Images" });
  await picker.getByRole("button", { name: "Insert an image…" }).click();
  const pick = picker.getByRole("list", { name: "Uploaded images" }).getByRole("button", { name, exact: true });
  await pick.click();
  assert.equal(await html.inputValue(), `<p><img src="${mine.url}" alt="The sale"></p>`);
  await p.waitForFunction((el) => el.complete && el.naturalWidth > 0, await pick.locator("img").elementHandle());
  const image = p.getByRole("region", { name: "Push notification" }).getByLabel("Push image");
  await image.focus();
  await pick.click();
  assert.equal(await image.inputValue(), mine.url);
  await p.getByRole("region", { name: "Push notification" }).getByLabel("Push title").fill("The sale is on");
  await checkAccessible(p, "a template's editor with the images to insert");
  await picker.scrollIntoViewIfNeeded();
  await screenshot(p, "content-insert-image");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByRole("status").filter({ hasText: /^Saved/ }).waitFor();
  const saved = await ok("GET", `/api/templates/${id}`);
  assert.equal(saved.html, `<p><img src="${mine.url}" alt="The sale"></p>`);
  assert.equal(saved.push.image, mine.url);
  // Served as it was uploaded, for good.
  const served = await fetch(mine.url);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get("content-type"), "image/png");
  assert.match(served.headers.get("cache-control") ?? "", /immutable/);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
});

test("the pages made no request elsewhere and threw no error", () => browser.clean());
