//! `GET /metrics` of a real host after real runs against a loopback site: the text parses
//! as Prometheus's exposition format, fetch and extract latency show as histograms, the
//! queued and running gauges follow the database, and a metrics token, when set, is asked
//! for. The recorder is process-wide (every test's host records into it), so counters are
//! compared as deltas; the gauges are each host's own database's.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;
use trawl_tests::TestHost;
use trawl_tests::catalogue::{product_html, schema};

/// One sample: its metric name, its labels and its value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parse Prometheus text strictly enough to catch a broken exposition: every sample is
/// `name{label="value",…} number`, and belongs to a family declared by a `# TYPE` line
/// before it (a histogram's `_bucket`, `_sum` and `_count` to the histogram's).
fn parse(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    let is_name = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(is_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "a family declared twice: {line}"
            );
            continue;
        }
        if line.starts_with('#') {
            assert!(line.starts_with("# HELP "), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let labels = body
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').expect("label=value");
                        assert!(is_name(k), "{line}");
                        let v = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .expect("a quoted label value");
                        (k.to_owned(), v.to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, HashMap::new()),
        };
        assert!(is_name(name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "no # TYPE before {line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// The sum of the samples named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(host: &TestHost) -> anyhow::Result<Vec<Sample>> {
    let response = host
        .client
        .get(format!("{}/metrics", host.base))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "GET /metrics: {}",
        response.status()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4");
    Ok(parse(&response.text().await?))
}

fn page(products: std::ops::Range<usize>) -> String {
    let products: String = products.map(product_html).collect();
    format!("<!DOCTYPE html><html><body><main>{products}</main></body></html>")
}

/// A site with a quick page and one that answers only once `release` turns true.
async fn site(release: watch::Receiver<bool>) -> anyhow::Result<String> {
    let quick = axum::response::Html(page(1..4));
    let router = Router::new()
        .route(
            "/quick",
            get(move || {
                let quick = quick.clone();
                async move { quick }
            }),
        )
        .route(
            "/held",
            get(move || {
                let mut release = release.clone();
                async move {
                    let _ = release.wait_for(|r| *r).await;
                    axum::response::Html(page(4..6))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(format!("http://{addr}"))
}

/// Start a run of a new one-page job on `url`; returns the run's id.
async fn start(host: &TestHost, key: &str, schema_id: &Value, url: &str) -> anyhow::Result<String> {
    host.start_job(
        key,
        json!({"name": "m", "schema_id": schema_id, "start_urls": [url], "max_pages": 1}),
    )
    .await
}

async fn wait_status(host: &TestHost, key: &str, run: &str, status: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = host
            .call("GET", &format!("/v1/runs/{run}"), key, None)
            .await?;
        if body["status"] == status {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "run never {status}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_show_latency_and_the_work_in_the_database() -> anyhow::Result<()> {
    let (release, held) = watch::channel(false);
    let base = site(held).await?;
    // One run at a time: a second run waits in the queue while the first is held.
    let host = TestHost::start_with(|c| c.max_concurrent_runs = 1).await?;
    let key = host.member("metrics@example.com").await?;
    let (status, saved) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "products", "json_schema": schema()})),
        )
        .await?;
    assert_eq!(status, 201, "{saved}");

    let before = scrape(&host).await?;
    let run = start(&host, &key, &saved["id"], &format!("{base}/quick")).await?;
    let ended = host.wait_run(&key, &run, Duration::from_secs(60)).await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(ended["counters"]["items_new"], 3, "{ended}");
    let after = scrape(&host).await?;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    // The page's request, at least (robots.txt is one more), its latency in the histogram.
    assert!(delta("trawl_fetch_duration_seconds_count", &[]) >= 1.0);
    assert!(delta("trawl_fetch_duration_seconds_bucket", &[("le", "+Inf")]) >= 1.0);
    assert!(delta("trawl_fetch_duration_seconds_sum", &[]) > 0.0);
    assert!(delta("trawl_fetch_requests_total", &[("outcome", "ok")]) >= 1.0);
    assert!(delta("trawl_extract_duration_seconds_count", &[]) >= 1.0);
    assert!(delta("trawl_extract_duration_seconds_bucket", &[("le", "30")]) >= 1.0);
    // Buckets from a millisecond to thirty seconds, cumulative.
    let buckets: Vec<f64> = after
        .iter()
        .filter(|s| s.name == "trawl_fetch_duration_seconds_bucket")
        .map(|s| s.value)
        .collect();
    assert_eq!(buckets.len(), 15, "14 bounds and +Inf");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(value(&after, "trawl_runs", &[("state", "running")]), 0.0);
    assert_eq!(value(&after, "trawl_runs", &[("state", "queued")]), 0.0);

    // One run held on its page, another queued behind it: the gauges say so.
    let held_run = start(&host, &key, &saved["id"], &format!("{base}/held")).await?;
    wait_status(&host, &key, &held_run, "running").await?;
    let queued_run = start(&host, &key, &saved["id"], &format!("{base}/quick")).await?;
    let busy = scrape(&host).await?;
    assert_eq!(value(&busy, "trawl_runs", &[("state", "running")]), 1.0);
    assert_eq!(value(&busy, "trawl_runs", &[("state", "queued")]), 1.0);
    assert_eq!(value(&busy, "trawl_queue_depth", &[("queue", "runs")]), 1.0);
    assert_eq!(
        value(&busy, "trawl_queue_depth", &[("queue", "exports")]),
        0.0
    );
    assert_eq!(
        value(&busy, "trawl_queue_depth", &[("queue", "webhooks")]),
        0.0
    );

    release.send(true)?;
    for run in [&held_run, &queued_run] {
        let ended = host.wait_run(&key, run, Duration::from_secs(60)).await?;
        assert_eq!(ended["status"], "succeeded", "{ended}");
    }
    let idle = scrape(&host).await?;
    assert_eq!(value(&idle, "trawl_runs", &[("state", "running")]), 0.0);
    assert_eq!(value(&idle, "trawl_runs", &[("state", "queued")]), 0.0);
    assert!(
        value(&idle, "trawl_extract_duration_seconds_count", &[])
            - value(&after, "trawl_extract_duration_seconds_count", &[])
            >= 2.0
    );
    host.stop().await
}

#[tokio::test]
async fn a_metrics_token_is_asked_for_when_set() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.metrics_token = Some("scrape-me".into())).await?;
    let url = format!("{}/metrics", host.base);
    let none = host.client.get(&url).send().await?;
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await?;
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    let wrong = host
        .client
        .get(&url)
        .bearer_auth("scrape-you")
        .send()
        .await?;
    assert_eq!(wrong.status(), 401);
    // An API key is not the metrics token.
    let api_key = host
        .client
        .get(&url)
        .bearer_auth(&host.admin_key)
        .send()
        .await?;
    assert_eq!(api_key.status(), 401);
    let right = host
        .client
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await?;
    assert_eq!(right.status(), 200);
    let samples = parse(&right.text().await?);
    assert_eq!(value(&samples, "trawl_runs", &[("state", "running")]), 0.0);

    // The document lists it beside the health checks, with no API key asked.
    let (status, doc) = host.call("GET", "/v1/openapi.json", "", None).await?;
    assert_eq!(status, 200);
    let operation = &doc["paths"]["/metrics"]["get"];
    assert_eq!(operation["tags"], json!(["health"]), "{operation}");
    assert_eq!(operation["security"], json!([{}]), "{operation}");
    host.stop().await
}
