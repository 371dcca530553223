//! Segments: named conditions on people whose members the engine keeps as things happen
//! (`domain::segment`). Defined, listed and deleted here; their members listed a page at a
//! time or exported as CSV; their size over time from the hourly entries and exits.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ids::{ProfileId, SegmentId};
use domain::segment::Segment;
use domain::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{StoredSegment, Tx};
use utoipa::{IntoParams, ToSchema};

use crate::admin::{cursor, page_size, paged};
use crate::app::App;
use crate::auth::Actor;
use crate::error::{ApiError, Code};
use crate::wire::{Diagnostic, ErrorBody, ProfileSummary};

type Answer<T> = Result<Json<T>, ApiError>;

/// A segment's definition as written: the person is a member while `condition` holds.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    /// What people call it (the id when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// A condition of the journey language about the person: traits, `history`, `reachable`
    /// and `{"segment": id}` (docs/JOURNEYS.md, "Segments").
    #[schema(value_type = BTreeMap<String, Value>)]
    pub condition: Value,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SegmentView {
    pub id: String,
    pub name: String,
    #[schema(value_type = BTreeMap<String, Value>)]
    pub condition: Value,
    /// How many people are members now.
    pub size: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Set while everyone is being evaluated again after a change (a new or edited segment).
    pub fill: Option<Fill>,
}

/// How far the pass over everyone is.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct Fill {
    /// People evaluated so far (by profile id), of `of`.
    pub done: i64,
    pub of: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SegmentList {
    /// By id.
    pub segments: Vec<SegmentView>,
}

/// A member: who, and since when.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct Member {
    pub since: String,
    pub person: ProfileSummary,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct MemberList {
    /// By profile id.
    pub members: Vec<Member>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct SizesQuery {
    /// How many days back, up to today (default 30, at most 366).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
}

/// The size at the end of one UTC day, and who entered and left that day.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct DaySize {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub size: i64,
    pub entered: i64,
    pub exited: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SizeSeries {
    /// Oldest first; the last day is today (its size is the size now).
    pub days: Vec<DaySize>,
}

/// The `details` of a `segment_invalid` error.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct SegmentProblems {
    pub diagnostics: Vec<Diagnostic>,
}

fn invalid(diags: Vec<domain::journey::Diagnostic>) -> ApiError {
    refused(Code::SegmentInvalid, "the segment", diags)
}

/// A definition (segment, computed trait, lifecycle) refused with its problems: every one in
/// the message, and as `details.diagnostics`.
pub(crate) fn refused(code: Code, what: &str, diags: Vec<domain::journey::Diagnostic>) -> ApiError {
    let said: Vec<String> = diags.iter().map(|d| format!("{} {}", d.path, d.message)).collect();
    let details = SegmentProblems { diagnostics: crate::wire::diagnostics(diags) };
    ApiError::new(code, format!("{what} is not valid: {}", said.join("; "))).with_details(serde_json::to_value(details).unwrap_or_default())
}

pub(crate) fn problem(path: &str, code: &str, message: String) -> domain::journey::Diagnostic {
    domain::journey::Diagnostic { node: None, path: path.into(), code: code.into(), severity: domain::journey::Severity::Error, message }
}

pub(crate) fn fill(tx: &mut dyn Tx) -> Result<Option<Fill>, ApiError> {
    let Some(done) = tx.setting(engine::SEGMENT_FILL)?.and_then(|c| c.parse::<i64>().ok()) else { return Ok(None) };
    let of = tx.last_profile_id()?.map_or(done, |p| p.0);
    Ok(Some(Fill { done, of }))
}

fn view(tx: &mut dyn Tx, s: &StoredSegment) -> Result<SegmentView, ApiError> {
    Ok(SegmentView {
        id: s.id.0.clone(),
        name: s.name.clone(),
        condition: s.document.get("condition").cloned().unwrap_or(Value::Null),
        size: tx.segment_size(&s.id)?,
        created_at: s.created_at.to_string(),
        updated_at: s.updated_at.to_string(),
        fill: fill(tx)?,
    })
}

fn segment_id(id: &str) -> Result<SegmentId, ApiError> {
    if domain::segment::valid_id(id) {
        Ok(SegmentId(id.to_owned()))
    } else {
        Err(ApiError::new(Code::InvalidRequest, format!("{id:?} is not a segment id: 1 to 64 of a-z, 0-9, '-' and '_'")))
    }
}

/// Every segment, by id, with its size now.
#[utoipa::path(get, path = "/segments", tag = "segments", responses((status = 200, body = SegmentList)))]
pub async fn list_segments(State(app): State<Arc<App>>) -> Answer<SegmentList> {
    let segments = app
        .read(|tx| {
            let all = tx.segments()?;
            all.iter().map(|s| view(tx, s)).collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(SegmentList { segments }))
}

#[utoipa::path(get, path = "/segments/{id}", tag = "segments", params(("id" = String, Path)),
    responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody)))]
