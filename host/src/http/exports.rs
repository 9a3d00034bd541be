//! Exports of a run's or a whole job's results through an exporter plugin, and the signed,
//! expiring links that download them with no API key: ranges, `HEAD`, revocation.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::list::{Page, PageQuery};
use crate::db::{self, exports::ExportRow};
use crate::ids::{ExportId, JobId, RunId, UserId};
use crate::model::ExportStatus;
use crate::model::export::ExportFilters;
use crate::state::AppState;
use crate::storage::{Backend, FileInfo, LinkError, StorageError, disposition};

/// How long a presigned URL a download redirects to lasts.
const PRESIGNED_FOR: std::time::Duration = std::time::Duration::from_secs(300);
use crate::worker::export::PlanError;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_run_export))
        .routes(routes!(create_job_export))
        .routes(routes!(list_exports))
        .routes(routes!(get_export, delete_export))
        .routes(routes!(download_export))
}

/// An export to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// The exporter plugin: its name (`csv-exporter`) or the short form (`csv`). Bundled:
    /// `csv`, `json`, `jsonl`, `xlsx`, `parquet`.
    pub format: String,
    /// Options: the host's own — `fields` (columns to export, in order), `omit` (columns
    /// to leave out), `include` (extra columns: `source_url`, `confidence`,
    /// `validation_errors`, `fields`, written as `_source_url`, `_confidence`,
    /// `_validation_errors`, `_fields`),
    /// `gzip` (text formats) — and the exporter's, documented per format. Unknown options
    /// are refused (`invalid_export_options`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
    /// Which results to take.
    #[serde(default)]
    pub filters: Option<ExportFilters>,
    /// How long the file and its links last once written (`"24h"`, `"7days"`; default the
    /// server's `TRAWL_EXPORT_TTL`, 24 hours).
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// An export.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportOut {
    /// Id.
    pub id: ExportId,
    /// The run exported; absent for a job export (every run of the job, each item once).
    pub run_id: Option<RunId>,
    /// The job exported, or the run's job.
    pub job_id: JobId,
    /// `queued`, `running`, `succeeded`, `failed`, `expired` or `deleted`.
    pub status: ExportStatus,
    /// Rows written so far (while running) or in all.
    pub row_count: i64,
    /// Bytes written so far (while running) or the file's size.
    pub size_bytes: i64,
    /// Media type of the file.
    pub media_type: Option<String>,
    /// The name the file downloads as.
    pub file_name: Option<String>,
    /// The options asked for.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// The filters asked for.
    pub filters: ExportFilters,
    /// The signed link (when succeeded); no API key needed to follow it, so it can be
    /// shared. It works until `expires_at`, or until the export is deleted.
    pub download_url: Option<String>,
    /// When the file and its link stop (once written).
    pub expires_at: Option<DateTime<Utc>>,
    /// Why it failed.
    pub error: Option<super::runs::RunError>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether its price is taken from the owner's balance.
    pub charged: bool,
    /// Credits it was charged (per megabyte written, see `GET /v1/pricing`).
    pub credits_consumed: i64,
}

fn out(state: &AppState, row: ExportRow) -> ExportOut {
    let download_url = match (row.status, row.expires_at) {
        (ExportStatus::Succeeded, Some(expires)) => {
            let expires = expires.timestamp().max(0) as u64;
            let signature = state.storage.sign_until(row.id, expires);
            let base = match &state.config.public_url {
                Some(u) => u.as_str().trim_end_matches('/').to_owned(),
                None => format!("http://{}", state.config.listen),
            };
            Some(format!(
                "{base}/v1/exports/{}/download?expires={expires}&signature={signature}",
                row.id
            ))
        }
        _ => None,
    };
    ExportOut {
        charged: row.charged,
        credits_consumed: row.credits_consumed,
        id: row.id,
        run_id: row.run_id,
        job_id: row.job_id,
        status: row.status,
        row_count: row.row_count,
        size_bytes: row.size_bytes,
        media_type: row.media_type,
        file_name: row.file_name,
        options: row.options,
        filters: serde_json::from_value(row.filters).unwrap_or_default(),
        download_url,
        expires_at: row.expires_at,
        error: row.error_code.map(|code| super::runs::RunError {
            code,
            message: row.error_message.unwrap_or_default(),
        }),
        created_at: row.created_at,
        finished_at: row.finished_at,
    }
}

