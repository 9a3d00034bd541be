//! How runs end, and what they say while they go: cancellation during a crawl, a run that
//! times out, idempotent creation under concurrency, the event stream read across a
//! reconnection, and counters that equal the pages list and the results however a run
//! ended.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use trawl_tests::{CountingSite, TestHost};

/// Every page of a run, following the cursor.
async fn all_pages(host: &TestHost, key: &str, run: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/runs/{run}/pages?limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = host.call("GET", &path, key, None).await?;
        anyhow::ensure!(status == 200, "GET pages: {status} {page}");
        out.extend(page["items"].as_array().context("items")?.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}

/// The run's counters agree with its pages list and its results.
async fn assert_counters_agree(host: &TestHost, key: &str, run: &Value) -> anyhow::Result<()> {
    let id = run["id"].as_str().context("run id")?;
    let pages = all_pages(host, key, id).await?;
    let results = host.all_results(key, id).await?;
    let count = |state: &str| pages.iter().filter(|p| p["outcome"] == state).count() as i64;
    let c = &run["counters"];
    assert_eq!(
        c["pages_fetched"],
        count("done"),
        "pages fetched vs pages done: {run}"
    );
    assert_eq!(c["pages_failed"], count("failed"), "pages failed: {run}");
    assert_eq!(
        c["items_new"],
        results.len() as i64,
        "items new vs results: {run}"
    );
    let items: i64 = pages.iter().filter_map(|p| p["items"].as_i64()).sum();
    let empty: i64 = pages.iter().filter_map(|p| p["items_empty"].as_i64()).sum();
    let invalid: i64 = pages
        .iter()
        .filter_map(|p| p["items_invalid"].as_i64())
        .sum();
    assert_eq!(c["items_empty"], empty, "{run}");
    assert_eq!(c["items_invalid"], invalid, "{run}");
    assert_eq!(
        c["items_new"].as_i64().unwrap_or(-1) + c["items_duplicate"].as_i64().unwrap_or(-1),
        items - empty - invalid,
        "every stored or duplicate item comes from a page: {run}"
    );
    Ok(())
}

async fn schema_and_key(host: &TestHost, email: &str) -> anyhow::Result<(String, Value)> {
    let key = host.member(email).await?;
    let (status, schema) = host
        .call("POST", "/v1/schemas", &key, Some(CountingSite::schema()))
        .await?;
    anyhow::ensure!(status == 201, "schema: {status} {schema}");
    Ok((key, schema["id"].clone()))
}

/// The case: a 200-page site at 50 ms a page, concurrency 2, cancelled mid-crawl.
/// The run ends `cancelled` within seconds, its host sends no request after that, and
/// its counters equal its pages and results.
#[tokio::test]
async fn a_cancelled_crawl_stops_and_its_counters_agree() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let site = CountingSite::start(200, Duration::from_millis(50), false).await?;
    let (key, schema) = schema_and_key(&host, "cancel@example.com").await?;
    let run = host.start_job(&key, site.job(&schema, 2)).await?;
    let started = Instant::now();
    loop {
        let (_, r) = host
            .call("GET", &format!("/v1/runs/{run}"), &key, None)
            .await?;
        if r["counters"]["pages_fetched"].as_i64().unwrap_or(0) >= 20 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the run did not get going: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, asked) = host
        .call("POST", &format!("/v1/runs/{run}/cancel"), &key, None)
        .await?;
    assert_eq!(status, 202, "a running run is asked to stop: {asked}");
    assert!(asked["cancel_requested_at"].is_string(), "{asked}");
    let asked_at = Instant::now();
    let ended = host.wait_run(&key, &run, Duration::from_secs(10)).await?;
    let took = asked_at.elapsed();
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert_eq!(ended["error"]["code"], "cancelled", "{ended}");
    assert!(took < Duration::from_secs(3), "cancelling took {took:?}");
    let at_end = site.total();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(site.total(), at_end, "requests went on after the run ended");
    let pages_done = ended["counters"]["pages_fetched"].as_i64().unwrap_or(0);
    assert!(
        pages_done < 150,
        "the crawl went on long after the cancel: {ended}"
    );
    assert_counters_agree(&host, &key, &ended).await?;
    // Cancelling again is refused: the run is over.
    let (status, again) = host
        .call("POST", &format!("/v1/runs/{run}/cancel"), &key, None)
        .await?;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "run_finished");
    host.stop().await
}

