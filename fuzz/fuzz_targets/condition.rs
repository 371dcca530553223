//! Conditions: one parsed from JSON, evaluated against any traits, properties, history
//! aggregates and local clock, and stepped through a journey that uses it everywhere a
//! condition can be (entry filter, exit, goal, branch, wait_for).
//!
//! The input is `{"when": CONDITION, "traits": {...}, "properties": {...}, "history": [...],
//! "clock": ["08:30", 5, "Europe/Paris"]}` (or a bare condition, with no facts). Bytes that are
//! not JSON are read as a structured case instead: a generated condition over a few names,
//! and facts with those names (`wayfarer_fuzz::Gen`).
//!
//! Checks: `holds` and `eval` agree; a condition that `contradiction` calls impossible holds
//! for none of the facts given, nor for any of the values it compares with (and their
//! nearest neighbours, for numbers) set on every trait and property it reads; history
//! aggregates evaluate; and every transition keeps its invariants.

#![no_main]

use arbitrary::Unstructured;
use domain::Map;
use domain::condition::{Condition, DAYS, Facts, LocalClock, Operand, Subject};
use domain::event::{Envelope, Event, Kind};
use domain::journey::{Context, Input, Journey, RunStatus, step};
use domain::time::{Duration, Timestamp};
use libfuzzer_sys::fuzz_target;
use serde_json::{Number, Value, json};
use wayfarer_fuzz::{Gen, check_transition, json};

fn object(v: Option<&Value>) -> Map {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// The subjects a condition compares and the values it compares them with.
fn comparisons(c: &Condition, subjects: &mut Vec<Subject>, values: &mut Vec<Value>) {
    match c {
        Condition::All(items) | Condition::Any(items) => items.iter().for_each(|c| comparisons(c, subjects, values)),
        Condition::Not(c) => comparisons(c, subjects, values),
        Condition::Compare { subject, value: Operand::Value(value), .. } => {
            if !subjects.contains(subject) {
                subjects.push(subject.clone());
            }
            let mut add = |v: &Value| {
                values.push(v.clone());
                if let Some(x) = v.as_f64() {
                    for y in [x.next_up(), x.next_down(), x.trunc()] {
                        values.extend(Number::from_f64(y).map(Value::Number));
                    }
                }
            };
            add(value);
            value.as_array().into_iter().flatten().for_each(&mut add);
        }
        Condition::Compare { .. } | Condition::History { .. } | Condition::Clock { .. } | Condition::Reachable(_) | Condition::Segment(_) => {}
    }
}

/// Sets a dotted path (`address.city`) in `map`, making the objects on the way.
fn set_path(map: &mut Map, path: &str, v: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = map;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_owned(), v);
            return;
        }
        let slot = cur.entry(part.to_owned()).or_insert_with(|| json!({}));
        if !slot.is_object() {
            *slot = json!({});
        }
        cur = slot.as_object_mut().expect("made an object above");
    }
}

