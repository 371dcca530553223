//! Phase 3: each person's inputs stepped in order through `domain::journey::step`, people in parallel.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use domain::aggregate::Counter;
use domain::computed::ComputedTrait;
use domain::condition::HistoryQuery;
use domain::event::{Event, Kind};
use domain::ids::{EventSeq, JourneyId, ProfileId, RunId, SegmentId};
use domain::journey::{Context, Effect, Input, Journey, Run, RunStatus, Transition, step};
use domain::lifecycle::{self, Lifecycle};
use domain::profile::Profile;
use domain::segment::{self, Segment};
use domain::time::Timestamp;
use domain::trace::{TraceKind, TraceLine};

use store::DeadInput;

use super::seed;

/// Something that happens to a person within a batch.
pub(super) enum Work<'e> {
    Timer(RunId),
    Event {
        seq: EventSeq,
        event: &'e Event,
        /// Replayed from a dead letter: history counted it when it was logged.
        replay: bool,
    },
    /// The admin API enters the person into a journey.
    Api {
        journey: JourneyId,
        payload: &'e domain::Map,
    },
    /// What became of a message a run decided (the run may have ended).
    Outcome(crate::outcome::MessageOutcome),
    /// A time edge of the person's segments is due (or a segment is being filled).
    SegmentCheck,
}

/// A person's segments: those they are a member of, and when to evaluate them again.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Membership {
    pub(super) members: BTreeSet<SegmentId>,
    /// The next time edge (spread within its minute), if any.
    pub(super) check_at: Option<Timestamp>,
}

/// The log position a segment event is counted at in the batch (it is logged after the
/// batch's events, so after every one of them).
const UNLOGGED: EventSeq = EventSeq(i64::MAX);

/// At most this many rounds of segment changes follow one input (entering a segment can start
/// a journey whose update changes a trait another segment reads ...).
const MAX_SEGMENT_ROUNDS: usize = 10;

/// A run as the batch knows it: stored already, or started in this batch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum RunRef {
    Stored(RunId),
    New(usize),
}

/// One person's batch: the state as loaded, and their inputs in order.
pub(super) struct Person<'e> {
    pub(super) profile: Profile,
    /// Waiting runs and the latest run of each journey (and, as the batch goes on, the ones
    /// it moved or started).
    pub(super) runs: Vec<(RunRef, Run)>,
    pub(super) work: Vec<Work<'e>>,
    /// The person's history counters this batch reads or keeps, by query key.
    pub(super) counters: HashMap<String, Slot>,
    pub(super) segments: Membership,
}

/// A history counter being kept.
pub(super) struct Slot {
    pub(super) query: HistoryQuery,
    pub(super) counter: Counter,
    pub(super) dirty: bool,
}

/// A transition to write, with the traits templates see.
pub(super) struct Moved {
    pub(super) run: RunRef,
    /// Where the run stood before (`None`: the transition started it), for the per-node counts.
    pub(super) before: Option<super::tally::Before>,
    pub(super) transition: Transition,
    pub(super) traits: domain::Map,
    /// What each `update` effect changed (new values; null: removed), for the event log.
    pub(super) updates: Vec<domain::Map>,
}

/// A person after their batch: the state to remember and what to write.
pub(super) struct Outcome {
    pub(super) profile: Profile,
    pub(super) profile_changed: bool,
    /// Counters (the dirty ones pruned and to be saved), by query key.
    pub(super) counters: HashMap<String, Slot>,
    pub(super) runs: Vec<(RunRef, Run)>,
    pub(super) moves: Vec<Moved>,
    pub(super) segments: Membership,
    /// Segments entered and left, in order, and their events (logged after the batch's).
    pub(super) segment_changes: Vec<store::SegmentChange>,
    pub(super) internal_events: Vec<Event>,
    pub(super) stage_moves: Vec<store::StageMove>,
    /// Whether `segments.check_at` is not what was loaded.
    pub(super) check_changed: bool,
}

