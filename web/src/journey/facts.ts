// What holds for the whole journey, in words: its goal, its exits, the entry's rules, its quiet
// hours, its frequency cap, its priority. These are not nodes: they apply wherever a run is.
import type { EventMatch, JourneyCap, JourneyDocument, QuietHours } from "./doc";
import { conditionText, durationText } from "./describe";

export interface Fact {
  label: string;
  text: string;
}

function matchText(m: EventMatch): string {
  return m.filter ? `${m.event} where ${conditionText(m.filter)}` : m.event;
}

/** "21:00–08:00, held": sends in them wait until they end; "…, skipped": they are not sent. */
export function quietHoursText(q: QuietHours): string {
  // A document being edited may have a time missing: "?" holds its place.
  return `${q.from || "?"}–${q.to || "?"}, ${q.then === "skip" ? "skipped" : "held"}`;
}

/** "at most 3 messages in 7d", as the server's reason for a message over it says the cap. */
export function capText(c: JourneyCap): string {
  // A document being edited may have a field missing: "?" holds its place.
  const max = typeof c.max === "number" ? c.max : "?";
  return `at most ${max} message${max === 1 ? "" : "s"} in ${c.within || "?"}`;
}

/**
 * "10, above the default 0": when journeys message a person on one channel at once, the marketing
 * messages of the highest priority go.
 */
export function priorityText(p: unknown): string {
  // A document being edited may have something else there: "?" holds its place.
  if (typeof p !== "number") return "?";
  return `${p}, ${p > 0 ? "above" : p < 0 ? "below" : "as"} the default 0`;
}

export function journeyFacts(doc: JourneyDocument): Fact[] {
  const facts: Fact[] = [];
  const { goal, entry } = doc;
  if (goal) {
    const window = goal.within ? ` within ${durationText(goal.within)} of ${goal.from ? `reaching ${goal.from}` : "entry"}` : goal.from ? ` after reaching ${goal.from}` : "";
    facts.push({ label: "Goal", text: `${matchText(goal)}${window}${goal.exit ? "; ends the run" : ""}` });
  }
  if (doc.exit && doc.exit.length > 0) facts.push({ label: "Exits on", text: doc.exit.map(matchText).join("; or ") });
  const reentry = entry.reentry;
  if (reentry === "never") facts.push({ label: "Re-entry", text: "never" });
  else if (typeof reentry === "object") facts.push({ label: "Re-entry", text: `${durationText(reentry.after)} after the previous run started` });
  if ("key" in entry && entry.key) facts.push({ label: "Runs", text: `one per ${entry.key}` });
  if (entry.concurrent) facts.push({ label: "Concurrent", text: "each entry starts a run of its own" });
  if (entry.limit !== undefined) facts.push({ label: "Limit", text: `${entry.limit.toLocaleString("en")} runs in all` });
  if (entry.holdout !== undefined) facts.push({ label: "Holdout", text: `${entry.holdout}% in a control group` });
  if (doc.timezone) facts.push({ label: "Time zone", text: doc.timezone });
  if (doc.quiet_hours) facts.push({ label: "Quiet hours", text: quietHoursText(doc.quiet_hours) });
  if (doc.cap) facts.push({ label: "Frequency cap", text: capText(doc.cap) });
  // 0 is the default: said only when it is something else.
  const priority: unknown = doc.priority;
  if (priority !== undefined && priority !== null && priority !== 0) facts.push({ label: "Priority", text: priorityText(priority) });
  return facts;
}
