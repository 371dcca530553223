import { describe as group, expect, test } from "vitest";
import { EXAMPLES } from "../examples";
import { channelText, conditionText, describe, durationText, historyQueryText, LINE_LENGTH } from "./describe";
import type { Condition, Entry, HistoryQuery, JourneyDocument, Step } from "./doc";
import { toGraph } from "./graph";

const EXPECTED: Record<string, Record<string, string>> = {
  "abandoned-cart.json": {
    "(entry)": "On Product Added",
    "first-item": "Append to run items",
    idle: "Wait up to 1 hour for Product Added",
    remind: "Email: cart-reminder",
    "a-day": "Wait 24 hours",
    "remind-again": "Email: cart-last-call",
  },
  "consultation.json": {
    "(entry)": "On Page Viewed if path starts with /products/ and …",
    invite: "Email: consultation-invite",
    booked: "Wait up to 3 days for Consultation Booked",
    remind: "Email: consultation-reminder",
  },
  "trial-onboarding.json": {
    "(entry)": "On Trial Started",
    welcome: "Email: trial-welcome",
    "day-7": "Wait until 09:00, 7 days after entry",
    "pro-yet": "If plan is pro",
    tip: "Email: trial-tip",
    "last-day": "Wait until 09:00, 6 days after tip",
    "pro-now": "If plan is pro",
    ending: "Email: trial-ending",
    upgraded: "End the run",
  },
  "win-back.json": {
    "(entry)": "On Order Completed",
    quiet: "Wait up to 30 days for Order Completed",
    subject: "Split: discount 50%, miss-you 50%",
    discount: "Set run subject",
    "miss-you": "Set run subject",
    coupon: "Email: win-back",
    redeem: "Wait 14 days",
  },
};

group.each(EXAMPLES)("describe($file)", ({ file, doc }) => {
  const graph = toGraph(doc);

  test("one line per node, in words", () => {
    expect(Object.fromEntries(graph.nodes.map((n) => [n.id, describe(n)]))).toEqual(EXPECTED[file]);
  });

  test("lines stay short; the full text has every clause", () => {
    for (const node of graph.nodes) {
      expect(describe(node).length).toBeLessThanOrEqual(LINE_LENGTH);
      expect(describe(node, Infinity).length).toBeGreaterThanOrEqual(describe(node).replace(" …", "").length);
    }
  });
});

const entryLine = (entry: Entry, max?: number) => describe({ id: "(entry)", kind: "entry", entry, endings: [] }, max);
const stepLine = (step: Step, max?: number) => describe({ id: step.id, kind: step.type, step, endings: [] }, max);

