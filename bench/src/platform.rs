//! `trawl-bench platform`: what the plugin platform costs around the plugin's own work —
//! the per-call overhead (a fresh instance, and an extract call that does nothing), start-up
//! with 20 plugins from the compile cache versus compiling them, and pages per second
//! through css-extractor with many calls in parallel, pooling allocator on versus off.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trawl_host::config::PluginLimits;
use trawl_host::runtime::{PageData, Runtime};

use crate::corpus;
use crate::stats::{median, percentile};

/// Options of `trawl-bench platform`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Scrapy benchmark's books tarball.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Calls measured for the per-call overhead.
    #[arg(long, default_value_t = 5000)]
    pub calls: usize,
    /// Extract calls per throughput measurement.
    #[arg(long, default_value_t = 4000)]
    pub pages: usize,
    /// Calls in flight at once in the throughput measurement.
    #[arg(long, default_value_t = 64)]
    pub parallel: usize,
}

/// The same component with a custom section appended: another digest, so another cache
/// entry and another compilation, but identical code.
fn variant(bytes: &[u8], n: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(&[0x00, 0x03, 0x02, b'v', n]);
    out
}

fn limits(pooling: bool) -> PluginLimits {
    PluginLimits {
        pooling,
        ..PluginLimits::default()
    }
}

/// Run the benchmark and return the report (a Markdown table).
pub fn run(args: &Args, tokio: &tokio::runtime::Runtime) -> anyhow::Result<String> {
    let mut report = String::new();
    let cpus = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    report.push_str(&format!("{cpus} CPUs; medians of {} calls\n\n", args.calls));

    // 1. Per-call overhead.
    let runtime = Runtime::new(limits(true))?;
    let hostile = trawl_tests::test_plugin("hostile");
    let empty = runtime.load(&hostile)?;
    let page = Arc::new(PageData {
        url: "http://example.test/".into(),
        status: 200,
        headers: vec![],
        body: String::new(),
    });
    let mut instantiate = Vec::with_capacity(args.calls);
    let mut call = Vec::with_capacity(args.calls);
    let mut inside = Vec::with_capacity(args.calls);
    for i in 0..args.calls + 100 {
        let t = Instant::now();
        runtime.instantiate(&empty)?;
        let a = t.elapsed();
        let t = Instant::now();
        let out = tokio.block_on(runtime.extract(
            &empty,
            page.clone(),
            "{}".into(),
            "{}".into(),
            None,
        ))?;
        let b = t.elapsed();
        if i >= 100 {
            instantiate.push(a);
            call.push(b);
            inside.push(out.elapsed);
        }
    }
    report.push_str("| per call | median | p90 |\n|---|--:|--:|\n");
    for (name, samples) in [
        (
            "fresh Store + instance (`Runtime::instantiate`)",
            &instantiate,
        ),
        (
            "instance + an extract that returns one constant item, inside the blocking thread",
            &inside,
        ),
        (
            "the same through `Runtime::extract` (thread hop, permit, timeout)",
            &call,
        ),
    ] {
        report.push_str(&format!(
            "| {name} | {:.1} µs | {:.1} µs |\n",
            micros(median(samples)),
            micros(percentile(samples, 90))
        ));
    }

    // 2. Start-up with 20 plugins: compiling versus the compile cache.
    let bundled = trawl_host::bundled::BUNDLED;
    let components: Vec<Vec<u8>> = (0..20u8)
        .map(|n| variant(bundled[usize::from(n) % bundled.len()], n))
        .collect();
    let cache = std::env::temp_dir().join(format!("trawl-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let start = |cached: &std::path::Path| -> anyhow::Result<Duration> {
        let t = Instant::now();
        let runtime = Runtime::new(limits(true))?.with_cache_dir(cached.to_owned());
        for bytes in &components {
            runtime.load(bytes)?;
        }
        Ok(t.elapsed())
    };
    let cold = start(&cache)?;
    let mut warm = Vec::new();
    for _ in 0..5 {
        warm.push(start(&cache)?);
    }
    let _ = std::fs::remove_dir_all(&cache);
    let warm = median(&warm);
    report.push_str(&format!(
        "\n| start-up, 20 plugins | time |\n|---|--:|\n| cold (compile all 20) | {:.0} ms |\n| from the compile cache (median of 5) | {:.1} ms |\n| ratio | {:.0}× faster |\n",
        millis(cold),
        millis(warm),
        cold.as_secs_f64() / warm.as_secs_f64()
    ));

    // 3. Throughput: many extract calls in parallel, pooling on versus off.
    let corpus_path = args.corpus.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpora/scrapy-bench/bookfiles.tar.gz")
    });
    let pages = corpus::load(&corpus_path)?;
    let schema: Arc<str> = crate::native::LISTING_SCHEMA.into();
    report.push_str(&format!(
        "\n| throughput, {} css-extractor calls, {} in flight | pages/s | ratio |\n|---|--:|--:|\n",
        args.pages, args.parallel
    ));
    let mut rates = Vec::new();
    for pooling in [true, false] {
        let runtime = Runtime::new(limits(pooling))?;
        let plugin = runtime.load(trawl_host::bundled::components::CSS_EXTRACTOR)?;
        let rate = tokio.block_on(async {
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let t = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..args.parallel {
                let (runtime, plugin, pages, schema, next) = (
                    runtime.clone(),
                    plugin.clone(),
                    pages.clone(),
                    schema.clone(),
                    next.clone(),
                );
                let total = args.pages;
                tasks.spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= total {
                            return anyhow::Ok(());
                        }
                        let page = pages[i % pages.len()].data.clone();
                        runtime
                            .extract(&plugin, page, schema.clone(), "{}".into(), None)
                            .await?;
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            anyhow::Ok(args.pages as f64 / t.elapsed().as_secs_f64())
        })?;
        rates.push(rate);
    }
    report.push_str(&format!(
        "| pooling allocator on | {:.0} | 1.00× |\n",
        rates[0]
    ));
    report.push_str(&format!(
        "| pooling allocator off | {:.0} | {:.2}× |\n",
        rates[1],
        rates[1] / rates[0]
    ));
    Ok(report)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
