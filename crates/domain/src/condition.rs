//! The typed condition tree used by entry filters, branches and event matches.
//!
//! ```json
//! {"all": [
//!   {"property": "path", "op": "starts_with", "value": "/products/"},
//!   {"trait": "plan", "op": "ne", "value": "enterprise"},
//!   {"history": {"event": "Page Viewed", "within": "7d",
//!                "where": {"property": "path", "op": "starts_with", "value": "/products/"}},
//!    "op": "gte", "value": 3}
//! ]}
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::Map;
use crate::ids::SegmentId;
use crate::journey::Diagnostics;
use crate::time::Duration;
use crate::trace::Check;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
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

/// The operators' names, as documents write them (`eq`, `starts_with`, ...): what the server's
/// schema of the document must list.
pub fn operators() -> impl Iterator<Item = &'static str> {
    Op::ALL.iter().map(|(name, _)| *name)
}

impl Op {
    const ALL: [(&'static str, Op); 12] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("contains", Op::Contains),
        ("starts_with", Op::StartsWith),
        ("ends_with", Op::EndsWith),
        ("in", Op::In),
        ("exists", Op::Exists),
        ("not_exists", Op::NotExists),
    ];

    fn parse(s: &str) -> Option<Op> {
        Op::ALL.iter().find(|(n, _)| *n == s).map(|(_, op)| *op)
    }

    fn name(self) -> &'static str {
        Op::ALL.iter().find(|(_, op)| *op == self).map(|(n, _)| *n).unwrap_or("?")
    }

    fn needs_value(self) -> bool {
        !matches!(self, Op::Exists | Op::NotExists)
    }

    /// Applies the operator; `subject` is `None` when the trait or property is absent.
    pub fn apply(self, subject: Option<&Value>, value: &Value) -> bool {
        let Some(subject) = subject.filter(|v| !v.is_null()) else {
            return matches!(self, Op::NotExists | Op::Ne);
        };
        match self {
            Op::Exists => true,
            Op::NotExists => false,
            Op::Eq => json_eq(subject, value),
            Op::Ne => !json_eq(subject, value),
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let ord = match (subject, value) {
                    (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
                    (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                    _ => None,
                };
                ord.is_some_and(|o| match self {
                    Op::Gt => o.is_gt(),
                    Op::Gte => o.is_ge(),
                    Op::Lt => o.is_lt(),
                    _ => o.is_le(),
                })
            }
            Op::Contains => match (subject, value) {
                (Value::String(a), Value::String(b)) => a.contains(b.as_str()),
                (Value::Array(items), v) => items.iter().any(|i| json_eq(i, v)),
                _ => false,
            },
            Op::StartsWith | Op::EndsWith => match (subject, value) {
                (Value::String(a), Value::String(b)) if self == Op::StartsWith => a.starts_with(b.as_str()),
                (Value::String(a), Value::String(b)) => a.ends_with(b.as_str()),
                _ => false,
            },
            Op::In => value.as_array().is_some_and(|items| items.iter().any(|i| json_eq(subject, i))),
        }
    }
}

/// Days of the week as `clock` conditions name them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn is_hh_mm(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 5 && b[2] == b':' && t[..2].parse::<u8>().is_ok_and(|h| h < 24) && t[3..].parse::<u8>().is_ok_and(|m| m < 60)
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// What a comparison reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// A profile trait, by dotted path (`address.city`).
    Trait(String),
    /// A property of the event being evaluated, by dotted path.
    Property(String),
    /// A run variable, by dotted path (`items`); only within a run.
    Run(String),
}

/// A value a comparison reads from the run or the person instead of the document
/// (`"ref": "event.cart_id"`): what templates call `event`, `run` and `traits`.
#[derive(Clone, Debug, PartialEq)]
pub enum Ref {
    /// A property of the event that started the run (`event.cart_id`).
    Event(String),
    /// A run variable (`run.items`).
    Run(String),
    /// One of the person's traits (`traits.plan`).
    Trait(String),
}

impl Ref {
    /// The roots a reference may start with.
    pub const ROOTS: [&'static str; 3] = ["event", "run", "traits"];

    fn parse(s: &str) -> Result<Ref, String> {
        let (root, path) = s.split_once('.').unwrap_or((s, ""));
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!(
                "a reference is a root and a dotted path, such as \"event.cart_id\", \"run.items\" or \"traits.plan\"; not {s:?}"
            ));
        }
        match root {
            "event" => Ok(Ref::Event(path.to_owned())),
            "run" => Ok(Ref::Run(path.to_owned())),
            "traits" => Ok(Ref::Trait(path.to_owned())),
            other => {
                let hint =
                    crate::journey::closest(other, Ref::ROOTS.iter().copied()).map_or(String::new(), |s| format!("; did you mean {s:?}?"));
                Err(format!(
                    "{other:?} is not something a reference can read: use \"event.\" (the event that started the run), \"run.\" (run variables) or \"traits.\"{hint}"
                ))
            }
        }
    }

    fn resolve<'f>(&self, facts: &Facts<'f>) -> Option<&'f Value> {
        match self {
            Ref::Event(p) => facts.run.and_then(|r| lookup(r.trigger, p)),
            Ref::Run(p) => facts.run.and_then(|r| lookup(r.vars, p)),
            Ref::Trait(p) => lookup(facts.traits, p),
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Event(p) => write!(f, "event.{p}"),
            Ref::Run(p) => write!(f, "run.{p}"),
            Ref::Trait(p) => write!(f, "traits.{p}"),
        }
    }
}

/// What a comparison compares with: a value written in the document, or a reference.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Value(Value),
    Ref(Ref),
}

/// What a history query computes over the matching events of its window.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregate {
    /// How many (a number).
    Count,
    /// Whether any (a boolean).
    Exists,
    /// The sum of a numeric property (a number; non-numbers are skipped).
    Sum(String),
    /// A property of the latest one (any value; null when none).
    Last(String),
    /// A property of the earliest one (any value; null when none).
    First(String),
    /// The least and the greatest of a numeric property (null when none).
    Min(String),
    Max(String),
    /// How many different values a property has (a number).
    Distinct(String),
}

impl Aggregate {
    /// The property it reads, if any.
    pub fn property(&self) -> Option<&str> {
        match self {
            Aggregate::Count | Aggregate::Exists => None,
            Aggregate::Sum(p)
            | Aggregate::Last(p)
            | Aggregate::First(p)
            | Aggregate::Min(p)
            | Aggregate::Max(p)
            | Aggregate::Distinct(p) => Some(p),
        }
    }
}

/// A value as a distinct count tells values apart: its JSON text, keys sorted.
pub fn distinct_key(v: &Value) -> String {
    canonical(v)
}

/// An aggregate of a person's events named `event`, matching `filter`, in the last `within`:
/// "how many `Page Viewed` under /products/ in 7 days", "sum of `revenue` in 30 days".
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryQuery {
    pub event: String,
    pub filter: Option<Condition>,
    pub within: Duration,
    /// `"within": "entry"`: the events the run saw since it entered (not the one that
    /// started it), counted by the run itself; `within` is then unused.
    pub since_entry: bool,
    pub aggregate: Aggregate,
    /// A stable identity of the query (its document, keys sorted), under which the engine
    /// keeps the person's incremental counter.
    pub key: String,
}

impl HistoryQuery {
    /// Whether one event (its properties) counts for this query.
    pub fn matches(&self, props: &Map) -> bool {
        match &self.filter {
            None => true,
            Some(f) => f.eval(
                &Facts { traits: &Map::new(), properties: Some(props), history: &[], clock: None, run: None, segments: &NO_SEGMENTS },
                &mut Vec::new(),
            ),
        }
    }

    /// The aggregate over the window's events (properties, oldest first).
    pub fn evaluate<'a>(&self, events: impl IntoIterator<Item = &'a Map>) -> Value {
        let mut matching = events.into_iter().filter(|props| self.matches(props));
        match &self.aggregate {
            Aggregate::Count => Value::from(matching.count() as i64),
            Aggregate::Exists => Value::Bool(matching.next().is_some()),
            Aggregate::Sum(path) => number(matching.filter_map(|m| lookup(m, path).and_then(Value::as_f64)).sum()),
            Aggregate::Last(path) => matching.filter_map(|m| lookup(m, path)).last().cloned().unwrap_or(Value::Null),
            Aggregate::First(path) => matching.find_map(|m| lookup(m, path)).cloned().unwrap_or(Value::Null),
            Aggregate::Min(path) => {
                matching.filter_map(|m| lookup(m, path).and_then(Value::as_f64)).reduce(f64::min).map_or(Value::Null, number)
            }
            Aggregate::Max(path) => {
                matching.filter_map(|m| lookup(m, path).and_then(Value::as_f64)).reduce(f64::max).map_or(Value::Null, number)
            }
            Aggregate::Distinct(path) => {
                Value::from(matching.filter_map(|m| lookup(m, path)).map(distinct_key).collect::<BTreeSet<String>>().len() as i64)
            }
        }
    }
}

/// A JSON number: an integer when the value is one.
pub fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

impl fmt::Display for HistoryQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.aggregate {
            Aggregate::Count => write!(f, "count({:?}", self.event)?,
            Aggregate::Exists => write!(f, "exists({:?}", self.event)?,
            Aggregate::Sum(p) => write!(f, "sum({p} of {:?}", self.event)?,
            Aggregate::Last(p) => write!(f, "last({p} of {:?}", self.event)?,
            Aggregate::First(p) => write!(f, "first({p} of {:?}", self.event)?,
            Aggregate::Min(p) => write!(f, "min({p} of {:?}", self.event)?,
            Aggregate::Max(p) => write!(f, "max({p} of {:?}", self.event)?,
            Aggregate::Distinct(p) => write!(f, "distinct({p} of {:?}", self.event)?,
        }
        if self.filter.is_some() {
            f.write_str(" where …")?;
        }
        if self.since_entry { f.write_str(" since entry)") } else { write!(f, " in {})", self.within) }
    }
}

