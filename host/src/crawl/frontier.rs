//! The frontier's view of URLs: one normal form per page, so that a page reached by
//! differently written links is fetched once, and the filter that decides which links a
//! `crawl` job follows.
//!
//! The `url` crate already lower-cases the scheme and host, drops default ports, removes
//! dot segments and encodes what must be encoded (WHATWG URL). On top of that we drop the
//! fragment, decode percent-escapes of unreserved characters, upper-case the hex of the
//! others (RFC 3986 §6.2.2), drop an empty query and, per job, listed query parameters
//! (session ids, tracking tags): the crawl traps normalisation can close.

use std::collections::HashSet;

/// Normalise an absolute http(s) URL; `None` for anything else.
pub fn normalise(url: &str, drop_params: &[String]) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    parsed.set_fragment(None);
    let path = normalise_escapes(parsed.path());
    parsed.set_path(&path);
    let query = parsed.query().map(|q| {
        q.split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                let key = percent_decode(key);
                !drop_params.contains(&key)
            })
            .map(normalise_escapes)
            .collect::<Vec<_>>()
            .join("&")
    });
    parsed.set_query(query.as_deref().filter(|q| !q.is_empty()));
    // Decoding can turn `%2E%2E` into a dot segment: parse once more so the result is
    // a fixed point (normalising twice changes nothing).
    let again = url::Url::parse(parsed.as_str()).ok()?;
    Some(again.into())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// `%7e` → `~`, `%2f` → `%2F`, a stray `%` → `%25` (else decoding `%%41` would make
/// the new escape `%A…`); anything else as it is.
fn normalise_escapes(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let decoded = hi * 16 + lo;
            if is_unreserved(decoded) {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(bytes[i + 1]).to_ascii_uppercase());
                out.push(char::from(bytes[i + 2]).to_ascii_uppercase());
            }
            i += 3;
            continue;
        }
        if bytes[i] == b'%' {
            out.push_str("%25");
            i += 1;
            continue;
        }
        // Multi-byte characters are copied whole: only ASCII bytes are looked at above.
        let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Which links a `crawl` job follows: on the start URLs' hosts unless told otherwise,
/// matching an include pattern (when there are any) and no exclude pattern. Patterns are
/// regular expressions searched in the normalised URL.
#[derive(Debug)]
pub struct LinkFilter {
    hosts: Option<HashSet<String>>,
    include: Vec<regex_lite::Regex>,
    exclude: Vec<regex_lite::Regex>,
}

pub use crate::model::job::{BadPattern, compile_pattern as compile};

