//! The whole extraction on small hand-written pages, one per source (JSON-LD, microdata,
//! RDFa, meta tags, the page's text), with the host's own DOM answering hints.

#[path = "../../support/dom.rs"]
mod dom;

use dom::ScraperDom;
use serde_json::{Value, json};
use trawl_sdk::{Extraction, Options, Origin};

use product_extractor::schema::Plan;

const URL: &str = "https://shop.example.com/p/anvil-123456.html";

fn run(html: &str, schema: Value, options: &str) -> Extraction {
    let plan = Plan::parse(&schema, &Options::new(options)).expect("plan");
    let dom = ScraperDom::new(URL, html);
    product_extractor::extract_tree(&dom::tree_of(html, URL), URL, &plan, &dom).expect("extraction")
}

fn schema() -> Value {
    json!({"type": "object", "properties": {
        "name": {"type": "string"},
        "price": {"type": "number"},
        "list_price": {"type": "number"},
        "currency": {"type": "string"},
        "sku": {"type": "string"},
        "gtin": {"type": "string"},
        "mpn": {"type": "string"},
        "brand": {"type": "string"},
        "availability": {"type": "string"},
        "images": {"type": "array", "items": {"type": "string"}},
        "image": {"type": "string"},
        "rating": {"type": "number"},
        "review_count": {"type": "integer"},
        "breadcrumbs": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string"}
    }})
}

/// The item, and each field's origin and detail.
fn item(extraction: &Extraction) -> (Value, Vec<(String, Origin, String)>) {
    assert_eq!(extraction.items.len(), 1, "one item");
    let item = &extraction.items[0];
    let value: Value = serde_json::from_str(&item.json).expect("item JSON");
    let metas = item
        .fields
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.origin,
                f.detail.clone().unwrap_or_default(),
            )
        })
        .collect::<Vec<_>>();
    for f in &item.fields {
        assert!(
            f.confidence.is_some_and(|c| c > 0.0 && c <= 1.0),
            "{} has a confidence",
            f.name
        );
        assert!(
            value.get(&f.name).is_some(),
            "meta for a written field {}",
            f.name
        );
    }
    assert_eq!(
        value.as_object().map(|o| o.len()),
        Some(item.fields.len()),
        "a FieldMeta for every field"
    );
    assert!(item.confidence.is_some());
    (value, metas)
}

fn origin(metas: &[(String, Origin, String)], name: &str) -> Origin {
    metas
        .iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, o, _)| *o)
        .unwrap_or_else(|| panic!("no meta for {name}"))
}

#[test]
fn json_ld_graph_with_aggregate_offer() {
    let html = r##"<html lang="en"><head>
      <script type="application/ld+json">
      {"@context": "https://schema.org", "@graph": [
        {"@type": "BreadcrumbList", "itemListElement": [
          {"@type": "ListItem", "position": 2, "name": "Anvils"},
          {"@type": "ListItem", "position": 1, "item": {"@id": "/", "name": "Home"}}
        ]},
        {"@type": "Product", "@id": "#p", "name": "Executive Anvil", "sku": "ANV-1",
         "gtin13": "4054278533728", "mpn": "EA-9", "brand": {"@type": "Brand", "name": "Acme"},
         "image": ["/img/a.jpg", {"@type": "ImageObject", "url": "https://cdn.example.com/b.jpg"}],
         "aggregateRating": {"ratingValue": "4.5", "reviewCount": "12"},
         "offers": {"@id": "#offer"}},
        {"@type": "AggregateOffer", "@id": "#offer", "lowPrice": "1,299.00", "priceCurrency": "usd",
         "offers": [{"@type": "Offer", "availability": "http://schema.org/InStock"}]},
      ]}
      </script></head><body><h1>Executive Anvil</h1><p>$1,499.00</p></body></html>"##;
    let (v, metas) = item(&run(html, schema(), ""));
    assert_eq!(v["name"], "Executive Anvil");
    assert_eq!(v["price"], json!(1299.0));
    assert_eq!(v["currency"], "USD");
    assert_eq!(v["sku"], "ANV-1");
    assert_eq!(v["gtin"], "4054278533728");
    assert_eq!(v["mpn"], "EA-9");
    assert_eq!(v["brand"], "Acme");
    assert_eq!(v["availability"], "InStock");
    assert_eq!(
        v["images"],
        json!([
            "https://shop.example.com/img/a.jpg",
            "https://cdn.example.com/b.jpg"
        ])
    );
    assert_eq!(v["image"], "https://shop.example.com/img/a.jpg");
    assert_eq!(v["rating"], json!(4.5));
    assert_eq!(v["review_count"], json!(12));
    assert_eq!(v["breadcrumbs"], json!(["Home", "Anvils"]));
    for field in ["price", "sku", "availability", "brand"] {
        assert_eq!(origin(&metas, field), Origin::StructuredData, "{field}");
    }
}

