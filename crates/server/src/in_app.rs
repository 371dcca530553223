//! In-app and web messages: what a person should see now, in the website or app.
//!
//! A journey's send step with `"channel": "in_app"` keeps a message for its person (a banner or
//! a modal, rendered from the template's `in_app` part) until they click it, dismiss it, or it
//! expires. Websites and apps ask for them with a source's write key, as they send events:
//!
//! - `GET /v1/decide?placement=home&userId=…` (or `anonymousId=…`): the messages to show there
//!   now, newest first (those made for any place too).
//! - `GET /v1/in-app/stream?…`, the same as a live stream (Server-Sent Events): the messages
//!   there now, then each new one as a journey decides it.
//! - `POST /v1/in-app/{id}/viewed|clicked|dismissed?userId=…`: what the person did (the
//!   message must be theirs), recorded once each as `In-App Message Viewed` / `Clicked` /
//!   `Dismissed` on their profile (journeys wait for and count them as any event). A clicked or
//!   dismissed message is not shown again.
//! - `GET /in-app.js`: a small script that does all of this on a web page.
//!
//! The write key goes as HTTP Basic user name or as `writeKey` in the query (a browser's
//! `EventSource` cannot set headers). Answers allow any origin (CORS), as the tracking API's:
//! a write key is public by design, in every page that sends events. So with
//! `in_app.identity_secret` set, a `userId` must come with `userHash`, the hex HMAC-SHA256 of
//! the user id with that secret (made by the site's backend), or it is refused
//! (`invalid_user_hash`); anonymous ids are random and made by the browser.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::ids::{Identity, OutboxId, ProfileId};
use serde::{Deserialize, Serialize};
use store::{InAppAction, InAppMessage};
use tokio::sync::broadcast::error::RecvError;

use crate::app::App;
use crate::error::{ApiError, Code};
use crate::wire::{InAppContent, InAppLayout};

/// The most messages one answer or stream start holds.
const MAX_SHOWN: usize = 10;

/// How often a live stream looks up its person again (they may have been merged into another
/// since it started), at most.
const RESOLVE_EVERY: Duration = Duration::from_secs(30);

/// The script websites include: `<script src=".../in-app.js" data-write-key="…" async>`.
const SCRIPT: &str = include_str!("in_app.js");

/// Whom a website or app asks for, and where.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Ask {
    /// The place in the page or app (what templates name as `placement`); absent: messages
    /// made for any place only.
    #[serde(default)]
    placement: String,
    user_id: Option<String>,
    anonymous_id: Option<String>,
    user_hash: Option<String>,
    write_key: Option<String>,
}

/// A message to show, as websites and apps get it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Shown {
    /// Names it in `POST /v1/in-app/{id}/…`.
    pub id: i64,
    pub placement: String,
    pub layout: InAppLayout,
    pub title: String,
    pub body: String,
    pub button: String,
    pub link: String,
    pub image: String,
    pub created_at: String,
    pub expires_at: String,
}

impl From<&InAppMessage> for Shown {
    fn from(m: &InAppMessage) -> Shown {
        let c = InAppContent::from(m.content.clone());
        Shown {
            id: m.id.0,
            placement: c.placement,
            layout: c.layout,
            title: c.title,
            body: c.body,
            button: c.button,
            link: c.link,
            image: c.image,
            created_at: m.created_at.to_string(),
            expires_at: m.expires_at.to_string(),
        }
    }
}

/// `GET /v1/decide`'s answer.
#[derive(Serialize, Deserialize, Debug)]
pub struct Decision {
    /// Newest first; empty when there is nothing to show (or the person is not known yet).
    pub messages: Vec<Shown>,
}

/// The source's write key of a request: HTTP Basic user name, else `writeKey` in the query.
async fn check_key(app: &Arc<App>, headers: &HeaderMap, query: Option<&str>) -> Result<(), ApiError> {
    let key = crate::ingest::basic_user(headers).or_else(|| query.map(str::to_owned)).ok_or_else(|| {
        ApiError::new(Code::InvalidWriteKey, "no write key: use HTTP Basic auth with a source's write key as user name, or ?writeKey=")
    })?;
    app.source_for_key(&key).await?.ok_or_else(|| ApiError::new(Code::InvalidWriteKey, "the write key is not valid"))?;
    Ok(())
}

