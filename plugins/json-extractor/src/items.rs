//! The items of a response, by a [`Plan`]: the values `x-scope` selects (or the body),
//! each read into an object of the schema's properties, each property converted to its
//! declared type. Work is bounded by the schema (whose nesting the plan caps) and by the
//! body (whose nesting the JSON parser caps at 128 levels).

use serde_json::{Map, Value};
use trawl_sdk::{Item, PluginError};

use crate::coerce::{map_key, to_scalar};
use crate::plan::{Kind, Plan, Prop, Spec};

/// The values that are items: the `x-scope`'s, or the body, or the body's elements.
///
/// A singular `x-scope` (`data.items`) must select an array (its elements are the items),
/// `null` or nothing (no items); anything else is a `plugin-error.unsupported`. A
/// non-singular one (`data[*]`, `$..products`) makes every value it selects an item, and
/// every array it selects gives its elements.
pub fn item_values<'v>(plan: &Plan, body: &'v Value) -> Result<Vec<&'v Value>, PluginError> {
    let Some(scope) = &plan.scope else {
        return Ok(match body {
            Value::Array(elements) => elements.iter().collect(),
            other => vec![other],
        });
    };
    let found = scope.find(body);
    if scope.is_singular() {
        return match found.first() {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(elements)) => Ok(elements.iter().collect()),
            Some(other) => Err(PluginError::unsupported(format!(
                "x-scope selects {} in this response, not an array of items",
                kind_of(other)
            ))),
        };
    }
    Ok(found
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(elements) => elements.iter().collect(),
            other => vec![other],
        })
        .collect())
}

/// The items read from `values`, in order. Without properties, objects are items as they
/// are (other values are skipped: an item is an object).
pub fn items(plan: &Plan, values: &[&Value]) -> Vec<Item> {
    values
        .iter()
        .filter_map(|value| {
            let object = match &plan.props {
                Some(props) => read_object(props, value),
                None => value.as_object()?.clone(),
            };
            let confidence = confidence(&object, &plan.required);
            Some(Item::from(object).with_confidence(confidence))
        })
        .collect()
}

/// The share of `required` names that `object` has (1 when nothing is required).
fn confidence(object: &Map<String, Value>, required: &[String]) -> f32 {
    if required.is_empty() {
        return 1.0;
    }
    let present = required.iter().filter(|n| object.contains_key(*n)).count();
    present as f32 / required.len() as f32
}

/// The properties of one object, read relative to `value`; a property whose value is
/// missing or does not convert is left out.
fn read_object(props: &[Prop], value: &Value) -> Map<String, Value> {
    props
        .iter()
        .filter_map(|prop| Some((prop.name.clone(), read_prop(prop, value)?)))
        .collect()
}

fn read_prop(prop: &Prop, value: &Value) -> Option<Value> {
    let found = prop.path.find(value);
    if let Kind::Array(items) = &prop.spec.kind
        && !prop.path.is_singular()
    {
        // `tags[*].name`: every value found is one element.
        if found.is_empty() {
            return None;
        }
        return Some(Value::Array(
            found
                .into_iter()
                .filter_map(|v| convert(v, items))
                .collect(),
        ));
    }
    found.into_iter().find_map(|v| convert(v, &prop.spec))
}

/// `value` as `spec` says, or `None` when it does not convert.
pub fn convert(value: &Value, spec: &Spec) -> Option<Value> {
    if value.is_null() {
        let keeps_null = spec.nullable || matches!(spec.kind, Kind::Any | Kind::Null);
        return keeps_null.then_some(Value::Null);
    }
    if let Some(map) = &spec.map {
        let mapped = map.get(&map_key(value)?)?;
        let unmapped = Spec {
            kind: spec.kind.clone(),
            nullable: spec.nullable,
            map: None,
        };
        return convert(mapped, &unmapped);
    }
    match &spec.kind {
        Kind::Any => Some(value.clone()),
        Kind::Null => None,
        Kind::Scalar(ty) => to_scalar(value, *ty),
        Kind::Object(props) => value
            .is_object()
            .then(|| Value::Object(read_object(props, value))),
        Kind::Array(items) => match value {
            Value::Array(elements) => Some(Value::Array(
                elements.iter().filter_map(|v| convert(v, items)).collect(),
            )),
            // A lone value where a list is wanted is a list of one.
            other => convert(other, items).map(|v| Value::Array(vec![v])),
        },
    }
}

