// Browser test of the journey editor against a real server: Debian's Chromium driven by
// playwright-core. It builds the consultation journey by clicking (an entry on Page Viewed
// filtered on path, its property fields suggesting the paths page views have shown, a branch on
// two history conditions, an invite, a wait for the booking with
// a 3-day timeout, a reminder), publishes it, sends events through the Segment API, moves the
// server's manual clock, sees the counts on the cards change, pauses and resumes it, runs a
// backtest from the editor and sees its simulated counts, and stops it. On a journey applied as
// code, it turns quiet hours and a frequency cap on and sets a priority (the validator's problems
// shown at their fields) and saves them in the draft. On another, it adds a task step (with a wait for its
// outcome) and turns a send into an A/B test of two templates, and saves them in the draft. A
// screenshot of each state goes to $SCREENSHOTS.
//
//   WAYFARER_URL      the server (default http://127.0.0.1:8420), started with
//                     WAYFARER_TESTING_MANUAL_CLOCK (the script moves the clock)
//   WAYFARER_TOKEN    the admin token
//   WAYFARER_UI       where the UI is served (default WAYFARER_URL); with WAYFARER_PREVIEW=1, a
//                     `vite preview` of web/dist that this script starts, proxying the API to WAYFARER_URL
//   SCREENSHOTS       where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM          the browser (default /usr/bin/chromium)
//
// Run from web/: node --test e2e/editor.mjs
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { apiClient, checkAccessible, example, openBrowser, previewDist, screenshot, shots } from "./lib/browser.mjs";

const api = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? "";
const client = apiClient(api, token);
/** A fresh journey id each run, so the script can run again on the same data. */
const journeyId = `consultation-${Date.now().toString(36)}`;
const user = `visitor-${Date.now().toString(36)}`;

let ui = (process.env.WAYFARER_UI ?? api).replace(/\/$/, "");
let preview;
let browser;
let page;
let writeKey;

const call = (method, path, body) => client.ok(method, path, body);

/** A Segment call with the test's source. */
const segment = (kind, body) => client.segment(writeKey, kind, body);

/** A test that leaves a screenshot of the page when it fails. */
const test = (name, fn) =>
  nodeTest(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      await page?.screenshot({ path: join(shots, `editor-failed-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}.png`) }).catch(() => undefined);
      throw e;
    }
  });

const shot = (name) => screenshot(page, `editor-${name}`);
const panel = () => page.getByRole("tabpanel");
const card = (id) => page.locator(`.react-flow__node[data-id="${id}"]`);

/** What an input suggests: the options of the datalist the browser associates with it. */
const suggestions = (input) => input.evaluate((el) => [...(el.list?.options ?? [])].map((o) => o.value));

/** Waits (10 s at most) until `input` suggests `want` (the editor loads the names as it opens). */
async function suggests(input, want, message) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const got = await suggestions(input);
    if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > deadline) return assert.deepEqual(got, want, message);
    await page.waitForTimeout(100);
  }
}

/** The property paths page views have shown (the seed's in `before`; this run's visitors' come later). */
const PAGE_PATHS = ["campaign", "campaign.medium", "campaign.source", "path"];

/** Picks `item` from the menu that the last button named `button` in `scope` opens. */
async function pick(scope, button, item) {
  await scope.getByRole("button", { name: button, exact: true }).last().click();
  await page.getByRole("menuitem", { name: item }).click();
}