/// A queued run (no worker free) is cancelled at once.
#[tokio::test]
async fn a_queued_run_is_cancelled_at_once() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.max_concurrent_runs = 1).await?;
    let site = CountingSite::start(50, Duration::from_millis(100), false).await?;
    let (key, schema) = schema_and_key(&host, "queued@example.com").await?;
    let first = host.start_job(&key, site.job(&schema, 1)).await?;
    let (_, job) = host
        .call("GET", &format!("/v1/runs/{first}"), &key, None)
        .await?;
    let job_id = job["job_id"].as_str().context("job id")?;
    let (_, second) = host
        .call("POST", &format!("/v1/jobs/{job_id}/runs"), &key, None)
        .await?;
    let second = second["id"].as_str().context("id")?.to_owned();
    let (status, cancelled) = host
        .call("POST", &format!("/v1/runs/{second}/cancel"), &key, None)
        .await?;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["counters"]["pages_fetched"], 0);
    host.call("POST", &format!("/v1/runs/{first}/cancel"), &key, None)
        .await?;
    host.wait_run(&key, &first, Duration::from_secs(10)).await?;
    host.stop().await
}

/// A job's maximum duration ends its run `timed_out`, keeping what it stored, with
/// counters that agree.
#[tokio::test]
async fn a_run_past_its_maximum_duration_times_out() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let site = CountingSite::start(500, Duration::from_millis(40), false).await?;
    let (key, schema) = schema_and_key(&host, "timeout@example.com").await?;
    let mut job = site.job(&schema, 2);
    job["max_duration_secs"] = json!(2);
    let started = Instant::now();
    let run = host.start_job(&key, job).await?;
    let ended = host.wait_run(&key, &run, Duration::from_secs(20)).await?;
    let took = started.elapsed();
    assert_eq!(ended["status"], "timed_out", "{ended}");
    assert_eq!(ended["error"]["code"], "run_timed_out", "{ended}");
    assert!(took < Duration::from_secs(6), "timing out took {took:?}");
    let stored = ended["counters"]["items_new"].as_i64().unwrap_or(0);
    assert!(stored > 0 && stored < 500, "{ended}");
    assert_eq!(host.all_results(&key, &run).await?.len() as i64, stored);
    assert_counters_agree(&host, &key, &ended).await?;
    // Out of range is refused where it is wrong.
    let mut bad = site.job(&schema, 2);
    bad["max_duration_secs"] = json!(0);
    let (status, body) = host.call("POST", "/v1/jobs", &key, Some(bad)).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"][0]["path"], "/max_duration_secs",
        "{body}"
    );
    host.stop().await
}

