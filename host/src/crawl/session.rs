//! A run's way of fetching: the shared fetcher plus the job's politeness (per-host
//! concurrency and delay, robots.txt), retries with backoff, and what the run's requests
//! carry: a cookie jar of its own, the job's headers, method and body, and its proxies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::fetch::{Accept, Client, FetchError, Fetched, Fetcher, Raw, RequestOptions};
use super::politeness::{self, HostLimiter};
use super::robots::{self, RobotsBody, Rules, Verdict};
use crate::model::job::FetchSettings;
use crate::model::reach::{JobSecrets, Method, ProxyRotation};
use crate::net::backoff::Backoff;

/// RFC 9309 asks crawlers to read at least 500 KiB of robots.txt.
const ROBOTS_MAX_BODY: u64 = 512 * 1024;

/// Proxy errors in a row after which a proxy is rested.
const PROXY_FAILURES: u32 = 3;

/// How long a failing proxy is rested before it is tried again.
const PROXY_REST: Duration = Duration::from_secs(60);

/// How a visit ended.
#[derive(Debug)]
pub enum VisitResult<T = Fetched> {
    /// Fetched: hand it to the extractor.
    Fetched(T),
    /// Deliberately not fetched, or not extracted from: robots.txt, a content type.
    Skipped {
        /// Stable code: `robots_disallowed`, `robots_unreachable`, `unsupported_content_type`.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Failed, after the retries it deserved.
    Failed(FetchError),
}

/// One page's visit: what happened and in how many attempts.
#[derive(Debug)]
pub struct Visit<T = Fetched> {
    /// The outcome.
    pub result: VisitResult<T>,
    /// Requests sent for the page (robots.txt not counted).
    pub attempts: u32,
    /// The status of the last response, when there was one.
    pub status: Option<u16>,
}

/// A run's way of fetching: the shared fetcher plus the job's politeness and retries.
#[derive(Debug)]
pub struct Session {
    fetcher: Fetcher,
    limiter: HostLimiter,
    backoff: Backoff,
    /// What the job's pages are requested with.
    options: RequestOptions,
    /// What everything else on the site is requested with: GET, any media type.
    other: RequestOptions,
    obey_robots: bool,
    routes: Routes,
}

/// The clients a run's requests go out on, all sharing its cookie jar: one direct, or
/// one per proxy.
#[derive(Debug)]
struct Routes {
    direct: Client,
    proxies: Vec<ProxyRoute>,
    rotation: ProxyRotation,
    next: AtomicUsize,
}

#[derive(Debug)]
struct ProxyRoute {
    client: Client,
    failures: AtomicU32,
    /// A std mutex: held only to read or set the instant.
    rested_until: std::sync::Mutex<Option<Instant>>,
}

impl ProxyRoute {
    fn rested(&self, now: Instant) -> Option<Instant> {
        let until = *self.rested_until.lock().unwrap_or_else(|e| e.into_inner());
        until.filter(|u| *u > now)
    }
}

impl Routes {
    /// The route for a request to `host`: the direct client, or a proxy by the job's
    /// rotation among those not resting (the one back soonest when all are).
    fn pick(&self, host: &str) -> (Option<usize>, &Client) {
        let n = self.proxies.len();
        if n == 0 {
            return (None, &self.direct);
        }
        let first = match self.rotation {
            ProxyRotation::PerRequest => self.next.fetch_add(1, Ordering::Relaxed) % n,
            ProxyRotation::StickyHost => {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                host.hash(&mut hasher);
                (hasher.finish() % n as u64) as usize
            }
        };
        let now = Instant::now();
        let mut soonest = (first, None::<Instant>);
        for i in (0..n).map(|k| (first + k) % n) {
            match self.proxies[i].rested(now) {
                None => return (Some(i), &self.proxies[i].client),
                Some(until) if soonest.1.is_none_or(|s| until < s) => soonest = (i, Some(until)),
                Some(_) => {}
            }
        }
        (Some(soonest.0), &self.proxies[soonest.0].client)
    }

    /// Count a request's outcome against its proxy: a proxy that fails
    /// [`PROXY_FAILURES`] times in a row rests for [`PROXY_REST`].
    fn report(&self, route: Option<usize>, result: &Result<Raw, FetchError>) {
        let Some(proxy) = route.and_then(|i| self.proxies.get(i)) else {
            return;
        };
        if matches!(result, Err(FetchError::Proxy { .. })) {
            if proxy.failures.fetch_add(1, Ordering::Relaxed) + 1 >= PROXY_FAILURES {
                proxy.failures.store(0, Ordering::Relaxed);
                *proxy.rested_until.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now() + PROXY_REST);
                tracing::info!(
                    proxy = proxy.client.proxy().unwrap_or_default(),
                    "resting a proxy that failed {PROXY_FAILURES} times in a row"
                );
            }
        } else {
            proxy.failures.store(0, Ordering::Relaxed);
        }
    }
}

