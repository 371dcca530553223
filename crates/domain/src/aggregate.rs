//! Incremental history aggregates: for each person and history query, counters in one-minute
//! buckets, updated as events arrive, so evaluating a condition never scans the history.
//!
//! The window a query reads at `now` is every whole minute from the minute of `now - within`
//! to the minute of `now`. `in_window` states that rule for scans, so that a scan and a
//! counter always agree (the property test below checks it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;
use crate::condition::{Aggregate, HistoryQuery, number};
use crate::ids::EventSeq;
use crate::time::{Duration, Timestamp};

pub const BUCKET_MS: i64 = 60_000;

fn minute(t: Timestamp) -> i64 {
    t.0.div_euclid(BUCKET_MS)
}

/// First and last instant (inclusive, ms) a query with this window reads at `now`.
pub fn window(within: Duration, now: Timestamp) -> (Timestamp, Timestamp) {
    // Whole minutes, except at the ends of `Timestamp`'s range, where the window stops
    // (found by fuzzing: the multiplications overflowed there).
    let lo = minute(now.minus(within)).checked_mul(BUCKET_MS).unwrap_or(i64::MIN);
    let hi = (minute(now) + 1).checked_mul(BUCKET_MS).map_or(i64::MAX, |t| t - 1);
    (Timestamp(lo), Timestamp(hi))
}

/// Whether an event at `ts` counts for a window of `within` at `now`.
pub fn in_window(within: Duration, now: Timestamp, ts: Timestamp) -> bool {
    let (lo, hi) = window(within, now);
    lo <= ts && ts <= hi
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub minute: i64,
    pub count: i64,
    #[serde(default)]
    pub sum: f64,
    /// The latest (by log position) value of the `last` property in this minute.
    #[serde(default)]
    pub last_seq: i64,
    #[serde(default)]
    pub last: Value,
    /// The earliest (by log position) value of the `first` property in this minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub first: Value,
    /// The least and greatest value of the `min` / `max` property in this minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The different values of the `distinct` property in this minute (`distinct_key`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub distinct: std::collections::BTreeSet<String>,
}

/// One person's counter for one query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub buckets: Vec<Bucket>,
}

impl Counter {
    /// Counts one event (its log position, time and properties) if the query's filter takes it.
    pub fn add(&mut self, q: &HistoryQuery, seq: EventSeq, ts: Timestamp, props: &Map) {
        if !q.matches(props) {
            return;
        }
        let m = minute(ts);
        let i = match self.buckets.binary_search_by_key(&m, |b| b.minute) {
            Ok(i) => i,
            Err(i) => {
                self.buckets.insert(i, Bucket { minute: m, ..Bucket::default() });
                i
            }
        };
        let b = &mut self.buckets[i];
        b.count += 1;
        match &q.aggregate {
            Aggregate::Sum(path) => b.sum += crate::condition::lookup(props, path).and_then(Value::as_f64).unwrap_or(0.0),
            Aggregate::Last(path) => {
                if let Some(v) = crate::condition::lookup(props, path)
                    && seq.0 >= b.last_seq
                {
                    b.last_seq = seq.0;
                    b.last = v.clone();
                }
            }
            Aggregate::First(path) => {
                if let Some(v) = crate::condition::lookup(props, path)
                    && b.first_seq.is_none_or(|s| seq.0 < s)
                {
                    b.first_seq = Some(seq.0);
                    b.first = v.clone();
                }
            }
            Aggregate::Min(path) | Aggregate::Max(path) => {
                if let Some(x) = crate::condition::lookup(props, path).and_then(Value::as_f64) {
                    b.min = Some(b.min.map_or(x, |m| m.min(x)));
                    b.max = Some(b.max.map_or(x, |m| m.max(x)));
                }
            }
            Aggregate::Distinct(path) => {
                if let Some(v) = crate::condition::lookup(props, path) {
                    b.distinct.insert(crate::condition::distinct_key(v));
                }
            }
            Aggregate::Count | Aggregate::Exists => {}
        }
    }

