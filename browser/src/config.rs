//! How the pool runs Chromium, and where it finds it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Unavailable;

/// What the message of [`Unavailable`] tells an operator to do.
pub(crate) const INSTALL_HINT: &str =
    "install Debian's `chromium` package (apt-get install chromium)";

/// Names tried on `PATH` when no executable is configured, in this order.
const CANDIDATES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The pool's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserConfig {
    /// Chromium's executable; `None` looks for one on `PATH` ([`CANDIDATES`]).
    pub executable: Option<PathBuf>,
    /// Browser contexts rendering at once; further renders wait their turn. Each one is a
    /// renderer process of 50–150 MB.
    pub max_contexts: usize,
    /// From spawning Chromium to its DevTools endpoint answering.
    pub launch_timeout: Duration,
    /// Above this RSS of the whole Chromium process tree the browser is restarted between
    /// renders; it also sets V8's heap cap per renderer.
    pub memory_limit_bytes: Option<u64>,
    /// Each launch gets a fresh profile directory under here, removed when it exits.
    pub data_dir: PathBuf,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self {
            executable: None,
            max_contexts: 2,
            launch_timeout: Duration::from_secs(20),
            memory_limit_bytes: None,
            data_dir: std::env::temp_dir().join("trawl-browser"),
        }
    }
}

/// The explicit path if it is a file, else the first candidate found on `PATH`.
pub(crate) fn find_executable(config: &BrowserConfig) -> Result<PathBuf, Unavailable> {
    if let Some(path) = &config.executable {
        return if path.is_file() {
            Ok(path.clone())
        } else {
            Err(Unavailable {
                message: format!(
                    "no browser at {}: fix the configured path or {INSTALL_HINT}",
                    path.display()
                ),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_on_path(&path).ok_or_else(|| Unavailable {
        message: format!(
            "no Chromium found on PATH (tried {}): {INSTALL_HINT}",
            CANDIDATES.join(", ")
        ),
    })
}

fn find_on_path(path: &std::ffi::OsStr) -> Option<PathBuf> {
    CANDIDATES.iter().find_map(|name| {
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_explicit_path_names_the_package() {
        let config = BrowserConfig {
            executable: Some(PathBuf::from("/nonexistent/chromium")),
            ..BrowserConfig::default()
        };
        let err = find_executable(&config).unwrap_err();
        assert!(err.message.contains("apt-get install chromium"), "{err}");
        assert!(err.message.contains("/nonexistent/chromium"), "{err}");
    }

    #[test]
    fn an_empty_path_finds_nothing() {
        assert_eq!(find_on_path(std::ffi::OsStr::new("")), None);
        assert_eq!(find_on_path(std::ffi::OsStr::new("/nonexistent")), None);
    }
}
