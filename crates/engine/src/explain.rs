//! Why a person has no run of a journey: the answer the profile view gives (a sentence about
//! now, and what each of their recent entry events did, `recent_entries`), and the verdict on
//! each entry event a backtest replays (`entry_verdict`), from the same checks.

use std::collections::HashMap;

use domain::Map;
use domain::condition::{Condition, Operand, Ref, Subject};
use domain::event::Event;
use domain::ids::{EventSeq, MessageId, ProfileId, RunId};
use domain::journey::{Channel, Context, EventMatch, Input, Journey, Reentry, Run, RunStatus, Trigger, step};
use domain::time::{Duration, Timestamp};
use serde_json::Value;
use store::{RunRecord, StoredEvent, Tx};

use crate::Error;

/// Explains, in a sentence with the values seen, why `profile` is not in `journey` now.
/// `state` is the journey's state (`active`, `paused`, `stopped`); `published_at` when the
/// live version was published.
pub fn why_not_entered(
    tx: &mut dyn Tx,
    j: &Journey,
    version: i64,
    state: &str,
    published_at: Timestamp,
    profile: ProfileId,
    now: Timestamp,
) -> Result<String, Error> {
    if state != "active" {
        return Ok(format!("the journey is {state}: it takes no new entries"));
    }
    let Person { traits, history, entries, previous } = person(tx, j, profile, now)?;
    // The journey-wide limit first: it answers for everyone.
    if let Some(limit) = j.entry.limit.filter(|l| entries >= *l) {
        return Ok(Blocked::Limit(limit).to_string());
    }
    if let Some(why) = blocked(j, previous.as_ref(), entries, now) {
        return Ok(why.to_string());
    }
    let ctx = Context {
        traits: &traits,
        history: &history,
        previous: previous.as_ref(),
        entries,
        render: crate::templates::templates(),
        segments: &domain::condition::NO_SEGMENTS,
    };
    Ok(match &j.entry.trigger {
        Trigger::Api => "the journey is entered by API call only, and none was made for this person".to_owned(),
        Trigger::Schedule { cron, timezone, audience } => {
            let mut seen = Vec::new();
            let matches = audience.as_ref().is_none_or(|a| {
                a.eval(
                    &domain::condition::Facts {
                        traits: &traits,
                        properties: None,
                        history: &[],
                        clock: None,
                        run: None,
                        segments: &domain::condition::NO_SEGMENTS,
                    },
                    &mut seen,
                )
            });
            let next = cron.next_after(now, timezone).map_or("never".to_owned(), |t| t.to_string());
            if matches {
                format!("it enters its audience on schedule {cron:?} ({timezone}); next at {next}")
            } else {
                format!("the person is not in the audience: {}; next schedule at {next}", domain::trace::join(&seen))
            }
        }
        Trigger::Date { name, .. } => match j.date_entry_at(&traits) {
            None => format!("it starts from trait {name}, which the person does not have as a date"),
            Some(at) if at > now => format!("it starts at {at}, from trait {name}"),
            Some(at) => format!("its time from trait {name} ({at}) passed before the journey was published or the trait was set"),
        },
        Trigger::TraitChange { name, to, .. } => {
            let now_value = traits.get(name).map_or("(absent)".to_owned(), |v| v.to_string());
            let target = to.as_ref().map_or(String::new(), |t| format!(" to {t}"));
            format!("it starts when trait {name} changes{target}; no such change since it was published (now {name} = {now_value})")
        }
        Trigger::Event(m) => match tx.last_event(profile, &m.event)? {
            None => format!("the person has no {:?} event", m.event),
            Some(stored) => {
                let e: &Event = &stored.event;
                // Evaluate the entry now, as if that event came again, to show the values.
                match step(j, version, None, Input::Event(e), &ctx, now, 0) {
                    Some(t) if e.received_at < published_at => {
                        format!(
                            "their last {:?} ({}) came before the journey was published ({}); it would enter now: {}",
                            m.event,
                            e.timestamp,
                            published_at,
                            t.trace.first().map_or("", domain::trace::TraceLine::as_str)
                        )
                    }
                    Some(_) => format!("their last {:?} ({}) would enter now; it may have run already and ended", m.event, e.timestamp),
                    None => {
                        let seen = filter_comparisons(j, m, e, &traits, &history, now).unwrap_or_default();
                        format!("the entry filter was false for their last {:?} ({}): {}", m.event, e.timestamp, seen.join("; "))
                    }
                }
            }
        },
    })
}

/// What the engine's entry reads besides the event: the person's traits, the journey's history
/// aggregates, the journey's number of runs and the person's latest run of it.
struct Person {
    traits: Map,
    history: Vec<Value>,
    entries: i64,
    previous: Option<Run>,
}

