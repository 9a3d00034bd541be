//! The schema.org entities of one page, whatever syntax carried them: which are top-level,
//! which have a given type, and what an `{"@id": …}` reference points at.
//!
//! Both syntaxes arrive here in the same shape, JSON-LD's: objects with `@type`, `@id` and
//! properties (microdata items are converted by [`crate::microdata`]).

use std::collections::HashMap;

use serde_json::Value;

/// The page's entities, borrowed from the values the scripts and microdata gave.
#[derive(Debug, Default)]
pub struct Graph<'a> {
    top: Vec<&'a Value>,
    by_id: HashMap<&'a str, &'a Value>,
}

impl<'a> Graph<'a> {
    /// The graph of `roots`: the values of every JSON-LD script, then the microdata items.
    ///
    /// Top-level entities are the objects of the roots, with arrays and `@graph` flattened
    /// (a `@graph` container is itself an entity only if it has a `@type`). Every object
    /// with an `@id` and some property, at any depth, can be found by its id.
    ///
    /// ```
    /// use jsonld_extractor::graph::Graph;
    /// use serde_json::json;
    ///
    /// let roots = [json!({"@context": "https://schema.org", "@graph": [
    ///     {"@type": "Organization", "@id": "#org", "name": "ACME"},
    ///     {"@type": "Product", "name": "Anvil", "brand": {"@id": "#org"}}
    /// ]})];
    /// let graph = Graph::new(&roots);
    /// assert_eq!(graph.top().len(), 2);
    /// let brand = graph.resolve(&graph.top()[1]["brand"]);
    /// assert_eq!(brand["name"], "ACME");
    /// ```
    pub fn new(roots: &'a [Value]) -> Self {
        let mut graph = Self::default();
        for root in roots {
            graph.add_top(root);
            graph.index(root);
        }
        graph
    }

    fn add_top(&mut self, value: &'a Value) {
        match value {
            Value::Array(values) => values.iter().for_each(|v| self.add_top(v)),
            Value::Object(object) => match object.get("@graph") {
                Some(members) => {
                    if object.contains_key("@type") {
                        self.top.push(value);
                    }
                    self.add_top(members);
                }
                None => self.top.push(value),
            },
            _ => {}
        }
    }

    fn index(&mut self, value: &'a Value) {
        match value {
            Value::Array(values) => values.iter().for_each(|v| self.index(v)),
            Value::Object(object) => {
                if let Some(Value::String(id)) = object.get("@id")
                    && !is_reference(value)
                {
                    self.by_id.entry(id.as_str()).or_insert(value);
                }
                object.values().for_each(|v| self.index(v));
            }
            _ => {}
        }
    }

    /// The top-level entities, in page order (JSON-LD first, then microdata).
    pub fn top(&self) -> &[&'a Value] {
        &self.top
    }

    /// Every entity, at any depth, whose `@type` is one of `types` (short names, see
    /// [`short_name`]), in page order, outer entities before the ones inside them.
    ///
    /// ```
    /// use jsonld_extractor::graph::Graph;
    /// use serde_json::json;
    ///
    /// let roots = [json!({"@type": "WebPage", "mainEntity": {"@type": ["Product"], "name": "A"}})];
    /// let graph = Graph::new(&roots);
    /// let found = graph.of_types(&["Product".to_string()]);
    /// assert_eq!(found[0]["name"], "A");
    /// ```
    pub fn of_types(&self, types: &[String]) -> Vec<&'a Value> {
        let mut found = Vec::new();
        for root in &self.top {
            collect_types(root, types, &mut found);
        }
        // A @graph container and its members are both walked: keep each entity once.
        let mut seen = std::collections::HashSet::new();
        found.retain(|v| seen.insert(*v as *const Value));
        found
    }

    /// What `value` stands for: the entity a reference (`{"@id": "…"}` and nothing else)
    /// points at when the page has it, else `value` itself.
    pub fn resolve(&self, value: &'a Value) -> &'a Value {
        if is_reference(value)
            && let Some(Value::String(id)) = value.get("@id")
            && let Some(target) = self.by_id.get(id.as_str())
        {
            return target;
        }
        value
    }
}

fn collect_types<'a>(value: &'a Value, types: &[String], found: &mut Vec<&'a Value>) {
    match value {
        Value::Array(values) => values.iter().for_each(|v| collect_types(v, types, found)),
        Value::Object(object) => {
            if type_names(value)
                .iter()
                .any(|t| types.iter().any(|w| w == t))
            {
                found.push(value);
            }
            object.values().for_each(|v| collect_types(v, types, found));
        }
        _ => {}
    }
}

