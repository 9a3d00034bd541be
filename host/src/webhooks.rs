//! The webhook sender: every host claims due deliveries from the outbox (`FOR UPDATE SKIP
//! LOCKED`, under a lease), POSTs each one signed with its job's secret through the SSRF
//! guard, records the attempt, and retries with exponential backoff until the delivery's
//! retry window closes. It wakes on `LISTEN trawl_webhooks` and polls besides, so a lost
//! notification delays a delivery by one poll at most.
//!
//! # What a receiver gets
//! `POST <url>` with the JSON body `{"id", "event", "created_at", "run": {…}}`, the same
//! bytes at every attempt, and the headers `Trawl-Event`, `Trawl-Delivery` (the delivery
//! id, stable across retries and redeliveries: the receiver's dedup key),
//! `Trawl-Timestamp` (unix seconds of this attempt) and `Trawl-Signature: v1=<hex>`, the
//! HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the job's secret exactly as shown
//! (`whsec_…`). Jobs from before webhook secrets have none until it is rotated; their
//! deliveries go unsigned.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::db::{self, webhooks::AttemptRecord, webhooks::Due};
use crate::model::DeliveryState;
use crate::net::{self, Refusal, backoff::Backoff, guard::Guard};
use crate::state::AppState;

/// The channel the outbox trigger and redeliveries announce due deliveries on.
pub const CHANNEL: &str = "trawl_webhooks";

/// How a secret is shown: this prefix, then the 64 hex digits stored.
pub const SECRET_PREFIX: &str = "whsec_";

/// Deliveries claimed at most at once (fewer when fewer send slots are free).
const BATCH: usize = 32;

/// A claim lasts the attempt's timeout and this much more: time to record the attempt.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Bytes of a receiver's answer read at most; the start of it goes into the attempt's
/// error message when the answer is not 2xx.
const ANSWER_BYTES: usize = 4096;

/// Characters of a receiver's answer kept in an error message.
const ANSWER_CHARS: usize = 300;

/// A new signing secret: 32 bytes (from two v4 UUIDs, the OS's randomness, hashed), as
/// the 64 hex digits stored. Show it with [`shown_secret`].
pub fn new_secret() -> String {
    let mut hash = Sha256::new();
    hash.update(uuid::Uuid::new_v4().as_bytes());
    hash.update(uuid::Uuid::new_v4().as_bytes());
    hex::encode(hash.finalize())
}

/// The secret as its owner sees it, which is also the HMAC key: `whsec_<hex>`.
pub fn shown_secret(stored: &str) -> String {
    format!("{SECRET_PREFIX}{stored}")
}

/// `Trawl-Signature` of a body sent at `timestamp`: `v1=` and the hex HMAC-SHA256 of
/// `"<timestamp>.<body>"` keyed with the secret as shown. The version prefix lets a
/// future scheme be sent beside this one.
pub fn signature(shown_secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(shown_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body of a delivery: its id, event and creation time, then the payload fixed when
/// the run changed. Built the same way from the same row, so every attempt sends the
/// same bytes.
pub fn body(due: &Due) -> Vec<u8> {
    let mut out = serde_json::Map::new();
    out.insert("id".into(), due.id.to_string().into());
    out.insert("event".into(), due.event.as_str().into());
    out.insert(
        "created_at".into(),
        due.created_at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .into(),
    );
    if let serde_json::Value::Object(payload) = &due.payload {
        for (k, v) in payload {
            if !out.contains_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::to_vec(&out).expect("JSON values always serialise")
}

/// What became of one attempt (for counting as well as for the delivery's state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; another attempt is due later.
    Retry,
    /// It failed, and the delivery is given up (retry window closed, or an unusable URL).
    Failed,
    /// The SSRF guard refused the URL's address; the delivery is given up.
    Blocked,
}

impl Outcome {
    /// A label: `delivered`, `retry`, `failed`, `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
        }
    }
}

/// Why an attempt failed; each has a stable code stored on the attempt.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// The stored URL is not one trawl sends to.
    #[error("not a URL trawl sends to: {0}")]
    InvalidUrl(String),
    /// The URL's address is one the SSRF guard refuses.
    #[error("{0}")]
    Blocked(String),
    /// No answer within the webhook timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connection-level failure.
    #[error("{0}")]
    Network(String),
    /// An answer that is not 2xx (redirects are not followed).
    #[error("the receiver answered {status}{answer}")]
    Status {
        /// The status code.
        status: u16,
        /// `: ` and the start of the answer, or nothing.
        answer: String,
    },
}

