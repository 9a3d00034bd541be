//! Fetching pages: one shared HTTP client with a body-size cap, charset decoding and the
//! SSRF guard; and, per run, a [`Session`] that adds politeness (per-host concurrency and
//! delay, robots.txt) and retries with backoff.
//!
//! # Layout
//! - [`guard`]: the SSRF guard (IP literals, DNS answers, redirects).
//! - [`backoff`]: exponential backoff with full jitter, `Retry-After`.
//! - [`politeness`]: the per-host limiter of a run.
//! - [`robots`]: the robots.txt cache.
//! - [`frontier`]: URL normalisation and the crawl link filter.

pub mod backoff;
pub mod frontier;
pub mod guard;
pub mod politeness;
pub mod robots;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::config::FetchConfig;
use crate::model::job::FetchSettings;
use crate::runtime::PageData;
use backoff::Backoff;
use politeness::HostLimiter;
use robots::{RobotsBody, RobotsCache, Verdict};

/// Why a page could not be fetched. Each has a stable code stored on the page record.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL.
    #[error("not a fetchable URL: {0}")]
    InvalidUrl(String),
    /// The target resolved to an address the SSRF guard refuses.
    #[error("{0}")]
    BlockedAddress(String),
    /// No response in time.
    #[error("the request timed out")]
    Timeout,
    /// The body exceeded the cap.
    #[error("the body is larger than {0} bytes")]
    BodyTooLarge(u64),
    /// A response with an error status.
    #[error("the server answered {status}")]
    Status {
        /// The status code.
        status: u16,
        /// What its `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// Too many redirects.
    #[error("too many redirects")]
    TooManyRedirects,
    /// Connection-level failure.
    #[error("{0}")]
    Network(String),
    /// A content type the job's extractor does not take; the page is skipped, not failed.
    #[error("content type {0:?} is not one the job extracts from")]
    UnsupportedContentType(String),
}

impl FetchError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl(_) => "invalid_url",
            FetchError::BlockedAddress(_) => "blocked_address",
            FetchError::Timeout => "fetch_timeout",
            FetchError::BodyTooLarge(_) => "body_too_large",
            FetchError::Status { .. } => "http_status",
            FetchError::TooManyRedirects => "too_many_redirects",
            FetchError::Network(_) => "network_error",
            FetchError::UnsupportedContentType(_) => "unsupported_content_type",
        }
    }

    /// Whether trying again later may succeed: 408, 429, 5xx, timeouts, network errors.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout | FetchError::Network(_) => true,
            FetchError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A fetched page and what it cost.
#[derive(Debug)]
pub struct Fetched {
    /// What the plugin sees.
    pub page: Arc<PageData>,
    /// Bytes received (after decompression).
    pub bytes: u64,
    /// Time to the last byte of the last attempt.
    pub elapsed: Duration,
    /// The media type, lower-case, without parameters.
    pub content_type: Option<String>,
}

/// Which media types a request takes: `text/html`, `application/*`, `*/*`.
#[derive(Debug, Clone)]
pub struct Accept(Vec<String>);

impl Accept {
    /// From media-type patterns.
    pub fn new(patterns: &[String]) -> Self {
        Self(
            patterns
                .iter()
                .map(|p| p.trim().to_ascii_lowercase())
                .collect(),
        )
    }

    /// Everything (robots.txt).
    pub fn any() -> Self {
        Self(vec!["*/*".into()])
    }

    /// Whether `media_type` (lower-case, no parameters) is taken. A response without a
    /// Content-Type is taken: servers that omit it mostly send HTML.
    pub fn takes(&self, media_type: Option<&str>) -> bool {
        let Some(media_type) = media_type else {
            return true;
        };
        let major = media_type.split('/').next().unwrap_or_default();
        self.0.iter().any(|p| {
            p == "*/*" || p == media_type || p.strip_suffix("/*").is_some_and(|m| m == major)
        })
    }
}

/// What one request is sent with.
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// The User-Agent header.
    pub user_agent: String,
    /// Time for the whole request.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body: u64,
    /// Media types read; others fail with `unsupported_content_type` before the body is read.
    pub accept: Accept,
}

/// The shared fetcher of a host.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    guard: Arc<guard::Guard>,
    robots: Arc<RobotsCache>,
    config: Arc<FetchConfig>,
}

