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
    /// Not sent, on purpose: robots.txt disallows it or cannot be read.
    #[error("{message}")]
    Skipped {
        /// `robots_disallowed` or `robots_unreachable`.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The proxy could not be reached, refused the request or asked for credentials.
    #[error("proxy {proxy}: {reason}")]
    Proxy {
        /// The proxy, without its credentials.
        proxy: String,
        /// What went wrong.
        reason: String,
    },
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
            FetchError::Proxy { .. } => "proxy_error",
            FetchError::Skipped { code, .. } => code,
        }
    }

    /// Whether trying again later may succeed: 408, 429, 5xx, timeouts, network and
    /// proxy errors (the next attempt may go through another proxy).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout | FetchError::Network(_) | FetchError::Proxy { .. } => true,
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

/// A response as it came: bytes, not yet decoded (sitemaps, a browser's requests).
#[derive(Debug)]
pub struct Raw {
    /// The URL after redirects.
    pub url: String,
    /// The status.
    pub status: u16,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body, after content-encoding (gzip, brotli) was undone.
    pub body: Vec<u8>,
    /// The media type, lower-case, without parameters.
    pub content_type: Option<String>,
    /// Time to the last byte.
    pub elapsed: Duration,
}

impl Raw {
    /// The page a plugin sees: the body decoded to text by its charset.
    pub fn into_fetched(self) -> Fetched {
        let header_type = self
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone());
        let bytes = self.body.len() as u64;
        let text = decode_owned(self.body, header_type.as_deref());
        Fetched {
            bytes,
            page: Arc::new(PageData {
                url: self.url,
                status: self.status,
                headers: self.headers,
                body: text,
            }),
            elapsed: self.elapsed,
            content_type: self.content_type,
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
    /// The method.
    pub method: reqwest::Method,
    /// The body and its media type, for a POST.
    pub body: Option<(bytes::Bytes, &'static str)>,
    /// Headers the job sets (secret: never logged).
    pub headers: Arc<reqwest::header::HeaderMap>,
}

impl RequestOptions {
    /// A GET with no headers of the job's.
    pub fn get(user_agent: String, timeout: Duration, max_body: u64, accept: Accept) -> Self {
        Self {
            user_agent,
            timeout,
            max_body,
            accept,
            method: reqwest::Method::GET,
            body: None,
            headers: Arc::default(),
        }
    }
}

/// The client a request goes out on: the host's shared one, or a run's own (its cookie
/// jar, one of its proxies).
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    /// The proxy it goes through, without credentials (for messages), if any.
    proxy: Option<Arc<str>>,
}

impl Client {
    /// The proxy it goes through, without credentials.
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }
}

