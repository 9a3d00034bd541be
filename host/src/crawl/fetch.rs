//! One request: the host's shared client (the guard in front of it), the body cap, media
//! types taken, and what a failure was.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::charset::decode_owned;
use super::robots::RobotsCache;
use crate::config::FetchConfig;
use crate::net::{self, Refusal, guard::Guard};
use crate::runtime::PageData;

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

    pub(super) fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(super) fn status(&self) -> Option<u16> {
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
    guard: Arc<Guard>,
    pub(super) robots: Arc<RobotsCache>,
    pub(super) config: Arc<FetchConfig>,
}

/// How long an unreachable robots.txt keeps a site closed before it is asked again.
const ROBOTS_UNREACHABLE_TTL: Duration = Duration::from_secs(30);

impl Fetcher {
    /// Build the client from configuration.
    pub fn new(config: &FetchConfig) -> Result<Self, reqwest::Error> {
        let guard = Arc::new(
            Guard::new(config.allow_private_networks)
                .allowing(&config.allowed_networks, &config.allowed_hosts),
        );
        let client = net::guarded_client(guard.clone(), config.max_redirects)
            .user_agent(&config.user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
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

    /// One request for a checked URL, counted in the fetch metrics with its outcome.
    pub async fn attempt(
        &self,
        url: &url::Url,
        options: &RequestOptions,
    ) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let result = self.request(url, options, started).await;
        crate::telemetry::fetch(
            started.elapsed(),
            result.as_ref().err().map(FetchError::code),
        );
        result
    }

    async fn request(
        &self,
        url: &url::Url,
        options: &RequestOptions,
        started: Instant,
    ) -> Result<Fetched, FetchError> {
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
                .and_then(|v| net::backoff::retry_after(v, SystemTime::now()));
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

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    match Refusal::of(&error) {
        Some(Refusal::TooManyRedirects) => FetchError::TooManyRedirects,
        Some(Refusal::Blocked(reason)) => FetchError::BlockedAddress(reason),
        None => FetchError::Network(net::network_reason(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
