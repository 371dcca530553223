//! The dispatcher: sends committed outbox entries, records each outcome, retries with
//! exponential backoff and jitter, and records permanent failures instead of dropping them.
//!
//! Each channel has a queue of its own (a lane): its own concurrency and rate limit (a token
//! bucket), so a slow provider never holds up another channel. A lane keeps twice its
//! concurrency of sends under way (the deliverer lets the concurrency's worth talk to the
//! provider at once; the others are checked and rendered meanwhile) and hands their attempts
//! to the core in batches, which records them with their outcome events in its group commit,
//! while the next sends go on.
//!
//! A crash between a channel accepting a message and the outcome being recorded sends it
//! again after restart, with the same idempotency key (the email's `Message-ID`, the
//! webhook's `webhook-id`), so the receiver can recognise the repeat.

mod bucket;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use deliver::{Deliverer, EmailTemplate, Outcome};
use domain::ids::{OutboxId, TemplateId};
use domain::journey::{Channel, Effect};
use domain::time::Duration;
use serde_json::Value;
use store::{Attempt, OutboxEntry, Store};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinSet;

use self::bucket::Bucket;

use crate::outcome::MessageOutcome;
use crate::{Clock, FrequencyCap, Options};

/// Delay before attempt `n + 1` is `base * 2^n`, capped, less a jitter of up to half of it
/// (so messages that failed together are not all retried at once); after `max_attempts` the
/// entry fails.
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
    /// The delay before the next attempt of the message with idempotency key `key`: between
    /// half and all of the backoff, the same for the same key and attempt (the jitter derives
    /// from them, so a retry's time is reproducible).
    pub fn delay(&self, attempts_so_far: i64, key: &str) -> Duration {
        let factor = 1i64.checked_shl(attempts_so_far.clamp(0, 30) as u32).unwrap_or(i64::MAX);
        let full = self.base.as_millis().saturating_mul(factor).min(self.cap.as_millis()).max(0);
        let half = full / 2;
        let spread = fnv1a(key.as_bytes().iter().chain(&attempts_so_far.to_le_bytes())) % (half as u64 + 1);
        Duration::millis(full - half + spread as i64)
    }
}

fn fnv1a<'a>(bytes: impl Iterator<Item = &'a u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Outbox entries the core committed, handed to the dispatcher without a database read.
///
/// The core reserves an entry's id before its transaction commits, so the dispatcher's
/// reading of the outbox (for retries and entries from before a restart) never takes an
/// entry that is on its way here; it is released once its outcome is recorded.
pub(crate) struct Handoff {
    state: std::sync::Mutex<HandoffState>,
    /// Per channel: entries were handed over (or something else became due).
    ready: HashMap<&'static str, Notify>,
}

#[derive(Default)]
struct HandoffState {
    reserved: HashSet<OutboxId>,
    committed: HashMap<String, VecDeque<OutboxEntry>>,
}

