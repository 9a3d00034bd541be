//! `trawl-bench extract`: css-extractor run through the host on the corpus pages versus
//! the same fields extracted natively ([`crate::native`]), in one process.
//!
//! Every page is first extracted both ways and the items compared, so the two sides are
//! known to do the same job. Then each round visits every page and times, back to back:
//! the plugin call and the native extraction (their order alternating from one visit to
//! the next, so both see the same noise), html5ever's parse alone (the floor both share)
//! and a bare instantiation; after the rounds, as many instantiations back to back.
//! Figures are order statistics over all the samples of a series (pages × rounds); the
//! per-page ratio is the median over pages of each page's median plugin time divided by
//! its median native time.
//!
//! The plugin is timed two ways. On this thread through `Runtime::extract_blocking`, as
//! native runs: fresh store and instance, the page resource, the host's parse and queries,
//! the guest, the output checks and parsing the items into values, and the teardown — the
//! ratio is taken on this one. And through the async `Runtime::extract` (driven by
//! `block_on` from this thread), which adds a permit, a `spawn_blocking` hop each way and
//! the outer timeout: what an async caller pays on top, reported beside it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{LoadedPlugin, Runtime};

use crate::corpus::{self, Page};
use crate::native::{LISTING_SCHEMA, Listing};
use crate::stats::{median, median_f64, percentile};

/// The targets: the plugin within this factor of native, per page…
pub const TARGET_RATIO: f64 = 1.10;
/// …and a fresh instantiation under this, median.
pub const TARGET_INSTANTIATE: Duration = Duration::from_micros(20);

/// Options of `trawl-bench extract`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The Scrapy benchmark's books tarball; by default
    /// ../shared/corpora/scrapy-bench/bookfiles.tar.gz beside the repository.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Measured rounds; each round visits every page once.
    #[arg(long, default_value_t = 30)]
    pub iterations: usize,
    /// Unmeasured rounds first, to warm caches, the allocator and the blocking pool.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
}

impl Args {
    fn corpus_path(&self) -> PathBuf {
        self.corpus.clone().unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/corpora/scrapy-bench/bookfiles.tar.gz"
            ))
        })
    }
}

const BACK_TO_BACK: &str = "fresh Store + instance, back to back";

/// What is timed; one series of samples each, indexed by discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Series {
    Native,
    Plugin,
    PluginAsync,
    Parse,
    Instantiate,
}

impl Series {
    /// In discriminant order.
    const ALL: [Series; 5] = [
        Series::Native,
        Series::Plugin,
        Series::PluginAsync,
        Series::Parse,
        Series::Instantiate,
    ];

    fn label(self) -> &'static str {
        match self {
            Series::Native => "native Rust (scraper + url + serde_json)",
            Series::Plugin => "css-extractor through the host, on this thread (`extract_blocking`)",
            Series::PluginAsync => {
                "css-extractor through async `Runtime::extract` (permit + hop each way)"
            }
            Series::Parse => "html5ever parse alone (`Html::parse_document`)",
            Series::Instantiate => "fresh Store + instance (`Runtime::instantiate`), interleaved",
        }
    }
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was timed.
    pub label: &'static str,
    /// Median over all samples.
    pub median: Duration,
    /// 90th percentile over all samples.
    pub p90: Duration,
    /// Median divided by the native median.
    pub vs_native: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Pages in the corpus.
    pub pages: usize,
    /// Items extracted over the corpus (identical both ways).
    pub items: usize,
    /// Measured rounds over the corpus.
    pub iterations: usize,
    /// One row per series, native first, then back-to-back instantiation.
    pub rows: Vec<Row>,
    /// Median over pages of (page's median plugin time / page's median native time).
    pub page_ratio: f64,
    /// Median over calls of the host's own `ExtractOutput::elapsed` on this thread (the
    /// plugin row minus the caller's side: building the call, dropping the output).
    pub elapsed: Duration,
    /// Fuel one extract call burns: median, least and most over the pages.
    pub fuel: (u64, u64, u64),
    /// CPUs this process could use.
    pub cpus: usize,
}

impl Report {
    fn row(&self, series: Series) -> &Row {
        &self.rows[series as usize]
    }

    /// Plugin median (on this thread) over native median.
    pub fn ratio(&self) -> f64 {
        self.row(Series::Plugin).vs_native
    }

