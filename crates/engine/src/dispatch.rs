//! The dispatcher: sends committed outbox entries, records each outcome, retries with
//! exponential backoff, and records permanent failures instead of dropping them.
//!
//! A crash between a channel accepting a message and the outcome being recorded sends it
//! again after restart, with the same idempotency key (the email's `Message-ID`, the
//! webhook's `webhook-id`), so the receiver can recognise the repeat.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use deliver::{Deliverer, EmailTemplate, Outcome};
use domain::ids::{OutboxId, TemplateId};
use domain::journey::Effect;
use domain::time::Duration;
use serde_json::Value;
use store::{Attempt, OutboxEntry, Store};
use tokio::sync::{Mutex, Notify};

use crate::outcome::MessageOutcome;
use crate::{Clock, Options};

/// Delay before attempt `n + 1` is `base * 2^n`, capped; after `max_attempts` the entry fails.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::seconds(30), cap: Duration::hours(1), max_attempts: 8 }
    }
}

impl RetryPolicy {
    pub fn delay(&self, attempts_so_far: i64) -> Duration {
        let factor = 1i64.checked_shl(attempts_so_far.clamp(0, 30) as u32).unwrap_or(i64::MAX);
        Duration::millis(self.base.as_millis().saturating_mul(factor).min(self.cap.as_millis()))
    }
}

/// Outbox entries the core committed, handed to the dispatcher without a database read.
///
/// The core reserves an entry's id before its transaction commits, so the dispatcher's
/// reading of the outbox (for retries and entries from before a restart) never takes an
/// entry that is on its way here; it is released once its outcome is recorded.
#[derive(Default)]
pub(crate) struct Handoff {
    state: std::sync::Mutex<HandoffState>,
    pub(crate) ready: Notify,
}

#[derive(Default)]
struct HandoffState {
    reserved: HashSet<OutboxId>,
    committed: Vec<OutboxEntry>,
}

impl Handoff {
    fn state(&self) -> std::sync::MutexGuard<'_, HandoffState> {
        // The state stays consistent whatever panicked while holding it (plain inserts).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Before the commit: these entries will be handed over.
    pub(crate) fn reserve(&self, entries: &[OutboxEntry]) {
        self.state().reserved.extend(entries.iter().map(|e| e.id));
    }

    /// The commit failed: the entries do not exist.
    pub(crate) fn abandon(&self, entries: &[OutboxEntry]) {
        let mut state = self.state();
        for e in entries {
            state.reserved.remove(&e.id);
        }
    }

    /// The commit may not be durable (its sync failed): the entries are never sent by this
    /// process (they stay reserved, so reading the outbox skips them).
    pub(crate) fn withhold(&self, entries: &[OutboxEntry]) {
        if !entries.is_empty() {
            tracing::error!(entries = entries.len(), "outbox entries withheld: their commit could not be made durable");
        }
    }

    /// The commit succeeded: the entries may be sent.
    pub(crate) fn committed(&self, entries: Vec<OutboxEntry>) {
        if entries.is_empty() {
            return;
        }
        self.state().committed.extend(entries);
        self.ready.notify_one();
    }

    pub(crate) fn take(&self, n: usize) -> Vec<OutboxEntry> {
        let mut state = self.state();
        let n = n.min(state.committed.len());
        state.committed.drain(..n).collect()
    }

    pub(crate) fn is_reserved(&self, id: OutboxId) -> bool {
        self.state().reserved.contains(&id)
    }

    fn release(&self, id: OutboxId) {
        self.state().reserved.remove(&id);
    }
}

pub(crate) struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    deliverer: Deliverer,
    options: Options,
    handoff: Arc<Handoff>,
    /// One pass at a time, so an entry is never sent twice concurrently.
    pass: Mutex<()>,
    stopping: AtomicBool,
    /// To hand webhook responses back to the core as events.
    commands: std::sync::mpsc::Sender<crate::Command>,
    /// Outcomes handed back to the core so far (see `Engine::wake`).
    reported: std::sync::atomic::AtomicU64,
}

