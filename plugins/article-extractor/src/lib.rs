//! The bundled article extractor: news and blog articles from any page, no selectors
//! needed. One item per page that has an article body: headline, authors, dates,
//! language, lead image, description, the main text and the main content as Markdown,
//! each field with its own confidence and origin. Documented in `README.md`.
//!
//! # Layout
//! - `meta`: the metadata, from structured data, `<meta>` tags and the page.
//! - `content`: finding the main content and the boilerplate inside it.
//! - `markdown`: rendering the content as Markdown and as plain text.
//! - `dates`: dates, languages and author names in the forms items carry.
//! - `url`: making links absolute.
//! - `schema`: the item schema read into a plan, with its hints.
//!
//! [`extract_article`] is the whole extraction as a pure function of the page's tree,
//! its URL, the plan and a [`Dom`] for the hints, so native tests run it as the plugin does.

use serde_json::{Map, Value};
use trawl_sdk::prelude::*;

pub mod content;
pub mod dates;
pub mod markdown;
pub mod meta;
pub mod schema;
pub mod url;

use markdown::{Renderer, Style};
use meta::Found;
use schema::{Field as ArticleField, Plan, Prop, Ty};

/// The `article-extractor` plugin.
pub struct ArticleExtractor;

impl Extractor for ArticleExtractor {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "article-extractor",
            env!("CARGO_PKG_VERSION"),
            "Articles from any news or blog page, no selectors needed",
        )
    }

    fn extract(page: &Page, schema: &Schema, options: &Options) -> Result<Extraction, PluginError> {
        let plan = Plan::parse(schema.json()?)?;
        let style = style(options)?;
        let tree = page.tree()?;
        extract_article(&tree, &page.url(), &plan, style, page)
    }
}

register_extractor!(ArticleExtractor);

/// The options: `images` and `links` (both true by default) for the Markdown.
pub fn style(options: &Options) -> Result<Style, PluginError> {
    options.allow_only(&["images", "links"])?;
    Ok(Style {
        images: options.get_bool("images")?.unwrap_or(true),
        links: options.get_bool("links")?.unwrap_or(true),
    })
}

/// Content with less text than this (non-space characters) is no article, on a page
/// that says it is one.
const MIN_BODY: usize = 60;
/// The same on a page that does not say so (a home page's best teaser is no article).
const MIN_UNTYPED_BODY: usize = 250;

