//! Webhooks end to end: a receiver on loopback that checks every signature, runs that
//! succeed, fail and are cancelled, retries, redelivery by hand, the SSRF guard in front
//! of webhook URLs, and the outbox written in the transaction of the run's change.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use trawl_tests::catalogue::{catalogue, schema};
use trawl_tests::{TestHost, serve_site};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    event: String,
    delivery: String,
    body: Vec<u8>,
}

#[derive(Debug, Default)]
struct Inbox {
    /// The secret signatures are checked with (the one the API showed last).
    secret: String,
    /// Statuses to answer with, in order; then 200.
    script: VecDeque<u16>,
    seen: Vec<Seen>,
    /// Requests whose signature or timestamp did not check out.
    bad: Vec<String>,
}

/// A webhook receiver on `127.0.0.1:0` that verifies each delivery's signature as a
/// receiver would: HMAC-SHA256 of `"<Trawl-Timestamp>.<body>"` keyed with the secret,
/// against `Trawl-Signature: v1=<hex>`, and a timestamp within five minutes.
#[derive(Clone, Debug, Default)]
struct Receiver(Arc<Mutex<Inbox>>);

impl Receiver {
    async fn start() -> anyhow::Result<(Self, SocketAddr)> {
        let receiver = Receiver::default();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((receiver, addr))
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.0
            .lock()
            .expect("the receiver's lock is never poisoned")
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        let inbox = self.inbox();
        assert!(inbox.bad.is_empty(), "bad signatures: {:?}", inbox.bad);
        inbox
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let timestamp = header(&headers, "trawl-timestamp");
    let signature = header(&headers, "trawl-signature");
    let mut inbox = receiver.inbox();
    let mut mac = Hmac::<Sha256>::new_from_slice(inbox.secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signed = signature
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
        .is_some_and(|sig| mac.verify_slice(&sig).is_ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now - t).abs() < 300);
    let json_body = header(&headers, "content-type") == "application/json";
    if !(signed && fresh && json_body) {
        inbox.bad.push(format!("{uri} {headers:?}"));
        return StatusCode::BAD_REQUEST;
    }
    inbox.seen.push(Seen {
        path: uri.path().to_owned(),
        event: header(&headers, "trawl-event").to_owned(),
        delivery: header(&headers, "trawl-delivery").to_owned(),
        body: body.to_vec(),
    });
    let status = inbox.script.pop_front().unwrap_or(200);
    StatusCode::from_u16(status).expect("a status")
}

/// Create a schema and a job with these webhooks at `start`; returns the job as created.
async fn job_with_webhooks(
    host: &TestHost,
    key: &str,
    start: &str,
    webhooks: Value,
) -> anyhow::Result<Value> {
    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            key,
            Some(json!({"name": format!("catalogue-{}", uuid::Uuid::new_v4()), "json_schema": schema()})),
        )
        .await?;
    anyhow::ensure!(status == 201, "schema: {schema}");
    let body = json!({"name": "hooked", "schema_id": schema["id"], "start_urls": [start],
                      "max_pages": 1, "webhooks": webhooks});
    let (status, job) = host.call("POST", "/v1/jobs", key, Some(body)).await?;
    anyhow::ensure!(status == 201, "job: {job}");
    Ok(job)
}

async fn start_run(host: &TestHost, key: &str, job: &Value) -> anyhow::Result<String> {
    let path = format!("/v1/jobs/{}/runs", job["id"].as_str().context("job id")?);
    let (status, run) = host.call("POST", &path, key, None).await?;
    anyhow::ensure!(status == 201, "run: {run}");
    Ok(run["id"].as_str().context("run id")?.to_owned())
}

/// A run's deliveries (the first page).
async fn deliveries(host: &TestHost, key: &str, run: &str) -> anyhow::Result<Vec<Value>> {
    let (status, page) = host
        .call("GET", &format!("/v1/runs/{run}/webhooks"), key, None)
        .await?;
    anyhow::ensure!(status == 200, "GET webhooks: {status} {page}");
    Ok(page["items"].as_array().context("items")?.clone())
}

