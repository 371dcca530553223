//! The property paths the data has shown, per event name: what the editor's condition builder
//! offers where a condition reads an event's properties (`GET /api/names`, `properties`).
//!
//! A path is a key of an event's properties as journeys see them (`Event::match_properties`:
//! a page call's `name`, and its `context.page` `path`, `url`, ... when the properties lack
//! them), or nested object keys joined with dots (`cart.total`), as conditions read them
//! (`domain::condition::lookup`). An object's own path is kept too (`cart`). Arrays are not
//! descended: a condition cannot index one.
//!
//! Bounded, so free-form data cannot grow the table (or the core's memory) without end:
//!
//! - at most [`MAX_DEPTH`] keys deep (`a.b.c`; deeper keys are not looked at);
//! - at most [`MAX_PATHS`] paths per event name: the first ones seen are kept, and once an
//!   event name has that many its events are not looked at any more;
//! - a key that is empty or holds a dot is skipped with everything under it (a dotted path
//!   cannot name it), and so is a path longer than [`MAX_PATH_BYTES`].
//!
//! The core keeps every committed path in memory, so an event whose paths are all known costs
//! hash lookups alone: no store work, no allocation (dotted paths are built in one buffer).

use std::collections::{HashMap, HashSet};

use domain::Map;
use domain::event::{Event, Kind, PAGE_CONTEXT_KEYS};
use serde_json::Value;
use store::PropertyPath;

/// Most keys in a path (`a.b.c`).
pub const MAX_DEPTH: usize = 3;
/// Most paths kept per event name.
pub const MAX_PATHS: usize = 200;
/// Longest path kept, in bytes.
pub const MAX_PATH_BYTES: usize = 200;

/// The paths known per event name, and those the transaction being built adds.
#[derive(Debug, Default)]
pub struct PropertyPaths {
    /// Committed.
    seen: HashMap<String, HashSet<String>>,
    /// Noted since the last commit (or abandon): not in `seen`.
    fresh: HashMap<String, HashSet<String>>,
    /// Where dotted paths are built.
    buf: String,
}

impl PropertyPaths {
    pub fn new() -> PropertyPaths {
        PropertyPaths::default()
    }

    /// Adds paths already stored (what `store::Tx::property_paths` gives).
    pub fn extend(&mut self, stored: impl IntoIterator<Item = PropertyPath>) {
        for PropertyPath { event, path } in stored {
            self.seen.entry(event).or_default().insert(path);
        }
    }

    /// Notes the paths `event` shows that are not known yet, within the bounds.
    pub fn note(&mut self, event: &Event) {
        let name = event.match_name();
        let (seen, fresh) = (self.seen.get(name), self.fresh.get(name));
        let known = seen.map_or(0, HashSet::len) + fresh.map_or(0, HashSet::len);
        let Some(mut room) = MAX_PATHS.checked_sub(known).filter(|r| *r > 0) else {
            return;
        };
        let mut new: Vec<String> = Vec::new();
        let mut visit = |path: &str| {
            if !seen.is_some_and(|s| s.contains(path)) && !fresh.is_some_and(|s| s.contains(path)) {
                new.push(path.to_owned());
                room -= 1;
            }
            room > 0
        };
        let buf = &mut self.buf;
        buf.clear();
        let props = &event.properties;
        let mut more = walk(props, buf, &mut visit);
        // What `match_properties` adds to a page or screen call, where the properties lack it
        // (so no path is visited twice).
        if more && matches!(event.kind, Kind::Page | Kind::Screen) {
            if event.name.is_some() && !props.contains_key("name") {
                more = key("name", None, 1, buf, &mut visit);
            }
            if let Some(Value::Object(page)) = event.context.get("page") {
                for (k, v) in page {
                    if more && PAGE_CONTEXT_KEYS.contains(&k.as_str()) && !props.contains_key(k) {
                        more = key(k, Some(v), 1, buf, &mut visit);
                    }
                }
            }
        }
        if !new.is_empty() {
            self.fresh.entry(name.to_owned()).or_default().extend(new);
        }
    }

    /// The paths noted since the last `committed` or `abandon`, sorted: what to store.
    pub fn fresh(&self) -> Vec<PropertyPath> {
        let mut out: Vec<PropertyPath> = self
            .fresh
            .iter()
            .flat_map(|(event, paths)| paths.iter().map(|path| PropertyPath { event: event.clone(), path: path.clone() }))
            .collect();
        out.sort_unstable();
        out
    }

    /// The fresh paths were committed: they are known from now on.
    pub fn committed(&mut self) {
        for (event, paths) in self.fresh.drain() {
            self.seen.entry(event).or_default().extend(paths);
        }
    }

    /// The fresh paths were not committed: forgotten (the next event showing them notes them again).
    pub fn abandon(&mut self) {
        self.fresh.clear();
    }

    /// Every path known for an event name (committed or fresh), sorted.
    pub fn of(&self, event: &str) -> Vec<&str> {
        let mut out: Vec<&str> =
            [self.seen.get(event), self.fresh.get(event)].into_iter().flatten().flatten().map(String::as_str).collect();
        out.sort_unstable();
        out
    }
}

/// Visits the paths of `map` under the path in `buf` (empty at the top level); false once
/// `visit` has said to stop.
fn walk(map: &Map, buf: &mut String, visit: &mut impl FnMut(&str) -> bool) -> bool {
    walk_at(map, 1, buf, visit)
}

