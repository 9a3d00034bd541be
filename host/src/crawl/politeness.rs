//! Per-host politeness: at most N requests in flight to one host, and request starts to
//! one host spaced by at least a delay. One limiter belongs to one run, with that job's
//! settings; the robots.txt `Crawl-delay` of a host can only lengthen the delay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The limiter of one run.
#[derive(Debug)]
pub struct HostLimiter {
    per_host: usize,
    delay: Duration,
    /// A std mutex: held only to look up or insert a host, never across an await.
    hosts: Mutex<HashMap<String, Arc<HostSlot>>>,
}

#[derive(Debug)]
struct HostSlot {
    permits: Arc<Semaphore>,
    /// When the next request to this host may start. A std mutex: read and bumped in
    /// one short critical section, never held across an await.
    next: Mutex<Instant>,
}

/// The right to send one request to a host; dropping it frees the host's slot.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

impl HostLimiter {
    /// `per_host` requests at once per host (at least 1), `delay` between request starts.
    pub fn new(per_host: usize, delay: Duration) -> Self {
        Self {
            per_host: per_host.max(1),
            delay,
            hosts: Mutex::default(),
        }
    }

    fn slot(&self, host: &str) -> Arc<HostSlot> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| {
                Arc::new(HostSlot {
                    permits: Arc::new(Semaphore::new(self.per_host)),
                    next: Mutex::new(Instant::now()),
                })
            })
            .clone()
    }

    /// Wait for a turn at `host`; `min_delay` (a robots.txt crawl delay) lengthens the
    /// run's delay for this host when it is longer.
    pub async fn acquire(&self, host: &str, min_delay: Duration) -> Turn {
        let slot = self.slot(host);
        let permit = slot
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        let start = {
            let mut next = slot.next.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*next).max(Instant::now());
            // Reserve the start time now, so waiters queue behind each other in order.
            *next = start + self.delay.max(min_delay);
            start
        };
        tokio::time::sleep_until(start).await;
        Turn { _permit: permit }
    }

    /// Keep every request to `host` from starting before `until` (a 429 or 503 with
    /// `Retry-After` is about the whole host, not one URL).
    pub fn defer(&self, host: &str, until: Instant) {
        let slot = self.slot(host);
        let mut next = slot.next.lock().unwrap_or_else(|e| e.into_inner());
        *next = (*next).max(until);
    }
}

/// The politeness key of a URL: host and port, so two sites on one machine's different
/// ports are two hosts, as they are to robots.txt.
pub fn host_key(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_request_starts_per_host() {
        let limiter = Arc::new(HostLimiter::new(4, Duration::from_millis(100)));
        let begin = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..4 {
            let _turn = limiter.acquire("a:80", Duration::ZERO).await;
            starts.push(begin.elapsed());
        }
        assert_eq!(
            starts,
            [0, 100, 200, 300].map(Duration::from_millis).to_vec()
        );
        // Another host is not held up by the first one's delay.
        let other = Instant::now();
        let _turn = limiter.acquire("b:80", Duration::ZERO).await;
        assert_eq!(other.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn crawl_delay_lengthens_but_never_shortens() {
        let limiter = HostLimiter::new(1, Duration::from_millis(100));
        let begin = Instant::now();
        drop(limiter.acquire("a:80", Duration::from_millis(500)).await);
        drop(limiter.acquire("a:80", Duration::from_millis(10)).await);
        assert_eq!(begin.elapsed(), Duration::from_millis(500));
        drop(limiter.acquire("a:80", Duration::ZERO).await);
        assert_eq!(begin.elapsed(), Duration::from_millis(600));
    }

    #[tokio::test(start_paused = true)]
    async fn bounds_requests_in_flight_per_host() {
        let limiter = Arc::new(HostLimiter::new(2, Duration::ZERO));
        let first = limiter.acquire("a:80", Duration::ZERO).await;
        let _second = limiter.acquire("a:80", Duration::ZERO).await;
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire("a:80", Duration::ZERO).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            !waiting.is_finished(),
            "a third request to one host must wait"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the freed slot is taken")
            .expect("task");
    }

    #[tokio::test(start_paused = true)]
    async fn defer_holds_the_host() {
        let limiter = HostLimiter::new(2, Duration::ZERO);
        let begin = Instant::now();
        limiter.defer("a:80", begin + Duration::from_secs(3));
        drop(limiter.acquire("a:80", Duration::ZERO).await);
        assert_eq!(begin.elapsed(), Duration::from_secs(3));
    }

    #[test]
    fn host_keys_include_the_port() {
        let key = |u: &str| host_key(&url::Url::parse(u).expect("url"));
        assert_eq!(key("https://Example.com/a"), "example.com:443");
        assert_eq!(key("http://example.com:8080/"), "example.com:8080");
        assert_ne!(key("http://a.test/"), key("https://a.test/"));
    }
}
