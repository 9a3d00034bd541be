//! Per-call limits and how a failed call is told apart: the plugin's own error, a trap,
//! and each limit (time, fuel, memory, output) get their own stable code.

use std::time::Duration;

use bytesize::ByteSize;
use wasmtime::{ResourceLimiter, Store, Trap};

use crate::config::PluginLimits;

use super::PluginState;
use super::bindings::types::PluginError;

/// The limits of one plugin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// Bytes of linear memory.
    pub memory: u64,
    /// Fuel budget.
    pub fuel: u64,
    /// Wall-clock time.
    pub timeout: Duration,
    /// Items returned.
    pub max_items: usize,
    /// Bytes of item JSON (or exporter output) returned.
    pub max_output: u64,
    /// Follow URLs returned.
    pub max_follow: usize,
    /// Bounds of the host's DOM work for the call (parse, handles, queries, answers).
    pub dom: trawl_dom::Limits,
    /// Log lines kept.
    pub max_log_lines: usize,
    /// Whose call it is: one owner's calls may hold all but one of the host's plugin
    /// slots (none: the host's own, bounded only by the total).
    pub owner: Option<crate::ids::UserId>,
}

impl From<&PluginLimits> for CallLimits {
    fn from(l: &PluginLimits) -> Self {
        Self {
            memory: l.memory.as_u64(),
            fuel: l.fuel,
            timeout: l.timeout,
            max_items: l.max_items,
            max_output: l.max_output.as_u64(),
            max_follow: l.max_follow,
            dom: trawl_dom::Limits {
                max_dom_nodes: l.max_dom_nodes,
                max_depth: l.max_dom_depth,
                max_handles: l.max_nodes,
                max_query_nodes: l.max_query_nodes,
                max_fields: l.max_query_fields,
                // One answer is one boundary crossing: as much as a call may return.
                max_answer_bytes: usize::try_from(l.max_output.as_u64()).unwrap_or(usize::MAX),
                max_selector_len: trawl_dom::Limits::default().max_selector_len,
            },
            max_log_lines: l.max_log_lines,
            owner: None,
        }
    }
}

/// Limits a schema asks for: lower than the defaults, or higher up to the ceilings.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SchemaLimits {
    /// Linear memory, e.g. `"64 MiB"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub memory: Option<ByteSize>,
    /// Fuel per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Milliseconds per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Items per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
}

impl SchemaLimits {
    /// The call limits these make from `defaults`, or which one is over its ceiling.
    pub fn apply(
        &self,
        defaults: &CallLimits,
        ceilings: &PluginLimits,
    ) -> Result<CallLimits, String> {
        let mut out = defaults.clone();
        if let Some(memory) = self.memory {
            if memory > ceilings.memory_ceiling {
                return Err(format!(
                    "memory {memory} is above the ceiling of {}",
                    ceilings.memory_ceiling
                ));
            }
            out.memory = memory.as_u64();
        }
        if let Some(fuel) = self.fuel {
            if fuel > ceilings.fuel_ceiling {
                return Err(format!(
                    "fuel {fuel} is above the ceiling of {}",
                    ceilings.fuel_ceiling
                ));
            }
            out.fuel = fuel;
        }
        if let Some(ms) = self.timeout_ms {
            let timeout = Duration::from_millis(ms);
            if timeout > ceilings.timeout_ceiling || ms == 0 {
                return Err(format!(
                    "timeout_ms {ms} must be between 1 and {}",
                    ceilings.timeout_ceiling.as_millis()
                ));
            }
            out.timeout = timeout;
        }
        if let Some(items) = self.max_items {
            let ceiling = defaults.max_items.saturating_mul(10);
            if items > ceiling {
                return Err(format!(
                    "max_items {items} is above the ceiling of {ceiling}"
                ));
            }
            out.max_items = items;
        }
        Ok(out)
    }
}

/// A memory limiter that remembers whether it refused to grow memory, so that the abort
/// that follows in the guest is reported as `plugin_memory_limit`, not as a generic trap.
pub(crate) struct Limiter {
    max_memory: usize,
    pub(crate) memory_refused: bool,
}

impl Limiter {
    pub(crate) fn new(max_memory: usize) -> Self {
        Self {
            max_memory,
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A trap the host raises in a host call made for the plugin.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostTrap {
    /// The plugin asked for more than its limits allow (DOM nodes, query size, log lines).
    #[error("{0}")]
    Limit(String),
    /// The call's deadline passed while the host worked for it.
    #[error("the call's deadline passed during a host call")]
    Deadline,
    /// The page is too large for the host to build a DOM of.
    #[error("{0}")]
    Page(String),
}

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

impl From<PluginError> for PluginErrorInfo {
    fn from(e: PluginError) -> Self {
        match e {
            PluginError::InvalidInput(message) => Self {
                kind: PluginErrorKind::InvalidInput,
                message,
            },
            PluginError::Unsupported(message) => Self {
                kind: PluginErrorKind::Unsupported,
                message,
            },
            PluginError::Other(message) => Self {
                kind: PluginErrorKind::Other,
                message,
            },
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
    pub(crate) fn new(plugin: &str, kind: CallErrorKind) -> Self {
        Self {
            plugin: plugin.to_owned(),
            kind,
            fuel: 0,
        }
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
