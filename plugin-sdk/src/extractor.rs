//! Extractor plugins: the [`Extractor`] trait, what it returns ([`Item`], [`Extraction`]),
//! and [`register_extractor!`](crate::register_extractor), which exports it as the
//! `extractor-plugin` world.

use std::marker::PhantomData;

use crate::bindings::{raw_extractor, raw_page, raw_types};
use crate::{Options, Page, PluginError, PluginInfo, Schema};

/// An extractor: turns a fetched page into items, and maybe links to follow.
///
/// The host makes a fresh instance for every call, so an extractor keeps no state between
/// pages. Register the implementing type with
/// [`register_extractor!`](crate::register_extractor).
///
/// ```no_run
/// use trawl_sdk::prelude::*;
///
/// struct Books;
///
/// impl Extractor for Books {
///     fn info() -> PluginInfo {
///         PluginInfo::new("books", "0.1.0", "Titles and prices from books.toscrape.com")
///     }
///
///     fn extract(page: &Page, _schema: &Schema, _options: &Options) -> Result<Extraction, PluginError> {
///         let table = page.select_read("article.product_pod", &[
///             Field::attr("title").selector("h3 a"),
///             Field::text().selector("p.price_color"),
///         ])?;
///         let items = table.rows().map(|row| {
///             Item::from(json!({ "title": row.first(0), "price": row.first(1) }))
///         });
///         let next = page.urls("li.next a", "href")?;
///         Ok(Extraction::from_iter(items).with_follow(next))
///     }
/// }
///
/// register_extractor!(Books);
/// ```
pub trait Extractor {
    /// Describe this plugin.
    ///
    /// ```
    /// # use trawl_sdk::prelude::*;
    /// # struct Books;
    /// # impl Books {
    /// fn info() -> PluginInfo {
    ///     trawl_sdk::plugin_info!()
    /// }
    /// # }
    /// ```
    fn info() -> PluginInfo;

    /// Extract items from a page. `schema` is the item's JSON Schema (it may carry `x-`
    /// hints); `options` are the schema's plugin options.
    ///
    /// ```no_run
    /// # use trawl_sdk::prelude::*;
    /// # struct Title;
    /// # impl Title {
    /// fn extract(page: &Page, _schema: &Schema, _options: &Options) -> Result<Extraction, PluginError> {
    ///     let title = page.text("h1")?;
    ///     Ok(Extraction::new().with_item(json!({ "title": title })))
    /// }
    /// # }
    /// ```
    fn extract(page: &Page, schema: &Schema, options: &Options) -> Result<Extraction, PluginError>;
}

/// One extracted item: a JSON object, and how sure the plugin is of it.
///
/// `serde_json` sorts object keys unless its `preserve_order` feature is on: a plugin whose
/// items should keep their keys in insertion order enables it in its own `Cargo.toml`.
///
/// ```
/// use trawl_sdk::{Item, serde_json::json};
///
/// let item = Item::from(json!({"price": 47.82, "title": "Sharp Objects"})).with_confidence(0.5);
/// assert_eq!(item.json, r#"{"price":47.82,"title":"Sharp Objects"}"#);
/// assert_eq!(item.confidence, Some(0.5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// A JSON object, as text.
    pub json: String,
    /// How sure the plugin is of this item, in `[0, 1]`, when it knows.
    pub confidence: Option<f32>,
    /// What the plugin knows of each field: its own confidence and where it was found.
    /// The host stores it beside the item (a field at most once: the first entry wins).
    pub fields: Vec<FieldMeta>,
}

impl Item {
    /// An item from a JSON value (which should be an object: the host rejects others).
    ///
    /// ```
    /// let item = trawl_sdk::Item::new(&trawl_sdk::serde_json::json!({"ok": true}));
    /// assert_eq!(item.json, r#"{"ok":true}"#);
    /// ```
    pub fn new(value: &serde_json::Value) -> Self {
        Self {
            json: value.to_string(),
            confidence: None,
            fields: Vec::new(),
        }
    }

    /// An item from JSON object text the plugin already has; it is not re-checked here.
    ///
    /// ```
    /// let item = trawl_sdk::Item::from_json(r#"{"ok":true}"#);
    /// assert_eq!(item.confidence, None);
    /// ```
    pub fn from_json(json: impl Into<String>) -> Self {
        Self {
            json: json.into(),
            confidence: None,
            fields: Vec::new(),
        }
    }

