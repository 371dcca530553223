// Browser test of computed traits and lifecycle stages against a real server: Debian's Chromium
// driven by playwright-core. From the Segments section's tabs it makes a computed trait on the
// Computed traits page (the sum of the orders' totals in 30 days, of a name of this run's), first
// refused with the server's words under the field they name (a largest value with no property);
// then builds a lifecycle of three stages on the Lifecycle page with the condition editor — Lead
// (an email), Customer (an order in 30 days), Big spender (the computed trait at least 100), each
// only for a cohort trait of this run's, so that reruns on one server start afresh — first refused
// with the server's words at the stage they are about (a condition a stage may not read, written
// in its JSON); sends identify and track calls (`POST /v1/identify`, `/v1/track`, a source made
// here) for two customers of the cohort, and waits (moving a manual clock a second at a time)
// until they are at their stages; then finds how many people are at each stage, the journey map
// (a Sankey diagram) with their moves for the cohort's segment over 30 and 7 days, and a
// customer's page with their stage, their moves and the computed trait marked as computed. A
// screenshot of each page goes to $SCREENSHOTS.
//
// The lifecycle is one for the whole server: this test replaces it (emptied through the API
// first, when there is one, so that the page starts from its empty state).
//
//   WAYFARER_URL    the server (default http://127.0.0.1:8420), best started with
//                   WAYFARER_TESTING_MANUAL_CLOCK (the script moves the clock a second at a time
//                   while it waits for people to reach their stages; without it, it just waits). A
//                   server that does not serve the web interface itself gets a `vite preview` of
//                   web/dist in front of it, proxying /api, /v1 and /a/ to it.
//   WAYFARER_TOKEN  its admin token (required)
//   WAYFARER_PREVIEW  set to 1 to open web/dist through a `vite preview` (proxying the API to
//                   WAYFARER_URL) even when the server serves its own pages (the UI built before
//                   the server was)
//   SCREENSHOTS     where the screenshots go (default web/e2e/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//
// Run from web/: npm run e2e:lifecycle (or `cargo xtask web-e2e`, which runs every e2e/*.mjs
// against a fresh server of its own).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test as nodeTest } from "node:test";
import { apiClient, checkAccessible, openBrowser, screenshot, servePages, shots } from "./lib/browser.mjs";

const server = (process.env.WAYFARER_URL ?? "http://127.0.0.1:8420").replace(/\/$/, "");
const token = process.env.WAYFARER_TOKEN ?? "";
const { api, ok, segment: segmentCall, until } = apiClient(server, token);

/** This run's: the cohort trait its people have, the computed trait, the segment of the cohort, the customers. */
const run = Date.now().toString(36);
const trait = `spent_${run}`;
const traitLabel = `Spent in 30 days ${run}`;
const cohortId = `cohort-${run}`;
const cohortName = `Cohort ${run}`;
const ada = `${run}-ada`;
const bob = `${run}-bob`;

/** The stages as the test builds them, and as the server should keep them. */
const cohort = { trait: "cohort", op: "eq", value: run };
const STAGES = [
  { id: "lead", name: "Lead", condition: { all: [cohort, { trait: "email", op: "exists" }] } },
  { id: "customer", name: "Customer", condition: { all: [cohort, { history: { event: "Order Completed", within: "30d" }, op: "gte", value: 1 }] } },
  { id: "big-spender", name: "Big spender", condition: { all: [cohort, { trait, op: "gte", value: 100 }] } },
];

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
      await page?.screenshot({ path: join(shots, `lifecycle-failed-${name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}.png`) }).catch(() => undefined);
      throw e;
    }
  });

const shot = (name, options) => screenshot(page, `lifecycle-${name}`, options);
const tabs = () => page.getByRole("navigation", { name: "Segments, computed traits and lifecycle" });
const stages = () => page.getByRole("region", { name: "Stages", exact: true });
const stage = (name) => stages().getByRole("region", { name, exact: true });
const map = () => page.getByRole("region", { name: "Journey map", exact: true });

/** Picks `item` from the menu that the last button named `button` in `scope` opens. */
async function pick(scope, button, item) {
  await scope.getByRole("button", { name: button, exact: true }).last().click();
  await page.getByRole("menuitem", { name: item, exact: true }).click();
}

before(async () => {
  assert.ok(token, "set WAYFARER_TOKEN to the server's admin token");
  const source = await ok("POST", "/api/sources", { id: `lifecycle-e2e-${run}` });
  writeKey = source.write_key;
  // The journey map is drawn for this run's cohort: a segment of it.
  await ok("PUT", `/api/segments/${cohortId}`, { name: cohortName, condition: cohort });
  // The page starts from no stages.
  const lifecycle = await ok("GET", "/api/lifecycle");
  if (lifecycle.stages.length > 0) await ok("PUT", "/api/lifecycle", { stages: [] });
  ({ base, preview } = await servePages(server, "/lifecycle", 4177));
  browser = await openBrowser({ origin: base, token });
  page = await browser.page();
  page.setDefaultTimeout(15000);
});

