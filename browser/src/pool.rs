//! The browser shared by every run of a host: started on the first render, restarted when
//! it dies, hangs or grows past its memory limit, with a bounded number of contexts
//! rendering at once.
//!
//! Restart policy: a render that loses its browser (the process exited, the connection
//! dropped) is retried once on a fresh browser. A render that runs past its deadline is a
//! page problem when the browser still answers (the render fails with `Timeout` and the
//! other renders go on); when it does not answer, the browser is relaunched and the render
//! retried like a crash.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::cdp::{self, Connection};
use crate::config::{self, BrowserConfig};
use crate::error::{RenderError, Unavailable};
use crate::process::{self, Chromium};
use crate::render::{self, Failure};
use crate::request::{ContextKey, ContextScope, RenderRequest, Rendered};

/// How long a hung-looking browser gets to answer a trivial command before it is taken as
/// hung, and how long cleanup commands may take.
const PROBE: Duration = Duration::from_secs(3);

/// What the pool has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Chromium processes started.
    pub launches: u64,
    /// Of those, the ones that replaced an earlier browser (after a crash, a hang or the
    /// memory limit).
    pub restarts: u64,
    /// Browsers stopped because their tree grew past `memory_limit_bytes`.
    pub memory_restarts: u64,
    /// Browser contexts open: per-page ones being rendered in plus per-run ones kept.
    pub contexts_in_use: usize,
    /// Renders holding a context slot.
    pub renders_in_flight: usize,
    /// The summed `VmRSS` of the Chromium tree, measured after the latest render.
    pub rss_bytes: Option<u64>,
    /// The running browser's process id.
    pub browser_pid: Option<u32>,
}

/// Renders pages in one shared headless Chromium. Clones share the browser.
#[derive(Clone)]
pub struct BrowserPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BrowserPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserPool")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

struct Inner {
    config: BrowserConfig,
    /// One permit per context rendering at once.
    permits: Semaphore,
    /// The live browser; the async lock is held while one is launched or stopped, so
    /// renders arriving meanwhile wait for it rather than launching their own.
    browser: tokio::sync::Mutex<Option<Arc<Live>>>,
    /// Per-run contexts, tagged with the browser generation they live in.
    runs: tokio::sync::Mutex<HashMap<ContextKey, RunContext>>,
    in_flight: AtomicUsize,
    contexts: AtomicUsize,
    restart_wanted: AtomicBool,
    launches: AtomicU64,
    restarts: AtomicU64,
    memory_restarts: AtomicU64,
    // A sync mutex: written after each render and read by `stats`, never across `.await`.
    measured: Mutex<Measured>,
}

#[derive(Default)]
struct Measured {
    rss_bytes: Option<u64>,
    browser_pid: Option<u32>,
}

struct RunContext {
    generation: u64,
    id: String,
}

/// A running browser and the connection to it.
struct Live {
    generation: u64,
    conn: Connection,
    _tasks: cdp::Tasks,
    pid: u32,
    proxy: String,
    // A sync mutex: `has_exited` is a non-blocking `try_wait`; `stop` takes the process
    // out before it awaits the kill.
    process: Mutex<Option<Chromium>>,
}

impl Live {
    fn is_healthy(&self) -> bool {
        if self.conn.is_closed() {
            return false;
        }
        let mut process = self
            .process
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        process.as_mut().is_some_and(|p| !p.has_exited())
    }

    async fn answers(&self) -> bool {
        let probe = self.conn.call(None, "Browser.getVersion", json!({}));
        matches!(tokio::time::timeout(PROBE, probe).await, Ok(Ok(_)))
    }

    async fn stop(&self) {
        let process = self
            .process
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(process) = process {
            process.kill().await;
        }
    }
}

/// How one attempt at a render ended badly.
enum Attempt {
    /// The browser of this generation is gone or hung.
    Fault(u64, String),
    /// Final: a retry would not help.
    Final(RenderError),
}

