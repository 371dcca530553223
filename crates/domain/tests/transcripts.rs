//! Journey behaviour pinned by readable transcripts.
//!
//! Each case runs a script of events through `step` with a tiny in-memory driver (the
//! engine's job, minus durability) and snapshots one line per transition:
//! `t=+3d alice: booked: wait_for Consultation Booked timed out -> remind / remind: send email ...`.
//! Update snapshots with `UPDATE_EXPECT=1 cargo test`.

use std::collections::BTreeMap;

use domain::Map;
use domain::event::{Envelope, Event, Kind};
use domain::journey::{Context, Input, Journey, Run, RunStatus, step};
use domain::time::{Duration, Timestamp};
use expect_test::{Expect, expect};
use serde_json::{Value, json};

#[derive(Default)]
struct Person {
    traits: Map,
    history: Vec<(Timestamp, String, Map)>,
    run: Option<Run>,
}

struct Driver {
    journey: Journey,
    start: Timestamp,
    people: BTreeMap<String, Person>,
    log: Vec<String>,
    next_id: u64,
}

impl Driver {
    fn new(doc: Value) -> Driver {
        let journey = Journey::parse(&doc).expect("valid journey");
        Driver { journey, start: Timestamp(1_800_000_000_000), people: BTreeMap::new(), log: Vec::new(), next_id: 0 }
    }

    fn history_counts(&self, who: &str, now: Timestamp) -> Vec<i64> {
        let person = &self.people[who];
        self.journey
            .history
            .iter()
            .map(|q| {
                let since = now.minus(q.within);
                q.count(person.history.iter().filter(|(t, n, _)| *n == q.event && *t > since && *t <= now).map(|(_, _, p)| p))
            })
            .collect()
    }

    fn apply(&mut self, who: &str, now: Timestamp, input: Input<'_>) {
        let history = self.history_counts(who, now);
        let person = &self.people[who];
        let ctx = Context { traits: &person.traits, history: &history };
        if let Some(t) = step(&self.journey, 1, person.run.as_ref(), input, &ctx, now, 7) {
            let offset = now.since(self.start);
            self.log.push(format!("t=+{offset} {who}: {}", t.trace.join(" / ")));
            self.people.get_mut(who).expect("person").run = Some(t.run);
        }
    }

    /// Fires every timer due up to `until`, in time order.
    fn advance(&mut self, until: Timestamp) {
        loop {
            let due = self
                .people
                .iter()
                .filter_map(|(who, p)| {
                    p.run.as_ref().filter(|r| r.status == RunStatus::Waiting).and_then(|r| r.wake_at).map(|t| (t, who.clone()))
                })
                .filter(|(t, _)| *t <= until)
                .min();
            let Some((at, who)) = due else { return };
            self.apply(&who, at, Input::Timer);
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
        let person = self.people.entry(who.to_owned()).or_default();
        person.traits.extend(event.traits.clone());
        person.history.push((now, event.match_name().to_owned(), event.match_properties().into_owned()));
        if person.run.as_ref().is_some_and(|r| r.status == RunStatus::Exited) {
            person.run = None; // the previous run ended; a new one may start
        }
        self.apply(who, now, Input::Event(&event));
    }

    /// Runs a script: `+1h alice page /products/a`, `+1d alice track Sales Contacted {"x":1}`,
    /// `+1d alice identify {"firstName":"Alice"}`, or `+5d` to let time pass.
    fn run(mut self, script: &str) -> String {
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut parts = line.splitn(3, ' ');
            let offset: Duration = parts.next().and_then(|o| o.strip_prefix('+')).expect("offset").parse().expect("duration");
            let now = self.start.plus(offset);
            let (Some(who), Some(rest)) = (parts.next(), parts.next()) else {
                self.advance(now);
                continue;
            };
            let (verb, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let (name, props) = match rest.find('{') {
                Some(i) => (rest[..i].trim(), serde_json::from_str::<Map>(&rest[i..]).expect("json props")),
                None => (rest.trim(), Map::new()),
            };
            match verb {
                "page" => self.event(now, who, Kind::Page, "", json!({"path": name}).as_object().cloned().unwrap_or_default()),
                "track" => self.event(now, who, Kind::Track, name, props),
                "identify" => self.event(now, who, Kind::Identify, "", props),
                other => panic!("unknown verb {other}"),
            }
        }
        self.log.join("\n") + "\n"
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
            t=+0s alice: entered on Page Viewed [property path = "/products/a" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 1 gte 3 -> false] / qualified: else -> (end) / completed
            t=+2d alice: entered on Page Viewed [property path = "/products/b" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 2 gte 3 -> false] / qualified: else -> (end) / completed
            t=+3d alice: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true] / qualified: case 0 true [count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d)
            t=+6d alice: booked: wait_for Consultation Booked timed out -> remind / remind: send email consultation-reminder / completed
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
            t=+0s alice: entered on Page Viewed [property path = "/products/a" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 1 gte 3 -> false] / qualified: else -> (end) / completed
            t=+4d alice: entered on Page Viewed [property path = "/products/b" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 2 gte 3 -> false] / qualified: else -> (end) / completed
            t=+8d alice: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 2 gte 3 -> false] / qualified: else -> (end) / completed
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
            t=+1h bob: entered on Page Viewed [property path = "/products/a" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 1 gte 3 -> false] / qualified: else -> (end) / completed
            t=+2h bob: entered on Page Viewed [property path = "/products/b" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 2 gte 3 -> false] / qualified: else -> (end) / completed
            t=+3h bob: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 1 eq 0 -> false] / qualified: else -> (end) / completed
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
            t=+0s carol: entered on Page Viewed [property path = "/products/a" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 1 gte 3 -> false] / qualified: else -> (end) / completed
            t=+1h carol: entered on Page Viewed [property path = "/products/b" starts_with "/products/" -> true] / qualified: case 0 false [count("Page Viewed" where … in 7d) = 2 gte 3 -> false] / qualified: else -> (end) / completed
            t=+2h carol: entered on Page Viewed [property path = "/products/c" starts_with "/products/" -> true] / qualified: case 0 true [count("Page Viewed" where … in 7d) = 3 gte 3 -> true; count("Sales Contacted" in 7d) = 0 eq 0 -> true] / invite: send email consultation-invite / booked: wait_for Consultation Booked (timeout 3d)
            t=+1d carol: booked: got Consultation Booked -> (end) / completed
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
        t=+0s dan: entered on Signed Up / pause: wait 30d
        t=+1d dan: exit on Unsubscribed
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
        t=+0s erin: entered on Signed Up / pause: wait 2h
        t=+2h erin: pause: wait over -> hello / hello: send email welcome / crm: webhook POST https://crm.example/hooks / completed
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
        t=+1s fay: entered on Trial Started [trait plan = "trial" eq "trial" -> true] / big: case 0 false [property seats = 3 gte 10 -> false] / big: else -> paid / paid: wait_for Plan Changed (timeout 14d)
        t=+2s gus: entered on Trial Started [trait plan = "trial" eq "trial" -> true] / big: case 0 true [property seats = 12 gte 10 -> true] / sales: send email talk-to-sales / completed
        t=+2d fay: paid: got Plan Changed -> thanks / thanks: send email thanks / completed
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
        c /steps/3/type unknown_step_type: unknown step type "teleport"; available: wait, wait_for, branch, send, webhook, exit
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
}
