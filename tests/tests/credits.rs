//! Credits end to end: exact charges for a known crawl (successes, a failure after
//! retries, a robots.txt refusal, an SSRF refusal, duplicates), a run that runs out
//! mid-way, twenty runs hammering one small balance, caps, estimates, the ledger's and
//! usage's visibility, exports, and hosts that do not charge.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use trawl_host::Config;
use trawl_tests::{CountingSite, TestHost};

/// Prices chosen so each kind's share is visible: 7 per page, 3 per million fuel, 1 per
/// item (1000 per thousand), 2 per megabyte exported.
fn priced(c: &mut Config) {
    c.credits.price_page = 7;
    c.credits.price_fuel_per_million = 3;
    c.credits.price_items_per_thousand = 1000;
    c.credits.price_export_per_megabyte = 2;
    c.fetch.retry_base = Duration::from_millis(10);
    c.fetch.retry_cap = Duration::from_millis(20);
}

/// Only pages cost (10 each): figures a test can count on its fingers.
fn pages_only(c: &mut Config) {
    c.credits.price_page = 10;
    c.credits.price_fuel_per_million = 0;
    c.credits.price_items_per_thousand = 0;
    c.credits.price_export_per_megabyte = 0;
}

/// A site whose index links to three item pages, a page repeating the first page's items,
/// a page that always fails with 500, a page robots.txt disallows, and a page at an
/// address the SSRF guard refuses.
async fn mixed_site() -> anyhow::Result<std::net::SocketAddr> {
    let item_page = |names: &[&str]| {
        let items: String = names
            .iter()
            .map(|n| format!("<div class=\"item\"><h2>{n}</h2></div>"))
            .collect();
        format!("<!doctype html><html><body>{items}</body></html>")
    };
    let pages: HashMap<&'static str, String> = HashMap::from([
        (
            "/",
            "<!doctype html><html><body><a href=\"/p1\">1</a><a href=\"/p2\">2</a><a href=\"/p3\">3</a>\
             <a href=\"/dup\">dup</a><a href=\"/broken\">broken</a><a href=\"/private/x\">private</a>\
             <a href=\"http://10.11.12.13/outside\">outside</a></body></html>"
                .to_owned(),
        ),
        ("/p1", item_page(&["A", "B"])),
        ("/p2", item_page(&["C", "D", "E"])),
        ("/p3", item_page(&["F"])),
        ("/dup", item_page(&["A", "B"])),
    ]);
    let pages = Arc::new(pages);
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let pages = pages.clone();
        async move {
            match uri.path() {
                "/robots.txt" => "User-agent: *\nDisallow: /private/\n".into_response(),
                "/broken" => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
                path => match pages.get(path) {
                    Some(html) => (
                        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        html.clone(),
                    )
                        .into_response(),
                    None => (StatusCode::NOT_FOUND, "no").into_response(),
                },
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

async fn schema(host: &TestHost, key: &str, schema: Value) -> anyhow::Result<Value> {
    let (status, schema) = host.call("POST", "/v1/schemas", key, Some(schema)).await?;
    anyhow::ensure!(status == 201, "schema: {status} {schema}");
    Ok(schema["id"].clone())
}

async fn job(host: &TestHost, key: &str, job: Value) -> anyhow::Result<String> {
    let (status, job) = host.call("POST", "/v1/jobs", key, Some(job)).await?;
    anyhow::ensure!(status == 201, "job: {status} {job}");
    Ok(job["id"].as_str().context("job id")?.to_owned())
}

async fn start(
    host: &TestHost,
    key: &str,
    job: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    host.call("POST", &format!("/v1/jobs/{job}/runs"), key, body)
        .await
}

async fn balance(host: &TestHost, user: &str) -> anyhow::Result<i64> {
    let id: uuid::Uuid = user.parse()?;
    Ok(
        sqlx::query_scalar("SELECT credits FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&host.state.pool)
            .await?,
    )
}

/// No user's balance differs from the sum of their ledger.
async fn ledger_matches(host: &TestHost) -> anyhow::Result<()> {
    let off = trawl_host::db::ledger::mismatches(&host.state.pool).await?;
    anyhow::ensure!(
        off.is_empty(),
        "balances that are not their ledger's sum: {off:?}"
    );
    Ok(())
}

/// Every line of a run's charges (following the cursor).
async fn run_lines(host: &TestHost, key: &str, run: &str) -> anyhow::Result<(Value, Vec<Value>)> {
    let mut lines = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, usage) = host
            .call(
                "GET",
                &format!("/v1/runs/{run}/usage?limit=2&cursor={cursor}"),
                key,
                None,
            )
            .await?;
        anyhow::ensure!(status == 200, "usage: {status} {usage}");
        lines.extend(
            usage["charges"]["items"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        match usage["charges"]["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return Ok((usage, lines)),
        }
    }
}

/// Export a run as JSON lines and wait for the export to end.
async fn export_jsonl(host: &TestHost, key: &str, run: &str) -> anyhow::Result<Value> {
    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{run}/exports"),
            key,
            Some(json!({"format": "jsonl"})),
        )
        .await?;
    anyhow::ensure!(status == 202, "export: {status} {export}");
    let id = export["id"].as_str().context("export id")?;
    host.wait_export(key, id, Duration::from_secs(30)).await
}

fn charged_for(lines: &[Value], item: &str) -> (i64, i64) {
    lines
        .iter()
        .filter(|l| l["item"] == item)
        .fold((0, 0), |(q, a), l| {
            (
                q + l["quantity"].as_i64().unwrap_or(0),
                a - l["amount"].as_i64().unwrap_or(0),
            )
        })
}

async fn pages_of(host: &TestHost, key: &str, run: &str) -> anyhow::Result<HashMap<String, Value>> {
    let (status, pages) = host
        .call("GET", &format!("/v1/runs/{run}/pages?limit=500"), key, None)
        .await?;
    anyhow::ensure!(status == 200, "pages: {status} {pages}");
    Ok(pages["items"]
        .as_array()
        .context("pages")?
        .iter()
        .map(|p| (p["url"].as_str().unwrap_or_default().to_owned(), p.clone()))
        .collect())
}

#[tokio::test]
async fn a_known_crawl_is_charged_exactly_what_succeeded() -> anyhow::Result<()> {
    let site = mixed_site().await?;
    let host = TestHost::start_with(|c| {
        priced(c);
        c.fetch.allow_private_networks = false;
        c.fetch.allowed_networks = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await?;
    let (user, key) = host.member_with_credits("payer@example.com", 1_000).await?;
    let schema_id = schema(
        &host,
        &key,
        json!({"name": "items", "json_schema": {
            "type": "object", "x-scope": "div.item",
            "properties": {"name": {"type": "string", "x-selector": "h2"}},
            "required": ["name"]
        }}),
    )
    .await?;
    let job_id = job(
        &host,
        &key,
        json!({"name": "mixed", "schema_id": schema_id, "start_urls": [format!("http://{site}/")],
               "pagination": {"type": "crawl", "same_host": false}, "max_depth": 1,
               "fetch": {"max_attempts": 2}}),
    )
    .await?;
    let (status, run) = start(&host, &key, &job_id, None).await?;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().context("run id")?;
    let run = host.wait_run(&key, run_id, Duration::from_secs(60)).await?;
    assert_eq!(run["status"], "succeeded", "{run}");

    // What happened, page by page: five pages fetched and extracted, one failed after
    // its retries, one refused by robots.txt, one by the SSRF guard.
    let pages = pages_of(&host, &key, run_id).await?;
    let state = |path: &str| pages[&format!("http://{site}{path}")]["outcome"].clone();
    for path in ["/", "/p1", "/p2", "/p3", "/dup"] {
        assert_eq!(state(path), "done", "{path}: {pages:?}");
    }
    assert_eq!(state("/broken"), "failed");
    assert_eq!(pages[&format!("http://{site}/broken")]["attempts"], 2);
    assert_eq!(state("/private/x"), "skipped");
    let outside = &pages["http://10.11.12.13/outside"];
    assert_eq!(outside["error"]["code"], "blocked_address", "{outside}");
    let counters = &run["counters"];
    assert_eq!(counters["items_new"], 6, "{run}");
    assert_eq!(counters["items_duplicate"], 2, "{run}");

    // By hand: 5 pages at 7, 6 new items at 1 each (the 2 duplicates free), the fuel of
    // the five extractions at 3 per million rounded up; nothing for the other pages.
    let fuel = counters["fuel_consumed"].as_i64().context("fuel")?;
    assert!(fuel > 0, "{run}");
    let fuel_credits = (fuel * 3 + 999_999) / 1_000_000;
    let total = 5 * 7 + 6 + fuel_credits;
    assert_eq!(run["credits_consumed"], total, "{run}");
    assert_eq!(run["credits"]["pages"], 35, "{run}");
    assert_eq!(run["credits"]["items"], 6, "{run}");
    assert_eq!(run["credits"]["fuel"], fuel_credits, "{run}");
    assert_eq!(run["credits"]["charged"], true, "{run}");

    let (usage, lines) = run_lines(&host, &key, run_id).await?;
    assert_eq!(
        usage["work"],
        json!({"pages": 5, "fuel": fuel, "items": 6}),
        "{usage}"
    );
    assert_eq!(usage["total"], total, "{usage}");
    assert_eq!(charged_for(&lines, "pages"), (5, 35), "{lines:?}");
    assert_eq!(charged_for(&lines, "items"), (6, 6), "{lines:?}");
    assert_eq!(
        charged_for(&lines, "fuel"),
        (fuel, fuel_credits),
        "{lines:?}"
    );
    for line in &lines {
        assert_eq!(line["kind"], "charge");
        assert_eq!(line["run_id"], run_id);
        assert_eq!(line["job_id"], job_id.as_str());
    }
    assert_eq!(balance(&host, &user).await?, 1_000 - total);

    // The ledger: the starting grant, then the charges, each with the balance after it.
    let (status, ledger) = host.call("GET", "/v1/me/credits", &key, None).await?;
    assert_eq!(status, 200, "{ledger}");
    let ledger = ledger["items"].as_array().context("ledger")?;
    assert_eq!(ledger[0]["kind"], "grant");
    assert_eq!(ledger[0]["amount"], 1_000);
    let mut running = 0;
    for line in ledger {
        running += line["amount"].as_i64().context("amount")?;
        assert_eq!(line["balance"], running, "{line}");
    }
    assert_eq!(running, 1_000 - total);

    // Usage by day and by job says the same.
    for group in ["day", "job"] {
        let (status, usage) = host
            .call("GET", &format!("/v1/me/usage?group={group}"), &key, None)
            .await?;
        assert_eq!(status, 200, "{usage}");
        assert_eq!(usage["total"], total, "{usage}");
        assert_eq!(usage["rows"].as_array().map(Vec::len), Some(1), "{usage}");
        assert_eq!(usage["rows"][0]["pages"], 35, "{usage}");
    }
    let (_, by_job) = host
        .call("GET", "/v1/me/usage?group=job", &key, None)
        .await?;
    assert_eq!(by_job["rows"][0]["key"], job_id.as_str());

    // An export is charged by its size, rounded up to a whole credit.
    let export = export_jsonl(&host, &key, run_id).await?;
    assert_eq!(export["status"], "succeeded", "{export}");
    let size = export["size_bytes"].as_i64().context("size")?;
    let export_credits = (size * 2 + 999_999) / 1_000_000;
    assert_eq!(export["credits_consumed"], export_credits, "{export}");
    let left = 1_000 - total - export_credits;
    assert_eq!(balance(&host, &user).await?, left);

    // With one credit left, a small export costs exactly that; with none, exports are
    // refused before they start.
    let (status, line) = host
        .call(
            "POST",
            &format!("/v1/users/{user}/credits"),
            &host.admin_key,
            Some(json!({"amount": 1 - left, "reason": "down to one"})),
        )
        .await?;
    assert_eq!(status, 201, "{line}");
    let export = export_jsonl(&host, &key, run_id).await?;
    assert_eq!(export["status"], "succeeded", "{export}");
    assert_eq!(export["credits_consumed"], 1, "{export}");
    assert_eq!(balance(&host, &user).await?, 0);
    let (status, answer) = host
        .call(
            "POST",
            &format!("/v1/runs/{run_id}/exports"),
            &key,
            Some(json!({"format": "jsonl"})),
        )
        .await?;
    assert_eq!(status, 402, "{answer}");
    assert_eq!(answer["error"]["code"], "insufficient_credits", "{answer}");
    ledger_matches(&host).await?;
    host.stop().await
}

#[tokio::test]
async fn a_run_that_runs_out_keeps_exactly_what_it_paid_for() -> anyhow::Result<()> {
    let site = CountingSite::start(30, Duration::ZERO, false).await?;
    let host = TestHost::start_with(pages_only).await?;
    // 45 credits: the index and three item pages (40), and 5 left, less than a page.
    let (user, key) = host.member_with_credits("short@example.com", 45).await?;
    let schema_id = schema(&host, &key, CountingSite::schema()).await?;
    let job_id = job(&host, &key, site.job(&schema_id, 4)).await?;
    let (status, run) = start(&host, &key, &job_id, None).await?;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().context("run id")?;
    let run = host.wait_run(&key, run_id, Duration::from_secs(60)).await?;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "credits_exhausted", "{run}");
    assert_eq!(balance(&host, &user).await?, 5);
    assert_eq!(run["credits_consumed"], 40, "{run}");

    // Stored: exactly the pages paid for, and their items.
    let pages = pages_of(&host, &key, run_id).await?;
    let done: Vec<&String> = pages
        .iter()
        .filter(|(_, p)| p["outcome"] == "done")
        .map(|(url, _)| url)
        .collect();
    assert_eq!(done.len(), 4, "{pages:?}");
    let results = host.all_results(&key, run_id).await?;
    assert_eq!(results.len(), 3, "{results:?}");
    for result in &results {
        let source = result["source_url"].as_str().context("source")?;
        assert!(
            done.iter().any(|u| u.as_str() == source),
            "{source} was not paid for"
        );
    }
    let (_, lines) = run_lines(&host, &key, run_id).await?;
    assert_eq!(charged_for(&lines, "pages"), (4, 40), "{lines:?}");
    // Pages fetched but not paid for say why they were not stored.
    for page in pages.values().filter(|p| p["outcome"] == "skipped") {
        assert_eq!(page["error"]["code"], "credits_exhausted", "{page}");
    }
    assert!(
        pages
            .values()
            .all(|p| matches!(p["outcome"].as_str(), Some("done" | "skipped" | "pending"))),
        "{pages:?}"
    );

    // Out of credits, the next run is refused before it starts.
    let (status, answer) = start(&host, &key, &job_id, None).await?;
    assert_eq!(status, 402, "{answer}");
    assert_eq!(answer["error"]["code"], "insufficient_credits", "{answer}");
    ledger_matches(&host).await?;
    host.stop().await
}

#[tokio::test]
async fn twenty_runs_on_a_small_balance_never_overspend() -> anyhow::Result<()> {
    let site = CountingSite::start(10, Duration::from_millis(5), false).await?;
    let host = TestHost::start_with(|c| {
        pages_only(c);
        c.max_concurrent_runs = 20;
    })
    .await?;
    // A run is 11 pages (the index and ten items): 110 credits; 550 pays for five.
    let (user, key) = host.member_with_credits("hammer@example.com", 550).await?;
    let schema_id = schema(&host, &key, CountingSite::schema()).await?;
    let mut jobs = Vec::new();
    for _ in 0..20 {
        jobs.push(job(&host, &key, site.job(&schema_id, 2)).await?);
    }

    // Watch the balance the whole time.
    let lowest = Arc::new(AtomicI64::new(i64::MAX));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (pool, lowest, watching) = (host.state.pool.clone(), lowest.clone(), watching.clone());
        let id: uuid::Uuid = user.parse()?;
        tokio::spawn(async move {
            let mut looks = 0u64;
            while watching.load(Ordering::Relaxed) {
                if let Ok(b) =
                    sqlx::query_scalar::<_, i64>("SELECT credits FROM users WHERE id = $1")
                        .bind(id)
                        .fetch_one(&pool)
                        .await
                {
                    lowest.fetch_min(b, Ordering::Relaxed);
                    looks += 1;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            looks
        })
    };
    let starts = jobs.iter().map(|j| start(&host, &key, j, None));
    let mut runs = Vec::new();
    for answer in futures_util::future::join_all(starts).await {
        let (status, run) = answer?;
        assert_eq!(status, 201, "{run}");
        runs.push(run["id"].as_str().context("run id")?.to_owned());
    }
    let mut consumed = 0;
    let mut stored = 0;
    for run in &runs {
        let run = host.wait_run(&key, run, Duration::from_secs(120)).await?;
        match run["status"].as_str() {
            Some("succeeded") => {}
            Some("failed") => assert_eq!(run["error"]["code"], "credits_exhausted", "{run}"),
            _ => panic!("a run ended neither succeeded nor out of credits: {run}"),
        }
        consumed += run["credits_consumed"].as_i64().context("consumed")?;
        let id = run["id"].as_str().context("id")?;
        let results = host.all_results(&key, id).await?.len() as i64;
        stored += results;
        let pages = pages_of(&host, &key, id).await?;
        let done = pages.values().filter(|p| p["outcome"] == "done").count() as i64;
        assert_eq!(run["credits_consumed"], done * 10, "{run}");
        // Every item page paid for stored its item; the index has none.
        let items_paid = pages
            .iter()
            .filter(|(url, p)| p["outcome"] == "done" && url.contains("/p/"))
            .count() as i64;
        assert_eq!(results, items_paid, "{run}");
    }
    watching.store(false, Ordering::Relaxed);
    let looks = watcher.await?;
    assert!(looks > 10, "the balance was looked at {looks} times");
    assert!(
        lowest.load(Ordering::Relaxed) >= 0,
        "the balance went below zero"
    );
    // All of it was spent (550 is a whole number of pages), on pages that were stored.
    assert_eq!(balance(&host, &user).await?, 0);
    assert_eq!(consumed, 550);
    assert!(
        (55 - 20..=55).contains(&stored),
        "{stored} items for 55 pages"
    );
    ledger_matches(&host).await?;
    let lines: i64 =
        sqlx::query_scalar("SELECT -sum(amount)::bigint FROM credit_ledger WHERE kind = 'charge'")
            .fetch_one(&host.state.pool)
            .await?;
    assert_eq!(lines, 550);
    host.stop().await
}

#[tokio::test]
async fn max_credits_ends_a_run_succeeded_at_its_cap() -> anyhow::Result<()> {
    let site = CountingSite::start(20, Duration::ZERO, false).await?;
    let host = TestHost::start_with(pages_only).await?;
    let (user, key) = host
        .member_with_credits("capped@example.com", 10_000)
        .await?;
    let schema_id = schema(&host, &key, CountingSite::schema()).await?;
    let mut spec = site.job(&schema_id, 2);
    spec["max_credits"] = json!(25);
    let job_id = job(&host, &key, spec).await?;

    // The job's cap: two pages (20), the third would pass 25.
    let (_, run) = start(&host, &key, &job_id, None).await?;
    let run = host
        .wait_run(
            &key,
            run["id"].as_str().context("id")?,
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["reason"]["code"], "credit_cap_reached", "{run}");
    assert!(run["error"].is_null(), "{run}");
    assert_eq!(run["credits_consumed"], 20, "{run}");
    assert_eq!(run["credits"]["max_credits"], 25, "{run}");

    // A run's own cap wins over the job's.
    let (status, run) = start(&host, &key, &job_id, Some(json!({"max_credits": 10}))).await?;
    assert_eq!(status, 201, "{run}");
    let run = host
        .wait_run(
            &key,
            run["id"].as_str().context("id")?,
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["reason"]["code"], "credit_cap_reached", "{run}");
    assert_eq!(run["credits_consumed"], 10, "{run}");
    assert_eq!(balance(&host, &user).await?, 10_000 - 30);

    // A cap the run never reaches changes nothing.
    let (_, run) = start(&host, &key, &job_id, Some(json!({"max_credits": 100000}))).await?;
    let run = host
        .wait_run(
            &key,
            run["id"].as_str().context("id")?,
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["reason"].is_null(), "{run}");
    assert_eq!(run["credits_consumed"], 210, "{run}");

    let (status, bad) = start(&host, &key, &job_id, Some(json!({"max_credits": 0}))).await?;
    assert_eq!(status, 422, "{bad}");
    ledger_matches(&host).await?;
    host.stop().await
}

#[tokio::test]
async fn the_estimate_is_the_worst_case_of_the_limits() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| {
        c.credits.price_page = 7;
        c.credits.price_fuel_per_million = 3;
        c.credits.price_items_per_thousand = 2;
    })
    .await?;
    let (_, key) = host
        .member_with_credits("estimate@example.com", 100)
        .await?;
    let schema_id = schema(&host, &key, CountingSite::schema()).await?;
    let job_id = job(
        &host,
        &key,
        json!({"name": "e", "schema_id": schema_id, "start_urls": ["http://127.0.0.1:9/"], "max_pages": 10}),
    )
    .await?;
    let fuel = host.state.config.plugins.fuel as i64;
    let items = host.state.config.plugins.max_items as i64;
    let expected_fuel = (10 * fuel * 3 + 999_999) / 1_000_000;
    let expected_items = (10 * items * 2 + 999) / 1_000;
    let expected = 70 + expected_fuel + expected_items;
    let (status, estimate) = host
        .call("POST", &format!("/v1/jobs/{job_id}/estimate"), &key, None)
        .await?;
    assert_eq!(status, 200, "{estimate}");
    assert_eq!(
        estimate["work"],
        json!({"pages": 10, "fuel": 10 * fuel, "items": 10 * items})
    );
    assert_eq!(estimate["credits"]["pages"], 70, "{estimate}");
    assert_eq!(estimate["credits"]["fuel"], expected_fuel, "{estimate}");
    assert_eq!(estimate["credits"]["items"], expected_items, "{estimate}");
    assert_eq!(estimate["worst_case"], expected, "{estimate}");
    assert_eq!(estimate["balance"], 100);
    assert_eq!(estimate["covered"], expected <= 100);
    assert_eq!(estimate["charged"], true);

    // A run's overrides, as its request would give them: fewer pages, and a cap.
    let (status, estimate) = host
        .call(
            "POST",
            &format!("/v1/jobs/{job_id}/estimate"),
            &key,
            Some(json!({"max_pages": 2, "max_credits": 20})),
        )
        .await?;
    assert_eq!(status, 200, "{estimate}");
    assert_eq!(estimate["credits"]["pages"], 14, "{estimate}");
    assert_eq!(estimate["worst_case"], 20, "{estimate}");
    assert_eq!(estimate["covered"], true, "{estimate}");

    let (status, _) = host
        .call(
            "POST",
            &format!("/v1/jobs/{}/estimate", uuid::Uuid::new_v4()),
            &key,
            None,
        )
        .await?;
    assert_eq!(status, 404);
    host.stop().await
}

#[tokio::test]
async fn grants_ledgers_and_usage_are_the_owners_and_admins_only() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.credits.signup_credits = 50).await?;
    // A new user starts with the host's grant, in their ledger.
    let (status, user) = host
        .call(
            "POST",
            "/v1/users",
            &host.admin_key,
            Some(json!({"email": "new@example.com"})),
        )
        .await?;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["credits"], 50);
    let alice = user["id"].as_str().context("id")?.to_owned();
    let alice_key = host.key_for(&alice).await?;
    let (bob, bob_key) = host.member_with_credits("bob@example.com", 0).await?;

    // Admins grant and adjust, with a reason; the balance never goes below zero.
    let (status, line) = host
        .call(
            "POST",
            &format!("/v1/users/{alice}/credits"),
            &host.admin_key,
            Some(json!({"amount": 25, "reason": "welcome back"})),
        )
        .await?;
    assert_eq!(status, 201, "{line}");
    assert_eq!(line["kind"], "grant");
    assert_eq!(line["balance"], 75);
    let (status, line) = host
        .call(
            "POST",
            &format!("/v1/users/{alice}/credits"),
            &host.admin_key,
            Some(json!({"amount": -80, "reason": "too much"})),
        )
        .await?;
    assert_eq!(status, 409, "{line}");
    assert_eq!(line["error"]["code"], "balance_below_zero");
    let (status, line) = host
        .call(
            "POST",
            &format!("/v1/users/{alice}/credits"),
            &host.admin_key,
            Some(json!({"amount": -5, "reason": "correction"})),
        )
        .await?;
    assert_eq!(status, 201, "{line}");
    assert_eq!(line["kind"], "adjustment");
    assert_eq!(balance(&host, &alice).await?, 70);
    // No balance grows past 10^15 (nor overflows).
    let (status, line) = host
        .call(
            "POST",
            &format!("/v1/users/{alice}/credits"),
            &host.admin_key,
            Some(json!({"amount": 1_000_000_000_000_000i64, "reason": "a lot"})),
        )
        .await?;
    assert_eq!(status, 409, "{line}");
    assert_eq!(line["error"]["code"], "balance_above_max");
    assert_eq!(balance(&host, &alice).await?, 70);
    for bad in [
        json!({"amount": 0, "reason": "nothing"}),
        json!({"amount": 5, "reason": " "}),
        json!({"amount": -5, "reason": "no", "kind": "grant"}),
        json!({"amount": 5, "reason": "no", "kind": "charge"}),
        json!({"amount": i64::MAX, "reason": "overflow"}),
        json!({"amount": 1_000_000_000_000_001i64, "reason": "too much"}),
    ] {
        let (status, answer) = host
            .call(
                "POST",
                &format!("/v1/users/{alice}/credits"),
                &host.admin_key,
                Some(bad.clone()),
            )
            .await?;
        assert_eq!(status, 422, "{bad}: {answer}");
    }
    let (status, _) = host
        .call(
            "POST",
            &format!("/v1/users/{}/credits", uuid::Uuid::new_v4()),
            &host.admin_key,
            Some(json!({"amount": 5, "reason": "x"})),
        )
        .await?;
    assert_eq!(status, 404);

    // Members: their own ledger and usage, never another's (a 404, as for no one), and
    // no grants.
    let (status, _) = host
        .call(
            "POST",
            &format!("/v1/users/{alice}/credits"),
            &alice_key,
            Some(json!({"amount": 5, "reason": "me"})),
        )
        .await?;
    assert_eq!(status, 403);
    for path in [
        format!("/v1/users/{bob}/credits"),
        format!("/v1/users/{bob}/usage"),
    ] {
        let (status, answer) = host.call("GET", &path, &alice_key, None).await?;
        assert_eq!(status, 404, "{path}: {answer}");
        let (status, answer) = host.call("GET", &path, &bob_key, None).await?;
        assert_eq!(status, 200, "{path}: {answer}");
        let (status, answer) = host.call("GET", &path, &host.admin_key, None).await?;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    let (status, ledger) = host
        .call(
            "GET",
            &format!("/v1/users/{alice}/credits"),
            &host.admin_key,
            None,
        )
        .await?;
    assert_eq!(status, 200);
    let amounts: Vec<i64> = ledger["items"]
        .as_array()
        .context("items")?
        .iter()
        .map(|l| l["amount"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(amounts, [50, 25, -5]);
    let (status, answer) = host
        .call(
            "GET",
            "/v1/me/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            &alice_key,
            None,
        )
        .await?;
    assert_eq!(status, 400, "{answer}");

    // The price list is public.
    let answer = host
        .client
        .get(format!("{}/v1/pricing", host.base))
        .send()
        .await?;
    assert_eq!(answer.status(), 200);
    let pricing: Value = answer.json().await?;
    assert_eq!(pricing["page"], host.state.config.credits.price_page);
    assert_eq!(pricing["signup_credits"], 50);
    assert_eq!(pricing["charging"], true);

    // Nothing to run with: a run and an export are refused before they start.
    let schema_id = schema(&host, &bob_key, CountingSite::schema()).await?;
    let job_id = job(
        &host,
        &bob_key,
        json!({"name": "j", "schema_id": schema_id, "start_urls": ["http://127.0.0.1:9/"]}),
    )
    .await?;
    let (status, answer) = start(&host, &bob_key, &job_id, None).await?;
    assert_eq!(status, 402, "{answer}");
    assert_eq!(answer["error"]["code"], "insufficient_credits");
    let (status, answer) = start(&host, &alice_key, &job_id, None).await?;
    assert_eq!(status, 404, "another's job: {answer}");
    ledger_matches(&host).await?;
    host.stop().await
}

#[tokio::test]
async fn admins_and_hosts_without_charging_are_priced_not_charged() -> anyhow::Result<()> {
    let site = CountingSite::start(3, Duration::ZERO, false).await?;
    let host = TestHost::start_with(pages_only).await?;
    let admin = host.admin_key.clone();
    let schema_id = schema(&host, &admin, CountingSite::schema()).await?;
    let run = host.run_job(&admin, site.job(&schema_id, 1)).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["credits_consumed"], 0, "{run}");
    assert_eq!(run["credits"]["charged"], false, "{run}");
    assert_eq!(run["credits"]["total"], 40, "{run}");
    let (_, me) = host.call("GET", "/v1/me", &admin, None).await?;
    assert_eq!(me["credits"], 0, "{me}");
    host.stop().await?;

    let host = TestHost::start_with(|c| {
        pages_only(c);
        c.credits.charging = false;
    })
    .await?;
    let (user, key) = host.member_with_credits("free@example.com", 0).await?;
    let schema_id = schema(&host, &key, CountingSite::schema()).await?;
    let run = host.run_job(&key, site.job(&schema_id, 1)).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["credits"]["charged"], false, "{run}");
    assert_eq!(run["credits"]["total"], 40, "{run}");
    assert_eq!(balance(&host, &user).await?, 0);
    let (_, lines) = run_lines(&host, &key, run["id"].as_str().context("id")?).await?;
    assert!(lines.is_empty(), "{lines:?}");
    host.stop().await
}

#[tokio::test]
async fn the_ledger_refuses_to_be_rewritten() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let (_, _) = host.member_with_credits("fixed@example.com", 10).await?;
    let changed = sqlx::query("UPDATE credit_ledger SET amount = 1000")
        .execute(&host.state.pool)
        .await;
    assert!(changed.is_err(), "a ledger line was changed");
    let negative = sqlx::query("UPDATE users SET credits = -1")
        .execute(&host.state.pool)
        .await;
    assert!(negative.is_err(), "a balance went below zero");
    host.stop().await
}
