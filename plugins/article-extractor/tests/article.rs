//! The whole extraction on small pages: metadata from each source, the schema's names
//! and types, and hints overriding the automatic values.

#[path = "../../support/dom.rs"]
mod dom;

use article_extractor::extract_article;
use article_extractor::markdown::Style;
use article_extractor::schema::Plan;
use serde_json::{Value, json};
use trawl_sdk::{Extraction, Origin};

const URL: &str = "https://news.example.com/2024/03/05/rivers/";

fn run(html: &str, schema: Value) -> Result<Extraction, trawl_sdk::PluginError> {
    let plan = Plan::parse(&schema)?;
    let dom = dom::ScraperDom::new(URL, html);
    extract_article(&dom::tree_of(html, URL), URL, &plan, Style::default(), &dom)
}

fn item(html: &str, schema: Value) -> (Value, Extraction) {
    let extraction = run(html, schema).expect("extracts");
    assert_eq!(extraction.items.len(), 1, "one item");
    (
        serde_json::from_str(&extraction.items[0].json).expect("json"),
        extraction,
    )
}

const PROSE: &str = "<p>The river rose by two metres overnight, flooding the lower town, and the \
    council opened the school as a shelter for the families who had to leave.</p>\
    <p>By morning the water had reached the market square, where traders, many of them for the \
    second time this year, carried their stock to the upper floors.</p>\
    <p>Engineers said the new barrier, finished in the spring, had held, but that the old walls \
    downstream were never built for a flood of this size.</p>";

fn page(head: &str, article_extra: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en-gb\"><head><title>Rivers rise | Example News</title>{head}</head><body>\
         <nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/world\">World</a></li></ul></nav>\
         <main><article><header><h1>Rivers rise in the north</h1>\
         <div class=\"byline\">By Jane Doe and John Roe</div><time datetime=\"2024-03-05T08:30:00+01:00\">5 March</time></header>\
         <div class=\"story\">{PROSE}{article_extra}</div>\
         <div class=\"share-tools\"><a href=\"https://twitter.com/share\">Share on Twitter</a> <a href=\"#\">Share by e-mail</a></div>\
         </article>\
         <aside class=\"related\"><h2>Related</h2><ul><li><a href=\"/a\">Storm warning for the coast tomorrow</a></li>\
         <li><a href=\"/b\">How the barrier was built</a></li></ul></aside></main>\
         <footer><p>© Example News. All rights reserved. <a href=\"/terms\">Terms</a></p></footer></body></html>"
    )
}

#[test]
fn from_the_page_alone() {
    let (item, extraction) = item(&page("", ""), json!({}));
    assert_eq!(item["headline"], "Rivers rise in the north");
    assert_eq!(item["authors"], json!(["Jane Doe", "John Roe"]));
    assert_eq!(item["author"], "Jane Doe, John Roe");
    assert_eq!(item["date_published"], "2024-03-05T08:30:00+01:00");
    assert_eq!(item["language"], "en-GB");
    let body = item["body"].as_str().expect("a body");
    assert!(body.starts_with("The river rose by two metres"), "{body}");
    assert!(body.ends_with("a flood of this size."), "{body}");
    assert_eq!(body.matches("\n\n").count(), 2, "three paragraphs: {body}");
    for noise in [
        "Share",
        "Related",
        "Storm warning",
        "rights reserved",
        "Home",
        "Jane Doe",
    ] {
        assert!(!body.contains(noise), "{noise} in {body}");
    }
    let fields = &extraction.items[0].fields;
    let headline = fields
        .iter()
        .find(|f| f.name == "headline")
        .expect("headline meta");
    assert_eq!(headline.origin, Origin::PageText);
    assert!(
        fields.iter().all(|f| f.confidence.is_some()),
        "every field has a confidence"
    );
    assert!(extraction.items[0].confidence.is_some_and(|c| c > 0.5));
}

