//! Answers every request a render's page makes: the main document from what the host
//! supplied, blocked kinds with a failure, everything else through the host's
//! [`SubFetch`]. Also sets up the iframes and workers the page auto-attaches, so their
//! requests are paused too before they run.
//!
//! One task per render reads the render's events and never waits on the browser itself:
//! each answer is its own task (in a [`JoinSet`] the loop owns, so ending the loop ends
//! them), which keeps the connection's reader from ever waiting on a render that waits on
//! the reader.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::cdp::{Connection, Event};
use crate::request::{ResourceKind, SubFetch, SubRefusal, SubRequest, SubResponse};

/// Requests of one page handed to the host at once; the rest wait their turn.
const FETCHES_AT_ONCE: usize = 64;
/// Requests of one page waiting for the host (in flight or queued) before further ones
/// fail at once: a page's request storm costs a bounded amount of memory.
const MAX_OUTSTANDING: usize = 1024;

/// What the render learns from the event loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageState {
    Running,
    /// The page's renderer process died.
    Crashed,
    /// The browser's connection ended.
    Disconnected,
}

/// Counters and the in-flight bookkeeping behind the network-idle wait.
#[derive(Debug)]
pub(crate) struct Book {
    // A sync mutex: every critical section is a few integer updates, never across `.await`.
    inner: Mutex<BookInner>,
}

#[derive(Debug)]
struct BookInner {
    outstanding: usize,
    last_change: Instant,
    requests: u32,
    refused: u32,
    blocked: u32,
}

/// A snapshot of [`Book`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub outstanding: usize,
    pub last_change: Instant,
    pub requests: u32,
    pub refused: u32,
    pub blocked: u32,
}

impl Book {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(BookInner {
                outstanding: 0,
                last_change: Instant::now(),
                requests: 0,
                refused: 0,
                blocked: 0,
            }),
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        let inner = self.lock();
        Counts {
            outstanding: inner.outstanding,
            last_change: inner.last_change,
            requests: inner.requests,
            refused: inner.refused,
            blocked: inner.blocked,
        }
    }

    /// Takes a request for the host, unless too many are waiting already.
    fn start(&self) -> bool {
        let mut inner = self.lock();
        if inner.outstanding >= MAX_OUTSTANDING {
            inner.blocked = inner.blocked.saturating_add(1);
            return false;
        }
        inner.outstanding += 1;
        inner.requests = inner.requests.saturating_add(1);
        inner.last_change = Instant::now();
        true
    }

    fn finish(&self, refused: bool) {
        let mut inner = self.lock();
        inner.outstanding = inner.outstanding.saturating_sub(1);
        inner.last_change = Instant::now();
        if refused {
            inner.refused = inner.refused.saturating_add(1);
        }
    }

    fn blocked(&self) {
        let mut inner = self.lock();
        inner.blocked = inner.blocked.saturating_add(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BookInner> {
        // Integer updates cannot be left half-done by a panic: ignore poisoning.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Waits until no request has been outstanding for `window`, counting quiet time from
/// `since` at the earliest (a request the page is about to make must get its chance).
/// `false` when `until` comes first.
pub(crate) async fn wait_idle(
    book: &Book,
    since: Instant,
    window: Duration,
    until: Instant,
) -> bool {
    loop {
        let counts = book.counts();
        let now = Instant::now();
        let quiet_since = counts.last_change.max(since);
        if counts.outstanding == 0 && now.duration_since(quiet_since) >= window {
            return true;
        }
        if now >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50).min(until - now)).await;
    }
}

/// Everything the loop needs for one page.
pub(crate) struct Interceptor {
    pub conn: Connection,
    /// The page's own session: its first document request is the main document.
    pub page_session: String,
    pub document: SubResponse,
    pub fetch: Arc<dyn SubFetch>,
    pub block: Vec<ResourceKind>,
    pub book: Arc<Book>,
    pub state: watch::Sender<PageState>,
}

impl Interceptor {
    /// Runs until the events end (the browser went away) or the task is aborted.
    pub(crate) async fn run(self, mut events: mpsc::Receiver<Event>) {
        let Interceptor {
            conn,
            page_session,
            document,
            fetch,
            block,
            book,
            state,
        } = self;
        let mut document = Some(document);
        let gate = Arc::new(Semaphore::new(FETCHES_AT_ONCE));
        let mut tasks = JoinSet::new();
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                // Reap finished answers so the set holds only live ones.
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            };
            let Some(event) = event else {
                let _ = state.send(PageState::Disconnected);
                break;
            };
            match event.method.as_str() {
                "Fetch.requestPaused" => {
                    let paused: RequestPaused = match serde_json::from_value(event.params) {
                        Ok(paused) => paused,
                        Err(error) => {
                            tracing::debug!(%error, "unreadable Fetch.requestPaused");
                            continue;
                        }
                    };
                    let kind = ResourceKind::from_cdp(&paused.resource_type);
                    let answer = Answer {
                        conn: conn.clone(),
                        session: event.session_id.clone(),
                        request_id: paused.request_id.clone(),
                    };
                    if kind == ResourceKind::Document
                        && event.session_id == page_session
                        && let Some(document) = document.take()
                    {
                        tasks.spawn(answer.fulfil(document));
                    } else if block.contains(&kind) {
                        book.blocked();
                        tasks.spawn(answer.fail("BlockedByClient"));
                    } else if !book.start() {
                        tasks.spawn(answer.fail("BlockedByClient"));
                    } else {
                        let request = paused.into_sub_request(kind);
                        tasks.spawn(fetch_and_answer(
                            answer,
                            request,
                            fetch.clone(),
                            gate.clone(),
                            book.clone(),
                        ));
                    }
                }
                "Target.attachedToTarget" => {
                    if let Some(child) = event.params.get("sessionId").and_then(Value::as_str) {
                        tasks.spawn(set_up_child(conn.clone(), child.to_owned()));
                    }
                }
                "Inspector.targetCrashed" if event.session_id == page_session => {
                    let _ = state.send(PageState::Crashed);
                }
                _ => {}
            }
        }
    }
}

