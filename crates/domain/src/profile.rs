//! Profiles and the rules for updating and merging them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Map;
use crate::ids::ProfileId;
use crate::time::Timestamp;

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

    /// Folds `other` (the profile being merged away) into `self`: per trait, the latest
    /// write wins; on a tie, `self` keeps its value.
    pub fn absorb(&mut self, other: &Profile) {
        for (key, value) in &other.traits {
            let theirs = other.trait_times.get(key).copied().unwrap_or(Timestamp(i64::MIN));
            let ours = self.trait_times.get(key).copied();
            if ours.is_none_or(|t| t < theirs) {
                self.traits.insert(key.clone(), value.clone());
                self.trait_times.insert(key.clone(), theirs);
            }
        }
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
}
