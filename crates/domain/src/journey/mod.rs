//! Journey documents, their validation, run state and the pure `step` function.
//!
//! The document format is described in `docs/JOURNEYS.md`; `examples/consultation.json` is a
//! complete one. The first step is where a run starts; a missing `next` ends the run.

mod names;
mod parse;
mod suggest;

pub use names::{NameKind, NameRef};
pub use parse::{is_slug, schema};
pub(crate) use suggest::closest;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;
use crate::condition::{Condition, Facts, HistoryQuery, LocalClock, RunFacts};
use crate::event::Event;
use crate::ids::{JourneyId, NodeId, TemplateId};
use crate::time::{Duration, Timestamp};
use crate::trace::{Check, TraceKind, TraceLine, bracket};
use crate::zone;

/// How bad a diagnostic is: an error stops a journey from being published; a warning (a
/// name no event or profile has had yet) is shown and does not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

/// A problem found in a journey document, tied to a node where there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// JSON pointer into the document.
    pub path: String,
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Collects every diagnostic of a document instead of stopping at the first.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>, Option<String>);

impl Diagnostics {
    pub fn error(&mut self, path: &str, code: &str, message: &str) {
        self.push(Severity::Error, path, code, message);
    }

    pub fn warning(&mut self, path: &str, code: &str, message: &str) {
        self.push(Severity::Warning, path, code, message);
    }

    fn push(&mut self, severity: Severity, path: &str, code: &str, message: &str) {
        let node = self.1.clone();
        self.0.push(Diagnostic { node, path: path.to_owned(), code: code.to_owned(), severity, message: message.to_owned() });
    }

    /// The values of one kind of object's fields, `keys` (the kind's one list of keys), in
    /// that order. Every other key is an `unknown_field` error: a misspelt key would
    /// otherwise be ignored, and a journey would silently do something else. The suggestion
    /// comes from `keys`, else from `family` (the keys of the object's other kinds: other
    /// step types, other entries).
    pub(crate) fn fields<'v, const N: usize>(
        &mut self,
        obj: &'v Map,
        keys: &[&'static str; N],
        what: &str,
        path: &str,
        family: &[&[&'static str]],
    ) -> [Option<&'v Value>; N] {
        self.unknown_keys(obj, keys, family, what, path);
        keys.map(|k| obj.get(k))
    }

    /// Reports every key of `obj` not in `keys` (see `fields`).
    pub(crate) fn unknown_keys(&mut self, obj: &Map, keys: &[&str], family: &[&[&'static str]], what: &str, path: &str) {
        for key in obj.keys().filter(|k| !keys.contains(&k.as_str())) {
            let hint = match suggest::closest(key, keys.iter().copied())
                .or_else(|| suggest::closest(key, family.iter().flat_map(|f| f.iter().copied())))
            {
                Some(known) => format!("; did you mean {known:?}?"),
                None => format!("; its fields are {}", keys.join(", ")),
            };
            self.error(&format!("{path}/{}", pointer_token(key)), "unknown_field", &format!("{key:?} is not a field of {what}{hint}"));
        }
    }
}

/// A key as one token of a JSON pointer (`/` and `~` escaped).
pub(crate) fn pointer_token(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) { Cow::Owned(key.replace('~', "~0").replace('/', "~1")) } else { Cow::Borrowed(key) }
}

/// An event name and an optional filter on its properties and the person's traits.
#[derive(Clone, Debug, PartialEq)]
pub struct EventMatch {
    pub event: String,
    pub filter: Option<Condition>,
}

/// What starts a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// One of the person's events.
    Event(EventMatch),
    /// A trait changing value (`from`/`to` narrow it); never fired when the value is unchanged.
    TraitChange { name: String, from: Option<Value>, to: Option<Value> },
    /// A call to the admin API, with a payload templates can use.
    Api,
    /// At each time a cron expression names (in `timezone`), everyone matching `audience`
    /// (traits and the clock; no history) enters.
    Schedule { cron: crate::cron::Cron, timezone: String, audience: Option<Condition> },
    /// Relative to a date trait: `offset` from its date, at `hour:minute` on the person's wall
    /// clock (e.g. 3 days before `renewal_date`, at 09:00).
    Date { name: String, offset: Duration, hour: i8, minute: i8 },
}

/// May a person start a run again after an earlier one?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reentry {
    /// Whenever no run of theirs is waiting (the default).
    Always,
    /// Only once, ever.
    Never,
    /// Once the earlier run started at least this long ago.
    After(Duration),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub trigger: Trigger,
    pub reentry: Reentry,
    /// At most this many runs in all.
    pub limit: Option<i64>,
    /// Percent of entrants put in the control group: recorded, sent nothing.
    pub holdout: u8,
    /// Allow a person several waiting runs at once (each entry starts one).
    pub concurrent: bool,
    /// Runs are per person and this property of the entry event (or API payload), e.g.
    /// `cart_id`: re-entry and `concurrent` apply per key, and an entry without it starts none.
    pub key: Option<String>,
}

/// A conversion: the goal event within `within` of entering records a conversion on the run,
/// and ends it when `exit` is set.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    pub on: EventMatch,
    pub within: Option<Duration>,
    pub exit: bool,
    /// Measure from when the run first reached this step (e.g. the send), not from entry;
    /// goal events before that do not count.
    pub from: Option<NodeId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
    Push,
    /// A message shown inside the website or app (a banner, a modal) the next time the person
    /// is there: kept for them until it is clicked, dismissed or expires.
    #[serde(rename = "in_app")]
    InApp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WaitPath {
    pub on: EventMatch,
    /// Run variables to change when this path is taken (templates here also see `received`,
    /// the properties of the event that matched).
    pub run: RunUpdate,
    pub next: Option<NodeId>,
}

/// Changes to run variables. Values are templates, rendered when the step runs (see
/// `Render`): `{"items": "{{ received }}"}` appends the received event's properties.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunUpdate {
    /// Variables to set (replace).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Map,
    /// Lists to append one value to (a missing variable becomes a one-item list).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub append: Map,
}

impl RunUpdate {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.append.is_empty()
    }
}

/// Renders the templates in `update` values (`"{{ event.total }}"`). The engine gives the
/// Liquid renderer messages use; the domain stays free of it.
pub trait Render: Sync + std::fmt::Debug {
    /// `source` rendered against `scope` (an object with `traits`, `event`, `event_name`,
    /// `journey`, `run` and, in a `wait_for` path, `received`). A source that is exactly one
    /// output (`{{ x }}`, filters allowed) gives that value with its type; any other gives
    /// the rendered text. An error is shown in the trace.
    fn value(&self, source: &str, scope: &Value) -> Result<Value, String>;
}

/// Hours of the person's wall clock (their `timezone` trait, else the journey's zone) when a
/// journey sends nothing: from `from` up to `to`, over midnight when `to` is earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub from: (i8, i8),
    pub to: (i8, i8),
    pub then: Quiet,
}

/// A journey's frequency cap: at most `max` marketing messages from it to a person within
/// `within` (checked when each is sent, counted from what was sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyCap {
    pub max: i64,
    pub within: Duration,
}

/// What a send in quiet hours does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quiet {
    /// The run waits at the send until quiet hours end, then sends.
    Hold,
    /// The message is not sent; the run goes on to `next`.
    Skip,
}

impl QuietHours {
    /// Whether the wall clock shows a time within them (`time_of_day` is `HH:MM`).
    pub fn covers(&self, time_of_day: &str) -> bool {
        let [from, to] = [self.from, self.to].map(|(h, m)| format!("{h:02}:{m:02}"));
        let t = time_of_day;
        if from <= to { from.as_str() <= t && t < to.as_str() } else { from.as_str() <= t || t < to.as_str() }
    }
}

impl fmt::Display for QuietHours {
    /// `21:00-08:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}-{:02}:{:02}", self.from.0, self.from.1, self.to.0, self.to.1)
    }
}

/// How long a `wait` step waits.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitUntil {
    For(Duration),
    /// A time on the person's wall clock (in `zone`, else their `timezone` trait, else the
    /// journey's zone): the next time it shows `hour:minute`, or with `day`, `hour:minute`
    /// on a calendar day counted from the run's entry or from a step.
    TimeOfDay {
        hour: i8,
        minute: i8,
        zone: Option<String>,
        day: Option<CalendarDay>,
    },
    /// A date trait plus an offset (e.g. 3 days before `renewal_date`); passed dates do not wait.
    Trait {
        name: String,
        offset: Duration,
    },
}

