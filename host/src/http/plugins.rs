//! `/v1/plugins`: the plugins a caller may use, uploads (admins, or members when the
//! server allows private plugins), deprecation and deletion.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::ApiPath;
use crate::db::{self, plugins::Plugin, plugins::Upload};
use crate::ids::PluginId;
use crate::runtime::{LoadError, LoadedPlugin};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .routes(routes!(get_plugin, delete_plugin))
        .routes(routes!(deprecate_plugin))
}

/// Bundled plugins, those admins uploaded, and your own.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins", responses((status = 200, body = Vec<Plugin>)))]
async fn list_plugins(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<Plugin>>> {
    Ok(axum::Json(
        db::plugins::list_visible(&state.pool, caller.0.id).await?,
    ))
}

/// One plugin.
#[utoipa::path(get, path = "/v1/plugins/{id}", tag = "plugins", params(("id" = PluginId, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = ErrorBody)))]
async fn get_plugin(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PluginId>,
) -> ApiResult<axum::Json<Plugin>> {
    let plugin = db::plugins::get_visible(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))?;
    Ok(axum::Json(plugin))
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("a plugin may be at most {max} bytes"),
    )
}

/// The component bytes of an upload: the raw body, or the first file of a multipart form.
async fn component_bytes(state: &AppState, request: Request) -> ApiResult<Vec<u8>> {
    let max = state.config.plugins.max_upload.as_u64();
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let limited = http_body_util::Limited::new(
            request.into_body(),
            usize::try_from(max).unwrap_or(usize::MAX),
        );
        return match limited.collect().await {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(max)),
            Err(e) => Err(ApiError::new(
                ErrorCode::MalformedRequest,
                format!("reading the body: {e}"),
            )),
        };
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::new(ErrorCode::MalformedRequest, e.body_text()))?;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::new(ErrorCode::MalformedRequest, e.body_text()))?
    {
        if field.file_name().is_none() && field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| ApiError::new(ErrorCode::MalformedRequest, e.body_text()))?
        {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(too_large(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(ApiError::new(
        ErrorCode::MalformedRequest,
        "the form has no file field",
    ))
}

/// Compile off the request path, one compilation at a time, under a time limit:
/// compiling untrusted code is not free.
async fn compile(state: &AppState, bytes: Arc<Vec<u8>>) -> ApiResult<Arc<LoadedPlugin>> {
    static COMPILING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let _turn = COMPILING.acquire().await.map_err(ApiError::internal)?;
    let runtime = state.runtime.clone();
    let task = tokio::task::spawn_blocking(move || runtime.load(&bytes));
    let limit = state.config.plugins.compile_timeout;
    match tokio::time::timeout(limit, task).await {
        Err(_) => Err(ApiError::new(
            ErrorCode::CompileTimeout,
            format!(
                "compiling the component took longer than {}",
                humantime::format_duration(limit)
            ),
        )),
        Ok(Err(join)) => Err(ApiError::internal(join)),
        Ok(Ok(Err(e @ LoadError::UnsupportedWitVersion { .. }))) => Err(ApiError::new(
            ErrorCode::UnsupportedWitVersion,
            e.to_string(),
        )),
        Ok(Ok(Err(e @ LoadError::Info(_)))) => {
            Err(ApiError::new(ErrorCode::PluginInfoFailed, e.to_string()))
        }
        Ok(Ok(Err(e))) => Err(ApiError::new(ErrorCode::InvalidPlugin, e.to_string())),
        Ok(Ok(Ok(plugin))) => Ok(plugin),
    }
}

/// A component's bytes, as a request body (binary, not a list of numbers).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
struct ComponentBytes(Vec<u8>);

/// Upload a plugin: a WebAssembly component (raw `application/wasm` body, or a multipart
/// form with a file). Name, version, kind and description come from its own `info()`.
/// The same bytes again give back the existing plugin (200); the same name and version with
/// other bytes are a conflict. A member's private uploads count against their `plugins`
/// quota (each version counts; the same version again does not): one more is refused with
/// 403 `quota_plugins`.
#[utoipa::path(post, path = "/v1/plugins", tag = "plugins",
    request_body(content = ComponentBytes, content_type = "application/octet-stream",
        description = "The component's bytes (any content type but `multipart/form-data`, such as `application/wasm`), or a multipart form whose first file is the component"),
    responses((status = 201, body = Plugin), (status = 200, body = Plugin), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_plugin(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<Plugin>)> {
    let user = caller.0;
    let owner = if user.is_admin() {
        None
    } else if state.config.plugins.member_uploads {
        Some(user.id)
    } else {
        return Err(ApiError::forbidden(
            "only admins may upload plugins on this server",
        ));
    };
    let bytes = Arc::new(component_bytes(&state, request).await?);
    if bytes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidPlugin,
            "the upload is empty",
        ));
    }
    let digest: [u8; 32] = Sha256::digest(bytes.as_slice()).into();
    let plugin = compile(&state, bytes.clone()).await?;
    let manifest = &plugin.manifest;
    check_manifest(manifest)?;
    let existing = || {
        ApiError::new(
            ErrorCode::PluginVersionExists,
            format!(
                "{}@{} exists with other bytes: bump the version",
                manifest.name, manifest.version
            ),
        )
    };
    let most_owned = match owner {
        Some(member) => Some(
            crate::quotas::effective(&state.pool, &state.config.quotas, member)
                .await?
                .ok_or_else(|| ApiError::not_found("user"))?
                .0
                .plugins,
        ),
        None => None,
    };
    let uploaded =
        db::plugins::insert_uploaded(&state.pool, owner, most_owned, manifest, &digest, &bytes)
            .await?;
    let (id, status) = match uploaded {
        Upload::Inserted(id) => (id, StatusCode::CREATED),
        Upload::OverQuota(have) => {
            return Err(crate::quotas::Exceeded::Count {
                what: crate::model::quota::Counted::Plugins,
                have,
                most: most_owned.unwrap_or_default(),
            }
            .into());
        }
        Upload::Reserved => {
            return Err(ApiError::new(
                ErrorCode::PluginNameReserved,
                format!(
                    "{:?} is the name of a plugin bundled with trawl: name yours otherwise",
                    manifest.name
                ),
            ));
        }
        Upload::Taken => {
            return Err(ApiError::new(
                ErrorCode::PluginNameTaken,
                format!(
                    "plugins named {:?} belong to someone else: name yours otherwise",
                    manifest.name
                ),
            ));
        }
        Upload::Exists => {
            match db::plugins::by_name_version(&state.pool, &manifest.name, &manifest.version)
                .await?
            {
                Some((id, stored, stored_owner)) if stored == digest && stored_owner == owner => {
                    (id, StatusCode::OK)
                }
                _ => return Err(existing()),
            }
        }
    };
    let found = db::plugins::get_visible(&state.pool, user.id, id)
        .await?
        .ok_or_else(existing)?;
    state.remember_plugin(id, plugin);
    Ok((status, axum::Json(found)))
}

