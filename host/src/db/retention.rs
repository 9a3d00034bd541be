//! Retention's queries: which ended runs may be pruned, the bounded deletes of their
//! pages, logs and results, the mark a pruned run keeps, and the lock that lets one host
//! prune at a time.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{JobId, RunId};

/// The advisory lock key of retention ("trawlret" in ASCII): one host prunes at a time.
const LOCK_KEY: i64 = 0x7472_6177_6c72_6574;

/// Take retention's lock for the session of `conn`, unless another session holds it.
pub async fn try_lock(conn: impl PgExecutor<'_>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, LOCK_KEY)
        .fetch_one(conn)
        .await
}

/// Give retention's lock back (on the session that took it).
pub async fn unlock(conn: impl PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_advisory_unlock($1) AS "unlocked!""#, LOCK_KEY)
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// An ended, unpruned run that no rule keeps.
#[derive(Debug, Clone, Copy)]
pub struct Prunable {
    pub id: RunId,
    pub job_id: JobId,
    pub finished_at: DateTime<Utc>,
}

/// Up to `limit` ended, unpruned runs, oldest ending first and after `after` (the last
/// one a pass saw), that neither rule keeps: `keep` (at least this many ended runs of the
/// same job ended after it; `None`: no such rule) and `max_age_secs` (it ended longer ago
/// than this; `None`: no such rule). With both rules `None` every ended run qualifies:
/// the caller decides that nothing is pruned then. A run with an export queued or being
/// written is left for a later pass, so no export reads half a run.
pub async fn prunable(
    ex: impl PgExecutor<'_>,
    keep: Option<i32>,
    max_age_secs: Option<f64>,
    after: Option<(DateTime<Utc>, RunId)>,
    limit: i64,
) -> Result<Vec<Prunable>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as!(
        Prunable,
        r#"SELECT r.id AS "id: RunId", r.job_id AS "job_id: JobId", r.finished_at AS "finished_at!"
           FROM runs r
           WHERE r.pruned_at IS NULL AND r.finished_at IS NOT NULL AND r.status NOT IN ('queued', 'running')
             AND ($3::timestamptz IS NULL OR (r.finished_at, r.id) > ($3, $4::uuid))
             AND ($2::float8 IS NULL OR r.finished_at < now() - $2 * interval '1 second')
             AND ($1::int4 IS NULL OR EXISTS (
                   SELECT 1 FROM runs n
                   WHERE n.job_id = r.job_id AND n.finished_at IS NOT NULL
                     AND n.status NOT IN ('queued', 'running')
                     AND (n.finished_at, n.id) > (r.finished_at, r.id)
                   OFFSET greatest($1 - 1, 0) LIMIT 1))
             AND NOT EXISTS (SELECT 1 FROM exports e WHERE e.run_id = r.id AND e.status IN ('queued', 'running'))
           ORDER BY r.finished_at, r.id
           LIMIT $5"#,
        keep,
        max_age_secs,
        after_at,
        after_id as Option<RunId>,
        limit
    )
    .fetch_all(ex)
    .await
}

/// Delete up to `limit` of a run's page records. Returns how many went.
pub async fn delete_pages(
    ex: impl PgExecutor<'_>,
    run: RunId,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM run_pages WHERE run_id = $1
             AND url IN (SELECT url FROM run_pages WHERE run_id = $1 LIMIT $2)"#,
        run as RunId,
        limit
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Delete up to `limit` of a run's log lines. Returns how many went.
pub async fn delete_logs(
    ex: impl PgExecutor<'_>,
    run: RunId,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM run_logs
           WHERE id IN (SELECT id FROM run_logs WHERE run_id = $1 ORDER BY id LIMIT $2)"#,
        run as RunId,
        limit
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Delete up to `limit` of a run's results that were deduplicated within the run alone.
/// Results stored under the job's key stay: incremental deduplication compares every
/// later run of the job against exactly those rows. Returns how many went.
pub async fn delete_results(
    ex: impl PgExecutor<'_>,
    run: RunId,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM results
           WHERE id IN (SELECT id FROM results WHERE run_id = $1 AND dedup_key = $1 ORDER BY id LIMIT $2)"#,
        run as RunId,
        limit
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Mark a run pruned (its row, counters and exports stay). False when it already was.
pub async fn mark_pruned(ex: impl PgExecutor<'_>, run: RunId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE runs SET pruned_at = now(), updated_at = now() WHERE id = $1 AND pruned_at IS NULL"#,
        run as RunId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When retention pruned a run (`None`: not pruned, or no such run).
pub async fn pruned_at(
    ex: impl PgExecutor<'_>,
    run: RunId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row = sqlx::query_scalar!(r#"SELECT pruned_at FROM runs WHERE id = $1"#, run as RunId)
        .fetch_optional(ex)
        .await?;
    Ok(row.flatten())
}
