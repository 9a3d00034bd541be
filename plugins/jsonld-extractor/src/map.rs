//! Mapping entities onto the item schema: which entities are items, and what each
//! property's value is.

use serde_json::{Map, Value};
use trawl_sdk::Item;

use crate::coerce::coerce;
use crate::graph::Graph;
use crate::schema::{Plan, Prop, Spec};

/// The items of a page: one per entity the plan selects that yields at least one property.
///
/// ```
/// use jsonld_extractor::{graph::Graph, map::items, schema::Plan};
/// use serde_json::json;
///
/// let roots = [json!({"@type": "Product", "name": "Anvil", "offers": {"price": "$19.99"}})];
/// let plan = Plan::parse(&json!({
///     "x-type": "Product",
///     "required": ["name", "price"],
///     "properties": {
///         "name": {"type": "string"},
///         "price": {"type": "number", "x-path": "offers.price"}
///     }
/// }))?;
/// let found = items(&Graph::new(&roots), &plan);
/// assert_eq!(found[0].json, r#"{"name":"Anvil","price":19.99}"#);
/// assert_eq!(found[0].confidence, Some(1.0));
/// # Ok::<(), trawl_sdk::PluginError>(())
/// ```
pub fn items(graph: &Graph<'_>, plan: &Plan) -> Vec<Item> {
    let entities = if plan.types.is_empty() {
        graph.top().to_vec()
    } else {
        graph.of_types(&plan.types)
    };
    entities
        .into_iter()
        .filter_map(|entity| {
            let object = match &plan.props {
                None => entity.as_object()?.clone(),
                Some(props) => map_object(entity, props, graph),
            };
            if object.is_empty() {
                return None;
            }
            let confidence = confidence(&object, &plan.required);
            Some(Item::from(object).with_confidence(confidence))
        })
        .collect()
}

/// Share of the required properties the item has (1 when none are required).
pub fn confidence(object: &Map<String, Value>, required: &[String]) -> f32 {
    if required.is_empty() {
        return 1.0;
    }
    let present = required
        .iter()
        .filter(|name| object.contains_key(name.as_str()))
        .count();
    present as f32 / required.len() as f32
}

/// The properties of `props` read from `entity`; missing ones are left out.
pub fn map_object<'a>(entity: &'a Value, props: &[Prop], graph: &Graph<'a>) -> Map<String, Value> {
    let mut object = Map::new();
    for prop in props {
        let found = prop
            .paths
            .iter()
            .map(|path| follow(entity, path, graph))
            .find(|found| !found.is_empty())
            .unwrap_or_default();
        if let Some(value) = value_of(&prop.spec, &found, graph) {
            object.insert(prop.name.clone(), value);
        }
    }
    object
}

/// Every value at the end of `path` from `entity`: arrays on the way (and at the end) are
/// walked into, references are followed, `null`s are nothing.
fn follow<'a>(entity: &'a Value, path: &[String], graph: &Graph<'a>) -> Vec<&'a Value> {
    let mut current = vec![graph.resolve(entity)];
    for step in path {
        let mut next = Vec::new();
        for value in current {
            if let Some(found) = value.get(step) {
                flatten(found, graph, &mut next);
            }
        }
        current = next;
    }
    current
}

fn flatten<'a>(value: &'a Value, graph: &Graph<'a>, out: &mut Vec<&'a Value>) {
    match value {
        Value::Null => {}
        Value::Array(values) => values.iter().for_each(|v| flatten(v, graph, out)),
        v => out.push(graph.resolve(v)),
    }
}

