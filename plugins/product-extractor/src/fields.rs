//! The values found for each product field, with their confidence and origin: every
//! source offers values, and the most confident one is kept (the first on a tie, so the
//! sources run in order of trust).

use std::collections::HashMap;

use trawl_sdk::Origin;

use crate::price::Amount;
use crate::schema::Key;

/// A value in the field's own form.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text (names, codes, URLs, availability short names).
    Text(String),
    /// An amount (prices, ratings, counts).
    Amount(Amount),
    /// Several texts (images, breadcrumbs).
    List(Vec<String>),
}

impl Val {
    /// The value as text, if it is one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// One value found for a field.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The value.
    pub value: Val,
    /// How sure the rule that found it is, in `[0, 1]`.
    pub confidence: f32,
    /// Where it was found.
    pub origin: Origin,
    /// Finer detail for people (`json-ld`, `og:price:amount`, `label "SKU"`).
    pub detail: String,
}

impl Found {
    /// A value found.
    pub fn new(value: Val, confidence: f32, origin: Origin, detail: impl Into<String>) -> Self {
        Self {
            value,
            confidence,
            origin,
            detail: detail.into(),
        }
    }
}

/// The best value found so far for each field.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    map: HashMap<Key, Found>,
}

impl Fields {
    /// Offer a value: it replaces the current one only when more confident. Texts that
    /// are template placeholders or say nothing (`{{brand}}`, `$metabrand`, `null`,
    /// `N/A`) are no values.
    pub fn offer(&mut self, key: Key, found: Found) {
        if let Val::Text(t) = &found.value
            && is_junk(t)
        {
            return;
        }
        match self.map.get(&key) {
            Some(old) if old.confidence >= found.confidence => {}
            _ => {
                self.map.insert(key, found);
            }
        }
    }

    /// Set a value whatever was there (hints).
    pub fn set(&mut self, key: Key, found: Found) {
        self.map.insert(key, found);
    }

    /// The value found for a field.
    pub fn get(&self, key: Key) -> Option<&Found> {
        self.map.get(&key)
    }

    /// Forget a field's value.
    pub fn remove(&mut self, key: Key) -> Option<Found> {
        self.map.remove(&key)
    }

    /// The text value of a field.
    pub fn text(&self, key: Key) -> Option<&str> {
        self.get(key).and_then(|f| f.value.text())
    }

    /// Whether a field has a value.
    pub fn has(&self, key: Key) -> bool {
        self.map.contains_key(&key)
    }
}

/// Whether a text is a template placeholder or an empty word rather than a value.
///
/// ```
/// use product_extractor::fields::is_junk;
///
/// assert!(is_junk("{{ product.brand }}") && is_junk("$metabrand") && is_junk("undefined"));
/// assert!(!is_junk("Acme") && !is_junk("$5 Store"));
/// ```
pub fn is_junk(text: &str) -> bool {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    t.is_empty()
        || t.contains("{{")
        || t.contains("}}")
        || t.contains("${")
        || t.contains("<%")
        || (t.starts_with('$') && t[1..].starts_with(|c: char| c.is_ascii_alphabetic()))
        || matches!(
            lower.as_str(),
            "null" | "undefined" | "none" | "n/a" | "na" | "-" | "--" | "nan" | "false" | "0"
        )
}
