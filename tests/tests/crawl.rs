//! The crawl engine against misbehaving local sites: retries and `Retry-After`, timeouts,
//! redirect loops, huge bodies and gzip bombs, legacy charsets, robots.txt with a crawl
//! delay, per-host concurrency, an endless calendar, content types, the SSRF guard with
//! the guard on, and every pagination style on one catalogue giving the same items.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use trawl_tests::TestHost;

/// Requests a site received: path and query, and when.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, Instant)>>>);

impl Log {
    fn entries(&self) -> Vec<(String, Instant)> {
        self.0.lock().expect("log").clone()
    }

    fn paths(&self) -> Vec<String> {
        self.entries().into_iter().map(|(p, _)| p).collect()
    }
}

/// Serve `router` on `ip:0`, logging every request.
async fn serve(router: Router, ip: &str) -> anyhow::Result<(SocketAddr, Log)> {
    let log = Log::default();
    let logged = log.clone();
    let app = router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let log = logged.clone();
            async move {
                let uri = request.uri();
                let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
                log.0
                    .lock()
                    .expect("log")
                    .push((path.to_owned(), Instant::now()));
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0")).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, log))
}

fn html(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"),
    )
        .into_response()
}

fn products(names: impl IntoIterator<Item = String>) -> String {
    names
        .into_iter()
        .map(|n| format!("<article class=\"product\"><h3>{n}</h3></article>"))
        .collect()
}

/// A schema with one field: the product's name.
fn name_schema(extra: Value) -> Value {
    let mut schema = json!({
        "type": "object",
        "x-scope": "article.product",
        "properties": {"name": {"type": "string", "x-selector": "h3"}},
        "required": ["name"]
    });
    if let (Some(s), Some(extra)) = (schema.as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    schema
}

/// A member with a schema; returns (key, schema id).
async fn member_with_schema(host: &TestHost, schema: Value) -> anyhow::Result<(String, String)> {
    let key = host
        .member(&format!("{}@example.com", uuid::Uuid::new_v4().simple()))
        .await?;
    let (status, created) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "products", "json_schema": schema})),
        )
        .await?;
    anyhow::ensure!(status == 201, "schema: {status} {created}");
    Ok((key, created["id"].as_str().unwrap_or_default().to_owned()))
}

/// Create the job, run it to its end; returns the run and its pages by URL.
async fn run_job(
    host: &TestHost,
    key: &str,
    schema_id: &str,
    mut job: Value,
) -> anyhow::Result<(Value, HashMap<String, Value>)> {
    job["name"] = json!("test");
    job["schema_id"] = json!(schema_id);
    let (status, created) = host.call("POST", "/v1/jobs", key, Some(job)).await?;
    anyhow::ensure!(status == 201, "job: {status} {created}");
    let (status, run) = host
        .call(
            "POST",
            &format!(
                "/v1/jobs/{}/runs",
                created["id"].as_str().unwrap_or_default()
            ),
            key,
            None,
        )
        .await?;
    anyhow::ensure!(status == 201, "run: {status} {run}");
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    let run = host.wait_run(key, &run_id, Duration::from_secs(60)).await?;
    let pages = all_pages(host, key, &run_id, None).await?;
    Ok((
        run,
        pages
            .into_iter()
            .map(|p| (p["url"].as_str().unwrap_or_default().to_owned(), p))
            .collect(),
    ))
}

