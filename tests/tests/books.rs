//! css-extractor on real books.toscrape.com pages (tests/fixtures/books, from the Scrapy
//! benchmark corpus): every `article.product_pod` on a page becomes an item with the right
//! title, price (a number), rating and absolute link, and the detail product is read too.
//! Expected values are computed here independently, with the scraper crate.

use std::sync::Arc;

use serde_json::{Value, json};
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{PageData, Runtime};

const BASE: &str = "http://books.toscrape.com/catalogue/some-book_1/index.html";

fn pages() -> Vec<(String, String)> {
    let dir = trawl_tests::fixtures().join("books");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures/books")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).expect("page"),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 8, "the fixture pages are missing");
    out
}

fn page(html: &str) -> Arc<PageData> {
    Arc::new(PageData {
        url: BASE.into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: html.into(),
    })
}

fn listing_schema() -> Value {
    json!({
        "type": "object",
        "x-scope": "article.product_pod",
        "properties": {
            "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"},
            "price": {"type": "number", "x-selector": "p.price_color"},
            "rating": {"type": "integer", "x-selector": "p.star-rating", "x-attr": "class",
                       "x-regex": "star-rating (\\w+)", "x-map": {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5}},
            "link": {"type": "string", "x-selector": "h3 a", "x-attr": "href", "x-url": true}
        },
        "required": ["title", "price", "rating", "link"]
    })
}

/// What the listing schema must give, computed natively.
fn expected_pods(html: &str) -> Vec<Value> {
    let doc = scraper::Html::parse_document(html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    let base = url::Url::parse(BASE).expect("base");
    doc.select(&sel("article.product_pod"))
        .map(|pod| {
            let a = pod.select(&sel("h3 a")).next().expect("h3 a");
            let price_text: String = pod
                .select(&sel("p.price_color"))
                .next()
                .expect("price")
                .text()
                .collect();
            let price: f64 = price_text
                .trim()
                .trim_start_matches('£')
                .parse()
                .expect("price number");
            let class = pod
                .select(&sel("p.star-rating"))
                .next()
                .expect("rating")
                .attr("class")
                .expect("class");
            let rating = match class.trim_start_matches("star-rating ").trim() {
                "One" => 1,
                "Two" => 2,
                "Three" => 3,
                "Four" => 4,
                "Five" => 5,
                other => panic!("rating {other}"),
            };
            json!({
                "title": a.attr("title").expect("title"),
                "price": price,
                "rating": rating,
                "link": base.join(a.attr("href").expect("href")).expect("link").to_string(),
            })
        })
        .collect()
}

#[tokio::test]
async fn every_product_pod_on_every_page_is_extracted() {
    let runtime = Runtime::new(PluginLimits::default()).expect("runtime");
    let plugin = runtime
        .load(trawl_host::bundled::components::CSS_EXTRACTOR)
        .expect("css-extractor loads");
    let schema: Arc<str> = listing_schema().to_string().into();
    let mut total = 0;
    for (name, html) in pages() {
        let expected = expected_pods(&html);
        let out = runtime
            .extract(&plugin, page(&html), schema.clone(), "{}".into(), None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let items: Vec<Value> = out.items.iter().map(|i| i.value.clone()).collect();
        assert_eq!(items, expected, "{name}");
        for confidence in out.items.iter().map(|i| &i.confidence) {
            assert_eq!(
                *confidence,
                Some(1.0),
                "{name}: every required field is present"
            );
        }
        total += items.len();
    }
    assert!(total >= 30, "only {total} items over the fixture pages");
}

#[tokio::test]
async fn the_detail_product_is_read_with_coercion() {
    let runtime = Runtime::new(PluginLimits::default()).expect("runtime");
    let plugin = runtime
        .load(trawl_host::bundled::components::CSS_EXTRACTOR)
        .expect("css-extractor loads");
    let schema = json!({
        "type": "object",
        "x-scope": "article.product_page",
        "properties": {
            "title": {"type": "string", "x-selector": "div.product_main h1"},
            "price": {"type": "number", "x-selector": "div.product_main p.price_color"},
            "available": {"type": "integer", "x-selector": "div.product_main p.availability"},
            "in_stock": {"type": "boolean", "x-selector": "div.product_main p.availability", "x-regex": "In stock"},
            "upc": {"type": "string", "x-selector": "table tr:first-child td"}
        },
        "required": ["title", "price", "available", "upc"]
    });
    let schema: Arc<str> = schema.to_string().into();
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    for (name, html) in pages() {
        let doc = scraper::Html::parse_document(&html);
        let main = doc
            .select(&sel("div.product_main"))
            .next()
            .expect("product_main");
        let title: String = main.select(&sel("h1")).next().expect("h1").text().collect();
        let price: String = main
            .select(&sel("p.price_color"))
            .next()
            .expect("price")
            .text()
            .collect();
        let stock: String = main
            .select(&sel("p.availability"))
            .next()
            .expect("availability")
            .text()
            .collect();
        let available: i64 = stock
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .expect("a count")
            .parse()
            .expect("int");
        let upc: String = doc
            .select(&sel("table tr:first-child td"))
            .next()
            .expect("upc")
            .text()
            .collect();

        let out = runtime
            .extract(&plugin, page(&html), schema.clone(), "{}".into(), None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.items.len(), 1, "{name}");
        let item = &out.items[0].value;
        assert_eq!(item["title"], json!(title.trim()), "{name}");
        assert_eq!(
            item["price"],
            json!(
                price
                    .trim()
                    .trim_start_matches('£')
                    .parse::<f64>()
                    .expect("price")
            ),
            "{name}"
        );
        assert_eq!(item["available"], json!(available), "{name}");
        assert_eq!(item["in_stock"], json!(true), "{name}");
        assert_eq!(item["upc"], json!(upc.trim()), "{name}");
    }
}
