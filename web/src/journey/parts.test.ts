// The small pure parts of the canvas: diagnostics' places, counts, journey-wide facts, the
// first view, reading a stored draft.
import { describe as group, expect, test } from "vitest";
import { EXAMPLES } from "../examples";
import { countBadges } from "./counts";
import { diagnosticsAt, placeDiagnostics, type CanvasDiagnostic } from "./diagnostics";
import type { JourneyDocument } from "./doc";
import { journeyFacts } from "./facts";
import { ENTRY_ID, toGraph } from "./graph";
import { readDocument } from "./read";
import { initialViewport, MIN_START_ZOOM } from "./viewport";

const example = (file: string) => EXAMPLES.find((e) => e.file === file)?.doc as JourneyDocument;

group("placeDiagnostics", () => {
  const graph = toGraph(example("consultation.json"));
  const d = (node: string | undefined, path: string): CanvasDiagnostic => ({ node, path, code: "c", severity: "warning", message: "m" });

  test("on its step, on the entry by its path, else on the journey", () => {
    const placed = placeDiagnostics(graph, [d("booked", "/steps/1/events/0/event"), d(undefined, "/entry/filter"), d(undefined, "/goal/event"), d("gone", "/steps/9")]);
    expect(Object.keys(placed.byNode)).toEqual(["booked", ENTRY_ID]);
    expect(placed.journey.map((x) => x.path)).toEqual(["/goal/event", "/steps/9"]);
  });

  test("a field's: at its path or inside it, not at a longer key beside it", () => {
    const all = [d(undefined, "/quiet_hours/to"), d(undefined, "/quiet_hours"), d(undefined, "/quiet_hours_x"), d(undefined, "/timezone")];
    expect(diagnosticsAt(all, "/quiet_hours").map((x) => x.path)).toEqual(["/quiet_hours/to", "/quiet_hours"]);
    expect(diagnosticsAt(all, "/quiet_hours/to").map((x) => x.path)).toEqual(["/quiet_hours/to"]);
    expect(diagnosticsAt(undefined, "/quiet_hours")).toEqual([]);
  });
});

group("countBadges", () => {
  test("absolute numbers, and the share of the entries in words", () => {
    const badges = countBadges({ entered: 310, waiting: 62, converted: 1200 }, 310);
    expect(badges.map((b) => [b.key, b.value, b.short])).toEqual([
      ["entered", "310", "in"],
      ["waiting", "62", "waiting"],
      ["converted", "1.2K", "conv."],
    ]);
    expect(badges[1].long).toBe("62 waiting now, 20% of the journey's entries");
  });

  test("no share without entries", () => {
    expect(countBadges({ waiting: 3 }, undefined)[0].long).toBe("3 waiting now");
    expect(countBadges({ waiting: 3 }, 0)[0].long).toBe("3 waiting now");
  });
});

