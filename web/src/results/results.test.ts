import { expect, test } from "vitest";
import type { JourneyDocument } from "../journey/doc";
import {
  armLabel,
  bucketText,
  chartGeometry,
  chartSummary,
  experimentDetail,
  experimentTitle,
  funnelRows,
  goalText,
  intervalScale,
  intervalText,
  nodeRows,
  percentText,
  periodText,
  pointsText,
  rateText,
  revenueText,
  sentence,
  shareOf,
  sparkline,
  ticks,
  verdictOf,
  type Series,
} from "./results";

const DOC: JourneyDocument = {
  id: "trial",
  name: "Trial",
  entry: { event: "Trial Started", holdout: 20 },
  goal: { event: "Order Completed", exit: true },
  steps: [
    { id: "pick", type: "split", paths: [{ name: "a", weight: 50, next: "send-a" }, { name: "b", weight: 50, next: "send-b" }] },
    { id: "send-a", type: "send", channel: "email", template: "welcome-a", next: "wait" },
    { id: "send-b", type: "send", channel: "email", variants: [{ name: "short", weight: 50, template: "short" }, { name: "long", weight: 50, template: "long" }], next: "wait" },
    { id: "wait", type: "wait", duration: "7d" },
  ],
} as JourneyDocument;

const days = (n: number) => Array.from({ length: n }, (_, i) => new Date(Date.UTC(2030, 0, 1 + i)).toISOString());

test("shares, rates and intervals read as people read them; rounding noise is 0", () => {
  expect(percentText(0.25)).toBe("25%");
  expect(percentText(1 / 3)).toBe("33.3%");
  expect(percentText(0.004)).toBe("0.4%");
  expect(percentText(2.7755575615628914e-17)).toBe("0%");
  expect(percentText(1)).toBe("100%");
  expect(shareOf(1, 0)).toBeUndefined();
  expect(shareOf(3, 12)).toBe(0.25);
  expect(rateText(2, 8)).toBe("2 of 8 (25%)");
  expect(rateText(0, 0)).toBe("0 of 0");
  expect(rateText(1200, 4800)).toBe("1,200 of 4,800 (25%)");
  expect(intervalText(0.25, 0.071, 0.591)).toBe("25% (95% interval 7.1% to 59.1%)");
});

test("differences of rates are signed percentage points", () => {
  expect(pointsText(0.032)).toBe("+3.2 points");
  expect(pointsText(-0.01)).toBe("−1 point");
  expect(pointsText(0)).toBe("0 points");
  expect(pointsText(-1e-18)).toBe("0 points");
  expect(pointsText(-0.6576197724933469)).toBe("−65.8 points");
  expect(pointsText(0.0004)).toBe("0 points");
});

test("revenue keeps cents only when there are some; sentences start with a capital", () => {
  expect(revenueText(0)).toBe("0");
  expect(revenueText(1234)).toBe("1,234");
  expect(revenueText(99.5)).toBe("99.50");
  expect(revenueText(10.129)).toBe("10.13");
  expect(sentence("journey against control group: not enough data yet")).toBe("Journey against control group: not enough data yet");
});

test("the goal in words", () => {
  expect(goalText({ event: "Order Completed", exit: true })).toBe("Order Completed; ends the run");
  expect(goalText({ event: "Subscribed", within: "14d", from: "offer" })).toBe("Subscribed within 14 days of step offer");
  expect(goalText({ event: "Subscribed", within: "7d" })).toBe("Subscribed within 7 days of entering");
  expect(goalText({ event: "Booked", from: "invite" })).toBe("Booked from step invite on");
});

test("buckets are UTC days or hours", () => {
  expect(bucketText("2030-01-05T00:00:00.000Z", "day")).toBe("Jan 5, 2030");
  expect(bucketText("2030-01-05T14:00:00.000Z", "hour")).toBe("Jan 5, 14:00");
  expect(bucketText("not a time", "day")).toBe("not a time");
  expect(periodText({ bucket: "day", starts: days(30) })).toBe("the last 30 days, by day (UTC)");
  expect(periodText({ bucket: "hour", starts: Array.from({ length: 168 }, () => "") })).toBe("the last 168 hours, by hour (UTC)");
});

