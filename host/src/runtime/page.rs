//! The `page` import: a fetched page as a host resource with a host-side DOM.
//!
//! The HTML is parsed with html5ever (through `scraper`) once per call: before the plugin
//! starts when the page is HTML and the plugin queried the DOM of its last HTML page
//! (`LoadedPlugin::queries_dom`), else the first time the plugin asks for the DOM, so that
//! a plugin reading a JSON body, or only the body, does not pay for a parse.
//! Nodes are indexes into `nodes`, a per-call arena bounded by `max_nodes`.

use std::collections::HashMap;
use std::sync::Arc;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use wasmtime::component::Resource;

use super::PluginState;
use super::bindings::page::{Field, Host, HostPage, Node, QueryError, Source};

/// What the crawler fetched: everything a plugin may know about a page.
#[derive(Debug, Clone)]
pub struct PageData {
    /// Final URL, after redirects.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// Response headers, lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// Body decoded to text.
    pub body: String,
}

impl PageData {
    /// Whether the page is HTML: by its `content-type` (`text/html`,
    /// `application/xhtml+xml`), or, when it has none, by a body that starts with `<`.
    pub fn is_html(&self) -> bool {
        match self
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            Some((_, value)) => {
                let media_type = value.split(';').next().unwrap_or_default().trim();
                media_type.eq_ignore_ascii_case("text/html")
                    || media_type.eq_ignore_ascii_case("application/xhtml+xml")
            }
            None => self
                .body
                .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
                .starts_with('<'),
        }
    }
}

/// The page resource held in a plugin call's `ResourceTable`.
pub struct PageResource {
    data: Arc<PageData>,
    /// What relative URLs resolve against: the page's URL, then, once the page is parsed,
    /// its `<base href>` if it has one.
    base: Option<url::Url>,
    dom: Option<Html>,
    /// Whether the plugin queried the DOM during the call.
    queried: bool,
    /// Node handle → element id; index 0 is the document.
    nodes: Vec<NodeId>,
    max_nodes: usize,
}

impl PageResource {
    pub(crate) fn new(data: Arc<PageData>, max_nodes: usize) -> Self {
        let base = url::Url::parse(&data.url).ok();
        Self {
            data,
            base,
            dom: None,
            queried: false,
            nodes: Vec::new(),
            max_nodes,
        }
    }

    /// Absolute URLs of the `href`s of the elements matching `selector` (bad selectors
    /// match nothing: they are refused when a job is saved).
    pub(crate) fn select_urls(&mut self, selector: &str) -> Vec<String> {
        let Ok(selector) = parse_selector(selector) else {
            return Vec::new();
        };
        self.parse();
        let base = self.base.as_ref();
        let html = self.dom.as_ref().expect("parsed just above");
        html.select(&selector)
            .filter_map(|el| value(el, &Source::Url("href".into()), base))
            .collect()
    }

    /// Parse the page now, before the plugin starts, rather than on its first query: the
    /// plugin's run is then not split by a parse that evicts its code and data from the
    /// CPU caches (about 10 µs of a 450 µs call on the extract benchmark). Not a query.
    pub(crate) fn parse_ahead(&mut self) {
        self.parse();
    }

    /// Whether the plugin queried the DOM during the call.
    pub(crate) fn queried(&self) -> bool {
        self.queried
    }

    /// The DOM, for a query of the plugin's.
    fn dom(&mut self) -> &Html {
        self.queried = true;
        self.parse()
    }

