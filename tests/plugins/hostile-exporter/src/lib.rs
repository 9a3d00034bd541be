//! A hostile exporter for the host's tests: `write` never returns (the host must stop it
//! with its time limit and fail the export with `plugin_timeout`). With the option
//! `{"spin": N}` it is only slow: each `write` spins N rounds, then writes its rows one
//! per line, so that a test can watch an export's progress while it runs; with
//! `{"fail_at": K}` as well, the K-th `write` fails.

use std::hint::black_box;

use trawl_sdk::prelude::*;

/// The hostile exporter: stuck, or slow (`spin` rounds per write).
pub struct Stuck {
    spin: Option<u64>,
    fail_at: Option<u64>,
    writes: u64,
}

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

    fn open(_schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        Ok(Self {
            spin: options.get_u64("spin", 0..=u64::MAX)?,
            fail_at: options.get_u64("fail_at", 1..=u64::MAX)?,
            writes: 0,
        })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let mut n: u64 = rows.len() as u64;
        let Some(rounds) = self.spin else {
            loop {
                n = black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        };
        for _ in 0..rounds {
            n = black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        self.writes += 1;
        if self.fail_at == Some(self.writes) {
            return Err(PluginError::other(format!(
                "gave up at write {}",
                self.writes
            )));
        }
        let mut out = String::new();
        for row in rows {
            out.push_str(&row);
            out.push('\n');
        }
        Ok(out.into_bytes())
    }

    fn finish(self) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }
}

register_exporter!(Stuck);
