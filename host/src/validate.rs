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
    /// Where each property is in `properties`.
    positions: std::collections::BTreeMap<String, usize>,
    /// For arrays: the order inside their items.
    items: Option<Box<PropertyOrder>>,
}

impl PropertyOrder {
    /// The order `schema` gives (read with its keys in the order written).
    pub fn of(schema: &Value) -> Self {
        let properties: Vec<(String, PropertyOrder)> = schema
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
        let positions = properties
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        Self {
            properties,
            positions,
            items,
        }
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

impl PropertyOrder {
    /// The order inside property `name`, if the schema lists it.
    pub fn of_property(&self, name: &str) -> Option<&PropertyOrder> {
        let i = *self.positions.get(name)?;
        self.properties.get(i).map(|(_, order)| order)
    }

    /// Whether this order changes nothing (no properties, no items with properties).
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty() && self.items.as_ref().is_none_or(|i| i.is_empty())
    }

    /// Write the JSON text `raw` to `out` compact and in this order, as [`apply`] would
    /// order a parsed value, without building one: objects this order lists are split
    /// into their members (each value kept as text), everything else is copied with the
    /// whitespace between tokens dropped. Numbers keep their text exactly.
    ///
    /// [`apply`]: PropertyOrder::apply
    pub fn write_ordered(&self, raw: &str, out: &mut String) -> Result<(), serde_json::Error> {
        self.write_ordered_except(raw, out, &[])
    }

    /// [`write_ordered`](PropertyOrder::write_ordered), leaving out the top-level members
    /// named in `except`.
    pub fn write_ordered_except(
        &self,
        raw: &str,
        out: &mut String,
        except: &[String],
    ) -> Result<(), serde_json::Error> {
        let raw = raw.trim_start();
        if (!self.properties.is_empty() || !except.is_empty()) && raw.starts_with('{') {
            let members = json_members(raw)?;
            out.push('{');
            let mut first = true;
            let mut comma = |out: &mut String| {
                if !std::mem::take(&mut first) {
                    out.push(',');
                }
            };
            let mut taken = vec![false; members.len()];
            let find = MemberIndex::new(&members);
            for (i, (key, _)) in members.iter().enumerate() {
                if except.iter().any(|e| e == key) {
                    taken[i] = true;
                }
            }
            for (name, inner) in &self.properties {
                if let Some(i) = find.get(&members, name).filter(|i| !taken[*i]) {
                    taken[i] = true;
                    comma(out);
                    write_key(name, out);
                    inner.write_ordered(members[i].1.get(), out)?;
                }
            }
            for ((key, value), taken) in members.iter().zip(taken) {
                if !taken {
                    comma(out);
                    write_key(key, out);
                    compact_json(value.get(), out);
                }
            }
            out.push('}');
            return Ok(());
        }
        if let Some(items) = self.items.as_deref().filter(|i| !i.is_empty())
            && raw.starts_with('[')
        {
            let elements: Vec<&serde_json::value::RawValue> = serde_json::from_str(raw)?;
            out.push('[');
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                items.write_ordered(element.get(), out)?;
            }
            out.push(']');
            return Ok(());
        }
        compact_json(raw, out);
        Ok(())
    }
}

/// A JSON object's members in the order written, each value as its JSON text (nothing
/// below the top level is parsed into values).
pub fn json_members(
    raw: &str,
) -> Result<Vec<(std::borrow::Cow<'_, str>, &serde_json::value::RawValue)>, serde_json::Error> {
    serde_json::from_str::<Members<'_>>(raw).map(|m| m.0)
}

/// Where each member of an object is: a scan for small objects, a hash map for larger
/// ones, so that shaping a row is linear in its size whatever the schema lists.
pub struct MemberIndex<'a>(Option<std::collections::HashMap<&'a str, usize>>);

