//! Turning the strings read from a page into JSON values of a property's declared type.
//!
//! Pages write numbers for people ("£1,234.50", "In stock (22 available)"), so numbers are
//! found inside text rather than parsed from all of it. A value that cannot be coerced is
//! `None`: the property is then left out of the item.

use serde_json::Value;
use trawl_sdk::number::parse_number;

/// The JSON type a scalar property is coerced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// The string as read.
    String,
    /// The first number in the text.
    Number,
    /// The first number in the text, which must be whole.
    Integer,
    /// Yes/no words, else whether the text is non-empty.
    Boolean,
    /// No declared type: the string as read (or a mapped value as mapped).
    Any,
}

impl Scalar {
    /// The scalar for a JSON Schema type name; `None` for `object`, `array` and unknown names.
    pub fn from_type_name(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "null" => Self::Any,
            _ => return None,
        })
    }
}

/// Coerce a string read from the page.
pub fn coerce_str(text: &str, ty: Scalar) -> Option<Value> {
    match ty {
        Scalar::String | Scalar::Any => Some(Value::String(text.to_string())),
        Scalar::Number => parse_number(text).and_then(|n| n.to_number()),
        Scalar::Integer => parse_number(text).and_then(|n| n.to_integer()),
        Scalar::Boolean => Some(Value::Bool(parse_bool(text))),
    }
}

/// Coerce a value an `x-map` produced: strings are coerced like text, values that already
/// have the declared type are kept, `null` is kept only where the type allows it.
pub fn coerce_value(value: Value, ty: Scalar, nullable: bool) -> Option<Value> {
    match (value, ty) {
        (Value::Null, _) => nullable.then_some(Value::Null),
        (Value::String(s), ty) => coerce_str(&s, ty),
        (v, Scalar::Any) => Some(v),
        (Value::Number(n), Scalar::Number) => Some(Value::Number(n)),
        (Value::Number(n), Scalar::Integer) => {
            if n.is_i64() || n.is_u64() {
                Some(Value::Number(n))
            } else {
                n.as_f64().and_then(whole_f64)
            }
        }
        (Value::Number(n), Scalar::Boolean) => Some(Value::Bool(n.as_f64() != Some(0.0))),
        (Value::Bool(b), Scalar::Boolean) => Some(Value::Bool(b)),
        (v @ (Value::Number(_) | Value::Bool(_)), Scalar::String) => {
            Some(Value::String(v.to_string()))
        }
        _ => None,
    }
}

fn whole_f64(f: f64) -> Option<Value> {
    // i64 covers every whole f64 below 2^63; beyond that a page is not counting anything.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && f.abs() < LIMIT).then(|| Value::from(f as i64))
}

/// `true` for yes-words, `false` for no-words and for empty text, `true` for any other text.
pub fn parse_bool(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "true" | "yes" | "y" | "1" | "on" => true,
        "false" | "no" | "n" | "0" | "off" | "" => false,
        _ => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn number(text: &str) -> Option<Value> {
        coerce_str(text, Scalar::Number)
    }

    fn integer(text: &str) -> Option<Value> {
        coerce_str(text, Scalar::Integer)
    }

    #[test]
    fn numbers_inside_text() {
        assert_eq!(number("£51.77"), Some(json!(51.77)));
        assert_eq!(number("1,234.50"), Some(json!(1234.5)));
        assert_eq!(number("$1,234,567"), Some(json!(1234567)));
        assert_eq!(number("1.234,50 €"), Some(json!(1234.5)));
        assert_eq!(number("1 234,50 €"), Some(json!(1234.5)));
        assert_eq!(number("12,5 kg"), Some(json!(12.5)));
        assert_eq!(number("0,123"), Some(json!(0.123)));
        assert_eq!(number("Rated 4.5 out of 5"), Some(json!(4.5)));
        assert_eq!(number(".5"), Some(json!(0.5)));
        assert_eq!(number("CHF 1'250.-"), Some(json!(1250)));
        assert_eq!(number("£0.00"), Some(json!(0.0)));
        assert_eq!(number("1.2.3"), Some(json!(1)));
        assert_eq!(number("no digits"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn signs() {
        assert_eq!(number("-5"), Some(json!(-5)));
        assert_eq!(number("-£5.25"), Some(json!(-5.25)));
        assert_eq!(number("Δ −3.5%"), Some(json!(-3.5)));
        assert_eq!(number("item-5"), Some(json!(5)));
        assert_eq!(number("10-20"), Some(json!(10)));
        assert_eq!(number("+7"), Some(json!(7)));
    }

    #[test]
    fn integers() {
        assert_eq!(integer("In stock (22 available)"), Some(json!(22)));
        assert_eq!(integer("1,234"), Some(json!(1234)));
        assert_eq!(integer("4.0 stars"), Some(json!(4)));
        assert_eq!(integer("4.5 stars"), None);
        assert_eq!(integer("-12"), Some(json!(-12)));
        assert_eq!(integer("99999999999999999999"), None);
        assert_eq!(integer("none"), None);
    }

    #[test]
    fn booleans() {
        for yes in ["true", "Yes", " 1 ", "ON", "In stock"] {
            assert_eq!(coerce_str(yes, Scalar::Boolean), Some(json!(true)), "{yes}");
        }
        for no in ["false", "NO", "0", "off", "", "  "] {
            assert_eq!(coerce_str(no, Scalar::Boolean), Some(json!(false)), "{no}");
        }
    }

    #[test]
    fn strings_are_kept() {
        assert_eq!(coerce_str(" a b ", Scalar::String), Some(json!(" a b ")));
        assert_eq!(coerce_str("x", Scalar::Any), Some(json!("x")));
    }

    #[test]
    fn mapped_values() {
        assert_eq!(
            coerce_value(json!(4), Scalar::Integer, false),
            Some(json!(4))
        );
        assert_eq!(
            coerce_value(json!(4.0), Scalar::Integer, false),
            Some(json!(4))
        );
        assert_eq!(coerce_value(json!(4.5), Scalar::Integer, false), None);
        assert_eq!(
            coerce_value(json!(4.5), Scalar::Number, false),
            Some(json!(4.5))
        );
        assert_eq!(
            coerce_value(json!("Four 4"), Scalar::Integer, false),
            Some(json!(4))
        );
        assert_eq!(
            coerce_value(json!(3), Scalar::String, false),
            Some(json!("3"))
        );
        assert_eq!(
            coerce_value(json!(true), Scalar::Boolean, false),
            Some(json!(true))
        );
        assert_eq!(
            coerce_value(json!(0), Scalar::Boolean, false),
            Some(json!(false))
        );
        assert_eq!(coerce_value(json!(null), Scalar::Integer, false), None);
        assert_eq!(
            coerce_value(json!(null), Scalar::Integer, true),
            Some(json!(null))
        );
        assert_eq!(
            coerce_value(json!({"a": 1}), Scalar::Any, false),
            Some(json!({"a": 1}))
        );
        assert_eq!(coerce_value(json!([1]), Scalar::Number, false), None);
    }
}
