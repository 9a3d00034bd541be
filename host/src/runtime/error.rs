//! How a failed call is told apart: the plugin's own error, a trap, each limit (time,
//! fuel, memory, output, the host's bounds) and a page too complex to query, each with
//! its own stable code, tagged with the plugin's `name@version`.

use std::time::Duration;

use wasmtime::{Store, Trap};

use super::bindings::{v0_1, v0_2};
use super::store::PluginState;
pub(crate) use super::trap::HostTrap;

/// A plugin's own, deliberate error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// The schema or options cannot be used.
    InvalidInput,
    /// The page or rows are not something the plugin handles.
    Unsupported,
    /// Anything else.
    Other,
}

/// The plugin's error value with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginErrorInfo {
    /// Which variant.
    pub kind: PluginErrorKind,
    /// What the plugin said.
    pub message: String,
}

impl PluginErrorInfo {
    fn of(kind: PluginErrorKind, message: String) -> Self {
        Self { kind, message }
    }
}

impl From<v0_1::types::PluginError> for PluginErrorInfo {
    fn from(e: v0_1::types::PluginError) -> Self {
        use v0_1::types::PluginError as E;
        match e {
            E::InvalidInput(m) => Self::of(PluginErrorKind::InvalidInput, m),
            E::Unsupported(m) => Self::of(PluginErrorKind::Unsupported, m),
            E::Other(m) => Self::of(PluginErrorKind::Other, m),
        }
    }
}

impl From<v0_2::types::PluginError> for PluginErrorInfo {
    fn from(e: v0_2::types::PluginError) -> Self {
        use v0_2::types::PluginError as E;
        match e {
            E::InvalidInput(m) => Self::of(PluginErrorKind::InvalidInput, m),
            E::Unsupported(m) => Self::of(PluginErrorKind::Unsupported, m),
            E::Other(m) => Self::of(PluginErrorKind::Other, m),
        }
    }
}

/// Why a plugin call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallErrorKind {
    /// The plugin returned its own error.
    #[error("{}", .0.message)]
    Plugin(PluginErrorInfo),
    /// The wall-clock deadline passed.
    #[error("ran longer than {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The fuel budget ran out.
    #[error("used up its fuel budget")]
    OutOfFuel,
    /// The memory cap refused to grow memory.
    #[error("reached its memory limit")]
    MemoryLimit,
    /// The output was larger than allowed.
    #[error("returned too much: {0}")]
    OutputLimit(String),
    /// The plugin asked the host for more than it may have (DOM nodes, the size of a
    /// query or its answer, log lines).
    #[error("asked the host for too much: {0}")]
    ResourceLimit(String),
    /// The page is too large for the host to build a DOM of: the page's fault, not the
    /// plugin's.
    #[error("could not query the page: {0}")]
    PageTooComplex(String),
    /// The output broke the contract (an item that is not a JSON object).
    #[error("returned malformed output: {0}")]
    BadOutput(String),
    /// Any other trap: a panic, a stack overflow, an unreachable.
    #[error("crashed: {0}")]
    Trap(String),
    /// A plugin of one kind was used as the other.
    #[error("{0}")]
    WrongKind(&'static str),
}

/// A failed plugin call, tagged with the plugin's `name@version`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin} {kind}")]
pub struct CallError {
    /// `name@version`.
    pub plugin: String,
    /// What went wrong.
    pub kind: CallErrorKind,
    /// Fuel burnt before the failure.
    pub fuel: u64,
}

impl CallError {
    /// Every failed call makes exactly one of these, here: so here it is counted in the
    /// plugin error metrics, by its code.
    pub(crate) fn new(plugin: &str, kind: CallErrorKind) -> Self {
        let error = Self {
            plugin: plugin.to_owned(),
            kind,
            fuel: 0,
        };
        crate::telemetry::plugin_error(error.code());
        error
    }

    pub(crate) fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }

    /// Whether the page caused the failure rather than the plugin: such a page fails
    /// alone, and the run goes on.
    pub fn is_page_fault(&self) -> bool {
        matches!(self.kind, CallErrorKind::PageTooComplex(_))
    }

    /// The stable error code stored on a run or export.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            CallErrorKind::Plugin(_) => "plugin_error",
            CallErrorKind::Timeout(_) => "plugin_timeout",
            CallErrorKind::OutOfFuel => "plugin_out_of_fuel",
            CallErrorKind::MemoryLimit => "plugin_memory_limit",
            CallErrorKind::OutputLimit(_) => "plugin_output_limit",
            CallErrorKind::BadOutput(_) => "plugin_bad_output",
            CallErrorKind::ResourceLimit(_) => "plugin_resource_limit",
            CallErrorKind::PageTooComplex(_) => "page_too_complex",
            CallErrorKind::Trap(_) => "plugin_trap",
            CallErrorKind::WrongKind(_) => "plugin_wrong_kind",
        }
    }
}

/// Turn a wasmtime error from a call into the right [`CallError`].
pub(crate) fn classify(
    error: wasmtime::Error,
    store: &Store<PluginState>,
    plugin: &str,
) -> CallError {
    // A host call's own bound comes first: the plugin's memory may have been refused
    // while the host tried to hand it what the bound then stopped.
    let kind = if let Some(trap) = error.downcast_ref::<HostTrap>() {
        match trap {
            HostTrap::Limit(what) => CallErrorKind::ResourceLimit(what.clone()),
            HostTrap::Deadline => CallErrorKind::Timeout(store.data().clock.timeout()),
            HostTrap::Page(what) => CallErrorKind::PageTooComplex(what.clone()),
        }
    } else if store.data().limiter.memory_refused {
        CallErrorKind::MemoryLimit
    } else {
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => CallErrorKind::OutOfFuel,
            Some(Trap::Interrupt) => CallErrorKind::Timeout(store.data().clock.timeout()),
            Some(Trap::StackOverflow) => CallErrorKind::Trap("stack overflow".into()),
            Some(trap) => CallErrorKind::Trap(first_line(&format!("{trap}"))),
            None => {
                let text = format!("{error:#}");
                // wasmtime's hostcall-fuel error type is private: match its message.
                if text.contains("fuel allocated for hostcalls") {
                    CallErrorKind::OutputLimit("a host call carried too much data".into())
                } else {
                    CallErrorKind::Trap(first_line(&text))
                }
            }
        }
    };
    CallError::new(plugin, kind)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(500).collect()
}
