//! Identifier newtypes.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

macro_rules! str_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

str_id!(
    /// A segment (a named condition on people), chosen by its author: `lapsed-buyers`.
    SegmentId
);
int_id!(
    /// The canonical id of a person's profile.
    ProfileId
);
int_id!(
    /// One run of one journey for one person.
    RunId
);
int_id!(
    /// Position of an event in the event log.
    EventSeq
);
int_id!(
    /// One entry of the outbox.
    OutboxId
);
int_id!(
    /// An input the engine could not step, kept to replay.
    DeadLetterId
);
str_id!(
    /// A journey's id, chosen by its author (a slug).
    JourneyId
);
str_id!(
    /// A step's id inside a journey document.
    NodeId
);
str_id!(
    /// A content template's id.
    TemplateId
);
str_id!(
    /// A Segment `messageId`, unique per source.
    MessageId
);
str_id!(
    /// The name of an ingest source (owner of a write key).
    SourceId
);

/// How a person is known from outside: a Segment `userId` or `anonymousId`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Identity {
    UserId(String),
    AnonymousId(String),
}

impl Identity {
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::UserId(_) => "user_id",
            Identity::AnonymousId(_) => "anonymous_id",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Identity::UserId(v) | Identity::AnonymousId(v) => v,
        }
    }

    pub fn from_parts(kind: &str, value: &str) -> Option<Identity> {
        match kind {
            "user_id" => Some(Identity::UserId(value.to_owned())),
            "anonymous_id" => Some(Identity::AnonymousId(value.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_and_ids_as_text() {
        let ids = [Identity::UserId("42".into()), Identity::AnonymousId("a-1".into())];
        let shown: Vec<String> = ids.iter().map(|i| format!("{i} {} {}", i.kind(), i.value())).collect();
        assert_eq!(shown, ["user_id:42 user_id 42", "anonymous_id:a-1 anonymous_id a-1"]);
        let back: Vec<Option<Identity>> = ids.iter().map(|i| Identity::from_parts(i.kind(), i.value())).collect();
        assert_eq!(back, ids.map(Some));
        assert_eq!(Identity::from_parts("email", "a@b.c"), None);
        let node = NodeId::from("welcome");
        assert_eq!((node.as_str(), node.to_string(), ProfileId(7).to_string()), ("welcome", "welcome".to_owned(), "7".to_owned()));
    }
}
