//! Run logs: what plugins logged during a run, with the page they were on.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::db::runs::Lease;
use crate::ids::RunId;

/// A log line.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LogRow {
    /// Id (also the cursor).
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// `trace` … `error`.
    pub level: String,
    /// What was said.
    pub message: String,
    /// The page the plugin was working on.
    pub page_url: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Append lines (level, message) from one page, under the worker's fence (nothing is
/// written once the lease is lost).
pub async fn insert(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    page_url: Option<&str>,
    lines: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    if lines.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = lines.iter().map(|_| Uuid::now_v7()).collect();
    let levels: Vec<&str> = lines.iter().map(|l| l.0).collect();
    let messages: Vec<std::borrow::Cow<'_, str>> = lines
        .iter()
        .map(|l| crate::validate::storable_text(l.1))
        .collect();
    let messages: Vec<&str> = messages.iter().map(|m| m.as_ref()).collect();
    sqlx::query!(
        r#"INSERT INTO run_logs (id, run_id, level, message, page_url)
           SELECT t.id, $2, t.level, t.message, $3
           FROM unnest($1::uuid[], $4::text[], $5::text[]) AS t(id, level, message)
           WHERE EXISTS (SELECT 1 FROM runs
                         WHERE id = $2 AND lease_token = $6 AND status = 'running' AND lease_expires_at > now()
                         FOR SHARE)"#,
        &ids,
        lease.run as RunId,
        page_url,
        &levels as &[&str],
        &messages as &[&str],
        lease.token
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A run's log lines in order, after the `after` cursor.
pub async fn list(
    ex: impl PgExecutor<'_>,
    run: RunId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<LogRow>, sqlx::Error> {
    sqlx::query_as!(
        LogRow,
        r#"SELECT id, level, message, page_url, created_at FROM run_logs
           WHERE run_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"#,
        run as RunId,
        after,
        limit
    )
    .fetch_all(ex)
    .await
}
