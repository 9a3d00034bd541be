//! What the API handlers and the workers share: the database pool, the plugin runtime
//! and the compiled plugins by id, the fetcher, the storage of export files, the
//! configuration, and the signal that wakes idle workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::config::Config;
use crate::crawl::Fetcher;
use crate::db;
use crate::ids::PluginId;
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
    /// Wakes idle workers when the API queues work.
    pub wake: Arc<Notify>,
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
        let storage = Storage::new(config.data_dir.join("exports"), secret).await?;
        let state = Self {
            pool,
            runtime,
            fetcher,
            config: Arc::new(config),
            storage: Arc::new(storage),
            loaded: Arc::default(),
            wake: Arc::new(Notify::new()),
        };
        let bundled = crate::bundled::register(&state.pool, &state.runtime)
            .await
            .context("registering the bundled plugins")?;
        for (id, plugin) in bundled {
            state.remember_plugin(id, plugin);
        }
        Ok(state)
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

    /// Keep a compiled plugin (one just uploaded or registered) under its id.
    pub(crate) fn remember_plugin(&self, id: PluginId, plugin: Arc<LoadedPlugin>) {
        self.lock_loaded().insert(id, plugin);
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<PluginId, Arc<LoadedPlugin>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}
