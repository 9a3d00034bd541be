//! Users: admins and members.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::UserId;
use crate::model::Role;
use crate::model::quota::{Counted, QuotaOverrides, QuotaUsage};

/// A user.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique e-mail (or any unique handle).
    pub email: String,
    /// `admin` or `member`.
    pub role: Role,
    /// Credit balance.
    pub credits: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// Whether this user may administer trawl.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Create a user.
pub async fn create(
    ex: impl PgExecutor<'_>,
    email: &str,
    role: Role,
    credits: i64,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (id, email, role, credits) VALUES ($1, $2, $3, $4)
           RETURNING id AS "id: UserId", email, role AS "role: Role", credits, created_at"#,
        UserId::new() as UserId,
        email,
        role as Role,
        credits
    )
    .fetch_one(ex)
    .await
}

/// Create the first admin unless one exists already; `None` when one did.
pub async fn create_first_admin(ex: impl PgExecutor<'_>) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (id, email, role)
           SELECT $1, 'admin', 'admin' WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin')
           ON CONFLICT (email) DO NOTHING
           RETURNING id AS "id: UserId", email, role AS "role: Role", credits, created_at"#,
        UserId::new() as UserId,
    )
    .fetch_optional(ex)
    .await
}

/// One user.
pub async fn get(ex: impl PgExecutor<'_>, id: UserId) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"SELECT id AS "id: UserId", email, role AS "role: Role", credits, created_at FROM users WHERE id = $1"#,
        id as UserId
    )
    .fetch_optional(ex)
    .await
}

/// Every user, oldest first.
pub async fn list(ex: impl PgExecutor<'_>) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"SELECT id AS "id: UserId", email, role AS "role: Role", credits, created_at FROM users ORDER BY created_at, id"#
    )
    .fetch_all(ex)
    .await
}

/// A user's quota overrides (each `None` is the host's default); `None` when there is
/// no such user.
pub async fn quota_overrides(
    ex: impl PgExecutor<'_>,
    id: UserId,
) -> Result<Option<QuotaOverrides>, sqlx::Error> {
    sqlx::query_as!(
        QuotaOverrides,
        r#"SELECT quota_concurrent_runs AS concurrent_runs, quota_max_pages AS max_pages,
                  quota_jobs AS jobs, quota_schemas AS schemas, quota_plugins AS plugins,
                  quota_min_schedule_interval_secs AS min_schedule_interval_secs,
                  quota_rate_limit AS rate_limit, quota_rate_burst AS rate_burst
           FROM users WHERE id = $1"#,
        id as UserId
    )
    .fetch_optional(ex)
    .await
}

/// Replace a user's quota overrides (a `None` goes back to the default). False when there
/// is no such user.
pub async fn set_quota_overrides(
    ex: impl PgExecutor<'_>,
    id: UserId,
    o: &QuotaOverrides,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE users SET quota_concurrent_runs = $2, quota_max_pages = $3, quota_jobs = $4,
                  quota_schemas = $5, quota_plugins = $6, quota_min_schedule_interval_secs = $7,
                  quota_rate_limit = $8, quota_rate_burst = $9, updated_at = now()
           WHERE id = $1"#,
        id as UserId,
        o.concurrent_runs,
        o.max_pages,
        o.jobs,
        o.schemas,
        o.plugins,
        o.min_schedule_interval_secs,
        o.rate_limit,
        o.rate_burst
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How much of its counted quotas a user has in use.
pub async fn quota_usage(ex: impl PgExecutor<'_>, id: UserId) -> Result<QuotaUsage, sqlx::Error> {
    sqlx::query_as!(
        QuotaUsage,
        r#"SELECT (SELECT count(*) FROM runs WHERE owner_id = $1 AND status = 'running') AS "running_runs!",
                  (SELECT count(*) FROM runs WHERE owner_id = $1 AND status = 'queued') AS "queued_runs!",
                  (SELECT count(*) FROM scraping_jobs WHERE owner_id = $1) AS "jobs!",
                  (SELECT count(*) FROM extractor_schemas WHERE owner_id = $1) AS "schemas!",
                  (SELECT count(*) FROM plugins WHERE owner_id = $1) AS "plugins!""#,
        id as UserId
    )
    .fetch_one(ex)
    .await
}

/// Take the user's lock of one counted quota for the rest of the transaction `ex` is in,
/// and count what the user has of it: two creations by one user take turns between the
/// count and their insert, so together they never pass the quota. Other users, and the
/// user's other quotas, do not wait.
pub async fn lock_and_count(
    conn: &mut sqlx::PgConnection,
    id: UserId,
    what: Counted,
) -> Result<i64, sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('quota:' || $1 || ':' || $2::text, 0))",
        what.as_str(),
        id as UserId
    )
    .execute(&mut *conn)
    .await?;
    let count = match what {
        Counted::Jobs => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM scraping_jobs WHERE owner_id = $1"#,
                id as UserId
            )
            .fetch_one(&mut *conn)
            .await?
        }
        Counted::Schemas => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM extractor_schemas WHERE owner_id = $1"#,
                id as UserId
            )
            .fetch_one(&mut *conn)
            .await?
        }
        Counted::Plugins => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM plugins WHERE owner_id = $1"#,
                id as UserId
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(count)
}
