//! How much work is waiting or going, across the tables that queue it: what `/metrics`
//! reads at scrape time. Each count walks a partial index of its table's waiting rows.

use sqlx::PgExecutor;

/// Runs, exports and webhook deliveries waiting or going now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depths {
    /// Runs waiting for a worker.
    pub runs_queued: i64,
    /// Runs a worker holds.
    pub runs_running: i64,
    /// Exports waiting for a worker.
    pub exports_queued: i64,
    /// Webhook deliveries not yet delivered nor given up.
    pub webhooks_pending: i64,
}

/// The counts now, in one round trip.
pub async fn depths(ex: impl PgExecutor<'_>) -> Result<Depths, sqlx::Error> {
    sqlx::query_as!(
        Depths,
        r#"SELECT (SELECT count(*) FROM runs WHERE status = 'queued') AS "runs_queued!",
                  (SELECT count(*) FROM runs WHERE status = 'running') AS "runs_running!",
                  (SELECT count(*) FROM exports WHERE status = 'queued') AS "exports_queued!",
                  (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') AS "webhooks_pending!""#
    )
    .fetch_one(ex)
    .await
}
