//! Structured data: the schema.org entities a page carries as JSON-LD (`@graph`, `@id`
//! references, nested and aggregate offers), microdata (`itemscope`/`itemprop`, also on
//! `<meta>` and `<link>`) and RDFa lite (`typeof`/`property`), read from the tree in one
//! pass; the main product among them gives its fields.

use std::collections::HashMap;

use serde_json::{Map, Value};
use trawl_sdk::{Origin, Tree};

use crate::availability;
use crate::currency::{self, Locale};
use crate::fields::{Fields, Found, Val};
use crate::price::{self, Amount};
use crate::schema::Key;
use crate::util::{self, collapse};

/// Nesting deeper than this is not walked (pages are not that deep; loops are).
const MAX_DEPTH: usize = 12;
/// Entities looked at, at most.
const MAX_ENTITIES: usize = 5000;
/// The most text a microdata or RDFa value takes.
const MAX_VALUE: usize = 2000;

/// Which syntax an entity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `<script type="application/ld+json">`.
    JsonLd,
    /// `itemscope`/`itemprop`.
    Microdata,
    /// `typeof`/`property`.
    Rdfa,
}

impl Syntax {
    fn detail(self) -> &'static str {
        match self {
            Syntax::JsonLd => "json-ld",
            Syntax::Microdata => "microdata",
            Syntax::Rdfa => "rdfa",
        }
    }

    fn confidence(self) -> f32 {
        match self {
            Syntax::JsonLd => 0.95,
            Syntax::Microdata => 0.9,
            Syntax::Rdfa => 0.85,
        }
    }
}

/// The property names whose microdata values came from `<meta>` or `<link>` tags are
/// listed under this key of their entity, so their origin can say so.
const META_PROPS: &str = "@meta";

/// The page's entities, each with its syntax.
#[derive(Debug, Default)]
pub struct Entities {
    /// Top-level values, in page order.
    pub roots: Vec<(Syntax, Value)>,
}

/// Read the JSON-LD scripts, microdata and RDFa of a tree.
pub fn read(tree: &Tree, page_url: &str) -> Entities {
    let mut out = Entities::default();
    for i in 0..tree.len() {
        if tree.tag(i) == "script"
            && tree
                .attr(i, "type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"))
        {
            let text: String = tree.children(i).map(|c| tree.text(c)).collect();
            let (values, _error) = trawl_sdk::json_repair::parse_script(&text);
            out.roots
                .extend(values.into_iter().map(|v| (Syntax::JsonLd, v)));
        }
    }
    out.roots.extend(
        scoped(tree, page_url, "itemscope", "itemtype", "itemprop")
            .into_iter()
            .map(|v| (Syntax::Microdata, v)),
    );
    out.roots.extend(
        scoped(tree, page_url, "typeof", "typeof", "property")
            .into_iter()
            .map(|v| (Syntax::Rdfa, v)),
    );
    out
}

enum PropValue {
    Text(String),
    Entity(usize),
}

