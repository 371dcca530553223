//! What became of a message goes back to the person's timeline and to the run that decided
//! it: an internal `Message Sent` or `Message Failed` event, made only by the dispatcher.

use domain::event::{Event, Kind};
use domain::ids::{JourneyId, NodeId, OutboxId, RunId};
use domain::time::Timestamp;
use serde::{Deserialize, Serialize};

pub(crate) const SENT: &str = "Message Sent";
pub(crate) const FAILED: &str = "Message Failed";

/// The properties of an outcome event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct MessageOutcome {
    pub(crate) journey: JourneyId,
    pub(crate) run_id: RunId,
    pub(crate) node: NodeId,
    pub(crate) channel: String,
    pub(crate) outbox_id: OutboxId,
    /// `sent`, `captured`, `failed` or `suppressed` (not sent: a control said no).
    pub(crate) status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// 0 for a message of a run that an ordinary event started; one more than that event's
    /// depth for a message of a run that an outcome started. An outcome of depth 1 or more
    /// starts no run, so journeys entered on outcomes cannot feed each other without end.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) depth: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl MessageOutcome {
    /// The depth of an outcome of a message decided by a run started by `event_name` with
    /// these properties.
    pub(crate) fn depth_after(event_name: &str, event: &domain::Map) -> u32 {
        match event_name {
            SENT | FAILED => event.get("depth").and_then(serde_json::Value::as_u64).map_or(0, |d| d as u32).saturating_add(1),
            _ => 0,
        }
    }

    /// Whether this outcome may start runs (see `depth`).
    pub(crate) fn may_enter(&self) -> bool {
        self.depth == 0
    }

    pub(crate) fn delivered(&self) -> bool {
        matches!(self.status.as_str(), "sent" | "captured")
    }

    /// What the run's trace says about it.
    pub(crate) fn detail(&self) -> String {
        match &self.error {
            // One line (Liquid's errors span several), without the list of the names the
            // template could have used.
            Some(e) => {
                let lines: Vec<&str> = e.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("available")).collect();
                format!("{}: {}", self.status, lines.join(" "))
            }
            None => self.status.clone(),
        }
    }

    /// The event; its messageId is unique per attempt that ended (a message retried from the
    /// API has an outcome of its own).
    pub(crate) fn event(&self, attempt: i64, now: Timestamp) -> Event {
        let properties = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => domain::Map::new(),
        };
        Event {
            kind: Kind::Track,
            message_id: domain::ids::MessageId(format!("outbox-{}-outcome-{attempt}", self.outbox_id)),
            user_id: None,
            anonymous_id: None,
            previous_id: None,
            group_id: None,
            name: Some(if self.delivered() { SENT } else { FAILED }.to_owned()),
            properties,
            traits: domain::Map::new(),
            context: domain::Map::new(),
            timestamp: now,
            received_at: now,
        }
    }

    /// The outcome an internal event carries, if it is one.
    pub(crate) fn of(event: &Event) -> Option<MessageOutcome> {
        if !matches!(event.name.as_deref(), Some(SENT | FAILED)) {
            return None;
        }
        serde_json::from_value(serde_json::Value::Object(event.properties.clone())).ok()
    }
}
