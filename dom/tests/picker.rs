//! The schema builder's selector generaliser on real pages (tests/fixtures: the
//! books.toscrape.com corpus pages, and listing pages laid out from their own items):
//! fixed clicks give the expected selector and match count, and the elements matched
//! are the ones a person meant.

use std::path::PathBuf;

use trawl_dom::picker::{self, Path};
use trawl_dom::{Deadline, Document, Limits};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> Document {
    Document::parse(
        &fixture(name),
        "http://books.toscrape.com/catalogue/page-1.html",
        &Limits::default(),
        &Deadline::NONE,
    )
    .expect("the page parses")
}

/// The paths of the elements `selector` matches, as a click on each would give.
fn paths(doc: &Document, selector: &str) -> Vec<Path> {
    let found = picker::check(
        doc,
        selector,
        None,
        1000,
        &Limits::default(),
        &Deadline::NONE,
    )
    .expect("the selector is good");
    found.sample.into_iter().map(|m| m.path).collect()
}

fn propose(
    doc: &Document,
    examples: &[Path],
    rejects: &[Path],
    within: Option<&str>,
) -> picker::Proposal {
    picker::propose(
        doc,
        examples,
        rejects,
        within,
        100,
        &Limits::default(),
        &Deadline::NONE,
    )
    .expect("a proposal")
}

#[test]
fn two_titles_on_a_listing_give_all_twenty_and_their_item() {
    let doc = parse("books-listing/page-1.html");
    let titles = paths(&doc, "article.product_pod h3 a");
    assert_eq!(titles.len(), 20);
    let got = propose(&doc, &[titles[0].clone(), titles[5].clone()], &[], None);
    assert_eq!(got.matches.selector, "h3 > a");
    assert_eq!(got.matches.count, 20);
    let matched: Vec<Path> = got.matches.sample.iter().map(|m| m.path.clone()).collect();
    assert_eq!(matched, titles, "the twenty titles, in page order");
    let container = got.container.expect("a container");
    assert_eq!(container.selector, ".product_pod");
    assert_eq!(container.count, 20);
    assert_eq!(container.field.as_deref(), Some("h3 > a"));
}

#[test]
fn a_field_clicked_inside_an_item_is_found_in_every_item() {
    let doc = parse("books-listing/page-1.html");
    let prices = paths(&doc, "article.product_pod p.price_color");
    let got = propose(&doc, &[prices[3].clone()], &[], Some("article.product_pod"));
    assert_eq!(got.matches.selector, ".price_color");
    assert_eq!(got.matches.count, 20);
    assert_eq!(got.matches.scopes, Some(20));
    assert_eq!(got.matches.in_scopes, Some(20));
    assert!(
        got.matches.sample.iter().all(|m| m.text.starts_with('£')),
        "{:?}",
        got.matches.sample
    );
    let ratings = paths(&doc, "article.product_pod p.star-rating");
    let got = propose(
        &doc,
        &[ratings[0].clone()],
        &[],
        Some("article.product_pod"),
    );
    assert_eq!(got.matches.selector, ".star-rating");
    assert_eq!(got.matches.in_scopes, Some(20));
}

#[test]
fn one_click_on_a_detail_page_names_that_element_alone() {
    let doc = parse("books/10.html");
    let h1 = paths(&doc, "div.product_main h1");
    let got = propose(&doc, &h1, &[], None);
    assert_eq!(got.matches.count, 1);
    assert_eq!(got.matches.sample[0].path, h1[0]);
    assert_eq!(got.matches.sample[0].text, "The Black Maria");
    assert_eq!(got.matches.selector, "h1");
    // The main product's price: the related products have the same class.
    let price = paths(&doc, "div.product_main p.price_color");
    let got = propose(&doc, &price, &[], None);
    assert_eq!(got.matches.count, 1);
    assert_eq!(got.matches.sample[0].path, price[0]);
    assert_eq!(got.matches.selector, ".product_main > .price_color");
}

#[test]
fn a_reject_click_removes_what_the_examples_generalised_to() {
    let doc = parse("books/10.html");
    // The breadcrumb's links: Home, Books, the genre.
    let crumbs = paths(&doc, "ul.breadcrumb a");
    assert_eq!(crumbs.len(), 3);
    let got = propose(&doc, &crumbs[1..], &[], None);
    assert_eq!(
        got.matches.count, 3,
        "two links generalise to all three: {}",
        got.matches.selector
    );
    let got = propose(&doc, &crumbs[1..], &crumbs[..1], None);
    assert_eq!(got.matches.count, 2, "{}", got.matches.selector);
    let matched: Vec<Path> = got.matches.sample.iter().map(|m| m.path.clone()).collect();
    assert_eq!(matched, crumbs[1..].to_vec());
    assert_eq!(got.matches.selector, "li:not(:nth-of-type(1)) > a");
    // Two related products' prices generalise to the six, not the main product's.
    let prices = paths(&doc, "p.price_color");
    assert_eq!(prices.len(), 7);
    let got = propose(&doc, &prices[1..3], &[], None);
    assert_eq!(got.matches.count, 6, "{}", got.matches.selector);
    assert_eq!(got.matches.selector, ".product_pod .price_color");
}

