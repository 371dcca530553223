// Browser test of segments against a real server: Debian's Chromium driven by playwright-core.
// It makes a segment on the Segments page with the condition editor (plan is pro, and a cohort
// trait of this run's, so that reruns on one server start afresh), has a condition a segment may
// not read refused with the server's words at that condition, saves it; sends identify calls
// through the Segment API (a source made here) for a pro and a free customer of the cohort, and
// finds the pro one among the members, the size, the size chart and the CSV export; opens the
// person's page and finds the segment there, linking back; builds a journey in the editor that
// starts when people enter the segment (the entry card names it) and branches on membership,
// publishes it, sees a third customer who enters the segment enter the journey; is refused the
// deletion of the segment the journey uses, in the server's words; and deletes an unused one after
// being asked once. A screenshot of each page goes to $SCREENSHOTS.
//
//   WAYFARER_URL    the server (default http://127.0.0.1:8420), best started with
//                   WAYFARER_TESTING_MANUAL_CLOCK (the script moves the clock a second at a time
//                   while it waits for the segment to be filled; without it, it just waits). A
//                   server that does not serve the web interface itself gets a `vite preview` of
//                   web/dist in front of it, proxying /api, /v1 and /a/ to it.
//   WAYFARER_TOKEN  its admin token (required)
//   WAYFARER_PREVIEW  set to 1 to open web/dist through a `vite preview` (proxying the API to
//                   WAYFARER_URL) even when the server serves its own pages (the UI built before
//                   the server was)
//   SCREENSHOTS     where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Run from web/: npm run e2e:segments (or `cargo xtask web-e2e`, which runs every e2e/*.mjs
// against a fresh server of its own).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { apiClient, checkAccessible, openBrowser, screenshot, servePages, shots } from "./lib/browser.mjs";

const server = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? "";
const { api, ok, segment: segmentCall, until } = apiClient(server, token);

/** This run's: the cohort trait its people have, the segment's id and name, the journey's id. */
const run = Date.now().toString(36);
const segmentId = `pro-${run}`;
const segmentName = `Pro customers ${run}`;
const journeyId = `welcome-pro-${run}`;
const ada = `${run}-ada`;
const bob = `${run}-bob`;
const cara = `${run}-cara`;

/** Where the pages are opened: the server, or a preview in front of it. */
let base = server;
let preview;
let browser;
let page;
let writeKey;

/** A Segment call (identify, track) with the test's source. */
const send = (kind, body) => segmentCall(writeKey, kind, body);

/** A test that leaves a screenshot of the page when it fails. */
const test = (name, fn) =>
  nodeTest(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      await page?.screenshot({ path: join(shots, `segments-failed-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}.png`) }).catch(() => undefined);
      throw e;
    }
  });

const shot = (name, options) => screenshot(page, `segments-${name}`, options);
const panel = () => page.getByRole("tabpanel");
const card = (id) => page.locator(`.react-flow__node[data-id="${id}"]`);
const definition = () => page.getByRole("form", { name: "Definition" });
const who = () => definition().getByRole("region", { name: "Who is in it" });
const members = () => page.getByRole("region", { name: "Members" });

/** Picks `item` from the menu that the last button named `button` in `scope` opens. */
async function pick(scope, button, item) {
  await scope.getByRole("button", { name: button, exact: true }).last().click();
  await page.getByRole("menuitem", { name: item, exact: true }).click();
}