/// The person's local time, for `clock` conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalClock {
    /// `HH:MM`, zero-padded (so text comparison orders it).
    pub time_of_day: String,
    /// `mon` ... `sun`.
    pub day_of_week: &'static str,
    /// The zone it was computed in, as the trace shows it: an IANA name, and within a run
    /// where it came from (`Europe/Paris, from trait timezone`).
    pub zone: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockField {
    TimeOfDay,
    DayOfWeek,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        subject: Subject,
        op: Op,
        value: Operand,
    },
    /// Compares a history count; `query` indexes the journey's list of history queries.
    History {
        query: usize,
        op: Op,
        value: Value,
        label: String,
    },
    /// Compares the person's local time of day or day of week.
    Clock {
        field: ClockField,
        op: Op,
        value: Value,
    },
    /// Whether the person has an address on the channel (an `email` trait for email).
    Reachable(crate::journey::Channel),
    /// Whether the person is a member of a segment.
    Segment(SegmentId),
}

/// What a condition can see. History aggregates are computed by the caller beforehand, one
/// per query of the journey (see `Journey::history`), so evaluation does no I/O.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub traits: &'a Map,
    pub properties: Option<&'a Map>,
    pub history: &'a [Value],
    /// The person's local time; `clock` conditions are false without it.
    pub clock: Option<&'a LocalClock>,
    /// The run being stepped, for references and run variables (none before a run starts).
    pub run: Option<RunFacts<'a>>,
    /// The segments the person is a member of.
    pub segments: &'a BTreeSet<SegmentId>,
}

/// No segments, for facts that have none.
pub static NO_SEGMENTS: BTreeSet<SegmentId> = BTreeSet::new();

/// What a run holds that conditions can read.
#[derive(Clone, Copy, Debug)]
pub struct RunFacts<'a> {
    /// The properties of the event that started the run (templates' `event`).
    pub trigger: &'a Map,
    /// The run variables (templates' `run`).
    pub vars: &'a Map,
}

/// A value by dotted path (`address.city`).
pub fn lookup<'v>(map: &'v Map, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = map.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

/// JSON text with object keys sorted at every level: the same document, the same text.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k]))).collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

fn subject_name(s: &Subject) -> String {
    match s {
        Subject::Trait(t) => format!("trait {t}"),
        Subject::Property(p) => format!("property {p}"),
        Subject::Run(p) => format!("run.{p}"),
    }
}

impl Condition {
    /// Evaluates the condition; every comparison appends a `Check` to `checks` with the value
    /// it saw (its `Display` is the comparison's trace line).
    pub fn eval(&self, facts: &Facts<'_>, checks: &mut Vec<Check>) -> bool {
        self.check(facts, &mut Some(checks))
    }

