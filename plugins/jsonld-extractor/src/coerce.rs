//! Turning a structured-data value into a property's declared type.
//!
//! Structured data is typed loosely: prices are strings as often as numbers ("19.99",
//! "$19.99"), a `name` may be `{"@value": "…", "@language": "en"}`, an author is a Person
//! where the schema wants a string. A value that cannot be converted is `None`, and the
//! property is then left out of the item.

use serde_json::Value;

use crate::graph::short_name;
use crate::schema::{Scalar, ScalarType};
use trawl_sdk::number::parse_number;

/// The keys an object is read through when a string is wanted, in order.
const STRING_KEYS: &[&str] = &["@value", "name", "url", "@id"];
/// The keys an object is read through when a number or boolean is wanted, in order
/// (`value` is QuantitativeValue's).
const NUMBER_KEYS: &[&str] = &["@value", "value"];

/// `value` as the scalar `spec` declares, through its `x-map` if it has one.
///
/// ```
/// use jsonld_extractor::coerce::coerce;
/// use jsonld_extractor::schema::{Scalar, ScalarType};
/// use serde_json::json;
///
/// let number = Scalar { ty: ScalarType::Number, nullable: false, map: None };
/// assert_eq!(coerce(&json!("$19.99"), &number), Some(json!(19.99)));
/// let string = Scalar { ty: ScalarType::String, nullable: false, map: None };
/// assert_eq!(coerce(&json!({"@type": "Person", "name": "Ann"}), &string), Some(json!("Ann")));
/// ```
pub fn coerce(value: &Value, spec: &Scalar) -> Option<Value> {
    match &spec.map {
        None => to_type(value, spec.ty),
        Some(map) => {
            let key = to_type(value, ScalarType::String)?;
            let key = key.as_str()?;
            let mapped = map.get(key).or_else(|| map.get(short_name(key)))?;
            match (mapped, spec.ty) {
                (Value::Null, _) => spec.nullable.then_some(Value::Null),
                (v, ScalarType::Any) => Some(v.clone()),
                (v, ty) => to_type(v, ty),
            }
        }
    }
}

/// `value` as type `ty`, or `None`.
fn to_type(value: &Value, ty: ScalarType) -> Option<Value> {
    match (value, ty) {
        (Value::Null, _) => None,
        (Value::Array(values), ty) => values.iter().find_map(|v| to_type(v, ty)),
        (Value::Object(object), ScalarType::String) => STRING_KEYS
            .iter()
            .filter_map(|k| object.get(*k))
            .find_map(|v| to_type(v, ty)),
        (Value::Object(object), _) => NUMBER_KEYS
            .iter()
            .filter_map(|k| object.get(*k))
            .find_map(|v| to_type(v, ty)),
        (v, ScalarType::Any) => Some(v.clone()),
        (Value::String(s), ScalarType::String) => Some(Value::String(s.clone())),
        (v @ (Value::Number(_) | Value::Bool(_)), ScalarType::String) => {
            Some(Value::String(v.to_string()))
        }
        (Value::Number(n), ScalarType::Number) => Some(Value::Number(n.clone())),
        (Value::Number(n), ScalarType::Integer) => {
            if n.is_i64() || n.is_u64() {
                Some(Value::Number(n.clone()))
            } else {
                n.as_f64().and_then(whole)
            }
        }
        (Value::String(s), ScalarType::Number) => parse_number(s)?.to_number(),
        (Value::String(s), ScalarType::Integer) => parse_number(s)?.to_integer(),
        (Value::Bool(b), ScalarType::Boolean) => Some(Value::Bool(*b)),
        (Value::String(s), ScalarType::Boolean) => Some(Value::Bool(parse_bool(short_name(s)))),
        (Value::Number(n), ScalarType::Boolean) => Some(Value::Bool(n.as_f64() != Some(0.0))),
        (Value::Bool(_), ScalarType::Number | ScalarType::Integer) => None,
    }
}

fn whole(f: f64) -> Option<Value> {
    // i64 covers every whole f64 below 2^63; beyond that a page is not counting anything.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && f.abs() < LIMIT).then(|| Value::from(f as i64))
}

