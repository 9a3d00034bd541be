//! Plugin log lines, capped per call and handed to the run's logs (the `log` import's
//! host side is in `host.rs`).

use super::trap::HostTrap;

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

    /// Keep a line, or count it past the cap. Dropping costs a host call each time: a
    /// plugin that keeps logging far past its cap is stopped rather than allowed to spin
    /// the host.
    pub(crate) fn push(
        &mut self,
        level: &'static str,
        mut message: String,
    ) -> Result<(), HostTrap> {
        if self.lines.len() >= self.cap {
            self.dropped += 1;
            if self.dropped > (self.cap as u64).saturating_mul(100).max(1000) {
                return Err(HostTrap::Limit(format!(
                    "more than {} log lines in one call",
                    self.dropped + self.lines.len() as u64
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
        self.lines.push(LogLine { level, message });
        Ok(())
    }
}
