//! Several `trawl serve` processes on one database, as an operator runs them: a host
//! killed with SIGKILL mid-crawl (another finishes the run from its frontier, item for
//! item as an uninterrupted run, fetching no finished page again); a host stopped with
//! SIGTERM (the run continues elsewhere at once, and retry sleeps do not hold the stop
//! up); a host paused with SIGSTOP past its lease (it writes nothing once it resumes).
//!
//! These tests start the real `trawl` binary, so they live in its package.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use trawl_tests::{CountingSite, TempDir, TestDb, test_db};

/// A `trawl serve` process.
struct Host {
    child: Child,
    base: String,
}

impl Host {
    /// Start `trawl serve` on `db` as `name` (its connections' application_name, so the
    /// database can tell its writes apart), with test settings and `env` on top.
    async fn start(
        db: &TestDb,
        data: &TempDir,
        name: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let server = db.server();
        let host = server.get_host();
        let host: String = url::form_urlencoded::byte_serialize(host.as_bytes()).collect();
        let url = format!(
            "postgres://{}@{}:{}/{}?application_name={name}",
            server.get_username(),
            host,
            server.get_port(),
            db.name()
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_trawl"));
        command
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("TRAWL_LISTEN", "127.0.0.1:0")
            .env("TRAWL_DATA_DIR", &data.0)
            .env("TRAWL_ALLOW_PRIVATE_NETWORKS", "true")
            .env("TRAWL_POLL_INTERVAL", "200ms")
            .env("TRAWL_FETCH_RETRY_BASE", "50ms")
            .env("TRAWL_LOG", "info,sqlx=warn,wasmtime=warn,cranelift=warn")
            .env("NO_COLOR", "1")
            .env_remove("TRAWL_ADMIN_KEY")
            .stdin(Stdio::null())
            // The log goes to standard output.
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().context("starting trawl serve")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(120);
        let base = loop {
            let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
                .await
                .context("trawl serve did not start listening in 120 s")??
                .context("trawl serve exited before listening")?;
            if let Some(at) = line.find("listening on http://") {
                let addr = line[at + "listening on ".len()..].trim().to_owned();
                break addr;
            }
        };
        let label = name.to_owned();
        // Keep reading its log, so the pipe never fills and blocks it; echo warnings.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("WARN") || line.contains("ERROR") {
                    eprintln!("[{label}] {line}");
                }
            }
        });
        Ok(Self { child, base })
    }

    fn pid(&self) -> anyhow::Result<String> {
        Ok(self.child.id().context("the host has exited")?.to_string())
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid()?)
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} failed");
        Ok(())
    }
}

struct Api {
    client: reqwest::Client,
    key: String,
}

