//! Journey documents, their validation, run state and the pure `step` function.
//!
//! A journey document (JSON; the same document the API stores):
//!
//! ```json
//! {
//!   "id": "consultation",
//!   "name": "Invite engaged visitors to a consultation",
//!   "entry": {"event": "Page Viewed", "filter": {"property": "path", "op": "starts_with", "value": "/products/"}},
//!   "exit": [{"event": "Sales Contacted"}],
//!   "steps": [
//!     {"id": "qualified", "type": "branch", "cases": [{"when": {...}, "next": "invite"}]},
//!     {"id": "invite", "type": "send", "channel": "email", "template": "consultation-invite", "next": "booked"},
//!     {"id": "booked", "type": "wait_for", "events": [{"event": "Consultation Booked", "next": "done"}],
//!      "timeout": "3d", "timeout_next": "remind"},
//!     {"id": "remind", "type": "send", "channel": "email", "template": "consultation-reminder"},
//!     {"id": "done", "type": "exit"}
//!   ]
//! }
//! ```
//!
//! The first step is where a run starts. A missing `next` ends the run (completed).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;
use crate::condition::{Condition, Facts, HistoryQuery};
use crate::event::Event;
use crate::ids::{JourneyId, NodeId, TemplateId};
use crate::time::{Duration, Timestamp};

/// A problem found in a journey document, tied to a node where there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// JSON pointer into the document.
    pub path: String,
    pub code: String,
    pub message: String,
}

/// Collects every diagnostic of a document instead of stopping at the first.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>, Option<String>);

impl Diagnostics {
    pub fn error(&mut self, path: &str, code: &str, message: &str) {
        self.0.push(Diagnostic { node: self.1.clone(), path: path.to_owned(), code: code.to_owned(), message: message.to_owned() });
    }
}

/// An event name and an optional filter on its properties and the person's traits.
#[derive(Clone, Debug, PartialEq)]
pub struct EventMatch {
    pub event: String,
    pub filter: Option<Condition>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WaitPath {
    pub on: EventMatch,
    pub next: Option<NodeId>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Wait { duration: Duration, next: Option<NodeId> },
    WaitFor { paths: Vec<WaitPath>, timeout: Duration, timeout_next: Option<NodeId> },
    Branch { cases: Vec<(Condition, Option<NodeId>)>, otherwise: Option<NodeId> },
    Send { channel: Channel, template: TemplateId, next: Option<NodeId> },
    Webhook { url: String, method: String, body: Option<Value>, next: Option<NodeId> },
    Exit,
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
    pub entry: EventMatch,
    pub exits: Vec<EventMatch>,
    pub steps: Vec<Step>,
    /// Every event-history aggregate the journey's conditions use; callers compute them
    /// (in this order) into `Facts::history` before calling `step`.
    pub history: Vec<HistoryQuery>,
    index: HashMap<NodeId, usize>,
}

/// The most steps one transition may take without waiting; beyond it the run exits.
pub const MAX_HOPS: usize = 1000;

fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

struct Parser {
    diags: Diagnostics,
    history: Vec<HistoryQuery>,
}

impl Parser {
    fn condition(&mut self, v: Option<&Value>, path: &str) -> Option<Condition> {
        Condition::parse(v?, path, &mut self.diags, &mut self.history)
    }

    fn event_match(&mut self, v: &Value, path: &str) -> Option<EventMatch> {
        let event = v.get("event").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        if event.is_none() {
            self.diags.error(&format!("{path}/event"), "missing_field", "an event match needs an \"event\" name");
        }
        let filter = self.condition(v.get("filter"), &format!("{path}/filter"));
        if v.get("filter").is_some() && filter.is_none() {
            return None;
        }
        Some(EventMatch { event: event?.to_owned(), filter })
    }

