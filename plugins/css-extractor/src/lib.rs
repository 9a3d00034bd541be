//! The bundled CSS extractor: items from CSS selectors and `x-` hints in the item's JSON
//! Schema, with no code to write. The hint vocabulary is documented in `README.md`.
//!
//! # Layout
//! - `hints`: the schema's hints, read and checked into a plan of batched reads.
//! - `run`: the plan run against a page (or a fake [`Dom`] in tests), and items assembled.
//! - `coerce`: strings from the page turned into values of the declared type.

use trawl_sdk::prelude::*;

// Each call runs in a fresh instance and makes little garbage per item: bumping a pointer
// beats freeing block by block (see `trawl_sdk::arena`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: trawl_sdk::arena::CallArena = trawl_sdk::arena::CallArena::new();

mod coerce;
mod hints;
mod json;
mod run;

pub use hints::Plan;

/// The `css-extractor` plugin.
pub struct CssExtractor;

impl CssExtractor {
    /// Extract from anything that answers DOM queries: the host's page, or a test's fake.
    pub fn extract_from(dom: &impl Dom, schema: &Schema) -> Result<Extraction, PluginError> {
        let plan = Plan::parse(schema.as_str())?;
        let (items, follow) = run::run(dom, &plan)?;
        Ok(Extraction { items, follow })
    }
}

impl Extractor for CssExtractor {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "css-extractor",
            env!("CARGO_PKG_VERSION"),
            "Items from CSS selectors and x- hints in the item's JSON Schema",
        )
    }

    fn extract(
        page: &Page,
        schema: &Schema,
        _options: &Options,
    ) -> Result<Extraction, PluginError> {
        Self::extract_from(page, schema)
    }
}

register_extractor!(CssExtractor);
