//! Results: extracted items, deduplicated by content hash through a unique index.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{ResultId, RunId};

/// A stored item.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub id: ResultId,
    pub run_id: RunId,
    pub source_url: String,
    pub data: serde_json::Value,
    pub content_hash: Vec<u8>,
    pub confidence: Option<f32>,
    pub validation_errors: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// One item ready to store.
#[derive(Debug)]
pub struct NewResult {
    /// Canonical JSON text of the item.
    pub data: String,
    pub content_hash: Vec<u8>,
    pub confidence: Option<f32>,
    /// JSON array text of validation errors (lenient mode), if any.
    pub validation_errors: Option<String>,
}

/// A run's results in id order, after the `after` cursor.
pub async fn list(
    ex: impl PgExecutor<'_>,
    run: RunId,
    after: Option<ResultId>,
    limit: i64,
) -> Result<Vec<ResultRow>, sqlx::Error> {
    sqlx::query_as!(
        ResultRow,
        r#"SELECT id AS "id: ResultId", run_id AS "run_id: RunId", source_url, data, content_hash, confidence,
                  validation_errors, created_at
           FROM results WHERE run_id = $1 AND ($2::uuid IS NULL OR id > $2)
           ORDER BY id LIMIT $3"#,
        run as RunId,
        after as Option<ResultId>,
        limit
    )
    .fetch_all(ex)
    .await
}

/// A batch of a run's items as JSON text, for exports: keyset pagination keeps memory flat
/// and holds no long transaction.
pub async fn data_batch(
    ex: impl PgExecutor<'_>,
    run: RunId,
    after: Option<ResultId>,
    limit: i64,
) -> Result<Vec<(ResultId, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: ResultId", data::text AS "data!" FROM results
           WHERE run_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"#,
        run as RunId,
        after as Option<ResultId>,
        limit
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.data)).collect())
}