group("describe", () => {
  test("the consultation entry in full", () => {
    const consultation = EXAMPLES.find((e) => e.file === "consultation.json")?.doc as JourneyDocument;
    expect(entryLine(consultation.entry, Infinity)).toBe(
      "On Page Viewed if path starts with /products/ and ≥ 3 Page Viewed (path starts with /products/) in 7 days and no Sales Contacted in 7 days and reachable by email",
    );
  });

  test("a branch on history keeps the first clauses that fit, then 'and …'", () => {
    const when: Condition = {
      all: [
        { history: { event: "Product Viewed", within: "7d" }, op: "gte", value: 3 },
        { history: { event: "Sales Contacted", within: "7d" }, op: "eq", value: 0 },
        { reachable: "email" },
        { trait: "plan", op: "ne", value: "enterprise" },
      ],
    };
    expect(stepLine({ id: "b", type: "branch", cases: [{ when }] })).toBe("If ≥ 3 Product Viewed in 7 days and no Sales Contacted in 7 days and …");
    expect(stepLine({ id: "b", type: "branch", cases: [{ when }] }, 40)).toBe("If ≥ 3 Product Viewed in 7 days and …");
    expect(stepLine({ id: "b", type: "branch", cases: [{ when }, { when }, { when }] }, 40)).toBe("If ≥ 3 Product Viewed in 7 days and …; 2 more cases");
  });

  test("entries of every kind", () => {
    expect(entryLine({ trait_change: { trait: "plan", from: "trial", to: "pro" } })).toBe("When plan changes from trial to pro");
    expect(entryLine({ trait_change: { trait: "plan" } })).toBe("When plan changes");
    expect(entryLine({ schedule: { cron: "0 9 * * mon", timezone: "Europe/Paris" }, audience: { trait: "plan", op: "eq", value: "pro" } })).toBe(
      "On schedule 0 9 * * mon (Europe/Paris), for plan is pro",
    );
    expect(entryLine({ date: { trait: "renewal_date", offset: "-3d", at: "09:00" } })).toBe("On 3 days before renewal_date at 09:00");
    expect(entryLine({ date: { trait: "birthday" } })).toBe("On birthday");
    expect(entryLine({ api: true })).toBe("When entered through the API");
  });

  test("waits of every kind", () => {
    expect(stepLine({ id: "w", type: "wait", duration: "1d12h" })).toBe("Wait 1 day 12 hours");
    expect(stepLine({ id: "w", type: "wait", until: { time: "09:00" } })).toBe("Wait until 09:00");
    expect(stepLine({ id: "w", type: "wait", until: { time: "09:00", timezone: "Europe/Paris", days: 0 } })).toBe("Wait until 09:00 (Europe/Paris), on the day of entry");
    expect(stepLine({ id: "w", type: "wait", until: { time: "18:30", days: 1, after: "tip" } })).toBe("Wait until 18:30, 1 day after tip");
    expect(stepLine({ id: "w", type: "wait", until_trait: "renewal_date", offset: "-3d" })).toBe("Wait until 3 days before renewal_date");
    expect(stepLine({ id: "w", type: "wait", until_trait: "renewal_date" })).toBe("Wait until renewal_date");
    expect(stepLine({ id: "w", type: "wait_for", events: [{ event: "A" }, { event: "B", filter: { property: "x", op: "exists" } }] }, Infinity)).toBe(
      "Wait for A or B where x is set",
    );
  });

  test("updates, webhooks, splits, exits", () => {
    expect(stepLine({ id: "u", type: "update", set: { plan: "pro", vip: true }, increment: { orders: 1 }, unset: ["trial"], run: { set: { total: 0 } } })).toBe(
      "Set plan, vip; increment orders; unset trial; set run total",
    );
    expect(stepLine({ id: "h", type: "webhook", url: "https://crm.example.com/leads", save: { lead_score: "/score" } })).toBe(
      "Webhook: POST https://crm.example.com/leads; save lead_score",
    );
    expect(stepLine({ id: "h", type: "webhook", method: "PUT", url: "https://x.example" })).toBe("Webhook: PUT https://x.example");
    expect(stepLine({ id: "s", type: "split", paths: [{ name: "a", weight: 90 }, { name: "b", weight: 10 }] })).toBe("Split: a 90%, b 10%");
    expect(stepLine({ id: "e", type: "exit" })).toBe("End the run");
  });
});

group("channels", () => {
  test("a send names its channel, SMS in capitals, in-app as a word; so does reachable", () => {
    expect(stepLine({ id: "invite", type: "send", template: "invite" })).toBe("Email: invite");
    expect(stepLine({ id: "code", type: "send", channel: "sms", template: "login-code" })).toBe("SMS: login-code");
    expect(stepLine({ id: "back", type: "send", channel: "push", template: "back-in-stock" })).toBe("Push: back-in-stock");
    expect(stepLine({ id: "offer", type: "send", channel: "in_app", template: "spring-offer" })).toBe("In-app: spring-offer");
    expect(conditionText({ reachable: "sms" })).toBe("reachable by SMS");
    expect(conditionText({ reachable: "push" })).toBe("reachable by push");
    expect(conditionText({ reachable: "in_app" })).toBe("reachable in the app");
    expect(channelText("in_app")).toBe("in-app");
    expect(conditionText({ not: { reachable: "email" } })).toBe("not (reachable by email)");
  });
});

