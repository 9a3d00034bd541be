//! Extraction quality on the annotated corpora (`tests/corpora/product-pages` and
//! `article-pages`, or any folder of the same layout): loading the pages and their ground
//! truth, and scoring what an extractor gave as the corpus README describes, so the tests'
//! floors and the bench's tables count the same way.
//!
//! - **Products**: per attribute and page, the extractor's one value is a true positive
//!   when it is among the page's accepted values (prices compared as decimals), a false
//!   positive when present but not accepted (a page with no annotation accepts nothing),
//!   and a false negative when missing where the page has one; precision, recall and F1
//!   are summed over all pages.
//! - **Articles**: the extracted and annotated bodies are split into words (runs of
//!   letters, digits and `_`), every four consecutive words are a shingle; per page the
//!   shingles in both are true positives, those only extracted false positives, those only
//!   annotated false negatives (with multiplicity), each divided by the page's total so
//!   that long articles do not weigh more; the sums over pages give P, R and F1.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

/// One annotated page.
#[derive(Debug, Clone)]
pub struct AnnotatedPage {
    /// Its key in the ground truth (the file's name without `.html.gz`).
    pub key: String,
    /// The page's URL.
    pub url: String,
    /// The HTML, decoded (UTF-8, invalid bytes replaced).
    pub html: String,
    /// Its ground truth: attribute → accepted values (products), or `articleBody`,
    /// `headline`… (articles).
    pub truth: serde_json::Map<String, Value>,
}

/// The corpora in the repository: `tests/corpora/<name>`.
pub fn corpus_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join(name)
}

/// Every page of a corpus folder (`ground-truth.json` and `html/<key>.html.gz`), by key.
pub fn load(dir: &Path) -> anyhow::Result<Vec<AnnotatedPage>> {
    let truth_path = dir.join("ground-truth.json");
    let truth: serde_json::Map<String, Value> = serde_json::from_slice(
        &std::fs::read(&truth_path).with_context(|| format!("reading {}", truth_path.display()))?,
    )
    .with_context(|| format!("parsing {}", truth_path.display()))?;
    let mut pages = Vec::with_capacity(truth.len());
    for (key, value) in truth {
        let path = dir.join("html").join(format!("{key}.html.gz"));
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?,
        )
        .read_to_end(&mut bytes)
        .with_context(|| format!("gunzipping {}", path.display()))?;
        let Value::Object(truth) = value else {
            anyhow::bail!("{key}: the ground truth is not an object");
        };
        let url = truth
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("https://example.invalid/")
            .to_owned();
        pages.push(AnnotatedPage {
            key,
            url,
            html: String::from_utf8_lossy(&bytes).into_owned(),
            truth,
        });
    }
    pages.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(pages)
}

/// True positives, false positives and false negatives of one field (fractions, for the
/// articles' per-page normalisation).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        ratio(2.0 * p * r, p + r)
    }

    fn add(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// The item schema the product scores are taken with: the standard names, each in the
/// type the product extractor documents.
pub fn product_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "price": {"type": "number"},
            "currency": {"type": "string"},
            "sku": {"type": "string"},
            "gtin": {"type": "string"},
            "brand": {"type": "string"},
            "availability": {"type": "string"}
        }
    })
}

/// The item schema the article scores are taken with.
pub fn article_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "headline": {"type": "string"},
            "authors": {"type": "array", "items": {"type": "string"}},
            "date_published": {"type": "string"},
            "language": {"type": "string"},
            "body": {"type": "string"},
            "markdown": {"type": "string"}
        }
    })
}

/// The product attributes scored, in table order.
pub const PRODUCT_FIELDS: &[&str] = &["price", "sku", "availability", "currency", "gtin", "brand"];

/// Per-field counts over a set of pages, and the pages each field got wrong.
#[derive(Debug, Clone, Default)]
pub struct FieldScores {
    pub fields: Vec<(String, Counts)>,
    /// Field → (key, expected, got) of every page not a true positive.
    pub misses: HashMap<String, Vec<(String, String, String)>>,
}

