//! Carrying out one run: walk the persisted frontier with bounded concurrency; for each
//! page fetch, extract, validate, store through the content-hash index, enqueue the next
//! pages, and keep the run's counters current.
//!
//! # Layout
//! - [`context`]: what a run carries from page to page, and why a whole run fails.
//! - [`walk`]: the frontier loop, the lease's heartbeats and the counters.
//! - [`page`]: one page: fetch, extract, check the items, store.

mod context;
mod page;
mod walk;

use std::sync::Arc;

use tokio::sync::watch;

use crate::db::{self, runs::RunRow};
use crate::model::RunEnd;
use crate::state::AppState;
use context::LogBudget;
use walk::{End, drive};

/// Execute a claimed run to its end.
pub async fn execute(state: &AppState, worker: &str, run: RunRow, stop: watch::Receiver<bool>) {
    let id = run.id;
    let pool = &state.pool;
    let logs = Arc::new(LogBudget::new(state.config.run_log_lines));
    let result = drive(state, worker, &run, stop, logs.clone()).await;
    let dropped = logs.dropped.load(std::sync::atomic::Ordering::Relaxed);
    if dropped > 0 {
        let line = format!(
            "{dropped} more lines dropped (the run keeps {})",
            state.config.run_log_lines
        );
        if let Err(e) = db::logs::insert(pool, id, None, &[("warn", &line)]).await {
            tracing::warn!(run = %id, "recording dropped log lines: {e}");
        }
    }
    let finish = match result {
        Ok(End::Finished {
            any_page_ok: true, ..
        }) => db::runs::finish(pool, id, worker, RunEnd::Succeeded, None).await,
        Ok(End::Finished {
            any_page_ok: false,
            first_error,
        }) => {
            let message = first_error.unwrap_or_else(|| "no page could be fetched".into());
            db::runs::finish(
                pool,
                id,
                worker,
                RunEnd::Failed,
                Some(("no_pages_fetched", &message)),
            )
            .await
        }
        Ok(End::Lost) => Ok(true),
        Ok(End::Stopped) => db::runs::release(pool, id, worker).await.map(|_| true),
        Err(failure) => {
            db::runs::finish(
                pool,
                id,
                worker,
                RunEnd::Failed,
                Some((&failure.code, &failure.message)),
            )
            .await
        }
    };
    if let Err(e) = finish {
        tracing::error!(run = %id, "recording the end of a run failed: {e}");
    }
}