impl Api {
    async fn call(
        &self,
        host: &Host,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", host.base);
        let mut request = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url),
        }
        .bearer_auth(&self.key);
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

    /// Save the counting site's schema and a job crawling it; returns the job id.
    async fn job(
        &self,
        host: &Host,
        site: &CountingSite,
        concurrency: u32,
    ) -> anyhow::Result<String> {
        let (status, schema) = self
            .call(host, "POST", "/v1/schemas", Some(CountingSite::schema()))
            .await?;
        anyhow::ensure!(status == 201, "schema: {status} {schema}");
        let (status, job) = self
            .call(
                host,
                "POST",
                "/v1/jobs",
                Some(site.job(&schema["id"], concurrency)),
            )
            .await?;
        anyhow::ensure!(status == 201, "job: {status} {job}");
        Ok(job["id"].as_str().context("job id")?.to_owned())
    }

    async fn start_run(&self, host: &Host, job: &str) -> anyhow::Result<String> {
        let (status, run) = self
            .call(host, "POST", &format!("/v1/jobs/{job}/runs"), None)
            .await?;
        anyhow::ensure!(status == 201, "run: {status} {run}");
        Ok(run["id"].as_str().context("run id")?.to_owned())
    }

    async fn run(&self, host: &Host, run: &str) -> anyhow::Result<Value> {
        let (status, run) = self
            .call(host, "GET", &format!("/v1/runs/{run}"), None)
            .await?;
        anyhow::ensure!(status == 200, "GET run: {status} {run}");
        Ok(run)
    }

    async fn wait(
        &self,
        host: &Host,
        run: &str,
        until: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.run(host, run).await?;
            if until(&r) {
                return Ok(r);
            }
            if Instant::now() > deadline {
                bail!("run {run} did not get there in {timeout:?}: {r}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_end(&self, host: &Host, run: &str, timeout: Duration) -> anyhow::Result<Value> {
        self.wait(
            host,
            run,
            |r| !matches!(r["status"].as_str(), Some("queued" | "running")),
            timeout,
        )
        .await
    }

    /// The item data of a run, sorted.
    async fn items(&self, host: &Host, run: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/runs/{run}/results?limit=500");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.call(host, "GET", &path, None).await?;
            anyhow::ensure!(status == 200, "results: {status} {page}");
            for item in page["items"].as_array().context("items")? {
                out.push(item["data"].to_string());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        out.sort();
        Ok(out)
    }
}

async fn setup() -> anyhow::Result<(TestDb, TempDir, Api)> {
    let db = test_db().await?;
    let (_, key) = trawl_host::keys::bootstrap_admin(&db.pool, None)
        .await?
        .context("a fresh database has no admin")?;
    Ok((
        db,
        TempDir::new(),
        Api {
            client: reqwest::Client::new(),
            key,
        },
    ))
}

/// What a run's pages and results say, from the database: pages done, and the `n` of
/// every stored item.
async fn stored(db: &TestDb, run: &str) -> anyhow::Result<(i64, Vec<i64>)> {
    let done: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM run_pages WHERE run_id = $1::uuid AND state = 'done'",
    )
    .bind(run)
    .fetch_one(&db.pool)
    .await?;
    let mut ns: Vec<i64> =
        sqlx::query_scalar("SELECT (data->>'n')::bigint FROM results WHERE run_id = $1::uuid")
            .bind(run)
            .fetch_all(&db.pool)
            .await?;
    ns.sort_unstable();
    Ok((done, ns))
}

const PAGES: usize = 300;

fn every_item() -> Vec<i64> {
    (1..=PAGES as i64).collect()
}

/// SIGKILL the host running a crawl: another host takes the run over once the lease
/// lapses and finishes it from the persisted frontier. Its items equal an uninterrupted
/// run's, nothing is stored twice, no page that was done is fetched again, and the
/// counters equal the pages and the results.
#[tokio::test]
async fn a_killed_hosts_run_is_finished_by_another() -> anyhow::Result<()> {
    let (db, data, api) = setup().await?;
    let site = CountingSite::start(PAGES, Duration::from_millis(20), false).await?;
    let env = [("TRAWL_LEASE", "2s")];
    let mut a = Host::start(&db, &data, "host-a", &env).await?;
    let job = api.job(&a, &site, 2).await?;
    let run = api.start_run(&a, &job).await?;
    api.wait(
        &a,
        &run,
        |r| r["counters"]["pages_fetched"].as_i64().unwrap_or(0) >= 60,
        Duration::from_secs(60),
    )
    .await?;
    a.child.start_kill()?;
    a.child.wait().await?;
    // What was done when the host died (its last transactions have ended by now).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let done_before: Vec<String> =
        sqlx::query_scalar("SELECT url FROM run_pages WHERE run_id = $1::uuid AND state = 'done'")
            .bind(&run)
            .fetch_all(&db.pool)
            .await?;
    assert!(
        done_before.len() >= 60 && done_before.len() < PAGES,
        "{}",
        done_before.len()
    );

    let b = Host::start(&db, &data, "host-b", &env).await?;
    let ended = api.wait_end(&b, &run, Duration::from_secs(90)).await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let token: i64 = sqlx::query_scalar("SELECT lease_token FROM runs WHERE id = $1::uuid")
        .bind(&run)
        .fetch_one(&db.pool)
        .await?;
    assert!(token >= 2, "the run was taken over: token {token}");

    let (done, ns) = stored(&db, &run).await?;
    assert_eq!(ns, every_item(), "every item once");
    assert_eq!(done, PAGES as i64 + 1, "every page and the index done");
    assert_eq!(ended["counters"]["pages_fetched"], done);
    assert_eq!(ended["counters"]["items_new"], PAGES as i64);
    let hits = site.hits();
    for url in &done_before {
        let path = url.trim_start_matches(&site.base());
        assert_eq!(
            hits.get(path).copied(),
            Some(1),
            "{path} was done before the kill and fetched again"
        );
    }

    // An uninterrupted run of the same job gives the same items.
    let again = api.start_run(&b, &job).await?;
    let clean = api.wait_end(&b, &again, Duration::from_secs(90)).await?;
    assert_eq!(clean["status"], "succeeded", "{clean}");
    assert_eq!(api.items(&b, &run).await?, api.items(&b, &again).await?);
    Ok(())
}

/// SIGTERM the host running a crawl whose site has a page that keeps answering 503 (its
/// fetch sleeps between retries): the host stops within seconds, handing the run back,
/// and another host continues it at once, long before the lease (30 s) would lapse.
#[tokio::test]
async fn a_stopping_host_hands_its_run_over_at_once() -> anyhow::Result<()> {
    let (db, data, api) = setup().await?;
    let site = CountingSite::start(PAGES, Duration::from_millis(20), true).await?;
    let env = [
        ("TRAWL_LEASE", "30s"),
        ("TRAWL_FETCH_RETRY_BASE", "20s"),
        ("TRAWL_FETCH_RETRY_CAP", "60s"),
        ("TRAWL_FETCH_MAX_ATTEMPTS", "5"),
    ];
    let mut a = Host::start(&db, &data, "host-a", &env).await?;
    let job = api.job(&a, &site, 2).await?;
    let run = api.start_run(&a, &job).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while site.hits().get("/busy").copied().unwrap_or(0) == 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the busy page was never asked for"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.wait(
        &a,
        &run,
        |r| r["counters"]["pages_fetched"].as_i64().unwrap_or(0) >= 30,
        Duration::from_secs(60),
    )
    .await?;
    let b = Host::start(&db, &data, "host-b", &env).await?;
    let asked = Instant::now();
    a.signal("TERM")?;
    let exit = tokio::time::timeout(Duration::from_secs(10), a.child.wait())
        .await
        .context("the host did not stop within 10 s of SIGTERM")??;
    assert!(exit.success(), "{exit:?}");
    let stopped_in = asked.elapsed();
    assert!(
        stopped_in < Duration::from_secs(5),
        "stopping took {stopped_in:?}"
    );
    // Handed back, not abandoned: B holds it well before A's lease would have lapsed.
    let held = api
        .wait(
            &b,
            &run,
            |r| r["status"] != "queued",
            Duration::from_secs(10),
        )
        .await?;
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "continued only after {:?}: {held}",
        asked.elapsed()
    );
    let ended = api.wait_end(&b, &run, Duration::from_secs(180)).await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let (done, ns) = stored(&db, &run).await?;
    assert_eq!(ns, every_item());
    assert_eq!(ended["counters"]["pages_fetched"], done);
    assert_eq!(ended["counters"]["items_new"], PAGES as i64);
    Ok(())
}

