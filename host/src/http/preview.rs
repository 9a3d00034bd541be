//! `/v1/preview`: a schema tried on pages before it is saved (or on new pages after), and
//! `/v1/preview/selector`: a selector checked, or proposed from example elements, on a page.
//! Both are what the console's schema builder shows, and both work the way a run does:
//! pages come through the same fetcher and guard, the same plugin under the same limits,
//! the same DOM.

use std::time::{Duration, Instant};

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::ApiJson;
use crate::db;
use crate::ids::{JobId, SchemaId};
use crate::model::ValidationMode;
use crate::model::job::{FetchSettings, JobSpec, Pagination};
use crate::model::reach::{JobSecrets, RenderMode};
use crate::preview::{self, Pages};
use crate::runtime::SchemaLimits;
use crate::state::AppState;
use crate::validate::{self, Problem};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview_schema))
        .routes(routes!(preview_selector))
}

/// A schema given in the request, as `POST /v1/schemas` takes it (without a name).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineSchema {
    /// The JSON Schema of one item, with `x-` extraction hints for the plugin.
    #[schema(value_type = Object)]
    pub json_schema: Box<RawValue>,
    /// Extractor plugin name (default `css-extractor`).
    #[serde(default = "default_plugin")]
    pub plugin: String,
    /// A plugin version; the newest non-deprecated one when absent.
    pub plugin_version: Option<String>,
    /// Options handed to the plugin (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub plugin_options: Option<serde_json::Value>,
    /// Default `strict`.
    #[serde(default)]
    pub validation_mode: ValidationMode,
    /// Limits of each plugin call.
    #[serde(default)]
    pub limits: SchemaLimits,
}

fn default_plugin() -> String {
    "css-extractor".into()
}

/// What to try, and on which pages.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewIn {
    /// A saved schema of yours…
    pub schema_id: Option<SchemaId>,
    /// …or one given here (exactly one of the two).
    pub schema: Option<InlineSchema>,
    /// Pages to fetch, 1 to 5, through trawl's fetcher (the SSRF guard, robots.txt,
    /// politeness, the render mode)…
    #[schema(max_items = 5)]
    pub urls: Option<Vec<String>>,
    /// …or a page's HTML (exactly one of the two), at most 4 MiB with the request.
    pub html: Option<String>,
    /// The URL `html` stands for: links resolve against it (default
    /// `http://preview.invalid/`).
    pub url: Option<String>,
    /// How `urls` are fetched: as a job's `fetch` (default settings when absent).
    pub fetch: Option<FetchSettings>,
    /// Fetch `urls` with this job's settings and secrets (a job of yours) instead.
    pub job_id: Option<JobId>,
    /// Give each page's HTML back, made safe to show: scripts, frames, objects, event
    /// handlers and `javascript:` URLs removed, a policy that loads nothing written first.
    /// Element paths of `/v1/preview/selector` are counted in this text.
    #[serde(default)]
    pub include_html: bool,
}

/// An item as a run would see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewItem {
    /// The item, as it would be stored.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The plugin's confidence, 0 to 1.
    pub confidence: Option<f32>,
    /// What the extractor said of each field (by name): its confidence and where the
    /// value was found, as results store it. Absent when it said nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, crate::model::FieldMeta>>)]
    pub fields: Option<serde_json::Value>,
    /// What the schema's validation finds wrong with it, by JSON pointer.
    pub problems: Vec<Problem>,
    /// Whether a run would store it: strict validation drops invalid items, and empty
    /// items (none of the schema's properties found) are never stored.
    pub kept: bool,
}

/// A code and message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewError {
    /// Stable: a page's (`blocked_address`, `robots_disallowed`, `http_status`…), a
    /// plugin call's (`plugin_trap`, `fuel_exhausted`…), or the DOM's (`page_too_complex`,
    /// `timeout`).
    pub code: String,
    /// For people.
    pub message: String,
}

