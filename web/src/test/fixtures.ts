// Hand-made answers of the admin API for component tests, typed by the schema.
import type { Schemas } from "../api/client";
import { EXAMPLES } from "../examples";


const TEXT = ["entered on Page Viewed", "invite: email consultation-invite", "booked: waiting for Consultation Booked"];
export const consultation = EXAMPLES.find((e) => e.file === "consultation.json")?.doc;

export const summary = (id: number, user: string, traits: Record<string, unknown> = {}): Schemas["ProfileSummary"] => ({
  id,
  identities: [{ kind: "user_id", value: user }],
  traits,
});

export const run = (over: Partial<Schemas["RunView"]> = {}): Schemas["RunView"] => ({
  run_id: 11,
  journey: "consultation",
  version: 2,
  status: "waiting",
  node: "booked",
  entered_at: "2030-01-01T00:03:00Z",
  updated_at: "2030-01-01T00:03:00Z",
  control_group: false,
  assignments: {},
  variables: {},
  // As rows written before trace lines were structured read: each line's text alone.
  trace: [{ seq: 5, at: "2030-01-01T00:03:00Z", lines: TEXT, steps: TEXT.map((text) => ({ node: null, kind: "text" as const, text, checks: [] })) }],
  ...over,
});

export const message = (over: Partial<Schemas["MessageView"]> = {}): Schemas["MessageView"] => ({
  id: 31,
  idempotency_key: "k31",
  profile_id: 4,
  channel: "email",
  status: "captured",
  delivered: false,
  node: "invite",
  attempts: 1,
  created_at: "2030-01-01T00:03:00Z",
  updated_at: "2030-01-01T00:03:00Z",
  template: "consultation-invite",
  to: "alice@example.com",
  note: "captured: no SMTP server is configured",
  ...over,
});

export const event = (seq: number, at: string, path: string): Schemas["EventView"] => ({
  seq,
  source: "website",
  type: "page",
  name: "Page Viewed",
  message_id: `m${seq}`,
  timestamp: at,
  received_at: at,
  properties: { path },
  traits: {},
  user_id: "alice",
});

export const profile = (over: Partial<Schemas["ProfileView"]> = {}): Schemas["ProfileView"] => ({
  id: 4,
  traits: { firstName: "Alice", email: "alice@example.com", plan: "pro" },
  identities: [
    { kind: "user_id", value: "alice" },
    { kind: "anonymous_id", value: "anon-1" },
  ],
  refused_merges: [],
  events: [event(1, "2030-01-01T00:01:00Z", "/products/a"), event(2, "2030-01-01T00:02:00Z", "/products/b"), event(3, "2030-01-01T00:03:00Z", "/products/c")],
  journeys: [run()],
  messages: [],
  warnings: [],
  segments: [],
  computed_traits: [],
  stage_history: [],
  ...over,
});

export const segment = (over: Partial<Schemas["SegmentView"]> = {}): Schemas["SegmentView"] => ({
  id: "pro",
  name: "Pro customers",
  condition: { trait: "plan", op: "eq", value: "pro" } as unknown as Schemas["SegmentView"]["condition"],
  size: 12,
  created_at: "2030-01-01T00:00:00Z",
  updated_at: "2030-01-02T00:00:00Z",
  fill: null,
  ...over,
});

export const member = (id: number, user: string, since = "2030-01-02T00:00:00Z", traits: Record<string, unknown> = {}): Schemas["Member"] => ({
  since,
  person: summary(id, user, traits),
});

/** Sizes at the end of each of `n` days up to 2030-01-30: growing by one a day from `from`. */
export const sizes = (n = 30, from = 0): Schemas["SizeSeries"] => ({
  days: Array.from({ length: n }, (_, i) => {
    const day = new Date(Date.UTC(2030, 0, 31 - n + i)).toISOString().slice(0, 10);
    return { day, size: from + i, entered: i === 0 ? from : 1, exited: 0 };
  }),
});

export const computedTrait = (over: Partial<Schemas["ComputedTraitView"]> = {}): Schemas["ComputedTraitView"] => ({
  trait: "spent_90d",
  label: "Spent in 90 days",
  history: { event: "Order Completed", within: "90d", aggregate: "sum", property: "total" },
  created_at: "2030-01-01T00:00:00Z",
  updated_at: "2030-01-02T00:00:00Z",
  ...over,
});

export const stage = (id: string, name: string, condition: unknown, people = 0): Schemas["StageView"] => ({
  id,
  name,
  condition: condition as Schemas["StageView"]["condition"],
  people,
});

/** Lead (an email), Customer (an order in a year), At risk (a buyer with no order in 60 days). */
export const lifecycle = (over: Partial<Schemas["LifecycleView"]> = {}): Schemas["LifecycleView"] => ({
  stages: [
    stage("lead", "Lead", { trait: "email", op: "exists" }, 40),
    stage("customer", "Customer", { history: { event: "Order Completed", within: "365d" }, op: "gte", value: 1 }, 12),
    stage("at-risk", "At risk", { all: [{ segment: "buyers" }, { history: { event: "Order Completed", within: "60d" }, op: "eq", value: 0 }] }, 3),
  ],
  fill: null,
  ...over,
});

/** The moves of the last 30 days up to 2030-01-31 (most first, as the server orders them). */
export const flows = (over: Partial<Schemas["Flows"]> = {}): Schemas["Flows"] => ({
  from: "2030-01-01T00:00:00Z",
  to: "2030-01-31T00:00:00.001Z",
  segment: null,
  flows: [
    { from: null, to: "lead", people: 30 },
    { from: "lead", to: "customer", people: 10 },
    { from: "customer", to: "at-risk", people: 3 },
    { from: "at-risk", to: "customer", people: 1 },
  ],
  ...over,
});
