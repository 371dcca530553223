//! Backtests: replay the stored events of a period through a draft journey, with a simulated
//! clock, on a scratch copy of the engine, and report what the journey would have done.
//!
//! Because `step` is pure and the replay runs the same pipeline (identity, profiles, history,
//! timers), a backtest over the events a live journey saw reports what it did.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use domain::event::Event;
use domain::ids::{EventSeq, JourneyId, SourceId};
use domain::journey::{Journey, RunStatus};
use domain::time::Timestamp;
use serde_json::Value;
use store::{SqliteStore, Store, StoredEvent};

use crate::{Engine, Error, ManualClock, Options};

/// What a journey did (or would have done) over a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Events replayed (all people, warm-up included).
    pub events: usize,
    pub runs: usize,
    /// Runs in the control group (holdout).
    pub control: usize,
    /// Runs still waiting at the end of the period, by step.
    pub waiting: BTreeMap<String, usize>,
    /// How often each step was reached.
    pub visits: BTreeMap<String, usize>,
    /// Messages decided, by template (emails) or URL (webhooks).
    pub sends: BTreeMap<String, usize>,
    /// Ended runs, by reason.
    pub exits: BTreeMap<String, usize>,
    /// Runs that reached the goal.
    pub conversions: usize,
    /// A few people's paths: their runs' traces, transition by transition.
    pub samples: Vec<(String, Vec<String>)>,
}

/// Summarises what journey `id` did in `store` for runs entered in `[from, to]`.
pub fn report(store: &dyn Store, id: &JourneyId, from: Timestamp, to: Timestamp, events: usize) -> Result<Report, Error> {
    let mut tx = store.read()?;
    let mut r = Report { events, ..Report::default() };
    let mut samples: BTreeMap<domain::ids::ProfileId, Vec<String>> = BTreeMap::new();
    let runs = tx.journey_runs(id)?;
    let ids: std::collections::HashSet<domain::ids::RunId> = runs.iter().map(|r| r.id).collect();
    for run in runs {
        if run.run.entered_at < from || run.run.entered_at > to {
            continue;
        }
        r.runs += 1;
        r.control += usize::from(run.run.control);
        r.conversions += usize::from(run.run.converted_at.is_some());
        match run.run.status {
            RunStatus::Waiting => *r.waiting.entry(run.run.node.as_ref().map_or("(start)".into(), |n| n.0.clone())).or_default() += 1,
            RunStatus::Exited => *r.exits.entry(run.run.exit_reason.clone().unwrap_or_default()).or_default() += 1,
        }
        let traces = tx.traces(run.id)?;
        for line in traces.iter().flat_map(|t| &t.lines) {
            if let Some((node, _)) = line.split_once(": ").filter(|(n, _)| !n.contains(' ')) {
                *r.visits.entry(node.to_owned()).or_default() += 1;
            }
        }
        if samples.contains_key(&run.profile) || samples.len() < 5 {
            samples.entry(run.profile).or_default().extend(traces.iter().map(|t| format!("{}: {}", t.at, t.lines.join(" / "))));
        }
    }
    for (profile, path) in samples {
        let name = tx.identities(profile)?.first().map_or_else(|| profile.to_string(), |i| i.to_string());
        r.samples.push((name, path));
    }
    for m in tx.messages(None, None, usize::MAX)? {
        if m.run.is_none() || m.created_at < from || m.created_at > to {
            continue;
        }
        if !m.run.is_some_and(|run| ids.contains(&run)) {
            continue;
        }
        let what = match &m.payload.effect {
            domain::journey::Effect::Send { template, .. } => template.0.clone(),
            domain::journey::Effect::Webhook { url, .. } => url.clone(),
            domain::journey::Effect::Update { .. } => continue,
        };
        *r.sends.entry(what).or_default() += 1;
    }
    Ok(r)
}

