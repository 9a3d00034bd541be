//! Scraping jobs.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{JobId, SchemaId, UserId};
use crate::model::DedupScope;
use crate::model::Overlap;

/// `SELECT` a job row's columns `FROM scraping_jobs` and then `$tail`, as a [`JobRow`]
/// query: the column list is written once.
macro_rules! select_jobs {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            JobRow,
            r#"SELECT id AS "id: JobId", owner_id AS "owner_id: UserId", schema_id AS "schema_id: SchemaId", name,
                      webhooks, max_duration_secs, max_credits,
                      start_urls, pagination, max_pages, concurrency, dedup_scope AS "dedup_scope: DedupScope",
                      cron, timezone, overlap AS "overlap: Overlap", next_run_at, last_run_at,
                      enabled, max_depth, fetch_settings, drop_query_params, created_at, updated_at
               FROM scraping_jobs "# + $tail
            $(, $arg)*
        )
    };
}

/// A job row.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: JobId,
    pub owner_id: UserId,
    pub schema_id: SchemaId,
    pub name: String,
    pub start_urls: Vec<String>,
    pub pagination: serde_json::Value,
    pub max_pages: i32,
    pub concurrency: i32,
    pub dedup_scope: DedupScope,
    pub enabled: bool,
    pub max_depth: Option<i32>,
    pub fetch_settings: serde_json::Value,
    pub drop_query_params: Vec<String>,
    /// `[{"url", "events"}]`, as [`crate::model::webhook::Webhook`]s.
    pub webhooks: serde_json::Value,
    /// Runs still going this long after they started end `timed_out`.
    pub max_duration_secs: Option<i32>,
    /// Runs end `succeeded` (credit_cap_reached) once they cost this many credits.
    pub max_credits: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The schedule: a crontab expression (none: runs start only through the API).
    pub cron: Option<String>,
    /// The IANA time zone the expression is read in.
    pub timezone: String,
    /// What a due occurrence does while a run of the job is going.
    pub overlap: Overlap,
    /// The schedule's next occurrence (none without a schedule, or while disabled).
    pub next_run_at: Option<DateTime<Utc>>,
    /// When the schedule last fired (a run was queued or the occurrence skipped).
    pub last_run_at: Option<DateTime<Utc>>,
}

/// What creating or replacing a job takes.
#[derive(Debug)]
pub struct NewJob<'a> {
    pub schema_id: SchemaId,
    pub name: &'a str,
    pub start_urls: &'a [String],
    pub pagination: &'a serde_json::Value,
    pub max_pages: i32,
    pub concurrency: i32,
    pub dedup_scope: DedupScope,
    pub enabled: bool,
    pub max_depth: Option<i32>,
    pub fetch_settings: &'a serde_json::Value,
    pub drop_query_params: &'a [String],
}

/// Create a job. The schema must be `owner`'s: checked in the same statement.
pub async fn create(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    new: &NewJob<'_>,
) -> Result<Option<JobId>, sqlx::Error> {
    let row = sqlx::query!(
        r#"INSERT INTO scraping_jobs (id, owner_id, schema_id, name, start_urls, pagination, max_pages, concurrency, dedup_scope, enabled,
                                      max_depth, fetch_settings, drop_query_params)
           SELECT $1, $2, s.id, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM extractor_schemas s WHERE s.id = $3 AND s.owner_id = $2
           RETURNING id AS "id: JobId""#,
        JobId::new() as JobId,
        owner as UserId,
        new.schema_id as SchemaId,
        new.name,
        new.start_urls,
        new.pagination,
        new.max_pages,
        new.concurrency,
        new.dedup_scope as DedupScope,
        new.enabled,
        new.max_depth,
        new.fetch_settings,
        new.drop_query_params
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| r.id))
}