/// An item the plugin returned that could not be read.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefusedItem {
    /// Its place in what the plugin returned.
    pub index: usize,
    /// `item_not_json` or `item_not_object`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// How many elements one of the schema's selectors matches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelectorCount {
    /// Where in the schema: `/x-scope`, `/x-follow`, `/properties/<name>`.
    pub pointer: String,
    /// The selector.
    pub selector: String,
    /// Elements matched (inside the root `x-scope`'s elements, for properties under one).
    pub matches: usize,
    /// Items in which a property's selector matched at least once.
    pub scopes_matched: Option<usize>,
}

/// One page tried.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PagePreview {
    /// The page asked for.
    pub url: String,
    /// Where it ended after redirects.
    pub final_url: Option<String>,
    /// The HTTP status.
    pub status: Option<u16>,
    /// Why the page gave nothing, when it failed.
    pub error: Option<PreviewError>,
    /// The items, in page order.
    pub items: Vec<PreviewItem>,
    /// Items that could not be read.
    pub refused: Vec<RefusedItem>,
    /// URLs the plugin would have followed.
    pub follow: Vec<String>,
    /// Links the job's link selector would have found (none here: a preview has no job
    /// pagination).
    pub links: Vec<String>,
    /// Each selector hint of the schema (`x-scope`, `x-follow`, properties' `x-selector`)
    /// with its match count on this page.
    pub selectors: Vec<SelectorCount>,
    /// Fuel the plugin burnt.
    pub fuel: u64,
    /// Fetching (and rendering) time.
    pub fetch_ms: u64,
    /// The plugin call's time.
    pub extract_ms: u64,
    /// The page made safe to show, with `include_html`.
    pub html: Option<String>,
}

/// The pages tried.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewOut {
    /// In the order asked.
    pub pages: Vec<PagePreview>,
}

const PASTED_URL: &str = "http://preview.invalid/";

/// Try a schema on up to five pages, or on pasted HTML, without saving anything: the
/// items and each one's validation problems, the URLs it would follow, how many elements
/// each of its selectors matches, fuel and timings. A page that cannot be fetched or
/// extracted says why in its `error`; the others go on. The same limits as a run apply
/// (the schema's call limits, the host's fetch caps and guard).
#[utoipa::path(post, path = "/v1/preview", tag = "preview", request_body = PreviewIn,
    responses((status = 200, body = PreviewOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview_schema(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PreviewIn>,
) -> ApiResult<axum::Json<PreviewOut>> {
    let schema = schema_of(&state, &caller, &body).await?;
    let (pages, include_html) = pages_of(&state, &caller, body).await?;
    let found = preview::preview(&state, &schema, pages, include_html).await;
    Ok(axum::Json(PreviewOut {
        pages: found.into_iter().map(page_out).collect(),
    }))
}

fn page_out(p: preview::PagePreview) -> PagePreview {
    PagePreview {
        url: p.url,
        final_url: p.final_url,
        status: p.status,
        error: p
            .error
            .map(|(code, message)| PreviewError { code, message }),
        items: p
            .items
            .into_iter()
            .map(|i| PreviewItem {
                data: i.data,
                confidence: i.confidence,
                fields: i.fields,
                problems: i.problems,
                kept: i.kept,
            })
            .collect(),
        refused: p
            .refused
            .into_iter()
            .map(|r| RefusedItem {
                index: r.index,
                code: r.code,
                message: r.message,
            })
            .collect(),
        follow: p.follow,
        links: p.links,
        selectors: p
            .selectors
            .into_iter()
            .map(|s| SelectorCount {
                pointer: s.pointer,
                selector: s.selector,
                matches: s.matches,
                scopes_matched: s.scopes_matched,
            })
            .collect(),
        fuel: p.fuel,
        fetch_ms: p.fetch_ms,
        extract_ms: p.extract_ms,
        html: p.html,
    }
}

/// The schema to try: a saved one of the caller's, or the one given, checked as a save
/// would check it.
async fn schema_of(
    state: &AppState,
    caller: &Caller,
    body: &PreviewIn,
) -> ApiResult<preview::Schema> {
    let (plugin_id, json_schema, options, mode, limits) = match (&body.schema_id, &body.schema) {
        (Some(id), None) => {
            let row = db::schemas::get(&state.pool, caller.0.id, *id)
                .await?
                .ok_or_else(|| ApiError::not_found("schema"))?;
            let limits: SchemaLimits =
                serde_json::from_value(row.limits).map_err(ApiError::internal)?;
            (
                row.plugin_id,
                row.json_schema,
                row.plugin_options,
                row.validation_mode,
                limits,
            )
        }
        (None, Some(inline)) => {
            let plugin = super::schemas::extractor(
                state,
                caller,
                &inline.plugin,
                inline.plugin_version.as_deref(),
            )
            .await?;
            let options = inline
                .plugin_options
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            if !options.is_object() {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "plugin_options must be a JSON object",
                ));
            }
            (
                plugin.id,
                inline.json_schema.get().to_owned(),
                options,
                inline.validation_mode,
                inline.limits.clone(),
            )
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give exactly one of schema_id and schema",
            ));
        }
    };
    let value: serde_json::Value = serde_json::from_str(&json_schema)
        .map_err(|e| ApiError::new(ErrorCode::InvalidSchema, e.to_string()))?;
    let validator = validate::check_schema(&value).map_err(|problems| {
        ApiError::new(ErrorCode::InvalidSchema, "the JSON Schema is not valid")
            .with_details(problems)
    })?;
    let mut limits = limits
        .apply(state.runtime.default_call_limits(), state.runtime.limits())
        .map_err(|why| ApiError::new(ErrorCode::LimitAboveCeiling, why))?;
    limits.owner = Some(caller.0.id);
    let plugin = state.plugin(plugin_id).await.map_err(|e| {
        ApiError::new(
            ErrorCode::UnknownPlugin,
            format!("the schema's plugin cannot be loaded: {e}"),
        )
    })?;
    Ok(preview::Schema {
        plugin,
        json_schema: json_schema.into(),
        options: options.to_string().into(),
        mode,
        validator: (mode != ValidationMode::Off).then_some(validator),
        limits,
    })
}