/// Every page of a run through `GET /v1/runs/{id}/pages`, following the cursor in small steps.
async fn all_pages(
    host: &TestHost,
    key: &str,
    run_id: &str,
    outcome: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/runs/{run_id}/pages?limit=3");
        if let Some(o) = outcome {
            path.push_str(&format!("&outcome={o}"));
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = host.call("GET", &path, key, None).await?;
        anyhow::ensure!(status == 200, "pages: {status} {page}");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}

async fn names(host: &TestHost, key: &str, run: &Value) -> anyhow::Result<BTreeSet<String>> {
    Ok(host
        .all_results(key, run["id"].as_str().unwrap_or_default())
        .await?
        .iter()
        .map(|r| r["data"]["name"].as_str().unwrap_or_default().to_owned())
        .collect())
}

#[tokio::test]
async fn transient_failures_are_retried_and_retry_after_is_honoured() -> anyhow::Result<()> {
    let flaky = Arc::new(AtomicUsize::new(0));
    let limited = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/flaky",
            get({
                let flaky = flaky.clone();
                move || async move {
                    if flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    } else {
                        html(products(["Flaky".to_owned()]))
                    }
                }
            }),
        )
        .route(
            "/limited",
            get({
                let limited = limited.clone();
                move || async move {
                    if limited.fetch_add(1, Ordering::SeqCst) == 0 {
                        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")])
                            .into_response()
                    } else {
                        html(products(["Limited".to_owned()]))
                    }
                }
            }),
        )
        .route("/gone", get(|| async { StatusCode::NOT_FOUND }))
        .route("/down", get(|| async { StatusCode::BAD_GATEWAY }));
    let (site, log) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let urls: Vec<String> = ["flaky", "limited", "gone", "down"]
        .iter()
        .map(|p| format!("http://{site}/{p}"))
        .collect();
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": urls, "concurrency": 4, "fetch": {"per_host_concurrency": 4, "max_attempts": 3}}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        names(&host, &key, &run).await?,
        BTreeSet::from(["Flaky".into(), "Limited".into()])
    );

    let page = |p: &str| &pages[&format!("http://{site}/{p}")];
    assert_eq!(page("flaky")["outcome"], "done");
    assert_eq!(page("flaky")["attempts"], 3, "503, 503, then 200");
    assert_eq!(page("limited")["attempts"], 2);
    // A 404 is not retried; a 502 is, up to the cap, and then fails with its status.
    assert_eq!(page("gone")["attempts"], 1);
    assert_eq!(page("gone")["error"]["code"], "http_status");
    assert_eq!(page("gone")["http_status"], 404);
    assert_eq!(page("down")["attempts"], 3);
    assert_eq!(page("down")["outcome"], "failed");
    assert_eq!(page("down")["http_status"], 502);

    let limited_at: Vec<Instant> = log
        .entries()
        .into_iter()
        .filter(|(p, _)| p == "/limited")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(limited_at.len(), 2);
    assert!(
        limited_at[1] - limited_at[0] >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: {:?}",
        limited_at[1] - limited_at[0]
    );
    host.stop().await
}

#[tokio::test]
async fn slow_pages_time_out_and_redirect_loops_stop() -> anyhow::Result<()> {
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                html(products(["Slow".to_owned()]))
            }),
        )
        .route(
            "/loop-a",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop-b")]) }),
        )
        .route(
            "/loop-b",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop-a")]) }),
        )
        .route("/ok", get(|| async { html(products(["Ok".to_owned()])) }));
    let (site, _) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let started = Instant::now();
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({
            "start_urls": [format!("http://{site}/slow"), format!("http://{site}/loop-a"), format!("http://{site}/ok")],
            "fetch": {"timeout_ms": 300, "max_attempts": 2}
        }),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let slow = &pages[&format!("http://{site}/slow")];
    assert_eq!(slow["error"]["code"], "fetch_timeout", "{slow}");
    assert_eq!(slow["attempts"], 2, "timeouts are retried");
    let looped = &pages[&format!("http://{site}/loop-a")];
    assert_eq!(looped["error"]["code"], "too_many_redirects", "{looped}");
    assert_eq!(looped["attempts"], 1, "a redirect loop is not retried");
    assert_eq!(pages[&format!("http://{site}/ok")]["items"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run waited for the slow page"
    );
    host.stop().await
}

fn gzip_bomb(bytes: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..bytes / zeros.len() {
        encoder.write_all(&zeros).expect("gzip into memory");
    }
    encoder.finish().expect("gzip into memory")
}

#[tokio::test]
async fn huge_bodies_and_gzip_bombs_fail_the_page_not_the_host() -> anyhow::Result<()> {
    let bomb = Bytes::from(gzip_bomb(50 << 20));
    assert!(bomb.len() < 1 << 20, "the bomb is small on the wire");
    let router = Router::new()
        .route(
            "/huge",
            get(|| async {
                // 50 MB streamed without a Content-Length: the cap must count as it reads.
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                let stream = futures_util::stream::iter(
                    (0..800).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    Body::from_stream(stream),
                )
            }),
        )
        .route(
            "/bomb",
            get(move || {
                let bomb = bomb.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html"),
                            (header::CONTENT_ENCODING, "gzip"),
                        ],
                        bomb,
                    )
                }
            }),
        )
        .route("/ok", get(|| async { html(products(["Fine".to_owned()])) }));
    let (site, _) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [format!("http://{site}/huge"), format!("http://{site}/bomb"), format!("http://{site}/ok")]}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    for p in ["huge", "bomb"] {
        let page = &pages[&format!("http://{site}/{p}")];
        assert_eq!(page["outcome"], "failed", "{page}");
        assert_eq!(page["error"]["code"], "body_too_large", "{page}");
        assert_eq!(page["attempts"], 1, "{page}");
    }
    assert_eq!(
        names(&host, &key, &run).await?,
        BTreeSet::from(["Fine".into()])
    );
    host.stop().await
}

