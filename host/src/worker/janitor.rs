//! The export janitor: every host, now and then, expires exports whose time is up, deletes
//! the files of expired and deleted exports from storage, and deletes files no export
//! owns (left by a host that died between writing a file and recording it). Each step is
//! safe to run on any number of hosts at once.

use std::time::Duration;

use tokio::sync::watch;

use crate::db;
use crate::state::AppState;

/// Files removed per round; the rest wait for the next.
const PER_ROUND: i64 = 500;

/// A file no export names is an orphan only once it is this old: younger, its export may
/// be between writing it and recording it.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

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
    /// Files no export owned, removed.
    pub orphans: u64,
}

/// One round.
pub async fn round(state: &AppState) -> anyhow::Result<Round> {
    let mut done = Round {
        expired: db::exports::expire_due(&state.pool).await?,
        ..Round::default()
    };
    for left in db::exports::leftovers(&state.pool, PER_ROUND).await? {
        match state.storage.delete(&left.storage_key).await {
            Ok(()) => {
                db::exports::forget_file(&state.pool, left.id).await?;
                done.removed += 1;
            }
            Err(e) => tracing::warn!(export = %left.id, "deleting an export's file: {e}"),
        }
    }
    let old = state.storage.list_older_than(ORPHAN_AGE).await?;
    for chunk in old.chunks(PER_ROUND as usize) {
        let known = db::exports::known_keys(&state.pool, chunk).await?;
        for key in chunk.iter().filter(|k| !known.contains(k)) {
            state.storage.delete(key).await?;
            done.orphans += 1;
        }
    }
    Ok(done)
}
