//! Server configuration: flags or `TRAWL_*` environment variables, typed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;

/// How `trawl serve` runs.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[arg(long, env = "TRAWL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// PostgreSQL to use. Without it trawl runs a private cluster under the data directory.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Where trawl keeps its embedded database and export files.
    #[arg(long, env = "TRAWL_DATA_DIR", default_value = ".trawl")]
    pub data_dir: PathBuf,

    /// Base URL that download links point at (default: `http://<listen>`).
    #[arg(long, env = "TRAWL_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// API key to give the first admin instead of a random one (for automated set-ups).
    /// Ignored once any user exists.
    #[arg(long, env = "TRAWL_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,

    /// Runs one host works on at once.
    #[arg(long, env = "TRAWL_MAX_RUNS", default_value_t = 4)]
    pub max_concurrent_runs: usize,

    /// How long a worker's claim on a run or export lasts without a heartbeat.
    #[arg(long, env = "TRAWL_LEASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub lease: Duration,

    /// How often idle workers look for queued work.
    #[arg(long, env = "TRAWL_POLL_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// How often the scheduler looks for jobs whose schedule is due. An occurrence fires
    /// within about this long of its time; every host's scheduler looks, and each
    /// occurrence fires once whichever finds it.
    #[arg(long, env = "TRAWL_SCHEDULER_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub scheduler_interval: Duration,

    /// Plugin log lines kept per run; the rest are counted in a final line.
    #[arg(long, env = "TRAWL_RUN_LOG_LINES", default_value_t = 1000)]
    pub run_log_lines: i64,

    /// How long an export's file and its signed download links last once written, unless
    /// the export asks for another time (`expires_in`). Then the janitor deletes the file.
    #[arg(long, env = "TRAWL_EXPORT_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub export_ttl: Duration,

    /// The longest `expires_in` an export may ask for.
    #[arg(long, env = "TRAWL_EXPORT_MAX_TTL", default_value = "30days", value_parser = humantime::parse_duration)]
    pub export_max_ttl: Duration,

    /// Exports one host writes at once; more wait in the queue.
    #[arg(long, env = "TRAWL_EXPORT_CONCURRENCY", default_value_t = 2)]
    pub export_concurrency: usize,

    /// How often the export janitor expires exports and deletes files no export keeps.
    #[arg(long, env = "TRAWL_EXPORT_JANITOR_INTERVAL", default_value = "1min", value_parser = humantime::parse_duration)]
    pub export_janitor_interval: Duration,

    /// A stored file no export names is deleted by the janitor once it is this old
    /// (younger, its export may be between writing it and recording it).
    #[arg(long, env = "TRAWL_EXPORT_ORPHAN_AGE", default_value = "1h", value_parser = parse_orphan_age)]
    pub export_orphan_age: Duration,

    /// Largest file one export may write; a larger one fails with `export_too_large`.
    #[arg(long, env = "TRAWL_EXPORT_MAX_SIZE", default_value = "10GiB")]
    pub export_max_size: ByteSize,

    /// Bearer token `GET /metrics` asks for (`Authorization: Bearer <token>`). Unset, the
    /// metrics are open: they hold aggregate numbers only, no ids, URLs or names.
    #[arg(long, env = "TRAWL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub retention: RetentionConfig,

    #[command(flatten)]
    pub plugins: PluginLimits,

    #[command(flatten)]
    pub fetch: FetchConfig,

    #[command(flatten)]
    pub browser: BrowserConfig,

    #[command(flatten)]
    pub webhooks: WebhookConfig,

    #[command(flatten)]
    pub credits: CreditsConfig,

    #[command(flatten)]
    pub quotas: QuotaConfig,
}

/// Where export files are kept.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// Files under the data directory (`exports/`): one host, or hosts sharing a disk.
    Local,
    /// An S3-compatible bucket, so that any number of hosts share exports.
    S3,
}

