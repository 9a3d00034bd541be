//! Carrying out one run: walk the persisted frontier with bounded concurrency; for each
//! page fetch, extract, validate, store through the content-hash index, enqueue the next
//! pages, and keep the run's counters current; end the run the way it ended, or hand it
//! back.
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
use tracing::Instrument as _;

use crate::db::{self, runs::Claimed, runs::Lease};
use crate::model::RunEnd;
use crate::state::AppState;
use crate::worker::writer::Unpaid;
use context::LogBudget;
use walk::{End, drive};

/// Execute a claimed run to its end (or until its lease is lost or the host stops). Its
/// logs carry the run's id.
pub async fn execute(state: &AppState, claimed: Claimed, stop: watch::Receiver<bool>) {
    let span = tracing::info_span!("run", run = %claimed.lease.run);
    carry_out(state, claimed, stop).instrument(span).await
}

async fn carry_out(state: &AppState, claimed: Claimed, stop: watch::Receiver<bool>) {
    let lease = claimed.lease;
    let pool = &state.pool;
    if claimed.resumed {
        crate::telemetry::lease_takeover();
        tracing::info!(
            "took over a run whose worker's lease lapsed; resuming it from its frontier"
        );
    }
    // Asked to stop, or past its time, while no worker held it: end it now.
    if claimed.cancel_requested {
        record_end(state, lease, RunEnd::Cancelled, Some(CANCELLED)).await;
        return;
    }
    if claimed.deadline.is_some_and(|d| d <= chrono::Utc::now()) {
        record_end(state, lease, RunEnd::TimedOut, Some(TIMED_OUT)).await;
        return;
    }
    let run = match db::runs::load_claimed(pool, lease, claimed.resumed).await {
        Ok(Some(run)) => run,
        Ok(None) => return,
        Err(e) => {
            tracing::error!("reading a claimed run failed: {e}");
            return;
        }
    };
    // An owner with nothing left (runs queued by the schedule, or that waited while
    // others spent the balance): end it before fetching what could not be paid for.
    if run.charged {
        match db::ledger::balance(pool, run.owner_id).await {
            Ok(Some(balance)) if balance > 0 => {}
            Ok(_) => {
                let why = Unpaid::Exhausted;
                record_end(
                    state,
                    lease,
                    RunEnd::Failed,
                    Some((why.code(), why.message())),
                )
                .await;
                return;
            }
            Err(e) => {
                tracing::error!("reading the owner's balance failed: {e}");
                return;
            }
        }
    }
    let logs = Arc::new(LogBudget::new(state.config.run_log_lines));
    let result = drive(state, lease, &run, stop, logs.clone()).await;
    let dropped = logs.dropped.load(std::sync::atomic::Ordering::Relaxed);
    if dropped > 0 {
        let line = format!(
            "{dropped} more lines dropped (the run keeps {})",
            state.config.run_log_lines
        );
        if let Err(e) = db::logs::insert(pool, lease, None, &[("warn", &line)]).await {
            tracing::warn!("recording dropped log lines: {e}");
        }
    }
    match result {
        Ok(End::Finished {
            any_page_ok: true, ..
        }) => record_end(state, lease, RunEnd::Succeeded, None).await,
        Ok(End::Finished {
            any_page_ok: false,
            first_error,
        }) => {
            let message = first_error.unwrap_or_else(|| "no page could be fetched".into());
            record_end(
                state,
                lease,
                RunEnd::Failed,
                Some(("no_pages_fetched", &message)),
            )
            .await
        }
        Ok(End::Cancelled) => record_end(state, lease, RunEnd::Cancelled, Some(CANCELLED)).await,
        Ok(End::TimedOut) => record_end(state, lease, RunEnd::TimedOut, Some(TIMED_OUT)).await,
        Ok(End::Lost) => tracing::warn!("the run's lease was lost; another worker holds it now"),
        Ok(End::Stopped) => match db::runs::release(pool, lease).await {
            Ok(true) => tracing::info!("handed the run back for another host to continue"),
            Ok(false) => {}
            Err(e) => tracing::error!("handing the run back failed: {e}"),
        },
        // The run stopped where its owner asked it to: a success, with the reason.
        Err(failure) if failure.code == Unpaid::CapReached.code() => {
            record_end(
                state,
                lease,
                RunEnd::Succeeded,
                Some((&failure.code, &failure.message)),
            )
            .await
        }
        Err(failure) => {
            record_end(
                state,
                lease,
                RunEnd::Failed,
                Some((&failure.code, &failure.message)),
            )
            .await
        }
    }
}

const CANCELLED: (&str, &str) = ("cancelled", "cancelled by the user");
const TIMED_OUT: (&str, &str) = (
    "run_timed_out",
    "the run was still going at its deadline (its job's max_duration_secs after it started); what it stored is kept",
);

async fn record_end(state: &AppState, lease: Lease, end: RunEnd, error: Option<(&str, &str)>) {
    match db::runs::finish(&state.pool, lease, end, error).await {
        Ok(true) => {
            crate::telemetry::run_ended(end.into());
            tracing::info!(status = %end, "run ended");
        }
        Ok(false) => tracing::warn!("the run's lease was lost before its end was recorded"),
        Err(e) => tracing::error!("recording the end of a run failed: {e}"),
    }
}
