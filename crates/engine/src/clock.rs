//! Time, as the engine sees it. Tests drive a `ManualClock`; production uses `SystemClock`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::time::Timestamp;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
    /// How long to sleep to reach `until` in real time; `None` for clocks that only move
    /// when told (the engine then waits for `Engine::wake`).
    fn real_wait(&self, until: Timestamp) -> Option<Duration>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        Timestamp(ms)
    }

    fn real_wait(&self, until: Timestamp) -> Option<Duration> {
        Some(Duration::from_millis(until.0.saturating_sub(self.now().0).max(0) as u64))
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(start.0))
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }

    pub fn advance(&self, d: domain::time::Duration) -> Timestamp {
        Timestamp(self.0.fetch_add(d.as_millis(), Ordering::SeqCst) + d.as_millis())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }

    fn real_wait(&self, _until: Timestamp) -> Option<Duration> {
        None
    }
}
