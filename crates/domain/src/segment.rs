//! Segments: a named condition over a person's traits, history aggregates, reachability and
//! other segments, whose membership the engine keeps as things happen — never by a periodic
//! recompute.
//!
//! ```json
//! {"id": "lapsed", "name": "No order in 30 days",
//!  "condition": {"all": [{"trait": "email", "op": "exists"},
//!                        {"history": {"event": "Order Completed", "within": "30d"}, "op": "eq", "value": 0}]}}
//! ```
//!
//! Membership is the condition at a point in time. It changes when something happens to the
//! person (an event, a trait change: the engine evaluates every segment after each input) and
//! at **time edges**: when an event leaves (or, dated ahead, enters) a history window.
//! `Segment::next_change` gives the earliest such time; the engine evaluates the person again
//! then (`check_at` spreads these checks within the minute, so midnight does not pile up).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Map;
use crate::aggregate::Counter;
use crate::condition::{Condition, Facts, HistoryQuery};
use crate::ids::{ProfileId, SegmentId};
use crate::journey::{Diagnostic, Diagnostics};
use crate::time::Timestamp;

/// The event a person's entering a segment is (property `segment`: its id).
pub const ENTERED: &str = "Segment Entered";
/// The event a person's leaving a segment is.
pub const EXITED: &str = "Segment Exited";

/// The most segments one segment's condition may depend on, through references.
const MAX_IDS: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub id: SegmentId,
    pub name: String,
    pub condition: Condition,
    /// The history queries the condition reads (`Condition::History` indexes them).
    pub history: Vec<HistoryQuery>,
}

const KEYS: [&str; 3] = ["id", "name", "condition"];

