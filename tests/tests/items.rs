//! Each item a page gives is stored or refused alone, with a code on the page: one
//! character PostgreSQL cannot hold, an item that is not a JSON object, an item with no
//! property found, a confidence that is no probability, or a page whose data the
//! database refuses never fails the run, and no page is left pending.

use std::collections::HashMap;

use serde_json::{Value, json};
use trawl_tests::{TestHost, serve_site, test_plugin};

fn html(body: &str) -> (String, Vec<u8>) {
    ("text/html".into(), body.as_bytes().to_vec())
}

async fn pages_of(host: &TestHost, key: &str, run: &str) -> anyhow::Result<Vec<Value>> {
    let (status, pages) = host
        .call("GET", &format!("/v1/runs/{run}/pages"), key, None)
        .await?;
    anyhow::ensure!(status == 200, "{pages}");
    Ok(pages["items"].as_array().cloned().unwrap_or_default())
}

async fn run_one(
    host: &TestHost,
    key: &str,
    schema: Value,
    url: &str,
) -> anyhow::Result<(Value, Vec<Value>, Vec<Value>)> {
    let run = host.one_page_run(key, schema, url).await?;
    let run = host
        .wait_run(key, &run, std::time::Duration::from_secs(60))
        .await?;
    let id = run["id"].as_str().expect("id").to_owned();
    let results = host.all_results(key, &id).await?;
    let pages = pages_of(host, key, &id).await?;
    Ok((run, results, pages))
}

/// Real pages carry `\u0000` in their JSON-LD; plugins may emit it too. PostgreSQL's
/// `jsonb` and `text` cannot hold it: it is stored as U+FFFD, in values and keys, in log
/// lines and in a plugin's error message, and the run goes on.
#[tokio::test]
async fn a_nul_character_is_stored_as_a_replacement_character() -> anyhow::Result<()> {
    let mut site = HashMap::new();
    site.insert(
        "/product.html".to_string(),
        html(
            r#"<html><head><script type="application/ld+json">
            {"@context": "https://schema.org", "@type": "Product", "name": "Widget\u0000 deluxe", "sku": "W-1"}
            </script></head><body><p>widget</p></body></html>"#,
        ),
    );
    let site = serve_site(site).await?;
    let host = TestHost::start().await?;
    let (status, body) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{body}");
    let key = host.member("nul@example.com").await?;
    let url = format!("http://{site}/product.html");

    let schema = json!({"name": "product", "plugin": "jsonld-extractor", "json_schema": {
        "type": "object", "x-type": "Product",
        "properties": {"name": {"type": "string"}, "sku": {"type": "string"}}}});
    let (run, results, pages) = run_one(&host, &key, schema, &url).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["data"]["name"], "Widget\u{FFFD} deluxe");
    assert_eq!(pages[0]["outcome"], "done", "{pages:?}");

    let hostile = |name: &str, mode: &str| {
        json!({"name": name, "plugin": "hostile", "json_schema": {"type": "object"},
               "plugin_options": {"mode": mode}})
    };
    let (run, results, _) = run_one(&host, &key, hostile("nul", "nul"), &url).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        results[0]["data"],
        json!({"name": "a\u{FFFD}b", "k\u{FFFD}ey": ["\u{FFFD}"]})
    );
    let id = run["id"].as_str().expect("id");
    let (_, logs) = host
        .call("GET", &format!("/v1/runs/{id}/logs"), &key, None)
        .await?;
    assert_eq!(
        logs["items"][0]["message"], "a line with a \u{FFFD} in it",
        "{logs}"
    );

    let (run, _, pages) = run_one(&host, &key, hostile("nul-error", "nul-error"), &url).await?;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "plugin_error", "{run}");
    assert!(
        run["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("hostile \u{FFFD} error")),
        "{run}"
    );
    assert_eq!(pages[0]["outcome"], "failed", "{pages:?}");
    host.stop().await
}

