//! The wit-bindgen glue, generated from `wit/0.2.0` (`wit/` is a link to the workspace's WIT
//! packages, every version the host serves).
//!
//! Both worlds are generated here, in two modules. `pub_export_macro` makes wit-bindgen
//! split each world's component-type section in two: the section emitted in this crate
//! carries the world's *imports* only, and the one naming the *exports* is emitted by the
//! export macro, so it lands only in a plugin that invokes it. An exporter plugin therefore
//! never has to provide the extractor's exports (or the reverse), whichever worlds the SDK
//! knows. Unused imports are dropped by `wit-component` when the component is assembled.
//!
//! Nothing here is public API: plugin authors use the types and macros at the crate root.
#![allow(unsafe_code, missing_docs, unreachable_pub, clippy::all)]

/// Bindings of the `extractor-plugin` world: the `page`, `log` and `types` imports, and
/// the `extractor` export.
pub mod extractor {
    wit_bindgen::generate!({
        path: "wit/0.2.0",
        world: "trawl:plugin/extractor-plugin@0.2.0",
        runtime_path: "::trawl_sdk::__private::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "__export_extractor_world",
        default_bindings_module: "::trawl_sdk::__private::bindings::extractor",
    });
}

/// Bindings of the `exporter-plugin` world, reusing the interfaces it shares with
/// `extractor` so that both worlds use one `PluginError` and one `log`.
pub mod exporter {
    wit_bindgen::generate!({
        path: "wit/0.2.0",
        world: "trawl:plugin/exporter-plugin@0.2.0",
        runtime_path: "::trawl_sdk::__private::wit_bindgen::rt",
        pub_export_macro: true,
        export_macro_name: "__export_exporter_world",
        default_bindings_module: "::trawl_sdk::__private::bindings::exporter",
        with: {
            "trawl:plugin/types@0.2.0": super::extractor::trawl::plugin::types,
            "trawl:plugin/log@0.2.0": super::extractor::trawl::plugin::log,
        },
    });
}

pub(crate) use exporter::exports::trawl::plugin::exporter as raw_exporter;
pub(crate) use extractor::exports::trawl::plugin::extractor as raw_extractor;
pub(crate) use extractor::trawl::plugin::{log as raw_log, page as raw_page, types as raw_types};
