//! One render on a live browser: open a page in a context, intercept, navigate, wait,
//! scroll, read the DOM, close the page.
//!
//! The caller bounds the whole of it with the render's deadline; everything here may be
//! dropped at any `.await`, so the page is closed by a guard rather than at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::cdp::{CdpError, Connection};
use crate::error::RenderError;
use crate::intercept::{self, Book, Interceptor, PageState};
use crate::request::{RenderRequest, Rendered, WaitOutcome};

/// The network is idle once nothing has been outstanding for this long.
const IDLE_WINDOW: Duration = Duration::from_millis(500);
/// Between two looks at the page while waiting for it to load or for a selector.
const POLL: Duration = Duration::from_millis(50);
/// The most one scroll round waits for what the scroll set off.
const SCROLL_ROUND_CAP: Duration = Duration::from_secs(5);
/// Answers that should come at once (closing a page): the browser is taken as hung after.
const QUICK: Duration = Duration::from_secs(5);

/// Why a render on this browser failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The browser went away: worth a retry on a fresh one.
    Disconnected,
    /// The page failed; another browser would fail the same way.
    Page(RenderError),
}

impl From<CdpError> for Failure {
    fn from(error: CdpError) -> Self {
        match error {
            CdpError::Disconnected | CdpError::Connect { .. } => Self::Disconnected,
            CdpError::Protocol { .. } => Self::Page(RenderError::Navigation(error.to_string())),
        }
    }
}

/// Renders `request` in the browser context `context_id`.
pub(crate) async fn run(
    conn: &Connection,
    context_id: &str,
    request: &RenderRequest,
) -> Result<Rendered, Failure> {
    let started = Instant::now();
    let created = conn
        .call(
            None,
            "Target.createTarget",
            json!({ "url": "about:blank", "browserContextId": context_id }),
        )
        .await?;
    let target_id = string_at(&created, "targetId")?;
    let _close = ClosePage {
        conn: conn.clone(),
        target_id: target_id.clone(),
    };
    let (route, events) = conn.owner();
    let attached = conn
        .call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )
        .await?;
    let session = string_at(&attached, "sessionId")?;
    route.add(&session)?;

    let book = Arc::new(Book::new());
    let (state_tx, mut state) = watch::channel(PageState::Running);
    let interceptor = Interceptor {
        conn: conn.clone(),
        page_session: session.clone(),
        document: request.document.clone(),
        fetch: request.fetch.clone(),
        block: request.settings.block.clone(),
        book: book.clone(),
        state: state_tx,
    };
    let _interceptor = AbortOnDrop(tokio::spawn(interceptor.run(events)));

    let page = Page {
        conn,
        session: &session,
        book: &book,
    };
    let work = page.render(request, started);
    tokio::select! {
        result = work => result,
        // Whatever the page was doing, its renderer or the browser is gone.
        ended = state.wait_for(|s| *s != PageState::Running) => match ended.map(|s| *s) {
            Ok(PageState::Crashed) => Err(Failure::Page(RenderError::Crashed(
                "the page's renderer crashed".into(),
            ))),
            _ => Err(Failure::Disconnected),
        },
    }
}

struct Page<'a> {
    conn: &'a Connection,
    session: &'a str,
    book: &'a Book,
}

