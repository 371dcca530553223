//! The core: one thread that turns queued events and due timers into committed state.
//!
//! Every command waiting in the queue joins the next transaction (group commit): a batch of
//! events from many requests, the due timers, their run transitions, timers and outbox
//! entries commit together, and only then are the requests answered. Events are processed
//! strictly in log order, so everything that happens to one person happens in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};

use domain::aggregate::Counter;
use domain::condition::HistoryQuery;
use domain::event::{Event, Kind};
use domain::ids::{EventSeq, Identity, JourneyId, ProfileId, RunId, SourceId};
use domain::journey::{Context, Effect, Input, Journey, Run, RunStatus, Transition, Trigger, step};
use domain::profile::Profile;
use domain::time::Timestamp;
use serde_json::json;
use store::{NewOutbox, OutboxEntry, OutboxStatus, Store, TraceRecord, Tx};
use tokio::sync::oneshot;

use crate::dispatch::Handoff;
use crate::recent::Recent;
use crate::syncer::{Owed, Syncer};
use crate::{Clock, Command, Error, IngestReport, Options, RunsAction};

type Reply = oneshot::Sender<Result<IngestReport, Error>>;

/// Date entries are swept every quarter hour (every zone's offset is a multiple of it).
const QUARTER: i64 = 15 * 60_000;

pub(crate) struct Core {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: Options,
    /// Committed outbox entries go straight to the dispatcher.
    handoff: Arc<Handoff>,
    /// Outbox entries written by the transaction being built.
    fresh: Vec<OutboxEntry>,
    /// How many runs each journey with an entry limit has had: counted in the store once,
    /// then kept (only the core starts runs).
    run_counts: HashMap<JourneyId, i64>,
    /// What this flush's commits owe once durable, and the thread that settles it.
    owed: Owed,
    syncer: Syncer,
    /// The latest published version of each journey.
    live: Vec<(Arc<Journey>, i64)>,
    /// Every version runs are on, parsed once.
    versions: HashMap<(JourneyId, i64), Arc<Journey>>,
    next_wake: Option<Timestamp>,
    /// When each schedule or date-entry journey was last swept.
    sweeps: HashMap<JourneyId, Timestamp>,
    /// Sweeps done by the transaction being built; they count once it commits.
    swept: Vec<(JourneyId, Timestamp)>,
    /// Where each identity seen lately lives (canonical profile). Only the core writes
    /// identities, so this is exact; it is cleared on merges and when a commit fails.
    identities: Recent<Identity, ProfileId>,
    /// The state of people seen lately, as committed. Only the core writes profiles, runs
    /// and counters, so this is exact; a person is forgotten when merged or swept, and
    /// everyone when a commit fails or runs are moved by the admin API.
    hot: Recent<ProfileId, Hot>,
}

/// Most identities remembered (about 100 bytes each).
const IDENTITY_CACHE: usize = 1_000_000;

/// What the core keeps of a person between batches.
struct Hot {
    profile: Profile,
    /// Waiting runs and the latest run of each journey (re-entry rules look at it).
    runs: Vec<(RunId, Run)>,
    /// History counters used so far, by query key.
    counters: HashMap<String, Slot>,
}

struct Ingest {
    source: SourceId,
    events: Vec<Event>,
    reply: Reply,
}