    fn next(&mut self, obj: &Map, key: &str, path: &str) -> Option<NodeId> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(NodeId(s.clone())),
            Some(_) => {
                self.diags.error(&format!("{path}/{key}"), "invalid_field", &format!("\"{key}\" must be a step id"));
                None
            }
        }
    }

    fn duration(&mut self, obj: &Map, key: &str, path: &str) -> Option<Duration> {
        match obj.get(key).and_then(Value::as_str).map(str::parse::<Duration>) {
            Some(Ok(d)) if d > Duration::ZERO => Some(d),
            Some(Err(e)) => {
                self.diags.error(&format!("{path}/{key}"), "invalid_duration", &e);
                None
            }
            _ => {
                self.diags.error(
                    &format!("{path}/{key}"),
                    "invalid_duration",
                    &format!("\"{key}\" must be a positive duration such as \"3d\""),
                );
                None
            }
        }
    }

    fn string(&mut self, obj: &Map, key: &str, path: &str) -> Option<String> {
        match obj.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.to_owned()),
            None => {
                self.diags.error(&format!("{path}/{key}"), "missing_field", &format!("this step needs \"{key}\""));
                None
            }
        }
    }

    fn step(&mut self, v: &Value, path: &str) -> Option<StepKind> {
        let Some(obj) = v.as_object() else {
            self.diags.error(path, "invalid_step", "a step must be an object");
            return None;
        };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
        Some(match kind {
            "wait" => {
                let duration = self.duration(obj, "duration", path);
                StepKind::Wait { duration: duration?, next: self.next(obj, "next", path) }
            }
            "wait_for" => {
                let mut paths = Vec::new();
                match obj.get("events").and_then(Value::as_array) {
                    Some(list) if !list.is_empty() => {
                        for (i, p) in list.iter().enumerate() {
                            let ppath = format!("{path}/events/{i}");
                            let on = self.event_match(p, &ppath);
                            let next = p.as_object().and_then(|o| self.next(o, "next", &ppath));
                            if let Some(on) = on {
                                paths.push(WaitPath { on, next });
                            }
                        }
                    }
                    _ => self.diags.error(
                        &format!("{path}/events"),
                        "missing_field",
                        "wait_for needs \"events\": a list of {\"event\", \"filter\", \"next\"}",
                    ),
                }
                let timeout = self.duration(obj, "timeout", path);
                StepKind::WaitFor { paths, timeout: timeout?, timeout_next: self.next(obj, "timeout_next", path) }
            }
            "branch" => {
                let mut cases = Vec::new();
                match obj.get("cases").and_then(Value::as_array) {
                    Some(list) if !list.is_empty() => {
                        for (i, c) in list.iter().enumerate() {
                            let cpath = format!("{path}/cases/{i}");
                            let when = self.condition(c.get("when"), &format!("{cpath}/when"));
                            if c.get("when").is_none() {
                                self.diags.error(&format!("{cpath}/when"), "missing_field", "a branch case needs \"when\"");
                            }
                            let next = c.as_object().and_then(|o| self.next(o, "next", &cpath));
                            if let Some(when) = when {
                                cases.push((when, next));
                            }
                        }
                    }
                    _ => self.diags.error(
                        &format!("{path}/cases"),
                        "missing_field",
                        "branch needs \"cases\": a list of {\"when\", \"next\"}",
                    ),
                }
                StepKind::Branch { cases, otherwise: self.next(obj, "else", path) }
            }
            "send" => {
                let channel = match obj.get("channel").and_then(Value::as_str).unwrap_or("email") {
                    "email" => Some(Channel::Email),
                    other => {
                        self.diags.error(
                            &format!("{path}/channel"),
                            "unknown_channel",
                            &format!("unknown channel {other:?}; available: email"),
                        );
                        None
                    }
                };
                let template = self.string(obj, "template", path);
                StepKind::Send { channel: channel?, template: TemplateId(template?), next: self.next(obj, "next", path) }
            }
            "webhook" => {
                let url = self.string(obj, "url", path);
                if let Some(u) = &url
                    && !(u.starts_with("http://") || u.starts_with("https://"))
                {
                    self.diags.error(&format!("{path}/url"), "invalid_url", "a webhook url must start with http:// or https://");
                }
                let method = obj.get("method").and_then(Value::as_str).unwrap_or("POST").to_ascii_uppercase();
                if !["POST", "PUT", "PATCH", "GET", "DELETE"].contains(&method.as_str()) {
                    self.diags.error(&format!("{path}/method"), "invalid_field", "method must be one of POST, PUT, PATCH, GET, DELETE");
                }
                StepKind::Webhook { url: url?, method, body: obj.get("body").cloned(), next: self.next(obj, "next", path) }
            }
            "exit" => StepKind::Exit,
            other => {
                self.diags.error(
                    &format!("{path}/type"),
                    "unknown_step_type",
                    &format!("unknown step type {other:?}; available: wait, wait_for, branch, send, webhook, exit"),
                );
                return None;
            }
        })
    }
}

