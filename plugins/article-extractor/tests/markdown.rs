//! Rendering tricky blocks as Markdown and plain text, on trees the host's own DOM builds.

#[path = "../../support/dom.rs"]
mod dom;

use article_extractor::markdown::{Renderer, Style};
use article_extractor::url::Base;

/// The Markdown and the plain text of the page's `<body>`.
fn render(body: &str) -> (String, String) {
    let tree = dom::tree_of(
        &format!("<!doctype html><html><body>{body}</body></html>"),
        "https://example.com/news/story.html",
    );
    let base = Base::parse("https://example.com/news/story.html");
    let root = tree.find("body").expect("a body");
    let dropped = vec![false; tree.len()];
    let r = Renderer::new(&tree, base.as_ref(), &dropped, Style::default());
    (r.markdown(root), r.text(root))
}

fn md(body: &str) -> String {
    render(body).0
}

#[test]
fn nested_lists_three_levels() {
    let got = md(
        "<ul><li>one<ol><li>first<ul><li>deep <b>bold</b></li></ul></li><li>second</li></ol></li><li>two</li></ul>",
    );
    assert_eq!(
        got,
        "- one\n  1. first\n     - deep **bold**\n  2. second\n- two"
    );
}

#[test]
fn ordered_list_start_and_paragraph_items() {
    let got = md("<ol start=\"9\"><li><p>nine</p><p>more</p></li><li>ten</li></ol>");
    assert_eq!(got, "9. nine\n\n   more\n10. ten");
}

#[test]
fn list_written_straight_inside_a_list() {
    let got = md("<ul><li>a</li><ul><li>a1</li></ul><li>b</li></ul>");
    assert_eq!(got, "- a\n  - a1\n- b");
}

#[test]
fn table_with_header_pipes_and_ragged_rows() {
    let got = md(
        "<table><thead><tr><th>Name</th><th>Value</th><th>Note</th></tr></thead>\
        <tbody><tr><td>a|b</td><td>1</td></tr><tr><td>c</td><td>2</td><td>x <i>y</i></td></tr></tbody></table>",
    );
    assert_eq!(
        got,
        "| Name | Value | Note |\n| --- | --- | --- |\n| a\\|b | 1 |  |\n| c | 2 | x *y* |"
    );
}

#[test]
fn table_without_header_uses_its_first_row_and_colspan_pads() {
    let got = md("<table><tr><td colspan=2>wide</td></tr><tr><td>l</td><td>r</td></tr></table>");
    assert_eq!(got, "| wide |  |\n| --- | --- |\n| l | r |");
}

#[test]
fn layout_tables_are_blocks() {
    let got = md("<table><tr><td><p>First paragraph.</p><p>Second one.</p></td></tr></table>");
    assert_eq!(got, "First paragraph.\n\nSecond one.");
}

#[test]
fn code_blocks_keep_whitespace() {
    let got = md(
        "<pre><code class=\"language-rust\">fn main() {\n\n    let x = 1; // *not* emphasis\n}\n</code></pre>",
    );
    assert_eq!(
        got,
        "```rust\nfn main() {\n\n    let x = 1; // *not* emphasis\n}\n```"
    );
    let fenced = md("<pre>```\ninside\n```</pre>");
    assert_eq!(fenced, "````\n```\ninside\n```\n````");
}

#[test]
fn inline_code_with_backticks() {
    assert_eq!(md("<p>Run <code>ls  -l</code> now</p>"), "Run `ls -l` now");
    assert_eq!(md("<p>Use <code>a`b</code>.</p>"), "Use ``a`b``.");
    assert_eq!(md("<p><code>`tick</code></p>"), "`` `tick ``");
}

#[test]
fn links_resolved_with_emphasis_and_images() {
    let got = md(
        "<p>See <a href=\"../about?x=1\">the <em>about</em> page</a> and \
        <a href=\"https://other.example/a b\">this</a>. <a href=\"javascript:void(0)\">Nothing</a> \
        <img src=\"/i/a.png\" alt=\"An [image]\"></p>",
    );
    assert_eq!(
        got,
        "See [the *about* page](https://example.com/about?x=1) and [this](https://other.example/a%20b). Nothing ![An \\[image\\]](https://example.com/i/a.png)"
    );
}

#[test]
fn a_link_split_in_pieces_is_one_link() {
    assert_eq!(
        md(
            "<p>the <a href=\"/a\">Arte</a><a href=\"/a\">mis</a> program and <a href=\"/a\">it</a> <a href=\"/a\">again</a></p>"
        ),
        "the [Artemis](https://example.com/a) program and [it](https://example.com/a) [again](https://example.com/a)"
    );
}

#[test]
fn linked_image_and_lazy_source() {
    let got = md(
        "<p><a href=\"/big.jpg\"><img src=\"data:image/gif;base64,R0l\" data-src=\"/small.jpg\" alt=\"\"></a></p>",
    );
    assert_eq!(
        got,
        "[![](https://example.com/small.jpg)](https://example.com/big.jpg)"
    );
}

#[test]
fn emphasis_and_markup_characters_are_escaped() {
    assert_eq!(
        md("<p>2 * 3 = 6 and snake_case [x]</p>"),
        "2 \\* 3 = 6 and snake\\_case \\[x\\]"
    );
    assert_eq!(md("<p># not a heading</p>"), "\\# not a heading");
    assert_eq!(md("<p>1. not a list</p>"), "1\\. not a list");
    assert_eq!(md("<p>- nor this</p>"), "\\- nor this");
    assert_eq!(
        md("<p><b>bold </b>text<strong><b>nested</b></strong></p>"),
        "**bold** text**nested**"
    );
    assert_eq!(md("<p><em> </em>x</p>"), "x");
}

#[test]
fn headings_and_breaks() {
    assert_eq!(
        md("<h2>Sub <a href=\"#s\">head</a></h2><p>line<br>next<br></p>"),
        "## Sub [head](https://example.com/news/story.html#s)\n\nline\\\nnext"
    );
    assert_eq!(md("<h3>  </h3><p>only</p>"), "only");
    assert_eq!(
        md("<div>one<br>two<br><br>three<br> <br>four</div>"),
        "one\\\ntwo\n\nthree\n\nfour"
    );
    assert_eq!(render("<div>one<br><br>two</div>").1, "one\n\ntwo");
}

#[test]
fn blockquote_with_a_list() {
    let got = md("<blockquote><p>Quoted.</p><ul><li>one</li><li>two</li></ul></blockquote>");
    assert_eq!(got, "> Quoted.\n>\n> - one\n> - two");
}

#[test]
fn inline_elements_holding_blocks_are_containers() {
    let got = md("<a href=\"/x\"><div><h3>Title</h3><p>Text</p></div></a><span>tail</span>");
    assert_eq!(got, "### Title\n\nText\n\ntail");
}

#[test]
fn plain_text_blocks() {
    let (_, text) = render(
        "<h1>Head</h1><p>One   <b>two</b>\nthree.</p><ul><li>a</li><li>b</li></ul>\
        <table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td>2</td></tr></table><pre>x  y</pre>",
    );
    assert_eq!(
        text,
        "Head\n\nOne two three.\n\na\n\nb\n\nk | v\n\n1 | 2\n\nx y"
    );
}

#[test]
fn very_deep_nesting_renders_without_recursing_forever() {
    let body = format!("{}deep text{}", "<div>".repeat(600), "</div>".repeat(600));
    let (md, text) = render(&body);
    assert_eq!(md, "deep text");
    assert_eq!(text, "deep text");
}
