//! A plugin call's store: what the instance may reach (an empty WASI context, its
//! resources, its memory limiter, its log lines, its clock) and the caps set on it.

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::clock::CallClock;
use super::limits::{CallLimits, Limiter};
use super::log::LogSink;

/// Per-call state of a plugin instance.
pub struct PluginState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: Limiter,
    pub(super) logs: LogSink,
    /// The current call's deadline and CPU share: host calls made for the plugin look at
    /// it as the epoch ticks do for the plugin's own code.
    pub(super) clock: CallClock,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A store for one call (or an export's calls): the memory cap, the hostcall and handle
/// caps, the epoch callback that shares the CPU and ends the call at its deadline, and the
/// fuel budget; an empty WASI context.
pub(super) fn new_store(
    engine: &Engine,
    limits: &CallLimits,
    clock: CallClock,
) -> Store<PluginState> {
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
    let mut store = Store::new(engine, state);
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

/// Give the store a fresh fuel budget and `clock` for its next call.
pub(super) fn arm(store: &mut Store<PluginState>, limits: &CallLimits, clock: CallClock) {
    store.data_mut().clock = clock;
    store.set_epoch_deadline(1);
    store
        .set_fuel(limits.fuel)
        .expect("fuel is enabled on the engine");
}

/// Fuel a call burnt, from what the store has left of the budget it was armed with.
pub(super) fn fuel_used(limits: &CallLimits, store: &Store<PluginState>) -> u64 {
    limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0))
}