impl StepKind {
    /// Every (edge label, target) leaving this step.
    pub fn edges(&self) -> Vec<(&'static str, Option<&NodeId>)> {
        match self {
            StepKind::Wait { next, .. } | StepKind::Send { next, .. } | StepKind::Webhook { next, .. } => vec![("next", next.as_ref())],
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
            StepKind::Exit => vec![],
        }
    }

    fn waits(&self) -> bool {
        matches!(self, StepKind::Wait { .. } | StepKind::WaitFor { .. })
    }
}

impl Journey {
    /// Parses and validates a document, returning every diagnostic at once.
    pub fn parse(doc: &Value) -> Result<Journey, Vec<Diagnostic>> {
        let mut p = Parser { diags: Diagnostics::default(), history: Vec::new() };
        let Some(obj) = doc.as_object() else {
            p.diags.error("", "invalid_document", "a journey document must be a JSON object");
            return Err(p.diags.0);
        };
        let id = obj.get("id").and_then(Value::as_str).unwrap_or("");
        if !is_slug(id) {
            p.diags.error("/id", "invalid_id", "\"id\" must be 1-100 characters of a-z, 0-9, - and _");
        }
        let name = obj.get("name").and_then(Value::as_str).unwrap_or(id).to_owned();
        let entry = match obj.get("entry") {
            Some(e) => p.event_match(e, "/entry"),
            None => {
                p.diags.error("/entry", "missing_field", "a journey needs an \"entry\": {\"event\": ..., \"filter\": ...}");
                None
            }
        };
        let mut exits = Vec::new();
        match obj.get("exit") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, e) in list.iter().enumerate() {
                    if let Some(m) = p.event_match(e, &format!("/exit/{i}")) {
                        exits.push(m);
                    }
                }
            }
            Some(_) => p.diags.error("/exit", "invalid_field", "\"exit\" must be a list of event matches"),
        }
        let mut steps = Vec::new();
        let mut index = HashMap::new();
        let mut declared = HashSet::new();
        match obj.get("steps").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, s) in list.iter().enumerate() {
                    let path = format!("/steps/{i}");
                    let sid = s.get("id").and_then(Value::as_str).unwrap_or("");
                    p.diags.1 = Some(sid.to_owned()).filter(|s| !s.is_empty());
                    if !is_slug(sid) {
                        p.diags.error(&format!("{path}/id"), "invalid_id", "each step needs an \"id\" of a-z, 0-9, - and _");
                    } else if !declared.insert(NodeId(sid.to_owned())) {
                        p.diags.error(&format!("{path}/id"), "duplicate_id", &format!("step id {sid:?} is used twice"));
                    }
                    if let Some(kind) = p.step(s, &path) {
                        index.entry(NodeId(sid.to_owned())).or_insert(steps.len());
                        steps.push(Step { id: NodeId(sid.to_owned()), kind });
                    }
                }
                p.diags.1 = None;
            }
            _ => p.diags.error("/steps", "missing_field", "a journey needs a non-empty list of \"steps\""),
        }
        // Dangling edges.
        for (i, s) in steps.iter().enumerate() {
            p.diags.1 = Some(s.id.0.clone());
            for (label, target) in s.kind.edges() {
                if let Some(t) = target
                    && !declared.contains(t)
                {
                    p.diags.error(
                        &format!("/steps/{i}/{label}"),
                        "dangling_next",
                        &format!("{label} points to {:?}, which is not a step", t.0),
                    );
                }
            }
        }
        p.diags.1 = None;
        if p.diags.0.is_empty() && !steps.is_empty() {
            graph_checks(&steps, &index, &mut p.diags);
        }
        match (entry, p.diags.0.is_empty()) {
            (Some(entry), true) => Ok(Journey { id: JourneyId(id.to_owned()), name, entry, exits, steps, history: p.history, index }),
            _ => Err(p.diags.0),
        }
    }

    pub fn get(&self, node: &NodeId) -> Option<&Step> {
        self.index.get(node).and_then(|&i| self.steps.get(i))
    }

    /// Templates the journey sends.
    pub fn templates(&self) -> impl Iterator<Item = (&NodeId, &TemplateId)> {
        self.steps.iter().filter_map(|s| match &s.kind {
            StepKind::Send { template, .. } => Some((&s.id, template)),
            _ => None,
        })
    }
}

