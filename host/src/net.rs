//! Outbound requests' safety, for every request trawl sends: pages and robots.txt today,
//! and whatever else goes out (webhooks, a browser's traffic) through the same parts.
//!
//! # Layout
//! - [`guard`]: the SSRF guard (IP literals, DNS answers, redirects).
//! - [`backoff`]: exponential backoff with full jitter, `Retry-After`.
//! - [`guarded_client`]: an HTTP client builder the guard stands in front of.
//! - [`Refusal`] and [`network_reason`]: what a failed request was, as people put it.

pub mod backoff;
pub mod guard;

use std::sync::Arc;

use guard::Guard;

/// An HTTP client builder whose every connection the guard checked: the guard resolves
/// host names (so every address a name gives is checked) and checks every redirect's
/// target; no more than `max_redirects` are followed. Environment proxies are ignored:
/// a proxy resolves and connects on its own, so the guard would check the proxy's
/// address and never the target's.
pub fn guarded_client(guard: Arc<Guard>, max_redirects: usize) -> reqwest::ClientBuilder {
    let redirect_guard = guard.clone();
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(guard::GuardResolver(guard)))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                return attempt.error(RedirectError::TooMany);
            }
            match redirect_guard.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(RedirectError::Blocked(reason)),
            }
        }))
}

#[derive(Debug, thiserror::Error)]
enum RedirectError {
    #[error("too many redirects")]
    TooMany,
    #[error("{0}")]
    Blocked(String),
}

/// A request a [`guarded_client`] refused to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More redirects than allowed.
    TooManyRedirects,
    /// An address the guard refuses, and why.
    Blocked(String),
}

impl Refusal {
    /// The refusal behind a failed request, if the guard refused it.
    pub fn of(error: &reqwest::Error) -> Option<Refusal> {
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = source {
            if let Some(redirect) = e.downcast_ref::<RedirectError>() {
                return Some(match redirect {
                    RedirectError::TooMany => Refusal::TooManyRedirects,
                    RedirectError::Blocked(reason) => Refusal::Blocked(reason.clone()),
                });
            }
            if let Some(blocked) = e.downcast_ref::<guard::Blocked>() {
                return Some(Refusal::Blocked(blocked.to_string()));
            }
            source = e.source();
        }
        None
    }
}

/// What went wrong on the network, as a person would put it: "connection refused", "no
/// such host", "connection reset", rather than the client's "error sending request".
/// The deepest cause in the chain is the telling one.
pub fn network_reason(error: &reqwest::Error) -> String {
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