impl Dispatcher {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        deliverer: Deliverer,
        options: Options,
        handoff: Arc<Handoff>,
        commands: std::sync::mpsc::Sender<crate::Command>,
    ) -> Dispatcher {
        Dispatcher {
            store,
            clock,
            deliverer,
            options,
            handoff,
            pass: Mutex::new(()),
            stopping: AtomicBool::new(false),
            commands,
            reported: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Something became due (a message retried by hand): look at the outbox.
    pub(crate) fn notify(&self) {
        self.handoff.ready.notify_one();
    }

    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.handoff.ready.notify_one();
    }

    pub(crate) async fn run(self: Arc<Self>) {
        while self.options.dispatch && !self.stopping.load(Ordering::SeqCst) {
            self.drain().await;
            let next = self.blocking(|s| s.read()?.next_outbox_due()).await.ok().flatten();
            let wait = next.and_then(|t| self.clock.real_wait(t)).unwrap_or(StdDuration::from_secs(3600));
            if wait > StdDuration::ZERO {
                let _ = tokio::time::timeout(wait, self.handoff.ready.notified()).await;
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, store::Error> + Send + 'static,
    ) -> Result<T, store::Error> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store)).await.map_err(|e| store::Error::Corrupt(format!("store task: {e}")))?
    }

    /// Sends every entry that is due now; returns how many were attempted.
    pub(crate) async fn drain(&self) -> usize {
        if !self.options.dispatch {
            return 0;
        }
        let _pass = self.pass.lock().await;
        let mut total = 0;
        let mut rounds = 0u64;
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return total;
            }
            let now = self.clock.now();
            let limit = self.options.dispatch_concurrency.max(1);
            // Entries the core just committed go first; the outbox itself (retries, entries
            // from before a restart) is read when none are waiting, and every few rounds.
            let mut due = self.handoff.take(limit);
            rounds += 1;
            if due.is_empty() || rounds.is_multiple_of(8) {
                match self.blocking(move |s| s.read()?.due_outbox(now, limit)).await {
                    Ok(stored) => due.extend(stored.into_iter().filter(|e| !self.handoff.is_reserved(e.id))),
                    Err(error) => {
                        tracing::error!(%error, "reading the outbox failed");
                        return total;
                    }
                }
            }
            if due.is_empty() {
                return total;
            }
            total += due.len();
            // Each outcome is recorded as soon as it is known, so a crash repeats only the
            // messages whose send had completed but whose record had not.
            let recorded = futures_join(due.iter().map(|e| self.attempt_and_record(e))).await;
            // Outcomes go back to the core in the order the messages were decided, whichever
            // send finished first (so runs' traces are the same every time, and in a backtest).
            for (entry, (_, outcome)) in due.iter().zip(&recorded) {
                if let Some(outcome) = outcome {
                    self.report(entry, outcome, now);
                }
            }
            if recorded.iter().any(|(ok, _)| !ok) {
                return total;
            }
        }
    }

    /// Whether the outcome was recorded, and the final outcome to report (after recording).
    async fn attempt_and_record(&self, entry: &OutboxEntry) -> (bool, Option<MessageOutcome>) {
        let attempt = self.attempt(entry).await;
        let (id, now) = (entry.id, self.clock.now());
        let outcome = self.outcome(entry, &attempt);
        let recorded = self
            .blocking(move |s| {
                let mut tx = s.write()?;
                tx.record_attempt(id, &attempt, now)?;
                tx.commit()
            })
            .await;
        // Recorded, or still pending in the outbox (a later read retries it).
        self.handoff.release(id);
        match &recorded {
            Err(error) => {
                tracing::error!(%error, outbox_id = %id, "recording a delivery outcome failed");
                (false, None)
            }
            Ok(()) => (true, outcome),
        }
    }

    /// The final outcome of a journey's message (none while it is retried).
    fn outcome(&self, entry: &OutboxEntry, attempt: &Attempt) -> Option<MessageOutcome> {
        let status = match attempt {
            Attempt::Sent { .. } => "sent",
            Attempt::Captured { .. } => "captured",
            Attempt::Failed { .. } => "failed",
            Attempt::Retry { .. } => return None,
        };
        Some(MessageOutcome {
            journey: entry.payload.context.journey.clone(),
            run_id: entry.run?,
            node: entry.payload.effect.node().clone(),
            channel: entry.channel.clone(),
            outbox_id: entry.id,
            status: status.to_owned(),
            error: if let Attempt::Failed { error, .. } = attempt { Some(error.clone()) } else { None },
            depth: MessageOutcome::depth_after(&entry.payload.context.event_name, &entry.payload.context.event),
        })
    }

    /// Hands a message's outcome to the core: an event on the person's timeline, which the
    /// run that decided the message is told of. (Lost if the process stops first: the outbox
    /// keeps the outcome, and a run waiting for it goes on after `OUTCOME_WAIT`.)
    fn report(&self, entry: &OutboxEntry, outcome: &MessageOutcome, now: domain::time::Timestamp) {
        let event = outcome.event(entry.attempts + 1, now);
        let (reply, _ignored) = tokio::sync::oneshot::channel();
        let command = crate::Command::Ingest { origin: crate::Origin::Internal(entry.profile), events: vec![event], reply };
        if self.commands.send(command).is_err() {
            tracing::warn!(key = %entry.key, "engine stopped before a message's outcome was reported");
        }
        self.reported.fetch_add(1, Ordering::SeqCst);
    }

    /// How many outcomes were handed back to the core so far.
    pub(crate) fn reported(&self) -> u64 {
        self.reported.load(Ordering::SeqCst)
    }

    async fn attempt(&self, entry: &OutboxEntry) -> Attempt {
        let result = self.send(entry).await;
        let now = self.clock.now();
        match result {
            Ok(Outcome::Sent(result)) => {
                tracing::info!(key = %entry.key, channel = %entry.channel, "sent");
                Attempt::Sent { result }
            }
            Ok(Outcome::Captured(result)) => {
                tracing::info!(key = %entry.key, channel = %entry.channel, "captured (no channel configured)");
                Attempt::Captured { result }
            }
            Err(error) if error.is_retryable() && entry.attempts + 1 < self.options.retry.max_attempts => {
                let at = now.plus(self.options.retry.delay(entry.attempts));
                tracing::warn!(key = %entry.key, attempt = entry.attempts + 1, retry_at = %at, %error, "delivery failed; will retry");
                Attempt::Retry { at, error: error.to_string() }
            }
            Err(error) => {
                let error = if error.is_retryable() {
                    format!("gave up after {} attempts: {error}", entry.attempts + 1)
                } else {
                    error.to_string()
                };
                tracing::error!(key = %entry.key, %error, "delivery failed permanently");
                Attempt::Failed { error, result: None }
            }
        }
    }

    async fn send(&self, entry: &OutboxEntry) -> Result<Outcome, deliver::Error> {
        let ctx = serde_json::to_value(&entry.payload.context)
            .map_err(|e| deliver::Error::Permanent(format!("outbox entry {}: {e}", entry.id)))?;
        match entry.payload.effect.clone() {
            Effect::Send { template, .. } => {
                let id = template.clone();
                let stored = self
                    .blocking(move |s| s.read()?.template(&id))
                    .await
                    .map_err(|e| deliver::Error::Retryable(format!("loading template: {e}")))?
                    .ok_or_else(|| deliver::Error::Permanent(format!("template {:?} does not exist", template.0)))?;
                let to = entry.payload.to.as_deref();
                let t = email_template(&template, stored);
                self.deliverer.email(&entry.key, to, &t, &ctx).await
            }
            Effect::Update { .. } => Err(deliver::Error::Permanent("trait updates are applied in the engine, never sent".into())),
            Effect::Webhook { url, method, body, save, .. } => {
                let now_secs = self.clock.now().0 / 1000;
                let outcome = self.deliverer.webhook(&entry.key, &url, &method, body.as_ref(), &ctx, now_secs).await?;
                if let (Outcome::Sent(result), false) = (&outcome, save.is_empty()) {
                    self.save_response(entry, result, &save);
                }
                Ok(outcome)
            }
        }
    }
}

