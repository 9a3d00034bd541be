//! Currencies: symbols and codes as pages write them (`€`, `CA$`, `zł`, `EUR`) turned into
//! ISO 4217 codes, with the page's language and the URL's country deciding what the
//! ambiguous symbols (`$`, `¥`, `kr`) stand for.

use std::sync::LazyLock;

use crate::util::FastSet;

/// What the page says about where it is from: its language and its country.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locale {
    /// The primary language subtag, lower-case (`de` of `de-CH`).
    pub lang: String,
    /// The country: the region subtag of the language, else the URL's country-code TLD
    /// (lower-case, `uk` for `co.uk`), else empty.
    pub country: String,
}

impl Locale {
    /// The locale of a page from its `<html lang>` and its URL.
    ///
    /// ```
    /// use product_extractor::currency::Locale;
    ///
    /// let l = Locale::new("en-CA", "https://shop.example.com/p/1");
    /// assert_eq!((l.lang.as_str(), l.country.as_str()), ("en", "ca"));
    /// let l = Locale::new("", "https://www.example.co.uk/p/1");
    /// assert_eq!(l.country, "uk");
    /// ```
    pub fn new(lang: &str, url: &str) -> Self {
        let lang = lang.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = lang.split('-');
        let primary = parts.next().unwrap_or("").to_string();
        let region = parts.find(|p| p.len() == 2).unwrap_or("").to_string();
        let tld = tld(url);
        // A generic TLD says nothing of the country; the language's region does.
        let country = if !tld.is_empty() { tld } else { region };
        Self {
            lang: primary,
            country,
        }
    }
}

/// The URL's country-code top-level domain, lower-case; empty for generic ones (`.com`).
fn tld(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if last.len() == 2 && last.bytes().all(|b| b.is_ascii_alphabetic()) {
        last
    } else {
        String::new()
    }
}

/// ISO 4217 codes that pages write as they are (`CHF 19.50`, `19.50 EUR`).
const CODES: &[&str] = &[
    "AED", "ARS", "AUD", "AZN", "BAM", "BDT", "BGN", "BHD", "BOB", "BRL", "BYN", "CAD", "CHF",
    "CLP", "CNY", "COP", "CRC", "CZK", "DKK", "DOP", "DZD", "EGP", "EUR", "GBP", "GEL", "GHS",
    "GTQ", "HKD", "HNL", "HRK", "HUF", "IDR", "ILS", "INR", "IQD", "ISK", "JOD", "JPY", "KES",
    "KRW", "KWD", "KZT", "LBP", "LKR", "MAD", "MDL", "MKD", "MXN", "MYR", "NGN", "NOK", "NZD",
    "OMR", "PAB", "PEN", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "SAR", "SEK",
    "SGD", "THB", "TND", "TRY", "TWD", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND", "ZAR",
];

/// Currencies whose minor unit has three digits: `1.250` there is a decimal.
pub fn three_decimals(code: &str) -> bool {
    matches!(code, "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND")
}