impl BrowserPool {
    /// A pool that starts Chromium on its first render.
    pub fn new(config: BrowserConfig) -> Self {
        let permits = Semaphore::new(config.max_contexts.max(1));
        Self {
            inner: Arc::new(Inner {
                config,
                permits,
                browser: tokio::sync::Mutex::new(None),
                runs: tokio::sync::Mutex::new(HashMap::new()),
                in_flight: AtomicUsize::new(0),
                contexts: AtomicUsize::new(0),
                restart_wanted: AtomicBool::new(false),
                launches: AtomicU64::new(0),
                restarts: AtomicU64::new(0),
                memory_restarts: AtomicU64::new(0),
                measured: Mutex::new(Measured::default()),
            }),
        }
    }

    /// The explicit executable, else `chromium`, `chromium-browser` or `google-chrome`
    /// on `PATH`.
    pub fn find_executable(config: &BrowserConfig) -> Result<PathBuf, Unavailable> {
        config::find_executable(config)
    }

    /// Renders one page. Waits for a context slot first; the deadline starts once the
    /// browser is up (a launch is bounded by `launch_timeout` on its own). After a crash
    /// the retry gets a deadline of its own.
    pub async fn render(&self, request: RenderRequest) -> Result<Rendered, RenderError> {
        let _permit = self.inner.permits.acquire().await.map_err(|_| {
            RenderError::Unavailable(Unavailable {
                message: "the browser pool has been shut down".into(),
            })
        })?;
        let _in_flight = InFlight::enter(&self.inner);
        match self.attempt(&request).await {
            Ok(rendered) => Ok(rendered),
            Err(Attempt::Final(error)) => Err(error),
            Err(Attempt::Fault(generation, reason)) => {
                tracing::warn!(%reason, url = %request.url, "browser lost; retrying on a fresh one");
                self.discard(generation).await;
                match self.attempt(&request).await {
                    Ok(rendered) => Ok(rendered),
                    Err(Attempt::Final(error)) => Err(error),
                    Err(Attempt::Fault(generation, reason)) => {
                        self.discard(generation).await;
                        Err(RenderError::Crashed(reason))
                    }
                }
            }
        }
    }

    async fn attempt(&self, request: &RenderRequest) -> Result<Rendered, Attempt> {
        let live = self.browser().await.map_err(Attempt::Final)?;
        let work = async {
            let context = self.context(&live, request.scope).await?;
            let rendered = render::run(&live.conn, context.id(), request).await;
            context.close().await;
            rendered
        };
        let result = tokio::time::timeout(request.deadline, work).await;
        self.measure(&live).await;
        match result {
            Ok(Ok(rendered)) => Ok(rendered),
            Ok(Err(Failure::Page(error))) => Err(Attempt::Final(error)),
            Ok(Err(Failure::Disconnected)) => Err(Attempt::Fault(
                live.generation,
                "the browser went away during the render".into(),
            )),
            Err(_) if live.answers().await => Err(Attempt::Final(RenderError::Timeout)),
            Err(_) => Err(Attempt::Fault(
                live.generation,
                "the browser stopped answering".into(),
            )),
        }
    }

    /// The live browser, launching one if there is none or it is gone, or if the memory
    /// limit asked for a restart and no other render is using it.
    async fn browser(&self) -> Result<Arc<Live>, RenderError> {
        let inner = &self.inner;
        let mut slot = inner.browser.lock().await;
        if let Some(live) = slot.as_ref() {
            let over_memory = inner.restart_wanted.load(Ordering::SeqCst)
                && inner.in_flight.load(Ordering::SeqCst) <= 1;
            if live.is_healthy() && !over_memory {
                return Ok(live.clone());
            }
            if over_memory {
                inner.restart_wanted.store(false, Ordering::SeqCst);
                inner.memory_restarts.fetch_add(1, Ordering::SeqCst);
            }
            if let Some(old) = slot.take() {
                self.retire(&old).await;
            }
        }
        let executable = config::find_executable(&inner.config)?;
        let number = inner.launches.load(Ordering::SeqCst) + 1;
        let (chromium, url) = process::launch(&executable, &inner.config, number)
            .await
            .map_err(RenderError::Launch)?;
        let (conn, tasks) = match Connection::connect(&url).await {
            Ok(connected) => connected,
            Err(error) => {
                chromium.kill().await;
                return Err(RenderError::Launch(error.to_string()));
            }
        };
        inner.launches.fetch_add(1, Ordering::SeqCst);
        if number > 1 {
            inner.restarts.fetch_add(1, Ordering::SeqCst);
        }
        let pid = chromium.pid();
        let live = Arc::new(Live {
            generation: number,
            conn,
            _tasks: tasks,
            pid,
            proxy: chromium.proxy().to_owned(),
            process: Mutex::new(Some(chromium)),
        });
        self.measured().browser_pid = Some(pid);
        tracing::info!(pid, launch = number, "Chromium started");
        *slot = Some(live.clone());
        Ok(live)
    }

