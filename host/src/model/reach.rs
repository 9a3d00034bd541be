//! What a job's requests are made of beyond a plain GET: rendering in a browser, the
//! method and body, a login before the start URLs, proxies, and the secrets among them
//! (headers, credentials, proxy URLs), which the API takes but never shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a page becomes the document the extractor reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RenderMode {
    /// The server's HTML as it came (default).
    #[default]
    Http,
    /// The DOM after the page's scripts ran in headless Chromium. Every request the page
    /// makes is made by trawl, through the same guard, robots.txt and politeness.
    Browser,
}

/// Which browser context a page is rendered in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ContextMode {
    /// One context for the whole run: cookies and storage set by scripts carry over
    /// from page to page (default).
    #[default]
    Run,
    /// A fresh context per page: nothing carries over.
    Page,
}

/// Kinds of resources a browser page may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// Images.
    Image,
    /// Web fonts.
    Font,
    /// Audio and video.
    Media,
    /// Style sheets.
    Stylesheet,
    /// Scripts.
    Script,
    /// `XMLHttpRequest`s.
    Xhr,
    /// `fetch()` calls.
    Fetch,
    /// Documents (frames).
    Document,
    /// Anything else.
    Other,
}

/// How a page is rendered in `browser` mode. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserSettings {
    /// Wait until an element matches this CSS selector (default: no such wait).
    pub wait_for: Option<String>,
    /// Wait until no request of the page has been in flight for half a second
    /// (default true).
    pub network_idle: bool,
    /// Wait this long after the load, in milliseconds (default 0).
    #[schema(maximum = 60000)]
    pub delay_ms: u64,
    /// The waits together last at most this long, in milliseconds (default 10000, at most
    /// 60000); a wait that runs out is not an error: the page is read as it is then.
    #[schema(minimum = 1, maximum = 60000)]
    pub wait_timeout_ms: u64,
    /// Scroll to the end up to this many times, waiting for the page to grow after each
    /// (infinite scroll); 0 (default) does not scroll. At most 100.
    #[schema(maximum = 100)]
    pub scroll_rounds: u32,
    /// Resources never fetched (default images, fonts and media).
    pub block: Vec<ResourceKind>,
    /// A context per run (default) or per page.
    pub context: ContextMode,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        Self {
            wait_for: None,
            network_idle: true,
            delay_ms: 0,
            wait_timeout_ms: 10_000,
            scroll_rounds: 0,
            block: vec![ResourceKind::Image, ResourceKind::Font, ResourceKind::Media],
            context: ContextMode::Run,
        }
    }
}

impl BrowserSettings {
    /// What is wrong with it, as (JSON pointer below the settings, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(selector) = &self.wait_for
            && let Err(e) = trawl_dom::parse_selector(selector, &trawl_dom::Limits::default())
        {
            out.push(("/wait_for", format!("not a CSS selector: {e}")));
        }
        if self.delay_ms > 60_000 {
            out.push(("/delay_ms", "must be at most 60000".into()));
        }
        if !(1..=60_000).contains(&self.wait_timeout_ms) {
            out.push(("/wait_timeout_ms", "must be 1 to 60000".into()));
        }
        if self.scroll_rounds > 100 {
            out.push(("/scroll_rounds", "must be at most 100".into()));
        }
        out
    }
}

/// The request method of a job's pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET (default).
    #[default]
    Get,
    /// POST, with the job's body (search and GraphQL APIs).
    Post,
}

/// The body POSTed to each of a job's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum RequestBody {
    /// A JSON document, sent as `application/json`.
    Json(serde_json::Value),
    /// Form fields, sent as `application/x-www-form-urlencoded`.
    Form(BTreeMap<String, String>),
}

impl RequestBody {
    /// Its bytes and media type.
    pub fn encode(&self) -> (Vec<u8>, &'static str) {
        match self {
            RequestBody::Json(value) => (
                serde_json::to_vec(value).expect("a JSON value always serialises"),
                "application/json",
            ),
            RequestBody::Form(fields) => (
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish()
                    .into_bytes(),
                "application/x-www-form-urlencoded",
            ),
        }
    }
}

/// How requests are spread over a job's proxies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyRotation {
    /// The next proxy for every request (default).
    #[default]
    PerRequest,
    /// One proxy per site, for as long as it works.
    StickyHost,
}

/// A login made before the start URLs, whose session (cookies) the run then crawls with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The page with the login form (http or https).
    pub url: String,
    /// The form, by CSS selector (default `form`: the page's first form). Its fields'
    /// values (hidden CSRF tokens included) are sent as they are, with the job's
    /// `secrets.login` fields set over them, to the form's `action` by its `method`.
    #[serde(default = "any_form")]
    pub form: String,
    /// Fields set over the form's, that are not secret (`remember=1`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The login worked only if the page it leads to has an element matching this.
    #[serde(default)]
    pub success_selector: Option<String>,
    /// The login failed if the page it leads to has an element matching this.
    #[serde(default)]
    pub failure_selector: Option<String>,
}

fn any_form() -> String {
    "form".into()
}

