//! The inbox: tasks journeys ask people to do (a `task` step), and their completion or decline,
//! which comes back on the person's profile as `Task Completed` / `Task Declined` (a journey
//! waiting with `wait_for` goes on). Anyone signed in may complete or decline a task (a
//! salesperson with the viewer role included); each is in the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use domain::ids::{OutboxId, ProfileId};
use serde::{Deserialize, Serialize};
use store::{Task, TaskFilter, TaskStatus};
use utoipa::{IntoParams, ToSchema};

use crate::admin::{cursor, page_size, paged};
use crate::app::App;
use crate::auth::Actor;
use crate::error::{ApiError, Code};
use crate::wire::ErrorBody;

type Answer<T> = Result<Json<T>, ApiError>;

/// Whether a task waits for someone, or was done or declined.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Completed,
    Declined,
}

impl From<TaskStatus> for Status {
    fn from(s: TaskStatus) -> Status {
        match s {
            TaskStatus::Open => Status::Open,
            TaskStatus::Completed => Status::Completed,
            TaskStatus::Declined => Status::Declined,
        }
    }
}

impl From<Status> for TaskStatus {
    fn from(s: Status) -> TaskStatus {
        match s {
            Status::Open => TaskStatus::Open,
            Status::Completed => TaskStatus::Completed,
            Status::Declined => TaskStatus::Declined,
        }
    }
}

/// A task for a person to do, about one person.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TaskView {
    pub id: i64,
    /// Whom it is about (their profile).
    pub profile_id: i64,
    /// Who that is: their identities and traits now.
    pub person: crate::wire::ProfileSummary,
    /// The journey and step that asked for it.
    pub journey: String,
    pub node: String,
    pub title: String,
    pub body: String,
    /// Whose it is (a user's email); a team's; or neither, anyone's.
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub due_at: Option<String>,
    pub created_at: String,
    pub status: Status,
    pub closed_at: Option<String>,
    /// Who completed or declined it.
    pub closed_by: Option<String>,
    pub note: Option<String>,
}

