//! `browser` rendering of a run's pages: the page trawl fetched is handed to headless
//! Chromium, and every request the page then makes comes back to the run's session — the
//! SSRF guard, robots.txt, per-host politeness, the cookie jar, the job's headers and
//! proxies — so the browser reaches nothing the HTTP fetcher would not.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use trawl_browser::{
    ContextScope, RenderError, RenderRequest, RenderSettings, Rendered, SubFetch, SubRefusal,
    SubRequest, SubResponse,
};

use super::fetch::{FetchError, Fetched};
use super::session::Session;
use crate::model::reach::{BrowserSettings, ContextMode, ResourceKind};
use crate::runtime::PageData;

/// Request headers a page's request may not carry through: trawl sets them itself (the
/// User-Agent, the run's cookies), or they are about the browser's own connection.
const DROPPED: &[&str] = &[
    "host",
    "cookie",
    "user-agent",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "accept-encoding",
];

/// The run's session as the browser's network.
struct RunNetwork(Arc<Session>);

impl SubFetch for RunNetwork {
    fn fetch(&self, request: SubRequest) -> BoxFuture<'static, Result<SubResponse, SubRefusal>> {
        let session = self.0.clone();
        Box::pin(async move {
            let refuse = |code: &str, message: String| SubRefusal {
                code: code.to_owned(),
                message,
            };
            let method = reqwest::Method::from_bytes(request.method.as_bytes())
                .map_err(|_| refuse("invalid_request", format!("method {:?}", request.method)))?;
            let mut headers = reqwest::header::HeaderMap::new();
            for (name, value) in &request.headers {
                let lower = name.to_ascii_lowercase();
                if DROPPED.contains(&lower.as_str()) || lower.starts_with(':') {
                    continue;
                }
                let (Ok(name), Ok(value)) = (
                    reqwest::header::HeaderName::from_bytes(lower.as_bytes()),
                    reqwest::header::HeaderValue::from_str(value),
                ) else {
                    continue;
                };
                headers.insert(name, value);
            }
            // The page's own Content-Type, among `headers`, goes with the body.
            let body = request
                .body
                .map(|b| (bytes::Bytes::from(b), "application/octet-stream"));
            match session.send(&request.url, method, headers, body).await {
                Ok(raw) => Ok(SubResponse {
                    status: raw.status,
                    headers: raw.headers,
                    body: raw.body,
                }),
                // An error status is still an answer the page's script may read.
                Err(FetchError::Status { status, .. }) => Ok(SubResponse {
                    status,
                    headers: Vec::new(),
                    body: Vec::new(),
                }),
                Err(e) => Err(refuse(e.code(), e.to_string())),
            }
        })
    }
}

fn kind(kind: ResourceKind) -> trawl_browser::ResourceKind {
    use trawl_browser::ResourceKind as K;
    match kind {
        ResourceKind::Image => K::Image,
        ResourceKind::Font => K::Font,
        ResourceKind::Media => K::Media,
        ResourceKind::Stylesheet => K::Stylesheet,
        ResourceKind::Script => K::Script,
        ResourceKind::Xhr => K::Xhr,
        ResourceKind::Fetch => K::Fetch,
        ResourceKind::Document => K::Document,
        ResourceKind::Other => K::Other,
    }
}

/// What one page's rendering needs from its run.
pub struct Render<'a> {
    /// The host's browser pool.
    pub pool: &'a trawl_browser::BrowserPool,
    /// The run's session: the browser's network.
    pub session: &'a Arc<Session>,
    /// The job's browser settings.
    pub settings: &'a BrowserSettings,
    /// The run, as the key of its browser context.
    pub run: u128,
    /// The User-Agent the browser's requests are sent with.
    pub user_agent: &'a str,
    /// The whole render, waits included, at most.
    pub deadline: Duration,
    /// The largest document read back.
    pub max_html: usize,
}

impl<'a> Render<'a> {
    /// The rendering of a page fetched through `session`, in the context `key` (a run's,
    /// or a preview's): its User-Agent, its time (the waits and one fetch's timeout) and
    /// its size cap are the session's.
    pub fn new(
        pool: &'a trawl_browser::BrowserPool,
        session: &'a Arc<Session>,
        settings: &'a BrowserSettings,
        key: u128,
    ) -> Self {
        let config = session.fetcher().config();
        Self {
            pool,
            session,
            settings,
            run: key,
            user_agent: session.user_agent(),
            deadline: Duration::from_millis(settings.wait_timeout_ms) + config.timeout,
            max_html: usize::try_from(config.max_body.as_u64()).unwrap_or(usize::MAX),
        }
    }
}

impl Render<'_> {
    /// Render the page trawl fetched; the result is what the extractor reads.
    pub async fn page(&self, fetched: &Fetched) -> Result<(Fetched, Rendered), RenderError> {
        let page = &fetched.page;
        // The body is text already: the browser gets it as UTF-8, whatever it came as.
        let mut headers: Vec<(String, String)> = page
            .headers
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "content-type" | "content-length" | "content-encoding" | "transfer-encoding"
                )
            })
            .cloned()
            .collect();
        headers.push(("content-type".into(), "text/html; charset=utf-8".into()));
        let settings = RenderSettings {
            wait_for: self.settings.wait_for.clone(),
            network_idle: self.settings.network_idle,
            delay: Duration::from_millis(self.settings.delay_ms),
            wait_timeout: Duration::from_millis(self.settings.wait_timeout_ms),
            scroll_rounds: self.settings.scroll_rounds,
            block: self.settings.block.iter().map(|k| kind(*k)).collect(),
            user_agent: self.user_agent.to_owned(),
            max_html_bytes: self.max_html,
        };
        let mut rendered = self
            .pool
            .render(RenderRequest {
                url: page.url.clone(),
                document: SubResponse {
                    status: page.status,
                    headers,
                    body: page.body.clone().into_bytes(),
                },
                settings,
                scope: match self.settings.context {
                    ContextMode::Run => ContextScope::Run(self.run.into()),
                    ContextMode::Page => ContextScope::Page,
                },
                fetch: Arc::new(RunNetwork(self.session.clone())),
                deadline: self.deadline,
            })
            .await?;
        let fetched = Fetched {
            page: Arc::new(PageData {
                url: rendered.final_url.clone(),
                status: page.status,
                headers: page.headers.clone(),
                body: std::mem::take(&mut rendered.html),
            }),
            bytes: fetched.bytes,
            elapsed: fetched.elapsed + rendered.elapsed,
            content_type: Some("text/html".into()),
        };
        Ok((fetched, rendered))
    }
}
