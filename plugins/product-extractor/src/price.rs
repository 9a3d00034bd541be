//! Prices as people write them: `1,299.00`, `1.299,00`, `1 299,00`, `1'299.00`,
//! `12,99 €`, `₹1,29,999`, `19.-`. Which mark is the decimal one is decided by position
//! (the last of two different marks), by the digits after it (three digits after a single
//! mark group thousands), and by the currency (three-decimal currencies). A price followed
//! by a unit (`€2.99/kg`, `per 100 g`) is a unit price, not the product's.

use serde_json::Value;

use crate::currency::{self, Locale};

/// An amount: its canonical decimal text (`"1299.00"`, digits as written, a `.` for the
/// decimal mark) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    /// Canonical decimal text.
    pub text: String,
    /// The number.
    pub value: f64,
}

impl Amount {
    fn from_parts(int: &str, frac: &str) -> Option<Self> {
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        if int.len() > 12 {
            return None;
        }
        let text = if frac.is_empty() {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        };
        let value: f64 = text.parse().ok()?;
        value.is_finite().then_some(Self { text, value })
    }

    /// The amount as a JSON number (integers stay integers).
    pub fn to_json(&self) -> Value {
        if !self.text.contains('.')
            && let Ok(n) = self.text.parse::<u64>()
        {
            return Value::from(n);
        }
        serde_json::Number::from_f64(self.value).map_or(Value::Null, Value::Number)
    }

    /// The amount as decimal text, two decimals at least when it has any (`"87.10"`).
    pub fn to_decimal_string(&self) -> String {
        self.text.clone()
    }
}

/// A price found in text.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// The amount.
    pub amount: Amount,
    /// The currency written beside it, as an ISO code.
    pub currency: Option<&'static str>,
    /// Whether a unit follows (`/kg`, `per 100 g`): a unit price.
    pub per_unit: bool,
}

const SPACES: &[char] = &[
    ' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}', '\u{200a}',
];
const APOSTROPHES: &[char] = &['\'', '’', 'ʼ', '´'];

/// One number token: its digit groups and the mark before each group after the first.
#[derive(Debug)]
struct Token<'a> {
    groups: Vec<&'a str>,
    marks: Vec<char>,
    start: usize,
    end: usize,
}

/// The number tokens of a text, with the byte range each covers.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A digit glued to letters is part of a code or a model name (`K3`, `A157`).
        // (Unless the letters are a currency: `EUR15.99`, `Rs500`.)
        let glued = text[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic)
            && !currency_word_before(&text[..i]);
        let start = i;
        let mut groups = Vec::new();
        let mut marks = Vec::new();
        loop {
            let g = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(&text[g..i]);
            let Some(mark) = text[i..].chars().next() else {
                break;
            };
            let after = i + mark.len_utf8();
            let next_digits = text[after..].bytes().take_while(u8::is_ascii_digit).count();
            if next_digits == 0 {
                break;
            }
            let ok = match mark {
                '.' | ',' | '٫' | '٬' => true,
                // Spaces and apostrophes only ever group thousands.
                c if SPACES.contains(&c) || APOSTROPHES.contains(&c) => {
                    next_digits == 3 && groups.last().is_some_and(|g| g.len() <= 3)
                }
                _ => false,
            };
            if !ok {
                break;
            }
            marks.push(mark);
            i = after;
        }
        let ends_glued = text[i..].chars().next().is_some_and(char::is_alphabetic)
            && !text[i..].starts_with(|c: char| c.is_alphabetic() && !c.is_ascii())
            && !currency_word_after(&text[i..]);
        if !glued && !ends_glued {
            out.push(Token {
                groups,
                marks,
                start,
                end: i,
            });
        }
    }
    out
}

/// Whether text right before a number ends with a currency written as letters.
fn currency_word_before(before: &str) -> bool {
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic())
        .last()
        .map_or(before.len(), |(at, _)| at);
    currency::code_of(&before[start..], &Locale::default()).is_some()
}