/// Items that are not JSON objects are refused one by one, with their index and code on
/// the page; confidences are clamped into [0, 1] and NaN stored as none;
/// an item in which no property was found is counted, never stored as `{}`.
#[tokio::test]
async fn bad_items_are_refused_one_by_one() -> anyhow::Result<()> {
    let mut site = HashMap::new();
    site.insert(
        "/list.html".to_string(),
        html("<ul><li><b>one</b></li><li><i>no name</i></li><li><b>three</b></li></ul>"),
    );
    let site = serve_site(site).await?;
    let host = TestHost::start().await?;
    let (status, body) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{body}");
    let key = host.member("items@example.com").await?;
    let url = format!("http://{site}/list.html");
    let hostile = |name: &str, mode: &str| {
        json!({"name": name, "plugin": "hostile", "json_schema": {"type": "object"},
               "plugin_options": {"mode": mode}})
    };

    let (run, results, pages) = run_one(&host, &key, hostile("not-json", "not-json"), &url).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["items_new"], 1, "{run}");
    assert_eq!(run["counters"]["items_invalid"], 3, "{run}");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["data"], json!({"ok": true}));
    let page = &pages[0];
    assert_eq!(page["items"], 4, "{page}");
    assert_eq!(page["items_invalid"], 3, "{page}");
    let issues: Vec<(u64, &str)> = page["item_issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            (
                i["index"].as_u64().expect("index"),
                i["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        issues,
        [
            (0, "item_not_json"),
            (1, "item_not_object"),
            (2, "item_not_object")
        ]
    );

    let (run, results, _) = run_one(&host, &key, hostile("confidence", "confidence"), &url).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let mut confidence: Vec<(i64, Value)> = results
        .iter()
        .map(|r| (r["data"]["i"].as_i64().expect("i"), r["confidence"].clone()))
        .collect();
    confidence.sort_by_key(|c| c.0);
    assert_eq!(
        confidence,
        [
            (0, Value::Null),
            (1, json!(1.0)),
            (2, json!(0.0)),
            (3, json!(1.0)),
            (4, json!(0.5)),
            (5, json!(0.0))
        ]
    );

    // The css-extractor finds no `b` in the second item: that item is empty.
    let names = json!({"name": "names", "json_schema": {"type": "object", "x-scope": "li",
        "properties": {"name": {"type": "string", "x-selector": "b"}}}});
    let (run, results, pages) = run_one(&host, &key, names, &url).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let mut stored: Vec<&str> = results
        .iter()
        .map(|r| r["data"]["name"].as_str().expect("name"))
        .collect();
    stored.sort();
    assert_eq!(stored, ["one", "three"]);
    assert_eq!(run["counters"]["items_empty"], 1, "{run}");
    assert_eq!(pages[0]["items_empty"], 1, "{:?}", pages[0]);
    assert_eq!(pages[0]["item_issues"][0]["index"], 1);
    assert_eq!(pages[0]["item_issues"][0]["code"], "item_empty");
    host.stop().await
}

/// A page whose items the database refuses fails alone (`store_failed`), recorded with
/// the reason; the pages stored in the same batch are kept and the run goes on. The
/// refusal is PostgreSQL's own: a CHECK constraint added to this test's database.
#[tokio::test]
async fn a_page_the_database_refuses_fails_alone() -> anyhow::Result<()> {
    let mut site = HashMap::new();
    let mut links = String::new();
    for n in 0..8 {
        let name = if n == 3 {
            "poison".to_string()
        } else {
            format!("item {n}")
        };
        site.insert(format!("/p/{n}.html"), html(&format!("<h1>{name}</h1>")));
        links.push_str(&format!("<a href=\"/p/{n}.html\">{n}</a>"));
    }
    site.insert("/index.html".to_string(), html(&links));
    let site = serve_site(site).await?;
    let host = TestHost::start().await?;
    sqlx::query("ALTER TABLE results ADD CONSTRAINT no_poison CHECK (data->>'name' <> 'poison')")
        .execute(&host.state.pool)
        .await?;
    let key = host.member("poison@example.com").await?;
    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "h1", "json_schema": {"type": "object",
                "properties": {"name": {"type": "string", "x-selector": "h1"}}}})),
        )
        .await?;
    assert_eq!(status, 201, "{schema}");
    let job = json!({"name": "crawl", "schema_id": schema["id"],
        "start_urls": [format!("http://{site}/index.html")],
        "pagination": {"type": "crawl", "include": ["/p/"]}, "concurrency": 8});
    let run = host.run_job(&key, job).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let id = run["id"].as_str().expect("id");
    let mut names: Vec<String> = host
        .all_results(&key, id)
        .await?
        .iter()
        .map(|r| r["data"]["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "item 0", "item 1", "item 2", "item 4", "item 5", "item 6", "item 7"
        ]
    );
    let pages = pages_of(&host, &key, id).await?;
    assert!(pages.iter().all(|p| p["outcome"] != "pending"), "{pages:?}");
    let refused: Vec<&Value> = pages.iter().filter(|p| p["outcome"] == "failed").collect();
    assert_eq!(refused.len(), 1, "{pages:?}");
    assert!(
        refused[0]["url"]
            .as_str()
            .expect("url")
            .ends_with("/p/3.html")
    );
    assert_eq!(
        refused[0]["error"]["code"], "store_failed",
        "{:?}",
        refused[0]
    );
    host.stop().await
}

