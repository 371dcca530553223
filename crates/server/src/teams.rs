//! Teams: signing in and out, users (admins), one's own personal API tokens, and the audit
//! log. Who may call what is decided in `auth::required`, not here.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use domain::time::Timestamp;
use serde_json::{Value, json};
use store::{ApiToken, ApiTokenId, AuditId, NewUser, Role, Session, Tx, User, UserId};

use crate::app::{App, sha256_hex};
use crate::audit;
use crate::auth::{self, Actor, Via};
use crate::error::{ApiError, Code};
use crate::wire::{self, ErrorBody};

fn ts(t: Timestamp) -> String {
    t.to_string()
}

pub fn user_view(u: &User) -> wire::UserView {
    wire::UserView {
        id: u.id.0,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role.into(),
        created_at: ts(u.created_at),
        updated_at: ts(u.updated_at),
    }
}

/// What the audit log shows of a user (never the password hash).
fn user_audit(u: &User) -> Value {
    json!({"email": u.email, "name": u.name, "role": u.role.as_str()})
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(SET_COOKIE, v);
    }
    response
}

// ---- session ----

/// Signs in with an e-mail and password: answers the user and the CSRF token, and sets the
/// session cookie (`wayfarer_session`: HttpOnly, SameSite=Strict, Path=/, Secure with
/// `ui.secure_cookies`), which lasts 7 days. A wrong password and an unknown e-mail get the
/// same answer. After 5 failed attempts for one e-mail within 15 minutes, 429 until the
/// oldest is 15 minutes old.
#[utoipa::path(post, path = "/session", tag = "session", request_body = wire::SignIn, security(()),
    responses(
        (status = 200, body = wire::SessionView, headers(("set-cookie" = String, description = "the session cookie"))),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`: no user has that e-mail and password"),
        (status = 429, body = ErrorBody, description = "`too_many_attempts`: wait `Retry-After` seconds",
            headers(("retry-after" = u64, description = "seconds"))),
    ))]
pub async fn sign_in(State(app): State<Arc<App>>, Json(body): Json<wire::SignIn>) -> Result<Response, ApiError> {
    let email = body.email.trim().to_lowercase();
    let now = app.engine.clock().now();
    if let Err(wait) = app.sign_in.begin(&email, now) {
        tracing::warn!(%email, "sign-in refused: too many failed attempts");
        return Err(ApiError::new(Code::TooManyAttempts, format!("too many failed sign-ins for this e-mail; try again in {wait} seconds"))
            .with_retry_after(wait));
    }
    let lookup = email.clone();
    let user = app.read(move |tx| Ok(tx.user_by_email(&lookup)?)).await?;
    // An unknown e-mail is checked against a dummy hash, so it takes as long as a wrong password.
    let hash = user.as_ref().map_or(auth::DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let matches = app.verify_password(hash, body.password).await?;
    let Some(user) = user.filter(|_| matches) else {
        tracing::info!(%email, "sign-in failed");
        return Err(ApiError::new(Code::InvalidCredentials, "no user has that e-mail and password"));
    };
    app.sign_in.succeeded(&email);
    let secret = auth::new_secret("");
    let session = Session {
        token_sha256: sha256_hex(&secret),
        user: user.id,
        csrf_token: auth::new_secret(""),
        created_at: now,
        expires_at: now.plus(auth::SESSION_LIFETIME),
    };
    let csrf_token = session.csrf_token.clone();
    app.write(move |tx| Ok(tx.create_session(&session)?)).await?;
    tracing::info!(%email, user = %user.id, "signed in");
    let view = wire::SessionView {
        actor: format!("user:{}", user.email),
        role: user.role.into(),
        user: Some(user_view(&user)),
        csrf_token: Some(csrf_token),
    };
    Ok(with_cookie(Json(view).into_response(), &auth::set_cookie(Some(&secret), app.secure_cookies)))
}

/// Who the request is from: with the session cookie, the user and the CSRF token; with a
/// personal API token, its owner; with the admin token, no user.
#[utoipa::path(get, path = "/session", tag = "session", responses((status = 200, body = wire::SessionView)))]
pub async fn get_session(State(app): State<Arc<App>>, Extension(actor): Extension<Actor>) -> Result<Json<wire::SessionView>, ApiError> {
    let user = match actor.user {
        Some(id) => app.read(move |tx| Ok(tx.user(id)?)).await?,
        None => None,
    };
    let csrf_token = match &actor.via {
        Via::Session { csrf_token, .. } => Some(csrf_token.clone()),
        _ => None,
    };
    Ok(Json(wire::SessionView { user: user.as_ref().map(user_view), actor: actor.name, role: actor.role.into(), csrf_token }))
}

/// Signs out: ends the session and expires the cookie (with a bearer token, nothing to end).
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204, description = "signed out", headers(("set-cookie" = String, description = "expires the session cookie")))))]
pub async fn sign_out(State(app): State<Arc<App>>, Extension(actor): Extension<Actor>) -> Result<Response, ApiError> {
    if let Via::Session { token_sha256, .. } = actor.via {
        app.write(move |tx| Ok(tx.delete_session(&token_sha256)?)).await?;
        tracing::info!(actor = %actor.name, "signed out");
    }
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), &auth::set_cookie(None, app.secure_cookies)))
}

// ---- users ----

/// Users, by id, a page at a time.
#[utoipa::path(get, path = "/users", tag = "users", params(wire::PageQuery), responses((status = 200, body = wire::UserList)))]
pub async fn list_users(State(app): State<Arc<App>>, Query(q): Query<wire::PageQuery>) -> Result<Json<wire::UserList>, ApiError> {
    let size = crate::admin::page_size(q.limit)?;
    let after = crate::admin::cursor(q.cursor.as_deref())?.map(UserId);
    let users = app.read(move |tx| Ok(tx.users_after(after, size + 1)?)).await?;
    let (users, next_cursor) = crate::admin::paged(users, size, |u| u.id.0);
    Ok(Json(wire::UserList { users: users.iter().map(user_view).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = wire::UserView), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Json<wire::UserView>, ApiError> {
    let user = app.read(move |tx| tx.user(UserId(id))?.ok_or_else(|| ApiError::not_found(format!("user {id}")))).await?;
    Ok(Json(user_view(&user)))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::InvalidRequest, message)
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(bad_request("a name is 1-100 characters, without control characters"));
    }
    Ok(name.to_owned())
}

/// Creates a user who signs in with the e-mail and password.
#[utoipa::path(post, path = "/users", tag = "users", request_body = wire::NewUser,
    responses((status = 201, body = wire::UserView), (status = 409, body = ErrorBody, description = "the e-mail is taken"),
        (status = 422, body = ErrorBody, description = "`weak_password`: fewer than 12 characters")))]
pub async fn create_user(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<wire::NewUser>,
) -> Result<(StatusCode, Json<wire::UserView>), ApiError> {
    let email = auth::normalize_email(&body.email).map_err(bad_request)?;
    let name = check_name(body.name.as_deref().unwrap_or_else(|| email.split('@').next().unwrap_or(&email)))?;
    auth::check_password(&body.password)?;
    let password_hash = app.hash_password(body.password).await?;
    let now = app.engine.clock().now();
    let new = NewUser { email, name, role: body.role.into(), password_hash, now };
    let user = app
        .write(move |tx| {
            let id = tx.create_user(&new)?;
            let user = tx.user(id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
            let mut after = user_audit(&user);
            after["password"] = json!("set");
            audit::record(tx, &actor, now, "user.create", &format!("user:{}", user.email), None, Some(&after))?;
            Ok(user)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}

/// Refuses a change that would leave no admin.
fn keep_an_admin(tx: &mut dyn Tx, user: &User, what: &str) -> Result<(), ApiError> {
    if user.role == Role::Admin && tx.users()?.iter().filter(|u| u.role == Role::Admin).count() <= 1 {
        return Err(ApiError::new(
            Code::Conflict,
            format!("{} is the last admin and cannot be {what}; make another admin first", user.email),
        ));
    }
    Ok(())
}

/// Changes a user's name, role or password (absent fields stay). A new password signs them
/// out everywhere else; a new role applies to their sessions and tokens at once. The last
/// admin cannot be demoted (409).
#[utoipa::path(put, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = wire::UserUpdate,
    responses((status = 200, body = wire::UserView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last admin cannot be demoted"),
        (status = 422, body = ErrorBody, description = "`weak_password`: fewer than 12 characters")))]
pub async fn update_user(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
    Json(body): Json<wire::UserUpdate>,
) -> Result<Json<wire::UserView>, ApiError> {
    let name = body.name.as_deref().map(check_name).transpose()?;
    let password_hash = match body.password {
        Some(p) => {
            auth::check_password(&p)?;
            Some(app.hash_password(p).await?)
        }
        None => None,
    };
    let role: Option<Role> = body.role.map(Into::into);
    let now = app.engine.clock().now();
    let user = app
        .write(move |tx| {
            let id = UserId(id);
            let before = tx.user(id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
            if role.is_some_and(|r| r < Role::Admin) {
                keep_an_admin(tx, &before, "demoted")?;
            }
            let changed_password = password_hash.is_some();
            let after = User {
                name: name.unwrap_or_else(|| before.name.clone()),
                role: role.unwrap_or(before.role),
                password_hash: password_hash.unwrap_or_else(|| before.password_hash.clone()),
                updated_at: now,
                ..before.clone()
            };
            tx.update_user(&after)?;
            let mut shown = user_audit(&after);
            if changed_password {
                shown["password"] = json!("changed");
                // Signed out everywhere but here, if they changed their own.
                let keep = match &actor.via {
                    Via::Session { token_sha256, .. } if actor.user == Some(id) => Some(token_sha256.as_str()),
                    _ => None,
                };
                tx.delete_sessions_of(id, keep)?;
            }
            audit::record(tx, &actor, now, "user.update", &format!("user:{}", after.email), Some(&user_audit(&before)), Some(&shown))?;
            Ok(after)
        })
        .await?;
    Ok(Json(user_view(&user)))
}

/// Deletes a user, their sessions and their API tokens. The last admin cannot be deleted.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last admin cannot be deleted")))]
pub async fn delete_user(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let id = UserId(id);
        let user = tx.user(id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
        keep_an_admin(tx, &user, "deleted")?;
        tx.delete_user(id)?;
        audit::record(tx, &actor, now, "user.delete", &format!("user:{}", user.email), Some(&user_audit(&user)), None)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- personal API tokens ----

fn token_view(t: &ApiToken) -> wire::TokenView {
    wire::TokenView { id: t.id.0, name: t.name.clone(), created_at: ts(t.created_at), last_used_at: t.last_used_at.map(ts) }
}

fn no_user() -> ApiError {
    ApiError::new(Code::Conflict, "the admin token has no user, so no personal tokens: sign in, or use a user's API token")
}

/// One's own personal API tokens (never their secrets).
#[utoipa::path(get, path = "/me/tokens", tag = "tokens", responses((status = 200, body = wire::TokenList)))]
pub async fn list_my_tokens(State(app): State<Arc<App>>, Extension(actor): Extension<Actor>) -> Result<Json<wire::TokenList>, ApiError> {
    let tokens = match actor.user {
        Some(user) => app.read(move |tx| Ok(tx.api_tokens_of(user)?)).await?,
        None => Vec::new(),
    };
    Ok(Json(wire::TokenList { tokens: tokens.iter().map(token_view).collect() }))
}

/// Makes a personal API token (for journeys as code, CI): answered this once, stored as
/// its SHA-256. It acts with its owner's role.
#[utoipa::path(post, path = "/me/tokens", tag = "tokens", request_body = wire::NewToken,
    responses((status = 201, body = wire::TokenCreated),
        (status = 409, body = ErrorBody, description = "the admin token has no user to own a token")))]
pub async fn create_my_token(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<wire::NewToken>,
) -> Result<(StatusCode, Json<wire::TokenCreated>), ApiError> {
    let user = actor.user.ok_or_else(no_user)?;
    let name = check_name(&body.name)?;
    let secret = auth::new_secret(auth::API_TOKEN_PREFIX);
    let now = app.engine.clock().now();
    let token = ApiToken { id: ApiTokenId(0), user, name, token_sha256: sha256_hex(&secret), created_at: now, last_used_at: None };
    let id = app
        .write(move |tx| {
            let id = tx.create_api_token(&token)?;
            let after = json!({"id": id.0, "name": token.name});
            audit::record(tx, &actor, now, "token.create", &format!("token:{id}"), None, Some(&after))?;
            Ok(id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(wire::TokenCreated { id: id.0, name: body.name.trim().to_owned(), token: secret, created_at: ts(now) })))
}

/// Deletes one of one's own tokens; it stops working at once.
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody, description = "no such token of yours"),
        (status = 409, body = ErrorBody, description = "the admin token has no user to own a token")))]
pub async fn delete_my_token(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let user = actor.user.ok_or_else(no_user)?;
    let now = app.engine.clock().now();
    app.write(move |tx| {
        let id = ApiTokenId(id);
        let token = tx.api_tokens_of(user)?.into_iter().find(|t| t.id == id).ok_or_else(|| ApiError::not_found(format!("token {id}")))?;
        tx.delete_api_token(user, id)?;
        let before = json!({"id": id.0, "name": token.name});
        audit::record(tx, &actor, now, "token.delete", &format!("token:{id}"), Some(&before), None)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- audit log ----

/// Every change, newest first, a page at a time: who (`actor`), what (`action`, `target`),
/// when, and the leaves of the thing that changed (`diff`).
#[utoipa::path(get, path = "/audit", tag = "audit", params(wire::PageQuery), responses((status = 200, body = wire::AuditPage)))]
pub async fn list_audit(State(app): State<Arc<App>>, Query(q): Query<wire::PageQuery>) -> Result<Json<wire::AuditPage>, ApiError> {
    let size = crate::admin::page_size(q.limit)?;
    let before = crate::admin::cursor(q.cursor.as_deref())?.map(AuditId);
    let entries = app.read(move |tx| Ok(tx.audit_page(before, size + 1)?)).await?;
    let (entries, next_cursor) = crate::admin::paged(entries, size, |e| e.id.0);
    let entries = entries
        .into_iter()
        .map(|e| wire::AuditEntryView {
            id: e.id.0,
            at: ts(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            diff: serde_json::from_value(e.diff).unwrap_or_default(),
        })
        .collect();
    Ok(Json(wire::AuditPage { entries, next_cursor }))
}
