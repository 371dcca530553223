// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import type { Schemas } from "../api/client";
import type { JourneyDocument } from "../journey/doc";
import { answer, mockApi, type MockRequest, type Route } from "../test/api";
import { JourneyResultsPage } from "./JourneyResultsPage";

beforeEach(() => window.history.pushState(null, "", "/journeys/trial/results"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  localStorage.clear();
});

const DOC = {
  id: "trial",
  name: "Trial nurture",
  entry: { event: "Trial Started", holdout: 20 },
  goal: { event: "Order Completed", exit: true },
  steps: [
    { id: "pick", type: "split", paths: [{ name: "a", weight: 50, next: "send-a" }, { name: "b", weight: 50, next: "send-b" }] },
    { id: "send-a", type: "send", channel: "email", template: "welcome-a", next: "wait" },
    { id: "send-b", type: "send", channel: "email", template: "welcome-b", next: "wait" },
    { id: "wait", type: "wait", duration: "7d" },
  ],
} as JourneyDocument;

const view = (over: Partial<Schemas["JourneyView"]> = {}): Schemas["JourneyView"] => ({
  id: "trial",
  status: "published",
  state: "active",
  published_version: 2,
  draft: DOC as unknown as Schemas["JourneyDocument"],
  published: { version: 2, document: DOC as unknown as Schemas["JourneyDocument"], published_at: "2030-01-01T00:00:00Z" },
  updated_at: "2030-01-01T00:00:00Z",
  ...over,
});

const RESULTS: Schemas["Results"] = {
  journey: "trial",
  people: 10,
  converted: 3,
  revenue: 124.5,
  experiments: [
    {
      step: "$holdout",
      arms: [
        { name: "control group", people: 2, converted: 1, rate: 0.5, low: 0.0945, high: 0.9055, revenue: 25 },
        { name: "journey", people: 8, converted: 2, rate: 0.25, low: 0.0715, high: 0.5907, revenue: 99.5 },
      ],
      comparisons: [
        { arm: "journey", baseline: "control group", difference: -0.25, low: -0.62, high: 0.35, verdict: "not_enough_data", words: "journey against control group: not enough data yet" },
      ],
    },
    {
      step: "pick",
      arms: [
        { name: "a", people: 5, converted: 1, rate: 0.2, low: 0.036, high: 0.624, revenue: 40 },
        { name: "b", people: 3, converted: 1, rate: 1 / 3, low: 0.0615, high: 0.7923, revenue: 59.5 },
      ],
      comparisons: [{ arm: "b", baseline: "a", difference: 0.1333, low: 0.04, high: 0.3, verdict: "better", words: "b converts better than a, 95% confidence" }],
    },
  ],
};

const zeros = (n: number) => Array.from({ length: n }, () => 0);
/** `n` buckets ending with `last`: everything happened in the last bucket. */
function series(bucket: "day" | "hour", n: number, last: { entered: number; converted: number }): Schemas["JourneySeries"] {
  const step = bucket === "day" ? 86_400_000 : 3_600_000;
  const end = Date.UTC(2030, 0, 1);
  const starts = Array.from({ length: n }, (_, i) => new Date(end - (n - 1 - i) * step).toISOString());
  const at = (v: number) => [...zeros(n - 1), v];
  const node = (entered: number, passed = entered, converted = 0) => ({ entered: at(entered), passed: at(passed), exited: zeros(n), converted: at(converted) });
  return {
    journey: "trial",
    bucket,
    from: starts[0],
    to: new Date(end + step).toISOString(),
    starts,
    entered: at(last.entered),
    converted: at(last.converted),
    nodes: { $entry: node(8), $control: node(2, 0, 1), pick: node(8), "send-a": node(5), "send-b": node(3), wait: node(8, 0, 2) },
  };
}

const FUNNEL: Schemas["JourneyFunnel"] = {
  journey: "trial",
  contents: [
    { node: "send-a", template: "welcome-a", channel: "email", sent: 5, delivered: 0, opened: 2, clicked: 1, converted: 1 },
    { node: "send-b", template: "welcome-b", channel: "email", sent: 3, delivered: 3, opened: 1, clicked: 1, converted: 1 },
  ],
};

const COUNTS: Schemas["JourneyCounts"] = {
  journey: "trial",
  from: "",
  to: "",
  nodes: {
    $entry: { entered: 8, passed: 8, exited: 0, converted: 0, waiting: 0 },
    wait: { entered: 8, passed: 0, exited: 2, converted: 2, waiting: 6 },
  },
};

