//! What Wayfarer's fuzz targets share: a stepping driver (the engine's job minus durability,
//! as in `crates/domain/tests/transcripts.rs`) that checks the invariants every transition
//! keeps, and generators of structured values and edits from fuzz bytes.
//!
//! A target panics (and libFuzzer reports a crash) when the code under test panics or when
//! one of the invariants checked here does not hold.

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use domain::Map;
use domain::aggregate::in_window;
use domain::event::{Envelope, Event, Kind};
use domain::journey::{Context, Effect, Input, Journey, Run, RunStatus, StepKind, Transition, step};
use domain::time::Timestamp;
use serde_json::{Number, Value, json};

/// The JSON value in fuzz bytes, if they are JSON text (as an HTTP body or a stored row is).
pub fn json(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}

/// Whether a value survives the store: serialized to JSON text, read back, the same.
pub fn round_trips<T>(v: &T) -> bool
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
{
    let text = serde_json::to_string(v).expect("a value serializes");
    serde_json::from_str::<T>(&text).is_ok_and(|back| back == *v)
}

/// A time the scripts start at, most often an ordinary one.
pub fn start(u: &mut Unstructured<'_>) -> Result<Timestamp> {
    Ok(match u.int_in_range(0..=15)? {
        0 => Timestamp(u.arbitrary()?),
        1 => Timestamp(i64::MAX - i64::from(u.arbitrary::<u32>()?)),
        2 => Timestamp(i64::MIN + i64::from(u.arbitrary::<u32>()?)),
        3 => Timestamp(253_402_300_799_000 - i64::from(u.arbitrary::<u16>()?) * 60_000), // the end of year 9999
        _ => Timestamp(1_805_097_600_000 + i64::from(u.arbitrary::<u32>()?)),            // 2027-03-15
    })
}

/// Names, keys and values the language knows, with which generated values and edits reach
/// past the first checks.
pub const WORDS: &[&str] = &[
    // keys
    "id",
    "name",
    "timezone",
    "entry",
    "exit",
    "goal",
    "steps",
    "event",
    "filter",
    "reentry",
    "limit",
    "holdout",
    "concurrent",
    "trait_change",
    "api",
    "schedule",
    "audience",
    "date",
    "trait",
    "from",
    "to",
    "cron",
    "offset",
    "at",
    "after",
    "within",
    "type",
    "duration",
    "until",
    "until_trait",
    "time",
    "events",
    "timeout",
    "timeout_next",
    "cases",
    "else",
    "when",
    "paths",
    "weight",
    "next",
    "channel",
    "template",
    "set",
    "increment",
    "unset",
    "url",
    "method",
    "body",
    "save",
    "all",
    "any",
    "not",
    "property",
    "history",
    "op",
    "value",
    "clock",
    "where",
    "aggregate",
    "key",
    "ref",
    "run",
    "append",
    "reachable",
    "on_unreachable",
    "on_failure",
    // step types, operators, aggregates, clock fields, channels, methods
    "wait",
    "wait_for",
    "branch",
    "split",
    "send",
    "update",
    "webhook",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "starts_with",
    "ends_with",
    "in",
    "exists",
    "not_exists",
    "count",
    "sum",
    "last",
    "time_of_day",
    "day_of_week",
    "email",
    "POST",
    "GET",
    "always",
    "never",
    // values
    "3d",
    "1d12h",
    "30s",
    "250ms",
    "1w",
    "-3d",
    "+12h",
    "0s",
    "09:00",
    "23:59",
    "24:00",
    "02:30",
    "mon",
    "sat",
    "sun",
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "Mars/Olympus",
    "0 9 * * mon",
    "*/15 * * * *",
    "0 0 29 feb *",
    "2027-01-20",
    "2027-03-28T01:30:00Z",
    "https://crm.example/hook",
    "/score",
    "",
    // names
    "Signed Up",
    "Page Viewed",
    "Order Completed",
    "Identify",
    "plan",
    "pro",
    "email",
    "firstName",
    "path",
    "/products/a",
    "total",
    "address.city",
    "renewal_date",
    // keyed runs, references, run variables, history since entry
    "entry",
    "cart_id",
    "event.cart_id",
    "run.items",
    "traits.plan",
    "items",
    "{{ received }}",
    "{{ event.total }}",
    "{{ run.items }}",
];