before(async () => {
  if (process.env.WAYFARER_PREVIEW === "1") {
    ({ preview, base: ui } = await previewDist(api, 4175));
  }
  // The templates the sends use, and a source to send events with.
  await call("PUT", "/api/templates/consultation-invite", { subject: "A free consultation, {{ traits.name | default: 'there' }}?", html: "<p>Book a call with our experts.</p>", text: "Book a call." });
  await call("PUT", "/api/templates/consultation-reminder", { subject: "Still interested?", html: "<p>Your free consultation is waiting.</p>", text: "Still interested?" });
  const source = await call("POST", "/api/sources", { id: `web-e2e-${Date.now().toString(36)}` });
  writeKey = source.write_key;
  // A page view with a nested property, before the editor opens: the paths property fields suggest.
  await segment("page", { userId: `${user}-seed`, properties: { path: "/pricing", campaign: { source: "newsletter", medium: "email" } } });
  browser = await openBrowser({ origin: ui, token });
  page = await browser.page();
  page.setDefaultTimeout(15000);
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

test("builds the consultation journey by clicking", async () => {
  await page.goto(`${ui}/journeys`);
  await page.getByRole("link", { name: "New journey" }).click();
  await page.waitForURL(`${ui}/journeys/+new`);

  // The entry's form is open at once: Page Viewed, where path starts with /products/.
  await panel().getByLabel("Event", { exact: true }).fill("Page Viewed");
  const filter = panel().getByRole("region", { name: "Only if (filter)" });
  await pick(filter, "+ Add a condition", "Event property");
  await suggests(filter.getByLabel("Event property name", { exact: true }), PAGE_PATHS, "the entry event's paths");
  await filter.getByLabel("Event property name", { exact: true }).fill("path");
  await filter.getByLabel("Event property: operator", { exact: true }).selectOption("starts_with");
  await filter.getByLabel("Event property: value", { exact: true }).fill("/products/");
  await checkAccessible(page, "the editor with the entry's form");
  await shot("1-entry");

  // The journey's id and name: its settings, with nothing selected.
  await page.keyboard.press("Escape");
  await panel().getByLabel("Id", { exact: true }).fill(journeyId);
  await panel().getByLabel("Name", { exact: true }).fill("Invite engaged visitors to a free consultation");

  // A branch after the entry: ≥ 3 product views in 7 days, and no sales contact in 7 days.
  await card("(entry)").click();
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Add Branch" }).click();
  await panel().getByRole("heading", { name: "branch" }).waitFor();
  const when = panel().getByRole("region", { name: "If (case 1)" });
  await pick(when, "+ Add condition", "Event history (count…)");
  await when.getByLabel("History: event name", { exact: true }).fill("Page Viewed");
  await pick(when, "+ Where…", "Event property");
  await suggests(when.getByLabel("Event property name", { exact: true }), PAGE_PATHS, "the history's event's paths");
  await when.getByLabel("Event property name", { exact: true }).fill("path");
  await when.getByLabel("Event property: operator", { exact: true }).selectOption("starts_with");
  await when.getByLabel("Event property: value", { exact: true }).fill("/products/");
  await when.getByLabel("History: count", { exact: true }).fill("3");
  await pick(when, "+ Add condition", "Event history (count…)");
  await when.getByLabel("History: event name", { exact: true }).last().fill("Sales Contacted");
  await when.getByLabel("History: operator", { exact: true }).last().selectOption("eq");
  await when.getByLabel("History: count", { exact: true }).last().fill("0");

  // Case 1 → the invite.
  await pick(panel().locator(".ed-item").first(), "+ Add", /^Send/);
  await panel().getByRole("heading", { name: "send" }).waitFor();
  await panel().getByLabel("Template", { exact: true }).selectOption("consultation-invite");
  await shot("2-send");

  // Then wait for the booking, 3 days at most.
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Add Wait for" }).click();
  await panel().getByRole("heading", { name: "wait-for" }).waitFor();
  await panel().getByLabel("Event", { exact: true }).fill("Consultation Booked");
  assert.equal(await panel().getByLabel("Timeout: number", { exact: true }).inputValue(), "3");
  assert.equal(await panel().getByLabel("Timeout: unit", { exact: true }).inputValue(), "d");

  // On timeout, the reminder.
  await pick(panel(), "+ Add", /^Send/);
  await panel().getByRole("heading", { name: "send-2" }).waitFor();
  await panel().getByLabel("Template", { exact: true }).selectOption("consultation-reminder");
  await page.keyboard.press("Escape");

  await page.locator(".card-text", { hasText: "Email: consultation-reminder" }).waitFor();
  await page.locator(".card-text", { hasText: "Wait up to 3 days for Consultation Booked" }).waitFor();
  await page.getByRole("button", { name: /^Problems: (No problems found|\d+ warnings?)$/ }).waitFor();
  await checkAccessible(page, "the editor with a journey built");
  await shot("3-built");

  // Publish: created, then published with runs in flight staying.
  await page.getByRole("button", { name: "Publish…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: /publish/i }).click();
  await page.waitForURL(`${ui}/journeys/${journeyId}`);
  await page.getByText("live: version 1").waitFor();
  const journey = await call("GET", `/api/journeys/${journeyId}`);
  assert.equal(journey.status, "published");
  const steps = journey.published.document.steps;
  assert.deepEqual(
    steps.map((s) => s.type),
    ["branch", "send", "wait_for", "send"],
  );
  assert.deepEqual(journey.published.document.entry, { event: "Page Viewed", filter: { property: "path", op: "starts_with", value: "/products/" } });
  assert.deepEqual(steps[0].cases[0].when, {
    all: [
      { history: { event: "Page Viewed", within: "7d", where: { property: "path", op: "starts_with", value: "/products/" } }, op: "gte", value: 3 },
      { history: { event: "Sales Contacted", within: "7d" }, op: "eq", value: 0 },
    ],
  });
  assert.deepEqual(steps[2], { id: "wait-for", type: "wait_for", events: [{ event: "Consultation Booked" }], timeout: "3d", timeout_next: "send-2" });
  await shot("4-published");
});

test("events move people through it: the counts on the cards change", async () => {
  await segment("identify", { userId: user, traits: { email: `${user}@example.com`, name: "Ada" } });
  for (const path of ["/products/a", "/products/b", "/products/c"]) {
    await segment("page", { userId: user, name: "Product", properties: { path } });
  }
  // Three entries; the third qualifies and waits for the booking.
  await card("(entry)").getByLabel(/^3 entered/).waitFor({ timeout: 20000 });
  await card("wait-for").getByLabel(/^1 waiting now/).waitFor({ timeout: 20000 });
  await card("branch").getByLabel(/^2 exited/).waitFor();
  await shot("5-waiting");

  // Three days later: the timeout, the reminder.
  await call("POST", "/api/clock", { advance: "3d" });
  await card("send-2").getByLabel(/^1 entered/).waitFor({ timeout: 20000 });
  await card("wait-for").getByLabel(/^0 waiting now/).waitFor();
  await shot("6-reminded");
});

test("pause and resume", async () => {
  await page.getByRole("button", { name: "Pause" }).click();
  await page.locator(".status-paused").waitFor();
  await page.getByRole("button", { name: "Resume" }).click();
  await page.locator(".status-active").waitFor();
});

test("a backtest from the editor draws simulated counts", async () => {
  await page.getByRole("tab", { name: "Backtest" }).click();
  await page.getByRole("button", { name: "Run the backtest" }).click();
  await page.getByText(/The counts on the cards are what this version would have done/).waitFor({ timeout: 60000 });
  await card("send").getByRole("list", { name: "Simulated counts (backtest)" }).waitFor();
  // The replay counts every stored event: this test's visitors, and any sent before.
  await card("send").getByLabel(/^[1-9]\d* visits/).waitFor();
  await page.getByRole("region", { name: "Backtest summary" }).waitFor();
  await checkAccessible(page, "the editor with a backtest drawn");
  await shot("7-backtest");
  await page.getByRole("button", { name: "Show live counts" }).first().click();
  await card("send").getByRole("list", { name: "Counts" }).waitFor();
});

test("dragging: a step from the palette onto a card, an output onto another step; undone", async () => {
  // An exit dropped on the reminder: added after it.
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Add Exit" }).dragTo(card("send-2"));
  await panel().getByRole("heading", { name: "exit" }).waitFor();
  await card("exit").waitFor();
  // The branch's else, dragged onto the reminder: people who do not qualify get it too. (The
  // view followed the new exit down: fit the journey in view to see the branch again.)
  await page.getByRole("button", { name: "Fit the whole journey in view" }).click();
  await page.waitForTimeout(400);
  await card("branch").click();
  const handle = card("branch").locator(".card-output", { hasText: "else" }).locator(".output-handle");
  await handle.dragTo(card("send-2"), { targetPosition: { x: 132, y: 4 } });
  await page.locator('.react-flow__edge[data-id="branch/else"], .react-flow__edge[aria-label^="else: from branch to send-2"]').first().waitFor();
  await shot("8-dragged");
  // Both undone: the draft is the live version again.
  await page.locator(".react-flow__pane").click({ position: { x: 20, y: 300 } });
  await page.keyboard.press("Control+z");
  await page.keyboard.press("Control+z");
  await card("exit").waitFor({ state: "detached" });
  await page.getByText("Saved", { exact: true }).waitFor();
});

test("versions: the draft against the live version", async () => {
  // An edit not published: the reminder's template.
  await card("send-2").click();
  await panel().getByLabel("Template", { exact: true }).selectOption("consultation-invite");
  await page.getByRole("tab", { name: "Versions" }).click();
  await page.getByRole("button", { name: "Show the differences" }).click();
  await page.locator('.card[data-diff="changed"]').waitFor();
  await page.getByText('~ step send-2 /template: "consultation-reminder" -> "consultation-invite"').waitFor();
  await checkAccessible(page, "two versions compared");
  await shot("9-diff");
  await page.getByRole("button", { name: "Back to editing" }).click();
  await page.keyboard.press("Control+z");
  await page.getByText("Saved", { exact: true }).waitFor();
});

test("stop asks once, naming what happens", async () => {
  // Someone else qualifies and waits for the booking.
  const other = `${user}-2`;
  await segment("identify", { userId: other, traits: { email: `${other}@example.com` } });
  for (const path of ["/products/x", "/products/y", "/products/z"]) await segment("page", { userId: other, properties: { path } });
  await card("wait-for").getByLabel(/^1 waiting now/).waitFor({ timeout: 20000 });
  await page.getByRole("button", { name: "Stop…" }).click();
  await page.getByRole("dialog").getByText("1 person waiting in this journey will leave it.").waitFor();
  await shot("10-stop");
  await page.getByRole("button", { name: "Stop the journey" }).click();
  await page.locator(".status-stopped").waitFor();
});

test("journeys as code: a file applied as the CLI does opens on the canvas, and saved unchanged it is the file", async () => {
  const file = example("consultation");
  const doc = { ...file, id: `${journeyId}-code` };
  const applied = await call("POST", `/api/journeys/${doc.id}/apply`, { document: doc });
  assert.equal(applied.status, "published");
  await page.goto(`${ui}/journeys/${doc.id}`);
  await page.locator(".card-text", { hasText: "Email: consultation-invite" }).waitFor();
  await page.locator(".card-text", { hasText: "Wait up to 3 days for Consultation Booked" }).waitFor();
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText("Draft saved").waitFor();
  const saved = await call("GET", `/api/journeys/${doc.id}`);
  // The same document (the server keeps its keys in its own order; the UI sends back what it got).
  assert.deepEqual(saved.draft, doc);
});

test("quiet hours: turned on in the journey's settings, a problem shown at its field, saved in the draft, said on the canvas", async () => {
  const id = `${journeyId}-code`;
  await page.goto(`${ui}/journeys/${id}`);
  await page.locator(".card-text", { hasText: "Email: consultation-invite" }).waitFor();
  // Nothing selected: the journey's settings, quiet hours off.
  const quiet = panel().getByLabel("Quiet hours", { exact: true });
  assert.equal(await quiet.isChecked(), false);
  await quiet.check();
  assert.equal(await panel().getByLabel("From", { exact: true }).inputValue(), "21:00");
  assert.equal(await panel().getByLabel("To", { exact: true }).inputValue(), "08:00");
  // Ending when they start: the server's validator says so at the field.
  const to = panel().getByLabel("To", { exact: true });
  await panel().getByLabel("From", { exact: true }).fill("22:00");
  await to.fill("22:00");
  await panel().locator(".ed-field", { has: page.getByLabel("To", { exact: true }) }).getByText('quiet hours end when they start: "to" must differ from "from"').waitFor();
  assert.equal(await to.getAttribute("aria-invalid"), "true");
  await to.fill("07:30");
  await panel().getByLabel("A send in quiet hours", { exact: true }).selectOption("skip");
  await page.getByRole("button", { name: /^Problems: (No problems found|\d+ warnings?)$/ }).waitFor();
  assert.equal(await to.getAttribute("aria-invalid"), null);
  // The canvas: in the journey-wide settings (folded in a corner while editing), and on each send.
  await page.locator(".overview-fold > summary").click();
  await page.getByRole("region", { name: "Journey-wide settings" }).getByText("22:00–07:30, skipped").waitFor();
  await card("invite").getByTitle("Quiet hours 22:00–07:30, skipped: set for the whole journey").waitFor();
  await card("remind").getByTitle("Quiet hours 22:00–07:30, skipped: set for the whole journey").waitFor();
  await checkAccessible(page, "the journey's settings with quiet hours");
  await shot("11-quiet-hours");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText("Draft saved").waitFor();
  const saved = await call("GET", `/api/journeys/${id}`);
  assert.deepEqual(saved.draft.quiet_hours, { from: "22:00", to: "07:30", then: "skip" });
  // Only the draft has them: the live version is still the file.
  assert.equal(saved.published.document.quiet_hours, undefined);
});

test("frequency cap: turned on in the journey's settings, a problem shown at its field, saved in the draft beside the quiet hours", async () => {
  const id = `${journeyId}-code`;
  await page.goto(`${ui}/journeys/${id}`);
  await page.locator(".card-text", { hasText: "Email: consultation-invite" }).waitFor();
  const cap = panel().getByLabel("Frequency cap", { exact: true });
  assert.equal(await cap.isChecked(), false);
  await cap.check();
  const max = panel().getByLabel("At most", { exact: true });
  assert.equal(await max.inputValue(), "3");
  assert.equal(await panel().getByLabel("Within: number", { exact: true }).inputValue(), "7");
  assert.equal(await panel().getByLabel("Within: unit", { exact: true }).inputValue(), "d");
  // No messages at all is not a cap: the server's validator says so at the field.
  await max.fill("0");
  await panel().locator(".ed-field", { has: page.getByLabel("At most", { exact: true }) }).getByText('"max" is how many messages at most: a whole number from 1').waitFor();
  assert.equal(await max.getAttribute("aria-invalid"), "true");
  await max.fill("2");
  await panel().getByLabel("Within: unit", { exact: true }).selectOption("w");
  await page.getByRole("button", { name: /^Problems: (No problems found|\d+ warnings?)$/ }).waitFor();
  assert.equal(await max.getAttribute("aria-invalid"), null);
  await page.locator(".overview-fold > summary").click();
  await page.getByRole("region", { name: "Journey-wide settings" }).getByText("at most 2 messages in 7w").waitFor();
  await checkAccessible(page, "the journey's settings with a frequency cap");
  await shot("12-cap");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText("Draft saved").waitFor();
  const saved = await call("GET", `/api/journeys/${id}`);
  assert.deepEqual(saved.draft.cap, { max: 2, within: "7w" });
  // The quiet hours saved before are still there; the live version is still the file.
  assert.deepEqual(saved.draft.quiet_hours, { from: "22:00", to: "07:30", then: "skip" });
  assert.equal(saved.published.document.cap, undefined);
});

test("priority: set in the journey's settings, a problem shown at its field, saved in the draft beside the cap; 0 leaves it out", async () => {
  const id = `${journeyId}-code`;
  await page.goto(`${ui}/journeys/${id}`);
  await page.locator(".card-text", { hasText: "Email: consultation-invite" }).waitFor();
  const priority = panel().getByLabel("Priority", { exact: true });
  const field = panel().locator(".ed-field", { has: page.getByLabel("Priority", { exact: true }) });
  assert.equal(await priority.inputValue(), "");
  await field.getByText("only the marketing messages of the highest priority go", { exact: false }).waitFor();
  // Beyond the range: the server's validator says so at the field.
  await priority.fill("5000");
  await field.getByText('"priority" is a whole number from -1000 to 1000 (higher wins; default 0)').waitFor();
  assert.equal(await priority.getAttribute("aria-invalid"), "true");
  await priority.fill("10");
  await page.getByRole("button", { name: /^Problems: (No problems found|\d+ warnings?)$/ }).waitFor();
  assert.equal(await priority.getAttribute("aria-invalid"), null);
  await field.getByText("only the marketing messages of the highest priority go", { exact: false }).waitFor();
  // Said beside the graph.
  await page.locator(".overview-fold > summary").click();
  const overview = page.getByRole("region", { name: "Journey-wide settings" });
  await overview.getByText("10, above the default 0").waitFor();
  await checkAccessible(page, "the journey's settings with a priority");
  await shot("15-priority");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText("Draft saved").waitFor();
  let saved = await call("GET", `/api/journeys/${id}`);
  assert.equal(saved.draft.priority, 10);
  // The cap and quiet hours saved before are still there; the live version is still the file.
  assert.deepEqual(saved.draft.cap, { max: 2, within: "7w" });
  assert.deepEqual(saved.draft.quiet_hours, { from: "22:00", to: "07:30", then: "skip" });
  assert.equal(saved.published.document.priority, undefined);
  // 0 is the default: the draft has no priority then.
  await priority.fill("0");
  await overview.getByText("10, above the default 0").waitFor({ state: "detached" });
  const put = page.waitForResponse((r) => r.request().method() === "PUT" && new URL(r.url()).pathname === `/api/journeys/${id}`);
  await page.getByRole("button", { name: "Save draft" }).click();
  assert.equal((await put).status(), 200);
  saved = await call("GET", `/api/journeys/${id}`);
  assert.equal("priority" in saved.draft, false);
  assert.deepEqual(saved.draft.cap, { max: 2, within: "7w" });
});

test("a task step and a send with A/B variants, added by clicking, saved in the draft as the journey language has them", async () => {
  const file = example("consultation");
  const id = `${journeyId}-ab`;
  await call("POST", `/api/journeys/${id}/apply`, { document: { ...file, id } });
  await page.goto(`${ui}/journeys/${id}`);
  await page.locator(".card-text", { hasText: "Email: consultation-invite" }).waitFor();

  // A task after the invite, for the sales team, due in a day.
  await card("invite").click();
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Add Task" }).click();
  await panel().getByRole("heading", { name: "task" }).waitFor();
  const title = panel().getByLabel("Title", { exact: true });
  // Empty, its title is what the validator asks for, at the field.
  await panel().locator(".ed-field", { has: page.getByLabel("Title", { exact: true }) }).getByText('this step needs "title"').waitFor();
  assert.equal(await title.getAttribute("aria-invalid"), "true");
  await title.fill("Call ");
  await panel().getByRole("list", { name: "Variables" }).getByRole("button", { name: "traits.name" }).click();
  assert.equal(await title.inputValue(), "Call {{ traits.name }}");
  await panel().getByLabel("Body (optional)", { exact: true }).fill("They asked about a consultation.");
  await panel().getByLabel("Team (optional)", { exact: true }).fill("sales");
  await panel().getByLabel("Due after (optional): number", { exact: true }).fill("1");
  await page.locator(".card-text", { hasText: "Task: Call {{ traits.name }} — for team sales, due in 1 day" }).waitFor();
  // Then a wait for what becomes of it.
  await panel().getByRole("button", { name: "+ Wait for its outcome" }).click();
  await panel().getByRole("heading", { name: "task-done" }).waitFor();
  await page.locator(".card-text", { hasText: "Wait up to 1 day for Task Completed or Task Declined" }).waitFor();
  await card("task").click();
  await panel().getByRole("heading", { name: "task" }).waitFor();
  await checkAccessible(page, "the editor with a task step's form");
  await shot("13-task");

  // The reminder, an A/B test: the reminder itself against the invite, half and half.
  await card("remind").click();
  await panel().getByLabel("Content", { exact: true }).selectOption("variants");
  const variants = panel().getByRole("list", { name: "Variants" }).getByRole("listitem");
  assert.equal(await variants.count(), 2);
  assert.equal(await variants.nth(0).getByLabel("Template", { exact: true }).inputValue(), "consultation-reminder");
  await variants.nth(0).getByLabel("Name", { exact: true }).fill("reminder");
  await variants.nth(1).getByLabel("Name", { exact: true }).fill("invite");
  await variants.nth(1).getByLabel("Template", { exact: true }).selectOption("consultation-invite");
  await variants.nth(0).getByLabel("Weight (%)", { exact: true }).fill("60");
  await panel().getByText("The weights add up to 110%: they must add up to 100.").waitFor();
  await variants.nth(1).getByLabel("Weight (%)", { exact: true }).fill("40");
  await panel().getByText("The weights add up to 100%.").waitFor();
  await page.getByRole("button", { name: /^Problems: (No problems found|\d+ warnings?)$/ }).waitFor();
  await page.locator(".card-text", { hasText: "Email: A/B reminder 60% · invite 40%" }).waitFor();
  await checkAccessible(page, "the editor with a send's A/B variants");
  await shot("14-variants");

  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByText("Draft saved").waitFor();
  const saved = await call("GET", `/api/journeys/${id}`);
  const on = (event) => ({ event, filter: { property: "node", op: "eq", value: "task" } });
  assert.deepEqual(saved.draft.steps, [
    { ...file.steps[0], next: "task" },
    { id: "task", type: "task", title: "Call {{ traits.name }}", next: "task-done", body: "They asked about a consultation.", team: "sales", due: "1d" },
    { id: "task-done", type: "wait_for", events: [on("Task Completed"), on("Task Declined")], timeout: "1d", timeout_next: "booked" },
    file.steps[1],
    {
      id: "remind",
      type: "send",
      channel: "email",
      variants: [
        { name: "reminder", weight: 60, template: "consultation-reminder" },
        { name: "invite", weight: 40, template: "consultation-invite" },
      ],
    },
  ]);
  // Valid as it is: it publishes.
  const published = await call("POST", `/api/journeys/${id}/publish`, { in_flight: "stay" });
  assert.equal(published.version, 2);
});

test("the page made no request elsewhere and threw no error", () => browser.clean());