/// A local calendar day: `days` after the day of the run's entry, or of the run reaching a
/// step (`"days": 7, "after": "welcome"`).
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarDay {
    /// 0 to 366.
    pub days: u16,
    pub after: Anchor,
}

/// What a calendar day counts from.
#[derive(Clone, Debug, PartialEq)]
pub enum Anchor {
    /// The run's entry.
    Entry,
    /// The last time the run reached this step (`Run::reached`).
    Step(NodeId),
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Entry => f.write_str("entry"),
            Anchor::Step(id) => write!(f, "step {id}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SplitPath {
    pub name: String,
    pub weight: u32,
    pub next: Option<NodeId>,
}

/// What a send step sends: one template, or variants of it (A/B).
#[derive(Clone, Debug, PartialEq)]
pub enum SendContent {
    Template(TemplateId),
    /// Each person gets one, by weight, the same every time (as a split chooses), recorded in
    /// the run's `assignments` under the step's id when it is sent.
    Variants(Vec<SendVariant>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SendVariant {
    pub name: String,
    /// A whole percent; the variants' add up to 100.
    pub weight: u32,
    pub template: TemplateId,
}

impl SendContent {
    /// Every template it can send.
    pub fn templates(&self) -> impl Iterator<Item = &TemplateId> {
        let (one, variants) = match self {
            SendContent::Template(t) => (Some(t), &[][..]),
            SendContent::Variants(v) => (None, &v[..]),
        };
        one.into_iter().chain(variants.iter().map(|v| &v.template))
    }
}

/// Trait changes an `update` step makes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraitUpdate {
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub set: Map,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub increment: Map,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unset: Vec<String>,
}

impl TraitUpdate {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.increment.is_empty() && self.unset.is_empty()
    }

    /// Applies the update to `traits`; returns the changed traits' new values (null: removed).
    pub fn apply(&self, traits: &mut Map) -> Map {
        let mut changed = Map::new();
        for (k, v) in &self.set {
            if traits.get(k) != Some(v) {
                traits.insert(k.clone(), v.clone());
                changed.insert(k.clone(), v.clone());
            }
        }
        for (k, by) in &self.increment {
            let current = traits.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            let v = crate::condition::number(current + by.as_f64().unwrap_or(0.0));
            traits.insert(k.clone(), v.clone());
            changed.insert(k.clone(), v);
        }
        for k in &self.unset {
            if traits.remove(k).is_some() {
                changed.insert(k.clone(), Value::Null);
            }
        }
        changed
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Wait {
        until: WaitUntil,
        next: Option<NodeId>,
    },
    WaitFor {
        paths: Vec<WaitPath>,
        timeout: Duration,
        timeout_next: Option<NodeId>,
    },
    Branch {
        cases: Vec<(Condition, Option<NodeId>)>,
        otherwise: Option<NodeId>,
    },
    Split {
        paths: Vec<SplitPath>,
    },
    Send {
        channel: Channel,
        content: SendContent,
        next: Option<NodeId>,
        /// Where to go when the person has no address on the channel (absent: `next`; the
        /// inner `None`: the run ends).
        on_unreachable: Option<Option<NodeId>>,
        /// Where to go when the message fails: the run then waits at the send for its outcome
        /// (absent: it goes on to `next` at once, as without it).
        on_failure: Option<Option<NodeId>>,
    },
    Update {
        update: TraitUpdate,
        run: RunUpdate,
        next: Option<NodeId>,
    },
    /// `save`: trait name -> JSON pointer into the response, saved to the profile after the call.
    Webhook {
        url: String,
        method: String,
        body: Option<Value>,
        save: BTreeMap<String, String>,
        next: Option<NodeId>,
    },
    /// Asks a person (a salesperson, support) to act: a task in the inbox; its completion or
    /// decline comes back as an event (`Task Completed`, `Task Declined`) a `wait_for` can take.
    Task {
        task: TaskSpec,
        next: Option<NodeId>,
    },
    Exit,
}

/// A task for a person to do, as a `task` step describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Liquid, rendered for the person when the task is made.
    pub title: String,
    /// Liquid; may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Whose it is (a user's email), or a team's, or neither (everyone's inbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Due this long after it is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub id: NodeId,
    pub kind: StepKind,
}

/// A parsed, valid journey.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    pub id: JourneyId,
    pub name: String,
    pub entry: Entry,
    pub exits: Vec<EventMatch>,
    pub goal: Option<Goal>,
    /// The zone for people without a valid `timezone` trait.
    pub timezone: String,
    /// Hours of the person's wall clock when the journey's sends wait or are skipped.
    pub quiet_hours: Option<QuietHours>,
    /// At most this many marketing messages from the journey to a person over a window.
    pub cap: Option<JourneyCap>,
    /// When journeys message one person on one channel at once, the marketing messages of those
    /// with a lower priority are not sent (`Effect::Send::outranked`). Default 0.
    pub priority: i32,
    pub steps: Vec<Step>,
    /// Every event-history aggregate the journey's conditions use; callers compute them
    /// (in this order) into `Context::history` before calling `step`.
    pub history: Vec<HistoryQuery>,
    /// Some condition reads the person's local clock (it is computed only then).
    pub reads_clock: bool,
    index: HashMap<NodeId, usize>,
    /// The steps calendar waits count from (`"after": "<step>"`): runs note when they reach them.
    anchors: HashSet<NodeId>,
}

/// The most steps one transition may take without waiting; beyond it the run exits.
pub const MAX_HOPS: usize = 1000;

impl StepKind {
    /// Every (edge label, target) leaving this step.
    pub fn edges(&self) -> Vec<(&'static str, Option<&NodeId>)> {
        match self {
            StepKind::Wait { next, .. } | StepKind::Webhook { next, .. } | StepKind::Update { next, .. } | StepKind::Task { next, .. } => {
                vec![("next", next.as_ref())]
            }
            StepKind::Send { next, on_unreachable, on_failure, .. } => {
                let mut e = vec![("next", next.as_ref())];
                e.extend(on_unreachable.as_ref().map(|n| ("on_unreachable", n.as_ref())));
                e.extend(on_failure.as_ref().map(|n| ("on_failure", n.as_ref())));
                e
            }
            StepKind::WaitFor { paths, timeout_next, .. } => {
                let mut e: Vec<_> = paths.iter().map(|p| ("next", p.next.as_ref())).collect();
                e.push(("timeout_next", timeout_next.as_ref()));
                e
            }
            StepKind::Branch { cases, otherwise } => {
                let mut e: Vec<_> = cases.iter().map(|(_, n)| ("next", n.as_ref())).collect();
                e.push(("else", otherwise.as_ref()));
                e
            }
            StepKind::Split { paths } => paths.iter().map(|p| ("next", p.next.as_ref())).collect(),
            StepKind::Exit => vec![],
        }
    }

    /// Whether a run stops here until time passes or an event comes. A send with
    /// `on_failure` waits too, but only for its own message's outcome, which can come at once:
    /// a cycle through it (a failing send routed back to itself) would send again and again
    /// without end, so it does not count as waiting.
    fn waits(&self) -> bool {
        matches!(self, StepKind::Wait { .. } | StepKind::WaitFor { .. })
    }
}

impl Journey {
    pub fn get(&self, node: &NodeId) -> Option<&Step> {
        self.index.get(node).and_then(|&i| self.steps.get(i))
    }

    /// The entry event's name, for journeys entered on an event.
    pub fn entry_event(&self) -> Option<&str> {
        match &self.entry.trigger {
            Trigger::Event(m) => Some(&m.event),
            _ => None,
        }
    }

    /// When a `date` entry is due for a person with these traits.
    pub fn date_entry_at(&self, traits: &Map) -> Option<Timestamp> {
        let Trigger::Date { name, offset, hour, minute } = &self.entry.trigger else { return None };
        let zone = zone::person_zone(traits, &self.timezone);
        let day = zone::date_trait(traits.get(name)?, &zone)?.plus(*offset);
        zone::at_local_time(day, *hour, *minute, &zone)
    }

    /// Whether entries come from the engine's sweeps (schedule and date entries).
    pub fn swept(&self) -> bool {
        matches!(self.entry.trigger, Trigger::Schedule { .. } | Trigger::Date { .. })
    }

