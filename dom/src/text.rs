//! An element's text as a reader sees it: whitespace collapsed into single spaces and
//! trimmed, with a space where a block-level element or `<br>` separates words (as a
//! browser renders them), so `<p>one</p><p>two</p>` reads "one two", not "onetwo".

use ego_tree::iter::Edge;
use scraper::ElementRef;

use crate::{Budget, DomError, Meter};

/// The collapsed text of `element`, charged to `budget` as it grows.
pub(crate) fn collapsed(
    element: ElementRef<'_>,
    budget: &mut Budget,
    meter: &mut Meter<'_>,
) -> Result<String, DomError> {
    let mut out = String::new();
    let mut space = false;
    for edge in element.traverse() {
        meter.tick()?;
        let (node, open) = match edge {
            Edge::Open(node) => (node, true),
            Edge::Close(node) => (node, false),
        };
        match node.value() {
            scraper::Node::Text(text) if open => {
                // The text can only shrink when collapsed: charge it whole before copying.
                if out.len() + 1 + text.len() > budget.left() {
                    return Err(budget.exceeded());
                }
                for ch in text.chars() {
                    if ch.is_whitespace() {
                        space = true;
                    } else {
                        if space && !out.is_empty() {
                            out.push(' ');
                        }
                        space = false;
                        out.push(ch);
                    }
                }
            }
            scraper::Node::Element(el) if separates(el.name()) => space = true,
            _ => {}
        }
    }
    budget.charge(out.len())?;
    Ok(out)
}

/// Elements whose boundaries separate words.
fn separates(name: &str) -> bool {
    matches!(
        name,
        "br" | "p"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "caption"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "main"
            | "blockquote"
            | "pre"
            | "hr"
            | "figure"
            | "figcaption"
            | "address"
            | "option"
            | "form"
            | "fieldset"
    )
}
