//! Availability: schema.org's values in any spelling (`https://schema.org/InStock`,
//! `instock`, `in stock`) and the wording shops use for it in several languages, as
//! schema.org's short names (`InStock`, `OutOfStock`, …); and the add-to-cart wording
//! that says a product can be bought.

use std::sync::LazyLock;

use crate::util::{self, FastSet};

/// The short names this plugin writes.
pub const NAMES: &[&str] = &[
    "InStock",
    "OutOfStock",
    "PreOrder",
    "PreSale",
    "BackOrder",
    "LimitedAvailability",
    "OnlineOnly",
    "InStoreOnly",
    "SoldOut",
    "Discontinued",
    "MadeToOrder",
];

/// A structured value (`http://schema.org/InStock`, `InStock`, `in_stock`, `oos`) as a
/// short name.
///
/// ```
/// use product_extractor::availability::normalize;
///
/// assert_eq!(normalize("https://schema.org/InStock"), Some("InStock"));
/// assert_eq!(normalize("http://schema.org/OutOfStock"), Some("OutOfStock"));
/// assert_eq!(normalize("instock"), Some("InStock"));
/// assert_eq!(normalize("in stock"), Some("InStock"));
/// assert_eq!(normalize("out_of_stock"), Some("OutOfStock"));
/// assert_eq!(normalize("blue"), None);
/// ```
pub fn normalize(value: &str) -> Option<&'static str> {
    let tail = value
        .trim()
        .rsplit(['/', '#', ':'])
        .next()
        .unwrap_or("")
        .trim();
    let squashed: String = tail
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if let Some(name) = NAMES.iter().find(|n| n.to_ascii_lowercase() == squashed) {
        return Some(name);
    }
    match squashed.as_str() {
        "available" | "instock" | "true" | "yes" | "1" | "onstock" | "stock" => Some("InStock"),
        "oos" | "outofstock" | "unavailable" | "notavailable" | "false" | "no" | "0"
        | "nostock" => Some("OutOfStock"),
        "preorder" | "presale" => Some("PreOrder"),
        // What the product feeds of some platforms say of made-to-order items.
        "availablefororder" => Some("BackOrder"),
        "backorder" | "backordered" => Some("BackOrder"),
        "limited" | "lowstock" => Some("LimitedAvailability"),
        _ => wording(value),
    }
}

