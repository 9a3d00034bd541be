//! The plugin runtime: a narrow facade over wasmtime for trawl's two plugin worlds.
//!
//! One [`Engine`] per process (Cranelift, pooling allocator, copy-on-write memory images,
//! fuel and epochs on). A plugin is compiled once and its `…Pre` built once, which also
//! proves that it implements a world. Every call gets a fresh `Store` with a memory cap,
//! fuel, an epoch deadline, small hostcall-fuel and handle caps and an empty WASI context,
//! and runs on a blocking thread, never on a tokio worker.

pub mod bindings;
mod clock;
pub mod limits;
pub mod log;
pub mod page;
mod share;
mod slots;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::config::PluginLimits;
use crate::validate::ItemIssue;
use limits::Limiter;
pub use limits::{CallError, CallErrorKind, CallLimits, SchemaLimits};
pub use log::LogLine;
use log::LogSink;
pub use page::PageData;
use page::PageResource;

use bindings::exporter::{ExporterPlugin, ExporterPluginPre};
use bindings::extractor::{ExtractorPlugin, ExtractorPluginPre};

/// The WIT package versions this host serves.
pub const WIT_VERSIONS: &[&str] = &["0.1.0"];

/// How often the epoch ticks; plugin wall-clock deadlines are counted in these.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Time past a call's deadline that finding its pagination links may take, for a plugin
/// that returned just in time.
const LINK_GRACE: Duration = Duration::from_secs(1);

/// Per-call state of a plugin instance.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    logs: LogSink,
    /// The current call's deadline and CPU share: host calls made for the plugin look at
    /// it as the epoch ticks do for the plugin's own code.
    clock: clock::CallClock,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Which world a plugin implements.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// `extractor-plugin`: pages in, items out.
    Extractor,
    /// `exporter-plugin`: rows in, file bytes out.
    Exporter,
}

impl PluginKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Extractor => "extractor",
            PluginKind::Exporter => "exporter",
        }
    }
}

/// What a plugin says about itself (its `info()`, and `format()` for exporters).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PluginManifest {
    /// Plugin name.
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// One-line description.
    pub description: String,
    /// Which world it implements.
    pub kind: PluginKind,
    /// The WIT package version it was built against.
    pub wit_version: String,
    /// Exporters: media type of the files they write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Exporters: file name extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

enum Pre {
    Extractor(ExtractorPluginPre<PluginState>),
    Exporter(ExporterPluginPre<PluginState>),
}

/// A compiled plugin, ready to instantiate.
pub struct LoadedPlugin {
    pre: Pre,
    /// What the plugin said about itself.
    pub manifest: PluginManifest,
    /// SHA-256 of the component bytes.
    pub digest: [u8; 32],
    /// Whether the plugin queried the DOM of the last HTML page it was given (at first:
    /// yes). While it does, HTML pages are parsed before it starts; a plugin that reads
    /// only the body stops costing a parse after its first such page.
    queries_dom: AtomicBool,
}

impl ExtractOutput {
    /// The index in what the plugin returned of each of `items`.
    pub fn item_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        let mut refused = self.refused.iter().map(|r| r.index).peekable();
        let mut next = 0;
        self.items.iter().map(move |_| {
            while refused.next_if(|&r| r == next).is_some() {
                next += 1;
            }
            next += 1;
            next - 1
        })
    }
}

impl LoadedPlugin {
    fn label(&self) -> String {
        format!("{}@{}", self.manifest.name, self.manifest.version)
    }

    /// Whether the plugin queried the DOM of the last HTML page it was given (true before
    /// its first): while it does, HTML pages are parsed before it starts.
    pub fn queries_dom(&self) -> bool {
        self.queries_dom.load(Ordering::Relaxed)
    }
}

/// Why a component could not be loaded as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a component, or it does not compile.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// A component, but it implements neither trawl world (or imports what trawl does not offer).
    #[error("the component does not implement a trawl plugin world: {0}")]
    WrongWorld(String),
    /// Built against a WIT version this host does not serve.
    #[error("the plugin was built against trawl:plugin@{found}; this host serves {served}")]
    UnsupportedWitVersion {
        /// The version the component names.
        found: String,
        /// The versions served.
        served: String,
    },
    /// `info()` failed.
    #[error("calling the plugin's info() failed: {0}")]
    Info(CallError),
}

