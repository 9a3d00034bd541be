//! `browser` rendering end to end, in Debian's headless Chromium: items a script inserts
//! after a delay and an infinite-scroll page are all extracted in `browser` mode and none
//! in `http` mode; a page whose script calls an address the job was not allowed gets
//! nothing from it (that server sees not even a connection); a host without Chromium
//! refuses `browser` jobs, naming the package to install.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use trawl_tests::TestHost;

/// Fails, naming the package, when this machine has no Chromium: a browser test never
/// passes without one.
fn require_chromium() {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|name| {
            std::env::var_os("PATH").is_some_and(|paths| {
                std::env::split_paths(&paths).any(|dir| dir.join(name).is_file())
            })
        });
    assert!(
        found,
        "the browser tests need headless Chromium: install Debian's `chromium` package \
         (apt-get install chromium)"
    );
}

fn html(body: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"),
    )
        .into_response()
}

/// A page whose ten items a script fetches from a JSON endpoint and inserts after 300 ms;
/// an infinite-scroll page that adds ten items each time it is scrolled to the end, five
/// times; and a page whose script, image and preconnect reach for `leak` (another address).
async fn js_site(leak: SocketAddr) -> anyhow::Result<SocketAddr> {
    let delayed = r#"<ul id="list"></ul><script>
        setTimeout(async () => {
          const items = await (await fetch('/api/items')).json();
          const list = document.getElementById('list');
          for (const name of items) {
            const li = document.createElement('li');
            li.className = 'item';
            li.innerHTML = '<h3></h3>';
            li.firstChild.textContent = name;
            list.appendChild(li);
          }
        }, 300);
        </script>"#;
    let scroll = r#"<div id="feed" style="min-height: 100vh"></div><script>
        let batch = 0;
        async function more() {
          if (batch >= 5) return;
          const items = await (await fetch('/api/feed?batch=' + batch)).json();
          batch += 1;
          const feed = document.getElementById('feed');
          for (const name of items) {
            const div = document.createElement('div');
            div.className = 'item';
            div.style.height = '200px';
            div.innerHTML = '<h3></h3>';
            div.firstChild.textContent = name;
            feed.appendChild(div);
          }
        }
        more();
        window.addEventListener('scroll', () => {
          if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 10) more();
        });
        </script>"#;
    let leaky = format!(
        r#"<link rel="preconnect" href="http://{leak}/"><img src="http://{leak}/pixel.png">
        <ul id="list"></ul><script>
        (async () => {{
          const list = document.getElementById('list');
          let leaked = 'refused';
          try {{ await fetch('http://{leak}/secret'); leaked = 'reached'; }} catch (e) {{}}
          try {{ new WebSocket('ws://{leak}/ws'); }} catch (e) {{}}
          const li = document.createElement('li');
          li.className = 'item';
          li.innerHTML = '<h3></h3>';
          li.firstChild.textContent = 'leak ' + leaked;
          list.appendChild(li);
        }})();
        </script>"#
    );
    let router = Router::new()
        .route("/delayed", get(move || async move { html(delayed) }))
        .route("/scroll", get(move || async move { html(scroll) }))
        .route("/leaky", get(move || async move { html(&leaky) }))
        .route(
            "/api/items",
            get(|| async {
                axum::Json((1..=10).map(|n| format!("delayed {n}")).collect::<Vec<_>>())
            }),
        )
        .route(
            "/api/feed",
            get(
                |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let batch: u32 = q.get("batch").and_then(|b| b.parse().ok()).unwrap_or(0);
                    axum::Json(
                        (0..10)
                            .map(|i| format!("feed {}", batch * 10 + i))
                            .collect::<Vec<_>>(),
                    )
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

/// A listener on 127.0.0.2 that counts the connections it is offered.
async fn tripwire() -> anyhow::Result<(SocketAddr, Arc<AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await?;
    let addr = listener.local_addr()?;
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    Ok((addr, count))
}

async fn member_schema(host: &TestHost) -> anyhow::Result<(String, Value)> {
    let key = host
        .member(&format!("{}@example.com", uuid::Uuid::new_v4().simple()))
        .await?;
    let schema = json!({
        "type": "object",
        "x-scope": ".item",
        "properties": {"name": {"type": "string", "x-selector": "h3"}},
        "required": ["name"]
    });
    let (status, created) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "items", "json_schema": schema})),
        )
        .await?;
    anyhow::ensure!(status == 201, "schema: {created}");
    Ok((key, created["id"].clone()))
}

