//! The journey document's schema, for the OpenAPI document (component `Journey` and what it
//! names), so that the web interface's types for the document are generated like every other
//! wire type. The server reads documents with `domain::journey::Journey::parse` (which reports
//! every problem as a diagnostic, so drafts may be invalid and the API takes any object as a
//! `JourneyDocument`); these types only describe what a valid one looks like. A test checks
//! that each of them has exactly the keys the parser reads (`domain::journey::schema()`), so
//! the two cannot drift apart.

#![allow(dead_code)] // Types for the schema only: never built.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A journey document (docs/JOURNEYS.md).
#[derive(Serialize, ToSchema)]
pub struct Journey {
    /// 1-100 characters of a-z, 0-9, - and _.
    pub id: String,
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// The IANA zone of calendar waits and local-time conditions when the person has no
    /// `timezone` trait; UTC by default.
    #[schema(nullable = false)]
    pub timezone: Option<String>,
    /// Hours of each person's wall clock when the journey's sends wait or are skipped.
    #[schema(nullable = false)]
    pub quiet_hours: Option<QuietHours>,
    /// At most `max` marketing messages from the journey to a person within `within`.
    #[schema(nullable = false)]
    pub cap: Option<JourneyCap>,
    /// When journeys message a person on one channel at once, only the marketing messages of
    /// the highest priority go (-1000 to 1000; default 0).
    #[schema(nullable = false, minimum = -1000, maximum = 1000)]
    pub priority: Option<i32>,
    pub entry: Entry,
    /// Events that end a run wherever it is.
    #[schema(nullable = false)]
    pub exit: Option<Vec<EventMatch>>,
    #[schema(nullable = false)]
    pub goal: Option<Goal>,
    pub steps: Vec<Step>,
}

#[derive(Serialize, ToSchema)]
pub struct JourneyCap {
    /// 1 or more.
    pub max: i64,
    /// A duration such as "7d".
    pub within: String,
}

/// From `from` up to `to` ("HH:MM", over midnight when `to` is earlier) on each person's wall
/// clock (their `timezone` trait, else the journey's zone).
#[derive(Serialize, ToSchema)]
pub struct QuietHours {
    pub from: String,
    pub to: String,
    /// `hold` (the default): the run waits at the send until they end, then sends; `skip`: not
    /// sent, the run goes on.
    #[schema(nullable = false)]
    pub then: Option<QuietThen>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuietThen {
    Hold,
    Skip,
}

/// How people enter: one of six triggers, with the rules common to all.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Entry {
    Event(EventEntry),
    TraitChange(TraitChangeEntry),
    Api(ApiEntry),
    Schedule(ScheduleEntry),
    Date(DateEntry),
    Segment(SegmentEntry),
}

/// `always` (the default), `never`, or not before some time since the last run entered.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Reentry {
    Rule(ReentryRule),
    After(ReentryAfter),
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReentryRule {
    Always,
    Never,
}

#[derive(Serialize, ToSchema)]
pub struct ReentryAfter {
    pub after: String,
}

/// On an event with this name whose filter holds.
#[derive(Serialize, ToSchema)]
pub struct EventEntry {
    pub event: String,
    #[schema(nullable = false)]
    pub filter: Option<Condition>,
    /// A property of the event: one run per person and value (e.g. `cart_id`).
    #[schema(nullable = false)]
    pub key: Option<String>,
    #[schema(nullable = false)]
    pub reentry: Option<Reentry>,
    /// The journey's total number of runs.
    #[schema(nullable = false)]
    pub limit: Option<i64>,
    /// The percent of entrants put in the control group.
    #[schema(nullable = false)]
    pub holdout: Option<f64>,
    /// A new run may start while one waits.
    #[schema(nullable = false)]
    pub concurrent: Option<bool>,
}