/// The article of the page at `page_url`, whose tree is `tree`, as the plan asks for it;
/// hints are read through `dom`. No article body: an empty extraction.
pub fn extract_article(
    tree: &Tree,
    page_url: &str,
    plan: &Plan,
    style: Style,
    dom: &impl Dom,
) -> Result<Extraction, PluginError> {
    let meta = meta::read(tree, page_url);
    let page_base = url::Base::parse(page_url);
    let base = match (&meta.base_href, &page_base) {
        (Some(href), Some(page)) => url::Base::parse(&page.resolve(href)).or(page_base.clone()),
        (Some(href), None) => url::Base::parse(href),
        (None, page) => page.clone(),
    };
    let absolute = |u: &str| {
        base.as_ref()
            .map_or_else(|| u.trim().to_string(), |b| b.resolve(u))
    };

    // Hints first: a hinted body sets the content's root.
    let mut hinted: Vec<(usize, Option<Value>)> = Vec::new();
    let mut root_hint: Option<usize> = None;
    for (k, prop) in plan.props.iter().enumerate() {
        let Some(selector) = &prop.selector else {
            continue;
        };
        let found = dom.select_in(&[Node::DOCUMENT], selector)?;
        let nodes: Vec<Node> = found.into_iter().flatten().collect();
        let Some(&first) = nodes.first() else {
            hinted.push((k, None));
            continue;
        };
        if matches!(
            prop.field,
            Some(ArticleField::Body | ArticleField::Markdown)
        ) && prop.attr.is_none()
        {
            if root_hint.is_none() {
                root_hint = locate(tree, dom, first)?;
            }
            if root_hint.is_some() {
                continue;
            }
        }
        let source = match &prop.attr {
            Some(attr) => trawl_sdk::Field::attr(attr.clone()),
            None => trawl_sdk::Field::text(),
        };
        let table = dom.read(&[first], &[source])?;
        let value = table
            .first(0, 0)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        hinted.push((k, value.map(Value::String)));
    }

    let stats = content::Stats::new(tree);
    let headline = meta.headline.as_ref().map(|h| h.value.as_str());
    let (content, body_origin) = match root_hint {
        Some(root) => {
            let dropped = stats.skip.clone();
            (
                Some(content::Content {
                    root,
                    dropped,
                    good: stats.good[root],
                    bad: stats.bad[root],
                }),
                Origin::Hint,
            )
        }
        None => (content::find(tree, &stats, headline), Origin::PageText),
    };
    let render = |c: &content::Content| {
        let r = Renderer::new(tree, base.as_ref(), &c.dropped, style);
        (r.text(c.root), r.markdown(c.root))
    };
    let mut rendered = content.as_ref().map(render);
    let mut content = content;
    let mut cross_checked = false;
    // The page's JSON-LD `articleBody` as a cross-check: when the content found shares
    // little with a long one, the element that repeats it is tried instead.
    if body_origin == Origin::PageText
        && let Some(reference) = meta
            .article_body
            .as_deref()
            .filter(|b| visible_len(b) >= 800)
    {
        let ours = rendered
            .as_ref()
            .map_or(0.0, |(text, _)| overlap(text, reference));
        if ours < 0.5
            && let Some(other) = content::matching(tree, &stats, reference, headline)
        {
            let (text, md) = render(&other);
            if overlap(&text, reference) > ours + 0.2 {
                rendered = Some((text, md));
                content = Some(other);
                cross_checked = true;
            }
        }
    }
    // The page says it is an article, or its content sits in an `<article>`.
    let says_article = meta.says_article
        || content.as_ref().is_some_and(|c| {
            std::iter::once(c.root)
                .chain(tree.ancestors(c.root))
                .any(|a| tree.tag(a) == "article")
        });
    // A page that does not say it is an article, whose best content is a list of
    // teasers for other pages, is an index: no article.
    if !says_article
        && body_origin == Origin::PageText
        && content
            .as_ref()
            .is_some_and(|c| content::teasers(tree, &stats, c.root))
    {
        return Ok(Extraction::new());
    }
    let (text, markdown) = match rendered {
        Some((text, md))
            if body_origin == Origin::Hint
                || visible_len(&text)
                    >= if says_article {
                        MIN_BODY
                    } else {
                        MIN_UNTYPED_BODY
                    } =>
        {
            (text, md)
        }
        _ => match meta
            .article_body
            .as_deref()
            .map(paragraphs)
            .filter(|b| visible_len(b) >= MIN_BODY)
        {
            // The page's own text says nothing, but its structured data does.
            Some(b) => {
                let md = escape_paragraphs(&b);
                let found = Found {
                    value: b,
                    origin: Origin::StructuredData,
                    detail: "json-ld articleBody".into(),
                    confidence: 0.8,
                };
                return Ok(Extraction::new()
                    .with_item(item(plan, &meta, &found, &md, hinted, &absolute, None)));
            }
            None => return Ok(Extraction::new()),
        },
    };

    let (confidence, detail) = match (&content, body_origin) {
        (_, Origin::Hint) => (1.0, "x-selector".to_string()),
        (Some(_), _) if cross_checked => (
            0.75,
            "the element repeating the json-ld articleBody".to_string(),
        ),
        (Some(c), _) => body_confidence(c, &text, meta.article_body.as_deref()),
        (None, _) => (0.5, String::new()),
    };
    let body = Found {
        value: text,
        origin: body_origin,
        detail,
        confidence,
    };
    let lead_image = content.as_ref().and_then(|c| first_image(tree, c));
    Ok(Extraction::new().with_item(item(
        plan, &meta, &body, &markdown, hinted, &absolute, lead_image,
    )))
}

