//! The admin API under `/api/` (bearer token): sources, templates, journeys, profiles,
//! messages, and the manual clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use domain::ids::{Identity, JourneyId, ProfileId, RunId, SourceId, TemplateId};
use domain::journey::{Diagnostic, Journey, Severity, is_slug};
use domain::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{JourneyState, JourneyStatus, NameKind, OutboxEntry, OutboxStatus, Source, StoredEvent, Template, Tx};

use crate::app::{App, new_token};
use crate::error::{ApiError, Code};

type ApiResult = Result<Json<Value>, ApiError>;

fn ts(t: Timestamp) -> String {
    t.to_string()
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidRequest, message)
}

// ---- sources ----

#[derive(Deserialize)]
pub struct NewSource {
    id: String,
}

pub async fn create_source(State(app): State<Arc<App>>, body: Json<NewSource>) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !is_slug(&body.id) {
        return Err(bad_request("a source id is 1-100 characters of a-z, 0-9, - and _"));
    }
    if engine::is_reserved_source(&SourceId(body.id.clone())) {
        return Err(bad_request(format!("the source id {:?} is reserved for events Wayfarer makes itself", body.id)));
    }
    let source =
        Source { id: SourceId(body.id.clone()), write_key: new_token().replacen("wf_", "wk_", 1), created_at: app.engine.clock().now() };
    let s = source.clone();
    app.write(move |tx| Ok(tx.create_source(&s)?)).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": source.id, "write_key": source.write_key, "created_at": ts(source.created_at)}))))
}

pub async fn list_sources(State(app): State<Arc<App>>) -> ApiResult {
    let sources = app.read(|tx| Ok(tx.sources()?)).await?;
    let items: Vec<_> = sources.iter().map(|s| json!({"id": s.id, "write_key": s.write_key, "created_at": ts(s.created_at)})).collect();
    Ok(Json(json!({"sources": items})))
}

// ---- templates ----

#[derive(Deserialize)]
pub struct TemplateBody {
    subject: String,
    #[serde(default)]
    html: String,
    #[serde(default)]
    text: String,
}

fn template_json(t: &Template) -> Value {
    json!({"id": t.id, "subject": t.subject, "html": t.html, "text": t.text, "updated_at": ts(t.updated_at)})
}

/// Checks each part before it is stored: it parses as Liquid, and reads only variables that
/// templates have (`deliver::VARIABLES`) or that it defines itself (`assign`, `capture`, loops).
pub async fn put_template(State(app): State<Arc<App>>, Path(id): Path<String>, body: Json<TemplateBody>) -> ApiResult {
    if !is_slug(&id) {
        return Err(bad_request("a template id is 1-100 characters of a-z, 0-9, - and _"));
    }
    let problems: Vec<(&str, String)> = [("subject", &body.subject), ("html", &body.html), ("text", &body.text)]
        .into_iter()
        .filter_map(|(part, src)| match app.renderer.check(src) {
            Err(e) => Some((part, format!("does not parse as Liquid: {}", e.trim_end()))),
            Ok(()) => unknown_variables_message(&[src]).map(|m| (part, m)),
        })
        .collect();
    if !problems.is_empty() {
        let said: Vec<String> = problems.iter().map(|(part, message)| format!("{part} {message}")).collect();
        let details: Vec<Value> = problems.iter().map(|(part, message)| json!({"part": part, "message": message})).collect();
        return Err(ApiError::new(Code::TemplateInvalid, format!("the template is not valid: {}", said.join("; ")))
            .with_details(json!({"problems": details})));
    }
    if body.html.is_empty() && body.text.is_empty() {
        return Err(ApiError::new(Code::TemplateInvalid, "a template needs \"html\", \"text\" or both"));
    }
    let t = Template {
        id: TemplateId(id),
        subject: body.subject.clone(),
        html: body.html.clone(),
        text: body.text.clone(),
        updated_at: app.engine.clock().now(),
    };
    let out = template_json(&t);
    app.write(move |tx| Ok(tx.put_template(&t)?)).await?;
    Ok(Json(out))
}

pub async fn get_template(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let t =
        app.read(move |tx| tx.template(&TemplateId(id.clone()))?.ok_or_else(|| ApiError::not_found(format!("template {id:?}")))).await?;
    Ok(Json(template_json(&t)))
}

pub async fn list_templates(State(app): State<Arc<App>>) -> ApiResult {
    let all = app.read(|tx| Ok(tx.templates()?)).await?;
    Ok(Json(json!({"templates": all.iter().map(template_json).collect::<Vec<_>>()})))
}

// ---- journeys ----

/// "uses x, which templates do not have (they have traits, ...)" when `sources` read variables
/// templates do not have.
fn unknown_variables_message(sources: &[&str]) -> Option<String> {
    let mut unknown: Vec<String> =
        sources.iter().flat_map(|s| deliver::variables(s)).filter(|v| !deliver::VARIABLES.contains(&v.as_str())).collect();
    unknown.sort();
    unknown.dedup();
    (!unknown.is_empty())
        .then(|| format!("uses {}, which templates do not have (they have {})", unknown.join(", "), deliver::VARIABLES.join(", ")))
}

