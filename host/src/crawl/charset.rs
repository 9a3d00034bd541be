//! Bodies to text: the charset a response names, else one its first kilobyte declares,
//! else UTF-8.

/// Decode a body by the charset in the Content-Type header, else a `<meta>` tag in the first
/// kilobyte, else UTF-8 (with replacement characters for invalid bytes).
pub fn decode(body: &[u8], content_type: Option<&str>) -> String {
    let from_header = content_type
        .and_then(charset_param)
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let encoding = from_header
        .or_else(|| sniff_meta_charset(&body[..body.len().min(1024)]))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(body);
    text.into_owned()
}

/// [`decode`] for a body that is no longer needed: a valid UTF-8 body (the common case)
/// becomes the text without a copy.
pub fn decode_owned(body: Vec<u8>, content_type: Option<&str>) -> String {
    let labelled = content_type
        .and_then(charset_param)
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let utf8 = match labelled {
        Some(e) => e == encoding_rs::UTF_8,
        None => sniff_meta_charset(&body[..body.len().min(1024)])
            .is_none_or(|e| e == encoding_rs::UTF_8),
    };
    if utf8 {
        match String::from_utf8(body) {
            Ok(text) => text,
            Err(e) => decode(e.as_bytes(), content_type),
        }
    } else {
        decode(&body, content_type)
    }
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn sniff_meta_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = head.find("charset=")?;
    let rest = head[at + 8..].trim_start_matches(['"', '\'']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    encoding_rs::Encoding::for_label(label.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_by_header_then_meta() {
        assert_eq!(
            decode(b"caf\xe9", Some("text/html; charset=windows-1252")),
            "café"
        );
        assert_eq!(
            decode(b"<meta charset=\"iso-8859-1\">caf\xe9", Some("text/html")),
            "<meta charset=\"iso-8859-1\">café"
        );
        assert_eq!(decode("café".as_bytes(), None), "café");
        assert_eq!(decode_owned("café".as_bytes().to_vec(), None), "café");
        assert_eq!(
            decode_owned(b"caf\xe9".to_vec(), Some("text/html; charset=windows-1252")),
            "café"
        );
        assert_eq!(
            decode_owned(b"caf\xe9".to_vec(), Some("text/html; charset=utf-8")),
            "caf\u{fffd}"
        );
    }
}
