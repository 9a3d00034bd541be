//! Checking a schema's `x-` hints: a plugin that reads hints refuses the ones it does not
//! know, with the one it was likely meant to be, so that a misspelt hint (`x-selecter`)
//! fails when the schema is saved rather than giving empty items at every run.

use crate::PluginError;

/// The first key of `keys` that starts with `x-` and is not in `known`, as an
/// [`PluginError::InvalidInput`] at `at` (the JSON pointer of the object the keys are
/// in, `""` for the schema's root), saying which hint was likely meant, or else which
/// hints `plugin` reads.
///
/// ```
/// use trawl_sdk::hints::known_hints;
///
/// let known = ["x-selector", "x-attr"];
/// assert!(known_hints(["type", "x-attr"], &known, "/properties/title", "my-extractor").is_ok());
/// let err = known_hints(["x-selecter"], &known, "/properties/title", "my-extractor").unwrap_err();
/// assert_eq!(
///     err.message(),
///     "/properties/title/x-selecter: unknown hint `x-selecter`: did you mean `x-selector`?"
/// );
/// let err = known_hints(["x-path"], &known, "", "my-extractor").unwrap_err();
/// assert_eq!(
///     err.message(),
///     "/x-path: unknown hint `x-path`: the my-extractor reads x-selector, x-attr"
/// );
/// ```
pub fn known_hints<'k>(
    keys: impl IntoIterator<Item = &'k str>,
    known: &[&str],
    at: &str,
    plugin: &str,
) -> Result<(), PluginError> {
    for key in keys {
        if !key.starts_with("x-") || known.contains(&key) {
            continue;
        }
        let said = match closest(key, known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("the {plugin} reads {}", known.join(", ")),
        };
        return Err(PluginError::invalid_at(
            &format!("{at}/{}", pointer_token(key)),
            format!("unknown hint `{key}`: {said}"),
        ));
    }
    Ok(())
}

/// A name as one JSON-pointer token (RFC 6901: `~` becomes `~0`, `/` becomes `~1`).
///
/// ```
/// assert_eq!(trawl_sdk::hints::pointer_token("a/b~c"), "a~1b~0c");
/// ```
pub fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The name of `known` within a few edits of `key` (two, or a quarter of its length for
/// long names), the nearest first.
///
/// ```
/// let known = ["x-scope", "x-selector"];
/// assert_eq!(trawl_sdk::hints::closest("x-scop", &known), Some("x-scope"));
/// assert_eq!(trawl_sdk::hints::closest("x-nothing-alike", &known), None);
/// ```
pub fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, by characters.
///
/// ```
/// assert_eq!(trawl_sdk::hints::edit_distance("kitten", "sitting"), 3);
/// ```
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