fn unknown_variables(node: &str, path: String, what: &str, sources: &[&str]) -> Option<Diagnostic> {
    unknown_variables_message(sources).map(|message| Diagnostic {
        node: Some(node.to_owned()),
        path,
        code: "unknown_template_variable".into(),
        severity: Severity::Error,
        message: format!("{what} {message}"),
    })
}

/// Every diagnostic of a document: its own, plus templates that do not exist and template
/// variables that templates do not have.
fn diagnose(tx: &mut dyn Tx, doc: &Value) -> Result<Vec<Diagnostic>, ApiError> {
    let j = match Journey::parse(doc) {
        Err(diags) => return Ok(diags),
        Ok(j) => j,
    };
    let mut out = Vec::new();
    for (i, step) in j.steps.iter().enumerate() {
        match &step.kind {
            domain::journey::StepKind::Send { template, .. } => match tx.template(template)? {
                None => out.push(Diagnostic {
                    node: Some(step.id.0.clone()),
                    path: format!("/steps/{i}/template"),
                    code: "unknown_template".into(),
                    severity: Severity::Error,
                    message: format!("template {:?} does not exist; create it with PUT /api/templates/{}", template.0, template.0),
                }),
                Some(t) => out.extend(unknown_variables(
                    &step.id.0,
                    format!("/steps/{i}/template"),
                    &format!("template {:?}", template.0),
                    &[&t.subject, &t.html, &t.text],
                )),
            },
            domain::journey::StepKind::Webhook { body: Some(body), .. } => {
                let mut strings = Vec::new();
                collect_strings(body, &mut strings);
                let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
                out.extend(unknown_variables(&step.id.0, format!("/steps/{i}/body"), "the webhook body", &refs));
            }
            _ => {}
        }
    }
    // Names no data has had yet are most likely typos: warnings, not errors.
    let events = tx.seen_names(NameKind::Event)?.into_iter().collect();
    let traits = tx.seen_names(NameKind::Trait)?.into_iter().collect();
    out.extend(j.unseen(&events, &traits));
    Ok(out)
}

/// Whether diagnostics allow publishing: warnings do.
fn no_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().all(|d| d.severity == Severity::Warning)
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

fn doc_id(doc: &Value) -> Result<String, ApiError> {
    match doc.get("id").and_then(Value::as_str) {
        Some(id) if is_slug(id) => Ok(id.to_owned()),
        _ => Err(ApiError::new(Code::JourneyInvalid, "a journey document needs an \"id\" of a-z, 0-9, - and _")
            .with_details(json!({"diagnostics": [{"path": "/id", "code": "invalid_id", "severity": "error", "message": "\"id\" must be 1-100 characters of a-z, 0-9, - and _"}]}))),
    }
}

pub async fn validate_journey(State(app): State<Arc<App>>, Json(doc): Json<Value>) -> ApiResult {
    let diags = app.read(move |tx| diagnose(tx, &doc)).await?;
    Ok(Json(json!({"valid": no_errors(&diags), "diagnostics": diags})))
}

pub async fn create_journey(State(app): State<Arc<App>>, Json(doc): Json<Value>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = JourneyId(doc_id(&doc)?);
    let now = app.engine.clock().now();
    let diags = app
        .write(move |tx| {
            if tx.journey(&id)?.is_some() {
                return Err(ApiError::new(
                    Code::Conflict,
                    format!("journey {:?} already exists; PUT /api/journeys/{} to edit its draft", id.0, id.0),
                ));
            }
            tx.save_draft(&id, &doc, now)?;
            diagnose(tx, &doc)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"status": "draft", "valid": no_errors(&diags), "diagnostics": diags}))))
}

pub async fn put_journey(State(app): State<Arc<App>>, Path(id): Path<String>, Json(doc): Json<Value>) -> ApiResult {
    if doc_id(&doc)? != id {
        return Err(bad_request(format!("the document's \"id\" must be {id:?}, as in the URL")));
    }
    let now = app.engine.clock().now();
    let diags = app
        .write(move |tx| {
            tx.save_draft(&JourneyId(id), &doc, now)?;
            diagnose(tx, &doc)
        })
        .await?;
    Ok(Json(json!({"status": "draft", "valid": no_errors(&diags), "diagnostics": diags})))
}

pub async fn get_journey(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let (record, published) = app
        .read(move |tx| {
            let jid = JourneyId(id.clone());
            let record = tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {id:?}")))?;
            let published = match record.published_version {
                Some(v) => tx.journey_version(&jid, v)?,
                None => None,
            };
            Ok((record, published))
        })
        .await?;
    Ok(Json(json!({
        "id": record.id,
        "status": status(record.status),
        "state": record.state.as_str(),
        "published_version": record.published_version,
        "draft": record.draft,
        "published": published.map(|p| json!({"version": p.version, "document": p.document, "published_at": ts(p.published_at)})),
        "updated_at": ts(record.updated_at),
    })))
}

