//! The job specification: where a job starts, how it finds its next pages, how it
//! fetches them and how far it goes. The API validates it ([`JobSpec::problems`]) and
//! stores it; the workers execute it.

use serde::{Deserialize, Serialize};

use crate::config::FetchConfig;
use crate::model::reach::{BrowserSettings, Login, Method, ProxyRotation, RenderMode, RequestBody};

/// The settings a run was worked with, as its worker read them when it started the run
/// (a job edited since shows its new settings; its runs keep these).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunParams {
    /// The job's name then.
    pub job_name: String,
    /// The schema, its name and its version then.
    pub schema_id: crate::ids::SchemaId,
    pub schema_name: String,
    pub schema_version: i32,
    /// The extractor, `name@version`.
    pub plugin: String,
    /// The schema's validation mode.
    pub validation_mode: crate::model::ValidationMode,
    /// Where crawling started (after the run's overrides).
    pub start_urls: Vec<String>,
    /// How next pages were found.
    pub pagination: Pagination,
    /// Pages fetched at most (after the run's overrides).
    pub max_pages: i32,
    /// Link steps from a start URL, at most.
    pub max_depth: Option<i32>,
    /// Requests in flight at once.
    pub concurrency: i32,
    /// Politeness, retries, timeouts, render mode, login (its secret fields never).
    pub fetch: FetchSettings,
    /// Query parameters removed from every URL.
    pub drop_query_params: Vec<String>,
    /// Where items were deduplicated.
    pub dedup_scope: crate::model::DedupScope,
    /// The run's credit cap.
    pub max_credits: Option<i64>,
}

/// What one run's creation request changes of its job (`POST /v1/jobs/{id}/runs` body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunOverrides {
    /// Start from these URLs instead of the job's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 10000)]
    pub start_urls: Option<Vec<String>>,
    /// Fetch at most this many pages instead of the job's `max_pages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_pages: Option<i32>,
    /// End the run `succeeded` (reason `credit_cap_reached`) once it has cost this many
    /// credits, instead of the job's `max_credits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_credits: Option<i64>,
}

/// What a job asks of its runs, borrowed from wherever it is held (an API request, a
/// stored job), to be checked.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec<'a> {
    /// Where crawling starts.
    pub start_urls: &'a [String],
    /// How the next pages are found.
    pub pagination: &'a Pagination,
    /// Pages fetched at most in one run.
    pub max_pages: i32,
    /// Requests in flight at once.
    pub concurrency: i32,
    /// Link steps from a start URL, at most.
    pub max_depth: Option<i32>,
    /// Politeness, retries and timeouts.
    pub fetch: &'a FetchSettings,
    /// Query parameters removed from every URL.
    pub drop_query_params: &'a [String],
}

impl JobSpec<'_> {
    /// Everything wrong with it, as (JSON pointer, message) pairs; `caps` are the host's.
    pub fn problems(&self, caps: &FetchConfig) -> Vec<(String, String)> {
        let spec = self;
        let mut problems = Vec::new();
        let mut problem = |path: &str, message: String| problems.push((path.to_owned(), message));
        let templated = matches!(spec.pagination, Pagination::UrlTemplate { .. });
        if (spec.start_urls.is_empty() && !templated) || spec.start_urls.len() > 10_000 {
            problem("/start_urls", "give 1 to 10000 start URLs".into());
        }
        for (i, url) in spec.start_urls.iter().enumerate() {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => problem(
                    &format!("/start_urls/{i}"),
                    format!("{url:?} is not an http(s) URL"),
                ),
                Err(e) => problem(&format!("/start_urls/{i}"), format!("{url:?}: {e}")),
            }
        }
        for (at, message) in spec.pagination.problems() {
            problem(&format!("/pagination{at}"), message);
        }
        if spec.max_depth.is_some_and(|d| !(0..=10_000).contains(&d)) {
            problem("/max_depth", "must be 0 to 10000".into());
        }
        if spec.drop_query_params.len() > 100 {
            problem("/drop_query_params", "at most 100 names".into());
        }
        let fetch = &spec.fetch;
        if !(1..=caps.max_per_host_concurrency).contains(&fetch.per_host_concurrency) {
            problem(
                "/fetch/per_host_concurrency",
                format!(
                    "must be 1 to {} (this host's cap)",
                    caps.max_per_host_concurrency
                ),
            );
        }
        if fetch.delay_ms > 3_600_000 {
            problem("/fetch/delay_ms", "must be at most one hour".into());
        }
        if !(1..=caps.max_attempts).contains(&fetch.max_attempts) {
            problem(
                "/fetch/max_attempts",
                format!("must be 1 to {} (this host's cap)", caps.max_attempts),
            );
        }
        if let Some(ms) = fetch.timeout_ms
            && (ms == 0 || u128::from(ms) > caps.timeout.as_millis())
        {
            problem(
                "/fetch/timeout_ms",
                format!(
                    "must be 1 to {} (this host's cap)",
                    caps.timeout.as_millis()
                ),
            );
        }
        if let Some(agent) = &fetch.user_agent
            && (agent.trim().is_empty()
                || agent.len() > 512
                || reqwest::header::HeaderValue::from_str(agent).is_err())
        {
            problem(
                "/fetch/user_agent",
                "must be 1 to 512 characters valid in a header".into(),
            );
        }
        if fetch.content_types.is_empty() || fetch.content_types.len() > 50 {
            problem("/fetch/content_types", "give 1 to 50 media types".into());
        }
        for (i, media_type) in fetch.content_types.iter().enumerate() {
            let valid = media_type
                .split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !media_type.contains(';'));
            if !valid {
                problem(
                    &format!("/fetch/content_types/{i}"),
                    format!(
                        "{media_type:?} is not a media type such as text/html or application/*"
                    ),
                );
            }
        }
        for (at, message) in fetch.browser.problems() {
            problem(&format!("/fetch/browser{at}"), message);
        }
        if let Some(login) = &fetch.login {
            for (at, message) in login.problems() {
                problem(&format!("/fetch/login{at}"), message);
            }
        }
        if fetch.body.is_some() && fetch.method != Method::Post {
            problem(
                "/fetch/body",
                "a body is sent only with \"method\": \"POST\"".into(),
            );
        }
        if fetch
            .body
            .as_ref()
            .is_some_and(|b| b.encode().0.len() > 1 << 20)
        {
            problem("/fetch/body", "must be at most 1 MiB".into());
        }
        // The most is the owner's `quota_max_pages`, checked with the other quotas.
        if spec.max_pages < 1 {
            problem("/max_pages", "must be at least 1".into());
        }
        if !(1..=64).contains(&spec.concurrency) {
            problem("/concurrency", "must be 1 to 64".into());
        }
        problems
    }
}

