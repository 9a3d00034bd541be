//! Builds the test plugins for `wasm32-wasip2` (see `trawl-build`): hostile ones and the
//! chameleon, which only tests and benchmarks load.

use trawl_build::{Plugin, build_plugins};

fn main() {
    let plugins = [
        ("hostile", "hostile"),
        ("hostile-exporter", "hostile_exporter"),
        ("chameleon", "chameleon"),
    ]
    .map(|(package, stem)| Plugin {
        package,
        stem,
        embedded: false,
    });
    build_plugins(&plugins, &["tests/plugins"], "test_plugins.rs");
}