/// Symbols and local abbreviations, longest first where one starts another. Codes
/// starting with `*` are ambiguous and resolved by the locale. `word` marks letters that
/// must stand as a word of their own (`kr`, `Ft`, not inside `Kraft`).
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("U$S", "USD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("NZ$", "NZD"),
    ("HK$", "HKD"),
    ("S$", "SGD"),
    ("R$", "BRL"),
    ("MX$", "MXN"),
    ("NT$", "TWD"),
    ("RD$", "DOP"),
    ("$", "*$"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("₹", "INR"),
    ("₽", "RUB"),
    ("₴", "UAH"),
    ("₺", "TRY"),
    ("₩", "KRW"),
    ("₪", "ILS"),
    ("฿", "THB"),
    ("₫", "VND"),
    ("₱", "PHP"),
    ("₦", "NGN"),
    ("₸", "KZT"),
    ("₼", "AZN"),
    ("₾", "GEL"),
    ("৳", "BDT"),
    ("￥", "*¥"),
    ("¥", "*¥"),
    ("円", "JPY"),
    ("元", "*元"),
    ("บาท", "THB"),
    ("ج.م", "EGP"),
    ("đ", "VND"),
    ("원", "KRW"),
    ("руб", "RUB"),
    ("р.", "RUB"),
    ("грн", "UAH"),
    ("тг", "KZT"),
    ("лв", "BGN"),
    ("ден", "MKD"),
    ("дин", "RSD"),
    ("ر.س", "SAR"),
    ("د.إ", "AED"),
    ("zł", "PLN"),
    ("Kč", "CZK"),
    ("Ft", "HUF"),
    ("lei", "RON"),
    ("Lei", "RON"),
    ("LEI", "RON"),
    ("kn", "HRK"),
    ("Kn", "HRK"),
    ("RM", "MYR"),
    ("Rp", "IDR"),
    ("Rs.", "*Rs"),
    ("Rs", "*Rs"),
    ("TL", "TRY"),
    ("Fr.", "CHF"),
    ("sFr.", "CHF"),
    ("Euro", "EUR"),
    ("EURO", "EUR"),
    ("euro", "EUR"),
    ("zl", "PLN"),
    ("kr.", "*kr"),
    ("kr", "*kr"),
    ("Kr", "*kr"),
];

/// The first characters of the symbols, to pass over most of a text at once.
static SYMBOL_STARTS: LazyLock<FastSet<char>> = LazyLock::new(|| {
    SYMBOLS
        .iter()
        .filter_map(|(s, _)| s.chars().next())
        .collect()
});

/// The ISO code of a symbol or code as written, in this locale.
///
/// ```
/// use product_extractor::currency::{Locale, code_of};
///
/// let us = Locale::default();
/// assert_eq!(code_of("€", &us), Some("EUR"));
/// assert_eq!(code_of("$", &us), Some("USD"));
/// assert_eq!(code_of("$", &Locale::new("en", "https://example.ca/")), Some("CAD"));
/// assert_eq!(code_of("kr", &Locale::new("da", "")), Some("DKK"));
/// assert_eq!(code_of("eur", &us), Some("EUR"));
/// assert_eq!(code_of("dollars", &us), None);
/// ```
pub fn code_of(written: &str, locale: &Locale) -> Option<&'static str> {
    let w = written.trim().trim_end_matches('.');
    if w.is_empty() {
        return None;
    }
    let upper = w.to_ascii_uppercase();
    if let Some(code) = CODES.iter().find(|c| **c == upper) {
        return Some(code);
    }
    let w_dot = written.trim();
    SYMBOLS
        .iter()
        .find(|(s, _)| *s == w_dot || *s == w || s.trim_end_matches('.') == w)
        .map(|(_, code)| resolve(code, locale))
}

/// A currency as structured data gives it (`"EUR"`, `"eur"`, `"€"`), as an ISO code.
/// Three letters are kept even when this module does not list them.
pub fn normalize(written: &str, locale: &Locale) -> Option<String> {
    let w = written.trim();
    if w.len() == 3 && w.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Some(w.to_ascii_uppercase());
    }
    code_of(w, locale).map(str::to_string)
}

fn resolve(code: &'static str, locale: &Locale) -> &'static str {
    match code {
        "*$" => match locale.country.as_str() {
            "ca" => "CAD",
            "au" => "AUD",
            "nz" => "NZD",
            "mx" => "MXN",
            "ar" => "ARS",
            "cl" => "CLP",
            "co" => "COP",
            "sg" => "SGD",
            "hk" => "HKD",
            "tw" => "TWD",
            "uy" => "UYU",
            "br" => "BRL",
            _ => "USD",
        },
        "*元" => match locale.country.as_str() {
            "tw" => "TWD",
            "hk" => "HKD",
            _ => "CNY",
        },
        "*Rs" => match locale.country.as_str() {
            "pk" => "PKR",
            "lk" => "LKR",
            "np" => "NPR",
            _ => "INR",
        },
        "*¥" => {
            if locale.lang == "zh" || locale.country == "cn" {
                "CNY"
            } else {
                "JPY"
            }
        }
        "*kr" => match (locale.lang.as_str(), locale.country.as_str()) {
            ("no" | "nb" | "nn", _) | (_, "no") => "NOK",
            ("da", _) | (_, "dk") => "DKK",
            ("is", _) | (_, "is") => "ISK",
            _ => "SEK",
        },
        code => code,
    }
}

/// A currency mention found in text: its code and the byte range it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mention {
    /// The ISO code.
    pub code: &'static str,
    /// Where it starts, in bytes.
    pub start: usize,
    /// Where it ends, in bytes.
    pub end: usize,
}