/// Phrases, lower-case, and what they say. Longer phrases come before the ones they
/// contain (`not in stock` before `in stock`).
const WORDING: &[(&str, &str)] = &[
    // Coming back means gone for now.
    ("back in stock", "OutOfStock"),
    ("wieder vorrätig", "OutOfStock"),
    ("wieder verfügbar", "OutOfStock"),
    ("wieder lieferbar", "OutOfStock"),
    ("de nouveau disponible", "OutOfStock"),
    ("à nouveau disponible", "OutOfStock"),
    ("di nuovo disponibile", "OutOfStock"),
    ("nuevamente disponible", "OutOfStock"),
    ("vuelva a estar disponible", "OutOfStock"),
    // Out of stock, sold out, unavailable.
    ("out of stock", "OutOfStock"),
    ("out-of-stock", "OutOfStock"),
    ("not in stock", "OutOfStock"),
    ("no stock", "OutOfStock"),
    ("currently unavailable", "OutOfStock"),
    ("temporarily unavailable", "OutOfStock"),
    ("not available", "OutOfStock"),
    ("unavailable", "OutOfStock"),
    ("sold out", "SoldOut"),
    ("discontinued", "Discontinued"),
    ("no longer available", "Discontinued"),
    ("nicht auf lager", "OutOfStock"),
    ("nicht lieferbar", "OutOfStock"),
    ("nicht verfügbar", "OutOfStock"),
    ("derzeit nicht", "OutOfStock"),
    ("ausverkauft", "SoldOut"),
    ("vergriffen", "SoldOut"),
    ("rupture de stock", "OutOfStock"),
    ("en rupture", "OutOfStock"),
    ("épuisé", "SoldOut"),
    ("epuise", "SoldOut"),
    ("indisponible", "OutOfStock"),
    ("non disponible", "OutOfStock"),
    ("agotado", "SoldOut"),
    ("sin stock", "OutOfStock"),
    ("sem estoque", "OutOfStock"),
    ("esgotado", "SoldOut"),
    ("no disponible", "OutOfStock"),
    ("indisponível", "OutOfStock"),
    ("non disponibile", "OutOfStock"),
    ("esaurito", "SoldOut"),
    ("non è disponibile", "OutOfStock"),
    ("niet op voorraad", "OutOfStock"),
    ("uitverkocht", "SoldOut"),
    ("niet leverbaar", "OutOfStock"),
    ("brak w magazynie", "OutOfStock"),
    ("niedostępny", "OutOfStock"),
    ("wyprzedany", "SoldOut"),
    ("nedostupné", "OutOfStock"),
    ("vyprodáno", "SoldOut"),
    ("slutsåld", "SoldOut"),
    ("utsolgt", "SoldOut"),
    ("udsolgt", "SoldOut"),
    ("loppu", "OutOfStock"),
    ("нет в наличии", "OutOfStock"),
    ("немає в наявності", "OutOfStock"),
    ("stokta yok", "OutOfStock"),
    ("tükendi", "SoldOut"),
    ("غير متوفر", "OutOfStock"),
    ("نفذت الكمية", "SoldOut"),
    ("אזל מהמלאי", "OutOfStock"),
    ("εξαντλήθηκε", "SoldOut"),
    ("μη διαθέσιμο", "OutOfStock"),
    ("stoc epuizat", "OutOfStock"),
    ("indisponibil", "OutOfStock"),
    ("elfogyott", "SoldOut"),
    ("nincs raktáron", "OutOfStock"),
    ("hết hàng", "OutOfStock"),
    ("stok habis", "OutOfStock"),
    ("tidak tersedia", "OutOfStock"),
    ("nema na zalihi", "OutOfStock"),
    ("vypredané", "SoldOut"),
    ("изчерпан", "SoldOut"),
    ("išparduota", "SoldOut"),
    ("nav pieejams", "OutOfStock"),
    ("loppuunmyyty", "SoldOut"),
    ("在庫切れ", "OutOfStock"),
    ("売り切れ", "SoldOut"),
    ("缺货", "OutOfStock"),
    ("售完", "SoldOut"),
    ("품절", "SoldOut"),
    // Pre-order, back-order, limited.
    ("pre-order", "PreOrder"),
    ("preorder", "PreOrder"),
    ("pre order", "PreOrder"),
    ("vorbestellen", "PreOrder"),
    ("vorbestellung", "PreOrder"),
    ("précommande", "PreOrder"),
    ("pré-commande", "PreOrder"),
    ("preventa", "PreOrder"),
    ("reserva", "PreOrder"),
    ("preordina", "PreOrder"),
    ("back-order", "BackOrder"),
    ("backorder", "BackOrder"),
    ("back order", "BackOrder"),
    ("only a few left", "LimitedAvailability"),
    ("low stock", "LimitedAvailability"),
    ("limited stock", "LimitedAvailability"),
    ("few left", "LimitedAvailability"),
    ("only available online", "OnlineOnly"),
    ("online only", "OnlineOnly"),
    ("in store only", "InStoreOnly"),
    ("in-store only", "InStoreOnly"),
    // In stock.
    ("in stock", "InStock"),
    ("in-stock", "InStock"),
    ("available now", "InStock"),
    ("available to ship", "InStock"),
    ("ready to ship", "InStock"),
    ("auf lager", "InStock"),
    ("lieferbar", "InStock"),
    ("sofort verfügbar", "InStock"),
    ("verfügbar", "InStock"),
    ("vorrätig", "InStock"),
    ("en stock", "InStock"),
    ("disponible", "InStock"),
    ("en existencia", "InStock"),
    ("em estoque", "InStock"),
    ("disponível", "InStock"),
    ("disponibile", "InStock"),
    ("in magazzino", "InStock"),
    ("op voorraad", "InStock"),
    ("leverbaar", "InStock"),
    ("na stanie", "InStock"),
    ("dostępny", "InStock"),
    ("skladem", "InStock"),
    ("på lager", "InStock"),
    ("i lager", "InStock"),
    ("varastossa", "InStock"),
    ("в наличии", "InStock"),
    ("є в наявності", "InStock"),
    ("stokta", "InStock"),
    ("متوفر", "InStock"),
    ("במלאי", "InStock"),
    ("διαθέσιμο", "InStock"),
    ("în stoc", "InStock"),
    ("raktáron", "InStock"),
    ("còn hàng", "InStock"),
    ("tersedia", "InStock"),
    ("na zalihi", "InStock"),
    ("na sklade", "InStock"),
    ("в наличност", "InStock"),
    ("yra sandėlyje", "InStock"),
    ("ir noliktavā", "InStock"),
    ("在庫あり", "InStock"),
    ("有货", "InStock"),
    ("현재 구매 가능", "InStock"),
];

