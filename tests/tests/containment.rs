//! Containment of the host's own work for plugins and pages: DOM queries bounded in
//! memory and time, pages too complex to build a DOM for failing alone, and the CPU
//! shared between owners, so that another member's honest job keeps its speed. Its own
//! test binary: it measures this process's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trawl_tests::catalogue::{catalogue, schema};
use trawl_tests::{TestHost, rss_bytes, serve_site, test_plugin};

/// `depth` nested `<div>`s around one word: 11 bytes a level (15,000 levels: 165 KB).
fn nested_divs(depth: usize) -> Vec<u8> {
    let mut page = String::from("<!doctype html><html><body>");
    page.push_str(&"<div>".repeat(depth));
    page.push_str("deep");
    page.push_str(&"</div>".repeat(depth));
    page.push_str("</body></html>");
    page.into_bytes()
}

/// 1,000 nested divs around 20,000 paragraphs (360 KB): every div's outer HTML holds all
/// the paragraphs, 360 MB in all, and every div as a scope holds 20,000 elements.
fn nested_blob() -> Vec<u8> {
    let mut page = String::from("<!doctype html><html><body>");
    page.push_str(&"<div>".repeat(1_000));
    page.push_str(&"<p>lorem ipsum</p>".repeat(20_000));
    page.push_str(&"</div>".repeat(1_000));
    page.push_str("</body></html>");
    page.into_bytes()
}

