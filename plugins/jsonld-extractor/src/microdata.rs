//! Microdata items (`itemscope`, `itemtype`, `itemprop`, `itemref`, `itemid`) converted
//! to JSON-LD-shaped entities, from a flat list of the page's elements.
//!
//! [`crate::scan`] reads the elements that matter (those with `itemscope` or `itemprop`,
//! and the targets of `itemref`s) in document order, with how many of the list's elements
//! each item element contains. Document order makes an element's descendants the run of
//! the list right after it, so that count is all the tree this module needs: an item's
//! properties are the elements in its run that no nested item claims first, as in the
//! HTML standard's algorithm.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Nested items deeper than this are left out: no real page nests this far, and a
/// hostile one must not exhaust the plugin's stack.
const MAX_DEPTH: usize = 64;

/// One element carrying microdata, as [`crate::scan`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Has `itemscope`: the element is an item.
    pub itemscope: bool,
    /// The `itemprop` names, schema.org ones shortened (`http://schema.org/name` → `name`).
    pub props: Vec<String>,
    /// The `itemtype` URLs.
    pub types: Vec<String>,
    /// The `itemid`.
    pub itemid: Option<String>,
    /// The `itemref` ids.
    pub refs: Vec<String>,
    /// The `id`.
    pub id: Option<String>,
    /// The property value when the element is not an item: its URL, `datetime`, `value`,
    /// `content` or text.
    pub value: Option<String>,
    /// How many of the following elements of the list are inside this one. Only needed
    /// for items and `itemref` targets; 0 for the others.
    pub inner: usize,
}

/// The top-level items (`itemscope` without `itemprop`) of `elements`, in document
/// order, each as a JSON-LD-shaped object: `@type` (schema.org types shortened), `@id` from
/// `itemid`, then the properties in document order, a property with several values as an
/// array.
///
/// ```
/// use jsonld_extractor::microdata::{items, Element};
/// use serde_json::json;
///
/// let el = |scope: bool, prop: &str, value: &str, inner: usize| Element {
///     itemscope: scope,
///     props: prop.split_whitespace().map(String::from).collect(),
///     value: (!value.is_empty()).then(|| value.to_string()),
///     inner,
///     ..Element::default()
/// };
/// // <div itemscope itemtype="http://schema.org/Product">
/// //   <span itemprop="name">Anvil</span>
/// //   <div itemprop="offers" itemscope><meta itemprop="price" content="19.99"></div>
/// // </div>
/// let mut product = el(true, "", "", 3);
/// product.types = vec!["http://schema.org/Product".into()];
/// let elements = [product, el(false, "name", "Anvil", 0), el(true, "offers", "", 1), el(false, "price", "19.99", 0)];
/// assert_eq!(
///     items(&elements),
///     [json!({"@type": "Product", "name": "Anvil", "offers": {"price": "19.99"}})]
/// );
/// ```
pub fn items(elements: &[Element]) -> Vec<Value> {
    let mut ids = HashMap::new();
    for (i, element) in elements.iter().enumerate() {
        if let Some(id) = &element.id {
            ids.entry(id.as_str()).or_insert(i);
        }
    }
    let mut builder = Builder {
        elements,
        ids,
        open: Vec::new(),
    };
    elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.itemscope && e.props.is_empty())
        .map(|(i, _)| builder.item(i))
        .collect()
}

struct Builder<'a> {
    elements: &'a [Element],
    ids: HashMap<&'a str, usize>,
    /// The items being built, outermost first: an item met again inside itself (through
    /// `itemref`) is a cycle, and is left out there.
    open: Vec<usize>,
}

impl Builder<'_> {
    fn item(&mut self, i: usize) -> Value {
        self.open.push(i);
        let element = &self.elements[i];
        let mut found = self.crawl(i);
        for id in &element.refs {
            let Some(&target) = self.ids.get(id.as_str()) else {
                continue;
            };
            if target == i {
                continue;
            }
            let referenced = &self.elements[target];
            if !referenced.props.is_empty() {
                found.push(target);
            }
            // The standard stops at a referenced item; extruct (and the pages written for
            // it) also takes the properties of a referenced item that is no property.
            if !referenced.itemscope || referenced.props.is_empty() {
                found.extend(self.crawl(target));
            }
        }
        found.sort_unstable();
        found.dedup();

        let mut object = Map::new();
        match element.types.as_slice() {
            [] => {}
            [one] => {
                object.insert("@type".into(), Value::String(short(one)));
            }
            many => {
                let types = many.iter().map(|t| Value::String(short(t))).collect();
                object.insert("@type".into(), Value::Array(types));
            }
        }
        if let Some(id) = &element.itemid {
            object.insert("@id".into(), Value::String(id.clone()));
        }
        let mut props: Map<String, Value> = Map::new();
        for j in found {
            let Some(value) = self.value(j) else {
                continue;
            };
            for name in &self.elements[j].props {
                // Values are strings or objects, so an array means "already repeated".
                match props.get_mut(name) {
                    None => {
                        props.insert(name.clone(), value.clone());
                    }
                    Some(Value::Array(values)) => values.push(value.clone()),
                    Some(first) => *first = Value::Array(vec![first.take(), value.clone()]),
                }
            }
        }
        object.extend(props);
        self.open.pop();
        Value::Object(object)
    }

    /// The value of property element `j`: a nested item, or its string.
    fn value(&mut self, j: usize) -> Option<Value> {
        let element = &self.elements[j];
        if !element.itemscope {
            return Some(Value::String(element.value.clone().unwrap_or_default()));
        }
        if self.open.contains(&j) || self.open.len() >= MAX_DEPTH {
            return None;
        }
        Some(self.item(j))
    }

    /// The property elements inside element `i` that no nested item owns.
    fn crawl(&self, i: usize) -> Vec<usize> {
        let end = (i + self.elements[i].inner).min(self.elements.len().saturating_sub(1));
        let mut found = Vec::new();
        let mut j = i + 1;
        while j <= end {
            let element = &self.elements[j];
            if !element.props.is_empty() {
                found.push(j);
            }
            j += if element.itemscope {
                element.inner + 1
            } else {
                1
            };
        }
        found
    }
}