/// Longest plugin name.
pub const MAX_NAME: usize = 64;
/// Longest version string.
const MAX_VERSION: usize = 64;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// What a plugin says about itself must be fit to store, to list and to put in a header:
/// a kebab-case name, a semver version, a one-line description, and for exporters a
/// media type and a file extension of safe characters only.
pub fn check_manifest(manifest: &crate::runtime::PluginManifest) -> ApiResult<()> {
    let name = &manifest.name;
    if !is_plugin_name(name) {
        return Err(ApiError::new(
            ErrorCode::InvalidPluginName,
            format!(
                "the plugin calls itself {:?}: a name is 1 to {MAX_NAME} characters of kebab-case \
                 (lower-case letters and digits, words joined by single hyphens, starting with a letter)",
                truncate(name, 80)
            ),
        ));
    }
    let version = &manifest.version;
    if version.len() > MAX_VERSION || semver::Version::parse(version).is_err() {
        return Err(ApiError::new(
            ErrorCode::InvalidPluginVersion,
            format!(
                "the plugin says its version is {:?}, which is not semver (1.2.3)",
                truncate(version, 80)
            ),
        ));
    }
    let description = &manifest.description;
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidPluginDescription,
            format!("a description is one line of at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Some(media_type) = &manifest.media_type
        && !is_media_type(media_type)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidPluginFormat,
            format!(
                "the exporter's media type {:?} is not a type/subtype of letters, digits and !#$&^_.+-",
                truncate(media_type, 80)
            ),
        ));
    }
    if let Some(extension) = &manifest.extension
        && !is_extension(extension)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidPluginFormat,
            format!(
                "the exporter's file extension {:?} is not 1 to 16 lower-case letters and digits (dots between)",
                truncate(extension, 80)
            ),
        ));
    }
    Ok(())
}

fn truncate(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

/// Kebab-case, 1 to [`MAX_NAME`] characters, starting with a letter.
pub fn is_plugin_name(name: &str) -> bool {
    name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A media type without parameters, of RFC 6838's restricted names (`text/csv`,
/// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`).
pub fn is_media_type(value: &str) -> bool {
    let restricted = |part: &str| {
        (1..=127).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(value.split_once('/'), Some((kind, sub)) if restricted(kind) && restricted(sub))
}

/// A file extension without its leading dot: lower-case letters and digits, dots between
/// (`csv`, `jsonl`, `tar.gz`), 16 characters at most.
pub fn is_extension(value: &str) -> bool {
    value.len() <= 16
        && value.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

async fn manageable(state: &AppState, caller: &Caller, id: PluginId) -> ApiResult<Plugin> {
    let plugin = db::plugins::get_visible(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))?;
    if !caller.0.is_admin() && !plugin.private {
        return Err(ApiError::forbidden("only admins may change shared plugins"));
    }
    Ok(plugin)
}

/// Delete an uploaded plugin no schema or export uses (deprecate it otherwise).
#[utoipa::path(delete, path = "/v1/plugins/{id}", tag = "plugins", params(("id" = PluginId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_plugin(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PluginId>,
) -> ApiResult<StatusCode> {
    let plugin = manageable(&state, &caller, id).await?;
    if plugin.system {
        return Err(ApiError::new(
            ErrorCode::BundledPlugin,
            "bundled plugins come back at every start: deprecate it instead",
        ));
    }
    match db::plugins::delete(&state.pool, id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::not_found("plugin")),
        Err(sqlx::Error::Database(e))
            if matches!(
                e.constraint(),
                Some("extractor_schemas_plugin_id_fkey" | "exports_plugin_id_fkey")
            ) =>
        {
            Err(ApiError::new(
                ErrorCode::PluginInUse,
                "schemas or exports use this plugin: deprecate it instead",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Deprecate a plugin: schemas using it keep running; new schemas cannot pick it without
/// naming its version.
#[utoipa::path(post, path = "/v1/plugins/{id}/deprecate", tag = "plugins", params(("id" = PluginId, Path)),
    responses((status = 200, body = Plugin), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deprecate_plugin(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PluginId>,
) -> ApiResult<axum::Json<Plugin>> {
    manageable(&state, &caller, id).await?;
    db::plugins::deprecate(&state.pool, id).await?;
    let plugin = db::plugins::get_visible(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("plugin"))?;
    Ok(axum::Json(plugin))
}
