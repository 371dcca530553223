//! The admin API's wire types: every request and answer body of `/api/*`, as structs. The
//! OpenAPI document (`/api/openapi.json`, `openapi::document`) is generated from them, the
//! web interface's TypeScript types are generated from that document, and the CLI reads
//! answers into the same structs. Times are RFC 3339 strings; ids are numbers or slugs, as
//! in the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Every error answer: a stable `code` from one table (see docs/API.md), a sentence, and
/// for some codes `details` (e.g. `{"diagnostics": [...]}` for `journey_invalid`).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<Value>,
}

/// A page of a list: pass `cursor` (the previous page's `next_cursor`) to get the next one.
#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From the previous page's `next_cursor`.
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
    /// 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A page of a list of things named by slugs (journeys, templates, sources), by id in byte
/// order: pass `cursor` (the previous page's `next_cursor`) to get the next one.
#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
pub struct SlugPageQuery {
    /// From the previous page's `next_cursor` (opaque).
    #[param(pattern = "^[a-z0-9_-]{0,100}$")]
    pub cursor: Option<String>,
    /// 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

// ---- sources ----

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    /// 1-100 characters of a-z, 0-9, - and _.
    #[schema(pattern = "^[a-z0-9_-]{1,100}$")]
    pub id: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SourceView {
    pub id: String,
    /// The HTTP Basic user name of the Segment tracking API (`/v1/*`).
    pub write_key: String,
    pub created_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SourceList {
    /// By id (byte order).
    pub sources: Vec<SourceView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

// ---- templates ----

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TemplateBody {
    /// Liquid: an email's subject.
    #[serde(default)]
    pub subject: String,
    /// Liquid; `html`, `text` or both, for email.
    #[serde(default)]
    pub html: String,
    #[serde(default)]
    pub text: String,
    /// Marketing (the default) is never sent to a person who unsubscribed; transactional is.
    #[serde(default)]
    pub category: Category,
    /// Liquid: the text of an SMS, for send steps with `"channel": "sms"`. A template has
    /// email content (`html` or `text`), SMS text, a push notification, or several.
    #[serde(default)]
    pub sms: String,
    /// A push notification, for send steps with `"channel": "push"`.
    #[serde(default)]
    pub push: PushContent,
    /// An in-app message, for send steps with `"channel": "in_app"`.
    #[serde(default)]
    pub in_app: InAppContent,
    /// Translations by locale (`fr`, `pt-BR`; kept in lower case): a person whose `locale`
    /// trait is that locale, or a locale of that language, gets them; an empty part is the
    /// template's own.
    #[serde(default)]
    pub locales: BTreeMap<String, Translation>,
}

/// A template's parts in one locale (each Liquid); an empty one is the template's own. An
/// in-app message's `placement` and `layout` are always the template's.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub html: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub sms: String,
    #[serde(default)]
    pub push: PushContent,
    #[serde(default)]
    pub in_app: InAppContent,
}

impl From<store::Translation> for Translation {
    fn from(t: store::Translation) -> Self {
        Translation { subject: t.subject, html: t.html, text: t.text, sms: t.sms, push: t.push.into(), in_app: t.in_app.into() }
    }
}

impl From<Translation> for store::Translation {
    fn from(t: Translation) -> Self {
        store::Translation { subject: t.subject, html: t.html, text: t.text, sms: t.sms, push: t.push.into(), in_app: t.in_app.into() }
    }
}

/// An in-app message: a banner or a modal shown on the website or in the app the next time the
/// person is there (`/v1/decide`, the live stream, the served script `/in-app.js`). Text parts
/// are Liquid (plain text, never HTML); a message has a title, a body or both.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InAppContent {
    /// The place in the website or app it is for (`/v1/decide?placement=home`); empty: any.
    #[serde(default)]
    pub placement: String,
    #[serde(default)]
    pub layout: InAppLayout,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// The button's label ("Open" when empty and there is a link).
    #[serde(default)]
    pub button: String,
    /// Where the button leads (an https URL or an app's deep link).
    #[serde(default)]
    pub link: String,
    /// An image shown in the message (https).
    #[serde(default)]
    pub image: String,
}

/// `banner`: a strip across the top of the page (or inside the placement's element);
/// `modal`: a dialog over the page.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InAppLayout {
    #[default]
    Banner,
    Modal,
}

impl From<store::InAppContent> for InAppContent {
    fn from(c: store::InAppContent) -> Self {
        let layout = match c.layout {
            store::InAppLayout::Banner => InAppLayout::Banner,
            store::InAppLayout::Modal => InAppLayout::Modal,
        };
        InAppContent { placement: c.placement, layout, title: c.title, body: c.body, button: c.button, link: c.link, image: c.image }
    }
}

