//! Builds the bundled plugins for `wasm32-wasip2` (see `trawl-build`); the `trawl` binary
//! embeds them.

use trawl_build::{Give, build_plugins};

fn main() {
    let bundled = [
        "css-extractor",
        "jsonl-exporter",
        "csv-exporter",
        "json-exporter",
        "xlsx-exporter",
        "parquet-exporter",
        "jsonld-extractor",
        "json-extractor",
    ];
    build_plugins(&bundled, Give::Bytes, &["plugins"], "plugins.rs");
}
