//! Runs: queued by the API, claimed by workers under a lease.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::config::CreditsConfig;
use crate::ids::{JobId, RunId, UserId};
use crate::model::{RunEnd, RunStatus, Trigger};

pub use crate::model::job::RunOverrides;

/// `$head`, a run row's columns, then `$tail`, as a [`RunRow`] query (a `SELECT`, or a
/// statement `RETURNING` them): the column list, and the counters' mapping, once.
macro_rules! run_rows {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            $head + r#" id AS "id: RunId", job_id AS "job_id: JobId", owner_id AS "owner_id: UserId",
                      trigger AS "trigger: Trigger", idempotency_key, status AS "status: RunStatus",
                      pages_fetched, pages_failed, items_new, items_duplicate, items_invalid, items_empty,
                      bytes_fetched, fuel_consumed, error_code, error_message,
                      coalesce((SELECT c.credits_pages FROM run_charges c WHERE c.run_id = runs.id), 0) AS "credits_pages!",
                      coalesce((SELECT c.credits_fuel FROM run_charges c WHERE c.run_id = runs.id), 0) AS "credits_fuel!",
                      coalesce((SELECT c.credits_items FROM run_charges c WHERE c.run_id = runs.id), 0) AS "credits_items!",
                      created_at, started_at, finished_at, scheduled_for, cancel_requested_at, deadline_at,
                      version, overrides, charged, max_credits "# + $tail
            $(, $arg)*
        )
        .map(|r| RunRow {
            id: r.id,
            job_id: r.job_id,
            owner_id: r.owner_id,
            trigger: r.trigger,
            idempotency_key: r.idempotency_key,
            status: r.status,
            counters: Counters {
                pages_fetched: r.pages_fetched,
                pages_failed: r.pages_failed,
                items_new: r.items_new,
                items_duplicate: r.items_duplicate,
                items_invalid: r.items_invalid,
                items_empty: r.items_empty,
                bytes_fetched: r.bytes_fetched,
                fuel_consumed: r.fuel_consumed,
            },
            credits: crate::model::pricing::Charge {
                pages: r.credits_pages,
                fuel: r.credits_fuel,
                items: r.credits_items,
            },
            error_code: r.error_code,
            error_message: r.error_message,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            scheduled_for: r.scheduled_for,
            cancel_requested_at: r.cancel_requested_at,
            deadline_at: r.deadline_at,
            version: r.version,
            overrides: r.overrides,
            charged: r.charged,
            max_credits: r.max_credits,
        })
    };
}

/// A run row.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: RunId,
    pub job_id: JobId,
    pub owner_id: UserId,
    pub trigger: Trigger,
    pub idempotency_key: Option<String>,
    pub status: RunStatus,
    pub counters: Counters,
    /// The price of its work so far, by kind (taken from the owner's balance when `charged`).
    pub credits: crate::model::pricing::Charge,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The schedule occurrence a `schedule` run is for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When someone asked to cancel it.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// When it ends `timed_out` if still going.
    pub deadline_at: Option<DateTime<Utc>>,
    /// Raised by every change of status or counters: the id of its events.
    pub version: i64,
    /// What its creation request changed of the job (`{}` for nothing).
    pub overrides: serde_json::Value,
    /// Whether its work is taken from its owner's balance.
    pub charged: bool,
    /// The most credits it may cost.
    pub max_credits: Option<i64>,
}

/// Live counters of a run (and the increments a page adds to them).
#[derive(Debug, Default, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
#[schema(as = RunCounters)]
pub struct Counters {
    /// Pages fetched and extracted.
    pub pages_fetched: i64,
    /// Pages that failed.
    pub pages_failed: i64,
    /// Items stored.
    pub items_new: i64,
    /// Items already stored (same content hash), not stored again.
    pub items_duplicate: i64,
    /// Items that failed validation or could not be read (not a JSON object).
    pub items_invalid: i64,
    /// Items in which none of the schema's properties was found: counted, never stored.
    pub items_empty: i64,
    /// Bytes fetched.
    pub bytes_fetched: i64,
    /// Plugin fuel burnt.
    pub fuel_consumed: i64,
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, c: Counters) {
        self.pages_fetched += c.pages_fetched;
        self.pages_failed += c.pages_failed;
        self.items_new += c.items_new;
        self.items_duplicate += c.items_duplicate;
        self.items_invalid += c.items_invalid;
        self.items_empty += c.items_empty;
        self.bytes_fetched += c.bytes_fetched;
        self.fuel_consumed += c.fuel_consumed;
    }
}

