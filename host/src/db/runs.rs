//! Runs: queued by the API, claimed by workers under a lease.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{JobId, RunId, UserId};
use crate::model::{RunEnd, RunStatus, Trigger};

/// `$head`, a run row's columns, then `$tail`, as a [`RunRow`] query (a `SELECT`, or a
/// statement `RETURNING` them): the column list, and the counters' mapping, once.
macro_rules! run_rows {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            $head + r#" id AS "id: RunId", job_id AS "job_id: JobId", owner_id AS "owner_id: UserId",
                      trigger AS "trigger: Trigger", idempotency_key, status AS "status: RunStatus",
                      pages_fetched, pages_failed, items_new, items_duplicate, items_invalid, items_empty,
                      bytes_fetched, fuel_consumed, credits_consumed, error_code, error_message,
                      created_at, started_at, finished_at "# + $tail
            $(, $arg)*
        )
        .map(|r| RunRow {
            id: r.id,
            job_id: r.job_id,
            owner_id: r.owner_id,
            trigger: r.trigger,
            idempotency_key: r.idempotency_key,
            status: r.status,
            counters: Counters {
                pages_fetched: r.pages_fetched,
                pages_failed: r.pages_failed,
                items_new: r.items_new,
                items_duplicate: r.items_duplicate,
                items_invalid: r.items_invalid,
                items_empty: r.items_empty,
                bytes_fetched: r.bytes_fetched,
                fuel_consumed: r.fuel_consumed,
            },
            credits_consumed: r.credits_consumed,
            error_code: r.error_code,
            error_message: r.error_message,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
    };
}

/// A run row.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: RunId,
    pub job_id: JobId,
    pub owner_id: UserId,
    pub trigger: Trigger,
    pub idempotency_key: Option<String>,
    pub status: RunStatus,
    pub counters: Counters,
    pub credits_consumed: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Live counters of a run (and the increments a page adds to them).
#[derive(Debug, Default, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
#[schema(as = RunCounters)]
pub struct Counters {
    /// Pages fetched and extracted.
    pub pages_fetched: i64,
    /// Pages that failed.
    pub pages_failed: i64,
    /// Items stored.
    pub items_new: i64,
    /// Items already stored (same content hash), not stored again.
    pub items_duplicate: i64,
    /// Items that failed validation or could not be read (not a JSON object).
    pub items_invalid: i64,
    /// Items in which none of the schema's properties was found: counted, never stored.
    pub items_empty: i64,
    /// Bytes fetched.
    pub bytes_fetched: i64,
    /// Plugin fuel burnt.
    pub fuel_consumed: i64,
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, c: Counters) {
        self.pages_fetched += c.pages_fetched;
        self.pages_failed += c.pages_failed;
        self.items_new += c.items_new;
        self.items_duplicate += c.items_duplicate;
        self.items_invalid += c.items_invalid;
        self.items_empty += c.items_empty;
        self.bytes_fetched += c.bytes_fetched;
        self.fuel_consumed += c.fuel_consumed;
    }
}

/// Queue a run of `owner`'s job. With an idempotency key already used for this job, the
/// earlier run comes back instead (second value false). `None` when the job is not `owner`'s.
pub async fn create(
    ex: impl PgExecutor<'_> + Copy,
    owner: UserId,
    job: JobId,
    trigger: Trigger,
    idempotency_key: Option<&str>,
) -> Result<Option<(RunRow, bool)>, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"INSERT INTO runs (id, job_id, owner_id, trigger, idempotency_key)
           SELECT $1, j.id, j.owner_id, $4, $5 FROM scraping_jobs j WHERE j.id = $2 AND j.owner_id = $3
           ON CONFLICT (job_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING id AS "id: RunId""#,
        RunId::new() as RunId,
        job as JobId,
        owner as UserId,
        trigger as Trigger,
        idempotency_key
    )
    .fetch_optional(ex)
    .await?;
    if let Some(row) = inserted {
        return Ok(get(ex, owner, row.id).await?.map(|r| (r, true)));
    }
    let Some(key) = idempotency_key else {
        return Ok(None);
    };
    let existing = sqlx::query!(
        r#"SELECT id AS "id: RunId" FROM runs WHERE job_id = $1 AND owner_id = $2 AND idempotency_key = $3"#,
        job as JobId,
        owner as UserId,
        key
    )
    .fetch_optional(ex)
    .await?;
    match existing {
        Some(row) => Ok(get(ex, owner, row.id).await?.map(|r| (r, false))),
        None => Ok(None),
    }
}