    fn parse(&mut self) -> &Html {
        if self.dom.is_none() {
            let html = Html::parse_document(&self.data.body);
            if let Some(base) = document_base(&html, self.base.as_ref()) {
                self.base = Some(base);
            }
            self.nodes = vec![html.tree.root().id()];
            self.dom = Some(html);
        }
        self.dom.as_ref().expect("parsed just above")
    }
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

/// Selectors parsed on this thread, by their text: a plugin asks for the same few
/// selectors on every page of a run, and parsing one costs more than matching it on a
/// page's items. Bounded: emptied when it reaches [`SELECTOR_CACHE`] entries.
const SELECTOR_CACHE: usize = 512;

thread_local! {
    static SELECTORS: std::cell::RefCell<HashMap<Box<str>, Selector>> =
        std::cell::RefCell::new(HashMap::new());
}

fn parse_selector(selector: &str) -> Result<Selector, QueryError> {
    if let Some(hit) = SELECTORS.with_borrow(|cache| cache.get(selector).cloned()) {
        return Ok(hit);
    }
    let parsed = Selector::parse(selector)
        .map_err(|e| QueryError::BadSelector(format!("{selector:?}: {e}")))?;
    SELECTORS.with_borrow_mut(|cache| {
        if cache.len() >= SELECTOR_CACHE {
            cache.clear();
        }
        cache.insert(selector.into(), parsed.clone());
    });
    Ok(parsed)
}

/// The element's text: whitespace collapsed into single spaces and trimmed, with a space
/// where a block-level element or `<br>` separates words (as a browser renders them), so
/// `<p>one</p><p>two</p>` reads "one two", not "onetwo".
fn collapse_text(element: ElementRef<'_>) -> String {
    use ego_tree::iter::Edge;
    let mut out = String::new();
    let mut space = false;
    for edge in element.traverse() {
        match edge {
            Edge::Open(node) | Edge::Close(node) => match node.value() {
                scraper::Node::Text(text) => {
                    if matches!(edge, Edge::Close(_)) {
                        continue;
                    }
                    for ch in text.chars() {
                        if ch.is_whitespace() {
                            space = true;
                        } else {
                            if space && !out.is_empty() {
                                out.push(' ');
                            }
                            space = false;
                            out.push(ch);
                        }
                    }
                }
                scraper::Node::Element(el) if separates(el.name()) => space = true,
                _ => {}
            },
        }
    }
    out
}

/// Elements whose boundaries separate words.
fn separates(name: &str) -> bool {
    matches!(
        name,
        "br" | "p"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "caption"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "main"
            | "blockquote"
            | "pre"
            | "hr"
            | "figure"
            | "figcaption"
            | "address"
            | "option"
            | "form"
            | "fieldset"
    )
}

fn element<'a>(
    html: &'a Html,
    nodes: &[NodeId],
    node: Node,
) -> Result<Option<ElementRef<'a>>, QueryError> {
    let id = *nodes.get(node as usize).ok_or(QueryError::BadNode(node))?;
    let node_ref = html.tree.get(id).ok_or(QueryError::BadNode(node))?;
    Ok(ElementRef::wrap(node_ref))
}

/// The values of `field` from the elements `found`: the first one that has a value, or
/// all of them when the field wants all.
fn read_values<'a>(
    found: impl Iterator<Item = ElementRef<'a>>,
    field: &Field,
    base: Option<&url::Url>,
    values: &mut Vec<String>,
) {
    for el in found {
        if let Some(v) = value(el, &field.source, base) {
            values.push(v);
            if !field.all {
                break;
            }
        }
    }
}

fn matches<'a>(
    html: &'a Html,
    scope: Option<ElementRef<'a>>,
    selector: &Selector,
) -> Vec<ElementRef<'a>> {
    match scope {
        Some(el) => el.select(selector).collect(),
        None => html.select(selector).collect(),
    }
}

fn value(el: ElementRef<'_>, source: &Source, base: Option<&url::Url>) -> Option<String> {
    match source {
        Source::Text => Some(collapse_text(el)),
        Source::InnerHtml => Some(el.inner_html()),
        Source::OuterHtml => Some(el.html()),
        Source::Attr(name) => el.attr(name).map(str::to_owned),
        Source::Url(name) => {
            let raw = el.attr(name)?.trim();
            match base {
                Some(base) => base.join(raw).ok().map(String::from),
                None => url::Url::parse(raw).ok().map(String::from),
            }
        }
    }
}

