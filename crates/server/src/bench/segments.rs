//! Segment figures: how soon a person is in a segment after the event that qualifies them,
//! under background load, beside the same event's acknowledgement with no segment defined
//! (the ceiling: entering is committed with the event, so it can be no faster); how late time
//! edges are taken up; and filling a new segment over many people, with ingest's latency while
//! it runs beside without.

use std::time::{Duration, Instant};

use anyhow::Context;
use domain::ids::{Identity, SegmentId};
use serde_json::{Value, json};

use super::{Latency, Running, percentile, progress};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// Qualifying event sent → acknowledged with the person in the segment (ms).
    pub with_segments: Latency,
    /// The same event acknowledged on the same server before any segment existed (ms).
    pub ceiling: Latency,
    /// Segments defined during the measurement (each evaluated for every person of every batch).
    pub segments: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Edges {
    pub people: usize,
    /// From the exact time each person's window no longer held their event to the engine
    /// taking them out (the `Segment Exited` event's time), seconds.
    pub late_p50_s: f64,
    pub late_p99_s: f64,
    pub late_max_s: f64,
    /// People still in the segment when the measurement gave up (should be 0).
    pub missed: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Fill {
    pub people: usize,
    pub members: i64,
    pub secs: f64,
    /// Single `/v1/track` calls at a steady rate while the fill runs, and before it (ms).
    pub ingest_during: Latency,
    pub ingest_before: Latency,
}

async fn admin(r: &Running, method: reqwest::Method, path: &str, body: Value) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let resp = http
        .request(method, format!("{}/api{path}", r.base))
        .bearer_auth(&r.token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = resp.status();
    let out: Value = resp.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{path}: {status} {out}");
    Ok(out)
}

/// Sends one event every `every` for `for_` and times each acknowledgement; `body(n)` makes
/// the n-th. Background load at `rate` events per second goes on meanwhile.
async fn acks(r: &Running, rate: u64, every: Duration, for_: Duration, body: impl Fn(u64) -> (String, String)) -> anyhow::Result<Latency> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + for_;
    let (bg_http, base, key) = (http.clone(), r.base.clone(), r.key.clone());
    let background = tokio::spawn(async move {
        if rate == 0 {
            return;
        }
        let per = super::BACKGROUND_BATCH;
        let mut tick = tokio::time::interval(Duration::from_secs_f64(per as f64 / rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while Instant::now() < deadline {
            tick.tick().await;
            let (http, url, key) = (bg_http.clone(), format!("{base}/v1/batch"), key.clone());
            tokio::spawn(async move {
                let _ = http.post(url).basic_auth(&key, Some("")).body(super::batch_body(per, 5000)).send().await;
            });
        }
    });
    let mut ms = Vec::new();
    let mut tick = tokio::time::interval(every);
    let mut n = 0;
    while Instant::now() < deadline {
        tick.tick().await;
        n += 1;
        let (path, text) = body(n);
        let at = Instant::now();
        http.post(format!("{}{path}", r.base)).basic_auth(&r.key, Some("")).body(text).send().await?.error_for_status()?;
        ms.push(at.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = background.await;
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

/// Entry latency with three segments (one on the qualifying trait, one counting page views,
/// one testing both) beside the same measurement before they existed; `run` numbers the people.
pub async fn entry(r: &Running, rate: u64, for_: Duration, run: usize) -> anyhow::Result<Entry> {
    let identify = move |label: &'static str| {
        move |n: u64| ("/v1/identify".to_owned(), json!({"userId": format!("{label}{run}-{n}"), "traits": {"bench_ping": n}}).to_string())
    };
    let ceiling = acks(r, rate, Duration::from_millis(20), for_, identify("before")).await?;
    if run == 1 {
        admin(r, reqwest::Method::PUT, "/segments/pinged", json!({"condition": {"trait": "bench_ping", "op": "exists"}})).await?;
        let active = json!({"condition": {"history": {"event": "Page Viewed", "within": "1d"}, "op": "gte", "value": 3}});
        admin(r, reqwest::Method::PUT, "/segments/active", active).await?;
        let both = json!({"condition": {"all": [{"segment": "pinged"}, {"segment": "active"}]}});
        admin(r, reqwest::Method::PUT, "/segments/active-pinged", both).await?;
        wait_filled(r).await?;
    }
    let before = size(r, "pinged").await?;
    let with_segments = acks(r, rate, Duration::from_millis(20), for_, identify("after")).await?;
    // Every qualifying event's person is in the segment once it is acknowledged.
    let after = size(r, "pinged").await?;
    anyhow::ensure!(
        after - before >= with_segments.samples as i64,
        "pinged grew by {} for {} pings",
        after - before,
        with_segments.samples
    );
    Ok(Entry { with_segments, ceiling, segments: 3 })
}

async fn size(r: &Running, id: &str) -> anyhow::Result<i64> {
    admin(r, reqwest::Method::GET, &format!("/segments/{id}"), Value::Null).await?["size"].as_i64().context("size")
}

async fn wait_filled(r: &Running) -> anyhow::Result<f64> {
    let started = Instant::now();
    loop {
        let list = admin(r, reqwest::Method::GET, "/segments", Value::Null).await?;
        let fill = &list["segments"][0]["fill"];
        if fill.is_null() {
            return Ok(started.elapsed().as_secs_f64());
        }
        progress(&format!("segments: filling, {} of {} people", fill["done"], fill["of"]));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `people` people each send one event; a segment holds them while it is under a minute old.
/// How late after each one's exact time edge the engine took them out.
pub async fn edges(r: &Running, people: usize) -> anyhow::Result<Edges> {
    let recent = json!({"condition": {"history": {"event": "Bench Edge", "within": "1m"}, "op": "gte", "value": 1}});
    admin(r, reqwest::Method::PUT, "/segments/recent", recent).await?;
    wait_filled(r).await?;
    let http = reqwest::Client::new();
    for chunk in (0..people).collect::<Vec<_>>().chunks(100) {
        let events: Vec<Value> =
            chunk.iter().map(|p| json!({"type": "track", "userId": format!("edge{p}"), "event": "Bench Edge"})).collect();
        http.post(format!("{}/v1/batch", r.base))
            .basic_auth(&r.key, Some(""))
            .body(json!({"batch": events}).to_string())
            .send()
            .await?
            .error_for_status()?;
    }
    // A window of one minute (whole minutes) lets go of an event at most two minutes after it,
    // and checks come within the minute after: wait for all, or give up after five minutes.
    let give_up = Instant::now() + Duration::from_secs(300);
    loop {
        let left = size(r, "recent").await?;
        progress(&format!("segments: waiting for time edges, {left} of {people} people still in"));
        if left == 0 || Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let store = r.store.clone();
    let (late, missed) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Vec<f64>, usize)> {
        let mut tx = store.read()?;
        let mut late = Vec::new();
        let mut missed = 0;
        for p in 0..people {
            let Some(profile) = tx.profile_by_identity(&Identity::UserId(format!("edge{p}")))? else { continue };
            let timeline = tx.timeline(profile, 10)?;
            let sent = timeline.iter().find(|e| e.event.match_name() == "Bench Edge").map(|e| e.event.timestamp);
            let exited = timeline
                .iter()
                .find(|e| e.event.match_name() == domain::segment::EXITED && e.event.properties.get("segment") == Some(&json!("recent")))
                .map(|e| e.event.timestamp);
            match (sent, exited) {
                (Some(sent), Some(exited)) => {
                    // The event's minute leaves a one-minute window one minute after that minute ends.
                    let due = (sent.0.div_euclid(60_000) + 2) * 60_000;
                    late.push((exited.0 - due) as f64 / 1000.0);
                }
                _ => missed += 1,
            }
        }
        Ok((late, missed))
    })
    .await??;
    let mut late = late;
    late.sort_by(f64::total_cmp);
    admin(r, reqwest::Method::DELETE, "/segments/recent", Value::Null).await?;
    Ok(Edges {
        people,
        late_p50_s: percentile(&late, 0.5),
        late_p99_s: percentile(&late, 0.99),
        late_max_s: late.last().copied().unwrap_or(0.0),
        missed,
    })
}

/// On a server holding `people` people: ingest latency (single track calls, 100/s) before,
/// then a new segment over everyone filled while the same load goes on.
pub async fn fill(r: &Running, people: usize) -> anyhow::Result<Fill> {
    let track = |label: &'static str| {
        move |n: u64| ("/v1/track".to_owned(), json!({"userId": format!("p{}", n as usize % people.max(1)), "event": label}).to_string())
    };
    let ingest_before = acks(r, 0, Duration::from_millis(10), Duration::from_secs(5), track("Before Fill")).await?;
    let started = Instant::now();
    let free = json!({"condition": {"all": [{"trait": "plan", "op": "eq", "value": "free"},
        {"history": {"event": "Scale Start", "within": "90d"}, "op": "gte", "value": 1}]}});
    admin(r, reqwest::Method::PUT, "/segments/free-starters", free).await?;
    // The load goes on while the fill runs (timed from the PUT until `fill` is gone).
    let load = {
        let (base, key) = (r.base.clone(), r.key.clone());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ms = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut n = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                let body = json!({"userId": format!("p{}", n as usize % people.max(1)), "event": "During Fill"}).to_string();
                let at = Instant::now();
                if http
                    .post(format!("{base}/v1/track"))
                    .basic_auth(&key, Some(""))
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    ms.push(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
            ms
        });
        (stop, task)
    };
    wait_filled(r).await?;
    let secs = started.elapsed().as_secs_f64();
    load.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut ms = load.1.await?;
    ms.sort_by(f64::total_cmp);
    let ingest_during = Latency {
        background_rate: 0,
        samples: ms.len(),
        p50: percentile(&ms, 0.5),
        p95: percentile(&ms, 0.95),
        p99: percentile(&ms, 0.99),
        max: ms.last().copied().unwrap_or(0.0),
    };
    let members = size(r, "free-starters").await?;
    let store = r.store.clone();
    let id = SegmentId("free-starters".into());
    let stored = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> { Ok(store.read()?.segment_size(&id)?) }).await??;
    anyhow::ensure!(members == stored, "the API and the store disagree on the size");
    Ok(Fill { people, members, secs, ingest_during, ingest_before })
}
