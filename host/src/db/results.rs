//! Results: extracted items, deduplicated by content hash through a unique index.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{JobId, ResultId, RunId};
use crate::model::export::ExportFilters;

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
    pub field_meta: Option<serde_json::Value>,
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
    /// JSON object text of what the extractor said of each field, if it said anything.
    pub field_meta: Option<String>,
}

/// A run's results in id order, after the `after` cursor, those `filters` take (the
/// filters an export takes).
pub async fn list(
    ex: impl PgExecutor<'_>,
    run: RunId,
    filters: &ExportFilters,
    after: Option<ResultId>,
    limit: i64,
) -> Result<Vec<ResultRow>, sqlx::Error> {
    let like = filters.source_url_like();
    sqlx::query_as!(
        ResultRow,
        r#"SELECT id AS "id: ResultId", run_id AS "run_id: RunId", source_url, data, content_hash, confidence,
                  validation_errors, field_meta, created_at
           FROM results r
           WHERE run_id = $1 AND ($2::uuid IS NULL OR id > $2)
             AND ($4::float8 IS NULL OR coalesce(r.confidence, 1) >= $4)
             AND ($5::bool IS NULL OR (r.validation_errors IS NULL) = $5)
             AND ($6::text IS NULL OR r.source_url LIKE $6)
             AND ($7::timestamptz IS NULL OR r.created_at >= $7)
             AND ($8::timestamptz IS NULL OR r.created_at < $8)
           ORDER BY id LIMIT $3"#,
        run as RunId,
        after as Option<ResultId>,
        limit,
        filters.min_confidence,
        filters.valid,
        like,
        filters.since,
        filters.until,
    )
    .fetch_all(ex)
    .await
}

/// One result as an export reads it: its JSON text and what the extra columns need.
#[derive(Debug)]
pub struct ExportItem {
    pub id: ResultId,
    pub data: String,
    pub source_url: String,
    pub confidence: Option<f32>,
    pub validation_errors: Option<String>,
    pub field_meta: Option<String>,
}

/// What an export reads: one run, or every run of a job with each item once.
#[derive(Debug, Clone, Copy)]
pub enum ExportScope {
    Run(RunId),
    Job(JobId),
}

/// A batch of an export's results in id order after `after`: keyset pagination keeps
/// memory flat and holds no long transaction. A job export keeps the first of each item
/// (by content hash) among the results its filters take, so an item stored by several
/// runs is exported once.
pub async fn export_batch(
    ex: impl PgExecutor<'_>,
    scope: ExportScope,
    filters: &ExportFilters,
    after: Option<ResultId>,
    limit: i64,
) -> Result<Vec<ExportItem>, sqlx::Error> {
    let like = filters.source_url_like();
    match scope {
        ExportScope::Run(run) => {
            sqlx::query_as!(
                ExportItem,
                r#"SELECT id AS "id: ResultId", data::text AS "data!", source_url, confidence,
                          validation_errors::text AS validation_errors, field_meta::text AS field_meta
                   FROM results r
                   WHERE run_id = $1 AND ($2::uuid IS NULL OR id > $2)
                     AND ($3::float8 IS NULL OR coalesce(r.confidence, 1) >= $3)
                     AND ($4::bool IS NULL OR (r.validation_errors IS NULL) = $4)
                     AND ($5::text IS NULL OR r.source_url LIKE $5)
                     AND ($6::timestamptz IS NULL OR r.created_at >= $6)
                     AND ($7::timestamptz IS NULL OR r.created_at < $7)
                   ORDER BY id LIMIT $8"#,
                run as RunId,
                after as Option<ResultId>,
                filters.min_confidence,
                filters.valid,
                like,
                filters.since,
                filters.until,
                limit
            )
            .fetch_all(ex)
            .await
        }
        ExportScope::Job(job) => {
            sqlx::query_as!(
                ExportItem,
                r#"SELECT id AS "id: ResultId", data::text AS "data!", source_url, confidence,
                          validation_errors::text AS validation_errors, field_meta::text AS field_meta
                   FROM results r
                   WHERE job_id = $1 AND ($2::uuid IS NULL OR id > $2)
                     AND ($3::float8 IS NULL OR coalesce(r.confidence, 1) >= $3)
                     AND ($4::bool IS NULL OR (r.validation_errors IS NULL) = $4)
                     AND ($5::text IS NULL OR r.source_url LIKE $5)
                     AND ($6::timestamptz IS NULL OR r.created_at >= $6)
                     AND ($7::timestamptz IS NULL OR r.created_at < $7)
                     AND NOT EXISTS (
                         SELECT 1 FROM results o
                         WHERE o.job_id = r.job_id AND o.content_hash = r.content_hash AND o.id < r.id
                           AND ($3::float8 IS NULL OR coalesce(o.confidence, 1) >= $3)
                           AND ($4::bool IS NULL OR (o.validation_errors IS NULL) = $4)
                           AND ($5::text IS NULL OR o.source_url LIKE $5)
                           AND ($6::timestamptz IS NULL OR o.created_at >= $6)
                           AND ($7::timestamptz IS NULL OR o.created_at < $7))
                   ORDER BY id LIMIT $8"#,
                job as JobId,
                after as Option<ResultId>,
                filters.min_confidence,
                filters.valid,
                like,
                filters.since,
                filters.until,
                limit
            )
            .fetch_all(ex)
            .await
        }
    }
}