impl Handoff {
    /// For these channels (entries of any other are left to the outbox, and logged).
    pub(crate) fn new(channels: &[&'static str]) -> Handoff {
        Handoff { state: std::sync::Mutex::default(), ready: channels.iter().map(|c| (*c, Notify::new())).collect() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HandoffState> {
        // The state stays consistent whatever panicked while holding it (plain inserts).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Before the commit: these entries will be handed over. (Also entries read from the
    /// outbox, while they are being sent.)
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
        let mut woken = HashSet::new();
        let mut state = self.state();
        for e in entries {
            match self.ready.get_key_value(e.channel.as_str()) {
                Some((channel, _)) => {
                    woken.insert(*channel);
                    state.committed.entry(e.channel.clone()).or_default().push_back(e);
                }
                None => {
                    tracing::error!(outbox_id = %e.id, channel = %e.channel, "no dispatch queue for this channel; the entry stays pending")
                }
            }
        }
        drop(state);
        for channel in woken {
            self.wake(channel);
        }
    }

    /// Wakes a channel's queue.
    pub(crate) fn wake(&self, channel: &str) {
        if let Some(ready) = self.ready.get(channel) {
            ready.notify_one();
        }
    }

    async fn ready(&self, channel: &str) {
        if let Some(ready) = self.ready.get(channel) {
            ready.notified().await;
        }
    }

    /// Up to `n` of a channel's committed entries, in the order they were committed.
    pub(crate) fn take(&self, channel: &str, n: usize) -> Vec<OutboxEntry> {
        let mut state = self.state();
        let Some(queue) = state.committed.get_mut(channel) else { return Vec::new() };
        let n = n.min(queue.len());
        queue.drain(..n).collect()
    }

    pub(crate) fn is_reserved(&self, id: OutboxId) -> bool {
        self.state().reserved.contains(&id)
    }

    fn release(&self, id: OutboxId) {
        self.state().reserved.remove(&id);
    }
}

/// A channel's dispatch queue.
struct Lane {
    info: deliver::ChannelInfo,
    channel: &'static str,
    concurrency: usize,
    bucket: Bucket,
    /// One pass at a time, so an entry is never sent twice concurrently.
    pass: Mutex<()>,
}

/// What a pass does with the outcomes it records.
#[derive(Clone, Copy, PartialEq)]
enum Reporting {
    /// Hands each batch's outcomes to the core once it is recorded (the dispatcher's own
    /// tasks, in real time).
    AsRecorded,
    /// Returns them, for `drain` to hand over in the order the messages were decided.
    Collect,
}

pub(crate) struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    deliverer: Deliverer,
    options: Options,
    handoff: Arc<Handoff>,
    lanes: Vec<Lane>,
    stopping: AtomicBool,
    /// To hand webhook responses back to the core as events.
    commands: std::sync::mpsc::Sender<crate::Command>,
    /// Outcomes handed back to the core so far (see `Engine::wake`).
    reported: std::sync::atomic::AtomicU64,
    /// Templates read lately (see `TEMPLATE_TTL`).
    templates: std::sync::Mutex<HashMap<TemplateId, (store::Template, std::time::Instant)>>,
    /// Marketing messages the controls let through and not yet recorded, and their person (a
    /// few dozen at most: what is in flight).
    sending: std::sync::Mutex<HashMap<OutboxId, Sending>>,
    /// In-app messages as they are kept, for the people's open pages.
    in_app: tokio::sync::broadcast::Sender<store::InAppMessage>,
}

/// A marketing message the controls let through, being sent: whom, on which channel, from
/// which journey (what caps count besides the outbox).
struct Sending {
    profile: domain::ids::ProfileId,
    channel: String,
    journey: domain::ids::JourneyId,
}

/// How long a template read for a send is used for the next sends without reading it again.
/// An edit made through this process takes effect at once (`Engine::templates_changed`);
/// one made by another node sharing the database, within this time.
const TEMPLATE_TTL: StdDuration = StdDuration::from_secs(1);

/// In-app messages kept but not yet taken by every open page listening (a page that falls
/// further behind reads `/v1/decide` again).
const IN_APP_BACKLOG: usize = 1024;

/// A pass's sends: the entry, what came of it, and when.
type Sends = JoinSet<(OutboxEntry, Attempt, domain::time::Timestamp)>;

/// A batch of attempts being recorded by the core (with outcome events), the entries', and
/// how that went.
type Recording = std::pin::Pin<Box<dyn std::future::Future<Output = (Vec<OutboxId>, Result<(), crate::Error>)> + Send>>;

/// A message's final outcome, waiting to go to the core: the message, its person, and the
/// outcome event.
type Reported = (OutboxId, domain::ids::ProfileId, domain::event::Event);

impl Dispatcher {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        deliverer: Deliverer,
        options: Options,
        handoff: Arc<Handoff>,
        commands: std::sync::mpsc::Sender<crate::Command>,
    ) -> Dispatcher {
        let lanes = deliverer
            .channels()
            .into_iter()
            .map(|info| Lane {
                channel: info.name,
                concurrency: info.limits.concurrency.max(1),
                bucket: Bucket::new(info.limits.rate_per_sec),
                pass: Mutex::new(()),
                info,
            })
            .collect();
        Dispatcher {
            store,
            clock,
            deliverer,
            options,
            handoff,
            lanes,
            stopping: AtomicBool::new(false),
            commands,
            reported: std::sync::atomic::AtomicU64::new(0),
            templates: std::sync::Mutex::default(),
            sending: std::sync::Mutex::default(),
            in_app: tokio::sync::broadcast::channel(IN_APP_BACKLOG).0,
        }
    }

    fn templates(&self) -> std::sync::MutexGuard<'_, HashMap<TemplateId, (store::Template, std::time::Instant)>> {
        // Inserts and removals only: consistent whatever panicked while holding it.
        self.templates.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Templates were edited: read them again for the next sends.
    pub(crate) fn forget_templates(&self) {
        self.templates().clear();
    }

    /// The template as stored, read at most `TEMPLATE_TTL` ago.
    async fn template(&self, id: &TemplateId) -> Result<store::Template, deliver::Error> {
        if let Some((t, _)) = self.templates().get(id).filter(|(_, at)| at.elapsed() < TEMPLATE_TTL) {
            return Ok(t.clone());
        }
        let key = id.clone();
        let stored = self
            .blocking(move |s| s.read()?.template(&key))
            .await
            .map_err(|e| deliver::Error::Retryable(format!("loading template: {e}")))?
            .ok_or_else(|| deliver::Error::Permanent(format!("template {:?} does not exist", id.0)))?;
        self.templates().insert(id.clone(), (stored.clone(), std::time::Instant::now()));
        Ok(stored)
    }

    /// Why a marketing message may not go to its person now, if it may not: they unsubscribed
    /// (as merged now), or a frequency cap of its channel is reached (what was sent in the
    /// window, and what is being sent to them now). When it may go, it counts as being sent
    /// until `sent` is called.
    async fn controls(&self, entry: &OutboxEntry, channel: Channel, category: store::Category) -> Result<Option<String>, deliver::Error> {
        // An in-app message interrupts nobody: it waits for the person's visit, where they
        // see it or not; no consent or cap applies (as at Braze).
        if channel == Channel::InApp {
            return Ok(None);
        }
        let marketing = category == store::Category::Marketing;
        // An SMS opt-out (STOP) stops every SMS, as providers and carriers refuse them anyway;
        // an email unsubscribe stops marketing email.
        let consent = match channel {
            Channel::Email if marketing => Some(EMAIL_UNSUBSCRIBED),
            Channel::Push if marketing => Some(PUSH_UNSUBSCRIBED),
            Channel::Email | Channel::Push | Channel::InApp => None,
            Channel::Sms => Some(SMS_UNSUBSCRIBED),
        };
        let (profile, now) = (entry.profile, self.clock.now());
        let caps: Vec<FrequencyCap> = match marketing {
            true => self.options.caps.iter().filter(|c| c.channel.as_ref().is_none_or(|ch| *ch == entry.channel)).cloned().collect(),
            false => Vec::new(),
        };
        // The journey's own cap, as the step decided it.
        let journey_cap = match &entry.payload.effect {
            Effect::Send { cap: Some(cap), .. } if marketing => Some(*cap),
            _ => None,
        };
        let journey = entry.payload.context.journey.clone();
        // An email goes nowhere when its address bounced for good (whatever the category).
        let email_to = (channel == Channel::Email).then(|| entry.payload.to.clone()).flatten();
        if consent.is_none() && caps.is_empty() && !marketing && email_to.is_none() {
            return Ok(None);
        }
        let counted_journey = journey.clone();
        let (unsubscribed, bounced, counts, journey_sent) = self
            .blocking(move |s| {
                let mut tx = s.read()?;
                let id = tx.canonical(profile)?.unwrap_or(profile);
                let traits = tx.profile(id)?.map(|p| p.traits).unwrap_or_default();
                let unsubscribed = consent.is_some_and(|t| traits.get(t) == Some(&Value::Bool(true)));
                let bounced = email_to.filter(|to| {
                    traits.get(EMAIL_BOUNCED).and_then(Value::as_str).is_some_and(|b| b.trim().eq_ignore_ascii_case(to.trim()))
                });
                let mut counts = Vec::new();
                for cap in caps {
                    let sent = tx.sends_since(profile, cap.channel.as_deref(), now.minus(cap.within))?;
                    counts.push((cap, sent));
                }
                let journey_sent = match journey_cap {
                    Some(cap) => Some((cap, tx.journey_sends_since(profile, &counted_journey, now.minus(cap.within))?)),
                    None => None,
                };
                Ok((unsubscribed, bounced, counts, journey_sent))
            })
            .await
            .map_err(|e| deliver::Error::Retryable(format!("reading the person's consent: {e}")))?;
        if let Some(address) = bounced {
            return Ok(Some(format!("the address {address} bounced for good (trait {EMAIL_BOUNCED})")));
        }
        match (unsubscribed, channel) {
            (false, _) => {}
            (true, Channel::Email) => {
                return Ok(Some(format!("the person unsubscribed from marketing email (trait {EMAIL_UNSUBSCRIBED})")));
            }
            (true, Channel::Sms) => return Ok(Some(format!("the person opted out of SMS (trait {SMS_UNSUBSCRIBED})"))),
            (true, Channel::Push) => {
                return Ok(Some(format!("the person unsubscribed from marketing push notifications (trait {PUSH_UNSUBSCRIBED})")));
            }
            (true, Channel::InApp) => {}
        }
        if !marketing {
            return Ok(None);
        }
        let mut sending = self.sending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (cap, sent) in counts {
            // What is being sent to them now, on the cap's channel (or any).
            let now_sending = sending
                .iter()
                .filter(|(id, s)| s.profile == profile && **id != entry.id && cap.channel.as_ref().is_none_or(|c| *c == s.channel))
                .count() as i64;
            if sent + now_sending >= cap.max {
                let what = cap.channel.as_deref().map_or("messages on every channel".to_owned(), str::to_owned);
                return Ok(Some(format!(
                    "frequency cap: {} of at most {} {what} in {} sent already",
                    sent + now_sending,
                    cap.max,
                    cap.within
                )));
            }
        }
        if let Some((cap, sent)) = journey_sent {
            let now_sending =
                sending.iter().filter(|(id, s)| s.profile == profile && **id != entry.id && s.journey == journey).count() as i64;
            if sent + now_sending >= cap.max {
                return Ok(Some(format!(
                    "journey {journey} cap: {} of at most {} messages in {} sent already",
                    sent + now_sending,
                    cap.max,
                    cap.within
                )));
            }
        }
        sending.insert(entry.id, Sending { profile, channel: entry.channel.clone(), journey });
        Ok(None)
    }

    /// A message is recorded: if `controls` let it through, it no longer counts as being sent
    /// (it is in the outbox's count now).
    fn recorded(&self, id: OutboxId) {
        self.sending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
    }

    /// In-app messages from now on, as they are kept.
    pub(crate) fn in_app(&self) -> tokio::sync::broadcast::Receiver<store::InAppMessage> {
        self.in_app.subscribe()
    }

    /// The channels the dispatcher has queues for (what the handoff is made for).
    pub(crate) fn channels(deliverer: &Deliverer) -> Vec<&'static str> {
        deliverer.channels().into_iter().map(|c| c.name).collect()
    }