impl HostPage for PluginState {
    fn url(&mut self, page: Resource<PageResource>) -> wasmtime::Result<String> {
        Ok(self.table.get(&page)?.data.url.clone())
    }

    fn status(&mut self, page: Resource<PageResource>) -> wasmtime::Result<u16> {
        Ok(self.table.get(&page)?.data.status)
    }

    fn headers(&mut self, page: Resource<PageResource>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.table.get(&page)?.data.headers.clone())
    }

    fn body(&mut self, page: Resource<PageResource>) -> wasmtime::Result<String> {
        Ok(self.table.get(&page)?.data.body.clone())
    }

    fn select(
        &mut self,
        page: Resource<PageResource>,
        scopes: Vec<Node>,
        selector: String,
    ) -> wasmtime::Result<Result<Vec<Vec<Node>>, QueryError>> {
        let page = self.table.get_mut(&page)?;
        let selector = match parse_selector(&selector) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        page.dom();
        let PageResource {
            dom,
            nodes,
            max_nodes,
            ..
        } = page;
        let html = dom.as_ref().expect("dom() parsed the page");
        let scopes = if scopes.is_empty() { vec![0] } else { scopes };
        let mut out = Vec::with_capacity(scopes.len());
        for scope in scopes {
            let scope_el = match element(html, nodes, scope) {
                Ok(el) => el,
                Err(e) => return Ok(Err(e)),
            };
            if scope != 0 && scope_el.is_none() {
                return Ok(Err(QueryError::BadNode(scope)));
            }
            let found = matches(html, if scope == 0 { None } else { scope_el }, &selector);
            if nodes.len() + found.len() > *max_nodes {
                // Handing out nodes costs host memory: going over the limit stops the call.
                return Err(wasmtime::Error::new(super::limits::HostLimit(format!(
                    "more than {max_nodes} DOM nodes on one page"
                ))));
            }
            let mut handles = Vec::with_capacity(found.len());
            for el in found {
                handles.push(nodes.len() as Node);
                nodes.push(el.id());
            }
            out.push(handles);
        }
        Ok(Ok(out))
    }

    fn read(
        &mut self,
        page: Resource<PageResource>,
        nodes_in: Vec<Node>,
        fields: Vec<Field>,
    ) -> wasmtime::Result<Result<Vec<Vec<Vec<String>>>, QueryError>> {
        let page = self.table.get_mut(&page)?;
        // Each distinct selector is parsed once for the batch (and cached by the thread).
        let mut selectors: Vec<(&str, Selector)> = Vec::new();
        let mut field_selector = Vec::with_capacity(fields.len());
        for field in &fields {
            let Some(text) = field.selector.as_deref() else {
                field_selector.push(None);
                continue;
            };
            let index = match selectors.iter().position(|(t, _)| *t == text) {
                Some(index) => index,
                None => match parse_selector(text) {
                    Ok(parsed) => {
                        selectors.push((text, parsed));
                        selectors.len() - 1
                    }
                    Err(e) => return Ok(Err(e)),
                },
            };
            field_selector.push(Some(index));
        }
        page.dom();
        let PageResource {
            dom, nodes, base, ..
        } = page;
        let html = dom.as_ref().expect("dom() parsed the page");
        let mut out = Vec::with_capacity(nodes_in.len());
        for node in nodes_in {
            let scope = match element(html, nodes, node) {
                Ok(el) => el,
                Err(e) => return Ok(Err(e)),
            };
            let mut firsts: Vec<Option<Option<ElementRef<'_>>>> = vec![None; selectors.len()];
            let mut per_field = Vec::with_capacity(fields.len());
            for (field, selector) in fields.iter().zip(&field_selector) {
                let mut values = Vec::new();
                match selector {
                    None => {
                        let target = scope.or_else(|| Some(html.root_element()));
                        if let Some(v) =
                            target.and_then(|el| value(el, &field.source, base.as_ref()))
                        {
                            values.push(v);
                        }
                    }
                    Some(index) => {
                        // Matches are walked lazily: a single-value field stops at the
                        // first element that has a value. The first match of a selector is
                        // found once per node for all the fields that read from it.
                        let selector = &selectors[*index].1;
                        let base = base.as_ref();
                        if !field.all {
                            let first = *firsts[*index].get_or_insert_with(|| match scope {
                                Some(el) => el.select(selector).next(),
                                None => html.select(selector).next(),
                            });
                            let Some(first) = first else {
                                per_field.push(values);
                                continue;
                            };
                            if let Some(v) = value(first, &field.source, base) {
                                values.push(v);
                                per_field.push(values);
                                continue;
                            }
                        }
                        match scope {
                            Some(el) => read_values(el.select(selector), field, base, &mut values),
                            None => read_values(html.select(selector), field, base, &mut values),
                        }
                    }
                }
                per_field.push(values);
            }
            out.push(per_field);
        }
        Ok(Ok(out))
    }

    fn drop(&mut self, page: Resource<PageResource>) -> wasmtime::Result<()> {
        self.table.delete(page)?;
        Ok(())
    }
}