fn status(s: JourneyStatus) -> &'static str {
    match s {
        JourneyStatus::Draft => "draft",
        JourneyStatus::Published => "published",
    }
}

pub async fn list_journeys(State(app): State<Arc<App>>) -> ApiResult {
    let all = app.read(|tx| Ok(tx.journeys()?)).await?;
    let items: Vec<_> = all
        .iter()
        .map(|j| {
            json!({"id": j.id, "name": j.draft.get("name").and_then(Value::as_str).unwrap_or(&j.id.0), "status": status(j.status), "state": j.state.as_str(),
                   "published_version": j.published_version, "updated_at": ts(j.updated_at)})
        })
        .collect();
    Ok(Json(json!({"journeys": items})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    /// `stay`: in-flight runs finish on the version they started on (the default).
    /// `move`: they continue on the new version, at the same step.
    #[serde(default)]
    in_flight: Option<String>,
}

/// Publishes the draft as a new immutable version. With `{"in_flight": "move"}` waiting runs
/// move to it, and a step they wait at that the new version lacks is a diagnostic.
pub async fn publish_journey(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult {
    let empty = body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null";
    let body: PublishBody = if empty {
        PublishBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("publish takes {{\"in_flight\": \"stay\" | \"move\"}}: {e}")))?
    };
    let move_runs = in_flight_moves(body.in_flight.as_deref())?;
    let now = app.engine.clock().now();
    let journey = JourneyId(id.clone());
    let (version, warnings) = app.write(move |tx| publish_draft(tx, &JourneyId(id), move_runs, now)).await?;
    app.engine.reload_journeys().await?;
    let moved = if move_runs { app.engine.runs(journey, engine::RunsAction::MoveTo(version)).await? } else { 0 };
    Ok(Json(json!({"status": "published", "version": version, "moved_runs": moved, "diagnostics": warnings})))
}

fn in_flight_moves(in_flight: Option<&str>) -> Result<bool, ApiError> {
    match in_flight {
        None | Some("stay") => Ok(false),
        Some("move") => Ok(true),
        Some(other) => Err(bad_request(format!("in_flight is \"stay\" or \"move\", not {other:?}"))),
    }
}

/// Publishes the stored draft of `jid` in `tx`, or refuses with every error (then the caller's
/// transaction is not committed). Returns the version and the warnings.
fn publish_draft(tx: &mut dyn Tx, jid: &JourneyId, move_runs: bool, now: Timestamp) -> Result<(i64, Vec<Diagnostic>), ApiError> {
    let id = &jid.0;
    let record = tx.journey(jid)?.ok_or_else(|| ApiError::not_found(format!("journey {id:?}")))?;
    let mut diags = diagnose(tx, &record.draft)?;
    if move_runs && no_errors(&diags) {
        let steps: Vec<&str> = record.draft["steps"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
        let mut stranded: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for r in tx.journey_runs(jid)?.into_iter().filter(|r| r.run.status == domain::journey::RunStatus::Waiting) {
            if let Some(node) = r.run.node.filter(|n| !steps.contains(&n.as_str())) {
                *stranded.entry(node.0).or_default() += 1;
            }
        }
        for (node, runs) in stranded {
            diags.push(Diagnostic {
                node: Some(node.clone()),
                path: "/steps".into(),
                code: "step_missing_for_runs".into(),
                severity: Severity::Error,
                message: format!("{runs} waiting run(s) are at step {node:?}, which the new version does not have; keep it, or publish with in_flight \"stay\""),
            });
        }
    }
    if !no_errors(&diags) {
        diags.retain(|d| d.severity == Severity::Error);
        return Err(ApiError::new(Code::JourneyInvalid, format!("journey {id:?} has {} problem(s); nothing was published", diags.len()))
            .with_details(json!({"diagnostics": diags})));
    }
    Ok((tx.publish(jid, now)?, diags))
}

/// `POST /api/journeys/{id}/apply`: a journey document, and what to do with in-flight runs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    document: Value,
    /// As for publish: `stay` (the default) or `move`.
    #[serde(default)]
    in_flight: Option<String>,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStatus {
    /// The document was saved as the draft and published as `version`.
    Published,
    /// The document equals the published `version`: nothing changed.
    Unchanged,
}

#[derive(Serialize)]
pub struct ApplyResponse {
    status: ApplyStatus,
    version: i64,
    moved_runs: usize,
    /// Warnings (errors refuse the document).
    diagnostics: Vec<Diagnostic>,
}

/// Journeys as code: validates a document and, when it has no errors, saves it as the draft
/// and publishes it, in one transaction. A document with errors changes nothing (the draft
/// stays as it was) and gets 422 with every error; so does a publish that would strand
/// in-flight runs. A document equal to the published version publishes nothing.
pub async fn apply_journey(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Json(body): Json<ApplyRequest>,
) -> Result<Json<ApplyResponse>, ApiError> {
    if doc_id(&body.document)? != id {
        return Err(bad_request(format!("the document's \"id\" must be {id:?}, as in the URL")));
    }
    let move_runs = in_flight_moves(body.in_flight.as_deref())?;
    let now = app.engine.clock().now();
    let jid = JourneyId(id);
    let doc = body.document;
    let journey = jid.clone();
    let applied = app
        .write(move |tx| {
            let mut diags = diagnose(tx, &doc)?;
            if !no_errors(&diags) {
                diags.retain(|d| d.severity == Severity::Error);
                let message = format!("journey {:?} has {} problem(s); nothing was saved or published", jid.0, diags.len());
                return Err(ApiError::new(Code::JourneyInvalid, message).with_details(json!({"diagnostics": diags})));
            }
            let live = match tx.journey(&jid)?.and_then(|r| r.published_version) {
                Some(v) => tx.journey_version(&jid, v)?,
                None => None,
            };
            if let Some(live) = live.filter(|l| l.document == doc) {
                return Ok((ApplyStatus::Unchanged, live.version, diags));
            }
            tx.save_draft(&jid, &doc, now)?;
            let (version, warnings) = publish_draft(tx, &jid, move_runs, now)?;
            Ok((ApplyStatus::Published, version, warnings))
        })
        .await?;
    let (status, version, diagnostics) = applied;
    let mut moved_runs = 0;
    if status == ApplyStatus::Published {
        app.engine.reload_journeys().await?;
        if move_runs {
            moved_runs = app.engine.runs(journey, engine::RunsAction::MoveTo(version)).await?;
        }
    }
    Ok(Json(ApplyResponse { status, version, moved_runs, diagnostics }))
}

#[derive(Deserialize, Default)]
pub struct StopBody {
    reason: Option<String>,
}

async fn set_state(app: &Arc<App>, id: String, state: JourneyState) -> Result<(), ApiError> {
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let jid = JourneyId(id.clone());
        let record = tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {id:?}")))?;
        if record.published_version.is_none() {
            return Err(ApiError::new(Code::Conflict, format!("journey {id:?} is a draft; publish it first")));
        }
        Ok(tx.set_journey_state(&jid, state, now)?)
    })
    .await?;
    app.engine.reload_journeys().await?;
    Ok(())
}

