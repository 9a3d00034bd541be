//! The API's request rate per key: a token bucket (GCRA) per API key, in this host's
//! memory. Each host limits the requests it serves on its own. One keyed limiter per
//! distinct rate (the host's default, and each rate a user's override asks for), and every
//! limiter forgets keys idle long enough to be full again, so memory stays bounded by the
//! keys in recent use.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::ids::ApiKeyId;

/// A rate: requests per second, and how many may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: NonZeroU32,
    /// Requests at once (the bucket's size).
    pub burst: NonZeroU32,
}

impl Rate {
    /// A rate from a configured or overridden pair; `None` (no limit) when the rate is 0.
    /// A burst below 1 counts as 1.
    pub fn new(per_second: i64, burst: i64) -> Option<Self> {
        let per_second = NonZeroU32::new(u32::try_from(per_second.max(0)).unwrap_or(u32::MAX))?;
        let burst = NonZeroU32::new(u32::try_from(burst.max(1)).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        Some(Self { per_second, burst })
    }
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let through.
    Allowed {
        /// The bucket's size.
        limit: u32,
        /// Requests left in it now.
        remaining: u32,
    },
    /// Over the rate.
    Limited {
        /// The bucket's size.
        limit: u32,
        /// Whole seconds until one more request goes through (at least 1).
        retry_after_secs: u64,
    },
}

type KeyedLimiter = RateLimiter<
    ApiKeyId,
    DefaultKeyedStateStore<ApiKeyId>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// How often idle keys are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The rate limits of this host's API keys.
pub struct RateLimits {
    /// The host's default; `None`: no limit.
    default: Option<Rate>,
    /// One limiter per rate in use. A std mutex: held to look up or insert an entry, never
    /// across an await.
    limiters: Mutex<HashMap<Rate, Arc<KeyedLimiter>>>,
    /// When idle keys were last forgotten.
    swept: Mutex<Instant>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Limits with this default rate (`None`: none).
    pub fn new(default: Option<Rate>) -> Self {
        Self {
            default,
            limiters: Mutex::default(),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// The host's default rate.
    pub fn default_rate(&self) -> Option<Rate> {
        self.default
    }

    /// Count one request of `key` at `rate` (`None`: not limited, and nothing is kept).
    pub fn check(&self, key: ApiKeyId, rate: Option<Rate>) -> Option<Decision> {
        let rate = rate?;
        self.sweep_now_and_then();
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
            limiters
                .entry(rate)
                .or_insert_with(|| {
                    let quota = Quota::per_second(rate.per_second).allow_burst(rate.burst);
                    Arc::new(RateLimiter::keyed(quota).with_middleware())
                })
                .clone()
        };
        let limit = rate.burst.get();
        Some(match limiter.check_key(&key) {
            Ok(state) => Decision::Allowed {
                limit,
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                // Whole seconds, rounded up: a client that waits that long gets through.
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Decision::Limited {
                    limit,
                    retry_after_secs: secs.max(1),
                }
            }
        })
    }

    /// Keys whose bucket is full again are indistinguishable from new ones: forget them,
    /// and the limiters of overridden rates no key uses any more, once a minute at most.
    fn sweep_now_and_then(&self) {
        {
            let Ok(mut swept) = self.swept.try_lock() else {
                return;
            };
            if swept.elapsed() < SWEEP_EVERY {
                return;
            }
            *swept = Instant::now();
        }
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        limiters.retain(|rate, limiter| {
            limiter.retain_recent();
            limiter.shrink_to_fit();
            Some(*rate) == self.default || !limiter.is_empty()
        });
    }

    /// Keys held across every limiter (for tests of the memory bound).
    pub fn keys_held(&self) -> usize {
        let limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        limiters.values().map(|l| l.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: i64, burst: i64) -> Option<Rate> {
        Rate::new(per_second, burst)
    }

    /// The burst goes through, the next request waits a second; another key has its own.
    #[test]
    fn each_key_has_its_own_bucket() {
        let limits = RateLimits::new(rate(1, 3));
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let r = limits.default_rate();
        for left in [2, 1, 0] {
            assert_eq!(
                limits.check(a, r),
                Some(Decision::Allowed {
                    limit: 3,
                    remaining: left
                })
            );
        }
        assert_eq!(
            limits.check(a, r),
            Some(Decision::Limited {
                limit: 3,
                retry_after_secs: 1
            })
        );
        assert!(matches!(
            limits.check(b, r),
            Some(Decision::Allowed { remaining: 2, .. })
        ));
        assert_eq!(limits.keys_held(), 2);
    }

    /// A rate of 0 is no limit, and keeps nothing.
    #[test]
    fn no_rate_no_limit() {
        assert_eq!(Rate::new(0, 10), None);
        let limits = RateLimits::new(None);
        for _ in 0..1000 {
            assert_eq!(limits.check(ApiKeyId::new(), None), None);
        }
        assert_eq!(limits.keys_held(), 0);
    }

    /// A slow rate asks for a longer wait, in whole seconds.
    #[test]
    fn retry_after_is_whole_seconds() {
        let limits = RateLimits::new(None);
        let key = ApiKeyId::new();
        let slow = Some(Rate {
            per_second: NonZeroU32::MIN,
            burst: NonZeroU32::MIN,
        });
        assert!(matches!(
            limits.check(key, slow),
            Some(Decision::Allowed { .. })
        ));
        assert!(matches!(
            limits.check(key, slow),
            Some(Decision::Limited {
                retry_after_secs: 1,
                ..
            })
        ));
    }

    /// Forgetting keys whose buckets are full again bounds what is kept.
    #[test]
    fn idle_keys_are_forgotten() {
        let limits = RateLimits::new(rate(1000, 1));
        let r = limits.default_rate();
        for _ in 0..100 {
            limits.check(ApiKeyId::new(), r);
        }
        assert_eq!(limits.keys_held(), 100);
        std::thread::sleep(Duration::from_millis(20));
        if let Some(long_ago) = Instant::now().checked_sub(SWEEP_EVERY) {
            *limits.swept.lock().expect("not poisoned") = long_ago;
        }
        limits.check(ApiKeyId::new(), r);
        assert!(limits.keys_held() <= 1, "{}", limits.keys_held());
    }
}