/// Unreachable steps and cycles that never wait.
fn graph_checks(steps: &[Step], index: &HashMap<NodeId, usize>, diags: &mut Diagnostics) {
    let targets =
        |i: usize| -> Vec<usize> { steps[i].kind.edges().into_iter().filter_map(|(_, t)| t.and_then(|t| index.get(t).copied())).collect() };
    let mut seen = vec![false; steps.len()];
    let mut stack = vec![0];
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(targets(i));
        }
    }
    for (i, s) in steps.iter().enumerate() {
        if !seen[i] {
            diags.1 = Some(s.id.0.clone());
            diags.error(&format!("/steps/{i}"), "unreachable_step", &format!("step {:?} cannot be reached from the first step", s.id.0));
        }
    }
    // A cycle among steps that do not wait would loop forever within one transition.
    let mut state = vec![0u8; steps.len()]; // 0 new, 1 on stack, 2 done
    let mut reported = HashSet::new();
    fn visit(
        i: usize,
        steps: &[Step],
        targets: &dyn Fn(usize) -> Vec<usize>,
        state: &mut [u8],
        reported: &mut HashSet<usize>,
        diags: &mut Diagnostics,
    ) {
        if steps[i].kind.waits() {
            state[i] = 2;
            return;
        }
        state[i] = 1;
        for t in targets(i) {
            match state[t] {
                0 => visit(t, steps, targets, state, reported, diags),
                1 if reported.insert(t) => {
                    diags.1 = Some(steps[t].id.0.clone());
                    diags.error(
                        &format!("/steps/{t}"),
                        "cycle_without_wait",
                        &format!("step {:?} is part of a cycle with no wait or wait_for in it", steps[t].id.0),
                    );
                }
                _ => {}
            }
        }
        state[i] = 2;
    }
    for i in 0..steps.len() {
        if state[i] == 0 {
            visit(i, steps, &targets, &mut state, &mut reported, diags);
        }
    }
    diags.1 = None;
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Waiting,
    Exited,
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
    /// Properties of the event that started the run (for conditions and templates).
    pub trigger: Map,
    /// Name of that event.
    pub trigger_event: String,
}

/// What drives a run forward.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    Event(&'a Event),
    /// The run's timer came due.
    Timer,
}

/// Something the transition decided to do outside; the engine puts it in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    Send { node: NodeId, channel: Channel, template: TemplateId },
    Webhook { node: NodeId, url: String, method: String, body: Option<Value> },
}