impl AttemptError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AttemptError::InvalidUrl(_) => "invalid_url",
            AttemptError::Blocked(_) => "webhook_blocked",
            AttemptError::Timeout(_) => "webhook_timeout",
            AttemptError::Network(_) => "network_error",
            AttemptError::Status { .. } => "http_status",
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            AttemptError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What follows an attempt that ended with `result`, made at `attempt` (1-based) of a
/// delivery created at `created_at`: the outcome, and for a retry when it is due.
pub fn next_step(
    result: &Result<u16, AttemptError>,
    attempt: u32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    backoff: &Backoff,
    retry_for: Duration,
) -> (Outcome, Option<DateTime<Utc>>) {
    match result {
        Ok(_) => (Outcome::Delivered, None),
        Err(AttemptError::Blocked(_)) => (Outcome::Blocked, None),
        Err(AttemptError::InvalidUrl(_)) => (Outcome::Failed, None),
        Err(_) => {
            let wait =
                chrono::Duration::from_std(backoff.delay(attempt)).unwrap_or(chrono::Duration::MAX);
            let until = chrono::Duration::from_std(retry_for).unwrap_or(chrono::Duration::MAX);
            let next = now.checked_add_signed(wait);
            let closes = created_at.checked_add_signed(until);
            match (next, closes) {
                (Some(next), Some(closes)) if next <= closes => (Outcome::Retry, Some(next)),
                (Some(next), None) => (Outcome::Retry, Some(next)),
                _ => (Outcome::Failed, None),
            }
        }
    }
}

/// What sending needs: the database, a client behind the guard that follows no
/// redirects, and the settings.
#[derive(Debug, Clone)]
pub struct Sender {
    pool: PgPool,
    client: reqwest::Client,
    guard: Arc<Guard>,
    config: Arc<Config>,
}

