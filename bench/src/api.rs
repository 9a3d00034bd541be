//! The API as a client sees it, against a running host (`bench/crawl/run.py --api` starts
//! one, a site and a crawl around these):
//!
//! - `trawl-bench api-load`: concurrent clients, each sending its requests one after the
//!   other (paced `--interval-ms` apart, 100 by default, or back to back with `0`), over
//!   `GET /v1/runs/{id}/results?limit=50`, `GET /v1/runs/{id}` and the run's event stream
//!   (the time to its first event, which carries the run's state), each client starting
//!   at a different one of the three. The
//!   latency of every request is recorded from its start to its last byte (the first
//!   event's, for the stream).
//! - `trawl-bench first-item`: the time from `POST /v1/jobs/{id}/runs` to the run's first
//!   result readable through `GET /v1/runs/{id}/results`, polled as fast as the host
//!   answers; each run is waited for to end before the next starts.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::stats::percentile;

/// Options of `trawl-bench api-load`.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// The host's address, `http://127.0.0.1:PORT`.
    #[arg(long)]
    pub base: String,
    /// An API key of the run's owner.
    #[arg(long)]
    pub key: String,
    /// The run whose results, state and stream are read.
    #[arg(long)]
    pub run: String,
    /// Clients at once.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// How long the clients go on (they stop earlier when `--until-end` sees the run end).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Stop when the run has ended (what is measured is the API while the run goes on).
    #[arg(long)]
    pub until_end: bool,
    /// Each client's requests start this many milliseconds apart (a console or a script
    /// polling; one whose answer comes late sends the next at once). `0`: a closed loop,
    /// each request as soon as the last answer is read, which measures the host's
    /// capacity rather than a client's wait.
    #[arg(long, default_value_t = 100)]
    pub interval_ms: u64,
}

/// Options of `trawl-bench first-item`.
#[derive(clap::Args, Debug, Clone)]
pub struct FirstItemArgs {
    #[arg(long)]
    pub base: String,
    #[arg(long)]
    pub key: String,
    /// The job to run (one that finds an item on its first page).
    #[arg(long)]
    pub job: String,
    /// Runs, one after the other.
    #[arg(long, default_value_t = 20)]
    pub times: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Results,
    Run,
    Events,
}

const ENDPOINTS: [Endpoint; 3] = [Endpoint::Results, Endpoint::Run, Endpoint::Events];

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Results => "GET /v1/runs/{id}/results?limit=50",
            Endpoint::Run => "GET /v1/runs/{id}",
            Endpoint::Events => "GET /v1/runs/{id}/events (first event)",
        }
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn ended(run: &Value) -> bool {
    !matches!(run["status"].as_str(), Some("queued" | "running"))
}

async fn get_json(http: &reqwest::Client, url: &str, key: &str) -> anyhow::Result<Value> {
    let response = http.get(url).bearer_auth(key).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(status.is_success(), "GET {url}: {status}");
    Ok(serde_json::from_slice(&body)?)
}

/// One request of `endpoint`, its whole answer read (for the stream: up to its first event).
async fn once(
    http: &reqwest::Client,
    args: &LoadArgs,
    endpoint: Endpoint,
) -> anyhow::Result<Duration> {
    let base = &args.base;
    let run = &args.run;
    let url = match endpoint {
        Endpoint::Results => format!("{base}/v1/runs/{run}/results?limit=50"),
        Endpoint::Run => format!("{base}/v1/runs/{run}"),
        Endpoint::Events => format!("{base}/v1/runs/{run}/events"),
    };
    let start = Instant::now();
    let mut response = http.get(&url).bearer_auth(&args.key).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    match endpoint {
        Endpoint::Events => {
            // The first event is whole at its blank line.
            let mut seen = Vec::new();
            while !seen.windows(2).any(|w| w == b"\n\n") {
                let chunk = response
                    .chunk()
                    .await?
                    .context("the stream closed before its first event")?;
                seen.extend_from_slice(&chunk);
            }
        }
        _ => {
            response.bytes().await?;
        }
    }
    Ok(start.elapsed())
}

pub fn load(args: &LoadArgs, tokio: &tokio::runtime::Runtime) -> anyhow::Result<String> {
    tokio.block_on(load_async(args))
}

