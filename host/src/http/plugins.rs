//! `/v1/plugins`: the plugins a caller may use, with what their `info()` says.

use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::ApiResult;
use crate::db::{self, plugins::Plugin};
use crate::server::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_plugins))
}

/// Bundled plugins and your own.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins", responses((status = 200, body = Vec<Plugin>)))]
async fn list_plugins(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<Plugin>>> {
    Ok(axum::Json(
        db::plugins::list_visible(&state.pool, caller.0.id).await?,
    ))
}
