//! Retention: the pages, logs and results of old runs are pruned by a policy (keep the
//! last N ended runs of each job, or runs that ended less than a duration ago), so the
//! database does not grow with every run forever.
//!
//! Only ended runs are pruned, and never the newest N of a job. A pruned run keeps its row,
//! its counters and its exports, and export files already written still download; a new
//! export of it is refused (`run_pruned`). Results stored under a job's key (jobs whose
//! deduplication is incremental, `dedup_scope: job`) stay: they are what every later run
//! of the job is compared against, and deleting them would store old items again as new.
//! Their pages and logs go.
//!
//! Rows go in bounded batches, each its own statement, so a run with millions of rows
//! never holds its locks for long; a pass stopped half-way resumes on the next one. One
//! host prunes at a time (an advisory lock).

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::config::RetentionConfig;
use crate::db;
use crate::ids::RunId;
use crate::state::AppState;

/// Rows one delete statement removes at most.
const BATCH: i64 = 5_000;

/// Runs looked at per query of a pass.
const RUNS_PER_QUERY: i64 = 100;

/// What retention keeps. With neither rule nothing is pruned; with both, a run is kept
/// while either rule keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Keep the last N ended runs of each job (by when they ended).
    pub keep_runs: Option<u32>,
    /// Keep the runs that ended less than this long ago.
    pub max_age: Option<Duration>,
}

impl Policy {
    /// The policy the configuration sets.
    pub fn from_config(config: &RetentionConfig) -> Self {
        Self {
            keep_runs: config.keep_runs,
            max_age: config.max_age,
        }
    }

    /// Whether the policy prunes nothing (no rule set).
    pub fn is_off(&self) -> bool {
        self.keep_runs.is_none() && self.max_age.is_none()
    }
}

/// What a pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Runs marked pruned.
    pub runs: u64,
    /// Page records deleted.
    pub pages: u64,
    /// Log lines deleted.
    pub logs: u64,
    /// Results deleted.
    pub results: u64,
}

/// Prune every run `policy` does not keep, unless another host is pruning (then `None`).
/// Stops between batches once `stop` turns true; what is left waits for the next pass.
pub async fn prune(
    pool: &PgPool,
    policy: &Policy,
    stop: &watch::Receiver<bool>,
) -> Result<Option<Pruned>, sqlx::Error> {
    if policy.is_off() {
        return Ok(Some(Pruned::default()));
    }
    // The lock belongs to a session: this connection leaves the pool, so that however the
    // pass ends (an error, a dropped future) closing it gives the lock back.
    let mut lock = pool.acquire().await?.detach();
    if !db::retention::try_lock(&mut lock).await? {
        return Ok(None);
    }
    let result = pass(pool, policy, stop).await;
    if result.is_ok() {
        db::retention::unlock(&mut lock).await?;
    }
    let _ = sqlx::Connection::close(lock).await;
    result.map(Some)
}

async fn pass(
    pool: &PgPool,
    policy: &Policy,
    stop: &watch::Receiver<bool>,
) -> Result<Pruned, sqlx::Error> {
    let keep = policy
        .keep_runs
        .map(|n| i32::try_from(n.max(1)).unwrap_or(i32::MAX));
    let max_age = policy.max_age.map(|d| d.as_secs_f64());
    let mut pruned = Pruned::default();
    let mut after = None;
    loop {
        let runs = db::retention::prunable(pool, keep, max_age, after, RUNS_PER_QUERY).await?;
        let Some(last) = runs.last() else {
            return Ok(pruned);
        };
        after = Some((last.finished_at, last.id));
        for run in runs {
            if *stop.borrow() || !prune_run(pool, run.id, &mut pruned, stop).await? {
                return Ok(pruned);
            }
        }
    }
}

/// Delete a run's pages, logs and (run-scoped) results in batches, then mark it. False
/// when `stop` came first.
async fn prune_run(
    pool: &PgPool,
    run: RunId,
    pruned: &mut Pruned,
    stop: &watch::Receiver<bool>,
) -> Result<bool, sqlx::Error> {
    for (table, count) in [
        (Table::Pages, &mut pruned.pages),
        (Table::Logs, &mut pruned.logs),
        (Table::Results, &mut pruned.results),
    ] {
        loop {
            if *stop.borrow() {
                return Ok(false);
            }
            let n = match table {
                Table::Pages => db::retention::delete_pages(pool, run, BATCH).await?,
                Table::Logs => db::retention::delete_logs(pool, run, BATCH).await?,
                Table::Results => db::retention::delete_results(pool, run, BATCH).await?,
            };
            *count += n;
            if n < BATCH as u64 {
                break;
            }
        }
    }
    if db::retention::mark_pruned(pool, run).await? {
        pruned.runs += 1;
        crate::telemetry::runs_pruned(1);
    }
    Ok(true)
}

#[derive(Clone, Copy)]
enum Table {
    Pages,
    Logs,
    Results,
}

/// Prune by the configured policy at start and then every interval, until `stop` turns
/// true. Returns at once when the policy prunes nothing.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let policy = Policy::from_config(&state.config.retention);
    if policy.is_off() {
        return;
    }
    let interval = state
        .config
        .retention
        .interval
        .max(Duration::from_millis(100));
    while !*stop.borrow() {
        match prune(&state.pool, &policy, &stop).await {
            Ok(Some(p)) if p.runs > 0 => tracing::info!(
                runs = p.runs,
                pages = p.pages,
                logs = p.logs,
                results = p.results,
                "retention pruned old runs"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("retention failed (it tries again next interval): {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}
