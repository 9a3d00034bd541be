//! `trawl-bench autoextract`: the selector-free extractors (`product-extractor`,
//! `article-extractor`) on the annotated corpora: their quality, scored as the corpus
//! README describes ([`trawl_tests::quality`]), and their cost per page against
//! css-extractor on the same pages, in one process.
//!
//! Each round visits every page and times, back to back: the host's parse alone, the
//! parse plus the flat tree a 0.2.0 plugin asks for (`Document::tree`, the host's side of
//! `page.tree`), the extractor's whole call through `Runtime::extract_blocking`, and
//! css-extractor's call with a five-selector schema of the kind users write for one page.
//! Figures are medians over pages of each page's median; ratios are per page, then the
//! median over pages.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{CallLimits, LoadedPlugin, PageData, Runtime};
use trawl_tests::quality::{self, AnnotatedPage};

use crate::stats::{median, median_f64};

/// Options of `trawl-bench autoextract`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// A folder of product pages (`ground-truth.json`, `html/<key>.html.gz`); by default
    /// the repository's `tests/corpora/product-pages`.
    #[arg(long)]
    pub products: Option<PathBuf>,
    /// A folder of article pages of the same layout; by default
    /// `tests/corpora/article-pages`.
    #[arg(long)]
    pub articles: Option<PathBuf>,
    /// Measured rounds; each visits every page once.
    #[arg(long, default_value_t = 5)]
    pub iterations: usize,
    /// Unmeasured rounds first.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Print each field's misses (key, expected, got).
    #[arg(long)]
    pub misses: bool,
}

/// What css-extractor reads on every page: what a user writes for one product or article.
const CSS_SCHEMA: &str = r#"{"type": "object", "properties": {
    "title": {"type": "string", "x-selector": "h1"},
    "price": {"type": "string", "x-selector": "[itemprop=price], .price"},
    "image": {"type": "string", "x-selector": "meta[property='og:image']", "x-attr": "content"},
    "description": {"type": "string", "x-selector": "meta[name=description]", "x-attr": "content"},
    "paragraphs": {"type": "array", "items": {"type": "string"}, "x-selector": "article p"}
}}"#;

struct Corpus {
    name: &'static str,
    plugin: Arc<LoadedPlugin>,
    schema: String,
    pages: Vec<AnnotatedPage>,
}

