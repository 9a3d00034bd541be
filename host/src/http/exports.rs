//! Exports of a run's results through an exporter plugin, downloaded through signed,
//! expiring links.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::db::{self, exports::ExportRow};
use crate::ids::{ExportId, RunId};
use crate::model::ExportStatus;
use crate::state::AppState;
use crate::storage::LinkError;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_export))
        .routes(routes!(get_export))
        .routes(routes!(download_export))
}

/// An export to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// The exporter plugin: its name (`csv-exporter`) or the short form (`csv`).
    pub format: String,
    /// Options for the exporter (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
}

/// An export.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportOut {
    /// Id.
    pub id: ExportId,
    /// The run exported.
    pub run_id: RunId,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: ExportStatus,
    /// Rows written.
    pub row_count: i64,
    /// File size.
    pub size_bytes: i64,
    /// Media type of the file.
    pub media_type: Option<String>,
    /// A fresh signed link (when succeeded); no API key needed to follow it.
    pub download_url: Option<String>,
    /// When the link stops working.
    pub download_expires_at: Option<DateTime<Utc>>,
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
    let (download_url, download_expires_at) = if row.status == ExportStatus::Succeeded {
        let (expires, signature) = state.storage.sign(row.id, state.config.export_link_ttl);
        let base = match &state.config.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", state.config.listen),
        };
        let url = format!(
            "{base}/v1/exports/{}/download?expires={expires}&signature={signature}",
            row.id
        );
        (Some(url), DateTime::from_timestamp(expires as i64, 0))
    } else {
        (None, None)
    };
    ExportOut {
        charged: row.charged,
        credits_consumed: row.credits_consumed,
        id: row.id,
        run_id: row.run_id,
        status: row.status,
        row_count: row.row_count,
        size_bytes: row.size_bytes,
        media_type: row.media_type,
        download_url,
        download_expires_at,
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
              (status = 422, body = ErrorBody)))]
async fn create_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(run): ApiPath<RunId>,
    ApiJson(body): ApiJson<ExportIn>,
) -> ApiResult<(StatusCode, axum::Json<ExportOut>)> {
    let user = caller.0.id;
    db::runs::get(&state.pool, user, run)
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
    let options = body.options.unwrap_or_else(|| serde_json::json!({}));
    if !options.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "options must be a JSON object",
        ));
    }
    let mut plugin = db::plugins::find_visible(&state.pool, user, &body.format, None).await?;
    if plugin.is_none() {
        plugin = db::plugins::find_visible(
            &state.pool,
            user,
            &format!("{}-exporter", body.format),
            None,
        )
        .await?;
    }
    let plugin = plugin
        .filter(|p| p.kind == crate::model::PluginKind::Exporter)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownPlugin,
                format!("there is no exporter {:?} you can use", body.format),
            )
        })?;
    let charged = state.config.credits.charges(caller.0.role);
    if charged && caller.0.credits <= 0 && state.config.credits.price_export_per_megabyte > 0 {
        return Err(ApiError::new(
            ErrorCode::InsufficientCredits,
            "you have no credits left to export; ask an admin for more (GET /v1/me shows your balance)",
        ));
    }
    let row = db::exports::create(&state.pool, user, run, plugin.id, &options, charged)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    state.wake.notify_waiters();
    Ok((StatusCode::ACCEPTED, axum::Json(out(&state, row))))
}

/// An export's status, with a fresh download link once written.
#[utoipa::path(get, path = "/v1/exports/{id}", tag = "exports", params(("id" = ExportId, Path)),
    responses((status = 200, body = ExportOut), (status = 404, body = ErrorBody)))]
async fn get_export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ExportId>,
) -> ApiResult<axum::Json<ExportOut>> {
    let row = db::exports::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("export"))?;
    Ok(axum::Json(out(&state, row)))
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

/// Download an export's file through a signed link (no API key).
#[utoipa::path(get, path = "/v1/exports/{id}/download", tag = "exports", security(()),
    params(("id" = ExportId, Path), LinkQuery),
    responses((status = 200, description = "The file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn download_export(
    State(state): State<AppState>,
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
    let (Some(key), ExportStatus::Succeeded) = (row.storage_key.as_deref(), row.status) else {
        return Err(ApiError::not_found("export file"));
    };
    let file = tokio::fs::File::open(state.storage.path(key))
        .await
        .map_err(|_| ApiError::not_found("export file"))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    // Checked when the exporter was uploaded, and again here for files written before
    // the check: nothing an exporter said reaches a header unless it is safe there.
    let extension = row
        .file_extension
        .as_deref()
        .filter(|e| super::plugins::is_extension(e))
        .unwrap_or("out");
    let media_type = row
        .media_type
        .as_deref()
        .filter(|m| super::plugins::is_media_type(m))
        .unwrap_or("application/octet-stream");
    let filename = format!("export-{id}.{extension}");
    Response::builder()
        .header(header::CONTENT_TYPE, media_type)
        .header(header::CONTENT_LENGTH, row.size_bytes)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(body)
        .map_err(ApiError::internal)
}