#[test]
fn structured_data_first_with_graph_and_references() {
    let head = r#"<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
        {"@type":"WebSite","@id":"https://news.example.com/#site","name":"Example News"},
        {"@type":"Person","@id":"https://news.example.com/#jane","name":"Jane Q. Doe"},
        {"@type":["NewsArticle"],"headline":"Rivers rise in the north","datePublished":"2024-03-05T07:30:00Z",
         "dateModified":"2024-03-05T09:00:00+0000","author":[{"@id":"https://news.example.com/#jane"},{"@type":"Person","name":"Sam Poe"}],
         "image":{"@type":"ImageObject","url":"/img/lead.jpg"},"inLanguage":"en-US","keywords":"floods, weather",
         "articleBody":"The river rose by two metres overnight."}]}</script>
        <meta property="og:title" content="Rivers rise in the north - Example News">
        <meta property="og:site_name" content="Example News">
        <meta name="description" content="Floods in the lower town.">
        <link rel="canonical" href="/2024/03/05/rivers/">"#;
    let (item, extraction) = item(&page(head, ""), json!({}));
    assert_eq!(item["authors"], json!(["Jane Q. Doe", "Sam Poe"]));
    assert_eq!(item["date_published"], "2024-03-05T07:30:00Z");
    assert_eq!(item["date_modified"], "2024-03-05T09:00:00Z");
    assert_eq!(item["language"], "en-US");
    assert_eq!(item["image"], "https://news.example.com/img/lead.jpg");
    assert_eq!(item["url"], "https://news.example.com/2024/03/05/rivers/");
    assert_eq!(item["site_name"], "Example News");
    assert_eq!(item["description"], "Floods in the lower town.");
    assert_eq!(item["tags"], json!(["floods", "weather"]));
    let authors = extraction.items[0]
        .fields
        .iter()
        .find(|f| f.name == "authors")
        .expect("authors meta");
    assert_eq!(authors.origin, Origin::StructuredData);
}

#[test]
fn meta_tags_when_there_is_no_structured_data() {
    let head = r#"<meta property="article:published_time" content="2024-03-05T08:00:00-05:00">
        <meta property="article:modified_time" content="2024-03-06">
        <meta name="author" content="Anna Schmidt">
        <meta property="og:image" content="https://cdn.example.com/lead.jpg">
        <meta property="og:locale" content="de_DE">"#;
    let (item, _) = item(&page(head, ""), json!({}));
    assert_eq!(item["date_published"], "2024-03-05T08:00:00-05:00");
    assert_eq!(item["date_modified"], "2024-03-06");
    assert_eq!(item["authors"], json!(["Anna Schmidt"]));
    assert_eq!(item["image"], "https://cdn.example.com/lead.jpg");
    // `<html lang>` is the page's own word on its language.
    assert_eq!(item["language"], "en-GB");
}

#[test]
fn schema_names_aliases_and_types() {
    let schema = json!({"type": "object", "properties": {
        "title": {"type": "string"},
        "author": {"type": "array", "items": {"type": "string"}},
        "articleBody": {"type": "string"},
        "datePublished": {"type": "string"},
        "inLanguage": {"type": "string"},
        "price": {"type": "number"}
    }});
    let (item, _) = item(&page("", ""), schema);
    let keys: Vec<&str> = item
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "title",
            "author",
            "articleBody",
            "datePublished",
            "inLanguage"
        ]
    );
    assert_eq!(item["author"], json!(["Jane Doe", "John Roe"]));
}

#[test]
fn hints_override_the_rules() {
    let extra = "<p class=\"kicker\">Weather desk</p>";
    let html = page(
        r#"<meta property="og:image" content="/og.jpg"><meta name="sailthru.author" content="Someone Else">"#,
        extra,
    );
    let schema = json!({"properties": {
        "headline": {"type": "string", "x-selector": "title"},
        "image": {"type": "string", "x-selector": "meta[property='og:image']", "x-attr": "content"},
        "desk": {"type": "string", "x-selector": ".kicker"},
        "missing": {"type": "string", "x-selector": ".nothing-here"},
        "body": {"type": "string", "x-selector": ".share-tools"},
        "markdown": {"type": "string"}
    }});
    let (item, extraction) = item(&html, schema);
    assert_eq!(item["headline"], "Rivers rise | Example News");
    assert_eq!(item["image"], "https://news.example.com/og.jpg");
    assert_eq!(item["desk"], "Weather desk");
    assert!(item.get("missing").is_none());
    // The hinted element is the content's root, rendered as any other.
    assert_eq!(item["body"], "Share on Twitter Share by e-mail");
    assert_eq!(
        item["markdown"],
        "[Share on Twitter](https://twitter.com/share) [Share by e-mail](https://news.example.com/2024/03/05/rivers/#)"
    );
    let fields = &extraction.items[0].fields;
    for name in ["headline", "image", "desk", "body", "markdown"] {
        let f = fields.iter().find(|f| f.name == name).expect("field meta");
        assert_eq!(f.origin, Origin::Hint, "{name}");
        assert_eq!(f.confidence, Some(1.0), "{name}");
    }
}