test("the axis' ticks are whole steps of 1, 2 or 5, at most four intervals, the last at or above the largest value", () => {
  expect(ticks(0)).toEqual([0, 1]);
  expect(ticks(1)).toEqual([0, 1]);
  expect(ticks(3)).toEqual([0, 1, 2, 3]);
  expect(ticks(4)).toEqual([0, 1, 2, 3, 4]);
  expect(ticks(5)).toEqual([0, 2, 4, 6]);
  expect(ticks(7)).toEqual([0, 2, 4, 6, 8]);
  expect(ticks(9)).toEqual([0, 5, 10]);
  expect(ticks(37)).toEqual([0, 10, 20, 30, 40]);
  expect(ticks(41)).toEqual([0, 20, 40, 60]);
  expect(ticks(1234)).toEqual([0, 500, 1000, 1500]);
  expect(ticks(2.5)).toEqual([0, 1, 2, 3]);
});

test("the chart's bars: one band per bucket, entries and conversions on one scale, the conversions' bar narrower and centred", () => {
  const g = chartGeometry({ starts: days(4), entered: [0, 8, 4, 2], converted: [0, 2, 4, 1] }, 400, 100);
  expect(g.ticks).toEqual([0, 2, 4, 6, 8]);
  expect(g.top).toBe(8);
  expect(g.bars).toHaveLength(4);
  const [empty, full, half] = g.bars;
  expect(empty.enteredHeight).toBe(0);
  expect(empty.convertedHeight).toBe(0);
  expect(full.x).toBe(100);
  expect(full.band).toBe(100);
  // A gap of 6 between bands (20% of the band, at most 6).
  expect(full.enteredX).toBe(103);
  expect(full.enteredWidth).toBe(94);
  expect(full.enteredY).toBe(0);
  expect(full.enteredHeight).toBe(100);
  expect(full.convertedWidth).toBe(47);
  expect(full.convertedX).toBe(103 + 23.5);
  expect(full.convertedHeight).toBe(25);
  expect(full.convertedY).toBe(75);
  expect(half.enteredHeight).toBe(50);
  expect(half.convertedHeight).toBe(50);
  // Narrow bands (168 hours in 400): no gap.
  const hours = chartGeometry({ starts: Array.from({ length: 168 }, (_, i) => String(i)), entered: Array(168).fill(1), converted: Array(168).fill(0) }, 400, 100);
  expect(hours.bars[0].enteredWidth).toBeCloseTo(400 / 168);
  expect(hours.bars[167].x + hours.bars[167].band).toBeCloseTo(400);
});

test("the chart in words: the period, the totals, the busiest bucket", () => {
  const series: Series = { journey: "trial", bucket: "day", from: "", to: "", starts: days(3), entered: [1, 5, 2], converted: [0, 1, 1], nodes: {} };
  expect(chartSummary(series)).toBe("Entries and conversions by day from Jan 1, 2030 to Jan 3, 2030 (UTC): 8 entered, 2 converted; at most 5 entered in a day.");
  expect(chartSummary({ ...series, bucket: "hour", starts: ["2030-01-01T00:00:00Z", "2030-01-01T01:00:00Z", "2030-01-01T02:00:00Z"] })).toBe(
    "Entries and conversions by hour from Jan 1, 00:00 to Jan 1, 02:00 (UTC): 8 entered, 2 converted; at most 5 entered in an hour.",
  );
});

test("a sparkline spans the box: the largest value at the top, zeros at the bottom, the area closed along the base", () => {
  const s = sparkline([0, 2, 1], 100, 20);
  expect(s.max).toBe(2);
  expect(s.line).toBe("M0,18.5L50,1.5L100,10");
  expect(s.area).toBe("M0,18.5L50,1.5L100,10L100,20L0,20Z");
  expect(sparkline([0, 0], 100, 20).line).toBe("M0,18.5L100,18.5");
  expect(sparkline([3], 100, 20).line).toBe("M50,1.5");
  expect(sparkline([], 100, 20)).toEqual({ line: "", area: "", max: 0 });
});