#[tokio::test]
async fn legacy_charsets_are_decoded() -> anyhow::Result<()> {
    // windows-1252 named by the header; Shift_JIS named only by a <meta> tag.
    let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode("Café “crème” – 5€");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(
        "<html><head><meta charset=\"Shift_JIS\"></head><body><article class=\"product\"><h3>日本語の本</h3></article></body></html>",
    );
    let cp1252_page = [
        b"<html><body><article class=\"product\"><h3>".as_slice(),
        &cp1252,
        b"</h3></article></body></html>",
    ]
    .concat();
    let sjis = sjis.into_owned();
    let router = Router::new()
        .route(
            "/cp1252",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=windows-1252")],
                    cp1252_page,
                )
            }),
        )
        .route(
            "/sjis",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], sjis) }),
        );
    let (site, _) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let (run, _) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [format!("http://{site}/cp1252"), format!("http://{site}/sjis")]}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        names(&host, &key, &run).await?,
        BTreeSet::from(["Café “crème” – 5€".into(), "日本語の本".into()])
    );
    host.stop().await
}

#[tokio::test]
async fn robots_txt_is_obeyed_with_its_crawl_delay() -> anyhow::Result<()> {
    let router = Router::new()
        .route(
            "/robots.txt",
            get(|| async {
                "User-agent: *\nDisallow: /private\nCrawl-delay: 0.5\n\nUser-agent: other\nDisallow: /\n"
            }),
        )
        .fallback(|request: Request| async move {
            html(products([format!("Item at {}", request.uri().path())]))
        });
    let (site, log) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let urls: Vec<String> = ["/a", "/b", "/c", "/d", "/private/x"]
        .iter()
        .map(|p| format!("http://{site}{p}"))
        .collect();
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": urls, "concurrency": 5, "fetch": {"per_host_concurrency": 5}}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let private = &pages[&format!("http://{site}/private/x")];
    assert_eq!(private["outcome"], "skipped", "{private}");
    assert_eq!(private["error"]["code"], "robots_disallowed");
    assert_eq!(private["attempts"], 0);
    assert_eq!(run["counters"]["pages_fetched"], 4);
    assert_eq!(run["counters"]["pages_failed"], 0, "skipped is not failed");
    let skipped = all_pages(
        &host,
        &key,
        run["id"].as_str().unwrap_or_default(),
        Some("skipped"),
    )
    .await?;
    assert_eq!(skipped.len(), 1);

    let entries = log.entries();
    assert_eq!(
        entries.iter().filter(|(p, _)| p == "/robots.txt").count(),
        1,
        "robots.txt is fetched once: {entries:?}"
    );
    assert!(!entries.iter().any(|(p, _)| p.starts_with("/private")));
    let times: Vec<Instant> = entries
        .iter()
        .filter(|(p, _)| p != "/robots.txt")
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(times.len(), 4);
    // Starts are spaced by 500 ms at the crawler; arrivals may jitter on a busy machine.
    // Without the delay, the four requests (per-host concurrency 5) arrive together.
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(350),
            "Crawl-delay 0.5 not honoured: {:?}",
            pair[1] - pair[0]
        );
    }
    assert!(times[3] - times[0] >= Duration::from_millis(1400));

    // A job that opts out of robots.txt fetches the private page, with its own User-Agent.
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [format!("http://{site}/private/y")], "fetch": {"obey_robots": false, "user_agent": "other/1.0"}}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        pages[&format!("http://{site}/private/y")]["outcome"],
        "done"
    );
    host.stop().await
}