impl Host for PluginState {}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> PluginState {
        PluginState {
            wasi: wasmtime_wasi::WasiCtx::default(),
            table: wasmtime::component::ResourceTable::new(),
            limiter: super::super::limits::Limiter::new(1 << 20),
            logs: super::super::log::LogSink::new(10),
            timeout: std::time::Duration::from_secs(1),
        }
    }

    fn field(selector: &str, source: Source, all: bool) -> Field {
        Field {
            selector: Some(selector.into()),
            source,
            all,
        }
    }

    /// Fields sharing a selector read the first match; a single-value field whose first
    /// match has no value takes the next one that has; `all` reads every match.
    #[test]
    fn read_takes_the_first_match_with_a_value() -> wasmtime::Result<()> {
        let body = r#"<ul>
            <li class="p"><a href="/a1">A1</a><a href="/a2" title="second">A2</a></li>
            <li class="p"><a href="/b1" title="only">B1</a></li>
            <li class="p"><span>no links</span></li></ul>"#;
        let mut state = state();
        let page = PageData {
            url: "http://shop.test/list/".into(),
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        };
        let resource = state.table.push(PageResource::new(Arc::new(page), 1000))?;
        let rep = resource.rep();
        let items = HostPage::select(&mut state, Resource::new_borrow(rep), vec![], "li.p".into())?
            .map_err(|e| wasmtime::Error::msg(format!("{e:?}")))?
            .remove(0);
        assert_eq!(items.len(), 3);
        let fields = vec![
            field("a", Source::Text, false),
            field("a", Source::Attr("title".into()), false),
            field("a", Source::Url("href".into()), false),
            field("a", Source::Text, true),
        ];
        let rows = HostPage::read(&mut state, Resource::new_borrow(rep), items, fields)?
            .map_err(|e| wasmtime::Error::msg(format!("{e:?}")))?;
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            rows[0],
            [
                strings(&["A1"]),
                strings(&["second"]),
                strings(&["http://shop.test/a1"]),
                strings(&["A1", "A2"]),
            ]
        );
        assert_eq!(
            rows[1],
            [
                strings(&["B1"]),
                strings(&["only"]),
                strings(&["http://shop.test/b1"]),
                strings(&["B1"]),
            ]
        );
        assert!(rows[2].iter().all(Vec::is_empty), "{:?}", rows[2]);
        Ok(())
    }

    #[test]
    fn html_is_told_by_the_content_type_else_by_the_body() {
        let page = |content_type: Option<&str>, body: &str| PageData {
            url: "http://shop.test/".into(),
            status: 200,
            headers: content_type
                .map(|t| vec![("Content-Type".to_string(), t.to_string())])
                .unwrap_or_default(),
            body: body.into(),
        };
        assert!(page(Some("text/html"), "{}").is_html());
        assert!(page(Some("TEXT/HTML; charset=utf-8"), "").is_html());
        assert!(page(Some("application/xhtml+xml"), "").is_html());
        assert!(!page(Some("application/json"), "<html>").is_html());
        assert!(!page(Some("text/plain"), "<p>").is_html());
        assert!(page(None, "\u{feff}\n  <!doctype html><p>").is_html());
        assert!(!page(None, r#"{"items": []}"#).is_html());
        assert!(!page(None, "").is_html());
    }

    /// Parsing ahead of the plugin builds the DOM but is not a query of the plugin's; a
    /// query is, and finds the DOM already built.
    #[test]
    fn parsing_ahead_is_not_a_query() {
        let data = PageData {
            url: "http://shop.test/".into(),
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: "<p>hello</p>".into(),
        };
        let mut page = PageResource::new(Arc::new(data), 100);
        assert!(page.dom.is_none() && !page.queried());
        page.parse_ahead();
        assert!(page.dom.is_some() && !page.queried());
        assert!(page.dom().root_element().html().contains("hello"));
        assert!(page.queried());
    }

    /// Relative URLs resolve against the first `<base href>` of `<head>`, itself resolved
    /// against the page's URL, in the forms real pages use; without one, or with one
    /// that cannot be a base, against the page's URL.
    #[test]
    fn urls_resolve_against_the_base_href() {
        let resolve = |head: &str| {
            let data = PageData {
                url: "https://shop.test/list/page2.html".into(),
                status: 200,
                headers: Vec::new(),
                body: format!(
                    "<html><head>{head}</head><body><a href=\"item/1.html\">1</a>\
                     <a href=\"/top\">top</a></body></html>"
                ),
            };
            PageResource::new(Arc::new(data), 100).select_urls("a")
        };
        assert_eq!(
            resolve(""),
            [
                "https://shop.test/list/item/1.html",
                "https://shop.test/top"
            ]
        );
        assert_eq!(
            resolve("<base href='//cdn.test/production/head/' />"),
            [
                "https://cdn.test/production/head/item/1.html",
                "https://cdn.test/top"
            ]
        );
        assert_eq!(
            resolve(r#"<base target="_blank"><base href="/">"#),
            ["https://shop.test/item/1.html", "https://shop.test/top"]
        );
        assert_eq!(
            resolve(r#"<base target='_top' href="http://other.test/a/b">"#),
            ["http://other.test/a/item/1.html", "http://other.test/top"]
        );
        // A plugin's `url` fields resolve the same way, parsed ahead or on its query.
        for ahead in [false, true] {
            let mut state = state();
            let data = PageData {
                url: "https://shop.test/list/".into(),
                status: 200,
                headers: Vec::new(),
                body: r#"<head><base href="//cdn.test/x/"></head><a href="y">y</a>"#.into(),
            };
            let mut page = PageResource::new(Arc::new(data), 100);
            if ahead {
                page.parse_ahead();
            }
            let rep = state.table.push(page).expect("room in the table").rep();
            let rows = HostPage::read(
                &mut state,
                Resource::new_borrow(rep),
                vec![0],
                vec![field("a", Source::Url("href".into()), false)],
            )
            .expect("no trap")
            .expect("a good query");
            assert_eq!(
                rows,
                [[vec!["https://cdn.test/x/y".to_string()]]],
                "ahead: {ahead}"
            );
        }
        for unusable in [
            r#"<base href="javascript:void(0)">"#,
            r#"<base href="http://[">"#,
        ] {
            assert_eq!(
                resolve(unusable),
                [
                    "https://shop.test/list/item/1.html",
                    "https://shop.test/top"
                ],
                "{unusable}"
            );
        }
    }

    #[test]
    fn text_is_collapsed() {
        let html = Html::parse_fragment("<p>  Hello\n  <b>big</b>   world <i>4</i>5 </p>");
        let p = html
            .select(&Selector::parse("p").expect("valid"))
            .next()
            .expect("p");
        assert_eq!(collapse_text(p), "Hello big world 45");
    }
}
