//! The hostile-plugin suite: each hostile plugin runs as a real job on a real host, all at
//! once and beside an honest job. Each hostile run ends `failed` with its own code and a
//! message naming the plugin and version; the honest job's results are exactly right;
//! `/healthz` answers within 100 ms throughout; host memory stays within the plugins'
//! budget during the runs and returns to its baseline after.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trawl_tests::catalogue::{catalogue, expected, schema};
use trawl_tests::{TestHost, rss_bytes, serve_site, test_plugin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_fail_cleanly_while_an_honest_job_succeeds() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start_with(|c| {
        c.max_concurrent_runs = 30;
        c.plugins.timeout = Duration::from_secs(3);
        // Fuel high enough that the wall clock is what stops the spinning plugins.
        c.plugins.fuel = 200_000_000_000;
        c.plugins.fuel_ceiling = 400_000_000_000;
    })
    .await?;
    let (status, body) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = host
        .upload(&host.admin_key, test_plugin("hostile_exporter"))
        .await?;
    assert_eq!(status, 201, "{body}");
    let key = host.member("eve@example.com").await?;
    let page = format!("http://{site}/catalogue/page-1.html");

    // Warm up (compile caches, pools), then take the memory baseline.
    let warm = host
        .one_page_run(
            &key,
            json!({"name": "warm", "json_schema": schema()}),
            &page,
        )
        .await?;
    host.wait_run(&key, &warm, Duration::from_secs(30)).await?;
    let baseline = rss_bytes();

    // /healthz is polled throughout; the slowest answer is kept.
    let done = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(AtomicU64::new(0));
    // So is this process's memory; the highest is kept.
    let peak = Arc::new(AtomicU64::new(baseline));
    let probe = {
        let peak = peak.clone();
        let (done, slowest, url, client) = (
            done.clone(),
            slowest.clone(),
            format!("{}/healthz", host.base),
            host.client.clone(),
        );
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                let micros = if ok {
                    t.elapsed().as_micros() as u64
                } else {
                    u64::MAX
                };
                slowest.fetch_max(micros, Ordering::Relaxed);
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let cases: &[(&str, Value, &str)] = &[
        ("loop", json!({}), "plugin_timeout"),
        ("loop", json!({"fuel": 20_000_000}), "plugin_out_of_fuel"),
        ("alloc", json!({}), "plugin_memory_limit"),
        ("recurse", json!({}), "plugin_trap"),
        ("flood", json!({}), "plugin_memory_limit"),
        ("big-string", json!({}), "plugin_memory_limit"),
        ("follow-flood", json!({}), "plugin_output_limit"),
        ("nodes", json!({}), "plugin_resource_limit"),
        ("log-flood", json!({}), "plugin_resource_limit"),
        ("panic", json!({}), "plugin_trap"),
        ("read-file", json!({}), "plugin_error"),
        ("read-env", json!({}), "plugin_error"),
        ("socket", json!({}), "plugin_error"),
        ("clock", json!({}), "plugin_timeout"),
        ("wide-read", json!({}), "plugin_resource_limit"),
        // Twice over: 25 hostile runs at once.
        ("loop", json!({}), "plugin_timeout"),
        ("alloc", json!({}), "plugin_memory_limit"),
        ("recurse", json!({}), "plugin_trap"),
        ("flood", json!({}), "plugin_memory_limit"),
        ("big-string", json!({}), "plugin_memory_limit"),
        ("follow-flood", json!({}), "plugin_output_limit"),
        ("nodes", json!({}), "plugin_resource_limit"),
        ("log-flood", json!({}), "plugin_resource_limit"),
        ("panic", json!({}), "plugin_trap"),
        ("clock", json!({}), "plugin_timeout"),
    ];
    let mut runs = Vec::new();
    for (i, (mode, limits, code)) in cases.iter().enumerate() {
        let schema = json!({"name": format!("{mode}-{i}"), "json_schema": {"type": "object"}, "plugin": "hostile",
                            "plugin_options": {"mode": mode}, "limits": limits});
        runs.push((*mode, *code, host.one_page_run(&key, schema, &page).await?));
    }
    let honest_schema = json!({"name": "honest", "json_schema": schema()});
    let (_, honest_schema) = host
        .call("POST", "/v1/schemas", &key, Some(honest_schema))
        .await?;
    let job = json!({"name": "honest", "schema_id": honest_schema["id"], "start_urls": [page.clone()],
                     "pagination": {"type": "next-link", "selector": "li.next a"}});
    let honest = host.start_job(&key, job).await?;

    for (mode, code, run) in &runs {
        let run = host.wait_run(&key, run, Duration::from_secs(120)).await?;
        assert_eq!(run["status"], "failed", "{mode}: {run}");
        assert_eq!(run["error"]["code"], *code, "{mode}: {run}");
        let message = run["error"]["message"].as_str().expect("message");
        assert!(message.contains("hostile@0.1.0"), "{mode}: {message}");
        let (_, results) = host
            .call(
                "GET",
                &format!("/v1/runs/{}/results", run["id"].as_str().expect("id")),
                &key,
                None,
            )
            .await?;
        assert_eq!(results["items"], json!([]), "{mode} leaked nothing");
    }
    let run = host
        .wait_run(&key, &honest, Duration::from_secs(120))
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let stored: BTreeMap<String, Value> = host
        .all_results(&key, &honest)
        .await?
        .into_iter()
        .map(|r| {
            (
                r["data"]["url"].as_str().expect("url").to_owned(),
                r["data"].clone(),
            )
        })
        .collect();
    assert_eq!(stored, expected(&format!("http://{site}")));
    // An exporter whose write never returns.
    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{honest}/exports"),
            &key,
            Some(json!({"format": "hostile-exporter"})),
        )
        .await?;
    assert_eq!(status, 202, "{export}");
    let export = host
        .wait_export(
            &key,
            export["id"].as_str().expect("id"),
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(export["status"], "failed", "{export}");
    assert_eq!(export["error"]["code"], "plugin_timeout", "{export}");
    assert!(
        export["error"]["message"]
            .as_str()
            .expect("message")
            .contains("hostile-exporter@0.1.0"),
        "{export}"
    );

    done.store(true, Ordering::Relaxed);
    probe.await?;
    let slowest = Duration::from_micros(slowest.load(Ordering::Relaxed));
    assert!(
        slowest < Duration::from_millis(100),
        "/healthz took {slowest:?}"
    );

    // Memory: instances are gone and the pool decommitted their pages.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes();
    let grown = after.saturating_sub(baseline);
    eprintln!(
        "rss baseline {} MiB, after {} MiB, slowest /healthz {slowest:?}",
        baseline >> 20,
        after >> 20
    );
    assert!(grown < 96 << 20, "host memory grew by {} MiB", grown >> 20);
    // During the runs: the plugins' own memory (default limits: 128 MiB for each of the
    // host's plugin slots) and what the host builds for them within their limits.
    let peak = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    let slots = trawl_host::config::default_plugin_concurrency() as u64 + 1;
    let budget = slots * (128 << 20) + (256 << 20);
    eprintln!("rss peak +{} MiB (budget {} MiB)", peak >> 20, budget >> 20);
    assert!(peak < budget, "host memory rose by {} MiB", peak >> 20);
    host.stop().await
}
