//! `wayfarer journeys validate|diff|apply FILE` and `wayfarer backtest FILE`: journeys as
//! code, talking to a running server's admin API.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::wire::{self, BacktestResponse, ErrorBody};

/// Where the server is and how to authenticate.
pub struct Remote {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Remote {
    pub fn new(base: &str, token: &str) -> Remote {
        Remote { base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), http: reqwest::Client::new() }
    }

    /// Calls the admin API: the answer as `T`, or the error the server gave (status and body).
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<Result<T, (u16, ErrorBody)>> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method, format!("{}/api{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(serde_json::to_vec(b)?);
        }
        let resp = req.send().await.with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        if status == 401 {
            bail!("the admin token was refused (give --token or set WAYFARER_ADMIN_TOKEN)");
        }
        if resp_ok(status) {
            return Ok(Ok(serde_json::from_slice(&bytes).with_context(|| format!("the server's answer to {path}"))?));
        }
        let error = serde_json::from_slice(&bytes).unwrap_or_else(|_| ErrorBody {
            code: "unknown".into(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
            details: None,
        });
        Ok(Err((status, error)))
    }
}

fn resp_ok(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The diagnostics in an error's `details`, if it has them.
fn error_diagnostics(e: &ErrorBody) -> Vec<wire::Diagnostic> {
    e.details.clone().and_then(|d| serde_json::from_value::<wire::DiagnosticsDetails>(d).ok()).map(|d| d.diagnostics).unwrap_or_default()
}

/// Reads a journey document from JSON or YAML (by extension).
pub fn read_document(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    if yaml {
        serde_yaml::from_str(&text).with_context(|| format!("{} is not valid YAML", path.display()))
    } else {
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
    }
}

fn diagnostics_text(diags: &[wire::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            let node = d.node.as_ref().map_or(String::new(), |n| format!(" [{n}]"));
            let severity = match d.severity {
                wire::Severity::Error => "error",
                wire::Severity::Warning => "warning",
            };
            format!("  {severity} {}{node} {}: {}", d.path, d.code, d.message)
        })
        .collect()
}

/// One value that differs, by JSON pointer (relative to the document, or to a step).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl FieldChange {
    /// `~` changed, `+` added, `-` removed.
    pub fn sign(&self) -> char {
        match (&self.old, &self.new) {
            (Some(_), Some(_)) => '~',
            (None, _) => '+',
            (Some(_), None) => '-',
        }
    }

    /// `path: old -> new`, `path: new` or `path: old`.
    pub fn describe(&self) -> String {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => format!("{}: {old} -> {new}", self.path),
            (None, Some(v)) | (Some(v), None) => format!("{}: {v}", self.path),
            (None, None) => self.path.clone(),
        }
    }
}

/// One difference between a journey document and the published version. Steps are matched
/// by their `id`, so removing one step is one removal whatever its position.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A value outside the steps (`name`, `timezone`, `entry`, `exit`, `goal`...).
    Field(FieldChange),
    /// `first`: the step the runs now start at, when the removed step was the first.
    StepRemoved { id: String, step: Value, first: Option<String> },
    /// `first`: the step is now the first (runs start there).
    StepAdded { id: String, step: Value, first: bool },
    /// A step in both versions; the paths are inside the step.
    StepChanged { id: String, fields: Vec<FieldChange> },
    /// The steps both versions have are in another order (the first step is where runs start).
    StepOrder { old: Vec<String>, new: Vec<String> },
}

impl Change {
    /// The lines that show this change.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Change::Field(c) => vec![format!("{} {}", c.sign(), c.describe())],
            Change::StepRemoved { id, step, first } => {
                let note = first.as_ref().map_or(String::new(), |next| format!(" (was the first step; runs now start at {next})"));
                vec![format!("- step {id}{note}: {}", step)]
            }
            Change::StepAdded { id, step, first } => {
                let note = if *first { " (now the first step: runs start here)" } else { "" };
                vec![format!("+ step {id}{note}: {}", step)]
            }
            Change::StepChanged { id, fields } => fields.iter().map(|c| format!("{} step {id} {}", c.sign(), c.describe())).collect(),
            Change::StepOrder { old, new } => vec![format!("~ step order: {} -> {}", old.join(", "), new.join(", "))],
        }
    }
}