/// Whether `url` is an absolute http(s) URL with a host.
pub fn is_http_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// How a job finds its next pages.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Pagination {
    /// Only the start URLs.
    None,
    /// Follow the link matched by a CSS selector on each page (`a.next`).
    NextLink {
        /// CSS selector of the next-page link.
        selector: String,
    },
    /// Numbered pages: `template` with `{page}` replaced by `start`, `start + step`, …
    /// up to `end`; without `end`, until the first page that yields no items (then the
    /// pages are fetched one after another, since each decides whether there is a next).
    UrlTemplate {
        /// An http(s) URL containing `{page}`.
        template: String,
        /// The first page number (default 1).
        #[serde(default = "one")]
        start: i64,
        /// The last page number, included.
        #[serde(default)]
        end: Option<i64>,
        /// The increment (default 1; offsets such as `?start={page}` step by 20).
        #[serde(default = "one")]
        step: i64,
    },
    /// Follow the URLs the extractor plugin returns.
    Plugin,
    /// Follow every link (`selector`, default `a[href]`) that stays on the start URLs'
    /// hosts (unless `same_host` is false), matches an `include` pattern when there are
    /// any, and matches no `exclude` pattern. Patterns are regular expressions searched in
    /// the normalised URL. Bound it with the job's `max_depth` and `max_pages`.
    Crawl {
        /// Regular expressions; a link must match one (default: any link).
        #[serde(default)]
        include: Vec<String>,
        /// Regular expressions; a link matching one is not followed.
        #[serde(default)]
        exclude: Vec<String>,
        /// Only links to the start URLs' hosts (default true).
        #[serde(default = "yes")]
        same_host: bool,
        /// Which links to consider (default `a[href]`).
        #[serde(default = "any_link")]
        selector: String,
    },
    /// The pages a site's sitemaps list. Each start URL is a sitemap (`…/sitemap.xml`,
    /// gzipped or not, or a sitemap index), a `robots.txt` whose `Sitemap:` lines name
    /// them, or any other URL of a site, whose robots.txt is read (and `/sitemap.xml`
    /// tried when it names none). Indexes are followed up to 3 levels and `max_sitemaps`
    /// files; the pages found (up to the job's `max_pages`) are the run's start pages.
    Sitemap {
        /// Regular expressions; a page must match one (default: any page).
        #[serde(default)]
        include: Vec<String>,
        /// Regular expressions; a page matching one is not fetched.
        #[serde(default)]
        exclude: Vec<String>,
        /// Only pages whose `lastmod` is at or after this instant (pages without one are
        /// kept). RFC 3339, or a date.
        #[serde(default)]
        modified_since: Option<String>,
        /// Sitemap files read at most (default 100, at most 1000).
        #[serde(default = "hundred")]
        max_sitemaps: u32,
    },
}

fn hundred() -> u32 {
    100
}

fn one() -> i64 {
    1
}
fn yes() -> bool {
    true
}
fn any_link() -> String {
    "a[href]".into()
}

/// The placeholder of `url-template`.
pub const PAGE: &str = "{page}";