/// Poll a run's deliveries until `done` says they are as awaited.
async fn wait_deliveries(
    host: &TestHost,
    key: &str,
    run: &str,
    done: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let items = deliveries(host, key, run).await?;
        if done(&items) {
            return Ok(items);
        }
        if Instant::now() > deadline {
            bail!("the deliveries of run {run} did not settle: {items:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn settled(items: &[Value], count: usize) -> bool {
    items.len() == count && items.iter().all(|d| d["state"] != "pending")
}

fn fast_retries(config: &mut trawl_host::Config) {
    config.webhooks.retry_base = Duration::from_millis(100);
    config.webhooks.retry_cap = Duration::from_millis(400);
}

/// A receiver that answers 500 twice gets the delivery a third time and accepts it:
/// three attempts recorded, one delivery id, the same body each time, every signature
/// good. Only the subscribed event is sent. A redelivery by hand after rotating the
/// secret comes with the same id and body, signed with the new secret. Another owner
/// sees neither the deliveries nor the redelivery.
#[tokio::test]
async fn retried_until_accepted_then_redelivered_by_hand() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let (receiver, at) = Receiver::start().await?;
    receiver.inbox().script = VecDeque::from([500, 500]);
    let host = TestHost::start_with(fast_retries).await?;
    let key = host.member("wanda@example.com").await?;
    let start = format!("http://{site}/catalogue/page-1.html");
    let hooks = json!([
        {"url": format!("http://{at}/done"), "events": ["run.succeeded"]},
        {"url": format!("http://{at}/failures"), "events": ["run.failed", "run.timed_out"]},
    ]);
    let job = job_with_webhooks(&host, &key, &start, hooks).await?;
    let secret = job["webhook_secret"]
        .as_str()
        .context("a secret")?
        .to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 64,
        "{secret}"
    );
    receiver.inbox().secret = secret.clone();
    assert_eq!(
        job["webhooks"][1]["events"],
        json!(["run.failed", "run.timed_out"])
    );
    // The secret is shown once: never by GET or the list.
    let id = job["id"].as_str().context("job id")?;
    let (_, got) = host
        .call("GET", &format!("/v1/jobs/{id}"), &key, None)
        .await?;
    assert!(got.get("webhook_secret").is_none(), "{got}");
    assert_eq!(got["webhooks"], job["webhooks"]);
    let (_, list) = host.call("GET", "/v1/jobs", &key, None).await?;
    assert!(list["items"][0].get("webhook_secret").is_none(), "{list}");

    let run = start_run(&host, &key, &job).await?;
    let ended = host.wait_run(&key, &run, Duration::from_secs(60)).await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let items = wait_deliveries(&host, &key, &run, |d| settled(d, 1)).await?;
    let delivery = &items[0];
    assert_eq!(delivery["event"], "run.succeeded", "{delivery}");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(delivery["url"], format!("http://{at}/done"));
    let statuses: Vec<&Value> = delivery["attempts"]
        .as_array()
        .context("attempts")?
        .iter()
        .map(|a| &a["http_status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!(500), &json!(500), &json!(200)],
        "{delivery}"
    );
    assert_eq!(delivery["attempts"][0]["error"]["code"], "http_status");
    assert!(delivery["attempts"][2]["error"].is_null(), "{delivery}");
    assert!(delivery["delivered_at"].is_string(), "{delivery}");

    let seen = receiver.seen("/done");
    assert_eq!(seen.len(), 3, "{seen:?}");
    let id = delivery["id"].as_str().context("delivery id")?;
    for s in &seen {
        assert_eq!(s.delivery, id);
        assert_eq!(s.event, "run.succeeded");
        assert_eq!(s.body, seen[0].body, "every attempt sends the same bytes");
    }
    let body: Value = serde_json::from_slice(&seen[0].body)?;
    assert_eq!(body["id"], id);
    assert_eq!(body["event"], "run.succeeded");
    assert_eq!(body["run"]["id"], run.as_str());
    assert_eq!(body["run"]["status"], "succeeded");
    assert_eq!(body["run"]["counters"]["pages_fetched"], 1, "{body}");
    assert!(body["created_at"].is_string(), "{body}");
    assert!(receiver.seen("/failures").is_empty());

    // Someone else sees neither the run's deliveries nor the delivery itself.
    let other = host.member("mallory@example.com").await?;
    let (status, _) = host
        .call("GET", &format!("/v1/runs/{run}/webhooks"), &other, None)
        .await?;
    assert_eq!(status, 404);
    let redeliver = format!("/v1/webhooks/{id}/redeliver");
    let (status, _) = host.call("POST", &redeliver, &other, None).await?;
    assert_eq!(status, 404);
    let (status, _) = host
        .call(
            "POST",
            &format!(
                "/v1/jobs/{}/webhook-secret",
                job["id"].as_str().context("id")?
            ),
            &other,
            None,
        )
        .await?;
    assert_eq!(status, 404);

    // A new secret, shown once, signs what is sent from now on.
    let (status, rotated) = host
        .call(
            "POST",
            &format!(
                "/v1/jobs/{}/webhook-secret",
                job["id"].as_str().context("id")?
            ),
            &key,
            None,
        )
        .await?;
    assert_eq!(status, 200, "{rotated}");
    let fresh = rotated["webhook_secret"].as_str().context("a secret")?;
    assert!(fresh.starts_with("whsec_") && fresh != secret, "{rotated}");
    receiver.inbox().secret = fresh.to_owned();

    let (status, again) = host.call("POST", &redeliver, &key, None).await?;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], id);
    assert_eq!(again["state"], "pending", "{again}");
    let items = wait_deliveries(&host, &key, &run, |d| {
        settled(d, 1) && d[0]["attempts"].as_array().is_some_and(|a| a.len() == 4)
    })
    .await?;
    assert_eq!(items[0]["state"], "delivered", "{:?}", items[0]);
    let seen = receiver.seen("/done");
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[3].delivery, id);
    assert_eq!(seen[3].body, seen[0].body);
    host.stop().await
}

