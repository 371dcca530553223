//! What became of a message goes back to the person's timeline and to the run that decided
//! it: an internal event named for its channel (`Email Sent`, `SMS Failed` ...), made only by
//! the dispatcher.

use domain::event::{Event, Kind};
use domain::ids::{JourneyId, NodeId, OutboxId, RunId};
use domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use store::{MessageStage, Messages};

/// The names of a message's outcome events on each channel: delivered (sent or captured),
/// and not (failed or suppressed). A channel's provider may report more of the same message
/// later under these names too (an `SMS Failed` status callback): those are ordinary events.
pub const OUTCOME_EVENTS: [(&str, &str, &str); 6] = [
    (deliver::EMAIL, "Email Sent", "Email Failed"),
    (deliver::SMS, "SMS Sent", "SMS Failed"),
    (deliver::PUSH, "Push Sent", "Push Failed"),
    (deliver::IN_APP, "In-App Message Sent", "In-App Message Failed"),
    (deliver::WEBHOOK, "Webhook Sent", "Webhook Failed"),
    (deliver::TASK, "Task Created", "Task Failed"),
];

/// The outcome names of a channel none of the above (there is none today).
const OTHER: (&str, &str) = ("Message Sent", "Message Failed");

fn is_outcome_name(name: &str) -> bool {
    name == OTHER.0 || name == OTHER.1 || OUTCOME_EVENTS.iter().any(|(_, sent, failed)| name == *sent || name == *failed)
}

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
        MessageOutcome::parse(event_name, event).map_or(0, |o| o.depth.saturating_add(1))
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
            name: Some(self.name().to_owned()),
            properties,
            traits: domain::Map::new(),
            context: domain::Map::new(),
            timestamp: now,
            received_at: now,
        }
    }

    /// The event's name: its channel's, delivered or not.
    pub(crate) fn name(&self) -> &'static str {
        let (sent, failed) =
            OUTCOME_EVENTS.iter().find(|(channel, _, _)| *channel == self.channel).map_or(OTHER, |(_, sent, failed)| (*sent, *failed));
        if self.delivered() { sent } else { failed }
    }

    /// The outcome an internal event carries, if it is one.
    pub(crate) fn of(event: &Event) -> Option<MessageOutcome> {
        MessageOutcome::parse(event.name.as_deref()?, &event.properties)
    }

    /// The outcome an event of this name and properties carries: one with an outcome's name
    /// and properties (a provider's `SMS Failed` callback has neither a run nor an outbox id).
    fn parse(name: &str, properties: &domain::Map) -> Option<MessageOutcome> {
        if !is_outcome_name(name) {
            return None;
        }
        serde_json::from_value(serde_json::Value::Object(properties.clone())).ok()
    }
}

/// The events that tell how far a message got, by name: recorded by Wayfarer with the
/// message's outbox id as `message_id` (tracking links, provider callbacks, in-app actions),
/// except a push tap, which the app reports with the notification's `wayfarer_key`.
const STAGE_EVENTS: [(&str, MessageStage); 7] = [
    ("Email Delivered", MessageStage::Delivered),
    ("SMS Delivered", MessageStage::Delivered),
    ("Email Opened", MessageStage::Opened),
    ("In-App Message Viewed", MessageStage::Opened),
    ("Push Opened", MessageStage::Opened),
    ("Email Clicked", MessageStage::Clicked),
    ("In-App Message Clicked", MessageStage::Clicked),
];

