//! The web console: the built assets of `ui/` (committed under `ui/dist`), embedded in the
//! binary and served at `/`. The console talks to the `/v1` API like any client, with the
//! user's key; these routes need none and serve nothing but the console's own files.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/console.rs"));
}

/// The console's own policy: its scripts and styles from trawl only, the API on the same
/// origin, pages to scrape shown only in `srcdoc` frames (which inherit this policy, so
/// they load nothing from anywhere either), and no one may frame the console itself.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

/// An embedded file by its path under `ui/dist`.
fn file(path: &str) -> Option<&'static [u8]> {
    assets::CONSOLE
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

async fn index() -> Response {
    let Some(body) = file("index.html") else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This trawl was built without its console (ui/dist was empty): build it with \
             `npm ci && npm run build` in ui/, then rebuild trawl. The API is at /v1.",
        )
            .into_response();
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response();
    secure(response.headers_mut());
    response
}

async fn asset(Path(path): Path<String>, request: HeaderMap) -> Response {
    let path = format!("assets/{path}");
    let Some(body) = file(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    // Built names carry a hash of their content: the name is the version.
    let etag = format!("\"{:x}\"", fnv(body));
    if request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = (
        [
            (header::CONTENT_TYPE, media_type(&path)),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    secure(response.headers_mut());
    response
}

fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}

/// A 64-bit FNV-1a hash: enough to tell two builds of a file apart.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::{fnv, media_type};

    #[test]
    fn types_and_tags_of_assets() {
        assert_eq!(
            media_type("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            media_type("assets/index-abc.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(media_type("assets/x"), "application/octet-stream");
        assert_ne!(fnv(b"a"), fnv(b"b"));
    }
}
