//! CSS selectors: parsed with scraper's grammar once per thread and text, matched with
//! caches shared across one query (`:has()` and `:nth-child()` results are reused from
//! element to element, as a browser's style engine does).

use std::cell::RefCell;
use std::collections::HashMap;

use scraper::ElementRef;
use scraper::selector::Simple;
use selectors::SelectorList;
use selectors::context::{
    MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags, QuirksMode,
    SelectorCaches,
};

use crate::{DomError, Limits};

/// A parsed selector list.
pub type Parsed = SelectorList<Simple>;

/// Selectors parsed on this thread, by their text: a plugin asks for the same few
/// selectors on every page of a run, and parsing one costs more than matching it on a
/// page's items. Bounded: emptied when it reaches this many entries.
const CACHE: usize = 512;

thread_local! {
    static PARSED: RefCell<HashMap<Box<str>, Parsed>> = RefCell::new(HashMap::new());
}

/// Parse `text` (or take it from this thread's cache).
pub fn parse(text: &str, limits: &Limits) -> Result<Parsed, DomError> {
    if text.len() > limits.max_selector_len {
        return Err(DomError::Limit(format!(
            "a CSS selector of {} bytes (limit {})",
            text.len(),
            limits.max_selector_len
        )));
    }
    if let Some(hit) = PARSED.with_borrow(|cache| cache.get(text).cloned()) {
        return Ok(hit);
    }
    let mut parser = cssparser::Parser::new(text);
    let parsed = SelectorList::parse(
        &scraper::selector::Parser,
        &mut parser,
        selectors::parser::ParseRelative::No,
    )
    .map_err(|e| {
        let kind = scraper::error::SelectorErrorKind::from(e);
        DomError::BadSelector(format!("{text:?}: {kind}"))
    })?;
    PARSED.with_borrow_mut(|cache| {
        if cache.len() >= CACHE {
            cache.clear();
        }
        cache.insert(text.into(), parsed.clone());
    });
    Ok(parsed)
}

/// Matches one selector list against the elements of one scope.
pub(crate) struct Matcher<'s, 'a> {
    selector: &'s Parsed,
    scope: Option<ElementRef<'a>>,
    caches: SelectorCaches,
}

impl<'s, 'a> Matcher<'s, 'a> {
    pub(crate) fn new(selector: &'s Parsed, scope: Option<ElementRef<'a>>) -> Self {
        Self {
            selector,
            scope,
            caches: SelectorCaches::default(),
        }
    }

    /// Whether `element` matches (`:scope` is the scope element, or the root element for
    /// the document).
    pub(crate) fn matches(&mut self, element: &ElementRef<'_>) -> bool {
        let mut context = MatchingContext::new(
            MatchingMode::Normal,
            None,
            &mut self.caches,
            QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        context.scope_element = self.scope.map(|s| selectors::Element::opaque(&s));
        self.selector
            .slice()
            .iter()
            .any(|s| selectors::matching::matches_selector(s, 0, None, element, &mut context))
    }
}
