//! Computed traits: traits Wayfarer keeps from each person's history (`domain::computed`),
//! defined and deleted here; the engine writes them on the profiles.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use domain::computed::ComputedTrait;
use domain::journey::NameKind;
use domain::lifecycle::Lifecycle;
use domain::segment::Segment;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::StoredComputedTrait;
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::Actor;
use crate::error::{ApiError, Code};
use crate::wire::ErrorBody;

/// A computed trait as written: the history query whose value the trait holds.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ComputedTraitBody {
    /// What people call it (the trait's name when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// A history query of the journey language (`event`, `within`, `where`, `aggregate`:
    /// count, exists, sum, min, max, first, last or distinct, `property`).
    #[schema(value_type = BTreeMap<String, Value>)]
    pub history: Value,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ComputedTraitView {
    /// The trait it writes on every profile.
    #[serde(rename = "trait")]
    pub name: String,
    pub label: String,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub history: Value,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct ComputedTraitList {
    /// By trait.
    pub computed_traits: Vec<ComputedTraitView>,
}

fn view(c: &StoredComputedTrait) -> ComputedTraitView {
    ComputedTraitView {
        name: c.id.clone(),
        label: c.name.clone(),
        history: c.document.get("history").cloned().unwrap_or(Value::Null),
        created_at: c.created_at.to_string(),
        updated_at: c.updated_at.to_string(),
    }
}

/// Every computed trait, by the trait it writes.
#[utoipa::path(get, path = "/computed-traits", tag = "segments", responses((status = 200, body = ComputedTraitList)))]
pub async fn list_computed_traits(State(app): State<Arc<App>>) -> Result<Json<ComputedTraitList>, ApiError> {
    let all = app.read(|tx| Ok(tx.computed_traits()?)).await?;
    Ok(Json(ComputedTraitList { computed_traits: all.iter().map(view).collect() }))
}

/// Creates or replaces a computed trait; everyone's value is then computed again from their
/// history, a chunk of people at a time (as a segment's fill).
/// Traits Wayfarer writes itself, which a computed trait would overwrite: consent (a
/// computed value would unsubscribe or resubscribe people), a hard bounce, the lifecycle stage.
const RESERVED: [&str; 5] = [
    engine::EMAIL_UNSUBSCRIBED,
    engine::EMAIL_BOUNCED,
    engine::SMS_UNSUBSCRIBED,
    engine::PUSH_UNSUBSCRIBED,
    domain::lifecycle::STAGE_TRAIT,
];

#[utoipa::path(put, path = "/computed-traits/{trait}", tag = "segments", params(("trait" = String, Path)), request_body = ComputedTraitBody,
    responses((status = 200, body = ComputedTraitView, description = "replaced"), (status = 201, body = ComputedTraitView, description = "created"),
        (status = 422, body = ErrorBody, description = "`computed_trait_invalid`, with each problem (`details.diagnostics`)")))]
pub async fn put_computed_trait(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Json(body): Json<ComputedTraitBody>,
) -> Result<(StatusCode, Json<ComputedTraitView>), ApiError> {
    let label = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&name).to_owned();
    let document = serde_json::json!({"trait": name, "name": label, "history": body.history});
    let parsed = ComputedTrait::parse(&document)
        .map_err(|diags| crate::segments::refused(Code::ComputedTraitInvalid, "the computed trait", diags))?;
    if RESERVED.contains(&parsed.name.as_str()) {
        let message =
            format!("{:?} is a trait Wayfarer writes itself (consent, bounces, the lifecycle stage): choose another name", parsed.name);
        let diag = crate::segments::problem("/trait", "reserved_trait", message);
        return Err(crate::segments::refused(Code::ComputedTraitInvalid, "the computed trait", vec![diag]));
    }
    let now = app.engine.clock().now();
    let (created, stored) = app
        .write(move |tx| {
            let before = tx.computed_traits()?.into_iter().find(|c| c.id == parsed.name);
            let stored = StoredComputedTrait {
                id: parsed.name.clone(),
                name: parsed.label.clone(),
                document: document.clone(),
                created_at: before.as_ref().map_or(now, |b| b.created_at),
                updated_at: now,
            };
            let created = tx.put_computed_trait(&stored)? && before.is_none();
            let shown = |d: &Value| serde_json::json!({"name": d["name"], "history": d["history"]});
            crate::audit::record(
                tx,
                &actor,
                now,
                "computed_trait.put",
                &format!("computed_trait:{}", parsed.name),
                before.as_ref().map(|b| shown(&b.document)).as_ref(),
                Some(&shown(&document)),
            )?;
            Ok((created, stored))
        })
        .await?;
    app.engine.reload_journeys().await.map_err(|e| ApiError::new(Code::Unavailable, e.to_string()))?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view(&stored))))
}

/// What reads trait `name` in its conditions: segments, lifecycle stages, published journeys.
fn readers(tx: &mut dyn store::Tx, name: &str) -> Result<Vec<String>, ApiError> {
    let mut users = Vec::new();
    for stored in tx.segments()? {
        if Segment::parse(&stored.document).is_ok_and(|s| s.condition.traits().contains(name)) {
            users.push(format!("segment {:?}", stored.id.0));
        }
    }
    if let Ok(lifecycle) = Lifecycle::parse(&crate::lifecycle::stored(tx)?) {
        for stage in lifecycle.stages.iter().filter(|s| s.condition.condition.traits().contains(name)) {
            users.push(format!("lifecycle stage {:?}", stage.id));
        }
    }
    for v in tx.published()? {
        let reads = |j: domain::journey::Journey| j.names().iter().any(|n| n.kind == NameKind::Trait && n.name == name);
        if domain::journey::Journey::parse(&v.document).is_ok_and(reads) {
            users.push(format!("journey {:?}", v.id.0));
        }
    }
    Ok(users)
}

/// Deletes a computed trait: Wayfarer stops keeping it (the values written stay on the
/// profiles as ordinary traits). Refused (409) while a segment, a lifecycle stage or a
/// published journey reads it.
#[utoipa::path(delete, path = "/computed-traits/{trait}", tag = "segments", params(("trait" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: a segment, lifecycle stage or published journey reads it")))]
pub async fn delete_computed_trait(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let Some(before) = tx.computed_traits()?.into_iter().find(|c| c.id == name) else {
            return Err(ApiError::not_found(format!("computed trait {name:?}")));
        };
        let users = readers(tx, &name)?;
        if !users.is_empty() {
            let message = format!(
                "computed trait {name:?} is read by {}; change them first (deleted, it would keep its last values and never change again)",
                users.join(", ")
            );
            return Err(ApiError::new(Code::Conflict, message));
        }
        tx.delete_computed_trait(&name)?;
        let shown = serde_json::json!({"name": before.name, "history": before.document["history"]});
        crate::audit::record(tx, &actor, now, "computed_trait.delete", &format!("computed_trait:{name}"), Some(&shown), None)
    })
    .await?;
    app.engine.reload_journeys().await.map_err(|e| ApiError::new(Code::Unavailable, e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}