    /// Set the confidence, clamped to `[0, 1]` (NaN means unknown).
    ///
    /// ```
    /// let item = trawl_sdk::Item::from_json("{}").with_confidence(1.5);
    /// assert_eq!(item.confidence, Some(1.0));
    /// ```
    pub fn with_confidence(mut self, confidence: f32) -> Self {
        self.confidence = (!confidence.is_nan()).then(|| confidence.clamp(0.0, 1.0));
        self
    }

    /// Say what the plugin knows of one field of the item.
    ///
    /// ```
    /// use trawl_sdk::{FieldMeta, Item, Origin};
    ///
    /// let item = Item::from_json(r#"{"price":9.5}"#)
    ///     .with_field(FieldMeta::new("price", Origin::StructuredData).confidence(0.95).detail("json-ld"));
    /// assert_eq!(item.fields[0].name, "price");
    /// assert_eq!(item.fields[0].confidence, Some(0.95));
    /// ```
    pub fn with_field(mut self, field: FieldMeta) -> Self {
        self.fields.push(field);
        self
    }
}

/// Where the value of a field was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Structured data the page carries for machines: JSON-LD, microdata, RDFa.
    StructuredData,
    /// A `<meta>` tag (OpenGraph, product and article tags, `itemprop` on `<meta>`).
    Meta,
    /// The page's visible content, read by the plugin's own rules.
    PageText,
    /// A hint of the schema's, which overrides the rules.
    Hint,
    /// Anything else (a URL, a default).
    Other,
}

/// What a plugin knows of one field of an item ([`Item::with_field`]).
///
/// ```
/// use trawl_sdk::{FieldMeta, Origin};
///
/// let meta = FieldMeta::new("headline", Origin::Meta).confidence(2.0).detail("og:title");
/// assert_eq!(meta.confidence, Some(1.0));
/// assert_eq!(meta.detail.as_deref(), Some("og:title"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMeta {
    /// The field: a top-level property name of the item.
    pub name: String,
    /// How sure the plugin is of the value, in `[0, 1]`, when it knows.
    pub confidence: Option<f32>,
    /// Where the value was found.
    pub origin: Origin,
    /// Finer detail for people (`json-ld`, `og:price:amount`, `the h1`).
    pub detail: Option<String>,
}

impl FieldMeta {
    /// A field found at `origin`, of unknown confidence.
    ///
    /// ```
    /// let meta = trawl_sdk::FieldMeta::new("sku", trawl_sdk::Origin::PageText);
    /// assert_eq!(meta.confidence, None);
    /// ```
    pub fn new(name: impl Into<String>, origin: Origin) -> Self {
        Self {
            name: name.into(),
            confidence: None,
            origin,
            detail: None,
        }
    }

    /// Set the confidence, clamped to `[0, 1]` (NaN means unknown).
    ///
    /// ```
    /// let meta = trawl_sdk::FieldMeta::new("sku", trawl_sdk::Origin::PageText).confidence(f32::NAN);
    /// assert_eq!(meta.confidence, None);
    /// ```
    pub fn confidence(mut self, confidence: f32) -> Self {
        self.confidence = (!confidence.is_nan()).then(|| confidence.clamp(0.0, 1.0));
        self
    }

    /// Set the detail of the origin.
    ///
    /// ```
    /// let meta = trawl_sdk::FieldMeta::new("sku", trawl_sdk::Origin::PageText).detail("label SKU:");
    /// assert_eq!(meta.detail.as_deref(), Some("label SKU:"));
    /// ```
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl From<Origin> for raw_extractor::Origin {
    fn from(origin: Origin) -> Self {
        match origin {
            Origin::StructuredData => Self::StructuredData,
            Origin::Meta => Self::Meta,
            Origin::PageText => Self::PageText,
            Origin::Hint => Self::Hint,
            Origin::Other => Self::Other,
        }
    }
}

impl From<serde_json::Value> for Item {
    fn from(value: serde_json::Value) -> Self {
        Self::new(&value)
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for Item {
    fn from(object: serde_json::Map<String, serde_json::Value>) -> Self {
        Self::new(&serde_json::Value::Object(object))
    }
}

/// What one page gave: items, and URLs for the crawler to visit next.
///
/// ```
/// use trawl_sdk::{Extraction, Item};
///
/// let extraction = Extraction::new()
///     .with_item(Item::from_json(r#"{"n":1}"#))
///     .with_follow(["https://books.toscrape.com/catalogue/page-2.html".to_string()]);
/// assert_eq!(extraction.items.len(), 1);
/// assert_eq!(extraction.follow.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// The items found on the page.
    pub items: Vec<Item>,
    /// URLs the crawler should visit next (cursor or custom pagination).
    pub follow: Vec<String>,
}

impl Extraction {
    /// Nothing found yet.
    ///
    /// ```
    /// assert!(trawl_sdk::Extraction::new().items.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one item.
    ///
    /// ```
    /// let e = trawl_sdk::Extraction::new().with_item(trawl_sdk::serde_json::json!({"a": 1}));
    /// assert_eq!(e.items[0].json, r#"{"a":1}"#);
    /// ```
    pub fn with_item(mut self, item: impl Into<Item>) -> Self {
        self.items.push(item.into());
        self
    }

