//! The HTTP application: state, router, and the small helpers handlers share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
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
    /// Session cookies are `Secure` (`ui.secure_cookies`).
    pub secure_cookies: bool,
    pub sign_in: crate::auth::SignInLimiter,
    /// Bounds the argon2 work running at once (each takes ~19 MiB and a core for a while), so
    /// a flood of sign-ins cannot exhaust the blocking threads or memory.
    password_work: tokio::sync::Semaphore,
    pub renderer: deliver::Renderer,
    /// Signs and checks the links in emails (`tracking.base_url`); `None`: no tracking.
    pub tracking: Option<deliver::Tracking>,
    /// The SMS provider's auth token, which signs its callbacks (`sms.auth_token`); `None`: no
    /// SMS provider, callbacks are refused.
    pub sms_auth_token: Option<String>,
    /// `in_app.identity_secret`: when set, user ids asking for in-app messages need their hash.
    pub in_app_secret: Option<String>,
    /// `tracking.base_url`: where people reach this server (asset addresses are made absolute with it).
    pub public_base: Option<String>,
    /// Write keys seen so far (sources are never deleted, so a hit stays valid).
    write_keys: RwLock<HashMap<String, SourceId>>,
    /// For `messageId`s the server has to make up.
    message_ids: AtomicU64,
    boot: String,
}

pub fn sha256_hex(s: &str) -> String {
    hex_encode(&Sha256::digest(s.as_bytes()))
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token (`wf_` + 48 hex digits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    format!("wf_{}", hex_encode(&bytes))
}

impl App {
    pub fn new(
        engine: Arc<Engine>,
        manual_clock: Option<Arc<ManualClock>>,
        admin_token_sha256: String,
        limits: config::Ingest,
        secure_cookies: bool,
    ) -> App {
        let mut boot = [0u8; 6];
        let _ = getrandom::fill(&mut boot);
        App {
            store: engine.store().clone(),
            engine,
            manual_clock,
            admin_token_sha256,
            limits,
            secure_cookies,
            sign_in: crate::auth::SignInLimiter::default(),
            password_work: tokio::sync::Semaphore::new(2),
            renderer: deliver::Renderer::default(),
            tracking: None,
            sms_auth_token: None,
            in_app_secret: None,
            public_base: None,
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

    /// Hashes a password (argon2id) off the async threads.
    pub async fn hash_password(self: &Arc<Self>, password: String) -> Result<String, ApiError> {
        let _permit = self.password_work.acquire().await.map_err(|_| ApiError::new(Code::Unavailable, "the server is shutting down"))?;
        tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
            .await
            .map_err(|e| ApiError::new(Code::Internal, format!("task failed: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "hashing a password failed");
                ApiError::new(Code::Internal, "hashing the password failed")
            })
    }

    /// Whether `password` matches `hash` (a PHC string), off the async threads.
    pub async fn verify_password(self: &Arc<Self>, hash: String, password: String) -> Result<bool, ApiError> {
        let _permit = self.password_work.acquire().await.map_err(|_| ApiError::new(Code::Unavailable, "the server is shutting down"))?;
        tokio::task::spawn_blocking(move || crate::auth::verify_password(&hash, &password))
            .await
            .map_err(|e| ApiError::new(Code::Internal, format!("task failed: {e}")))
    }

    pub fn next_message_id(&self) -> String {
        format!("wf-{}-{}", self.boot, self.message_ids.fetch_add(1, Ordering::Relaxed))
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
        // After routing, so it sees the route's template; every route, so none can forget.
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), crate::auth::authorize))
        .fallback(|| async { ApiError::new(Code::NotFound, "no such admin endpoint") });
    let doc = Arc::new(doc);
    // What websites, apps and providers call with a source's write key; any origin may.
    let public = Router::new()
        .route("/v1/{call}", post(ingest::ingest))
        .route("/v1/feedback/email", post(crate::feedback::email))
        .route("/v1/decide", get(crate::in_app::decide))
        .route("/v1/in-app/stream", get(crate::in_app::stream))
        .route("/v1/in-app/{id}/{action}", post(crate::in_app::act))
        .layer(axum::middleware::from_fn(crate::in_app::cors));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(public)
        .route("/in-app.js", get(crate::in_app::script))
        // Uploaded images, public (emails show them).
        .route("/a/{file}", get(crate::assets::serve))
        // The API's description is public: it holds no data.
        .route("/api/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .nest("/api", api)
        .fallback(crate::ui::fallback)
        .layer(axum::middleware::map_response(crate::error::json_errors))
        // Links in emails answer people (HTML, a GIF), outside the JSON errors.
        .route("/t/o/{token}", get(crate::tracking::open))
        .route("/t/c/{token}", get(crate::tracking::click))
        .route("/u/{token}", get(crate::tracking::unsubscribe_page).post(crate::tracking::unsubscribe))
        // The SMS provider's callbacks (form posts it signs).
        .route("/t/s/{token}", post(crate::sms::status))
        .route("/t/sms/inbound", post(crate::sms::inbound))
        .with_state(app)
}