    /// The query's value at `now`.
    pub fn evaluate(&self, q: &HistoryQuery, now: Timestamp) -> Value {
        let (lo, hi) = (minute(now.minus(q.within)), minute(now));
        Counter::fold(q, self.buckets.iter().filter(|b| lo <= b.minute && b.minute <= hi))
    }

    /// The query's value over everything counted (a run's "since entry" counter, which
    /// counts only what the run saw).
    pub fn total(&self, q: &HistoryQuery) -> Value {
        Counter::fold(q, self.buckets.iter())
    }

    fn fold<'b>(q: &HistoryQuery, mut inside: impl Iterator<Item = &'b Bucket>) -> Value {
        match &q.aggregate {
            Aggregate::Count => Value::from(inside.map(|b| b.count).sum::<i64>()),
            Aggregate::Exists => Value::Bool(inside.next().is_some()),
            Aggregate::Sum(_) => number(inside.map(|b| b.sum).sum()),
            Aggregate::Last(_) => inside.filter(|b| !b.last.is_null()).max_by_key(|b| b.last_seq).map_or(Value::Null, |b| b.last.clone()),
            Aggregate::First(_) => {
                inside.filter(|b| b.first_seq.is_some()).min_by_key(|b| b.first_seq).map_or(Value::Null, |b| b.first.clone())
            }
            Aggregate::Min(_) => inside.filter_map(|b| b.min).reduce(f64::min).map_or(Value::Null, number),
            Aggregate::Max(_) => inside.filter_map(|b| b.max).reduce(f64::max).map_or(Value::Null, number),
            Aggregate::Distinct(_) => {
                let mut all = std::collections::BTreeSet::new();
                for b in inside {
                    all.extend(b.distinct.iter());
                }
                Value::from(all.len() as i64)
            }
        }
    }

    /// Drops the minutes no window at `now` or later can read.
    pub fn prune(&mut self, within: Duration, now: Timestamp) {
        let lo = minute(now.minus(within));
        self.buckets.retain(|b| b.minute >= lo);
    }
}

