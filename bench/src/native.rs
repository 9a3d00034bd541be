//! The baseline: the listing schema's four fields read in plain Rust, as a hand-written
//! scraper would: html5ever through `scraper` (as the host uses), selectors compiled
//! once, the link resolved with `url`, items built as `serde_json` values (the host parses
//! the plugin's output into values too).

use scraper::{ElementRef, Html, Selector};
use serde_json::{Map, Number, Value};
use trawl_host::runtime::PageData;
use url::Url;

/// The JSON Schema whose fields [`Listing`] reads by hand; css-extractor gets this one.
pub const LISTING_SCHEMA: &str = r#"{"type":"object","x-scope":"article.product_pod","properties":{
 "title":{"type":"string","x-selector":"h3 a","x-attr":"title"},
 "price":{"type":"number","x-selector":"p.price_color"},
 "rating":{"type":"integer","x-selector":"p.star-rating","x-attr":"class",
  "x-regex":"star-rating (\\w+)","x-map":{"One":1,"Two":2,"Three":3,"Four":4,"Five":5}},
 "link":{"type":"string","x-selector":"h3 a","x-attr":"href","x-url":true}},
 "required":["title","price","rating","link"]}"#;

/// Compiled selectors for the `article.product_pod` items of a books.toscrape.com page.
#[derive(Debug)]
pub struct Listing {
    pod: Selector,
    link: Selector,
    price: Selector,
    rating: Selector,
}

impl Default for Listing {
    fn default() -> Self {
        let sel = |s: &str| Selector::parse(s).expect("the listing selectors are valid CSS");
        Self {
            pod: sel("article.product_pod"),
            link: sel("h3 a"),
            price: sel("p.price_color"),
            rating: sel("p.star-rating"),
        }
    }
}

impl Listing {
    /// One item per product pod; a field that is missing or does not coerce is left out,
    /// as css-extractor leaves it out.
    pub fn extract(&self, page: &PageData) -> Vec<Value> {
        let base = Url::parse(&page.url).ok();
        let html = Html::parse_document(&page.body);
        html.select(&self.pod)
            .map(|pod| self.item(pod, base.as_ref()))
            .collect()
    }

    fn item(&self, pod: ElementRef<'_>, base: Option<&Url>) -> Value {
        let mut item = Map::new();
        let link = pod.select(&self.link).next();
        if let Some(title) = link.and_then(|a| a.attr("title")) {
            item.insert("title".into(), title.into());
        }
        if let Some(price) = pod.select(&self.price).next().and_then(price) {
            item.insert("price".into(), price);
        }
        if let Some(rating) = pod.select(&self.rating).next().and_then(rating) {
            item.insert("rating".into(), rating.into());
        }
        let href = link.and_then(|a| a.attr("href"));
        if let Some(url) = href.and_then(|href| resolve(base, href.trim())) {
            item.insert("link".into(), url.into());
        }
        Value::Object(item)
    }
}

/// `£51.77` → `51.77`.
fn price(el: ElementRef<'_>) -> Option<Value> {
    let text: String = el.text().collect();
    let number: f64 = text.trim().trim_start_matches('£').parse().ok()?;
    Number::from_f64(number).map(Value::Number)
}

/// `star-rating Three` → `3`.
fn rating(el: ElementRef<'_>) -> Option<u8> {
    let word = el
        .attr("class")?
        .split_once("star-rating ")?
        .1
        .split_whitespace()
        .next()?;
    Some(match word {
        "One" => 1,
        "Two" => 2,
        "Three" => 3,
        "Four" => 4,
        "Five" => 5,
        _ => return None,
    })
}

fn resolve(base: Option<&Url>, href: &str) -> Option<String> {
    match base {
        Some(base) => base.join(href).ok().map(String::from),
        None => Url::parse(href).ok().map(String::from),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_a_pod_and_leaves_out_what_is_missing() {
        let body = r#"<article class="product_pod">
            <h3><a href="../x_1/index.html" title="X">X…</a></h3>
            <p class="star-rating Four"></p><p class="price_color">£51.77</p></article>
            <article class="product_pod"><p class="star-rating Zero"></p></article>"#;
        let page = PageData {
            url: "http://books.toscrape.com/catalogue/y_2/index.html".into(),
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        };
        let items = Listing::default().extract(&page);
        assert_eq!(
            items,
            [
                json!({"title": "X", "price": 51.77, "rating": 4,
                       "link": "http://books.toscrape.com/catalogue/x_1/index.html"}),
                json!({}),
            ]
        );
    }
}