/// The values at `now` of `queries` (a journey's, a segment's, a stage's) from the person's
/// counters (none yet: a query's value over nothing).
pub(super) fn history_values(person: &Person<'_>, queries: &[HistoryQuery], now: Timestamp) -> Vec<serde_json::Value> {
    queries
        .iter()
        .map(|q| match person.counters.get(&q.key) {
            Some(slot) => slot.counter.evaluate(q, now),
            None => Counter::default().evaluate(q, now),
        })
        .collect()
}

/// What every person of a batch shares: the journeys, and entry counts for limits.
pub(super) struct Batch<'a> {
    pub(super) live: &'a [(Arc<Journey>, i64)],
    pub(super) versions: &'a HashMap<(JourneyId, i64), Arc<Journey>>,
    pub(super) entries: &'a HashMap<JourneyId, AtomicI64>,
    pub(super) now: Timestamp,
    pub(super) faults: &'a crate::Faults,
    /// Every segment, each after those it tests.
    pub(super) segments: &'a [Arc<Segment>],
    pub(super) computed: &'a [Arc<ComputedTrait>],
    pub(super) lifecycle: &'a Lifecycle,
}

/// One person's batch being stepped.
pub(super) struct Stepping<'p, 'e> {
    pub(super) p: Person<'e>,
    pub(super) b: &'p Batch<'p>,
    pub(super) moves: Vec<Moved>,
    pub(super) changed: bool,
    pub(super) started: usize,
    pub(super) segment_changes: Vec<store::SegmentChange>,
    pub(super) internal_events: Vec<Event>,
    pub(super) stage_moves: Vec<store::StageMove>,
    /// The person's check time as loaded.
    loaded_check: Option<Timestamp>,
    /// A check was due: its time is written again whatever it is (even none).
    checked: bool,
}

/// At most this many trait-change entries follow one input (updates can chain).
pub(super) const MAX_CASCADE: usize = 100;