/// Pauses a child target's requests like the page's, attaches its own children, then lets
/// it run. Each step may be unsupported by a kind of target (a worker has no Page domain,
/// some have no Target domain): failures are expected and ignored, but the child is
/// always resumed.
async fn set_up_child(conn: Connection, session: String) {
    let _ = conn
        .call(Some(&session), "Fetch.enable", fetch_enable_params())
        .await;
    let _ = conn
        .call(Some(&session), "Target.setAutoAttach", auto_attach_params())
        .await;
    let _ = conn
        .call(Some(&session), "Runtime.runIfWaitingForDebugger", json!({}))
        .await;
}

pub(crate) fn fetch_enable_params() -> Value {
    json!({ "patterns": [{ "urlPattern": "*", "requestStage": "Request" }] })
}

pub(crate) fn auto_attach_params() -> Value {
    // Children start paused, so interception is on before their first request.
    json!({ "autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true })
}

async fn fetch_and_answer(
    answer: Answer,
    request: SubRequest,
    fetch: Arc<dyn SubFetch>,
    gate: Arc<Semaphore>,
    book: Arc<Book>,
) {
    // The gate is never closed; if it were, fetching without a permit is still bounded
    // by MAX_OUTSTANDING.
    let _permit = gate.acquire_owned().await.ok();
    match fetch.fetch(request).await {
        Ok(response) => {
            answer.fulfil(response).await;
            book.finish(false);
        }
        Err(refusal) => {
            answer.fail(failure_reason(&refusal)).await;
            book.finish(true);
        }
    }
}

/// The `Network.ErrorReason` a refusal fails the browser's request with.
fn failure_reason(refusal: &SubRefusal) -> &'static str {
    match refusal.code.as_str() {
        "blocked_address" => "AddressUnreachable",
        code if code.contains("timeout") || code.contains("timed_out") => "TimedOut",
        _ => "BlockedByClient",
    }
}

/// Where to send the answer to one paused request.
struct Answer {
    conn: Connection,
    session: String,
    request_id: String,
}

impl Answer {
    async fn fulfil(self, response: SubResponse) {
        let headers: Vec<Value> = response
            .headers
            .iter()
            .filter(|(name, _)| passes_to_browser(name))
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        let params = json!({
            "requestId": self.request_id,
            "responseCode": response.status,
            "responseHeaders": headers,
            "body": BASE64.encode(&response.body),
        });
        if let Err(error) = self
            .conn
            .call(Some(&self.session), "Fetch.fulfillRequest", params)
            .await
        {
            // The page may have gone away or cancelled the request meanwhile.
            tracing::debug!(%error, "Fetch.fulfillRequest");
        }
    }

    async fn fail(self, reason: &'static str) {
        let params = json!({ "requestId": self.request_id, "errorReason": reason });
        if let Err(error) = self
            .conn
            .call(Some(&self.session), "Fetch.failRequest", params)
            .await
        {
            tracing::debug!(%error, "Fetch.failRequest");
        }
    }
}

/// Headers that describe the transfer rather than the body the host hands over (already
/// decoded and complete): passed on, they would make the browser decode it again or wait
/// for a different length.
fn passes_to_browser(name: &str) -> bool {
    const TRANSFER: [&str; 5] = [
        "content-encoding",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ];
    !TRANSFER.iter().any(|t| name.eq_ignore_ascii_case(t))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestPaused {
    request_id: String,
    request: PausedRequest,
    #[serde(default)]
    resource_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PausedRequest {
    url: String,
    #[serde(default)]
    url_fragment: Option<String>,
    method: String,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    #[serde(default)]
    post_data: Option<String>,
    #[serde(default)]
    post_data_entries: Option<Vec<PostDataEntry>>,
}

#[derive(Deserialize)]
struct PostDataEntry {
    #[serde(default)]
    bytes: Option<String>,
}

impl RequestPaused {
    fn into_sub_request(self, kind: ResourceKind) -> SubRequest {
        let PausedRequest {
            mut url,
            url_fragment,
            method,
            headers,
            post_data,
            post_data_entries,
        } = self.request;
        if let Some(fragment) = url_fragment {
            url.push_str(&fragment);
        }
        // `postDataEntries` carries the exact bytes (base64); `postData` is the older,
        // UTF-8-only form.
        let body = match post_data_entries {
            Some(entries) => Some(
                entries
                    .iter()
                    .filter_map(|e| e.bytes.as_deref())
                    .filter_map(|b| BASE64.decode(b).ok())
                    .flatten()
                    .collect(),
            ),
            None => post_data.map(String::into_bytes),
        };
        let headers = headers
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(value) => (name, value),
                other => (name, other.to_string()),
            })
            .collect();
        SubRequest {
            url,
            method,
            headers,
            body,
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_request_becomes_a_sub_request() {
        let paused: RequestPaused = serde_json::from_value(json!({
            "requestId": "interception-job-1.0",
            "frameId": "F",
            "resourceType": "Fetch",
            "request": {
                "url": "http://a.test/x",
                "urlFragment": "#top",
                "method": "POST",
                "headers": { "Accept": "*/*" },
                "postData": "ignored",
                "postDataEntries": [{ "bytes": BASE64.encode(b"a=1") }],
                "initialPriority": "High",
                "referrerPolicy": "no-referrer"
            }
        }))
        .expect("parses");
        let request = paused.into_sub_request(ResourceKind::Fetch);
        assert_eq!(request.url, "http://a.test/x#top");
        assert_eq!(request.method, "POST");
        assert_eq!(request.headers, vec![("Accept".into(), "*/*".into())]);
        assert_eq!(request.body.as_deref(), Some(&b"a=1"[..]));
    }

    #[test]
    fn refusals_map_to_error_reasons() {
        let refusal = |code: &str| SubRefusal {
            code: code.into(),
            message: String::new(),
        };
        assert_eq!(
            failure_reason(&refusal("blocked_address")),
            "AddressUnreachable"
        );
        assert_eq!(failure_reason(&refusal("fetch_timeout")), "TimedOut");
        assert_eq!(failure_reason(&refusal("robots")), "BlockedByClient");
    }

    #[test]
    fn transfer_headers_stay_behind() {
        assert!(!passes_to_browser("Content-Encoding"));
        assert!(!passes_to_browser("content-length"));
        assert!(passes_to_browser("Content-Type"));
        assert!(passes_to_browser("Set-Cookie"));
    }

    #[test]
    fn the_outstanding_cap_blocks() {
        let book = Book::new();
        for _ in 0..MAX_OUTSTANDING {
            assert!(book.start());
        }
        assert!(!book.start());
        book.finish(true);
        assert!(book.start());
        let counts = book.counts();
        assert_eq!(counts.requests as usize, MAX_OUTSTANDING + 1);
        assert_eq!(counts.refused, 1);
        assert_eq!(counts.blocked, 1);
    }
}