impl From<InAppContent> for store::InAppContent {
    fn from(c: InAppContent) -> Self {
        let layout = match c.layout {
            InAppLayout::Banner => store::InAppLayout::Banner,
            InAppLayout::Modal => store::InAppLayout::Modal,
        };
        store::InAppContent { placement: c.placement, layout, title: c.title, body: c.body, button: c.button, link: c.link, image: c.image }
    }
}

/// A push notification's parts, each Liquid (plain text, never escaped); a notification has a
/// title, a body or both.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PushContent {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// Opened when the notification is tapped (an https URL or an app's deep link).
    #[serde(default)]
    pub link: String,
    /// An image shown in the notification (https).
    #[serde(default)]
    pub image: String,
}

impl From<store::PushContent> for PushContent {
    fn from(p: store::PushContent) -> Self {
        PushContent { title: p.title, body: p.body, link: p.link, image: p.image }
    }
}

impl From<PushContent> for store::PushContent {
    fn from(p: PushContent) -> Self {
        store::PushContent { title: p.title, body: p.body, link: p.link, image: p.image }
    }
}

/// What kind of message a template is, for consent.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    #[default]
    Marketing,
    Transactional,
}

impl From<store::Category> for Category {
    fn from(c: store::Category) -> Category {
        match c {
            store::Category::Marketing => Category::Marketing,
            store::Category::Transactional => Category::Transactional,
        }
    }
}

