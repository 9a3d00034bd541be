//! The webhook outbox: `webhook_deliveries` (written by the `runs_webhooks` trigger in
//! the transaction of a run's change; claimed, sent and retried by any host) and
//! `webhook_attempts` (every attempt, with its answer or its error).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::ids::{DeliveryId, JobId, RunId, UserId};
use crate::model::{DeliveryState, WebhookEvent};

/// A delivery claimed for sending, with what the attempt needs.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: DeliveryId,
    pub event: WebhookEvent,
    pub url: String,
    pub payload: serde_json::Value,
    /// Attempts made before this one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// The job's signing secret (hex), if it has one.
    pub secret: Option<String>,
}

/// Claim up to `limit` due deliveries, oldest due first, pushing each one's due time
/// `lease_secs` ahead: while this host sends it no other host claims it, and if this
/// host dies it is due again once the lease has passed.
pub async fn claim_due(
    ex: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: f64,
) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"UPDATE webhook_deliveries d
           SET next_attempt_at = now() + $2 * interval '1 second', updated_at = now()
           FROM scraping_jobs j
           WHERE d.id = ANY(ARRAY(SELECT id FROM webhook_deliveries
                                  WHERE state = 'pending' AND next_attempt_at <= now()
                                  ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT $1))
             AND j.id = d.job_id
           RETURNING d.id AS "id!: DeliveryId", d.event AS "event!: WebhookEvent", d.url AS "url!",
                     d.payload AS "payload!", d.attempts AS "attempts!", d.created_at AS "created_at!",
                     j.webhook_secret AS secret"#,
        limit,
        lease_secs
    )
    .fetch_all(ex)
    .await
}

/// One attempt's record and the delivery's state after it.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    /// 1-based: the claimed delivery's attempts plus one.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub http_status: Option<i32>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    /// The delivery's state after this attempt.
    pub state: DeliveryState,
    /// When a `pending` delivery is due again.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Store an attempt and the delivery's new state, in one statement. False (and nothing
/// written) when the delivery's attempt count is no longer the one claimed: another host
/// recorded an attempt meanwhile.
pub async fn record_attempt(
    ex: impl PgExecutor<'_>,
    id: DeliveryId,
    a: &AttemptRecord<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"WITH d AS (
               UPDATE webhook_deliveries
               SET state = $3, attempts = $2, next_attempt_at = coalesce($4, next_attempt_at),
                   last_status = $5, last_error = $7,
                   delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END,
                   updated_at = now()
               WHERE id = $1 AND attempts = $2 - 1
               RETURNING id)
           INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, http_status, error_code, error_message)
           SELECT id, $2, $8, $9, $5, $6, $7 FROM d"#,
        id as DeliveryId,
        a.attempt,
        a.state as DeliveryState,
        a.next_attempt_at,
        a.http_status,
        a.error_code,
        a.error_message,
        a.started_at,
        a.duration_ms
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A delivery as the API shows it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub run_id: RunId,
    pub job_id: JobId,
    pub event: WebhookEvent,
    pub url: String,
    pub payload: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// `SELECT` a delivery row's columns `FROM webhook_deliveries` and then `$tail`.
macro_rules! select_deliveries {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            DeliveryRow,
            r#"SELECT id AS "id: DeliveryId", run_id AS "run_id: RunId", job_id AS "job_id: JobId",
                      event AS "event: WebhookEvent", url, payload, state AS "state: DeliveryState",
                      attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
               FROM webhook_deliveries "# + $tail
            $(, $arg)*
        )
    };
}

/// The deliveries of one of `owner`'s runs, oldest first, after the `after` cursor.
pub async fn list_for_run(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    run: RunId,
    after: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    select_deliveries!(
        "WHERE run_id = $1 AND owner_id = $2
           AND ($3::uuid IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_deliveries WHERE id = $3))
         ORDER BY created_at, id LIMIT $4",
        run as RunId,
        owner as UserId,
        after as Option<DeliveryId>,
        limit
    )
    .fetch_all(ex)
    .await
}

/// Make one of `owner`'s deliveries due now, whatever its state: it keeps its id (the
/// receiver's dedup key), its payload and its attempts. The row as this left it (a
/// sender may take it the moment this commits); `None` when not found.
pub async fn redeliver(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: DeliveryId,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveryRow,
        r#"UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now(), updated_at = now()
           WHERE id = $1 AND owner_id = $2
           RETURNING id AS "id: DeliveryId", run_id AS "run_id: RunId", job_id AS "job_id: JobId",
                     event AS "event: WebhookEvent", url, payload, state AS "state: DeliveryState",
                     attempts, next_attempt_at, last_status, last_error, created_at, delivered_at"#,
        id as DeliveryId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// Wake every host's sender (at commit, inside a transaction).
pub async fn announce(ex: impl PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!("NOTIFY trawl_webhooks").execute(ex).await?;
    Ok(())
}

/// One attempt as the API shows it.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub delivery_id: DeliveryId,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: Option<i32>,
    pub http_status: Option<i32>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// The attempts of these deliveries, in order.
pub async fn attempts_of(
    ex: impl PgExecutor<'_>,
    deliveries: &[DeliveryId],
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.0).collect();
    sqlx::query_as!(
        AttemptRow,
        r#"SELECT delivery_id AS "delivery_id: DeliveryId", attempt, started_at, duration_ms, http_status,
                  error_code, error_message
           FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt"#,
        &ids as &[Uuid]
    )
    .fetch_all(ex)
    .await
}