/// Export storage: local disk by default, or an S3-compatible bucket. Credentials come
/// from the environment as for any AWS client (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), or from the instance's role.
#[derive(clap::Args, Debug, Clone)]
pub struct StorageConfig {
    /// Where new exports are written: `local` or `s3`. Files already written stay where
    /// they are and are still served and deleted there.
    #[arg(
        id = "export-storage",
        long = "export-storage",
        env = "TRAWL_EXPORT_STORAGE",
        value_enum,
        default_value = "local"
    )]
    pub kind: StorageKind,

    /// The bucket (with `s3`).
    #[arg(id = "s3-bucket", long = "s3-bucket", env = "TRAWL_S3_BUCKET")]
    pub bucket: Option<String>,

    /// Key prefix for export files in the bucket.
    #[arg(
        id = "s3-prefix",
        long = "s3-prefix",
        env = "TRAWL_S3_PREFIX",
        default_value = "trawl/exports"
    )]
    pub prefix: String,

    /// Endpoint of an S3-compatible service (MinIO, Ceph, R2...); unset, AWS's.
    #[arg(id = "s3-endpoint", long = "s3-endpoint", env = "TRAWL_S3_ENDPOINT")]
    pub endpoint: Option<String>,

    /// Region; unset, `AWS_REGION` or `us-east-1`.
    #[arg(id = "s3-region", long = "s3-region", env = "TRAWL_S3_REGION")]
    pub region: Option<String>,

    /// Allow an `http://` endpoint (a service on a private network).
    #[arg(
        id = "s3-allow-http",
        long = "s3-allow-http",
        env = "TRAWL_S3_ALLOW_HTTP"
    )]
    pub allow_http: bool,

    /// Answer a download with a redirect to a presigned URL of the bucket, so that the
    /// file's bytes do not pass through trawl. `HEAD` is still answered by trawl.
    #[arg(id = "s3-redirect", long = "s3-redirect", env = "TRAWL_S3_REDIRECT")]
    pub redirect: bool,

    /// Access key; unset, the instance's role or a web identity provides one.
    #[arg(
        id = "s3-access-key-id",
        long = "s3-access-key-id",
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true
    )]
    pub access_key_id: Option<String>,

    /// Secret of the access key.
    #[arg(
        id = "s3-secret-access-key",
        long = "s3-secret-access-key",
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,

    /// Size of each part of a multipart upload (S3 asks for at least 5 MiB); the parts
    /// in flight at once are two, so an export holds about twice this in memory.
    #[arg(id = "s3-part-size", long = "s3-part-size", env = "TRAWL_S3_PART_SIZE", default_value = "8MiB",
        value_parser = parse_part_size)]
    pub part_size: ByteSize,
}

/// The age past which an unowned export file is an orphan: at least a minute, so that a
/// file just uploaded and being recorded is never one.
fn parse_orphan_age(s: &str) -> Result<Duration, String> {
    let age = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if age < Duration::from_secs(60) {
        return Err(format!("{s} is shorter than a minute"));
    }
    Ok(age)
}

/// A multipart part size: 5 MiB to 5 GiB, what S3 takes.
fn parse_part_size(s: &str) -> Result<ByteSize, String> {
    let size: ByteSize = s.parse()?;
    if size < ByteSize::mib(5) || size > ByteSize::gib(5) {
        return Err(format!("{size} is not between 5 MiB and 5 GiB"));
    }
    Ok(size)
}

impl Default for StorageConfig {
    /// The defaults the flags declare.
    fn default() -> Self {
        declared_defaults()
    }
}

/// Credits: what work costs (published at `GET /v1/pricing`) and whose runs pay.
#[derive(clap::Args, Debug, Clone)]
pub struct CreditsConfig {
    /// Take the price of runs and exports from their owners' balances. Off, everything is
    /// priced (runs show what they would cost, `max_credits` still caps them) and nothing
    /// is charged: a self-hosted team is never stopped by credits.
    #[arg(id = "charging", long = "charging", env = "TRAWL_CHARGING", default_value_t = true, action = clap::ArgAction::Set)]
    pub charging: bool,

