//! Runs of a job (`POST /v1/jobs/{id}/runs`, with `Idempotency-Key`), their status and
//! counters, their live event stream, cancellation, and their results.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::{Caller, StreamCaller};
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiPath, ApiQuery};
use super::list::{Page, PageQuery};
use crate::db::runs::Counters;
use crate::db::{self, results::ResultRow, runs::RunOverrides, runs::RunRow};
use crate::ids::{JobId, ResultId, RunId};
use crate::model::{FieldMeta, PageState, RunStatus, Trigger};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_run, list_runs))
        .routes(routes!(get_run))
        .routes(routes!(cancel_run))
        .routes(routes!(run_events))
        .routes(routes!(list_results))
        .routes(routes!(list_pages))
        .routes(routes!(list_logs))
}

/// Why a run failed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunError {
    /// Stable code (`plugin_timeout`, `no_pages_fetched`, …).
    pub code: String,
    /// For people; names the plugin and version when a plugin failed.
    pub message: String,
}

/// A run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunOut {
    /// Id.
    pub id: RunId,
    /// Job.
    pub job_id: JobId,
    /// `api` or `schedule`.
    pub trigger: Trigger,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled` or `timed_out`.
    pub status: RunStatus,
    /// Counters, current while the run goes.
    pub counters: Counters,
    /// Credits taken from the owner's balance (0 when the run is not charged).
    pub credits_consumed: i64,
    /// The price of the run's work so far, by kind, and its cap.
    pub credits: RunCredits,
    /// Set when the run failed, was cancelled or timed out.
    pub error: Option<RunError>,
    /// Why a run that succeeded stopped early: `credit_cap_reached` (its `max_credits`).
    pub reason: Option<RunError>,
    /// The Idempotency-Key it was started with.
    pub idempotency_key: Option<String>,
    /// What its creation request changed of the job.
    pub overrides: RunOverrides,
    /// The settings it was worked with, as its worker read them when it started (the job
    /// may have changed since). Only in `GET /v1/runs/{id}`; null in lists and before the
    /// run starts.
    pub params: Option<crate::model::job::RunParams>,
    /// For a `schedule` run: the occurrence of the job's schedule it is for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When a cancellation was asked for; a running run ends `cancelled` within seconds.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// When it ends `timed_out` if still going (from its job's `max_duration_secs`).
    pub deadline_at: Option<DateTime<Utc>>,
    /// Raised by every change of status or counters: the id of its events.
    pub version: i64,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What a run's work costs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunCredits {
    /// Whether the price is taken from the owner's balance (admins' runs, and every run
    /// on a host with charging off, are priced but not charged).
    pub charged: bool,
    /// For pages fetched and extracted.
    pub pages: i64,
    /// For plugin fuel.
    pub fuel: i64,
    /// For new items stored.
    pub items: i64,
    /// All of it.
    pub total: i64,
    /// The run ends `succeeded` (`credit_cap_reached`) when its price reaches this.
    pub max_credits: Option<i64>,
}

impl From<RunRow> for RunOut {
    fn from(r: RunRow) -> Self {
        let total = r.credits.total();
        let problem = r.error_code.map(|code| RunError {
            code,
            message: r.error_message.unwrap_or_default(),
        });
        let (error, reason) = if r.status == RunStatus::Succeeded {
            (None, problem)
        } else {
            (problem, None)
        };
        Self {
            id: r.id,
            job_id: r.job_id,
            trigger: r.trigger,
            status: r.status,
            counters: r.counters,
            credits_consumed: if r.charged { total } else { 0 },
            credits: RunCredits {
                charged: r.charged,
                pages: r.credits.pages,
                fuel: r.credits.fuel,
                items: r.credits.items,
                total,
                max_credits: r.max_credits,
            },
            error,
            reason,
            idempotency_key: r.idempotency_key,
            overrides: serde_json::from_value(r.overrides).unwrap_or_default(),
            params: None,
            scheduled_for: r.scheduled_for,
            cancel_requested_at: r.cancel_requested_at,
            deadline_at: r.deadline_at,
            version: r.version,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// Queue a run, optionally changing the job's start URLs or page limit for this run.
///
/// With an `Idempotency-Key` used for this job in the last 24 hours, the same request
/// returns the run it created (200, `Idempotent-Replayed: true`) instead of a new one
/// (201); the same key with another body is refused (422 `idempotency_key_reused`).
/// Concurrent requests with one key create one run.
///
/// Runs at once are a quota per user (`concurrent_runs`, see `GET /v1/me`): a run started
/// while as many of the caller's runs are running is not refused but stays `queued`, and
/// starts, oldest first, when one of them ends, on whichever host has room. Other users'
/// runs do not wait behind it. A `max_pages` override above the caller's `max_pages`
/// quota is refused (403 `quota_max_pages`).
#[utoipa::path(post, path = "/v1/jobs/{id}/runs", tag = "runs",
    params(("id" = JobId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe run creation")),
    request_body(content = Option<RunOverrides>, description = "What this run changes of its job (optional)"),
    responses((status = 201, body = RunOut), (status = 200, body = RunOut, headers(("Idempotent-Replayed" = String))),
              (status = 402, body = ErrorBody, description = "The run would be charged and the balance cannot pay for one page (`insufficient_credits`)"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(job): ApiPath<JobId>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<RunOut>)> {
    let key = match headers.get("idempotency-key") {
        Some(v) => {
            let v = v
                .to_str()
                .ok()
                .filter(|v| !v.is_empty() && v.len() <= 255)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidIdempotencyKey,
                        "Idempotency-Key must be 1 to 255 visible ASCII characters",
                    )
                })?;
            Some(v.to_owned())
        }
        None => None,
    };
    let overrides = run_overrides(&headers, &body)?;
    if let Some(asked) = overrides.max_pages {
        let (quotas, _) = crate::quotas::effective(&state.pool, &state.config.quotas, caller.0.id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        crate::quotas::check_max_pages(&quotas, asked)?;
    }
    // The request, as the key remembers it: the overrides in a fixed form, so spacing or
    // key order in the body do not make the same request a different one.
    let canonical = serde_json::to_vec(&overrides).expect("overrides always serialise");
    let hash: [u8; 32] =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&canonical)).into();
    let overrides_json = serde_json::to_value(&overrides).expect("overrides always serialise");
    let new = db::runs::NewRun {
        trigger: Trigger::Api,
        idempotency_key: key.as_deref(),
        request_hash: key.as_ref().map(|_| hash.as_slice()),
        overrides: &overrides_json,
    };
    let created = db::runs::create(&state.pool, caller.0.id, job, new, &state.config.credits)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let mut out = HeaderMap::new();
    match created {
        db::runs::Created::New(run) => {
            state.wake.notify_waiters();
            Ok((StatusCode::CREATED, out, axum::Json(run.into())))
        }
        db::runs::Created::Replay(run) => {
            out.insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            Ok((StatusCode::OK, out, axum::Json(run.into())))
        }
        db::runs::Created::KeyReused => Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used in the last 24 hours with a different request body",
        )),
        db::runs::Created::NoCredits => Err(ApiError::new(
            ErrorCode::InsufficientCredits,
            "your balance cannot pay for a page (GET /v1/pricing); ask an admin for more credits (GET /v1/me shows your balance)",
        )),
    }
}

/// The optional body of a run's creation: empty, or JSON overrides of the job.
pub(super) fn run_overrides(headers: &HeaderMap, body: &[u8]) -> Result<RunOverrides, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RunOverrides::default());
    }
    if !super::extract::is_json(headers) {
        return Err(axum::extract::rejection::JsonRejection::from(
            axum::extract::rejection::MissingJsonContentType::default(),
        )
        .into());
    }
    if super::extract::has_nul_escape(body) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "text may not contain U+0000 (NUL), which cannot be stored",
        ));
    }
    let axum::Json(overrides) = axum::Json::<RunOverrides>::from_bytes(body)?;
    let mut problems = Vec::new();
    if let Some(urls) = &overrides.start_urls {
        if urls.is_empty() || urls.len() > 10_000 {
            problems.push(crate::validate::Problem {
                path: "/start_urls".into(),
                message: "give 1 to 10000 start URLs".into(),
            });
        }
        for (i, url) in urls.iter().enumerate() {
            let ok = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok || url.len() > 8_192 {
                problems.push(crate::validate::Problem {
                    path: format!("/start_urls/{i}"),
                    message: format!("{url:?} is not an http(s) URL"),
                });
            }
        }
    }
    if overrides.max_credits.is_some_and(|n| n < 1) {
        problems.push(crate::validate::Problem {
            path: "/max_credits".into(),
            message: "must be at least 1".into(),
        });
    }
    // The most is the owner's `quota_max_pages`, checked with the other quotas.
    if overrides.max_pages.is_some_and(|n| n < 1) {
        problems.push(crate::validate::Problem {
            path: "/max_pages".into(),
            message: "must be at least 1".into(),
        });
    }
    if !problems.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "the run's overrides are not valid",
        )
        .with_details(problems));
    }
    Ok(overrides)
}

/// A job's runs, newest first, filtered by status.
#[utoipa::path(get, path = "/v1/jobs/{id}/runs", tag = "runs", params(("id" = JobId, Path), RunsQuery),
    responses((status = 200, body = Page<RunOut>), (status = 404, body = ErrorBody)))]
async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(job): ApiPath<JobId>,
    ApiQuery(runs): ApiQuery<RunsQuery>,
) -> ApiResult<axum::Json<Page<RunOut>>> {
    db::jobs::get(&state.pool, caller.0.id, job)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let q = PageQuery {
        cursor: runs.cursor,
        limit: runs.limit,
    };
    let rows = db::runs::list_for_job(
        &state.pool,
        caller.0.id,
        job,
        q.cursor()?,
        q.limit(),
        runs.status,
    )
    .await?;
    let items: Vec<RunOut> = rows.into_iter().map(RunOut::from).collect();
    Ok(axum::Json(Page::new(items, q.limit(), |r| {
        r.id.to_string()
    })))
}

/// A page of a job's runs, by status.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// The `next_cursor` of the previous page (empty: the first page).
    pub cursor: Option<String>,
    /// Items per page (default 50; values outside 1 to 500 are taken as the nearest).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only runs in this status.
    pub status: Option<RunStatus>,
}

/// One run, with its live counters.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", params(("id" = RunId, Path)),
    responses((status = 200, body = RunOut), (status = 404, body = ErrorBody)))]
async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
) -> ApiResult<axum::Json<RunOut>> {
    let run = db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let params = db::runs::params(&state.pool, caller.0.id, id).await?;
    let mut out = RunOut::from(run);
    out.params = params.and_then(|p| serde_json::from_value(p).ok());
    Ok(axum::Json(out))
}

/// Cancel a queued or running run. A queued run (or one whose host is gone) ends
/// `cancelled` at once (200); a running one is asked to stop (202): the host running it
/// ends it `cancelled` within a few seconds, keeping what it stored, and its counters then
/// equal its pages and results.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", params(("id" = RunId, Path)),
    responses((status = 200, body = RunOut), (status = 202, body = RunOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
) -> ApiResult<(StatusCode, axum::Json<RunOut>)> {
    let cancelled = db::runs::cancel(&state.pool, caller.0.id, id).await?;
    let run = db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    match cancelled {
        db::runs::Cancel::Cancelled => Ok((StatusCode::OK, axum::Json(run.into()))),
        db::runs::Cancel::Requested => Ok((StatusCode::ACCEPTED, axum::Json(run.into()))),
        db::runs::Cancel::Over => Err(ApiError::new(
            ErrorCode::RunFinished,
            format!("the run already ended ({})", run.status),
        )),
    }
}

/// Query of the event stream.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The API key, for clients that cannot send headers (browsers' EventSource). Prefer
    /// the Authorization header: a key in a URL can end up in logs.
    pub access_token: Option<String>,
}

/// A run's life as Server-Sent Events: first its current state, then an event whenever
/// its status (`event: status`) or counters (`event: progress`) change, and `event: end`
/// when it is over, after which the stream closes. Each event's data is the run, as
/// `GET /v1/runs/{id}` gives it, and its id is the run's `version`. Any host serves it,
/// whichever runs the run. A client that reconnects (with `Last-Event-ID` or not) gets the
/// current state first, so it misses nothing but intermediate counter values.
#[utoipa::path(get, path = "/v1/runs/{id}/events", tag = "runs", params(("id" = RunId, Path), EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = RunEvent), (status = 404, body = ErrorBody)))]
async fn run_events(
    State(state): State<AppState>,
    caller: StreamCaller,
    ApiPath(id): ApiPath<RunId>,
) -> ApiResult<
    axum::response::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    let owner = caller.0.id;
    let first = db::runs::get(&state.pool, owner, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let watch = RunWatch {
        changes: state.run_changes.subscribe(),
        stopping: state.stopping.subscribe(),
        state,
        owner,
        id,
        next: Some(first),
        last: None,
        ended: false,
    };
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        let event = w.next_event().await?;
        Some((Ok(event), w))
    });
    Ok(axum::response::Sse::new(stream).keep_alive(axum::response::sse::KeepAlive::default()))
}

/// One event of a run's stream, as its Server-Sent Events fields.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunEvent {
    /// `status`, `progress` or `end`.
    #[schema(pattern = "^(status|progress|end)$")]
    pub event: String,
    /// The run's `version` when it was sent.
    pub id: String,
    /// The run as `GET /v1/runs/{id}` gives it, as JSON text.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// One client's view of a run's events.
struct RunWatch {
    state: AppState,
    owner: crate::ids::UserId,
    id: RunId,
    changes: tokio::sync::broadcast::Receiver<crate::state::RunChange>,
    stopping: tokio::sync::watch::Receiver<bool>,
    /// A state read and not sent yet.
    next: Option<RunRow>,
    /// The version and status last sent.
    last: Option<(i64, RunStatus)>,
    /// `end` was sent.
    ended: bool,
}

impl RunWatch {
    /// How often the run is read when no announcement arrives (announcements sent while a
    /// host's listener reconnects are lost).
    const POLL: std::time::Duration = std::time::Duration::from_secs(2);

    async fn next_event(&mut self) -> Option<axum::response::sse::Event> {
        if self.ended {
            return None;
        }
        if let Some((_, status)) = self.last
            && status.is_over()
        {
            self.ended = true;
            let run = self.next.take()?;
            return Some(Self::event("end", run));
        }
        loop {
            if let Some(run) = self.next.take() {
                if self.last.is_some_and(|(version, _)| version == run.version) {
                    continue;
                }
                let kind = match self.last {
                    Some((_, status)) if status == run.status => "progress",
                    _ => "status",
                };
                self.last = Some((run.version, run.status));
                if run.status.is_over() {
                    // Kept for the `end` event that follows.
                    self.next = Some(run.clone());
                }
                return Some(Self::event(kind, run));
            }
            if *self.stopping.borrow() {
                return None;
            }
            tokio::select! {
                change = self.changes.recv() => match change {
                    Ok(change) if change.run != self.id => continue,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep(Self::POLL).await;
                    }
                },
                _ = tokio::time::sleep(Self::POLL) => {}
                _ = self.stopping.changed() => {}
            }
            if *self.stopping.borrow() {
                return None;
            }
            match db::runs::get(&self.state.pool, self.owner, self.id).await {
                Ok(Some(run)) => self.next = Some(run),
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(run = %self.id, "reading a run for its event stream failed: {e}");
                    return None;
                }
            }
        }
    }

    fn event(kind: &str, run: RunRow) -> axum::response::sse::Event {
        let version = run.version;
        let out = RunOut::from(run);
        axum::response::sse::Event::default()
            .event(kind)
            .id(version.to_string())
            .json_data(out)
            .expect("a run always serialises")
    }
}

/// A stored item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultOut {
    /// Id (also the cursor).
    pub id: ResultId,
    /// The page it came from.
    pub source_url: String,
    /// The item.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// SHA-256 of the canonical JSON, hex.
    pub content_hash: String,
    /// The plugin's confidence, in [0, 1].
    pub confidence: Option<f32>,
    /// Lenient mode: how the item breaks the schema.
    #[schema(value_type = Option<Vec<Object>>)]
    pub validation_errors: Option<serde_json::Value>,
    /// What the extractor said of each field (by name): its own confidence and where the
    /// value was found. Absent when it said nothing (plugins built for WIT 0.1.0 never do).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, FieldMeta>>)]
    pub fields: Option<serde_json::Value>,
    /// Stored.
    pub created_at: DateTime<Utc>,
}

impl From<ResultRow> for ResultOut {
    fn from(r: ResultRow) -> Self {
        Self {
            id: r.id,
            source_url: r.source_url,
            data: r.data,
            content_hash: hex::encode(r.content_hash),
            confidence: r.confidence,
            validation_errors: r.validation_errors,
            fields: r.field_meta,
            created_at: r.created_at,
        }
    }
}

/// The property order of a run's items: its job's schema's.
async fn property_order(
    state: &AppState,
    run: &db::runs::RunRow,
) -> ApiResult<crate::validate::PropertyOrder> {
    let Some(job) = db::jobs::get_any(&state.pool, run.job_id).await? else {
        return Ok(Default::default());
    };
    let schema = db::schemas::get(&state.pool, run.owner_id, job.schema_id).await?;
    Ok(schema
        .and_then(|s| serde_json::from_str(&s.json_schema).ok())
        .map(|schema| crate::validate::PropertyOrder::of(&schema))
        .unwrap_or_default())
}

/// A page of a run's results, filtered as an export filters them.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// The `next_cursor` of the previous page (empty: the first page).
    pub cursor: Option<String>,
    /// Items per page (default 50; values outside 1 to 500 are taken as the nearest).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only items whose confidence is at least this (0 to 1; none counts as 1).
    pub min_confidence: Option<f64>,
    /// `true`: only items that passed validation; `false`: only those stored with errors.
    pub valid: Option<bool>,
    /// Only items from pages whose URL matches this pattern (`*` for any run of characters).
    pub source_url: Option<String>,
    /// Only items stored at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only items stored before this time.
    pub until: Option<DateTime<Utc>>,
}

/// A run's results, in the order they were stored, each item's properties in its
/// schema's order; filtered by confidence, validity, page URL and time as exports are.
#[utoipa::path(get, path = "/v1/runs/{id}/results", tag = "runs", params(("id" = RunId, Path), ResultsQuery),
    responses((status = 200, body = Page<ResultOut>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_results(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(r): ApiQuery<ResultsQuery>,
) -> ApiResult<axum::Json<Page<ResultOut>>> {
    let run = db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let filters = crate::model::export::ExportFilters {
        min_confidence: r.min_confidence,
        valid: r.valid,
        source_url: r.source_url,
        since: r.since,
        until: r.until,
    };
    filters
        .check()
        .map_err(|why| ApiError::new(ErrorCode::InvalidQuery, why))?;
    let q = PageQuery {
        cursor: r.cursor,
        limit: r.limit,
    };
    let rows = db::results::list(&state.pool, id, &filters, q.cursor()?, q.limit()).await?;
    let order = property_order(&state, &run).await?;
    let items: Vec<ResultOut> = rows
        .into_iter()
        .map(|row| {
            let mut out = ResultOut::from(row);
            order.apply(&mut out.data);
            out
        })
        .collect();
    Ok(axum::Json(Page::new(items, q.limit(), |r| {
        r.id.to_string()
    })))
}

/// What plugins logged during a run, in order (capped per run; a last line says how many
/// were dropped). Lines have increasing ids and a page holds the lines after its
/// `cursor`, so any line's id is a cursor: a reader that keeps the last id it saw follows
/// the log as it grows (the console polls so).
#[utoipa::path(get, path = "/v1/runs/{id}/logs", tag = "runs", params(("id" = RunId, Path), PageQuery),
    responses((status = 200, body = Page<crate::db::logs::LogRow>), (status = 404, body = ErrorBody)))]
async fn list_logs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<crate::db::logs::LogRow>>> {
    db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let rows = db::logs::list(&state.pool, id, q.cursor()?, q.limit()).await?;
    Ok(axum::Json(Page::new(rows, q.limit(), |l| l.id.to_string())))
}

/// `?outcome=&cursor=&limit=` of the pages list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagesQuery {
    /// Only pages in this state.
    pub outcome: Option<PageState>,
    /// The `next_cursor` of the previous page (empty: the first page).
    pub cursor: Option<String>,
    /// Items per page (default 50; values outside 1 to 500 are taken as the nearest).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One page of a run: what was asked, what came back, and why it gave no items.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageOut {
    /// The URL as enqueued (normalised).
    pub url: String,
    /// Link steps from a start URL.
    pub depth: i32,
    /// Where it stands.
    pub outcome: PageState,
    /// After redirects.
    pub final_url: Option<String>,
    /// HTTP status of the last response.
    pub http_status: Option<i32>,
    /// Media type of the response.
    pub content_type: Option<String>,
    /// Body bytes (after decompression).
    pub bytes: Option<i64>,
    /// Items the extractor found on it.
    pub items: Option<i32>,
    /// Of those, items that broke the schema or could not be read.
    pub items_invalid: i32,
    /// Of those, items in which none of the schema's properties was found (not stored).
    pub items_empty: i32,
    /// The first items that were not stored as they came, and why.
    pub item_issues: Vec<crate::validate::ItemIssue>,
    /// Fetch and extraction time of the last attempt.
    pub elapsed_ms: Option<i32>,
    /// Requests sent for it (retries included; 0 when skipped before fetching).
    pub attempts: i32,
    /// Why it failed or was skipped: a stable code (`robots_disallowed`, `http_status`,
    /// `blocked_address`, …) and a message.
    pub error: Option<RunError>,
    /// Enqueued.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The pages of a run in URL order, optionally of one outcome, so a user can see why a
/// page gave no items.
#[utoipa::path(get, path = "/v1/runs/{id}/pages", tag = "runs", params(("id" = RunId, Path), PagesQuery),
    responses((status = 200, body = Page<PageOut>), (status = 404, body = ErrorBody)))]
async fn list_pages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(q): ApiQuery<PagesQuery>,
) -> ApiResult<axum::Json<Page<PageOut>>> {
    db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let limit = PageQuery {
        cursor: None,
        limit: q.limit,
    }
    .limit();
    // The cursor is the last URL, hex-encoded so that it needs no escaping in a query.
    let after = q
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            hex::decode(&c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|url| !url.contains('\0'))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidCursor,
                        "the cursor is not one this API gave",
                    )
                })
        })
        .transpose()?;
    let rows = db::pages::list(&state.pool, id, q.outcome, after.as_deref(), limit).await?;
    let items: Vec<PageOut> = rows
        .into_iter()
        .map(|r| PageOut {
            url: r.url,
            depth: r.depth,
            outcome: r.state,
            final_url: r.final_url,
            http_status: r.http_status,
            content_type: r.content_type,
            bytes: r.bytes,
            items: r.items,
            items_invalid: r.items_invalid,
            items_empty: r.items_empty,
            item_issues: r
                .item_problems
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default(),
            elapsed_ms: r.elapsed_ms,
            attempts: r.attempts,
            error: r.error_code.map(|code| RunError {
                code,
                message: r.error_message.unwrap_or_default(),
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect();
    Ok(axum::Json(Page::new(items, limit, |p| hex::encode(&p.url))))
}