group("tasks and A/B sends", () => {
  test("a task: its title as written, whose it is, when it is due", () => {
    expect(stepLine({ id: "call", type: "task", title: "Call {{ traits.name }}", team: "sales", due: "1d", next: "wait" })).toBe(
      "Task: Call {{ traits.name }} — for team sales, due in 1 day",
    );
    expect(stepLine({ id: "t", type: "task", title: "Check the account", assignee: "sam@acme.test" })).toBe("Task: Check the account — for sam@acme.test");
    expect(stepLine({ id: "t", type: "task", title: "Check", assignee: "sam@acme.test", team: "support", due: "2d" })).toBe(
      "Task: Check — for sam@acme.test (team support), due in 2 days",
    );
    // A new one, its title not written yet: anyone's.
    expect(stepLine({ id: "t", type: "task", title: "" })).toBe("Task: (no title) — for anyone");
  });

  test("a send with variants: each with its weight; the full text names their templates", () => {
    const step: Step = {
      id: "greet",
      type: "send",
      variants: [
        { name: "short", weight: 50, template: "welcome-short" },
        { name: "long", weight: 50, template: "welcome-long" },
      ],
    };
    expect(stepLine(step)).toBe("Email: A/B short 50% · long 50%");
    expect(stepLine(step, Infinity)).toBe("Email: A/B short 50% (welcome-short) · long 50% (welcome-long)");
    expect(stepLine({ ...step, channel: "sms" } as Step)).toBe("SMS: A/B short 50% · long 50%");
  });

  test("a task step and a send with variants are one way on, like a send", () => {
    const doc: JourneyDocument = {
      id: "t",
      entry: { event: "Signed Up" },
      steps: [
        { id: "call", type: "task", title: "Call", next: "greet" },
        { id: "greet", type: "send", variants: [{ name: "a", weight: 50, template: "x" }, { name: "b", weight: 50, template: "y" }] },
      ],
    };
    const graph = toGraph(doc);
    expect(graph.edges.map((e) => e.id)).toEqual(["(entry)/next", "call/next"]);
    expect(graph.nodes.map((n) => [n.id, n.kind, n.endings])).toEqual([
      ["(entry)", "entry", []],
      ["call", "task", []],
      ["greet", "send", [""]],
    ]);
  });
});

group("conditionText", () => {
  test("comparisons, references, clocks, groups", () => {
    expect(conditionText({ property: "cart_id", op: "eq", ref: "event.cart_id" })).toBe("cart_id is the entry event's cart_id");
    expect(conditionText({ run: "total", op: "gte", ref: "traits.vip_threshold" })).toBe("run total ≥ trait vip_threshold");
    expect(conditionText({ property: "sku", op: "in", ref: "run.skus" })).toBe("sku is one of run skus");
    expect(conditionText({ clock: "day_of_week", op: "in", value: ["sat", "sun"] })).toBe("day is one of sat, sun");
    expect(conditionText({ clock: "time_of_day", op: "lt", value: "09:00" })).toBe("local time < 09:00");
    expect(conditionText({ trait: "nickname", op: "not_exists" })).toBe("nickname is not set");
    expect(conditionText({ any: [{ trait: "a", op: "eq", value: 1 }, { all: [{ trait: "b", op: "eq", value: "" }, { not: { reachable: "email" } }] }] })).toBe(
      'a is 1 or (b is "" and not (reachable by email))',
    );
  });

  test("history aggregates", () => {
    expect(conditionText({ history: { event: "Order Completed", within: "entry" }, op: "eq", value: 0 })).toBe("no Order Completed since entry");
    expect(conditionText({ history: { event: "A", within: "1h", aggregate: "exists" }, op: "eq", value: true })).toBe("any A in 1 hour");
    expect(conditionText({ history: { event: "A", within: "2w", aggregate: "exists" }, op: "eq", value: false })).toBe("no A in 2 weeks");
    expect(conditionText({ history: { event: "Order Completed", within: "30d", aggregate: "sum", property: "total" }, op: "gte", value: 100 })).toBe(
      "sum total of Order Completed in 30 days ≥ 100",
    );
    expect(conditionText({ history: { event: "A", within: "3d", aggregate: "last", property: "k" }, op: "eq", value: "x" })).toBe("the last k of A in 3 days is x");
    expect(conditionText({ history: { event: "A", within: "1d" }, op: "lt", value: 2 })).toBe("< 2 A in 1 day");
  });

  test("history aggregates that read a property: min, max, first, distinct", () => {
    expect(conditionText({ history: { event: "Order Completed", within: "30d", aggregate: "max", property: "total" }, op: "gte", value: 100 })).toBe(
      "the largest total of Order Completed in 30 days ≥ 100",
    );
    expect(conditionText({ history: { event: "Order Completed", within: "30d", aggregate: "min", property: "total" }, op: "lt", value: 5 })).toBe(
      "the smallest total of Order Completed in 30 days < 5",
    );
    expect(conditionText({ history: { event: "Product Viewed", within: "7d", aggregate: "first", property: "sku" }, op: "eq", value: "A-1" })).toBe(
      "the first sku of Product Viewed in 7 days is A-1",
    );
    expect(conditionText({ history: { event: "Product Viewed", within: "7d", aggregate: "distinct", property: "sku" }, op: "gte", value: 3 })).toBe(
      "how many different sku of Product Viewed in 7 days ≥ 3",
    );
    // With a where, and a property not chosen yet.
    expect(
      conditionText({
        history: { event: "Product Viewed", within: "7d", aggregate: "distinct", where: { property: "category", op: "eq", value: "shoes" } },
        op: "gte",
        value: 2,
      } as Condition),
    ).toBe("how many different ? of Product Viewed (category is shoes) in 7 days ≥ 2");
  });

  test("a history query alone, as a computed trait keeps it", () => {
    const q = (aggregate: HistoryQuery["aggregate"], property?: string): HistoryQuery => ({ event: "Order Completed", within: "90d", aggregate, property });
    expect(historyQueryText({ event: "Order Completed", within: "90d" })).toBe("the number of Order Completed in 90 days");
    expect(historyQueryText(q("exists"))).toBe("whether there was any Order Completed in 90 days");
    expect(historyQueryText(q("sum", "total"))).toBe("the sum of total of Order Completed in 90 days");
    expect(historyQueryText(q("min", "total"))).toBe("the smallest total of Order Completed in 90 days");
    expect(historyQueryText(q("max", "total"))).toBe("the largest total of Order Completed in 90 days");
    expect(historyQueryText(q("first", "sku"))).toBe("the first sku of Order Completed in 90 days");
    expect(historyQueryText(q("last", "sku"))).toBe("the last sku of Order Completed in 90 days");
    expect(historyQueryText(q("distinct", "sku"))).toBe("how many different sku of Order Completed in 90 days");
    expect(historyQueryText({ event: "", within: "1w", where: { segment: "vip" } }, { vip: "VIP" })).toBe("the number of ? (in segment VIP) in 1 week");
  });

  test("durations", () => {
    expect(durationText("3d")).toBe("3 days");
    expect(durationText("1w")).toBe("1 week");
    expect(durationText("90s")).toBe("90 seconds");
    expect(durationText("1h30m")).toBe("1 hour 30 minutes");
    expect(durationText("soon")).toBe("soon");
  });
});