/// The pages to try, checked as a job's start URLs and fetch settings are, and whether
/// their HTML is wanted back.
async fn pages_of(state: &AppState, caller: &Caller, body: PreviewIn) -> ApiResult<(Pages, bool)> {
    let include = body.include_html;
    match (body.urls, body.html) {
        (None, Some(html)) => {
            let url = body.url.unwrap_or_else(|| PASTED_URL.to_owned());
            if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "url must be an http(s) URL",
                ));
            }
            Ok((Pages::Html { html, url }, include))
        }
        (Some(urls), None) => {
            if urls.is_empty() || urls.len() > preview::MAX_PAGES {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("give 1 to {} urls", preview::MAX_PAGES),
                ));
            }
            let (settings, secrets) = match body.job_id {
                Some(id) => {
                    if body.fetch.is_some() {
                        return Err(ApiError::new(
                            ErrorCode::InvalidRequest,
                            "give job_id or fetch, not both",
                        ));
                    }
                    let job = db::jobs::get(&state.pool, caller.0.id, id)
                        .await?
                        .ok_or_else(|| ApiError::not_found("job"))?;
                    let settings: FetchSettings =
                        serde_json::from_value(job.fetch_settings).map_err(ApiError::internal)?;
                    (settings, db::job_secrets::get(&state.pool, id).await?)
                }
                None => (body.fetch.unwrap_or_default(), JobSecrets::default()),
            };
            let problems = fetch_problems(state, &urls, &settings);
            if !problems.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "the pages cannot be fetched",
                )
                .with_details(problems));
            }
            if settings.render == RenderMode::Browser
                && let Some(why) = state.browser_unavailable()
            {
                return Err(ApiError::new(ErrorCode::BrowserUnavailable, why));
            }
            Ok((
                Pages::Urls {
                    urls,
                    settings: Box::new(settings),
                    secrets,
                },
                include,
            ))
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "give exactly one of urls and html",
        )),
    }
}