/// Replace a job's definition. False when the job or the schema is not `owner`'s.
pub async fn update(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
    new: &NewJob<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE scraping_jobs j
           SET schema_id = s.id, name = $4, start_urls = $5, pagination = $6, max_pages = $7, concurrency = $8,
               dedup_scope = $9, enabled = $10, max_depth = $11, fetch_settings = $12, drop_query_params = $13,
               updated_at = now()
           FROM extractor_schemas s
           WHERE j.id = $1 AND j.owner_id = $2 AND s.id = $3 AND s.owner_id = $2"#,
        id as JobId,
        owner as UserId,
        new.schema_id as SchemaId,
        new.name,
        new.start_urls,
        new.pagination,
        new.max_pages,
        new.concurrency,
        new.dedup_scope as DedupScope,
        new.enabled,
        new.max_depth,
        new.fetch_settings,
        new.drop_query_params
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One of `owner`'s jobs.
pub async fn get(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
) -> Result<Option<JobRow>, sqlx::Error> {
    select_jobs!(
        "WHERE id = $1 AND owner_id = $2",
        id as JobId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// A job by id alone, for workers.
pub async fn get_any(ex: impl PgExecutor<'_>, id: JobId) -> Result<Option<JobRow>, sqlx::Error> {
    select_jobs!("WHERE id = $1", id as JobId)
        .fetch_optional(ex)
        .await
}

/// `owner`'s jobs, newest first, after the `before` cursor.
pub async fn list(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    before: Option<JobId>,
    limit: i64,
    filter: &JobFilter<'_>,
) -> Result<Vec<JobRow>, sqlx::Error> {
    select_jobs!(
        "WHERE owner_id = $1 AND ($2::uuid IS NULL OR id < $2)
           AND ($4::text IS NULL OR strpos(lower(name), lower($4)) > 0)
           AND ($5::bool IS NULL OR enabled = $5)
           AND ($6::bool IS NULL OR (cron IS NOT NULL) = $6)
         ORDER BY id DESC LIMIT $3",
        owner as UserId,
        before as Option<JobId>,
        limit,
        filter.name_contains,
        filter.enabled,
        filter.scheduled,
    )
    .fetch_all(ex)
    .await
}

/// Which jobs a list shows (`None`: any).
#[derive(Debug, Default)]
pub struct JobFilter<'a> {
    /// Names holding this text, in any case.
    pub name_contains: Option<&'a str>,
    pub enabled: Option<bool>,
    /// Jobs with a schedule (`true`) or without (`false`).
    pub scheduled: Option<bool>,
}

/// The newest run of a job, in brief.
#[derive(Debug, Clone)]
pub struct LastRun {
    pub id: crate::ids::RunId,
    pub status: crate::model::RunStatus,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The job's newest run, if it has one.
pub async fn last_run(ex: impl PgExecutor<'_>, job: JobId) -> Result<Option<LastRun>, sqlx::Error> {
    sqlx::query_as!(
        LastRun,
        r#"SELECT id AS "id: crate::ids::RunId", status AS "status: crate::model::RunStatus", created_at, finished_at
           FROM runs WHERE job_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1"#,
        job as JobId
    )
    .fetch_optional(ex)
    .await
}

/// Delete one of `owner`'s jobs with its runs and results. False when not found.
pub async fn delete(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM scraping_jobs WHERE id = $1 AND owner_id = $2",
        id as JobId,
        owner as UserId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Set a job's webhooks (`[{"url", "events"}]`, events spelled out: the outbox trigger
/// reads them), and with `secret` its signing secret. Done beside [`create`] and
/// [`update`], in their transaction.
pub async fn set_webhooks(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
    webhooks: &serde_json::Value,
    secret: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE scraping_jobs SET webhooks = $3, webhook_secret = coalesce($4, webhook_secret)
         WHERE id = $1 AND owner_id = $2",
        id as JobId,
        owner as UserId,
        webhooks,
        secret
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A job's schedule as the API sets it.
#[derive(Debug)]
pub struct ScheduleSettings<'a> {
    pub cron: Option<&'a str>,
    pub timezone: &'a str,
    pub overlap: Overlap,
    /// The first occurrence after now; none without a schedule or while disabled.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Set one of `owner`'s jobs' schedule. False when the job is not `owner`'s.
pub async fn set_schedule(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
    schedule: &ScheduleSettings<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE scraping_jobs SET cron = $3, timezone = $4, overlap = $5, next_run_at = $6
           WHERE id = $1 AND owner_id = $2"#,
        id as JobId,
        owner as UserId,
        schedule.cron,
        schedule.timezone,
        schedule.overlap as Overlap,
        schedule.next_run_at
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Set a job's maximum run duration and cost (`None`: no limit), beside [`create`] and
/// [`update`] in their transaction. Runs already queued keep the limits they got.
pub async fn set_run_limits(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
    secs: Option<i32>,
    max_credits: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE scraping_jobs SET max_duration_secs = $3, max_credits = $4 WHERE id = $1 AND owner_id = $2",
        id as JobId,
        owner as UserId,
        secs,
        max_credits
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replace the signing secret of one of `owner`'s jobs. False when not found.
pub async fn set_webhook_secret(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: JobId,
    secret: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE scraping_jobs SET webhook_secret = $3, updated_at = now() WHERE id = $1 AND owner_id = $2",
        id as JobId,
        owner as UserId,
        secret
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A job whose schedule is due, locked for the transaction that fires it.
#[derive(Debug, Clone)]
pub struct DueJob {
    pub id: JobId,
    pub cron: Option<String>,
    pub timezone: String,
    pub overlap: Overlap,
    /// The occurrence that is due (the job's `next_run_at`).
    pub occurrence: DateTime<Utc>,
    /// The database's clock, at the start of the transaction.
    pub now: DateTime<Utc>,
}

/// Lock up to `limit` enabled jobs whose next occurrence has come, earliest first.
/// Jobs another transaction holds are skipped: that one fires them.
pub async fn lock_due(ex: impl PgExecutor<'_>, limit: i64) -> Result<Vec<DueJob>, sqlx::Error> {
    sqlx::query_as!(
        DueJob,
        r#"SELECT id AS "id: JobId", cron, timezone, overlap AS "overlap: Overlap",
                  next_run_at AS "occurrence!", now() AS "now!"
           FROM scraping_jobs
           WHERE enabled AND next_run_at <= now()
           ORDER BY next_run_at
           FOR UPDATE SKIP LOCKED
           LIMIT $1"#,
        limit
    )
    .fetch_all(ex)
    .await
}

/// How long until the earliest due occurrence of an enabled job (zero when one is due),
/// by the database's clock; `None` when no job has a schedule.
pub async fn until_next_due(
    ex: impl PgExecutor<'_>,
) -> Result<Option<std::time::Duration>, sqlx::Error> {
    let micros = sqlx::query_scalar!(
        // Not `greatest(min(…) - now(), '0')`: GREATEST skips NULLs, so with no schedule at
        // all it said "due now", and every host's scheduler looked again every 5 ms.
        r#"SELECT (extract(epoch FROM min(next_run_at) - now()) * 1000000)::bigint
           FROM scraping_jobs WHERE enabled AND next_run_at IS NOT NULL"#
    )
    .fetch_one(ex)
    .await?;
    Ok(micros.map(|m| std::time::Duration::from_micros(m.max(0) as u64)))
}

/// The schedule fired (a run was queued, or the occurrence skipped): note when, and
/// move on to the next occurrence.
pub async fn schedule_fired(
    ex: impl PgExecutor<'_>,
    id: JobId,
    next_run_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE scraping_jobs SET last_run_at = now(), next_run_at = $2 WHERE id = $1",
        id as JobId,
        next_run_at
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Stop a job's schedule without firing it (its expression no longer parses).
pub async fn clear_next_run(ex: impl PgExecutor<'_>, id: JobId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE scraping_jobs SET next_run_at = NULL WHERE id = $1",
        id as JobId
    )
    .execute(ex)
    .await?;
    Ok(())
}
