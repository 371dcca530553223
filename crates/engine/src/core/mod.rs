//! The core: one thread that turns queued events and due timers into committed state.
//!
//! Every command waiting in the queue joins the next transaction (group commit): a batch of
//! events from many requests, the due timers, their run transitions, timers and outbox
//! entries commit together, and only then are the requests answered. Events are processed
//! strictly in log order, so everything that happens to one person happens in order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::sync::mpsc::{Receiver, RecvTimeoutError};

use domain::aggregate::Counter;
use domain::computed::ComputedTrait;
use domain::condition::HistoryQuery;
use domain::event::Event;
use domain::ids::{DeadLetterId, EventSeq, Identity, JourneyId, OutboxId, ProfileId, RunId, SourceId};
use domain::journey::{Journey, Run, RunStatus};
use domain::lifecycle::Lifecycle;
use domain::profile::Profile;
use domain::segment::Segment;
use domain::time::Timestamp;
use domain::trace::{TraceKind, TraceLine};
use store::{Attempt, DeadInput, DeadLetter, NameKind, NodeDeltas, OutboxEntry, Store, StoredEvent, TraceRecord, Tx};
use tokio::sync::oneshot;

use crate::dispatch::Handoff;
use crate::paths::PropertyPaths;
use crate::recent::Recent;
use crate::syncer::{Owed, Syncer};
use crate::{Clock, Command, Error, IngestReport, Options, Origin, RunsAction};

mod identity;
mod step;
mod sweep;
mod tally;
mod write;

pub(crate) use identity::{INTERNAL_SOURCE, internal_identify, internal_track};
use step::{Batch, Dead, MAX_CASCADE, Membership, Person, RunRef, Slot, Work, compute, compute_in_order, parallel_map};
use write::write;

type Reply = oneshot::Sender<Result<IngestReport, Error>>;

pub(crate) struct Core {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: Options,
    /// Committed outbox entries go straight to the dispatcher.
    handoff: Arc<Handoff>,
    /// Outbox entries written by the transaction being built.
    fresh: Vec<OutboxEntry>,
    /// What the transaction being built changes in the per-node counts (`tally`), written
    /// once, just before its commit.
    nodes: NodeDeltas,
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
    /// Every segment, each after those it tests (`domain::segment::order`).
    segments: Vec<Arc<Segment>>,
    /// Every computed trait.
    computed: Vec<Arc<ComputedTrait>>,
    /// The lifecycle stages (none: nobody has a stage).
    lifecycle: Arc<Lifecycle>,
    /// Filling segments after a change: everyone after this profile is still to be evaluated
    /// (a chunk per transaction; persisted, so a restart goes on where it was).
    backfill: Option<ProfileId>,
    segments_loaded: bool,
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
    /// Event and trait names the data has shown (for warnings about names it never has).
    seen_events: HashSet<String>,
    seen_traits: HashSet<String>,
    /// Names the transaction being built shows for the first time.
    new_names: Vec<(NameKind, String)>,
    /// The property paths the data has shown per event name, within bounds (`crate::paths`),
    /// and those the transaction being built shows for the first time.
    paths: PropertyPaths,
}

/// What a commit does besides the queued events and due timers.
#[derive(Clone, Copy)]
enum Extra<'a> {
    None,
    Enter(&'a Enter),
    /// A dead letter, with its events as logged.
    Replay(&'a DeadLetter, &'a [StoredEvent]),
    /// The dispatcher's delivery attempts, recorded in the outbox.
    Attempts(&'a [&'a (OutboxId, Attempt)]),
}

/// The setting that keeps a segment fill's progress: the last profile evaluated (empty: none
/// under way).
pub const BACKFILL: &str = "segments:backfill";

/// The setting that holds the lifecycle stages' document (`domain::lifecycle`).
pub const LIFECYCLE: &str = "lifecycle";

/// People evaluated per transaction while filling segments: small enough that a request
/// arriving during a chunk waits little for it (about 15 ms on the benchmark's machine).
const BACKFILL_CHUNK: usize = 100;

/// Most identities remembered (about 100 bytes each).
const IDENTITY_CACHE: usize = 1_000_000;

/// What the core keeps of a person between batches.
struct Hot {
    profile: Profile,
    /// Waiting runs and the latest run of each journey (re-entry rules look at it).
    runs: Vec<(RunId, Run)>,
    /// History counters used so far, by query key.
    counters: HashMap<String, Slot>,
    segments: Membership,
}

