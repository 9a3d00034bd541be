//! The embedded PostgreSQL default: a private cluster under trawl's data directory, run
//! from the installed server binaries when no `DATABASE_URL` is given.
//!
//! The cluster listens on a Unix socket only (no TCP port to collide with), is reused on
//! the next start, and is stopped on shutdown. PostgreSQL refuses to run as root, so as
//! root the cluster belongs to, and runs as, the `postgres` system user.
//!
//! `pg_ctl` starts the server in a session of its own, so no signal that ends trawl
//! reaches it. A cluster trawl started is therefore watched: a small shell, in a process
//! group of its own, waits on a pipe whose other end only trawl holds, and stops the
//! cluster when that pipe closes, which it does however trawl ends (Ctrl-C under a pipe,
//! SIGHUP, SIGKILL, a crash). A start that finds the cluster running with its owner gone
//! says so and restarts it under itself.

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
    /// The file naming the process that owns the running cluster.
    owner_file: PathBuf,
    /// The watchdog's end of the pipe, while this process owns the cluster. A std
    /// mutex: taken once, at stop.
    watch: std::sync::Mutex<Option<Watch>>,
}

#[derive(Debug)]
struct Watch {
    _child: tokio::process::Child,
    _pipe: tokio::process::ChildStdin,
}

/// Whether a start takes the cluster for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keeping {
    /// `trawl serve`: the cluster is this process's, stopped when it ends, however.
    Owned,
    /// The tests' cluster, shared by every test process and left running.
    Shared,
}

const PORT: u16 = 5432;

impl EmbeddedPostgres {
    /// Start (creating it on first use) the cluster under `dir`, with the server binaries
    /// found in `TRAWL_PG_BIN`, Debian's versioned directories or `PATH`. The cluster is
    /// this process's: it stops when [`stop`](Self::stop) is called or the process ends.
    pub async fn start(dir: &Path) -> Result<Self, EmbeddedError> {
        Self::start_with(dir, find_binaries()).await
    }

    /// [`start`](Self::start) with the binaries' directory given (`None`: none installed).
    pub async fn start_with(dir: &Path, bin: Option<PathBuf>) -> Result<Self, EmbeddedError> {
        Self::start_keeping(dir, bin, Keeping::Owned).await
    }

    /// Start the cluster under `dir` if it is not running, for any number of processes
    /// to share, and leave it running (the tests' cluster).
    pub async fn start_shared(dir: &Path) -> Result<Self, EmbeddedError> {
        Self::start_keeping(dir, find_binaries(), Keeping::Shared).await
    }

    async fn start_keeping(
        dir: &Path,
        bin: Option<PathBuf>,
        keeping: Keeping,
    ) -> Result<Self, EmbeddedError> {
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
            owner_file: dir.join("owner.pid"),
            watch: std::sync::Mutex::new(None),
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
        let mut running = this.running().await;
        if running && keeping == Keeping::Owned {
            match this.owner() {
                Some(pid) if pid != std::process::id() && is_alive(pid) => {
                    tracing::warn!(
                        "the embedded PostgreSQL under {} belongs to another running trawl (pid {pid}): sharing it",
                        dir.display()
                    );
                    return Ok(this);
                }
                owner => {
                    let left_by = owner.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    tracing::warn!(
                        "the embedded PostgreSQL under {} was still running, left by a trawl{left_by} \
                         that ended without stopping it: restarting it under this one",
                        dir.display()
                    );
                    this.pg_stop().await?;
                    running = false;
                }
            }
        }
        if !running {
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
            if keeping == Keeping::Owned {
                this.watch_over().await?;
            }
        }
        Ok(this)
    }

    /// The pid in the owner file, if any.
    fn owner(&self) -> Option<u32> {
        std::fs::read_to_string(&self.owner_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Become the cluster's owner and start its watchdog.
    async fn watch_over(&self) -> Result<(), EmbeddedError> {
        let io = |source| EmbeddedError::Io {
            path: self.owner_file.clone(),
            source,
        };
        std::fs::write(&self.owner_file, std::process::id().to_string()).map_err(io)?;
        let mut stop = self.command("pg_ctl");
        stop.args([
            "-D",
            &self.data.to_string_lossy(),
            "-m",
            "fast",
            "-w",
            "stop",
        ]);
        let stop = stop.as_std();
        let mut watchdog = Command::new("sh");
        // Signals that end trawl's process group must not end its watchdog too: a group
        // of its own, and INT, HUP and QUIT ignored.
        watchdog
            .args([
                "-c",
                "trap '' INT HUP QUIT; read _; exec \"$@\" >/dev/null 2>&1",
                "trawl-postgres-watchdog",
            ])
            .arg(stop.get_program())
            .args(stop.get_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .process_group(0)
            .kill_on_drop(false);
        let mut child = watchdog.spawn().map_err(|e| EmbeddedError::Command {
            command: "sh (the embedded PostgreSQL's watchdog)".into(),
            detail: e.to_string(),
        })?;
        let pipe = child.stdin.take().ok_or_else(|| EmbeddedError::Command {
            command: "sh (the embedded PostgreSQL's watchdog)".into(),
            detail: "no pipe to its input".into(),
        })?;
        *self.watch.lock().unwrap_or_else(|e| e.into_inner()) = Some(Watch {
            _child: child,
            _pipe: pipe,
        });
        Ok(())
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

    /// Stop the cluster if this process owns it (fast shutdown: open transactions roll
    /// back); a shared cluster is left running.
    pub async fn stop(&self) -> Result<(), EmbeddedError> {
        let watch = self.watch.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(watch) = watch else {
            return Ok(());
        };
        let stopped = self.pg_stop().await;
        let _ = std::fs::remove_file(&self.owner_file);
        // Closing the pipe lets the watchdog go (its own stop then finds nothing to do).
        drop(watch);
        stopped
    }

    async fn pg_stop(&self) -> Result<(), EmbeddedError> {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .await
    }

    async fn running(&self) -> bool {
        let data = self.data.to_string_lossy().into_owned();
        self.run("pg_ctl", &["-D", &data, "status"]).await.is_ok()
    }

    /// A server tool, run as the cluster's user.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        }
    }

    async fn run(&self, tool: &str, args: &[&str]) -> Result<(), EmbeddedError> {
        let program = self.bin.join(tool);
        let mut command = self.command(tool);
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

/// Whether a process lives (on Linux through /proc, elsewhere through `kill -0`).
fn is_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.is_dir() {
        return proc.join(pid.to_string()).exists();
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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