    /// Median of a fresh instantiation interleaved with the extractions, and back to back.
    pub fn instantiate(&self) -> (Duration, Duration) {
        let back_to_back = self
            .rows
            .last()
            .expect("the back-to-back row is always pushed");
        (self.row(Series::Instantiate).median, back_to_back.median)
    }
}

/// Run the benchmark. `tokio` drives the async `Runtime::extract` from this thread, as a
/// caller's task would; native code runs on this thread too.
pub fn run(args: &Args, tokio: &tokio::runtime::Runtime) -> anyhow::Result<Report> {
    let pages = corpus::load(&args.corpus_path())?;
    let runtime = Runtime::new(PluginLimits::default())?;
    let plugin = runtime.load(trawl_host::bundled::components::CSS_EXTRACTOR)?;
    let bench = Bench {
        runtime,
        plugin,
        listing: Listing::default(),
        schema: LISTING_SCHEMA.into(),
        tokio,
    };

    let (items, fuel) = bench.verify(&pages)?;
    // Series → page → samples.
    let mut samples =
        vec![vec![Vec::with_capacity(args.iterations); pages.len()]; Series::ALL.len()];
    let mut elapsed = Vec::with_capacity(pages.len() * args.iterations);
    for round in 0..args.warmup + args.iterations {
        for (index, page) in pages.iter().enumerate() {
            let (timed, host_elapsed) = bench.visit(page, (round + index) % 2 == 0)?;
            if round >= args.warmup {
                for (series, sample) in samples.iter_mut().zip(timed) {
                    series[index].push(sample);
                }
                elapsed.push(host_elapsed);
            }
        }
    }

    // The interleaved instantiations above follow a page parse, which leaves the caches cold
    // for wasmtime; these show the cost with warm caches, as in a burst of small calls.
    let back_to_back: Vec<Duration> = (0..pages.len() * args.iterations)
        .map(|_| {
            let started = Instant::now();
            bench.runtime.instantiate(&bench.plugin)?;
            Ok(started.elapsed())
        })
        .collect::<anyhow::Result<_>>()?;

    let all = |series: Series| samples[series as usize].concat();
    let native = median(&all(Series::Native));
    let row = |label, samples: &[Duration]| {
        let median = median(samples);
        Row {
            label,
            median,
            p90: percentile(samples, 90),
            vs_native: ratio(median, native),
        }
    };
    let mut rows: Vec<Row> = Series::ALL
        .into_iter()
        .map(|series| row(series.label(), &all(series)))
        .collect();
    rows.push(row(BACK_TO_BACK, &back_to_back));
    let page_ratios: Vec<f64> = samples[Series::Plugin as usize]
        .iter()
        .zip(&samples[Series::Native as usize])
        .map(|(plugin, native)| ratio(median(plugin), median(native)))
        .collect();
    let fuel_f64: Vec<f64> = fuel.iter().map(|&f| f as f64).collect();
    Ok(Report {
        pages: pages.len(),
        items,
        iterations: args.iterations,
        rows,
        page_ratio: median_f64(&page_ratios),
        elapsed: median(&elapsed),
        fuel: (
            median_f64(&fuel_f64) as u64,
            fuel.iter().copied().min().unwrap_or(0),
            fuel.iter().copied().max().unwrap_or(0),
        ),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

struct Bench<'a> {
    runtime: Arc<Runtime>,
    plugin: Arc<LoadedPlugin>,
    listing: Listing,
    schema: Arc<str>,
    tokio: &'a tokio::runtime::Runtime,
}

impl Bench<'_> {
    fn plugin(&self, page: &Page) -> anyhow::Result<trawl_host::runtime::ExtractOutput> {
        self.runtime
            .extract_blocking(
                &self.plugin,
                page.data.clone(),
                &self.schema,
                "{}",
                None,
                self.runtime.default_call_limits(),
            )
            .with_context(|| format!("css-extractor on {}", page.name))
    }

    fn plugin_async(&self, page: &Page) -> anyhow::Result<trawl_host::runtime::ExtractOutput> {
        let call = self.runtime.extract(
            &self.plugin,
            page.data.clone(),
            self.schema.clone(),
            "{}".into(),
            None,
        );
        self.tokio
            .block_on(call)
            .with_context(|| format!("css-extractor on {}", page.name))
    }

    /// Extract every page both ways and insist on the same items; the items counted and
    /// the fuel of each page.
    fn verify(&self, pages: &[Page]) -> anyhow::Result<(usize, Vec<u64>)> {
        let mut items = 0;
        let mut fuel = Vec::with_capacity(pages.len());
        for page in pages {
            let out = self.plugin(page)?;
            let via_async = self.plugin_async(page)?;
            anyhow::ensure!(
                via_async.items == out.items,
                "{}: the async entry point gave other items",
                page.name
            );
            let native = self.listing.extract(&page.data);
            let plugin: Vec<&Value> = out.items.iter().map(|i| &i.value).collect();
            anyhow::ensure!(
                plugin.iter().copied().eq(&native),
                "{}: css-extractor and native disagree\nplugin: {plugin:?}\nnative: {native:?}",
                page.name
            );
            anyhow::ensure!(
                out.items.iter().all(|i| i.confidence == Some(1.0)),
                "{}: an item lacks a required field",
                page.name
            );
            items += native.len();
            fuel.push(out.fuel);
        }
        anyhow::ensure!(
            items > 0,
            "no product pods in the corpus: nothing would be measured"
        );
        Ok((items, fuel))
    }

    /// One visit of a page: a sample for each [`Series`], in [`Series::ALL`] order, and the
    /// host's own `elapsed` of the call on this thread.
    fn visit(
        &self,
        page: &Page,
        plugin_first: bool,
    ) -> anyhow::Result<([Duration; Series::ALL.len()], Duration)> {
        let native = || {
            let started = Instant::now();
            std::hint::black_box(self.listing.extract(&page.data));
            started.elapsed()
        };
        // Wall time, and the host's own measure of the call.
        let plugin = || -> anyhow::Result<(Duration, Duration)> {
            let started = Instant::now();
            let out = self.plugin(page)?;
            let elapsed = out.elapsed;
            drop(out);
            Ok((started.elapsed(), elapsed))
        };
        let (native, plugin) = if plugin_first {
            let plugin = plugin()?;
            (native(), plugin)
        } else {
            let native = native();
            (native, plugin()?)
        };
        let started = Instant::now();
        drop(self.plugin_async(page)?);
        let plugin_async = started.elapsed();
        let started = Instant::now();
        std::hint::black_box(scraper::Html::parse_document(&page.data.body));
        let parse = started.elapsed();
        let started = Instant::now();
        self.runtime.instantiate(&self.plugin)?;
        let instantiate = started.elapsed();
        Ok((
            [native, plugin.0, plugin_async, parse, instantiate],
            plugin.1,
        ))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} pages, {} items, {} measured rounds ({} samples per row), {} CPUs\n",
            self.pages,
            self.items,
            self.iterations,
            self.pages * self.iterations,
            self.cpus
        )?;
        writeln!(f, "| per page | median | p90 | median ÷ native median |")?;
        writeln!(f, "|---|--:|--:|--:|")?;
        for row in &self.rows {
            writeln!(
                f,
                "| {} | {} | {} | {:.2}× |",
                row.label,
                micros(row.median),
                micros(row.p90),
                row.vs_native
            )?;
        }
        let (fuel, least, most) = self.fuel;
        writeln!(
            f,
            "\nplugin ÷ native, median over pages of per-page median ratios: {:.2}×",
            self.page_ratio
        )?;
        writeln!(
            f,
            "host's own `elapsed` of the call on this thread, median: {}",
            micros(self.elapsed)
        )?;
        writeln!(
            f,
            "fuel per extract call: median {fuel}, range {least}–{most}"
        )?;
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        writeln!(
            f,
            "target plugin ≤ {TARGET_RATIO}× native: {:.2}× — {}",
            self.ratio(),
            verdict(self.ratio() <= TARGET_RATIO)
        )?;
        let (interleaved, back_to_back) = self.instantiate();
        write!(
            f,
            "target instantiation < {} median: interleaved {} — {}; back to back {} — {}",
            micros(TARGET_INSTANTIATE),
            micros(interleaved),
            verdict(interleaved < TARGET_INSTANTIATE),
            micros(back_to_back),
            verdict(back_to_back < TARGET_INSTANTIATE)
        )
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