    /// Charge admins' own runs and exports too (by default they are priced, not charged).
    #[arg(
        id = "charge-admins",
        long = "charge-admins",
        env = "TRAWL_CHARGE_ADMINS"
    )]
    pub charge_admins: bool,

    /// Credits a new user starts with (one `grant` line in their ledger).
    #[arg(id = "signup-credits", long = "signup-credits", env = "TRAWL_SIGNUP_CREDITS", default_value_t = 0,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub signup_credits: i64,

    /// Credits per page fetched and extracted successfully.
    #[arg(id = "price-page", long = "price-page", env = "TRAWL_PRICE_PAGE", default_value_t = 1,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub price_page: i64,

    /// Credits per million units of plugin fuel (a books.toscrape.com page burns about
    /// 250,000 with the bundled css-extractor).
    #[arg(id = "price-fuel", long = "price-fuel", env = "TRAWL_PRICE_FUEL", default_value_t = 1,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub price_fuel_per_million: i64,

    /// Credits per thousand new items stored.
    #[arg(id = "price-items", long = "price-items", env = "TRAWL_PRICE_ITEMS", default_value_t = 1,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub price_items_per_thousand: i64,

    /// Credits per megabyte (10^6 bytes) of export file.
    #[arg(id = "price-export", long = "price-export", env = "TRAWL_PRICE_EXPORT", default_value_t = 1,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub price_export_per_megabyte: i64,
}

impl CreditsConfig {
    /// The price list.
    pub fn pricing(&self) -> crate::model::pricing::Pricing {
        crate::model::pricing::Pricing {
            page: self.price_page,
            fuel_per_million: self.price_fuel_per_million,
            items_per_thousand: self.price_items_per_thousand,
            export_per_megabyte: self.price_export_per_megabyte,
        }
    }

    /// The balance a charged run needs to start: enough for one page (at least 1 credit).
    pub fn least_to_start(&self) -> i64 {
        self.price_page.max(1)
    }

    /// Whether work owned by a user of `role` is taken from their balance.
    pub fn charges(&self, role: crate::model::Role) -> bool {
        self.charging && (role != crate::model::Role::Admin || self.charge_admins)
    }
}

impl Default for CreditsConfig {
    /// The defaults the flags declare.
    fn default() -> Self {
        declared_defaults()
    }
}

