//! Users' quotas and the API's rate limit, on a real host over loopback: each quota's
//! refusal and its code, runs past the quota of runs at once waiting `queued` (and the
//! claim's count exact under parallel claims), admins' overrides, who may read whose
//! quotas, `/v1/me`, and the rate limit's 429 with its headers, per key.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use trawl_tests::{CountingSite, TestHost, chameleon};

/// A schema body of the bundled CSS extractor.
fn schema(name: &str) -> Value {
    json!({"name": name, "json_schema": {"type": "object",
        "properties": {"title": {"type": "string", "x-selector": "h1"}}}})
}

/// A job body on `schema_id`.
fn job(schema_id: &Value) -> Value {
    json!({"name": "j", "schema_id": schema_id, "start_urls": ["http://127.0.0.1:9/"]})
}

/// The user id behind a key.
async fn user_id(host: &TestHost, key: &str) -> anyhow::Result<String> {
    let (status, me) = host.call("GET", "/v1/me", key, None).await?;
    anyhow::ensure!(status == 200, "GET /v1/me: {status} {me}");
    Ok(me["id"].as_str().context("id")?.to_owned())
}

/// Set a user's quota overrides as the admin.
async fn set_quotas(host: &TestHost, user: &str, overrides: Value) -> anyhow::Result<Value> {
    let (status, body) = host
        .call(
            "PUT",
            &format!("/v1/users/{user}/quotas"),
            &host.admin_key,
            Some(overrides),
        )
        .await?;
    anyhow::ensure!(status == 200, "PUT quotas: {status} {body}");
    Ok(body)
}

/// The refusal's status and code.
fn refused(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn schemas_and_jobs_past_the_quota_are_refused_exactly() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| {
        c.quotas.jobs = 3;
        c.quotas.schemas = 2;
    })
    .await?;
    let key = host.member("ada@example.com").await?;
    let first = host
        .call("POST", "/v1/schemas", &key, Some(schema("s0")))
        .await?;
    assert_eq!(first.0, 201, "{}", first.1);
    let schema_id = first.1["id"].clone();
    for n in 0..2 {
        let (status, body) = host
            .call("POST", "/v1/jobs", &key, Some(job(&schema_id)))
            .await?;
        assert_eq!(status, 201, "job {n}: {body}");
    }

    // At quota - 1, parallel creations: exactly one gets through, of each.
    let schemas = (1..=8).map(|n| {
        let body = schema(&format!("s{n}"));
        let key = key.clone();
        let host = &host;
        async move { host.call("POST", "/v1/schemas", &key, Some(body)).await }
    });
    let jobs = (0..8).map(|_| host.call("POST", "/v1/jobs", &key, Some(job(&schema_id))));
    let (schemas, jobs) = tokio::join!(
        futures_util::future::join_all(schemas),
        futures_util::future::join_all(jobs)
    );
    let schemas: Vec<(u16, Value)> = schemas.into_iter().collect::<Result<_, _>>()?;
    let jobs: Vec<(u16, Value)> = jobs.into_iter().collect::<Result<_, _>>()?;
    let count =
        |answers: &[(u16, Value)], status: u16| answers.iter().filter(|a| a.0 == status).count();
    assert_eq!(count(&schemas, 201), 1, "{schemas:?}");
    assert_eq!(count(&jobs, 201), 1, "{jobs:?}");
    for answer in schemas.iter().filter(|a| a.0 != 201) {
        assert_eq!(refused(answer), (403, "quota_schemas"), "{}", answer.1);
        let message = answer.1["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("2 schemas") && message.contains("admin"),
            "{message}"
        );
    }
    for answer in jobs.iter().filter(|a| a.0 != 201) {
        assert_eq!(refused(answer), (403, "quota_jobs"), "{}", answer.1);
    }

    // The admin raises the jobs quota: one more goes through; back to the default, not.
    let ada = user_id(&host, &key).await?;
    let raised = set_quotas(&host, &ada, json!({"jobs": 4})).await?;
    assert_eq!(raised["quotas"]["jobs"], 4, "{raised}");
    assert_eq!(raised["overrides"]["jobs"], 4, "{raised}");
    assert_eq!(raised["overrides"]["schemas"], Value::Null, "{raised}");
    assert_eq!(raised["usage"]["jobs"], 3, "{raised}");
    let answer = host
        .call("POST", "/v1/jobs", &key, Some(job(&schema_id)))
        .await?;
    assert_eq!(answer.0, 201, "{}", answer.1);
    let answer = host
        .call("POST", "/v1/jobs", &key, Some(job(&schema_id)))
        .await?;
    assert_eq!(refused(&answer), (403, "quota_jobs"));
    let back = set_quotas(&host, &ada, json!({"jobs": null})).await?;
    assert_eq!(back["quotas"]["jobs"], 3, "{back}");

    // Another user has quotas of their own.
    let other = host.member("bob@example.com").await?;
    let answer = host
        .call("POST", "/v1/schemas", &other, Some(schema("s")))
        .await?;
    assert_eq!(answer.0, 201, "{}", answer.1);
    host.stop().await
}

