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
use domain::ids::{EventSeq, Identity, JourneyId, ProfileId, RunId, SourceId};
use domain::journey::{Context, Effect, Input, Journey, Run, RunStatus, Transition, step};
use domain::profile::Profile;
use domain::time::Timestamp;
use serde_json::json;
use store::{NewOutbox, Store, TraceRecord, Tx};
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
                Err(e) => Err(Error::Timers(e.to_string())),
            });
        }
        self.outbox_ready.notify_one();
    }

    /// One transaction: the log and identity in order (phase 1), each person's state loaded
    /// (phase 2), each person's inputs stepped in order, people in parallel (phase 3, pure),
    /// and every resulting write (phase 4). Then commit.
    fn commit(&mut self, now: Timestamp, batch: &[(&SourceId, &[Event])]) -> Result<Vec<IngestReport>, Error> {
        let store = self.store.clone();
        let mut tx = store.write()?;
        let due = tx.due_runs(now, self.options.max_batch_timers)?;
        let timers_full = due.len() >= self.options.max_batch_timers;
        let mut work: Vec<(ProfileId, Work<'_>)> = Vec::new();
        for record in due {
            work.push((record.profile, Work::Timer(record.id)));
        }
        let mut reports = Vec::with_capacity(batch.len());
        let mut first_new: Option<EventSeq> = None;
        for (source, events) in batch {
            let mut report = IngestReport::default();
            for event in *events {
                match tx.insert_event(source, event)? {
                    Some(seq) => {
                        report.accepted += 1;
                        first_new.get_or_insert(seq);
                        let profile = self.resolve(&mut *tx, event, now)?;
                        tx.set_event_profile(seq, profile)?;
                        work.push((profile, Work::Event { seq, event }));
                    }
                    None => report.duplicates += 1,
                }
            }
            reports.push(report);
        }
        // Timers fire before the batch's events: they see only events logged before it.
        let timer_horizon = first_new.map_or(EventSeq(i64::MAX), |s| EventSeq(s.0 - 1));
        let people = self.load(&mut *tx, work, now, timer_horizon)?;
        let outcomes = {
            let (live, versions) = (&self.live, &self.versions);
            parallel_map(people, |p| compute(p, live, versions, now))
        };
        for outcome in outcomes {
            write(&mut *tx, outcome, now)?;
        }
        let next = tx.next_wake()?;
        tx.commit()?;
        self.next_wake = if timers_full { Some(now) } else { next };
        Ok(reports)
    }

    /// Groups the work by person (merges may have joined people since) and loads what
    /// stepping them needs: profile, waiting runs, journey versions, history windows.
    fn load<'e>(
        &mut self,
        tx: &mut dyn Tx,
        work: Vec<(ProfileId, Work<'e>)>,
        now: Timestamp,
        timer_horizon: EventSeq,
    ) -> Result<Vec<Person<'e>>, Error> {
        let mut people: Vec<Person<'e>> = Vec::new();
        let mut index: HashMap<ProfileId, usize> = HashMap::new();
        for (profile, item) in work {
            let id = tx.canonical(profile)?.unwrap_or(profile);
            let i = match index.get(&id) {
                Some(i) => *i,
                None => {
                    let profile = tx.profile(id)?.unwrap_or_else(|| Profile::new(id));
                    let runs = tx
                        .runs_of(id)?
                        .into_iter()
                        .filter(|r| r.run.status == RunStatus::Waiting)
                        .map(|r| (RunRef::Stored(r.id), r.run))
                        .collect();
                    people.push(Person { profile, runs, work: Vec::new(), history: HashMap::new(), timer_horizon });
                    index.insert(id, people.len() - 1);
                    people.len() - 1
                }
            };
            people[i].work.push(item);
        }
        for person in &mut people {
            let mut journeys: Vec<(JourneyId, i64)> = person.runs.iter().map(|(_, r)| (r.journey.clone(), r.version)).collect();
            let names: Vec<&str> = person
                .work
                .iter()
                .filter_map(|w| if let Work::Event { event, .. } = w { Some(event.match_name()) } else { None })
                .collect();
            journeys.extend(self.live.iter().filter(|(j, _)| names.contains(&j.entry.event.as_str())).map(|(j, v)| (j.id.clone(), *v)));
            for (id, version) in journeys {
                let Some(j) = self.version(tx, &id, version)? else { continue };
                for q in &j.history {
                    let key = (q.event.clone(), q.within.as_millis());
                    if !person.history.contains_key(&key) {
                        let events = tx.event_properties(person.profile.id, &q.event, now.minus(q.within), now)?;
                        person.history.insert(key, events);
                    }
                }
            }
        }
        Ok(people)
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
}

/// Something that happens to a person within a batch.
enum Work<'e> {
    Timer(RunId),
    Event { seq: EventSeq, event: &'e Event },
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
    /// Waiting runs (and, as the batch goes on, the ones it moved or started).
    runs: Vec<(RunRef, Run)>,
    work: Vec<Work<'e>>,
    /// Events in each history window, by (event name, window): log position, properties.
    history: HashMap<(String, i64), Vec<(EventSeq, domain::Map)>>,
    timer_horizon: EventSeq,
}

