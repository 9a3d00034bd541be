//! The HTTP API: `/v1` resources, bearer-key authentication, JSON errors with stable
//! codes, the OpenAPI document generated from the handlers, and health endpoints.

pub mod auth;
pub mod error;
pub mod exports;
pub mod extract;
pub mod jobs;
pub mod plugins;
pub mod runs;
pub mod schemas;
pub mod users;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::server::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "trawl", description = "Web scraping with WebAssembly extractor and exporter plugins."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The `/v1` router and its OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(schemas::router())
        .merge(jobs::router())
        .merge(runs::router())
        .merge(exports::router())
        .merge(plugins::router())
        .merge(users::router())
        .split_for_parts()
}

/// The whole application, ready to serve (and to drive with `oneshot` in tests).
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api();
    let openapi = std::sync::Arc::new(openapi);
    api.route(
        "/v1/openapi.json",
        get(move || async move { Json(openapi.as_ref().clone()) }),
    )
    .route("/healthz", get(healthz))
    .route("/readyz", get(readyz))
    .fallback(|| async { error::ApiError::not_found("route") })
    .layer(DefaultBodyLimit::max(4 * 1024 * 1024))
    .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query_scalar!("SELECT 1 AS \"one!\"")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!("readiness check: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// `?cursor=&limit=` of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<i64>,
}

impl PageQuery {
    /// The limit, clamped.
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, crate::db::MAX_PAGE)
    }

    /// The cursor as a typed id.
    pub fn cursor<T: std::str::FromStr>(&self) -> Result<Option<T>, error::ApiError> {
        self.cursor
            .as_deref()
            .map(|c| {
                c.parse().map_err(|_| {
                    error::ApiError::bad_request(
                        "invalid_cursor",
                        "the cursor is not one this API gave",
                    )
                })
            })
            .transpose()
    }
}

/// A page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page; `cursor_of` gives the cursor of the last item when the page is full.
    pub fn new(items: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() as i64 == limit {
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }
}
