//! trawl's host: the HTTP API, the plugin runtime, the crawler and the workers.
//!
//! # Layout
//! Floors, from the bottom: a module uses only modules on its floor's left or below it,
//! never above (`tests/tests/layering.rs` fails on any import circle).
//!
//! - Types: [`ids`] (typed row ids), [`model`] (the enums of states, triggers, scopes,
//!   modes, roles and plugin kinds; the job specification; the price list and the
//!   arithmetic of charges), [`config`] (flags and
//!   `TRAWL_*` variables, each default said once).
//! - The database, the sandbox, the network: [`db`] (the pool, migrations, the embedded
//!   PostgreSQL, one query module per table), [`runtime`] (wasmtime behind a narrow
//!   facade: loading plugins and calling them under limits), [`net`] (every outbound
//!   request's safety: the SSRF guard, backoff, the guarded client), [`validate`] (JSON
//!   Schema checks, canonical JSON, content hashes), [`keys`] (API keys and the first
//!   admin). Beside them [`telemetry`] (metric names and the functions that record
//!   them): it uses nothing of trawl's but the model's enums, so every floor may record.
//!   And [`rate_limit`] (the API's request rate per key, counted in this host's memory),
//!   [`key_use`] (when this host last wrote down each key's use).
//! - Outbound work: [`crawl`] (one request, a run's session with politeness, robots.txt and
//!   retries; charsets; URL normalisation), [`storage`] (export files and signed links),
//!   [`bundled`] (the plugins compiled into the binary, registered at start-up).
//! - What the services share: [`state`] (pool, runtime, fetcher, storage, plugin cache),
//!   [`quotas`] (users' quotas in effect, and the checks against them).
//! - Services: [`worker`] (claims queued runs and exports and carries them out),
//!   [`scheduler`] (queues the runs of due job schedules, once per occurrence),
//!   [`retention`] (prunes the pages, logs and results of old runs), [`preview`] (a
//!   schema tried on pages as a run would, nothing stored).
//! - Services: [`webhooks`] (sends the outbox's deliveries, signed, retried, through the
//!   SSRF guard).
//! - The API: [`http`] (the `/v1` routes, one file per resource; every error code; the
//!   OpenAPI document; the console's embedded assets at `/`).
//! - Wiring: [`server`] (`trawl serve`: the services under one stop signal), [`cli`]
//!   (`trawl plugin …`, the plugin author's tools).

pub mod bundled;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod db;
pub mod http;
pub mod ids;
pub mod key_use;
pub mod keys;
pub mod model;
pub mod net;
pub mod preview;
pub mod quotas;
pub mod rate_limit;
pub mod retention;
pub mod runtime;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod validate;
pub mod webhooks;
pub mod worker;

pub use config::Config;
pub use server::run;
pub use state::AppState;
