//! The per-run frontier and the record of each page visited (`run_pages`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::db::results::NewResult;
use crate::ids::{JobId, ResultId, RunId};

/// Add URLs to a run's frontier; URLs already there are ignored. Returns how many were new.
pub async fn enqueue(
    ex: impl PgExecutor<'_>,
    run: RunId,
    urls: &[String],
    depth: i32,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"INSERT INTO run_pages (run_id, url, depth)
           SELECT $1, u, $3 FROM unnest($2::text[]) AS u
           ON CONFLICT (run_id, url) DO NOTHING"#,
        run as RunId,
        urls,
        depth
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Up to `limit` pending URLs enqueued after `after` (a `seq`; 0 for all), oldest first.
/// Returns (url, depth, seq).
///
/// Nothing is written: the worker holding the run's lease is the only one taking from its
/// frontier, and it asks only after the highest `seq` it took, so a page in flight is not
/// handed out twice. Marking pages in flight cost a row version, index entries and WAL
/// per page, for nothing a crash needs: a page not recorded as visited is fetched again
/// either way. Starting after `seq` also skips the dead entries that visited pages leave
/// at the front of the pending index until a vacuum. Callers look once more from 0
/// before deciding the frontier is empty, so a page whose enqueueing committed out of
/// `seq` order is taken late, never lost.
pub async fn take_pending(
    ex: impl PgExecutor<'_>,
    run: RunId,
    limit: i64,
    after: i64,
) -> Result<Vec<(String, i32, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT url, depth, seq FROM run_pages
           WHERE run_id = $1 AND state = 'pending' AND seq > $3
           ORDER BY seq LIMIT $2"#,
        run as RunId,
        limit,
        after
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| (r.url, r.depth, r.seq)).collect())
}

/// Put pages left in flight by a worker that stopped back into the frontier.
pub async fn requeue_in_flight(ex: impl PgExecutor<'_>, run: RunId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE run_pages SET state = 'pending' WHERE run_id = $1 AND state = 'fetching'",
        run as RunId
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// How many pages of the run were visited (or are in flight).
pub async fn visited(ex: impl PgExecutor<'_>, run: RunId) -> Result<i64, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "n!" FROM run_pages WHERE run_id = $1 AND state <> 'pending'"#,
        run as RunId
    )
    .fetch_one(ex)
    .await?;
    Ok(row.n)
}

/// What happened to one page.
#[derive(Debug, Default)]
pub struct Outcome<'a> {
    pub state: &'a str,
    pub final_url: Option<&'a str>,
    pub http_status: Option<i32>,
    pub bytes: Option<i64>,
    pub items: Option<i32>,
    pub elapsed_ms: Option<i32>,
    /// Requests sent for the page (0 when it was skipped before any).
    pub attempts: i32,
    pub content_type: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
}

/// Record a page's outcome.
pub async fn record(
    ex: impl PgExecutor<'_>,
    run: RunId,
    url: &str,
    o: &Outcome<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE run_pages SET state = $3, final_url = $4, http_status = $5, bytes = $6, items = $7, elapsed_ms = $8,
                  error_code = $9, error_message = $10, attempts = $11, content_type = $12, updated_at = now()
           WHERE run_id = $1 AND url = $2"#,
        run as RunId,
        url,
        o.state,
        o.final_url,
        o.http_status,
        o.bytes,
        o.items,
        o.elapsed_ms,
        o.error_code,
        o.error_message,
        o.attempts,
        o.content_type
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A page of a run as the API lists it.
#[derive(Debug)]
pub struct PageRow {
    pub url: String,
    pub depth: i32,
    pub state: String,
    pub final_url: Option<String>,
    pub http_status: Option<i32>,
    pub content_type: Option<String>,
    pub bytes: Option<i64>,
    pub items: Option<i32>,
    pub elapsed_ms: Option<i32>,
    pub attempts: i32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A run's pages in URL order (the primary key's) after the `after` URL, optionally in
/// one state.
pub async fn list(
    ex: impl PgExecutor<'_>,
    run: RunId,
    state: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    sqlx::query_as!(
        PageRow,
        r#"SELECT url, depth, state, final_url, http_status, content_type, bytes, items, elapsed_ms, attempts,
                  error_code, error_message, created_at, updated_at
           FROM run_pages
           WHERE run_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR url > $3)
           ORDER BY url LIMIT $4"#,
        run as RunId,
        state,
        after,
        limit
    )
    .fetch_all(ex)
    .await
}

/// What a fetched and extracted page adds: its items and the next pages.
#[derive(Debug)]
pub struct Done<'a> {
    pub job: JobId,
    /// The run or the job, by the job's dedup scope (see `results`).
    pub dedup_key: uuid::Uuid,
    pub items: &'a [NewResult],
    pub next: &'a [String],
    pub next_depth: i32,
}

/// Store a visited page's new items (deduplicated like `results::insert_batch`), add its
/// next pages to the frontier and record its outcome, in one statement: one round trip
/// and one commit per page instead of three, which is most of what a page costs the
/// database. Returns how many items were new.
pub async fn complete(
    ex: impl PgExecutor<'_>,
    run: RunId,
    url: &str,
    done: &Done<'_>,
    o: &Outcome<'_>,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = done.items.iter().map(|_| ResultId::new().0).collect();
    let data: Vec<&str> = done.items.iter().map(|i| i.data.as_str()).collect();
    let hashes: Vec<&[u8]> = done
        .items
        .iter()
        .map(|i| i.content_hash.as_slice())
        .collect();
    let confidence: Vec<Option<f32>> = done.items.iter().map(|i| i.confidence).collect();
    let errors: Vec<Option<&str>> = done
        .items
        .iter()
        .map(|i| i.validation_errors.as_deref())
        .collect();
    let row = sqlx::query!(
        r#"WITH stored AS (
               INSERT INTO results (id, run_id, job_id, dedup_key, source_url, data, content_hash, confidence, validation_errors)
               SELECT t.id, $1, $2, $3, $4, t.data::jsonb, t.hash, t.confidence, t.errors::jsonb
               FROM unnest($5::uuid[], $6::text[], $7::bytea[], $8::real[], $9::text[])
                    AS t(id, data, hash, confidence, errors)
               ON CONFLICT (dedup_key, content_hash) DO NOTHING
               RETURNING 1
           ), queued AS (
               INSERT INTO run_pages (run_id, url, depth)
               SELECT $1, u, $11 FROM unnest($10::text[]) AS u
               ON CONFLICT (run_id, url) DO NOTHING
           ), recorded AS (
               UPDATE run_pages SET state = $13, final_url = $4, http_status = $14, bytes = $15, items = $16,
                      elapsed_ms = $17, error_code = $18, error_message = $19, attempts = $20, content_type = $21,
                      updated_at = now()
               WHERE run_id = $1 AND url = $12
           )
           SELECT count(*) AS "stored!" FROM stored"#,
        run as RunId,
        done.job as JobId,
        done.dedup_key,
        o.final_url.unwrap_or(url),
        &ids,
        &data as &[&str],
        &hashes as &[&[u8]],
        &confidence as &[Option<f32>],
        &errors as &[Option<&str>],
        done.next,
        done.next_depth,
        url,
        o.state,
        o.http_status,
        o.bytes,
        o.items,
        o.elapsed_ms,
        o.error_code,
        o.error_message,
        o.attempts,
        o.content_type
    )
    .fetch_one(ex)
    .await?;
    Ok(u64::try_from(row.stored).unwrap_or(0))
}