struct Enter {
    journey: JourneyId,
    identity: Identity,
    payload: domain::Map,
    reply: oneshot::Sender<Result<bool, Error>>,
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
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, options: Options, handoff: Arc<Handoff>) -> Core {
        Core {
            syncer: Syncer::start(store.clone(), handoff.clone()),
            store,
            clock,
            handoff,
            fresh: Vec::new(),
            run_counts: HashMap::new(),
            owed: Owed::default(),
            live: Vec::new(),
            versions: HashMap::new(),
            next_wake: None,
            sweeps: HashMap::new(),
            swept: Vec::new(),
            identities: Recent::new(IDENTITY_CACHE),
            hot: Recent::new(options.hot_people),
            options,
        }
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
            let mut enters = Vec::new();
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
                    Command::NextWake { reply } => {
                        let _ = reply.send(self.next_wake);
                    }
                    Command::Enter { journey, identity, payload, reply } => enters.push(Enter { journey, identity, payload, reply }),
                    Command::Runs { journey, action, reply } => {
                        self.flush(std::mem::take(&mut ingests), std::mem::take(&mut enters), std::mem::take(&mut wakes));
                        let _ = reply.send(self.commit_runs(&journey, &action));
                    }
                    Command::Reload { reply } => {
                        self.flush(std::mem::take(&mut ingests), std::mem::take(&mut enters), std::mem::take(&mut wakes));
                        if let Err(error) = self.reload() {
                            tracing::error!(%error, "reloading journeys failed");
                        }
                        let _ = reply.send(());
                    }
                    Command::Shutdown => {
                        self.flush(ingests, enters, wakes);
                        tracing::info!("core stopped");
                        return;
                    }
                }
                if events < self.options.max_batch_events {
                    next = rx.try_recv().ok();
                }
            }
            self.flush(ingests, enters, wakes);
        }
    }

    fn reload(&mut self) -> Result<(), Error> {
        // A version without a limit starts runs the counts would not see: count again.
        self.run_counts.clear();
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
        // Schedules and date entries start from when they were last swept (or from now).
        let now = self.clock.now();
        let mut tx = self.store.read()?;
        let mut sweeps = HashMap::new();
        for (j, _) in self.live.iter().filter(|(j, _)| j.swept()) {
            let last = match self.sweeps.get(&j.id) {
                Some(t) => *t,
                None => tx.setting(&format!("sweep:{}", j.id))?.and_then(|v| v.parse().ok()).map_or(now, Timestamp),
            };
            sweeps.insert(j.id.clone(), last);
        }
        drop(tx);
        self.sweeps = sweeps;
        self.next_wake = [self.next_wake, self.next_sweep()].into_iter().flatten().min();
        tracing::info!(journeys = self.live.len(), "journeys loaded");
        Ok(())
    }

    /// The next time a schedule or date-entry journey must be swept.
    fn next_sweep(&self) -> Option<Timestamp> {
        self.live
            .iter()
            .filter_map(|(j, _)| {
                let last = *self.sweeps.get(&j.id)?;
                match &j.entry.trigger {
                    Trigger::Schedule { cron, timezone, .. } => cron.next_after(last, timezone),
                    // Date entries fall on quarter hours in every zone: sweep each quarter hour.
                    Trigger::Date { .. } => Some(Timestamp((last.0.div_euclid(QUARTER) + 1) * QUARTER)),
                    _ => None,
                }
            })
            .min()
    }

    /// Enters everyone a due schedule or date entry concerns: a pass over every profile.
    fn sweep(&mut self, tx: &mut dyn Tx, now: Timestamp) -> Result<(), Error> {
        let due: Vec<(Arc<Journey>, i64, Timestamp)> = self
            .live
            .iter()
            .filter_map(|(j, v)| {
                let last = *self.sweeps.get(&j.id)?;
                let next = match &j.entry.trigger {
                    Trigger::Schedule { cron, timezone, .. } => cron.next_after(last, timezone)?,
                    Trigger::Date { .. } => Timestamp((last.0.div_euclid(QUARTER) + 1) * QUARTER),
                    _ => return None,
                };
                (next <= now).then(|| (j.clone(), *v, last))
            })
            .collect();
        for (j, version, last) in due {
            let mut entries = if j.entry.limit.is_some() { tx.count_runs(&j.id)? } else { 0 };
            let mut after = ProfileId(0);
            let mut entered = 0;
            loop {
                let page = tx.profiles_after(after, 500)?;
                let Some(tail) = page.last() else { break };
                after = tail.id;
                for profile in page {
                    let concerned = match &j.entry.trigger {
                        Trigger::Date { .. } => j.date_entry_at(&profile.traits).is_some_and(|t| last < t && t <= now),
                        _ => true,
                    };
                    if !concerned {
                        continue;
                    }
                    let runs = tx.current_runs(profile.id)?;
                    if !j.entry.concurrent && runs.iter().any(|r| r.run.journey == j.id && r.run.status == RunStatus::Waiting) {
                        continue;
                    }
                    let previous = runs.iter().rev().find(|r| r.run.journey == j.id).map(|r| &r.run);
                    let history: Vec<serde_json::Value> = j
                        .history
                        .iter()
                        .map(|q| {
                            let (lo, hi) = domain::aggregate::window(q.within, now);
                            Ok(q.evaluate(tx.event_properties(profile.id, &q.event, lo, hi)?.iter().map(|(_, _, p)| p)))
                        })
                        .collect::<Result<_, Error>>()?;
                    let ctx = Context { traits: &profile.traits, history: &history, previous, entries };
                    let Some(t) = step(&j, version, None, Input::Scheduled, &ctx, now, seed(profile.id, &j.id)) else { continue };
                    entries += 1;
                    entered += 1;
                    let mut p = profile.clone();
                    let mut updates = Vec::new();
                    for effect in &t.effects {
                        if let Effect::Update { update, .. } = effect {
                            let changed = update.apply(&mut p.traits);
                            for k in changed.keys() {
                                p.trait_times.insert(k.clone(), now);
                            }
                            updates.push(changed);
                        }
                    }
                    let changed = updates.iter().any(|u| !u.is_empty());
                    let moved = Moved { run: RunRef::New(0), transition: t, traits: p.traits.clone(), updates };
                    // What the core remembered of this person is out of date now.
                    self.hot.take(&p.id);
                    let outcome =
                        Outcome { profile: p, profile_changed: changed, counters: HashMap::new(), runs: Vec::new(), moves: vec![moved] };
                    write(tx, outcome, now, &mut self.fresh)?;
                }
            }
            tx.set_setting(&format!("sweep:{}", j.id), &now.0.to_string())?;
            self.run_counts.remove(&j.id);
            self.swept.push((j.id.clone(), now));
            tracing::info!(journey = %j.id, entered, "swept");
        }
        Ok(())
    }

    /// Commits what is queued: API entries (each on its own), then due timers and the queued
    /// events in one transaction, then the rest of the due timers; the answers and new outbox
    /// entries go to the sync thread, settled once the commits are on disk.
    fn flush(&mut self, ingests: Vec<Ingest>, enters: Vec<Enter>, wakes: Vec<oneshot::Sender<Result<(), Error>>>) {
        if ingests.is_empty() && enters.is_empty() && wakes.is_empty() && self.next_wake.is_none_or(|t| t > self.clock.now()) {
            return;
        }
        let now = self.clock.now();
        // API entries commit on their own, so that one cannot fail a batch of events.
        for enter in enters {
            match self.commit_enter(now, &enter) {
                Ok(entered) => {
                    let reply = enter.reply;
                    self.owed.answers.push(Box::new(move |synced| {
                        let _ = reply.send(synced.map(|()| entered).map_err(Error::Sync));
                    }));
                }
                Err(error) => {
                    let _ = enter.reply.send(Err(error));
                }
            }
        }
        let batch: Vec<(&SourceId, &[Event])> = ingests.iter().map(|i| (&i.source, i.events.as_slice())).collect();
        let result = self.commit(now, &batch).map(|(reports, _)| reports);
        let reports = match result {
            Ok(reports) => reports.into_iter().map(Ok).collect(),
            Err(error) if ingests.len() > 1 => {
                // One request's events must not sink the others: retry each on its own.
                tracing::warn!(%error, requests = ingests.len(), "batch failed; committing requests one by one");
                batch.iter().map(|one| self.commit(now, std::slice::from_ref(one)).map(|(mut r, _)| r.remove(0))).collect::<Vec<_>>()
            }
            Err(error) => vec![Err(error)],
        };
        for (ingest, report) in ingests.into_iter().zip(reports) {
            match report {
                Ok(report) => {
                    let reply = ingest.reply;
                    self.owed.answers.push(Box::new(move |synced| {
                        let _ = reply.send(synced.map(|()| report).map_err(Error::Sync));
                    }));
                }
                Err(error) => {
                    tracing::error!(%error, source = %ingest.source, "ingest failed");
                    let _ = ingest.reply.send(Err(error));
                }
            }
        }
        // Drain the rest of the due timers, one chunk per transaction, each at its own time.
        let mut wake_result = Ok(());
        loop {
            let now = self.clock.now();
            if self.next_wake.is_none_or(|t| t > now) {
                break;
            }
            if let Err(error) = self.commit(now, &[]) {
                tracing::error!(%error, "firing timers failed");
                self.next_wake = Some(now.plus(domain::time::Duration::seconds(1)));
                wake_result = Err(error);
                break;
            }
        }
        for reply in wakes {
            match &wake_result {
                Ok(()) => self.owed.answers.push(Box::new(move |synced| {
                    let _ = reply.send(synced.map_err(Error::Sync));
                })),
                Err(e) => {
                    let _ = reply.send(Err(Error::Timers(e.to_string())));
                }
            }
        }
        // Answers and new outbox entries wait for the disk; the next batch does not.
        let owed = std::mem::take(&mut self.owed);
        self.syncer.after_sync(&*self.store, &self.handoff, owed);
    }

    /// Moves or ends every waiting run of a journey, each with a trace line, in one transaction.
    fn commit_runs(&mut self, journey: &JourneyId, action: &RunsAction) -> Result<usize, Error> {
        let now = self.clock.now();
        let store = self.store.clone();
        let mut tx = store.write()?;
        let target = match action {
            RunsAction::MoveTo(version) => self.version(&mut *tx, journey, *version)?,
            RunsAction::Stop(_) => None,
        };
        let mut changed = 0;
        for mut record in tx.journey_runs(journey)?.into_iter().filter(|r| r.run.status == RunStatus::Waiting) {
            // This person's runs change outside their batch: what was remembered is out of date.
            self.hot.take(&record.profile);
            let line = match (action, &target) {
                (RunsAction::Stop(reason), _) => {
                    record.run.status = RunStatus::Exited;
                    record.run.wake_at = None;
                    record.run.exit_reason = Some(reason.clone());
                    format!("exit: {reason}")
                }
                (RunsAction::MoveTo(version), Some(j)) if record.run.version != *version => {
                    if record.run.node.as_ref().is_some_and(|n| j.get(n).is_none()) {
                        continue;
                    }
                    let from = record.run.version;
                    record.run.version = *version;
                    format!("moved from version {from} to version {version}")
                }
                _ => continue,
            };
            record.run.seq += 1;
            record.run.updated_at = now;
            tx.update_run(record.id, &record.run)?;
            tx.add_trace(&TraceRecord { run: record.id, seq: record.run.seq, at: now, lines: vec![line] })?;
            changed += 1;
        }
        let next = tx.next_wake()?;
        tx.commit()?;
        self.next_wake = [next, self.next_sweep()].into_iter().flatten().min();
        tracing::info!(journey = %journey, changed, "runs moved or stopped");
        Ok(changed)
    }

    /// Enters one person into a journey through the API, in a transaction of its own.
    fn commit_enter(&mut self, now: Timestamp, enter: &Enter) -> Result<bool, Error> {
        let (_, entered) = self.commit_with(now, &[], Some(enter))?;
        Ok(entered)
    }

    fn commit(&mut self, now: Timestamp, batch: &[(&SourceId, &[Event])]) -> Result<(Vec<IngestReport>, bool), Error> {
        self.commit_with(now, batch, None)
    }

    fn commit_with(
        &mut self,
        now: Timestamp,
        batch: &[(&SourceId, &[Event])],
        enter: Option<&Enter>,
    ) -> Result<(Vec<IngestReport>, bool), Error> {
        let result = self.commit_inner(now, batch, enter);
        if result.is_err() {
            // What the failed transaction created is gone: so is what the caches learned from it.
            self.identities.clear();
            self.hot.clear();
            self.run_counts.clear();
        }
        result
    }

    /// One transaction: the log and identity in order (phase 1), each person's state loaded
    /// (phase 2), each person's inputs stepped in order, people in parallel (phase 3, pure),
    /// and every resulting write (phase 4). Then commit, without waiting for the disk.
    fn commit_inner(
        &mut self,
        now: Timestamp,
        batch: &[(&SourceId, &[Event])],
        enter: Option<&Enter>,
    ) -> Result<(Vec<IngestReport>, bool), Error> {
        let store = self.store.clone();
        let mut tx = store.write()?;
        self.fresh.clear();
        self.swept.clear();
        self.sweep(&mut *tx, now)?;
        // `next_wake` is exact (only the core writes runs): no timer is due before it.
        let due = if self.next_wake.is_some_and(|t| t <= now) { tx.due_runs(now, self.options.max_batch_timers)? } else { Vec::new() };
        let timers_full = due.len() >= self.options.max_batch_timers;
        let mut work: Vec<(ProfileId, Work<'_>)> = Vec::new();
        for (run, profile) in due {
            work.push((profile, Work::Timer(run)));
        }
        let mut reports = Vec::with_capacity(batch.len());
        let mut first_new: Option<EventSeq> = None;
        for (source, events) in batch {
            let mut report = IngestReport::default();
            for event in *events {
                // Identity first, so the event is logged with its person in one write (a
                // duplicate's identities are known already: resolving it changes nothing).
                let profile = match internal_profile(source, event) {
                    Some(p) => tx.canonical(p)?.unwrap_or(p),
                    None => self.resolve(&mut *tx, event, now)?,
                };
                match tx.insert_event(source, event, Some(profile))? {
                    Some(seq) => {
                        report.accepted += 1;
                        first_new.get_or_insert(seq);
                        work.push((profile, Work::Event { seq, event }));
                    }
                    None => report.duplicates += 1,
                }
            }
            reports.push(report);
        }
        let mut api_profile = None;
        if let Some(e) = enter {
            let profile = match tx.profile_by_identity(&e.identity)? {
                Some(p) => tx.canonical(p)?.unwrap_or(p),
                None => {
                    let p = tx.create_profile(now)?;
                    tx.add_identity(&e.identity, p)?;
                    p
                }
            };
            api_profile = Some(profile);
            work.push((profile, Work::Api { journey: e.journey.clone(), payload: &e.payload }));
        }
        // Counters built from the log take only events logged before this batch; the batch's
        // own events are added as they are stepped.
        let before_batch = first_new.map_or(EventSeq(i64::MAX), |s| EventSeq(s.0 - 1));
        let people = self.load(&mut *tx, work, now, before_batch)?;
        // Entry limits are shared by everyone in the batch: counted once, reserved atomically.
        let mut counted = Vec::new();
        for (j, _) in self.live.iter().filter(|(j, _)| j.entry.limit.is_some()) {
            let n = match self.run_counts.get(&j.id) {
                Some(n) => *n,
                None => tx.count_runs(&j.id)?,
            };
            counted.push((j.id.clone(), n));
        }
        let entries: HashMap<JourneyId, AtomicI64> = counted.iter().map(|(j, n)| (j.clone(), AtomicI64::new(*n))).collect();
        let outcomes = {
            let batch = Batch { live: &self.live, versions: &self.versions, entries: &entries, now };
            parallel_map(people, |p| compute(p, &batch))
        };
        let entered = enter.is_some_and(|e| {
            outcomes.iter().any(|o| {
                Some(o.profile.id) == api_profile
                    && o.moves.iter().any(|m| {
                        matches!(m.run, RunRef::New(_))
                            && m.transition.run.journey == e.journey
                            && m.transition.run.trigger_event == "API Call"
                    })
            })
        });
        for (j, n) in &mut counted {
            *n += outcomes.iter().flat_map(|o| &o.moves).filter(|m| m.transition.entered && m.transition.run.journey == *j).count() as i64;
        }
        let mut hot = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            hot.push(write(&mut *tx, outcome, now, &mut self.fresh)?);
        }
        let next = tx.next_wake()?;
        let fresh = if self.options.dispatch { std::mem::take(&mut self.fresh) } else { Vec::new() };
        self.handoff.reserve(&fresh);
        if let Err(error) = tx.commit_unsynced() {
            self.handoff.abandon(&fresh);
            return Err(error.into());
        }
        self.owed.outbox.extend(fresh);
        self.sweeps.extend(self.swept.drain(..));
        self.run_counts.extend(counted);
        if self.options.hot_people > 0 {
            for person in hot {
                self.hot.insert(person.profile.id, person);
            }
        }
        self.next_wake = if timers_full { Some(now) } else { [next, self.next_sweep()].into_iter().flatten().min() };
        Ok((reports, entered))
    }

    /// Groups the work by person (merges may have joined people since) and loads what
    /// stepping them needs: profile, current runs, journey versions, history counters.
    fn load<'e>(
        &mut self,
        tx: &mut dyn Tx,
        work: Vec<(ProfileId, Work<'e>)>,
        now: Timestamp,
        before_batch: EventSeq,
    ) -> Result<Vec<Person<'e>>, Error> {
        let mut people: Vec<Person<'e>> = Vec::new();
        let mut index: HashMap<ProfileId, usize> = HashMap::new();
        for (profile, item) in work {
            // Remembered and already-loaded people are canonical (merges forget both sides).
            let id = if index.contains_key(&profile) || self.hot.contains(&profile) {
                profile
            } else {
                tx.canonical(profile)?.unwrap_or(profile)
            };
            let i = match index.get(&id) {
                Some(i) => *i,
                None => {
                    let hot = match self.hot.take(&id) {
                        Some(hot) => hot,
                        None => Hot {
                            profile: tx.profile(id)?.unwrap_or_else(|| Profile::new(id)),
                            runs: tx.current_runs(id)?.into_iter().map(|r| (r.id, r.run)).collect(),
                            counters: HashMap::new(),
                        },
                    };
                    let runs = hot.runs.into_iter().map(|(id, run)| (RunRef::Stored(id), run)).collect();
                    people.push(Person { profile: hot.profile, runs, work: Vec::new(), counters: hot.counters });
                    index.insert(id, people.len() - 1);
                    people.len() - 1
                }
            };
            people[i].work.push(item);
        }
        for person in &mut people {
            let mut journeys: Vec<(JourneyId, i64)> =
                person.runs.iter().filter(|(_, r)| r.status == RunStatus::Waiting).map(|(_, r)| (r.journey.clone(), r.version)).collect();
            let names: Vec<&str> = person
                .work
                .iter()
                .filter_map(|w| if let Work::Event { event, .. } = w { Some(event.match_name()) } else { None })
                .collect();
            // Journeys these inputs may enter (trait-change entries may follow any identify or update).
            let api = |j: &JourneyId| person.work.iter().any(|w| matches!(w, Work::Api { journey, .. } if journey == j));
            journeys.extend(
                self.live
                    .iter()
                    .filter(|(j, _)| j.entry_event().is_some_and(|e| names.contains(&e)) || j.entry_trait().is_some() || api(&j.id))
                    .map(|(j, v)| (j.id.clone(), *v)),
            );
            // Counters this batch reads (journeys it may step) or must keep current (every
            // query over an event name in this batch, whichever journey it belongs to).
            // Only the ones not at hand yet are cloned (a query carries its condition tree).
            let mut queries: Vec<HistoryQuery> = Vec::new();
            let want = |q: &HistoryQuery, queries: &mut Vec<HistoryQuery>| {
                if !person.counters.contains_key(&q.key) && !queries.iter().any(|x| x.key == q.key) {
                    queries.push(q.clone());
                }
            };
            for (id, version) in journeys {
                let Some(j) = self.version(tx, &id, version)? else { continue };
                j.history.iter().for_each(|q| want(q, &mut queries));
            }
            for j in self.versions.values() {
                j.history.iter().filter(|q| names.contains(&q.event.as_str())).for_each(|q| want(q, &mut queries));
            }
            for q in queries {
                // The person may be remembered without this counter (a new journey): the
                // store has it, or the log does.
                let counter = match tx.counter(person.profile.id, &q.key)? {
                    Some(state) => serde_json::from_str(&state).map_err(|e| store::Error::Corrupt(format!("counter {}: {e}", q.key)))?,
                    None => {
                        // First use for this person: built once from the log, before this batch.
                        let (lo, hi) = domain::aggregate::window(q.within, now);
                        let mut c = Counter::default();
                        for (seq, ts, props) in tx.event_properties(person.profile.id, &q.event, lo, hi)? {
                            if seq <= before_batch {
                                c.add(&q, seq, ts, &props);
                            }
                        }
                        c
                    }
                };
                person.counters.insert(q.key.clone(), Slot { query: q, counter, dirty: false });
            }
        }
        Ok(people)
    }

    /// Finds (or creates) the person an event is about, merging profiles it proves are one.
    fn resolve(&mut self, tx: &mut dyn Tx, event: &Event, now: Timestamp) -> Result<ProfileId, Error> {
        let mut found: Vec<(Identity, ProfileId)> = Vec::new();
        for identity in event.identities() {
            if let Some(p) = self.identities.get(&identity) {
                found.push((identity, *p));
            } else if let Some(p) = tx.profile_by_identity(&identity)?
                && let Some(p) = tx.canonical(p)?
            {
                self.remember(&identity, p);
                found.push((identity, p));
            }
        }
        let mut distinct: Vec<ProfileId> = Vec::new();
        for (_, p) in &found {
            if !distinct.contains(p) {
                distinct.push(*p);
            }
        }
        let mut merged: Vec<ProfileId> = Vec::new();
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
                    merged.push(loser);
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
            // Known already (looked up above): this person's, or moved here by a merge.
            let held = found.iter().find(|(i, _)| *i == identity).is_some_and(|(_, p)| *p == profile || merged.contains(p));
            if !held {
                tx.add_identity(&identity, profile)?;
            }
            self.remember(&identity, profile);
        }
        Ok(profile)
    }

    /// Remembers where an identity lives (the cache is cleared on merges and failed commits).
    fn remember(&mut self, identity: &Identity, profile: ProfileId) {
        self.identities.insert(identity.clone(), profile);
    }

    fn merge(&mut self, tx: &mut dyn Tx, winner: ProfileId, loser: ProfileId, now: Timestamp) -> Result<(), Error> {
        // Identities move between people: forget where they were, and what both were.
        self.identities.clear();
        self.hot.take(&winner);
        self.hot.take(&loser);
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
        // Their histories joined: counters are rebuilt from the log when next needed.
        tx.delete_counters(winner)?;
        tx.delete_counters(loser)?;
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
}

