//! The engine of one process (Cranelift, pooling allocator, copy-on-write memory images,
//! fuel and epochs on, an epoch ticker), the linkers, the compiled plugins, and the slots
//! and CPU shares calls run in.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use super::clock::CallClock;
use super::error::{CallError, classify};
use super::limits::CallLimits;
use super::load::{Linkers, LoadError, LoadedPlugin, Loader, Parts, Pre};
use super::share::Share;
use super::slots::Slots;
use super::store::{PluginState, new_store};
use crate::config::PluginLimits;

/// How often the epoch ticks: a call's clock looks at its share and deadline this often.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The wasmtime engine, the linkers and the compiled plugins of one process.
pub struct Runtime {
    pub(super) engine: Engine,
    linkers: Linkers,
    limits: PluginLimits,
    /// Limits of a call when a schema sets none.
    pub(super) defaults: CallLimits,
    /// Compiled plugins by digest, and the on-disk cache of compiled code.
    loader: Loader,
    /// How many calls run at once, and of one owner.
    pub(super) slots: Slots,
    /// The cores, shared between busy owners.
    share: Arc<Share>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Build the engine and linkers, and start the epoch ticker.
    pub fn new(limits: PluginLimits) -> anyhow::Result<Arc<Self>> {
        let memory = usize::try_from(limits.memory.as_u64().max(limits.memory_ceiling.as_u64()))
            .unwrap_or(usize::MAX);
        // Calls hold a slot; exports, uploads and `instantiate` hold an instance outside
        // the slots: leave room so that the pool never runs dry.
        let slots = Slots::new(limits.concurrency);
        let instances = u32::try_from(slots.total() * 2 + 8).unwrap_or(u32::MAX);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            // A Rust wasip2 component holds several core instances and memories.
            .total_core_instances(instances * 8)
            .total_memories(instances * 4)
            .total_tables(instances * 8)
            .max_memory_size(memory)
            // Keep the first pages of each slot resident between calls and reset only the
            // pages a call dirtied (PAGEMAP_SCAN where the kernel has it, Linux 6.7+):
            // calls touch little memory, and madvise on every call costs page faults and
            // TLB shootdowns on both cores.
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(2 << 20)
            .pagemap_scan(wasmtime::Enabled::Auto);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .concurrency_support(false)
            .memory_init_cow(true);
        if limits.pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        } else {
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        }
        let engine = Engine::new(&config)?;

        let linkers = Linkers::new(&engine)?;

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("trawl-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;

        Ok(Arc::new(Self {
            engine,
            linkers,
            defaults: CallLimits::from(&limits),
            limits,
            loader: Loader::default(),
            slots,
            share: Share::new(crate::config::cpus()),
        }))
    }

    /// The configured limits and ceilings.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// The limits of a call when a schema sets none.
    pub fn default_call_limits(&self) -> &CallLimits {
        &self.defaults
    }

    /// Cache compiled components under `dir`, keyed by digest and engine settings, so that a
    /// restart compiles nothing it compiled before. Call before sharing the runtime.
    pub fn with_cache_dir(mut self: Arc<Self>, dir: std::path::PathBuf) -> Arc<Self> {
        match Arc::get_mut(&mut self) {
            Some(this) => this.loader.cache_dir = Some(dir),
            None => {
                tracing::warn!("the plugin runtime is already shared: compile cache not enabled")
            }
        }
        self
    }

    /// Compile a component (or reuse the compiled one with the same digest), check which
    /// world it implements and ask it who it is. Blocking: compilation takes tens to
    /// hundreds of milliseconds; call it from a blocking thread.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedPlugin>, LoadError> {
        let parts = Parts {
            engine: &self.engine,
            linkers: &self.linkers,
            defaults: &self.defaults,
        };
        self.loader.load(&parts, bytes)
    }

    /// A store for a call under `limits`.
    pub(super) fn new_store(&self, limits: &CallLimits, clock: CallClock) -> Store<PluginState> {
        new_store(&self.engine, limits, clock)
    }

    /// The clock of a call under `limits` that starts now, in `owner`'s CPU share.
    pub(super) fn clock(
        &self,
        limits: &CallLimits,
        owner: Option<crate::ids::UserId>,
    ) -> CallClock {
        CallClock::new(limits.timeout, self.share.begin(owner))
    }

    /// Make a fresh instance of `plugin` in a fresh store, as every call does, and drop it:
    /// the per-call overhead, for benchmarks and start-up checks.
    pub fn instantiate(&self, plugin: &LoadedPlugin) -> Result<(), CallError> {
        let mut store = self.new_store(&self.defaults, self.clock(&self.defaults, None));
        let result = match &plugin.pre {
            Pre::Extractor(pre) => pre.instantiate(&mut store).map(drop),
            Pre::Exporter(pre) => pre.instantiate(&mut store).map(drop),
        };
        result.map_err(|e| classify(e, &store, &plugin.label()))
    }
}
