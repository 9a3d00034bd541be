//! A small DevTools protocol client: one WebSocket to the browser, flat sessions, commands
//! answered by id, events routed by session to the render that owns the session.
//!
//! Why not a CDP crate: trawl must answer `Fetch.requestPaused` on the session that paused
//! the request, including sessions of iframes and workers that the page auto-attaches,
//! and must enable interception on those before they run. That needs every event's
//! `sessionId` and a way to command any session; chromiumoxide 0.9 hides both (events of
//! child sessions reach listeners without their session, commands go to a page's own
//! session only, and it resumes auto-attached targets itself).
//!
//! Routing: a render registers its page session under an owner id; when an event on a
//! routed session announces an attached child (`Target.attachedToTarget`), the reader
//! routes the child to the same owner before reading the next message, so no event of the
//! child can slip past. Channels are bounded; the reader waits for a slow render rather
//! than dropping an event (a dropped `requestPaused` would hang the request forever).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Events queued for one render before the reader waits for it to catch up.
const EVENT_QUEUE: usize = 256;
/// Commands queued for the socket before callers wait.
const OUTGOING_QUEUE: usize = 256;
/// Largest message accepted from the browser: the rendered HTML comes back in one (capped
/// by the render's `max_html_bytes`, checked in the page before it is sent).
const MAX_MESSAGE_BYTES: usize = 128 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CdpError {
    #[error("the DevTools connection is closed")]
    Disconnected,
    #[error("{method}: {message} ({code})")]
    Protocol {
        method: &'static str,
        code: i64,
        message: String,
    },
    #[error("cannot connect to DevTools at {url}: {reason}")]
    Connect { url: String, reason: String },
}

/// An event from the browser, on a session of the render it was routed to.
#[derive(Debug)]
pub(crate) struct Event {
    pub session_id: String,
    pub method: String,
    pub params: Value,
}

type Reply = Result<Value, (i64, String)>;

/// A handle to the connection; clones share it.
#[derive(Clone)]
pub(crate) struct Connection {
    shared: Arc<Shared>,
    outgoing: mpsc::Sender<String>,
}

struct Shared {
    next_id: AtomicU64,
    next_owner: AtomicU64,
    // Sync mutexes: each holds a map for an insert, remove or lookup and is never held
    // across an `.await`. `closed` lives under the same lock as each map so that nothing
    // is registered after the reader has failed everything on close.
    pending: Mutex<Pending>,
    routes: Mutex<Routes>,
}

#[derive(Default)]
struct Pending {
    closed: bool,
    calls: HashMap<u64, oneshot::Sender<Reply>>,
}

#[derive(Default)]
struct Routes {
    closed: bool,
    /// Each owner's event sender. The routes hold the only senders, so clearing them on
    /// close ends every render's receiver.
    owners: HashMap<u64, mpsc::Sender<Event>>,
    sessions: HashMap<String, Route>,
}

#[derive(Clone)]
struct Route {
    owner: u64,
    tx: mpsc::Sender<Event>,
}

/// The reader and writer tasks; dropping this ends them and so the connection.
pub(crate) struct Tasks {
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Connection {
    pub(crate) async fn connect(url: &str) -> Result<(Self, Tasks), CdpError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| CdpError::Connect {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let (mut sink, mut stream) = socket.split();
        let shared = Arc::new(Shared {
            next_id: AtomicU64::new(1),
            next_owner: AtomicU64::new(1),
            pending: Mutex::new(Pending::default()),
            routes: Mutex::new(Routes::default()),
        });
        let (outgoing, mut queue) = mpsc::channel::<String>(OUTGOING_QUEUE);

        let writer = tokio::spawn(async move {
            while let Some(text) = queue.recv().await {
                if let Err(error) = sink.send(Message::text(text)).await {
                    tracing::debug!(%error, "DevTools write failed");
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_shared = shared.clone();
        let reader = tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                match message {
                    Ok(Message::Text(text)) => reader_shared.dispatch(text.as_str()).await,
                    Ok(Message::Close(_)) => break,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::debug!(%error, "DevTools read failed");
                        break;
                    }
                }
            }
            reader_shared.close();
        });
        Ok((Self { shared, outgoing }, Tasks { reader, writer }))
    }

    /// Whether the browser's end has gone away.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.shared.pending).closed
    }

