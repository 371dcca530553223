//! The web interface, served by the same binary: the files `web/` builds (`web/dist`,
//! committed) are embedded at compile time, so a fresh clone serves the UI with no Node.js
//! and nothing read from disk. `/assets/*` are content-hashed (cached for a year); every other
//! GET that is not an API route answers `index.html` (the page routes itself).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::{ApiError, Code};

#[derive(RustEmbed)]
#[folder = "../../web/dist/"]
struct Dist;

/// What the page may load: only this server (no external request, by policy and by test);
/// inline styles are the canvas library's; framed previews are `srcdoc` documents.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn file(path: &str, cache: &'static str) -> Option<Response> {
    let f = Dist::get(path)?;
    let mut response = Response::new(Body::from(f.data.into_owned()));
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(f.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Some(response)
}

/// The router's fallback: the UI for page routes, a JSON 404 for anything else.
pub async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    let page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !["/api/", "/v1/"].iter().any(|p| path.starts_with(p) || path == p.trim_end_matches('/'));
    if !page {
        return ApiError::new(Code::NotFound, "no such endpoint").into_response();
    }
    if let Some(asset) = path.strip_prefix("/assets/") {
        return file(&format!("assets/{asset}"), "public, max-age=31536000, immutable")
            .unwrap_or_else(|| ApiError::new(Code::NotFound, format!("no asset {asset:?}")).into_response());
    }
    file("index.html", "no-cache")
        .unwrap_or_else(|| (StatusCode::NOT_FOUND, "the web interface was not built into this binary (web/dist is empty)").into_response())
}

/// Whether the binary has the UI (for `wayfarer serve`'s first lines).
pub fn present() -> bool {
    Dist::get("index.html").is_some()
}
