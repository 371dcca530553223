// A person's timeline: their events, their messages and the steps of their journey runs,
// interleaved, newest first.
import type { Schemas } from "../api/client";

export type TimelineItem =
  | { kind: "event"; key: string; at: string; event: Schemas["EventView"] }
  | { kind: "message"; key: string; at: string; message: Schemas["MessageView"] }
  | { kind: "step"; key: string; at: string; run: Schemas["RunView"]; entry: Schemas["TraceEntry"] };

export type TimelineKind = TimelineItem["kind"];

/** For things at the same time, what comes first (newest first): a message after the step that decided it, a step after the event that caused it. */
const RANK: Record<TimelineKind, number> = { message: 0, step: 1, event: 2 };

const time = (at: string) => {
  const t = Date.parse(at);
  return Number.isNaN(t) ? 0 : t;
};

/** Every item, newest first. */
export function timeline(events: Schemas["EventView"][], messages: Schemas["MessageView"][], runs: Schemas["RunView"][]): TimelineItem[] {
  const items: (TimelineItem & { order: number })[] = [
    ...events.map((event) => ({ kind: "event" as const, key: `event:${event.seq}`, at: event.timestamp, event, order: event.seq })),
    ...messages.map((message) => ({ kind: "message" as const, key: `message:${message.id}`, at: message.created_at, message, order: message.id })),
    ...runs.flatMap((run) => run.trace.map((entry) => ({ kind: "step" as const, key: `step:${run.run_id}:${entry.seq}`, at: entry.at, run, entry, order: entry.seq }))),
  ];
  items.sort((a, b) => time(b.at) - time(a.at) || RANK[a.kind] - RANK[b.kind] || b.order - a.order);
  return items.map(({ order: _, ...item }) => item as TimelineItem);
}
