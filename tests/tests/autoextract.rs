//! The selector-free extractors, bundled, run as the host runs them: their quality on the
//! annotated corpora (floors a regression would break, scored as the corpus README says),
//! within the default limits; then in a job crawling corpus pages from a local site, with
//! each field's confidence and origin stored beside the item, exported, and through the
//! preview. And a plugin built for WIT 0.1.0 still loads and extracts on a host that
//! serves 0.2.0.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{PageData, Runtime};
use trawl_tests::TestHost;
use trawl_tests::quality::{self, AnnotatedPage};

fn page_data(page: &AnnotatedPage) -> Arc<PageData> {
    Arc::new(PageData {
        url: page.url.clone(),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: page.html.clone(),
    })
}

/// Each page through the bundled plugin under the default limits: the first item of each
/// (none when it found nothing). A call that fails fails the test.
async fn extract_all(
    component: &[u8],
    pages: &[AnnotatedPage],
    schema: &Value,
) -> anyhow::Result<(Vec<Option<Value>>, u64)> {
    let runtime = Runtime::new(PluginLimits::default())?;
    let plugin = runtime.load(component)?;
    let schema: Arc<str> = schema.to_string().into();
    let mut items = Vec::with_capacity(pages.len());
    let mut most_fuel = 0;
    for page in pages {
        let output = runtime
            .extract(&plugin, page_data(page), schema.clone(), "{}".into(), None)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", page.key))?;
        most_fuel = most_fuel.max(output.fuel);
        anyhow::ensure!(output.items.len() <= 1, "{}: one item per page", page.key);
        let item = output.items.into_iter().next();
        if let Some(item) = &item {
            // Every field the item has says where it came from.
            let object = item.value.as_object().expect("items are objects");
            for (name, _) in object {
                anyhow::ensure!(
                    item.fields.iter().any(|(f, _)| f == name),
                    "{}: field {name} has no metadata",
                    page.key
                );
            }
        }
        items.push(item.map(|i| i.value));
    }
    Ok((items, most_fuel))
}

#[tokio::test]
async fn products_are_found_on_real_pages_as_well_as_the_targets_ask() -> anyhow::Result<()> {
    let pages = quality::load(&quality::corpus_dir("product-pages"))?;
    assert_eq!(pages.len(), 68);
    let (items, fuel) = extract_all(
        trawl_host::bundled::components::PRODUCT_EXTRACTOR,
        &pages,
        &quality::product_schema(),
    )
    .await?;
    let scored: Vec<_> = pages.iter().zip(items.iter().map(Option::as_ref)).collect();
    let scores = quality::score_products(&scored);
    println!("{scores}\nmost fuel in one call: {fuel}");
    for (field, floor) in [("price", 0.85), ("sku", 0.80), ("availability", 0.90)] {
        let f1 = scores.get(field).f1();
        assert!(
            f1 >= floor,
            "{field} F1 {f1:.3} is under its floor {floor}; misses: {:#?}",
            scores.misses.get(field)
        );
    }
    assert!(fuel < PluginLimits::default().fuel / 4, "fuel {fuel}");
    Ok(())
}

#[tokio::test]
async fn article_bodies_are_found_on_real_pages_as_well_as_the_target_asks() -> anyhow::Result<()> {
    let pages = quality::load(&quality::corpus_dir("article-pages"))?;
    assert_eq!(pages.len(), 86);
    let (items, fuel) = extract_all(
        trawl_host::bundled::components::ARTICLE_EXTRACTOR,
        &pages,
        &quality::article_schema(),
    )
    .await?;
    let scored: Vec<_> = pages.iter().zip(items.iter().map(Option::as_ref)).collect();
    let scores = quality::score_articles(&scored, "body");
    println!("{scores}\nmost fuel in one call: {fuel}");
    let f1 = scores.body.f1();
    assert!(
        f1 >= ARTICLE_BODY_FLOOR,
        "body F1 {f1:.3} is under its floor; worst pages: {:?}",
        &scores.pages[..scores.pages.len().min(10)]
    );
    // Every article found has Markdown beside its text.
    for (page, item) in &scored {
        if let Some(item) = item {
            assert!(
                item["markdown"]
                    .as_str()
                    .is_some_and(|m| !m.trim().is_empty()),
                "{}: no markdown",
                page.key
            );
        }
    }
    assert!(fuel < PluginLimits::default().fuel / 4, "fuel {fuel}");
    Ok(())
}