/// When a trait changes (from/to optional).
#[derive(Serialize, ToSchema)]
pub struct TraitChangeEntry {
    pub trait_change: TraitChange,
    #[schema(nullable = false)]
    pub reentry: Option<Reentry>,
    #[schema(nullable = false)]
    pub limit: Option<i64>,
    #[schema(nullable = false)]
    pub holdout: Option<f64>,
    #[schema(nullable = false)]
    pub concurrent: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct TraitChange {
    #[serde(rename = "trait")]
    pub name: String,
    #[schema(nullable = false)]
    pub from: Option<Value>,
    #[schema(nullable = false)]
    pub to: Option<Value>,
}

/// By `POST /api/journeys/{id}/enter`.
#[derive(Serialize, ToSchema)]
pub struct ApiEntry {
    pub api: bool,
    /// A property of the payload: one run per person and value.
    #[schema(nullable = false)]
    pub key: Option<String>,
    #[schema(nullable = false)]
    pub reentry: Option<Reentry>,
    #[schema(nullable = false)]
    pub limit: Option<i64>,
    #[schema(nullable = false)]
    pub holdout: Option<f64>,
    #[schema(nullable = false)]
    pub concurrent: Option<bool>,
}

/// Everyone in the audience, on a cron schedule.
#[derive(Serialize, ToSchema)]
pub struct ScheduleEntry {
    pub schedule: Schedule,
    #[schema(nullable = false)]
    pub audience: Option<Condition>,
    #[schema(nullable = false)]
    pub reentry: Option<Reentry>,
    #[schema(nullable = false)]
    pub limit: Option<i64>,
    #[schema(nullable = false)]
    pub holdout: Option<f64>,
    #[schema(nullable = false)]
    pub concurrent: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct Schedule {
    /// Five fields: minute hour day-of-month month day-of-week.
    pub cron: String,
    #[schema(nullable = false)]
    pub timezone: Option<String>,
}

/// On the date a trait holds (an anniversary, a renewal), offset and at a local time.
#[derive(Serialize, ToSchema)]
pub struct DateEntry {
    pub date: DateTrigger,
    #[schema(nullable = false)]
    pub reentry: Option<Reentry>,
    #[schema(nullable = false)]
    pub limit: Option<i64>,
    #[schema(nullable = false)]
    pub holdout: Option<f64>,
    #[schema(nullable = false)]
    pub concurrent: Option<bool>,
}

/// On entering (or leaving) a segment: its `Segment Entered` (`Segment Exited`) event.
#[derive(Serialize, ToSchema)]
pub struct SegmentEntry {
    /// The segment's id.
    pub segment: String,
    #[schema(nullable = false)]
    pub on: Option<SegmentOn>,
    #[schema(nullable = false)]
    pub reentry: Option<Reentry>,
    #[schema(nullable = false)]
    pub limit: Option<i64>,
    #[schema(nullable = false)]
    pub holdout: Option<f64>,
    #[schema(nullable = false)]
    pub concurrent: Option<bool>,
}

/// `enter` (the default) or `leave`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SegmentOn {
    Enter,
    Leave,
}

#[derive(Serialize, ToSchema)]
pub struct DateTrigger {
    #[serde(rename = "trait")]
    pub name: String,
    /// A signed duration, e.g. `-3d`.
    #[schema(nullable = false)]
    pub offset: Option<String>,
    /// `HH:MM`, local time.
    #[schema(nullable = false)]
    pub at: Option<String>,
}

/// An event by name, with an optional filter on it.
#[derive(Serialize, ToSchema)]
pub struct EventMatch {
    pub event: String,
    #[schema(nullable = false)]
    pub filter: Option<Condition>,
}

#[derive(Serialize, ToSchema)]
pub struct Goal {
    pub event: String,
    #[schema(nullable = false)]
    pub filter: Option<Condition>,
    /// How long after entry (or `from`) the goal counts.
    #[schema(nullable = false)]
    pub within: Option<String>,
    /// Reaching the goal ends the run.
    #[schema(nullable = false)]
    pub exit: Option<bool>,
    /// A step: the window starts when the run first reaches it.
    #[schema(nullable = false)]
    pub from: Option<String>,
}

/// Run variables changed by an `update` step or a `wait_for` path; strings are Liquid.
#[derive(Serialize, ToSchema)]
pub struct RunUpdate {
    #[schema(nullable = false)]
    pub set: Option<BTreeMap<String, Value>>,
    #[schema(nullable = false)]
    pub append: Option<BTreeMap<String, Value>>,
}

/// A step: `type` says which.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Step {
    Wait(WaitStep),
    WaitFor(WaitForStep),
    Branch(BranchStep),
    Split(SplitStep),
    Send(SendStep),
    Update(UpdateStep),
    Webhook(WebhookStep),
    Task(TaskStep),
    Exit(ExitStep),
}

