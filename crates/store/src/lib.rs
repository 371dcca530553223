//! Storage: one set of traits, two backends (embedded SQLite, PostgreSQL), numbered
//! forward-only migrations, and a conformance suite every backend passes.
//!
//! Architecture Invariant: callers see `Store` and `Tx` only, never SQL. Everything a
//! journey transition writes (run state, its timer, its outbox entries, its trace) goes
//! through one `Tx` and is committed together or not at all.

pub mod conformance;
#[cfg(test)]
mod golden;
mod migrations;
mod postgres_backend;
mod sql;
mod sqlite_backend;

use std::collections::BTreeMap;

use domain::Map;
use domain::event::Event;
use domain::ids::{
    DeadLetterId, EventSeq, Identity, JourneyId, MessageId, NodeId, OutboxId, ProfileId, RunId, SegmentId, SourceId, TemplateId,
};
use domain::journey::Run;
use domain::profile::Profile;
use domain::time::Timestamp;
use domain::trace::TraceLine;
use serde_json::Value;

pub use postgres_backend::PostgresStore;
pub use sqlite_backend::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("the database schema is at version {found}, newer than this binary knows ({known}); upgrade Wayfarer")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the store's connection lock is poisoned")]
    Poisoned,
    #[error("making commits durable: {0}")]
    Sync(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A backend. `write()` and `read()` each start one transaction.
pub trait Store: Send + Sync + 'static {
    fn write(&self) -> Result<Box<dyn Tx + '_>>;
    fn read(&self) -> Result<Box<dyn Tx + '_>>;
    /// The backend's name, for logs (`sqlite`, `postgres`).
    fn kind(&self) -> &'static str;
    /// Makes every transaction committed so far durable (see `Tx::commit_unsynced`).
    fn sync(&self) -> Result<()> {
        Ok(())
    }
}