/// A structured case: a condition over a few names (so that comparisons meet on the same
/// subject), facts about those names, history values and a clock.
fn generated(data: &[u8]) -> Option<Value> {
    let words = Gen { vocab: ["n", "plan", "a.b", "tags", "pro", "E"].map(str::to_owned).to_vec() };
    let mut u = Unstructured::new(data);
    let when = words.condition(&mut u, 0).ok()?;
    let (traits, properties) = (words.map(&mut u, 1).ok()?, words.map(&mut u, 1).ok()?);
    let history: Vec<Value> = (0..u.int_in_range(0..=3).ok()?).map(|_| words.value(&mut u, 2)).collect::<Result<_, _>>().ok()?;
    let clock = json!([
        format!("{:02}:{:02}", u.int_in_range(0..=24u8).ok()?, u.int_in_range(0..=60u8).ok()?),
        u.int_in_range(0..=6u8).ok()?,
        "UTC"
    ]);
    Some(json!({"when": when, "traits": traits, "properties": properties, "history": history, "clock": clock}))
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = json(data).or_else(|| generated(data)) else { return };
    let (when, facts_doc) = match input.get("when") {
        Some(w) => (w.clone(), input.clone()),
        None => (input.clone(), Value::Null),
    };
    let traits = object(facts_doc.get("traits"));
    let properties = object(facts_doc.get("properties"));
    let given: Vec<Value> = facts_doc.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    let clock = facts_doc.get("clock").and_then(Value::as_array).map(|c| LocalClock {
        time_of_day: c.first().and_then(Value::as_str).unwrap_or("08:30").to_owned(),
        day_of_week: DAYS[c.get(1).and_then(Value::as_u64).unwrap_or(0) as usize % 7],
        zone: c.get(2).and_then(Value::as_str).unwrap_or("UTC").to_owned(),
    });

    // The condition alone: as a history query's `where`, which is parsed without the
    // contradiction check that refuses impossible conditions elsewhere.
    let doc = json!({"id": "c", "entry": {"api": true}, "steps": [{"id": "b", "type": "branch",
        "cases": [{"when": {"history": {"event": "E", "within": "1d", "where": when}, "op": "exists"}}]}]});
    if let Ok(j) = Journey::parse(&doc) {
        let c = j.history.last().and_then(|q| q.filter.as_ref()).expect("the query with the condition is the last one");
        let mut history = given.clone();
        history.resize(j.history.len(), Value::Null);
        let facts = Facts { traits: &traits, properties: Some(&properties), history: &history, clock: clock.as_ref(), run: None, segments: &domain::condition::NO_SEGMENTS };
        let mut trace = Vec::new();
        let holds = c.eval(&facts, &mut trace);
        assert_eq!(holds, c.holds(&facts), "eval and holds agree");
        for q in &j.history {
            let _ = (q.evaluate([&properties, &traits]), q.to_string());
        }
        if let Some(why) = c.contradiction() {
            assert!(!holds, "a condition called impossible ({why}) holds for the facts given: {trace:?}");
            let (mut subjects, mut values) = (Vec::new(), Vec::new());
            comparisons(c, &mut subjects, &mut values);
            for v in values.into_iter().take(64) {
                let mut m = Map::new();
                for s in subjects.iter().take(8) {
                    let (Subject::Trait(p) | Subject::Property(p) | Subject::Run(p)) = s;
                    set_path(&mut m, p, v.clone());
                }
                let facts = Facts { traits: &m, properties: Some(&m), history: &history, clock: clock.as_ref(), run: None, segments: &domain::condition::NO_SEGMENTS };
                let mut trace = Vec::new();
                assert!(!c.eval(&facts, &mut trace), "a condition called impossible ({why}) holds: {trace:?}");
            }
        }
    }

    // The condition everywhere a journey has one, stepped.
    let doc = json!({"id": "c", "entry": {"event": "E", "filter": when}, "exit": [{"event": "X", "filter": when}],
        "goal": {"event": "G", "filter": when},
        "steps": [{"id": "b", "type": "branch", "cases": [{"when": when, "next": "w"}], "else": "w"},
                  {"id": "w", "type": "wait_for", "events": [{"event": "E", "filter": when}], "timeout": "1d"}]});
    let Ok(j) = Journey::parse(&doc) else { return };
    let mut history = given;
    history.resize(j.history.len(), Value::Null);
    let ctx = Context {
        traits: &traits,
        history: &history,
        previous: None,
        entries: 0,
        render: &wayfarer_fuzz::Plain,
        segments: &domain::condition::NO_SEGMENTS,
    };
    let now = Timestamp(1_795_435_200_000);
    let mut run = None;
    for (i, name) in ["E", "G", "E", "X"].into_iter().enumerate() {
        let raw = json!({"type": "track", "event": name, "userId": "u", "properties": properties.clone()});
        let env = Envelope { kind: Some(Kind::Track), received_at: now, sent_at: None, fallback_message_id: "m" };
        let event = Event::parse(raw, &env).expect("a valid event");
        let waiting = run.as_ref().filter(|r: &&domain::journey::Run| r.status == RunStatus::Waiting);
        let ctx = Context { previous: run.as_ref(), ..ctx };
        if let Some(t) = step(&j, 1, waiting, Input::Event(&event), &ctx, now.plus(Duration::hours(i as i64)), 7) {
            check_transition(&j, waiting, &t);
            run = Some(t.run);
        }
    }
    if let Some(r) = run.as_ref().filter(|r| r.status == RunStatus::Waiting)
        && let Some(t) = step(&j, 1, Some(r), Input::Timer, &ctx, now.plus(Duration::days(2)), 7)
    {
        check_transition(&j, Some(r), &t);
    }
});
