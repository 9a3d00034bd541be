//! An element's HTML, written into a buffer that refuses to outgrow the answer's budget
//! and stops at the call's deadline, so a plugin asking for the outer HTML of every
//! element of a deeply nested page (whose total grows with the square of the depth)
//! stops at the limit instead of building it all first.

use std::io;

use ego_tree::iter::Edge;
use html5ever::serialize::{HtmlSerializer, SerializeOpts, Serializer, TraversalScope};
use scraper::{ElementRef, Node};

use crate::{Budget, DomError, Meter};

/// The element and everything in it.
pub(crate) fn outer_html(
    element: ElementRef<'_>,
    budget: &mut Budget,
    meter: &mut Meter<'_>,
) -> Result<String, DomError> {
    write(element, TraversalScope::IncludeNode, budget, meter)
}

/// What is inside the element. The serialiser is told whose children these are, so the
/// text of a `<script>` or `<style>` comes back as written rather than escaped.
pub(crate) fn inner_html(
    element: ElementRef<'_>,
    budget: &mut Budget,
    meter: &mut Meter<'_>,
) -> Result<String, DomError> {
    let name = element.value().name.clone();
    write(
        element,
        TraversalScope::ChildrenOnly(Some(name)),
        budget,
        meter,
    )
}

/// The buffer: `limit` bytes at most (the sanitised page is written through it too).
pub(crate) struct Bounded<'m, 'c> {
    pub(crate) buf: Vec<u8>,
    pub(crate) limit: usize,
    pub(crate) meter: &'m mut Meter<'c>,
    /// What stopped the writing, once something did: a `Limit` (its message left empty)
    /// or the clock's error.
    pub(crate) stopped: Option<DomError>,
}

impl io::Write for Bounded<'_, '_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.stopped = Some(DomError::Limit(String::new()));
            return Err(io::Error::other("over the answer's budget"));
        }
        if let Err(e) = self.meter.tick() {
            self.stopped = Some(e);
            return Err(io::Error::other("past the deadline"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write(
    element: ElementRef<'_>,
    scope: TraversalScope,
    budget: &mut Budget,
    meter: &mut Meter<'_>,
) -> Result<String, DomError> {
    let include_self = scope == TraversalScope::IncludeNode;
    let opts = SerializeOpts {
        scripting_enabled: false,
        traversal_scope: scope,
        create_missing_parent: false,
    };
    let writer = Bounded {
        buf: Vec::new(),
        limit: budget.left(),
        meter,
        stopped: None,
    };
    let mut serializer = HtmlSerializer::new(writer, opts);
    let walked = walk(element, include_self, &mut serializer);
    let writer = serializer.writer;
    match (walked, writer.stopped) {
        (Ok(()), _) => {}
        (Err(_), Some(DomError::Limit(_))) => return Err(budget.exceeded()),
        (Err(_), Some(other)) => return Err(other),
        (Err(e), None) => return Err(DomError::Limit(format!("serialising HTML: {e}"))),
    }
    budget.charge(writer.buf.len())?;
    // The serialiser writes the tree's own text, which is UTF-8.
    Ok(String::from_utf8(writer.buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn walk<S: Serializer>(
    element: ElementRef<'_>,
    include_self: bool,
    serializer: &mut S,
) -> io::Result<()> {
    let root = *element;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => {
                if node == root && !include_self {
                    continue;
                }
                match node.value() {
                    Node::Doctype(doctype) => serializer.write_doctype(doctype.name())?,
                    Node::Comment(comment) => serializer.write_comment(comment)?,
                    Node::Text(text) => serializer.write_text(text)?,
                    Node::Element(el) => {
                        let attrs = el.attrs.iter().map(|(k, v)| (k, &v[..]));
                        serializer.start_elem(el.name.clone(), attrs)?;
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if node == root && !include_self {
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
