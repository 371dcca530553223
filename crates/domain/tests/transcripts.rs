//! Journey behaviour pinned by readable transcripts.
//!
//! Each case runs a script of events through `step` with a tiny in-memory driver (the
//! engine's job, minus durability) and snapshots one line per transition:
//! `t=+3d alice: booked: wait_for Consultation Booked timed out -> remind / remind: send email ...`.
//! Update snapshots with `UPDATE_EXPECT=1 cargo test`.

use std::collections::BTreeMap;

use domain::Map;
use domain::aggregate::in_window;
use domain::event::{Envelope, Event, Kind};
use domain::journey::{Context, Effect, Input, Journey, Run, RunStatus, step};
use domain::time::{Duration, Timestamp};
use domain::trace::{TraceKind, TraceLine, bracket};
use expect_test::{Expect, expect};
use serde_json::{Value, json};

struct Person {
    traits: Map,
    history: Vec<(Timestamp, String, Map)>,
    /// Every run, oldest first.
    runs: Vec<Run>,
}

impl Person {
    /// Someone the script names: reachable by email at `{who}@x.test` until a script says
    /// otherwise (`identify {"email": null}`).
    fn new(who: &str) -> Person {
        let traits = json!({"email": format!("{who}@x.test")}).as_object().cloned().unwrap_or_default();
        Person { traits, history: Vec::new(), runs: Vec::new() }
    }

    /// The latest run.
    fn run(&self) -> Option<&Run> {
        self.runs.last()
    }
}

/// Renders `update` values as the engine's Liquid renderer does for plain outputs: a value
/// that is exactly `{{ path }}` is the value there, typed; `{{ path }}` inside text is
/// replaced by the value as text; a missing variable is an error. (The engine's renderer is
/// tested on its own, with filters, in the deliver crate.)
#[derive(Debug)]
struct Paths;

impl Paths {
    /// `path`, or `path | default: "text"`.
    fn lookup(scope: &Value, expr: &str) -> Result<Value, String> {
        let (path, default) = match expr.split_once('|') {
            Some((p, f)) => (p.trim(), f.trim().strip_prefix("default:").map(|d| Value::String(d.trim().trim_matches('"').to_owned()))),
            None => (expr, None),
        };
        let found = path.split('.').try_fold(scope, |v, part| v.get(part)).cloned().filter(|v| !v.is_null());
        found.or(default).ok_or_else(|| format!("unknown variable {path}"))
    }
}

impl domain::journey::Render for Paths {
    fn value(&self, source: &str, scope: &Value) -> Result<Value, String> {
        let t = source.trim();
        if let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).filter(|i| !i.contains("{{")) {
            return Paths::lookup(scope, inner.trim());
        }
        let mut out = String::new();
        let mut rest = source;
        while let Some(i) = rest.find("{{") {
            out += &rest[..i];
            let end = rest[i..].find("}}").ok_or("unclosed output")? + i;
            match Paths::lookup(scope, rest[i + 2..end].trim())? {
                Value::String(s) => out += &s,
                v => out += &v.to_string(),
            }
            rest = &rest[end + 2..];
        }
        Ok(Value::String(out + rest))
    }
}

/// What every transition's trace lines say as data agrees with their text: a line about a
/// step starts with the step's id, a line about the whole run names none, lines with checks
/// end with them, and the steps the lines name (not counting a resumed run's first lines,
/// about the step it waited at) are the steps the transition reached.
fn consistent(t: &domain::journey::Transition) {
    for line in &t.trace {
        match &line.node {
            Some(node) => assert!(line.text.starts_with(&format!("{node}: ")), "{line:?}"),
            None => assert!(
                matches!(
                    line.kind,
                    TraceKind::Entered | TraceKind::Control | TraceKind::Counted | TraceKind::Goal | TraceKind::Exit | TraceKind::Completed
                ),
                "{line:?}"
            ),
        }
        if matches!(line.kind, TraceKind::Entered | TraceKind::Case) {
            assert!(line.text.ends_with(&bracket(&line.checks)), "{line:?}");
        }
        if !line.checks.is_empty() {
            assert!(matches!(line.kind, TraceKind::Entered | TraceKind::Case | TraceKind::Ignored), "{line:?}");
        }
    }
    // The steps the lines name, once per visit (a step writes several lines; a resumed run
    // first writes about the step it waited at, which is no visit).
    let resume =
        |k: TraceKind| matches!(k, TraceKind::Got | TraceKind::WaitOver | TraceKind::TimedOut | TraceKind::Outcome | TraceKind::Ignored);
    let mut named: Vec<&domain::ids::NodeId> = Vec::new();
    let mut resumed = None;
    let mut last = None;
    for line in &t.trace {
        let Some(node) = line.node.as_ref() else { continue };
        if resume(line.kind) {
            resumed = Some(node);
            continue;
        }
        if resumed == Some(node) && line.kind == TraceKind::Run {
            continue;
        }
        resumed = None;
        if last != Some(node) {
            named.push(node);
            last = Some(node);
        }
    }
    let visited: Vec<&domain::ids::NodeId> = t.visited.iter().collect();
    assert_eq!(named, visited, "{:#?}", t.trace);
}

struct Driver {
    journey: Journey,
    start: Timestamp,
    people: BTreeMap<String, Person>,
    log: Vec<String>,
    /// Effects in the order they were decided, as the engine's outbox would have them.
    outbox: Vec<String>,
    next_id: u64,
    entries: i64,
}

impl Driver {
    fn new(doc: Value) -> Driver {
        Driver::at(doc, "2027-01-15T08:00:00Z")
    }

    fn at(doc: Value, start: &str) -> Driver {
        let journey = Journey::parse(&doc).expect("valid journey");
        let start = Timestamp::parse(start).expect("start");
        Driver { journey, start, people: BTreeMap::new(), log: Vec::new(), outbox: Vec::new(), next_id: 0, entries: 0 }
    }

    fn history_counts(&self, who: &str, now: Timestamp) -> Vec<Value> {
        let person = &self.people[who];
        self.journey
            .history
            .iter()
            .map(|q| q.evaluate(person.history.iter().filter(|(t, n, _)| *n == q.event && in_window(q.within, now, *t)).map(|(_, _, p)| p)))
            .collect()
    }

    /// Steps one input: a timer for run `timer` (an index into the person's runs), else an
    /// input every waiting run sees and that may start a run, as the engine does it.
    fn apply(&mut self, who: &str, now: Timestamp, input: Input<'_>, timer: Option<usize>) {
        let indexes: Vec<usize> = match timer {
            Some(i) => vec![i],
            None => (0..self.people[who].runs.len()).filter(|&i| self.people[who].runs[i].status == RunStatus::Waiting).collect(),
        };
        let key = self.journey.input_key(input);
        let was_in = indexes.iter().any(|&i| self.people[who].runs[i].key == key);
        for i in indexes {
            let run = self.people[who].runs[i].clone();
            self.step(who, now, input, Some(&run), Some(i));
        }
        if timer.is_none() && (self.journey.entry.concurrent || !was_in) {
            let previous = self.people[who].runs.iter().rev().find(|r| r.key == key).cloned();
            self.step(who, now, input, previous.as_ref(), None);
        }
    }

    /// One `step`: `run` is the run stepped (at index `at`), or, with no `at`, the previous
    /// run for an entry.
    fn step(&mut self, who: &str, now: Timestamp, input: Input<'_>, run: Option<&Run>, at: Option<usize>) {
        let history = self.history_counts(who, now);
        let person = &self.people[who];
        let (current, previous) = if at.is_some() { (run, run) } else { (None, run) };
        let ctx = Context {
            traits: &person.traits,
            history: &history,
            previous,
            entries: self.entries,
            render: &Paths,
            segments: &domain::condition::NO_SEGMENTS,
        };
        // A seed per person, as the engine derives one per person and journey.
        let seed = who.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        if let Some(t) = step(&self.journey, 1, current, input, &ctx, now, seed) {
            let offset = now.since(self.start);
            let text: Vec<&str> = t.trace.iter().map(TraceLine::as_str).collect();
            self.log.push(format!("t=+{offset} {who}: {} => {}", text.join(" / "), self.state(&t.run)));
            consistent(&t);
            for effect in &t.effects {
                self.outbox.push(format!("t=+{offset} {who} {}", shown(effect)));
            }
            if t.entered {
                self.entries += 1;
            }
            let person = self.people.get_mut(who).expect("person");
            for effect in &t.effects {
                if let Effect::Update { update, .. } = effect {
                    update.apply(&mut person.traits);
                }
            }
            match at {
                Some(i) => person.runs[i] = t.run,
                None => person.runs.push(t.run),
            }
        }
    }

    /// A run after a transition: `#seq`, waiting where and until when, or why it ended, and
    /// its conversion, control group and variants.
    fn state(&self, run: &Run) -> String {
        let at = |t: Timestamp| format!("+{}", t.since(self.start));
        let mut out = format!("#{} ", run.seq);
        if let Some(k) = &run.key {
            out += &format!("[{k}] ");
        }
        match (run.status, &run.node, run.wake_at) {
            (RunStatus::Waiting, Some(node), Some(wake)) => out += &format!("waiting at {node} until {}", at(wake)),
            (RunStatus::Waiting, node, wake) => out += &format!("waiting at {node:?} until {wake:?}"),
            (RunStatus::Exited, _, _) => out += &format!("exited: {}", run.exit_reason.as_deref().unwrap_or("?")),
        }
        if run.status == RunStatus::Exited && run.wake_at.is_some() {
            out += " (with a timer left)";
        }
        if let Some(c) = run.converted_at {
            out += &format!(", converted at {}", at(c));
        }
        if run.control {
            out += ", control group";
        }
        for (split, variant) in &run.assignments {
            out += &format!(", {split}={variant}");
        }
        if !run.vars.is_empty() {
            out += &format!(", run {}", Value::Object(run.vars.clone()));
        }
        if !run.counts.is_empty() {
            out += &format!(", {} since-entry counter(s)", run.counts.len());
        }
        out
    }

    /// Fires every timer due up to `until`, in time order.
    fn advance(&mut self, until: Timestamp) {
        loop {
            let due = self
                .people
                .iter()
                .flat_map(|(who, p)| {
                    p.runs
                        .iter()
                        .enumerate()
                        .filter_map(move |(i, r)| r.wake_at.filter(|_| r.status == RunStatus::Waiting).map(|t| (t, who.clone(), i)))
                })
                .filter(|(t, ..)| *t <= until)
                .min();
            let Some((at, who, i)) = due else { return };
            let seq = self.people[&who].runs[i].seq;
            self.apply(&who, at, Input::Timer, Some(i));
            let person = self.people.get_mut(&who).expect("person");
            let run = &mut person.runs[i];
            if run.seq == seq && run.wake_at == Some(at) {
                // `step` did nothing with a due timer: say so, and forget it (or it fires forever).
                self.log.push(format!("t=+{} {who}: timer ignored", at.since(self.start)));
                run.wake_at = None;
            }
        }
    }

    fn event(&mut self, now: Timestamp, who: &str, kind: Kind, name: &str, props: Map) {
        self.advance(now);
        self.next_id += 1;
        let mut raw = json!({"userId": who, "properties": props});
        match kind {
            Kind::Identify => raw["traits"] = Value::Object(props.clone()),
            Kind::Track => raw["event"] = json!(name),
            _ => {}
        }
        let id = self.next_id.to_string();
        let env = Envelope { kind: Some(kind), received_at: now, sent_at: None, fallback_message_id: &id };
        let event = Event::parse(raw, &env).expect("valid event");
        let person = self.people.entry(who.to_owned()).or_insert_with(|| Person::new(who));
        let before = person.traits.clone();
        person.traits.extend(event.traits.clone());
        person.history.push((now, event.match_name().to_owned(), event.match_properties().into_owned()));
        self.apply(who, now, Input::Event(&event), None);
        // Trait changes are inputs of their own, after the event that made them.
        let after = self.people[who].traits.clone();
        for (name, to) in &after {
            if before.get(name) != Some(to) {
                self.apply(who, now, Input::TraitChange { name, from: before.get(name), to: Some(to) }, None);
            }
        }
    }

    /// Runs a script: `+1h alice page /products/a`, `+1d alice track Sales Contacted {"x":1}`,
    /// `+1d alice identify {"firstName":"Alice"}`, `+0s alice api {"coupon":"X"}`, or `+5d`
    /// to let time pass; returns the transcript.
    fn run(mut self, script: &str) -> String {
        self.run_lines(script);
        if self.log.is_empty() {
            self.log.push("(no transition: nobody entered)".into());
        }
        let mut out = self.log.join("\n") + "\n";
        if !self.outbox.is_empty() {
            out += &format!("outbox:\n  {}\n", self.outbox.join("\n  "));
        }
        out
    }

    fn run_lines(&mut self, script: &str) {
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut parts = line.splitn(3, ' ');
            let offset: Duration = parts.next().and_then(|o| o.strip_prefix('+')).expect("offset").parse().expect("duration");
            let now = self.start.plus(offset);
            let (Some(who), Some(rest)) = (parts.next(), parts.next()) else {
                self.advance(now);
                continue;
            };
            let (verb, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            if let ("delivered" | "failed", Some((node, detail))) = (verb, rest.split_once(' ')) {
                // The outcome of the message the person's latest run decided at `node`.
                self.advance(now);
                let i = self.people[who].runs.len() - 1;
                let node = domain::ids::NodeId(node.to_owned());
                self.apply(who, now, Input::Outcome { node: &node, delivered: verb == "delivered", detail }, Some(i));
                continue;
            }
            let (name, props) = match rest.find('{') {
                Some(i) => (rest[..i].trim(), serde_json::from_str::<Map>(&rest[i..]).expect("json props")),
                None => (rest.trim(), Map::new()),
            };
            match verb {
                "page" => self.event(now, who, Kind::Page, "", json!({"path": name}).as_object().cloned().unwrap_or_default()),
                "track" => self.event(now, who, Kind::Track, name, props),
                "identify" => self.event(now, who, Kind::Identify, "", props),
                "scheduled" => {
                    self.advance(now);
                    self.people.entry(who.to_owned()).or_insert_with(|| Person::new(who));
                    self.apply(who, now, Input::Scheduled, None);
                }
                "api" => {
                    self.advance(now);
                    self.people.entry(who.to_owned()).or_insert_with(|| Person::new(who));
                    self.apply(who, now, Input::Api { payload: &props }, None);
                }
                other => panic!("unknown verb {other}"),
            }
        }
    }
}

/// An effect as the outbox would carry it.
fn shown(effect: &Effect) -> String {
    match effect {
        Effect::Send { node, channel, template, .. } => format!("{node}: send {} {template}", channel.as_str()),
        Effect::Webhook { node, url, method, body, save } => {
            format!("{node}: {method} {url} body {} save {save:?}", body.as_ref().map_or("none".to_owned(), Value::to_string))
        }
        Effect::Update { node, update } => format!("{node}: update {}", serde_json::to_value(update).unwrap_or_default()),
        Effect::Task { node, task, due_at } => {
            format!(
                "{node}: task {} due {}",
                serde_json::to_value(task).unwrap_or_default(),
                due_at.map_or("never".to_owned(), |d| d.to_string())
            )
        }
    }
}

fn consultation() -> Value {
    serde_json::from_str(include_str!("../../../examples/consultation.json")).expect("example journey")
}

fn check(doc: Value, script: &str, expect: Expect) {
    expect.assert_eq(&Driver::new(doc).run(script));
}