group("journeyFacts", () => {
  const facts = (file: string) => Object.fromEntries(journeyFacts(example(file)).map((f) => [f.label, f.text]));

  test("goal, exits and entry rules of every example", () => {
    expect(facts("consultation.json")).toEqual({
      Goal: "Consultation Booked within 7 days of reaching invite",
      "Exits on": "Sales Contacted",
      "Re-entry": "30 days after the previous run started",
    });
    expect(facts("abandoned-cart.json")).toEqual({
      Goal: "Order Completed where cart_id is the entry event's cart_id within 7 days of reaching remind",
      "Exits on": "Order Completed where cart_id is the entry event's cart_id",
      Runs: "one per cart_id",
    });
    expect(facts("trial-onboarding.json")).toEqual({ Goal: "Plan Upgraded within 30 days of entry", "Re-entry": "never", "Time zone": "America/New_York" });
    expect(facts("win-back.json")).toEqual({
      Goal: "Order Completed within 14 days of reaching coupon; ends the run",
      "Exits on": "Unsubscribed",
      Holdout: "10% in a control group",
    });
  });

  test("quiet hours: their times, and whether sends in them are held or skipped", () => {
    const doc: JourneyDocument = { id: "x", timezone: "Europe/Oslo", quiet_hours: { from: "21:00", to: "08:00" }, entry: { api: true }, steps: [] };
    expect(journeyFacts(doc)).toEqual([
      { label: "Time zone", text: "Europe/Oslo" },
      { label: "Quiet hours", text: "21:00–08:00, held" },
    ]);
    expect(journeyFacts({ ...doc, quiet_hours: { from: "22:30", to: "07:00", then: "skip" } })[1].text).toBe("22:30–07:00, skipped");
    // A time being typed (or cleared) is a "?", not "undefined".
    expect(journeyFacts({ ...doc, quiet_hours: { from: "", to: "07:00", then: "hold" } })[1].text).toBe("?–07:00, held");
  });

  test("the frequency cap: how many messages at most, in how long", () => {
    const doc: JourneyDocument = { id: "x", quiet_hours: { from: "21:00", to: "08:00" }, cap: { max: 3, within: "7d" }, entry: { api: true }, steps: [] };
    expect(journeyFacts(doc)).toEqual([
      { label: "Quiet hours", text: "21:00–08:00, held" },
      { label: "Frequency cap", text: "at most 3 messages in 7d" },
    ]);
    expect(journeyFacts({ ...doc, cap: { max: 1, within: "12h" } })[1].text).toBe("at most 1 message in 12h");
    // A field being typed (or cleared) is a "?", not "undefined".
    expect(journeyFacts({ ...doc, cap: { within: "" } as unknown as JourneyDocument["cap"] })[1].text).toBe("at most ? messages in ?");
  });

  test("the priority: said when it is not the default 0, above or below it", () => {
    const doc: JourneyDocument = { id: "x", cap: { max: 3, within: "7d" }, priority: 10, entry: { api: true }, steps: [] };
    expect(journeyFacts(doc)).toEqual([
      { label: "Frequency cap", text: "at most 3 messages in 7d" },
      { label: "Priority", text: "10, above the default 0" },
    ]);
    expect(journeyFacts({ ...doc, priority: -1000 })[1]).toEqual({ label: "Priority", text: "-1000, below the default 0" });
    // 0 (written or not) and null (the server's 0) say nothing.
    expect(journeyFacts({ ...doc, priority: 0 })).toHaveLength(1);
    expect(journeyFacts({ ...doc, priority: undefined })).toHaveLength(1);
    expect(journeyFacts({ ...doc, priority: null as unknown as number })).toHaveLength(1);
    // Something else there (raw JSON being edited) is a "?", for the validator to explain.
    expect(journeyFacts({ ...doc, priority: "high" as unknown as number })[1].text).toBe("?");
  });

  test("limits and concurrency", () => {
    const doc: JourneyDocument = { id: "x", entry: { api: true, concurrent: true, limit: 10000 }, steps: [] };
    expect(journeyFacts(doc)).toEqual([
      { label: "Concurrent", text: "each entry starts a run of its own" },
      { label: "Limit", text: "10,000 runs in all" },
    ]);
  });
});

group("initialViewport", () => {
  const size = { width: 1000, height: 600 };

  test("a journey that fits is shown whole, at most at 100%", () => {
    expect(initialViewport({ x: -132, y: 0, width: 264, height: 400 }, size)).toEqual({ x: 500, y: 24, zoom: 1 });
  });

  test("a long journey starts at its top, entry first, at a readable zoom", () => {
    const view = initialViewport({ x: -132, y: 0, width: 264, height: 3000 }, size);
    expect(view).toEqual({ x: 500, y: 24, zoom: MIN_START_ZOOM });
  });

  test("a journey too wide for the view is centred on its entry", () => {
    const view = initialViewport({ x: -300, y: 0, width: 2400, height: 3000 }, size);
    expect(view.x).toBe(500);
  });
});

group("readDocument", () => {
  test("every example reads", () => {
    for (const { doc } of EXAMPLES) expect(readDocument(doc).ok).toBe(true);
  });

  test("a journey starting on a segment reads", () => {
    expect(readDocument({ id: "w", entry: { segment: "lapsed", on: "enter" }, steps: [] }).ok).toBe(true);
  });

  test.each([
    [null, "the document is not a JSON object"],
    [{ steps: [] }, 'the document has no "entry" (one of event, trait_change, schedule, date, api, segment)'],
    [{ entry: { event: "A" } }, 'the document has no "steps" list'],
    [{ entry: { event: "A" }, steps: [{ type: "wait" }] }, 'step 1 has no "id"'],
    [{ entry: { event: "A" }, steps: [{ id: "a", type: "sleep" }] }, 'step "a" has no known "type" (wait, wait_for, branch, split, send, update, webhook, task, exit)'],
    [{ entry: { event: "A" }, steps: [{ id: "a", type: "branch", cases: {} }] }, 'step "a" needs "cases", a list of objects'],
  ])("refuses %j", (value, problem) => {
    expect(readDocument(value)).toEqual({ ok: false, problem });
  });
});