/// Every event left out means all five: a run that succeeds sends `run.started`, then
/// `run.succeeded`; a job that asked for `run.failed` gets it for a run that fails, and
/// nothing for its start.
#[tokio::test]
async fn runs_send_the_events_asked_for() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let (receiver, at) = Receiver::start().await?;
    let host = TestHost::start_with(fast_retries).await?;
    let key = host.member("ed@example.com").await?;

    let all = json!([{"url": format!("http://{at}/all")}]);
    let start = format!("http://{site}/catalogue/page-1.html");
    let job = job_with_webhooks(&host, &key, &start, all).await?;
    assert_eq!(
        job["webhooks"][0]["events"],
        json!([
            "run.started",
            "run.succeeded",
            "run.failed",
            "run.cancelled",
            "run.timed_out"
        ])
    );
    receiver.inbox().secret = job["webhook_secret"].as_str().context("secret")?.to_owned();
    let run = start_run(&host, &key, &job).await?;
    let ended = host.wait_run(&key, &run, Duration::from_secs(60)).await?;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let items = wait_deliveries(&host, &key, &run, |d| settled(d, 2)).await?;
    let events: Vec<&Value> = items.iter().map(|d| &d["event"]).collect();
    assert_eq!(events, [&json!("run.started"), &json!("run.succeeded")]);
    assert!(items.iter().all(|d| d["state"] == "delivered"), "{items:?}");
    assert_eq!(items[0]["payload"]["run"]["status"], "running");
    let mut seen: Vec<String> = receiver.seen("/all").into_iter().map(|s| s.event).collect();
    seen.sort();
    assert_eq!(seen, ["run.started", "run.succeeded"]);

    let failing = json!([
        {"url": format!("http://{at}/failed"), "events": ["run.failed"]},
        {"url": format!("http://{at}/succeeded"), "events": ["run.succeeded"]},
    ]);
    let job = job_with_webhooks(&host, &key, &format!("http://{site}/missing"), failing).await?;
    receiver.inbox().secret = job["webhook_secret"].as_str().context("secret")?.to_owned();
    let run = start_run(&host, &key, &job).await?;
    let ended = host.wait_run(&key, &run, Duration::from_secs(60)).await?;
    assert_eq!(ended["status"], "failed", "{ended}");
    let items = wait_deliveries(&host, &key, &run, |d| settled(d, 1)).await?;
    assert_eq!(items[0]["event"], "run.failed");
    assert_eq!(items[0]["state"], "delivered", "{:?}", items[0]);
    let seen = receiver.seen("/failed");
    assert_eq!(seen.len(), 1);
    let body: Value = serde_json::from_slice(&seen[0].body)?;
    assert_eq!(body["run"]["status"], "failed");
    assert_eq!(
        body["run"]["error"]["code"], ended["error"]["code"],
        "{body}"
    );
    assert!(receiver.seen("/succeeded").is_empty());
    host.stop().await
}

