//! Running a [`Plan`] against a page: the batched queries, then the items.
//!
//! Calls per page: one `select` for the items (when the schema has a root `x-scope`), one
//! `read` for every scalar of every item, one `read` for the follow links when they cannot
//! join it, and for each property with a nested `x-scope` one more `select` + `read` that
//! cover all the items at once. The count depends on the schema, never on the page.

use std::collections::HashSet;

use regex_lite::CaptureLocations;
use serde_json::{Map, Value};

/// An object being assembled: its properties in schema order, named by the plan. Cheaper
/// than a `serde_json::Map` (no key copies, no hashing) for the objects of every item.
pub type Object<'p> = Vec<(&'p str, Value)>;

fn into_map(object: Object<'_>) -> Map<String, Value> {
    object
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// An item's JSON text, properties in schema order.
pub fn to_json(object: &[(&str, Value)]) -> String {
    let mut out = Vec::with_capacity(64 * object.len() + 2);
    out.push(b'{');
    for (i, (name, value)) in object.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, name).expect("a string always serialises");
        out.push(b':');
        serde_json::to_writer(&mut out, value).expect("a JSON value always serialises");
    }
    out.push(b'}');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}
use trawl_sdk::{Dom, Field, Item, Node, PluginError, QueryError, Table};

use crate::coerce::{coerce_str, coerce_value};
use crate::hints::{Follow, Kind, Level, ObjectSpec, Plan, ValueSpec};

