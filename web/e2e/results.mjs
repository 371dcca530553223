// Browser test of a journey's Results page against a real server: Debian's Chromium driven by
// playwright-core. It makes, through the API, a source, two email templates whose HTML has a link,
// and a journey of this run's (an entry on Trial Started for this run's cohort only, with a 20%
// holdout; the goal Order Completed, which ends the run; a split of two paths, each sending one of
// the templates, then a wait), and first finds the Results tab beside the canvas and its empty
// state. Then people of the cohort enter (identify with an email, then track, `POST /v1/identify`
// and `/v1/track` with the source's write key) until both paths and the control group have some,
// waiting (moving a manual clock a second at a time) for each one's run and email; the script
// loads some emails' open pixels and follows some tracked links (reading each captured email's
// HTML from `GET /api/messages`), and some people order (with revenue). On the Results page it
// then finds what a marketer looks at, each number computed from what the script did: people,
// conversions with their rate, revenue; the conversions chart by day and by hour; the per-step
// table (the entry, the control group, each step) with a sparkline each; the holdout and the split
// with both arms and their verdicts in words; the funnel per content (sent, delivered, opened,
// clicked, converted, with the note that the provider reports no deliveries). An order made while
// the page is open shows without a reload. Each state is checked with axe-core and screenshotted
// to $SCREENSHOTS.
//
//   WAYFARER_URL    the server (default http://127.0.0.1:8420), best started with
//                   WAYFARER_TESTING_MANUAL_CLOCK (the script moves the clock a second at a time
//                   while it waits for runs and messages; without it, it just waits), and with
//                   tracking.base_url set to its own address (the emails' pixels and links lead
//                   there). A server that does not serve the web interface itself gets a
//                   `vite preview` of web/dist in front of it, proxying /api, /v1 and /a/ to it.
//   WAYFARER_TOKEN  its admin token (required)
//   WAYFARER_PREVIEW  set to 1 to open web/dist through a `vite preview` (proxying the API to
//                   WAYFARER_URL) even when the server serves its own pages (the UI built before
//                   the server was)
//   SCREENSHOTS     where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Run from web/: npm run e2e:results (or `cargo xtask web-e2e`, which runs every e2e/*.mjs
// against a fresh server of its own).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { apiClient, checkAccessible, openBrowser, screenshot, servePages, shots } from "./lib/browser.mjs";

const server = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? "";
const { ok, segment: segmentCall, until } = apiClient(server, token);

/** This run's: the cohort its people are of, the journey, its templates. */
const run = Date.now().toString(36);
const journeyId = `results-${run}`;
const journeyName = `Trial results ${run}`;
const templates = { a: `results-${run}-a`, b: `results-${run}-b` };

const JOURNEY = {
  id: journeyId,
  name: journeyName,
  entry: { event: "Trial Started", filter: { property: "cohort", op: "eq", value: run }, holdout: 20 },
  goal: { event: "Order Completed", exit: true },
  steps: [
    { id: "pick", type: "split", paths: [{ name: "a", weight: 50, next: "send-a" }, { name: "b", weight: 50, next: "send-b" }] },
    { id: "send-a", type: "send", channel: "email", template: templates.a, next: "wait" },
    { id: "send-b", type: "send", channel: "email", template: templates.b, next: "wait" },
    { id: "wait", type: "wait", duration: "7d" },
  ],
};

/** Where the pages are opened: the server, or a preview in front of it. */
let base = server;
let preview;
let browser;
let page;
let writeKey;

/**
 * The people who entered, by where the journey put them: `control` (held out), `a` and `b` (the
 * split's paths), each `{user, profile, html}` (html: the email they got).
 */
const groups = { control: [], a: [], b: [] };

/** A Segment call (identify, track) with the test's source. */
const send = (kind, body) => segmentCall(writeKey, kind, body);

/** A test that leaves a screenshot of the page when it fails. */
const test = (name, fn) =>
  nodeTest(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      await page?.screenshot({ path: join(shots, `results-failed-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}.png`), fullPage: true }).catch(() => undefined);
      throw e;
    }
  });

/** A screenshot of the whole page: the window made as tall as the page's content (which scrolls inside its main element), then as it was. */
async function shot(name) {
  const height = await page.evaluate(() => document.querySelector("main")?.scrollHeight ?? 800);
  await page.setViewportSize({ width: 1280, height: Math.max(800, height) });
  await screenshot(page, `results-${name}`);
  await page.setViewportSize({ width: 1280, height: 800 });
}
const section = (name) => page.getByRole("region", { name, exact: true });
const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });

