//! The per-run frontier and the record of each page visited (`run_pages`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::RunId;

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

/// Take up to `limit` pending URLs (oldest first) and mark them in flight.
pub async fn take_pending(
    ex: impl PgExecutor<'_>,
    run: RunId,
    limit: i64,
) -> Result<Vec<(String, i32)>, sqlx::Error> {
    let rows = sqlx::query!(
        // A CTE runs once: a LIMIT inside `IN (…)` may be rescanned and hand out more.
        r#"WITH picked AS (SELECT url FROM run_pages WHERE run_id = $1 AND state = 'pending'
                          ORDER BY created_at, url LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE run_pages p SET state = 'fetching', updated_at = now()
           FROM picked WHERE p.run_id = $1 AND p.url = picked.url
           RETURNING p.url, p.depth"#,
        run as RunId,
        limit
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(|r| (r.url, r.depth)).collect())
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
    pub seq: i64,
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

/// A run's pages in enqueue order after the `after` cursor, optionally in one state.
pub async fn list(
    ex: impl PgExecutor<'_>,
    run: RunId,
    state: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    sqlx::query_as!(
        PageRow,
        r#"SELECT seq, url, depth, state, final_url, http_status, content_type, bytes, items, elapsed_ms, attempts,
                  error_code, error_message, created_at, updated_at
           FROM run_pages
           WHERE run_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::bigint IS NULL OR seq > $3)
           ORDER BY seq LIMIT $4"#,
        run as RunId,
        state,
        after,
        limit
    )
    .fetch_all(ex)
    .await
}