/// One of `owner`'s runs.
pub async fn get(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: RunId,
) -> Result<Option<RunRow>, sqlx::Error> {
    run_rows!(
        "SELECT",
        "FROM runs WHERE id = $1 AND owner_id = $2",
        id as RunId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// The runs of one of `owner`'s jobs, newest first.
pub async fn list_for_job(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    job: JobId,
    before: Option<RunId>,
    limit: i64,
) -> Result<Vec<RunRow>, sqlx::Error> {
    run_rows!(
        "SELECT",
        "FROM runs WHERE job_id = $1 AND owner_id = $2 AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        job as JobId,
        owner as UserId,
        before as Option<RunId>,
        limit
    )
    .fetch_all(ex)
    .await
}

/// Cancel a queued or running run. False when it is not `owner`'s or already over.
pub async fn cancel(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: RunId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE runs SET status = 'cancelled', finished_at = now(), updated_at = now(), lease_owner = NULL,
                  error_code = 'cancelled', error_message = 'cancelled by the user'
           WHERE id = $1 AND owner_id = $2 AND status IN ('queued', 'running')"#,
        id as RunId,
        owner as UserId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claim the oldest queued run, or a running one whose lease expired (its worker died).
pub async fn claim_next(
    ex: impl PgExecutor<'_>,
    worker: &str,
    lease_secs: f64,
) -> Result<Option<RunRow>, sqlx::Error> {
    run_rows!(
        "UPDATE runs SET status = 'running', lease_owner = $1, lease_expires_at = now() + $2 * interval '1 second',
                started_at = coalesce(started_at, now()), updated_at = now()
         WHERE id = (SELECT id FROM runs
                     WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < now())
                     ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
         RETURNING",
        "",
        worker,
        lease_secs
    )
    .fetch_optional(ex)
    .await
}

/// Extend the lease. False when the run is no longer this worker's to run (cancelled,
/// finished, or taken over after the lease lapsed).
pub async fn heartbeat(
    ex: impl PgExecutor<'_>,
    id: RunId,
    worker: &str,
    lease_secs: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE runs SET lease_expires_at = now() + $3 * interval '1 second'
           WHERE id = $1 AND lease_owner = $2 AND status = 'running'"#,
        id as RunId,
        worker,
        lease_secs
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Add one page's counters.
pub async fn add_counters(
    ex: impl PgExecutor<'_>,
    id: RunId,
    c: &Counters,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE runs SET pages_fetched = pages_fetched + $2, pages_failed = pages_failed + $3,
                  items_new = items_new + $4, items_duplicate = items_duplicate + $5, items_invalid = items_invalid + $6,
                  bytes_fetched = bytes_fetched + $7, fuel_consumed = fuel_consumed + $8, items_empty = items_empty + $9,
                  updated_at = now()
           WHERE id = $1"#,
        id as RunId,
        c.pages_fetched,
        c.pages_failed,
        c.items_new,
        c.items_duplicate,
        c.items_invalid,
        c.bytes_fetched,
        c.fuel_consumed,
        c.items_empty
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// End a run this worker holds. False when it no longer held it.
pub async fn finish(
    ex: impl PgExecutor<'_>,
    id: RunId,
    worker: &str,
    end: RunEnd,
    error: Option<(&str, &str)>,
) -> Result<bool, sqlx::Error> {
    let message = error.map(|e| crate::validate::storable_text(e.1));
    let done = sqlx::query!(
        r#"UPDATE runs SET status = $3, error_code = $4, error_message = $5, finished_at = now(), updated_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL
           WHERE id = $1 AND lease_owner = $2 AND status = 'running'"#,
        id as RunId,
        worker,
        RunStatus::from(end) as RunStatus,
        error.map(|e| e.0),
        message.as_deref()
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Give a run back to the queue (graceful shutdown): another host resumes it.
pub async fn release(ex: impl PgExecutor<'_>, id: RunId, worker: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE id = $1 AND lease_owner = $2 AND status = 'running'"#,
        id as RunId,
        worker
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// What queuing a schedule occurrence's run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduledRun {
    /// A run was queued.
    Queued(RunId),
    /// A run of the job is queued or running, and the job skips overlapping occurrences.
    Overlapping,
    /// The occurrence already has its run.
    AlreadyQueued,
}

/// Queue the run of one occurrence of a job's schedule, unless `skip_overlap` and a run
/// of the job is queued or running. The occurrence is the run's idempotency: the unique
/// index on (job, occurrence) makes a second insert for it do nothing, whoever tries.
pub async fn create_scheduled(
    ex: impl PgExecutor<'_>,
    job: JobId,
    occurrence: DateTime<Utc>,
    skip_overlap: bool,
) -> Result<ScheduledRun, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH active AS (
               SELECT EXISTS (SELECT 1 FROM runs WHERE job_id = $2 AND status IN ('queued', 'running')) AS going
           ), queued AS (
               INSERT INTO runs (id, job_id, owner_id, trigger, scheduled_for)
               SELECT $1, j.id, j.owner_id, $3, $4 FROM scraping_jobs j, active
               WHERE j.id = $2 AND NOT ($5 AND active.going)
               ON CONFLICT (job_id, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING
               RETURNING id
           )
           SELECT (SELECT going FROM active) AS "going!", (SELECT id FROM queued) AS "id?: RunId""#,
        RunId::new() as RunId,
        job as JobId,
        Trigger::Schedule as Trigger,
        occurrence,
        skip_overlap
    )
    .fetch_one(ex)
    .await?;
    Ok(match row.id {
        Some(id) => ScheduledRun::Queued(id),
        None if skip_overlap && row.going => ScheduledRun::Overlapping,
        None => ScheduledRun::AlreadyQueued,
    })
}
