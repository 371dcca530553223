//! The core: one thread that turns queued events and due timers into committed state.
//!
//! Every command waiting in the queue joins the next transaction (group commit): a batch of
//! events from many requests, the due timers, their run transitions, timers and outbox
//! entries commit together, and only then are the requests answered. Events are processed
//! strictly in log order, so everything that happens to one person happens in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};

use domain::event::{Event, Kind};
use domain::ids::{Identity, JourneyId, ProfileId, RunId, SourceId};
use domain::journey::{Context, Effect, Input, Journey, Run, RunStatus, Transition, step};
use domain::profile::Profile;
use domain::time::Timestamp;
use serde_json::json;
use store::{NewOutbox, RunRecord, Store, TraceRecord, Tx};
use tokio::sync::{Notify, oneshot};

use crate::{Clock, Command, Error, IngestReport, Options};

type Reply = oneshot::Sender<Result<IngestReport, Error>>;

pub(crate) struct Core {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: Options,
    outbox_ready: Arc<Notify>,
    /// The latest published version of each journey.
    live: Vec<(Arc<Journey>, i64)>,
    /// Every version runs are on, parsed once.
    versions: HashMap<(JourneyId, i64), Arc<Journey>>,
    next_wake: Option<Timestamp>,
}

struct Ingest {
    source: SourceId,
    events: Vec<Event>,
    reply: Reply,
}

