//! The audit log: every change made through the admin API, with who made it, what, when,
//! and a JSON diff of the thing changed (`diff`: the leaves that differ, by JSON pointer).
//!
//! A change the server makes in a store transaction of its own writes its audit entry in
//! that same transaction (`record`), so one is never without the other. A change the engine
//! makes in its own transaction (stopping a journey, entering a person, retrying messages,
//! replaying a dead letter, moving the manual clock) is recorded right after the engine
//! reports it done (`App::audit_after`), in a transaction of its own.

use std::collections::BTreeSet;
use std::sync::Arc;

use domain::time::Timestamp;
use serde_json::Value;
use store::{NewAudit, Tx};

use crate::app::App;
use crate::auth::Actor;
use crate::error::ApiError;
use crate::wire::AuditChange;

/// The leaves that differ between `before` and `after` (`None`: the thing did not exist),
/// in document order (object keys sorted). Objects are compared key by key and arrays
/// index by index; a leaf is a scalar, or a value whose type changed, or an empty object or
/// array that appeared or went. A leaf only one side has is `old` or `new` alone.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<AuditChange> {
    let mut out = Vec::new();
    walk(&mut String::new(), before, after, &mut out);
    out
}

fn walk(path: &mut String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<AuditChange>) {
    let len = path.len();
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                push_key(path, k);
                walk(path, x.get(k), y.get(k), out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                path.push_str(&format!("/{i}"));
                walk(path, x.get(i), y.get(i), out);
                path.truncate(len);
            }
        }
        (Some(Value::Object(x)), None) if !x.is_empty() => {
            for (k, v) in x {
                push_key(path, k);
                walk(path, Some(v), None, out);
                path.truncate(len);
            }
        }
        (None, Some(Value::Object(y))) if !y.is_empty() => {
            for (k, v) in y {
                push_key(path, k);
                walk(path, None, Some(v), out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(x)), None) if !x.is_empty() => {
            for (i, v) in x.iter().enumerate() {
                path.push_str(&format!("/{i}"));
                walk(path, Some(v), None, out);
                path.truncate(len);
            }
        }
        (None, Some(Value::Array(y))) if !y.is_empty() => {
            for (i, v) in y.iter().enumerate() {
                path.push_str(&format!("/{i}"));
                walk(path, None, Some(v), out);
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(AuditChange { path: path.clone(), old: a.cloned(), new: b.cloned() }),
    }
}

/// A JSON pointer's next token (RFC 6901: `~` is `~0`, `/` is `~1`).
fn push_key(path: &mut String, key: &str) {
    path.push('/');
    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

/// Writes an audit entry in `tx`, the transaction of the change it records.
pub fn record(
    tx: &mut dyn Tx,
    actor: &Actor,
    at: Timestamp,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), ApiError> {
    let changes = diff(before, after);
    let diff = serde_json::to_value(&changes).map_err(|e| ApiError::new(crate::error::Code::Internal, e.to_string()))?;
    tx.add_audit(&NewAudit { at, actor: actor.name.clone(), action: action.to_owned(), target: target.to_owned(), diff })?;
    Ok(())
}

impl App {
    /// Records a change the engine has made (and committed) already, in a transaction of its
    /// own. The change stands either way, so a failure here is logged, not answered.
    pub async fn audit_after(self: &Arc<Self>, actor: &Actor, action: &str, target: String, before: Option<Value>, after: Option<Value>) {
        let now = self.engine.clock().now();
        let (actor, action_owned) = (actor.clone(), action.to_owned());
        let written = self.write(move |tx| record(tx, &actor, now, &action_owned, &target, before.as_ref(), after.as_ref())).await;
        if let Err(e) = written {
            tracing::error!(action, error = %e.message, "the audit entry of a change the engine made could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn changes(before: Option<Value>, after: Option<Value>) -> Vec<(String, Option<Value>, Option<Value>)> {
        diff(before.as_ref(), after.as_ref()).into_iter().map(|c| (c.path, c.old, c.new)).collect()
    }

    #[test]
    fn only_the_leaves_that_differ_with_their_json_pointer() {
        let before = json!({"id": "j", "entry": {"event": "A"}, "steps": [{"id": "w", "duration": "1d"}, {"id": "x"}]});
        let after = json!({"id": "j", "entry": {"event": "A"}, "steps": [{"id": "w", "duration": "3d"}], "name": "J"});
        assert_eq!(
            changes(Some(before), Some(after)),
            [
                ("/name".into(), None, Some(json!("J"))),
                ("/steps/0/duration".into(), Some(json!("1d")), Some(json!("3d"))),
                ("/steps/1/id".into(), Some(json!("x")), None),
            ]
        );
    }

    #[test]
    fn a_thing_created_or_deleted_shows_every_leaf_and_equal_things_nothing() {
        let doc = json!({"a": {"b": 1, "c": []}, "d": [true]});
        assert_eq!(
            changes(None, Some(doc.clone())),
            [("/a/b".into(), None, Some(json!(1))), ("/a/c".into(), None, Some(json!([]))), ("/d/0".into(), None, Some(json!(true)))]
        );
        assert_eq!(changes(Some(json!({"x": "y"})), None), [("/x".into(), Some(json!("y")), None)]);
        assert_eq!(changes(Some(doc.clone()), Some(doc)), []);
        assert_eq!(changes(None, None), []);
    }

    #[test]
    fn a_type_change_is_one_leaf_and_keys_are_escaped() {
        assert_eq!(
            changes(Some(json!({"a/b~": {"x": 1}})), Some(json!({"a/b~": "flat"}))),
            [("/a~1b~0".into(), Some(json!({"x": 1})), Some(json!("flat")))]
        );
        assert_eq!(changes(Some(json!(1)), Some(json!(2))), [("".into(), Some(json!(1)), Some(json!(2)))], "the root is the empty pointer");
    }
}