/// Whether text right after a number starts with a currency written as letters (`12EUR`,
/// `12zł`), which does not make the number part of a word.
fn currency_word_after(rest: &str) -> bool {
    let word: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
    currency::code_of(&word, &Locale::default()).is_some()
}

/// The amount a token stands for. `machine` is for structured data, where a single `.` is
/// always the decimal mark; `three` for currencies with three decimals.
fn amount(token: &Token<'_>, machine: bool, three: bool) -> Option<Amount> {
    let groups = &token.groups;
    let marks = &token.marks;
    let first = groups.first()?;
    if marks.is_empty() {
        return Amount::from_parts(first, "");
    }
    let is_point = |c: char| matches!(c, '.' | ',' | '٫' | '٬');
    let last_mark = *marks.last()?;
    let last_group = *groups.last()?;
    let points: Vec<char> = marks.iter().copied().filter(|c| is_point(*c)).collect();
    let decimal_last = if !is_point(last_mark) {
        false
    } else if last_mark == '٫' {
        true
    } else if points.iter().any(|c| *c != last_mark) {
        // Two different marks: the last one is the decimal mark.
        true
    } else if points.len() > 1 {
        false
    } else if machine && last_mark == '.' {
        true
    } else {
        match last_group.len() {
            1 | 2 => true,
            3 => three || *first == "0" || first.is_empty(),
            _ => true,
        }
    };
    let (int_groups, frac) = if decimal_last {
        (&groups[..groups.len() - 1], last_group)
    } else {
        (&groups[..], "")
    };
    // Every group after the first of the integer part has three digits, or two in the
    // Indian grouping (`1,29,999`).
    for g in int_groups.iter().skip(1) {
        if g.len() != 3 && g.len() != 2 {
            return None;
        }
    }
    let int: String = int_groups.concat();
    Amount::from_parts(&int, frac)
}

/// The amount of a structured-data price: a JSON number, or a string (`"87.11"`,
/// `"1.299,00"`, `"EUR 12"`).
///
/// ```
/// use product_extractor::price::structured_amount;
/// use serde_json::json;
///
/// assert_eq!(structured_amount(&json!(87.11)).map(|a| a.text), Some("87.11".into()));
/// assert_eq!(structured_amount(&json!("1.299,00")).map(|a| a.text), Some("1299.00".into()));
/// assert_eq!(structured_amount(&json!("19.990")).map(|a| a.text), Some("19.990".into()));
/// assert_eq!(structured_amount(&json!("")), None);
/// ```
pub fn structured_amount(value: &Value) -> Option<Amount> {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            let value = n.as_f64()?;
            (value.is_finite() && value >= 0.0).then_some(Amount { text, value })
        }
        Value::String(s) => {
            let s = ascii_digits(s);
            let tokens = tokens(&s);
            let token = tokens.first()?;
            amount(token, true, false)
        }
        Value::Array(values) => values.iter().find_map(structured_amount),
        _ => None,
    }
}

/// The first price in `text`: the first number with a currency beside it, or, when
/// `need_currency` is false, the first number at all.
///
/// ```
/// use product_extractor::currency::Locale;
/// use product_extractor::price::find_price;
///
/// let l = Locale::default();
/// let p = find_price("Now 1.299,00 €", &l, true).expect("a price");
/// assert_eq!((p.amount.text.as_str(), p.currency), ("1299.00", Some("EUR")));
/// assert!(find_price("€2.99/kg", &l, true).expect("a unit price").per_unit);
/// assert!(find_price("Free delivery", &l, false).is_none());
/// ```
pub fn find_price(text: &str, locale: &Locale, need_currency: bool) -> Option<Price> {
    find_prices(text, locale, need_currency, 1).pop()
}