#[tokio::test]
async fn pages_per_run_past_the_quota_are_refused() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.quotas.max_pages = 50).await?;
    let key = host.member("max@example.com").await?;
    let (_, s) = host
        .call("POST", "/v1/schemas", &key, Some(schema("s")))
        .await?;
    let mut body = job(&s["id"]);
    body["max_pages"] = json!(51);
    let answer = host
        .call("POST", "/v1/jobs", &key, Some(body.clone()))
        .await?;
    assert_eq!(refused(&answer), (403, "quota_max_pages"), "{}", answer.1);
    let message = answer.1["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("50") && message.contains("admin"),
        "{message}"
    );

    body["max_pages"] = json!(50);
    let (status, created) = host
        .call("POST", "/v1/jobs", &key, Some(body.clone()))
        .await?;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().context("id")?;
    body["max_pages"] = json!(1000);
    let answer = host
        .call("PUT", &format!("/v1/jobs/{id}"), &key, Some(body))
        .await?;
    assert_eq!(refused(&answer), (403, "quota_max_pages"), "{}", answer.1);

    // A run's override.
    let runs = format!("/v1/jobs/{id}/runs");
    let answer = host
        .call("POST", &runs, &key, Some(json!({"max_pages": 51})))
        .await?;
    assert_eq!(refused(&answer), (403, "quota_max_pages"), "{}", answer.1);
    let (status, run) = host
        .call("POST", &runs, &key, Some(json!({"max_pages": 5})))
        .await?;
    assert_eq!(status, 201, "{run}");

    // Raised for this user, the same override goes through.
    let user = user_id(&host, &key).await?;
    set_quotas(&host, &user, json!({"max_pages": 100})).await?;
    let (status, run) = host
        .call("POST", &runs, &key, Some(json!({"max_pages": 51})))
        .await?;
    assert_eq!(status, 201, "{run}");
    host.stop().await
}

/// An operator who raises the pages quota gets crawls that large: nothing else caps them.
#[tokio::test]
async fn the_pages_quota_is_the_only_cap_on_a_runs_pages() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.quotas.max_pages = 300_000).await?;
    let key = host.member("big@example.com").await?;
    let (_, s) = host
        .call("POST", "/v1/schemas", &key, Some(schema("s")))
        .await?;
    let mut body = job(&s["id"]);
    body["max_pages"] = json!(200_000);
    let (status, created) = host
        .call("POST", "/v1/jobs", &key, Some(body.clone()))
        .await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["max_pages"], 200_000, "{created}");
    let id = created["id"].as_str().context("id")?;
    let runs = format!("/v1/jobs/{id}/runs");
    let (status, run) = host
        .call("POST", &runs, &key, Some(json!({"max_pages": 300_000})))
        .await?;
    assert_eq!(status, 201, "{run}");
    let answer = host
        .call("POST", &runs, &key, Some(json!({"max_pages": 300_001})))
        .await?;
    assert_eq!(refused(&answer), (403, "quota_max_pages"), "{}", answer.1);
    for bad in [0, -5] {
        body["max_pages"] = json!(bad);
        let answer = host
            .call("POST", "/v1/jobs", &key, Some(body.clone()))
            .await?;
        assert_eq!(refused(&answer), (422, "invalid_job"), "{}", answer.1);
        let answer = host
            .call("POST", &runs, &key, Some(json!({"max_pages": bad})))
            .await?;
        assert_eq!(answer.0, 422, "{}", answer.1);
    }
    host.stop().await
}