/// Limits on every plugin call. A limit that trips fails the call with its own error code.
#[derive(clap::Args, Debug, Clone)]
pub struct PluginLimits {
    /// Linear memory one plugin instance may grow to.
    #[arg(
        id = "plugin-memory",
        long = "plugin-memory",
        env = "TRAWL_PLUGIN_MEMORY",
        default_value = "128MiB"
    )]
    pub memory: ByteSize,

    /// Fuel (wasm instructions, roughly) one call may burn: deterministic compute cap.
    #[arg(
        id = "plugin-fuel",
        long = "plugin-fuel",
        env = "TRAWL_PLUGIN_FUEL",
        default_value_t = 2_000_000_000
    )]
    pub fuel: u64,

    /// Wall-clock time one call may take.
    #[arg(id = "plugin-timeout", long = "plugin-timeout", env = "TRAWL_PLUGIN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Plugin calls one owner may run at once in this host (default: one more than the
    /// CPUs). The host runs one call more, which another owner's call always finds free:
    /// one owner's calls, however slow, never hold every slot. Calls are CPU-bound, but
    /// each also waits (first touches of a fresh instance's memory, its reset, the
    /// allocator): with one call per core the cores idle in those waits. The crawl
    /// benchmark on 2 CPUs: 1,600 pages/s with 2, 1,800–1,900 with 3 or 4.
    #[arg(
        id = "plugin-concurrency",
        long = "plugin-concurrency",
        env = "TRAWL_PLUGIN_CONCURRENCY",
        default_value_t = default_plugin_concurrency()
    )]
    pub concurrency: usize,

    /// Items one extract call may return.
    #[arg(
        id = "plugin-max-items",
        long = "plugin-max-items",
        env = "TRAWL_PLUGIN_MAX_ITEMS",
        default_value_t = 10_000
    )]
    pub max_items: usize,

    /// Bytes of item JSON (and of exporter output) one call may return.
    #[arg(
        id = "plugin-max-output",
        long = "plugin-max-output",
        env = "TRAWL_PLUGIN_MAX_OUTPUT",
        default_value = "32MiB"
    )]
    pub max_output: ByteSize,

    /// Follow URLs one extract call may return.
    #[arg(
        id = "plugin-max-follow",
        long = "plugin-max-follow",
        env = "TRAWL_PLUGIN_MAX_FOLLOW",
        default_value_t = 10_000
    )]
    pub max_follow: usize,

    /// DOM nodes one page may hand out to a plugin.
    #[arg(
        id = "plugin-max-nodes",
        long = "plugin-max-nodes",
        env = "TRAWL_PLUGIN_MAX_NODES",
        default_value_t = 1_000_000
    )]
    pub max_nodes: usize,

    /// Nodes (elements, text, comments) the host builds for one page a plugin queries; a
    /// larger page fails with `page_too_complex`. The largest of 130 popular home pages
    /// has 13,000; a node costs about 170 bytes.
    #[arg(
        id = "plugin-max-dom-nodes",
        long = "plugin-max-dom-nodes",
        env = "TRAWL_PLUGIN_MAX_DOM_NODES",
        default_value_t = 250_000
    )]
    pub max_dom_nodes: usize,

    /// Levels of nesting a page a plugin queries may have; a deeper page fails with
    /// `page_too_complex`. The HTML tree builder's work per tag grows with the depth of
    /// the elements open around it (15,000 nested divs take seconds to parse); real pages
    /// stay under a hundred levels.
    #[arg(
        id = "plugin-max-dom-depth",
        long = "plugin-max-dom-depth",
        env = "TRAWL_PLUGIN_MAX_DOM_DEPTH",
        default_value_t = 1_024
    )]
    pub max_dom_depth: usize,

    /// Nodes one DOM query may name (the scopes of a `select`, the nodes of a `read`).
    #[arg(
        id = "plugin-max-query-nodes",
        long = "plugin-max-query-nodes",
        env = "TRAWL_PLUGIN_MAX_QUERY_NODES",
        default_value_t = 100_000
    )]
    pub max_query_nodes: usize,

    /// Fields one DOM `read` may name.
    #[arg(
        id = "plugin-max-query-fields",
        long = "plugin-max-query-fields",
        env = "TRAWL_PLUGIN_MAX_QUERY_FIELDS",
        default_value_t = 1_000
    )]
    pub max_query_fields: usize,

    /// Log lines one call may write (the rest are counted and dropped).
    #[arg(
        id = "plugin-max-log-lines",
        long = "plugin-max-log-lines",
        env = "TRAWL_PLUGIN_MAX_LOG_LINES",
        default_value_t = 100
    )]
    pub max_log_lines: usize,

    /// Highest memory limit a schema may ask for (also the pooling allocator's slot size).
    #[arg(
        id = "plugin-memory-ceiling",
        long = "plugin-memory-ceiling",
        env = "TRAWL_PLUGIN_MEMORY_CEILING",
        default_value = "512MiB"
    )]
    pub memory_ceiling: ByteSize,

    /// Highest fuel budget a schema may ask for.
    #[arg(
        id = "plugin-fuel-ceiling",
        long = "plugin-fuel-ceiling",
        env = "TRAWL_PLUGIN_FUEL_CEILING",
        default_value_t = 20_000_000_000
    )]
    pub fuel_ceiling: u64,

    /// Longest call time a schema may ask for.
    #[arg(id = "plugin-timeout-ceiling", long = "plugin-timeout-ceiling", env = "TRAWL_PLUGIN_TIMEOUT_CEILING", default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout_ceiling: Duration,

    /// Largest component an upload may carry.
    #[arg(
        id = "plugin-max-upload",
        long = "plugin-max-upload",
        env = "TRAWL_PLUGIN_MAX_UPLOAD",
        default_value = "20MiB"
    )]
    pub max_upload: ByteSize,

    /// How long compiling an uploaded component may take.
    #[arg(id = "plugin-compile-timeout", long = "plugin-compile-timeout", env = "TRAWL_PLUGIN_COMPILE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub compile_timeout: Duration,

    /// Let members upload private plugins (only they can use them). Off: admins only.
    #[arg(
        id = "member-uploads",
        long = "member-uploads",
        env = "TRAWL_MEMBER_UPLOADS"
    )]
    pub member_uploads: bool,

    /// Instantiate plugins from a pre-reserved pool of memory slots (fast; reserves
    /// address space up front). Off: allocate memory for each call.
    #[arg(id = "plugin-pooling", long = "plugin-pooling", env = "TRAWL_PLUGIN_POOLING", default_value_t = true, action = clap::ArgAction::Set)]
    pub pooling: bool,
}

