//! Webhooks: a run's deliveries with every attempt (`GET /v1/runs/{id}/webhooks`),
//! redelivery by hand (`POST /v1/webhooks/{id}/redeliver`), and a job's signing secret
//! replaced and shown once (`POST /v1/jobs/{id}/webhook-secret`).

use std::collections::HashMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::list::{Page, PageQuery};
use crate::db::{self, webhooks::AttemptRow, webhooks::DeliveryRow};
use crate::ids::{DeliveryId, JobId, RunId};
use crate::model::{DeliveryState, WebhookEvent};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(rotate_secret))
}

/// Why an attempt failed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptErrorOut {
    /// Stable: `http_status` (not 2xx, redirects included), `webhook_timeout`,
    /// `network_error`, `webhook_blocked` (the SSRF guard refused the address; not
    /// retried), `invalid_url`.
    pub code: String,
    /// For people; for `http_status`, the start of the receiver's answer.
    pub message: String,
}

/// One attempt to deliver.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAttemptOut {
    /// 1, 2, …
    pub attempt: i32,
    /// When it was sent.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: Option<i32>,
    /// The receiver's status, if it answered.
    pub http_status: Option<i32>,
    /// Set when the attempt failed.
    pub error: Option<AttemptErrorOut>,
}

impl From<AttemptRow> for WebhookAttemptOut {
    fn from(a: AttemptRow) -> Self {
        Self {
            attempt: a.attempt,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            http_status: a.http_status,
            error: a.error_code.map(|code| AttemptErrorOut {
                code,
                message: a.error_message.unwrap_or_default(),
            }),
        }
    }
}

/// One event for one URL, with every attempt to deliver it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookDeliveryOut {
    /// Id: the `Trawl-Delivery` header and the body's `id`, the same at every attempt
    /// and redelivery (the receiver's dedup key; also the cursor).
    pub id: DeliveryId,
    /// The run.
    pub run_id: RunId,
    /// The run's job.
    pub job_id: JobId,
    /// What happened to the run.
    pub event: WebhookEvent,
    /// Where it is sent.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: DeliveryState,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's status, if the receiver answered.
    pub last_status: Option<i32>,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
    /// The run's state when it changed, as sent (beside `id`, `event` and `created_at`).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When the run changed.
    pub created_at: DateTime<Utc>,
    /// When a receiver last answered 2xx.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, in order.
    pub attempts: Vec<WebhookAttemptOut>,
}

fn delivery_out(row: DeliveryRow, attempts: Vec<AttemptRow>) -> WebhookDeliveryOut {
    WebhookDeliveryOut {
        id: row.id,
        run_id: row.run_id,
        job_id: row.job_id,
        event: row.event,
        url: row.url,
        state: row.state,
        next_attempt_at: (row.state == DeliveryState::Pending).then_some(row.next_attempt_at),
        last_status: row.last_status,
        last_error: row.last_error,
        payload: row.payload,
        created_at: row.created_at,
        delivered_at: row.delivered_at,
        attempts: attempts.into_iter().map(Into::into).collect(),
    }
}

async fn with_attempts(
    state: &AppState,
    rows: Vec<DeliveryRow>,
) -> ApiResult<Vec<WebhookDeliveryOut>> {
    let ids: Vec<DeliveryId> = rows.iter().map(|r| r.id).collect();
    let mut attempts: HashMap<DeliveryId, Vec<AttemptRow>> = HashMap::new();
    for a in db::webhooks::attempts_of(&state.pool, &ids).await? {
        attempts.entry(a.delivery_id).or_default().push(a);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine = attempts.remove(&r.id).unwrap_or_default();
            delivery_out(r, mine)
        })
        .collect())
}

/// A run's webhook deliveries, oldest first, each with its attempts.
#[utoipa::path(get, path = "/v1/runs/{id}/webhooks", tag = "webhooks", params(("id" = RunId, Path), PageQuery),
    responses((status = 200, body = Page<WebhookDeliveryOut>), (status = 404, body = ErrorBody)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<WebhookDeliveryOut>>> {
    db::runs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let rows =
        db::webhooks::list_for_run(&state.pool, caller.0.id, id, q.cursor()?, q.limit()).await?;
    let items = with_attempts(&state, rows).await?;
    Ok(axum::Json(Page::new(items, q.limit(), |d| {
        d.id.to_string()
    })))
}

/// Send a delivery again, now: it goes back to `pending` with its id, body and attempts
/// (the receiver dedups on the id). A delivery whose retry window has closed gets this
/// one attempt; one still in its window is retried as before.
#[utoipa::path(post, path = "/v1/webhooks/{id}/redeliver", tag = "webhooks", params(("id" = DeliveryId, Path)),
    responses((status = 200, body = WebhookDeliveryOut), (status = 404, body = ErrorBody)))]
async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<DeliveryId>,
) -> ApiResult<axum::Json<WebhookDeliveryOut>> {
    let mut tx = state.pool.begin().await?;
    let row = db::webhooks::redeliver(&mut *tx, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
    db::webhooks::announce(&mut *tx).await?;
    let attempts = db::webhooks::attempts_of(&mut *tx, &[id]).await?;
    tx.commit().await?;
    Ok(axum::Json(delivery_out(row, attempts)))
}

/// A job's new webhook signing secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookSecretOut {
    /// `whsec_` and 64 hex digits: the HMAC-SHA256 key, exactly as written. Shown only
    /// here; deliveries from now on are signed with it.
    pub webhook_secret: String,
}

/// Replace a job's webhook signing secret; the new one is shown this once. Deliveries
/// sent from now on are signed with it, those of earlier changes included.
#[utoipa::path(post, path = "/v1/jobs/{id}/webhook-secret", tag = "webhooks", params(("id" = JobId, Path)),
    responses((status = 200, body = WebhookSecretOut), (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<axum::Json<WebhookSecretOut>> {
    let secret = crate::webhooks::new_secret();
    if !db::jobs::set_webhook_secret(&state.pool, caller.0.id, id, &secret).await? {
        return Err(ApiError::not_found("job"));
    }
    Ok(axum::Json(WebhookSecretOut {
        webhook_secret: crate::webhooks::shown_secret(&secret),
    }))
}
