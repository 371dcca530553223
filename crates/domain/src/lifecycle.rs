//! Lifecycle stages: an ordered list of stages, each defined by a condition about the person
//! (as a segment's); a person is at the **last** stage whose condition holds — the furthest
//! along — or at none.
//!
//! ```json
//! {"stages": [
//!   {"id": "visitor", "name": "Visitor", "condition": {"not": {"trait": "email", "op": "exists"}}},
//!   {"id": "lead", "name": "Lead", "condition": {"trait": "email", "op": "exists"}},
//!   {"id": "customer", "name": "Customer", "condition": {"history": {"event": "Order Completed", "within": "365d"}, "op": "gte", "value": 1}},
//!   {"id": "at-risk", "name": "At risk", "condition": {"all": [{"segment": "buyers"}, {"history": {"event": "Order Completed", "within": "60d"}, "op": "eq", "value": 0}]}}
//! ]}
//! ```

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Map;
use crate::aggregate::Counter;
use crate::ids::SegmentId;
use crate::journey::{Diagnostic, Diagnostics};
use crate::segment::Segment;
use crate::time::Timestamp;

/// The trait a person's current stage is written to (its id; absent at no stage).
pub const STAGE_TRAIT: &str = "lifecycle_stage";
/// The event a move between stages is (properties `from` and `to`: stage ids, null for none).
pub const STAGE_CHANGED: &str = "Stage Changed";

/// The most stages a lifecycle may have.
pub const MAX_STAGES: usize = 20;

#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub id: String,
    pub name: String,
    /// Its condition, checked as a segment's (the segment's id is the stage's).
    pub condition: Segment,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lifecycle {
    pub stages: Vec<Stage>,
}

const KEYS: [&str; 1] = ["stages"];
const STAGE_KEYS: [&str; 3] = ["id", "name", "condition"];

