//! A token bucket: a channel's rate limit. It holds one second's worth of tokens (at least
//! one), refilled continuously; each send takes one, waiting for it when there is none.

use std::time::Duration;

use tokio::time::Instant;

pub(crate) struct Bucket {
    /// Tokens per second; 0 or less: no limit.
    rate: f64,
    state: std::sync::Mutex<State>,
}

struct State {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: f64) -> Bucket {
        Bucket { rate, state: std::sync::Mutex::new(State { tokens: rate.max(1.0), at: Instant::now() }) }
    }

    /// Takes a token now, or says how long until one is there.
    fn take(&self) -> Result<(), Duration> {
        // The state stays consistent whatever panicked while holding it (plain arithmetic).
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        s.tokens = (s.tokens + now.duration_since(s.at).as_secs_f64() * self.rate).min(self.rate.max(1.0));
        s.at = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - s.tokens) / self.rate))
        }
    }

    /// Waits for a token and takes it. Cancel-safe: a token is only taken when this returns.
    pub(crate) async fn acquire(&self) {
        if self.rate <= 0.0 {
            return;
        }
        while let Err(wait) = self.take() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many tokens are taken in `secs` seconds of (paused, driven) time.
    async fn taken_in(bucket: &Bucket, secs: u64) -> usize {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut n = 0;
        loop {
            bucket.acquire().await;
            if Instant::now() > end {
                return n;
            }
            n += 1;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_a_second_s_burst_through_then_its_rate() {
        let bucket = Bucket::new(5.0);
        // 5 at once, then one every 200 ms: 5 + 5 per second.
        assert_eq!(taken_in(&bucket, 3).await, 5 + 15);
        let slow = Bucket::new(0.5);
        assert_eq!(taken_in(&slow, 10).await, 1 + 5, "below one a second: one at once, then one every 2 s");
    }

    #[tokio::test(start_paused = true)]
    async fn no_rate_means_no_limit_and_no_waiting() {
        let bucket = Bucket::new(0.0);
        let start = Instant::now();
        for _ in 0..10_000 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
