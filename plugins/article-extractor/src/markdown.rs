//! Rendering the main content, a subtree of the page's [`Tree`], as Markdown (CommonMark
//! with GFM tables and strikethrough) and as plain text: the `markdown` and `body`
//! properties come from the same walk, so they always hold the same content.
//!
//! Blocks are separated by a blank line. Inline whitespace is collapsed as a browser
//! does, text is escaped where Markdown would read it as markup, links and images are made
//! absolute against the page's URL, lists nest by indenting to the item's content column,
//! code blocks keep their whitespace inside a fence longer than any backtick run they
//! hold, and tables become GFM tables when they are data tables (one row per line, `|`
//! escaped, ragged rows padded) or plain blocks when they only lay a page out.

use trawl_sdk::Tree;

use crate::url::{Base, linkable};

/// Elements that start a block of their own.
pub fn is_block_tag(tag: &str) -> bool {
    matches!(
        tag,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "html"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
            | "caption"
            | "noscript"
    )
}

/// What a rendered block is, for joining it to its neighbours inside a list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Para,
    List,
}

#[derive(Debug, Clone)]
struct Block {
    text: String,
    kind: Kind,
}

/// The inline formatting already open around the text being rendered, so that the
/// same emphasis is not opened twice and links do not nest.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    strong: bool,
    em: bool,
    strike: bool,
    link: bool,
    /// Inside a table cell: no hard line breaks.
    cell: bool,
}

/// Past this nesting a subtree is rendered as flat text: the walk recurses, and pages
/// nest hundreds of levels only by accident.
const MAX_DEPTH: usize = 160;

/// How the content is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Write images as `![alt](src)` in the Markdown.
    pub images: bool,
    /// Write links as `[text](href)` in the Markdown (else their text only).
    pub links: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            images: true,
            links: true,
        }
    }
}

/// Renders subtrees of one tree. `dropped[i]` leaves entry `i` and its subtree out.
pub struct Renderer<'t> {
    tree: &'t Tree,
    base: Option<&'t Base>,
    dropped: &'t [bool],
    /// Whether the element holds a block-level element (an inline element that does is
    /// rendered as a container).
    blocky: Vec<bool>,
    style: Style,
}

impl<'t> Renderer<'t> {
    /// A renderer for `tree`, resolving URLs against `base`, leaving out what `dropped`
    /// marks (shorter than the tree: the rest is kept).
    pub fn new(tree: &'t Tree, base: Option<&'t Base>, dropped: &'t [bool], style: Style) -> Self {
        let mut blocky = vec![false; tree.len()];
        for i in (1..tree.len()).rev() {
            if let Some(p) = tree.parent(i)
                && (blocky[i] || is_block_tag(tree.tag(i)) || tree.tag(i) == "table")
            {
                blocky[p] = true;
            }
        }
        Self {
            tree,
            base,
            dropped,
            blocky,
            style,
        }
    }

    fn is_dropped(&self, i: usize) -> bool {
        self.dropped.get(i).copied().unwrap_or(false)
    }

    /// The subtree at `root` as Markdown.
    pub fn markdown(&self, root: usize) -> String {
        let mut out = Vec::new();
        self.block(root, &mut out, true, Ctx::default(), 0);
        join_blocks(&out)
    }

    /// The subtree at `root` as plain text: blocks separated by a blank line, whitespace
    /// collapsed inside each.
    pub fn text(&self, root: usize) -> String {
        self.text_blocks(root).join("\n\n")
    }

    /// The subtree at `root` as plain text blocks.
    pub fn text_blocks(&self, root: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.block(root, &mut out, false, Ctx::default(), 0);
        out.into_iter().map(|b| b.text).collect()
    }

    /// Renders the children of `i` as blocks, gathering runs of inline content into
    /// paragraphs.
    fn children_blocks(&self, i: usize, out: &mut Vec<Block>, md: bool, ctx: Ctx, depth: usize) {
        let mut inline = Inline::default();
        for c in self.tree.children(i) {
            if self.is_dropped(c) {
                continue;
            }
            if self.tree.is_text(c) {
                inline.text(self.tree.text(c), md);
                continue;
            }
            let tag = self.tree.tag(c);
            // Two line breaks in a row end a paragraph, as pages without `<p>` write them.
            if tag == "br" && inline.s.ends_with('\n') {
                flush(&mut inline, out, md);
                continue;
            }
            if is_block_tag(tag) || self.blocky[c] {
                flush(&mut inline, out, md);
                self.block(c, out, md, ctx, depth + 1);
            } else {
                self.inline(c, &mut inline, md, ctx, depth + 1);
            }
        }
        flush(&mut inline, out, md);
    }