async fn load_async(args: &LoadArgs) -> anyhow::Result<String> {
    let http = client()?;
    let stop_at = Instant::now() + Duration::from_secs_f64(args.seconds);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..args.clients.max(1) {
        let http = http.clone();
        let args = args.clone();
        let stop = stop_rx.clone();
        clients.spawn(async move {
            let mut samples: Vec<(Endpoint, Duration)> = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            let mut k = i;
            let every = Duration::from_millis(args.interval_ms);
            // Clients start spread over one interval, not all at once.
            let mut next = Instant::now() + every.mul_f64(i as f64 / args.clients.max(1) as f64);
            while !*stop.borrow() && Instant::now() < stop_at {
                if !every.is_zero() {
                    tokio::time::sleep_until(next.into()).await;
                    next = (next + every).max(Instant::now());
                }
                let endpoint = ENDPOINTS[k % ENDPOINTS.len()];
                k += 1;
                match once(&http, &args, endpoint).await {
                    Ok(t) => samples.push((endpoint, t)),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (samples, errors, first_error)
        });
    }
    let started = Instant::now();
    if args.until_end {
        let watcher = client()?;
        let url = format!("{}/v1/runs/{}", args.base, args.run);
        while Instant::now() < stop_at {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if get_json(&watcher, &url, &args.key)
                .await
                .is_ok_and(|r| ended(&r))
            {
                break;
            }
        }
    } else {
        tokio::time::sleep_until(stop_at.into()).await;
    }
    stop_tx.send_replace(true);
    let mut all: Vec<(Endpoint, Duration)> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    while let Some(done) = clients.join_next().await {
        let (samples, e, first) = done?;
        all.extend(samples);
        errors += e;
        first_error = first_error.or(first);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    for endpoint in ENDPOINTS {
        let times: Vec<Duration> = all
            .iter()
            .filter(|(e, _)| *e == endpoint)
            .map(|(_, t)| *t)
            .collect();
        rows.push(json!({
            "endpoint": endpoint.name(),
            "requests": times.len(),
            "per_second": times.len() as f64 / elapsed,
            "p50_ms": ms(percentile(&times, 50)),
            "p99_ms": ms(percentile(&times, 99)),
            "max_ms": ms(percentile(&times, 100)),
        }));
    }
    Ok(json!({"clients": args.clients, "interval_ms": args.interval_ms, "seconds": elapsed, "errors": errors, "first_error": first_error, "endpoints": rows})
        .to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn first_item(args: &FirstItemArgs, tokio: &tokio::runtime::Runtime) -> anyhow::Result<String> {
    tokio.block_on(first_item_async(args))
}

async fn first_item_async(args: &FirstItemArgs) -> anyhow::Result<String> {
    let http = client()?;
    let mut to_item = Vec::new();
    let mut to_start = Vec::new();
    let mut last = String::new();
    for _ in 0..args.times.max(1) {
        let start = Instant::now();
        let response = http
            .post(format!("{}/v1/jobs/{}/runs", args.base, args.job))
            .bearer_auth(&args.key)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "starting a run: {}",
            response.status()
        );
        let run: Value = response.json().await?;
        let id = run["id"].as_str().context("the run has no id")?.to_owned();
        last.clone_from(&id);
        let results = format!("{}/v1/runs/{id}/results?limit=1", args.base);
        let deadline = start + Duration::from_secs(30);
        loop {
            let page = get_json(&http, &results, &args.key).await?;
            if page["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
            {
                to_item.push(start.elapsed());
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "run {id}: no result within 30 s");
        }
        // Wait for the end, so that runs do not overlap; read when it started.
        let url = format!("{}/v1/runs/{id}", args.base);
        let run = loop {
            let run = get_json(&http, &url, &args.key).await?;
            if ended(&run) {
                break run;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        anyhow::ensure!(
            run["status"] == "succeeded",
            "run {id} ended {}",
            run["status"]
        );
        let created = chrono_ms(&run["created_at"]);
        let started = chrono_ms(&run["started_at"]);
        if let (Some(c), Some(s)) = (created, started) {
            to_start.push(Duration::from_micros(((s - c).max(0.0) * 1000.0) as u64));
        }
    }
    Ok(json!({
        "runs": to_item.len(),
        "last_run": last,
        "first_item_p50_ms": ms(percentile(&to_item, 50)),
        "first_item_p90_ms": ms(percentile(&to_item, 90)),
        "first_item_max_ms": ms(percentile(&to_item, 100)),
        "queued_to_started_p50_ms": ms(percentile(&to_start, 50)),
    })
    .to_string())
}

/// Milliseconds since the epoch of an RFC 3339 time the API gave.
fn chrono_ms(v: &Value) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    Some(t.timestamp_micros() as f64 / 1000.0)
}