#[tokio::test]
async fn schedules_busier_than_the_quota_are_refused() -> anyhow::Result<()> {
    let host =
        TestHost::start_with(|c| c.quotas.min_schedule_interval = Duration::from_secs(120)).await?;
    let key = host.member("cron@example.com").await?;
    let (_, s) = host
        .call("POST", "/v1/schemas", &key, Some(schema("s")))
        .await?;
    let with_cron = |cron: &str| {
        let mut body = job(&s["id"]);
        body["cron"] = json!(cron);
        body
    };
    for busy in [
        "* * * * * *",
        "*/30 * * * * *",
        "0,30 0 3 * * *",
        "* * * * *",
    ] {
        let answer = host
            .call("POST", "/v1/jobs", &key, Some(with_cron(busy)))
            .await?;
        assert_eq!(
            refused(&answer),
            (403, "quota_schedule_interval"),
            "{busy}: {}",
            answer.1
        );
        let message = answer.1["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("120s"), "{message}");
    }
    let (status, created) = host
        .call("POST", "/v1/jobs", &key, Some(with_cron("*/2 * * * *")))
        .await?;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().context("id")?;
    let answer = host
        .call(
            "PUT",
            &format!("/v1/jobs/{id}"),
            &key,
            Some(with_cron("0,59 0,23 * * *")),
        )
        .await?;
    assert_eq!(refused(&answer), (403, "quota_schedule_interval"));

    // A user whose minimum is lower may.
    let user = user_id(&host, &key).await?;
    set_quotas(&host, &user, json!({"min_schedule_interval_secs": 1})).await?;
    let (status, body) = host
        .call("POST", "/v1/jobs", &key, Some(with_cron("* * * * * *")))
        .await?;
    assert_eq!(status, 201, "{body}");
    host.stop().await
}

#[tokio::test]
async fn member_uploads_past_the_quota_are_refused() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| {
        c.plugins.member_uploads = true;
        c.quotas.plugins = 1;
    })
    .await?;
    let key = host.member("up@example.com").await?;
    let plugin = |name: &str| chameleon(name, "1.0.0", "a test exporter", "text/plain", "txt");
    let (status, body) = host.upload(&key, plugin("mine-one")).await?;
    assert_eq!(status, 201, "{body}");
    // The same version again is no new plugin.
    let (status, body) = host.upload(&key, plugin("mine-one")).await?;
    assert_eq!(status, 200, "{body}");
    let answer = host.upload(&key, plugin("mine-two")).await?;
    assert_eq!(refused(&answer), (403, "quota_plugins"), "{}", answer.1);
    // Admins' uploads are shared, and counted against no one.
    for name in ["shared-one", "shared-two"] {
        let (status, body) = host.upload(&host.admin_key, plugin(name)).await?;
        assert_eq!(status, 201, "{body}");
    }
    let (_, me) = host.call("GET", "/v1/me", &key, None).await?;
    assert_eq!(me["usage"]["plugins"], 1, "{me}");
    let user = user_id(&host, &key).await?;
    set_quotas(&host, &user, json!({"plugins": 2})).await?;
    let (status, body) = host.upload(&key, plugin("mine-two")).await?;
    assert_eq!(status, 201, "{body}");
    host.stop().await
}

