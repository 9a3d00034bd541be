//! [`Page`]: the fetched page, owned by the host, and the batch queries over its DOM.
//!
//! The host parses the HTML once per call, natively: on the plugin's first DOM query, or
//! already before the call when the page is HTML and the plugin queried the DOM of the
//! last HTML page it was given (a plugin that reads only the body stops costing a parse).
//! Elements are [`Node`] handles into the host's document, valid for the current call.
//! Every query takes many nodes and many fields at once: a listing page of a hundred items
//! costs two boundary crossings ([`Page::select`] for the items, [`Page::read`] for all
//! their fields), not hundreds.

use std::fmt;

use crate::PluginError;
use crate::bindings::raw_page;

/// An element of the page's document, as a handle into the host's DOM.
///
/// Handles come from [`Page::select`] and are valid during the current call only.
/// [`Node::DOCUMENT`] is the document itself.
///
/// ```
/// use trawl_sdk::Node;
///
/// assert_eq!(Node::DOCUMENT.id(), 0);
/// assert_eq!(Node::from_id(7).id(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node(u32);

impl Node {
    /// The document node (handle `0`): a query on it searches the whole page.
    ///
    /// ```
    /// assert_eq!(trawl_sdk::Node::DOCUMENT, trawl_sdk::Node::default());
    /// ```
    pub const DOCUMENT: Node = Node(0);

    /// The raw handle, as the host numbers it.
    ///
    /// ```
    /// assert_eq!(trawl_sdk::Node::DOCUMENT.id(), 0);
    /// ```
    pub fn id(self) -> u32 {
        self.0
    }

    /// A node from a raw handle (handles the host never gave fail with
    /// [`QueryError::BadNode`]).
    ///
    /// ```
    /// let node = trawl_sdk::Node::from_id(3);
    /// assert_eq!(node.id(), 3);
    /// ```
    pub fn from_id(id: u32) -> Self {
        Self(id)
    }
}

impl Default for Node {
    fn default() -> Self {
        Self::DOCUMENT
    }
}

/// Where a value comes from, relative to an element.
///
/// ```
/// use trawl_sdk::Source;
///
/// let href = Source::url("href");
/// assert_eq!(href, Source::Url("href".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The element's text content, whitespace collapsed and trimmed.
    Text,
    /// The element's inner HTML.
    InnerHtml,
    /// The element's outer HTML.
    OuterHtml,
    /// The value of an attribute, as written.
    Attr(String),
    /// An attribute holding a URL (`href`, `src`), resolved against the page's URL, or
    /// against its `<base href>` when `<head>` has one.
    Url(String),
}

impl Source {
    /// [`Source::Attr`]: an attribute's value, as written.
    ///
    /// ```
    /// assert_eq!(trawl_sdk::Source::attr("class"), trawl_sdk::Source::Attr("class".into()));
    /// ```
    pub fn attr(name: impl Into<String>) -> Self {
        Self::Attr(name.into())
    }

    /// [`Source::Url`]: an attribute resolved as an absolute URL.
    ///
    /// ```
    /// assert_eq!(trawl_sdk::Source::url("src"), trawl_sdk::Source::Url("src".into()));
    /// ```
    pub fn url(name: impl Into<String>) -> Self {
        Self::Url(name.into())
    }
}

/// One value to read from each node of a [`Page::read`] call: an optional CSS selector
/// inside the node, a [`Source`], and whether to take every match or the first.
///
/// ```
/// use trawl_sdk::{Field, Source};
///
/// let title = Field::attr("title").selector("h3 a");
/// let price = Field::text().selector("p.price_color");
/// let links = Field::url("href").selector("a").all();
/// assert_eq!(title.source, Source::Attr("title".into()));
/// assert!(links.all && !price.all);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// A CSS selector evaluated inside the node; `None` means the node itself.
    pub selector: Option<String>,
    /// What to read from each matching element.
    pub source: Source,
    /// Every match (`true`) or only the first (`false`).
    pub all: bool,
}

