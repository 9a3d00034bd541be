//! An article's metadata: structured data first (JSON-LD `Article`, `NewsArticle`,
//! `BlogPosting`… including `@graph`s and `@id` references; microdata `itemprop`s), then
//! `<meta>` tags (OpenGraph, `article:*`, `author`, `description`, Parse.ly, Sailthru,
//! Dublin Core), then the page itself (`<h1>`, `<time datetime>`, bylines, `<html lang>`).
//! Each value found keeps where it was found and how sure that source usually is.

use serde_json::Value;
use trawl_sdk::{Origin, Tree};

use crate::content::tokens;
use crate::dates;

/// One value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// Where it was found.
    pub origin: Origin,
    /// Which tag, property or element.
    pub detail: String,
    /// How sure that source is, in `[0, 1]`.
    pub confidence: f32,
}

fn found<T>(value: T, origin: Origin, detail: &str, confidence: f32) -> Found<T> {
    Found {
        value,
        origin,
        detail: detail.to_string(),
        confidence,
    }
}

/// Everything the page says about its article, before the content is found.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The headline.
    pub headline: Option<Found<String>>,
    /// The authors' names.
    pub authors: Option<Found<Vec<String>>>,
    /// ISO 8601.
    pub date_published: Option<Found<String>>,
    /// ISO 8601.
    pub date_modified: Option<Found<String>>,
    /// BCP 47.
    pub language: Option<Found<String>>,
    /// The lead image's URL (maybe relative: made absolute by the caller).
    pub image: Option<Found<String>>,
    /// The summary.
    pub description: Option<Found<String>>,
    /// The canonical URL (maybe relative).
    pub url: Option<Found<String>>,
    /// The site's name.
    pub site_name: Option<Found<String>>,
    /// Tags or keywords.
    pub tags: Option<Found<Vec<String>>>,
    /// The JSON-LD `articleBody`, for cross-checking the content.
    pub article_body: Option<String>,
    /// `<base href>`.
    pub base_href: Option<String>,
    /// Whether the page says it is an article: a JSON-LD article entity, microdata of
    /// one, `og:type` `article`, or an article's publication date.
    pub says_article: bool,
}

/// schema.org types whose entity is the article.
const ARTICLE_TYPES: &[&str] = &[
    "Article",
    "NewsArticle",
    "BlogPosting",
    "Report",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "ReviewNewsArticle",
    "BackgroundNewsArticle",
    "TechArticle",
    "ScholarlyArticle",
    "LiveBlogPosting",
    "SocialMediaPosting",
    "DiscussionForumPosting",
    "SatiricalArticle",
    "AdvertiserContentArticle",
    "Review",
    "Recipe",
    "HowTo",
];

/// Page types that describe the article when no article entity does.
const PAGE_TYPES: &[&str] = &["WebPage", "ItemPage", "AboutPage", "ProfilePage", "QAPage"];

