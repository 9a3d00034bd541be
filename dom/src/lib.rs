//! The page a trawl plugin queries: parsed once by html5ever, queried by CSS selectors.
//!
//! The host answers a plugin's `page` queries with this crate, and plugins' native tests
//! use it to answer the same queries the same way, so there is one set of rules for what
//! a selector matches and what a value reads.
//!
//! Everything here is work done on a plugin's or a page's behalf, so it is bounded like
//! the plugin itself ([`Limits`]): a parse stops at a node count, a query at a number of
//! nodes and fields, an answer at a size counted before each value is built, and all of
//! them at the call's deadline, checked as they go through a [`Clock`].
//!
//! # Layout
//! - [`Document`]: parsing, handles, [`Document::select`], [`Document::read`], [`Document::urls`].
//! - [`Limits`], [`Clock`] (and the plain [`Deadline`]), [`DomError`]: the bounds and what
//!   tripping one says.
//! - `text`, `serial`: an element's text and its HTML, under a byte budget.
//! - `selector`: CSS selectors, parsed once per thread, matched with caches per query.
//! - `tree`: the whole document as one [`FlatTree`] ([`Document::tree`]), for plugins that
//!   read a page's structure as a whole.
//! - [`sanitize`]: the page made safe to show in the console's frame; [`picker`]: element
//!   paths, and selectors checked or proposed from example clicks (the schema builder's).

pub mod picker;
pub mod sanitize;
mod selector;
mod serial;
mod text;
mod tree;

use std::time::Instant;

use ego_tree::NodeId;
use html5ever::tendril::TendrilSink;
use scraper::{ElementRef, Html, HtmlTreeSink};

pub use selector::parse as parse_selector;
pub use tree::FlatTree;

/// Where a value comes from, relative to an element (the WIT `source`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The element's text: whitespace collapsed to single spaces and trimmed, with a space
    /// where a block-level element or `<br>` separates words.
    Text,
    /// The element's inner HTML.
    InnerHtml,
    /// The element's outer HTML.
    OuterHtml,
    /// An attribute's value, as written.
    Attr(String),
    /// An attribute holding a URL, resolved against the page's base URL.
    Url(String),
}

/// One value to read from each node of a [`Document::read`] (the WIT `field`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// A CSS selector evaluated inside the node; `None` reads the node itself (the
    /// document's root element for the document).
    pub selector: Option<String>,
    /// What to read from each element.
    pub source: Source,
    /// Every match (`true`) or the first that has a value (`false`).
    pub all: bool,
}

/// The bounds of the work done for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Nodes (elements, text, comments) a parsed page may hold: the DOM's memory.
    pub max_dom_nodes: usize,
    /// How deep a parsed page may nest its elements. The tree builder's work for each tag
    /// grows with the depth of the elements open around it, so a page of 15,000 nested
    /// `<div>`s (165 KB) costs seconds to parse; real pages stay under a hundred levels.
    pub max_depth: usize,
    /// Node handles one document may hand out during a call.
    pub max_handles: usize,
    /// Nodes one query may name (scopes of a `select`, nodes of a `read`).
    pub max_query_nodes: usize,
    /// Fields one `read` may name.
    pub max_fields: usize,
    /// Bytes one answer may take: its values plus the bookkeeping of every cell.
    pub max_answer_bytes: usize,
    /// Characters of one CSS selector.
    pub max_selector_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_dom_nodes: 500_000,
            max_depth: 1_024,
            max_handles: 1_000_000,
            max_query_nodes: 100_000,
            max_fields: 1_000,
            max_answer_bytes: 32 << 20,
            max_selector_len: 4_096,
        }
    }
}

/// What the work looks at as it goes: whether it may go on. The host's clock also
/// shares the CPU between owners here (a call over its owner's share waits its turn).
pub trait Clock {
    /// `Err(DomError::Deadline)` once the call's time is up.
    fn check(&self) -> Result<(), DomError>;
}

/// A plain deadline (`NONE`: never, for tests and tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline.
    pub const NONE: Deadline = Deadline(None);

    /// Work must stop at `at`.
    pub fn at(at: Instant) -> Self {
        Self(Some(at))
    }

    /// Whether the time is up.
    pub fn passed(self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }
}