/// An event as stored in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub seq: EventSeq,
    pub source: SourceId,
    pub profile: Option<ProfileId>,
    pub event: Event,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub id: SourceId,
    pub write_key: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JourneyRecord {
    pub id: JourneyId,
    pub draft: Value,
    pub published_version: Option<i64>,
    pub status: JourneyStatus,
    /// `active`, `paused` (no new entries) or `stopped` (no entries, runs ended).
    pub state: JourneyState,
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JourneyState {
    Active,
    Paused,
    Stopped,
}

impl JourneyState {
    pub fn as_str(self) -> &'static str {
        match self {
            JourneyState::Active => "active",
            JourneyState::Paused => "paused",
            JourneyState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<JourneyState> {
        Some(match s {
            "active" => JourneyState::Active,
            "paused" => JourneyState::Paused,
            "stopped" => JourneyState::Stopped,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JourneyStatus {
    Draft,
    Published,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JourneyVersion {
    pub id: JourneyId,
    pub version: i64,
    pub document: Value,
    pub published_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Waiting for (another) attempt.
    Pending,
    /// Handed to the channel, which accepted it.
    Sent,
    /// No channel configured: kept in the store, not delivered.
    Captured,
    /// Gave up: permanent error or retries exhausted.
    Failed,
    /// Not sent because a control said no (consent); `last_error` says which.
    Suppressed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Captured => "captured",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Suppressed => "suppressed",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        Some(match s {
            "pending" => OutboxStatus::Pending,
            "sent" => OutboxStatus::Sent,
            "captured" => OutboxStatus::Captured,
            "suppressed" => OutboxStatus::Suppressed,
            "failed" => OutboxStatus::Failed,
            _ => return None,
        })
    }
}

/// What an outbox entry carries: everything needed to render and send, captured at decision
/// time. Stored as JSON; `v` is the format's version (rows written before it existed are
/// version 1, the same shape), and `payload_v1_reads_and_writes_as_stored` pins the shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutboxPayload {
    #[serde(default = "payload_v1")]
    pub v: u32,
    /// The step's decision (which template, which URL).
    pub effect: domain::journey::Effect,
    /// The address (an email's `to`), when the channel has one.
    pub to: Option<String>,
    /// What templates see.
    pub context: TemplateContext,
}

fn payload_v1() -> u32 {
    1
}

/// What templates see: the person's traits, the properties of what started the run, its
/// name, the journey, the person's id and the run's variables.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TemplateContext {
    pub traits: Map,
    pub event: Map,
    pub event_name: String,
    pub journey: JourneyId,
    pub profile_id: ProfileId,
    /// The run's variables when the message was decided (absent in payloads before them).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub run: Map,
}

/// A message the engine decided to send, to be dispatched after commit.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOutbox {
    /// Unique; the channel's idempotency key.
    pub key: String,
    pub profile: ProfileId,
    pub run: Option<RunId>,
    /// `email`, `webhook`.
    pub channel: String,
    pub payload: OutboxPayload,
    pub due: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub key: String,
    pub profile: ProfileId,
    pub run: Option<RunId>,
    pub channel: String,
    pub payload: OutboxPayload,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    /// What was sent (rendered message, response), once known.
    pub result: Option<Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The outcome of one delivery attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// `capped`: a marketing message, which frequency caps count.
    Sent {
        result: Value,
        capped: bool,
    },
    Captured {
        result: Value,
        capped: bool,
    },
    Retry {
        at: Timestamp,
        error: String,
    },
    Failed {
        error: String,
        result: Option<Value>,
    },
    /// Not sent: a control said no (the reason).
    Suppressed {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub id: TemplateId,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Marketing is never sent to a person who unsubscribed; transactional (a receipt, a
    /// password reset) is.
    pub category: Category,
    /// The text of an SMS (Liquid); empty: the template has none.
    pub sms: String,
    /// A push notification (Liquid parts); all empty: the template has none.
    pub push: PushContent,
    /// An in-app message (Liquid parts); no title and no body: the template has none.
    pub in_app: InAppContent,
    /// Translations by locale (`fr`, `pt-br`: lower case), each part falling back to the
    /// template's own when empty; chosen by the person's `locale` trait (`Template::localized`).
    pub locales: BTreeMap<String, Translation>,
    pub updated_at: Timestamp,
}

/// A template's parts in one locale; an empty part is the template's own.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Translation {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub html: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sms: String,
    #[serde(default)]
    pub push: PushContent,
    #[serde(default)]
    pub in_app: InAppContent,
}

/// `fr_CA`, `FR-ca` → `fr-ca`: how locales are kept and compared.
pub fn normalize_locale(locale: &str) -> String {
    locale.trim().replace('_', "-").to_ascii_lowercase()
}

impl Template {
    /// The template in the locale that best fits `locale` (a person's `locale` trait): the
    /// translation of that exact locale, else of its language (`fr` for `fr-ca`), else the
    /// template as it is; each empty part of a translation is the template's own. Also which
    /// translation it used.
    pub fn localized(&self, locale: Option<&str>) -> (Template, Option<String>) {
        let Some(wanted) = locale.map(normalize_locale).filter(|l| !l.is_empty()) else { return (self.clone(), None) };
        let language = wanted.split('-').next().unwrap_or_default().to_owned();
        let Some((name, t)) = [wanted, language].into_iter().find_map(|l| self.locales.get_key_value(&l)) else {
            return (self.clone(), None);
        };
        let pick = |own: &String, theirs: &String| if theirs.trim().is_empty() { own.clone() } else { theirs.clone() };
        let push = PushContent {
            title: pick(&self.push.title, &t.push.title),
            body: pick(&self.push.body, &t.push.body),
            link: pick(&self.push.link, &t.push.link),
            image: pick(&self.push.image, &t.push.image),
        };
        let in_app = InAppContent {
            title: pick(&self.in_app.title, &t.in_app.title),
            body: pick(&self.in_app.body, &t.in_app.body),
            button: pick(&self.in_app.button, &t.in_app.button),
            link: pick(&self.in_app.link, &t.in_app.link),
            image: pick(&self.in_app.image, &t.in_app.image),
            ..self.in_app.clone()
        };
        let localized = Template {
            subject: pick(&self.subject, &t.subject),
            html: pick(&self.html, &t.html),
            text: pick(&self.text, &t.text),
            sms: pick(&self.sms, &t.sms),
            push,
            in_app,
            ..self.clone()
        };
        (localized, Some(name.clone()))
    }
}

/// A template's push notification, each part Liquid.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PushContent {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Opened when the notification is tapped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
}

impl PushContent {
    /// Whether there is a notification: a title or a body.
    pub fn is_set(&self) -> bool {
        !self.title.trim().is_empty() || !self.body.trim().is_empty()
    }
}

/// A template's in-app message (each text part Liquid), or one rendered for a person.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InAppContent {
    /// The place in the website or app it is for (what `/v1/decide?placement=` asks);
    /// empty: any place.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub placement: String,
    #[serde(default, skip_serializing_if = "InAppLayout::is_banner")]
    pub layout: InAppLayout,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// The button's label (empty: "Open" where there is a link).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub button: String,
    /// Where the button (or the whole banner) leads.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
}

impl InAppContent {
    /// Whether there is a message: a title or a body.
    pub fn is_set(&self) -> bool {
        !self.title.trim().is_empty() || !self.body.trim().is_empty()
    }
}

/// How an in-app message shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InAppLayout {
    /// A strip across the top of the page (or inside the placement's element).
    #[default]
    Banner,
    /// A dialog over the page.
    Modal,
}

impl InAppLayout {
    fn is_banner(&self) -> bool {
        *self == InAppLayout::Banner
    }
}

/// An in-app message kept for a person until they click or dismiss it, or it expires.
#[derive(Clone, Debug, PartialEq)]
pub struct InAppMessage {
    /// The outbox entry that decided it.
    pub id: OutboxId,
    pub profile: ProfileId,
    pub journey: JourneyId,
    pub template: TemplateId,
    /// Rendered for the person.
    pub content: InAppContent,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub viewed_at: Option<Timestamp>,
    pub clicked_at: Option<Timestamp>,
    pub dismissed_at: Option<Timestamp>,
}

/// What a person did with an in-app message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InAppAction {
    /// It was shown to them (an impression).
    Viewed,
    /// They clicked its button or link: it is not shown again.
    Clicked,
    /// They closed it: it is not shown again.
    Dismissed,
}

