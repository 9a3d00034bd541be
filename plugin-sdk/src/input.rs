//! [`Schema`] and [`Options`]: the JSON texts a plugin receives with each call.
//!
//! Both keep the text as the host sent it and parse it only when asked, once: a plugin
//! that never looks at its options never pays for parsing them.

use std::cell::OnceCell;

use serde_json::{Map, Value};

use crate::PluginError;

/// The item JSON Schema a plugin was called with, as text (it may carry `x-` hints).
///
/// ```
/// use trawl_sdk::Schema;
///
/// let schema = Schema::new(r#"{"type": "object", "properties": {"title": {"type": "string"}}}"#);
/// let json = schema.json()?;
/// assert_eq!(json["properties"]["title"]["type"], "string");
/// # Ok::<(), trawl_sdk::PluginError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Schema {
    text: String,
    parsed: OnceCell<Value>,
}

impl Schema {
    /// A schema from its JSON text (the host does this; tests do it too).
    ///
    /// ```
    /// let schema = trawl_sdk::Schema::new("{}");
    /// assert_eq!(schema.as_str(), "{}");
    /// ```
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            parsed: OnceCell::new(),
        }
    }

    /// The schema as the host sent it.
    ///
    /// ```
    /// let schema = trawl_sdk::Schema::new(r#"{"type":"object"}"#);
    /// assert!(schema.as_str().contains("object"));
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The schema parsed as JSON (parsed on the first call, then kept).
    ///
    /// Fails with [`PluginError::InvalidInput`] when the text is not JSON.
    ///
    /// ```
    /// let schema = trawl_sdk::Schema::new("not json");
    /// assert!(schema.json().is_err());
    /// ```
    pub fn json(&self) -> Result<&Value, PluginError> {
        parse_once(&self.parsed, &self.text, "schema", false)
    }
}

impl AsRef<str> for Schema {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// The plugin options a call was made with: a JSON object as text.
///
/// Empty text counts as `{}`.
///
/// ```
/// use trawl_sdk::Options;
///
/// let options = Options::new(r#"{"mode": "fast", "limit": 3}"#);
/// assert_eq!(options.get_str("mode")?, Some("fast"));
/// assert_eq!(options.get("limit")?.and_then(|v| v.as_u64()), Some(3));
/// assert_eq!(options.get("missing")?, None);
/// # Ok::<(), trawl_sdk::PluginError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Options {
    text: String,
    parsed: OnceCell<Value>,
}

impl Options {
    /// Options from their JSON text (the host does this; tests do it too).
    ///
    /// ```
    /// let options = trawl_sdk::Options::new("");
    /// assert!(options.json()?.as_object().is_some_and(|o| o.is_empty()));
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            parsed: OnceCell::new(),
        }
    }

    /// The options as the host sent them.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"a":1}"#);
    /// assert_eq!(options.as_str(), r#"{"a":1}"#);
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The options parsed (on the first call, then kept). Empty text is `{}`.
    ///
    /// Fails with [`PluginError::InvalidInput`] when the text is not a JSON object.
    ///
    /// ```
    /// assert!(trawl_sdk::Options::new("[1, 2]").json().is_err());
    /// ```
    pub fn json(&self) -> Result<&Value, PluginError> {
        parse_once(&self.parsed, &self.text, "options", true)
    }

    /// The options as a JSON object.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"a": 1, "b": 2}"#);
    /// assert_eq!(options.object()?.len(), 2);
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn object(&self) -> Result<&Map<String, Value>, PluginError> {
        self.json()?
            .as_object()
            .ok_or_else(|| PluginError::invalid_input("options must be a JSON object"))
    }

    /// One option, if it is set.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"strict": true}"#);
    /// assert_eq!(options.get("strict")?, Some(&trawl_sdk::serde_json::json!(true)));
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn get(&self, key: &str) -> Result<Option<&Value>, PluginError> {
        Ok(self.object()?.get(key))
    }

    /// One string option, if it is set; an error if it is set to something else.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"mode": "ok", "n": 1}"#);
    /// assert_eq!(options.get_str("mode")?, Some("ok"));
    /// assert!(options.get_str("n").is_err());
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn get_str(&self, key: &str) -> Result<Option<&str>, PluginError> {
        match self.get(key)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(PluginError::invalid_input(format!(
                "option `{key}` must be a string, not {other}"
            ))),
        }
    }

    /// One true-or-false option, if it is set; an error if it is set to something else.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"bom": true, "n": 1}"#);
    /// assert_eq!(options.get_bool("bom")?, Some(true));
    /// assert_eq!(options.get_bool("missing")?, None);
    /// assert!(options.get_bool("n").is_err());
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, PluginError> {
        match self.get(key)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(PluginError::invalid_input(format!(
                "option `{key}` must be true or false, not {other}"
            ))),
        }
    }

    /// One whole-number option in `range`, if it is set; an error if it is set to
    /// anything else.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"rows": 500, "big": 9, "x": "1"}"#);
    /// assert_eq!(options.get_u64("rows", 1..=1000)?, Some(500));
    /// assert!(options.get_u64("big", 1..=5).is_err());
    /// assert!(options.get_u64("x", 1..=5).is_err());
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn get_u64(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, PluginError> {
        match self.get(key)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| range.contains(&n)) => {
                Ok(n.as_u64())
            }
            Some(other) => Err(PluginError::invalid_input(format!(
                "option `{key}` must be a whole number from {} to {}, not {other}",
                range.start(),
                range.end()
            ))),
        }
    }

    /// Refuse any option not named in `known`, so that a misspelt option is an error
    /// at creation rather than silently ignored.
    ///
    /// ```
    /// let options = trawl_sdk::Options::new(r#"{"delimiter": ";", "delimeter": ","}"#);
    /// let err = options.allow_only(&["delimiter", "bom"]).unwrap_err();
    /// assert_eq!(
    ///     err.message(),
    ///     "unknown option `delimeter`; the options are `delimiter`, `bom`"
    /// );
    /// assert!(trawl_sdk::Options::new("{}").allow_only(&[]).is_ok());
    /// ```
    pub fn allow_only(&self, known: &[&str]) -> Result<(), PluginError> {
        let Some(unknown) = self.object()?.keys().find(|k| !known.contains(&k.as_str())) else {
            return Ok(());
        };
        let takes = if known.is_empty() {
            "there are no options".to_owned()
        } else {
            let names: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("the options are {}", names.join(", "))
        };
        Err(PluginError::invalid_input(format!(
            "unknown option `{unknown}`; {takes}"
        )))
    }
}

impl AsRef<str> for Options {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

fn parse_once<'a>(
    cell: &'a OnceCell<Value>,
    text: &str,
    what: &str,
    object_required: bool,
) -> Result<&'a Value, PluginError> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = if object_required && text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(text)
            .map_err(|e| PluginError::invalid_input(format!("{what} is not valid JSON: {e}")))?
    };
    if object_required && !value.is_object() {
        return Err(PluginError::invalid_input(format!(
            "{what} must be a JSON object"
        )));
    }
    Ok(cell.get_or_init(|| value))
}
