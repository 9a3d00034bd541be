//! Benchmarks for trawl, as a library so that the pieces can be tested; `main.rs` only
//! parses the command line.
//!
//! # Layout
//! - [`api`]: `trawl-bench api-load` and `first-item`: the API's latency under load and the
//!   time to a run's first result, against a running host.
//! - [`ceiling`]: `trawl-bench ceiling`: the parse-only ceiling of a crawl's pages.
//! - [`corpus`]: the books.toscrape.com pages, read from the Scrapy benchmark tarball.
//! - [`native`]: the listing fields extracted in plain Rust, the baseline for the plugin.
//! - [`autoextract`]: `trawl-bench autoextract`: the selector-free extractors' quality on
//!   the annotated corpora and their cost per page against css-extractor.
//! - [`stats`]: medians and percentiles of timing samples.
//! - [`extract`]: `trawl-bench extract`: css-extractor through the host versus native.
//! - [`platform`]: `trawl-bench platform`: per-call overhead, start-up from the compile
//!   cache, throughput with the pooling allocator on and off.

pub mod api;
pub mod autoextract;
pub mod ceiling;
pub mod corpus;
pub mod extract;
pub mod native;
pub mod platform;
pub mod stats;