/// Pause: no new entries; runs in flight go on.
pub async fn pause_journey(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    set_state(&app, id, JourneyState::Paused).await?;
    Ok(Json(json!({"state": "paused"})))
}

pub async fn resume_journey(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    set_state(&app, id, JourneyState::Active).await?;
    Ok(Json(json!({"state": "active"})))
}

/// Stop: no new entries, and every waiting run exits with the reason. Publishing again
/// makes the journey active.
pub async fn stop_journey(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult {
    let body: StopBody = serde_json::from_slice(&body).unwrap_or_default();
    let jid = JourneyId(id.clone());
    app.read(move |tx| match tx.journey(&jid)? {
        None => Err(ApiError::not_found(format!("journey {:?}", jid.0))),
        Some(r) if r.published_version.is_none() => {
            Err(ApiError::new(Code::Conflict, format!("journey {:?} is a draft; publish it first", jid.0)))
        }
        Some(_) => Ok(()),
    })
    .await?;
    let reason = format!("journey stopped{}", body.reason.map_or(String::new(), |r| format!(": {r}")));
    let stopped = app.engine.runs(JourneyId(id), engine::RunsAction::Stop(reason)).await?;
    Ok(Json(json!({"state": "stopped", "stopped_runs": stopped})))
}

/// Every run of a journey (position, status, times), oldest first.
pub async fn journey_runs(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let runs = app.read(move |tx| Ok(tx.journey_runs(&JourneyId(id))?)).await?;
    let items: Vec<_> = runs
        .iter()
        .map(|r| {
            json!({"run_id": r.id, "profile_id": r.profile, "version": r.run.version,
                "status": r.run.status.as_str(),
                "node": r.run.node, "wake_at": r.run.wake_at.map(ts), "exit_reason": r.run.exit_reason, "control_group": r.run.control,
                "converted_at": r.run.converted_at.map(ts), "entered_at": ts(r.run.entered_at), "updated_at": ts(r.run.updated_at)})
        })
        .collect();
    Ok(Json(json!({"runs": items})))
}

#[derive(Deserialize)]
pub struct EnterBody {
    user_id: Option<String>,
    anonymous_id: Option<String>,
    #[serde(default)]
    payload: domain::Map,
}

/// Enters a person (by `user_id` or `anonymous_id`; created if new) into a journey whose
/// entry is `{"api": true}`; `payload` is what templates see as `event`.
pub async fn enter_journey(State(app): State<Arc<App>>, Path(id): Path<String>, Json(body): Json<EnterBody>) -> ApiResult {
    let identity = match (body.user_id, body.anonymous_id) {
        (Some(u), _) => Identity::UserId(u),
        (None, Some(a)) => Identity::AnonymousId(a),
        (None, None) => return Err(bad_request("give \"user_id\" or \"anonymous_id\"")),
    };
    let jid = JourneyId(id.clone());
    let published = app
        .read(move |tx| {
            let live = tx.published()?.into_iter().find(|v| v.id == jid);
            live.ok_or_else(|| ApiError::not_found(format!("a published journey {:?}", jid.0)))
        })
        .await?;
    let api_entry = published.document.get("entry").and_then(|e| e.get("api")).and_then(Value::as_bool) == Some(true);
    if !api_entry {
        return Err(ApiError::new(Code::Conflict, format!("journey {id:?} is not entered by API: its entry needs \"api\": true")));
    }
    let entered = app.engine.enter(JourneyId(id), identity, body.payload).await?;
    let why = (!entered).then_some("not entered: the person is in this journey already, or its re-entry rule or entry limit says no");
    Ok(Json(json!({"entered": entered, "note": why})))
}

#[derive(Deserialize)]
pub struct BacktestBody {
    document: Value,
    from: String,
    to: String,
}

/// Replays the stored events up to `to` through a journey document (a draft need not be
/// saved), published at `from`, with a simulated clock, and reports for the period the events,
/// per-step visits, sends and the messages that would fail (rendered, not sent), exits, goals,
/// what the entry events did and sample paths. Nothing is sent and nothing live changes.
pub async fn backtest(State(app): State<Arc<App>>, Json(body): Json<BacktestBody>) -> Result<Json<BacktestResponse>, ApiError> {
    let parse = |name: &str, v: &str| Timestamp::parse(v).ok_or_else(|| bad_request(format!("{name} {v:?} is not an RFC 3339 instant")));
    let (from, to) = (parse("from", &body.from)?, parse("to", &body.to)?);
    if to < from {
        return Err(bad_request("\"to\" is before \"from\""));
    }
    let doc = body.document.clone();
    let mut diags = app.read(move |tx| diagnose(tx, &doc)).await?;
    if !no_errors(&diags) {
        diags.retain(|d| d.severity == Severity::Error);
        return Err(
            ApiError::new(Code::JourneyInvalid, "fix the journey before backtesting it").with_details(json!({"diagnostics": diags}))
        );
    }
    let scratch = std::env::temp_dir().join(format!("wayfarer-backtest-{}", new_token()));
    std::fs::create_dir_all(&scratch).map_err(|e| ApiError::new(Code::Internal, format!("scratch directory: {e}")))?;
    let progress = |done: usize, total: usize| {
        if total >= 10 && done.is_multiple_of((total / 10).max(1)) {
            tracing::info!(done, total, "backtest progress");
        }
    };
    let result = engine::backtest::run(app.store.clone(), &body.document, from, to, &scratch, &progress).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let event_entry = matches!(Journey::parse(&body.document).map(|j| j.entry.trigger), Ok(domain::journey::Trigger::Event(_)));
    Ok(Json(BacktestResponse::new(result?, from, to, event_entry)))
}

/// What `POST /api/journeys/backtest` answers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct BacktestResponse {
    pub from: String,
    pub to: String,
    /// Events received in `[from, to]`, all people.
    pub events: usize,
    /// Events received before `from`, replayed first so that profiles and history are as they
    /// were when the period began.
    pub warmup_events: usize,
    /// Runs entered in the period.
    pub runs: usize,
    pub control_group: usize,
    pub conversions: usize,
    /// How many times runs reached each step.
    pub visits: BTreeMap<String, usize>,
    /// Runs still waiting at `to`, by step.
    pub waiting: BTreeMap<String, usize>,
    /// Messages decided, by template (emails) or URL (webhooks).
    pub sends: BTreeMap<String, usize>,
    /// Messages that failed or would fail (a backtest dispatches them without sending), by reason.
    pub failed: BTreeMap<String, usize>,
    /// Ended runs, by reason.
    pub exits: BTreeMap<String, usize>,
    /// The period's entry events and why some started no run; `null` for a journey not
    /// entered by an event.
    pub entries: Option<BacktestEntries>,
    pub samples: Vec<BacktestSample>,
}