    /// Whether the condition holds, without a trace (for filters that mostly do not).
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        self.check(facts, &mut None)
    }

    fn check(&self, facts: &Facts<'_>, checks: &mut Option<&mut Vec<Check>>) -> bool {
        match self {
            Condition::All(cs) => cs.iter().all(|c| c.check(facts, checks)),
            Condition::Any(cs) => cs.iter().any(|c| c.check(facts, checks)),
            Condition::Not(c) => !c.check(facts, checks),
            Condition::Compare { subject, op, value } => {
                let seen = match subject {
                    Subject::Trait(path) => lookup(facts.traits, path),
                    Subject::Property(path) => facts.properties.and_then(|p| lookup(p, path)),
                    Subject::Run(path) => facts.run.and_then(|r| lookup(r.vars, path)),
                };
                // A reference that reads nothing makes the comparison false: an order with a
                // cart id must not match a run that has none.
                let (result, expected, reference) = match value {
                    Operand::Value(v) => (op.apply(seen, v), op.needs_value().then_some(v), None),
                    Operand::Ref(r) => {
                        let other = r.resolve(facts).filter(|v| !v.is_null());
                        (other.is_some_and(|v| op.apply(seen, v)), other, Some(r))
                    }
                };
                if let Some(checks) = checks {
                    checks.push(Check {
                        subject: subject_name(subject),
                        seen: seen.cloned(),
                        op: op.name().to_owned(),
                        expected: expected.cloned(),
                        reference: reference.map(ToString::to_string),
                        result,
                        note: None,
                    });
                }
                result
            }
            Condition::History { query, op, value, label } => {
                let seen = facts.history.get(*query).unwrap_or(&Value::Null);
                let result = op.apply(Some(seen), value);
                if let Some(checks) = checks {
                    checks.push(Check {
                        subject: label.clone(),
                        seen: Some(seen.clone()),
                        op: op.name().to_owned(),
                        expected: op.needs_value().then(|| value.clone()),
                        reference: None,
                        result,
                        note: None,
                    });
                }
                result
            }
            Condition::Clock { field, op, value } => {
                let (name, seen) = match (field, facts.clock) {
                    (ClockField::TimeOfDay, Some(c)) => ("time_of_day", Some(Value::String(c.time_of_day.clone()))),
                    (ClockField::DayOfWeek, Some(c)) => ("day_of_week", Some(Value::String(c.day_of_week.to_owned()))),
                    (ClockField::TimeOfDay, None) => ("time_of_day", None),
                    (ClockField::DayOfWeek, None) => ("day_of_week", None),
                };
                let result = op.apply(seen.as_ref(), value);
                if let Some(checks) = checks {
                    let zone = facts.clock.map_or(String::new(), |c| format!(" ({})", c.zone));
                    checks.push(Check {
                        subject: format!("{name}{zone}"),
                        seen,
                        op: op.name().to_owned(),
                        expected: Some(value.clone()),
                        reference: None,
                        result,
                        note: None,
                    });
                }
                result
            }
            Condition::Reachable(channel) => {
                let reach = channel.reach(facts.traits);
                if let Some(checks) = checks {
                    checks.push(Check {
                        subject: format!("reachable by {}", channel.as_str()),
                        seen: channel.address_trait().and_then(|t| facts.traits.get(t)).cloned(),
                        op: "reachable".to_owned(),
                        expected: None,
                        reference: None,
                        result: reach.is_ok(),
                        note: reach.as_ref().err().cloned(),
                    });
                }
                reach.is_ok()
            }
            Condition::Segment(id) => {
                let member = facts.segments.contains(id);
                if let Some(checks) = checks {
                    checks.push(Check {
                        subject: format!("segment {id}"),
                        seen: Some(Value::Bool(member)),
                        op: "member".to_owned(),
                        expected: None,
                        reference: None,
                        result: member,
                        note: None,
                    });
                }
                member
            }
        }
    }

    /// The segments this condition tests membership of.
    pub fn segments(&self) -> BTreeSet<SegmentId> {
        let mut out = BTreeSet::new();
        self.collect_segments(&mut out);
        out
    }

    /// The traits this condition compares (as written: a dotted path for a nested one).
    pub fn traits(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.collect_traits(&mut out);
        out
    }

    fn collect_traits<'c>(&'c self, out: &mut BTreeSet<&'c str>) {
        match self {
            Condition::All(items) | Condition::Any(items) => items.iter().for_each(|c| c.collect_traits(out)),
            Condition::Not(c) => c.collect_traits(out),
            Condition::Compare { subject: Subject::Trait(t), .. } => {
                out.insert(t);
            }
            Condition::Compare { .. }
            | Condition::History { .. }
            | Condition::Clock { .. }
            | Condition::Reachable(_)
            | Condition::Segment(_) => {}
        }
    }

    fn collect_segments(&self, out: &mut BTreeSet<SegmentId>) {
        match self {
            Condition::All(items) | Condition::Any(items) => items.iter().for_each(|c| c.collect_segments(out)),
            Condition::Not(c) => c.collect_segments(out),
            Condition::Segment(id) => {
                out.insert(id.clone());
            }
            Condition::Compare { .. } | Condition::History { .. } | Condition::Clock { .. } | Condition::Reachable(_) => {}
        }
    }

    /// Why this condition can never hold, where that is visible from the condition alone: an
    /// `all` that asks one trait or property to equal two values, or to be in an empty range.
    pub fn contradiction(&self) -> Option<String> {
        match self {
            Condition::All(items) => {
                let mut bounds: Vec<(&Subject, f64, f64, Option<&Value>)> = Vec::new(); // subject, low, high, eq
                for c in items {
                    if let Some(why) = c.contradiction() {
                        return Some(why);
                    }
                    let Condition::Compare { subject, op, value: Operand::Value(value) } = c else { continue };
                    let i = match bounds.iter().position(|(s, ..)| *s == subject) {
                        Some(i) => i,
                        None => {
                            bounds.push((subject, f64::NEG_INFINITY, f64::INFINITY, None));
                            bounds.len() - 1
                        }
                    };
                    let entry = &mut bounds[i];
                    let n = value.as_f64();
                    match (op, n) {
                        (Op::Eq, _) => {
                            if let Some(prev) = entry.3.filter(|p| !json_eq(p, value)) {
                                return Some(format!("{} cannot equal both {prev} and {value}", subject_name(subject)));
                            }
                            entry.3 = Some(value);
                            if let Some(x) = n {
                                entry.1 = entry.1.max(x);
                                entry.2 = entry.2.min(x);
                            }
                        }
                        // Greater than x is at least the next number after x. (x plus a relative
                        // epsilon rounded to two numbers past it for some x, so `gt 7` and
                        // `lte 7.000000000000001` were called impossible; found by fuzzing.)
                        (Op::Gt | Op::Gte, Some(x)) => entry.1 = entry.1.max(if *op == Op::Gt { x.next_up() } else { x }),
                        (Op::Lt | Op::Lte, Some(x)) => entry.2 = entry.2.min(if *op == Op::Lt { x.next_down() } else { x }),
                        _ => {}
                    }
                    if entry.1 > entry.2 {
                        return Some(format!("no value of {} satisfies every comparison on it", subject_name(subject)));
                    }
                }
                None
            }
            Condition::Any(items) => items
                .iter()
                .map(Condition::contradiction)
                .collect::<Option<Vec<_>>>()
                .map(|_| "every alternative of this \"any\" is impossible".to_owned()),
            _ => None,
        }
    }

    /// Whether the condition reads the person's local clock.
    pub fn reads_clock(&self) -> bool {
        match self {
            Condition::All(items) | Condition::Any(items) => items.iter().any(Condition::reads_clock),
            Condition::Not(c) => c.reads_clock(),
            Condition::Clock { .. } => true,
            Condition::Compare { .. } | Condition::History { .. } | Condition::Reachable(_) | Condition::Segment(_) => false,
        }
    }

    /// Parses a condition, reporting every problem into `diags` at JSON path `path`.
    /// History queries found are appended to `history`. Conditions nest at most `MAX_DEPTH`
    /// deep (a history query's `where` counts as a level).
    pub(crate) fn parse(v: &Value, path: &str, diags: &mut Diagnostics, history: &mut Vec<HistoryQuery>) -> Option<Condition> {
        Condition::parse_at(v, path, 1, diags, history)
    }

    fn parse_at(v: &Value, path: &str, depth: usize, diags: &mut Diagnostics, history: &mut Vec<HistoryQuery>) -> Option<Condition> {
        if depth > MAX_DEPTH {
            diags.error(path, "condition_too_deep", &format!("conditions nest at most {MAX_DEPTH} deep"));
            return None;
        }
        let Some(obj) = v.as_object() else {
            diags.error(path, "condition_invalid", "a condition must be an object");
            return None;
        };
        let Some(kind) = KINDS.iter().map(|keys| keys[0]).find(|k| obj.contains_key(*k)) else {
            let every: Vec<&str> = KINDS.iter().flat_map(|keys| keys.iter().copied()).collect();
            diags.unknown_keys(obj, &every, &[], "a condition", path);
            diags.error(path, "condition_invalid", "a condition is one of {\"all\": [...]}, {\"any\": [...]}, {\"not\": ...}, a comparison on one of \"trait\", \"property\", \"run\", \"history\" or \"clock\", {\"reachable\": \"email\"} or {\"segment\": \"id\"}");
            return None;
        };
        match kind {
            "all" | "any" => {
                let (keys, what) = if kind == "all" { (&ALL, "an all condition") } else { (&ANY, "an any condition") };
                let [list] = diags.fields(obj, keys, what, path, &KINDS);
                let Some(items) = list.and_then(Value::as_array) else {
                    diags.error(&format!("{path}/{kind}"), "condition_invalid", &format!("\"{kind}\" takes a list of conditions"));
                    return None;
                };
                let parsed: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Condition::parse_at(c, &format!("{path}/{kind}/{i}"), depth + 1, diags, history))
                    .collect();
                let parsed = parsed.into_iter().collect::<Option<Vec<_>>>()?;
                Some(if kind == "all" { Condition::All(parsed) } else { Condition::Any(parsed) })
            }
            "not" => {
                let [inner] = diags.fields(obj, &NOT, "a not condition", path, &KINDS);
                let inner = Condition::parse_at(inner?, &format!("{path}/not"), depth + 1, diags, history)?;
                Some(Condition::Not(Box::new(inner)))
            }
            "history" => {
                let [q, op, value] = diags.fields(obj, &HISTORY, "a history condition", path, &KINDS);
                let (op, value) = comparison(op, value, path, diags);
                let q = q?;
                let qpath = format!("{path}/history");
                let Some(qo) = q.as_object() else {
                    diags.error(&qpath, "condition_invalid", "\"history\" must be an object with \"event\" and \"within\"");
                    return None;
                };
                let [event, within, filter, aggregate, property] = diags.fields(qo, &QUERY, "a history query", &qpath, &[]);
                let event = event.and_then(Value::as_str).filter(|s| !s.is_empty());
                if event.is_none() {
                    diags.error(&format!("{qpath}/event"), "condition_invalid", "a history query needs an \"event\" name");
                }
                let since_entry = within.and_then(Value::as_str) == Some("entry");
                let within = match within.and_then(Value::as_str).map(str::parse::<Duration>) {
                    _ if since_entry => Some(Duration::ZERO),
                    Some(Ok(d)) if d > Duration::ZERO => Some(d),
                    Some(Err(e)) => {
                        diags.error(&format!("{qpath}/within"), "invalid_duration", &e);
                        None
                    }
                    _ => {
                        diags.error(
                            &format!("{qpath}/within"),
                            "invalid_duration",
                            "a history query needs a positive \"within\" duration, e.g. \"7d\", or \"entry\" (since the run entered)",
                        );
                        None
                    }
                };
                let property = property.and_then(Value::as_str).filter(|p| !p.is_empty()).map(str::to_owned);
                let aggregate = match (aggregate.map_or(Some("count"), Value::as_str), property) {
                    (Some("count"), _) => Some(Aggregate::Count),
                    (Some("exists"), _) => Some(Aggregate::Exists),
                    (Some("sum"), Some(p)) => Some(Aggregate::Sum(p)),
                    (Some("last"), Some(p)) => Some(Aggregate::Last(p)),
                    (Some("first"), Some(p)) => Some(Aggregate::First(p)),
                    (Some("min"), Some(p)) => Some(Aggregate::Min(p)),
                    (Some("max"), Some(p)) => Some(Aggregate::Max(p)),
                    (Some("distinct"), Some(p)) => Some(Aggregate::Distinct(p)),
                    (Some(a @ ("sum" | "last" | "first" | "min" | "max" | "distinct")), None) => {
                        diags.error(
                            &format!("{qpath}/property"),
                            "condition_invalid",
                            &format!("aggregate {a:?} needs the \"property\" it reads"),
                        );
                        None
                    }
                    (other, _) => {
                        let shown = other.map_or_else(|| aggregate.map(Value::to_string).unwrap_or_default(), |a| format!("{a:?}"));
                        diags.error(
                            &format!("{qpath}/aggregate"),
                            "condition_invalid",
                            &format!("unknown aggregate {shown}; use count, exists, sum, min, max, first, last or distinct"),
                        );
                        None
                    }
                };
                let filter = match filter {
                    Some(w) => Some(Condition::parse_at(w, &format!("{qpath}/where"), depth + 1, diags, history)?),
                    None => None,
                };
                let mut reads = Vec::new();
                if let Some(f) = &filter {
                    f.run_reads(&format!("{qpath}/where"), &mut reads);
                }
                for (at, _) in reads.into_iter().filter(|(_, r)| !matches!(r, RunRead::History(_))) {
                    diags.error(
                        &at,
                        "ref_in_history",
                        "a history query counts each event as it arrives, outside any run: its \"where\" reads the event's properties only",
                    );
                }
                let wants = match &aggregate {
                    Some(Aggregate::Count | Aggregate::Sum(_) | Aggregate::Distinct(_)) if !(value.is_number() || value.is_null()) => {
                        Some("a number")
                    }
                    Some(Aggregate::Exists) if !(value.is_boolean() || value.is_null()) => Some("true or false"),
                    _ => None,
                };
                if let Some(wants) = wants.filter(|_| op.is_some_and(Op::needs_value)) {
                    diags.error(&format!("{path}/value"), "condition_invalid", &format!("this history aggregate compares with {wants}"));
                }
                let (event, within, op, aggregate) = (event?, within?, op?, aggregate?);
                let key = canonical(q);
                let q = HistoryQuery { event: event.to_owned(), filter, within, since_entry, aggregate, key };
                let label = q.to_string();
                let query = match history.iter().position(|h| *h == q) {
                    Some(i) => i,
                    None => {
                        history.push(q);
                        history.len() - 1
                    }
                };
                Some(Condition::History { query, op, value, label })
            }
            "reachable" => {
                let [channel] = diags.fields(obj, &REACHABLE, "a reachable condition", path, &KINDS);
                match channel.and_then(Value::as_str).and_then(crate::journey::Channel::parse) {
                    Some(c) => Some(Condition::Reachable(c)),
                    None => {
                        diags.error(
                            &format!("{path}/reachable"),
                            "unknown_channel",
                            "\"reachable\" names a channel: email, sms, push or in_app",
                        );
                        None
                    }
                }
            }
            "segment" => {
                let [id] = diags.fields(obj, &SEGMENT, "a segment condition", path, &KINDS);
                match id.and_then(Value::as_str).filter(|id| crate::segment::valid_id(id)) {
                    Some(id) => Some(Condition::Segment(SegmentId(id.to_owned()))),
                    None => {
                        diags.error(
                            &format!("{path}/segment"),
                            "condition_invalid",
                            "\"segment\" names a segment by its id, such as \"lapsed-buyers\"",
                        );
                        None
                    }
                }
            }
            "clock" => {
                let [field, op, value] = diags.fields(obj, &CLOCK, "a clock condition", path, &KINDS);
                let (op, value) = comparison(op, value, path, diags);
                let field = match field.and_then(Value::as_str) {
                    Some("time_of_day") => ClockField::TimeOfDay,
                    Some("day_of_week") => ClockField::DayOfWeek,
                    _ => {
                        diags.error(&format!("{path}/clock"), "condition_invalid", "\"clock\" is \"time_of_day\" or \"day_of_week\"");
                        return None;
                    }
                };
                let values: Vec<&Value> = match &value {
                    Value::Array(items) => items.iter().collect(),
                    v => vec![v],
                };
                let valid = |v: &Value| match (field, v.as_str()) {
                    (ClockField::TimeOfDay, Some(t)) => is_hh_mm(t),
                    (ClockField::DayOfWeek, Some(d)) => DAYS.contains(&d),
                    _ => false,
                };
                if !values.iter().all(|v| valid(v)) {
                    let wants = match field {
                        ClockField::TimeOfDay => "a time \"HH:MM\" (24h)",
                        ClockField::DayOfWeek => "a day: mon, tue, wed, thu, fri, sat or sun",
                    };
                    diags.error(
                        &format!("{path}/value"),
                        "condition_invalid",
                        &format!(
                            "a {} condition compares with {wants}",
                            if field == ClockField::TimeOfDay { "time_of_day" } else { "day_of_week" }
                        ),
                    );
                }
                Some(Condition::Clock { field, op: op?, value })
            }
            _ => {
                let (keys, what, example) = match kind {
                    "trait" => (&TRAIT, "a trait condition", "plan"),
                    "run" => (&RUN, "a run condition", "items"),
                    _ => (&PROPERTY, "a property condition", "path"),
                };
                let [name, op, value, reference] = diags.fields(obj, keys, what, path, &KINDS);
                let value = match reference {
                    None => {
                        let (op, v) = comparison(op, value, path, diags);
                        Some((op, Operand::Value(v)))
                    }
                    Some(r) => {
                        let op = operator(op, path, diags);
                        let parsed = match r.as_str().map(Ref::parse) {
                            Some(Ok(r)) => Some(r),
                            Some(Err(why)) => {
                                diags.error(&format!("{path}/ref"), "invalid_ref", &why);
                                None
                            }
                            None => {
                                diags.error(&format!("{path}/ref"), "invalid_ref", "\"ref\" is text, such as \"event.cart_id\"");
                                None
                            }
                        };
                        if value.is_some() {
                            diags.error(path, "condition_invalid", "a comparison has a \"value\" or a \"ref\", not both");
                        }
                        if op.is_some_and(|op| !op.needs_value()) {
                            diags.error(&format!("{path}/ref"), "condition_invalid", "\"exists\" and \"not_exists\" compare with nothing");
                        }
                        op.zip(parsed).map(|(op, r)| (Some(op), Operand::Ref(r)))
                    }
                };
                let subject = match name.and_then(Value::as_str).filter(|n| !n.is_empty()) {
                    Some(n) if kind == "trait" => Subject::Trait(n.to_owned()),
                    Some(n) if kind == "run" => Subject::Run(n.to_owned()),
                    Some(n) => Subject::Property(n.to_owned()),
                    None => {
                        diags.error(
                            &format!("{path}/{kind}"),
                            "condition_invalid",
                            &format!("\"{kind}\" names a {kind}, such as {example:?}"),
                        );
                        return None;
                    }
                };
                let (op, value) = value?;
                Some(Condition::Compare { subject, op: op?, value })
            }
        }
    }

    /// Every comparison of this condition that reads a run variable or has a reference, with
    /// its JSON pointer (below `path`).
    pub fn run_reads(&self, path: &str, out: &mut Vec<(String, RunRead)>) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                let key = if matches!(self, Condition::All(_)) { "all" } else { "any" };
                for (i, c) in items.iter().enumerate() {
                    c.run_reads(&format!("{path}/{key}/{i}"), out);
                }
            }
            Condition::Not(c) => c.run_reads(&format!("{path}/not"), out),
            Condition::Compare { subject, value, .. } => {
                if let Subject::Run(p) = subject {
                    out.push((format!("{path}/run"), RunRead::Var(p.clone())));
                }
                if let Operand::Ref(r) = value {
                    out.push((format!("{path}/ref"), RunRead::Ref(r.clone())));
                }
            }
            Condition::History { query, .. } => out.push((format!("{path}/history/within"), RunRead::History(*query))),
            Condition::Clock { .. } | Condition::Reachable(_) | Condition::Segment(_) => {}
        }
    }
}

