//! Reading the item schema into a [`Plan`]: which of the product fields this plugin knows
//! each property stands for (by its name or an alias), the type its value must have, and
//! its hints (`x-selector`, `x-attr`); and the plugin's options.

use serde_json::{Map, Value};
use trawl_sdk::hints::{known_hints, pointer_token};
use trawl_sdk::{Options, PluginError};

/// The product fields this plugin finds by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// The product's name.
    Name,
    /// The price asked.
    Price,
    /// The regular price, when on sale.
    ListPrice,
    /// ISO 4217 currency code.
    Currency,
    /// The shop's own article number.
    Sku,
    /// GTIN, EAN, UPC or ISBN-13, digits only.
    Gtin,
    /// Manufacturer part number.
    Mpn,
    /// The brand's name.
    Brand,
    /// schema.org availability short name.
    Availability,
    /// Absolute image URLs.
    Images,
    /// The first image.
    Image,
    /// The description.
    Description,
    /// Average rating.
    Rating,
    /// Number of reviews.
    ReviewCount,
    /// The breadcrumb trail's names.
    Breadcrumbs,
    /// The canonical URL.
    Url,
    /// The colour.
    Color,
    /// The size.
    Size,
}

/// Property names (lower-cased, `-` and spaces as `_`) and the field they stand for.
const NAMES: &[(&str, Key)] = &[
    ("name", Key::Name),
    ("title", Key::Name),
    ("product_name", Key::Name),
    ("productname", Key::Name),
    ("price", Key::Price),
    ("sale_price", Key::Price),
    ("list_price", Key::ListPrice),
    ("regular_price", Key::ListPrice),
    ("listprice", Key::ListPrice),
    ("currency", Key::Currency),
    ("price_currency", Key::Currency),
    ("pricecurrency", Key::Currency),
    ("sku", Key::Sku),
    ("gtin", Key::Gtin),
    ("ean", Key::Gtin),
    ("upc", Key::Gtin),
    ("mpn", Key::Mpn),
    ("brand", Key::Brand),
    ("availability", Key::Availability),
    ("images", Key::Images),
    ("image", Key::Image),
    ("description", Key::Description),
    ("rating", Key::Rating),
    ("ratingvalue", Key::Rating),
    ("rating_value", Key::Rating),
    ("review_count", Key::ReviewCount),
    ("reviewcount", Key::ReviewCount),
    ("breadcrumbs", Key::Breadcrumbs),
    ("breadcrumb", Key::Breadcrumbs),
    ("url", Key::Url),
    ("canonical_url", Key::Url),
    ("color", Key::Color),
    ("colour", Key::Color),
    ("size", Key::Size),
];

impl Key {
    /// The field a property name stands for (`title`, `priceCurrency`, `review_count`).
    ///
    /// ```
    /// use product_extractor::schema::Key;
    ///
    /// assert_eq!(Key::of("priceCurrency"), Some(Key::Currency));
    /// assert_eq!(Key::of("Product Name"), Some(Key::Name));
    /// assert_eq!(Key::of("weight"), None);
    /// ```
    pub fn of(name: &str) -> Option<Self> {
        let norm: String = name
            .trim()
            .chars()
            .map(|c| {
                if c == '-' || c == ' ' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        NAMES.iter().find(|(n, _)| *n == norm).map(|(_, k)| *k)
    }
}

/// The JSON types a property can be declared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// No type: the field's own form.
    Any,
    /// Text.
    String,
    /// A number.
    Number,
    /// A whole number.
    Integer,
    /// True or false.
    Boolean,
    /// An array (of strings, for the fields that have several values).
    Array,
}

/// A property's `x-selector` hint, and its `x-attr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The CSS selector whose first match gives the value.
    pub selector: String,
    /// The attribute to read instead of the text.
    pub attr: Option<String>,
}

/// One property of the item.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// Its name in the item.
    pub name: String,
    /// The field it stands for, if its name is one this plugin knows.
    pub key: Option<Key>,
    /// Its declared type.
    pub ty: Ty,
    /// Its hint.
    pub hint: Option<Hint>,
}

/// What the schema and the options ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The properties the item can have, in the schema's order.
    pub props: Vec<Prop>,
    /// Whether to read structured data and meta tags.
    pub structured_data: bool,
    /// Whether to read the page's text when structured data leaves a field empty.
    pub page_text: bool,
    /// Whether a product with no word on its availability is taken to be in stock.
    pub assume_in_stock: bool,
}

/// Every field's own name, in the order a schema without properties gets them.
pub const ALL_FIELDS: &[&str] = &[
    "name",
    "price",
    "list_price",
    "currency",
    "sku",
    "gtin",
    "mpn",
    "brand",
    "availability",
    "images",
    "image",
    "description",
    "rating",
    "review_count",
    "breadcrumbs",
    "url",
    "color",
    "size",
];

/// The options this plugin reads.
const OPTIONS: &[&str] = &["structured_data", "page_text", "assume_in_stock"];

/// The hints read on a property.
pub const PROPERTY_HINTS: &[&str] = &["x-selector", "x-attr"];