#[test]
fn microdata_with_meta_and_link_props() {
    let html = r#"<html><body>
      <div itemscope itemtype="http://schema.org/Product">
        <h1 itemprop="name">Garden Hose</h1>
        <span itemprop="brand" itemscope itemtype="http://schema.org/Brand"><span itemprop="name">Hoser</span></span>
        <meta itemprop="sku" content="GH-25">
        <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
          <span itemprop="price" content="24.95">24,95 €</span>
          <meta itemprop="priceCurrency" content="EUR">
          <link itemprop="availability" href="http://schema.org/OutOfStock">
        </div>
      </div></body></html>"#;
    let (v, metas) = item(&run(html, schema(), ""));
    assert_eq!(v["name"], "Garden Hose");
    assert_eq!(v["brand"], "Hoser");
    assert_eq!(v["sku"], "GH-25");
    assert_eq!(v["price"], json!(24.95));
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["availability"], "OutOfStock");
    assert_eq!(origin(&metas, "price"), Origin::StructuredData);
    // Values from <meta> and <link> say so.
    assert_eq!(origin(&metas, "sku"), Origin::Meta);
    assert_eq!(origin(&metas, "availability"), Origin::Meta);
}

#[test]
fn rdfa_lite() {
    let html = r#"<html><body>
      <div vocab="https://schema.org/" typeof="Product">
        <h1 property="name">Desk Lamp</h1>
        <span property="sku">DL-7</span>
        <div property="offers" typeof="Offer">
          <span property="price" content="39.00">£39.00</span>
          <span property="priceCurrency" content="GBP"></span>
          <link property="availability" href="https://schema.org/PreOrder">
        </div>
      </div></body></html>"#;
    let (v, metas) = item(&run(html, schema(), ""));
    assert_eq!(v["name"], "Desk Lamp");
    assert_eq!(v["sku"], "DL-7");
    assert_eq!(v["price"], json!(39.0));
    assert_eq!(v["currency"], "GBP");
    assert_eq!(v["availability"], "PreOrder");
    assert!(metas.iter().any(|(n, _, d)| n == "price" && d == "rdfa"));
}

#[test]
fn open_graph_and_product_meta() {
    let html = r#"<html><head>
      <meta property="og:title" content="Trail Shoe">
      <meta property="og:image" content="/shoe.jpg">
      <meta property="product:price:amount" content="89,90">
      <meta property="product:price:currency" content="€">
      <meta property="product:availability" content="in stock">
      <meta property="product:retailer_item_id" content="TS-42">
      <meta property="product:brand" content="Runner">
      <link rel="canonical" href="/p/trail-shoe">
    </head><body></body></html>"#;
    let (v, metas) = item(&run(html, schema(), ""));
    assert_eq!(v["name"], "Trail Shoe");
    assert_eq!(v["price"], json!(89.9));
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["availability"], "InStock");
    assert_eq!(v["sku"], "TS-42");
    assert_eq!(v["brand"], "Runner");
    assert_eq!(v["image"], "https://shop.example.com/shoe.jpg");
    assert_eq!(v["url"], "https://shop.example.com/p/trail-shoe");
    for field in ["name", "price", "currency", "availability", "sku"] {
        assert_eq!(origin(&metas, field), Origin::Meta, "{field}");
    }
    assert!(
        metas
            .iter()
            .any(|(n, _, d)| n == "price" && d == "product:price:amount")
    );
}

const TEXT_PAGE: &str = r#"<html lang="de"><head><title>Kaffeemühle | Shop</title></head><body>
  <nav><a href="/">Start</a> <span class="price">9,99 €</span></nav>
  <div class="product-detail">
    <div class="gallery"><img src="/m.jpg"></div>
    <div class="buy">
      <h1 class="product-title">Kaffeemühle Classic</h1>
      <div class="price-box">
        <span class="old-price"><del>59,99 €</del></span>
        <span class="special-price">49,99&nbsp;€</span>
        <span class="base-price">(4,99 € / 100 g)</span>
      </div>
      <p class="stock">Sofort lieferbar</p>
      <button type="submit" class="btn">In den Warenkorb</button>
      <ul><li>Art.-Nr.: 100-2345</li><li><b>EAN</b> <span>4006381333931</span></li><li>Marke: Moka</li></ul>
    </div>
  </div>
  <div class="related-products"><h2>Auch interessant</h2><span class="price">19,99 €</span></div>