/// A task as people read it, with who it is about as they are now.
fn view(tx: &mut dyn store::Tx, t: &Task) -> Result<TaskView, ApiError> {
    let profile = tx.canonical(t.profile)?.unwrap_or(t.profile);
    let identities = tx.identities(profile)?.iter().map(crate::wire::IdentityView::from).collect();
    let traits = tx.profile(profile)?.map(|p| p.traits).unwrap_or_default();
    let person = crate::wire::ProfileSummary { id: profile.0, identities, traits };
    Ok(TaskView {
        id: t.id.0,
        profile_id: profile.0,
        person,
        journey: t.journey.0.clone(),
        node: t.node.0.clone(),
        title: t.title.clone(),
        body: t.body.clone(),
        assignee: t.assignee.clone(),
        team: t.team.clone(),
        due_at: t.due_at.map(|d| d.to_string()),
        created_at: t.created_at.to_string(),
        status: t.status.into(),
        closed_at: t.closed_at.map(|d| d.to_string()),
        closed_by: t.closed_by.clone(),
        note: t.note.clone(),
    })
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct TasksQuery {
    pub status: Option<Status>,
    /// Tasks of this user (their email).
    pub assignee: Option<String>,
    /// Tasks of this team.
    pub team: Option<String>,
    /// Tasks about this person.
    pub profile_id: Option<i64>,
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct TaskList {
    /// Oldest first.
    pub tasks: Vec<TaskView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

/// What was done, in a word or two (a call's outcome).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseTask {
    #[serde(default)]
    pub note: Option<String>,
}

/// Tasks, oldest first, a page at a time; of one status, assignee, team or person.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(TasksQuery), responses((status = 200, body = TaskList)))]
pub async fn list_tasks(State(app): State<Arc<App>>, Query(q): Query<TasksQuery>) -> Answer<TaskList> {
    let size = page_size(q.limit)?;
    let after = cursor(q.cursor.as_deref())?.map(OutboxId);
    let trimmed = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = TaskFilter {
        status: q.status.map(TaskStatus::from),
        assignee: trimmed(q.assignee).map(|a| a.to_lowercase()),
        team: trimmed(q.team),
        profile: q.profile_id.map(ProfileId),
    };
    let page = app
        .read(move |tx| {
            // A person merged into another is asked for as who they are now.
            let filter = match filter.profile {
                Some(p) => TaskFilter { profile: Some(tx.canonical(p)?.unwrap_or(p)), ..filter },
                None => filter,
            };
            let (page, next_cursor) = paged(tx.tasks(&filter, after, size + 1)?, size, |t| t.id.0);
            let tasks = page.iter().map(|t| view(tx, t)).collect::<Result<_, _>>()?;
            Ok(TaskList { tasks, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = TaskView), (status = 404, body = ErrorBody)))]
pub async fn get_task(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Answer<TaskView> {
    let t = app
        .read(move |tx| {
            let t = tx.task(OutboxId(id))?.ok_or_else(|| ApiError::not_found(format!("task {id}")))?;
            view(tx, &t)
        })
        .await?;
    Ok(Json(t))
}

/// Completes a task: `Task Completed` on the person it is about (with the note).
#[utoipa::path(post, path = "/tasks/{id}/complete", tag = "tasks", params(("id" = i64, Path)), request_body = CloseTask,
    responses((status = 200, body = TaskView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the task is not open")))]
pub async fn complete_task(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
    body: Option<Json<Option<CloseTask>>>,
) -> Answer<TaskView> {
    close(app, actor, id, TaskStatus::Completed, body.and_then(|b| b.0).unwrap_or_default()).await
}

/// Declines a task (it will not be done): `Task Declined` on the person (with the note).
#[utoipa::path(post, path = "/tasks/{id}/decline", tag = "tasks", params(("id" = i64, Path)), request_body = CloseTask,
    responses((status = 200, body = TaskView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the task is not open")))]
pub async fn decline_task(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
    body: Option<Json<Option<CloseTask>>>,
) -> Answer<TaskView> {
    close(app, actor, id, TaskStatus::Declined, body.and_then(|b| b.0).unwrap_or_default()).await
}

async fn close(app: Arc<App>, actor: Actor, id: i64, status: TaskStatus, body: CloseTask) -> Answer<TaskView> {
    let note = body.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let now = app.engine.clock().now();
    let by = actor.name.clone();
    let task = app
        .write(move |tx| {
            let task = tx.task(OutboxId(id))?.ok_or_else(|| ApiError::not_found(format!("task {id}")))?;
            if !tx.close_task(task.id, status, &by, note.as_deref(), now)? {
                return Err(ApiError::new(Code::Conflict, format!("task {id} is {} already", task.status.as_str())));
            }
            let before = serde_json::json!({"status": task.status.as_str()});
            let after = serde_json::json!({"status": status.as_str(), "note": note});
            crate::audit::record(
                tx,
                &actor,
                now,
                &format!("task.{}", status.as_str()),
                &format!("task:{id}"),
                Some(&before),
                Some(&after),
            )?;
            let task = tx.task(task.id)?.unwrap_or(task);
            let shown = view(tx, &task)?;
            Ok((task, shown))
        })
        .await?;
    let (task, shown) = task;
    let name = match status {
        TaskStatus::Completed => "Task Completed",
        _ => "Task Declined",
    };
    let mut properties = domain::Map::new();
    properties.insert("task_id".into(), id.into());
    properties.insert("journey".into(), task.journey.0.clone().into());
    properties.insert("node".into(), task.node.0.clone().into());
    properties.insert("title".into(), task.title.clone().into());
    properties.insert("by".into(), task.closed_by.clone().unwrap_or_default().into());
    if let Some(note) = &task.note {
        properties.insert("note".into(), note.clone().into());
    }
    let feedback = engine::Feedback {
        message_id: format!("task-{id}-{}", status.as_str()),
        name: name.into(),
        properties,
        traits: domain::Map::new(),
    };
    app.engine.feedback(task.profile, feedback).await?;
    Ok(Json(shown))
}