/// A transition to write, with the traits templates see.
struct Moved {
    run: RunRef,
    transition: Transition,
    traits: domain::Map,
}

struct Outcome {
    profile_id: ProfileId,
    /// The profile, when its traits changed.
    profile: Option<Profile>,
    moves: Vec<Moved>,
}

fn history_counts(person: &Person<'_>, j: &Journey, horizon: EventSeq) -> Vec<i64> {
    j.history
        .iter()
        .map(|q| {
            let events = person.history.get(&(q.event.clone(), q.within.as_millis())).map_or(&[][..], Vec::as_slice);
            q.count(events.iter().filter(|(seq, _)| *seq <= horizon).map(|(_, props)| props))
        })
        .collect()
}

/// Steps one person's inputs in order. Pure: reads only what `load` gathered.
fn compute(mut p: Person<'_>, live: &[(Arc<Journey>, i64)], versions: &HashMap<(JourneyId, i64), Arc<Journey>>, now: Timestamp) -> Outcome {
    let mut moves = Vec::new();
    let mut changed = false;
    let mut started = 0;
    let work = std::mem::take(&mut p.work);
    for item in &work {
        match item {
            Work::Timer(id) => {
                let Some(i) = p.runs.iter().position(|(r, run)| *r == RunRef::Stored(*id) && run.status == RunStatus::Waiting) else {
                    continue;
                };
                let run = &p.runs[i].1;
                let transition = versions
                    .get(&(run.journey.clone(), run.version))
                    .and_then(|j| {
                        let history = history_counts(&p, j, p.timer_horizon);
                        let ctx = Context { traits: &p.profile.traits, history: &history };
                        step(j, run.version, Some(run), Input::Timer, &ctx, now, seed(p.profile.id, &j.id))
                    })
                    // A timer must never fire forever: a run the journey cannot move ends, with a reason.
                    .unwrap_or_else(|| stuck(run, now));
                p.runs[i].1 = transition.run.clone();
                moves.push(Moved { run: RunRef::Stored(*id), transition, traits: p.profile.traits.clone() });
            }
            Work::Event { seq, event } => {
                if event.kind == Kind::Identify && p.profile.apply_traits(&event.traits, event.timestamp) {
                    changed = true;
                }
                let was_in: Vec<JourneyId> =
                    p.runs.iter().filter(|(_, r)| r.status == RunStatus::Waiting).map(|(_, r)| r.journey.clone()).collect();
                // Runs in progress see the event first (exits, wait_for), on their own version.
                for i in 0..p.runs.len() {
                    let run = &p.runs[i].1;
                    if run.status != RunStatus::Waiting {
                        continue;
                    }
                    let Some(j) = versions.get(&(run.journey.clone(), run.version)) else { continue };
                    let history = history_counts(&p, j, *seq);
                    let ctx = Context { traits: &p.profile.traits, history: &history };
                    if let Some(t) = step(j, run.version, Some(run), Input::Event(event), &ctx, now, seed(p.profile.id, &j.id)) {
                        p.runs[i].1 = t.run.clone();
                        moves.push(Moved { run: p.runs[i].0, transition: t, traits: p.profile.traits.clone() });
                    }
                }
                // Then entries into journeys the person was not in.
                for (j, version) in live {
                    if j.entry.event != event.match_name() || was_in.contains(&j.id) {
                        continue;
                    }
                    let history = history_counts(&p, j, *seq);
                    let ctx = Context { traits: &p.profile.traits, history: &history };
                    if let Some(t) = step(j, *version, None, Input::Event(event), &ctx, now, seed(p.profile.id, &j.id)) {
                        let r = RunRef::New(started);
                        started += 1;
                        p.runs.push((r, t.run.clone()));
                        moves.push(Moved { run: r, transition: t, traits: p.profile.traits.clone() });
                    }
                }
            }
        }
    }
    Outcome { profile_id: p.profile.id, profile: changed.then_some(p.profile), moves }
}

/// Runs `f` over `items` on up to as many threads as the machine has cores, keeping order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
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

/// Writes one person's outcome: profile, then each transition's run state (with its timer),
/// trace and outbox entries, all in `tx`.
fn write(tx: &mut dyn Tx, outcome: Outcome, now: Timestamp) -> Result<(), Error> {
    if let Some(profile) = &outcome.profile {
        tx.save_profile(profile, now)?;
    }
    let mut started: Vec<RunId> = Vec::new();
    for Moved { run, transition: t, traits } in outcome.moves {
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
                    let id = tx.insert_run(outcome.profile_id, &t.run)?;
                    started.push(id);
                    id
                }
            },
        };
        tx.add_trace(&TraceRecord { run: run_id, seq: t.run.seq, at: now, lines: t.trace })?;
        for (i, effect) in t.effects.iter().enumerate() {
            let channel = match effect {
                Effect::Send { .. } => "email",
                Effect::Webhook { .. } => "webhook",
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
                    "profile_id": outcome.profile_id,
                },
            });
            let key = format!("run-{run_id}-{}-{i}", t.run.seq);
            tx.enqueue(
                &NewOutbox { key, profile: outcome.profile_id, run: Some(run_id), channel: channel.into(), payload, due: now },
                now,
            )?;
        }
    }
    Ok(())
}
