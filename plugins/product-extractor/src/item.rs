//! The item the plan asks for: hints applied over the fields found, the fields settled
//! (the first image, a default availability), each property's value coerced to its
//! declared type, and a [`FieldMeta`] for every field written.

use serde_json::{Map, Value};
use trawl_sdk::hints::pointer_token;
use trawl_sdk::number::parse_number;
use trawl_sdk::{Dom, Field, FieldMeta, Item, Node, Origin, PluginError, QueryError};

use crate::availability;
use crate::currency::{self, Locale};
use crate::fields::{Fields, Found, Val};
use crate::price::{self, Amount};
use crate::schema::{Key, Plan, Prop, Ty};
use crate::util::{self, collapse};

/// Confidence of an availability nobody stated, taken from a product being offered.
const ASSUMED: f32 = 0.3;

/// Whether the fields found make a product: a price, or a name with something only
/// products have (structured product data, a code on the page, a word on the stock).
/// A page's title alone (its `<h1>`, `og:title`) is no product: every page has one.
pub fn is_product(fields: &Fields) -> bool {
    if fields.has(Key::Price) {
        return true;
    }
    let Some(name) = fields.get(Key::Name) else {
        return false;
    };
    if matches!(name.origin, Origin::StructuredData | Origin::Hint) {
        return true;
    }
    [Key::Sku, Key::Gtin, Key::Mpn, Key::Availability, Key::Brand]
        .iter()
        .filter_map(|k| fields.get(*k))
        .any(|f| f.origin != Origin::Other)
}

/// Tidy the fields found: drop a list price that is no higher than the price, give the
/// first image, and assume a product offered with no word of its stock is in stock.
pub fn settle(fields: &mut Fields, plan: &Plan) {
    let price = fields
        .get(Key::Price)
        .and_then(|f| amount(&f.value))
        .map(|a| a.value);
    if let Some(list) = fields.get(Key::ListPrice).and_then(|f| amount(&f.value))
        && price.is_none_or(|p| list.value <= p)
    {
        fields.remove(Key::ListPrice);
    }
    if let Some(found) = fields.get(Key::Images)
        && let Val::List(images) = &found.value
        && let Some(first) = images.first()
    {
        let first = Found::new(
            Val::Text(first.clone()),
            found.confidence,
            found.origin,
            found.detail.clone(),
        );
        fields.offer(Key::Image, first);
    }
    if plan.assume_in_stock && !fields.has(Key::Availability) {
        fields.offer(
            Key::Availability,
            Found::new(
                Val::Text("InStock".into()),
                ASSUMED,
                Origin::Other,
                "assumed: the page offers the product and says nothing of its stock",
            ),
        );
    }
}

fn amount(value: &Val) -> Option<&Amount> {
    match value {
        Val::Amount(a) => Some(a),
        _ => None,
    }
}

/// The first element the hint's selector matches, read as text or as its `x-attr`.
fn read_hint(dom: &impl Dom, prop: &Prop) -> Result<Option<String>, PluginError> {
    let Some(hint) = &prop.hint else {
        return Ok(None);
    };
    let at = format!("/properties/{}/x-selector", pointer_token(&prop.name));
    let found = dom
        .select_in(&[Node::DOCUMENT], &hint.selector)
        .map_err(|e| match e {
            QueryError::BadSelector(m) => {
                PluginError::invalid_at(&at, format!("bad CSS selector: {m}"))
            }
            other => other.into(),
        })?;
    let Some(node) = found.first().and_then(|nodes| nodes.first()).copied() else {
        return Ok(None);
    };
    let field = match &hint.attr {
        Some(name) => Field::attr(name.clone()),
        None => Field::text(),
    };
    let table = dom.read(&[node], &[field])?;
    Ok(table.first(0, 0).map(collapse).filter(|v| !v.is_empty()))
}

/// Replace the fields of hinted properties with what their hints find (a hint that
/// finds nothing leaves the field to the rules).
pub fn apply_hints(
    dom: &impl Dom,
    plan: &Plan,
    locale: &Locale,
    page_url: &str,
    fields: &mut Fields,
) -> Result<(), PluginError> {
    for prop in &plan.props {
        let Some(key) = prop.key else { continue };
        let Some(text) = read_hint(dom, prop)? else {
            continue;
        };
        let hint = prop.hint.as_ref().map_or("", |h| h.selector.as_str());
        let found = |value: Val| Found::new(value, 1.0, Origin::Hint, format!("x-selector {hint}"));
        let value = match key {
            Key::Price | Key::ListPrice => {
                let p = price::find_price(&text, locale, false);
                if let Some(code) = p.as_ref().and_then(|p| p.currency)
                    && !plan
                        .props
                        .iter()
                        .any(|q| q.key == Some(Key::Currency) && q.hint.is_some())
                {
                    fields.set(
                        Key::Currency,
                        Found::new(
                            Val::Text(code.into()),
                            0.9,
                            Origin::Hint,
                            format!("beside x-selector {hint}"),
                        ),
                    );
                }
                p.map(|p| Val::Amount(p.amount))
            }
            Key::Rating | Key::ReviewCount => {
                price::find_price(&text, locale, false).map(|p| Val::Amount(p.amount))
            }
            Key::Currency => Some(Val::Text(
                currency::normalize(&text, locale)
                    .or_else(|| {
                        currency::mentions(&text, locale)
                            .first()
                            .map(|m| m.code.to_string())
                    })
                    .unwrap_or(text),
            )),
            Key::Availability => Some(Val::Text(
                availability::normalize(&text).map_or(text, str::to_string),
            )),
            Key::Gtin => Some(Val::Text(util::gtin_digits(&text).unwrap_or(text))),
            Key::Images | Key::Image | Key::Url => {
                let url = util::resolve(page_url, &text);
                Some(if key == Key::Images {
                    Val::List(vec![url])
                } else {
                    Val::Text(url)
                })
            }
            Key::Breadcrumbs => Some(Val::List(vec![text])),
            _ => Some(Val::Text(text)),
        };
        if let Some(value) = value {
            if key == Key::Images
                && let Val::List(list) = &value
                && let Some(first) = list.first()
                && !plan
                    .props
                    .iter()
                    .any(|q| q.key == Some(Key::Image) && q.hint.is_some())
            {
                fields.set(Key::Image, found(Val::Text(first.clone())));
            }
            fields.set(key, found(value));
        }
    }
    Ok(())
}

