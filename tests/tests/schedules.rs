//! Job schedules through a real host on a real database: what the API takes and shows,
//! and the scheduler — one run per occurrence however many hosts look, one run after
//! downtime, the overlap policy, and disabling.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use sqlx::PgPool;
use trawl_host::scheduler::Scheduler;
use trawl_tests::{TestHost, serve_site};

/// A host whose scheduler looks every `interval`.
async fn host(interval: Duration) -> anyhow::Result<TestHost> {
    TestHost::start_with(|config| config.scheduler_interval = interval).await
}

/// A one-page site, a member and their schema: the body of a job on them, to adjust.
async fn job_body(host: &TestHost) -> anyhow::Result<(String, Value)> {
    let page = "<html><body><h1>Hello</h1></body></html>";
    let site = serve_site(HashMap::from([(
        "/".to_owned(),
        ("text/html".to_owned(), page.as_bytes().to_vec()),
    )]))
    .await?;
    let key = host.member("sam@example.com").await?;
    let schema = json!({
        "name": "page",
        "json_schema": {"type": "object", "properties": {"title": {"type": "string", "x-selector": "h1"}}}
    });
    let (status, schema) = host.call("POST", "/v1/schemas", &key, Some(schema)).await?;
    anyhow::ensure!(status == 201, "schema: {schema}");
    let job = json!({
        "name": "scheduled",
        "schema_id": schema["id"],
        "start_urls": [format!("http://{site}/")],
        "max_pages": 1,
    });
    Ok((key, job))
}

fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body
}

fn job_id(job: &Value) -> anyhow::Result<uuid::Uuid> {
    Ok(job["id"].as_str().context("job id")?.parse()?)
}

/// The occurrences the job's `schedule` runs were queued for, as Unix seconds, in order.
async fn occurrences(pool: &PgPool, job: uuid::Uuid) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT extract(epoch FROM scheduled_for)::bigint FROM runs
         WHERE job_id = $1 AND trigger = 'schedule' ORDER BY scheduled_for",
    )
    .bind(job)
    .fetch_all(pool)
    .await?)
}

/// Whether the job's next occurrence is after the database's now.
async fn next_is_ahead(pool: &PgPool, job: uuid::Uuid) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, Option<bool>>(
        "SELECT next_run_at > now() FROM scraping_jobs WHERE id = $1",
    )
    .bind(job)
    .fetch_one(pool)
    .await?
    .unwrap_or(false))
}

/// Poll until `check` holds, for at most `timeout`.
async fn until<F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    while !check().await? {
        anyhow::ensure!(Instant::now() < deadline, "not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test]
async fn bad_schedules_are_422_saying_where() -> anyhow::Result<()> {
    let host = host(Duration::from_secs(1)).await?;
    let (key, body) = job_body(&host).await?;

    let bad = with(
        body.clone(),
        json!({"cron": "0 25 * * *", "timezone": "Mars/Olympus"}),
    );
    let (status, answer) = host.call("POST", "/v1/jobs", &key, Some(bad)).await?;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_job", "{answer}");
    assert_eq!(
        answer["error"]["details"],
        json!([
            {"path": "/cron", "message": "field 2 (hour) \"25\": hours are 0–23"},
            {"path": "/timezone", "message": "\"Mars/Olympus\" is not an IANA time zone"},
        ]),
        "{answer}"
    );

    for (cron, says) in [
        (
            "0 9 *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 3",
        ),
        ("0 0 ? * MON", "field 3 (day-of-month) \"?\""),
        ("0 0 0 0 9 * 2027", "a year field is not taken"),
    ] {
        let bad = with(body.clone(), json!({"cron": cron}));
        let (status, answer) = host.call("POST", "/v1/jobs", &key, Some(bad)).await?;
        assert_eq!(status, 422, "{cron}: {answer}");
        let detail = &answer["error"]["details"][0];
        assert_eq!(detail["path"], "/cron", "{answer}");
        let message = detail["message"].as_str().context("a message")?;
        assert!(message.contains(says), "{cron}: {message}");
    }

    // Replacing a job with a bad schedule is refused too, and changes nothing.
    let (status, job) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(with(body.clone(), json!({"cron": "@daily"}))),
        )
        .await?;
    assert_eq!(status, 201, "{job}");
    let path = format!("/v1/jobs/{}", job["id"].as_str().context("id")?);
    let bad = with(body.clone(), json!({"cron": "61 * * * *"}));
    let (status, answer) = host.call("PUT", &path, &key, Some(bad)).await?;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["details"][0]["path"], "/cron");
    let (_, again) = host.call("GET", &path, &key, None).await?;
    assert_eq!(again["cron"], "@daily");
    Ok(())
}