fn person(tx: &mut dyn Tx, j: &Journey, profile: ProfileId, now: Timestamp) -> Result<Person, Error> {
    let traits = tx.profile(profile)?.map(|p| p.traits).unwrap_or_default();
    let history: Vec<Value> = j
        .history
        .iter()
        .map(|q| {
            let (lo, hi) = domain::aggregate::window(q.within, now);
            Ok(q.evaluate(tx.event_properties(profile, &q.event, lo, hi)?.iter().map(|(_, _, p)| p)))
        })
        .collect::<Result<_, Error>>()?;
    let entries = match j.entry.limit {
        Some(_) => tx.count_runs(&j.id)?,
        None => 0,
    };
    let previous = tx.current_runs(profile)?.into_iter().rev().find(|r| r.run.journey == j.id).map(|r| r.run);
    Ok(Person { traits, history, entries, previous })
}

/// Why an entry whose event and filter match starts no run: the rules the engine's entry
/// applies after the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The person's run of the journey is waiting, and the entry is not `concurrent`.
    Waiting,
    /// Re-entry is `never` and the person had a run.
    ReentryNever,
    /// Re-entry waits `wait` after the previous run began (`previous`).
    ReentryAfter { wait: Duration, previous: Timestamp },
    /// The journey's entry limit is reached.
    Limit(i64),
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocked::Waiting => write!(f, "the person's run is waiting, and the entry is not concurrent"),
            Blocked::ReentryNever => write!(f, "re-entry is \"never\" and the person had a run already"),
            Blocked::ReentryAfter { wait, previous } => write!(f, "re-entry waits {wait} after the previous run began ({previous})"),
            Blocked::Limit(limit) => write!(f, "the journey's entry limit of {limit} runs is reached"),
        }
    }
}

/// The first rule that stops an entry, in the engine's order (`domain::journey::step`).
fn blocked(j: &Journey, previous: Option<&Run>, entries: i64, now: Timestamp) -> Option<Blocked> {
    if let Some(prev) = previous {
        let rule = match j.entry.reentry {
            _ if prev.status == RunStatus::Waiting && !j.entry.concurrent => Some(Blocked::Waiting),
            Reentry::Always => None,
            Reentry::Never => Some(Blocked::ReentryNever),
            Reentry::After(wait) => {
                (now.since(prev.entered_at) < wait).then_some(Blocked::ReentryAfter { wait, previous: prev.entered_at })
            }
        };
        if rule.is_some() {
            return rule;
        }
    }
    j.entry.limit.filter(|l| entries >= *l).map(Blocked::Limit)
}

/// The comparisons of `m`'s filter for `event`, with the values seen, when the filter is
/// false; `None` when it holds (or there is none). The facts are the entry's: the event's
/// properties, the traits, the history aggregates and, for journeys that read it, the clock.
fn filter_comparisons(j: &Journey, m: &EventMatch, event: &Event, traits: &Map, history: &[Value], now: Timestamp) -> Option<Vec<String>> {
    let f = m.filter.as_ref()?;
    let props = event.match_properties();
    let clock = j.reads_clock.then(|| domain::zone::local_clock(now, &domain::zone::person_zone(traits, &j.timezone)));
    let mut seen = Vec::new();
    let facts = domain::condition::Facts {
        traits,
        properties: Some(&props),
        history,
        clock: clock.as_ref(),
        run: None,
        segments: &domain::condition::NO_SEGMENTS,
    };
    (!f.eval(&facts, &mut seen)).then(|| seen.iter().map(ToString::to_string).collect())
}

/// What an event did at entry for a person, judged from their state in `tx` at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It starts a run.
    Enters,
    /// Its name is not the entry's event (or the journey is not entered by events).
    NotAnEntry,
    /// The entry filter is false: every comparison it made, with the values seen.
    Filtered(Vec<String>),
    Blocked(Blocked),
}

