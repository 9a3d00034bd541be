//! `/v1/schemas`: extractor schemas (a JSON Schema with `x-` hints, an extractor plugin,
//! its options and a validation mode).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::list::{NamedPageQuery, Page};
use crate::db::{self, ResultExt, schemas::SchemaRow};
use crate::ids::{PluginId, SchemaId};
use crate::model::ValidationMode;
use crate::model::quota::Counted;
use crate::runtime::SchemaLimits;
use crate::state::AppState;
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_schema, list_schemas))
        .routes(routes!(get_schema, replace_schema, delete_schema))
}

/// A schema to create or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaIn {
    /// Unique among your schemas.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The JSON Schema of one item, with `x-` extraction hints for the plugin.
    #[schema(value_type = Object)]
    pub json_schema: Box<RawValue>,
    /// Extractor plugin name (default `css-extractor`).
    #[serde(default = "default_plugin")]
    pub plugin: String,
    /// A plugin version; the newest non-deprecated one when absent.
    pub plugin_version: Option<String>,
    /// Options handed to the plugin (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub plugin_options: Option<serde_json::Value>,
    /// Default `strict`.
    #[serde(default)]
    pub validation_mode: ValidationMode,
    /// Limits of each plugin call: lower than the server's defaults, or higher up to the
    /// admin-set ceilings.
    #[serde(default)]
    pub limits: SchemaLimits,
}

fn default_plugin() -> String {
    "css-extractor".into()
}

/// The plugin a schema uses.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginRef {
    /// Id.
    pub id: PluginId,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
}

/// A stored schema.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchemaOut {
    /// Id.
    pub id: SchemaId,
    /// Name.
    pub name: String,
    /// Starts at 1; every replacement adds one.
    pub version: i32,
    /// The JSON Schema as written.
    #[schema(value_type = Object)]
    pub json_schema: Box<RawValue>,
    /// The extractor.
    pub plugin: PluginRef,
    /// Plugin options.
    #[schema(value_type = Object)]
    pub plugin_options: serde_json::Value,
    /// `strict`, `lenient` or `off`.
    pub validation_mode: ValidationMode,
    /// Plugin call limits set by the schema.
    pub limits: SchemaLimits,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last replaced.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<SchemaRow> for SchemaOut {
    type Error = ApiError;

    fn try_from(row: SchemaRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id,
            name: row.name,
            version: row.version,
            json_schema: RawValue::from_string(row.json_schema).map_err(ApiError::internal)?,
            plugin: PluginRef {
                id: row.plugin_id,
                name: row.plugin_name,
                version: row.plugin_version,
            },
            plugin_options: row.plugin_options,
            validation_mode: row.validation_mode,
            limits: serde_json::from_value(row.limits).map_err(ApiError::internal)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Check a schema request and resolve its plugin.
async fn checked(
    state: &AppState,
    caller: &Caller,
    body: &SchemaIn,
) -> ApiResult<(PluginId, serde_json::Value)> {
    if body.name.trim().is_empty() || body.name.chars().count() > 200 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "name must be 1 to 200 characters",
        ));
    }
    let value: serde_json::Value = serde_json::from_str(body.json_schema.get())
        .map_err(|e| ApiError::new(ErrorCode::InvalidSchema, e.to_string()))?;
    if let Err(problems) = validate::check_schema(&value) {
        return Err(
            ApiError::new(ErrorCode::InvalidSchema, "the JSON Schema is not valid")
                .with_details(problems),
        );
    }
    if let Err(why) = body
        .limits
        .apply(state.runtime.default_call_limits(), state.runtime.limits())
    {
        return Err(ApiError::new(ErrorCode::LimitAboveCeiling, why));
    }
    let options = body
        .plugin_options
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    if !options.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "plugin_options must be a JSON object",
        ));
    }
    let plugin = extractor(state, caller, &body.plugin, body.plugin_version.as_deref()).await?;
    ask_the_plugin(state, caller, &plugin, body, &options).await?;
    Ok((plugin.id, options))
}