/// Generates values and names from fuzz bytes: mostly from a vocabulary (the words of the
/// document being fuzzed and `WORDS`), sometimes anything.
pub struct Gen {
    pub vocab: Vec<String>,
}

impl Gen {
    /// A generator whose vocabulary is `WORDS` and every key and string in `doc`.
    pub fn for_doc(doc: &Value) -> Gen {
        let mut vocab: Vec<String> = WORDS.iter().map(|w| (*w).to_owned()).collect();
        let mut stack = vec![doc];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => vocab.push(s.clone()),
                Value::Array(items) => stack.extend(items),
                Value::Object(map) => {
                    vocab.extend(map.keys().cloned());
                    stack.extend(map.values());
                }
                _ => {}
            }
        }
        vocab.sort();
        vocab.dedup();
        Gen { vocab }
    }

    pub fn word(&self, u: &mut Unstructured<'_>) -> Result<String> {
        if u.ratio(1, 10)? {
            return u.arbitrary();
        }
        Ok(u.choose(&self.vocab)?.clone())
    }

    pub fn number(&self, u: &mut Unstructured<'_>) -> Result<Value> {
        Ok(match u.int_in_range(0..=5)? {
            0 => json!(*u.choose(&[0i64, 1, -1, 2, 3, 10, 50, 100, 101, 1000, 9_007_199_254_740_993, i64::MAX, i64::MIN])?),
            1 => json!(u.arbitrary::<i64>()?),
            2 => json!(u.arbitrary::<u64>()?),
            3 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
            // near a neighbour of another number: the edges of comparisons
            4 => {
                let x: f64 = *u.choose(&[0.0, 1.0, 3.0, 7.0, 100.0, 1e17, 1.2e17, -5.5])?;
                let y = if u.arbitrary()? { x.next_up() } else { x.next_down() };
                Number::from_f64(y).map_or(Value::Null, Value::Number)
            }
            _ => json!(u.int_in_range(-3i64..=120)?),
        })
    }

    /// A duration-like text: a number and a unit, sometimes signed or combined.
    pub fn duration(&self, u: &mut Unstructured<'_>) -> Result<String> {
        let mut s = String::new();
        s.push_str(u.choose(&["", "", "", "-", "+"])?);
        for _ in 0..u.int_in_range(1..=2)? {
            let n: u64 = if u.arbitrary()? { u.int_in_range(0..=100)? } else { u.arbitrary()? };
            s.push_str(&format!("{n}{}", u.choose(&["s", "m", "h", "d", "w", "ms", "x", ""])?));
        }
        Ok(s)
    }

    /// A cron-like text: five fields of numbers, names, ranges, steps and lists.
    pub fn cron(&self, u: &mut Unstructured<'_>) -> Result<String> {
        let mut fields = Vec::new();
        for _ in 0..u.int_in_range(4..=6)? {
            let mut parts = Vec::new();
            for _ in 0..u.int_in_range(1..=2)? {
                let n = |u: &mut Unstructured<'_>| -> Result<String> {
                    Ok(match u.int_in_range(0..=3)? {
                        0 => {
                            // any number, or one at the edge of the range (where arithmetic overflows)
                            let any: u32 = u.arbitrary()?;
                            u.choose(&[any, any, u32::MAX, u32::MAX - 1, 1 << 31])?.to_string()
                        }
                        1 => (*u.choose(&["mon", "sun", "jan", "dec", "fri"])?).to_owned(),
                        _ => u.int_in_range(0u32..=60)?.to_string(),
                    })
                };
                parts.push(match u.int_in_range(0..=4)? {
                    0 => "*".to_owned(),
                    1 => format!("*/{}", n(u)?),
                    2 => format!("{}-{}", n(u)?, n(u)?),
                    3 => format!("{}/{}", n(u)?, n(u)?),
                    _ => n(u)?,
                });
            }
            fields.push(parts.join(","));
        }
        Ok(fields.join(" "))
    }

    /// A date or instant text, ordinary or at the ends of the calendar.
    pub fn date(&self, u: &mut Unstructured<'_>) -> Result<String> {
        let y: i32 = *u.choose(&[2027, 2026, 1970, 9999, -9999, 0, 10000])?;
        let (m, d): (u8, u8) = (u.int_in_range(0..=13)?, u.int_in_range(0..=32)?);
        Ok(match u.int_in_range(0..=2)? {
            0 => format!("{y:04}-{m:02}-{d:02}"),
            1 => format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:00Z", u.int_in_range(0u8..=24)?, u.int_in_range(0u8..=60)?),
            _ => format!("{y:04}-{m:02}-{d:02}T01:30:00{}", u.choose(&["+14:00", "-12:00", "", "+25:00"])?),
        })
    }

    pub fn value(&self, u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
        let top = if depth >= 3 { 7 } else { 10 };
        Ok(match u.int_in_range(0..=top)? {
            0 => Value::Null,
            1 => Value::Bool(u.arbitrary()?),
            2 => self.number(u)?,
            3 | 4 => Value::String(self.word(u)?),
            5 => Value::String(self.duration(u)?),
            6 => Value::String(self.date(u)?),
            7 => Value::String(self.cron(u)?),
            8 => Value::Array((0..u.int_in_range(0..=3)?).map(|_| self.value(u, depth + 1)).collect::<Result<_>>()?),
            9 => Value::Object(self.map(u, depth + 1)?),
            _ => self.condition(u, depth + 1)?,
        })
    }

    pub fn map(&self, u: &mut Unstructured<'_>, depth: u32) -> Result<Map> {
        let mut m = Map::new();
        for _ in 0..u.int_in_range(0..=3)? {
            m.insert(self.word(u)?, self.value(u, depth + 1)?);
        }
        Ok(m)
    }

    /// A condition document, well formed more often than not.
    pub fn condition(&self, u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
        let op = |u: &mut Unstructured<'_>| -> Result<&'static str> {
            u.choose(&["eq", "ne", "gt", "gte", "lt", "lte", "contains", "starts_with", "ends_with", "in", "exists", "not_exists"]).copied()
        };
        let leaf = depth >= 4 || u.ratio(2, 3)?;
        Ok(if leaf {
            match u.int_in_range(0..=5)? {
                0 | 1 => {
                    let kind = *u.choose(&["trait", "property", "run"])?;
                    match u.int_in_range(0..=3)? {
                        0 => json!({kind: self.word(u)?, "op": op(u)?, "ref": u.choose(&["event.cart_id", "run.items", "traits.plan"])?}),
                        _ => json!({kind: self.word(u)?, "op": op(u)?, "value": self.value(u, 3)?}),
                    }
                }
                4 => json!({"reachable": self.word(u)?}),
                2 | 5 => {
                    let within = if u.ratio(1, 4)? { "entry".to_owned() } else { self.duration(u)? };
                    let mut q = json!({"event": self.word(u)?, "within": within});
                    if u.arbitrary()? {
                        q["aggregate"] = json!(u.choose(&["count", "exists", "sum", "last"])?);
                        q["property"] = json!(self.word(u)?);
                    }
                    if u.ratio(1, 4)? {
                        q["where"] = self.condition(u, depth + 1)?;
                    }
                    json!({"history": q, "op": op(u)?, "value": self.value(u, 3)?})
                }
                _ => json!({"clock": u.choose(&["time_of_day", "day_of_week"])?, "op": op(u)?, "value": self.value(u, 3)?}),
            }
        } else {
            match u.int_in_range(0..=2)? {
                0 => json!({"not": self.condition(u, depth + 1)?}),
                k => {
                    let items = (0..u.int_in_range(0..=3)?).map(|_| self.condition(u, depth + 1)).collect::<Result<Vec<_>>>()?;
                    json!({if k == 1 { "all" } else { "any" }: items})
                }
            }
        })
    }
}