/// What the page's tags and elements say, gathered in one walk.
#[derive(Debug, Default)]
struct Scan {
    /// `<meta>` keys (lower-case `property`, `name`, `itemprop` or `http-equiv`) and contents.
    metas: Vec<(String, String)>,
    scripts: Vec<String>,
    canonical: Option<String>,
    image_src: Option<String>,
    html_lang: Option<String>,
    base: Option<String>,
    title: Option<String>,
    h1s: Vec<String>,
    /// `<time datetime>`: the value and whether its element or an ancestor's class says
    /// published (1), modified (2), or nothing (0).
    times: Vec<(String, u8)>,
    /// An `itemprop="articleBody"` or an item typed as an article.
    micro_article: bool,
    /// Microdata of the article: itemprop → value.
    props: Vec<(String, String)>,
    /// Text of byline and author elements.
    bylines: Vec<(Vec<String>, &'static str)>,
}

fn scan(tree: &Tree) -> Scan {
    let mut s = Scan::default();
    let n = tree.len();
    let mut i = 1;
    // Inside a byline already taken: its parts are not bylines of their own.
    let mut byline_end = 0;
    while i < n {
        let tag = tree.tag(i);
        match tag {
            "" => {
                i += 1;
                continue;
            }
            "meta" => {
                let key = tree
                    .attr(i, "property")
                    .or_else(|| tree.attr(i, "name"))
                    .or_else(|| tree.attr(i, "itemprop"))
                    .or_else(|| tree.attr(i, "http-equiv"));
                if let (Some(key), Some(content)) = (key, tree.attr(i, "content")) {
                    let content = content.trim();
                    if !content.is_empty() && s.metas.len() < 2000 {
                        // `property="og:title article:tag"` names two keys.
                        for k in key.split_ascii_whitespace() {
                            s.metas.push((k.to_ascii_lowercase(), content.to_string()));
                        }
                    }
                }
            }
            "script"
                if tree
                    .attr(i, "type")
                    .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"))
                    && s.scripts.len() < 50 =>
            {
                s.scripts.push(tree.text_content(i));
            }
            "link" => {
                let rel = tree.attr(i, "rel").unwrap_or_default().to_ascii_lowercase();
                let href = tree
                    .attr(i, "href")
                    .map(str::trim)
                    .filter(|h| !h.is_empty());
                if let Some(href) = href {
                    if rel.split_ascii_whitespace().any(|r| r == "canonical")
                        && s.canonical.is_none()
                    {
                        s.canonical = Some(href.to_string());
                    }
                    if rel.split_ascii_whitespace().any(|r| r == "image_src")
                        && s.image_src.is_none()
                    {
                        s.image_src = Some(href.to_string());
                    }
                }
            }
            "html" if s.html_lang.is_none() => {
                s.html_lang = tree
                    .attr(i, "lang")
                    .or_else(|| tree.attr(i, "xml:lang"))
                    .map(str::to_string);
            }
            "base" if s.base.is_none() => {
                s.base = tree.attr(i, "href").map(str::to_string);
            }
            "title" if s.title.is_none() => {
                s.title = Some(collapse(&tree.text_content(i)));
            }
            "h1" if s.h1s.len() < 10 => {
                let t = visible_text(tree, i);
                // An h1 that is one link leads elsewhere: a site's logo or name.
                let linked = tree.descendants(i).any(|d| {
                    tree.tag(d) == "a" && collapse(&tree.text_content(d)).len() * 10 >= t.len() * 9
                }) || tree.ancestors(i).take(3).any(|a| tree.tag(a) == "a");
                if !t.is_empty() && t.len() < 400 && !linked {
                    s.h1s.push(t);
                }
            }
            "time" => {
                if let Some(dt) = tree.attr(i, "datetime").filter(|d| !d.trim().is_empty())
                    && s.times.len() < 20
                {
                    let kind = time_kind(tree, i);
                    s.times.push((dt.trim().to_string(), kind));
                }
            }
            _ => {}
        }
        if let Some(prop) = tree.attr(i, "itemprop") {
            microdata(tree, i, prop, &mut s);
        }
        if let Some(ty) = tree.attr(i, "itemtype")
            && ARTICLE_TYPES
                .iter()
                .any(|t| ty.rsplit('/').next() == Some(*t))
        {
            s.micro_article = true;
        }
        if s.bylines.len() < 8
            && i >= byline_end
            && tag != "meta"
            && tag != "script"
            && let Some(kind) = byline_kind(tree, i)
            && !in_form_or_comments(tree, i)
        {
            // Each text of the credit on its own: a name and a date in two elements
            // must not run together.
            let pieces: Vec<String> = tree
                .descendants(i)
                .filter(|&d| {
                    tree.is_text(d)
                        && !tree
                            .ancestors(d)
                            .take_while(|&a| a != i)
                            .any(|a| tree.tag(a) == "time")
                })
                .map(|d| collapse(tree.text(d)))
                .filter(|t| !t.is_empty())
                .take(12)
                .collect();
            let length: usize = pieces.iter().map(|p| p.chars().count()).sum();
            if !pieces.is_empty() && length < 160 {
                s.bylines.push((pieces, kind));
                byline_end = tree.end(i);
            }
        }
        i += 1;
    }
    s
}

/// Whether the element is part of a form or a comment section (where "author" labels
/// a field or a commenter).
fn in_form_or_comments(tree: &Tree, i: usize) -> bool {
    std::iter::once(i)
        .chain(tree.ancestors(i))
        .take(30)
        .any(|a| {
            tree.tag(a) == "form"
                || ["class", "id"].iter().any(|n| {
                    tree.attr(a, n).is_some_and(|v| {
                        v.len() < 300
                            && tokens(v).iter().any(|t| {
                                matches!(t.as_str(), "comment" | "comments" | "reply" | "respond")
                            })
                    })
                })
        })
}

/// Whether a `<time>` says it is the publication (1) or the update (2), by its own or
/// its parents' class and `itemprop`.
fn time_kind(tree: &Tree, i: usize) -> u8 {
    for e in std::iter::once(i).chain(tree.ancestors(i).take(3)) {
        let mut words = String::new();
        for name in ["class", "id", "itemprop"] {
            if let Some(v) = tree.attr(e, name) {
                words.push(' ');
                words.push_str(&v.to_ascii_lowercase());
            }
        }
        if words.contains("modif") || words.contains("updat") {
            return 2;
        }
        if words.contains("publish")
            || words.contains("pubdate")
            || words.contains("posted")
            || words.contains("created")
        {
            return 1;
        }
    }
    u8::from(tree.attr(i, "pubdate").is_some())
}

/// An element that credits the author: `rel="author"`, or a class or id word `byline`,
/// `author` (not an author's biography box).
fn byline_kind(tree: &Tree, i: usize) -> Option<&'static str> {
    if tree.attr(i, "rel").is_some_and(|r| {
        r.split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case("author"))
    }) {
        return Some("rel=author");
    }
    let mut saw = None;
    for name in ["class", "id"] {
        let Some(v) = tree.attr(i, name) else {
            continue;
        };
        if v.len() > 200 {
            continue;
        }
        let t = tokens(v);
        if t.iter().any(|w| {
            matches!(
                w.as_str(),
                "bio"
                    | "box"
                    | "avatar"
                    | "image"
                    | "img"
                    | "photo"
                    | "description"
                    | "about"
                    | "info"
                    | "social"
            )
        }) {
            return None;
        }
        if t.iter().any(|w| w == "byline") {
            saw = Some("a byline element");
        } else if t.iter().any(|w| matches!(w.as_str(), "author" | "authors")) && saw.is_none() {
            saw = Some("an author element");
        }
    }
    saw
}