impl InAppAction {
    pub const ALL: [InAppAction; 3] = [InAppAction::Viewed, InAppAction::Clicked, InAppAction::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            InAppAction::Viewed => "viewed",
            InAppAction::Clicked => "clicked",
            InAppAction::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<InAppAction> {
        InAppAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// An image templates show, kept and served under the SHA-256 of its bytes (so its address
/// never changes what it shows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub id: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub hash: String,
    pub content_type: String,
    /// The file's name when it was uploaded (for people).
    pub name: String,
    pub size: i64,
    pub created_at: Timestamp,
}

/// A segment as stored: its document (what the API was given, the source of truth).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSegment {
    pub id: SegmentId,
    pub name: String,
    pub document: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A computed trait as stored: its document (`domain::computed`), under the trait it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredComputedTrait {
    pub id: String,
    pub name: String,
    pub document: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A person moving between lifecycle stages (`None`: no stage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageMove {
    pub profile: ProfileId,
    pub at: Timestamp,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// How many people moved from one stage to another in a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageFlow {
    pub from: Option<String>,
    pub to: Option<String>,
    pub people: i64,
}

/// A person entering (or leaving) a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentChange {
    pub segment: SegmentId,
    pub profile: ProfileId,
    pub entered: bool,
    pub at: Timestamp,
}

/// How many people entered and left a segment in an hour (its first millisecond, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentHour {
    pub hour: Timestamp,
    pub entered: i64,
    pub exited: i64,
}

/// A task for a person to do (a journey's `task` step), in the inbox until completed or
/// declined.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// The outbox entry that decided it.
    pub id: OutboxId,
    /// Whom it is about.
    pub profile: ProfileId,
    pub journey: JourneyId,
    pub node: NodeId,
    /// Rendered for the person.
    pub title: String,
    pub body: String,
    /// Whose it is (a user's email), or a team's; neither: anyone's.
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub due_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub status: TaskStatus,
    pub closed_at: Option<Timestamp>,
    /// Who completed or declined it (as the audit log names them).
    pub closed_by: Option<String>,
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Open,
    Completed,
    Declined,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [TaskStatus::Open, TaskStatus::Completed, TaskStatus::Declined];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Completed => "completed",
            TaskStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Which tasks to list: each given field must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub profile: Option<ProfileId>,
}

/// What kind of message a template is, for consent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Category {
    #[default]
    Marketing,
    Transactional,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Marketing => "marketing",
            Category::Transactional => "transactional",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        match s {
            "marketing" => Some(Category::Marketing),
            "transactional" => Some(Category::Transactional),
            _ => None,
        }
    }
}

/// A stored run with its keys.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub id: RunId,
    pub profile: ProfileId,
    pub run: Run,
}

/// One persisted transition of a run: why it moved, line by line (`domain::trace::TraceLine`:
/// the step, the kind, the text, the checks), stored as JSON in `traces.lines`. Rows written
/// before lines were structured hold the text alone (a JSON array of strings): they read as
/// `TraceLine::text` lines (kind `text`, no step, no checks).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRecord {
    pub run: RunId,
    pub seq: i64,
    pub at: Timestamp,
    pub lines: Vec<TraceLine>,
}

/// A line of `traces.lines` as stored: a `TraceLine`, or, in older rows, its text alone.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum StoredLine {
    Text(String),
    Line(TraceLine),
}

impl From<StoredLine> for TraceLine {
    fn from(l: StoredLine) -> TraceLine {
        match l {
            StoredLine::Text(text) => TraceLine::text(text),
            StoredLine::Line(line) => line,
        }
    }
}

/// A merge the identity rule refused (two known users named by one anonymous id): shown on
/// both profiles.
#[derive(Clone, Debug, PartialEq)]
pub struct RefusedMerge {
    /// The person the identity now belongs to.
    pub profile: ProfileId,
    /// The person who keeps their own userId and earlier events.
    pub other: ProfileId,
    pub identity: Identity,
    pub reason: String,
    /// The event that named both.
    pub message_id: MessageId,
    pub at: Timestamp,
}

/// A person's inputs of one batch that the engine failed to step (a bug): kept with the error
/// until replayed. Nothing else of that batch changed for the person (their events are logged).
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub id: DeadLetterId,
    pub profile: ProfileId,
    /// In the order they were stepped.
    pub inputs: Vec<DeadInput>,
    pub error: String,
    pub at: Timestamp,
    pub replayed_at: Option<Timestamp>,
}

/// What a dead letter holds (stored as JSON: a storage type, versioned by its tags).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeadInput {
    /// A logged event.
    Event { seq: EventSeq },
    /// A run's timer, due at `wake_at`. The run is parked (no timer) until replayed.
    Timer { run: RunId, wake_at: Option<Timestamp> },
    /// An entry through the admin API.
    Api { journey: JourneyId, payload: Map },
}

/// The node that stands for a journey's entry in its per-node counts. Step ids are slugs
/// (`a-z`, `0-9`, `-`, `_`), so no step can be called this.
pub const ENTRY_NODE: &str = "$entry";

/// The node where the runs of a journey's control group (holdout) are counted: entered when
/// they start, exited when they end, converted when they reach the goal; never at the entry
/// or at a step, and never waiting (they go through the steps, sending nothing, and are kept
/// out of the steps' numbers). Not a slug either.
pub const CONTROL_NODE: &str = "$control";

/// Counts of one node of a journey over one UTC hour (or, read, summed over a range).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeTally {
    /// Runs that reached it (a step reached twice by one run counts twice; `ENTRY_NODE`:
    /// runs started).
    pub entered: i64,
    /// Runs that left it for another step.
    pub passed: i64,
    /// Runs that ended there (an exit step, the end of a path, an exit event, a goal that
    /// exits, a missing step, the step limit, the journey stopped, a merge).
    pub exited: i64,
    /// Runs that reached the goal while there (where the run stood when the goal event came).
    pub converted: i64,
}

impl NodeTally {
    pub fn is_zero(&self) -> bool {
        *self == NodeTally::default()
    }
}

/// What `Tx::node_counts` reads for one node: its counts over the range, and how many runs
/// wait there now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounts {
    pub entered: i64,
    pub passed: i64,
    pub exited: i64,
    pub converted: i64,
    /// A gauge, not a count over the range: runs waiting at the node now.
    pub waiting: i64,
}

/// One hour, in milliseconds: the size of the per-node counts' buckets.
pub const NODE_COUNT_HOUR: i64 = 3_600_000;