/// Something that happens to a person within a batch.
enum Work<'e> {
    Timer(RunId),
    Event {
        seq: EventSeq,
        event: &'e Event,
    },
    /// The admin API enters the person into a journey.
    Api {
        journey: JourneyId,
        payload: &'e domain::Map,
    },
}

/// A run as the batch knows it: stored already, or started in this batch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RunRef {
    Stored(RunId),
    New(usize),
}

/// One person's batch: the state as loaded, and their inputs in order.
struct Person<'e> {
    profile: Profile,
    /// Waiting runs and the latest run of each journey (and, as the batch goes on, the ones
    /// it moved or started).
    runs: Vec<(RunRef, Run)>,
    work: Vec<Work<'e>>,
    /// The person's history counters this batch reads or keeps, by query key.
    counters: HashMap<String, Slot>,
}

/// A history counter being kept.
struct Slot {
    query: HistoryQuery,
    counter: Counter,
    dirty: bool,
}

/// A transition to write, with the traits templates see.
struct Moved {
    run: RunRef,
    transition: Transition,
    traits: domain::Map,
    /// What each `update` effect changed (new values; null: removed), for the event log.
    updates: Vec<domain::Map>,
}

/// A person after their batch: the state to remember and what to write.
struct Outcome {
    profile: Profile,
    profile_changed: bool,
    /// Counters (the dirty ones pruned and to be saved), by query key.
    counters: HashMap<String, Slot>,
    runs: Vec<(RunRef, Run)>,
    moves: Vec<Moved>,
}

