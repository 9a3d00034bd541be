//! A [`Dom`] over the `scraper` crate that answers the plugin's queries the way the host
//! does (`host/src/runtime/page.rs`), for native tests of the whole extraction.

use std::cell::RefCell;

use scraper::{ElementRef, Html, Selector};
use trawl_sdk::{Dom, Field, Node, QueryError, Source, Table};

pub struct ScraperDom {
    html: Html,
    base: url::Url,
    /// Handle → element; handle 0 is the document.
    nodes: RefCell<Vec<Option<ego_tree::NodeId>>>,
    /// Calls made so far.
    pub calls: RefCell<usize>,
}

impl ScraperDom {
    pub fn new(url: &str, body: &str) -> Self {
        Self {
            html: Html::parse_document(body),
            base: url::Url::parse(url).expect("a page URL"),
            nodes: RefCell::new(vec![None]),
            calls: RefCell::new(0),
        }
    }

    fn element(&self, node: Node) -> Result<Option<ElementRef<'_>>, QueryError> {
        let nodes = self.nodes.borrow();
        match nodes.get(node.id() as usize) {
            None => Err(QueryError::BadNode(node)),
            Some(None) => Ok(None),
            Some(Some(id)) => Ok(self.html.tree.get(*id).and_then(ElementRef::wrap)),
        }
    }

    fn matches(&self, scope: Option<ElementRef<'_>>, selector: &Selector) -> Vec<ego_tree::NodeId> {
        match scope {
            Some(el) => el.select(selector).map(|e| e.id()).collect(),
            None => self.html.select(selector).map(|e| e.id()).collect(),
        }
    }
}

fn parse(selector: &str) -> Result<Selector, QueryError> {
    Selector::parse(selector).map_err(|e| QueryError::BadSelector(format!("{selector}: {e}")))
}

fn value(el: ElementRef<'_>, source: &Source, base: &url::Url) -> Option<String> {
    match source {
        Source::Text => Some(
            el.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Source::InnerHtml => Some(el.inner_html()),
        Source::OuterHtml => Some(el.html()),
        Source::Attr(name) => el.attr(name).map(str::to_owned),
        Source::Url(name) => base.join(el.attr(name)?.trim()).ok().map(String::from),
    }
}

impl Dom for ScraperDom {
    fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
        *self.calls.borrow_mut() += 1;
        let selector = parse(selector)?;
        let mut out = Vec::new();
        for scope in scopes {
            let found = self.matches(self.element(*scope)?, &selector);
            let mut nodes = self.nodes.borrow_mut();
            let handles = found
                .into_iter()
                .map(|id| {
                    nodes.push(Some(id));
                    Node::from_id(nodes.len() as u32 - 1)
                })
                .collect();
            out.push(handles);
        }
        Ok(out)
    }

    fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError> {
        *self.calls.borrow_mut() += 1;
        let mut cells = Vec::new();
        for node in nodes {
            let scope = self.element(*node)?;
            let mut row = Vec::new();
            for field in fields {
                let mut values = Vec::new();
                match &field.selector {
                    None => {
                        let target = scope.unwrap_or_else(|| self.html.root_element());
                        values.extend(value(target, &field.source, &self.base));
                    }
                    Some(selector) => {
                        let selector = parse(selector)?;
                        for id in self.matches(scope, &selector) {
                            let el = self.html.tree.get(id).and_then(ElementRef::wrap);
                            if let Some(v) = el.and_then(|el| value(el, &field.source, &self.base))
                            {
                                values.push(v);
                                if !field.all {
                                    break;
                                }
                            }
                        }
                    }
                }
                row.push(values);
            }
            cells.push(row);
        }
        Ok(Table::new(nodes.to_vec(), cells))
    }
}