/// Every difference between two JSON values, by JSON pointer under `path`; arrays by index.
fn field_changes(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                field_changes(&format!("{path}/{k}"), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                field_changes(&format!("{path}/{i}"), x.get(i), y.get(i), out);
            }
        }
        (Some(x), Some(y)) if x == y => {}
        (None, None) => {}
        (old, new) => out.push(FieldChange { path: path.to_owned(), old: old.cloned(), new: new.cloned() }),
    }
}

/// The steps of a document by id, in order; `None` when they cannot be matched by id (not a
/// list, a step without an `id`, or an `id` used twice): then they are compared by position.
fn steps_by_id(doc: &Value) -> Option<Vec<(String, &Value)>> {
    let steps = match doc.get("steps") {
        None => return Some(Vec::new()),
        Some(s) => s.as_array()?,
    };
    let mut seen = std::collections::HashSet::new();
    steps
        .iter()
        .map(|s| {
            let id = s.get("id")?.as_str()?.to_owned();
            seen.insert(id.clone()).then_some((id, s))
        })
        .collect()
}

/// Where the top-level fields come in the output: the order of docs/JOURNEYS.md, then any
/// other field alphabetically.
const FIELD_ORDER: [&str; 7] = ["id", "name", "timezone", "entry", "exit", "goal", "history"];

/// Every difference from `old` (the published version) to `new` (the file), in a stable
/// order: fields outside the steps (in the documentation's order), then removed steps, added
/// steps (each in its document's order), changed steps (in the file's order), and a change
/// of order among the steps both have.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        let mut fields = Vec::new();
        field_changes("", Some(old), Some(new), &mut fields);
        return fields.into_iter().map(Change::Field).collect();
    };
    let matched = steps_by_id(old).zip(steps_by_id(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).filter(|k| matched.is_none() || *k != "steps").collect();
    keys.sort_by_key(|k| (FIELD_ORDER.iter().position(|f| f == k).unwrap_or(FIELD_ORDER.len()), k.as_str()));
    keys.dedup();
    let mut fields = Vec::new();
    for k in keys {
        field_changes(&format!("/{k}"), a.get(k), b.get(k), &mut fields);
    }
    let mut out: Vec<Change> = fields.into_iter().map(Change::Field).collect();
    let Some((old_steps, new_steps)) = matched else { return out };
    let find = |list: &[(String, &Value)], id: &str| list.iter().position(|(i, _)| i == id);
    for (i, (id, step)) in old_steps.iter().enumerate() {
        if find(&new_steps, id).is_none() {
            let first = (i == 0).then(|| new_steps.first().map_or_else(|| "(none)".to_owned(), |(next, _)| next.clone()));
            out.push(Change::StepRemoved { id: id.clone(), step: (*step).clone(), first });
        }
    }
    for (i, (id, step)) in new_steps.iter().enumerate() {
        if find(&old_steps, id).is_none() {
            out.push(Change::StepAdded { id: id.clone(), step: (*step).clone(), first: i == 0 });
        }
    }
    for (id, step) in &new_steps {
        if let Some(before) = find(&old_steps, id).map(|i| old_steps[i].1) {
            let mut changed = Vec::new();
            field_changes("", Some(before), Some(step), &mut changed);
            if !changed.is_empty() {
                out.push(Change::StepChanged { id: id.clone(), fields: changed });
            }
        }
    }
    let common = |from: &[(String, &Value)], other: &[(String, &Value)]| -> Vec<String> {
        from.iter().filter(|(id, _)| find(other, id).is_some()).map(|(id, _)| id.clone()).collect()
    };
    let (old_order, new_order) = (common(&old_steps, &new_steps), common(&new_steps, &old_steps));
    if old_order != new_order {
        out.push(Change::StepOrder { old: old_order, new: new_order });
    }
    out
}

