//! Builds the test plugins for `wasm32-wasip2` (see `trawl-build`): hostile ones and the
//! chameleon, which only tests and benchmarks load.

use trawl_build::{Give, build_plugins};

fn main() {
    let plugins = ["hostile", "hostile-exporter", "chameleon"];
    build_plugins(&plugins, Give::Paths, &["tests/plugins"], "test_plugins.rs");
}