/// The values of hinted properties whose names are no field of this plugin's.
pub fn hinted_extras(dom: &impl Dom, plan: &Plan) -> Result<Vec<(String, String)>, PluginError> {
    let mut out = Vec::new();
    for prop in &plan.props {
        if prop.key.is_none()
            && let Some(text) = read_hint(dom, prop)?
        {
            out.push((prop.name.clone(), text));
        }
    }
    Ok(out)
}

/// The item: every property of the plan that has a value, in the schema's order.
pub fn build(fields: &Fields, plan: &Plan, extras: Vec<(String, String)>) -> Item {
    let mut object = Map::new();
    let mut metas = Vec::new();
    for prop in &plan.props {
        match prop.key {
            Some(key) => {
                let Some(found) = fields.get(key) else {
                    continue;
                };
                let Some(value) = coerce(key, &found.value, prop.ty) else {
                    continue;
                };
                object.insert(prop.name.clone(), value);
                metas.push(
                    FieldMeta::new(prop.name.clone(), found.origin)
                        .confidence(found.confidence)
                        .detail(found.detail.clone()),
                );
            }
            None => {
                let Some((_, text)) = extras.iter().find(|(n, _)| *n == prop.name) else {
                    continue;
                };
                let Some(value) = coerce_text(text, prop.ty) else {
                    continue;
                };
                object.insert(prop.name.clone(), value);
                let hint = prop.hint.as_ref().map_or("", |h| h.selector.as_str());
                metas.push(
                    FieldMeta::new(prop.name.clone(), Origin::Hint)
                        .confidence(1.0)
                        .detail(format!("x-selector {hint}")),
                );
            }
        }
    }
    let conf = |k: Key| fields.get(k).map_or(0.0, |f| f.confidence);
    let confidence = (conf(Key::Name) + conf(Key::Price) + conf(Key::Availability)) / 3.0;
    let mut item = Item::from(object).with_confidence(confidence);
    for meta in metas {
        item = item.with_field(meta);
    }
    item
}

/// A field's value in its property's declared type.
pub fn coerce(key: Key, value: &Val, ty: Ty) -> Option<Value> {
    match value {
        Val::Amount(a) => match ty {
            Ty::String => Some(Value::String(a.to_decimal_string())),
            Ty::Integer => Some(Value::from(a.value.round() as i64)),
            Ty::Any if key == Key::ReviewCount => Some(Value::from(a.value.round() as i64)),
            Ty::Number | Ty::Any => Some(a.to_json()),
            Ty::Array => Some(Value::Array(vec![a.to_json()])),
            Ty::Boolean => None,
        },
        Val::Text(t) => match ty {
            Ty::Boolean if key == Key::Availability => Some(Value::Bool(matches!(
                t.as_str(),
                "InStock"
                    | "LimitedAvailability"
                    | "OnlineOnly"
                    | "InStoreOnly"
                    | "PreOrder"
                    | "PreSale"
                    | "BackOrder"
                    | "MadeToOrder"
            ))),
            Ty::Array => Some(Value::Array(vec![Value::String(t.clone())])),
            _ => coerce_text(t, ty),
        },
        Val::List(list) => match ty {
            Ty::Array => Some(Value::Array(
                list.iter().cloned().map(Value::String).collect(),
            )),
            Ty::Any if matches!(key, Key::Images | Key::Breadcrumbs) => Some(Value::Array(
                list.iter().cloned().map(Value::String).collect(),
            )),
            Ty::String if key == Key::Breadcrumbs => Some(Value::String(list.join(" > "))),
            _ => list.first().and_then(|t| coerce_text(t, ty)),
        },
    }
}

/// Text in a declared type: numbers read the way people write them.
pub fn coerce_text(text: &str, ty: Ty) -> Option<Value> {
    match ty {
        Ty::Any | Ty::String => Some(Value::String(text.to_string())),
        Ty::Number => parse_number(text).and_then(|n| n.to_number()),
        Ty::Integer => parse_number(text).and_then(|n| n.to_integer()),
        Ty::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(Value::Bool(true)),
            "false" | "no" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        Ty::Array => Some(Value::Array(vec![Value::String(text.to_string())])),
    }
}
