//! The page-text rules, for what structured data leaves out: the main product's title
//! (its `<h1>`), the price displayed in the block the title is in (sale versus list
//! price, unit prices left out), labelled codes (`SKU`, `Art.-Nr.`, `EAN`, `Brand`), and
//! availability wording and add-to-cart buttons.
//!
//! Everything is found in a few linear passes over the tree: flags (hidden, page chrome,
//! list-price marks, depth) are computed parents first, then candidates are gathered with
//! caps and ranked by how close they sit to the title: the depth of their lowest common
//! ancestor with it, which is cheap to climb and tells the product's own block from the
//! related products further away.

use std::sync::LazyLock;

use trawl_sdk::{Origin, Tree};

use crate::availability;
use crate::currency::Locale;
use crate::fields::{Fields, Found, Val};
use crate::price;
use crate::schema::Key;
use crate::util::{
    self, FastMap, FastSet, attr_words, bounded_text, collapse, gtin_checks, gtin_digits,
};

/// Candidates of each kind looked at, at most.
const MAX_CANDIDATES: usize = 400;
/// Price candidates looked at, at most: menus and rails before the product can hold
/// hundreds.
const MAX_PRICE_CANDIDATES: usize = 1500;

/// Per-entry flags, computed once.
struct Flags {
    /// Not shown: in `<head>`, a script, a hidden element, a form control's options.
    skip: Vec<bool>,
    /// Page chrome: navigation, footers, related-product rails, cookie banners; never
    /// the title's own ancestors.
    chrome: Vec<bool>,
    /// Marked as chrome itself (`<nav>`, `class="related-products"`), before inheritance.
    own_chrome: Vec<bool>,
    /// Marked as a former or list price (`<del>`, `<s>`, `class="old-price"`).
    list: Vec<bool>,
    /// Inside a variant picker (`class="swatches"`, `role="radiogroup"`): the prices and
    /// stock there are an option's, not the product's.
    variant: Vec<bool>,
    /// Depth in the tree.
    depth: Vec<u32>,
    /// The first element shown marked as a breadcrumb trail.
    breadcrumb: Option<usize>,
}

const SKIP_TAGS: &[&str] = &[
    "head", "script", "style", "noscript", "template", "svg", "select", "option", "textarea",
    "iframe", "title",
];
const HIDDEN_CLASSES: &[&str] = &[
    "hidden",
    "d-none",
    "hide",
    "is-hidden",
    "u-hidden",
    "display-none",
    "js-hidden",
    "invisible",
];
const CHROME_WORDS: &[&str] = &[
    "related",
    "recommend",
    "recommended",
    "recommendation",
    "recommendations",
    "similar",
    "carousel",
    "upsell",
    "upsells",
    "crosssell",
    "recently",
    "viewed",
    "footer",
    "nav",
    "navbar",
    "navigation",
    "menu",
    "megamenu",
    "breadcrumb",
    "breadcrumbs",
    "cookie",
    "cookies",
    "newsletter",
    "minicart",
    "drawer",
    "header",
    "banner",
    "sponsored",
    "suggestions",
    "accessories",
    "bundle",
    "reviews",
    "review",
    "sims",
    "ads",
    "modal",
    "popup",
    "dialog",
    "lightbox",
];
const PICKER_WORDS: &[&str] = &[
    "swatch",
    "swatches",
    "variant",
    "variants",
    "variation",
    "variations",
    "picker",
];
const PRODUCT_WORDS: &[&str] = &[
    "product", "pdp", "item", "detail", "details", "buybox", "main",
];
const LIST_WORDS: &[&str] = &[
    "old",
    "was",
    "regular",
    "strike",
    "strikethrough",
    "striked",
    "crossed",
    "crossout",
    "through",
    "listprice",
    "before",
    "original",
    "rrp",
    "uvp",
    "msrp",
    "previous",
    "oldprice",
    "wasprice",
    "regularprice",
    "nonsale",
    "retail",
    "streichpreis",
    "ancien",
    "barre",
    "initial",
    "reference",
    "compare",
];

fn words_of(tree: &Tree, i: usize) -> Vec<String> {
    let mut words = Vec::new();
    for name in WORD_ATTRS {
        if let Some(v) = tree.attr(i, name) {
            words.extend(attr_words(v));
        }
    }
    words
}

/// The attributes whose words say what an element is.
const WORD_ATTRS: &[&str] = &[
    "class",
    "id",
    "itemprop",
    "data-testid",
    "data-test",
    "data-qa",
    "data-automation-id",
];

/// Whether one of the element's attribute words passes `test`.
fn any_word(tree: &Tree, i: usize, test: impl Fn(&str) -> bool) -> bool {
    tree.attributes(i).iter().any(|(name, value)| {
        WORD_ATTRS.iter().any(|a| name.eq_ignore_ascii_case(a)) && util::words(value).any(&test)
    })
}

fn in_list(list: &[&str], word: &str) -> bool {
    list.iter().any(|l| l.eq_ignore_ascii_case(word))
}

/// Whether a class looks generated (`adFHlH`, `mROyo1`, `_0xLoFW`): its "words" are
/// noise, not names.
fn looks_hashed(token: &str) -> bool {
    let token = token.trim_matches('_');
    if token.contains(['-', '_']) {
        return false;
    }
    let upper = token.bytes().filter(u8::is_ascii_uppercase).count();
    let lower = token.bytes().filter(u8::is_ascii_lowercase).count();
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    let run = token
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase());
    upper > 0 && lower > 0 && (digits > 0 || run)
}

