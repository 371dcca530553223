//! The Segment HTTP tracking API: `POST /v1/identify|track|page|screen|group|alias|batch`.
//!
//! Authentication is HTTP Basic with the write key as user name (or `writeKey` in the body).
//! The body is read whatever its content type, gunzipped if `Content-Encoding: gzip`, and
//! limited in size. In a batch, invalid events are reported and the valid ones kept. The
//! answer comes only after the events are committed.

use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_ENCODING};
use base64::Engine as _;
use domain::event::{Envelope, Event, Kind};
use domain::time::Timestamp;
use serde_json::{Value, json};

use crate::app::App;
use crate::error::{ApiError, Code};

fn call_kind(call: &str) -> Option<Option<Kind>> {
    Some(match call {
        "identify" | "i" => Some(Kind::Identify),
        "track" | "t" => Some(Kind::Track),
        "page" | "p" => Some(Kind::Page),
        "screen" | "s" => Some(Kind::Screen),
        "group" | "g" => Some(Kind::Group),
        "alias" | "a" => Some(Kind::Alias),
        "batch" | "b" | "import" => None,
        _ => return None,
    })
}

pub(crate) fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':').map_or(text.as_str(), |(user, _)| user).to_owned())
}

pub(crate) async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::new(Code::PayloadTooLarge, format!("the request body is larger than {limit} bytes"));
    let raw = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let encoding = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(raw),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::new(Code::InvalidGzip, format!("the body is not valid gzip: {e}")))?;
            if out.len() > limit {
                return Err(too_large());
            }
            Ok(Bytes::from(out))
        }
        other => Err(ApiError::new(Code::UnsupportedEncoding, format!("content encoding {other:?} is not supported; use gzip or none"))),
    }
}

pub async fn ingest(
    State(app): State<Arc<App>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let kind = call_kind(&call).ok_or_else(|| ApiError::new(Code::NotFound, format!("unknown call /v1/{call}")))?;
    let header_key = basic_user(&headers);
    // A missing or wrong key is refused before the body is even read: nothing is stored.
    let header_source = match &header_key {
        Some(key) => {
            Some(app.source_for_key(key).await?.ok_or_else(|| ApiError::new(Code::InvalidWriteKey, "the write key is not valid"))?)
        }
        None => None,
    };
    let bytes = read_body(body, &headers, app.limits.max_request_bytes).await?;
    let mut doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::new(Code::MalformedJson, format!("the body is not valid JSON: {e}")))?;
    let source = match header_source {
        Some(s) => s,
        None => {
            let key = doc.get("writeKey").and_then(Value::as_str).map(str::to_owned);
            let key = key
                .ok_or_else(|| ApiError::new(Code::InvalidWriteKey, "no write key: use HTTP Basic auth with the write key as user name"))?;
            app.source_for_key(&key).await?.ok_or_else(|| ApiError::new(Code::InvalidWriteKey, "the write key is not valid"))?
        }
    };
    let received_at = app.engine.clock().now();
    let max_event = app.limits.max_event_bytes;
    let mut events = Vec::new();
    let mut rejected = Vec::new();
    match kind {
        Some(kind) => {
            if bytes.len() > max_event {
                return Err(ApiError::new(
                    Code::PayloadTooLarge,
                    format!("the event is {} bytes, more than the limit of {max_event}", bytes.len()),
                ));
            }
            let id = app.next_message_id();
            let env = Envelope { kind: Some(kind), received_at, sent_at: None, fallback_message_id: &id };
            let event = Event::parse(doc, &env)
                .map_err(|e| ApiError::new(Code::InvalidEvent, e.to_string()).with_details(json!({"reason": e.code()})))?;
            events.push(event);
        }
        None => {
            let sent_at = doc.get("sentAt").and_then(Value::as_str).and_then(Timestamp::parse);
            let batch = match doc.get_mut("batch").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => return Err(ApiError::new(Code::InvalidBatch, "a batch body is {\"batch\": [events...]}")),
            };
            for (index, raw) in batch.into_iter().enumerate() {
                let size = serde_json::to_vec(&raw).map_or(0, |v| v.len());
                let id = app.next_message_id();
                let env = Envelope { kind: None, received_at, sent_at, fallback_message_id: &id };
                let parsed = if size > max_event {
                    Err(domain::event::EventError::TooLarge { size, limit: max_event })
                } else {
                    Event::parse(raw, &env)
                };
                match parsed {
                    Ok(e) => events.push(e),
                    Err(e) => rejected.push(json!({"index": index, "code": e.code(), "message": e.to_string()})),
                }
            }
            if events.is_empty() && !rejected.is_empty() {
                return Err(ApiError::new(Code::InvalidBatch, "no event in the batch is valid").with_details(json!({"rejected": rejected})));
            }
        }
    }
    let report = app.engine.ingest(source, events).await?;
    Ok(Json(json!({"success": true, "accepted": report.accepted, "duplicates": report.duplicates, "rejected": rejected})))
}
