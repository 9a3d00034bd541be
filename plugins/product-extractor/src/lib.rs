//! The bundled product extractor: one product per product page, no selectors needed.
//! It reads structured data first (JSON-LD, microdata, RDFa, OpenGraph and product meta
//! tags), then the page itself (the title, the price beside it, labelled codes,
//! availability wording), and writes each field in one documented form (prices as
//! numbers, ISO 4217 currencies, schema.org availability short names). `x-selector`
//! hints override any field. The fields, forms, hints and options are documented in
//! `README.md`.
//!
//! # Layout
//! - `schema`: the item schema's properties and hints, and the options, read into a plan.
//! - `structured`: JSON-LD, microdata and RDFa entities, and the main product's fields.
//! - `meta`: meta tags (OpenGraph, `product:`, `twitter:`) and the canonical link.
//! - `text`: the page-text rules.
//! - `price`, `currency`, `availability`: reading values written for people.
//! - `fields`: the most confident value per field; `item`: the item the plan asks for.
//! - `util`: small text helpers.

use trawl_sdk::prelude::*;

pub mod availability;
pub mod currency;
pub mod fields;
pub mod item;
pub mod meta;
pub mod price;
pub mod schema;
pub mod structured;
pub mod text;
pub mod util;

use fields::Fields;
use schema::{Key, Plan};

/// The `product-extractor` plugin.
pub struct ProductExtractor;

/// Everything the page's own data gives, before the plan picks the item's properties.
pub fn find_fields(tree: &Tree, page_url: &str, plan: &Plan) -> (Fields, currency::Locale) {
    let head = meta::Head::read(tree);
    let locale = currency::Locale::new(&head.lang, page_url);
    let mut fields = Fields::default();
    if plan.structured_data {
        let entities = structured::read(tree, page_url);
        let title = head.get("og:title").or(head.title.as_deref());
        structured::fill(&entities, &locale, page_url, title, &mut fields);
        meta::fill(&head, &locale, page_url, &mut fields);
    }
    if plan.page_text {
        text::fill(tree, &locale, head.title.as_deref(), &mut fields);
        let url = head
            .canonical
            .as_deref()
            .or(head.get("og:url"))
            .unwrap_or(page_url);
        if let Some(id) = text::url_id(url).or_else(|| text::url_id(page_url)) {
            fields.offer(
                Key::Sku,
                fields::Found::new(
                    fields::Val::Text(id),
                    0.35,
                    Origin::Other,
                    "the product id in the URL",
                ),
            );
        }
    }
    (fields, locale)
}

/// The whole extraction over a page's tree: the pure core of [`Extractor::extract`].
/// `dom` answers the hints' selectors (the page itself, or a test's stand-in).
pub fn extract_tree(
    tree: &Tree,
    page_url: &str,
    plan: &Plan,
    dom: &impl Dom,
) -> Result<Extraction, PluginError> {
    let (mut fields, locale) = find_fields(tree, page_url, plan);
    item::apply_hints(dom, plan, &locale, page_url, &mut fields)?;
    let extras = item::hinted_extras(dom, plan)?;
    if !item::is_product(&fields) {
        return Ok(Extraction::new());
    }
    item::settle(&mut fields, plan);
    Ok(Extraction::new().with_item(item::build(&fields, plan, extras)))
}

impl Extractor for ProductExtractor {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "product-extractor",
            env!("CARGO_PKG_VERSION"),
            "Products from any shop page, no selectors needed",
        )
    }

    fn extract(page: &Page, schema: &Schema, options: &Options) -> Result<Extraction, PluginError> {
        let plan = Plan::parse(schema.json()?, options)?;
        let tree = page.tree()?;
        extract_tree(&tree, &page.url(), &plan, page)
    }
}

register_extractor!(ProductExtractor);