#[test]
fn checked_selectors_count_per_scope() {
    let doc = parse("books-listing/page-1.html");
    let got = picker::check(
        &doc,
        "li.next a",
        None,
        5,
        &Limits::default(),
        &Deadline::NONE,
    )
    .unwrap();
    assert_eq!(got.count, 1);
    assert!(
        got.sample[0].html.starts_with("<a href=\"page-2.html\">"),
        "{}",
        got.sample[0].html
    );
    let got = picker::check(
        &doc,
        "a",
        Some("article.product_pod"),
        3,
        &Limits::default(),
        &Deadline::NONE,
    )
    .unwrap();
    assert_eq!(
        (got.count, got.scopes, got.in_scopes),
        (40, Some(20), Some(20))
    );
    assert_eq!(got.sample.len(), 3);
    let bad = picker::check(&doc, "a[", None, 3, &Limits::default(), &Deadline::NONE);
    assert!(
        matches!(bad, Err(trawl_dom::DomError::BadSelector(_))),
        "{bad:?}"
    );
}

#[test]
fn paths_name_the_same_element_after_sanitising() {
    let html = fixture("books-listing/page-1.html");
    let doc = Document::parse(
        &html,
        "http://books.toscrape.com/",
        &Limits::default(),
        &Deadline::NONE,
    )
    .unwrap();
    let shown = trawl_dom::sanitize::sanitized(&doc, 8 << 20, &Deadline::NONE).unwrap();
    assert!(!shown.contains("<script"), "scripts are gone");
    assert!(shown.contains("Content-Security-Policy"));
    let again = Document::parse(
        &shown,
        "http://books.toscrape.com/",
        &Limits::default(),
        &Deadline::NONE,
    )
    .unwrap();
    let before = paths(&doc, "article.product_pod h3 a");
    let after = paths(&again, "article.product_pod h3 a");
    assert_eq!(before.len(), after.len());
    // Re-parsing the sanitised text is stable: a second pass gives the same text.
    let twice = trawl_dom::sanitize::sanitized(&again, 8 << 20, &Deadline::NONE).unwrap();
    assert_eq!(shown, twice);
}

#[test]
fn sanitising_leaves_nothing_that_runs_or_loads() {
    let hostile = r#"<html><head><script>alert(1)</script><meta http-equiv="refresh" content="0;url=http://evil/">
        <base href="http://evil/"><link rel="preload" href="http://evil/x"><link rel="stylesheet" href="s.css"></head>
        <body onload="alert(2)"><a href=" JaVaScRiPt:alert(3)">x</a><a href="/ok">ok</a>
        <img src="x" onerror="alert(4)"><iframe src="http://evil/"></iframe><noscript><p>ns</p></noscript>
        <svg><script>alert(5)</script><a xlink:href="javascript:alert(6)">s</a></svg>
        <object data="x.swf"></object><embed src="x"><form action="javascript:alert(7)"><button formaction="javascript:1">b</button></form>
        <iframe srcdoc="<script>alert(8)</script>"></iframe><template><script>alert(9)</script></template>
        <a href="data:text/html,<script>alert(10)</script>">d</a>
        <p style="background: URL(http://evil/a.png); color: red">styled</p>
        <style>body { background: url("http://evil/b.png") } @import url(http://evil/c.css);</style></body></html>"#;
    let doc = Document::parse(
        hostile,
        "http://site.test/",
        &Limits::default(),
        &Deadline::NONE,
    )
    .unwrap();
    let shown = trawl_dom::sanitize::sanitized(&doc, 1 << 20, &Deadline::NONE).unwrap();
    let lower = shown.to_ascii_lowercase();
    assert!(!lower.replace("no-url(", "").contains("url("), "{shown}");
    assert!(
        shown.contains("color: red"),
        "styles stay, their addresses made inert: {shown}"
    );
    for banned in [
        "<script",
        "alert",
        "onload",
        "onerror",
        "javascript:",
        "<iframe",
        "<noscript",
        "<object",
        "<embed",
        "<base",
        "refresh",
        "preload",
        "<template",
        "srcdoc",
        "data:text/html",
    ] {
        assert!(!lower.contains(banned), "{banned:?} in {shown}");
    }
    assert!(shown.contains(r#"href="/ok""#), "{shown}");
    for loads in ["s.css", "src=", "<link"] {
        assert!(!shown.contains(loads), "{loads:?} in {shown}");
    }
    assert!(
        shown.contains("<img>"),
        "the image stays, without its address: {shown}"
    );
    assert!(shown.contains(trawl_dom::sanitize::PAGE_CSP));
    let small = trawl_dom::sanitize::sanitized(&doc, 100, &Deadline::NONE);
    assert!(
        matches!(small, Err(trawl_dom::DomError::Limit(_))),
        "{small:?}"
    );
}
