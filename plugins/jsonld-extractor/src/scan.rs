//! The page's structured data, read through the host's DOM in a fixed number of calls.
//!
//! 1. One `read` of the document: every JSON-LD script, the `itemref`s, and whether there
//!    is any `itemscope` at all. A page without microdata stops here.
//! 2. One `select` of every element with `itemscope` or `itemprop` (and the targets of the
//!    `itemref`s), in document order.
//! 3. One `read` of their attributes.
//! 4. One `select` inside each item (and `itemref` target) with the same selector: only
//!    the number found matters, as it tells how far the element's descendants run in the
//!    list of step 2 (see [`crate::microdata`]).
//! 5. One `read` of the text of the properties whose value is their text.

use std::collections::HashMap;

use trawl_sdk::{Dom, Field, Node, QueryError, Table};

use crate::graph::short_name;
use crate::microdata::Element;

/// JSON-LD scripts. `*=` and `i` because pages write the type in any case, and now and
/// then with parameters (`application/ld+json; charset=utf-8`).
const SCRIPTS: &str = r#"script[type*="ld+json" i]"#;
/// Elements whose text is not text a reader sees.
const HIDDEN: &str = "script, style, template";
/// `itemref` targets beyond this many are ignored: each one lengthens the selector.
const MAX_REFS: usize = 256;

/// Which syntaxes to read (the plugin's `sources` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    /// `<script type="application/ld+json">`.
    pub json_ld: bool,
    /// `itemscope` / `itemprop`.
    pub microdata: bool,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            json_ld: true,
            microdata: true,
        }
    }
}

/// What a page holds: JSON-LD texts and microdata elements.
#[derive(Debug, Default)]
pub struct Found {
    /// The text of each JSON-LD script, in document order.
    pub scripts: Vec<String>,
    /// The microdata elements, for [`crate::microdata::items`].
    pub elements: Vec<Element>,
}

/// Columns of the attribute read (step 3).
mod col {
    pub const ITEMSCOPE: usize = 0;
    pub const ITEMPROP: usize = 1;
    pub const ITEMTYPE: usize = 2;
    pub const ITEMID: usize = 3;
    pub const ITEMREF: usize = 4;
    pub const ID: usize = 5;
    /// From here on, the candidates for a property's value, in the order they are tried.
    pub const VALUES: usize = 6;
    /// Every column.
    pub const WIDTH: usize = VALUES + 9;
}

/// The attribute read's fields, in the order of [`col`]. A property's value is the first
/// of the value fields that the element has, else its text: the HTML standard takes
/// `href` for `a`/`area`/`link`, `src` for media, `data` for `object`, `datetime` for
/// `time`, `value` for `data`/`meter`, `content` for `meta` (and schema.org pages use
/// `content` anywhere), and elements carry these attributes only where they mean them,
/// so asking for the attributes answers without knowing the tag.
fn attribute_fields() -> Vec<Field> {
    let mut fields: Vec<Field> = [
        "itemscope",
        "itemprop",
        "itemtype",
        "itemid",
        "itemref",
        "id",
    ]
    .into_iter()
    .map(Field::attr)
    .collect();
    fields.extend([
        Field::url("href"),
        Field::attr("href"),
        Field::url("src"),
        Field::attr("src"),
        Field::url("data"),
        Field::attr("data"),
        Field::attr("datetime"),
        Field::attr("value"),
        Field::attr("content"),
    ]);
    fields
}