    fn block(&self, i: usize, out: &mut Vec<Block>, md: bool, ctx: Ctx, depth: usize) {
        if self.tree.is_text(i) {
            let mut inline = Inline::default();
            inline.text(self.tree.text(i), md);
            flush(&mut inline, out, md);
            return;
        }
        if depth > MAX_DEPTH {
            let mut inline = Inline::default();
            for d in self.tree.descendants(i) {
                if self.tree.is_text(d) {
                    inline.text(self.tree.text(d), md);
                }
            }
            flush(&mut inline, out, md);
            return;
        }
        let tag = self.tree.tag(i);
        match tag {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let mut inline = Inline::default();
                // A heading is already strong: bold inside it is noise.
                let ctx = Ctx {
                    cell: true,
                    strong: true,
                    ..ctx
                };
                self.inline_children(i, &mut inline, md, ctx, depth);
                let text = one_line(&inline.finish());
                if text.is_empty() {
                    return;
                }
                let text = if md {
                    let level = usize::from(tag.as_bytes()[1] - b'0');
                    format!("{} {}", "#".repeat(level), text)
                } else {
                    text
                };
                out.push(Block {
                    text,
                    kind: Kind::Para,
                });
            }
            "ul" | "ol" | "menu" | "dir" => self.list(i, tag == "ol", out, md, ctx, depth),
            "pre" => self.code_block(i, out, md),
            "blockquote" if md => {
                let mut inner = Vec::new();
                self.children_blocks(i, &mut inner, md, ctx, depth);
                if inner.is_empty() {
                    return;
                }
                let joined = join_blocks(&inner);
                let text = joined
                    .lines()
                    .map(|l| {
                        if l.is_empty() {
                            ">".to_string()
                        } else {
                            format!("> {l}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push(Block {
                    text,
                    kind: Kind::Para,
                });
            }
            "table" => self.table(i, out, md, ctx, depth),
            "hr" => {
                if md && out.last().is_some_and(|b| b.text != "---") {
                    out.push(Block {
                        text: "---".into(),
                        kind: Kind::Para,
                    });
                }
            }
            "br" | "wbr" => {}
            _ if !is_block_tag(tag) && !self.blocky[i] => {
                let mut inline = Inline::default();
                self.inline(i, &mut inline, md, ctx, depth);
                flush(&mut inline, out, md);
            }
            _ => self.children_blocks(i, out, md, ctx, depth),
        }
    }

    fn inline_children(&self, i: usize, inline: &mut Inline, md: bool, ctx: Ctx, depth: usize) {
        for c in self.tree.children(i) {
            if self.is_dropped(c) {
                continue;
            }
            if self.tree.is_text(c) {
                inline.text(self.tree.text(c), md);
            } else if depth > MAX_DEPTH {
                for d in self.tree.descendants(c) {
                    if self.tree.is_text(d) {
                        inline.text(self.tree.text(d), md);
                    }
                }
            } else {
                let tag = self.tree.tag(c);
                if is_block_tag(tag) && tag != "br" {
                    // A block inside a heading or cell: a space keeps the words apart.
                    inline.space = true;
                }
                self.inline(c, inline, md, ctx, depth + 1);
                if is_block_tag(tag) {
                    inline.space = true;
                }
            }
        }
    }

    /// Renders element `i` as inline content into `inline`.
    fn inline(&self, i: usize, inline: &mut Inline, md: bool, ctx: Ctx, depth: usize) {
        let tree = self.tree;
        match tree.tag(i) {
            "br" => {
                if ctx.cell {
                    inline.space = true;
                } else {
                    inline.hard_break(md);
                }
            }
            "img" => {
                if md
                    && self.style.images
                    && let Some(src) = image_source(tree, i)
                {
                    let alt = tree.attr(i, "alt").unwrap_or_default();
                    let mut a = Inline::default();
                    a.text(alt, true);
                    let src = self.absolute(src);
                    inline.raw(&format!(
                        "![{}]({})",
                        one_line(&a.finish()),
                        link_target(&src)
                    ));
                }
            }
            "a" => {
                let mut inner = Inline::default();
                let href = tree.attr(i, "href").filter(|h| linkable(h));
                let as_link = md && self.style.links && !ctx.link && href.is_some();
                self.inline_children(
                    i,
                    &mut inner,
                    md,
                    Ctx {
                        link: ctx.link || as_link,
                        ..ctx
                    },
                    depth,
                );
                let (lead, trail) = (inner.lead, inner.space);
                let text = inner.finish();
                if text.is_empty() {
                    return;
                }
                if lead {
                    inline.space = true;
                }
                match href {
                    Some(href) if as_link => {
                        let target = self.absolute(href);
                        let close = format!("]({})", link_target(&target));
                        // A link the page split in pieces (`<a>Arte</a><a>mis</a>`, one
                        // target) is written once.
                        if !inline.space && inline.s.ends_with(&close) {
                            inline.s.truncate(inline.s.len() - close.len());
                            inline.s.push_str(&text);
                            inline.s.push_str(&close);
                        } else {
                            inline.raw(&format!("[{text}]{}", &close[1..]));
                        }
                    }
                    _ => inline.raw(&text),
                }
                if trail {
                    inline.space = true;
                }
            }
            "strong" | "b" if md && !ctx.strong => self.wrapped(
                i,
                inline,
                "**",
                Ctx {
                    strong: true,
                    ..ctx
                },
                depth,
            ),
            "em" | "i" | "cite" | "dfn" if md && !ctx.em => {
                self.wrapped(i, inline, "*", Ctx { em: true, ..ctx }, depth)
            }
            "del" | "s" | "strike" if md && !ctx.strike => self.wrapped(
                i,
                inline,
                "~~",
                Ctx {
                    strike: true,
                    ..ctx
                },
                depth,
            ),
            "code" | "kbd" | "samp" | "tt" => {
                let mut raw = Inline::default();
                for d in tree.descendants(i) {
                    if tree.is_text(d) {
                        raw.text(tree.text(d), false);
                    }
                }
                let (lead, trail) = (raw.lead, raw.space);
                let code = raw.finish();
                if code.is_empty() {
                    return;
                }
                if lead {
                    inline.space = true;
                }
                if md {
                    inline.raw(&inline_code(&code));
                } else {
                    inline.raw(&code);
                }
                if trail {
                    inline.space = true;
                }
            }
            "q" => {
                inline.raw("\u{201c}");
                self.inline_children(i, inline, md, ctx, depth);
                inline.raw("\u{201d}");
            }
            _ => self.inline_children(i, inline, md, ctx, depth),
        }
    }

    /// Inline content between two markers, with the whitespace around it moved outside
    /// them (`** bold**` is no emphasis in Markdown).
    fn wrapped(&self, i: usize, inline: &mut Inline, marker: &str, ctx: Ctx, depth: usize) {
        let mut inner = Inline::default();
        self.inline_children(i, &mut inner, true, ctx, depth);
        let (lead, trail) = (inner.lead, inner.space);
        let text = inner.finish();
        if text.is_empty() {
            if lead || trail {
                inline.space = true;
            }
            return;
        }
        if lead {
            inline.space = true;
        }
        inline.raw(&format!("{marker}{text}{marker}"));
        if trail {
            inline.space = true;
        }
    }

    fn absolute(&self, href: &str) -> String {
        match self.base {
            Some(base) => base.resolve(href),
            None => href.trim().to_string(),
        }
    }

    fn list(
        &self,
        i: usize,
        ordered: bool,
        out: &mut Vec<Block>,
        md: bool,
        ctx: Ctx,
        depth: usize,
    ) {
        let tree = self.tree;
        if !md {
            for c in tree.children(i) {
                if !self.is_dropped(c) {
                    self.block(c, out, md, ctx, depth + 1);
                }
            }
            return;
        }
        let mut number: u64 = tree
            .attr(i, "start")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        let mut items: Vec<String> = Vec::new();
        let mut loose_text = Inline::default();
        for c in tree.children(i) {
            if self.is_dropped(c) {
                continue;
            }
            if tree.is_text(c) {
                loose_text.text(tree.text(c), md);
                continue;
            }
            let tag = tree.tag(c);
            let mut blocks = Vec::new();
            let nested_list = matches!(tag, "ul" | "ol");
            if nested_list {
                // A list written straight inside a list: it belongs to the item before.
                self.block(c, &mut blocks, md, ctx, depth + 1);
                let rendered = join_item(&blocks);
                if rendered.is_empty() {
                    continue;
                }
                if let Some(last) = items.last_mut() {
                    let indent = last.find(' ').map_or(2, |s| s + 1);
                    last.push('\n');
                    last.push_str(&indent_lines(&rendered, indent));
                    continue;
                }
                items.push(prefix_item("- ", &rendered));
                continue;
            }
            if tag == "li" {
                self.children_blocks(c, &mut blocks, md, ctx, depth + 1);
            } else {
                self.block(c, &mut blocks, md, ctx, depth + 1);
            }
            let rendered = join_item(&blocks);
            if rendered.is_empty() {
                continue;
            }
            let marker = if ordered {
                let m = format!("{number}. ");
                number += 1;
                m
            } else {
                "- ".to_string()
            };
            items.push(prefix_item(&marker, &rendered));
        }
        let loose = loose_text.finish();
        if !loose.is_empty() {
            out.push(Block {
                text: loose,
                kind: Kind::Para,
            });
        }
        if !items.is_empty() {
            out.push(Block {
                text: items.join("\n"),
                kind: Kind::List,
            });
        }
    }

    fn code_block(&self, i: usize, out: &mut Vec<Block>, md: bool) {
        let tree = self.tree;
        let mut code = String::new();
        for d in tree.descendants(i) {
            if tree.is_text(d) {
                code.push_str(tree.text(d));
            } else if tree.tag(d) == "br" {
                code.push('\n');
            }
        }
        let code = trim_blank_lines(&code);
        if code.trim().is_empty() {
            return;
        }
        if !md {
            let mut inline = Inline::default();
            inline.text(code, false);
            flush(&mut inline, out, false);
            return;
        }
        let lang = language_of(tree, i)
            .or_else(|| {
                tree.children(i)
                    .find(|&c| tree.tag(c) == "code")
                    .and_then(|c| language_of(tree, c))
            })
            .unwrap_or_default();
        let fence = "`".repeat(longest_run(code, '`').max(2) + 1);
        out.push(Block {
            text: format!("{fence}{lang}\n{code}\n{fence}"),
            kind: Kind::Para,
        });
    }

    fn table(&self, i: usize, out: &mut Vec<Block>, md: bool, ctx: Ctx, depth: usize) {
        let tree = self.tree;
        // The rows of this table, not of tables nested in it.
        let mut rows: Vec<usize> = Vec::new();
        let mut caption = None;
        let mut layout = false;
        let mut d = i + 1;
        let end = tree.end(i);
        while d < end {
            let tag = tree.tag(d);
            if self.is_dropped(d) {
                d = tree.end(d);
                continue;
            }
            match tag {
                "table" => {
                    layout = true;
                    d = tree.end(d);
                    continue;
                }
                "tr" => rows.push(d),
                "caption" => caption = Some(d),
                "td" | "th" => {
                    // A cell holding blocks (or paragraphs) lays a page out.
                    let paragraphs = tree
                        .descendants(d)
                        .filter(|&x| tree.tag(x) == "p")
                        .take(2)
                        .count();
                    let heavy = paragraphs > 1
                        || tree.descendants(d).any(|x| {
                            matches!(
                                tree.tag(x),
                                "div"
                                    | "ul"
                                    | "ol"
                                    | "h1"
                                    | "h2"
                                    | "h3"
                                    | "h4"
                                    | "pre"
                                    | "blockquote"
                                    | "table"
                            )
                        });
                    if heavy {
                        layout = true;
                    }
                    d = tree.end(d);
                    continue;
                }
                _ => {}
            }
            d += 1;
        }
        let cells_of = |row: usize| -> Vec<usize> {
            tree.children(row)
                .filter(|&c| matches!(tree.tag(c), "td" | "th") && !self.is_dropped(c))
                .collect()
        };
        let columns = rows.iter().map(|&r| cells_of(r).len()).max().unwrap_or(0);
        if layout || columns < 2 || rows.len() < 2 {
            self.children_blocks(i, out, md, ctx, depth);
            return;
        }
        if let Some(c) = caption {
            self.block(c, out, md, ctx, depth + 1);
        }
        let mut grid: Vec<Vec<String>> = Vec::new();
        for &r in &rows {
            let mut row = Vec::new();
            for c in cells_of(r) {
                let mut inline = Inline::default();
                self.inline_children(c, &mut inline, md, Ctx { cell: true, ..ctx }, depth + 1);
                let mut text = one_line(&inline.finish());
                if md {
                    text = escape_pipes(&text);
                }
                row.push(text);
                let span: usize = tree
                    .attr(c, "colspan")
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(1);
                for _ in 1..span.clamp(1, 50) {
                    row.push(String::new());
                }
            }
            if row.iter().all(String::is_empty) {
                continue;
            }
            grid.push(row);
        }
        if grid.is_empty() {
            return;
        }
        let columns = grid.iter().map(Vec::len).max().unwrap_or(0).min(64);
        if !md {
            for row in &grid {
                let cells: Vec<&str> = row
                    .iter()
                    .map(String::as_str)
                    .filter(|c| !c.is_empty())
                    .collect();
                out.push(Block {
                    text: cells.join(" | "),
                    kind: Kind::Para,
                });
            }
            return;
        }
        let line = |row: &[String]| -> String {
            let mut s = String::from("|");
            for k in 0..columns {
                let cell = row.get(k).map_or("", String::as_str);
                s.push(' ');
                s.push_str(cell);
                s.push_str(" |");
            }
            s
        };
        let mut lines = Vec::new();
        // GFM needs a header row: without one, the first row serves.
        lines.push(line(&grid[0]));
        lines.push(format!("|{}", " --- |".repeat(columns)));
        for row in &grid[1..] {
            lines.push(line(row));
        }
        out.push(Block {
            text: lines.join("\n"),
            kind: Kind::Para,
        });
    }
}

/// Inline content being gathered into a paragraph, whitespace collapsed.
#[derive(Debug, Default)]
struct Inline {
    s: String,
    /// Whitespace is pending before the next word.
    space: bool,
    /// Whitespace came before anything was written.
    lead: bool,
}

impl Inline {
    fn pending(&mut self) {
        if self.space && !self.s.is_empty() && !self.s.ends_with('\n') {
            self.s.push(' ');
        }
        self.space = false;
    }

