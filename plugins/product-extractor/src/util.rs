//! Small text helpers the sources share: collapsing whitespace, resolving URLs against
//! the page's, GTIN digits and their check digit, bounded subtree text.

use trawl_sdk::Tree;

/// Whitespace (including no-break and narrow spaces) collapsed to single spaces, trimmed.
///
/// ```
/// assert_eq!(product_extractor::util::collapse("  a \u{a0}\n b "), "a b");
/// assert_eq!(product_extractor::util::collapse("ASIN\u{200f}:\u{200e}"), "ASIN:");
/// ```
pub fn collapse(text: &str) -> String {
    // Zero-width and direction marks (`ASIN\u{200f}:\u{200e}`) are dropped.
    let marks = |c: char| matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}' | '\u{202a}'..='\u{202e}');
    let stripped;
    let text = if text.contains(marks) {
        stripped = text.replace(marks, "");
        stripped.as_str()
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The text of an element's subtree, text nodes joined by spaces, stopping once `max`
/// bytes are gathered; `None` when the subtree has more than `max_entries` entries.
/// Two digits in a `<sup>` right after a number are its cents (`12<sup>99</sup>`).
pub fn bounded_text(tree: &Tree, i: usize, max: usize, max_entries: usize) -> Option<String> {
    bounded_text_of(tree, i, max, max_entries, |_| true)
}

/// [`bounded_text`] of the text entries `keep` takes.
pub fn bounded_text_of(
    tree: &Tree,
    i: usize,
    max: usize,
    max_entries: usize,
    keep: impl Fn(usize) -> bool,
) -> Option<String> {
    if tree.is_text(i) {
        return Some(collapse(head(tree.text(i), max)));
    }
    let range = tree.descendants(i);
    if range.len() > max_entries {
        return None;
    }
    let mut out = String::new();
    for d in range {
        if !keep(d) {
            continue;
        }
        let t = head(tree.text(d), max);
        if t.trim().is_empty() {
            continue;
        }
        let t = collapse(t);
        let cents = t.len() == 2
            && t.bytes().all(|b| b.is_ascii_digit())
            && out.ends_with(|c: char| c.is_ascii_digit())
            && tree.parent(d).is_some_and(|p| tree.tag(p) == "sup");
        if cents {
            out.push('.');
        } else if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t);
        if out.len() >= max {
            break;
        }
    }
    Some(out)
}