function server(over: Record<string, Route | object> = {}) {
  return mockApi({
    "GET /api/journeys/trial": view(),
    "GET /api/journeys/trial/results": RESULTS,
    "GET /api/journeys/trial/series": ({ query }: MockRequest) =>
      query.get("bucket") === "hour" ? series("hour", 168, { entered: 10, converted: 3 }) : series("day", 30, { entered: 10, converted: 3 }),
    "GET /api/journeys/trial/funnel": FUNNEL,
    "GET /api/journeys/trial/counts": COUNTS,
    ...over,
  });
}

const region = (name: string) => screen.getByRole("region", { name });
const cells = (row: HTMLElement) => within(row).getAllByRole("cell").map((c) => c.textContent);

test("the headline: people, conversions with their rate, revenue, the goal; the tabs lead back to the canvas", async () => {
  server();
  render(<JourneyResultsPage id="trial" />);
  expect(await screen.findByRole("heading", { name: "Trial nurture", level: 1 })).toBeTruthy();
  expect(await screen.findByTestId("results-people")).toBeTruthy();
  expect(screen.getByTestId("results-people").textContent).toBe("10");
  expect(screen.getByTestId("results-converted").textContent).toBe("3");
  expect(screen.getByTestId("results-rate").textContent).toBe("30% of people");
  expect(screen.getByTestId("results-revenue").textContent).toBe("124.50");
  expect(screen.getByText("Order Completed; ends the run")).toBeTruthy();
  expect(screen.getByText("live: version 2")).toBeTruthy();
  const tabs = screen.getByRole("navigation", { name: "Journey views" });
  expect(within(tabs).getByRole("link", { name: "Results" }).getAttribute("aria-current")).toBe("page");
  expect(within(tabs).getByRole("link", { name: "Canvas" }).getAttribute("href")).toBe("/journeys/trial");
  expect(document.title).toBe("Trial nurture · Results · Wayfarer");
});

test("conversions over time: a bar per day with its tooltip, the numbers as a table; by hour, the last 168 hours", async () => {
  const { calls } = server();
  render(<JourneyResultsPage id="trial" />);
  const chart = await within(await screen.findByRole("region", { name: "Conversions over time" })).findByRole("img", {
    name: "Entries and conversions by day from Dec 3, 2029 to Jan 1, 2030 (UTC): 10 entered, 3 converted; at most 10 entered in a day.",
  });
  expect(chart.querySelectorAll("g.rs-bucket")).toHaveLength(30);
  const last = chart.querySelector('g[data-start="2030-01-01T00:00:00.000Z"]');
  expect(last?.querySelector("title")?.textContent).toBe("Jan 1, 2030: 10 entered, 3 converted");
  expect(last?.querySelector("rect.rs-entered")).toBeTruthy();
  expect(last?.querySelector("rect.rs-converted")).toBeTruthy();
  expect(chart.querySelector('g[data-start="2029-12-03T00:00:00.000Z"] rect.rs-entered')).toBeNull();
  // The table has the days with something in them.
  const table = within(region("Conversions over time")).getByRole("table");
  expect(within(table).getAllByRole("row")).toHaveLength(2);
  expect(within(table).getByRole("row", { name: "Jan 1, 2030 10 3" })).toBeTruthy();
  expect(calls.find((c) => c.path === "/api/journeys/trial/series")?.query.get("bucket")).toBe("day");

  const by = within(region("Conversions over time")).getByRole("group", { name: "Count by" });
  expect(within(by).getByRole("button", { name: "Day" }).getAttribute("aria-pressed")).toBe("true");
  fireEvent.click(within(by).getByRole("button", { name: "Hour" }));
  const hours = await within(region("Conversions over time")).findByRole("img", { name: /^Entries and conversions by hour from Dec 25, 01:00 to Jan 1, 00:00 \(UTC\): 10 entered, 3 converted/ });
  expect(hours.querySelectorAll("g.rs-bucket")).toHaveLength(168);
  expect(calls.filter((c) => c.path === "/api/journeys/trial/series").map((c) => c.query.toString())).toEqual(["bucket=day", "bucket=hour"]);
  expect(within(region("Steps over time")).getByRole("columnheader", { name: "Entered per hour" })).toBeTruthy();
});