fn history_values(person: &Person<'_>, j: &Journey, now: Timestamp) -> Vec<serde_json::Value> {
    j.history
        .iter()
        .map(|q| match person.counters.get(&q.key) {
            Some(slot) => slot.counter.evaluate(q, now),
            None => Counter::default().evaluate(q, now),
        })
        .collect()
}

/// The source of the events Wayfarer makes itself (trait updates, webhook responses).
pub(crate) const INTERNAL_SOURCE: &str = "wayfarer";

/// Events Wayfarer makes about a known person carry its id in `context.wayfarer.profile_id`.
fn internal_profile(source: &SourceId, event: &Event) -> Option<ProfileId> {
    (source.0 == INTERNAL_SOURCE).then(|| event.context.get("wayfarer")?.get("profile_id")?.as_i64().map(ProfileId)).flatten()
}

/// A trait-setting event about a known person, made by Wayfarer.
pub(crate) fn internal_identify(profile: ProfileId, message_id: String, traits: domain::Map, now: Timestamp) -> Event {
    let mut context = domain::Map::new();
    context.insert("wayfarer".into(), json!({"profile_id": profile}));
    Event {
        kind: Kind::Identify,
        message_id: domain::ids::MessageId(message_id),
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        name: None,
        properties: domain::Map::new(),
        traits,
        context,
        timestamp: now,
        received_at: now,
    }
}