    /// Stops the browser of `generation` if it is still the live one.
    async fn discard(&self, generation: u64) {
        let mut slot = self.inner.browser.lock().await;
        if slot
            .as_ref()
            .is_some_and(|live| live.generation == generation)
            && let Some(old) = slot.take()
        {
            self.retire(&old).await;
        }
    }

    /// Kills a browser that has left the slot and forgets its contexts.
    async fn retire(&self, old: &Live) {
        old.stop().await;
        self.inner.runs.lock().await.clear();
        self.inner.contexts.store(0, Ordering::SeqCst);
        let mut measured = self.measured();
        measured.browser_pid = None;
        measured.rss_bytes = None;
    }

    async fn context(&self, live: &Arc<Live>, scope: ContextScope) -> Result<Context, Failure> {
        match scope {
            ContextScope::Page => {
                let id = self.create_context(live).await?;
                Ok(Context::Page(DisposeContext {
                    conn: live.conn.clone(),
                    id,
                    contexts: self.inner.clone(),
                }))
            }
            ContextScope::Run(key) => {
                let mut runs = self.inner.runs.lock().await;
                if let Some(run) = runs.get(&key)
                    && run.generation == live.generation
                {
                    return Ok(Context::Run(run.id.clone()));
                }
                let id = self.create_context(live).await?;
                runs.insert(
                    key,
                    RunContext {
                        generation: live.generation,
                        id: id.clone(),
                    },
                );
                Ok(Context::Run(id))
            }
        }
    }

    async fn create_context(&self, live: &Live) -> Result<String, Failure> {
        // The context gets the dead proxy of its own as well as the browser's: whatever
        // a context inherits, it has no way out either.
        let created = live
            .conn
            .call(
                None,
                "Target.createBrowserContext",
                json!({
                    "disposeOnDetach": true,
                    "proxyServer": live.proxy,
                    "proxyBypassList": "<-loopback>",
                }),
            )
            .await?;
        let id = created
            .get("browserContextId")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                Failure::Page(RenderError::Navigation(
                    "the browser did not name the new context".into(),
                ))
            })?;
        self.inner.contexts.fetch_add(1, Ordering::SeqCst);
        Ok(id.to_owned())
    }

    /// Records the tree's RSS and asks for a restart past the limit.
    async fn measure(&self, live: &Live) {
        let pid = live.pid;
        let rss = tokio::task::spawn_blocking(move || process::tree_rss_bytes(pid))
            .await
            .ok()
            .flatten();
        if let (Some(rss), Some(limit)) = (rss, self.inner.config.memory_limit_bytes)
            && rss > limit
        {
            tracing::info!(
                rss,
                limit,
                "Chromium is over its memory limit; restarting when idle"
            );
            self.inner.restart_wanted.store(true, Ordering::SeqCst);
        }
        self.measured().rss_bytes = rss;
    }

    /// Closes a run's context (its cookies and storage go with it).
    pub async fn release(&self, key: ContextKey) {
        let Some(run) = self.inner.runs.lock().await.remove(&key) else {
            return;
        };
        let live = self.inner.browser.lock().await.clone();
        if let Some(live) = live
            && live.generation == run.generation
        {
            dispose(&live.conn, &run.id).await;
            decrement(&self.inner.contexts);
        }
    }

    pub fn stats(&self) -> Stats {
        let inner = &self.inner;
        let measured = self.measured();
        Stats {
            launches: inner.launches.load(Ordering::SeqCst),
            restarts: inner.restarts.load(Ordering::SeqCst),
            memory_restarts: inner.memory_restarts.load(Ordering::SeqCst),
            contexts_in_use: inner.contexts.load(Ordering::SeqCst),
            renders_in_flight: inner.in_flight.load(Ordering::SeqCst),
            rss_bytes: measured.rss_bytes,
            browser_pid: measured.browser_pid,
        }
    }

    /// Stops the browser; renders waiting for a slot fail, and later ones too.
    pub async fn shutdown(&self) {
        self.inner.permits.close();
        let old = self.inner.browser.lock().await.take();
        if let Some(old) = old {
            // A polite close first, so Chromium removes its own files; the kill follows.
            let close = old.conn.call(None, "Browser.close", json!({}));
            let _ = tokio::time::timeout(PROBE, close).await;
            self.retire(&old).await;
        }
    }

    fn measured(&self) -> std::sync::MutexGuard<'_, Measured> {
        // Two plain fields: a panic cannot leave them inconsistent.
        self.inner
            .measured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Counts a render in flight; the last one out restarts a browser that is over its