/// On a host that does not open private networks, a webhook to loopback (an IP literal,
/// or a name that resolves there) is refused by the SSRF guard: one attempt recorded as
/// `webhook_blocked`, the delivery failed and never retried, the receiver never reached.
/// And the outbox is written by the run's change itself: a change rolled back leaves no
/// delivery; the same change committed leaves one per subscribed URL, and its NOTIFY
/// wakes the sender at once.
#[tokio::test]
async fn blocked_webhooks_and_the_transactional_outbox() -> anyhow::Result<()> {
    let (receiver, at) = Receiver::start().await?;
    let host = TestHost::start_with(|config| {
        fast_retries(config);
        config.fetch.allow_private_networks = false;
        // Nothing polls within the test: the sender hears the outbox's NOTIFY.
        config.poll_interval = Duration::from_secs(3600);
    })
    .await?;
    let key = host.member("bo@example.com").await?;
    let hooks = json!([
        {"url": format!("http://{at}/literal"), "events": ["run.cancelled"]},
        {"url": format!("http://localhost:{}/named", at.port()), "events": ["run.cancelled"]},
        {"url": format!("http://{at}/started"), "events": ["run.started"]},
    ]);
    let job = job_with_webhooks(&host, &key, "http://example.invalid/", hooks).await?;
    let job_id: uuid::Uuid = job["id"].as_str().context("job id")?.parse()?;
    let pool = &host.state.pool;
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT owner_id FROM scraping_jobs WHERE id = $1")
        .bind(job_id)
        .fetch_one(pool)
        .await?;
    // A queued run cancelled, in one transaction: no worker ever sees it queued.
    let change = |commit: bool| async move {
        let run = uuid::Uuid::new_v4();
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO runs (id, job_id, owner_id, trigger) VALUES ($1, $2, $3, 'api')")
            .bind(run)
            .bind(job_id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE runs SET status = 'cancelled', finished_at = now() WHERE id = $1")
            .bind(run)
            .execute(&mut *tx)
            .await?;
        let inside: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE run_id = $1")
                .bind(run)
                .fetch_one(&mut *tx)
                .await?;
        assert_eq!(inside, 2, "the change writes its deliveries");
        if commit {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        anyhow::Ok(run)
    };
    change(false).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE job_id = $1")
        .bind(job_id)
        .fetch_one(pool)
        .await?;
    assert_eq!(left, 0, "a rolled-back change leaves no delivery");

    let run = change(true).await?.to_string();
    let items = wait_deliveries(&host, &key, &run, |d| settled(d, 2)).await?;
    for delivery in &items {
        assert_eq!(delivery["event"], "run.cancelled");
        assert_eq!(delivery["state"], "failed", "{delivery}");
        let attempts = delivery["attempts"].as_array().context("attempts")?;
        assert_eq!(attempts.len(), 1, "{delivery}");
        assert_eq!(
            attempts[0]["error"]["code"], "webhook_blocked",
            "{delivery}"
        );
        assert!(attempts[0]["http_status"].is_null());
    }
    // Not retried, however long one waits.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let items = deliveries(&host, &key, &run).await?;
    assert!(
        items
            .iter()
            .all(|d| d["attempts"].as_array().is_some_and(|a| a.len() == 1)),
        "{items:?}"
    );
    {
        let inbox = receiver.inbox();
        assert!(inbox.seen.is_empty() && inbox.bad.is_empty(), "{inbox:?}");
    }
    host.stop().await
}

/// Webhooks are checked where they are given: each problem at its JSON pointer.
#[tokio::test]
async fn webhooks_are_checked_at_their_place() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("vi@example.com").await?;
    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "catalogue", "json_schema": schema()})),
        )
        .await?;
    assert_eq!(status, 201, "{schema}");
    let job = |webhooks: Value| {
        json!({"name": "j", "schema_id": schema["id"], "start_urls": ["http://127.0.0.1:9/"],
               "webhooks": webhooks})
    };
    let bad = json!([
        {"url": "ftp://example.com/hook"},
        {"url": "https://example.com/hook", "events": []},
        {"url": "https://example.com/hook", "events": ["run.failed", "run.exploded", "run.failed"]},
        {"url": format!("https://example.com/{}", "a".repeat(2000))},
    ]);
    let (status, body) = host.call("POST", "/v1/jobs", &key, Some(job(bad))).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_job");
    let paths: Vec<&str> = body["error"]["details"]
        .as_array()
        .context("details")?
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/webhooks/0/url",
            "/webhooks/1/events",
            "/webhooks/2/events/1",
            "/webhooks/2/events/2",
            "/webhooks/3/url"
        ],
        "{body}"
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"url": format!("https://example.com/{i}")}))
        .collect();
    let (status, body) = host
        .call("POST", "/v1/jobs", &key, Some(job(json!(eleven))))
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["path"], "/webhooks");

    // A replacement replaces the webhooks and keeps the secret (not shown again).
    let (status, created) = host
        .call("POST", "/v1/jobs", &key, Some(job(json!([]))))
        .await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["webhooks"], json!([]));
    let path = format!("/v1/jobs/{}", created["id"].as_str().context("id")?);
    let hooks = json!([{"url": "https://example.com/hook", "events": ["run.cancelled"]}]);
    let (status, replaced) = host
        .call("PUT", &path, &key, Some(job(hooks.clone())))
        .await?;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["webhooks"], hooks);
    assert!(replaced.get("webhook_secret").is_none(), "{replaced}");

    // The OpenAPI document has the routes.
    let (_, doc) = host.call("GET", "/v1/openapi.json", &key, None).await?;
    let paths: HashMap<String, Value> = serde_json::from_value(doc["paths"].clone())?;
    for route in [
        "/v1/runs/{id}/webhooks",
        "/v1/webhooks/{id}/redeliver",
        "/v1/jobs/{id}/webhook-secret",
    ] {
        assert!(paths.contains_key(route), "{route} is not in the document");
    }
    host.stop().await
}