impl Dispatcher {
    /// Saves fields of a webhook's JSON response to the person's traits, as an identify-like
    /// event processed in order with the person's other events (idempotent: its messageId
    /// derives from the outbox key).
    fn save_response(&self, entry: &OutboxEntry, result: &Value, save: &std::collections::BTreeMap<String, String>) {
        let response = result.get("json").cloned().unwrap_or(Value::Null);
        let traits: domain::Map =
            save.iter().filter_map(|(name, pointer)| response.pointer(pointer).map(|v| (name.clone(), v.clone()))).collect();
        if traits.is_empty() {
            tracing::warn!(key = %entry.key, "webhook response had none of the fields to save");
            return;
        }
        let event = crate::core::internal_identify(format!("{}-response", entry.key), traits, self.clock.now());
        let (reply, _ignored) = tokio::sync::oneshot::channel();
        let command = crate::Command::Ingest { origin: crate::Origin::Internal(entry.profile), events: vec![event], reply };
        if self.commands.send(command).is_err() {
            tracing::warn!(key = %entry.key, "engine stopped before the webhook response was saved");
        }
    }
}

fn email_template(id: &TemplateId, t: store::Template) -> EmailTemplate {
    EmailTemplate { id: id.0.clone(), subject: t.subject, html: t.html, text: t.text }
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A pending outbox entry with this id (for tests of the handoff).
    pub(crate) fn entry(id: i64) -> OutboxEntry {
        OutboxEntry {
            id: OutboxId(id),
            key: format!("k{id}"),
            profile: domain::ids::ProfileId(1),
            run: None,
            channel: "webhook".into(),
            payload: store::OutboxPayload {
                v: 1,
                effect: domain::journey::Effect::Update { node: domain::ids::NodeId("n".into()), update: Default::default() },
                to: None,
                context: store::TemplateContext::default(),
            },
            status: store::OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: domain::time::Timestamp(0),
            last_error: None,
            result: None,
            created_at: domain::time::Timestamp(0),
            updated_at: domain::time::Timestamp(0),
        }
    }

    #[test]
    fn handed_over_entries_are_reserved_until_recorded_and_only_sent_once_committed() {
        let h = Handoff::default();
        let (a, b) = (vec![entry(1), entry(2)], vec![entry(3)]);
        h.reserve(&a);
        h.reserve(&b);
        assert!(h.take(10).is_empty(), "nothing is sent before its commit");
        assert!(h.is_reserved(OutboxId(1)) && h.is_reserved(OutboxId(3)), "a read of the outbox skips them");
        h.abandon(&b);
        assert!(!h.is_reserved(OutboxId(3)), "a failed commit's entries do not exist");
        h.committed(a);
        assert_eq!(h.take(1).iter().map(|e| e.id.0).collect::<Vec<_>>(), [1]);
        assert_eq!(h.take(10).iter().map(|e| e.id.0).collect::<Vec<_>>(), [2]);
        assert!(h.is_reserved(OutboxId(2)), "still reserved while being sent");
        h.release(OutboxId(2));
        assert!(!h.is_reserved(OutboxId(2)) && h.is_reserved(OutboxId(1)));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy { base: Duration::seconds(30), cap: Duration::minutes(5), max_attempts: 8 };
        let delays: Vec<String> = (0..6).map(|n| p.delay(n).to_string()).collect();
        assert_eq!(delays, ["30s", "1m", "2m", "4m", "5m", "5m"]);
    }
}
