//! The HTTP API: `/v1` resources, bearer-key authentication, JSON errors with stable
//! codes, the OpenAPI document generated from the handlers, and health endpoints.

pub mod auth;
pub mod console;
pub mod credits;
pub mod error;
pub mod exports;
pub mod extract;
pub mod jobs;
pub mod list;
pub mod metrics;
pub mod plugins;
pub mod preview;
pub mod rate_limit;
pub mod runs;
pub mod schemas;
pub mod users;
pub mod webhooks;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "trawl", description = "Web scraping with WebAssembly extractor and exporter plugins."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    // Named only by query parameters, whose schemas the routers do not always collect.
    components(schemas(credits::UsageGroup))
)]
struct ApiDoc;

/// The answers every operation can give, added to each operation's own: 400 (a
/// malformed query, path or header), 401 (no key, or one that is unknown or revoked:
/// all but the operations that need none), 404 (any id in the path, malformed ones
/// included, may name nothing you can see), and for JSON bodies 413 (over 4 MiB), 415
/// (not `application/json`) and 422 (well-formed but unacceptable). Operations that take a
/// key also answer 429 (the key's rate limit, with `Retry-After`), and each of their answers
/// carries the `RateLimit-*` headers while the host limits the rate.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let count = |description: &str| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some(description))
                .build()
        };
        let rate_headers = [
            (
                "RateLimit-Limit",
                "Requests the key may make at once (its burst); refilled at its rate per second. \
                 Absent when the host does not limit the rate.",
            ),
            (
                "RateLimit-Remaining",
                "Requests the key may still make at once, now.",
            ),
            ("X-RateLimit-Limit", "The same as `RateLimit-Limit`."),
            (
                "X-RateLimit-Remaining",
                "The same as `RateLimit-Remaining`.",
            ),
        ];
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let takes_id = path.contains('{');
            for operation in [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                let keyless = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().any(|r| r == &Default::default()));
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                add(
                    "400",
                    "A malformed query, path parameter or header (code `invalid_query`, `invalid_cursor`, …).",
                );
                if !keyless {
                    add(
                        "401",
                        "No API key, or one that is unknown or revoked (code `unauthorized`).",
                    );
                    add(
                        "429",
                        "Too many requests with this key (code `rate_limited`): wait `Retry-After` \
                         seconds. Each host counts the requests it serves.",
                    );
                }
                if takes_id {
                    add(
                        "404",
                        "Nothing you can see has this id (malformed ids included).",
                    );
                }
                if json_body {
                    add("400", "The body is not JSON (code `invalid_json`).");
                    add(
                        "413",
                        "The body is larger than 4 MiB (code `payload_too_large`).",
                    );
                    add(
                        "415",
                        "The body is not sent as `application/json` (code `unsupported_media_type`).",
                    );
                    add(
                        "422",
                        "Well-formed but unacceptable; `details` says where and why.",
                    );
                }
                if keyless {
                    continue;
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    for (name, description) in rate_headers {
                        response.headers.insert(name.to_owned(), count(description));
                    }
                    if status == "429" {
                        response.headers.insert(
                            "Retry-After".to_owned(),
                            count("Whole seconds (at least 1) until the key may make a request again."),
                        );
                    }
                }
            }
        }
    }
}

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
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(schemas::router())
        .merge(jobs::router())
        .merge(runs::router())
        .merge(exports::router())
        .merge(plugins::router())
        .merge(users::router())
        .merge(credits::router())
        .merge(webhooks::router())
        .merge(preview::router())
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(readyz))
        .merge(metrics::router());
    let (router, mut openapi) = router.split_for_parts();
    // After the routers' paths are in: a modifier of the derive runs before them.
    CommonResponses.modify(&mut openapi);
    (router, openapi)
}

/// The OpenAPI document as the console's generated client reads it (`ui/openapi.json`):
/// pretty-printed JSON, keys in the document's order.
pub fn openapi_text() -> String {
    serde_json::to_string_pretty(&api().1).expect("the document always serialises")
}

/// The whole application, ready to serve (and to drive with `oneshot` in tests).
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api();
    let openapi = std::sync::Arc::new(openapi);
    api.route(
        "/v1/openapi.json",
        get(move || async move { Json(openapi.as_ref().clone()) }),
    )
    .merge(console::router())
    .fallback(|| async { error::ApiError::not_found("route") })
    .layer(axum::middleware::from_fn(rate_limit::headers))
    .layer(DefaultBodyLimit::max(4 * 1024 * 1024))
    .with_state(state)
}

/// Liveness: the process answers (no key needed, no database asked).
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The host is up", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the host can reach its database (no key needed).
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, description = "Ready", body = String, content_type = "text/plain"),
              (status = 503, description = "The database cannot be reached", body = String, content_type = "text/plain")))]
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

#[cfg(test)]
mod tests {
    /// The console's client is generated from `ui/openapi.json`: it must be the document
    /// the API serves (`trawl openapi > ui/openapi.json`, then `npm run gen` in ui/).
    #[test]
    fn the_console_reads_the_current_document() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/openapi.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed.trim_end() == super::openapi_text(),
            "ui/openapi.json is not the API's document: run `cargo run -p trawl-host -- openapi > ui/openapi.json` and `npm run gen` in ui/, and commit both"
        );
    }

    /// Every `$ref` of the document names a schema it defines (a client generator stops at
    /// the first that does not).
    #[test]
    fn every_reference_is_defined() {
        let text = super::openapi_text();
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        let defined = doc["components"]["schemas"].as_object().expect("schemas");
        let missing: Vec<&str> = text
            .split("\"#/components/schemas/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|name| !defined.contains_key(*name))
            .collect();
        assert!(
            missing.is_empty(),
            "referenced but not defined: {missing:?}"
        );
    }

    /// The document holds the list of error codes, and every error answer's code names it.
    #[test]
    fn the_document_has_the_error_codes() {
        let (_, doc) = super::api();
        let doc = serde_json::to_value(doc).expect("json");
        let schemas = &doc["components"]["schemas"];
        assert!(
            schemas["ErrorCode"]["enum"].is_array(),
            "{}",
            schemas["ErrorCode"]
        );
        assert_eq!(
            schemas["ErrorDetail"]["properties"]["code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
    }

    /// Every operation that takes a key documents the rate limit's 429 with `Retry-After`,
    /// and the `RateLimit-*` headers on its answers; those that take none do not.
    #[test]
    fn keyed_operations_document_the_rate_limit() {
        let (_, doc) = super::api();
        let doc = serde_json::to_value(doc).expect("json");
        let paths = doc["paths"].as_object().expect("paths");
        let mut keyed = 0;
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("an item") {
                let keyless = operation["security"].as_array().is_some_and(|s| {
                    s.iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                });
                let responses = &operation["responses"];
                if keyless {
                    assert!(responses["429"].is_null(), "{method} {path}");
                    continue;
                }
                keyed += 1;
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                for (status, response) in responses.as_object().expect("responses") {
                    assert!(
                        response["headers"]["RateLimit-Remaining"].is_object(),
                        "{method} {path} {status}"
                    );
                }
            }
        }
        assert!(keyed > 20, "{keyed}");
    }
}
