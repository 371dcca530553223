//! What the SMS provider posts back (Twilio's shape, form-encoded and signed with
//! `X-Twilio-Signature`): a message's status callback (`/t/s/{token}`, the URL each SMS was sent
//! with), and the messages people send to the number (`/t/sms/inbound`, the number's
//! incoming-message webhook). A request whose signature is not the provider's is refused (403)
//! and records nothing.
//!
//! - A status of `delivered` is an `SMS Delivered` event on the person; `undelivered` or
//!   `failed`, `SMS Failed` with the provider's error code. Other statuses (queued, sent ...)
//!   record nothing. Each is recorded once per message, however often the provider repeats it.
//! - A reply STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE) sets `sms_unsubscribed`
//!   on every person texted at that number (`SMS Unsubscribed`); START, UNSTOP or YES clears it
//!   (`SMS Resubscribed`), as the provider's own handling of these words does. Any other reply
//!   is `SMS Received` (its text as `body`) on the person texted there last.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deliver::Purpose;
use domain::ids::ProfileId;

use crate::app::App;

/// People one inbound message can be about (everyone texted at its number).
const MAX_PEOPLE_PER_NUMBER: usize = 100;

const STOP_WORDS: [&str; 8] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"];
const START_WORDS: [&str; 3] = ["START", "UNSTOP", "YES"];

/// The form's fields, in order, if the provider signed them for `url`; `Err` is the answer.
fn verified(app: &App, headers: &HeaderMap, url: &str, body: &[u8]) -> Result<Vec<(String, String)>, (StatusCode, &'static str)> {
    let Some(token) = app.sms_auth_token.as_deref() else {
        return Err((StatusCode::NOT_FOUND, "no SMS provider is configured"));
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !deliver::verify_twilio_signature(token, url, &params, signature) {
        tracing::warn!(url, "an SMS callback without a valid X-Twilio-Signature was refused");
        return Err((StatusCode::FORBIDDEN, "X-Twilio-Signature does not match"));
    }
    Ok(params)
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `POST /t/s/{token}`: what became of one SMS.
pub async fn status(State(app): State<Arc<App>>, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(tracking) = app.tracking.as_ref() else { return StatusCode::NOT_FOUND.into_response() };
    let url = format!("{}/t/s/{token}", tracking.base());
    let params = match verified(&app, &headers, &url, &body) {
        Ok(p) => p,
        Err(answer) => return answer.into_response(),
    };
    let Some(id) = crate::tracking::message(&app, Purpose::SmsStatus, &token, "") else { return StatusCode::NOT_FOUND.into_response() };
    let status = field(&params, "MessageStatus").or(field(&params, "SmsStatus")).unwrap_or_default();
    let name = match status {
        "delivered" => "SMS Delivered",
        "undelivered" | "failed" => "SMS Failed",
        _ => return StatusCode::NO_CONTENT.into_response(),
    };
    let mut properties = domain::Map::new();
    properties.insert("status".into(), status.into());
    if let Some(sid) = field(&params, "MessageSid") {
        properties.insert("provider_id".into(), sid.into());
    }
    if let Some(code) = field(&params, "ErrorCode").filter(|c| !c.is_empty()) {
        properties.insert("error_code".into(), code.into());
    }
    let key = format!("{name}-{}", id.0);
    crate::tracking::record_once(&app, id, name, properties, domain::Map::new(), key).await;
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /t/sms/inbound`: a message someone sent to the number. Answers with an empty TwiML
/// response (nothing is sent back; the provider answers STOP and START itself).
pub async fn inbound(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(tracking) = app.tracking.as_ref() else { return StatusCode::NOT_FOUND.into_response() };
    let url = format!("{}/t/sms/inbound", tracking.base());
    let params = match verified(&app, &headers, &url, &body) {
        Ok(p) => p,
        Err(answer) => return answer.into_response(),
    };
    let (Some(from), Some(sid)) = (field(&params, "From").and_then(domain::journey::phone_number), field(&params, "MessageSid")) else {
        return (StatusCode::BAD_REQUEST, "an inbound message needs From and MessageSid").into_response();
    };
    let text = field(&params, "Body").unwrap_or_default();
    let number = from.clone();
    let people = match app.read(move |tx| Ok(tx.messaged_at(deliver::SMS, &number, MAX_PEOPLE_PER_NUMBER)?)).await {
        Ok(p) => p,
        Err(error) => {
            tracing::error!(?error, "finding who an inbound SMS is from failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if people.is_empty() {
        tracing::info!(from = %from, "an inbound SMS from a number nobody was texted at; nothing recorded");
    }
    let keyword: String = text.trim().chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_uppercase();
    let (name, unsubscribed, whom): (&str, Option<bool>, &[ProfileId]) = if STOP_WORDS.contains(&keyword.as_str()) {
        (engine::SMS_UNSUBSCRIBED_EVENT, Some(true), &people)
    } else if START_WORDS.contains(&keyword.as_str()) {
        ("SMS Resubscribed", Some(false), &people)
    } else {
        ("SMS Received", None, &people[..people.len().min(1)])
    };
    for profile in whom {
        let mut properties = domain::Map::new();
        properties.insert("phone".into(), from.clone().into());
        properties.insert("body".into(), text.into());
        properties.insert("provider_id".into(), sid.into());
        properties.insert("channel".into(), deliver::SMS.into());
        let mut traits = domain::Map::new();
        if let Some(value) = unsubscribed {
            properties.insert("source".into(), "reply".into());
            traits.insert(engine::SMS_UNSUBSCRIBED.into(), value.into());
        }
        let feedback = engine::Feedback { message_id: format!("{name}-{sid}-{}", profile.0), name: name.to_owned(), properties, traits };
        if let Err(error) = app.engine.feedback(*profile, feedback).await {
            tracing::error!(%error, event = name, "recording an inbound SMS failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    ([(header::CONTENT_TYPE, "text/xml")], r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#).into_response()
}