/// The output of one `extract` call.
#[derive(Debug)]
pub struct ExtractOutput {
    /// Items as parsed JSON objects with their confidence (in [0, 1], or none).
    pub items: Vec<(serde_json::Value, Option<f32>)>,
    /// Items that could not be read (not JSON, not an object), by their index in what
    /// the plugin returned; `items` holds the others, in order.
    pub refused: Vec<ItemIssue>,
    /// URLs to follow.
    pub follow: Vec<String>,
    /// Absolute URLs of the links matching the request's link selector (host-side DOM).
    pub links: Vec<String>,
    /// Fuel burnt.
    pub fuel: u64,
    /// Lines logged.
    pub logs: Vec<LogLine>,
    /// Lines dropped over the cap.
    pub logs_dropped: u64,
    /// Wall-clock time of the call.
    pub elapsed: Duration,
}

/// The wasmtime engine, the linkers and the compiled plugins of one process.
pub struct Runtime {
    engine: Engine,
    extractor_linker: Linker<PluginState>,
    exporter_linker: Linker<PluginState>,
    limits: PluginLimits,
    /// Limits of a call when a schema sets none.
    defaults: CallLimits,
    /// Where compiled components are cached (none: compile on every start).
    cache_dir: Option<std::path::PathBuf>,
    /// Compiled plugins by digest. A std mutex: held only for map lookups, never across
    /// compilation or an await.
    loaded: Mutex<HashMap<[u8; 32], Arc<LoadedPlugin>>>,
    slots: slots::Slots,
    share: Arc<share::Share>,
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
        let slots = slots::Slots::new(limits.concurrency);
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

