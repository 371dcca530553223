//! Profiles and the rules for updating and merging them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::Map;
use crate::event::Event;
use crate::ids::ProfileId;
use crate::time::Timestamp;

/// The trait holding a person's push device tokens (a list, the newest last), kept from the
/// `context.device.token` of their events (`Profile::note_device`).
pub const PUSH_TOKENS: &str = "push_tokens";

/// An event whose `token` property is a device token to forget (the push provider says the app
/// was uninstalled, or the app signs the person out on that device).
pub const PUSH_TOKEN_UNREGISTERED: &str = "Push Token Unregistered";

/// Devices kept per person; a new one beyond them drops the one seen longest ago.
pub const MAX_DEVICES: usize = 5;

/// One person. Each trait remembers when it was last written, so that merges and
/// out-of-order events resolve by "latest write wins" per trait.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: ProfileId,
    pub traits: Map,
    #[serde(default)]
    pub trait_times: BTreeMap<String, Timestamp>,
}

impl Profile {
    pub fn new(id: ProfileId) -> Self {
        Profile { id, ..Profile::default() }
    }

    /// Writes `traits` as of `at`. A trait already written at a later time keeps its value.
    /// Returns whether anything changed.
    pub fn apply_traits(&mut self, traits: &Map, at: Timestamp) -> bool {
        let mut changed = false;
        for (key, value) in traits {
            let newer = self.trait_times.get(key).is_none_or(|t| *t <= at);
            if newer {
                if self.traits.get(key) != Some(value) {
                    changed = true;
                }
                self.traits.insert(key.clone(), value.clone());
                self.trait_times.insert(key.clone(), at);
            }
        }
        changed
    }

    /// Keeps the person's push device tokens (`PUSH_TOKENS`) from an event: the Segment spec's
    /// `context.device.token`, on any call, is added (or moved to the end, the newest; at most
    /// `MAX_DEVICES`, the oldest dropped); a `Push Token Unregistered` event's `token` property
    /// is removed. Returns whether they changed.
    pub fn note_device(&mut self, event: &Event) -> bool {
        let added = event.context.get("device").and_then(|d| d.get("token")).and_then(Value::as_str).map(str::trim);
        let removed = (event.name.as_deref() == Some(PUSH_TOKEN_UNREGISTERED))
            .then(|| event.properties.get("token").and_then(Value::as_str))
            .flatten();
        let before = self.push_tokens();
        let mut tokens = before.clone();
        if let Some(gone) = removed {
            tokens.retain(|t| t != gone);
        }
        if let Some(token) = added.filter(|t| !t.is_empty()) {
            tokens.retain(|t| t != token);
            tokens.push(token.to_owned());
        }
        keep_newest(&mut tokens);
        if tokens == before {
            return false;
        }
        self.traits.insert(PUSH_TOKENS.into(), Value::from(tokens));
        let at = self.trait_times.get(PUSH_TOKENS).map_or(event.timestamp, |t| (*t).max(event.timestamp));
        self.trait_times.insert(PUSH_TOKENS.into(), at);
        true
    }

    /// The person's push device tokens, the newest last.
    pub fn push_tokens(&self) -> Vec<String> {
        push_tokens(&self.traits)
    }

    /// Folds `other` (the profile being merged away) into `self`: per trait, the latest
    /// write wins; on a tie, `self` keeps its value. Push device tokens are the devices of
    /// both (at most `MAX_DEVICES`, the latest-written side's last).
    pub fn absorb(&mut self, other: &Profile) {
        let theirs_later = other.trait_times.get(PUSH_TOKENS) > self.trait_times.get(PUSH_TOKENS);
        let (first, last) =
            if theirs_later { (self.push_tokens(), other.push_tokens()) } else { (other.push_tokens(), self.push_tokens()) };
        let mut devices: Vec<String> = first.into_iter().filter(|t| !last.contains(t)).collect();
        devices.extend(last);
        keep_newest(&mut devices);
        for (key, value) in &other.traits {
            let theirs = other.trait_times.get(key).copied().unwrap_or(Timestamp(i64::MIN));
            let ours = self.trait_times.get(key).copied();
            if ours.is_none_or(|t| t < theirs) {
                self.traits.insert(key.clone(), value.clone());
                self.trait_times.insert(key.clone(), theirs);
            }
        }
        if !devices.is_empty() {
            self.traits.insert(PUSH_TOKENS.into(), Value::from(devices));
        }
    }
}