impl FieldScores {
    /// The counts of `field`.
    pub fn get(&self, field: &str) -> Counts {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }
}

impl fmt::Display for FieldScores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| field | precision | recall | F1 | TP | FP | FN |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for (field, c) in &self.fields {
            writeln!(
                f,
                "| {field} | {:.3} | {:.3} | {:.3} | {} | {} | {} |",
                c.precision(),
                c.recall(),
                c.f1(),
                c.tp,
                c.fp,
                c.fn_
            )?;
        }
        Ok(())
    }
}

/// Score one item per page (none: the extractor found no product) against the products'
/// ground truth.
pub fn score_products(results: &[(&AnnotatedPage, Option<&Value>)]) -> FieldScores {
    let mut scores = FieldScores::default();
    for field in PRODUCT_FIELDS {
        let mut counts = Counts::default();
        for (page, item) in results {
            let accepted: Vec<String> = page
                .truth
                .get(*field)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(scalar_text).collect())
                .unwrap_or_default();
            let got = item.and_then(|i| i.get(*field)).and_then(scalar_text);
            let hit = match &got {
                Some(got) => accepted.iter().any(|a| same_value(field, a, got)),
                None => false,
            };
            match (&got, hit) {
                (Some(_), true) => counts.tp += 1.0,
                (Some(_), false) => counts.fp += 1.0,
                (None, _) if !accepted.is_empty() => counts.fn_ += 1.0,
                (None, _) => {}
            }
            if !hit && (got.is_some() || !accepted.is_empty()) {
                scores.misses.entry((*field).to_owned()).or_default().push((
                    page.key.clone(),
                    accepted.join(" | "),
                    got.unwrap_or_else(|| "—".into()),
                ));
            }
        }
        scores.fields.push(((*field).to_owned(), counts));
    }
    scores
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether an extracted value is an annotated one: prices as decimals (`"87.11"` is
/// `87.110`), currencies by ISO code (annotations sometimes give the symbol), the rest as
/// written.
fn same_value(field: &str, accepted: &str, got: &str) -> bool {
    match field {
        "price" => match (decimal(accepted), decimal(got)) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-6,
            _ => false,
        },
        "currency" => currency_code(accepted).eq_ignore_ascii_case(&currency_code(got)),
        _ => accepted == got,
    }
}

fn decimal(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok()
}

/// The ISO code of a currency annotated by its symbol.
fn currency_code(text: &str) -> String {
    match text.trim() {
        "€" => "EUR",
        "£" => "GBP",
        "$" | "US$" => "USD",
        "¥" => "JPY",
        "₹" => "INR",
        "zł" => "PLN",
        "₽" | "руб" | "руб." => "RUB",
        "R$" => "BRL",
        "kr" => "SEK",
        "₩" => "KRW",
        "₺" => "TRY",
        "CA$" | "C$" => "CAD",
        "A$" | "AU$" => "AUD",
        other => other,
    }
    .to_owned()
}

/// The words of a text as the article score counts them: runs of letters, digits and `_`.
pub fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// One page's shingle counts, normalised by their sum (none when neither side has a
/// shingle: the page says nothing).
pub fn shingle_counts(extracted: &str, annotated: &str) -> Option<Counts> {
    fn shingles(text: &str) -> HashMap<Vec<&str>, usize> {
        let words = words(text);
        let mut out = HashMap::new();
        for w in words.windows(4) {
            *out.entry(w.to_vec()).or_insert(0) += 1;
        }
        out
    }
    let got = shingles(extracted);
    let want = shingles(annotated);
    let mut tp = 0usize;
    let mut fp = 0usize;
    for (shingle, &n) in &got {
        let m = want.get(shingle).copied().unwrap_or(0);
        tp += n.min(m);
        fp += n.saturating_sub(m);
    }
    let fn_: usize = want
        .iter()
        .map(|(shingle, &m)| m.saturating_sub(got.get(shingle).copied().unwrap_or(0)))
        .sum();
    let total = (tp + fp + fn_) as f64;
    (total > 0.0).then(|| Counts {
        tp: tp as f64 / total,
        fp: fp as f64 / total,
        fn_: fn_ as f64 / total,
    })
}