/// The article body floor: the target.
const ARTICLE_BODY_FLOOR: f64 = 0.96;

/// A site serving `pages` at `/<corpus>/<key>.html`, and an index at `/<corpus>/` that
/// links to each of them, for a crawl to find.
fn site_pages(
    corpus: &str,
    pages: &[AnnotatedPage],
    into: &mut HashMap<String, (String, Vec<u8>)>,
) -> Vec<String> {
    let mut paths = Vec::new();
    let mut index = String::from("<!doctype html><title>index</title><ul>");
    for page in pages {
        let path = format!("/{corpus}/{}.html", page.key);
        index.push_str(&format!("<li><a href=\"{path}\">{}</a></li>", page.key));
        into.insert(
            path.clone(),
            (
                "text/html; charset=utf-8".to_owned(),
                page.html.clone().into_bytes(),
            ),
        );
        paths.push(path);
    }
    index.push_str("</ul>");
    into.insert(
        format!("/{corpus}/"),
        ("text/html; charset=utf-8".to_owned(), index.into_bytes()),
    );
    paths
}

#[tokio::test]
async fn both_extract_in_a_job_and_in_the_preview_with_each_fields_origin() -> anyhow::Result<()> {
    let products: Vec<AnnotatedPage> = quality::load(&quality::corpus_dir("product-pages"))?
        .into_iter()
        .take(6)
        .collect();
    let articles: Vec<AnnotatedPage> = quality::load(&quality::corpus_dir("article-pages"))?
        .into_iter()
        .take(4)
        .collect();
    let mut site = HashMap::new();
    let product_paths = site_pages("products", &products, &mut site);
    let article_paths = site_pages("articles", &articles, &mut site);
    let base = format!("http://{}", trawl_tests::serve_site(site).await?);
    let host = TestHost::start().await?;
    let key = host.member("auto@example.com").await?;

    for (plugin, schema, corpus, paths, must) in [
        (
            "product-extractor",
            quality::product_schema(),
            "products",
            &product_paths,
            "price",
        ),
        (
            "article-extractor",
            quality::article_schema(),
            "articles",
            &article_paths,
            "markdown",
        ),
    ] {
        let (status, saved) = host
            .call(
                "POST",
                "/v1/schemas",
                &key,
                Some(json!({"name": plugin, "plugin": plugin, "json_schema": schema})),
            )
            .await?;
        assert_eq!(status, 201, "{saved}");
        let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
        // A crawl from the index finds every page; the pages' own links lead off the site
        // or outside the corpus folder, and are not followed.
        let run = host
            .run_job(
                &key,
                json!({"name": plugin, "schema_id": saved["id"],
                       "start_urls": [format!("{base}/{corpus}/")],
                       "pagination": {"type": "crawl",
                                      "include": [format!("/{corpus}/[0-9a-f]{{64}}\\.html$")]},
                       "max_pages": urls.len() + 1}),
            )
            .await?;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(
            run["counters"]["pages_fetched"].as_u64(),
            Some(urls.len() as u64 + 1),
            "{run}"
        );
        let results = host
            .all_results(&key, run["id"].as_str().expect("run id"))
            .await?;
        assert!(
            results.len() >= urls.len() - 1,
            "{plugin}: {} items from {} pages",
            results.len(),
            urls.len()
        );
        assert!(
            results
                .iter()
                .any(|r| r["data"][must].is_string() || r["data"][must].is_number()),
            "{plugin}: no {must} in {results:#?}"
        );
        for result in &results {
            let fields = result["fields"].as_object().expect("field metadata stored");
            for (name, _) in result["data"].as_object().expect("an object") {
                let meta = &fields[name];
                let origin = meta["origin"].as_str().unwrap_or_default();
                assert!(
                    ["structured_data", "meta", "page_text", "hint", "other"].contains(&origin),
                    "{plugin} {name}: {meta}"
                );
                let confidence = meta["confidence"].as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&confidence), "{plugin} {name}: {meta}");
            }
        }

        // The preview gives the same items, with the same metadata, as the run stored.
        let (status, preview) = host
            .call(
                "POST",
                "/v1/preview",
                &key,
                Some(json!({"schema_id": saved["id"], "urls": [&urls[0]]})),
            )
            .await?;
        assert_eq!(status, 200, "{preview}");
        let previewed = &preview["pages"][0]["items"][0];
        let stored = results
            .iter()
            .find(|r| r["source_url"] == urls[0].as_str())
            .expect("the first page's item");
        assert_eq!(previewed["data"], stored["data"], "{plugin}");
        assert_eq!(previewed["fields"], stored["fields"], "{plugin}");

        // An export can carry the metadata as a column.
        let (status, export) = host
            .call(
                "POST",
                &format!("/v1/runs/{}/exports", run["id"].as_str().expect("run id")),
                &key,
                Some(json!({"format": "jsonl", "options": {"include": ["fields"]}})),
            )
            .await?;
        assert_eq!(status, 202, "{export}");
        let export = host
            .wait_export(
                &key,
                export["id"].as_str().expect("export id"),
                std::time::Duration::from_secs(30),
            )
            .await?;
        assert_eq!(export["status"], "succeeded", "{export}");
        let file = reqwest::get(export["download_url"].as_str().expect("a link"))
            .await?
            .text()
            .await?;
        let first: Value = serde_json::from_str(file.lines().next().expect("a row"))?;
        assert!(first["_fields"].is_object(), "{first}");
    }
    host.stop().await
}

