//! The HTTP application: state, router, and the small helpers handlers share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use domain::ids::SourceId;
use engine::{Engine, ManualClock};
use sha2::{Digest, Sha256};
use store::{Store, Tx};

use crate::config;
use crate::error::{ApiError, Code};
use crate::ingest;

pub struct App {
    pub engine: Arc<Engine>,
    pub store: Arc<dyn Store>,
    /// Set when `testing.manual_clock` is: time moves only through `POST /api/clock`.
    pub manual_clock: Option<Arc<ManualClock>>,
    /// SHA-256 of the admin token, hex.
    pub admin_token_sha256: String,
    pub limits: config::Ingest,
    pub renderer: deliver::Renderer,
    /// Write keys seen so far (sources are never deleted, so a hit stays valid).
    write_keys: RwLock<HashMap<String, SourceId>>,
    /// For `messageId`s the server has to make up.
    message_ids: AtomicU64,
    boot: String,
}

pub fn sha256_hex(s: &str) -> String {
    hex_encode(&Sha256::digest(s.as_bytes()))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token (`wf_` + 48 hex digits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    format!("wf_{}", hex_encode(&bytes))
}

impl App {
    pub fn new(engine: Arc<Engine>, manual_clock: Option<Arc<ManualClock>>, admin_token_sha256: String, limits: config::Ingest) -> App {
        let mut boot = [0u8; 6];
        let _ = getrandom::fill(&mut boot);
        App {
            store: engine.store().clone(),
            engine,
            manual_clock,
            admin_token_sha256,
            limits,
            renderer: deliver::Renderer::default(),
            write_keys: RwLock::new(HashMap::new()),
            message_ids: AtomicU64::new(0),
            boot: hex_encode(&boot),
        }
    }

    /// Runs `f` on a read transaction, off the async threads.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut tx = store.read()?;
            f(&mut *tx)
        })
        .await
        .map_err(|e| ApiError::new(Code::Internal, format!("task failed: {e}")))?
    }

    /// Runs `f` on a write transaction and commits it.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut tx = store.write()?;
            let out = f(&mut *tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
        .map_err(|e| ApiError::new(Code::Internal, format!("task failed: {e}")))?
    }

    pub async fn source_for_key(self: &Arc<Self>, key: &str) -> Result<Option<SourceId>, ApiError> {
        if let Some(id) = self.write_keys.read().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(Some(id));
        }
        let k = key.to_owned();
        let found = self.read(move |tx| Ok(tx.source_by_key(&k)?)).await?;
        if let (Some(id), Ok(mut cache)) = (&found, self.write_keys.write()) {
            cache.insert(key.to_owned(), id.clone());
        }
        Ok(found)
    }

    pub fn next_message_id(&self) -> String {
        format!("wf-{}-{}", self.boot, self.message_ids.fetch_add(1, Ordering::Relaxed))
    }
}

async fn admin_auth(State(app): State<Arc<App>>, request: Request, next: Next) -> Result<Response, ApiError> {
    let token = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    match token {
        Some(t) if sha256_hex(t) == app.admin_token_sha256 => Ok(next.run(request).await),
        Some(_) => Err(ApiError::new(Code::InvalidAdminToken, "the admin token is not valid")),
        None => Err(ApiError::new(Code::InvalidAdminToken, "the admin API needs `Authorization: Bearer <admin token>`")),
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<Arc<App>>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    if let Some(why) = app.engine.unready() {
        return Err(ApiError::new(Code::Unavailable, why));
    }
    app.read(|tx| Ok(tx.setting("ready-probe")?)).await?;
    Ok(axum::Json(serde_json::json!({"status": "ready", "store": app.store.kind()})))
}

pub fn router(app: Arc<App>) -> Router {
    let (api, doc) = crate::openapi::split();
    let api = api
        .fallback(|| async { ApiError::new(Code::NotFound, "no such admin endpoint") })
        .layer(axum::middleware::from_fn_with_state(app.clone(), admin_auth));
    let doc = Arc::new(doc);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/{call}", post(ingest::ingest))
        // The API's description is public: it holds no data.
        .route("/api/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .nest("/api", api)
        .fallback(crate::ui::fallback)
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .with_state(app)
}