/// The same, at the page writer itself and deterministically: three pages sent at once
/// go into one batch (this test's runtime has one thread, so all three are queued before
/// the writer runs); the database refuses the batch for the middle page's item; the
/// writer stores the other two and records the middle one failed.
#[tokio::test]
async fn the_page_writer_splits_a_refused_batch() -> anyhow::Result<()> {
    use trawl_host::db::pages::DonePage;
    use trawl_host::db::results::NewResult;
    use trawl_host::worker::writer::{StoreError, Writer};

    let host = TestHost::start().await?;
    let pool = host.state.pool.clone();
    sqlx::query("ALTER TABLE results ADD CONSTRAINT no_poison CHECK (data->>'name' <> 'poison')")
        .execute(&pool)
        .await?;
    let key = host.member("writer@example.com").await?;
    let (_, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "s", "json_schema": {"type": "object"}})),
        )
        .await?;
    let (_, job) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(json!({"name": "j", "schema_id": schema["id"], "start_urls": ["http://192.0.2.1/"]})),
        )
        .await?;
    let job_id = job["id"].as_str().expect("id").to_owned();
    let (_, run) = host
        .call("POST", &format!("/v1/jobs/{job_id}/runs"), &key, None)
        .await?;
    let run_id = run["id"].as_str().expect("id").to_owned();
    host.call("POST", &format!("/v1/runs/{run_id}/cancel"), &key, None)
        .await?;
    let ended = host
        .wait_run(&key, &run_id, std::time::Duration::from_secs(30))
        .await?;
    // Cancelled, or failed already (its one start URL is unreachable): over either way.
    assert!(
        matches!(ended["status"].as_str(), Some("cancelled" | "failed")),
        "{ended}"
    );
    let run: trawl_host::ids::RunId = run_id.parse()?;
    let job: trawl_host::ids::JobId = job_id.parse()?;
    // This test is the run's worker now: it takes the run's lease, as a claim would, so
    // the writer's fenced writes are its own.
    let token: i64 = sqlx::query_scalar(
        "UPDATE runs SET status = 'running', lease_token = lease_token + 1, \
         lease_expires_at = now() + interval '1 hour' WHERE id = $1 RETURNING lease_token",
    )
    .bind(run.0)
    .fetch_one(&pool)
    .await?;
    let lease = trawl_host::db::runs::Lease { run, token };
    let urls: Vec<String> = (1..=3).map(|n| format!("http://192.0.2.1/{n}")).collect();
    trawl_host::db::pages::enqueue(&pool, run, &urls, 0).await?;
    let owner: trawl_host::ids::UserId =
        sqlx::query_scalar("SELECT owner_id FROM runs WHERE id = $1")
            .bind(run.0)
            .fetch_one(&pool)
            .await?;
    let billing = trawl_host::worker::writer::Billing {
        owner,
        charged: false,
        max_credits: None,
        pricing: host.state.config.credits.pricing(),
    };
    let (writer, _task) = Writer::spawn(pool.clone(), lease, job, run.0, billing);
    let page = |n: usize, name: &str| {
        let data = format!(r#"{{"name":"{name}"}}"#);
        DonePage {
            url: format!("http://192.0.2.1/{n}"),
            final_url: format!("http://192.0.2.1/{n}"),
            http_status: 200,
            bytes: 10,
            items: 1,
            items_invalid: 0,
            items_empty: 0,
            item_problems: None,
            elapsed_ms: 1,
            attempts: 1,
            content_type: Some("text/html".into()),
            fuel: 0,
            rows: vec![NewResult {
                content_hash: trawl_host::validate::content_hash(&data),
                data,
                confidence: None,
                validation_errors: None,
                field_meta: None,
            }],
            next: Vec::new(),
            next_depth: 1,
        }
    };
    let (a, b, c) = tokio::join!(
        writer.write(page(1, "one")),
        writer.write(page(2, "poison")),
        writer.write(page(3, "three"))
    );
    assert_eq!(a?.new, 1);
    assert!(matches!(b, Err(StoreError::Refused(_))), "{b:?}");
    assert_eq!(c?.new, 1);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT data->>'name' FROM results WHERE run_id = $1 ORDER BY 1")
            .bind(run.0)
            .fetch_all(&pool)
            .await?;
    assert_eq!(stored, ["one", "three"]);
    let (state, code): (String, Option<String>) = sqlx::query_as(
        "SELECT state, error_code FROM run_pages WHERE run_id = $1 AND url = 'http://192.0.2.1/2'",
    )
    .bind(run.0)
    .fetch_one(&pool)
    .await?;
    assert_eq!(
        (state.as_str(), code.as_deref()),
        ("failed", Some("store_failed"))
    );
    host.stop().await
}