impl Default for PluginLimits {
    /// The defaults the flags declare.
    fn default() -> Self {
        declared_defaults()
    }
}

/// How long the pages, logs and results of ended runs are kept. With neither rule set
/// nothing is pruned; with both, a run is kept while either rule keeps it.
#[derive(clap::Args, Debug, Clone)]
pub struct RetentionConfig {
    /// Keep the pages, logs and results of the last N ended runs of each job.
    #[arg(
        id = "retention-keep-runs",
        long = "retention-keep-runs",
        env = "TRAWL_RETENTION_KEEP_RUNS",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub keep_runs: Option<u32>,

    /// Keep the pages, logs and results of runs that ended less than this long ago.
    #[arg(id = "retention-max-age", long = "retention-max-age", env = "TRAWL_RETENTION_MAX_AGE", value_parser = humantime::parse_duration)]
    pub max_age: Option<Duration>,

    /// How often retention looks for runs to prune.
    #[arg(id = "retention-interval", long = "retention-interval", env = "TRAWL_RETENTION_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub interval: Duration,
}

/// The User-Agent of every request unless a job names its own.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "trawl/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/trawl)"
);

/// How pages are fetched, and the caps on what a job may ask for.
#[derive(clap::Args, Debug, Clone)]
pub struct FetchConfig {
    /// Timeout of one HTTP request (a job may ask for less, never more).
    #[arg(id = "fetch-timeout", long = "fetch-timeout", env = "TRAWL_FETCH_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Largest response body accepted, after decompression; a larger page fails with
    /// `body_too_large` (decompression bombs included).
    #[arg(
        id = "fetch-max-body",
        long = "fetch-max-body",
        env = "TRAWL_FETCH_MAX_BODY",
        default_value = "10MiB"
    )]
    pub max_body: ByteSize,

    /// Redirects followed before a page fails with `too_many_redirects`.
    #[arg(
        id = "fetch-max-redirects",
        long = "fetch-max-redirects",
        env = "TRAWL_FETCH_MAX_REDIRECTS",
        default_value_t = 10
    )]
    pub max_redirects: usize,

    /// User-Agent sent with every request, unless the job sets its own.
    #[arg(id = "user-agent", long = "user-agent", env = "TRAWL_USER_AGENT", default_value = DEFAULT_USER_AGENT)]
    pub user_agent: String,

    /// Most attempts a job may ask for per page (429, 5xx, network errors and timeouts
    /// are retried).
    #[arg(
        id = "fetch-max-attempts",
        long = "fetch-max-attempts",
        env = "TRAWL_FETCH_MAX_ATTEMPTS",
        default_value_t = 5
    )]
    pub max_attempts: u32,

    /// Bound of the wait before the first retry; it doubles with each retry (full jitter).
    #[arg(id = "fetch-retry-base", long = "fetch-retry-base", env = "TRAWL_FETCH_RETRY_BASE", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub retry_base: Duration,

    /// The wait between retries never grows past this.
    #[arg(id = "fetch-retry-cap", long = "fetch-retry-cap", env = "TRAWL_FETCH_RETRY_CAP", default_value = "30s", value_parser = humantime::parse_duration)]
    pub retry_cap: Duration,

    /// Longest `Retry-After` honoured; a server asking for longer fails the page instead.
    #[arg(id = "fetch-max-retry-after", long = "fetch-max-retry-after", env = "TRAWL_FETCH_MAX_RETRY_AFTER", default_value = "2m", value_parser = humantime::parse_duration)]
    pub max_retry_after: Duration,

    /// Most requests in flight to one host a job may ask for.
    #[arg(
        id = "max-per-host-concurrency",
        long = "max-per-host-concurrency",
        env = "TRAWL_MAX_PER_HOST_CONCURRENCY",
        default_value_t = 16
    )]
    pub max_per_host_concurrency: u32,

    /// Shortest delay between requests to one host, whatever a job asks for.
    #[arg(id = "min-host-delay", long = "min-host-delay", env = "TRAWL_MIN_HOST_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub min_host_delay: Duration,

    /// How long a robots.txt is trusted before it is fetched again.
    #[arg(id = "robots-ttl", long = "robots-ttl", env = "TRAWL_ROBOTS_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub robots_ttl: Duration,

    /// Longest robots.txt `Crawl-delay` honoured (longer ones are cut to it).
    #[arg(id = "max-crawl-delay", long = "max-crawl-delay", env = "TRAWL_MAX_CRAWL_DELAY", default_value = "30s", value_parser = humantime::parse_duration)]
    pub max_crawl_delay: Duration,

    /// Allow fetching loopback and private addresses. Off by default: a job must not be
    /// able to reach the operator's internal network. Tests and local use turn it on.
    #[arg(
        id = "allow-private-networks",
        long = "allow-private-networks",
        env = "TRAWL_ALLOW_PRIVATE_NETWORKS"
    )]
    pub allow_private_networks: bool,

    /// Networks (CIDRs, or single addresses) opened despite the SSRF guard, comma-separated.
    #[arg(id = "allow-networks", long = "allow-networks", env = "TRAWL_ALLOW_NETWORKS", value_delimiter = ',', value_parser = parse_network)]
    pub allowed_networks: Vec<ipnet::IpNet>,

    /// Host names whose addresses the SSRF guard does not check, comma-separated.
    #[arg(
        id = "allow-hosts",
        long = "allow-hosts",
        env = "TRAWL_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
}

