//! End-to-end renders in the machine's Chromium. The target site is an axum server on
//! 127.0.0.1:0; the host's fetcher is played by reqwest, allowed to reach that server
//! only. Without Chromium these tests fail, naming the package to install.

// The helpers of a test panic on what cannot happen in it: the failure is the test's.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::BoxFuture;
use trawl_browser::{
    BrowserConfig, BrowserPool, ContextKey, ContextScope, RenderRequest, RenderSettings, Rendered,
    ResourceKind, SubFetch, SubRefusal, SubRequest, SubResponse, WaitOutcome,
};

/// Renders in these tests are timed and compared; two cores are no place for several
/// browsers at once, so the tests take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn chromium() -> PathBuf {
    let config = BrowserConfig::default();
    match BrowserPool::find_executable(&config) {
        Ok(path) => path,
        Err(unavailable) => {
            panic!("these tests need Chromium: {unavailable} (the Debian package is `chromium`)")
        }
    }
}

fn pool_config() -> BrowserConfig {
    BrowserConfig {
        executable: Some(chromium()),
        max_contexts: 2,
        launch_timeout: Duration::from_secs(30),
        memory_limit_bytes: None,
        data_dir: std::env::temp_dir().join(format!("trawl-browser-test-{}", std::process::id())),
    }
}

fn pool(max_contexts: usize) -> BrowserPool {
    BrowserPool::new(BrowserConfig {
        max_contexts,
        ..pool_config()
    })
}

// ---------------------------------------------------------------------------------------
// The site

#[derive(Default)]
struct Hits(Mutex<HashMap<String, usize>>);

impl Hits {
    fn count(&self, path: &str) -> usize {
        self.0.lock().unwrap().get(path).copied().unwrap_or(0)
    }
    fn hit(&self, path: &str) {
        *self.0.lock().unwrap().entry(path.to_owned()).or_default() += 1;
    }
}

struct Site {
    base: String,
    port: u16,
    hits: Arc<Hits>,
}

async fn site() -> Site {
    let hits = Arc::new(Hits::default());
    let app = Router::new()
        .route("/{*path}", get(serve))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Site {
        base: format!("http://127.0.0.1:{port}"),
        port,
        hits,
    }
}