    /// Page text: whitespace collapsed, escaped for Markdown when `md`.
    fn text(&mut self, text: &str, md: bool) {
        for ch in text.chars() {
            if ch.is_whitespace() {
                if self.s.is_empty() {
                    self.lead = true;
                }
                self.space = true;
                continue;
            }
            // Soft hyphens and zero-width spaces only guide line breaking.
            if matches!(ch, '\u{ad}' | '\u{200b}' | '\u{feff}') {
                continue;
            }
            self.pending();
            if md && matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '~') {
                self.s.push('\\');
            }
            self.s.push(ch);
        }
    }

    /// Already rendered Markdown.
    fn raw(&mut self, fragment: &str) {
        if fragment.is_empty() {
            return;
        }
        self.pending();
        self.s.push_str(fragment);
    }

    fn hard_break(&mut self, md: bool) {
        if self.s.is_empty() || self.s.ends_with('\n') {
            return;
        }
        self.s.push_str(if md { "\\\n" } else { "\n" });
        self.space = false;
    }

    /// The content, without trailing breaks (a hard break is an odd backslash at the
    /// end once the line break is trimmed; an escaped backslash is an even pair).
    fn finish(self) -> String {
        let mut s = self.s;
        loop {
            let t = s.trim_end().len();
            s.truncate(t);
            let slashes = s.bytes().rev().take_while(|&b| b == b'\\').count();
            if slashes % 2 == 1 {
                s.pop();
            } else {
                break;
            }
        }
        s
    }
}

