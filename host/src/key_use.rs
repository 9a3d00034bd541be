//! When this host last recorded each API key's use. A key's `last_used_at` is written at
//! most once per [`KeyUse::EVERY`] per host, beside the request rather than in it: an
//! UPDATE in every request's authentication made every request of a key wait for the row
//! lock and the commit of the one before it (on a busy server, the WAL flush behind a
//! crawl's writes), so fifty clients of one key took turns.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::ApiKeyId;

/// The keys this host recorded as used lately.
#[derive(Debug)]
pub struct KeyUse {
    every: Duration,
    /// When each key's use was last recorded. A std mutex: held for a lookup, never
    /// across an await.
    last: Mutex<HashMap<ApiKeyId, Instant>>,
}

impl Default for KeyUse {
    fn default() -> Self {
        Self::new(Self::EVERY)
    }
}

impl KeyUse {
    /// How stale a key's `last_used_at` may be.
    pub const EVERY: Duration = Duration::from_secs(60);
    /// Keys remembered at most: past it the stale ones are forgotten, and when none is,
    /// every use is recorded (more writes, never more memory).
    const MAX_KEYS: usize = 100_000;

    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this use of `key`, at `now`, is to be recorded; when it is, it counts as
    /// recorded from `now`.
    pub fn due(&self, key: ApiKeyId, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < self.every;
        if last.get(&key).is_some_and(fresh) {
            return false;
        }
        if last.len() >= Self::MAX_KEYS && !last.contains_key(&key) {
            last.retain(|_, at| fresh(at));
            if last.len() >= Self::MAX_KEYS {
                return true;
            }
        }
        last.insert(key, now);
        true
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> ApiKeyId {
        ApiKeyId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_key_is_recorded_once_per_interval() {
        let uses = KeyUse::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(uses.due(key(1), t0));
        assert!(!uses.due(key(1), t0 + Duration::from_secs(1)));
        assert!(!uses.due(key(1), t0 + Duration::from_secs(59)));
        // Another key is its own.
        assert!(uses.due(key(2), t0 + Duration::from_secs(1)));
        assert!(uses.due(key(1), t0 + Duration::from_secs(60)));
        assert!(!uses.due(key(1), t0 + Duration::from_secs(61)));
    }

    #[test]
    fn memory_stays_bounded_by_the_keys_in_recent_use() {
        let uses = KeyUse::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for n in 0..KeyUse::MAX_KEYS as u128 {
            assert!(uses.due(key(n), t0));
        }
        assert_eq!(uses.remembered(), KeyUse::MAX_KEYS);
        // All still fresh: a new key is recorded, and not remembered.
        assert!(uses.due(key(u128::MAX), t0));
        assert!(uses.due(key(u128::MAX), t0));
        assert_eq!(uses.remembered(), KeyUse::MAX_KEYS);
        // Once they are stale, they are forgotten to make room.
        let later = t0 + Duration::from_secs(61);
        assert!(uses.due(key(u128::MAX), later));
        assert_eq!(uses.remembered(), 1);
        assert!(!uses.due(key(u128::MAX), later));
    }
}