fn walk_at(map: &Map, depth: usize, buf: &mut String, visit: &mut impl FnMut(&str) -> bool) -> bool {
    map.iter().all(|(k, v)| key(k, Some(v), depth, buf, visit))
}

/// Visits the path of `k` (the `depth`th key of its path) under `buf`, then what is under it.
fn key(k: &str, value: Option<&Value>, depth: usize, buf: &mut String, visit: &mut impl FnMut(&str) -> bool) -> bool {
    if k.is_empty() || k.contains('.') {
        return true;
    }
    let len = buf.len();
    if len > 0 {
        buf.push('.');
    }
    buf.push_str(k);
    let mut more = true;
    if buf.len() <= MAX_PATH_BYTES {
        more = visit(buf);
        if more
            && depth < MAX_DEPTH
            && let Some(Value::Object(inner)) = value
        {
            more = walk_at(inner, depth + 1, buf, visit);
        }
    }
    buf.truncate(len);
    more
}

#[cfg(test)]
mod tests {
    use domain::event::Envelope;
    use domain::time::Timestamp;
    use serde_json::json;

    use super::*;

    fn event(kind: Kind, raw: Value) -> Event {
        let env = Envelope { kind: Some(kind), received_at: Timestamp(0), sent_at: None, fallback_message_id: "m" };
        Event::parse(raw, &env).expect("valid event")
    }

    fn track(name: &str, properties: Value) -> Event {
        event(Kind::Track, json!({"userId": "u", "event": name, "properties": properties}))
    }

    #[test]
    fn top_level_keys_and_nested_objects_as_dotted_paths_three_deep_arrays_not_descended() {
        let mut p = PropertyPaths::new();
        p.note(&track(
            "Order Completed",
            json!({"total": 30, "cart": {"id": "c1", "items": [{"sku": "A"}], "shipping": {"address": {"city": "Oslo"}, "fee": 5}}}),
        ));
        assert_eq!(
            p.of("Order Completed"),
            ["cart", "cart.id", "cart.items", "cart.shipping", "cart.shipping.address", "cart.shipping.fee", "total"],
            "cart.shipping.address.city is four deep; items is an array"
        );
        assert_eq!(p.of("Page Viewed"), Vec::<&str>::new(), "per event name");
    }

    #[test]
    fn keys_a_dotted_path_cannot_name_are_skipped_and_so_are_very_long_paths() {
        let mut p = PropertyPaths::new();
        let long = "k".repeat(MAX_PATH_BYTES);
        p.note(&track("X", json!({"a.b": {"c": 1}, "": 2, "ok": {"": 3, "d.e": 4, "f": 5}, long.clone(): 6, "short": {long: 7}})));
        assert_eq!(p.of("X"), [&"k".repeat(MAX_PATH_BYTES), "ok", "ok.f", "short"]);
    }

    #[test]
    fn a_page_call_shows_what_journeys_see_its_name_and_page_context_included() {
        let mut p = PropertyPaths::new();
        p.note(&event(
            Kind::Page,
            json!({"userId": "u", "name": "Pricing", "properties": {"path": "/p"},
                "context": {"page": {"path": "/pricing", "url": "https://x.test/pricing", "other": 1}, "ip": "1.2.3.4"}}),
        ));
        assert_eq!(p.of("Page Viewed"), ["name", "path", "url"], "as match_properties: not context.page.other, not ip");
    }

    #[test]
    fn only_new_paths_are_fresh_until_committed_and_abandoned_ones_are_noted_again() {
        let mut p = PropertyPaths::new();
        p.extend([PropertyPath { event: "X".into(), path: "a".into() }]);
        p.note(&track("X", json!({"a": 1, "b": 2})));
        p.note(&track("X", json!({"b": 3})));
        let pp = |path: &str| PropertyPath { event: "X".into(), path: path.into() };
        assert_eq!(p.fresh(), [pp("b")], "a was stored; b once");
        p.abandon();
        assert_eq!(p.fresh(), []);
        assert_eq!(p.of("X"), ["a"], "b was not committed");
        p.note(&track("X", json!({"b": 3, "c": 4})));
        assert_eq!(p.fresh(), [pp("b"), pp("c")]);
        p.committed();
        assert_eq!(p.fresh(), []);
        p.note(&track("X", json!({"a": 1, "b": 2, "c": 3})));
        assert_eq!(p.fresh(), [], "all known");
        assert_eq!(p.of("X"), ["a", "b", "c"]);
    }

    #[test]
    fn at_most_max_paths_per_event_name_the_first_seen_kept() {
        let mut p = PropertyPaths::new();
        let many = |from: usize, to: usize| Value::Object((from..to).map(|i| (format!("k{i:03}"), json!(i))).collect());
        p.note(&track("X", many(0, 150)));
        p.committed();
        p.note(&track("X", many(100, 300)));
        assert_eq!(p.fresh().len(), MAX_PATHS - 150, "only the room left");
        p.committed();
        assert_eq!(p.of("X").len(), MAX_PATHS);
        assert_eq!(p.of("X").last(), Some(&"k199"), "the first ones seen (keys in order)");
        p.note(&track("X", json!({"new": 1})));
        assert_eq!(p.fresh(), [], "full");
        p.note(&track("Y", json!({"new": 1})));
        assert_eq!(p.fresh().len(), 1, "another event name has room of its own");
    }
}