/// A site whose every page (a one-product catalogue) answers after `delay`; it counts the
/// most requests it had in flight at once.
async fn counting_site(delay: Duration) -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let router = Router::new().fallback({
        let (now, peak) = (now.clone(), peak.clone());
        move |request: Request| {
            let (now, peak) = (now.clone(), peak.clone());
            async move {
                let inflight = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(inflight, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                now.fetch_sub(1, Ordering::SeqCst);
                if request.uri().path() == "/robots.txt" {
                    return StatusCode::NOT_FOUND.into_response();
                }
                html(products([request.uri().path().to_owned()]))
            }
        }
    });
    let (site, _) = serve(router, "127.0.0.1").await?;
    Ok((site.to_string(), peak))
}

#[tokio::test]
async fn per_host_concurrency_is_bounded() -> anyhow::Result<()> {
    let (site, peak) = counting_site(Duration::from_millis(200)).await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let urls: Vec<String> = (0..8).map(|i| format!("http://{site}/p{i}")).collect();
    let (run, _) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": urls, "concurrency": 8, "fetch": {"per_host_concurrency": 2}}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["pages_fetched"], 8);
    assert_eq!(peak.load(Ordering::SeqCst), 2, "at most 2 requests at once");
    host.stop().await
}

/// The job's `concurrency` is requests in flight: pages that were fetched and are being
/// extracted or stored do not hold it, but no more requests than it are ever out at once.
#[tokio::test]
async fn job_concurrency_bounds_requests_in_flight() -> anyhow::Result<()> {
    let (site, peak) = counting_site(Duration::from_millis(150)).await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let urls: Vec<String> = (0..12).map(|i| format!("http://{site}/p{i}")).collect();
    let (run, _) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": urls, "concurrency": 3, "fetch": {"per_host_concurrency": 12}}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["pages_fetched"], 12);
    assert_eq!(peak.load(Ordering::SeqCst), 3, "at most 3 requests at once");
    host.stop().await
}

#[derive(serde::Deserialize)]
struct Month {
    month: Option<i64>,
}

#[tokio::test]
async fn an_endless_calendar_is_bounded_by_depth_and_normalisation() -> anyhow::Result<()> {
    // Every month links to the next and the previous one, each link with a fresh session
    // id and a fragment: endless, and without normalisation every link is new.
    let served = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route(
            "/calendar",
            get({
                let served = served.clone();
                move |Query(q): Query<Month>| {
                    let n = served.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let m = q.month.unwrap_or(0);
                        html(format!(
                            "{}<a href=\"/calendar?month={}&amp;sid={n}a#top\">next</a>\
                             <a href=\"/calendar?sid={n}b&amp;month={}\">prev</a>\
                             <a href=\"/logout?month={m}\">log out</a>\
                             <a href=\"https://elsewhere.example/\">elsewhere</a>\
                             <a href=\"/download.pdf\">pdf</a>",
                            products([format!("Month {m}")]),
                            m + 1,
                            m - 1
                        ))
                    }
                }
            }),
        )
        .route(
            "/download.pdf",
            get(|| async { ([(header::CONTENT_TYPE, "application/pdf")], "%PDF-1.4") }),
        );
    let (site, log) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({
            "start_urls": [format!("http://{site}/calendar?month=0")],
            "pagination": {"type": "crawl", "exclude": ["/logout"]},
            "max_depth": 3,
            "max_pages": 1000,
            "drop_query_params": ["sid"]
        }),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    // Depth 3 both ways: months -3..=3, each fetched once, plus the PDF (skipped).
    let months: BTreeSet<String> = names(&host, &key, &run).await?;
    assert_eq!(months, (-3..=3).map(|m| format!("Month {m}")).collect());
    assert_eq!(served.load(Ordering::SeqCst), 7, "{:?}", log.paths());
    assert_eq!(pages.len(), 8, "{pages:?}");
    let pdf = &pages[&format!("http://{site}/download.pdf")];
    assert_eq!(pdf["outcome"], "skipped");
    assert_eq!(pdf["error"]["code"], "unsupported_content_type");
    assert_eq!(pdf["content_type"], Value::Null);
    assert!(!log.paths().iter().any(|p| p.starts_with("/logout")));
    host.stop().await
}