/// Headless Chromium, for jobs whose pages render in `browser` mode.
#[derive(clap::Args, Debug, Clone)]
pub struct BrowserConfig {
    /// The Chromium (or Chrome) executable. Default: `chromium`, `chromium-browser` or
    /// `google-chrome` on the PATH (Debian: `apt-get install chromium`).
    #[arg(id = "browser", long = "browser", env = "TRAWL_BROWSER")]
    pub executable: Option<PathBuf>,

    /// Browser contexts open at once, across all runs of this host; more pages wait.
    #[arg(
        id = "browser-contexts",
        long = "browser-contexts",
        env = "TRAWL_BROWSER_CONTEXTS",
        default_value_t = 4
    )]
    pub contexts: usize,

    /// Resident memory of the browser (all its processes) past which it is restarted
    /// between pages.
    #[arg(
        id = "browser-memory",
        long = "browser-memory",
        env = "TRAWL_BROWSER_MEMORY",
        default_value = "2GiB"
    )]
    pub memory: ByteSize,

    /// How long Chromium may take to start.
    #[arg(id = "browser-launch-timeout", long = "browser-launch-timeout", env = "TRAWL_BROWSER_LAUNCH_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub launch_timeout: Duration,
}

/// How webhook deliveries are sent and retried. The SSRF guard of [`FetchConfig`]
/// (private networks, opened networks and hosts) applies to them as to pages.
#[derive(clap::Args, Debug, Clone)]
pub struct WebhookConfig {
    /// Time one delivery attempt may take, the receiver's answer included.
    #[arg(id = "webhook-timeout", long = "webhook-timeout", env = "TRAWL_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Bound of the wait after the first failed attempt; it doubles with each failure
    /// (full jitter).
    #[arg(id = "webhook-retry-base", long = "webhook-retry-base", env = "TRAWL_WEBHOOK_RETRY_BASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub retry_base: Duration,

    /// The wait between attempts never grows past this.
    #[arg(id = "webhook-retry-cap", long = "webhook-retry-cap", env = "TRAWL_WEBHOOK_RETRY_CAP", default_value = "1h", value_parser = humantime::parse_duration)]
    pub retry_cap: Duration,

