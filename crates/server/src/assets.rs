//! Images templates show (a logo, a product shot), uploaded to Wayfarer and served by it under
//! the SHA-256 of their bytes: `/a/{hash}.{ext}`. The address of an image never changes what it
//! shows, so it is cached for good, and the same bytes uploaded twice are kept once.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use store::Asset;
use utoipa::{IntoParams, ToSchema};

use crate::admin::{cursor, page_size, paged};
use crate::app::App;
use crate::auth::Actor;
use crate::error::{ApiError, Code};
use crate::wire::ErrorBody;

/// The largest image taken.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// Whether bytes begin as an image of a kind does.
type Looks = fn(&[u8]) -> bool;

/// The kinds of image taken: content type, file extension, and how their bytes begin.
const KINDS: [(&str, &str, Looks); 4] = [
    ("image/png", "png", |b| b.starts_with(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", "jpg", |b| b.starts_with(&[0xff, 0xd8, 0xff])),
    ("image/gif", "gif", |b| b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")),
    ("image/webp", "webp", |b| b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP"),
];

fn extension(content_type: &str) -> &'static str {
    KINDS.iter().find(|(t, _, _)| *t == content_type).map_or("bin", |(_, e, _)| e)
}

/// An uploaded image.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct AssetView {
    /// The SHA-256 of its bytes (lower-case hex).
    pub hash: String,
    pub content_type: String,
    /// The file's name when it was first uploaded.
    pub name: String,
    pub size: i64,
    /// Where it is served: absolute when `tracking.base_url` is set (as emails need), else a
    /// path on this server.
    pub url: String,
    pub created_at: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct AssetList {
    /// Newest first.
    pub assets: Vec<AssetView>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for people ("logo.png").
    pub name: Option<String>,
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct AssetsQuery {
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

fn view(app: &App, a: &Asset) -> AssetView {
    let path = format!("/a/{}.{}", a.hash, extension(&a.content_type));
    AssetView {
        hash: a.hash.clone(),
        content_type: a.content_type.clone(),
        name: a.name.clone(),
        size: a.size,
        url: app.public_base.as_deref().map_or_else(|| path.clone(), |base| format!("{base}{path}")),
        created_at: a.created_at.to_string(),
    }
}

/// Uploads an image (PNG, JPEG, GIF or WebP, at most 5 MiB) as the request body, with its
/// content type; answers where it is served: 201 for a new image, 200 for bytes uploaded before
/// (the same asset, with the name it was first uploaded with).
#[utoipa::path(post, path = "/assets", tag = "templates", params(UploadQuery),
    request_body(content = String, content_type = "image/png", description = "The image's bytes, with its Content-Type: image/png, image/jpeg, image/gif or image/webp"),
    responses((status = 201, body = AssetView, description = "A new image"),
        (status = 200, body = AssetView, description = "These bytes were uploaded before: the same asset"),
        (status = 400, body = ErrorBody, description = "`invalid_request`: the bytes are not an image of the type sent"),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: more than 5 MiB"),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: not image/png, image/jpeg, image/gif or image/webp")))]
pub async fn upload(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<AssetView>), ApiError> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let declared = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some((content_type, _, looks_like)) = KINDS.iter().find(|(t, _, _)| *t == declared) else {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            format!("{declared:?} is not an image kind taken: send image/png, image/jpeg, image/gif or image/webp"),
        ));
    };
    let bytes = axum::body::to_bytes(body, MAX_BYTES)
        .await
        .map_err(|_| ApiError::new(Code::PayloadTooLarge, format!("an image is at most {MAX_BYTES} bytes")))?;
    if !looks_like(&bytes) {
        return Err(ApiError::new(Code::InvalidRequest, format!("the body is not an image of type {content_type}")));
    }
    let hash: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let name = q.name.map(|n| n.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
    let name = name.unwrap_or_else(|| format!("{}.{}", &hash[..12], extension(content_type)));
    let now = app.engine.clock().now();
    let (asset, new) = app
        .write(move |tx| {
            let new = tx.asset(&hash)?.is_none();
            let asset = tx.put_asset(&hash, content_type, &name, &bytes, now)?;
            // (Bytes uploaded before change nothing, so the audit log has nothing to say.)
            if new {
                let after =
                    serde_json::json!({"hash": asset.hash, "name": asset.name, "content_type": asset.content_type, "size": asset.size});
                crate::audit::record(tx, &actor, now, "asset.put", &format!("asset:{}", asset.hash), None, Some(&after))?;
            }
            Ok((asset, new))
        })
        .await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&app, &asset))))
}

/// Uploaded images, newest first, a page at a time.
#[utoipa::path(get, path = "/assets", tag = "templates", params(AssetsQuery), responses((status = 200, body = AssetList)))]
pub async fn list(State(app): State<Arc<App>>, Query(q): Query<AssetsQuery>) -> Result<Json<AssetList>, ApiError> {
    let size = page_size(q.limit)?;
    let before = cursor(q.cursor.as_deref())?;
    let page = app.read(move |tx| Ok(tx.assets(before, size + 1)?)).await?;
    let (page, next_cursor) = paged(page, size, |a| a.id);
    Ok(Json(AssetList { assets: page.iter().map(|a| view(&app, a)).collect(), next_cursor }))
}

/// `GET /a/{hash}.{ext}`: the image, public (emails show it), cached for good.
pub async fn serve(State(app): State<Arc<App>>, Path(file): Path<String>) -> Response {
    let hash = file.split_once('.').map_or(file.as_str(), |(h, _)| h).to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match app.read(move |tx| Ok(tx.asset(&hash)?)).await {
        Ok(Some((asset, bytes))) => {
            let content_type = HeaderValue::from_str(&asset.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
                    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
