//! Builds the bundled plugins for `wasm32-wasip2` (see `trawl-build`); the `trawl` binary
//! embeds them.

use trawl_build::{Plugin, build_plugins};

fn main() {
    let bundled = [
        ("css-extractor", "css_extractor"),
        ("jsonl-exporter", "jsonl_exporter"),
        ("csv-exporter", "csv_exporter"),
        ("jsonld-extractor", "jsonld_extractor"),
    ]
    .map(|(package, stem)| Plugin {
        package,
        stem,
        embedded: true,
    });
    build_plugins(&bundled, &["plugins"], "plugins.rs");
}
