// What a node does, in words: "Wait 3 days", "Email: consultation-invite", "SMS: reminder",
// "Push: back-in-stock", "In-app: spring-offer", "Email: A/B short 50% · long 50%",
// "If ≥ 3 Product Viewed in 7 days and …", "Task: Call {{ traits.name }} — for team sales, due in 1 day",
// "Enters segment No order in 30 days", "If not in segment VIP", "If the largest total of Order
// Completed in 30 days ≥ 100".
import type { Channel, Condition, Entry, HistoryCondition, HistoryQuery, Operator, RunUpdate, SendStep, Step, TaskStep, WaitStep } from "./doc";
import type { GraphNode } from "./graph";

/** Segment id → its name, for the words that name segments (an id not in it is said as it is). */
export type SegmentNames = Readonly<Record<string, string>>;

const NO_NAMES: SegmentNames = {};

/** A segment as a sentence names it: its name, else its id; "?" while none is chosen. */
export function segmentText(id: string, names: SegmentNames = NO_NAMES): string {
  if (id === "") return "?";
  return Object.hasOwn(names, id) ? names[id] : id;
}

/** How long a card's line may be before the remaining clauses become "…". */
export const LINE_LENGTH = 64;

/** The channels a send step sends on (and `reachable` names), as forms offer them. */
export const CHANNELS: readonly { value: Channel; label: string }[] = [
  { value: "email", label: "Email" },
  { value: "sms", label: "SMS" },
  { value: "push", label: "Push" },
  { value: "in_app", label: "In-app" },
];

/** A channel in a sentence: "email", but "SMS" (an initialism keeps its capitals) and "in-app". */
export function channelText(channel: string): string {
  return channel === "sms" ? "SMS" : channel === "in_app" ? "in-app" : channel;
}

const UNITS: Record<string, string> = { s: "second", m: "minute", h: "hour", d: "day", w: "week" };

