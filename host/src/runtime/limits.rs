//! Per-call limits: what one call may use, what a schema may ask for, and the memory
//! limiter that remembers a refusal.

use std::time::Duration;

use bytesize::ByteSize;
use wasmtime::ResourceLimiter;

use crate::config::PluginLimits;

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