/// Export a run's results.
#[utoipa::path(post, path = "/v1/runs/{id}/exports", tag = "exports", params(("id" = RunId, Path)), request_body = ExportIn,
    responses((status = 202, body = ExportOut), (status = 404, body = ErrorBody),
              (status = 402, description = "Exports are charged and you have no credits (`insufficient_credits`)", body = ErrorBody),
              (status = 409, description = "Retention removed the run's results (code `run_pruned`)", body = ErrorBody),
              (status = 422, description = "Unknown format (`unknown_plugin`), options or filters the host or the exporter refuses (`invalid_export_options`)", body = ErrorBody)))]
async fn create_run_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(run): ApiPath<RunId>,
    ApiJson(body): ApiJson<ExportIn>,
) -> ApiResult<(StatusCode, axum::Json<ExportOut>)> {
    let user = caller.0.id;
    let run_row = db::runs::get(&state.pool, user, run)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    if let Some(when) = db::retention::pruned_at(&state.pool, run).await? {
        return Err(ApiError::new(
            ErrorCode::RunPruned,
            format!(
                "retention removed this run's results on {}; exports written before then still download",
                when.format("%Y-%m-%d %H:%M UTC")
            ),
        ));
    }
    create(&state, &caller, Some(run), run_row.job_id, body).await
}

/// Export every run of a job: each item once, however many runs stored it (the first
/// stored is kept, with its source URL and confidence).
#[utoipa::path(post, path = "/v1/jobs/{id}/exports", tag = "exports", params(("id" = JobId, Path)), request_body = ExportIn,
    responses((status = 202, body = ExportOut), (status = 404, body = ErrorBody),
              (status = 402, description = "Exports are charged and you have no credits (`insufficient_credits`)", body = ErrorBody),
              (status = 422, description = "Unknown format (`unknown_plugin`), options or filters the host or the exporter refuses (`invalid_export_options`)", body = ErrorBody)))]
async fn create_job_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(job): ApiPath<JobId>,
    ApiJson(body): ApiJson<ExportIn>,
) -> ApiResult<(StatusCode, axum::Json<ExportOut>)> {
    db::jobs::get(&state.pool, caller.0.id, job)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    create(&state, &caller, None, job, body).await
}

async fn create(
    state: &AppState,
    caller: &Caller,
    run: Option<RunId>,
    job: JobId,
    body: ExportIn,
) -> ApiResult<(StatusCode, axum::Json<ExportOut>)> {
    let user = caller.0.id;
    let options = body.options.unwrap_or_else(|| serde_json::json!({}));
    if !options.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidExportOptions,
            "options must be a JSON object",
        ));
    }
    let filters = body.filters.unwrap_or_default();
    filters
        .check()
        .map_err(|m| ApiError::new(ErrorCode::InvalidExportOptions, m))?;
    let ttl = match body.expires_in.as_deref() {
        None => state.config.export_ttl,
        Some(text) => expires_in(text, state.config.export_max_ttl)?,
    };
    let plugin = exporter(state, user, &body.format).await?;
    let charged = state.config.credits.charges(caller.0.role);
    if charged && caller.0.credits <= 0 && state.config.credits.price_export_per_megabyte > 0 {
        return Err(ApiError::new(
            ErrorCode::InsufficientCredits,
            "you have no credits left to export; ask an admin for more (GET /v1/me shows your balance)",
        ));
    }
    // The exporter is opened once with what it would be given, so that the options it
    // refuses are refused now rather than when the export runs.
    let job_row = db::jobs::get(&state.pool, user, job)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let schema = db::schemas::get(&state.pool, user, job_row.schema_id)
        .await?
        .ok_or_else(|| ApiError::not_found("schema"))?;
    let loaded = state
        .plugin(plugin)
        .await
        .map_err(|e| ApiError::new(ErrorCode::ExporterFailed, e.to_string()))?;
    crate::worker::export::plan(state, user, loaded, &schema.json_schema, &options)
        .await
        .map_err(|e| match e {
            PlanError::Options(m) | PlanError::PluginOptions(m) => {
                ApiError::new(ErrorCode::InvalidExportOptions, m)
            }
            PlanError::Plugin(e) => ApiError::new(ErrorCode::ExporterFailed, e.to_string()),
        })?;
    let filters = serde_json::to_value(&filters).map_err(ApiError::internal)?;
    let row = db::exports::create(
        &state.pool,
        db::exports::NewExport {
            owner: user,
            run,
            job,
            plugin,
            options: &options,
            filters: &filters,
            ttl_secs: ttl.as_secs() as i64,
            charged,
        },
    )
    .await?;
    state.wake.notify_waiters();
    Ok((StatusCode::ACCEPTED, axum::Json(out(state, row))))
}

