//! Fetching pages: one shared HTTP client, a body-size cap, charset decoding, and the SSRF
//! guard that keeps jobs away from private networks.

pub mod guard;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::FetchConfig;
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
    #[error("the server answered {0}")]
    Status(u16),
    /// Too many redirects.
    #[error("too many redirects")]
    TooManyRedirects,
    /// Connection-level failure.
    #[error("{0}")]
    Network(String),
}

impl FetchError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl(_) => "invalid_url",
            FetchError::BlockedAddress(_) => "blocked_address",
            FetchError::Timeout => "fetch_timeout",
            FetchError::BodyTooLarge(_) => "body_too_large",
            FetchError::Status(_) => "http_status",
            FetchError::TooManyRedirects => "too_many_redirects",
            FetchError::Network(_) => "network_error",
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
    /// Time to the last byte.
    pub elapsed: Duration,
}

/// The shared fetcher of a host.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
    guard: Arc<guard::Guard>,
}

const MAX_REDIRECTS: usize = 10;

impl Fetcher {
    /// Build the client from configuration.
    pub fn new(config: &FetchConfig) -> Result<Self, reqwest::Error> {
        let guard = Arc::new(guard::Guard::new(config.allow_private_networks));
        let redirect_guard = guard.clone();
        let client = reqwest::Client::builder()
            .user_agent(&config.user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .dns_resolver(guard.clone())
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
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
            max_body: config.max_body.as_u64(),
            guard,
        })
    }

    /// Fetch one page.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let parsed =
            url::Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("{url}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FetchError::InvalidUrl(format!(
                "{url}: only http and https are fetched"
            )));
        }
        self.guard
            .check_url(&parsed)
            .map_err(FetchError::BlockedAddress)?;
        let mut response = self.client.get(parsed).send().await.map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::BodyTooLarge(self.max_body));
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
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(FetchError::BodyTooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str());
        let text = decode(&body, content_type);
        Ok(Fetched {
            bytes: body.len() as u64,
            page: Arc::new(PageData {
                url: final_url,
                status: status.as_u16(),
                headers,
                body: text,
            }),
            elapsed: started.elapsed(),
        })
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
    FetchError::Network(error.without_url().to_string())
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
    }
}