/// The fence of a worker's writes for a run: the run and the lease token its claim got.
/// Every write a worker makes for the run names it, and changes nothing once the run is
/// no longer held under that token with an unexpired lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub run: RunId,
    pub token: i64,
}

/// What a creation request asks of a run beyond its job (the API's optional body).
#[derive(Debug, Clone, Copy)]
pub struct NewRun<'a> {
    pub trigger: Trigger,
    pub idempotency_key: Option<&'a str>,
    /// SHA-256 of the request body, kept with the key.
    pub request_hash: Option<&'a [u8]>,
    /// The body's overrides of the job (`{}` for none).
    pub overrides: &'a serde_json::Value,
}

/// How long an idempotency key is remembered for its job.
pub const IDEMPOTENCY_HOURS: i32 = 24;

/// What [`create`] did.
#[derive(Debug)]
pub enum Created {
    /// A new run.
    New(RunRow),
    /// The run created earlier with the same key and the same request.
    Replay(RunRow),
    /// The key was used within the last day for a different request.
    KeyReused,
    /// The run would be charged and its owner has no credits left (nothing was queued).
    NoCredits,
}

/// Queue a run of `owner`'s job. With an idempotency key used for this job within the last
/// [`IDEMPOTENCY_HOURS`], the earlier run comes back instead when the request is the same.
/// `None` when the job is not `owner`'s. Whether the run is charged is fixed now, by
/// `credits` and the owner's role; a charged run is not queued for an owner whose balance cannot pay for one page.
pub async fn create(
    pool: &sqlx::PgPool,
    owner: UserId,
    job: JobId,
    new: NewRun<'_>,
    credits: &CreditsConfig,
) -> Result<Option<Created>, sqlx::Error> {
    if let Some(key) = new.idempotency_key {
        // A key older than a day is forgotten: its run keeps everything but the key.
        sqlx::query!(
            r#"UPDATE runs SET idempotency_key = NULL
               WHERE job_id = $1 AND idempotency_key = $2
                 AND created_at < now() - make_interval(hours => $3)"#,
            job as JobId,
            key,
            IDEMPOTENCY_HOURS
        )
        .execute(pool)
        .await?;
    }
    let inserted = sqlx::query!(
        r#"INSERT INTO runs (id, job_id, owner_id, trigger, idempotency_key, idempotency_hash, overrides,
                             charged, max_credits)
           SELECT $1, j.id, j.owner_id, $4, $5, $6, $7, c.charged,
                  coalesce(($7::jsonb ->> 'max_credits')::bigint, j.max_credits)
           FROM scraping_jobs j JOIN users u ON u.id = j.owner_id,
                LATERAL (SELECT $8::boolean AND (u.role <> 'admin' OR $9::boolean) AS charged) c
           WHERE j.id = $2 AND j.owner_id = $3 AND (NOT c.charged OR u.credits >= $10)
           ON CONFLICT (job_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING id AS "id: RunId""#,
        RunId::new() as RunId,
        job as JobId,
        owner as UserId,
        new.trigger as Trigger,
        new.idempotency_key,
        new.request_hash,
        new.overrides,
        credits.charging,
        credits.charge_admins,
        credits.least_to_start()
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = inserted {
        return Ok(get(pool, owner, row.id).await?.map(Created::New));
    }
    if let Some(key) = new.idempotency_key {
        let existing = sqlx::query!(
            r#"SELECT id AS "id: RunId", idempotency_hash FROM runs
               WHERE job_id = $1 AND owner_id = $2 AND idempotency_key = $3"#,
            job as JobId,
            owner as UserId,
            key
        )
        .fetch_optional(pool)
        .await?;
        if let Some(existing) = existing {
            if existing.idempotency_hash.as_deref() != new.request_hash {
                return Ok(Some(Created::KeyReused));
            }
            return Ok(get(pool, owner, existing.id).await?.map(Created::Replay));
        }
    }
    // Not inserted, and no earlier run: the job is someone else's, or its owner is out.
    let owned = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM scraping_jobs WHERE id = $1 AND owner_id = $2) AS "owned!""#,
        job as JobId,
        owner as UserId
    )
    .fetch_one(pool)
    .await?;
    Ok(owned.then_some(Created::NoCredits))
}