/// Whether `event` starts a run of `j` for `profile` at `now`, and if not, why: the same
/// checks as the engine's entry, in its order (the event's name and filter, a waiting run,
/// re-entry, the limit). Backtests ask it about each entry event that started no run.
pub fn entry_verdict(
    tx: &mut dyn Tx,
    j: &Journey,
    version: i64,
    profile: ProfileId,
    event: &Event,
    now: Timestamp,
) -> Result<Verdict, Error> {
    let Trigger::Event(m) = &j.entry.trigger else { return Ok(Verdict::NotAnEntry) };
    if event.match_name() != m.event {
        return Ok(Verdict::NotAnEntry);
    }
    let p = person(tx, j, profile, now)?;
    let ctx = Context {
        traits: &p.traits,
        history: &p.history,
        previous: p.previous.as_ref(),
        entries: p.entries,
        render: crate::templates::templates(),
        segments: &domain::condition::NO_SEGMENTS,
    };
    if step(j, version, None, Input::Event(event), &ctx, now, 0).is_some() {
        return Ok(Verdict::Enters);
    }
    if let Some(seen) = filter_comparisons(j, m, event, &p.traits, &p.history, now) {
        return Ok(Verdict::Filtered(seen));
    }
    Ok(blocked(j, p.previous.as_ref(), p.entries, now).map_or(Verdict::NotAnEntry, Verdict::Blocked))
}

/// How many of a person's latest entry events the profile view judges.
pub const RECENT_ENTRIES: usize = 10;

/// One of a person's recent entry events, and what it did at entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentEntry {
    pub seq: EventSeq,
    pub message_id: MessageId,
    /// The event's time, as sent.
    pub at: Timestamp,
    /// When it was received: the time it is judged at.
    pub received_at: Timestamp,
    /// It came while an earlier version of the journey was live; it is judged by the live
    /// version's rules.
    pub earlier_version: bool,
    pub verdict: EntryVerdict,
}

/// What an entry event did, judged from the store as it was when the event came, where the
/// store keeps that: the runs, the history aggregates and the clock. Traits are only kept as
/// they are now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryVerdict {
    /// A run started from it.
    Entered { run: RunId },
    /// The entry filter was false: every comparison it made, with the values seen. `traits`:
    /// the traits the filter reads, which are as of now; `changed`: those set since the event.
    Filtered { comparisons: Vec<String>, traits: Vec<String>, changed: Vec<String> },
    /// The journey is keyed (`entry.key`) and the event has no usable value there.
    NoKey { key: String },
    /// The person's run `run` (entered at `entered_at`) was waiting and the entry is not
    /// concurrent. `ended_by`: `None` if it is still waiting; else it ended after the event,
    /// at the latest then (its last move).
    Waiting { run: RunId, entered_at: Timestamp, ended_by: Option<Timestamp> },
    /// The re-entry rule: `never` (`wait` is `None`) or `after: wait`, counted from when the
    /// person's previous run `run` began (`entered_at`).
    Reentry { run: RunId, entered_at: Timestamp, wait: Option<Duration> },
    /// The journey's entry limit was reached.
    Limit(i64),
    /// It came before the journey was first published (`published_at`).
    NotLive { published_at: Timestamp },
    /// Its filter holds and, as far as the store shows, nothing stopped it: the journey may
    /// have been paused then.
    Unexplained,
}

impl RecentEntry {
    /// The verdict in a sentence, with the values seen.
    pub fn detail(&self) -> String {
        let note = if self.earlier_version && !matches!(self.verdict, EntryVerdict::Entered { .. } | EntryVerdict::NotLive { .. }) {
            " (it came while an earlier version was live; judged by the live version's rules)"
        } else {
            ""
        };
        format!("{}{note}", self.verdict)
    }
}

impl std::fmt::Display for EntryVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryVerdict::Entered { run } => write!(f, "it started run {run}"),
            EntryVerdict::Filtered { comparisons, traits, changed } => {
                write!(f, "the entry filter was false: {} (evaluated as of the event", comparisons.join("; "))?;
                if !traits.is_empty() {
                    let since = if changed.is_empty() { "none".to_owned() } else { changed.join(", ") };
                    write!(f, "; traits as they are now: {}, of which set since: {since}", traits.join(", "))?;
                }
                write!(f, ")")
            }
            EntryVerdict::NoKey { key } => write!(f, "the journey is keyed by {key:?} and the event has no such property"),
            EntryVerdict::Waiting { run, entered_at, ended_by } => {
                write!(f, "run {run} (entered at {entered_at}) was waiting, and the entry is not concurrent")?;
                match ended_by {
                    None => write!(f, "; it is still waiting"),
                    Some(t) => write!(f, "; it ended later, by {t}"),
                }
            }
            EntryVerdict::Reentry { run, entered_at, wait: None } => {
                write!(f, "re-entry is \"never\" and the person had run {run} (entered at {entered_at})")
            }
            EntryVerdict::Reentry { run, entered_at, wait: Some(wait) } => {
                write!(f, "re-entry waits {wait} after the previous run began: run {run} entered at {entered_at}")
            }
            EntryVerdict::Limit(limit) => write!(f, "the journey's entry limit of {limit} runs was reached"),
            EntryVerdict::NotLive { published_at } => write!(f, "it came before the journey was first published ({published_at})"),
            EntryVerdict::Unexplained => write!(
                f,
                "its filter holds and no waiting run, re-entry rule or limit stopped it as far as the store shows (the journey may have been paused then)"
            ),
        }
    }
}

