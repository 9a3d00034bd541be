//! Extractor schemas.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{PluginId, SchemaId, UserId};
use crate::model::ValidationMode;

/// `SELECT` a schema row's columns, with its plugin's name and version, `FROM` the
/// schemas `s` joined to their plugins `p`, and then `$tail`: the column list once.
macro_rules! select_schemas {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            SchemaRow,
            r#"SELECT s.id AS "id: SchemaId", s.owner_id AS "owner_id: UserId", s.name, s.version,
                      s.json_schema::text AS "json_schema!", s.plugin_id AS "plugin_id: PluginId",
                      p.name AS plugin_name, p.version AS plugin_version, s.plugin_options,
                      s.validation_mode AS "validation_mode: ValidationMode", s.limits, s.created_at,
                      s.updated_at
               FROM extractor_schemas s JOIN plugins p ON p.id = s.plugin_id "# + $tail
            $(, $arg)*
        )
    };
}

/// A schema row, with its plugin's name and version.
#[derive(Debug, Clone)]
pub struct SchemaRow {
    pub id: SchemaId,
    pub owner_id: UserId,
    pub name: String,
    pub version: i32,
    /// The JSON Schema exactly as written (property order kept).
    pub json_schema: String,
    pub plugin_id: PluginId,
    pub plugin_name: String,
    pub plugin_version: String,
    pub plugin_options: serde_json::Value,
    pub validation_mode: ValidationMode,
    /// Plugin call limits (a `SchemaLimits` object).
    pub limits: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What creating or replacing a schema takes.
#[derive(Debug)]
pub struct NewSchema<'a> {
    pub name: &'a str,
    pub json_schema: &'a str,
    pub plugin_id: PluginId,
    pub plugin_options: &'a serde_json::Value,
    pub validation_mode: ValidationMode,
    pub limits: &'a serde_json::Value,
}

/// Create a schema.
pub async fn create(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    new: &NewSchema<'_>,
) -> Result<SchemaId, sqlx::Error> {
    let row = sqlx::query!(
        r#"INSERT INTO extractor_schemas (id, owner_id, name, json_schema, plugin_id, plugin_options, validation_mode, limits)
           VALUES ($1, $2, $3, $4::text::json, $5, $6, $7, $8) RETURNING id AS "id: SchemaId""#,
        SchemaId::new() as SchemaId,
        owner as UserId,
        new.name,
        new.json_schema,
        new.plugin_id as PluginId,
        new.plugin_options,
        new.validation_mode as ValidationMode,
        new.limits
    )
    .fetch_one(ex)
    .await?;
    Ok(row.id)
}

/// Replace a schema's definition; bumps its version. False when not found.
pub async fn update(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: SchemaId,
    new: &NewSchema<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE extractor_schemas
           SET name = $3, json_schema = $4::text::json, plugin_id = $5, plugin_options = $6, validation_mode = $7,
               limits = $8, version = version + 1, updated_at = now()
           WHERE id = $1 AND owner_id = $2"#,
        id as SchemaId,
        owner as UserId,
        new.name,
        new.json_schema,
        new.plugin_id as PluginId,
        new.plugin_options,
        new.validation_mode as ValidationMode,
        new.limits
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One of `owner`'s schemas.
pub async fn get(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: SchemaId,
) -> Result<Option<SchemaRow>, sqlx::Error> {
    select_schemas!(
        "WHERE s.id = $1 AND s.owner_id = $2",
        id as SchemaId,
        owner as UserId
    )
    .fetch_optional(ex)
    .await
}

/// `owner`'s schemas, newest first, after the `before` cursor.
pub async fn list(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    before: Option<SchemaId>,
    limit: i64,
    name_contains: Option<&str>,
) -> Result<Vec<SchemaRow>, sqlx::Error> {
    select_schemas!(
        "WHERE s.owner_id = $1 AND ($2::uuid IS NULL OR s.id < $2)
           AND ($4::text IS NULL OR strpos(lower(s.name), lower($4)) > 0)
         ORDER BY s.id DESC LIMIT $3",
        owner as UserId,
        before as Option<SchemaId>,
        limit,
        name_contains
    )
    .fetch_all(ex)
    .await
}

/// Delete one of `owner`'s schemas. False when not found.
pub async fn delete(
    ex: impl PgExecutor<'_>,
    owner: UserId,
    id: SchemaId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM extractor_schemas WHERE id = $1 AND owner_id = $2",
        id as SchemaId,
        owner as UserId
    )
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