    /// How long after a delivery was created it is still retried; then it is `failed`.
    #[arg(id = "webhook-retry-for", long = "webhook-retry-for", env = "TRAWL_WEBHOOK_RETRY_FOR", default_value = "24h", value_parser = humantime::parse_duration)]
    pub retry_for: Duration,

    /// Deliveries one host sends at once.
    #[arg(
        id = "webhook-concurrency",
        long = "webhook-concurrency",
        env = "TRAWL_WEBHOOK_CONCURRENCY",
        default_value_t = 8
    )]
    pub concurrency: usize,
}

/// Each user's quotas by default, and the API's request rate per key. An admin overrides
/// any of them for one user (`PUT /v1/users/{id}/quotas`). The defaults are generous: a
/// team on its own host should never meet them by accident.
#[derive(clap::Args, Debug, Clone)]
pub struct QuotaConfig {
    /// Runs of one user's that run at once, across all hosts; more are not refused but
    /// wait `queued` for one of the user's runs to end.
    #[arg(
        id = "quota-concurrent-runs",
        long = "quota-concurrent-runs",
        env = "TRAWL_QUOTA_CONCURRENT_RUNS",
        default_value_t = 100,
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub concurrent_runs: i32,

    /// Most pages a job (or a run's override) may ask for per run; more is refused with
    /// `quota_max_pages`.
    #[arg(
        id = "quota-max-pages",
        long = "quota-max-pages",
        env = "TRAWL_QUOTA_MAX_PAGES",
        default_value_t = 100_000,
        value_parser = clap::value_parser!(i32).range(1..)
    )]
    pub max_pages: i32,

    /// Most jobs one user may have; one more is refused with `quota_jobs`.
    #[arg(
        id = "quota-jobs",
        long = "quota-jobs",
        env = "TRAWL_QUOTA_JOBS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub jobs: i32,

    /// Most schemas one user may have; one more is refused with `quota_schemas`.
    #[arg(
        id = "quota-schemas",
        long = "quota-schemas",
        env = "TRAWL_QUOTA_SCHEMAS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub schemas: i32,

    /// Most private plugin versions one member may own (with `TRAWL_MEMBER_UPLOADS`);
    /// one more is refused with `quota_plugins`. Admins' uploads are shared, not counted.
    #[arg(
        id = "quota-plugins",
        long = "quota-plugins",
        env = "TRAWL_QUOTA_PLUGINS",
        default_value_t = 500,
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub plugins: i32,

    /// Shortest time between two occurrences of a job's schedule; a schedule that fires
    /// more often is refused with `quota_schedule_interval`. `1s` allows any schedule
    /// (a schedule's finest step is a second).
    #[arg(id = "quota-min-schedule-interval", long = "quota-min-schedule-interval", env = "TRAWL_QUOTA_MIN_SCHEDULE_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub min_schedule_interval: Duration,

    /// API requests per second each API key may make (`0` or `off`: no limit); past it
    /// the API answers 429 `rate_limited` with `Retry-After`. Each host counts the
    /// requests it serves on its own: behind a balancer of N hosts a key may make up to
    /// N times as many.
    #[arg(
        id = "rate-limit",
        long = "rate-limit",
        env = "TRAWL_RATE_LIMIT",
        default_value = "100",
        value_parser = parse_rate
    )]
    pub rate_limit: u32,

    /// Requests a key may make at once before the rate applies (the bucket's size): large
    /// enough for a script that sets up hundreds of jobs at once, while a client that keeps
    /// going faster than the rate is held to it.
    #[arg(
        id = "rate-limit-burst",
        long = "rate-limit-burst",
        env = "TRAWL_RATE_LIMIT_BURST",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64)
    )]
    pub rate_burst: u32,
}

impl Default for QuotaConfig {
    /// The defaults the flags declare.
    fn default() -> Self {
        declared_defaults()
    }
}