impl Login {
    /// What is wrong with it, as (JSON pointer below the login, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let http = url::Url::parse(&self.url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !http {
            out.push(("/url", "must be an absolute http(s) URL".into()));
        }
        let limits = trawl_dom::Limits::default();
        for (at, selector) in [
            ("/form", Some(&self.form)),
            ("/success_selector", self.success_selector.as_ref()),
            ("/failure_selector", self.failure_selector.as_ref()),
        ] {
            if let Some(selector) = selector
                && let Err(e) = trawl_dom::parse_selector(selector, &limits)
            {
                out.push((at, format!("not a CSS selector: {e}")));
            }
        }
        if self.fields.len() > 100 {
            out.push(("/fields", "at most 100 fields".into()));
        }
        out
    }
}

/// What a job keeps secret: taken by the API, stored apart from the job, given to its
/// runs, and never shown, logged or copied into a run's parameters.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JobSecrets {
    /// Headers sent with every request of the job's pages (Authorization, Cookie,
    /// Accept-Language…).
    pub headers: BTreeMap<String, String>,
    /// The login form's secret fields by name (`{"username": "…", "password": "…"}`).
    pub login: BTreeMap<String, String>,
    /// Proxies the job's requests go through: `http://`, `https://` or `socks5://` URLs,
    /// with credentials in them where the proxy wants them.
    pub proxies: Vec<String>,
}

impl std::fmt::Debug for JobSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: a secret's value never reaches a log line by a `{:?}`.
        f.debug_struct("JobSecrets")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("login", &self.login.keys().collect::<Vec<_>>())
            .field("proxies", &self.proxies.len())
            .finish()
    }
}

/// Headers a job may not set: trawl sets them itself, or they would let a job speak for
/// another host.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
    "keep-alive",
];

impl JobSecrets {
    /// What is wrong with them, as (JSON pointer below the secrets, message) pairs. The
    /// messages never quote a value.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.headers.len() > 50 {
            out.push(("/headers".into(), "at most 50 headers".into()));
        }
        for (name, value) in &self.headers {
            let at = format!("/headers/{}", name.replace('~', "~0").replace('/', "~1"));
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                out.push((at, "not a header name".into()));
            } else if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                out.push((at, "trawl sets this header itself".into()));
            } else if value.len() > 8192 || reqwest::header::HeaderValue::from_str(value).is_err() {
                out.push((
                    at,
                    "the value must be at most 8192 characters valid in a header".into(),
                ));
            }
        }
        if self.login.len() > 20 {
            out.push(("/login".into(), "at most 20 fields".into()));
        }
        if self.proxies.len() > 100 {
            out.push(("/proxies".into(), "at most 100 proxies".into()));
        }
        for (i, proxy) in self.proxies.iter().enumerate() {
            let ok = url::Url::parse(proxy).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h")
                    && u.host_str().is_some()
            });
            if !ok {
                out.push((
                    format!("/proxies/{i}"),
                    "must be an http://, https://, socks5:// or socks5h:// URL with a host".into(),
                ));
            }
        }
        out
    }

    /// What the API shows of them: names and counts, never values.
    pub fn shown(&self) -> SecretsShown {
        SecretsShown {
            headers: self.headers.keys().cloned().collect(),
            login: self.login.keys().cloned().collect(),
            proxies: self.proxies.len(),
        }
    }
}

/// What the API shows of a job's secrets: which there are, never what they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SecretsShown {
    /// The names of the headers set.
    pub headers: Vec<String>,
    /// The names of the login fields set.
    pub login: Vec<String>,
    /// How many proxies there are.
    pub proxies: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_values() {
        let secrets = JobSecrets {
            headers: [("Authorization".to_owned(), "Bearer hunter2".to_owned())].into(),
            login: [("password".to_owned(), "hunter2".to_owned())].into(),
            proxies: vec!["http://u:hunter2@proxy.example:8080".into()],
        };
        let debug = format!("{secrets:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let shown = serde_json::to_string(&secrets.shown()).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Authorization"), "{shown}");
    }

    #[test]
    fn secrets_problems() {
        let secrets = JobSecrets {
            headers: [
                ("Host".to_owned(), "x".to_owned()),
                ("bad name".to_owned(), "x".to_owned()),
                ("X-Ok".to_owned(), "line\nbreak".to_owned()),
            ]
            .into(),
            login: BTreeMap::new(),
            proxies: vec!["ftp://proxy".into(), "socks5://127.0.0.1:1080".into()],
        };
        let problems = secrets.problems();
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/headers/Host",
                "/headers/X-Ok",
                "/headers/bad name",
                "/proxies/0"
            ]
        );
    }

    #[test]
    fn bodies_encode() {
        let form = RequestBody::Form([("q".to_owned(), "a b&c".to_owned())].into());
        assert_eq!(
            form.encode(),
            (b"q=a+b%26c".to_vec(), "application/x-www-form-urlencoded")
        );
        let json = RequestBody::Json(serde_json::json!({"query": "{ items }"}));
        assert_eq!(json.encode().1, "application/json");
    }
}
