//! `GET /metrics`: what this host recorded, in Prometheus text format, and the gauges of
//! the work waiting or going in the shared database, read at scrape time.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorCode};
use crate::db;
use crate::state::AppState;
use crate::telemetry;

/// The media type of Prometheus's text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Metrics in Prometheus text format. No API key: a host that sets `TRAWL_METRICS_TOKEN`
/// asks for `Authorization: Bearer <that token>` instead, and answers 401 `unauthorized`
/// without it (a setting of the operator's, so not listed as an answer). Counters and latency
/// histograms are this host's since it started; `trawl_runs` and `trawl_queue_depth` are
/// read from the database, so every host shows the same.
#[utoipa::path(get, path = "/metrics", tag = "health", security(()),
    responses((status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4")))]
async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some(token) = &state.config.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            });
        // Digests compared, not the texts: how long the comparison takes says nothing
        // about how much of the token was right.
        let matches =
            sent.is_some_and(|s| Sha256::digest(s.trim()) == Sha256::digest(token.as_bytes()));
        if !matches {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "send the metrics token: Authorization: Bearer <token>",
            ));
        }
    }
    let depths = db::queues::depths(&state.pool).await?;
    let mut text = telemetry::render();
    gauges(&mut text, depths);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}

/// Append the database gauges to the rendered text.
fn gauges(text: &mut String, d: db::queues::Depths) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    gauge(
        text,
        (telemetry::RUNS, "state"),
        "Runs queued or running now, in the shared database.",
        &[("queued", d.runs_queued), ("running", d.runs_running)],
    );
    gauge(
        text,
        (telemetry::QUEUE_DEPTH, "queue"),
        "Work waiting now: queued runs, queued exports, pending webhook deliveries.",
        &[
            ("runs", d.runs_queued),
            ("exports", d.exports_queued),
            ("webhooks", d.webhooks_pending),
        ],
    );
}

/// One gauge family: its help and type, then a sample per value of its one label.
fn gauge(text: &mut String, (name, label): (&str, &str), help: &str, samples: &[(&str, i64)]) {
    // Writing to a String does not fail.
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (value, n) in samples {
        let _ = writeln!(text, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each gauge family has its help and type, then one sample per label value.
    #[test]
    fn gauges_are_prometheus_text() {
        let mut text = String::from("# TYPE x counter\nx 1");
        gauges(
            &mut text,
            db::queues::Depths {
                runs_queued: 3,
                runs_running: 1,
                exports_queued: 2,
                webhooks_pending: 0,
            },
        );
        assert_eq!(
            text,
            "# TYPE x counter\nx 1\n\
             # HELP trawl_runs Runs queued or running now, in the shared database.\n\
             # TYPE trawl_runs gauge\n\
             trawl_runs{state=\"queued\"} 3\n\
             trawl_runs{state=\"running\"} 1\n\
             # HELP trawl_queue_depth Work waiting now: queued runs, queued exports, pending webhook deliveries.\n\
             # TYPE trawl_queue_depth gauge\n\
             trawl_queue_depth{queue=\"runs\"} 3\n\
             trawl_queue_depth{queue=\"exports\"} 2\n\
             trawl_queue_depth{queue=\"webhooks\"} 0\n"
        );
    }
}