/// A JSON pointer token for `key`.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of every node of `doc` (preorder; `""` is the root).
pub fn pointers(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), doc)];
    while let Some((ptr, v)) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().enumerate().rev().map(|(i, item)| (format!("{ptr}/{i}"), item))),
            Value::Object(map) => stack.extend(map.iter().rev().map(|(k, item)| (format!("{ptr}/{}", token(k)), item))),
            _ => {}
        }
        out.push(ptr);
    }
    out
}

/// One edit of a document at one of its nodes.
pub fn edit(doc: &mut Value, words: &Gen, u: &mut Unstructured<'_>) -> Result<()> {
    let ptrs = pointers(doc);
    let ptr = u.choose(&ptrs)?.clone();
    let (parent, last) = ptr.rsplit_once('/').unwrap_or(("", ""));
    let last = last.replace("~1", "/").replace("~0", "~");
    match u.int_in_range(0..=7)? {
        // replace the node
        0 | 1 => {
            let v = words.value(u, 0)?;
            if let Some(node) = doc.pointer_mut(&ptr) {
                *node = v;
            }
        }
        // remove it from its parent
        2 => match doc.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&last);
            }
            Some(Value::Array(items)) => {
                if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < items.len()) {
                    items.remove(i);
                }
            }
            _ => {}
        },
        // rename its key
        3 => {
            let key = words.word(u)?;
            if let Some(Value::Object(map)) = doc.pointer_mut(parent)
                && let Some(v) = map.remove(&last)
            {
                map.insert(key, v);
            }
        }
        // add a key or an item to it
        4 | 5 => {
            let (key, v) = (words.word(u)?, words.value(u, 0)?);
            match doc.pointer_mut(&ptr) {
                Some(Value::Object(map)) => {
                    map.insert(key, v);
                }
                Some(Value::Array(items)) => {
                    let at = u.int_in_range(0..=items.len())?;
                    // a copy of an item (a step, a case, a path) more often than something new
                    let item = if !items.is_empty() && u.arbitrary()? { items[u.choose_index(items.len())?].clone() } else { v };
                    items.insert(at, item);
                }
                _ => {}
            }
        }
        // wrap it in a condition
        6 => {
            let other = words.condition(u, 2)?;
            if let Some(node) = doc.pointer_mut(&ptr) {
                let inner = node.take();
                *node = match u.int_in_range(0..=2)? {
                    0 => json!({"not": inner}),
                    1 => json!({"all": [inner, other]}),
                    _ => json!({"any": [other, inner]}),
                };
            }
        }
        // swap two items of an array (steps, cases, paths)
        _ => {
            if let Some(Value::Array(items)) = doc.pointer_mut(parent)
                && !items.is_empty()
            {
                let (a, b) = (u.choose_index(items.len())?, u.choose_index(items.len())?);
                items.swap(a, b);
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Person {
    traits: Map,
    /// (time, event name as journeys match it, its properties)
    history: Vec<(Timestamp, String, Map)>,
    run: Option<Run>,
}

/// Drives one journey for a few people, as the engine does: history aggregates computed
/// before each step, trait changes as inputs of their own, updates applied, timers fired.
pub struct Driver<'j> {
    pub journey: &'j Journey,
    people: BTreeMap<u8, Person>,
    entries: i64,
    pub transitions: usize,
    next_id: u64,
}

impl<'j> Driver<'j> {
    pub fn new(journey: &'j Journey) -> Driver<'j> {
        Driver { journey, people: BTreeMap::new(), entries: 0, transitions: 0, next_id: 0 }
    }

    fn history(&self, who: u8, now: Timestamp) -> Vec<Value> {
        let person = &self.people[&who];
        self.journey
            .history
            .iter()
            .map(|q| q.evaluate(person.history.iter().filter(|(t, n, _)| *n == q.event && in_window(q.within, now, *t)).map(|(_, _, p)| p)))
            .collect()
    }

    /// Steps `input` for `who` at `now`, checks the transition, applies it.
    pub fn apply(&mut self, who: u8, now: Timestamp, input: Input<'_>) {
        self.people.entry(who).or_default();
        let history = self.history(who, now);
        let person = &self.people[&who];
        let waiting = person.run.as_ref().filter(|r| r.status == RunStatus::Waiting);
        let ctx =
            Context {
                traits: &person.traits,
                history: &history,
                previous: person.run.as_ref(),
                entries: self.entries,
                render: &Plain,
                segments: &domain::condition::NO_SEGMENTS,
            };
        let seed = u64::from(who).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.next_id;
        let Some(t) = step(self.journey, 1, waiting, input, &ctx, now, seed) else { return };
        check_transition(self.journey, waiting, &t);
        self.transitions += 1;
        if t.entered {
            self.entries += 1;
        }
        let person = self.people.get_mut(&who).expect("the person was added above");
        for effect in &t.effects {
            if let Effect::Update { update, .. } = effect {
                update.apply(&mut person.traits);
            }
        }
        person.run = Some(t.run);
    }

    /// `apply`, then the trait changes it made (`update` steps) as inputs.
    pub fn fire(&mut self, who: u8, now: Timestamp, input: Input<'_>) {
        let before = self.people.entry(who).or_default().traits.clone();
        self.apply(who, now, input);
        self.trait_changes(who, now, &before);
    }

    /// Trait changes are inputs of their own, after what made them (one level: the engine
    /// caps cascades too).
    fn trait_changes(&mut self, who: u8, now: Timestamp, before: &Map) {
        let after = self.people[&who].traits.clone();
        let mut names: Vec<&String> = after.keys().chain(before.keys()).collect();
        names.sort();
        names.dedup();
        for name in names.into_iter().take(4) {
            let (from, to) = (before.get(name), after.get(name));
            if from != to {
                let history = self.history(who, now);
                let person = &self.people[&who];
                let waiting = person.run.as_ref().filter(|r| r.status == RunStatus::Waiting);
                let ctx = Context {
                    traits: &person.traits,
                    history: &history,
                    previous: person.run.as_ref(),
                    entries: self.entries,
                    render: &Plain,
                    segments: &domain::condition::NO_SEGMENTS,
                };
                if let Some(t) = step(self.journey, 1, waiting, Input::TraitChange { name, from, to }, &ctx, now, u64::from(who)) {
                    check_transition(self.journey, waiting, &t);
                    self.transitions += 1;
                    if t.entered {
                        self.entries += 1;
                    }
                    self.people.get_mut(&who).expect("person").run = Some(t.run);
                }
            }
        }
    }

    /// Fires every timer due up to `until`, in time order (at most a few dozen: a wait that
    /// ends at the end of time is due again at once).
    pub fn advance(&mut self, until: Timestamp) {
        for _ in 0..32 {
            let due = self
                .people
                .iter()
                .filter_map(|(who, p)| p.run.as_ref().filter(|r| r.status == RunStatus::Waiting).and_then(|r| r.wake_at).map(|t| (t, *who)))
                .filter(|(t, _)| *t <= until)
                .min();
            let Some((at, who)) = due else { return };
            self.fire(who, at, Input::Timer);
        }
    }

    /// An event of `kind` from `who`; `raw` is the rest of its body (name, properties, traits).
    pub fn event(&mut self, who: u8, now: Timestamp, kind: Kind, mut raw: Map) {
        self.advance(now);
        self.next_id += 1;
        raw.insert("userId".into(), json!(format!("user-{who}")));
        raw.insert("type".into(), json!(kind.as_str()));
        let id = self.next_id.to_string();
        let env = Envelope { kind: None, received_at: now, sent_at: None, fallback_message_id: &id };
        let Ok(event) = Event::parse(Value::Object(raw), &env) else { return };
        let person = self.people.entry(who).or_default();
        let before = person.traits.clone();
        person.traits.extend(event.traits.clone());
        person.history.push((event.timestamp, event.match_name().to_owned(), event.match_properties().into_owned()));
        self.apply(who, now, Input::Event(&event));
        self.trait_changes(who, now, &before);
    }

    /// A few people's script of events, timers, API entries and sweeps, from fuzz bytes.
    pub fn script(&mut self, words: &Gen, u: &mut Unstructured<'_>) -> Result<()> {
        let mut now = start(u)?;
        for _ in 0..u.int_in_range(1..=12)? {
            now = now.plus(domain::time::Duration::millis(match u.int_in_range(0..=7)? {
                0 => 0,
                1 => 1000,
                2 => 3_600_000,
                3 => 86_400_000,
                4 => 3 * 86_400_000,
                5 => 31 * 86_400_000,
                6 => i64::from(u.arbitrary::<u32>()?),
                _ => u.arbitrary()?,
            }));
            let who: u8 = u.int_in_range(0..=2)?;
            match u.int_in_range(0..=7)? {
                0..=2 => {
                    let mut raw = Map::new();
                    raw.insert("event".into(), json!(words.word(u)?));
                    raw.insert("properties".into(), Value::Object(words.map(u, 1)?));
                    self.event(who, now, Kind::Track, raw);
                }
                3 => {
                    let mut raw = Map::new();
                    raw.insert("properties".into(), json!({"path": words.word(u)?}));
                    raw.insert("name".into(), json!(words.word(u)?));
                    self.event(who, now, *u.choose(&[Kind::Page, Kind::Screen])?, raw);
                }
                4 => {
                    let mut traits = words.map(u, 1)?;
                    if u.ratio(1, 3)? {
                        traits.insert(words.word(u)?, Value::String(words.date(u)?));
                    }
                    if u.ratio(1, 4)? {
                        traits.insert("timezone".into(), Value::String(words.word(u)?));
                    }
                    let mut raw = Map::new();
                    raw.insert("traits".into(), Value::Object(traits));
                    self.event(who, now, Kind::Identify, raw);
                }
                5 => {
                    self.advance(now);
                    let payload = words.map(u, 1)?;
                    self.fire(who, now, Input::Api { payload: &payload });
                }
                6 => {
                    self.advance(now);
                    self.fire(who, now, Input::Scheduled);
                }
                _ => self.advance(now),
            }
        }
        Ok(())
    }
}

/// What every transition keeps, whatever the journey and the input.
pub fn check_transition(j: &Journey, before: Option<&Run>, t: &Transition) {
    let run = &t.run;
    assert_eq!(run.journey, j.id, "a run stays in its journey");
    assert_eq!(t.entered, before.is_none(), "a transition enters exactly when no run was waiting");
    if let Some(before) = before {
        assert_eq!(run.seq, before.seq + 1, "each transition of a run is numbered");
        assert_eq!(run.entered_at, before.entered_at, "a run keeps when it entered");
    }
    assert!(!t.trace.is_empty(), "every transition says why");
    match run.status {
        RunStatus::Exited => {
            assert!(run.exit_reason.is_some() && run.wake_at.is_none(), "an exited run says why and has no timer: {run:?}")
        }
        RunStatus::Waiting => {
            assert!(run.exit_reason.is_none(), "a waiting run has no exit reason: {run:?}");
            let node = run.node.as_ref().and_then(|n| j.get(n)).expect("a waiting run waits at a step of its journey");
            assert!(
                matches!(node.kind, StepKind::Wait { .. } | StepKind::WaitFor { .. }),
                "a run waits only at a wait or wait_for: {run:?}"
            );
            assert!(run.wake_at.is_some(), "a waiting run has a timer: {run:?}");
        }
    }
    for e in &t.effects {
        assert!(j.get(e.node()).is_some(), "an effect comes from a step of the journey");
        if run.control {
            assert!(matches!(e, Effect::Update { .. }), "the control group is sent nothing: {e:?}");
        }
    }
    assert!(round_trips(run), "a run reads back from the store as it was written: {run:?}");
}

/// Renders `update` values as plain text (the Liquid renderer is fuzzed in the deliver crate).
#[derive(Debug)]
pub struct Plain;

impl domain::journey::Render for Plain {
    fn value(&self, source: &str, _: &Value) -> Result<Value, String> {
        Ok(Value::String(source.to_owned()))
    }
}