    /// The trait whose change enters this journey, if that is its trigger.
    pub fn entry_trait(&self) -> Option<&str> {
        match &self.entry.trigger {
            Trigger::TraitChange { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The run key an input carries, for keyed journeys (`entry.key`): the property's value
    /// as text (a string as it is, a number or boolean as JSON). `None`: the journey is not
    /// keyed, or the input has no usable key (then it starts no run).
    pub fn input_key(&self, input: Input<'_>) -> Option<String> {
        let path = self.entry.key.as_deref()?;
        let value = match input {
            Input::Event(e) => crate::condition::lookup(&e.match_properties(), path).cloned(),
            Input::Api { payload } => crate::condition::lookup(payload, path).cloned(),
            _ => None,
        };
        match value? {
            Value::String(s) if !s.is_empty() => Some(s),
            v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
            _ => None,
        }
    }

    /// Every run variable the journey sets (`update` steps and `wait_for` paths).
    pub fn run_variables(&self) -> std::collections::BTreeSet<&str> {
        let mut out = std::collections::BTreeSet::new();
        for s in &self.steps {
            let updates: Vec<&RunUpdate> = match &s.kind {
                StepKind::Update { run, .. } => vec![run],
                StepKind::WaitFor { paths, .. } => paths.iter().map(|p| &p.run).collect(),
                _ => vec![],
            };
            out.extend(updates.into_iter().flat_map(|u| u.set.keys().chain(u.append.keys())).map(String::as_str));
        }
        out
    }

    /// The step a calendar wait counts from, if this is one that counts from a step.
    pub fn anchor(kind: &StepKind) -> Option<&NodeId> {
        match kind {
            StepKind::Wait { until: WaitUntil::TimeOfDay { day: Some(CalendarDay { after: Anchor::Step(a), .. }), .. }, .. } => Some(a),
            _ => None,
        }
    }

    /// Templates the journey sends (each variant's).
    pub fn templates(&self) -> impl Iterator<Item = (&NodeId, &TemplateId)> {
        self.steps.iter().flat_map(|s| {
            let content = match &s.kind {
                StepKind::Send { content, .. } => Some(content),
                _ => None,
            };
            content.into_iter().flat_map(SendContent::templates).map(move |t| (&s.id, t))
        })
    }
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Waiting,
    Exited,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Waiting => "waiting",
            RunStatus::Exited => "exited",
        }
    }
}

/// One person's run through one journey version: data, never a call stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub journey: JourneyId,
    pub version: i64,
    pub status: RunStatus,
    /// The step the run waits at, or the last step it was at.
    pub node: Option<NodeId>,
    /// When the run's timer fires (the end of a wait, a wait_for's timeout).
    pub wake_at: Option<Timestamp>,
    pub exit_reason: Option<String>,
    pub entered_at: Timestamp,
    pub updated_at: Timestamp,
    /// Number of transitions so far; part of every effect's idempotency key.
    pub seq: i64,
    /// Properties of what started the run (event properties, the trait change, the API
    /// payload), for conditions and templates.
    pub trigger: Map,
    /// Name of that event (`Trait Changed` and `API Call` for those triggers).
    pub trigger_event: String,
    /// In the control group (holdout): recorded, sent nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
    /// When the goal was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_at: Option<Timestamp>,
    /// The goal event's `revenue` property (a number), when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<f64>,
    /// Experiment assignments: split step → variant name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assignments: BTreeMap<String, String>,
    /// The run's key, for journeys keyed by an entry property (`entry.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Waiting at a send for the journey's quiet hours to end (it sends then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// Run variables (`update` steps' `run`, `wait_for` paths' `run`); templates see `run`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Map,
    /// When the run first reached the goal's `from` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_from: Option<Timestamp>,
    /// The run's own counters for history conditions measured since entry, by query key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, crate::aggregate::Counter>,
    /// When the run last reached each step a calendar wait counts from (`"after": "<step>"`);
    /// other steps are not noted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reached: BTreeMap<NodeId, Timestamp>,
}

/// What drives a run forward.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    Event(&'a Event),
    /// The run's timer came due.
    Timer,
    /// A trait changed value.
    TraitChange {
        name: &'a str,
        from: Option<&'a Value>,
        to: Option<&'a Value>,
    },
    /// The admin API asked to enter the person, with a payload.
    Api {
        payload: &'a Map,
    },
    /// A schedule came due, or a date entry's time came (the engine's sweep decides who).
    Scheduled,
    /// What became of a message the run decided at step `node`: delivered (sent or
    /// captured) or not, with the detail (the status, or the error).
    Outcome {
        node: &'a NodeId,
        delivered: bool,
        detail: &'a str,
    },
}

/// How long a run waits at a send with `on_failure` for the message's outcome before going
/// on to `next` (the outcome normally comes within the dispatcher's retries).
pub const OUTCOME_WAIT: Duration = Duration(86_400_000);

impl Channel {
    /// Every channel a send step can name.
    pub const ALL: [Channel; 4] = [Channel::Email, Channel::Sms, Channel::Push, Channel::InApp];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::InApp => "in_app",
        }
    }

    /// The channel a send step or a `reachable` condition names.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The trait that holds a person's address on the channel (none for in-app messages,
    /// which wait for the person to come).
    pub fn address_trait(self) -> Option<&'static str> {
        match self {
            Channel::Email => Some("email"),
            Channel::Sms => Some("phone"),
            Channel::Push => Some(crate::profile::PUSH_TOKENS),
            Channel::InApp => None,
        }
    }

    /// Whether a person with these traits can be reached on the channel; if not, why. A phone
    /// number is reachable in E.164 form: `+`, then 8 to 15 digits (spaces, dashes, dots and
    /// brackets between them are allowed, and left out when it is sent). Everyone can be
    /// reached in the app: the message waits for their next visit.
    pub fn reach(self, traits: &Map) -> Result<(), String> {
        let Some(address_trait) = self.address_trait() else { return Ok(()) };
        let address = traits.get(address_trait);
        match (self, address) {
            (Channel::Email, Some(Value::String(e))) if e.contains('@') => Ok(()),
            (Channel::Email, Some(Value::String(e))) if !e.trim().is_empty() => Err(format!("email trait {e:?} is not an address")),
            (Channel::Sms, Some(Value::String(p))) if phone_number(p).is_some() => Ok(()),
            (Channel::Sms, Some(Value::String(p))) if !p.trim().is_empty() => {
                Err(format!("phone trait {p:?} is not a number in international form (+ and country code)"))
            }
            (Channel::Push, _) if !crate::profile::push_tokens(traits).is_empty() => Ok(()),
            (Channel::Push, _) => Err("no push device (no device token in push_tokens)".to_owned()),
            _ => Err(format!("no {address_trait} trait")),
        }
    }

    /// The address a message on this channel goes to: the trait as it is for email, the
    /// number in E.164 form for SMS; none for push (the person's devices as they are when it
    /// is sent) or in-app messages.
    pub fn address(self, traits: &Map) -> Option<String> {
        let value = traits.get(self.address_trait()?)?;
        match self {
            Channel::Email => value.as_str().map(str::to_owned),
            Channel::Sms => value.as_str().and_then(phone_number),
            Channel::Push | Channel::InApp => None,
        }
    }
}

/// A phone number in E.164 form (`+14155550100`), from one written with spaces, dashes, dots
/// or brackets between its digits; `None` if it has no `+` and country code or a length no
/// number has (8 to 15 digits).
pub fn phone_number(written: &str) -> Option<String> {
    let rest = written.trim().strip_prefix('+')?;
    let mut digits = String::from("+");
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let n = digits.len() - 1;
    ((8..=15).contains(&n) && !digits.starts_with("+0")).then_some(digits)
}

/// Something the transition decided to do outside the run; the engine applies updates in
/// the same transaction and puts sends and webhooks in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    Send {
        node: NodeId,
        channel: Channel,
        template: TemplateId,
        /// The journey's cap, for the dispatcher to check when the message is sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap: Option<JourneyCap>,
        /// Set by the engine when a journey of higher priority messages the person on the same
        /// channel at once: why a marketing message is not sent (a transactional one still is).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outranked: Option<String>,
    },
    Webhook {
        node: NodeId,
        url: String,
        method: String,
        body: Option<Value>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        save: BTreeMap<String, String>,
    },
    Update {
        node: NodeId,
        update: TraitUpdate,
    },
    /// A task for a person (`StepKind::Task`), due at `due_at` when it has a due time.
    Task {
        node: NodeId,
        task: TaskSpec,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_at: Option<Timestamp>,
    },
}