/// Microdata (`itemscope`, `itemtype`, `itemprop`) or RDFa lite (`typeof`, `typeof`,
/// `property`) entities, as JSON-LD-shaped objects; the top-level ones are returned.
fn scoped(tree: &Tree, page_url: &str, scope: &str, type_attr: &str, prop: &str) -> Vec<Value> {
    let mut scope_of: HashMap<usize, usize> = HashMap::new();
    let mut types: Vec<Vec<String>> = Vec::new();
    let mut is_prop: Vec<bool> = Vec::new();
    let mut props: Vec<(usize, Vec<String>, PropValue, bool)> = Vec::new();
    // Entries walked for text values, at most: nested text properties would otherwise
    // walk the same big subtrees again and again.
    let mut budget: usize = 400_000;
    for i in 1..tree.len() {
        if !tree.is_element(i) {
            continue;
        }
        let is_scope = tree.attr(i, scope).is_some();
        let names = tree.attr(i, prop);
        if !is_scope && names.is_none() {
            continue;
        }
        let owner = tree.ancestors(i).find_map(|a| scope_of.get(&a).copied());
        let mut entity = None;
        if is_scope && scope_of.len() < MAX_ENTITIES {
            let e = types.len();
            scope_of.insert(i, e);
            types.push(
                tree.attr(i, type_attr)
                    .unwrap_or("")
                    .split_ascii_whitespace()
                    .map(|t| short_name(t).to_string())
                    .collect(),
            );
            is_prop.push(false);
            entity = Some(e);
        }
        let (Some(owner), Some(names)) = (owner, names) else {
            continue;
        };
        let names: Vec<String> = names
            .split_ascii_whitespace()
            .map(|n| short_name(n).to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            continue;
        }
        let tag = tree.tag(i);
        let from_meta = matches!(tag, "meta" | "link");
        let value = match entity {
            Some(e) => {
                if let Some(flag) = is_prop.get_mut(e) {
                    *flag = true;
                }
                PropValue::Entity(e)
            }
            None => PropValue::Text(element_value(tree, i, page_url, &mut budget)),
        };
        props.push((owner, names, value, from_meta));
    }
    // Children come after their parents: build the objects last to first, so that each
    // nested entity is complete when its parent takes it.
    let mut objects: Vec<Option<Map<String, Value>>> = types
        .iter()
        .map(|ts| {
            let mut o = Map::new();
            match ts.as_slice() {
                [] => {}
                [one] => {
                    o.insert("@type".into(), Value::String(one.clone()));
                }
                many => {
                    o.insert(
                        "@type".into(),
                        Value::Array(many.iter().cloned().map(Value::String).collect()),
                    );
                }
            }
            Some(o)
        })
        .collect();
    for (owner, names, value, from_meta) in props.into_iter().rev() {
        let value = match value {
            PropValue::Text(t) => Value::String(t),
            PropValue::Entity(e) => match objects.get_mut(e).and_then(Option::take) {
                Some(o) => Value::Object(o),
                None => continue,
            },
        };
        let Some(Some(object)) = objects.get_mut(owner) else {
            continue;
        };
        for name in names {
            if from_meta {
                let list = object
                    .entry(META_PROPS)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.push(Value::String(name.clone()));
                }
            }
            // Values are pushed last to first: put each in front to keep page order.
            match object.get_mut(&name) {
                None => {
                    object.insert(name, value.clone());
                }
                Some(Value::Array(values)) => values.insert(0, value.clone()),
                Some(first) => *first = Value::Array(vec![value.clone(), first.take()]),
            }
        }
    }
    objects
        .into_iter()
        .zip(is_prop)
        .filter(|(_, p)| !p)
        .filter_map(|(o, _)| o.map(Value::Object))
        .collect()
}

/// A property element's value: the attribute its tag keeps it in, else its text.
fn element_value(tree: &Tree, i: usize, page_url: &str, budget: &mut usize) -> String {
    if let Some(content) = tree.attr(i, "content") {
        return collapse(content);
    }
    let url_attr = match tree.tag(i) {
        "a" | "link" | "area" => Some("href"),
        "img" | "audio" | "video" | "source" | "iframe" | "embed" => Some("src"),
        "object" => Some("data"),
        _ => None,
    };
    if let Some(name) = url_attr {
        return tree
            .attr(i, name)
            .map(|v| util::resolve(page_url, v))
            .unwrap_or_default();
    }
    let attr = match tree.tag(i) {
        "data" | "meter" => tree.attr(i, "value"),
        "time" => tree.attr(i, "datetime"),
        _ => None,
    };
    if let Some(v) = attr {
        return collapse(v);
    }
    let size = tree.descendants(i).len();
    if size > *budget {
        return String::new();
    }
    *budget -= size;
    util::bounded_text(tree, i, MAX_VALUE, 20_000).unwrap_or_default()
}

/// A type or property IRI's last segment (`http://schema.org/Product` gives `Product`,
/// `schema:price` gives `price`).
pub fn short_name(term: &str) -> &str {
    term.rsplit(['/', '#', ':']).next().unwrap_or(term)
}

