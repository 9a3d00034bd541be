//! JSON Schema checks: a schema against its meta-schema, items against a schema, and the
//! canonical JSON and content hash items are deduplicated by.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// One reason a document is invalid: where (a JSON pointer) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// JSON pointer into the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why one item of a page was not stored as it came, recorded on the page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ItemIssue {
    /// The item's place in what the extractor returned for the page.
    pub index: usize,
    /// `item_not_json`, `item_not_object`, `item_empty` or `item_invalid`.
    pub code: String,
    /// For people.
    pub message: String,
}

impl ItemIssue {
    /// The extractor returned text that is not JSON.
    pub const NOT_JSON: &'static str = "item_not_json";
    /// The extractor returned JSON that is not an object.
    pub const NOT_AN_OBJECT: &'static str = "item_not_object";
    /// No property of the schema was found in the item.
    pub const EMPTY: &'static str = "item_empty";
    /// The item breaks the schema.
    pub const INVALID: &'static str = "item_invalid";

    /// An issue of item `index`.
    pub fn new(index: usize, code: &str, message: impl Into<String>) -> Self {
        Self {
            index,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Check a JSON Schema: against its meta-schema, then by compiling it (bad regexes,
/// unresolvable `$ref`s). Remote references are never fetched.
pub fn check_schema(schema: &Value) -> Result<jsonschema::Validator, Vec<Problem>> {
    if !schema.is_object() {
        return Err(vec![Problem {
            path: String::new(),
            message: "a schema must be a JSON object".into(),
        }]);
    }
    if let Some(uri) = schema.get("$schema") {
        let known = uri
            .as_str()
            .is_some_and(|u| jsonschema::Draft::from_schema_uri(u) != jsonschema::Draft::Unknown);
        if !known {
            return Err(vec![Problem {
                path: "/$schema".into(),
                message: format!(
                    "unknown meta-schema {uri}; use a JSON Schema draft URI or leave $schema out"
                ),
            }]);
        }
    }
    let meta = jsonschema::meta::validator_for(schema).map_err(|e| vec![problem(&e)])?;
    let problems: Vec<Problem> = meta.iter_errors(schema).map(|e| problem(&e)).collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    jsonschema::validator_for(schema).map_err(|e| vec![problem(&e)])
}

fn problem(e: &jsonschema::ValidationError<'_>) -> Problem {
    Problem {
        path: e.instance_path().to_string(),
        message: e.to_string(),
    }
}

/// Every way `item` breaks the schema (at most 20).
pub fn item_problems(validator: &jsonschema::Validator, item: &Value) -> Vec<Problem> {
    validator
        .iter_errors(item)
        .take(20)
        .map(|e| problem(&e))
        .collect()
}

/// Make an item storable: PostgreSQL's text and `jsonb` cannot hold U+0000, which real
/// pages do carry (a NUL escaped in JSON-LD), so it becomes U+FFFD, the replacement
/// character, in every string and key. Returns whether anything changed.
pub fn make_storable(value: &mut Value) -> bool {
    match value {
        Value::String(s) => replace_nul(s),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| make_storable(item) | changed),
        Value::Object(map) => {
            let mut changed = false;
            if map.keys().any(|k| k.contains('\0')) {
                let entries = std::mem::take(map);
                for (mut key, value) in entries {
                    replace_nul(&mut key);
                    map.insert(key, value);
                }
                changed = true;
            }
            map.values_mut()
                .fold(changed, |changed, item| make_storable(item) | changed)
        }
        _ => false,
    }
}

fn replace_nul(s: &mut String) -> bool {
    if !s.contains('\0') {
        return false;
    }
    *s = s.replace('\0', "\u{FFFD}");
    true
}

/// Text PostgreSQL can store: U+0000 replaced by U+FFFD (see [`make_storable`]).
pub fn storable_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Whether an item has nothing in it: no property, or only nulls. Such an item means the
/// extractor found none of the schema's properties where it looked; it is counted on the
/// page, never stored.
pub fn is_empty_item(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().all(Value::is_null),
        _ => false,
    }
}

/// Canonical JSON: object keys sorted, no insignificant whitespace.
///
/// Keys are sorted here rather than relying on serde_json's default `BTreeMap`: cargo
/// unifies features, and a crate in the build that turns on `preserve_order` would
/// silently change every hash.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("a string always serialises"));
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => {
            out.push_str(&serde_json::to_string(scalar).expect("a JSON value always serialises"))
        }
    }
}

