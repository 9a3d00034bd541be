//! DEV ONLY: the corpus natively (to be folded into tests/tests/structured_data.rs).

#[path = "support/dom.rs"]
mod dom;

use std::path::{Path, PathBuf};

use dom::ScraperDom;
use jsonld_extractor::JsonLdExtractor;
use serde_json::{Map, Value, json};
use trawl_sdk::{Options, Schema};

include!("support/corpus.rs");

#[test]
fn corpus() {
    let pages = corpus_pages();
    let mut right = 0;
    let mut total = 0;
    for page in &pages {
        let Some(expected) = &page.expected else {
            println!("skip   {} ({})", page.name, page.why);
            continue;
        };
        total += 1;
        let dom = ScraperDom::new(&page.url, &page.html);
        let extraction = JsonLdExtractor::extract_from(
            &dom,
            &Schema::new(json!({"type": "object"}).to_string()),
            &Options::new(json!({"sources": page.sources}).to_string()),
        )
        .expect("extraction");
        let ours: Vec<Value> = extraction
            .items
            .iter()
            .map(|item| serde_json::from_str(&item.json).expect("item JSON"))
            .collect();
        let verdict = compare(&ours, expected, &page.url);
        if verdict.is_right() {
            right += 1;
            println!("right  {}", page.name);
        } else {
            println!("WRONG  {}: {verdict:?}", page.name);
            if std::env::var("SHOW").is_ok() {
                println!(
                    "  ours: {}",
                    serde_json::to_string_pretty(&ours).unwrap_or_default()
                );
                println!(
                    "  expected: {}",
                    serde_json::to_string_pretty(expected).unwrap_or_default()
                );
            }
        }
    }
    println!("{right} of {total} pages right");
}
