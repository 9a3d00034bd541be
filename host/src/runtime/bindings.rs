//! Host bindings generated from `wit/`, for the two plugin worlds of every WIT version the
//! host serves (`v0_1`, `v0_2`). `world` puts one face on them for the calls.
//!
//! In each version the exporter world reuses the extractor world's bindings of the shared
//! interfaces, so one host implementation of `log` (and `types`) serves both worlds.

/// `trawl:plugin@0.1.0`.
pub mod v0_1 {
    /// Bindings of the `extractor-plugin` world.
    pub mod extractor {
        wasmtime::component::bindgen!({
            path: "../wit/0.1.0",
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
            path: "../wit/0.1.0",
            world: "exporter-plugin",
            imports: { default: trappable },
            with: {
                "trawl:plugin/types": crate::runtime::bindings::v0_1::extractor::trawl::plugin::types,
                "trawl:plugin/log": crate::runtime::bindings::v0_1::extractor::trawl::plugin::log,
            },
        });
    }

    pub use extractor::trawl::plugin::{log, page, types};
}

/// `trawl:plugin@0.2.0`: 0.1.0 with `page.tree` and `item.fields`.
pub mod v0_2 {
    /// Bindings of the `extractor-plugin` world.
    pub mod extractor {
        wasmtime::component::bindgen!({
            path: "../wit/0.2.0",
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
            path: "../wit/0.2.0",
            world: "exporter-plugin",
            imports: { default: trappable },
            with: {
                "trawl:plugin/types": crate::runtime::bindings::v0_2::extractor::trawl::plugin::types,
                "trawl:plugin/log": crate::runtime::bindings::v0_2::extractor::trawl::plugin::log,
            },
        });
    }

    pub use extractor::trawl::plugin::{log, page, types};
}
