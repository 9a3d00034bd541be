//! Reading the JSON in a `<script type="application/ld+json">` the way pages write it,
//! not the way RFC 8259 does.
//!
//! Pages are assembled by templates and CMS plugins, and browsers never parse JSON-LD, so
//! nothing stops comments, raw line breaks in strings, trailing commas or HTML entities from
//! shipping. One pass over the text ([`repair`]) rewrites what has a single obvious meaning
//! into strict JSON, then `serde_json` reads every value the script holds ([`parse_script`]).
//! Anything still broken is an error for the caller to skip: never a panic.

use serde_json::Value;

/// Every JSON value in one script's text: usually one object, but pages also put several
/// objects one after the other (with or without commas between them).
///
/// The text is first [`repair`]ed; if it still does not parse and holds `&`, it is read
/// once more with HTML entities decoded (some CMSs escape the script's contents). The values
/// before a syntax error are kept; the error is returned beside them.
///
/// ```
/// use trawl_sdk::json_repair::parse_script;
///
/// let (values, error) = parse_script(r#"{"@type": "Thing", /* note */ "name": "A",}"#);
/// assert_eq!(values[0]["name"], "A");
/// assert!(error.is_none());
/// ```
pub fn parse_script(text: &str) -> (Vec<Value>, Option<String>) {
    let (values, error) = parse_values(&repair(text));
    match error {
        Some(_) if text.contains('&') => {
            let (unescaped, second) = parse_values(&repair(&decode_entities(text)));
            if second.is_none() || unescaped.len() > values.len() {
                return (unescaped, second);
            }
            (values, error)
        }
        _ => (values, error),
    }
}

/// Rewrites the common departures from JSON into JSON, in one pass that knows whether it
/// is inside a string:
///
/// - outside strings: `//` and `/* */` comments, the HTML comment markers `<!--` and `-->`
///   (each, as in JavaScript, a comment to the end of its line), `<![CDATA[` and `]]>`, a
///   byte-order mark, and trailing, doubled or leading commas are removed; Unicode spaces
///   become plain spaces;
/// - inside strings: raw control characters (line breaks, tabs) are escaped, and an escape
///   JSON does not know (`\'`, `\x`) keeps its character and loses the backslash; a
///   backslash before a line break continues the line, as in JavaScript.
///
/// ```
/// use trawl_sdk::json_repair::repair;
///
/// assert_eq!(repair("{\"a\": \"x\ny\", // why\n}"), "{\"a\": \"x\\ny\"}");
/// ```
pub fn repair(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let mut step = c.len_utf8();
        if in_string {
            match c {
                '"' => {
                    in_string = false;
                    out.push('"');
                }
                '\\' => step = 1 + escape(&rest[1..], &mut out),
                c if u32::from(c) < 0x20 => push_control(c, &mut out),
                c => out.push(c),
            }
        } else if rest.starts_with("//") || rest.starts_with("<!--") || rest.starts_with("-->") {
            step = rest.find('\n').unwrap_or(rest.len());
        } else if let Some(comment) = rest.strip_prefix("/*") {
            step = comment.find("*/").map_or(rest.len(), |end| end + 4);
        } else if rest.starts_with("<![CDATA[") {
            step = "<![CDATA[".len();
        } else if rest.starts_with("]]>") {
            step = "]]>".len();
        } else {
            match c {
                '"' => {
                    in_string = true;
                    out.push('"');
                }
                ',' => {
                    // A comma after nothing, or after another comma, separates nothing.
                    if !matches!(out.trim_end().chars().last(), None | Some(',' | '[' | '{')) {
                        out.push(',');
                    }
                }
                '}' | ']' => {
                    let kept = out.trim_end().len();
                    if out[..kept].ends_with(',') {
                        out.truncate(kept - 1);
                    }
                    out.push(c);
                }
                '\u{feff}' => {}
                c if c.is_whitespace() && !c.is_ascii() => out.push(' '),
                c => out.push(c),
            }
        }
        i += step;
    }
    out
}

/// Writes the escape that starts after a backslash in `rest`; returns the bytes used.
fn escape(rest: &str, out: &mut String) -> usize {
    let Some(c) = rest.chars().next() else {
        return 0;
    };
    match c {
        '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => {
            out.push('\\');
            out.push(c);
            1
        }
        // Four ASCII hex digits, so byte 5 is a character boundary.
        'u' if rest
            .as_bytes()
            .get(1..5)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
        {
            out.push('\\');
            out.push_str(&rest[..5]);
            5
        }
        // JavaScript's line continuation: the break is not part of the string.
        '\n' => 1,
        '\r' => 1 + usize::from(rest[1..].starts_with('\n')),
        // An escape JSON does not know means the character itself (`\'` is `'`).
        c if u32::from(c) < 0x20 => {
            push_control(c, out);
            c.len_utf8()
        }
        c => {
            out.push(c);
            c.len_utf8()
        }
    }
}

fn push_control(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{:04x}", u32::from(c))),
    }
}

/// The values of a text holding zero or more JSON values, separated by whitespace, commas
/// or semicolons; stops at the first syntax error and returns it beside what was read.
fn parse_values(text: &str) -> (Vec<Value>, Option<String>) {
    let mut values = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
        if rest.is_empty() {
            return (values, None);
        }
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                values.push(value);
                rest = &rest[stream.byte_offset()..];
            }
            Some(Err(e)) => return (values, Some(e.to_string())),
            None => return (values, None),
        }
    }
}

