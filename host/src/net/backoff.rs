//! Retry timing: exponential backoff with full jitter, and `Retry-After`.
//!
//! Full jitter (a uniformly random wait between zero and the exponential bound) spreads
//! the retries of many pages that failed together, so a recovering server is not hit by
//! a synchronised wave (the AWS architecture blog's "Exponential Backoff And Jitter").

use std::time::{Duration, SystemTime};

/// When to retry, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Bound of the wait before the first retry; each later retry doubles it.
    pub base: Duration,
    /// The bound never grows past this.
    pub cap: Duration,
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
}

impl Backoff {
    /// The upper bound of the wait after `attempt` failed attempts (1-based): `base·2^(attempt-1)`,
    /// at most `cap`.
    pub fn bound(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.base
            .checked_mul(1 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// The wait after `attempt` failed attempts: uniform in `[0, bound(attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.bound(attempt).mul_f64(fastrand::f64())
    }

    /// Whether another attempt may follow `attempt` failed ones.
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

/// The wait a `Retry-After` header asks for: delay-seconds or an HTTP date (RFC 9110
/// §10.2.3). A date in the past means "now"; anything unparsable is ignored.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        max_attempts: 3,
    };

    #[test]
    fn bound_doubles_up_to_the_cap() {
        assert_eq!(B.bound(1), Duration::from_millis(100));
        assert_eq!(B.bound(2), Duration::from_millis(200));
        assert_eq!(B.bound(4), Duration::from_millis(800));
        assert_eq!(B.bound(5), Duration::from_secs(1));
        assert_eq!(B.bound(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn delay_is_full_jitter_within_the_bound() {
        let delays: Vec<Duration> = (0..200).map(|_| B.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(400)));
        // Full jitter: the waits spread over the range instead of bunching at the bound.
        assert!(delays.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(300)));
    }

    #[test]
    fn attempts_are_capped() {
        assert!(B.may_retry(1));
        assert!(B.may_retry(2));
        assert!(!B.may_retry(3));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("date");
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
