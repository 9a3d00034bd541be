//! The API's request rate per key, as answers: the authenticating extractors count each
//! request against its key's bucket (`charge`), and a layer around the routes adds what
//! they decided to the response, whatever the handler answered: `RateLimit-Limit` and
//! `RateLimit-Remaining` (also as `X-RateLimit-*`) on every authenticated response, and
//! `Retry-After` on a 429. Requests without a key (health, metrics, the document,
//! download links) are never counted.

use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::error::{ApiError, ErrorCode};
use crate::db::api_keys::Authenticated;
use crate::rate_limit::{Decision, Rate};
use crate::state::AppState;

/// Where an extractor leaves its decision for the layer to answer with. A request is
/// counted once: the first decision stays.
#[derive(Debug, Clone, Default)]
struct Slot(Arc<OnceLock<Decision>>);

/// The layer: gives each request a [`Slot`], then writes its decision into the response.
pub(super) async fn headers(mut request: Request, next: Next) -> Response {
    let slot = Slot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(decision) = slot.0.get() {
        let (limit, remaining, retry) = match *decision {
            Decision::Allowed { limit, remaining } => (limit, remaining, None),
            Decision::Limited {
                limit,
                retry_after_secs,
            } => (limit, 0, Some(retry_after_secs)),
        };
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: u64| {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        };
        set("ratelimit-limit", limit.into());
        set("ratelimit-remaining", remaining.into());
        set("x-ratelimit-limit", limit.into());
        set("x-ratelimit-remaining", remaining.into());
        if let Some(secs) = retry {
            set("retry-after", secs);
        }
    }
    response
}

/// Count one request of an authenticated key: `rate_limited` (429) when its bucket is
/// empty. The rate is the key holder's override, or else the host's.
pub(super) fn charge(parts: &Parts, state: &AppState, who: &Authenticated) -> Result<(), ApiError> {
    let quotas = &state.config.quotas;
    let rate = Rate::new(
        who.rate_limit
            .map_or(i64::from(quotas.rate_limit), i64::from),
        who.rate_burst
            .map_or(i64::from(quotas.rate_burst), i64::from),
    );
    let Some(decision) = state.rate_limits.check(who.key, rate) else {
        return Ok(());
    };
    if let Some(slot) = parts.extensions.get::<Slot>() {
        let _ = slot.0.set(decision);
    }
    match decision {
        Decision::Allowed { .. } => Ok(()),
        Decision::Limited {
            retry_after_secs, ..
        } => Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many requests with this API key: retry in {retry_after_secs}s (an admin can raise your `rate_limit` quota)"
            ),
        )),
    }
}
