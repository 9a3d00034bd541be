//! jsonld-extractor on extruct's test pages (`tests/fixtures/extruct-samples`): each
//! page's expected extraction sits beside it (`.jsonld` for its JSON-LD, `.json` for its
//! microdata or both), and `*.invalid/` hold malformed JSON-LD.
//!
//! The bundled component runs through the host's runtime with a schema without
//! properties, so each top-level entity comes back whole; a page is right when the
//! entities found and the expected ones pair up exactly (see [`same`] for what "equal"
//! forgives). The figure is printed, and a floor keeps it from sliding. Then a few pages
//! are mapped with real schemas and their values checked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{LoadedPlugin, PageData, Runtime};

/// Pages the plugin gets fully right today; a change that loses one fails the test.
const RIGHT_FLOOR: usize = 36;

/// The corpus: the copy in `tests/fixtures/extruct-samples`, or the directory
/// `TRAWL_EXTRUCT_SAMPLES` names (the whole corpus, to measure on purpose).
fn corpus_dir() -> PathBuf {
    std::env::var_os("TRAWL_EXTRUCT_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/extruct-samples")
        })
}

/// One page of the corpus and what extruct found on it.
struct CorpusPage {
    /// `folder/file.html`.
    name: String,
    /// Where the page pretends to live: relative URLs resolve against it.
    url: String,
    html: String,
    /// The schema.org entities expected, JSON-LD-shaped; `None` when the page's expected
    /// output is in a syntax this plugin does not read (RDFa, Open Graph, …).
    expected: Option<Vec<Value>>,
    /// The syntaxes the expected output covers (`json-ld`, `microdata`): a `.jsonld` file
    /// lists only the page's JSON-LD, extruct's microdata list only its microdata.
    sources: Vec<&'static str>,
    /// Why the page is skipped.
    why: String,
}

/// The URLs extruct's own tests gave these pages (their expected URLs are resolved
/// against them); the other pages were extracted without one.
const PAGE_URLS: &[(&str, &str)] = &[
    (
        "w3c/microdata.7.1.html",
        "http://blog.example.com/progress-report",
    ),
    (
        "w3c/microdata.object.html",
        "http://www.example.com/microdata/test",
    ),
];

fn corpus_pages() -> Vec<CorpusPage> {
    let root = corpus_dir();
    let mut pages = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("a corpus folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .collect();
        files.sort();
        for file in files {
            let folder = dir
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file_name = file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (expected, sources, why) = match expected_entities(&file) {
                Ok((entities, sources)) => (Some(entities), sources, String::new()),
                Err(why) => (None, Vec::new(), why),
            };
            let name = format!("{folder}/{file_name}");
            let url = PAGE_URLS
                .iter()
                .find(|(page, _)| *page == name)
                .map(|(_, url)| url.to_string())
                .unwrap_or_else(|| format!("http://example.com/extruct-samples/{name}"));
            pages.push(CorpusPage {
                name,
                url,
                html: std::fs::read_to_string(&file).expect("a corpus page"),
                expected,
                sources,
                why,
            });
        }
    }
    pages
}

/// The entities expected on the page at `html`, from `<stem>.json` (microdata, or an
/// object with `microdata` and `json-ld` lists) and `<stem>.jsonld` (JSON-LD).
fn expected_entities(html: &Path) -> Result<(Vec<Value>, Vec<&'static str>), String> {
    let read = |ext: &str| -> Option<Value> {
        let path = html.with_extension(ext);
        let text = std::fs::read_to_string(path).ok()?;
        Some(serde_json::from_str(&text).expect("expected output is JSON"))
    };
    let mut entities = Vec::new();
    let mut sources = Vec::new();
    let mut other = None;
    if let Some(json) = read("json") {
        match &json {
            Value::Object(o) if o.contains_key("microdata") || o.contains_key("json-ld") => {
                sources.extend(["json-ld", "microdata"]);
                if let Some(Value::Array(items)) = o.get("microdata") {
                    entities.extend(items.iter().map(microdata_entity));
                }
                if let Some(values) = o.get("json-ld") {
                    jsonld_entities(values, &mut entities);
                }
            }
            Value::Array(items) if items.iter().all(is_microdata_item) => {
                sources.push("microdata");
                entities.extend(items.iter().map(microdata_entity));
            }
            _ => {
                other =
                    Some("its .json is another syntax: Open Graph, RDFa, microformats, Dublin Core")
            }
        }
    }
    if let Some(jsonld) = read("jsonld") {
        if !sources.contains(&"json-ld") {
            sources.push("json-ld");
        }
        jsonld_entities(&jsonld, &mut entities);
    }
    if !sources.is_empty() {
        Ok((entities, sources))
    } else {
        Err(other
            .unwrap_or("no .json or .jsonld beside it (RDFa pages have .expanded.json)")
            .to_string())
    }
}