/// A value's JSON type, with its article, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(schema: Value) -> Plan {
        Plan::parse(&schema).unwrap()
    }

    fn extract(schema: Value, body: Value) -> Vec<Value> {
        let plan = plan(schema);
        let values = item_values(&plan, &body).unwrap();
        items(&plan, &values)
            .iter()
            .map(|item| serde_json::from_str(&item.json).unwrap())
            .collect()
    }

    #[test]
    fn the_root_path_selects_the_items() {
        let body = json!({"data": {"items": [{"id": 1}, {"id": 2}]}, "meta": {"page": 1}});
        let schema =
            |scope: &str| json!({"x-scope": scope, "properties": {"id": {"type": "integer"}}});
        for scope in ["data.items", "$.data.items", "data.items[*]", "$..items"] {
            assert_eq!(
                extract(schema(scope), body.clone()),
                [json!({"id": 1}), json!({"id": 2})],
                "{scope}"
            );
        }
        assert_eq!(
            extract(schema("data.items[?@.id > 1]"), body.clone()),
            [json!({"id": 2})]
        );
        assert!(extract(schema("data.missing"), body.clone()).is_empty());
        assert!(extract(schema("data.items"), json!({"data": {"items": null}})).is_empty());
        // One object selected by a non-singular path is one item.
        assert_eq!(
            extract(
                schema("data.items[*]"),
                json!({"data": {"items": [{"id": 7}]}})
            ),
            [json!({"id": 7})]
        );
    }

    #[test]
    fn a_root_path_to_a_non_array_is_an_error() {
        let plan = plan(json!({"x-scope": "meta", "properties": {}}));
        let err = item_values(&plan, &json!({"meta": {"page": 1}})).unwrap_err();
        assert_eq!(
            err,
            PluginError::unsupported(
                "x-scope selects an object in this response, not an array of items"
            )
        );
        let plan = super::Plan::parse(&json!({"x-scope": "total"})).unwrap();
        assert!(
            item_values(&plan, &json!({"total": 3}))
                .unwrap_err()
                .message()
                .contains("a number")
        );
    }

    #[test]
    fn without_a_root_path_the_body_is_the_item() {
        let schema = json!({"properties": {"id": {"type": "string"}}});
        assert_eq!(
            extract(schema.clone(), json!({"id": 5})),
            [json!({"id": "5"})]
        );
        assert_eq!(
            extract(schema, json!([{"id": 1}, {"id": 2}])),
            [json!({"id": "1"}), json!({"id": "2"})]
        );
        // No properties: objects as they are, in their order; other values are no items.
        assert_eq!(
            extract(
                json!({"type": "object"}),
                json!([{"z": 1, "a": [2]}, 3, "x", {"b": null}])
            ),
            [json!({"z": 1, "a": [2]}), json!({"b": null})]
        );
    }

    #[test]
    fn properties_are_read_by_relative_paths() {
        let schema = json!({
            "x-scope": "results",
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string", "x-path": "attributes.title"},
                "first_tag": {"type": "string", "x-path": "tags[0].name"},
                "tags": {"type": "array", "items": {"type": "string"}, "x-path": "tags[*].name"},
                "sizes": {"type": "array", "items": {"type": "number"}},
                "seller": {"type": "object", "x-path": "$.relationships.seller", "properties": {
                    "name": {"type": "string"},
                    "rating": {"type": "number", "x-path": "stats.rating"}
                }},
                "variants": {"type": "array", "items": {"type": "object", "properties": {
                    "sku": {"type": "string"},
                    "stock": {"type": "integer", "x-path": "inventory.count"}
                }}},
                "self": {"type": "object", "x-path": "$", "properties": {"id": {"type": "string"}}},
                "raw": {"x-path": "attributes"}
            }
        });
        let body = json!({"results": [{
            "id": "17",
            "attributes": {"title": "Anvil", "weight": 50},
            "tags": [{"name": "iron"}, {"name": "heavy"}],
            "sizes": ["1.5", 2, "n/a"],
            "relationships": {"seller": {"name": "ACME", "stats": {"rating": "4.5"}}},
            "variants": [{"sku": 1001, "inventory": {"count": "3"}}, {"sku": "B"}, "junk"]
        }]});
        assert_eq!(
            extract(schema, body),
            [json!({
                "id": 17,
                "title": "Anvil",
                "first_tag": "iron",
                "tags": ["iron", "heavy"],
                "sizes": [1.5, 2],
                "seller": {"name": "ACME", "rating": 4.5},
                "variants": [{"sku": "1001", "stock": 3}, {"sku": "B"}],
                "self": {"id": "17"},
                "raw": {"title": "Anvil", "weight": 50}
            })]
        );
    }

    #[test]
    fn values_are_coerced_to_the_declared_type() {
        let schema = json!({"properties": {
            "price": {"type": "number"},
            "count": {"type": "integer"},
            "code": {"type": "string"},
            "active": {"type": "boolean"},
            "flag": {"type": "boolean"},
            "half": {"type": "integer"},
            "note": {"type": ["string", "null"]},
            "gone": {"type": "string"},
            "deleted": {"type": "null"},
            "status": {"type": "string", "x-map": {"A": "active", "1": "one"}},
            "level": {"type": "integer", "x-map": {"low": "1", "high": 3}},
            "one_tag": {"type": "array", "items": {"type": "string"}},
            "list": {"type": ["array", "null"]},
            "nested": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
        }});
        let body = json!({
            "price": "12.50", "count": 3.0, "code": 12.5, "active": "yes", "flag": 0,
            "half": 2.5, "note": null, "gone": null, "deleted": null, "status": "A",
            "level": "high", "one_tag": "solo", "list": null, "nested": [["1", 2], [3.0]]
        });
        assert_eq!(
            extract(schema, body),
            [json!({
                "price": 12.5, "count": 3, "code": "12.5", "active": true, "flag": false,
                "note": null, "deleted": null, "status": "active", "level": 3, "one_tag": ["solo"],
                "list": null, "nested": [[1, 2], [3]]
            })]
        );
    }

    #[test]
    fn confidence_is_the_share_of_required_properties() {
        let plan = plan(json!({"required": ["a", "b"], "properties": {"a": {}, "b": {}}}));
        let body = json!([{"a": 1, "b": 2}, {"a": 1}, {}]);
        let values = item_values(&plan, &body).unwrap();
        let found: Vec<Option<f32>> = items(&plan, &values).iter().map(|i| i.confidence).collect();
        assert_eq!(found, [Some(1.0), Some(0.5), Some(0.0)]);
    }
}