impl Clock for Deadline {
    fn check(&self) -> Result<(), DomError> {
        if self.passed() {
            Err(DomError::Deadline)
        } else {
            Ok(())
        }
    }
}

/// Counts steps of work and looks at the clock every [`Meter::EVERY`] of them.
pub(crate) struct Meter<'c> {
    clock: &'c dyn Clock,
    steps: u32,
}

impl<'c> Meter<'c> {
    /// Steps between looks at the clock: a step is a node visited or a chunk written,
    /// tens of nanoseconds each, and a look costs about as much as one.
    const EVERY: u32 = 64;

    pub(crate) fn new(clock: &'c dyn Clock) -> Self {
        Self { clock, steps: 0 }
    }

    pub(crate) fn tick(&mut self) -> Result<(), DomError> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(Self::EVERY) {
            self.clock.check()?;
        }
        Ok(())
    }
}

/// Why a query (or the parse behind it) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomError {
    /// The CSS selector does not parse.
    #[error("bad CSS selector {0}")]
    BadSelector(String),
    /// A node handle this document never gave.
    #[error("node {0} was never handed out")]
    BadNode(u32),
    /// The query asks for more than one call may have (nodes, fields, answer size).
    #[error("{0}")]
    Limit(String),
    /// The call's deadline passed while the work was being done.
    #[error("the call's time ran out during a DOM query")]
    Deadline,
    /// The page is too large to build a DOM for.
    #[error("{0}")]
    PageTooComplex(String),
    /// The picker's examples name no element, or no selector can tell them from the
    /// rejected ones ([`picker::propose`]).
    #[error("{0}")]
    NoSelector(String),
}

/// Bytes an answer may still take. Every value is charged before it is built, and every
/// cell for the vector that holds it, so no answer outgrows [`Limits::max_answer_bytes`].
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    fn new(limit: usize) -> Self {
        Self { left: limit, limit }
    }

    pub(crate) fn left(&self) -> usize {
        self.left
    }

    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), DomError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(self.exceeded()),
        }
    }

    pub(crate) fn exceeded(&self) -> DomError {
        DomError::Limit(format!(
            "a DOM query's answer would exceed {} bytes",
            self.limit
        ))
    }
}

/// Bytes a cell costs besides its text: the `String` (or `Vec`) that holds it.
const CELL: usize = std::mem::size_of::<String>();

/// A parsed page and the node handles handed out for it.
pub struct Document {
    html: Html,
    /// What relative URLs resolve against: the page's URL, or its `<base href>`.
    base: Option<url::Url>,
    /// Handle → node; handle 0 is the document.
    handles: Vec<NodeId>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("nodes", &self.html.tree.nodes().len())
            .field("handles", &self.handles.len())
            .finish_non_exhaustive()
    }
}

/// Pages up to this size are parsed in one step: their parse is bounded by their size
/// (64 KiB of the worst shape, nested divs, parses in 0.65 s on a slow two-core machine), and
/// the tree builder runs faster from the crate that defines its sink (about 4 % on real
/// pages) than from this one. Larger pages are parsed in chunks under the limits.
const ONE_STEP: usize = 64 << 10;

/// Bytes of HTML fed to the parser at once. Between chunks the parse looks at the node
/// count and the clock, so a page that would build too many nodes, or that drives the
/// tree builder into its slow paths (deep nesting makes some steps linear in the depth),
/// stops within one chunk's work.
const PARSE_CHUNK: usize = 4 << 10;

