//! The fetched page a plugin call is given: its data, and the resource that parses it
//! into a host-side DOM ([`trawl_dom`]) on the plugin's behalf (the `page` import's host
//! side is in `host.rs`).
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
    pub(super) data: Arc<PageData>,
    /// The parsed page, or why it could not be parsed (kept: every query gets the same
    /// answer).
    dom: Option<Result<Document, DomError>>,
    /// Whether the plugin queried the DOM during the call.
    queried: bool,
    pub(super) limits: DomLimits,
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
    pub(super) fn dom(&mut self, clock: &dyn Clock) -> Result<&mut Document, DomError> {
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

/// An HTML page of `body` at `https://shop.test/list/`, for the runtime's unit tests.
#[cfg(test)]
pub(super) fn test_resource(body: &str) -> PageResource {
    let data = PageData {
        url: "https://shop.test/list/".into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: body.into(),
    };
    PageResource::new(Arc::new(data), DomLimits::default())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut page = test_resource("<p>hello</p>");
        assert!(page.dom.is_none() && !page.queried());
        page.parse_ahead(&trawl_dom::Deadline::NONE);
        assert!(page.dom.is_some() && !page.queried());
        let dom = page.dom(&trawl_dom::Deadline::NONE).expect("parsed");
        assert!(dom.html().root_element().html().contains("hello"));
        assert!(page.queried());
    }
}