fn flush(inline: &mut Inline, out: &mut Vec<Block>, md: bool) {
    let text = std::mem::take(inline).finish();
    if text.is_empty() {
        return;
    }
    let text = if md { escape_line_start(&text) } else { text };
    out.push(Block {
        text,
        kind: Kind::Para,
    });
}

/// A backslash before what Markdown would read as a block marker at the start of a
/// paragraph: `#`, `>`, `-`, `+`, `=`, and `1.` or `1)` before a space.
fn escape_line_start(text: &str) -> String {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return String::new();
    };
    let space_after = |k: usize| bytes.get(k).is_none_or(|b| *b == b' ');
    match first {
        b'#' | b'>' => format!("\\{text}"),
        b'-' | b'+' | b'=' if space_after(1) || bytes.iter().all(|&b| b == first) => {
            format!("\\{text}")
        }
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            match bytes.get(digits) {
                Some(b'.' | b')') if digits <= 9 && space_after(digits + 1) => {
                    format!("{}\\{}", &text[..digits], &text[digits..])
                }
                _ => text.to_string(),
            }
        }
        _ => text.to_string(),
    }
}

fn join_blocks(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A list item's blocks: a nested list follows its paragraph on the next line, other
/// blocks after a blank line.
fn join_item(blocks: &[Block]) -> String {
    let mut s = String::new();
    for (k, b) in blocks.iter().enumerate() {
        if k > 0 {
            s.push_str(if b.kind == Kind::List { "\n" } else { "\n\n" });
        }
        s.push_str(&b.text);
    }
    s
}

fn prefix_item(marker: &str, body: &str) -> String {
    let indent = marker.len();
    let mut s = String::new();
    for (k, line) in body.lines().enumerate() {
        if k == 0 {
            s.push_str(marker);
            s.push_str(line);
        } else {
            s.push('\n');
            if !line.is_empty() {
                s.push_str(&" ".repeat(indent));
                s.push_str(line);
            }
        }
    }
    s
}

fn indent_lines(body: &str, indent: usize) -> String {
    body.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{}{l}", " ".repeat(indent))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text on one line: hard breaks become spaces.
fn one_line(s: &str) -> String {
    let s = s.replace("\\\n", " ").replace('\n', " ");
    s.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn escape_pipes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for ch in s.chars() {
        if ch == '|' && !escaped {
            out.push('\\');
        }
        escaped = ch == '\\' && !escaped;
        out.push(ch);
    }
    out
}

/// Inline code in a backtick string longer than any inside it, padded with a space
/// when the code starts or ends with a backtick.
fn inline_code(code: &str) -> String {
    let fence = "`".repeat(longest_run(code, '`') + 1);
    if code.starts_with('`') || code.ends_with('`') {
        format!("{fence} {code} {fence}")
    } else {
        format!("{fence}{code}{fence}")
    }
}

fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A link target Markdown reads whole: spaces and parentheses percent-encoded.
fn link_target(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
}

/// Code without the blank lines around it, indentation of its first line kept.
fn trim_blank_lines(code: &str) -> &str {
    let code = code.trim_end();
    let mut start = 0;
    for line in code.split_inclusive('\n') {
        if line.trim().is_empty() {
            start += line.len();
        } else {
            break;
        }
    }
    code.get(start..).unwrap_or_default()
}

/// A code block's language, from a `language-x` or `lang-x` class.
fn language_of(tree: &Tree, i: usize) -> Option<String> {
    let class = tree.attr(i, "class")?;
    class.split_ascii_whitespace().find_map(|c| {
        let lang = c
            .strip_prefix("language-")
            .or_else(|| c.strip_prefix("lang-"))?;
        (!lang.is_empty()
            && lang
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '+' | '-' | '#' | '.')))
        .then(|| lang.to_string())
    })
}

/// An image's address: `src`, or the attribute a lazy loader keeps it in when `src` is
/// a placeholder.
pub fn image_source(tree: &Tree, i: usize) -> Option<&str> {
    let usable = |s: &&str| {
        let s = s.trim();
        !s.is_empty() && !s.starts_with("data:")
    };
    for name in [
        "src",
        "data-src",
        "data-lazy-src",
        "data-original",
        "data-url",
    ] {
        if let Some(s) = tree.attr(i, name).filter(usable) {
            return Some(s.trim());
        }
    }
    for name in ["srcset", "data-srcset"] {
        if let Some(first) = tree
            .attr(i, name)
            .and_then(|s| s.split(',').next())
            .and_then(|c| c.split_whitespace().next())
            .filter(usable)
        {
            return Some(first);
        }
    }
    None
}