/// The entry events of a backtest's period (events with the entry's name).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BacktestEntries {
    pub events: usize,
    pub entered: usize,
    /// The entry filter was false.
    pub filtered: usize,
    /// The commonest comparisons that made the filter false, with the values seen.
    pub filter_reasons: Vec<FilterReason>,
    /// The person's run was waiting (the entry is not concurrent).
    pub waiting: usize,
    /// The re-entry rule said no.
    pub reentry: usize,
    /// The entry limit was reached.
    pub limit: usize,
    pub unexplained: usize,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FilterReason {
    pub comparison: String,
    pub count: usize,
}

/// One person's runs, transition by transition.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BacktestSample {
    pub person: String,
    pub path: Vec<String>,
}

impl BacktestResponse {
    fn new(r: engine::backtest::Report, from: Timestamp, to: Timestamp, event_entry: bool) -> BacktestResponse {
        let e = r.entries;
        let entries = event_entry.then(|| BacktestEntries {
            events: e.events,
            entered: e.entered,
            filtered: e.filtered,
            filter_reasons: e.filter_reasons.into_iter().map(|(comparison, count)| FilterReason { comparison, count }).collect(),
            waiting: e.waiting,
            reentry: e.reentry,
            limit: e.limit,
            unexplained: e.unexplained,
        });
        BacktestResponse {
            from: ts(from),
            to: ts(to),
            events: r.events,
            warmup_events: r.warmup_events,
            runs: r.runs,
            control_group: r.control,
            conversions: r.conversions,
            visits: r.visits,
            waiting: r.waiting,
            sends: r.sends,
            failed: r.failed,
            exits: r.exits,
            entries,
            samples: r.samples.into_iter().map(|(person, path)| BacktestSample { person, path }).collect(),
        }
    }
}