/// The tree entry of an element a hint's selector matched: the entry with its handle,
/// or (when the DOM handed out a fresh handle) the entry with the same `id`, `class`
/// and text.
fn locate(tree: &Tree, dom: &impl Dom, node: Node) -> Result<Option<usize>, PluginError> {
    let table = dom.read(
        &[node],
        &[
            trawl_sdk::Field::text(),
            trawl_sdk::Field::attr("id"),
            trawl_sdk::Field::attr("class"),
        ],
    )?;
    let text = table.first(0, 0).unwrap_or_default();
    let id = table.first(0, 1);
    let class = table.first(0, 2);
    let same = |i: usize| tree.attr(i, "id") == id && tree.attr(i, "class") == class;
    // A handle names one element only within the DOM that gave it: check it is the
    // same element before trusting it.
    if let Some(i) = (1..tree.len()).find(|&i| tree.node(i) == Some(node))
        && same(i)
    {
        return Ok(Some(i));
    }
    let want = visible_len(text);
    let mut lens = vec![0usize; tree.len()];
    for i in (1..tree.len()).rev() {
        if tree.is_text(i) {
            lens[i] = visible_len(tree.text(i));
        }
        if let Some(p) = tree.parent(i) {
            lens[p] += lens[i];
        }
    }
    let mut best: Option<(usize, usize)> = None;
    for (i, len) in lens.iter().enumerate().skip(1) {
        if !tree.is_element(i) || !same(i) {
            continue;
        }
        let off = len.abs_diff(want);
        // The first in document order wins ties, as the selector's first match would.
        if best.is_none_or(|(_, o)| off < o) {
            best = Some((i, off));
        }
    }
    Ok(best.map(|(i, _)| i))
}

fn visible_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// The body's confidence from its evidence: how much paragraph text it has against the
/// link and boilerplate text it kept, and whether the page's JSON-LD `articleBody` agrees.
fn body_confidence(c: &content::Content, text: &str, ld_body: Option<&str>) -> (f32, String) {
    let purity = c.good / (c.good + c.bad).max(1.0);
    let amount = (c.good / 1500.0).min(1.0);
    let mut conf = 0.3 + 0.35 * purity + 0.25 * amount;
    let mut detail = "main content by text density".to_string();
    if let Some(ld) = ld_body.filter(|b| visible_len(b) > 200) {
        let agreement = overlap(text, ld);
        if agreement > 0.8 {
            conf += 0.1;
            detail.push_str(", agrees with the json-ld articleBody");
        } else if agreement < 0.4 {
            conf -= 0.15;
            detail.push_str(", differs from the json-ld articleBody");
        }
    }
    (conf.clamp(0.05, 0.99), detail)
}

/// The share of `reference`'s runs of four words that `text` also has (a rough
/// cross-check, blind to the order of the runs).
fn overlap(text: &str, reference: &str) -> f32 {
    let ours: std::collections::HashSet<u64> = content::shingles(text).into_iter().collect();
    let theirs = content::shingles(reference);
    if theirs.is_empty() {
        return 0.0;
    }
    theirs.iter().filter(|h| ours.contains(h)).count() as f32 / theirs.len() as f32
}

/// The first image of the content, as a lead image when the metadata names none.
fn first_image(tree: &Tree, c: &content::Content) -> Option<String> {
    let mut d = c.root;
    let end = tree.end(c.root);
    while d < end {
        if c.dropped.get(d).copied().unwrap_or(false) {
            d = tree.end(d);
            continue;
        }
        if tree.tag(d) == "img"
            && let Some(src) = markdown::image_source(tree, d)
        {
            let small = |a: &str| {
                tree.attr(d, a)
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .is_some_and(|v| v < 100)
            };
            if !small("width") && !small("height") {
                return Some(src.to_string());
            }
        }
        d += 1;
    }
    None
}

