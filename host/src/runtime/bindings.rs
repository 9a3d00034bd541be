//! Host bindings generated from `wit/` for the two plugin worlds.
//!
//! The exporter world reuses the extractor world's bindings of the shared interfaces, so a
//! single host implementation of `log` (and `types`) serves both.

/// Bindings of the `extractor-plugin` world.
pub mod extractor {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "extractor-plugin",
        imports: { default: trappable },
        with: {
            "trawl:plugin/page.page": crate::runtime::page::PageResource,
        },
    });
}

/// Bindings of the `exporter-plugin` world.
pub mod exporter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "exporter-plugin",
        imports: { default: trappable },
        with: {
            "trawl:plugin/types": crate::runtime::bindings::extractor::trawl::plugin::types,
            "trawl:plugin/log": crate::runtime::bindings::extractor::trawl::plugin::log,
        },
    });
}

pub use extractor::trawl::plugin::{log, page, types};