/// The first `max` prices in `text`, as [`find_price`] reads them.
///
/// ```
/// use product_extractor::currency::Locale;
/// use product_extractor::price::find_prices;
///
/// let found = find_prices("Was £59.99 Now £49.99", &Locale::default(), true, 4);
/// let amounts: Vec<&str> = found.iter().map(|p| p.amount.text.as_str()).collect();
/// assert_eq!(amounts, ["59.99", "49.99"]);
/// ```
pub fn find_prices(text: &str, locale: &Locale, need_currency: bool, max: usize) -> Vec<Price> {
    let mut out = Vec::new();
    let text = &ascii_digits(text);
    let mentions = currency::mentions(text, locale);
    for token in tokens(text).iter().take(8) {
        if out.len() >= max {
            break;
        }
        // The currency written right before or right after the number (spaces between).
        let near = mentions.iter().find(|m| {
            (m.end <= token.start && text[m.end..token.start].chars().all(is_gap))
                || (m.start >= token.end && text[token.end..m.start].chars().all(is_gap))
        });
        if need_currency && near.is_none() {
            continue;
        }
        let code = near.map(|m| m.code);
        let three = code.is_some_and(currency::three_decimals);
        let Some(amount) = amount(token, false, three) else {
            continue;
        };
        let after_end = near.map_or(token.end, |m| m.end.max(token.end));
        let per_unit = unit_follows(&text[after_end..]) || unit_follows(&text[token.end..]);
        out.push(Price {
            amount,
            currency: code,
            per_unit,
        });
    }
    out
}

/// Eastern Arabic, Persian and full-width digits (and the Arabic decimal and thousands
/// marks) as ASCII, so that `٩٩٫٥٠ ر.س` and `１，２９９円` read like any other price.
fn ascii_digits(text: &str) -> std::borrow::Cow<'_, str> {
    let foreign = |c: char| matches!(c, '\u{660}'..='\u{669}' | '\u{6f0}'..='\u{6f9}' | '\u{ff10}'..='\u{ff19}' | '٫' | '٬' | '，' | '．');
    if !text.chars().any(foreign) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| match c {
            '\u{660}'..='\u{669}' => char::from(b'0' + (c as u32 - 0x660) as u8),
            '\u{6f0}'..='\u{6f9}' => char::from(b'0' + (c as u32 - 0x6f0) as u8),
            '\u{ff10}'..='\u{ff19}' => char::from(b'0' + (c as u32 - 0xff10) as u8),
            '٫' | '．' => '.',
            '٬' | '，' => ',',
            c => c,
        })
        .collect()
}

fn is_gap(c: char) -> bool {
    SPACES.contains(&c) || c.is_whitespace() || c == ':' || c == '-' || c == '–'
}