test("the steps' rows: the entry, the control group, each step in the document's order (zeros where nothing was counted), then steps gone from the document", () => {
  const n = (entered: number[]) => ({ entered, passed: entered, exited: [0, 0], converted: [0, 0] });
  const series: Series = {
    journey: "trial",
    bucket: "day",
    from: "",
    to: "",
    starts: days(2),
    entered: [3, 4],
    converted: [0, 1],
    nodes: { $entry: n([2, 3]), $control: n([1, 1]), pick: n([2, 3]), "send-a": n([1, 2]), old: n([1, 0]) },
  };
  const rows = nodeRows(series, DOC);
  expect(rows.map((r) => [r.id, r.label, r.kind])).toEqual([
    ["$entry", "Entry", "entry"],
    ["$control", "Control group", "control"],
    ["pick", "pick", "split"],
    ["send-a", "send-a", "send"],
    ["send-b", "send-b", "send"],
    ["wait", "wait", "wait"],
    ["old", "old", "unknown"],
  ]);
  expect(rows[0].detail).toBe("On Trial Started");
  expect(rows[1].detail).toBe("Held out (20%): nothing is sent");
  expect(rows[3].detail).toBe("Email: welcome-a");
  expect(rows[5].detail).toBe("Wait 7 days");
  expect(rows[6].detail).toBe("Not in this version of the journey");
  expect(rows[0].totals).toEqual({ entered: 5, passed: 5, exited: 0, converted: 0 });
  expect(rows[4].totals).toEqual({ entered: 0, passed: 0, exited: 0, converted: 0 });
  expect(rows[4].series.entered).toEqual([0, 0]);
  // No holdout, no control group counted: no row for it. No document: the entry and what was counted.
  const plain = nodeRows({ ...series, nodes: { $entry: n([1, 1]) } }, { ...DOC, entry: { event: "Trial Started" } } as JourneyDocument);
  expect(plain.map((r) => r.id)).toEqual(["$entry", "pick", "send-a", "send-b", "wait"]);
  expect(nodeRows(series, undefined).map((r) => r.id)).toEqual(["$entry", "$control", "old", "pick", "send-a"]);
});

test("experiments: titled by what they compare; the holdout's arms by name; the scale of the intervals a round share", () => {
  expect(experimentTitle("$holdout", DOC)).toBe("Holdout (control group)");
  expect(experimentTitle("pick", DOC)).toBe("Split pick");
  expect(experimentTitle("send-b", DOC)).toBe("A/B test in send send-b");
  expect(experimentTitle("gone", DOC)).toBe("Experiment at gone");
  expect(experimentDetail("$holdout", DOC)).toMatch(/^20% of the people who enter are held out/);
  expect(experimentDetail("pick", DOC)).toBe("Each path against the first: a 50%, b 50%.");
  expect(experimentDetail("send-b", DOC)).toBe("Each variant against the first: short (short) 50%, long (long) 50%.");
  expect(armLabel("$holdout", "control group")).toBe("Control group");
  expect(armLabel("$holdout", "journey")).toBe("Journey");
  expect(armLabel("pick", "b")).toBe("b");
  expect(intervalScale([{ high: 0.49 }, { high: 0.3 }])).toBe(0.5);
  expect(intervalScale([{ high: 0.031 }])).toBe(0.05);
  expect(intervalScale([{ high: 0.2 }])).toBe(0.2);
  expect(intervalScale([{ high: 0.97 }])).toBe(1);
  expect(intervalScale([])).toBe(0.01);
  expect(verdictOf("better")).toEqual({ key: "better", label: "Better", symbol: "▲" });
  expect(verdictOf("no_difference").label).toBe("No difference shown");
  expect(verdictOf("something new").key).toBe("not_enough_data");
});

test("the funnel: each stage a share of the messages sent; opens without delivery reports are noted, not hidden", () => {
  const rows = funnelRows([
    { node: "send-a", template: "welcome-a", channel: "email", sent: 4, delivered: 0, opened: 2, clicked: 1, converted: 1 },
    { node: "send-b", template: "welcome-b", channel: "email", sent: 8, delivered: 8, opened: 2, clicked: 0, converted: 0 },
    { node: "push", template: "nudge", channel: "push", sent: 0, delivered: 0, opened: 0, clicked: 0, converted: 0 },
  ]);
  expect(rows[0].cells.map((c) => [c.stage, c.value, c.share])).toEqual([
    ["sent", 4, 1],
    ["delivered", 0, 0],
    ["opened", 2, 0.5],
    ["clicked", 1, 0.25],
    ["converted", 1, 0.25],
  ]);
  expect(rows[0].noDeliveryReports).toBe(true);
  expect(rows[1].noDeliveryReports).toBe(false);
  expect(rows[1].cells[2].share).toBe(0.25);
  expect(rows[2].cells.every((c) => c.share === undefined)).toBe(true);
  expect(rows[2].noDeliveryReports).toBe(false);
});