/// What the edge words of an element's classes and ids say, as bits: for chrome,
/// product, picker and breadcrumb words BEM modifiers are left out (`bare`), for list and
/// sale words they count (`full`). `list-price` (the words `list` then `price`) is a list
/// price too.
fn edge_bits(tree: &Tree, i: usize) -> (u8, u8) {
    let (mut bare, mut full) = (0u8, 0u8);
    for (name, value) in tree.attributes(i) {
        if !WORD_ATTRS.iter().any(|a| name.eq_ignore_ascii_case(a)) {
            continue;
        }
        for token in value.split_ascii_whitespace().take(12) {
            if looks_hashed(token) {
                continue;
            }
            let stem = token.split("--").next().unwrap_or(token);
            let token_bits = |t: &str| {
                let mut first = None;
                let mut last = None;
                let mut count = 0;
                let mut prev_list = false;
                let mut list_price = false;
                for w in util::words(t) {
                    if w.len() < 2 || w.bytes().all(|b| b.is_ascii_digit()) {
                        continue;
                    }
                    list_price |= prev_list && w.eq_ignore_ascii_case("price");
                    prev_list = w.eq_ignore_ascii_case("list");
                    count += 1;
                    first.get_or_insert(w);
                    last = Some(w);
                }
                let mut bits = if count <= 4 {
                    first.map_or(0, word_bits) | last.map_or(0, word_bits)
                } else {
                    0
                };
                if list_price {
                    bits |= LIST;
                }
                bits
            };
            let all = token_bits(token);
            full |= all;
            bare |= if stem.len() == token.len() {
                all
            } else {
                token_bits(stem)
            };
        }
    }
    (bare, full)
}

const CHROME: u8 = 1;
const PRODUCT: u8 = 2;
const PICKER: u8 = 4;
const LIST: u8 = 8;
const SALE: u8 = 16;
const BREADCRUMB: u8 = 32;

/// Each listed word, lower-case, and the kinds it says.
static WORD_KINDS: LazyLock<FastMap<&'static str, u8>> = LazyLock::new(|| {
    let mut map: FastMap<&'static str, u8> = FastMap::default();
    for (list, bit) in [
        (CHROME_WORDS, CHROME),
        (PRODUCT_WORDS, PRODUCT),
        (PICKER_WORDS, PICKER),
        (LIST_WORDS, LIST),
        (&["sale", "special"][..], SALE),
        (&["breadcrumb", "breadcrumbs"][..], BREADCRUMB),
    ] {
        for w in list {
            *map.entry(w).or_insert(0) |= bit;
        }
    }
    map
});

/// The kinds one word says (compared ignoring ASCII case, with no allocation for the
/// short words class names are made of).
fn word_bits(word: &str) -> u8 {
    let mut buf = [0u8; 32];
    let Some(slot) = buf.get_mut(..word.len()) else {
        return 0;
    };
    slot.copy_from_slice(word.as_bytes());
    slot.make_ascii_lowercase();
    std::str::from_utf8(slot)
        .ok()
        .and_then(|w| WORD_KINDS.get(w))
        .copied()
        .unwrap_or(0)
}

/// Whether an inline style hides the element (`display: none`, `visibility: hidden`;
/// not `backface-visibility: hidden`).
fn hidden_style(style: &str) -> bool {
    style.split(';').any(|declaration| {
        let Some((name, value)) = declaration.split_once(':') else {
            return false;
        };
        let (name, value) = (name.trim(), value.trim());
        (name.eq_ignore_ascii_case("display") && value.eq_ignore_ascii_case("none"))
            || (name.eq_ignore_ascii_case("visibility") && value.eq_ignore_ascii_case("hidden"))
    })
}

impl Flags {
    fn new(tree: &Tree) -> Self {
        let n = tree.len();
        let mut flags = Flags {
            skip: vec![false; n],
            chrome: vec![false; n],
            own_chrome: vec![false; n],
            list: vec![false; n],
            variant: vec![false; n],
            breadcrumb: None,
            depth: vec![0; n],
        };
        for i in 1..n {
            let p = tree.parent(i).unwrap_or(0);
            flags.depth[i] = flags.depth[p] + 1;
            flags.skip[i] = flags.skip[p];
            flags.list[i] = flags.list[p];
            flags.variant[i] = flags.variant[p];
            if !tree.is_element(i) || flags.skip[i] {
                continue;
            }
            let tag = tree.tag(i);
            let hidden = SKIP_TAGS.contains(&tag)
                || tree.attr(i, "hidden").is_some()
                || tree.attr(i, "style").is_some_and(hidden_style)
                || tree.attr(i, "class").is_some_and(|c| {
                    c.split_ascii_whitespace()
                        .any(|c| HIDDEN_CLASSES.iter().any(|h| c.eq_ignore_ascii_case(h)))
                });
            if hidden {
                flags.skip[i] = true;
                continue;
            }
            if matches!(tag, "del" | "s" | "strike") {
                flags.list[i] = true;
            }
            if matches!(tag, "html" | "body" | "main") {
                continue;
            }
            let (bare, full) = edge_bits(tree, i);
            if flags.breadcrumb.is_none()
                && (bare & BREADCRUMB != 0
                    || tree
                        .attr(i, "aria-label")
                        .is_some_and(|l| util::contains_ci(l, "breadcrumb")))
            {
                flags.breadcrumb = Some(i);
            }
            flags.own_chrome[i] = matches!(tag, "nav" | "footer" | "aside")
                || (bare & CHROME != 0 && bare & PRODUCT == 0);
            if !flags.variant[i]
                && (bare & PICKER != 0
                    || tree
                        .attr(i, "role")
                        .is_some_and(|r| r == "radiogroup" || r == "listbox"))
            {
                flags.variant[i] = true;
            }
            if !flags.list[i] && full & LIST != 0 && full & SALE == 0 {
                flags.list[i] = true;
            }
        }
        flags.propagate_chrome(tree, None);
        flags
    }