/// SIGSTOP the host running a crawl until another host has taken the run over, then
/// SIGCONT it: from then on the paused host writes nothing for the run (the database
/// records which connection wrote each row).
#[tokio::test]
async fn a_paused_worker_writes_nothing_after_it_resumes() -> anyhow::Result<()> {
    let (db, data, api) = setup().await?;
    // Every write to the run's rows, with the writing host and the time.
    sqlx::raw_sql(
        "CREATE TABLE write_audit (tab text, app text, at timestamptz);
         CREATE FUNCTION audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             INSERT INTO write_audit VALUES (TG_TABLE_NAME, current_setting('application_name'), clock_timestamp());
             RETURN NULL;
         END $$;
         CREATE TRIGGER audit AFTER INSERT OR UPDATE ON results FOR EACH ROW EXECUTE FUNCTION audit_write();
         CREATE TRIGGER audit AFTER INSERT OR UPDATE ON run_pages FOR EACH ROW EXECUTE FUNCTION audit_write();
         CREATE TRIGGER audit AFTER INSERT OR UPDATE ON run_logs FOR EACH ROW EXECUTE FUNCTION audit_write();
         CREATE TRIGGER audit AFTER INSERT OR UPDATE ON runs FOR EACH ROW EXECUTE FUNCTION audit_write();",
    )
    .execute(&db.pool)
    .await?;
    let site = CountingSite::start(PAGES, Duration::from_millis(20), false).await?;
    let env = [("TRAWL_LEASE", "2s")];
    let a = Host::start(&db, &data, "host-a", &env).await?;
    let job = api.job(&a, &site, 2).await?;
    let run = api.start_run(&a, &job).await?;
    api.wait(
        &a,
        &run,
        |r| r["counters"]["pages_fetched"].as_i64().unwrap_or(0) >= 40,
        Duration::from_secs(60),
    )
    .await?;
    let token = |db: &TestDb| {
        let pool = db.pool.clone();
        let run = run.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT lease_token FROM runs WHERE id = $1::uuid")
                .bind(run)
                .fetch_one(&pool)
                .await
        }
    };
    let before = token(&db).await?;
    a.signal("STOP")?;
    let b = Host::start(&db, &data, "host-b", &env).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while token(&db).await? == before {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no host took the paused host's run over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // B holds the run and is writing it; now A wakes up, believing it holds it too.
    let resumed_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&db.pool)
        .await?;
    a.signal("CONT")?;
    let ended = api.wait_end(&b, &run, Duration::from_secs(90)).await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let late: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT tab, at FROM write_audit WHERE app = 'host-a' AND at > $1 ORDER BY at",
    )
    .bind(resumed_at)
    .fetch_all(&db.pool)
    .await?;
    assert!(
        late.is_empty(),
        "the paused host wrote after it resumed: {late:?}"
    );
    let by_b: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM write_audit WHERE app = 'host-b' AND tab = 'results'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert!(by_b > 0, "the audit sees the other host's writes");
    let (done, ns) = stored(&db, &run).await?;
    assert_eq!(ns, every_item());
    assert_eq!(ended["counters"]["pages_fetched"], done);
    let seen: HashSet<i64> = ns.iter().copied().collect();
    assert_eq!(seen.len(), PAGES);
    drop(a);
    Ok(())
}