/// The shared fetcher of a host.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: Client,
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
        let client = Self::builder(&guard, config).build()?;
        Ok(Self {
            client: Client {
                inner: client,
                proxy: None,
            },
            guard,
            robots: Arc::new(RobotsCache::new(config.robots_ttl, ROBOTS_UNREACHABLE_TTL)),
            config: Arc::new(config.clone()),
        })
    }

    fn builder(guard: &Arc<Guard>, config: &FetchConfig) -> reqwest::ClientBuilder {
        net::guarded_client(guard.clone(), config.max_redirects)
            .user_agent(&config.user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
    }

    /// The host's fetch configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// The host's shared client.
    pub fn shared(&self) -> Client {
        self.client.clone()
    }

    /// A run's own client: cookies kept in `jar` (set by the site, sent back to it), and
    /// the requests sent through `proxy` when there is one. The guard still resolves and
    /// checks the proxy's own address; a target's name is resolved by the proxy, so the
    /// session checks it before sending ([`Fetcher::check_name`]).
    pub fn run_client(
        &self,
        jar: Arc<reqwest::cookie::Jar>,
        proxy: Option<&str>,
    ) -> Result<Client, String> {
        let mut builder = Self::builder(&self.guard, &self.config).cookie_provider(jar);
        let mut shown = None;
        if let Some(proxy) = proxy {
            let parsed = url::Url::parse(proxy).map_err(|e| format!("proxy URL: {e}"))?;
            self.guard.check_url(&parsed)?;
            builder =
                builder.proxy(reqwest::Proxy::all(proxy).map_err(|e| format!("proxy URL: {e}"))?);
            shown = Some(shown_proxy(&parsed).into());
        }
        let inner = builder.build().map_err(|e| e.to_string())?;
        Ok(Client {
            inner,
            proxy: shown,
        })
    }

    /// Resolve `url`'s host name and refuse it if the guard refuses an address it has: for
    /// requests a proxy resolves, whose connections the guard never sees.
    pub async fn check_name(&self, url: &url::Url) -> Result<(), FetchError> {
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        self.guard
            .check_name(host)
            .await
            .map_err(FetchError::BlockedAddress)
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
        let options = RequestOptions::get(
            self.config.user_agent.clone(),
            self.config.timeout,
            self.config.max_body.as_u64(),
            Accept::any(),
        );
        Ok(self
            .attempt(&self.client, &parsed, &options)
            .await?
            .into_fetched())
    }

    /// One request for a checked URL on `client`, counted in the fetch metrics with its
    /// outcome.
    pub async fn attempt(
        &self,
        client: &Client,
        url: &url::Url,
        options: &RequestOptions,
    ) -> Result<Raw, FetchError> {
        let started = Instant::now();
        let result = self.request(client, url, options, started).await;
        crate::telemetry::fetch(
            started.elapsed(),
            result.as_ref().err().map(FetchError::code),
        );
        result
    }

    async fn request(
        &self,
        client: &Client,
        url: &url::Url,
        options: &RequestOptions,
        started: Instant,
    ) -> Result<Raw, FetchError> {
        let mut request = client
            .inner
            .request(options.method.clone(), url.clone())
            .headers((*options.headers).clone())
            .header(reqwest::header::USER_AGENT, &options.user_agent)
            .timeout(options.timeout);
        if let Some((body, media_type)) = &options.body {
            // A Content-Type among the headers (a browser's request) is the body's own.
            if !options.headers.contains_key(reqwest::header::CONTENT_TYPE) {
                request = request.header(reqwest::header::CONTENT_TYPE, *media_type);
            }
            request = request.body(body.clone());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| classify(e, client.proxy()))?;
        let status = response.status();
        if status == reqwest::StatusCode::PROXY_AUTHENTICATION_REQUIRED
            && let Some(proxy) = client.proxy()
        {
            return Err(FetchError::Proxy {
                proxy: proxy.to_owned(),
                reason: "the proxy asked for credentials (407)".into(),
            });
        }
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
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(e, client.proxy()))?
        {
            if (body.len() + chunk.len()) as u64 > options.max_body {
                return Err(FetchError::BodyTooLarge(options.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Raw {
            url: final_url,
            status: status.as_u16(),
            headers,
            body,
            content_type,
            elapsed: started.elapsed(),
        })
    }
}

/// A proxy URL as it may be shown: scheme, host and port, no credentials.
fn shown_proxy(proxy: &url::Url) -> String {
    format!(
        "{}://{}{}",
        proxy.scheme(),
        proxy.host_str().unwrap_or_default(),
        proxy.port().map(|p| format!(":{p}")).unwrap_or_default()
    )
}

fn classify(error: reqwest::Error, proxy: Option<&str>) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    match Refusal::of(&error) {
        Some(Refusal::TooManyRedirects) => FetchError::TooManyRedirects,
        Some(Refusal::Blocked(reason)) => FetchError::BlockedAddress(reason),
        // Through a proxy, the only connection made is to the proxy: whatever broke on
        // it is the proxy's (a site that does not answer shows as the proxy's 502 or 504).
        None if proxy.is_some() => FetchError::Proxy {
            proxy: proxy.unwrap_or_default().to_owned(),
            reason: net::network_reason(&error),
        },
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
