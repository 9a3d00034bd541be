//! robots.txt: fetched once per origin and user agent, cached with a TTL, parsed by the
//! `texting_robots` crate, with `Crawl-delay`.
//!
//! Unavailable robots.txt (a 4xx) allows everything; unreachable (5xx, network errors)
//! disallows everything for a short while, as RFC 9309 §2.3.1 asks: a server that is
//! failing is not one to crawl harder.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// What fetching `/robots.txt` gave.
#[derive(Debug)]
pub enum RobotsBody {
    /// A 2xx with this body (capped by the caller).
    Found(Vec<u8>),
    /// A 4xx: there are no rules.
    Unavailable,
    /// A 5xx or a network error: the site cannot say what it allows.
    Unreachable(String),
}

/// The rules of one origin for one agent.
#[derive(Debug)]
pub struct Rules {
    robot: Option<texting_robots::Robot>,
    unreachable: Option<String>,
}

/// Whether a URL may be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// robots.txt disallows it for our agent.
    Disallowed,
    /// robots.txt could not be fetched; nothing is fetched until it can be.
    Unreachable(String),
}

impl Rules {
    /// Rules for `agent` from what the fetch gave. A file the parser rejects allows
    /// everything: RFC 9309 asks crawlers to use what they can parse, and refusing a whole
    /// site for a typo would be the larger surprise.
    pub fn new(agent: &str, body: RobotsBody) -> Self {
        match body {
            RobotsBody::Found(txt) => Self {
                robot: texting_robots::Robot::new(agent, &txt).ok(),
                unreachable: None,
            },
            RobotsBody::Unavailable => Self {
                robot: None,
                unreachable: None,
            },
            RobotsBody::Unreachable(reason) => Self {
                robot: None,
                unreachable: Some(reason),
            },
        }
    }

    /// The verdict on `url`.
    pub fn verdict(&self, url: &str) -> Verdict {
        if let Some(reason) = &self.unreachable {
            return Verdict::Unreachable(reason.clone());
        }
        match &self.robot {
            Some(robot) if !robot.allowed(url) => Verdict::Disallowed,
            _ => Verdict::Allowed,
        }
    }

    /// The sitemaps its `Sitemap:` lines name (they apply to every agent).
    pub fn sitemaps(&self) -> &[String] {
        self.robot.as_ref().map_or(&[], |r| r.sitemaps.as_slice())
    }

    /// The `Crawl-delay` for our agent, if any (negative or absurd values are ignored).
    pub fn crawl_delay(&self) -> Option<Duration> {
        let seconds = self.robot.as_ref()?.delay?;
        Duration::try_from_secs_f32(seconds).ok()
    }
}

/// The robots.txt token of a User-Agent: its first product name (`trawl` for
/// `trawl/0.1 (+https://…)`), the part robots.txt `User-agent:` lines name.
pub fn agent_token(user_agent: &str) -> &str {
    let end = user_agent
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(user_agent.len());
    match &user_agent[..end] {
        "" => "*",
        token => token,
    }
}