async fn names(host: &TestHost, key: &str, job: Value) -> anyhow::Result<(Value, Vec<String>)> {
    let run = host.run_job(key, job).await?;
    let items = host
        .all_results(key, run["id"].as_str().unwrap_or_default())
        .await?;
    let mut names: Vec<String> = items
        .iter()
        .filter_map(|i| i["data"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok((run, names))
}

fn job(schema: &Value, url: String, fetch: Value) -> Value {
    json!({"name": "js", "schema_id": schema, "start_urls": [url], "max_pages": 1, "fetch": fetch})
}

#[tokio::test]
async fn script_built_pages_render_in_the_browser_and_not_over_http() -> anyhow::Result<()> {
    require_chromium();
    let (leak, _) = tripwire().await?;
    let site = js_site(leak).await?;
    let host = TestHost::start().await?;
    let (key, schema) = member_schema(&host).await?;

    let (run, over_http) = names(
        &host,
        &key,
        job(&schema, format!("http://{site}/delayed"), json!({})),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(over_http.is_empty(), "{over_http:?}");
    let (run, rendered) = names(
        &host,
        &key,
        job(
            &schema,
            format!("http://{site}/delayed"),
            json!({"render": "browser", "browser": {"wait_for": "li.item", "network_idle": false}}),
        ),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let mut expected: Vec<String> = (1..=10).map(|n| format!("delayed {n}")).collect();
    expected.sort();
    assert_eq!(rendered, expected, "{run}");

    let (_, over_http) = names(
        &host,
        &key,
        job(&schema, format!("http://{site}/scroll"), json!({})),
    )
    .await?;
    assert!(over_http.is_empty(), "{over_http:?}");
    let (run, scrolled) = names(
        &host,
        &key,
        job(
            &schema,
            format!("http://{site}/scroll"),
            json!({"render": "browser", "browser": {"scroll_rounds": 10}}),
        ),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(scrolled.len(), 50, "every batch of the feed: {scrolled:?}");
    host.stop().await
}

#[tokio::test]
async fn a_page_cannot_make_the_browser_reach_an_address_the_job_was_not_allowed()
-> anyhow::Result<()> {
    require_chromium();
    let (leak, connections) = tripwire().await?;
    let site = js_site(leak).await?;
    let host = TestHost::start_with(|c| {
        c.fetch.allow_private_networks = false;
        c.fetch.allowed_networks = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await?;
    let (key, schema) = member_schema(&host).await?;
    let (run, names) = names(
        &host,
        &key,
        job(
            &schema,
            format!("http://{site}/leaky"),
            json!({"render": "browser", "browser": {"wait_for": "li.item", "block": []}}),
        ),
    )
    .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(names, ["leak refused"], "the page's fetch() got nothing");
    // Give a stray connection (a preconnect, a socket) time to arrive if one was made.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the address the job was not allowed saw no connection at all"
    );
    host.stop().await
}

#[tokio::test]
async fn a_host_without_chromium_refuses_browser_jobs_naming_the_package() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| {
        c.browser.executable = Some("/nonexistent/chromium".into());
    })
    .await?;
    let (key, schema) = member_schema(&host).await?;
    let (status, body) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(job(
                &schema,
                "http://127.0.0.1:1/".into(),
                json!({"render": "browser"}),
            )),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "browser_unavailable", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("chromium"), "{message}");
    // `http` jobs are unaffected.
    let (status, body) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(job(&schema, "http://127.0.0.1:1/".into(), json!({}))),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    host.stop().await
}