impl Effect {
    pub fn node(&self) -> &NodeId {
        match self {
            Effect::Send { node, .. } | Effect::Webhook { node, .. } => node,
        }
    }
}

/// The result of one `step`: the new run state, what to do, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub run: Run,
    pub entered: bool,
    pub effects: Vec<Effect>,
    pub trace: Vec<String>,
}

/// Context a condition sees besides the event: the person's traits and the journey's
/// history counts (`Journey::history` order).
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub traits: &'a Map,
    pub history: &'a [i64],
}

fn matches(m: &EventMatch, event: &Event, ctx: &Context<'_>, trace: &mut Vec<String>) -> bool {
    if event.match_name() != m.event {
        return false;
    }
    match &m.filter {
        None => true,
        Some(f) => {
            let props = event.match_properties();
            f.eval(&Facts { traits: ctx.traits, properties: Some(&props), history: ctx.history }, trace)
        }
    }
}

fn node_label(node: &Option<NodeId>) -> &str {
    node.as_ref().map_or("(end)", |n| n.as_str())
}

/// Advances a run from `node` through steps that do not wait, until it waits or ends.
fn advance(
    j: &Journey,
    run: &mut Run,
    mut node: Option<NodeId>,
    ctx: &Context<'_>,
    now: Timestamp,
    effects: &mut Vec<Effect>,
    trace: &mut Vec<String>,
) {
    run.wake_at = None;
    for _ in 0..MAX_HOPS {
        let Some(id) = node.clone() else {
            run.status = RunStatus::Exited;
            run.exit_reason = Some("completed".into());
            trace.push("completed".into());
            return;
        };
        let Some(step) = j.get(&id) else {
            run.status = RunStatus::Exited;
            run.exit_reason = Some(format!("step {:?} no longer exists", id.0));
            trace.push(format!("exit: step {} not found", id.0));
            return;
        };
        run.node = Some(id.clone());
        match &step.kind {
            StepKind::Wait { duration, .. } => {
                run.status = RunStatus::Waiting;
                run.wake_at = Some(now.plus(*duration));
                trace.push(format!("{id}: wait {duration}"));
                return;
            }
            StepKind::WaitFor { paths, timeout, .. } => {
                run.status = RunStatus::Waiting;
                run.wake_at = Some(now.plus(*timeout));
                let names: Vec<_> = paths.iter().map(|p| p.on.event.as_str()).collect();
                trace.push(format!("{id}: wait_for {} (timeout {timeout})", names.join(" | ")));
                return;
            }
            StepKind::Branch { cases, otherwise } => {
                let facts = Facts { traits: ctx.traits, properties: Some(&run.trigger), history: ctx.history };
                let mut taken = None;
                for (i, (when, next)) in cases.iter().enumerate() {
                    let mut seen = Vec::new();
                    let ok = when.eval(&facts, &mut seen);
                    trace.push(format!("{id}: case {i} {} [{}]", if ok { "true" } else { "false" }, seen.join("; ")));
                    if ok {
                        taken = Some(next.clone());
                        break;
                    }
                }
                node = match taken {
                    Some(next) => next,
                    None => {
                        trace.push(format!("{id}: else -> {}", node_label(otherwise)));
                        otherwise.clone()
                    }
                };
            }
            StepKind::Send { channel, template, next } => {
                trace.push(format!(
                    "{id}: send {} {template}",
                    match channel {
                        Channel::Email => "email",
                    }
                ));
                effects.push(Effect::Send { node: id.clone(), channel: *channel, template: template.clone() });
                node = next.clone();
            }
            StepKind::Webhook { url, method, body, next } => {
                trace.push(format!("{id}: webhook {method} {url}"));
                effects.push(Effect::Webhook { node: id.clone(), url: url.clone(), method: method.clone(), body: body.clone() });
                node = next.clone();
            }
            StepKind::Exit => {
                run.status = RunStatus::Exited;
                run.exit_reason = Some(format!("reached exit step {id}"));
                trace.push(format!("{id}: exit"));
                return;
            }
        }
    }
    run.status = RunStatus::Exited;
    run.exit_reason = Some(format!("more than {MAX_HOPS} steps without waiting"));
    trace.push("exit: step limit".into());
}