async fn serve(State(hits): State<Arc<Hits>>, Path(path): Path<String>) -> Response {
    hits.hit(&path);
    let (kind, body): (&str, String) = match path.as_str() {
        "items.json" => ("application/json", json_items(0, 10)),
        "feed" | "feed/0" => ("application/json", json_items(0, 10)),
        p if p.starts_with("feed/") => {
            let n: usize = p["feed/".len()..].parse().unwrap_or(99);
            let body = if n < 5 { json_items(n * 10, 10) } else { "[]".into() };
            ("application/json", body)
        }
        "app.js" => ("text/javascript", "document.body.dataset.app = 'ran';".into()),
        "img.png" => ("image/png", "not really a png".into()),
        "font.woff2" => ("font/woff2", "not really a font".into()),
        "frame" => ("text/html", frame_page()),
        "frame-data" | "worker-data" => ("text/plain", "ok".into()),
        "worker.js" => (
            "text/javascript",
            "fetch('/worker-data').then(r => r.text()).then(t => postMessage(t), e => postMessage('failed'));".into(),
        ),
        // The documents the tests hand over themselves: the browser must never ask.
        p if PAGES.contains(&p) => ("text/html", "<p>fetched by the browser</p>".into()),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

const PAGES: [&str; 6] = ["delayed", "scroll", "leak", "assets", "cookie", "children"];

fn json_items(from: usize, n: usize) -> String {
    let items: Vec<String> = (from..from + n).map(|i| format!("\"item {i}\"")).collect();
    format!("[{}]", items.join(","))
}

fn delayed_page() -> String {
    r#"<!doctype html><html><body><ul id="list"></ul><script>
setTimeout(() => {
  fetch('/items.json').then(r => r.json()).then(items => {
    for (const text of items) {
      const li = document.createElement('li');
      li.className = 'item';
      li.textContent = text;
      document.getElementById('list').appendChild(li);
    }
  });
}, 300);
</script></body></html>"#
        .into()
}

fn scroll_page() -> String {
    r#"<!doctype html><html><head><style>.item { height: 300px; }</style></head>
<body><div id="list"></div><script>
let next = 0, loading = false;
function load() {
  if (loading) return;
  loading = true;
  fetch('/feed/' + next).then(r => r.json()).then(items => {
    next += 1;
    for (const text of items) {
      const div = document.createElement('div');
      div.className = 'item';
      div.textContent = text;
      document.getElementById('list').appendChild(div);
    }
    loading = false;
  });
}
window.addEventListener('scroll', () => {
  if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 10) load();
});
load();
</script></body></html>"#
        .into()
}

fn leak_page(leak: &str) -> String {
    format!(
        r#"<!doctype html><html><head>
<link rel="preconnect" href="http://{leak}">
<link rel="dns-prefetch" href="http://{leak}">
</head><body>
<img src="http://{leak}/pixel.png">
<div id="status">pending</div>
<script>
try {{
  const ws = new WebSocket('ws://{leak}/ws');
  ws.onerror = () => {{ document.body.dataset.ws = 'error'; }};
}} catch (e) {{ document.body.dataset.ws = 'threw'; }}
fetch('http://{leak}/leak').then(
  () => {{ document.getElementById('status').textContent = 'leaked'; document.body.dataset.done = '1'; }},
  () => {{ document.getElementById('status').textContent = 'refused'; document.body.dataset.done = '1'; }});
</script></body></html>"#
    )
}

fn assets_page() -> String {
    r#"<!doctype html><html><head>
<style>@font-face { font-family: Custom; src: url(/font.woff2) format('woff2'); }
p { font-family: Custom, sans-serif; }</style>
</head><body><p>text in a custom font</p><img src="/img.png"><script src="/app.js"></script>
</body></html>"#
        .into()
}

fn cookie_page() -> String {
    r#"<!doctype html><html><body><span id="visits"></span><script>
const m = document.cookie.match(/visits=(\d+)/);
const n = m ? Number(m[1]) + 1 : 1;
document.cookie = 'visits=' + n + '; path=/';
document.getElementById('visits').textContent = 'visits=' + n;
</script></body></html>"#
        .into()
}

fn children_page(port: u16) -> String {
    // localhost is another site than 127.0.0.1: with site isolation the iframe is an
    // out-of-process frame, a target of its own.
    format!(
        r#"<!doctype html><html><body>
<iframe src="http://localhost:{port}/frame"></iframe>
<div id="worker">pending</div>
<script>
const w = new Worker('/worker.js');
w.onmessage = (e) => {{
  document.getElementById('worker').textContent = 'worker:' + e.data;
  document.body.dataset.worker = e.data;
}};
</script></body></html>"#
    )
}

fn frame_page() -> String {
    "<!doctype html><html><body><script>fetch('/frame-data');</script></body></html>".into()
}

// ---------------------------------------------------------------------------------------
// The host's fetcher

struct TestFetch {
    client: reqwest::Client,
    allowed: Vec<String>,
    seen: Mutex<Vec<(String, ResourceKind)>>,
    refused: AtomicUsize,
}

impl TestFetch {
    fn new(allowed: &[String]) -> Arc<Self> {
        Arc::new(Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            allowed: allowed.to_vec(),
            seen: Mutex::new(Vec::new()),
            refused: AtomicUsize::new(0),
        })
    }

    fn kinds(&self) -> Vec<ResourceKind> {
        self.seen.lock().unwrap().iter().map(|(_, k)| *k).collect()
    }
}

/// The fetcher as the pool holds it (the tests keep the `Arc<TestFetch>` to look inside).
struct Fetcher(Arc<TestFetch>);

impl SubFetch for Fetcher {
    fn fetch(&self, request: SubRequest) -> BoxFuture<'static, Result<SubResponse, SubRefusal>> {
        let this = self.0.clone();
        Box::pin(async move {
            this.seen
                .lock()
                .unwrap()
                .push((request.url.clone(), request.kind));
            let url = reqwest::Url::parse(&request.url).map_err(|e| SubRefusal {
                code: "invalid_url".into(),
                message: e.to_string(),
            })?;
            let authority = format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port_or_known_default().unwrap_or_default()
            );
            if !this.allowed.contains(&authority) {
                this.refused.fetch_add(1, Ordering::SeqCst);
                return Err(SubRefusal {
                    code: "blocked_address".into(),
                    message: format!("{authority} is not allowed"),
                });
            }
            let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
            let mut headers = HeaderMap::new();
            for (name, value) in &request.headers {
                if name.eq_ignore_ascii_case("host") {
                    continue;
                }
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    header::HeaderValue::from_str(value),
                ) {
                    headers.append(name, value);
                }
            }
            let mut builder = this.client.request(method, url).headers(headers);
            if let Some(body) = request.body {
                builder = builder.body(body);
            }
            let response = builder.send().await.map_err(|e| SubRefusal {
                code: "fetch_failed".into(),
                message: e.to_string(),
            })?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = response.bytes().await.map_err(|e| SubRefusal {
                code: "fetch_failed".into(),
                message: e.to_string(),
            })?;
            Ok(SubResponse {
                status,
                headers,
                body: body.to_vec(),
            })
        })
    }
}