/// What availability wording a short text says, if any (the text is a label or a
/// sentence of a few words, not a paragraph).
///
/// ```
/// use product_extractor::availability::wording;
///
/// assert_eq!(wording("In stock."), Some("InStock"));
/// assert_eq!(wording("Currently unavailable."), Some("OutOfStock"));
/// assert_eq!(wording("Ausverkauft"), Some("SoldOut"));
/// assert_eq!(wording("Épuisé"), Some("SoldOut"));
/// assert_eq!(wording("Agotado"), Some("SoldOut"));
/// assert_eq!(wording("Sofort lieferbar"), Some("InStock"));
/// assert_eq!(wording("Nicht lieferbar"), Some("OutOfStock"));
/// assert_eq!(wording("Instructions"), None);
/// ```
pub fn wording(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.is_empty() || text.len() > 400 || !maybe_phrase(text, &WORDING_FIRST) {
        return None;
    }
    let lower = text.to_lowercase();
    if lower.is_empty() || lower.chars().count() > 80 {
        return None;
    }
    // `Only 3 left in stock` says it is limited, but it can be bought: in stock.
    let words = words_of(&lower);
    if !any_first_word(&words, &WORDING_FIRST, &lower) {
        return None;
    }
    WORDING.iter().find_map(|(phrase, name)| {
        (may_contain(&words, phrase) && contains_word(&lower, phrase)).then_some(*name)
    })
}

/// The cheap test before lower-casing a text: one of its words starts a phrase, or it
/// is in a script written without spaces.
fn maybe_phrase(text: &str, firsts: &FastSet<&str>) -> bool {
    util::any_word_in(text, firsts) || text.chars().any(|c| c > '\u{2e80}')
}

/// The first words of the wording phrases, to pass over most texts at once.
static WORDING_FIRST: LazyLock<FastSet<&'static str>> =
    LazyLock::new(|| WORDING.iter().map(|(p, _)| first_word(p)).collect());
/// The first words of the add-to-cart phrases.
static CART_FIRST: LazyLock<FastSet<&'static str>> =
    LazyLock::new(|| ADD_TO_CART.iter().map(|p| first_word(p)).collect());

fn first_word(phrase: &str) -> &str {
    let end = phrase
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(phrase.len(), |(at, _)| at);
    &phrase[..end]
}

/// Whether one of the text's words starts a phrase, or the text is in a script written
/// without spaces (whose phrases are searched as they are).
fn any_first_word(words: &[&str], firsts: &FastSet<&str>, lower: &str) -> bool {
    words.iter().any(|w| firsts.contains(w)) || lower.chars().any(|c| c > '\u{2e80}')
}

