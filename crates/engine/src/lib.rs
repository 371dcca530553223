//! The engine: ingest with group commit, per-person processing in log order, durable
//! timers, the transactional outbox and its dispatcher.
//!
//! Architecture Invariant: a journey transition, its timer and its outbox entries are written
//! in the same store transaction as the event or timer that caused them; nothing is handed to
//! a channel before that transaction commits. The engine knows no HTTP, SMTP or SQL.

pub mod backtest;
mod clock;
mod core;
mod dispatch;
pub mod explain;
mod outcome;
pub mod paths;
mod recent;
mod syncer;
mod templates;

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use domain::event::Event;
use domain::ids::{Identity, JourneyId, SourceId};
use store::Store;
use tokio::sync::oneshot;

pub use crate::core::{BACKFILL as SEGMENT_FILL, LIFECYCLE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dispatch::{EMAIL_BOUNCED, EMAIL_UNSUBSCRIBED, LOCALE, PUSH_UNSUBSCRIBED, RetryPolicy, SMS_UNSUBSCRIBED, SMS_UNSUBSCRIBED_EVENT};
pub use outcome::OUTCOME_EVENTS;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage failed: {0}")]
    Store(#[from] store::Error),
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("firing due timers failed: {0}")]
    Timers(String),
    #[error("committed, but making it durable failed: {0}")]
    Sync(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most events committed in one transaction (group commit).
    pub max_batch_events: usize,
    /// Most timers fired in one transaction.
    pub max_batch_timers: usize,
    pub retry: RetryPolicy,
    /// Send outbox entries at all (off for backtests, which only record decisions).
    pub dispatch: bool,
    /// People whose state (profile, current runs, history counters) the core keeps in
    /// memory between batches (0: none); the database is written in the same commits
    /// either way.
    pub hot_people: usize,
    /// Failures injected at named points, for tests of what the engine does about its own bugs.
    pub faults: Faults,
    /// At most this many marketing messages (of a channel, or of all) to a person over a window.
    pub caps: Vec<FrequencyCap>,
    /// How long an in-app message waits for its person to come and see it.
    pub in_app_ttl: domain::time::Duration,
}

/// A frequency cap: at most `max` marketing messages of `channel` (every channel when `None`)
/// to a person within `within`, counted from what was sent (and what is being sent), so exact
/// on one node. Transactional messages are neither stopped nor counted.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyCap {
    pub channel: Option<String>,
    pub max: i64,
    pub within: domain::time::Duration,
}

/// Failures to inject (all off by default).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Stepping an event with this journey-matching name panics (as a bug in `step` would).
    pub panic_on_event: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_batch_events: 5000,
            max_batch_timers: 1000,
            retry: RetryPolicy::default(),
            dispatch: true,
            hot_people: 100_000,
            faults: Faults::default(),
            caps: Vec::new(),
            in_app_ttl: domain::time::Duration::days(30),
        }
    }
}

/// What a person did with a message, to record as an event on them (`Engine::feedback`).
#[derive(Debug, Clone)]
pub struct Feedback {
    /// The event's messageId: the same again is a duplicate.
    pub message_id: String,
    /// `Email Opened`, `Email Clicked`, `Email Unsubscribed`.
    pub name: String,
    pub properties: domain::Map,
    /// Traits set before the event (an unsubscribe's consent).
    pub traits: domain::Map,
}

/// What to do with a journey's waiting runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunsAction {
    /// Move them to this version, staying at the same step (steps missing there keep the
    /// runs on their version).
    MoveTo(i64),
    /// Stop the journey (no new entries) and end them, with this reason, in one transaction.
    Stop(String),
}

/// What happened to the events of one ingest call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Newly stored.
    pub accepted: usize,
    /// Already stored (same source and messageId): acknowledged, not stored again.
    pub duplicates: usize,
}

/// Where a batch of events comes from. Only the engine itself makes `Internal` events (trait
/// updates, saved webhook responses): they are marked here, out of band, never by a source
/// name or a payload field that an HTTP client could set.
pub(crate) enum Origin {
    Source(SourceId),
    /// About this person, made by Wayfarer; logged under the reserved source `wayfarer`.
    Internal(domain::ids::ProfileId),
}

/// Source ids Wayfarer keeps for itself: `wayfarer`, and any starting with `wayfarer-` or
/// `wayfarer_`. No source with such an id can be created, and nothing is ingested under one.
pub fn is_reserved_source(id: &SourceId) -> bool {
    let s = id.as_str();
    s == core::INTERNAL_SOURCE || s.starts_with("wayfarer-") || s.starts_with("wayfarer_")
}