/// The earliest time after `now` at which the query's value may change without a new event:
/// the oldest counted minute leaving the window, or a minute dated ahead of `now` coming into
/// it (buckets are in minute order, so the first of each is the one).
pub fn next_change(q: &HistoryQuery, c: &Counter, now: Timestamp) -> Option<Timestamp> {
    let (lo, hi) = (minute(now.minus(q.within)), minute(now));
    let leaves = c.buckets.iter().find(|b| b.minute >= lo && b.minute <= hi).map(|b| (b.minute + 1) * BUCKET_MS + q.within.0);
    let comes = c.buckets.iter().find(|b| b.minute > hi).map(|b| b.minute * BUCKET_MS);
    [leaves, comes].into_iter().flatten().min().map(Timestamp)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::condition::Condition;
    use crate::journey::Diagnostics;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> i64 {
            (self.next() % n) as i64
        }
    }

    fn queries() -> Vec<HistoryQuery> {
        let docs = [
            json!({"event": "A", "within": "7d"}),
            json!({"event": "A", "within": "1h", "aggregate": "exists"}),
            json!({"event": "A", "within": "2d", "aggregate": "sum", "property": "n", "where": {"property": "k", "op": "eq", "value": "x"}}),
            json!({"event": "A", "within": "3d", "aggregate": "last", "property": "k"}),
            json!({"event": "A", "within": "3d", "aggregate": "first", "property": "k"}),
            json!({"event": "A", "within": "2d", "aggregate": "min", "property": "n"}),
            json!({"event": "A", "within": "2d", "aggregate": "max", "property": "n", "where": {"property": "k", "op": "eq", "value": "y"}}),
            json!({"event": "A", "within": "1d", "aggregate": "distinct", "property": "n"}),
        ];
        docs.iter()
            .map(|d| {
                let mut out = Vec::new();
                Condition::parse(&json!({"history": d, "op": "exists"}), "", &mut Diagnostics::default(), &mut out);
                out.remove(0)
            })
            .collect()
    }

    /// The property: for random event streams, an incremental counter (pruned as it goes)
    /// gives exactly what a scan of the whole history gives, at every point in time.
    #[test]
    fn incremental_counters_equal_a_scan_of_the_history() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for q in queries() {
            for _case in 0..200 {
                let mut counter = Counter::default();
                let mut history: Vec<(EventSeq, Timestamp, Map)> = Vec::new();
                let mut now = Timestamp(1_800_000_000_000 + rng.below(86_400_000));
                for seq in 1..=rng.below(40) + 1 {
                    now = now.plus(Duration::millis(rng.below(2 * 86_400_000)));
                    // Events may come a little late or early (client clocks, batching).
                    let ts = now.minus(Duration::millis(rng.below(240_000) - 120_000));
                    let k = if rng.below(2) == 0 { "x" } else { "y" };
                    let props: Map = json!({"n": rng.below(10) as f64 / 2.0, "k": k}).as_object().cloned().unwrap_or_default();
                    counter.add(&q, EventSeq(seq), ts, &props);
                    // Pruned now and then: what it keeps beyond the window must not count, and
                    // pruning keeps only what a window at `now` or later can read.
                    if rng.below(3) == 0 {
                        counter.prune(q.within, now);
                        let first = window(q.within, now).0;
                        assert!(counter.buckets.iter().all(|b| b.minute * BUCKET_MS >= first.0), "pruned at {now}");
                    }
                    history.push((EventSeq(seq), ts, props));
                    let scan = q.evaluate(history.iter().filter(|(_, t, _)| in_window(q.within, now, *t)).map(|(_, _, p)| p));
                    assert_eq!(counter.evaluate(&q, now), scan, "query {} at {now} after {seq} events", q.key);
                }
            }
        }
    }

    /// Within a minute, `first` and `last` go by log position, whatever order the events are
    /// added in; at one position (events counted before they are logged, `UNLOGGED`) the one
    /// added first is the first and the one added last the last.
    #[test]
    fn first_and_last_go_by_log_position_within_a_minute() {
        let (last, first) = (&queries()[3], &queries()[4]);
        let at = Timestamp(1_800_000_000_000);
        let k = |v: &str| -> Map { json!({"k": v}).as_object().cloned().unwrap_or_default() };
        for (q, expected) in [(first, json!("a")), (last, json!("d"))] {
            let mut c = Counter::default();
            for (seq, v) in [(5, "b"), (3, "a"), (7, "c"), (7, "d"), (6, "e"), (3, "f")] {
                c.add(q, EventSeq(seq), at, &k(v));
            }
            assert_eq!(c.evaluate(q, at), expected, "{}", q.key);
        }
    }

    #[test]
    fn windows_at_the_ends_of_time_stop_there() {
        let q = &queries()[0];
        for now in [Timestamp(i64::MIN + 5), Timestamp(i64::MAX - 5), Timestamp(i64::MAX)] {
            let (lo, hi) = window(Duration::days(7), now);
            assert!(lo <= now && now <= hi, "{now:?}: {lo:?}..{hi:?}");
            let mut counter = Counter::default();
            counter.add(q, EventSeq(1), now, &Map::new());
            assert_eq!((counter.evaluate(q, now), in_window(q.within, now, now)), (json!(1), true));
        }
        assert_eq!(window(Duration::days(7), Timestamp(i64::MIN + 5)).0, Timestamp(i64::MIN));
        assert_eq!(window(Duration::days(7), Timestamp(i64::MAX)).1, Timestamp(i64::MAX));
    }

    #[test]
    fn windows_are_whole_minutes() {
        let now = Timestamp::parse("2026-11-23T10:30:40Z").expect("t");
        let (lo, hi) = window(Duration::hours(1), now);
        assert_eq!((lo.to_string(), hi.to_string()), ("2026-11-23T09:30:00.000Z".to_owned(), "2026-11-23T10:30:59.999Z".to_owned()));
    }
}
