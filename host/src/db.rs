//! PostgreSQL access: the pool, migrations, and one module of queries per table.
//!
//! Every query is a function taking `impl PgExecutor<'_>`, so the API and the workers
//! share them, inside or outside a transaction. Queries are checked at compile
//! time against the migrations (offline data in `.sqlx/`).

pub mod api_keys;
pub mod embedded;
pub mod exports;
pub mod job_secrets;
pub mod jobs;
pub mod ledger;
pub mod logs;
pub mod pages;
pub mod plugins;
pub mod queues;
pub mod results;
pub mod retention;
pub mod runs;
pub mod schemas;
pub mod secrets;
pub mod users;
pub mod webhooks;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Connect and bring the schema up to date.
pub async fn connect(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Maps a unique or foreign-key violation on a named constraint to a caller's error.
pub trait ResultExt<T> {
    /// If the error is a violation of `constraint`, turn it into `f()`'s error.
    fn on_constraint<E: From<sqlx::Error>>(
        self,
        constraint: &str,
        f: impl FnOnce() -> E,
    ) -> Result<T, E>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_constraint<E: From<sqlx::Error>>(
        self,
        constraint: &str,
        f: impl FnOnce() -> E,
    ) -> Result<T, E> {
        match self {
            Err(sqlx::Error::Database(db)) if db.constraint() == Some(constraint) => Err(f()),
            other => other.map_err(E::from),
        }
    }
}

/// A page of a cursor-paginated list.
pub const MAX_PAGE: i64 = 500;