/// Run the benchmark; returns the report as Markdown.
pub fn run(args: &Args) -> anyhow::Result<String> {
    let runtime = Runtime::new(PluginLimits::default())?;
    let limits = CallLimits::from(&PluginLimits::default());
    let css = runtime.load(trawl_host::bundled::components::CSS_EXTRACTOR)?;
    let corpora = [
        Corpus {
            name: "product-extractor",
            plugin: runtime.load(trawl_host::bundled::components::PRODUCT_EXTRACTOR)?,
            schema: quality::product_schema().to_string(),
            pages: quality::load(
                &args
                    .products
                    .clone()
                    .unwrap_or_else(|| quality::corpus_dir("product-pages")),
            )?,
        },
        Corpus {
            name: "article-extractor",
            plugin: runtime.load(trawl_host::bundled::components::ARTICLE_EXTRACTOR)?,
            schema: quality::article_schema().to_string(),
            pages: quality::load(
                &args
                    .articles
                    .clone()
                    .unwrap_or_else(|| quality::corpus_dir("article-pages")),
            )?,
        },
    ];
    let mut out = String::new();
    writeln!(
        out,
        "{} CPUs; {} measured rounds after {} warm-up; medians over pages of each page's median.\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.iterations,
        args.warmup
    )?;
    for corpus in &corpora {
        let data: Vec<Arc<PageData>> = corpus
            .pages
            .iter()
            .map(|p| {
                Arc::new(PageData {
                    url: p.url.clone(),
                    status: 200,
                    headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                    body: p.html.clone(),
                })
            })
            .collect();
        // Quality, from one call per page.
        let mut items: Vec<Option<Value>> = Vec::with_capacity(data.len());
        let mut fuel = Vec::with_capacity(data.len());
        let mut failed = Vec::new();
        for (page, d) in corpus.pages.iter().zip(&data) {
            match runtime.extract_blocking(
                &corpus.plugin,
                d.clone(),
                &corpus.schema,
                "{}",
                None,
                &limits,
            ) {
                Ok(output) => {
                    fuel.push(output.fuel as f64);
                    items.push(output.items.into_iter().next().map(|i| i.value));
                }
                Err(e) => {
                    failed.push(format!("{}: {e}", page.key));
                    items.push(None);
                }
            }
        }
        let scored: Vec<(&AnnotatedPage, Option<&Value>)> = corpus
            .pages
            .iter()
            .zip(items.iter().map(Option::as_ref))
            .collect();
        writeln!(out, "## {} on {} pages\n", corpus.name, corpus.pages.len())?;
        if corpus.name == "product-extractor" {
            let scores = quality::score_products(&scored);
            writeln!(out, "{scores}")?;
            if args.misses {
                for field in quality::PRODUCT_FIELDS {
                    for (key, want, got) in scores.misses.get(*field).into_iter().flatten() {
                        writeln!(out, "- {field} {key}: want {want}, got {got}")?;
                    }
                }
            }
        } else {
            let scores = quality::score_articles(&scored, "body");
            writeln!(out, "{scores}")?;
            if args.misses {
                for (key, f1) in scores.pages.iter().take(15) {
                    writeln!(out, "- {key}: F1 {f1:.3}")?;
                }
            }
        }
        for failure in &failed {
            writeln!(out, "- failed: {failure}")?;
        }

        // Cost.
        let mut parse = vec![Vec::new(); data.len()];
        let mut tree = vec![Vec::new(); data.len()];
        let mut ours = vec![Vec::new(); data.len()];
        let mut theirs = vec![Vec::new(); data.len()];
        let mut entries = Vec::with_capacity(data.len());
        let dom_limits = trawl_dom::Limits::default();
        let none = trawl_dom::Deadline::NONE;
        for round in 0..args.warmup + args.iterations {
            for (i, d) in data.iter().enumerate() {
                let started = Instant::now();
                let doc = trawl_dom::Document::parse(&d.body, &d.url, &dom_limits, &none)?;
                let parsed = started.elapsed();
                drop(doc);
                let started = Instant::now();
                let mut doc = trawl_dom::Document::parse(&d.body, &d.url, &dom_limits, &none)?;
                let flat = doc.tree(&dom_limits, &none)?;
                let with_tree = started.elapsed();
                if round == 0 {
                    entries.push(flat.len() as f64);
                }
                drop((flat, doc));
                let started = Instant::now();
                let _ = runtime.extract_blocking(
                    &corpus.plugin,
                    d.clone(),
                    &corpus.schema,
                    "{}",
                    None,
                    &limits,
                );
                let own = started.elapsed();
                let started = Instant::now();
                let _ = runtime.extract_blocking(&css, d.clone(), CSS_SCHEMA, "{}", None, &limits);
                let css_time = started.elapsed();
                if round >= args.warmup {
                    parse[i].push(parsed);
                    tree[i].push(with_tree);
                    ours[i].push(own);
                    theirs[i].push(css_time);
                }
            }
        }
        let per_page =
            |s: &[Vec<Duration>]| -> Vec<Duration> { s.iter().map(|v| median(v)).collect() };
        let (parse, tree, ours, theirs) = (
            per_page(&parse),
            per_page(&tree),
            per_page(&ours),
            per_page(&theirs),
        );
        let ratio = |a: &[Duration], b: &[Duration]| {
            let r: Vec<f64> = a
                .iter()
                .zip(b)
                .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64().max(1e-9))
                .collect();
            median_f64(&r)
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(out, "| per page | median | vs css-extractor |")?;
        writeln!(out, "|---|---|---|")?;
        writeln!(
            out,
            "| host parse alone (html5ever) | {:.2} ms | {:.2}× |",
            ms(median(&parse)),
            ratio(&parse, &theirs)
        )?;
        writeln!(
            out,
            "| host parse + flat tree (`page.tree`, host side) | {:.2} ms | {:.2}× |",
            ms(median(&tree)),
            ratio(&tree, &theirs)
        )?;
        writeln!(
            out,
            "| {} call (tree, guest, items) | {:.2} ms | {:.2}× |",
            corpus.name,
            ms(median(&ours)),
            ratio(&ours, &theirs)
        )?;
        writeln!(
            out,
            "| css-extractor call, 5 selectors | {:.2} ms | 1.00× |",
            ms(median(&theirs))
        )?;
        writeln!(
            out,
            "\nTree entries per page: median {:.0}, most {:.0}. Fuel per call: median {:.0}, most {:.0} (limit {}).\n",
            median_f64(&entries),
            entries.iter().copied().fold(0.0, f64::max),
            median_f64(&fuel),
            fuel.iter().copied().fold(0.0, f64::max),
            PluginLimits::default().fuel
        )?;
    }
    Ok(out)
}