/// extruct's microdata item: `properties` (an object), and `type`s that are URLs.
fn is_microdata_item(item: &Value) -> bool {
    let types_are_urls = match item.get("type") {
        None => true,
        Some(Value::String(t)) => t.contains("://"),
        Some(Value::Array(ts)) => ts
            .iter()
            .all(|t| t.as_str().is_some_and(|t| t.contains("://"))),
        Some(_) => false,
    };
    item.get("properties").is_some_and(Value::is_object) && types_are_urls
}

/// An extruct microdata item as the JSON-LD-shaped entity the plugin gives. extruct's
/// `value` (the text of an item without properties) has no JSON-LD counterpart: dropped.
fn microdata_entity(item: &Value) -> Value {
    let Value::Object(item) = item else {
        return item.clone();
    };
    let mut entity = Map::new();
    match item.get("type") {
        Some(Value::String(t)) => {
            entity.insert("@type".into(), json!(short_name(t)));
        }
        Some(Value::Array(ts)) => {
            let ts: Vec<Value> = ts
                .iter()
                .filter_map(Value::as_str)
                .map(|t| json!(short_name(t)))
                .collect();
            entity.insert("@type".into(), Value::Array(ts));
        }
        _ => {}
    }
    if let Some(id) = item.get("id") {
        entity.insert("@id".into(), id.clone());
    }
    if let Some(Value::Object(props)) = item.get("properties") {
        for (name, value) in props {
            let value = match value {
                Value::Array(values) => Value::Array(values.iter().map(microdata_value).collect()),
                v => microdata_value(v),
            };
            entity.insert(short_name(name).to_string(), value);
        }
    }
    Value::Object(entity)
}

fn microdata_value(value: &Value) -> Value {
    if value.get("properties").is_some() || value.get("type").is_some() {
        microdata_entity(value)
    } else {
        value.clone()
    }
}

/// JSON-LD values as top-level entities: arrays and `@graph`s flattened, extruct's older
/// `{"items": [[…], …]}` (one list per script) too.
fn jsonld_entities(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(values) => values.iter().for_each(|v| jsonld_entities(v, out)),
        Value::Object(o) if o.len() == 1 && o.contains_key("items") => {
            jsonld_entities(&o["items"], out)
        }
        Value::Object(o) => match o.get("@graph") {
            Some(members) => {
                if o.contains_key("@type") {
                    out.push(value.clone());
                }
                jsonld_entities(members, out);
            }
            None => out.push(value.clone()),
        },
        _ => {}
    }
}

fn short_name(term: &str) -> &str {
    let term = term.trim();
    ["http://schema.org/", "https://schema.org/"]
        .iter()
        .find_map(|p| term.strip_prefix(p))
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .unwrap_or(term)
}

/// How the entities found compare with the expected ones.
#[derive(Debug, Default)]
struct Verdict {
    /// Expected entities nobody matched.
    missing: Vec<Value>,
    /// Entities found that nothing expected.
    extra: Vec<Value>,
    /// Expected entities matched.
    matched: usize,
}

