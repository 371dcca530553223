//! Lifecycle stages (`domain::lifecycle`): the ordered stages, how many people are at each,
//! and the journey map — the moves between stages over a period, for everyone or for a
//! segment's members.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Query, State};
use domain::ids::SegmentId;
use domain::lifecycle::Lifecycle;
use domain::time::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::auth::Actor;
use crate::error::{ApiError, Code};

type Answer<T> = Result<Json<T>, ApiError>;

/// The stages as written, first stage first: a person is at the last one whose condition holds.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct LifecycleBody {
    /// Each `{"id", "name", "condition"}` (a condition about the person, as a segment's).
    #[schema(value_type = Vec<BTreeMap<String, Value>>)]
    pub stages: Vec<Value>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct StageView {
    pub id: String,
    pub name: String,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub condition: Value,
    /// How many people are at this stage now.
    pub people: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct LifecycleView {
    pub stages: Vec<StageView>,
    /// Set while everyone is being evaluated again after a change.
    pub fill: Option<crate::segments::Fill>,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct FlowsQuery {
    /// The period's start (RFC 3339; default 30 days before `to`).
    pub from: Option<String>,
    /// The period's end, exclusive (RFC 3339; default now).
    pub to: Option<String>,
    /// Only the moves of this segment's members (as they are now).
    pub segment: Option<String>,
}

/// People who moved from one stage to another (`null`: no stage) in the period.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct Flow {
    pub from: Option<String>,
    pub to: Option<String>,
    pub people: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Flows {
    pub from: String,
    pub to: String,
    pub segment: Option<String>,
    /// Most people first.
    pub flows: Vec<Flow>,
}

pub(crate) fn stored(tx: &mut dyn store::Tx) -> Result<Value, ApiError> {
    Ok(tx.setting(engine::LIFECYCLE)?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| serde_json::json!({"stages": []})))
}

fn view(tx: &mut dyn store::Tx) -> Result<LifecycleView, ApiError> {
    let doc = stored(tx)?;
    let sizes = tx.stage_sizes()?;
    let stages = doc["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let id = s["id"].as_str().unwrap_or_default().to_owned();
            StageView {
                name: s["name"].as_str().filter(|n| !n.is_empty()).unwrap_or(&id).to_owned(),
                condition: s["condition"].clone(),
                people: sizes.iter().find(|(stage, _)| *stage == id).map_or(0, |(_, n)| *n),
                id,
            }
        })
        .collect();
    Ok(LifecycleView { stages, fill: crate::segments::fill(tx)? })
}

/// The stages, with how many people are at each now.
#[utoipa::path(get, path = "/lifecycle", tag = "segments", responses((status = 200, body = LifecycleView)))]
pub async fn get_lifecycle(State(app): State<Arc<App>>) -> Answer<LifecycleView> {
    Ok(Json(app.read(view).await?))
}

/// Replaces the stages. Each is checked as a segment's condition; the segments they test must
/// exist. Everyone is then evaluated again, a chunk at a time; each move is a `Stage Changed`
/// event and the person's `lifecycle_stage` trait.
#[utoipa::path(put, path = "/lifecycle", tag = "segments", request_body = LifecycleBody,
    responses((status = 200, body = LifecycleView),
        (status = 422, body = crate::wire::ErrorBody, description = "`lifecycle_invalid`, with each problem (`details.diagnostics`)")))]
pub async fn put_lifecycle(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<LifecycleBody>,
) -> Answer<LifecycleView> {
    let doc = serde_json::json!({"stages": body.stages});
    let invalid = |diags| crate::segments::refused(Code::LifecycleInvalid, "the lifecycle", diags);
    let lifecycle = Lifecycle::parse(&doc).map_err(invalid)?;
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let known: std::collections::BTreeSet<SegmentId> = tx.segments()?.into_iter().map(|s| s.id).collect();
        let unknown: Vec<domain::journey::Diagnostic> = lifecycle
            .stages
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.condition.depends_on().into_iter().map(move |d| (i, d)))
            .filter(|(_, d)| !known.contains(d))
            .map(|(i, d)| {
                crate::segments::problem(&format!("/stages/{i}/condition"), "unknown_segment", format!("segment {:?} does not exist", d.0))
            })
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(unknown));
        }
        let before = stored(tx)?;
        tx.set_setting(engine::LIFECYCLE, &doc.to_string())?;
        crate::audit::record(tx, &actor, now, "lifecycle.put", "lifecycle", Some(&before), Some(&doc))
    })
    .await?;
    app.engine.reload_journeys().await.map_err(|e| ApiError::new(Code::Unavailable, e.to_string()))?;
    Ok(Json(app.read(view).await?))
}

/// The journey map: how many people moved between each two stages in the period (default
/// the last 30 days), for everyone or a segment's members.
#[utoipa::path(get, path = "/lifecycle/flows", tag = "segments", params(FlowsQuery),
    responses((status = 200, body = Flows), (status = 404, body = crate::wire::ErrorBody, description = "no such segment")))]
pub async fn lifecycle_flows(State(app): State<Arc<App>>, Query(q): Query<FlowsQuery>) -> Answer<Flows> {
    // (The end is exclusive: by default just after now, so what just moved counts.)
    let to = q.to.as_deref().map(|t| crate::wire::instant("to", t)).transpose()?;
    let to = to.unwrap_or_else(|| app.engine.clock().now().plus(Duration::millis(1)));
    let from = q.from.as_deref().map(|f| crate::wire::instant("from", f)).transpose()?.unwrap_or_else(|| to.minus(Duration::days(30)));
    let segment = q.segment.filter(|s| !s.is_empty()).map(SegmentId);
    let flows = app
        .read(move |tx| {
            if let Some(s) = &segment {
                tx.segment(s)?.ok_or_else(|| ApiError::not_found(format!("segment {:?}", s.0)))?;
            }
            let flows = tx.stage_flows(from, to, segment.as_ref())?;
            Ok(Flows {
                from: from.to_string(),
                to: to.to_string(),
                segment: segment.map(|s| s.0),
                flows: flows.into_iter().map(|f| Flow { from: f.from, to: f.to, people: f.people }).collect(),
            })
        })
        .await?;
    Ok(Json(flows))
}
