//! Exports: queued by the API, written by a worker through an exporter plugin.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{ExportId, PluginId, RunId, UserId};
use crate::model::ExportStatus;

/// `$head`, an export row's columns, then `$tail`, as an [`ExportRow`] query (a `SELECT`,
/// or a statement `RETURNING` them): the column list once.
macro_rules! export_rows {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ExportRow,
            $head + r#" id AS "id: ExportId", owner_id AS "owner_id: UserId", run_id AS "run_id: RunId",
                      plugin_id AS "plugin_id: PluginId", options, status AS "status: ExportStatus",
                      row_count, size_bytes, media_type, file_extension, storage_key, error_code,
                      error_message, created_at, finished_at, charged, credits_consumed "# + $tail
            $(, $arg)*
        )
    };
}

/// An export row.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: ExportId,
    pub owner_id: UserId,
    pub run_id: RunId,
    pub plugin_id: PluginId,
    pub options: serde_json::Value,
    pub status: ExportStatus,
    pub row_count: i64,
    pub size_bytes: i64,
    pub media_type: Option<String>,
    pub file_extension: Option<String>,
    pub storage_key: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether its price is taken from its owner's balance.
    pub charged: bool,
    /// What it was charged.
    pub credits_consumed: i64,
}

/// Queue an export of `owner`'s run. `None` when the run is not `owner`'s.
pub async fn create(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    run: RunId,
    plugin: PluginId,
    options: &serde_json::Value,
    charged: bool,
) -> Result<Option<ExportRow>, sqlx::Error> {
    export_rows!(
        "INSERT INTO exports (id, owner_id, run_id, plugin_id, options, charged)
         SELECT $1, r.owner_id, r.id, $4, $5, $6 FROM runs r
         WHERE r.id = $3 AND r.owner_id = $2 AND r.pruned_at IS NULL
         RETURNING",
        "",
        ExportId::new() as ExportId,
        owner as UserId,
        run as RunId,
        plugin as PluginId,
        options,
        charged
    )
    .fetch_optional(ex)
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

/// Claim the oldest queued export, or one whose worker's lease lapsed.
pub async fn claim_next(
    ex: impl PgExecutor<'_>,
    worker: &str,
    lease_secs: f64,
) -> Result<Option<ExportRow>, sqlx::Error> {
    export_rows!(
        "UPDATE exports SET status = 'running', lease_owner = $1, lease_expires_at = now() + $2 * interval '1 second',
                started_at = now(), updated_at = now(), row_count = 0, size_bytes = 0
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

/// Extend an export's lease and record progress.
pub async fn progress(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    worker: &str,
    rows: i64,
    bytes: i64,
    lease_secs: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE exports SET row_count = $3, size_bytes = $4, lease_expires_at = now() + $5 * interval '1 second', updated_at = now()
           WHERE id = $1 AND lease_owner = $2 AND status = 'running'"#,
        id as ExportId,
        worker,
        rows,
        bytes,
        lease_secs
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark an export written.
#[allow(clippy::too_many_arguments)]
pub async fn succeed(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    worker: &str,
    rows: i64,
    bytes: i64,
    storage_key: &str,
    media_type: &str,
    extension: &str,
    credits: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE exports SET status = 'succeeded', row_count = $3, size_bytes = $4, storage_key = $5, media_type = $6,
                  file_extension = $7, credits_consumed = $8, finished_at = now(), updated_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL
           WHERE id = $1 AND lease_owner = $2 AND status = 'running'"#,
        id as ExportId,
        worker,
        rows,
        bytes,
        storage_key,
        media_type,
        extension,
        credits
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark an export failed.
pub async fn fail(
    ex: impl PgExecutor<'_>,
    id: ExportId,
    worker: &str,
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    let message = crate::validate::storable_text(message);
    sqlx::query!(
        r#"UPDATE exports SET status = 'failed', error_code = $3, error_message = $4, finished_at = now(), updated_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL
           WHERE id = $1 AND lease_owner = $2 AND status = 'running'"#,
        id as ExportId,
        worker,
        code,
        message.as_ref()
    )
    .execute(ex)
    .await?;
    Ok(())
}
