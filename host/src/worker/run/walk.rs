//! The frontier loop of a run: take pending pages in batches, keep up to the job's
//! concurrency of them in progress, hold the lease by heartbeats, write the counters
//! every quarter second, and stop when the frontier is empty, the run is cancelled, lost
//! or past its deadline, or the host stops.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::context::{AbortOnDrop, Failure, LogBudget, RunCtx, prepare};
use super::page::{PageReport, process_page};
use crate::db::{self, runs::Beat, runs::Counters, runs::Lease, runs::RunRow};
use crate::state::AppState;
use crate::worker::writer::Unpaid;

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
    /// Someone asked to cancel the run.
    Cancelled,
    /// The run went past its deadline.
    TimedOut,
    /// The lease passed to another worker, or lapsed: nothing more to write.
    Lost,
    /// The host is shutting down: hand the run back.
    Stopped,
}

/// What the heartbeat tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    None,
    Cancel,
    Lost,
}

pub(super) async fn drive(
    state: &AppState,
    lease: Lease,
    run: &RunRow,
    stop: watch::Receiver<bool>,
    logs: Arc<LogBudget>,
) -> Result<End, Failure> {
    let (ctx, job) = prepare(state, lease, run, logs).await?;
    let browser = ctx.settings.render == crate::model::reach::RenderMode::Browser;
    let ctx = Arc::new(ctx);
    let (signal_tx, signal) = watch::channel(Signal::None);
    let heartbeat = tokio::spawn(heartbeat(state.clone(), lease, signal_tx));
    let _heartbeat = AbortOnDrop::new(heartbeat);
    let mut inflight: JoinSet<Result<PageReport, Failure>> = JoinSet::new();
    let walked = walk(state, &ctx, &job, run, &mut inflight, signal, stop).await;
    // However the walk ended, pages still in hand are dropped (they stay pending, for
    // whoever continues the run) and what the writer holds is written, so the run's
    // pages are final when its end is recorded from them.
    inflight.shutdown().await;
    ctx.close().await;
    if browser {
        // The run's browser context (its cookies and storage) goes with it.
        state
            .browser
            .release(trawl_browser::ContextKey(lease.run.0.as_u128()))
            .await;
    }
    match walked {
        Err(failure) if failure.is_lost() => Ok(End::Lost),
        other => other,
    }
}

