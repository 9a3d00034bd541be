//! `job_secrets`: what a job keeps secret, kept apart from its row. Only the API writes
//! them and only a run's worker reads their values; the API reads them to show their
//! names.

use sqlx::PgExecutor;
use sqlx::types::Json;

use crate::ids::{JobId, UserId};
use crate::model::reach::JobSecrets;

/// The secrets of a job (empty when it has none).
pub async fn get(ex: impl PgExecutor<'_>, job: JobId) -> Result<JobSecrets, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"SELECT secrets AS "secrets: Json<JobSecrets>" FROM job_secrets WHERE job_id = $1"#,
        job as JobId
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|Json(s)| s).unwrap_or_default())
}

/// Replace the secrets of `owner`'s job.
pub async fn set(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    job: JobId,
    secrets: &JobSecrets,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO job_secrets (job_id, secrets)
           SELECT id, $3 FROM scraping_jobs WHERE id = $1 AND owner_id = $2
           ON CONFLICT (job_id) DO UPDATE SET secrets = EXCLUDED.secrets, updated_at = now()"#,
        job as JobId,
        owner as UserId,
        Json(secrets) as _
    )
    .execute(ex)
    .await?;
    Ok(())
}