/// The words of a lower-case text (runs of letters and digits).
fn words_of(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A cheap test before the search: the phrase's first word must be one of the text's
/// (phrases of scripts written without spaces are always searched).
fn may_contain(words: &[&str], phrase: &str) -> bool {
    let end = phrase
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(phrase.len(), |(at, _)| at);
    let first = &phrase[..end];
    if first.is_empty() || !first.is_ascii() && first.chars().any(|c| c > '\u{2e80}') {
        return true;
    }
    words.contains(&first)
}

/// Whether `phrase` occurs in `text` at word boundaries.
fn contains_word(text: &str, phrase: &str) -> bool {
    let cjk = phrase.chars().next().is_some_and(|c| c > '\u{2e80}');
    let mut from = 0;
    while let Some(at) = text[from..].find(phrase) {
        let start = from + at;
        let end = start + phrase.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if cjk
            || (!before.is_some_and(char::is_alphanumeric)
                && !after.is_some_and(char::is_alphanumeric))
        {
            return true;
        }
        from = start + phrase.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Add-to-cart wording, lower-case.
const ADD_TO_CART: &[&str] = &[
    "add to cart",
    "add to basket",
    "add to bag",
    "add to trolley",
    "add to shopping cart",
    "add to order",
    "buy now",
    "buy it now",
    "in den warenkorb",
    "zum warenkorb hinzufügen",
    "in den einkaufswagen",
    "jetzt kaufen",
    "ajouter au panier",
    "ajouter à mon panier",
    "acheter",
    "añadir al carrito",
    "añadir a la cesta",
    "agregar al carrito",
    "agregar a la bolsa",
    "comprar",
    "adicionar ao carrinho",
    "adicionar à sacola",
    "aggiungi al carrello",
    "acquista",
    "in winkelwagen",
    "in winkelmandje",
    "toevoegen aan winkelwagen",
    "do koszyka",
    "dodaj do koszyka",
    "do košíku",
    "vložit do košíku",
    "kosárba",
    "lägg i varukorgen",
    "köp",
    "legg i handlekurven",
    "læg i kurv",
    "lisää ostoskoriin",
    "в корзину",
    "купить",
    "до кошика",
    "sepete ekle",
    "adaugă în coș",
    "adauga in cos",
    "dodaj u košaricu",
    "u košaricu",
    "купити",
    "do košíka",
    "vložiť do košíka",
    "הוסף לסל",
    "προσθήκη στο καλάθι",
    "thêm vào giỏ",
    "tambah ke keranjang",
    "masukkan keranjang",
    "добави в количката",
    "į krepšelį",
    "ielikt grozā",
    "lisa ostukorvi",
    "加入購物車",
    "カートに入れる",
    "加入购物车",
    "장바구니",
    "أضف إلى",
];

/// Whether a short text is an add-to-cart button's wording.
///
/// ```
/// use product_extractor::availability::is_add_to_cart;
///
/// assert!(is_add_to_cart("Add to Cart"));
/// assert!(is_add_to_cart("In den Warenkorb"));
/// assert!(is_add_to_cart("Ajouter au panier"));
/// assert!(is_add_to_cart("Añadir al carrito"));
/// assert!(is_add_to_cart("Aggiungi al carrello"));
/// assert!(!is_add_to_cart("Add to wishlist"));
/// ```
pub fn is_add_to_cart(text: &str) -> bool {
    let text = text.trim();
    if text.is_empty() || text.len() > 200 || !maybe_phrase(text, &CART_FIRST) {
        return false;
    }
    let lower = text.to_lowercase();
    if lower.is_empty() || lower.chars().count() > 40 {
        return false;
    }
    let words = words_of(&lower);
    if !any_first_word(&words, &CART_FIRST, &lower) {
        return false;
    }
    ADD_TO_CART
        .iter()
        .any(|p| may_contain(&words, p) && contains_word(&lower, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_in_languages() {
        let cases = [
            ("In stock", "InStock"),
            ("Only 2 left in stock - order soon.", "InStock"),
            ("Out of stock", "OutOfStock"),
            ("Sold out", "SoldOut"),
            ("Pre-order", "PreOrder"),
            ("Auf Lager", "InStock"),
            ("Lieferbar", "InStock"),
            ("Ausverkauft", "SoldOut"),
            ("En stock", "InStock"),
            ("Rupture de stock", "OutOfStock"),
            ("Épuisé", "SoldOut"),
            ("Disponible", "InStock"),
            ("Agotado", "SoldOut"),
            ("Disponibile", "InStock"),
            ("Esaurito", "SoldOut"),
            ("Op voorraad", "InStock"),
            ("Нет в наличии", "OutOfStock"),
            ("В наличии", "InStock"),
            ("Currently unavailable.", "OutOfStock"),
            ("Non disponibile", "OutOfStock"),
            ("No disponible", "OutOfStock"),
            ("Indisponível", "OutOfStock"),
            ("Disponível", "InStock"),
            ("Na stanie", "InStock"),
            ("Skladem", "InStock"),
            ("I lager", "InStock"),
            ("Utsolgt", "SoldOut"),
            ("在庫切れ", "OutOfStock"),
            ("품절", "SoldOut"),
            ("غير متوفر", "OutOfStock"),
            ("متوفر", "InStock"),
            ("Μη διαθέσιμο", "OutOfStock"),
            ("În stoc", "InStock"),
            ("Tidak tersedia", "OutOfStock"),
            ("Will be back in stock soon", "OutOfStock"),
        ];
        for (text, name) in cases {
            assert_eq!(wording(text), Some(name), "{text}");
        }
        assert_eq!(wording("Stockholm"), None);
        assert_eq!(wording("Availability"), None);
    }

    #[test]
    fn structured_spellings() {
        assert_eq!(normalize("schema:InStock"), Some("InStock"));
        assert_eq!(normalize("http://schema.org/PreOrder"), Some("PreOrder"));
        assert_eq!(
            normalize("LimitedAvailability"),
            Some("LimitedAvailability")
        );
        assert_eq!(normalize("https://schema.org/SoldOut"), Some("SoldOut"));
        assert_eq!(normalize("OUT OF STOCK"), Some("OutOfStock"));
    }
}