/// Poll a run until `done` says so about it.
async fn wait_for(
    host: &TestHost,
    key: &str,
    run: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = host
            .call("GET", &format!("/v1/runs/{run}"), key, None)
            .await?;
        anyhow::ensure!(status == 200, "{body}");
        if done(&body) {
            return Ok(body);
        }
        anyhow::ensure!(Instant::now() < deadline, "waited too long: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A job crawling the counting site for `key` (its schema made on first use).
async fn counting_job(host: &TestHost, key: &str, site: &CountingSite) -> anyhow::Result<String> {
    let (status, s) = host
        .call("POST", "/v1/schemas", key, Some(CountingSite::schema()))
        .await?;
    let schema_id = match status {
        201 => s["id"].clone(),
        _ => {
            let (_, list) = host.call("GET", "/v1/schemas", key, None).await?;
            list["items"][0]["id"].clone()
        }
    };
    let (status, j) = host
        .call("POST", "/v1/jobs", key, Some(site.job(&schema_id, 1)))
        .await?;
    anyhow::ensure!(status == 201, "{j}");
    Ok(j["id"].as_str().context("job id")?.to_owned())
}

async fn start(host: &TestHost, key: &str, job: &str) -> anyhow::Result<String> {
    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{job}/runs"), key, None)
        .await?;
    anyhow::ensure!(status == 201, "{run}");
    Ok(run["id"].as_str().context("run id")?.to_owned())
}

#[tokio::test]
async fn runs_past_the_quota_wait_queued_and_others_do_not() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    // Slow enough for a run to last seconds: the index, then 10 pages at 400 ms each.
    let site = CountingSite::start(10, Duration::from_millis(400), false).await?;
    let key = host.member("busy@example.com").await?;
    let other = host.member("free@example.com").await?;
    let user = user_id(&host, &key).await?;
    set_quotas(&host, &user, json!({"concurrent_runs": 1})).await?;
    let first_job = counting_job(&host, &key, &site).await?;
    let second_job = counting_job(&host, &key, &site).await?;
    let others_job = counting_job(&host, &other, &site).await?;

    let first = start(&host, &key, &first_job).await?;
    wait_for(&host, &key, &first, |r| r["status"] == "running").await?;
    let second = start(&host, &key, &second_job).await?;
    // The other user's run, queued after the waiting one, starts all the same.
    let others = start(&host, &other, &others_job).await?;
    wait_for(&host, &other, &others, |r| r["status"] != "queued").await?;
    // Well past the workers' polls: the first still runs, the second still waits.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, a) = host
        .call("GET", &format!("/v1/runs/{first}"), &key, None)
        .await?;
    let (_, b) = host
        .call("GET", &format!("/v1/runs/{second}"), &key, None)
        .await?;
    assert_eq!(a["status"], "running", "{a}");
    assert_eq!(b["status"], "queued", "{b}");
    let (_, me) = host.call("GET", "/v1/me", &key, None).await?;
    assert_eq!(me["quotas"]["concurrent_runs"], 1, "{me}");
    assert_eq!(me["usage"]["running_runs"], 1, "{me}");
    assert_eq!(me["usage"]["queued_runs"], 1, "{me}");

    // Once the first ends, the second runs, and ends too.
    let a = host.wait_run(&key, &first, Duration::from_secs(60)).await?;
    assert_eq!(a["status"], "succeeded", "{a}");
    let b = host
        .wait_run(&key, &second, Duration::from_secs(60))
        .await?;
    assert_eq!(b["status"], "succeeded", "{b}");
    let ended = chrono::DateTime::parse_from_rfc3339(a["finished_at"].as_str().context("end")?)?;
    let began = chrono::DateTime::parse_from_rfc3339(b["started_at"].as_str().context("start")?)?;
    // Each is its transaction's start time: the claim's may begin a moment before the
    // first run's end commits, and see it.
    assert!(
        began >= ended - chrono::TimeDelta::milliseconds(100),
        "the second began {began}, before the first ended {ended}"
    );
    host.stop().await
}

/// Many claims at once, as from many hosts: each owner gets exactly as many runs as their
/// quota, whoever claims, and an owner at quota does not keep the others' runs waiting.
#[tokio::test]
async fn parallel_claims_keep_the_count_exact() -> anyhow::Result<()> {
    // The host's own workers claim nothing: every owner's quota is 0 for them.
    let host = TestHost::start_with(|c| c.quotas.concurrent_runs = 0).await?;
    let site = CountingSite::start(1, Duration::ZERO, false).await?;
    let mut owners = Vec::new();
    for email in ["one@example.com", "two@example.com"] {
        let key = host.member(email).await?;
        let job = counting_job(&host, &key, &site).await?;
        for _ in 0..4 {
            start(&host, &key, &job).await?;
        }
        owners.push(user_id(&host, &key).await?);
    }
    let pool = host.state.pool.clone();
    let claims = (0..12).map(|n| {
        let pool = pool.clone();
        async move { trawl_host::db::runs::claim_next(&pool, &format!("test-{n}"), 60.0, 1).await }
    });
    let claimed: Vec<_> = futures_util::future::join_all(claims)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let claimed: Vec<_> = claimed.into_iter().flatten().collect();
    assert_eq!(claimed.len(), 2, "{claimed:?}");
    let running: Vec<(String, i64)> = sqlx::query_as(
        "SELECT owner_id::text, count(*) FROM runs WHERE status = 'running' GROUP BY owner_id ORDER BY 1",
    )
    .fetch_all(&pool)
    .await?;
    owners.sort();
    assert_eq!(
        running,
        owners.iter().map(|o| (o.clone(), 1)).collect::<Vec<_>>()
    );
    // Give the runs back, or the host's workers would wait for their leases at stop.
    sqlx::query("UPDATE runs SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL WHERE status <> 'cancelled'")
        .execute(&pool)
        .await?;
    host.stop().await
}

#[tokio::test]
async fn quotas_are_the_admins_to_set_and_the_users_to_read() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.quotas.jobs = 7).await?;
    let ann = host.member("ann@example.com").await?;
    let ben = host.member("ben@example.com").await?;
    let ann_id = user_id(&host, &ann).await?;
    let ben_id = user_id(&host, &ben).await?;

    // `/v1/me`: the user as before, with quotas and use.
    let (_, s) = host
        .call("POST", "/v1/schemas", &ann, Some(schema("s")))
        .await?;
    let (status, _) = host
        .call("POST", "/v1/jobs", &ann, Some(job(&s["id"])))
        .await?;
    assert_eq!(status, 201);
    let (status, me) = host.call("GET", "/v1/me", &ann, None).await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ann@example.com", "{me}");
    assert_eq!(me["role"], "member", "{me}");
    assert!(me["credits"].is_i64(), "{me}");
    assert_eq!(me["quotas"]["jobs"], 7, "{me}");
    assert_eq!(me["quotas"]["max_pages"], 100_000, "{me}");
    assert_eq!(me["quotas"]["rate_limit"], 100, "{me}");
    assert_eq!(
        me["usage"],
        json!({"running_runs": 0, "queued_runs": 0, "jobs": 1, "schemas": 1, "plugins": 0}),
        "{me}"
    );

    // A member reads their own, not another's; only admins set them.
    let (status, own) = host
        .call("GET", &format!("/v1/users/{ann_id}/quotas"), &ann, None)
        .await?;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["usage"]["jobs"], 1, "{own}");
    let (status, body) = host
        .call("GET", &format!("/v1/users/{ben_id}/quotas"), &ann, None)
        .await?;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
    let (status, body) = host
        .call(
            "PUT",
            &format!("/v1/users/{ann_id}/quotas"),
            &ann,
            Some(json!({"jobs": 1000})),
        )
        .await?;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    let (status, body) = host
        .call(
            "GET",
            &format!("/v1/users/{ben_id}/quotas"),
            &host.admin_key,
            None,
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let unknown = uuid::Uuid::new_v4();
    let (status, _) = host
        .call(
            "GET",
            &format!("/v1/users/{unknown}/quotas"),
            &host.admin_key,
            None,
        )
        .await?;
    assert_eq!(status, 404);
    let (status, _) = host
        .call(
            "PUT",
            &format!("/v1/users/{unknown}/quotas"),
            &host.admin_key,
            Some(json!({})),
        )
        .await?;
    assert_eq!(status, 404);
    // Out of range, or a field that is none.
    for bad in [json!({"max_pages": 0}), json!({"jobz": 3})] {
        let (status, body) = host
            .call(
                "PUT",
                &format!("/v1/users/{ann_id}/quotas"),
                &host.admin_key,
                Some(bad.clone()),
            )
            .await?;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    // Set, then all back to the defaults with an empty body.
    let set = set_quotas(&host, &ann_id, json!({"jobs": 9, "rate_limit": 0})).await?;
    assert_eq!(set["quotas"]["jobs"], 9, "{set}");
    assert_eq!(set["quotas"]["rate_limit"], 0, "{set}");
    let (_, me) = host.call("GET", "/v1/me", &ann, None).await?;
    assert_eq!(me["quotas"]["jobs"], 9, "{me}");
    let cleared = set_quotas(&host, &ann_id, json!({})).await?;
    assert_eq!(cleared["quotas"]["jobs"], 7, "{cleared}");
    assert!(
        cleared["overrides"]
            .as_object()
            .is_some_and(|o| o.values().all(Value::is_null)),
        "{cleared}"
    );
    host.stop().await
}

/// A request with its headers, for the rate limit's.
async fn raw(host: &TestHost, path: &str, key: Option<&str>) -> anyhow::Result<reqwest::Response> {
    let mut request = host.client.get(format!("{}{path}", host.base));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    Ok(request.send().await?)
}

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[tokio::test]
async fn each_key_is_rate_limited_on_its_own() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| {
        c.quotas.rate_limit = 1;
        c.quotas.rate_burst = 3;
    })
    .await?;
    // The admin first lifts their own limit (two requests of their burst of three).
    let admin = user_id(&host, &host.admin_key).await?;
    set_quotas(&host, &admin, json!({"rate_limit": 0})).await?;
    let key = host.member("fast@example.com").await?;
    let user = user_id(&host, &key).await?;
    // A second key of the same user.
    let (status, second) = host
        .call(
            "POST",
            &format!("/v1/users/{user}/keys"),
            &host.admin_key,
            Some(json!({"name": "second"})),
        )
        .await?;
    assert_eq!(status, 201, "{second}");
    let second = second["key"].as_str().context("key")?.to_owned();
    // The burst: the first key spent one on `user_id` above.
    for left in [1, 0] {
        let response = raw(&host, "/v1/jobs", Some(&key)).await?;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), Some(3));
        assert_eq!(header(&response, "ratelimit-remaining"), Some(left));
        assert_eq!(header(&response, "x-ratelimit-remaining"), Some(left));
    }
    let limited = raw(&host, "/v1/jobs", Some(&key)).await?;
    assert_eq!(limited.status(), 429);
    let retry = header(&limited, "retry-after").context("Retry-After")?;
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(header(&limited, "ratelimit-remaining"), Some(0));
    assert_eq!(header(&limited, "ratelimit-limit"), Some(3));
    let body: Value = limited.json().await?;
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    // The second key has a bucket of its own; the admin has no limit now.
    let response = raw(&host, "/v1/jobs", Some(&second)).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "ratelimit-remaining"), Some(2));
    for _ in 0..5 {
        let response = raw(&host, "/v1/users", Some(&host.admin_key)).await?;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), None);
    }
    // Neither health, nor the document, nor bad keys are limited or counted.
    for _ in 0..5 {
        for path in ["/healthz", "/readyz", "/v1/openapi.json"] {
            let response = raw(&host, path, None).await?;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(header(&response, "ratelimit-limit"), None, "{path}");
        }
        let response = raw(&host, "/v1/jobs", Some("trawl_not_a_key")).await?;
        assert_eq!(response.status(), 401);
    }

    // After the wait it says, the first key gets through again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let response = raw(&host, "/v1/jobs", Some(&key)).await?;
    assert_eq!(response.status(), 200);
    host.stop().await
}

#[tokio::test]
async fn the_document_has_the_quota_codes_and_429() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let doc: Value = raw(&host, "/v1/openapi.json", None).await?.json().await?;
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "quota_jobs",
        "quota_schemas",
        "quota_plugins",
        "quota_max_pages",
        "quota_schedule_interval",
        "rate_limited",
    ] {
        assert!(
            codes.as_array().is_some_and(|c| c.contains(&json!(code))),
            "{code}"
        );
    }
    let create = &doc["paths"]["/v1/jobs"]["post"]["responses"];
    assert!(create["403"].is_object(), "{create}");
    let limited = &create["429"];
    assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
    assert!(
        create["201"]["headers"]["RateLimit-Remaining"].is_object(),
        "{create}"
    );
    assert!(
        doc["paths"]["/healthz"]["get"]["responses"]["429"].is_null(),
        "keyless operations are not limited"
    );
    let start = doc["paths"]["/v1/jobs/{id}/runs"]["post"]["description"]
        .as_str()
        .unwrap_or("");
    assert!(
        start.contains("concurrent_runs") && start.contains("queued"),
        "{start}"
    );
    assert!(doc["paths"]["/v1/users/{id}/quotas"]["put"].is_object());
    host.stop().await
}