/// `scheme://host:port`, the scope of one robots.txt.
pub fn origin(url: &url::Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// One origin and agent's rules, filled by the first caller; the others wait for it.
type Slot = Arc<OnceCell<Cached>>;

#[derive(Debug)]
struct Cached {
    rules: Arc<Rules>,
    expires: Instant,
}

/// The host-wide cache. Concurrent pages of one origin wait for a single fetch.
#[derive(Debug)]
pub struct RobotsCache {
    ttl: Duration,
    unreachable_ttl: Duration,
    /// A std mutex: held only to find or replace an entry, never across an await.
    entries: Mutex<HashMap<(String, String), Slot>>,
}

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

impl RobotsCache {
    /// Keep rules for `ttl`, and an unreachable robots.txt's refusal for `unreachable_ttl`.
    pub fn new(ttl: Duration, unreachable_ttl: Duration) -> Self {
        Self {
            ttl,
            unreachable_ttl,
            entries: Mutex::default(),
        }
    }

    /// The rules for `origin` and `agent`, calling `fetch` when there are none fresh.
    pub async fn rules<F, Fut>(&self, origin: &str, agent: &str, fetch: F) -> Arc<Rules>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = RobotsBody>,
    {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if entries.len() >= SWEEP_AT {
                entries.retain(|_, c| c.get().is_none_or(|c| c.expires > now));
            }
            let key = (origin.to_owned(), agent.to_owned());
            match entries.get(&key) {
                Some(cell) if cell.get().is_none_or(|c| c.expires > now) => cell.clone(),
                _ => {
                    let cell = Arc::new(OnceCell::new());
                    entries.insert(key, cell.clone());
                    cell
                }
            }
        };
        let cached = cell
            .get_or_init(|| async {
                let rules = Rules::new(agent, fetch().await);
                let ttl = if rules.unreachable.is_some() {
                    self.unreachable_ttl
                } else {
                    self.ttl
                };
                Cached {
                    rules: Arc::new(rules),
                    expires: Instant::now() + ttl,
                }
            })
            .await;
        cached.rules.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const TXT: &[u8] = b"User-agent: *\nDisallow: /private\nCrawl-delay: 2\n\n\
                         User-agent: trawl\nDisallow: /no-trawl\nAllow: /no-trawl/but-this\nCrawl-delay: 0.5\n";

    #[test]
    fn verdicts_for_our_agent_and_others() {
        let ours = Rules::new("trawl", RobotsBody::Found(TXT.to_vec()));
        assert_eq!(
            ours.verdict("http://a.test/no-trawl/x"),
            Verdict::Disallowed
        );
        assert_eq!(
            ours.verdict("http://a.test/no-trawl/but-this"),
            Verdict::Allowed
        );
        // A group for our agent replaces the `*` group.
        assert_eq!(ours.verdict("http://a.test/private"), Verdict::Allowed);
        assert_eq!(ours.crawl_delay(), Some(Duration::from_millis(500)));

        let other = Rules::new("otherbot", RobotsBody::Found(TXT.to_vec()));
        assert_eq!(
            other.verdict("http://a.test/private/1"),
            Verdict::Disallowed
        );
        assert_eq!(other.crawl_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn missing_allows_and_unreachable_refuses() {
        let missing = Rules::new("trawl", RobotsBody::Unavailable);
        assert_eq!(missing.verdict("http://a.test/x"), Verdict::Allowed);
        assert_eq!(missing.crawl_delay(), None);
        let down = Rules::new("trawl", RobotsBody::Unreachable("503".into()));
        assert_eq!(
            down.verdict("http://a.test/x"),
            Verdict::Unreachable("503".into())
        );
    }

    #[test]
    fn agent_tokens() {
        assert_eq!(agent_token("trawl/0.1.0 (+https://x)"), "trawl");
        assert_eq!(agent_token("My-Bot_2"), "My-Bot_2");
        assert_eq!(agent_token(""), "*");
    }

    #[tokio::test(start_paused = true)]
    async fn fetched_once_per_ttl_even_when_asked_at_once() {
        let cache = Arc::new(RobotsCache::new(
            Duration::from_secs(60),
            Duration::from_secs(5),
        ));
        let fetches = Arc::new(AtomicUsize::new(0));
        let ask = |cache: Arc<RobotsCache>, fetches: Arc<AtomicUsize>| async move {
            cache
                .rules("http://a.test:80", "trawl", || async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    RobotsBody::Found(TXT.to_vec())
                })
                .await
        };
        let both = tokio::join!(
            ask(cache.clone(), fetches.clone()),
            ask(cache.clone(), fetches.clone())
        );
        assert_eq!(both.0.verdict("/no-trawl"), Verdict::Disallowed);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(59)).await;
        ask(cache.clone(), fetches.clone()).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        ask(cache.clone(), fetches.clone()).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 2, "refetched after the TTL");
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_is_retried_sooner() {
        let cache = RobotsCache::new(Duration::from_secs(3600), Duration::from_secs(5));
        let down = cache
            .rules("http://a.test:80", "trawl", || async {
                RobotsBody::Unreachable("503".into())
            })
            .await;
        assert!(matches!(down.verdict("/"), Verdict::Unreachable(_)));
        tokio::time::sleep(Duration::from_secs(6)).await;
        let up = cache
            .rules("http://a.test:80", "trawl", || async {
                RobotsBody::Unavailable
            })
            .await;
        assert_eq!(up.verdict("/"), Verdict::Allowed);
    }
}