/// Fifty concurrent creations with one key make one run; the others are replays of it.
/// Another body with the key is refused; after a day the key is forgotten.
#[tokio::test]
async fn idempotent_creation_under_fifty_concurrent_requests() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.max_concurrent_runs = 1).await?;
    let site = CountingSite::start(3, Duration::ZERO, false).await?;
    let (key, schema) = schema_and_key(&host, "idem@example.com").await?;
    let (status, job) = host
        .call("POST", "/v1/jobs", &key, Some(site.job(&schema, 1)))
        .await?;
    anyhow::ensure!(status == 201, "{job}");
    let path = format!(
        "{}/v1/jobs/{}/runs",
        host.base,
        job["id"].as_str().context("id")?
    );
    let client = reqwest::Client::new();
    let body = json!({"max_pages": 3});
    let requests = (0..50).map(|_| {
        client
            .post(&path)
            .bearer_auth(&key)
            .header("Idempotency-Key", "nightly-2026-12-02")
            .json(&body)
            .send()
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut created = 0;
    let mut replayed = 0;
    let mut ids = HashSet::new();
    for answer in answers {
        let answer = answer?;
        let status = answer.status().as_u16();
        let replay = answer
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes().to_vec());
        let run: Value = answer.json().await?;
        ids.insert(run["id"].as_str().context("id")?.to_owned());
        match status {
            201 => {
                created += 1;
                assert!(replay.is_none());
            }
            200 => {
                replayed += 1;
                assert_eq!(replay.as_deref(), Some(&b"true"[..]));
            }
            other => anyhow::bail!("unexpected {other}: {run}"),
        }
        assert_eq!(run["overrides"]["max_pages"], 3, "{run}");
    }
    assert_eq!((created, replayed, ids.len()), (1, 49, 1));
    let run_id = ids.into_iter().next().context("one run")?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE job_id = $1::uuid")
        .bind(job["id"].as_str())
        .fetch_one(&host.state.pool)
        .await?;
    assert_eq!(count, 1);
    // The same key with another body.
    let other = client
        .post(&path)
        .bearer_auth(&key)
        .header("Idempotency-Key", "nightly-2026-12-02")
        .json(&json!({"max_pages": 2}))
        .send()
        .await?;
    assert_eq!(other.status().as_u16(), 422);
    let other: Value = other.json().await?;
    assert_eq!(other["error"]["code"], "idempotency_key_reused", "{other}");
    // The run the key made ran with its override.
    let ended = host
        .wait_run(&key, &run_id, Duration::from_secs(30))
        .await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert!(
        ended["counters"]["pages_fetched"].as_i64().unwrap_or(99) <= 3,
        "{ended}"
    );
    // A day later the key is free again.
    sqlx::query("UPDATE runs SET created_at = now() - interval '25 hours' WHERE id = $1::uuid")
        .bind(&run_id)
        .execute(&host.state.pool)
        .await?;
    let later = client
        .post(&path)
        .bearer_auth(&key)
        .header("Idempotency-Key", "nightly-2026-12-02")
        .json(&json!({"max_pages": 2}))
        .send()
        .await?;
    assert_eq!(later.status().as_u16(), 201);
    let later: Value = later.json().await?;
    assert_ne!(later["id"].as_str(), Some(run_id.as_str()));
    host.wait_run(
        &key,
        later["id"].as_str().context("id")?,
        Duration::from_secs(30),
    )
    .await?;
    host.stop().await
}

/// One event of a Server-Sent Events stream.
#[derive(Debug, Default, Clone)]
struct Event {
    kind: String,
    id: String,
    data: Value,
}

/// Read events from an SSE response until `until` says stop (or the stream ends).
async fn read_events(
    mut response: reqwest::Response,
    mut until: impl FnMut(&Event) -> bool,
) -> anyhow::Result<Vec<Event>> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let mut current = Event::default();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), response.chunk())
        .await
        .context("no event for 30 s")??
    {
        buffer.push_str(std::str::from_utf8(&chunk)?);
        while let Some(line_end) = buffer.find('\n') {
            let line = buffer[..line_end].trim_end_matches('\r').to_owned();
            buffer.drain(..=line_end);
            if line.is_empty() {
                if !current.kind.is_empty() {
                    let event = std::mem::take(&mut current);
                    let stop = until(&event);
                    events.push(event);
                    if stop {
                        return Ok(events);
                    }
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("event:") {
                current.kind = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("id:") {
                current.id = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                current.data = serde_json::from_str(v.trim())?;
            }
        }
    }
    Ok(events)
}

/// A client reads a whole run's life from its event stream, reconnecting once with
/// `Last-Event-ID` and a token in the query (as a browser's EventSource would): it gets
/// the current state first, then changes, then `end` with the final run.
#[tokio::test]
async fn an_event_stream_follows_a_run_across_a_reconnection() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let site = CountingSite::start(60, Duration::from_millis(30), false).await?;
    let (key, schema) = schema_and_key(&host, "events@example.com").await?;
    let other = host.member("stranger@example.com").await?;
    let client = reqwest::Client::new();
    let run = host.start_job(&key, site.job(&schema, 2)).await?;
    let url = format!("{}/v1/runs/{run}/events", host.base);

    // Another owner's run is a 404; no key is a 401.
    let stranger = client.get(&url).bearer_auth(&other).send().await?;
    assert_eq!(stranger.status().as_u16(), 404);
    assert_eq!(client.get(&url).send().await?.status().as_u16(), 401);

    let first = client.get(&url).bearer_auth(&key).send().await?;
    assert_eq!(first.status().as_u16(), 200);
    assert!(
        first.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()?
            .starts_with("text/event-stream")
    );
    // Read until some progress was seen, then drop the connection.
    let before = read_events(first, |e| {
        e.data["counters"]["pages_fetched"].as_i64().unwrap_or(0) >= 10
    })
    .await?;
    assert!(matches!(before[0].kind.as_str(), "status"), "{before:?}");
    let last_id = before.last().context("an event")?.id.clone();
    let versions: Vec<i64> = before.iter().map(|e| e.id.parse().unwrap_or(-1)).collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "ids increase: {versions:?}"
    );

    let again = client
        .get(format!("{url}?access_token={key}"))
        .header("Last-Event-ID", &last_id)
        .send()
        .await?;
    assert_eq!(again.status().as_u16(), 200);
    let after = read_events(again, |e| e.kind == "end").await?;
    let current = &after[0];
    assert!(
        current.id.parse::<i64>()? >= last_id.parse::<i64>()?,
        "the current state comes first: {current:?}"
    );
    let end = after.last().context("events after reconnecting")?;
    assert_eq!(end.kind, "end", "{after:?}");
    assert_eq!(end.data["status"], "succeeded", "{end:?}");
    assert_eq!(end.data["counters"]["items_new"], 60, "{end:?}");
    let kinds: HashSet<&str> = before
        .iter()
        .chain(&after)
        .map(|e| e.kind.as_str())
        .collect();
    assert!(kinds.contains("progress"), "{kinds:?}");
    // The final state is the run's.
    let (_, final_run) = host
        .call("GET", &format!("/v1/runs/{run}"), &key, None)
        .await?;
    assert_eq!(end.data["version"], final_run["version"]);
    assert_counters_agree(&host, &key, &final_run).await?;
    // An ended run's stream gives its state and ends at once.
    let late = client.get(&url).bearer_auth(&key).send().await?;
    let late = read_events(late, |_| false).await?;
    assert_eq!(
        late.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["status", "end"]
    );
    host.stop().await
}