pub async fn get_segment(State(app): State<Arc<App>>, Path(id): Path<String>) -> Answer<SegmentView> {
    let id = segment_id(&id)?;
    let s = app
        .read(move |tx| {
            let s = tx.segment(&id)?.ok_or_else(|| ApiError::not_found(format!("segment {:?}", id.0)))?;
            view(tx, &s)
        })
        .await?;
    Ok(Json(s))
}

/// Creates or replaces a segment. Its condition is checked (what a segment may read, the
/// segments it tests exist and do not test it back); then everyone is evaluated again, a
/// chunk at a time (`fill` shows how far), entering and leaving as events.
#[utoipa::path(put, path = "/segments/{id}", tag = "segments", params(("id" = String, Path)), request_body = SegmentBody,
    responses((status = 200, body = SegmentView, description = "replaced"), (status = 201, body = SegmentView, description = "created"),
        (status = 422, body = ErrorBody, description = "`segment_invalid`, with each problem (`details.diagnostics`)")))]
pub async fn put_segment(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<SegmentBody>,
) -> Result<(StatusCode, Json<SegmentView>), ApiError> {
    let id = segment_id(&id)?;
    let name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&id.0).to_owned();
    let document = serde_json::json!({"id": id.0, "name": name, "condition": body.condition});
    let segment = Segment::parse(&document).map_err(invalid)?;
    let now = app.engine.clock().now();
    let (created, out) = app
        .write(move |tx| {
            // The segments it tests must exist, and none of them may test it (no circles).
            let mut all: Vec<Segment> = Vec::new();
            for stored in tx.segments()?.into_iter().filter(|s| s.id != segment.id) {
                if let Ok(s) = Segment::parse(&stored.document) {
                    all.push(s);
                }
            }
            all.push(segment.clone());
            if let Err(e) = domain::segment::order(&all) {
                let code = if matches!(e, domain::segment::OrderError::Cycle(_)) { "segment_cycle" } else { "unknown_segment" };
                return Err(invalid(vec![problem("/condition", code, e.to_string())]));
            }
            let before = tx.segment(&segment.id)?;
            let stored = StoredSegment {
                id: segment.id.clone(),
                name: segment.name.clone(),
                document: document.clone(),
                created_at: before.as_ref().map_or(now, |b| b.created_at),
                updated_at: now,
            };
            let created = tx.put_segment(&stored)? && before.is_none();
            let shown = |d: &Value| serde_json::json!({"name": d["name"], "condition": d["condition"]});
            crate::audit::record(
                tx,
                &actor,
                now,
                "segment.put",
                &format!("segment:{}", segment.id),
                before.as_ref().map(|b| shown(&b.document)).as_ref(),
                Some(&shown(&document)),
            )?;
            Ok((created, stored))
        })
        .await?;
    app.engine.reload_journeys().await.map_err(|e| ApiError::new(Code::Unavailable, e.to_string()))?;
    let view = app.read(move |tx| view(tx, &out)).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

/// Deletes a segment and its members (no exit events). Refused while another segment or a
/// published journey tests it.
#[utoipa::path(delete, path = "/segments/{id}", tag = "segments", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: a segment or a published journey uses it")))]
pub async fn delete_segment(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = segment_id(&id)?;
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let Some(before) = tx.segment(&id)? else { return Err(ApiError::not_found(format!("segment {:?}", id.0))) };
        let mut users: Vec<String> = Vec::new();
        for stored in tx.segments()? {
            if Segment::parse(&stored.document).is_ok_and(|s| s.depends_on().contains(&id)) {
                users.push(format!("segment {:?}", stored.id.0));
            }
        }
        for v in tx.published()? {
            if domain::journey::Journey::parse(&v.document).is_ok_and(|j| j.segments().iter().any(|(s, _, _)| *s == id)) {
                users.push(format!("journey {:?}", v.id.0));
            }
        }
        if !users.is_empty() {
            return Err(ApiError::new(Code::Conflict, format!("segment {:?} is used by {}; change them first", id.0, users.join(", "))));
        }
        tx.delete_segment(&id)?;
        let shown = serde_json::json!({"name": before.name, "condition": before.document["condition"]});
        crate::audit::record(tx, &actor, now, "segment.delete", &format!("segment:{}", id.0), Some(&shown), None)
    })
    .await?;
    app.engine.reload_journeys().await.map_err(|e| ApiError::new(Code::Unavailable, e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

fn summary(tx: &mut dyn Tx, p: ProfileId) -> Result<ProfileSummary, ApiError> {
    let identities = tx.identities(p)?.iter().map(crate::wire::IdentityView::from).collect();
    let traits = tx.profile(p)?.map(|p| p.traits).unwrap_or_default();
    Ok(ProfileSummary { id: p.0, identities, traits })
}

/// A segment's members, by profile id, a page at a time.
#[utoipa::path(get, path = "/segments/{id}/members", tag = "segments", params(("id" = String, Path), MembersQuery),
    responses((status = 200, body = MemberList), (status = 404, body = ErrorBody)))]