before(async () => {
  assert.ok(token, "set WAYFARER_TOKEN to the server's admin token");
  writeKey = (await ok("POST", "/api/sources", { id: `results-e2e-${run}` })).write_key;
  for (const [arm, id] of Object.entries(templates)) {
    await ok("PUT", `/api/templates/${id}`, {
      subject: `Your trial, ${arm}`,
      html: `<p>Hello {{ traits.name }},</p><p>Version ${arm}: <a href="https://shop.example.com/plans?v=${arm}">see the plans</a>.</p>`,
    });
  }
  const applied = await ok("POST", `/api/journeys/${journeyId}/apply`, { document: JOURNEY });
  assert.equal(applied.status, "published", JSON.stringify(applied));
  ({ base, preview } = await servePages(server, `/journeys/${journeyId}`, 4178));
  browser = await openBrowser({ origin: base, token });
  page = await browser.page();
  page.setDefaultTimeout(15000);
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

test("the Results tab beside the canvas: nobody has entered yet, and the page says what it will show", async () => {
  await page.goto(`${base}/journeys/${journeyId}`);
  await page.getByRole("heading", { name: journeyName, level: 1 }).waitFor();
  const tabs = page.getByRole("navigation", { name: "Journey views" });
  assert.equal(await tabs.getByRole("link", { name: "Canvas" }).getAttribute("aria-current"), "page");
  await page.locator('.react-flow__node[data-id="send-a"]').waitFor();
  await shot("0-canvas");
  await tabs.getByRole("link", { name: "Results" }).click();
  await page.waitForURL(`${base}/journeys/${journeyId}/results`);
  await page.getByRole("heading", { name: journeyName, level: 1 }).waitFor();
  assert.equal(await tabs.getByRole("link", { name: "Results" }).getAttribute("aria-current"), "page");
  const empty = section("Nobody has entered this journey yet");
  await empty.getByText(`It is live: people enter it as its entry says — “On Trial Started if cohort is ${run}”.`, { exact: true }).waitFor();
  await empty.getByRole("link", { name: "Open the canvas" }).waitFor();
  await checkAccessible(page, "the Results page of a journey nobody entered");
  await shot("1-nobody-yet");
});

/** Enters `count` more people of the cohort; answers their user ids. */
async function enter(count) {
  const users = [];
  for (let i = 0; i < count; i++) {
    const user = `${run}-p${groups.control.length + groups.a.length + groups.b.length + users.length}`;
    await send("identify", { userId: user, traits: { name: `Person ${user}`, email: `${user}@example.com` } });
    await send("track", { userId: user, event: "Trial Started", properties: { cohort: run } });
    users.push(user);
  }
  return users;
}

/** Where the journey put `user` (their run: held out, or the split's path) and, unless held out, their captured email; undefined until both are there. */
async function placed(user) {
  const profile = await ok("GET", `/api/profiles/lookup?user_id=${encodeURIComponent(user)}`).catch(() => undefined);
  const runView = profile?.journeys.find((r) => r.journey === journeyId);
  if (!runView) return undefined;
  if (runView.control_group) return { group: "control", user, profile: profile.id };
  const arm = runView.assignments.pick;
  if (!arm) return undefined;
  const { messages } = await ok("GET", `/api/messages?status=captured&profile_id=${profile.id}`);
  const email = messages.find((m) => m.template === templates[arm]);
  return email ? { group: arm, user, profile: profile.id, html: email.message.html } : undefined;
}

/** The open pixel and the tracked link of an email's HTML. */
function tracking(html) {
  const pixel = html.match(/<img src="([^"]+)"/)?.[1];
  const link = html.match(/<a href="([^"]+)"/)?.[1];
  assert.ok(pixel && link, `the email has a pixel and a tracked link (tracking.base_url set?): ${html}`);
  const decode = (u) => u.replaceAll("&amp;", "&");
  assert.ok(decode(link).startsWith(server), `the link is tracked by the server: ${link}`);
  return { pixel: decode(pixel), link: decode(link) };
}

async function open(person) {
  const r = await fetch(tracking(person.html).pixel);
  assert.equal(r.status, 200, "the pixel loads");
}

async function click(person) {
  const r = await fetch(tracking(person.html).link, { redirect: "manual" });
  assert.equal(r.status, 302, "the tracked link redirects");
  assert.match(r.headers.get("location") ?? "", /^https:\/\/shop\.example\.com\/plans\?v=[ab]$/);
}

/** What the funnel and the results should say, from what the script did. */
const expected = { opened: { a: 0, b: 0 }, clicked: { a: 0, b: 0 }, converted: { a: 0, b: 0, control: 0 }, revenue: 0 };

async function order(person, revenue) {
  await send("track", { userId: person.user, event: "Order Completed", properties: { revenue } });
  expected.converted[person.group] += 1;
  expected.revenue += revenue;
}

const people = () => groups.control.length + groups.a.length + groups.b.length;
const conversions = () => expected.converted.a + expected.converted.b + expected.converted.control;

