//! Events in the Segment tracking spec, validated and normalised.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;
use crate::ids::{Identity, MessageId};
use crate::time::Timestamp;

/// The Segment call types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Identify,
    Track,
    Page,
    Screen,
    Group,
    Alias,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "identify" => Kind::Identify,
            "track" => Kind::Track,
            "page" => Kind::Page,
            "screen" => Kind::Screen,
            "group" => Kind::Group,
            "alias" => Kind::Alias,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Identify => "identify",
            Kind::Track => "track",
            Kind::Page => "page",
            Kind::Screen => "screen",
            Kind::Group => "group",
            Kind::Alias => "alias",
        }
    }
}

/// A validated event. Timestamps are corrected for client clock skew as Segment does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub message_id: MessageId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `event` of a track call, `name` of a page or screen call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: Map,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map,
    /// When the event happened, skew-corrected.
    pub timestamp: Timestamp,
    /// When Wayfarer received it.
    pub received_at: Timestamp,
}

/// Request-level facts needed to normalise an event.
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    /// The call type implied by the endpoint (`/v1/track`), if any; `/v1/batch` gives none.
    pub kind: Option<Kind>,
    pub received_at: Timestamp,
    /// A batch-level `sentAt`, used when the event has none.
    pub sent_at: Option<Timestamp>,
    /// The id to use when the event carries no `messageId`.
    pub fallback_message_id: &'a str,
}

/// Why one event was rejected. `code()` is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("an event must be a JSON object")]
    NotAnObject,
    #[error("missing or unknown \"type\" (expected identify, track, page, screen, group or alias)")]
    BadType,
    #[error("an event needs a \"userId\" or an \"anonymousId\"")]
    MissingIdentity,
    #[error("a track call needs a non-empty \"event\" name")]
    MissingEventName,
    #[error("an alias call needs \"previousId\" and \"userId\"")]
    MissingPreviousId,
    #[error("a group call needs a \"groupId\"")]
    MissingGroupId,
    #[error("field {field:?} must be {expected}")]
    BadField { field: &'static str, expected: &'static str },
    #[error("field {field:?} is not an ISO-8601 date-time: {value:?}")]
    BadTimestamp { field: &'static str, value: String },
    #[error("the event is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
}

impl EventError {
    pub fn code(&self) -> &'static str {
        match self {
            EventError::NotAnObject => "event_not_object",
            EventError::BadType => "event_bad_type",
            EventError::MissingIdentity => "event_missing_identity",
            EventError::MissingEventName => "event_missing_name",
            EventError::MissingPreviousId => "event_missing_previous_id",
            EventError::MissingGroupId => "event_missing_group_id",
            EventError::BadField { .. } => "event_bad_field",
            EventError::BadTimestamp { .. } => "event_bad_timestamp",
            EventError::TooLarge { .. } => "event_too_large",
        }
    }
}

fn id_field(obj: &Map, field: &'static str) -> Result<Option<String>, EventError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(EventError::BadField { field, expected: "a string or a number" }),
    }
}

fn object_field(obj: &mut Map, field: &'static str) -> Result<Map, EventError> {
    match obj.remove(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(EventError::BadField { field, expected: "an object" }),
    }
}

fn time_field(obj: &Map, field: &'static str) -> Result<Option<Timestamp>, EventError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Timestamp::parse(s).map(Some).ok_or_else(|| EventError::BadTimestamp { field, value: s.clone() }),
        Some(other) => Err(EventError::BadTimestamp { field, value: other.to_string() }),
    }
}

