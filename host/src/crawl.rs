//! Fetching pages: one shared HTTP client with a body-size cap, charset decoding and the
//! SSRF guard of [`crate::net`]; and, per run, a [`Session`] that adds politeness (per-host
//! concurrency and delay, robots.txt) and retries with backoff.
//!
//! # Layout
//! - [`fetch`]: one request, the shared [`Fetcher`], and why a fetch failed.
//! - [`session`]: a run's visits: robots.txt, a turn at the host, retries.
//! - [`charset`]: bodies to text.
//! - [`politeness`]: the per-host limiter of a run.
//! - [`robots`]: the robots.txt cache.
//! - [`frontier`]: URL normalisation and the crawl link filter.

pub mod charset;
pub mod fetch;
pub mod frontier;
pub mod politeness;
pub mod robots;
pub mod session;

pub use charset::{decode, decode_owned};
pub use fetch::{Accept, FetchError, Fetched, Fetcher, RequestOptions};
pub use session::{Session, Visit, VisitResult};