    /// Chrome is inherited, except by the title and its ancestors: a product block whose
    /// class happens to say `withoutSidebar` is still the product's.
    fn propagate_chrome(&mut self, tree: &Tree, anchor: Option<usize>) {
        let n = tree.len();
        let mut protected = vec![false; n];
        if let Some(a) = anchor {
            for x in std::iter::once(a).chain(tree.ancestors(a)) {
                protected[x] = true;
            }
        }
        for (i, &kept) in protected.iter().enumerate().skip(1) {
            let p = tree.parent(i).unwrap_or(0);
            self.chrome[i] = !kept && (self.chrome[p] || self.own_chrome[i]);
        }
    }

    /// The depth of the lowest common ancestor of two entries.
    fn lca_depth(&self, tree: &Tree, a: usize, b: usize) -> u32 {
        let (mut a, mut b) = (a, b);
        let depth = |i: usize| self.depth.get(i).copied().unwrap_or(0);
        while depth(a) > depth(b) {
            a = tree.parent(a).unwrap_or(0);
        }
        while depth(b) > depth(a) {
            b = tree.parent(b).unwrap_or(0);
        }
        while a != b {
            a = tree.parent(a).unwrap_or(0);
            b = tree.parent(b).unwrap_or(0);
        }
        depth(a)
    }

    fn shown(&self, i: usize) -> bool {
        !self.skip[i] && !self.chrome[i]
    }
}

/// How an entry sits to the title: the depth of their common ancestor, and how far it is
/// in entries (negative before it).
struct Place {
    lca: u32,
    distance: i64,
}

struct Text<'t> {
    tree: &'t Tree,
    flags: Flags,
    anchor: Option<usize>,
}

impl Text<'_> {
    fn place(&self, i: usize) -> Place {
        match self.anchor {
            None => Place {
                lca: 0,
                distance: i as i64,
            },
            Some(a) => Place {
                lca: self.flags.lca_depth(self.tree, a, i),
                distance: i as i64 - a as i64,
            },
        }
    }

    /// A closeness score: each level of common ancestry counts, distance a little.
    fn closeness(&self, i: usize) -> f32 {
        let p = self.place(i);
        let far = (p.distance.unsigned_abs() as f32 / 150.0).min(6.0);
        let before = if p.distance < 0 { 1.5 } else { 0.0 };
        p.lca as f32 * 4.0 - far - before
    }

    /// Whether an entry is in the title's block: its common ancestor with the title is
    /// no more than `levels` above the title's parent.
    fn near(&self, i: usize, levels: u32) -> bool {
        match self.anchor {
            None => true,
            Some(a) => self.flags.lca_depth(self.tree, a, i) + levels >= self.flags.depth[a],
        }
    }
}

/// Put what the page's text says in `fields`. `name_hint` is the name structured data
/// gave, which tells the product's title from other headings.
pub fn fill(tree: &Tree, locale: &Locale, title: Option<&str>, fields: &mut Fields) {
    let flags = Flags::new(tree);
    let mut text = Text {
        tree,
        flags,
        anchor: None,
    };
    title_rule(&mut text, title, fields);
    text.flags.propagate_chrome(tree, text.anchor);
    price_rule(&text, locale, fields);
    label_rule(&text, fields);
    availability_rule(&text, fields);
    breadcrumb_rule(&text, fields);
}

fn title_rule(t: &mut Text<'_>, head_title: Option<&str>, fields: &mut Fields) {
    let tree = t.tree;
    let known = fields
        .text(Key::Name)
        .map(|n| collapse(n).to_lowercase())
        .or_else(|| head_title.map(|n| n.to_lowercase()));
    let mut best: Option<(f32, usize, String)> = None;
    let mut seen = 0;
    for i in 1..tree.len() {
        let tag = tree.tag(i);
        if tag.is_empty() || t.flags.skip[i] {
            continue;
        }
        let heading = matches!(tag, "h1" | "h2");
        // Shops that keep the logo in the `<h1>` mark the product's title otherwise.
        let marked = !heading
            && !matches!(tag, "a" | "button" | "meta" | "img" | "input" | "label")
            && (tree.attr(i, "itemprop") == Some("name")
                || (tree
                    .attributes(i)
                    .iter()
                    .any(|(_, v)| util::contains_ci(v, "product"))
                    && any_word(tree, i, |w| w.eq_ignore_ascii_case("product"))
                    && any_word(tree, i, |w| {
                        w.eq_ignore_ascii_case("title") || w.eq_ignore_ascii_case("name")
                    })));
        if !heading && !marked {
            continue;
        }
        seen += 1;
        if seen > 300 {
            break;
        }
        let Some(text) = bounded_text(tree, i, 400, 200) else {
            continue;
        };
        let len = text.chars().count();
        if !(2..=300).contains(&len) {
            continue;
        }
        let lower = text.to_lowercase();
        let mut score = match tag {
            "h1" => 3.0,
            "h2" => 0.0,
            _ => 2.5,
        };
        // The same name as the page's data (a short heading inside a long title is not).
        if let Some(k) = &known
            && ((lower.len() >= k.len().min(12) && k.contains(&lower))
                || lower.contains(k.as_str()))
        {
            score += 4.0;
        }
        let words = words_of(tree, i);
        if words
            .iter()
            .any(|w| matches!(w.as_str(), "title" | "name" | "product"))
        {
            score += 1.0;
        }
        if t.flags.chrome[i] {
            score -= 2.0;
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, i, text));
        }
    }
    let Some((score, i, text)) = best else {
        return;
    };
    if score < 3.0 {
        // An `<h2>` that matches nothing is no title, nor an anchor.
        return;
    }
    t.anchor = Some(i);
    let c = if score >= 7.0 { 0.8 } else { 0.7 };
    fields.offer(
        Key::Name,
        Found::new(
            Val::Text(text),
            c,
            Origin::PageText,
            format!("the {}", tree.tag(i)),
        ),
    );
}

