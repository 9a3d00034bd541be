//! An exporter whose self-description a test rewrites: `info()` and `format()` read it
//! from [`PROFILE`], a fixed-size block of the component's data that tests overwrite in
//! the component's bytes (same length, so the component stays valid). The host's checks
//! of names, versions, media types and extensions are tested with real uploads this way.
//!
//! The block is the marker, then `name`, `version`, `description`, `media type` and
//! `extension`, each ended by a newline; a NUL ends the text.
//!
//! Each `write` returns `bytes_per_row` bytes per row (option, default 8): enough to test
//! an export's size cap.

use std::hint::black_box;

use trawl_sdk::prelude::*;

/// What tests look for in the component's bytes.
pub const MARKER: &[u8] = b"@@TRAWL-CHAMELEON-PROFILE@@";

/// Room for the profile after the marker.
pub const ROOM: usize = 12 << 10;

const DEFAULT: &[u8] =
    b"chameleon\n0.1.0\nAn exporter whose self-description tests rewrite\ntext/plain\ntxt\n";

const fn profile() -> [u8; MARKER.len() + ROOM] {
    let mut block = [0u8; MARKER.len() + ROOM];
    let mut i = 0;
    while i < MARKER.len() {
        block[i] = MARKER[i];
        i += 1;
    }
    let mut j = 0;
    while j < DEFAULT.len() {
        block[MARKER.len() + j] = DEFAULT[j];
        j += 1;
    }
    block
}

/// The marker and the profile.
#[used]
pub static PROFILE: [u8; MARKER.len() + ROOM] = profile();

fn fields() -> Vec<String> {
    // Read through black_box: the compiler must not fold the block into constants.
    let block: &[u8] = black_box(&PROFILE[..]);
    let text = &block[MARKER.len()..];
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    String::from_utf8_lossy(&text[..end])
        .split('\n')
        .map(str::to_owned)
        .collect()
}

fn field(index: usize) -> String {
    fields().get(index).cloned().unwrap_or_default()
}

/// The chameleon exporter.
pub struct Chameleon {
    bytes_per_row: usize,
}

impl Exporter for Chameleon {
    fn info() -> PluginInfo {
        PluginInfo::new(field(0), field(1), field(2))
    }

    fn format() -> Format {
        Format::new(field(3), field(4))
    }

    fn open(_schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        let bytes_per_row = options
            .get("bytes_per_row")?
            .and_then(|v| v.as_u64())
            .unwrap_or(8) as usize;
        Ok(Self { bytes_per_row })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        Ok(vec![b'x'; rows.len() * self.bytes_per_row])
    }

    fn finish(self) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }
}

register_exporter!(Chameleon);