// ---- profiles ----

#[derive(Deserialize)]
pub struct LookupQuery {
    user_id: Option<String>,
    anonymous_id: Option<String>,
}

fn event_json(e: &StoredEvent) -> Value {
    let ev = &e.event;
    json!({
        "seq": e.seq, "source": e.source, "type": ev.kind.as_str(), "name": ev.match_name(), "message_id": ev.message_id,
        "timestamp": ts(ev.timestamp), "received_at": ts(ev.received_at), "user_id": ev.user_id, "anonymous_id": ev.anonymous_id,
        "properties": ev.properties, "traits": ev.traits,
    })
}

pub fn message_json(m: &OutboxEntry) -> Value {
    let (template, url) = match &m.payload.effect {
        domain::journey::Effect::Send { template, .. } => (Some(template.as_str()), None),
        domain::journey::Effect::Webhook { url, .. } => (None, Some(url.as_str())),
        domain::journey::Effect::Update { .. } => (None, None),
    };
    let note = match m.status {
        OutboxStatus::Captured => Some("captured: no channel is configured, so this message was rendered and kept, NOT delivered"),
        OutboxStatus::Pending if m.attempts > 0 => Some("waiting for a retry"),
        _ => None,
    };
    json!({
        "id": m.id, "idempotency_key": m.key, "profile_id": m.profile, "run_id": m.run, "channel": m.channel,
        "status": m.status.as_str(), "delivered": m.status == OutboxStatus::Sent, "note": note,
        "to": m.payload.to, "template": template, "url": url, "node": m.payload.effect.node(),
        "attempts": m.attempts, "next_attempt_at": (m.status == OutboxStatus::Pending).then(|| ts(m.next_attempt_at)),
        "last_error": m.last_error, "message": m.result, "created_at": ts(m.created_at), "updated_at": ts(m.updated_at),
    })
}

/// A run with its position and its full trace.
fn run_json(tx: &mut dyn Tx, r: &store::RunRecord) -> Result<Value, ApiError> {
    let trace: Vec<_> = tx.traces(r.id)?.iter().map(|t| json!({"seq": t.seq, "at": ts(t.at), "lines": t.lines})).collect();
    let run = &r.run;
    Ok(json!({
        "run_id": r.id, "journey": run.journey, "version": run.version,
        "status": run.status.as_str(),
        "node": run.node, "wake_at": run.wake_at.map(ts), "exit_reason": run.exit_reason,
        "entered_at": ts(run.entered_at), "updated_at": ts(run.updated_at), "trace": trace,
        "control_group": run.control, "converted_at": run.converted_at.map(ts), "assignments": run.assignments,
        "key": run.key, "variables": run.vars,
    }))
}

/// One of a person's recent entry events in `GET /api/profiles/{id}/journeys`, and what it
/// did at entry (judged as of when it came).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RecentEntry {
    /// The event's time, as sent.
    pub at: String,
    pub received_at: String,
    pub message_id: String,
    pub verdict: EntryVerdict,
    /// The verdict in a sentence, with the values seen.
    pub detail: String,
    /// The run it started (`entered`), or the earlier run that kept it out (`waiting`,
    /// `reentry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    /// `filtered`: each comparison the entry filter made, with the value seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<String>,
}

/// What an entry event did.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EntryVerdict {
    /// A run started from it.
    Entered,
    /// The entry filter was false.
    Filtered,
    /// The person's run was waiting and the entry is not concurrent.
    Waiting,
    /// The re-entry rule said no.
    Reentry,
    /// The journey's entry limit was reached.
    Limit,
    /// The journey is keyed (`entry.key`) and the event had no key property.
    NoKey,
    /// It came before the journey was first published.
    NotLive,
    /// Nothing in the store explains it (the journey may have been paused then).
    Unexplained,
}