/// Words that make a price something else: instalments, shipping, savings.
const NOT_PRICE_WORDS: &[&str] = &[
    "month",
    "months",
    "monat",
    "monatlich",
    "mois",
    "mes",
    "meses",
    "cuota",
    "cuotas",
    "parcela",
    "parcelas",
    "installment",
    "installments",
    "instalment",
    "instalments",
    "rate",
    "raten",
    "shipping",
    "versand",
    "livraison",
    "delivery",
    "envío",
    "envio",
    "frete",
    "spedizione",
    "save",
    "sparen",
    "sie sparen",
    "économisez",
    "ahorra",
    "ahorras",
    "risparmi",
    "off",
    "economize",
    "bonus",
    "points",
    "punkte",
];
const LIST_TEXT: &[&str] = &[
    "was",
    "statt",
    "uvp",
    "rrp",
    "list price",
    "regular price",
    "before",
    "antes",
    "prix de référence",
    "ancien prix",
    "prezzo di listino",
    "vorher",
    "originally",
    "msrp",
    "retail price",
    "typical price",
    "preço de",
    "normalpreis",
];
const SALE_WORDS: &[&str] = &[
    "sale", "special", "current", "final", "now", "offer", "actual", "promo", "deal", "reduced",
    "selling", "our", "main", "product", "buybox",
];

struct PriceCandidate {
    i: usize,
    amount: price::Amount,
    currency: Option<&'static str>,
    list: bool,
    score: f32,
    attr: bool,
}

fn has_word(lower: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(at) = lower[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before = lower[..start].chars().next_back();
        let after = lower[end..].chars().next();
        if !before.is_some_and(char::is_alphabetic) && !after.is_some_and(char::is_alphabetic) {
            return true;
        }
        from = end;
    }
    false
}

/// The price candidates of a page, each with its score, for people tuning the rules.
#[doc(hidden)]
pub fn explain_prices(tree: &Tree, locale: &Locale, title: Option<&str>) -> Vec<String> {
    let mut text = Text {
        tree,
        flags: Flags::new(tree),
        anchor: None,
    };
    title_rule(&mut text, title, &mut Fields::default());
    text.flags.propagate_chrome(tree, text.anchor);
    let mut out = vec![format!(
        "anchor {:?} {:?}",
        text.anchor,
        text.anchor.and_then(|a| bounded_text(tree, a, 80, 200))
    )];
    for c in price_candidates(&text, locale) {
        out.push(format!(
            "{:>7.2} {} {:?} {:?} list={} attr={} {:?}",
            c.score,
            c.i,
            c.amount.text,
            c.currency,
            c.list,
            c.attr,
            bounded_text(tree, c.i, 80, 40)
        ));
    }
    out
}

fn price_rule(t: &Text<'_>, locale: &Locale, fields: &mut Fields) {
    let candidates = price_candidates(t, locale);
    choose_price(t, &candidates, fields);
}

fn price_candidates(t: &Text<'_>, locale: &Locale) -> Vec<PriceCandidate> {
    let tree = t.tree;
    let flags = &t.flags;
    let mut looked: FastSet<usize> = FastSet::default();
    let mut candidates: Vec<PriceCandidate> = Vec::new();
    for i in 1..tree.len() {
        if candidates.len() >= MAX_PRICE_CANDIDATES {
            break;
        }
        if !flags.shown(i) {
            continue;
        }
        let (element, attr) = if tree.is_element(i) {
            // A cheap look first: most elements say nothing of prices.
            let maybe = tree.attributes(i).iter().any(|(name, value)| {
                WORD_ATTRS.iter().any(|a| name.eq_ignore_ascii_case(a))
                    && ["pri", "pre", "cena", "fiyat"]
                        .iter()
                        .any(|p| util::contains_ci(value, p))
            });
            let attr = maybe
                && any_word(tree, i, |w| {
                    ["price", "preis", "prix", "precio", "prezzo", "preco"]
                        .iter()
                        .any(|p| util::contains_ci(w, p))
                        || w.eq_ignore_ascii_case("cena")
                        || w.eq_ignore_ascii_case("fiyat")
                })
                && !any_word(tree, i, |w| {
                    in_list(
                        &[
                            "unit",
                            "base",
                            "baseprice",
                            "grundpreis",
                            "range",
                            "filter",
                            "shipping",
                            "label",
                            "per",
                        ],
                        w,
                    )
                });
            if !attr {
                continue;
            }
            (i, true)
        } else {
            let txt = tree.text(i);
            if !txt.bytes().any(|b| b.is_ascii_digit()) || txt.len() > 200 {
                continue;
            }
            // The number's element, or the nearest small ancestor that has its currency
            // too (`<span>294</span><span>元</span>`).
            let Some(mut p) = tree.parent(i) else {
                continue;
            };
            for _ in 0..2 {
                let has_currency = bounded_text(tree, p, 80, 12)
                    .is_some_and(|t| !crate::currency::mentions(&t, locale).is_empty());
                match tree.parent(p) {
                    Some(up) if !has_currency && up != 0 && tree.descendants(up).len() <= 16 => {
                        p = up
                    }
                    _ => break,
                }
            }
            (p, false)
        };
        if !looked.insert(element) || flags.variant[element] {
            continue;
        }
        let max_entries = if attr { 40 } else { 12 };
        let Some(text) = candidate_text(tree, flags, element, max_entries) else {
            continue;
        };
        if text.chars().count() > if attr { 120 } else { 60 } {
            continue;
        }
        // A number with its currency first, even in an element marked as a price.
        let found = price::find_price(&text, locale, true).or_else(|| {
            attr.then(|| price::find_price(&text, locale, false))
                .flatten()
        });
        let Some(p) = found else {
            continue;
        };
        if p.per_unit || p.amount.value <= 0.0 {
            continue;
        }
        let lower = text.to_lowercase();
        if NOT_PRICE_WORDS.iter().any(|w| has_word(&lower, w)) || lower.contains('%') {
            continue;
        }
        let itemprop = tree
            .attr(element, "itemprop")
            .is_some_and(|v| v.contains("price"));
        let list_words = LIST_TEXT.iter().any(|w| has_word(&lower, w));
        let list = flags.list[element] || list_words;
        // `Was £59.99 Now £49.99` in one element: the lower is the price, the higher the
        // list price.
        let mut p = p;
        let mut also_list = None;
        if list_words && !flags.list[element] {
            let all = price::find_prices(&text, locale, true, 4);
            let low = all
                .iter()
                .filter(|q| !q.per_unit)
                .min_by(|a, b| a.amount.value.total_cmp(&b.amount.value));
            let high = all
                .iter()
                .filter(|q| !q.per_unit)
                .max_by(|a, b| a.amount.value.total_cmp(&b.amount.value));
            if let (Some(low), Some(high)) = (low, high)
                && high.amount.value > low.amount.value
            {
                also_list = Some(high.clone());
                p = low.clone();
            }
        }
        let list = list && also_list.is_none();
        let words = words_of(tree, element);
        let sale = words.iter().any(|w| SALE_WORDS.contains(&w.as_str()));
        let mut score = t.closeness(element);
        score += if attr { 5.0 } else { 0.0 };
        score += if itemprop { 3.0 } else { 0.0 };
        score += if p.currency.is_some() { 3.0 } else { 0.0 };
        score += if sale { 2.0 } else { 0.0 };
        if let Some(high) = also_list {
            candidates.push(PriceCandidate {
                i: element,
                amount: high.amount,
                currency: high.currency,
                list: true,
                score,
                attr,
            });
        }
        candidates.push(PriceCandidate {
            i: element,
            amount: p.amount,
            currency: p.currency,
            list,
            score,
            attr,
        });
    }
    candidates
}

