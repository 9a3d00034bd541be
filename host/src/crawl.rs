//! Fetching pages: one shared HTTP client with a body-size cap, charset decoding and the
//! SSRF guard of [`crate::net`]; and, per run, a [`Session`] that adds politeness (per-host
//! concurrency and delay, robots.txt) and retries with backoff.
//!
//! # Layout
//! - [`fetch`]: one request, the shared [`Fetcher`], and why a fetch failed.
//! - [`session`]: a run's visits: robots.txt, a turn at the host, retries; its cookie
//!   jar, headers, method and body, and proxies.
//! - [`login`]: a login form sent before a run's start URLs.
//! - [`sitemap`]: a run's pages discovered from sitemaps.
//! - [`render`]: `browser` pages, rendered in headless Chromium on the run's network.
//! - [`charset`]: bodies to text.
//! - [`politeness`]: the per-host limiter of a run.
//! - [`robots`]: the robots.txt cache.
//! - [`frontier`]: URL normalisation and the crawl link filter.

pub mod charset;
pub mod fetch;
pub mod frontier;
pub mod login;
pub mod politeness;
pub mod render;
pub mod robots;
pub mod session;
pub mod sitemap;

pub use charset::{decode, decode_owned};
pub use fetch::{Accept, Client, FetchError, Fetched, Fetcher, Raw, RequestOptions};
pub use session::{Session, Visit, VisitResult};