/// The entity's types, short names.
fn types(entity: &Map<String, Value>) -> Vec<&str> {
    match entity.get("@type") {
        Some(Value::String(t)) => vec![short_name(t)],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(short_name)
            .collect(),
        _ => Vec::new(),
    }
}

fn is_product_type(t: &str) -> bool {
    matches!(
        t,
        "Product"
            | "ProductGroup"
            | "IndividualProduct"
            | "ProductModel"
            | "SomeProducts"
            | "Vehicle"
            | "Car"
            | "Book"
            | "Offer"
    )
}

/// Every object in the values, with its syntax and depth (how many product entities it
/// is nested in), and the `@id` index.
struct Graph<'v> {
    objects: Vec<(Syntax, &'v Map<String, Value>, usize)>,
    ids: HashMap<&'v str, &'v Map<String, Value>>,
}

impl<'v> Graph<'v> {
    fn new(entities: &'v Entities) -> Self {
        let mut graph = Graph {
            objects: Vec::new(),
            ids: HashMap::new(),
        };
        for (syntax, value) in &entities.roots {
            graph.walk(*syntax, value, 0, 0);
        }
        graph
    }

    fn walk(&mut self, syntax: Syntax, value: &'v Value, depth: usize, inside: usize) {
        if depth > MAX_DEPTH || self.objects.len() >= MAX_ENTITIES {
            return;
        }
        match value {
            Value::Array(values) => {
                for v in values {
                    self.walk(syntax, v, depth + 1, inside);
                }
            }
            Value::Object(o) => {
                if let Some(id) = o.get("@id").and_then(Value::as_str)
                    && o.len() > 1
                {
                    self.ids.entry(id).or_insert(o);
                }
                let product = types(o).iter().any(|t| is_product_type(t) && *t != "Offer");
                self.objects.push((syntax, o, inside));
                for (k, v) in o {
                    if k == "@context" {
                        continue;
                    }
                    self.walk(syntax, v, depth + 1, inside + usize::from(product));
                }
            }
            _ => {}
        }
    }

    /// An object, or the one its `@id` reference names.
    fn deref(&self, value: &'v Value) -> Option<&'v Map<String, Value>> {
        let o = value.as_object()?;
        if o.len() == 1
            && let Some(id) = o.get("@id").and_then(Value::as_str)
        {
            return self.ids.get(id).copied().or(Some(o));
        }
        Some(o)
    }

    /// The values of a property: an array's items, references followed.
    fn all(&self, entity: &'v Map<String, Value>, key: &str) -> Vec<&'v Value> {
        match entity.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(values)) => values.iter().collect(),
            Some(v) => vec![v],
        }
    }
}

/// The first text of a value (a string, a number, the `name` or `@value` of an object,
/// the first of an array).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let s = collapse(s);
            (!s.is_empty()).then_some(s)
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Array(values) => values.iter().find_map(text_of),
        Value::Object(o) => o.get("name").or_else(|| o.get("@value")).and_then(text_of),
        _ => None,
    }
}

/// Where a property of an entity came from: structured data, or a `<meta>` tag in it.
type OriginOf<'a> = dyn Fn(&Map<String, Value>, &str) -> (Origin, String) + 'a;