/// Whether `id` may name a segment: 1 to 64 of a-z, 0-9, `-` and `_`, starting with a letter
/// or digit (it appears in URLs and in events).
pub fn valid_id(id: &str) -> bool {
    (1..=MAX_IDS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

impl Segment {
    /// Parses a segment document, reporting every problem at once.
    pub fn parse(doc: &Value) -> Result<Segment, Vec<Diagnostic>> {
        Segment::parse_as(doc, true)
    }

    /// `own`: the condition may not test the segment itself (false for a lifecycle stage,
    /// whose id is no segment's).
    pub(crate) fn parse_as(doc: &Value, own: bool) -> Result<Segment, Vec<Diagnostic>> {
        let mut diags = Diagnostics::default();
        let Some(obj) = doc.as_object() else {
            diags.error("", "invalid_segment", "a segment is an object with \"id\", \"name\" and \"condition\"");
            return Err(diags.0);
        };
        let [id, name, condition] = diags.fields(obj, &KEYS, "a segment", "", &[]);
        let id = match id.and_then(Value::as_str) {
            Some(id) if valid_id(id) => Some(SegmentId(id.to_owned())),
            _ => {
                diags.error("/id", "invalid_segment", "\"id\" is 1 to 64 lowercase letters, digits, '-' or '_' (e.g. \"lapsed-buyers\")");
                None
            }
        };
        let name = name.and_then(Value::as_str).map(str::trim).unwrap_or_default().to_owned();
        let mut history = Vec::new();
        let condition = match condition {
            Some(c) => Condition::parse(c, "/condition", &mut diags, &mut history),
            None => {
                diags.error("/condition", "invalid_segment", "a segment needs a \"condition\" on the person");
                None
            }
        };
        if let Some(c) = &condition {
            let mut out = Vec::new();
            unfit(c, "/condition", &history, &mut out);
            for (path, why) in out {
                diags.error(&path, "not_in_segment", &why);
            }
            if let Some(id) = id.as_ref().filter(|_| own)
                && c.segments().contains(id)
            {
                diags.error("/condition", "segment_cycle", &format!("segment {:?} cannot test its own membership", id.0));
            }
        }
        match (id, condition) {
            (Some(id), Some(condition)) if !diags.0.iter().any(Diagnostic::is_error) => {
                let name = if name.is_empty() { id.0.clone() } else { name };
                Ok(Segment { id, name, condition, history })
            }
            _ => Err(diags.0),
        }
    }

    /// Whether a person with these traits, history values (one per query, as
    /// `Counter::evaluate` gives them) and memberships belongs.
    pub fn holds(&self, traits: &Map, history: &[Value], members: &BTreeSet<SegmentId>) -> bool {
        let facts = Facts { traits, properties: None, history, clock: None, run: None, segments: members };
        self.condition.holds(&facts)
    }

    /// The other segments the condition tests.
    pub fn depends_on(&self) -> BTreeSet<SegmentId> {
        self.condition.segments()
    }

    /// The earliest time after `now` at which one of the history values may change without a
    /// new event: the oldest counted minute leaving its window, or a minute dated ahead of
    /// `now` coming into it. `counters[i]` is the person's counter of `history[i]`.
    pub fn next_change(&self, counters: &[Option<&Counter>], now: Timestamp) -> Option<Timestamp> {
        self.history.iter().zip(counters).filter_map(|(q, c)| crate::aggregate::next_change(q, (*c)?, now)).min()
    }
}

/// When to evaluate a person again for a change due at `at`: within the minute after it, at a
/// second fixed per person, so changes due at a round time do not all come at once.
pub fn check_at(at: Timestamp, profile: ProfileId) -> Timestamp {
    let spread = (profile.0.wrapping_mul(0x9e37_79b9_7f4a_7c15_u64 as i64) as u64 >> 40) % 60_000;
    at.plus(crate::time::Duration(spread as i64))
}

/// What a segment's condition may not read: there is no event (`property`), run (`run`,
/// references, history since entry) or moment of the day (`clock`) to a membership.
fn unfit(c: &Condition, path: &str, history: &[HistoryQuery], out: &mut Vec<(String, String)>) {
    match c {
        Condition::All(items) | Condition::Any(items) => {
            let key = if matches!(c, Condition::All(_)) { "all" } else { "any" };
            for (i, item) in items.iter().enumerate() {
                unfit(item, &format!("{path}/{key}/{i}"), history, out);
            }
        }
        Condition::Not(inner) => unfit(inner, &format!("{path}/not"), history, out),
        Condition::Compare { subject, value, .. } => {
            use crate::condition::{Operand, Subject};
            match subject {
                Subject::Property(_) => out.push((
                    format!("{path}/property"),
                    "a segment is about the person, not one event: use \"trait\", or a \"history\" query of the event".into(),
                )),
                Subject::Run(_) => out.push((format!("{path}/run"), "a segment has no run: use \"trait\"".into())),
                Subject::Trait(_) => {}
            }
            if let Operand::Ref(_) = value {
                out.push((format!("{path}/ref"), "a segment compares with written values, not references".into()));
            }
        }
        Condition::History { query, .. } => {
            if history.get(*query).is_some_and(|q| q.since_entry) {
                out.push((format!("{path}/history/within"), "a segment has no entry: give \"within\" a duration, e.g. \"30d\"".into()));
            }
        }
        Condition::Clock { .. } => out.push((
            format!("{path}/clock"),
            "a segment cannot depend on the time of day: test the clock in the journey's branch instead".into(),
        )),
        Condition::Reachable(_) | Condition::Segment(_) => {}
    }
}

/// The segments in an order where each comes after those it tests, or the first cycle found
/// (ids along it) and the unknown segments referred to.
pub fn order(segments: &[Segment]) -> Result<Vec<usize>, OrderError> {
    let index: BTreeMap<&SegmentId, usize> = segments.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
    let mut unknown = Vec::new();
    for s in segments {
        for d in s.depends_on() {
            if !index.contains_key(&d) {
                unknown.push((s.id.clone(), d));
            }
        }
    }
    if !unknown.is_empty() {
        return Err(OrderError::Unknown(unknown));
    }
    // Depth-first, children first; `state`: 0 unseen, 1 on the path, 2 done.
    let mut state = vec![0u8; segments.len()];
    let mut out = Vec::with_capacity(segments.len());
    fn visit(
        i: usize,
        segments: &[Segment],
        index: &BTreeMap<&SegmentId, usize>,
        state: &mut [u8],
        out: &mut Vec<usize>,
        path: &mut Vec<SegmentId>,
    ) -> Result<(), OrderError> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let from = path.iter().position(|p| *p == segments[i].id).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(segments[i].id.clone());
                return Err(OrderError::Cycle(cycle));
            }
            _ => {}
        }
        state[i] = 1;
        path.push(segments[i].id.clone());
        for d in segments[i].depends_on() {
            if let Some(&j) = index.get(&d) {
                visit(j, segments, index, state, out, path)?;
            }
        }
        path.pop();
        state[i] = 2;
        out.push(i);
        Ok(())
    }
    for i in 0..segments.len() {
        visit(i, segments, &index, &mut state, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
pub enum OrderError {
    /// Segments testing each other in a circle (the first repeated at the end).
    Cycle(Vec<SegmentId>),
    /// (segment, the segment it tests that does not exist).
    Unknown(Vec<(SegmentId, SegmentId)>),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::Cycle(ids) => {
                let names: Vec<&str> = ids.iter().map(SegmentId::as_str).collect();
                write!(f, "segments test each other in a circle: {}", names.join(" -> "))
            }
            OrderError::Unknown(pairs) => {
                let text: Vec<String> = pairs.iter().map(|(s, d)| format!("{s} tests {d}, which does not exist")).collect();
                f.write_str(&text.join("; "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::EventSeq;
    use crate::time::Duration;

    fn segment(doc: Value) -> Segment {
        Segment::parse(&doc).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn errors(doc: Value) -> Vec<String> {
        match Segment::parse(&doc) {
            Ok(s) => panic!("parsed: {s:?}"),
            Err(d) => d.into_iter().map(|d| format!("{} {}: {}", d.path, d.code, d.message)).collect(),
        }
    }

    fn map(v: Value) -> Map {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_segment_reads_traits_history_reachability_and_other_segments() {
        let s = segment(json!({"id": "lapsed", "name": " Lapsed buyers ", "condition": {"all": [
            {"trait": "plan", "op": "eq", "value": "pro"},
            {"reachable": "email"},
            {"not": {"segment": "staff"}},
            {"history": {"event": "Order Completed", "within": "30d"}, "op": "eq", "value": 0}]}}));
        assert_eq!((s.id.as_str(), s.name.as_str(), s.history.len()), ("lapsed", "Lapsed buyers", 1));
        assert_eq!(s.depends_on().into_iter().map(|s| s.0).collect::<Vec<_>>(), ["staff"]);
        let traits = map(json!({"plan": "pro", "email": "a@x.test"}));
        let none = BTreeSet::new();
        let staff: BTreeSet<SegmentId> = [SegmentId::from("staff")].into();
        assert!(s.holds(&traits, &[json!(0)], &none));
        assert!(!s.holds(&traits, &[json!(1)], &none), "an order");
        assert!(!s.holds(&traits, &[json!(0)], &staff), "a member of staff");
        assert!(!s.holds(&map(json!({"plan": "pro"})), &[json!(0)], &none), "no address");
        assert_eq!(segment(json!({"id": "a", "condition": {"trait": "x", "op": "exists"}})).name, "a", "the id names it by default");
    }

    #[test]
    fn what_a_segment_cannot_read_is_refused_with_the_place() {
        expect_test::expect![[r#"
            /condition/all/0/property not_in_segment: a segment is about the person, not one event: use "trait", or a "history" query of the event
            /condition/all/1/run not_in_segment: a segment has no run: use "trait"
            /condition/all/2/ref not_in_segment: a segment compares with written values, not references
            /condition/all/3/clock not_in_segment: a segment cannot depend on the time of day: test the clock in the journey's branch instead
            /condition/all/4/history/within not_in_segment: a segment has no entry: give "within" a duration, e.g. "30d"
            /condition segment_cycle: segment "me" cannot test its own membership"#]]
        .assert_eq(
            &errors(json!({"id": "me", "condition": {"all": [
                {"property": "path", "op": "exists"},
                {"run": "items", "op": "exists"},
                {"trait": "plan", "op": "eq", "ref": "traits.old"},
                {"clock": "time_of_day", "op": "gte", "value": "08:00"},
                {"history": {"event": "A", "within": "entry"}, "op": "gte", "value": 1},
                {"segment": "me"}]}}))
            .join("\n"),
        );
        expect_test::expect![[r#"
            /colour unknown_field: "colour" is not a field of a segment; its fields are id, name, condition
            /id invalid_segment: "id" is 1 to 64 lowercase letters, digits, '-' or '_' (e.g. "lapsed-buyers")
            /condition invalid_segment: a segment needs a "condition" on the person"#]]
        .assert_eq(&errors(json!({"id": "Big Spenders", "colour": "red"})).join("\n"));
        assert_eq!(
            errors(json!({"id": "x", "condition": {"segment": "Not An Id"}})),
            ["/condition/segment condition_invalid: \"segment\" names a segment by its id, such as \"lapsed-buyers\""]
        );
        assert_eq!(errors(json!([1])), [" invalid_segment: a segment is an object with \"id\", \"name\" and \"condition\""]);
    }

    /// The traits a segment compares, at any depth (what a computed trait's deletion checks).
    #[test]
    fn a_segment_names_the_traits_it_compares() {
        let s = segment(json!({"id": "x", "condition": {"any": [
            {"trait": "plan", "op": "eq", "value": "pro"},
            {"not": {"all": [{"trait": "address.city", "op": "exists"}, {"segment": "other"}]}},
            {"history": {"event": "A", "within": "1d", "where": {"property": "plan", "op": "exists"}}, "op": "gte", "value": 1}]}}));
        assert_eq!(s.condition.traits().into_iter().collect::<Vec<_>>(), ["address.city", "plan"]);
    }

    #[test]
    fn ids_are_short_lowercase_words() {
        for ok in ["a", "lapsed-buyers", "q4_2026", "9lives", &"x".repeat(64)] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "-a", "_a", "A", "a b", "é", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn segments_are_ordered_after_those_they_test() {
        let s = |id: &str, tests: &[&str]| {
            let any: Vec<Value> = tests.iter().map(|t| json!({"segment": t})).collect();
            segment(json!({"id": id, "condition": {"any": any}}))
        };
        let list = [s("c", &["b"]), s("b", &["a"]), s("a", &[]), s("d", &["a", "c"])];
        let ids: Vec<&str> = order(&list).expect("order").into_iter().map(|i| list[i].id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        let circle = [s("a", &["b"]), s("b", &["c"]), s("c", &["a"])];
        assert_eq!(order(&circle).map_err(|e| e.to_string()), Err("segments test each other in a circle: a -> b -> c -> a".to_owned()));
        assert_eq!(order(&[s("a", &["ghost"])]).map_err(|e| e.to_string()), Err("a tests ghost, which does not exist".to_owned()));
    }

    #[test]
    fn a_check_comes_within_the_minute_after_its_time_and_differs_by_person() {
        let at = Timestamp::parse("2026-12-01T00:00:00Z").expect("t");
        let checks: BTreeSet<i64> = (1..200).map(|p| check_at(at, ProfileId(p)).0 - at.0).collect();
        assert!(checks.iter().all(|d| (0..60_000).contains(d)), "{checks:?}");
        assert!(checks.len() > 150, "spread over the minute: {} distinct", checks.len());
        let (first, last) = (checks.first().copied().unwrap_or(0), checks.last().copied().unwrap_or(0));
        assert!(first < 5_000 && last > 55_000, "over the whole minute: {first}..{last}");
    }

    #[test]
    fn the_next_change_is_when_the_oldest_event_leaves_or_a_future_one_comes() {
        let s = segment(json!({"id": "x", "condition": {"any": [
            {"history": {"event": "A", "within": "1h"}, "op": "gte", "value": 1},
            {"history": {"event": "B", "within": "1d"}, "op": "gte", "value": 1}]}}));
        let t = |s: &str| Timestamp::parse(s).expect("t");
        let now = t("2026-12-01T12:00:30Z");
        let mut a = Counter::default();
        let mut b = Counter::default();
        assert_eq!(s.next_change(&[Some(&a), Some(&b)], now), None, "nothing counted: nothing changes by itself");
        a.add(&s.history[0], EventSeq(1), t("2026-12-01T11:20:10Z"), &Map::new());
        a.add(&s.history[0], EventSeq(2), t("2026-12-01T11:40:00Z"), &Map::new());
        // The 11:20 minute is read until the window's first minute passes it: 12:21.
        assert_eq!(s.next_change(&[Some(&a), None], now), Some(t("2026-12-01T12:21:00Z")));
        b.add(&s.history[1], EventSeq(3), t("2026-12-01T12:05:00Z"), &Map::new());
        assert_eq!(s.next_change(&[None, Some(&b)], now), Some(t("2026-12-01T12:05:00Z")), "dated ahead: counted from its minute");
        assert_eq!(s.next_change(&[Some(&a), Some(&b)], now), Some(t("2026-12-01T12:05:00Z")), "the earliest of all");
        a.add(&s.history[0], EventSeq(4), t("2026-12-01T10:00:00Z"), &Map::new());
        assert_eq!(s.next_change(&[Some(&a), None], now), Some(t("2026-12-01T12:21:00Z")), "out of the window already: no change");
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> i64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n) as i64
        }
    }

    /// The property: a membership kept incrementally (evaluated after each event or trait
    /// change, and again at each `next_change`) equals, at every moment, the condition over a
    /// scan of the whole history — with events late and early, across a daylight-saving change
    /// (windows are lengths of time, not calendar days: the change moves nothing).
    #[test]
    fn incremental_membership_equals_a_scan_of_the_history_at_every_moment() {
        let docs = [
            json!({"history": {"event": "A", "within": "30d"}, "op": "eq", "value": 0}),
            json!({"all": [{"trait": "plan", "op": "eq", "value": "pro"},
                           {"history": {"event": "A", "within": "2h"}, "op": "gte", "value": 2}]}),
            json!({"any": [{"history": {"event": "A", "within": "1d", "aggregate": "sum", "property": "n"}, "op": "gt", "value": 4},
                           {"not": {"history": {"event": "B", "within": "90m", "aggregate": "exists"}, "op": "eq", "value": true}}]}),
            json!({"history": {"event": "A", "within": "3h", "aggregate": "last", "property": "k"}, "op": "eq", "value": "x"}),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // The week of Europe's 2026 change back from summer time (25 October, 01:00 UTC).
        let start = Timestamp::parse("2026-10-22T00:00:00Z").expect("t");
        for doc in docs {
            let s = segment(json!({"id": "s", "condition": doc}));
            for case in 0..150 {
                let mut counters: Vec<Counter> = s.history.iter().map(|_| Counter::default()).collect();
                let mut log: Vec<(EventSeq, Timestamp, String, Map)> = Vec::new();
                let mut traits = Map::new();
                let none = BTreeSet::new();
                let holds_now = |counters: &[Counter], traits: &Map, now| {
                    let values: Vec<Value> = s.history.iter().zip(counters).map(|(q, c)| c.evaluate(q, now)).collect();
                    s.holds(traits, &values, &none)
                };
                let scan = |log: &[(EventSeq, Timestamp, String, Map)], traits: &Map, now: Timestamp| {
                    let values: Vec<Value> = s
                        .history
                        .iter()
                        .map(|q| {
                            q.evaluate(
                                log.iter()
                                    .filter(|(_, ts, name, _)| *name == q.event && crate::aggregate::in_window(q.within, now, *ts))
                                    .map(|(_, _, _, p)| p),
                            )
                        })
                        .collect();
                    s.holds(traits, &values, &none)
                };
                let mut now = start.plus(Duration::millis(rng.below(86_400_000)));
                let mut member = holds_now(&counters, &traits, now);
                let mut next: Option<Timestamp> = None;
                for seq in 1..=rng.below(30) + 1 {
                    let until = now.plus(Duration::millis(rng.below(3 * 86_400_000)));
                    // Time passes: checks fire at their time; between them nothing changes.
                    loop {
                        let probe = now.plus(Duration::millis(rng.below((until.0 - now.0).max(1) as u64)));
                        let stop = next.filter(|n| *n <= until).unwrap_or(until);
                        if probe < stop {
                            assert_eq!(
                                member,
                                scan(&log, &traits, probe),
                                "{} case {case}: at {probe}, before the next check {next:?}",
                                s.condition_text()
                            );
                        }
                        match next.filter(|n| *n <= until) {
                            Some(n) => {
                                now = n;
                                member = holds_now(&counters, &traits, now);
                                let cs: Vec<Option<&Counter>> = counters.iter().map(Some).collect();
                                next = s.next_change(&cs, now);
                            }
                            None => break,
                        }
                    }
                    now = until;
                    // An input: an event (maybe late or dated ahead), or a trait change.
                    if rng.below(5) == 0 {
                        traits.insert("plan".into(), json!(if rng.below(2) == 0 { "pro" } else { "free" }));
                    } else {
                        let ts = now.plus(Duration::millis(rng.below(600_000) - 300_000));
                        let name = if rng.below(3) == 0 { "B" } else { "A" };
                        let props = map(json!({"n": rng.below(5), "k": if rng.below(2) == 0 { "x" } else { "y" }}));
                        for (q, c) in s.history.iter().zip(&mut counters) {
                            if q.event == name {
                                c.add(q, EventSeq(seq), ts, &props);
                                c.prune(q.within, now);
                            }
                        }
                        log.push((EventSeq(seq), ts, name.to_owned(), props));
                    }
                    member = holds_now(&counters, &traits, now);
                    assert_eq!(member, scan(&log, &traits, now), "case {case}: after input {seq} at {now}");
                    let cs: Vec<Option<&Counter>> = counters.iter().map(Some).collect();
                    next = s.next_change(&cs, now);
                }
            }
        }
    }

    impl Segment {
        fn condition_text(&self) -> String {
            format!("{:?}", self.condition).chars().take(120).collect()
        }
    }
}