impl Plan {
    /// The plan for an item schema and the options.
    ///
    /// ```
    /// use product_extractor::schema::{Key, Plan, Ty};
    /// use serde_json::json;
    ///
    /// let plan = Plan::parse(
    ///     &json!({"properties": {"title": {"type": "string"}, "price": {"type": "number"}}}),
    ///     &trawl_sdk::Options::default(),
    /// )?;
    /// assert_eq!(plan.props[0].key, Some(Key::Name));
    /// assert_eq!(plan.props[1].ty, Ty::Number);
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn parse(schema: &Value, options: &Options) -> Result<Self, PluginError> {
        let root = schema
            .as_object()
            .ok_or_else(|| PluginError::invalid_input("the item schema must be a JSON object"))?;
        if let Some(key) = root.keys().find(|k| k.starts_with("x-")) {
            return Err(PluginError::invalid_at(
                &format!("/{}", pointer_token(key)),
                format!(
                    "unknown hint `{key}`: the product-extractor reads {} on properties only",
                    PROPERTY_HINTS.join(", ")
                ),
            ));
        }
        let props: Vec<Prop> = match root.get("properties") {
            None => Vec::new(),
            Some(Value::Object(props)) => props
                .iter()
                .map(|(name, schema)| {
                    parse_prop(
                        name,
                        schema,
                        &format!("/properties/{}", pointer_token(name)),
                    )
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(PluginError::invalid_input("properties must be an object")),
        };
        // No properties: every field, by its own name.
        let props = if props.is_empty() {
            ALL_FIELDS
                .iter()
                .map(|name| Prop {
                    name: (*name).to_string(),
                    key: Key::of(name),
                    ty: Ty::Any,
                    hint: None,
                })
                .collect()
        } else {
            props
        };
        let options_map = options.object()?;
        for key in options_map.keys() {
            if !OPTIONS.contains(&key.as_str()) {
                return Err(PluginError::invalid_input(format!(
                    "unknown option `{key}`: the product-extractor reads {}",
                    OPTIONS.join(", ")
                )));
            }
        }
        let flag = |name: &str| -> Result<bool, PluginError> {
            match options_map.get(name) {
                None => Ok(true),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(PluginError::invalid_input(format!(
                    "option `{name}` must be true or false"
                ))),
            }
        };
        Ok(Self {
            props,
            structured_data: flag("structured_data")?,
            page_text: flag("page_text")?,
            assume_in_stock: flag("assume_in_stock")?,
        })
    }

    /// Whether the item asks for a field.
    pub fn wants(&self, key: Key) -> bool {
        self.props.iter().any(|p| p.key == Some(key))
    }
}

fn parse_prop(name: &str, schema: &Value, path: &str) -> Result<Prop, PluginError> {
    let bad = |what: &str| PluginError::invalid_at(path, what);
    let empty = Map::new();
    let schema = match schema {
        Value::Object(schema) => schema,
        Value::Bool(true) => &empty,
        _ => return Err(bad("its schema must be an object")),
    };
    known_hints(
        schema.keys().map(String::as_str),
        PROPERTY_HINTS,
        path,
        "product-extractor",
    )?;
    let ty = match schema.get("type") {
        None => Ty::Any,
        Some(Value::String(t)) => {
            ty_of(t).ok_or_else(|| bad(&format!("unsupported type {t:?}")))?
        }
        Some(Value::Array(ts)) => {
            let mut found = Ty::Any;
            for t in ts {
                let t = t
                    .as_str()
                    .ok_or_else(|| bad("type must be a name or an array of names"))?;
                if t != "null" {
                    found = ty_of(t).ok_or_else(|| bad(&format!("unsupported type {t:?}")))?;
                    break;
                }
            }
            found
        }
        Some(_) => return Err(bad("type must be a name or an array of names")),
    };
    let selector = match schema.get("x-selector") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => return Err(bad("x-selector must be a non-empty CSS selector")),
    };
    let attr = match schema.get("x-attr") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(_) => return Err(bad("x-attr must be an attribute name")),
    };
    if attr.is_some() && selector.is_none() {
        return Err(bad("x-attr needs an x-selector"));
    }
    Ok(Prop {
        name: name.to_string(),
        key: Key::of(name),
        ty,
        hint: selector.map(|selector| Hint { selector, attr }),
    })
}

fn ty_of(t: &str) -> Option<Ty> {
    Some(match t {
        "string" => Ty::String,
        "number" => Ty::Number,
        "integer" => Ty::Integer,
        "boolean" => Ty::Boolean,
        "array" => Ty::Array,
        "object" | "null" => Ty::Any,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn error(schema: Value) -> String {
        Plan::parse(&schema, &Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn hints_and_aliases() {
        let plan = Plan::parse(
            &json!({"properties": {
                "title": {"type": "string"},
                "weight": {"type": "string", "x-selector": ".weight", "x-attr": "data-kg"},
                "reviewCount": {"type": "integer"},
                "other": {}
            }}),
            &Options::new(r#"{"assume_in_stock": false}"#),
        )
        .unwrap();
        assert_eq!(plan.props[0].key, Some(Key::Name));
        assert_eq!(plan.props[1].key, None);
        assert_eq!(
            plan.props[1].hint,
            Some(Hint {
                selector: ".weight".into(),
                attr: Some("data-kg".into())
            })
        );
        assert_eq!(plan.props[2].key, Some(Key::ReviewCount));
        assert!(!plan.assume_in_stock && plan.page_text);
    }

    #[test]
    fn unknown_hints_are_refused() {
        assert!(
            error(json!({"properties": {"price": {"x-selecter": ".p"}}}))
                .contains("/properties/price/x-selecter: unknown hint `x-selecter`: did you mean `x-selector`?")
        );
        assert!(error(json!({"x-type": "Product"})).contains("/x-type: unknown hint"));
        assert!(
            error(json!({"properties": {"a": {"x-attr": "href"}}})).contains("needs an x-selector")
        );
        assert!(error(json!({"properties": {"a": {"type": "date"}}})).contains("unsupported type"));
        assert!(
            Plan::parse(&json!({}), &Options::new(r#"{"mode": 1}"#))
                .unwrap_err()
                .to_string()
                .contains("unknown option")
        );
    }
}