fn seed(profile: ProfileId, journey: &JourneyId) -> u64 {
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in profile.0.to_le_bytes().iter().chain(journey.0.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Core {
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, options: Options, outbox_ready: Arc<Notify>) -> Core {
        Core { store, clock, options, outbox_ready, live: Vec::new(), versions: HashMap::new(), next_wake: None }
    }

    pub(crate) fn run(mut self, rx: Receiver<Command>) {
        if let Err(error) = self.reload() {
            tracing::error!(%error, "loading journeys failed");
        }
        // Timers that came due while the server was down fire now.
        self.next_wake = Some(self.clock.now());
        loop {
            let first = match self.next_wake.and_then(|t| self.clock.real_wait(t)) {
                Some(wait) => match rx.recv_timeout(wait) {
                    Ok(c) => c,
                    Err(RecvTimeoutError::Timeout) => Command::Wake { reply: None },
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                None => match rx.recv() {
                    Ok(c) => c,
                    Err(_) => return,
                },
            };
            let mut ingests = Vec::new();
            let mut wakes = Vec::new();
            let mut events = 0;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Ingest { source, events: e, reply } => {
                        events += e.len();
                        ingests.push(Ingest { source, events: e, reply });
                    }
                    Command::Wake { reply } => wakes.extend(reply),
                    Command::Reload { reply } => {
                        self.flush(std::mem::take(&mut ingests), std::mem::take(&mut wakes));
                        if let Err(error) = self.reload() {
                            tracing::error!(%error, "reloading journeys failed");
                        }
                        let _ = reply.send(());
                    }
                    Command::Shutdown => {
                        self.flush(ingests, wakes);
                        tracing::info!("core stopped");
                        return;
                    }
                }
                if events < self.options.max_batch_events {
                    next = rx.try_recv().ok();
                }
            }
            self.flush(ingests, wakes);
        }
    }

    fn reload(&mut self) -> Result<(), Error> {
        let published = self.store.read()?.published()?;
        self.live = published
            .into_iter()
            .filter_map(|v| match Journey::parse(&v.document) {
                Ok(j) => Some((Arc::new(j), v.version)),
                Err(diags) => {
                    tracing::error!(journey = %v.id, version = v.version, problems = diags.len(), "published journey does not parse; skipped");
                    None
                }
            })
            .collect();
        for (j, v) in &self.live {
            self.versions.insert((j.id.clone(), *v), j.clone());
        }
        tracing::info!(journeys = self.live.len(), "journeys loaded");
        Ok(())
    }

    /// Commits one batch: due timers first, then the queued events, then answers.
    fn flush(&mut self, ingests: Vec<Ingest>, wakes: Vec<oneshot::Sender<Result<(), Error>>>) {
        if ingests.is_empty() && wakes.is_empty() && self.next_wake.is_none_or(|t| t > self.clock.now()) {
            return;
        }
        let now = self.clock.now();
        let batch: Vec<(&SourceId, &[Event])> = ingests.iter().map(|i| (&i.source, i.events.as_slice())).collect();
        let result = self.commit(now, &batch);
        let reports = match result {
            Ok(reports) => reports.into_iter().map(Ok).collect(),
            Err(error) if ingests.len() > 1 => {
                // One request's events must not sink the others: retry each on its own.
                tracing::warn!(%error, requests = ingests.len(), "batch failed; committing requests one by one");
                batch.iter().map(|one| self.commit(now, std::slice::from_ref(one)).map(|mut r| r.remove(0))).collect::<Vec<_>>()
            }
            Err(error) => vec![Err(error)],
        };
        for (ingest, report) in ingests.into_iter().zip(reports) {
            if let Err(error) = &report {
                tracing::error!(%error, source = %ingest.source, "ingest failed");
            }
            let _ = ingest.reply.send(report);
        }
        // Drain the rest of the due timers, one chunk per transaction.
        let mut wake_result = Ok(());
        while self.next_wake.is_some_and(|t| t <= now) {
            if let Err(error) = self.commit(now, &[]) {
                tracing::error!(%error, "firing timers failed");
                self.next_wake = Some(now.plus(domain::time::Duration::seconds(1)));
                wake_result = Err(error);
                break;
            }
        }
        for reply in wakes {
            let _ = reply.send(match &wake_result {
                Ok(()) => Ok(()),
                Err(e) => Err(Error::Store(store::Error::Corrupt(e.to_string()))),
            });
        }
        self.outbox_ready.notify_one();
    }

    fn commit(&mut self, now: Timestamp, batch: &[(&SourceId, &[Event])]) -> Result<Vec<IngestReport>, Error> {
        let store = self.store.clone();
        let mut tx = store.write()?;
        let due = tx.due_runs(now, self.options.max_batch_timers)?;
        let timers_full = due.len() >= self.options.max_batch_timers;
        for record in due {
            self.fire_timer(&mut *tx, record, now)?;
        }
        let mut reports = Vec::with_capacity(batch.len());
        for (source, events) in batch {
            let mut report = IngestReport::default();
            for event in *events {
                match tx.insert_event(source, event)? {
                    Some(seq) => {
                        report.accepted += 1;
                        let profile = self.resolve(&mut *tx, event, now)?;
                        tx.set_event_profile(seq, profile)?;
                        self.on_event(&mut *tx, profile, event, now)?;
                    }
                    None => report.duplicates += 1,
                }
            }
            reports.push(report);
        }
        let next = tx.next_wake()?;
        tx.commit()?;
        self.next_wake = if timers_full { Some(now) } else { next };
        Ok(reports)
    }

    /// Finds (or creates) the person an event is about, merging profiles it proves are one.
    fn resolve(&mut self, tx: &mut dyn Tx, event: &Event, now: Timestamp) -> Result<ProfileId, Error> {
        let mut found: Vec<(Identity, ProfileId)> = Vec::new();
        for identity in event.identities() {
            if let Some(p) = tx.profile_by_identity(&identity)?
                && let Some(p) = tx.canonical(p)?
            {
                found.push((identity, p));
            }
        }
        let mut distinct: Vec<ProfileId> = Vec::new();
        for (_, p) in &found {
            if !distinct.contains(p) {
                distinct.push(*p);
            }
        }
        let profile = match distinct.as_slice() {
            [] => tx.create_profile(now)?,
            [one] => *one,
            many => {
                let by_user_id =
                    found.iter().find(|(i, _)| matches!(i, Identity::UserId(u) if event.user_id.as_ref() == Some(u))).map(|(_, p)| *p);
                let winner = by_user_id.unwrap_or_else(|| many.iter().copied().min().unwrap_or(many[0]));
                for loser in many.iter().copied().filter(|p| *p != winner) {
                    // Two different known users are only merged by an explicit alias.
                    let other_user =
                        tx.identities(loser)?.iter().any(|i| matches!(i, Identity::UserId(u) if event.user_id.as_ref() != Some(u)));
                    if other_user && event.kind != Kind::Alias {
                        tracing::info!(winner = %winner, kept = %loser, "not merging two known users without an alias");
                        continue;
                    }
                    self.merge(tx, winner, loser, now)?;
                }
                winner
            }
        };
        // Register the identities this event names; an identity another profile still holds
        // (a device shared by two known users) moves to this person.
        let mut names: Vec<Identity> = [event.user_id.clone().map(Identity::UserId), event.anonymous_id.clone().map(Identity::AnonymousId)]
            .into_iter()
            .flatten()
            .collect();
        if let Some(previous) = event.previous_id.as_ref().filter(|_| event.kind == Kind::Alias)
            && !found.iter().any(|(i, _)| i.value() == previous)
        {
            names.push(Identity::AnonymousId(previous.clone()));
        }
        for identity in names {
            let owner = match tx.profile_by_identity(&identity)? {
                Some(p) => tx.canonical(p)?,
                None => None,
            };
            if owner != Some(profile) {
                tx.add_identity(&identity, profile)?;
            }
        }
        Ok(profile)
    }

    fn merge(&mut self, tx: &mut dyn Tx, winner: ProfileId, loser: ProfileId, now: Timestamp) -> Result<(), Error> {
        let mut kept = tx.profile(winner)?.unwrap_or_else(|| Profile::new(winner));
        if let Some(gone) = tx.profile(loser)? {
            kept.absorb(&gone);
        }
        tx.save_profile(&kept, now)?;
        let winner_runs = tx.runs_of(winner)?;
        for mut record in tx.runs_of(loser)? {
            let duplicate = winner_runs.iter().any(|w| w.run.status == RunStatus::Waiting && w.run.journey == record.run.journey);
            if record.run.status == RunStatus::Waiting && duplicate {
                record.run.status = RunStatus::Exited;
                record.run.wake_at = None;
                record.run.exit_reason = Some(format!("profile merged into {winner}, which has its own run"));
                record.run.seq += 1;
                record.run.updated_at = now;
                tx.update_run(record.id, &record.run)?;
                tx.add_trace(&TraceRecord {
                    run: record.id,
                    seq: record.run.seq,
                    at: now,
                    lines: vec![format!("exit: merged into profile {winner}")],
                })?;
            }
        }
        tx.merge_profiles(winner, loser, now)?;
        tracing::info!(%winner, %loser, "profiles merged");
        Ok(())
    }

    fn version(&mut self, tx: &mut dyn Tx, id: &JourneyId, version: i64) -> Result<Option<Arc<Journey>>, Error> {
        if let Some(j) = self.versions.get(&(id.clone(), version)) {
            return Ok(Some(j.clone()));
        }
        let Some(stored) = tx.journey_version(id, version)? else { return Ok(None) };
        match Journey::parse(&stored.document) {
            Ok(j) => {
                let j = Arc::new(j);
                self.versions.insert((id.clone(), version), j.clone());
                Ok(Some(j))
            }
            Err(_) => Ok(None),
        }
    }

    fn history(tx: &mut dyn Tx, j: &Journey, profile: ProfileId, now: Timestamp) -> Result<Vec<i64>, Error> {
        j.history.iter().map(|q| Ok(q.count(&tx.event_properties(profile, &q.event, now.minus(q.within), now)?))).collect()
    }

    fn on_event(&mut self, tx: &mut dyn Tx, profile_id: ProfileId, event: &Event, now: Timestamp) -> Result<(), Error> {
        let mut profile = tx.profile(profile_id)?.unwrap_or_else(|| Profile::new(profile_id));
        if event.kind == Kind::Identify && profile.apply_traits(&event.traits, event.timestamp) {
            tx.save_profile(&profile, now)?;
        }
        let active: Vec<RunRecord> = tx.runs_of(profile_id)?.into_iter().filter(|r| r.run.status == RunStatus::Waiting).collect();
        // Runs in progress see the event first (exits, wait_for), on the version they started on.
        for record in &active {
            let Some(j) = self.version(tx, &record.run.journey, record.run.version)? else { continue };
            let history = Self::history(tx, &j, profile_id, now)?;
            let ctx = Context { traits: &profile.traits, history: &history };
            if let Some(t) = step(&j, record.run.version, Some(&record.run), Input::Event(event), &ctx, now, seed(profile_id, &j.id)) {
                persist(tx, &profile, Some(record.id), t, now)?;
            }
        }
        // Then entries into journeys the person is not in.
        for (j, version) in self.live.clone() {
            if j.entry.event != event.match_name() || active.iter().any(|r| r.run.journey == j.id) {
                continue;
            }
            let history = Self::history(tx, &j, profile_id, now)?;
            let ctx = Context { traits: &profile.traits, history: &history };
            if let Some(t) = step(&j, version, None, Input::Event(event), &ctx, now, seed(profile_id, &j.id)) {
                persist(tx, &profile, None, t, now)?;
            }
        }
        Ok(())
    }

    fn fire_timer(&mut self, tx: &mut dyn Tx, record: RunRecord, now: Timestamp) -> Result<(), Error> {
        let profile_id = tx.canonical(record.profile)?.unwrap_or(record.profile);
        let profile = tx.profile(profile_id)?.unwrap_or_else(|| Profile::new(profile_id));
        let transition = match self.version(tx, &record.run.journey, record.run.version)? {
            Some(j) => {
                let history = Self::history(tx, &j, profile_id, now)?;
                let ctx = Context { traits: &profile.traits, history: &history };
                step(&j, record.run.version, Some(&record.run), Input::Timer, &ctx, now, seed(profile_id, &j.id))
            }
            None => None,
        };
        // A timer must never fire forever: a run the journey cannot move ends, with a reason.
        let transition = transition.unwrap_or_else(|| stuck(&record.run, now));
        persist(tx, &profile, Some(record.id), transition, now)
    }
}