pub(crate) enum Command {
    Ingest {
        origin: Origin,
        events: Vec<Event>,
        reply: oneshot::Sender<Result<IngestReport, Error>>,
    },
    /// The dispatcher's delivery attempts, recorded in the outbox, and the outcome events of
    /// messages (each about its person), ingested: in one transaction (with whatever else is
    /// queued). Replies once durable.
    Record {
        attempts: Vec<(domain::ids::OutboxId, store::Attempt)>,
        events: Vec<(Origin, Event)>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// The admin API enters a person into a journey; replies whether a run started.
    Enter {
        journey: JourneyId,
        identity: Identity,
        payload: domain::Map,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// Moves or ends every waiting run of a journey; replies how many.
    Runs {
        journey: JourneyId,
        action: RunsAction,
        reply: oneshot::Sender<Result<usize, Error>>,
    },
    /// Journeys were published: reload them. Replies once in effect.
    Reload {
        reply: oneshot::Sender<()>,
    },
    /// Time moved or work may be due: look for due timers. Replies after the pass.
    Wake {
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    /// Steps a dead letter's inputs again, in a transaction of its own.
    Replay {
        id: domain::ids::DeadLetterId,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// When the core next has work of its own (a timer, a schedule).
    NextWake {
        reply: oneshot::Sender<Option<domain::time::Timestamp>>,
    },
    Shutdown,
}

/// A running engine. Cheap to share behind an `Arc`.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    core: std::sync::Mutex<Option<thread::JoinHandle<()>>>,
    dispatcher: Arc<dispatch::Dispatcher>,
    dispatch_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// A sync of the store failed: nothing is acknowledged or sent any more; restart.
    sync_failed: Arc<std::sync::atomic::AtomicBool>,
    caps: Vec<FrequencyCap>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The core also stops when every handle is gone; the dispatcher holds one, so say it.
        let _ = self.commands.send(Command::Shutdown);
        self.dispatcher.stop();
    }
}

impl Engine {
    /// Starts the core (a thread that owns all writes caused by events and timers) and the
    /// dispatcher (a task that sends committed outbox entries). Call inside a Tokio runtime.
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, deliverer: deliver::Deliverer, options: Options) -> Engine {
        let (tx, rx) = mpsc::channel();
        let handoff = Arc::new(dispatch::Handoff::new(&dispatch::Dispatcher::channels(&deliverer)));
        let sync_failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let core = core::Core::new(store.clone(), clock.clone(), options.clone(), handoff.clone(), sync_failed.clone());
        let caps = options.caps.clone();
        let handle = thread::Builder::new().name("wayfarer-core".into()).spawn(move || core.run(rx)).expect("spawning the core thread");
        let dispatcher = Arc::new(dispatch::Dispatcher::new(store.clone(), clock.clone(), deliverer, options, handoff, tx.clone()));
        let task = tokio::spawn(dispatcher.clone().run());
        Engine {
            commands: tx,
            core: std::sync::Mutex::new(Some(handle)),
            dispatcher,
            dispatch_task: std::sync::Mutex::new(Some(task)),
            store,
            clock,
            sync_failed,
            caps,
        }
    }

    /// Whether the core is still taking work (false after shutdown, or if it died).
    pub fn is_running(&self) -> bool {
        self.core.lock().ok().and_then(|c| c.as_ref().map(|h| !h.is_finished())).unwrap_or(false)
    }

    /// Why the engine cannot take work now, if it cannot: the core stopped, or a sync of the
    /// store failed (what was acknowledged before is safe; restart to go on).
    pub fn unready(&self) -> Option<&'static str> {
        if !self.is_running() {
            Some("the engine is not running")
        } else if self.sync_failed.load(std::sync::atomic::Ordering::SeqCst) {
            Some("a sync of the store failed: nothing is acknowledged or sent until Wayfarer restarts")
        } else {
            None
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Stores events and processes them; resolves once they are durable (committed).
    pub async fn ingest(&self, source: SourceId, events: Vec<Event>) -> Result<IngestReport, Error> {
        if is_reserved_source(&source) {
            return Err(Error::Invalid(format!("the source id {source:?} is reserved for events Wayfarer makes itself")));
        }
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Ingest { origin: Origin::Source(source), events, reply }).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Enters the person known by `identity` (created if new) into a journey whose entry is
    /// `{"api": true}`, with `payload` as the trigger's properties. Resolves after commit with
    /// whether a run started (not when the person is in it already, or its re-entry rule, entry
    /// limit or a missing live version says no).
    pub async fn enter(&self, journey: JourneyId, identity: Identity, payload: domain::Map) -> Result<bool, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Enter { journey, identity, payload, reply }).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Moves a journey's waiting runs to another version, or ends them (stopping a journey).
    pub async fn runs(&self, journey: JourneyId, action: RunsAction) -> Result<usize, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Runs { journey, action, reply }).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Steps a dead letter's inputs again (after the bug that failed them is fixed). Resolves
    /// once committed; fails, changing nothing, if stepping them fails again.
    pub async fn replay(&self, id: domain::ids::DeadLetterId) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Replay { id, reply }).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Sends failed messages again (each once more, with its idempotency key): those of
    /// `ids` that are failed; returns how many. Their outcomes reach their runs' traces.
    pub async fn retry_messages(&self, ids: Vec<domain::ids::OutboxId>) -> Result<usize, Error> {
        let (store, now) = (self.store.clone(), self.clock.now());
        let n = tokio::task::spawn_blocking(move || -> Result<usize, store::Error> {
            let mut tx = store.write()?;
            let mut n = 0;
            for id in ids {
                n += usize::from(tx.retry_failed(id, now)?);
            }
            tx.commit()?;
            Ok(n)
        })
        .await
        .map_err(|e| Error::Store(store::Error::Corrupt(format!("store task: {e}"))))??;
        self.dispatcher.notify();
        Ok(n)
    }

    /// A journey's per-node counts (entered, passed, exited, converted) over the hours that
    /// start in `range` (`[from, to)`), by default the 7 days up to now by the engine's clock
    /// (168 whole hours, the current one included), with each node's waiting gauge now. Nodes
    /// are step ids, `store::ENTRY_NODE` and `store::CONTROL_NODE` (see `Tx::node_counts`).
    pub async fn node_counts(
        &self,
        journey: JourneyId,
        range: Option<(domain::time::Timestamp, domain::time::Timestamp)>,
    ) -> Result<std::collections::BTreeMap<String, store::NodeCounts>, Error> {
        let (from, to) = range.unwrap_or_else(|| {
            let to = store::NodeDeltas::hour(self.clock.now()).plus(domain::time::Duration::hours(1));
            (to.minus(domain::time::Duration::days(7)), to)
        });
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.read()?.node_counts(&journey, from, to))
            .await
            .map_err(|e| Error::Store(store::Error::Corrupt(format!("store task: {e}"))))?
            .map_err(Error::from)
    }

    /// The channels, each with its dispatch queue's limits and where it sends.
    pub fn channels(&self) -> Vec<deliver::ChannelInfo> {
        self.dispatcher.lanes()
    }

    /// The frequency caps in force.
    pub fn caps(&self) -> &[FrequencyCap] {
        &self.caps
    }

    /// Records what came back from a message (an open, a click, an unsubscribe) as events on
    /// the person, processed in order with their other events: an identify setting
    /// `feedback.traits` first when there are any, then the event. Resolves once committed.
    pub async fn feedback(&self, profile: domain::ids::ProfileId, feedback: Feedback) -> Result<IngestReport, Error> {
        let now = self.clock.now();
        let mut events = Vec::new();
        if !feedback.traits.is_empty() {
            events.push(core::internal_identify(format!("{}-traits", feedback.message_id), feedback.traits, now));
        }
        events.push(core::internal_track(feedback.message_id, feedback.name, feedback.properties, now));
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Ingest { origin: Origin::Internal(profile), events, reply }).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)?
    }

    /// In-app messages from now on, as they are kept for their people (to push to their
    /// open pages). A receiver that falls more than a thousand behind loses the oldest.
    pub fn in_app_messages(&self) -> tokio::sync::broadcast::Receiver<store::InAppMessage> {
        self.dispatcher.in_app()
    }

    /// Templates were edited (in this process's store): sends read them again at once.
    pub fn templates_changed(&self) {
        self.dispatcher.forget_templates();
    }

    /// Makes newly published journey versions take effect for the events that follow.
    pub async fn reload_journeys(&self) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Reload { reply }).map_err(|_| Error::ShuttingDown)?;
        rx.await.map_err(|_| Error::ShuttingDown)
    }

    /// Fires due timers and sends due messages, returning when both are done. With a manual
    /// clock this is how time passing takes effect.
    pub async fn wake(&self) -> Result<(), Error> {
        // Each send's outcome goes back to the core (its run may route on it, and send
        // again): until no outcome is left for the core. (`drain` waits for a pass the
        // dispatcher's own task has under way, so its outcomes are counted.)
        loop {
            let reported = self.dispatcher.reported();
            let (reply, rx) = oneshot::channel();
            self.commands.send(Command::Wake { reply: Some(reply) }).map_err(|_| Error::ShuttingDown)?;
            rx.await.map_err(|_| Error::ShuttingDown)??;
            self.dispatcher.drain().await;
            if self.dispatcher.reported() == reported {
                return Ok(());
            }
        }
    }

    /// Moves a manual clock to `target`, stopping at each timer and schedule on the way so
    /// that each fires at its own time, then sends what came due.
    pub async fn advance_manual(&self, clock: &ManualClock, target: domain::time::Timestamp) -> Result<(), Error> {
        loop {
            let (reply, rx) = oneshot::channel();
            self.commands.send(Command::NextWake { reply }).map_err(|_| Error::ShuttingDown)?;
            let next = rx.await.map_err(|_| Error::ShuttingDown)?;
            match next {
                Some(t) if t <= target => {
                    clock.set(t.max(clock.now()));
                    self.wake().await?;
                }
                _ => break,
            }
        }
        clock.set(target.max(clock.now()));
        self.wake().await
    }

    /// Stops sending (the dispatcher's current sends finish and are recorded, through the
    /// core), then stops taking work and finishes what was queued (every queued commit
    /// completes; outbox entries it makes wait for the next start).
    pub async fn shutdown(&self) {
        self.dispatcher.stop();
        let task = self.dispatch_task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        let _ = self.commands.send(Command::Shutdown);
        let core = self.core.lock().ok().and_then(|mut c| c.take());
        if let Some(core) = core {
            let _ = tokio::task::spawn_blocking(move || core.join()).await;
        }
    }
}
