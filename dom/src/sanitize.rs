//! A page made safe to show: the console displays the page a schema is built on in a
//! sandboxed frame, and this is the HTML it is given. Everything that could run, load a
//! frame, navigate or send anything is left out (scripts, `<noscript>`, frames, objects,
//! `<base>`, `<meta http-equiv>`, `<link>`s, event-handler attributes, `javascript:` URLs,
//! the addresses of images and media, `url()` in styles), and a Content-Security-Policy
//! that loads nothing from anywhere is written first in `<head>`. Elements are kept
//! whatever their attributes lose, so element paths stay those of the page.
//!
//! The frame shows this text and the host's picker parses this same text, so element
//! paths ([`crate::picker`]) name the same element on both sides. `<noscript>` is left
//! out, not kept, because a parser with scripting off (the frame's) builds elements from
//! its content where a parser with scripting on (the host's) reads it as text.

use std::io;

use ego_tree::iter::Edge;
use html5ever::serialize::{HtmlSerializer, SerializeOpts, Serializer, TraversalScope};
use scraper::Node;

use crate::serial::Bounded;
use crate::{Budget, Clock, Document, DomError, Meter};

/// The policy written into the page: nothing loads, nothing runs, styles written in the
/// page itself apply (the console adds its own highlight rules the same way).
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; form-action 'none'";

/// Elements left out with everything inside them.
const DROPPED: &[&str] = &[
    "script",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "portal",
    "fencedframe",
];

/// Attributes whose value is a URL a `javascript:` (or `data:`) value could abuse.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "poster",
    "background",
    "srcset",
    "xlink:href",
    "ping",
    "lowsrc",
    "dynsrc",
    "cite",
    "longdesc",
    "manifest",
    "codebase",
];

/// Attributes that only say what to load: an image's, a video's, a background's address.
const LOADS: &[&str] = &[
    "src",
    "srcset",
    "imagesrcset",
    "poster",
    "background",
    "lowsrc",
    "dynsrc",
    "ping",
    "data",
];

/// Whether an element is left out: the listed ones, `<meta http-equiv>` (refresh,
/// cookies, policies) and `<link>`s (stylesheets, preloads, imports: nothing would load).
fn dropped(el: &scraper::node::Element) -> bool {
    let name = el.name();
    if DROPPED.iter().any(|d| name.eq_ignore_ascii_case(d)) {
        return true;
    }
    (name == "meta" && el.attr("http-equiv").is_some()) || name == "link"
}

/// CSS with its `url(…)`s made inert (`url(` becomes an unknown function, so only the
/// declarations that would load something are dropped by the browser).
fn inert_css(css: &str) -> std::borrow::Cow<'_, str> {
    if !css.to_ascii_lowercase().contains("url(") && !css.contains('\\') {
        return std::borrow::Cow::Borrowed(css);
    }
    let mut out = String::with_capacity(css.len() + 16);
    let lower = css.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find("url(") {
        out.push_str(&css[at..at + found]);
        out.push_str("no-url(");
        at += found + 4;
    }
    out.push_str(&css[at..]);
    // A CSS escape could spell `url(` another way: drop escapes altogether.
    std::borrow::Cow::Owned(out.replace('\\', ""))
}

/// Whether an attribute is kept.
fn kept_attr(name: &str, value: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("on") || lower == "srcdoc" || lower == "http-equiv" {
        return false;
    }
    if LOADS.contains(&lower.as_str()) {
        return false;
    }
    if URL_ATTRS.contains(&lower.as_str()) {
        let squeezed: String = value
            .chars()
            .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        if squeezed.starts_with("javascript:")
            || squeezed.starts_with("vbscript:")
            || squeezed.starts_with("data:text/html")
            || squeezed.starts_with("data:image/svg")
        {
            return false;
        }
    }
    true
}