/// Whether a unit follows a price: `/kg`, `/ 100 g`, `per litre`, `pro kg`, `le kg`.
fn unit_follows(rest: &str) -> bool {
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || SPACES.contains(&c));
    let rest = rest.trim_start_matches([',', '-', '.', ')']);
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || SPACES.contains(&c));
    if let Some(unit) = rest.strip_prefix('/') {
        let unit = unit.trim_start();
        // `/ month` is a subscription, still the price asked; a unit of measure is not.
        return !unit.is_empty()
            && !starts_with_any(
                &unit.to_lowercase(),
                &[
                    "mo", "month", "mes", "monat", "mois", "year", "yr", "an", "jahr",
                ],
            );
    }
    let lower: String = rest.chars().take(12).collect::<String>().to_lowercase();
    [
        "per ",
        "pro ",
        "le kg",
        "la pièce",
        "je ",
        "za kg",
        "al kg",
        "por kg",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

fn starts_with_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        text.starts_with(w)
            && !text[w.len()..]
                .chars()
                .next()
                .is_some_and(char::is_alphabetic)
    }) || text.starts_with("month")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Option<(String, Option<&'static str>)> {
        find_price(text, &Locale::default(), true).map(|p| (p.amount.text, p.currency))
    }

    fn amount_of(text: &str) -> String {
        find_price(text, &Locale::default(), false)
            .map(|p| p.amount.text)
            .unwrap_or_default()
    }

    #[test]
    fn every_separator_style() {
        assert_eq!(amount_of("1,299.00"), "1299.00");
        assert_eq!(amount_of("1.299,00"), "1299.00");
        assert_eq!(amount_of("1 299,00"), "1299.00");
        assert_eq!(amount_of("1\u{a0}299,00"), "1299.00");
        assert_eq!(amount_of("1\u{202f}299,00"), "1299.00");
        assert_eq!(amount_of("1'299.00"), "1299.00");
        assert_eq!(amount_of("1’299.00"), "1299.00");
        assert_eq!(amount_of("12,99"), "12.99");
        assert_eq!(amount_of("1,299"), "1299");
        assert_eq!(amount_of("1.299"), "1299");
        assert_eq!(amount_of("0.299"), "0.299");
        assert_eq!(amount_of("1.299.999"), "1299999");
        assert_eq!(amount_of("1,29,999"), "129999");
        assert_eq!(amount_of("1,29,999.50"), "129999.50");
        assert_eq!(amount_of("19.-"), "19");
        assert_eq!(amount_of("12,– "), "12");
        assert_eq!(amount_of("87.110"), "87110");
        assert_eq!(amount_of("131 990"), "131990");
    }

    #[test]
    fn currency_before_or_after() {
        let some = |a: &str, c: &'static str| Some((a.to_string(), Some(c)));
        assert_eq!(price("12,99 €"), some("12.99", "EUR"));
        assert_eq!(price("€12.99"), some("12.99", "EUR"));
        assert_eq!(price("¥1,299"), some("1299", "JPY"));
        assert_eq!(price("₹1,29,999"), some("129999", "INR"));
        assert_eq!(price("CHF 19.50"), some("19.50", "CHF"));
        assert_eq!(price("19,50 CHF"), some("19.50", "CHF"));
        assert_eq!(price("R$ 1.759,99"), some("1759.99", "BRL"));
        assert_eq!(price("1 299,00 zł"), some("1299.00", "PLN"));
        assert_eq!(price("US$11.99"), some("11.99", "USD"));
        assert_eq!(price("£48.99"), some("48.99", "GBP"));
        assert_eq!(price("KWD 1.250"), some("1.250", "KWD"));
        assert_eq!(price("131 990 ₸"), some("131990", "KZT"));
        assert_eq!(price("Model K3 for 99 €"), some("99", "EUR"));
        assert_eq!(price("12EUR"), some("12", "EUR"));
        assert_eq!(price("EUR15.99"), some("15.99", "EUR"));
        assert_eq!(price("Rs500"), some("500", "INR"));
        assert_eq!(price("Only 3 left, 4.99 $"), some("4.99", "USD"));
        assert_eq!(price("٩٩ ر.س"), some("99", "SAR"));
        assert_eq!(price("١٬٢٩٩٫٥٠ د.إ"), some("1299.50", "AED"));
        assert_eq!(price("１，２９９円"), some("1299", "JPY"));
        assert_eq!(price("no price here"), None);
        assert_eq!(price("Size 42"), None);
    }

    #[test]
    fn unit_prices_are_marked() {
        let l = Locale::default();
        for text in [
            "€2.99/kg",
            "2,99 € / kg",
            "(£1.20 per 100g)",
            "1,99 €/l",
            "3,99 € pro kg",
        ] {
            assert!(find_price(text, &l, true).expect(text).per_unit, "{text}");
        }
        for text in ["€2.99", "$9.99/month", "12,99 €"] {
            assert!(!find_price(text, &l, true).expect(text).per_unit, "{text}");
        }
    }

    #[test]
    fn structured_strings() {
        let text = |v: Value| structured_amount(&v).map(|a| a.text);
        assert_eq!(text(Value::from("87.110")), Some("87.110".into()));
        assert_eq!(text(Value::from("1,299.00")), Some("1299.00".into()));
        assert_eq!(text(Value::from(20)), Some("20".into()));
        assert_eq!(text(Value::from("EUR 15,90")), Some("15.90".into()));
    }
}