test("steps over time: the entry, the control group and each step with totals, who waits now, and a sparkline of the chosen count", async () => {
  server();
  render(<JourneyResultsPage id="trial" />);
  const steps = await screen.findByRole("region", { name: "Steps over time" });
  const table = await within(steps).findByRole("table");
  const rows = within(table).getAllByRole("row").slice(1);
  expect(rows.map((r) => r.getAttribute("data-node"))).toEqual(["$entry", "$control", "pick", "send-a", "send-b", "wait"]);
  expect(within(rows[0]).getByRole("rowheader").textContent).toBe("EntryOn Trial Started");
  expect(within(rows[1]).getByRole("rowheader").textContent).toBe("Control groupHeld out (20%): nothing is sent");
  expect(within(rows[3]).getByRole("rowheader").textContent).toBe("send-aEmail: welcome-a");
  // Entered, passed, exited, converted, waiting now (the control group waits nowhere).
  await waitFor(() => expect(cells(rows[5]).slice(0, 5)).toEqual(["8", "0", "0", "2", "6"]));
  expect(cells(rows[1]).slice(0, 5)).toEqual(["2", "0", "0", "1", "–"]);
  expect(within(rows[3]).getByRole("img").getAttribute("aria-label")).toBe("send-a: entered per day, 5 in all, at most 5 in a day");

  fireEvent.click(within(within(steps).getByRole("group", { name: "Per step, draw" })).getByRole("button", { name: "Converted" }));
  expect(within(table).getByRole("columnheader", { name: "Converted per day" })).toBeTruthy();
  expect(within(rows[5]).getByRole("img").getAttribute("aria-label")).toBe("wait: converted per day, 2 in all, at most 2 in a day");
  expect(within(rows[3]).getByRole("img").getAttribute("aria-label")).toBe("send-a: converted per day, 0 in all");
});

test("experiments: the holdout and the split, each verdict in words styled by what it says, the arms with their rates and intervals", async () => {
  server();
  render(<JourneyResultsPage id="trial" />);
  const experiments = await screen.findByRole("region", { name: "Experiments" });
  const holdout = within(experiments).getByRole("region", { name: "Holdout (control group)" });
  const verdict = within(holdout).getByRole("listitem");
  expect(verdict.getAttribute("data-verdict")).toBe("not_enough_data");
  expect(verdict.className).toContain("rs-verdict-not_enough_data");
  expect(within(verdict).getByText("Journey against control group: not enough data yet").tagName).toBe("STRONG");
  expect(verdict.textContent).toContain("Journey − Control group: −25 points (95% interval −62 points to +35 points). A verdict needs 30 people in each arm and 5 conversions between them.");
  const groups = within(holdout).getAllByRole("row").slice(1);
  expect(groups.map((r) => within(r).getByRole("rowheader").textContent)).toEqual(["Control groupbaseline", "Journey"]);
  expect(cells(groups[1])).toEqual(["8", "2", "25%", "25% (95% interval 7.2% to 59.1%)", "99.50"]);
  expect(within(groups[1]).getByRole("img", { name: "25% (95% interval 7.2% to 59.1%)" })).toBeTruthy();
  expect(within(holdout).getByRole("columnheader", { name: "95% interval (0–100%)" })).toBeTruthy();

  const split = within(experiments).getByRole("region", { name: "Split pick" });
  expect(within(split).getByText("Each path against the first: a 50%, b 50%.")).toBeTruthy();
  const better = within(split).getByRole("listitem");
  expect(better.getAttribute("data-verdict")).toBe("better");
  expect(within(better).getByText("B converts better than a, 95% confidence")).toBeTruthy();
  expect(better.textContent).not.toContain("A verdict needs");
  const arms = within(split).getAllByRole("row").slice(1);
  expect(arms.map((r) => r.getAttribute("data-arm"))).toEqual(["a", "b"]);
  expect(cells(arms[1])).toEqual(["3", "1", "33.3%", "33.3% (95% interval 6.2% to 79.2%)", "59.50"]);
  expect(within(split).getByRole("columnheader", { name: "95% interval (0–80%)" })).toBeTruthy();
});