/// Put structured fields of the main product in `fields`.
/// `title` is the page's own title (`og:title`, `<title>`): among several products, the
/// one it names is the page's.
pub fn fill(
    entities: &Entities,
    locale: &Locale,
    page_url: &str,
    title: Option<&str>,
    fields: &mut Fields,
) {
    let graph = Graph::new(entities);
    let Some((syntax, product)) = main_product(&graph, title) else {
        breadcrumbs(&graph, fields);
        return;
    };
    let conf = syntax.confidence();
    let origin_of = |entity: &Map<String, Value>, key: &str| {
        let meta = entity
            .get(META_PROPS)
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|n| n == key));
        if meta {
            (Origin::Meta, format!("{} <meta>", syntax.detail()))
        } else {
            (Origin::StructuredData, syntax.detail().to_string())
        }
    };
    let text_field =
        |fields: &mut Fields, key: Key, entity: &Map<String, Value>, props: &[&str], c: f32| {
            for p in props {
                if let Some(t) = entity.get(*p).and_then(text_of) {
                    // Descriptions often carry their HTML.
                    let t = if key == Key::Description {
                        util::strip_tags(&t)
                    } else {
                        t
                    };
                    let (origin, detail) = origin_of(entity, p);
                    fields.offer(key, Found::new(Val::Text(t), c, origin, detail));
                    return true;
                }
            }
            false
        };
    let is_offer = types(product).contains(&"Offer");
    if !is_offer {
        text_field(fields, Key::Name, product, &["name", "headline"], conf);
    }
    text_field(fields, Key::Sku, product, &["sku"], conf);
    text_field(fields, Key::Mpn, product, &["mpn"], conf);
    text_field(
        fields,
        Key::Description,
        product,
        &["description"],
        conf * 0.95,
    );
    text_field(fields, Key::Color, product, &["color"], conf * 0.95);
    text_field(fields, Key::Size, product, &["size"], conf * 0.95);
    for key in [
        "gtin13", "gtin", "gtin12", "gtin14", "gtin8", "ean", "upc", "isbn",
    ] {
        if let Some(digits) = product
            .get(key)
            .and_then(text_of)
            .and_then(|t| util::gtin_digits(&t))
        {
            let (origin, detail) = origin_of(product, key);
            let c = if util::gtin_checks(&digits) {
                conf
            } else {
                conf * 0.8
            };
            fields.offer(Key::Gtin, Found::new(Val::Text(digits), c, origin, detail));
            break;
        }
    }
    for key in ["brand", "manufacturer"] {
        let brand = graph
            .all(product, key)
            .into_iter()
            .filter_map(|v| match graph.deref(v) {
                Some(o) => text_of(&Value::Object(o.clone())),
                None => text_of(v),
            })
            .next();
        // A brand link's text (`More from the brand: Acme`) is the name after the colon.
        let brand = brand.map(|b| match b.rsplit_once(':') {
            Some((_, name)) if !name.trim().is_empty() && b.len() > 30 => name.trim().to_string(),
            _ => b,
        });
        if let Some(brand) = brand {
            let (origin, detail) = origin_of(product, key);
            let c = if key == "brand" { conf } else { conf * 0.6 };
            fields.offer(Key::Brand, Found::new(Val::Text(brand), c, origin, detail));
            break;
        }
    }
    if let Some(url) = product.get("url").and_then(text_of) {
        let (origin, detail) = origin_of(product, "url");
        fields.offer(
            Key::Url,
            Found::new(
                Val::Text(util::resolve(page_url, &url)),
                conf * 0.9,
                origin,
                detail,
            ),
        );
    }
    let images: Vec<String> = graph
        .all(product, "image")
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(_) => graph.deref(v).and_then(|o| {
                o.get("contentUrl")
                    .or_else(|| o.get("url"))
                    .and_then(text_of)
            }),
            _ => None,
        })
        .filter(|s| !s.trim().is_empty())
        .map(|s| util::resolve(page_url, &s))
        .collect();
    if !images.is_empty() {
        let (origin, detail) = origin_of(product, "image");
        fields.offer(
            Key::Images,
            Found::new(Val::List(images), conf, origin, detail),
        );
    }
    if let Some(rating) = product.get("aggregateRating").and_then(|v| graph.deref(v)) {
        if let Some(a) = rating.get("ratingValue").and_then(price::structured_amount) {
            let (origin, detail) = origin_of(rating, "ratingValue");
            fields.offer(
                Key::Rating,
                Found::new(Val::Amount(a), conf, origin, detail),
            );
        }
        for key in ["reviewCount", "ratingCount"] {
            if let Some(a) = rating.get(key).and_then(price::structured_amount) {
                let (origin, detail) = origin_of(rating, key);
                fields.offer(
                    Key::ReviewCount,
                    Found::new(Val::Amount(a), conf, origin, detail),
                );
                break;
            }
        }
    }
    // Offers: the product's own, else a variant's (a product group's first variant
    // that has one, less sure: it may not be the one the page shows).
    let mut offers = offers_of(&graph, product);
    let mut offer_conf = conf;
    if offers.is_empty() {
        for variant in graph.all(product, "hasVariant") {
            if let Some(v) = graph.deref(variant) {
                offers = offers_of(&graph, v);
                if !offers.is_empty() {
                    offer_conf = conf * 0.85;
                    if !fields.has(Key::Sku) {
                        text_field(fields, Key::Sku, v, &["sku"], offer_conf);
                    }
                    break;
                }
            }
        }
    }
    if is_offer {
        offers.insert(0, product);
    }
    offer_fields(&offers, locale, offer_conf, &origin_of, fields);
    if !fields.has(Key::Sku) {
        for offer in &offers {
            if text_field(fields, Key::Sku, offer, &["sku"], conf * 0.9) {
                break;
            }
        }
    }
    breadcrumbs(&graph, fields);
}

