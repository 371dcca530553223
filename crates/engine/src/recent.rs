//! A bounded map that keeps what was used lately: two generations, lookups move an entry
//! to the young one, and when the young one is full the old one is dropped.

use std::collections::HashMap;
use std::hash::Hash;

pub(crate) struct Recent<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
    /// Most entries of one generation.
    generation: usize,
}

impl<K: Hash + Eq + Clone, V> Recent<K, V> {
    /// Holds at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Recent<K, V> {
        Recent { young: HashMap::new(), old: HashMap::new(), generation: (capacity / 2).max(1) }
    }

    pub(crate) fn get(&mut self, key: &K) -> Option<&V> {
        if !self.young.contains_key(key) {
            let value = self.old.remove(key)?;
            self.insert(key.clone(), value);
        }
        self.young.get(key)
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.young.contains_key(key) || self.old.contains_key(key)
    }

    pub(crate) fn take(&mut self, key: &K) -> Option<V> {
        self.young.remove(key).or_else(|| self.old.remove(key))
    }

    pub(crate) fn insert(&mut self, key: K, value: V) {
        self.old.remove(&key);
        if self.young.len() >= self.generation && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, value);
    }

    pub(crate) fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn keeps_what_was_used_lately_within_its_capacity() {
        let mut r = Recent::new(4);
        for k in 0..4 {
            r.insert(k, k * 10);
        }
        // 0 and 1 went to the old generation when 2 arrived; using 0 keeps it.
        assert_eq!(r.get(&0), Some(&0));
        r.insert(4, 40);
        r.insert(5, 50);
        assert!(r.len() <= 4, "{}", r.len());
        assert_eq!(r.get(&0), Some(&0), "used lately");
        assert!(!r.contains(&1), "not used since it aged");
        assert_eq!(r.take(&5), Some(50));
        assert!(!r.contains(&5));
        r.insert(0, 1);
        assert_eq!(r.take(&0), Some(1), "one value per key, the latest");
        assert_eq!(r.take(&0), None);
        r.clear();
        assert_eq!(r.len(), 0);
    }
}