fn request(
    url: String,
    html: String,
    settings: RenderSettings,
    scope: ContextScope,
    fetch: Arc<TestFetch>,
) -> RenderRequest {
    RenderRequest {
        url,
        document: SubResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: html.into_bytes(),
        },
        settings,
        scope,
        fetch: Arc::new(Fetcher(fetch)),
        deadline: Duration::from_secs(30),
    }
}

fn report(name: &str, pool: &BrowserPool, rendered: &Rendered) {
    let stats = pool.stats();
    eprintln!(
        "[{name}] elapsed {:?}, waited {:?}, requests {}, refused {}, blocked {}, rss {} MiB",
        rendered.elapsed,
        rendered.waited,
        rendered.requests,
        rendered.refused,
        rendered.blocked,
        stats.rss_bytes.unwrap_or(0) / (1024 * 1024)
    );
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

// ---------------------------------------------------------------------------------------
// The tests

#[tokio::test]
async fn waiting_for_a_selector_sees_what_a_script_adds_later() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let url = format!("{}/delayed", site.base);

    let started = Instant::now();
    let waited = pool
        .render(request(
            url.clone(),
            delayed_page(),
            RenderSettings {
                wait_for: Some("li.item:nth-child(10)".into()),
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render with a wait");
    eprintln!(
        "[selector] first render incl. launch {:?}",
        started.elapsed()
    );
    report("selector", &pool, &waited);
    assert_eq!(count(&waited.html, "class=\"item\""), 10, "{}", waited.html);
    assert_eq!(waited.waited, WaitOutcome::SelectorFound);
    let seen = fetch.seen.lock().unwrap().clone();
    let json = seen
        .iter()
        .filter(|(u, _)| u.ends_with("/items.json"))
        .count();
    assert_eq!(json, 1, "the JSON endpoint went through SubFetch: {seen:?}");
    assert!(waited.requests >= 1);

    let unwaited = pool
        .render(request(
            url,
            delayed_page(),
            RenderSettings::default(),
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render without a wait");
    report("no wait", &pool, &unwaited);
    assert!(
        count(&unwaited.html, "class=\"item\"") < 10,
        "{}",
        unwaited.html
    );
    assert_eq!(unwaited.waited, WaitOutcome::Load);
    assert_eq!(
        site.hits.count("delayed"),
        0,
        "the browser fetched the document"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn infinite_scroll_collects_every_round() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let rendered = pool
        .render(request(
            format!("{}/scroll", site.base),
            scroll_page(),
            RenderSettings {
                network_idle: true,
                scroll_rounds: 10,
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render");
    report("scroll", &pool, &rendered);
    assert_eq!(
        count(&rendered.html, "class=\"item\""),
        50,
        "{}",
        rendered.html
    );
    assert!(rendered.html.contains("item 49"));
    // Rounds 0–4 bring data, round 5 brings none and the height stops growing.
    assert_eq!(site.hits.count("feed/5"), 1);
    assert_eq!(site.hits.count("feed/6"), 0);
    pool.shutdown().await;
}

#[tokio::test]
async fn the_browser_reaches_nothing_by_itself() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    // A second server on another loopback address: nothing may connect to it.
    let leak = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let leak_addr = leak.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = leak.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });

    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let rendered = pool
        .render(request(
            format!("{}/leak", site.base),
            leak_page(&leak_addr),
            RenderSettings {
                wait_for: Some("body[data-done]".into()),
                // Give the WebSocket and the preconnect time to try.
                delay: Duration::from_millis(1500),
                // Nothing blocked: the <img> too goes to SubFetch and is refused there.
                block: Vec::new(),
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("the page renders despite the refusals");
    report("containment", &pool, &rendered);
    assert!(rendered.html.contains(">refused<"), "{}", rendered.html);
    assert!(
        rendered.refused >= 2,
        "fetch() and <img> refused: {rendered:?}"
    );
    let seen = fetch.seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|(u, _)| u.ends_with("/leak")),
        "the fetch() was handed to SubFetch: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(u, k)| u.ends_with("/pixel.png") && *k == ResourceKind::Image),
        "the <img> was handed to SubFetch: {seen:?}"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the browser connected to {leak_addr}"
    );
    assert_eq!(
        site.hits.count("leak"),
        0,
        "the browser fetched the supplied document"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn images_and_fonts_are_blocked_by_default() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let rendered = pool
        .render(request(
            format!("{}/assets", site.base),
            assets_page(),
            RenderSettings {
                network_idle: true,
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render");
    report("blocking", &pool, &rendered);
    let kinds = fetch.kinds();
    assert!(!kinds.contains(&ResourceKind::Image), "{kinds:?}");
    assert!(!kinds.contains(&ResourceKind::Font), "{kinds:?}");
    assert!(
        kinds.contains(&ResourceKind::Script),
        "the script still loads: {kinds:?}"
    );
    assert!(
        rendered.html.contains("data-app=\"ran\""),
        "{}",
        rendered.html
    );
    assert!(rendered.blocked >= 1, "{rendered:?}");
    assert_eq!(site.hits.count("img.png"), 0);
    assert_eq!(site.hits.count("font.woff2"), 0);
    pool.shutdown().await;
}

#[tokio::test]
async fn a_run_context_keeps_cookies_and_a_page_context_does_not() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let url = format!("{}/cookie", site.base);
    let render = |scope| {
        pool.render(request(
            url.clone(),
            cookie_page(),
            RenderSettings::default(),
            scope,
            fetch.clone(),
        ))
    };
    let run = ContextScope::Run(ContextKey(7));
    let first = render(run).await.expect("first render in the run");
    let second = render(run).await.expect("second render in the run");
    report("run context", &pool, &second);
    assert!(first.html.contains("visits=1"), "{}", first.html);
    assert!(second.html.contains("visits=2"), "{}", second.html);

    let other_run = render(ContextScope::Run(ContextKey(8))).await.unwrap();
    assert!(other_run.html.contains("visits=1"), "runs share no cookies");

    for _ in 0..2 {
        let page = render(ContextScope::Page).await.expect("per-page render");
        assert!(page.html.contains("visits=1"), "{}", page.html);
    }

    assert_eq!(pool.stats().contexts_in_use, 2, "the two run contexts");
    pool.release(ContextKey(7)).await;
    let after_release = render(run).await.unwrap();
    assert!(
        after_release.html.contains("visits=1"),
        "release dropped the cookies"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn a_killed_browser_is_replaced() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let url = format!("{}/delayed", site.base);
    let settings = RenderSettings {
        wait_for: Some("li.item".into()),
        ..RenderSettings::default()
    };
    pool.render(request(
        url.clone(),
        delayed_page(),
        settings.clone(),
        ContextScope::Page,
        fetch.clone(),
    ))
    .await
    .expect("render before the kill");
    let pid = pool.stats().browser_pid.expect("a browser runs");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let rendered = pool
        .render(request(
            url,
            delayed_page(),
            settings,
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render after the kill");
    report("after crash", &pool, &rendered);
    assert!(rendered.html.contains("class=\"item\""));
    let stats = pool.stats();
    assert_eq!(stats.restarts, 1, "{stats:?}");
    assert_eq!(stats.launches, 2, "{stats:?}");
    assert_ne!(stats.browser_pid, Some(pid));
    pool.shutdown().await;
}

#[tokio::test]
async fn more_renders_than_contexts_take_turns() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let started = Instant::now();
    let renders: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            let request = request(
                format!("{}/delayed", site.base),
                delayed_page(),
                RenderSettings {
                    wait_for: Some("li.item:nth-child(10)".into()),
                    ..RenderSettings::default()
                },
                ContextScope::Page,
                fetch.clone(),
            );
            tokio::spawn(async move { pool.render(request).await })
        })
        .collect();
    let mut peak = 0;
    while !renders.iter().all(|r| r.is_finished()) {
        peak = peak.max(pool.stats().contexts_in_use);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for render in renders {
        let rendered = render.await.unwrap().expect("every render succeeds");
        assert_eq!(count(&rendered.html, "class=\"item\""), 10);
    }
    eprintln!(
        "[concurrency] 4 renders, 2 contexts: {:?}",
        started.elapsed()
    );
    assert!(peak <= 2, "{peak} contexts at once");
    pool.shutdown().await;
}

#[tokio::test]
async fn iframes_and_workers_are_intercepted_too() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[
        format!("127.0.0.1:{}", site.port),
        format!("localhost:{}", site.port),
    ]);
    let pool = pool(2);
    let rendered = pool
        .render(request(
            format!("{}/children", site.base),
            children_page(site.port),
            RenderSettings {
                wait_for: Some("body[data-worker]".into()),
                network_idle: true,
                delay: Duration::from_millis(300),
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render");
    report("children", &pool, &rendered);
    let seen = fetch.seen.lock().unwrap().clone();
    assert_eq!(
        site.hits.count("frame"),
        1,
        "the iframe's document: {seen:?}"
    );
    assert_eq!(
        site.hits.count("frame-data"),
        1,
        "the iframe's fetch(): {seen:?}"
    );
    assert_eq!(
        site.hits.count("worker.js"),
        1,
        "the worker's script: {seen:?}"
    );
    assert_eq!(
        site.hits.count("worker-data"),
        1,
        "the worker's fetch(): {seen:?}"
    );
    assert!(rendered.html.contains("worker:ok"), "{}", rendered.html);
    pool.shutdown().await;
}

#[tokio::test]
async fn a_browser_killed_mid_render_is_replaced_and_the_render_retried() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    // Launch first, so the kill below lands mid-render.
    pool.render(request(
        format!("{}/cookie", site.base),
        cookie_page(),
        RenderSettings::default(),
        ContextScope::Page,
        fetch.clone(),
    ))
    .await
    .expect("warm-up render");
    let pid = pool.stats().browser_pid.expect("a browser runs");
    let render = {
        let pool = pool.clone();
        let request = request(
            format!("{}/delayed", site.base),
            delayed_page(),
            RenderSettings {
                // Never matches: the render waits out its wait_timeout.
                wait_for: Some("#never".into()),
                wait_timeout: Duration::from_secs(2),
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        );
        tokio::spawn(async move { pool.render(request).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let rendered = render.await.unwrap().expect("the retry succeeds");
    assert_eq!(rendered.waited, WaitOutcome::TimedOut);
    assert_eq!(
        count(&rendered.html, "class=\"item\""),
        10,
        "the retry rendered the page"
    );
    let stats = pool.stats();
    assert_eq!((stats.launches, stats.restarts), (2, 1), "{stats:?}");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_hung_page_times_out_without_taking_the_browser_down() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = pool(2);
    let mut hung = request(
        format!("{}/delayed", site.base),
        "<!doctype html><p>spinning</p><script>setTimeout(() => { for (;;) {} }, 10)</script>"
            .into(),
        RenderSettings {
            delay: Duration::from_millis(500),
            ..RenderSettings::default()
        },
        ContextScope::Page,
        fetch.clone(),
    );
    hung.deadline = Duration::from_secs(3);
    let started = Instant::now();
    let error = pool
        .render(hung)
        .await
        .expect_err("a busy loop cannot render");
    assert_eq!(error.code(), "render_timeout", "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    let after = pool
        .render(request(
            format!("{}/cookie", site.base),
            cookie_page(),
            RenderSettings::default(),
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("the browser still renders");
    assert!(after.html.contains("visits=1"));
    let stats = pool.stats();
    assert_eq!((stats.launches, stats.restarts), (1, 0), "{stats:?}");
    pool.shutdown().await;
}

#[tokio::test]
async fn an_oversized_page_fails_and_a_heavy_browser_is_restarted() {
    let _turn = SERIAL.lock().await;
    let site = site().await;
    let fetch = TestFetch::new(&[format!("127.0.0.1:{}", site.port)]);
    let pool = BrowserPool::new(BrowserConfig {
        // Far below any Chromium: every render asks for a restart once it is idle.
        memory_limit_bytes: Some(64 * 1024 * 1024),
        ..pool_config()
    });
    let error = pool
        .render(request(
            format!("{}/cookie", site.base),
            cookie_page(),
            RenderSettings {
                max_html_bytes: 64,
                ..RenderSettings::default()
            },
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect_err("the page is longer than 64 bytes");
    assert_eq!(error.code(), "render_too_large");
    let first_pid = pool.stats().browser_pid;
    // The restart runs on a task of its own once the render is out.
    for _ in 0..100 {
        if pool.stats().memory_restarts == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rendered = pool
        .render(request(
            format!("{}/cookie", site.base),
            cookie_page(),
            RenderSettings::default(),
            ContextScope::Page,
            fetch.clone(),
        ))
        .await
        .expect("render on the fresh browser");
    assert!(rendered.html.contains("visits=1"));
    let stats = pool.stats();
    assert_eq!(stats.memory_restarts, 1, "{stats:?}");
    assert_eq!((stats.launches, stats.restarts), (2, 1), "{stats:?}");
    assert_ne!(stats.browser_pid, first_pid);
    pool.shutdown().await;
}