test("people enter, each gets a path and an email (or is held out); some open, click and order", async () => {
  // Enough people for both paths to have two and the control group one (the choice is random but
  // stable per person): eight first, then more while one is short.
  let pending = await enter(8);
  for (let round = 0; ; round++) {
    const found = await until(`the runs and emails of ${pending.length} people`, async () => {
      const all = await Promise.all(pending.map(placed));
      return all.every(Boolean) ? all : undefined;
    });
    for (const p of found) groups[p.group].push(p);
    if (groups.a.length >= 2 && groups.b.length >= 2 && groups.control.length >= 1) break;
    assert.ok(round < 6, `after ${people()} people, the paths and the control group still lack some: ${JSON.stringify(Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, v.length])))}`);
    pending = await enter(4);
  }
  const [a0, a1] = groups.a;
  const [b0, b1] = groups.b;
  // Path a: one opens and clicks, one only opens. Path b: one clicks with images blocked (no open), one opens.
  await open(a0);
  await click(a0);
  await open(a1);
  await click(b0);
  await open(b1);
  // Opening again counts once.
  await open(a0);
  Object.assign(expected, { opened: { a: 2, b: 1 }, clicked: { a: 1, b: 1 } });
  // Orders: one on each path, one in the control group.
  await order(a0, 40);
  await order(b1, 59.5);
  await order(groups.control[0], 25);

  await until("the orders are conversions, the opens and clicks counted", async () => {
    const [results, funnel] = await Promise.all([ok("GET", `/api/journeys/${journeyId}/results`), ok("GET", `/api/journeys/${journeyId}/funnel`)]);
    const row = (arm) => funnel.contents.find((c) => c.template === templates[arm]);
    return (
      results.converted === conversions() &&
      ["a", "b"].every((arm) => row(arm)?.opened === expected.opened[arm] && row(arm)?.clicked === expected.clicked[arm] && row(arm)?.converted === expected.converted[arm])
    );
  });
});

/** A table's row as its cells' texts (a row header first). */
const rowTexts = (row) => row.locator("th, td").evaluateAll((cells) => cells.map((c) => c.textContent.trim()));

