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

    /// How long a signed download link stays valid.
    #[arg(long, env = "TRAWL_EXPORT_LINK_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub export_link_ttl: Duration,

    #[command(flatten)]
    pub plugins: PluginLimits,

    #[command(flatten)]
    pub fetch: FetchConfig,
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

    /// Plugin calls running at once in this host (each holds a pooled instance).
    #[arg(
        id = "plugin-concurrency",
        long = "plugin-concurrency",
        env = "TRAWL_PLUGIN_CONCURRENCY",
        default_value_t = 16
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

    /// Log lines one call may write (the rest are counted and dropped).
    #[arg(
        id = "plugin-max-log-lines",
        long = "plugin-max-log-lines",
        env = "TRAWL_PLUGIN_MAX_LOG_LINES",
        default_value_t = 100
    )]
    pub max_log_lines: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory: ByteSize::mib(128),
            fuel: 2_000_000_000,
            timeout: Duration::from_secs(10),
            concurrency: 16,
            max_items: 10_000,
            max_output: ByteSize::mib(32),
            max_follow: 10_000,
            max_nodes: 1_000_000,
            max_log_lines: 100,
        }
    }
}

/// How pages are fetched.
#[derive(clap::Args, Debug, Clone)]
pub struct FetchConfig {
    /// Timeout of one HTTP request.
    #[arg(id = "fetch-timeout", long = "fetch-timeout", env = "TRAWL_FETCH_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Largest response body accepted; a larger page fails with `body_too_large`.
    #[arg(
        id = "fetch-max-body",
        long = "fetch-max-body",
        env = "TRAWL_FETCH_MAX_BODY",
        default_value = "10MiB"
    )]
    pub max_body: ByteSize,

    /// User-Agent sent with every request.
    #[arg(id = "user-agent", long = "user-agent", env = "TRAWL_USER_AGENT", default_value = concat!("trawl/", env!("CARGO_PKG_VERSION"), " (+https://github.com/trawl)"))]
    pub user_agent: String,

    /// Allow fetching loopback and private addresses. Off by default: a job must not be
    /// able to reach the operator's internal network. Tests and local use turn it on.
    #[arg(
        id = "allow-private-networks",
        long = "allow-private-networks",
        env = "TRAWL_ALLOW_PRIVATE_NETWORKS"
    )]
    pub allow_private_networks: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_body: ByteSize::mib(10),
            user_agent: concat!("trawl/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_private_networks: false,
        }
    }
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: None,
            data_dir,
            public_url: None,
            admin_key: None,
            max_concurrent_runs: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            export_link_ttl: Duration::from_secs(3600),
            plugins: PluginLimits::default(),
            fetch: FetchConfig {
                allow_private_networks: true,
                ..FetchConfig::default()
            },
        }
    }
}