/// One of `owner`'s runs.
pub async fn get(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: RunId,
) -> Result<Option<RunRow>, sqlx::Error> {
    run_rows!(
        "SELECT",
        "FROM runs WHERE id = $1 AND owner_id = $2",
        id as RunId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// The runs of one of `owner`'s jobs, newest first.
pub async fn list_for_job(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    job: JobId,
    before: Option<RunId>,
    limit: i64,
    status: Option<RunStatus>,
) -> Result<Vec<RunRow>, sqlx::Error> {
    run_rows!(
        "SELECT",
        "FROM runs WHERE job_id = $1 AND owner_id = $2 AND ($3::uuid IS NULL OR id < $3)
           AND ($5::text IS NULL OR status = $5)
         ORDER BY id DESC LIMIT $4",
        job as JobId,
        owner as UserId,
        before as Option<RunId>,
        limit,
        status.map(RunStatus::as_str)
    )
    .fetch_all(ex)
    .await
}

/// What [`cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// The run was queued, or its holder is gone: it is cancelled now.
    Cancelled,
    /// A worker holds it: it was asked to stop, and ends the run `cancelled` within seconds.
    Requested,
    /// It had already ended (or is not `owner`'s).
    Over,
}

/// Cancel a queued or running run. A queued run, or a running one whose lease lapsed, ends
/// at once (with its counters recomputed from its pages); a held one is asked to stop, and
/// its holder ends it, since only the holder knows which pages are in hand.
pub async fn cancel(
    ex: impl PgExecutor<'_> + Copy,
    owner: UserId,
    id: RunId,
) -> Result<Cancel, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE runs r SET status = 'cancelled', finished_at = now(), updated_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL,
                  cancel_requested_at = coalesce(cancel_requested_at, now()),
                  error_code = 'cancelled', error_message = 'cancelled by the user',
                  pages_fetched = a.done, pages_failed = a.failed, items_new = a.new,
                  items_duplicate = a.duplicate, items_invalid = a.invalid, items_empty = a.empty,
                  bytes_fetched = a.bytes, fuel_consumed = a.fuel, credits_consumed = run_credits_consumed($1)
           FROM run_page_totals($1) a
           WHERE r.id = $1 AND r.owner_id = $2
             AND (r.status = 'queued' OR (r.status = 'running' AND r.lease_expires_at < now()))"#,
        id as RunId,
        owner as UserId
    )
    .execute(ex)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(Cancel::Cancelled);
    }
    let asked = sqlx::query!(
        r#"UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
           WHERE id = $1 AND owner_id = $2 AND status = 'running'"#,
        id as RunId,
        owner as UserId
    )
    .execute(ex)
    .await?;
    Ok(if asked.rows_affected() == 1 {
        Cancel::Requested
    } else {
        Cancel::Over
    })
}

/// A run a worker claimed: the fence of its writes, and what the claim found.
#[derive(Debug)]
pub struct Claimed {
    pub lease: Lease,
    /// It was running under another worker whose lease lapsed (a takeover).
    pub resumed: bool,
    /// Someone asked to cancel it before this claim.
    pub cancel_requested: bool,
    /// When it must end `timed_out` (fixed at its first start), if its job has a limit.
    pub deadline: Option<DateTime<Utc>>,
}

/// Most candidates one claim tries before it gives up until the next poll: each one
/// refused is a run whose owner reached their quota of runs at once since the pick.
const CLAIM_TRIES: usize = 8;

