//! Why a person has no run of a journey: the answer the profile view gives, and the verdict on
//! each entry event a backtest replays (`entry_verdict`), from the same checks.

use domain::Map;
use domain::event::Event;
use domain::ids::ProfileId;
use domain::journey::{Context, EventMatch, Input, Journey, Reentry, Run, RunStatus, Trigger, step};
use domain::time::{Duration, Timestamp};
use serde_json::Value;
use store::Tx;

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
    let ctx = Context { traits: &traits, history: &history, previous: previous.as_ref(), entries, render: crate::templates::templates() };
    Ok(match &j.entry.trigger {
        Trigger::Api => "the journey is entered by API call only, and none was made for this person".to_owned(),
        Trigger::Schedule { cron, timezone, audience } => {
            let mut seen = Vec::new();
            let matches = audience.as_ref().is_none_or(|a| {
                a.eval(&domain::condition::Facts { traits: &traits, properties: None, history: &[], clock: None, run: None }, &mut seen)
            });
            let next = cron.next_after(now, timezone).map_or("never".to_owned(), |t| t.to_string());
            if matches {
                format!("it enters its audience on schedule {cron:?} ({timezone}); next at {next}")
            } else {
                format!("the person is not in the audience: {}; next schedule at {next}", seen.join("; "))
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
                            t.trace.first().map_or("", String::as_str)
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
    let facts = domain::condition::Facts { traits, properties: Some(&props), history, clock: clock.as_ref(), run: None };
    (!f.eval(&facts, &mut seen)).then_some(seen)
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
    };
    if step(j, version, None, Input::Event(event), &ctx, now, 0).is_some() {
        return Ok(Verdict::Enters);
    }
    if let Some(seen) = filter_comparisons(j, m, event, &p.traits, &p.history, now) {
        return Ok(Verdict::Filtered(seen));
    }
    Ok(blocked(j, p.previous.as_ref(), p.entries, now).map_or(Verdict::NotAnEntry, Verdict::Blocked))
}