fn microdata(tree: &Tree, i: usize, prop: &str, s: &mut Scan) {
    if s.props.len() > 200 {
        return;
    }
    for p in prop.split_ascii_whitespace() {
        let p = p.rsplit('/').next().unwrap_or(p);
        if !matches!(
            p,
            "headline"
                | "author"
                | "creator"
                | "datePublished"
                | "dateModified"
                | "inLanguage"
                | "image"
                | "description"
                | "articleBody"
                | "keywords"
        ) {
            continue;
        }
        if s.props.iter().any(|(k, _)| k == p) {
            continue;
        }
        let value = if p == "author" || p == "creator" {
            if tree.attr(i, "itemscope").is_some() {
                // The author's `name`, inside its own item.
                tree.descendants(i)
                    .find(|&d| {
                        tree.attr(d, "itemprop")
                            .is_some_and(|v| v.split_ascii_whitespace().any(|v| v == "name"))
                    })
                    .map(|d| {
                        tree.attr(d, "content")
                            .map(str::to_string)
                            .unwrap_or_else(|| collapse(&tree.text_content(d)))
                    })
            } else {
                Some(
                    tree.attr(i, "content")
                        .map(str::to_string)
                        .unwrap_or_else(|| collapse(&tree.text_content(i))),
                )
            }
        } else if p == "articleBody" {
            s.micro_article = true;
            continue;
        } else {
            tree.attr(i, "content")
                .or_else(|| tree.attr(i, "datetime"))
                .or_else(|| {
                    if p == "image" {
                        tree.attr(i, "src").or_else(|| tree.attr(i, "href"))
                    } else {
                        None
                    }
                })
                .map(str::to_string)
                .or_else(|| {
                    let t = collapse(&tree.text_content(i));
                    (t.len() < 2000).then_some(t)
                })
        };
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            s.props.push((p.to_string(), v.trim().to_string()));
        }
    }
}