fn stuck(run: &Run, now: Timestamp) -> Transition {
    let mut run = run.clone();
    run.status = RunStatus::Exited;
    run.wake_at = None;
    run.exit_reason = Some("timer fired at a step that cannot take it (journey version missing or invalid)".into());
    run.seq += 1;
    run.updated_at = now;
    Transition { run, entered: false, effects: Vec::new(), trace: vec!["exit: timer could not be handled".into()] }
}

/// Writes a transition: run state (with its timer), trace and outbox entries, all in `tx`.
fn persist(tx: &mut dyn Tx, profile: &Profile, existing: Option<RunId>, t: Transition, now: Timestamp) -> Result<(), Error> {
    let run_id = match existing {
        Some(id) => {
            tx.update_run(id, &t.run)?;
            id
        }
        None => tx.insert_run(profile.id, &t.run)?,
    };
    tx.add_trace(&TraceRecord { run: run_id, seq: t.run.seq, at: now, lines: t.trace })?;
    for (i, effect) in t.effects.iter().enumerate() {
        let channel = match effect {
            Effect::Send { .. } => "email",
            Effect::Webhook { .. } => "webhook",
        };
        let payload = json!({
            "effect": effect,
            "to": profile.traits.get("email"),
            "context": render_context(profile, &t.run),
        });
        let entry = NewOutbox {
            key: format!("run-{run_id}-{}-{i}", t.run.seq),
            profile: profile.id,
            run: Some(run_id),
            channel: channel.into(),
            payload,
            due: now,
        };
        tx.enqueue(&entry, now)?;
    }
    Ok(())
}

/// What templates see: `traits`, `event` (the properties of the event that started the run),
/// `event_name`, `journey` and `profile_id`.
fn render_context(profile: &Profile, run: &Run) -> serde_json::Value {
    json!({
        "traits": profile.traits,
        "event": run.trigger,
        "event_name": run.trigger_event,
        "journey": run.journey,
        "profile_id": profile.id,
    })
}