/// How long an unreachable robots.txt keeps a site closed before it is asked again.
const ROBOTS_UNREACHABLE_TTL: Duration = Duration::from_secs(30);
/// RFC 9309 asks crawlers to read at least 500 KiB of robots.txt.
const ROBOTS_MAX_BODY: u64 = 512 * 1024;

impl Fetcher {
    /// Build the client from configuration.
    pub fn new(config: &FetchConfig) -> Result<Self, reqwest::Error> {
        let guard = Arc::new(
            guard::Guard::new(config.allow_private_networks)
                .allowing(&config.allowed_networks, &config.allowed_hosts),
        );
        let redirect_guard = guard.clone();
        let max_redirects = config.max_redirects;
        let client = reqwest::Client::builder()
            // HTTP(S)_PROXY and ALL_PROXY in the server's environment would send requests
            // through a proxy, which resolves and connects on its own: the guard would
            // check the proxy's address and never the target's. They are ignored.
            .no_proxy()
            .user_agent(&config.user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .dns_resolver(Arc::new(guard::GuardResolver(guard.clone())))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= max_redirects {
                    return attempt.error(RedirectError::TooMany);
                }
                match redirect_guard.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(reason) => attempt.error(RedirectError::Blocked(reason)),
                }
            }))
            .build()?;
        Ok(Self {
            client,
            guard,
            robots: Arc::new(RobotsCache::new(config.robots_ttl, ROBOTS_UNREACHABLE_TTL)),
            config: Arc::new(config.clone()),
        })
    }

    /// The host's fetch configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Check a URL before any politeness wait: http(s), and not a refused IP literal.
    pub fn check(&self, url: &str) -> Result<url::Url, FetchError> {
        let parsed =
            url::Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{url}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(FetchError::InvalidUrl(format!(
                "{url}: only http and https URLs with a host are fetched"
            )));
        }
        self.guard
            .check_url(&parsed)
            .map_err(FetchError::BlockedAddress)?;
        Ok(parsed)
    }

    /// Fetch one page once, with the host's defaults (no politeness, no retries).
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let parsed = self.check(url)?;
        let options = RequestOptions {
            user_agent: self.config.user_agent.clone(),
            timeout: self.config.timeout,
            max_body: self.config.max_body.as_u64(),
            accept: Accept::any(),
        };
        self.attempt(&parsed, &options).await
    }

    /// One request for a checked URL.
    pub async fn attempt(
        &self,
        url: &url::Url,
        options: &RequestOptions,
    ) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::USER_AGENT, &options.user_agent)
            .timeout(options.timeout)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| backoff::retry_after(v, SystemTime::now()));
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        if !options.accept.takes(content_type.as_deref()) {
            // Dropping the response closes the connection without reading the body.
            return Err(FetchError::UnsupportedContentType(
                content_type.unwrap_or_default(),
            ));
        }
        if response
            .content_length()
            .is_some_and(|n| n > options.max_body)
        {
            return Err(FetchError::BodyTooLarge(options.max_body));
        }
        let final_url = response.url().to_string();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // Counted after decompression, chunk by chunk: a gzip bomb stops at the cap.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if (body.len() + chunk.len()) as u64 > options.max_body {
                return Err(FetchError::BodyTooLarge(options.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        let header_type = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str());
        let bytes = body.len() as u64;
        let text = decode_owned(body, header_type);
        Ok(Fetched {
            bytes,
            page: Arc::new(PageData {
                url: final_url,
                status: status.as_u16(),
                headers,
                body: text,
            }),
            elapsed: started.elapsed(),
            content_type,
        })
    }
}

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

#[derive(Debug, thiserror::Error)]
enum RedirectError {
    #[error("too many redirects")]
    TooMany,
    #[error("{0}")]
    Blocked(String),
}

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(e) = source {
        if let Some(redirect) = e.downcast_ref::<RedirectError>() {
            return match redirect {
                RedirectError::TooMany => FetchError::TooManyRedirects,
                RedirectError::Blocked(reason) => FetchError::BlockedAddress(reason.clone()),
            };
        }
        if let Some(blocked) = e.downcast_ref::<guard::Blocked>() {
            return FetchError::BlockedAddress(blocked.to_string());
        }
        source = e.source();
    }
    FetchError::Network(network_reason(&error))
}

