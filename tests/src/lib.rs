//! Test harness for trawl's end-to-end tests: a fresh database per test (from
//! `DATABASE_URL`, or the embedded PostgreSQL when it is unset), a real host serving on
//! `127.0.0.1:0`, and local target sites.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::oneshot;
use trawl_host::{AppState, Config};

pub mod quality;

/// Where the test databases live. Names made here are `trawl_test_<unix time>_<uuid>`:
/// only such names are ever put into SQL text.
async fn server_options() -> anyhow::Result<PgConnectOptions> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url.parse()?);
    }
    // No DATABASE_URL: one embedded cluster shared by every test process.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-postgres");
    let mut last = None;
    for _ in 0..5 {
        match trawl_host::db::embedded::EmbeddedPostgres::start_shared(&dir).await {
            Ok(pg) => return Ok(pg.connect_options()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("embedded PostgreSQL did not start")))
}

/// A migrated database of its own for one test, dropped when this value is.
///
/// Names are `trawl_test_<unix time>_<machine>_<pid>_<random>`, and only such names are
/// ever put into SQL text. Making one first sweeps what earlier runs left behind (a test
/// process killed before its databases were dropped): the databases of this machine
/// whose process is gone, and any older than an hour.
pub struct TestDb {
    /// The database.
    pub pool: PgPool,
    name: String,
    server: PgConnectOptions,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("name", &self.name).finish()
    }
}

impl TestDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How to reach the server it lives on.
    pub fn server(&self) -> &PgConnectOptions {
        &self.server
    }
}

