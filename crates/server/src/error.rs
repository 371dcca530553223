//! Every error the HTTP API returns, with its stable code and status, in one table.
//! Clients get `{"code": ..., "message": ...}` (plus `details` where useful).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidWriteKey,
    InvalidUserHash,
    InvalidAdminToken,
    NotSignedIn,
    InvalidCredentials,
    TooManyAttempts,
    Forbidden,
    CsrfFailed,
    WeakPassword,
    MalformedJson,
    InvalidGzip,
    UnsupportedEncoding,
    PayloadTooLarge,
    InvalidEvent,
    InvalidBatch,
    InvalidRequest,
    NotFound,
    Conflict,
    JourneyInvalid,
    TemplateInvalid,
    SegmentInvalid,
    ComputedTraitInvalid,
    LifecycleInvalid,
    ClockNotManual,
    MethodNotAllowed,
    UnsupportedMediaType,
    Unavailable,
    Internal,
}

/// The table: code, HTTP status, name.
const TABLE: &[(Code, StatusCode, &str)] = &[
    (Code::InvalidWriteKey, StatusCode::UNAUTHORIZED, "invalid_write_key"),
    (Code::InvalidUserHash, StatusCode::UNAUTHORIZED, "invalid_user_hash"),
    (Code::InvalidAdminToken, StatusCode::UNAUTHORIZED, "invalid_admin_token"),
    (Code::NotSignedIn, StatusCode::UNAUTHORIZED, "not_signed_in"),
    (Code::InvalidCredentials, StatusCode::UNAUTHORIZED, "invalid_credentials"),
    (Code::TooManyAttempts, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
    (Code::Forbidden, StatusCode::FORBIDDEN, "forbidden"),
    (Code::CsrfFailed, StatusCode::FORBIDDEN, "csrf_failed"),
    (Code::WeakPassword, StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
    (Code::MalformedJson, StatusCode::BAD_REQUEST, "malformed_json"),
    (Code::InvalidGzip, StatusCode::BAD_REQUEST, "invalid_gzip"),
    (Code::UnsupportedEncoding, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding"),
    (Code::PayloadTooLarge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    (Code::InvalidEvent, StatusCode::BAD_REQUEST, "invalid_event"),
    (Code::InvalidBatch, StatusCode::BAD_REQUEST, "invalid_batch"),
    (Code::InvalidRequest, StatusCode::BAD_REQUEST, "invalid_request"),
    (Code::NotFound, StatusCode::NOT_FOUND, "not_found"),
    (Code::Conflict, StatusCode::CONFLICT, "conflict"),
    (Code::JourneyInvalid, StatusCode::UNPROCESSABLE_ENTITY, "journey_invalid"),
    (Code::TemplateInvalid, StatusCode::UNPROCESSABLE_ENTITY, "template_invalid"),
    (Code::SegmentInvalid, StatusCode::UNPROCESSABLE_ENTITY, "segment_invalid"),
    (Code::ComputedTraitInvalid, StatusCode::UNPROCESSABLE_ENTITY, "computed_trait_invalid"),
    (Code::LifecycleInvalid, StatusCode::UNPROCESSABLE_ENTITY, "lifecycle_invalid"),
    (Code::ClockNotManual, StatusCode::CONFLICT, "clock_not_manual"),
    (Code::MethodNotAllowed, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    (Code::UnsupportedMediaType, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
    (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    (Code::Internal, StatusCode::INTERNAL_SERVER_ERROR, "internal"),
];

impl Code {
    fn entry(self) -> (StatusCode, &'static str) {
        TABLE.iter().find(|(c, _, _)| *c == self).map_or((StatusCode::INTERNAL_SERVER_ERROR, "internal"), |(_, s, n)| (*s, *n))
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds, sent as `Retry-After` (`too_many_attempts`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), details: None, retry_after: None }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(Code::NotFound, format!("{what} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, name) = self.code.entry();
        let mut response =
            (status, axum::Json(crate::wire::ErrorBody { code: name.to_owned(), message: self.message, details: self.details }))
                .into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> ApiError {
        match e {
            store::Error::NotFound(what) => ApiError::not_found(what),
            store::Error::Conflict(what) => ApiError::new(Code::Conflict, format!("{what} already exists")),
            other => {
                // 5xx never leak internals: log the error, answer with a generic message.
                tracing::error!(error = %other, "store error");
                ApiError::new(Code::Unavailable, "the store is unavailable; try again")
            }
        }
    }
}

impl From<engine::Error> for ApiError {
    fn from(e: engine::Error) -> ApiError {
        tracing::error!(error = %e, "engine error");
        match e {
            engine::Error::ShuttingDown => ApiError::new(Code::Unavailable, "the server is shutting down; retry"),
            engine::Error::Store(_) => ApiError::new(Code::Unavailable, "the events could not be stored; retry"),
            engine::Error::Timers(_) => ApiError::new(Code::Unavailable, "due timers could not be fired; retry"),
            engine::Error::Sync(_) => {
                ApiError::new(Code::Unavailable, "the events may not be on disk; retry (repeats are deduplicated by messageId)")
            }
            engine::Error::Invalid(message) => ApiError::new(Code::InvalidRequest, message),
            engine::Error::NotFound(what) => ApiError::not_found(what),
        }
    }
}

/// Every error answer is `{code, message}`: what the framework answers by itself (a body of
/// the wrong shape or content type, a bad path or query parameter, a method a route does not
/// take) is turned into the same shape, with the code its status has in the table.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let said = String::from_utf8_lossy(&text).trim().to_owned();
    let (code, fallback) = match status {
        StatusCode::NOT_FOUND => (Code::NotFound, "not found"),
        StatusCode::METHOD_NOT_ALLOWED => (Code::MethodNotAllowed, "this endpoint does not take that method"),
        StatusCode::PAYLOAD_TOO_LARGE => (Code::PayloadTooLarge, "the body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (Code::UnsupportedMediaType, "send the body as JSON, with content-type: application/json"),
        s if s.is_server_error() => {
            // 5xx never leak internals.
            tracing::error!(status = %s, body = %said, "framework error");
            return with_headers(ApiError::new(Code::Internal, "internal error").into_response(), &parts.headers);
        }
        _ => (Code::InvalidRequest, "invalid request"),
    };
    let message = if said.is_empty() { fallback.to_owned() } else { said };
    with_headers(ApiError::new(code, message).into_response(), &parts.headers)
}

/// Keeps the headers that say how to retry (`allow` on 405, `retry-after`).
fn with_headers(mut response: Response, from: &axum::http::HeaderMap) -> Response {
    for name in [axum::http::header::ALLOW, axum::http::header::RETRY_AFTER] {
        if let Some(v) = from.get(&name) {
            response.headers_mut().insert(name, v.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_row_and_names_are_unique() {
        let mut names: Vec<_> = TABLE.iter().map(|(_, _, n)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        assert_eq!(Code::PayloadTooLarge.entry(), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    }
}
