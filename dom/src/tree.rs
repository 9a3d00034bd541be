//! The whole document as one flat tree: the answer to the `page.tree` query of
//! `trawl:plugin@0.2.0`, for plugins that look at a page's structure as a whole (text
//! density, the block a price sits in beside a title) rather than at a few selectors.
//!
//! Entries are in document order: element and text nodes, entry 0 the document. Every
//! other entry's parent is an earlier entry, and an element's descendants are the entries
//! after it up to the next entry that is not one. Comments, doctypes and processing
//! instructions are left out, and so is text no reader sees and few plugins need: that of
//! `<style>`, `<template>` and of scripts other than data blocks (a `<script>` whose `type`
//! names JSON, such as `application/ld+json`, keeps its text).

use scraper::Node as Html5Node;

use crate::{Budget, CELL, Clock, Document, DomError, Limits, Meter};

/// The flat tree of a document, as parallel lists: entry `i` of each describes node `i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatTree {
    /// Each entry's parent, as an index into these lists; entry 0 (the document) is its own.
    pub parent: Vec<u32>,
    /// An element's tag name (lower-case for HTML elements); empty for a text node and
    /// for the document.
    pub tag: Vec<String>,
    /// A text node's text, character references decoded; empty for an element.
    pub text: Vec<String>,
    /// An element's attributes, in source order; empty for a text node.
    pub attributes: Vec<Vec<(String, String)>>,
    /// An element's node handle for `select` and `read`; 0 for the document and text nodes.
    pub node: Vec<u32>,
}

impl FlatTree {
    /// Entries in the tree.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether the tree holds nothing (never true of a document's: it has entry 0).
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }
}

/// Bytes an entry costs besides its strings: its place in each of the five lists.
const ENTRY: usize = 4 + CELL + CELL + std::mem::size_of::<Vec<(String, String)>>() + 4;

