//! The export session: one exporter instance kept across its `write` calls, rows in and
//! file bytes out, each call within the limits.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::call::off_thread;
use super::engine::Runtime;
use super::error::{CallError, CallErrorKind, PluginErrorInfo, classify};
use super::load::{LoadedPlugin, Pre};
use super::store::{PluginState, arm, fuel_used};
use super::world::ExporterInstance;

impl Runtime {
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
        let timeout = self.defaults.timeout;
        let outer_label = plugin.label();
        off_thread(&outer_label, None, timeout, move || {
            let Pre::Exporter(pre) = &plugin2.pre else {
                return Err(CallError::new(
                    &label,
                    CallErrorKind::WrongKind("an extractor cannot export"),
                ));
            };
            let mut store = this.new_store(&this.defaults, this.clock(&this.defaults, owner));
            let result = pre.instantiate(&mut store).and_then(|instance| {
                let writer = instance.open(&mut store, &schema, &options)?;
                Ok((instance, writer))
            });
            let fuel = fuel_used(&this.defaults, &store);
            store.data_mut().clock.end();
            match result {
                Err(trap) => Err(classify(trap, &store, &label).with_fuel(fuel)),
                Ok((_, Err(e))) => {
                    Err(CallError::new(&label, CallErrorKind::Plugin(e)).with_fuel(fuel))
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
        })
        .await
    }
}

struct SessionInner {
    store: Store<PluginState>,
    instance: ExporterInstance,
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
            instance.write(store, *writer, &rows)
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
            instance.finish(store, *writer)
        })
        .await
    }

    async fn call<F>(&mut self, f: F) -> Result<Vec<u8>, CallError>
    where
        F: FnOnce(&mut SessionInner) -> wasmtime::Result<Result<Vec<u8>, PluginErrorInfo>>
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
        let label2 = label.clone();
        let owner = self.owner;
        let timeout = runtime.defaults.timeout;
        let slots = &self.runtime.slots;
        let done = off_thread(&label, Some((slots, owner)), timeout, move || {
            let clock = runtime.clock(&runtime.defaults, owner);
            arm(&mut inner.store, &runtime.defaults, clock);
            let result = f(&mut inner);
            inner.store.data_mut().clock.end();
            let fuel = fuel_used(&runtime.defaults, &inner.store);
            let max_output = runtime.defaults.max_output;
            let out = match result {
                Err(trap) => Err(classify(trap, &inner.store, &label2)),
                Ok(Err(e)) => Err(CallError::new(&label2, CallErrorKind::Plugin(e))),
                Ok(Ok(bytes)) if bytes.len() as u64 > max_output => Err(CallError::new(
                    &label2,
                    CallErrorKind::OutputLimit(format!(
                        "{} bytes in one write (limit {max_output})",
                        bytes.len()
                    )),
                )),
                Ok(Ok(bytes)) => Ok(bytes),
            };
            Ok((inner, fuel, out))
        })
        .await;
        let (inner, fuel, out) = done?;
        self.fuel += fuel;
        if out.is_ok() {
            self.inner = Some(inner);
        }
        out
    }
}