pub async fn segment_members(State(app): State<Arc<App>>, Path(id): Path<String>, Query(q): Query<MembersQuery>) -> Answer<MemberList> {
    let id = segment_id(&id)?;
    let size = page_size(q.limit)?;
    let after = ProfileId(cursor(q.cursor.as_deref())?.unwrap_or(0));
    let list = app
        .read(move |tx| {
            tx.segment(&id)?.ok_or_else(|| ApiError::not_found(format!("segment {:?}", id.0)))?;
            let (page, next_cursor) = paged(tx.segment_members(&id, after, size + 1)?, size, |(p, _)| p.0);
            let members = page
                .into_iter()
                .map(|(p, since)| Ok(Member { since: since.to_string(), person: summary(tx, p)? }))
                .collect::<Result<_, ApiError>>()?;
            Ok(MemberList { members, next_cursor })
        })
        .await?;
    Ok(Json(list))
}

/// A CSV field, quoted when it must be (RFC 4180), and never read as a formula by a
/// spreadsheet (a leading `=`, `+`, `-` or `@` gets a `'`).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// Every member as CSV (`profile_id,user_id,email,since`), read a page at a time.
#[utoipa::path(get, path = "/segments/{id}/members.csv", tag = "segments", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
pub async fn export_members(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = segment_id(&id)?;
    let file = format!("{}.csv", id.0);
    let csv = app
        .read(move |tx| {
            tx.segment(&id)?.ok_or_else(|| ApiError::not_found(format!("segment {:?}", id.0)))?;
            let mut out = String::from("profile_id,user_id,email,since\r\n");
            let mut after = ProfileId(0);
            loop {
                let page = tx.segment_members(&id, after, 1000)?;
                let Some(last) = page.last() else { break };
                after = last.0;
                for (p, since) in page {
                    let user = tx.identities(p)?.into_iter().find_map(|i| match i {
                        domain::ids::Identity::UserId(u) => Some(u),
                        _ => None,
                    });
                    let email = tx.profile(p)?.and_then(|p| p.traits.get("email").and_then(Value::as_str).map(str::to_owned));
                    out += &format!(
                        "{},{},{},{}\r\n",
                        p.0,
                        csv_field(&user.unwrap_or_default()),
                        csv_field(&email.unwrap_or_default()),
                        since
                    );
                }
            }
            Ok(out)
        })
        .await?;
    let disposition = format!("attachment; filename=\"{file}\"");
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], csv).into_response())
}

/// The size at the end of each UTC day, over the last `days` days.
#[utoipa::path(get, path = "/segments/{id}/sizes", tag = "segments", params(("id" = String, Path), SizesQuery),
    responses((status = 200, body = SizeSeries), (status = 404, body = ErrorBody)))]
pub async fn segment_sizes(State(app): State<Arc<App>>, Path(id): Path<String>, Query(q): Query<SizesQuery>) -> Answer<SizeSeries> {
    let id = segment_id(&id)?;
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::new(Code::InvalidRequest, "\"days\" is from 1 to 366"));
    }
    let now = app.engine.clock().now();
    let series = app
        .read(move |tx| {
            tx.segment(&id)?.ok_or_else(|| ApiError::not_found(format!("segment {:?}", id.0)))?;
            let today = Timestamp(now.0.div_euclid(86_400_000) * 86_400_000);
            let from = today.minus(Duration::days(i64::from(days) - 1));
            let hours = tx.segment_hours(&id, from, now.plus(Duration::hours(1)))?;
            Ok(daily(tx.segment_size(&id)?, today, days, &hours))
        })
        .await?;
    Ok(Json(series))
}

/// Days ending with `today` (its first millisecond), sized backwards from the size now.
fn daily(size_now: i64, today: Timestamp, days: u32, hours: &[store::SegmentHour]) -> SizeSeries {
    let mut out = Vec::with_capacity(days as usize);
    let mut size = size_now;
    for back in 0..i64::from(days) {
        let start = today.minus(Duration::days(back));
        let end = start.plus(Duration::days(1));
        let (entered, exited) =
            hours.iter().filter(|h| start <= h.hour && h.hour < end).fold((0, 0), |(e, x), h| (e + h.entered, x + h.exited));
        let day = start.to_string().chars().take(10).collect();
        out.push(DaySize { day, size, entered, exited });
        size -= entered - exited;
    }
    out.reverse();
    SizeSeries { days: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("ann@x.test"), "ann@x.test");
        assert_eq!(csv_field("Doe, Ann"), "\"Doe, Ann\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }

    #[test]
    fn sizes_go_back_from_the_size_now() {
        let day = 86_400_000;
        let today = Timestamp(20 * day);
        let h = |at: i64, entered, exited| store::SegmentHour { hour: Timestamp(at), entered, exited };
        let hours = [h(18 * day + 3_600_000, 5, 0), h(19 * day, 2, 1), h(20 * day + 7_200_000, 1, 3)];
        let s = daily(4, today, 4, &hours);
        let rows: Vec<String> = s.days.iter().map(|d| format!("{} {} +{} -{}", d.day, d.size, d.entered, d.exited)).collect();
        assert_eq!(rows, ["1970-01-18 0 +0 -0", "1970-01-19 5 +5 -0", "1970-01-20 6 +2 -1", "1970-01-21 4 +1 -3"]);
    }
}