/// An element's text as a reader sees it: words apart where a `<br>` or a block
/// separates them, hidden parts (screen-reader labels, scripts) left out.
pub fn visible_text(tree: &Tree, i: usize) -> String {
    let mut out = String::new();
    let mut d = i + 1;
    let end = tree.end(i);
    while d < end {
        if tree.is_text(d) {
            out.push_str(tree.text(d));
            d += 1;
            continue;
        }
        let tag = tree.tag(d);
        let hidden = matches!(
            tag,
            "script" | "style" | "noscript" | "template" | "svg" | "button"
        ) || tree.attr(d, "hidden").is_some()
            || tree.attr(d, "aria-hidden") == Some("true")
            || ["class"].iter().any(|n| {
                tree.attr(d, n).is_some_and(|v| {
                    v.split_ascii_whitespace().any(|c| {
                        matches!(
                            c,
                            "sr-only"
                                | "visually-hidden"
                                | "screen-reader-text"
                                | "hidden"
                                | "offscreen"
                        )
                    })
                })
            });
        if hidden {
            d = tree.end(d);
            continue;
        }
        if tag == "br" || crate::markdown::is_block_tag(tag) {
            out.push(' ');
        }
        d += 1;
    }
    collapse(&out)
}

/// Whitespace collapsed and trimmed.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The JSON-LD entities of the page, every object at any depth (bounded).
fn entities(scripts: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for text in scripts {
        let (values, _) = trawl_sdk::json_repair::parse_script(text);
        for v in values {
            collect(&v, &mut out, 0);
        }
    }
    out
}

