//! Why a person has no run of a journey: the answer the profile view gives.

use domain::event::Event;
use domain::ids::ProfileId;
use domain::journey::{Context, Input, Journey, Reentry, Trigger, step};
use domain::time::Timestamp;
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
    let traits = tx.profile(profile)?.map(|p| p.traits).unwrap_or_default();
    let history: Vec<serde_json::Value> = j
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
    if let Some(limit) = j.entry.limit.filter(|l| entries >= *l) {
        return Ok(format!("the journey's entry limit of {limit} runs is reached"));
    }
    let previous = tx.current_runs(profile)?.into_iter().rev().find(|r| r.run.journey == j.id).map(|r| r.run);
    if let Some(prev) = &previous {
        let rule = match j.entry.reentry {
            Reentry::Never => Some("re-entry is \"never\" and the person had a run already".to_owned()),
            Reentry::After(d) if now.since(prev.entered_at) < d => {
                Some(format!("re-entry waits {d} after the previous run began ({})", prev.entered_at))
            }
            _ => None,
        };
        if let Some(rule) = rule {
            return Ok(rule);
        }
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
                        let mut seen = Vec::new();
                        if let Some(f) = &m.filter {
                            let props = e.match_properties();
                            f.eval(
                                &domain::condition::Facts {
                                    traits: &traits,
                                    properties: Some(&props),
                                    history: &history,
                                    clock: None,
                                    run: None,
                                },
                                &mut seen,
                            );
                        }
                        format!("the entry filter was false for their last {:?} ({}): {}", m.event, e.timestamp, seen.join("; "))
                    }
                }
            }
        },
    })
}
