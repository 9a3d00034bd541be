//! The bundled JSON extractor: items from JSON API responses, read by JSONPath hints in
//! the item's JSON Schema, and the next pages of the API (a next-page URL, a page
//! number, a cursor) returned for the host's `plugin` pagination. The plugin reads the
//! response body and never asks the host for a DOM.
//!
//! # Layout
//! - `plan`: the schema's hints, read and checked into a plan.
//! - `path`: JSONPath as the hints write it, size-checked and told singular or not.
//! - `items`: the items the plan finds in a response.
//! - `coerce`: values turned into the declared scalar types.
//! - `follow`: the URLs to follow, from the response and the page's URL.
//!
//! The hint vocabulary, from the crate's `README.md`:
//!
#![doc = include_str!("../README.md")]

use serde_json::Value;
use trawl_sdk::prelude::*;
use url::Url;

// A call parses one body into many small values that all live until it ends: bumping a
// pointer beats freeing block by block (see `trawl_sdk::arena`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: trawl_sdk::arena::CallArena = trawl_sdk::arena::CallArena::new();

pub mod coerce;
pub mod follow;
pub mod items;
pub mod path;
pub mod plan;

/// The `json-extractor` plugin.
pub struct JsonExtractor;

impl JsonExtractor {
    /// Extract from a response: the page's final URL and its decoded body. The schema is
    /// read first, so that a schema it cannot use is a `plugin-error.invalid-input`
    /// whatever the body (the host checks a schema on an empty HTML page).
    ///
    /// ```
    /// use json_extractor::JsonExtractor;
    /// use trawl_sdk::Schema;
    ///
    /// let schema = Schema::new(r#"{"x-scope": "data", "properties": {"id": {"type": "integer"}},
    ///     "x-follow": {"page": {"param": "page", "while": "has_next"}}}"#);
    /// let body = r#"{"data": [{"id": "1"}, {"id": 2}], "has_next": true}"#;
    /// let extraction = JsonExtractor::extract_from("https://api.test/items", body, &schema)?;
    /// assert_eq!(extraction.items[0].json, r#"{"id":1}"#);
    /// assert_eq!(extraction.follow, ["https://api.test/items?page=2"]);
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn extract_from(
        page_url: &str,
        body: &str,
        schema: &Schema,
    ) -> Result<Extraction, PluginError> {
        let plan = plan::Plan::parse(schema.json()?)?;
        let body = parse_body(body)?;
        let values = items::item_values(&plan, &body)?;
        let found = items::items(&plan, &values);
        let mut next = Vec::new();
        if let Some(rule) = &plan.follow {
            let url = Url::parse(page_url).map_err(|e| {
                PluginError::other(format!("the page's URL {page_url:?} does not parse: {e}"))
            })?;
            let (urls, skipped) = follow::follow(rule, &url, &body, values.len());
            if let Some(why) = skipped {
                log::warn!("x-follow: {why}");
            }
            next = urls;
        }
        Ok(Extraction {
            items: found,
            follow: next,
        })
    }
}

/// The body as JSON. Not JSON (an HTML error page, an empty body, nesting deeper than
/// `serde_json`'s limit of 128 levels) is a `plugin-error.unsupported`.
fn parse_body(body: &str) -> Result<Value, PluginError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    serde_json::from_str(body)
        .map_err(|e| PluginError::unsupported(format!("the response is not JSON: {e}")))
}

impl Extractor for JsonExtractor {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "json-extractor",
            env!("CARGO_PKG_VERSION"),
            "Items from JSON API responses, by JSONPath hints in the item's JSON Schema",
        )
    }

    fn extract(page: &Page, schema: &Schema, options: &Options) -> Result<Extraction, PluginError> {
        options.allow_only(&[])?;
        Self::extract_from(&page.url(), &page.body(), schema)
    }
}