/// The one value of each step's `type`.
macro_rules! step_type {
    ($name:ident, $value:ident) => {
        #[derive(Serialize, ToSchema)]
        #[allow(non_camel_case_types)]
        pub enum $name {
            $value,
        }
    };
}
step_type!(WaitType, wait);
step_type!(WaitForType, wait_for);
step_type!(BranchType, branch);
step_type!(SplitType, split);
step_type!(SendType, send);
step_type!(UpdateType, update);
step_type!(WebhookType, webhook);
step_type!(TaskType, task);
step_type!(ExitType, exit);

/// Waits a duration, until a local time (some days on), or until a date trait.
#[derive(Serialize, ToSchema)]
pub struct WaitStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: WaitType,
    #[schema(nullable = false)]
    pub duration: Option<String>,
    #[schema(nullable = false)]
    pub until: Option<WaitUntil>,
    #[schema(nullable = false)]
    pub until_trait: Option<String>,
    #[schema(nullable = false)]
    pub offset: Option<String>,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WaitUntil {
    /// `HH:MM`, in the person's zone.
    pub time: String,
    /// Calendar days after `after`.
    #[schema(nullable = false)]
    pub days: Option<i64>,
    /// `entry` or a step id.
    #[schema(nullable = false)]
    pub after: Option<String>,
    #[schema(nullable = false)]
    pub timezone: Option<String>,
}

/// Waits for one of some events, or a timeout.
#[derive(Serialize, ToSchema)]
pub struct WaitForStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: WaitForType,
    pub events: Vec<WaitForPath>,
    #[schema(nullable = false)]
    pub timeout: Option<String>,
    /// A step id; absent or null, the run ends there.
    pub timeout_next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WaitForPath {
    pub event: String,
    #[schema(nullable = false)]
    pub filter: Option<Condition>,
    #[schema(nullable = false)]
    pub run: Option<RunUpdate>,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

/// The first case whose condition holds, else `else`.
#[derive(Serialize, ToSchema)]
pub struct BranchStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: BranchType,
    pub cases: Vec<BranchCase>,
    /// A step id; absent or null, the run ends there.
    #[serde(rename = "else")]
    pub otherwise: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BranchCase {
    pub when: Condition,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

/// A random path by weight (A/B), recorded on the run.
#[derive(Serialize, ToSchema)]
pub struct SplitStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: SplitType,
    pub paths: Vec<SplitPath>,
}

#[derive(Serialize, ToSchema)]
pub struct SplitPath {
    pub name: String,
    /// A percent; a split's weights add up to 100.
    pub weight: f64,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

/// Email goes to the `email` trait; SMS to the `phone` trait (international form); push to the
/// devices in `push_tokens` (kept from events' `context.device.token`); in-app messages wait
/// for the person's next visit to the website or app.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
    InApp,
}

/// Sends a message from a template.
#[derive(Serialize, ToSchema)]
pub struct SendStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: SendType,
    #[schema(nullable = false)]
    pub channel: Option<Channel>,
    /// The template; or `variants` instead.
    #[schema(nullable = false)]
    pub template: Option<String>,
    /// A/B: two or more variants, each person getting one by weight (recorded in the run's
    /// assignments, as a split's).
    #[schema(nullable = false)]
    pub variants: Option<Vec<SendVariant>>,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
    /// Where a person with no address goes (else `next`).
    pub on_unreachable: Option<String>,
    /// Where the run goes when the message fails (it then waits for the outcome).
    pub on_failure: Option<String>,
}

