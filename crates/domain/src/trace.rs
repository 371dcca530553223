//! Why a run moved, as data: one `TraceLine` per thing a transition did, with the step it is
//! about, its kind, the readable line and, for decisions, every comparison made with the
//! values it saw (`Check`). The readable text is what the transcripts and the API's `lines`
//! show; the fields are for drawing a run on its journey (the path, the decisions).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::ids::NodeId;

/// What a trace line is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// The run started (`entered on ...`), with the entry filter's or audience's checks.
    Entered,
    /// The run was put in the control group (holdout).
    Control,
    /// An event was counted in the run's own history (conditions measured since entry).
    Counted,
    /// The goal was reached.
    Goal,
    /// The run ended: an exit step, an exit event, a missing step, the step limit, or
    /// something outside `step` (the journey stopped, a merge).
    Exit,
    /// The run ended at the end of a path.
    Completed,
    /// A `wait` step: waiting until a time, or not waiting (the time has passed, or no time).
    Wait,
    /// A `wait` step's time came.
    WaitOver,
    /// A `wait_for` step: waiting for its events.
    WaitFor,
    /// A `wait_for` step got one of its events.
    Got,
    /// A `wait_for` step's event came but no path's filter let it through (the checks say why).
    Ignored,
    /// A `wait_for` step timed out, or a send waited for its message's outcome in vain.
    TimedOut,
    /// One case of a `branch`, with its checks.
    Case,
    /// No case of a `branch` held.
    Else,
    /// A `split` chose a variant.
    Split,
    /// A message was decided at a `send` step.
    Send,
    /// A send or webhook not made: the control group, or a person unreachable on the channel.
    Skipped,
    /// What became of a message (delivered or failed).
    Outcome,
    /// An `update` step changed traits (or failed to render one).
    Update,
    /// Run variables changed (an `update` step's or a `wait_for` path's `run`), or could not.
    Run,
    /// A `webhook` step's call was decided.
    Webhook,
    /// The journey's zone stands in for a `timezone` trait that is not one.
    Zone,
    /// The run was moved to another version of its journey.
    Moved,
    /// A line stored as text only, before lines were structured: only its `text` is known.
    Text,
}

/// One comparison a condition made, with the value it saw. Its `Display` is the line traces
/// have always shown (`trait plan = "pro" eq "pro" -> true`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was read, as the trace names it: `trait plan`, `property path`, `run.items`, a
    /// history label (`count("Page Viewed" in 7d)`), `time_of_day (Europe/Paris)`,
    /// `reachable by email`.
    pub subject: String,
    /// The value seen; `None` when absent (a `null` is `Some(Value::Null)`). For `reachable`,
    /// the channel's address trait.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub seen: Option<Value>,
    /// The operator (`eq`, `gte`, `exists`, ...; `reachable` for reachability).
    pub op: String,
    /// What it was compared with: the document's value, or what `reference` read (`None`:
    /// the operator takes no value, or the reference read nothing).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub expected: Option<Value>,
    /// The reference compared with, for `ref` operands (`event.cart_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub result: bool,
    /// Why, where the values alone do not say (`no email trait`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A field that is present is `Some`, even when it is `null` (absent is the field's default).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == "reachable" {
            write!(f, "{} -> {}", self.subject, self.result)?;
            return match &self.note {
                Some(note) => write!(f, " ({note})"),
                None => Ok(()),
            };
        }
        write!(f, "{} = {} {}", self.subject, show(self.seen.as_ref()), self.op)?;
        match (&self.reference, &self.expected) {
            (Some(r), expected) => write!(f, " {r} ({})", show(expected.as_ref()))?,
            (None, Some(v)) => write!(f, " {v}")?,
            (None, None) => {}
        }
        write!(f, " -> {}", self.result)
    }
}

/// Checks as a trace line shows them after its words: ` [a; b]`, nothing when there are none.
pub fn bracket(checks: &[Check]) -> String {
    if checks.is_empty() { String::new() } else { format!(" [{}]", join(checks)) }
}

/// Checks joined with `; `.
pub fn join(checks: &[Check]) -> String {
    checks.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// One line of a transition's trace. `Display` gives `text`, the line as it reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceLine {
    /// The step the line is about; `None` for lines about the run as a whole (entry, the
    /// control group, the goal, exit events and the engine's exits, `completed`, a missing
    /// step, the step limit, a move to another version) and for `Text` lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    pub kind: TraceKind,
    pub text: String,
    /// The comparisons behind the line, with the values seen, in the order they were made
    /// (an entry filter, a branch case, every filter of an `ignored` event's paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

impl TraceLine {
    /// A line about `node` (or the whole run), without checks.
    pub fn new(node: Option<&NodeId>, kind: TraceKind, text: impl Into<String>) -> TraceLine {
        TraceLine { node: node.cloned(), kind, text: text.into(), checks: Vec::new() }
    }

    /// A line read back from text alone (what traces were before they were structured).
    pub fn text(text: impl Into<String>) -> TraceLine {
        TraceLine::new(None, TraceKind::Text, text)
    }

    /// The line with its checks; `text` already shows them.
    pub fn with_checks(mut self, checks: Vec<Check>) -> TraceLine {
        self.checks = checks;
        self
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(seen: Option<Value>, op: &str, expected: Option<Value>, reference: Option<&str>) -> Check {
        Check {
            subject: "trait plan".into(),
            seen,
            op: op.into(),
            expected,
            reference: reference.map(Into::into),
            result: false,
            note: None,
        }
    }

    #[test]
    fn checks_read_as_the_trace_always_did_and_keep_absent_apart_from_null() {
        let cases = [
            check(Some(json!("free")), "eq", Some(json!("pro")), None),
            check(None, "exists", None, None),
            check(Some(Value::Null), "eq", Some(Value::Null), None),
            check(Some(json!("a")), "eq", None, Some("event.cart_id")),
            Check {
                subject: "reachable by email".into(),
                seen: None,
                op: "reachable".into(),
                expected: None,
                reference: None,
                result: false,
                note: Some("no email trait".into()),
            },
        ];
        let shown: Vec<String> = cases.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "trait plan = \"free\" eq \"pro\" -> false",
                "trait plan = (absent) exists -> false",
                "trait plan = null eq null -> false",
                "trait plan = \"a\" eq event.cart_id ((absent)) -> false",
                "reachable by email -> false (no email trait)",
            ]
        );
        for c in &cases {
            let text = serde_json::to_string(c).expect("json");
            let back: Check = serde_json::from_str(&text).expect("read back");
            assert_eq!(&back, c, "{text}");
        }
        assert_eq!(
            serde_json::to_string(&cases[2]).expect("json"),
            r#"{"subject":"trait plan","seen":null,"op":"eq","expected":null,"result":false}"#
        );
        assert_eq!(serde_json::to_string(&cases[1]).expect("json"), r#"{"subject":"trait plan","op":"exists","result":false}"#);
        assert_eq!(bracket(&cases[..2]), " [trait plan = \"free\" eq \"pro\" -> false; trait plan = (absent) exists -> false]");
        assert_eq!(bracket(&[]), "");
    }
}