fn choose_price(t: &Text<'_>, candidates: &[PriceCandidate], fields: &mut Fields) {
    let best = |list: bool| {
        candidates
            .iter()
            .filter(|c| c.list == list)
            .fold(None::<&PriceCandidate>, |best, c| match best {
                Some(b) if b.score >= c.score => Some(b),
                _ => Some(c),
            })
    };
    let (sale, list) = (best(false), best(true));
    let chosen = match (sale, list) {
        (Some(s), Some(l)) if l.score > s.score + 8.0 => l,
        (Some(s), _) => s,
        (None, Some(l)) => l,
        (None, None) => return,
    };
    let near = t.near(chosen.i, 4);
    let mut c: f32 = 0.5;
    if chosen.attr {
        c += 0.1;
    }
    if chosen.currency.is_some() {
        c += 0.1;
    }
    if near && t.anchor.is_some() {
        c += 0.1;
    }
    if !near {
        c -= 0.15;
    }
    let detail = if t.anchor.is_some() {
        "the price beside the title"
    } else {
        "a price on the page"
    };
    fields.offer(
        Key::Price,
        Found::new(
            Val::Amount(chosen.amount.clone()),
            c,
            Origin::PageText,
            detail,
        ),
    );
    if let Some(code) = chosen.currency {
        fields.offer(
            Key::Currency,
            Found::new(Val::Text(code.into()), c, Origin::PageText, detail),
        );
    }
    if let Some(l) = list
        && !std::ptr::eq(l, chosen)
        && l.amount.value > chosen.amount.value
        && t.near(l.i, 4)
    {
        fields.offer(
            Key::ListPrice,
            Found::new(
                Val::Amount(l.amount.clone()),
                c - 0.1,
                Origin::PageText,
                "a struck-through price beside the title",
            ),
        );
    }
}

/// An element's text for price reading: list-price parts left out unless the element is
/// itself one.
fn candidate_text(tree: &Tree, flags: &Flags, i: usize, max_entries: usize) -> Option<String> {
    if flags.list[i] {
        return bounded_text(tree, i, 200, max_entries);
    }
    util::bounded_text_of(tree, i, 200, max_entries, |d| {
        !(flags.list[d] || flags.skip[d])
    })
}

