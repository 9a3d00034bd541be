//! The whole extraction natively, on small pages, with the `scraper`-backed DOM of
//! `plugins/support/dom.rs` standing in for the host's.

#[path = "../../support/dom.rs"]
mod dom;

use dom::ScraperDom;
use jsonld_extractor::JsonLdExtractor;
use serde_json::{Value, json};
use trawl_sdk::{Options, Schema};

const BASE: &str = "http://example.com/shop/item.html";

fn extract(html: &str, schema: Value) -> Vec<Value> {
    let dom = ScraperDom::new(BASE, html);
    let extraction =
        JsonLdExtractor::extract_from(&dom, &Schema::new(schema.to_string()), &Options::default())
            .expect("extraction");
    assert!(*dom.calls.borrow() <= 5, "{} DOM calls", dom.calls.borrow());
    extraction
        .items
        .iter()
        .map(|item| serde_json::from_str(&item.json).expect("item JSON"))
        .collect()
}

/// Every entity as it is.
fn entities(html: &str) -> Vec<Value> {
    extract(html, json!({"type": "object"}))
}

#[test]
fn microdata_values_come_from_the_right_attribute() {
    let html = r#"<html><body>
      <div itemscope itemtype="http://schema.org/Product" itemid="urn:sku:1">
        <h1 itemprop="name">Executive   Anvil</h1>
        <img itemprop="image" src=" anvil.jpg ">
        <a itemprop="url" href="/anvil">the anvil</a>
        <link itemprop="http://schema.org/sameAs" href="https://other.example/anvil">
        <object itemprop="manual" data="manual.pdf"></object>
        <data itemprop="sku" value="925872">SKU 925872</data>
        <meter itemprop="weight" value="12.5" min="0" max="100">heavy</meter>
        <time itemprop="releaseDate" datetime="2020-11-05">5 November</time>
        <time itemprop="updated">yesterday</time>
        <span itemprop="color" content="black">Black as night</span>
        <meta itemprop="category" content="Tools">
        <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
          $<span itemprop="price">119.99 </span>
          <meta itemprop="priceCurrency" content="USD">
        </div>
        <p itemprop="description">Sleek. <script>var x = "hidden";</script><style>p { color: red }</style>Heavy.</p>
      </div>
    </body></html>"#;
    assert_eq!(
        entities(html),
        [json!({
            "@type": "Product",
            "@id": "urn:sku:1",
            "name": "Executive Anvil",
            "image": "http://example.com/shop/anvil.jpg",
            "url": "http://example.com/anvil",
            "sameAs": "https://other.example/anvil",
            "manual": "http://example.com/shop/manual.pdf",
            "sku": "925872",
            "weight": "12.5",
            "releaseDate": "2020-11-05",
            "updated": "yesterday",
            "color": "black",
            "category": "Tools",
            "offers": {"@type": "Offer", "price": "119.99", "priceCurrency": "USD"},
            "description": "Sleek. Heavy."
        })]
    );
}

#[test]
fn itemref_and_several_items() {
    let html = r#"<html><body>
      <div itemscope itemtype="http://schema.org/Product" itemref="shared missing">
        <span itemprop="name">A</span>
      </div>
      <div itemscope itemtype="http://schema.org/Product" itemref="shared">
        <span itemprop="name">B</span>
      </div>
      <div id="shared"><span itemprop="brand">ACME</span></div>
    </body></html>"#;
    assert_eq!(
        entities(html),
        [
            json!({"@type": "Product", "name": "A", "brand": "ACME"}),
            json!({"@type": "Product", "name": "B", "brand": "ACME"}),
        ]
    );
}

