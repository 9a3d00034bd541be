//! Retention over real runs of a real host: the pages, logs and results of runs no rule
//! keeps are deleted and the runs marked, while the newest runs, runs still going and
//! export files already written stay; the max-age rule and the keep-N rule each keep what
//! they keep; incremental deduplication keeps the results it compares against; and the
//! service started by `serve` prunes on its own.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;
use trawl_host::retention::{Policy, Pruned, prune};
use trawl_tests::catalogue::{catalogue, schema};
use trawl_tests::{TestHost, serve_site};

/// What a run has left: page records, log lines, results, and whether it is marked pruned.
#[derive(Debug, PartialEq, Eq)]
struct Left {
    pages: i64,
    logs: i64,
    results: i64,
    pruned: bool,
}

async fn left(host: &TestHost, run: &str) -> anyhow::Result<Left> {
    let id: uuid::Uuid = run.parse()?;
    let (pages, logs, results, pruned): (i64, i64, i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM run_pages WHERE run_id = $1),
                (SELECT count(*) FROM run_logs WHERE run_id = $1),
                (SELECT count(*) FROM results WHERE run_id = $1),
                (SELECT pruned_at IS NOT NULL FROM runs WHERE id = $1)",
    )
    .bind(id)
    .fetch_one(&host.state.pool)
    .await?;
    Ok(Left {
        pages,
        logs,
        results,
        pruned,
    })
}

/// A member's job over the first catalogue page (`dedup_scope` as given); returns the
/// member's key and the job's id.
async fn job(host: &TestHost, base: &str, dedup_scope: &str) -> anyhow::Result<(String, String)> {
    let key = host.member("keeper@example.com").await?;
    let (status, saved) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "catalogue", "json_schema": schema()})),
        )
        .await?;
    anyhow::ensure!(status == 201, "{saved}");
    let (status, job) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(json!({
                "name": "catalogue",
                "schema_id": saved["id"],
                "start_urls": [format!("{base}/catalogue/page-1.html")],
                "max_pages": 1,
                "dedup_scope": dedup_scope
            })),
        )
        .await?;
    anyhow::ensure!(status == 201, "{job}");
    Ok((key, job["id"].as_str().unwrap_or_default().to_owned()))
}

/// Run the job once more and wait for the run to end; a log line is added to it, as a
/// plugin's would be. Returns the ended run.
async fn run(host: &TestHost, key: &str, job: &str) -> anyhow::Result<Value> {
    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{job}/runs"), key, None)
        .await?;
    anyhow::ensure!(status == 201, "{run}");
    let id = run["id"].as_str().unwrap_or_default().to_owned();
    let run = host.wait_run(key, &id, Duration::from_secs(60)).await?;
    anyhow::ensure!(run["status"] == "succeeded", "{run}");
    // A plugin's line, as a worker would have stored it while it held the run.
    sqlx::query(
        "INSERT INTO run_logs (id, run_id, level, message) VALUES (gen_random_uuid(), $1::uuid, 'info', 'a line the plugin said')",
    )
    .bind(&id)
    .execute(&host.state.pool)
    .await?;
    Ok(run)
}

fn id(run: &Value) -> String {
    run["id"].as_str().unwrap_or_default().to_owned()
}

/// Prune by `policy` with nobody asking to stop.
async fn prune_now(host: &TestHost, policy: Policy) -> anyhow::Result<Pruned> {
    let (_keep, stop) = watch::channel(false);
    prune(&host.state.pool, &policy, &stop)
        .await?
        .ok_or_else(|| anyhow::anyhow!("another session held retention's lock"))
}

fn keep(n: u32) -> Policy {
    Policy {
        keep_runs: Some(n),
        max_age: None,
    }
}