/// The message an event says reached a stage of the funnel per content, if any. `internal`:
/// Wayfarer made the event (its outcomes and what tracking recorded); from a source, only a
/// push tap counts (by its `wayfarer_key`), so no source can move another's numbers by id.
pub(crate) fn reached(event: &Event, internal: bool) -> Option<(Messages<'_>, MessageStage)> {
    let name = event.name.as_deref()?;
    if internal && let Some(o) = MessageOutcome::of(event) {
        return o.delivered().then_some((Messages::Id(o.outbox_id), MessageStage::Sent));
    }
    let stage = STAGE_EVENTS.iter().find(|(n, _)| *n == name)?.1;
    if internal {
        return event.properties.get("message_id").and_then(serde_json::Value::as_i64).map(|id| (Messages::Id(OutboxId(id)), stage));
    }
    let key = event.properties.get("wayfarer_key").and_then(serde_json::Value::as_str);
    (name == "Push Opened").then_some(key).flatten().map(|k| (Messages::Key(k), stage))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(channel: &str, status: &str) -> MessageOutcome {
        MessageOutcome {
            journey: JourneyId("welcome".into()),
            run_id: RunId(7),
            node: NodeId("invite".into()),
            channel: channel.into(),
            outbox_id: OutboxId(3),
            status: status.into(),
            error: None,
            depth: 0,
        }
    }

    #[test]
    fn an_outcome_is_named_for_its_channel_and_reads_back() {
        let names: Vec<String> = [deliver::EMAIL, deliver::SMS, deliver::PUSH, deliver::IN_APP, deliver::WEBHOOK, deliver::TASK]
            .iter()
            .flat_map(|c| [outcome(c, "sent").name(), outcome(c, "failed").name()])
            .map(str::to_owned)
            .collect();
        expect_test::expect![[r#"Email Sent, Email Failed, SMS Sent, SMS Failed, Push Sent, Push Failed, In-App Message Sent, In-App Message Failed, Webhook Sent, Webhook Failed, Task Created, Task Failed"#]]
            .assert_eq(&names.join(", "));
        assert_eq!(outcome(deliver::EMAIL, "captured").name(), "Email Sent", "captured is delivered");
        assert_eq!(outcome(deliver::EMAIL, "suppressed").name(), "Email Failed");
        let o = outcome(deliver::SMS, "failed");
        assert_eq!(MessageOutcome::of(&o.event(1, Timestamp(0))), Some(o));
    }

    #[test]
    fn a_providers_report_under_an_outcomes_name_is_no_outcome() {
        // An `SMS Failed` status callback: the message and its journey, but no run or outbox id.
        let callback: domain::Map = serde_json::from_value(serde_json::json!(
            {"message_id": 3, "channel": "sms", "journey": "welcome", "node": "invite", "error_code": "30006"}
        ))
        .expect("map");
        assert_eq!(MessageOutcome::parse("SMS Failed", &callback), None);
        assert_eq!(MessageOutcome::depth_after("SMS Failed", &callback), 0, "a journey entered on it sends outcomes that may start runs");
        let mut of_an_outcome = match serde_json::to_value(outcome(deliver::SMS, "failed")) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => unreachable!(),
        };
        assert_eq!(MessageOutcome::depth_after("SMS Failed", &of_an_outcome), 1);
        of_an_outcome.insert("depth".into(), 1.into());
        assert_eq!(MessageOutcome::depth_after("SMS Failed", &of_an_outcome), 2);
        assert_eq!(MessageOutcome::depth_after("Signed Up", &of_an_outcome), 0, "only outcomes count");
        assert_eq!(MessageOutcome::parse("Order Completed", &of_an_outcome), None);
    }

    #[test]
    fn what_says_how_far_a_message_got() {
        let event = |name: &str, properties: serde_json::Value| {
            let mut e = outcome(deliver::EMAIL, "sent").event(1, Timestamp(0));
            e.name = Some(name.into());
            e.properties = properties.as_object().cloned().unwrap_or_default();
            e
        };
        let sent = outcome(deliver::EMAIL, "captured").event(1, Timestamp(0));
        assert_eq!(reached(&sent, true), Some((Messages::Id(OutboxId(3)), MessageStage::Sent)));
        assert_eq!(reached(&sent, false), None, "a source cannot send an outcome");
        assert_eq!(reached(&outcome(deliver::SMS, "failed").event(1, Timestamp(0)), true), None, "failed: not sent");
        let tracked = |name: &str| {
            let e = event(name, serde_json::json!({"message_id": 3, "journey": "welcome"}));
            reached(&e, true).map(|(m, s)| (if let Messages::Id(id) = m { Some(id) } else { None }, s))
        };
        let stages: Vec<_> =
            ["Email Delivered", "SMS Delivered", "Email Opened", "In-App Message Viewed", "Email Clicked", "In-App Message Clicked"]
                .iter()
                .map(|n| tracked(n).map(|(_, s)| s))
                .collect();
        use MessageStage::*;
        assert_eq!(stages, [Some(Delivered), Some(Delivered), Some(Opened), Some(Opened), Some(Clicked), Some(Clicked)]);
        assert_eq!(tracked("Email Delivered").map(|(m, _)| m), Some(Some(OutboxId(3))));
        assert_eq!(tracked("Email Bounced"), None, "not a stage");
        assert_eq!(reached(&event("Email Opened", serde_json::json!({"message_id": "3"})), true), None, "an id is a number");
        assert_eq!(reached(&event("Email Opened", serde_json::json!({"message_id": 3})), false), None, "a source names no message by id");
        let tap = event("Push Opened", serde_json::json!({"wayfarer_key": "run-1-2-0"}));
        assert_eq!(reached(&tap, false), Some((Messages::Key("run-1-2-0"), MessageStage::Opened)), "the app reports a tap");
        assert_eq!(reached(&event("Push Opened", serde_json::json!({})), false), None);
        assert_eq!(reached(&event("Email Clicked", serde_json::json!({"wayfarer_key": "run-1-2-0"})), false), None, "only a push by key");
    }
}