test("the Results page: the headline, the chart by day and by hour, the steps, the experiments with their verdicts, the funnel per content", async () => {
  await page.goto(`${base}/journeys/${journeyId}/results`);
  await page.getByRole("heading", { name: journeyName, level: 1 }).waitFor();

  // The headline: people (the control group included), conversions and their rate, revenue.
  const n = people();
  await page.getByTestId("results-people").filter({ hasText: new RegExp(`^${n}$`) }).waitFor();
  assert.equal(await page.getByTestId("results-converted").textContent(), String(conversions()));
  assert.equal(await page.getByTestId("results-rate").textContent(), `${percent.format(conversions() / n)} of people`);
  assert.equal(await page.getByTestId("results-revenue").textContent(), "124.50");
  await page.getByText("Order Completed; ends the run", { exact: true }).waitFor();

  // Entries and conversions over the last 30 days: everyone entered today.
  const over = section("Conversions over time");
  const chart = over.getByRole("img", { name: new RegExp(`^Entries and conversions by day from .* \\(UTC\\): ${n} entered, ${conversions()} converted; at most ${n} entered in a day\\.$`) });
  await chart.waitFor();
  assert.equal(await chart.locator("g.rs-bucket").count(), 30);
  assert.equal(await chart.locator("g.rs-bucket").last().getAttribute("data-entered"), String(n));
  assert.equal(await chart.locator("g.rs-bucket").last().getAttribute("data-converted"), String(conversions()));
  await over.locator("summary", { hasText: "The numbers as a table" }).click();
  assert.deepEqual((await rowTexts(over.getByRole("table").getByRole("row").last())).slice(1), [String(n), String(conversions())]);

  // The steps: the entry counts the people the journey acts on, the control group the others.
  const steps = section("Steps over time");
  const acted = groups.a.length + groups.b.length;
  const stepRow = (node) => steps.locator(`tr[data-node="${node}"]`);
  const totals = async (node) => (await rowTexts(stepRow(node))).slice(1, 6);
  // Entered, passed, exited, converted, waiting now.
  assert.deepEqual(await totals("$entry"), [acted, acted, 0, 0, 0].map(String));
  assert.deepEqual((await totals("$control")).slice(0, 4), [groups.control.length, 0, 1, 1].map(String));
  assert.deepEqual((await totals("send-a")).slice(0, 2), [groups.a.length, groups.a.length].map(String));
  assert.deepEqual((await totals("send-b")).slice(0, 2), [groups.b.length, groups.b.length].map(String));
  // The two who ordered left the wait (the goal ends the run); the others wait.
  assert.deepEqual(await totals("wait"), [acted, 0, 2, 2, acted - 2].map(String));
  await stepRow("$entry").getByRole("rowheader", { name: /^Entry/ }).waitFor();
  await stepRow("$control").getByRole("rowheader", { name: /^Control group/ }).waitFor();
  await stepRow("send-a").getByRole("img", { name: `send-a: entered per day, ${groups.a.length} in all, at most ${groups.a.length} in a day` }).waitFor();
  await steps.getByRole("group", { name: "Per step, draw" }).getByRole("button", { name: "Converted" }).click();
  await stepRow("wait").getByRole("img", { name: "wait: converted per day, 2 in all, at most 2 in a day" }).waitFor();

  // The holdout and the split: both arms each, and the verdict in words.
  const experiments = section("Experiments");
  const holdout = experiments.getByRole("region", { name: "Holdout (control group)" });
  await holdout.getByText("Journey against control group: not enough data yet", { exact: true }).waitFor();
  assert.equal(await holdout.locator("li[data-verdict]").getAttribute("data-verdict"), "not_enough_data");
  const arm = async (scope, name) => (await rowTexts(scope.locator(`tr[data-arm="${name}"]`))).slice(1, 4);
  const rate = (c, p) => percent.format(c / p);
  assert.deepEqual(await arm(holdout, "control group"), [groups.control.length, 1, rate(1, groups.control.length)].map(String));
  assert.deepEqual(await arm(holdout, "journey"), [acted, 2, rate(2, acted)].map(String));
  const split = experiments.getByRole("region", { name: "Split pick" });
  await split.getByText("B against a: not enough data yet", { exact: true }).waitFor();
  assert.deepEqual(await arm(split, "a"), [groups.a.length, 1, rate(1, groups.a.length)].map(String));
  assert.deepEqual(await arm(split, "b"), [groups.b.length, 1, rate(1, groups.b.length)].map(String));
  await split.locator('tr[data-arm="a"]').getByText("baseline", { exact: true }).waitFor();
  await split.locator('tr[data-arm="b"]').getByRole("img", { name: new RegExp(`^${rate(1, groups.b.length).replace(".", "\\.")} \\(95% interval .* to .*\\)$`) }).waitFor();

  // The funnel per content: what the script sent, opened, clicked and ordered; no delivery reports (captured).
  const funnel = section("Funnel per content");
  for (const [armName, id] of Object.entries(templates)) {
    const row = funnel.locator(`tr[data-template="${id}"]`);
    await row.getByRole("link", { name: id }).waitFor();
    const values = await row.locator("td[data-stage]").evaluateAll((cells) => Object.fromEntries(cells.map((c) => [c.dataset.stage, Number(c.dataset.value)])));
    const sent = groups[armName].length;
    assert.deepEqual(values, { sent, delivered: 0, opened: expected.opened[armName], clicked: expected.clicked[armName], converted: expected.converted[armName] }, id);
    await row.locator('td[data-stage="opened"]').getByText(percent.format(expected.opened[armName] / sent), { exact: true }).waitFor();
    await row.locator('td[data-stage="delivered"]').getByText("no reports", { exact: true }).waitFor();
  }
  await funnel.getByRole("note").getByText("No delivery reports from the provider", { exact: true }).waitFor();
  await funnel.getByText("a tracked link followed, an in-app message clicked", { exact: true }).waitFor();
  await checkAccessible(page, "the Results page");
  await shot("2-results");

  // By hour: the last 168 hours, the same people.
  await over.getByRole("group", { name: "Count by" }).getByRole("button", { name: "Hour" }).click();
  const hours = over.getByRole("img", { name: new RegExp(`^Entries and conversions by hour from .* \\(UTC\\): ${n} entered, ${conversions()} converted; at most ${n} entered in an hour\\.$`) });
  await hours.waitFor();
  assert.equal(await hours.locator("g.rs-bucket").count(), 168);
  await steps.getByRole("columnheader", { name: "Converted per hour" }).waitFor();
  await checkAccessible(page, "the Results page by hour");
  await shot("3-results-by-hour");
});

test("an order while the page is open shows without a reload", async () => {
  const before = conversions();
  await order(groups.a[1], 10);
  // The page asks again every 10 seconds; the engine takes the order as the clock moves.
  await until("the order counted and shown", async () => (await page.getByTestId("results-converted").textContent()) === String(before + 1), 30);
  assert.equal(await page.getByTestId("results-revenue").textContent(), "134.50");
  await section("Experiments")
    .getByRole("region", { name: "Split pick" })
    .locator('tr[data-arm="a"] td[data-col="converted"]')
    .filter({ hasText: /^2$/ })
    .waitFor();
});

test("the page made no request elsewhere and threw no error", () => browser.clean());