/// The person's latest `n` events that could enter `j` (live as `version`), newest first,
/// each with what it did at entry: judged as of when it was received, with the history
/// aggregates, the clock and the runs as they were then (the traits as they are now). `None`:
/// the journey is not entered by an event.
pub fn recent_entries(tx: &mut dyn Tx, j: &Journey, version: i64, profile: ProfileId, n: usize) -> Result<Option<Vec<RecentEntry>>, Error> {
    let Trigger::Event(m) = &j.entry.trigger else { return Ok(None) };
    let events = tx.recent_events(profile, &m.event, n)?;
    if events.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let first_published = tx.journey_version(&j.id, 1)?.map(|v| v.published_at);
    let live_since = tx.journey_version(&j.id, version)?.map(|v| v.published_at);
    let stored = tx.profile(profile)?.unwrap_or_else(|| domain::profile::Profile::new(profile));
    let mut runs: Vec<RunRecord> = tx.runs_of(profile)?.into_iter().filter(|r| r.run.journey == j.id).collect();
    runs.sort_by_key(|r| (r.run.entered_at, r.id));
    let claimed = claim(j, &events, &runs);
    let history = History::load(tx, j, profile, &events)?;
    // Everyone's runs, for the limit: read only once it is reached.
    let limited = match j.entry.limit {
        Some(limit) if tx.count_runs(&j.id)? >= limit => {
            Some(Limited { limit, runs: tx.journey_runs(&j.id)?.into_iter().map(|r| (r.id, r.run.entered_at)).collect() })
        }
        _ => None,
    };
    let mut traits_read = std::collections::BTreeSet::new();
    if let Some(f) = &m.filter {
        traits_of(f, &mut traits_read);
    }
    let mut out = Vec::with_capacity(events.len());
    for stored_event in &events {
        let (e, at) = (&stored_event.event, stored_event.event.received_at);
        let verdict = match claimed.get(&stored_event.seq) {
            Some(run) => EntryVerdict::Entered { run: *run },
            None => match first_published {
                Some(published_at) if at < published_at => EntryVerdict::NotLive { published_at },
                _ => {
                    let history = history.as_of(j, stored_event);
                    match filter_comparisons(j, m, e, &stored.traits, &history, at) {
                        Some(comparisons) => {
                            let traits: Vec<String> = traits_read.iter().cloned().collect();
                            let changed = traits.iter().filter(|t| stored.trait_times.get(*t).is_some_and(|w| *w > at)).cloned().collect();
                            EntryVerdict::Filtered { comparisons, traits, changed }
                        }
                        None => after_filter(j, stored_event, &runs, &claimed, limited.as_ref()),
                    }
                }
            },
        };
        out.push(RecentEntry {
            seq: stored_event.seq,
            message_id: e.message_id.clone(),
            at: e.timestamp,
            received_at: at,
            earlier_version: live_since.is_some_and(|t| at < t),
            verdict,
        });
    }
    Ok(Some(out))
}

/// Which of `events` started which of `runs` (sorted by entry): a run is taken to come from
/// the latest event not yet matched that has its trigger's name, properties and key and was
/// received by the time the run began.
fn claim(j: &Journey, events: &[StoredEvent], runs: &[RunRecord]) -> HashMap<EventSeq, RunId> {
    let mut claimed: HashMap<EventSeq, RunId> = HashMap::new();
    for r in runs {
        let from = events
            .iter()
            .filter(|e| !claimed.contains_key(&e.seq) && e.event.received_at <= r.run.entered_at)
            .filter(|e| e.event.match_name() == r.run.trigger_event && *e.event.match_properties() == r.run.trigger)
            .filter(|e| j.input_key(Input::Event(&e.event)) == r.run.key)
            .max_by_key(|e| e.seq);
        if let Some(e) = from {
            claimed.insert(e.seq, r.id);
        }
    }
    claimed
}