/// What is wrong with fetching `urls` by `settings`, checked as a job's start URLs and
/// fetch settings are (pointers under `/urls` and `/fetch`).
fn fetch_problems(state: &AppState, urls: &[String], settings: &FetchSettings) -> Vec<Problem> {
    let spec = JobSpec {
        start_urls: urls,
        pagination: &Pagination::None,
        max_pages: 1,
        concurrency: 1,
        max_depth: None,
        fetch: settings,
        drop_query_params: &[],
    };
    spec.problems(&state.config.fetch)
        .into_iter()
        .map(|(path, message)| Problem {
            path: path.replace("/start_urls", "/urls"),
            message,
        })
        .collect()
}

/// A selector to check, or example elements to propose one from, on a page.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectorIn {
    /// The page (the `html` a `/v1/preview` with `include_html` gave, so that element
    /// paths name the elements its frame shows), at most 4 MiB with the request…
    pub html: Option<String>,
    /// …or a page to fetch with default fetch settings (exactly one of the two). With
    /// `html`, the URL links resolve against.
    pub url: Option<String>,
    /// Check this selector…
    pub selector: Option<String>,
    /// …or propose one from these elements (exactly one of the two): each a path of
    /// element-child indexes from `<html>` down (`[]` is `<html>`, `[1]` is `<body>` after
    /// `<head>`, `[1, 0]` body's first element child). One example gives a selector for that
    /// element; two or more give what they have in common (and, with no `within`, the
    /// repeating item around them).
    #[schema(max_items = 100)]
    pub examples: Option<Vec<Vec<usize>>>,
    /// Elements the proposal must not match.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub rejects: Vec<Vec<usize>>,
    /// Work inside each element this selector matches (the item scope): a checked
    /// selector is counted in every item, a proposed one is relative to the item.
    pub within: Option<String>,
    /// Matches to describe (default 20, at most 100).
    #[schema(minimum = 0, maximum = 100)]
    pub sample: Option<usize>,
}

/// One element matched.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelectorMatch {
    /// Its element path.
    pub path: Vec<usize>,
    /// Its text, collapsed (at most 200 bytes).
    pub text: String,
    /// Its outer HTML (at most 400 bytes).
    pub html: String,
}

/// The repeating item around proposed matches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelectorContainer {
    /// A selector for the items (the schema's `x-scope`).
    pub selector: String,
    /// How many there are.
    pub count: usize,
    /// The field's selector inside an item (its `x-selector`); null when the field is the
    /// item itself.
    pub field: Option<String>,
}

/// What a selector matches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelectorOut {
    /// The selector checked or proposed.
    pub selector: String,
    /// Elements it matches (each once).
    pub count: usize,
    /// Elements `within` matches.
    pub scopes: Option<usize>,
    /// Of those, how many hold a match.
    pub in_scopes: Option<usize>,
    /// The first matches, in page order.
    pub matches: Vec<SelectorMatch>,
    /// With two or more examples and no `within`: the repeating item around them.
    pub container: Option<SelectorContainer>,
}

/// Check a CSS selector on a page, or propose one from example elements: the count, a
/// sample of matches (element path, text, HTML), per-item counts inside `within`. The
/// matching is trawl's own, so the counts are those a run gets.
#[utoipa::path(post, path = "/v1/preview/selector", tag = "preview", request_body = SelectorIn,
    responses((status = 200, body = SelectorOut), (status = 422, body = ErrorBody)))]
