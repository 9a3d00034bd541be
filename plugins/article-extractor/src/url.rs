//! Resolving the relative URLs of links and images against the page's URL (or its
//! `<base href>`), so that the Markdown's links work outside the page. A small resolver
//! of the common forms (RFC 3986 section 5.2), written here because the plugin has no URL
//! library: a reference it cannot make sense of is kept as written.

/// An absolute `scheme://authority` URL taken apart, to resolve references against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// `https:`, lower-case, with its colon.
    scheme: String,
    /// `//host:port`, as written.
    authority: String,
    /// The path, `/` at least.
    path: String,
    /// `?query`, or empty.
    query: String,
}

impl Base {
    /// The base of an absolute hierarchical URL; `None` for anything else.
    ///
    /// ```
    /// let base = article_extractor::url::Base::parse("https://example.com/a/b?x#y").expect("absolute");
    /// assert_eq!(base.resolve("c"), "https://example.com/a/c");
    /// ```
    pub fn parse(url: &str) -> Option<Self> {
        let url = url.trim();
        let colon = scheme_end(url)?;
        let (scheme, rest) = url.split_at(colon + 1);
        let rest = rest.strip_prefix("//")?;
        let rest = rest.split('#').next().unwrap_or_default();
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(auth_end);
        if authority.is_empty() {
            return None;
        }
        let (path, query) = match rest.find('?') {
            Some(q) => rest.split_at(q),
            None => (rest, ""),
        };
        Some(Self {
            scheme: scheme.to_ascii_lowercase(),
            authority: format!("//{authority}"),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            query: query.into(),
        })
    }

    /// `reference` made absolute. Absolute URLs and references that cannot be read are
    /// returned as written (trimmed).
    ///
    /// ```
    /// let base = article_extractor::url::Base::parse("https://example.com/news/2024/story.html").expect("absolute");
    /// assert_eq!(base.resolve("/about"), "https://example.com/about");
    /// assert_eq!(base.resolve("../img/a.png"), "https://example.com/news/img/a.png");
    /// assert_eq!(base.resolve("//cdn.example.net/x.jpg"), "https://cdn.example.net/x.jpg");
    /// assert_eq!(base.resolve("?page=2"), "https://example.com/news/2024/story.html?page=2");
    /// assert_eq!(base.resolve("#notes"), "https://example.com/news/2024/story.html#notes");
    /// assert_eq!(base.resolve("mailto:a@example.com"), "mailto:a@example.com");
    /// ```
    pub fn resolve(&self, reference: &str) -> String {
        let r = reference.trim();
        if r.is_empty() {
            return format!(
                "{}{}{}{}",
                self.scheme, self.authority, self.path, self.query
            );
        }
        if scheme_end(r).is_some() {
            return r.to_string();
        }
        if let Some(rest) = r.strip_prefix("//") {
            return format!("{}//{rest}", self.scheme);
        }
        let origin = format!("{}{}", self.scheme, self.authority);
        if r.starts_with('#') {
            return format!("{origin}{}{}{r}", self.path, self.query);
        }
        if r.starts_with('?') {
            return format!("{origin}{}{r}", self.path);
        }
        // Split off the query and fragment: only the path has dot segments.
        let tail_at = r.find(['?', '#']).unwrap_or(r.len());
        let (rpath, tail) = r.split_at(tail_at);
        let merged = if rpath.starts_with('/') {
            rpath.to_string()
        } else {
            let dir = match self.path.rfind('/') {
                Some(slash) => &self.path[..=slash],
                None => "/",
            };
            format!("{dir}{rpath}")
        };
        format!("{origin}{}{tail}", remove_dots(&merged))
    }
}

/// Where a URL's scheme ends (its colon), when it starts with one: a letter, then
/// letters, digits, `+`, `-`, `.`, before any `/`, `?` or `#`.
fn scheme_end(s: &str) -> Option<usize> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(colon)
}

/// A path with its `.` and `..` segments applied.
fn remove_dots(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (k, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if k == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if k == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Whether a link's target is worth writing: not a script, not empty.
pub fn linkable(href: &str) -> bool {
    let h = href.trim();
    !h.is_empty()
        && !h
            .get(..11)
            .is_some_and(|p| p.eq_ignore_ascii_case("javascript:"))
        && !h.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        let base = Base::parse("http://a/b/c/d;p?q").expect("absolute");
        assert_eq!(base.resolve("g"), "http://a/b/c/g");
        assert_eq!(base.resolve("./g"), "http://a/b/c/g");
        assert_eq!(base.resolve("g/"), "http://a/b/c/g/");
        assert_eq!(base.resolve(".."), "http://a/b/");
        assert_eq!(base.resolve("../../../g"), "http://a/g");
        assert_eq!(base.resolve("g?y#s"), "http://a/b/c/g?y#s");
        assert!(Base::parse("/relative").is_none());
        assert!(!linkable("javascript:void(0)"));
    }
}