/// Read the page's JSON-LD and microdata (those of them `sources` asks for).
pub fn scan(dom: &impl Dom, sources: Sources) -> Result<Found, QueryError> {
    // 1. Scripts, itemrefs, and whether there is microdata at all. A script's outer HTML,
    // not its inner HTML: serialised on its own, a script's text comes back escaped
    // (`&lt;`, `&amp;`), while inside its element it is written as it was.
    let mut fields = Vec::new();
    if sources.json_ld {
        fields.push(Field::outer_html().selector(SCRIPTS).all());
    }
    if sources.microdata {
        fields.push(
            Field::attr("itemref")
                .selector("[itemscope][itemref]")
                .all(),
        );
        fields.push(Field::attr("itemscope").selector("[itemscope]"));
    }
    let document = dom.read(&[Node::DOCUMENT], &fields)?;
    let scripts: Vec<String> = if sources.json_ld {
        let outer = document.get(0, 0);
        outer.iter().map(|o| script_text(o).to_string()).collect()
    } else {
        Vec::new()
    };
    // The microdata columns follow the scripts' column, when there is one.
    let itemrefs = usize::from(sources.json_ld);
    let any_itemscope = itemrefs + 1;
    if !sources.microdata || document.get(0, any_itemscope).is_empty() {
        return Ok(Found {
            scripts,
            elements: Vec::new(),
        });
    }
    let mut refs: Vec<&str> = Vec::new();
    for value in document.get(0, itemrefs) {
        for id in value.split_ascii_whitespace() {
            if !refs.contains(&id) && refs.len() < MAX_REFS {
                refs.push(id);
            }
        }
    }
    let selector = microdata_selector(&refs);

    // 2. and 3. The elements and their attributes.
    let nodes = dom
        .select_in(&[Node::DOCUMENT], &selector)?
        .pop()
        .unwrap_or_default();
    let attributes = dom.read(&nodes, &attribute_fields())?;
    let mut elements: Vec<Element> = (0..nodes.len())
        .map(|row| element(&attributes, row))
        .collect();

    // 4. How far each item's (and itemref target's) descendants run.
    let mut first_with_id: HashMap<&str, usize> = HashMap::new();
    for (i, element) in elements.iter().enumerate() {
        if let Some(id) = &element.id {
            first_with_id.entry(id.as_str()).or_insert(i);
        }
    }
    let mut owners: Vec<usize> = elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.itemscope)
        .map(|(i, _)| i)
        .collect();
    owners.extend(refs.iter().filter_map(|id| first_with_id.get(id).copied()));
    owners.sort_unstable();
    owners.dedup();
    let owner_nodes: Vec<Node> = owners.iter().map(|&i| nodes[i]).collect();
    let inside = dom.select_in(&owner_nodes, &selector)?;
    for (&i, found) in owners.iter().zip(&inside) {
        elements[i].inner = found.len();
    }

    // 5. Text, for the properties that have no value attribute.
    let needs_text: Vec<usize> = elements
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.props.is_empty() && !e.itemscope && e.value.is_none())
        .map(|(i, _)| i)
        .collect();
    let text_nodes: Vec<Node> = needs_text.iter().map(|&i| nodes[i]).collect();
    let texts = dom.read(
        &text_nodes,
        &[Field::text(), Field::text().selector(HIDDEN).all()],
    )?;
    for (row, &i) in needs_text.iter().enumerate() {
        let text = texts.first(row, 0).unwrap_or_default();
        elements[i].value = Some(visible_text(text, texts.get(row, 1)));
    }
    Ok(Found { scripts, elements })
}

/// The text inside a serialised `<script …>…</script>`.
///
/// ```
/// use jsonld_extractor::scan::script_text;
///
/// let outer = r#"<script type="application/ld+json" data-x="a>b">{"a": "<b>&amp;</b>"}</script>"#;
/// assert_eq!(script_text(outer), r#"{"a": "<b>&amp;</b>"}"#);
/// ```
pub fn script_text(outer: &str) -> &str {
    // Serialised attribute values are in double quotes, with `"` escaped inside them.
    let mut quoted = false;
    let start = outer.char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        '>' if !quoted => Some(i + 1),
        _ => None,
    });
    let Some(start) = start else {
        return "";
    };
    let end = outer
        .rfind("</script>")
        .filter(|&end| end >= start)
        .unwrap_or(outer.len());
    &outer[start..end]
}

/// `[itemscope], [itemprop]`, and `[id="…"]` for each `itemref` target.
fn microdata_selector(refs: &[&str]) -> String {
    let mut selector = String::from("[itemscope], [itemprop]");
    for id in refs {
        // In a CSS string only `"`, `\` and line breaks need escaping; ids have no spaces.
        if id.chars().any(char::is_control) {
            continue;
        }
        let escaped = id.replace('\\', "\\\\").replace('"', "\\\"");
        selector.push_str(&format!(", [id=\"{escaped}\"]"));
    }
    selector
}

