// The journey document: the JSON the canvas draws (and an editor will edit), written by hand
// from docs/JOURNEYS.md.
//
// TO BE REPLACED by the type generated from the server's OpenAPI document once the server
// publishes the document's schema: this file then re-exports the generated types under these
// names. Nothing else in web/ describes the document, so the swap is this one file.

/** A duration such as "3d", "1h", "1d12h" (units s, m, h, d, w). */
export type Duration = string;

/** A signed duration such as "-3d". */
export type Offset = string;

export type Operator =
  | "eq"
  | "ne"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "contains"
  | "starts_with"
  | "ends_with"
  | "in"
  | "exists"
  | "not_exists";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The right-hand side of a comparison: a literal `value`, or a `ref` ("event.cart_id", "run.skus", "traits.x"). */
interface Comparison {
  op: Operator;
  value?: JsonValue;
  ref?: string;
}

export interface TraitCondition extends Comparison {
  trait: string;
}

export interface PropertyCondition extends Comparison {
  property: string;
}

export interface RunCondition extends Comparison {
  run: string;
}

export interface HistoryQuery {
  event: string;
  /** A duration, or "entry": since the run entered. */
  within: Duration;
  where?: Condition;
  aggregate?: "count" | "exists" | "sum" | "last";
  property?: string;
}

export interface HistoryCondition {
  history: HistoryQuery;
  op: Operator;
  value?: JsonValue;
}

export interface ClockCondition {
  clock: "time_of_day" | "day_of_week";
  op: Operator;
  value?: JsonValue;
}

export interface ReachableCondition {
  reachable: "email";
}

export interface AllCondition {
  all: Condition[];
}

export interface AnyCondition {
  any: Condition[];
}

export interface NotCondition {
  not: Condition;
}

export type Condition =
  | AllCondition
  | AnyCondition
  | NotCondition
  | TraitCondition
  | PropertyCondition
  | RunCondition
  | HistoryCondition
  | ClockCondition
  | ReachableCondition;

export type Reentry = "always" | "never" | { after: Duration };

interface EntryRules {
  reentry?: Reentry;
  limit?: number;
  /** A percent of entrants put in the control group. */
  holdout?: number;
  concurrent?: boolean;
}

export interface EventEntry extends EntryRules {
  event: string;
  filter?: Condition;
  key?: string;
}

export interface TraitChangeEntry extends EntryRules {
  trait_change: { trait: string; from?: JsonValue; to?: JsonValue };
}

export interface ScheduleEntry extends EntryRules {
  schedule: { cron: string; timezone?: string };
  audience?: Condition;
}

export interface DateEntry extends EntryRules {
  date: { trait: string; offset?: Offset; at?: string };
}

export interface ApiEntry extends EntryRules {
  api: true;
  key?: string;
}

export type Entry = EventEntry | TraitChangeEntry | ScheduleEntry | DateEntry | ApiEntry;

export interface EventMatch {
  event: string;
  filter?: Condition;
}

export interface Goal extends EventMatch {
  within?: Duration;
  exit?: boolean;
  /** A step id: the window starts when the run first reaches it. */
  from?: string;
}

/** A step id; absent or null, the run ends there. */
export type Next = string | null;

/** Run variables changed by an `update` step or a `wait_for` path; strings are Liquid templates. */
export interface RunUpdate {
  set?: Record<string, JsonValue>;
  append?: Record<string, JsonValue>;
}

interface StepBase {
  id: string;
}

export interface WaitUntil {
  time: string;
  days?: number;
  after?: string;
  timezone?: string;
}

export interface WaitStep extends StepBase {
  type: "wait";
  duration?: Duration;
  until?: WaitUntil;
  until_trait?: string;
  offset?: Offset;
  next?: Next;
}

export interface WaitForPath extends EventMatch {
  run?: RunUpdate;
  next?: Next;
}

export interface WaitForStep extends StepBase {
  type: "wait_for";
  events: WaitForPath[];
  timeout?: Duration;
  timeout_next?: Next;
}

export interface BranchCase {
  when: Condition;
  next?: Next;
}

export interface BranchStep extends StepBase {
  type: "branch";
  cases: BranchCase[];
  else?: Next;
}

export interface SplitPath {
  name: string;
  /** A percent; the weights of a split add up to 100. */
  weight: number;
  next?: Next;
}

export interface SplitStep extends StepBase {
  type: "split";
  paths: SplitPath[];
}

export interface SendStep extends StepBase {
  type: "send";
  channel?: "email";
  template: string;
  next?: Next;
  on_unreachable?: Next;
  on_failure?: Next;
}

export interface UpdateStep extends StepBase {
  type: "update";
  set?: Record<string, JsonValue>;
  increment?: Record<string, number>;
  unset?: string[];
  run?: RunUpdate;
  next?: Next;
}

export interface WebhookStep extends StepBase {
  type: "webhook";
  url: string;
  method?: string;
  body?: JsonValue;
  /** Trait name → JSON pointer into the response. */
  save?: Record<string, string>;
  next?: Next;
}

export interface ExitStep extends StepBase {
  type: "exit";
}

export type Step = WaitStep | WaitForStep | BranchStep | SplitStep | SendStep | UpdateStep | WebhookStep | ExitStep;

export type StepType = Step["type"];

export interface JourneyDocument {
  id: string;
  name?: string;
  timezone?: string;
  entry: Entry;
  exit?: EventMatch[];
  goal?: Goal;
  steps: Step[];
}

export const STEP_TYPES: readonly StepType[] = ["wait", "wait_for", "branch", "split", "send", "update", "webhook", "exit"];
