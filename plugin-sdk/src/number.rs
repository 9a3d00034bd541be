//! Finding a number in text written for people: `"$19.99"`, `"1.234,50 €"`,
//! `"In stock (22 available)"`. The bundled extractors read `number` and `integer`
//! properties with these rules, so a schema means the same thing whichever reads it.
//!
//! ```
//! use trawl_sdk::number::parse_number;
//! use trawl_sdk::serde_json::json;
//! assert_eq!(parse_number("£51.77").and_then(|n| n.to_number()), Some(json!(51.77)));
//! assert_eq!(parse_number("In stock (22 available)").and_then(|n| n.to_integer()), Some(json!(22)));
//! assert_eq!(parse_number("1,234.50").and_then(|n| n.to_number()), Some(json!(1234.5)));
//! ```

use serde_json::{Number, Value};

/// A number found in text: its sign, the digits before the decimal separator (thousands
/// separators removed) and the digits after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundNumber {
    negative: bool,
    whole: String,
    fraction: String,
}

impl FoundNumber {
    /// As JSON: an integer when there is no fractional part, else a float.
    pub fn to_number(&self) -> Option<Value> {
        if self.fraction.is_empty()
            && let Some(v) = self.to_i64()
        {
            return Some(Value::from(v));
        }
        // Built by hand: `format!` costs more than the parse inside a plugin.
        let mut text = String::with_capacity(self.whole.len() + self.fraction.len() + 3);
        if self.negative {
            text.push('-');
        }
        text.push_str(&self.whole);
        text.push('.');
        text.push_str(if self.fraction.is_empty() {
            "0"
        } else {
            &self.fraction
        });
        let f: f64 = text.parse().ok()?;
        Number::from_f64(f).map(Value::Number)
    }

    /// As a JSON integer: only when the fractional part is absent or zero.
    pub fn to_integer(&self) -> Option<Value> {
        if !self.fraction.bytes().all(|b| b == b'0') {
            return None;
        }
        self.to_i64().map(Value::from)
    }

    fn to_i64(&self) -> Option<i64> {
        let digits = self.whole.trim_start_matches('0');
        let magnitude: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        Some(if self.negative { -magnitude } else { magnitude })
    }
}

/// Characters that may group thousands: `1,234`, `1.234`, `1 234`, `1'234` (and the
/// no-break spaces French typography uses).
fn is_separator(c: char) -> bool {
    matches!(c, ',' | '.' | ' ' | '\'' | '\u{a0}' | '\u{202f}')
}

fn is_minus(c: char) -> bool {
    matches!(c, '-' | '\u{2212}')
}

/// The first number in `text`, tolerating currency symbols, signs and thousands
/// separators: `"£51.77"`, `"-$1,234.50"`, `"1.234,50 €"`, `"In stock (22 available)"`.
///
/// When a lone `,` is followed by exactly three digits it groups thousands (`1,234`), else
/// it is a decimal comma (`12,5`); a lone `.` is always a decimal point.
pub fn parse_number(text: &str) -> Option<FoundNumber> {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let start = (0..chars.len()).find(|&i| digit(i) || (chars[i] == '.' && digit(i + 1)))?;
    let negative = sign_before(&chars, start);

    // Digit groups and the single separators between them.
    let mut groups: Vec<String> = vec![String::new()];
    let mut seps: Vec<char> = Vec::new();
    let mut i = start;
    if chars[i] == '.' {
        // ".5": no whole part.
        seps.push('.');
        groups.push(String::new());
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            if let Some(g) = groups.last_mut() {
                g.push(c);
            }
        } else if is_separator(c) && digit(i + 1) {
            seps.push(c);
            groups.push(String::new());
        } else {
            break;
        }
        i += 1;
    }

    // Which separator, if any, is the decimal one.
    let decimal = match seps.last() {
        Some(&last @ ('.' | ',')) if seps.iter().filter(|&&s| s == last).count() == 1 => {
            let only_kind = seps.iter().all(|&s| s == last);
            let next_len = groups[seps.len()].len();
            let leading_zero = groups[0] == "0";
            if last == ',' && only_kind && next_len == 3 && !leading_zero {
                None
            } else {
                Some(seps.len() - 1)
            }
        }
        _ => None,
    };

    // Every other separator groups thousands: one kind, three digits after each. The
    // number ends before the first separator that does not fit.
    let thousands_end = decimal.unwrap_or(seps.len());
    let mut kind: Option<char> = None;
    let mut end = thousands_end;
    for (k, &s) in seps[..thousands_end].iter().enumerate() {
        let fits = groups[k + 1].len() == 3 && kind.is_none_or(|kd| kd == s);
        if !fits {
            end = k;
            break;
        }
        kind = Some(s);
    }
    let whole: String = groups[..=end].concat();
    let fraction = match decimal {
        Some(d) if end == thousands_end => groups[d + 1].clone(),
        _ => String::new(),
    };
    Some(FoundNumber {
        negative,
        whole: if whole.is_empty() { "0".into() } else { whole },
        fraction,
    })
}

/// A minus right before the number, or before a currency symbol right before it, and not
/// a hyphen inside a word (`item-5`).
fn sign_before(chars: &[char], start: usize) -> bool {
    let mut j = start;
    // Skip one currency symbol (or other symbol) between the sign and the digits: "-£5".
    if j > 0
        && !chars[j - 1].is_alphanumeric()
        && !chars[j - 1].is_whitespace()
        && !is_minus(chars[j - 1])
    {
        j -= 1;
    }
    if j == 0 || !is_minus(chars[j - 1]) {
        return false;
    }
    j -= 1;
    j == 0 || !chars[j - 1].is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(text: &str) -> Option<Value> {
        parse_number(text).and_then(|n| n.to_number())
    }

    #[test]
    fn numbers_inside_text() {
        assert_eq!(number("19.99"), Some(json!(19.99)));
        assert_eq!(number("$19.99"), Some(json!(19.99)));
        assert_eq!(number("USD 1,299.00"), Some(json!(1299.0)));
        assert_eq!(number("1.234,50 €"), Some(json!(1234.5)));
        assert_eq!(number("12,5"), Some(json!(12.5)));
        assert_eq!(number("-£5.25"), Some(json!(-5.25)));
        assert_eq!(number("item-5"), Some(json!(5)));
        assert_eq!(number("89\n        "), Some(json!(89)));
        assert_eq!(number("none"), None);
    }

    #[test]
    fn integers_must_be_whole() {
        let int = |t: &str| parse_number(t).and_then(|n| n.to_integer());
        assert_eq!(int("224"), Some(json!(224)));
        assert_eq!(int("4.0"), Some(json!(4)));
        assert_eq!(int("4.5"), None);
        assert_eq!(int("99999999999999999999"), None);
    }
}
