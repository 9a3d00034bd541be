//! Exports: queued by the API, written by a worker through an exporter plugin, expired
//! and deleted by the janitor. Every write a worker makes names the export's lease token,
//! so a worker that lost its claim changes nothing.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{ExportId, JobId, PluginId, RunId, UserId};
use crate::model::ExportStatus;

/// `$head`, an export row's columns, then `$tail`, as an [`ExportRow`] query (a `SELECT`,
/// or a statement `RETURNING` them): the column list once.
macro_rules! export_rows {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ExportRow,
            $head + r#" id AS "id: ExportId", owner_id AS "owner_id: UserId", run_id AS "run_id: RunId",
                      job_id AS "job_id!: JobId",
                      plugin_id AS "plugin_id: PluginId", options, filters, status AS "status: ExportStatus",
                      row_count, size_bytes, media_type, file_extension, storage_key, storage_backend,
                      file_name, error_code, error_message, created_at, finished_at, expires_at, ttl_secs,
                      lease_token, charged, credits_consumed "# + $tail
            $(, $arg)*
        )
    };
}

/// An export row.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: ExportId,
    pub owner_id: UserId,
    /// The run exported; `None` for a job export (every run of the job).
    pub run_id: Option<RunId>,
    /// The job exported, or the run's job.
    pub job_id: JobId,
    pub plugin_id: PluginId,
    pub options: serde_json::Value,
    pub filters: serde_json::Value,
    pub status: ExportStatus,
    pub row_count: i64,
    pub size_bytes: i64,
    pub media_type: Option<String>,
    pub file_extension: Option<String>,
    pub storage_key: Option<String>,
    pub storage_backend: Option<String>,
    pub file_name: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When its file and links stop (once written).
    pub expires_at: Option<DateTime<Utc>>,
    /// How long its file and links last once written.
    pub ttl_secs: i64,
    /// The current claim's token.
    pub lease_token: i64,
    /// Whether its price is taken from its owner's balance.
    pub charged: bool,
    /// What it was charged.
    pub credits_consumed: i64,
}

/// An export to queue.
#[derive(Debug)]
pub struct NewExport<'a> {
    pub owner: UserId,
    /// `None` exports every run of the job.
    pub run: Option<RunId>,
    pub job: JobId,
    pub plugin: PluginId,
    pub options: &'a serde_json::Value,
    pub filters: &'a serde_json::Value,
    pub ttl_secs: i64,
    pub charged: bool,
}

/// Queue an export. The caller has checked that the run or job is `owner`'s.
pub async fn create(ex: impl PgExecutor<'_>, new: NewExport<'_>) -> Result<ExportRow, sqlx::Error> {
    export_rows!(
        "INSERT INTO exports (id, owner_id, run_id, job_id, plugin_id, options, filters, ttl_secs, charged)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING",
        "",
        ExportId::new() as ExportId,
        new.owner as UserId,
        new.run as Option<RunId>,
        new.job as JobId,
        new.plugin as PluginId,
        new.options,
        new.filters,
        new.ttl_secs,
        new.charged
    )
    .fetch_one(ex)
    .await
}

