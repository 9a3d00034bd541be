//! A hostile exporter for the host's tests: `write` never returns (the host must stop it
//! with its time limit and fail the export with `plugin_timeout`).

use std::hint::black_box;

use trawl_sdk::prelude::*;

/// The hostile exporter.
pub struct Stuck;

impl Exporter for Stuck {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "hostile-exporter",
            env!("CARGO_PKG_VERSION"),
            "An exporter whose write never returns",
        )
    }

    fn format() -> Format {
        Format::new("text/plain", "txt")
    }

    fn open(_schema: &Schema, _options: &Options) -> Result<Self, PluginError> {
        Ok(Self)
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let mut n: u64 = rows.len() as u64;
        loop {
            n = black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn finish(self) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }
}

register_exporter!(Stuck);