/// What every person of a batch shares: the journeys, and entry counts for limits.
struct Batch<'a> {
    live: &'a [(Arc<Journey>, i64)],
    versions: &'a HashMap<(JourneyId, i64), Arc<Journey>>,
    entries: &'a HashMap<JourneyId, AtomicI64>,
    now: Timestamp,
}

/// One person's batch being stepped.
struct Stepping<'p, 'e> {
    p: Person<'e>,
    b: &'p Batch<'p>,
    moves: Vec<Moved>,
    changed: bool,
    started: usize,
}

/// At most this many trait-change entries follow one input (updates can chain).
const MAX_CASCADE: usize = 100;

impl Stepping<'_, '_> {
    fn ctx_step(&self, j: &Journey, version: i64, run: Option<&Run>, input: Input<'_>) -> Option<Transition> {
        let history = history_values(&self.p, j, self.b.now);
        let previous = self.p.runs.iter().rev().find(|(_, r)| r.journey == j.id).map(|(_, r)| r);
        let entries = self.b.entries.get(&j.id).map_or(0, |n| n.load(Ordering::SeqCst));
        let ctx = Context { traits: &self.p.profile.traits, history: &history, previous, entries };
        step(j, version, run, input, &ctx, self.b.now, seed(self.p.profile.id, &j.id))
    }