/// Decodes the HTML character references a CMS may have put in a script: the five XML
/// entities, `&nbsp;`, and numeric references. Anything else is left as written.
///
/// ```
/// use trawl_sdk::json_repair::decode_entities;
///
/// assert_eq!(decode_entities("{&quot;a&quot;: &#34;b &amp; c&#x22;}"), r#"{"a": "b & c"}"#);
/// ```
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Entity names are short: look for the `;` only nearby.
        let semicolon = rest[1..].char_indices().take(12).find(|&(_, c)| c == ';');
        let decoded = semicolon.and_then(|(end, _)| {
            let name = &rest[1..=end];
            let c = match name {
                "quot" => Some('"'),
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let code =
                        if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                            u32::from_str_radix(hex, 16).ok()
                        } else {
                            name.strip_prefix('#').and_then(|dec| dec.parse().ok())
                        };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end + 2))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        let (mut values, error) = parse_script(text);
        assert_eq!(error, None, "{text}");
        assert_eq!(values.len(), 1, "{text}");
        values.remove(0)
    }

    #[test]
    fn strict_json_is_untouched() {
        let text = r#"{"a": [1, 2.5, true, null], "b": "x // not a comment, /* nor this */ \"q\" \u00e9"}"#;
        assert_eq!(repair(text), text);
        assert_eq!(
            one(text)["b"],
            json!("x // not a comment, /* nor this */ \"q\" é")
        );
    }

    #[test]
    fn comments_are_dropped_outside_strings() {
        let text = "  // John allocated 5 hours to exercise.\n{\n \"a\": 1, // one\n /* two\n lines */ \"b\": \"// kept\"\n}";
        assert_eq!(one(text), json!({"a": 1, "b": "// kept"}));
        let html = "<!-- John joined the festival. -->\n{\"x\": \"<!-- kept --><b>y</b>\"}";
        assert_eq!(one(html), json!({"x": "<!-- kept --><b>y</b>"}));
        let cdata = "//<![CDATA[\n{\"a\": 1}\n//]]>";
        assert_eq!(one(cdata), json!({"a": 1}));
        assert_eq!(one("<![CDATA[{\"a\": 1}]]>"), json!({"a": 1}));
        // An HTML comment around the whole block only hides its own lines.
        assert_eq!(one("<!--\n{\"a\": 1}\n-->"), json!({"a": 1}));
    }

    #[test]
    fn trailing_and_stray_commas() {
        assert_eq!(
            one(r#"{"a": [1, 2,], "b": {"c": 3,},}"#),
            json!({"a": [1, 2], "b": {"c": 3}})
        );
        assert_eq!(one("[,1,,2 , ,]"), json!([1, 2]));
        assert_eq!(
            one("{\"articleSection\": \"商情\", // category\n //\"interactionCount\": \"\"\n}"),
            json!({"articleSection": "商情"})
        );
    }

    #[test]
    fn control_characters_in_strings_are_escaped() {
        let text = "{\"data\": \"line 1\n        line 2\tend\u{1}\r\n\"}";
        assert_eq!(
            one(text)["data"],
            json!("line 1\n        line 2\tend\u{1}\r\n")
        );
    }

    #[test]
    fn unknown_escapes_keep_their_character() {
        assert_eq!(
            one(r#"{"a": "it\'s \x \u00e9 \uZZ"}"#)["a"],
            json!("it's x é uZZ")
        );
        assert_eq!(one("{\"a\": \"one \\\ntwo\"}")["a"], json!("one two"));
        // A lone backslash at the very end is left for the parser to reject.
        assert!(parse_script("{\"a\": \"x\\").1.is_some());
    }

    #[test]
    fn several_values_in_one_script() {
        let (values, error) = parse_script("{\"a\": 1}\n{\"b\": 2},{\"c\": 3};[4]");
        assert_eq!(error, None);
        assert_eq!(
            values,
            vec![
                json!({"a": 1}),
                json!({"b": 2}),
                json!({"c": 3}),
                json!([4])
            ]
        );
        assert_eq!(parse_script("  \n ").0, Vec::<Value>::new());
    }

    #[test]
    fn broken_text_is_an_error_after_what_parsed() {
        let (values, error) = parse_script("{\"a\": 1} {\"b\": ");
        assert_eq!(values, vec![json!({"a": 1})]);
        assert!(error.is_some());
        for broken in [
            "{",
            "}",
            "{\"a\" 1}",
            "<html>",
            "\"unterminated",
            "{'a': 1}",
            "]]",
            "/*",
        ] {
            assert!(
                parse_script(broken).1.is_some() || parse_script(broken).0.is_empty(),
                "{broken}"
            );
        }
    }

    #[test]
    fn html_escaped_scripts() {
        let text =
            "{&quot;@type&quot;: &quot;Product&quot;, &quot;name&quot;: &quot;A &amp;amp; B&quot;}";
        assert_eq!(one(text), json!({"@type": "Product", "name": "A &amp; B"}));
        // Valid JSON that merely contains entities keeps them.
        assert_eq!(one(r#"{"name": "A &amp; B"}"#)["name"], json!("A &amp; B"));
        assert_eq!(
            decode_entities("&bogus; & &#xZZ; &#169;"),
            "&bogus; & &#xZZ; ©"
        );
    }

    #[test]
    fn odd_whitespace_outside_strings() {
        assert_eq!(one("\u{feff}{\u{a0}\"a\":\u{2003}1}"), json!({"a": 1}));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_script(&deep).1.is_some());
    }
}