/// The main product: the one with an offer and a name, outermost, first on the page.
fn main_product<'v>(
    graph: &Graph<'v>,
    title: Option<&str>,
) -> Option<(Syntax, &'v Map<String, Value>)> {
    let title = title.map(str::to_lowercase);
    let mut best: Option<(i32, Syntax, &Map<String, Value>)> = None;
    for (syntax, o, inside) in &graph.objects {
        let ts = types(o);
        if !ts.iter().any(|t| is_product_type(t)) {
            continue;
        }
        let offer_only = ts.iter().all(|t| *t == "Offer");
        if offer_only && (*inside > 0 || o.get("price").is_none()) {
            continue;
        }
        let mut score = 0;
        if !offers_of(graph, o).is_empty() || o.contains_key("hasVariant") {
            score += 4;
        }
        if let Some(name) = o.get("name").and_then(text_of) {
            score += 2;
            let name = name.to_lowercase();
            if name.len() >= 3 && title.as_ref().is_some_and(|t| t.contains(&name)) {
                score += 3;
            }
        }
        if *inside == 0 {
            score += 3;
        }
        if offer_only {
            score -= 3;
        }
        if *syntax == Syntax::JsonLd {
            score += 1;
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, *syntax, o));
        }
    }
    best.map(|(_, s, o)| (s, o))
}

/// A product's offers, aggregate offers' own offers after them.
fn offers_of<'v>(
    graph: &Graph<'v>,
    product: &'v Map<String, Value>,
) -> Vec<&'v Map<String, Value>> {
    let mut out = Vec::new();
    for v in graph.all(product, "offers") {
        let Some(o) = graph.deref(v) else { continue };
        out.push(o);
        for inner in graph.all(o, "offers") {
            if let Some(inner) = graph.deref(inner) {
                out.push(inner);
            }
        }
    }
    out.truncate(50);
    out
}