impl Stepping<'_, '_> {
    fn ctx_step(&self, j: &Journey, version: i64, run: Option<&Run>, input: Input<'_>) -> Option<Transition> {
        let history = history_values(&self.p, &j.history, self.b.now);
        let key = j.input_key(input);
        let previous = self.p.runs.iter().rev().find(|(_, r)| r.journey == j.id && r.key == key).map(|(_, r)| r);
        let entries = self.b.entries.get(&j.id).map_or(0, |n| n.load(Ordering::SeqCst));
        let ctx = Context {
            traits: &self.p.profile.traits,
            history: &history,
            previous,
            entries,
            render: crate::templates::templates(),
            segments: &self.p.segments.members,
        };
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
        let before = match self.p.runs.iter_mut().find(|(r, _)| *r == run) {
            Some(slot) => Some(super::tally::Before::of(&std::mem::replace(&mut slot.1, t.run.clone()))),
            None => {
                self.p.runs.push((run, t.run.clone()));
                None
            }
        };
        self.moves.push(Moved { run, before, transition: t, traits: self.p.profile.traits.clone(), updates });
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

    /// Whether the person has a waiting run (with this key) that keeps them from entering `j` again.
    fn waiting_in(&self, j: &Journey, key: Option<&str>) -> bool {
        !j.entry.concurrent
            && self.p.runs.iter().any(|(_, r)| r.status == RunStatus::Waiting && r.journey == j.id && r.key.as_deref() == key)
    }

    /// Trait changes are inputs too: they may enter journeys with a trait-change entry.
    fn cascade(&mut self, mut changes: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)>) {
        let live = self.b.live;
        let mut steps = 0;
        while let Some((name, from, to)) = changes.pop() {
            for (j, version) in live {
                if j.entry_trait() != Some(name.as_str()) || self.waiting_in(j, None) {
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

    fn outcome(&mut self, o: &crate::outcome::MessageOutcome) {
        let Some((_, run)) = self.p.runs.iter().find(|(r, _)| *r == RunRef::Stored(o.run_id)) else { return };
        let run = run.clone();
        let detail = o.detail();
        let input = Input::Outcome { node: &o.node, delivered: o.delivered(), detail: &detail };
        let Some(t) =
            self.b.versions.get(&(run.journey.clone(), run.version)).and_then(|j| self.ctx_step(j, run.version, Some(&run), input))
        else {
            return;
        };
        let changes = self.record(RunRef::Stored(o.run_id), t);
        self.cascade(changes);
    }

    fn event(&mut self, seq: EventSeq, event: &Event, replay: bool) {
        if self.b.faults.panic_on_event.as_deref() == Some(event.match_name()) {
            panic!("injected failure: stepping {:?}", event.match_name());
        }
        // The event counts in the person's history from now on (conditions it triggers see
        // it). A replayed one counted when it was logged (counters are rebuilt from the log).
        if !replay {
            let props = event.match_properties();
            for slot in self.p.counters.values_mut().filter(|s| s.query.event == event.match_name()) {
                slot.counter.add(&slot.query, seq, event.timestamp, &props);
                slot.dirty = true;
            }
        }
        // Computed traits count it too, before any journey sees it.
        let mut changes = self.computed();
        // An identify's traits, and any call's push device token (`context.device.token`).
        let identify = event.kind == Kind::Identify;
        let device = event.context.contains_key("device") || event.name.as_deref() == Some(domain::profile::PUSH_TOKEN_UNREGISTERED);
        if identify || device {
            let before = self.p.profile.traits.clone();
            let traits = identify && self.p.profile.apply_traits(&event.traits, event.timestamp);
            if (device && self.p.profile.note_device(event)) || traits {
                self.changed = true;
                for (k, v) in &self.p.profile.traits {
                    if before.get(k) != Some(v) {
                        changes.push((k.clone(), before.get(k).cloned(), Some(v.clone())));
                    }
                }
            }
        }
        let was_in: Vec<(RunRef, JourneyId, i64, Option<String>)> = self
            .p
            .runs
            .iter()
            .filter(|(_, r)| r.status == RunStatus::Waiting)
            .map(|(r, run)| (*r, run.journey.clone(), run.version, run.key.clone()))
            .collect();
        // Runs in progress see the event first (exits, goals, wait_for), on their own version.
        for (r, journey, version, _) in &was_in {
            let Some(j) = self.b.versions.get(&(journey.clone(), *version)) else { continue };
            let Some(run) = self.p.runs.iter().find(|(x, _)| x == r).map(|(_, run)| run.clone()) else { continue };
            if let Some(t) = self.ctx_step(j, *version, Some(&run), Input::Event(event)) {
                changes.extend(self.record(*r, t));
            }
        }
        // Then entries into journeys the person was not in (with this key, for keyed ones).
        // An outcome of a message that an outcome-started run sent starts nothing (no loops).
        let may_enter = crate::outcome::MessageOutcome::of(event).is_none_or(|o| o.may_enter());
        for (j, version) in self.b.live.iter().filter(|_| may_enter) {
            if j.entry_event() != Some(event.match_name()) {
                continue;
            }
            let key = j.input_key(Input::Event(event));
            if j.entry.concurrent || !was_in.iter().any(|(_, id, _, k)| *id == j.id && *k == key) {
                changes.extend(self.try_enter(j, *version, Input::Event(event)));
            }
        }
        self.cascade(changes);
    }

    /// The person's lifecycle stage as they are now: a move is written to the `lifecycle_stage`
    /// trait, recorded, and is a `Stage Changed` event journeys see (and a trait change).
    /// Returns whether the stage moved.
    fn stage(&mut self) -> bool {
        let l = self.b.lifecycle;
        let now = self.b.now;
        let history = |s: &lifecycle::Stage| history_values(&self.p, &s.condition.history, now);
        let to = l.stage_of(&self.p.profile.traits, history, &self.p.segments.members).map(|s| s.id.clone());
        let from = self.p.profile.traits.get(lifecycle::STAGE_TRAIT).and_then(serde_json::Value::as_str).map(str::to_owned);
        // With no stages defined, a stage written before stays (nobody is moved out of it).
        if to == from || l.stages.is_empty() {
            return false;
        }
        let before = self.p.profile.traits.get(lifecycle::STAGE_TRAIT).cloned();
        match &to {
            Some(id) => self.p.profile.traits.insert(lifecycle::STAGE_TRAIT.to_owned(), id.clone().into()),
            None => self.p.profile.traits.remove(lifecycle::STAGE_TRAIT),
        };
        self.p.profile.trait_times.insert(lifecycle::STAGE_TRAIT.to_owned(), now);
        self.changed = true;
        let profile = self.p.profile.id;
        self.stage_moves.push(store::StageMove { profile, at: now, from: from.clone(), to: to.clone() });
        let properties: domain::Map = [("from".to_owned(), from.into()), ("to".to_owned(), to.clone().into())].into_iter().collect();
        let message_id = format!("stage-{profile}-{}-{}", now.0, self.internal_events.len());
        let event = super::internal_track(message_id, lifecycle::STAGE_CHANGED.to_owned(), properties, now);
        self.event(UNLOGGED, &event, false);
        self.internal_events.push(event);
        self.cascade(vec![(lifecycle::STAGE_TRAIT.to_owned(), before, to.map(serde_json::Value::from))]);
        true
    }

    /// Writes each computed trait whose value is not what the profile holds (null: removed);
    /// returns the changes, which are trait changes like any other.
    fn computed(&mut self) -> Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> {
        let mut changes = Vec::new();
        for c in self.b.computed {
            let value = c.value(self.p.counters.get(&c.query.key).map(|slot| &slot.counter), self.b.now);
            let now = (!value.is_null()).then_some(value);
            let before = self.p.profile.traits.get(&c.name).cloned();
            if before == now {
                continue;
            }
            match &now {
                Some(v) => self.p.profile.traits.insert(c.name.clone(), v.clone()),
                None => self.p.profile.traits.remove(&c.name),
            };
            self.p.profile.trait_times.insert(c.name.clone(), self.b.now);
            self.changed = true;
            changes.push((c.name.clone(), before, now));
        }
        changes
    }

    /// Evaluates every segment for the person as they are now; each change is recorded and is
    /// an event (`Segment Entered` / `Segment Exited`) that journeys see like any other, which
    /// may change traits and so segments again (a few rounds at most).
    fn segments(&mut self) {
        if self.b.segments.is_empty() && self.p.segments.members.is_empty() {
            return;
        }
        // (Computed traits are current: `input` wrote them before.)
        // Segments deleted since are left without an event (their members went with them).
        self.p.segments.members.retain(|id| self.b.segments.iter().any(|s| s.id == *id));
        for _ in 0..MAX_SEGMENT_ROUNDS {
            let mut changed = Vec::new();
            for s in self.b.segments {
                let history = history_values(&self.p, &s.history, self.b.now);
                let holds = s.holds(&self.p.profile.traits, &history, &self.p.segments.members);
                if holds != self.p.segments.members.contains(&s.id) {
                    if holds {
                        self.p.segments.members.insert(s.id.clone());
                    } else {
                        self.p.segments.members.remove(&s.id);
                    }
                    changed.push((s.clone(), holds));
                }
            }
            if changed.is_empty() {
                return;
            }
            for (s, entered) in changed {
                let profile = self.p.profile.id;
                self.segment_changes.push(store::SegmentChange { segment: s.id.clone(), profile, entered, at: self.b.now });
                let (name, what) = if entered { (segment::ENTERED, "entered") } else { (segment::EXITED, "exited") };
                let message_id = format!("segment-{}-{}-{what}-{}-{}", s.id, profile, self.b.now.0, self.internal_events.len());
                let properties: domain::Map =
                    [("segment".to_owned(), s.id.0.clone().into()), ("name".to_owned(), s.name.clone().into())].into_iter().collect();
                let event = super::internal_track(message_id, name.to_owned(), properties, self.b.now);
                self.event(UNLOGGED, &event, false);
                self.internal_events.push(event);
            }
        }
        tracing::warn!(profile = %self.p.profile.id, "segment changes cut short: more than {MAX_SEGMENT_ROUNDS} rounds after one input");
    }

    fn api(&mut self, journey: &JourneyId, payload: &domain::Map) {
        let Some((j, version)) = self.b.live.iter().find(|(j, _)| j.id == *journey) else { return };
        if self.waiting_in(j, j.input_key(Input::Api { payload }).as_deref()) {
            return;
        }
        let changes = self.try_enter(j, *version, Input::Api { payload });
        self.cascade(changes);
    }
}

/// A person whose stepping panicked (a bug): their inputs of the batch, kept as a dead letter.
pub(super) struct Dead {
    pub(super) profile: ProfileId,
    pub(super) inputs: Vec<DeadInput>,
    pub(super) error: String,
}

impl<'p, 'e> Stepping<'p, 'e> {
    fn new(mut p: Person<'e>, b: &'p Batch<'p>) -> (Stepping<'p, 'e>, Vec<Work<'e>>) {
        let work = std::mem::take(&mut p.work);
        let loaded_check = p.segments.check_at;
        (
            Stepping {
                p,
                b,
                moves: Vec::new(),
                changed: false,
                started: 0,
                segment_changes: Vec::new(),
                internal_events: Vec::new(),
                stage_moves: Vec::new(),
                loaded_check,
                checked: false,
            },
            work,
        )
    }

    /// Steps one input; a panic is caught and returned as the error it carried.
    fn input(&mut self, item: &Work<'_>) -> Result<(), String> {
        let from = self.moves.len();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            match item {
                Work::Timer(id) => self.timer(*id),
                Work::Event { seq, event, replay } => self.event(*seq, event, *replay),
                Work::Api { journey, payload } => self.api(journey, payload),
                Work::Outcome(o) => self.outcome(o),
                Work::SegmentCheck => self.checked = true,
            }
            // A time edge may change computed traits too (an event has written them already).
            let changes = self.computed();
            self.cascade(changes);
            self.segments();
            if self.stage() {
                // Segments may read the stage (the `lifecycle_stage` trait).
                self.segments();
            }
            self.outrank(from);
        }))
        .map_err(|panic| {
            let text = panic.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| panic.downcast_ref::<String>().cloned());
            format!("panicked while stepping: {}", text.unwrap_or_else(|| "(no message)".into()))
        })
    }

