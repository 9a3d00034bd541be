//! The per-run frontier and the record of each page visited (`run_pages`).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::db::results::NewResult;
use crate::db::runs::Lease;
use crate::ids::{JobId, ResultId, RunId};
use crate::model::PageState;

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

/// Add a run's start URLs to its frontier under the worker's fence. Returns false when the
/// lease is lost (nothing was added).
pub async fn enqueue_start(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    urls: &[String],
) -> Result<bool, sqlx::Error> {
    let held = sqlx::query_scalar!(
        r#"WITH fence AS (
               SELECT id FROM runs
               WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()
               FOR SHARE
           ), added AS (
               INSERT INTO run_pages (run_id, url, depth)
               SELECT fence.id, u, 0 FROM fence, unnest($3::text[]) AS u
               ON CONFLICT (run_id, url) DO NOTHING
           )
           SELECT count(*) AS "held!" FROM fence"#,
        lease.run as RunId,
        lease.token,
        urls
    )
    .fetch_one(ex)
    .await?;
    Ok(held == 1)
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
    pub state: PageState,
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
    /// Plugin fuel the page burnt.
    pub fuel: i64,
}

/// Record a page's outcome under the worker's fence. False when the lease is lost
/// (nothing was written).
pub async fn record(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    url: &str,
    o: &Outcome<'_>,
) -> Result<bool, sqlx::Error> {
    let message = o.error_message.map(crate::validate::storable_text);
    let done = sqlx::query!(
        r#"UPDATE run_pages SET state = $3, final_url = $4, http_status = $5, bytes = $6, items = $7, elapsed_ms = $8,
                  error_code = $9, error_message = $10, attempts = $11, content_type = $12, fuel = $14,
                  updated_at = now()
           WHERE run_id = $1 AND url = $2
             AND EXISTS (SELECT 1 FROM runs
                         WHERE id = $1 AND lease_token = $13 AND status = 'running' AND lease_expires_at > now()
                         FOR SHARE)"#,
        lease.run as RunId,
        url,
        o.state as PageState,
        o.final_url,
        o.http_status,
        o.bytes,
        o.items,
        o.elapsed_ms,
        o.error_code,
        message.as_deref(),
        o.attempts,
        o.content_type,
        lease.token,
        o.fuel
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A page of a run as the API lists it.
#[derive(Debug)]
pub struct PageRow {
    pub url: String,
    pub depth: i32,
    pub state: PageState,
    pub final_url: Option<String>,
    pub http_status: Option<i32>,
    pub content_type: Option<String>,
    pub bytes: Option<i64>,
    pub items: Option<i32>,
    pub items_invalid: i32,
    pub items_empty: i32,
    pub item_problems: Option<serde_json::Value>,
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
    state: Option<PageState>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    sqlx::query_as!(
        PageRow,
        r#"SELECT url, depth, state AS "state: PageState", final_url, http_status, content_type, bytes, items, items_invalid,
                  items_empty, item_problems, elapsed_ms, attempts, error_code, error_message, created_at, updated_at
           FROM run_pages
           WHERE run_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR url > $3)
           ORDER BY url LIMIT $4"#,
        run as RunId,
        state.map(PageState::as_str),
        after,
        limit
    )
    .fetch_all(ex)
    .await
}

/// A fetched and extracted page, as the page writer stores it: its outcome, its items and
/// the next pages it found.
#[derive(Debug)]
pub struct DonePage {
    /// The URL as enqueued.
    pub url: String,
    /// After redirects: the items' source URL.
    pub final_url: String,
    pub http_status: i32,
    pub bytes: i64,
    pub items: i32,
    /// Items that broke the schema or could not be read.
    pub items_invalid: i32,
    /// Items in which no property was found.
    pub items_empty: i32,
    /// The first item issues, as a JSON array (none when there were none).
    pub item_problems: Option<String>,
    pub elapsed_ms: i32,
    pub attempts: i32,
    pub content_type: Option<String>,
    /// Plugin fuel the extraction burnt.
    pub fuel: i64,
    /// Items to store, deduplicated by content hash under the batch's `dedup_key`.
    pub rows: Vec<NewResult>,
    /// Pages to add to the frontier, at `next_depth`.
    pub next: Vec<String>,
    pub next_depth: i32,
}

/// Store a batch of visited pages in one statement: their new items (those whose content
/// hash is already stored under `dedup_key`, the run or the job by the job's dedup scope,
/// are skipped), their next pages in the frontier and their outcomes. One statement for the
/// batch instead of one per page: PostgreSQL's cost per statement (executor set-up of
/// three data-modifying CTEs) was most of what a page cost it. Returns, for each page in
/// order, how many of its items were new.
///
/// Call it inside a transaction that holds the run's fence ([`crate::db::runs::hold`]).
pub async fn complete_batch(
    ex: impl PgExecutor<'_>,
    run: RunId,
    job: JobId,
    dedup_key: uuid::Uuid,
    pages: &[&DonePage],
) -> Result<Vec<u64>, sqlx::Error> {
    let rows = pages.iter().map(|p| p.rows.len()).sum();
    let mut ids = Vec::with_capacity(rows);
    let mut owner = Vec::with_capacity(rows);
    // Each row's page, numbered from 1 as `WITH ORDINALITY` numbers the pages.
    let mut page_no: Vec<i32> = Vec::with_capacity(rows);
    let mut sources = Vec::with_capacity(rows);
    let mut data = Vec::with_capacity(rows);
    let mut hashes = Vec::with_capacity(rows);
    let mut confidence = Vec::with_capacity(rows);
    let mut errors = Vec::with_capacity(rows);
    let mut field_meta = Vec::with_capacity(rows);
    let mut next = Vec::new();
    let mut next_depth = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        for item in &page.rows {
            ids.push(ResultId::new().0);
            owner.push(index);
            page_no.push(index as i32 + 1);
            sources.push(page.final_url.as_str());
            data.push(item.data.as_str());
            hashes.push(item.content_hash.as_slice());
            confidence.push(item.confidence);
            errors.push(item.validation_errors.as_deref());
            field_meta.push(item.field_meta.as_deref());
        }
        next.extend(page.next.iter().map(String::as_str));
        next_depth.extend(page.next.iter().map(|_| page.next_depth));
    }
    let urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
    let final_urls: Vec<&str> = pages.iter().map(|p| p.final_url.as_str()).collect();
    let statuses: Vec<i32> = pages.iter().map(|p| p.http_status).collect();
    let bytes: Vec<i64> = pages.iter().map(|p| p.bytes).collect();
    let items: Vec<i32> = pages.iter().map(|p| p.items).collect();
    let invalid: Vec<i32> = pages.iter().map(|p| p.items_invalid).collect();
    let empty: Vec<i32> = pages.iter().map(|p| p.items_empty).collect();
    let problems: Vec<Option<&str>> = pages.iter().map(|p| p.item_problems.as_deref()).collect();
    let elapsed: Vec<i32> = pages.iter().map(|p| p.elapsed_ms).collect();
    let attempts: Vec<i32> = pages.iter().map(|p| p.attempts).collect();
    let content_types: Vec<Option<&str>> =
        pages.iter().map(|p| p.content_type.as_deref()).collect();
    let candidates: Vec<i32> = pages
        .iter()
        .map(|p| i32::try_from(p.rows.len()).unwrap_or(i32::MAX))
        .collect();
    let fuel: Vec<i64> = pages.iter().map(|p| p.fuel).collect();
    let stored = sqlx::query_scalar!(
        r#"WITH stored AS (
               INSERT INTO results (id, run_id, job_id, dedup_key, source_url, data, content_hash, confidence, validation_errors, field_meta)
               SELECT t.id, $1, $2, $3, t.source, t.data::jsonb, t.hash, t.confidence, t.errors::jsonb, t.meta::jsonb
               FROM unnest($4::uuid[], $5::text[], $6::text[], $7::bytea[], $8::real[], $9::text[], $26::text[])
                    AS t(id, source, data, hash, confidence, errors, meta)
               ON CONFLICT (dedup_key, content_hash) DO NOTHING
               RETURNING id
           ), counted AS (
               -- New items per page: what the page adds to items_new; its other rows
               -- were duplicates.
               SELECT m.page, count(*) AS n
               FROM stored JOIN unnest($4::uuid[], $23::int[]) AS m(id, page) ON m.id = stored.id
               GROUP BY m.page
           ), queued AS (
               INSERT INTO run_pages (run_id, url, depth)
               SELECT $1, q.url, q.depth FROM unnest($10::text[], $11::int[]) AS q(url, depth)
               WHERE q.url <> ALL($12::text[])
               ON CONFLICT (run_id, url) DO NOTHING
           ), recorded AS (
               -- An upsert on rows that exist: its conflict check probes the primary key
               -- for each page, where an UPDATE joined to the list was planned, on a young
               -- run's statistics, as a scan of every page of the run.
               INSERT INTO run_pages (run_id, url, state, final_url, http_status, bytes, items,
                                      elapsed_ms, attempts, content_type, items_invalid, items_empty,
                                      item_problems, items_new, items_duplicate, fuel)
               SELECT $1, p.url, 'done', p.final_url, p.status, p.bytes, p.items, p.elapsed,
                      p.attempts, p.content_type, p.invalid, p.empty, p.problems::jsonb,
                      coalesce((SELECT n FROM counted WHERE counted.page = p.ord), 0),
                      p.candidates - coalesce((SELECT n FROM counted WHERE counted.page = p.ord), 0),
                      p.fuel
               FROM unnest($12::text[], $13::text[], $14::int[], $15::bigint[], $16::int[], $17::int[],
                           $18::int[], $19::text[], $20::int[], $21::int[], $22::text[], $24::int[],
                           $25::bigint[]) WITH ORDINALITY
                    AS p(url, final_url, status, bytes, items, elapsed, attempts, content_type,
                         invalid, empty, problems, candidates, fuel, ord)
               ON CONFLICT (run_id, url) DO UPDATE
               SET state = EXCLUDED.state, final_url = EXCLUDED.final_url,
                   http_status = EXCLUDED.http_status, bytes = EXCLUDED.bytes, items = EXCLUDED.items,
                   elapsed_ms = EXCLUDED.elapsed_ms, attempts = EXCLUDED.attempts,
                   content_type = EXCLUDED.content_type, items_invalid = EXCLUDED.items_invalid,
                   items_empty = EXCLUDED.items_empty, item_problems = EXCLUDED.item_problems,
                   items_new = EXCLUDED.items_new, items_duplicate = EXCLUDED.items_duplicate,
                   fuel = EXCLUDED.fuel, error_code = NULL, error_message = NULL, updated_at = now()
           )
           SELECT id AS "id!" FROM stored"#,
        run as RunId,
        job as JobId,
        dedup_key,
        &ids,
        &sources as &[&str],
        &data as &[&str],
        &hashes as &[&[u8]],
        &confidence as &[Option<f32>],
        &errors as &[Option<&str>],
        &next as &[&str],
        &next_depth,
        &urls as &[&str],
        &final_urls as &[&str],
        &statuses,
        &bytes,
        &items,
        &elapsed,
        &attempts,
        &content_types as &[Option<&str>],
        &invalid,
        &empty,
        &problems as &[Option<&str>],
        &page_no,
        &candidates,
        &fuel,
        &field_meta as &[Option<&str>],
    )
    .fetch_all(ex)
    .await?;
    // The ids were made here: each stored one counts for the page it came from.
    let stored: std::collections::HashSet<uuid::Uuid> = stored.into_iter().collect();
    let mut counts = vec![0u64; pages.len()];
    for (id, page) in ids.iter().zip(owner) {
        if stored.contains(id) {
            counts[page] += 1;
        }
    }
    Ok(counts)
}

/// Record pages that were fetched and extracted but not stored, because the run could not
/// pay for them (`code`: `credits_exhausted` or `credit_cap_reached`), as skipped. Call it
/// inside a transaction that holds the run's fence.
pub async fn skip_unpaid(
    ex: impl PgExecutor<'_>,
    run: RunId,
    urls: &[&str],
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE run_pages SET state = 'skipped', error_code = $3, error_message = $4, updated_at = now()
           WHERE run_id = $1 AND url = ANY($2) AND state = 'pending'"#,
        run as RunId,
        urls as &[&str],
        code,
        message
    )
    .execute(ex)
    .await?;
    Ok(())
}
