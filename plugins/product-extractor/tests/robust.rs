//! Odd and big pages: the extraction never panics, stays linear, and gives sensible
//! answers where it can.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trawl_sdk::{Dom, Field, Node, Options, QueryError, Table, Tree};

use product_extractor::schema::Plan;

struct NoDom;

impl Dom for NoDom {
    fn select_in(&self, scopes: &[Node], _: &str) -> Result<Vec<Vec<Node>>, QueryError> {
        Ok(vec![Vec::new(); scopes.len()])
    }
    fn read(&self, nodes: &[Node], _: &[Field]) -> Result<Table, QueryError> {
        Ok(Table::new(nodes.to_vec(), Vec::new()))
    }
}

const URL: &str = "https://shop.example.de/artikel/12345678";

fn run(html: &str) -> (Option<Value>, Duration) {
    let limits = trawl_dom::Limits::default();
    let mut doc =
        trawl_dom::Document::parse(html, URL, &limits, &trawl_dom::Deadline::NONE).expect("parses");
    let f = doc.tree(&limits, &trawl_dom::Deadline::NONE).expect("tree");
    let tree = Tree::from_parts(f.parent, f.tag, f.text, f.attributes, f.node).expect("tree");
    let plan = Plan::parse(
        &json!({"properties": {
            "name": {}, "price": {}, "currency": {}, "sku": {}, "availability": {},
            "list_price": {}, "gtin": {}, "brand": {}, "images": {}, "breadcrumbs": {}
        }}),
        &Options::default(),
    )
    .expect("plan");
    let started = Instant::now();
    let extraction =
        product_extractor::extract_tree(&tree, URL, &plan, &NoDom).expect("extraction");
    let took = started.elapsed();
    let item = extraction
        .items
        .first()
        .map(|i| serde_json::from_str(&i.json).expect("item JSON"));
    (item, took)
}

#[test]
fn empty_and_broken_pages() {
    for html in [
        "",
        "<html>",
        "just text 12,99 €",
        "<script type=\"application/ld+json\">{\"@type\": \"Product\", \"offers\": [[[[{}]]]], </script>",
        "<script type=\"application/ld+json\">[1, \"a\", null, {\"@graph\": {\"@id\": \"x\"}}]</script>",
        "<div itemscope itemprop=\"offers\"><span itemprop=\"price\">abc</span></div>",
        "<div typeof=\"Product\"><span property=\"name\"></span></div>",
        "<h1></h1><span class=\"price\">€</span><span class=\"price\">,,,...</span>",
        "<h1>A</h1><p>SKU:</p>",
        "<meta property=\"product:price:amount\" content=\"-5\"><meta property=\"og:title\" content=\"x\">",
        "<span class=\"price\">99999999999999999999999 €</span>",
    ] {
        let _ = run(html);
    }
    // A price alone on a page is a product.
    let (item, _) =
        run("<html><body><h1>Lampe</h1><span class=\"price\">12,99 €</span></body></html>");
    let item = item.expect("an item");
    assert_eq!(item["price"], json!(12.99));
    assert_eq!(item["currency"], "EUR");
    assert_eq!(item["sku"], "12345678", "the URL's id");
}

#[test]
fn a_big_listing_stays_fast() {
    // 5,000 product cards of ten entries each, a deep nest, and a long text.
    let mut html = String::from(
        "<html lang=\"de\"><body><main><h1>Bohrmaschine X1</h1><div class=\"price\">89,00 €</div>",
    );
    html.push_str("<div class=\"related-products\">");
    for i in 0..5000 {
        html.push_str(&format!(
            "<div class=\"card\"><a href=\"/p/{i}\"><img src=\"/i/{i}.jpg\"><span class=\"name\">Item {i}</span></a><span class=\"price\">{},{:02} €</span><button>In den Warenkorb</button></div>",
            i % 300,
            i % 100
        ));
    }
    html.push_str("</div>");
    for _ in 0..400 {
        html.push_str("<div><span>");
    }
    html.push_str("<span>Artikelnummer: 4711-0815</span>");
    html.push_str(&"Lorem ipsum dolor sit amet 12 € ".repeat(20_000));
    html.push_str("</main></body></html>");
    let (item, took) = run(&html);
    let item = item.expect("an item");
    assert_eq!(item["price"], json!(89.0));
    assert_eq!(item["name"], "Bohrmaschine X1");
    assert_eq!(item["sku"], "4711-0815");
    assert!(took < Duration::from_secs(5), "{took:?}");
    println!("big page: {took:?}");
}

#[test]
fn nested_microdata_does_not_blow_up() {
    let mut html = String::from(
        "<div itemscope itemtype=\"https://schema.org/Product\"><h1 itemprop=\"name\">Deep</h1>",
    );
    for _ in 0..300 {
        html.push_str("<div itemprop=\"description\"><p>text text text</p>");
    }
    html.push_str(&"</div>".repeat(301));
    let (item, took) = run(&html);
    assert_eq!(item.expect("an item")["name"], "Deep");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
