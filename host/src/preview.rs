//! Trying a schema on pages without a run: each page fetched through a session like a
//! run's (guard, robots.txt, politeness, render mode), extracted by the schema's plugin
//! under the schema's limits, every item checked as a run checks it; nothing is stored.
//! The console's schema builder shows this as it is edited, and API clients use it to see
//! a schema hold on more than one page before they save it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::crawl::{Session, VisitResult};
use crate::model::ValidationMode;
use crate::model::job::FetchSettings;
use crate::model::reach::{JobSecrets, RenderMode};
use crate::runtime::{CallLimits, LoadedPlugin, PageData};
use crate::state::AppState;
use crate::validate::{self, ItemIssue, Problem};

/// Pages one preview may ask for.
pub const MAX_PAGES: usize = 5;

/// The host's own DOM work for previews (selector counts, the page shown, the selector
/// endpoint's checks and proposals) done at once on this host: the plugin's work is shared
/// out by the runtime's slots; this is the host's beside it.
pub static DOM_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// A schema ready to try.
pub struct Schema {
    pub plugin: Arc<LoadedPlugin>,
    pub json_schema: Arc<str>,
    pub options: Arc<str>,
    pub mode: ValidationMode,
    pub validator: Option<jsonschema::Validator>,
    pub limits: CallLimits,
}

/// Where the pages come from.
pub enum Pages {
    /// Fetched (and rendered, by the settings) like a run's.
    Urls {
        urls: Vec<String>,
        settings: Box<FetchSettings>,
        secrets: JobSecrets,
    },
    /// Given: HTML pasted, standing for `url`.
    Html { html: String, url: String },
}

/// One item as a run would see it.
#[derive(Debug)]
pub struct Item {
    pub data: Value,
    pub confidence: Option<f32>,
    /// What the extractor said of each field, as results store it.
    pub fields: Option<Value>,
    pub problems: Vec<Problem>,
    /// Whether a run would store it (strict validation drops invalid items; empty items
    /// are never stored).
    pub kept: bool,
}

/// How many elements one of the schema's selectors matches on the page.
#[derive(Debug)]
pub struct SelectorCount {
    /// Where in the schema: `/x-scope`, `/x-follow`, `/properties/title`.
    pub pointer: String,
    pub selector: String,
    pub matches: usize,
    /// Items (root scope matches) in which it matched, for properties under a scope.
    pub scopes_matched: Option<usize>,
}

/// One page tried.
#[derive(Debug, Default)]
pub struct PagePreview {
    pub url: String,
    pub final_url: Option<String>,
    pub status: Option<u16>,
    pub error: Option<(String, String)>,
    pub items: Vec<Item>,
    pub refused: Vec<ItemIssue>,
    pub follow: Vec<String>,
    pub links: Vec<String>,
    pub selectors: Vec<SelectorCount>,
    pub fuel: u64,
    pub fetch_ms: u64,
    pub extract_ms: u64,
    pub html: Option<String>,
}

impl PagePreview {
    fn failed(url: &str, code: &str, message: String) -> Self {
        Self {
            url: url.to_owned(),
            error: Some((code.to_owned(), message)),
            ..Self::default()
        }
    }
}

/// Try `schema` on each page, in order; a page that fails says why and the others go on.
pub async fn preview(
    state: &AppState,
    schema: &Schema,
    pages: Pages,
    include_html: bool,
) -> Vec<PagePreview> {
    match pages {
        Pages::Html { html, url } => {
            let page = Arc::new(PageData {
                url: url.clone(),
                status: 200,
                headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                body: html,
            });
            let mut out = PagePreview {
                url,
                final_url: None,
                status: None,
                ..PagePreview::default()
            };
            extract(state, schema, page, include_html, &mut out).await;
            vec![out]
        }
        Pages::Urls {
            urls,
            settings,
            secrets,
        } => {
            let session = match Session::new(state.fetcher.clone(), &settings, &secrets) {
                Ok(session) => Arc::new(session),
                Err(e) => {
                    return urls
                        .iter()
                        .map(|u| PagePreview::failed(u, "invalid_request", e.clone()))
                        .collect();
                }
            };
            // The browser context of this preview, released when it is done.
            let key = uuid::Uuid::new_v4().as_u128();
            let mut out = Vec::with_capacity(urls.len());
            for url in urls {
                out.push(one_url(state, schema, &session, &settings, key, url, include_html).await);
            }
            if settings.render == RenderMode::Browser {
                state.browser.release(trawl_browser::ContextKey(key)).await;
            }
            out
        }
    }
}

