//! The `page` import: a fetched page as a host resource with a host-side DOM
//! ([`trawl_dom`]).
//!
//! The HTML is parsed once per call: before the plugin starts when the page is HTML and the
//! plugin queried the DOM of its last HTML page (`LoadedPlugin::queries_dom`), else the
//! first time the plugin asks for the DOM, so that a plugin reading a JSON body, or only
//! the body, does not pay for a parse. The parse and every query are host work done for
//! the plugin: bounded by the call's DOM limits and stopped at the call's deadline. A
//! plugin's own mistake (a bad selector or node) comes back to it as a `query-error`; a
//! bound of the host's stops the call with its own code.

use std::sync::Arc;

use trawl_dom::{Clock, Document, DomError, Limits as DomLimits};
use wasmtime::component::Resource;

use super::PluginState;
use super::bindings::page::{Field, Host, HostPage, Node, QueryError, Source};
use super::limits::HostTrap;

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
    /// The parsed page, or why it could not be parsed (kept: every query gets the same
    /// answer).
    dom: Option<Result<Document, DomError>>,
    /// Whether the plugin queried the DOM during the call.
    queried: bool,
    limits: DomLimits,
}

impl PageResource {
    pub(crate) fn new(data: Arc<PageData>, limits: DomLimits) -> Self {
        Self {
            data,
            dom: None,
            queried: false,
            limits,
        }
    }

    /// Absolute URLs of the `href`s of the elements matching `selector` (pagination and
    /// link-following; bad selectors are refused when a job is saved and match nothing).
    pub(crate) fn select_urls(
        &mut self,
        selector: &str,
        clock: &dyn Clock,
    ) -> Result<Vec<String>, DomError> {
        let limits = self.limits.clone();
        match self.parse(clock) {
            Ok(dom) => match dom.urls(selector, "href", &limits, clock) {
                Err(DomError::BadSelector(_)) => Ok(Vec::new()),
                other => other,
            },
            Err(e) => Err(e),
        }
    }

    /// Parse the page now, before the plugin starts, rather than on its first query: the
    /// plugin's run is then not split by a parse that evicts its code and data from the
    /// CPU caches (about 10 µs of a 450 µs call on the extract benchmark). Not a query.
    /// A page that cannot be parsed within the limits fails the plugin's first query.
    pub(crate) fn parse_ahead(&mut self, clock: &dyn Clock) {
        let _ = self.parse(clock);
    }

    /// Whether the plugin queried the DOM during the call.
    pub(crate) fn queried(&self) -> bool {
        self.queried
    }

    /// The DOM, for a query of the plugin's.
    fn dom(&mut self, clock: &dyn Clock) -> Result<&mut Document, DomError> {
        self.queried = true;
        self.parse(clock)
    }

    fn parse(&mut self, clock: &dyn Clock) -> Result<&mut Document, DomError> {
        let dom = self.dom.get_or_insert_with(|| {
            // A page that takes the whole call to parse is the page's fault, like one
            // too large: the tree builder's work grows faster than the page on some
            // shapes (every level of deep nesting makes each later tag slower).
            Document::parse(&self.data.body, &self.data.url, &self.limits, clock).map_err(|e| {
                match e {
                    DomError::Deadline => DomError::PageTooComplex(
                        "parsing the page took all of the call's time".into(),
                    ),
                    other => other,
                }
            })
        });
        match dom {
            Ok(dom) => Ok(dom),
            Err(e) => Err(e.clone()),
        }
    }
}

/// A failed query: the plugin's own mistake comes back to it as a value; a bound of the
/// host's stops the call.
fn answer<T>(result: Result<T, DomError>) -> wasmtime::Result<Result<T, QueryError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(DomError::BadSelector(message)) => Ok(Err(QueryError::BadSelector(message))),
        Err(DomError::BadNode(node)) => Ok(Err(QueryError::BadNode(node))),
        Err(e) => Err(host_trap(e)),
    }
}

/// The trap for a DOM error that stops the call.
pub(crate) fn host_trap(e: DomError) -> wasmtime::Error {
    let trap = match e {
        DomError::Deadline => HostTrap::Deadline,
        DomError::PageTooComplex(message) => HostTrap::Page(message),
        other => HostTrap::Limit(other.to_string()),
    };
    wasmtime::Error::new(trap)
}

