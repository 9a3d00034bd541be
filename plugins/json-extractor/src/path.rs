//! The paths the hints are written in: JSONPath (RFC 9535, by `serde_json_path`), with the
//! leading `$.` optional, checked for size before they are parsed, and told apart into
//! singular paths (at most one value: `data.items`) and the others (`data[*].items`).

use serde_json::Value;
use serde_json_path::JsonPath;

/// The longest path accepted, in bytes: a path is a few segments, and the parser's work
/// grows with its length.
pub const MAX_LEN: usize = 512;

/// The deepest nesting of brackets and parentheses accepted: the parser descends once per
/// level, and a filter nested a thousand times would exhaust the plugin's stack.
pub const MAX_NESTING: usize = 16;

/// Where a value is, relative to the value a path is applied to.
#[derive(Debug, Clone)]
pub struct Path {
    select: Select,
    singular: bool,
}

#[derive(Debug, Clone)]
enum Select {
    /// A property's default: the member of that name, looked up without a query.
    Key(String),
    /// A JSONPath query.
    Query(JsonPath),
}

impl Path {
    /// The member named `name` (a property's default path).
    pub fn key(name: &str) -> Self {
        Self {
            select: Select::Key(name.to_owned()),
            singular: true,
        }
    }

    /// A path as a hint writes it: a JSONPath query, where `$` is the value the path is
    /// applied to and may be left out (`meta.next` is `$.meta.next`, `[0]` is `$[0]`).
    /// The error says why the text is not one, without the text itself.
    ///
    /// ```
    /// use json_extractor::path::Path;
    /// use serde_json::json;
    ///
    /// let path = Path::parse("meta.has_next")?;
    /// assert!(path.is_singular());
    /// assert_eq!(path.find(&json!({"meta": {"has_next": true}})), [&json!(true)]);
    /// assert!(!Path::parse("$.data[*].id")?.is_singular());
    /// assert!(Path::parse("data[").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        if text.len() > MAX_LEN {
            return Err(format!("the path is longer than {MAX_LEN} bytes"));
        }
        if nesting(text) > MAX_NESTING {
            return Err(format!(
                "the path nests brackets and parentheses deeper than {MAX_NESTING} levels"
            ));
        }
        let full = if text.starts_with('$') {
            text.to_owned()
        } else if text.starts_with('[') {
            format!("${text}")
        } else {
            format!("$.{text}")
        };
        let query =
            JsonPath::parse(&full).map_err(|e| format!("the path is not a JSONPath: {e}"))?;
        // RFC 9535 (2.3.5.1) lets only singular queries be compared, so the same query
        // relative to the current node parses in a comparison exactly when it is singular;
        // `serde_json_path` does not say so otherwise.
        let singular = JsonPath::parse(&format!("$[?@{} == null]", &full[1..])).is_ok();
        Ok(Self {
            select: Select::Query(query),
            singular,
        })
    }

    /// Whether the path selects at most one value, whatever it is applied to.
    pub fn is_singular(&self) -> bool {
        self.singular
    }

    /// The values the path selects in `value`, in document order.
    pub fn find<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        match &self.select {
            Select::Key(name) => value.get(name.as_str()).into_iter().collect(),
            Select::Query(query) => query.query(value).all(),
        }
    }

    /// The first value the path selects in `value`.
    pub fn first<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match &self.select {
            Select::Key(name) => value.get(name.as_str()),
            Select::Query(query) => query.query(value).first(),
        }
    }
}

/// The deepest nesting of `[` and `(` in `text`, outside quoted names and strings.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn found(path: &str, value: &Value) -> Vec<Value> {
        Path::parse(path)
            .unwrap()
            .find(value)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn the_dollar_is_optional() {
        let v = json!({"data": {"items": [1, 2]}, "list": [{"a": 1}, {"a": 2}]});
        for path in [
            "$.data.items",
            "data.items",
            " data.items ",
            "$['data']['items']",
            "['data'].items",
        ] {
            assert_eq!(found(path, &v), [json!([1, 2])], "{path}");
        }
        assert_eq!(found("$", &v), std::slice::from_ref(&v));
        assert_eq!(found("list[*].a", &v), [json!(1), json!(2)]);
        assert_eq!(found("[0]", &json!(["x", "y"])), [json!("x")]);
        assert_eq!(found("list[?@.a > 1].a", &v), [json!(2)]);
        assert_eq!(found("$..a", &v), [json!(1), json!(2)]);
        assert_eq!(found("list[?length(@) == 1].a", &v), [json!(1), json!(2)]);
    }

    #[test]
    fn singular_paths_are_told_apart() {
        for path in ["$", "a", "a.b", "a[0]", "a['b c']", "a[-1]", "[\"x\"]"] {
            assert!(Path::parse(path).unwrap().is_singular(), "{path}");
        }
        for path in ["a[*]", "a..b", "a[0,1]", "a[0:2]", "a[?@.b]", "*", "a.*.b"] {
            assert!(!Path::parse(path).unwrap().is_singular(), "{path}");
        }
        assert!(Path::key("a").is_singular());
    }

    #[test]
    fn keys_need_no_query() {
        let v = json!({"a b": 1, "$x": 2});
        assert_eq!(Path::key("a b").find(&v), [&json!(1)]);
        assert_eq!(Path::key("$x").first(&v), Some(&json!(2)));
        assert!(Path::key("missing").find(&v).is_empty());
        assert!(Path::key("a").find(&json!([1])).is_empty());
    }

    #[test]
    fn bad_paths_say_why() {
        assert!(
            Path::parse("data[")
                .unwrap_err()
                .starts_with("the path is not a JSONPath: ")
        );
        assert!(Path::parse("a..").is_err());
        assert!(
            Path::parse("a[?match(@.b, 'x')]").is_err(),
            "no regex functions"
        );
        assert_eq!(Path::parse("  ").unwrap_err(), "the path is empty");
        assert!(
            Path::parse(&"a.".repeat(300))
                .unwrap_err()
                .contains("longer than 512")
        );
        let deep = format!("a[?{}@.b{}]", "(".repeat(40), ")".repeat(40));
        assert!(Path::parse(&deep).unwrap_err().contains("deeper than 16"));
        // Brackets inside names do not count.
        assert!(Path::parse(&format!("['{}']", "[".repeat(40))).is_ok());
    }
}