    /// Journeys messaging the person on one channel at once (in answer to one input): the
    /// messages of those below the highest priority among them are marked outranked (the
    /// dispatcher does not send them if they are marketing). Equal priorities all go.
    fn outrank(&mut self, from: usize) {
        let mut sends = Vec::new();
        for (i, m) in self.moves.iter().enumerate().skip(from) {
            let Some(j) = self.b.versions.get(&(m.transition.run.journey.clone(), m.transition.run.version)) else { continue };
            for (e, effect) in m.transition.effects.iter().enumerate() {
                if let Effect::Send { channel, .. } = effect {
                    sends.push((i, e, *channel, &j.id, j.priority));
                }
            }
        }
        let mut outranked = Vec::new();
        for &(i, e, channel, journey, priority) in &sends {
            let top = sends.iter().filter(|s| s.2 == channel && s.3 != journey).max_by_key(|s| s.4);
            if let Some(&(_, _, _, winner, top)) = top.filter(|s| s.4 > priority) {
                let why = format!("journey {winner} (priority {top}) messages them on {} at once", channel.as_str());
                outranked.push((i, e, why));
            }
        }
        for (i, e, why) in outranked {
            if let Some(Effect::Send { outranked, .. }) = self.moves.get_mut(i).and_then(|m| m.transition.effects.get_mut(e)) {
                *outranked = Some(why);
            }
        }
    }

