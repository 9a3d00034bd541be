//! json-extractor end to end: local JSON APIs paginated by page number (with a
//! `has_next` field) and by cursor, scraped by jobs with `plugin` pagination and no
//! `fetch.content_types` (a json-extractor job takes JSON by default), every item stored
//! with the schema's types.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::extract::{Query, Request};
use axum::middleware::Next;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use trawl_tests::TestHost;

/// The paths and queries a site was asked for, in order.
#[derive(Clone, Default)]
struct Requests(Arc<Mutex<Vec<String>>>);

impl Requests {
    /// The API's requests (the host's `/robots.txt` aside).
    fn seen(&self) -> Vec<String> {
        let all = self.0.lock().expect("requests").clone();
        all.into_iter().filter(|r| r != "/robots.txt").collect()
    }
}

/// Serve `router` on `127.0.0.1:0`, recording every request.
async fn serve(router: Router) -> anyhow::Result<(SocketAddr, Requests)> {
    let requests = Requests::default();
    let recorded = requests.clone();
    let app = router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let recorded = recorded.clone();
            async move {
                let uri = request.uri();
                let seen = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
                recorded.0.lock().expect("requests").push(seen.to_owned());
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, requests))
}

/// Product `n` as the API writes it: the id and price as strings, the stock as a float,
/// availability as 0/1, the name nested, as APIs do.
fn product(n: u64) -> Value {
    json!({
        "id": n.to_string(),
        "attributes": {"name": format!("Product {n}")},
        "price": format!("{n}.50"),
        "stock": n as f64,
        "available": n % 2,
        "tags": [{"label": "new"}, {"label": format!("batch-{}", n.div_ceil(2))}]
    })
}

/// Product `n` as the schema below stores it.
fn stored(n: u64) -> Value {
    json!({
        "id": n,
        "name": format!("Product {n}"),
        "price": n as f64 + 0.5,
        "stock": n,
        "available": n % 2 == 1,
        "tags": ["new", format!("batch-{}", n.div_ceil(2))]
    })
}

/// The item properties both APIs share.
fn properties() -> Value {
    json!({
        "id": {"type": "integer"},
        "name": {"type": "string", "x-path": "attributes.name"},
        "price": {"type": "number"},
        "stock": {"type": "integer"},
        "available": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "x-path": "tags[*].label"}
    })
}

/// A member with a json-extractor schema; returns (key, schema id).
async fn member_with_schema(host: &TestHost, schema: Value) -> anyhow::Result<(String, String)> {
    let key = host
        .member(&format!("{}@example.com", uuid::Uuid::new_v4().simple()))
        .await?;
    let (status, created) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "api", "plugin": "json-extractor", "json_schema": schema})),
        )
        .await?;
    anyhow::ensure!(status == 201, "schema: {status} {created}");
    let id = created["id"].as_str().context("schema id")?.to_owned();
    Ok((key, id))
}

/// Run a `plugin`-paginated job from `start` to its end; returns the run and its
/// results' data by id.
async fn run(
    host: &TestHost,
    key: &str,
    schema_id: &str,
    start: &str,
) -> anyhow::Result<(Value, BTreeMap<u64, Value>)> {
    let job = json!({
        "name": "api",
        "schema_id": schema_id,
        "start_urls": [start],
        "pagination": {"type": "plugin"}
    });
    let run = host.run_job(key, job).await?;
    let run_id = run["id"].as_str().context("run id")?;
    let mut items = BTreeMap::new();
    for result in host.all_results(key, run_id).await? {
        let data = result["data"].clone();
        let id = data["id"]
            .as_u64()
            .with_context(|| format!("integer id: {data}"))?;
        items.insert(id, data);
    }
    Ok((run, items))
}

#[tokio::test]
async fn an_api_paginated_by_page_number_while_has_next() -> anyhow::Result<()> {
    const PAGES: u64 = 3;
    let router = Router::new().route(
        "/api/items",
        get(|Query(query): Query<HashMap<String, String>>| async move {
            let page: u64 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let items: Vec<Value> = (1..=2).map(|i| product((page - 1) * 2 + i)).collect();
            Json(json!({"items": items, "page": page, "has_next": page < PAGES}))
        }),
    );
    let (site, requests) = serve(router).await?;
    let host = TestHost::start().await?;
    let schema = json!({
        "type": "object",
        "x-scope": "items",
        "x-follow": {"page": {"param": "page", "while": "has_next"}},
        "required": ["id", "name", "price"],
        "properties": properties()
    });
    let (key, schema_id) = member_with_schema(&host, schema).await?;

    let (run, items) = run(&host, &key, &schema_id, &format!("http://{site}/api/items")).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["pages_fetched"], PAGES, "{run}");
    assert_eq!(run["counters"]["items_invalid"], 0, "{run}");
    let expected: BTreeMap<u64, Value> = (1..=2 * PAGES).map(|n| (n, stored(n))).collect();
    assert_eq!(items, expected);
    assert_eq!(
        requests.seen(),
        ["/api/items", "/api/items?page=2", "/api/items?page=3"],
        "page 3 says has_next: false, so there is no page 4"
    );
    host.stop().await
}

#[tokio::test]
async fn an_api_paginated_by_cursor() -> anyhow::Result<()> {
    // Opaque cursors: "start" → "c2" → "c3" → none.
    let router = Router::new().route(
        "/api/feed",
        get(|Query(query): Query<HashMap<String, String>>| async move {
            let (first, next) = match query.get("cursor").map(String::as_str) {
                None => (1, json!("c2")),
                Some("c2") => (4, json!("c3")),
                Some("c3") => (7, Value::Null),
                Some(_) => return Json(json!({"error": "bad cursor"})),
            };
            let data: Vec<Value> = (first..first + 3).map(product).collect();
            Json(json!({"data": data, "paging": {"next_cursor": next}}))
        }),
    );
    let (site, requests) = serve(router).await?;
    let host = TestHost::start().await?;
    let schema = json!({
        "type": "object",
        "x-scope": "data",
        "x-follow": {"cursor": {"param": "cursor", "path": "paging.next_cursor"}},
        "required": ["id", "name"],
        "properties": properties()
    });
    let (key, schema_id) = member_with_schema(&host, schema).await?;

    let start = format!("http://{site}/api/feed?limit=3");
    let (run, items) = run(&host, &key, &schema_id, &start).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["pages_fetched"], 3, "{run}");
    let expected: BTreeMap<u64, Value> = (1..=9).map(|n| (n, stored(n))).collect();
    assert_eq!(items, expected);
    assert_eq!(
        requests.seen(),
        [
            "/api/feed?limit=3",
            "/api/feed?limit=3&cursor=c2",
            "/api/feed?limit=3&cursor=c3"
        ]
    );
    host.stop().await
}

#[tokio::test]
async fn a_bad_path_is_refused_when_the_schema_is_saved() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("paths@example.com").await?;
    let schema = json!({"x-scope": "data[", "properties": {"id": {"type": "integer"}}});
    let (status, body) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "api", "plugin": "json-extractor", "json_schema": schema})),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_schema", "{body}");
    assert_eq!(body["error"]["details"][0]["path"], "/x-scope", "{body}");
    host.stop().await
}
