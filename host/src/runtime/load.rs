//! Loading plugins: compiling a component (or mapping what an earlier start compiled),
//! checking which world it implements and which WIT version it was built against, and
//! asking it who it is; compiled plugins are kept by digest.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

pub use crate::model::PluginKind;

use super::clock::CallClock;
use super::error::{CallError, classify};
use super::limits::CallLimits;
use super::store::{PluginState, new_store};
use super::world::{ExporterPre, ExtractorPre, add_to_linkers};

/// The WIT package versions this host serves.
pub const WIT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

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

pub(super) enum Pre {
    Extractor(ExtractorPre),
    Exporter(ExporterPre),
}

/// A compiled plugin, ready to instantiate.
pub struct LoadedPlugin {
    pub(super) pre: Pre,
    /// What the plugin said about itself.
    pub manifest: PluginManifest,
    /// SHA-256 of the component bytes.
    pub digest: [u8; 32],
    /// Whether the plugin queried the DOM of the last HTML page it was given (at first:
    /// yes). While it does, HTML pages are parsed before it starts; a plugin that reads
    /// only the body stops costing a parse after its first such page.
    pub(super) queries_dom: AtomicBool,
}

impl LoadedPlugin {
    /// `name@version`, as errors name the plugin.
    pub(super) fn label(&self) -> String {
        format!("{}@{}", self.manifest.name, self.manifest.version)
    }

    /// Whether the plugin queried the DOM of the last HTML page it was given (true before
    /// its first): while it does, HTML pages are parsed before it starts.
    pub fn queries_dom(&self) -> bool {
        self.queries_dom.load(Ordering::Relaxed)
    }

    /// Remember whether the plugin queried the DOM of the HTML page it was just given.
    pub(super) fn set_queries_dom(&self, queried: bool) {
        self.queries_dom.store(queried, Ordering::Relaxed);
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

/// The two linkers, one per world: what a component may import.
pub(super) struct Linkers {
    pub(super) extractor: Linker<PluginState>,
    pub(super) exporter: Linker<PluginState>,
}

impl Linkers {
    pub(super) fn new(engine: &Engine) -> wasmtime::Result<Self> {
        let mut extractor = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut extractor)?;
        let mut exporter = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut exporter)?;
        add_to_linkers(&mut extractor, &mut exporter)?;
        Ok(Self {
            extractor,
            exporter,
        })
    }
}

/// Compiled plugins by digest, and where compiled code is cached on disk.
#[derive(Default)]
pub(super) struct Loader {
    /// Where compiled components are cached (none: compile on every start).
    pub(super) cache_dir: Option<std::path::PathBuf>,
    /// A std mutex: held only for map lookups, never across compilation or an await.
    loaded: Mutex<HashMap<[u8; 32], Arc<LoadedPlugin>>>,
}

/// What loading needs of the runtime.
pub(super) struct Parts<'a> {
    pub(super) engine: &'a Engine,
    pub(super) linkers: &'a Linkers,
    pub(super) defaults: &'a CallLimits,
}

impl Loader {
    /// Compile a component (or reuse the compiled one with the same digest), check which
    /// world it implements and ask it who it is. Blocking: compilation takes tens to
    /// hundreds of milliseconds; call it from a blocking thread.
    pub(super) fn load(
        &self,
        parts: &Parts<'_>,
        bytes: &[u8],
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(found) = self.lock_loaded().get(&digest) {
            return Ok(found.clone());
        }
        let component = self.compile(parts.engine, bytes, &digest)?;
        let wit_version = wit_version_of(&component, parts.engine)?;
        let pre = match ExtractorPre::new(&parts.linkers.extractor, &component, &wit_version) {
            Ok(pre) => Pre::Extractor(pre),
            Err(as_extractor) => {
                match ExporterPre::new(&parts.linkers.exporter, &component, &wit_version) {
                    Ok(pre) => Pre::Exporter(pre),
                    Err(as_exporter) => {
                        return Err(LoadError::WrongWorld(format!(
                            "as an extractor: {as_extractor}; as an exporter: {as_exporter}"
                        )));
                    }
                }
            }
        };
        let manifest = manifest(parts, &pre, wit_version).map_err(LoadError::Info)?;
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
    fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &[u8; 32],
    ) -> Result<Component, LoadError> {
        let Some(dir) = &self.cache_dir else {
            let component = Component::new(engine, bytes);
            release_freed_memory();
            return component.map_err(|e| LoadError::Invalid(format!("{e:#}")));
        };
        let path = dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(digest),
            engine_key(engine)
        ));
        if path.is_file() {
            match load_precompiled(engine, &path) {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!("ignoring the cached {}: {e:#}", path.display()),
            }
        }
        let component = Component::new(engine, bytes);
        release_freed_memory();
        let component = component.map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
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

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<LoadedPlugin>>> {
        // A poisoned map only means a panic elsewhere while inserting: the map is still valid.
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A short hash of everything about the engine that compiled code depends on.
fn engine_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// What the plugin says about itself (`info()`, and `format()` for exporters).
fn manifest(
    parts: &Parts<'_>,
    pre: &Pre,
    wit_version: String,
) -> Result<PluginManifest, CallError> {
    let clock = CallClock::new(parts.defaults.timeout, None);
    let mut store = new_store(parts.engine, parts.defaults, clock);
    let label = "plugin being loaded";
    match pre {
        Pre::Extractor(pre) => {
            let result = pre.instantiate(&mut store).and_then(|p| p.info(&mut store));
            let info = result.map_err(|e| classify(e, &store, label))?;
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
            let result = pre
                .instantiate(&mut store)
                .and_then(|p| p.info_and_format(&mut store));
            let (info, format) = result.map_err(|e| classify(e, &store, label))?;
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

/// Hand back to the system the memory a compilation freed. Cranelift's working memory is
/// freed when it is done, but glibc keeps freed memory in its arenas (one per compiling
/// thread): measured, a host that compiled the bundled plugins at start-up sat on 224 MiB
/// of which 56 MiB was in use.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_freed_memory() {
    unsafe extern "C" {
        // glibc's: returns free memory at the top of each arena and whole free pages
        // inside them to the system; takes no pointers, touches nothing in use.
        safe fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    malloc_trim(0);
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// Load a component compiled by [`Loader::compile`].
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