/// memory limit.
struct InFlight {
    inner: Arc<Inner>,
}

impl InFlight {
    fn enter(inner: &Arc<Inner>) -> Self {
        inner.in_flight.fetch_add(1, Ordering::SeqCst);
        Self {
            inner: inner.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let left = self.inner.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0
            && self.inner.restart_wanted.load(Ordering::SeqCst)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let pool = BrowserPool {
                inner: self.inner.clone(),
            };
            runtime.spawn(async move { pool.restart_if_idle().await });
        }
    }
}

impl BrowserPool {
    /// Stops a browser that is over its memory limit while no render uses it; the next
    /// render launches a fresh one.
    async fn restart_if_idle(&self) {
        let inner = &self.inner;
        let mut slot = inner.browser.lock().await;
        // Checked under the lock: a render that has entered since will get its browser
        // through this lock, after the restart.
        if inner.in_flight.load(Ordering::SeqCst) != 0
            || !inner.restart_wanted.swap(false, Ordering::SeqCst)
        {
            return;
        }
        if let Some(old) = slot.take() {
            inner.memory_restarts.fetch_add(1, Ordering::SeqCst);
            self.retire(&old).await;
        }
    }
}

/// The context a render runs in.
enum Context {
    Page(DisposeContext),
    Run(String),
}

impl Context {
    fn id(&self) -> &str {
        match self {
            Context::Page(page) => &page.id,
            Context::Run(id) => id,
        }
    }

    /// Disposes of a per-page context now, so the slot's context is gone before the slot
    /// is released.
    async fn close(self) {
        if let Context::Page(mut page) = self {
            let id = std::mem::take(&mut page.id);
            dispose(&page.conn, &id).await;
            decrement(&page.contexts.contexts);
        }
    }
}

/// Disposes of a per-page context when its render ends, on a task of its own so a
/// render dropped at its deadline still cleans up.
struct DisposeContext {
    conn: Connection,
    id: String,
    contexts: Arc<Inner>,
}

impl Drop for DisposeContext {
    fn drop(&mut self) {
        if self.id.is_empty() {
            return;
        }
        let conn = self.conn.clone();
        let id = std::mem::take(&mut self.id);
        let inner = self.contexts.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                dispose(&conn, &id).await;
                decrement(&inner.contexts);
            });
        }
    }
}

async fn dispose(conn: &Connection, id: &str) {
    let call = conn.call(
        None,
        "Target.disposeBrowserContext",
        json!({ "browserContextId": id }),
    );
    let _ = tokio::time::timeout(PROBE, call).await;
}

fn decrement(counter: &AtomicUsize) {
    let _ = counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
}