    /// Add URLs to follow.
    ///
    /// ```
    /// let e = trawl_sdk::Extraction::new().with_follow(vec!["https://example.com/2".to_string()]);
    /// assert_eq!(e.follow, ["https://example.com/2"]);
    /// ```
    pub fn with_follow(mut self, urls: impl IntoIterator<Item = String>) -> Self {
        self.follow.extend(urls);
        self
    }
}

impl<I: Into<Item>> FromIterator<I> for Extraction {
    fn from_iter<T: IntoIterator<Item = I>>(iter: T) -> Self {
        Self {
            items: iter.into_iter().map(Into::into).collect(),
            follow: Vec::new(),
        }
    }
}

impl From<Extraction> for raw_extractor::Extraction {
    fn from(extraction: Extraction) -> Self {
        Self {
            items: extraction
                .items
                .into_iter()
                .map(|item| raw_extractor::Item {
                    json: item.json,
                    confidence: item.confidence,
                    fields: item
                        .fields
                        .into_iter()
                        .map(|f| raw_extractor::FieldMeta {
                            name: f.name,
                            confidence: f.confidence,
                            origin: f.origin.into(),
                            detail: f.detail,
                        })
                        .collect(),
                })
                .collect(),
            follow: extraction.follow,
        }
    }
}

/// Connects an [`Extractor`] to the generated `Guest` trait; named by
/// [`register_extractor!`](crate::register_extractor).
#[doc(hidden)]
pub struct ExtractorAdapter<T>(PhantomData<T>);

impl<T: Extractor> raw_extractor::Guest for ExtractorAdapter<T> {
    fn info() -> raw_types::PluginInfo {
        T::info().into()
    }

    fn extract(
        page: &raw_page::Page,
        schema: String,
        options: String,
    ) -> Result<raw_extractor::Extraction, raw_types::PluginError> {
        let page = Page::from_raw(page);
        T::extract(&page, &Schema::new(schema), &Options::new(options))
            .map(Into::into)
            .map_err(Into::into)
    }
}

/// Export a type implementing [`Extractor`] as this component's `extractor-plugin` world.
///
/// Invoke it once, in the plugin's `lib.rs` (a `cdylib` built for `wasm32-wasip2`). The
/// component then exports `trawl:plugin/extractor@0.1.0` and nothing of the exporter world.
///
/// ```no_run
/// use trawl_sdk::prelude::*;
///
/// struct Hello;
///
/// impl Extractor for Hello {
///     fn info() -> PluginInfo {
///         PluginInfo::new("hello", "0.1.0", "One item per page")
///     }
///     fn extract(page: &Page, _: &Schema, _: &Options) -> Result<Extraction, PluginError> {
///         Ok(Extraction::new().with_item(json!({ "url": page.url() })))
///     }
/// }
///
/// register_extractor!(Hello);
/// ```
#[macro_export]
macro_rules! register_extractor {
    ($extractor:ty) => {
        // Off wasm (native tests) there is no component to export to, and the exported
        // symbol names (`trawl:plugin/…`) would not even link: only check the type.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            const fn assert_extractor<T: $crate::Extractor>() {}
            assert_extractor::<$extractor>();
        };
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            type __TrawlExtractor = $crate::__private::ExtractorAdapter<$extractor>;
            $crate::__private::bindings::extractor::__export_extractor_world!(
                __TrawlExtractor with_types_in $crate::__private::bindings::extractor
            );
        };
    };
}