impl From<Category> for store::Category {
    fn from(c: Category) -> store::Category {
        match c {
            Category::Marketing => store::Category::Marketing,
            Category::Transactional => store::Category::Transactional,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TemplateView {
    pub id: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub category: Category,
    pub sms: String,
    pub push: PushContent,
    pub in_app: InAppContent,
    pub locales: BTreeMap<String, Translation>,
    pub updated_at: String,
}

/// The `details` of a `template_invalid` error: each part's problem.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TemplateProblems {
    pub problems: Vec<TemplateProblem>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TemplateProblem {
    /// `subject`, `html` or `text`.
    pub part: String,
    pub message: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TemplateList {
    /// By id (byte order).
    pub templates: Vec<TemplateView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// Renders a template (saved or not) the way a send would, for one person.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub template: TemplateBody,
    /// Whose traits the template sees; nobody's (no traits) when absent.
    pub profile_id: Option<i64>,
    /// What the template sees as `event` (and `event_name`); by default the person's latest
    /// `track` event.
    #[schema(value_type = Option<BTreeMap<String, Value>>)]
    pub event: Option<domain::Map>,
    pub event_name: Option<String>,
    /// What it sees as `run` (run variables); empty by default.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Value>)]
    pub run: domain::Map,
    /// Renders the translation this locale gets; by default the person's `locale` trait's.
    pub locale: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct PushPreview {
    pub title: PreviewPart,
    pub body: PreviewPart,
    pub link: PreviewPart,
    pub image: PreviewPart,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct InAppPreview {
    pub title: PreviewPart,
    pub body: PreviewPart,
    pub button: PreviewPart,
    pub link: PreviewPart,
    pub image: PreviewPart,
}

/// One part of a rendered template: its text, or why it does not render.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct PreviewPart {
    pub rendered: Option<String>,
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Preview {
    pub subject: PreviewPart,
    /// HTML-escaped as sent (outputs ending in `| raw` excepted).
    pub html: PreviewPart,
    pub text: PreviewPart,
    pub sms: PreviewPart,
    /// How many parts the rendered SMS is sent (and billed) as: 160 characters in one part
    /// and 153 per part beyond, or 70 and 67 when it has a character outside the GSM set.
    pub sms_segments: usize,
    /// The push notification's parts, each rendered.
    pub push: PushPreview,
    /// The in-app message's text parts, each rendered.
    pub in_app: InAppPreview,
    /// The translation rendered (a key of the template's `locales`); absent: the template's own.
    pub locale: Option<String>,
    /// What the template saw: `traits`, `event`, `event_name`, `journey`, `profile_id`, `run`.
    #[schema(value_type = BTreeMap<String, Value>)]
    pub context: domain::Map,
}

/// The event and trait names and the event property paths the data has had (what conditions
/// can usefully name).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Names {
    /// Event names as journeys match them (`Page Viewed` for page calls), sorted.
    pub events: Vec<String>,
    /// Trait names, sorted.
    pub traits: Vec<String>,
    /// The property paths each event name has shown, sorted, by event name: top-level keys
    /// and nested object keys as dotted paths, as conditions read them
    /// (`{"Order Completed": ["cart", "cart.total", "total"]}`). Arrays are not descended; at
    /// most 3 keys deep and 200 paths per event name (the first ones seen). An event name whose
    /// events never had a property is absent.
    pub properties: BTreeMap<String, Vec<String>>,
    /// The variables templates have.
    pub template_variables: Vec<String>,
}

// ---- journeys ----

/// A journey document (docs/JOURNEYS.md): what `wayfarer journeys apply` reads from a file
/// and the canvas edits. Checked by the server, which answers every problem at once as
/// diagnostics. Always a JSON object; a valid one has the shape of `Journey`.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq)]
#[serde(transparent)]
#[schema(value_type = BTreeMap<String, Value>)]
pub struct JourneyDocument(pub Value);

impl<'de> Deserialize<'de> for JourneyDocument {
    /// Only an object is a document: anything else is refused before it is looked at.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<JourneyDocument, D::Error> {
        domain::Map::deserialize(d).map(|m| JourneyDocument(Value::Object(m)))
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the journey from being published.
    Error,
    /// Shown; does not stop publishing (e.g. a name no data has had yet).
    Warning,
}

/// A problem in a journey document, tied to a step (`node`) where there is one.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub node: Option<String>,
    /// JSON pointer into the document.
    pub path: String,
    pub code: String,
    pub severity: Severity,
    pub message: String,
}

impl From<domain::journey::Diagnostic> for Diagnostic {
    fn from(d: domain::journey::Diagnostic) -> Diagnostic {
        let severity = match d.severity {
            domain::journey::Severity::Error => Severity::Error,
            domain::journey::Severity::Warning => Severity::Warning,
        };
        Diagnostic { node: d.node, path: d.path, code: d.code, severity, message: d.message }
    }
}

pub fn diagnostics(all: Vec<domain::journey::Diagnostic>) -> Vec<Diagnostic> {
    all.into_iter().map(Diagnostic::from).collect()
}

/// The `details` of a `journey_invalid` error.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct DiagnosticsDetails {
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Validation {
    /// No errors (warnings allowed).
    pub valid: bool,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JourneyStatus {
    /// Never published.
    Draft,
    Published,
}

/// A live journey's state.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JourneyState {
    Active,
    /// No new entries; runs in flight go on.
    Paused,
    /// No new entries; waiting runs exited.
    Stopped,
}

impl From<store::JourneyState> for JourneyState {
    fn from(s: store::JourneyState) -> JourneyState {
        match s {
            store::JourneyState::Active => JourneyState::Active,
            store::JourneyState::Paused => JourneyState::Paused,
            store::JourneyState::Stopped => JourneyState::Stopped,
        }
    }
}

impl From<store::JourneyStatus> for JourneyStatus {
    fn from(s: store::JourneyStatus) -> JourneyStatus {
        match s {
            store::JourneyStatus::Draft => JourneyStatus::Draft,
            store::JourneyStatus::Published => JourneyStatus::Published,
        }
    }
}

/// The answer to saving a draft (`POST /api/journeys`, `PUT /api/journeys/{id}`).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct DraftSaved {
    /// Always `draft`: saving never publishes.
    pub status: JourneyStatus,
    pub valid: bool,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct PublishedVersion {
    pub version: i64,
    pub document: JourneyDocument,
    pub published_at: String,
}

/// A journey's published versions, newest first.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct VersionList {
    pub versions: Vec<PublishedVersion>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct JourneyView {
    pub id: String,
    pub status: JourneyStatus,
    pub state: JourneyState,
    pub published_version: Option<i64>,
    /// The draft: what the next publish makes live (equal to the published document right
    /// after a publish).
    pub draft: JourneyDocument,
    pub published: Option<PublishedVersion>,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct JourneySummary {
    pub id: String,
    /// The draft's `name`, else the id.
    pub name: String,
    pub status: JourneyStatus,
    pub state: JourneyState,
    pub published_version: Option<i64>,
    pub updated_at: String,
    /// Runs waiting in it now.
    pub waiting: i64,
    /// Runs that entered it in the last 7 days (control group included).
    pub entered_7d: i64,
    /// Runs that reached its goal in the last 7 days (control group included).
    pub converted_7d: i64,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct CountsQuery {
    /// RFC 3339; the counts are of the whole hours that start in `[from, to)`. Both or
    /// neither: the last 7 days (168 hours, the current one included) by default.
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// What runs did at one node of a journey (a step, or `$entry` and `$control`).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeCount {
    /// Runs that reached it (a step reached twice by one run counts twice).
    pub entered: i64,
    /// Runs that went on from it to another step.
    pub passed: i64,
    /// Runs that ended at it.
    pub exited: i64,
    /// Runs that reached the goal while at it.
    pub converted: i64,
    /// Runs waiting at it now (not a count over the period).
    pub waiting: i64,
}

/// A journey's counts per node over a period: `$entry` is the entry (entered: runs started;
/// passed: went on to the first step), `$control` the control group (holdout: entered,
/// exited, converted), every other key a step id. Nodes with nothing counted are absent.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct JourneyCounts {
    pub journey: String,
    pub from: String,
    pub to: String,
    pub nodes: BTreeMap<String, NodeCount>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct JourneyList {
    /// By id (byte order).
    pub journeys: Vec<JourneySummary>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// What happens to runs in flight when a new version is published.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum InFlight {
    /// They finish on the version they started on.
    #[default]
    Stay,
    /// They continue on the new version, at the same step.
    Move,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    #[serde(default)]
    pub in_flight: Option<InFlight>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Published {
    pub status: JourneyStatus,
    pub version: i64,
    pub moved_runs: usize,
    /// Warnings (errors refuse the publish).
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub document: JourneyDocument,
    #[serde(default)]
    pub in_flight: Option<InFlight>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStatus {
    /// The document was saved as the draft and published as `version`.
    Published,
    /// The document equals the published `version`: nothing changed.
    Unchanged,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ApplyResponse {
    pub status: ApplyStatus,
    pub version: i64,
    pub moved_runs: usize,
    /// Warnings (errors refuse the document).
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default)]
pub struct StopRequest {
    /// Recorded in each stopped run's exit reason.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct StateChanged {
    pub state: JourneyState,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Stopped {
    pub state: JourneyState,
    /// Waiting runs that exited.
    pub stopped_runs: usize,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// At a step, waiting for time or an event.
    Waiting,
    /// Ended (see `exit_reason`).
    Exited,
}

impl From<domain::journey::RunStatus> for RunStatus {
    fn from(s: domain::journey::RunStatus) -> RunStatus {
        match s {
            domain::journey::RunStatus::Waiting => RunStatus::Waiting,
            domain::journey::RunStatus::Exited => RunStatus::Exited,
        }
    }
}

/// A run in a journey's list of runs.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct RunSummary {
    pub run_id: i64,
    pub profile_id: i64,
    pub version: i64,
    pub status: RunStatus,
    /// The step it is at (or ended at).
    pub node: Option<String>,
    pub wake_at: Option<String>,
    pub exit_reason: Option<String>,
    pub control_group: bool,
    pub converted_at: Option<String>,
    /// The goal event's `revenue`, when it had one.
    pub revenue: Option<f64>,
    /// Split (or send) step id → the variant this run got.
    pub assignments: BTreeMap<String, String>,
    pub entered_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct RunsPage {
    /// Oldest first.
    pub runs: Vec<RunSummary>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// One transition of a run: when, and what happened, line by line.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TraceEntry {
    pub seq: i64,
    pub at: String,
    /// The lines as text (each `steps[i].text`).
    pub lines: Vec<String>,
    /// The same lines as data, in the same order: the steps they are about (in order, the
    /// path the run took), what each is, and a decision's comparisons with the values seen.
    pub steps: Vec<TraceStep>,
}

/// One line of a transition's trace, as data.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct TraceStep {
    /// The step (node id) the line is about; null for lines about the whole run (entry, the
    /// control group, the goal, exit events, `completed`, a missing step, the step limit, the
    /// journey stopped, a merge, a move to another version) and for lines stored as text
    /// alone (kind `text`).
    pub node: Option<String>,
    pub kind: TraceKind,
    /// The line as it reads (the same as `lines`).
    pub text: String,
    /// The comparisons behind the line, in the order they were made: an entry's filter or
    /// audience (`entered`), a branch case (`case`), the filters of a `wait_for` that let an
    /// event through no path (`ignored`). Empty for other lines.
    pub checks: Vec<Check>,
}

/// What a trace line is about.
///
/// `entered`: the run started. `control`: it was put in the control group. `counted`: an
/// event counted in the run's own history. `goal`: the goal was reached. `exit`: the run
/// ended (an exit step, an exit event, a missing step, the step limit, the journey stopped,
/// a merge). `completed`: it ended at the end of a path. `wait`: a `wait` step (waiting, or
/// not: its time passed). `wait_over`: a wait's time came. `wait_for`: waiting for events.
/// `got`: a `wait_for` got one. `ignored`: an event no path's filter let through.
/// `timed_out`: a `wait_for` timed out, or a send's outcome never came. `case`: a branch
/// case. `else`: no case held. `split`: a variant was chosen. `send`: a message was decided.
/// `skipped`: a send or webhook not made (control group, unreachable). `outcome`: what
/// became of a message. `update`: traits changed. `run`: run variables changed. `webhook`:
/// a call was decided. `zone`: the journey's zone stood in for a `timezone` trait that is
/// not one. `moved`: the run moved to another version. `text`: a line stored before lines
/// were structured: only its text is known.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    Entered,
    Control,
    Counted,
    Goal,
    Exit,
    Completed,
    Wait,
    WaitOver,
    WaitFor,
    Got,
    Ignored,
    TimedOut,
    Case,
    Else,
    Split,
    Send,
    Skipped,
    Outcome,
    Update,
    Run,
    Webhook,
    Zone,
    Moved,
    Text,
}

impl From<domain::trace::TraceKind> for TraceKind {
    fn from(k: domain::trace::TraceKind) -> TraceKind {
        use domain::trace::TraceKind as D;
        match k {
            D::Entered => TraceKind::Entered,
            D::Control => TraceKind::Control,
            D::Counted => TraceKind::Counted,
            D::Goal => TraceKind::Goal,
            D::Exit => TraceKind::Exit,
            D::Completed => TraceKind::Completed,
            D::Wait => TraceKind::Wait,
            D::WaitOver => TraceKind::WaitOver,
            D::WaitFor => TraceKind::WaitFor,
            D::Got => TraceKind::Got,
            D::Ignored => TraceKind::Ignored,
            D::TimedOut => TraceKind::TimedOut,
            D::Case => TraceKind::Case,
            D::Else => TraceKind::Else,
            D::Split => TraceKind::Split,
            D::Send => TraceKind::Send,
            D::Skipped => TraceKind::Skipped,
            D::Outcome => TraceKind::Outcome,
            D::Update => TraceKind::Update,
            D::Run => TraceKind::Run,
            D::Webhook => TraceKind::Webhook,
            D::Zone => TraceKind::Zone,
            D::Moved => TraceKind::Moved,
            D::Text => TraceKind::Text,
        }
    }
}

/// One comparison a condition made, with the value it saw.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct Check {
    /// What was read: `trait plan`, `property path`, `run.items`, a history aggregate
    /// (`count("Page Viewed" in 7d)`), `time_of_day (Europe/Paris)`, `reachable by email`.
    pub subject: String,
    /// The value seen; null when absent (conditions treat a null value as absent; `text`
    /// tells them apart). For `reachable`, the channel's address trait (`email`).
    pub seen: Option<Value>,
    /// `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `contains`, `starts_with`, `ends_with`, `in`,
    /// `exists`, `not_exists`; `reachable` for reachability.
    pub op: String,
    /// What it was compared with: the journey's value, or what `reference` read; null when
    /// the operator takes none (`exists`) or the reference read nothing.
    pub expected: Option<Value>,
    /// The reference compared with (`event.cart_id`), for comparisons with a `ref`.
    pub reference: Option<String>,
    pub result: bool,
    /// Why, where the values do not say (`no email trait`).
    pub note: Option<String>,
    /// The comparison as the trace line shows it (`trait plan = "free" eq "pro" -> false`).
    pub text: String,
}

impl From<domain::trace::TraceLine> for TraceStep {
    fn from(l: domain::trace::TraceLine) -> TraceStep {
        let checks = l
            .checks
            .into_iter()
            .map(|c| Check {
                text: c.to_string(),
                subject: c.subject,
                seen: c.seen,
                op: c.op,
                expected: c.expected,
                reference: c.reference,
                result: c.result,
                note: c.note,
            })
            .collect();
        TraceStep { node: l.node.map(|n| n.0), kind: l.kind.into(), text: l.text, checks }
    }
}

/// A run with its position, its variables and its full trace.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct RunView {
    pub run_id: i64,
    pub journey: String,
    pub version: i64,
    pub status: RunStatus,
    pub node: Option<String>,
    pub wake_at: Option<String>,
    pub exit_reason: Option<String>,
    pub entered_at: String,
    pub updated_at: String,
    pub trace: Vec<TraceEntry>,
    pub control_group: bool,
    pub converted_at: Option<String>,
    /// The goal event's `revenue`, when it had one.
    pub revenue: Option<f64>,
    /// Split step id → the path this run took.
    pub assignments: BTreeMap<String, String>,
    /// Keyed journeys: the entry event's key property.
    pub key: Option<String>,
    /// Run variables (`update` steps' `run`, `wait_for` paths' `run`).
    #[schema(value_type = BTreeMap<String, Value>)]
    pub variables: domain::Map,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct EnterRequest {
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// What templates see as `event`.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Value>)]
    pub payload: domain::Map,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Entered {
    pub entered: bool,
    /// Why not, when not.
    pub note: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    pub document: JourneyDocument,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
}

/// What `POST /api/journeys/backtest` answers.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct BacktestResponse {
    pub from: String,
    pub to: String,
    /// Events received in `[from, to]`, all people.
    pub events: usize,
    /// Events received before `from`, replayed first so that profiles and history are as they
    /// were when the period began.
    pub warmup_events: usize,
    /// Runs entered in the period.
    pub runs: usize,
    pub control_group: usize,
    pub conversions: usize,
    /// How many times runs reached each step.
    pub visits: BTreeMap<String, usize>,
    /// Runs still waiting at `to`, by step.
    pub waiting: BTreeMap<String, usize>,
    /// Messages decided, by template (emails) or URL (webhooks).
    pub sends: BTreeMap<String, usize>,
    /// Messages that failed or would fail (a backtest dispatches them without sending), by reason.
    pub failed: BTreeMap<String, usize>,
    /// Ended runs, by reason.
    pub exits: BTreeMap<String, usize>,
    /// The period's entry events and why some started no run; `null` for a journey not
    /// entered by an event.
    pub entries: Option<BacktestEntries>,
    pub samples: Vec<BacktestSample>,
}

/// The entry events of a backtest's period (events with the entry's name).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct BacktestEntries {
    pub events: usize,
    pub entered: usize,
    /// The entry filter was false.
    pub filtered: usize,
    /// The commonest comparisons that made the filter false, with the values seen.
    pub filter_reasons: Vec<FilterReason>,
    /// The person's run was waiting (the entry is not concurrent).
    pub waiting: usize,
    /// The re-entry rule said no.
    pub reentry: usize,
    /// The entry limit was reached.
    pub limit: usize,
    pub unexplained: usize,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct FilterReason {
    pub comparison: String,
    pub count: usize,
}

/// One person's runs, transition by transition.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct BacktestSample {
    pub person: String,
    pub path: Vec<String>,
}

// ---- profiles ----

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct ProfilesQuery {
    /// The start of any identity (a user id, an anonymous id); everyone when absent.
    pub q: Option<String>,
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    UserId,
    AnonymousId,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct IdentityView {
    pub kind: IdentityKind,
    pub value: String,
}

impl From<&domain::ids::Identity> for IdentityView {
    fn from(i: &domain::ids::Identity) -> IdentityView {
        match i {
            domain::ids::Identity::UserId(v) => IdentityView { kind: IdentityKind::UserId, value: v.clone() },
            domain::ids::Identity::AnonymousId(v) => IdentityView { kind: IdentityKind::AnonymousId, value: v.clone() },
        }
    }
}

/// A person in a list: id, identities and traits.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ProfileSummary {
    pub id: i64,
    pub identities: Vec<IdentityView>,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub traits: domain::Map,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ProfilesPage {
    /// By id.
    pub profiles: Vec<ProfileSummary>,
    pub next_cursor: Option<String>,
}

/// An event on a person's timeline.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct EventView {
    pub seq: i64,
    pub source: String,
    /// `track`, `identify`, `page`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// What journeys match on: the event name of a track, `Page Viewed` for a page, ...
    pub name: String,
    pub message_id: String,
    pub timestamp: String,
    pub received_at: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub properties: domain::Map,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub traits: domain::Map,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Pending,
    Sent,
    /// No channel is configured: rendered and kept, not delivered.
    Captured,
    Failed,
    /// Not sent: a control said no (consent); `last_error` says why.
    Suppressed,
}

impl From<store::OutboxStatus> for MessageStatus {
    fn from(s: store::OutboxStatus) -> MessageStatus {
        match s {
            store::OutboxStatus::Pending => MessageStatus::Pending,
            store::OutboxStatus::Sent => MessageStatus::Sent,
            store::OutboxStatus::Captured => MessageStatus::Captured,
            store::OutboxStatus::Suppressed => MessageStatus::Suppressed,
            store::OutboxStatus::Failed => MessageStatus::Failed,
        }
    }
}

impl From<MessageStatus> for store::OutboxStatus {
    fn from(s: MessageStatus) -> store::OutboxStatus {
        match s {
            MessageStatus::Pending => store::OutboxStatus::Pending,
            MessageStatus::Sent => store::OutboxStatus::Sent,
            MessageStatus::Captured => store::OutboxStatus::Captured,
            MessageStatus::Suppressed => store::OutboxStatus::Suppressed,
            MessageStatus::Failed => store::OutboxStatus::Failed,
        }
    }
}

/// A message a journey decided to send (email or webhook), and what became of it.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct MessageView {
    pub id: i64,
    pub idempotency_key: String,
    pub profile_id: i64,
    pub run_id: Option<i64>,
    pub channel: String,
    pub status: MessageStatus,
    pub delivered: bool,
    pub note: Option<String>,
    pub to: Option<String>,
    pub template: Option<String>,
    pub url: Option<String>,
    /// The step that sent it.
    pub node: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// What was sent (the rendered message, the response), once known.
    pub message: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// A merge the identity rule refused, seen from this person's side.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct RefusedMergeView {
    pub other_profile_id: i64,
    pub identity: IdentityView,
    /// The person the identity now belongs to.
    pub identity_now_with: i64,
    pub reason: String,
    pub message_id: String,
    pub at: String,
}

/// A person: traits, identities, their latest events, runs and messages.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ProfileView {
    pub id: i64,
    /// The id asked for, when it was merged into `id`.
    pub merged_from: Option<i64>,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub traits: domain::Map,
    pub identities: Vec<IdentityView>,
    pub refused_merges: Vec<RefusedMergeView>,
    /// The latest 200, newest first.
    pub events: Vec<EventView>,
    pub journeys: Vec<RunView>,
    /// The latest 200, newest first.
    pub messages: Vec<MessageView>,
    /// Traits Wayfarer reads but cannot use (e.g. an unknown `timezone`).
    pub warnings: Vec<String>,
    /// The segments the person is a member of, by id.
    pub segments: Vec<SegmentRef>,
    /// Which of the traits Wayfarer computes from the person's history.
    pub computed_traits: Vec<String>,
    /// The person's moves between lifecycle stages, oldest first.
    pub stage_history: Vec<StageMoveView>,
}

/// A move between lifecycle stages (`null`: no stage).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct StageMoveView {
    pub at: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A segment, named.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct SegmentRef {
    pub id: String,
    pub name: String,
}

/// One of a person's recent entry events, and what it did at entry (judged as of when it
/// came).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct RecentEntry {
    /// The event's time, as sent.
    pub at: String,
    pub received_at: String,
    pub message_id: String,
    pub verdict: EntryVerdict,
    /// The verdict in a sentence, with the values seen.
    pub detail: String,
    /// The run it started (`entered`), or the earlier run that kept it out (`waiting`,
    /// `reentry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub run_id: Option<i64>,
    /// `filtered`: each comparison the entry filter made, with the value seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<String>,
}

/// What an entry event did.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EntryVerdict {
    /// A run started from it.
    Entered,
    /// The entry filter was false.
    Filtered,
    /// The person's run was waiting and the entry is not concurrent.
    Waiting,
    /// The re-entry rule said no.
    Reentry,
    /// The journey's entry limit was reached.
    Limit,
    /// The journey is keyed (`entry.key`) and the event had no key property.
    NoKey,
    /// It came before the journey was first published.
    NotLive,
    /// Nothing in the store explains it (the journey may have been paused then).
    Unexplained,
}

/// A published journey, from one person's side.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ProfileJourney {
    pub journey: String,
    pub version: i64,
    pub state: JourneyState,
    /// A run of theirs is waiting in it.
    pub in_journey: bool,
    /// When not in it: why not, with the values seen.
    pub why_not: Option<String>,
    /// Journeys entered by an event: what their latest entry events did, newest first.
    pub recent_entries: Option<Vec<RecentEntry>>,
    pub runs: Vec<RunView>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ProfileJourneys {
    pub profile_id: i64,
    pub journeys: Vec<ProfileJourney>,
}

// ---- messages and dead letters ----

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    pub status: Option<MessageStatus>,
    pub profile_id: Option<i64>,
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A channel and its dispatch queue.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ChannelView {
    /// The outbox's name for it (`email`, `webhook`).
    pub name: String,
    /// Where it sends.
    pub detail: String,
    /// Messages sent at once (for SMTP, the connections kept open).
    pub concurrency: u32,
    /// Most messages sent per second; 0: no limit.
    pub rate_per_sec: f64,
    /// Messages waiting to be sent (a first attempt or a retry).
    pub pending: i64,
    /// "at most 3 marketing messages to a person in 7d"; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_cap: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct MessagesPage {
    /// Newest first.
    pub messages: Vec<MessageView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Retried {
    /// Messages made due again.
    pub retried: usize,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct JourneyRetried {
    pub journey: String,
    pub retried: usize,
}

/// Inputs the engine failed to step (a bug), with the error.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct DeadLetterView {
    pub id: i64,
    pub profile_id: i64,
    /// The events, timers and outcomes, as stored.
    pub inputs: Vec<Value>,
    pub error: String,
    pub at: String,
    pub replayed_at: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct DeadLettersPage {
    /// Newest first.
    pub dead_letters: Vec<DeadLetterView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Replayed {
    pub replayed: i64,
}

// ---- clock ----

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ClockView {
    pub now: String,
    /// Started with `testing.manual_clock`: time moves only through `POST /api/clock`.
    pub manual: bool,
}

/// Exactly one of the two.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct MoveClock {
    /// A duration such as `3d`.
    pub advance: Option<String>,
    /// An RFC 3339 instant.
    #[schema(format = DateTime)]
    pub to: Option<String>,
}

// ---- users, sessions, tokens ----

/// What a user may do (each role may do what the ones before it may): `viewer` reads
/// everything; `editor` also changes journeys, templates, messages and the clock; `admin`
/// also creates sources and manages users and reads the audit log.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl From<store::Role> for Role {
    fn from(r: store::Role) -> Role {
        match r {
            store::Role::Viewer => Role::Viewer,
            store::Role::Editor => Role::Editor,
            store::Role::Admin => Role::Admin,
        }
    }
}

impl From<Role> for store::Role {
    fn from(r: Role) -> store::Role {
        match r {
            Role::Viewer => store::Role::Viewer,
            Role::Editor => store::Role::Editor,
            Role::Admin => store::Role::Admin,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Any case.
    pub email: String,
    pub password: String,
}

/// Who a request is from. After signing in (and for `GET /api/session` with the session
/// cookie) `user` and `csrf_token` are set: send `X-CSRF-Token: <csrf_token>` with every
/// request that changes something. With a bearer token there is no `csrf_token`, and with
/// the admin token no `user`.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SessionView {
    pub user: Option<UserView>,
    /// As the audit log names it: `user:<email>`, `token:<name> (<email>)` or `admin token`.
    pub actor: String,
    pub role: Role,
    pub csrf_token: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct UserView {
    pub id: i64,
    /// Lowercased.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct UserList {
    /// By id.
    pub users: Vec<UserView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique, whatever its case.
    #[schema(max_length = 254)]
    pub email: String,
    /// The part of the e-mail before `@` when absent (or null).
    #[serde(default)]
    pub name: Option<String>,
    pub role: Role,
    /// At least 12 characters (`weak_password` otherwise).
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
}

/// What to change; absent (or null) fields stay as they are. Changing the password signs
/// the user out everywhere else.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for, e.g. `ci`; 1-100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    /// Noted at most once a minute.
    pub last_used_at: Option<String>,
}

/// A new personal API token. `token` is shown this once (only its SHA-256 is stored): use
/// it as `Authorization: Bearer <token>`, e.g. `wayfarer journeys apply --token`. It acts
/// with its owner's role, as it is at each request.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TokenCreated {
    pub id: i64,
    pub name: String,
    /// `wft_` and 64 hex digits.
    pub token: String,
    pub created_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TokenList {
    /// By id; empty for the admin token, which has no user.
    pub tokens: Vec<TokenView>,
}

// ---- audit log ----

/// One leaf that changed: where (a JSON pointer into the thing changed), what it was and
/// what it is. `old` is absent for a leaf that appeared, `new` for one that went.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct AuditChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub old: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub new: Option<Value>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: String,
    /// `user:<email>`, `token:<name> (<email>)` or `admin token`.
    pub actor: String,
    /// E.g. `journey.publish`, `template.put`, `user.update` (see README, "Audit log").
    pub action: String,
    /// E.g. `journey:onboarding`, `user:ann@acme.test`, `clock`.
    pub target: String,
    pub diff: Vec<AuditChange>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

/// An RFC 3339 instant from a request, or 400 naming the field.
pub(crate) fn instant(name: &str, v: &str) -> Result<domain::time::Timestamp, crate::error::ApiError> {
    domain::time::Timestamp::parse(v)
        .ok_or_else(|| crate::error::ApiError::new(crate::error::Code::InvalidRequest, format!("{name} {v:?} is not an RFC 3339 instant")))
}

/// A period `[from, to)` from a request: both ends or neither (then `default`), `to` not
/// before `from`.
pub(crate) fn range(
    from: Option<&str>,
    to: Option<&str>,
    default: (domain::time::Timestamp, domain::time::Timestamp),
) -> Result<(domain::time::Timestamp, domain::time::Timestamp), crate::error::ApiError> {
    let bad = |m: &str| crate::error::ApiError::new(crate::error::Code::InvalidRequest, m);
    let (from, to) = match (from, to) {
        (None, None) => default,
        (Some(f), Some(t)) => (instant("from", f)?, instant("to", t)?),
        _ => return Err(bad("give both \"from\" and \"to\", or neither")),
    };
    if to < from {
        return Err(bad("\"to\" is before \"from\""));
    }
    Ok((from, to))
}