impl<'a> MemberIndex<'a> {
    pub fn new(members: &'a [(std::borrow::Cow<'_, str>, &serde_json::value::RawValue)]) -> Self {
        Self((members.len() > 8).then(|| {
            let mut map = std::collections::HashMap::with_capacity(members.len());
            for (i, (key, _)) in members.iter().enumerate() {
                map.entry(key.as_ref()).or_insert(i);
            }
            map
        }))
    }

    /// The position of member `name`.
    pub fn get(
        &self,
        members: &[(std::borrow::Cow<'_, str>, &serde_json::value::RawValue)],
        name: &str,
    ) -> Option<usize> {
        match &self.0 {
            Some(map) => map.get(name).copied(),
            None => members.iter().position(|(k, _)| k == name),
        }
    }
}

/// An object's members in the order written, each value as its JSON text.
struct Members<'a>(Vec<(std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16).min(256));
                while let Some(Key(key)) = map.next_key()? {
                    members.push((key, map.next_value()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// An object key, borrowed from the text when it has no escapes.
#[derive(serde::Deserialize)]
struct Key<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// Write `key` as a JSON object key, with its colon.
pub fn write_key(key: &str, out: &mut String) {
    // A string always serializes.
    out.push_str(&serde_json::to_string(key).unwrap_or_default());
    out.push(':');
}

/// Copy JSON text without the whitespace between its tokens (strings are left alone).
pub fn compact_json(raw: &str, out: &mut String) {
    let bytes = raw.as_bytes();
    let mut in_string = false;
    let mut escaped = false;
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            // Whitespace is ASCII, so `from..i` ends on a character boundary.
            out.push_str(&raw[from..i]);
            from = i + 1;
        }
    }
    out.push_str(&raw[from..]);
}

/// SHA-256 of the canonical JSON.
pub fn content_hash(canonical: &str) -> Vec<u8> {
    Sha256::digest(canonical.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_text_matches_ordered_values() {
        let schema = serde_json::json!({"properties": {
            "title": {}, "price": {},
            "seller": {"properties": {"name": {}, "city": {}}},
            "offers": {"items": {"properties": {"b": {}, "a": {}}}}}});
        let order = PropertyOrder::of(&schema);
        // What PostgreSQL prints for a jsonb: shortest keys first, ", " and ": ".
        let stored = r#"{"x": [1, {"z": 1, "y": 2}], "price": 51.77, "title": "A \"q\" \u00e9, b", "offers": [{"a": 1, "b": {"k": [true, null]}}, {"a": 2}], "seller": {"city": "Łódź", "name": "S", "extra": " sp  aces "}, "\u0001ke\"y": 1.50}"#;
        let mut text = String::new();
        order.write_ordered(stored, &mut text).expect("valid");
        let mut value: Value = serde_json::from_str(stored).expect("valid");
        order.apply(&mut value);
        let reparsed: Value = serde_json::from_str(&text).expect("the output is JSON");
        let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(&reparsed), keys(&value));
        assert_eq!(keys(&reparsed["seller"]), keys(&value["seller"]));
        assert_eq!(
            keys(&reparsed["offers"][0]),
            Some(vec!["b".to_owned(), "a".to_owned()])
        );
        assert_eq!(
            keys(&reparsed["x"][1]),
            Some(vec!["z".to_owned(), "y".to_owned()]),
            "unlisted objects keep their order"
        );
        for spaced in ["\": ", "}, ", "77, ", "1, "] {
            assert!(!text.contains(spaced), "compact: {text}");
        }
        assert!(
            text.contains(r#""extra":" sp  aces ""#),
            "strings untouched: {text}"
        );
        assert!(text.contains(":1.50}"), "numbers keep their text: {text}");
        assert!(
            text.starts_with(
                r#"{"title":"A \"q\" \u00e9, b","price":51.77,"seller":{"name":"S","city":"Łódź""#
            ),
            "{text}"
        );
        // No order: copied compact.
        let mut plain = String::new();
        PropertyOrder::default()
            .write_ordered("[1, {\"a\": \"b c\"}]", &mut plain)
            .expect("valid");
        assert_eq!(plain, r#"[1,{"a":"b c"}]"#);
        assert!(
            order
                .write_ordered("{\"title\": ", &mut String::new())
                .is_err()
        );
    }
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