impl From<&engine::explain::RecentEntry> for RecentEntry {
    fn from(e: &engine::explain::RecentEntry) -> RecentEntry {
        use engine::explain::EntryVerdict as V;
        let (verdict, run_id, comparisons) = match &e.verdict {
            V::Entered { run } => (EntryVerdict::Entered, Some(*run), Vec::new()),
            V::Filtered { comparisons, .. } => (EntryVerdict::Filtered, None, comparisons.clone()),
            V::NoKey { .. } => (EntryVerdict::NoKey, None, Vec::new()),
            V::Waiting { run, .. } => (EntryVerdict::Waiting, Some(*run), Vec::new()),
            V::Reentry { run, .. } => (EntryVerdict::Reentry, Some(*run), Vec::new()),
            V::Limit(_) => (EntryVerdict::Limit, None, Vec::new()),
            V::NotLive { .. } => (EntryVerdict::NotLive, None, Vec::new()),
            V::Unexplained => (EntryVerdict::Unexplained, None, Vec::new()),
        };
        RecentEntry {
            at: ts(e.at),
            received_at: ts(e.received_at),
            message_id: e.message_id.0.clone(),
            verdict,
            detail: e.detail(),
            run_id,
            comparisons,
        }
    }
}

/// Each published journey for one person: their runs with position and trace, and, when
/// they are not in it, why not (with the values seen); for journeys entered by an event, what
/// each of their latest entry events did (`recent_entries`, newest first).
pub async fn profile_journeys(State(app): State<Arc<App>>, Path(id): Path<i64>) -> ApiResult {
    let now = app.engine.clock().now();
    let out = app
        .read(move |tx| {
            let profile = tx.canonical(ProfileId(id))?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
            let runs = tx.runs_of(profile)?;
            let mut journeys = Vec::new();
            for record in tx.journeys()? {
                let Some(version) = record.published_version else { continue };
                let Some(live) = tx.journey_version(&record.id, version)? else { continue };
                let mine: Vec<&store::RunRecord> = runs.iter().filter(|r| r.run.journey == record.id).collect();
                let waiting = mine.iter().any(|r| r.run.status == domain::journey::RunStatus::Waiting);
                let parsed = Journey::parse(&live.document);
                let why_not = match (waiting, &parsed) {
                    (true, _) => None,
                    (false, Ok(j)) => Some(engine::explain::why_not_entered(tx, j, version, record.state.as_str(), live.published_at, profile, now)?),
                    (false, Err(_)) => Some("the published version does not parse".to_owned()),
                };
                let recent: Option<Vec<RecentEntry>> = match &parsed {
                    Ok(j) => engine::explain::recent_entries(tx, j, version, profile, engine::explain::RECENT_ENTRIES)?
                        .map(|entries| entries.iter().map(RecentEntry::from).collect()),
                    Err(_) => None,
                };
                let runs_json = mine.iter().map(|r| run_json(tx, r)).collect::<Result<Vec<_>, ApiError>>()?;
                journeys.push(json!({"journey": record.id, "version": version, "state": record.state.as_str(), "in_journey": waiting, "why_not": why_not, "recent_entries": recent, "runs": runs_json}));
            }
            Ok(json!({"profile_id": profile, "journeys": journeys}))
        })
        .await?;
    Ok(Json(out))
}

fn profile_view(tx: &mut dyn Tx, id: ProfileId) -> Result<Value, ApiError> {
    let canonical = tx.canonical(id)?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
    let profile = tx.profile(canonical)?.ok_or_else(|| ApiError::not_found(format!("profile {id}")))?;
    let identities: Vec<_> = tx.identities(canonical)?.iter().map(|i| json!({"kind": i.kind(), "value": i.value()})).collect();
    let events: Vec<_> = tx.timeline(canonical, 200)?.iter().map(event_json).collect();
    let runs = tx.runs_of(canonical)?.iter().map(|r| run_json(tx, r)).collect::<Result<Vec<_>, ApiError>>()?;
    let messages: Vec<_> = tx.messages(None, Some(canonical), 200)?.iter().map(message_json).collect();
    // Merges the identity rule refused, seen from this person's side.
    let refused: Vec<_> = tx
        .refused_merges(canonical)?
        .iter()
        .map(|r| {
            let other = if r.profile == canonical { r.other } else { r.profile };
            json!({"other_profile_id": other, "identity": {"kind": r.identity.kind(), "value": r.identity.value()},
                "identity_now_with": r.profile, "reason": r.reason, "message_id": r.message_id, "at": ts(r.at)})
        })
        .collect();
    // Traits Wayfarer reads but cannot use; the traces say where each mattered.
    let warnings: Vec<String> = domain::zone::trait_zone_problem(&profile.traits).into_iter().collect();
    Ok(json!({
        "id": canonical, "merged_from": (canonical != id).then_some(id), "traits": profile.traits, "identities": identities,
        "refused_merges": refused, "events": events, "journeys": runs, "messages": messages, "warnings": warnings,
    }))
}

pub async fn lookup_profile(State(app): State<Arc<App>>, Query(q): Query<LookupQuery>) -> ApiResult {
    let identity = match (q.user_id, q.anonymous_id) {
        (Some(u), _) => Identity::UserId(u),
        (None, Some(a)) => Identity::AnonymousId(a),
        (None, None) => return Err(bad_request("give ?user_id=... or ?anonymous_id=...")),
    };
    let view = app
        .read(move |tx| {
            let id = tx.profile_by_identity(&identity)?.ok_or_else(|| ApiError::not_found(format!("a person with {identity}")))?;
            profile_view(tx, id)
        })
        .await?;
    Ok(Json(view))
}