    fn finish(mut self) -> Outcome {
        let now = self.b.now;
        for slot in self.p.counters.values_mut().filter(|slot| slot.dirty) {
            slot.counter.prune(slot.query.within, now);
        }
        // The next time edge of any segment (what a new event would change is seen then).
        let counters = &self.p.counters;
        let segments = self.b.segments.iter().filter_map(|s| {
            let cs: Vec<Option<&Counter>> = s.history.iter().map(|q| counters.get(&q.key).map(|slot| &slot.counter)).collect();
            s.next_change(&cs, now)
        });
        let computed = self.b.computed.iter().filter_map(|c| c.next_change(counters.get(&c.query.key).map(|slot| &slot.counter), now));
        let stages = self.b.lifecycle.next_change(|key| counters.get(key).map(|slot| &slot.counter), now);
        self.p.segments.check_at = segments.chain(computed).chain(stages).min().map(|t| segment::check_at(t, self.p.profile.id));
        Outcome {
            profile: self.p.profile,
            profile_changed: self.changed,
            counters: self.p.counters,
            runs: self.p.runs,
            moves: self.moves,
            check_changed: self.checked || self.p.segments.check_at != self.loaded_check,
            segments: self.p.segments,
            segment_changes: self.segment_changes,
            internal_events: self.internal_events,
            stage_moves: self.stage_moves,
        }
    }
}