#[tokio::test]
async fn next_run_at_and_the_occurrences_are_shown() -> anyhow::Result<()> {
    let host = host(Duration::from_secs(1)).await?;
    let (key, body) = job_body(&host).await?;

    let berlin = with(
        body.clone(),
        json!({"cron": "30 2 * * *", "timezone": "Europe/Berlin"}),
    );
    let (status, job) = host.call("POST", "/v1/jobs", &key, Some(berlin)).await?;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["cron"], "30 2 * * *");
    assert_eq!(job["timezone"], "Europe/Berlin");
    assert_eq!(job["overlap"], "skip");
    assert_eq!(job["last_run_at"], Value::Null);
    let next = job["next_run_at"]
        .as_str()
        .context("next_run_at")?
        .to_owned();

    let id = job["id"].as_str().context("id")?;
    let (status, schedule) = host
        .call(
            "GET",
            &format!("/v1/jobs/{id}/schedule?count=3"),
            &key,
            None,
        )
        .await?;
    assert_eq!(status, 200, "{schedule}");
    assert_eq!(schedule["cron"], "30 2 * * *");
    assert_eq!(schedule["timezone"], "Europe/Berlin");
    let occurrences: Vec<&str> = schedule["occurrences"]
        .as_array()
        .context("occurrences")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(occurrences.len(), 3, "{schedule}");
    assert_eq!(occurrences[0], next);
    // 02:30 in Berlin is 00:30 or 01:30 UTC, whatever the season.
    for at in &occurrences {
        assert!(
            at.ends_with("T00:30:00Z") || at.ends_with("T01:30:00Z"),
            "{at}"
        );
    }
    let (_, default) = host
        .call("GET", &format!("/v1/jobs/{id}/schedule"), &key, None)
        .await?;
    assert_eq!(default["occurrences"].as_array().map(Vec::len), Some(5));
    for count in ["0", "101", "many"] {
        let (status, answer) = host
            .call(
                "GET",
                &format!("/v1/jobs/{id}/schedule?count={count}"),
                &key,
                None,
            )
            .await?;
        assert_eq!(status, 400, "{count}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_query");
    }
    let other = host.member("other@example.com").await?;
    let (status, _) = host
        .call("GET", &format!("/v1/jobs/{id}/schedule"), &other, None)
        .await?;
    assert_eq!(status, 404);

    // Disabled: no next run, though the schedule still lists what it would fire.
    let path = format!("/v1/jobs/{id}");
    let off = with(
        body.clone(),
        json!({"cron": "30 2 * * *", "timezone": "Europe/Berlin", "enabled": false, "overlap": "queue"}),
    );
    let (status, job) = host.call("PUT", &path, &key, Some(off.clone())).await?;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["next_run_at"], Value::Null);
    assert_eq!(job["overlap"], "queue");
    let (_, schedule) = host
        .call("GET", &format!("{path}/schedule?count=1"), &key, None)
        .await?;
    assert_eq!(schedule["occurrences"][0], next.as_str());
    let on = with(off, json!({"enabled": true}));
    let (_, job) = host.call("PUT", &path, &key, Some(on)).await?;
    assert_eq!(job["next_run_at"], next.as_str());

    // No schedule: no next run and no occurrences.
    let (status, plain) = host.call("POST", "/v1/jobs", &key, Some(body)).await?;
    assert_eq!(status, 201, "{plain}");
    assert_eq!(plain["cron"], Value::Null);
    assert_eq!(plain["timezone"], "UTC");
    assert_eq!(plain["next_run_at"], Value::Null);
    let plain_id = plain["id"].as_str().context("id")?;
    let (status, schedule) = host
        .call("GET", &format!("/v1/jobs/{plain_id}/schedule"), &key, None)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(
        schedule,
        json!({"cron": null, "timezone": "UTC", "occurrences": []})
    );

    // The document describes it all.
    let (_, doc) = host.call("GET", "/v1/openapi.json", &key, None).await?;
    assert!(doc["paths"]["/v1/jobs/{id}/schedule"]["get"].is_object());
    let schemas = &doc["components"]["schemas"];
    for field in ["cron", "timezone", "overlap"] {
        assert!(schemas["JobIn"]["properties"][field].is_object(), "{field}");
    }
    for field in ["next_run_at", "last_run_at"] {
        assert!(
            schemas["JobOut"]["properties"][field].is_object(),
            "{field}"
        );
    }
    assert_eq!(schemas["Overlap"]["enum"], json!(["skip", "queue"]));
    Ok(())
}

