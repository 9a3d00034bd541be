use std::time::{Duration, Instant};

use super::*;

fn doc(body: &str) -> Document {
    Document::parse(
        body,
        "http://shop.test/list/",
        &Limits::default(),
        &Deadline::NONE,
    )
    .expect("a small page parses")
}

fn field(selector: &str, source: Source, all: bool) -> Field {
    Field {
        selector: Some(selector.into()),
        source,
        all,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `depth` nested `<div>`s, the innermost holding some text.
fn nested(depth: usize) -> String {
    let mut body = String::with_capacity(depth * 11 + 32);
    body.push_str("<!doctype html><body>");
    for _ in 0..depth {
        body.push_str("<div>");
    }
    body.push_str("deep");
    for _ in 0..depth {
        body.push_str("</div>");
    }
    body
}

/// Fields sharing a selector read the first match; a single-value field whose first
/// match has no value takes the next one that has; `all` reads every match.
#[test]
fn read_takes_the_first_match_with_a_value() {
    let mut doc = doc(r#"<ul>
        <li class="p"><a href="/a1">A1</a><a href="/a2" title="second">A2</a></li>
        <li class="p"><a href="/b1" title="only">B1</a></li>
        <li class="p"><span>no links</span></li></ul>"#);
    let items = doc
        .select(&[], "li.p", &Limits::default(), &Deadline::NONE)
        .expect("select")
        .remove(0);
    assert_eq!(items.len(), 3);
    let fields = [
        field("a", Source::Text, false),
        field("a", Source::Attr("title".into()), false),
        field("a", Source::Url("href".into()), false),
        field("a", Source::Text, true),
    ];
    let rows = doc
        .read(&items, &fields, &Limits::default(), &Deadline::NONE)
        .expect("read");
    assert_eq!(
        rows[0],
        [
            strings(&["A1"]),
            strings(&["second"]),
            strings(&["http://shop.test/a1"]),
            strings(&["A1", "A2"]),
        ]
    );
    assert_eq!(
        rows[1],
        [
            strings(&["B1"]),
            strings(&["only"]),
            strings(&["http://shop.test/b1"]),
            strings(&["B1"]),
        ]
    );
    assert!(rows[2].iter().all(Vec::is_empty), "{:?}", rows[2]);
}

#[test]
fn select_is_in_document_order_and_scoped() {
    let mut doc = doc("<div id=a><p>1</p><div id=b><p>2</p></div></div><p>3</p>");
    let limits = Limits::default();
    let all = doc
        .select(&[0], "p", &limits, &Deadline::NONE)
        .expect("select")
        .remove(0);
    let texts = doc
        .read(
            &all,
            &[Field {
                selector: None,
                source: Source::Text,
                all: false,
            }],
            &limits,
            &Deadline::NONE,
        )
        .expect("read");
    assert_eq!(
        texts,
        [[strings(&["1"])], [strings(&["2"])], [strings(&["3"])]]
    );
    let b = doc
        .select(&[], "#b", &limits, &Deadline::NONE)
        .expect("select")
        .remove(0);
    let inside = doc
        .select(&b, "p", &limits, &Deadline::NONE)
        .expect("select");
    assert_eq!(inside[0].len(), 1);
    assert_eq!(
        doc.select(&[99], "p", &limits, &Deadline::NONE),
        Err(DomError::BadNode(99))
    );
    assert!(matches!(
        doc.select(&[], "p[", &limits, &Deadline::NONE),
        Err(DomError::BadSelector(_))
    ));
}

#[test]
fn text_is_collapsed_and_separated_at_blocks() {
    let doc = doc(
        "<p id=x>  Hello\n  <b>big</b>   world <i>4</i>5 </p><div id=y><p>one</p><p>two</p></div>",
    );
    let fields = [
        field("#x", Source::Text, false),
        field("#y", Source::Text, false),
    ];
    let rows = doc
        .read(&[0], &fields, &Limits::default(), &Deadline::NONE)
        .expect("read");
    assert_eq!(
        rows[0],
        [strings(&["Hello big world 45"]), strings(&["one two"])]
    );
}

/// The text of a `<script>` comes back as written, not escaped; outer HTML includes the
/// element itself.
#[test]
fn html_of_raw_text_elements_is_not_escaped() {
    let doc = doc(
        r#"<head><script type="application/ld+json">{"a": "x < y && z"}</script></head><p class=c>a &amp; b</p>"#,
    );
    let fields = [
        field("script", Source::InnerHtml, false),
        field("p", Source::OuterHtml, false),
        field("p", Source::InnerHtml, false),
    ];
    let rows = doc
        .read(&[0], &fields, &Limits::default(), &Deadline::NONE)
        .expect("read");
    assert_eq!(
        rows[0],
        [
            strings(&[r#"{"a": "x < y && z"}"#]),
            strings(&[r#"<p class="c">a &amp; b</p>"#]),
            strings(&["a &amp; b"]),
        ]
    );
}

/// Relative URLs resolve against the first `<base href>` of `<head>`, itself resolved
/// against the page's URL, in the forms real pages use; without one, or with one that
/// cannot be a base, against the page's URL.
#[test]
fn urls_resolve_against_the_base_href() {
    let resolve = |head: &str| {
        let body = format!(
            "<html><head>{head}</head><body><a href=\"item/1.html\">1</a>\
             <a href=\"/top\">top</a></body></html>"
        );
        Document::parse(
            &body,
            "https://shop.test/list/page2.html",
            &Limits::default(),
            &Deadline::NONE,
        )
        .expect("parse")
        .urls("a", "href", &Limits::default(), &Deadline::NONE)
        .expect("urls")
    };
    assert_eq!(
        resolve(""),
        [
            "https://shop.test/list/item/1.html",
            "https://shop.test/top"
        ]
    );
    assert_eq!(
        resolve("<base href='//cdn.test/production/head/' />"),
        [
            "https://cdn.test/production/head/item/1.html",
            "https://cdn.test/top"
        ]
    );
    assert_eq!(
        resolve(r#"<base target="_blank"><base href="/">"#),
        ["https://shop.test/item/1.html", "https://shop.test/top"]
    );
    assert_eq!(
        resolve(r#"<base target='_top' href="http://other.test/a/b">"#),
        ["http://other.test/a/item/1.html", "http://other.test/top"]
    );
    for unusable in [
        r#"<base href="javascript:void(0)">"#,
        r#"<base href="http://[">"#,
    ] {
        assert_eq!(
            resolve(unusable),
            [
                "https://shop.test/list/item/1.html",
                "https://shop.test/top"
            ],
            "{unusable}"
        );
    }
}

/// A page that would build more nodes than allowed stops parsing with its own error.
#[test]
fn the_parse_stops_at_the_node_limit() {
    let limits = Limits {
        max_dom_nodes: 10_000,
        ..Limits::default()
    };
    let body = "<p>x</p>".repeat(20_000);
    let err = Document::parse(&body, "http://shop.test/", &limits, &Deadline::NONE)
        .expect_err("40,000 nodes");
    assert!(matches!(err, DomError::PageTooComplex(_)), "{err:?}");
    assert!(
        Document::parse(
            &"<p>x</p>".repeat(1_000),
            "http://shop.test/",
            &limits,
            &Deadline::NONE
        )
        .is_ok()
    );
}

/// Deep nesting makes every later tag slower for the tree builder: past the depth limit
/// the parse stops, at once.
#[test]
fn the_parse_stops_at_the_depth_limit() {
    let started = Instant::now();
    let err = Document::parse(
        &nested(15_000),
        "http://shop.test/",
        &Limits::default(),
        &Deadline::NONE,
    )
    .expect_err("15,000 levels");
    assert!(matches!(err, DomError::PageTooComplex(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        Document::parse(
            &nested(1_000),
            "http://shop.test/",
            &Limits::default(),
            &Deadline::NONE
        )
        .is_ok()
    );
}

#[test]
fn the_parse_stops_at_the_deadline() {
    let body = "<p>x</p>".repeat(20_000);
    let err = Document::parse(
        &body,
        "http://shop.test/",
        &Limits::default(),
        &Deadline::at(Instant::now()),
    )
    .expect_err("no time at all");
    assert_eq!(err, DomError::Deadline);
}

/// 1,000 nested divs around 100 KB of text: the outer HTML of every div adds up to
/// 100 MB. The read stops at the answer's budget, having built no more than the budget.
#[test]
fn outer_html_of_nested_scopes_stops_at_the_budget() {
    let mut body = "<div>".repeat(1_000);
    body.push_str(&"<p>lorem ipsum</p>".repeat(5_000));
    body.push_str(&"</div>".repeat(1_000));
    let mut doc = doc(&body);
    let limits = Limits::default();
    let scopes = doc
        .select(&[], "div", &limits, &Deadline::NONE)
        .expect("select")
        .remove(0);
    assert_eq!(scopes.len(), 1_000);
    let started = Instant::now();
    let err = doc
        .read(
            &scopes,
            &[Field {
                selector: None,
                source: Source::OuterHtml,
                all: false,
            }],
            &limits,
            &Deadline::NONE,
        )
        .expect_err("over the budget");
    assert!(matches!(err, DomError::Limit(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Inner HTML and text are bounded the same way.
    let small = Limits {
        max_answer_bytes: 1 << 10,
        ..Limits::default()
    };
    for source in [Source::InnerHtml, Source::Text] {
        let err = doc
            .read(
                &scopes,
                &[Field {
                    selector: None,
                    source: source.clone(),
                    all: false,
                }],
                &small,
                &Deadline::NONE,
            )
            .expect_err("over a small budget");
        assert!(matches!(err, DomError::Limit(_)), "{source:?}: {err:?}");
    }
}

/// Charging the skeleton first: many nodes times many fields fails before anything is
/// built.
#[test]
fn a_read_too_wide_fails_before_building() {
    let mut doc = doc(&"<p>x</p>".repeat(2_000));
    let limits = Limits::default();
    let ps = doc
        .select(&[], "p", &limits, &Deadline::NONE)
        .expect("select")
        .remove(0);
    let fields: Vec<Field> = (0..1_000)
        .map(|i| field(&format!("p.c{i}"), Source::Text, false))
        .collect();
    let err = doc
        .read(&ps, &fields, &limits, &Deadline::NONE)
        .expect_err("2,000 × 1,000 cells");
    assert!(matches!(err, DomError::Limit(_)), "{err:?}");
    let err = doc
        .read(
            &ps,
            &vec![field("p", Source::Text, false); 1_001],
            &limits,
            &Deadline::NONE,
        )
        .expect_err("too many fields");
    assert!(matches!(err, DomError::Limit(_)), "{err:?}");
    let many = vec![1u32; 100_001];
    let err = doc
        .read(&many, &fields[..1], &limits, &Deadline::NONE)
        .expect_err("too many nodes");
    assert!(matches!(err, DomError::Limit(_)), "{err:?}");
}

/// A select over many scopes, each an ancestor of thousands of elements, is quadratic;
/// it stops at the deadline instead of running for minutes.
#[test]
fn select_stops_at_the_deadline() {
    let mut body = "<div>".repeat(1_000);
    body.push_str(&"<p>x</p>".repeat(20_000));
    body.push_str(&"</div>".repeat(1_000));
    let mut doc = doc(&body);
    let limits = Limits::default();
    let divs = doc
        .select(&[], "div", &limits, &Deadline::NONE)
        .expect("select")
        .remove(0);
    let scopes: Vec<u32> = divs.iter().copied().cycle().take(20_000).collect();
    let started = Instant::now();
    let err = doc
        .select(
            &scopes,
            "span",
            &limits,
            &Deadline::at(started + Duration::from_millis(100)),
        )
        .expect_err("200 million visits");
    assert_eq!(err, DomError::Deadline);
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    let err = doc
        .read(
            &scopes,
            &[field("span", Source::Text, true)],
            &limits,
            &Deadline::at(Instant::now() + Duration::from_millis(100)),
        )
        .expect_err("as many visits");
    assert_eq!(err, DomError::Deadline);
}

#[test]
fn handles_and_scopes_are_capped() {
    let mut doc = doc(&"<p>x</p>".repeat(100));
    let limits = Limits {
        max_handles: 150,
        max_query_nodes: 10,
        ..Limits::default()
    };
    assert!(doc.select(&[], "p", &limits, &Deadline::NONE).is_ok());
    let err = doc
        .select(&[], "p", &limits, &Deadline::NONE)
        .expect_err("200 handles");
    assert!(matches!(err, DomError::Limit(_)), "{err:?}");
    let err = doc
        .select(&[0; 11], "p", &limits, &Deadline::NONE)
        .expect_err("11 scopes");
    assert!(matches!(err, DomError::Limit(_)), "{err:?}");
    let long = "p".repeat(5_000);
    assert!(matches!(
        doc.select(&[], &long, &Limits::default(), &Deadline::NONE),
        Err(DomError::Limit(_))
    ));
}