/// The order of a schema's properties, at every level: PostgreSQL's `jsonb` keeps an
/// item's keys in an order of its own (shortest first), and a user reads and exports
/// items in the order the schema lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyOrder {
    /// The properties, in the schema's order, each with the order inside it.
    properties: Vec<(String, PropertyOrder)>,
    /// For arrays: the order inside their items.
    items: Option<Box<PropertyOrder>>,
}

impl PropertyOrder {
    /// The order `schema` gives (read with its keys in the order written).
    pub fn of(schema: &Value) -> Self {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, sub)| (name.clone(), Self::of(sub)))
                    .collect()
            })
            .unwrap_or_default();
        let items = schema
            .get("items")
            .filter(|items| items.is_object())
            .map(|items| Box::new(Self::of(items)));
        Self { properties, items }
    }

    /// Put `value`'s keys in this order: the schema's properties first, as listed, then
    /// any others as they came; nested objects and arrays' items likewise.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) if !self.properties.is_empty() => {
                let mut rest = std::mem::take(map);
                for (name, inner) in &self.properties {
                    if let Some(mut v) = rest.shift_remove(name) {
                        inner.apply(&mut v);
                        map.insert(name.clone(), v);
                    }
                }
                map.extend(rest);
            }
            Value::Array(items) => {
                if let Some(order) = &self.items {
                    for item in items {
                        order.apply(item);
                    }
                }
            }
            _ => {}
        }
    }
}

/// SHA-256 of the canonical JSON.
pub fn content_hash(canonical: &str) -> Vec<u8> {
    Sha256::digest(canonical.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[1,2]}}"#).expect("json");
        let b: Value =
            serde_json::from_str(r#"{ "a": {"x": [1, 2], "y": 2}, "b": 1 }"#).expect("json");
        assert_eq!(canonical_json(&a), r#"{"a":{"x":[1,2],"y":2},"b":1}"#);
        assert_eq!(
            content_hash(&canonical_json(&a)),
            content_hash(&canonical_json(&b))
        );
    }

    /// A NUL anywhere in an item (value or key, however deep) becomes U+FFFD, so the
    /// item can be stored; the rest is untouched.
    #[test]
    fn nul_characters_become_replacement_characters() {
        let mut item: Value = serde_json::from_str(
            r#"{"a\u0000b": ["x\u0000", {"c": "\u0000"}], "n": 1, "ok": "fine"}"#,
        )
        .expect("json");
        assert!(make_storable(&mut item));
        assert_eq!(
            item,
            json!({"a\u{FFFD}b": ["x\u{FFFD}", {"c": "\u{FFFD}"}], "n": 1, "ok": "fine"})
        );
        assert!(!canonical_json(&item).contains("\\u0000"));
        let mut clean = json!({"a": "b"});
        assert!(!make_storable(&mut clean));
        assert_eq!(storable_text("a\0b"), "a\u{FFFD}b");
    }

    /// Keys come back in the schema's order at every level (jsonb gives them shortest
    /// first); keys the schema does not list follow in the order they came.
    #[test]
    fn items_take_the_schema_order() {
        let schema: Value = serde_json::from_str(
            r#"{"properties": {"title": {}, "price": {}, "offer": {"properties": {"seller": {}, "id": {}}},
                 "tags": {"items": {"properties": {"z": {}, "a": {}}}}}}"#,
        )
        .expect("json");
        let order = PropertyOrder::of(&schema);
        let mut item: Value = serde_json::from_str(
            r#"{"tags": [{"a": 1, "z": 2}], "extra": true, "offer": {"id": 1, "seller": "s"}, "price": 2, "title": "t"}"#,
        )
        .expect("json");
        order.apply(&mut item);
        assert_eq!(
            item.to_string(),
            r#"{"title":"t","price":2,"offer":{"seller":"s","id":1},"tags":[{"z":2,"a":1}],"extra":true}"#
        );
    }

    #[test]
    fn empty_items_have_no_values() {
        assert!(is_empty_item(&json!({})));
        assert!(is_empty_item(&json!({"a": null, "b": null})));
        assert!(!is_empty_item(&json!({"a": null, "b": 0})));
        assert!(!is_empty_item(&json!({"a": ""})));
    }

    #[test]
    fn invalid_schemas_say_where() {
        let problems =
            check_schema(&json!({"type": "object", "properties": {"price": {"type": "nummber"}}}))
                .expect_err("invalid");
        assert!(
            problems
                .iter()
                .any(|p| p.path.contains("/properties/price")),
            "{problems:?}"
        );
        assert!(check_schema(&json!({"$schema": "https://example.com/nope"})).is_err());
        assert!(check_schema(&json!({"type": "string", "pattern": "("})).is_err());
        assert!(check_schema(&json!({"type": "object", "x-scope": "li"})).is_ok());
    }
}