fn offer_fields(
    offers: &[&Map<String, Value>],
    locale: &Locale,
    conf: f32,
    origin_of: &OriginOf<'_>,
    fields: &mut Fields,
) {
    // The first offer with a price gives price and currency together.
    let mut priced = None;
    for offer in offers {
        if let Some((amount, key)) = offer_price(offer) {
            priced = Some((*offer, amount, key));
            break;
        }
    }
    if let Some((offer, amount, key)) = &priced {
        let (offer, key) = (*offer, *key);
        let (origin, detail) = origin_of(offer, key);
        fields.offer(
            Key::Price,
            Found::new(Val::Amount(amount.clone()), conf, origin, detail),
        );
        let currency = offer
            .get("priceCurrency")
            .and_then(text_of)
            .or_else(|| {
                spec(offer)
                    .and_then(|s| s.get("priceCurrency"))
                    .and_then(text_of)
            })
            .and_then(|c| currency::normalize(&c, locale));
        if let Some(c) = currency {
            let (origin, detail) = origin_of(offer, "priceCurrency");
            fields.offer(
                Key::Currency,
                Found::new(Val::Text(c), conf, origin, detail),
            );
        }
        // A list price in the price specifications, when above the price.
        for s in specs(offer) {
            let list = s.get("priceType").and_then(Value::as_str).is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t.contains("listprice") || t.contains("msrp") || t.contains("strikethrough")
            });
            if let Some(a) = s.get("price").and_then(price::structured_amount)
                && list
                && a.value > amount.value
            {
                fields.offer(
                    Key::ListPrice,
                    Found::new(
                        Val::Amount(a),
                        conf * 0.95,
                        Origin::StructuredData,
                        "json-ld priceSpecification",
                    ),
                );
            }
        }
    }
    // A product is in stock when one of its offers is (sizes, sellers); else the priced
    // offer, else the first, says what it is.
    let stated: Vec<(&Map<String, Value>, &'static str)> = priced
        .as_ref()
        .map(|(o, _, _)| *o)
        .into_iter()
        .chain(offers.iter().copied())
        .filter_map(|o| {
            let name = o.get("availability").and_then(text_of)?;
            availability::normalize(&name).map(|n| (o, n))
        })
        .collect();
    let with_availability = stated
        .iter()
        .find(|(_, n)| *n == "InStock")
        .or(stated.first())
        .copied();
    if let Some((offer, name)) = with_availability {
        let (origin, detail) = origin_of(offer, "availability");
        fields.offer(
            Key::Availability,
            Found::new(Val::Text(name.into()), conf, origin, detail),
        );
    }
}

fn spec(offer: &Map<String, Value>) -> Option<&Map<String, Value>> {
    specs(offer).into_iter().next()
}

fn specs(offer: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    match offer.get("priceSpecification") {
        Some(Value::Object(o)) => vec![o],
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// An offer's price, and the property it was read from; zero is no price.
fn offer_price(offer: &Map<String, Value>) -> Option<(Amount, &'static str)> {
    let positive = |v: Option<&Value>| {
        v.and_then(price::structured_amount)
            .filter(|a| a.value > 0.0)
    };
    if let Some(a) = positive(offer.get("price")) {
        return Some((a, "price"));
    }
    if let Some(a) = positive(offer.get("lowPrice")) {
        return Some((a, "lowPrice"));
    }
    for s in specs(offer) {
        // Not a former price, and not a price per unit of measure.
        let list = s.get("priceType").and_then(Value::as_str).is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            ["list", "strikethrough", "msrp", "srp", "invoice"]
                .iter()
                .any(|w| t.contains(w))
        });
        let per_unit = s.contains_key("referenceQuantity");
        if !list
            && !per_unit
            && let Some(a) = positive(s.get("price"))
        {
            return Some((a, "priceSpecification"));
        }
    }
    None
}

/// The names of the page's first breadcrumb list, in order.
fn breadcrumbs(graph: &Graph<'_>, fields: &mut Fields) {
    for (syntax, o, _) in &graph.objects {
        if !types(o).contains(&"BreadcrumbList") {
            continue;
        }
        let mut items: Vec<(f64, String)> = graph
            .all(o, "itemListElement")
            .into_iter()
            .filter_map(|v| graph.deref(v))
            .filter_map(|li| {
                let pos = li
                    .get("position")
                    .and_then(price::structured_amount)
                    .map_or(f64::MAX, |a| a.value);
                let name = li.get("name").and_then(text_of).or_else(|| {
                    li.get("item")
                        .and_then(|i| graph.deref(i))
                        .and_then(|i| i.get("name"))
                        .and_then(text_of)
                })?;
                Some((pos, name))
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        items.sort_by(|a, b| a.0.total_cmp(&b.0));
        let names = items.into_iter().map(|(_, n)| n).collect();
        fields.offer(
            Key::Breadcrumbs,
            Found::new(
                Val::List(names),
                syntax.confidence(),
                Origin::StructuredData,
                syntax.detail(),
            ),
        );
        return;
    }
}
