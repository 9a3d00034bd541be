//! What a render is asked to do and what it hands back: the page's document as the host
//! fetched it, the waits, the host's fetcher for everything else, and the rendered HTML.
//!
//! The browser never fetches anything itself, so these types are also the whole contract
//! between a render and the host's network layer: [`SubFetch`] sees every request the page
//! makes except the main document (already supplied) and the kinds the settings block.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

/// Identifies the browser context of one run, chosen by the host (its run id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextKey(pub u128);

impl From<u128> for ContextKey {
    fn from(id: u128) -> Self {
        Self(id)
    }
}

/// Which browser context a render runs in: what cookies and storage it shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextScope {
    /// A fresh incognito context for this render alone, disposed of afterwards.
    Page,
    /// One context per key, kept across renders (cookies, localStorage) until
    /// [`BrowserPool::release`](crate::BrowserPool::release).
    Run(ContextKey),
}

/// One page to render.
#[derive(Clone)]
pub struct RenderRequest {
    /// The page's URL: the browser navigates here, and the navigation is answered with
    /// [`RenderRequest::document`].
    pub url: String,
    /// The main document, already fetched by the host. The browser's navigation request
    /// is fulfilled with it; the browser never fetches it.
    pub document: SubResponse,
    /// Waits, scrolling, blocking and caps.
    pub settings: RenderSettings,
    /// Which context the render runs in.
    pub scope: ContextScope,
    /// Every other request the page makes (scripts, XHR/fetch, iframes, CSS) goes here.
    pub fetch: Arc<dyn SubFetch>,
    /// The whole render, waits included; past it the render fails with
    /// [`RenderError::Timeout`](crate::RenderError::Timeout).
    pub deadline: Duration,
}

impl std::fmt::Debug for RenderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderRequest")
            .field("url", &self.url)
            .field("document_status", &self.document.status)
            .field("document_bytes", &self.document.body.len())
            .field("settings", &self.settings)
            .field("scope", &self.scope)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// How to render: what to wait for, whether to scroll, what not to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderSettings {
    /// A CSS selector to wait for: the wait ends once an element matches.
    pub wait_for: Option<String>,
    /// Wait until no request the page made has been in flight for 500 ms.
    pub network_idle: bool,
    /// A fixed wait after the other conditions.
    pub delay: Duration,
    /// Cap on all the waits together, the load event included.
    pub wait_timeout: Duration,
    /// 0: no scrolling. Otherwise scroll to the end until the page stops growing, at most
    /// this many times.
    pub scroll_rounds: u32,
    /// Kinds of request failed at once (as blocked by the client) without asking the host.
    pub block: Vec<ResourceKind>,
    /// The browser's `User-Agent`; empty keeps Chromium's own.
    pub user_agent: String,
    /// The rendered HTML may be at most this long (UTF-8 bytes); longer fails the render
    /// with [`RenderError::TooLarge`](crate::RenderError::TooLarge).
    pub max_html_bytes: usize,
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            wait_for: None,
            network_idle: false,
            delay: Duration::ZERO,
            wait_timeout: Duration::from_secs(10),
            scroll_rounds: 0,
            // What a scraper rarely needs and a page loads most bytes of.
            block: vec![ResourceKind::Image, ResourceKind::Font, ResourceKind::Media],
            user_agent: String::new(),
            max_html_bytes: 10 * 1024 * 1024,
        }
    }
}

/// What a request is for, as the DevTools Fetch domain's `resourceType` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Image,
    Font,
    Media,
    Stylesheet,
    Script,
    Xhr,
    Fetch,
    Document,
    /// Everything else (`Other`, `Ping`, `Manifest`, `TextTrack`, `EventSource`, …),
    /// including types newer than this crate.
    Other,
}

impl ResourceKind {
    /// Maps the protocol's `Network.ResourceType` string; unknown names are `Other`, so
    /// a newer Chromium cannot break the mapping.
    pub fn from_cdp(resource_type: &str) -> Self {
        match resource_type {
            "Image" => Self::Image,
            "Font" => Self::Font,
            "Media" => Self::Media,
            "Stylesheet" => Self::Stylesheet,
            "Script" => Self::Script,
            "XHR" => Self::Xhr,
            "Fetch" => Self::Fetch,
            "Document" => Self::Document,
            _ => Self::Other,
        }
    }
}

/// A request the page made, as the browser would have sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRequest {
    pub url: String,
    pub method: String,
    /// The browser's own headers, as it set them; the host filters them.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub kind: ResourceKind,
}

/// An answer to hand the browser: the main document or a [`SubFetch`] result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The decoded body: `Content-Encoding` and `Content-Length` headers are not passed to
    /// the browser, which would otherwise decode it a second time.
    pub body: Vec<u8>,
}

/// Why the host would not fetch a request; the browser's request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRefusal {
    /// A stable snake_case code, e.g. `blocked_address` (failed as address unreachable),
    /// `timeout` (timed out); anything else fails as blocked by the client.
    pub code: String,
    pub message: String,
}

/// The host's fetcher for the page's requests. Its body and time caps are the only caps
/// on what a page can pull in.
pub trait SubFetch: Send + Sync {
    fn fetch(&self, request: SubRequest) -> BoxFuture<'static, Result<SubResponse, SubRefusal>>;
}

/// Which condition ended the waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Nothing to wait for beyond the load event.
    Load,
    /// [`RenderSettings::wait_for`] matched.
    SelectorFound,
    /// The network went idle.
    Idle,
    /// The fixed delay passed.
    Delay,
    /// [`RenderSettings::wait_timeout`] ran out first; the page is taken as it was.
    TimedOut,
}

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Where the main frame ended up (after client-side redirects or `history` changes).
    pub final_url: String,
    /// `document.documentElement.outerHTML` after the waits and scrolling.
    pub html: String,
    /// Requests handed to [`SubFetch`] (the refused ones included).
    pub requests: u32,
    /// Of those, the ones [`SubFetch`] refused.
    pub refused: u32,
    /// Requests failed by kind ([`RenderSettings::block`]) without asking the host, or
    /// failed because too many were waiting.
    pub blocked: u32,
    pub elapsed: Duration,
    pub waited: WaitOutcome,
}
