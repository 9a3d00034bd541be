//! Metrics: every metric's name in one place, and small typed functions the rest of the
//! host calls to record what happened. One Prometheus recorder per process, installed on
//! first use and rendered by `GET /metrics` (which adds the gauges it reads from the
//! database at scrape time).
//!
//! Label values come from bounded sets only: states, outcomes and the stable snake_case
//! error codes. A code that is not plain snake_case of at most 40 characters is counted
//! as `other`, so nothing a user controls (a URL, a plugin's message) can grow the number
//! of series without bound.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::model::{PageState, RunStatus};

/// Pages whose visit ended, by `outcome` (the page state) and `code` (why; `none`).
pub const PAGES: &str = "trawl_pages_total";
/// HTTP requests sent (robots.txt included), by `outcome`: `ok` or the fetch error code.
pub const FETCH_REQUESTS: &str = "trawl_fetch_requests_total";
/// Time of one HTTP request, to the last byte of the body or to the error.
pub const FETCH_SECONDS: &str = "trawl_fetch_duration_seconds";
/// Time of one extract call, the host's work for the plugin (parse, queries) included.
pub const EXTRACT_SECONDS: &str = "trawl_extract_duration_seconds";
/// Items extracted, by `outcome`: `new`, `duplicate`, `invalid`, `empty`.
pub const ITEMS: &str = "trawl_items_total";
/// Failed plugin calls, by `code` (`plugin_error`, `plugin_timeout`, …).
pub const PLUGIN_ERRORS: &str = "trawl_plugin_errors_total";
/// Runs resumed by a host after another host's lease on them lapsed.
pub const LEASE_TAKEOVERS: &str = "trawl_lease_takeovers_total";
/// Runs that ended, by `status`.
pub const RUNS_ENDED: &str = "trawl_runs_ended_total";
/// Webhook delivery attempts, by `outcome`.
pub const WEBHOOK_DELIVERIES: &str = "trawl_webhook_deliveries_total";
/// Schedule occurrences handled, by `outcome`.
pub const SCHEDULER_FIRES: &str = "trawl_scheduler_fires_total";
/// Runs whose pages, logs and results retention removed.
pub const RUNS_PRUNED: &str = "trawl_runs_pruned_total";
/// Runs queued or running now, by `state` (read from the database at scrape time).
pub const RUNS: &str = "trawl_runs";
/// Work waiting now, by `queue`: `runs`, `exports`, `webhooks` (read at scrape time).
pub const QUEUE_DEPTH: &str = "trawl_queue_depth";

/// Upper bounds of the latency histograms' buckets, in seconds: 1 ms to 30 s, roughly
/// ×2.5 apart (a page from a local cache takes a millisecond; a slow site, the fetch
/// timeout's 30 s).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes (a
/// scrape folds them too): without it they pile up in memory.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process's recorder (once: tests start several hosts in one process) and
/// return its handle. `None` when another recorder was installed first; then nothing
/// trawl records is kept, and `/metrics` shows only the database gauges.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = [FETCH_SECONDS, EXTRACT_SECONDS].into_iter().try_fold(
                PrometheusBuilder::new(),
                |builder, name| {
                    builder.set_buckets_for_metric(Matcher::Full(name.into()), LATENCY_BUCKETS)
                },
            );
            let handle = match builder.and_then(|b| b.install_recorder()) {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!("metrics are not recorded: {e}");
                    return None;
                }
            };
            describe();
            let upkeep = handle.clone();
            // A thread, not a task: the recorder lives as long as the process, whatever
            // runtime installed it, and so does this loop.
            let spawned = std::thread::Builder::new()
                .name("trawl-metrics".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!("metrics upkeep did not start (scrapes still fold samples): {e}");
            }
            Some(handle)
        })
        .as_ref()
}

/// The recorded metrics in Prometheus text format (empty without a recorder).
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

fn describe() {
    describe_counter!(
        PAGES,
        Unit::Count,
        "Pages whose visit ended, by outcome and code."
    );
    describe_counter!(
        FETCH_REQUESTS,
        Unit::Count,
        "HTTP requests sent (robots.txt included), by outcome: ok or the fetch error code."
    );
    describe_histogram!(
        FETCH_SECONDS,
        Unit::Seconds,
        "Time of one HTTP request, to the last byte of the body or to the error."
    );
    describe_histogram!(
        EXTRACT_SECONDS,
        Unit::Seconds,
        "Time of one extract call, the host's DOM work for the plugin included."
    );
    describe_counter!(
        ITEMS,
        Unit::Count,
        "Items extracted, by outcome: new, duplicate, invalid, empty."
    );
    describe_counter!(PLUGIN_ERRORS, Unit::Count, "Failed plugin calls, by code.");
    describe_counter!(
        LEASE_TAKEOVERS,
        Unit::Count,
        "Runs resumed after another host's lease on them lapsed."
    );
    describe_counter!(RUNS_ENDED, Unit::Count, "Runs that ended, by status.");
    describe_counter!(
        WEBHOOK_DELIVERIES,
        Unit::Count,
        "Webhook delivery attempts, by outcome."
    );
    describe_counter!(
        SCHEDULER_FIRES,
        Unit::Count,
        "Schedule occurrences handled, by outcome."
    );
    describe_counter!(
        RUNS_PRUNED,
        Unit::Count,
        "Runs whose pages, logs and results retention removed."
    );
}

