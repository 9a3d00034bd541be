//! Plugins: component bytes, digest and what the plugin says about itself.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{PluginId, UserId};
use crate::model::PluginKind;
use crate::runtime::PluginManifest;

/// `SELECT` a listed plugin's columns (not its bytes) `FROM plugins` and then `$tail`:
/// the column list once.
macro_rules! select_plugins {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Plugin,
            r#"SELECT id AS "id: PluginId", name, version, kind AS "kind: PluginKind", description,
                      wit_version, encode(digest, 'hex') AS "digest!", size_bytes, bundled AS "system!",
                      owner_id IS NOT NULL AS "private!", info, deprecated_at, created_at
               FROM plugins "# + $tail
            $(, $arg)*
        )
    };
}

/// A plugin as listed (without its bytes).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Plugin {
    /// Id.
    pub id: PluginId,
    /// Name from `info()`.
    pub name: String,
    /// Version from `info()`.
    pub version: String,
    /// `extractor` or `exporter`.
    pub kind: PluginKind,
    /// Description from `info()`.
    pub description: String,
    /// WIT package version it was built against.
    pub wit_version: String,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// Size of the component.
    pub size_bytes: i64,
    /// Bundled with trawl (true) or uploaded.
    pub system: bool,
    /// Private to its uploader (a member's plugin); others are visible to everyone.
    pub private: bool,
    /// Everything `info()` (and `format()`) said.
    #[schema(value_type = Object)]
    pub info: serde_json::Value,
    /// Deprecated plugins keep serving old schemas but are hidden from new ones.
    pub deprecated_at: Option<DateTime<Utc>>,
    /// Registered.
    pub created_at: DateTime<Utc>,
}

/// Register (or refresh) a plugin bundled with trawl.
pub async fn upsert_system(
    pool: &sqlx::PgPool,
    manifest: &PluginManifest,
    digest: &[u8],
    component: &[u8],
) -> Result<PluginId, sqlx::Error> {
    let info = serde_json::to_value(manifest).expect("a manifest always serialises");
    let row = sqlx::query!(
        r#"INSERT INTO plugins (id, owner_id, name, version, kind, description, wit_version, digest, component, size_bytes, info, bundled)
           VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
           ON CONFLICT (name, version) DO UPDATE
             SET digest = EXCLUDED.digest, component = EXCLUDED.component, size_bytes = EXCLUDED.size_bytes,
                 description = EXCLUDED.description, info = EXCLUDED.info, kind = EXCLUDED.kind,
                 wit_version = EXCLUDED.wit_version, updated_at = now()
             WHERE plugins.bundled AND plugins.digest <> EXCLUDED.digest
           RETURNING id AS "id: PluginId""#,
        PluginId::new() as PluginId,
        manifest.name,
        manifest.version,
        manifest.kind as PluginKind,
        manifest.description,
        manifest.wit_version,
        digest,
        component,
        component.len() as i64,
        info
    )
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(row.id),
        // Already registered with these very bytes.
        None => id_by_name(pool, &manifest.name, &manifest.version)
            .await?
            .ok_or(sqlx::Error::RowNotFound),
    }
}

/// The id of a plugin by name and version.
pub async fn id_by_name(
    ex: impl PgExecutor<'_>,
    name: &str,
    version: &str,
) -> Result<Option<PluginId>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: PluginId" FROM plugins WHERE name = $1 AND version = $2"#,
        name,
        version
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| r.id))
}

/// Plugins `user` may use: system plugins and their own.
pub async fn list_visible(
    ex: impl PgExecutor<'_>,
    user: UserId,
) -> Result<Vec<Plugin>, sqlx::Error> {
    select_plugins!(
        "WHERE owner_id IS NULL OR owner_id = $1 ORDER BY name, created_at DESC",
        user as UserId
    )
    .fetch_all(ex)
    .await
}

/// A plugin `user` may use by name: the given version, or else the highest version by
/// semver that is not deprecated (a release over a pre-release; upload order is no
/// measure: an old version uploaded late must not become "latest").
pub async fn find_visible(
    ex: impl PgExecutor<'_> + Copy,
    user: UserId,
    name: &str,
    version: Option<&str>,
) -> Result<Option<Plugin>, sqlx::Error> {
    let candidates = sqlx::query!(
        r#"SELECT id AS "id: PluginId", version FROM plugins
           WHERE (owner_id IS NULL OR owner_id = $1) AND name = $2
             AND ($3::text IS NULL OR version = $3)
             AND ($3::text IS NOT NULL OR deprecated_at IS NULL)"#,
        user as UserId,
        name,
        version
    )
    .fetch_all(ex)
    .await?;
    let versions: Vec<(PluginId, String)> =
        candidates.into_iter().map(|r| (r.id, r.version)).collect();
    match latest(&versions) {
        Some(id) => get_visible(ex, user, id).await,
        None => Ok(None),
    }
}

/// The highest semver version of `versions`; releases win over pre-releases, and versions
/// that are not semver (none can be uploaded) come last.
pub fn latest(versions: &[(PluginId, String)]) -> Option<PluginId> {
    versions
        .iter()
        .max_by(|a, b| {
            let key = |v: &str| {
                let parsed = semver::Version::parse(v).ok();
                let release = parsed.as_ref().is_some_and(|p| p.pre.is_empty());
                (parsed.is_some(), release, parsed)
            };
            key(&a.1).cmp(&key(&b.1))
        })
        .map(|(id, _)| *id)
}

/// What became of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// Stored under this id.
    Inserted(PluginId),
    /// This name and version exist already.
    Exists,
    /// The name is a bundled plugin's.
    Reserved,
    /// Another owner's plugins use the name (shared ones, or a member's private ones).
    Taken,
    /// The owner has this many plugin versions, their quota's most: a new one is refused.
    OverQuota(i64),
}