    /// Records a transition and applies its trait updates; returns the traits they changed.
    fn record(&mut self, run: RunRef, t: Transition) -> Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> {
        let mut changes = Vec::new();
        let mut updates = Vec::new();
        for effect in &t.effects {
            if let Effect::Update { update, .. } = effect {
                let before = self.p.profile.traits.clone();
                let changed = update.apply(&mut self.p.profile.traits);
                for k in changed.keys() {
                    self.p.profile.trait_times.insert(k.clone(), self.b.now);
                    changes.push((k.clone(), before.get(k).cloned(), self.p.profile.traits.get(k).cloned()));
                }
                self.changed |= !changed.is_empty();
                updates.push(changed);
            }
        }
        match self.p.runs.iter_mut().find(|(r, _)| *r == run) {
            Some(slot) => slot.1 = t.run.clone(),
            None => self.p.runs.push((run, t.run.clone())),
        }
        self.moves.push(Moved { run, transition: t, traits: self.p.profile.traits.clone(), updates });
        changes
    }

    /// Enters `j` if the input starts a run there (respecting the shared entry limit).
    fn try_enter(
        &mut self,
        j: &Journey,
        version: i64,
        input: Input<'_>,
    ) -> Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> {
        let Some(t) = self.ctx_step(j, version, None, input) else { return Vec::new() };
        if let (Some(limit), Some(count)) = (j.entry.limit, self.b.entries.get(&j.id))
            && count.fetch_add(1, Ordering::SeqCst) >= limit
        {
            return Vec::new();
        }
        let r = RunRef::New(self.started);
        self.started += 1;
        self.record(r, t)
    }

