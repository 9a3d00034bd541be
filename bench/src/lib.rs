//! Benchmarks for trawl, as a library so that the pieces can be tested; `main.rs` only
//! parses the command line.
//!
//! # Layout
//! - [`corpus`]: the books.toscrape.com pages, read from the Scrapy benchmark tarball.
//! - [`native`]: the listing fields extracted in plain Rust, the baseline for the plugin.
//! - [`stats`]: medians and percentiles of timing samples.
//! - [`extract`]: `trawl-bench extract`: css-extractor through the host versus native.

pub mod corpus;
pub mod extract;
pub mod native;
pub mod stats;
