//! What the bundled plugins' native tests share (each includes this file by `#[path]`):
//! a [`Dom`] that answers the plugin's queries with the host's own DOM ([`trawl_dom`]),
//! and the page's [`Tree`] as the host's `page.tree` builds it, for native tests of the
//! whole extraction.
#![allow(dead_code)]

use std::cell::RefCell;

use trawl_dom::{Deadline, Document, DomError, Limits};
use trawl_sdk::{Dom, Field, Node, QueryError, Source, Table, Tree};

pub struct ScraperDom {
    doc: RefCell<Document>,
    limits: Limits,
    /// Calls made so far.
    pub calls: RefCell<usize>,
}

impl ScraperDom {
    pub fn new(url: &str, body: &str) -> Self {
        let limits = Limits::default();
        Self {
            doc: RefCell::new(
                Document::parse(body, url, &limits, &Deadline::NONE).expect("a test page parses"),
            ),
            limits,
            calls: RefCell::new(0),
        }
    }
}

fn query_error(e: DomError) -> QueryError {
    match e {
        DomError::BadSelector(message) => QueryError::BadSelector(message),
        DomError::BadNode(node) => QueryError::BadNode(Node::from_id(node)),
        // The host stops the call here; a test sees it as the WIT's own variant.
        _ => QueryError::TooManyNodes,
    }
}

fn field(f: &Field) -> trawl_dom::Field {
    trawl_dom::Field {
        selector: f.selector.clone(),
        source: match &f.source {
            Source::Text => trawl_dom::Source::Text,
            Source::InnerHtml => trawl_dom::Source::InnerHtml,
            Source::OuterHtml => trawl_dom::Source::OuterHtml,
            Source::Attr(name) => trawl_dom::Source::Attr(name.clone()),
            Source::Url(name) => trawl_dom::Source::Url(name.clone()),
        },
        all: f.all,
    }
}

impl Dom for ScraperDom {
    fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
        *self.calls.borrow_mut() += 1;
        let scopes: Vec<u32> = scopes.iter().map(|n| n.id()).collect();
        let found = self
            .doc
            .borrow_mut()
            .select(&scopes, selector, &self.limits, &Deadline::NONE)
            .map_err(query_error)?;
        Ok(found
            .into_iter()
            .map(|nodes| nodes.into_iter().map(Node::from_id).collect())
            .collect())
    }

    fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError> {
        *self.calls.borrow_mut() += 1;
        let handles: Vec<u32> = nodes.iter().map(|n| n.id()).collect();
        let fields: Vec<trawl_dom::Field> = fields.iter().map(field).collect();
        let cells = self
            .doc
            .borrow()
            .read(&handles, &fields, &self.limits, &Deadline::NONE)
            .map_err(query_error)?;
        Ok(Table::new(nodes.to_vec(), cells))
    }
}

/// The page's flat tree, as the host's `page.tree` answers it.
pub fn tree_of(html: &str, url: &str) -> Tree {
    let limits = Limits::default();
    let mut doc = Document::parse(html, url, &limits, &Deadline::NONE).expect("a test page parses");
    let f = doc.tree(&limits, &Deadline::NONE).expect("a tree");
    Tree::from_parts(f.parent, f.tag, f.text, f.attributes, f.node).expect("well formed")
}

/// A DOM for a schema without hints: nothing it is asked matches.
pub struct NoDom;

impl Dom for NoDom {
    fn select_in(&self, scopes: &[Node], _: &str) -> Result<Vec<Vec<Node>>, QueryError> {
        Ok(vec![Vec::new(); scopes.len()])
    }

    fn read(&self, nodes: &[Node], _: &[Field]) -> Result<Table, QueryError> {
        Ok(Table::new(nodes.to_vec(), vec![Vec::new(); nodes.len()]))
    }
}
