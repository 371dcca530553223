//! The `wayfarer` server: HTTP (Segment ingest, admin API, health), configuration and the
//! command line.
//!
//! Architecture Invariant: this is the only crate that knows HTTP and JSON wire shapes.
//! Handlers are thin: they parse, call the engine or the store, and shape the answer.

pub mod admin;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod document;
pub mod error;
pub mod ingest;
pub mod openapi;
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
        let deliverer = deliver::Deliverer::new(&config.deliver_options())
            .map_err(|e| anyhow::anyhow!("delivery configuration: {e}"))?
            .with_capture_from(&config.smtp.from);
        let engine = Arc::new(Engine::start(store, clock, deliverer, config.engine_options()));
        let app = Arc::new(App::new(engine, manual, token_hash, config.ingest.clone()));
        Ok(Server { router: app::router(app.clone()), app, new_admin_token })
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