fn source(source: Source) -> trawl_dom::Source {
    match source {
        Source::Text => trawl_dom::Source::Text,
        Source::InnerHtml => trawl_dom::Source::InnerHtml,
        Source::OuterHtml => trawl_dom::Source::OuterHtml,
        Source::Attr(name) => trawl_dom::Source::Attr(name),
        Source::Url(name) => trawl_dom::Source::Url(name),
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
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(&page)?;
        let limits = page.limits.clone();
        answer(
            page.dom(clock)
                .and_then(|dom| dom.select(&scopes, &selector, &limits, clock)),
        )
    }

    fn read(
        &mut self,
        page: Resource<PageResource>,
        nodes: Vec<Node>,
        fields: Vec<Field>,
    ) -> wasmtime::Result<Result<Vec<Vec<Vec<String>>>, QueryError>> {
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(&page)?;
        let limits = page.limits.clone();
        let fields: Vec<trawl_dom::Field> = fields
            .into_iter()
            .map(|f| trawl_dom::Field {
                selector: f.selector,
                source: source(f.source),
                all: f.all,
            })
            .collect();
        answer(
            page.dom(clock)
                .and_then(|dom| dom.read(&nodes, &fields, &limits, clock)),
        )
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
            clock: super::super::clock::CallClock::new(std::time::Duration::from_secs(60), None),
        }
    }

    fn resource(body: &str) -> PageResource {
        let data = PageData {
            url: "https://shop.test/list/".into(),
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.into(),
        };
        PageResource::new(Arc::new(data), DomLimits::default())
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
        let mut page = resource("<p>hello</p>");
        assert!(page.dom.is_none() && !page.queried());
        page.parse_ahead(&trawl_dom::Deadline::NONE);
        assert!(page.dom.is_some() && !page.queried());
        let dom = page.dom(&trawl_dom::Deadline::NONE).expect("parsed");
        assert!(dom.html().root_element().html().contains("hello"));
        assert!(page.queried());
    }

    /// A plugin's `url` fields resolve against the `<base href>`, parsed ahead or on its
    /// query.
    #[test]
    fn url_fields_resolve_against_the_base_href() {
        for ahead in [false, true] {
            let mut state = state();
            let mut page = resource(r#"<head><base href="//cdn.test/x/"></head><a href="y">y</a>"#);
            if ahead {
                page.parse_ahead(&trawl_dom::Deadline::NONE);
            }
            let rep = state.table.push(page).expect("room in the table").rep();
            let rows = HostPage::read(
                &mut state,
                Resource::new_borrow(rep),
                vec![0],
                vec![Field {
                    selector: Some("a".into()),
                    source: Source::Url("href".into()),
                    all: false,
                }],
            )
            .expect("no trap")
            .expect("a good query");
            assert_eq!(
                rows,
                [[vec!["https://cdn.test/x/y".to_string()]]],
                "ahead: {ahead}"
            );
        }
    }

    /// The plugin's own mistakes come back as query errors; a bound of the host's, or its
    /// deadline, stops the call with a trap that names it.
    #[test]
    fn mistakes_are_answers_and_bounds_are_traps() {
        let mut state = state();
        let rep = state.table.push(resource("<p>a</p>")).expect("room").rep();
        let bad = HostPage::select(&mut state, Resource::new_borrow(rep), vec![], "p[".into())
            .expect("no trap");
        assert!(matches!(bad, Err(QueryError::BadSelector(_))), "{bad:?}");
        let bad = HostPage::select(&mut state, Resource::new_borrow(rep), vec![7], "p".into())
            .expect("no trap");
        assert!(matches!(bad, Err(QueryError::BadNode(7))), "{bad:?}");
        let wide = HostPage::read(
            &mut state,
            Resource::new_borrow(rep),
            vec![0; 200_000],
            Vec::new(),
        )
        .expect_err("too many nodes");
        assert!(
            matches!(wide.downcast_ref::<HostTrap>(), Some(HostTrap::Limit(_))),
            "{wide:?}"
        );
        // The parse looks at the clock after every chunk, however small the page.
        let mut fresh = state_with_past_deadline();
        let rep = fresh.table.push(resource("<p>a</p>")).expect("room").rep();
        let err = HostPage::select(&mut fresh, Resource::new_borrow(rep), vec![], "p".into())
            .expect_err("past the deadline");
        assert!(
            matches!(err.downcast_ref::<HostTrap>(), Some(HostTrap::Page(_))),
            "a parse that runs out of time is the page's fault: {err:?}"
        );
    }

    fn state_with_past_deadline() -> PluginState {
        PluginState {
            clock: super::super::clock::CallClock::new(std::time::Duration::ZERO, None),
            ..state()
        }
    }
}