impl Field {
    /// A field reading `source` from the node itself, first match only.
    ///
    /// ```
    /// let f = trawl_sdk::Field::new(trawl_sdk::Source::InnerHtml);
    /// assert!(f.selector.is_none() && !f.all);
    /// ```
    pub fn new(source: Source) -> Self {
        Self {
            selector: None,
            source,
            all: false,
        }
    }

    /// The text content (whitespace collapsed and trimmed).
    ///
    /// ```
    /// let f = trawl_sdk::Field::text().selector("h1");
    /// assert_eq!(f.selector.as_deref(), Some("h1"));
    /// ```
    pub fn text() -> Self {
        Self::new(Source::Text)
    }

    /// The inner HTML.
    ///
    /// ```
    /// let f = trawl_sdk::Field::inner_html().selector("div.description");
    /// assert_eq!(f.source, trawl_sdk::Source::InnerHtml);
    /// ```
    pub fn inner_html() -> Self {
        Self::new(Source::InnerHtml)
    }

    /// The outer HTML.
    ///
    /// ```
    /// let f = trawl_sdk::Field::outer_html();
    /// assert_eq!(f.source, trawl_sdk::Source::OuterHtml);
    /// ```
    pub fn outer_html() -> Self {
        Self::new(Source::OuterHtml)
    }

    /// An attribute's value, as written.
    ///
    /// ```
    /// let f = trawl_sdk::Field::attr("class").selector("p.star-rating");
    /// assert_eq!(f.source, trawl_sdk::Source::attr("class"));
    /// ```
    pub fn attr(name: impl Into<String>) -> Self {
        Self::new(Source::Attr(name.into()))
    }

    /// An attribute resolved by the host as an absolute URL against the page's URL (or its `<base href>`).
    ///
    /// ```
    /// let f = trawl_sdk::Field::url("href").selector("li.next a");
    /// assert_eq!(f.source, trawl_sdk::Source::url("href"));
    /// ```
    pub fn url(name: impl Into<String>) -> Self {
        Self::new(Source::Url(name.into()))
    }

    /// Read from the elements matching `selector` inside the node instead of the node.
    ///
    /// ```
    /// let f = trawl_sdk::Field::text().selector("p.price_color");
    /// assert_eq!(f.selector.as_deref(), Some("p.price_color"));
    /// ```
    pub fn selector(mut self, selector: impl Into<String>) -> Self {
        self.selector = Some(selector.into());
        self
    }

    /// Take every match, not only the first.
    ///
    /// ```
    /// let f = trawl_sdk::Field::text().selector("li").all();
    /// assert!(f.all);
    /// ```
    pub fn all(mut self) -> Self {
        self.all = true;
        self
    }
}

/// Why a DOM query failed.
///
/// ```
/// use trawl_sdk::{PluginError, QueryError};
///
/// let err = QueryError::BadSelector("unexpected token at 3".into());
/// assert!(matches!(PluginError::from(err), PluginError::InvalidInput(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The CSS selector does not parse; the text says where.
    BadSelector(String),
    /// A node handle that this page never returned.
    BadNode(Node),
    /// The call would exceed the host's node limit for one page.
    TooManyNodes,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSelector(m) => write!(f, "bad CSS selector: {m}"),
            Self::BadNode(n) => write!(f, "node {} does not belong to this page", n.id()),
            Self::TooManyNodes => {
                f.write_str("too many nodes: the host's node limit for one page was reached")
            }
        }
    }
}

impl std::error::Error for QueryError {}

impl From<QueryError> for PluginError {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::BadSelector(_) => PluginError::InvalidInput(err.to_string()),
            QueryError::TooManyNodes => PluginError::Unsupported(err.to_string()),
            QueryError::BadNode(_) => PluginError::Other(err.to_string()),
        }
    }
}