fn dead(profile: ProfileId, work: &[Work<'_>], error: String) -> Dead {
    let inputs = work
        .iter()
        .filter_map(|w| match w {
            // The time it was due is filled in from the store (`Core::bury`).
            Work::Timer(run) => Some(DeadInput::Timer { run: *run, wake_at: None }),
            Work::Event { seq, .. } => Some(DeadInput::Event { seq: *seq }),
            Work::Api { journey, payload } => Some(DeadInput::Api { journey: journey.clone(), payload: (*payload).clone() }),
            // Its event is kept (above): a replay of that event brings the outcome back.
            Work::Outcome(_) => None,
            // Checked again at the next input (the check time stays).
            Work::SegmentCheck => None,
        })
        .collect();
    tracing::error!(profile = %profile, %error, "stepping a person failed; their inputs are kept as a dead letter");
    Dead { profile, inputs, error }
}

/// Steps one person's inputs in order. Pure but for the shared entry counters: reads only
/// what `load` gathered. A panic drops the person's whole batch (nothing of it is written).
pub(super) fn compute(p: Person<'_>, b: &Batch<'_>) -> Result<Outcome, Dead> {
    let (mut s, work) = Stepping::new(p, b);
    for item in &work {
        if let Err(error) = s.input(item) {
            return Err(dead(s.p.profile.id, &work, error));
        }
    }
    Ok(s.finish())
}

/// Steps everyone's inputs on this thread in the batch's order (`order[i]`: the person of the
/// i-th input), interleaving people: used when an entry limit may run out in this batch, so
/// that who gets the last places depends on the log's order, never on thread scheduling.
pub(super) fn compute_in_order(people: Vec<Person<'_>>, order: &[usize], b: &Batch<'_>) -> Vec<Result<Outcome, Dead>> {
    let mut steppers: Vec<(Stepping<'_, '_>, Vec<Work<'_>>, usize, Option<String>)> = people
        .into_iter()
        .map(|p| {
            let (s, work) = Stepping::new(p, b);
            (s, work, 0, None)
        })
        .collect();
    for &i in order {
        let Some((s, work, next, failed)) = steppers.get_mut(i) else { continue };
        if failed.is_none()
            && let Some(item) = work.get(*next)
            && let Err(error) = s.input(item)
        {
            *failed = Some(error);
        }
        *next += 1;
    }
    steppers
        .into_iter()
        .map(|(s, work, _, failed)| match failed {
            Some(error) => Err(dead(s.p.profile.id, &work, error)),
            None => Ok(s.finish()),
        })
        .collect()
}

/// Runs `f` over `items` on up to as many threads as the machine has cores, keeping order.
pub(super) fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
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

pub(super) fn stuck(run: &Run, now: Timestamp) -> Transition {
    let mut run = run.clone();
    run.status = RunStatus::Exited;
    run.wake_at = None;
    run.exit_reason = Some("timer fired at a step that cannot take it (journey version missing or invalid)".into());
    run.seq += 1;
    run.updated_at = now;
    Transition {
        run,
        entered: false,
        effects: Vec::new(),
        trace: vec![TraceLine::new(None, TraceKind::Exit, "exit: timer could not be handled")],
        visited: Vec::new(),
    }
}
