//! The pre-authentication limiter: a token bucket of failed authentications per client
//! address, consulted before any password is checked. An attempt takes a token up front and
//! gives it back when the password verifies, so only failures spend the allowance, and
//! concurrent attempts cannot overshoot it.
//!
//! Memory is bounded: buckets that have refilled are dropped, and past [`MAX_TRACKED`]
//! addresses the newcomers share one bucket (an attack from that many addresses is still
//! bounded by the password-check cap).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Distinct client addresses tracked at once.
const MAX_TRACKED: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
pub struct FailureLimiter {
    /// Tokens per second, and the bucket's size.
    refill_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<Option<IpAddr>, Bucket>>,
}

/// One attempt's token, taken from its address's bucket. Dropped, the attempt counts as a
/// failure; [`Attempt::refund`] gives the token back.
#[derive(Debug)]
pub struct Attempt {
    limiter: Arc<FailureLimiter>,
    key: Option<IpAddr>,
}

impl FailureLimiter {
    pub fn per_minute(failures: u32) -> Self {
        let burst = f64::from(failures.max(1));
        FailureLimiter { refill_per_sec: burst / 60.0, burst, buckets: Mutex::new(HashMap::new()) }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let earned = now.saturating_duration_since(b.at).as_secs_f64() * self.refill_per_sec;
        b.tokens = (b.tokens + earned).min(self.burst);
        b.at = now;
    }

    /// Takes a token for an attempt from `client` (a [`super::client_key`]; `None` when
    /// unknown, all such share a bucket), or says how long until the next one.
    pub fn attempt(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Attempt, Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&client) {
            buckets.retain(|_, b| {
                self.refill(b, now);
                b.tokens < self.burst
            });
        }
        let key = if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&client) { None } else { client };
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.burst, at: now });
        self.refill(bucket, now);
        if bucket.tokens < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.refill_per_sec));
        }
        bucket.tokens -= 1.0;
        Ok(Attempt { limiter: self.clone(), key })
    }
}

impl Attempt {
    /// The credential verified (or no check ran): the token goes back.
    pub fn refund(self) {
        let mut buckets = self.limiter.buckets.lock();
        if let Some(b) = buckets.get_mut(&self.key) {
            b.tokens = (b.tokens + 1.0).min(self.limiter.burst);
            if b.tokens >= self.limiter.burst {
                buckets.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_spend_the_allowance_successes_do_not() {
        let l = Arc::new(FailureLimiter::per_minute(3));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..10 {
            l.attempt(Some(a)).unwrap().refund();
        }
        let held: Vec<_> = (0..3).map(|_| l.attempt(Some(a)).unwrap()).collect();
        let wait = l.attempt(Some(a)).unwrap_err();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        l.attempt(Some(b)).expect("another address has its own allowance");
        drop(held);
        assert!(l.attempt(Some(a)).is_err(), "dropped attempts were failures");
        assert!(l.buckets.lock().len() <= 2);
    }
}