/// Labels, lower-case, the field they name and how much they say.
const LABELS: &[(&str, Key, f32)] = &[
    ("sku", Key::Sku, 0.7),
    ("sku no", Key::Sku, 0.7),
    ("sku number", Key::Sku, 0.7),
    ("item #", Key::Sku, 0.7),
    ("item#", Key::Sku, 0.7),
    ("item no", Key::Sku, 0.7),
    ("item number", Key::Sku, 0.7),
    ("item code", Key::Sku, 0.7),
    ("item id", Key::Sku, 0.65),
    ("article number", Key::Sku, 0.7),
    ("article no", Key::Sku, 0.7),
    ("art. no", Key::Sku, 0.7),
    ("art.no", Key::Sku, 0.7),
    ("art.-nr", Key::Sku, 0.7),
    ("art-nr", Key::Sku, 0.7),
    ("art.nr", Key::Sku, 0.7),
    ("art. nr", Key::Sku, 0.7),
    ("art nr", Key::Sku, 0.7),
    ("artnr", Key::Sku, 0.7),
    ("artikelnummer", Key::Sku, 0.7),
    ("artikel-nr", Key::Sku, 0.7),
    ("artikelnr", Key::Sku, 0.7),
    ("artikel nr", Key::Sku, 0.7),
    ("bestellnummer", Key::Sku, 0.7),
    ("bestell-nr", Key::Sku, 0.7),
    ("best.-nr", Key::Sku, 0.7),
    ("best.nr", Key::Sku, 0.7),
    ("réf", Key::Sku, 0.65),
    ("ref", Key::Sku, 0.6),
    ("référence", Key::Sku, 0.65),
    ("reference", Key::Sku, 0.6),
    ("referencia", Key::Sku, 0.65),
    ("referência", Key::Sku, 0.65),
    ("riferimento", Key::Sku, 0.65),
    ("código", Key::Sku, 0.6),
    ("codigo", Key::Sku, 0.6),
    ("código do produto", Key::Sku, 0.7),
    ("código de producto", Key::Sku, 0.7),
    ("código del producto", Key::Sku, 0.7),
    ("cod", Key::Sku, 0.55),
    ("cod. articolo", Key::Sku, 0.7),
    ("codice", Key::Sku, 0.6),
    ("codice articolo", Key::Sku, 0.7),
    ("codice prodotto", Key::Sku, 0.7),
    ("product code", Key::Sku, 0.7),
    ("product id", Key::Sku, 0.65),
    ("product no", Key::Sku, 0.7),
    ("product number", Key::Sku, 0.7),
    ("productnummer", Key::Sku, 0.7),
    ("artikelnummer", Key::Sku, 0.7),
    ("asin", Key::Sku, 0.7),
    ("catalog number", Key::Sku, 0.65),
    ("cat. no", Key::Sku, 0.6),
    ("kod produktu", Key::Sku, 0.7),
    ("kod", Key::Sku, 0.55),
    ("numer katalogowy", Key::Sku, 0.65),
    ("katalogové číslo", Key::Sku, 0.65),
    ("kód produktu", Key::Sku, 0.7),
    ("kód", Key::Sku, 0.55),
    ("cikkszám", Key::Sku, 0.7),
    ("varenummer", Key::Sku, 0.7),
    ("varenr", Key::Sku, 0.7),
    ("varunummer", Key::Sku, 0.7),
    ("tuotenumero", Key::Sku, 0.7),
    ("produktnummer", Key::Sku, 0.7),
    ("ürün kodu", Key::Sku, 0.7),
    ("stock code", Key::Sku, 0.65),
    ("part number", Key::Sku, 0.55),
    ("part no", Key::Sku, 0.55),
    ("listing id", Key::Sku, 0.55),
    ("post id", Key::Sku, 0.5),
    ("ad id", Key::Sku, 0.5),
    ("anzeigen-id", Key::Sku, 0.5),
    ("anzeigennummer", Key::Sku, 0.5),
    ("id", Key::Sku, 0.4),
    ("код", Key::Sku, 0.6),
    ("код товара", Key::Sku, 0.7),
    ("артикул", Key::Sku, 0.7),
    ("商品番号", Key::Sku, 0.7),
    ("商品编号", Key::Sku, 0.7),
    ("货号", Key::Sku, 0.7),
    ("品番", Key::Sku, 0.6),
    ("model", Key::Mpn, 0.6),
    ("model number", Key::Mpn, 0.65),
    ("model no", Key::Mpn, 0.65),
    ("model #", Key::Mpn, 0.65),
    ("item model number", Key::Mpn, 0.7),
    ("modelo", Key::Mpn, 0.6),
    ("modèle", Key::Mpn, 0.6),
    ("modell", Key::Mpn, 0.6),
    ("modello", Key::Mpn, 0.6),
    ("mpn", Key::Mpn, 0.7),
    ("manufacturer part number", Key::Mpn, 0.7),
    ("mfr part number", Key::Mpn, 0.7),
    ("mfr. part #", Key::Mpn, 0.7),
    ("herstellernummer", Key::Mpn, 0.7),
    ("hersteller-nr", Key::Mpn, 0.7),
    ("hersteller-artikelnummer", Key::Mpn, 0.7),
    ("型番", Key::Mpn, 0.6),
    ("ean", Key::Gtin, 0.75),
    ("ean13", Key::Gtin, 0.75),
    ("ean-13", Key::Gtin, 0.75),
    ("ean code", Key::Gtin, 0.75),
    ("ean-code", Key::Gtin, 0.75),
    ("ean/upc", Key::Gtin, 0.75),
    ("gtin", Key::Gtin, 0.75),
    ("gtin13", Key::Gtin, 0.75),
    ("gtin-13", Key::Gtin, 0.75),
    ("upc", Key::Gtin, 0.75),
    ("upc code", Key::Gtin, 0.75),
    ("isbn", Key::Gtin, 0.75),
    ("isbn-13", Key::Gtin, 0.75),
    ("isbn13", Key::Gtin, 0.75),
    ("barcode", Key::Gtin, 0.7),
    ("código de barras", Key::Gtin, 0.7),
    ("jan", Key::Gtin, 0.6),
    ("brand", Key::Brand, 0.65),
    ("brand name", Key::Brand, 0.65),
    ("marke", Key::Brand, 0.65),
    ("marque", Key::Brand, 0.65),
    ("marca", Key::Brand, 0.65),
    ("merk", Key::Brand, 0.65),
    ("marka", Key::Brand, 0.65),
    ("značka", Key::Brand, 0.65),
    ("márka", Key::Brand, 0.65),
    ("manufacturer", Key::Brand, 0.5),
    ("hersteller", Key::Brand, 0.5),
    ("fabricant", Key::Brand, 0.5),
    ("fabricante", Key::Brand, 0.5),
    ("produttore", Key::Brand, 0.5),
];

/// The first characters of the labels, to pass over most texts at once.
static LABEL_STARTS: LazyLock<FastSet<char>> = LazyLock::new(|| {
    LABELS
        .iter()
        .filter_map(|(l, _, _)| l.chars().next())
        .collect()
});

/// The label a short text starts with, and the rest of the text after it.
fn label_of(lower: &str) -> Option<(&'static (&'static str, Key, f32), &str)> {
    let first = lower.chars().next()?;
    if !LABEL_STARTS.contains(&first) {
        return None;
    }
    let mut best: Option<(&(&str, Key, f32), &str)> = None;
    for label in LABELS {
        let Some(rest) = lower.strip_prefix(label.0) else {
            continue;
        };
        // The label stands as a word: `ref` is no label of `refurbished`.
        if rest.chars().next().is_some_and(char::is_alphanumeric)
            && label
                .0
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        if best.is_none_or(|(b, _)| b.0.len() < label.0.len()) {
            best = Some((label, rest));
        }
    }
    let (label, rest) = best?;
    let rest = rest.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ':' | '#' | '.' | '-' | '–' | '：' | '°' | 'º' | '=' | ')' | '('
            )
    });
    let rest = rest
        .strip_prefix("n°")
        .or_else(|| rest.strip_prefix("no."))
        .or_else(|| rest.strip_prefix("nr."))
        .map_or(rest, |r| r.trim_start_matches([' ', ':', '.']));
    // A label is short: a sentence that starts with `Model` is no label.
    let before_value = lower.len() - rest.len();
    (before_value <= label.0.len() + 4).then_some((label, rest))
}

