//! The `wayfarer` server: HTTP (Segment ingest, admin API, health), configuration and the
//! command line.
//!
//! Architecture Invariant: this is the only crate that knows HTTP and JSON wire shapes.
//! Handlers are thin: they parse, call the engine or the store, and shape the answer.

pub mod admin;
pub mod analytics;
pub mod app;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod computed;
pub mod config;
pub mod document;
pub mod error;
pub mod feedback;
pub mod in_app;
pub mod ingest;
pub mod lifecycle;
pub mod openapi;
pub mod segments;
pub mod sms;
pub mod tasks;
pub mod teams;
pub mod tracking;
pub mod ui;
pub mod wire;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use engine::{Clock, Engine, ManualClock, SystemClock};
use store::{PostgresStore, SqliteStore, Store};

pub use app::App;
pub use config::Config;

/// Settings-table key of the admin token's hash.
const ADMIN_TOKEN_KEY: &str = "admin_token_sha256";

/// A built server: store opened, engine running, router ready.
pub struct Server {
    pub app: Arc<App>,
    pub router: axum::Router,
    /// A token generated on this start (first start without a configured token).
    pub new_admin_token: Option<String>,
    /// The admin user made on this start (the store had no users): e-mail and password.
    pub new_admin_user: Option<(String, String)>,
}

/// The e-mail of the admin user made on a first start.
pub const FIRST_ADMIN_EMAIL: &str = "admin@localhost";

/// Creates a user (blocking: hashes the password with argon2) and audits it as done by
/// `actor` (e.g. `cli`), in one transaction.
pub fn add_user(
    store: &dyn Store,
    email: &str,
    name: Option<&str>,
    role: store::Role,
    password: &str,
    now: domain::time::Timestamp,
    actor: &str,
) -> anyhow::Result<store::UserId> {
    let email = auth::normalize_email(email).map_err(anyhow::Error::msg)?;
    auth::check_password(password).map_err(|e| anyhow::anyhow!(e.message))?;
    let name = name.map_or_else(|| email.split('@').next().unwrap_or(&email).to_owned(), str::to_owned);
    let password_hash = auth::hash_password(password).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    let mut tx = store.write()?;
    let id = tx.create_user(&store::NewUser { email: email.clone(), name: name.clone(), role, password_hash, now })?;
    let after = serde_json::json!({"email": email, "name": name, "role": role.as_str(), "password": "set"});
    tx.add_audit(&store::NewAudit {
        at: now,
        actor: actor.to_owned(),
        action: "user.create".into(),
        target: format!("user:{email}"),
        diff: serde_json::to_value(audit::diff(None, Some(&after)))?,
    })?;
    tx.commit()?;
    Ok(id)
}

/// The setting that holds the secret tracking links are signed with (made at first start).
const TRACKING_SECRET_KEY: &str = "tracking_secret";

/// Tracking for the links in emails when `tracking.base_url` is set, signed with the store's
/// tracking secret (made once, so links in emails sent before a restart stay valid).
async fn tracking(config: &Config, store: &Arc<dyn store::Store>) -> anyhow::Result<Option<deliver::Tracking>> {
    if config.tracking.base_url.trim().is_empty() {
        return Ok(None);
    }
    let s = store.clone();
    let secret = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        if let Some(secret) = s.read()?.setting(TRACKING_SECRET_KEY)? {
            return Ok(secret);
        }
        let mut tx = s.write()?;
        // Another node may have made it first.
        if let Some(secret) = tx.setting(TRACKING_SECRET_KEY)? {
            return Ok(secret);
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
        let secret = app::hex_encode(&bytes);
        tx.set_setting(TRACKING_SECRET_KEY, &secret)?;
        tx.commit()?;
        Ok(secret)
    })
    .await??;
    Ok(Some(deliver::Tracking::new(&config.tracking.base_url, secret.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?))
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if !config.database_url.is_empty() {
        let url = config.database_url.clone();
        let store = tokio::task::spawn_blocking(move || PostgresStore::connect(&url, None))
            .await?
            .context("connecting to PostgreSQL (database_url)")?;
        return Ok(Arc::new(store));
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let path = config.data_dir.join("wayfarer.db");
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path)).await?.context("opening the embedded database")?;
    Ok(Arc::new(store))
}

/// Replaces the stored admin token with a new one and returns it.
pub fn rotate_admin_token(store: &dyn Store) -> anyhow::Result<String> {
    let token = app::new_token();
    let mut tx = store.write()?;
    tx.set_setting(ADMIN_TOKEN_KEY, &app::sha256_hex(&token))?;
    tx.commit()?;
    Ok(token)
}

impl Server {
    pub async fn build(config: &Config) -> anyhow::Result<Server> {
        let store = open_store(config).await?;
        let (token_hash, new_admin_token) = if !config.admin_token.is_empty() {
            (app::sha256_hex(&config.admin_token), None)
        } else {
            let s = store.clone();
            let stored = tokio::task::spawn_blocking(move || s.read()?.setting(ADMIN_TOKEN_KEY)).await??;
            match stored {
                Some(hash) => (hash, None),
                None => {
                    let s = store.clone();
                    let token = tokio::task::spawn_blocking(move || rotate_admin_token(&*s)).await??;
                    (app::sha256_hex(&token), Some(token))
                }
            }
        };
        let manual = match config.testing.manual_clock.as_str() {
            "" => None,
            t => Some(Arc::new(ManualClock::new(domain::time::Timestamp::parse(t).context("testing.manual_clock")?))),
        };
        let clock: Arc<dyn Clock> = match &manual {
            Some(m) => m.clone(),
            None => Arc::new(SystemClock),
        };
        let tracking = tracking(config, &store).await?;
        let deliverer = deliver::Deliverer::new(&config.deliver_options(tracking.clone()))
            .map_err(|e| anyhow::anyhow!("delivery configuration: {e}"))?
            .with_capture_from(&config.smtp.from);
        let engine = Arc::new(Engine::start(store.clone(), clock.clone(), deliverer, config.engine_options()));
        let s = store.clone();
        let no_users = tokio::task::spawn_blocking(move || s.read()?.users().map(|u| u.is_empty())).await??;
        let new_admin_user = if no_users {
            let password = auth::new_password();
            let (s, p, now) = (store.clone(), password.clone(), clock.now());
            tokio::task::spawn_blocking(move || {
                add_user(&*s, FIRST_ADMIN_EMAIL, Some("Admin"), store::Role::Admin, &p, now, "first start")
            })
            .await??;
            Some((FIRST_ADMIN_EMAIL.to_owned(), password))
        } else {
            None
        };
        let mut app = App::new(engine, manual, token_hash, config.ingest.clone(), config.ui.secure_cookies);
        app.tracking = tracking;
        app.sms_auth_token = config.sms_options().map(|o| o.auth_token);
        app.public_base = Some(config.tracking.base_url.trim().trim_end_matches('/').to_owned()).filter(|b| !b.is_empty());
        app.in_app_secret = Some(config.in_app.identity_secret.trim().to_owned()).filter(|s| !s.is_empty());
        let app = Arc::new(app);
        Ok(Server { router: app::router(app.clone()), app, new_admin_token, new_admin_user })
    }

    /// Serves on `listener` until `shutdown` resolves, then lets in-flight requests finish and
    /// the engine commit everything it accepted.
    pub async fn serve(self, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let engine = self.app.engine.clone();
        axum::serve(listener, self.router).with_graceful_shutdown(shutdown).await.context("serving HTTP")?;
        engine.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    }
}