fn value_of<'a>(spec: &Spec, found: &[&'a Value], graph: &Graph<'a>) -> Option<Value> {
    match spec {
        Spec::Any => match found {
            [] => None,
            [one] => Some((*one).clone()),
            many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
        },
        Spec::Scalar(scalar) => found.iter().find_map(|v| coerce(v, scalar)),
        Spec::Object(props) => found
            .iter()
            .filter(|v| v.is_object())
            .map(|v| map_object(v, props, graph))
            .find(|object| !object.is_empty())
            .map(Value::Object),
        Spec::Array(items) => {
            let values: Vec<Value> = found
                .iter()
                .filter_map(|v| value_of(items, std::slice::from_ref(v), graph))
                .collect();
            (!values.is_empty()).then_some(Value::Array(values))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn run(roots: &[Value], schema: Value) -> Vec<(Value, Option<f32>)> {
        let plan = Plan::parse(&schema).unwrap();
        items(&Graph::new(roots), &plan)
            .into_iter()
            .map(|item| (serde_json::from_str(&item.json).unwrap(), item.confidence))
            .collect()
    }

    fn product_page() -> Vec<Value> {
        vec![
            json!({"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Tools"},
                {"@type": "ListItem", "position": 2, "name": "Anvils"}
            ]}),
            json!({"@context": "https://schema.org", "@graph": [
                {"@type": "Organization", "@id": "#acme", "name": "ACME"},
                {"@type": "Product", "name": "Executive Anvil", "sku": 925872,
                 "brand": {"@id": "#acme"},
                 "image": ["a.jpg", "b.jpg"],
                 "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.4", "reviewCount": "89"},
                 "offers": {"@type": "AggregateOffer", "lowPrice": "$99.00", "highPrice": "119.99",
                            "offers": [
                                {"@type": "Offer", "price": "119.99", "priceCurrency": "USD", "availability": "https://schema.org/InStock"},
                                {"@type": "Offer", "price": 99, "priceCurrency": "USD", "availability": "https://schema.org/OutOfStock"}
                            ]}},
                {"@type": "Product", "name": "Classic Anvil", "offers": {"@type": "Offer", "price": "49,90 €"}}
            ]}),
        ]
    }

    #[test]
    fn products_with_offers() {
        let items = run(
            &product_page(),
            json!({
                "type": "object",
                "x-type": "Product",
                "required": ["name", "price"],
                "properties": {
                    "name": {"type": "string"},
                    "sku": {"type": "string"},
                    "brand": {"type": "string"},
                    "price": {"type": "number", "x-path": ["offers.lowPrice", "offers.price"]},
                    "prices": {"type": "array", "items": {"type": "number"}, "x-path": "offers.offers.price"},
                    "rating": {"type": "number", "x-path": "aggregateRating.ratingValue"},
                    "reviews": {"type": "integer", "x-path": "aggregateRating.reviewCount"},
                    "images": {"type": "array", "items": {"type": "string"}, "x-path": "image"},
                    "in_stock": {"type": "boolean", "x-path": "offers.offers.availability",
                                 "x-map": {"InStock": true, "OutOfStock": false}},
                    "offers": {"type": "array", "x-path": "offers.offers", "items": {
                        "type": "object",
                        "properties": {"price": {"type": "number"}, "currency": {"type": "string", "x-path": "priceCurrency"}}
                    }}
                }
            }),
        );
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            (
                json!({
                    "name": "Executive Anvil",
                    "sku": "925872",
                    "brand": "ACME",
                    "price": 99.0,
                    "prices": [119.99, 99],
                    "rating": 4.4,
                    "reviews": 89,
                    "images": ["a.jpg", "b.jpg"],
                    "in_stock": true,
                    "offers": [{"price": 119.99, "currency": "USD"}, {"price": 99, "currency": "USD"}]
                }),
                Some(1.0)
            )
        );
        assert_eq!(
            items[1],
            (json!({"name": "Classic Anvil", "price": 49.9}), Some(1.0))
        );
    }

    #[test]
    fn without_x_type_every_top_level_entity_is_tried() {
        let items = run(
            &product_page(),
            json!({"properties": {"@type": {}, "name": {"type": "string"}}, "required": ["name", "url"]}),
        );
        let got: Vec<Value> = items.iter().map(|(v, _)| v.clone()).collect();
        assert_eq!(
            got,
            [
                json!({"@type": "BreadcrumbList"}),
                json!({"@type": "Organization", "name": "ACME"}),
                json!({"@type": "Product", "name": "Executive Anvil"}),
                json!({"@type": "Product", "name": "Classic Anvil"}),
            ]
        );
        assert_eq!(items[0].1, Some(0.0));
        assert_eq!(items[1].1, Some(0.5));
    }

    #[test]
    fn entities_with_nothing_to_give_are_not_items() {
        let items = run(
            &product_page(),
            json!({"properties": {"headline": {"type": "string"}}}),
        );
        assert!(items.is_empty());
    }

    #[test]
    fn without_properties_entities_are_items_as_they_are() {
        let roots = [
            json!({"@type": "WebPage", "mainEntity": {"@type": "Book", "name": "B", "isbn": "1"}}),
        ];
        let items = run(&roots, json!({"type": "object", "x-type": "Book"}));
        assert_eq!(
            items,
            [(
                json!({"@type": "Book", "name": "B", "isbn": "1"}),
                Some(1.0)
            )]
        );
    }

    #[test]
    fn untyped_properties_keep_values_as_found() {
        let roots = [
            json!({"@type": "Recipe", "name": "Soup", "recipeIngredient": ["water", "salt"],
                            "nutrition": {"@type": "NutritionInformation", "calories": "90 kcal"},
                            "author": [{"@type": "Person", "name": "A"}]}),
        ];
        let items = run(
            &roots,
            json!({"properties": {
                "recipeIngredient": {}, "nutrition": {}, "author": {},
                "calories": {"type": "integer", "x-path": "nutrition.calories"},
                "by": {"type": "object", "x-path": "author", "properties": {"name": {"type": "string"}}}
            }}),
        );
        assert_eq!(
            items[0].0,
            json!({
                "recipeIngredient": ["water", "salt"],
                "nutrition": {"@type": "NutritionInformation", "calories": "90 kcal"},
                "author": {"@type": "Person", "name": "A"},
                "calories": 90,
                "by": {"name": "A"}
            })
        );
    }

    #[test]
    fn values_that_do_not_convert_are_left_out() {
        let roots = [
            json!({"@type": "Event", "name": "Gig", "offers": {"price": "free"}, "startDate": null,
                            "location": "Town hall"}),
        ];
        let items = run(
            &roots,
            json!({"x-type": "Event", "required": ["name", "price", "startDate"], "properties": {
                "name": {"type": "string"},
                "price": {"type": "number", "x-path": "offers.price"},
                "startDate": {"type": "string"},
                "venue": {"type": "object", "x-path": "location", "properties": {"name": {"type": "string"}}},
                "tags": {"type": "array", "items": {"type": "number"}, "x-path": "name"}
            }}),
        );
        assert_eq!(items[0].0, json!({"name": "Gig"}));
        assert!((items[0].1.unwrap() - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn reference_cycles_end() {
        let roots = [json!({"@graph": [
            {"@type": "Person", "@id": "#a", "name": "A", "knows": {"@id": "#b"}},
            {"@type": "Person", "@id": "#b", "name": "B", "knows": {"@id": "#a"}}
        ]})];
        let items = run(
            &roots,
            json!({"x-type": "Person", "properties": {
                "friend": {"type": "string", "x-path": "knows.knows.knows.name"}
            }}),
        );
        assert_eq!(items[0].0, json!({"friend": "B"}));
    }
}
