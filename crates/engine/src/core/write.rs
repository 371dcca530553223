//! Phase 4: every transition written in the batch's transaction.

use std::collections::HashMap;

use domain::event::{Event, Kind};
use domain::ids::{RunId, SourceId};
use domain::journey::{Effect, Run, RunStatus};
use domain::time::Timestamp;
use serde_json::json;
use store::{MessageStage, Messages, NewOutbox, NodeDeltas, OutboxEntry, OutboxPayload, OutboxStatus, TemplateContext, TraceRecord, Tx};

use super::Hot;
use super::identity::INTERNAL_SOURCE;
use super::step::{Moved, Outcome, RunRef};
use crate::Error;

/// Writes one person's outcome: profile, counters, then each transition's run state (with
/// its timer), trace and outbox entries, all in `tx`, and adds what each transition changes
/// in the per-node counts to `nodes` (written once for the whole transaction, before its
/// commit). Returns the person's state as written.
pub(super) fn write(
    tx: &mut dyn Tx,
    outcome: Outcome,
    now: Timestamp,
    outbox: &mut Vec<OutboxEntry>,
    nodes: &mut NodeDeltas,
) -> Result<Hot, Error> {
    let Outcome {
        profile,
        profile_changed,
        mut counters,
        runs,
        moves,
        segments,
        segment_changes,
        internal_events,
        stage_moves,
        check_changed,
    } = outcome;
    let profile_id = profile.id;
    if profile_changed {
        tx.save_profile(&profile, now)?;
    }
    // Segments entered and left: members, hourly counts, and their events on the timeline
    // (after the batch's own events).
    if !segment_changes.is_empty() {
        tx.change_memberships(&segment_changes)?;
    }
    for event in &internal_events {
        tx.insert_event(&SourceId(INTERNAL_SOURCE.into()), event, Some(profile_id))?;
    }
    if !stage_moves.is_empty() {
        tx.record_stage_moves(&stage_moves)?;
    }
    if check_changed {
        tx.set_segment_check(profile_id, segments.check_at)?;
    }
    for (key, slot) in counters.iter_mut().filter(|(_, slot)| slot.dirty) {
        let state = serde_json::to_string(&slot.counter).map_err(|e| store::Error::Corrupt(e.to_string()))?;
        tx.save_counter(profile_id, key, &state)?;
        slot.dirty = false;
    }
    let mut started: Vec<RunId> = Vec::new();
    for Moved { run, before, transition: t, traits, updates } in moves {
        super::tally::transition(nodes, before.as_ref(), &t, now);
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
                    let id = tx.insert_run(profile_id, &t.run)?;
                    started.push(id);
                    id
                }
            },
        };
        // A conversion counts for every message the run was sent before it.
        if super::tally::converts(before.as_ref(), &t) {
            tx.reach(Messages::SentInRun(run_id), MessageStage::Converted)?;
        }
        tx.add_trace(&TraceRecord { run: run_id, seq: t.run.seq, at: now, lines: t.trace })?;
        // Trait changes made by `update` steps are events on the person's timeline.
        for (i, changes) in updates.into_iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            let event = Event {
                kind: Kind::Track,
                message_id: domain::ids::MessageId(format!("run-{run_id}-{}-update-{i}", t.run.seq)),
                user_id: None,
                anonymous_id: None,
                previous_id: None,
                group_id: None,
                name: Some("Traits Updated".into()),
                properties: [("journey".to_owned(), json!(t.run.journey)), ("run_id".to_owned(), json!(run_id))].into_iter().collect(),
                traits: changes,
                context: domain::Map::new(),
                timestamp: now,
                received_at: now,
            };
            tx.insert_event(&SourceId(INTERNAL_SOURCE.into()), &event, Some(profile_id))?;
        }
        for (i, effect) in t.effects.iter().enumerate() {
            let (channel, to) = match effect {
                Effect::Send { channel, .. } => (channel.as_str(), channel.address(&traits)),
                Effect::Webhook { .. } => (deliver::WEBHOOK, None),
                Effect::Task { .. } => (deliver::TASK, None),
                Effect::Update { .. } => continue,
            };
            let payload = OutboxPayload {
                v: 1,
                effect: effect.clone(),
                to,
                context: TemplateContext {
                    traits: traits.clone(),
                    event: t.run.trigger.clone(),
                    event_name: t.run.trigger_event.clone(),
                    journey: t.run.journey.clone(),
                    profile_id,
                    run: t.run.vars.clone(),
                },
            };
            let key = format!("run-{run_id}-{}-{i}", t.run.seq);
            let entry = NewOutbox { key, profile: profile_id, run: Some(run_id), channel: channel.into(), payload, due: now };
            let id = tx.enqueue(&entry, now)?;
            outbox.push(OutboxEntry {
                id,
                key: entry.key,
                profile: entry.profile,
                run: entry.run,
                channel: entry.channel,
                payload: entry.payload,
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_at: entry.due,
                last_error: None,
                result: None,
                created_at: now,
                updated_at: now,
            });
        }
    }
    let mut runs: Vec<(RunId, Run)> = runs
        .into_iter()
        .filter_map(|(r, run)| match r {
            RunRef::Stored(id) => Some((id, run)),
            RunRef::New(i) => started.get(i).map(|id| (*id, run)),
        })
        .collect();
    runs.sort_by_key(|(id, _)| *id);
    // The latest run of each journey and key, by id (runs are sorted): what re-entry reads.
    let latest: std::collections::HashSet<RunId> =
        runs.iter().map(|(id, run)| ((&run.journey, run.key.as_deref()), *id)).collect::<HashMap<_, _>>().into_values().collect();
    runs.retain(|(id, run)| run.status == RunStatus::Waiting || latest.contains(id));
    Ok(Hot { profile, runs, counters, segments })
}