/// Structured data's text in the body's form: its lines as blocks apart by a blank
/// line, whitespace collapsed inside each.
fn paragraphs(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(meta::collapse)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Plain paragraphs as Markdown text.
fn escape_paragraphs(text: &str) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The item, in the plan's order.
fn item(
    plan: &Plan,
    meta: &meta::Meta,
    body: &Found<String>,
    markdown: &str,
    hinted: Vec<(usize, Option<Value>)>,
    absolute: &dyn Fn(&str) -> String,
    lead_image: Option<String>,
) -> Item {
    let mut object = Map::new();
    let mut fields = Vec::new();
    for (k, prop) in plan.props.iter().enumerate() {
        if let Some((_, value)) = hinted.iter().find(|(h, _)| *h == k) {
            if let Some(value) = value {
                let value = match (prop.field, value) {
                    (Some(ArticleField::Authors), Value::String(s)) => {
                        Value::Array(dates::authors(s).into_iter().map(Value::String).collect())
                    }
                    (
                        Some(ArticleField::DatePublished | ArticleField::DateModified),
                        Value::String(s),
                    ) => Value::String(dates::iso(s).unwrap_or_else(|| s.clone())),
                    (Some(ArticleField::Language), Value::String(s)) => {
                        Value::String(dates::language(s).unwrap_or_else(|| s.clone()))
                    }
                    (Some(ArticleField::Image | ArticleField::Url), Value::String(s)) => {
                        Value::String(absolute(s))
                    }
                    _ => value.clone(),
                };
                object.insert(prop.name.clone(), coerce(value, prop));
                fields.push(
                    FieldMeta::new(prop.name.clone(), Origin::Hint)
                        .confidence(1.0)
                        .detail("x-selector"),
                );
            }
            continue;
        }
        let Some(field) = prop.field else { continue };
        let found: Option<(Value, Origin, String, f32)> = match field {
            ArticleField::Body => Some((
                body.value.clone().into(),
                body.origin,
                body.detail.clone(),
                body.confidence,
            )),
            ArticleField::Markdown => Some((
                markdown.to_string().into(),
                body.origin,
                if body.origin == Origin::Hint {
                    "x-selector".into()
                } else {
                    "the main content, rendered".into()
                },
                body.confidence,
            )),
            ArticleField::Headline => string_field(&meta.headline),
            ArticleField::Authors => meta.authors.as_ref().map(|f| {
                let names = Value::Array(f.value.iter().cloned().map(Value::String).collect());
                (names, f.origin, f.detail.clone(), f.confidence)
            }),
            ArticleField::DatePublished => string_field(&meta.date_published),
            ArticleField::DateModified => string_field(&meta.date_modified),
            ArticleField::Language => string_field(&meta.language),
            ArticleField::Image => meta
                .image
                .as_ref()
                .map(|f| {
                    (
                        absolute(&f.value).into(),
                        f.origin,
                        f.detail.clone(),
                        f.confidence,
                    )
                })
                .or_else(|| {
                    lead_image.as_deref().map(|s| {
                        (
                            absolute(s).into(),
                            Origin::PageText,
                            "the content's first image".into(),
                            0.5,
                        )
                    })
                }),
            ArticleField::Description => string_field(&meta.description),
            ArticleField::Url => meta.url.as_ref().map(|f| {
                (
                    absolute(&f.value).into(),
                    f.origin,
                    f.detail.clone(),
                    f.confidence,
                )
            }),
            ArticleField::SiteName => string_field(&meta.site_name),
            ArticleField::Tags => meta.tags.as_ref().map(|f| {
                (
                    Value::Array(f.value.iter().cloned().map(Value::String).collect()),
                    f.origin,
                    f.detail.clone(),
                    f.confidence,
                )
            }),
        };
        let Some((value, origin, detail, confidence)) = found else {
            continue;
        };
        let value = coerce(value, prop);
        if value.as_str().is_some_and(str::is_empty) {
            continue;
        }
        object.insert(prop.name.clone(), value);
        let mut meta = FieldMeta::new(prop.name.clone(), origin).confidence(confidence);
        if !detail.is_empty() {
            meta = meta.detail(detail);
        }
        fields.push(meta);
    }
    let mut item = Item::from(object).with_confidence(body.confidence);
    item.fields = fields;
    item
}

fn string_field(f: &Option<Found<String>>) -> Option<(Value, Origin, String, f32)> {
    f.as_ref().map(|f| {
        (
            Value::String(f.value.clone()),
            f.origin,
            f.detail.clone(),
            f.confidence,
        )
    })
}

/// A value made into the property's declared type: arrays joined into one string with
/// ", " for a string property, a string made a one-element array for an array property.
fn coerce(value: Value, prop: &Prop) -> Value {
    match (prop.ty, value) {
        (Ty::String, Value::Array(a)) => Value::String(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (Ty::Array, Value::String(s)) => Value::Array(vec![Value::String(s)]),
        (_, v) => v,
    }
}