/// Changes to per-node counts, gathered over a whole transaction and written at once
/// (`Tx::add_node_counts`): one row per journey, node and hour touched, and one per journey
/// and node whose waiting gauge moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeDeltas {
    /// By journey, node and hour (the UTC hour's first millisecond).
    pub counts: BTreeMap<(JourneyId, String, Timestamp), NodeTally>,
    /// The waiting gauge's change, by journey and node.
    pub waiting: BTreeMap<(JourneyId, String), i64>,
}

impl NodeDeltas {
    /// The hour `at` falls in (its first millisecond, UTC).
    pub fn hour(at: Timestamp) -> Timestamp {
        Timestamp(at.0.div_euclid(NODE_COUNT_HOUR) * NODE_COUNT_HOUR)
    }

    /// The counts of `node` of `journey` for the hour `at` falls in, to add to.
    pub fn at(&mut self, journey: &JourneyId, node: &str, at: Timestamp) -> &mut NodeTally {
        self.counts.entry((journey.clone(), node.to_owned(), NodeDeltas::hour(at))).or_default()
    }

    /// Moves the waiting gauge of `node` of `journey` by `by`.
    pub fn wait(&mut self, journey: &JourneyId, node: &str, by: i64) {
        *self.waiting.entry((journey.clone(), node.to_owned())).or_default() += by;
    }

    pub fn is_empty(&self) -> bool {
        self.counts.values().all(NodeTally::is_zero) && self.waiting.values().all(|w| *w == 0)
    }

    pub fn clear(&mut self) {
        self.counts.clear();
        self.waiting.clear();
    }
}

/// How far a message got: the stages of the funnel per content (`Tx::reach`), each counted
/// once per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageStage {
    /// Sent (or captured, or a task created): its outcome said so.
    Sent,
    /// The provider reported it delivered (`Email Delivered`, `SMS Delivered`).
    Delivered,
    /// Opened (the email's pixel, an in-app message viewed, a push tapped).
    Opened,
    /// A link in it followed (an email's tracked link, an in-app message clicked).
    Clicked,
    /// The run it was sent in reached the journey's goal after it was sent.
    Converted,
}

impl MessageStage {
    pub const ALL: [MessageStage; 5] =
        [MessageStage::Sent, MessageStage::Delivered, MessageStage::Opened, MessageStage::Clicked, MessageStage::Converted];

    /// Its bit in the outbox row's `reached`.
    pub(crate) fn bit(self) -> i64 {
        1 << (self as i64)
    }

    /// Its column in `content_counts`.
    pub(crate) fn column(self) -> &'static str {
        match self {
            MessageStage::Sent => "sent",
            MessageStage::Delivered => "delivered",
            MessageStage::Opened => "opened",
            MessageStage::Clicked => "clicked",
            MessageStage::Converted => "converted",
        }
    }
}

/// Which messages reached a stage (`Tx::reach`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Messages<'a> {
    /// The outbox entry with this id.
    Id(OutboxId),
    /// The outbox entry with this idempotency key (what a push carries as `wayfarer_key`).
    Key(&'a str),
    /// Every message of this run that was sent.
    SentInRun(RunId),
}

/// One content's funnel: the messages a journey's send step made with a template, and how
/// many of them reached each stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentFunnel {
    pub node: String,
    pub template: String,
    pub channel: String,
    pub sent: i64,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    pub converted: i64,
}

/// A journey's counts at one node in one hour (`Tx::node_count_series`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeHour {
    /// The hour's first millisecond (UTC).
    pub hour: Timestamp,
    pub node: String,
    pub tally: NodeTally,
}

/// A user who signs in (see `Tx::create_user`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A personal API token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ApiTokenId(pub i64);

impl std::fmt::Display for ApiTokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An entry of the audit log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AuditId(pub i64);

/// What a user may do; ordered, each role may do what the ones below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Changes journeys, templates, messages, the clock.
    Editor,
    /// Also sources, users and the audit log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "viewer" => Role::Viewer,
            "editor" => Role::Editor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// A user as stored. The e-mail is unique and kept lowercased (the store lowercases it);
/// `password_hash` is a PHC string (argon2), never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user to create (`Tx::create_user`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub now: Timestamp,
}

/// A signed-in browser session. Only the SHA-256 of the cookie's secret is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub token_sha256: String,
    pub user: UserId,
    /// What a cookie-authenticated write must send back in `X-CSRF-Token`.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A personal API token. Only the SHA-256 of the secret is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub user: UserId,
    pub name: String,
    pub token_sha256: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// An entry of the audit log: who changed what, when, and how (`diff`, JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: Timestamp,
    /// Who: e.g. `user:ann@acme.test`, `token:ci (ann@acme.test)`, `admin token`.
    pub actor: String,
    /// What was done, e.g. `journey.publish`.
    pub action: String,
    /// What it was done to, e.g. `journey:onboarding`.
    pub target: String,
    pub diff: Value,
}

/// An audit entry to add (`Tx::add_audit`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAudit {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub diff: Value,
}

/// Which names `Tx::note_names` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    Event,
    Trait,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Event => "event",
            NameKind::Trait => "trait",
        }
    }
}

/// A property path an event name has shown (`Tx::note_property_paths`): a top-level key of
/// its properties, or nested object keys joined with dots (`cart.total`), as conditions read
/// them (`domain::condition::Subject::Property`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PropertyPath {
    /// The event's name as journeys match it (`Event::match_name`: `Page Viewed` for pages).
    pub event: String,
    pub path: String,
}

/// One transaction. Dropping it without `commit` rolls back.
pub trait Tx {
    /// Commits; on return the transaction is durable.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Commits without waiting for the disk: visible at once, durable once `Store::sync` (or
    /// a later `commit`) returns. Backends that cannot split the two make it durable now.
    fn commit_unsynced(self: Box<Self>) -> Result<()> {
        self.commit()
    }