        let mut extractor_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut extractor_linker)?;
        ExtractorPlugin::add_to_linker::<_, wasmtime::component::HasSelf<PluginState>>(
            &mut extractor_linker,
            |s| s,
        )?;
        let mut exporter_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut exporter_linker)?;
        ExporterPlugin::add_to_linker::<_, wasmtime::component::HasSelf<PluginState>>(
            &mut exporter_linker,
            |s| s,
        )?;
        // An exporter built with an SDK that also knows the extractor world may import
        // `page`; it can never get one, but linking it costs nothing.
        bindings::page::add_to_linker::<_, wasmtime::component::HasSelf<PluginState>>(
            &mut exporter_linker,
            |s| s,
        )?;

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
            extractor_linker,
            exporter_linker,
            defaults: CallLimits::from(&limits),
            limits,
            cache_dir: None,
            loaded: Mutex::new(HashMap::new()),
            slots,
            share: share::Share::new(crate::config::cpus()),
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
            Some(this) => this.cache_dir = Some(dir),
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
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(found) = self.lock_loaded().get(&digest) {
            return Ok(found.clone());
        }
        let component = self.compile(bytes, &digest)?;
        let wit_version = wit_version_of(&component, &self.engine)?;
        let extractor = self
            .extractor_linker
            .instantiate_pre(&component)
            .map_err(|e| format!("{e:#}"))
            .and_then(|pre| ExtractorPluginPre::new(pre).map_err(|e| format!("{e:#}")));
        let pre = match extractor {
            Ok(pre) => Pre::Extractor(pre),
            Err(as_extractor) => {
                let exporter = self
                    .exporter_linker
                    .instantiate_pre(&component)
                    .map_err(|e| format!("{e:#}"))
                    .and_then(|pre| ExporterPluginPre::new(pre).map_err(|e| format!("{e:#}")));
                match exporter {
                    Ok(pre) => Pre::Exporter(pre),
                    Err(as_exporter) => {
                        return Err(LoadError::WrongWorld(format!(
                            "as an extractor: {as_extractor}; as an exporter: {as_exporter}"
                        )));
                    }
                }
            }
        };
        let manifest = self.manifest(&pre, wit_version).map_err(LoadError::Info)?;
        let loaded = Arc::new(LoadedPlugin {
            pre,
            manifest,
            digest,
            queries_dom: AtomicBool::new(true),
        });
        self.lock_loaded().insert(digest, loaded.clone());
        Ok(loaded)
    }

    /// Compile, or load what an earlier compilation of the same bytes by an engine with the
    /// same settings left in the cache.
    fn compile(&self, bytes: &[u8], digest: &[u8; 32]) -> Result<Component, LoadError> {
        let Some(dir) = &self.cache_dir else {
            return Component::new(&self.engine, bytes)
                .map_err(|e| LoadError::Invalid(format!("{e:#}")));
        };
        let path = dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(digest),
            self.engine_key()
        ));
        if path.is_file() {
            match load_precompiled(&self.engine, &path) {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!("ignoring the cached {}: {e:#}", path.display()),
            }
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        // A failed cache write costs the next start a compilation, nothing more.
        let stored = component
            .serialize()
            .map_err(std::io::Error::other)
            .and_then(|compiled| {
                std::fs::create_dir_all(dir)?;
                let partial =
                    path.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
                std::fs::write(&partial, compiled)?;
                std::fs::rename(&partial, &path)
            });
        if let Err(e) = stored {
            tracing::warn!("caching the compiled plugin at {}: {e}", path.display());
        }
        Ok(component)
    }

    /// A short hash of everything about the engine that compiled code depends on.
    fn engine_key(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<LoadedPlugin>>> {
        // A poisoned map only means a panic elsewhere while inserting: the map is still valid.
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_store(&self, limits: &CallLimits, clock: clock::CallClock) -> Store<PluginState> {
        let memory = usize::try_from(limits.memory).unwrap_or(usize::MAX);
        let state = PluginState {
            // The default context is the empty one: no environment, arguments, stdio,
            // preopened directories, TCP, UDP or name lookups, and every socket address
            // refused. (`WasiCtxBuilder::build` seeds a second set of generators to leave
            // behind, which cost a few microseconds on every call.)
            wasi: WasiCtx::default(),
            table: ResourceTable::new(),
            limiter: Limiter::new(memory),
            logs: LogSink::new(limits.max_log_lines),
            clock,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Bounds what one boundary crossing may copy, results of the call included.
        store.set_hostcall_fuel(usize::try_from(limits.max_output).unwrap_or(usize::MAX));
        store.set_max_component_handles(10_000);
        // Every tick the call's clock shares the CPU and says whether the call may go on.
        store.epoch_deadline_callback(|ctx| {
            Ok(if ctx.data().clock.tick() {
                wasmtime::UpdateDeadline::Continue(1)
            } else {
                wasmtime::UpdateDeadline::Interrupt
            })
        });
        store.set_epoch_deadline(1);
        store
            .set_fuel(limits.fuel)
            .expect("fuel is enabled on the engine");
        store
    }

    /// Give the store a fresh fuel budget and clock for its next call, as `owner`'s.
    fn arm(
        &self,
        store: &mut Store<PluginState>,
        limits: &CallLimits,
        owner: Option<crate::ids::UserId>,
    ) {
        store.data_mut().clock = self.clock(limits, owner);
        store.set_epoch_deadline(1);
        store
            .set_fuel(limits.fuel)
            .expect("fuel is enabled on the engine");
    }

    /// The clock of a call under `limits` that starts now.
    fn clock(&self, limits: &CallLimits, owner: Option<crate::ids::UserId>) -> clock::CallClock {
        clock::CallClock::new(limits.timeout, self.share.begin(owner))
    }

    fn manifest(&self, pre: &Pre, wit_version: String) -> Result<PluginManifest, CallError> {
        let mut store = self.new_store(&self.defaults, self.clock(&self.defaults, None));
        let label = "plugin being loaded";
        match pre {
            Pre::Extractor(pre) => {
                let result = pre
                    .instantiate(&mut store)
                    .and_then(|p| p.trawl_plugin_extractor().call_info(&mut store));
                let info = result.map_err(|e| limits::classify(e, &store, label))?;
                Ok(PluginManifest {
                    name: info.name,
                    version: info.version,
                    description: info.description,
                    kind: PluginKind::Extractor,
                    wit_version,
                    media_type: None,
                    extension: None,
                })
            }
            Pre::Exporter(pre) => {
                let result = pre.instantiate(&mut store).and_then(|p| {
                    let info = p.trawl_plugin_exporter().call_info(&mut store)?;
                    let format = p.trawl_plugin_exporter().call_format(&mut store)?;
                    Ok((info, format))
                });
                let (info, format) = result.map_err(|e| limits::classify(e, &store, label))?;
                Ok(PluginManifest {
                    name: info.name,
                    version: info.version,
                    description: info.description,
                    kind: PluginKind::Exporter,
                    wit_version,
                    media_type: Some(format.media_type),
                    extension: Some(format.extension),
                })
            }
        }
    }

    /// Make a fresh instance of `plugin` in a fresh store, as every call does, and drop it:
    /// the per-call overhead, for benchmarks and start-up checks.
    pub fn instantiate(&self, plugin: &LoadedPlugin) -> Result<(), CallError> {
        let mut store = self.new_store(&self.defaults, self.clock(&self.defaults, None));
        let result = match &plugin.pre {
            Pre::Extractor(pre) => pre.instantiate(&mut store).map(drop),
            Pre::Exporter(pre) => pre.instantiate(&mut store).map(drop),
        };
        result.map_err(|e| limits::classify(e, &store, &plugin.label()))
    }

    /// Run an extractor on a page with the default limits.
    pub async fn extract(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        page: Arc<PageData>,
        schema: Arc<str>,
        options: Arc<str>,
        link_selector: Option<Arc<str>>,
    ) -> Result<ExtractOutput, CallError> {
        let limits = self.defaults.clone();
        self.extract_limited(plugin, page, schema, options, link_selector, limits)
            .await
    }

    /// Run an extractor on a page under the given limits.
    pub async fn extract_limited(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        page: Arc<PageData>,
        schema: Arc<str>,
        options: Arc<str>,
        link_selector: Option<Arc<str>>,
        limits: CallLimits,
    ) -> Result<ExtractOutput, CallError> {
        let label = plugin.label();
        let timeout = limits.timeout;
        let permit = self.slots.acquire(limits.owner).await.map_err(|_| {
            CallError::new(
                &label,
                CallErrorKind::Trap("the runtime is shutting down".into()),
            )
        })?;
        let this = self.clone();
        let plugin = plugin.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.extract_blocking(
                &plugin,
                page,
                &schema,
                &options,
                link_selector.as_deref(),
                &limits,
            )
        });
        Self::with_timeout(&label, task, timeout).await
    }

    async fn with_timeout<T>(
        label: &str,
        task: tokio::task::JoinHandle<Result<T, CallError>>,
        timeout: Duration,
    ) -> Result<T, CallError> {
        // The clock stops the plugin's code at epoch ticks and the host's work for it as it
        // goes; this outer timeout is the last resort. A call may pause for other owners
        // for as long as its timeout, so it may take twice that.
        let outer = timeout * 2 + Duration::from_secs(2);
        match tokio::time::timeout(outer, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(CallError::new(
                label,
                CallErrorKind::Trap(format!("host task failed: {join}")),
            )),
            Err(_) => Err(CallError::new(label, CallErrorKind::Timeout(timeout))),
        }
    }

    /// Run an extractor on this thread, which must be one where blocking is allowed (a
    /// `spawn_blocking` closure, a thread of the caller's own pool, a plain thread), never a
    /// tokio worker. It takes no permit: the caller bounds how many calls run at once. The
    /// epoch deadline and fuel stop the wasm as in [`Runtime::extract_limited`]; what that
    /// adds is the permit, the hop to a blocking thread and back, and an outer timeout over
    /// time spent inside host calls.
    pub fn extract_blocking(
        &self,
        plugin: &LoadedPlugin,
        page: Arc<PageData>,
        schema: &str,
        options: &str,
        link_selector: Option<&str>,
        limits: &CallLimits,
    ) -> Result<ExtractOutput, CallError> {
        let label = plugin.label();
        let Pre::Extractor(pre) = &plugin.pre else {
            return Err(CallError::new(
                &label,
                CallErrorKind::WrongKind("an exporter cannot extract"),
            ));
        };
        let started = Instant::now();
        // The call's time counts from here: the host's work for the plugin (the parse, its
        // queries, the links it finds for pagination) is part of the call.
        let clock = self.clock(limits, limits.owner);
        // An HTML page is parsed before a plugin that queries the DOM starts (see
        // `PageResource::parse_ahead`).
        let is_html = page.is_html();
        let mut resource = PageResource::new(page, limits.dom.clone());
        if is_html && plugin.queries_dom() {
            resource.parse_ahead(&clock);
        }
        let mut store = self.new_store(limits, clock);
        let mut page_rep = None;
        let result = (|| {
            let instance = pre.instantiate(&mut store)?;
            let page = store.data_mut().table.push(resource)?;
            page_rep = Some(page.rep());
            instance
                .trawl_plugin_extractor()
                .call_extract(&mut store, page, schema, options)
        })();
        let fuel = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        if is_html && let Some(rep) = page_rep {
            let page = wasmtime::component::Resource::<PageResource>::new_own(rep);
            if let Ok(page) = store.data().table.get(&page) {
                plugin.queries_dom.store(page.queried(), Ordering::Relaxed);
            }
        }
        let extraction = match result {
            Err(trap) => return Err(limits::classify(trap, &store, &label).with_fuel(fuel)),
            Ok(Err(plugin_error)) => {
                return Err(
                    CallError::new(&label, CallErrorKind::Plugin(plugin_error.into()))
                        .with_fuel(fuel),
                );
            }
            Ok(Ok(extraction)) => extraction,
        };
        let fail = |what: String| {
            Err(CallError::new(&label, CallErrorKind::OutputLimit(what)).with_fuel(fuel))
        };
        if extraction.items.len() > limits.max_items {
            return fail(format!(
                "{} items (limit {})",
                extraction.items.len(),
                limits.max_items
            ));
        }
        if extraction.follow.len() > limits.max_follow {
            return fail(format!(
                "{} follow URLs (limit {})",
                extraction.follow.len(),
                limits.max_follow
            ));
        }
        let bytes: usize = extraction.items.iter().map(|i| i.json.len()).sum();
        if bytes as u64 > limits.max_output {
            return fail(format!(
                "{bytes} bytes of items (limit {})",
                limits.max_output
            ));
        }
        // Each item stands alone: one that is not a JSON object is refused, with its
        // index and why, and the others go on.
        let mut items = Vec::with_capacity(extraction.items.len());
        let mut refused = Vec::new();
        for (index, item) in extraction.items.into_iter().enumerate() {
            let value = match serde_json::from_str::<serde_json::Value>(&item.json) {
                Ok(value) if value.is_object() => value,
                Ok(_) => {
                    refused.push(ItemIssue::new(
                        index,
                        ItemIssue::NOT_AN_OBJECT,
                        "the item is JSON but not an object",
                    ));
                    continue;
                }
                Err(e) => {
                    refused.push(ItemIssue::new(
                        index,
                        ItemIssue::NOT_JSON,
                        format!("the item is not JSON: {e}"),
                    ));
                    continue;
                }
            };
            // A confidence is a probability: NaN says nothing (none), anything else is
            // clamped into [0, 1] (infinities too), as the SDK's `with_confidence` does.
            let confidence = item
                .confidence
                .filter(|c| !c.is_nan())
                .map(|c| c.clamp(0.0, 1.0));
            items.push((value, confidence));
        }
        // Pagination links come from the same DOM the plugin used: the page is parsed once.
        // The call's deadline bounds it too, with a moment's grace for a plugin that
        // finished just in time.
        let links = match (link_selector, page_rep) {
            (Some(selector), Some(rep)) => {
                let page = store
                    .data_mut()
                    .table
                    .delete(wasmtime::component::Resource::<PageResource>::new_own(rep));
                let deadline = store.data().clock.deadline().max(Instant::now()) + LINK_GRACE;
                match page {
                    Ok(mut page) => page
                        .select_urls(selector, &trawl_dom::Deadline::at(deadline))
                        .map_err(|e| {
                            limits::classify(page::host_trap(e), &store, &label).with_fuel(fuel)
                        })?,
                    Err(_) => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        // Drop the DOM and the WASI context before taking the time: they are part of the call.
        let PluginState { logs, .. } = store.into_data();
        Ok(ExtractOutput {
            items,
            refused,
            follow: extraction.follow,
            links,
            fuel,
            logs: logs.lines,
            logs_dropped: logs.dropped,
            elapsed: started.elapsed(),
        })
    }

    /// Start an export: instantiate the exporter and open a writer.
    pub async fn open_exporter(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        schema: String,
        options: String,
        owner: Option<crate::ids::UserId>,
    ) -> Result<ExportSession, CallError> {
        let label = plugin.label();
        let this = self.clone();
        let plugin2 = plugin.clone();
        let task = tokio::task::spawn_blocking(move || {
            let Pre::Exporter(pre) = &plugin2.pre else {
                return Err(CallError::new(
                    &label,
                    CallErrorKind::WrongKind("an extractor cannot export"),
                ));
            };
            let mut store = this.new_store(&this.defaults, this.clock(&this.defaults, owner));
            let result = pre.instantiate(&mut store).and_then(|instance| {
                let writer = instance
                    .trawl_plugin_exporter()
                    .writer()
                    .call_open(&mut store, &schema, &options)?;
                Ok((instance, writer))
            });
            let fuel = this
                .defaults
                .fuel
                .saturating_sub(store.get_fuel().unwrap_or(0));
            store.data_mut().clock.end();
            match result {
                Err(trap) => Err(limits::classify(trap, &store, &label).with_fuel(fuel)),
                Ok((_, Err(e))) => {
                    Err(CallError::new(&label, CallErrorKind::Plugin(e.into())).with_fuel(fuel))
                }
                Ok((instance, Ok(writer))) => Ok(ExportSession {
                    runtime: this.clone(),
                    label,
                    owner,
                    inner: Some(SessionInner {
                        store,
                        instance,
                        writer,
                    }),
                    fuel,
                }),
            }
        });
        Self::with_timeout(&plugin.label(), task, self.defaults.timeout).await
    }
}

struct SessionInner {
    store: Store<PluginState>,
    instance: ExporterPlugin,
    writer: ResourceAny,
}

/// An export in progress: one exporter instance kept across `write` calls.
pub struct ExportSession {
    runtime: Arc<Runtime>,
    label: String,
    /// Whose export it is: its calls take that owner's slots.
    owner: Option<crate::ids::UserId>,
    inner: Option<SessionInner>,
    /// Fuel burnt so far.
    pub fuel: u64,
}

impl std::fmt::Debug for ExportSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportSession")
            .field("plugin", &self.label)
            .finish_non_exhaustive()
    }
}

impl ExportSession {
    /// Hand a batch of rows (JSON object text) to the writer; get the bytes to append.
    pub async fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, CallError> {
        self.call(move |inner| {
            let SessionInner {
                store,
                instance,
                writer,
            } = inner;
            instance
                .trawl_plugin_exporter()
                .writer()
                .call_write(store, *writer, &rows)
        })
        .await
    }

    /// End the export; get the last bytes.
    pub async fn finish(mut self) -> Result<Vec<u8>, CallError> {
        self.call(|inner| {
            let SessionInner {
                store,
                instance,
                writer,
            } = inner;
            instance
                .trawl_plugin_exporter()
                .writer()
                .call_finish(store, *writer)
        })
        .await
    }

    async fn call<F>(&mut self, f: F) -> Result<Vec<u8>, CallError>
    where
        F: FnOnce(
                &mut SessionInner,
            ) -> wasmtime::Result<Result<Vec<u8>, bindings::types::PluginError>>
            + Send
            + 'static,
    {
        let label = self.label.clone();
        let Some(mut inner) = self.inner.take() else {
            return Err(CallError::new(
                &label,
                CallErrorKind::Trap("the exporter failed earlier".into()),
            ));
        };
        let runtime = self.runtime.clone();
        let permit = runtime.slots.acquire(self.owner).await.map_err(|_| {
            CallError::new(
                &label,
                CallErrorKind::Trap("the runtime is shutting down".into()),
            )
        })?;
        let label2 = label.clone();
        let owner = self.owner;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            runtime.arm(&mut inner.store, &runtime.defaults, owner);
            let result = f(&mut inner);
            inner.store.data_mut().clock.end();
            let fuel = runtime
                .defaults
                .fuel
                .saturating_sub(inner.store.get_fuel().unwrap_or(0));
            let max_output = runtime.defaults.max_output;
            let out = match result {
                Err(trap) => Err(limits::classify(trap, &inner.store, &label2)),
                Ok(Err(e)) => Err(CallError::new(&label2, CallErrorKind::Plugin(e.into()))),
                Ok(Ok(bytes)) if bytes.len() as u64 > max_output => Err(CallError::new(
                    &label2,
                    CallErrorKind::OutputLimit(format!(
                        "{} bytes in one write (limit {max_output})",
                        bytes.len()
                    )),
                )),
                Ok(Ok(bytes)) => Ok(bytes),
            };
            (inner, fuel, out)
        });
        let outer = self.runtime.defaults.timeout * 2 + Duration::from_secs(2);
        match tokio::time::timeout(outer, task).await {
            Ok(Ok((inner, fuel, out))) => {
                self.fuel += fuel;
                if out.is_ok() {
                    self.inner = Some(inner);
                }
                out
            }
            Ok(Err(join)) => Err(CallError::new(
                &label,
                CallErrorKind::Trap(format!("host task failed: {join}")),
            )),
            Err(_) => Err(CallError::new(
                &label,
                CallErrorKind::Timeout(self.runtime.defaults.timeout),
            )),
        }
    }
}

