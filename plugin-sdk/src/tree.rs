//! [`Tree`]: the whole page as one flat tree of elements and text, in one boundary
//! crossing ([`Page::tree`](crate::Page::tree)), for extractors that read a page's
//! structure as a whole (text density, the block a price sits in beside a title) instead
//! of asking a few selectors.
//!
//! Entries are numbered in document order; entry 0 is the document. An element's
//! descendants are the entries right after it, up to [`Tree::end`], so a walk of a subtree
//! is a range and needs no recursion. Comments, `<template>` contents, and the text of
//! `<style>` and of scripts that are not JSON data blocks are left out by the host.

use std::fmt;
use std::ops::Range;

use crate::Node;

/// A page's element tree, flattened. Build one from the host with
/// [`Page::tree`](crate::Page::tree), or in a native test with [`Tree::from_parts`].
///
/// ```
/// use trawl_sdk::Tree;
///
/// // <p class="lead">Hello <b>world</b></p>
/// let tree = Tree::from_parts(
///     vec![0, 0, 1, 1, 3],
///     vec!["".into(), "p".into(), "".into(), "b".into(), "".into()],
///     vec!["".into(), "".into(), "Hello ".into(), "".into(), "world".into()],
///     vec![vec![], vec![("class".into(), "lead".into())], vec![], vec![], vec![]],
///     vec![0, 1, 0, 2, 0],
/// )
/// .expect("a well-formed tree");
/// let p = tree.find("p").expect("a p");
/// assert_eq!(tree.attr(p, "class"), Some("lead"));
/// assert_eq!(tree.text_content(p), "Hello world");
/// assert_eq!(tree.children(p).count(), 2);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Tree {
    parent: Vec<u32>,
    tag: Vec<String>,
    text: Vec<String>,
    attributes: Vec<Vec<(String, String)>>,
    node: Vec<u32>,
    /// One past each entry's last descendant.
    end: Vec<u32>,
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tree")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

/// Why [`Tree::from_parts`] refused its lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeError(String);

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a well-formed page tree: {}", self.0)
    }
}

impl std::error::Error for TreeError {}

impl From<TreeError> for crate::PluginError {
    fn from(err: TreeError) -> Self {
        crate::PluginError::Other(err.to_string())
    }
}

impl Tree {
    /// A tree from its parallel lists (as the host sends them): every list as long as
    /// `parent`, entry 0 the document, and every other entry's parent an earlier element.
    ///
    /// ```
    /// let err = trawl_sdk::Tree::from_parts(vec![0, 2], vec![], vec![], vec![], vec![]);
    /// assert!(err.is_err());
    /// ```
    pub fn from_parts(
        parent: Vec<u32>,
        tag: Vec<String>,
        text: Vec<String>,
        attributes: Vec<Vec<(String, String)>>,
        node: Vec<u32>,
    ) -> Result<Self, TreeError> {
        let n = parent.len();
        if n == 0 {
            return Err(TreeError("it has no document entry".into()));
        }
        if tag.len() != n || text.len() != n || attributes.len() != n || node.len() != n {
            return Err(TreeError("its lists differ in length".into()));
        }
        if n > u32::MAX as usize {
            return Err(TreeError("it has too many entries".into()));
        }
        // Entries come in document order, so the open elements form a stack: each entry's
        // parent must be on it, and the elements after the parent are closed by then.
        let mut open: Vec<u32> = vec![0];
        for i in 1..n {
            let p = parent[i];
            while open.last().is_some_and(|&top| top != p) {
                open.pop();
            }
            if open.is_empty() {
                return Err(TreeError(format!(
                    "entry {i}'s parent {p} is not an open element before it"
                )));
            }
            if !tag[i].is_empty() {
                open.push(i as u32);
            }
        }
        let mut end: Vec<u32> = (1..=n as u32).collect();
        for i in (1..n).rev() {
            let p = parent[i] as usize;
            end[p] = end[p].max(end[i]);
        }
        Ok(Self {
            parent,
            tag,
            text,
            attributes,
            node,
            end,
        })
    }