impl Sender {
    /// A sender over the host's state. The guard is built from the same settings as the
    /// fetcher's, so whatever an operator opened for pages is open for webhooks.
    pub fn new(state: &AppState) -> Result<Self, reqwest::Error> {
        let fetch = &state.config.fetch;
        let guard = Arc::new(
            Guard::new(fetch.allow_private_networks)
                .allowing(&fetch.allowed_networks, &fetch.allowed_hosts),
        );
        let timeout = state.config.webhooks.timeout;
        // A redirect would send the signed body somewhere its owner did not name.
        let client = net::guarded_client(guard.clone(), 0)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(&fetch.user_agent)
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            pool: state.pool.clone(),
            client,
            guard,
            config: state.config.clone(),
        })
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            base: self.config.webhooks.retry_base,
            cap: self.config.webhooks.retry_cap,
            max_attempts: u32::MAX,
        }
    }

    /// Make one attempt at a claimed delivery and record it with the delivery's new state.
    pub async fn deliver(&self, due: &Due) -> Outcome {
        let attempt = due.attempts.saturating_add(1);
        let started_at = Utc::now();
        let clock = Instant::now();
        let result = self.send(due).await;
        let duration_ms = i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (outcome, next_attempt_at) = next_step(
            &result,
            attempt.max(1) as u32,
            due.created_at,
            Utc::now(),
            &self.backoff(),
            self.config.webhooks.retry_for,
        );
        let message = result
            .as_ref()
            .err()
            .map(|e| crate::validate::storable_text(&e.to_string()).into_owned());
        let record = AttemptRecord {
            attempt,
            started_at,
            duration_ms,
            http_status: match &result {
                Ok(status) => Some(i32::from(*status)),
                Err(e) => e.status().map(i32::from),
            },
            error_code: result.as_ref().err().map(|e| e.code()),
            error_message: message.as_deref(),
            state: match outcome {
                Outcome::Delivered => DeliveryState::Delivered,
                Outcome::Retry => DeliveryState::Pending,
                Outcome::Failed | Outcome::Blocked => DeliveryState::Failed,
            },
            next_attempt_at,
        };
        match db::webhooks::record_attempt(&self.pool, due.id, &record).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                delivery = %due.id,
                "another host recorded attempt {attempt} of this delivery first"
            ),
            // The claim's lease lapses and the delivery is sent again: receivers dedup
            // on the delivery id.
            Err(e) => tracing::warn!(delivery = %due.id, "recording a webhook attempt: {e}"),
        }
        crate::telemetry::webhook_delivery(outcome.as_str());
        outcome
    }

    /// One POST; the status of a 2xx answer.
    async fn send(&self, due: &Due) -> Result<u16, AttemptError> {
        let url = url::Url::parse(&due.url)
            .map_err(|e| AttemptError::InvalidUrl(format!("{}: {e}", due.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(AttemptError::InvalidUrl(due.url.clone()));
        }
        // The client's resolver checks names; an IP literal is never resolved.
        self.guard.check_url(&url).map_err(AttemptError::Blocked)?;
        let body = body(due);
        let timestamp = Utc::now().timestamp();
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Trawl-Event", due.event.as_str())
            .header("Trawl-Delivery", due.id.to_string())
            .header("Trawl-Timestamp", timestamp.to_string());
        if let Some(secret) = &due.secret {
            request = request.header(
                "Trawl-Signature",
                signature(&shown_secret(secret), timestamp, &body),
            );
        }
        let mut response = request
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        // Read a bounded start of the answer: enough to say what went wrong, and the
        // connection can be reused when the answer is short.
        let mut answer = Vec::new();
        while answer.len() < ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) if status.is_success() => {
                    tracing::debug!(delivery = %due.id, "reading a 2xx answer: {e}");
                    break;
                }
                Err(e) => return Err(self.classify(e)),
            }
        }
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let text: String = String::from_utf8_lossy(&answer[..answer.len().min(ANSWER_BYTES)])
            .trim()
            .chars()
            .take(ANSWER_CHARS)
            .collect();
        Err(AttemptError::Status {
            status: status.as_u16(),
            answer: if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            },
        })
    }

    fn classify(&self, error: reqwest::Error) -> AttemptError {
        if error.is_timeout() {
            return AttemptError::Timeout(self.config.webhooks.timeout);
        }
        match Refusal::of(&error) {
            Some(Refusal::Blocked(reason)) => AttemptError::Blocked(reason),
            Some(Refusal::TooManyRedirects) => AttemptError::Network("a redirect".into()),
            None => AttemptError::Network(net::network_reason(&error)),
        }
    }
}

/// Start the sender. The returned future resolves once it stopped after `stop` turned
/// true and the attempts in flight ended (each within the webhook timeout); deliveries
/// claimed and not sent are due again when their lease passes.
pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> impl Future<Output = ()> {
    let task = tokio::spawn(async move {
        match Sender::new(&state) {
            Ok(sender) => send_loop(sender, stop).await,
            Err(e) => tracing::error!("webhooks are not sent: building their client: {e}"),
        }
    });
    async move {
        let _ = task.await;
    }
}