/// Three schedulers on one database (the host's and two more, each with a pool of its
/// own, as other hosts would have): an every-second schedule fires each second once.
#[tokio::test]
async fn each_occurrence_fires_once_however_many_hosts_look() -> anyhow::Result<()> {
    let interval = Duration::from_millis(20);
    let host = host(interval).await?;
    let (key, body) = job_body(&host).await?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let fired = Arc::new(AtomicUsize::new(0));
    let mut others = Vec::new();
    for _ in 0..2 {
        let options = host.state.pool.connect_options().as_ref().clone();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        let scheduler = Scheduler::new(pool, Arc::new(tokio::sync::Notify::new()), interval);
        let (mut stopped, fired) = (stopped.clone(), fired.clone());
        others.push(tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Ok(tick) = scheduler.tick().await {
                    fired.fetch_add(tick.fired, Ordering::Relaxed);
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.wait_for(|s| *s) => {}
                }
            }
        }));
    }

    let every_second = with(
        body.clone(),
        json!({"cron": "* * * * * *", "overlap": "queue"}),
    );
    let (status, job) = host
        .call("POST", "/v1/jobs", &key, Some(every_second.clone()))
        .await?;
    assert_eq!(status, 201, "{job}");
    let id = job_id(&job)?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let off = with(every_second, json!({"enabled": false}));
    let (status, _) = host
        .call("PUT", &format!("/v1/jobs/{id}"), &key, Some(off))
        .await?;
    assert_eq!(status, 200);
    let _ = stop.send(true);
    for other in others {
        other.await?;
    }

    let seconds = occurrences(&host.state.pool, id).await?;
    assert!(seconds.len() >= 6, "{seconds:?}");
    assert!(
        seconds.windows(2).all(|w| w[1] == w[0] + 1),
        "one run per second, none missing, none twice: {seconds:?}"
    );
    assert!(fired.load(Ordering::Relaxed) <= seconds.len());
    // The runs came from the schedule, and the workers carried them out.
    let (_, runs) = host
        .call("GET", &format!("/v1/jobs/{id}/runs?limit=100"), &key, None)
        .await?;
    let runs = runs["items"].as_array().context("items")?;
    assert_eq!(runs.len(), seconds.len());
    assert!(runs.iter().all(|r| r["trigger"] == "schedule"));
    Ok(())
}