    // Sources and write keys.
    fn create_source(&mut self, source: &Source) -> Result<()>;
    fn source_by_key(&mut self, write_key: &str) -> Result<Option<SourceId>>;
    fn sources(&mut self) -> Result<Vec<Source>>;
    /// A page of sources: ids above `after` (all when `None`), in byte order of the id, on
    /// every backend.
    fn sources_after(&mut self, after: Option<&SourceId>, limit: usize) -> Result<Vec<Source>>;

    // The event log.
    /// Appends an event about `profile` (when known); `None` when (source, messageId) was
    /// already stored.
    fn insert_event(&mut self, source: &SourceId, event: &Event, profile: Option<ProfileId>) -> Result<Option<EventSeq>>;
    /// Events of the log after `after`, in order (for processing).
    fn events_after(&mut self, after: EventSeq, limit: usize) -> Result<Vec<StoredEvent>>;
    /// Log position, time and properties of a person's events named `name` with
    /// `since <= timestamp <= until`, in log order.
    fn event_properties(
        &mut self,
        profile: ProfileId,
        name: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(EventSeq, Timestamp, Map)>>;
    /// Whether (source, messageId) is in the log already.
    fn event_seen(&mut self, source: &SourceId, message_id: &MessageId) -> Result<bool>;
    /// A person's latest event with that journey-matching name.
    fn last_event(&mut self, profile: ProfileId, name: &str) -> Result<Option<StoredEvent>>;
    /// A person's latest `limit` events with that journey-matching name, newest (in log
    /// order) first.
    fn recent_events(&mut self, profile: ProfileId, name: &str, limit: usize) -> Result<Vec<StoredEvent>>;
    /// A person's events, newest first.
    fn timeline(&mut self, profile: ProfileId, limit: usize) -> Result<Vec<StoredEvent>>;

    // Profiles and identities.
    fn create_profile(&mut self, now: Timestamp) -> Result<ProfileId>;
    fn profile(&mut self, id: ProfileId) -> Result<Option<Profile>>;
    fn save_profile(&mut self, profile: &Profile, now: Timestamp) -> Result<()>;
    /// Profiles (not merged away) with ids above `after`, in id order: a page of everyone.
    fn profiles_after(&mut self, after: ProfileId, limit: usize) -> Result<Vec<Profile>>;
    /// People with an identity (user id or anonymous id) that starts with `prefix` (case
    /// matters), with ids above `after`, in id order.
    fn find_profiles(&mut self, prefix: &str, after: ProfileId, limit: usize) -> Result<Vec<ProfileId>>;
    /// Follows merges to the profile an id now lives in.
    fn canonical(&mut self, id: ProfileId) -> Result<Option<ProfileId>>;
    fn profile_by_identity(&mut self, identity: &Identity) -> Result<Option<ProfileId>>;
    fn add_identity(&mut self, identity: &Identity, profile: ProfileId) -> Result<()>;
    fn identities(&mut self, profile: ProfileId) -> Result<Vec<Identity>>;
    fn add_refused_merge(&mut self, refused: &RefusedMerge) -> Result<()>;
    /// Refused merges naming `profile` on either side, oldest first.
    fn refused_merges(&mut self, profile: ProfileId) -> Result<Vec<RefusedMerge>>;
    /// Moves identities, events, runs and messages of `loser` to `winner` and marks `loser`
    /// as merged. Traits are the caller's to merge (domain rules) and save.
    fn merge_profiles(&mut self, winner: ProfileId, loser: ProfileId, now: Timestamp) -> Result<()>;

    // Incremental history counters (opaque state, by person and query key).
    fn counter(&mut self, profile: ProfileId, key: &str) -> Result<Option<String>>;
    fn save_counter(&mut self, profile: ProfileId, key: &str, state: &str) -> Result<()>;
    /// Forgets a person's counters (they are rebuilt from the log when next needed).
    fn delete_counters(&mut self, profile: ProfileId) -> Result<()>;

    // Journeys.
    fn save_draft(&mut self, id: &JourneyId, document: &Value, now: Timestamp) -> Result<()>;
    fn journey(&mut self, id: &JourneyId) -> Result<Option<JourneyRecord>>;
    fn journeys(&mut self) -> Result<Vec<JourneyRecord>>;
    /// A page of journeys: ids above `after` (all when `None`), in byte order of the id, on
    /// every backend.
    fn journeys_after(&mut self, after: Option<&JourneyId>, limit: usize) -> Result<Vec<JourneyRecord>>;
    /// Makes the current draft an immutable version (and the journey active); returns its number.
    fn publish(&mut self, id: &JourneyId, now: Timestamp) -> Result<i64>;
    fn set_journey_state(&mut self, id: &JourneyId, state: JourneyState, now: Timestamp) -> Result<()>;
    fn journey_version(&mut self, id: &JourneyId, version: i64) -> Result<Option<JourneyVersion>>;
    /// Every published version of a journey, newest first.
    fn journey_versions(&mut self, id: &JourneyId) -> Result<Vec<JourneyVersion>>;
    /// The latest published version of every active journey (the ones people can enter).
    fn published(&mut self) -> Result<Vec<JourneyVersion>>;

    // Runs, their timers and traces.
    fn insert_run(&mut self, profile: ProfileId, run: &Run) -> Result<RunId>;
    fn update_run(&mut self, id: RunId, run: &Run) -> Result<()>;
    fn runs_of(&mut self, profile: ProfileId) -> Result<Vec<RunRecord>>;
    /// A person's waiting runs and the latest run of each journey, oldest first.
    fn current_runs(&mut self, profile: ProfileId) -> Result<Vec<RunRecord>>;
    /// Every run of a journey, oldest first.
    fn journey_runs(&mut self, journey: &JourneyId) -> Result<Vec<RunRecord>>;
    /// A page of a journey's runs: ids above `after`, oldest first.
    fn journey_runs_page(&mut self, journey: &JourneyId, after: RunId, limit: usize) -> Result<Vec<RunRecord>>;
    /// How many runs a journey has had (for entry limits).
    fn count_runs(&mut self, journey: &JourneyId) -> Result<i64>;
    fn run(&mut self, id: RunId) -> Result<Option<RunRecord>>;
    /// Runs whose timer is due at `now` (run, person), earliest first.
    fn due_runs(&mut self, now: Timestamp, limit: usize) -> Result<Vec<(RunId, ProfileId)>>;
    /// The earliest pending timer (a run's, or a segment check), if any.
    fn next_wake(&mut self) -> Result<Option<Timestamp>>;
    fn add_trace(&mut self, trace: &TraceRecord) -> Result<()>;
    fn traces(&mut self, run: RunId) -> Result<Vec<TraceRecord>>;

    // The outbox.
    fn enqueue(&mut self, entry: &NewOutbox, now: Timestamp) -> Result<OutboxId>;
    /// A channel's pending entries due at `now`, oldest first.
    fn due_outbox(&mut self, channel: &str, now: Timestamp, limit: usize) -> Result<Vec<OutboxEntry>>;
    /// When a channel's next pending entry is due.
    fn next_outbox_due(&mut self, channel: &str) -> Result<Option<Timestamp>>;
    fn record_attempt(&mut self, id: OutboxId, attempt: &Attempt, now: Timestamp) -> Result<()>;
    fn outbox_entry(&mut self, id: OutboxId) -> Result<Option<OutboxEntry>>;
    /// The entry with this idempotency key (an email's `Message-ID` names it).
    fn outbox_by_key(&mut self, key: &str) -> Result<Option<OutboxEntry>>;
    /// How many capped (marketing) messages of a channel went to a person (sent or captured)
    /// since `since`: what frequency caps count.
    /// How many capped (marketing) messages runs of `journey` sent a person since `since`:
    /// what a journey's own cap counts.
    fn journey_sends_since(&mut self, profile: ProfileId, journey: &JourneyId, since: Timestamp) -> Result<i64>;
    /// `channel` `None`: on every channel.
    fn sends_since(&mut self, profile: ProfileId, channel: Option<&str>, since: Timestamp) -> Result<i64>;
    /// The people messages of a channel went to at `address` (a phone number; an email address
    /// in any case), the one messaged last first: whom an inbound message or a bounce from that
    /// address is about.
    fn messaged_at(&mut self, channel: &str, address: &str, limit: usize) -> Result<Vec<ProfileId>>;
    /// How many entries each channel has waiting to be sent (pending), by channel name.
    fn outbox_pending(&mut self) -> Result<Vec<(String, i64)>>;
    /// Makes a failed entry due again at `now` (its idempotency key unchanged); false if it
    /// was not failed. Its attempts go on counting.
    fn retry_failed(&mut self, id: OutboxId, now: Timestamp) -> Result<bool>;
    /// Newest first, optionally only one status or one person, and only ids below `before`
    /// (the next page).
    fn messages(
        &mut self,
        status: Option<OutboxStatus>,
        profile: Option<ProfileId>,
        before: Option<OutboxId>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>>;

    // Templates.
    fn put_template(&mut self, template: &Template) -> Result<()>;

    /// Keeps an in-app message for its person; `false` if one with its id is kept already (a
    /// repeat after a crash), which is left as it is.
    fn put_in_app(&mut self, message: &InAppMessage) -> Result<bool>;
    /// The person's in-app messages to show at `placement` (and those for any place) at
    /// `now`: not clicked, not dismissed, not expired; newest first.
    fn in_app_messages(&mut self, profile: ProfileId, placement: &str, now: Timestamp, limit: usize) -> Result<Vec<InAppMessage>>;
    fn in_app_message(&mut self, id: OutboxId) -> Result<Option<InAppMessage>>;
    /// Records what the person did with the message; `false` if it was recorded before (the
    /// first time counts).
    fn mark_in_app(&mut self, id: OutboxId, action: InAppAction, at: Timestamp) -> Result<bool>;

    /// Keeps an asset; the one already kept when its bytes were (the same hash).
    fn put_asset(&mut self, hash: &str, content_type: &str, name: &str, bytes: &[u8], at: Timestamp) -> Result<Asset>;

    /// Records people's moves between lifecycle stages.
    fn record_stage_moves(&mut self, moves: &[StageMove]) -> Result<()>;
    /// The moves from `from` (inclusive) to `to`, counted by (from, to) stage; of the members
    /// of `segment` only, when given.
    fn stage_flows(&mut self, from: Timestamp, to: Timestamp, segment: Option<&SegmentId>) -> Result<Vec<StageFlow>>;
    /// How many people are at each stage now (stages with nobody left out).
    fn stage_sizes(&mut self) -> Result<Vec<(String, i64)>>;
    /// A person's moves, oldest first.
    fn stage_history(&mut self, profile: ProfileId) -> Result<Vec<StageMove>>;

    /// Creates or replaces a computed trait; true when it is new.
    fn put_computed_trait(&mut self, c: &StoredComputedTrait) -> Result<bool>;
    /// Every computed trait, by the trait it writes.
    fn computed_traits(&mut self) -> Result<Vec<StoredComputedTrait>>;
    fn delete_computed_trait(&mut self, id: &str) -> Result<bool>;

    /// Creates or replaces a segment's definition; true when it is new.
    fn put_segment(&mut self, s: &StoredSegment) -> Result<bool>;
    fn segment(&mut self, id: &SegmentId) -> Result<Option<StoredSegment>>;
    /// Every segment, by id.
    fn segments(&mut self) -> Result<Vec<StoredSegment>>;
    /// Deletes a segment with its members and counts; false when there was none.
    fn delete_segment(&mut self, id: &SegmentId) -> Result<bool>;
    /// The segments a person is a member of, by id.
    fn memberships(&mut self, profile: ProfileId) -> Result<Vec<SegmentId>>;
    /// Records people entering and leaving segments (members, and the hourly counts).
    fn change_memberships(&mut self, changes: &[SegmentChange]) -> Result<()>;
    /// A segment's members after `after`, by profile id, with when each entered.
    fn segment_members(&mut self, id: &SegmentId, after: ProfileId, limit: usize) -> Result<Vec<(ProfileId, Timestamp)>>;
    fn segment_size(&mut self, id: &SegmentId) -> Result<i64>;
    /// The highest profile id (how far a pass over everyone has to go).
    fn last_profile_id(&mut self) -> Result<Option<ProfileId>>;
    /// The hours from `from` (inclusive) to `to` in which people entered or left the segment.
    fn segment_hours(&mut self, id: &SegmentId, from: Timestamp, to: Timestamp) -> Result<Vec<SegmentHour>>;
    /// When the person's segments are to be evaluated again (a time edge), if ever.
    fn segment_check(&mut self, profile: ProfileId) -> Result<Option<Timestamp>>;
    fn set_segment_check(&mut self, profile: ProfileId, at: Option<Timestamp>) -> Result<()>;
    /// People whose segment check is due at `now`, earliest first.
    fn due_segment_checks(&mut self, now: Timestamp, limit: usize) -> Result<Vec<ProfileId>>;
    /// An asset and its bytes.
    fn asset(&mut self, hash: &str) -> Result<Option<(Asset, Vec<u8>)>>;
    /// Assets, newest first, before the cursor `before` (an id).
    fn assets(&mut self, before: Option<i64>, limit: usize) -> Result<Vec<Asset>>;

    /// Puts a task in the inbox; `false` if one with its id is there already (a repeat after a
    /// crash), which is left as it is.
    fn put_task(&mut self, task: &Task) -> Result<bool>;
    fn task(&mut self, id: OutboxId) -> Result<Option<Task>>;
    /// Tasks that match `filter`, oldest first, after the cursor `after`.
    fn tasks(&mut self, filter: &TaskFilter, after: Option<OutboxId>, limit: usize) -> Result<Vec<Task>>;
    /// Completes or declines an open task; `false` if it was not open.
    fn close_task(&mut self, id: OutboxId, status: TaskStatus, by: &str, note: Option<&str>, at: Timestamp) -> Result<bool>;
    fn template(&mut self, id: &TemplateId) -> Result<Option<Template>>;
    fn templates(&mut self) -> Result<Vec<Template>>;
    /// A page of templates: ids above `after` (all when `None`), in byte order of the id, on
    /// every backend.
    fn templates_after(&mut self, after: Option<&TemplateId>, limit: usize) -> Result<Vec<Template>>;

    // Dead letters.
    fn add_dead_letter(&mut self, profile: ProfileId, inputs: &[DeadInput], error: &str, at: Timestamp) -> Result<DeadLetterId>;
    /// Newest first; only ids below `before` when given (the next page).
    fn dead_letters(&mut self, before: Option<DeadLetterId>, limit: usize) -> Result<Vec<DeadLetter>>;
    fn dead_letter(&mut self, id: DeadLetterId) -> Result<Option<DeadLetter>>;
    fn mark_replayed(&mut self, id: DeadLetterId, at: Timestamp) -> Result<()>;

    // Per-node counts of journeys (what the canvas shows on each node).
    /// Adds `deltas` to the per-node counts and waiting gauges: one upsert per (journey,
    /// node, hour) and one per (journey, node) whose gauge moved; zero changes are skipped.
    fn add_node_counts(&mut self, deltas: &NodeDeltas) -> Result<()>;
    /// A journey's counts per node, summed over the hours that start in `[from, to)` (give
    /// whole hours, or the hour a bound falls in is left out or in by its start), with each
    /// node's waiting gauge now. Nodes are step ids, `ENTRY_NODE` and `CONTROL_NODE`; a node
    /// with nothing to show is absent.
    fn node_counts(&mut self, journey: &JourneyId, from: Timestamp, to: Timestamp) -> Result<BTreeMap<String, NodeCounts>>;
    /// A journey's counts per node and hour, for the hours that start in `[from, to)`, by hour
    /// then node; an hour with nothing counted at a node is absent.
    fn node_count_series(&mut self, journey: &JourneyId, from: Timestamp, to: Timestamp) -> Result<Vec<NodeHour>>;

    // The funnel per content.
    /// Notes that `messages` reached `stage`: each message that had not counts once in its
    /// content's funnel (its journey, send step and template), in the hour it was made.
    /// Messages that are not a send step's (a webhook, a task) and unknown ids are skipped.
    fn reach(&mut self, messages: Messages<'_>, stage: MessageStage) -> Result<()>;
    /// A journey's funnel per content, over the messages made in the hours that start in
    /// `[from, to)`, by step then template.
    fn content_funnel(&mut self, journey: &JourneyId, from: Timestamp, to: Timestamp) -> Result<Vec<ContentFunnel>>;

    // Names the data has shown (for warnings about names it never has).
    fn note_names(&mut self, kind: NameKind, names: &[&str]) -> Result<()>;
    fn seen_names(&mut self, kind: NameKind) -> Result<Vec<String>>;
    /// Keeps property paths (once each; noting a known one again does nothing).
    fn note_property_paths(&mut self, paths: &[PropertyPath]) -> Result<()>;
    /// Every property path kept, sorted by event then path (byte order, on every backend).
    fn property_paths(&mut self) -> Result<Vec<PropertyPath>>;

    // Users, their sessions and personal API tokens.
    /// Creates a user (the e-mail is stored lowercased); `Error::Conflict` if the e-mail is taken.
    fn create_user(&mut self, user: &NewUser) -> Result<UserId>;
    /// Every user, by id.
    fn users(&mut self) -> Result<Vec<User>>;
    /// A page of users: ids above `after` (all when `None`), by id.
    fn users_after(&mut self, after: Option<UserId>, limit: usize) -> Result<Vec<User>>;
    fn user(&mut self, id: UserId) -> Result<Option<User>>;
    /// The user with that e-mail, whatever its case.
    fn user_by_email(&mut self, email: &str) -> Result<Option<User>>;
    /// Saves a user's name, role, password hash and `updated_at` (the e-mail does not change);
    /// `Error::NotFound` if there is no such user.
    fn update_user(&mut self, user: &User) -> Result<()>;
    /// Deletes a user with their sessions and API tokens; false if there was no such user.
    fn delete_user(&mut self, id: UserId) -> Result<bool>;
    /// Stores a session (and deletes every session expired at its `created_at`).
    fn create_session(&mut self, session: &Session) -> Result<()>;
    /// The session with that hash, unless it has expired at `now`.
    fn session(&mut self, token_sha256: &str, now: Timestamp) -> Result<Option<Session>>;
    fn delete_session(&mut self, token_sha256: &str) -> Result<()>;
    /// Deletes a user's sessions but the one with hash `except` (signs them out elsewhere).
    fn delete_sessions_of(&mut self, user: UserId, except: Option<&str>) -> Result<()>;
    /// Stores a token (`id` and `last_used_at` are ignored); `Error::Conflict` if its hash is
    /// taken.
    fn create_api_token(&mut self, token: &ApiToken) -> Result<ApiTokenId>;
    fn api_token_by_hash(&mut self, token_sha256: &str) -> Result<Option<ApiToken>>;
    /// Notes that a token was used at `now`, unless it was noted after `now - every` (so a
    /// busy token costs a write at most once per `every`); whether it wrote.
    fn touch_api_token(&mut self, id: ApiTokenId, now: Timestamp, every: domain::time::Duration) -> Result<bool>;
    /// A user's tokens, by id.
    fn api_tokens_of(&mut self, user: UserId) -> Result<Vec<ApiToken>>;
    /// Deletes one of `user`'s tokens; false if they have no such token.
    fn delete_api_token(&mut self, user: UserId, id: ApiTokenId) -> Result<bool>;

    // The audit log.
    fn add_audit(&mut self, entry: &NewAudit) -> Result<AuditId>;
    /// Newest first; only ids below `before` when given (the next page).
    fn audit_page(&mut self, before: Option<AuditId>, limit: usize) -> Result<Vec<AuditEntry>>;

    // Settings (small key/value pairs, e.g. the hashed admin token, the processing cursor).
    fn setting(&mut self, key: &str) -> Result<Option<String>>;
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_localized_by_the_exact_locale_else_its_language_else_as_it_is() {
        let fr = Translation { subject: "Bonjour".into(), sms: "Salut".into(), ..Translation::default() };
        let fr_ca = Translation {
            subject: "Allô".into(),
            push: PushContent { title: "Allô".into(), ..PushContent::default() },
            ..Translation::default()
        };
        let t = Template {
            id: TemplateId("hi".into()),
            subject: "Hello".into(),
            html: "<p>Hi</p>".into(),
            text: String::new(),
            category: Category::Marketing,
            sms: "Hi".into(),
            push: PushContent { title: "Hi".into(), body: "Come back".into(), ..PushContent::default() },
            in_app: InAppContent { title: "Hi".into(), layout: InAppLayout::Modal, ..InAppContent::default() },
            locales: [("fr".to_owned(), fr), ("fr-ca".to_owned(), fr_ca)].into_iter().collect(),
            updated_at: Timestamp(0),
        };
        let shown = |locale: Option<&str>| {
            let (l, chosen) = t.localized(locale);
            (l.subject, l.sms, l.push.title, l.push.body, l.html, chosen)
        };
        let s = |v: &str| v.to_owned();
        assert_eq!(
            shown(Some("fr")),
            (s("Bonjour"), s("Salut"), s("Hi"), s("Come back"), s("<p>Hi</p>"), Some(s("fr"))),
            "empty parts are the template's"
        );
        assert_eq!(
            shown(Some("fr_CA")),
            (s("Allô"), s("Hi"), s("Allô"), s("Come back"), s("<p>Hi</p>"), Some(s("fr-ca"))),
            "the exact locale, in any case"
        );
        assert_eq!(shown(Some("fr-BE")).5, Some(s("fr")), "else its language");
        assert_eq!(shown(Some("de")), (s("Hello"), s("Hi"), s("Hi"), s("Come back"), s("<p>Hi</p>"), None), "else as it is");
        assert_eq!(shown(None).5, None);
        assert_eq!(shown(Some(" ")).5, None);
        assert_eq!(t.localized(Some("fr")).0.in_app.layout, InAppLayout::Modal, "the layout is the template's");
    }
}