/// Every currency mention in `text`, in order.
///
/// ```
/// use product_extractor::currency::{Locale, mentions};
///
/// let found = mentions("ab 1.299,00 € statt CHF 12", &Locale::default());
/// assert_eq!(found.iter().map(|m| m.code).collect::<Vec<_>>(), ["EUR", "CHF"]);
/// assert!(mentions("Kraft 12", &Locale::default()).is_empty());
/// ```
pub fn mentions(text: &str, locale: &Locale) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        let before = text[..i].chars().next_back();
        let starts_word = !before.is_some_and(char::is_alphabetic);
        let mut step = c.len_utf8();
        if starts_word && c.is_ascii_uppercase() && rest.len() >= 3 {
            let word = rest.get(..3).unwrap_or("");
            let after = rest.get(3..).and_then(|r| r.chars().next());
            if !after.is_some_and(char::is_alphabetic) && CODES.contains(&word) {
                out.push(Mention {
                    code: CODES.iter().find(|c| **c == word).copied().unwrap_or("USD"),
                    start: i,
                    end: i + 3,
                });
                i += 3;
                continue;
            }
        }
        if !SYMBOL_STARTS.contains(&c) {
            i += step;
            continue;
        }
        for (symbol, code) in SYMBOLS {
            if !rest.starts_with(symbol) {
                continue;
            }
            let lettered = symbol.chars().next().is_some_and(char::is_alphabetic);
            let after = rest[symbol.len()..].chars().next();
            let last_is_letter = symbol.chars().next_back().is_some_and(char::is_alphabetic);
            if lettered
                && (!starts_word || (last_is_letter && after.is_some_and(char::is_alphabetic)))
            {
                continue;
            }
            // `S$`, `R$`: the letters belong to the symbol only when they start it.
            out.push(Mention {
                code: resolve(code, locale),
                start: i,
                end: i + symbol.len(),
            });
            step = symbol.len();
            break;
        }
        i += step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_by_locale() {
        let none = Locale::default();
        let cases = [
            ("€", "EUR"),
            ("£", "GBP"),
            ("₹", "INR"),
            ("zł", "PLN"),
            ("R$", "BRL"),
            ("CHF", "CHF"),
            ("руб", "RUB"),
            ("₽", "RUB"),
            ("US$", "USD"),
            ("CA$", "CAD"),
            ("A$", "AUD"),
            ("¥", "JPY"),
            ("kr", "SEK"),
            ("Kč", "CZK"),
            ("Ft", "HUF"),
        ];
        for (symbol, code) in cases {
            assert_eq!(code_of(symbol, &none), Some(code), "{symbol}");
        }
        assert_eq!(code_of("¥", &Locale::new("zh-CN", "")), Some("CNY"));
        assert_eq!(code_of("kr", &Locale::new("nb", "")), Some("NOK"));
        assert_eq!(
            code_of("kr", &Locale::new("", "https://x.dk/")),
            Some("DKK")
        );
        assert_eq!(
            code_of("$", &Locale::new("es-MX", "https://x.com/")),
            Some("MXN")
        );
        assert_eq!(
            code_of("$", &Locale::new("", "https://x.com.au/")),
            Some("AUD")
        );
        assert_eq!(normalize(" usd ", &none).as_deref(), Some("USD"));
        assert_eq!(normalize("€", &none).as_deref(), Some("EUR"));
    }

    #[test]
    fn mentions_in_text() {
        let l = Locale::default();
        let codes = |t: &str| mentions(t, &l).iter().map(|m| m.code).collect::<Vec<_>>();
        assert_eq!(codes("R$ 1.759,99"), ["BRL"]);
        assert_eq!(codes("12,99 zł"), ["PLN"]);
        assert_eq!(codes("1 299 Kč"), ["CZK"]);
        assert_eq!(codes("299 kr"), ["SEK"]);
        assert_eq!(codes("Krone"), Vec::<&str>::new());
        assert_eq!(codes("USD 12"), ["USD"]);
        assert_eq!(codes("USDA organic"), Vec::<&str>::new());
        assert_eq!(codes("1 299 руб."), ["RUB"]);
    }
}
