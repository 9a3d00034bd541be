//! A run's way of fetching: the shared fetcher plus the job's politeness (per-host
//! concurrency and delay, robots.txt) and retries with backoff.

use std::time::Duration;

use super::fetch::{Accept, FetchError, Fetched, Fetcher, RequestOptions};
use super::politeness::{self, HostLimiter};
use super::robots::{self, RobotsBody, Verdict};
use crate::model::job::FetchSettings;
use crate::net::backoff::Backoff;

/// RFC 9309 asks crawlers to read at least 500 KiB of robots.txt.
const ROBOTS_MAX_BODY: u64 = 512 * 1024;

/// How a visit ended.
#[derive(Debug)]
pub enum VisitResult {
    /// Fetched: hand it to the extractor.
    Fetched(Fetched),
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
pub struct Visit {
    /// The outcome.
    pub result: VisitResult,
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
    options: RequestOptions,
    obey_robots: bool,
}

impl Session {
    /// A session for a job's settings, clamped to the host's caps.
    pub fn new(fetcher: Fetcher, settings: &FetchSettings) -> Self {
        let config = fetcher.config.clone();
        let per_host = settings
            .per_host_concurrency
            .clamp(1, config.max_per_host_concurrency.max(1));
        let delay = Duration::from_millis(settings.delay_ms).max(config.min_host_delay);
        let timeout = settings
            .timeout_ms
            .map_or(config.timeout, Duration::from_millis)
            .min(config.timeout);
        Self {
            limiter: HostLimiter::new(per_host as usize, delay),
            backoff: Backoff {
                base: config.retry_base,
                cap: config.retry_cap,
                max_attempts: settings.max_attempts.clamp(1, config.max_attempts.max(1)),
            },
            options: RequestOptions {
                user_agent: settings
                    .user_agent
                    .clone()
                    .unwrap_or_else(|| config.user_agent.clone()),
                timeout,
                max_body: config.max_body.as_u64(),
                accept: Accept::new(&settings.content_types),
            },
            obey_robots: settings.obey_robots,
            fetcher,
        }
    }

    /// Visit one page: guard, robots.txt, a turn at the host, then attempts with backoff.
    pub async fn visit(&self, url: &str) -> Visit {
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
            let rules = self
                .fetcher
                .robots
                .rules(&robots::origin(&parsed), agent, || {
                    self.fetch_robots(&parsed, &host)
                })
                .await;
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
        let mut attempts = 0;
        loop {
            attempts += 1;
            let turn = self.limiter.acquire(&host, crawl_delay).await;
            let result = self.fetcher.attempt(&parsed, &self.options).await;
            drop(turn);
            let error = match result {
                Ok(fetched) => {
                    return Visit {
                        status: Some(fetched.page.status),
                        result: VisitResult::Fetched(fetched),
                        attempts,
                    };
                }
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
            if !error.is_transient() || !self.backoff.may_retry(attempts) || too_long {
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
        let options = RequestOptions {
            max_body: ROBOTS_MAX_BODY,
            accept: Accept::any(),
            ..self.options.clone()
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let turn = self.limiter.acquire(host, Duration::ZERO).await;
            let result = self.fetcher.attempt(&robots_url, &options).await;
            drop(turn);
            let error = match result {
                Ok(fetched) => return RobotsBody::Found(fetched.page.body.clone().into_bytes()),
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