impl Lifecycle {
    /// Parses the lifecycle document, reporting every problem at once.
    pub fn parse(doc: &Value) -> Result<Lifecycle, Vec<Diagnostic>> {
        let mut diags = Diagnostics::default();
        let Some(obj) = doc.as_object() else {
            diags.error("", "invalid_lifecycle", "the lifecycle is an object with \"stages\": a list of {\"id\", \"name\", \"condition\"}");
            return Err(diags.0);
        };
        let [stages] = diags.fields(obj, &KEYS, "the lifecycle", "", &[]);
        let Some(list) = stages.and_then(Value::as_array) else {
            diags.error("/stages", "invalid_lifecycle", "\"stages\" is a list of {\"id\", \"name\", \"condition\"}, first stage first");
            return Err(diags.0);
        };
        if list.len() > MAX_STAGES {
            diags.error("/stages", "invalid_lifecycle", &format!("a lifecycle has at most {MAX_STAGES} stages"));
        }
        let mut out = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let path = format!("/stages/{i}");
            let Some(o) = item.as_object() else {
                diags.error(&path, "invalid_lifecycle", "a stage is an object with \"id\", \"name\" and \"condition\"");
                continue;
            };
            let [id, _, _] = diags.fields(o, &STAGE_KEYS, "a stage", &path, &[]);
            if let Some(id) = id.and_then(Value::as_str)
                && out.iter().any(|s: &Stage| s.id == id)
            {
                diags.error(&format!("{path}/id"), "invalid_lifecycle", &format!("stage {id:?} is listed twice"));
            }
            // A stage's condition is a segment's: the same rules, reported at the stage.
            match Segment::parse_as(item, false) {
                Ok(segment) => out.push(Stage { id: segment.id.0.clone(), name: segment.name.clone(), condition: segment }),
                Err(problems) => {
                    for d in problems.into_iter().filter(|d| d.code != "unknown_field") {
                        let message = d.message.replace("a segment", "a stage").replace("lapsed-buyers", "at-risk");
                        let code = if d.code == "invalid_segment" { "invalid_lifecycle".to_owned() } else { d.code };
                        diags.0.push(Diagnostic { path: format!("{path}{}", d.path), message, code, ..d });
                    }
                }
            }
        }
        if diags.0.iter().any(Diagnostic::is_error) { Err(diags.0) } else { Ok(Lifecycle { stages: out }) }
    }

    /// The segments the stages test.
    pub fn segments(&self) -> BTreeSet<SegmentId> {
        self.stages.iter().flat_map(|s| s.condition.depends_on()).collect()
    }

    /// The person's stage: the last whose condition holds. `history(i)` gives stage `i`'s
    /// history values (one per query of its condition).
    pub fn stage_of(&self, traits: &Map, history: impl Fn(&Stage) -> Vec<Value>, members: &BTreeSet<SegmentId>) -> Option<&Stage> {
        self.stages.iter().rev().find(|s| s.condition.holds(traits, &history(s), members))
    }

    /// The earliest time a stage's history value may change without an event.
    pub fn next_change<'c>(&self, counter: impl Fn(&str) -> Option<&'c Counter>, now: Timestamp) -> Option<Timestamp> {
        self.stages
            .iter()
            .flat_map(|s| s.condition.history.iter())
            .filter_map(|q| crate::aggregate::next_change(q, counter(&q.key)?, now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lifecycle() -> Lifecycle {
        Lifecycle::parse(&json!({"stages": [
            {"id": "lead", "name": "Lead", "condition": {"trait": "email", "op": "exists"}},
            {"id": "customer", "name": "Customer", "condition": {"history": {"event": "Order Completed", "within": "365d"}, "op": "gte", "value": 1}},
            {"id": "vip", "name": "VIP", "condition": {"all": [{"segment": "big-spenders"}, {"trait": "email", "op": "exists"}]}}
        ]}))
        .expect("valid")
    }

    #[test]
    fn a_person_is_at_the_last_stage_whose_condition_holds() {
        let l = lifecycle();
        let traits: Map = json!({"email": "a@x.test"}).as_object().cloned().unwrap_or_default();
        let none = BTreeSet::new();
        let orders = |n: i64| move |s: &Stage| s.condition.history.iter().map(|_| json!(n)).collect::<Vec<_>>();
        let stage = |t: &Map, n: i64, m: &BTreeSet<SegmentId>| l.stage_of(t, orders(n), m).map(|s| s.id.clone());
        assert_eq!(stage(&Map::new(), 0, &none), None, "no stage holds");
        assert_eq!(stage(&traits, 0, &none).as_deref(), Some("lead"));
        assert_eq!(stage(&traits, 2, &none).as_deref(), Some("customer"));
        assert_eq!(stage(&Map::new(), 2, &none).as_deref(), Some("customer"), "a later stage wins even when an earlier does not hold");
        let big: BTreeSet<SegmentId> = [SegmentId::from("big-spenders")].into();
        assert_eq!(stage(&traits, 2, &big).as_deref(), Some("vip"));
        assert_eq!(l.segments().into_iter().map(|s| s.0).collect::<Vec<_>>(), ["big-spenders"]);
        assert_eq!(l.stages[2].name, "VIP");
    }

    /// The earliest time any stage's history value changes on its own: here when the one
    /// order leaves the customer stage's year.
    #[test]
    fn the_next_change_is_the_earliest_of_the_stages_queries() {
        let l = lifecycle();
        let q = &l.stages[1].condition.history[0];
        let t = |s: &str| Timestamp::parse(s).expect("t");
        let mut orders = Counter::default();
        orders.add(q, crate::ids::EventSeq(1), t("2026-01-10T08:00:00Z"), &Map::new());
        let now = t("2026-06-01T00:00:00Z");
        assert_eq!(l.next_change(|key| (key == q.key).then_some(&orders), now), Some(t("2027-01-10T08:01:00Z")));
        assert_eq!(l.next_change(|_| None, now), None, "no history: nothing changes on its own");
    }

    #[test]
    fn problems_are_reported_at_their_stage() {
        let errors = |doc: Value| -> Vec<String> {
            Lifecycle::parse(&doc).err().unwrap_or_default().into_iter().map(|d| format!("{} {}: {}", d.path, d.code, d.message)).collect()
        };
        expect_test::expect![[r#"
            /stages/1/id invalid_lifecycle: stage "a" is listed twice
            /stages/2/condition/property not_in_segment: a stage is about the person, not one event: use "trait", or a "history" query of the event
            /stages/3/colour unknown_field: "colour" is not a field of a stage; its fields are id, name, condition
            /stages/3/id invalid_lifecycle: "id" is 1 to 64 lowercase letters, digits, '-' or '_' (e.g. "at-risk")
            /stages/4 invalid_lifecycle: a stage is an object with "id", "name" and "condition""#]]
        .assert_eq(
            &errors(json!({"stages": [
                {"id": "a", "condition": {"trait": "x", "op": "exists"}},
                {"id": "a", "condition": {"trait": "y", "op": "exists"}},
                {"id": "b", "condition": {"property": "p", "op": "exists"}},
                {"id": "B C", "condition": {"trait": "x", "op": "exists"}, "colour": 1},
                7,
                {"id": "vip", "condition": {"segment": "vip"}}]}))
            .join("\n"),
        );
        assert_eq!(
            errors(json!({"stages": {}})),
            ["/stages invalid_lifecycle: \"stages\" is a list of {\"id\", \"name\", \"condition\"}, first stage first"]
        );
        let many: Vec<Value> = (0..21).map(|i| json!({"id": format!("s{i}"), "condition": {"trait": "x", "op": "exists"}})).collect();
        assert_eq!(errors(json!({"stages": many})).len(), 1);
        assert_eq!(Lifecycle::parse(&json!({"stages": many[..20]})).map(|l| l.stages.len()), Ok(20), "20 stages are allowed");
        assert_eq!(Lifecycle::parse(&json!({"stages": []})), Ok(Lifecycle::default()), "no stages: nobody has one");
    }
}
