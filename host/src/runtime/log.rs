//! The `log` import: plugin log lines, capped per call, handed to the run's logs.

use super::PluginState;
use super::bindings::log::{Host, Level};

/// One line a plugin logged.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    /// `trace` … `error`.
    pub level: &'static str,
    /// What the plugin said (truncated to [`MAX_LINE_BYTES`]).
    pub message: String,
}

/// Longest log line kept; the rest of a longer line is cut.
pub const MAX_LINE_BYTES: usize = 4096;

/// Log lines of one call: the first `cap` are kept, the rest only counted.
#[derive(Debug, Default)]
pub struct LogSink {
    pub(crate) lines: Vec<LogLine>,
    pub(crate) dropped: u64,
    pub(crate) cap: usize,
}

impl LogSink {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            lines: Vec::new(),
            dropped: 0,
            cap,
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

impl Host for PluginState {
    fn log(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        let sink = &mut self.logs;
        if sink.lines.len() >= sink.cap {
            sink.dropped += 1;
            // Dropping costs a host call each time: a plugin that keeps logging far past
            // its cap is stopped rather than allowed to spin the host.
            if sink.dropped > (sink.cap as u64).saturating_mul(100).max(1000) {
                return Err(wasmtime::Error::new(super::limits::HostTrap::Limit(
                    format!(
                        "more than {} log lines in one call",
                        sink.dropped + sink.lines.len() as u64
                    ),
                )));
            }
            return Ok(());
        }
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        sink.lines.push(LogLine {
            level: level_name(level),
            message,
        });
        Ok(())
    }
}

impl super::bindings::types::Host for PluginState {}