/// The extractor plugin of that name (and version, or the newest) the caller may use.
pub(super) async fn extractor(
    state: &AppState,
    caller: &Caller,
    name: &str,
    version: Option<&str>,
) -> ApiResult<db::plugins::Plugin> {
    let plugin = db::plugins::find_visible(&state.pool, caller.0.id, name, version)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownPlugin,
                format!("there is no extractor plugin named {name:?} you can use"),
            )
        })?;
    if plugin.kind != crate::model::PluginKind::Extractor {
        return Err(ApiError::new(
            ErrorCode::WrongPluginKind,
            format!("{} is an {}, not an extractor", plugin.name, plugin.kind),
        ));
    }
    Ok(plugin)
}

/// How long the plugin may take to look at a schema.
const CHECK_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Let the plugin check the schema: the host calls it on an empty page, and a schema (or
/// options) it cannot use comes back as its `invalid-input` error, with a JSON pointer
/// to the place when the plugin gives one (`/properties/price: …`). Anything else the
/// call does (items, other errors, a trap, running out of time on a page with nothing
/// on it) says nothing about the schema: it is saved, and a run reports what happens.
async fn ask_the_plugin(
    state: &AppState,
    caller: &Caller,
    plugin: &db::plugins::Plugin,
    body: &SchemaIn,
    options: &serde_json::Value,
) -> ApiResult<()> {
    let loaded = match state.plugin(plugin.id).await {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::warn!(
                "checking a schema: plugin {}@{}: {e}",
                plugin.name,
                plugin.version
            );
            return Ok(());
        }
    };
    let mut limits = body
        .limits
        .apply(state.runtime.default_call_limits(), state.runtime.limits())
        .map_err(|why| ApiError::new(ErrorCode::LimitAboveCeiling, why))?;
    limits.timeout = limits.timeout.min(CHECK_TIME);
    limits.owner = Some(caller.0.id);
    let page = std::sync::Arc::new(crate::runtime::PageData {
        url: "https://schema-check.trawl.invalid/".into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: "<!doctype html><html><head></head><body></body></html>".into(),
    });
    let checked = state
        .runtime
        .extract_limited(
            &loaded,
            page,
            body.json_schema.get().into(),
            options.to_string().into(),
            None,
            limits,
        )
        .await;
    let Err(e) = checked else { return Ok(()) };
    let crate::runtime::CallErrorKind::Plugin(error) = &e.kind else {
        return Ok(());
    };
    if error.kind != crate::runtime::PluginErrorKind::InvalidInput {
        return Ok(());
    }
    let (path, message) = pointed(&error.message);
    Err(ApiError::new(
        ErrorCode::InvalidSchema,
        format!("{} cannot use this schema: {message}", e.plugin),
    )
    .with_details(vec![validate::Problem {
        path: path.to_owned(),
        message: message.to_owned(),
    }]))
}

/// A plugin's message split into the JSON pointer it starts with (`/properties/a: …`),
/// if it starts with one, and the rest.
fn pointed(message: &str) -> (&str, &str) {
    match message.split_once(": ") {
        Some((pointer, rest)) if pointer.starts_with('/') && !pointer.contains(' ') => {
            (pointer, rest)
        }
        _ => ("", message),
    }
}