/// Queue an export of `run` and wait for it; returns the export.
async fn export(host: &TestHost, key: &str, run: &str) -> anyhow::Result<Value> {
    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{run}/exports"),
            key,
            Some(json!({"format": "csv"})),
        )
        .await?;
    anyhow::ensure!(status == 202, "{export}");
    let export = host
        .wait_export(
            key,
            export["id"].as_str().unwrap_or_default(),
            Duration::from_secs(30),
        )
        .await?;
    anyhow::ensure!(export["status"] == "succeeded", "{export}");
    Ok(export)
}

#[tokio::test]
async fn keeping_the_last_run_prunes_the_older_ones() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let (key, job) = job(&host, &format!("http://{site}"), "run").await?;
    let first = run(&host, &key, &job).await?;
    let second = run(&host, &key, &job).await?;
    let newest = run(&host, &key, &job).await?;
    let items = newest["counters"]["items_new"].as_i64().unwrap_or_default();
    assert!(items > 0, "{newest}");

    // An export of the oldest run, written before retention comes.
    let written = export(&host, &key, &id(&first)).await?;
    let link = written["download_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let file = reqwest::get(&link).await?.bytes().await?;
    assert!(!file.is_empty());

    // A run another host is still working on, older than all: never pruned.
    let going = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO runs (id, job_id, owner_id, trigger, status, lease_owner, lease_expires_at, started_at, created_at)
         SELECT $1, id, owner_id, 'api', 'running', 'another-host', now() + interval '1 hour',
                now() - interval '2 days', now() - interval '2 days'
         FROM scraping_jobs WHERE id = $2",
    )
    .bind(going)
    .bind(job.parse::<uuid::Uuid>()?)
    .execute(&host.state.pool)
    .await?;
    sqlx::query("INSERT INTO run_pages (run_id, url) VALUES ($1, 'http://127.0.0.1:9/next')")
        .bind(going)
        .execute(&host.state.pool)
        .await?;
    sqlx::query(
        "INSERT INTO run_logs (id, run_id, level, message) VALUES (gen_random_uuid(), $1, 'info', 'going')",
    )
    .bind(going)
    .execute(&host.state.pool)
    .await?;

    // While another host prunes, this one leaves it alone.
    let mut other = host.state.pool.acquire().await?.detach();
    assert!(trawl_host::db::retention::try_lock(&mut other).await?);
    let (_keep, stop) = watch::channel(false);
    assert_eq!(prune(&host.state.pool, &keep(1), &stop).await?, None);
    assert!(!left(&host, &id(&first)).await?.pruned);
    trawl_host::db::retention::unlock(&mut other).await?;

    let pruned = prune_now(&host, keep(1)).await?;
    assert_eq!(pruned.runs, 2, "{pruned:?}");
    assert_eq!(pruned.results, 2 * items as u64, "{pruned:?}");
    assert!(pruned.logs >= 2, "{pruned:?}");
    let gone = Left {
        pages: 0,
        logs: 0,
        results: 0,
        pruned: true,
    };
    assert_eq!(left(&host, &id(&first)).await?, gone);
    assert_eq!(left(&host, &id(&second)).await?, gone);
    let kept = left(&host, &id(&newest)).await?;
    assert_eq!((kept.results, kept.pruned), (items, false));
    assert!(kept.pages >= 1 && kept.logs >= 1, "{kept:?}");
    let going_left = left(&host, &going.to_string()).await?;
    assert_eq!(
        going_left,
        Left {
            pages: 1,
            logs: 1,
            results: 0,
            pruned: false
        }
    );

    // The run itself stays, counters and all; its file still downloads, byte for byte.
    let (status, row) = host
        .call("GET", &format!("/v1/runs/{}", id(&first)), &key, None)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(row["counters"], first["counters"], "{row}");
    let again = reqwest::get(&link).await?;
    assert_eq!(again.status(), 200);
    assert_eq!(again.bytes().await?, file);
    // A new export of a pruned run would be empty: it is refused, saying why.
    let (status, refused) = host
        .call(
            "POST",
            &format!("/v1/runs/{}/exports", id(&first)),
            &key,
            Some(json!({"format": "csv"})),
        )
        .await?;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "run_pruned", "{refused}");
    let fresh = export(&host, &key, &id(&newest)).await?;
    assert_eq!(fresh["row_count"], items, "{fresh}");

    // A second pass finds nothing more to do.
    assert_eq!(prune_now(&host, keep(1)).await?, Pruned::default());
    host.stop().await
}

