//! The public links in emails (`deliver::Tracking`): the open pixel, click redirects and the
//! one-click unsubscribe of RFC 8058. What people do with them comes back as events on their
//! profile (`Email Opened`, `Email Clicked`, `Email Unsubscribed`), processed in order with
//! their other events, so journeys can wait for them, branch on them and count them.
//!
//! These pages answer people, not programs: HTML (or a GIF), never the API's JSON errors. A
//! link whose signature is wrong answers "not valid" and records nothing. A `GET` of the
//! unsubscribe link is the person's preference page: it says whether they get marketing email
//! and offers to change it with a button, and changes nothing itself (link scanners follow
//! links); the `POST` (the button, or a mail client's one-click `List-Unsubscribe=One-Click`)
//! unsubscribes, or with `?action=resubscribe` subscribes again.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use deliver::Purpose;
use domain::ids::OutboxId;
use serde::Deserialize;

use crate::app::App;

/// A 1×1 transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The message a link names, if the link is valid.
pub(crate) fn message(app: &App, purpose: Purpose, token: &str, url: &str) -> Option<OutboxId> {
    app.tracking.as_ref()?.verify(purpose, token, url).map(OutboxId)
}

/// Records what a person did with a message: `name` with the message's journey, step and
/// template, and `traits` set first (an unsubscribe). Each is an event of its own (its
/// messageId has the time), so an unsubscribe after a resubscribe counts again.
async fn record(app: &Arc<App>, id: OutboxId, name: &str, extra: domain::Map, traits: domain::Map) {
    let key = format!("{name}-{}-{}", id.0, app.engine.clock().now().0);
    record_once(app, id, name, extra, traits, key).await;
}

/// `record`, as the event with messageId `key` (the same key again is a duplicate).
pub(crate) async fn record_once(app: &Arc<App>, id: OutboxId, name: &str, extra: domain::Map, traits: domain::Map, key: String) {
    let entry = match app.read(move |tx| Ok(tx.outbox_entry(id)?)).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return tracing::warn!(message = id.0, "a tracking link names a message that is not in the outbox"),
        Err(error) => return tracing::error!(?error, message = id.0, "reading the message of a tracking link failed"),
    };
    let mut properties = extra;
    properties.insert("message_id".into(), id.0.into());
    properties.insert("channel".into(), entry.channel.clone().into());
    properties.insert("journey".into(), entry.payload.context.journey.0.clone().into());
    properties.insert("node".into(), entry.payload.effect.node().0.clone().into());
    if let domain::journey::Effect::Send { template, .. } = &entry.payload.effect {
        properties.insert("template".into(), template.0.clone().into());
    }
    let feedback = engine::Feedback { message_id: key, name: name.to_owned(), properties, traits };
    if let Err(error) = app.engine.feedback(entry.profile, feedback).await {
        tracing::error!(%error, message = id.0, event = name, "recording what came back from a message failed");
    }
}

/// `GET /t/o/{token}`: the open pixel. Always the GIF; an open is recorded when the link is valid.
pub async fn open(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    if let Some(id) = message(&app, Purpose::Open, &token, "") {
        record(&app, id, "Email Opened", domain::Map::new(), domain::Map::new()).await;
    }
    ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")], PIXEL).into_response()
}

#[derive(Deserialize)]
pub struct ClickQuery {
    u: Option<String>,
}

/// `GET /t/c/{token}?u=URL`: records the click and redirects to the URL the email held.
pub async fn click(State(app): State<Arc<App>>, Path(token): Path<String>, Query(q): Query<ClickQuery>) -> Response {
    let url = q.u.unwrap_or_default();
    let Some(id) = message(&app, Purpose::Click, &token, &url) else { return invalid() };
    let mut props = domain::Map::new();
    props.insert("url".into(), url.clone().into());
    record(&app, id, "Email Clicked", props, domain::Map::new()).await;
    (StatusCode::FOUND, [(header::LOCATION, url.as_str()), (header::CACHE_CONTROL, "no-store")]).into_response()
}

/// Whether the person a message went to (as merged now) is unsubscribed from marketing email.
async fn unsubscribed(app: &Arc<App>, id: OutboxId) -> Result<bool, crate::error::ApiError> {
    app.read(move |tx| {
        let Some(entry) = tx.outbox_entry(id)? else { return Ok(false) };
        let person = tx.canonical(entry.profile)?.unwrap_or(entry.profile);
        Ok(tx.profile(person)?.is_some_and(|p| p.traits.get(engine::EMAIL_UNSUBSCRIBED) == Some(&true.into())))
    })
    .await
}

const UNSUBSCRIBE_FORM: &str = r#"<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>"#;
const RESUBSCRIBE_FORM: &str = r#"<form method="post" action="?action=resubscribe"><button type="submit">Subscribe again</button></form>"#;

/// `GET /u/{token}`: the person's preference page. Changes nothing.
pub async fn unsubscribe_page(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let Some(id) = message(&app, Purpose::Unsubscribe, &token, "") else { return invalid() };
    match unsubscribed(&app, id).await {
        Ok(true) => page(
            StatusCode::OK,
            "Email preferences",
            &format!(
                "<p>You are unsubscribed from our marketing email. Messages you asked for, such as receipts, still arrive.</p>{RESUBSCRIBE_FORM}"
            ),
        ),
        Ok(false) => page(
            StatusCode::OK,
            "Unsubscribe",
            &format!(
                "<p>Stop receiving marketing email from us? Messages you asked for, such as receipts, still arrive.</p>{UNSUBSCRIBE_FORM}"
            ),
        ),
        Err(_) => unavailable(),
    }
}

#[derive(Deserialize)]
pub struct ChangeQuery {
    action: Option<String>,
}

/// `POST /u/{token}`: unsubscribes the person from marketing email, at once (what is queued for
/// them too): the one-click POST of RFC 8058 and the page's button alike. With
/// `?action=resubscribe`, subscribes them again.
pub async fn unsubscribe(State(app): State<Arc<App>>, Path(token): Path<String>, Query(q): Query<ChangeQuery>) -> Response {
    let Some(id) = message(&app, Purpose::Unsubscribe, &token, "") else { return invalid() };
    let resubscribe = q.action.as_deref() == Some("resubscribe");
    let mut traits = domain::Map::new();
    traits.insert(engine::EMAIL_UNSUBSCRIBED.into(), (!resubscribe).into());
    if resubscribe {
        record(&app, id, "Email Resubscribed", domain::Map::new(), traits).await;
        page(
            StatusCode::OK,
            "Subscribed",
            &format!("<p>You are subscribed again: our marketing email will reach you.</p>{UNSUBSCRIBE_FORM}"),
        )
    } else {
        record(&app, id, "Email Unsubscribed", domain::Map::new(), traits).await;
        page(
            StatusCode::OK,
            "Unsubscribed",
            &format!("<p>You are unsubscribed: we will not send you marketing email any more.</p>{RESUBSCRIBE_FORM}"),
        )
    }
}

fn unavailable() -> Response {
    page(StatusCode::SERVICE_UNAVAILABLE, "Please try again", "<p>This page could not be shown just now. Please try again in a minute.</p>")
}

fn invalid() -> Response {
    page(StatusCode::NOT_FOUND, "Link not valid", "<p>This link is not valid. It may have been cut short: try copying all of it.</p>")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328}}
button{{font:inherit;padding:.5rem 1rem;border:1px solid #1f2328;border-radius:6px;background:#fff;cursor:pointer}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"#
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