/// `expires_in` as a duration within the server's bounds.
fn expires_in(text: &str, max: Duration) -> Result<Duration, ApiError> {
    let ttl = humantime::parse_duration(text).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidExportOptions,
            format!("expires_in must be a duration like \"24h\" or \"7days\": {e}"),
        )
    })?;
    if ttl < Duration::from_secs(60) || ttl > max {
        return Err(ApiError::new(
            ErrorCode::InvalidExportOptions,
            format!(
                "expires_in must be between 1 minute and {} (TRAWL_EXPORT_MAX_TTL)",
                humantime::format_duration(max)
            ),
        ));
    }
    Ok(ttl)
}

/// The exporter a format names, among those the caller may use.
async fn exporter(
    state: &AppState,
    user: UserId,
    format: &str,
) -> Result<crate::ids::PluginId, ApiError> {
    let mut plugin = db::plugins::find_visible(&state.pool, user, format, None).await?;
    if plugin.is_none() {
        plugin = db::plugins::find_visible(&state.pool, user, &format!("{format}-exporter"), None)
            .await?;
    }
    plugin
        .filter(|p| p.kind == crate::model::PluginKind::Exporter)
        .map(|p| p.id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownPlugin,
                format!("there is no exporter {format:?} you can use"),
            )
        })
}

/// Which exports to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this run's exports.
    pub run_id: Option<RunId>,
    /// Only this job's exports (its runs' and its own).
    pub job_id: Option<JobId>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<i64>,
}

/// Your exports, newest first (deleted ones left out).
#[utoipa::path(get, path = "/v1/exports", tag = "exports", params(ListQuery),
    responses((status = 200, body = Page<ExportOut>), (status = 400, body = ErrorBody)))]
async fn list_exports(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<axum::Json<Page<ExportOut>>> {
    let page = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    };
    let limit = page.limit();
    let rows = db::exports::list(
        &state.pool,
        caller.0.id,
        q.run_id,
        q.job_id,
        page.cursor()?,
        limit,
    )
    .await?;
    let items = rows.into_iter().map(|r| out(&state, r)).collect();
    Ok(axum::Json(Page::new(items, limit, |e: &ExportOut| {
        e.id.to_string()
    })))
}

/// An export's status and progress, with its download link once written.
#[utoipa::path(get, path = "/v1/exports/{id}", tag = "exports", params(("id" = ExportId, Path)),
    responses((status = 200, body = ExportOut), (status = 404, body = ErrorBody)))]
async fn get_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ExportId>,
) -> ApiResult<axum::Json<ExportOut>> {
    let row = db::exports::get(&state.pool, caller.0.id, id)
        .await?
        .filter(|r| r.status != ExportStatus::Deleted)
        .ok_or_else(|| ApiError::not_found("export"))?;
    Ok(axum::Json(out(&state, row)))
}