async fn send_loop(sender: Sender, mut stop: watch::Receiver<bool>) {
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(listen(sender.pool.clone(), wake.clone(), stop.clone()));
    let sender = Arc::new(sender);
    let slots = Arc::new(Semaphore::new(sender.config.webhooks.concurrency.max(1)));
    let lease = (sender.config.webhooks.timeout + LEASE_MARGIN).as_secs_f64();
    let poll = sender.config.poll_interval;
    let mut tasks = JoinSet::new();
    while !*stop.borrow() {
        while tasks.try_join_next().is_some() {}
        // Claim only what free slots can send now: a claimed delivery never waits.
        let free = slots.available_permits().min(BATCH);
        if free == 0 {
            tokio::select! {
                _ = tasks.join_next() => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            continue;
        }
        match db::webhooks::claim_due(&sender.pool, free as i64, lease).await {
            Ok(due) => {
                let full = due.len() == free;
                for delivery in due {
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        break;
                    };
                    let sender = sender.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        sender.deliver(&delivery).await
                    });
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
            Err(e) => {
                tracing::warn!("claiming webhook deliveries failed: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    let _ = listener.await;
}

/// Turn `trawl_webhooks` notifications into wake-ups until `stop`. A lost connection is
/// made again, with a wake-up for what may have been announced meanwhile.
async fn listen(pool: PgPool, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let made = tokio::select! {
            made = listening => made,
            _ = stop.wait_for(|s| *s) => return,
        };
        let mut listener = match made {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!("listening for webhook deliveries: {e}; polling meanwhile");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
                continue;
            }
        };
        wake.notify_one();
        loop {
            tokio::select! {
                got = listener.try_recv() => match got {
                    Ok(_) => wake.notify_one(),
                    Err(e) => {
                        tracing::warn!("listening for webhook deliveries: {e}");
                        break;
                    }
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DeliveryId;
    use crate::model::WebhookEvent;

    /// Checked against an independent HMAC-SHA256 (Python's `hmac`).
    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        let secret = shown_secret(&"ab".repeat(32));
        assert_eq!(
            signature(&secret, 1_700_000_000, br#"{"id":"x"}"#),
            "v1=d0188e01b975a06b95d1939130f3ca11d5d5667d1c36c7fd2e85b30470b593ab"
        );
        let fresh = new_secret();
        assert_eq!(fresh.len(), 64);
        assert!(fresh.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(fresh, new_secret());
    }

    #[test]
    fn the_body_is_the_payload_with_id_and_time_the_same_every_time() {
        let due = Due {
            id: DeliveryId::new(),
            event: WebhookEvent::RunFailed,
            url: "https://example.com/".into(),
            payload: serde_json::json!({"event": "run.failed", "run": {"id": "r", "status": "failed"}}),
            attempts: 0,
            created_at: Utc::now(),
            secret: None,
        };
        let sent = body(&due);
        assert_eq!(sent, body(&due));
        let value: serde_json::Value = serde_json::from_slice(&sent).expect("JSON");
        assert_eq!(value["id"], due.id.to_string());
        assert_eq!(value["event"], "run.failed");
        assert_eq!(value["run"]["status"], "failed");
        let at: DateTime<Utc> = value["created_at"]
            .as_str()
            .expect("a time")
            .parse()
            .expect("RFC 3339");
        assert_eq!(
            at.timestamp_micros(),
            due.created_at.timestamp_micros(),
            "{value}"
        );
    }

    #[test]
    fn failures_retry_within_the_window_then_fail() {
        let backoff = Backoff {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
            max_attempts: u32::MAX,
        };
        let day = Duration::from_secs(86_400);
        let created = Utc::now();
        let failed = || {
            Err(AttemptError::Status {
                status: 500,
                answer: String::new(),
            })
        };
        let (outcome, next) = next_step(&failed(), 1, created, created, &backoff, day);
        assert_eq!(outcome, Outcome::Retry);
        let next = next.expect("a due time");
        assert!(next >= created && next <= created + chrono::Duration::seconds(30));
        let late = created + chrono::Duration::hours(24) + chrono::Duration::seconds(1);
        assert_eq!(
            next_step(&failed(), 40, created, late, &backoff, day),
            (Outcome::Failed, None)
        );
        assert_eq!(
            next_step(&Ok(204), 3, created, late, &backoff, day),
            (Outcome::Delivered, None)
        );
        assert_eq!(
            next_step(
                &Err(AttemptError::Blocked("no".into())),
                1,
                created,
                created,
                &backoff,
                day
            ),
            (Outcome::Blocked, None)
        );
    }
}