impl Document {
    /// Parse `body` as the HTML document at `page_url`, failing with
    /// [`DomError::PageTooComplex`] past `limits.max_dom_nodes` nodes, and with
    /// [`DomError::Deadline`] at the deadline. A page larger than 64 KiB is parsed in
    /// chunks, and stops as soon as it passes a limit, `limits.max_depth` levels of
    /// nesting included: the depth is that of the newest node, looked at after each
    /// chunk (a chunk can open at most a few hundred elements more).
    pub fn parse(
        body: &str,
        page_url: &str,
        limits: &Limits,
        clock: &dyn Clock,
    ) -> Result<Self, DomError> {
        if body.len() <= ONE_STEP {
            let html = Html::parse_document(body);
            if html.tree.nodes().len() > limits.max_dom_nodes {
                return Err(DomError::PageTooComplex(format!(
                    "the page has more than {} HTML nodes",
                    limits.max_dom_nodes
                )));
            }
            clock.check()?;
            return Ok(Self::of(html, page_url));
        }
        let mut parser = html5ever::driver::parse_document(
            HtmlTreeSink::new(Html::new_document()),
            Default::default(),
        );
        let mut rest = body;
        while !rest.is_empty() {
            let mut end = rest.len().min(PARSE_CHUNK);
            while !rest.is_char_boundary(end) {
                end += 1;
            }
            let (chunk, tail) = rest.split_at(end);
            rest = tail;
            parser.process(chunk.into());
            {
                let html = parser.tokenizer.sink.sink.0.borrow();
                let mut nodes = html.tree.nodes();
                if nodes.len() > limits.max_dom_nodes {
                    return Err(DomError::PageTooComplex(format!(
                        "the page has more than {} HTML nodes",
                        limits.max_dom_nodes
                    )));
                }
                let depth = nodes
                    .next_back()
                    .map_or(0, |newest| newest.ancestors().count());
                if depth > limits.max_depth {
                    return Err(DomError::PageTooComplex(format!(
                        "the page nests elements more than {} deep",
                        limits.max_depth
                    )));
                }
            }
            clock.check()?;
        }
        Ok(Self::of(parser.finish(), page_url))
    }

    fn of(html: Html, page_url: &str) -> Self {
        let page = url::Url::parse(page_url).ok();
        let base = document_base(&html, page.as_ref()).or(page);
        let handles = vec![html.tree.root().id()];
        Self {
            html,
            base,
            handles,
        }
    }

    /// The parsed tree.
    pub fn html(&self) -> &Html {
        &self.html
    }

    /// What relative URLs resolve against.
    pub fn base(&self) -> Option<&url::Url> {
        self.base.as_ref()
    }

    /// Handles handed out so far, the document's included.
    pub fn handles(&self) -> usize {
        self.handles.len()
    }