/// Something a condition reads from the run (see `Condition::run_reads`).
#[derive(Clone, Debug, PartialEq)]
pub enum RunRead {
    Var(String),
    Ref(Ref),
    /// A history condition (by its index in the journey's queries): one measured since
    /// entry needs a run.
    History(usize),
}

/// How deep conditions may nest (`all`, `any`, `not`, a history query's `where`): far more
/// than any journey needs, and few enough that nothing that walks a condition can exhaust a
/// thread's stack.
pub const MAX_DEPTH: usize = 32;

/// The keys of each kind of condition (the first names the kind) and of a history query.
const ALL: [&str; 1] = ["all"];
const ANY: [&str; 1] = ["any"];
const NOT: [&str; 1] = ["not"];
const HISTORY: [&str; 3] = ["history", "op", "value"];
const CLOCK: [&str; 3] = ["clock", "op", "value"];
const TRAIT: [&str; 4] = ["trait", "op", "value", "ref"];
const PROPERTY: [&str; 4] = ["property", "op", "value", "ref"];
const RUN: [&str; 4] = ["run", "op", "value", "ref"];
const REACHABLE: [&str; 1] = ["reachable"];
const SEGMENT: [&str; 1] = ["segment"];
const KINDS: [&[&str]; 10] = [&ALL, &ANY, &NOT, &HISTORY, &CLOCK, &TRAIT, &PROPERTY, &RUN, &REACHABLE, &SEGMENT];
const QUERY: [&str; 5] = ["event", "within", "where", "aggregate", "property"];

/// Each kind of condition with its keys (the first names the kind), and a history query's.
pub(crate) fn schema() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("all condition", &ALL),
        ("any condition", &ANY),
        ("not condition", &NOT),
        ("history condition", &HISTORY),
        ("history query", &QUERY),
        ("clock condition", &CLOCK),
        ("trait condition", &TRAIT),
        ("property condition", &PROPERTY),
        ("run condition", &RUN),
        ("reachable condition", &REACHABLE),
        ("segment condition", &SEGMENT),
    ]
}

/// A comparison's operator and value (null when absent), reporting what is wrong with them.
fn comparison(op: Option<&Value>, value: Option<&Value>, path: &str, diags: &mut Diagnostics) -> (Option<Op>, Value) {
    let op = operator(op, path, diags);
    let value = value.cloned().unwrap_or(Value::Null);
    if let Some(op) = op {
        if op.needs_value() && value.is_null() {
            diags.error(path, "condition_invalid", &format!("operator {:?} needs a \"value\"", op.name()));
        }
        if op == Op::In && !value.is_array() {
            diags.error(&format!("{path}/value"), "condition_invalid", "operator \"in\" needs a list as \"value\"");
        }
    }
    (op, value)
}