group("segments", () => {
  const names = { lapsed: "No order in 30 days", vip: "VIP" };

  test("a segment entry: entering or leaving it, by its name (its id when the name is not known)", () => {
    expect(describe({ id: "(entry)", kind: "entry", entry: { segment: "lapsed", on: "enter" }, endings: [] }, undefined, names)).toBe("Enters segment No order in 30 days");
    expect(describe({ id: "(entry)", kind: "entry", entry: { segment: "lapsed" }, endings: [] }, undefined, names)).toBe("Enters segment No order in 30 days");
    expect(describe({ id: "(entry)", kind: "entry", entry: { segment: "lapsed", on: "leave" }, endings: [] }, undefined, names)).toBe("Leaves segment No order in 30 days");
    expect(entryLine({ segment: "lapsed", on: "leave" })).toBe("Leaves segment lapsed");
    // Not chosen yet.
    expect(entryLine({ segment: "", on: "enter" })).toBe("Enters segment ?");
  });

  test("membership: in a segment, not in it (one clause), among others", () => {
    expect(conditionText({ segment: "vip" }, Infinity, names)).toBe("in segment VIP");
    expect(conditionText({ not: { segment: "vip" } }, Infinity, names)).toBe("not in segment VIP");
    expect(conditionText({ segment: "ghost" }, Infinity, names)).toBe("in segment ghost");
    expect(conditionText({ all: [{ trait: "plan", op: "eq", value: "pro" }, { not: { segment: "lapsed" } }] }, Infinity, names)).toBe(
      "plan is pro and not in segment No order in 30 days",
    );
    const branch: Step = { id: "b", type: "branch", cases: [{ when: { segment: "vip" } }] };
    expect(describe({ id: "b", kind: "branch", step: branch, endings: [] }, undefined, names)).toBe("If in segment VIP");
    expect(stepLine(branch)).toBe("If in segment vip");
    // A schedule's audience, a wait_for path's filter.
    expect(describe({ id: "(entry)", kind: "entry", entry: { schedule: { cron: "0 9 * * mon" }, audience: { segment: "vip" } }, endings: [] }, undefined, names)).toBe(
      "On schedule 0 9 * * mon, for in segment VIP",
    );
    const waitFor: Step = { id: "w", type: "wait_for", events: [{ event: "Order Completed", filter: { segment: "vip" } }] };
    expect(describe({ id: "w", kind: "wait_for", step: waitFor, endings: [] }, Infinity, names)).toBe("Wait for Order Completed where in segment VIP");
  });
});