/// One of `owner`'s exports.
pub async fn get(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: ExportId,
) -> Result<Option<ExportRow>, sqlx::Error> {
    export_rows!(
        "SELECT",
        "FROM exports WHERE id = $1 AND owner_id = $2",
        id as ExportId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// An export by id alone (for signed downloads, where the signature is the authority).
pub async fn get_any(
    ex: impl PgExecutor<'_>,
    id: ExportId,
) -> Result<Option<ExportRow>, sqlx::Error> {
    export_rows!("SELECT", "FROM exports WHERE id = $1", id as ExportId)
        .fetch_optional(ex)
        .await
}

/// `owner`'s exports, newest first, optionally of one run or one job; deleted ones left out.
pub async fn list(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    run: Option<RunId>,
    job: Option<JobId>,
    before: Option<ExportId>,
    limit: i64,
) -> Result<Vec<ExportRow>, sqlx::Error> {
    export_rows!(
        "SELECT",
        "FROM exports WHERE owner_id = $1 AND status <> 'deleted'
           AND ($2::uuid IS NULL OR run_id = $2) AND ($3::uuid IS NULL OR job_id = $3)
           AND ($4::uuid IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
        owner as UserId,
        run as Option<RunId>,
        job as Option<JobId>,
        before as Option<ExportId>,
        limit
    )
    .fetch_all(ex)
    .await
}

/// Claim the oldest queued export, or one whose worker's lease lapsed; the claim raises
/// its token.
pub async fn claim_next(
    ex: impl PgExecutor<'_>,
    worker: &str,
    lease_secs: f64,
) -> Result<Option<ExportRow>, sqlx::Error> {
    export_rows!(
        "UPDATE exports SET status = 'running', lease_owner = $1, lease_expires_at = now() + $2 * interval '1 second',
                lease_token = lease_token + 1, started_at = now(), updated_at = now(), row_count = 0, size_bytes = 0
         WHERE id = (SELECT id FROM exports
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

/// Extend an export's lease and record progress; false once the claim is no longer this
/// worker's (taken over, or the export was deleted).
pub async fn progress(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    token: i64,
    rows: i64,
    bytes: i64,
    lease_secs: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE exports SET row_count = $3, size_bytes = $4, lease_expires_at = now() + $5 * interval '1 second', updated_at = now()
           WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()"#,
        id as ExportId,
        token,
        rows,
        bytes,
        lease_secs
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A written export's file and what it cost.
#[derive(Debug)]
pub struct Written<'a> {
    pub rows: i64,
    pub bytes: i64,
    pub storage_key: &'a str,
    pub storage_backend: &'a str,
    pub media_type: &'a str,
    pub extension: &'a str,
    pub file_name: &'a str,
    pub credits: i64,
}

/// Record the key an attempt is about to write, before it writes it: a file being
/// written is never taken for an orphan, however long it takes (a bucket may date an
/// object from the start of its upload). False once the claim is not `token`'s.
pub async fn writing(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    token: i64,
    storage_key: &str,
    storage_backend: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE exports SET storage_key = $3, storage_backend = $4, updated_at = now()
           WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()"#,
        id as ExportId,
        token,
        storage_key,
        storage_backend
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark an export written; its expiry starts now. False once the claim is not `token`'s.
pub async fn succeed(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    token: i64,
    written: Written<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE exports SET status = 'succeeded', row_count = $3, size_bytes = $4, storage_key = $5,
                  storage_backend = $6, media_type = $7, file_extension = $8, file_name = $9,
                  credits_consumed = $10, finished_at = now(), updated_at = now(),
                  expires_at = now() + ttl_secs * interval '1 second',
                  lease_owner = NULL, lease_expires_at = NULL
           WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()"#,
        id as ExportId,
        token,
        written.rows,
        written.bytes,
        written.storage_key,
        written.storage_backend,
        written.media_type,
        written.extension,
        written.file_name,
        written.credits
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark an export failed (unless the claim is no longer `token`'s).
pub async fn fail(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    token: i64,
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    let message = crate::validate::storable_text(message);
    sqlx::query!(
        r#"UPDATE exports SET status = 'failed', error_code = $3, error_message = $4, finished_at = now(), updated_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL
           WHERE id = $1 AND lease_token = $2 AND status = 'running'"#,
        id as ExportId,
        token,
        code,
        message.as_ref()
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Hand an export back to the queue (its writer is stopping), unless the claim moved on.
pub async fn release(ex: impl PgExecutor<'_>, id: ExportId, token: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE exports SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        id as ExportId,
        token
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Delete one of `owner`'s exports: its links stop at once (`link_revoked`) and a worker
/// writing it stops at its next batch. The file is removed by the caller or the janitor.
/// `None` when there is no such export of `owner`'s (or it was deleted already).
pub async fn delete(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: ExportId,
) -> Result<Option<ExportRow>, sqlx::Error> {
    export_rows!(
        "UPDATE exports SET status = 'deleted', deleted_at = now(), updated_at = now(),
                lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND owner_id = $2 AND status <> 'deleted'
         RETURNING",
        "",
        id as ExportId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// Expire written exports whose time is up; returns how many.
pub async fn expire_due(ex: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE exports SET status = 'expired', updated_at = now()
         WHERE status = 'succeeded' AND expires_at <= now()"
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// A file whose export expired or was deleted, still to remove.
#[derive(Debug)]
pub struct Leftover {
    pub id: ExportId,
    pub storage_key: String,
    pub storage_backend: Option<String>,
}

/// Files of expired, deleted and failed exports not removed yet (a failed attempt's key
/// names a file only if its host died between completing the upload and recording it),
/// on the `backends` named.
pub async fn leftovers(
    ex: impl PgExecutor<'_>,
    backends: &[String],
    limit: i64,
) -> Result<Vec<Leftover>, sqlx::Error> {
    sqlx::query_as!(
        Leftover,
        r#"SELECT id AS "id: ExportId", storage_key AS "storage_key!", storage_backend FROM exports
           WHERE status IN ('expired', 'deleted', 'failed') AND storage_key IS NOT NULL
             AND coalesce(storage_backend, 'local') = ANY($1)
           ORDER BY updated_at LIMIT $2"#,
        backends,
        limit
    )
    .fetch_all(ex)
    .await
}

/// Record that an expired, deleted or failed export's file is gone.
pub async fn forget_file(ex: impl PgExecutor<'_>, id: ExportId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE exports SET storage_key = NULL WHERE id = $1 AND status IN ('expired', 'deleted', 'failed')",
        id as ExportId
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Which of `keys` some export row names (whatever its state): the rest are files no
/// export owns, left by a host that died between writing a file and recording it.
pub async fn known_keys(
    ex: impl PgExecutor<'_>,
    keys: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT storage_key AS "k!" FROM exports WHERE storage_key = ANY($1)"#,
        keys
    )
    .fetch_all(ex)
    .await
}