after(async () => {
  await browser?.close();
  await preview?.close();
});

test("a computed trait, made from the Segments section's tab: refused with the problem under its field, then saved", async () => {
  await page.goto(`${base}/segments`);
  await page.getByRole("heading", { name: "Segments", level: 1 }).waitFor();
  await tabs().getByRole("link", { name: "Computed traits" }).click();
  await page.waitForURL(`${base}/computed-traits`);
  await page.getByRole("heading", { name: "Computed traits", level: 1 }).waitFor();
  assert.equal(await tabs().getByRole("link", { name: "Computed traits" }).getAttribute("aria-current"), "page");
  assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Segments" }).getAttribute("aria-current"), "page");
  await checkAccessible(page, "Computed traits");
  await shot("1-computed-traits");

  await page.getByRole("button", { name: "New computed trait" }).click();
  const form = page.getByRole("form", { name: "New computed trait" });
  await form.getByLabel("Trait", { exact: true }).fill(trait);
  await form.getByLabel("Label", { exact: true }).fill(traitLabel);
  const keeps = form.getByRole("region", { name: "What it keeps" });
  await keeps.getByLabel("History: event name", { exact: true }).fill("Order Completed");
  assert.equal(await keeps.getByLabel("In the last: number", { exact: true }).inputValue(), "30");
  assert.equal(await keeps.getByLabel("In the last: unit", { exact: true }).inputValue(), "d");
  // The largest of … nothing: the server says what is missing, under the property.
  await keeps.getByLabel("History: aggregate", { exact: true }).selectOption("max");
  await form.getByRole("button", { name: "Save", exact: true }).click();
  await form.getByRole("alert").filter({ hasText: "Not saved: the computed trait has 1 problem, shown at the field it is about." }).waitFor();
  await keeps.getByText('aggregate "max" needs the "property" it reads').waitFor();
  assert.equal(await keeps.getByLabel("History: property", { exact: true }).getAttribute("aria-invalid"), "true");
  const listed = await ok("GET", "/api/computed-traits");
  assert.ok(!listed.computed_traits.some((c) => c.trait === trait), "nothing was saved");
  await checkAccessible(page, "a computed trait refused, its problem at its field");
  await shot("2-computed-refused");

  // The sum of the orders' totals.
  await keeps.getByLabel("History: aggregate", { exact: true }).selectOption("sum");
  await keeps.getByLabel("History: property", { exact: true }).fill("total");
  await form.getByText("The sum of total of Order Completed in 30 days", { exact: false }).waitFor();
  await form.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: `Made ${traitLabel} (traits.${trait})` }).waitFor();
  const row = page.getByRole("row").filter({ hasText: traitLabel });
  await row.getByText("The sum of total of Order Completed in 30 days", { exact: true }).waitFor();
  const saved = (await ok("GET", "/api/computed-traits")).computed_traits.find((c) => c.trait === trait);
  assert.deepEqual(
    { label: saved?.label, history: saved?.history },
    { label: traitLabel, history: { event: "Order Completed", within: "30d", aggregate: "sum", property: "total" } },
  );
  await checkAccessible(page, "Computed traits with one");
  await shot("3-computed-saved");
});

/** Adds a stage at the end: its id and name; answers its panel, named by its name. */
async function addStage(index, id, name) {
  await page.getByRole("button", { name: "+ Add stage" }).click();
  await stage(`Stage ${index + 1}`).getByLabel("Id", { exact: true }).fill(id);
  await stage(id).getByLabel("Name", { exact: true }).fill(name);
  const s = stage(name);
  await s.waitFor();
  // Only this run's cohort.
  await pick(s, "+ Add a condition", "Trait");
  await s.getByLabel("Trait name", { exact: true }).fill("cohort");
  await s.getByLabel("Trait: value", { exact: true }).fill(run);
  return s;
}