async fn walk(
    state: &AppState,
    ctx: &Arc<RunCtx>,
    job: &db::jobs::JobRow,
    run: &RunRow,
    inflight: &mut JoinSet<Result<PageReport, Failure>>,
    mut signal: watch::Receiver<Signal>,
    mut stop: watch::Receiver<bool>,
) -> Result<End, Failure> {
    let pool = &state.pool;
    let lease = ctx.lease;
    let max_pages = i64::from(job.max_pages);
    if let Some(login) = &ctx.settings.login {
        // Every worker that takes the run logs in: the session is this worker's own.
        crate::crawl::login::log_in(&ctx.session, login, &ctx.login_secrets)
            .await
            .map_err(|e| Failure::new("login_failed", e.to_string()))?;
    }
    // Pages already visited: this worker resumes the run from its persisted frontier.
    let mut taken = db::pages::visited(pool, lease.run).await?;
    let mut start = ctx.planner.start(&job.start_urls, max_pages);
    if let Some(discovery) = ctx.planner.sitemap()
        && taken == 0
    {
        let found = crate::crawl::sitemap::discover(
            &ctx.session,
            &job.start_urls,
            &discovery,
            usize::try_from(max_pages).unwrap_or(0),
        )
        .await;
        for problem in &found.problems {
            tracing::info!(run = %lease.run, "{problem}");
        }
        if found.read == 0 {
            let why = found.problems.first().cloned().unwrap_or_default();
            return Err(Failure::new(
                "sitemap_unavailable",
                format!("no sitemap could be read: {why}"),
            ));
        }
        start = found.pages;
    }
    let start = ctx.enqueued.fresh(start);
    if !db::pages::enqueue_start(pool, lease, &start).await? {
        return Ok(End::Lost);
    }
    // Pages in progress; the fetches among them are capped by `ctx.fetches`.
    let concurrency = usize::try_from(job.concurrency).unwrap_or(1).max(1) * PAGES_PER_FETCH;
    let deadline = run.deadline_at.map(instant_of);

    let mut any_page_ok = run.counters.pages_fetched > 0;
    let mut unpaid: Option<Unpaid> = None;
    let mut first_error = None;
    let mut pending = Counters::default();
    // The highest frontier `seq` taken: the next take starts after it (see take_pending).
    let mut mark = 0;
    let mut flushed = std::time::Instant::now();
    loop {
        if flushed.elapsed() >= COUNTERS_EVERY {
            if !flush(state, lease, &mut pending).await? {
                return Ok(End::Lost);
            }
            flushed = std::time::Instant::now();
        }
        match *signal.borrow() {
            Signal::Lost => return Ok(End::Lost),
            Signal::Cancel => return Ok(End::Cancelled),
            Signal::None => {}
        }
        if *stop.borrow() {
            return Ok(End::Stopped);
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Ok(End::TimedOut);
        }
        if let Some(why) = unpaid
            && inflight.is_empty()
        {
            // Out of credits (or at the cap) with the last page paid: the run ended
            // there if pages were left to do, else it simply finished.
            if db::pages::take_pending(pool, lease.run, 1, 0)
                .await?
                .is_empty()
            {
                return Ok(End::Finished {
                    any_page_ok,
                    first_error,
                });
            }
            return Err(Failure::new(why.code(), why.message()));
        }
        let room = (concurrency.saturating_sub(inflight.len()))
            .min(usize::try_from(max_pages - taken).unwrap_or(0));
        // Nothing more is taken once the run can pay for no further page.
        let room = if unpaid.is_some() { 0 } else { room };
        let mut took = 0;
        // Refill in batches: one frontier query per finished page would double the
        // queries of a run.
        if room > 0 && (inflight.is_empty() || room >= (concurrency / 4).max(1)) {
            for (url, depth, seq) in
                db::pages::take_pending(pool, lease.run, room as i64, mark).await?
            {
                mark = mark.max(seq);
                took += 1;
                taken += 1;
                let ctx = ctx.clone();
                inflight
                    .spawn(async move { process_page(&ctx, url, depth).await }.in_current_span());
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
                return Ok(End::Finished {
                    any_page_ok,
                    first_error,
                });
            }
            continue;
        }
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            done = inflight.join_next() => match done {
                Some(Ok(Ok(report))) => {
                    report.record_metrics();
                    pending += report.counters;
                    unpaid = unpaid.or(report.last);
                    any_page_ok |= report.ok;
                    if first_error.is_none() {
                        first_error = report.error;
                    }
                }
                Some(Ok(Err(failure))) => return Err(failure),
                Some(Err(join)) => return Err(Failure::new("internal_error", format!("a page task failed: {join}"))),
                None => {}
            },
            _ = signal.changed() => {}
            _ = stop.changed() => {}
            _ = until_deadline => {}
        }
    }
}

/// The tokio instant of a wall-clock deadline (now, if it has passed).
fn instant_of(at: DateTime<Utc>) -> tokio::time::Instant {
    let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + left
}

/// Renew the lease every third of it (at most every five seconds, which is also how
/// long a cancellation waits when no announcement of it arrives), and at once when the
/// run's announcements say a cancellation was asked for.
async fn heartbeat(state: AppState, lease: Lease, signal: watch::Sender<Signal>) {
    let every = (state.config.lease / 3).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut changes = state.run_changes.subscribe();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            change = changes.recv() => match change {
                Ok(change) if change.run == lease.run && change.cancel => {}
                // Missed announcements: look now rather than wait for the tick.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    tick.tick().await;
                }
            },
        }
        match db::runs::heartbeat(&state.pool, lease, state.config.lease.as_secs_f64()).await {
            Ok(Beat::Held) => {}
            Ok(Beat::CancelRequested) => {
                let _ = signal.send(Signal::Cancel);
            }
            Ok(Beat::Lost) => {
                let _ = signal.send(Signal::Lost);
                return;
            }
            Err(e) => tracing::warn!(run = %lease.run, "heartbeat failed: {e}"),
        }
    }
}

/// How often the counters of finished pages are written to the run. One UPDATE per page
/// of the run's single row serialised every page behind the previous page's commit (the
/// crawl benchmark went from 290 to 450 pages/s without it); a quarter second keeps the
/// counters live enough. They are live figures: when the run ends they are recomputed
/// from its pages.
const COUNTERS_EVERY: Duration = Duration::from_millis(250);

/// Write the counters gathered since the last flush. False when the lease is lost.
async fn flush(
    state: &AppState,
    lease: Lease,
    pending: &mut Counters,
) -> Result<bool, sqlx::Error> {
    let counters = std::mem::take(pending);
    if counters.pages_fetched == 0 && counters.pages_failed == 0 && counters.bytes_fetched == 0 {
        return Ok(true);
    }
    db::runs::add_counters(&state.pool, lease, &counters).await
}
