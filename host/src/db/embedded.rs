//! The embedded PostgreSQL default: a private cluster under trawl's data directory, run
//! from the installed server binaries when no `DATABASE_URL` is given.
//!
//! The cluster listens on a Unix socket only (no TCP port to collide with), is reused on
//! the next start, and is stopped on shutdown. PostgreSQL refuses to run as root, so as
//! root the cluster belongs to, and runs as, the `postgres` system user.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::postgres::PgConnectOptions;
use tokio::process::Command;

/// Why the embedded cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// No server binaries.
    #[error(
        "no DATABASE_URL was given and no PostgreSQL server binaries (initdb, pg_ctl) were found; \
         install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`), \
         set TRAWL_PG_BIN to the directory holding them, or point DATABASE_URL at a server"
    )]
    NoBinaries,
    /// Running as root, but there is no `postgres` user to run the cluster as.
    #[error("running as root needs a `postgres` system user to run the embedded PostgreSQL as")]
    NoPostgresUser,
    /// A command failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// What ran.
        command: String,
        /// What it said.
        detail: String,
    },
    /// File system trouble.
    #[error("embedded PostgreSQL directory {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        source: std::io::Error,
    },
}

/// A running private cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<String>,
}

const PORT: u16 = 5432;

impl EmbeddedPostgres {
    /// Start (creating it on first use) the cluster under `dir`, with the server binaries
    /// found in `TRAWL_PG_BIN`, Debian's versioned directories or `PATH`.
    pub async fn start(dir: &Path) -> Result<Self, EmbeddedError> {
        Self::start_with(dir, find_binaries()).await
    }

    /// [`start`](Self::start) with the binaries' directory given (`None`: none installed).
    pub async fn start_with(dir: &Path, bin: Option<PathBuf>) -> Result<Self, EmbeddedError> {
        let bin = bin.ok_or(EmbeddedError::NoBinaries)?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EmbeddedError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let dir = std::fs::canonicalize(dir).map_err(io(dir))?;
        let data = dir.join("pgdata");
        // Unix socket paths are limited to ~107 bytes.
        let socket_dir = if dir.as_os_str().len() < 80 {
            dir.clone()
        } else {
            let hash = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
                dir.as_os_str().as_encoded_bytes(),
            ));
            PathBuf::from(format!("/tmp/trawl-pg-{}", &hex::encode(hash)[..12]))
        };
        std::fs::create_dir_all(&socket_dir).map_err(io(&socket_dir))?;
        let is_root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let run_as = if is_root {
            let ids = Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .await
                .ok();
            let uid: u32 = ids
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
                .ok_or(EmbeddedError::NoPostgresUser)?;
            for path in [&dir, &socket_dir] {
                std::os::unix::fs::chown(path, Some(uid), None).map_err(io(path))?;
            }
            Some("postgres".to_owned())
        } else {
            None
        };
        let this = Self {
            bin,
            data,
            socket_dir,
            run_as,
        };

        if !this.data.join("PG_VERSION").exists() {
            let data = this.data.to_string_lossy().into_owned();
            this.run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )
            .await?;
        }
        if !this.running().await {
            let data = this.data.to_string_lossy().into_owned();
            let log = dir.join("postgres.log").to_string_lossy().into_owned();
            let opts = format!(
                "-p {PORT} -k {} -c listen_addresses=''",
                this.socket_dir.display()
            );
            this.run(
                "pg_ctl",
                &[
                    "-D", &data, "-o", &opts, "-l", &log, "-w", "-t", "60", "start",
                ],
            )
            .await?;
        }
        Ok(this)
    }

    /// How to connect.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username("postgres")
            .database("postgres")
    }

    /// A `postgres://` URL for psql and friends.
    pub fn url(&self) -> String {
        format!(
            "postgresql:///postgres?host={}&port={PORT}&user=postgres",
            self.socket_dir.display()
        )
    }

    /// Stop the cluster (fast shutdown: open transactions roll back).
    pub async fn stop(&self) -> Result<(), EmbeddedError> {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .await
    }

    async fn running(&self) -> bool {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "status"]).await.is_ok()
    }

    async fn run(&self, tool: &str, args: &[&str]) -> Result<(), EmbeddedError> {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).stdin(Stdio::null()).current_dir("/");
        let output = command.output().await.map_err(|e| EmbeddedError::Command {
            command: program.display().to_string(),
            detail: e.to_string(),
        })?;
        if output.status.success() {
            return Ok(());
        }
        let mut detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if detail.is_empty() {
            detail = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        if self.run_as.is_some() && detail.contains("ermission denied") {
            detail.push_str(
                " (the postgres user must be able to reach the data directory: put TRAWL_DATA_DIR \
                 outside directories only root can enter, such as /root)",
            );
        }
        Err(EmbeddedError::Command {
            command: format!("{tool} {}", args.join(" ")),
            detail,
        })
    }
}

/// Where `initdb` and `pg_ctl` live: `TRAWL_PG_BIN`, Debian's versioned directories
/// (newest first), then `PATH`.
fn find_binaries() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("TRAWL_PG_BIN").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    if let Some((_, dir)) = versioned.into_iter().find(|(_, d)| has_tools(d)) {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has_tools(d))
}