/// An object that only names another: `{"@id": "…"}`, perhaps with a `@type`.
fn is_reference(value: &Value) -> bool {
    value.as_object().is_some_and(|object| {
        object.contains_key("@id") && object.keys().all(|k| k == "@id" || k == "@type")
    })
}

/// The short names of an entity's `@type` (a string or an array of strings).
///
/// ```
/// use jsonld_extractor::graph::type_names;
/// use serde_json::json;
///
/// assert_eq!(type_names(&json!({"@type": "http://schema.org/Product"})), ["Product"]);
/// assert_eq!(type_names(&json!({"@type": ["NewsArticle", "schema:Article"]})), ["NewsArticle", "Article"]);
/// assert!(type_names(&json!({"name": "untyped"})).is_empty());
/// ```
pub fn type_names(value: &Value) -> Vec<&str> {
    match value.get("@type") {
        Some(Value::String(t)) => vec![short_name(t)],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(short_name)
            .collect(),
        _ => Vec::new(),
    }
}

/// A schema.org term without its vocabulary: `http://schema.org/Product`,
/// `https://www.schema.org/Product` and `schema:Product` are all `Product`. Terms of other
/// vocabularies are kept whole.
///
/// ```
/// use jsonld_extractor::graph::short_name;
///
/// assert_eq!(short_name("https://schema.org/InStock"), "InStock");
/// assert_eq!(short_name("Product"), "Product");
/// assert_eq!(short_name("http://md.example.com/loco"), "http://md.example.com/loco");
/// ```
pub fn short_name(term: &str) -> &str {
    let term = term.trim();
    let rest = term
        .strip_prefix("https://")
        .or_else(|| term.strip_prefix("http://"))
        .map(|r| r.strip_prefix("www.").unwrap_or(r))
        .and_then(|r| r.strip_prefix("schema.org/"))
        .or_else(|| term.strip_prefix("schema:"));
    match rest {
        Some(name) if !name.is_empty() && !name.contains('/') => name,
        _ => term,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_level_flattens_arrays_and_graphs() {
        let roots = [
            json!([{"@type": "A"}, [{"@type": "B"}], "noise", null]),
            json!({"@context": "x", "@graph": {"@type": "C"}}),
            json!({"@type": "D", "@graph": [{"@type": "E"}]}),
        ];
        let graph = Graph::new(&roots);
        let types: Vec<Vec<&str>> = graph.top().iter().map(|v| type_names(v)).collect();
        assert_eq!(types, [["A"], ["B"], ["C"], ["D"], ["E"]]);
    }

    #[test]
    fn types_are_found_at_any_depth_once() {
        let roots = [json!({"@graph": [
            {"@type": "Product", "name": "outer", "isRelatedTo": [{"@type": "Product", "name": "inner"}]},
            {"@type": "Offer", "itemOffered": {"@type": ["Thing", "https://schema.org/Product"], "name": "third"}}
        ]})];
        let graph = Graph::new(&roots);
        let names: Vec<&Value> = graph
            .of_types(&["Product".into()])
            .iter()
            .map(|v| &v["name"])
            .collect();
        assert_eq!(names, [&json!("outer"), &json!("inner"), &json!("third")]);
    }

    #[test]
    fn references_resolve_to_the_full_node() {
        let roots = [
            json!({"@type": "Product", "offers": {"@id": "#o"}, "brand": {"@id": "#missing"}}),
            json!({"@type": "Offer", "@id": "#o", "price": 5}),
        ];
        let graph = Graph::new(&roots);
        let product = graph.top()[0];
        assert_eq!(graph.resolve(&product["offers"])["price"], json!(5));
        assert_eq!(
            graph.resolve(&product["brand"]),
            &json!({"@id": "#missing"})
        );
        // A full node is never replaced, even one with an id.
        assert_eq!(graph.resolve(graph.top()[1]), graph.top()[1]);
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("http://www.schema.org/Offer"), "Offer");
        assert_eq!(short_name(" schema:Offer "), "Offer");
        assert_eq!(short_name("http://schema.org/"), "http://schema.org/");
        assert_eq!(
            short_name("https://schema.org/a/b"),
            "https://schema.org/a/b"
        );
    }
}
