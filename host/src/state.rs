//! What the API handlers and the workers share: the database pool, the plugin runtime
//! and the compiled plugins by id, the fetcher, the storage of export files, the
//! configuration, the signal that wakes idle workers, and the announcements of run changes
//! every host hears through PostgreSQL (LISTEN/NOTIFY).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::{Notify, broadcast, watch};

use crate::config::Config;
use crate::crawl::Fetcher;
use crate::db;
use crate::ids::{PluginId, RunId};
use crate::model::RunStatus;
use crate::rate_limit::{Rate, RateLimits};
use crate::runtime::{LoadError, LoadedPlugin, Runtime};
use crate::storage::Storage;

/// Everything the API handlers and the workers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The plugin runtime.
    pub runtime: Arc<Runtime>,
    /// The shared fetcher.
    pub fetcher: Fetcher,
    /// Configuration.
    pub config: Arc<Config>,
    /// Export files and download links.
    pub storage: Arc<Storage>,
    /// Compiled plugins by id. A std mutex: held for map operations only.
    loaded: Arc<Mutex<HashMap<PluginId, Arc<LoadedPlugin>>>>,
    /// Wakes idle workers when work is queued (by this host's API, or by any host's
    /// announcement of a queued run).
    pub wake: Arc<Notify>,
    /// Announcements of run changes on any host, for this host's event streams and workers.
    /// A broadcast is right here though it drops for slow receivers: an announcement
    /// carries no work, only "look again", and a receiver that lagged looks again.
    pub run_changes: broadcast::Sender<RunChange>,
    /// Turns true when the host begins to stop: services and long-lived responses (event
    /// streams) end on it.
    pub stopping: Arc<watch::Sender<bool>>,
    /// The API's request rate per key, counted in this host.
    pub rate_limits: Arc<RateLimits>,
    /// When this host last wrote down each API key's use.
    pub key_use: Arc<crate::key_use::KeyUse>,
    /// Headless Chromium for `browser` pages, started on first use.
    pub browser: trawl_browser::BrowserPool,
}

/// A run changed (its status, counters, or a cancellation was asked for), on some host.
#[derive(Debug, Clone, Copy)]
pub struct RunChange {
    pub run: RunId,
    pub status: RunStatus,
    /// A cancellation was asked for.
    pub cancel: bool,
}

impl RunChange {
    /// The payload of a `trawl_runs` notification: "<run id> <status>[ cancel]".
    fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.split(' ');
        let run = parts.next()?.parse().ok()?;
        let status = parts.next()?.parse().ok()?;
        let cancel = parts.next() == Some("cancel");
        Some(Self {
            run,
            status,
            cancel,
        })
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Why a stored plugin could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum PluginReadyError {
    /// Database trouble.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The stored component does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The blocking task failed.
    #[error("loading the plugin failed: {0}")]
    Task(String),
}

impl AppState {
    /// Build the state over a migrated database: runtime, fetcher, storage, bundled plugins.
    pub async fn new(config: Config, pool: PgPool) -> anyhow::Result<Self> {
        let runtime = Runtime::new(config.plugins.clone())
            .context("starting the plugin runtime")?
            .with_cache_dir(config.data_dir.join("cache").join("plugins"));
        let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
        let fresh: [u8; 32] = Sha256::digest(uuid::Uuid::new_v4().as_bytes()).into();
        let secret = db::secrets::get_or_create(&pool, "download_link_key", &fresh).await?;
        let storage =
            Storage::new(&config.storage, config.data_dir.join("exports"), secret).await?;
        let rate = Rate::new(
            i64::from(config.quotas.rate_limit),
            i64::from(config.quotas.rate_burst),
        );
        let browser = trawl_browser::BrowserPool::new(browser_config(&config));
        let state = Self {
            browser,
            pool,
            runtime,
            fetcher,
            config: Arc::new(config),
            storage: Arc::new(storage),
            loaded: Arc::default(),
            wake: Arc::new(Notify::new()),
            run_changes: broadcast::channel(1024).0,
            stopping: Arc::new(watch::channel(false).0),
            rate_limits: Arc::new(RateLimits::new(rate)),
            key_use: Arc::default(),
        };
        let bundled = crate::bundled::register(&state.pool, &state.runtime)
            .await
            .context("registering the bundled plugins")?;
        for (id, plugin) in bundled {
            state.remember_plugin(id, plugin);
        }
        Ok(state)
    }

    /// Why this host cannot render `browser` pages, if it cannot: the message names
    /// what to install.
    pub fn browser_unavailable(&self) -> Option<String> {
        trawl_browser::BrowserPool::find_executable(&browser_config(&self.config))
            .err()
            .map(|e| e.to_string())
    }

    /// The compiled plugin with this id, loading it from the database on first use.
    pub async fn plugin(&self, id: PluginId) -> Result<Arc<LoadedPlugin>, PluginReadyError> {
        if let Some(found) = self.lock_loaded().get(&id) {
            return Ok(found.clone());
        }
        let bytes = db::plugins::component(&self.pool, id).await?;
        let runtime = self.runtime.clone();
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&bytes))
            .await
            .map_err(|e| PluginReadyError::Task(e.to_string()))??;
        self.lock_loaded().insert(id, loaded.clone());
        Ok(loaded)
    }

    /// Relay the database's announcements of run changes (`trawl_runs`) to this host's
    /// listeners until `stop`, waking the workers when a run is queued. Announcements sent
    /// while the connection is down are lost; everything that listens also polls.
    pub async fn relay_run_changes(&self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!("listening for run changes failed: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            };
            if let Err(e) = listener.listen("trawl_runs").await {
                tracing::warn!("listening for run changes failed: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            loop {
                tokio::select! {
                    note = listener.recv() => match note {
                        Ok(note) => {
                            let Some(change) = RunChange::parse(note.payload()) else {
                                continue;
                            };
                            if change.status == RunStatus::Queued {
                                self.wake.notify_waiters();
                            }
                            let _ = self.run_changes.send(change);
                        }
                        Err(e) => {
                            tracing::warn!("the run change listener lost its connection: {e}");
                            break;
                        }
                    },
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }

    /// Keep a compiled plugin (one just uploaded or registered) under its id.
    pub(crate) fn remember_plugin(&self, id: PluginId, plugin: Arc<LoadedPlugin>) {
        self.lock_loaded().insert(id, plugin);
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<PluginId, Arc<LoadedPlugin>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The browser pool's settings from the host's.
fn browser_config(config: &Config) -> trawl_browser::BrowserConfig {
    trawl_browser::BrowserConfig {
        executable: config.browser.executable.clone(),
        max_contexts: config.browser.contexts.max(1),
        launch_timeout: config.browser.launch_timeout,
        memory_limit_bytes: Some(config.browser.memory.as_u64()),
        data_dir: config.data_dir.join("browser"),
    }
}