fn short(term: &str) -> String {
    crate::graph::short_name(term).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn el(scope: bool, props: &str, value: &str) -> Element {
        Element {
            itemscope: scope,
            props: props.split_whitespace().map(String::from).collect(),
            value: (!value.is_empty()).then(|| value.to_string()),
            ..Element::default()
        }
    }

    fn with(mut element: Element, f: impl FnOnce(&mut Element)) -> Element {
        f(&mut element);
        element
    }

    #[test]
    fn nested_items_own_their_properties() {
        // <div itemscope itemtype=Event>            0 (inner 6)
        //   <a itemprop=url href=…>                 1
        //   <span itemprop="name about">            2
        //   <div itemprop=location itemscope>       3 (inner 2)
        //     <span itemprop=name>                  4
        //     <div itemscope>                       5 (inner 0) a top-level item inside
        //   <span itemprop=name>                    6
        let elements = [
            with(el(true, "", ""), |e| {
                e.inner = 6;
                e.types = vec![
                    "http://schema.org/Event".into(),
                    "http://example.com/gig".into(),
                ];
                e.itemid = Some("urn:1".into());
            }),
            el(false, "url", "http://x/e.html"),
            el(false, "name about", "Gig"),
            with(el(true, "location", ""), |e| {
                e.inner = 2;
                e.types = vec!["https://schema.org/Place".into()];
            }),
            el(false, "name", "Hall"),
            el(true, "", ""),
            el(false, "name", "Gig again"),
        ];
        assert_eq!(
            items(&elements),
            [
                json!({
                    "@type": ["Event", "http://example.com/gig"],
                    "@id": "urn:1",
                    "url": "http://x/e.html",
                    "name": ["Gig", "Gig again"],
                    "about": "Gig",
                    "location": {"@type": "Place", "name": "Hall"}
                }),
                json!({})
            ]
        );
    }

    #[test]
    fn itemref_adds_the_referenced_elements() {
        // <div itemscope itemref="x more missing">     0
        //   <p itemprop=b>test</p>                     1
        // <div id=x>                                   2 (inner 3)
        //   <p itemprop=a>1</p>                        3
        //   <div itemprop=c itemscope><p itemprop=d>   4 (inner 1), 5
        // <div id=more itemscope>                      6 (inner 1) (its own top-level item too)
        //   <p itemprop=e>                             7
        let elements = [
            with(el(true, "", ""), |e| {
                e.inner = 1;
                e.refs = vec!["x".into(), "more".into(), "missing".into()];
            }),
            el(false, "b", "test"),
            with(el(false, "", ""), |e| {
                e.inner = 3;
                e.id = Some("x".into());
            }),
            el(false, "a", "1"),
            with(el(true, "c", ""), |e| e.inner = 1),
            el(false, "d", "deep"),
            with(el(true, "", ""), |e| {
                e.inner = 1;
                e.id = Some("more".into());
            }),
            el(false, "e", "merged"),
        ];
        assert_eq!(
            items(&elements),
            [
                json!({"b": "test", "a": "1", "c": {"d": "deep"}, "e": "merged"}),
                json!({"e": "merged"})
            ]
        );
    }

    #[test]
    fn reference_cycles_are_cut() {
        // <div itemscope id=a itemref=b><div id=b itemprop=p itemscope itemref=a>
        let elements = [
            with(el(true, "", ""), |e| {
                e.inner = 1;
                e.id = Some("a".into());
                e.refs = vec!["b".into()];
            }),
            with(el(true, "p", ""), |e| {
                e.id = Some("b".into());
                e.refs = vec!["a".into(), "b".into()];
            }),
        ];
        assert_eq!(items(&elements), [json!({"p": {}})]);
    }

    #[test]
    fn deep_nesting_is_cut_not_a_crash() {
        let depth = 10_000;
        let mut elements = vec![with(el(true, "", ""), |e| e.inner = depth)];
        for k in 0..depth {
            elements.push(with(el(true, "child", ""), |e| e.inner = depth - k - 1));
        }
        let found = items(&elements);
        let mut levels = 0;
        let mut node = &found[0];
        while let Some(child) = node.get("child") {
            node = child;
            levels += 1;
        }
        assert_eq!(levels, MAX_DEPTH - 1);
    }

    #[test]
    fn counts_past_the_end_are_clamped() {
        let elements = [
            with(el(true, "", ""), |e| e.inner = 99),
            el(false, "a", "1"),
        ];
        assert_eq!(items(&elements), [json!({"a": "1"})]);
    }
}
