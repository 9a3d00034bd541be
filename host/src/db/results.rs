//! Results: extracted items, deduplicated by content hash through a unique index.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{JobId, ResultId, RunId};

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

/// Store a page's items; those whose hash is already stored under `dedup_key` are skipped.
/// Returns how many were new.
pub async fn insert_batch(
    ex: impl PgExecutor<'_>,
    run: RunId,
    job: JobId,
    dedup_key: uuid::Uuid,
    source_url: &str,
    items: &[NewResult],
) -> Result<u64, sqlx::Error> {
    if items.is_empty() {
        return Ok(0);
    }
    let ids: Vec<uuid::Uuid> = items.iter().map(|_| ResultId::new().0).collect();
    let data: Vec<&str> = items.iter().map(|i| i.data.as_str()).collect();
    let hashes: Vec<&[u8]> = items.iter().map(|i| i.content_hash.as_slice()).collect();
    let confidence: Vec<Option<f32>> = items.iter().map(|i| i.confidence).collect();
    let errors: Vec<Option<&str>> = items
        .iter()
        .map(|i| i.validation_errors.as_deref())
        .collect();
    let done = sqlx::query!(
        r#"INSERT INTO results (id, run_id, job_id, dedup_key, source_url, data, content_hash, confidence, validation_errors)
           SELECT t.id, $2, $3, $4, $5, t.data::jsonb, t.hash, t.confidence, t.errors::jsonb
           FROM unnest($1::uuid[], $6::text[], $7::bytea[], $8::real[], $9::text[])
                AS t(id, data, hash, confidence, errors)
           ON CONFLICT (dedup_key, content_hash) DO NOTHING"#,
        &ids,
        run as RunId,
        job as JobId,
        dedup_key,
        source_url,
        &data as &[&str],
        &hashes as &[&[u8]],
        &confidence as &[Option<f32>],
        &errors as &[Option<&str>]
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
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
