//! The bundled structured-data extractor: items from the schema.org entities a page
//! embeds as JSON-LD (`<script type="application/ld+json">`) or microdata (`itemscope`,
//! `itemprop`), mapped onto the item schema's properties by name, with `x-` hints where
//! the names differ. The hints are documented in `README.md`.
//!
//! # Layout
//! - `scan`: the page's JSON-LD texts and microdata elements, in five DOM calls at most.
//! - the SDK's `json_repair`: the JSON that pages write turned into JSON that parses.
//! - `microdata`: microdata elements turned into JSON-LD-shaped entities.
//! - `graph`: the page's entities: top-level ones, by type, by `@id`.
//! - `schema`: the item schema's hints, read into a plan.
//! - `map`: entities turned into items by the plan.
//! - `coerce` and `number`: values turned into the declared types.

use serde_json::Value;
use trawl_sdk::prelude::*;

pub mod coerce;
pub mod graph;
pub mod map;
pub mod microdata;
pub mod scan;
pub mod schema;

/// The `jsonld-extractor` plugin.
pub struct JsonLdExtractor;

impl JsonLdExtractor {
    /// Extract from anything that answers DOM queries: the host's page, or a test's fake.
    pub fn extract_from(
        dom: &impl Dom,
        schema: &Schema,
        options: &Options,
    ) -> Result<Extraction, PluginError> {
        let plan = schema::Plan::parse(schema.json()?)?;
        let found = scan::scan(dom, sources(options)?)?;
        let mut roots: Vec<Value> = Vec::new();
        for (n, text) in found.scripts.iter().enumerate() {
            let (values, error) = trawl_sdk::json_repair::parse_script(text);
            if let Some(error) = error {
                let kept = match values.len() {
                    0 => String::from("skipped"),
                    k => format!("{k} value(s) before the error kept"),
                };
                log::warn!(
                    "JSON-LD script {} of {}: {error}; {kept}",
                    n + 1,
                    found.scripts.len()
                );
            }
            roots.extend(values);
        }
        roots.extend(microdata::items(&found.elements));
        let graph = graph::Graph::new(&roots);
        Ok(map::items(&graph, &plan).into_iter().collect())
    }
}

impl Extractor for JsonLdExtractor {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "jsonld-extractor",
            env!("CARGO_PKG_VERSION"),
            "Items from the schema.org data pages embed as JSON-LD and microdata",
        )
    }

    fn extract(page: &Page, schema: &Schema, options: &Options) -> Result<Extraction, PluginError> {
        Self::extract_from(page, schema, options)
    }
}

/// The `sources` option: which syntaxes to read, `["json-ld", "microdata"]` by default.
fn sources(options: &Options) -> Result<scan::Sources, PluginError> {
    let Some(value) = options.get("sources")? else {
        return Ok(scan::Sources::default());
    };
    let bad = || {
        PluginError::invalid_input(
            "option `sources` must be a non-empty array of \"json-ld\" and \"microdata\"",
        )
    };
    let names = value.as_array().filter(|a| !a.is_empty()).ok_or_else(bad)?;
    let mut sources = scan::Sources {
        json_ld: false,
        microdata: false,
    };
    for name in names {
        match name.as_str() {
            Some("json-ld") => sources.json_ld = true,
            Some("microdata") => sources.microdata = true,
            _ => return Err(bad()),
        }
    }
    Ok(sources)
}

register_extractor!(JsonLdExtractor);
