//! `trawl-bench ceiling DIR`: the parse-only ceiling of a crawl of the pages under `DIR`.
//!
//! Every `.html` file under the directory is read into memory first; then, on as many
//! threads as the machine has CPUs (or `--threads`), each page is parsed into the DOM the
//! host builds for plugins (`trawl_dom::Document::parse` under the default limits) and
//! dropped, nothing else: no fetching, no extraction, no storing. Pages per second over
//! the wall clock of a round is what a crawler that did nothing but parse could reach on
//! these pages and cores; the crawl benchmark reports trawl's pages per second against it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;

use crate::stats::median_f64;

/// Options of `trawl-bench ceiling`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The site's directory (as `bench/crawl/gen_site.py` writes it).
    pub site: PathBuf,
    /// Parsing threads; by default the machine's CPUs.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Measured rounds over every page; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Print one JSON object (for the crawl script) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What the rounds measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    pub pages: usize,
    pub bytes: usize,
    pub threads: usize,
    /// Pages per second of each round.
    pub rounds: Vec<f64>,
}

impl Ceiling {
    pub fn median(&self) -> f64 {
        median_f64(&self.rounds)
    }
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            html_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parse every page of `pages` once on `threads` threads; the wall-clock seconds.
pub fn round(pages: &[(String, String)], threads: usize) -> anyhow::Result<f64> {
    let next = AtomicUsize::new(0);
    let limits = trawl_dom::Limits::default();
    let start = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<usize> {
                    let mut nodes = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((url, body)) = pages.get(i) else {
                            return Ok(nodes);
                        };
                        let doc = trawl_dom::Document::parse(
                            body,
                            url,
                            &limits,
                            &trawl_dom::Deadline::NONE,
                        )
                        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
                        nodes += doc.html().tree.nodes().len();
                    }
                })
            })
            .collect();
        for w in workers {
            let nodes = w
                .join()
                .map_err(|_| anyhow::anyhow!("a parser panicked"))??;
            std::hint::black_box(nodes);
        }
        anyhow::Ok(())
    })?;
    Ok(start.elapsed().as_secs_f64())
}

pub fn measure(args: &Args) -> anyhow::Result<Ceiling> {
    let mut files = Vec::new();
    html_files(&args.site, &mut files)?;
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "no .html files under {}",
        args.site.display()
    );
    let pages = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&args.site).unwrap_or(p);
            let url = format!("http://127.0.0.1/{}", rel.to_string_lossy());
            Ok((url, std::fs::read_to_string(p)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // One unmeasured round warms the allocator and the page cache of the strings.
    round(&pages, threads)?;
    let rounds = (0..args.rounds.max(1))
        .map(|_| round(&pages, threads).map(|secs| pages.len() as f64 / secs))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Ceiling {
        pages: pages.len(),
        bytes: pages.iter().map(|(_, b)| b.len()).sum(),
        threads,
        rounds,
    })
}

pub fn run(args: &Args) -> anyhow::Result<String> {
    let c = measure(args)?;
    if args.json {
        return Ok(serde_json::json!({
            "pages": c.pages,
            "bytes": c.bytes,
            "threads": c.threads,
            "rounds": c.rounds,
            "pages_per_second": c.median(),
        })
        .to_string());
    }
    Ok(format!(
        "parse-only ceiling: {} pages ({:.0} MB), {} threads, {} rounds: median {:.0} pages/s (rounds: {})",
        c.pages,
        c.bytes as f64 / 1e6,
        c.threads,
        c.rounds.len(),
        c.median(),
        c.rounds
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
