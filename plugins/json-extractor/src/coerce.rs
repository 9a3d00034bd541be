//! Turning a JSON value found in a response into a property's declared scalar type, with
//! the rules the other bundled extractors use: APIs write prices as strings (`"12.50"`),
//! counts as floats (`3.0`), flags as `0`/`1` or `"yes"`. A value that cannot be converted
//! is `None`, and the property is then left out of the item.

use serde_json::Value;
use trawl_sdk::number::parse_number;

/// The scalar JSON types a property can be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// Strings as they are; numbers and booleans written out.
    String,
    /// Numbers as they are; the first number in a string (`"£1,234.50"`).
    Number,
    /// Whole numbers; `4.0` is `4`, `4.5` is not an integer.
    Integer,
    /// Booleans; yes/no words in strings; numbers other than zero are `true`.
    Boolean,
}

/// `value` as `ty`, or `None` when it is not one and does not convert (`null`, objects,
/// arrays, text without a number, a boolean where a number is wanted).
///
/// ```
/// use json_extractor::coerce::{Scalar, to_scalar};
/// use serde_json::json;
///
/// assert_eq!(to_scalar(&json!("12.50"), Scalar::Number), Some(json!(12.5)));
/// assert_eq!(to_scalar(&json!(12.5), Scalar::String), Some(json!("12.5")));
/// assert_eq!(to_scalar(&json!(3.0), Scalar::Integer), Some(json!(3)));
/// assert_eq!(to_scalar(&json!("no"), Scalar::Boolean), Some(json!(false)));
/// assert_eq!(to_scalar(&json!({"a": 1}), Scalar::String), None);
/// ```
pub fn to_scalar(value: &Value, ty: Scalar) -> Option<Value> {
    match (value, ty) {
        (Value::String(s), Scalar::String) => Some(Value::String(s.clone())),
        (v @ (Value::Number(_) | Value::Bool(_)), Scalar::String) => {
            Some(Value::String(v.to_string()))
        }
        (Value::Number(n), Scalar::Number) => Some(Value::Number(n.clone())),
        (Value::Number(n), Scalar::Integer) => {
            if n.is_i64() || n.is_u64() {
                Some(Value::Number(n.clone()))
            } else {
                n.as_f64().and_then(whole)
            }
        }
        (Value::String(s), Scalar::Number) => parse_number(s)?.to_number(),
        (Value::String(s), Scalar::Integer) => parse_number(s)?.to_integer(),
        (Value::Bool(b), Scalar::Boolean) => Some(Value::Bool(*b)),
        (Value::String(s), Scalar::Boolean) => Some(Value::Bool(parse_bool(s))),
        (Value::Number(n), Scalar::Boolean) => Some(Value::Bool(n.as_f64() != Some(0.0))),
        _ => None,
    }
}

/// Whether `value` says "go on", for the stop fields of `x-follow`: a boolean as it is,
/// text and numbers as [`Scalar::Boolean`] reads them; `null`, objects and arrays say no.
///
/// ```
/// use json_extractor::coerce::truthy;
/// use serde_json::json;
///
/// assert!(truthy(Some(&json!(true))) && truthy(Some(&json!("yes"))) && truthy(Some(&json!(1))));
/// assert!(!truthy(Some(&json!(false))) && !truthy(Some(&json!(null))) && !truthy(None));
/// ```
pub fn truthy(value: Option<&Value>) -> bool {
    value.and_then(|v| to_scalar(v, Scalar::Boolean)) == Some(Value::Bool(true))
}

/// The text a value is looked up by in an `x-map`: a string as it is, a number or
/// boolean written out.
pub fn map_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

fn whole(f: f64) -> Option<Value> {
    // i64 covers every whole f64 below 2^63; beyond that an API is not counting anything.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && f.abs() < LIMIT).then(|| Value::from(f as i64))
}

/// `true` for yes-words, `false` for no-words and for empty text, `true` for any other
/// text, as css-extractor reads booleans (map other texts with `x-map`).
fn parse_bool(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    !matches!(t.as_str(), "false" | "no" | "n" | "0" | "off" | "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn as_type(value: Value, ty: Scalar) -> Option<Value> {
        to_scalar(&value, ty)
    }

    #[test]
    fn numbers() {
        use Scalar::Number;
        assert_eq!(as_type(json!("12.50"), Number), Some(json!(12.5)));
        assert_eq!(as_type(json!("$1,299.00"), Number), Some(json!(1299.0)));
        assert_eq!(as_type(json!("1.234,50 €"), Number), Some(json!(1234.5)));
        assert_eq!(as_type(json!(7), Number), Some(json!(7)));
        assert_eq!(as_type(json!(-0.25), Number), Some(json!(-0.25)));
        assert_eq!(as_type(json!("n/a"), Number), None);
        assert_eq!(as_type(json!(true), Number), None);
        assert_eq!(as_type(json!([1]), Number), None);
        assert_eq!(as_type(json!(null), Number), None);
    }

    #[test]
    fn integers() {
        use Scalar::Integer;
        assert_eq!(as_type(json!(3), Integer), Some(json!(3)));
        assert_eq!(as_type(json!(3.0), Integer), Some(json!(3)));
        assert_eq!(as_type(json!(3.5), Integer), None);
        assert_eq!(as_type(json!("1,234"), Integer), Some(json!(1234)));
        assert_eq!(as_type(json!("22 left"), Integer), Some(json!(22)));
        assert_eq!(as_type(json!("4.5"), Integer), None);
        assert_eq!(as_type(json!(1e300), Integer), None);
        assert_eq!(as_type(json!(u64::MAX), Integer), Some(json!(u64::MAX)));
    }

    #[test]
    fn strings() {
        use Scalar::String;
        assert_eq!(as_type(json!(" as is "), String), Some(json!(" as is ")));
        assert_eq!(as_type(json!(12.5), String), Some(json!("12.5")));
        assert_eq!(as_type(json!(42), String), Some(json!("42")));
        assert_eq!(as_type(json!(false), String), Some(json!("false")));
        assert_eq!(as_type(json!({"name": "x"}), String), None);
        assert_eq!(as_type(json!(null), String), None);
    }

    #[test]
    fn booleans() {
        use Scalar::Boolean;
        for yes in [
            json!(true),
            json!("true"),
            json!("Yes"),
            json!(" 1 "),
            json!(1),
            json!(0.5),
            json!("In stock"),
        ] {
            assert_eq!(as_type(yes.clone(), Boolean), Some(json!(true)), "{yes}");
        }
        for no in [
            json!(false),
            json!("false"),
            json!("NO"),
            json!("0"),
            json!(0),
            json!(""),
            json!("off"),
        ] {
            assert_eq!(as_type(no.clone(), Boolean), Some(json!(false)), "{no}");
        }
        assert_eq!(as_type(json!({}), Boolean), None);
    }

    #[test]
    fn map_keys() {
        assert_eq!(map_key(&json!("A")), Some("A".into()));
        assert_eq!(map_key(&json!(2)), Some("2".into()));
        assert_eq!(map_key(&json!(true)), Some("true".into()));
        assert_eq!(map_key(&json!(null)), None);
        assert_eq!(map_key(&json!([1])), None);
    }
}