impl LinkFilter {
    /// A filter for a crawl from `start_urls`.
    pub fn new(
        start_urls: &[String],
        same_host: bool,
        include: &[String],
        exclude: &[String],
    ) -> Result<Self, BadPattern> {
        let hosts = same_host.then(|| {
            start_urls
                .iter()
                .filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_owned))
                .collect()
        });
        Ok(Self {
            hosts,
            include: include
                .iter()
                .map(|p| compile(p))
                .collect::<Result<_, _>>()?,
            exclude: exclude
                .iter()
                .map(|p| compile(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether to follow `url` (normalised).
    pub fn follows(&self, url: &str) -> bool {
        if let Some(hosts) = &self.hosts {
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            if !host.is_some_and(|h| hosts.contains(&h)) {
                return false;
            }
        }
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(url)))
            && !self.exclude.iter().any(|r| r.is_match(url))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn n(url: &str) -> String {
        normalise(url, &["sessionid".into(), "utm_source".into()]).expect("normalises")
    }

    #[test]
    fn examples() {
        assert_eq!(
            n("HTTP://Example.COM:80/a/./b/../c?x=1#frag"),
            "http://example.com/a/c?x=1"
        );
        assert_eq!(n("https://a.test:443"), "https://a.test/");
        assert_eq!(
            n("http://a.test/%7euser/%2f%41?q=%7e%2f"),
            "http://a.test/~user/%2FA?q=~%2F"
        );
        assert_eq!(n("http://a.test/a/%2E%2E/b"), "http://a.test/b");
        assert_eq!(
            n("http://a.test/%%41a?q=100%"),
            "http://a.test/%25Aa?q=100%25"
        );
        assert_eq!(
            n("http://a.test/cal?sessionid=abc&month=3&utm_source=x"),
            "http://a.test/cal?month=3"
        );
        assert_eq!(n("http://a.test/p?sessionid=1"), "http://a.test/p");
        assert_eq!(n("http://a.test/p?"), "http://a.test/p");
        assert_eq!(n("http://a.test/ü space"), "http://a.test/%C3%BC%20space");
        assert_eq!(normalise("mailto:x@a.test", &[]), None);
        assert_eq!(normalise("ftp://a.test/", &[]), None);
        assert_eq!(normalise("/relative", &[]), None);
    }

    #[test]
    fn crawl_filter() {
        let filter = LinkFilter::new(
            &["https://shop.test/".into()],
            true,
            &["/catalogue/".into()],
            &["\\?sort=".into()],
        )
        .expect("patterns");
        assert!(filter.follows("https://shop.test/catalogue/page-2.html"));
        assert!(filter.follows("http://shop.test/catalogue/page-2.html"));
        assert!(!filter.follows("https://other.test/catalogue/page-2.html"));
        assert!(!filter.follows("https://shop.test/about.html"));
        assert!(!filter.follows("https://shop.test/catalogue/?sort=price"));
        let anywhere =
            LinkFilter::new(&["https://shop.test/".into()], false, &[], &[]).expect("patterns");
        assert!(anywhere.follows("https://other.test/x"));
        assert!(LinkFilter::new(&[], true, &["(".into()], &[]).is_err());
    }

    /// Pieces of URLs, including characters that need escaping, escapes of unreserved
    /// and reserved characters in both cases, and dot segments.
    fn segment() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                "[a-zA-Z0-9_~-]{1,4}",
                Just(".".to_owned()),
                Just("..".to_owned()),
                Just("%7e".to_owned()),
                Just("%7E".to_owned()),
                Just("%41".to_owned()),
                Just("%2f".to_owned()),
                Just("%2e".to_owned()),
                Just("%zz".to_owned()),
                Just("%".to_owned()),
                Just("ü".to_owned()),
                Just("a b".to_owned()),
                Just("+".to_owned()),
            ],
            0..4,
        )
        .prop_map(|parts| parts.concat())
    }

    fn url_parts() -> impl Strategy<Value = (String, String, Vec<String>, Vec<(String, String)>)> {
        (
            prop_oneof![Just("http".to_owned()), Just("https".to_owned())],
            "[a-z]{1,8}(\\.[a-z]{1,5}){0,2}",
            prop::collection::vec(segment(), 0..5),
            prop::collection::vec(
                (
                    prop_oneof![
                        "[a-z]{1,6}",
                        Just("sessionid".to_owned()),
                        Just("utm_source".to_owned())
                    ],
                    segment(),
                ),
                0..4,
            ),
        )
    }

    fn build(
        scheme: &str,
        host: &str,
        port: &str,
        segments: &[String],
        query: &[(String, String)],
        fragment: &str,
    ) -> String {
        let mut url = format!("{scheme}://{host}{port}/{}", segments.join("/"));
        if !query.is_empty() {
            let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            url.push('?');
            url.push_str(&pairs.join("&"));
        }
        url.push_str(fragment);
        url
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing((scheme, host, segments, query) in url_parts()) {
            let url = build(&scheme, &host, "", &segments, &query, "#f");
            if let Some(once) = normalise(&url, &["sessionid".into()]) {
                prop_assert_eq!(normalise(&once, &["sessionid".into()]), Some(once.clone()));
            }
        }

        #[test]
        fn spellings_of_one_page_meet((scheme, host, segments, query) in url_parts(), frag in "(#[a-z]{0,3})?") {
            let plain = build(&scheme, &host, "", &segments, &query, "");
            let port = if scheme == "http" { ":80" } else { ":443" };
            // Upper-case scheme and host, explicit default port, a fragment, upper-case
            // percent-escape hex: the same page to any server.
            let upper_escapes: Vec<String> = segments.iter().map(|s| s.replace("%7e", "%7E").replace("%2f", "%2F")).collect();
            let variant = build(&scheme.to_uppercase(), &host.to_uppercase(), port, &upper_escapes, &query, &frag);
            prop_assert_eq!(n(&plain), n(&variant));
        }

        #[test]
        fn no_fragment_and_no_dropped_parameter((scheme, host, segments, query) in url_parts()) {
            let url = build(&scheme, &host, "", &segments, &query, "#top");
            let out = n(&url);
            prop_assert!(!out.contains('#'));
            let parsed = url::Url::parse(&out).expect("output parses");
            prop_assert!(parsed.query_pairs().all(|(k, _)| k != "sessionid" && k != "utm_source"));
            // Kept parameters stay in their order.
            let kept: Vec<String> = query.iter().map(|(k, _)| k.clone()).filter(|k| k != "sessionid" && k != "utm_source").collect();
            let got: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
            prop_assert_eq!(got, kept);
        }
    }
}