    /// Entries, the document's included.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0], vec!["".into()], vec!["".into()], vec![vec![]], vec![0]).unwrap();
    /// assert_eq!(tree.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether the tree has no entries (never true: the document is one).
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0], vec!["".into()], vec!["".into()], vec![vec![]], vec![0]).unwrap();
    /// assert!(!tree.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The entry's parent (none for the document).
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "p".into()], vec!["".into(), "".into()], vec![vec![], vec![]], vec![0, 1]).unwrap();
    /// assert_eq!(tree.parent(1), Some(0));
    /// assert_eq!(tree.parent(0), None);
    /// ```
    pub fn parent(&self, i: usize) -> Option<usize> {
        (i != 0).then(|| self.parent[i] as usize)
    }

    /// An element's tag name (lower-case for HTML), or `""` for text and the document.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "h1".into()], vec!["".into(), "".into()], vec![vec![], vec![]], vec![0, 1]).unwrap();
    /// assert_eq!(tree.tag(1), "h1");
    /// ```
    pub fn tag(&self, i: usize) -> &str {
        &self.tag[i]
    }

    /// Whether the entry is an element.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "h1".into()], vec!["".into(), "".into()], vec![vec![], vec![]], vec![0, 1]).unwrap();
    /// assert!(tree.is_element(1) && !tree.is_element(0));
    /// ```
    pub fn is_element(&self, i: usize) -> bool {
        !self.tag[i].is_empty()
    }

    /// Whether the entry is a text node.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "".into()], vec!["".into(), "hi".into()], vec![vec![], vec![]], vec![0, 0]).unwrap();
    /// assert!(tree.is_text(1) && !tree.is_text(0));
    /// ```
    pub fn is_text(&self, i: usize) -> bool {
        i != 0 && self.tag[i].is_empty()
    }

    /// A text node's text (`""` for an element).
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "".into()], vec!["".into(), "hi".into()], vec![vec![], vec![]], vec![0, 0]).unwrap();
    /// assert_eq!(tree.text(1), "hi");
    /// ```
    pub fn text(&self, i: usize) -> &str {
        &self.text[i]
    }

    /// An element's attributes, in source order.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "a".into()], vec!["".into(), "".into()], vec![vec![], vec![("href".into(), "/x".into())]], vec![0, 1]).unwrap();
    /// assert_eq!(tree.attributes(1), [("href".to_string(), "/x".to_string())]);
    /// ```
    pub fn attributes(&self, i: usize) -> &[(String, String)] {
        &self.attributes[i]
    }

    /// The value of an element's attribute (names compared ignoring ASCII case).
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "a".into()], vec!["".into(), "".into()], vec![vec![], vec![("href".into(), "/x".into())]], vec![0, 1]).unwrap();
    /// assert_eq!(tree.attr(1, "HREF"), Some("/x"));
    /// assert_eq!(tree.attr(1, "title"), None);
    /// ```
    pub fn attr(&self, i: usize, name: &str) -> Option<&str> {
        self.attributes[i]
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether an element's `class` attribute lists `class`.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "p".into()], vec!["".into(), "".into()], vec![vec![], vec![("class".into(), "price sale".into())]], vec![0, 1]).unwrap();
    /// assert!(tree.has_class(1, "sale") && !tree.has_class(1, "pri"));
    /// ```
    pub fn has_class(&self, i: usize, class: &str) -> bool {
        self.attr(i, "class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == class))
    }

    /// The element's handle for [`Page::select_in`](crate::Page::select_in) and
    /// [`Page::read`](crate::Page::read) (none for text and the document).
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "p".into()], vec!["".into(), "".into()], vec![vec![], vec![]], vec![0, 9]).unwrap();
    /// assert_eq!(tree.node(1), Some(trawl_sdk::Node::from_id(9)));
    /// assert_eq!(tree.node(0), None);
    /// ```
    pub fn node(&self, i: usize) -> Option<Node> {
        (self.is_element(i) && self.node[i] != 0).then(|| Node::from_id(self.node[i]))
    }

    /// One past the entry's last descendant: its descendants are `i + 1..tree.end(i)`.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0, 1, 0], vec!["".into(), "p".into(), "".into(), "p".into()], vec!["".into(), "".into(), "a".into(), "".into()], vec![vec![]; 4], vec![0, 1, 0, 2]).unwrap();
    /// assert_eq!(tree.end(1), 3);
    /// assert_eq!(tree.end(0), 4);
    /// ```
    pub fn end(&self, i: usize) -> usize {
        self.end[i] as usize
    }

    /// The entry's descendants, in document order.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0, 1, 0], vec!["".into(), "p".into(), "".into(), "p".into()], vec!["".into(), "".into(), "a".into(), "".into()], vec![vec![]; 4], vec![0, 1, 0, 2]).unwrap();
    /// assert_eq!(tree.descendants(1), 2..3);
    /// ```
    pub fn descendants(&self, i: usize) -> Range<usize> {
        i + 1..self.end(i)
    }

    /// The entry's children, in document order.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0, 1, 0], vec!["".into(), "p".into(), "".into(), "p".into()], vec!["".into(), "".into(), "a".into(), "".into()], vec![vec![]; 4], vec![0, 1, 0, 2]).unwrap();
    /// assert_eq!(tree.children(0).collect::<Vec<_>>(), [1, 3]);
    /// ```
    pub fn children(&self, i: usize) -> Children<'_> {
        Children {
            next: i + 1,
            end: self.end(i),
            tree: self,
        }
    }

    /// The entry's ancestors, nearest first, the document last.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0, 1], vec!["".into(), "p".into(), "".into()], vec!["".into(), "".into(), "a".into()], vec![vec![]; 3], vec![0, 1, 0]).unwrap();
    /// assert_eq!(tree.ancestors(2).collect::<Vec<_>>(), [1, 0]);
    /// ```
    pub fn ancestors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.parent(i), move |&p| self.parent(p))
    }

    /// The first element with this tag name, in document order.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0], vec!["".into(), "h1".into()], vec!["".into(), "".into()], vec![vec![], vec![]], vec![0, 1]).unwrap();
    /// assert_eq!(tree.find("h1"), Some(1));
    /// assert_eq!(tree.find("h2"), None);
    /// ```
    pub fn find(&self, tag: &str) -> Option<usize> {
        self.tag.iter().position(|t| t == tag)
    }

    /// The text of the entry and its descendants, joined as written.
    ///
    /// ```
    /// # let tree = trawl_sdk::Tree::from_parts(vec![0, 0, 1], vec!["".into(), "p".into(), "".into()], vec!["".into(), "".into(), " a  b ".into()], vec![vec![]; 3], vec![0, 1, 0]).unwrap();
    /// assert_eq!(tree.text_content(1), " a  b ");
    /// ```
    pub fn text_content(&self, i: usize) -> String {
        if self.is_text(i) {
            return self.text[i].clone();
        }
        let mut out = String::new();
        for d in self.descendants(i) {
            out.push_str(&self.text[d]);
        }
        out
    }
}

