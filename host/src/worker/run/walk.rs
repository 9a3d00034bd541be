//! The frontier loop of a run: take pending pages in batches, keep up to the job's
//! concurrency of them in progress, hold the lease by heartbeats, write the counters
//! every quarter second, and stop when the frontier is empty, the run is lost or the host
//! stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::context::{AbortOnDrop, Failure, LogBudget, prepare};
use super::page::{PageReport, process_page};
use crate::db::{self, runs::Counters, runs::RunRow};
use crate::ids::RunId;
use crate::state::AppState;

/// Pages in progress (fetching, extracting, storing) per request the job may have in
/// flight: enough that fetches do not wait for the plugin or the database, few enough that
/// fetched pages do not pile up in memory.
pub(super) const PAGES_PER_FETCH: usize = 2;

pub(super) enum End {
    /// The frontier is exhausted or max pages reached.
    Finished {
        any_page_ok: bool,
        first_error: Option<String>,
    },
    /// Cancelled, or the lease passed to another worker: nothing more to write.
    Lost,
    /// The host is shutting down: hand the run back.
    Stopped,
}

pub(super) async fn drive(
    state: &AppState,
    worker: &str,
    run: &RunRow,
    mut stop: watch::Receiver<bool>,
    logs: Arc<LogBudget>,
) -> Result<End, Failure> {
    let (ctx, job) = prepare(state, run, logs).await?;
    let ctx = Arc::new(ctx);
    let pool = &state.pool;
    let start = ctx.planner.start(&job.start_urls, i64::from(job.max_pages));
    let start = ctx.enqueued.fresh(start);
    db::pages::enqueue(pool, run.id, &start, 0).await?;
    let mut taken = db::pages::visited(pool, run.id).await?;
    let max_pages = i64::from(job.max_pages);
    // Pages in progress; the fetches among them are capped by `ctx.fetches`.
    let concurrency = usize::try_from(job.concurrency).unwrap_or(1).max(1) * PAGES_PER_FETCH;

    let (lost_tx, mut lost) = watch::channel(false);
    let heartbeat = tokio::spawn(heartbeat(state.clone(), run.id, worker.to_owned(), lost_tx));
    let _heartbeat = AbortOnDrop(heartbeat);

    let mut inflight: JoinSet<Result<PageReport, Failure>> = JoinSet::new();
    let mut any_page_ok = run.counters.pages_fetched > 0;
    let mut first_error = None;
    let mut pending = Counters::default();
    // The highest frontier `seq` taken: the next take starts after it (see take_pending).
    let mut mark = 0;
    let mut flushed = std::time::Instant::now();
    loop {
        if flushed.elapsed() >= COUNTERS_EVERY {
            flush(state, run.id, &mut pending).await?;
            flushed = std::time::Instant::now();
        }
        if *lost.borrow() {
            flush(state, run.id, &mut pending).await?;
            return Ok(End::Lost);
        }
        if *stop.borrow() {
            while let Some(done) = inflight.join_next().await {
                if let Ok(Ok(report)) = done {
                    pending += report.counters;
                }
            }
            flush(state, run.id, &mut pending).await?;
            return Ok(End::Stopped);
        }
        let room = (concurrency.saturating_sub(inflight.len()))
            .min(usize::try_from(max_pages - taken).unwrap_or(0));
        let mut took = 0;
        // Refill in batches: one frontier query per finished page would double the
        // queries of a run.
        if room > 0 && (inflight.is_empty() || room >= (concurrency / 4).max(1)) {
            for (url, depth, seq) in
                db::pages::take_pending(pool, run.id, room as i64, mark).await?
            {
                mark = mark.max(seq);
                took += 1;
                taken += 1;
                let ctx = ctx.clone();
                inflight.spawn(async move { process_page(&ctx, url, depth).await });
            }
        }
        if inflight.is_empty() {
            if took == 0 && mark > 0 {
                // One look from the start before calling it done: no page is left behind
                // whatever order its enqueueing committed in.
                mark = 0;
                continue;
            }
            if took == 0 {
                flush(state, run.id, &mut pending).await?;
                return Ok(End::Finished {
                    any_page_ok,
                    first_error,
                });
            }
            continue;
        }
        tokio::select! {
            done = inflight.join_next() => match done {
                Some(Ok(Ok(report))) => {
                    pending += report.counters;
                    any_page_ok |= report.ok;
                    if first_error.is_none() {
                        first_error = report.error;
                    }
                }
                Some(Ok(Err(failure))) => {
                    let _ = flush(state, run.id, &mut pending).await;
                    return Err(failure);
                }
                Some(Err(join)) => return Err(Failure::new("internal_error", format!("a page task failed: {join}"))),
                None => {}
            },
            _ = lost.changed() => {}
            _ = stop.changed() => {}
        }
    }
}

async fn heartbeat(state: AppState, run: RunId, worker: String, lost: watch::Sender<bool>) {
    let lease = state.config.lease;
    let mut tick = tokio::time::interval((lease / 3).max(Duration::from_millis(100)));
    tick.tick().await;
    loop {
        tick.tick().await;
        match db::runs::heartbeat(&state.pool, run, &worker, lease.as_secs_f64()).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = lost.send(true);
                return;
            }
            Err(e) => tracing::warn!(run = %run, "heartbeat failed: {e}"),
        }
    }
}

/// How often the counters of finished pages are written to the run. One UPDATE per page
/// of the run's single row serialised every page behind the previous page's commit (the
/// crawl benchmark went from 290 to 450 pages/s without it); a quarter second keeps the
/// counters live enough.
const COUNTERS_EVERY: Duration = Duration::from_millis(250);

async fn flush(state: &AppState, run: RunId, pending: &mut Counters) -> Result<(), sqlx::Error> {
    let counters = std::mem::take(pending);
    db::runs::add_counters(&state.pool, run, &counters).await
}