pub async fn get_profile(State(app): State<Arc<App>>, Path(id): Path<i64>) -> ApiResult {
    Ok(Json(app.read(move |tx| profile_view(tx, ProfileId(id))).await?))
}

// ---- dead letters ----

/// Inputs the engine failed to step (a bug), newest first, with the error.
pub async fn list_dead_letters(State(app): State<Arc<App>>) -> ApiResult {
    let letters = app.read(|tx| Ok(tx.dead_letters(500)?)).await?;
    let items: Vec<_> = letters
        .iter()
        .map(|d| {
            json!({"id": d.id, "profile_id": d.profile, "inputs": d.inputs, "error": d.error, "at": ts(d.at),
                "replayed_at": d.replayed_at.map(ts)})
        })
        .collect();
    Ok(Json(json!({"dead_letters": items})))
}

/// Steps a dead letter's inputs again; 400 (and nothing changes) if they fail again.
pub async fn replay_dead_letter(State(app): State<Arc<App>>, Path(id): Path<i64>) -> ApiResult {
    app.engine.replay(domain::ids::DeadLetterId(id)).await?;
    Ok(Json(json!({"replayed": id})))
}

// ---- messages ----

#[derive(Deserialize)]
pub struct MessagesQuery {
    status: Option<String>,
    profile_id: Option<i64>,
    limit: Option<usize>,
}

pub async fn list_messages(State(app): State<Arc<App>>, Query(q): Query<MessagesQuery>) -> ApiResult {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(OutboxStatus::parse(s).ok_or_else(|| bad_request("status is one of pending, sent, captured, failed"))?),
    };
    let limit = q.limit.unwrap_or(100).min(1000);
    let all = app.read(move |tx| Ok(tx.messages(status, q.profile_id.map(ProfileId), limit)?)).await?;
    Ok(Json(json!({"messages": all.iter().map(message_json).collect::<Vec<_>>()})))
}

/// Sends a failed message again (once, with the same idempotency key); 409 if it is not failed.
pub async fn retry_message(State(app): State<Arc<App>>, Path(id): Path<i64>) -> ApiResult {
    let id = domain::ids::OutboxId(id);
    let entry = app.read(move |tx| Ok(tx.outbox_entry(id)?)).await?.ok_or_else(|| ApiError::not_found(format!("message {id}")))?;
    if entry.status != OutboxStatus::Failed {
        return Err(ApiError::new(
            Code::Conflict,
            format!("message {id} is {}, not failed: only failed messages are retried", entry.status.as_str()),
        ));
    }
    let retried = app.engine.retry_messages(vec![id]).await?;
    Ok(Json(json!({"retried": retried})))
}

/// Sends every failed message of a journey again; answers how many.
pub async fn retry_journey_messages(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let jid = JourneyId(id.clone());
    let failed = app
        .read(move |tx| {
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            let all = tx.messages(Some(OutboxStatus::Failed), None, usize::MAX)?;
            Ok(all.into_iter().filter(|m| m.run.is_some() && m.payload.context.journey == jid).map(|m| m.id).collect::<Vec<_>>())
        })
        .await?;
    let retried = app.engine.retry_messages(failed).await?;
    Ok(Json(json!({"journey": id, "retried": retried})))
}

// ---- clock ----

#[derive(Deserialize)]
pub struct MoveClock {
    advance: Option<String>,
    to: Option<String>,
}

pub async fn get_clock(State(app): State<Arc<App>>) -> ApiResult {
    Ok(Json(json!({"now": ts(app.engine.clock().now()), "manual": app.manual_clock.is_some()})))
}

/// Moves the manual clock (`{"advance": "3d"}` or `{"to": "2026-01-01T00:00:00Z"}`); every
/// timer on the way fires at its own time. Only with `testing.manual_clock`.
pub async fn move_clock(State(app): State<Arc<App>>, Json(body): Json<MoveClock>) -> ApiResult {
    let clock = app
        .manual_clock
        .clone()
        .ok_or_else(|| ApiError::new(Code::ClockNotManual, "the clock is the system clock; start with testing.manual_clock to move it"))?;
    let now = app.engine.clock().now();
    let target = match (body.advance, body.to) {
        (Some(d), None) => now.plus(d.parse::<Duration>().map_err(bad_request)?),
        (None, Some(t)) => Timestamp::parse(&t).ok_or_else(|| bad_request(format!("{t:?} is not an RFC 3339 instant")))?,
        _ => return Err(bad_request("give exactly one of \"advance\" (a duration such as \"3d\") or \"to\" (an instant)")),
    };
    if target < now {
        return Err(bad_request("the clock does not go backwards"));
    }
    app.engine.advance_manual(&clock, target).await?;
    Ok(Json(json!({"now": ts(app.engine.clock().now()), "manual": true})))
}