/// Three hosts, one every-second schedule, for over a minute: every occurrence in that
/// minute became exactly one run (the occurrence is the run's key, whichever host fired it).
#[tokio::test]
async fn every_occurrence_fires_once_on_three_hosts() -> anyhow::Result<()> {
    let (db, data, api) = setup().await?;
    let site = CountingSite::start(1, Duration::ZERO, false).await?;
    let env = [("TRAWL_SCHEDULER_INTERVAL", "100ms")];
    let a = Host::start(&db, &data, "host-a", &env).await?;
    let b = Host::start(&db, &data, "host-b", &env).await?;
    let c = Host::start(&db, &data, "host-c", &env).await?;
    let (status, schema) = api
        .call(&a, "POST", "/v1/schemas", Some(CountingSite::schema()))
        .await?;
    anyhow::ensure!(status == 201, "{schema}");
    let mut job = site.job(&schema["id"], 1);
    job["start_urls"] = serde_json::json!([format!("{}/p/1", site.base())]);
    job["pagination"] = serde_json::json!({"type": "none"});
    job["max_pages"] = serde_json::json!(1);
    job["cron"] = serde_json::json!("* * * * * *");
    job["overlap"] = serde_json::json!("queue");
    let (status, made) = api.call(&b, "POST", "/v1/jobs", Some(job)).await?;
    anyhow::ensure!(status == 201, "{made}");
    let started: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&db.pool)
        .await?;
    tokio::time::sleep(Duration::from_secs(66)).await;
    let ended: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&db.pool)
        .await?;
    // The minute in the middle, when all three hosts had long been up.
    let from = started + chrono::Duration::seconds(3);
    let to = ended - chrono::Duration::seconds(3);
    let fired: Vec<(chrono::DateTime<chrono::Utc>, i64)> = sqlx::query_as(
        "SELECT scheduled_for, count(*) FROM runs
         WHERE scheduled_for >= $1 AND scheduled_for < $2 GROUP BY 1 ORDER BY 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    assert!(
        fired.iter().all(|(_, n)| *n == 1),
        "an occurrence fired twice: {fired:?}"
    );
    assert!(
        fired
            .windows(2)
            .all(|w| w[1].0 - w[0].0 == chrono::Duration::seconds(1)),
        "an occurrence was missed: {fired:?}"
    );
    let seconds = (to - from).num_seconds();
    assert!(seconds >= 59, "{seconds}");
    assert!(
        fired.len() as i64 >= seconds - 1,
        "every second of {seconds} fires: {} did",
        fired.len()
    );
    let apps: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT application_name) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE 'host-%'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(apps, 3, "three hosts were up throughout");
    drop((a, b, c));
    Ok(())
}
