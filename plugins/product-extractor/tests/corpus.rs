//! The product pages corpus: the whole extraction over every page, scored per field
//! against the annotated values, with floors a regression would break.
//!
//! `cargo test -p product-extractor --release --test corpus -- --nocapture` prints the
//! table; `PRODUCT_DEBUG=1` also lists each failing page with expected and found values;
//! `PRODUCT_KEY=<key prefix>` runs the pages whose key starts so and prints every field
//! found and the item (with `PRODUCT_PROBE=<text>`, the ancestors of the texts that
//! contain it; with `PRODUCT_PRICES=1`, the page-text price candidates and their scores);
//! `PRODUCT_SLOW=1` prints each page that was the slowest so far; `PRODUCT_TEXT_ONLY=1`
//! scores the page-text rules alone (option `structured_data: false`), without floors.

#[path = "../../support/dom.rs"]
mod dom;

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};
use trawl_sdk::Options;

use product_extractor::currency::{self, Locale};
use product_extractor::schema::Plan;

const FIELDS: &[&str] = &["price", "currency", "sku", "gtin", "brand", "availability"];

#[derive(Default, Clone, Copy)]
struct Score {
    tp: u32,
    fp: u32,
    fneg: u32,
}

impl Score {
    fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fneg).max(1))
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn same(field: &str, got: &str, want: &str, locale: &Locale) -> bool {
    match field {
        "price" => match (got.trim().parse::<f64>(), want.trim().parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() < 1e-6,
            _ => false,
        },
        "currency" => {
            let want = currency::normalize(want, locale).unwrap_or_else(|| want.trim().to_string());
            got == want
        }
        "brand" => got.trim().to_lowercase() == want.trim().to_lowercase(),
        _ => got.trim() == want.trim(),
    }
}

#[test]
fn product_pages_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora/product-pages");
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("ground-truth.json")).expect("ground truth"),
    )
    .expect("ground truth JSON");
    let truth = truth.as_object().expect("an object");
    // The page-text rules alone, as on pages without structured data (no floors).
    let text_only = std::env::var("PRODUCT_TEXT_ONLY").is_ok_and(|v| !v.is_empty() && v != "0");
    let plan = Plan::parse(
        &json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "price": {"type": "number"},
            "currency": {"type": "string"},
            "sku": {"type": "string"},
            "gtin": {"type": "string"},
            "brand": {"type": "string"},
            "availability": {"type": "string"}
        }}),
        &Options::new(if text_only {
            r#"{"structured_data": false}"#
        } else {
            "{}"
        }),
    )
    .expect("plan");
    let debug = std::env::var("PRODUCT_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut scores = vec![Score::default(); FIELDS.len()];
    let mut failures: Vec<Vec<String>> = vec![Vec::new(); FIELDS.len()];
    let started = std::time::Instant::now();
    let mut slowest = (0, std::time::Duration::ZERO);
    let only = std::env::var("PRODUCT_KEY").unwrap_or_default();
    for (key, annotation) in truth {
        if !key.starts_with(&only) {
            continue;
        }
        let url = annotation["url"].as_str().unwrap_or("");
        let mut bytes = Vec::new();
        let file = std::fs::File::open(root.join("html").join(format!("{key}.html.gz")))
            .expect("page file");
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .expect("gzip");
        let html = String::from_utf8_lossy(&bytes);
        let tree = dom::tree_of(&html, url);
        if !only.is_empty() {
            let (fields, locale) = product_extractor::find_fields(&tree, url, &plan);
            println!("{locale:?}\n{fields:#?}");
            if std::env::var("PRODUCT_PRICES").is_ok() {
                for line in product_extractor::text::explain_prices(&tree, &locale, None) {
                    println!("{line}");
                }
            }
            if let Ok(probe) = std::env::var("PRODUCT_PROBE") {
                for i in 0..tree.len() {
                    if tree.is_text(i) && tree.text(i).contains(probe.as_str()) {
                        println!(
                            "probe {i}: {:?}",
                            tree.text(i).trim().chars().take(80).collect::<String>()
                        );
                        for a in tree.ancestors(i) {
                            println!(
                                "    {} {:?}",
                                tree.tag(a),
                                tree.attributes(a)
                                    .iter()
                                    .map(|(k, v)| format!("{k}={v:.60}"))
                                    .collect::<Vec<_>>()
                            );
                        }
                    }
                }
            }
        }
        let t0 = std::time::Instant::now();
        let extraction =
            product_extractor::extract_tree(&tree, url, &plan, &dom::NoDom).expect("extraction");
        let took = t0.elapsed();
        if took > slowest.1 {
            slowest = (tree.len(), took);
            if std::env::var("PRODUCT_SLOW").is_ok() {
                println!("slow {key} {took:?}");
            }
        }
        if !only.is_empty()
            && let Some(first) = extraction.items.first()
        {
            println!("item {} confidence {:?}", first.json, first.confidence);
            for f in &first.fields {
                println!(
                    "  {} {:?} {:?} {:?}",
                    f.name, f.origin, f.confidence, f.detail
                );
            }
        }
        let item: Value = extraction
            .items
            .first()
            .map(|i| serde_json::from_str(&i.json).expect("item JSON"))
            .unwrap_or(Value::Null);
        let locale = Locale::new("", url);
        for (f, field) in FIELDS.iter().enumerate() {
            let got = item.get(*field).and_then(as_text);
            let wanted: Vec<String> = annotation
                .get(*field)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(as_text).collect())
                .unwrap_or_default();
            let ok = match (&got, wanted.is_empty()) {
                (Some(g), false) if wanted.iter().any(|w| same(field, g, w, &locale)) => {
                    scores[f].tp += 1;
                    true
                }
                (Some(_), _) => {
                    scores[f].fp += 1;
                    false
                }
                (None, false) => {
                    scores[f].fneg += 1;
                    false
                }
                (None, true) => true,
            };
            if !ok {
                failures[f].push(format!(
                    "  {key:.12} {url:.70}\n      want {wanted:?} got {got:?}"
                ));
            }
        }
    }
    println!(
        "\n{} pages in {:.1?} (slowest extraction {:.1?}, {} tree entries)\n{:<13} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6}",
        truth.len(),
        started.elapsed(),
        slowest.1,
        slowest.0,
        "field",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "F1"
    );
    for (f, field) in FIELDS.iter().enumerate() {
        let s = scores[f];
        println!(
            "{field:<13} {:>4} {:>4} {:>4} {:>9.3} {:>7.3} {:>6.3}",
            s.tp,
            s.fp,
            s.fneg,
            s.precision(),
            s.recall(),
            s.f1()
        );
    }
    if debug {
        for (f, field) in FIELDS.iter().enumerate() {
            println!("\n{field}: {} failing", failures[f].len());
            for line in &failures[f] {
                println!("{line}");
            }
        }
    }
    if !only.is_empty() || text_only {
        return;
    }
    let f1 = |name: &str| scores[FIELDS.iter().position(|f| *f == name).expect("a field")].f1();
    assert!(
        f1("price") >= 0.85,
        "price F1 {:.3} below 0.85",
        f1("price")
    );
    assert!(f1("sku") >= 0.80, "sku F1 {:.3} below 0.80", f1("sku"));
    assert!(
        f1("availability") >= 0.90,
        "availability F1 {:.3} below 0.90",
        f1("availability")
    );
}