test("a lifecycle of three stages, built with the condition editor: refused with the problem at its stage, then saved", async () => {
  await tabs().getByRole("link", { name: "Lifecycle" }).click();
  await page.waitForURL(`${base}/lifecycle`);
  await page.getByRole("heading", { name: "Lifecycle", level: 1 }).waitFor();
  await stages().getByText("No stages yet.", { exact: true }).waitFor();
  // With no moves in the last 30 days (a fresh server), the map says what it will show.
  if ((await ok("GET", "/api/lifecycle/flows")).flows.length === 0) await map().getByText(/Define the stages above and save them/).waitFor();
  await checkAccessible(page, "the Lifecycle page with no stages");
  await shot("4-lifecycle-empty", { fullPage: true });

  const lead = await addStage(0, "lead", "Lead");
  await pick(lead, "+ And", "Trait");
  await lead.getByLabel("Trait name", { exact: true }).last().fill("email");
  await lead.getByLabel("Trait: operator", { exact: true }).last().selectOption("exists");

  const customer = await addStage(1, "customer", "Customer");
  await pick(customer, "+ And", "Event history (count…)");
  await customer.getByLabel("History: event name", { exact: true }).fill("Order Completed");
  await customer.getByLabel("In the last: number", { exact: true }).fill("30");
  assert.equal(await customer.getByLabel("History: operator", { exact: true }).inputValue(), "gte");
  assert.equal(await customer.getByLabel("History: count", { exact: true }).inputValue(), "1");

  const big = await addStage(2, "big-spender", "Big spender");
  await pick(big, "+ And", "Trait");
  await big.getByLabel("Trait name", { exact: true }).last().fill(trait);
  await big.getByLabel("Trait: operator", { exact: true }).last().selectOption("gte");
  await big.getByLabel("Trait: value: type", { exact: true }).last().selectOption("number");
  await big.getByLabel("Trait: value", { exact: true }).last().fill("100");
  await page.getByText("Changes not saved", { exact: true }).waitFor();
  await checkAccessible(page, "the Lifecycle page with three stages");
  await shot("5-lifecycle-built", { fullPage: true });

  // An engineer adds, as JSON, what a stage cannot read: an event's property.
  await lead.locator("summary", { hasText: "JSON of the condition of Lead" }).click();
  const json = lead.getByLabel("JSON of the condition of Lead", { exact: true });
  assert.deepEqual(JSON.parse(await json.inputValue()), STAGES[0].condition);
  await json.fill(JSON.stringify({ all: [...STAGES[0].condition.all, { property: "path", op: "exists" }] }));
  const items = lead.locator(".cond-items > li");
  await items.nth(2).getByLabel("Event property name", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Not saved: the lifecycle has 1 problem, shown at the stage it is about." }).waitFor();
  await items.nth(2).getByText("a stage is about the person, not one event", { exact: false }).waitFor();
  assert.equal(await stage("Customer").locator(".cond-problems").count(), 0, "the problem is at the stage it is about, not elsewhere");
  assert.deepEqual((await ok("GET", "/api/lifecycle")).stages, [], "nothing was saved");
  await checkAccessible(page, "a lifecycle refused, its problem at its stage");
  await shot("6-lifecycle-refused", { fullPage: true });

  // Removed: the problem goes with it, and the lifecycle saves.
  await items.nth(2).getByRole("button", { name: "Remove this condition" }).click();
  await page.getByRole("alert").filter({ hasText: "Not saved" }).waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.locator(".page-head [role=status]", { hasText: /^3 stages$/ }).waitFor();
  const saved = await ok("GET", "/api/lifecycle");
  assert.deepEqual(
    saved.stages.map(({ id, name, condition }) => ({ id, name, condition })),
    STAGES,
  );
  for (const name of ["Lead", "Customer", "Big spender"]) await stage(name).getByTestId("stage-people").filter({ hasText: /(people|person) now$/ }).waitFor();
});

test("identify and track calls move two customers along: people per stage, the journey map of their moves", async () => {
  await send("identify", { userId: ada, traits: { name: `Ada ${run}`, email: `${ada}@example.com`, cohort: run } });
  await send("identify", { userId: bob, traits: { name: `Bob ${run}`, email: `${bob}@example.com`, cohort: run } });
  // Both leads first: then an order each, Ada's big.
  await until("Ada and Bob are leads", async () => {
    const [a, b] = await Promise.all([api("GET", `/api/profiles/lookup?user_id=${ada}`), api("GET", `/api/profiles/lookup?user_id=${bob}`)]);
    return a.json?.traits?.lifecycle_stage === "lead" && b.json?.traits?.lifecycle_stage === "lead";
  });
  await send("track", { userId: ada, event: "Order Completed", properties: { total: 150 } });
  await send("track", { userId: bob, event: "Order Completed", properties: { total: 20 } });
  await until("Ada a big spender and Bob a customer, everyone evaluated, the cohort's segment filled", async () => {
    const [a, b, lifecycle, members] = await Promise.all([
      ok("GET", `/api/profiles/lookup?user_id=${ada}`),
      ok("GET", `/api/profiles/lookup?user_id=${bob}`),
      ok("GET", "/api/lifecycle"),
      ok("GET", `/api/segments/${cohortId}/members`),
    ]);
    return (
      a.traits[trait] === 150 &&
      a.traits.lifecycle_stage === "big-spender" &&
      b.traits.lifecycle_stage === "customer" &&
      lifecycle.fill == null &&
      members.members.length === 2
    );
  });

  // How many are at each stage now (only this run's cohort can be at one).
  await page.reload();
  await page.getByRole("heading", { name: "Lifecycle", level: 1 }).waitFor();
  await stage("Lead").getByTestId("stage-people").filter({ hasText: /^0 people now$/ }).waitFor();
  await stage("Customer").getByTestId("stage-people").filter({ hasText: /^1 person now$/ }).waitFor();
  await stage("Big spender").getByTestId("stage-people").filter({ hasText: /^1 person now$/ }).waitFor();

  // The journey map of the cohort: both came from no stage to Lead; Ada went on to Big spender, Bob to Customer.
  await map().getByLabel("People", { exact: true }).selectOption({ label: cohortName });
  const chart = map().getByRole("img", { name: new RegExp(`^Moves between lifecycle stages in the last 30 days among ${cohortName}: `) });
  await chart.waitFor();
  const label = (await chart.getAttribute("aria-label")) ?? "";
  assert.match(label, /No stage → Lead: 2 people/);
  // (Ada may have gone through Customer on her way: the stage and the computed trait change with one event.)
  assert.match(label, /Lead → Customer: [12] (person|people)/);
  assert.match(label, /→ Big spender: 1 person/);
  assert.equal(await chart.locator('path.sankey-link[data-from=""][data-to="lead"]').getAttribute("data-people"), "2");
  assert.equal(await chart.locator('.sankey-node[data-side="from"]').first().getAttribute("data-stage"), "", "No stage comes first");
  await chart.locator('.sankey-node[data-side="to"][data-stage="big-spender"] text').filter({ hasText: "Big spender" }).waitFor();
  await map().locator("summary", { hasText: "The moves as a table" }).click();
  await map().getByRole("table").getByRole("row", { name: "No stage Lead 2" }).waitFor();
  await checkAccessible(page, "the Lifecycle page with people and the journey map");
  await shot("7-journey-map", { fullPage: true });

  // The last 7 days, by the server's clock: the same moves.
  await map().getByLabel("Period", { exact: true }).selectOption("7");
  const week = map().getByRole("img", { name: new RegExp(`^Moves between lifecycle stages in the last 7 days among ${cohortName}: `) });
  await week.waitFor();
  assert.equal(await week.locator('path.sankey-link[data-from=""][data-to="lead"]').getAttribute("data-people"), "2");
  await shot("8-journey-map-7-days");
});

test("a customer's page: their stage by its name, their moves, the computed trait marked", async () => {
  const profile = await ok("GET", `/api/profiles/lookup?user_id=${ada}`);
  assert.ok(profile.computed_traits.includes(trait), "the profile says which traits are computed");
  assert.deepEqual(
    profile.stage_history.map((m) => m.from ?? null)[0],
    null,
    "the first move is from no stage",
  );
  await page.goto(`${base}/people/${profile.id}`);
  await page.getByRole("heading", { name: `Ada ${run}`, level: 1 }).waitFor();
  const stageRegion = page.getByRole("region", { name: "Lifecycle stage" });
  await stageRegion.getByRole("link", { name: "Big spender" }).waitFor();
  const moves = stageRegion.getByRole("list", { name: "Stage moves, newest first" }).getByRole("listitem");
  await moves.first().filter({ hasText: /→ Big spender/ }).waitFor();
  await moves.last().filter({ hasText: "No stage → Lead" }).waitFor();
  assert.equal(await moves.count(), profile.stage_history.length);
  // Marked beside their values: the computed trait, and the stage.
  const value = (name) => page.locator(".traits dt", { hasText: name }).locator("xpath=following-sibling::dd[1]");
  await value(trait).getByText("computed", { exact: true }).waitFor();
  await value(trait).getByText("150", { exact: true }).waitFor();
  await value("lifecycle_stage").getByText("stage", { exact: true }).waitFor();
  await checkAccessible(page, "a person's page with their stage");
  await shot("9-person");

  // Their stage links to the lifecycle.
  await stageRegion.getByRole("link", { name: "Big spender" }).click();
  await page.waitForURL(`${base}/lifecycle`);
  await page.getByRole("heading", { name: "Lifecycle", level: 1 }).waitFor();
});

test("the page made no request elsewhere and threw no error", () => browser.clean());