impl From<raw_page::QueryError> for QueryError {
    fn from(err: raw_page::QueryError) -> Self {
        match err {
            raw_page::QueryError::BadSelector(m) => Self::BadSelector(m),
            raw_page::QueryError::BadNode(n) => Self::BadNode(Node(n)),
            raw_page::QueryError::TooManyNodes => Self::TooManyNodes,
        }
    }
}

impl From<&Field> for raw_page::Field {
    fn from(field: &Field) -> Self {
        Self {
            selector: field.selector.clone(),
            source: match &field.source {
                Source::Text => raw_page::Source::Text,
                Source::InnerHtml => raw_page::Source::InnerHtml,
                Source::OuterHtml => raw_page::Source::OuterHtml,
                Source::Attr(a) => raw_page::Source::Attr(a.clone()),
                Source::Url(a) => raw_page::Source::Url(a.clone()),
            },
            all: field.all,
        }
    }
}

/// What a [`Page::read`] call found: one row per node, one cell per field, each cell the
/// values found (empty when nothing matched; at most one unless the field is `all`).
///
/// [`Table::new`] builds one by hand, so the code that turns rows into items can be tested
/// natively, without a host.
///
/// ```
/// use trawl_sdk::{Node, Table};
///
/// let table = Table::new(
///     vec![Node::from_id(4), Node::from_id(9)],
///     vec![
///         vec![vec!["A Light in the Attic".into()], vec!["£51.77".into()]],
///         vec![vec!["Tipping the Velvet".into()], vec![]],
///     ],
/// );
/// assert_eq!(table.len(), 2);
/// assert_eq!(table.first(0, 1), Some("£51.77"));
/// assert_eq!(table.first(1, 1), None);
/// let titles: Vec<_> = table.rows().filter_map(|row| row.first(0)).collect();
/// assert_eq!(titles, ["A Light in the Attic", "Tipping the Velvet"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    nodes: Vec<Node>,
    cells: Vec<Vec<Vec<String>>>,
}

impl Table {
    /// A table from the nodes that were read and, per node, per field, the values.
    ///
    /// Rows beyond the nodes given (or nodes beyond the rows) read as empty.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![trawl_sdk::Node::DOCUMENT], vec![vec![vec!["x".into()]]]);
    /// assert_eq!(table.get(0, 0), ["x"]);
    /// ```
    pub fn new(nodes: Vec<Node>, cells: Vec<Vec<Vec<String>>>) -> Self {
        Self { nodes, cells }
    }

    /// How many nodes were read.
    ///
    /// ```
    /// assert_eq!(trawl_sdk::Table::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.nodes.len().max(self.cells.len())
    }

    /// Whether no node was read.
    ///
    /// ```
    /// assert!(trawl_sdk::Table::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nodes that were read, in the order of the rows.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![trawl_sdk::Node::from_id(2)], vec![]);
    /// assert_eq!(table.nodes(), [trawl_sdk::Node::from_id(2)]);
    /// ```
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every value of field `field` for node number `row` (empty if none, or out of range).
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![vec!["a".into(), "b".into()]]]);
    /// assert_eq!(table.get(0, 0), ["a", "b"]);
    /// assert!(table.get(5, 0).is_empty());
    /// ```
    pub fn get(&self, row: usize, field: usize) -> &[String] {
        self.cells
            .get(row)
            .and_then(|r| r.get(field))
            .map_or(&[], Vec::as_slice)
    }

    /// The first value of field `field` for node number `row`.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![vec!["a".into(), "b".into()]]]);
    /// assert_eq!(table.first(0, 0), Some("a"));
    /// ```
    pub fn first(&self, row: usize, field: usize) -> Option<&str> {
        self.get(row, field).first().map(String::as_str)
    }

    /// One row.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![vec!["a".into()]]]);
    /// assert_eq!(table.row(0).first(0), Some("a"));
    /// ```
    pub fn row(&self, row: usize) -> Row<'_> {
        Row { table: self, row }
    }

    /// The rows, in order.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![], vec![]]);
    /// assert_eq!(table.rows().count(), 2);
    /// ```
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> {
        (0..self.len()).map(|row| Row { table: self, row })
    }
}