/// The first `max` bytes of a text, cut at a character boundary.
pub fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `href` resolved against the page's URL (absolute URLs are kept as they are).
///
/// ```
/// use product_extractor::util::resolve;
///
/// let base = "https://shop.example.com/p/lamp.html?x=1";
/// assert_eq!(resolve(base, "/img/a.jpg"), "https://shop.example.com/img/a.jpg");
/// assert_eq!(resolve(base, "//cdn.example.com/a.jpg"), "https://cdn.example.com/a.jpg");
/// assert_eq!(resolve(base, "b.jpg"), "https://shop.example.com/p/b.jpg");
/// assert_eq!(resolve(base, "http://x.example/c.jpg"), "http://x.example/c.jpg");
/// ```
pub fn resolve(base: &str, href: &str) -> String {
    let href = href.trim();
    if href.contains("://") || href.starts_with("data:") {
        return href.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(path) = href.strip_prefix("//") {
        return format!("{scheme}://{path}");
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if href.starts_with('/') {
        return format!("{scheme}://{host}{href}");
    }
    let path = &rest[host_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |at| &path[..=at]);
    format!("{scheme}://{host}{dir}{href}")
}

/// The digits of a GTIN as written (`"4 054278 533728"`, `"EAN: 0099482467999"`), when
/// it has a GTIN's length (8, 12, 13 or 14 digits, or an ISBN-13) and nothing else but
/// spaces and dashes around them.
///
/// ```
/// use product_extractor::util::gtin_digits;
///
/// assert_eq!(gtin_digits("4054278533728").as_deref(), Some("4054278533728"));
/// assert_eq!(gtin_digits("978-0-552-17374-2").as_deref(), Some("9780552173742"));
/// assert_eq!(gtin_digits("12345"), None);
/// ```
pub fn gtin_digits(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .split_once(':')
        .filter(|(label, _)| label.chars().all(char::is_alphabetic))
        .map_or(text, |(_, rest)| rest);
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    matches!(digits.len(), 8 | 12 | 13 | 14).then_some(digits)
}

/// Whether a GTIN's last digit is its check digit.
///
/// ```
/// assert!(product_extractor::util::gtin_checks("4054278533728"));
/// assert!(!product_extractor::util::gtin_checks("4054278533729"));
/// ```
pub fn gtin_checks(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some((&check, body)) = d.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(k, v)| if k % 2 == 0 { v * 3 } else { *v })
        .sum();
    (10 - sum % 10) % 10 == check
}

/// The words of a class, id or similar attribute, lower-case, split at `-`, `_`, spaces
/// and case changes (`productPrice` gives `product`, `price`).
pub fn attr_words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in value.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The words of an attribute value as slices of it, split like [`attr_words`] but
/// without lower-casing (compare with `eq_ignore_ascii_case`): no allocation, for the
/// checks made on every element.
///
/// ```
/// let words: Vec<&str> = product_extractor::util::words("product-price oldPrice").collect();
/// assert_eq!(words, ["product", "price", "old", "Price"]);
/// ```
pub fn words(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = value;
    std::iter::from_fn(move || {
        let start = rest.find(|c: char| c.is_alphanumeric())?;
        let tail = &rest[start..];
        let mut end = tail.len();
        let mut prev_lower = false;
        for (at, c) in tail.char_indices() {
            if !c.is_alphanumeric() || (c.is_uppercase() && prev_lower) {
                end = at;
                break;
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
        let word = &tail[..end];
        rest = &tail[end..];
        Some(word)
    })
}

/// Whether `hay` contains `needle` (lower-case ASCII), ignoring ASCII case.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Text with its HTML tags removed and whitespace collapsed (descriptions that carry
/// their markup).
///
/// ```
/// assert_eq!(product_extractor::util::strip_tags("<p>Soft <b>wool</b>.</p><p>Warm.</p>"), "Soft wool. Warm.");
/// assert_eq!(product_extractor::util::strip_tags("3 < 4"), "3 < 4");
/// ```
pub fn strip_tags(text: &str) -> String {
    if !text.contains('<') {
        return collapse(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        // A tag starts with a letter, `/` or `!`; anything else is a plain `<`.
        let is_tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match after.find('>') {
            Some(close) if is_tag => {
                out.push_str(&rest[..open]);
                out.push(' ');
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let collapsed = collapse(&out);
    // No space before punctuation that the tags left apart.
    collapsed.replace(" .", ".").replace(" ,", ",")
}

/// A small, fast hasher (FNV-1a) for the plugin's own lookup tables: the default one is
/// built against attackers, which the plugin's static word lists do not need, and costs
/// many more instructions per lookup in the sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A set hashed with [`Fnv`].
pub type FastSet<T> = std::collections::HashSet<T, std::hash::BuildHasherDefault<Fnv>>;
/// A map hashed with [`Fnv`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Whether one of the words of `text` (split at anything not a letter or digit), lower-
/// cased, is in `set`; short ASCII words are lower-cased without allocating.
pub fn any_word_in(text: &str, set: &FastSet<&str>) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            let mut buf = [0u8; 32];
            match buf.get_mut(..w.len()) {
                Some(slot) if w.is_ascii() => {
                    slot.copy_from_slice(w.as_bytes());
                    slot.make_ascii_lowercase();
                    std::str::from_utf8(slot).is_ok_and(|l| set.contains(l))
                }
                _ => set.contains(w.to_lowercase().as_str()),
            }
        })
}