/// Claim the oldest queued run whose owner has fewer runs running than their quota of runs
/// at once (`default_concurrent_runs` unless the owner has their own), or a running one
/// whose lease expired (its worker died or lost the database): a takeover, which changes
/// no owner's count. The claim raises the run's lease token, which fences out whatever the
/// previous holder still tries to write.
///
/// The count is exact across hosts: a queued run is claimed under a transaction-level
/// advisory lock of its owner, taken after the pick, and the owner's running runs are
/// counted again under it, so two claims for one owner take turns and the second sees the
/// first's commit. The pick skips owners at their quota, so their queued runs never hold
/// up other owners' runs behind them.
pub async fn claim_next(
    pool: &sqlx::PgPool,
    worker: &str,
    lease_secs: f64,
    default_concurrent_runs: i32,
) -> Result<Option<Claimed>, sqlx::Error> {
    // Owners found at their quota after the pick: not picked again in this claim.
    let mut full: Vec<uuid::Uuid> = Vec::new();
    for _ in 0..CLAIM_TRIES {
        let mut tx = pool.begin().await?;
        let picked = sqlx::query!(
            // The running runs are counted once per pick, not once per queued candidate:
            // they are few (the hosts' slots), the queue may be long.
            r#"WITH busy AS (SELECT owner_id, count(*) AS running FROM runs WHERE status = 'running' GROUP BY owner_id)
               SELECT r.id AS "id: RunId", r.owner_id AS "owner_id: UserId", r.status = 'running' AS "takeover!"
               FROM runs r JOIN users u ON u.id = r.owner_id LEFT JOIN busy b ON b.owner_id = r.owner_id
               WHERE (r.status = 'running' AND r.lease_expires_at < now())
                  OR (r.status = 'queued' AND r.owner_id <> ALL($1)
                      AND coalesce(b.running, 0) < coalesce(u.quota_concurrent_runs, $2))
               ORDER BY r.created_at FOR UPDATE OF r SKIP LOCKED LIMIT 1"#,
            &full,
            default_concurrent_runs
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(picked) = picked else {
            return Ok(None);
        };
        if !picked.takeover {
            sqlx::query!(
                "SELECT pg_advisory_xact_lock(hashtextextended('runs-of:' || $1::text, 0))",
                picked.owner_id as UserId
            )
            .execute(&mut *tx)
            .await?;
            let room = sqlx::query_scalar!(
                r#"SELECT (SELECT count(*) FROM runs WHERE owner_id = $1 AND status = 'running')
                          < coalesce(quota_concurrent_runs, $2) AS "room!"
                   FROM users WHERE id = $1"#,
                picked.owner_id as UserId,
                default_concurrent_runs
            )
            .fetch_one(&mut *tx)
            .await?;
            if !room {
                tx.rollback().await?;
                full.push(picked.owner_id.0);
                continue;
            }
        }
        let row = sqlx::query!(
            r#"UPDATE runs r SET status = 'running', lease_owner = $2,
                      lease_expires_at = now() + $3 * interval '1 second', lease_token = r.lease_token + 1,
                      started_at = coalesce(r.started_at, now()),
                      deadline_at = coalesce(r.deadline_at, now() + j.max_duration_secs * interval '1 second'),
                      updated_at = now()
               FROM scraping_jobs j WHERE r.id = $1 AND j.id = r.job_id
               RETURNING r.id AS "id: RunId", r.lease_token, r.cancel_requested_at IS NOT NULL AS "cancel_requested!",
                         r.deadline_at"#,
            picked.id as RunId,
            worker,
            lease_secs
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        // Its job went away while it was picked (the run goes with it).
        let Some(row) = row else {
            continue;
        };
        return Ok(Some(Claimed {
            lease: Lease {
                run: row.id,
                token: row.lease_token,
            },
            resumed: picked.takeover,
            cancel_requested: row.cancel_requested,
            deadline: row.deadline_at,
        }));
    }
    Ok(None)
}

/// The run a claim returned, read under its fence (its counters recomputed from its pages
/// when it resumes, so they start from what was stored). `None` once the lease is lost.
pub async fn load_claimed(
    ex: impl PgExecutor<'_> + Copy,
    lease: Lease,
    resumed: bool,
) -> Result<Option<RunRow>, sqlx::Error> {
    if resumed && !reconcile(ex, lease).await? {
        return Ok(None);
    }
    run_rows!(
        "SELECT",
        "FROM runs WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        lease.run as RunId,
        lease.token
    )
    .fetch_optional(ex)
    .await
}

/// What a heartbeat learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// The lease is extended.
    Held,
    /// The lease is extended, and someone asked to cancel the run.
    CancelRequested,
    /// The run is no longer this worker's (its lease lapsed, it was taken over or it ended).
    Lost,
}

/// Extend the lease, if it is still this worker's and has not lapsed.
pub async fn heartbeat(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    lease_secs: f64,
) -> Result<Beat, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"UPDATE runs SET lease_expires_at = now() + $3 * interval '1 second'
           WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()
           RETURNING cancel_requested_at IS NOT NULL AS "cancel!""#,
        lease.run as RunId,
        lease.token,
        lease_secs
    )
    .fetch_optional(ex)
    .await?;
    Ok(match row {
        None => Beat::Lost,
        Some(true) => Beat::CancelRequested,
        Some(false) => Beat::Held,
    })
}