/// A code as written after a label: its first word, when it looks like one.
fn code_value(text: &str, key: Key) -> Option<String> {
    let text = text.trim();
    let cut = text
        .find(['|', ',', ';', '(', '\u{2022}'])
        .map_or(text, |at| &text[..at]);
    let words: Vec<&str> = cut.split_whitespace().collect();
    let value = match key {
        Key::Mpn => {
            let mut v = String::new();
            for w in words.iter().take(3) {
                if v.len() + w.len() > 30 {
                    break;
                }
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(w);
            }
            v
        }
        _ => words.first()?.to_string(),
    };
    let value = value.trim_end_matches(['.', ':', ',']).to_string();
    let ok = (2..=40).contains(&value.chars().count())
        && value.chars().any(|c| c.is_ascii_digit())
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || " -_./#".contains(c));
    ok.then_some(value)
}

fn brand_value(text: &str) -> Option<String> {
    let v = text.trim().trim_end_matches(['.', ',']);
    let ok = (1..=50).contains(&v.chars().count())
        && v.split_whitespace().count() <= 6
        && !v.contains(':')
        && v.chars().any(char::is_alphabetic)
        && label_of(&v.to_lowercase()).is_none();
    ok.then(|| v.to_string())
}

fn label_rule(t: &Text<'_>, fields: &mut Fields) {
    let tree = t.tree;
    let flags = &t.flags;
    // The best value for each key: (score, confidence, value, label).
    let mut best: Vec<(Key, f32, f32, String, &'static str)> = Vec::new();
    let mut seen = 0;
    for i in 1..tree.len() {
        if !tree.is_text(i) || flags.skip[i] {
            continue;
        }
        let raw = tree.text(i);
        if raw.len() > 160 {
            continue;
        }
        // Most texts start with no label's first letter: pass them by before allocating.
        let Some(first) = raw
            .trim_start()
            .chars()
            .next()
            .and_then(|c| c.to_lowercase().next())
        else {
            continue;
        };
        if !LABEL_STARTS.contains(&first) {
            continue;
        }
        let lower = collapse(raw).to_lowercase();
        let Some((label, rest)) = label_of(&lower) else {
            continue;
        };
        seen += 1;
        if seen > MAX_CANDIDATES {
            break;
        }
        let (label_text, key, weight) = *label;
        // The value: after the label in the same text, else in the next text shown.
        let original = collapse(raw);
        let value_text = if rest.trim().is_empty() {
            next_text(tree, flags, i)
        } else {
            // Same byte offsets: lower-casing may change lengths, so cut the original at
            // the same character count.
            let skip = lower.chars().count() - rest.chars().count();
            Some(original.chars().skip(skip).collect())
        };
        let Some(value_text) = value_text else {
            continue;
        };
        let value = match key {
            Key::Gtin => gtin_digits(&value_text).filter(|d| gtin_checks(d)),
            Key::Brand => brand_value(&value_text),
            _ => code_value(&value_text, key),
        };
        let Some(value) = value else { continue };
        // Outside page chrome first, then the stronger label, then the closer to the
        // title (closeness stays well under 1000).
        let chrome_penalty = if flags.chrome[i] { 10_000.0 } else { 0.0 };
        let score = weight * 1000.0 + t.closeness(i).clamp(-500.0, 500.0) * 0.1 - chrome_penalty;
        let mut c = weight;
        if flags.chrome[i] {
            c -= 0.2;
        }
        match best.iter_mut().find(|b| b.0 == key) {
            Some(b) if b.1 >= score => {}
            Some(b) => *b = (key, score, c, value, label_text),
            None => best.push((key, score, c, value, label_text)),
        }
    }
    for (key, _, c, value, label) in best {
        let detail = format!("label \"{label}\"");
        if key == Key::Mpn && !fields.has(Key::Sku) {
            // A model number is what some shops have for an article number.
            fields.offer(
                Key::Sku,
                Found::new(
                    Val::Text(value.clone()),
                    c - 0.3,
                    Origin::PageText,
                    detail.clone(),
                ),
            );
        }
        fields.offer(
            key,
            Found::new(Val::Text(value), c, Origin::PageText, detail),
        );
    }
}

/// The next non-empty text shown after entry `i`, close by.
fn next_text(tree: &Tree, flags: &Flags, i: usize) -> Option<String> {
    let end = (i + 25).min(tree.len());
    for j in i + 1..end {
        if tree.is_text(j) && !flags.skip[j] {
            let t = collapse(tree.text(j));
            if t.is_empty() || t == ":" {
                continue;
            }
            return Some(t);
        }
    }
    None
}

const STOCK_WORDS: &[&str] = &[
    "stock",
    "availability",
    "available",
    "avail",
    "inventory",
    "lieferbarkeit",
    "verfuegbarkeit",
    "disponibilite",
    "disponibilidad",
    "delivery",
    "instock",
    "outofstock",
];
const VARIANT_WORDS: &[&str] = &[
    "size", "sizes", "swatch", "swatches", "variant", "variants", "option", "options", "color",
    "colour",
];

fn availability_rule(t: &Text<'_>, fields: &mut Fields) {
    let tree = t.tree;
    let flags = &t.flags;
    let mut best: Option<(f32, &'static str, bool)> = None;
    let mut cart: Option<(f32, bool)> = None;
    let mut seen = 0;
    for i in 1..tree.len() {
        if !flags.shown(i) {
            continue;
        }
        if tree.is_element(i) {
            let tag = tree.tag(i);
            let button = matches!(tag, "button" | "input" | "a")
                || tree.attr(i, "role").is_some_and(|r| r == "button");
            if !button {
                continue;
            }
            let label = if tag == "input" {
                tree.attr(i, "value").map(collapse)
            } else {
                bounded_text(tree, i, 80, 30)
            };
            let label = label.or_else(|| tree.attr(i, "aria-label").map(collapse));
            let Some(label) = label else { continue };
            let words = words_of(tree, i);
            let cart_words = words
                .iter()
                .any(|w| w == "cart" || w == "basket" || w == "addtocart");
            let cart_like = availability::is_add_to_cart(&label)
                || (cart_words && words.iter().any(|w| w == "add"));
            if !cart_like {
                continue;
            }
            let disabled = tree.attr(i, "disabled").is_some()
                || tree.attr(i, "aria-disabled").is_some_and(|v| v == "true")
                || words.iter().any(|w| w == "disabled");
            let score = t.closeness(i);
            if cart.is_none_or(|(s, _)| score > s) {
                cart = Some((score, disabled));
            }
            continue;
        }
        if !tree.is_text(i) {
            continue;
        }
        let raw = tree.text(i);
        if raw.len() > 200 || raw.trim().len() < 4 {
            continue;
        }
        let Some(name) = availability::wording(raw) else {
            continue;
        };
        seen += 1;
        if seen > MAX_CANDIDATES {
            break;
        }
        let mut hinted = false;
        let mut variant = false;
        for a in std::iter::once(i).chain(tree.ancestors(i)).take(5) {
            let words = words_of(tree, a);
            hinted |= words.iter().any(|w| STOCK_WORDS.contains(&w.as_str()));
            variant |= words.iter().any(|w| VARIANT_WORDS.contains(&w.as_str()));
        }
        if variant && name != "InStock" {
            continue;
        }
        let score = t.closeness(i) + if hinted { 6.0 } else { 0.0 };
        if !hinted && !t.near(i, 6) {
            continue;
        }
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, name, hinted));
        }
    }
    if let Some((_, name, hinted)) = best {
        let mut c = if hinted { 0.75 } else { 0.65 };
        if cart.is_some_and(|(_, disabled)| !disabled) == (name == "InStock") {
            c += 0.05;
        }
        fields.offer(
            Key::Availability,
            Found::new(
                Val::Text(name.into()),
                c,
                Origin::PageText,
                "availability wording",
            ),
        );
    } else if let Some((_, false)) = cart {
        // A disabled button says little: shops disable it until a size is chosen.
        let (name, c) = ("InStock", 0.55);
        fields.offer(
            Key::Availability,
            Found::new(
                Val::Text(name.into()),
                c,
                Origin::PageText,
                "the add-to-cart button",
            ),
        );
    }
}

