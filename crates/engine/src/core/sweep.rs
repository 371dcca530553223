//! Schedule and date entries: a pass over every profile when one is due.

use std::collections::HashMap;
use std::sync::Arc;

use domain::condition::Condition;
use domain::ids::ProfileId;
use domain::journey::{Context, Effect, Input, Journey, RunStatus, Trigger, step};
use domain::time::Timestamp;
use store::Tx;

use super::step::{Moved, Outcome, RunRef};
use super::write::write;
use super::{Core, seed};
use crate::Error;

/// The segment a schedule's audience requires at its top (`{"segment": id}`, or one of an
/// `all`'s items): only its members can be in the audience.
fn audience_segment(j: &Journey) -> Option<domain::ids::SegmentId> {
    let Trigger::Schedule { audience: Some(a), .. } = &j.entry.trigger else { return None };
    match a {
        Condition::Segment(id) => Some(id.clone()),
        Condition::All(items) => items.iter().find_map(|c| if let Condition::Segment(id) = c { Some(id.clone()) } else { None }),
        _ => None,
    }
}

/// Date entries are swept every quarter hour (every zone's offset is a multiple of it).
const QUARTER: i64 = 15 * 60_000;

impl Core {
    /// The next time a schedule or date-entry journey must be swept.
    pub(super) fn next_sweep(&self) -> Option<Timestamp> {
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
    pub(super) fn sweep(&mut self, tx: &mut dyn Tx, now: Timestamp) -> Result<(), Error> {
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
            // An audience that needs a segment goes over its members, not over everyone.
            let members_of = audience_segment(&j);
            loop {
                let page = match &members_of {
                    Some(segment) => {
                        let ids = tx.segment_members(segment, after, 500)?;
                        let Some((tail, _)) = ids.last() else { break };
                        after = *tail;
                        let mut page = Vec::with_capacity(ids.len());
                        for (id, _) in ids {
                            page.extend(tx.profile(id)?);
                        }
                        page
                    }
                    None => {
                        let page = tx.profiles_after(after, 500)?;
                        let Some(tail) = page.last() else { break };
                        after = tail.id;
                        page
                    }
                };
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
                    let members: std::collections::BTreeSet<_> =
                        if self.segments.is_empty() { Default::default() } else { tx.memberships(profile.id)?.into_iter().collect() };
                    let ctx = Context {
                        traits: &profile.traits,
                        history: &history,
                        previous,
                        entries,
                        render: crate::templates::templates(),
                        segments: &members,
                    };
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
                    let moved = Moved { run: RunRef::New(0), before: None, transition: t, traits: p.traits.clone(), updates };
                    // What the core remembered of this person is out of date now.
                    self.hot.take(&p.id);
                    let outcome = Outcome {
                        profile: p,
                        profile_changed: changed,
                        counters: HashMap::new(),
                        runs: Vec::new(),
                        moves: vec![moved],
                        segments: super::step::Membership::default(),
                        segment_changes: Vec::new(),
                        internal_events: Vec::new(),
                        stage_moves: Vec::new(),
                        check_changed: false,
                    };
                    write(tx, outcome, now, &mut self.fresh, &mut self.nodes)?;
                }
            }
            tx.set_setting(&format!("sweep:{}", j.id), &now.0.to_string())?;
            self.run_counts.remove(&j.id);
            self.swept.push((j.id.clone(), now));
            tracing::info!(journey = %j.id, entered, "swept");
        }
        Ok(())
    }
}