/// Why an event whose filter held started no run, from the runs as they were when it came:
/// the rules the engine's entry applies after the filter, in its order. A run that has ended
/// but moved after the event may have been waiting then; it is named only when no other rule
/// explains the event.
fn after_filter(
    j: &Journey,
    event: &StoredEvent,
    runs: &[RunRecord],
    claimed: &HashMap<EventSeq, RunId>,
    limited: Option<&Limited>,
) -> EntryVerdict {
    let at = event.event.received_at;
    let key = j.input_key(Input::Event(&event.event));
    if let (Some(path), None) = (&j.entry.key, &key) {
        return EntryVerdict::NoKey { key: path.clone() };
    }
    // The runs begun before this event: from an earlier event, or from one older than those
    // judged, by the time it was received.
    let started_from: HashMap<RunId, EventSeq> = claimed.iter().map(|(seq, run)| (*run, *seq)).collect();
    let before = |r: &&RunRecord| match started_from.get(&r.id) {
        Some(seq) => *seq < event.seq,
        None => r.run.entered_at <= at,
    };
    let earlier: Vec<&RunRecord> = runs.iter().filter(before).filter(|r| r.run.key == key).collect();
    let waiting = |r: &&&RunRecord| !j.entry.concurrent && r.run.status == RunStatus::Waiting;
    if let Some(r) = earlier.iter().find(waiting) {
        return EntryVerdict::Waiting { run: r.id, entered_at: r.run.entered_at, ended_by: None };
    }
    if let Some(prev) = earlier.last() {
        let wait = match j.entry.reentry {
            Reentry::Always => None,
            Reentry::Never => Some(None),
            Reentry::After(wait) => (at.since(prev.run.entered_at) < wait).then_some(Some(wait)),
        };
        if let Some(wait) = wait {
            return EntryVerdict::Reentry { run: prev.id, entered_at: prev.run.entered_at, wait };
        }
    }
    if let Some(Limited { limit, runs }) = limited {
        // Everyone's runs begun by then (this person's from a later event excepted).
        let later: Vec<RunId> = claimed.iter().filter(|(seq, _)| **seq > event.seq).map(|(_, run)| *run).collect();
        let entries = runs.iter().filter(|(id, entered_at)| *entered_at <= at && !later.contains(id)).count();
        if i64::try_from(entries).unwrap_or(i64::MAX) >= *limit {
            return EntryVerdict::Limit(*limit);
        }
    }
    let ended_after = |r: &&&RunRecord| !j.entry.concurrent && r.run.updated_at > at;
    match earlier.iter().rev().find(ended_after) {
        Some(r) => EntryVerdict::Waiting { run: r.id, entered_at: r.run.entered_at, ended_by: Some(r.run.updated_at) },
        None => EntryVerdict::Unexplained,
    }
}

/// A journey whose entry limit is reached now: the limit, and when each of its runs began.
struct Limited {
    limit: i64,
    runs: Vec<(RunId, Timestamp)>,
}

/// The events each of the journey's history queries reads, fetched once for every event
/// judged, to aggregate as of each.
struct History(Vec<Vec<(EventSeq, Timestamp, Map)>>);

impl History {
    fn load(tx: &mut dyn Tx, j: &Journey, profile: ProfileId, events: &[StoredEvent]) -> Result<History, Error> {
        let times = events.iter().map(|e| e.event.received_at);
        let (Some(first), Some(last)) = (times.clone().min(), times.max()) else { return Ok(History(Vec::new())) };
        j.history
            .iter()
            .map(|q| {
                let (lo, _) = domain::aggregate::window(q.within, first);
                let (_, hi) = domain::aggregate::window(q.within, last);
                Ok(tx.event_properties(profile, &q.event, lo, hi)?)
            })
            .collect::<Result<_, Error>>()
            .map(History)
    }

    /// The history aggregates when `event` was stepped: its window then, and the events
    /// logged by then (the event itself counts, as in the engine).
    fn as_of(&self, j: &Journey, event: &StoredEvent) -> Vec<Value> {
        j.history
            .iter()
            .zip(&self.0)
            .map(|(q, rows)| {
                let (lo, hi) = domain::aggregate::window(q.within, event.event.received_at);
                q.evaluate(rows.iter().filter(|(seq, ts, _)| *seq <= event.seq && lo <= *ts && *ts <= hi).map(|(_, _, p)| p))
            })
            .collect()
    }
}

/// The traits (their top-level names) a condition reads; history and clock comparisons read
/// none.
fn traits_of(c: &Condition, out: &mut std::collections::BTreeSet<String>) {
    let top = |path: &str| path.split('.').next().unwrap_or(path).to_owned();
    match c {
        Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| traits_of(c, out)),
        Condition::Not(c) => traits_of(c, out),
        Condition::Compare { subject, value, .. } => {
            if let Subject::Trait(p) = subject {
                out.insert(top(p));
            }
            if let Operand::Ref(Ref::Trait(p)) = value {
                out.insert(top(p));
            }
        }
        Condition::Reachable(Channel::Email) => {
            out.insert("email".to_owned());
        }
        _ => {}
    }
}
