//! What a run carries from page to page: the plugin and schema, the validator, the
//! fetch session, the writer, the call limits; and why a whole run fails.

use std::sync::Arc;

use crate::crawl::Session;
use crate::db::{self, runs::Lease, runs::RunRow};
use crate::model::job::{FetchSettings, Pagination};
use crate::model::{DedupScope, ValidationMode};
use crate::runtime::{CallError, CallLimits, LoadedPlugin, SchemaLimits};
use crate::state::AppState;
use crate::validate;
use crate::worker::pagination::Planner;
use crate::worker::writer::{Billing, Writer};

/// The bundled extractor of JSON API responses, whose jobs take JSON by default.
const JSON_EXTRACTOR: &str = "json-extractor";

/// What a job of [`JSON_EXTRACTOR`] takes when it names no content types: JSON of every
/// spelling APIs use, and HTML (a site may answer an error page).
const JSON_CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/*",
    "text/json",
    "text/plain",
    "text/html",
];

/// A reason the whole run failed.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) code: String,
    pub(super) message: String,
}

impl Failure {
    const LOST: &str = "lease_lost";

    pub(super) fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The run's lease is lost: not a failure of the run, which another worker holds now
    /// (or has ended); this worker only stops.
    pub(super) fn lost() -> Self {
        Self::new(Self::LOST, "the run's lease was lost")
    }

    pub(super) fn is_lost(&self) -> bool {
        self.code == Self::LOST
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

pub(super) struct RunCtx {
    pub(super) state: AppState,
    /// The run, and the fence of every write made for it.
    pub(super) lease: Lease,
    pub(super) plugin: Arc<LoadedPlugin>,
    pub(super) schema: Arc<str>,
    pub(super) options: Arc<str>,
    pub(super) validator: Option<jsonschema::Validator>,
    pub(super) mode: ValidationMode,
    pub(super) planner: Planner,
    pub(super) session: Arc<Session>,
    /// The job's fetch settings, as the run uses them.
    pub(super) settings: FetchSettings,
    /// The secret fields of the login made before the start URLs (`settings.login`).
    pub(super) login_secrets: std::collections::BTreeMap<String, String>,
    pub(super) writer: Writer,
    /// The writer's task: awaited when the run ends, so everything handed to it is
    /// written (or fenced out) before the run's end is recorded.
    pub(super) writer_task: Option<AbortOnDrop>,
    pub(super) limits: CallLimits,
    pub(super) logs: Arc<LogBudget>,
    pub(super) enqueued: Enqueued,
    /// The job's concurrency: requests in flight at once. A page holds a permit while it
    /// is fetched, not while it is extracted and stored, so fetching goes on while the
    /// plugin and the database work (up to [`super::walk::PAGES_PER_FETCH`] pages per permit).
    pub(super) fetches: tokio::sync::Semaphore,
}

/// The URLs this worker has already sent to the run's frontier. A crawl meets the same
/// links on page after page (every product page of a shop links its related products);
/// the frontier's primary key turns them away, but only after a round trip, an index
/// probe and the encoding of every URL. The database stays the truth: this only spares
/// it URLs known to be there, and a worker that resumes the run starts with an empty set.
#[derive(Debug, Default)]
pub(super) struct Enqueued {
    urls: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Enqueued {
    /// URLs remembered at most; beyond it the database alone deduplicates.
    const MAX: usize = 250_000;

    /// The URLs of `urls` not sent before, remembered as sent.
    pub(super) fn fresh(&self, urls: Vec<String>) -> Vec<String> {
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
pub(super) struct LogBudget {
    remaining: std::sync::atomic::AtomicI64,
    pub(super) dropped: std::sync::atomic::AtomicU64,
}

impl LogBudget {
    pub(super) fn new(lines: i64) -> Self {
        Self {
            remaining: lines.into(),
            dropped: 0.into(),
        }
    }

    /// How many of `n` lines may be stored; the rest count as dropped.
    pub(super) fn take(&self, n: usize, dropped_by_call: u64) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        let n = n as i64;
        let before = self.remaining.fetch_sub(n, Relaxed);
        let granted = before.clamp(0, n);
        let over = (n - granted) as u64 + dropped_by_call;
        self.dropped.fetch_add(over, Relaxed);
        granted as usize
    }
}

/// A task that is aborted when its owner lets go of it without waiting for it.
pub(super) struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl AbortOnDrop {
    pub(super) fn new(task: tokio::task::JoinHandle<()>) -> Self {
        Self(Some(task))
    }

    /// Wait for the task to end by itself.
    pub(super) async fn join(mut self) {
        if let Some(task) = self.0.take() {
            let _ = task.await;
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

impl RunCtx {
    /// Let go of the run: the writer stores what it was handed (or finds its fence gone),
    /// and only then does this return. Every page task must have ended.
    pub(super) async fn close(self: Arc<Self>) {
        match Arc::try_unwrap(self) {
            Ok(mut ctx) => {
                let writer = ctx.writer_task.take();
                drop(ctx);
                if let Some(writer) = writer {
                    writer.join().await;
                }
            }
            Err(_) => tracing::warn!("a run's context outlived its page tasks"),
        }
    }
}

pub(super) async fn prepare(
    state: &AppState,
    lease: Lease,
    run: &RunRow,
    logs: Arc<LogBudget>,
) -> Result<(RunCtx, db::jobs::JobRow), Failure> {
    let mut job = db::jobs::get_any(&state.pool, run.job_id)
        .await?
        .ok_or_else(|| Failure::new("job_missing", "the job was deleted"))?;
    // What the run's creation request changed (checked by the API when it was made).
    let overrides: db::runs::RunOverrides = serde_json::from_value(run.overrides.clone())
        .map_err(|e| Failure::new("invalid_job", format!("run overrides: {e}")))?;
    if let Some(urls) = overrides.start_urls {
        job.start_urls = urls;
    }
    if let Some(max_pages) = overrides.max_pages {
        job.max_pages = max_pages;
    }
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
    let mut settings: FetchSettings = serde_json::from_value(job.fetch_settings.clone())
        .map_err(|e| Failure::new("invalid_job", format!("fetch: {e}")))?;
    if plugin.manifest.name == JSON_EXTRACTOR
        && settings.content_types == FetchSettings::default().content_types
    {
        // An API answers JSON: the HTML default would skip every page of it.
        settings.content_types = JSON_CONTENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
    }
    let secrets = db::job_secrets::get(&state.pool, job.id).await?;
    let session = Session::new(state.fetcher.clone(), &settings, &secrets)
        .map_err(|e| Failure::new("invalid_job", format!("fetch: {e}")))?;
    let dedup_key = if job.dedup_scope == DedupScope::Job {
        job.id.0
    } else {
        run.id.0
    };
    let billing = Billing {
        owner: run.owner_id,
        charged: run.charged,
        max_credits: run.max_credits,
        pricing: state.config.credits.pricing(),
    };
    let (writer, writer_task) =
        Writer::spawn(state.pool.clone(), lease, job.id, dedup_key, billing);
    let limits: SchemaLimits = serde_json::from_value(schema.limits.clone())
        .map_err(|e| Failure::new("invalid_schema", format!("limits: {e}")))?;
    let mut limits = limits
        .apply(state.runtime.default_call_limits(), state.runtime.limits())
        .map_err(|e| Failure::new("limit_above_ceiling", e))?;
    limits.owner = Some(run.owner_id);
    let params = crate::model::job::RunParams {
        job_name: job.name.clone(),
        schema_id: schema.id,
        schema_name: schema.name.clone(),
        schema_version: schema.version,
        plugin: format!("{}@{}", schema.plugin_name, schema.plugin_version),
        validation_mode: mode,
        start_urls: job.start_urls.clone(),
        pagination: serde_json::from_value(job.pagination.clone())
            .map_err(|e| Failure::new("invalid_job", format!("pagination: {e}")))?,
        max_pages: job.max_pages,
        max_depth: job.max_depth,
        concurrency: job.concurrency,
        fetch: settings.clone(),
        drop_query_params: job.drop_query_params.clone(),
        dedup_scope: job.dedup_scope,
        max_credits: run.max_credits,
    };
    let params =
        serde_json::to_value(&params).map_err(|e| Failure::new("internal_error", e.to_string()))?;
    if !db::runs::set_params(&state.pool, lease, &params).await? {
        return Err(Failure::lost());
    }
    let ctx = RunCtx {
        state: state.clone(),
        lease,
        plugin,
        schema: schema.json_schema.into(),
        options: schema.plugin_options.to_string().into(),
        validator,
        mode,
        planner,
        session: Arc::new(session),
        login_secrets: secrets.login,
        settings,
        writer,
        writer_task: Some(AbortOnDrop::new(writer_task)),
        limits,
        logs,
        enqueued: Enqueued::default(),
        fetches: tokio::sync::Semaphore::new(usize::try_from(job.concurrency).unwrap_or(1).max(1)),
    };
    Ok((ctx, job))
}

#[cfg(test)]
mod tests {
    use super::Enqueued;

    #[test]
    fn enqueued_passes_each_url_once() {
        let enqueued = Enqueued::default();
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        assert_eq!(enqueued.fresh(urls(&["a", "b"])), urls(&["a", "b"]));
        assert_eq!(enqueued.fresh(urls(&["b", "c", "a"])), urls(&["c"]));
        assert_eq!(enqueued.fresh(urls(&[])), urls(&[]));
    }
}
