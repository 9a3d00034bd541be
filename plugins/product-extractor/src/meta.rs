//! `<meta>` tags: OpenGraph and its product extensions (`og:price:amount`,
//! `product:price:amount`, `product:availability`, `product:retailer_item_id`, …), the
//! `twitter:label`/`twitter:data` pairs shops use for price and stock, and the canonical
//! `<link>`; with the page's language for the locale.

use trawl_sdk::{Origin, Tree};

use crate::availability;
use crate::currency::{self, Locale};
use crate::fields::{Fields, Found, Val};
use crate::price;
use crate::schema::Key;
use crate::util::{self, collapse};

/// What the head of a page says: its meta tags and a few other elements.
#[derive(Debug, Default)]
pub struct Head {
    /// `(name or property, lower-case; content)` of every `<meta>` with content.
    pub metas: Vec<(String, String)>,
    /// `<link rel="canonical">`.
    pub canonical: Option<String>,
    /// `<html lang>` (or `og:locale`).
    pub lang: String,
    /// `<title>`.
    pub title: Option<String>,
}

impl Head {
    /// Read the meta tags of a tree, in one pass.
    pub fn read(tree: &Tree) -> Self {
        let mut head = Head::default();
        for i in 0..tree.len() {
            match tree.tag(i) {
                "html" if head.lang.is_empty() => {
                    head.lang = tree.attr(i, "lang").unwrap_or("").to_string();
                }
                "meta" => {
                    let key = tree
                        .attr(i, "property")
                        .or_else(|| tree.attr(i, "name"))
                        .map(|k| k.trim().to_ascii_lowercase());
                    if let (Some(key), Some(content)) = (key, tree.attr(i, "content")) {
                        let content = collapse(content);
                        if !content.is_empty() && head.metas.len() < 2000 {
                            head.metas.push((key, content));
                        }
                    }
                }
                "link" if head.canonical.is_none() => {
                    let canonical = tree.attr(i, "rel").is_some_and(|r| {
                        r.split_ascii_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("canonical"))
                    });
                    if canonical && let Some(href) = tree.attr(i, "href") {
                        head.canonical = Some(href.trim().to_string());
                    }
                }
                "title" if head.title.is_none() => {
                    let t = collapse(&tree.text_content(i));
                    if !t.is_empty() {
                        head.title = Some(t);
                    }
                }
                _ => {}
            }
        }
        if head.lang.is_empty()
            && let Some(l) = head.get("og:locale")
        {
            head.lang = l.to_string();
        }
        head
    }

    /// The first meta tag's content with this name or property.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.metas
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.metas
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Put the fields the meta tags give in `fields`.
pub fn fill(head: &Head, locale: &Locale, page_url: &str, fields: &mut Fields) {
    let found = |value: Val, c: f32, key: &str| Found::new(value, c, Origin::Meta, key.to_string());
    let text = |fields: &mut Fields, field: Key, keys: &[&str], c: f32| {
        for key in keys {
            if let Some(v) = head.get(key) {
                fields.offer(field, found(Val::Text(v.to_string()), c, key));
                return;
            }
        }
    };
    text(fields, Key::Name, &["og:title", "twitter:title"], 0.75);
    text(
        fields,
        Key::Sku,
        &["product:retailer_item_id", "product:sku", "og:sku"],
        0.85,
    );
    text(
        fields,
        Key::Mpn,
        &["product:mfr_part_no", "product:mpn"],
        0.85,
    );
    text(
        fields,
        Key::Brand,
        &["product:brand", "og:brand", "brand"],
        0.85,
    );
    text(fields, Key::Color, &["product:color"], 0.85);
    text(fields, Key::Size, &["product:size"], 0.85);
    text(
        fields,
        Key::Description,
        &["og:description", "description", "twitter:description"],
        0.7,
    );
    for key in [
        "product:ean",
        "product:gtin",
        "product:upc",
        "product:isbn",
        "og:upc",
        "og:ean",
    ] {
        if let Some(d) = head.get(key).and_then(util::gtin_digits) {
            fields.offer(Key::Gtin, found(Val::Text(d), 0.85, key));
            break;
        }
    }
    for (amount_key, currency_key, field) in [
        (
            "product:sale_price:amount",
            "product:sale_price:currency",
            Key::Price,
        ),
        ("product:price:amount", "product:price:currency", Key::Price),
        ("og:price:amount", "og:price:currency", Key::Price),
        ("product:price", "product:price:currency", Key::Price),
        ("og:price", "og:price:currency", Key::Price),
        (
            "product:original_price:amount",
            "product:original_price:currency",
            Key::ListPrice,
        ),
    ] {
        let Some(amount) = head
            .get(amount_key)
            .and_then(|v| price::structured_amount(&serde_json::Value::String(v.to_string())))
            .filter(|a| a.value > 0.0)
        else {
            continue;
        };
        if field == Key::Price
            && fields
                .get(Key::Price)
                .is_some_and(|f| f.origin == Origin::Meta)
        {
            continue;
        }
        fields.offer(field, found(Val::Amount(amount), 0.9, amount_key));
        if let Some(c) = head
            .get(currency_key)
            .and_then(|c| currency::normalize(c, locale))
        {
            fields.offer(Key::Currency, found(Val::Text(c), 0.9, currency_key));
        }
    }
    for key in [
        "product:availability",
        "og:availability",
        "product:stock",
        "availability",
    ] {
        if let Some(name) = head.get(key).and_then(availability::normalize) {
            fields.offer(Key::Availability, found(Val::Text(name.into()), 0.85, key));
            break;
        }
    }
    // `twitter:label1` = "Price", `twitter:data1` = "$12.99", and so on.
    for n in 1..=4 {
        let (Some(label), Some(data)) = (
            head.get(&format!("twitter:label{n}")),
            head.get(&format!("twitter:data{n}")),
        ) else {
            continue;
        };
        let label = label.to_lowercase();
        let detail = format!("twitter:data{n}");
        if let Some(p) = price::find_price(data, locale, !label.contains("pri"))
            && !p.per_unit
            && p.amount.value > 0.0
        {
            fields.offer(Key::Price, found(Val::Amount(p.amount), 0.75, &detail));
            if let Some(c) = p.currency {
                fields.offer(Key::Currency, found(Val::Text(c.into()), 0.75, &detail));
            }
        } else if let Some(name) = availability::normalize(data) {
            fields.offer(
                Key::Availability,
                found(Val::Text(name.into()), 0.7, &detail),
            );
        }
    }
    let images: Vec<String> = head
        .all("og:image")
        .chain(head.all("og:image:url"))
        .chain(head.all("twitter:image"))
        .map(|u| util::resolve(page_url, u))
        .fold(Vec::new(), |mut acc, u| {
            if !acc.contains(&u) && acc.len() < 20 {
                acc.push(u);
            }
            acc
        });
    if !images.is_empty() {
        fields.offer(Key::Images, found(Val::List(images), 0.8, "og:image"));
    }
    if let Some(c) = &head.canonical {
        fields.offer(
            Key::Url,
            Found::new(
                Val::Text(util::resolve(page_url, c)),
                0.9,
                Origin::Meta,
                "link rel=canonical",
            ),
        );
    } else if let Some(u) = head.get("og:url") {
        fields.offer(
            Key::Url,
            found(Val::Text(util::resolve(page_url, u)), 0.85, "og:url"),
        );
    }
}