before(async () => {
  assert.ok(token, "set WAYFARER_TOKEN to the server's admin token");
  const source = await ok("POST", "/api/sources", { id: `segments-e2e-${run}` });
  writeKey = source.write_key;
  ({ base, preview } = await servePages(server, "/segments", 4176));
  browser = await openBrowser({ origin: base, token });
  page = await browser.page();
  page.setDefaultTimeout(15000);
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

test("a new segment, built in the condition editor: refused with the problem at its condition, then saved", async () => {
  await page.goto(`${base}/segments`);
  await page.getByRole("heading", { name: "Segments", level: 1 }).waitFor();
  assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Segments" }).getAttribute("aria-current"), "page");
  await checkAccessible(page, "Segments");
  await shot("1-list");

  await page.getByRole("button", { name: "New segment" }).click();
  await page.getByLabel("Id of the new segment (what journeys name)").fill(segmentId);
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForURL(`${base}/segments/${segmentId}`);
  await page.getByText("New segment, not saved yet").waitFor();
  await definition().getByLabel("Name", { exact: true }).fill(segmentName);
  await page.getByRole("heading", { name: segmentName, level: 1 }).waitFor();

  // plan is pro, and the cohort is this run's.
  await pick(who(), "+ Add a condition", "Trait");
  await who().getByLabel("Trait name", { exact: true }).fill("plan");
  assert.equal(await who().getByLabel("Trait: operator", { exact: true }).inputValue(), "eq");
  await who().getByLabel("Trait: value", { exact: true }).fill("pro");
  await pick(who(), "+ And", "Trait");
  await who().getByLabel("Trait name", { exact: true }).last().fill("cohort");
  await who().getByLabel("Trait: value", { exact: true }).last().fill(run);
  await checkAccessible(page, "a new segment's page");
  await shot("2-new");

  // An engineer adds, as JSON, what a segment cannot read: an event's property.
  const conditions = [
    { trait: "plan", op: "eq", value: "pro" },
    { trait: "cohort", op: "eq", value: run },
  ];
  await definition().locator("summary", { hasText: "JSON of the condition" }).click();
  const json = definition().getByLabel("JSON of the condition", { exact: true });
  assert.deepEqual(JSON.parse(await json.inputValue()), { all: conditions });
  await json.fill(JSON.stringify({ all: [...conditions, { property: "path", op: "exists" }] }));
  const items = who().locator(".cond-items > li");
  await items.nth(2).getByLabel("Event property name", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Not saved: the segment has 1 problem, shown at the condition it is about." }).waitFor();
  await items.nth(2).getByText('a segment is about the person, not one event: use "trait", or a "history" query of the event').waitFor();
  assert.equal(await items.nth(0).locator(".cond-problems").count(), 0, "the problem is at the condition it is about, not elsewhere");
  assert.equal((await api("GET", `/api/segments/${segmentId}`)).status, 404, "nothing was saved");
  await checkAccessible(page, "a segment refused, its problem at its condition");
  await shot("3-refused");

  // Removed: the problem goes with it, and the segment saves.
  await items.nth(2).getByRole("button", { name: "Remove this condition" }).click();
  await page.getByRole("alert").filter({ hasText: "Not saved" }).waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.locator(".page-head [role=status]", { hasText: /^Saved/ }).waitFor();
  const saved = await ok("GET", `/api/segments/${segmentId}`);
  assert.equal(saved.name, segmentName);
  assert.deepEqual(saved.condition, { all: conditions });
  await page.getByRole("button", { name: "Delete…" }).waitFor();
});

test("identify calls put the pro customer in it: the members, the size, the chart, the CSV", async () => {
  await send("identify", { userId: ada, traits: { name: `Ada ${run}`, email: `${ada}@example.com`, plan: "pro", cohort: run } });
  await send("identify", { userId: bob, traits: { name: `Bob ${run}`, email: `${bob}@example.com`, plan: "free", cohort: run } });
  await until("Ada among the members, the fill done", async () => {
    const [list, one] = await Promise.all([ok("GET", `/api/segments/${segmentId}/members`), ok("GET", `/api/segments/${segmentId}`)]);
    const users = list.members.flatMap((m) => m.person.identities.filter((i) => i.kind === "user_id").map((i) => i.value));
    return users.includes(ada) && one.fill == null;
  });
  const listed = await ok("GET", `/api/segments/${segmentId}/members`);
  assert.equal(listed.members.length, 1, "Bob is on the free plan: not a member");

  await page.reload();
  await page.getByRole("heading", { name: segmentName, level: 1 }).waitFor();
  await members().getByTestId("segment-size").filter({ hasText: /^1 person$/ }).waitFor();
  const table = members().getByRole("table");
  await table.getByRole("link", { name: `Ada ${run}` }).waitFor();
  await table.getByText(ada, { exact: true }).waitFor();
  assert.equal(await table.getByRole("link", { name: `Bob ${run}` }).count(), 0);
  await members().getByText("1 member shown, that is all").waitFor();
  const chart = members().getByRole("img", { name: /^Size over the last 30 days: / });
  await chart.waitFor();
  assert.match((await chart.getAttribute("aria-label")) ?? "", /, 1 person on [^;]+; at most 1\. 1 entered, 0 left\.$/);
  assert.equal(await chart.locator("rect").count(), 30);
  await checkAccessible(page, "a segment with its members");
  await shot("4-members", { fullPage: true });

  // The CSV: a download of every member (the page holds a token, which a link cannot carry, so it fetches the file with it).
  const csv = members().getByRole("link", { name: "Export CSV" });
  assert.equal(await csv.getAttribute("href"), `/api/segments/${segmentId}/members.csv`);
  const [download] = await Promise.all([page.waitForEvent("download"), csv.click()]);
  assert.equal(download.suggestedFilename(), `${segmentId}.csv`);
  const lines = readFileSync(await download.path(), "utf8").trim().split(/\r?\n/);
  assert.equal(lines[0], "profile_id,user_id,email,since");
  assert.equal(lines.length, 2);
  assert.match(lines[1], new RegExp(`^\\d+,${ada},${ada}@example\\.com,`));
});

test("the person's page lists the segment, which links back to it", async () => {
  await members().getByRole("link", { name: `Ada ${run}` }).click();
  await page.waitForURL(/\/people\/\d+$/);
  await page.getByRole("heading", { name: `Ada ${run}`, level: 1 }).waitFor();
  const segments = page.getByRole("region", { name: "Segments" });
  const link = segments.getByRole("link", { name: segmentName });
  await link.waitFor();
  await checkAccessible(page, "a person's page with their segments");
  await shot("5-person");
  await link.click();
  await page.waitForURL(`${base}/segments/${segmentId}`);
  await page.getByRole("heading", { name: segmentName, level: 1 }).waitFor();
});

test("a journey that starts when people enter the segment, built in the editor; a new member enters it", async () => {
  await page.goto(`${base}/journeys/+new`);
  // The entry's form is open at once: Segment, from the palette.
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Segment", exact: true }).click();
  assert.equal(await panel().getByLabel("Runs start when", { exact: true }).inputValue(), "segment");
  await panel().getByLabel("Segment", { exact: true }).selectOption({ label: segmentName });
  assert.equal(await panel().getByLabel("A run starts when a person", { exact: true }).inputValue(), "enter");
  await page.locator(".card-text", { hasText: `Enters segment ${segmentName}` }).waitFor();
  await checkAccessible(page, "the editor with a segment entry's form");
  await shot("6-entry");

  // A day later, if they are still in it: a branch on membership.
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Add Wait", exact: true }).click();
  await panel().getByRole("heading", { name: "wait" }).waitFor();
  await page.getByRole("navigation", { name: "Palette" }).getByRole("button", { name: "Add Branch" }).click();
  await panel().getByRole("heading", { name: "branch" }).waitFor();
  const when = panel().getByRole("region", { name: "If (case 1)" });
  await pick(when, "+ Add condition", "Segment membership");
  await when.getByLabel("Segment", { exact: true }).selectOption({ label: segmentName });
  await when.getByText("Is in segment", { exact: true }).waitFor();
  await page.locator(".card-text", { hasText: `If in segment ${segmentName}` }).waitFor();

  // Its id and name, with nothing selected.
  await page.keyboard.press("Escape");
  await panel().getByLabel("Id", { exact: true }).fill(journeyId);
  await panel().getByLabel("Name", { exact: true }).fill(`Welcome pro customers ${run}`);
  await page.getByRole("button", { name: /^Problems: (No problems found|\d+ warnings?)$/ }).waitFor();
  await checkAccessible(page, "the editor with a journey on a segment");
  await shot("7-journey");

  await page.getByRole("button", { name: "Publish…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: /publish/i }).click();
  await page.waitForURL(`${base}/journeys/${journeyId}`);
  await page.getByText("live: version 1").waitFor();
  const journey = await ok("GET", `/api/journeys/${journeyId}`);
  assert.deepEqual(journey.published.document.entry, { segment: segmentId, on: "enter" });
  assert.deepEqual(
    journey.published.document.steps.map((s) => s.type),
    ["wait", "branch"],
  );
  assert.deepEqual(journey.published.document.steps[1].cases[0].when, { all: [{ segment: segmentId }] });

  // A new pro customer of the cohort enters the segment, and so the journey.
  await send("identify", { userId: cara, traits: { name: `Cara ${run}`, email: `${cara}@example.com`, plan: "pro", cohort: run } });
  await card("(entry)").getByLabel(/^1 entered/).waitFor({ timeout: 20000 });
  await card("wait").getByLabel(/^1 waiting now/).waitFor({ timeout: 20000 });
  const profile = await ok("GET", `/api/profiles/lookup?user_id=${cara}`);
  assert.deepEqual(profile.segments, [{ id: segmentId, name: segmentName }]);
  assert.ok(profile.journeys.some((r) => r.journey === journeyId), "Cara's run of the journey");
  await shot("8-entered");
});

test("the segment the journey uses is not deleted: asked once, refused in the server's words", async () => {
  await page.goto(`${base}/segments/${segmentId}`);
  await page.getByRole("heading", { name: segmentName, level: 1 }).waitFor();
  await members().getByTestId("segment-size").filter({ hasText: /^2 people$/ }).waitFor();
  await page.getByRole("button", { name: "Delete…" }).click();
  const question = page.getByRole("group", { name: new RegExp(`^Delete the segment “${segmentName}”\\?`) });
  await question.getByText("Its 2 people leave it at once", { exact: false }).waitFor();
  await question.getByRole("button", { name: `Yes, delete ${segmentName}` }).click();
  await page.getByRole("alert").filter({ hasText: `Not deleted: segment "${segmentId}" is used by journey "${journeyId}"` }).waitFor();
  assert.equal((await api("GET", `/api/segments/${segmentId}`)).status, 200);
  await checkAccessible(page, "a segment in use, not deleted");
  await shot("9-in-use");
});

test("an unused segment is deleted after asking once, and is gone from the list", async () => {
  const id = `unused-${run}`;
  const name = `Unused ${run}`;
  await ok("PUT", `/api/segments/${id}`, { name, condition: { trait: "cohort", op: "eq", value: `nobody-${run}` } });
  await page.goto(`${base}/segments`);
  await page.getByRole("link", { name }).click();
  await page.waitForURL(`${base}/segments/${id}`);
  await page.getByRole("heading", { name, level: 1 }).waitFor();
  await page.getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("button", { name: `Yes, delete ${name}` }).click();
  await page.waitForURL(`${base}/segments`);
  await page.getByRole("link", { name: segmentName }).waitFor();
  assert.equal(await page.getByRole("link", { name }).count(), 0);
  assert.equal((await api("GET", `/api/segments/${id}`)).status, 404);
  await shot("10-list", { fullPage: true });
});

test("the page made no request elsewhere and threw no error", () => browser.clean());