async fn one_url(
    state: &AppState,
    schema: &Schema,
    session: &Arc<Session>,
    settings: &FetchSettings,
    key: u128,
    url: String,
    include_html: bool,
) -> PagePreview {
    let started = Instant::now();
    let visit = session.visit(&url).await;
    let fetched = match visit.result {
        VisitResult::Fetched(fetched) => fetched,
        VisitResult::Skipped { code, message } => {
            return PagePreview {
                status: visit.status,
                ..PagePreview::failed(&url, code, message)
            };
        }
        VisitResult::Failed(e) => {
            return PagePreview {
                status: visit.status,
                ..PagePreview::failed(&url, e.code(), format!("{url}: {e}"))
            };
        }
    };
    let fetched = if settings.render == RenderMode::Browser {
        let render =
            crate::crawl::render::Render::new(&state.browser, session, &settings.browser, key);
        match render.page(&fetched).await {
            Ok((rendered, _)) => rendered,
            Err(e) => {
                return PagePreview {
                    status: Some(fetched.page.status),
                    ..PagePreview::failed(&url, e.code(), format!("{url}: {e}"))
                };
            }
        }
    } else {
        fetched
    };
    let mut out = PagePreview {
        url,
        final_url: Some(fetched.page.url.clone()),
        status: Some(fetched.page.status),
        fetch_ms: started.elapsed().as_millis() as u64,
        ..PagePreview::default()
    };
    extract(state, schema, fetched.page, include_html, &mut out).await;
    out
}

/// Extract from one page and check its items; count the schema's selectors on it and
/// make the page safe to show when asked.
async fn extract(
    state: &AppState,
    schema: &Schema,
    page: Arc<PageData>,
    include_html: bool,
    out: &mut PagePreview,
) {
    let extracted = state
        .runtime
        .extract_limited(
            &schema.plugin,
            page.clone(),
            schema.json_schema.clone(),
            schema.options.clone(),
            None,
            schema.limits.clone(),
        )
        .await;
    match extracted {
        Ok(output) => {
            out.fuel = output.fuel;
            out.extract_ms = output.elapsed.as_millis() as u64;
            out.follow = output.follow;
            out.links = output.links;
            out.refused = output.refused;
            for item in output.items {
                let mut data = item.value;
                let empty = validate::is_empty_item(&data);
                validate::make_storable(&mut data);
                let problems = match &schema.validator {
                    Some(v) if !empty => validate::item_problems(v, &data),
                    _ => Vec::new(),
                };
                let kept = !empty && (problems.is_empty() || schema.mode != ValidationMode::Strict);
                out.items.push(Item {
                    data,
                    confidence: item.confidence,
                    fields: crate::model::field_meta_json(&item.fields),
                    problems,
                    kept,
                });
            }
        }
        Err(e) => {
            out.fuel = e.fuel;
            out.error = Some((e.code().to_owned(), e.to_string()));
        }
    }
    let Ok(_permit) = DOM_WORK.acquire().await else {
        return;
    };
    let hints = selector_hints(&schema.json_schema);
    if hints.is_empty() && !include_html {
        return;
    }
    let limits = schema.limits.dom.clone();
    let timeout = schema.limits.timeout;
    let max_html = usize::try_from(state.fetcher.config().max_body.as_u64()).unwrap_or(usize::MAX);
    let worked = tokio::task::spawn_blocking(move || {
        dom_work(&page, &hints, include_html, &limits, timeout, max_html)
    })
    .await;
    match worked {
        Ok(Ok((counts, html))) => {
            out.selectors = counts;
            out.html = html;
        }
        Ok(Err(e)) if out.error.is_none() => {
            out.error = Some((dom_code(&e).to_owned(), e.to_string()));
        }
        Ok(Err(_)) => {}
        Err(e) => tracing::error!("a preview's DOM work panicked: {e}"),
    }
}

