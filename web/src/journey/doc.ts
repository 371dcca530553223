// The journey document: the JSON the canvas draws and the editor edits. Its types are
// generated from the server's OpenAPI document (component `Journey` and what it names, which
// a server test keeps equal to the keys the parser reads); this file only gives them short
// names.
import type { components } from "../api/schema";

type Schemas = components["schemas"];

/** A duration such as "3d", "1h", "1d12h" (units s, m, h, d, w). */
export type Duration = string;
/** A signed duration such as "-3d". */
export type Offset = string;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type JourneyDocument = Schemas["Journey"];
export type Entry = Schemas["Entry"];
export type EventEntry = Schemas["EventEntry"];
export type TraitChangeEntry = Schemas["TraitChangeEntry"];
export type ApiEntry = Schemas["ApiEntry"];
export type ScheduleEntry = Schemas["ScheduleEntry"];
export type DateEntry = Schemas["DateEntry"];
export type Reentry = Schemas["Reentry"];
export type EventMatch = Schemas["EventMatch"];
export type Goal = Schemas["Goal"];
export type QuietHours = Schemas["QuietHours"];
export type QuietThen = Schemas["QuietThen"];
export type JourneyCap = Schemas["JourneyCap"];
export type RunUpdate = Schemas["RunUpdate"];
export type Condition = Schemas["Condition"];
export type AllCondition = Schemas["AllCondition"];
export type AnyCondition = Schemas["AnyCondition"];
export type NotCondition = Schemas["NotCondition"];
export type TraitCondition = Schemas["TraitCondition"];
export type PropertyCondition = Schemas["PropertyCondition"];
export type RunCondition = Schemas["RunCondition"];
export type HistoryCondition = Schemas["HistoryCondition"];
export type HistoryQuery = Schemas["HistoryQuery"];
export type ClockCondition = Schemas["ClockCondition"];
export type ReachableCondition = Schemas["ReachableCondition"];
export type Operator = Schemas["Operator"];
export type Step = Schemas["Step"];
export type WaitStep = Schemas["WaitStep"];
export type WaitUntil = Schemas["WaitUntil"];
export type WaitForStep = Schemas["WaitForStep"];
export type WaitForPath = Schemas["WaitForPath"];
export type BranchStep = Schemas["BranchStep"];
export type BranchCase = Schemas["BranchCase"];
export type SplitStep = Schemas["SplitStep"];
export type SplitPath = Schemas["SplitPath"];
export type SendStep = Schemas["SendStep"];
export type SendVariant = Schemas["SendVariant"];
export type Channel = Schemas["Channel"];
export type UpdateStep = Schemas["UpdateStep"];
export type WebhookStep = Schemas["WebhookStep"];
export type TaskStep = Schemas["TaskStep"];
export type ExitStep = Schemas["ExitStep"];

/** A step id; absent or null, the run ends there. */
export type Next = string | null;

export type StepType = Step["type"];

export const STEP_TYPES: readonly StepType[] = ["wait", "wait_for", "branch", "split", "send", "update", "webhook", "task", "exit"];
