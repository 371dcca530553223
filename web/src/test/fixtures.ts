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
  ...over,
});
