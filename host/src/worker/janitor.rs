//! The export janitor: every host, now and then, expires exports whose time is up, deletes
//! the files of expired and deleted exports from storage, and deletes files no export
//! owns (left by a host that died between writing a file and recording it). Each step is
//! safe to run on any number of hosts at once.

use tokio::sync::watch;

use crate::db;
use crate::state::AppState;
use crate::storage::Backend;

/// Files removed per round; the rest wait for the next.
const PER_ROUND: i64 = 500;

/// Run rounds until `stop`.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = state.config.export_janitor_interval;
    while !*stop.borrow() {
        if let Err(e) = round(&state).await {
            tracing::warn!("export janitor: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Exports that expired.
    pub expired: u64,
    /// Files of expired or deleted exports removed.
    pub removed: u64,
    /// Files no export owned, removed (unfinished local uploads included).
    pub orphans: u64,
}

/// One round.
pub async fn round(state: &AppState) -> anyhow::Result<Round> {
    let mut done = Round {
        expired: db::exports::expire_due(&state.pool).await?,
        ..Round::default()
    };
    let backends = state.storage.backends();
    for left in db::exports::leftovers(&state.pool, &backends, PER_ROUND).await? {
        let Some(backend) = Backend::of(left.storage_backend.as_deref()) else {
            continue;
        };
        match state.storage.delete(backend, &left.storage_key).await {
            Ok(()) => {
                db::exports::forget_file(&state.pool, left.id).await?;
                done.removed += 1;
            }
            Err(e) => tracing::warn!(export = %left.id, "deleting an export's file: {e}"),
        }
    }
    let age = state.config.export_orphan_age;
    let old = state.storage.list_older_than(age).await?;
    for chunk in old.chunks(PER_ROUND as usize) {
        let keys: Vec<String> = chunk.iter().map(|(_, k)| k.clone()).collect();
        let known = db::exports::known_keys(&state.pool, &keys).await?;
        for (backend, key) in chunk.iter().filter(|(_, k)| !known.contains(k)) {
            match state.storage.delete(*backend, key).await {
                Ok(()) => done.orphans += 1,
                // The next round tries again; one file does not stop the others.
                Err(e) => tracing::warn!("deleting an orphaned export file {key}: {e}"),
            }
        }
    }
    done.orphans += state.storage.sweep_unfinished(age).await?;
    Ok(done)
}
