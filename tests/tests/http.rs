//! The HTTP API driven in memory (`app(state).oneshot`) over a real per-test database:
//! authentication, tenancy, validation errors and the OpenAPI document.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use trawl_host::{AppState, Config, db, keys};

struct Api {
    state: AppState,
    _dir: trawl_tests::TempDir,
    _db: trawl_tests::TestDb,
}

impl Api {
    async fn new() -> Self {
        let db = trawl_tests::test_db().await.expect("test database");
        let dir = trawl_tests::TempDir::new();
        let state = AppState::new(Config::for_tests(dir.0.clone()), db.pool.clone())
            .await
            .expect("state");
        Self {
            state,
            _dir: dir,
            _db: db,
        }
    }

    async fn user(&self, email: &str, role: &str) -> String {
        let user = db::users::create(&self.state.pool, email, role.parse().expect("a role"), 0)
            .await
            .expect("user");
        // Credits enough for any run here: members' runs are charged.
        let mut conn = self.state.pool.acquire().await.expect("a connection");
        db::ledger::adjust(
            &mut conn,
            user.id,
            trawl_host::model::pricing::LedgerKind::Grant,
            1_000_000,
            "test credits",
            None,
        )
        .await
        .expect("a grant");
        let (key, hash) = keys::new_api_key();
        db::api_keys::create(
            &self.state.pool,
            user.id,
            "k",
            &keys::key_prefix(&key),
            &hash,
        )
        .await
        .expect("key");
        key
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let request = match body {
            Some(b) => request
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = trawl_host::http::app(self.state.clone())
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, value)
    }
}

fn schema_body(name: &str) -> Value {
    json!({
        "name": name,
        "json_schema": {"type": "object", "properties": {"title": {"type": "string", "x-selector": "h1"}}}
    })
}