impl Event {
    /// Validates one raw event as Segment does and normalises it.
    ///
    /// Timestamps: the client's `timestamp` (or `originalTimestamp`) is corrected by the
    /// difference between the client's `sentAt` and our `receivedAt`; without `sentAt` it is
    /// taken as is; without any client time the event happened when it was received.
    pub fn parse(raw: Value, env: &Envelope<'_>) -> Result<Event, EventError> {
        let Value::Object(mut obj) = raw else {
            return Err(EventError::NotAnObject);
        };
        let kind = match obj.get("type") {
            Some(Value::String(s)) => Kind::parse(s).ok_or(EventError::BadType)?,
            None | Some(Value::Null) => env.kind.ok_or(EventError::BadType)?,
            Some(_) => return Err(EventError::BadType),
        };
        let user_id = id_field(&obj, "userId")?;
        let anonymous_id = id_field(&obj, "anonymousId")?;
        let previous_id = id_field(&obj, "previousId")?;
        let group_id = id_field(&obj, "groupId")?;
        match kind {
            Kind::Alias if previous_id.is_none() || user_id.is_none() => {
                return Err(EventError::MissingPreviousId);
            }
            Kind::Group if group_id.is_none() => return Err(EventError::MissingGroupId),
            _ if user_id.is_none() && anonymous_id.is_none() => {
                return Err(EventError::MissingIdentity);
            }
            _ => {}
        }
        let name = match (kind, obj.get("event"), obj.get("name")) {
            (Kind::Track, Some(Value::String(s)), _) if !s.trim().is_empty() => Some(s.clone()),
            (Kind::Track, _, _) => return Err(EventError::MissingEventName),
            (Kind::Page | Kind::Screen, _, Some(Value::String(s))) => Some(s.clone()),
            _ => None,
        };
        let message_id = match obj.get("messageId") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            None | Some(Value::Null) | Some(Value::String(_)) => env.fallback_message_id.to_owned(),
            Some(_) => return Err(EventError::BadField { field: "messageId", expected: "a string" }),
        };
        let client_time = match time_field(&obj, "timestamp")? {
            Some(t) => Some(t),
            None => time_field(&obj, "originalTimestamp")?,
        };
        let sent_at = time_field(&obj, "sentAt")?.or(env.sent_at);
        let timestamp = match (client_time, sent_at) {
            (Some(t), Some(sent)) => env.received_at.plus(t.since(sent)),
            (Some(t), None) => t,
            (None, _) => env.received_at,
        };
        let properties = object_field(&mut obj, "properties")?;
        let mut traits = object_field(&mut obj, "traits")?;
        let context = object_field(&mut obj, "context")?;
        if kind == Kind::Identify && traits.is_empty() {
            // Some clients put identify traits in context.traits.
            if let Some(Value::Object(t)) = context.get("traits") {
                traits = t.clone();
            }
        }
        Ok(Event {
            kind,
            message_id: MessageId(message_id),
            user_id,
            anonymous_id,
            previous_id,
            group_id,
            name,
            properties,
            traits,
            context,
            timestamp,
            received_at: env.received_at,
        })
    }

    /// The name journeys match on: a track call's `event`, `Page Viewed` for page calls,
    /// `Screen Viewed` for screen calls, and `Identify`, `Group`, `Alias` for the others.
    pub fn match_name(&self) -> &str {
        match self.kind {
            Kind::Track => self.name.as_deref().unwrap_or(""),
            Kind::Page => "Page Viewed",
            Kind::Screen => "Screen Viewed",
            Kind::Identify => "Identify",
            Kind::Group => "Group",
            Kind::Alias => "Alias",
        }
    }

    /// Properties as journeys see them. Page calls also expose `name` and, when the
    /// properties lack them, `path` and `url` from `context.page`.
    pub fn match_properties(&self) -> std::borrow::Cow<'_, Map> {
        if self.kind != Kind::Page && self.kind != Kind::Screen {
            return std::borrow::Cow::Borrowed(&self.properties);
        }
        let mut props = self.properties.clone();
        if let Some(name) = &self.name {
            props.entry("name").or_insert_with(|| Value::String(name.clone()));
        }
        if let Some(Value::Object(page)) = self.context.get("page") {
            for key in ["path", "url", "title", "referrer", "search"] {
                if let Some(v) = page.get(key) {
                    props.entry(key).or_insert_with(|| v.clone());
                }
            }
        }
        std::borrow::Cow::Owned(props)
    }

    /// The identities this event names, most specific first.
    pub fn identities(&self) -> Vec<Identity> {
        let mut ids = Vec::with_capacity(3);
        if let Some(u) = &self.user_id {
            ids.push(Identity::UserId(u.clone()));
        }
        if let Some(a) = &self.anonymous_id {
            ids.push(Identity::AnonymousId(a.clone()));
        }
        if self.kind == Kind::Alias
            && let Some(p) = &self.previous_id
        {
            // previousId may be an earlier userId or an anonymousId; callers look up both.
            ids.push(Identity::UserId(p.clone()));
            ids.push(Identity::AnonymousId(p.clone()));
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn env(kind: Option<Kind>) -> Envelope<'static> {
        Envelope {
            kind,
            received_at: Timestamp::parse("2026-11-23T12:00:00Z").expect("ts"),
            sent_at: None,
            fallback_message_id: "generated-1",
        }
    }

    #[test]
    fn track_is_skew_corrected_like_segment() {
        let raw = json!({"type": "track", "event": "Signed Up", "userId": 42,
            "timestamp": "2026-11-23T09:00:00Z", "sentAt": "2026-11-23T09:00:10Z"});
        let e = Event::parse(raw, &env(None)).expect("valid");
        assert_eq!(e.user_id.as_deref(), Some("42"));
        // client clock is 3h slow: event happened 10s before reception
        assert_eq!(e.timestamp.to_string(), "2026-11-23T11:59:50.000Z");
        assert_eq!(e.message_id.as_str(), "generated-1");
    }

    #[test]
    fn invalid_events_get_stable_codes() {
        let cases = [
            (json!([]), "event_not_object"),
            (json!({"type": "nope", "userId": "a"}), "event_bad_type"),
            (json!({"type": "track", "event": "X"}), "event_missing_identity"),
            (json!({"type": "track", "userId": "a"}), "event_missing_name"),
            (json!({"type": "alias", "userId": "a"}), "event_missing_previous_id"),
            (json!({"type": "group", "userId": "a"}), "event_missing_group_id"),
            (json!({"type": "identify", "userId": "a", "traits": 3}), "event_bad_field"),
            (json!({"type": "identify", "userId": "a", "timestamp": "soon"}), "event_bad_timestamp"),
        ];
        for (raw, code) in cases {
            let err = Event::parse(raw.clone(), &env(None)).expect_err(&raw.to_string());
            assert_eq!(err.code(), code, "{raw}");
        }
    }

    #[test]
    fn an_event_reads_back_from_json_text_as_it_was_accepted() {
        // The store keeps events as JSON text. Without serde_json's `float_roundtrip` this
        // number came back one unit in the last place off (found by fuzzing).
        let body = r#"{"type": "identify", "userId": "u1", "traits": {"n": 11844674407000526263170, "x": 0.1}}"#;
        let e = Event::parse(serde_json::from_str(body).expect("json"), &env(None)).expect("valid");
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).expect("serializes")).expect("reads back");
        assert_eq!(back, e);
    }

    #[test]
    fn page_calls_match_as_page_viewed_with_context_path() {
        let raw = json!({"anonymousId": "anon", "name": "Pricing",
            "context": {"page": {"path": "/pricing", "url": "https://x.test/pricing"}}});
        let e = Event::parse(raw, &env(Some(Kind::Page))).expect("valid");
        assert_eq!(e.match_name(), "Page Viewed");
        let props = e.match_properties();
        assert_eq!(props.get("path"), Some(&json!("/pricing")));
        assert_eq!(props.get("name"), Some(&json!("Pricing")));
    }
}