    /// Whether the person has a waiting run that keeps them from entering `j` again.
    fn waiting_in(&self, j: &Journey) -> bool {
        !j.entry.concurrent && self.p.runs.iter().any(|(_, r)| r.status == RunStatus::Waiting && r.journey == j.id)
    }

    /// Trait changes are inputs too: they may enter journeys with a trait-change entry.
    fn cascade(&mut self, mut changes: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)>) {
        let live = self.b.live;
        let mut steps = 0;
        while let Some((name, from, to)) = changes.pop() {
            for (j, version) in live {
                if j.entry_trait() != Some(name.as_str()) || self.waiting_in(j) {
                    continue;
                }
                steps += 1;
                if steps > MAX_CASCADE {
                    tracing::warn!(profile = %self.p.profile.id, "trait-change entries cut short: more than {MAX_CASCADE} in a row");
                    return;
                }
                let input = Input::TraitChange { name: &name, from: from.as_ref(), to: to.as_ref() };
                changes.extend(self.try_enter(j, *version, input));
            }
        }
    }

    fn timer(&mut self, id: RunId) {
        let Some((_, run)) = self.p.runs.iter().find(|(r, run)| *r == RunRef::Stored(id) && run.status == RunStatus::Waiting) else {
            return;
        };
        let run = run.clone();
        let transition = self
            .b
            .versions
            .get(&(run.journey.clone(), run.version))
            .and_then(|j| self.ctx_step(j, run.version, Some(&run), Input::Timer))
            // A timer must never fire forever: a run the journey cannot move ends, with a reason.
            .unwrap_or_else(|| stuck(&run, self.b.now));
        let changes = self.record(RunRef::Stored(id), transition);
        self.cascade(changes);
    }

    fn event(&mut self, seq: EventSeq, event: &Event) {
        // The event counts in the person's history from now on (conditions it triggers see it).
        let props = event.match_properties();
        for slot in self.p.counters.values_mut().filter(|s| s.query.event == event.match_name()) {
            slot.counter.add(&slot.query, seq, event.timestamp, &props);
            slot.dirty = true;
        }
        let mut changes = Vec::new();
        if event.kind == Kind::Identify {
            let before = self.p.profile.traits.clone();
            if self.p.profile.apply_traits(&event.traits, event.timestamp) {
                self.changed = true;
                for (k, v) in &self.p.profile.traits {
                    if before.get(k) != Some(v) {
                        changes.push((k.clone(), before.get(k).cloned(), Some(v.clone())));
                    }
                }
            }
        }
        let was_in: Vec<(RunRef, JourneyId, i64)> = self
            .p
            .runs
            .iter()
            .filter(|(_, r)| r.status == RunStatus::Waiting)
            .map(|(r, run)| (*r, run.journey.clone(), run.version))
            .collect();
        // Runs in progress see the event first (exits, goals, wait_for), on their own version.
        for (r, journey, version) in &was_in {
            let Some(j) = self.b.versions.get(&(journey.clone(), *version)) else { continue };
            let Some(run) = self.p.runs.iter().find(|(x, _)| x == r).map(|(_, run)| run.clone()) else { continue };
            if let Some(t) = self.ctx_step(j, *version, Some(&run), Input::Event(event)) {
                changes.extend(self.record(*r, t));
            }
        }
        // Then entries into journeys the person was not in.
        for (j, version) in self.b.live {
            if j.entry_event() == Some(event.match_name()) && (j.entry.concurrent || !was_in.iter().any(|(_, id, _)| *id == j.id)) {
                changes.extend(self.try_enter(j, *version, Input::Event(event)));
            }
        }
        self.cascade(changes);
    }

    fn api(&mut self, journey: &JourneyId, payload: &domain::Map) {
        let Some((j, version)) = self.b.live.iter().find(|(j, _)| j.id == *journey) else { return };
        if self.waiting_in(j) {
            return;
        }
        let changes = self.try_enter(j, *version, Input::Api { payload });
        self.cascade(changes);
    }
}