/// Create a schema. Refused with 403 `quota_schemas` when the caller has as many schemas
/// as their quota allows (`GET /v1/me` shows it; an admin can raise it).
#[utoipa::path(post, path = "/v1/schemas", tag = "schemas", request_body = SchemaIn,
    responses((status = 201, body = SchemaOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_schema(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SchemaIn>,
) -> ApiResult<(StatusCode, axum::Json<SchemaOut>)> {
    let (plugin_id, options) = checked(&state, &caller, &body).await?;
    let limits = serde_json::to_value(&body.limits).map_err(ApiError::internal)?;
    let new = db::schemas::NewSchema {
        name: &body.name,
        json_schema: body.json_schema.get(),
        plugin_id,
        plugin_options: &options,
        validation_mode: body.validation_mode,
        limits: &limits,
    };
    let mut tx = state.pool.begin().await?;
    crate::quotas::reserve(&mut tx, &state.config.quotas, caller.0.id, Counted::Schemas).await?;
    let id = db::schemas::create(&mut *tx, caller.0.id, &new)
        .await
        .on_constraint("extractor_schemas_owner_name_key", || {
            ApiError::new(
                ErrorCode::SchemaNameTaken,
                format!("you already have a schema named {:?}", body.name),
            )
        })?;
    tx.commit().await?;
    let row = db::schemas::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::internal("schema vanished"))?;
    Ok((StatusCode::CREATED, axum::Json(row.try_into()?)))
}

/// List your schemas, newest first, searched by name.
#[utoipa::path(get, path = "/v1/schemas", tag = "schemas", params(NamedPageQuery),
    responses((status = 200, body = Page<SchemaOut>)))]
async fn list_schemas(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(named): ApiQuery<NamedPageQuery>,
) -> ApiResult<axum::Json<Page<SchemaOut>>> {
    let q = named.page();
    let rows = db::schemas::list(
        &state.pool,
        caller.0.id,
        q.cursor()?,
        q.limit(),
        named.name()?,
    )
    .await?;
    let items = rows
        .into_iter()
        .map(SchemaOut::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(Page::new(items, q.limit(), |s| {
        s.id.to_string()
    })))
}

/// One schema.
#[utoipa::path(get, path = "/v1/schemas/{id}", tag = "schemas", params(("id" = SchemaId, Path)),
    responses((status = 200, body = SchemaOut), (status = 404, body = ErrorBody)))]
async fn get_schema(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SchemaId>,
) -> ApiResult<axum::Json<SchemaOut>> {
    let row = db::schemas::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("schema"))?;
    Ok(axum::Json(row.try_into()?))
}

/// Replace a schema (its version goes up by one; runs already going keep the old one).
#[utoipa::path(put, path = "/v1/schemas/{id}", tag = "schemas", params(("id" = SchemaId, Path)), request_body = SchemaIn,
    responses((status = 200, body = SchemaOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_schema(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SchemaId>,
    ApiJson(body): ApiJson<SchemaIn>,
) -> ApiResult<axum::Json<SchemaOut>> {
    db::schemas::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("schema"))?;
    let (plugin_id, options) = checked(&state, &caller, &body).await?;
    let limits = serde_json::to_value(&body.limits).map_err(ApiError::internal)?;
    let new = db::schemas::NewSchema {
        name: &body.name,
        json_schema: body.json_schema.get(),
        plugin_id,
        plugin_options: &options,
        validation_mode: body.validation_mode,
        limits: &limits,
    };
    let found = db::schemas::update(&state.pool, caller.0.id, id, &new)
        .await
        .on_constraint("extractor_schemas_owner_name_key", || {
            ApiError::new(
                ErrorCode::SchemaNameTaken,
                format!("you already have a schema named {:?}", body.name),
            )
        })?;
    if !found {
        return Err(ApiError::not_found("schema"));
    }
    let row = db::schemas::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("schema"))?;
    Ok(axum::Json(row.try_into()?))
}

/// Delete a schema no job uses.
#[utoipa::path(delete, path = "/v1/schemas/{id}", tag = "schemas", params(("id" = SchemaId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_schema(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SchemaId>,
) -> ApiResult<StatusCode> {
    let deleted = db::schemas::delete(&state.pool, caller.0.id, id)
        .await
        .on_constraint("scraping_jobs_schema_id_fkey", || {
            ApiError::new(
                ErrorCode::SchemaInUse,
                "jobs use this schema: delete them or point them elsewhere first",
            )
        })?;
    if !deleted {
        return Err(ApiError::not_found("schema"));
    }
    Ok(StatusCode::NO_CONTENT)
}
