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