/// Steps one person's inputs in order. Pure but for the shared entry counters: reads only
/// what `load` gathered.
fn compute(mut p: Person<'_>, b: &Batch<'_>) -> Outcome {
    let work = std::mem::take(&mut p.work);
    let mut s = Stepping { p, b, moves: Vec::new(), changed: false, started: 0 };
    for item in &work {
        match item {
            Work::Timer(id) => s.timer(*id),
            Work::Event { seq, event } => s.event(*seq, event),
            Work::Api { journey, payload } => s.api(journey, payload),
        }
    }
    let now = s.b.now;
    for slot in s.p.counters.values_mut().filter(|slot| slot.dirty) {
        slot.counter.prune(slot.query.within, now);
    }
    Outcome { profile: s.p.profile, profile_changed: s.changed, counters: s.p.counters, runs: s.p.runs, moves: s.moves }
}

/// Runs `f` over `items` on up to as many threads as the machine has cores, keeping order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    // Asked once: the standard library reads the cgroup limits from files on every call.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8));
    if threads < 2 || items.len() < 64 {
        return items.into_iter().map(f).collect();
    }
    let mut chunks: Vec<Vec<(usize, T)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        chunks[i % threads].push((i, item));
    }
    let f = &f;
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            chunks.into_iter().map(|chunk| scope.spawn(move || chunk.into_iter().map(|(i, t)| (i, f(t))).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
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

/// Writes one person's outcome: profile, counters, then each transition's run state (with
/// its timer), trace and outbox entries, all in `tx`. Returns the person's state as written.
fn write(tx: &mut dyn Tx, outcome: Outcome, now: Timestamp, outbox: &mut Vec<OutboxEntry>) -> Result<Hot, Error> {
    let Outcome { profile, profile_changed, mut counters, runs, moves } = outcome;
    let profile_id = profile.id;
    if profile_changed {
        tx.save_profile(&profile, now)?;
    }
    for (key, slot) in counters.iter_mut().filter(|(_, slot)| slot.dirty) {
        let state = serde_json::to_string(&slot.counter).map_err(|e| store::Error::Corrupt(e.to_string()))?;
        tx.save_counter(profile_id, key, &state)?;
        slot.dirty = false;
    }
    let mut started: Vec<RunId> = Vec::new();
    for Moved { run, transition: t, traits, updates } in moves {
        let run_id = match run {
            RunRef::Stored(id) => {
                tx.update_run(id, &t.run)?;
                id
            }
            RunRef::New(i) => match started.get(i) {
                Some(id) => {
                    tx.update_run(*id, &t.run)?;
                    *id
                }
                None => {
                    let id = tx.insert_run(profile_id, &t.run)?;
                    started.push(id);
                    id
                }
            },
        };
        tx.add_trace(&TraceRecord { run: run_id, seq: t.run.seq, at: now, lines: t.trace })?;
        // Trait changes made by `update` steps are events on the person's timeline.
        for (i, changes) in updates.into_iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            let event = Event {
                kind: Kind::Track,
                message_id: domain::ids::MessageId(format!("run-{run_id}-{}-update-{i}", t.run.seq)),
                user_id: None,
                anonymous_id: None,
                previous_id: None,
                group_id: None,
                name: Some("Traits Updated".into()),
                properties: [("journey".to_owned(), json!(t.run.journey)), ("run_id".to_owned(), json!(run_id))].into_iter().collect(),
                traits: changes,
                context: domain::Map::new(),
                timestamp: now,
                received_at: now,
            };
            tx.insert_event(&SourceId(INTERNAL_SOURCE.into()), &event, Some(profile_id))?;
        }
        for (i, effect) in t.effects.iter().enumerate() {
            let channel = match effect {
                Effect::Send { .. } => "email",
                Effect::Webhook { .. } => "webhook",
                Effect::Update { .. } => continue,
            };
            // What templates see: `traits`, `event` (the properties of the event that started
            // the run), `event_name`, `journey` and `profile_id`.
            let payload = json!({
                "effect": effect,
                "to": traits.get("email"),
                "context": {
                    "traits": traits,
                    "event": t.run.trigger,
                    "event_name": t.run.trigger_event,
                    "journey": t.run.journey,
                    "profile_id": profile_id,
                },
            });
            let key = format!("run-{run_id}-{}-{i}", t.run.seq);
            let entry = NewOutbox { key, profile: profile_id, run: Some(run_id), channel: channel.into(), payload, due: now };
            let id = tx.enqueue(&entry, now)?;
            outbox.push(OutboxEntry {
                id,
                key: entry.key,
                profile: entry.profile,
                run: entry.run,
                channel: entry.channel,
                payload: entry.payload,
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_at: entry.due,
                last_error: None,
                result: None,
                created_at: now,
                updated_at: now,
            });
        }
    }
    let mut runs: Vec<(RunId, Run)> = runs
        .into_iter()
        .filter_map(|(r, run)| match r {
            RunRef::Stored(id) => Some((id, run)),
            RunRef::New(i) => started.get(i).map(|id| (*id, run)),
        })
        .collect();
    runs.sort_by_key(|(id, _)| *id);
    let latest: HashMap<JourneyId, RunId> = runs.iter().map(|(id, run)| (run.journey.clone(), *id)).collect();
    runs.retain(|(id, run)| run.status == RunStatus::Waiting || latest.get(&run.journey) == Some(id));
    Ok(Hot { profile, runs, counters })
}