/// Prints the diagnostics; returns whether the document is valid.
pub async fn validate(remote: &Remote, path: &Path) -> anyhow::Result<bool> {
    let doc = read_document(path)?;
    let out: wire::Validation = match remote.call("POST", "/journeys/validate", Some(&doc)).await? {
        Ok(out) => out,
        Err((status, e)) => bail!("validation failed: {status} {}: {}", e.code, e.message),
    };
    let lines = diagnostics_text(&out.diagnostics);
    // Warnings (names no data has had yet) are shown; only errors make the document invalid.
    let valid = out.valid;
    match (valid, lines.len()) {
        (true, 0) => println!("{}: valid", path.display()),
        (true, n) => println!("{}: valid, {n} warning(s)", path.display()),
        (false, n) => println!("{}: {n} problem(s)", path.display()),
    }
    for l in lines {
        println!("{l}");
    }
    Ok(valid)
}

fn journey_id(doc: &Value) -> anyhow::Result<String> {
    doc.get("id").and_then(Value::as_str).map(str::to_owned).context("the document has no \"id\"")
}

/// The published version of journey `id` and its document, if it has one.
async fn published(remote: &Remote, id: &str) -> anyhow::Result<Option<(i64, Value)>> {
    match remote.call::<wire::JourneyView>("GET", &format!("/journeys/{id}"), None::<&()>).await? {
        Ok(journey) => Ok(journey.published.map(|p| (p.version, p.document.0))),
        Err((404, _)) => Ok(None),
        Err((status, e)) => bail!("reading journey {id}: {status} {}: {}", e.code, e.message),
    }
}

/// Prints the differences from the published version; returns whether there are none.
pub async fn diff_file(remote: &Remote, path: &Path) -> anyhow::Result<bool> {
    let doc = read_document(path)?;
    let id = journey_id(&doc)?;
    let Some((version, live)) = published(remote, &id).await? else {
        println!("journey {id} is not published: everything is new");
        return Ok(false);
    };
    let lines: Vec<String> = diff(&live, &doc).iter().flat_map(Change::lines).collect();
    if lines.is_empty() {
        println!("journey {id}: no differences from the published version ({version})");
    } else {
        println!("journey {id}: {} difference(s) from published version {version}", lines.len());
        for l in &lines {
            println!("{l}");
        }
    }
    Ok(lines.is_empty())
}

/// Validates the file and, when it has no errors, saves it as the draft and publishes it, in
/// one transaction on the server (`POST /api/journeys/{id}/apply`): an invalid file changes
/// nothing, not even the draft. Unchanged from the published version, nothing is published.
/// Returns whether it was applied; the diagnostics are printed either way.
pub async fn apply(remote: &Remote, path: &Path) -> anyhow::Result<bool> {
    let doc = read_document(path)?;
    let id = journey_id(&doc)?;
    let body = wire::ApplyRequest { document: wire::JourneyDocument(doc), in_flight: None };
    let out: wire::ApplyResponse = match remote.call("POST", &format!("/journeys/{id}/apply"), Some(&body)).await? {
        Ok(out) => out,
        Err((422, e)) => {
            println!("journey {id}: {} (the draft is unchanged)", e.message);
            for l in diagnostics_text(&error_diagnostics(&e)) {
                println!("{l}");
            }
            return Ok(false);
        }
        Err((status, e)) => bail!("applying journey {id}: {status} {}: {}", e.code, e.message),
    };
    match out.status {
        wire::ApplyStatus::Unchanged => println!("journey {id}: unchanged, nothing published"),
        wire::ApplyStatus::Published => println!("journey {id}: published version {}", out.version),
    }
    for l in diagnostics_text(&out.diagnostics) {
        println!("{l}");
    }
    Ok(true)
}