/// A comparison's operator, reporting what is wrong with it.
fn operator(op: Option<&Value>, path: &str, diags: &mut Diagnostics) -> Option<Op> {
    match op.map(|o| (o, o.as_str().and_then(Op::parse))) {
        Some((_, Some(op))) => Some(op),
        Some((o, None)) => {
            let names: Vec<_> = Op::ALL.iter().map(|(n, _)| *n).collect();
            let shown = o.as_str().map_or_else(|| o.to_string(), |s| format!("{s:?}"));
            diags.error(
                &format!("{path}/op"),
                "condition_unknown_op",
                &format!("unknown operator {shown}; use one of {}", names.join(", ")),
            );
            None
        }
        None => {
            diags.error(path, "condition_invalid", "a comparison needs \"op\"");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(cond: Value, traits: Value, props: Value, history: &[Value]) -> (bool, Vec<String>) {
        let mut diags = Diagnostics::default();
        let mut queries = Vec::new();
        let c = Condition::parse(&cond, "", &mut diags, &mut queries).expect("valid condition");
        let (t, p) = (traits.as_object().cloned().unwrap_or_default(), props.as_object().cloned().unwrap_or_default());
        let mut trace = Vec::new();
        let facts = Facts { traits: &t, properties: Some(&p), history, clock: None, run: None, segments: &NO_SEGMENTS };
        let r = c.eval(&facts, &mut trace);
        assert_eq!(c.holds(&facts), r, "the same answer without a trace");
        (r, trace.iter().map(ToString::to_string).collect())
    }

    /// Evaluates each line (a condition) against the same person and event, and shows the
    /// trace, plus the result when the condition is not a single comparison. A line may
    /// start with `no clock:` to evaluate without the person's local time.
    fn check_eval(script: &str, expect: expect_test::Expect) {
        let traits = json!({"n": 3, "f": 2.5, "s": "hello", "d": "2027-01-15", "tags": ["vip", 2], "a": {"b": 1}, "z": null});
        let props = json!({"path": "/products/a", "k": "x"});
        let (traits, props) = (traits.as_object().cloned().unwrap_or_default(), props.as_object().cloned().unwrap_or_default());
        let history = [json!(3), json!(12.5)];
        let clock = LocalClock { time_of_day: "08:30".into(), day_of_week: "sat", zone: "Europe/Paris".into() };
        let mut out = String::new();
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (clock, text) = match line.strip_prefix("no clock:") {
                Some(rest) => (None, rest.trim()),
                None => (Some(&clock), line),
            };
            let v: Value = serde_json::from_str(text).expect("json");
            let mut diags = Diagnostics::default();
            let c = Condition::parse(&v, "", &mut diags, &mut Vec::new()).expect("a condition");
            assert!(diags.0.is_empty(), "{line}: {:?}", diags.0);
            let facts = Facts { traits: &traits, properties: Some(&props), history: &history, clock, run: None, segments: &NO_SEGMENTS };
            let mut trace = Vec::new();
            let result = c.eval(&facts, &mut trace);
            assert_eq!(c.holds(&facts), result, "{line}: the same answer without a trace");
            out += &format!("{line}\n");
            for t in &trace {
                out += &format!("  {t}\n");
                // What is stored reads back the same, and says the same.
                let back: crate::trace::Check = serde_json::from_str(&serde_json::to_string(t).expect("json")).expect("read back");
                assert_eq!((&back, back.to_string()), (t, t.to_string()), "{line}");
            }
            if !matches!(c, Condition::Compare { .. } | Condition::History { .. } | Condition::Clock { .. }) {
                out += &format!("  => {result}\n");
            }
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn every_operator_on_numbers_text_lists_and_absent_values() {
        check_eval(
            r#"
            {"trait": "n", "op": "eq", "value": 3.0}
            {"trait": "n", "op": "eq", "value": "3"}
            {"trait": "s", "op": "eq", "value": "hello"}
            {"trait": "tags", "op": "eq", "value": ["vip", 2.0]}
            {"trait": "n", "op": "ne", "value": 3}
            {"trait": "n", "op": "ne", "value": 4}
            {"trait": "s", "op": "ne", "value": "hello"}
            {"trait": "n", "op": "gt", "value": 3}
            {"trait": "n", "op": "gt", "value": 2.5}
            {"trait": "n", "op": "gte", "value": 3}
            {"trait": "n", "op": "gte", "value": 3.5}
            {"trait": "n", "op": "lt", "value": 3}
            {"trait": "n", "op": "lt", "value": 3.5}
            {"trait": "n", "op": "lte", "value": 3}
            {"trait": "n", "op": "lte", "value": 2.5}
            {"trait": "d", "op": "gt", "value": "2027-01-01"}
            {"trait": "d", "op": "gt", "value": "2027-02-01"}
            {"trait": "d", "op": "gte", "value": "2027-01-15"}
            {"trait": "d", "op": "lt", "value": "2027-02-01"}
            {"trait": "d", "op": "lt", "value": "2027-01-15"}
            {"trait": "d", "op": "lte", "value": "2027-01-01"}
            {"trait": "n", "op": "gt", "value": "2"}
            {"trait": "s", "op": "lt", "value": 5}
            {"trait": "s", "op": "contains", "value": "ell"}
            {"trait": "s", "op": "contains", "value": "bye"}
            {"trait": "tags", "op": "contains", "value": "vip"}
            {"trait": "tags", "op": "contains", "value": 2.0}
            {"trait": "tags", "op": "contains", "value": "vi"}
            {"trait": "n", "op": "contains", "value": 3}
            {"trait": "s", "op": "starts_with", "value": "he"}
            {"trait": "s", "op": "starts_with", "value": "lo"}
            {"trait": "s", "op": "ends_with", "value": "lo"}
            {"trait": "s", "op": "ends_with", "value": "he"}
            {"trait": "n", "op": "starts_with", "value": "3"}
            {"trait": "n", "op": "ends_with", "value": "3"}
            {"trait": "s", "op": "in", "value": ["a", "hello"]}
            {"trait": "n", "op": "in", "value": [3.0]}
            {"trait": "n", "op": "in", "value": ["3"]}
            {"trait": "s", "op": "exists"}
            {"trait": "s", "op": "not_exists"}
            {"trait": "x", "op": "exists"}
            {"trait": "x", "op": "not_exists"}
            {"trait": "z", "op": "exists"}
            {"trait": "z", "op": "not_exists"}
            {"trait": "x", "op": "eq", "value": 1}
            {"trait": "x", "op": "ne", "value": 1}
            {"trait": "x", "op": "lt", "value": 1}
            {"trait": "x", "op": "contains", "value": 1}
            {"trait": "x", "op": "in", "value": [1]}
            {"trait": "a.b", "op": "eq", "value": 1}
            {"trait": "a.c", "op": "exists"}
            {"trait": "s.x", "op": "exists"}
            {"property": "path", "op": "starts_with", "value": "/products/"}
            {"property": "n", "op": "exists"}
        "#,
            expect_test::expect![[r#"
                {"trait": "n", "op": "eq", "value": 3.0}
                  trait n = 3 eq 3.0 -> true
                {"trait": "n", "op": "eq", "value": "3"}
                  trait n = 3 eq "3" -> false
                {"trait": "s", "op": "eq", "value": "hello"}
                  trait s = "hello" eq "hello" -> true
                {"trait": "tags", "op": "eq", "value": ["vip", 2.0]}
                  trait tags = ["vip",2] eq ["vip",2.0] -> false
                {"trait": "n", "op": "ne", "value": 3}
                  trait n = 3 ne 3 -> false
                {"trait": "n", "op": "ne", "value": 4}
                  trait n = 3 ne 4 -> true
                {"trait": "s", "op": "ne", "value": "hello"}
                  trait s = "hello" ne "hello" -> false
                {"trait": "n", "op": "gt", "value": 3}
                  trait n = 3 gt 3 -> false
                {"trait": "n", "op": "gt", "value": 2.5}
                  trait n = 3 gt 2.5 -> true
                {"trait": "n", "op": "gte", "value": 3}
                  trait n = 3 gte 3 -> true
                {"trait": "n", "op": "gte", "value": 3.5}
                  trait n = 3 gte 3.5 -> false
                {"trait": "n", "op": "lt", "value": 3}
                  trait n = 3 lt 3 -> false
                {"trait": "n", "op": "lt", "value": 3.5}
                  trait n = 3 lt 3.5 -> true
                {"trait": "n", "op": "lte", "value": 3}
                  trait n = 3 lte 3 -> true
                {"trait": "n", "op": "lte", "value": 2.5}
                  trait n = 3 lte 2.5 -> false
                {"trait": "d", "op": "gt", "value": "2027-01-01"}
                  trait d = "2027-01-15" gt "2027-01-01" -> true
                {"trait": "d", "op": "gt", "value": "2027-02-01"}
                  trait d = "2027-01-15" gt "2027-02-01" -> false
                {"trait": "d", "op": "gte", "value": "2027-01-15"}
                  trait d = "2027-01-15" gte "2027-01-15" -> true
                {"trait": "d", "op": "lt", "value": "2027-02-01"}
                  trait d = "2027-01-15" lt "2027-02-01" -> true
                {"trait": "d", "op": "lt", "value": "2027-01-15"}
                  trait d = "2027-01-15" lt "2027-01-15" -> false
                {"trait": "d", "op": "lte", "value": "2027-01-01"}
                  trait d = "2027-01-15" lte "2027-01-01" -> false
                {"trait": "n", "op": "gt", "value": "2"}
                  trait n = 3 gt "2" -> false
                {"trait": "s", "op": "lt", "value": 5}
                  trait s = "hello" lt 5 -> false
                {"trait": "s", "op": "contains", "value": "ell"}
                  trait s = "hello" contains "ell" -> true
                {"trait": "s", "op": "contains", "value": "bye"}
                  trait s = "hello" contains "bye" -> false
                {"trait": "tags", "op": "contains", "value": "vip"}
                  trait tags = ["vip",2] contains "vip" -> true
                {"trait": "tags", "op": "contains", "value": 2.0}
                  trait tags = ["vip",2] contains 2.0 -> true
                {"trait": "tags", "op": "contains", "value": "vi"}
                  trait tags = ["vip",2] contains "vi" -> false
                {"trait": "n", "op": "contains", "value": 3}
                  trait n = 3 contains 3 -> false
                {"trait": "s", "op": "starts_with", "value": "he"}
                  trait s = "hello" starts_with "he" -> true
                {"trait": "s", "op": "starts_with", "value": "lo"}
                  trait s = "hello" starts_with "lo" -> false
                {"trait": "s", "op": "ends_with", "value": "lo"}
                  trait s = "hello" ends_with "lo" -> true
                {"trait": "s", "op": "ends_with", "value": "he"}
                  trait s = "hello" ends_with "he" -> false
                {"trait": "n", "op": "starts_with", "value": "3"}
                  trait n = 3 starts_with "3" -> false
                {"trait": "n", "op": "ends_with", "value": "3"}
                  trait n = 3 ends_with "3" -> false
                {"trait": "s", "op": "in", "value": ["a", "hello"]}
                  trait s = "hello" in ["a","hello"] -> true
                {"trait": "n", "op": "in", "value": [3.0]}
                  trait n = 3 in [3.0] -> true
                {"trait": "n", "op": "in", "value": ["3"]}
                  trait n = 3 in ["3"] -> false
                {"trait": "s", "op": "exists"}
                  trait s = "hello" exists -> true
                {"trait": "s", "op": "not_exists"}
                  trait s = "hello" not_exists -> false
                {"trait": "x", "op": "exists"}
                  trait x = (absent) exists -> false
                {"trait": "x", "op": "not_exists"}
                  trait x = (absent) not_exists -> true
                {"trait": "z", "op": "exists"}
                  trait z = null exists -> false
                {"trait": "z", "op": "not_exists"}
                  trait z = null not_exists -> true
                {"trait": "x", "op": "eq", "value": 1}
                  trait x = (absent) eq 1 -> false
                {"trait": "x", "op": "ne", "value": 1}
                  trait x = (absent) ne 1 -> true
                {"trait": "x", "op": "lt", "value": 1}
                  trait x = (absent) lt 1 -> false
                {"trait": "x", "op": "contains", "value": 1}
                  trait x = (absent) contains 1 -> false
                {"trait": "x", "op": "in", "value": [1]}
                  trait x = (absent) in [1] -> false
                {"trait": "a.b", "op": "eq", "value": 1}
                  trait a.b = 1 eq 1 -> true
                {"trait": "a.c", "op": "exists"}
                  trait a.c = (absent) exists -> false
                {"trait": "s.x", "op": "exists"}
                  trait s.x = (absent) exists -> false
                {"property": "path", "op": "starts_with", "value": "/products/"}
                  property path = "/products/a" starts_with "/products/" -> true
                {"property": "n", "op": "exists"}
                  property n = (absent) exists -> false
            "#]],
        );
    }

    #[test]
    fn all_any_not_history_and_clock() {
        check_eval(
            r#"
            {"all": [{"trait": "n", "op": "eq", "value": 3}, {"trait": "s", "op": "eq", "value": "hello"}]}
            {"all": [{"trait": "n", "op": "eq", "value": 4}, {"trait": "s", "op": "eq", "value": "hello"}]}
            {"all": []}
            {"any": [{"trait": "n", "op": "eq", "value": 4}, {"trait": "s", "op": "eq", "value": "hello"}]}
            {"any": [{"trait": "n", "op": "eq", "value": 3}, {"trait": "s", "op": "eq", "value": "bye"}]}
            {"any": []}
            {"not": {"trait": "x", "op": "exists"}}
            {"not": {"not": {"trait": "x", "op": "exists"}}}
            {"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 3}
            {"history": {"event": "Page Viewed", "within": "7d"}, "op": "exists"}
            {"all": [{"history": {"event": "A", "within": "1d"}, "op": "eq", "value": 3}, {"history": {"event": "B", "within": "30d", "aggregate": "sum", "property": "total"}, "op": "gt", "value": 12}]}
            {"history": {"event": "A", "within": "1d", "where": {"property": "k", "op": "eq", "value": 1}}, "op": "eq", "value": 3}
            {"clock": "time_of_day", "op": "gte", "value": "08:30"}
            {"clock": "time_of_day", "op": "lt", "value": "08:30"}
            {"clock": "day_of_week", "op": "in", "value": ["sat", "sun"]}
            {"clock": "day_of_week", "op": "eq", "value": "mon"}
            no clock: {"clock": "time_of_day", "op": "lt", "value": "23:59"}
            no clock: {"clock": "day_of_week", "op": "ne", "value": "mon"}
        "#,
            expect_test::expect![[r#"
                {"all": [{"trait": "n", "op": "eq", "value": 3}, {"trait": "s", "op": "eq", "value": "hello"}]}
                  trait n = 3 eq 3 -> true
                  trait s = "hello" eq "hello" -> true
                  => true
                {"all": [{"trait": "n", "op": "eq", "value": 4}, {"trait": "s", "op": "eq", "value": "hello"}]}
                  trait n = 3 eq 4 -> false
                  => false
                {"all": []}
                  => true
                {"any": [{"trait": "n", "op": "eq", "value": 4}, {"trait": "s", "op": "eq", "value": "hello"}]}
                  trait n = 3 eq 4 -> false
                  trait s = "hello" eq "hello" -> true
                  => true
                {"any": [{"trait": "n", "op": "eq", "value": 3}, {"trait": "s", "op": "eq", "value": "bye"}]}
                  trait n = 3 eq 3 -> true
                  => true
                {"any": []}
                  => false
                {"not": {"trait": "x", "op": "exists"}}
                  trait x = (absent) exists -> false
                  => true
                {"not": {"not": {"trait": "x", "op": "exists"}}}
                  trait x = (absent) exists -> false
                  => false
                {"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 3}
                  count("Page Viewed" in 7d) = 3 gte 3 -> true
                {"history": {"event": "Page Viewed", "within": "7d"}, "op": "exists"}
                  count("Page Viewed" in 7d) = 3 exists -> true
                {"all": [{"history": {"event": "A", "within": "1d"}, "op": "eq", "value": 3}, {"history": {"event": "B", "within": "30d", "aggregate": "sum", "property": "total"}, "op": "gt", "value": 12}]}
                  count("A" in 1d) = 3 eq 3 -> true
                  sum(total of "B" in 30d) = 12.5 gt 12 -> true
                  => true
                {"history": {"event": "A", "within": "1d", "where": {"property": "k", "op": "eq", "value": 1}}, "op": "eq", "value": 3}
                  count("A" where … in 1d) = 3 eq 3 -> true
                {"clock": "time_of_day", "op": "gte", "value": "08:30"}
                  time_of_day (Europe/Paris) = "08:30" gte "08:30" -> true
                {"clock": "time_of_day", "op": "lt", "value": "08:30"}
                  time_of_day (Europe/Paris) = "08:30" lt "08:30" -> false
                {"clock": "day_of_week", "op": "in", "value": ["sat", "sun"]}
                  day_of_week (Europe/Paris) = "sat" in ["sat","sun"] -> true
                {"clock": "day_of_week", "op": "eq", "value": "mon"}
                  day_of_week (Europe/Paris) = "sat" eq "mon" -> false
                no clock: {"clock": "time_of_day", "op": "lt", "value": "23:59"}
                  time_of_day = (absent) lt "23:59" -> false
                no clock: {"clock": "day_of_week", "op": "ne", "value": "mon"}
                  day_of_week = (absent) ne "mon" -> true
            "#]],
        );
    }

    #[test]
    fn history_counts_and_trace_show_values() {
        let cond = json!({"all": [
            {"property": "path", "op": "starts_with", "value": "/products/"},
            {"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 3},
            {"history": {"event": "Sales Contacted", "within": "7d"}, "op": "eq", "value": 0}
        ]});
        let (r, trace) = check(cond, json!({}), json!({"path": "/products/a"}), &[json!(3), json!(0)]);
        assert!(r);
        assert_eq!(
            trace,
            [
                "property path = \"/products/a\" starts_with \"/products/\" -> true",
                "count(\"Page Viewed\" in 7d) = 3 gte 3 -> true",
                "count(\"Sales Contacted\" in 7d) = 0 eq 0 -> true",
            ]
        );
    }

    #[test]
    fn history_query_counts_only_matching_events() {
        let q = HistoryQuery {
            event: "Page Viewed".into(),
            filter: Some(Condition::Compare {
                subject: Subject::Property("path".into()),
                op: Op::StartsWith,
                value: Operand::Value(json!("/products/")),
            }),
            within: Duration::days(7),
            since_entry: false,
            aggregate: Aggregate::Count,
            key: String::new(),
        };
        let events: Vec<Map> = [json!({"path": "/products/a"}), json!({"path": "/blog"}), json!({"path": "/products/b"})]
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .collect();
        assert_eq!(q.evaluate(&events), json!(2));
    }

    /// Parses each line (a condition) and shows why it can never hold, or `possible`.
    fn check_contradictions(script: &str, expect: expect_test::Expect) {
        let mut out = String::new();
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_str(line).expect("json");
            let c = Condition::parse(&v, "", &mut Diagnostics::default(), &mut Vec::new()).expect("a condition");
            out += &format!("{line}\n  {}\n", c.contradiction().unwrap_or_else(|| "possible".into()));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn contradictions_are_found() {
        check_contradictions(
            r#"
            {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"trait": "plan", "op": "eq", "value": "free"}]}
            {"all": [{"trait": "n", "op": "eq", "value": 3}, {"trait": "n", "op": "eq", "value": 3.0}]}
            {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"property": "plan", "op": "eq", "value": "free"}]}
            {"all": [{"trait": "a", "op": "eq", "value": 1}, {"trait": "b", "op": "eq", "value": 2}]}
            {"all": [{"property": "n", "op": "gt", "value": 5}, {"property": "n", "op": "lt", "value": 3}]}
            {"all": [{"property": "n", "op": "gte", "value": 5}, {"property": "n", "op": "lte", "value": 5}]}
            {"all": [{"property": "n", "op": "gt", "value": 5}, {"property": "n", "op": "lte", "value": 5}]}
            {"all": [{"property": "n", "op": "gte", "value": 5}, {"property": "n", "op": "lt", "value": 5}]}
            {"all": [{"property": "n", "op": "gt", "value": -5}, {"property": "n", "op": "lt", "value": -5}]}
            {"all": [{"property": "n", "op": "gt", "value": 0.1}, {"property": "n", "op": "lt", "value": 0.2}]}
            {"all": [{"property": "n", "op": "lte", "value": 5}, {"property": "n", "op": "gte", "value": 6}]}
            {"all": [{"property": "n", "op": "eq", "value": 4}, {"property": "n", "op": "gt", "value": 5}]}
            {"all": [{"property": "n", "op": "eq", "value": 6}, {"property": "n", "op": "gt", "value": 5}]}
            {"all": [{"property": "n", "op": "eq", "value": 4}, {"property": "n", "op": "lt", "value": 4}]}
            {"all": [{"property": "n", "op": "eq", "value": "a"}, {"property": "n", "op": "gt", "value": 5}]}
            {"all": [{"property": "n", "op": "ne", "value": 5}, {"property": "n", "op": "eq", "value": 5}]}
            {"all": [{"trait": "x", "op": "exists"}, {"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}]}
            {"any": [{"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}, {"all": [{"trait": "p", "op": "eq", "value": 1}, {"trait": "p", "op": "eq", "value": 2}]}]}
            {"any": [{"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}, {"trait": "x", "op": "exists"}]}
            {"not": {"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}}
        "#,
            expect_test::expect![[r#"
                {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"trait": "plan", "op": "eq", "value": "free"}]}
                  trait plan cannot equal both "pro" and "free"
                {"all": [{"trait": "n", "op": "eq", "value": 3}, {"trait": "n", "op": "eq", "value": 3.0}]}
                  possible
                {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"property": "plan", "op": "eq", "value": "free"}]}
                  possible
                {"all": [{"trait": "a", "op": "eq", "value": 1}, {"trait": "b", "op": "eq", "value": 2}]}
                  possible
                {"all": [{"property": "n", "op": "gt", "value": 5}, {"property": "n", "op": "lt", "value": 3}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "gte", "value": 5}, {"property": "n", "op": "lte", "value": 5}]}
                  possible
                {"all": [{"property": "n", "op": "gt", "value": 5}, {"property": "n", "op": "lte", "value": 5}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "gte", "value": 5}, {"property": "n", "op": "lt", "value": 5}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "gt", "value": -5}, {"property": "n", "op": "lt", "value": -5}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "gt", "value": 0.1}, {"property": "n", "op": "lt", "value": 0.2}]}
                  possible
                {"all": [{"property": "n", "op": "lte", "value": 5}, {"property": "n", "op": "gte", "value": 6}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "eq", "value": 4}, {"property": "n", "op": "gt", "value": 5}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "eq", "value": 6}, {"property": "n", "op": "gt", "value": 5}]}
                  possible
                {"all": [{"property": "n", "op": "eq", "value": 4}, {"property": "n", "op": "lt", "value": 4}]}
                  no value of property n satisfies every comparison on it
                {"all": [{"property": "n", "op": "eq", "value": "a"}, {"property": "n", "op": "gt", "value": 5}]}
                  possible
                {"all": [{"property": "n", "op": "ne", "value": 5}, {"property": "n", "op": "eq", "value": 5}]}
                  possible
                {"all": [{"trait": "x", "op": "exists"}, {"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}]}
                  no value of trait n satisfies every comparison on it
                {"any": [{"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}, {"all": [{"trait": "p", "op": "eq", "value": 1}, {"trait": "p", "op": "eq", "value": 2}]}]}
                  every alternative of this "any" is impossible
                {"any": [{"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}, {"trait": "x", "op": "exists"}]}
                  possible
                {"not": {"all": [{"trait": "n", "op": "gt", "value": 2}, {"trait": "n", "op": "lt", "value": 1}]}}
                  possible
            "#]],
        );
    }

    /// Parses each line (a condition) at `/c` and lists its diagnostics, or `valid`.
    fn check_invalid(script: &str, expect: expect_test::Expect) {
        let mut out = String::new();
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_str(line).expect("json");
            let mut diags = Diagnostics::default();
            Condition::parse(&v, "/c", &mut diags, &mut Vec::new());
            out += &format!("{line}\n");
            if diags.0.is_empty() {
                out += "  valid\n";
            }
            for d in &diags.0 {
                out += &format!("  {} {}: {}\n", d.path, d.code, d.message);
            }
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn every_problem_is_reported() {
        check_invalid(
            r#"
            {"all": [{"trait": "x", "op": "bogus", "value": 1}, {"history": {"event": "", "within": "soon"}, "op": "gte", "value": "three"}, {"trait": "y", "op": "in", "value": 1}, 7]}
            {"any": {"trait": "x", "op": "exists"}}
            {"not": [{"trait": "x", "op": "exists"}]}
            {"trait": "x", "value": 1}
            {"trait": "x", "op": 5, "value": 1}
            {"trait": "x", "op": "eq"}
            {"trait": "x", "op": "exists"}
            {"trait": "", "op": "exists"}
            {"property": 3, "op": "exists"}
            {"property": "k", "op": "in", "value": "a"}
            {"history": "Page Viewed", "op": "gte", "value": 1}
            {"history": {"within": "7d"}, "op": "gte", "value": 1}
            {"history": {"event": "A"}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": "0s"}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": 7}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": "7d", "aggregate": "max"}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": "7d", "aggregate": 1}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": "7d", "aggregate": "sum"}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": "7d", "aggregate": "last", "property": ""}, "op": "eq", "value": 1}
            {"history": {"event": "A", "within": "7d", "aggregate": "last", "property": "plan"}, "op": "eq", "value": "pro"}
            {"history": {"event": "A", "within": "7d", "aggregate": "sum", "property": "total"}, "op": "gte", "value": "100"}
            {"history": {"event": "A", "within": "7d", "aggregate": "exists"}, "op": "eq", "value": 1}
            {"history": {"event": "A", "within": "7d", "aggregate": "exists"}, "op": "eq", "value": true}
            {"history": {"event": "A", "within": "7d"}, "op": "exists", "value": "x"}
            {"history": {"event": "A", "within": "7d", "where": {"property": "k"}}, "op": "gte", "value": 1}
            {"history": {"event": "A", "within": "7d"}, "op": "gte"}
            {"clock": "hour", "op": "eq", "value": 9}
            {"clock": "time_of_day", "op": "gte", "value": "9am"}
            {"clock": "time_of_day", "op": "gte", "value": "24:00"}
            {"clock": "time_of_day", "op": "gte", "value": "23:60"}
            {"clock": "time_of_day", "op": "gte", "value": "9:00"}
            {"clock": "time_of_day", "op": "gte", "value": "09-00"}
            {"clock": "time_of_day", "op": "gte", "value": 900}
            {"clock": "time_of_day", "op": "in", "value": ["09:00", "23:59", "00:00"]}
            {"clock": "day_of_week", "op": "eq", "value": "someday"}
            {"clock": "day_of_week", "op": "in", "value": ["mon", "sun", "funday"]}
            {"clock": "day_of_week", "op": "in", "value": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
            {"clock": "day_of_week", "value": "mon"}
        "#,
            expect_test::expect![[r#"
                {"all": [{"trait": "x", "op": "bogus", "value": 1}, {"history": {"event": "", "within": "soon"}, "op": "gte", "value": "three"}, {"trait": "y", "op": "in", "value": 1}, 7]}
                  /c/all/0/op condition_unknown_op: unknown operator "bogus"; use one of eq, ne, gt, gte, lt, lte, contains, starts_with, ends_with, in, exists, not_exists
                  /c/all/1/history/event condition_invalid: a history query needs an "event" name
                  /c/all/1/history/within invalid_duration: invalid duration "soon": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
                  /c/all/1/value condition_invalid: this history aggregate compares with a number
                  /c/all/2/value condition_invalid: operator "in" needs a list as "value"
                  /c/all/3 condition_invalid: a condition must be an object
                {"any": {"trait": "x", "op": "exists"}}
                  /c/any condition_invalid: "any" takes a list of conditions
                {"not": [{"trait": "x", "op": "exists"}]}
                  /c/not condition_invalid: a condition must be an object
                {"trait": "x", "value": 1}
                  /c condition_invalid: a comparison needs "op"
                {"trait": "x", "op": 5, "value": 1}
                  /c/op condition_unknown_op: unknown operator 5; use one of eq, ne, gt, gte, lt, lte, contains, starts_with, ends_with, in, exists, not_exists
                {"trait": "x", "op": "eq"}
                  /c condition_invalid: operator "eq" needs a "value"
                {"trait": "x", "op": "exists"}
                  valid
                {"trait": "", "op": "exists"}
                  /c/trait condition_invalid: "trait" names a trait, such as "plan"
                {"property": 3, "op": "exists"}
                  /c/property condition_invalid: "property" names a property, such as "path"
                {"property": "k", "op": "in", "value": "a"}
                  /c/value condition_invalid: operator "in" needs a list as "value"
                {"history": "Page Viewed", "op": "gte", "value": 1}
                  /c/history condition_invalid: "history" must be an object with "event" and "within"
                {"history": {"within": "7d"}, "op": "gte", "value": 1}
                  /c/history/event condition_invalid: a history query needs an "event" name
                {"history": {"event": "A"}, "op": "gte", "value": 1}
                  /c/history/within invalid_duration: a history query needs a positive "within" duration, e.g. "7d", or "entry" (since the run entered)
                {"history": {"event": "A", "within": "0s"}, "op": "gte", "value": 1}
                  /c/history/within invalid_duration: a history query needs a positive "within" duration, e.g. "7d", or "entry" (since the run entered)
                {"history": {"event": "A", "within": 7}, "op": "gte", "value": 1}
                  /c/history/within invalid_duration: a history query needs a positive "within" duration, e.g. "7d", or "entry" (since the run entered)
                {"history": {"event": "A", "within": "7d", "aggregate": "max"}, "op": "gte", "value": 1}
                  /c/history/property condition_invalid: aggregate "max" needs the "property" it reads
                {"history": {"event": "A", "within": "7d", "aggregate": 1}, "op": "gte", "value": 1}
                  /c/history/aggregate condition_invalid: unknown aggregate 1; use count, exists, sum, min, max, first, last or distinct
                {"history": {"event": "A", "within": "7d", "aggregate": "sum"}, "op": "gte", "value": 1}
                  /c/history/property condition_invalid: aggregate "sum" needs the "property" it reads
                {"history": {"event": "A", "within": "7d", "aggregate": "last", "property": ""}, "op": "eq", "value": 1}
                  /c/history/property condition_invalid: aggregate "last" needs the "property" it reads
                {"history": {"event": "A", "within": "7d", "aggregate": "last", "property": "plan"}, "op": "eq", "value": "pro"}
                  valid
                {"history": {"event": "A", "within": "7d", "aggregate": "sum", "property": "total"}, "op": "gte", "value": "100"}
                  /c/value condition_invalid: this history aggregate compares with a number
                {"history": {"event": "A", "within": "7d", "aggregate": "exists"}, "op": "eq", "value": 1}
                  /c/value condition_invalid: this history aggregate compares with true or false
                {"history": {"event": "A", "within": "7d", "aggregate": "exists"}, "op": "eq", "value": true}
                  valid
                {"history": {"event": "A", "within": "7d"}, "op": "exists", "value": "x"}
                  valid
                {"history": {"event": "A", "within": "7d", "where": {"property": "k"}}, "op": "gte", "value": 1}
                  /c/history/where condition_invalid: a comparison needs "op"
                {"history": {"event": "A", "within": "7d"}, "op": "gte"}
                  /c condition_invalid: operator "gte" needs a "value"
                {"clock": "hour", "op": "eq", "value": 9}
                  /c/clock condition_invalid: "clock" is "time_of_day" or "day_of_week"
                {"clock": "time_of_day", "op": "gte", "value": "9am"}
                  /c/value condition_invalid: a time_of_day condition compares with a time "HH:MM" (24h)
                {"clock": "time_of_day", "op": "gte", "value": "24:00"}
                  /c/value condition_invalid: a time_of_day condition compares with a time "HH:MM" (24h)
                {"clock": "time_of_day", "op": "gte", "value": "23:60"}
                  /c/value condition_invalid: a time_of_day condition compares with a time "HH:MM" (24h)
                {"clock": "time_of_day", "op": "gte", "value": "9:00"}
                  /c/value condition_invalid: a time_of_day condition compares with a time "HH:MM" (24h)
                {"clock": "time_of_day", "op": "gte", "value": "09-00"}
                  /c/value condition_invalid: a time_of_day condition compares with a time "HH:MM" (24h)
                {"clock": "time_of_day", "op": "gte", "value": 900}
                  /c/value condition_invalid: a time_of_day condition compares with a time "HH:MM" (24h)
                {"clock": "time_of_day", "op": "in", "value": ["09:00", "23:59", "00:00"]}
                  valid
                {"clock": "day_of_week", "op": "eq", "value": "someday"}
                  /c/value condition_invalid: a day_of_week condition compares with a day: mon, tue, wed, thu, fri, sat or sun
                {"clock": "day_of_week", "op": "in", "value": ["mon", "sun", "funday"]}
                  /c/value condition_invalid: a day_of_week condition compares with a day: mon, tue, wed, thu, fri, sat or sun
                {"clock": "day_of_week", "op": "in", "value": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
                  valid
                {"clock": "day_of_week", "value": "mon"}
                  /c condition_invalid: a comparison needs "op"
            "#]],
        );
    }

    #[test]
    fn history_queries_have_a_stable_key_and_a_readable_label() {
        let cases = [
            json!({"within": "7d", "event": "Page Viewed"}),
            json!({"event": "Page Viewed", "within": "7d", "where": {"value": "/p/", "op": "starts_with", "property": "path"}}),
            json!({"event": "Order Completed", "within": "30d", "aggregate": "sum", "property": "total"}),
            json!({"event": "Order Completed", "within": "30d", "aggregate": "last", "property": "plan"}),
            json!({"event": "Order Completed", "within": "1d12h", "aggregate": "exists", "where": {"any": [{"property": "n", "op": "in", "value": [1, 2.5]}]}}),
        ];
        let text: Vec<String> = cases
            .into_iter()
            .map(|c| {
                let q = query(c);
                format!("{q}\n  {}", q.key)
            })
            .collect();
        expect_test::expect![[r#"
            count("Page Viewed" in 7d)
              {"event":"Page Viewed","within":"7d"}
            count("Page Viewed" where … in 7d)
              {"event":"Page Viewed","where":{"op":"starts_with","property":"path","value":"/p/"},"within":"7d"}
            sum(total of "Order Completed" in 30d)
              {"aggregate":"sum","event":"Order Completed","property":"total","within":"30d"}
            last(plan of "Order Completed" in 30d)
              {"aggregate":"last","event":"Order Completed","property":"plan","within":"30d"}
            exists("Order Completed" where … in 1d12h)
              {"aggregate":"exists","event":"Order Completed","where":{"any":[{"op":"in","property":"n","value":[1,2.5]}]},"within":"1d12h"}
        "#]]
        .assert_eq(&(text.join("\n") + "\n"));
        let mut history = Vec::new();
        let same = json!({"all": [
            {"history": {"event": "A", "within": "7d"}, "op": "gte", "value": 1},
            {"history": {"within": "7d", "event": "A"}, "op": "lte", "value": 5},
            {"history": {"event": "A", "within": "1d"}, "op": "gte", "value": 1}
        ]});
        Condition::parse(&same, "", &mut Diagnostics::default(), &mut history).expect("valid");
        assert_eq!(history.len(), 2, "the same query twice is computed once");
    }

    #[test]
    fn numbers_are_integers_when_they_can_be() {
        let shown: Vec<String> = [0.0, 3.0, -3.0, 12.5, 8.9e15, 9.0e15, -9.1e15, f64::NAN].iter().map(|x| number(*x).to_string()).collect();
        assert_eq!(shown, ["0", "3", "-3", "12.5", "8900000000000000", "9000000000000000.0", "-9100000000000000.0", "null"]);
    }

    fn query(v: Value) -> HistoryQuery {
        let mut diags = Diagnostics::default();
        let mut queries = Vec::new();
        Condition::parse(&json!({"history": v, "op": "exists"}), "", &mut diags, &mut queries).expect("valid");
        assert!(diags.0.is_empty(), "{:?}", diags.0);
        queries.remove(0)
    }

    #[test]
    fn history_aggregates_sum_last_and_exists() {
        let events: Vec<Map> =
            [json!({"revenue": 10, "plan": "a"}), json!({"revenue": 2.5, "plan": "b"}), json!({"plan": "c", "revenue": "n/a"})]
                .iter()
                .filter_map(|v| v.as_object().cloned())
                .collect();
        let sum = query(json!({"event": "Order Completed", "within": "30d", "aggregate": "sum", "property": "revenue"}));
        assert_eq!(sum.evaluate(&events), json!(12.5));
        let last = query(json!({"event": "Order Completed", "within": "30d", "aggregate": "last", "property": "plan"}));
        assert_eq!(last.evaluate(&events), json!("c"));
        assert_eq!(last.evaluate(&[]), Value::Null);
        let exists = query(
            json!({"event": "Order Completed", "within": "30d", "aggregate": "exists", "where": {"property": "plan", "op": "eq", "value": "b"}}),
        );
        assert_eq!((exists.evaluate(&events), exists.evaluate(&events[..1])), (json!(true), json!(false)));
        assert_eq!(sum.to_string(), "sum(revenue of \"Order Completed\" in 30d)");
    }

    #[test]
    fn clock_conditions_read_the_local_time() {
        let clock = LocalClock { time_of_day: "08:30".into(), day_of_week: "sat", zone: "Europe/Paris".into() };
        let eval = |cond: Value| {
            let mut diags = Diagnostics::default();
            let c = Condition::parse(&cond, "", &mut diags, &mut Vec::new()).expect("valid");
            let mut trace = Vec::new();
            let r = c.eval(
                &Facts { traits: &Map::new(), properties: None, history: &[], clock: Some(&clock), run: None, segments: &NO_SEGMENTS },
                &mut trace,
            );
            (r, crate::trace::join(&trace))
        };
        assert_eq!(
            eval(json!({"clock": "time_of_day", "op": "gte", "value": "09:00"})),
            (false, "time_of_day (Europe/Paris) = \"08:30\" gte \"09:00\" -> false".into())
        );
        assert!(eval(json!({"clock": "day_of_week", "op": "in", "value": ["sat", "sun"]})).0);
        let mut diags = Diagnostics::default();
        Condition::parse(&json!({"clock": "time_of_day", "op": "gte", "value": "9am"}), "/c", &mut diags, &mut Vec::new());
        Condition::parse(&json!({"clock": "day_of_week", "op": "eq", "value": "someday"}), "/d", &mut diags, &mut Vec::new());
        Condition::parse(
            &json!({"history": {"event": "X", "within": "1d", "aggregate": "sum"}, "op": "gt", "value": 1}),
            "/e",
            &mut diags,
            &mut Vec::new(),
        );
        let paths: Vec<_> = diags.0.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/c/value", "/d/value", "/e/history/property"]);
    }

    #[test]
    fn contradictions_keep_the_nearest_numbers_possible() {
        // Found by the condition fuzz target: "gt 7 and lte 7.000000000000001" was called impossible.
        let find = |v: Value| {
            let mut diags = Diagnostics::default();
            Condition::parse(&v, "/c", &mut diags, &mut Vec::new()).and_then(|c| c.contradiction())
        };
        for (low, high) in
            [(7.0, 7.000000000000001), (3.0, 3.0000000000000004), (1.2e17, 1.2000000000000002e17), (-0.5, -0.49999999999999994)]
        {
            assert_eq!(find(json!({"all": [{"trait": "n", "op": "gt", "value": low}, {"trait": "n", "op": "lte", "value": high}]})), None);
            assert_eq!(find(json!({"all": [{"trait": "n", "op": "gte", "value": low}, {"trait": "n", "op": "lt", "value": high}]})), None);
        }
        assert!(
            find(json!({"all": [{"trait": "n", "op": "gt", "value": 7}, {"trait": "n", "op": "lt", "value": 7.000000000000001}]}))
                .is_some()
        );
    }
}