async fn preview_selector(
    State(state): State<AppState>,
    _caller: Caller,
    ApiJson(body): ApiJson<SelectorIn>,
) -> ApiResult<axum::Json<SelectorOut>> {
    let sample = body.sample.unwrap_or(20);
    if sample > 100 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "sample must be 0 to 100",
        ));
    }
    if body
        .examples
        .as_ref()
        .is_some_and(|e| e.len() > trawl_dom::picker::MAX_EXAMPLES)
        || body.rejects.len() > trawl_dom::picker::MAX_EXAMPLES
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "at most 100 examples and 100 rejects",
        ));
    }
    let (html, url) = match (body.html, body.url) {
        (Some(html), url) => (html, url.unwrap_or_else(|| PASTED_URL.to_owned())),
        (None, Some(url)) => (fetch_one(&state, &url).await?, url),
        (None, None) => {
            return Err(ApiError::new(ErrorCode::InvalidRequest, "give html or url"));
        }
    };
    let what = match (body.selector, body.examples) {
        (Some(selector), None) => What::Check(selector),
        (None, Some(examples)) => What::Propose(examples, body.rejects),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give exactly one of selector and examples",
            ));
        }
    };
    let limits = state.runtime.default_call_limits().clone();
    let within = body.within;
    let _permit = preview::DOM_WORK
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let worked = tokio::task::spawn_blocking(move || {
        let clock = trawl_dom::Deadline::at(Instant::now() + limits.timeout.min(SELECTOR_TIME));
        let doc = trawl_dom::Document::parse(&html, &url, &limits.dom, &clock)?;
        match what {
            What::Check(selector) => trawl_dom::picker::check(
                &doc,
                &selector,
                within.as_deref(),
                sample,
                &limits.dom,
                &clock,
            )
            .map(|m| (m, None)),
            What::Propose(examples, rejects) => trawl_dom::picker::propose(
                &doc,
                &examples,
                &rejects,
                within.as_deref(),
                sample,
                &limits.dom,
                &clock,
            )
            .map(|p| (p.matches, p.container)),
        }
    })
    .await
    .map_err(ApiError::internal)?;
    let (matches, container) = worked.map_err(|e| {
        let code = match &e {
            trawl_dom::DomError::BadSelector(_) => ErrorCode::InvalidSelector,
            trawl_dom::DomError::NoSelector(_) => ErrorCode::NoSelector,
            trawl_dom::DomError::Deadline => ErrorCode::Timeout,
            _ => ErrorCode::PageTooComplex,
        };
        ApiError::new(code, e.to_string())
    })?;
    Ok(axum::Json(SelectorOut {
        selector: matches.selector,
        count: matches.count,
        scopes: matches.scopes,
        in_scopes: matches.in_scopes,
        matches: matches
            .sample
            .into_iter()
            .map(|m| SelectorMatch {
                path: m.path,
                text: m.text,
                html: m.html,
            })
            .collect(),
        container: container.map(|c| SelectorContainer {
            selector: c.selector,
            count: c.count,
            field: c.field,
        }),
    }))
}

enum What {
    Check(String),
    Propose(Vec<Vec<usize>>, Vec<Vec<usize>>),
}

/// One selector request's time on its page, at most.
const SELECTOR_TIME: Duration = Duration::from_secs(5);

/// A page fetched with default settings, for a selector request that names a URL.
async fn fetch_one(state: &AppState, url: &str) -> ApiResult<String> {
    let settings = FetchSettings::default();
    if let Some(problem) = fetch_problems(state, &[url.to_owned()], &settings).pop() {
        return Err(ApiError::new(ErrorCode::InvalidRequest, problem.message));
    }
    let session =
        crate::crawl::Session::new(state.fetcher.clone(), &settings, &JobSecrets::default())
            .map_err(ApiError::internal)?;
    match session.visit(url).await.result {
        crate::crawl::VisitResult::Fetched(fetched) => Ok(fetched.page.body.clone()),
        crate::crawl::VisitResult::Skipped { code, message } => Err(fetch_failed(code, message)),
        crate::crawl::VisitResult::Failed(e) => Err(fetch_failed(e.code(), format!("{url}: {e}"))),
    }
}

/// A page that could not be had: the page's own code (`blocked_address`,
/// `robots_disallowed`, `http_status`…) in the details.
fn fetch_failed(code: &str, message: String) -> ApiError {
    ApiError::new(
        ErrorCode::FetchFailed,
        format!("the page could not be fetched: {message}"),
    )
    .with_details(vec![Problem {
        path: "/url".into(),
        message: code.to_owned(),
    }])
}