/// Replays stored events through the file's journey and prints the report.
pub async fn backtest(remote: &Remote, path: &Path, from: &str, to: &str) -> anyhow::Result<()> {
    let doc = read_document(path)?;
    let body = wire::BacktestRequest { document: wire::JourneyDocument(doc.clone()), from: from.to_owned(), to: to.to_owned() };
    eprintln!("replaying events up to {to} (this can take a while on a large log)...");
    let report: BacktestResponse = match remote.call("POST", "/journeys/backtest", Some(&body)).await? {
        Ok(report) => report,
        Err((_, e)) => bail!("backtest refused: {}\n{}", e.message, diagnostics_text(&error_diagnostics(&e)).join("\n")),
    };
    let entry_event = doc.pointer("/entry/event").and_then(Value::as_str).unwrap_or("entry");
    print!("{}", backtest_text(&journey_id(&doc)?, entry_event, &report));
    Ok(())
}

/// A backtest report as text: the period's events, what the entry events did, runs, visits,
/// messages (and those that would fail), waiting runs, exits and sample paths.
pub fn backtest_text(id: &str, entry_event: &str, r: &BacktestResponse) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "backtest of {id} from {} to {}", r.from, r.to);
    let _ = writeln!(out, "events: {} in the period ({} before it, replayed as warm-up)", r.events, r.warmup_events);
    if let Some(e) = &r.entries {
        let _ = writeln!(
            out,
            "entry events ({entry_event:?}): {}; entered {}, filter false {}, run already waiting {}, re-entry refused {}, limit reached {}{}",
            e.events,
            e.entered,
            e.filtered,
            e.waiting,
            e.reentry,
            e.limit,
            if e.unexplained > 0 { format!(", unexplained {}", e.unexplained) } else { String::new() }
        );
        if !e.filter_reasons.is_empty() {
            let _ = writeln!(out, "commonest false filter comparisons:");
            for reason in &e.filter_reasons {
                let _ = writeln!(out, "  {:>8}  {}", reason.count, reason.comparison);
            }
        }
    }
    let _ = writeln!(out, "runs: {}  (control group: {}, conversions: {})", r.runs, r.control_group, r.conversions);
    for (title, map) in [
        ("step visits", &r.visits),
        ("messages", &r.sends),
        ("messages that would fail", &r.failed),
        ("still waiting", &r.waiting),
        ("exits", &r.exits),
    ] {
        if !map.is_empty() {
            let _ = writeln!(out, "{title}:");
            for (k, v) in map {
                let _ = writeln!(out, "  {v:>8}  {k}");
            }
        }
    }
    if !r.samples.is_empty() {
        let _ = writeln!(out, "sample paths:");
        for s in &r.samples {
            let _ = writeln!(out, "  {}", s.person);
            for step in &s.path {
                let _ = writeln!(out, "    {step}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(old: &Value, new: &Value) -> Vec<String> {
        diff(old, new).iter().flat_map(Change::lines).collect()
    }

    fn journey() -> Value {
        json!({"id": "j", "name": "J", "entry": {"event": "Signed Up"}, "exit": [{"event": "Left"}], "steps": [
            {"id": "a", "type": "wait", "duration": "1d", "next": "b"},
            {"id": "b", "type": "send", "template": "t", "next": "c"},
            {"id": "c", "type": "wait", "duration": "3d", "next": "d"},
            {"id": "d", "type": "send", "template": "u"},
        ]})
    }

    #[test]
    fn removing_the_first_step_is_one_removal() {
        let old = journey();
        let mut new = journey();
        new["steps"].as_array_mut().expect("steps").remove(0);
        assert_eq!(
            lines(&old, &new),
            [r#"- step a (was the first step; runs now start at b): {"duration":"1d","id":"a","next":"b","type":"wait"}"#]
        );
        assert!(lines(&old, &old).is_empty());
    }

    #[test]
    fn a_step_in_the_middle_removed_shows_the_removal_and_the_next_that_changed() {
        let old = journey();
        let mut new = journey();
        new["steps"].as_array_mut().expect("steps").remove(2);
        new["steps"][1]["next"] = json!("d");
        assert_eq!(
            lines(&old, &new),
            [r#"- step c: {"duration":"3d","id":"c","next":"d","type":"wait"}"#, r#"~ step b /next: "c" -> "d""#]
        );
    }

    #[test]
    fn changes_are_listed_fields_first_then_removed_added_and_changed_steps() {
        let old = journey();
        let mut new = journey();
        new["timezone"] = json!("Europe/Paris");
        new["name"] = json!("J2");
        new["entry"]["filter"] = json!({"property": "plan", "op": "eq", "value": "pro"});
        new["exit"] = json!([]);
        new["goal"] = json!({"event": "Paid"});
        let steps = new["steps"].as_array_mut().expect("steps");
        steps[3].as_object_mut().expect("step").remove("template");
        steps[3]["next"] = json!("e");
        steps[1]["template"] = json!("t2");
        steps.remove(0);
        steps.insert(0, json!({"id": "z", "type": "wait", "duration": "2d", "next": "b"}));
        steps.push(json!({"id": "e", "type": "exit"}));
        assert_eq!(
            lines(&old, &new),
            [
                r#"~ /name: "J" -> "J2""#,
                r#"+ /timezone: "Europe/Paris""#,
                r#"+ /entry/filter: {"op":"eq","property":"plan","value":"pro"}"#,
                r#"- /exit/0: {"event":"Left"}"#,
                r#"+ /goal: {"event":"Paid"}"#,
                r#"- step a (was the first step; runs now start at z): {"duration":"1d","id":"a","next":"b","type":"wait"}"#,
                r#"+ step z (now the first step: runs start here): {"duration":"2d","id":"z","next":"b","type":"wait"}"#,
                r#"+ step e: {"id":"e","type":"exit"}"#,
                r#"~ step b /template: "t" -> "t2""#,
                r#"+ step d /next: "e""#,
                r#"- step d /template: "u""#,
            ]
        );
    }

    #[test]
    fn a_new_order_of_the_same_steps_is_a_change() {
        let old = journey();
        let mut new = journey();
        new["steps"].as_array_mut().expect("steps").swap(0, 1);
        assert_eq!(lines(&old, &new), ["~ step order: a, b, c, d -> b, a, c, d"]);
    }

    #[test]
    fn steps_without_unique_ids_are_compared_by_position() {
        let old = json!({"id": "j", "steps": [{"id": "a", "timeout": "3d"}, {"id": "a"}]});
        let new = json!({"id": "j", "steps": [{"id": "a", "timeout": "5d"}], "goal": {"event": "X"}});
        assert_eq!(lines(&old, &new), ["+ /goal: {\"event\":\"X\"}", "~ /steps/0/timeout: \"3d\" -> \"5d\"", "- /steps/1: {\"id\":\"a\"}"]);
    }

    #[test]
    fn a_backtest_report_says_what_the_entry_events_did_and_what_would_fail() {
        let report: BacktestResponse = serde_json::from_value(json!({
            "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z", "events": 12, "warmup_events": 30,
            "runs": 1, "control_group": 0, "conversions": 0, "visits": {"greet": 1}, "waiting": {}, "sends": {"hi": 1},
            "failed": {"the person has no \"email\" trait": 1}, "exits": {"completed": 1},
            "entries": {"events": 5, "entered": 1, "filtered": 3, "waiting": 1, "reentry": 0, "limit": 0, "unexplained": 0,
                "filter_reasons": [{"comparison": "property path = \"/blog\" starts_with \"/products/\" -> false", "count": 2}]},
            "samples": [],
        }))
        .expect("report");
        let text = backtest_text("hello", "Page Viewed", &report);
        assert_eq!(
            text,
            "backtest of hello from 2030-01-01T00:00:00Z to 2030-01-02T00:00:00Z
events: 12 in the period (30 before it, replayed as warm-up)
entry events (\"Page Viewed\"): 5; entered 1, filter false 3, run already waiting 1, re-entry refused 0, limit reached 0
commonest false filter comparisons:
         2  property path = \"/blog\" starts_with \"/products/\" -> false
runs: 1  (control group: 0, conversions: 0)
step visits:
         1  greet
messages:
         1  hi
messages that would fail:
         1  the person has no \"email\" trait
exits:
         1  completed
"
        );
    }
}