impl Effect {
    pub fn node(&self) -> &NodeId {
        match self {
            Effect::Send { node, .. } | Effect::Webhook { node, .. } | Effect::Update { node, .. } | Effect::Task { node, .. } => node,
        }
    }
}

/// The result of one `step`: the new run state, what to do, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub run: Run,
    pub entered: bool,
    pub effects: Vec<Effect>,
    /// Why, line by line: each with the step it is about, its kind and its checks.
    pub trace: Vec<TraceLine>,
    /// Every step the run reached in this transition, in order, once per visit (a loop through
    /// a step reaches it again): not the step a resumed run was waiting at, which it reached
    /// before. The last is where the run now waits or ended, unless it ended on a missing step
    /// or the end of a path (then `run.node` is the last step it reached, possibly an earlier
    /// transition's). The engine's per-node counts are made from it.
    pub visited: Vec<NodeId>,
}

/// What the engine knows besides the input: the person's traits, the journey's history
/// aggregates (`Journey::history` order), the person's latest earlier run of this journey,
/// and how many runs the journey has had.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub traits: &'a Map,
    pub history: &'a [Value],
    /// The person's latest earlier run of this journey (with the same key, when keyed).
    pub previous: Option<&'a Run>,
    pub entries: i64,
    /// Renders `update` values.
    pub render: &'a dyn Render,
    /// The segments the person is a member of.
    pub segments: &'a std::collections::BTreeSet<crate::ids::SegmentId>,
}

fn matches(m: &EventMatch, event: &Event, facts: &Facts<'_>, trace: &mut Vec<Check>) -> bool {
    if event.match_name() != m.event {
        return false;
    }
    match &m.filter {
        None => true,
        Some(f) => {
            let props = event.match_properties();
            let facts = Facts { properties: Some(&props), ..*facts };
            // The trace is written only for a filter that holds (most events fail most filters).
            f.holds(&facts) && f.eval(&facts, trace)
        }
    }
}

/// Whether a string is Liquid (an output or a tag) rather than plain text.
fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Whether a value has a template string anywhere in it.
fn templated(v: &Value) -> bool {
    match v {
        Value::String(s) => is_template(s),
        Value::Array(items) => items.iter().any(templated),
        Value::Object(m) => m.values().any(templated),
        _ => false,
    }
}

/// Whether a goal event now would count: within `within` of entry, or of reaching the
/// goal's `from` step (not yet reached: it does not count).
fn goal_open(goal: &Goal, run: &Run, now: Timestamp) -> bool {
    let start = if goal.from.is_some() { run.goal_from } else { Some(run.entered_at) };
    start.is_some_and(|start| goal.within.is_none_or(|w| now.since(start) <= w))
}

fn node_label(node: &Option<NodeId>) -> &str {
    node.as_ref().map_or("(end)", |n| n.as_str())
}

/// A stable number in 0..n from the seed and a label (a split's node id).
/// The item a person gets among weighted ones (a split's paths, a send's variants): the same
/// every time for the same seed and step. `None` only when there are none.
fn choose<'t, T>(seed: u64, node: &NodeId, items: &'t [T], weight: impl Fn(&T) -> u32) -> Option<(&'t T, u64)> {
    let total: u64 = items.iter().map(|i| u64::from(weight(i))).sum();
    let mut ticket = pick(seed, node.as_str(), total);
    let chosen = items
        .iter()
        .find(|i| {
            let w = u64::from(weight(i));
            let hit = ticket < w;
            ticket = ticket.saturating_sub(w);
            hit
        })
        .or(items.last())?;
    Some((chosen, total))
}

fn pick(seed: u64, label: &str, n: u64) -> u64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in label.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    if n == 0 { 0 } else { h % n }
}

struct Stepper<'a> {
    j: &'a Journey,
    ctx: &'a Context<'a>,
    now: Timestamp,
    seed: u64,
    /// Traits as updated by this transition's `update` steps so far.
    traits: Cow<'a, Map>,
    /// The person's local time, for journeys with `clock` conditions.
    clock: Option<LocalClock>,
    /// `Context::history`, with the run's own "since entry" values once it is bound.
    history: Cow<'a, [Value]>,
    effects: Vec<Effect>,
    trace: Vec<TraceLine>,
    /// The steps reached so far (`Transition::visited`).
    visited: Vec<NodeId>,
}

impl<'a> Stepper<'a> {
    fn new(j: &'a Journey, ctx: &'a Context<'a>, now: Timestamp, seed: u64) -> Self {
        let clock = j.reads_clock.then(|| {
            let z = zone::Chosen::pick(None, ctx.traits, &j.timezone);
            let mut clock = zone::local_clock(now, &z.name);
            clock.zone = match &z.problem {
                Some(p) => format!("{z}: {p}"),
                None => z.to_string(),
            };
            clock
        });
        let history = Cow::Borrowed(ctx.history);
        Stepper {
            j,
            ctx,
            now,
            seed,
            traits: Cow::Borrowed(ctx.traits),
            clock,
            history,
            effects: Vec::new(),
            trace: Vec::new(),
            visited: Vec::new(),
        }
    }

    /// Adds a trace line about `node` (`None`: the run as a whole).
    fn line(&mut self, node: Option<&NodeId>, kind: TraceKind, text: String) {
        self.trace.push(TraceLine::new(node, kind, text));
    }