/// Whether someone asked to cancel the run (read without a lock).
pub async fn cancel_requested(ex: impl PgExecutor<'_>, id: RunId) -> Result<bool, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"SELECT cancel_requested_at IS NOT NULL AS "asked!" FROM runs WHERE id = $1"#,
        id as RunId
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.unwrap_or(true))
}

/// Hold the run's fence for the rest of the transaction `ex` is in: the run stays this
/// lease's (a takeover waits for the commit) and the transaction's writes are the holder's.
/// It also makes the transaction commit without waiting for the WAL flush (a crash of
/// PostgreSQL loses at most the last moments of pages, which are fetched again) and end if it
/// sits idle, so a paused worker cannot hold the fence past its lease. False when the lease
/// is lost.
pub async fn hold(ex: impl PgExecutor<'_>, lease: Lease) -> Result<bool, sqlx::Error> {
    let held = sqlx::query_scalar!(
        r#"SELECT set_config('synchronous_commit', 'off', true)
                  || set_config('idle_in_transaction_session_timeout', '5s', true) AS "set!"
           FROM runs
           WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()
           FOR SHARE"#,
        lease.run as RunId,
        lease.token
    )
    .fetch_optional(ex)
    .await?;
    Ok(held.is_some())
}

/// Add finished pages' counters to the live ones. False when the lease is lost.
pub async fn add_counters(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    c: &Counters,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE runs SET pages_fetched = pages_fetched + $3, pages_failed = pages_failed + $4,
                  items_new = items_new + $5, items_duplicate = items_duplicate + $6, items_invalid = items_invalid + $7,
                  bytes_fetched = bytes_fetched + $8, fuel_consumed = fuel_consumed + $9, items_empty = items_empty + $10,
                  updated_at = now()
           WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > now()"#,
        lease.run as RunId,
        lease.token,
        c.pages_fetched,
        c.pages_failed,
        c.items_new,
        c.items_duplicate,
        c.items_invalid,
        c.bytes_fetched,
        c.fuel_consumed,
        c.items_empty
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Set the counters to what the run's pages recorded: the truth a crash or an abort cannot
/// bend (pages in flight when a run stopped were never recorded, and count nowhere). False
/// when the lease is lost.
pub async fn reconcile(ex: impl PgExecutor<'_>, lease: Lease) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE runs r SET pages_fetched = a.done, pages_failed = a.failed, items_new = a.new,
                  items_duplicate = a.duplicate, items_invalid = a.invalid, items_empty = a.empty,
                  bytes_fetched = a.bytes, fuel_consumed = a.fuel, updated_at = now()
           FROM run_page_totals($1) a
           WHERE r.id = $1 AND r.lease_token = $2 AND r.status = 'running' AND r.lease_expires_at > now()"#,
        lease.run as RunId,
        lease.token
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// End a run this worker holds, its counters recomputed from its pages, in one statement.
/// False when it no longer held it.
pub async fn finish(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    end: RunEnd,
    error: Option<(&str, &str)>,
) -> Result<bool, sqlx::Error> {
    let message = error.map(|e| crate::validate::storable_text(e.1));
    let done = sqlx::query!(
        r#"UPDATE runs r SET status = $3, error_code = $4, error_message = $5, finished_at = now(), updated_at = now(),
                  lease_owner = NULL, lease_expires_at = NULL,
                  pages_fetched = a.done, pages_failed = a.failed, items_new = a.new,
                  items_duplicate = a.duplicate, items_invalid = a.invalid, items_empty = a.empty,
                  bytes_fetched = a.bytes, fuel_consumed = a.fuel, credits_consumed = run_credits_consumed($1)
           FROM run_page_totals($1) a
           WHERE r.id = $1 AND r.lease_token = $2 AND r.status = 'running' AND r.lease_expires_at > now()"#,
        lease.run as RunId,
        lease.token,
        RunStatus::from(end) as RunStatus,
        error.map(|e| e.0),
        message.as_deref()
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Give a run back to the queue (graceful shutdown), its counters recomputed from its
/// pages: another host resumes it at once.
pub async fn release(ex: impl PgExecutor<'_> + Copy, lease: Lease) -> Result<bool, sqlx::Error> {
    if !reconcile(ex, lease).await? {
        return Ok(false);
    }
    let done = sqlx::query!(
        r#"UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE id = $1 AND lease_token = $2 AND status = 'running'"#,
        lease.run as RunId,
        lease.token
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What queuing a schedule occurrence's run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduledRun {
    /// A run was queued.
    Queued(RunId),
    /// A run of the job is queued or running, and the job skips overlapping occurrences.
    Overlapping,
    /// The occurrence already has its run.
    AlreadyQueued,
}

/// Queue the run of one occurrence of a job's schedule, unless `skip_overlap` and a run
/// of the job is queued or running. The occurrence is the run's idempotency: the unique
/// index on (job, occurrence) makes a second insert for it do nothing, whoever tries.
pub async fn create_scheduled(
    ex: impl PgExecutor<'_>,
    job: JobId,
    occurrence: DateTime<Utc>,
    skip_overlap: bool,
    credits: &CreditsConfig,
) -> Result<ScheduledRun, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH active AS (
               SELECT EXISTS (SELECT 1 FROM runs WHERE job_id = $2 AND status IN ('queued', 'running')) AS going
           ), queued AS (
               INSERT INTO runs (id, job_id, owner_id, trigger, scheduled_for, charged, max_credits)
               SELECT $1, j.id, j.owner_id, $3, $4, $6::boolean AND (u.role <> 'admin' OR $7::boolean),
                      j.max_credits
               FROM scraping_jobs j JOIN users u ON u.id = j.owner_id, active
               WHERE j.id = $2 AND NOT ($5 AND active.going)
               ON CONFLICT (job_id, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING
               RETURNING id
           )
           SELECT (SELECT going FROM active) AS "going!", (SELECT id FROM queued) AS "id?: RunId""#,
        RunId::new() as RunId,
        job as JobId,
        Trigger::Schedule as Trigger,
        occurrence,
        skip_overlap,
        credits.charging,
        credits.charge_admins
    )
    .fetch_one(ex)
    .await?;
    Ok(match row.id {
        Some(id) => ScheduledRun::Queued(id),
        None if skip_overlap && row.going => ScheduledRun::Overlapping,
        None => ScheduledRun::AlreadyQueued,
    })
}

/// Record the settings the run is worked with. False when the lease is lost.
pub async fn set_params(
    ex: impl PgExecutor<'_>,
    lease: Lease,
    params: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE runs SET params = $3 WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        lease.run as RunId,
        lease.token,
        params
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The settings one of `owner`'s runs was worked with (none before it started).
pub async fn params(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: RunId,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT params FROM runs WHERE id = $1 AND owner_id = $2",
        id as RunId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await?
    .flatten())
}
