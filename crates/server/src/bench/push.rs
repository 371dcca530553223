//! Push throughput: a send to N people (one device each) through Wayfarer into the FCM
//! stand-in (`fcm::Fcm`), beside a bare HTTP client posting the same number of `messages:send`
//! requests to the same stand-in with the same number at once (the ceiling).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;

use super::fcm::Fcm;
use super::sms::Throughput;
use super::{Figure, TempDir, progress};

const PROJECT: &str = "bench-app";

/// `n` notifications posted as Wayfarer posts them (after one access token is minted),
/// `concurrency` at a time, over kept-alive connections; notifications per second.
async fn bare_client(fcm: &Fcm, concurrency: usize, n: usize) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let account: serde_json::Value = serde_json::from_str(&fcm.service_account_json())?;
    let token_uri = account["token_uri"].as_str().unwrap_or_default().to_owned();
    let url = format!("{}/v1/projects/{PROJECT}/messages:send", fcm.base_url);
    let started = Instant::now();
    // The bare client mints its access token as Wayfarer does: an assertion signed with the key.
    let key = deliver::ServiceAccount::parse(&fcm.service_account_json())?;
    let access = bare_token(&http, &token_uri, &key).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, next, access) = (http.clone(), url.clone(), next.clone(), access.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let body = json!({"message": {"token": format!("tok-{i}"), "notification": {"title": "Your cart", "body": format!("p{i}, it misses you")},
                                  "data": {"wayfarer_key": format!("bench-{i}")}}});
                let response = http.post(&url).bearer_auth(&access).header("content-type", "application/json").body(body.to_string()).send().await?;
                anyhow::ensure!(response.status().is_success(), "the stand-in answered {}", response.status());
                response.bytes().await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// An access token for the stand-in, through Wayfarer's own client code path's protocol.
async fn bare_token(http: &reqwest::Client, token_uri: &str, account: &deliver::ServiceAccount) -> anyhow::Result<String> {
    let assertion = deliver::push_assertion(account)?;
    let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
    let out: serde_json::Value = http.post(token_uri).form(&form).send().await?.error_for_status()?.json().await?;
    Ok(out["access_token"].as_str().unwrap_or_default().to_owned())
}

/// The figure over `runs` runs, the ceiling measured in each run.
pub(super) async fn measure(runs: usize, people: usize, database_url: Option<&str>) -> anyhow::Result<Throughput> {
    const CONCURRENCY: usize = 8;
    let (mut ours, mut secs, mut ceiling) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs.max(1) {
        let fcm = Fcm::start(PROJECT).await?;
        progress(&format!("run {run}/{runs}: push ceiling, a bare HTTP client"));
        ceiling.push(bare_client(&fcm, CONCURRENCY, people).await?);
        let fcm = Fcm::start(PROJECT).await?;
        let dir = TempDir::new("push-key")?;
        let key = dir.0.join("service-account.json");
        std::fs::write(&key, fcm.service_account_json())?;
        progress(&format!("run {run}/{runs}: push, a send to {people} people"));
        let env = [
            ("WAYFARER_PUSH_SERVICE_ACCOUNT_FILE", key.display().to_string()),
            ("WAYFARER_PUSH_BASE_URL", fcm.base_url.clone()),
            ("WAYFARER_PUSH_CONCURRENCY", CONCURRENCY.to_string()),
        ];
        let template = json!({"push": {"title": "Your cart", "body": "{{ traits.name }}, it misses you"}});
        let send = super::Send { what: "push", env: &env, template, channel: "push", people, database_url };
        let s = send.time(|p| format!(r#""push_tokens":["tok-{p}"]"#)).await?;
        anyhow::ensure!(fcm.count() >= people, "the stand-in took {} of {people} notifications", fcm.count());
        secs.push(s);
        ours.push(people as f64 / s);
    }
    Ok(Throughput {
        people,
        concurrency: CONCURRENCY,
        wayfarer_per_sec: Figure::of(ours),
        wayfarer_secs: Figure::of(secs),
        ceiling_per_sec: Figure::of(ceiling),
    })
}