/// `code` as a label value: itself when it is plain snake_case (a lower-case letter, then
/// lower-case letters, digits and underscores) of at most 40 characters, else `other`.
pub fn code_label(code: &str) -> Cow<'static, str> {
    let plain = code.len() <= 40
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Cow::Owned(code.to_owned())
    } else {
        Cow::Borrowed("other")
    }
}

/// A page's visit ended in `state` (`done`, `failed`, `skipped`), with the stored error
/// code when it has one. Call once per page, where its record is written.
pub fn page(state: PageState, code: Option<&str>) {
    let code = code.map_or(Cow::Borrowed("none"), code_label);
    counter!(PAGES, "outcome" => state.as_str(), "code" => code).increment(1);
}

/// One HTTP request took `elapsed` and ended with `error` (its code), or well.
pub fn fetch(elapsed: Duration, error: Option<&str>) {
    histogram!(FETCH_SECONDS).record(elapsed.as_secs_f64());
    let outcome = error.map_or(Cow::Borrowed("ok"), code_label);
    counter!(FETCH_REQUESTS, "outcome" => outcome).increment(1);
}

/// One extract call took `elapsed`, however it ended.
pub fn extract_seconds(elapsed: Duration) {
    histogram!(EXTRACT_SECONDS).record(elapsed.as_secs_f64());
}

/// A page's items: how many were stored, already stored, invalid, and empty. Call with
/// the same numbers the run's counters get.
pub fn items(new: u64, duplicate: u64, invalid: u64, empty: u64) {
    for (outcome, n) in [
        ("new", new),
        ("duplicate", duplicate),
        ("invalid", invalid),
        ("empty", empty),
    ] {
        if n > 0 {
            counter!(ITEMS, "outcome" => outcome).increment(n);
        }
    }
}

/// A plugin call failed with `code` (`CallError::code`). The runtime calls it for every
/// failed call; nobody else needs to.
pub fn plugin_error(code: &str) {
    counter!(PLUGIN_ERRORS, "code" => code_label(code)).increment(1);
}

/// This host took over a run whose lease another host let lapse.
pub fn lease_takeover() {
    counter!(LEASE_TAKEOVERS).increment(1);
}

/// A run ended in `status` (`succeeded`, `failed`, `cancelled`, `timed_out`). Call once
/// per run, where the ending is stored.
pub fn run_ended(status: RunStatus) {
    counter!(RUNS_ENDED, "status" => status.as_str()).increment(1);
}

/// A webhook delivery attempt ended with `outcome` (`delivered`, `retry`, `failed`, or a
/// snake_case error code).
pub fn webhook_delivery(outcome: &str) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => code_label(outcome)).increment(1);
}

/// The scheduler handled a due occurrence with `outcome` (`queued`, `skipped`, …).
pub fn scheduler_fire(outcome: &str) {
    counter!(SCHEDULER_FIRES, "outcome" => code_label(outcome)).increment(1);
}

/// Retention pruned `runs` runs.
pub fn runs_pruned(runs: u64) {
    counter!(RUNS_PRUNED).increment(runs);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes are kept as they are; anything else a user might control becomes `other`.
    #[test]
    fn unknown_codes_are_other() {
        assert_eq!(code_label("plugin_timeout"), "plugin_timeout");
        assert_eq!(code_label("http_status_5xx"), "http_status_5xx");
        for odd in [
            "",
            "Plugin_Error",
            "https://example.com/",
            "a code",
            "_leading",
            "9lives",
            &"x".repeat(41),
        ] {
            assert_eq!(code_label(odd), "other", "{odd:?}");
        }
    }

    /// What is recorded shows in the rendered text, latency as a histogram with buckets.
    #[test]
    fn records_render_as_prometheus_text() {
        assert!(install().is_some());
        fetch(Duration::from_millis(3), None);
        fetch(Duration::from_millis(3), Some("Not A Code"));
        extract_seconds(Duration::from_millis(2));
        page(PageState::Failed, Some("fetch_timeout"));
        items(2, 1, 0, 0);
        let text = render();
        for line in [
            "# TYPE trawl_fetch_duration_seconds histogram",
            "trawl_fetch_duration_seconds_bucket{le=\"0.005\"}",
            "trawl_extract_duration_seconds_bucket{le=\"30\"}",
            "trawl_fetch_requests_total{outcome=\"other\"}",
            "trawl_pages_total{outcome=\"failed\",code=\"fetch_timeout\"}",
            "trawl_items_total{outcome=\"new\"}",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("Not A Code"));
    }
}
