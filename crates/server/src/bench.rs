//! `wayfarer bench`: Wayfarer's speed, measured the way a client sees it, beside the ceilings
//! of the same machine in the same run (a bare database writer, a bare HTTP endpoint).
//!
//! Every figure is the median of several runs with its min and max. `--quick` is a smoke run
//! of a few seconds (CI checks it completes and its numbers are sane).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use serde_json::{Value, json};

use crate::{Config, Server, wire};

mod email;
pub mod fcm;
mod push;
mod segments;
mod sms;
pub mod twilio;

#[derive(Debug, Clone)]
pub struct Options {
    pub quick: bool,
    pub runs: usize,
    /// PostgreSQL instead of the embedded database.
    pub database_url: Option<String>,
    /// Events per second of background load during the latency measurement.
    pub background_rate: u64,
    /// People (each with a waiting run and a timer) for the scale figure; default 1M (2000 quick).
    pub scale: Option<usize>,
    /// Simulated people the ingest load's events are about (default 10 000).
    pub people: u64,
    /// People the email figure's send goes to (default 10 000; 300 quick).
    pub emails: Option<usize>,
    /// People whose segment time edge is timed (default 2000; 0 with `quick`: it waits for
    /// real minutes).
    pub segment_edges: Option<usize>,
    /// The Python with aiosmtpd for the email figure (default `.venv/bin/python`, then
    /// `python3`); without one the email figure is left out.
    pub python: Option<std::path::PathBuf>,
}