register_extractor!(JsonExtractor);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn run(url: &str, body: &str, schema: Value) -> Result<Extraction, PluginError> {
        JsonExtractor::extract_from(url, body, &Schema::new(schema.to_string()))
    }

    fn items(extraction: &Extraction) -> Vec<Value> {
        extraction
            .items
            .iter()
            .map(|i| serde_json::from_str(&i.json).unwrap())
            .collect()
    }

    #[test]
    fn a_page_of_an_api_paginated_by_number() {
        let schema = json!({
            "type": "object",
            "x-scope": "items",
            "x-follow": {"page": {"param": "page", "while": "has_next"}},
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "price": {"type": "number"},
                "in_stock": {"type": "boolean"}
            }
        });
        let body = r#"{"items": [{"id": "1", "name": "Anvil", "price": "12.50", "in_stock": 1},
                                  {"id": 2, "name": 3, "price": 7, "in_stock": "no"}],
                       "has_next": true}"#;
        let e = run("http://api.test/api/items?page=2", body, schema.clone()).unwrap();
        assert_eq!(
            items(&e),
            [
                json!({"id": 1, "name": "Anvil", "price": 12.5, "in_stock": true}),
                json!({"id": 2, "name": "3", "price": 7, "in_stock": false}),
            ]
        );
        assert_eq!(e.items[0].confidence, Some(1.0));
        assert_eq!(e.follow, ["http://api.test/api/items?page=3"]);
        let last = run(
            "http://api.test/api/items?page=3",
            r#"{"items": [], "has_next": false}"#,
            schema,
        )
        .unwrap();
        assert!(last.items.is_empty() && last.follow.is_empty());
    }

    #[test]
    fn items_keep_the_schema_order() {
        let schema = json!({"properties": {"z": {}, "a": {}}});
        let e = run("http://a.test/", r#"{"a": 1, "z": 2}"#, schema).unwrap();
        assert_eq!(e.items[0].json, r#"{"z":2,"a":1}"#);
    }

    #[test]
    fn errors_are_plugin_errors_with_stable_messages() {
        let schema = json!({"x-scope": "data", "properties": {"id": {}}});
        let not_json = run(
            "http://a.test/",
            "<!doctype html><html></html>",
            schema.clone(),
        )
        .unwrap_err();
        assert!(matches!(not_json, PluginError::Unsupported(_)));
        assert!(
            not_json
                .message()
                .starts_with("the response is not JSON: expected value at line 1"),
            "{not_json}"
        );
        assert!(
            run("http://a.test/", "", schema.clone())
                .unwrap_err()
                .message()
                .starts_with("the response is not JSON: ")
        );

        let non_array =
            run("http://a.test/", r#"{"data": {"id": 1}}"#, schema.clone()).unwrap_err();
        assert_eq!(
            non_array,
            PluginError::unsupported(
                "x-scope selects an object in this response, not an array of items"
            )
        );

        // The schema is read before the body: on the host's empty HTML check page a bad
        // path is invalid input, not "not JSON".
        let bad_path = run(
            "https://schema-check.trawl.invalid/",
            "<html></html>",
            json!({"x-scope": "data[?"}),
        )
        .unwrap_err();
        assert!(matches!(bad_path, PluginError::InvalidInput(_)));
        assert!(
            bad_path
                .message()
                .starts_with("/x-scope: \"data[?\": the path is not a JSONPath: "),
            "{bad_path}"
        );
        let good = run(
            "https://schema-check.trawl.invalid/",
            "<html></html>",
            schema,
        )
        .unwrap_err();
        assert!(matches!(good, PluginError::Unsupported(_)));

        assert!(matches!(
            JsonExtractor::extract_from("http://a.test/", "{}", &Schema::new("{")),
            Err(PluginError::InvalidInput(_))
        ));
    }

    #[test]
    fn deep_bodies_are_refused_not_walked() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = run("http://a.test/", &deep, json!({"x-scope": "$..x"})).unwrap_err();
        assert!(
            err.message()
                .starts_with("the response is not JSON: recursion limit exceeded"),
            "{err}"
        );
        // Within the parser's limit, descendant queries and copies are bounded by it.
        let ok = format!(
            "{}{{\"x\": [{{\"id\": 1}}]}}{}",
            "{\"a\": ".repeat(120),
            "}".repeat(120)
        );
        let e = run("http://a.test/", &ok, json!({"x-scope": "$..x"})).unwrap();
        assert_eq!(items(&e), [json!({"id": 1})]);
    }

    #[test]
    fn a_byte_order_mark_is_not_the_body() {
        let e = run("http://a.test/", "\u{feff}[{\"a\": 1}]", json!({})).unwrap();
        assert_eq!(items(&e), [json!({"a": 1})]);
    }

    #[test]
    fn the_readme_schemas_parse() {
        let readme = include_str!("../README.md");
        let schemas: Vec<Value> = readme
            .split("```json\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .map(|block| serde_json::from_str(block).unwrap())
            .filter(|v: &Value| v.get("properties").is_some() || v.get("x-follow").is_some())
            .collect();
        assert!(schemas.len() >= 3, "{}", schemas.len());
        for schema in &schemas {
            plan::Plan::parse(schema).unwrap();
        }
    }
}