/// The pure core: given a journey, the person's run of it (if any), an input, the person's
/// context and the time, decide the next run state, the effects and the trace.
///
/// Returns `None` when the input does not concern this journey (no entry, nothing to do).
/// `seed` makes future random choices (splits) deterministic; no step uses it yet.
pub fn step(
    j: &Journey,
    version: i64,
    run: Option<&Run>,
    input: Input<'_>,
    ctx: &Context<'_>,
    now: Timestamp,
    _seed: u64,
) -> Option<Transition> {
    let mut trace = Vec::new();
    let mut effects = Vec::new();
    match (run, input) {
        (Some(r), _) if r.status == RunStatus::Exited => None,
        (None, Input::Timer) => None,
        (None, Input::Event(event)) => {
            let mut seen = Vec::new();
            if !matches(&j.entry, event, ctx, &mut seen) {
                return None;
            }
            trace.push(format!(
                "entered on {}{}",
                event.match_name(),
                if seen.is_empty() { String::new() } else { format!(" [{}]", seen.join("; ")) }
            ));
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
                trigger: event.match_properties().into_owned(),
                trigger_event: event.match_name().to_owned(),
            };
            let first = j.steps.first().map(|s| s.id.clone());
            advance(j, &mut run, first, ctx, now, &mut effects, &mut trace);
            Some(Transition { run, entered: true, effects, trace })
        }
        (Some(r), Input::Event(event)) => {
            let mut run = r.clone();
            for exit in &j.exits {
                let mut seen = Vec::new();
                if matches(exit, event, ctx, &mut seen) {
                    run.status = RunStatus::Exited;
                    run.wake_at = None;
                    run.exit_reason = Some(format!("exit event {}", exit.event));
                    trace.push(format!("exit on {}", exit.event));
                    return Some(finish(run, now, effects, trace));
                }
            }
            let node = run.node.clone()?;
            let StepKind::WaitFor { paths, .. } = &j.get(&node)?.kind else {
                return None;
            };
            let mut seen = Vec::new();
            let path = paths.iter().find(|p| matches(&p.on, event, ctx, &mut seen))?;
            trace.push(format!("{node}: got {} -> {}", path.on.event, node_label(&path.next)));
            advance(j, &mut run, path.next.clone(), ctx, now, &mut effects, &mut trace);
            Some(finish(run, now, effects, trace))
        }
        (Some(r), Input::Timer) => {
            let due = r.wake_at.filter(|t| *t <= now)?;
            let _ = due;
            let mut run = r.clone();
            let node = run.node.clone()?;
            let next = match &j.get(&node)?.kind {
                StepKind::Wait { next, .. } => {
                    trace.push(format!("{node}: wait over -> {}", node_label(next)));
                    next.clone()
                }
                StepKind::WaitFor { paths, timeout_next, .. } => {
                    let names: Vec<_> = paths.iter().map(|p| p.on.event.as_str()).collect();
                    trace.push(format!("{node}: wait_for {} timed out -> {}", names.join(" | "), node_label(timeout_next)));
                    timeout_next.clone()
                }
                _ => return None,
            };
            advance(j, &mut run, next, ctx, now, &mut effects, &mut trace);
            Some(finish(run, now, effects, trace))
        }
    }
}

fn finish(mut run: Run, now: Timestamp, effects: Vec<Effect>, trace: Vec<String>) -> Transition {
    run.seq += 1;
    run.updated_at = now;
    Transition { run, entered: false, effects, trace }
}