    /// Each queue's channel, its limits and where it sends.
    pub(crate) fn lanes(&self) -> Vec<deliver::ChannelInfo> {
        self.lanes.iter().map(|l| l.info.clone()).collect()
    }

    /// Something became due (a message retried by hand): look at the outbox.
    pub(crate) fn notify(&self) {
        for lane in &self.lanes {
            self.handoff.wake(lane.channel);
        }
    }

    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Runs every channel's queue until stopped.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut lanes = JoinSet::new();
        for i in 0..self.lanes.len() {
            lanes.spawn(self.clone().run_lane(i));
        }
        while lanes.join_next().await.is_some() {}
    }

    async fn run_lane(self: Arc<Self>, i: usize) {
        let channel = self.lanes[i].channel;
        while self.options.dispatch && !self.stopping.load(Ordering::SeqCst) {
            self.pass(i, Reporting::AsRecorded).await;
            let next = self.blocking(move |s| s.read()?.next_outbox_due(channel)).await.ok().flatten();
            let wait = next.and_then(|t| self.clock.real_wait(t)).unwrap_or(StdDuration::from_secs(3600));
            if wait > StdDuration::ZERO {
                let _ = tokio::time::timeout(wait, self.handoff.ready(channel)).await;
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

    /// Sends every entry that is due now, on every channel, and hands the outcomes to the
    /// core in the order the messages were decided (whichever send finished first, so runs'
    /// traces are the same every time); returns how many were attempted.
    pub(crate) async fn drain(self: &Arc<Self>) -> usize {
        if !self.options.dispatch {
            return 0;
        }
        let passes = (0..self.lanes.len()).map(|i| self.pass(i, Reporting::Collect));
        let mut total = 0;
        let mut outcomes = Vec::new();
        for (n, o) in futures_join(passes).await {
            total += n;
            outcomes.extend(o);
        }
        outcomes.sort_by_key(|(id, _, _)| *id);
        if !outcomes.is_empty() {
            // (The core takes them in order with whatever follows: no need to wait here.)
            drop(self.record(Vec::new(), outcomes));
        }
        total
    }

    /// One pass of a channel's queue: sends what is due, twice the channel's concurrency under
    /// way at a time and within its rate, until nothing is due; returns how many were attempted and
    /// (`Reporting::Collect`) the outcomes to report.
    async fn pass(self: &Arc<Self>, i: usize, reporting: Reporting) -> (usize, Vec<Reported>) {
        let lane = &self.lanes[i];
        let _pass = lane.pass.lock().await;
        let (channel, limit) = (lane.channel, lane.concurrency);
        let page = limit * 4;
        let mut queue: VecDeque<OutboxEntry> = VecDeque::new();
        let mut sends: Sends = JoinSet::new();
        let mut done: Vec<(OutboxEntry, Attempt)> = Vec::new();
        let mut recording: Option<Recording> = None;
        let mut recording_len = 0;
        // Outcomes go to the core in the order the messages were decided (whichever send
        // finished first, so runs' traces are the same every time): each waits for the
        // entries before it in this pass to be sent, and goes with their attempts or after.
        let mut outstanding: BTreeSet<OutboxId> = BTreeSet::new();
        let mut waiting: BTreeMap<OutboxId, Reported> = BTreeMap::new();
        let hand_over = |waiting: &mut BTreeMap<OutboxId, Reported>, before: Option<&OutboxId>| {
            let mut out = Vec::new();
            while let Some(entry) = waiting.first_entry() {
                if before.is_some_and(|b| entry.key() > b) {
                    break;
                }
                out.push(entry.remove());
            }
            out
        };
        // Entries the core just committed go first; the outbox itself (retries, entries from
        // before a restart) is read when none are waiting, and after every few pages of them.
        let (mut store_more, mut since_read) = (true, 0usize);
        // The last read found a full page of entries all on their way already (handed over, in
        // flight): read again once some of them are recorded.
        let mut read_after_record = false;
        let (mut total, mut failed) = (0, false);
        loop {
            let halted = failed || self.stopping.load(Ordering::SeqCst);
            if !halted && queue.len() < limit {
                let handed = self.handoff.take(channel, page - queue.len());
                since_read += handed.len();
                outstanding.extend(handed.iter().map(|e| e.id));
                queue.extend(handed);
                if (queue.is_empty() && store_more) || since_read >= page * 2 {
                    since_read = 0;
                    let now = self.clock.now();
                    match self.blocking(move |s| s.read()?.due_outbox(channel, now, page)).await {
                        Ok(stored) => {
                            let full = stored.len() == page;
                            let fresh: Vec<OutboxEntry> = stored.into_iter().filter(|e| !self.handoff.is_reserved(e.id)).collect();
                            store_more = full && !fresh.is_empty();
                            read_after_record = full && fresh.is_empty();
                            self.handoff.reserve(&fresh);
                            outstanding.extend(fresh.iter().map(|e| e.id));
                            queue.extend(fresh);
                        }
                        Err(error) => {
                            tracing::error!(%error, channel, "reading the outbox failed");
                            failed = true;
                        }
                    }
                }
            }
            let halted = failed || self.stopping.load(Ordering::SeqCst);
            // Twice the concurrency under way: as many again as the provider takes at once are
            // checked and rendered meanwhile, each ready to go the moment a connection is free
            // (the channel holds them to its concurrency, `deliver::Limits`). At most four times
            // the concurrency sent or being sent and not yet recorded (what a crash repeats).
            let unrecorded = sends.len() + done.len() + recording_len;
            let launch = !halted && sends.len() < 2 * limit && unrecorded < 4 * limit && !queue.is_empty();
            if !launch && sends.is_empty() && recording.is_none() && done.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                recorded = async { recording.as_mut().expect("guarded").await }, if recording.is_some() => {
                    recording = None;
                    recording_len = 0;
                    let (ids, result) = recorded;
                    for id in &ids {
                        // Recorded, or still pending in the outbox (a later read retries it).
                        self.handoff.release(*id);
                        self.recorded(*id);
                    }
                    if let Err(error) = result {
                        tracing::error!(%error, channel, messages = ids.len(), "recording delivery outcomes failed");
                        failed = true;
                    }
                    if read_after_record && !ids.is_empty() {
                        (store_more, read_after_record) = (true, false);
                    }
                }
                joined = sends.join_next(), if !sends.is_empty() => {
                    match joined {
                        Some(Ok((entry, attempt, at))) => {
                            outstanding.remove(&entry.id);
                            if let Some(outcome) = self.outcome(&entry, &attempt) {
                                waiting.insert(entry.id, (entry.id, entry.profile, outcome.event(entry.attempts + 1, at)));
                            }
                            done.push((entry, attempt));
                        }
                        // (Its entry stays outstanding: the outcomes after it wait for the pass's end.)
                        Some(Err(error)) => tracing::error!(%error, channel, "a send task failed; its message is sent again after a restart"),
                        None => {}
                    }
                }
                () = lane.bucket.acquire(), if launch => {
                    if let Some(entry) = queue.pop_front() {
                        total += 1;
                        let me = self.clone();
                        sends.spawn(async move {
                            let attempt = me.attempt(&entry).await;
                            let at = me.clock.now();
                            (entry, attempt, at)
                        });
                    }
                }
            }
            // Outcomes are recorded a batch at a time, one batch at a time: once the last is
            // recorded, when half the concurrency's worth are done or fewer than that are still
            // being sent (each batch is a commit: fewer, larger ones cost less). A crash repeats
            // only the messages whose send had completed but whose record had not (at most four
            // times the concurrency, see `unrecorded`).
            let enough = (limit / 2).max(1);
            if recording.is_none() && !done.is_empty() && (done.len() >= enough || sends.len() < enough) {
                let batch = std::mem::take(&mut done);
                recording_len = batch.len();
                let outcomes = match reporting {
                    Reporting::AsRecorded => hand_over(&mut waiting, outstanding.first()),
                    Reporting::Collect => Vec::new(),
                };
                recording = Some(self.record(batch, outcomes));
            }
        }
        for entry in queue {
            self.handoff.release(entry.id);
        }
        let rest = hand_over(&mut waiting, None);
        match reporting {
            Reporting::AsRecorded if !rest.is_empty() => {
                let (_, result) = self.record(Vec::new(), rest).await;
                if let Err(error) = result {
                    tracing::warn!(%error, channel, "handing message outcomes to the core failed");
                }
                (total, Vec::new())
            }
            Reporting::AsRecorded => (total, Vec::new()),
            Reporting::Collect => (total, rest),
        }
    }
}

/// The trait that unsubscribes a person from marketing email when `true` (set by the one-click
/// unsubscribe, or by an identify).
pub const EMAIL_UNSUBSCRIBED: &str = "email_unsubscribed";

/// The trait that says which of a template's translations a person gets (`fr`, `pt-BR`).
pub const LOCALE: &str = "locale";

/// The trait holding an email address that bounced for good (a hard bounce): no email goes
/// to the person while their `email` is still that address.
pub const EMAIL_BOUNCED: &str = "email_bounced";

/// The trait that stops every SMS to a person when `true` (set when they reply STOP, when the
/// provider refuses a message because they did, or by an identify).
pub const SMS_UNSUBSCRIBED: &str = "sms_unsubscribed";

/// The trait that stops marketing push notifications to a person when `true` (an app sets it
/// with an identify, from its own notification settings).
pub const PUSH_UNSUBSCRIBED: &str = "push_unsubscribed";

/// The event of an SMS opt-out.
pub const SMS_UNSUBSCRIBED_EVENT: &str = "SMS Unsubscribed";

impl Dispatcher {
    /// The final outcome of a journey's message (none while it is retried).
    fn outcome(&self, entry: &OutboxEntry, attempt: &Attempt) -> Option<MessageOutcome> {
        let status = match attempt {
            Attempt::Sent { .. } => "sent",
            Attempt::Captured { .. } => "captured",
            Attempt::Failed { .. } => "failed",
            Attempt::Suppressed { .. } => "suppressed",
            Attempt::Retry { .. } => return None,
        };
        Some(MessageOutcome {
            journey: entry.payload.context.journey.clone(),
            run_id: entry.run?,
            node: entry.payload.effect.node().clone(),
            channel: entry.channel.clone(),
            outbox_id: entry.id,
            status: status.to_owned(),
            error: match attempt {
                Attempt::Failed { error, .. } => Some(error.clone()),
                Attempt::Suppressed { reason } => Some(reason.clone()),
                _ => None,
            },
            depth: MessageOutcome::depth_after(&entry.payload.context.event_name, &entry.payload.context.event),
        })
    }

    /// Hands attempts and message outcomes to the core, which records the attempts in the
    /// outbox and ingests each outcome as an event on its person's timeline (which the run
    /// that decided the message is told of), in one transaction (the core's group commit);
    /// resolves once that is durable. An outcome goes with its message's attempt or after it.
    /// (Outcomes are lost if the process stops before: the outbox keeps the attempt, and a run
    /// waiting for it goes on after `OUTCOME_WAIT`.)
    fn record(&self, batch: Vec<(OutboxEntry, Attempt)>, outcomes: Vec<Reported>) -> Recording {
        let events: Vec<(crate::Origin, domain::event::Event)> =
            outcomes.into_iter().map(|(_, profile, event)| (crate::Origin::Internal(profile), event)).collect();
        self.reported.fetch_add(events.len() as u64, Ordering::SeqCst);
        let (ids, attempts): (Vec<OutboxId>, Vec<(OutboxId, Attempt)>) =
            batch.into_iter().map(|(entry, attempt)| (entry.id, (entry.id, attempt))).unzip();
        let (reply, rx) = tokio::sync::oneshot::channel();
        let sent = self.commands.send(crate::Command::Record { attempts, events, reply }).is_ok();
        Box::pin(async move {
            let result = match sent {
                true => rx.await.unwrap_or(Err(crate::Error::ShuttingDown)),
                false => Err(crate::Error::ShuttingDown),
            };
            (ids, result)
        })
    }

    /// How many outcomes were handed back to the core so far.
    pub(crate) fn reported(&self) -> u64 {
        self.reported.load(Ordering::SeqCst)
    }

    async fn attempt(&self, entry: &OutboxEntry) -> Attempt {
        let result = self.send(entry).await;
        // The controls let it through: a marketing message, which caps count.
        let capped = self.sending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(&entry.id);
        let now = self.clock.now();
        match result {
            Ok(Outcome::Sent(result)) => {
                tracing::info!(key = %entry.key, channel = %entry.channel, "sent");
                Attempt::Sent { result, capped }
            }
            Ok(Outcome::Captured(result)) => {
                tracing::info!(key = %entry.key, channel = %entry.channel, "captured (no channel configured)");
                Attempt::Captured { result, capped }
            }
            Ok(Outcome::Suppressed(reason)) => {
                tracing::info!(key = %entry.key, channel = %entry.channel, %reason, "not sent");
                Attempt::Suppressed { reason }
            }
            Err(error) if error.is_retryable() && entry.attempts + 1 < self.options.retry.max_attempts => {
                let at = now.plus(self.options.retry.delay(entry.attempts, &entry.key));
                tracing::warn!(key = %entry.key, attempt = entry.attempts + 1, retry_at = %at, %error, "delivery failed; will retry");
                Attempt::Retry { at, error: error.to_string() }
            }
            Err(deliver::Error::OptedOut(error)) => {
                tracing::warn!(key = %entry.key, %error, "the recipient opted out; unsubscribing them from the channel");
                self.opted_out(entry, &error);
                Attempt::Failed { error, result: None }
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
            Effect::Send { template, channel, .. } => {
                // In the person's language (their `locale` trait as the message was decided).
                let locale = entry.payload.context.traits.get(LOCALE).and_then(Value::as_str);
                let (stored, _) = self.template(&template).await?.localized(locale);
                if let (Effect::Send { outranked: Some(why), .. }, store::Category::Marketing) = (&entry.payload.effect, stored.category) {
                    return Ok(Outcome::Suppressed(why.clone()));
                }
                // Consent and caps, as they are now (an unsubscribe also stops what was already queued).
                if let Some(reason) = self.controls(entry, channel, stored.category).await? {
                    return Ok(Outcome::Suppressed(reason));
                }
                let to = entry.payload.to.as_deref();
                match channel {
                    Channel::Email => {
                        let t = email_template(&template, stored);
                        self.deliverer.email(&entry.key, to, &t, ctx, Some(entry.id.0)).await
                    }
                    Channel::Sms => self.deliverer.sms(&entry.key, to, &template.0, &stored.sms, &ctx, Some(entry.id.0)).await,
                    Channel::Push => {
                        let profile = entry.profile;
                        let devices = self
                            .blocking(move |s| {
                                let mut tx = s.read()?;
                                let id = tx.canonical(profile)?.unwrap_or(profile);
                                Ok(tx.profile(id)?.map(|p| p.push_tokens()).unwrap_or_default())
                            })
                            .await
                            .map_err(|e| deliver::Error::Retryable(format!("reading the person's devices: {e}")))?;
                        let p = stored.push;
                        let t =
                            deliver::PushTemplate { id: template.0.clone(), title: p.title, body: p.body, link: p.link, image: p.image };
                        let (outcome, gone) = self.deliverer.push(&entry.key, devices, &t, &ctx).await;
                        self.forget_devices(entry, &gone);
                        outcome
                    }
                    Channel::InApp => self.keep_in_app(entry, &template, &stored.in_app, &ctx).await,
                }
            }
            Effect::Update { .. } => Err(deliver::Error::Permanent("trait updates are applied in the engine, never sent".into())),
            Effect::Task { task, due_at, node } => self.keep_task(entry, &node, &task, due_at, &ctx).await,
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
    /// An in-app message: rendered for the person and kept for them (under the outbox entry's
    /// id, so a repeat after a crash keeps the first), then announced to their open pages.
    async fn keep_in_app(
        &self,
        entry: &OutboxEntry,
        template: &TemplateId,
        source: &store::InAppContent,
        ctx: &Value,
    ) -> Result<Outcome, deliver::Error> {
        let content = render_in_app(self.deliverer.renderer(), template, source, ctx)?;
        let described = serde_json::to_value(&content).unwrap_or(Value::Null);
        let now = self.clock.now();
        let message = store::InAppMessage {
            id: entry.id,
            profile: entry.profile,
            journey: entry.payload.context.journey.clone(),
            template: template.clone(),
            content,
            created_at: now,
            expires_at: now.plus(self.options.in_app_ttl),
            viewed_at: None,
            clicked_at: None,
            dismissed_at: None,
        };
        let kept = self
            .blocking(move |s| {
                let mut tx = s.write()?;
                let mut message = message;
                message.profile = tx.canonical(message.profile)?.unwrap_or(message.profile);
                let new = tx.put_in_app(&message)?;
                tx.commit()?;
                Ok(new.then_some(message))
            })
            .await
            .map_err(|e| deliver::Error::Retryable(format!("keeping the in-app message: {e}")))?;
        if let Some(message) = kept {
            // Nobody listening is fine: the message waits for the next `/v1/decide`.
            let _ = self.in_app.send(message);
        }
        Ok(Outcome::Sent(described))
    }

    /// A task: rendered for the person and put in the inbox (under the outbox entry's id, so a
    /// repeat after a crash keeps the first).
    async fn keep_task(
        &self,
        entry: &OutboxEntry,
        node: &domain::ids::NodeId,
        spec: &domain::journey::TaskSpec,
        due_at: Option<domain::time::Timestamp>,
        ctx: &Value,
    ) -> Result<Outcome, deliver::Error> {
        let renderer = self.deliverer.renderer();
        let part = |name: &str, src: &str| render_part(renderer, &format!("task {name}"), src, ctx);
        let title = part("title", &spec.title)?;
        if title.is_empty() {
            return Err(deliver::Error::Permanent("the task's title renders empty".into()));
        }
        let task = store::Task {
            id: entry.id,
            profile: entry.profile,
            journey: entry.payload.context.journey.clone(),
            node: node.clone(),
            title,
            body: part("body", &spec.body)?,
            assignee: spec.assignee.as_ref().map(|a| a.to_lowercase()),
            team: spec.team.clone(),
            due_at,
            created_at: self.clock.now(),
            status: store::TaskStatus::Open,
            closed_at: None,
            closed_by: None,
            note: None,
        };
        let described = serde_json::json!({
            "title": task.title, "body": task.body, "assignee": task.assignee, "team": task.team,
            "due_at": task.due_at.map(|d| d.to_string()),
        });
        self.blocking(move |s| {
            let mut tx = s.write()?;
            let mut task = task;
            task.profile = tx.canonical(task.profile)?.unwrap_or(task.profile);
            tx.put_task(&task)?;
            tx.commit()
        })
        .await
        .map_err(|e| deliver::Error::Retryable(format!("putting the task in the inbox: {e}")))?;
        Ok(Outcome::Sent(described))
    }

    /// The provider refused a message because its recipient opted out (replied STOP): they are
    /// unsubscribed from the channel (`SMS Unsubscribed`), so no more are tried.
    fn opted_out(&self, entry: &OutboxEntry, error: &str) {
        let now = self.clock.now();
        let traits: domain::Map = [(SMS_UNSUBSCRIBED.to_owned(), Value::Bool(true))].into_iter().collect();
        let properties: domain::Map = [
            ("phone".to_owned(), entry.payload.to.clone().map_or(Value::Null, Value::String)),
            ("source".to_owned(), Value::String("provider".into())),
            ("reason".to_owned(), Value::String(error.to_owned())),
            ("message_id".to_owned(), Value::from(entry.id.0)),
        ]
        .into_iter()
        .collect();
        let events = vec![
            crate::core::internal_identify(format!("{}-opted-out-traits", entry.key), traits, now),
            crate::core::internal_track(format!("{}-opted-out", entry.key), SMS_UNSUBSCRIBED_EVENT.to_owned(), properties, now),
        ];
        let (reply, _ignored) = tokio::sync::oneshot::channel();
        let command = crate::Command::Ingest { origin: crate::Origin::Internal(entry.profile), events, reply };
        if self.commands.send(command).is_err() {
            tracing::warn!(key = %entry.key, "engine stopped before an SMS opt-out was recorded");
        }
    }

    /// The push provider says these devices are gone (the app was uninstalled): each is a
    /// `Push Token Unregistered` event on the person, which takes it out of their `push_tokens`.
    fn forget_devices(&self, entry: &OutboxEntry, gone: &[String]) {
        if gone.is_empty() {
            return;
        }
        let now = self.clock.now();
        let events = gone
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let properties: domain::Map = [
                    ("token".to_owned(), Value::String(token.clone())),
                    ("message_id".to_owned(), Value::from(entry.id.0)),
                    ("channel".to_owned(), Value::String(deliver::PUSH.into())),
                ]
                .into_iter()
                .collect();
                let name = domain::profile::PUSH_TOKEN_UNREGISTERED.to_owned();
                crate::core::internal_track(format!("{}-gone-{}-{i}", entry.key, entry.attempts), name, properties, now)
            })
            .collect();
        tracing::info!(key = %entry.key, devices = gone.len(), "push devices unregistered; forgetting them");
        let (reply, _ignored) = tokio::sync::oneshot::channel();
        let command = crate::Command::Ingest { origin: crate::Origin::Internal(entry.profile), events, reply };
        if self.commands.send(command).is_err() {
            tracing::warn!(key = %entry.key, "engine stopped before unregistered push devices were forgotten");
        }
    }

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

/// One Liquid part rendered for a person, trimmed; a failure is permanent, named by `what`.
fn render_part(renderer: &deliver::Renderer, what: &str, src: &str, ctx: &Value) -> Result<String, deliver::Error> {
    renderer.render(src, ctx).map(|s| s.trim().to_owned()).map_err(|e| deliver::Error::Permanent(format!("{what}: {e}")))
}

/// A template's in-app message rendered for a person: each text part, trimmed.
fn render_in_app(
    renderer: &deliver::Renderer,
    template: &TemplateId,
    source: &store::InAppContent,
    ctx: &Value,
) -> Result<store::InAppContent, deliver::Error> {
    let part = |name: &str, src: &str| render_part(renderer, &format!("template {:?}, in-app {name}", template.0), src, ctx);
    let rendered = store::InAppContent {
        placement: source.placement.trim().to_owned(),
        layout: source.layout,
        title: part("title", &source.title)?,
        body: part("body", &source.body)?,
        button: part("button", &source.button)?,
        link: part("link", &source.link)?,
        image: part("image", &source.image)?,
    };
    if !rendered.is_set() {
        return Err(deliver::Error::Permanent(format!("template {:?} has no in-app title or body", template.0)));
    }
    Ok(rendered)
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
        let h = Handoff::new(&["webhook", "email"]);
        let (a, b) = (vec![entry(1), entry(2)], vec![entry(3)]);
        h.reserve(&a);
        h.reserve(&b);
        assert!(h.take("webhook", 10).is_empty(), "nothing is sent before its commit");
        assert!(h.is_reserved(OutboxId(1)) && h.is_reserved(OutboxId(3)), "a read of the outbox skips them");
        h.abandon(&b);
        assert!(!h.is_reserved(OutboxId(3)), "a failed commit's entries do not exist");
        h.committed(a);
        assert!(h.take("email", 10).is_empty(), "each channel takes its own");
        assert_eq!(h.take("webhook", 1).iter().map(|e| e.id.0).collect::<Vec<_>>(), [1]);
        assert_eq!(h.take("webhook", 10).iter().map(|e| e.id.0).collect::<Vec<_>>(), [2]);
        assert!(h.is_reserved(OutboxId(2)), "still reserved while being sent");
        h.release(OutboxId(2));
        assert!(!h.is_reserved(OutboxId(2)) && h.is_reserved(OutboxId(1)));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_less_a_jitter_of_up_to_half() {
        let p = RetryPolicy { base: Duration::seconds(30), cap: Duration::minutes(5), max_attempts: 8 };
        let full = [30, 60, 120, 240, 300, 300];
        for key in ["a", "b", "r1:2:0"] {
            for (n, full) in full.iter().enumerate() {
                let d = p.delay(n as i64, key).as_millis();
                assert!((full * 500..=full * 1000).contains(&d), "attempt {n} of {key}: {d} ms, backoff {full} s");
                assert_eq!(p.delay(n as i64, key), Duration::millis(d), "the same for the same key and attempt");
            }
        }
        // Messages that failed together are retried spread over the window, not at once.
        let delays: HashSet<i64> = (0..100).map(|k| p.delay(3, &format!("r{k}:1:0")).as_millis() / 10_000).collect();
        assert!(delays.len() >= 10, "spread over the 2-4 min window in 10 s slots: {delays:?}");
    }
}
