//! Carrying out one run: walk the persisted frontier with bounded concurrency; for each
//! page fetch, extract, validate, store through the content-hash index, enqueue the next
//! pages, and keep the run's counters current.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::crawl::{Session, VisitResult};
use crate::db::{self, pages::Outcome, results::NewResult, runs::Counters, runs::RunRow};
use crate::ids::RunId;
use crate::model::job::FetchSettings;
use crate::model::{DedupScope, PageState, RunEnd, ValidationMode};
use crate::runtime::{CallError, CallLimits, LoadedPlugin, SchemaLimits};
use crate::state::AppState;
use crate::validate::{self, ItemIssue};

use super::pagination::Planner;
use super::writer::{StoreError, Writer};

pub use super::pagination::Pagination;

/// A reason the whole run failed.
#[derive(Debug)]
struct Failure {
    code: String,
    message: String,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!("database error during a run: {e}");
        Failure::new("internal_error", "a database error interrupted the run")
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        Failure {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

struct RunCtx {
    state: AppState,
    run: RunId,
    plugin: Arc<LoadedPlugin>,
    schema: Arc<str>,
    options: Arc<str>,
    validator: Option<jsonschema::Validator>,
    mode: ValidationMode,
    planner: Planner,
    session: Session,
    writer: Writer,
    _writer_task: AbortOnDrop,
    limits: CallLimits,
    logs: Arc<LogBudget>,
    enqueued: Enqueued,
    /// The job's concurrency: requests in flight at once. A page holds a permit while it
    /// is fetched, not while it is extracted and stored, so fetching goes on while the
    /// plugin and the database work (up to [`PAGES_PER_FETCH`] pages per permit).
    fetches: tokio::sync::Semaphore,
}

/// Pages in progress (fetching, extracting, storing) per request the job may have in
/// flight: enough that fetches do not wait for the plugin or the database, few enough that
/// fetched pages do not pile up in memory.
const PAGES_PER_FETCH: usize = 2;

/// The URLs this worker has already sent to the run's frontier. A crawl meets the same
/// links on page after page (every product page of a shop links its related products);
/// the frontier's primary key turns them away, but only after a round trip, an index
/// probe and the encoding of every URL. The database stays the truth: this only spares
/// it URLs known to be there, and a worker that resumes the run starts with an empty set.
#[derive(Debug, Default)]
struct Enqueued {
    urls: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Enqueued {
    /// URLs remembered at most; beyond it the database alone deduplicates.
    const MAX: usize = 250_000;

    /// The URLs of `urls` not sent before, remembered as sent.
    fn fresh(&self, urls: Vec<String>) -> Vec<String> {
        let mut seen = self.urls.lock().unwrap_or_else(|e| e.into_inner());
        urls.into_iter()
            .filter(|url| {
                if seen.contains(url) {
                    return false;
                }
                if seen.len() < Self::MAX {
                    seen.insert(url.clone());
                }
                true
            })
            .collect()
    }
}

/// Plugin log lines a run may still store, and how many it dropped over its cap.
#[derive(Debug)]
struct LogBudget {
    remaining: std::sync::atomic::AtomicI64,
    dropped: std::sync::atomic::AtomicU64,
}

impl LogBudget {
    fn new(lines: i64) -> Self {
        Self {
            remaining: lines.into(),
            dropped: 0.into(),
        }
    }

    /// How many of `n` lines may be stored; the rest count as dropped.
    fn take(&self, n: usize, dropped_by_call: u64) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        let n = n as i64;
        let before = self.remaining.fetch_sub(n, Relaxed);
        let granted = before.clamp(0, n);
        let over = (n - granted) as u64 + dropped_by_call;
        self.dropped.fetch_add(over, Relaxed);
        granted as usize
    }
}

enum End {
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

async fn prepare(
    state: &AppState,
    run: &RunRow,
    logs: Arc<LogBudget>,
) -> Result<(RunCtx, db::jobs::JobRow), Failure> {
    let job = db::jobs::get_any(&state.pool, run.job_id)
        .await?
        .ok_or_else(|| Failure::new("job_missing", "the job was deleted"))?;
    let schema = db::schemas::get(&state.pool, run.owner_id, job.schema_id)
        .await?
        .ok_or_else(|| Failure::new("schema_missing", "the job's schema was deleted"))?;
    let plugin = state.plugin(schema.plugin_id).await.map_err(|e| {
        Failure::new(
            "plugin_unavailable",
            format!(
                "plugin {}@{}: {e}",
                schema.plugin_name, schema.plugin_version
            ),
        )
    })?;
    let mode = schema.validation_mode;
    let validator = if mode == ValidationMode::Off {
        None
    } else {
        let value: serde_json::Value = serde_json::from_str(&schema.json_schema)
            .map_err(|e| Failure::new("invalid_schema", e.to_string()))?;
        Some(validate::check_schema(&value).map_err(|p| {
            Failure::new(
                "invalid_schema",
                p.first().map(|p| p.message.clone()).unwrap_or_default(),
            )
        })?)
    };
    let pagination: Pagination = serde_json::from_value(job.pagination.clone())
        .map_err(|e| Failure::new("invalid_job", format!("pagination: {e}")))?;
    let planner = Planner::new(
        pagination,
        &job.start_urls,
        job.drop_query_params.clone(),
        job.max_depth,
    )
    .map_err(|e| Failure::new("invalid_job", format!("pagination: {e}")))?;
    let settings: FetchSettings = serde_json::from_value(job.fetch_settings.clone())
        .map_err(|e| Failure::new("invalid_job", format!("fetch: {e}")))?;
    let session = Session::new(state.fetcher.clone(), &settings);
    let dedup_key = if job.dedup_scope == DedupScope::Job {
        job.id.0
    } else {
        run.id.0
    };
    let (writer, writer_task) = Writer::spawn(state.pool.clone(), run.id, job.id, dedup_key);
    let limits: SchemaLimits = serde_json::from_value(schema.limits.clone())
        .map_err(|e| Failure::new("invalid_schema", format!("limits: {e}")))?;
    let mut limits = limits
        .apply(state.runtime.default_call_limits(), state.runtime.limits())
        .map_err(|e| Failure::new("limit_above_ceiling", e))?;
    limits.owner = Some(run.owner_id);
    let ctx = RunCtx {
        state: state.clone(),
        run: run.id,
        plugin,
        schema: schema.json_schema.into(),
        options: schema.plugin_options.to_string().into(),
        validator,
        mode,
        planner,
        session,
        writer,
        _writer_task: AbortOnDrop(writer_task),
        limits,
        logs,
        enqueued: Enqueued::default(),
        fetches: tokio::sync::Semaphore::new(usize::try_from(job.concurrency).unwrap_or(1).max(1)),
    };
    Ok((ctx, job))
}

async fn drive(
    state: &AppState,
    worker: &str,
    run: &RunRow,
    mut stop: watch::Receiver<bool>,
    logs: Arc<LogBudget>,
) -> Result<End, Failure> {
    let (ctx, job) = prepare(state, run, logs).await?;
    let ctx = Arc::new(ctx);
    let pool = &state.pool;
    db::pages::requeue_in_flight(pool, run.id).await?;
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

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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

struct PageReport {
    ok: bool,
    error: Option<String>,
    counters: Counters,
}

/// How often the counters of finished pages are written to the run. One UPDATE per page
/// of the run's single row serialised every page behind the previous page's commit (the
/// crawl benchmark went from 290 to 450 pages/s without it); a quarter second keeps the
/// counters live enough.
const COUNTERS_EVERY: Duration = Duration::from_millis(250);

/// The first few item issues of a page, kept on its record; the rest are counted only.
#[derive(Debug, Default)]
struct Issues(Vec<ItemIssue>);

impl Issues {
    const KEPT: usize = 5;

    fn push(&mut self, issue: ItemIssue) {
        if self.0.len() < Self::KEPT {
            let mut issue = issue;
            // One issue's message stays short whatever the plugin or the schema said.
            if issue.message.len() > 500 {
                let mut cut = 500;
                while !issue.message.is_char_boundary(cut) {
                    cut -= 1;
                }
                issue.message.truncate(cut);
            }
            self.0.push(issue);
        }
    }

    fn to_json(&self) -> Option<String> {
        (!self.0.is_empty())
            .then(|| serde_json::to_string(&self.0).expect("issues always serialise"))
    }
}

async fn flush(state: &AppState, run: RunId, pending: &mut Counters) -> Result<(), sqlx::Error> {
    let counters = std::mem::take(pending);
    db::runs::add_counters(&state.pool, run, &counters).await
}

async fn process_page(ctx: &RunCtx, url: String, depth: i32) -> Result<PageReport, Failure> {
    let pool = &ctx.state.pool;
    let permit = ctx
        .fetches
        .acquire()
        .await
        .expect("the run never closes its semaphore");
    let visit = ctx.session.visit(&url).await;
    drop(permit);
    let (state, code, message) = match visit.result {
        VisitResult::Fetched(fetched) => {
            return extract_page(ctx, url, depth, fetched, visit.attempts).await;
        }
        VisitResult::Skipped { code, message } => (PageState::Skipped, code, message),
        VisitResult::Failed(e) => (PageState::Failed, e.code(), format!("{url}: {e}")),
    };
    let outcome = Outcome {
        state,
        http_status: visit.status.map(i32::from),
        attempts: visit.attempts as i32,
        error_code: Some(code),
        error_message: Some(&message),
        ..Outcome::default()
    };
    db::pages::record(pool, ctx.run, &url, &outcome).await?;
    Ok(PageReport {
        ok: false,
        error: Some(message),
        counters: Counters {
            pages_failed: i64::from(state == PageState::Failed),
            ..Counters::default()
        },
    })
}

async fn extract_page(
    ctx: &RunCtx,
    url: String,
    depth: i32,
    fetched: crate::crawl::Fetched,
    attempts: u32,
) -> Result<PageReport, Failure> {
    let pool = &ctx.state.pool;
    let link_selector = ctx.planner.link_selector();
    let page = fetched.page.clone();
    let extracted = ctx
        .state
        .runtime
        .extract_limited(
            &ctx.plugin,
            page.clone(),
            ctx.schema.clone(),
            ctx.options.clone(),
            link_selector,
            ctx.limits.clone(),
        )
        .await;
    let output = match extracted {
        Ok(output) => {
            store_logs(ctx, &page.url, &output.logs, output.logs_dropped).await?;
            output
        }
        Err(e) => {
            let message = e.to_string();
            let outcome = Outcome {
                state: PageState::Failed,
                final_url: Some(&page.url),
                http_status: Some(i32::from(page.status)),
                bytes: Some(fetched.bytes as i64),
                attempts: attempts as i32,
                content_type: fetched.content_type.as_deref(),
                error_code: Some(e.code()),
                error_message: Some(&message),
                ..Outcome::default()
            };
            db::pages::record(pool, ctx.run, &url, &outcome).await?;
            let counters = Counters {
                pages_failed: 1,
                bytes_fetched: fetched.bytes as i64,
                fuel_consumed: e.fuel as i64,
                ..Counters::default()
            };
            if e.is_page_fault() {
                // The page's fault (too large to query), not the plugin's: the run goes on.
                return Ok(PageReport {
                    ok: false,
                    error: Some(message),
                    counters,
                });
            }
            db::runs::add_counters(pool, ctx.run, &counters).await?;
            return Err(e.into());
        }
    };

    let found = output.items.len() + output.refused.len();
    let mut issues = Issues::default();
    let mut invalid = output.refused.len() as i64;
    for refused in &output.refused {
        issues.push(refused.clone());
    }
    let mut empty = 0i64;
    let mut rows = Vec::with_capacity(output.items.len());
    let indexes: Vec<usize> = output.item_indexes().collect();
    for ((mut item, confidence), index) in output.items.into_iter().zip(indexes) {
        if validate::is_empty_item(&item) {
            empty += 1;
            issues.push(ItemIssue::new(
                index,
                ItemIssue::EMPTY,
                "none of the schema's properties was found in the item",
            ));
            continue;
        }
        validate::make_storable(&mut item);
        let problems = match &ctx.validator {
            Some(v) => validate::item_problems(v, &item),
            None => Vec::new(),
        };
        if !problems.is_empty() {
            invalid += 1;
            issues.push(ItemIssue::new(
                index,
                ItemIssue::INVALID,
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
            if ctx.mode == ValidationMode::Strict {
                continue;
            }
        }
        let data = validate::canonical_json(&item);
        rows.push(NewResult {
            content_hash: validate::content_hash(&data),
            data,
            confidence,
            validation_errors: (!problems.is_empty())
                .then(|| serde_json::to_string(&problems).expect("problems always serialise")),
        });
    }
    let next =
        ctx.enqueued.fresh(
            ctx.planner
                .next(&url, depth, found, &output.links, &output.follow),
        );
    let write = db::pages::DonePage {
        url,
        final_url: page.url.clone(),
        http_status: i32::from(page.status),
        bytes: fetched.bytes as i64,
        items: i32::try_from(found).unwrap_or(i32::MAX),
        items_invalid: i32::try_from(invalid).unwrap_or(i32::MAX),
        items_empty: i32::try_from(empty).unwrap_or(i32::MAX),
        item_problems: issues.to_json(),
        elapsed_ms: i32::try_from(fetched.elapsed.as_millis() + output.elapsed.as_millis())
            .unwrap_or(i32::MAX),
        attempts: attempts as i32,
        content_type: fetched.content_type.clone(),
        rows,
        next,
        next_depth: depth + 1,
    };
    let rows = write.rows.len() as i64;
    let stored = match ctx.writer.write(write).await {
        Ok(stored) => stored as i64,
        Err(StoreError::Refused(message)) => {
            return Ok(PageReport {
                ok: false,
                error: Some(message),
                counters: Counters {
                    pages_failed: 1,
                    bytes_fetched: fetched.bytes as i64,
                    fuel_consumed: output.fuel as i64,
                    ..Counters::default()
                },
            });
        }
        Err(e) => return Err(Failure::new("internal_error", e.to_string())),
    };
    let counters = Counters {
        pages_fetched: 1,
        items_new: stored,
        items_duplicate: rows - stored,
        items_invalid: invalid,
        items_empty: empty,
        bytes_fetched: fetched.bytes as i64,
        fuel_consumed: output.fuel as i64,
        ..Counters::default()
    };
    Ok(PageReport {
        ok: true,
        error: None,
        counters,
    })
}

async fn store_logs(
    ctx: &RunCtx,
    page_url: &str,
    lines: &[crate::runtime::LogLine],
    dropped: u64,
) -> Result<(), sqlx::Error> {
    let keep = ctx.logs.take(lines.len(), dropped);
    let rows: Vec<(&str, &str)> = lines[..keep]
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    db::logs::insert(&ctx.state.pool, ctx.run, Some(page_url), &rows).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueued_passes_each_url_once() {
        let enqueued = Enqueued::default();
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        assert_eq!(enqueued.fresh(urls(&["a", "b"])), urls(&["a", "b"]));
        assert_eq!(enqueued.fresh(urls(&["b", "c", "a"])), urls(&["c"]));
        assert_eq!(enqueued.fresh(urls(&[])), urls(&[]));
    }
}