/// Drops the devices seen longest ago (the list's start) beyond `MAX_DEVICES`.
fn keep_newest(devices: &mut Vec<String>) {
    devices.drain(..devices.len().saturating_sub(MAX_DEVICES));
}

/// The push device tokens in `traits` (the `push_tokens` list's strings).
pub fn push_tokens(traits: &Map) -> Vec<String> {
    match traits.get(PUSH_TOKENS) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: serde_json::Value) -> Map {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn latest_write_wins_per_trait_even_out_of_order() {
        let mut p = Profile::new(ProfileId(1));
        assert!(p.apply_traits(&map(json!({"plan": "pro", "city": "Oslo"})), Timestamp(20)));
        assert!(!p.apply_traits(&map(json!({"plan": "free"})), Timestamp(10)));
        assert_eq!(p.traits["plan"], json!("pro"));
        assert!(p.apply_traits(&map(json!({"city": "Lyon"})), Timestamp(30)));
        assert_eq!(p.traits["city"], json!("Lyon"));
        assert!(p.apply_traits(&map(json!({"city": "Nice"})), Timestamp(30)), "the same time: the later call wins");
        assert!(!p.apply_traits(&map(json!({"city": "Nice"})), Timestamp(40)), "the same value is no change");
        assert!(!p.apply_traits(&map(json!({"city": "Rome"})), Timestamp(35)), "its time moved on with the same value");
        assert_eq!((p.traits["city"].clone(), p.trait_times["city"]), (json!("Nice"), Timestamp(40)));
    }

    #[test]
    fn merge_keeps_the_latest_value_of_each_trait() {
        let mut known = Profile::new(ProfileId(1));
        known.apply_traits(&map(json!({"firstName": "Alice", "plan": "free"})), Timestamp(10));
        let mut anon = Profile::new(ProfileId(2));
        anon.apply_traits(&map(json!({"plan": "pro", "utm": "ad"})), Timestamp(20));
        anon.apply_traits(&map(json!({"firstName": "Al"})), Timestamp(5));
        known.absorb(&anon);
        assert_eq!(known.traits["firstName"], json!("Alice"));
        assert_eq!(known.traits["plan"], json!("pro"));
        assert_eq!(known.traits["utm"], json!("ad"));
        assert_eq!(
            (known.trait_times["plan"], known.trait_times["utm"], known.trait_times["firstName"]),
            (Timestamp(20), Timestamp(20), Timestamp(10))
        );
        // A tie keeps ours; a trait of theirs without a time still comes over when we lack it.
        let mut tied = Profile::new(ProfileId(3));
        tied.apply_traits(&map(json!({"plan": "team"})), Timestamp(20));
        let mut untimed = Profile::new(ProfileId(4));
        untimed.traits = map(json!({"plan": "free", "city": "Oslo"}));
        known.absorb(&tied);
        known.absorb(&untimed);
        assert_eq!((known.traits["plan"].clone(), known.traits["city"].clone()), (json!("pro"), json!("Oslo")));
    }

    fn event(name: Option<&str>, properties: serde_json::Value, context: serde_json::Value, at: i64) -> Event {
        Event {
            kind: if name.is_some() { crate::event::Kind::Track } else { crate::event::Kind::Identify },
            message_id: crate::ids::MessageId(format!("m{at}")),
            user_id: Some("ann".into()),
            anonymous_id: None,
            previous_id: None,
            group_id: None,
            name: name.map(str::to_owned),
            properties: map(properties),
            traits: Map::new(),
            context: map(context),
            timestamp: Timestamp(at),
            received_at: Timestamp(at),
        }
    }

    fn device(token: &str, at: i64) -> Event {
        event(Some("App Opened"), json!({}), json!({"device": {"token": token, "type": "android"}}), at)
    }

    #[test]
    fn devices_come_from_events_newest_last_and_go_when_unregistered() {
        let mut p = Profile::new(ProfileId(1));
        assert!(!p.note_device(&event(Some("App Opened"), json!({}), json!({"device": {"type": "ios"}}), 1)), "no token");
        assert!(!p.note_device(&device(" ", 1)), "an empty token");
        assert!(p.note_device(&device("a", 10)));
        assert!(p.note_device(&device("b", 20)));
        assert!(!p.note_device(&device("b", 30)), "the newest already");
        assert!(p.note_device(&device("a", 40)), "seen again: the newest now");
        assert_eq!((p.push_tokens(), p.trait_times[PUSH_TOKENS]), (vec!["b".to_owned(), "a".to_owned()], Timestamp(40)));
        assert!(p.note_device(&device("c", 35)), "a late event still adds its device");
        assert_eq!(p.trait_times[PUSH_TOKENS], Timestamp(40), "the time never goes back");
        for (i, t) in ["d", "e", "f"].iter().enumerate() {
            p.note_device(&device(t, 50 + i as i64));
        }
        assert_eq!(p.push_tokens(), ["a", "c", "d", "e", "f"], "at most {MAX_DEVICES}: the one seen longest ago goes");
        let gone = |token: &str| event(Some(PUSH_TOKEN_UNREGISTERED), json!({"token": token}), json!({}), 60);
        assert!(p.note_device(&gone("d")));
        assert!(!p.note_device(&gone("zz")), "not a device of theirs");
        assert!(!p.note_device(&event(Some("Other"), json!({"token": "a"}), json!({}), 61)), "only that event removes");
        assert_eq!(p.push_tokens(), ["a", "c", "e", "f"]);
        p.traits.insert(PUSH_TOKENS.into(), json!(["x", 3, "", "y"]));
        assert_eq!(p.push_tokens(), ["x", "y"], "only the list's non-empty strings");
    }

    #[test]
    fn a_merge_keeps_the_devices_of_both() {
        let mut known = Profile::new(ProfileId(1));
        known.note_device(&device("phone", 10));
        let mut anon = Profile::new(ProfileId(2));
        anon.note_device(&device("tablet", 20));
        anon.note_device(&device("phone", 21));
        known.absorb(&anon);
        assert_eq!(known.push_tokens(), ["tablet", "phone"], "theirs were written later: theirs last");
        let mut older = Profile::new(ProfileId(3));
        older.note_device(&device("laptop", 5));
        known.absorb(&older);
        assert_eq!(known.push_tokens(), ["laptop", "tablet", "phone"], "ours were written later: ours last");
        let mut many = Profile::new(ProfileId(4));
        for (i, t) in ["m1", "m2", "m3", "m4"].iter().enumerate() {
            many.note_device(&device(t, 100 + i as i64));
        }
        known.absorb(&many);
        assert_eq!(known.push_tokens(), ["phone", "m1", "m2", "m3", "m4"], "at most {MAX_DEVICES}");
        // Written at the same time: ours last, as a tie keeps ours for every trait.
        let (mut ours, mut theirs) = (Profile::new(ProfileId(7)), Profile::new(ProfileId(8)));
        ours.note_device(&device("mine", 50));
        theirs.note_device(&device("yours", 50));
        ours.absorb(&theirs);
        assert_eq!(ours.push_tokens(), ["yours", "mine"]);
        let mut none = Profile::new(ProfileId(5));
        none.absorb(&Profile::new(ProfileId(6)));
        assert!(!none.traits.contains_key(PUSH_TOKENS), "no devices: no trait");
    }
}