#[test]
fn json_ld_and_microdata_together_mapped() {
    let html = r##"<html><head>
      <script type="application/ld+json">
        // a comment, as real pages have
        {"@context": "https://schema.org", "@graph": [
          {"@type": "Organization", "@id": "#org", "name": "ACME",},
          {"@type": "NewsArticle", "headline": "Anvils
 fall", "author": {"@id": "#org"}, "datePublished": "2024-01-02"}
        ]}
      </script>
      <script type="Application/LD+JSON">{"@type": "BlogPosting", "headline": "Second"} {"@type": "Event"}</script>
      <script type="application/ld+json">{ broken</script>
      <script type="application/json">{"@type": "NewsArticle", "headline": "not JSON-LD"}</script>
    </head><body>
      <article itemscope itemtype="http://schema.org/Article">
        <h1 itemprop="headline">Third</h1>
        <span itemprop="author" itemscope itemtype="http://schema.org/Person"><span itemprop="name">Ann</span></span>
      </article>
    </body></html>"##;
    let items = extract(
        html,
        json!({
            "type": "object",
            "x-type": ["NewsArticle", "BlogPosting", "Article"],
            "required": ["headline", "author"],
            "properties": {
                "headline": {"type": "string"},
                "author": {"type": "string"},
                "published": {"type": "string", "x-path": "datePublished"}
            }
        }),
    );
    assert_eq!(
        items,
        [
            json!({"headline": "Anvils\n fall", "author": "ACME", "published": "2024-01-02"}),
            json!({"headline": "Second"}),
            json!({"headline": "Third", "author": "Ann"}),
        ]
    );
}

#[test]
fn script_text_is_read_as_written() {
    let html = r#"<html><head><script type="application/ld+json">
      {"@type": "JoinAction", "html": "<!-- x --><b>a &amp; b</b> &lt;", "note": "1 < 2 && 3 > 2"}
    </script></head></html>"#;
    assert_eq!(
        entities(html),
        [
            json!({"@type": "JoinAction", "html": "<!-- x --><b>a &amp; b</b> &lt;", "note": "1 < 2 && 3 > 2"})
        ]
    );
}

#[test]
fn the_sources_option_picks_the_syntaxes() {
    let html = r#"<html><head><script type="application/ld+json">{"@type": "Thing", "name": "from JSON-LD"}</script></head>
      <body><div itemscope itemtype="http://schema.org/Thing"><span itemprop="name">from microdata</span></div></body></html>"#;
    let run = |options: Value| -> Result<(Vec<Value>, usize), trawl_sdk::PluginError> {
        let dom = ScraperDom::new(BASE, html);
        let extraction = JsonLdExtractor::extract_from(
            &dom,
            &Schema::new(r#"{"properties": {"name": {"type": "string"}}}"#),
            &Options::new(options.to_string()),
        )?;
        let names = extraction
            .items
            .iter()
            .map(|item| serde_json::from_str::<Value>(&item.json).expect("JSON")["name"].clone())
            .collect();
        let calls = *dom.calls.borrow();
        Ok((names, calls))
    };
    assert_eq!(
        run(json!({})).expect("both"),
        (vec![json!("from JSON-LD"), json!("from microdata")], 5)
    );
    assert_eq!(
        run(json!({"sources": ["json-ld"]})).expect("JSON-LD"),
        (vec![json!("from JSON-LD")], 1)
    );
    assert_eq!(
        run(json!({"sources": ["microdata"]})).expect("microdata").0,
        [json!("from microdata")]
    );
    for bad in [
        json!({"sources": []}),
        json!({"sources": ["rdfa"]}),
        json!({"sources": "json-ld"}),
    ] {
        let err = run(bad).expect_err("a bad option");
        assert!(err.to_string().contains("sources"), "{err}");
    }
}

#[test]
fn a_page_without_structured_data_costs_one_call() {
    let dom = ScraperDom::new(BASE, "<html><body><p>nothing</p></body></html>");
    let extraction = JsonLdExtractor::extract_from(&dom, &Schema::new("{}"), &Options::default())
        .expect("extraction");
    assert!(extraction.items.is_empty());
    assert_eq!(*dom.calls.borrow(), 1);
}

#[test]
fn a_bad_schema_is_invalid_input() {
    let dom = ScraperDom::new(BASE, "<html></html>");
    let err =
        JsonLdExtractor::extract_from(&dom, &Schema::new(r#"{"x-type": 1}"#), &Options::default())
            .expect_err("x-type must be a string");
    assert!(
        matches!(err, trawl_sdk::PluginError::InvalidInput(_)),
        "{err}"
    );
}

/// The product example of README.md, verbatim.
#[test]
fn the_readme_product_example() {
    let html = r#"<div itemscope itemtype="http://schema.org/Product">
  <span itemprop="brand">ACME</span>
  <span itemprop="name">Executive Anvil</span>
  <img itemprop="image" src="anvil_executive.jpg" alt="Executive Anvil logo"/>
  <span itemprop="aggregateRating" itemscope itemtype="http://schema.org/AggregateRating">
    <span itemprop="ratingValue">4.4</span> stars, based on <span itemprop="reviewCount">89</span> reviews
  </span>
  <span itemprop="offers" itemscope itemtype="http://schema.org/Offer">
    <meta itemprop="priceCurrency" content="USD" />
    $<span itemprop="price">119.99</span>
    <span itemprop="seller" itemscope itemtype="http://schema.org/Organization">
      <span itemprop="name">Executive Objects</span>
    </span>
    <link itemprop="availability" href="http://schema.org/InStock"/>In stock! Order now!
  </span>
</div>"#;
    let schema = json!({
      "type": "object",
      "x-type": "Product",
      "required": ["name", "price"],
      "properties": {
        "name": { "type": "string" },
        "sku": { "type": "string" },
        "brand": { "type": "string" },
        "image": { "type": "string", "format": "uri" },
        "price": { "type": "number", "x-path": ["offers.price", "offers.lowPrice"] },
        "currency": { "type": "string", "x-path": "offers.priceCurrency" },
        "in_stock": {
          "type": "boolean",
          "x-path": "offers.availability",
          "x-map": { "InStock": true, "OnlineOnly": true, "OutOfStock": false, "SoldOut": false }
        },
        "rating": { "type": "number", "x-path": "aggregateRating.ratingValue" },
        "reviews": { "type": "integer", "x-path": "aggregateRating.reviewCount" },
        "offers": {
          "type": "array",
          "x-path": "offers",
          "items": {
            "type": "object",
            "properties": {
              "price": { "type": "number" },
              "currency": { "type": "string", "x-path": "priceCurrency" },
              "seller": { "type": "string" }
            }
          }
        }
      }
    });
    let dom = ScraperDom::new("https://example.com/anvil.html", html);
    let extraction =
        JsonLdExtractor::extract_from(&dom, &Schema::new(schema.to_string()), &Options::default())
            .expect("extraction");
    assert_eq!(extraction.items.len(), 1);
    let item: Value = serde_json::from_str(&extraction.items[0].json).expect("JSON");
    assert_eq!(
        item,
        json!({
          "name": "Executive Anvil",
          "brand": "ACME",
          "image": "https://example.com/anvil_executive.jpg",
          "price": 119.99,
          "currency": "USD",
          "in_stock": true,
          "rating": 4.4,
          "reviews": 89,
          "offers": [{ "price": 119.99, "currency": "USD", "seller": "Executive Objects" }]
        })
    );
    assert_eq!(extraction.items[0].confidence, Some(1.0));
}