/// The stable code of a DOM failure.
pub fn dom_code(e: &trawl_dom::DomError) -> &'static str {
    match e {
        trawl_dom::DomError::BadSelector(_) => "invalid_selector",
        trawl_dom::DomError::Deadline => "timeout",
        _ => "page_too_complex",
    }
}

fn dom_work(
    page: &PageData,
    hints: &[Hint],
    include_html: bool,
    limits: &trawl_dom::Limits,
    timeout: Duration,
    max_html: usize,
) -> Result<(Vec<SelectorCount>, Option<String>), trawl_dom::DomError> {
    let clock = trawl_dom::Deadline::at(Instant::now() + timeout);
    let doc = trawl_dom::Document::parse(&page.body, &page.url, limits, &clock)?;
    let scope = hints
        .iter()
        .find(|h| h.pointer == "/x-scope")
        .map(|h| h.selector.as_str());
    let mut counts = Vec::with_capacity(hints.len());
    for hint in hints {
        let within = if hint.scoped { scope } else { None };
        // A bad selector is the plugin's to report (the page's error says it); here it
        // counts nothing.
        match trawl_dom::picker::check(&doc, &hint.selector, within, 0, limits, &clock) {
            Ok(found) => counts.push(SelectorCount {
                pointer: hint.pointer.clone(),
                selector: hint.selector.clone(),
                matches: found.count,
                scopes_matched: found.in_scopes,
            }),
            Err(trawl_dom::DomError::BadSelector(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let html = if include_html {
        Some(trawl_dom::sanitize::sanitized(&doc, max_html, &clock)?)
    } else {
        None
    };
    Ok((counts, html))
}

/// A selector hint of the schema (the css-extractor's names).
#[derive(Debug, Clone)]
struct Hint {
    pointer: String,
    selector: String,
    /// Evaluated inside the root `x-scope`'s elements.
    scoped: bool,
}

/// The root's `x-scope` and `x-follow`, and each top-level property's `x-selector` (or
/// `x-scope`, on objects and arrays), read from the schema.
fn selector_hints(json_schema: &str) -> Vec<Hint> {
    let Ok(schema) = serde_json::from_str::<Value>(json_schema) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let scoped = schema.get("x-scope").and_then(Value::as_str).is_some();
    for key in ["x-scope", "x-follow"] {
        if let Some(selector) = schema.get(key).and_then(Value::as_str) {
            out.push(Hint {
                pointer: format!("/{key}"),
                selector: selector.to_owned(),
                scoped: false,
            });
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties.iter().take(200) {
            let selector = property
                .get("x-selector")
                .or_else(|| property.get("x-scope"))
                .and_then(Value::as_str);
            if let Some(selector) = selector {
                out.push(Hint {
                    pointer: format!("/properties/{}", name.replace('~', "~0").replace('/', "~1")),
                    selector: selector.to_owned(),
                    scoped,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::selector_hints;

    #[test]
    fn hints_are_read_with_their_pointers_and_scopes() {
        let hints = selector_hints(
            r#"{"x-scope": "article", "x-follow": "li.next a",
                "properties": {"a/b": {"x-selector": "h3 a"}, "c": {"type": "string"}, "d": {"x-scope": "ul"}}}"#,
        );
        let got: Vec<(String, String, bool)> = hints
            .into_iter()
            .map(|h| (h.pointer, h.selector, h.scoped))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/x-scope".into(), "article".into(), false),
                ("/x-follow".into(), "li.next a".into(), false),
                ("/properties/a~1b".into(), "h3 a".into(), true),
                ("/properties/d".into(), "ul".into(), true),
            ]
        );
        assert!(selector_hints("not json").is_empty());
    }
}
