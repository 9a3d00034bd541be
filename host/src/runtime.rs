//! The plugin runtime: a narrow facade over wasmtime for trawl's two plugin worlds.
//!
//! One [`Engine`] per process (Cranelift, pooling allocator, copy-on-write memory images,
//! fuel and epochs on). A plugin is compiled once and its `…Pre` built once, which also
//! proves that it implements a world. Every call gets a fresh `Store` with a memory cap,
//! fuel, an epoch deadline, small hostcall-fuel and handle caps and an empty WASI context,
//! and runs on a blocking thread, never on a tokio worker.

//! # Layout
//! - `engine`: the [`Runtime`] (engine, linkers, compiled plugins, slots, CPU shares).
//! - `load`: compiling and checking components, the compile cache, [`LoadedPlugin`].
//! - `extract`, `export`: the two kinds of call, [`ExtractOutput`], [`ExportSession`].
//! - `call`: running a call on a blocking thread, in a slot, under a last-resort timeout.
//! - `store`: a call's store, its caps and its fuel.
//! - `clock`, `share`, `slots`: a call's deadline and pauses, the CPU shared between
//!   busy owners, and how many calls run at once.
//! - [`limits`], [`error`]: what a call may use, and how a failed call is told apart.
//! - [`page`], `host`, [`log`], [`bindings`]: the page resource, the host side of the
//!   imports, log lines, and the generated bindings of every WIT version served;
//!   `world`, one face on those versions for the calls.

pub mod bindings;
mod call;
mod clock;
mod engine;
pub mod error;
mod export;
mod extract;
mod host;
pub mod limits;
mod load;
pub mod log;
pub mod page;
mod share;
mod slots;
mod store;
mod trap;
mod world;

pub use engine::Runtime;
pub use error::{CallError, CallErrorKind, PluginErrorInfo, PluginErrorKind};
pub use export::ExportSession;
pub use extract::{ExtractOutput, ExtractedItem};
pub use limits::{CallLimits, SchemaLimits};
pub use load::{LoadError, LoadedPlugin, PluginKind, PluginManifest, WIT_VERSIONS};
pub use log::LogLine;
pub use page::PageData;
pub use store::PluginState;