impl Verdict {
    fn is_right(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Pair each expected entity with an equal one found (see [`same`]).
fn compare(ours: &[Value], expected: &[Value], page_url: &str) -> Verdict {
    let base = url::Url::parse(page_url).expect("page URL");
    let mut unused: Vec<&Value> = ours.iter().collect();
    let mut verdict = Verdict::default();
    for want in expected {
        match unused.iter().position(|got| same(got, want, &base)) {
            Some(k) => {
                unused.remove(k);
                verdict.matched += 1;
            }
            None => verdict.missing.push(want.clone()),
        }
    }
    verdict.extra = unused.into_iter().cloned().collect();
    verdict
}

/// Equal as structured data: a one-element array is its element, arrays are unordered,
/// `null` is no value, strings compare with whitespace collapsed, and a relative URL
/// expected equals the absolute one it resolves to (the plugin resolves microdata URLs
/// against the page, as the HTML standard says; extruct was run without a base URL).
fn same(got: &Value, want: &Value, base: &url::Url) -> bool {
    match (single(got), single(want)) {
        (Value::Array(gs), Value::Array(ws)) => {
            let gs: Vec<&Value> = gs.iter().filter(|v| !v.is_null()).collect();
            let ws: Vec<&Value> = ws.iter().filter(|v| !v.is_null()).collect();
            let mut unused = gs.clone();
            gs.len() == ws.len()
                && ws
                    .iter()
                    .all(|w| match unused.iter().position(|g| same(g, w, base)) {
                        Some(k) => {
                            unused.remove(k);
                            true
                        }
                        None => false,
                    })
        }
        (Value::Object(g), Value::Object(w)) => {
            let keys = |o: &Map<String, Value>| -> Vec<String> {
                let mut keys: Vec<String> = o
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect();
                keys.sort();
                keys
            };
            keys(g) == keys(w)
                && w.iter()
                    .filter(|(_, v)| !v.is_null())
                    .all(|(k, v)| same(&g[k], v, base))
        }
        (Value::String(g), Value::String(w)) => {
            let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let (g, w) = (collapse(g), collapse(w));
            g == w || base.join(&w).is_ok_and(|u| u.as_str() == g)
        }
        (g, w) => g == w,
    }
}

fn single(value: &Value) -> &Value {
    match value {
        Value::Array(values) if values.len() == 1 => single(&values[0]),
        v => v,
    }
}

fn page_data(url: &str, html: &str) -> Arc<PageData> {
    Arc::new(PageData {
        url: url.into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: html.into(),
    })
}

async fn plugin() -> (Arc<Runtime>, Arc<LoadedPlugin>) {
    let runtime = Runtime::new(PluginLimits::default()).expect("runtime");
    let plugin = runtime
        .load(trawl_host::bundled::components::JSONLD_EXTRACTOR)
        .expect("jsonld-extractor loads");
    (runtime, plugin)
}

/// The items (with confidence) the plugin gives for `page` under `schema`.
async fn extract(
    runtime: &Arc<Runtime>,
    plugin: &Arc<LoadedPlugin>,
    page: &CorpusPage,
    schema: Value,
    options: Value,
) -> Vec<(Value, Option<f32>)> {
    runtime
        .extract(
            plugin,
            page_data(&page.url, &page.html),
            schema.to_string().into(),
            options.to_string().into(),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", page.name))
        .items
        .into_iter()
        .map(|i| (i.value, i.confidence))
        .collect()
}

#[tokio::test]
async fn extruct_samples_pages_right() {
    let (runtime, plugin) = plugin().await;
    let pages = corpus_pages();
    let (mut right, mut total, mut entities, mut entities_right) = (0, 0, 0, 0);
    let mut skipped = Vec::new();
    for page in &pages {
        let Some(expected) = &page.expected else {
            skipped.push(format!("{} ({})", page.name, page.why));
            continue;
        };
        total += 1;
        // Only the syntaxes the expected output covers: a `.jsonld` lists no microdata.
        let options = json!({"sources": page.sources});
        let ours: Vec<Value> = extract(&runtime, &plugin, page, json!({"type": "object"}), options)
            .await
            .into_iter()
            .map(|(item, _)| item)
            .collect();
        let verdict = compare(&ours, expected, &page.url);
        entities += expected.len();
        entities_right += verdict.matched;
        if verdict.is_right() {
            right += 1;
        } else {
            println!(
                "wrong: {}\n  missing: {}\n  extra:   {}",
                page.name,
                Value::from(verdict.missing.clone()),
                Value::from(verdict.extra.clone())
            );
        }
    }
    println!("skipped {} pages: {}", skipped.len(), skipped.join("; "));
    println!(
        "structured data: {right} of {total} pages right ({entities_right} of {entities} expected entities found exactly)"
    );
    assert!(
        total >= 30,
        "only {total} pages with expected JSON-LD or microdata: is the corpus complete?"
    );
    assert!(
        right >= RIGHT_FLOOR,
        "{right} of {total} pages right, below the floor of {RIGHT_FLOOR}"
    );
}

fn page(name: &str) -> CorpusPage {
    corpus_pages()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the corpus"))
}

#[tokio::test]
async fn a_microdata_product_maps_with_coercion() {
    let (runtime, plugin) = plugin().await;
    let page = page("schema.org/product.html");
    let schema = json!({
        "type": "object",
        "x-type": "Product",
        "required": ["name", "price", "currency"],
        "properties": {
            "name": {"type": "string"},
            "brand": {"type": "string"},
            "image": {"type": "string"},
            "price": {"type": "number", "x-path": "offers.price"},
            "currency": {"type": "string", "x-path": "offers.priceCurrency"},
            "in_stock": {"type": "boolean", "x-path": "offers.availability", "x-map": {"InStock": true, "OutOfStock": false}},
            "seller": {"type": "string", "x-path": "offers.seller"},
            "rating": {"type": "number", "x-path": "aggregateRating.ratingValue"},
            "reviews": {"type": "integer", "x-path": "aggregateRating.reviewCount"},
            "valid_until": {"type": "string", "x-path": "offers.priceValidUntil"}
        }
    });
    let items = extract(&runtime, &plugin, &page, schema, json!({})).await;
    assert_eq!(
        items,
        [(
            json!({
                "name": "Executive Anvil",
                "brand": "ACME",
                "image": "http://example.com/extruct-samples/schema.org/anvil_executive.jpg",
                "price": 119.99,
                "currency": "USD",
                "in_stock": true,
                "seller": "Executive Objects",
                "rating": 4.4,
                "reviews": 89,
                "valid_until": "2020-11-05"
            }),
            Some(1.0)
        )]
    );
}

#[tokio::test]
async fn an_article_headline_from_json_ld_with_comments() {
    let (runtime, plugin) = plugin().await;
    let page = page("custom.invalid/JSONLD_with_JS_comment.html");
    let schema = json!({
        "x-type": ["Article", "NewsArticle", "BlogPosting"],
        "required": ["headline", "author"],
        "properties": {
            "headline": {"type": "string"},
            "section": {"type": "string", "x-path": "articleSection"},
            "url": {"type": "string"},
            "author": {"type": "string"}
        }
    });
    let items = extract(&runtime, &plugin, &page, schema, json!({})).await;
    assert_eq!(
        items,
        [(
            json!({
                "headline": "讓AI挑出感興趣 SparkAmplify精準行銷當紅",
                "section": "商情",
                "url": "https://money.udn.com/money/story/5635/4158094"
            }),
            Some(0.5)
        )]
    );
}

#[tokio::test]
async fn books_from_both_syntaxes_on_one_page() {
    let (runtime, plugin) = plugin().await;
    let page = page("schema.org/CreativeWork.001.html");
    let schema = json!({
        "x-type": "Book",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "pages": {"type": "integer", "x-path": "numberOfPages"},
            "price": {"type": "number", "x-path": "offers.price"},
            "rating": {"type": "number", "x-path": "aggregateRating.ratingValue"},
            "reviewers": {"type": "array", "items": {"type": "string"}, "x-path": "review.author"},
            "language": {"type": "string", "x-path": "inLanguage"}
        }
    });
    let items: Vec<Value> = extract(&runtime, &plugin, &page, schema, json!({}))
        .await
        .into_iter()
        .map(|(item, _)| item)
        .collect();
    assert_eq!(
        items,
        [
            json!({"name": "The Catcher in the Rye", "pages": 224, "price": 6.99, "rating": 4,
                   "reviewers": ["John Doe", "Bob Smith"], "language": "English"}),
            json!({"name": "Rouge et le noir", "language": "fr"}),
            json!({"name": "Red and Black : A New Translation, Backgrounds and Sources, Criticism", "language": "en"}),
        ]
    );
}

#[tokio::test]
async fn offers_of_a_real_shop_page() {
    let (runtime, plugin) = plugin().await;
    let page = page("websites/microdata-with-description.html");
    let schema = json!({
        "x-type": "Product",
        "properties": {
            "name": {"type": "string"},
            "low": {"type": "number", "x-path": "offers.lowPrice"},
            "high": {"type": "number", "x-path": "offers.highPrice"},
            "prices": {"type": "array", "items": {"type": "number"}, "x-path": "offers.price"},
            "skus": {"type": "array", "items": {"type": "string"}, "x-path": "offers.sku"}
        }
    });
    let items = extract(&runtime, &plugin, &page, schema, json!({})).await;
    assert_eq!(
        items,
        [(
            json!({
                "name": "Johnsons 4 Fleas Cats & Kittens Tablets",
                "low": 5.29,
                "high": 9.56,
                "prices": [9.56, 5.29],
                "skus": ["CS20858_1", "CS20858_2"]
            }),
            Some(1.0)
        )]
    );
}

#[tokio::test]
async fn every_concert_of_a_long_listing() {
    let (runtime, plugin) = plugin().await;
    let page = page("songkick/Maxïmo Park Gigography, Tour History & Past Concerts.html");
    let expected = page.expected.clone().expect("expected JSON-LD");
    let schema = json!({
        "x-type": "MusicEvent",
        "required": ["name", "start", "city"],
        "properties": {
            "name": {"type": "string"},
            "start": {"type": "string", "x-path": "startDate"},
            "city": {"type": "string", "x-path": "location.address.addressLocality"},
            "performers": {"type": "array", "items": {"type": "string"}, "x-path": "performer.name"}
        }
    });
    let items = extract(&runtime, &plugin, &page, schema, json!({})).await;
    assert_eq!(items.len(), expected.len());
    for ((item, confidence), want) in items.iter().zip(&expected) {
        assert_eq!(item["name"], want["name"]);
        assert_eq!(item["start"], want["startDate"]);
        assert_eq!(item["city"], want["location"]["address"]["addressLocality"]);
        assert_eq!(*confidence, Some(1.0), "{item}");
    }
    assert_eq!(items[0].0["performers"][1], "Hot Chip");
}
