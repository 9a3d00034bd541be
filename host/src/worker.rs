//! Workers: every host claims queued runs and exports from the shared database
//! (`FOR UPDATE SKIP LOCKED`), holds them by a lease with heartbeats, and carries them out.

pub mod export;
pub mod janitor;
pub mod pagination;
pub mod run;
pub mod writer;

use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::db;
use crate::state::AppState;

/// Start the run and export loops. The returned future resolves once both loops have
/// stopped after `stop` turned true, and every claimed piece of work ended or was handed back.
pub fn spawn(
    state: AppState,
    stop: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> {
    let worker_id = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
    let runs = tokio::spawn(run_loop(state.clone(), worker_id.clone(), stop.clone()));
    let exports = tokio::spawn(export_loop(state.clone(), worker_id, stop.clone()));
    let janitor = tokio::spawn(janitor::run(state, stop));
    async move {
        let _ = runs.await;
        let _ = exports.await;
        let _ = janitor.await;
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "trawl".into())
}

async fn idle(state: &AppState, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = state.wake.notified() => {}
        _ = tokio::time::sleep(state.config.poll_interval) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

async fn run_loop(state: AppState, worker: String, mut stop: watch::Receiver<bool>) {
    let slots = std::sync::Arc::new(Semaphore::new(state.config.max_concurrent_runs.max(1)));
    let mut tasks = JoinSet::new();
    let lease = state.config.lease.as_secs_f64();
    let per_owner = state.config.quotas.concurrent_runs;
    while !*stop.borrow() {
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            continue;
        };
        match db::runs::claim_next(&state.pool, &worker, lease, per_owner).await {
            Ok(Some(claimed)) => {
                let state = state.clone();
                let stop = stop.clone();
                tasks.spawn(async move {
                    let _permit = permit;
                    run::execute(&state, claimed, stop).await;
                });
            }
            Ok(None) => idle(&state, &mut stop).await,
            Err(e) => {
                tracing::warn!("claiming a run failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn export_loop(state: AppState, worker: String, mut stop: watch::Receiver<bool>) {
    let slots = std::sync::Arc::new(Semaphore::new(state.config.export_concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let lease = state.config.lease.as_secs_f64();
    while !*stop.borrow() {
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            continue;
        };
        match db::exports::claim_next(&state.pool, &worker, lease).await {
            Ok(Some(claimed)) => {
                let state = state.clone();
                let mut stop = stop.clone();
                tasks.spawn(async move {
                    let _permit = permit;
                    let (id, token) = (claimed.id, claimed.lease_token);
                    tokio::select! {
                        () = export::execute(&state, claimed) => {}
                        // An export is all or nothing: one cut short by a stop is handed
                        // back whole, for this host or another to write from the start.
                        () = async { drop(stop.wait_for(|s| *s).await) } => {
                            if let Err(e) = db::exports::release(&state.pool, id, token).await {
                                tracing::warn!(export = %id, "handing an export back: {e}");
                            }
                        }
                    }
                });
            }
            Ok(None) => {
                drop(permit);
                idle(&state, &mut stop).await;
            }
            Err(e) => {
                tracing::warn!("claiming an export failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}
