//! The whole path through the HTTP API of a real host on a real database: a local
//! catalogue site → schema + job → run → results → CSV and JSONL exports, parsed back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use trawl_tests::catalogue::{catalogue, expected, schema};
use trawl_tests::{TestHost, serve_site};

#[tokio::test]
async fn catalogue_to_csv_and_jsonl() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    let host = TestHost::start().await?;
    let key = host.member("maria@example.com").await?;

    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "catalogue", "json_schema": schema()})),
        )
        .await?;
    assert_eq!(status, 201, "{schema}");
    // The schema comes back as written, property order included.
    let props: Vec<&String> = schema["json_schema"]["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    assert_eq!(props, ["name", "price", "stock", "url"]);

    let job = json!({
        "name": "catalogue",
        "schema_id": schema["id"],
        "start_urls": [format!("{base}/catalogue/page-1.html")],
        "pagination": {"type": "next-link", "selector": "li.next a"},
        "max_pages": 50,
        "concurrency": 2
    });
    let run_id = host.start_job(&key, job).await?;
    let run = host
        .wait_run(&key, &run_id, Duration::from_secs(60))
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let counters = &run["counters"];
    assert_eq!(counters["pages_fetched"], 5, "{run}");
    assert_eq!(counters["pages_failed"], 0, "{run}");
    assert_eq!(counters["items_new"], 90, "{run}");
    assert_eq!(counters["items_duplicate"], 8, "{run}");
    assert_eq!(counters["items_invalid"], 10, "{run}");

    let results = host.all_results(&key, &run_id).await?;
    assert_eq!(results.len(), 90);
    let stored: BTreeMap<String, Value> = results
        .iter()
        .map(|r| {
            (
                r["data"]["url"].as_str().expect("url").to_owned(),
                r["data"].clone(),
            )
        })
        .collect();
    let expected = expected(&base);
    assert_eq!(stored, expected);
    for r in &results {
        assert_eq!(r["confidence"], 1.0, "{r}");
        assert!(
            r["source_url"]
                .as_str()
                .expect("source")
                .starts_with(&format!("{base}/catalogue/page-"))
        );
    }

    // CSV: header from the schema's properties in order; values parse back to the results.
    let csv_bytes = export(&host, &key, &run_id, "csv").await?;
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(header, ["name", "price", "stock", "url"]);
    let mut from_csv = BTreeMap::new();
    for row in reader.records() {
        let row = row?;
        let item = json!({
            "name": &row[0],
            "price": row[1].parse::<f64>()?,
            "stock": row[2].parse::<i64>()?,
            "url": &row[3],
        });
        from_csv.insert(row[3].to_owned(), item);
    }
    assert_eq!(from_csv, expected);

    // JSONL: one item per line, equal to the results.
    let jsonl = export(&host, &key, &run_id, "jsonl-exporter").await?;
    let from_jsonl: BTreeMap<String, Value> = String::from_utf8(jsonl)?
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            (v["url"].as_str().expect("url").to_owned(), v)
        })
        .collect();
    assert_eq!(from_jsonl, expected);

    host.stop().await
}

async fn export(host: &TestHost, key: &str, run_id: &str, format: &str) -> anyhow::Result<Vec<u8>> {
    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{run_id}/exports"),
            key,
            Some(json!({"format": format})),
        )
        .await?;
    assert_eq!(status, 202, "{export}");
    let export = host
        .wait_export(
            key,
            export["id"].as_str().expect("id"),
            Duration::from_secs(30),
        )
        .await?;
    assert_eq!(export["status"], "succeeded", "{export}");
    assert_eq!(export["row_count"], 90, "{export}");
    let url = export["download_url"]
        .as_str()
        .expect("a download link")
        .to_owned();
    // The link works without a key …
    let response = reqwest::get(&url).await?;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await?.to_vec();
    assert_eq!(
        body.len() as u64,
        export["size_bytes"].as_u64().expect("size")
    );
    // … and not once tampered with.
    let tampered = url.replace("signature=", "signature=AAAA");
    let response = reqwest::get(&tampered).await?;
    assert_eq!(response.status(), 403);
    Ok(body)
}

#[tokio::test]
async fn idempotency_key_returns_the_same_run_and_cancel_stops_it() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let key = host.member("ida@example.com").await?;
    let (_, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "s", "json_schema": schema()})),
        )
        .await?;
    let job = json!({"name": "j", "schema_id": schema["id"], "start_urls": [format!("http://{site}/catalogue/page-1.html")]});
    let (_, job) = host.call("POST", "/v1/jobs", &key, Some(job)).await?;
    let path = format!(
        "{}/v1/jobs/{}/runs",
        host.base,
        job["id"].as_str().expect("id")
    );
    let first = host
        .client
        .post(&path)
        .bearer_auth(&key)
        .header("Idempotency-Key", "abc")
        .send()
        .await?;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await?;
    let again = host
        .client
        .post(&path)
        .bearer_auth(&key)
        .header("Idempotency-Key", "abc")
        .send()
        .await?;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await?;
    assert_eq!(first["id"], again["id"]);
    let run = host
        .wait_run(
            &key,
            first["id"].as_str().expect("id"),
            Duration::from_secs(30),
        )
        .await?;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["counters"]["items_new"], 20, "{run}");
    assert_eq!(run["counters"]["items_invalid"], 2, "{run}");
    let (status, body) = host
        .call(
            "POST",
            &format!("/v1/runs/{}/cancel", run["id"].as_str().expect("id")),
            &key,
            None,
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "run_finished");
    host.stop().await
}

#[tokio::test]
async fn a_crashing_plugin_fails_the_run_with_its_code_and_name() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    // Register the hostile test plugin as a system plugin so a schema can name it.
    let bytes = trawl_tests::test_plugin("hostile");
    let runtime = host.state.runtime.clone();
    let loaded = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || runtime.load(&bytes)).await??
    };
    trawl_host::db::plugins::upsert_system(
        &host.state.pool,
        &loaded.manifest,
        &loaded.digest,
        &bytes,
    )
    .await?;

    let key = host.member("hal@example.com").await?;
    for (mode, code) in [("panic", "plugin_trap"), ("error", "plugin_error")] {
        let body = json!({"name": mode, "json_schema": {"type": "object"}, "plugin": "hostile", "plugin_options": {"mode": mode}});
        let (status, schema) = host.call("POST", "/v1/schemas", &key, Some(body)).await?;
        assert_eq!(status, 201, "{schema}");
        let job = json!({"name": mode, "schema_id": schema["id"], "start_urls": [format!("http://{site}/catalogue/page-1.html")]});
        let run = host.run_job(&key, job).await?;
        assert_eq!(run["status"], "failed", "{run}");
        assert_eq!(run["error"]["code"], code, "{run}");
        assert!(
            run["error"]["message"]
                .as_str()
                .expect("message")
                .contains("hostile@0.1.0"),
            "{run}"
        );
    }
    host.stop().await
}