/// One row of the attribute read as an [`Element`] (its `inner` count comes later).
fn element(table: &Table, row: usize) -> Element {
    let attr = |column: usize| table.first(row, column);
    let tokens = |column: usize| -> Vec<String> {
        attr(column)
            .map(|v| v.split_ascii_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut props: Vec<String> = Vec::new();
    for name in tokens(col::ITEMPROP) {
        let name = short_name(&name).to_string();
        if !props.contains(&name) {
            props.push(name);
        }
    }
    let value = (col::VALUES..col::WIDTH)
        .find_map(&attr)
        .map(str::to_string);
    Element {
        itemscope: attr(col::ITEMSCOPE).is_some(),
        props,
        types: tokens(col::ITEMTYPE),
        itemid: attr(col::ITEMID)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        refs: tokens(col::ITEMREF),
        id: attr(col::ID).map(str::to_string),
        value,
        inner: 0,
    }
}

/// An element's text without the text of its scripts and styles: the host's text is
/// whitespace-collapsed, and so is each hidden text, so each is cut out once.
///
/// ```
/// use jsonld_extractor::scan::visible_text;
///
/// let hidden = ["body { color:red; }".to_string()];
/// assert_eq!(visible_text("Neil body { color:red; }", &hidden), "Neil");
/// ```
pub fn visible_text(text: &str, hidden: &[String]) -> String {
    let mut text = text.to_string();
    for chunk in hidden.iter().filter(|c| !c.is_empty()) {
        text = text.replacen(chunk.as_str(), " ", 1);
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_for_itemrefs() {
        assert_eq!(microdata_selector(&[]), "[itemscope], [itemprop]");
        assert_eq!(
            microdata_selector(&["a", "say\"hi\\", "bad\u{1}"]),
            r#"[itemscope], [itemprop], [id="a"], [id="say\"hi\\"]"#
        );
    }

    #[test]
    fn attribute_fields_match_the_columns() {
        assert_eq!(attribute_fields().len(), col::WIDTH);
        assert_eq!(attribute_fields()[col::ITEMREF], Field::attr("itemref"));
        assert_eq!(attribute_fields()[col::VALUES], Field::url("href"));
    }

    #[test]
    fn elements_from_rows() {
        let cells = |values: &[(usize, &str)]| -> Vec<Vec<String>> {
            let mut row = vec![Vec::new(); col::WIDTH];
            for (column, value) in values {
                row[*column] = vec![value.to_string()];
            }
            row
        };
        let table = Table::new(
            vec![Node::from_id(1), Node::from_id(2), Node::from_id(3)],
            vec![
                cells(&[
                    (col::ITEMSCOPE, ""),
                    (col::ITEMTYPE, " http://schema.org/Offer  http://x/y "),
                    (col::ITEMID, " urn:1 "),
                ]),
                cells(&[
                    (col::ITEMPROP, "http://schema.org/price price  sale"),
                    (col::VALUES + 1, "a.jpg"),
                    (col::VALUES + 8, "c"),
                ]),
                cells(&[
                    (col::ITEMPROP, "name"),
                    (col::ID, "n"),
                    (col::ITEMREF, "a b"),
                ]),
            ],
        );
        let offer = element(&table, 0);
        assert!(offer.itemscope);
        assert_eq!(offer.types, ["http://schema.org/Offer", "http://x/y"]);
        assert_eq!(offer.itemid.as_deref(), Some("urn:1"));
        assert_eq!(offer.value, None);
        let price = element(&table, 1);
        assert!(!price.itemscope);
        assert_eq!(price.props, ["price", "sale"]);
        // The raw href, since the resolved one is missing; before `content`.
        assert_eq!(price.value.as_deref(), Some("a.jpg"));
        let name = element(&table, 2);
        assert_eq!(name.id.as_deref(), Some("n"));
        assert_eq!(name.refs, ["a", "b"]);
    }

    #[test]
    fn hidden_text_is_cut_once() {
        let hidden = ["function f() { alert(1); }".to_string(), String::new()];
        assert_eq!(
            visible_text("I am function f() { alert(1); } British", &hidden),
            "I am British"
        );
        assert_eq!(visible_text("  a \n b ", &[]), "a b");
    }
}