/// Delete an export: its links stop at once (`link_revoked`), its file is removed, and a
/// worker writing it stops.
#[utoipa::path(delete, path = "/v1/exports/{id}", tag = "exports", params(("id" = ExportId, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
async fn delete_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ExportId>,
) -> ApiResult<StatusCode> {
    let row = db::exports::delete(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("export"))?;
    // The link is dead already; the file goes now, or at the janitor's next round.
    if let Some(key) = row.storage_key.as_deref()
        && let Some(backend) = Backend::of(row.storage_backend.as_deref())
    {
        match state.storage.delete(backend, key).await {
            Ok(()) => db::exports::forget_file(&state.pool, id).await?,
            Err(e) => tracing::warn!(export = %id, "deleting an export's file: {e}"),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signature of a download link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Unix time the link expires.
    pub expires: u64,
    /// The signature.
    pub signature: String,
}

/// One byte range of a file, inclusive of `start`, exclusive of `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// A `Range` that lies outside the file (or does not parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// What a `Range` header asks of a file of `size` bytes: `Ok(None)` for the whole file
/// (no header, another unit, or several ranges, which are answered whole), `Err` when
/// the range lies outside the file.
pub fn byte_range(header: Option<&str>, size: u64) -> Result<Option<ByteRange>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        // The last `n` bytes.
        let n: u64 = last.parse().map_err(|_| Unsatisfiable)?;
        if n == 0 || size == 0 {
            return Err(Unsatisfiable);
        }
        ByteRange {
            start: size.saturating_sub(n),
            end: size,
        }
    } else {
        let start: u64 = first.parse().map_err(|_| Unsatisfiable)?;
        let end = if last.is_empty() {
            size
        } else {
            let last: u64 = last.parse().map_err(|_| Unsatisfiable)?;
            if last < start {
                return Err(Unsatisfiable);
            }
            last.saturating_add(1).min(size)
        };
        if start >= size {
            return Err(Unsatisfiable);
        }
        ByteRange { start, end }
    };
    Ok(Some(range))
}

/// Download an export's file through its signed link (no API key). Answers `HEAD`, and
/// one byte range (`Range: bytes=…`) with `206`.
#[utoipa::path(get, path = "/v1/exports/{id}/download", tag = "exports", security(()),
    params(("id" = ExportId, Path), LinkQuery),
    responses((status = 200, description = "The file"), (status = 206, description = "The range asked for"),
              (status = 403, description = "A tampered link (`invalid_signature`), one past its time or of an export that expired (`link_expired`), or of a deleted export (`link_revoked`)", body = ErrorBody),
              (status = 307, description = "With a bucket that redirects downloads (`TRAWL_S3_REDIRECT`): a presigned URL of the file, valid for five minutes"),
              (status = 404, body = ErrorBody), (status = 416, body = ErrorBody)))]