#[test]
fn third_product_view_in_a_week_sends_invite_then_reminder() {
    check(
        consultation(),
        "
        +0s alice page /products/a
        +1d alice page /blog
        +2d alice page /products/b
        +3d alice page /products/c
        +7d
    ",
        expect![[r#"
            t=+3d alice: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true; count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true; reachable by email -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d) => #1 waiting at booked until +6d
            t=+6d alice: booked: wait_for Consultation Booked timed out -> remind / remind: send email consultation-reminder / completed => #2 exited: completed
            outbox:
              t=+3d alice invite: send email consultation-invite
              t=+6d alice remind: send email consultation-reminder
        "#]],
    );
}

#[test]
fn views_spread_over_more_than_a_week_do_not_qualify() {
    check(
        consultation(),
        "
        +0s alice page /products/a
        +4d alice page /products/b
        +8d alice page /products/c
    ",
        expect![[r#"
            (no transition: nobody entered)
        "#]],
    );
}

#[test]
fn sales_contacted_first_gets_nothing() {
    check(
        consultation(),
        "
        +0s bob track Sales Contacted
        +1h bob page /products/a
        +2h bob page /products/b
        +3h bob page /products/c
    ",
        expect![[r#"
            (no transition: nobody entered)
        "#]],
    );
}

#[test]
fn booking_during_wait_for_ends_the_run_without_reminder() {
    check(
        consultation(),
        "
        +0s carol page /products/a
        +1h carol page /products/b
        +2h carol page /products/c
        +1d carol track Consultation Booked
        +10d
    ",
        expect![[r#"
            t=+2h carol: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true; count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true; reachable by email -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d) => #1 waiting at booked until +3d2h
            t=+1d carol: goal reached: Consultation Booked / booked: got Consultation Booked -> (end) / completed => #2 exited: completed, converted at +1d
            outbox:
              t=+2h carol invite: send email consultation-invite
        "#]],
    );
}

#[test]
fn exit_event_ends_run_during_wait() {
    let doc = json!({
        "id": "nurture", "entry": {"event": "Signed Up"}, "exit": [{"event": "Unsubscribed"}],
        "steps": [
            {"id": "pause", "type": "wait", "duration": "30d", "next": "hello"},
            {"id": "hello", "type": "send", "template": "hello"}
        ]
    });
    check(
        doc,
        "
        +0s dan track Signed Up
        +1d dan track Unsubscribed
        +40d
    ",
        expect![[r#"
            t=+0s dan: entered on Signed Up / pause: wait 30d => #1 waiting at pause until +30d
            t=+1d dan: exit on Unsubscribed => #2 exited: exit event Unsubscribed
        "#]],
    );
}

#[test]
fn wait_then_send_and_webhook() {
    let doc = json!({
        "id": "welcome", "entry": {"event": "Signed Up"},
        "steps": [
            {"id": "pause", "type": "wait", "duration": "2h", "next": "hello"},
            {"id": "hello", "type": "send", "template": "welcome", "next": "crm"},
            {"id": "crm", "type": "webhook", "url": "https://crm.example/hooks", "body": {"user": "{{ traits.email }}"}}
        ]
    });
    check(
        doc,
        "
        +0s erin track Signed Up
        +1h
        +3h
    ",
        expect![[r#"
            t=+0s erin: entered on Signed Up / pause: wait 2h => #1 waiting at pause until +2h
            t=+2h erin: pause: wait over -> hello / hello: send email welcome / crm: webhook POST https://crm.example/hooks / completed => #2 exited: completed
            outbox:
              t=+2h erin hello: send email welcome
              t=+2h erin crm: POST https://crm.example/hooks body {"user":"{{ traits.email }}"} save {}
        "#]],
    );
}

#[test]
fn an_sms_goes_to_people_with_a_phone_number_and_the_others_take_the_unreachable_path() {
    let doc = json!({
        "id": "reminder", "entry": {"event": "Appointment Booked"},
        "steps": [
            {"id": "check", "type": "branch", "cases": [{"when": {"reachable": "sms"}, "next": "text"}], "else": "mail"},
            {"id": "text", "type": "send", "channel": "sms", "template": "reminder", "on_unreachable": "mail"},
            {"id": "mail", "type": "send", "template": "reminder"}
        ]
    });
    check(
        doc,
        r#"
        +0s ann identify {"phone": "+1 (415) 555-0100"}
        +0s ann track Appointment Booked
        +0s bob identify {"phone": "555-0100"}
        +0s bob track Appointment Booked
        +0s cyd track Appointment Booked
        "#,
        expect![[r#"
            t=+0s ann: entered on Appointment Booked / check: case 0 true [reachable by sms -> true] / text: send sms reminder / completed => #1 exited: completed
            t=+0s bob: entered on Appointment Booked / check: case 0 false [reachable by sms -> false (phone trait "555-0100" is not a number in international form (+ and country code))] / check: else -> mail / mail: send email reminder / completed => #1 exited: completed
            t=+0s cyd: entered on Appointment Booked / check: case 0 false [reachable by sms -> false (no phone trait)] / check: else -> mail / mail: send email reminder / completed => #1 exited: completed
            outbox:
              t=+0s ann text: send sms reminder
              t=+0s bob mail: send email reminder
              t=+0s cyd mail: send email reminder
        "#]],
    );
}

/// A send with variants (A/B): each person gets one by weight, the same whenever they come
/// back, recorded in the run's assignments as a split's; the control group gets none.
#[test]
fn a_send_with_variants_gives_each_person_one_and_records_it() {
    let doc = json!({
        "id": "welcome", "entry": {"event": "Signed Up", "reentry": {"after": "1d"}},
        "steps": [{"id": "greet", "type": "send", "variants": [
            {"name": "short", "weight": 50, "template": "welcome-short"},
            {"name": "long", "weight": 50, "template": "welcome-long"}]}]
    });
    check(
        doc,
        "
        +0s ann track Signed Up
        +0s bob track Signed Up
        +0s cat track Signed Up
        +0s dan track Signed Up
        +0s eve track Signed Up
        +0s fay track Signed Up
        +2d ann track Signed Up
        +0s bob track Signed Up
        ",
        expect![[r#"
            t=+0s ann: entered on Signed Up / greet: variant long (50/100) / greet: send email welcome-long / completed => #1 exited: completed, greet=long
            t=+0s bob: entered on Signed Up / greet: variant long (50/100) / greet: send email welcome-long / completed => #1 exited: completed, greet=long
            t=+0s cat: entered on Signed Up / greet: variant long (50/100) / greet: send email welcome-long / completed => #1 exited: completed, greet=long
            t=+0s dan: entered on Signed Up / greet: variant short (50/100) / greet: send email welcome-short / completed => #1 exited: completed, greet=short
            t=+0s eve: entered on Signed Up / greet: variant short (50/100) / greet: send email welcome-short / completed => #1 exited: completed, greet=short
            t=+0s fay: entered on Signed Up / greet: variant short (50/100) / greet: send email welcome-short / completed => #1 exited: completed, greet=short
            t=+2d ann: entered on Signed Up / greet: variant long (50/100) / greet: send email welcome-long / completed => #1 exited: completed, greet=long
            outbox:
              t=+0s ann greet: send email welcome-long
              t=+0s bob greet: send email welcome-long
              t=+0s cat greet: send email welcome-long
              t=+0s dan greet: send email welcome-short
              t=+0s eve greet: send email welcome-short
              t=+0s fay greet: send email welcome-short
              t=+2d ann greet: send email welcome-long
        "#]],
    );
}

/// A task asks a person (sales) to act; completing it is an event the run waits for; a task
/// not done in time takes the timeout path.
#[test]
fn a_task_asks_sales_to_call_and_its_completion_moves_the_run_on() {
    let doc = json!({
        "id": "demo", "entry": {"event": "Demo Requested"},
        "steps": [
            {"id": "call", "type": "task", "title": "Call {{ traits.name }}", "body": "They asked for a demo of {{ event.product }}",
             "team": "sales", "due": "1d", "next": "done"},
            {"id": "done", "type": "wait_for", "timeout": "3d", "timeout_next": "chase",
             "events": [{"event": "Task Completed", "filter": {"property": "node", "op": "eq", "value": "call"}, "next": "thanks"}]},
            {"id": "thanks", "type": "send", "template": "thanks-for-talking"},
            {"id": "chase", "type": "task", "title": "Nobody called {{ traits.name }} yet", "assignee": "lead@acme.test"}
        ]
    });
    check(
        doc,
        r#"
        +0s ann identify {"name": "Ann"}
        +0s ann track Demo Requested {"product": "Atlas"}
        +0s bob track Demo Requested {"product": "Atlas"}
        +2h ann track Task Completed {"node": "call", "note": "booked"}
        +4d
        "#,
        expect![[r#"
            t=+0s ann: entered on Demo Requested / call: task for team sales, due in 1d / done: wait_for Task Completed (timeout 3d) => #1 waiting at done until +3d
            t=+0s bob: entered on Demo Requested / call: task for team sales, due in 1d / done: wait_for Task Completed (timeout 3d) => #1 waiting at done until +3d
            t=+2h ann: done: got Task Completed -> thanks / thanks: send email thanks-for-talking / completed => #2 exited: completed
            t=+3d bob: done: wait_for Task Completed timed out -> chase / chase: task for lead@acme.test / completed => #2 exited: completed
            outbox:
              t=+0s ann call: task {"body":"They asked for a demo of {{ event.product }}","due":"1d","team":"sales","title":"Call {{ traits.name }}"} due 2027-01-16T08:00:00.000Z
              t=+0s bob call: task {"body":"They asked for a demo of {{ event.product }}","due":"1d","team":"sales","title":"Call {{ traits.name }}"} due 2027-01-16T08:00:00.000Z
              t=+2h ann thanks: send email thanks-for-talking
              t=+3d bob chase: task {"assignee":"lead@acme.test","title":"Nobody called {{ traits.name }} yet"} due never
        "#]],
    );
}

/// Quiet hours on each person's wall clock: a send in them waits until they end (`hold`) or is
/// not made (`skip`); the trace says which, in which zone, until when. At 20:30 UTC it is
/// 21:30 in Oslo (quiet), 15:30 in New York (not), 05:30 in Tokyo (quiet, the hours span
/// midnight); a daylight-saving change inside the hold moves the instant they end.
#[test]
fn quiet_hours_hold_or_skip_sends_on_each_persons_wall_clock() {
    let steps = json!([{"id": "hello", "type": "send", "template": "hello", "next": "later"},
                       {"id": "later", "type": "wait", "duration": "2h", "next": "again"},
                       {"id": "again", "type": "send", "template": "again"}]);
    let hold = json!({"id": "hold", "entry": {"event": "Signed Up"}, "timezone": "UTC",
        "quiet_hours": {"from": "21:00", "to": "08:00"}, "steps": steps});
    let script = r#"
        +0s oslo identify {"timezone": "Europe/Oslo"}
        +0s nyc identify {"timezone": "America/New_York"}
        +0s tokyo identify {"timezone": "Asia/Tokyo"}
        +0s oslo track Signed Up
        +0s nyc track Signed Up
        +0s tokyo track Signed Up
        +1d
    "#;
    check_at(
        hold,
        "2026-03-28T20:30:00Z",
        script,
        expect![[r#"
            t=+0s oslo: entered on Signed Up / hello: quiet hours (21:00-08:00 Europe/Oslo, from trait timezone): holding email hello until 2026-03-29T06:00:00.000Z => #1 waiting at hello until +9h30m
            t=+0s nyc: entered on Signed Up / hello: send email hello / later: wait 2h => #1 waiting at later until +2h
            t=+0s tokyo: entered on Signed Up / hello: quiet hours (21:00-08:00 Asia/Tokyo, from trait timezone): holding email hello until 2026-03-28T23:00:00.000Z => #1 waiting at hello until +2h30m
            t=+2h nyc: later: wait over -> again / again: send email again / completed => #2 exited: completed
            t=+2h30m tokyo: hello: quiet hours over / hello: send email hello / later: wait 2h => #2 waiting at later until +4h30m
            t=+4h30m tokyo: later: wait over -> again / again: send email again / completed => #3 exited: completed
            t=+9h30m oslo: hello: quiet hours over / hello: send email hello / later: wait 2h => #2 waiting at later until +11h30m
            t=+11h30m oslo: later: wait over -> again / again: send email again / completed => #3 exited: completed
            outbox:
              t=+0s nyc hello: send email hello
              t=+2h nyc again: send email again
              t=+2h30m tokyo hello: send email hello
              t=+4h30m tokyo again: send email again
              t=+9h30m oslo hello: send email hello
              t=+11h30m oslo again: send email again
        "#]],
    );
    let skip = json!({"id": "skip", "entry": {"event": "Signed Up"}, "timezone": "UTC",
        "quiet_hours": {"from": "21:00", "to": "08:00", "then": "skip"}, "steps": steps});
    check_at(
        skip,
        "2026-03-28T20:30:00Z",
        script,
        expect![[r#"
            t=+0s oslo: entered on Signed Up / hello: not sending email hello: quiet hours (21:00-08:00 Europe/Oslo, from trait timezone) -> later / later: wait 2h => #1 waiting at later until +2h
            t=+0s nyc: entered on Signed Up / hello: send email hello / later: wait 2h => #1 waiting at later until +2h
            t=+0s tokyo: entered on Signed Up / hello: not sending email hello: quiet hours (21:00-08:00 Asia/Tokyo, from trait timezone) -> later / later: wait 2h => #1 waiting at later until +2h
            t=+2h nyc: later: wait over -> again / again: send email again / completed => #2 exited: completed
            t=+2h oslo: later: wait over -> again / again: not sending email again: quiet hours (21:00-08:00 Europe/Oslo, from trait timezone) -> (end) / completed => #2 exited: completed
            t=+2h tokyo: later: wait over -> again / again: not sending email again: quiet hours (21:00-08:00 Asia/Tokyo, from trait timezone) -> (end) / completed => #2 exited: completed
            outbox:
              t=+0s nyc hello: send email hello
              t=+2h nyc again: send email again
        "#]],
    );
}

#[test]
fn branch_on_traits_and_wait_for_filter() {
    let doc = json!({
        "id": "upgrade", "entry": {"event": "Trial Started", "filter": {"trait": "plan", "op": "eq", "value": "trial"}},
        "steps": [
            {"id": "big", "type": "branch", "cases": [{"when": {"property": "seats", "op": "gte", "value": 10}, "next": "sales"}], "else": "paid"},
            {"id": "sales", "type": "send", "template": "talk-to-sales"},
            {"id": "paid", "type": "wait_for", "events": [{"event": "Plan Changed", "filter": {"property": "to", "op": "eq", "value": "pro"}, "next": "thanks"}], "timeout": "14d"},
            {"id": "thanks", "type": "send", "template": "thanks"}
        ]
    });
    check(
        doc,
        r#"
        +0s fay track Trial Started {"seats": 3}
        +0s fay identify {"plan": "trial"}
        +1s fay track Trial Started {"seats": 3}
        +1s gus identify {"plan": "trial"}
        +2s gus track Trial Started {"seats": 12}
        +1d fay track Plan Changed {"to": "basic"}
        +2d fay track Plan Changed {"to": "pro"}
    "#,
        expect![[r#"
            t=+1s fay: entered on Trial Started [trait plan = "trial" eq "trial" -> true] / big: case 0 false [property seats = 3 gte 10 -> false] / big: else -> paid / paid: wait_for Plan Changed (timeout 14d) => #1 waiting at paid until +14d1s
            t=+2s gus: entered on Trial Started [trait plan = "trial" eq "trial" -> true] / big: case 0 true [property seats = 12 gte 10 -> true] / sales: send email talk-to-sales / completed => #1 exited: completed
            t=+1d fay: paid: ignored Plan Changed [property to = "basic" eq "pro" -> false] => #2 waiting at paid until +14d1s
            t=+2d fay: paid: got Plan Changed -> thanks / thanks: send email thanks / completed => #3 exited: completed
            outbox:
              t=+2s gus sales: send email talk-to-sales
              t=+2d fay thanks: send email thanks
        "#]],
    );
}

#[test]
fn validation_reports_every_problem_with_its_node() {
    let doc = json!({
        "id": "Bad Id",
        "entry": {"filter": {"trait": "x", "op": "nope"}},
        "steps": [
            {"id": "a", "type": "branch", "cases": [{"when": {"trait": "x", "op": "exists"}, "next": "b"}], "else": "ghost"},
            {"id": "b", "type": "send"},
            {"id": "b", "type": "wait", "duration": "soon"},
            {"id": "c", "type": "teleport"}
        ]
    });
    let diags = Journey::parse(&doc).expect_err("invalid");
    let text: Vec<String> =
        diags.iter().map(|d| format!("{} {} {}: {}", d.node.as_deref().unwrap_or("-"), d.path, d.code, d.message)).collect();
    expect![[r#"
        - /id invalid_id: "id" must be 1-100 characters of a-z, 0-9, - and _
        - /entry/event missing_field: an event match needs an "event" name
        - /entry/filter/op condition_unknown_op: unknown operator "nope"; use one of eq, ne, gt, gte, lt, lte, contains, starts_with, ends_with, in, exists, not_exists
        b /steps/1/template missing_field: this step needs "template"
        b /steps/2/id duplicate_id: step id "b" is used twice
        b /steps/2/duration invalid_duration: invalid duration "soon": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
        c /steps/3/type unknown_step_type: unknown step type "teleport"; available: wait, wait_for, branch, split, send, update, webhook, task, exit
        a /steps/0/else dangling_next: else points to "ghost", which is not a step
    "#]]
    .assert_eq(&(text.join("\n") + "\n"));
}

#[test]
fn validation_finds_unreachable_steps_and_cycles_without_wait() {
    let doc = json!({
        "id": "loops", "entry": {"event": "X"},
        "steps": [
            {"id": "a", "type": "send", "template": "t", "next": "b"},
            {"id": "b", "type": "branch", "cases": [{"when": {"trait": "x", "op": "exists"}, "next": "a"}], "else": "w"},
            {"id": "w", "type": "wait", "duration": "1d", "next": "a"},
            {"id": "orphan", "type": "exit"}
        ]
    });
    let diags = Journey::parse(&doc).expect_err("invalid");
    let text: Vec<String> = diags.iter().map(|d| format!("{} {}", d.node.as_deref().unwrap_or("-"), d.code)).collect();
    assert_eq!(text, ["orphan unreachable_step", "a cycle_without_wait"]);
    let two_ways_back = json!({"id": "loops", "entry": {"event": "X"}, "steps": [
        {"id": "a", "type": "send", "template": "t", "next": "b"},
        {"id": "b", "type": "branch", "cases": [{"when": {"trait": "x", "op": "exists"}, "next": "a"}], "else": "a"}
    ]});
    expect![[r#"
        /steps/0 cycle_without_wait: step "a" is part of a cycle with no wait or wait_for in it
    "#]]
    .assert_eq(&diagnostics(&two_ways_back));
}

fn check_at(doc: Value, start: &str, script: &str, expect: Expect) {
    expect.assert_eq(&Driver::at(doc, start).run(script));
}

#[test]
fn goal_reached_during_a_30_day_wait_exits_on_day_1() {
    let doc = json!({
        "id": "onboarding", "entry": {"event": "Signed Up"},
        "goal": {"event": "Subscribed", "within": "30d", "exit": true},
        "steps": [{"id": "pause", "type": "wait", "duration": "30d", "next": "nudge"}, {"id": "nudge", "type": "send", "template": "nudge"}]
    });
    check(
        doc,
        "
        +0s ann track Signed Up
        +1d ann track Subscribed
        +40d
    ",
        expect![[r#"
            t=+0s ann: entered on Signed Up / pause: wait 30d => #1 waiting at pause until +30d
            t=+1d ann: goal reached: Subscribed => #2 exited: goal reached: Subscribed, converted at +1d
        "#]],
    );
}

#[test]
fn goal_without_exit_records_the_conversion_and_continues() {
    let doc = json!({
        "id": "onboarding", "entry": {"event": "Signed Up"},
        "goal": {"event": "Subscribed"},
        "steps": [{"id": "pause", "type": "wait", "duration": "2d", "next": "thanks"}, {"id": "thanks", "type": "send", "template": "thanks"}]
    });
    check(
        doc,
        "
        +0s bea track Signed Up
        +1d bea track Subscribed
        +1d bea track Subscribed
        +3d
    ",
        expect![[r#"
            t=+0s bea: entered on Signed Up / pause: wait 2d => #1 waiting at pause until +2d
            t=+1d bea: goal reached: Subscribed => #2 waiting at pause until +2d, converted at +1d
            t=+2d bea: pause: wait over -> thanks / thanks: send email thanks / completed => #3 exited: completed, converted at +1d
            outbox:
              t=+2d bea thanks: send email thanks
        "#]],
    );
}

#[test]
fn split_assigns_a_stable_variant_per_person() {
    let doc = json!({
        "id": "subject-test", "entry": {"event": "Signed Up"},
        "steps": [
            {"id": "ab", "type": "split", "paths": [{"name": "a", "weight": 50, "next": "send-a"}, {"name": "b", "weight": 50, "next": "send-b"}]},
            {"id": "send-a", "type": "send", "template": "welcome-a"},
            {"id": "send-b", "type": "send", "template": "welcome-b"}
        ]
    });
    check(
        doc,
        "
        +0s ann track Signed Up
        +0s bob track Signed Up
        +0s cat track Signed Up
        +0s dan track Signed Up
        +1d ann track Signed Up
    ",
        expect![[r#"
            t=+0s ann: entered on Signed Up / ab: split -> variant a (50/100) -> send-a / send-a: send email welcome-a / completed => #1 exited: completed, ab=a
            t=+0s bob: entered on Signed Up / ab: split -> variant b (50/100) -> send-b / send-b: send email welcome-b / completed => #1 exited: completed, ab=b
            t=+0s cat: entered on Signed Up / ab: split -> variant b (50/100) -> send-b / send-b: send email welcome-b / completed => #1 exited: completed, ab=b
            t=+0s dan: entered on Signed Up / ab: split -> variant a (50/100) -> send-a / send-a: send email welcome-a / completed => #1 exited: completed, ab=a
            t=+1d ann: entered on Signed Up / ab: split -> variant a (50/100) -> send-a / send-a: send email welcome-a / completed => #1 exited: completed, ab=a
            outbox:
              t=+0s ann send-a: send email welcome-a
              t=+0s bob send-b: send email welcome-b
              t=+0s cat send-b: send email welcome-b
              t=+0s dan send-a: send email welcome-a
              t=+1d ann send-a: send email welcome-a
        "#]],
    );
}

#[test]
fn update_changes_traits_that_later_steps_see() {
    let doc = json!({
        "id": "loyalty", "entry": {"event": "Order Completed"},
        "steps": [
            {"id": "count", "type": "update", "increment": {"orders": 1}, "set": {"customer": true}, "unset": ["prospect"], "next": "vip"},
            {"id": "vip", "type": "branch", "cases": [{"when": {"trait": "orders", "op": "gte", "value": 2}, "next": "thanks"}]},
            {"id": "thanks", "type": "send", "template": "vip-thanks"}
        ]
    });
    check(
        doc,
        r#"
        +0s eve identify {"prospect": true}
        +1h eve track Order Completed
        +2h eve track Order Completed
    "#,
        expect![[r#"
            t=+1h eve: entered on Order Completed / count: update customer = true, orders = 1, prospect = null / vip: case 0 false [trait orders = 1 gte 2 -> false] / vip: else -> (end) / completed => #1 exited: completed
            t=+2h eve: entered on Order Completed / count: update orders = 2 / vip: case 0 true [trait orders = 2 gte 2 -> true] / thanks: send email vip-thanks / completed => #1 exited: completed
            outbox:
              t=+1h eve count: update {"increment":{"orders":1},"set":{"customer":true},"unset":["prospect"]}
              t=+2h eve count: update {"increment":{"orders":1},"set":{"customer":true},"unset":["prospect"]}
              t=+2h eve thanks: send email vip-thanks
        "#]],
    );
}

#[test]
fn holdout_puts_a_stable_share_in_a_control_group_that_gets_nothing() {
    let doc = json!({
        "id": "winback", "entry": {"event": "Churned", "holdout": 50},
        "steps": [{"id": "offer", "type": "send", "template": "offer"}]
    });
    check(
        doc,
        "
        +0s ann track Churned
        +0s bob track Churned
        +0s cat track Churned
    ",
        expect![[r#"
            t=+0s ann: entered on Churned / control group (holdout 50%): recorded, nothing is sent / offer: control group, not sending offer / completed => #1 exited: completed, control group
            t=+0s bob: entered on Churned / offer: send email offer / completed => #1 exited: completed
            t=+0s cat: entered on Churned / offer: send email offer / completed => #1 exited: completed
            outbox:
              t=+0s bob offer: send email offer
              t=+0s cat offer: send email offer
        "#]],
    );
}

#[test]
fn reentry_rules_and_entry_limit() {
    let never =
        json!({"id": "once", "entry": {"event": "Visited", "reentry": "never"}, "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
    check(
        never,
        "
        +0s ann track Visited
        +1d ann track Visited
    ",
        expect![[r#"
            t=+0s ann: entered on Visited / hi: send email hi / completed => #1 exited: completed
            outbox:
              t=+0s ann hi: send email hi
        "#]],
    );
    let cooldown = json!({"id": "weekly", "entry": {"event": "Visited", "reentry": {"after": "7d"}}, "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
    check(
        cooldown,
        "
        +0s ann track Visited
        +3d ann track Visited
        +7d ann track Visited
    ",
        expect![[r#"
            t=+0s ann: entered on Visited / hi: send email hi / completed => #1 exited: completed
            t=+7d ann: entered on Visited / hi: send email hi / completed => #1 exited: completed
            outbox:
              t=+0s ann hi: send email hi
              t=+7d ann hi: send email hi
        "#]],
    );
    let limited =
        json!({"id": "first-two", "entry": {"event": "Visited", "limit": 2}, "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
    check(
        limited,
        "
        +0s ann track Visited
        +0s bob track Visited
        +0s cat track Visited
    ",
        expect![[r#"
            t=+0s ann: entered on Visited / hi: send email hi / completed => #1 exited: completed
            t=+0s bob: entered on Visited / hi: send email hi / completed => #1 exited: completed
            outbox:
              t=+0s ann hi: send email hi
              t=+0s bob hi: send email hi
        "#]],
    );
}

#[test]
fn trait_change_and_api_entries() {
    let upgrade = json!({"id": "upgraded", "entry": {"trait_change": {"trait": "plan", "to": "pro"}},
        "steps": [{"id": "thanks", "type": "send", "template": "pro-welcome"}]});
    check(
        upgrade,
        r#"
        +0s fay identify {"plan": "free"}
        +1d fay identify {"plan": "free"}
        +2d fay identify {"plan": "pro"}
        +3d fay identify {"plan": "pro"}
    "#,
        expect![[r#"
            t=+2d fay: entered on Trait Changed / thanks: send email pro-welcome / completed => #1 exited: completed
            outbox:
              t=+2d fay thanks: send email pro-welcome
        "#]],
    );
    let api = json!({"id": "manual", "entry": {"api": true},
        "steps": [{"id": "big", "type": "branch", "cases": [{"when": {"property": "coupon", "op": "exists"}, "next": "send"}]}, {"id": "send", "type": "send", "template": "coupon"}]});
    check(
        api,
        r#"
        +0s gus api {"coupon": "SAVE10"}
        +0s hal api {}
    "#,
        expect![[r#"
            t=+0s gus: entered on API Call / big: case 0 true [property coupon = "SAVE10" exists -> true] / send: send email coupon / completed => #1 exited: completed
            t=+0s hal: entered on API Call / big: case 0 false [property coupon = (absent) exists -> false] / big: else -> (end) / completed => #1 exited: completed
            outbox:
              t=+0s gus send: send email coupon
        "#]],
    );
}

#[test]
fn wait_until_nine_in_three_zones_across_a_daylight_saving_change() {
    // Europe/Paris moves to summer time on 2026-03-29; New York already has; Tokyo has none.
    let doc = json!({"id": "morning", "entry": {"event": "Signed Up"}, "timezone": "UTC",
        "steps": [{"id": "nine", "type": "wait", "until": {"time": "09:00"}, "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]});
    check_at(
        doc,
        "2026-03-28T10:00:00Z",
        r#"
        +0s paris identify {"timezone": "Europe/Paris"}
        +0s nyc identify {"timezone": "America/New_York"}
        +0s tokyo identify {"timezone": "Asia/Tokyo"}
        +0s nobody identify {"timezone": "Mars/Olympus"}
        +0s paris track Signed Up
        +0s nyc track Signed Up
        +0s tokyo track Signed Up
        +0s nobody track Signed Up
        +2d
    "#,
        expect![[r#"
            t=+0s paris: entered on Signed Up / nine: wait until 2026-03-29T07:00:00.000Z (09:00 Europe/Paris, from trait timezone) => #1 waiting at nine until +21h
            t=+0s nyc: entered on Signed Up / nine: wait until 2026-03-28T13:00:00.000Z (09:00 America/New_York, from trait timezone) => #1 waiting at nine until +3h
            t=+0s tokyo: entered on Signed Up / nine: wait until 2026-03-29T00:00:00.000Z (09:00 Asia/Tokyo, from trait timezone) => #1 waiting at nine until +14h
            t=+0s nobody: entered on Signed Up / nine: trait timezone "Mars/Olympus" is not a time zone; using UTC (the journey's) / nine: wait until 2026-03-29T09:00:00.000Z (09:00 UTC, from the journey) => #1 waiting at nine until +23h
            t=+3h nyc: nine: wait over -> hello / hello: send email hello / completed => #2 exited: completed
            t=+14h tokyo: nine: wait over -> hello / hello: send email hello / completed => #2 exited: completed
            t=+21h paris: nine: wait over -> hello / hello: send email hello / completed => #2 exited: completed
            t=+23h nobody: nine: wait over -> hello / hello: send email hello / completed => #2 exited: completed
            outbox:
              t=+3h nyc hello: send email hello
              t=+14h tokyo hello: send email hello
              t=+21h paris hello: send email hello
              t=+23h nobody hello: send email hello
        "#]],
    );
}

#[test]
fn wait_until_a_date_trait_minus_an_offset() {
    let doc = json!({"id": "renewal", "entry": {"event": "Subscribed"}, "timezone": "Europe/Paris",
        "steps": [{"id": "before", "type": "wait", "until_trait": "renewal_date", "offset": "-3d", "next": "remind"}, {"id": "remind", "type": "send", "template": "renewal"}]});
    check(
        doc,
        r#"
        +0s ida identify {"renewal_date": "2027-02-01"}
        +0s ida track Subscribed
        +0s jon identify {"renewal_date": "2027-01-10"}
        +0s jon track Subscribed
        +0s kim track Subscribed
        +20d
    "#,
        expect![[r#"
            t=+0s ida: entered on Subscribed / before: wait until 2027-01-28T23:00:00.000Z (-3d from renewal_date "2027-02-01" at 00:00 Europe/Paris, from the journey) => #1 waiting at before until +13d15h
            t=+0s jon: entered on Subscribed / before: 2027-01-06T23:00:00.000Z (-3d from renewal_date "2027-01-10" at 00:00 Europe/Paris, from the journey) has passed, no wait -> remind / remind: send email renewal / completed => #1 exited: completed
            t=+0s kim: entered on Subscribed / before: trait renewal_date is not set, no wait -> remind / remind: send email renewal / completed => #1 exited: completed
            t=+13d15h ida: before: wait over -> remind / remind: send email renewal / completed => #2 exited: completed
            outbox:
              t=+0s jon remind: send email renewal
              t=+0s kim remind: send email renewal
              t=+13d15h ida remind: send email renewal
        "#]],
    );
}

#[test]
fn history_sum_and_clock_conditions() {
    let doc = json!({"id": "big-spender", "entry": {"event": "Order Completed"}, "timezone": "Europe/Paris",
        "steps": [{"id": "vip", "type": "branch", "cases": [{"when": {"all": [
            {"history": {"event": "Order Completed", "within": "30d", "aggregate": "sum", "property": "total"}, "op": "gte", "value": 100},
            {"clock": "day_of_week", "op": "in", "value": ["mon", "tue", "wed", "thu", "fri"]}
        ]}, "next": "thanks"}]}, {"id": "thanks", "type": "send", "template": "vip"}]});
    check(
        doc,
        r#"
        +0s leo track Order Completed {"total": 60}
        +1d leo track Order Completed {"total": 50.5}
        +1d kai identify {"timezone": "Pacific/Honolulu"}
        +1d kai track Order Completed {"total": 100}
        +1d mia identify {"timezone": "Mars/Base"}
        +1d mia track Order Completed {"total": 100}
    "#,
        expect![[r#"
            t=+0s leo: entered on Order Completed / vip: case 0 false [sum(total of "Order Completed" in 30d) = 60 gte 100 -> false] / vip: else -> (end) / completed => #1 exited: completed
            t=+1d leo: entered on Order Completed / vip: case 0 false [sum(total of "Order Completed" in 30d) = 110.5 gte 100 -> true; day_of_week (Europe/Paris, from the journey) = "sat" in ["mon","tue","wed","thu","fri"] -> false] / vip: else -> (end) / completed => #1 exited: completed
            t=+1d kai: entered on Order Completed / vip: case 0 true [sum(total of "Order Completed" in 30d) = 100 gte 100 -> true; day_of_week (Pacific/Honolulu, from trait timezone) = "fri" in ["mon","tue","wed","thu","fri"] -> true] / thanks: send email vip / completed => #1 exited: completed
            t=+1d mia: entered on Order Completed / vip: case 0 false [sum(total of "Order Completed" in 30d) = 100 gte 100 -> true; day_of_week (Europe/Paris, from the journey: trait timezone "Mars/Base" is not a time zone) = "sat" in ["mon","tue","wed","thu","fri"] -> false] / vip: else -> (end) / completed => #1 exited: completed
            outbox:
              t=+1d kai thanks: send email vip
        "#]],
    );
}

#[test]
fn validation_of_the_new_steps_and_entry_options() {
    let doc = json!({
        "id": "bad", "timezone": "Mars/Base",
        "entry": {"event": "X", "reentry": "sometimes", "holdout": 150, "limit": 0},
        "goal": {"event": "Y", "within": "never"},
        "steps": [
            {"id": "ab", "type": "split", "paths": [{"name": "a", "weight": 70, "next": "w"}, {"name": "a", "weight": 20, "next": "w"}]},
            {"id": "w", "type": "wait", "duration": "1d", "until": {"time": "09:00"}, "next": "u"},
            {"id": "u", "type": "update", "increment": {"n": "one"}, "next": "t"},
            {"id": "t", "type": "wait", "until": {"time": "25:00", "timezone": "Nowhere"}}
        ]
    });
    let diags = Journey::parse(&doc).expect_err("invalid");
    let text: Vec<String> = diags.iter().map(|d| format!("{} {} {}", d.node.as_deref().unwrap_or("-"), d.path, d.code)).collect();
    expect![[r#"
        - /entry/reentry invalid_field
        - /entry/limit invalid_field
        - /entry/holdout invalid_field
        - /goal/within invalid_duration
        - /timezone unknown_timezone
        ab /steps/0/paths/1/name duplicate_id
        ab /steps/0/paths split_weights
        w /steps/1 invalid_wait
        u /steps/2/increment/n invalid_field
        t /steps/3/until/timezone unknown_timezone
        t /steps/3/until/time invalid_field
    "#]]
    .assert_eq(&(text.join("\n") + "\n"));
}

#[test]
fn schedule_and_date_entries() {
    let digest = json!({"id": "digest", "entry": {"schedule": {"cron": "0 9 * * mon", "timezone": "Europe/Paris"},
        "audience": {"trait": "plan", "op": "eq", "value": "pro"}}, "steps": [{"id": "send", "type": "send", "template": "digest"}]});
    check(
        digest,
        r#"
        +0s ann identify {"plan": "pro"}
        +0s bob identify {"plan": "free"}
        +3d ann scheduled
        +3d bob scheduled
    "#,
        expect![[r#"
            t=+3d ann: entered on Schedule [trait plan = "pro" eq "pro" -> true] / send: send email digest / completed => #1 exited: completed
            outbox:
              t=+3d ann send: send email digest
        "#]],
    );
    let renewal = json!({"id": "renewal", "entry": {"date": {"trait": "renewal_date", "offset": "-3d", "at": "09:00"}},
        "steps": [{"id": "send", "type": "send", "template": "renewal"}]});
    check(
        renewal,
        r#"
        +0s cy identify {"renewal_date": "2027-01-20"}
        +1d cy scheduled
        +1d dan scheduled
    "#,
        expect![[r#"
            t=+1d cy: entered on Date Reached / send: send email renewal / completed => #1 exited: completed
            outbox:
              t=+1d cy send: send email renewal
        "#]],
    );
    let j =
        Journey::parse(&json!({"id": "r", "timezone": "UTC", "entry": {"date": {"trait": "renewal_date", "offset": "-3d", "at": "09:00"}},
        "steps": [{"id": "e", "type": "exit"}]}))
        .expect("valid");
    let traits = |v: Value| v.as_object().cloned().unwrap_or_default();
    let at = |t: Value| j.date_entry_at(&traits(t)).map(|t| t.to_string());
    assert_eq!(at(json!({"renewal_date": "2027-01-20", "timezone": "Asia/Tokyo"})).as_deref(), Some("2027-01-17T00:00:00.000Z"));
    assert_eq!(at(json!({"renewal_date": "2027-01-20"})).as_deref(), Some("2027-01-17T09:00:00.000Z"));
    assert_eq!(at(json!({"renewal_date": "soon"})), None);
}

#[test]
fn schedule_and_date_entries_are_validated() {
    let bad = |entry: Value| {
        let doc = json!({"id": "x", "entry": entry, "steps": [{"id": "e", "type": "exit"}]});
        Journey::parse(&doc).expect_err("invalid").iter().map(|d| format!("{} {}", d.path, d.code)).collect::<Vec<_>>()
    };
    assert_eq!(
        bad(json!({"schedule": {"cron": "0 25 * * *", "timezone": "Nowhere"}})),
        ["/entry/schedule/cron invalid_cron", "/entry/schedule/timezone unknown_timezone"]
    );
    assert_eq!(
        bad(json!({"schedule": {"cron": "0 9 * * *"}, "audience": {"history": {"event": "X", "within": "1d"}, "op": "gte", "value": 1}})),
        ["/entry/audience condition_invalid"]
    );
    assert_eq!(
        bad(json!({"date": {"trait": "renewal_date", "at": "09:10", "offset": "soon"}})),
        ["/entry/date/offset invalid_duration", "/entry/date/at invalid_field"]
    );
}

/// A journey with every kind of object the language has, valid as it is.
fn every_kind_of_object() -> Value {
    json!({
        "id": "sink", "name": "Every kind of object", "timezone": "Europe/Paris",
        "entry": {"event": "Signed Up", "filter": {"trait": "plan", "op": "eq", "value": "pro"},
                  "key": "account_id", "reentry": {"after": "30d"}, "limit": 100, "holdout": 10, "concurrent": false},
        "exit": [{"event": "Unsubscribed", "filter": {"property": "reason", "op": "exists"}}],
        "goal": {"event": "Subscribed", "within": "14d", "exit": true, "from": "hello"},
        "steps": [
            {"id": "pause", "type": "wait", "duration": "1d", "next": "nine"},
            {"id": "nine", "type": "wait", "until": {"time": "09:00", "days": 1, "after": "pause", "timezone": "Europe/Paris"}, "next": "renewal"},
            {"id": "renewal", "type": "wait", "until_trait": "renewal_date", "offset": "-3d", "next": "booked"},
            {"id": "booked", "type": "wait_for", "timeout": "3d", "timeout_next": "vip",
             "events": [{"event": "Demo Booked", "filter": {"property": "kind", "op": "eq", "value": "demo"},
                         "run": {"set": {"demo": "{{ received.kind }}"}, "append": {"demos": "{{ received }}"}}, "next": "vip"}]},
            {"id": "vip", "type": "branch", "else": "ab", "cases": [{"next": "ab", "when": {"all": [
                {"any": [{"not": {"trait": "plan", "op": "eq", "value": "free"}}]},
                {"history": {"event": "Order Completed", "within": "30d", "aggregate": "sum", "property": "total",
                             "where": {"property": "currency", "op": "eq", "value": "EUR"}}, "op": "gte", "value": 100},
                {"clock": "day_of_week", "op": "in", "value": ["mon", "tue"]},
                {"run": "demo", "op": "eq", "ref": "event.account_id"}
            ]}}]},
            {"id": "ab", "type": "split", "paths": [{"name": "a", "weight": 50, "next": "hello"}, {"name": "b", "weight": 50, "next": "count"}]},
            {"id": "hello", "type": "send", "channel": "email", "template": "hello", "next": "count"},
            {"id": "count", "type": "update", "set": {"customer": true}, "increment": {"orders": 1}, "unset": ["prospect"],
             "run": {"set": {"counted": true}, "append": {"demos": "none"}}, "next": "crm"},
            {"id": "crm", "type": "webhook", "url": "https://crm.example/hook", "method": "POST", "body": {"x": 1},
             "save": {"score": "/score"}, "next": "call"},
            {"id": "done", "type": "exit"},
            {"id": "call", "type": "task", "title": "Call {{ traits.name }}", "body": "About {{ event.plan }}", "assignee": "sam@acme.test",
             "team": "sales", "due": "2d", "next": "done"}
        ]
    })
}

/// Runs each line of `script` on a fresh copy of `doc` and lists the diagnostics it gets:
/// `rename POINTER KEY` renames the key at POINTER (a typo), `set POINTER JSON` sets one.
fn check_edits(doc: Value, script: &str, expect: Expect) {
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut edited = doc.clone();
        let mut words = line.splitn(3, ' ');
        let (Some(verb), Some(pointer), Some(arg)) = (words.next(), words.next(), words.next()) else { panic!("bad line {line}") };
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        match (verb, edited.pointer_mut(parent)) {
            ("rename", Some(Value::Object(obj))) => {
                let v = obj.remove(key).unwrap_or_else(|| panic!("no {pointer}"));
                obj.insert(arg.to_owned(), v);
            }
            ("set", Some(Value::Object(obj))) => {
                obj.insert(key.to_owned(), serde_json::from_str(arg).expect("json"));
            }
            ("set", Some(Value::Array(items))) => {
                items[key.parse::<usize>().expect("an index")] = serde_json::from_str(arg).expect("json");
            }
            _ => panic!("cannot {verb} {pointer}"),
        }
        out += &format!("{line}\n");
        match Journey::parse(&edited) {
            Ok(_) => out += "  valid\n",
            Err(diags) => {
                for d in diags {
                    let node = d.node.map_or(String::new(), |n| format!("[{n}] "));
                    out += &format!("  {node}{} {}: {}\n", d.path, d.code, d.message);
                }
            }
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn every_object_with_every_key_is_valid() {
    let j = Journey::parse(&every_kind_of_object()).expect("valid");
    assert_eq!((j.steps.len(), j.history.len(), j.reads_clock), (11, 1, true));
}

#[test]
fn a_misspelt_key_anywhere_is_an_error_with_a_suggestion() {
    check_edits(
        every_kind_of_object(),
        r#"
        rename /entry/filter filters
        rename /steps/6/next nxt
        rename /exit exits
        rename /steps/3/timeout_next timeout_nxt
        set /nmae "Typo"
        set /entry {"trait_change": {"trait": "plan", "too": "pro"}, "filter": {"trait": "plan", "op": "exists"}}
        set /entry {"schedule": {"cron": "0 9 * * mon", "timzone": "Europe/Paris"}, "audiance": {"trait": "plan", "op": "exists"}}
        set /entry {"date": {"trait": "renewal_date", "offest": "-3d"}}
        set /entry {"api": true, "holdot": 10}
        rename /entry/reentry/after afer
        set /goal/withn "7d"
        rename /exit/0/filter filtre
        rename /steps/0/duration durration
        set /steps/1/until/zone "Europe/Paris"
        rename /steps/2/until_trait until_traits
        set /steps/3/events/0/timeout "1d"
        rename /steps/4/else otherwise
        rename /steps/4/cases/0/when if
        rename /steps/4/cases/0/when/all/0/any/0/not/value vaule
        set /steps/4/cases/0/when/op "eq"
        set /steps/4/cases/0/when/all/0/anyy []
        set /steps/4/cases/0/when/all/0/any/0/note {}
        rename /steps/4/cases/0/when/all/1/op operator
        rename /steps/4/cases/0/when/all/1/history/where filter
        rename /steps/4/cases/0/when/all/1/history/where/property properties
        rename /steps/4/cases/0/when/all/2/clock clok
        rename /steps/5/paths path
        rename /steps/5/paths/0/weight wieght
        set /steps/6/subject "Hello"
        rename /steps/7/increment incremnt
        set /steps/8/headers {"x-api-key": "k"}
        set /steps/9/next "pause"
        rename /steps/9/type typ
    "#,
        expect![[r#"
            rename /entry/filter filters
              /entry/filters unknown_field: "filters" is not a field of an event entry; did you mean "filter"?
            rename /steps/6/next nxt
              [hello] /steps/6/nxt unknown_field: "nxt" is not a field of a send step; did you mean "next"?
            rename /exit exits
              /exits unknown_field: "exits" is not a field of a journey; did you mean "exit"?
            rename /steps/3/timeout_next timeout_nxt
              [booked] /steps/3/timeout_nxt unknown_field: "timeout_nxt" is not a field of a wait_for step; did you mean "timeout_next"?
            set /nmae "Typo"
              /nmae unknown_field: "nmae" is not a field of a journey; did you mean "name"?
            set /entry {"trait_change": {"trait": "plan", "too": "pro"}, "filter": {"trait": "plan", "op": "exists"}}
              /entry/filter unknown_field: "filter" is not a field of a trait_change entry; its fields are trait_change, reentry, limit, holdout, concurrent
              /entry/trait_change/too unknown_field: "too" is not a field of "trait_change"; did you mean "to"?
            set /entry {"schedule": {"cron": "0 9 * * mon", "timzone": "Europe/Paris"}, "audiance": {"trait": "plan", "op": "exists"}}
              /entry/audiance unknown_field: "audiance" is not a field of a schedule entry; did you mean "audience"?
              /entry/schedule/timzone unknown_field: "timzone" is not a field of "schedule"; did you mean "timezone"?
            set /entry {"date": {"trait": "renewal_date", "offest": "-3d"}}
              /entry/date/offest unknown_field: "offest" is not a field of "date"; did you mean "offset"?
            set /entry {"api": true, "holdot": 10}
              /entry/holdot unknown_field: "holdot" is not a field of an api entry; did you mean "holdout"?
            rename /entry/reentry/after afer
              /entry/reentry/afer unknown_field: "afer" is not a field of a reentry rule; did you mean "after"?
              /entry/reentry/after invalid_duration: "after" must be a positive duration such as "3d"
            set /goal/withn "7d"
              /goal/withn unknown_field: "withn" is not a field of a goal; did you mean "within"?
            rename /exit/0/filter filtre
              /exit/0/filtre unknown_field: "filtre" is not a field of an exit; did you mean "filter"?
            rename /steps/0/duration durration
              [pause] /steps/0/durration unknown_field: "durration" is not a field of a wait step; did you mean "duration"?
              [pause] /steps/0 invalid_wait: a wait has exactly one of "duration", "until" ({"time": "09:00"}) or "until_trait"
            set /steps/1/until/zone "Europe/Paris"
              [nine] /steps/1/until/zone unknown_field: "zone" is not a field of "until"; its fields are time, days, after, timezone
            rename /steps/2/until_trait until_traits
              [renewal] /steps/2/until_traits unknown_field: "until_traits" is not a field of a wait step; did you mean "until_trait"?
              [renewal] /steps/2 invalid_wait: a wait has exactly one of "duration", "until" ({"time": "09:00"}) or "until_trait"
            set /steps/3/events/0/timeout "1d"
              [booked] /steps/3/events/0/timeout unknown_field: "timeout" is not a field of a wait_for event; its fields are event, filter, run, next
            rename /steps/4/else otherwise
              [vip] /steps/4/otherwise unknown_field: "otherwise" is not a field of a branch step; its fields are id, type, cases, else
            rename /steps/4/cases/0/when if
              [vip] /steps/4/cases/0/if unknown_field: "if" is not a field of a branch case; its fields are when, next
              [vip] /steps/4/cases/0/when missing_field: a branch case needs "when"
            rename /steps/4/cases/0/when/all/0/any/0/not/value vaule
              [vip] /steps/4/cases/0/when/all/0/any/0/not/vaule unknown_field: "vaule" is not a field of a trait condition; did you mean "value"?
              [vip] /steps/4/cases/0/when/all/0/any/0/not condition_invalid: operator "eq" needs a "value"
            set /steps/4/cases/0/when/op "eq"
              [vip] /steps/4/cases/0/when/op unknown_field: "op" is not a field of an all condition; its fields are all
            set /steps/4/cases/0/when/all/0/anyy []
              [vip] /steps/4/cases/0/when/all/0/anyy unknown_field: "anyy" is not a field of an any condition; did you mean "any"?
            set /steps/4/cases/0/when/all/0/any/0/note {}
              [vip] /steps/4/cases/0/when/all/0/any/0/note unknown_field: "note" is not a field of a not condition; did you mean "not"?
            rename /steps/4/cases/0/when/all/1/op operator
              [vip] /steps/4/cases/0/when/all/1/operator unknown_field: "operator" is not a field of a history condition; its fields are history, op, value
              [vip] /steps/4/cases/0/when/all/1 condition_invalid: a comparison needs "op"
            rename /steps/4/cases/0/when/all/1/history/where filter
              [vip] /steps/4/cases/0/when/all/1/history/filter unknown_field: "filter" is not a field of a history query; its fields are event, within, where, aggregate, property
            rename /steps/4/cases/0/when/all/1/history/where/property properties
              [vip] /steps/4/cases/0/when/all/1/history/where/properties unknown_field: "properties" is not a field of a condition; did you mean "property"?
              [vip] /steps/4/cases/0/when/all/1/history/where condition_invalid: a condition is one of {"all": [...]}, {"any": [...]}, {"not": ...}, a comparison on one of "trait", "property", "run", "history" or "clock", {"reachable": "email"} or {"segment": "id"}
            rename /steps/4/cases/0/when/all/2/clock clok
              [vip] /steps/4/cases/0/when/all/2/clok unknown_field: "clok" is not a field of a condition; did you mean "clock"?
              [vip] /steps/4/cases/0/when/all/2 condition_invalid: a condition is one of {"all": [...]}, {"any": [...]}, {"not": ...}, a comparison on one of "trait", "property", "run", "history" or "clock", {"reachable": "email"} or {"segment": "id"}
            rename /steps/5/paths path
              [ab] /steps/5/path unknown_field: "path" is not a field of a split step; did you mean "paths"?
              [ab] /steps/5/paths missing_field: split needs "paths": two or more {"name", "weight", "next"}
            rename /steps/5/paths/0/weight wieght
              [ab] /steps/5/paths/0/wieght unknown_field: "wieght" is not a field of a split path; did you mean "weight"?
              [ab] /steps/5/paths/0/weight invalid_weight: a split weight is a whole percent from 1 to 100
            set /steps/6/subject "Hello"
              [hello] /steps/6/subject unknown_field: "subject" is not a field of a send step; its fields are id, type, channel, template, variants, next, on_unreachable, on_failure
            rename /steps/7/increment incremnt
              [count] /steps/7/incremnt unknown_field: "incremnt" is not a field of an update step; did you mean "increment"?
            set /steps/8/headers {"x-api-key": "k"}
              [crm] /steps/8/headers unknown_field: "headers" is not a field of a webhook step; its fields are id, type, url, method, body, save, next
            set /steps/9/next "pause"
              [done] /steps/9/next unknown_field: "next" is not a field of an exit step; its fields are id, type
            rename /steps/9/type typ
              [done] /steps/9/typ unknown_field: "typ" is not a field of a step; did you mean "type"?
              [done] /steps/9/type unknown_step_type: unknown step type ""; available: wait, wait_for, branch, split, send, update, webhook, task, exit
        "#]],
    );
}

#[test]
fn every_name_a_journey_reads_is_listed_with_its_place() {
    let j = Journey::parse(&every_kind_of_object()).expect("valid");
    let names: Vec<String> = j
        .names()
        .iter()
        .map(|r| format!("{:?} {:?} {}{}", r.kind, r.name, r.path, r.node.as_ref().map_or(String::new(), |n| format!(" [{n}]"))))
        .collect();
    expect![[r#"
        Event "Signed Up" /entry/event
        Trait "plan" /entry/filter/trait
        Event "Unsubscribed" /exit/0/event
        Event "Subscribed" /goal/event
        Trait "renewal_date" /steps/2/until_trait [renewal]
        Event "Demo Booked" /steps/3/events/0/event [booked]
        Trait "plan" /steps/4/cases/0/when/all/0/any/0/not/trait [vip]
        Event "Order Completed" /steps/4/cases/0/when/all/1/history/event [vip]
        Trait "orders" /steps/7/increment/orders [count]
        Trait "prospect" /steps/7/unset/0 [count]
    "#]]
    .assert_eq(&(names.join("\n") + "\n"));
}

#[test]
fn names_the_data_has_never_seen_are_warnings_with_a_suggestion() {
    let j = Journey::parse(&every_kind_of_object()).expect("valid");
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<std::collections::BTreeSet<String>>();
    let events = set(&["Signed Up", "Unsubscribed", "Subscribed", "demo booked", "Order Complete", "Page Viewed"]);
    let traits = set(&["plan", "renewal_date", "order", "prospects", "email", "address"]);
    let diags = j.unseen(&events, &traits);
    let text: Vec<String> = diags
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}: {}",
                d.node.as_deref().unwrap_or("-"),
                d.path,
                serde_json::to_value(d.severity).unwrap_or_default(),
                d.code,
                d.message
            )
        })
        .collect();
    expect![[r#"
        booked /steps/3/events/0/event "warning" unseen_event: no event named "Demo Booked" has been seen yet; did you mean "demo booked"?
        vip /steps/4/cases/0/when/all/1/history/event "warning" unseen_event: no event named "Order Completed" has been seen yet; did you mean "Order Complete"?
        count /steps/7/unset/0 "warning" unseen_trait: no profile has had a trait "prospect" yet; did you mean "prospects"?
    "#]].assert_eq(&(text.join("\n") + "\n"));
    assert!(diags.iter().all(|d| !d.is_error()));
    let small = Journey::parse(&json!({"id": "small", "entry": {"event": "Checkout Started", "filter": {"trait": "adress.city", "op": "eq", "value": "Paris"}},
        "steps": [{"id": "w", "type": "wait", "until_trait": "renewal", "next": "n"}, {"id": "n", "type": "webhook", "url": "https://x.example", "save": {"renewal": "/r"}}]}))
    .expect("valid");
    let text: Vec<String> = small.unseen(&events, &traits).iter().map(|d| format!("{} {}: {}", d.path, d.code, d.message)).collect();
    expect![[r#"
        /entry/event unseen_event: no event named "Checkout Started" has been seen yet
        /entry/filter/trait unseen_trait: no profile has had a trait "adress" yet; did you mean "address.city"?
    "#]]
    .assert_eq(&(text.join("\n") + "\n"));
    let all_seen = j.unseen(
        &set(&["Signed Up", "Unsubscribed", "Subscribed", "Demo Booked", "Order Completed"]),
        &set(&["plan", "renewal_date", "prospect"]),
    );
    assert_eq!(all_seen, []);
}

/// `n` steps, each pointing to the next; `last_next` is where the last one points.
fn chain(n: usize, kind: impl Fn(usize) -> Value, last_next: Option<usize>) -> Value {
    let steps: Vec<Value> = (0..n)
        .map(|i| {
            let mut step = kind(i);
            step["id"] = Value::String(format!("s{i}"));
            if let Some(next) = if i + 1 < n { Some(i + 1) } else { last_next } {
                step["next"] = Value::String(format!("s{next}"));
            }
            step
        })
        .collect();
    let mut doc = json!({"id": "long", "entry": {"event": "Signed Up"}});
    doc["steps"] = Value::Array(steps); // moved in: `json!` would copy it
    doc
}

/// The diagnostics of a document, one a line (the first ten, then how many more).
fn diagnostics(doc: &Value) -> String {
    match Journey::parse(doc) {
        Ok(_) => "valid\n".to_owned(),
        Err(diags) => {
            let mut out: String = diags.iter().take(10).map(|d| format!("{} {}: {}\n", d.path, d.code, d.message)).collect();
            if diags.len() > 10 {
                out += &format!("... and {} more\n", diags.len() - 10);
            }
            out
        }
    }
}

#[test]
fn a_chain_of_100_000_steps_is_checked_without_running_out_of_stack() {
    let send = |_| json!({"type": "send", "template": "hello"});
    let wait_every_500 = |i| if i % 500 == 0 { json!({"type": "wait", "duration": "1h"}) } else { send(i) };
    expect![[r#"
        valid
    "#]]
    .assert_eq(&diagnostics(&chain(10_000, wait_every_500, None)));
    expect![[r#"
        /steps/0 too_many_steps_without_wait: from step "s0" a run goes through 100000 steps without waiting; one transition takes at most 1000, then the run exits
    "#]].assert_eq(&diagnostics(&chain(100_000, send, None)));
    expect![[r#"
        /steps/99990 cycle_without_wait: step "s99990" is part of a cycle with no wait or wait_for in it
    "#]]
    .assert_eq(&diagnostics(&chain(100_000, send, Some(99_990))));
}

#[test]
fn conditions_nested_10_000_deep_are_refused_beyond_the_depth_limit() {
    // Built by hand: `json!` would copy the inner value recursively.
    let wrap = |key: &str, inner: Value| Value::Object(Map::from_iter([(key.to_owned(), inner)]));
    let (mut not, mut all, mut history) =
        (json!({"trait": "plan", "op": "exists"}), json!({"trait": "plan", "op": "exists"}), json!({"property": "n", "op": "exists"}));
    for _ in 0..10_000 {
        not = wrap("not", not);
        all = wrap("all", Value::Array(vec![all]));
        let mut query = json!({"event": "Page Viewed", "within": "1d"});
        query["where"] = history;
        history = json!({"op": "exists"});
        history["history"] = query;
    }
    let doc = |filter: Value| {
        let mut doc = json!({"id": "deep", "entry": {"event": "Signed Up"}, "steps": [{"id": "e", "type": "exit"}]});
        doc["entry"]["filter"] = filter;
        doc
    };
    let shown = |doc: Value| {
        let text = diagnostics(&doc);
        dismantle(doc);
        text.replace(&"/not".repeat(32), "/not(×32)")
            .replace(&"/all/0".repeat(32), "/all/0(×32)")
            .replace(&"/history/where".repeat(32), "/history/where(×32)")
    };
    expect![[r#"
        /entry/filter/not(×32) condition_too_deep: conditions nest at most 32 deep
    "#]]
    .assert_eq(&shown(doc(not)));
    expect![[r#"
        /entry/filter/all/0(×32) condition_too_deep: conditions nest at most 32 deep
    "#]]
    .assert_eq(&shown(doc(all)));
    expect![[r#"
        /entry/filter/history/where(×32) condition_too_deep: conditions nest at most 32 deep
    "#]]
    .assert_eq(&shown(doc(history)));
}

/// Takes a value apart one level at a time: dropping a deep one whole recurses as deep as it
/// is (serde_json's parser refuses more than 128 levels, so only tests build such values).
fn dismantle(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Each line is `ENTRY | BEFORE | INPUT`: a journey's entry (its one step sends `hi`), what
/// came before (`none`, or `waiting`/`exited` with `entered 2d ago`, and `N runs so far`) and
/// the input (`track NAME {props}`, `trait NAME: FROM -> TO` with `absent` for no value,
/// `api {payload}`, `scheduled`, `timer`). Shows whether `step` starts a run, and with what.
/// The person has the traits `{"plan": "pro", "renewal_date": "2027-01-20"}`.
fn check_entries(script: &str, expect: Expect) {
    let now = Timestamp::parse("2027-01-15T08:00:00Z").expect("now");
    let traits = json!({"plan": "pro", "renewal_date": "2027-01-20"}).as_object().cloned().unwrap_or_default();
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let [entry, before, input] = <[&str; 3]>::try_from(line.split(" | ").collect::<Vec<_>>()).expect("ENTRY | BEFORE | INPUT");
        let entry: Value = serde_json::from_str(entry).expect("entry json");
        let doc = json!({"id": "j", "entry": entry, "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
        let journey = Journey::parse(&doc).expect("valid journey");
        let mut previous = None;
        let mut entries = 0;
        for fact in before.split(", ") {
            let words: Vec<&str> = fact.split(' ').collect();
            match words.as_slice() {
                ["none"] => {}
                [status @ ("waiting" | "exited"), "entered", ago, "ago"] => {
                    let ago: Duration = ago.parse().expect("duration");
                    let status = if *status == "waiting" { RunStatus::Waiting } else { RunStatus::Exited };
                    previous = Some(Run {
                        journey: journey.id.clone(),
                        version: 1,
                        status,
                        node: None,
                        wake_at: None,
                        exit_reason: None,
                        entered_at: now.minus(ago),
                        updated_at: now.minus(ago),
                        seq: 1,
                        trigger: Map::new(),
                        trigger_event: String::new(),
                        control: false,
                        held: false,
                        converted_at: None,
                        key: None,
                        vars: Map::new(),
                        goal_from: None,
                        revenue: None,
                        counts: BTreeMap::new(),
                        reached: BTreeMap::new(),
                        assignments: BTreeMap::new(),
                    });
                }
                [n, "runs", "so", "far"] => entries = n.parse().expect("count"),
                _ => panic!("unknown fact {fact:?}"),
            }
        }
        let (verb, rest) = input.split_once(' ').unwrap_or((input, ""));
        let props: Map = rest.find('{').map_or_else(Map::new, |i| serde_json::from_str(&rest[i..]).expect("json"));
        let event;
        let (from, to);
        let input = match verb {
            "track" => {
                let name = rest.find('{').map_or(rest, |i| &rest[..i]).trim();
                let raw = json!({"type": "track", "userId": "ann", "event": name, "properties": props});
                let env = Envelope { kind: None, received_at: now, sent_at: None, fallback_message_id: "1" };
                event = Event::parse(raw, &env).expect("event");
                Input::Event(&event)
            }
            "trait" => {
                let (name, change) = rest.split_once(": ").expect("trait NAME: FROM -> TO");
                let (a, b) = change.split_once(" -> ").expect("FROM -> TO");
                let value = |s: &str| (s != "absent").then(|| serde_json::from_str::<Value>(s).expect("json"));
                (from, to) = (value(a), value(b));
                Input::TraitChange { name, from: from.as_ref(), to: to.as_ref() }
            }
            "api" => Input::Api { payload: &props },
            "scheduled" => Input::Scheduled,
            "timer" => Input::Timer,
            other => panic!("unknown input {other}"),
        };
        let ctx = Context {
            traits: &traits,
            history: &[],
            previous: previous.as_ref(),
            entries,
            render: &Paths,
            segments: &domain::condition::NO_SEGMENTS,
        };
        let shown = match step(&journey, 1, None, input, &ctx, now, 7) {
            Some(t) => format!("{} {}", t.trace.first().map_or("", TraceLine::as_str), Value::Object(t.run.trigger)),
            None => "-".to_owned(),
        };
        out += &format!("{line}\n  {shown}\n");
    }
    expect.assert_eq(&out);
}

#[test]
fn who_may_enter_a_journey() {
    check_entries(
        r#"
        {"event": "Visited"} | none | track Visited {"path": "/a"}
        {"event": "Visited"} | none | track Signed Up
        {"event": "Visited", "filter": {"trait": "plan", "op": "eq", "value": "free"}} | none | track Visited
        {"event": "Visited"} | waiting entered 2d ago | track Visited
        {"event": "Visited", "concurrent": true} | waiting entered 2d ago | track Visited
        {"event": "Visited"} | exited entered 2d ago | track Visited
        {"event": "Visited", "reentry": "never"} | exited entered 2d ago | track Visited
        {"event": "Visited", "reentry": {"after": "2d"}} | exited entered 2d ago | track Visited
        {"event": "Visited", "reentry": {"after": "2d"}} | exited entered 1d ago | track Visited
        {"event": "Visited", "reentry": {"after": "1d"}, "concurrent": true} | waiting entered 2d ago | track Visited
        {"event": "Visited", "reentry": "never", "concurrent": true} | waiting entered 2d ago | track Visited
        {"event": "Visited", "limit": 3} | 2 runs so far | track Visited
        {"event": "Visited", "limit": 3} | 3 runs so far | track Visited
        {"event": "Visited"} | 3 runs so far | track Visited
        {"trait_change": {"trait": "plan"}} | none | trait plan: "trial" -> "pro"
        {"trait_change": {"trait": "plan"}} | none | trait plan: absent -> "pro"
        {"trait_change": {"trait": "plan"}} | none | trait plan: "pro" -> absent
        {"trait_change": {"trait": "plan"}} | none | trait plan: "pro" -> "pro"
        {"trait_change": {"trait": "plan"}} | none | trait plan: null -> absent
        {"trait_change": {"trait": "plan"}} | none | trait tier: "a" -> "b"
        {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "trial" -> "pro"
        {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "free" -> "pro"
        {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "trial" -> "team"
        {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "free" -> "team"
        {"trait_change": {"trait": "plan", "to": "pro"}} | none | trait plan: absent -> "pro"
        {"trait_change": {"trait": "plan", "from": "trial"}} | none | trait plan: "trial" -> absent
        {"trait_change": {"trait": "plan", "from": null}} | none | trait plan: absent -> "pro"
        {"trait_change": {"trait": "plan"}} | waiting entered 2d ago | trait plan: "trial" -> "pro"
        {"trait_change": {"trait": "plan"}} | none | track Visited
        {"api": true} | none | api {"coupon": "X"}
        {"api": true} | none | scheduled
        {"event": "Visited"} | none | api {}
        {"schedule": {"cron": "0 9 * * mon"}} | none | scheduled
        {"schedule": {"cron": "0 9 * * mon"}, "audience": {"trait": "plan", "op": "eq", "value": "pro"}} | none | scheduled
        {"schedule": {"cron": "0 9 * * mon"}, "audience": {"trait": "plan", "op": "eq", "value": "free"}} | none | scheduled
        {"schedule": {"cron": "0 9 * * mon"}} | none | track Visited
        {"date": {"trait": "renewal_date", "offset": "-5d"}} | none | scheduled
        {"date": {"trait": "signup_date"}} | none | scheduled
        {"date": {"trait": "renewal_date"}} | none | api {}
        {"event": "Visited"} | none | timer
    "#,
        expect![[r#"
            {"event": "Visited"} | none | track Visited {"path": "/a"}
              entered on Visited {"path":"/a"}
            {"event": "Visited"} | none | track Signed Up
              -
            {"event": "Visited", "filter": {"trait": "plan", "op": "eq", "value": "free"}} | none | track Visited
              -
            {"event": "Visited"} | waiting entered 2d ago | track Visited
              -
            {"event": "Visited", "concurrent": true} | waiting entered 2d ago | track Visited
              entered on Visited {}
            {"event": "Visited"} | exited entered 2d ago | track Visited
              entered on Visited {}
            {"event": "Visited", "reentry": "never"} | exited entered 2d ago | track Visited
              -
            {"event": "Visited", "reentry": {"after": "2d"}} | exited entered 2d ago | track Visited
              entered on Visited {}
            {"event": "Visited", "reentry": {"after": "2d"}} | exited entered 1d ago | track Visited
              -
            {"event": "Visited", "reentry": {"after": "1d"}, "concurrent": true} | waiting entered 2d ago | track Visited
              entered on Visited {}
            {"event": "Visited", "reentry": "never", "concurrent": true} | waiting entered 2d ago | track Visited
              -
            {"event": "Visited", "limit": 3} | 2 runs so far | track Visited
              entered on Visited {}
            {"event": "Visited", "limit": 3} | 3 runs so far | track Visited
              -
            {"event": "Visited"} | 3 runs so far | track Visited
              entered on Visited {}
            {"trait_change": {"trait": "plan"}} | none | trait plan: "trial" -> "pro"
              entered on Trait Changed {"from":"trial","to":"pro","trait":"plan"}
            {"trait_change": {"trait": "plan"}} | none | trait plan: absent -> "pro"
              entered on Trait Changed {"from":null,"to":"pro","trait":"plan"}
            {"trait_change": {"trait": "plan"}} | none | trait plan: "pro" -> absent
              entered on Trait Changed {"from":"pro","to":null,"trait":"plan"}
            {"trait_change": {"trait": "plan"}} | none | trait plan: "pro" -> "pro"
              -
            {"trait_change": {"trait": "plan"}} | none | trait plan: null -> absent
              -
            {"trait_change": {"trait": "plan"}} | none | trait tier: "a" -> "b"
              -
            {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "trial" -> "pro"
              entered on Trait Changed {"from":"trial","to":"pro","trait":"plan"}
            {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "free" -> "pro"
              -
            {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "trial" -> "team"
              -
            {"trait_change": {"trait": "plan", "from": "trial", "to": "pro"}} | none | trait plan: "free" -> "team"
              -
            {"trait_change": {"trait": "plan", "to": "pro"}} | none | trait plan: absent -> "pro"
              entered on Trait Changed {"from":null,"to":"pro","trait":"plan"}
            {"trait_change": {"trait": "plan", "from": "trial"}} | none | trait plan: "trial" -> absent
              entered on Trait Changed {"from":"trial","to":null,"trait":"plan"}
            {"trait_change": {"trait": "plan", "from": null}} | none | trait plan: absent -> "pro"
              entered on Trait Changed {"from":null,"to":"pro","trait":"plan"}
            {"trait_change": {"trait": "plan"}} | waiting entered 2d ago | trait plan: "trial" -> "pro"
              -
            {"trait_change": {"trait": "plan"}} | none | track Visited
              -
            {"api": true} | none | api {"coupon": "X"}
              entered on API Call {"coupon":"X"}
            {"api": true} | none | scheduled
              -
            {"event": "Visited"} | none | api {}
              -
            {"schedule": {"cron": "0 9 * * mon"}} | none | scheduled
              entered on Schedule {"schedule":"0 9 * * mon","scheduled_at":"2027-01-15T08:00:00.000Z"}
            {"schedule": {"cron": "0 9 * * mon"}, "audience": {"trait": "plan", "op": "eq", "value": "pro"}} | none | scheduled
              entered on Schedule [trait plan = "pro" eq "pro" -> true] {"schedule":"0 9 * * mon","scheduled_at":"2027-01-15T08:00:00.000Z"}
            {"schedule": {"cron": "0 9 * * mon"}, "audience": {"trait": "plan", "op": "eq", "value": "free"}} | none | scheduled
              -
            {"schedule": {"cron": "0 9 * * mon"}} | none | track Visited
              -
            {"date": {"trait": "renewal_date", "offset": "-5d"}} | none | scheduled
              entered on Date Reached {"date":"2027-01-20","trait":"renewal_date"}
            {"date": {"trait": "signup_date"}} | none | scheduled
              -
            {"date": {"trait": "renewal_date"}} | none | api {}
              -
            {"event": "Visited"} | none | timer
              -
        "#]],
    );
}

#[test]
fn every_invalid_value_is_reported_where_it_is() {
    check_edits(
        every_kind_of_object(),
        r#"
        set /id "Not A Slug"
        set /id ""
        set /name 3
        set /name null
        set /timezone "Mars/Olympus"
        set /timezone null
        set /entry "Signed Up"
        set /entry {"event": " "}
        set /entry {"event": "X", "filter": {"trait": "x"}}
        set /entry {"trait_change": "plan"}
        set /entry {"trait_change": {"trait": ""}}
        set /entry {"api": false}
        set /entry {"schedule": "daily"}
        set /entry {"schedule": {"cron": "0 25 * * *", "timezone": "Nowhere"}}
        set /entry {"schedule": {}}
        set /entry {"schedule": {"cron": "0 9 * * *"}, "audience": {"history": {"event": "X", "within": "1d"}, "op": "gte", "value": 1}}
        set /entry {"date": "renewal_date"}
        set /entry {"date": {"offset": "3d", "at": "9am"}}
        set /entry {"date": {"trait": "d", "offset": 3, "at": "09:10"}}
        set /entry {"date": {"trait": "d", "at": "24:00"}}
        set /entry {"date": {"trait": "d", "at": "09:60"}}
        set /entry {"date": {"trait": "d", "at": "9:00"}}
        set /entry {"date": {"trait": "d", "offset": "+1w", "at": "23:45"}}
        set /entry/reentry "sometimes"
        set /entry/reentry {"after": "0s"}
        set /entry/reentry null
        set /entry/reentry "never"
        set /entry/reentry "always"
        set /entry/limit 0
        set /entry/limit 1.5
        set /entry/limit null
        set /entry/holdout 101
        set /entry/holdout -1
        set /entry/holdout 100
        set /entry/concurrent "yes"
        set /entry/concurrent null
        set /exit {"event": "X"}
        set /exit null
        set /exit ["Unsubscribed"]
        set /exit/0/event ""
        set /goal "Subscribed"
        set /goal/within "never"
        set /goal/within 7
        set /goal/exit "yes"
        set /goal null
        set /steps []
        set /steps {}
        set /steps/0 "wait"
        set /steps/0/id "Pause"
        set /steps/1/id "pause"
        set /steps/0/next 3
        set /steps/0/next null
        set /steps/0/duration "-1d"
        set /steps/0/until {"time": "09:00"}
        set /steps/0/offset "1d"
        set /steps/1/until "09:00"
        set /steps/1/until/time "9:00"
        set /steps/1/until/time "24:00"
        set /steps/1/until/time "12:60"
        set /steps/1/until/timezone null
        set /steps/1/until/days 0
        set /steps/1/until/days 366
        set /steps/1/until/days 367
        set /steps/1/until/days 1.5
        set /steps/1/until/days -1
        set /steps/1/until/days "7"
        set /steps/1/until {"time": "09:00", "after": "entry"}
        set /steps/1/until {"time": "09:00", "days": 7}
        set /steps/1/until/after "entry"
        set /steps/1/until/after "nine"
        set /steps/1/until/after "renewl"
        set /steps/1/until/after "Pause"
        set /steps/1/until/after 3
        set /steps/1/until/after "renewal"
        set /steps/1/until/after "hello"
        set /steps/2/until_trait ""
        set /steps/2/offset "soon"
        set /steps/2/offset 3
        set /steps/3/events []
        set /steps/3/events ["Demo Booked"]
        set /steps/3/events/0/next 1
        set /steps/3/events/0/filter {"trait": "x"}
        set /steps/3/timeout "0s"
        set /steps/3/timeout_next "nowhere"
        set /steps/4/cases []
        set /steps/4/cases [7]
        set /steps/4/cases/0/next "nowhere"
        set /steps/4/else "nowhere"
        set /steps/4/cases/0/when {"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}
        set /steps/5/paths [{"name": "a", "weight": 100}]
        set /steps/5/paths [{"name": "a", "weight": 60, "next": "hello"}, {"name": "b", "weight": 60, "next": "count"}]
        set /steps/5/paths [{"name": "a", "weight": 0, "next": "hello"}, {"name": "", "weight": 100, "next": "count"}]
        set /steps/5/paths [{"name": "a", "weight": 1, "next": "hello"}, {"name": "b", "weight": 99, "next": "count"}]
        set /steps/5/paths [{"name": "a", "weight": 101, "next": "hello"}, "b"]
        set /steps/6/channel "fax"
        set /steps/6/channel 1
        set /steps/6/template ""
        set /steps/7/set []
        set /steps/7/increment {"orders": "one", "a/b": "x"}
        set /steps/7/increment 1
        set /steps/7/unset "prospect"
        set /steps/7/unset [1]
        set /steps/7 {"id": "count", "type": "update", "next": "crm"}
        set /steps/7 {"id": "count", "type": "update", "set": {}, "unset": [], "next": "crm"}
        set /steps/7 {"id": "count", "type": "update", "unset": ["a"], "next": "crm"}
        set /steps/8/url "ftp://x"
        set /steps/8/url ""
        set /steps/8/method "fetch"
        set /steps/8/method "get"
        set /steps/8/method 3
        set /steps/8/method null
        set /steps/8/save {"score": "score", "tier": 3, "a~b": "/ok"}
        set /steps/8/save "score"
        set /steps/8/save null
        set /steps/9/type "teleport"
        set /steps/9/type 3
    "#,
        expect![[r#"
            set /id "Not A Slug"
              /id invalid_id: "id" must be 1-100 characters of a-z, 0-9, - and _
            set /id ""
              /id invalid_id: "id" must be 1-100 characters of a-z, 0-9, - and _
            set /name 3
              /name invalid_field: "name" is text
            set /name null
              valid
            set /timezone "Mars/Olympus"
              /timezone unknown_timezone: "Mars/Olympus" is not an IANA time zone such as "Europe/Paris"
            set /timezone null
              valid
            set /entry "Signed Up"
              /entry invalid_field: "entry" must be an object
            set /entry {"event": " "}
              /entry/event missing_field: an event match needs an "event" name
            set /entry {"event": "X", "filter": {"trait": "x"}}
              /entry/filter condition_invalid: a comparison needs "op"
            set /entry {"trait_change": "plan"}
              /entry/trait_change invalid_field: "trait_change" must be an object
            set /entry {"trait_change": {"trait": ""}}
              /entry/trait_change/trait missing_field: a trait_change entry names its "trait"
            set /entry {"api": false}
              /entry/api invalid_field: "api" is true (an entry through the admin API)
            set /entry {"schedule": "daily"}
              /entry/schedule invalid_field: "schedule" must be an object
            set /entry {"schedule": {"cron": "0 25 * * *", "timezone": "Nowhere"}}
              /entry/schedule/cron invalid_cron: "25" is outside 0-23
              /entry/schedule/timezone unknown_timezone: "Nowhere" is not an IANA time zone such as "Europe/Paris"
            set /entry {"schedule": {}}
              /entry/schedule/cron missing_field: a schedule needs "cron", e.g. "0 9 * * mon"
            set /entry {"schedule": {"cron": "0 9 * * *"}, "audience": {"history": {"event": "X", "within": "1d"}, "op": "gte", "value": 1}}
              /entry/audience condition_invalid: a schedule's audience reads traits and the clock, not history
            set /entry {"date": "renewal_date"}
              /entry/date invalid_field: "date" must be an object
            set /entry {"date": {"offset": "3d", "at": "9am"}}
              /entry/date/trait missing_field: a date entry names its date "trait"
              /entry/date/at invalid_field: "at" is a 24-hour "HH:MM" on a quarter hour, such as "09:00"
            set /entry {"date": {"trait": "d", "offset": 3, "at": "09:10"}}
              /entry/date/offset invalid_duration: an offset is a duration such as "-3d"
              /entry/date/at invalid_field: "at" is a 24-hour "HH:MM" on a quarter hour, such as "09:00"
            set /entry {"date": {"trait": "d", "at": "24:00"}}
              /entry/date/at invalid_field: "at" is a 24-hour "HH:MM" on a quarter hour, such as "09:00"
            set /entry {"date": {"trait": "d", "at": "09:60"}}
              /entry/date/at invalid_field: "at" is a 24-hour "HH:MM" on a quarter hour, such as "09:00"
            set /entry {"date": {"trait": "d", "at": "9:00"}}
              /entry/date/at invalid_field: "at" is a 24-hour "HH:MM" on a quarter hour, such as "09:00"
            set /entry {"date": {"trait": "d", "offset": "+1w", "at": "23:45"}}
              [vip] /steps/4/cases/0/when/all/3/ref unknown_ref: the event that starts this journey's runs has only trait, date, not "account_id"
            set /entry/reentry "sometimes"
              /entry/reentry invalid_field: reentry is "always", "never" or {"after": "30d"}
            set /entry/reentry {"after": "0s"}
              /entry/reentry/after invalid_duration: "after" must be a positive duration such as "3d"
            set /entry/reentry null
              valid
            set /entry/reentry "never"
              valid
            set /entry/reentry "always"
              valid
            set /entry/limit 0
              /entry/limit invalid_field: limit is a whole number of runs, at least 1
            set /entry/limit 1.5
              /entry/limit invalid_field: limit is a whole number of runs, at least 1
            set /entry/limit null
              valid
            set /entry/holdout 101
              /entry/holdout invalid_field: holdout is a whole percent from 0 to 100
            set /entry/holdout -1
              /entry/holdout invalid_field: holdout is a whole percent from 0 to 100
            set /entry/holdout 100
              valid
            set /entry/concurrent "yes"
              /entry/concurrent invalid_field: concurrent is true or false
            set /entry/concurrent null
              valid
            set /exit {"event": "X"}
              /exit invalid_field: "exit" must be a list of event matches
            set /exit null
              valid
            set /exit ["Unsubscribed"]
              /exit/0 invalid_field: an exit must be an object
            set /exit/0/event ""
              /exit/0/event missing_field: an event match needs an "event" name
            set /goal "Subscribed"
              /goal invalid_field: "goal" must be an object
            set /goal/within "never"
              /goal/within invalid_duration: invalid duration "never": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            set /goal/within 7
              /goal/within invalid_duration: "within" must be a positive duration such as "3d"
            set /goal/exit "yes"
              /goal/exit invalid_field: "exit" is true or false
            set /goal null
              valid
            set /steps []
              /steps missing_field: a journey needs a non-empty list of "steps"
              /goal/from dangling_next: from names "hello", which is not a step
            set /steps {}
              /steps missing_field: a journey needs a non-empty list of "steps"
              /goal/from dangling_next: from names "hello", which is not a step
            set /steps/0 "wait"
              /steps/0/id invalid_id: each step needs an "id" of a-z, 0-9, - and _
              /steps/0 invalid_step: a step must be an object
              [nine] /steps/1/until/after dangling_next: after names "pause", which is not a step ("entry" counts from the run's entry)
            set /steps/0/id "Pause"
              [Pause] /steps/0/id invalid_id: each step needs an "id" of a-z, 0-9, - and _
              [nine] /steps/1/until/after dangling_next: after names "pause", which is not a step ("entry" counts from the run's entry)
            set /steps/1/id "pause"
              [pause] /steps/1/id duplicate_id: step id "pause" is used twice
              [pause] /steps/0/next dangling_next: next points to "nine", which is not a step
            set /steps/0/next 3
              [pause] /steps/0/next invalid_field: "next" must be a step id
            set /steps/0/next null
              [nine] /steps/1 unreachable_step: step "nine" cannot be reached from the first step
              [renewal] /steps/2 unreachable_step: step "renewal" cannot be reached from the first step
              [booked] /steps/3 unreachable_step: step "booked" cannot be reached from the first step
              [vip] /steps/4 unreachable_step: step "vip" cannot be reached from the first step
              [ab] /steps/5 unreachable_step: step "ab" cannot be reached from the first step
              [hello] /steps/6 unreachable_step: step "hello" cannot be reached from the first step
              [count] /steps/7 unreachable_step: step "count" cannot be reached from the first step
              [crm] /steps/8 unreachable_step: step "crm" cannot be reached from the first step
              [done] /steps/9 unreachable_step: step "done" cannot be reached from the first step
              [call] /steps/10 unreachable_step: step "call" cannot be reached from the first step
            set /steps/0/duration "-1d"
              [pause] /steps/0/duration invalid_duration: invalid duration "-1d": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            set /steps/0/until {"time": "09:00"}
              [pause] /steps/0 invalid_wait: a wait has exactly one of "duration", "until" ({"time": "09:00"}) or "until_trait"
            set /steps/0/offset "1d"
              [pause] /steps/0/offset invalid_field: "offset" goes with "until_trait"
            set /steps/1/until "09:00"
              [nine] /steps/1/until invalid_field: "until" must be an object
            set /steps/1/until/time "9:00"
              [nine] /steps/1/until/time invalid_field: "time" is a 24-hour "HH:MM" such as "09:00"
            set /steps/1/until/time "24:00"
              [nine] /steps/1/until/time invalid_field: "time" is a 24-hour "HH:MM" such as "09:00"
            set /steps/1/until/time "12:60"
              [nine] /steps/1/until/time invalid_field: "time" is a 24-hour "HH:MM" such as "09:00"
            set /steps/1/until/timezone null
              valid
            set /steps/1/until/days 0
              valid
            set /steps/1/until/days 366
              valid
            set /steps/1/until/days 367
              [nine] /steps/1/until/days invalid_field: "days" is a whole number of days from 0 to 366
            set /steps/1/until/days 1.5
              [nine] /steps/1/until/days invalid_field: "days" is a whole number of days from 0 to 366
            set /steps/1/until/days -1
              [nine] /steps/1/until/days invalid_field: "days" is a whole number of days from 0 to 366
            set /steps/1/until/days "7"
              [nine] /steps/1/until/days invalid_field: "days" is a whole number of days from 0 to 366
            set /steps/1/until {"time": "09:00", "after": "entry"}
              [nine] /steps/1/until/after invalid_field: "after" goes with "days": {"time": "09:00", "days": 7, "after": "entry"} is 09:00 on the 7th day after the entry
            set /steps/1/until {"time": "09:00", "days": 7}
              valid
            set /steps/1/until/after "entry"
              valid
            set /steps/1/until/after "nine"
              valid
            set /steps/1/until/after "renewl"
              [nine] /steps/1/until/after dangling_next: after names "renewl", which is not a step ("entry" counts from the run's entry); did you mean "renewal"?
            set /steps/1/until/after "Pause"
              [nine] /steps/1/until/after dangling_next: after names "Pause", which is not a step ("entry" counts from the run's entry); did you mean "pause"?
            set /steps/1/until/after 3
              [nine] /steps/1/until/after invalid_field: "after" is "entry" or a step id
            set /steps/1/until/after "renewal"
              [nine] /steps/1/until/after after_not_on_every_path: a run can reach this wait without going through step "renewal", so it would have no day to count from
            set /steps/1/until/after "hello"
              [nine] /steps/1/until/after after_not_on_every_path: a run can reach this wait without going through step "hello", so it would have no day to count from
            set /steps/2/until_trait ""
              [renewal] /steps/2/until_trait missing_field: "until_trait" names a date trait such as "renewal_date"
            set /steps/2/offset "soon"
              [renewal] /steps/2/offset invalid_duration: invalid duration "soon": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            set /steps/2/offset 3
              [renewal] /steps/2/offset invalid_duration: an offset is a duration such as "-3d"
            set /steps/3/events []
              [booked] /steps/3/events missing_field: wait_for needs "events": a list of {"event", "filter", "next"}
            set /steps/3/events ["Demo Booked"]
              [booked] /steps/3/events/0 invalid_field: a wait_for event must be an object
            set /steps/3/events/0/next 1
              [booked] /steps/3/events/0/next invalid_field: "next" must be a step id
            set /steps/3/events/0/filter {"trait": "x"}
              [booked] /steps/3/events/0/filter condition_invalid: a comparison needs "op"
            set /steps/3/timeout "0s"
              [booked] /steps/3/timeout invalid_duration: "timeout" must be a positive duration such as "3d"
            set /steps/3/timeout_next "nowhere"
              [booked] /steps/3/timeout_next dangling_next: timeout_next points to "nowhere", which is not a step
            set /steps/4/cases []
              [vip] /steps/4/cases missing_field: branch needs "cases": a list of {"when", "next"}
            set /steps/4/cases [7]
              [vip] /steps/4/cases/0 invalid_field: a branch case must be an object
            set /steps/4/cases/0/next "nowhere"
              [vip] /steps/4/cases/0/next dangling_next: cases/0/next points to "nowhere", which is not a step
            set /steps/4/else "nowhere"
              [vip] /steps/4/else dangling_next: else points to "nowhere", which is not a step
            set /steps/4/cases/0/when {"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}
              [vip] /steps/4/cases/0/when impossible_condition: this condition can never hold: no value of trait n satisfies every comparison on it
            set /steps/5/paths [{"name": "a", "weight": 100}]
              [ab] /steps/5/paths missing_field: split needs "paths": two or more {"name", "weight", "next"}
            set /steps/5/paths [{"name": "a", "weight": 60, "next": "hello"}, {"name": "b", "weight": 60, "next": "count"}]
              [ab] /steps/5/paths split_weights: split weights add up to 120, not 100
            set /steps/5/paths [{"name": "a", "weight": 0, "next": "hello"}, {"name": "", "weight": 100, "next": "count"}]
              [ab] /steps/5/paths/0/weight invalid_weight: a split weight is a whole percent from 1 to 100
              [ab] /steps/5/paths/1/name missing_field: each split path needs a "name" (the variant recorded)
            set /steps/5/paths [{"name": "a", "weight": 1, "next": "hello"}, {"name": "b", "weight": 99, "next": "count"}]
              valid
            set /steps/5/paths [{"name": "a", "weight": 101, "next": "hello"}, "b"]
              [ab] /steps/5/paths/0/weight invalid_weight: a split weight is a whole percent from 1 to 100
              [ab] /steps/5/paths/1 invalid_field: a split path must be an object
            set /steps/6/channel "fax"
              [hello] /steps/6/channel unknown_channel: unknown channel "fax"; available: email, sms, push, in_app
            set /steps/6/channel 1
              [hello] /steps/6/channel unknown_channel: unknown channel 1; available: email, sms, push, in_app
            set /steps/6/template ""
              [hello] /steps/6/template missing_field: this step needs "template"
            set /steps/7/set []
              [count] /steps/7/set invalid_field: "set" is an object of traits and their values
            set /steps/7/increment {"orders": "one", "a/b": "x"}
              [count] /steps/7/increment/a~1b invalid_field: increment by a number
              [count] /steps/7/increment/orders invalid_field: increment by a number
            set /steps/7/increment 1
              [count] /steps/7/increment invalid_field: "increment" is an object of traits and numbers
            set /steps/7/unset "prospect"
              [count] /steps/7/unset invalid_field: "unset" is a list of trait names
            set /steps/7/unset [1]
              [count] /steps/7/unset invalid_field: "unset" is a list of trait names
            set /steps/7 {"id": "count", "type": "update", "next": "crm"}
              [count] /steps/7 missing_field: update needs "set" (object), "increment" (object of numbers), "unset" (list) or "run" (run variables)
            set /steps/7 {"id": "count", "type": "update", "set": {}, "unset": [], "next": "crm"}
              [count] /steps/7 missing_field: update needs "set" (object), "increment" (object of numbers), "unset" (list) or "run" (run variables)
            set /steps/7 {"id": "count", "type": "update", "unset": ["a"], "next": "crm"}
              valid
            set /steps/8/url "ftp://x"
              [crm] /steps/8/url invalid_url: a webhook url must start with http:// or https://
            set /steps/8/url ""
              [crm] /steps/8/url missing_field: this step needs "url"
            set /steps/8/method "fetch"
              [crm] /steps/8/method invalid_field: method must be one of POST, PUT, PATCH, GET, DELETE
            set /steps/8/method "get"
              valid
            set /steps/8/method 3
              [crm] /steps/8/method invalid_field: method must be one of POST, PUT, PATCH, GET, DELETE
            set /steps/8/method null
              valid
            set /steps/8/save {"score": "score", "tier": 3, "a~b": "/ok"}
              [crm] /steps/8/save/score invalid_field: save maps a trait to a JSON pointer into the response, such as "/data/score"
              [crm] /steps/8/save/tier invalid_field: save maps a trait to a JSON pointer into the response, such as "/data/score"
            set /steps/8/save "score"
              [crm] /steps/8/save invalid_field: save is {"trait": "/json/pointer"}
            set /steps/8/save null
              valid
            set /steps/9/type "teleport"
              [done] /steps/9/type unknown_step_type: unknown step type "teleport"; available: wait, wait_for, branch, split, send, update, webhook, task, exit
            set /steps/9/type 3
              [done] /steps/9/type unknown_step_type: unknown step type 3; available: wait, wait_for, branch, split, send, update, webhook, task, exit
        "#]],
    );
}

#[test]
fn exits_and_goals_during_waits() {
    let doc = json!({
        "id": "trial", "entry": {"event": "Trial Started"},
        "exit": [{"event": "Unsubscribed", "filter": {"property": "list", "op": "eq", "value": "all"}}, {"event": "Account Deleted"}],
        "goal": {"event": "Subscribed", "within": "1d"},
        "steps": [
            {"id": "pick", "type": "wait_for", "timeout": "3d", "timeout_next": "nudge", "events": [
                {"event": "Plan Viewed", "filter": {"property": "plan", "op": "eq", "value": "pro"}, "next": "pro"},
                {"event": "Plan Viewed", "next": "other"},
                {"event": "Subscribed", "next": "thanks"}
            ]},
            {"id": "pro", "type": "send", "template": "pro"},
            {"id": "other", "type": "send", "template": "other"},
            {"id": "thanks", "type": "send", "template": "thanks"},
            {"id": "nudge", "type": "send", "template": "nudge"}
        ]
    });
    check(
        doc,
        r#"
        +0s ann track Trial Started
        +1h ann track Unsubscribed {"list": "news"}
        +2h ann track Page Viewed
        +3h ann track Plan Viewed {"plan": "pro"}
        +0s bob track Trial Started
        +1d bob track Subscribed
        +0s cat track Trial Started
        +1d1s cat track Subscribed
        +0s dan track Trial Started
        +1h dan track Plan Viewed {"plan": "team"}
        +0s eve track Trial Started
        +1h eve track Unsubscribed {"list": "all"}
        +0s fay track Trial Started
        +1h fay track Account Deleted
        +2h fay track Subscribed
        +0s gus track Trial Started
        +3d
    "#,
        expect![[r#"
            t=+0s ann: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+3h ann: pick: got Plan Viewed -> pro / pro: send email pro / completed => #2 exited: completed
            t=+0s bob: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+1d bob: goal reached: Subscribed / pick: got Subscribed -> thanks / thanks: send email thanks / completed => #2 exited: completed, converted at +1d
            t=+0s cat: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+1d1s cat: pick: got Subscribed -> thanks / thanks: send email thanks / completed => #2 exited: completed
            t=+0s dan: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+1h dan: pick: got Plan Viewed -> other / other: send email other / completed => #2 exited: completed
            t=+0s eve: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+1h eve: exit on Unsubscribed => #2 exited: exit event Unsubscribed
            t=+0s fay: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+1h fay: exit on Account Deleted => #2 exited: exit event Account Deleted
            t=+0s gus: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+3d gus: pick: wait_for Plan Viewed | Plan Viewed | Subscribed timed out -> nudge / nudge: send email nudge / completed => #2 exited: completed
            outbox:
              t=+3h ann pro: send email pro
              t=+1d bob thanks: send email thanks
              t=+1d1s cat thanks: send email thanks
              t=+1h dan other: send email other
              t=+3d gus nudge: send email nudge
        "#]],
    );
}

#[test]
fn waits_in_a_zone_of_their_own_and_on_dates_that_are_not_dates() {
    let doc = json!({"id": "tokyo", "entry": {"event": "Signed Up"}, "timezone": "Europe/Paris",
    "steps": [
        {"id": "nine", "type": "wait", "until": {"time": "09:00", "timezone": "Asia/Tokyo"}, "next": "renewal"},
        {"id": "renewal", "type": "wait", "until_trait": "renewal_date", "offset": "1d", "next": "hello"},
        {"id": "hello", "type": "send", "template": "hello"}
    ]});
    check(
        doc,
        r#"
        +0s ann identify {"timezone": "America/New_York", "renewal_date": "soon"}
        +0s ann track Signed Up
        +0s bob identify {"renewal_date": "2027-01-16T10:00:00Z"}
        +0s bob track Signed Up
        +0s cy identify {"renewal_date": "2027-01-15T00:00:00Z"}
        +0s cy track Signed Up
        +3d
    "#,
        expect![[r#"
            t=+0s ann: entered on Signed Up / nine: wait until 2027-01-16T00:00:00.000Z (09:00 Asia/Tokyo, from the step) => #1 waiting at nine until +16h
            t=+0s bob: entered on Signed Up / nine: wait until 2027-01-16T00:00:00.000Z (09:00 Asia/Tokyo, from the step) => #1 waiting at nine until +16h
            t=+0s cy: entered on Signed Up / nine: wait until 2027-01-16T00:00:00.000Z (09:00 Asia/Tokyo, from the step) => #1 waiting at nine until +16h
            t=+16h ann: nine: wait over -> renewal / renewal: trait renewal_date = "soon" is not a date, no wait -> hello / hello: send email hello / completed => #2 exited: completed
            t=+16h bob: nine: wait over -> renewal / renewal: wait until 2027-01-17T10:00:00.000Z => #2 waiting at renewal until +2d2h
            t=+16h cy: nine: wait over -> renewal / renewal: 2027-01-16T00:00:00.000Z has passed, no wait -> hello / hello: send email hello / completed => #2 exited: completed
            t=+2d2h bob: renewal: wait over -> hello / hello: send email hello / completed => #3 exited: completed
            outbox:
              t=+16h ann hello: send email hello
              t=+16h cy hello: send email hello
              t=+2d2h bob hello: send email hello
        "#]],
    );
}

#[test]
fn the_control_group_calls_no_webhook_and_updates_change_only_what_differs() {
    let doc = json!({"id": "all-in", "entry": {"event": "Churned", "holdout": 100},
    "steps": [
        {"id": "mark", "type": "update", "set": {"churned": true, "plan": "free"}, "increment": {"churns": 2.5, "visits": 1}, "unset": ["ghost", "coupon"], "next": "crm"},
        {"id": "crm", "type": "webhook", "url": "https://crm.example/churn", "method": "PUT", "save": {"score": "/score"}, "next": "offer"},
        {"id": "offer", "type": "send", "template": "offer"}
    ]});
    check(
        doc,
        r#"
        +0s ann identify {"plan": "free", "churns": "many", "coupon": "X"}
        +1s ann track Churned
        +1d ann track Churned
    "#,
        expect![[r#"
            t=+1s ann: entered on Churned / control group (holdout 100%): recorded, nothing is sent / mark: update churned = true, churns = 2.5, coupon = null, visits = 1 / crm: control group, not calling https://crm.example/churn / offer: control group, not sending offer / completed => #1 exited: completed, control group
            t=+1d ann: entered on Churned / control group (holdout 100%): recorded, nothing is sent / mark: update churns = 5, visits = 2 / crm: control group, not calling https://crm.example/churn / offer: control group, not sending offer / completed => #1 exited: completed, control group
            outbox:
              t=+1s ann mark: update {"increment":{"churns":2.5,"visits":1},"set":{"churned":true,"plan":"free"},"unset":["ghost","coupon"]}
              t=+1d ann mark: update {"increment":{"churns":2.5,"visits":1},"set":{"churned":true,"plan":"free"},"unset":["ghost","coupon"]}
        "#]],
    );
}

#[test]
fn splits_and_the_holdout_share_people_out_by_weight_and_keep_each_one_in_place() {
    let doc = json!({"id": "three-way", "entry": {"event": "Signed Up", "holdout": 10},
    "steps": [
        {"id": "abc", "type": "split", "paths": [{"name": "a", "weight": 20, "next": "a"}, {"name": "b", "weight": 30, "next": "b"}, {"name": "c", "weight": 50}]},
        {"id": "a", "type": "exit"},
        {"id": "b", "type": "exit"}
    ]});
    let people: Vec<String> = (0..300).map(|i| format!("p{i:03}")).collect();
    let mut driver = Driver::new(doc);
    let mut shares = Vec::new();
    for day in ["+0s", "+1d"] {
        let script: String = people.iter().map(|p| format!("{day} {p} track Signed Up\n")).collect();
        driver.run_lines(&script);
        let mut by_variant: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for p in &people {
            let run = driver.people[p].run().expect("a run");
            by_variant.entry(run.assignments["abc"].clone()).or_default().push(p);
            if run.control {
                by_variant.entry("control group".into()).or_default().push(p);
            }
        }
        shares.push(by_variant);
    }
    assert_eq!(shares[0], shares[1], "the same people in the same places the next day");
    let text: Vec<String> = shares[0].iter().map(|(v, who)| format!("{v}: {} ({} ...)", who.len(), who[..5].join(" "))).collect();
    expect![[r#"
        a: 60 (p002 p006 p016 p017 p033 ...)
        b: 79 (p000 p004 p005 p011 p013 ...)
        c: 161 (p001 p003 p007 p008 p009 ...)
        control group: 39 (p005 p029 p032 p036 p037 ...)
    "#]]
    .assert_eq(&(text.join("\n") + "\n"));
}

#[test]
fn an_ended_run_takes_no_more_input() {
    let j = Journey::parse(&json!({"id": "j", "entry": {"event": "A"}, "steps": [{"id": "w", "type": "wait_for", "timeout": "1d", "events": [{"event": "B"}]}]}))
        .expect("valid");
    let traits = Map::new();
    let ctx =
        Context { traits: &traits, history: &[], previous: None, entries: 0, render: &Paths, segments: &domain::condition::NO_SEGMENTS };
    let now = Timestamp::parse("2027-01-15T08:00:00Z").expect("now");
    let raw = json!({"type": "track", "userId": "ann", "event": "B"});
    let b = Event::parse(raw, &Envelope { kind: None, received_at: now, sent_at: None, fallback_message_id: "1" }).expect("event");
    let api = Input::Api { payload: &traits };
    let first = step(&j, 1, None, Input::Event(&Event { name: Some("A".into()), ..b.clone() }), &ctx, now, 1).expect("entered");
    let waiting = first.run;
    let mut ended = waiting.clone();
    ended.status = RunStatus::Exited;
    let later = now.plus(Duration::days(2));
    let outcomes = [
        ("waiting, B", step(&j, 1, Some(&waiting), Input::Event(&b), &ctx, now, 1).is_some()),
        ("waiting, timer due", step(&j, 1, Some(&waiting), Input::Timer, &ctx, later, 1).is_some()),
        ("waiting, timer early", step(&j, 1, Some(&waiting), Input::Timer, &ctx, now, 1).is_some()),
        ("waiting, api", step(&j, 1, Some(&waiting), api, &ctx, now, 1).is_some()),
        ("ended, B", step(&j, 1, Some(&ended), Input::Event(&b), &ctx, now, 1).is_some()),
        ("ended, timer due", step(&j, 1, Some(&ended), Input::Timer, &ctx, later, 1).is_some()),
    ];
    assert_eq!(
        outcomes,
        [
            ("waiting, B", true),
            ("waiting, timer due", true),
            ("waiting, timer early", false),
            ("waiting, api", false),
            ("ended, B", false),
            ("ended, timer due", false)
        ]
    );
}

#[test]
fn a_run_that_never_waits_stops_after_the_step_limit() {
    // Waits on a date trait the person does not have do not wait; validation counts them as waits.
    let steps: Vec<Value> = (0..1200)
        .map(|i| json!({"id": format!("w{i}"), "type": "wait", "until_trait": "renewal_date", "next": format!("w{}", i + 1)}))
        .chain([json!({"id": "w1200", "type": "exit"})])
        .collect();
    let mut doc = json!({"id": "long", "entry": {"event": "Signed Up"}});
    doc["steps"] = Value::Array(steps);
    let mut driver = Driver::new(doc);
    driver.run_lines("+0s ann track Signed Up");
    let run = driver.people["ann"].run().expect("a run");
    assert_eq!(
        (run.status, run.exit_reason.as_deref(), run.node.as_ref().map(|n| n.as_str())),
        (RunStatus::Exited, Some("more than 1000 steps without waiting"), Some("w999"))
    );
    assert!(
        driver.log[0].ends_with(
            "w999: trait renewal_date is not set, no wait -> w1000 / exit: step limit => #1 exited: more than 1000 steps without waiting"
        ),
        "{}",
        driver.log[0]
    );
}

#[test]
fn what_a_journey_tells_the_engine() {
    let describe = |doc: Value| {
        let j = Journey::parse(&doc).expect("valid");
        let templates: Vec<String> = j.templates().map(|(node, t)| format!("{node}={t}")).collect();
        let first = j.steps.first().map(|s| s.id.clone()).expect("a step");
        format!(
            "entry event {:?}, entry trait {:?}, swept {}, templates [{}], first step {:?}, ghost step {:?}, reads clock {}",
            j.entry_event(),
            j.entry_trait(),
            j.swept(),
            templates.join(" "),
            j.get(&first).map(|s| s.id.as_str()),
            j.get(&"ghost".into()).map(|s| s.id.as_str()),
            j.reads_clock
        )
    };
    let send = json!([{"id": "a", "type": "send", "template": "t1", "next": "b"}, {"id": "b", "type": "send", "template": "t2"}]);
    let lines = [
        describe(json!({"id": "j", "entry": {"event": "Signed Up"}, "steps": send})),
        describe(json!({"id": "j", "entry": {"trait_change": {"trait": "plan"}}, "steps": [{"id": "e", "type": "exit"}]})),
        describe(json!({"id": "j", "entry": {"api": true}, "steps": [{"id": "e", "type": "exit"}]})),
        describe(
            json!({"id": "j", "entry": {"schedule": {"cron": "0 9 * * *"}, "audience": {"clock": "day_of_week", "op": "eq", "value": "mon"}}, "steps": [{"id": "e", "type": "exit"}]}),
        ),
        describe(json!({"id": "j", "entry": {"date": {"trait": "renewal_date"}}, "steps": [{"id": "e", "type": "exit"}]})),
        describe(
            json!({"id": "j", "entry": {"event": "X", "filter": {"clock": "time_of_day", "op": "gte", "value": "09:00"}}, "steps": [{"id": "e", "type": "exit"}]}),
        ),
        describe(
            json!({"id": "j", "entry": {"event": "X"}, "exit": [{"event": "Y", "filter": {"not": {"clock": "time_of_day", "op": "lt", "value": "09:00"}}}], "steps": [{"id": "e", "type": "exit"}]}),
        ),
        describe(
            json!({"id": "j", "entry": {"event": "X"}, "goal": {"event": "Y", "filter": {"any": [{"clock": "time_of_day", "op": "lt", "value": "09:00"}]}}, "steps": [{"id": "e", "type": "exit"}]}),
        ),
        describe(
            json!({"id": "j", "entry": {"event": "X"}, "steps": [{"id": "w", "type": "wait_for", "timeout": "1d", "events": [{"event": "Y", "filter": {"all": [{"clock": "day_of_week", "op": "eq", "value": "mon"}]}}]}]}),
        ),
        describe(
            json!({"id": "j", "entry": {"event": "X", "filter": {"history": {"event": "Y", "within": "1d", "where": {"trait": "clock", "op": "exists"}}, "op": "exists"}}, "steps": [{"id": "e", "type": "exit"}]}),
        ),
    ];
    expect![[r#"
        entry event Some("Signed Up"), entry trait None, swept false, templates [a=t1 b=t2], first step Some("a"), ghost step None, reads clock false
        entry event None, entry trait Some("plan"), swept false, templates [], first step Some("e"), ghost step None, reads clock false
        entry event None, entry trait None, swept false, templates [], first step Some("e"), ghost step None, reads clock false
        entry event None, entry trait None, swept true, templates [], first step Some("e"), ghost step None, reads clock true
        entry event None, entry trait None, swept true, templates [], first step Some("e"), ghost step None, reads clock false
        entry event Some("X"), entry trait None, swept false, templates [], first step Some("e"), ghost step None, reads clock true
        entry event Some("X"), entry trait None, swept false, templates [], first step Some("e"), ghost step None, reads clock true
        entry event Some("X"), entry trait None, swept false, templates [], first step Some("e"), ghost step None, reads clock true
        entry event Some("X"), entry trait None, swept false, templates [], first step Some("w"), ghost step None, reads clock true
        entry event Some("X"), entry trait None, swept false, templates [], first step Some("e"), ghost step None, reads clock false
    "#]].assert_eq(&(lines.join("\n") + "\n"));
    let statuses = [RunStatus::Waiting, RunStatus::Exited].map(RunStatus::as_str);
    assert_eq!(statuses, ["waiting", "exited"]);
}

#[test]
fn validation_refuses_exactly_the_paths_that_would_hit_the_step_limit() {
    // `n` sends, then an exit step: n + 1 steps in one transition.
    let sends_then_exit = |n: usize| {
        let mut doc = chain(n + 1, |i| if i == n { json!({"type": "exit"}) } else { json!({"type": "send", "template": "t"}) }, None);
        doc["steps"][n].as_object_mut().expect("a step").remove("next");
        doc
    };
    let mut lines = Vec::new();
    for n in [998, 999, 1000] {
        let doc = sends_then_exit(n);
        let mut line = format!("{n} sends then exit: {}", diagnostics(&doc).trim_end());
        if Journey::parse(&doc).is_ok() {
            let mut driver = Driver::new(doc);
            driver.run_lines("+0s ann track Signed Up");
            line += &format!(", a run: {}", driver.people["ann"].run().and_then(|r| r.exit_reason.as_deref()).unwrap_or("?"));
        }
        lines.push(line);
    }
    expect![[r#"
        998 sends then exit: valid, a run: reached exit step s998
        999 sends then exit: valid, a run: reached exit step s999
        1000 sends then exit: /steps/0 too_many_steps_without_wait: from step "s0" a run goes through 1000 steps without waiting; one transition takes at most 1000, then the run exits
    "#]].assert_eq(&(lines.join("\n") + "\n"));
}

#[test]
fn diagnostics_go_over_the_wire_with_their_severity() {
    let errors = Journey::parse(
        &json!({"id": "x", "entry": {"event": "A", "filters": {}}, "steps": [{"id": "s", "type": "send", "template": "t", "nxt": "s"}]}),
    )
    .expect_err("invalid");
    assert!(errors.iter().all(|d| d.is_error()));
    let journey = Journey::parse(&json!({"id": "x", "entry": {"event": "A"}, "steps": [{"id": "s", "type": "exit"}]})).expect("valid");
    let warnings = journey.unseen(&Default::default(), &Default::default());
    assert!(warnings.iter().all(|d| !d.is_error()));
    let wire: Vec<String> = errors.iter().chain(&warnings).map(|d| serde_json::to_string(d).unwrap_or_default()).collect();
    expect![[r#"
        {"path":"/entry/filters","code":"unknown_field","severity":"error","message":"\"filters\" is not a field of an event entry; did you mean \"filter\"?"}
        {"node":"s","path":"/steps/0/nxt","code":"unknown_field","severity":"error","message":"\"nxt\" is not a field of a send step; did you mean \"next\"?"}
        {"path":"/entry/event","code":"unseen_event","severity":"warning","message":"no event named \"A\" has been seen yet"}
    "#]].assert_eq(&(wire.join("\n") + "\n"));
}

fn example(name: &str) -> Value {
    let path = format!("{}/../../examples/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("example file")).expect("example journey")
}

/// One run per cart: items added to a cart are collected in the run, an order for another
/// cart ends only that cart's run, and an order after the reminder converts as it exits.
#[test]
fn abandoned_cart_keeps_a_run_per_cart_and_lists_its_items() {
    check(
        example("abandoned-cart"),
        r#"
        +0s alice track Product Added {"cart_id": "c1", "name": "Socks", "price": 5}
        +10m alice track Product Added {"cart_id": "c1", "name": "Hat", "price": 20}
        +20m alice track Product Added {"cart_id": "c2", "name": "Scarf", "price": 15}
        +30m alice track Order Completed {"cart_id": "c2"}
        +2h
        +3h alice track Order Completed {"cart_id": "c1"}
        +2d
        +2d bob track Product Added {"cart_id": "c9", "name": "Gloves"}
        +2d bob track Product Added {"name": "Belt"}
        +2d bob track Product Added {"cart_id": "", "name": "Tie"}
        +2d cat track Product Added {"cart_id": 42, "name": "Cap"}
        +5d bob track Order Completed {"cart_id": "c9"}
    "#,
        expect![[r#"
            t=+0s alice: entered on Product Added (key c1) / first-item: run items += {"cart_id":"c1","name":"Socks","price":5} / idle: wait_for Product Added (timeout 1h) => #1 [c1] waiting at idle until +1h, run {"items":[{"cart_id":"c1","name":"Socks","price":5}]}
            t=+10m alice: idle: got Product Added -> idle / idle: run items += {"cart_id":"c1","name":"Hat","price":20} / idle: wait_for Product Added (timeout 1h) => #2 [c1] waiting at idle until +1h10m, run {"items":[{"cart_id":"c1","name":"Socks","price":5},{"cart_id":"c1","name":"Hat","price":20}]}
            t=+20m alice: idle: ignored Product Added [property cart_id = "c2" eq event.cart_id ("c1") -> false] => #3 [c1] waiting at idle until +1h10m, run {"items":[{"cart_id":"c1","name":"Socks","price":5},{"cart_id":"c1","name":"Hat","price":20}]}
            t=+20m alice: entered on Product Added (key c2) / first-item: run items += {"cart_id":"c2","name":"Scarf","price":15} / idle: wait_for Product Added (timeout 1h) => #1 [c2] waiting at idle until +1h20m, run {"items":[{"cart_id":"c2","name":"Scarf","price":15}]}
            t=+30m alice: exit on Order Completed => #2 [c2] exited: exit event Order Completed, run {"items":[{"cart_id":"c2","name":"Scarf","price":15}]}
            t=+1h10m alice: idle: wait_for Product Added timed out -> remind / remind: send email cart-reminder / a-day: wait 1d => #4 [c1] waiting at a-day until +1d1h10m, run {"items":[{"cart_id":"c1","name":"Socks","price":5},{"cart_id":"c1","name":"Hat","price":20}]}
            t=+3h alice: goal reached: Order Completed / exit on Order Completed => #5 [c1] exited: exit event Order Completed, converted at +3h, run {"items":[{"cart_id":"c1","name":"Socks","price":5},{"cart_id":"c1","name":"Hat","price":20}]}
            t=+2d bob: entered on Product Added (key c9) / first-item: run items += {"cart_id":"c9","name":"Gloves"} / idle: wait_for Product Added (timeout 1h) => #1 [c9] waiting at idle until +2d1h, run {"items":[{"cart_id":"c9","name":"Gloves"}]}
            t=+2d bob: idle: ignored Product Added [property cart_id = (absent) eq event.cart_id ("c9") -> false] => #2 [c9] waiting at idle until +2d1h, run {"items":[{"cart_id":"c9","name":"Gloves"}]}
            t=+2d bob: idle: ignored Product Added [property cart_id = "" eq event.cart_id ("c9") -> false] => #3 [c9] waiting at idle until +2d1h, run {"items":[{"cart_id":"c9","name":"Gloves"}]}
            t=+2d cat: entered on Product Added (key 42) / first-item: run items += {"cart_id":42,"name":"Cap"} / idle: wait_for Product Added (timeout 1h) => #1 [42] waiting at idle until +2d1h, run {"items":[{"cart_id":42,"name":"Cap"}]}
            t=+2d1h bob: idle: wait_for Product Added timed out -> remind / remind: send email cart-reminder / a-day: wait 1d => #4 [c9] waiting at a-day until +3d1h, run {"items":[{"cart_id":"c9","name":"Gloves"}]}
            t=+2d1h cat: idle: wait_for Product Added timed out -> remind / remind: send email cart-reminder / a-day: wait 1d => #2 [42] waiting at a-day until +3d1h, run {"items":[{"cart_id":42,"name":"Cap"}]}
            t=+3d1h bob: a-day: wait over -> remind-again / remind-again: send email cart-last-call / completed => #5 [c9] exited: completed, run {"items":[{"cart_id":"c9","name":"Gloves"}]}
            t=+3d1h cat: a-day: wait over -> remind-again / remind-again: send email cart-last-call / completed => #3 [42] exited: completed, run {"items":[{"cart_id":42,"name":"Cap"}]}
            outbox:
              t=+1h10m alice remind: send email cart-reminder
              t=+2d1h bob remind: send email cart-reminder
              t=+2d1h cat remind: send email cart-reminder
              t=+3d1h bob remind-again: send email cart-last-call
              t=+3d1h cat remind-again: send email cart-last-call
        "#]],
    );
}

/// A goal measured from a step counts only conversions after the run reached that step; an
/// exit event that is also the goal records the conversion as it ends the run.
#[test]
fn goals_measured_from_a_step_and_exits_that_are_goals() {
    let doc = json!({
        "id": "winback", "entry": {"event": "Churn Risk"},
        "exit": [{"event": "Order Completed"}],
        "goal": {"event": "Order Completed", "from": "coupon", "within": "7d"},
        "steps": [
            {"id": "pause", "type": "wait", "duration": "1d", "next": "coupon"},
            {"id": "coupon", "type": "send", "template": "coupon", "next": "later"},
            {"id": "later", "type": "wait", "duration": "30d"}
        ]
    });
    check(
        doc,
        "
        +0s early track Churn Risk
        +0s late track Churn Risk
        +0s never track Churn Risk
        +12h early track Order Completed
        +3d late track Order Completed
        +9d never track Order Completed
    ",
        expect![[r#"
            t=+0s early: entered on Churn Risk / pause: wait 1d => #1 waiting at pause until +1d
            t=+0s late: entered on Churn Risk / pause: wait 1d => #1 waiting at pause until +1d
            t=+0s never: entered on Churn Risk / pause: wait 1d => #1 waiting at pause until +1d
            t=+12h early: exit on Order Completed => #2 exited: exit event Order Completed
            t=+1d late: pause: wait over -> coupon / coupon: send email coupon / later: wait 30d => #2 waiting at later until +31d
            t=+1d never: pause: wait over -> coupon / coupon: send email coupon / later: wait 30d => #2 waiting at later until +31d
            t=+3d late: goal reached: Order Completed / exit on Order Completed => #3 exited: exit event Order Completed, converted at +3d
            t=+9d never: exit on Order Completed => #3 exited: exit event Order Completed
            outbox:
              t=+1d late coupon: send email coupon
              t=+1d never coupon: send email coupon
        "#]],
    );
}

/// Conditions compare with the run's starting event and its variables; `update` values are
/// templates with typed results, for traits and run variables alike.
#[test]
fn references_and_run_variables_in_conditions_and_updates() {
    let doc = json!({
        "id": "orders", "entry": {"event": "Order Placed", "concurrent": true},
        "steps": [
            {"id": "note", "type": "update", "set": {"last_order": "{{ event.order_id }}", "last_total": "{{ event.total }}",
                                                     "greeting": "Thanks for order {{ event.order_id }}"},
             "run": {"set": {"total": "{{ event.total }}", "shipments": 0}}, "next": "ship"},
            {"id": "ship", "type": "wait_for", "timeout": "10d", "events": [
                {"event": "Order Shipped", "filter": {"property": "order_id", "op": "eq", "ref": "event.order_id"},
                 "run": {"append": {"parcels": "{{ received.parcel }}"}}, "next": "big"}
            ]},
            {"id": "big", "type": "branch", "cases": [
                {"when": {"run": "total", "op": "gte", "ref": "traits.vip_threshold"}, "next": "vip"}
            ]},
            {"id": "vip", "type": "update", "run": {"set": {"missing": "{{ event.nothing }}"}, "append": {"parcels": "extra"}}}
        ]
    });
    check(
        doc,
        r#"
        +0s ann identify {"vip_threshold": 100}
        +1m ann track Order Placed {"order_id": "A1", "total": 150}
        +2m ann track Order Placed {"order_id": "A2", "total": 30}
        +1h ann track Order Shipped {"order_id": "A2", "parcel": "P-2"}
        +2h ann track Order Shipped {"order_id": "A1", "parcel": "P-1"}
        +3h ann track Order Shipped {"parcel": "P-0"}
    "#,
        expect![[r#"
            t=+1m ann: entered on Order Placed / note: update greeting = "Thanks for order A1", last_order = "A1", last_total = 150 / note: run shipments = 0, total = 150 / ship: wait_for Order Shipped (timeout 10d) => #1 waiting at ship until +10d1m, run {"shipments":0,"total":150}
            t=+2m ann: entered on Order Placed / note: update greeting = "Thanks for order A2", last_order = "A2", last_total = 30 / note: run shipments = 0, total = 30 / ship: wait_for Order Shipped (timeout 10d) => #1 waiting at ship until +10d2m, run {"shipments":0,"total":30}
            t=+1h ann: ship: ignored Order Shipped [property order_id = "A2" eq event.order_id ("A1") -> false] => #2 waiting at ship until +10d1m, run {"shipments":0,"total":150}
            t=+1h ann: ship: got Order Shipped -> big / ship: run parcels += "P-2" / big: case 0 false [run.total = 30 gte traits.vip_threshold (100) -> false] / big: else -> (end) / completed => #2 exited: completed, run {"parcels":["P-2"],"shipments":0,"total":30}
            t=+2h ann: ship: got Order Shipped -> big / ship: run parcels += "P-1" / big: case 0 true [run.total = 150 gte traits.vip_threshold (100) -> true] / vip: run missing not changed: unknown variable event.nothing / vip: run parcels += "extra" / completed => #3 exited: completed, run {"parcels":["P-1","extra"],"shipments":0,"total":150}
            outbox:
              t=+1m ann note: update {"set":{"greeting":"Thanks for order A1","last_order":"A1","last_total":150}}
              t=+2m ann note: update {"set":{"greeting":"Thanks for order A2","last_order":"A2","last_total":30}}
        "#]],
    );
}

#[test]
fn references_and_run_variables_are_validated() {
    check_edits(
        example("abandoned-cart"),
        r#"
        set /entry/key ""
        set /entry/key 3
        set /entry/filter {"property": "cart_id", "op": "eq", "ref": "event.cart_id"}
        set /entry/filter {"run": "items", "op": "exists"}
        set /entry/filter {"property": "price", "op": "lte", "ref": "traits.budget"}
        set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "evnt.cart_id"}
        set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "event"}
        set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "event.cart..id"}
        set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": 7}
        set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "event.cart_id", "value": "c1"}
        set /exit/0/filter {"property": "cart_id", "op": "exists", "ref": "event.cart_id"}
        set /exit/0/filter {"property": "sku", "op": "in", "ref": "run.itmes"}
        set /exit/0/filter {"run": "total", "op": "gt", "value": 3}
        set /exit/0/filter {"history": {"event": "Product Added", "within": "1d", "where": {"property": "cart_id", "op": "eq", "ref": "event.cart_id"}}, "op": "gte", "value": 1}
        set /goal/from "nowhere"
        set /steps/0/run {"add": {"items": 1}}
        set /steps/0/run {}
        set /steps/0/run {"set": []}
        set /steps/1/events/0/run {"append": {"items": "{{ received }}"}, "set": {"count": 1}}
        set /steps/2/on_failure "remind"
        set /steps/4 {"id": "remind-again", "type": "send", "template": "cart-last-call", "on_failure": "remind-again"}
        set /steps/4 {"id": "remind-again", "type": "send", "template": "cart-last-call", "on_failure": "a-day"}
    "#,
        expect![[r#"
            set /entry/key ""
              /entry/key invalid_field: "key" names a property of the entry event (a dotted path), such as "cart_id": runs are then per person and key
            set /entry/key 3
              /entry/key invalid_field: "key" names a property of the entry event (a dotted path), such as "cart_id": runs are then per person and key
            set /entry/filter {"property": "cart_id", "op": "eq", "ref": "event.cart_id"}
              /entry/filter/ref ref_before_run: the entry is decided before the run exists: it can read the event's properties ("property") and traits, not the run
            set /entry/filter {"run": "items", "op": "exists"}
              /entry/filter/run ref_before_run: the entry is decided before the run exists: it can read the event's properties ("property") and traits, not the run
            set /entry/filter {"property": "price", "op": "lte", "ref": "traits.budget"}
              valid
            set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "evnt.cart_id"}
              /exit/0/filter/ref invalid_ref: "evnt" is not something a reference can read: use "event." (the event that started the run), "run." (run variables) or "traits."; did you mean "event"?
            set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "event"}
              /exit/0/filter/ref invalid_ref: a reference is a root and a dotted path, such as "event.cart_id", "run.items" or "traits.plan"; not "event"
            set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "event.cart..id"}
              /exit/0/filter/ref invalid_ref: a reference is a root and a dotted path, such as "event.cart_id", "run.items" or "traits.plan"; not "event.cart..id"
            set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": 7}
              /exit/0/filter/ref invalid_ref: "ref" is text, such as "event.cart_id"
            set /exit/0/filter {"property": "cart_id", "op": "eq", "ref": "event.cart_id", "value": "c1"}
              /exit/0/filter condition_invalid: a comparison has a "value" or a "ref", not both
            set /exit/0/filter {"property": "cart_id", "op": "exists", "ref": "event.cart_id"}
              /exit/0/filter/ref condition_invalid: "exists" and "not_exists" compare with nothing
            set /exit/0/filter {"property": "sku", "op": "in", "ref": "run.itmes"}
              /exit/0/filter/ref unknown_run_variable: no step sets run variable "itmes"; did you mean "items"?
            set /exit/0/filter {"run": "total", "op": "gt", "value": 3}
              /exit/0/filter/run unknown_run_variable: no step sets run variable "total"
            set /exit/0/filter {"history": {"event": "Product Added", "within": "1d", "where": {"property": "cart_id", "op": "eq", "ref": "event.cart_id"}}, "op": "gte", "value": 1}
              /exit/0/filter/history/where/ref ref_in_history: a history query counts each event as it arrives, outside any run: its "where" reads the event's properties only
            set /goal/from "nowhere"
              /goal/from dangling_next: from names "nowhere", which is not a step
            set /steps/0/run {"add": {"items": 1}}
              [first-item] /steps/0/run/add unknown_field: "add" is not a field of a run update; its fields are set, append
              [first-item] /steps/0/run missing_field: "run" needs "set" or "append" (an object of run variables)
            set /steps/0/run {}
              [first-item] /steps/0/run missing_field: "run" needs "set" or "append" (an object of run variables)
            set /steps/0/run {"set": []}
              [first-item] /steps/0/run/set invalid_field: "set" is an object of run variables and their values
            set /steps/1/events/0/run {"append": {"items": "{{ received }}"}, "set": {"count": 1}}
              valid
            set /steps/2/on_failure "remind"
              [remind] /steps/2 cycle_without_wait: step "remind" is part of a cycle with no wait or wait_for in it
            set /steps/4 {"id": "remind-again", "type": "send", "template": "cart-last-call", "on_failure": "remind-again"}
              [remind-again] /steps/4 cycle_without_wait: step "remind-again" is part of a cycle with no wait or wait_for in it
            set /steps/4 {"id": "remind-again", "type": "send", "template": "cart-last-call", "on_failure": "a-day"}
              valid
        "#]],
    );
    check_edits(
        json!({"id": "t", "entry": {"trait_change": {"trait": "plan"}}, "steps": [{"id": "b", "type": "branch", "cases": [
            {"when": {"trait": "plan", "op": "eq", "ref": "event.to"}, "next": null}]}]}),
        r#"
        set /steps/0/cases/0/when {"trait": "plan", "op": "eq", "ref": "event.to"}
        set /steps/0/cases/0/when {"trait": "plan", "op": "eq", "ref": "event.cart_id"}
        set /entry {"api": true, "key": "order.id"}
        set /entry {"trait_change": {"trait": "plan"}, "key": "x"}
    "#,
        expect![[r#"
            set /steps/0/cases/0/when {"trait": "plan", "op": "eq", "ref": "event.to"}
              valid
            set /steps/0/cases/0/when {"trait": "plan", "op": "eq", "ref": "event.cart_id"}
              [b] /steps/0/cases/0/when/ref unknown_ref: the event that starts this journey's runs has only trait, from, to, not "cart_id"
            set /entry {"api": true, "key": "order.id"}
              valid
            set /entry {"trait_change": {"trait": "plan"}, "key": "x"}
              /entry/key unknown_field: "key" is not a field of a trait_change entry; its fields are trait_change, reentry, limit, holdout, concurrent
        "#]],
    );
}

/// A send tells the truth: a person without an address is skipped (and routed by
/// `on_unreachable`), a send with `on_failure` waits for its message's outcome and routes on
/// it, and an outcome that comes after the run moved on (or ended) is still in its trace.
#[test]
fn sends_route_on_unreachable_people_and_failed_messages() {
    let doc = json!({
        "id": "invite", "entry": {"event": "Signed Up"},
        "steps": [
            {"id": "reach", "type": "branch", "cases": [{"when": {"reachable": "email"}, "next": "invite"}], "else": "call"},
            {"id": "call", "type": "update", "set": {"needs_call": true}, "next": "invite"},
            {"id": "invite", "type": "send", "template": "invite", "on_unreachable": null, "on_failure": "sms-fallback", "next": "remind"},
            {"id": "sms-fallback", "type": "update", "set": {"bounced": true}},
            {"id": "remind", "type": "send", "template": "reminder"}
        ]
    });
    check(
        doc,
        r#"
        +0s ann track Signed Up
        +1m ann delivered invite sent
        +0s bob track Signed Up
        +5m bob failed invite 550 mailbox unavailable
        +0s cy identify {"email": null}
        +0s cy track Signed Up
        +0s di identify {"email": "not an address"}
        +0s di track Signed Up
        +0s dot identify {"email": " "}
        +0s dot track Signed Up
        +0s ed track Signed Up
        +2d
        +3d ed delivered invite sent, late
        +4d ed delivered remind captured
    "#,
        expect![[r#"
            t=+0s ann: entered on Signed Up / reach: case 0 true [reachable by email -> true] / invite: send email invite, waiting for its outcome => #1 waiting at invite until +1d
            t=+1m ann: invite: message delivered (sent) -> remind / remind: send email reminder / completed => #2 exited: completed
            t=+0s bob: entered on Signed Up / reach: case 0 true [reachable by email -> true] / invite: send email invite, waiting for its outcome => #1 waiting at invite until +1d
            t=+5m bob: invite: message failed (550 mailbox unavailable) -> sms-fallback / sms-fallback: update bounced = true / completed => #2 exited: completed
            t=+0s cy: entered on Signed Up / reach: case 0 false [reachable by email -> false (no email trait)] / reach: else -> call / call: update needs_call = true / invite: not sending email invite: unreachable (no email trait) -> (end) / completed => #1 exited: completed
            t=+0s di: entered on Signed Up / reach: case 0 false [reachable by email -> false (email trait "not an address" is not an address)] / reach: else -> call / call: update needs_call = true / invite: not sending email invite: unreachable (email trait "not an address" is not an address) -> (end) / completed => #1 exited: completed
            t=+0s dot: entered on Signed Up / reach: case 0 false [reachable by email -> false (no email trait)] / reach: else -> call / call: update needs_call = true / invite: not sending email invite: unreachable (no email trait) -> (end) / completed => #1 exited: completed
            t=+0s ed: entered on Signed Up / reach: case 0 true [reachable by email -> true] / invite: send email invite, waiting for its outcome => #1 waiting at invite until +1d
            t=+1d ed: invite: no outcome for the message within 1d -> remind / remind: send email reminder / completed => #2 exited: completed
            t=+3d ed: invite: message delivered (sent, late) => #3 exited: completed
            t=+4d ed: remind: message delivered (captured) => #4 exited: completed
            outbox:
              t=+0s ann invite: send email invite
              t=+1m ann remind: send email reminder
              t=+0s bob invite: send email invite
              t=+5m bob sms-fallback: update {"set":{"bounced":true}}
              t=+0s cy call: update {"set":{"needs_call":true}}
              t=+0s di call: update {"set":{"needs_call":true}}
              t=+0s dot call: update {"set":{"needs_call":true}}
              t=+0s ed invite: send email invite
              t=+1d ed remind: send email reminder
        "#]],
    );
}

/// A journey with calendar waits: 09:00 on the 7th local day after entry, then 08:00 on the
/// day of the tip (already past: no wait), then 18:00 the day after it.
fn calendar() -> Value {
    json!({"id": "calendar", "entry": {"event": "Signed Up"}, "timezone": "Europe/Paris",
    "steps": [
        {"id": "welcome", "type": "send", "template": "welcome", "next": "day-7"},
        {"id": "day-7", "type": "wait", "until": {"time": "09:00", "days": 7}, "next": "tip"},
        {"id": "tip", "type": "send", "template": "tip", "next": "same-day"},
        {"id": "same-day", "type": "wait", "until": {"time": "08:00", "days": 0, "after": "tip"}, "next": "next-evening"},
        {"id": "next-evening", "type": "wait", "until": {"time": "18:00", "days": 1, "after": "tip", "timezone": "Asia/Tokyo"}, "next": "bye"},
        {"id": "bye", "type": "send", "template": "bye"}
    ]})
}

/// Days are counted on the person's calendar: entering at 23:30 on Friday 15 January in
/// Paris (22:30 UTC) is already Saturday in Tokyo, so day 7 is Friday 22nd in Paris and
/// Saturday 23rd in Tokyo. A step's own zone wins over the trait; an invalid trait is said.
#[test]
fn calendar_waits_count_local_days_from_the_entry_or_a_step() {
    check_at(
        calendar(),
        "2027-01-15T22:30:00Z",
        r#"
        +0s paris identify {"timezone": "Europe/Paris"}
        +0s tokyo identify {"timezone": "Asia/Tokyo"}
        +0s mars identify {"timezone": "Mars/Base"}
        +0s paris track Signed Up
        +0s tokyo track Signed Up
        +0s mars track Signed Up
        +10d
    "#,
        expect![[r#"
            t=+0s paris: entered on Signed Up / welcome: send email welcome / day-7: wait until 2027-01-22T08:00:00.000Z (09:00 Europe/Paris, from trait timezone; 2027-01-22 is 7 days after entry on 2027-01-15) => #1 waiting at day-7 until +6d9h30m
            t=+0s tokyo: entered on Signed Up / welcome: send email welcome / day-7: wait until 2027-01-23T00:00:00.000Z (09:00 Asia/Tokyo, from trait timezone; 2027-01-23 is 7 days after entry on 2027-01-16) => #1 waiting at day-7 until +7d1h30m
            t=+0s mars: entered on Signed Up / welcome: send email welcome / day-7: trait timezone "Mars/Base" is not a time zone; using Europe/Paris (the journey's) / day-7: wait until 2027-01-22T08:00:00.000Z (09:00 Europe/Paris, from the journey; 2027-01-22 is 7 days after entry on 2027-01-15) => #1 waiting at day-7 until +6d9h30m
            t=+6d9h30m mars: day-7: wait over -> tip / tip: send email tip / same-day: trait timezone "Mars/Base" is not a time zone; using Europe/Paris (the journey's) / same-day: 2027-01-22T07:00:00.000Z (08:00 Europe/Paris, from the journey; 2027-01-22 is 0 days after step tip on 2027-01-22) has passed, no wait -> next-evening / next-evening: wait until 2027-01-23T09:00:00.000Z (18:00 Asia/Tokyo, from the step; 2027-01-23 is 1 day after step tip on 2027-01-22) => #2 waiting at next-evening until +7d10h30m
            t=+6d9h30m paris: day-7: wait over -> tip / tip: send email tip / same-day: 2027-01-22T07:00:00.000Z (08:00 Europe/Paris, from trait timezone; 2027-01-22 is 0 days after step tip on 2027-01-22) has passed, no wait -> next-evening / next-evening: wait until 2027-01-23T09:00:00.000Z (18:00 Asia/Tokyo, from the step; 2027-01-23 is 1 day after step tip on 2027-01-22) => #2 waiting at next-evening until +7d10h30m
            t=+7d1h30m tokyo: day-7: wait over -> tip / tip: send email tip / same-day: 2027-01-22T23:00:00.000Z (08:00 Asia/Tokyo, from trait timezone; 2027-01-23 is 0 days after step tip on 2027-01-23) has passed, no wait -> next-evening / next-evening: wait until 2027-01-24T09:00:00.000Z (18:00 Asia/Tokyo, from the step; 2027-01-24 is 1 day after step tip on 2027-01-23) => #2 waiting at next-evening until +8d10h30m
            t=+7d10h30m mars: next-evening: wait over -> bye / bye: send email bye / completed => #3 exited: completed
            t=+7d10h30m paris: next-evening: wait over -> bye / bye: send email bye / completed => #3 exited: completed
            t=+8d10h30m tokyo: next-evening: wait over -> bye / bye: send email bye / completed => #3 exited: completed
            outbox:
              t=+0s paris welcome: send email welcome
              t=+0s tokyo welcome: send email welcome
              t=+0s mars welcome: send email welcome
              t=+6d9h30m mars tip: send email tip
              t=+6d9h30m paris tip: send email tip
              t=+7d1h30m tokyo tip: send email tip
              t=+7d10h30m mars bye: send email bye
              t=+7d10h30m paris bye: send email bye
              t=+8d10h30m tokyo bye: send email bye
        "#]],
    );
}

/// A run with no record of the step its wait counts from (one moved from a version without
/// that wait) does not wait, and says so.
#[test]
fn a_calendar_wait_whose_step_has_no_record_does_not_wait() {
    let doc = json!({"id": "moved", "entry": {"event": "Signed Up"}, "steps": [
        {"id": "hello", "type": "send", "template": "hello", "next": "pause"},
        {"id": "pause", "type": "wait", "duration": "1h", "next": "w"},
        {"id": "w", "type": "wait", "until": {"time": "09:00", "days": 2, "after": "hello"}, "next": "bye"},
        {"id": "bye", "type": "send", "template": "bye"}
    ]});
    let mut d = Driver::new(doc);
    d.run_lines("+0s ann track Signed Up\n+0s bob track Signed Up");
    let ann = d.people.get_mut("ann").and_then(|p| p.runs.last_mut()).expect("a run");
    assert_eq!(ann.reached.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["hello"], "only steps waits count from are noted");
    ann.reached.clear();
    d.run_lines("+3d");
    expect![[r#"
        t=+0s ann: entered on Signed Up / hello: send email hello / pause: wait 1h => #1 waiting at pause until +1h
        t=+0s bob: entered on Signed Up / hello: send email hello / pause: wait 1h => #1 waiting at pause until +1h
        t=+1h ann: pause: wait over -> w / w: the run has no record of reaching step hello, which days count from, no wait -> bye / bye: send email bye / completed => #2 exited: completed
        t=+1h bob: pause: wait over -> w / w: wait until 2027-01-17T09:00:00.000Z (09:00 UTC, from the journey; 2027-01-17 is 2 days after step hello on 2027-01-15) => #2 waiting at w until +2d1h
        t=+2d1h bob: w: wait over -> bye / bye: send email bye / completed => #3 exited: completed
    "#]]
    .assert_eq(&(d.log.join("\n") + "\n"));
}

/// docs/JOURNEYS.md: a time skipped by a daylight-saving change means the first instant after
/// it; a time repeated by one, the first of the two (summer time). Paris springs forward at
/// 02:00 on 2027-03-28 (02:30 never shows: 03:00 CEST, 01:00 UTC) and falls back at 03:00 on
/// 2027-10-31 (02:30 shows twice: the first is 02:30 CEST, 00:30 UTC).
#[test]
fn a_wall_clock_time_skipped_or_repeated_by_daylight_saving() {
    let doc = json!({"id": "night", "entry": {"event": "Signed Up"}, "timezone": "UTC",
    "steps": [
        {"id": "night", "type": "wait", "until": {"time": "02:30", "timezone": "Europe/Paris"}, "next": "hello"},
        {"id": "hello", "type": "send", "template": "hello"}
    ]});
    check_at(
        doc,
        "2027-03-27T12:00:00Z",
        "
        +0s spring track Signed Up
        +217d fall track Signed Up
        +218d
    ",
        expect![[r#"
            t=+0s spring: entered on Signed Up / night: wait until 2027-03-28T01:00:00.000Z (02:30 Europe/Paris, from the step; 02:30 is skipped on 2027-03-28 (daylight saving): the first instant after) => #1 waiting at night until +13h
            t=+13h spring: night: wait over -> hello / hello: send email hello / completed => #2 exited: completed
            t=+217d fall: entered on Signed Up / night: wait until 2027-10-31T00:30:00.000Z (02:30 Europe/Paris, from the step; 02:30 happens twice on 2027-10-31 (daylight saving): the first) => #1 waiting at night until +217d12h30m
            t=+217d12h30m fall: night: wait over -> hello / hello: send email hello / completed => #2 exited: completed
            outbox:
              t=+13h spring hello: send email hello
              t=+217d12h30m fall hello: send email hello
        "#]],
    );
}

#[test]
fn after_entry_is_the_entry_even_beside_a_step_named_entry() {
    let doc = json!({"id": "x", "entry": {"event": "A"}, "steps": [
        {"id": "entry", "type": "send", "template": "t", "next": "w"},
        {"id": "w", "type": "wait", "until": {"time": "09:00", "days": 1, "after": "entry"}}
    ]});
    expect![[r#"
        /steps/1/until/after ambiguous_after: "after": "entry" counts from the run's entry, but a step is named "entry" too: rename that step to count from it
    "#]]
    .assert_eq(&diagnostics(&doc));
}

/// Runs of older versions read as before; a run that reached a step calendar waits count
/// from carries when.
#[test]
fn runs_note_when_they_reached_steps_only_when_a_wait_counts_from_them() {
    let old = r#"{"journey":"j","version":1,"status":"waiting","node":"w","wake_at":1,"exit_reason":null,"entered_at":0,"updated_at":0,"seq":1,"trigger":{},"trigger_event":"A"}"#;
    let run: Run = serde_json::from_str(old).expect("an older run reads");
    assert!(run.reached.is_empty());
    assert_eq!(serde_json::to_string(&run).expect("json"), old, "no new field is written for runs without one");
}

/// An event a `wait_for` path names, that no path's filter lets through, is traced on the
/// run with the values each filter saw; the run keeps waiting with the same timeout. Events
/// no path names leave no trace.
#[test]
fn events_a_wait_for_ignores_are_traced_with_what_the_filters_saw() {
    let doc = json!({"id": "plans", "entry": {"event": "Trial Started"},
    "goal": {"event": "Plan Viewed"},
    "steps": [
        {"id": "pick", "type": "wait_for", "timeout": "3d", "timeout_next": "nudge", "events": [
            {"event": "Plan Viewed", "filter": {"property": "plan", "op": "eq", "value": "pro"}, "next": "pro"},
            {"event": "Plan Viewed", "filter": {"all": [{"property": "plan", "op": "eq", "value": "team"},
                                                        {"trait": "seats", "op": "gte", "value": 5}]}, "next": "team"},
            {"event": "Subscribed", "next": "team"}
        ]},
        {"id": "pro", "type": "send", "template": "pro"},
        {"id": "team", "type": "send", "template": "team"},
        {"id": "nudge", "type": "send", "template": "nudge"}
    ]});
    check(
        doc,
        r#"
        +0s ann identify {"seats": 2}
        +0s ann track Trial Started
        +1h ann track Page Viewed
        +2h ann track Plan Viewed {"plan": "team"}
        +1d ann track Plan Viewed {"plan": "free"}
        +2d ann track Plan Viewed {"plan": "pro"}
    "#,
        expect![[r#"
            t=+0s ann: entered on Trial Started / pick: wait_for Plan Viewed | Plan Viewed | Subscribed (timeout 3d) => #1 waiting at pick until +3d
            t=+2h ann: goal reached: Plan Viewed / pick: ignored Plan Viewed [property plan = "team" eq "pro" -> false] [property plan = "team" eq "team" -> true; trait seats = 2 gte 5 -> false] => #2 waiting at pick until +3d, converted at +2h
            t=+1d ann: pick: ignored Plan Viewed [property plan = "free" eq "pro" -> false] [property plan = "free" eq "team" -> false] => #3 waiting at pick until +3d, converted at +2h
            t=+2d ann: pick: got Plan Viewed -> pro / pro: send email pro / completed => #4 exited: completed, converted at +2h
            outbox:
              t=+2d ann pro: send email pro
        "#]],
    );
}

/// The consultation example qualifies people at entry, so its re-entry guard works: a fourth
/// (or tenth) product view in the month does not invite again; someone not reachable by email
/// is not entered (no reminder without an invite), and is once they give an address.
#[test]
fn consultation_invites_once_a_month_and_only_people_it_can_reach() {
    check(
        consultation(),
        r#"
        +0s ann page /products/a
        +1h ann page /products/b
        +2h ann page /products/c
        +3h ann page /products/d
        +4d ann page /products/e
        +0s kit identify {"email": null}
        +0s kit page /products/a
        +1h kit page /products/b
        +2h kit page /products/c
        +3h kit identify {"email": "kit@x.test"}
        +4h kit page /products/d
        +40d ann page /products/f
        +40d ann page /products/g
        +40d ann page /products/h
    "#,
        expect![[r#"
            t=+2h ann: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true; count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true; reachable by email -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d) => #1 waiting at booked until +3d2h
            t=+3d2h ann: booked: wait_for Consultation Booked timed out -> remind / remind: send email consultation-reminder / completed => #2 exited: completed
            t=+4h kit: entered on Page Viewed [property path = "/products/d" starts_with "/products/" -> true; count("Page Viewed" where … in 7d) = 4 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true; reachable by email -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d) => #1 waiting at booked until +3d4h
            t=+3d4h kit: booked: wait_for Consultation Booked timed out -> remind / remind: send email consultation-reminder / completed => #2 exited: completed
            t=+40d ann: entered on Page Viewed [property path = "/products/h" starts_with "/products/" -> true; count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true; reachable by email -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d) => #1 waiting at booked until +43d
            outbox:
              t=+2h ann invite: send email consultation-invite
              t=+3d2h ann remind: send email consultation-reminder
              t=+4h kit invite: send email consultation-invite
              t=+3d4h kit remind: send email consultation-reminder
              t=+40d ann invite: send email consultation-invite
        "#]],
    );
}

/// examples/win-back.json: 30 quiet days after the last order bring a coupon, its subject line
/// an A/B test (a run variable the template reads), a 10% holdout; only an order after the
/// coupon converts, and it ends the run.
#[test]
fn win_back_waits_for_thirty_quiet_days_and_counts_orders_after_the_coupon() {
    check(
        example("win-back"),
        r#"
        +0s ann track Order Completed
        +10d ann track Order Completed
        +0s bob identify {"firstName": "Bob"}
        +0s bob track Order Completed
        +0s cy track Order Completed
        +0s dee track Order Completed
        +0s eve track Order Completed
        +0s fay track Order Completed
        +35d bob track Order Completed
        +80d
    "#,
        expect![[r#"
            t=+0s ann: entered on Order Completed / quiet: wait_for Order Completed (timeout 30d) => #1 waiting at quiet until +30d
            t=+10d ann: quiet: got Order Completed -> quiet / quiet: wait_for Order Completed (timeout 30d) => #2 waiting at quiet until +40d
            t=+0s bob: entered on Order Completed / quiet: wait_for Order Completed (timeout 30d) => #1 waiting at quiet until +30d
            t=+0s cy: entered on Order Completed / quiet: wait_for Order Completed (timeout 30d) => #1 waiting at quiet until +30d
            t=+0s dee: entered on Order Completed / quiet: wait_for Order Completed (timeout 30d) => #1 waiting at quiet until +30d
            t=+0s eve: entered on Order Completed / control group (holdout 10%): recorded, nothing is sent / quiet: wait_for Order Completed (timeout 30d) => #1 waiting at quiet until +30d, control group
            t=+0s fay: entered on Order Completed / quiet: wait_for Order Completed (timeout 30d) => #1 waiting at quiet until +30d
            t=+30d bob: quiet: wait_for Order Completed timed out -> subject / subject: split -> variant miss-you (50/100) -> miss-you / miss-you: run subject = "We miss you, Bob" / coupon: send email win-back / redeem: wait 14d => #2 waiting at redeem until +44d, subject=miss-you, run {"subject":"We miss you, Bob"}
            t=+30d cy: quiet: wait_for Order Completed timed out -> subject / subject: split -> variant miss-you (50/100) -> miss-you / miss-you: run subject = "We miss you, friend" / coupon: send email win-back / redeem: wait 14d => #2 waiting at redeem until +44d, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+30d dee: quiet: wait_for Order Completed timed out -> subject / subject: split -> variant miss-you (50/100) -> miss-you / miss-you: run subject = "We miss you, friend" / coupon: send email win-back / redeem: wait 14d => #2 waiting at redeem until +44d, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+30d eve: quiet: wait_for Order Completed timed out -> subject / subject: split -> variant miss-you (50/100) -> miss-you / miss-you: run subject = "We miss you, friend" / coupon: control group, not sending win-back / redeem: wait 14d => #2 waiting at redeem until +44d, control group, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+30d fay: quiet: wait_for Order Completed timed out -> subject / subject: split -> variant discount (50/100) -> discount / discount: run subject = "20% off your next order" / coupon: send email win-back / redeem: wait 14d => #2 waiting at redeem until +44d, subject=discount, run {"subject":"20% off your next order"}
            t=+35d bob: goal reached: Order Completed => #3 exited: goal reached: Order Completed, converted at +35d, subject=miss-you, run {"subject":"We miss you, Bob"}
            t=+40d ann: quiet: wait_for Order Completed timed out -> subject / subject: split -> variant miss-you (50/100) -> miss-you / miss-you: run subject = "We miss you, friend" / coupon: send email win-back / redeem: wait 14d => #3 waiting at redeem until +54d, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+44d cy: redeem: wait over -> (end) / completed => #3 exited: completed, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+44d dee: redeem: wait over -> (end) / completed => #3 exited: completed, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+44d eve: redeem: wait over -> (end) / completed => #3 exited: completed, control group, subject=miss-you, run {"subject":"We miss you, friend"}
            t=+44d fay: redeem: wait over -> (end) / completed => #3 exited: completed, subject=discount, run {"subject":"20% off your next order"}
            t=+54d ann: redeem: wait over -> (end) / completed => #4 exited: completed, subject=miss-you, run {"subject":"We miss you, friend"}
            outbox:
              t=+30d bob coupon: send email win-back
              t=+30d cy coupon: send email win-back
              t=+30d dee coupon: send email win-back
              t=+30d fay coupon: send email win-back
              t=+40d ann coupon: send email win-back
        "#]],
    );
}

/// `"within": "entry"`: history since the run entered, counted by the run itself, without the
/// event that started it, to the millisecond (no whole minutes).
#[test]
fn history_since_entry_counts_what_the_run_saw_after_it_started() {
    let doc = json!({
        "id": "follow-up", "entry": {"event": "Order Completed"},
        "steps": [
            {"id": "later", "type": "wait", "duration": "30d", "next": "again"},
            {"id": "again", "type": "branch", "cases": [
                {"when": {"history": {"event": "Page Viewed", "within": "entry"}, "op": "gte", "value": 2}, "next": "vip"},
                {"when": {"history": {"event": "Order Completed", "within": "entry"}, "op": "eq", "value": 0}, "next": "miss-you"},
                {"when": {"history": {"event": "Order Completed", "within": "entry", "aggregate": "sum", "property": "total"}, "op": "gte", "value": 100}, "next": "vip"},
                {"when": {"all": [
                    {"history": {"event": "Order Completed", "within": "entry", "where": {"property": "total", "op": "lt", "value": 10}}, "op": "eq", "value": 1},
                    {"history": {"event": "Order Completed", "within": "60d"}, "op": "eq", "value": 2}
                ]}, "next": "small"}
            ]},
            {"id": "miss-you", "type": "send", "template": "miss-you"},
            {"id": "vip", "type": "send", "template": "vip"},
            {"id": "small", "type": "send", "template": "small"}
        ]
    });
    check(
        doc.clone(),
        r#"
        +0s ann track Order Completed {"total": 30}
        +0s bob track Order Completed {"total": 30}
        +2d bob track Order Completed {"total": 80}
        +3d bob track Order Completed {"total": 40}
        +3d bob track Page Viewed
        +0s cy track Order Completed {"total": 30}
        +10s cy track Order Completed {"total": 5}
        +31d
    "#,
        expect![[r#"
            t=+0s ann: entered on Order Completed / later: wait 30d => #1 waiting at later until +30d
            t=+0s bob: entered on Order Completed / later: wait 30d => #1 waiting at later until +30d
            t=+2d bob: counted Order Completed since entry => #2 waiting at later until +30d, 2 since-entry counter(s)
            t=+3d bob: counted Order Completed since entry => #3 waiting at later until +30d, 2 since-entry counter(s)
            t=+3d bob: counted Page Viewed since entry => #4 waiting at later until +30d, 3 since-entry counter(s)
            t=+0s cy: entered on Order Completed / later: wait 30d => #1 waiting at later until +30d
            t=+10s cy: counted Order Completed since entry => #2 waiting at later until +30d, 3 since-entry counter(s)
            t=+30d ann: later: wait over -> again / again: case 0 false [count("Page Viewed" since entry) = 0 gte 2 -> false] / again: case 1 true [count("Order Completed" since entry) = 0 eq 0 -> true] / miss-you: send email miss-you / completed => #2 exited: completed
            t=+30d bob: later: wait over -> again / again: case 0 false [count("Page Viewed" since entry) = 1 gte 2 -> false] / again: case 1 false [count("Order Completed" since entry) = 2 eq 0 -> false] / again: case 2 true [sum(total of "Order Completed" since entry) = 120 gte 100 -> true] / vip: send email vip / completed => #5 exited: completed, 3 since-entry counter(s)
            t=+30d cy: later: wait over -> again / again: case 0 false [count("Page Viewed" since entry) = 0 gte 2 -> false] / again: case 1 false [count("Order Completed" since entry) = 1 eq 0 -> false] / again: case 2 false [sum(total of "Order Completed" since entry) = 5 gte 100 -> false] / again: case 3 true [count("Order Completed" where … since entry) = 1 eq 1 -> true; count("Order Completed" in 60d) = 2 eq 2 -> true] / small: send email small / completed => #3 exited: completed, 3 since-entry counter(s)
            outbox:
              t=+30d ann miss-you: send email miss-you
              t=+30d bob vip: send email vip
              t=+30d cy small: send email small
        "#]],
    );
    check_edits(
        doc,
        r#"
        set /entry/filter {"history": {"event": "Order Completed", "within": "entry"}, "op": "eq", "value": 0}
        set /steps/1/cases/0/when {"history": {"event": "Order Completed", "within": "entri"}, "op": "eq", "value": 0}
    "#,
        expect![[r#"
            set /entry/filter {"history": {"event": "Order Completed", "within": "entry"}, "op": "eq", "value": 0}
              /entry/filter/history/within ref_before_run: the entry is decided before the run exists: a history "since entry" counts only within a run
            set /steps/1/cases/0/when {"history": {"event": "Order Completed", "within": "entri"}, "op": "eq", "value": 0}
              [again] /steps/1/cases/0/when/history/within invalid_duration: invalid duration "entri": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
        "#]],
    );
}

/// The document's schema is in one place (`journey::schema`, the parser's own key lists):
/// docs/JOURNEYS.md names every key of every kind of object, so a key added to the language
/// is documented (and an editor built from the schema offers it).
#[test]
fn the_guide_names_every_key_of_the_schema() {
    let guide = std::fs::read_to_string(format!("{}/../../docs/JOURNEYS.md", env!("CARGO_MANIFEST_DIR"))).expect("docs/JOURNEYS.md");
    let missing: Vec<String> = domain::journey::schema()
        .into_iter()
        .flat_map(|(kind, keys)| keys.iter().map(move |k| (kind, *k)))
        .filter(|(_, k)| {
            ![format!("\"{k}\""), format!("`{k}`"), format!("`{k}:"), format!("{{{k}:")].iter().any(|form| guide.contains(form))
        })
        .map(|(kind, k)| format!("{kind}: {k}"))
        .collect();
    assert!(missing.is_empty(), "keys the guide does not name: {missing:?}");
    assert!(domain::journey::schema().len() >= 35, "every kind of object is listed");
}

/// examples/trial-onboarding.json: the tip comes at 09:00 on the 7th day of each person's own
/// calendar (Paris crosses into summer time on the way, Tokyo's day 7 starts earlier), with
/// New York's calendar for a person whose `timezone` trait is not a zone; anyone on `pro` by
/// then gets nothing more, and the last-day mail counts from the tip.
#[test]
fn trial_onboarding_sends_the_day_7_tip_at_nine_on_each_persons_calendar() {
    check_at(
        example("trial-onboarding"),
        "2027-03-22T20:00:00Z",
        r#"
        +0s lea identify {"timezone": "Europe/Paris", "plan": "trial"}
        +0s ken identify {"timezone": "Asia/Tokyo", "plan": "trial"}
        +0s zed identify {"timezone": "Mars/Base", "plan": "trial"}
        +0s pat identify {"timezone": "Europe/Paris", "plan": "trial"}
        +0s lea track Trial Started
        +0s ken track Trial Started
        +0s zed track Trial Started
        +0s pat track Trial Started
        +3d pat identify {"plan": "pro"}
        +3d pat track Plan Upgraded
        +9d ken identify {"plan": "pro"}
        +20d
        +20d lea track Trial Started
    "#,
        expect![[r#"
            t=+0s lea: entered on Trial Started / welcome: send email trial-welcome / day-7: wait until 2027-03-29T07:00:00.000Z (09:00 Europe/Paris, from trait timezone; 2027-03-29 is 7 days after entry on 2027-03-22) => #1 waiting at day-7 until +6d11h
            t=+0s ken: entered on Trial Started / welcome: send email trial-welcome / day-7: wait until 2027-03-30T00:00:00.000Z (09:00 Asia/Tokyo, from trait timezone; 2027-03-30 is 7 days after entry on 2027-03-23) => #1 waiting at day-7 until +7d4h
            t=+0s zed: entered on Trial Started / welcome: send email trial-welcome / day-7: trait timezone "Mars/Base" is not a time zone; using America/New_York (the journey's) / day-7: wait until 2027-03-29T13:00:00.000Z (09:00 America/New_York, from the journey; 2027-03-29 is 7 days after entry on 2027-03-22) => #1 waiting at day-7 until +6d17h
            t=+0s pat: entered on Trial Started / welcome: send email trial-welcome / day-7: wait until 2027-03-29T07:00:00.000Z (09:00 Europe/Paris, from trait timezone; 2027-03-29 is 7 days after entry on 2027-03-22) => #1 waiting at day-7 until +6d11h
            t=+3d pat: goal reached: Plan Upgraded => #2 waiting at day-7 until +6d11h, converted at +3d
            t=+6d11h lea: day-7: wait over -> pro-yet / pro-yet: case 0 false [trait plan = "trial" eq "pro" -> false] / pro-yet: else -> tip / tip: send email trial-tip / last-day: wait until 2027-04-04T07:00:00.000Z (09:00 Europe/Paris, from trait timezone; 2027-04-04 is 6 days after step tip on 2027-03-29) => #2 waiting at last-day until +12d11h
            t=+6d11h pat: day-7: wait over -> pro-yet / pro-yet: case 0 true [trait plan = "pro" eq "pro" -> true] / upgraded: exit => #3 exited: reached exit step upgraded, converted at +3d
            t=+6d17h zed: day-7: wait over -> pro-yet / pro-yet: case 0 false [trait plan = "trial" eq "pro" -> false] / pro-yet: else -> tip / tip: send email trial-tip / last-day: trait timezone "Mars/Base" is not a time zone; using America/New_York (the journey's) / last-day: wait until 2027-04-04T13:00:00.000Z (09:00 America/New_York, from the journey; 2027-04-04 is 6 days after step tip on 2027-03-29) => #2 waiting at last-day until +12d17h
            t=+7d4h ken: day-7: wait over -> pro-yet / pro-yet: case 0 false [trait plan = "trial" eq "pro" -> false] / pro-yet: else -> tip / tip: send email trial-tip / last-day: wait until 2027-04-05T00:00:00.000Z (09:00 Asia/Tokyo, from trait timezone; 2027-04-05 is 6 days after step tip on 2027-03-30) => #2 waiting at last-day until +13d4h
            t=+12d11h lea: last-day: wait over -> pro-now / pro-now: case 0 false [trait plan = "trial" eq "pro" -> false] / pro-now: else -> ending / ending: send email trial-ending / completed => #3 exited: completed
            t=+12d17h zed: last-day: wait over -> pro-now / pro-now: case 0 false [trait plan = "trial" eq "pro" -> false] / pro-now: else -> ending / ending: send email trial-ending / completed => #3 exited: completed
            t=+13d4h ken: last-day: wait over -> pro-now / pro-now: case 0 true [trait plan = "pro" eq "pro" -> true] / upgraded: exit => #3 exited: reached exit step upgraded
            outbox:
              t=+0s lea welcome: send email trial-welcome
              t=+0s ken welcome: send email trial-welcome
              t=+0s zed welcome: send email trial-welcome
              t=+0s pat welcome: send email trial-welcome
              t=+6d11h lea tip: send email trial-tip
              t=+6d17h zed tip: send email trial-tip
              t=+7d4h ken tip: send email trial-tip
              t=+12d11h lea ending: send email trial-ending
              t=+12d17h zed ending: send email trial-ending
        "#]],
    );
}

/// A journey entered by API with a key: the payload's property (a number, as text) keys the
/// run; a second call for the same key finds it waiting, another key starts its own.
#[test]
fn api_entries_can_be_keyed_by_a_payload_property() {
    let doc = json!({"id": "orders", "entry": {"api": true, "key": "order.id"},
        "steps": [{"id": "later", "type": "wait", "duration": "1d"}]});
    check(
        doc,
        r#"
        +0s ann api {"order": {"id": 7}}
        +1h ann api {"order": {"id": 7}}
        +2h ann api {"order": {"id": 8}}
        +3h ann api {"order": {}}
    "#,
        expect![[r#"
            t=+0s ann: entered on API Call (key 7) / later: wait 1d => #1 [7] waiting at later until +1d
            t=+2h ann: entered on API Call (key 8) / later: wait 1d => #1 [8] waiting at later until +1d2h
        "#]],
    );
}

/// `Transition::visited`: the steps a transition reached, once per visit and in order. A
/// resumed run's waiting step is not among them (it was reached before); an exit event
/// reaches no step.
#[test]
fn a_transition_lists_the_steps_it_reached() {
    let j = Journey::parse(&json!({
        "id": "visits", "entry": {"event": "Go"}, "exit": [{"event": "Stop"}],
        "steps": [
            {"id": "check", "type": "branch", "cases": [{"when": {"trait": "plan", "op": "eq", "value": "pro"}, "next": "gone"}], "else": "ask"},
            {"id": "ask", "type": "wait_for", "events": [{"event": "Answered", "next": "note"}], "timeout": "1d", "timeout_next": "check"},
            {"id": "note", "type": "update", "set": {"answered": true}, "next": "ask"},
            {"id": "gone", "type": "exit"}
        ]
    }))
    .expect("valid journey");
    let (free, pro) = (Map::new(), json!({"plan": "pro"}).as_object().cloned().unwrap_or_default());
    let ctx =
        |traits| Context { traits, history: &[], previous: None, entries: 0, render: &Paths, segments: &domain::condition::NO_SEGMENTS };
    let at = Timestamp::parse("2027-01-15T08:00:00Z").expect("time");
    let env = Envelope { kind: Some(Kind::Track), received_at: at, sent_at: None, fallback_message_id: "m" };
    let event = |name: &str| Event::parse(json!({"userId": "v", "event": name}), &env).expect("event");
    let visited = |t: &domain::journey::Transition| t.visited.iter().map(|n| n.as_str().to_owned()).collect::<Vec<_>>();

    let go = event("Go");
    let t = step(&j, 1, None, Input::Event(&go), &ctx(&free), at, 1).expect("entered");
    assert_eq!(visited(&t), ["check", "ask"]);
    let answered = event("Answered");
    let t = step(&j, 1, Some(&t.run), Input::Event(&answered), &ctx(&free), at, 1).expect("answered");
    assert_eq!(visited(&t), ["note", "ask"], "back to the wait_for it left: a new visit");
    let later = at.plus(Duration::days(1));
    let timed_out = step(&j, 1, Some(&t.run), Input::Timer, &ctx(&pro), later, 1).expect("timed out");
    assert_eq!((visited(&timed_out), timed_out.run.status), (vec!["check".to_owned(), "gone".to_owned()], RunStatus::Exited));
    let stop = event("Stop");
    let stopped = step(&j, 1, Some(&t.run), Input::Event(&stop), &ctx(&free), at, 1).expect("stopped");
    assert_eq!((visited(&stopped), stopped.run.status), (Vec::<String>::new(), RunStatus::Exited));
}

/// Trace lines are data too: each names its step and kind, and a branch's cases and an entry
/// filter carry their comparisons with the values seen (absent values as `None`); the text is
/// the line as the transcripts show it.
#[test]
fn trace_lines_carry_their_step_kind_and_checks() {
    let j = Journey::parse(&json!({
        "id": "upsell", "entry": {"event": "Signed Up", "filter": {"property": "source", "op": "exists"}},
        "steps": [
            {"id": "pro-yet", "type": "branch", "cases": [
                {"when": {"any": [{"trait": "plan", "op": "eq", "value": "pro"},
                                  {"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 3}]}, "next": "done"},
                {"when": {"property": "cart_id", "op": "eq", "ref": "event.cart_id"}, "next": "done"}
            ], "else": "nudge"},
            {"id": "nudge", "type": "send", "template": "nudge"},
            {"id": "done", "type": "exit"}
        ]
    }))
    .expect("valid journey");
    let traits = json!({"plan": "free", "email": "v@x.test"}).as_object().cloned().unwrap_or_default();
    let ctx = Context {
        traits: &traits,
        history: &[json!(2)],
        previous: None,
        entries: 0,
        render: &Paths,
        segments: &domain::condition::NO_SEGMENTS,
    };
    let at = Timestamp::parse("2027-01-15T08:00:00Z").expect("time");
    let env = Envelope { kind: Some(Kind::Track), received_at: at, sent_at: None, fallback_message_id: "m" };
    let e = Event::parse(json!({"userId": "v", "event": "Signed Up", "properties": {"source": "ad"}}), &env).expect("event");
    let t = step(&j, 1, None, Input::Event(&e), &ctx, at, 1).expect("entered");
    let shown: Vec<String> = t
        .trace
        .iter()
        .map(|l| {
            let checks: Vec<String> = l.checks.iter().map(|c| serde_json::to_string(c).expect("json")).collect();
            let checks: String = checks.iter().map(|c| format!("\n    {c}")).collect();
            format!("{:?} {:?} {}{checks}", l.node.as_ref().map(|n| n.as_str()), l.kind, l.text)
        })
        .collect();
    expect![[r#"
        None Entered entered on Signed Up [property source = "ad" exists -> true]
            {"subject":"property source","seen":"ad","op":"exists","result":true}
        Some("pro-yet") Case pro-yet: case 0 false [trait plan = "free" eq "pro" -> false; count("Page Viewed" in 7d) = 2 gte 3 -> false]
            {"subject":"trait plan","seen":"free","op":"eq","expected":"pro","result":false}
            {"subject":"count(\"Page Viewed\" in 7d)","seen":2,"op":"gte","expected":3,"result":false}
        Some("pro-yet") Case pro-yet: case 1 false [property cart_id = (absent) eq event.cart_id ((absent)) -> false]
            {"subject":"property cart_id","op":"eq","reference":"event.cart_id","result":false}
        Some("pro-yet") Else pro-yet: else -> nudge
        Some("nudge") Send nudge: send email nudge
        None Completed completed
    "#]]
    .assert_eq(&(shown.join("\n") + "\n"));
    let path: Vec<&str> = t.trace.iter().filter_map(|l| l.node.as_ref()).map(|n| n.as_str()).collect();
    assert_eq!(path, ["pro-yet", "pro-yet", "pro-yet", "nudge"]);
}

/// `{"segment": id, "on": "enter" | "leave"}` enters on the person's entering (leaving) that
/// segment, and `{"segment": id}` as a condition tests membership.
#[test]
fn a_segment_entry_and_a_membership_branch() {
    let j = Journey::parse(&json!({"id": "j", "entry": {"segment": "lapsed", "on": "leave"}, "steps": [
        {"id": "b", "type": "branch", "cases": [{"when": {"segment": "vip"}, "next": "vip"}], "else": "end"},
        {"id": "vip", "type": "exit"}, {"id": "end", "type": "exit"}]}))
    .expect("valid");
    let segs: Vec<String> = j.segments().into_iter().map(|(id, path, _)| format!("{id} at {path}")).collect();
    assert_eq!(segs, ["lapsed at /entry/segment", "vip at /steps/0/cases/0/when"]);
    let traits = Map::new();
    let vip: std::collections::BTreeSet<domain::ids::SegmentId> = [domain::ids::SegmentId::from("vip")].into();
    let now = Timestamp::parse("2027-01-15T08:00:00Z").expect("now");
    let event = |name: &str, segment: &str| {
        let raw = json!({"type": "track", "userId": "ann", "event": name, "properties": {"segment": segment}});
        Event::parse(raw, &Envelope { kind: None, received_at: now, sent_at: None, fallback_message_id: "1" }).expect("event")
    };
    let path = |members: &std::collections::BTreeSet<domain::ids::SegmentId>, e: &Event| {
        let ctx = Context { traits: &traits, history: &[], previous: None, entries: 0, render: &Paths, segments: members };
        step(&j, 1, None, Input::Event(e), &ctx, now, 1).map(|t| t.run.node.map(|n| n.0).unwrap_or_default())
    };
    let none = std::collections::BTreeSet::new();
    assert_eq!(path(&vip, &event("Segment Exited", "lapsed")), Some("vip".into()));
    assert_eq!(path(&none, &event("Segment Exited", "lapsed")), Some("end".into()));
    assert_eq!(path(&none, &event("Segment Entered", "lapsed")), None, "entering is not leaving");
    assert_eq!(path(&none, &event("Segment Exited", "vip")), None, "another segment");
    let bad = Journey::parse(&json!({"id": "j", "entry": {"segment": "Lapsed!", "on": "join"}, "steps": [{"id": "e", "type": "exit"}]}));
    let codes: Vec<String> = bad.err().unwrap_or_default().into_iter().map(|d| format!("{} {}", d.path, d.code)).collect();
    assert_eq!(codes, ["/entry/segment invalid_field", "/entry/on invalid_field"]);
}

/// The goal event's `revenue` is kept on the run it converted (for the journey's revenue).
#[test]
fn a_conversion_keeps_the_goal_events_revenue() {
    let j = Journey::parse(&json!({"id": "j", "entry": {"event": "A"}, "goal": {"event": "Order Completed"},
        "steps": [{"id": "w", "type": "wait", "duration": "1d"}]}))
    .expect("valid");
    let traits = Map::new();
    let ctx =
        Context { traits: &traits, history: &[], previous: None, entries: 0, render: &Paths, segments: &domain::condition::NO_SEGMENTS };
    let now = Timestamp::parse("2027-01-15T08:00:00Z").expect("now");
    let event = |name: &str, props: Value| {
        let raw = json!({"type": "track", "userId": "ann", "event": name, "properties": props});
        Event::parse(raw, &Envelope { kind: None, received_at: now, sent_at: None, fallback_message_id: "1" }).expect("event")
    };
    let run = step(&j, 1, None, Input::Event(&event("A", json!({}))), &ctx, now, 1).expect("entered").run;
    let paid = step(&j, 1, Some(&run), Input::Event(&event("Order Completed", json!({"revenue": 42.5}))), &ctx, now, 1).expect("converted");
    assert_eq!((paid.run.converted_at, paid.run.revenue), (Some(now), Some(42.5)));
    let unpaid =
        step(&j, 1, Some(&run), Input::Event(&event("Order Completed", json!({"revenue": "lots"}))), &ctx, now, 1).expect("converted");
    assert_eq!((unpaid.run.converted_at, unpaid.run.revenue), (Some(now), None), "not a number: none");
}