/// Requests per second: a whole number, `0` or `off` for none.
pub fn parse_rate(s: &str) -> Result<u32, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    s.parse::<u32>()
        .ok()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| format!("{s:?} is not a number of requests per second (or `off`)"))
}

impl Default for WebhookConfig {
    /// The defaults the flags declare.
    fn default() -> Self {
        declared_defaults()
    }
}

/// `10.0.0.0/8`, or a single address as a /32 (/128).
pub fn parse_network(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is neither a CIDR nor an IP address"))
}

impl Default for FetchConfig {
    /// The defaults the flags declare.
    fn default() -> Self {
        declared_defaults()
    }
}

/// What the flags of `T` declare as defaults, with no flag given and no `TRAWL_*`
/// variable read: each default is written once, in its `#[arg]` attribute, and `trawl
/// serve --help` shows the same values the code uses.
fn declared_defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("trawl").no_binary_name(true))
        .mut_args(|arg| arg.env(None::<&'static str>));
    let matches = command
        .try_get_matches_from(std::iter::empty::<String>())
        .expect("the declared defaults parse");
    T::from_arg_matches(&matches).expect("the declared defaults are values of their types")
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        let mut config: Config = declared_defaults();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir;
        config.poll_interval = Duration::from_millis(200);
        config.fetch.allow_private_networks = true;
        // Retries of misbehaving test sites should not make the suite slow.
        config.fetch.retry_base = Duration::from_millis(50);
        config.fetch.retry_cap = Duration::from_secs(1);
        config
    }
}

/// Plugin calls at once by default: one more than the CPUs (see `PluginLimits::concurrency`).
pub fn default_plugin_concurrency() -> usize {
    cpus() + 1
}

/// The number of CPUs this process may use.
pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults in code are the flags' declared ones, whatever the environment says.
    #[test]
    fn defaults_are_the_declared_ones() {
        let limits = PluginLimits::default();
        assert_eq!(limits.memory, ByteSize::mib(128));
        assert_eq!(limits.fuel, 2_000_000_000);
        assert_eq!(limits.timeout, Duration::from_secs(10));
        assert_eq!(limits.concurrency, default_plugin_concurrency());
        assert_eq!(limits.max_dom_depth, 1_024);
        assert!(limits.pooling && !limits.member_uploads);
        let fetch = FetchConfig::default();
        assert_eq!(fetch.max_retry_after, Duration::from_secs(120));
        assert_eq!(fetch.user_agent, DEFAULT_USER_AGENT);
        assert!(!fetch.allow_private_networks && fetch.allowed_networks.is_empty());
        let webhooks = WebhookConfig::default();
        assert_eq!(webhooks.timeout, Duration::from_secs(10));
        assert_eq!(webhooks.retry_base, Duration::from_secs(30));
        assert_eq!(webhooks.retry_cap, Duration::from_secs(3600));
        assert_eq!(webhooks.retry_for, Duration::from_secs(24 * 3600));
        let config = Config::for_tests(PathBuf::from("/tmp/x"));
        assert_eq!(config.max_concurrent_runs, 4);
        assert_eq!(config.lease, Duration::from_secs(30));
        assert_eq!(config.export_max_size, ByteSize::gib(10));
        assert_eq!(config.run_log_lines, 1000);
        assert_eq!(config.scheduler_interval, Duration::from_secs(1));
        assert!(config.database_url.is_none() && config.fetch.allow_private_networks);
        assert!(config.metrics_token.is_none());
        let retention = &config.retention;
        assert!(retention.keep_runs.is_none() && retention.max_age.is_none());
        assert_eq!(retention.interval, Duration::from_secs(3600));
        let quotas = QuotaConfig::default();
        assert_eq!(quotas.concurrent_runs, 100);
        assert_eq!(quotas.max_pages, 100_000);
        assert_eq!(quotas.min_schedule_interval, Duration::from_secs(1));
        assert_eq!((quotas.rate_limit, quotas.rate_burst), (100, 1_000));
        assert_eq!(parse_rate("off"), Ok(0));
        assert_eq!(parse_rate(" 7 "), Ok(7));
        assert!(parse_rate("fast").is_err());
    }
}