async fn download_export(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    ApiPath(id): ApiPath<ExportId>,
    ApiQuery(link): ApiQuery<LinkQuery>,
) -> ApiResult<Response> {
    state
        .storage
        .verify(id, link.expires, &link.signature)
        .map_err(|e| match e {
            LinkError::BadSignature => ApiError::new(ErrorCode::InvalidSignature, e.to_string()),
            LinkError::Expired => ApiError::new(ErrorCode::LinkExpired, e.to_string()),
        })?;
    let row = db::exports::get_any(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("export"))?;
    match row.status {
        ExportStatus::Deleted => {
            return Err(ApiError::new(
                ErrorCode::LinkRevoked,
                "the export was deleted, and its links with it",
            ));
        }
        ExportStatus::Expired => {
            return Err(ApiError::new(
                ErrorCode::LinkExpired,
                "the export expired and its file was deleted",
            ));
        }
        _ => {}
    }
    let (Some(key), ExportStatus::Succeeded) = (row.storage_key.as_deref(), row.status) else {
        return Err(ApiError::not_found("export file"));
    };
    if row.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::new(
            ErrorCode::LinkExpired,
            "the export expired and its file is being deleted",
        ));
    }
    // Checked when the exporter was uploaded, and again here for files written before
    // the check: nothing an exporter said reaches a header unless it is safe there.
    let extension = row
        .file_extension
        .as_deref()
        .filter(|e| e.split('.').all(super::plugins::is_extension))
        .unwrap_or("out");
    let media_type = row
        .media_type
        .as_deref()
        .filter(|m| super::plugins::is_media_type(m))
        .unwrap_or("application/octet-stream");
    let filename = row
        .file_name
        .clone()
        .unwrap_or_else(|| format!("export-{id}.{extension}"));
    let size = row.size_bytes.max(0) as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|h| byte_range(Some(h), size));
    let range = match range {
        None => None,
        Some(Ok(r)) => r,
        Some(Err(Unsatisfiable)) => {
            let mut response = ApiError::new(
                ErrorCode::RangeNotSatisfiable,
                format!("the file is {size} bytes long"),
            )
            .into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                format!("bytes */{size}")
                    .parse()
                    .expect("a number is a header value"),
            );
            return Ok(response);
        }
    };
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CONTENT_DISPOSITION, disposition(&filename))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{id}\""))
        .header(header::CACHE_CONTROL, "private, no-transform");
    let (start, len) = match range {
        Some(r) => {
            builder = builder.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", r.start, r.end - 1),
            );
            (r.start, r.end - r.start)
        }
        None => (0, size),
    };
    builder = builder.header(header::CONTENT_LENGTH, len);
    if method == Method::HEAD {
        return builder.body(Body::empty()).map_err(ApiError::internal);
    }
    let backend = Backend::of(row.storage_backend.as_deref())
        .ok_or_else(|| ApiError::not_found("export file"))?;
    if method == Method::GET {
        // With a bucket that redirects, the bytes come from it: a URL presigned for a
        // few minutes (its own expiry, whatever the link's), which the client follows at
        // once, with its `Range` if it sent one.
        let info = FileInfo {
            media_type,
            disposition: &disposition(&filename),
        };
        if let Some(url) = state
            .storage
            .presigned(backend, key, PRESIGNED_FOR, info)
            .await
            .map_err(ApiError::internal)?
        {
            return Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(header::LOCATION, url.as_str())
                .header(header::CACHE_CONTROL, "private, no-store")
                .body(Body::empty())
                .map_err(ApiError::internal);
        }
    }
    let body = match state.storage.read(backend, key, start, len).await {
        Ok(body) => body,
        Err(StorageError::NotFound) => return Err(ApiError::not_found("export file")),
        Err(e) => return Err(ApiError::internal(e)),
    };
    builder.body(body).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |h: &str| byte_range(Some(h), 100);
        assert_eq!(r("bytes=0-9"), Ok(Some(ByteRange { start: 0, end: 10 })));
        assert_eq!(
            r("bytes=90-"),
            Ok(Some(ByteRange {
                start: 90,
                end: 100
            }))
        );
        assert_eq!(
            r("bytes=-5"),
            Ok(Some(ByteRange {
                start: 95,
                end: 100
            }))
        );
        assert_eq!(r("bytes=-500"), Ok(Some(ByteRange { start: 0, end: 100 })));
        assert_eq!(
            r("bytes=50-5000"),
            Ok(Some(ByteRange {
                start: 50,
                end: 100
            }))
        );
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("items=0-1"), Ok(None));
        assert_eq!(r("bytes=100-"), Err(Unsatisfiable));
        assert_eq!(r("bytes=9-3"), Err(Unsatisfiable));
        assert_eq!(r("bytes=-0"), Err(Unsatisfiable));
        assert_eq!(r("bytes=x-"), Err(Unsatisfiable));
        assert_eq!(byte_range(Some("bytes=0-"), 0), Err(Unsatisfiable));
    }
}