#[tokio::test]
async fn the_guard_refuses_private_addresses_when_on() -> anyhow::Result<()> {
    // A site the guard must keep the crawler away from, on another loopback address.
    let (inner, inner_log) = serve(
        Router::new().fallback(|| async { html(products(["Secret".to_owned()])) }),
        "127.0.0.2",
    )
    .await?;
    let router = Router::new()
        .route(
            "/start",
            get(move || async move {
                html(format!(
                    "{}<a href=\"http://{inner}/linked\">in</a><a href=\"/redirect\">r</a>",
                    products(["Public".to_owned()])
                ))
            }),
        )
        .route(
            "/redirect",
            get(move || async move {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, format!("http://{inner}/redirected"))],
                )
            }),
        );
    let (site, _) = serve(router, "127.0.0.1").await?;

    // Guard fully on: the site itself is refused, by IP literal and by DNS (localhost).
    let host = TestHost::start_with(|c| c.fetch.allow_private_networks = false).await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let localhost = format!("http://localhost:{}/start", site.port());
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [format!("http://{site}/start"), localhost]}),
    )
    .await?;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "no_pages_fetched");
    assert_eq!(pages.len(), 2);
    for page in pages.values() {
        assert_eq!(page["error"]["code"], "blocked_address", "{page}");
    }
    host.stop().await?;

    // Guard on, 127.0.0.1 opened by the operator: the site is crawled, but neither a link
    // nor a redirect gets to 127.0.0.2.
    let host = TestHost::start_with(|c| {
        c.fetch.allow_private_networks = false;
        c.fetch.allowed_networks = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({
            "start_urls": [format!("http://{site}/start")],
            "pagination": {"type": "crawl", "same_host": false},
            "max_depth": 1
        }),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        names(&host, &key, &run).await?,
        BTreeSet::from(["Public".into()])
    );
    let linked = &pages[&format!("http://{inner}/linked")];
    assert_eq!(linked["error"]["code"], "blocked_address", "{linked}");
    let redirected = &pages[&format!("http://{site}/redirect")];
    assert_eq!(
        redirected["error"]["code"], "blocked_address",
        "{redirected}"
    );
    assert!(
        inner_log.paths().is_empty(),
        "the guard let a request through: {:?}",
        inner_log.paths()
    );
    host.stop().await
}

/// The catalogue: pages 1..=5 of four products each, `li.next a` links, and page 6 with
/// no products (where an open-ended URL template stops).
async fn catalogue() -> anyhow::Result<SocketAddr> {
    let router = Router::new().route(
        "/catalogue",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            if page > 6 {
                return StatusCode::NOT_FOUND.into_response();
            }
            let items = if page <= 5 {
                products((1..=4).map(|i| format!("Product {page}.{i}")))
            } else {
                String::new()
            };
            let next = if page < 5 {
                format!(
                    "<li class=\"next\"><a href=\"/catalogue?page={}\">next</a></li>",
                    page + 1
                )
            } else {
                String::new()
            };
            html(format!(
                "<main>{items}</main><ul>{next}</ul><a href=\"/about\">about</a>"
            ))
        }),
    );
    Ok(serve(router, "127.0.0.1").await?.0)
}

#[tokio::test]
async fn every_pagination_style_gives_the_same_items() -> anyhow::Result<()> {
    let site = catalogue().await?;
    let first = format!("http://{site}/catalogue?page=1");
    let template = format!("http://{site}/catalogue?page={{page}}");
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let expected: BTreeSet<String> = (1..=5)
        .flat_map(|p| (1..=4).map(move |i| format!("Product {p}.{i}")))
        .collect();
    let styles = [
        json!({"start_urls": [first], "pagination": {"type": "next-link", "selector": "li.next a"}}),
        json!({"pagination": {"type": "url-template", "template": template, "start": 1, "end": 5}}),
        json!({"pagination": {"type": "url-template", "template": template}}),
        json!({"start_urls": [first], "pagination": {"type": "crawl", "include": ["/catalogue"]}}),
    ];
    for job in styles {
        let (run, pages) = run_job(&host, &key, &schema, job.clone()).await?;
        assert_eq!(run["status"], "succeeded", "{job}: {run}");
        assert_eq!(names(&host, &key, &run).await?, expected, "{job}");
        assert!(
            !pages.keys().any(|u| u.contains("about")),
            "{job}: {pages:?}"
        );
        assert!(pages.len() <= 6, "{job}: {pages:?}");
    }

    // Plugin-driven: the css-extractor's own `x-follow`.
    let (key, schema) =
        member_with_schema(&host, name_schema(json!({"x-follow": "li.next a"}))).await?;
    let (run, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [format!("http://{site}/catalogue?page=1")], "pagination": {"type": "plugin"}}),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(names(&host, &key, &run).await?, expected);
    assert_eq!(pages.len(), 5);
    host.stop().await
}