impl Ask {
    /// Whom the request is for; with `in_app.identity_secret` set, a user id needs its hash.
    fn identity(&self, app: &App) -> Result<Identity, ApiError> {
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        match (given(&self.user_id), given(&self.anonymous_id)) {
            (Some(user), _) => {
                if let Some(secret) = &app.in_app_secret
                    && !user_hash_matches(secret, &user, self.user_hash.as_deref().unwrap_or(""))
                {
                    return Err(ApiError::new(
                        Code::InvalidUserHash,
                        "userHash must be the hex HMAC-SHA256 of the userId with in_app.identity_secret (made by your backend)",
                    ));
                }
                Ok(Identity::UserId(user))
            }
            (None, Some(anonymous)) => Ok(Identity::AnonymousId(anonymous)),
            (None, None) => Err(ApiError::new(Code::InvalidRequest, "say whom: userId or anonymousId (as in their events)")),
        }
    }
}

/// The `userHash` of a user id: the hex HMAC-SHA256 of it with `in_app.identity_secret`, as a
/// site's backend makes it.
pub fn user_hash(secret: &str, user: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, user.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `hash` is the hex HMAC-SHA256 of `user` with `secret` (compared in constant time).
fn user_hash_matches(secret: &str, user: &str, hash: &str) -> bool {
    let hash = hash.trim();
    let tag: Option<Vec<u8>> =
        (hash.len() == 64).then(|| (0..32).map(|i| u8::from_str_radix(hash.get(i * 2..i * 2 + 2)?, 16).ok()).collect()).flatten();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    tag.is_some_and(|tag| ring::hmac::verify(&key, user.as_bytes(), &tag).is_ok())
}

/// The person known by `identity` now (as merged), if any event has named them.
async fn person(app: &Arc<App>, identity: Identity) -> Result<Option<ProfileId>, ApiError> {
    app.read(move |tx| {
        let Some(id) = tx.profile_by_identity(&identity)? else { return Ok(None) };
        Ok(tx.canonical(id)?.or(Some(id)))
    })
    .await
}

async fn current(app: &Arc<App>, person: Option<ProfileId>, placement: String) -> Result<Vec<InAppMessage>, ApiError> {
    let Some(person) = person else { return Ok(Vec::new()) };
    let now = app.engine.clock().now();
    app.read(move |tx| Ok(tx.in_app_messages(person, &placement, now, MAX_SHOWN)?)).await
}

/// `GET /v1/decide?placement=&userId=|anonymousId=`: what this person should see there now.
pub async fn decide(State(app): State<Arc<App>>, headers: HeaderMap, Query(ask): Query<Ask>) -> Result<Json<Decision>, ApiError> {
    check_key(&app, &headers, ask.write_key.as_deref()).await?;
    let who = person(&app, ask.identity(&app)?).await?;
    let messages = current(&app, who, ask.placement.trim().to_owned()).await?;
    Ok(Json(Decision { messages: messages.iter().map(Shown::from).collect() }))
}

/// `GET /v1/in-app/stream?placement=&userId=|anonymousId=`: the messages there now, then each
/// new one for the person, as Server-Sent Events (`event: message`, JSON data as `decide`'s).
pub async fn stream(State(app): State<Arc<App>>, headers: HeaderMap, Query(ask): Query<Ask>) -> Result<Response, ApiError> {
    check_key(&app, &headers, ask.write_key.as_deref()).await?;
    let identity = ask.identity(&app)?;
    let placement = ask.placement.trim().to_owned();
    // Listening before reading what is there, so nothing kept in between is missed.
    let news = app.engine.in_app_messages();
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(MAX_SHOWN * 2);
    tokio::spawn(follow(app, identity, placement, news, tx));
    let events =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok::<_, std::convert::Infallible>(e), rx)) });
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response();
    // Proxies must not hold the stream back.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Sends a person's messages at `placement` to `out`: those there now, then each new one, until