/// A plugin's component bytes.
pub async fn component(ex: impl PgExecutor<'_>, id: PluginId) -> Result<Vec<u8>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT component FROM plugins WHERE id = $1",
        id as PluginId
    )
    .fetch_one(ex)
    .await?;
    Ok(row.component)
}

/// Register an uploaded plugin. `owner` is `None` for plugins everyone may use (admin
/// uploads) and the member for private ones. A name belongs to whoever first used it:
/// bundled plugins' names are reserved, and one owner cannot add versions to another's
/// name (or the newest upload of a squatter would shadow the real plugin). With `most_owned`,
/// an owner who has that many plugin versions gets [`Upload::OverQuota`] for a new one,
/// counted under the owner's lock so that parallel uploads cannot pass it together.
pub async fn insert_uploaded(
    pool: &sqlx::PgPool,
    owner: Option<UserId>,
    most_owned: Option<i32>,
    manifest: &PluginManifest,
    digest: &[u8],
    component: &[u8],
) -> Result<Upload, sqlx::Error> {
    let info = serde_json::to_value(manifest).expect("a manifest always serialises");
    let mut tx = pool.begin().await?;
    // Two first uploads of one name by different owners: the lock makes them take turns.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('plugin-name:' || $1, 0))",
        manifest.name
    )
    .execute(&mut *tx)
    .await?;
    let holders = sqlx::query!(
        r#"SELECT coalesce(bool_or(bundled), false) AS "bundled!",
                  coalesce(bool_or(owner_id IS DISTINCT FROM $2), false) AS "other!"
           FROM plugins WHERE name = $1"#,
        manifest.name,
        owner as Option<UserId>
    )
    .fetch_one(&mut *tx)
    .await?;
    if holders.bundled {
        return Ok(Upload::Reserved);
    }
    if holders.other {
        return Ok(Upload::Taken);
    }
    if let (Some(owner), Some(most)) = (owner, most_owned) {
        let owned =
            super::users::lock_and_count(&mut tx, owner, crate::model::quota::Counted::Plugins)
                .await?;
        // The same version again is no new plugin: it answers as before, at quota or not.
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM plugins WHERE name = $1 AND version = $2) AS "exists!""#,
            manifest.name,
            manifest.version
        )
        .fetch_one(&mut *tx)
        .await?;
        if owned >= i64::from(most) && !exists {
            return Ok(Upload::OverQuota(owned));
        }
    }
    let row = sqlx::query!(
        r#"INSERT INTO plugins (id, owner_id, name, version, kind, description, wit_version, digest, component, size_bytes, info)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (name, version) DO NOTHING
           RETURNING id AS "id: PluginId""#,
        PluginId::new() as PluginId,
        owner as Option<UserId>,
        manifest.name,
        manifest.version,
        manifest.kind as PluginKind,
        manifest.description,
        manifest.wit_version,
        digest,
        component,
        component.len() as i64,
        info
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match row {
        Some(row) => Upload::Inserted(row.id),
        None => Upload::Exists,
    })
}

/// The plugin with this name and version, visible or not, with its digest.
pub async fn by_name_version(
    ex: impl PgExecutor<'_>,
    name: &str,
    version: &str,
) -> Result<Option<(PluginId, Vec<u8>, Option<UserId>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: PluginId", digest, owner_id AS "owner_id: UserId" FROM plugins WHERE name = $1 AND version = $2"#,
        name,
        version
    )
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| (r.id, r.digest, r.owner_id)))
}

/// A plugin `user` may see, by id.
pub async fn get_visible(
    ex: impl PgExecutor<'_>,
    user: UserId,
    id: PluginId,
) -> Result<Option<Plugin>, sqlx::Error> {
    select_plugins!(
        "WHERE id = $1 AND (owner_id IS NULL OR owner_id = $2)",
        id as PluginId,
        user as UserId
    )
    .fetch_optional(ex)
    .await
}

/// Delete an uploaded plugin. False when there is none with this id that is not bundled.
pub async fn delete(ex: impl PgExecutor<'_>, id: PluginId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM plugins WHERE id = $1 AND NOT bundled",
        id as PluginId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deprecate a plugin: old schemas keep running it, new ones cannot pick it by name alone.
pub async fn deprecate(ex: impl PgExecutor<'_>, id: PluginId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE plugins SET deprecated_at = coalesce(deprecated_at, now()), updated_at = now() WHERE id = $1",
        id as PluginId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_the_highest_release() {
        let ids: Vec<PluginId> = (0..5).map(|_| PluginId::new()).collect();
        let versions = |list: &[(usize, &str)]| -> Vec<(PluginId, String)> {
            list.iter().map(|(i, v)| (ids[*i], v.to_string())).collect()
        };
        // Upload order does not matter: 0.0.1 uploaded last is not the latest.
        assert_eq!(
            latest(&versions(&[(0, "0.1.0"), (1, "0.0.1")])),
            Some(ids[0])
        );
        assert_eq!(
            latest(&versions(&[(0, "0.9.0"), (1, "0.10.0")])),
            Some(ids[1])
        );
        // A release over a newer pre-release.
        assert_eq!(
            latest(&versions(&[(0, "1.0.0"), (1, "2.0.0-rc.1")])),
            Some(ids[0])
        );
        assert_eq!(
            latest(&versions(&[(0, "1.0.0-alpha"), (1, "1.0.0-beta")])),
            Some(ids[1])
        );
        assert_eq!(
            latest(&versions(&[(0, "not-semver"), (1, "0.0.1")])),
            Some(ids[1])
        );
        assert_eq!(latest(&[]), None);
    }
}
