//! Computed traits: a trait Wayfarer keeps from the person's history — how many orders in 90
//! days, the sum of their totals, the last product viewed — kept incrementally (the history
//! counters of `aggregate`) and written on the profile, so it is usable wherever traits are.
//!
//! ```json
//! {"trait": "orders_90d", "name": "Orders in 90 days",
//!  "history": {"event": "Order Completed", "within": "90d", "aggregate": "count"}}
//! ```

use serde_json::Value;

use crate::aggregate::Counter;
use crate::condition::{Condition, HistoryQuery};
use crate::journey::{Diagnostic, Diagnostics};
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq)]
pub struct ComputedTrait {
    /// The trait it writes.
    pub name: String,
    /// What people call it (the trait's name when absent).
    pub label: String,
    pub query: HistoryQuery,
}

const KEYS: [&str; 3] = ["trait", "name", "history"];

/// Whether `name` may be a computed trait's: 1 to 64 of a-z, 0-9 and `_`, starting with a
/// letter (templates read it as `traits.name`).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

impl ComputedTrait {
    /// Parses a computed trait's document, reporting every problem at once.
    pub fn parse(doc: &Value) -> Result<ComputedTrait, Vec<Diagnostic>> {
        let mut diags = Diagnostics::default();
        let Some(obj) = doc.as_object() else {
            diags.error("", "invalid_computed_trait", "a computed trait is an object with \"trait\", \"name\" and \"history\"");
            return Err(diags.0);
        };
        let [name, label, history] = diags.fields(obj, &KEYS, "a computed trait", "", &[]);
        let name = name.and_then(Value::as_str).filter(|n| valid_name(n));
        if name.is_none() {
            diags.error(
                "/trait",
                "invalid_computed_trait",
                "\"trait\" is 1 to 64 of a-z, 0-9 and '_', starting with a letter (e.g. \"orders_90d\")",
            );
        }
        let mut queries = Vec::new();
        match history {
            // Parsed as the history condition it is (so the problems are the same, at the same places).
            Some(h) => {
                Condition::parse(&serde_json::json!({"history": h, "op": "exists"}), "", &mut diags, &mut queries);
            }
            None => diags.error("/history", "invalid_computed_trait", "a computed trait needs the \"history\" query it keeps"),
        }
        if queries.first().is_some_and(|q| q.since_entry) {
            diags.error(
                "/history/within",
                "invalid_computed_trait",
                "a computed trait has no entry: give \"within\" a duration, e.g. \"90d\"",
            );
        }
        match (name, queries.into_iter().next()) {
            (Some(name), Some(query)) if !diags.0.iter().any(Diagnostic::is_error) => {
                let label = label.and_then(Value::as_str).map(str::trim).filter(|l| !l.is_empty()).unwrap_or(name).to_owned();
                Ok(ComputedTrait { name: name.to_owned(), label, query })
            }
            _ => Err(diags.0),
        }
    }

    /// Its value at `now` from the person's counter of its query (none: no such event yet).
    /// Null is written as no trait.
    pub fn value(&self, counter: Option<&Counter>, now: Timestamp) -> Value {
        counter.map_or_else(|| Counter::default().evaluate(&self.query, now), |c| c.evaluate(&self.query, now))
    }

    /// When its value may change without a new event (see `aggregate::next_change`).
    pub fn next_change(&self, counter: Option<&Counter>, now: Timestamp) -> Option<Timestamp> {
        crate::aggregate::next_change(&self.query, counter?, now)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::EventSeq;

    #[test]
    fn a_computed_trait_is_a_named_history_query() {
        let c = ComputedTrait::parse(&json!({"trait": "spent_30d", "history":
            {"event": "Order Completed", "within": "30d", "aggregate": "sum", "property": "total"}}))
        .expect("valid");
        assert_eq!((c.name.as_str(), c.label.as_str(), c.query.event.as_str()), ("spent_30d", "spent_30d", "Order Completed"));
        let t = |s: &str| Timestamp::parse(s).expect("t");
        let mut counter = Counter::default();
        assert_eq!(c.value(None, t("2026-12-01T00:00:00Z")), json!(0));
        for (i, (at, total)) in [("2026-12-01T10:00:00Z", 20), ("2026-12-05T10:00:00Z", 15)].iter().enumerate() {
            let props = json!({"total": total}).as_object().cloned().unwrap_or_default();
            counter.add(&c.query, EventSeq(i as i64 + 1), t(at), &props);
        }
        assert_eq!(c.value(Some(&counter), t("2026-12-06T00:00:00Z")), json!(35));
        assert_eq!(c.next_change(Some(&counter), t("2026-12-06T00:00:00Z")), Some(t("2026-12-31T10:01:00Z")), "the first order leaves");
        assert_eq!(c.value(Some(&counter), t("2026-12-31T10:01:00Z")), json!(15));
        assert_eq!(c.next_change(None, t("2026-12-06T00:00:00Z")), None);
        // What people call it, when given (blank: the trait's name).
        let named = |name: &str| {
            let doc = json!({"trait": "orders_90d", "name": name, "history": {"event": "Order Completed", "within": "90d"}});
            ComputedTrait::parse(&doc).map(|c| c.label)
        };
        assert_eq!((named(" Orders in 90 days "), named("  ")), (Ok("Orders in 90 days".into()), Ok("orders_90d".into())));
    }

    #[test]
    fn problems_are_named_where_they_are() {
        let errors = |doc: Value| -> Vec<String> {
            ComputedTrait::parse(&doc).err().unwrap_or_default().into_iter().map(|d| format!("{} {}", d.path, d.code)).collect()
        };
        assert_eq!(errors(json!({"trait": "Orders!", "history": {"event": "A", "within": "1d"}})), ["/trait invalid_computed_trait"]);
        assert_eq!(errors(json!({"trait": "a", "history": {"event": "A", "within": "entry"}})), ["/history/within invalid_computed_trait"]);
        assert_eq!(
            errors(json!({"trait": "a", "history": {"event": "A", "within": "1d", "aggregate": "max"}})),
            ["/history/property condition_invalid"]
        );
        assert_eq!(errors(json!({"trait": "a"})), ["/history invalid_computed_trait"]);
        assert_eq!(errors(json!({"trait": "a", "history": {"event": "A", "within": "1d"}, "extra": 1})), ["/extra unknown_field"]);
        assert_eq!(errors(json!(3)), [" invalid_computed_trait"]);
        for ok in ["a", "orders_90d", "x9"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "9x", "_a", "A", "a-b", "a.b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
