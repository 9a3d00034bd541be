//! Starting Chromium with its own networking pointed at nothing, finding its DevTools
//! endpoint, and measuring the memory of its process tree.
//!
//! Every request a page makes is meant to reach the host through the Fetch domain; the
//! flags here are the backstop for what that domain does not see (WebSockets, preconnects,
//! service-worker preloads, the browser's own background traffic): all of it goes to a
//! proxy on a loopback port that refuses connections, loopback included.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

use crate::config::BrowserConfig;

/// A running Chromium: killed when dropped, its profile directory removed.
pub(crate) struct Chromium {
    child: Child,
    pid: u32,
    profile: PathBuf,
    /// `127.0.0.1:<port>` of the dead proxy.
    proxy: String,
    /// The port the browser's proxy points at: bound and never listened on, so connections
    /// are refused and no other process can take the port while the browser runs.
    _dead_proxy: tokio::net::TcpSocket,
    stderr_task: tokio::task::JoinHandle<()>,
}

impl Chromium {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn proxy(&self) -> &str {
        &self.proxy
    }

    /// Whether the process has exited (it is reaped if so).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the browser and removes its profile. Its child processes (zygotes,
    /// renderers, utilities) exit on their own once the browser is gone (checked with
    /// Chromium 156: none left two seconds after a SIGKILL of the browser).
    pub(crate) async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        let profile = std::mem::take(&mut self.profile);
        let _ = tokio::fs::remove_dir_all(&profile).await;
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.stderr_task.abort();
        let _ = self.child.start_kill();
        if !self.profile.as_os_str().is_empty() {
            // Best effort: the browser may still hold files for a moment after the kill.
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// Starts Chromium and waits for its DevTools WebSocket address.
pub(crate) async fn launch(
    executable: &Path,
    config: &BrowserConfig,
    launch_number: u64,
) -> Result<(Chromium, String), String> {
    let dead_proxy = reserve_refusing_port().map_err(|e| format!("reserving a port: {e}"))?;
    let proxy_port = dead_proxy
        .local_addr()
        .map_err(|e| format!("reserving a port: {e}"))?
        .port();
    let profile = config
        .data_dir
        .join(format!("chromium-{}-{launch_number}", std::process::id()));
    // A profile left by an earlier process with the same pid would not be fresh.
    let _ = tokio::fs::remove_dir_all(&profile).await;
    tokio::fs::create_dir_all(&profile)
        .await
        .map_err(|e| format!("creating {}: {e}", profile.display()))?;

    let mut child = Command::new(executable)
        .args(arguments(&profile, proxy_port, heap_cap_mib(config)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", executable.display()))?;
    let pid = child.id().unwrap_or_default();
    let Some(stderr) = child.stderr.take() else {
        return Err("Chromium's stderr was not captured".into());
    };
    let mut chromium = Chromium {
        child,
        pid,
        profile,
        proxy: format!("127.0.0.1:{proxy_port}"),
        _dead_proxy: dead_proxy,
        stderr_task: tokio::spawn(async {}),
    };
    match tokio::time::timeout(config.launch_timeout, devtools_url(stderr)).await {
        Ok(Ok((url, stderr))) => {
            chromium.stderr_task = tokio::spawn(drain(stderr));
            Ok((chromium, url))
        }
        Ok(Err(tail)) => {
            let status = chromium.child.try_wait().ok().flatten();
            chromium.kill().await;
            Err(format!(
                "Chromium exited before it was ready ({}): {tail}",
                status.map_or_else(|| "still running".to_owned(), |s| s.to_string())
            ))
        }
        Err(_) => {
            chromium.kill().await;
            Err(format!(
                "no DevTools endpoint within {:?}",
                config.launch_timeout
            ))
        }
    }
}

/// V8's old-space cap per renderer: half the memory limit shared by the renderers that
/// may run at once, so one runaway page fails its own render (its renderer dies of OOM)
/// before the tree crosses the limit.
fn heap_cap_mib(config: &BrowserConfig) -> Option<u64> {
    let limit = config.memory_limit_bytes?;
    let per_renderer = limit / 2 / config.max_contexts.max(1) as u64;
    Some((per_renderer / (1024 * 1024)).clamp(64, 4096))
}

fn arguments(profile: &Path, proxy_port: u16, heap_cap_mib: Option<u64>) -> Vec<OsString> {
    let mut user_data_dir = OsString::from("--user-data-dir=");
    user_data_dir.push(profile);
    let mut args: Vec<OsString> = [
        "--headless=new",
        // trawl runs as root in its containers, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-sync",
        "--disable-extensions",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-background-networking",
        "--dns-prefetch-disable",
        "--mute-audio",
        "--hide-scrollbars",
        "--password-store=basic",
        "--metrics-recording-only",
        // Renders run side by side in background tabs: timers must not be throttled.
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        // The browser's own fetches of a service worker's navigation preload bypass the
        // Fetch domain; without the feature they are the page's own requests again.
        "--disable-features=ServiceWorkerAutoPreload,Translate,OptimizationHints,MediaRouter",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.push(OsString::from(format!(
        "--proxy-server=127.0.0.1:{proxy_port}"
    )));
    // `<-loopback>` removes Chromium's implicit bypass of loopback addresses, so a page
    // cannot reach 127.0.0.1 (the host's own services) around the proxy either.
    args.push(OsString::from("--proxy-bypass-list=<-loopback>"));
    if let Some(mib) = heap_cap_mib {
        args.push(OsString::from(format!(
            "--js-flags=--max-old-space-size={mib}"
        )));
    }
    args.push(user_data_dir);
    args.push(OsString::from("about:blank"));
    args
}

/// A loopback port that refuses every connection for as long as the socket lives.
fn reserve_refusing_port() -> std::io::Result<tokio::net::TcpSocket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
    Ok(socket)
}

/// Lines Chromium prints before its endpoint, kept to explain a failed launch.
const TAIL_LINES: usize = 8;

/// Reads stderr up to `DevTools listening on ws://…`; on EOF, the last lines printed.
async fn devtools_url(stderr: ChildStderr) -> Result<(String, BufReader<ChildStderr>), String> {
    let mut reader = BufReader::new(stderr);
    let mut tail: std::collections::VecDeque<String> = Default::default();
    let mut line = String::new();
    loop {
        line.clear();
        // Chromium's log lines are short; a line of megabytes would be a broken binary,
        // and the launch timeout bounds the wait for it either way.
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return Err(Vec::from(tail).join(" | ")),
            Ok(_) => {}
        }
        let text = line.trim();
        if let Some(url) = text.strip_prefix("DevTools listening on ") {
            return Ok((url.to_owned(), reader));
        }
        if !text.is_empty() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(text.chars().take(300).collect());
        }
    }
}

/// Keeps reading stderr so Chromium never blocks on a full pipe; its log goes to tracing.
async fn drain(mut stderr: BufReader<ChildStderr>) {
    let mut buffer = vec![0u8; 8192];
    while let Ok(n) = stderr.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        tracing::trace!(target: "trawl_browser::chromium", "{}", String::from_utf8_lossy(&buffer[..n]));
    }
}

/// The summed `VmRSS` of a process and all its descendants, from `/proc`; `None` when the
/// process is gone. Shared pages count once per process, so this overstates what the
/// tree holds — it is the number the kernel's per-process accounting gives.
pub(crate) fn tree_rss_bytes(root: u32) -> Option<u64> {
    let tree = descendants(root);
    let mut total = 0u64;
    let mut found = false;
    for pid in tree {
        if let Some(kib) = vm_rss_kib(pid) {
            total += kib * 1024;
            found = true;
        }
    }
    found.then_some(total)
}

/// `root` and every process below it.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        next += 1;
    }
    tree
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so parse after the
    // last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backstop_flags_are_there() {
        let args = arguments(Path::new("/tmp/p"), 4242, Some(256));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        for flag in [
            "--proxy-server=127.0.0.1:4242",
            "--proxy-bypass-list=<-loopback>",
            "--headless=new",
            "--no-sandbox",
            "--disable-background-networking",
            "--dns-prefetch-disable",
            "--user-data-dir=/tmp/p",
            "--js-flags=--max-old-space-size=256",
        ] {
            assert!(
                args.iter().any(|a| a == flag),
                "{flag} missing from {args:?}"
            );
        }
    }

    #[test]
    fn the_heap_cap_follows_the_memory_limit() {
        let mut config = BrowserConfig {
            memory_limit_bytes: Some(2 * 1024 * 1024 * 1024),
            max_contexts: 2,
            ..BrowserConfig::default()
        };
        assert_eq!(heap_cap_mib(&config), Some(512));
        config.memory_limit_bytes = Some(1024);
        assert_eq!(heap_cap_mib(&config), Some(64));
        config.memory_limit_bytes = None;
        assert_eq!(heap_cap_mib(&config), None);
    }

    #[test]
    fn our_own_tree_has_a_resident_size() {
        let rss = tree_rss_bytes(std::process::id()).expect("this process exists");
        assert!(rss > 0);
        assert!(parent_of(std::process::id()).is_some());
    }

    #[test]
    fn the_reserved_port_refuses_connections() {
        let socket = reserve_refusing_port().expect("bind");
        let addr = socket.local_addr().expect("addr");
        let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2));
        assert!(refused.is_err(), "a connection to {addr} was accepted");
    }
}
