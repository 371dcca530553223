// Computed traits as the pages use them: names as the server takes them, the query in words,
// the problems a save was refused with.
import type { ApiError, Schemas } from "../api/client";
import { historyQueryText, type SegmentNames } from "../journey/describe";
import type { HistoryQuery } from "../journey/doc";
import { isObject } from "../journey/json";
import { refusalProblems, type SegmentDiagnostic } from "./segments";

export type ComputedTrait = Schemas["ComputedTraitView"];

/** A computed trait's name, as the server checks it: 1 to 64 of a-z, 0-9 and _, starting with a letter (templates read `traits.name`). */
export const TRAIT_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** The trait a person's lifecycle stage is written to: not a computed trait's to take. */
export const STAGE_TRAIT = "lifecycle_stage";

/** The problems a save was refused with (422 `computed_trait_invalid`), or undefined for another failure. */
export const computedProblems = (error: ApiError): SegmentDiagnostic[] | undefined => refusalProblems(error, "computed_trait_invalid");

/** A new computed trait's history query: how many of an event in the last 30 days. */
export const NEW_HISTORY = { event: "", within: "30d" };

/** What the empty page offers to start from: the sum of the orders' totals in 90 days (the README's example). */
export const EXAMPLE = {
  trait: "spent_90d",
  name: "Spent in 90 days",
  history: { event: "Order Completed", within: "90d", aggregate: "sum", property: "total" },
};

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** What a computed trait keeps, in words ("The largest total of Order Completed in 30 days"); its JSON when it is not a history query. */
export function keptText(history: unknown, names?: SegmentNames): string {
  if (!isObject(history) || typeof history.event !== "string" || typeof history.within !== "string") return JSON.stringify(history);
  return capitalized(historyQueryText(history as unknown as HistoryQuery, names));
}