/// `true` for yes-words (and schema.org's `True`), `false` for no-words and empty text,
/// `true` for any other text (map such texts with `x-map`), as in css-extractor.
fn parse_bool(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    !matches!(t.as_str(), "false" | "no" | "n" | "0" | "off" | "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn as_type(value: Value, ty: ScalarType) -> Option<Value> {
        coerce(
            &value,
            &Scalar {
                ty,
                nullable: false,
                map: None,
            },
        )
    }

    #[test]
    fn numbers() {
        use ScalarType::Number;
        assert_eq!(as_type(json!(19.99), Number), Some(json!(19.99)));
        assert_eq!(as_type(json!("19.99"), Number), Some(json!(19.99)));
        assert_eq!(as_type(json!("$19.99"), Number), Some(json!(19.99)));
        assert_eq!(as_type(json!("1,299"), Number), Some(json!(1299)));
        assert_eq!(as_type(json!({"@value": "7.5"}), Number), Some(json!(7.5)));
        assert_eq!(
            as_type(json!({"@type": "QuantitativeValue", "value": 12}), Number),
            Some(json!(12))
        );
        assert_eq!(as_type(json!(["n/a", "3"]), Number), Some(json!(3)));
        assert_eq!(as_type(json!("free"), Number), None);
        assert_eq!(as_type(json!(true), Number), None);
        assert_eq!(as_type(json!(null), Number), None);
    }

    #[test]
    fn integers() {
        use ScalarType::Integer;
        assert_eq!(as_type(json!(224), Integer), Some(json!(224)));
        assert_eq!(as_type(json!(4.0), Integer), Some(json!(4)));
        assert_eq!(as_type(json!(4.5), Integer), None);
        assert_eq!(as_type(json!("3077 reviews"), Integer), Some(json!(3077)));
        assert_eq!(as_type(json!("4.4"), Integer), None);
    }

    #[test]
    fn booleans() {
        use ScalarType::Boolean;
        assert_eq!(as_type(json!(true), Boolean), Some(json!(true)));
        assert_eq!(as_type(json!("False"), Boolean), Some(json!(false)));
        assert_eq!(
            as_type(json!("https://schema.org/False"), Boolean),
            Some(json!(false))
        );
        assert_eq!(as_type(json!("yes"), Boolean), Some(json!(true)));
        assert_eq!(as_type(json!(0), Boolean), Some(json!(false)));
    }

    #[test]
    fn strings_from_anything_scalar_or_named() {
        use ScalarType::String;
        assert_eq!(as_type(json!("a"), String), Some(json!("a")));
        assert_eq!(as_type(json!(4.4), String), Some(json!("4.4")));
        assert_eq!(
            as_type(json!({"@value": "Titre", "@language": "fr"}), String),
            Some(json!("Titre"))
        );
        assert_eq!(
            as_type(json!({"@type": "Person", "name": "John"}), String),
            Some(json!("John"))
        );
        assert_eq!(
            as_type(json!({"@type": "ImageObject", "url": "a.jpg"}), String),
            Some(json!("a.jpg"))
        );
        assert_eq!(as_type(json!({"@id": "#x"}), String), Some(json!("#x")));
        assert_eq!(as_type(json!({"@type": "Thing"}), String), None);
        assert_eq!(
            as_type(json!([{"@type": "Person", "name": "A"}, "B"]), String),
            Some(json!("A"))
        );
    }

    #[test]
    fn mapped_values() {
        let map: Map<std::string::String, Value> =
            serde_json::from_value(json!({"InStock": true, "OutOfStock": false, "Gone": null}))
                .expect("a map");
        let spec = |ty, nullable| Scalar {
            ty,
            nullable,
            map: Some(map.clone()),
        };
        let boolean = spec(ScalarType::Boolean, false);
        assert_eq!(
            coerce(&json!("http://schema.org/InStock"), &boolean),
            Some(json!(true))
        );
        assert_eq!(coerce(&json!("OutOfStock"), &boolean), Some(json!(false)));
        assert_eq!(coerce(&json!("PreOrder"), &boolean), None);
        assert_eq!(coerce(&json!("Gone"), &boolean), None);
        assert_eq!(
            coerce(&json!("Gone"), &spec(ScalarType::Boolean, true)),
            Some(json!(null))
        );
        assert_eq!(
            coerce(&json!("InStock"), &spec(ScalarType::Any, false)),
            Some(json!(true))
        );
        assert_eq!(
            coerce(&json!("InStock"), &spec(ScalarType::String, false)),
            Some(json!("true"))
        );
    }
}