/// This machine, in a test database's name.
pub fn machine() -> String {
    let id = std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .unwrap_or_default();
    let mut hash: u32 = 2_166_136_261;
    for b in id.trim().bytes() {
        hash = (hash ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    format!("{hash:08x}")
}

/// Whether a test database left by an earlier run may go.
fn is_stale(name: &str, now: u64, machine: &str) -> bool {
    let mut parts = name
        .strip_prefix("trawl_test_")
        .unwrap_or_default()
        .split('_');
    let born = parts.next().and_then(|t| t.parse::<u64>().ok());
    let (on, pid) = (
        parts.next(),
        parts.next().and_then(|p| p.parse::<u32>().ok()),
    );
    let Some(born) = born else { return false };
    let gone = on == Some(machine)
        && pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
    gone || now.saturating_sub(born) > 3600
}

/// Make a test database (see [`TestDb`]).
pub async fn test_db() -> anyhow::Result<TestDb> {
    let server = server_options().await?;
    let mut admin = PgConnection::connect_with(&server)
        .await
        .context("connecting to PostgreSQL for tests")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let machine = machine();
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'trawl_test_%'")
            .fetch_all(&mut admin)
            .await?;
    for name in stale.into_iter().filter(|n| is_stale(n, now, &machine)) {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
    let random = uuid::Uuid::new_v4().simple().to_string();
    let name = format!(
        "trawl_test_{now}_{machine}_{}_{}",
        std::process::id(),
        &random[..16]
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(server.clone().database(&name))
        .await?;
    trawl_host::db::MIGRATOR.run(&pool).await?;
    Ok(TestDb { pool, name, server })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A drop cannot await, and the test's runtime may be going away: a thread of its
        // own with a runtime of its own drops the database (FORCE ends the pool's
        // connections), and the test waits for it.
        let (name, server) = (std::mem::take(&mut self.name), self.server.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect_with(&server).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("dropping a test database: {e:#}");
        }
    }
}

/// A running trawl host on a fresh database.
pub struct TestHost {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The first admin's key.
    pub admin_key: String,
    /// The host's state (database pool, runtime, …).
    pub state: AppState,
    /// An HTTP client.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _data_dir: TempDir,
    /// Last: the database goes after everything that uses it (`None` for a host beside
    /// another, which owns it).
    _db: Option<TestDb>,
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory under the system temp dir.
    pub fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("trawl-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        Self(dir)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestHost {
    /// Start a host with test defaults (private networks allowed, fast polling).
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Start a host after adjusting its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let db = test_db().await?;
        let pool = db.pool.clone();
        let (_, admin_key) = trawl_host::keys::bootstrap_admin(&pool, None)
            .await?
            .context("a fresh database has no admin yet")?;
        Self::serve(pool, admin_key, Some(db), adjust).await
    }

    /// Start another host on this host's database (a data directory of its own), as a
    /// second machine of one deployment would be. Stop it before this one.
    pub async fn beside(&self, adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        Self::serve(
            self.state.pool.clone(),
            self.admin_key.clone(),
            None,
            adjust,
        )
        .await
    }

    async fn serve(
        pool: PgPool,
        admin_key: String,
        db: Option<TestDb>,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let data_dir = TempDir::new();
        let mut config = Config::for_tests(data_dir.0.clone());
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        config.listen = addr;
        let state = AppState::new(config, pool).await?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(trawl_host::server::serve(
            state.clone(),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(Self {
            base: format!("http://{addr}"),
            admin_key,
            state,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            _data_dir: data_dir,
            _db: db,
        })
    }

    /// Stop the host and wait for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// Create a member with credits enough for any test (their runs are charged, as
    /// members' are) and return their API key.
    pub async fn member(&self, email: &str) -> anyhow::Result<String> {
        Ok(self.member_with_credits(email, 1_000_000_000).await?.1)
    }

    /// Create a member starting with `credits`; returns their id and API key.
    pub async fn member_with_credits(
        &self,
        email: &str,
        credits: i64,
    ) -> anyhow::Result<(String, String)> {
        let (status, user) = self
            .call(
                "POST",
                "/v1/users",
                &self.admin_key,
                Some(json!({"email": email, "credits": credits})),
            )
            .await?;
        anyhow::ensure!(status == 201, "creating a member: {status} {user}");
        let id = user["id"].as_str().context("user id")?.to_owned();
        let key = self.key_for(&id).await?;
        Ok((id, key))
    }

    /// A new API key of the user `id`.
    pub async fn key_for(&self, id: &str) -> anyhow::Result<String> {
        let (status, key) = self
            .call(
                "POST",
                &format!("/v1/users/{id}/keys"),
                &self.admin_key,
                Some(json!({"name": "test"})),
            )
            .await?;
        anyhow::ensure!(status == 201, "creating a key: {status} {key}");
        Ok(key["key"].as_str().context("key")?.to_owned())
    }

    /// Make an API call; returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let method: reqwest::Method = method.parse()?;
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value))
    }

    /// Create a job from `job` (a job body) and start a run of it; returns the run's id.
    pub async fn start_job(&self, key: &str, job: Value) -> anyhow::Result<String> {
        let (status, job) = self.call("POST", "/v1/jobs", key, Some(job)).await?;
        anyhow::ensure!(status == 201, "creating the job: {status} {job}");
        let path = format!("/v1/jobs/{}/runs", job["id"].as_str().context("job id")?);
        let (status, run) = self.call("POST", &path, key, None).await?;
        anyhow::ensure!(status == 201, "starting the run: {status} {run}");
        Ok(run["id"].as_str().context("run id")?.to_owned())
    }

    /// Save `schema` as `key`'s and start a run of a one-page job on it at `start`;
    /// returns the run's id.
    pub async fn one_page_run(
        &self,
        key: &str,
        schema: Value,
        start: &str,
    ) -> anyhow::Result<String> {
        let (status, schema) = self.call("POST", "/v1/schemas", key, Some(schema)).await?;
        anyhow::ensure!(status == 201, "schema: {schema}");
        let job =
            json!({"name": "j", "schema_id": schema["id"], "start_urls": [start], "max_pages": 1});
        self.start_job(key, job).await
    }

    /// [`start_job`](Self::start_job), then wait for the run to end.
    pub async fn run_job(&self, key: &str, job: Value) -> anyhow::Result<Value> {
        let run = self.start_job(key, job).await?;
        self.wait_run(key, &run, Duration::from_secs(60)).await
    }

    /// Poll a run until it ends; returns the final run.
    pub async fn wait_run(
        &self,
        key: &str,
        run_id: &str,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, run) = self
                .call("GET", &format!("/v1/runs/{run_id}"), key, None)
                .await?;
            anyhow::ensure!(status == 200, "GET run: {status} {run}");
            if !matches!(run["status"].as_str(), Some("queued" | "running")) {
                return Ok(run);
            }
            if Instant::now() > deadline {
                bail!("run {run_id} did not end in {timeout:?}: {run}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Poll an export until it ends.
    pub async fn wait_export(
        &self,
        key: &str,
        export_id: &str,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, export) = self
                .call("GET", &format!("/v1/exports/{export_id}"), key, None)
                .await?;
            anyhow::ensure!(status == 200, "GET export: {status} {export}");
            if !matches!(export["status"].as_str(), Some("queued" | "running")) {
                return Ok(export);
            }
            if Instant::now() > deadline {
                bail!("export {export_id} did not end in {timeout:?}: {export}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every result of a run, following the cursor.
    pub async fn all_results(&self, key: &str, run_id: &str) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/runs/{run_id}/results?limit=37");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.call("GET", &path, key, None).await?;
            anyhow::ensure!(status == 200, "GET results: {status} {page}");
            out.extend(page["items"].as_array().context("items")?.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(out),
            }
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Resident memory of this process (a test host runs in it), in bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * 4096
}

/// A static site on `127.0.0.1:0`: path → (content type, body).
pub async fn serve_site(pages: HashMap<String, (String, Vec<u8>)>) -> anyhow::Result<SocketAddr> {
    let pages = Arc::new(pages);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let pages = pages.clone();
        async move {
            match pages.get(uri.path()) {
                Some((content_type, body)) => (
                    [(axum::http::header::CONTENT_TYPE, content_type.clone())],
                    body.clone(),
                )
                    .into_response_parts(),
                None => (axum::http::StatusCode::NOT_FOUND, "not found").into_response_parts(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// A site of item pages behind an index (`/` links to `/p/1` … `/p/N`), each answered
/// after a delay, counting the requests for every path: for tests of how runs end, resume
/// and stop (what was fetched, and how often).
#[derive(Debug, Clone)]
pub struct CountingSite {
    /// Where it listens.
    pub addr: SocketAddr,
    hits: Arc<std::sync::Mutex<HashMap<String, u32>>>,
}

impl CountingSite {
    /// Serve `pages` item pages, each after `delay`. With `busy`, the index also links to
    /// `/busy`, which always answers 503 (so its fetch retries and sleeps between tries).
    pub async fn start(pages: usize, delay: Duration, busy: bool) -> anyhow::Result<Self> {
        let hits: Arc<std::sync::Mutex<HashMap<String, u32>>> = Arc::default();
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let hits = counted.clone();
            async move {
                let path = uri.path().to_owned();
                *hits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(path.clone())
                    .or_default() += 1;
                let html = |body: String| {
                    (
                        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        format!("<!doctype html><html><body>{body}</body></html>"),
                    )
                        .into_response_parts()
                };
                if path == "/" {
                    let mut links: String = (1..=pages)
                        .map(|n| format!("<a href=\"/p/{n}\">{n}</a>\n"))
                        .collect();
                    if busy {
                        links.push_str("<a href=\"/busy\">busy</a>");
                    }
                    return html(links);
                }
                if path == "/busy" {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                        .into_response_parts();
                }
                let n: Option<usize> = path.strip_prefix("/p/").and_then(|n| n.parse().ok());
                match n {
                    Some(n) if (1..=pages).contains(&n) => {
                        tokio::time::sleep(delay).await;
                        html(format!("<h1>Item {n}</h1><p class=\"n\">{n}</p>"))
                    }
                    _ => (axum::http::StatusCode::NOT_FOUND, "not found").into_response_parts(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, hits })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests for each path so far.
    pub fn hits(&self) -> HashMap<String, u32> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Requests so far, all paths together.
    pub fn total(&self) -> u32 {
        self.hits().values().sum()
    }

    /// The schema of its item pages (the bundled CSS extractor).
    pub fn schema() -> Value {
        json!({"name": "items", "json_schema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "x-selector": "h1"},
                "n": {"type": "integer", "x-selector": "p.n"}
            },
            "required": ["name", "n"]
        }})
    }

    /// A job crawling the whole site with `concurrency` requests at once.
    pub fn job(&self, schema_id: &Value, concurrency: u32) -> Value {
        json!({
            "name": "counting site",
            "schema_id": schema_id,
            "start_urls": [format!("{}/", self.base())],
            "pagination": {"type": "crawl", "selector": "a[href]"},
            "max_pages": 100000,
            "concurrency": concurrency,
            "fetch": {"per_host_concurrency": concurrency.min(8)}
        })
    }
}

trait IntoResponseParts {
    fn into_response_parts(self) -> axum::response::Response;
}

impl<T: axum::response::IntoResponse> IntoResponseParts for T {
    fn into_response_parts(self) -> axum::response::Response {
        self.into_response()
    }
}

/// The directory of the test fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The fixture catalogue: a five-page paginated shop of 100 products, some shown on two
/// pages, some missing a required field.
pub mod catalogue {
    use std::collections::{BTreeMap, HashMap};

    use serde_json::{Value, json};

    pub const PAGES: usize = 5;
    pub const PER_PAGE: usize = 20;

    /// Product `n` (1..=100). Every product whose number ends in 7 has no price.
    pub fn product(n: usize) -> (String, Option<f64>, i64) {
        let name = format!("Product {n:03} \"deluxe\", edition {}", n % 3);
        let price = (n % 10 != 7).then_some((n as f64) * 1.25 + 0.99);
        let stock = (n * 7 % 23) as i64;
        (name, price, stock)
    }

    pub fn product_html(n: usize) -> String {
        let (name, price, stock) = product(n);
        let price = price
            .map(|p| format!("<p class=\"price\">£{p:.2}</p>"))
            .unwrap_or_default();
        let name = name.replace('"', "&quot;");
        format!(
            "<article class=\"product\">\n  <h3><a href=\"/products/{n}.html\" title=\"{name}\">{name}</a></h3>\n  {price}\n  \
             <p class=\"stock\">In stock ({stock} available)</p>\n</article>\n"
        )
    }

    /// Five pages of twenty products; each page but the last also shows the first two
    /// products of the next page, so eight items are seen twice.
    pub fn catalogue() -> HashMap<String, (String, Vec<u8>)> {
        let mut site = HashMap::new();
        for page in 1..=PAGES {
            let first = (page - 1) * PER_PAGE + 1;
            let mut shown: Vec<usize> = (first..first + PER_PAGE).collect();
            if page < PAGES {
                shown.extend([first + PER_PAGE, first + PER_PAGE + 1]);
            }
            let products: String = shown.iter().map(|&n| product_html(n)).collect();
            let next = if page < PAGES {
                format!(
                    "<li class=\"next\"><a href=\"page-{}.html\">next</a></li>",
                    page + 1
                )
            } else {
                String::new()
            };
            let html = format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Catalogue page {page}</title></head>\
                 <body><main>{products}</main><ul class=\"pager\">{next}</ul></body></html>"
            );
            site.insert(
                format!("/catalogue/page-{page}.html"),
                ("text/html; charset=utf-8".into(), html.into_bytes()),
            );
        }
        site
    }

    pub fn schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "x-scope": "article.product",
            "properties": {
                "name": {"type": "string", "x-selector": "h3 a"},
                "price": {"type": "number", "x-selector": "p.price"},
                "stock": {"type": "integer", "x-selector": "p.stock"},
                "url": {"type": "string", "x-selector": "h3 a", "x-attr": "href", "x-url": true}
            },
            "required": ["name", "price", "url"]
        })
    }

    pub fn expected(base: &str) -> BTreeMap<String, Value> {
        (1..=PAGES * PER_PAGE)
            .filter_map(|n| {
                let (name, price, stock) = product(n);
                let url = format!("{base}/products/{n}.html");
                let price = (price? * 100.0).round() / 100.0;
                Some((
                    url.clone(),
                    json!({"name": name, "price": price, "stock": stock, "url": url}),
                ))
            })
            .collect()
    }
}

/// Where tests/build.rs built the test plugins.
mod test_plugins {
    include!(concat!(env!("OUT_DIR"), "/test_plugins.rs"));
}

/// The bytes of a test plugin built by tests/build.rs (`hostile`, `hostile_exporter`,
/// `chameleon`).
pub fn test_plugin(stem: &str) -> Vec<u8> {
    let path = match stem {
        "hostile" => test_plugins::HOSTILE_PATH,
        "hostile_exporter" => test_plugins::HOSTILE_EXPORTER_PATH,
        "chameleon" => test_plugins::CHAMELEON_PATH,
        other => panic!("no test plugin {other}"),
    };
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl TestHost {
    /// Upload a component as `key`; returns the status and body.
    pub async fn upload(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<(u16, Value)> {
        let response = self
            .client
            .post(format!("{}/v1/plugins", self.base))
            .bearer_auth(key)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value))
    }
}

/// The chameleon exporter (tests/plugins/chameleon) describing itself as `name`,
/// `version`, `description`, `media_type` and `extension`: its profile block rewritten
/// in the component's bytes, which stay a valid component of the same length.
pub fn chameleon(
    name: &str,
    version: &str,
    description: &str,
    media_type: &str,
    extension: &str,
) -> Vec<u8> {
    const MARKER: &[u8] = b"@@TRAWL-CHAMELEON-PROFILE@@";
    const ROOM: usize = 12 << 10;
    let mut bytes = test_plugin("chameleon");
    let at = bytes
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .expect("the chameleon component holds its profile marker")
        + MARKER.len();
    let text = format!("{name}\n{version}\n{description}\n{media_type}\n{extension}\n");
    assert!(
        text.len() < ROOM,
        "a profile of {} bytes does not fit",
        text.len()
    );
    let block = &mut bytes[at..at + ROOM];
    block.fill(0);
    block[..text.len()].copy_from_slice(text.as_bytes());
    bytes
}

/// A real S3-compatible server on loopback for the tests that store exports in a bucket:
/// moto's standalone server (from PyPI), one per test, stopped on drop.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// A bucket made for this test.
    pub bucket: String,
    child: tokio::process::Child,
}

/// The `moto_server` command, or what to install.
fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("TRAWL_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/moto/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "moto's S3 server is not installed: run `python3 -m venv target/moto && \
             target/moto/bin/pip install 'moto[server]==5.2.5'` in the repository (what \
             `.ci/run` does), or set TRAWL_MOTO_SERVER to its `moto_server` command"
        )
    })
}

impl S3Server {
    /// Start a server and make a bucket on it.
    pub async fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = tokio::process::Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting moto_server")?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if client.get(&endpoint).send().await.is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("moto_server did not answer on {endpoint} within a minute");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bucket = format!("trawl-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let made = client.put(format!("{endpoint}/{bucket}")).send().await?;
        if !made.status().is_success() {
            bail!("making bucket {bucket}: {}", made.status());
        }
        Ok(Self {
            endpoint,
            bucket,
            child,
        })
    }

    /// Point a host's export storage at this bucket.
    pub fn configure(&self, config: &mut Config) {
        let storage = &mut config.storage;
        storage.kind = trawl_host::config::StorageKind::S3;
        storage.bucket = Some(self.bucket.clone());
        storage.endpoint = Some(self.endpoint.clone());
        storage.allow_http = true;
        storage.region = Some("us-east-1".into());
        storage.access_key_id = Some("trawl-test".into());
        storage.secret_access_key = Some("trawl-test-secret".into());
    }

    /// The keys in the bucket (whole keys, prefix included).
    pub async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let listing = reqwest::get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .await?
            .text()
            .await?;
        Ok(listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