</body></html>"#;

#[test]
fn page_text_only() {
    let (v, metas) = item(&run(TEXT_PAGE, schema(), ""));
    assert_eq!(v["name"], "Kaffeemühle Classic");
    assert_eq!(v["price"], json!(49.99));
    assert_eq!(v["list_price"], json!(59.99));
    assert_eq!(v["currency"], "EUR");
    assert_eq!(v["availability"], "InStock");
    assert_eq!(v["sku"], "100-2345");
    assert_eq!(v["gtin"], "4006381333931");
    assert_eq!(v["brand"], "Moka");
    for field in [
        "name",
        "price",
        "list_price",
        "availability",
        "sku",
        "gtin",
        "brand",
    ] {
        assert_eq!(origin(&metas, field), Origin::PageText, "{field}");
    }
}

#[test]
fn was_and_now_in_one_text() {
    let html = r#"<html lang="en-GB"><body><div class="product">
      <h1>Garden Bench</h1>
      <p class="pricing">Was £59.99 Now £49.99</p>
      <p>£3.99/kg</p>
    </div></body></html>"#;
    let (v, _) = item(&run(html, schema(), ""));
    assert_eq!(v["price"], json!(49.99));
    assert_eq!(v["list_price"], json!(59.99));
    assert_eq!(v["currency"], "GBP");
}

#[test]
fn labels_in_detail_lists_and_tables() {
    let html = "<html><body><h1>Pan Set</h1><span class=\"price\">£48.99</span>\
      <ul><li><span class=\"a-text-bold\">ASIN\u{200f}:\u{200e}</span><span>B004SNMXRS</span></li></ul>\
      <table><tr><th>Brand</th><td>Tefal</td></tr><tr><th>EAN</th><td>3168430155556</td></tr></table>\
      </body></html>";
    let (v, metas) = item(&run(html, schema(), ""));
    assert_eq!(v["sku"], "B004SNMXRS");
    assert_eq!(v["brand"], "Tefal");
    assert!(v.get("gtin").is_none(), "a bad check digit is no GTIN");
    assert!(
        metas
            .iter()
            .any(|(n, _, d)| n == "sku" && d == "label \"asin\"")
    );
}

#[test]
fn breadcrumbs_from_the_page() {
    let html = r#"<html><body>
      <nav aria-label="Breadcrumb"><ol><li><a href="/">Home</a> ›</li><li><a href="/garden">Garden</a> ›</li><li>Benches</li></ol></nav>
      <h1>Garden Bench</h1><span class="price">$129.00</span>
    </body></html>"#;
    let (v, metas) = item(&run(html, schema(), ""));
    assert_eq!(v["breadcrumbs"], json!(["Home", "Garden", "Benches"]));
    assert_eq!(origin(&metas, "breadcrumbs"), Origin::PageText);
    assert_eq!(v["currency"], "USD");
}

#[test]
fn unit_prices_are_not_the_price() {
    let html = r#"<html lang="de"><body><main>
      <h1>Bio Kaffee 500 g</h1>
      <div class="price-info"><span class="price-per-unit">1,99 €/100 g</span></div>
      <div class="product-price"><span>9,95 €</span></div>
    </main></body></html>"#;
    let (v, _) = item(&run(html, schema(), ""));
    assert_eq!(v["price"], json!(9.95));
}