/// The article scores over a set of pages.
#[derive(Debug, Clone, Default)]
pub struct ArticleScores {
    /// Body shingles, summed over the pages.
    pub body: Counts,
    /// Per page: key and F1, worst first.
    pub pages: Vec<(String, f64)>,
    /// Pages that annotate a headline, and how many the extractor matched exactly.
    pub headlines: (usize, usize),
}

impl fmt::Display for ArticleScores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| field | precision | recall | F1 | pages |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        writeln!(
            f,
            "| body (4-word shingles) | {:.3} | {:.3} | {:.3} | {} |",
            self.body.precision(),
            self.body.recall(),
            self.body.f1(),
            self.pages.len()
        )?;
        let (annotated, matched) = self.headlines;
        writeln!(f, "| headline (exact) | | | {} of {annotated} | |", matched)
    }
}

/// Score one item per page (none: no article found) against the articles' ground truth;
/// the item's body is read from `body_field`, its headline from `headline`.
pub fn score_articles(
    results: &[(&AnnotatedPage, Option<&Value>)],
    body_field: &str,
) -> ArticleScores {
    let mut scores = ArticleScores::default();
    for (page, item) in results {
        let annotated = page
            .truth
            .get("articleBody")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let extracted = item
            .and_then(|i| i.get(body_field))
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(counts) = shingle_counts(extracted, annotated) {
            scores.body.add(counts);
            scores.pages.push((page.key.clone(), counts.f1()));
        }
        if let Some(want) = page.truth.get("headline").and_then(Value::as_str) {
            scores.headlines.0 += 1;
            let got = item
                .and_then(|i| i.get("headline"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if got.trim() == want.trim() {
                scores.headlines.1 += 1;
            }
        }
    }
    scores
        .pages
        .sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(truth: Value) -> AnnotatedPage {
        AnnotatedPage {
            key: "k".into(),
            url: "https://shop.test/".into(),
            html: String::new(),
            truth: truth.as_object().expect("an object").clone(),
        }
    }

    /// A right value is a TP, a wrong one an FP only, a missing one an FN, and a value on
    /// a page that annotates none an FP; prices compare as decimals.
    #[test]
    fn product_values_count_as_the_corpus_describes() {
        let a = page(serde_json::json!({"price": ["87.11"], "sku": ["A1"]}));
        let b = page(serde_json::json!({"price": ["5"], "sku": ["B2"]}));
        let c = page(serde_json::json!({}));
        let items = [
            serde_json::json!({"price": 87.110, "sku": "A1"}),
            serde_json::json!({"price": "6", "currency": "EUR"}),
            serde_json::json!({"sku": "X"}),
        ];
        let scores = score_products(&[
            (&a, Some(&items[0])),
            (&b, Some(&items[1])),
            (&c, Some(&items[2])),
        ]);
        let price = scores.get("price");
        assert_eq!((price.tp, price.fp, price.fn_), (1.0, 1.0, 0.0));
        let sku = scores.get("sku");
        assert_eq!((sku.tp, sku.fp, sku.fn_), (1.0, 1.0, 1.0));
        assert!((sku.f1() - 0.5).abs() < 1e-9);
    }

    /// Shingles are four-word windows counted with multiplicity, normalised per page.
    #[test]
    fn article_shingles_are_normalised_per_page() {
        let c =
            shingle_counts("one two three four five", "one two three four six").expect("shingles");
        // extracted: [1234, 2345]; annotated: [1234, 2346]
        assert!((c.tp - 1.0 / 3.0).abs() < 1e-9);
        assert!((c.fp - 1.0 / 3.0).abs() < 1e-9);
        assert!((c.fn_ - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            words("l'été, c'est_ça 42!"),
            ["l", "été", "c", "est_ça", "42"]
        );
        assert!(shingle_counts("", "too short").is_none());
        let empty = shingle_counts("", "a b c d e").expect("annotated shingles");
        assert_eq!((empty.tp, empty.fp, empty.fn_), (0.0, 0.0, 1.0));
    }
}