/// One node's values in a [`Table`].
///
/// ```
/// let table = trawl_sdk::Table::new(
///     vec![trawl_sdk::Node::from_id(5)],
///     vec![vec![vec!["t".into()], vec!["x".into(), "y".into()]]],
/// );
/// let row = table.row(0);
/// assert_eq!(row.node(), Some(trawl_sdk::Node::from_id(5)));
/// assert_eq!(row.first(0), Some("t"));
/// assert_eq!(row.get(1), ["x", "y"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    row: usize,
}

impl<'a> Row<'a> {
    /// The node this row was read from.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![trawl_sdk::Node::from_id(1)], vec![vec![]]);
    /// assert_eq!(table.row(0).node(), Some(trawl_sdk::Node::from_id(1)));
    /// ```
    pub fn node(&self) -> Option<Node> {
        self.table.nodes.get(self.row).copied()
    }

    /// The row's position in its table.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![], vec![]]);
    /// assert_eq!(table.row(1).index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.row
    }

    /// Every value of field number `field`.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![vec!["a".into()]]]);
    /// assert_eq!(table.row(0).get(0), ["a"]);
    /// ```
    pub fn get(&self, field: usize) -> &'a [String] {
        self.table.get(self.row, field)
    }

    /// The first value of field number `field`.
    ///
    /// ```
    /// let table = trawl_sdk::Table::new(vec![], vec![vec![vec![]]]);
    /// assert_eq!(table.row(0).first(0), None);
    /// ```
    pub fn first(&self, field: usize) -> Option<&'a str> {
        self.table.first(self.row, field)
    }
}

/// The two batch queries of a page's DOM, as a trait: [`Page`] implements it, and a
/// test can implement it with canned answers to run a plugin's extraction natively.
///
/// ```
/// use trawl_sdk::{Dom, Field, Node, QueryError, Table};
///
/// /// A page with two books, answering only the queries the test makes.
/// struct TwoBooks;
///
/// impl Dom for TwoBooks {
///     fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
///         assert_eq!(selector, "article.product_pod");
///         Ok(scopes.iter().map(|_| vec![Node::from_id(1), Node::from_id(2)]).collect())
///     }
///     fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError> {
///         let cells = nodes
///             .iter()
///             .map(|n| fields.iter().map(|_| vec![format!("book {}", n.id())]).collect())
///             .collect();
///         Ok(Table::new(nodes.to_vec(), cells))
///     }
/// }
///
/// fn titles(dom: &impl Dom) -> Result<Vec<String>, QueryError> {
///     let books = dom.select_in(&[Node::DOCUMENT], "article.product_pod")?.concat();
///     let table = dom.read(&books, &[Field::attr("title").selector("h3 a")])?;
///     Ok(table.rows().filter_map(|r| r.first(0)).map(String::from).collect())
/// }
///
/// assert_eq!(titles(&TwoBooks)?, ["book 1", "book 2"]);
/// # Ok::<(), QueryError>(())
/// ```
pub trait Dom {
    /// For each scope node, the elements matching `selector` inside it, in document order.
    ///
    /// ```no_run
    /// # fn f(dom: &impl trawl_sdk::Dom) -> Result<(), trawl_sdk::QueryError> {
    /// let rows = dom.select_in(&[trawl_sdk::Node::DOCUMENT], "table tr")?;
    /// # Ok(()) }
    /// ```
    fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError>;

    /// For each node, for each field, the values found.
    ///
    /// ```no_run
    /// # fn f(dom: &impl trawl_sdk::Dom) -> Result<(), trawl_sdk::QueryError> {
    /// use trawl_sdk::{Field, Node};
    /// let table = dom.read(&[Node::DOCUMENT], &[Field::text().selector("h1")])?;
    /// # Ok(()) }
    /// ```
    fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError>;
}

impl Dom for Page<'_> {
    fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
        Page::select_in(self, scopes, selector)
    }

    fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError> {
        Page::read(self, nodes, fields)
    }
}