/// What API clients send may not hold U+0000 either: a JSON body with one anywhere is a
/// 422, not a database error.
#[tokio::test]
async fn a_nul_character_in_a_request_is_refused() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let admin = host.admin_key.clone();
    let cases = [
        ("/v1/users", json!({"email": "a\u{0}b@example.com"})),
        (
            "/v1/schemas",
            json!({"name": "n\u{0}", "json_schema": {"type": "object"}}),
        ),
        (
            "/v1/schemas",
            json!({"name": "n", "json_schema": {"type": "object"}, "plugin_options": {"k": "\u{0}"}}),
        ),
        (
            "/v1/schemas",
            json!({"name": "n", "json_schema": {"type": "object", "title": "\u{0}"}}),
        ),
    ];
    for (path, body) in cases {
        let (status, answer) = host.call("POST", path, &admin, Some(body.clone())).await?;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request", "{answer}");
    }
    // A backslash followed by the text `u0000` is not a NUL.
    let (status, answer) = host
        .call(
            "POST",
            "/v1/users",
            &admin,
            Some(json!({"email": "back\\u0000slash@example.com"})),
        )
        .await?;
    assert_eq!(status, 201, "{answer}");
    host.stop().await
}

/// Items come back, and are exported, with their properties in the schema's order, not
/// the database's (`jsonb` keeps keys shortest first).
#[tokio::test]
async fn properties_keep_the_schema_order() -> anyhow::Result<()> {
    let mut site = HashMap::new();
    site.insert(
        "/p.html".to_string(),
        html("<div class=item><h1>A title</h1><span class=p>3.50</span><a href=/x>x</a></div>"),
    );
    let site = serve_site(site).await?;
    let host = TestHost::start().await?;
    let key = host.member("order@example.com").await?;
    let schema = json!({"name": "ordered", "json_schema": {"type": "object", "x-scope": "div.item",
        "properties": {
            "zeta_link": {"type": "string", "x-selector": "a", "x-attr": "href", "x-url": true},
            "title": {"type": "string", "x-selector": "h1"},
            "a": {"type": "number", "x-selector": "span.p"}}}});
    let run = host
        .one_page_run(&key, schema, &format!("http://{site}/p.html"))
        .await?;
    host.wait_run(&key, &run, std::time::Duration::from_secs(60))
        .await?;
    let in_order = |text: &str| {
        let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX);
        at("zeta_link") < at("title") && at("title") < at("a")
    };
    let body = host
        .client
        .get(format!("{}/v1/runs/{run}/results", host.base))
        .bearer_auth(&key)
        .send()
        .await?
        .text()
        .await?;
    let data = &body[body.find("\"data\"").expect("data")..];
    assert!(in_order(data), "{body}");

    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{run}/exports"),
            &key,
            Some(json!({"format": "jsonl"})),
        )
        .await?;
    assert_eq!(status, 202, "{export}");
    let export = host
        .wait_export(
            &key,
            export["id"].as_str().expect("id"),
            std::time::Duration::from_secs(60),
        )
        .await?;
    let file = host
        .client
        .get(export["download_url"].as_str().expect("link"))
        .send()
        .await?
        .text()
        .await?;
    assert!(in_order(&file), "{file}");
    let (_, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{run}/exports"),
            &key,
            Some(json!({"format": "csv"})),
        )
        .await?;
    let export = host
        .wait_export(
            &key,
            export["id"].as_str().expect("id"),
            std::time::Duration::from_secs(60),
        )
        .await?;
    let file = host
        .client
        .get(export["download_url"].as_str().expect("link"))
        .send()
        .await?
        .text()
        .await?;
    assert!(file.starts_with("zeta_link,title,a"), "{file}");
    host.stop().await
}
