//! `trawl serve`: connect (or start the embedded database), migrate, register the bundled
//! plugins, create the first admin, then serve the API and run the workers until shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::crawl::Fetcher;
use crate::db;
use crate::ids::{PluginId, UserId};
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
        crate::bundled::register(&state)
            .await
            .context("registering the bundled plugins")?;
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

    pub(crate) fn remember_plugin(&self, id: PluginId, plugin: Arc<LoadedPlugin>) {
        self.lock_loaded().insert(id, plugin);
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<PluginId, Arc<LoadedPlugin>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A new API key: `trawl_` + 40 hex characters of randomness. Returns the key and its hash.
pub fn new_api_key() -> (String, Vec<u8>) {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let key = format!("trawl_{}{}", a.simple(), &b.simple().to_string()[..8]);
    let hash = hash_api_key(&key);
    (key, hash)
}

/// How keys are stored.
pub fn hash_api_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// The first characters of a key, kept to tell keys apart.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

/// Create the first admin if there is none; returns its key (to show once).
pub async fn bootstrap_admin(
    pool: &PgPool,
    key: Option<&str>,
) -> anyhow::Result<Option<(UserId, String)>> {
    let mut tx = pool.begin().await?;
    let Some(admin) = db::users::create_first_admin(&mut *tx).await? else {
        return Ok(None);
    };
    let key = match key {
        Some(k) => k.to_owned(),
        None => new_api_key().0,
    };
    db::api_keys::create(
        &mut *tx,
        admin.id,
        "bootstrap",
        &key_prefix(&key),
        &hash_api_key(&key),
    )
    .await?;
    tx.commit().await?;
    Ok(Some((admin.id, key)))
}

/// Serve the API on `listener` and run the workers until `shutdown` resolves; then stop
/// claiming work, give back what is in progress, and return.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = crate::worker::spawn(state.clone(), stop_rx.clone());
    let app = crate::http::app(state);
    let mut stop_http = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_http.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(server.into_future());
    shutdown.await;
    tracing::info!("shutting down: no new work is claimed; runs in progress are handed back");
    let _ = stop_tx.send(true);
    workers.await;
    server.await??;
    Ok(())
}

/// `trawl serve`: everything from configuration to shutdown.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (pool, embedded) = match &config.database_url {
        Some(url) => (
            db::connect(url.parse()?)
                .await
                .context("connecting to DATABASE_URL")?,
            None,
        ),
        None => {
            let dir = config.data_dir.join("postgres");
            let pg = db::embedded::EmbeddedPostgres::start(&dir).await?;
            tracing::info!(url = %pg.url(), "using the embedded PostgreSQL under {}", dir.display());
            let pool = db::connect(pg.connect_options())
                .await
                .context("connecting to the embedded PostgreSQL")?;
            (pool, Some(pg))
        }
    };
    let result = async {
        if let Some((_, key)) = bootstrap_admin(&pool, config.admin_key.as_deref()).await? {
            println!(
                "trawl: created the first admin. Its API key, shown only this once:\n\n    {key}\n"
            );
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        tracing::info!("trawl listening on http://{}", listener.local_addr()?);
        let state = AppState::new(config, pool.clone()).await?;
        serve(state, listener, shutdown).await
    }
    .await;
    pool.close().await;
    if let Some(pg) = embedded
        && let Err(e) = pg.stop().await
    {
        tracing::warn!("stopping the embedded PostgreSQL: {e}");
    }
    result
}
