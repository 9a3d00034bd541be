//! trawl's host: the HTTP API, the plugin runtime, the crawler and the workers.
//!
//! # Layout
//! - [`config`]: flags and `TRAWL_*` variables of `trawl serve`.
//! - [`ids`]: typed row ids.
//! - [`db`]: the pool, migrations, the embedded PostgreSQL and one query module per table.
//! - [`runtime`]: wasmtime behind a narrow facade: loading plugins and calling them under limits.
//! - [`cli`]: `trawl plugin …`, the plugin author's tools (new, check, run, upload).
//! - [`bundled`]: the plugins compiled into the binary and registered at start-up.
//! - [`net`]: every outbound request's safety: the SSRF guard, backoff, the guarded client.
//! - [`crawl`]: fetching pages: the shared HTTP client, body caps, charsets, per-host
//!   politeness, robots.txt, retries, URL normalisation.
//! - [`validate`]: JSON Schema checks, canonical JSON and content hashes.
//! - [`worker`]: claims queued runs and exports and carries them out.
//! - [`storage`]: export files on disk and the signed links that download them.
//! - [`http`]: the `/v1` API, its errors, authentication and OpenAPI document.
//! - [`server`]: wires everything together: [`server::run`] is `trawl serve`.

pub mod bundled;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod db;
pub mod http;
pub mod ids;
pub mod keys;
pub mod model;
pub mod net;
pub mod runtime;
pub mod server;
pub mod state;
pub mod storage;
pub mod validate;
pub mod worker;

pub use config::Config;
pub use server::run;
pub use state::AppState;