/// One figure: the median of the runs, with min and max.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    fn of(mut xs: Vec<f64>) -> Figure {
        xs.sort_by(f64::total_cmp);
        let n = xs.len().max(1);
        Figure {
            median: xs.get(n / 2).copied().unwrap_or(0.0),
            min: xs.first().copied().unwrap_or(0.0),
            max: xs.last().copied().unwrap_or(0.0),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub store: String,
    pub batch_events_per_sec: Figure,
    pub single_events_per_sec: Figure,
    pub baseline_db_events_per_sec: Figure,
    pub baseline_http_events_per_sec: Figure,
    /// `None`: no Python with aiosmtpd was found.
    pub email: Option<email::Email>,
    /// Into the Twilio stand-in.
    pub sms: sms::Throughput,
    /// Into the FCM stand-in (one device each).
    pub push: sms::Throughput,
    /// Event sent → webhook received, milliseconds, under background load.
    pub latency_ms: Latency,
    pub timers: Timers,
    pub scale: Scale,
    /// Segment entry under load beside its ceiling, and time edges.
    pub segment_entry: segments::Entry,
    /// `None`: left out (`--segment-edges 0`, the quick run's default).
    pub segment_edges: Option<segments::Edges>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Latency {
    pub background_rate: u64,
    pub samples: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// Several runs as one: the median of each percentile, the largest maximum, every sample.
    fn of(runs: Vec<Latency>) -> Latency {
        let median = |f: fn(&Latency) -> f64| Figure::of(runs.iter().map(f).collect()).median;
        Latency {
            background_rate: runs.first().map_or(0, |l| l.background_rate),
            samples: runs.iter().map(|l| l.samples).sum(),
            p50: median(|l| l.p50),
            p95: median(|l| l.p95),
            p99: median(|l| l.p99),
            max: runs.iter().map(|l| l.max).fold(0.0, f64::max),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Timers {
    pub runs: usize,
    /// Runs fired per second, from the due instant until a client saw every one fired.
    pub firings_per_sec: f64,
    /// How late the engine took up each timer (the start of the transaction that fired it
    /// minus the due time).
    pub lateness_p50_ms: f64,
    pub lateness_p99_ms: f64,
    /// When the engine took up the last of them (the start of its transaction).
    pub lateness_max_ms: f64,
    /// From the due instant until a client saw every run fired (polling the last one).
    pub all_visible_after_ms: f64,
}

fn progress(msg: &str) {
    eprint!("\r\x1b[2K{msg}");
}

/// A Wayfarer server on a fresh data directory, on a loopback port.
struct Running {
    base: String,
    /// The server's PostgreSQL database (`None`: the embedded store in `_dir`).
    database: Option<ScratchDatabase>,
    key: String,
    token: String,
    store: Arc<dyn store::Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: TempDir,
}

/// A temporary directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(label: &str) -> anyhow::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("wayfarer-bench-{label}-{}", crate::app::new_token()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PostgreSQL database made for one server of the run, dropped with it.
struct ScratchDatabase {
    /// The server the run was given (`--database-url`), to drop it from.
    admin: String,
    name: String,
    /// This database's URL.
    url: String,
}

/// A database name from a random token (PostgreSQL names are at most 63 bytes).
fn scratch_name(token: &str) -> String {
    format!("wayfarer_bench_{}", token.trim_start_matches("wf_").chars().take(16).collect::<String>())
}

impl ScratchDatabase {
    /// Blocks: call off the async threads.
    fn create(admin: &str, name: &str) -> anyhow::Result<ScratchDatabase> {
        let url = store::PostgresStore::create_database(admin, name)?;
        Ok(ScratchDatabase { admin: admin.to_owned(), name: name.to_owned(), url })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Err(error) = store::PostgresStore::drop_database(&self.admin, &self.name) {
            tracing::warn!(%error, database = %self.name, "dropping the benchmark's database failed; drop it by hand");
        }
    }
}

/// Starts a server on `dir`; returns its base URL, its stop switch and its task.
/// A booted server: base URL, its store, its stop switch and its task.
type Booted = (String, Arc<dyn store::Store>, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>);

/// `database_url`: empty for the embedded store in `dir`.
async fn boot(dir: &std::path::Path, database_url: &str, token: &str, extra: &[(&str, String)]) -> anyhow::Result<Booted> {
    let mut vars: Vec<(&str, String)> = vec![
        ("WAYFARER_DATA_DIR", dir.display().to_string()),
        ("WAYFARER_ADMIN_TOKEN", token.to_owned()),
        ("WAYFARER_WEBHOOK_ALLOW_PRIVATE", "true".into()),
        ("WAYFARER_DATABASE_URL", database_url.to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    let config = Config::load(None, &|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))?;
    let server = Server::build(&config).await?;
    let store = server.app.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok((base, store, stop, task))
}

/// A send to many people through a fresh Wayfarer: one journey sending one message on a channel
/// to everyone who abandons a cart.
struct Send<'a> {
    /// "email", "SMS": for progress lines and errors.
    what: &'a str,
    /// Configuration of the channel.
    env: &'a [(&'a str, String)],
    /// The template (`PUT /api/templates/cart`).
    template: Value,
    /// The send step's channel.
    channel: &'a str,
    people: usize,
    database_url: Option<&'a str>,
}

impl Send<'_> {
    /// The seconds from the first event posted until every message is recorded as sent; each
    /// person `p` has the traits `{"name": "p{p}", <address(p)>}`.
    async fn time(&self, address: impl Fn(usize) -> String) -> anyhow::Result<f64> {
        let (what, people) = (self.what, self.people);
        let dir = TempDir::new(what)?;
        let token = crate::app::new_token();
        // A database of its own on PostgreSQL, dropped after.
        let database = match self.database_url {
            Some(url) => {
                let (url, name) = (url.to_owned(), scratch_name(&token));
                Some(tokio::task::spawn_blocking(move || ScratchDatabase::create(&url, &name)).await??)
            }
            None => None,
        };
        let (base, store, stop, task) = boot(&dir.0, database.as_ref().map_or("", |d| d.url.as_str()), &token, self.env).await?;
        let http = reqwest::Client::new();
        let admin = |method: reqwest::Method, path: &str, body: Value| {
            http.request(method, format!("{base}/api{path}")).bearer_auth(&token).json(&body).send()
        };
        let out: Value = admin(reqwest::Method::POST, "/sources", json!({"id": "bench"})).await?.error_for_status()?.json().await?;
        let key = out["write_key"].as_str().context("write key")?.to_owned();
        admin(reqwest::Method::PUT, "/templates/cart", self.template.clone()).await?.error_for_status()?;
        let step = json!({"id": "remind", "type": "send", "channel": self.channel, "template": "cart"});
        let journey = json!({"id": "cart", "entry": {"event": "Cart Abandoned"}, "steps": [step]});
        admin(reqwest::Method::POST, "/journeys", journey).await?.error_for_status()?;
        admin(reqwest::Method::POST, "/journeys/cart/publish", json!({})).await?.error_for_status()?;

        let started = Instant::now();
        for from in (0..people).step_by(250) {
            let events: Vec<String> = (from..(from + 250).min(people))
                .flat_map(|p| {
                    [
                        format!(r#"{{"type":"identify","messageId":"ei{p}","userId":"p{p}","traits":{{"name":"p{p}",{}}}}}"#, address(p)),
                        format!(r#"{{"type":"track","messageId":"et{p}","userId":"p{p}","event":"Cart Abandoned"}}"#),
                    ]
                })
                .collect();
            http.post(format!("{base}/v1/batch"))
                .basic_auth(&key, Some(""))
                .body(format!(r#"{{"batch":[{}]}}"#, events.join(",")))
                .send()
                .await?
                .error_for_status()?;
        }
        // Every event is acknowledged, so every message is in the outbox: wait until none is pending.
        let secs = loop {
            let s = store.clone();
            let pending: i64 = tokio::task::spawn_blocking(move || s.read()?.outbox_pending()).await??.iter().map(|(_, n)| n).sum();
            progress(&format!("{what}: {} of {people} sent", people as i64 - pending));
            if pending == 0 {
                break started.elapsed().as_secs_f64();
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(600),
                "{pending} of {people} {what} messages were still waiting after 10 minutes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let s = store.clone();
        let (failed, sent) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut tx = s.read()?;
            Ok((
                tx.messages(Some(store::OutboxStatus::Failed), None, None, 1)?,
                tx.messages(Some(store::OutboxStatus::Sent), None, None, people)?.len(),
            ))
        })
        .await??;
        if let Some(f) = failed.first() {
            anyhow::bail!("{what} messages failed, e.g. {}: {}", f.key, f.last_error.as_deref().unwrap_or("?"));
        }
        anyhow::ensure!(sent == people, "{sent} of {people} {what} messages were sent");
        let _ = stop.send(());
        task.await??;
        Ok(secs)
    }
}

async fn start(o: &Options, hook: &str) -> anyhow::Result<Running> {
    let dir = TempDir::new("server")?;
    let token = crate::app::new_token();
    // Each server starts from nothing: on PostgreSQL, a database of its own.
    let database = match &o.database_url {
        Some(url) => {
            let (url, name) = (url.clone(), scratch_name(&token));
            Some(tokio::task::spawn_blocking(move || ScratchDatabase::create(&url, &name)).await??)
        }
        None => None,
    };
    let url = database.as_ref().map_or(String::new(), |d| d.url.clone());
    let (base, store, stop, task) = boot(&dir.0, &url, &token, &[]).await?;
    let http = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}/api{path}"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let out: Value = admin(reqwest::Method::POST, "/sources", json!({"id": "bench"})).await?.json().await?;
    let key = out["write_key"].as_str().context("write key")?.to_owned();
    // Ten journeys as a real workspace has them: event entries, history counts, waits, webhooks.
    for k in 0..10 {
        let doc = json!({
            "id": format!("bench-{k}"),
            "entry": {"event": "Page Viewed", "filter": {"property": "path", "op": "starts_with", "value": format!("/products/{k}")}},
            "steps": [
                {"id": "engaged", "type": "branch", "cases": [{"when": {"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 3}, "next": "pause"}]},
                {"id": "pause", "type": "wait", "duration": "1h", "next": "hook"},
                {"id": "hook", "type": "webhook", "url": hook, "body": {"user": "{{ profile_id }}"}}
            ]
        });
        admin(reqwest::Method::POST, "/journeys", doc).await?.error_for_status()?;
        admin(reqwest::Method::POST, &format!("/journeys/bench-{k}/publish"), json!({})).await?.error_for_status()?;
    }
    for (id, doc) in [
        (
            "ping",
            json!({"id": "ping", "entry": {"event": "Bench Ping"}, "steps": [{"id": "hook", "type": "webhook", "url": hook, "body": {"ping": "{{ event.ping }}"}}]}),
        ),
        (
            "timers",
            json!({"id": "timers", "entry": {"event": "Timer Start"}, "steps": [{"id": "at", "type": "wait", "until_trait": "fire_at", "next": "done"}, {"id": "done", "type": "exit"}]}),
        ),
        ("scale", json!({"id": "scale", "entry": {"event": "Scale Start"}, "steps": [{"id": "later", "type": "wait", "duration": "30d"}]})),
    ] {
        admin(reqwest::Method::POST, "/journeys", doc).await?.error_for_status()?;
        admin(reqwest::Method::POST, &format!("/journeys/{id}/publish"), json!({})).await?.error_for_status()?;
    }
    Ok(Running { base, database, key, token, store, stop: Some(stop), task, _dir: dir })
}

impl Running {
    async fn stop(self) -> anyhow::Result<()> {
        self.stop_keeping_data().await.map(drop)
    }

    /// Stops the server and hands back its data directory.
    /// Stops the server; returns where its data is (directory, database).
    async fn stop_keeping_data(mut self) -> anyhow::Result<(TempDir, Option<ScratchDatabase>)> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await??;
        Ok((self._dir, self.database))
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Scale {
    /// People loaded, each meant to have a profile, a waiting run and a pending timer.
    pub people: usize,
    /// Runs of the scale journey in the store after loading: each waits 30 days, so each is
    /// a pending timer.
    pub runs: i64,
    pub ingest_secs: f64,
    /// Resident memory of the bench process (server and clients) after loading, MiB.
    pub rss_mib: f64,
    /// Size of the data directory, MiB (embedded store only).
    pub data_mib: f64,
    /// From start to serving (`/readyz` answers) on that data, seconds.
    pub restart_secs: f64,
    /// A new segment over all of them, filled while ingest goes on.
    pub fill: segments::Fill,
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())).flatten()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_mib(dir: &std::path::Path) -> f64 {
    let bytes: u64 = std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum();
    bytes as f64 / (1024.0 * 1024.0)
}

/// Loads `people` people, each with a run waiting on a timer 30 days out; then memory, data
/// size, and how long a restart on that data takes.
async fn scale(o: &Options, hook: &str, people: usize) -> anyhow::Result<Scale> {
    let r = start(o, hook).await?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (http, next, url, key) = (http.clone(), next.clone(), format!("{}/v1/batch", r.base), r.key.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let from = next.fetch_add(250, Ordering::Relaxed) as usize;
                if from >= people {
                    return anyhow::Ok(());
                }
                let events: Vec<String> = (from..(from + 250).min(people))
                    .flat_map(|p| {
                        [
                            format!(r#"{{"type":"identify","messageId":"si{p}","userId":"p{p}","traits":{{"plan":"free","n":{p}}}}}"#),
                            format!(r#"{{"type":"track","messageId":"st{p}","userId":"p{p}","event":"Scale Start"}}"#),
                        ]
                    })
                    .collect();
                http.post(&url)
                    .basic_auth(&key, Some(""))
                    .body(format!(r#"{{"batch":[{}]}}"#, events.join(",")))
                    .send()
                    .await?
                    .error_for_status()?;
                progress(&format!("scale: {} of {people} people loaded", (from + 250).min(people)));
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    let rss = rss_mib();
    progress("scale: filling a new segment over everyone");
    let fill = segments::fill(&r, people).await?;
    // What was loaded, as the store has it: a run per person, each waiting on its timer.
    let store = r.store.clone();
    let runs = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        Ok(store.read()?.count_runs(&domain::ids::JourneyId("scale".into()))?)
    })
    .await??;
    let token = r.token.clone();
    let (dir, database) = r.stop_keeping_data().await?;
    let data = if o.database_url.is_some() { 0.0 } else { dir_mib(&dir.0) };
    progress("scale: restarting on that data");
    let t0 = Instant::now();
    let (base, _, stop, task) = boot(&dir.0, &database.as_ref().map_or(String::new(), |d| d.url.clone()), &token, &[]).await?;
    let ready = loop {
        match http.get(format!("{base}/readyz")).send().await {
            Ok(resp) if resp.status().is_success() => break t0.elapsed().as_secs_f64(),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    let _ = stop.send(());
    task.await??;
    Ok(Scale { people, runs, ingest_secs, rss_mib: rss, data_mib: data, restart_secs: ready, fill })
}

static IDS: AtomicU64 = AtomicU64::new(0);

/// A `/v1/batch` body of `n` page views from a pool of `people`.
fn batch_body(n: usize, people: u64) -> String {
    let events: Vec<String> = (0..n)
        .map(|_| {
            let id = IDS.fetch_add(1, Ordering::Relaxed);
            format!(
                r#"{{"type":"page","messageId":"b{id}","userId":"u{}","properties":{{"path":"/products/{}/{}"}}}}"#,
                id % people,
                id % 10,
                id % 97
            )
        })
        .collect();
    format!(r#"{{"batch":[{}]}}"#, events.join(","))
}

fn single_body(people: u64) -> String {
    let id = IDS.fetch_add(1, Ordering::Relaxed);
    format!(r#"{{"messageId":"s{id}","userId":"u{}","event":"Clicked","properties":{{"n":{id}}}}}"#, id % people)
}

/// Drives `endpoint` with `clients` concurrent loops for `for_`; returns acknowledged events/s.
async fn drive(base: &str, key: &str, path: &str, per_request: usize, clients: usize, for_: Duration, people: u64) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let acked = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + for_;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, acked, url, key) = (http.clone(), acked.clone(), format!("{base}{path}"), key.to_owned());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let body = if per_request == 1 { single_body(people) } else { batch_body(per_request, people) };
                let resp = http.post(&url).basic_auth(&key, Some("")).body(body).send().await?;
                if resp.status().is_success() {
                    acked.fetch_add(per_request as u64, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(acked.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// The bare HTTP ceiling: an endpoint that parses the same batches and discards them.
async fn bare_http() -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let app = Router::new().route(
        "/v1/batch",
        post(|body: Bytes| async move {
            let parsed: Result<Value, _> = serde_json::from_slice(&body);
            if parsed.is_ok() { r#"{"success":true}"# } else { r#"{"success":false}"# }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, task))
}

/// The bare database ceiling: the same events, batched inserts into a fresh store, no HTTP,
/// no engine.
async fn bare_db(for_: Duration, database_url: Option<String>) -> anyhow::Result<f64> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
        let dir = TempDir::new("baseline")?;
        let scratch = match &database_url {
            Some(url) => Some(ScratchDatabase::create(url, &scratch_name(&crate::app::new_token()))?),
            None => None,
        };
        let store: Box<dyn store::Store> = match &scratch {
            Some(db) => Box::new(store::PostgresStore::connect(&db.url, None)?),
            None => Box::new(store::SqliteStore::open(&dir.0.join("baseline.db"))?),
        };
        let source = domain::ids::SourceId("bench".into());
        let start = Instant::now();
        let mut written = 0u64;
        while start.elapsed() < for_ {
            let body: Value = serde_json::from_str(&batch_body(1000, 1000))?;
            let mut tx = store.write()?;
            for raw in body["batch"].as_array().into_iter().flatten() {
                let env = domain::event::Envelope {
                    kind: None,
                    received_at: domain::time::Timestamp(0),
                    sent_at: None,
                    fallback_message_id: "x",
                };
                let event = domain::event::Event::parse(raw.clone(), &env).map_err(|e| anyhow::anyhow!("{e}"))?;
                // About as many people as the batches name, like the engine's writes.
                tx.insert_event(&source, &event, Some(domain::ids::ProfileId((written % 1000) as i64 + 1)))?;
                written += 1;
            }
            tx.commit()?;
        }
        Ok(written as f64 / start.elapsed().as_secs_f64())
    })
    .await?
}

/// Receives webhooks and notes when each ping arrived.
async fn receiver() -> anyhow::Result<(String, Arc<std::sync::Mutex<HashMap<u64, Instant>>>)> {
    let seen: Arc<std::sync::Mutex<HashMap<u64, Instant>>> = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: Bytes| {
            let log = log.clone();
            async move {
                let at = Instant::now();
                if let Ok(v) = serde_json::from_slice::<Value>(&body)
                    && let Some(ping) = v["ping"].as_str().and_then(|p| p.parse::<u64>().ok())
                    && let Ok(mut map) = log.lock()
                {
                    map.insert(ping, at);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, seen))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

static PINGS: AtomicU64 = AtomicU64::new(0);

/// Events per background request during the latency measurement.
const BACKGROUND_BATCH: usize = 10;

async fn latency(r: &Running, seen: &Arc<std::sync::Mutex<HashMap<u64, Instant>>>, rate: u64, for_: Duration) -> anyhow::Result<Latency> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + for_;
    // Background load: batches of 10 at `rate` events per second, as from many clients (at
    // the default rate, one every 2 ms; batches of 100 every 20 ms would arrive in step with
    // the pings and make each wait for a whole batch).
    let (bg_http, base, key) = (http.clone(), r.base.clone(), r.key.clone());
    let background = tokio::spawn(async move {
        let every = Duration::from_secs_f64(BACKGROUND_BATCH as f64 / rate.max(1) as f64);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while Instant::now() < deadline {
            tick.tick().await;
            let (http, url, key) = (bg_http.clone(), format!("{base}/v1/batch"), key.clone());
            // Not awaited in turn: the load keeps its rate while a request waits for its commit.
            tokio::spawn(async move {
                let _ = http.post(url).basic_auth(&key, Some("")).body(batch_body(BACKGROUND_BATCH, 5000)).send().await;
            });
        }
    });
    let mut sent: HashMap<u64, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while Instant::now() < deadline {
        tick.tick().await;
        // Numbered across runs: a repeated messageId would be a duplicate, and start nothing.
        let n = PINGS.fetch_add(1, Ordering::Relaxed) + 1;
        let body = json!({"userId": format!("pinger{}", n % 50), "event": "Bench Ping", "messageId": format!("ping{n}"), "properties": {"ping": n}});
        sent.insert(n, Instant::now());
        http.post(format!("{}/v1/track", r.base)).basic_auth(&r.key, Some("")).body(body.to_string()).send().await?.error_for_status()?;
    }
    let _ = background.await;
    // Give the last pings time to arrive.
    let wait_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < wait_until && seen.lock().map(|m| m.len()).unwrap_or(0) < sent.len() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrived = seen.lock().map(|m| m.clone()).unwrap_or_default();
    let mut ms: Vec<f64> =
        sent.iter().filter_map(|(id, at)| arrived.get(id).map(|got| got.duration_since(*at).as_secs_f64() * 1000.0)).collect();
    ms.sort_by(f64::total_cmp);
    Ok(Latency {
        background_rate: rate,
        samples: ms.len(),
        p50: percentile(&ms, 0.5),
        p95: percentile(&ms, 0.95),
        p99: percentile(&ms, 0.99),
        max: ms.last().copied().unwrap_or(0.0),
    })
}

/// `n` runs whose timers come due at the same instant; how fast they fire, how late.
async fn timers(r: &Running, n: usize) -> anyhow::Result<Timers> {
    let http = reqwest::Client::new();
    let fire_at_ms = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64) + 3000 + n as i64 / 5;
    let fire_at = domain::time::Timestamp(fire_at_ms).to_string();
    let mut i = 0;
    while i < n {
        let batch: Vec<Value> = (i..(i + 100).min(n))
            .flat_map(|p| {
                [
                    json!({"type": "identify", "userId": format!("t{p}"), "traits": {"fire_at": fire_at}}),
                    json!({"type": "track", "userId": format!("t{p}"), "event": "Timer Start"}),
                ]
            })
            .collect();
        http.post(format!("{}/v1/batch", r.base))
            .basic_auth(&r.key, Some(""))
            .body(json!({"batch": batch}).to_string())
            .send()
            .await?
            .error_for_status()?;
        i += 100;
        progress(&format!("timers: {i}/{n} runs started"));
    }
    // Wait until every run has fired, as a client sees it. Runs fire in (due time, id) order,
    // a chunk per transaction, so the last one started is the last one fired: polling that one
    // person is cheap, where listing every run each time would load the server being measured.
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = format!("t{}", n.saturating_sub(1));
    while !last_fired(r, &http, &last).await? && Instant::now() < deadline {
        progress("timers: waiting for the last one to fire");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut seen_all = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    // Then every run, once, to check they all fired (and, should one not have, wait for it).
    let mut runs = runs_of_timers(r, &http).await?;
    while runs.iter().any(|(_, waiting)| *waiting) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        runs = runs_of_timers(r, &http).await?;
        seen_all = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    }
    let waiting = runs.iter().filter(|(_, waiting)| *waiting).count();
    progress(&format!("timers: {} of {n} fired", runs.len() - waiting));
    let visible_ms = (seen_all - fire_at_ms).max(1) as f64;
    let mut late: Vec<f64> = runs.iter().map(|(updated, _)| (*updated - fire_at_ms) as f64).collect();
    late.sort_by(f64::total_cmp);
    Ok(Timers {
        runs: runs.len(),
        firings_per_sec: runs.len() as f64 / (visible_ms / 1000.0),
        lateness_p50_ms: percentile(&late, 0.5),
        lateness_p99_ms: percentile(&late, 0.99),
        lateness_max_ms: late.last().copied().unwrap_or(0.0),
        all_visible_after_ms: visible_ms,
    })
}

/// Whether the person's run of the timers journey has left its wait, through the admin API.
async fn last_fired(r: &Running, http: &reqwest::Client, user: &str) -> anyhow::Result<bool> {
    let url = format!("{}/api/profiles/lookup?user_id={user}", r.base);
    let out: wire::ProfileView = http.get(url).bearer_auth(&r.token).send().await?.error_for_status()?.json().await?;
    Ok(out.journeys.iter().any(|run| run.journey == "timers" && run.status != wire::RunStatus::Waiting))
}

/// (updated_at ms, waiting) of every run of the timers journey, through the admin API, a
/// page at a time.
async fn runs_of_timers(r: &Running, http: &reqwest::Client) -> anyhow::Result<Vec<(i64, bool)>> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{}/api/journeys/timers/runs?limit=1000&cursor={cursor}", r.base);
        let page: wire::RunsPage = http.get(url).bearer_auth(&r.token).send().await?.error_for_status()?.json().await?;
        for run in page.runs {
            let at = domain::time::Timestamp::parse(&run.updated_at).context("a run's updated_at")?;
            out.push((at.0, run.status == wire::RunStatus::Waiting));
        }
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return Ok(out),
        }
    }
}

pub async fn run(o: &Options) -> anyhow::Result<Report> {
    let (secs, timer_runs) = if o.quick { (1, 500) } else { (5, 20_000) };
    let for_ = Duration::from_secs(secs);
    let mut batch = Vec::new();
    let mut single = Vec::new();
    let mut db = Vec::new();
    let mut bare = Vec::new();
    let (hook, seen) = receiver().await?;
    let (bare_base, bare_task) = bare_http().await?;
    for run in 1..=o.runs.max(1) {
        progress(&format!("run {run}/{}: durable ingest via /v1/batch", o.runs));
        let r = start(o, &hook).await?;
        batch.push(drive(&r.base, &r.key, "/v1/batch", 100, 8, for_, o.people.max(1)).await?);
        progress(&format!("run {run}/{}: durable ingest via single /v1/track calls", o.runs));
        single.push(drive(&r.base, &r.key, "/v1/track", 1, 32, for_, o.people.max(1)).await?);
        r.stop().await?;
        progress(&format!("run {run}/{}: bare database baseline", o.runs));
        db.push(bare_db(for_, o.database_url.clone()).await?);
        progress(&format!("run {run}/{}: bare HTTP baseline", o.runs));
        bare.push(drive(&bare_base, "none", "/v1/batch", 100, 8, for_, o.people.max(1)).await?);
    }
    bare_task.abort();
    let r = start(o, &hook).await?;
    let mut latencies = Vec::new();
    for run in 1..=o.runs.max(1) {
        progress(&format!("run {run}/{}: event -> action latency under background load", o.runs));
        latencies.push(latency(&r, &seen, if o.quick { 1000 } else { o.background_rate }, for_ * 2).await?);
    }
    let latency_ms = Latency::of(latencies);
    let timers = timers(&r, timer_runs).await?;
    let rate = if o.quick { 1000 } else { o.background_rate };
    let mut entries = Vec::new();
    for run in 1..=o.runs.max(1) {
        progress(&format!("run {run}/{}: segment entry latency under background load", o.runs));
        entries.push(segments::entry(&r, rate, for_ * 2, run).await?);
    }
    let segment_entry = segments::Entry {
        with_segments: Latency::of(entries.iter().map(|e| e.with_segments.clone()).collect()),
        ceiling: Latency::of(entries.iter().map(|e| e.ceiling.clone()).collect()),
        segments: entries.first().map_or(0, |e| e.segments),
    };
    let segment_edges = match o.segment_edges.unwrap_or(if o.quick { 0 } else { 2000 }) {
        0 => None,
        people => Some(segments::edges(&r, people).await?),
    };
    r.stop().await?;
    let scale = scale(o, &hook, o.scale.unwrap_or(if o.quick { 2_000 } else { 1_000_000 })).await?;
    let email = match email::find_python(o.python.as_deref()) {
        Some(python) => {
            Some(email::measure(&python, o.runs, o.emails.unwrap_or(if o.quick { 300 } else { 10_000 }), o.database_url.as_deref()).await?)
        }
        None => {
            tracing::warn!("no Python with aiosmtpd (pass --python): the email figure is left out");
            None
        }
    };
    let sends = o.emails.unwrap_or(if o.quick { 300 } else { 10_000 });
    let sms = sms::measure(o.runs, sends, o.database_url.as_deref()).await?;
    let push = push::measure(o.runs, sends, o.database_url.as_deref()).await?;
    progress("");
    eprintln!();
    Ok(Report {
        store: if o.database_url.is_some() { "postgres".into() } else { "sqlite".into() },
        batch_events_per_sec: Figure::of(batch),
        single_events_per_sec: Figure::of(single),
        baseline_db_events_per_sec: Figure::of(db),
        baseline_http_events_per_sec: Figure::of(bare),
        email,
        sms,
        push,
        latency_ms,
        timers,
        scale,
        segment_entry,
        segment_edges,
    })
}

/// The report as a table for people.
pub fn table(r: &Report) -> String {
    let f = |x: &Figure| format!("{:>10.0}  ({:.0}–{:.0})", x.median, x.min, x.max);
    let ratio = |a: &Figure, b: &Figure| if b.median > 0.0 { format!("{:.2}", a.median / b.median) } else { "-".into() };
    let mut out = String::new();
    out.push_str(&format!("store: {}\n\n", r.store));
    out.push_str(&format!("{:<44} {:>30}  {}\n", "figure (median, min–max)", "value", "ratio to ceiling"));
    out.push_str(&format!(
        "{:<44} {:>30}  {}\n",
        "durable ingest, /v1/batch (events/s)",
        f(&r.batch_events_per_sec),
        ratio(&r.batch_events_per_sec, &r.baseline_db_events_per_sec)
    ));
    out.push_str(&format!(
        "{:<44} {:>30}  {}\n",
        "durable ingest, single /v1/track (events/s)",
        f(&r.single_events_per_sec),
        ratio(&r.single_events_per_sec, &r.baseline_db_events_per_sec)
    ));
    out.push_str(&format!("{:<44} {:>30}\n", "ceiling: bare database writer (events/s)", f(&r.baseline_db_events_per_sec)));
    out.push_str(&format!(
        "{:<44} {:>30}  {}\n",
        "ceiling: bare HTTP parse+discard (events/s)",
        f(&r.baseline_http_events_per_sec),
        ratio(&r.batch_events_per_sec, &r.baseline_http_events_per_sec)
    ));
    match &r.email {
        Some(e) => {
            out.push_str(&format!(
                "{:<44} {:>30}  {}\n",
                format!("email, a send to {} people (emails/s)", e.people),
                f(&e.wayfarer_per_sec),
                ratio(&e.wayfarer_per_sec, &e.ceiling_per_sec)
            ));
            out.push_str(&format!("{:<44} {:>30}\n", format!("ceiling: bare SMTP client, {} conns", e.connections), f(&e.ceiling_per_sec)));
            out.push_str(&format!("{:<44} {:>30}\n", "email: the whole send (s)", format!("{:.1}", e.wayfarer_secs.median)));
        }
        None => out.push_str("email: left out (no Python with aiosmtpd; pass --python)\n"),
    }
    for (what, s) in [("SMS", &r.sms), ("push", &r.push)] {
        out.push_str(&format!(
            "{:<44} {:>30}  {}\n",
            format!("{what}, a send to {} people (messages/s)", s.people),
            f(&s.wayfarer_per_sec),
            ratio(&s.wayfarer_per_sec, &s.ceiling_per_sec)
        ));
        let ceiling = format!("ceiling: bare client into the {what} stand-in, {} at once", s.concurrency);
        out.push_str(&format!("{:<44} {:>30}\n", ceiling, f(&s.ceiling_per_sec)));
        out.push_str(&format!("{:<44} {:>30}\n", format!("{what}: the whole send (s)"), format!("{:.1}", s.wayfarer_secs.median)));
    }
    let l = &r.latency_ms;
    out.push_str(&format!(
        "event -> webhook latency at {} events/s background ({} samples; percentiles: median of the runs): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
        l.background_rate, l.samples, l.p50, l.p95, l.p99, l.max
    ));
    let t = &r.timers;
    let sc = &r.scale;
    out.push_str(&format!(
        "scale: {} people and {} runs waiting 30 days (a pending timer each), loaded in {:.1} s: RSS {:.0} MiB, data {:.0} MiB; restart to serving {:.2} s\n",
        sc.people, sc.runs, sc.ingest_secs, sc.rss_mib, sc.data_mib, sc.restart_secs
    ));
    let (e, c) = (&r.segment_entry.with_segments, &r.segment_entry.ceiling);
    out.push_str(&format!(
        "segment entry: qualifying event -> acknowledged, in the segment, at {} events/s background, {} segments: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; ceiling (the same event, no segment): p50 {:.1} ms, p99 {:.1} ms\n",
        e.background_rate, r.segment_entry.segments, e.p50, e.p99, e.max, c.p50, c.p99
    ));
    match &r.segment_edges {
        Some(ed) => out.push_str(&format!(
            "segment time edges: {} people leaving a 1-minute window: taken up after their exact time by p50 {:.1} s, p99 {:.1} s, max {:.1} s ({} missed)\n",
            ed.people, ed.late_p50_s, ed.late_p99_s, ed.late_max_s, ed.missed
        )),
        None => out.push_str("segment time edges: left out (--segment-edges N times N people; it waits up to three minutes)\n"),
    }
    let fl = &sc.fill;
    out.push_str(&format!(
        "segment fill: a new segment over {} people ({} members) in {:.1} s; single-event ingest p99 {:.1} ms during it, {:.1} ms before (p50 {:.1} / {:.1} ms)\n",
        fl.people, fl.members, fl.secs, fl.ingest_during.p99, fl.ingest_before.p99, fl.ingest_during.p50, fl.ingest_before.p50
    ));
    out.push_str(&format!(
        "timers: {} due at once: all fired and visible {:.0} ms after the due time ({:.0} firings/s); taken up late by p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
        t.runs, t.all_visible_after_ms, t.firings_per_sec, t.lateness_p50_ms, t.lateness_p99_ms, t.lateness_max_ms
    ));
    out
}
