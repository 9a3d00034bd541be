//! Write trawl plugins in Rust: extractors that turn fetched pages into items, and
//! exporters that turn stored items into files.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`. It implements one trait,
//! [`Extractor`] or [`Exporter`], and registers its type with
//! [`register_extractor!`] or [`register_exporter!`]; the result is a WebAssembly
//! component of the world `trawl:plugin/extractor-plugin@0.2.0` or
//! `trawl:plugin/exporter-plugin@0.2.0` (the host serves 0.1.0 plugins too). The WIT it was
//! built from ships in this crate (`wit/0.2.0/`) and is the whole contract: plugins get no filesystem, network, environment or
//! clock, the host does all I/O.
//!
//! ```no_run
//! use trawl_sdk::prelude::*;
//!
//! struct Books;
//!
//! impl Extractor for Books {
//!     fn info() -> PluginInfo {
//!         plugin_info!()
//!     }
//!
//!     fn extract(page: &Page, _schema: &Schema, _options: &Options) -> Result<Extraction, PluginError> {
//!         // Two boundary crossings for the whole page: one `select`, one `read`.
//!         let table = page.select_read("article.product_pod", &[
//!             Field::attr("title").selector("h3 a"),
//!             Field::text().selector("p.price_color"),
//!             Field::url("href").selector("h3 a"),
//!         ])?;
//!         log::debug!("{} books on {}", table.len(), page.url());
//!         Ok(table
//!             .rows()
//!             .map(|row| json!({ "title": row.first(0), "price": row.first(1), "url": row.first(2) }))
//!             .collect())
//!     }
//! }
//!
//! register_extractor!(Books);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (with `panic = "abort"`
//! and `opt-level = "s"` a small plugin is about 100 KB). The SDK also compiles for the
//! host target, so a plugin's pure logic is tested with plain `cargo test`; only the
//! [`Page`] and the host's log need the host.
//!
//! # Layout
//! - [`extractor`]: the [`Extractor`] trait, [`Item`] and its fields' [`FieldMeta`],
//!   [`Extraction`], [`register_extractor!`].
//! - [`exporter`]: the [`Exporter`] trait, [`Format`], [`register_exporter!`].
//! - [`page`]: [`Page`] and its batch DOM queries: [`Node`], [`Field`], [`Source`], [`Table`],
//!   and the [`Dom`] trait that lets tests stand in for a page.
//! - [`tree`]: [`Tree`], the whole page in one call ([`Page::tree`]), for extractors that
//!   read a page's structure as a whole.
//! - [`json_repair`]: reading the JSON pages embed (JSON-LD) the way they write it.
//! - [`input`]: [`Schema`] and [`Options`], the JSON texts a call receives.
//! - [`error`]: [`PluginError`], the failures a plugin reports on purpose.
//! - [`hints`]: refusing unknown `x-` hints, with the one likely meant.
//! - [`info`]: [`PluginInfo`] and [`plugin_info!`].
//! - [`log`]: logging to the run's logs.
//! - [`number`]: reading numbers out of text written for people.
//! - `bindings` (hidden): the wit-bindgen glue for both worlds.
#![deny(missing_docs)]

// The generated bindings name this crate by an absolute path (`::trawl_sdk::…`), which
// must also resolve inside the crate itself.
extern crate self as trawl_sdk;

pub mod arena;
#[doc(hidden)]
pub mod bindings;
pub mod error;
pub mod exporter;
pub mod extractor;
pub mod hints;
pub mod info;
pub mod input;
pub mod json_repair;
pub mod log;
pub mod number;
pub mod page;
pub mod tree;

pub use error::PluginError;
pub use exporter::{Exporter, Format};
pub use extractor::{Extraction, Extractor, FieldMeta, Item, Origin};
pub use info::PluginInfo;
pub use input::{Options, Schema};
pub use page::{Dom, Field, Node, Page, QueryError, Row, Source, Table};
/// The JSON library the SDK speaks, re-exported so plugins use the same version.
pub use serde_json;
pub use tree::Tree;

/// Everything a plugin usually needs, in one `use trawl_sdk::prelude::*;`.
///
/// ```
/// use trawl_sdk::prelude::*;
///
/// let item = Item::from(json!({"title": "Soumission"}));
/// let value: Value = serde_json::from_str(&item.json).expect("valid JSON");
/// assert_eq!(value["title"], "Soumission");
/// ```
pub mod prelude {
    pub use crate::log;
    pub use crate::serde_json::{self, Value, json};
    pub use crate::{
        Dom, Exporter, Extraction, Extractor, Field, FieldMeta, Format, Item, Node, Options,
        Origin, Page, PluginError, PluginInfo, QueryError, Schema, Source, Table, Tree,
        plugin_info, register_exporter, register_extractor,
    };
}

/// Used by the SDK's macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::exporter::ExporterAdapter;
    pub use crate::extractor::ExtractorAdapter;
    pub use wit_bindgen;
}