/// A per-minute schedule whose host was down for an hour fires once, not sixty times,
/// and goes on from now.
#[tokio::test]
async fn a_missed_schedule_fires_once_after_downtime() -> anyhow::Result<()> {
    let host = host(Duration::from_millis(50)).await?;
    let (key, body) = job_body(&host).await?;
    let job = with(body, json!({"cron": "* * * * *", "enabled": false}));
    let (status, job) = host.call("POST", "/v1/jobs", &key, Some(job)).await?;
    assert_eq!(status, 201, "{job}");
    let id = job_id(&job)?;
    let pool = &host.state.pool;
    let missed: i64 = sqlx::query_scalar(
        "UPDATE scraping_jobs SET enabled = true, next_run_at = date_trunc('minute', now()) - interval '1 hour'
         WHERE id = $1 RETURNING extract(epoch FROM next_run_at)::bigint",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;

    until(Duration::from_secs(10), || async {
        Ok(!occurrences(pool, id).await?.is_empty())
    })
    .await?;
    // Many ticks more: still the one run for the missed hour.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fired = occurrences(pool, id).await?;
    let past: Vec<i64> = fired
        .iter()
        .copied()
        .filter(|t| *t <= missed + 3000)
        .collect();
    assert_eq!(past, [missed], "{fired:?}");
    assert!(next_is_ahead(pool, id).await?);
    let (_, job) = host
        .call("GET", &format!("/v1/jobs/{id}"), &key, None)
        .await?;
    assert!(job["last_run_at"].is_string(), "{job}");
    assert!(
        job["next_run_at"]
            .as_str()
            .is_some_and(|t| t.ends_with(":00Z")),
        "{job}"
    );
    Ok(())
}

/// While a run of the job is going (here one another host holds), `skip` queues
/// nothing and `queue` queues; disabling stops the schedule.
#[tokio::test]
async fn overlap_skip_and_queue_and_disabling() -> anyhow::Result<()> {
    let host = host(Duration::from_millis(50)).await?;
    let (key, body) = job_body(&host).await?;
    let every_second = with(body, json!({"cron": "* * * * * *", "enabled": false}));
    let (status, job) = host
        .call("POST", "/v1/jobs", &key, Some(every_second.clone()))
        .await?;
    assert_eq!(status, 201, "{job}");
    let id = job_id(&job)?;
    let path = format!("/v1/jobs/{id}");
    let pool = &host.state.pool;
    sqlx::query(
        "INSERT INTO runs (job_id, owner_id, trigger, status, lease_owner, lease_expires_at, started_at)
         SELECT id, owner_id, 'api', 'running', 'another-host', now() + interval '1 hour', now()
         FROM scraping_jobs WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;

    let skip = with(every_second.clone(), json!({"enabled": true}));
    let (status, job) = host.call("PUT", &path, &key, Some(skip)).await?;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["overlap"], "skip");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(occurrences(pool, id).await?, Vec::<i64>::new());
    let (_, job) = host.call("GET", &path, &key, None).await?;
    assert!(job["last_run_at"].is_string(), "skips are noted: {job}");
    assert!(next_is_ahead(pool, id).await?);

    let queue = with(
        every_second.clone(),
        json!({"enabled": true, "overlap": "queue"}),
    );
    let (status, _) = host.call("PUT", &path, &key, Some(queue)).await?;
    assert_eq!(status, 200);
    until(Duration::from_secs(10), || async {
        Ok(occurrences(pool, id).await?.len() >= 2)
    })
    .await?;

    let off = with(every_second, json!({"enabled": false, "overlap": "queue"}));
    let (status, job) = host.call("PUT", &path, &key, Some(off)).await?;
    assert_eq!(status, 200);
    assert_eq!(job["next_run_at"], Value::Null, "{job}");
    let before = occurrences(pool, id).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(occurrences(pool, id).await?, before);
    Ok(())
}

/// A stored schedule that no longer parses stops, with no run, and the scheduler goes on.
#[tokio::test]
async fn a_broken_stored_schedule_stops_quietly() -> anyhow::Result<()> {
    let host = host(Duration::from_millis(50)).await?;
    let (key, body) = job_body(&host).await?;
    let (_, broken) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(with(body.clone(), json!({"enabled": false}))),
        )
        .await?;
    let broken = job_id(&broken)?;
    let pool = &host.state.pool;
    sqlx::query(
        "UPDATE scraping_jobs SET enabled = true, cron = 'every day', next_run_at = now() - interval '1 minute'
         WHERE id = $1",
    )
    .bind(broken)
    .execute(pool)
    .await?;
    until(Duration::from_secs(10), || async {
        Ok(sqlx::query_scalar::<_, bool>(
            "SELECT next_run_at IS NULL FROM scraping_jobs WHERE id = $1",
        )
        .bind(broken)
        .fetch_one(pool)
        .await?)
    })
    .await?;
    assert!(occurrences(pool, broken).await?.is_empty());

    let (_, fine) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(with(body, json!({"cron": "* * * * * *"}))),
        )
        .await?;
    let fine = job_id(&fine)?;
    until(Duration::from_secs(10), || async {
        Ok(!occurrences(pool, fine).await?.is_empty())
    })
    .await?;
    Ok(())
}

/// The scheduler's wait: none to compute without a schedule (it then looks once an
/// interval), the time to the earliest enabled occurrence otherwise, zero once it is due.
/// (It once said "due now" with no schedule at all, and every host looked every 5 ms.)
#[tokio::test]
async fn the_wait_for_the_next_occurrence_needs_a_schedule() -> anyhow::Result<()> {
    let host = host(Duration::from_secs(3600)).await?;
    let pool = &host.state.pool;
    let until = || trawl_host::db::jobs::until_next_due(pool);
    assert_eq!(until().await?, None, "no job at all");
    let (key, body) = job_body(&host).await?;
    let (status, job) = host.call("POST", "/v1/jobs", &key, Some(body)).await?;
    anyhow::ensure!(status == 201, "job: {job}");
    let id = job_id(&job)?;
    assert_eq!(until().await?, None, "a job without a schedule");
    let set =
        |sql: &'static str| async move { sqlx::query(sql).bind(id).execute(pool).await.map(drop) };
    set("UPDATE scraping_jobs SET next_run_at = now() + interval '1 hour' WHERE id = $1").await?;
    let wait = until().await?.context("a schedule an hour away")?;
    assert!(
        wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
    set("UPDATE scraping_jobs SET enabled = false WHERE id = $1").await?;
    assert_eq!(until().await?, None, "a disabled job's schedule");
    set("UPDATE scraping_jobs SET enabled = true, next_run_at = now() - interval '1 minute' WHERE id = $1")
        .await?;
    assert_eq!(
        until().await?,
        Some(Duration::ZERO),
        "an occurrence already due"
    );
    host.stop().await
}