/// A plugin built before 0.2.0 (css-extractor as it was built for `trawl:plugin@0.1.0`,
/// kept as a binary fixture) loads, says its WIT version, and extracts as it always did;
/// its items carry no field metadata.
#[tokio::test]
async fn a_plugin_built_for_wit_0_1_still_extracts() -> anyhow::Result<()> {
    let runtime = Runtime::new(PluginLimits::default())?;
    let old = std::fs::read(trawl_tests::fixtures().join("plugins/css-extractor-wit-0.1.0.wasm"))?;
    let plugin = runtime.load(&old)?;
    assert_eq!(plugin.manifest.wit_version, "0.1.0");
    let current = runtime.load(trawl_host::bundled::components::CSS_EXTRACTOR)?;
    assert_eq!(current.manifest.wit_version, "0.2.0");
    let listing =
        std::fs::read_to_string(trawl_tests::fixtures().join("books-listing/page-1.html"))?;
    let page = Arc::new(PageData {
        url: "http://books.test/catalogue/page-1.html".into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: listing,
    });
    let schema = json!({"type": "object", "x-scope": "article.product_pod", "properties": {
        "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"},
        "price": {"type": "number", "x-selector": ".price_color"}}})
    .to_string();
    let old_items = runtime
        .extract(
            &plugin,
            page.clone(),
            schema.clone().into(),
            "{}".into(),
            None,
        )
        .await?
        .items;
    let new_items = runtime
        .extract(&current, page, schema.into(), "{}".into(), None)
        .await?
        .items;
    assert_eq!(old_items.len(), 20);
    assert!(old_items.iter().all(|i| i.fields.is_empty()));
    let values = |items: &[trawl_host::runtime::ExtractedItem]| {
        items.iter().map(|i| i.value.clone()).collect::<Vec<_>>()
    };
    assert_eq!(values(&old_items), values(&new_items));
    Ok(())
}