/// The document as HTML safe to show, at most `max_bytes` long.
pub fn sanitized(doc: &Document, max_bytes: usize, clock: &dyn Clock) -> Result<String, DomError> {
    let mut meter = Meter::new(clock);
    let mut budget = Budget::new(max_bytes);
    let writer = Bounded {
        buf: Vec::new(),
        limit: budget.left(),
        meter: &mut meter,
        stopped: None,
    };
    let opts = SerializeOpts {
        scripting_enabled: false,
        traversal_scope: TraversalScope::ChildrenOnly(None),
        create_missing_parent: false,
    };
    let mut serializer = HtmlSerializer::new(writer, opts);
    let walked = walk(doc, &mut serializer);
    let writer = serializer.writer;
    match (walked, writer.stopped) {
        (Ok(()), _) => {}
        (Err(_), Some(DomError::Limit(_))) => {
            return Err(DomError::Limit(format!(
                "the page's HTML would exceed {max_bytes} bytes"
            )));
        }
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => return Err(DomError::Limit(format!("serialising HTML: {e}"))),
    }
    budget.charge(writer.buf.len())?;
    Ok(String::from_utf8(writer.buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn walk<S: Serializer>(doc: &Document, serializer: &mut S) -> io::Result<()> {
    let root = doc.html().tree.root();
    let mut skipping: Option<ego_tree::NodeId> = None;
    let mut csp_written = false;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() || node == root {
                    continue;
                }
                match node.value() {
                    Node::Doctype(doctype) => serializer.write_doctype(doctype.name())?,
                    Node::Comment(_) | Node::ProcessingInstruction(_) => {}
                    Node::Text(text) => {
                        let in_style = node
                            .parent()
                            .and_then(|p| p.value().as_element().map(|e| e.name() == "style"))
                            .unwrap_or(false);
                        if in_style {
                            serializer.write_text(&inert_css(text))?;
                        } else {
                            serializer.write_text(text)?;
                        }
                    }
                    Node::Element(el) => {
                        if dropped(el) {
                            skipping = Some(node.id());
                            continue;
                        }
                        let styles: Vec<std::borrow::Cow<'_, str>> = el
                            .attrs
                            .iter()
                            .map(|(k, v)| {
                                if &*k.local == "style" {
                                    inert_css(v)
                                } else {
                                    std::borrow::Cow::Borrowed(&v[..])
                                }
                            })
                            .collect();
                        let attrs: Vec<_> = el
                            .attrs
                            .iter()
                            .zip(&styles)
                            .filter(|((k, v), _)| kept_attr(&qualified(k), v))
                            .map(|((k, _), v)| (k, v.as_ref()))
                            .collect();
                        serializer.start_elem(el.name.clone(), attrs.into_iter())?;
                        if el.name() == "head" && !csp_written {
                            csp_written = true;
                            write_csp(serializer)?;
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if skipping == Some(node.id()) {
                    skipping = None;
                    continue;
                }
                if skipping.is_some() || node == root {
                    continue;
                }
                if let Some(el) = node.value().as_element() {
                    serializer.end_elem(el.name.clone())?;
                }
            }
        }
    }
    Ok(())
}

/// An attribute's name as written (`xlink:href` for a namespaced one).
fn qualified(name: &html5ever::QualName) -> String {
    match &name.prefix {
        Some(prefix) => format!("{prefix}:{}", name.local),
        None => name.local.to_string(),
    }
}

fn write_csp<S: Serializer>(serializer: &mut S) -> io::Result<()> {
    let meta = html5ever::QualName::new(None, html5ever::ns!(html), html5ever::local_name!("meta"));
    let equiv =
        html5ever::QualName::new(None, html5ever::ns!(), html5ever::local_name!("http-equiv"));
    let content =
        html5ever::QualName::new(None, html5ever::ns!(), html5ever::local_name!("content"));
    serializer.start_elem(
        meta.clone(),
        [(&equiv, "Content-Security-Policy"), (&content, PAGE_CSP)].into_iter(),
    )?;
    serializer.end_elem(meta)
}
