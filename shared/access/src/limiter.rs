//! Failed-login limiting: at most `max_failures` failures per key within a sliding
//! window. Only failures count, which a GCRA limiter (`governor`) cannot express
//! without consuming a cell on every attempt: a user who logs in successfully many
//! times is never locked out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys above which stale entries are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must wait before its next attempt, if it is locked.
    pub fn retry_after(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = failures.get_mut(key)?;
        self.forget_old(list, now);
        if list.len() < self.max_failures {
            return None;
        }
        let oldest = *list.front()?;
        Some(
            (oldest + self.window)
                .saturating_duration_since(now)
                .max(Duration::from_secs(1)),
        )
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, list| {
                list.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let list = failures.entry(key.to_owned()).or_default();
        self.forget_old(list, now);
        list.push_back(now);
    }

    /// A success forgets the key's failures.
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    fn forget_old(&self, list: &mut VecDeque<Instant>, now: Instant) {
        while list
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            list.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_key_after_its_failures_until_the_oldest_leaves_the_window() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.retry_after("a", start), None);
            limiter.record_failure("a", start + Duration::from_secs(i * 10));
        }
        let wait = limiter
            .retry_after("a", start + Duration::from_secs(30))
            .unwrap();
        assert_eq!(wait, Duration::from_secs(30));
        assert_eq!(limiter.retry_after("b", start), None, "other keys are free");
        assert_eq!(
            limiter.retry_after("a", start + Duration::from_secs(60)),
            None
        );
    }

    #[test]
    fn a_success_clears_the_failures() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60));
        let now = Instant::now();
        limiter.record_failure("a", now);
        limiter.record_failure("a", now);
        assert!(limiter.retry_after("a", now).is_some());
        limiter.clear("a");
        assert!(limiter.retry_after("a", now).is_none());
    }
}