/// Changes traits and run variables; strings are Liquid.
#[derive(Serialize, ToSchema)]
pub struct UpdateStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    #[schema(nullable = false)]
    pub set: Option<BTreeMap<String, Value>>,
    #[schema(nullable = false)]
    pub increment: Option<BTreeMap<String, f64>>,
    #[schema(nullable = false)]
    pub unset: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub run: Option<RunUpdate>,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

/// One variant of a send.
#[derive(Serialize, ToSchema)]
pub struct SendVariant {
    /// The variant recorded.
    pub name: String,
    /// A whole percent; the variants' add up to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub weight: u32,
    pub template: String,
}

/// Calls a URL (signed per Standard Webhooks).
#[derive(Serialize, ToSchema)]
pub struct WebhookStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: WebhookType,
    pub url: String,
    #[schema(nullable = false)]
    pub method: Option<String>,
    #[schema(nullable = false)]
    pub body: Option<Value>,
    /// Trait name → JSON pointer into the response.
    #[schema(nullable = false)]
    pub save: Option<BTreeMap<String, String>>,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

/// Asks a person (sales, support) to act: a task in the inbox (`/api/tasks`); completing or
/// declining it is a `Task Completed` / `Task Declined` event on the person.
#[derive(Serialize, ToSchema)]
pub struct TaskStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TaskType,
    /// Liquid, as templates (`{{ traits.name }}`).
    pub title: String,
    /// Liquid.
    #[schema(nullable = false)]
    pub body: Option<String>,
    /// Whose it is: a user's email.
    #[schema(nullable = false)]
    pub assignee: Option<String>,
    /// Or a team's.
    #[schema(nullable = false)]
    pub team: Option<String>,
    /// Due this long after it is made ("2d").
    #[schema(nullable = false)]
    pub due: Option<String>,
    /// A step id; absent or null, the run ends there.
    pub next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExitStep {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ExitType,
}

/// A condition: a group (`all`, `any`, `not`) or one comparison.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Condition {
    All(AllCondition),
    Any(AnyCondition),
    Not(NotCondition),
    Trait(TraitCondition),
    Property(PropertyCondition),
    Run(RunCondition),
    History(HistoryCondition),
    Clock(ClockCondition),
    Reachable(ReachableCondition),
    Segment(SegmentCondition),
}

#[derive(Serialize, ToSchema)]
pub struct AllCondition {
    #[schema(no_recursion)]
    pub all: Vec<Condition>,
}

#[derive(Serialize, ToSchema)]
pub struct AnyCondition {
    #[schema(no_recursion)]
    pub any: Vec<Condition>,
}

#[derive(Serialize, ToSchema)]
pub struct NotCondition {
    #[schema(no_recursion)]
    pub not: Box<Condition>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    StartsWith,
    EndsWith,
    In,
    Exists,
    NotExists,
}

/// A trait (by dotted path) compared with a `value` or a `ref`.
#[derive(Serialize, ToSchema)]
pub struct TraitCondition {
    #[serde(rename = "trait")]
    pub name: String,
    pub op: Operator,
    #[schema(nullable = false)]
    pub value: Option<Value>,
    /// `event.x`, `run.x` or `traits.x` instead of a value.
    #[serde(rename = "ref")]
    #[schema(nullable = false)]
    pub reference: Option<String>,
}