impl Page<'_> {
    async fn render(&self, request: &RenderRequest, started: Instant) -> Result<Rendered, Failure> {
        let settings = &request.settings;
        self.call("Fetch.enable", intercept::fetch_enable_params())
            .await?;
        self.call("Page.enable", json!({})).await?;
        self.call("Inspector.enable", json!({})).await?;
        if !settings.user_agent.is_empty() {
            self.call(
                "Emulation.setUserAgentOverride",
                json!({ "userAgent": settings.user_agent }),
            )
            .await?;
        }
        // Service workers would answer the page's requests from a worker of their own;
        // pages fall back to the network without them, which is what trawl intercepts.
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "try { delete Navigator.prototype.serviceWorker } catch (e) {}" }),
        )
        .await?;
        self.call("Target.setAutoAttach", intercept::auto_attach_params())
            .await?;

        let navigated = self
            .call("Page.navigate", json!({ "url": request.url }))
            .await?;
        if let Some(error) = navigated.get("errorText").and_then(Value::as_str)
            && !error.is_empty()
        {
            return Err(Failure::Page(RenderError::Navigation(format!(
                "navigating to {}: {error}",
                request.url
            ))));
        }

        let waited = self.wait(settings).await?;
        for _ in 0..settings.scroll_rounds {
            if !self.scroll_once(settings.wait_timeout).await? {
                break;
            }
        }
        let html = self.html(settings.max_html_bytes).await?;
        let final_url = match self.evaluate("location.href").await? {
            Value::String(url) => url,
            _ => request.url.clone(),
        };
        let counts = self.book.counts();
        Ok(Rendered {
            final_url,
            html,
            requests: counts.requests,
            refused: counts.refused,
            blocked: counts.blocked,
            elapsed: started.elapsed(),
            waited,
        })
    }

    /// The load event, then the selector, the network going idle and the delay, all
    /// within `wait_timeout`. The outcome is the last condition met.
    async fn wait(&self, settings: &crate::RenderSettings) -> Result<WaitOutcome, Failure> {
        let start = Instant::now();
        let until = start + settings.wait_timeout;
        if !self
            .poll_until("document.readyState === 'complete'", until)
            .await?
        {
            return Ok(WaitOutcome::TimedOut);
        }
        let mut outcome = WaitOutcome::Load;
        if let Some(selector) = &settings.wait_for {
            let literal = serde_json::to_string(selector).unwrap_or_default();
            let check = format!("document.querySelector({literal}) !== null");
            if !self.poll_until(&check, until).await? {
                return Ok(WaitOutcome::TimedOut);
            }
            outcome = WaitOutcome::SelectorFound;
        }
        if settings.network_idle {
            if !intercept::wait_idle(self.book, start, IDLE_WINDOW, until).await {
                return Ok(WaitOutcome::TimedOut);
            }
            outcome = WaitOutcome::Idle;
        }
        if !settings.delay.is_zero() {
            let now = Instant::now();
            if now + settings.delay > until {
                tokio::time::sleep(until.saturating_duration_since(now)).await;
                return Ok(WaitOutcome::TimedOut);
            }
            tokio::time::sleep(settings.delay).await;
            outcome = WaitOutcome::Delay;
        }
        Ok(outcome)
    }

    /// Evaluates `check` until it is `true`; `false` when `until` comes first. Errors of
    /// the page's script (a context replaced by a navigation) count as "not yet", but a
    /// selector the browser cannot parse fails the render.
    async fn poll_until(&self, check: &str, until: Instant) -> Result<bool, Failure> {
        loop {
            match self.evaluate(check).await {
                Ok(Value::Bool(true)) => return Ok(true),
                Ok(_) => {}
                Err(Failure::Page(RenderError::Navigation(message)))
                    if message.contains("is not a valid selector") =>
                {
                    return Err(Failure::Page(RenderError::Navigation(message)));
                }
                Err(Failure::Page(_)) => {}
                Err(failure) => return Err(failure),
            }
            let now = Instant::now();
            if now >= until {
                return Ok(false);
            }
            tokio::time::sleep(POLL.min(until - now)).await;
        }
    }

    /// Scrolls to the end and waits for what that set off; `false` once the page has
    /// stopped growing.
    async fn scroll_once(&self, wait_timeout: Duration) -> Result<bool, Failure> {
        const HEIGHT: &str = "(document.body || document.documentElement).scrollHeight";
        let before = self.evaluate(HEIGHT).await?.as_f64().unwrap_or(0.0);
        let start = Instant::now();
        self.evaluate(&format!("window.scrollTo(0, {HEIGHT}); true"))
            .await?;
        let until = start + wait_timeout.min(SCROLL_ROUND_CAP);
        intercept::wait_idle(self.book, start, IDLE_WINDOW, until).await;
        let after = self.evaluate(HEIGHT).await?.as_f64().unwrap_or(0.0);
        Ok(after > before)
    }

    /// The serialised DOM, measured in the page so an oversized one never crosses the
    /// connection.
    async fn html(&self, max_bytes: usize) -> Result<String, Failure> {
        // UTF-16 length ≤ UTF-8 length ≤ 3 × UTF-16 length: encode only when it matters.
        let expression = format!(
            "(() => {{ const root = document.documentElement; \
               const html = root ? root.outerHTML : ''; \
               if (html.length > {max_bytes}) return null; \
               if (html.length * 3 > {max_bytes} && new TextEncoder().encode(html).length > {max_bytes}) return null; \
               return html; }})()"
        );
        match self.evaluate(&expression).await? {
            Value::String(html) if html.len() <= max_bytes => Ok(html),
            Value::String(_) | Value::Null => Err(Failure::Page(RenderError::TooLarge)),
            other => Err(Failure::Page(RenderError::Navigation(format!(
                "reading the DOM gave {other}"
            )))),
        }
    }

    /// `Runtime.evaluate` in the page's main world; a thrown exception is a page failure.
    async fn evaluate(&self, expression: &str) -> Result<Value, Failure> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details
                .pointer("/exception/description")
                .or_else(|| details.get("text"))
                .and_then(Value::as_str)
                .unwrap_or("script error");
            return Err(Failure::Page(RenderError::Navigation(text.to_owned())));
        }
        Ok(result
            .pointer("/result/value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, Failure> {
        Ok(self.conn.call(Some(self.session), method, params).await?)
    }
}

fn string_at(value: &Value, key: &str) -> Result<String, Failure> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::Page(RenderError::Navigation(format!(
                "the browser's answer lacks {key}"
            )))
        })
}

/// Closes the page however the render ends, without holding up the caller: the close
/// runs on its own task (a render dropped at its deadline cannot wait for it).
struct ClosePage {
    conn: Connection,
    target_id: String,
}

impl Drop for ClosePage {
    fn drop(&mut self) {
        let conn = self.conn.clone();
        let target_id = std::mem::take(&mut self.target_id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let close = conn.call(None, "Target.closeTarget", json!({ "targetId": target_id }));
                let _ = tokio::time::timeout(QUICK, close).await;
            });
        }
    }
}

/// Aborts a task when its owner is done with it.
pub(crate) struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
