//! Secrets shared by every host on one database.

use sqlx::PgExecutor;

/// The secret called `name`, created from `fresh` by whichever host asks first.
pub async fn get_or_create(
    ex: impl PgExecutor<'_> + Copy,
    name: &str,
    fresh: &[u8],
) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        fresh
    )
    .execute(ex)
    .await?;
    let row = sqlx::query!("SELECT value FROM server_secrets WHERE name = $1", name)
        .fetch_one(ex)
        .await?;
    Ok(row.value)
}
