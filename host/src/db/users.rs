//! Users: admins and members.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::UserId;
use crate::model::Role;

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