#[test]
fn out_of_stock_wording_and_cart_default() {
    let sold_out = TEXT_PAGE.replace("Sofort lieferbar", "Leider ausverkauft");
    let (v, _) = item(&run(&sold_out, schema(), ""));
    assert_eq!(v["availability"], "SoldOut");
    // No wording: the enabled add-to-cart button says it can be bought.
    let no_word = TEXT_PAGE.replace("Sofort lieferbar", "");
    let (v, metas) = item(&run(&no_word, schema(), ""));
    assert_eq!(v["availability"], "InStock");
    assert!(
        metas
            .iter()
            .any(|(n, _, d)| n == "availability" && d.contains("add-to-cart"))
    );
    // Nothing at all: assumed in stock, unless the option says not to.
    let nothing = no_word.replace("In den Warenkorb", "Merken");
    let (v, metas) = item(&run(&nothing, schema(), ""));
    assert_eq!(v["availability"], "InStock");
    assert_eq!(origin(&metas, "availability"), Origin::Other);
    let (v, _) = item(&run(&nothing, schema(), r#"{"assume_in_stock": false}"#));
    assert!(v.get("availability").is_none());
}

#[test]
fn hints_override_and_extra_properties() {
    let schema = json!({"type": "object", "properties": {
        "title": {"type": "string", "x-selector": "title"},
        "price": {"type": "string", "x-selector": ".old-price"},
        "sku": {"type": "string", "x-selector": "img", "x-attr": "src"},
        "weight": {"type": "number", "x-selector": ".weight"},
        "reviewCount": {"type": "integer"},
        "ignored": {"type": "string"}
    }});
    let html = TEXT_PAGE.replace("</ul>", "</ul><span class=\"weight\">1,5 kg</span>");
    let (v, metas) = item(&run(&html, schema, ""));
    assert_eq!(v["title"], "Kaffeemühle | Shop");
    // Coerced the same way: a price as a decimal string.
    assert_eq!(v["price"], "59.99");
    assert_eq!(v["sku"], "/m.jpg");
    assert_eq!(v["weight"], json!(1.5));
    assert!(v.get("ignored").is_none() && v.get("reviewCount").is_none());
    for field in ["title", "price", "sku", "weight"] {
        assert_eq!(origin(&metas, field), Origin::Hint, "{field}");
    }
}

#[test]
fn unknown_hints_are_refused() {
    let plan = Plan::parse(
        &json!({"properties": {"price": {"x-css": ".p"}}}),
        &Options::default(),
    );
    let err = plan.expect_err("refused");
    assert!(
        err.message()
            .starts_with("/properties/price/x-css: unknown hint"),
        "{}",
        err.message()
    );
    let plan = Plan::parse(
        &json!({"properties": {"price": {"x-selector": "!!"}}}),
        &Options::default(),
    )
    .expect("a plan");
    let dom = ScraperDom::new(URL, TEXT_PAGE);
    let err = product_extractor::extract_tree(&dom::tree_of(TEXT_PAGE, URL), URL, &plan, &dom)
        .expect_err("a bad selector");
    assert!(
        err.message().starts_with("/properties/price/x-selector"),
        "{}",
        err.message()
    );
}

#[test]
fn no_product_no_item() {
    let html =
        "<html><head><title>About us</title></head><body><p>We sell things.</p></body></html>";
    assert!(run(html, schema(), "").items.is_empty());
    // A heading is no product: every page has one.
    let html = r#"<html><head><meta property="og:title" content="Our story"></head>
      <body><h1>Our story</h1><p>Since 1921.</p></body></html>"#;
    assert!(run(html, schema(), "").items.is_empty());
    // The text rules can be turned off.
    assert!(
        run(TEXT_PAGE, schema(), r#"{"page_text": false}"#)
            .items
            .is_empty()
    );
}

#[test]
fn a_schema_without_properties_gets_every_field() {
    let (v, _) = item(&run(TEXT_PAGE, json!({"type": "object"}), ""));
    assert_eq!(v["name"], "Kaffeemühle Classic");
    assert_eq!(v["price"], json!(49.99));
    assert_eq!(v["sku"], "100-2345");
    let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
    assert_eq!(keys[0], "name", "fields in their documented order");
}

#[test]
fn price_specifications() {
    let html = r#"<html><head><script type="application/ld+json">
      {"@type": "Product", "name": "Tea", "offers": {"@type": "Offer", "priceCurrency": "EUR",
       "priceSpecification": [
         {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/StrikethroughPrice", "price": 12.0},
         {"@type": "UnitPriceSpecification", "price": 39.8, "referenceQuantity": {"value": 1, "unitCode": "KGM"}},
         {"@type": "UnitPriceSpecification", "price": 9.95}
       ]}}
      </script></head><body></body></html>"#;
    let (v, _) = item(&run(html, schema(), ""));
    assert_eq!(v["price"], json!(9.95));
    assert_eq!(v["list_price"], json!(12.0));
    assert_eq!(v["currency"], "EUR");
}

#[test]
fn price_as_string_and_integer_count() {
    let html = r#"<html><head><script type="application/ld+json">
      {"@type": "Product", "name": "Mug", "offers": {"price": 87.11, "priceCurrency": "EUR"},
       "aggregateRating": {"ratingValue": 4, "reviewCount": 7}}
      </script></head><body></body></html>"#;
    let schema = json!({"properties": {
        "price": {"type": "string"}, "review_count": {"type": "string"}, "rating": {"type": "integer"}
    }});
    let (v, _) = item(&run(html, schema, ""));
    assert_eq!(v["price"], "87.11");
    assert_eq!(v["review_count"], "7");
    assert_eq!(v["rating"], json!(4));
}