#[tokio::test]
async fn the_age_rule_and_the_count_rule_each_keep_runs() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let (key, job) = job(&host, &format!("http://{site}"), "run").await?;
    let mut runs = Vec::new();
    for days_ago in [3, 2, 0] {
        let ended = run(&host, &key, &job).await?;
        sqlx::query("UPDATE runs SET finished_at = now() - $2 * interval '1 day' WHERE id = $1")
            .bind(id(&ended).parse::<uuid::Uuid>()?)
            .bind(f64::from(days_ago))
            .execute(&host.state.pool)
            .await?;
        runs.push(id(&ended));
    }
    let pruned = async || -> anyhow::Result<Vec<bool>> {
        let mut out = Vec::new();
        for run in &runs {
            out.push(left(&host, run).await?.pruned);
        }
        Ok(out)
    };
    let day = Duration::from_secs(24 * 3600);

    // Nothing set: nothing pruned.
    assert_eq!(
        prune_now(&host, Policy::default()).await?,
        Pruned::default()
    );
    assert_eq!(pruned().await?, [false, false, false]);

    // Both rules: the two-day-old run is old, but among the last two; only the oldest goes.
    let both = Policy {
        keep_runs: Some(2),
        max_age: Some(day),
    };
    assert_eq!(prune_now(&host, both).await?.runs, 1);
    assert_eq!(pruned().await?, [true, false, false]);

    // Age alone: whatever ended over a day ago goes, the young run stays.
    let age = Policy {
        keep_runs: None,
        max_age: Some(day),
    };
    assert_eq!(prune_now(&host, age).await?.runs, 1);
    assert_eq!(pruned().await?, [true, true, false]);
    assert!(left(&host, &runs[2]).await?.results > 0);
    host.stop().await
}

#[tokio::test]
async fn incremental_deduplication_keeps_the_results_it_compares_against() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let (key, job) = job(&host, &format!("http://{site}"), "job").await?;
    let first = run(&host, &key, &job).await?;
    let items = first["counters"]["items_new"].as_i64().unwrap_or_default();
    assert!(items > 0, "{first}");
    let second = run(&host, &key, &job).await?;
    assert_eq!(second["counters"]["items_new"], 0, "{second}");

    let pruned = prune_now(&host, keep(1)).await?;
    assert_eq!((pruned.runs, pruned.results), (1, 0), "{pruned:?}");
    let first_left = left(&host, &id(&first)).await?;
    assert_eq!(
        first_left,
        Left {
            pages: 0,
            logs: 0,
            results: items,
            pruned: true
        }
    );

    // A later run still finds every item already stored.
    let third = run(&host, &key, &job).await?;
    assert_eq!(third["counters"]["items_new"], 0, "{third}");
    assert_eq!(third["counters"]["items_duplicate"], items, "{third}");
    host.stop().await
}

#[tokio::test]
async fn the_service_prunes_on_its_interval() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start_with(|c| {
        c.retention.keep_runs = Some(1);
        c.retention.interval = Duration::from_millis(200);
    })
    .await?;
    let (key, job) = job(&host, &format!("http://{site}"), "run").await?;
    let older = run(&host, &key, &job).await?;
    let newer = run(&host, &key, &job).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !left(&host, &id(&older)).await?.pruned {
        anyhow::ensure!(Instant::now() < deadline, "the older run was never pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left(&host, &id(&older)).await?.results, 0);
    let kept = left(&host, &id(&newer)).await?;
    assert!(!kept.pruned && kept.results > 0, "{kept:?}");
    host.stop().await
}