/// Replays `source`'s events up to `to` on a scratch store in `scratch` (an empty directory),
/// with `document` published at `from`, and reports what it did in `[from, to]`. Nothing is
/// sent. `progress(done, total)` is called as events are replayed.
pub async fn run(
    source: Arc<dyn Store>,
    document: &Value,
    from: Timestamp,
    to: Timestamp,
    scratch: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report, Error> {
    let journey =
        Journey::parse(document).map_err(|d| Error::Invalid(format!("the journey has {} problem(s); validate it first", d.len())))?;
    let source_templates = source.clone();
    let events = tokio::task::spawn_blocking(move || -> Result<Vec<StoredEvent>, store::Error> {
        let mut all = Vec::new();
        let mut after = EventSeq(0);
        let mut tx = source.read()?;
        loop {
            let page = tx.events_after(after, 10_000)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            all.extend(page.into_iter().filter(|e| e.source.0 != crate::core::INTERNAL_SOURCE && e.event.received_at <= to));
        }
        Ok(all)
    })
    .await
    .map_err(|e| Error::Invalid(format!("reading events: {e}")))??;
    let scratch_store: Arc<dyn Store> = Arc::new(SqliteStore::open(&scratch.join("backtest.db"))?);
    copy_templates(&*source_templates, &*scratch_store)?;
    let start = events.first().map_or(from, |e| e.event.received_at.min(from));
    let clock = Arc::new(ManualClock::new(start));
    // Messages go through a dispatcher that sends nothing (emails and webhooks are rendered
    // and captured), so their outcomes reach the runs as they do live.
    let deliverer = deliver::Deliverer::simulated().map_err(|e| Error::Invalid(e.to_string()))?;
    let engine = Engine::start(scratch_store.clone(), clock.clone(), deliverer, Options::default());
    let result = replay(&engine, &clock, &scratch_store, &journey.id, document, &events, from, to, progress).await;
    engine.shutdown().await;
    result?;
    report(&*scratch_store, &journey.id, from, to, events.len())
}

/// The messages a backtest renders are the templates as they are now.
fn copy_templates(from: &dyn Store, to: &dyn Store) -> Result<(), Error> {
    let templates = from.read()?.templates()?;
    let mut tx = to.write()?;
    for t in &templates {
        tx.put_template(t)?;
    }
    tx.commit()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn replay(
    engine: &Engine,
    clock: &ManualClock,
    store: &Arc<dyn Store>,
    id: &JourneyId,
    document: &Value,
    events: &[StoredEvent],
    from: Timestamp,
    to: Timestamp,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(), Error> {
    let mut published = false;
    let mut i = 0;
    while i < events.len() {
        // Events received together (one request, one instant) are ingested together.
        let at = events[i].event.received_at;
        let source = events[i].source.clone();
        let mut group: Vec<Event> = Vec::new();
        while i < events.len() && events[i].event.received_at == at && events[i].source == source {
            group.push(events[i].event.clone());
            i += 1;
        }
        if !published && at >= from {
            publish(engine, clock, store, id, document, from).await?;
            published = true;
        }
        engine.advance_manual(clock, at).await?;
        engine.ingest(SourceId(source.0.clone()), group).await?;
        // Messages go out at once, as they do live (their outcomes reach the runs now).
        engine.wake().await?;
        progress(i, events.len());
    }
    if !published {
        publish(engine, clock, store, id, document, from).await?;
    }
    engine.advance_manual(clock, to).await
}

async fn publish(
    engine: &Engine,
    clock: &ManualClock,
    store: &Arc<dyn Store>,
    id: &JourneyId,
    document: &Value,
    from: Timestamp,
) -> Result<(), Error> {
    engine.advance_manual(clock, from).await?;
    let (store, id, document) = (store.clone(), id.clone(), document.clone());
    tokio::task::spawn_blocking(move || -> Result<(), store::Error> {
        let mut tx = store.write()?;
        tx.save_draft(&id, &document, from)?;
        tx.publish(&id, from)?;
        tx.commit()
    })
    .await
    .map_err(|e| Error::Invalid(format!("publishing: {e}")))??;
    engine.reload_journeys().await
}