impl Document {
    /// The whole document as a [`FlatTree`], handing out a node handle for every element.
    /// Bounded like any other answer: every entry and string is charged to
    /// `limits.max_answer_bytes` before it is built, the handles to `limits.max_handles`,
    /// and the walk looks at the clock as it goes.
    pub fn tree(&mut self, limits: &Limits, clock: &dyn Clock) -> Result<FlatTree, DomError> {
        let mut budget = Budget::new(limits.max_answer_bytes);
        let mut meter = Meter::new(clock);
        let mut tree = FlatTree::default();
        let mut handles = Vec::new();
        // Each open element: the ego-tree node, its index here, and whether its text is
        // kept. A node's parent is the nearest listed ancestor (a left-out comment has no
        // children, and a left-out `<template>` is skipped with everything under it).
        let mut open: Vec<(ego_tree::NodeId, u32, bool)> = Vec::new();
        let root = self.html.tree.root();
        budget.charge(ENTRY)?;
        tree.parent.push(0);
        tree.tag.push(String::new());
        tree.text.push(String::new());
        tree.attributes.push(Vec::new());
        tree.node.push(0);
        open.push((root.id(), 0, true));
        let mut walk = root.traverse();
        // Skipping a subtree: the node whose close ends the skip.
        let mut skipping: Option<ego_tree::NodeId> = None;
        walk.next(); // the document's own open
        for edge in walk {
            meter.tick()?;
            match edge {
                ego_tree::iter::Edge::Open(node) => {
                    if skipping.is_some() {
                        continue;
                    }
                    match node.value() {
                        Html5Node::Element(el) => {
                            let name = el.name();
                            if name == "template" {
                                skipping = Some(node.id());
                                continue;
                            }
                            let attributes = el.attrs().collect::<Vec<_>>();
                            let bytes = ENTRY
                                + name.len()
                                + attributes
                                    .iter()
                                    .map(|(n, v)| 2 * CELL + n.len() + v.len())
                                    .sum::<usize>();
                            budget.charge(bytes)?;
                            if self.handles.len() + handles.len() >= limits.max_handles {
                                return Err(DomError::Limit(format!(
                                    "more than {} DOM nodes handed out for one page",
                                    limits.max_handles
                                )));
                            }
                            let parent = open.last().map_or(0, |&(_, i, _)| i);
                            let index = tree.parent.len() as u32;
                            tree.parent.push(parent);
                            tree.tag.push(name.to_owned());
                            tree.text.push(String::new());
                            tree.attributes.push(
                                attributes
                                    .iter()
                                    .map(|&(n, v)| (n.to_owned(), v.to_owned()))
                                    .collect(),
                            );
                            tree.node.push((self.handles.len() + handles.len()) as u32);
                            handles.push(node.id());
                            let keeps_text = match name {
                                "style" => false,
                                "script" => el
                                    .attr("type")
                                    .is_some_and(|t| t.to_ascii_lowercase().contains("json")),
                                _ => true,
                            };
                            open.push((node.id(), index, keeps_text));
                        }
                        Html5Node::Text(text) => {
                            let Some(&(_, parent, kept)) = open.last() else {
                                continue;
                            };
                            if !kept {
                                continue;
                            }
                            budget.charge(ENTRY + text.len())?;
                            tree.parent.push(parent);
                            tree.tag.push(String::new());
                            tree.text.push(String::from(&**text));
                            tree.attributes.push(Vec::new());
                            tree.node.push(0);
                        }
                        _ => {}
                    }
                }
                ego_tree::iter::Edge::Close(node) => {
                    if let Some(skipped) = skipping {
                        if skipped == node.id() {
                            skipping = None;
                        }
                        continue;
                    }
                    if open.last().is_some_and(|&(id, _, _)| id == node.id()) && open.len() > 1 {
                        open.pop();
                    }
                }
            }
        }
        self.handles.extend_from_slice(&handles);
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Deadline;

    fn tree(html: &str) -> (Document, FlatTree) {
        let limits = Limits::default();
        let mut doc = Document::parse(html, "https://shop.test/p/1", &limits, &Deadline::NONE)
            .expect("parses");
        let tree = doc.tree(&limits, &Deadline::NONE).expect("a tree");
        (doc, tree)
    }

    /// Elements and text in document order, each under its parent; comments, style text,
    /// script code and templates left out, JSON data blocks kept.
    #[test]
    fn the_tree_lists_elements_and_text_in_document_order() {
        let (_, t) = tree(concat!(
            "<html><head><style>p{}</style><script>var x=1</script>",
            r#"<script type="application/ld+json">{"@type":"Product"}</script></head>"#,
            r#"<body><!-- c --><p class="a" id=x>Hello <b>big</b> world</p>"#,
            "<template><p>never</p></template></body></html>"
        ));
        let shown: Vec<String> = (0..t.len())
            .map(|i| {
                if t.tag[i].is_empty() {
                    format!("{}:{:?}", t.parent[i], t.text[i])
                } else {
                    format!("{}:<{}>", t.parent[i], t.tag[i])
                }
            })
            .collect();
        assert_eq!(
            shown,
            [
                "0:\"\"",
                "0:<html>",
                "1:<head>",
                "2:<style>",
                "2:<script>",
                "2:<script>",
                "5:\"{\\\"@type\\\":\\\"Product\\\"}\"",
                "1:<body>",
                "7:<p>",
                "8:\"Hello \"",
                "8:<b>",
                "10:\"big\"",
                "8:\" world\"",
            ]
        );
        assert_eq!(
            t.attributes[8],
            [
                ("class".to_string(), "a".to_string()),
                ("id".into(), "x".into())
            ]
        );
    }

    /// Every element's handle reads that element.
    #[test]
    fn each_element_has_a_handle_that_reads_it() {
        let (doc, t) = tree("<ul><li>one</li><li>two</li></ul>");
        let lis: Vec<u32> = (0..t.len())
            .filter(|&i| t.tag[i] == "li")
            .map(|i| t.node[i])
            .collect();
        let rows = doc
            .read(
                &lis,
                &[crate::Field {
                    selector: None,
                    source: crate::Source::Text,
                    all: false,
                }],
                &Limits::default(),
                &Deadline::NONE,
            )
            .expect("reads");
        assert_eq!(rows, [[vec!["one".to_string()]], [vec!["two".to_string()]]]);
    }

    /// The answer is charged before it is built: a tree larger than the answer limit is a
    /// limit, not an allocation.
    #[test]
    fn a_tree_over_the_answer_limit_is_refused() {
        let html = "<p>some words here</p>".repeat(1_000);
        let limits = Limits {
            max_answer_bytes: 10_000,
            ..Limits::default()
        };
        let mut doc =
            Document::parse(&html, "https://shop.test/", &limits, &Deadline::NONE).expect("parses");
        let err = doc.tree(&limits, &Deadline::NONE).expect_err("too large");
        assert!(matches!(err, DomError::Limit(_)), "{err:?}");
        let err = doc
            .tree(&Limits::default(), &Deadline::at(std::time::Instant::now()))
            .expect_err("past its deadline");
        assert_eq!(err, DomError::Deadline);
    }
}