#[tokio::test]
async fn no_key_or_a_bad_key_is_401() {
    let api = Api::new().await;
    let (status, body) = api.call("GET", "/v1/schemas", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, body) = api
        .call("GET", "/v1/schemas", Some("trawl_nope"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_api_key");
}

/// Authenticating reads: a key's `last_used_at` is written beside the first request, and
/// not again by the requests of the next minute; a revoked key is refused at once.
#[tokio::test]
async fn a_keys_use_is_written_down_once_a_minute_and_revoking_is_immediate() {
    let api = Api::new().await;
    let key = api.user("used@example.com", "member").await;
    let hash = keys::hash_api_key(&key);
    let last_used = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "SELECT last_used_at FROM api_keys WHERE key_hash = $1",
        )
        .bind(&hash)
        .fetch_one(&api.state.pool)
        .await
        .expect("the key's row")
    };
    assert_eq!(last_used().await, None);
    let (status, _) = api.call("GET", "/v1/schemas", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut first = None;
    for _ in 0..100 {
        first = last_used().await;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(first.is_some(), "the first use was not written down");
    for _ in 0..20 {
        let (status, _) = api.call("GET", "/v1/schemas", Some(&key), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        last_used().await,
        first,
        "a use within the minute wrote again"
    );

    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1")
        .bind(&hash)
        .execute(&api.state.pool)
        .await
        .expect("revoking");
    let (status, body) = api.call("GET", "/v1/schemas", Some(&key), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn another_tenants_rows_are_404() {
    let api = Api::new().await;
    let alice = api.user("alice@example.com", "member").await;
    let bob = api.user("bob@example.com", "member").await;
    let (status, schema) = api
        .call(
            "POST",
            "/v1/schemas",
            Some(&alice),
            Some(schema_body("mine")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{schema}");
    let id = schema["id"].as_str().expect("id");
    let job = json!({"name": "j", "schema_id": id, "start_urls": ["http://127.0.0.1:9/"]});
    let (status, job) = api.call("POST", "/v1/jobs", Some(&alice), Some(job)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let job_id = job["id"].as_str().expect("job id");

    for (method, path, body) in [
        ("GET", format!("/v1/schemas/{id}"), None),
        (
            "PUT",
            format!("/v1/schemas/{id}"),
            Some(schema_body("theirs")),
        ),
        ("DELETE", format!("/v1/schemas/{id}"), None),
        ("GET", format!("/v1/jobs/{job_id}"), None),
        ("DELETE", format!("/v1/jobs/{job_id}"), None),
        ("POST", format!("/v1/jobs/{job_id}/runs"), None),
        ("GET", format!("/v1/jobs/{job_id}/runs"), None),
    ] {
        let (status, body) = api.call(method, &path, Some(&bob), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    // Bob cannot use Alice's schema for a job of his own either.
    let job = json!({"name": "j", "schema_id": id, "start_urls": ["http://127.0.0.1:9/"]});
    let (status, body) = api.call("POST", "/v1/jobs", Some(&bob), Some(job)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "unknown_schema");
    // Lists are per owner.
    let (_, list) = api.call("GET", "/v1/schemas", Some(&bob), None).await;
    assert_eq!(list["items"], json!([]));
    let (_, list) = api.call("GET", "/v1/schemas", Some(&alice), None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    // And Alice's run of her job is hers alone.
    let (status, run) = api
        .call(
            "POST",
            &format!("/v1/jobs/{job_id}/runs"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let run_id = run["id"].as_str().expect("run id");
    for path in [
        format!("/v1/runs/{run_id}"),
        format!("/v1/runs/{run_id}/results"),
    ] {
        let (status, _) = api.call("GET", &path, Some(&bob), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = api
        .call(
            "POST",
            &format!("/v1/runs/{run_id}/cancel"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call(
            "POST",
            &format!("/v1/runs/{run_id}/exports"),
            Some(&bob),
            Some(json!({"format": "csv"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_schemas_and_unknown_plugins_are_422() {
    let api = Api::new().await;
    let key = api.user("carol@example.com", "member").await;
    let bad = json!({"name": "bad", "json_schema": {"type": "object", "properties": {"price": {"type": "nummber"}}}});
    let (status, body) = api.call("POST", "/v1/schemas", Some(&key), Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_schema");
    let details = body["error"]["details"].as_array().expect("details");
    assert!(
        details.iter().any(|d| d["path"]
            .as_str()
            .is_some_and(|p| p.contains("/properties/price"))),
        "{body}"
    );

    let mut unknown = schema_body("u");
    unknown["plugin"] = json!("no-such-plugin");
    let (status, body) = api
        .call("POST", "/v1/schemas", Some(&key), Some(unknown))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "unknown_plugin");

    let mut exporter = schema_body("e");
    exporter["plugin"] = json!("csv-exporter");
    let (status, body) = api
        .call("POST", "/v1/schemas", Some(&key), Some(exporter))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "wrong_plugin_kind");

    let (status, body) = api
        .call("POST", "/v1/schemas", Some(&key), Some(json!({"name": 1})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");

    let (status, _) = api
        .call("POST", "/v1/schemas", Some(&key), Some(schema_body("dup")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .call("POST", "/v1/schemas", Some(&key), Some(schema_body("dup")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "schema_name_taken");

    let (_, schema) = api.call("GET", "/v1/schemas", Some(&key), None).await;
    let id = schema["items"][0]["id"].as_str().expect("id");
    let job = json!({"name": "j", "schema_id": id, "start_urls": ["ftp://x", "nope"], "pagination": {"type": "next-link", "selector": "a[[["}});
    let (status, body) = api.call("POST", "/v1/jobs", Some(&key), Some(job)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_job");
    assert_eq!(
        body["error"]["details"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
}

#[tokio::test]
async fn members_cannot_administer() {
    let api = Api::new().await;
    let key = api.user("dan@example.com", "member").await;
    let (status, body) = api
        .call(
            "POST",
            "/v1/users",
            Some(&key),
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, me) = api.call("GET", "/v1/me", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "dan@example.com");
}

#[tokio::test]
async fn plugins_list_the_bundled_ones() {
    let api = Api::new().await;
    let key = api.user("erin@example.com", "member").await;
    let (status, plugins) = api.call("GET", "/v1/plugins", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = plugins
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "css-extractor",
        "jsonld-extractor",
        "json-extractor",
        "product-extractor",
        "article-extractor",
        "csv-exporter",
        "json-exporter",
        "jsonl-exporter",
        "xlsx-exporter",
        "parquet-exporter",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let csv = plugins
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"] == "csv-exporter")
        .expect("csv");
    assert_eq!(csv["kind"], "exporter");
    assert_eq!(csv["system"], true);
    assert_eq!(csv["info"]["media_type"], "text/csv");
}

#[tokio::test]
async fn openapi_covers_every_route() {
    let api = Api::new().await;
    let (status, doc) = api.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/v1/schemas", "post"),
        ("/v1/schemas", "get"),
        ("/v1/schemas/{id}", "get"),
        ("/v1/schemas/{id}", "put"),
        ("/v1/schemas/{id}", "delete"),
        ("/v1/jobs", "post"),
        ("/v1/jobs", "get"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/jobs/{id}", "put"),
        ("/v1/jobs/{id}", "delete"),
        ("/v1/jobs/{id}/runs", "post"),
        ("/v1/jobs/{id}/runs", "get"),
        ("/v1/runs/{id}", "get"),
        ("/v1/runs/{id}/cancel", "post"),
        ("/v1/runs/{id}/results", "get"),
        ("/v1/runs/{id}/pages", "get"),
        ("/v1/runs/{id}/exports", "post"),
        ("/v1/exports/{id}", "get"),
        ("/v1/exports/{id}/download", "get"),
        ("/v1/plugins", "get"),
        ("/v1/me", "get"),
        ("/v1/users", "post"),
        ("/v1/users", "get"),
        ("/v1/users/{id}/keys", "post"),
        ("/v1/users/{id}/keys", "get"),
        ("/v1/keys/{id}", "delete"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn health_and_readiness() {
    let api = Api::new().await;
    let (status, _) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.call("GET", "/v1/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