#[tokio::test]
async fn pages_are_listed_by_outcome_for_their_owner_only() -> anyhow::Result<()> {
    let router = Router::new()
        .route("/ok", get(|| async { html(products(["A".to_owned()])) }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/image.png",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/png")],
                    vec![0x89u8, b'P', b'N', b'G'],
                )
            }),
        );
    let (site, log) = serve(router, "127.0.0.1").await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let urls: Vec<String> = ["ok", "missing", "image.png", "ok#again", "OK"]
        .iter()
        .map(|p| format!("http://{site}/{p}"))
        .collect();
    let (run, pages) = run_job(&host, &key, &schema, json!({"start_urls": urls})).await?;
    let run_id = run["id"].as_str().unwrap_or_default();
    assert_eq!(pages.len(), 4, "the fragment is normalised away: {pages:?}");
    let ok = &pages[&format!("http://{site}/ok")];
    assert_eq!(ok["outcome"], "done");
    assert_eq!(ok["items"], 1);
    assert_eq!(ok["http_status"], 200);
    assert_eq!(ok["content_type"], "text/html");
    assert_eq!(ok["depth"], 0);
    assert!(ok["bytes"].as_i64().unwrap_or_default() > 0);
    assert!(ok["elapsed_ms"].is_i64());
    let image = &pages[&format!("http://{site}/image.png")];
    assert_eq!(image["outcome"], "skipped");
    assert_eq!(image["error"]["code"], "unsupported_content_type");
    assert_eq!(log.paths().iter().filter(|p| *p == "/ok").count(), 1);

    for (outcome, count) in [("done", 1), ("failed", 2), ("skipped", 1), ("pending", 0)] {
        let listed = all_pages(&host, &key, run_id, Some(outcome)).await?;
        assert_eq!(listed.len(), count, "{outcome}: {listed:?}");
        assert!(listed.iter().all(|p| p["outcome"] == outcome));
    }
    let (status, body) = host
        .call(
            "GET",
            &format!("/v1/runs/{run_id}/pages?outcome=lost"),
            &key,
            None,
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query");

    let stranger = host.member("stranger@example.com").await?;
    let (status, body) = host
        .call("GET", &format!("/v1/runs/{run_id}/pages"), &stranger, None)
        .await?;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    // With content types opened, the image is fetched and extracted (no items).
    let (_, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [format!("http://{site}/image.png")], "fetch": {"content_types": ["image/*"]}}),
    )
    .await?;
    assert_eq!(
        pages[&format!("http://{site}/image.png")]["outcome"],
        "done"
    );
    host.stop().await
}

#[tokio::test]
async fn crawl_settings_are_validated_and_stored() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let bad = json!({
        "name": "bad", "schema_id": schema,
        "pagination": {"type": "url-template", "template": "http://a.test/list", "step": 0},
        "max_depth": -1,
        "fetch": {"per_host_concurrency": 1000, "max_attempts": 0, "timeout_ms": 999999999, "content_types": ["html"]}
    });
    let (status, body) = host.call("POST", "/v1/jobs", &key, Some(bad)).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_job");
    let paths: BTreeSet<&str> = body["error"]["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|p| p["path"].as_str()).collect())
        .unwrap_or_default();
    for path in [
        "/pagination/template",
        "/pagination/step",
        "/max_depth",
        "/fetch/per_host_concurrency",
        "/fetch/max_attempts",
        "/fetch/timeout_ms",
        "/fetch/content_types/0",
    ] {
        assert!(paths.contains(path), "{path} not reported: {body}");
    }
    let (status, body) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(
                json!({"name": "x", "schema_id": schema, "start_urls": ["http://a.test/"],
                        "pagination": {"type": "crawl", "include": ["("]}}),
            ),
        )
        .await?;
    assert_eq!(status, 422, "{body}");

    let good = json!({
        "name": "good", "schema_id": schema,
        "start_urls": ["http://a.test/"],
        "pagination": {"type": "crawl", "include": ["/catalogue/"]},
        "max_depth": 2,
        "drop_query_params": ["sid"],
        "fetch": {"delay_ms": 250, "user_agent": "acme-bot/2.0"}
    });
    let (status, job) = host.call("POST", "/v1/jobs", &key, Some(good)).await?;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["max_depth"], 2);
    assert_eq!(job["drop_query_params"], json!(["sid"]));
    assert_eq!(job["fetch"]["delay_ms"], 250);
    assert_eq!(
        job["fetch"]["per_host_concurrency"], 2,
        "defaults are filled in"
    );
    assert_eq!(job["fetch"]["obey_robots"], true);
    assert_eq!(
        job["pagination"],
        json!({"type": "crawl", "include": ["/catalogue/"], "exclude": [], "same_host": true, "selector": "a[href]"})
    );
    host.stop().await
}

