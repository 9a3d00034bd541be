//! Runs of a job (`POST /v1/jobs/{id}/runs`, with `Idempotency-Key`), their status and
//! counters, cancellation, and their results.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiPath, ApiQuery};
use super::list::{Page, PageQuery};
use crate::db::runs::Counters;
use crate::db::{self, results::ResultRow, runs::RunRow};
use crate::ids::{JobId, ResultId, RunId};
use crate::model::{PageState, RunStatus, Trigger};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_run, list_runs))
        .routes(routes!(get_run))
        .routes(routes!(cancel_run))
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
    /// Credits charged.
    pub credits_consumed: i64,
    /// Set when the run failed or was cancelled.
    pub error: Option<RunError>,
    /// The Idempotency-Key it was started with.
    pub idempotency_key: Option<String>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<RunRow> for RunOut {
    fn from(r: RunRow) -> Self {
        Self {
            id: r.id,
            job_id: r.job_id,
            trigger: r.trigger,
            status: r.status,
            counters: r.counters,
            credits_consumed: r.credits_consumed,
            error: r.error_code.map(|code| RunError {
                code,
                message: r.error_message.unwrap_or_default(),
            }),
            idempotency_key: r.idempotency_key,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// Queue a run. With an `Idempotency-Key` used before for this job, the earlier run is
/// returned (200) instead of a new one (201).
#[utoipa::path(post, path = "/v1/jobs/{id}/runs", tag = "runs",
    params(("id" = JobId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe run creation")),
    responses((status = 201, body = RunOut), (status = 200, body = RunOut), (status = 404, body = ErrorBody)))]
async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(job): ApiPath<JobId>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, axum::Json<RunOut>)> {
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
    let (run, created) =
        db::runs::create(&state.pool, caller.0.id, job, Trigger::Api, key.as_deref())
            .await?
            .ok_or_else(|| ApiError::not_found("job"))?;
    if created {
        state.wake.notify_waiters();
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(run.into())))
}

/// A job's runs, newest first.
#[utoipa::path(get, path = "/v1/jobs/{id}/runs", tag = "runs", params(("id" = JobId, Path), PageQuery),
    responses((status = 200, body = Page<RunOut>), (status = 404, body = ErrorBody)))]
async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(job): ApiPath<JobId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<RunOut>>> {
    db::jobs::get(&state.pool, caller.0.id, job)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let rows =
        db::runs::list_for_job(&state.pool, caller.0.id, job, q.cursor()?, q.limit()).await?;
    let items: Vec<RunOut> = rows.into_iter().map(RunOut::from).collect();
    Ok(axum::Json(Page::new(items, q.limit(), |r| {
        r.id.to_string()
    })))
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
    Ok(axum::Json(run.into()))
}

/// Cancel a queued or running run.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", params(("id" = RunId, Path)),
    responses((status = 200, body = RunOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
) -> ApiResult<axum::Json<RunOut>> {
    let cancelled = db::runs::cancel(&state.pool, caller.0.id, id).await?;
    let run = db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    if !cancelled {
        return Err(ApiError::new(
            ErrorCode::RunFinished,
            format!("the run already ended ({})", run.status),
        ));
    }
    Ok(axum::Json(run.into()))
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

/// A run's results, in the order they were stored, each item's properties in its
/// schema's order.
#[utoipa::path(get, path = "/v1/runs/{id}/results", tag = "runs", params(("id" = RunId, Path), PageQuery),
    responses((status = 200, body = Page<ResultOut>), (status = 404, body = ErrorBody)))]
async fn list_results(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<ResultOut>>> {
    let run = db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let rows = db::results::list(&state.pool, id, q.cursor()?, q.limit()).await?;
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
/// were dropped).
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