/// The product's id in its URL (`/itm/302474151804`, `…-1609583.html`, `?pid=262388`):
/// shops name product pages by their article number, so when nothing on the page is
/// labelled as one, the URL's is the best guess (a low confidence says so).
pub fn url_id(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.split('#').next().unwrap_or(path);
    let query = query.split('#').next().unwrap_or(query);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = name.to_ascii_lowercase();
        let id_like = matches!(
            name.as_str(),
            "id" | "pid"
                | "sku"
                | "productid"
                | "product_id"
                | "itemid"
                | "item_id"
                | "item"
                | "product"
                | "articleid"
                | "art"
        );
        if id_like && let Some(id) = id_token(value) {
            return Some(id);
        }
    }
    // Path segments after the host, the last first.
    let segments: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
    for segment in segments.iter().rev().take(4) {
        let stem = segment
            .rsplit_once('.')
            .filter(|(_, ext)| ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphabetic()))
            .map_or(*segment, |(stem, _)| stem);
        let tokens: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        if let Some(id) = tokens.iter().rev().find_map(|t| id_token(t)) {
            return Some(id);
        }
    }
    None
}

/// An id in one URL token: all digits (five or more), capitals then digits (`M67296549`),
/// else the longest run of five digits or more.
fn id_token(token: &str) -> Option<String> {
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    if digits < 5 || token.len() > 24 {
        return None;
    }
    let letters = token.trim_end_matches(|c: char| c.is_ascii_digit());
    if letters.len() <= 3 && letters.bytes().all(|b| b.is_ascii_uppercase()) {
        return Some(token.to_string());
    }
    let mut best = "";
    for run in token.split(|c: char| !c.is_ascii_digit()) {
        if run.len() > best.len() {
            best = run;
        }
    }
    (best.len() >= 5).then(|| best.to_string())
}

/// The page's breadcrumb trail: the links (and the last item) of the first element
/// marked as one (`class="breadcrumb"`, `aria-label="Breadcrumb"`).
fn breadcrumb_rule(t: &Text<'_>, fields: &mut Fields) {
    let tree = t.tree;
    let Some(trail) = t.flags.breadcrumb else {
        return;
    };
    let mut names: Vec<String> = Vec::new();
    let items: Vec<usize> = tree
        .descendants(trail)
        .filter(|&d| tree.tag(d) == "li")
        .take(20)
        .collect();
    let parts: Vec<usize> = if items.is_empty() {
        tree.descendants(trail)
            .filter(|&d| tree.tag(d) == "a")
            .take(20)
            .collect()
    } else {
        items
    };
    for part in parts {
        if let Some(name) = bounded_text(tree, part, 120, 60).map(|n| {
            n.trim_matches(|c: char| c.is_whitespace() || "›»>/|".contains(c))
                .to_string()
        }) && !name.is_empty()
            && name.chars().count() <= 80
            && names.last() != Some(&name)
        {
            names.push(name);
        }
    }
    if !names.is_empty() {
        fields.offer(
            Key::Breadcrumbs,
            Found::new(
                Val::List(names),
                0.6,
                Origin::PageText,
                "the breadcrumb trail",
            ),
        );
    }
}