impl Pagination {
    /// What is wrong with it, as (JSON pointer below `/pagination`, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self {
            Pagination::NextLink { selector } | Pagination::Crawl { selector, .. } => {
                if let Err(e) = trawl_dom::parse_selector(selector, &trawl_dom::Limits::default()) {
                    out.push(("/selector", format!("not a CSS selector: {e}")));
                }
            }
            _ => {}
        }
        match self {
            Pagination::UrlTemplate {
                template,
                start,
                end,
                step,
            } => {
                if !template.contains(PAGE) {
                    out.push(("/template", format!("must contain {PAGE}")));
                } else if !is_http_url(&fill(template, *start)) {
                    out.push(("/template", "must make absolute http(s) URLs".into()));
                }
                if *step < 1 {
                    out.push(("/step", "must be at least 1".into()));
                }
                if end.is_some_and(|e| e < *start) {
                    out.push(("/end", "must not be below start".into()));
                }
            }
            Pagination::Crawl {
                include, exclude, ..
            }
            | Pagination::Sitemap {
                include, exclude, ..
            } => {
                if let Pagination::Sitemap {
                    modified_since,
                    max_sitemaps,
                    ..
                } = self
                {
                    if modified_since
                        .as_deref()
                        .is_some_and(|m| parse_instant(m).is_none())
                    {
                        out.push((
                            "/modified_since",
                            "must be an RFC 3339 instant or a date (2026-01-31)".into(),
                        ));
                    }
                    if !(1..=1000).contains(max_sitemaps) {
                        out.push(("/max_sitemaps", "must be 1 to 1000".into()));
                    }
                }
                if include.len() + exclude.len() > 100 {
                    out.push(("/include", "at most 100 patterns in all".into()));
                }
                for (at, patterns) in [("/include", include), ("/exclude", exclude)] {
                    for p in patterns {
                        if let Err(e) = compile_pattern(p) {
                            out.push((at, e.to_string()));
                        }
                    }
                }
            }
            _ => {}
        }
        out
    }
}

/// An RFC 3339 instant, or a date (midnight UTC), as sitemaps and users write them.
pub fn parse_instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// `template` with its `{page}` replaced by `page`.
pub fn fill(template: &str, page: i64) -> String {
    template.replace(PAGE, &page.to_string())
}

/// A job's fetch settings, as the API takes and shows them. Every field has a default.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FetchSettings {
    /// Requests in flight to one host at once (default 2; at most the host's cap).
    pub per_host_concurrency: u32,
    /// Milliseconds between request starts to one host (default 0). A robots.txt
    /// `Crawl-delay` or the host's minimum can only lengthen it.
    pub delay_ms: u64,
    /// Obey robots.txt (default true). Disallowed pages are recorded as skipped.
    pub obey_robots: bool,
    /// The User-Agent to send (default: the host's, which names trawl).
    pub user_agent: Option<String>,
    /// Attempts per page, the first included (default 3; at most the host's cap).
    /// 429, 5xx, timeouts and network errors are retried with backoff.
    pub max_attempts: u32,
    /// Timeout of one request in milliseconds (default: the host's, which is also the cap).
    pub timeout_ms: Option<u64>,
    /// Media types the extractor takes (`text/html`, `application/*`, `*/*`); pages of
    /// other types are skipped without reading their bodies.
    /// Default: `text/html`, `application/xhtml+xml`; for a schema of the bundled
    /// `json-extractor`, JSON (`application/*`, `text/json`, `text/plain`) and HTML.
    pub content_types: Vec<String>,
    /// `http` (default): the server's HTML; `browser`: the DOM after the page's scripts
    /// ran in headless Chromium (the host must have Chromium installed).
    pub render: RenderMode,
    /// Waits, scrolling, blocking and contexts of `browser` rendering.
    pub browser: BrowserSettings,
    /// `GET` (default) or `POST` for every page of the job (not robots.txt, sitemaps or
    /// the login).
    pub method: Method,
    /// The body of `POST` pages: `{"json": …}` or `{"form": {"field": "value"}}`.
    pub body: Option<RequestBody>,
    /// Log in before the start URLs; the run crawls with the session it gets. The
    /// secret fields (a password) are in the job's `secrets.login`.
    pub login: Option<Login>,
    /// How requests are spread over the proxies in the job's `secrets.proxies`.
    pub proxy_rotation: ProxyRotation,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            per_host_concurrency: 2,
            delay_ms: 0,
            obey_robots: true,
            user_agent: None,
            max_attempts: 3,
            timeout_ms: None,
            content_types: vec!["text/html".into(), "application/xhtml+xml".into()],
            render: RenderMode::Http,
            browser: BrowserSettings::default(),
            method: Method::Get,
            body: None,
            login: None,
            proxy_rotation: ProxyRotation::PerRequest,
        }
    }
}

/// A pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("pattern {pattern:?}: {message}")]
pub struct BadPattern {
    /// The pattern as given.
    pub pattern: String,
    /// The compiler's complaint.
    pub message: String,
}

/// Compile a user's pattern, with a size limit: patterns come from API clients.
pub fn compile_pattern(pattern: &str) -> Result<regex_lite::Regex, BadPattern> {
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| BadPattern {
            pattern: pattern.to_owned(),
            message: e.to_string(),
        })
}
