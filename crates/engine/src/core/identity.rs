//! Phase 1: which person each event is about; merges; the events Wayfarer makes itself.

use domain::event::{Event, Kind};
use domain::identity::{self, Names, Target};
use domain::ids::{Identity, ProfileId, SourceId};
use domain::journey::RunStatus;
use domain::profile::Profile;
use domain::time::Timestamp;
use domain::trace::{TraceKind, TraceLine};
use store::{RefusedMerge, TraceRecord, Tx};

use super::Core;
use crate::Error;

impl Core {
    /// Finds (or creates) the person an event is about, by the rule in `domain::identity`
    /// (a profile holds at most one userId). `None`: the event is a duplicate (same source
    /// and messageId) and must change nothing, so identities are not touched.
    pub(super) fn resolve(
        &mut self,
        tx: &mut dyn Tx,
        source: &SourceId,
        event: &Event,
        now: Timestamp,
    ) -> Result<Option<ProfileId>, Error> {
        let mut found: Vec<(Identity, ProfileId)> = Vec::new();
        for identity in event.identities() {
            if let Some(p) = self.identities.get(&identity) {
                found.push((identity, *p));
            } else if let Some(p) = tx.profile_by_identity(&identity)?
                && let Some(p) = tx.canonical(p)?
            {
                self.remember(&identity, p);
                found.push((identity, p));
            }
        }
        let names = Names {
            kind: event.kind,
            user_id: event.user_id.as_deref(),
            anonymous_id: event.anonymous_id.as_deref(),
            previous_id: event.previous_id.as_deref(),
        };
        let plan = identity::resolve(names, &found, |p| -> Result<Vec<String>, Error> {
            Ok(tx.identities(p)?.into_iter().filter_map(|i| if let Identity::UserId(u) = i { Some(u) } else { None }).collect())
        })?;
        if let Some(p) = plan.unchanged() {
            return Ok(Some(p));
        }
        // A retried old event must not move identities back: duplicates resolve nothing.
        if tx.event_seen(source, &event.message_id)? {
            return Ok(None);
        }
        let profile = match plan.target {
            Target::Existing(p) => p,
            Target::New => tx.create_profile(now)?,
        };
        for loser in plan.merge {
            self.merge(tx, profile, loser, now)?;
        }
        for identity in plan.attach {
            tx.add_identity(&identity, profile)?;
            self.remember(&identity, profile);
        }
        for refusal in plan.refused {
            tracing::info!(profile = %profile, other = %refusal.other, identity = %refusal.identity, "merge refused: two known users");
            tx.add_refused_merge(&RefusedMerge {
                profile,
                other: refusal.other,
                identity: refusal.identity,
                reason: refusal.reason,
                message_id: event.message_id.clone(),
                at: now,
            })?;
        }
        Ok(Some(profile))
    }

    /// Remembers where an identity lives (the cache is cleared on merges and failed commits).
    pub(super) fn remember(&mut self, identity: &Identity, profile: ProfileId) {
        self.identities.insert(identity.clone(), profile);
    }

    fn merge(&mut self, tx: &mut dyn Tx, winner: ProfileId, loser: ProfileId, now: Timestamp) -> Result<(), Error> {
        // Identities move between people: forget where they were, and what both were.
        self.identities.clear();
        self.hot.take(&winner);
        self.hot.take(&loser);
        let mut kept = tx.profile(winner)?.unwrap_or_else(|| Profile::new(winner));
        if let Some(gone) = tx.profile(loser)? {
            kept.absorb(&gone);
        }
        tx.save_profile(&kept, now)?;
        let winner_runs = tx.runs_of(winner)?;
        for mut record in tx.runs_of(loser)? {
            let duplicate = winner_runs.iter().any(|w| w.run.status == RunStatus::Waiting && w.run.journey == record.run.journey);
            if record.run.status == RunStatus::Waiting && duplicate {
                super::tally::ended(&mut self.nodes, &record.run, now);
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
                    lines: vec![TraceLine::new(None, TraceKind::Exit, format!("exit: merged into profile {winner}"))],
                })?;
            }
        }
        tx.merge_profiles(winner, loser, now)?;
        // Their histories joined: counters are rebuilt from the log when next needed.
        tx.delete_counters(winner)?;
        tx.delete_counters(loser)?;
        tracing::info!(%winner, %loser, "profiles merged");
        Ok(())
    }
}

/// The source the events Wayfarer makes itself are logged under (trait updates, webhook
/// responses). Reserved: no source with this id can be created (`is_reserved_source`).
pub(crate) const INTERNAL_SOURCE: &str = "wayfarer";

/// A trait-setting event made by Wayfarer; which person it is about travels beside it
/// (`Origin::Internal`), never inside it.
/// A track event Wayfarer makes about a person (what came back from a message).
pub(crate) fn internal_track(message_id: String, name: String, properties: domain::Map, now: Timestamp) -> Event {
    Event { kind: Kind::Track, name: Some(name), properties, ..internal_identify(message_id, domain::Map::new(), now) }
}

pub(crate) fn internal_identify(message_id: String, traits: domain::Map, now: Timestamp) -> Event {
    Event {
        kind: Kind::Identify,
        message_id: domain::ids::MessageId(message_id),
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        name: None,
        properties: domain::Map::new(),
        traits,
        context: domain::Map::new(),
        timestamp: now,
        received_at: now,
    }
}