/// Load a component compiled by [`Runtime::compile`].
#[allow(unsafe_code)]
fn load_precompiled(engine: &Engine, path: &std::path::Path) -> wasmtime::Result<Component> {
    // SAFETY: only files trawl itself wrote are loaded: the cache directory is trawl's own,
    // names carry the component digest and the engine's compatibility hash, and wasmtime
    // checks the header and engine settings of what it maps.
    unsafe { Component::deserialize_file(engine, path) }
}

/// The `trawl:plugin` version a component was built against, from its export names.
fn wit_version_of(component: &Component, engine: &Engine) -> Result<String, LoadError> {
    let ty = component.component_type();
    let mut found = None;
    for (name, _) in ty.exports(engine) {
        if let Some(rest) = name.strip_prefix("trawl:plugin/")
            && let Some((_, version)) = rest.split_once('@')
        {
            found = Some(version.to_owned());
            break;
        }
    }
    let Some(version) = found else {
        return Err(LoadError::WrongWorld(
            "it exports no trawl:plugin interface (expected trawl:plugin/extractor or trawl:plugin/exporter)".into(),
        ));
    };
    if !WIT_VERSIONS.contains(&version.as_str()) {
        return Err(LoadError::UnsupportedWitVersion {
            found: version,
            served: WIT_VERSIONS.join(", "),
        });
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refused items leave gaps: each kept item knows its place in the plugin's list.
    #[test]
    fn kept_items_know_their_index() {
        let output = |refused: &[usize], kept: usize| ExtractOutput {
            items: (0..kept).map(|_| (serde_json::json!({}), None)).collect(),
            refused: refused
                .iter()
                .map(|&i| ItemIssue::new(i, ItemIssue::NOT_JSON, "x"))
                .collect(),
            follow: Vec::new(),
            links: Vec::new(),
            fuel: 0,
            logs: Vec::new(),
            logs_dropped: 0,
            elapsed: Duration::ZERO,
        };
        let indexes = |o: ExtractOutput| o.item_indexes().collect::<Vec<_>>();
        assert_eq!(indexes(output(&[], 3)), [0, 1, 2]);
        assert_eq!(indexes(output(&[0, 2], 3)), [1, 3, 4]);
        assert_eq!(indexes(output(&[3, 4], 3)), [0, 1, 2]);
        assert_eq!(indexes(output(&[1, 2, 3], 2)), [0, 4]);
    }
}