    fn facts<'f>(&'f self, properties: Option<&'f Map>, run: Option<&'f Run>) -> Facts<'f> {
        let run = run.map(|r| RunFacts { trigger: &r.trigger, vars: &r.vars });
        Facts { traits: &self.traits, properties, history: &self.history, clock: self.clock.as_ref(), run, segments: self.ctx.segments }
    }

    /// History conditions measured since entry read the run's own counters.
    fn bind(&mut self, run: &Run) {
        let j = self.j;
        for (i, q) in j.history.iter().enumerate().filter(|(_, q)| q.since_entry) {
            let v = run.counts.get(&q.key).map_or_else(|| crate::aggregate::Counter::default().total(q), |c| c.total(q));
            let history = self.history.to_mut();
            match history.get_mut(i) {
                Some(slot) => *slot = v,
                None => {
                    history.resize(i, Value::Null);
                    history.push(v);
                }
            }
        }
    }

    /// Counts `event` in the run's counters of history measured since entry; whether any took it.
    fn count(&mut self, run: &mut Run, event: &Event) -> bool {
        // (Most events concern no such query: their properties are not even looked at.)
        if !self.j.history.iter().any(|q| q.since_entry && q.event == event.match_name()) {
            return false;
        }
        let mut counted = false;
        let props = event.match_properties();
        for q in self.j.history.iter().filter(|q| q.since_entry && q.event == event.match_name() && q.matches(&props)) {
            let seq = crate::ids::EventSeq(run.seq);
            run.counts.entry(q.key.clone()).or_default().add(q, seq, event.timestamp, &props);
            counted = true;
        }
        if counted {
            self.line(None, TraceKind::Counted, format!("counted {} since entry", event.match_name()));
            self.bind(run);
        }
        counted
    }

    /// What the templates among `values` see (`received`: the event a `wait_for` path
    /// matched); nothing is built when none of them is a template.
    fn scope(&self, run: &Run, received: Option<&Map>, values: &[&Map]) -> Value {
        if !values.iter().any(|m| m.values().any(templated)) {
            return Value::Null;
        }
        let mut scope = Map::new();
        scope.insert("traits".into(), Value::Object(self.traits.as_ref().clone()));
        scope.insert("event".into(), Value::Object(run.trigger.clone()));
        scope.insert("event_name".into(), Value::String(run.trigger_event.clone()));
        scope.insert("journey".into(), Value::String(self.j.id.0.clone()));
        scope.insert("run".into(), Value::Object(run.vars.clone()));
        if let Some(r) = received {
            scope.insert("received".into(), Value::Object(r.clone()));
        }
        Value::Object(scope)
    }

    /// A value with every template string in it rendered (strings without Liquid as they are).
    fn render(&self, v: &Value, scope: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) if is_template(s) => self.ctx.render.value(s, scope)?,
            Value::Array(items) => Value::Array(items.iter().map(|i| self.render(i, scope)).collect::<Result<_, _>>()?),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, i)| Ok((k.clone(), self.render(i, scope)?))).collect::<Result<_, String>>()?)
            }
            other => other.clone(),
        })
    }

    /// Renders each value of `values`, tracing (and leaving out) those that fail.
    fn render_map(&mut self, id: &NodeId, what: &str, values: &Map, scope: &Value) -> Map {
        let mut out = Map::new();
        for (k, v) in values {
            match self.render(v, scope) {
                Ok(r) => {
                    out.insert(k.clone(), r);
                }
                Err(why) => {
                    let kind = if what == "trait" { TraceKind::Update } else { TraceKind::Run };
                    self.line(Some(id), kind, format!("{id}: {what} {k} not changed: {why}"));
                }
            }
        }
        out
    }

    /// Applies a run update: renders its values and changes the run's variables.
    fn update_run(&mut self, id: &NodeId, run: &mut Run, u: &RunUpdate, received: Option<&Map>) {
        if u.is_empty() {
            return;
        }
        let scope = self.scope(run, received, &[&u.set, &u.append]);
        let set = self.render_map(id, "run", &u.set, &scope);
        let append = self.render_map(id, "run", &u.append, &scope);
        let mut shown = Vec::new();
        for (k, v) in set {
            shown.push(format!("{k} = {v}"));
            run.vars.insert(k, v);
        }
        for (k, v) in append {
            match run.vars.get_mut(&k) {
                Some(Value::Array(items)) => items.push(v.clone()),
                None | Some(Value::Null) => {
                    run.vars.insert(k.clone(), Value::Array(vec![v.clone()]));
                }
                Some(other) => {
                    let text = format!("{id}: run {k} is {other}, not a list: cannot append");
                    self.line(Some(id), TraceKind::Run, text);
                    continue;
                }
            }
            shown.push(format!("{k} += {v}"));
        }
        if !shown.is_empty() {
            self.line(Some(id), TraceKind::Run, format!("{id}: run {}", shown.join(", ")));
        }
    }

    /// When a `wait` ends, and what the trace says about it (the zone used and where it came
    /// from, the calendar day, a daylight-saving change), or why it does not wait at all.
    /// A `timezone` trait that is not a zone, when the journey's zone stands in, is traced
    /// here as a line of its own.
    fn wake_time(&mut self, id: &NodeId, run: &Run, until: &WaitUntil) -> Result<(Timestamp, String), String> {
        match until {
            WaitUntil::For(d) => Ok((self.now.plus(*d), d.to_string())),
            WaitUntil::TimeOfDay { hour, minute, zone, day } => {
                let z = self.zone(id, zone.as_deref());
                let (wall, counted) = match day {
                    None => (zone::next_wall_time(self.now, *hour, *minute, &z.name), String::new()),
                    Some(CalendarDay { days, after }) => {
                        let from = match after {
                            Anchor::Entry => run.entered_at,
                            Anchor::Step(step) => *run
                                .reached
                                .get(step)
                                .ok_or_else(|| format!("the run has no record of reaching step {step}, which days count from"))?,
                        };
                        let wall = zone::days_after(from, *days, *hour, *minute, &z.name);
                        let on = wall.as_ref().map_or(String::new(), |w| w.date.clone());
                        let start = zone::date_in(from, &z.name).unwrap_or_default();
                        let unit = if *days == 1 { "day" } else { "days" };
                        (wall, format!("; {on} is {days} {unit} after {after} on {start}"))
                    }
                };
                let wall = wall.ok_or_else(|| format!("no {hour:02}:{minute:02} in {}", z.name))?;
                let dst = wall.note(*hour, *minute).map_or(String::new(), |n| format!("; {n}"));
                Ok((wall.at, format!("until {} ({hour:02}:{minute:02} {z}{counted}{dst})", wall.at)))
            }
            WaitUntil::Trait { name, offset } => {
                let value = self.traits.get(name).cloned().ok_or_else(|| format!("trait {name} is not set"))?;
                if zone::date_trait_is_instant(&value) {
                    let at = zone::date_trait(&value, "UTC").ok_or_else(|| format!("trait {name} = {value} is not a date"))?;
                    return Ok((at.plus(*offset), format!("until {}", at.plus(*offset))));
                }
                let z = self.zone(id, None);
                let at = zone::date_trait(&value, &z.name)
                    .map(|t| t.plus(*offset))
                    .ok_or_else(|| format!("trait {name} = {value} is not a date"))?;
                let offset = match offset.as_millis() {
                    0 => String::new(),
                    ms if ms > 0 => format!("+{offset} from "),
                    _ => format!("{offset} from "),
                };
                Ok((at, format!("until {at} ({offset}{name} {value} at 00:00 {z})")))
            }
        }
    }

    /// The journey's quiet hours if the person's wall clock is in them now, with when they
    /// end and the zone they were read in.
    fn quiet_now(&mut self, id: &NodeId) -> Option<(QuietHours, Timestamp, zone::Chosen)> {
        let quiet = self.j.quiet_hours?;
        let z = zone::Chosen::pick(None, &self.traits, &self.j.timezone);
        if !quiet.covers(&zone::local_clock(self.now, &z.name).time_of_day) {
            return None;
        }
        let z = self.zone(id, None);
        let until = zone::next_time_of_day(self.now, quiet.to.0, quiet.to.1, &z.name)?;
        Some((quiet, until, z))
    }

    /// The zone a step uses (see `zone::Chosen`); traces the journey's zone standing in for
    /// an invalid `timezone` trait.
    fn zone(&mut self, id: &NodeId, step: Option<&str>) -> zone::Chosen {
        let z = zone::Chosen::pick(step, &self.traits, &self.j.timezone);
        if let Some(note) = z.fallback_note() {
            self.line(Some(id), TraceKind::Zone, format!("{id}: {note}"));
        }
        z
    }

    /// Advances from `node` through steps that do not wait, until the run waits or ends.
    fn advance(&mut self, run: &mut Run, mut node: Option<NodeId>) {
        run.wake_at = None;
        for _ in 0..MAX_HOPS {
            let Some(id) = node.clone() else {
                run.status = RunStatus::Exited;
                run.exit_reason = Some("completed".into());
                self.line(None, TraceKind::Completed, "completed".into());
                return;
            };
            let Some(step) = self.j.get(&id) else {
                run.status = RunStatus::Exited;
                run.exit_reason = Some(format!("step {:?} no longer exists", id.0));
                self.line(None, TraceKind::Exit, format!("exit: step {} not found", id.0));
                return;
            };
            run.node = Some(id.clone());
            self.visited.push(id.clone());
            if self.j.anchors.contains(&id) {
                run.reached.insert(id.clone(), self.now);
            }
            if run.goal_from.is_none() && self.j.goal.as_ref().and_then(|g| g.from.as_ref()) == Some(&id) {
                run.goal_from = Some(self.now);
            }
            match &step.kind {
                StepKind::Wait { until, next } => match self.wake_time(&id, run, until) {
                    Ok((at, shown)) if at > self.now => {
                        run.status = RunStatus::Waiting;
                        run.wake_at = Some(at);
                        self.line(Some(&id), TraceKind::Wait, format!("{id}: wait {shown}"));
                        return;
                    }
                    Ok((_, shown)) => {
                        let shown = shown.strip_prefix("until ").unwrap_or(&shown);
                        let text = format!("{id}: {shown} has passed, no wait -> {}", node_label(next));
                        self.line(Some(&id), TraceKind::Wait, text);
                        node = next.clone();
                    }
                    Err(why) => {
                        self.line(Some(&id), TraceKind::Wait, format!("{id}: {why}, no wait -> {}", node_label(next)));
                        node = next.clone();
                    }
                },
                StepKind::WaitFor { paths, timeout, .. } => {
                    run.status = RunStatus::Waiting;
                    run.wake_at = Some(self.now.plus(*timeout));
                    let names: Vec<_> = paths.iter().map(|p| p.on.event.as_str()).collect();
                    self.line(Some(&id), TraceKind::WaitFor, format!("{id}: wait_for {} (timeout {timeout})", names.join(" | ")));
                    return;
                }
                StepKind::Branch { cases, otherwise } => {
                    let mut taken = None;
                    for (i, (when, next)) in cases.iter().enumerate() {
                        let mut seen = Vec::new();
                        let ok = when.eval(&self.facts(Some(&run.trigger), Some(run)), &mut seen);
                        let text = format!("{id}: case {i} {ok}{}", bracket(&seen));
                        self.trace.push(TraceLine::new(Some(&id), TraceKind::Case, text).with_checks(seen));
                        if ok {
                            taken = Some(next.clone());
                            break;
                        }
                    }
                    node = match taken {
                        Some(next) => next,
                        None => {
                            self.line(Some(&id), TraceKind::Else, format!("{id}: else -> {}", node_label(otherwise)));
                            otherwise.clone()
                        }
                    };
                }
                StepKind::Split { paths } => {
                    let Some((chosen, total)) = choose(self.seed, &id, paths, |p| p.weight) else {
                        node = None;
                        continue;
                    };
                    run.assignments.insert(id.0.clone(), chosen.name.clone());
                    let text =
                        format!("{id}: split -> variant {} ({}/{total}) -> {}", chosen.name, chosen.weight, node_label(&chosen.next));
                    self.line(Some(&id), TraceKind::Split, text);
                    node = chosen.next.clone();
                }
                StepKind::Send { channel, content, next, on_unreachable, on_failure } => {
                    let (template, variant) = match content {
                        SendContent::Template(t) => (t, None),
                        SendContent::Variants(vs) => match choose(self.seed, &id, vs, |v| v.weight) {
                            Some((v, total)) => (&v.template, Some((v, total))),
                            None => {
                                node = next.clone();
                                continue;
                            }
                        },
                    };
                    if run.control {
                        self.line(Some(&id), TraceKind::Skipped, format!("{id}: control group, not sending {template}"));
                    } else if let Err(why) = channel.reach(&self.traits) {
                        let to = on_unreachable.as_ref().unwrap_or(next);
                        let text = format!("{id}: not sending {} {template}: unreachable ({why}) -> {}", channel.as_str(), node_label(to));
                        self.line(Some(&id), TraceKind::Skipped, text);
                        node = to.clone();
                        continue;
                    } else if let Some((quiet, until, zone)) = self.quiet_now(&id) {
                        let what = format!("{} {template}", channel.as_str());
                        match quiet.then {
                            Quiet::Hold => {
                                run.status = RunStatus::Waiting;
                                run.held = true;
                                run.wake_at = Some(until);
                                let text = format!("{id}: quiet hours ({quiet} {zone}): holding {what} until {until}");
                                self.line(Some(&id), TraceKind::Wait, text);
                                return;
                            }
                            Quiet::Skip => {
                                let text = format!("{id}: not sending {what}: quiet hours ({quiet} {zone}) -> {}", node_label(next));
                                self.line(Some(&id), TraceKind::Skipped, text);
                            }
                        }
                    } else {
                        if let Some((v, total)) = variant {
                            run.assignments.insert(id.0.clone(), v.name.clone());
                            self.line(Some(&id), TraceKind::Split, format!("{id}: variant {} ({}/{total})", v.name, v.weight));
                        }
                        let send = Effect::Send {
                            node: id.clone(),
                            channel: *channel,
                            template: template.clone(),
                            cap: self.j.cap,
                            outranked: None,
                        };
                        self.effects.push(send);
                        if on_failure.is_some() {
                            run.status = RunStatus::Waiting;
                            run.wake_at = Some(self.now.plus(OUTCOME_WAIT));
                            let text = format!("{id}: send {} {template}, waiting for its outcome", channel.as_str());
                            self.line(Some(&id), TraceKind::Send, text);
                            return;
                        }
                        self.line(Some(&id), TraceKind::Send, format!("{id}: send {} {template}", channel.as_str()));
                    }
                    node = next.clone();
                }
                StepKind::Update { update, run: vars, next } => {
                    if !update.is_empty() {
                        let scope = self.scope(run, None, &[&update.set]);
                        let update = TraitUpdate { set: self.render_map(&id, "trait", &update.set, &scope), ..update.clone() };
                        let changed = update.apply(self.traits.to_mut());
                        let shown: Vec<String> = changed.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                        let shown = if shown.is_empty() { "(no change)".to_owned() } else { shown.join(", ") };
                        self.line(Some(&id), TraceKind::Update, format!("{id}: update {shown}"));
                        self.effects.push(Effect::Update { node: id.clone(), update });
                    }
                    self.update_run(&id, run, vars, None);
                    node = next.clone();
                }
                StepKind::Webhook { url, method, body, save, next } => {
                    if run.control {
                        self.line(Some(&id), TraceKind::Skipped, format!("{id}: control group, not calling {url}"));
                    } else {
                        self.line(Some(&id), TraceKind::Webhook, format!("{id}: webhook {method} {url}"));
                        self.effects.push(Effect::Webhook {
                            node: id.clone(),
                            url: url.clone(),
                            method: method.clone(),
                            body: body.clone(),
                            save: save.clone(),
                        });
                    }
                    node = next.clone();
                }
                StepKind::Task { task, next } => {
                    let whose = match (&task.assignee, &task.team) {
                        (Some(a), _) => format!(" for {a}"),
                        (None, Some(t)) => format!(" for team {t}"),
                        (None, None) => String::new(),
                    };
                    if run.control {
                        self.line(Some(&id), TraceKind::Skipped, format!("{id}: control group, no task{whose}"));
                    } else {
                        let due = task.due.map(|d| format!(", due in {d}")).unwrap_or_default();
                        self.line(Some(&id), TraceKind::Send, format!("{id}: task{whose}{due}"));
                        let due_at = task.due.map(|d| self.now.plus(d));
                        self.effects.push(Effect::Task { node: id.clone(), task: task.clone(), due_at });
                    }
                    node = next.clone();
                }
                StepKind::Exit => {
                    run.status = RunStatus::Exited;
                    run.exit_reason = Some(format!("reached exit step {id}"));
                    self.line(Some(&id), TraceKind::Exit, format!("{id}: exit"));
                    return;
                }
            }
        }
        run.status = RunStatus::Exited;
        run.exit_reason = Some(format!("more than {MAX_HOPS} steps without waiting"));
        self.line(None, TraceKind::Exit, "exit: step limit".into());
    }

    fn finish(self, mut run: Run, entered: bool) -> Transition {
        if !entered {
            run.seq += 1;
        }
        run.updated_at = self.now;
        Transition { run, entered, effects: self.effects, trace: self.trace, visited: self.visited }
    }

    /// Does `input` start a run? Returns the trigger's name and properties, and the run key.
    fn entry(&mut self, input: Input<'_>) -> Option<(String, Map, Option<String>)> {
        let mut seen = Vec::new();
        let (name, props) = match (&self.j.entry.trigger, input) {
            (Trigger::Event(m), Input::Event(event)) => {
                if !matches(m, event, &self.facts(None, None), &mut seen) {
                    return None;
                }
                (event.match_name().to_owned(), event.match_properties().into_owned())
            }
            (Trigger::TraitChange { name, from, to }, Input::TraitChange { name: changed, from: was, to: now }) => {
                let same = |a: Option<&Value>, b: Option<&Value>| a.unwrap_or(&Value::Null) == b.unwrap_or(&Value::Null);
                if name != changed
                    || same(was, now)
                    || from.as_ref().is_some_and(|f| !same(Some(f), was))
                    || to.as_ref().is_some_and(|t| !same(Some(t), now))
                {
                    return None;
                }
                let mut props = Map::new();
                props.insert("trait".into(), Value::String(name.clone()));
                props.insert("from".into(), was.cloned().unwrap_or(Value::Null));
                props.insert("to".into(), now.cloned().unwrap_or(Value::Null));
                ("Trait Changed".to_owned(), props)
            }
            (Trigger::Api, Input::Api { payload }) => ("API Call".to_owned(), payload.clone()),
            (Trigger::Schedule { cron, audience, .. }, Input::Scheduled) => {
                if let Some(a) = audience
                    && !a.eval(&self.facts(None, None), &mut seen)
                {
                    return None;
                }
                let mut props = Map::new();
                props.insert("schedule".into(), Value::String(cron.to_string()));
                props.insert("scheduled_at".into(), Value::String(self.now.to_string()));
                ("Schedule".to_owned(), props)
            }
            (Trigger::Date { name, .. }, Input::Scheduled) => {
                let value = self.traits.get(name)?.clone();
                let mut props = Map::new();
                props.insert("trait".into(), Value::String(name.clone()));
                props.insert("date".into(), value);
                ("Date Reached".to_owned(), props)
            }
            _ => return None,
        };
        let key = self.j.input_key(input);
        if self.j.entry.key.is_some() && key.is_none() {
            return None;
        }
        if let Some(prev) = self.ctx.previous {
            let blocked = match self.j.entry.reentry {
                _ if prev.status == RunStatus::Waiting && !self.j.entry.concurrent => true,
                Reentry::Always => false,
                Reentry::Never => true,
                Reentry::After(d) => self.now.since(prev.entered_at) < d,
            };
            if blocked {
                return None;
            }
        }
        if self.j.entry.limit.is_some_and(|limit| self.ctx.entries >= limit) {
            return None;
        }
        let keyed = key.as_ref().map_or(String::new(), |k| format!(" (key {k})"));
        let text = format!("entered on {name}{keyed}{}", bracket(&seen));
        self.trace.push(TraceLine::new(None, TraceKind::Entered, text).with_checks(seen));
        Some((name, props, key))
    }
}