    /// Sends a command (to the browser when `session` is `None`) and waits for its answer.
    /// Dropping the future forgets the call.
    pub(crate) async fn call(
        &self,
        session: Option<&str>,
        method: &'static str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = lock(&self.shared.pending);
            if pending.closed {
                return Err(CdpError::Disconnected);
            }
            pending.calls.insert(id, tx);
        }
        let forget = Forget {
            shared: &self.shared,
            id,
        };
        let mut message = serde_json::json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = Value::String(session.to_owned());
        }
        if self.outgoing.send(message.to_string()).await.is_err() {
            return Err(CdpError::Disconnected);
        }
        let reply = rx.await;
        drop(forget);
        match reply {
            Ok(Ok(result)) => Ok(result),
            Ok(Err((code, message))) => Err(CdpError::Protocol {
                method,
                code,
                message,
            }),
            Err(_) => Err(CdpError::Disconnected),
        }
    }

    /// A new owner for routes: its events arrive on the returned receiver, and dropping the
    /// guard unroutes every session it owns (children included).
    pub(crate) fn owner(&self) -> (RouteGuard, mpsc::Receiver<Event>) {
        let owner = self.shared.next_owner.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let mut routes = lock(&self.shared.routes);
        // After close the sender is dropped here, so the receiver reports the end at once.
        if !routes.closed {
            routes.owners.insert(owner, tx);
        }
        drop(routes);
        (
            RouteGuard {
                shared: self.shared.clone(),
                owner,
            },
            rx,
        )
    }
}

/// Removes a call's pending entry when its caller stops waiting, so abandoned calls do not
/// pile up for the connection's lifetime.
struct Forget<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(&self.shared.pending).calls.remove(&self.id);
    }
}

/// The sessions one render owns; see [`Connection::owner`].
pub(crate) struct RouteGuard {
    shared: Arc<Shared>,
    owner: u64,
}

impl RouteGuard {
    /// Routes a session's events to this owner.
    pub(crate) fn add(&self, session: &str) -> Result<(), CdpError> {
        let mut routes = lock(&self.shared.routes);
        let Some(tx) = routes.owners.get(&self.owner).cloned() else {
            return Err(CdpError::Disconnected);
        };
        routes.sessions.insert(
            session.to_owned(),
            Route {
                owner: self.owner,
                tx,
            },
        );
        Ok(())
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        let mut routes = lock(&self.shared.routes);
        routes.owners.remove(&self.owner);
        routes.sessions.retain(|_, route| route.owner != self.owner);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Incoming {
    id: Option<u64>,
    result: Option<Value>,
    error: Option<ErrorBody>,
    method: Option<String>,
    params: Option<Value>,
    session_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

impl Shared {
    async fn dispatch(&self, text: &str) {
        let incoming: Incoming = match serde_json::from_str(text) {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::debug!(%error, "unreadable DevTools message");
                return;
            }
        };
        if let Some(id) = incoming.id {
            let reply = match incoming.error {
                Some(error) => Err((error.code, error.message)),
                None => Ok(incoming.result.unwrap_or(Value::Null)),
            };
            if let Some(tx) = lock(&self.pending).calls.remove(&id) {
                let _ = tx.send(reply);
            }
            return;
        }
        let (Some(method), Some(session_id)) = (incoming.method, incoming.session_id) else {
            // Browser-level events: nothing here listens to them.
            return;
        };
        let params = incoming.params.unwrap_or(Value::Null);
        let route = {
            let mut routes = lock(&self.routes);
            let route = routes.sessions.get(&session_id).cloned();
            match (method.as_str(), &route) {
                ("Target.attachedToTarget", Some(parent)) => {
                    if let Some(child) = params.get("sessionId").and_then(Value::as_str) {
                        routes.sessions.insert(child.to_owned(), parent.clone());
                    }
                }
                ("Target.detachedFromTarget", _) => {
                    if let Some(child) = params.get("sessionId").and_then(Value::as_str) {
                        routes.sessions.remove(child);
                    }
                }
                _ => {}
            }
            route
        };
        if let Some(route) = route {
            // A closed receiver means the render has finished: the event is moot.
            let _ = route
                .tx
                .send(Event {
                    session_id,
                    method,
                    params,
                })
                .await;
        }
    }

    fn close(&self) {
        let calls = {
            let mut pending = lock(&self.pending);
            pending.closed = true;
            std::mem::take(&mut pending.calls)
        };
        // Dropping the senders fails every waiting call with `Disconnected`.
        drop(calls);
        let senders = {
            let mut routes = lock(&self.routes);
            routes.closed = true;
            (
                std::mem::take(&mut routes.owners),
                std::mem::take(&mut routes.sessions),
            )
        };
        drop(senders);
    }
}

/// Locks a map; a panic while holding one of these locks cannot leave a map half-changed
/// (every critical section is a single insert, remove or lookup), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