/// What went wrong on the network, as a person would put it: "connection refused", "no
/// such host", "connection reset", rather than the client's "error sending request".
/// The deepest cause in the chain is the telling one.
fn network_reason(error: &reqwest::Error) -> String {
    let mut deepest: &dyn std::error::Error = error;
    let mut io_kind = None;
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        deepest = e;
        source = e.source();
    }
    let detail = deepest.to_string();
    use std::io::ErrorKind;
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => "connection refused (nothing listens there)".into(),
        Some(ErrorKind::ConnectionReset) => "the server reset the connection".into(),
        Some(ErrorKind::ConnectionAborted) => "the connection was aborted".into(),
        Some(ErrorKind::TimedOut) => "timed out".into(),
        Some(ErrorKind::HostUnreachable) | Some(ErrorKind::NetworkUnreachable) => {
            format!("the host cannot be reached ({detail})")
        }
        Some(ErrorKind::UnexpectedEof) => "the server closed the connection early".into(),
        _ if detail.contains("failed to lookup address")
            || detail.contains("Name or service not known")
            || detail.contains("nodename nor servname") =>
        {
            format!("no such host ({detail})")
        }
        _ if error.is_connect() => format!("could not connect ({detail})"),
        _ => detail,
    }
}

/// Decode a body by the charset in the Content-Type header, else a `<meta>` tag in the first
/// kilobyte, else UTF-8 (with replacement characters for invalid bytes).
pub fn decode(body: &[u8], content_type: Option<&str>) -> String {
    let from_header = content_type
        .and_then(charset_param)
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let encoding = from_header
        .or_else(|| sniff_meta_charset(&body[..body.len().min(1024)]))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(body);
    text.into_owned()
}

/// [`decode`] for a body that is no longer needed: a valid UTF-8 body (the common case)
/// becomes the text without a copy.
pub fn decode_owned(body: Vec<u8>, content_type: Option<&str>) -> String {
    let labelled = content_type
        .and_then(charset_param)
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let utf8 = match labelled {
        Some(e) => e == encoding_rs::UTF_8,
        None => sniff_meta_charset(&body[..body.len().min(1024)])
            .is_none_or(|e| e == encoding_rs::UTF_8),
    };
    if utf8 {
        match String::from_utf8(body) {
            Ok(text) => text,
            Err(e) => decode(e.as_bytes(), content_type),
        }
    } else {
        decode(&body, content_type)
    }
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn sniff_meta_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = head.find("charset=")?;
    let rest = head[at + 8..].trim_start_matches(['"', '\'']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    encoding_rs::Encoding::for_label(label.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_by_header_then_meta() {
        assert_eq!(
            decode(b"caf\xe9", Some("text/html; charset=windows-1252")),
            "café"
        );
        assert_eq!(
            decode(b"<meta charset=\"iso-8859-1\">caf\xe9", Some("text/html")),
            "<meta charset=\"iso-8859-1\">café"
        );
        assert_eq!(decode("café".as_bytes(), None), "café");
        assert_eq!(decode_owned("café".as_bytes().to_vec(), None), "café");
        assert_eq!(
            decode_owned(b"caf\xe9".to_vec(), Some("text/html; charset=windows-1252")),
            "café"
        );
        assert_eq!(
            decode_owned(b"caf\xe9".to_vec(), Some("text/html; charset=utf-8")),
            "caf\u{fffd}"
        );
    }

    #[test]
    fn accept_patterns() {
        let html = Accept::new(&["text/html".into(), "application/*".into()]);
        assert!(html.takes(Some("text/html")));
        assert!(html.takes(Some("application/json")));
        assert!(html.takes(None));
        assert!(!html.takes(Some("image/png")));
        assert!(Accept::any().takes(Some("image/png")));
    }

    #[test]
    fn transient_errors() {
        let status = |status| FetchError::Status {
            status,
            retry_after: None,
        };
        for e in [status(429), status(503), status(500), FetchError::Timeout] {
            assert!(e.is_transient(), "{e}");
        }
        for e in [
            status(404),
            status(403),
            FetchError::BodyTooLarge(1),
            FetchError::TooManyRedirects,
            FetchError::BlockedAddress(String::new()),
        ] {
            assert!(!e.is_transient(), "{e}");
        }
    }
}
