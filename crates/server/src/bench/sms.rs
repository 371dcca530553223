//! SMS throughput: a send to N people through Wayfarer into the Twilio stand-in
//! (`twilio::Twilio`), beside a bare HTTP client posting the same number of messages to the same
//! stand-in with the same number of requests at once (the ceiling).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;

use super::twilio::Twilio;
use super::{Figure, progress};

const ACCOUNT: &str = "ACbench0000000000000000000000000";
const TOKEN: &str = "bench-auth-token";
const FROM: &str = "+15005550006";
const TEXT: &str = "Hi there, your cart is waiting for you. Reply STOP to stop.";

/// What the SMS (or push) figure measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Throughput {
    pub people: usize,
    /// Requests at once: Wayfarer's SMS concurrency and the bare client's alike.
    pub concurrency: usize,
    pub wayfarer_per_sec: Figure,
    /// The whole send's time, seconds.
    pub wayfarer_secs: Figure,
    /// The bare client into the same stand-in.
    pub ceiling_per_sec: Figure,
}

/// The number person `i` is texted at.
fn phone(i: usize) -> String {
    format!("+1415{:07}", i)
}

/// `n` messages posted as Wayfarer posts them, `concurrency` at a time, over kept-alive
/// connections; messages per second.
async fn bare_client(twilio: &Twilio, concurrency: usize, n: usize) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let url = format!("{}/2010-04-01/Accounts/{ACCOUNT}/Messages.json", twilio.base_url);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                let form = [("To", phone(i)), ("From", FROM.to_owned()), ("Body", TEXT.replace("there", &format!("p{i}")))];
                let response = http
                    .post(&url)
                    .basic_auth(ACCOUNT, Some(TOKEN))
                    .header("idempotency-key", format!("bench-{i}"))
                    .form(&form)
                    .send()
                    .await?;
                anyhow::ensure!(response.status().as_u16() == 201, "the stand-in answered {}", response.status());
                response.bytes().await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The figure over `runs` runs, the ceiling measured in each run.
pub(super) async fn measure(runs: usize, people: usize, database_url: Option<&str>) -> anyhow::Result<Throughput> {
    const CONCURRENCY: usize = 8;
    let (mut ours, mut secs, mut ceiling) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs.max(1) {
        let twilio = Twilio::start(ACCOUNT, TOKEN).await?;
        progress(&format!("run {run}/{runs}: SMS ceiling, a bare HTTP client"));
        ceiling.push(bare_client(&twilio, CONCURRENCY, people).await?);
        let twilio = Twilio::start(ACCOUNT, TOKEN).await?;
        progress(&format!("run {run}/{runs}: SMS, a send to {people} people"));
        let env = [
            ("WAYFARER_SMS_BASE_URL", twilio.base_url.clone()),
            ("WAYFARER_SMS_ACCOUNT_SID", ACCOUNT.to_owned()),
            ("WAYFARER_SMS_AUTH_TOKEN", TOKEN.to_owned()),
            ("WAYFARER_SMS_FROM", FROM.to_owned()),
            ("WAYFARER_SMS_CONCURRENCY", CONCURRENCY.to_string()),
        ];
        let template = json!({"sms": TEXT.replace("there", "{{ traits.name }}")});
        let send = super::Send { what: "SMS", env: &env, template, channel: "sms", people, database_url };
        let s = send.time(|p| format!(r#""phone":"{}""#, phone(p))).await?;
        anyhow::ensure!(twilio.count() >= people, "the stand-in took {} of {people} messages", twilio.count());
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