#[test]
fn unknown_hints_are_refused() {
    let err = run(
        &page("", ""),
        json!({"properties": {"body": {"x-selectors": "main"}}}),
    )
    .expect_err("refused");
    assert!(
        err.message()
            .starts_with("/properties/body/x-selectors: unknown hint"),
        "{}",
        err.message()
    );
}

#[test]
fn no_article_no_item() {
    let html = "<html><body><nav><a href=\"/\">Home</a> <a href=\"/a\">About</a></nav><p>Hi.</p></body></html>";
    let extraction = run(html, json!({})).expect("not an error");
    assert!(extraction.items.is_empty());
}

#[test]
fn options_are_checked() {
    let options = trawl_sdk::Options::new(r#"{"images": false}"#);
    assert!(!article_extractor::style(&options).expect("known").images);
    assert!(article_extractor::style(&trawl_sdk::Options::new(r#"{"image": false}"#)).is_err());
}

#[test]
fn json_ld_article_body_is_a_cross_check() {
    let para = |topic: &str, k: usize| {
        format!(
            "<p>Paragraph {k} about {topic}: the council met on the evening of the vote, and its members, \
             after a long debate about budgets, schools and roads, agreed to meet again next week.</p>"
        )
    };
    let article: String = (1..=6).map(|k| para("the harbour", k)).collect();
    let other: String = (1..=12)
        .map(|k| {
            format!(
                "<p>Note {k}: sunshine is expected for most of the region tomorrow, with light winds from the \
                 west, temperatures a little above the average for the season, and rain only late at night.</p>"
            )
        })
        .collect();
    let ld_body: String = (1..=6)
        .map(|k| {
            format!(
                "Paragraph {k} about the harbour: the council met on the evening of the vote, and its members, \
                 after a long debate about budgets, schools and roads, agreed to meet again next week. "
            )
        })
        .collect();
    let html = format!(
        "<html><head><script type=\"application/ld+json\">{}</script></head><body>\
         <div class=\"promo-box\">{article}</div><div class=\"elsewhere\">{other}</div></body></html>",
        json!({"@type": "NewsArticle", "headline": "Harbour", "articleBody": ld_body})
    );
    let (item, extraction) = item(&html, json!({}));
    let body = item["body"].as_str().expect("a body");
    assert!(
        body.contains("about the harbour") && !body.contains("sunshine"),
        "{body}"
    );
    let meta = extraction.items[0]
        .fields
        .iter()
        .find(|f| f.name == "body")
        .expect("body meta");
    assert_eq!(
        meta.detail.as_deref(),
        Some("the element repeating the json-ld articleBody")
    );
}

/// A page of some 60,000 tree entries, laid out the way large pages are (a long article,
/// comments, link lists, teaser cards, nested boxes) is extracted quickly: the work is
/// linear in the tree.
#[test]
fn large_pages_stay_linear() {
    let mut html = String::from("<html><head><title>Big</title></head><body><nav><ul>");
    for k in 0..2000 {
        html.push_str(&format!("<li><a href=\"/s/{k}\">Section {k}</a></li>"));
    }
    html.push_str("</ul></nav><article><h1>Big</h1><div class=\"body\">");
    for k in 0..3000 {
        html.push_str(&format!(
            "<p>Paragraph {k} of a long story, with <a href=\"/l/{k}\">a link</a>, <b>bold</b> and <i>more</i> words, so that it reads as prose.</p>"
        ));
        if k % 50 == 0 {
            html.push_str("<div class=\"inline-related\"><a href=\"/x\">Read this</a> <a href=\"/y\">and that</a></div>");
        }
    }
    html.push_str("</div></article><section class=\"comments\">");
    for k in 0..1500 {
        html.push_str(&format!("<div class=\"comment\"><span class=\"author\">User {k}</span><p>I think so too, {k} times.</p></div>"));
    }
    html.push_str("</section><div class=\"cards\">");
    for k in 0..1000 {
        html.push_str(&format!("<div class=\"card\"><a href=\"/c/{k}\">Card {k}</a><div>Summary of card {k}, short.</div></div>"));
    }
    html.push_str(&format!(
        "</div>{}deep{}</body></html>",
        "<div>".repeat(300),
        "</div>".repeat(300)
    ));
    let tree = dom::tree_of(&html, URL);
    assert!(tree.len() > 50_000, "{} entries", tree.len());
    let plan = Plan::everything();
    let dom = dom::ScraperDom::new(URL, "<html></html>");
    let started = std::time::Instant::now();
    let extraction = extract_article(&tree, URL, &plan, Style::default(), &dom).expect("extracts");
    let took = started.elapsed();
    let item: Value = serde_json::from_str(&extraction.items[0].json).expect("json");
    let body = item["body"].as_str().expect("a body");
    assert!(body.contains("Paragraph 2999 of a long story"));
    assert!(!body.contains("I think so too") && !body.contains("Summary of card"));
    // Generous for unoptimised test builds; a release build takes a few tens of ms.
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    eprintln!("{} entries in {took:?}", tree.len());
}

#[test]
fn the_headline_is_the_h1_the_metadata_confirms() {
    let html = r#"<html><head><title>Ports reopen after the storm - The Daily Example</title>
        <meta property="og:site_name" content="The Daily Example">
        <meta property="og:title" content="Ports reopen after storm"></head><body>
        <header><h1><a href="/">The Daily Example</a></h1></header>
        <article><h1>Ports <span class="sr-only">(updated)</span>reopen after<br>the storm</h1>
        <p>The ports of the coast reopened on Tuesday morning, two days after the storm closed them, and the
        first ferries left on time, carrying the lorries that had waited on the quays since Sunday.</p></article>
        </body></html>"#;
    let (first, extraction) = item(
        html,
        json!({"properties": {"headline": {"type": "string"}, "body": {"type": "string"}}}),
    );
    assert_eq!(first["headline"], "Ports reopen after the storm");
    assert!(
        !first["body"]
            .as_str()
            .expect("a body")
            .contains("reopen after the storm")
    );
    let meta = &extraction.items[0].fields[0];
    assert_eq!(
        (meta.origin, meta.confidence),
        (Origin::PageText, Some(0.95))
    );
    // No h1 the metadata agrees with: the structured data's own headline.
    let html = html
        .replace("<article><h1>", "<article><h1>Breaking: ")
        .replace("reopen after<br>the storm", "x");
    let (second, _) = item(&html, json!({}));
    assert_eq!(second["headline"], "Ports reopen after storm");
}

#[test]
fn markdown_options() {
    let html = page(
        "",
        "<p>The council will publish its report on the flood next week, see <a href=\"/more\">more</a> <img src=\"/a.png\" alt=\"A\"></p>",
    );
    let plan =
        Plan::parse(&json!({"properties": {"markdown": {"type": "string"}}})).expect("a plan");
    let dom = dom::ScraperDom::new(URL, &html);
    let style = Style {
        images: false,
        links: false,
    };
    let extraction =
        extract_article(&dom::tree_of(&html, URL), URL, &plan, style, &dom).expect("extracts");
    let item: Value = serde_json::from_str(&extraction.items[0].json).expect("json");
    let md = item["markdown"].as_str().expect("markdown");
    assert!(md.ends_with("next week, see more"), "{md}");
}

/// Pages no article is written like: nothing panics, and most give no item.
#[test]
fn odd_pages() {
    let long = "Words of a sentence that goes on, and on, for a while. ".repeat(20);
    let pages = [
        String::new(),
        "just text, no tags".to_string(),
        "<frameset><frame src=\"a.html\"></frameset>".to_string(),
        format!(
            "<body>{}{long}{}</body>",
            "<div><span>".repeat(1500),
            "</span></div>".repeat(1500)
        ),
        format!("<table><tr><td><table><tr><td>{long}</td></tr></table></td></tr></table>"),
        format!("<p>{long}<ul><li>unclosed<li><b><i>mis</b>nested</i>{long}"),
        "<body>".to_string() + &"<a href=\"/x\">link</a> ".repeat(5000),
        format!(
            "<script type=\"application/ld+json\">{{\"@type\": \"Article\", \"headline\": \"x\", \"author\": {{\"@id\": \"#me\"}}, \"image\": [[[]]], </script><p>{long}</p>"
        ),
        format!("<pre>{}</pre>", "```\n".repeat(50)),
        format!("<p>{}</p>", "\u{200b}\u{ad} *_`[]<>|#".repeat(300)),
        format!("<ol start=\"99999999999999999999\"><li>{long}</li></ol>"),
        format!(
            "<table><tr><td colspan=\"1000000\">a</td><td>b</td></tr><tr><td>{long}</td></tr></table>"
        ),
        format!(
            "<base href=\"::::\"><p><a href=\"../../../../x\">{long}</a> {long}</p><img src=\"\" srcset=\" , ,\">"
        ),
    ];
    for html in &pages {
        let extraction = run(html, json!({})).expect("never an error");
        for item in &extraction.items {
            let value: Value = serde_json::from_str(&item.json).expect("an item is JSON");
            assert!(value.is_object());
        }
    }
    assert!(
        run(&pages[6], json!({})).expect("runs").items.is_empty(),
        "a page of links is no article"
    );
}

#[test]
fn structured_data_body_when_the_page_shows_none() {
    let body = "First paragraph of a page drawn by scripts, long enough to be an article.\n\nSecond   one, with *stars*.";
    let html = format!(
        "<html><head><script type=\"application/ld+json\">{}</script></head><body><div id=\"app\"></div></body></html>",
        json!({"@type": "BlogPosting", "headline": "Drawn", "articleBody": body})
    );
    let (item, extraction) = item(&html, json!({}));
    assert_eq!(
        item["body"],
        "First paragraph of a page drawn by scripts, long enough to be an article.\n\nSecond one, with *stars*."
    );
    assert!(
        item["markdown"]
            .as_str()
            .expect("markdown")
            .ends_with("with \\*stars\\*.")
    );
    let meta = extraction.items[0]
        .fields
        .iter()
        .find(|f| f.name == "body")
        .expect("body meta");
    assert_eq!(meta.origin, Origin::StructuredData);
}

/// News pages append the next story below the first: its own headline keeps it out.
#[test]
fn the_next_story_is_not_part_of_the_first() {
    let story = |title: &str, topic: &str| {
        let paras: String = (1..=5)
            .map(|k| format!("<p>Paragraph {k} on {topic}, written at length so that it reads as prose, with commas, clauses and a full stop.</p>"))
            .collect();
        format!(
            "<div class=\"story\"><h1>{title}</h1><div class=\"story-body\">{paras}</div></div>"
        )
    };
    let html = format!(
        "<html><head><meta property=\"og:title\" content=\"Harbour reopens\"></head><body><main>{}{}</main></body></html>",
        story("Harbour reopens", "the harbour"),
        story("Bridge closes", "the bridge")
    );
    let (item, _) = item(&html, json!({}));
    let body = item["body"].as_str().expect("a body");
    assert!(
        body.contains("on the harbour") && !body.contains("on the bridge"),
        "{body}"
    );
    assert_eq!(item["headline"], "Harbour reopens");
}

/// A home page of teasers says it is no article: its best teaser is no item.
#[test]
fn a_home_page_is_no_article() {
    let cards: String = (1..=12)
        .map(|k| {
            format!(
                "<div class=\"card\"><h3><a href=\"/story/{k}\">Story number {k} of the day</a></h3>\
                 <p>A short summary of story {k}, in one sentence, to make the reader click.</p></div>"
            )
        })
        .collect();
    let html = format!(
        "<html><head><title>Example News</title></head><body><main>{cards}</main></body></html>"
    );
    let extraction = run(&html, json!({})).expect("not an error");
    assert!(extraction.items.is_empty(), "{:?}", extraction.items);
}