    /// The element behind a handle: `Ok(None)` for the document (handle 0).
    fn element(&self, handle: u32) -> Result<Option<ElementRef<'_>>, DomError> {
        let id = *self
            .handles
            .get(handle as usize)
            .ok_or(DomError::BadNode(handle))?;
        if handle == 0 {
            return Ok(None);
        }
        let node = self.html.tree.get(id).ok_or(DomError::BadNode(handle))?;
        ElementRef::wrap(node)
            .map(Some)
            .ok_or(DomError::BadNode(handle))
    }

    /// For each scope (none: the document), the elements matching `selector` inside it,
    /// in document order, as new handles.
    pub fn select(
        &mut self,
        scopes: &[u32],
        selector: &str,
        limits: &Limits,
        clock: &dyn Clock,
    ) -> Result<Vec<Vec<u32>>, DomError> {
        if scopes.len() > limits.max_query_nodes {
            return Err(DomError::Limit(format!(
                "{} scope nodes in one select (limit {})",
                scopes.len(),
                limits.max_query_nodes
            )));
        }
        let selector = selector::parse(selector, limits)?;
        let mut meter = Meter::new(clock);
        let scopes: &[u32] = if scopes.is_empty() { &[0] } else { scopes };
        let mut out = Vec::with_capacity(scopes.len());
        let mut found = Vec::new();
        for &scope in scopes {
            let scope = self.element(scope)?;
            found.clear();
            let mut matcher = selector::Matcher::new(&selector, scope);
            for el in descendants(&self.html, scope) {
                meter.tick()?;
                if matcher.matches(&el) {
                    if self.handles.len() + found.len() >= limits.max_handles {
                        return Err(DomError::Limit(format!(
                            "more than {} DOM nodes handed out for one page",
                            limits.max_handles
                        )));
                    }
                    found.push(el.id());
                }
            }
            let first = self.handles.len() as u32;
            self.handles.extend_from_slice(&found);
            out.push((first..first + found.len() as u32).collect());
        }
        Ok(out)
    }

    /// For each node, for each field, the values found (empty when nothing matched).
    pub fn read(
        &self,
        nodes: &[u32],
        fields: &[Field],
        limits: &Limits,
        clock: &dyn Clock,
    ) -> Result<Vec<Vec<Vec<String>>>, DomError> {
        if nodes.len() > limits.max_query_nodes {
            return Err(DomError::Limit(format!(
                "{} nodes in one read (limit {})",
                nodes.len(),
                limits.max_query_nodes
            )));
        }
        if fields.len() > limits.max_fields {
            return Err(DomError::Limit(format!(
                "{} fields in one read (limit {})",
                fields.len(),
                limits.max_fields
            )));
        }
        let mut budget = Budget::new(limits.max_answer_bytes);
        // The answer's skeleton, before any of it is allocated: a row per node, a cell per
        // field of each row.
        let cells = nodes
            .len()
            .checked_mul(fields.len())
            .and_then(|c| c.checked_mul(CELL))
            .ok_or_else(|| budget.exceeded())?;
        budget.charge(cells)?;
        budget.charge(nodes.len().saturating_mul(CELL))?;
        // Each distinct selector is parsed once for the whole read.
        let mut selectors: Vec<(&str, selector::Parsed)> = Vec::new();
        let mut field_selector = Vec::with_capacity(fields.len());
        for field in fields {
            let Some(text) = field.selector.as_deref() else {
                field_selector.push(None);
                continue;
            };
            let index = match selectors.iter().position(|(t, _)| *t == text) {
                Some(index) => index,
                None => {
                    selectors.push((text, selector::parse(text, limits)?));
                    selectors.len() - 1
                }
            };
            field_selector.push(Some(index));
        }
        let mut meter = Meter::new(clock);
        let mut reader = Reader {
            base: self.base.as_ref(),
            budget: &mut budget,
            meter: &mut meter,
        };
        let mut out = Vec::with_capacity(nodes.len());
        for &node in nodes {
            let scope = self.element(node)?;
            // The first match of each selector, found once per node for the fields that
            // read from it: `Some(None)` when it has none.
            let mut firsts: Vec<Option<Option<ElementRef<'_>>>> = vec![None; selectors.len()];
            let mut row = Vec::with_capacity(fields.len());
            for (field, selector) in fields.iter().zip(&field_selector) {
                reader.meter.tick()?;
                let mut values = Vec::new();
                match selector {
                    None => {
                        let target = scope.unwrap_or_else(|| self.html.root_element());
                        if let Some(v) = reader.value(target, &field.source)? {
                            values.push(v);
                        }
                    }
                    Some(index) => {
                        let parsed = &selectors[*index].1;
                        let mut skip_first = false;
                        if !field.all {
                            let first = match firsts[*index] {
                                Some(first) => first,
                                None => {
                                    let first = self.first_match(parsed, scope, reader.meter)?;
                                    firsts[*index] = Some(first);
                                    first
                                }
                            };
                            let Some(first) = first else {
                                row.push(values);
                                continue;
                            };
                            if let Some(v) = reader.value(first, &field.source)? {
                                values.push(v);
                                row.push(values);
                                continue;
                            }
                            skip_first = true;
                        }
                        let mut matcher = selector::Matcher::new(parsed, scope);
                        for el in descendants(&self.html, scope) {
                            reader.meter.tick()?;
                            if !matcher.matches(&el) {
                                continue;
                            }
                            if skip_first {
                                skip_first = false;
                                continue;
                            }
                            if let Some(v) = reader.value(el, &field.source)? {
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
            out.push(row);
        }
        Ok(out)
    }

    fn first_match<'a>(
        &'a self,
        selector: &selector::Parsed,
        scope: Option<ElementRef<'a>>,
        meter: &mut Meter<'_>,
    ) -> Result<Option<ElementRef<'a>>, DomError> {
        let mut matcher = selector::Matcher::new(selector, scope);
        for el in descendants(&self.html, scope) {
            meter.tick()?;
            if matcher.matches(&el) {
                return Ok(Some(el));
            }
        }
        Ok(None)
    }

    /// The absolute URLs in the `attr` attributes of the elements matching `selector`
    /// (pagination and link-following), at most `limits.max_query_nodes` of them.
    pub fn urls(
        &self,
        selector: &str,
        attr: &str,
        limits: &Limits,
        clock: &dyn Clock,
    ) -> Result<Vec<String>, DomError> {
        let parsed = selector::parse(selector, limits)?;
        let mut meter = Meter::new(clock);
        let mut budget = Budget::new(limits.max_answer_bytes);
        let mut reader = Reader {
            base: self.base.as_ref(),
            budget: &mut budget,
            meter: &mut meter,
        };
        let mut matcher = selector::Matcher::new(&parsed, None);
        let mut out = Vec::new();
        for el in descendants(&self.html, None) {
            reader.meter.tick()?;
            if !matcher.matches(&el) {
                continue;
            }
            if let Some(url) = reader.value(el, &Source::Url(attr.to_owned()))? {
                if out.len() >= limits.max_query_nodes {
                    return Err(DomError::Limit(format!(
                        "more than {} links on one page",
                        limits.max_query_nodes
                    )));
                }
                out.push(url);
            }
        }
        Ok(out)
    }
}

/// Reads values from elements, charging each to the answer's budget before building it.
struct Reader<'a, 'b, 'c> {
    base: Option<&'a url::Url>,
    budget: &'b mut Budget,
    meter: &'b mut Meter<'c>,
}

impl Reader<'_, '_, '_> {
    fn value(&mut self, el: ElementRef<'_>, source: &Source) -> Result<Option<String>, DomError> {
        let value = match source {
            Source::Text => Some(text::collapsed(el, self.budget, self.meter)?),
            Source::InnerHtml => Some(serial::inner_html(el, self.budget, self.meter)?),
            Source::OuterHtml => Some(serial::outer_html(el, self.budget, self.meter)?),
            Source::Attr(name) => match el.attr(name) {
                Some(v) => {
                    self.budget.charge(v.len())?;
                    Some(v.to_owned())
                }
                None => None,
            },
            Source::Url(name) => {
                let Some(raw) = el.attr(name) else {
                    return Ok(None);
                };
                let raw = raw.trim();
                // A resolved URL is at most the base and the reference together.
                let most = raw.len() + self.base.map_or(0, |b| b.as_str().len());
                self.budget.charge(most)?;
                let url = match self.base {
                    Some(base) => base.join(raw),
                    None => url::Url::parse(raw),
                };
                url.ok().map(String::from)
            }
        };
        if value.is_some() {
            self.budget.charge(CELL)?;
        }
        Ok(value)
    }
}

