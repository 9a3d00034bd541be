//! API keys: stored as SHA-256 hashes, found by hash, revocable.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::users::User;
use crate::ids::{ApiKeyId, UserId};
use crate::model::Role;

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// Owner.
    pub user_id: UserId,
    /// A name to tell keys apart.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Store a new key's hash.
pub async fn create(
    ex: impl PgExecutor<'_>,
    user_id: UserId,
    name: &str,
    prefix: &str,
    key_hash: &[u8],
) -> Result<ApiKey, sqlx::Error> {
    sqlx::query_as!(
        ApiKey,
        r#"INSERT INTO api_keys (id, user_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4, $5)
           RETURNING id AS "id: ApiKeyId", user_id AS "user_id: UserId", name, prefix, created_at, revoked_at"#,
        ApiKeyId::new() as ApiKeyId,
        user_id as UserId,
        name,
        prefix,
        key_hash
    )
    .fetch_one(ex)
    .await
}

/// Who a request is made by: the key's holder, the key, and the holder's own rate limit.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The key's holder.
    pub user: User,
    /// The key: requests are limited per key.
    pub key: ApiKeyId,
    /// The holder's override of the requests per second per key, if any.
    pub rate_limit: Option<i32>,
    /// The holder's override of the burst, if any.
    pub rate_burst: Option<i32>,
}

/// The user holding the key with this hash, unless it was revoked. A read: the key's
/// use is written down apart, by [`record_use`].
pub async fn authenticate(
    ex: impl PgExecutor<'_>,
    key_hash: &[u8],
) -> Result<Option<Authenticated>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT u.id AS "id: UserId", u.email, u.role AS "role: Role", u.credits, u.created_at,
                  k.id AS "key: ApiKeyId", u.quota_rate_limit, u.quota_rate_burst
           FROM api_keys k JOIN users u ON u.id = k.user_id
           WHERE k.key_hash = $1 AND k.revoked_at IS NULL"#,
        key_hash
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| Authenticated {
        user: User {
            id: r.id,
            email: r.email,
            role: r.role,
            credits: r.credits,
            created_at: r.created_at,
        },
        key: r.key,
        rate_limit: r.quota_rate_limit,
        rate_burst: r.quota_rate_burst,
    }))
}

/// Write down that the key was used now.
pub async fn record_use(ex: impl PgExecutor<'_>, key: ApiKeyId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api_keys SET last_used_at = now() WHERE id = $1",
        key as ApiKeyId
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A user's keys.
pub async fn list(ex: impl PgExecutor<'_>, user_id: UserId) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as!(
        ApiKey,
        r#"SELECT id AS "id: ApiKeyId", user_id AS "user_id: UserId", name, prefix, created_at, revoked_at
           FROM api_keys WHERE user_id = $1 ORDER BY created_at, id"#,
        user_id as UserId
    )
    .fetch_all(ex)
    .await
}

/// Revoke a key; false when there is no such key.
pub async fn revoke(ex: impl PgExecutor<'_>, id: ApiKeyId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1",
        id as ApiKeyId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