/// A property of the event being matched.
#[derive(Serialize, ToSchema)]
pub struct PropertyCondition {
    pub property: String,
    pub op: Operator,
    #[schema(nullable = false)]
    pub value: Option<Value>,
    #[serde(rename = "ref")]
    #[schema(nullable = false)]
    pub reference: Option<String>,
}

/// A run variable.
#[derive(Serialize, ToSchema)]
pub struct RunCondition {
    pub run: String,
    pub op: Operator,
    #[schema(nullable = false)]
    pub value: Option<Value>,
    #[serde(rename = "ref")]
    #[schema(nullable = false)]
    pub reference: Option<String>,
}

/// An aggregate of the person's events compared with a value.
#[derive(Serialize, ToSchema)]
pub struct HistoryCondition {
    pub history: HistoryQuery,
    pub op: Operator,
    #[schema(nullable = false)]
    pub value: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Count,
    Exists,
    Sum,
    Min,
    Max,
    First,
    Last,
    Distinct,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryQuery {
    pub event: String,
    /// A duration back from now, or `entry`: since the run entered.
    pub within: String,
    #[serde(rename = "where")]
    #[schema(nullable = false, no_recursion)]
    pub filter: Option<Box<Condition>>,
    /// `count` by default.
    #[schema(nullable = false)]
    pub aggregate: Option<Aggregate>,
    /// The property `sum`, `min`, `max`, `first`, `last` and `distinct` read.
    #[schema(nullable = false)]
    pub property: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockField {
    TimeOfDay,
    DayOfWeek,
}

/// The local time or weekday, in the person's zone.
#[derive(Serialize, ToSchema)]
pub struct ClockCondition {
    pub clock: ClockField,
    pub op: Operator,
    #[schema(nullable = false)]
    pub value: Option<Value>,
}

/// The person can be reached on a channel (e.g. has a valid email).
#[derive(Serialize, ToSchema)]
pub struct ReachableCondition {
    pub reachable: Channel,
}

/// The person is a member of a segment (by its id).
#[derive(Serialize, ToSchema)]
pub struct SegmentCondition {
    pub segment: String,
}

/// The component names of the document's kinds, as `domain::journey::schema()` names them.
pub const KINDS: [(&str, &str); 41] = [
    ("journey", "Journey"),
    ("quiet_hours", "QuietHours"),
    ("cap", "JourneyCap"),
    ("event entry", "EventEntry"),
    ("trait_change entry", "TraitChangeEntry"),
    ("api entry", "ApiEntry"),
    ("schedule entry", "ScheduleEntry"),
    ("date entry", "DateEntry"),
    ("segment entry", "SegmentEntry"),
    ("trait_change", "TraitChange"),
    ("schedule", "Schedule"),
    ("date", "DateTrigger"),
    ("reentry rule", "ReentryAfter"),
    ("exit", "EventMatch"),
    ("goal", "Goal"),
    ("wait_for event", "WaitForPath"),
    ("run update", "RunUpdate"),
    ("wait step", "WaitStep"),
    ("until", "WaitUntil"),
    ("wait_for step", "WaitForStep"),
    ("branch step", "BranchStep"),
    ("branch case", "BranchCase"),
    ("split step", "SplitStep"),
    ("split path", "SplitPath"),
    ("send step", "SendStep"),
    ("send variant", "SendVariant"),
    ("update step", "UpdateStep"),
    ("webhook step", "WebhookStep"),
    ("task step", "TaskStep"),
    ("exit step", "ExitStep"),
    ("all condition", "AllCondition"),
    ("any condition", "AnyCondition"),
    ("not condition", "NotCondition"),
    ("history condition", "HistoryCondition"),
    ("history query", "HistoryQuery"),
    ("clock condition", "ClockCondition"),
    ("trait condition", "TraitCondition"),
    ("property condition", "PropertyCondition"),
    ("run condition", "RunCondition"),
    ("reachable condition", "ReachableCondition"),
    ("segment condition", "SegmentCondition"),
];