/// The fetched page, owned by the host.
///
/// A `Page` exists only inside a call from the host: on a native target its methods panic.
/// Plugins are tested natively by keeping the logic that turns [`Table`]s into items apart
/// from the calls that fetch them.
///
/// ```no_run
/// use trawl_sdk::prelude::*;
///
/// fn titles(page: &Page) -> Result<Vec<String>, PluginError> {
///     // Two boundary crossings, however many books the page lists.
///     let table = page.select_read("article.product_pod", &[Field::attr("title").selector("h3 a")])?;
///     Ok(table.rows().filter_map(|row| row.first(0)).map(String::from).collect())
/// }
/// ```
pub struct Page<'a> {
    raw: &'a raw_page::Page,
}

impl fmt::Debug for Page<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page").finish_non_exhaustive()
    }
}

impl<'a> Page<'a> {
    pub(crate) fn from_raw(raw: &'a raw_page::Page) -> Self {
        Self { raw }
    }

    /// The final URL, after redirects.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) {
    /// let url = page.url();
    /// trawl_sdk::log::debug!("extracting {url}");
    /// # }
    /// ```
    pub fn url(&self) -> String {
        self.raw.url()
    }

    /// The HTTP status code.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::PluginError> {
    /// if page.status() == 404 {
    ///     return Err(trawl_sdk::PluginError::unsupported("page not found"));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> u16 {
        self.raw.status()
    }

    /// Response headers, names lower-case, in the order received.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) {
    /// for (name, value) in page.headers() {
    ///     trawl_sdk::log::trace!("{name}: {value}");
    /// }
    /// # }
    /// ```
    pub fn headers(&self) -> Vec<(String, String)> {
        self.raw.headers()
    }

    /// The first header named `name` (compared case-insensitively).
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) {
    /// let is_json = page.header("Content-Type").is_some_and(|v| v.contains("json"));
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<String> {
        self.raw
            .headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The response body decoded to text. Copies the whole page into the plugin: prefer
    /// the DOM queries for HTML.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::PluginError> {
    /// let data: trawl_sdk::serde_json::Value = trawl_sdk::serde_json::from_str(&page.body())
    ///     .map_err(|e| trawl_sdk::PluginError::unsupported(format!("not JSON: {e}")))?;
    /// # Ok(()) }
    /// ```
    pub fn body(&self) -> String {
        self.raw.body()
    }

    /// The whole document as one [`Tree`](crate::Tree), in one boundary crossing: every
    /// element (with its [`Node`] handle) and text node, in document order. Meant for
    /// extractors that look at the whole page; a plugin that needs a few values reads them
    /// with [`Page::select_read`] at a fraction of the cost.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::PluginError> {
    /// let tree = page.tree()?;
    /// let headings = (0..tree.len()).filter(|&i| tree.tag(i) == "h2").count();
    /// # Ok(()) }
    /// ```
    pub fn tree(&self) -> Result<crate::Tree, crate::PluginError> {
        let raw = self.raw.tree().map_err(QueryError::from)?;
        Ok(crate::Tree::from_parts(
            raw.parent,
            raw.tag,
            raw.text,
            raw.attributes,
            raw.node,
        )?)
    }

    /// The elements matching `selector` in the whole document, in document order.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// let books = page.select("article.product_pod")?;
    /// trawl_sdk::log::info!("{} books", books.len());
    /// # Ok(()) }
    /// ```
    pub fn select(&self, selector: &str) -> Result<Vec<Node>, QueryError> {
        let mut found = self.select_in(&[Node::DOCUMENT], selector)?;
        Ok(found.pop().unwrap_or_default())
    }

    /// For each scope node, the elements matching `selector` inside it, in document order:
    /// one boundary crossing for all the scopes. Empty `scopes` cost nothing.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// let tables = page.select("table.table-striped")?;
    /// let rows_per_table = page.select_in(&tables, "tr")?;
    /// assert_eq!(rows_per_table.len(), tables.len());
    /// # Ok(()) }
    /// ```
    pub fn select_in(&self, scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
        if scopes.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<u32> = scopes.iter().map(|n| n.0).collect();
        let found = self.raw.select(&ids, selector)?;
        Ok(found
            .into_iter()
            .map(|ns| ns.into_iter().map(Node).collect())
            .collect())
    }

    /// For each node, for each field, the values found: one boundary crossing for every
    /// node and field. Empty `nodes` cost nothing.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// use trawl_sdk::Field;
    /// let books = page.select("article.product_pod")?;
    /// let table = page.read(&books, &[
    ///     Field::attr("title").selector("h3 a"),
    ///     Field::text().selector("p.price_color"),
    /// ])?;
    /// for row in table.rows() {
    ///     let (title, price) = (row.first(0), row.first(1));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn read(&self, nodes: &[Node], fields: &[Field]) -> Result<Table, QueryError> {
        if nodes.is_empty() {
            return Ok(Table::default());
        }
        let ids: Vec<u32> = nodes.iter().map(|n| n.0).collect();
        let raw_fields: Vec<raw_page::Field> = fields.iter().map(raw_page::Field::from).collect();
        let cells = self.raw.read(&ids, &raw_fields)?;
        Ok(Table::new(nodes.to_vec(), cells))
    }

    /// [`select`](Self::select) then [`read`](Self::read): every element matching
    /// `selector`, and `fields` read from each, in two boundary crossings.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// use trawl_sdk::Field;
    /// let table = page.select_read("article.product_pod", &[
    ///     Field::attr("title").selector("h3 a"),
    ///     Field::url("href").selector("h3 a"),
    /// ])?;
    /// # Ok(()) }
    /// ```
    pub fn select_read(&self, selector: &str, fields: &[Field]) -> Result<Table, QueryError> {
        let nodes = self.select(selector)?;
        self.read(&nodes, fields)
    }

    /// Fields read from the document node: one boundary crossing for all of them.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// use trawl_sdk::Field;
    /// let values = page.read_document(&[
    ///     Field::text().selector("div.product_main h1"),
    ///     Field::text().selector("p.instock.availability"),
    /// ])?;
    /// let title = values[0].first();
    /// # Ok(()) }
    /// ```
    pub fn read_document(&self, fields: &[Field]) -> Result<Vec<Vec<String>>, QueryError> {
        let mut table = self.read(&[Node::DOCUMENT], fields)?;
        Ok(table.cells.pop().unwrap_or_default())
    }

    /// The text of the first element matching `selector` in the document.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// let title = page.text("div.product_main h1")?;
    /// # Ok(()) }
    /// ```
    pub fn text(&self, selector: &str) -> Result<Option<String>, QueryError> {
        let mut values = self.read_document(&[Field::text().selector(selector)])?;
        Ok(values.pop().and_then(|v| v.into_iter().next()))
    }

    /// The text of every element matching `selector` in the document.
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// let crumbs = page.texts("ul.breadcrumb li")?;
    /// # Ok(()) }
    /// ```
    pub fn texts(&self, selector: &str) -> Result<Vec<String>, QueryError> {
        let mut values = self.read_document(&[Field::text().selector(selector).all()])?;
        Ok(values.pop().unwrap_or_default())
    }

    /// The absolute URLs in attribute `attr` of every element matching `selector`
    /// (for example the `href` of pagination links).
    ///
    /// ```no_run
    /// # fn f(page: &trawl_sdk::Page) -> Result<(), trawl_sdk::QueryError> {
    /// let next = page.urls("li.next a", "href")?;
    /// let extraction = trawl_sdk::Extraction::new().with_follow(next);
    /// # Ok(()) }
    /// ```
    pub fn urls(&self, selector: &str, attr: &str) -> Result<Vec<String>, QueryError> {
        let mut values = self.read_document(&[Field::url(attr).selector(selector).all()])?;
        Ok(values.pop().unwrap_or_default())
    }
}