/// Time a run from its start until it ends, looking every 10 ms.
async fn timed_run(host: &TestHost, key: &str, job: &str) -> anyhow::Result<(Duration, Value)> {
    let started = Instant::now();
    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{job}/runs"), key, None)
        .await?;
    anyhow::ensure!(status == 201, "{run}");
    let id = run["id"].as_str().expect("id").to_owned();
    loop {
        let (_, run) = host
            .call("GET", &format!("/v1/runs/{id}"), key, None)
            .await?;
        if !matches!(run["status"].as_str(), Some("queued" | "running")) {
            return Ok((started.elapsed(), run));
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "{run}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The host's work for a plugin is bounded like the plugin itself. A page of 15,000 nested
/// divs (whose parse alone would take seconds) fails as `page_too_complex`, the page's
/// fault and not the plugin's. On 1,000 nested divs around 20,000 paragraphs, the outer
/// HTML of every div (360 MB in all, through the bundled css-extractor and through a
/// plugin asking for it directly) stops at the answer's budget with
/// `plugin_resource_limit`; 100,000 scopes of a select stop at the call's deadline, in
/// the host; a read of 200 million cells fails before it is built. (That a timed-out call gives its slot back at
/// once is tests/runtime.rs's `a_timed_out_host_call_frees_its_slot`.) Meanwhile another member's honest job keeps its speed (within 2×
/// of its time alone), and the host's memory stays within the plugins' budget during the
/// runs and returns near its baseline after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_work_for_plugins_is_bounded_and_others_keep_their_speed() -> anyhow::Result<()> {
    let mut pages = catalogue();
    pages.insert(
        "/deep.html".into(),
        ("text/html".into(), nested_divs(15_000)),
    );
    pages.insert("/blob.html".into(), ("text/html".into(), nested_blob()));
    let site = serve_site(pages).await?;
    let timeout = Duration::from_secs(5);
    let host = TestHost::start_with(|c| {
        c.max_concurrent_runs = 20;
        c.plugins.timeout = timeout;
        c.plugins.memory = bytesize::ByteSize::mib(64);
        c.plugins.fuel = 200_000_000_000;
        c.plugins.fuel_ceiling = 400_000_000_000;
    })
    .await?;
    let (status, body) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{body}");
    let eve = host.member("eve@example.com").await?;
    let ann = host.member("ann@example.com").await?;
    let catalogue_page = format!("http://{site}/catalogue/page-1.html");
    let deep = format!("http://{site}/deep.html");
    let blob = format!("http://{site}/blob.html");

    // Ann's honest job, alone: warm once, then the median of three.
    let (_, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &ann,
            Some(json!({"name": "honest", "json_schema": schema()})),
        )
        .await?;
    let (status, job) = host
        .call(
            "POST",
            "/v1/jobs",
            &ann,
            Some(
                json!({"name": "honest", "schema_id": schema["id"], "start_urls": [catalogue_page],
                        "pagination": {"type": "next-link", "selector": "li.next a"}}),
            ),
        )
        .await?;
    assert_eq!(status, 201, "{job}");
    let job = job["id"].as_str().expect("id").to_owned();
    let mut alone = Vec::new();
    for _ in 0..4 {
        let (took, run) = timed_run(&host, &ann, &job).await?;
        assert_eq!(run["status"], "succeeded", "{run}");
        alone.push(took);
    }
    alone.remove(0);
    let alone = median(alone);
    let baseline = rss_bytes();

    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let hostile = |name: &str, mode: &str| {
        json!({"name": name, "json_schema": {"type": "object"}, "plugin": "hostile",
               "plugin_options": {"mode": mode}})
    };
    let css_outer = json!({"name": "css-outer", "json_schema": {
        "type": "object", "x-scope": "div",
        "properties": {"html": {"type": "string", "x-html": "outer"}}}});
    let mut css_outer_deep = css_outer.clone();
    css_outer_deep["name"] = json!("css-outer-deep");
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        // The page alone fails (the run has no other), not the plugin.
        (
            "15,000 nested divs",
            css_outer_deep,
            &deep,
            "no_pages_fetched",
        ),
        (
            "css-extractor outer HTML",
            css_outer,
            &blob,
            "plugin_resource_limit",
        ),
        (
            "outer-html",
            hostile("outer", "outer-html"),
            &blob,
            "plugin_resource_limit",
        ),
        (
            "wide-read",
            hostile("wide", "wide-read"),
            &blob,
            "plugin_resource_limit",
        ),
        (
            "scopes 1",
            hostile("scopes-1", "scopes"),
            &blob,
            "plugin_timeout",
        ),
        (
            "scopes 2",
            hostile("scopes-2", "scopes"),
            &blob,
            "plugin_timeout",
        ),
        (
            "scopes 3",
            hostile("scopes-3", "scopes"),
            &blob,
            "plugin_timeout",
        ),
    ];
    let mut runs = Vec::new();
    for (what, schema, page, code) in cases {
        runs.push((what, code, host.one_page_run(&eve, schema, page).await?));
    }
    // The honest job, three times while the slow calls hold their slots: the median, as
    // alone (this machine has moments when everything is slower).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut beside = Vec::new();
    for _ in 0..3 {
        let (took, run) = timed_run(&host, &ann, &job).await?;
        assert_eq!(run["status"], "succeeded", "{run}");
        beside.push(took);
    }
    let beside = median(beside);

    for (what, code, run) in &runs {
        let run = host.wait_run(&eve, run, Duration::from_secs(60)).await?;
        assert_eq!(run["status"], "failed", "{what}: {run}");
        assert_eq!(run["error"]["code"], *code, "{what}: {run}");
        if *code == "no_pages_fetched" {
            let id = run["id"].as_str().expect("id");
            let (_, pages) = host
                .call("GET", &format!("/v1/runs/{id}/pages"), &eve, None)
                .await?;
            assert_eq!(
                pages["items"][0]["error"]["code"], "page_too_complex",
                "{pages}"
            );
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    let peak = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_bytes().saturating_sub(baseline);
    eprintln!(
        "honest job alone {alone:?}, beside the hostile runs {beside:?}; rss peak +{} MiB, after +{} MiB",
        peak >> 20,
        after >> 20
    );
    assert!(
        beside <= alone * 2,
        "the honest job took {beside:?} beside the hostile runs, {alone:?} alone"
    );
    // The plugins' own memory (4 slots of 64 MiB), the DOMs and answers the host builds
    // for them (bounded by their limits), and a margin for the rest of the host.
    let budget = 4 * (64 << 20) + (192 << 20);
    assert!(peak < budget, "host memory rose by {} MiB", peak >> 20);
    assert!(
        after < 96 << 20,
        "host memory stayed {} MiB up",
        after >> 20
    );
    host.stop().await
}