/// A proxy that answers every request itself, counting connections.
async fn counting_proxy() -> anyhow::Result<(SocketAddr, Arc<AtomicUsize>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = "<html><body><p class=name>via the proxy</p></body></html>";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    Ok((addr, seen))
}

/// `HTTP_PROXY` and friends in the server's environment would route requests through a
/// proxy that resolves the target itself, out of the guard's sight. The fetcher ignores
/// them. The variables are set for a child process running this same test, so no other
/// test sees them; the child fetches a name only the proxy could "resolve".
#[tokio::test]
async fn proxy_variables_in_the_environment_are_ignored() -> anyhow::Result<()> {
    const CHILD: &str = "TRAWL_TEST_PROXY_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let mut config = trawl_host::Config::for_tests(std::env::temp_dir());
        config.fetch.allow_private_networks = false;
        config.fetch.allowed_networks = vec!["127.0.0.1/32".parse()?];
        let fetcher = trawl_host::crawl::Fetcher::new(&config.fetch)?;
        let result = fetcher.fetch("http://intranet.proxy-test.invalid/").await;
        anyhow::ensure!(
            result.is_err(),
            "the page was fetched through the proxy: {:?}",
            result.map(|f| f.page.body.clone())
        );
        return Ok(());
    }
    let (proxy, seen) = counting_proxy().await?;
    let proxy_url = format!("http://{proxy}");
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "proxy_variables_in_the_environment_are_ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("HTTP_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("https_proxy", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the child test failed:\n{said}");
    assert!(said.contains("1 passed"), "the child ran no test:\n{said}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "the proxy was used:\n{said}"
    );
    Ok(())
}

/// A site that is down says so in words a person uses: "connection refused", "no such
/// host", on the page and in a robots.txt failure; a refused address names the setting
/// that opens it.
#[tokio::test]
async fn failures_say_what_happened() -> anyhow::Result<()> {
    // A port nothing listens on: bound, then let go.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?;
    let host = TestHost::start().await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let fetch = json!({"obey_robots": false, "max_attempts": 1});
    let down = format!("http://{closed}/page");
    let unknown = "http://no-such-host.invalid/page".to_string();
    let (_, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [down, unknown], "fetch": fetch}),
    )
    .await?;
    let message = |url: &str| {
        pages[url]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        message(&down).contains("connection refused"),
        "{}",
        message(&down)
    );
    assert!(
        message(&unknown).contains("no such host"),
        "{}",
        message(&unknown)
    );
    assert!(
        !message(&down).contains("error sending request"),
        "{}",
        message(&down)
    );

    // robots.txt of a site that is down.
    let fetch = json!({"obey_robots": true, "max_attempts": 1});
    let (_, pages) = run_job(
        &host,
        &key,
        &schema,
        json!({"start_urls": [down], "fetch": fetch}),
    )
    .await?;
    let page = &pages[&down];
    assert_eq!(page["error"]["code"], "robots_unreachable", "{page}");
    assert!(
        page["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("connection refused"),
        "{page}"
    );
    host.stop().await?;

    // With the guard on, the refusal names the setting.
    let host = TestHost::start_with(|c| c.fetch.allow_private_networks = false).await?;
    let (key, schema) = member_with_schema(&host, name_schema(json!({}))).await?;
    let (_, pages) = run_job(&host, &key, &schema, json!({"start_urls": [down]})).await?;
    let page = &pages[&down];
    assert_eq!(page["error"]["code"], "blocked_address", "{page}");
    assert!(
        page["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("TRAWL_ALLOW_NETWORKS"),
        "{page}"
    );
    host.stop().await
}