struct Ingest {
    origin: Origin,
    events: Vec<Event>,
    reply: Reply,
}

/// The dispatcher's attempts and outcome events (`Command::Record`).
struct Record {
    attempts: Vec<(OutboxId, Attempt)>,
    events: Vec<(Origin, Event)>,
    reply: oneshot::Sender<Result<(), Error>>,
}

/// The commands waiting for the next commit.
#[derive(Default)]
struct Queued {
    ingests: Vec<Ingest>,
    records: Vec<Record>,
    enters: Vec<Enter>,
    wakes: Vec<oneshot::Sender<Result<(), Error>>>,
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
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        options: Options,
        handoff: Arc<Handoff>,
        sync_failed: Arc<std::sync::atomic::AtomicBool>,
    ) -> Core {
        Core {
            syncer: Syncer::start(store.clone(), handoff.clone(), sync_failed),
            store,
            clock,
            handoff,
            fresh: Vec::new(),
            nodes: NodeDeltas::default(),
            run_counts: HashMap::new(),
            owed: Owed::default(),
            live: Vec::new(),
            versions: HashMap::new(),
            segments: Vec::new(),
            computed: Vec::new(),
            lifecycle: Arc::default(),
            backfill: None,
            segments_loaded: false,
            next_wake: None,
            sweeps: HashMap::new(),
            swept: Vec::new(),
            identities: Recent::new(IDENTITY_CACHE),
            hot: Recent::new(options.hot_people),
            seen_events: HashSet::new(),
            seen_traits: HashSet::new(),
            new_names: Vec::new(),
            paths: PropertyPaths::new(),
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
            let mut queued = Queued::default();
            let mut events = 0;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Ingest { origin, events: e, reply } => {
                        events += e.len();
                        queued.ingests.push(Ingest { origin, events: e, reply });
                    }
                    Command::Record { attempts, events: e, reply } => {
                        events += e.len() + attempts.len();
                        queued.records.push(Record { attempts, events: e, reply });
                    }
                    Command::Wake { reply } => queued.wakes.extend(reply),
                    Command::NextWake { reply } => {
                        let _ = reply.send(self.next_wake);
                    }
                    Command::Enter { journey, identity, payload, reply } => queued.enters.push(Enter { journey, identity, payload, reply }),
                    Command::Runs { journey, action, reply } => {
                        self.guarded_flush(std::mem::take(&mut queued));
                        let _ = reply.send(self.commit_runs(&journey, &action));
                    }
                    Command::Replay { id, reply } => {
                        self.guarded_flush(std::mem::take(&mut queued));
                        let result = self.commit_replay(id);
                        let owed = std::mem::take(&mut self.owed);
                        match result {
                            Ok(()) => {
                                let mut owed = owed;
                                owed.answers.push(Box::new(move |synced| {
                                    let _ = reply.send(synced.map_err(Error::Sync));
                                }));
                                self.syncer.after_sync(&*self.store, &self.handoff, owed);
                            }
                            Err(error) => {
                                self.syncer.after_sync(&*self.store, &self.handoff, owed);
                                let _ = reply.send(Err(error));
                            }
                        }
                    }
                    Command::Reload { reply } => {
                        self.guarded_flush(std::mem::take(&mut queued));
                        if let Err(error) = self.reload() {
                            tracing::error!(%error, "reloading journeys failed");
                        }
                        let _ = reply.send(());
                    }
                    Command::Shutdown => {
                        self.guarded_flush(queued);
                        tracing::info!("core stopped");
                        return;
                    }
                }
                if events < self.options.max_batch_events {
                    next = rx.try_recv().ok();
                }
            }
            self.guarded_flush(queued);
        }
    }

    /// Keeps the names (and property paths) an event shows that were not seen before.
    fn note_names(&mut self, event: &Event) {
        self.paths.note(event);
        let name = event.match_name();
        if !self.seen_events.contains(name) {
            self.new_names.push((NameKind::Event, name.to_owned()));
        }
        for key in event.traits.keys().filter(|k| !self.seen_traits.contains(*k)) {
            self.new_names.push((NameKind::Trait, key.clone()));
        }
    }

    fn save_names(&mut self, tx: &mut dyn Tx) -> Result<(), Error> {
        self.new_names.sort();
        self.new_names.dedup();
        for kind in [NameKind::Event, NameKind::Trait] {
            let names: Vec<&str> = self.new_names.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n.as_str()).collect();
            if !names.is_empty() {
                tx.note_names(kind, &names)?;
            }
        }
        let paths = self.paths.fresh();
        if !paths.is_empty() {
            tx.note_property_paths(&paths)?;
        }
        Ok(())
    }

    /// Keeps a person's failed inputs as a dead letter: their timers are parked (else they
    /// would fail again at every pass) and their counters rebuilt from the log when next needed.
    fn bury(&mut self, tx: &mut dyn Tx, mut dead: Dead, now: Timestamp) -> Result<(), Error> {
        for input in &mut dead.inputs {
            if let DeadInput::Timer { run, wake_at } = input
                && let Some(mut record) = tx.run(*run)?
            {
                *wake_at = record.run.wake_at;
                record.run.wake_at = None;
                tx.update_run(record.id, &record.run)?;
            }
        }
        let id = tx.add_dead_letter(dead.profile, &dead.inputs, &dead.error, now)?;
        tx.delete_counters(dead.profile)?;
        tracing::error!(dead_letter = %id, profile = %dead.profile, error = %dead.error, "inputs kept as a dead letter");
        Ok(())
    }

    fn reload(&mut self) -> Result<(), Error> {
        if self.seen_events.is_empty() {
            let mut tx = self.store.read()?;
            self.seen_events.extend(tx.seen_names(NameKind::Event)?);
            self.seen_traits.extend(tx.seen_names(NameKind::Trait)?);
            self.paths.extend(tx.property_paths()?);
        }
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
        let segments = self.load_segments()?;
        let computed = self.load_computed()?;
        let lifecycle = self.load_lifecycle()?;
        if !self.segments_loaded {
            // A fill in progress when the server stopped goes on.
            let cursor = self.store.read()?.setting(BACKFILL)?;
            self.backfill = cursor.and_then(|c| c.parse().ok()).map(ProfileId);
            self.segments_loaded = true;
        } else if (segments != self.segments && !segments.is_empty())
            || (computed != self.computed && !computed.is_empty())
            || (lifecycle != self.lifecycle && !lifecycle.stages.is_empty())
        {
            // A new or edited segment or computed trait: everyone is evaluated again, a chunk at
            // a time. Noted at once, so that the API shows the fill from now on.
            let mut tx = self.store.write()?;
            tx.set_setting(BACKFILL, "0")?;
            tx.commit()?;
            self.backfill = Some(ProfileId(0));
            tracing::info!(
                segments = segments.len(),
                computed = computed.len(),
                "segments or computed traits changed; evaluating everyone again"
            );
        }
        self.segments = segments;
        self.computed = computed;
        self.lifecycle = lifecycle;
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
        if self.backfill.is_some() {
            self.next_wake = Some(now);
        }
        tracing::info!(journeys = self.live.len(), segments = self.segments.len(), "journeys and segments loaded");
        Ok(())
    }

    /// Every stored computed trait that parses (one that does not is left out, with an error
    /// in the log).
    fn load_computed(&self) -> Result<Vec<Arc<ComputedTrait>>, Error> {
        let mut out = Vec::new();
        for stored in self.store.read()?.computed_traits()? {
            match ComputedTrait::parse(&stored.document) {
                Ok(c) => out.push(Arc::new(c)),
                Err(diags) => {
                    tracing::error!(computed_trait = %stored.id, problems = diags.len(), "stored computed trait does not parse; skipped")
                }
            }
        }
        Ok(out)
    }

    /// The lifecycle stages (the setting `LIFECYCLE`); one that does not parse counts as none,
    /// with an error in the log.
    fn load_lifecycle(&self) -> Result<Arc<Lifecycle>, Error> {
        let Some(text) = self.store.read()?.setting(LIFECYCLE)? else { return Ok(Arc::default()) };
        let parsed = serde_json::from_str(&text)
            .map_err(|e| e.to_string())
            .and_then(|doc| Lifecycle::parse(&doc).map_err(|d| d.into_iter().map(|d| d.message).collect::<Vec<_>>().join("; ")));
        match parsed {
            Ok(l) => Ok(Arc::new(l)),
            Err(error) => {
                tracing::error!(%error, "the stored lifecycle does not parse; no stages");
                Ok(Arc::default())
            }
        }
    }

    /// Every stored segment that parses, each after those it tests. One that does not parse
    /// (or whose references do not resolve) is left out, with an error in the log.
    fn load_segments(&self) -> Result<Vec<Arc<Segment>>, Error> {
        let mut segments: Vec<Segment> = Vec::new();
        for stored in self.store.read()?.segments()? {
            match Segment::parse(&stored.document) {
                Ok(s) => segments.push(s),
                Err(diags) => tracing::error!(segment = %stored.id, problems = diags.len(), "stored segment does not parse; skipped"),
            }
        }
        loop {
            match domain::segment::order(&segments) {
                Ok(order) => {
                    let mut slots: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
                    return Ok(order.into_iter().filter_map(|i| slots[i].take()).map(Arc::new).collect());
                }
                Err(error) => {
                    tracing::error!(%error, "segments left out");
                    let bad: Vec<domain::ids::SegmentId> = match error {
                        domain::segment::OrderError::Cycle(ids) => ids,
                        domain::segment::OrderError::Unknown(pairs) => pairs.into_iter().map(|(s, _)| s).collect(),
                    };
                    segments.retain(|s| !bad.contains(&s.id));
                }
            }
        }
    }

    /// `flush`, surviving a bug outside the per-person step (which keeps its own dead letters):
    /// the transaction in progress rolls back, its requests are answered with an error (their
    /// reply is dropped), what earlier commits owe is still settled, and the caches are
    /// cleared, since they may hold what the failed transaction learned.
    fn guarded_flush(&mut self, queued: Queued) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.flush(queued)));
        if result.is_err() {
            tracing::error!("the core failed while committing a batch (a bug); its requests get an error, the core goes on");
            self.identities.clear();
            self.hot.clear();
            self.run_counts.clear();
            self.fresh.clear();
            // Due timers are tried again in a second, not in a busy loop.
            self.next_wake = Some(self.clock.now().plus(domain::time::Duration::seconds(1)));
            let owed = std::mem::take(&mut self.owed);
            self.syncer.after_sync(&*self.store, &self.handoff, owed);
        }
    }

    /// Commits what is queued: API entries (each on its own), then due timers and the queued
    /// events in one transaction, then the rest of the due timers; the answers and new outbox
    /// entries go to the sync thread, settled once the commits are on disk.
    fn flush(&mut self, queued: Queued) {
        let Queued { ingests, records, enters, wakes } = queued;
        if ingests.is_empty()
            && records.is_empty()
            && enters.is_empty()
            && wakes.is_empty()
            && self.next_wake.is_none_or(|t| t > self.clock.now())
        {
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
        // Each request's events, then each record's outcome events (one part per event: each
        // is about its own person), and every record's attempts: one transaction.
        let mut batch: Vec<(&Origin, &[Event])> = ingests.iter().map(|i| (&i.origin, i.events.as_slice())).collect();
        for record in &records {
            batch.extend(record.events.iter().map(|(origin, event)| (origin, std::slice::from_ref(event))));
        }
        let attempts: Vec<&(OutboxId, Attempt)> = records.iter().flat_map(|r| &r.attempts).collect();
        let parts = ingests.len() + records.len();
        let (ingested, recorded) = match self.commit_with(now, &batch, Extra::Attempts(&attempts)) {
            Ok((mut reports, _)) => {
                reports.truncate(ingests.len());
                (reports.into_iter().map(Ok).collect(), records.iter().map(|_| Ok(())).collect())
            }
            Err(error) if parts > 1 => {
                // One request's events must not sink the others: retry each on its own.
                tracing::warn!(%error, requests = parts, "batch failed; committing requests one by one");
                let ingested: Vec<_> = batch[..ingests.len()]
                    .iter()
                    .map(|one| self.commit(now, std::slice::from_ref(one)).map(|(mut r, _)| r.remove(0)))
                    .collect();
                let recorded: Vec<_> = records
                    .iter()
                    .map(|r| {
                        let events: Vec<(&Origin, &[Event])> =
                            r.events.iter().map(|(origin, event)| (origin, std::slice::from_ref(event))).collect();
                        let attempts: Vec<&(OutboxId, Attempt)> = r.attempts.iter().collect();
                        self.commit_with(now, &events, Extra::Attempts(&attempts)).map(|_| ())
                    })
                    .collect();
                (ingested, recorded)
            }
            Err(error) if ingests.is_empty() => (Vec::new(), vec![Err(error)]),
            Err(error) => (vec![Err(error)], Vec::new()),
        };
        for (ingest, report) in ingests.into_iter().zip(ingested) {
            match report {
                Ok(report) => {
                    let reply = ingest.reply;
                    self.owed.answers.push(Box::new(move |synced| {
                        let _ = reply.send(synced.map(|()| report).map_err(Error::Sync));
                    }));
                }
                Err(error) => {
                    let source = match &ingest.origin {
                        Origin::Source(s) => s.as_str(),
                        Origin::Internal(_) => INTERNAL_SOURCE,
                    };
                    tracing::error!(%error, source, "ingest failed");
                    let _ = ingest.reply.send(Err(error));
                }
            }
        }
        for (record, result) in records.into_iter().zip(recorded) {
            let reply = record.reply;
            match result {
                Ok(()) => self.owed.answers.push(Box::new(move |synced| {
                    let _ = reply.send(synced.map_err(Error::Sync));
                })),
                Err(error) => {
                    tracing::error!(%error, attempts = record.attempts.len(), "recording delivery outcomes failed");
                    let _ = reply.send(Err(error));
                }
            }
        }
        // The requests' answers go to the sync thread now: they need not wait for the due
        // timers or the fill chunk below.
        if self.next_wake.is_some_and(|t| t <= self.clock.now()) {
            let owed = std::mem::take(&mut self.owed);
            self.syncer.after_sync(&*self.store, &self.handoff, owed);
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
            // A segment fill goes a chunk at a time between the queued requests (a clock
            // that moves on its own wakes the core again at once); a manual clock's wake
            // waits for the whole of it.
            if self.backfill.is_some() && self.clock.real_wait(now).is_some() {
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
            RunsAction::Stop(_) => {
                // The state and the runs change together: a crash cannot leave a stopped
                // journey with runs that still fire.
                tx.set_journey_state(journey, store::JourneyState::Stopped, now)?;
                None
            }
        };
        let mut changed = 0;
        let mut nodes = NodeDeltas::default();
        for mut record in tx.journey_runs(journey)?.into_iter().filter(|r| r.run.status == RunStatus::Waiting) {
            // This person's runs change outside their batch: what was remembered is out of date.
            self.hot.take(&record.profile);
            let line = match (action, &target) {
                (RunsAction::Stop(reason), _) => {
                    tally::ended(&mut nodes, &record.run, now);
                    record.run.status = RunStatus::Exited;
                    record.run.wake_at = None;
                    record.run.exit_reason = Some(reason.clone());
                    TraceLine::new(None, TraceKind::Exit, format!("exit: {reason}"))
                }
                (RunsAction::MoveTo(version), Some(j)) if record.run.version != *version => {
                    if record.run.node.as_ref().is_some_and(|n| j.get(n).is_none()) {
                        continue;
                    }
                    let from = record.run.version;
                    record.run.version = *version;
                    TraceLine::new(None, TraceKind::Moved, format!("moved from version {from} to version {version}"))
                }
                _ => continue,
            };
            record.run.seq += 1;
            record.run.updated_at = now;
            tx.update_run(record.id, &record.run)?;
            tx.add_trace(&TraceRecord { run: record.id, seq: record.run.seq, at: now, lines: vec![line] })?;
            changed += 1;
        }
        // Moved runs stay at their step (counts are by journey and step, not version).
        tx.add_node_counts(&nodes)?;
        let next = tx.next_wake()?;
        tx.commit()?;
        self.next_wake = [next, self.next_sweep()].into_iter().flatten().min();
        if matches!(action, RunsAction::Stop(_)) {
            self.reload()?;
        }
        tracing::info!(journey = %journey, changed, "runs moved or stopped");
        Ok(changed)
    }

    /// Enters one person into a journey through the API, in a transaction of its own.
    fn commit_enter(&mut self, now: Timestamp, enter: &Enter) -> Result<bool, Error> {
        let (_, entered) = self.commit_with(now, &[], Extra::Enter(enter))?;
        Ok(entered)
    }

    fn commit(&mut self, now: Timestamp, batch: &[(&Origin, &[Event])]) -> Result<(Vec<IngestReport>, bool), Error> {
        self.commit_with(now, batch, Extra::None)
    }

    /// Steps a dead letter's inputs again, in a transaction of its own (with due timers).
    fn commit_replay(&mut self, id: DeadLetterId) -> Result<(), Error> {
        let now = self.clock.now();
        let (letter, events) = {
            let mut tx = self.store.read()?;
            let letter = tx.dead_letter(id)?.ok_or_else(|| Error::NotFound(format!("dead letter {id}")))?;
            if letter.replayed_at.is_some() {
                return Err(Error::Invalid(format!("dead letter {id} was replayed already")));
            }
            let mut events = Vec::new();
            for input in &letter.inputs {
                if let DeadInput::Event { seq } = input {
                    let stored = tx.events_after(EventSeq(seq.0 - 1), 1)?.into_iter().next().filter(|e| e.seq == *seq);
                    events.push(stored.ok_or_else(|| Error::NotFound(format!("event {seq} of dead letter {id}")))?);
                }
            }
            (letter, events)
        };
        self.commit_with(now, &[], Extra::Replay(&letter, &events))?;
        tracing::info!(dead_letter = %id, profile = %letter.profile, "dead letter replayed");
        Ok(())
    }

    fn commit_with(&mut self, now: Timestamp, batch: &[(&Origin, &[Event])], extra: Extra<'_>) -> Result<(Vec<IngestReport>, bool), Error> {
        let result = self.commit_inner(now, batch, extra);
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
        batch: &[(&Origin, &[Event])],
        extra: Extra<'_>,
    ) -> Result<(Vec<IngestReport>, bool), Error> {
        let store = self.store.clone();
        let mut tx = store.write()?;
        self.fresh.clear();
        self.nodes.clear();
        self.swept.clear();
        self.new_names.clear();
        // Paths noted by a transaction that failed are noted again by the events that show them.
        self.paths.abandon();
        self.sweep(&mut *tx, now)?;
        // `next_wake` is exact (only the core writes runs): no timer is due before it.
        let due = if self.next_wake.is_some_and(|t| t <= now) { tx.due_runs(now, self.options.max_batch_timers)? } else { Vec::new() };
        let checks =
            if self.next_wake.is_some_and(|t| t <= now) { tx.due_segment_checks(now, self.options.max_batch_timers)? } else { Vec::new() };
        let timers_full = due.len() >= self.options.max_batch_timers || checks.len() >= self.options.max_batch_timers;
        let mut work: Vec<(ProfileId, Work<'_>)> = Vec::new();
        for (run, profile) in due {
            work.push((profile, Work::Timer(run)));
        }
        for profile in checks {
            work.push((profile, Work::SegmentCheck));
        }
        // A chunk of a segment fill: these people are evaluated as if a check were due. Only
        // in a transaction of its own (timers at most): requests' events do not wait for it.
        let filled = match self.backfill {
            Some(after) if batch.is_empty() && matches!(extra, Extra::None | Extra::Attempts([])) => {
                let page = tx.profiles_after(after, BACKFILL_CHUNK)?;
                let next = page.last().map(|p| p.id).filter(|_| page.len() == BACKFILL_CHUNK);
                work.extend(page.into_iter().map(|p| (p.id, Work::SegmentCheck)));
                tx.set_setting(BACKFILL, &next.map_or(String::new(), |p| p.0.to_string()))?;
                if next.is_none() {
                    tracing::info!("segments filled");
                }
                Some(next)
            }
            _ => None,
        };
        let mut reports = Vec::with_capacity(batch.len());
        let mut first_new: Option<EventSeq> = None;
        let internal = SourceId(INTERNAL_SOURCE.into());
        for (origin, events) in batch {
            let mut report = IngestReport::default();
            for event in *events {
                // Identity first, so the event is logged with its person in one write. A
                // duplicate resolves nothing (`None`).
                let (source, profile) = match origin {
                    // A remembered person is canonical (merges forget both sides).
                    Origin::Internal(p) if self.hot.contains(p) => (&internal, Some(*p)),
                    Origin::Internal(p) => (&internal, Some(tx.canonical(*p)?.unwrap_or(*p))),
                    Origin::Source(source) => (source, self.resolve(&mut *tx, source, event, now)?),
                };
                let Some(profile) = profile else {
                    report.duplicates += 1;
                    continue;
                };
                match tx.insert_event(source, event, Some(profile))? {
                    Some(seq) => {
                        report.accepted += 1;
                        first_new.get_or_insert(seq);
                        work.push((profile, Work::Event { seq, event, replay: false }));
                        // A message's outcome (only the dispatcher makes these) goes to its run too.
                        if let (Origin::Internal(_), Some(outcome)) = (origin, crate::outcome::MessageOutcome::of(event)) {
                            work.push((profile, Work::Outcome(outcome)));
                        }
                        // How far a message got, for the funnel per content.
                        if let Some((messages, stage)) = crate::outcome::reached(event, matches!(origin, Origin::Internal(_))) {
                            tx.reach(messages, stage)?;
                        }
                        self.note_names(event);
                    }
                    None => report.duplicates += 1,
                }
            }
            reports.push(report);
        }
        let mut api_profile = None;
        let enter = if let Extra::Enter(e) = extra { Some(e) } else { None };
        if let Extra::Replay(letter, events) = extra {
            let mut events = events.iter();
            for input in &letter.inputs {
                let item = match input {
                    DeadInput::Timer { run, wake_at } => {
                        // Unpark the run: its timer is due again, at the time it was.
                        if let Some(mut record) = tx.run(*run)? {
                            record.run.wake_at = Some(wake_at.unwrap_or(now).min(now));
                            tx.update_run(record.id, &record.run)?;
                        }
                        Work::Timer(*run)
                    }
                    DeadInput::Api { journey, payload } => Work::Api { journey: journey.clone(), payload },
                    DeadInput::Event { .. } => match events.next() {
                        Some(e) => {
                            if e.source.as_str() == INTERNAL_SOURCE
                                && let Some(outcome) = crate::outcome::MessageOutcome::of(&e.event)
                            {
                                work.push((letter.profile, Work::Event { seq: e.seq, event: &e.event, replay: true }));
                                work.push((letter.profile, Work::Outcome(outcome)));
                                continue;
                            }
                            Work::Event { seq: e.seq, event: &e.event, replay: true }
                        }
                        None => continue,
                    },
                };
                work.push((letter.profile, item));
            }
            tx.mark_replayed(letter.id, now)?;
            // What the core remembers of the person predates the unparked runs.
            self.hot.take(&letter.profile);
            if let Some(p) = tx.canonical(letter.profile)? {
                self.hot.take(&p);
            }
        }
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
        let (people, order) = self.load(&mut *tx, work, now, before_batch)?;
        // Entry limits are shared by everyone in the batch: counted once, reserved atomically.
        let mut counted = Vec::new();
        for (j, _) in self.live.iter().filter(|(j, _)| j.entry.limit.is_some()) {
            let n = match self.run_counts.get(&j.id) {
                Some(n) => *n,
                None => tx.count_runs(&j.id)?,
            };
            counted.push((j.id.clone(), n));
        }
        // When a limit may run out within this batch (each input can enter a journey up to
        // 1 + MAX_CASCADE times) its last places go by the log's order: one thread, inputs
        // in order. Otherwise nobody is refused, whatever the order: people in parallel.
        let bound = i64::try_from(order.len().saturating_mul(1 + MAX_CASCADE)).unwrap_or(i64::MAX);
        let in_order = self.live.iter().any(|(j, _)| {
            j.entry.limit.is_some_and(|limit| {
                // A full journey refuses everyone, in any order.
                counted.iter().any(|(id, n)| *id == j.id && (1..bound).contains(&limit.saturating_sub(*n)))
            })
        });
        let entries: HashMap<JourneyId, AtomicI64> = counted.iter().map(|(j, n)| (j.clone(), AtomicI64::new(*n))).collect();
        let results = {
            let batch = Batch {
                live: &self.live,
                versions: &self.versions,
                entries: &entries,
                now,
                faults: &self.options.faults,
                segments: &self.segments,
                computed: &self.computed,
                lifecycle: &self.lifecycle,
            };
            if in_order { compute_in_order(people, &order, &batch) } else { parallel_map(people, |p| compute(p, &batch)) }
        };
        let mut outcomes = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(outcome) => outcomes.push(outcome),
                Err(dead) => {
                    if matches!(extra, Extra::Replay(..)) {
                        return Err(Error::Invalid(format!("replaying failed again: {}", dead.error)));
                    }
                    self.bury(&mut *tx, dead, now)?;
                }
            }
        }
        for name in outcomes.iter().flat_map(|o| &o.moves).flat_map(|m| &m.updates).flat_map(|u| u.keys()) {
            if !self.seen_traits.contains(name) {
                self.new_names.push((NameKind::Trait, name.clone()));
            }
        }
        self.save_names(&mut *tx)?;
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
            hot.push(write(&mut *tx, outcome, now, &mut self.fresh, &mut self.nodes)?);
        }
        // The per-node counts of every transition above (and of merges and sweeps): one write
        // per journey, node and hour touched, in the same transaction.
        tx.add_node_counts(&self.nodes)?;
        if let Extra::Attempts(attempts) = extra {
            for (id, attempt) in attempts.iter().copied() {
                tx.record_attempt(*id, attempt, now)?;
            }
        }
        let next = tx.next_wake()?;
        let fresh = if self.options.dispatch { std::mem::take(&mut self.fresh) } else { Vec::new() };
        self.handoff.reserve(&fresh);
        if let Err(error) = tx.commit_unsynced() {
            self.handoff.abandon(&fresh);
            return Err(error.into());
        }
        self.owed.outbox.extend(fresh);
        for (kind, name) in self.new_names.drain(..) {
            match kind {
                NameKind::Event => self.seen_events.insert(name),
                NameKind::Trait => self.seen_traits.insert(name),
            };
        }
        self.paths.committed();
        self.sweeps.extend(self.swept.drain(..));
        self.run_counts.extend(counted);
        if self.options.hot_people > 0 {
            for person in hot {
                self.hot.insert(person.profile.id, person);
            }
        }
        if let Some(next) = filled {
            self.backfill = next;
        }
        self.next_wake =
            if timers_full || self.backfill.is_some() { Some(now) } else { [next, self.next_sweep()].into_iter().flatten().min() };
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
    ) -> Result<(Vec<Person<'e>>, Vec<usize>), Error> {
        let mut people: Vec<Person<'e>> = Vec::new();
        let mut index: HashMap<ProfileId, usize> = HashMap::new();
        let mut order = Vec::with_capacity(work.len());
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
                        None => {
                            // With no segments, no membership or check is read, but for a
                            // check that is due (a segment deleted since): it is cleared.
                            let none = self.segments.is_empty() && self.computed.is_empty() && self.lifecycle.stages.is_empty();
                            let segments = if none && !matches!(item, Work::SegmentCheck) {
                                Membership::default()
                            } else {
                                Membership { members: tx.memberships(id)?.into_iter().collect(), check_at: tx.segment_check(id)? }
                            };
                            Hot {
                                profile: tx.profile(id)?.unwrap_or_else(|| Profile::new(id)),
                                runs: tx.current_runs(id)?.into_iter().map(|r| (r.id, r.run)).collect(),
                                counters: HashMap::new(),
                                segments,
                            }
                        }
                    };
                    let runs = hot.runs.into_iter().map(|(id, run)| (RunRef::Stored(id), run)).collect();
                    people.push(Person { profile: hot.profile, runs, work: Vec::new(), counters: hot.counters, segments: hot.segments });
                    index.insert(id, people.len() - 1);
                    people.len() - 1
                }
            };
            // A message's outcome may concern a run that ended and is no longer the latest.
            if let Work::Outcome(o) = &item
                && !people[i].runs.iter().any(|(r, _)| *r == RunRef::Stored(o.run_id))
                && let Some(record) = tx.run(o.run_id)?
            {
                people[i].runs.push((RunRef::Stored(record.id), record.run));
            }
            people[i].work.push(item);
            order.push(i);
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
                // (History since entry is counted by each run itself.)
                j.history.iter().filter(|q| !q.since_entry).for_each(|q| want(q, &mut queries));
            }
            for j in self.versions.values() {
                j.history.iter().filter(|q| !q.since_entry && names.contains(&q.event.as_str())).for_each(|q| want(q, &mut queries));
            }
            // Every segment is evaluated after each input: all their counters.
            for s in &self.segments {
                s.history.iter().for_each(|q| want(q, &mut queries));
            }
            for c in &self.computed {
                want(&c.query, &mut queries);
            }
            for s in &self.lifecycle.stages {
                s.condition.history.iter().for_each(|q| want(q, &mut queries));
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
        Ok((people, order))
    }

    /// Finds (or creates) the person an event is about, merging profiles it proves are one.
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