/// The elements under `scope` (the whole document for `None`) in document order, the
/// scope itself excluded.
fn descendants<'a>(
    html: &'a Html,
    scope: Option<ElementRef<'a>>,
) -> impl Iterator<Item = ElementRef<'a>> + 'a {
    let root = match scope {
        Some(el) => *el,
        None => html.tree.root(),
    };
    root.descendants().skip(1).filter_map(ElementRef::wrap)
}

/// The URL a document's `<base href>` sets, resolved against the page's URL (a
/// scheme-relative `//cdn.example/` and a path `/` are common), as browsers do: the first
/// `base` element with an `href`, unless it does not parse or names a `data:` or
/// `javascript:` URL. Only `<head>` is searched: a `<base>` anywhere else is rare, and
/// finding it would cost a walk of the whole tree on every page.
fn document_base(html: &Html, page: Option<&url::Url>) -> Option<url::Url> {
    let head = html
        .root_element()
        .children()
        .filter_map(ElementRef::wrap)
        .find(|el| el.value().name() == "head")?;
    let href = head
        .children()
        .filter_map(ElementRef::wrap)
        .filter(|el| el.value().name() == "base")
        .find_map(|el| el.value().attr("href"))?
        .trim();
    let url = match page {
        Some(page) => page.join(href),
        None => url::Url::parse(href),
    }
    .ok()?;
    (!matches!(url.scheme(), "data" | "javascript")).then_some(url)
}

#[cfg(test)]
mod tests;