/// Items and links found on one page.
pub fn run(dom: &impl Dom, plan: &Plan) -> Result<(Vec<Item>, Vec<String>), PluginError> {
    let has_props = !plan.root.object.props.is_empty();
    let (table, objects) = match &plan.scope {
        // Without properties there are no items: only the links are read (and the
        // scope's selector, never used, is checked).
        Some(_) if !has_props => {
            check_selectors(dom, plan)?;
            (Table::default(), Vec::new())
        }
        Some(selector) => {
            let items_nodes = select(dom, &[Node::DOCUMENT], selector, "/x-scope")?
                .pop()
                .unwrap_or_default();
            if items_nodes.is_empty() {
                check_selectors(dom, plan)?;
            }
            run_level(dom, &items_nodes, &plan.root)?
        }
        None => run_level(dom, &[Node::DOCUMENT], &plan.root)?,
    };
    let follow = match &plan.follow {
        None => Vec::new(),
        Some(Follow::Column(c)) => table.get(0, *c).to_vec(),
        Some(Follow::Field(field)) => read(
            dom,
            &[Node::DOCUMENT],
            std::slice::from_ref(field),
            &["/x-follow".into()],
        )?
        .get(0, 0)
        .to_vec(),
    };
    let items = if has_props {
        objects
            .into_iter()
            .map(|object| {
                let confidence = confidence(&object, &plan.required);
                Item::from_json(to_json(&object)).with_confidence(confidence)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok((items, dedup(follow)))
}

/// On a page where the items' scope matched nothing, the properties' selectors are never
/// sent to the host, so a bad one would go unnoticed (and the host checks a schema when it
/// is saved by calling the plugin on an empty page): ask for every selector of the plan
/// once, on the document, so that the host says which one does not parse. One call, on
/// pages without items only.
fn check_selectors(dom: &impl Dom, plan: &Plan) -> Result<(), PluginError> {
    let mut fields = Vec::new();
    let mut owners = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |selector: &str, owner: &str| {
        if seen.insert(selector.to_owned()) {
            fields.push(Field::attr("id").selector(selector));
            owners.push(owner.to_owned());
        }
    };
    fn walk(level: &Level, add: &mut impl FnMut(&str, &str)) {
        for (field, owner) in level.fields.iter().zip(&level.owners) {
            if let Some(selector) = &field.selector {
                add(selector, owner);
            }
        }
        fn props(spec: &ObjectSpec, add: &mut impl FnMut(&str, &str)) {
            for prop in &spec.props {
                match &prop.kind {
                    Kind::Object(inner) => props(inner, add),
                    Kind::Scoped {
                        path,
                        selector,
                        level,
                        ..
                    } => {
                        add(selector, path);
                        walk(level, add);
                    }
                    Kind::Value { .. } | Kind::Values { .. } => {}
                }
            }
        }
        props(&level.object, add);
    }
    if let Some(scope) = &plan.scope {
        add(scope, "/x-scope");
    }
    walk(&plan.root, &mut add);
    if let Some(Follow::Field(field)) = &plan.follow
        && let Some(selector) = &field.selector
    {
        add(selector, "/x-follow");
    }
    if fields.is_empty() {
        return Ok(());
    }
    read(dom, &[Node::DOCUMENT], &fields, &owners).map(drop)
}

/// Share of the required properties the item has (1 when none are required).
pub fn confidence(object: &[(&str, Value)], required: &[String]) -> f32 {
    if required.is_empty() {
        return 1.0;
    }
    let present = required
        .iter()
        .filter(|name| object.iter().any(|(n, _)| n == name))
        .count();
    present as f32 / required.len() as f32
}

fn dedup(urls: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    urls.into_iter()
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

/// Read one level for `nodes` (one object per node), recursing into nested scopes.
fn run_level<'p>(
    dom: &impl Dom,
    nodes: &[Node],
    level: &'p Level,
) -> Result<(Table, Vec<Object<'p>>), PluginError> {
    let table = if level.fields.is_empty() {
        Table::default()
    } else {
        read(dom, nodes, &level.fields, &level.owners)?
    };
    // Each scoped property's objects, per node, in the order the assembly meets them.
    let mut nested: Vec<Vec<Vec<Object<'p>>>> = Vec::new();
    run_nested(dom, nodes, &level.object, &mut nested)?;
    let mut nested = nested.into_iter();
    let width = level.object.props.len();
    let mut objects: Vec<Object<'p>> = (0..nodes.len())
        .map(|_| Vec::with_capacity(width))
        .collect();
    assemble(&level.object, &table, &mut objects, &mut nested);
    Ok((table, objects))
}

fn run_nested<'p>(
    dom: &impl Dom,
    nodes: &[Node],
    spec: &'p ObjectSpec,
    out: &mut Vec<Vec<Vec<Object<'p>>>>,
) -> Result<(), PluginError> {
    for prop in &spec.props {
        match &prop.kind {
            Kind::Object(inner) => run_nested(dom, nodes, inner, out)?,
            Kind::Scoped {
                path,
                selector,
                many,
                level,
            } => {
                let found = select(dom, nodes, selector, path)?;
                let found: Vec<Vec<Node>> = if *many {
                    found
                } else {
                    found
                        .into_iter()
                        .map(|ns| ns.into_iter().take(1).collect())
                        .collect()
                };
                let children: Vec<Node> = found.iter().flatten().copied().collect();
                let (_, mut objects) = run_level(dom, &children, level)?;
                // Hand each parent its share, in order.
                let mut per_parent = Vec::with_capacity(found.len());
                let mut rest = objects.drain(..);
                for ns in &found {
                    per_parent.push(rest.by_ref().take(ns.len()).collect());
                }
                out.push(per_parent);
            }
            Kind::Value { .. } | Kind::Values { .. } => {}
        }
    }
    Ok(())
}

/// Fill one object per row of `table` with the properties of `spec`.
fn assemble<'p>(
    spec: &'p ObjectSpec,
    table: &Table,
    objects: &mut [Object<'p>],
    nested: &mut impl Iterator<Item = Vec<Vec<Object<'p>>>>,
) {
    for prop in &spec.props {
        match &prop.kind {
            Kind::Value { column, value } => {
                let mut applier = Applier::new(value);
                for (row, object) in objects.iter_mut().enumerate() {
                    if let Some(v) = table.first(row, *column).and_then(|raw| applier.apply(raw)) {
                        object.push((&prop.name, v));
                    }
                }
            }
            Kind::Values { column, value } => {
                let mut applier = Applier::new(value);
                for (row, object) in objects.iter_mut().enumerate() {
                    let values: Vec<Value> = table
                        .get(row, *column)
                        .iter()
                        .filter_map(|raw| applier.apply(raw))
                        .collect();
                    if !values.is_empty() {
                        object.push((&prop.name, Value::Array(values)));
                    }
                }
            }
            Kind::Object(inner) => {
                let mut inner_objects: Vec<Object<'p>> =
                    (0..objects.len()).map(|_| Vec::new()).collect();
                assemble(inner, table, &mut inner_objects, nested);
                for (object, inner_object) in objects.iter_mut().zip(inner_objects) {
                    if !inner_object.is_empty() {
                        object.push((&prop.name, Value::Object(into_map(inner_object))));
                    }
                }
            }
            Kind::Scoped { many, .. } => {
                let per_parent = nested.next().unwrap_or_default();
                for (object, children) in objects.iter_mut().zip(per_parent) {
                    let mut children: Vec<Value> = children
                        .into_iter()
                        .filter(|c| !c.is_empty())
                        .map(|c| Value::Object(into_map(c)))
                        .collect();
                    if *many {
                        if !children.is_empty() {
                            object.push((&prop.name, Value::Array(children)));
                        }
                    } else if let Some(child) = children.pop() {
                        object.push((&prop.name, child));
                    }
                }
            }
        }
    }
}

/// One property's [`ValueSpec`] applied over a page's items: each raw string through
/// `x-regex`, `x-map` and the type, `None` when a step finds nothing. What `x-regex` gave is
/// remembered for the first few distinct strings: those strings repeat from item to item
/// (a rating's class, a stock label), and comparing a few strings costs far less than a
/// regex match. The capture slots are allocated once.
struct Applier<'s, 't> {
    spec: &'s ValueSpec,
    slots: Option<CaptureLocations>,
    seen: Vec<(&'t str, Option<Value>)>,
}

/// Distinct strings remembered per property and page.
const REMEMBERED: usize = 8;

impl<'s, 't> Applier<'s, 't> {
    fn new(spec: &'s ValueSpec) -> Self {
        Self {
            spec,
            slots: None,
            seen: Vec::new(),
        }
    }

    fn apply(&mut self, raw: &'t str) -> Option<Value> {
        let Some(regex) = &self.spec.regex else {
            return map_and_coerce(self.spec, raw);
        };
        if let Some((_, value)) = self.seen.iter().find(|(seen, _)| *seen == raw) {
            return value.clone();
        }
        // The first capture group, or the whole match when the regex has none.
        let slots = self.slots.get_or_insert_with(|| regex.capture_locations());
        let value = regex.captures_read(slots, raw).and_then(|_| {
            let group = if slots.len() > 1 { 1 } else { 0 };
            let (start, end) = slots.get(group)?;
            map_and_coerce(self.spec, &raw[start..end])
        });
        if self.seen.len() < REMEMBERED {
            self.seen.push((raw, value.clone()));
        }
        value
    }
}

/// What follows the regex: `x-map`, then the type.
fn map_and_coerce(spec: &ValueSpec, text: &str) -> Option<Value> {
    match &spec.map {
        None => coerce_str(text, spec.ty),
        Some(map) => {
            let mapped = map.get(text).or_else(|| map.get(text.trim()))?;
            coerce_value(mapped.clone(), spec.ty, spec.nullable)
        }
    }
}

fn select(
    dom: &impl Dom,
    scopes: &[Node],
    selector: &str,
    owner: &str,
) -> Result<Vec<Vec<Node>>, PluginError> {
    dom.select_in(scopes, selector).map_err(|e| match e {
        QueryError::BadSelector(m) => {
            PluginError::invalid_at(owner, format!("bad CSS selector {selector:?}: {m}"))
        }
        other => other.into(),
    })
}

fn read(
    dom: &impl Dom,
    nodes: &[Node],
    fields: &[Field],
    owners: &[String],
) -> Result<Table, PluginError> {
    match dom.read(nodes, fields) {
        Ok(table) => Ok(table),
        Err(QueryError::BadSelector(m)) => {
            // The batch does not say which field's selector is bad: ask for each on the
            // document until one fails. This costs calls only on the error path.
            for (field, owner) in fields.iter().zip(owners) {
                let Some(selector) = &field.selector else {
                    continue;
                };
                if let Err(QueryError::BadSelector(m)) =
                    dom.read(&[Node::DOCUMENT], std::slice::from_ref(field))
                {
                    return Err(PluginError::invalid_at(
                        owner,
                        format!("bad CSS selector {selector:?}: {m}"),
                    ));
                }
            }
            Err(PluginError::invalid_input(format!("bad CSS selector: {m}")))
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use std::cell::Cell;
    use std::collections::HashMap;

    use serde_json::json;
    use trawl_sdk::Schema;

    use super::*;
    use crate::CssExtractor;

    /// A page as canned answers: what each selector matches inside each node, and what
    /// each field reads from each node. Counts the calls.
    #[derive(Default)]
    struct FakeDom {
        selects: HashMap<(u32, String), Vec<u32>>,
        reads: HashMap<(u32, Field), Vec<String>>,
        bad_selector: Option<String>,
        calls: Cell<usize>,
    }

    impl FakeDom {
        fn select(mut self, scope: u32, selector: &str, found: &[u32]) -> Self {
            self.selects
                .insert((scope, selector.into()), found.to_vec());
            self
        }

        fn value(mut self, node: u32, field: Field, values: &[&str]) -> Self {
            self.reads.insert(
                (node, field),
                values.iter().map(|v| v.to_string()).collect(),
            );
            self
        }

        fn check(&self, selector: Option<&str>) -> Result<(), QueryError> {
            if selector.is_some() && selector == self.bad_selector.as_deref() {
                return Err(QueryError::BadSelector("unexpected token".into()));
            }
            Ok(())
        }
    }

    impl Dom for FakeDom {
        fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
            self.calls.set(self.calls.get() + 1);
            self.check(Some(selector))?;
            Ok(scopes
                .iter()
                .map(|s| {
                    let found = self.selects.get(&(s.id(), selector.to_string()));
                    found
                        .into_iter()
                        .flatten()
                        .map(|&n| Node::from_id(n))
                        .collect()
                })
                .collect())
        }

        fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError> {
            self.calls.set(self.calls.get() + 1);
            for f in fields {
                self.check(f.selector.as_deref())?;
            }
            let cells = nodes
                .iter()
                .map(|n| {
                    fields
                        .iter()
                        .map(|f| {
                            let mut values = self
                                .reads
                                .get(&(n.id(), f.clone()))
                                .cloned()
                                .unwrap_or_default();
                            if !f.all {
                                values.truncate(1);
                            }
                            values
                        })
                        .collect()
                })
                .collect();
            Ok(Table::new(nodes.to_vec(), cells))
        }
    }

    /// Items as JSON values, their confidences, and the links to follow.
    type Found = (Vec<Value>, Vec<Option<f32>>, Vec<String>);

    fn extract(dom: &FakeDom, schema: Value) -> Result<Found, PluginError> {
        let extraction = CssExtractor::extract_from(dom, &Schema::new(schema.to_string()))?;
        let items = extraction
            .items
            .iter()
            .map(|i| serde_json::from_str(&i.json).unwrap())
            .collect();
        let confidence = extraction.items.iter().map(|i| i.confidence).collect();
        Ok((items, confidence, extraction.follow))
    }

    fn listing_schema() -> Value {
        json!({
            "type": "object",
            "x-scope": "article.product_pod",
            "x-follow": "li.next a",
            "required": ["title", "price", "rating"],
            "properties": {
                "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"},
                "price": {"type": "number", "x-selector": "p.price_color"},
                "rating": {"type": "integer", "x-selector": "p.star-rating", "x-attr": "class",
                           "x-regex": "star-rating (\\w+)",
                           "x-map": {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5}},
                "url": {"type": "string", "x-selector": "h3 a", "x-attr": "href", "x-url": true}
            }
        })
    }

    fn listing_page() -> FakeDom {
        let title = Field::attr("title").selector("h3 a");
        let price = Field::text().selector("p.price_color");
        let rating = Field::attr("class").selector("p.star-rating");
        let url = Field::url("href").selector("h3 a");
        FakeDom::default()
            .select(0, "article.product_pod", &[1, 2, 3])
            .value(1, title.clone(), &["A Light in the Attic"])
            .value(1, price.clone(), &["£51.77"])
            .value(1, rating.clone(), &["star-rating Three"])
            .value(
                1,
                url.clone(),
                &["https://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html"],
            )
            .value(2, title.clone(), &["Tipping the Velvet"])
            .value(2, price.clone(), &["£53.74"])
            .value(2, rating.clone(), &["star-rating Zero"])
            .value(3, title, &["Soumission"])
            .value(3, price, &["price on request"])
            .value(3, rating, &["star-rating One"])
            .value(
                0,
                Field::url("href").selector("li.next a").all(),
                &[
                    "https://books.toscrape.com/catalogue/page-2.html",
                    "https://books.toscrape.com/catalogue/page-2.html",
                ],
            )
    }

    #[test]
    fn listing_items_in_three_calls() {
        let dom = listing_page();
        let (items, confidence, follow) = extract(&dom, listing_schema()).unwrap();
        assert_eq!(
            items,
            [
                json!({"title": "A Light in the Attic", "price": 51.77, "rating": 3,
                       "url": "https://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html"}),
                // Unmapped rating: missing, not null.
                json!({"title": "Tipping the Velvet", "price": 53.74}),
                // Price fails coercion: missing.
                json!({"title": "Soumission", "rating": 1}),
            ]
        );
        assert_eq!(confidence, [Some(1.0), Some(2.0 / 3.0), Some(2.0 / 3.0)]);
        assert_eq!(follow, ["https://books.toscrape.com/catalogue/page-2.html"]);
        // select items + read fields + read links.
        assert_eq!(dom.calls.get(), 3);
    }

    #[test]
    fn item_json_keeps_schema_order() {
        let dom = listing_page();
        let extraction =
            CssExtractor::extract_from(&dom, &Schema::new(listing_schema().to_string())).unwrap();
        assert!(
            extraction.items[0]
                .json
                .starts_with(r#"{"title":"A Light in the Attic","price":51.77,"rating":3,"url":"#)
        );
    }

    #[test]
    fn detail_page_is_one_item_with_nested_levels() {
        let dom = FakeDom::default()
            .value(
                0,
                Field::text().selector("div.product_main h1"),
                &["Sharp Objects"],
            )
            .value(
                0,
                Field::text().selector("div.product_main p.price_color"),
                &["£47.82"],
            )
            .value(
                0,
                Field::text().selector("div.product_main p.instock.availability"),
                &["In stock (20 available)"],
            )
            .value(
                0,
                Field::text().selector("ul.breadcrumb li a").all(),
                &["Home", "Books", "Mystery"],
            )
            .value(
                0,
                Field::url("href")
                    .selector("article.product_pod h3 a")
                    .all(),
                &["https://x/1", "https://x/2"],
            )
            .select(0, "table.table-striped tr", &[10, 11, 12])
            .value(10, Field::text().selector("th"), &["UPC"])
            .value(10, Field::text().selector("td"), &["e00eb4fd7b871a48"])
            .value(11, Field::text().selector("th"), &["Number of reviews"])
            .value(11, Field::text().selector("td"), &["0"])
            // A row without cells yields nothing and is left out.
            .select(0, "article.product_pod", &[20, 21])
            .value(20, Field::attr("title").selector("h3 a"), &["Related 1"])
            .value(21, Field::attr("title").selector("h3 a"), &["Related 2"]);
        let schema = json!({
            "type": "object",
            "x-follow": "article.product_pod h3 a",
            "required": ["title", "price", "stock"],
            "properties": {
                "title": {"type": "string", "x-selector": "div.product_main h1"},
                "price": {"type": "number", "x-selector": "div.product_main p.price_color"},
                "stock": {"type": "integer", "x-selector": "div.product_main p.instock.availability"},
                "in_stock": {"type": "boolean", "x-selector": "div.product_main p.instock.availability"},
                "categories": {"type": "array", "items": {"type": "string"}, "x-selector": "ul.breadcrumb li a"},
                "offer": {"type": "object", "properties": {
                    "price": {"type": "number", "x-selector": "div.product_main p.price_color"},
                    "currency": {"type": "string", "x-selector": "div.product_main p.price_color", "x-regex": "^(\\D+)"}
                }},
                "info": {"type": "array", "x-scope": "table.table-striped tr", "items": {"type": "object", "properties": {
                    "name": {"type": "string", "x-selector": "th"},
                    "value": {"type": "string", "x-selector": "td"}
                }}},
                "related": {"type": "array", "x-scope": "article.product_pod", "items": {"type": "object", "properties": {
                    "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"}
                }}},
                "first_related": {"type": "object", "x-scope": "article.product_pod", "properties": {
                    "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"}
                }},
                "missing": {"type": "string", "x-selector": "div.nope"}
            }
        });
        let (items, confidence, follow) = extract(&dom, schema).unwrap();
        assert_eq!(
            items,
            [json!({
                "title": "Sharp Objects",
                "price": 47.82,
                "stock": 20,
                "in_stock": true,
                "categories": ["Home", "Books", "Mystery"],
                "offer": {"price": 47.82, "currency": "£"},
                "info": [
                    {"name": "UPC", "value": "e00eb4fd7b871a48"},
                    {"name": "Number of reviews", "value": "0"}
                ],
                "related": [{"title": "Related 1"}, {"title": "Related 2"}],
                "first_related": {"title": "Related 1"}
            })]
        );
        assert_eq!(confidence, [Some(1.0)]);
        assert_eq!(follow, ["https://x/1", "https://x/2"]);
        // One read for the document (links included), then select + read per scoped property.
        assert_eq!(dom.calls.get(), 1 + 2 * 3);
    }

    #[test]
    fn nested_arrays_cost_one_select_and_read_per_level() {
        // Two items, each with reviews, each review with tags: calls do not grow with items.
        let mut dom = FakeDom::default().select(0, "div.item", &[1, 2]);
        dom = dom
            .select(1, "div.review", &[11, 12])
            .select(2, "div.review", &[21])
            .value(1, Field::text().selector("h2"), &["first"])
            .value(2, Field::text().selector("h2"), &["second"]);
        for (review, author) in [(11, "ann"), (12, "bob"), (21, "cy")] {
            dom = dom
                .value(review, Field::text().selector("span.author"), &[author])
                .value(review, Field::text().selector("a.tag").all(), &["x", "y"]);
        }
        let schema = json!({
            "x-scope": "div.item",
            "properties": {
                "name": {"type": "string", "x-selector": "h2"},
                "reviews": {"type": "array", "items": {"type": "object", "x-scope": "div.review", "properties": {
                    "author": {"type": "string", "x-selector": "span.author"},
                    "tags": {"type": "array", "x-selector": "a.tag"}
                }}}
            }
        });
        let (items, confidence, follow) = extract(&dom, schema).unwrap();
        assert_eq!(
            items,
            [
                json!({"name": "first", "reviews": [
                    {"author": "ann", "tags": ["x", "y"]},
                    {"author": "bob", "tags": ["x", "y"]}
                ]}),
                json!({"name": "second", "reviews": [{"author": "cy", "tags": ["x", "y"]}]}),
            ]
        );
        assert_eq!(confidence, [Some(1.0), Some(1.0)]);
        assert!(follow.is_empty());
        assert_eq!(dom.calls.get(), 4);
    }

    #[test]
    fn no_scope_means_one_item_even_when_empty() {
        let dom = FakeDom::default();
        let schema = json!({"required": ["a"], "properties": {"a": {"x-selector": "h1"}}});
        let (items, confidence, _) = extract(&dom, schema).unwrap();
        assert_eq!(items, [json!({})]);
        assert_eq!(confidence, [Some(0.0)]);
        assert_eq!(dom.calls.get(), 1);
    }

    #[test]
    fn no_properties_only_follows() {
        let dom =
            FakeDom::default().value(0, Field::url("href").selector("a").all(), &["https://x/"]);
        let (items, _, follow) = extract(&dom, json!({"x-follow": "a"})).unwrap();
        assert!(items.is_empty());
        assert_eq!(follow, ["https://x/"]);
        assert_eq!(dom.calls.get(), 1);
    }

    #[test]
    fn bad_selector_names_the_property() {
        let mut dom = listing_page();
        dom.bad_selector = Some("p.price_color".into());
        let err = extract(&dom, listing_schema()).unwrap_err();
        assert_eq!(
            err,
            PluginError::invalid_input(
                "/properties/price: bad CSS selector \"p.price_color\": unexpected token"
            )
        );
        dom.bad_selector = Some("article.product_pod".into());
        let err = extract(&dom, listing_schema()).unwrap_err();
        assert!(
            err.message().starts_with("/x-scope: bad CSS selector"),
            "{err}"
        );
    }

    /// Where the items' scope matches nothing, the properties' selectors are still
    /// checked, in one call: a bad one is named (this is how a schema is checked when it
    /// is saved, on an empty page); a good schema gives no items and no error.
    #[test]
    fn selectors_are_checked_on_a_page_without_items() {
        let mut dom = FakeDom::default().select(0, "article.product_pod", &[]);
        dom.bad_selector = Some("p.price_color".into());
        let err = extract(&dom, listing_schema()).unwrap_err();
        assert!(
            err.message()
                .starts_with("/properties/price: bad CSS selector"),
            "{err}"
        );
        let dom = FakeDom::default().select(0, "article.product_pod", &[]);
        assert!(extract(&dom, listing_schema()).unwrap().0.is_empty());
    }

    #[test]
    fn schema_must_be_json() {
        let err = CssExtractor::extract_from(&FakeDom::default(), &Schema::new("{")).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(_)));
    }

    /// An `x-map` from a JSON object.
    fn mapping(object: Value) -> crate::hints::Mapping {
        let text = object.to_string();
        let json = crate::json::Json::parse(&text).unwrap();
        crate::hints::Mapping::new(json.as_object().unwrap())
    }

    /// One raw string through `x-regex`, `x-map` and the type, remembering nothing.
    fn apply(spec: &ValueSpec, raw: &str) -> Option<Value> {
        Applier::new(spec).apply(raw)
    }

    #[test]
    fn apply_regex_and_map() {
        let spec = |regex: Option<&str>, map: Option<Value>, ty| ValueSpec {
            regex: regex.map(|r| regex_lite::Regex::new(r).unwrap()),
            map: map.map(mapping),
            ty,
            nullable: false,
        };
        use crate::coerce::Scalar;
        let s = spec(Some(r"\d+"), None, Scalar::Integer);
        assert_eq!(apply(&s, "abc 42 x"), Some(json!(42)));
        assert_eq!(apply(&s, "none"), None);
        let s = spec(Some(r"id=(\w+)"), None, Scalar::String);
        assert_eq!(apply(&s, "?id=abc&x"), Some(json!("abc")));
        let s = spec(Some(r"(a)|(b)"), None, Scalar::String);
        assert_eq!(apply(&s, "b"), None);
        let s = spec(
            None,
            Some(json!({"Yes": true, "No": false})),
            Scalar::Boolean,
        );
        assert_eq!(apply(&s, " No "), Some(json!(false)));
        assert_eq!(apply(&s, "Maybe"), None);
        let s = spec(None, None, Scalar::Number);
        assert_eq!(apply(&s, "£1,234.50"), Some(json!(1234.5)));
    }

    /// Remembered results are the results: for strings seen again, for misses, and past
    /// the strings remembered.
    #[test]
    fn applier_gives_what_apply_gives() {
        let spec = ValueSpec {
            regex: Some(regex_lite::Regex::new(r"star-rating (\w+)").unwrap()),
            map: Some(mapping(json!({"One": 1, "Two": 2}))),
            ty: crate::coerce::Scalar::Integer,
            nullable: false,
        };
        let raws: Vec<String> = (0..3 * REMEMBERED)
            .map(|i| match i % 4 {
                0 => "star-rating One".to_string(),
                1 => "star-rating Two".to_string(),
                2 => "no rating".to_string(),
                _ => format!("star-rating X{i}"),
            })
            .collect();
        let mut applier = Applier::new(&spec);
        for raw in &raws {
            assert_eq!(applier.apply(raw), apply(&spec, raw), "{raw}");
        }
        assert_eq!(applier.seen.len(), REMEMBERED);
        assert_eq!(applier.apply("star-rating Two"), Some(json!(2)));
    }

    #[test]
    fn item_text_keeps_schema_order_and_escapes() {
        let object: Object<'_> = vec![
            ("z", json!("a \"quoted\" é")),
            ("a", json!(1.5)),
            ("m", json!({"k": [1, null]})),
        ];
        let text = to_json(&object);
        assert_eq!(text, r#"{"z":"a \"quoted\" é","a":1.5,"m":{"k":[1,null]}}"#);
        assert_eq!(to_json(&[]), "{}");
    }

    #[test]
    fn confidence_share() {
        let object: Object<'_> = vec![("a", json!(1)), ("b", Value::Null)];
        assert_eq!(confidence(&object, &[]), 1.0);
        assert_eq!(
            confidence(&object, &["a".into(), "b".into(), "c".into(), "d".into()]),
            0.5
        );
    }
}