/// the page goes away.
async fn follow(
    app: Arc<App>,
    identity: Identity,
    placement: String,
    mut news: tokio::sync::broadcast::Receiver<InAppMessage>,
    out: tokio::sync::mpsc::Sender<Event>,
) {
    let mut sent = HashSet::new();
    let mut who = None;
    let mut resolved = None::<Instant>;
    // Looks the person up again (unknown until their first event; merged since) and sends
    // what they have that this page has not had.
    let mut catch_up = true;
    loop {
        if catch_up {
            catch_up = false;
            match person(&app, identity.clone()).await {
                Ok(found) => {
                    who = found;
                    resolved = Some(Instant::now());
                }
                Err(error) => tracing::warn!(?error, "looking up the person of an in-app stream failed"),
            }
            let messages = current(&app, who, placement.clone()).await.unwrap_or_default();
            // Oldest first, so the page ends showing the newest.
            for m in messages.iter().rev() {
                if sent.insert(m.id) && out.send(event(m)).await.is_err() {
                    return;
                }
            }
        }
        let message = tokio::select! {
            () = out.closed() => return,
            message = news.recv() => message,
        };
        match message {
            Ok(m) if Some(m.profile) == who => {
                let here = m.content.placement.is_empty() || m.content.placement == placement;
                if here && sent.insert(m.id) && out.send(event(&m)).await.is_err() {
                    return;
                }
            }
            // Someone else's: unless this person is not known yet, or was looked up a while
            // ago (and may be known under another profile since a merge).
            Ok(_) => catch_up = who.is_none() || resolved.is_none_or(|at| at.elapsed() > RESOLVE_EVERY),
            // Fell behind: read what is kept instead.
            Err(RecvError::Lagged(_)) => catch_up = true,
            Err(RecvError::Closed) => return,
        }
    }
}

fn event(m: &InAppMessage) -> Event {
    let data = serde_json::to_string(&Shown::from(m)).unwrap_or_else(|_| "{}".into());
    Event::default().event("message").id(m.id.0.to_string()).data(data)
}

/// What `POST /v1/in-app/{id}/{action}` recorded.
#[derive(Serialize, Deserialize, Debug)]
pub struct Recorded {
    /// `false`: it was recorded before (the first counts).
    pub recorded: bool,
}

/// `POST /v1/in-app/{id}/viewed|clicked|dismissed?userId=|anonymousId=`: only the person the
/// message is for (as merged now) may; for anyone else it does not exist.
pub async fn act(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Query(ask): Query<Ask>,
) -> Result<Json<Recorded>, ApiError> {
    check_key(&app, &headers, ask.write_key.as_deref()).await?;
    let action = InAppAction::parse(&action)
        .ok_or_else(|| ApiError::new(Code::NotFound, format!("unknown action {action:?}: viewed, clicked or dismissed")))?;
    let identity = ask.identity(&app)?;
    let now = app.engine.clock().now();
    let id = OutboxId(id);
    let (message, recorded) = app
        .write(move |tx| {
            let not_found = || ApiError::not_found(format!("in-app message {} of this person", id.0));
            let who = tx.profile_by_identity(&identity)?.ok_or_else(not_found)?;
            let who = tx.canonical(who)?.unwrap_or(who);
            let Some(message) = tx.in_app_message(id)?.filter(|m| m.profile == who) else {
                return Err(not_found());
            };
            let recorded = tx.mark_in_app(id, action, now)?;
            Ok((message, recorded))
        })
        .await?;
    if recorded {
        let name = match action {
            InAppAction::Viewed => "In-App Message Viewed",
            InAppAction::Clicked => "In-App Message Clicked",
            InAppAction::Dismissed => "In-App Message Dismissed",
        };
        let mut properties = domain::Map::new();
        properties.insert("placement".into(), message.content.placement.clone().into());
        if action == InAppAction::Clicked && !message.content.link.is_empty() {
            properties.insert("link".into(), message.content.link.clone().into());
        }
        let key = format!("in-app-{}-{}", id.0, action.as_str());
        crate::tracking::record_once(&app, id, name, properties, domain::Map::new(), key).await;
    }
    Ok(Json(Recorded { recorded }))
}

/// `GET /in-app.js`: the script for web pages.
pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], SCRIPT).into_response()
}

/// The tracking API and these endpoints answer pages of any origin: a preflight is answered
/// here, and every answer says any origin may read it.
pub async fn cors(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type, content-encoding"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        return response;
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}