impl Session {
    /// A session for a job's settings and secrets, clamped to the host's caps. Fails when
    /// a header or proxy of the secrets cannot be used (the API checked them already).
    pub fn new(
        fetcher: Fetcher,
        settings: &FetchSettings,
        secrets: &JobSecrets,
    ) -> Result<Self, String> {
        let config = fetcher.config.clone();
        let per_host = settings
            .per_host_concurrency
            .clamp(1, config.max_per_host_concurrency.max(1));
        let delay = Duration::from_millis(settings.delay_ms).max(config.min_host_delay);
        let timeout = settings
            .timeout_ms
            .map_or(config.timeout, Duration::from_millis)
            .min(config.timeout);
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &secrets.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| "a header name of the job's secrets is not valid".to_owned())?;
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header {name} is not valid"))?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        let headers = Arc::new(headers);
        let user_agent = settings
            .user_agent
            .clone()
            .unwrap_or_else(|| config.user_agent.clone());
        let max_body = config.max_body.as_u64();
        let mut other = RequestOptions::get(user_agent, timeout, max_body, Accept::any());
        other.headers = headers;
        let options = RequestOptions {
            accept: Accept::new(&settings.content_types),
            method: match settings.method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
            },
            body: settings
                .body
                .as_ref()
                .map(|b| {
                    let (bytes, media_type) = b.encode();
                    (bytes::Bytes::from(bytes), media_type)
                })
                .filter(|_| settings.method == Method::Post),
            ..other.clone()
        };
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let direct = fetcher.run_client(jar.clone(), None)?;
        let proxies = secrets
            .proxies
            .iter()
            .map(|proxy| {
                Ok(ProxyRoute {
                    client: fetcher.run_client(jar.clone(), Some(proxy))?,
                    failures: AtomicU32::new(0),
                    rested_until: std::sync::Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            limiter: HostLimiter::new(per_host as usize, delay),
            backoff: Backoff {
                base: config.retry_base,
                cap: config.retry_cap,
                max_attempts: settings.max_attempts.clamp(1, config.max_attempts.max(1)),
            },
            options,
            other,
            obey_robots: settings.obey_robots,
            routes: Routes {
                direct,
                proxies,
                rotation: settings.proxy_rotation,
                next: AtomicUsize::new(0),
            },
            fetcher,
        })
    }

    /// The fetcher under the session.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The User-Agent the run's requests carry.
    pub fn user_agent(&self) -> &str {
        &self.options.user_agent
    }

    /// Visit one page: guard, robots.txt, a turn at the host, then attempts with backoff;
    /// the body decoded to text.
    pub async fn visit(&self, url: &str) -> Visit {
        let visit = self.visit_as(url, &self.options).await;
        Visit {
            result: match visit.result {
                VisitResult::Fetched(raw) => VisitResult::Fetched(raw.into_fetched()),
                VisitResult::Skipped { code, message } => VisitResult::Skipped { code, message },
                VisitResult::Failed(e) => VisitResult::Failed(e),
            },
            attempts: visit.attempts,
            status: visit.status,
        }
    }

    /// Visit a URL of the site that is not one of the job's pages (a sitemap, a login
    /// page): GET, any media type, the bytes as they came; politeness, robots.txt and
    /// retries as for pages.
    pub async fn visit_other(&self, url: &str) -> Visit<Raw> {
        self.visit_as(url, &self.other).await
    }

    /// Send one request of the run's own making (a login form's POST, a browser's
    /// request): the guard, robots.txt when the job obeys it, a turn at the host, and
    /// retries only when nothing was sent (a proxy or network failure on a GET).
    pub async fn send(
        &self,
        url: &str,
        method: reqwest::Method,
        headers: reqwest::header::HeaderMap,
        body: Option<(bytes::Bytes, &'static str)>,
    ) -> Result<Raw, FetchError> {
        let mut options = self.other.clone();
        if !headers.is_empty() {
            let mut merged = headers;
            // The job's own headers win over whatever the page asked for.
            for (name, value) in self.other.headers.iter() {
                merged.insert(name, value.clone());
            }
            options.headers = Arc::new(merged);
        }
        options.method = method;
        options.body = body;
        let visit = self.visit_as(url, &options).await;
        match visit.result {
            VisitResult::Fetched(raw) => Ok(raw),
            VisitResult::Failed(e) => Err(e),
            VisitResult::Skipped { code, message } => Err(FetchError::Skipped { code, message }),
        }
    }

    /// robots.txt's rules for `url`'s origin, from the host's cache or fetched.
    pub async fn robots(&self, url: &url::Url) -> Arc<Rules> {
        let host = politeness::host_key(url);
        let agent = robots::agent_token(&self.options.user_agent);
        self.fetcher
            .robots
            .rules(&robots::origin(url), agent, || {
                self.fetch_robots(url, &host)
            })
            .await
    }

    async fn visit_as(&self, url: &str, options: &RequestOptions) -> Visit<Raw> {
        let failed = |error, attempts| Visit {
            result: VisitResult::Failed(error),
            attempts,
            status: None,
        };
        let parsed = match self.fetcher.check(url) {
            Ok(p) => p,
            Err(e) => return failed(e, 0),
        };
        let host = politeness::host_key(&parsed);
        let mut crawl_delay = Duration::ZERO;
        if self.obey_robots {
            let agent = robots::agent_token(&self.options.user_agent);
            let rules = self.robots(&parsed).await;
            let skipped = |code, message| Visit {
                result: VisitResult::Skipped { code, message },
                attempts: 0,
                status: None,
            };
            match rules.verdict(parsed.as_str()) {
                Verdict::Allowed => {}
                Verdict::Disallowed => {
                    return skipped(
                        "robots_disallowed",
                        format!("robots.txt disallows {url} for {agent}"),
                    );
                }
                Verdict::Unreachable(reason) => {
                    return skipped(
                        "robots_unreachable",
                        format!(
                            "robots.txt of {url} could not be fetched ({reason}); nothing is fetched until it can be"
                        ),
                    );
                }
            }
            crawl_delay = rules
                .crawl_delay()
                .unwrap_or_default()
                .min(self.fetcher.config.max_crawl_delay);
        }
        let idempotent = matches!(options.method, reqwest::Method::GET | reqwest::Method::HEAD);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (route, client) = self.routes.pick(&host);
            if client.proxy().is_some()
                && let Err(e) = self.fetcher.check_name(&parsed).await
            {
                return failed(e, attempts);
            }
            let turn = self.limiter.acquire(&host, crawl_delay).await;
            let result = self.fetcher.attempt(client, &parsed, options).await;
            drop(turn);
            self.routes.report(route, &result);
            let error = match result {
                Ok(raw) => {
                    return Visit {
                        status: Some(raw.status),
                        result: VisitResult::Fetched(raw),
                        attempts,
                    };
                }
                // Only the job's pages name media types; everything else takes any.
                Err(FetchError::UnsupportedContentType(media_type)) => {
                    return Visit {
                        result: VisitResult::Skipped {
                            code: "unsupported_content_type",
                            message: format!(
                                "{url} is {media_type:?}, not a content type the job extracts from"
                            ),
                        },
                        attempts,
                        status: None,
                    };
                }
                Err(e) => e,
            };
            let status = error.status();
            let retry_after = error.retry_after();
            let too_long = retry_after.is_some_and(|r| r > self.fetcher.config.max_retry_after);
            // A POST is sent again only when it cannot have reached the site.
            let resendable = idempotent || matches!(error, FetchError::Proxy { .. });
            if !error.is_transient() || !resendable || !self.backoff.may_retry(attempts) || too_long
            {
                return Visit {
                    result: VisitResult::Failed(error),
                    attempts,
                    status,
                };
            }
            let mut wait = self.backoff.delay(attempts);
            if let Some(after) = retry_after {
                // The server's word is about the whole host: hold every request to it.
                self.limiter
                    .defer(&host, tokio::time::Instant::now() + after);
                wait = wait.max(after);
            }
            tracing::debug!(%url, attempts, ?wait, "retrying: {error}");
            tokio::time::sleep(wait).await;
        }
    }

    /// robots.txt of `url`'s origin, through the host's politeness and retries. A guard
    /// refusal reads as "no rules": the page's own request then fails with
    /// `blocked_address`, which says more than a robots error would.
    async fn fetch_robots(&self, url: &url::Url, host: &str) -> RobotsBody {
        let Ok(robots_url) = url.join("/robots.txt") else {
            return RobotsBody::Unavailable;
        };
        let options = RequestOptions::get(
            self.options.user_agent.clone(),
            self.options.timeout,
            ROBOTS_MAX_BODY,
            Accept::any(),
        );
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (route, client) = self.routes.pick(host);
            let turn = self.limiter.acquire(host, Duration::ZERO).await;
            let result = self.fetcher.attempt(client, &robots_url, &options).await;
            drop(turn);
            self.routes.report(route, &result);
            let error = match result {
                Ok(raw) => return RobotsBody::Found(raw.body),
                Err(e) => e,
            };
            // 429 is the server failing to serve, not saying "no rules" (as Google reads it).
            match &error {
                FetchError::Status { status, .. } if *status != 429 && *status < 500 => {
                    return RobotsBody::Unavailable;
                }
                FetchError::BlockedAddress(_)
                | FetchError::InvalidUrl(_)
                | FetchError::BodyTooLarge(_)
                | FetchError::TooManyRedirects => return RobotsBody::Unavailable,
                _ => {}
            }
            if !self.backoff.may_retry(attempts) {
                return RobotsBody::Unreachable(error.to_string());
            }
            tokio::time::sleep(self.backoff.delay(attempts)).await;
        }
    }
}