fn collect(v: &Value, out: &mut Vec<Value>, depth: usize) {
    if depth > 6 || out.len() > 500 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect(x, out, depth + 1)),
        Value::Object(o) => {
            if o.contains_key("@type") || o.contains_key("@id") {
                out.push(v.clone());
            }
            for (k, x) in o {
                if matches!(
                    k.as_str(),
                    "@graph"
                        | "mainEntity"
                        | "mainEntityOfPage"
                        | "itemListElement"
                        | "hasPart"
                        | "about"
                        | "subjectOf"
                ) {
                    collect(x, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn short(t: &str) -> &str {
    t.rsplit(['/', ':', '#']).next().unwrap_or(t)
}

fn types(v: &Value) -> Vec<&str> {
    match v.get("@type") {
        Some(Value::String(t)) => vec![short(t)],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(short).collect(),
        _ => Vec::new(),
    }
}

/// A JSON-LD value's strings: a string, the `name`/`url`/`@value` of an object (following
/// `@id` references), or those of each member of an array.
fn strings(v: &Value, key: &str, all: &[Value], out: &mut Vec<String>, depth: usize) {
    if depth > 4 || out.len() > 50 {
        return;
    }
    match v {
        Value::String(s) => {
            let s = collapse(s);
            if !s.is_empty() {
                out.push(s);
            }
        }
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, key, all, out, depth + 1)),
        Value::Object(o) => {
            if let Some(x) = o.get(key).or_else(|| o.get("@value")) {
                strings(x, key, all, out, depth + 1);
            } else if let Some(Value::String(id)) = o.get("@id")
                && let Some(target) = all.iter().find(|e| {
                    e.get("@id").and_then(Value::as_str) == Some(id)
                        && e.as_object().is_some_and(|t| t.len() > 1)
                })
                && let Some(x) = target.get(key)
            {
                strings(x, key, all, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn first_string(
    entity: &Value,
    props: &[&str],
    key: &str,
    all: &[Value],
) -> Option<(String, String)> {
    for p in props {
        if let Some(v) = entity.get(*p) {
            let mut out = Vec::new();
            strings(v, key, all, &mut out, 0);
            if let Some(s) = out.into_iter().next() {
                return Some((s, (*p).to_string()));
            }
        }
    }
    None
}

/// Reads the metadata of the page at `page_url`.
pub fn read(tree: &Tree, page_url: &str) -> Meta {
    let s = scan(tree);
    let all = entities(&s.scripts);
    let article = all
        .iter()
        .find(|e| {
            types(e).iter().any(|t| ARTICLE_TYPES.contains(t))
                && (e.get("headline").is_some()
                    || e.get("articleBody").is_some()
                    || e.get("datePublished").is_some())
        })
        .or_else(|| {
            all.iter()
                .find(|e| types(e).iter().any(|t| ARTICLE_TYPES.contains(t)))
        });
    let page = all
        .iter()
        .find(|e| types(e).iter().any(|t| PAGE_TYPES.contains(t)));
    let mut m = Meta::default();
    let meta = |keys: &[&str]| -> Option<(String, String)> {
        keys.iter().find_map(|k| {
            s.metas
                .iter()
                .find(|(mk, v)| mk == k && !v.is_empty())
                .map(|(_, v)| (v.clone(), (*k).to_string()))
        })
    };
    let prop = |k: &str| s.props.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    let ld = |props: &[&str], key: &str| -> Option<(String, String)> {
        article
            .and_then(|a| first_string(a, props, key, &all))
            .or_else(|| page.and_then(|p| first_string(p, props, key, &all)))
    };
    let ld_article =
        |props: &[&str], key: &str| article.and_then(|a| first_string(a, props, key, &all));

    // Headline: the visible h1 when some metadata agrees with it, else the metadata.
    let ld_headline = ld_article(&["headline", "name"], "name").map(|(v, _)| v);
    let og_title = meta(&[
        "og:title",
        "twitter:title",
        "parsely-title",
        "sailthru.title",
        "dc.title",
        "dcterms.title",
    ]);
    let micro_headline = prop("headline");
    let site = meta(&["og:site_name", "application-name"]).map(|(v, _)| v);
    let agrees = |h: &str| {
        if site.as_deref().is_some_and(|x| similar(x, h) > 0.9) {
            return false;
        }
        ld_headline
            .as_deref()
            .is_some_and(|x| similar(x, h) >= 0.75)
            || og_title
                .as_ref()
                .is_some_and(|(x, _)| similar(x, h) >= 0.75 || similar(&strip_site(x), h) >= 0.75)
            || micro_headline
                .as_deref()
                .is_some_and(|x| similar(x, h) >= 0.75)
            || s.title
                .as_deref()
                .is_some_and(|x| similar(&strip_site(x), h) >= 0.75)
    };
    m.headline = if let Some(h1) = s.h1s.iter().find(|h| agrees(h)) {
        Some(found(
            h1.clone(),
            Origin::PageText,
            "the h1, as the metadata says",
            0.95,
        ))
    } else if let Some(h) = ld_headline.clone() {
        Some(found(h, Origin::StructuredData, "json-ld headline", 0.9))
    } else if let Some(h) = micro_headline.clone() {
        Some(found(h, Origin::StructuredData, "microdata headline", 0.85))
    } else if let Some((h, k)) = og_title.clone() {
        Some(found(h, Origin::Meta, &k, 0.8))
    } else if let Some(h1) = s.h1s.first() {
        Some(found(h1.clone(), Origin::PageText, "the h1", 0.6))
    } else {
        s.title
            .clone()
            .filter(|t| !t.is_empty())
            .map(|t| found(strip_site(&t), Origin::PageText, "the title", 0.4))
    };

    // Authors.
    let mut ld_authors = Vec::new();
    if let Some(a) = article {
        for p in ["author", "creator"] {
            if let Some(v) = a.get(p) {
                strings(v, "name", &all, &mut ld_authors, 0);
                if !ld_authors.is_empty() {
                    break;
                }
            }
        }
    }
    let ld_authors: Vec<String> = ld_authors
        .iter()
        .flat_map(|a| dates::authors(a))
        .fold(Vec::new(), dedup);
    m.authors = if !ld_authors.is_empty() {
        Some(found(
            ld_authors,
            Origin::StructuredData,
            "json-ld author",
            0.95,
        ))
    } else if let Some(a) = prop("author")
        .or_else(|| prop("creator"))
        .map(|a| dates::authors(&a))
        .filter(|a| !a.is_empty())
    {
        Some(found(a, Origin::StructuredData, "microdata author", 0.85))
    } else {
        let from_meta = [
            "author",
            "article:author",
            "parsely-author",
            "sailthru.author",
            "dc.creator",
            "dcterms.creator",
            "byl",
            "twitter:creator",
        ]
        .iter()
        .find_map(|k| {
            let names: Vec<String> = s
                .metas
                .iter()
                .filter(|(mk, _)| mk == k)
                .flat_map(|(_, v)| dates::authors(v))
                .filter(|a| !a.starts_with('@'))
                .fold(Vec::new(), dedup);
            (!names.is_empty()).then_some((names, *k))
        });
        if let Some((names, k)) = from_meta {
            Some(found(names, Origin::Meta, k, 0.8))
        } else {
            s.bylines.iter().find_map(|(pieces, kind)| {
                let names: Vec<String> = pieces
                    .iter()
                    .flat_map(|p| dates::authors(p))
                    .fold(Vec::new(), dedup);
                (!names.is_empty() && names.len() <= 5)
                    .then(|| found(names, Origin::PageText, kind, 0.55))
            })
        }
    };

    // Dates.
    let date = |ld_props: &[&str],
                meta_keys: &[&str],
                micro: &str,
                time_kind: u8|
     -> Option<Found<String>> {
        if let Some(d) = ld(ld_props, "@value").and_then(|(v, p)| dates::iso(&v).map(|d| (d, p))) {
            return Some(found(
                d.0,
                Origin::StructuredData,
                &format!("json-ld {}", d.1),
                0.95,
            ));
        }
        if let Some(d) = prop(micro).and_then(|v| dates::iso(&v)) {
            return Some(found(
                d,
                Origin::StructuredData,
                &format!("microdata {micro}"),
                0.9,
            ));
        }
        for k in meta_keys {
            if let Some(d) = s
                .metas
                .iter()
                .filter(|(mk, _)| mk == k)
                .find_map(|(_, v)| dates::iso(v))
            {
                return Some(found(d, Origin::Meta, k, 0.85));
            }
        }
        if let Some(d) = s
            .times
            .iter()
            .filter(|(_, kind)| *kind == time_kind)
            .find_map(|(v, _)| dates::iso(v))
        {
            return Some(found(d, Origin::PageText, "a <time datetime>", 0.7));
        }
        None
    };
    m.date_published = date(
        &["datePublished", "dateCreated", "uploadDate"],
        &[
            "article:published_time",
            "og:article:published_time",
            "article:published",
            "datepublished",
            "parsely-pub-date",
            "sailthru.date",
            "pubdate",
            "publishdate",
            "publish-date",
            "publish_date",
            "dc.date",
            "dc.date.issued",
            "dcterms.created",
            "dcterms.issued",
            "date",
            "og:published_time",
            "article.published",
            "cxenseparse:recs:publishtime",
        ],
        "datePublished",
        1,
    )
    .or_else(|| {
        s.times
            .iter()
            .filter(|(_, k)| *k == 0)
            .find_map(|(v, _)| dates::iso(v))
            .map(|d| found(d, Origin::PageText, "the first <time datetime>", 0.55))
    })
    .or_else(|| dates::from_url(page_url).map(|d| found(d, Origin::Other, "the page's URL", 0.4)));
    m.date_modified = date(
        &["dateModified"],
        &[
            "article:modified_time",
            "og:article:modified_time",
            "article:modified",
            "og:updated_time",
            "datemodified",
            "dcterms.modified",
            "dc.date.modified",
            "last-modified",
            "lastmod",
            "article.updated",
            "sailthru.lastmodified",
        ],
        "dateModified",
        2,
    );

    // Language.
    m.language = ld_article(&["inLanguage", "language"], "alternateName")
        .and_then(|(v, p)| {
            dates::language(&v)
                .map(|l| found(l, Origin::StructuredData, &format!("json-ld {p}"), 0.9))
        })
        .or_else(|| {
            s.html_lang
                .as_deref()
                .and_then(dates::language)
                .map(|l| found(l, Origin::PageText, "<html lang>", 0.9))
        })
        .or_else(|| {
            meta(&[
                "content-language",
                "og:locale",
                "dc.language",
                "language",
                "dcterms.language",
            ])
            .and_then(|(v, k)| dates::language(&v).map(|l| found(l, Origin::Meta, &k, 0.8)))
        });

    // Lead image.
    m.image = ld_article(&["image", "thumbnailUrl"], "url")
        .map(|(v, _)| found(v, Origin::StructuredData, "json-ld image", 0.9))
        .or_else(|| {
            meta(&[
                "og:image",
                "og:image:url",
                "og:image:secure_url",
                "twitter:image",
                "twitter:image:src",
                "parsely-image-url",
                "sailthru.image.full",
            ])
            .map(|(v, k)| found(v, Origin::Meta, &k, 0.85))
        })
        .or_else(|| {
            s.image_src
                .clone()
                .map(|v| found(v, Origin::Meta, "link rel=image_src", 0.75))
        })
        .or_else(|| {
            prop("image").map(|v| found(v, Origin::StructuredData, "microdata image", 0.8))
        });

    m.description = ld_article(&["description", "abstract"], "@value")
        .map(|(v, _)| found(v, Origin::StructuredData, "json-ld description", 0.9))
        .or_else(|| {
            meta(&[
                "og:description",
                "description",
                "twitter:description",
                "dc.description",
                "sailthru.description",
            ])
            .map(|(v, k)| found(collapse(&v), Origin::Meta, &k, 0.85))
        })
        .or_else(|| {
            prop("description")
                .map(|v| found(v, Origin::StructuredData, "microdata description", 0.8))
        });

    m.url = s
        .canonical
        .clone()
        .map(|v| found(v, Origin::Meta, "link rel=canonical", 0.9))
        .or_else(|| {
            meta(&["og:url", "twitter:url", "parsely-link"])
                .map(|(v, k)| found(v, Origin::Meta, &k, 0.85))
        })
        .or_else(|| {
            ld_article(&["url"], "@id")
                .map(|(v, _)| found(v, Origin::StructuredData, "json-ld url", 0.85))
        })
        .or_else(|| {
            (!page_url.trim().is_empty()).then(|| {
                found(
                    page_url.trim().to_string(),
                    Origin::Other,
                    "the page's URL",
                    0.5,
                )
            })
        });

    m.site_name = meta(&[
        "og:site_name",
        "application-name",
        "apple-mobile-web-app-title",
        "twitter:site",
    ])
    .map(|(v, k)| {
        found(
            v.trim_start_matches('@').to_string(),
            Origin::Meta,
            &k,
            0.85,
        )
    })
    .or_else(|| {
        ld_article(&["publisher", "sourceOrganization"], "name")
            .map(|(v, _)| found(v, Origin::StructuredData, "json-ld publisher", 0.85))
    });

    let mut tags: Vec<String> = s
        .metas
        .iter()
        .filter(|(k, _)| k == "article:tag")
        .map(|(_, v)| collapse(v))
        .fold(Vec::new(), dedup);
    let mut tag_origin = (Origin::Meta, "article:tag");
    if tags.is_empty()
        && let Some(a) = article.and_then(|a| a.get("keywords"))
    {
        let mut out = Vec::new();
        strings(a, "name", &all, &mut out, 0);
        tags = out
            .iter()
            .flat_map(|t| t.split(',').map(collapse))
            .filter(|t| !t.is_empty())
            .fold(Vec::new(), dedup);
        tag_origin = (Origin::StructuredData, "json-ld keywords");
    }
    if tags.is_empty()
        && let Some((v, _)) = meta(&["keywords", "news_keywords", "parsely-tags", "sailthru.tags"])
    {
        tags = v
            .split(',')
            .map(collapse)
            .filter(|t| !t.is_empty())
            .fold(Vec::new(), dedup);
        tag_origin = (Origin::Meta, "keywords");
    }
    tags.truncate(50);
    if !tags.is_empty() {
        m.tags = Some(found(tags, tag_origin.0, tag_origin.1, 0.8));
    }

    // Kept as written: its line breaks are its paragraphs.
    m.article_body = article.and_then(|a| {
        ["articleBody", "text"]
            .iter()
            .find_map(|p| a.get(*p).and_then(Value::as_str))
            .map(str::to_string)
    });
    m.base_href = s.base;
    m.says_article = article.is_some()
        || s.metas.iter().any(|(k, v)| {
            k == "og:type" && v.eq_ignore_ascii_case("article") || k == "article:published_time"
        })
        || s.micro_article
        || m.date_published
            .as_ref()
            .is_some_and(|d| d.origin != Origin::Other);
    m
}

fn dedup(mut acc: Vec<String>, s: String) -> Vec<String> {
    if !s.is_empty() && !acc.iter().any(|a| a.eq_ignore_ascii_case(&s)) {
        acc.push(s);
    }
    acc
}

/// How alike two titles are: the words they share over the words of the longer.
fn similar(a: &str, b: &str) -> f32 {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a
        .iter()
        .filter(|w| b.contains(w))
        .count()
        .min(b.iter().filter(|w| a.contains(w)).count());
    shared as f32 / a.len().max(b.len()) as f32
}

/// A `<title>` without the site's name after a separator.
fn strip_site(title: &str) -> String {
    for sep in [" | ", " - ", " – ", " — ", " :: ", " · "] {
        if let Some(k) = title.rfind(sep) {
            let (head, _) = title.split_at(k);
            if head.chars().count() >= 15 {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
}