/// A run shows the settings it was worked with, its overrides applied, and keeps them when
/// its job and schema are edited afterwards.
#[tokio::test]
async fn a_run_keeps_the_parameters_it_ran_with() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let site = CountingSite::start(5, Duration::from_millis(0), false).await?;
    let (key, schema_id) = schema_and_key(&host, "params@example.com").await?;
    let mut job = site.job(&schema_id, 2);
    job["max_pages"] = json!(3);
    let (status, created) = host
        .call("POST", "/v1/jobs", &key, Some(job.clone()))
        .await?;
    assert_eq!(status, 201, "{created}");
    let job_id = created["id"].as_str().context("job id")?.to_owned();
    let (status, run) = host
        .call(
            "POST",
            &format!("/v1/jobs/{job_id}/runs"),
            &key,
            Some(json!({"max_pages": 2})),
        )
        .await?;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().context("run id")?.to_owned();
    host.wait_run(&key, &run_id, Duration::from_secs(60))
        .await?;
    // Edit the job and the schema after the run.
    job["name"] = json!("renamed");
    job["concurrency"] = json!(1);
    let (status, _) = host
        .call("PUT", &format!("/v1/jobs/{job_id}"), &key, Some(job))
        .await?;
    assert_eq!(status, 200);
    let (status, _) = host
        .call(
            "PUT",
            &format!("/v1/schemas/{}", schema_id.as_str().context("id")?),
            &key,
            Some(CountingSite::schema()),
        )
        .await?;
    assert_eq!(status, 200);
    let (_, got) = host
        .call("GET", &format!("/v1/runs/{run_id}"), &key, None)
        .await?;
    let params = &got["params"];
    assert_eq!(params["job_name"], "counting site", "{params}");
    assert_eq!(params["max_pages"], 2, "the run's override: {params}");
    assert_eq!(params["concurrency"], 2, "{params}");
    assert_eq!(params["schema_version"], 1, "{params}");
    assert_eq!(params["plugin"], "css-extractor@0.1.0", "{params}");
    assert_eq!(params["start_urls"], json!([format!("{}/", site.base())]));
    assert_eq!(params["pagination"]["type"], "crawl");
    assert!(
        params["fetch"]["per_host_concurrency"].is_number(),
        "{params}"
    );
    // Lists stay light: no parameters there.
    let (_, runs) = host
        .call("GET", &format!("/v1/jobs/{job_id}/runs"), &key, None)
        .await?;
    assert!(runs["items"][0]["params"].is_null());
    host.stop().await
}