/// The children of an entry ([`Tree::children`]).
#[derive(Debug, Clone)]
pub struct Children<'t> {
    tree: &'t Tree,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let child = self.next;
        self.next = self.tree.end(child);
        Some(child)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(parent: Vec<u32>) -> Result<Tree, TreeError> {
        let n = parent.len();
        Tree::from_parts(
            parent,
            (0..n)
                .map(|i| if i == 0 { String::new() } else { "div".into() })
                .collect(),
            vec![String::new(); n],
            vec![Vec::new(); n],
            (0..n as u32).collect(),
        )
    }

    /// Lists the host never sends are refused, never walked into a loop or a panic.
    #[test]
    fn malformed_lists_are_refused() {
        assert!(parts(vec![]).is_err());
        assert!(parts(vec![0, 1]).is_err(), "its own parent");
        assert!(parts(vec![0, 0, 3, 0]).is_err(), "a parent after it");
        // 0 ─ 1 ─ 2, then 3 claims 1 as its parent but 2 still covers it? No: 2 has no
        // children, so 3 under 1 is fine; 4 under 2 after 3 breaks contiguity.
        assert!(parts(vec![0, 0, 1, 1]).is_ok());
        assert!(
            parts(vec![0, 0, 1, 1, 2]).is_err(),
            "a subtree split in two"
        );
    }

    #[test]
    fn subtrees_are_ranges() {
        let t = parts(vec![0, 0, 1, 2, 1, 0]).expect("well formed");
        assert_eq!(t.end(1), 5);
        assert_eq!(t.children(1).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(t.children(0).collect::<Vec<_>>(), [1, 5]);
        assert_eq!(t.ancestors(3).collect::<Vec<_>>(), [2, 1, 0]);
    }
}
