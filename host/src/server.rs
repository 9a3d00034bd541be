//! `trawl serve`, the top of the house: connect (or start the embedded database),
//! migrate, create the first admin, build the shared state, then run the services (the
//! HTTP API and the workers) until the one stop signal they all hear.

use std::future::Future;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::db;
use crate::keys::bootstrap_admin;
use crate::state::AppState;

/// Serve the API on `listener` and run the workers until `shutdown` resolves; then stop
/// claiming work, give back what is in progress, and return.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Before any work: what the services record from here on is kept.
    crate::telemetry::install();
    let stop_tx = state.stopping.clone();
    let stop_rx = stop_tx.subscribe();
    let relay = {
        let state = state.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move { state.relay_run_changes(stop).await })
    };
    let workers = crate::worker::spawn(state.clone(), stop_rx.clone());
    let webhooks = crate::webhooks::spawn(state.clone(), stop_rx.clone());
    let retention = tokio::spawn(crate::retention::run(state.clone(), stop_rx.clone()));
    let scheduler = crate::scheduler::spawn(&state, stop_rx.clone());
    let browser = state.browser.clone();
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
    webhooks.await;
    let _ = retention.await;
    let _ = scheduler.await;
    server.await??;
    let _ = relay.await;
    // After the workers: no render is in flight any more.
    browser.shutdown().await;
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