/** "3d" → "3 days", "1d12h" → "1 day 12 hours"; anything else as it is. */
export function durationText(duration: string): string {
  const parts = [...duration.matchAll(/(\d+)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== duration) return duration;
  return parts.map(([, n, unit]) => `${n} ${UNITS[unit]}${n === "1" ? "" : "s"}`).join(" ");
}

/** "-3d" → "3 days before", "2d" or "+2d" → "2 days after". */
function offsetText(offset: string | undefined, anchor: string): string {
  const match = offset?.match(/^([+-]?)(.+)$/);
  if (!match || /^0[smhdw]?$/.test(match[2])) return anchor;
  return `${durationText(match[2])} ${match[1] === "-" ? "before" : "after"} ${anchor}`;
}

function valueText(value: unknown): string {
  if (value === undefined) return "?";
  if (typeof value === "string") return value === "" ? '""' : value;
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  return JSON.stringify(value);
}

/** "event.cart_id" → "the entry event's cart_id", "run.skus" → "run skus", "traits.x" → "trait x". */
function refText(ref: string): string {
  const [root, ...rest] = ref.split(".");
  const path = rest.join(".");
  switch (root) {
    case "event":
      return `the entry event's ${path}`;
    case "run":
      return `run ${path}`;
    case "traits":
      return `trait ${path}`;
    default:
      return ref;
  }
}

const OPERATORS: Record<Operator, string> = {
  eq: "is",
  ne: "is not",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
  contains: "contains",
  starts_with: "starts with",
  ends_with: "ends with",
  in: "is one of",
  exists: "is set",
  not_exists: "is not set",
};

function comparisonText(subject: string, op: Operator, value: unknown, ref?: string): string {
  const words = OPERATORS[op] ?? op;
  if (op === "exists" || op === "not_exists") return `${subject} ${words}`;
  return `${subject} ${words} ${ref !== undefined ? refText(ref) : valueText(value)}`;
}

const COUNT_OPERATORS: Partial<Record<Operator, string>> = { eq: "exactly", ne: "not exactly", gt: ">", gte: "≥", lt: "<", lte: "≤" };

/** The aggregates that read a `property` of the events. */
export const PROPERTY_AGGREGATES: readonly string[] = ["sum", "min", "max", "first", "last", "distinct"];

/**
 * What a history query reads, in words, without a comparison: "the number of Order Completed in
 * 90 days", "the largest total of Order Completed in 30 days", "how many different sku of
 * Product Viewed in 7 days".
 */
export function historyQueryText(history: HistoryQuery, names: SegmentNames = NO_NAMES): string {
  const where = history.where ? ` (${conditionText(history.where, Infinity, names)})` : "";
  const events = `${history.event || "?"}${where}`;
  const window = history.within === "entry" ? "since entry" : `in ${durationText(history.within ?? "")}`;
  const property = history.property || "?";
  switch (history.aggregate ?? "count") {
    case "count":
      return `the number of ${events} ${window}`;
    case "exists":
      return `whether there was any ${events} ${window}`;
    case "sum":
      return `the sum of ${property} of ${events} ${window}`;
    case "min":
      return `the smallest ${property} of ${events} ${window}`;
    case "max":
      return `the largest ${property} of ${events} ${window}`;
    case "first":
      return `the first ${property} of ${events} ${window}`;
    case "last":
      return `the last ${property} of ${events} ${window}`;
    case "distinct":
      return `how many different ${property} of ${events} ${window}`;
    default:
      return `${String(history.aggregate)} of ${events} ${window}`;
  }
}

function historyText(condition: HistoryCondition, names: SegmentNames): string {
  const { history, op, value } = condition;
  const where = history.where ? ` (${conditionText(history.where, Infinity, names)})` : "";
  const events = `${history.event}${where}`;
  const window = history.within === "entry" ? "since entry" : `in ${durationText(history.within)}`;
  switch (history.aggregate ?? "count") {
    case "count": {
      if (op === "eq" && value === 0) return `no ${events} ${window}`;
      const count = COUNT_OPERATORS[op];
      if (count !== undefined) return `${count} ${valueText(value)} ${events} ${window}`;
      break;
    }
    case "exists":
      if ((op === "eq" && value === true) || (op === "ne" && value === false)) return `any ${events} ${window}`;
      if ((op === "eq" && value === false) || (op === "ne" && value === true)) return `no ${events} ${window}`;
      break;
    case "sum":
      // "sum total of Order Completed in 30 days ≥ 100", as cards have always said it.
      return comparisonText(`sum ${history.property ?? "?"} of ${events} ${window}`, op, value);
    default:
      // "the largest total of Order Completed in 30 days ≥ 100", "how many different sku of Product Viewed in 7 days ≥ 3".
      return comparisonText(historyQueryText(history, names), op, value);
  }
  return comparisonText(`${events} ${window}`, op, value);
}

function clauses(c: Condition): { join: "and" | "or"; parts: Condition[] } | undefined {
  if ("all" in c) return { join: "and", parts: c.all };
  if ("any" in c) return { join: "or", parts: c.any };
  return undefined;
}

/** Clauses joined by `join` while they fit in `max` characters, then "and …" (always the first). */
function joinClauses(parts: string[], join: string, max: number): string {
  let text = parts[0] ?? "";
  for (const part of parts.slice(1)) {
    const longer = `${text} ${join} ${part}`;
    if (longer.length > max) return `${text} ${join} …`;
    text = longer;
  }
  return text;
}

/**
 * A condition in words, shortened to about `max` characters by dropping whole clauses; segments
 * by their name in `names`.
 */
export function conditionText(c: Condition, max = Infinity, names: SegmentNames = NO_NAMES): string {
  const group = clauses(c);
  if (group) {
    const nested = (part: Condition) => {
      const text = conditionText(part, Infinity, names);
      return clauses(part) ? `(${text})` : text;
    };
    return joinClauses(group.parts.map(nested), group.join, max);
  }
  // Not in a segment reads as one clause.
  if ("not" in c && typeof c.not === "object" && c.not !== null && "segment" in c.not) return `not in segment ${segmentText(c.not.segment, names)}`;
  if ("not" in c) return `not (${conditionText(c.not, Infinity, names)})`;
  if ("segment" in c) return `in segment ${segmentText(c.segment, names)}`;
  if ("history" in c) return historyText(c, names);
  // Always true in the app: the message waits for the person's visit.
  if ("reachable" in c) return c.reachable === "in_app" ? "reachable in the app" : `reachable by ${channelText(c.reachable)}`;
  if ("clock" in c) return comparisonText(c.clock === "time_of_day" ? "local time" : "day", c.op, c.value);
  if ("trait" in c) return comparisonText(c.trait, c.op, c.value, c.ref);
  if ("property" in c) return comparisonText(c.property, c.op, c.value, c.ref);
  if ("run" in c) return comparisonText(`run ${c.run}`, c.op, c.value, c.ref);
  return "a condition";
}

/** `prefix` followed by the condition, the whole within `max` characters where clauses allow. */
function withCondition(prefix: string, c: Condition | undefined, max: number, names: SegmentNames, joiner = " if "): string {
  if (c === undefined) return prefix;
  const head = `${prefix}${joiner}`;
  return head + conditionText(c, max - head.length, names);
}

function entryText(entry: Entry, max: number, names: SegmentNames): string {
  if ("event" in entry) return withCondition(`On ${entry.event}`, entry.filter, max, names);
  if ("segment" in entry) return `${entry.on === "leave" ? "Leaves" : "Enters"} segment ${segmentText(entry.segment, names)}`;
  if ("trait_change" in entry) {
    const { trait, from, to } = entry.trait_change;
    const fromText = from === undefined ? "" : ` from ${valueText(from)}`;
    const toText = to === undefined ? "" : ` to ${valueText(to)}`;
    return `When ${trait} changes${fromText}${toText}`;
  }
  if ("schedule" in entry) {
    const zone = entry.schedule.timezone ? ` (${entry.schedule.timezone})` : "";
    return withCondition(`On schedule ${entry.schedule.cron}${zone}`, entry.audience, max, names, ", for ");
  }
  if ("date" in entry) {
    const at = entry.date.at ? ` at ${entry.date.at}` : "";
    return `On ${offsetText(entry.date.offset, entry.date.trait)}${at}`;
  }
  return "When entered through the API";
}

function waitText(step: WaitStep): string {
  if (step.duration !== undefined) return `Wait ${durationText(step.duration)}`;
  if (step.until !== undefined) {
    const { time, days, after, timezone } = step.until;
    const zone = timezone ? ` (${timezone})` : "";
    if (days === undefined) return `Wait until ${time}${zone}`;
    const anchor = after === undefined || after === "entry" ? "entry" : after;
    const day = days === 0 ? `on the day of ${anchor}` : `${days} day${days === 1 ? "" : "s"} after ${anchor}`;
    return `Wait until ${time}${zone}, ${day}`;
  }
  if (step.until_trait !== undefined) return `Wait until ${offsetText(step.offset, step.until_trait)}`;
  return "Wait";
}

function runUpdateParts(run: RunUpdate | undefined): string[] {
  if (!run) return [];
  const parts: string[] = [];
  if (run.set) parts.push(`set run ${Object.keys(run.set).join(", ")}`);
  if (run.append) parts.push(`append to run ${Object.keys(run.append).join(", ")}`);
  return parts;
}

/**
 * What a send sends: its template, or its variants with their weights ("A/B short 50% · long
 * 50%"); with `max` Infinity (the full text) each variant's template too.
 */
function sendText(step: SendStep, max: number): string {
  const channel = capitalized(channelText(step.channel ?? "email"));
  if (!Array.isArray(step.variants)) return `${channel}: ${step.template ?? ""}`;
  const variants = step.variants.map((v) => `${v.name} ${v.weight}%${max === Infinity ? ` (${v.template})` : ""}`);
  return `${channel}: A/B ${variants.join(" · ")}`;
}

/** Whose a task is: a user's, a team's, both, or anyone's. */
export function taskWhose(task: Pick<TaskStep, "assignee" | "team">): string {
  const assignee = task.assignee?.trim();
  const team = task.team?.trim();
  if (assignee && team) return `${assignee} (team ${team})`;
  if (assignee) return assignee;
  if (team) return `team ${team}`;
  return "anyone";
}

function taskText(step: TaskStep): string {
  const due = step.due ? `, due in ${durationText(step.due)}` : "";
  return `Task: ${step.title || "(no title)"} — for ${taskWhose(step)}${due}`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function stepText(step: Step, max: number, names: SegmentNames): string {
  switch (step.type) {
    case "wait":
      return waitText(step);
    case "wait_for": {
      const events = step.events.map((p) => (max === Infinity && p.filter ? `${p.event} where ${conditionText(p.filter, Infinity, names)}` : p.event));
      const upTo = step.timeout !== undefined ? ` up to ${durationText(step.timeout)}` : "";
      return `Wait${upTo} for ${joinClauses(events, "or", max)}`;
    }
    case "branch": {
      const [first] = step.cases;
      if (first === undefined) return "Always: else";
      const more = step.cases.length > 1 ? `; ${step.cases.length - 1} more case${step.cases.length > 2 ? "s" : ""}` : "";
      return withCondition("If", first.when, max - more.length, names, " ") + more;
    }
    case "split":
      return `Split: ${step.paths.map((p) => `${p.name} ${p.weight}%`).join(", ")}`;
    case "send":
      return sendText(step, max);
    case "update": {
      const parts = [
        ...(step.set ? [`set ${Object.keys(step.set).join(", ")}`] : []),
        ...(step.increment ? [`increment ${Object.keys(step.increment).join(", ")}`] : []),
        ...(step.unset ? [`unset ${step.unset.join(", ")}`] : []),
        ...runUpdateParts(step.run),
      ];
      return parts.length === 0 ? "Change nothing" : capitalized(parts.join("; "));
    }
    case "webhook": {
      const save = step.save ? `; save ${Object.keys(step.save).join(", ")}` : "";
      return `Webhook: ${step.method ?? "POST"} ${step.url}${save}`;
    }
    case "task":
      return taskText(step);
    case "exit":
      return "End the run";
  }
}

/**
 * The one line a node's card shows; `max` (default LINE_LENGTH) bounds long conditions; segments
 * are named by `names` (else by their id).
 */
export function describe(node: GraphNode, max = LINE_LENGTH, names: SegmentNames = NO_NAMES): string {
  return node.kind === "entry" ? entryText(node.entry, max, names) : stepText(node.step, max, names);
}