/// The pure core: given a journey, the person's run of it (if any), an input, what the
/// engine knows (`Context`) and the time, decide the next run state, the effects and the
/// trace. `seed` makes splits and the holdout deterministic per person and journey.
///
/// Returns `None` when the input does not concern this journey (no entry, nothing to do).
/// An event a waiting `wait_for` names but no path's filter lets through does concern it:
/// the transition changes only the trace (what each filter saw) and `seq`, not the step or
/// the timer.
pub fn step(
    j: &Journey,
    version: i64,
    run: Option<&Run>,
    input: Input<'_>,
    ctx: &Context<'_>,
    now: Timestamp,
    seed: u64,
) -> Option<Transition> {
    let mut s = Stepper::new(j, ctx, now, seed);
    match (run, input) {
        (Some(r), Input::Outcome { node, delivered, detail }) => {
            let mut run = r.clone();
            s.bind(&run);
            let awaited = r.status == RunStatus::Waiting && r.node.as_ref() == Some(node) && !r.held;
            let route = match j.get(node).map(|st| &st.kind) {
                Some(StepKind::Send { next, on_failure: Some(failed), .. }) if awaited => Some(if delivered { next } else { failed }),
                _ => None,
            };
            let status = if delivered { "delivered" } else { "failed" };
            match route {
                Some(to) => {
                    s.line(Some(node), TraceKind::Outcome, format!("{node}: message {status} ({detail}) -> {}", node_label(to)));
                    s.advance(&mut run, to.clone());
                }
                // The run has moved on, or ended: its trace still says what became of the message.
                None => s.line(Some(node), TraceKind::Outcome, format!("{node}: message {status} ({detail})")),
            }
            Some(s.finish(run, false))
        }
        (Some(r), _) if r.status == RunStatus::Exited => None,
        (None, Input::Timer | Input::Outcome { .. }) => None,
        (None, input) => {
            let (name, trigger, key) = s.entry(input)?;
            let mut run = Run {
                journey: j.id.clone(),
                version,
                status: RunStatus::Waiting,
                node: None,
                wake_at: None,
                exit_reason: None,
                entered_at: now,
                updated_at: now,
                seq: 1,
                trigger,
                trigger_event: name,
                control: false,
                converted_at: None,
                assignments: BTreeMap::new(),
                key,
                vars: Map::new(),
                goal_from: None,
                revenue: None,
                counts: BTreeMap::new(),
                reached: BTreeMap::new(),
                held: false,
            };
            s.bind(&run);
            if pick(seed, "holdout", 100) < u64::from(j.entry.holdout) {
                run.control = true;
                s.line(None, TraceKind::Control, format!("control group (holdout {}%): recorded, nothing is sent", j.entry.holdout));
            }
            let first = j.steps.first().map(|st| st.id.clone());
            s.advance(&mut run, first);
            Some(s.finish(run, true))
        }
        (Some(r), Input::Event(event)) => {
            let mut run = r.clone();
            s.bind(&run);
            let counted = s.count(&mut run, event);
            // The goal first: an exit event that is also the goal records the conversion.
            let mut converted = false;
            if let Some(goal) = &j.goal
                && run.converted_at.is_none()
                && goal_open(goal, &run, now)
                && matches(&goal.on, event, &s.facts(None, Some(&run)), &mut Vec::new())
            {
                run.converted_at = Some(now);
                run.revenue = event.properties.get("revenue").and_then(Value::as_f64);
                s.line(None, TraceKind::Goal, format!("goal reached: {}", goal.on.event));
                if goal.exit {
                    run.status = RunStatus::Exited;
                    run.wake_at = None;
                    run.exit_reason = Some(format!("goal reached: {}", goal.on.event));
                    return Some(s.finish(run, false));
                }
                converted = true;
            }
            for exit in &j.exits {
                if matches(exit, event, &s.facts(None, Some(&run)), &mut Vec::new()) {
                    run.status = RunStatus::Exited;
                    run.wake_at = None;
                    run.exit_reason = Some(format!("exit event {}", exit.event));
                    s.line(None, TraceKind::Exit, format!("exit on {}", exit.event));
                    return Some(s.finish(run, false));
                }
            }
            let waiting_for = run.node.as_ref().and_then(|n| j.get(n)).and_then(|st| match &st.kind {
                StepKind::WaitFor { paths, .. } => Some(paths),
                _ => None,
            });
            let path =
                waiting_for.and_then(|paths| paths.iter().find(|p| matches(&p.on, event, &s.facts(None, Some(&run)), &mut Vec::new())));
            match path {
                Some(p) => {
                    let node = run.node.clone().unwrap_or_else(|| NodeId(String::new()));
                    s.line(run.node.as_ref(), TraceKind::Got, format!("{node}: got {} -> {}", p.on.event, node_label(&p.next)));
                    s.update_run(&node, &mut run, &p.run, Some(&event.match_properties()));
                    s.advance(&mut run, p.next.clone());
                    Some(s.finish(run, false))
                }
                // An event a path waits for, that no path's filter lets through: the run stays
                // as it is (its timer too), and its trace says why. (Checked by name first:
                // most events are of no path's name, and cost nothing more here.)
                None if waiting_for.is_some_and(|paths| paths.iter().any(|p| p.on.event == event.match_name())) => {
                    let node = run.node.clone().unwrap_or_else(|| NodeId(String::new()));
                    let props = event.match_properties();
                    let facts = Facts { properties: Some(&props), ..s.facts(None, Some(&run)) };
                    // Every path of the event's name, with what its filter saw (the checks of
                    // all of them, in order, on the one line).
                    let mut checks = Vec::new();
                    let why: Vec<String> = waiting_for
                        .into_iter()
                        .flatten()
                        .filter(|p| p.on.event == event.match_name())
                        .map(|p| {
                            let mut seen = Vec::new();
                            if let Some(f) = &p.on.filter {
                                f.eval(&facts, &mut seen);
                            }
                            let shown = format!(" [{}]", crate::trace::join(&seen));
                            checks.extend(seen);
                            shown
                        })
                        .collect();
                    if !why.is_empty() {
                        let text = format!("{node}: ignored {}{}", event.match_name(), why.concat());
                        s.trace.push(TraceLine::new(run.node.as_ref(), TraceKind::Ignored, text).with_checks(checks));
                    }
                    (converted || counted || !why.is_empty()).then(|| s.finish(run, false))
                }
                None => (converted || counted).then(|| s.finish(run, false)),
            }
        }
        (Some(r), Input::Timer) => {
            r.wake_at.filter(|t| *t <= now)?;
            let mut run = r.clone();
            s.bind(&run);
            let node = run.node.clone()?;
            let next = match &j.get(&node)?.kind {
                StepKind::Send { .. } if run.held => {
                    run.held = false;
                    s.line(Some(&node), TraceKind::WaitOver, format!("{node}: quiet hours over"));
                    Some(node.clone())
                }
                StepKind::Wait { next, .. } => {
                    s.line(Some(&node), TraceKind::WaitOver, format!("{node}: wait over -> {}", node_label(next)));
                    next.clone()
                }
                StepKind::WaitFor { paths, timeout_next, .. } => {
                    let names: Vec<_> = paths.iter().map(|p| p.on.event.as_str()).collect();
                    let text = format!("{node}: wait_for {} timed out -> {}", names.join(" | "), node_label(timeout_next));
                    s.line(Some(&node), TraceKind::TimedOut, text);
                    timeout_next.clone()
                }
                StepKind::Send { next, on_failure: Some(_), .. } => {
                    let text = format!("{node}: no outcome for the message within {OUTCOME_WAIT} -> {}", node_label(next));
                    s.line(Some(&node), TraceKind::TimedOut, text);
                    next.clone()
                }
                _ => return None,
            };
            s.advance(&mut run, next);
            Some(s.finish(run, false))
        }
        (Some(_), Input::TraitChange { .. } | Input::Api { .. } | Input::Scheduled) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_cover_from_up_to_to_over_midnight_or_not() {
        let night = QuietHours { from: (21, 0), to: (8, 0), then: Quiet::Hold };
        let lunch = QuietHours { from: (12, 0), to: (13, 30), then: Quiet::Skip };
        for (t, at_night, at_lunch) in [
            ("20:59", false, false),
            ("21:00", true, false),
            ("23:59", true, false),
            ("00:00", true, false),
            ("07:59", true, false),
            ("08:00", false, false),
            ("11:59", false, false),
            ("12:00", false, true),
            ("13:29", false, true),
            ("13:30", false, false),
        ] {
            assert_eq!((night.covers(t), lunch.covers(t)), (at_night, at_lunch), "{t}");
        }
        assert_eq!((night.to_string(), lunch.to_string()), ("21:00-08:00".to_owned(), "12:00-13:30".to_owned()));
    }

    #[test]
    fn a_task_step_and_a_priority_are_read_and_checked() {
        let doc = |task: serde_json::Value, priority: serde_json::Value| {
            let mut step = serde_json::json!({"id": "call", "type": "task", "title": "Call {{ traits.name }}"});
            if let (Some(s), Some(extra)) = (step.as_object_mut(), task.as_object()) {
                s.extend(extra.clone());
            }
            serde_json::json!({"id": "j", "entry": {"event": "E"}, "priority": priority, "steps": [step]})
        };
        let problems = |task: serde_json::Value, priority: serde_json::Value| -> Vec<String> {
            Journey::parse(&doc(task, priority)).err().unwrap_or_default().iter().map(|d| format!("{} {}", d.path, d.code)).collect()
        };
        let j =
            Journey::parse(&doc(serde_json::json!({"body": " Hi ", "team": "sales", "due": "2d"}), serde_json::json!(7))).expect("valid");
        let spec = TaskSpec {
            title: "Call {{ traits.name }}".into(),
            body: "Hi".into(),
            assignee: None,
            team: Some("sales".into()),
            due: Some(Duration::days(2)),
        };
        assert_eq!((j.steps[0].kind.clone(), j.priority), (StepKind::Task { task: spec, next: None }, 7));
        let plain = Journey::parse(&doc(serde_json::json!({}), serde_json::Value::Null)).expect("valid");
        assert_eq!(plain.priority, 0, "0 by default");
        for bad in [serde_json::json!(""), serde_json::json!("  "), serde_json::json!(3)] {
            assert_eq!(
                problems(serde_json::json!({"assignee": bad}), serde_json::Value::Null),
                ["/steps/0/assignee invalid_field"],
                "{bad}"
            );
        }
        assert_eq!(problems(serde_json::json!({"due": "soon"}), serde_json::Value::Null), ["/steps/0/due invalid_duration"]);
        assert_eq!(problems(serde_json::json!({"title": ""}), serde_json::Value::Null), ["/steps/0/title missing_field"]);
        for bad in [serde_json::json!(1001), serde_json::json!(-1001), serde_json::json!("high"), serde_json::json!(1.5)] {
            assert_eq!(problems(serde_json::json!({}), bad.clone()), ["/priority invalid_field"], "{bad}");
        }
        assert_eq!(Journey::parse(&doc(serde_json::json!({}), serde_json::json!(-1000))).map(|j| j.priority), Ok(-1000));
    }

    #[test]
    fn quiet_hours_and_a_cap_are_read_and_checked() {
        let doc = |extra: serde_json::Value| {
            let mut d = serde_json::json!({"id": "j", "entry": {"event": "E"}, "steps": [{"id": "s", "type": "send", "template": "t"}]});
            if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
                d.extend(extra.clone());
            }
            d
        };
        let j = Journey::parse(&doc(serde_json::json!({"quiet_hours": {"from": "22:30", "to": "07:05", "then": "skip"},
            "cap": {"max": 2, "within": "7d"}})))
        .expect("valid");
        assert_eq!(j.quiet_hours, Some(QuietHours { from: (22, 30), to: (7, 5), then: Quiet::Skip }));
        assert_eq!(j.cap, Some(JourneyCap { max: 2, within: Duration::days(7) }));
        let held = Journey::parse(&doc(serde_json::json!({"quiet_hours": {"from": "22:00", "to": "07:00"}}))).expect("valid");
        assert_eq!(held.quiet_hours.map(|q| q.then), Some(Quiet::Hold), "hold by default");
        let problems = |extra: serde_json::Value| -> Vec<String> {
            Journey::parse(&doc(extra)).err().unwrap_or_default().iter().map(|d| format!("{} {}", d.path, d.code)).collect()
        };
        for bad in ["24:00", "12:60", "7:00", "07:00:00", "-1:00", ""] {
            assert_eq!(
                problems(serde_json::json!({"quiet_hours": {"from": bad, "to": "08:00"}})),
                ["/quiet_hours/from invalid_field"],
                "{bad:?}"
            );
        }
        assert_eq!(problems(serde_json::json!({"quiet_hours": {"from": "08:00", "to": "08:00"}})), ["/quiet_hours/to invalid_field"]);
        assert_eq!(
            problems(serde_json::json!({"quiet_hours": {"from": "21:00", "to": "08:00", "then": "later"}})),
            ["/quiet_hours/then invalid_field"]
        );
        for bad in [serde_json::json!(0), serde_json::json!(-1), serde_json::json!("3"), serde_json::json!(1.5)] {
            assert_eq!(problems(serde_json::json!({"cap": {"max": bad, "within": "1d"}})), ["/cap/max invalid_field"], "{bad}");
        }
        assert_eq!(problems(serde_json::json!({"cap": {"max": 1, "within": "soon"}})), ["/cap/within invalid_duration"]);
        assert_eq!(Journey::parse(&doc(serde_json::json!({"cap": {"max": 1, "within": "1h"}}))).map(|j| j.cap.map(|c| c.max)), Ok(Some(1)));
    }

    #[test]
    fn phone_numbers_are_taken_in_international_form_only() {
        assert_eq!(phone_number(" +1 (415) 555-0100 ").as_deref(), Some("+14155550100"));
        assert_eq!(phone_number("+44.20.7946.0958").as_deref(), Some("+442079460958"));
        assert_eq!(phone_number("+1234567").as_deref(), None, "7 digits: too short");
        assert_eq!(phone_number("+12345678").as_deref(), Some("+12345678"), "8 digits: the shortest");
        assert_eq!(phone_number("+123456789012345").as_deref(), Some("+123456789012345"), "15: the longest");
        assert_eq!(phone_number("+1234567890123456"), None, "16 digits");
        for bad in ["4155550100", "+0 415 555 0100", "+1 415 555 0100 ext 2", "+", "", "++14155550100"] {
            assert_eq!(phone_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn each_channel_reaches_people_at_its_own_trait() {
        let traits = |v: Value| v.as_object().cloned().unwrap_or_default();
        let both = traits(serde_json::json!({"email": "a@x.test", "phone": "+1 415 555 0100"}));
        assert_eq!(Channel::Email.reach(&both), Ok(()));
        assert_eq!(Channel::Sms.reach(&both), Ok(()));
        assert_eq!(Channel::Sms.address(&both).as_deref(), Some("+14155550100"));
        assert_eq!(Channel::Email.address(&both).as_deref(), Some("a@x.test"));
        let neither = traits(serde_json::json!({"email": "nobody", "phone": " "}));
        assert_eq!(Channel::Email.reach(&neither), Err("email trait \"nobody\" is not an address".into()));
        assert_eq!(Channel::Sms.reach(&neither), Err("no phone trait".into()));
        assert_eq!(Channel::Sms.address(&neither), None);
        assert_eq!(Channel::Sms.reach(&traits(serde_json::json!({"phone": 14155550100_i64}))), Err("no phone trait".into()));
        let devices = traits(serde_json::json!({"push_tokens": ["tok-a"]}));
        assert_eq!(Channel::Push.reach(&devices), Ok(()));
        assert_eq!(Channel::Push.address(&devices), None, "push goes to the devices as they are when sent");
        let none = Err("no push device (no device token in push_tokens)".to_owned());
        assert_eq!(Channel::Push.reach(&traits(serde_json::json!({"push_tokens": []}))), none);
        assert_eq!(Channel::Push.reach(&both), none);
        assert_eq!(Channel::InApp.reach(&neither), Ok(()), "an in-app message waits for the person's next visit");
        assert_eq!(Channel::InApp.address(&both), None);
        assert_eq!(Channel::ALL.map(|c| Channel::parse(c.as_str())), Channel::ALL.map(Some));
        assert_eq!(Channel::parse("fax"), None);
    }
}