test("the funnel per content: each stage a number and its share of sent, bars; opens without delivery reports noted; the stages explained", async () => {
  server();
  render(<JourneyResultsPage id="trial" />);
  const funnel = await screen.findByRole("region", { name: "Funnel per content" });
  const table = await within(funnel).findByRole("table");
  const rows = within(table).getAllByRole("row").slice(1);
  expect(rows.map((r) => r.getAttribute("data-template"))).toEqual(["welcome-a", "welcome-b"]);
  expect(within(rows[0]).getByRole("link", { name: "welcome-a" }).getAttribute("href")).toBe("/content/welcome-a");
  expect(within(rows[0]).getByRole("rowheader").textContent).toBe("welcome-aEmail · step send-a");
  expect(cells(rows[0])).toEqual(["5", "00%no reports", "240%", "120%", "120%"]);
  expect(cells(rows[1])).toEqual(["3", "3100%", "133.3%", "133.3%", "133.3%"]);
  const bar = (row: HTMLElement, stage: string) => (row.querySelector(`td[data-stage="${stage}"] .rs-bar > span`) as HTMLElement).style.width;
  expect(bar(rows[0], "opened")).toBe("40%");
  expect(bar(rows[0], "sent")).toBe("100%");
  expect(within(funnel).getByRole("note").textContent).toMatch(/^No delivery reports from the provider for welcome-a: opens and clicks are counted without them/);
  expect(within(funnel).getByText("a tracked link followed, an in-app message clicked")).toBeTruthy();
  expect(within(table).getByRole("columnheader", { name: "Opened" }).getAttribute("title")).toBe("An email's pixel loaded, an in-app message viewed, a push tapped");
});

test("nothing in the period and no messages yet: each section says so", async () => {
  server({
    "GET /api/journeys/trial/series": series("day", 30, { entered: 0, converted: 0 }),
    "GET /api/journeys/trial/funnel": { journey: "trial", contents: [] },
    "GET /api/journeys/trial/results": { ...RESULTS, experiments: [] },
  });
  render(<JourneyResultsPage id="trial" />);
  expect(await within(await screen.findByRole("region", { name: "Conversions over time" })).findByText("Nobody entered or converted in the last 30 days.")).toBeTruthy();
  expect(within(region("Conversions over time")).queryByRole("img")).toBeNull();
  expect(await within(region("Funnel per content")).findByText("No messages yet.")).toBeTruthy();
  expect(within(region("Experiments")).getByText(/^No experiment in this journey's runs/)).toBeTruthy();
});

test("a journey nobody entered: what the page will show, and how people get in", async () => {
  const { calls } = server({
    "GET /api/journeys/trial": view({ status: "draft", published: null, published_version: null }),
    "GET /api/journeys/trial/results": { journey: "trial", people: 0, converted: 0, revenue: 0, experiments: [] },
  });
  render(<JourneyResultsPage id="trial" />);
  const empty = await screen.findByRole("region", { name: "Nobody has entered this journey yet" });
  expect(within(empty).getByText(/^It is a draft, never published/)).toBeTruthy();
  expect(within(empty).getByRole("link", { name: "Open the canvas" }).getAttribute("href")).toBe("/journeys/trial");
  expect(screen.getByText("draft, never published")).toBeTruthy();
  expect(screen.queryByRole("region", { name: "Conversions over time" })).toBeNull();
  expect(calls.some((c) => c.path === "/api/journeys/trial/series")).toBe(false);
});

test("a live journey nobody entered yet says when people enter", async () => {
  server({ "GET /api/journeys/trial/results": { journey: "trial", people: 0, converted: 0, revenue: 0, experiments: [] } });
  render(<JourneyResultsPage id="trial" />);
  const empty = await screen.findByRole("region", { name: "Nobody has entered this journey yet" });
  expect(within(empty).getByText("It is live: people enter it as its entry says — “On Trial Started”.")).toBeTruthy();
});

test("errors are shown with the server's words where they happened, and tried again", async () => {
  let fail = true;
  server({
    "GET /api/journeys/trial/results": () => (fail ? answer(503, { code: "unavailable", message: "the store is unavailable" }) : RESULTS),
    "GET /api/journeys/trial/funnel": answer(500, { code: "internal", message: "the funnel broke" }),
  });
  render(<JourneyResultsPage id="trial" />);
  const alert = await screen.findByRole("alert");
  expect(alert.textContent).toContain("The results could not be loaded: the store is unavailable");
  fail = false;
  fireEvent.click(within(alert).getByRole("button", { name: "Try again" }));
  expect(await screen.findByTestId("results-people")).toBeTruthy();
  expect((await within(region("Funnel per content")).findByRole("alert")).textContent).toContain("The funnel could not be loaded: the funnel broke");
});

test("a journey that does not exist says so", async () => {
  server({
    "GET /api/journeys/nope": answer(404, { code: "not_found", message: 'journey "nope"' }),
    "GET /api/journeys/nope/results": answer(404, { code: "not_found", message: 'journey "nope"' }),
  });
  render(<JourneyResultsPage id="nope" />);
  expect((await screen.findByRole("alert")).textContent).toContain('Journey nope could not be loaded: journey "nope"');
  expect(screen.getByRole("heading", { name: "nope", level: 1 })).toBeTruthy();
});
