//! Plugin logging: lines become the run's logs (capped per run by the host).
//!
//! Functions take a ready message ([`info()`]`("…")`); the macros of the same names format
//! one ([`info!`](crate::log::info!)`("{n} items")`). Off wasm (native tests) lines go to
//! standard error instead of the host.
//!
//! ```
//! use trawl_sdk::log;
//!
//! log::info("starting");
//! let n = 3;
//! log::debug!("{n} items on the page");
//! ```

use crate::bindings::raw_log;

/// Severity of a log line.
///
/// ```
/// trawl_sdk::log::log(trawl_sdk::log::Level::Warn, "price missing");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Details useful when debugging a plugin.
    Debug,
    /// Normal progress.
    Info,
    /// Something looks wrong, but the plugin goes on.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    fn raw(self) -> raw_log::Level {
        match self {
            Self::Trace => raw_log::Level::Trace,
            Self::Debug => raw_log::Level::Debug,
            Self::Info => raw_log::Level::Info,
            Self::Warn => raw_log::Level::Warn,
            Self::Error => raw_log::Level::Error,
        }
    }
}

/// Record one line at `level`: one boundary crossing per line.
///
/// ```
/// use trawl_sdk::log::{log, Level};
/// log(Level::Info, "hello");
/// ```
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    raw_log::log(level.raw(), message);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = level.raw();
        eprintln!("[{level:?}] {message}");
    }
}

/// Record a [`Level::Trace`] line.
///
/// ```
/// trawl_sdk::log::trace("entering scope");
/// ```
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Record a [`Level::Debug`] line.
///
/// ```
/// trawl_sdk::log::debug("3 fields per item");
/// ```
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Record a [`Level::Info`] line.
///
/// ```
/// trawl_sdk::log::info("page done");
/// ```
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Record a [`Level::Warn`] line.
///
/// ```
/// trawl_sdk::log::warn("no price on the page");
/// ```
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Record a [`Level::Error`] line.
///
/// ```
/// trawl_sdk::log::error("schema has no properties");
/// ```
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Format and record a [`Level::Trace`] line, like `format!`.
///
/// ```
/// let node = 4;
/// trawl_sdk::log::trace!("reading node {node}");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __trawl_log_trace {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Format and record a [`Level::Debug`] line, like `format!`.
///
/// ```
/// let fields = 5;
/// trawl_sdk::log::debug!("{fields} fields");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __trawl_log_debug {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Format and record a [`Level::Info`] line, like `format!`.
///
/// ```
/// let items = 20;
/// trawl_sdk::log::info!("{items} items");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __trawl_log_info {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+))
    };
}

/// Format and record a [`Level::Warn`] line, like `format!`.
///
/// ```
/// let property = "price";
/// trawl_sdk::log::warn!("`{property}` matched nothing");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __trawl_log_warn {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Format and record a [`Level::Error`] line, like `format!`.
///
/// ```
/// let status = 500;
/// trawl_sdk::log::error!("unexpected status {status}");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __trawl_log_error {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+))
    };
}

#[doc(inline)]
pub use crate::__trawl_log_debug as debug;
#[doc(inline)]
pub use crate::__trawl_log_error as error;
#[doc(inline)]
pub use crate::__trawl_log_info as info;
#[doc(inline)]
pub use crate::__trawl_log_trace as trace;
#[doc(inline)]
pub use crate::__trawl_log_warn as warn;
