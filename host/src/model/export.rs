//! What an export asks for, beside its format: which results (filters), which columns
//! (the host's own options, read before the exporter sees the rest), and for how long its
//! file and links last. Each is checked once, when the export is created.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::UnknownValue;

text_enum! {
    /// A column the host can add beside the item's own.
    pub enum ExtraColumn {
        /// The page the item came from, as `_source_url`.
        SourceUrl = "source_url",
        /// The extractor's confidence in the item (or null), as `_confidence`.
        Confidence = "confidence",
        /// What schema validation said of the item (or null), as `_validation_errors`.
        ValidationErrors = "validation_errors",
        /// What the extractor said of each field (or null), as `_fields`.
        Fields = "fields",
    }
}

impl ExtraColumn {
    /// The column's name in the file: underscored, so it never meets a schema property.
    pub fn column(self) -> &'static str {
        match self {
            Self::SourceUrl => "_source_url",
            Self::Confidence => "_confidence",
            Self::ValidationErrors => "_validation_errors",
            Self::Fields => "_fields",
        }
    }

    /// Its JSON Schema, given to the exporter with the item's properties.
    pub fn schema(self) -> Value {
        match self {
            Self::SourceUrl => serde_json::json!({"type": "string", "format": "uri"}),
            Self::Confidence => serde_json::json!({"type": ["number", "null"]}),
            Self::ValidationErrors => {
                serde_json::json!({"type": ["array", "null"], "items": {"type": "object",
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}})
            }
            Self::Fields => serde_json::json!({"type": ["object", "null"],
                "additionalProperties": {"type": "object", "properties": {
                    "confidence": {"type": "number"}, "origin": {"type": "string"},
                    "detail": {"type": "string"}}}}),
        }
    }
}

/// Which results an export takes. Every filter is optional; together they all must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportFilters {
    /// Only items whose confidence is at least this (0 to 1). Items an extractor gave no
    /// confidence count as certain (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<f64>,
    /// `true`: only items that passed schema validation; `false`: only those that did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// Only items from pages whose URL matches this pattern, where `*` stands for any run of
    /// characters (`https://shop.example/books/*`); without a `*` the URL must equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Only items stored at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Only items stored before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// The longest URL pattern a filter takes.
const MAX_PATTERN: usize = 2048;

impl ExportFilters {
    /// Why these filters cannot be used, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if let Some(c) = self.min_confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(format!(
                "filters.min_confidence must be between 0 and 1, not {c}"
            ));
        }
        if let Some(p) = &self.source_url
            && (p.is_empty() || p.len() > MAX_PATTERN || p.contains('\0'))
        {
            return Err(format!(
                "filters.source_url must be a pattern of 1 to {MAX_PATTERN} characters"
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err("filters.since must be before filters.until".into());
        }
        Ok(())
    }

    /// The source URL pattern as SQL `LIKE` text: `*` is `%`, and `%`, `_` and `\` stand
    /// for themselves.
    pub fn source_url_like(&self) -> Option<String> {
        self.source_url.as_ref().map(|p| {
            let mut like = String::with_capacity(p.len() + 8);
            for c in p.chars() {
                match c {
                    '*' => like.push('%'),
                    '%' | '_' | '\\' => {
                        like.push('\\');
                        like.push(c);
                    }
                    c => like.push(c),
                }
            }
            like
        })
    }
}

/// The options the host itself acts on; the rest of an export's options go to its exporter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostOptions {
    /// The item's columns to export, in this order (default: the schema's, in its order).
    pub fields: Option<Vec<String>>,
    /// Columns to leave out.
    pub omit: Vec<String>,
    /// Columns added after the item's.
    pub include: Vec<ExtraColumn>,
    /// Whether the host gzips the exporter's output.
    pub gzip: bool,
}

/// The host's option names: exporters never see them.
pub const HOST_OPTIONS: [&str; 4] = ["fields", "omit", "include", "gzip"];

/// Most columns an export may name.
const MAX_COLUMNS: usize = 1000;

impl HostOptions {
    /// Take the host's options out of `options` (a JSON object), leaving the exporter's.
    pub fn take(options: &mut Map<String, Value>) -> Result<Self, String> {
        fn names(value: Value, option: &str) -> Result<Vec<String>, String> {
            let list: Vec<String> = serde_json::from_value(value)
                .map_err(|_| format!("option `{option}` must be a list of column names"))?;
            if list.len() > MAX_COLUMNS {
                return Err(format!(
                    "option `{option}` names more than {MAX_COLUMNS} columns"
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for name in &list {
                if name.is_empty() || !seen.insert(name.as_str()) {
                    return Err(format!(
                        "option `{option}` names {name:?} twice or an empty column"
                    ));
                }
            }
            Ok(list)
        }
        let fields = options
            .shift_remove("fields")
            .filter(|v| !v.is_null())
            .map(|v| names(v, "fields"))
            .transpose()?;
        let omit = options
            .shift_remove("omit")
            .filter(|v| !v.is_null())
            .map(|v| names(v, "omit"))
            .transpose()?
            .unwrap_or_default();
        let include = match options.shift_remove("include") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => {
                let list: Vec<String> = serde_json::from_value(v).map_err(|_| {
                    "option `include` must be a list of: source_url, confidence, validation_errors, fields"
                        .to_owned()
                })?;
                let mut extras: Vec<ExtraColumn> = Vec::new();
                for name in list {
                    let extra: ExtraColumn = name.parse().map_err(|_| {
                        format!(
                            "option `include` takes source_url, confidence, validation_errors and fields, not {name:?}"
                        )
                    })?;
                    if !extras.contains(&extra) {
                        extras.push(extra);
                    }
                }
                extras
            }
        };
        let gzip = match options.shift_remove("gzip") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err("option `gzip` must be true or false".into()),
        };
        Ok(Self {
            fields,
            omit,
            include,
            gzip,
        })
    }

    /// The item schema as the exporter sees it: top-level `properties` are exactly the
    /// exported columns, in order, with the extra columns last. Fails when `fields` or
    /// `omit` names a column the schema lacks (a schema without properties takes any).
    pub fn project(&self, schema: &Value) -> Result<Projection, String> {
        let props = schema.get("properties").and_then(Value::as_object);
        let open = props.is_none_or(|p| p.is_empty());
        let known = |name: &str, option: &str| -> Result<(), String> {
            if open || props.is_some_and(|p| p.contains_key(name)) {
                Ok(())
            } else {
                Err(format!(
                    "option `{option}` names {name:?}, which the schema's properties do not have"
                ))
            }
        };
        for name in &self.omit {
            known(name, "omit")?;
        }
        let mut columns: Vec<(String, Value)> = Vec::new();
        match &self.fields {
            Some(fields) => {
                for name in fields {
                    known(name, "fields")?;
                    if !self.omit.contains(name) {
                        let sub = props
                            .and_then(|p| p.get(name))
                            .cloned()
                            .unwrap_or_else(|| Value::Object(Map::new()));
                        columns.push((name.clone(), sub));
                    }
                }
            }
            None => {
                for (name, sub) in props.into_iter().flatten() {
                    if !self.omit.contains(name) {
                        columns.push((name.clone(), sub.clone()));
                    }
                }
            }
        }
        let selects = self.fields.is_some();
        let mut out = match schema {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        let item_columns: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let mut properties: Map<String, Value> = columns.into_iter().collect();
        for extra in &self.include {
            // Last, even where the schema has a property of that name (it gives way).
            properties.shift_remove(extra.column());
            properties.insert(extra.column().to_owned(), extra.schema());
        }
        if !properties.is_empty() || props.is_some() {
            out.insert("properties".into(), Value::Object(properties));
        }
        // A column left out is not required of a row.
        if let Some(Value::Array(required)) = out.get_mut("required") {
            required.retain(|r| {
                r.as_str().is_some_and(|r| {
                    !self.omit.iter().any(|o| o == r)
                        && (!selects || item_columns.iter().any(|c| c == r))
                })
            });
        }
        Ok(Projection {
            schema: Value::Object(out),
            // Without `fields` every key of the item goes on but those omitted: the schema
            // may not list them all, and an exporter may take its columns from the rows.
            columns: selects.then_some(item_columns),
            omit: if selects {
                Vec::new()
            } else {
                self.omit.clone()
            },
            include: self.include.clone(),
        })
    }
}

/// The columns one export writes, and the schema its exporter is opened with.
#[derive(Debug, Clone)]
pub struct Projection {
    /// The projected schema.
    pub schema: Value,
    /// The item's columns in order, when the export selects them; `None` passes every key
    /// but those in `omit`.
    pub columns: Option<Vec<String>>,
    /// Keys left out of every row, when `columns` is `None`.
    pub omit: Vec<String>,
    /// Extra columns, after the item's.
    pub include: Vec<ExtraColumn>,
}

impl Projection {
    /// Whether rows are exported as stored (nothing to select, reorder or add).
    pub fn is_identity(&self) -> bool {
        self.columns.is_none() && self.include.is_empty() && self.omit.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn take(options: Value) -> Result<(HostOptions, Value), String> {
        let Value::Object(mut map) = options else {
            panic!("an object")
        };
        let host = HostOptions::take(&mut map)?;
        Ok((host, Value::Object(map)))
    }

    #[test]
    fn host_options_come_out_and_the_rest_stays() {
        let (host, rest) = take(json!({"fields": ["b", "a"], "gzip": true, "delimiter": ";",
            "include": ["confidence", "source_url", "confidence"]}))
        .expect("valid");
        assert_eq!(host.fields, Some(vec!["b".to_owned(), "a".to_owned()]));
        assert!(host.gzip);
        assert_eq!(
            host.include,
            vec![ExtraColumn::Confidence, ExtraColumn::SourceUrl]
        );
        assert_eq!(rest, json!({"delimiter": ";"}));
        for bad in [
            json!({"fields": "a"}),
            json!({"fields": ["a", "a"]}),
            json!({"omit": [1]}),
            json!({"include": ["url"]}),
            json!({"gzip": "yes"}),
        ] {
            assert!(take(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn projection_orders_selects_and_adds() {
        let schema = json!({"type": "object", "required": ["a", "c"],
            "properties": {"a": {"type": "string"}, "b": {"type": "number"}, "c": {"type": "object", "properties": {"x": {}}}}});
        let host = HostOptions {
            fields: Some(vec!["c".into(), "a".into()]),
            omit: vec!["a".into()],
            include: vec![ExtraColumn::SourceUrl],
            gzip: false,
        };
        let p = host.project(&schema).expect("projects");
        let props: Vec<&String> = p.schema["properties"]
            .as_object()
            .expect("object")
            .keys()
            .collect();
        assert_eq!(props, ["c", "_source_url"]);
        assert_eq!(p.schema["required"], json!(["c"]));
        assert_eq!(p.schema["properties"]["c"]["properties"], json!({"x": {}}));
        assert_eq!(p.columns, Some(vec!["c".to_owned()]));
        // `omit` alone keeps every other key, listed or not, and drops what it names
        // from `required`.
        let o = HostOptions {
            omit: vec!["a".into()],
            ..HostOptions::default()
        }
        .project(&schema)
        .expect("projects");
        assert_eq!(o.columns, None);
        assert_eq!(o.omit, ["a"]);
        assert_eq!(o.schema["required"], json!(["c"]));
        assert!(!o.is_identity());
        let open = HostOptions {
            omit: vec!["price".into()],
            ..HostOptions::default()
        }
        .project(&json!({"type": "object"}))
        .expect("projects");
        assert_eq!((open.columns, open.omit), (None, vec!["price".to_owned()]));
        assert!(
            HostOptions {
                fields: Some(vec!["zz".into()]),
                ..HostOptions::default()
            }
            .project(&schema)
            .is_err()
        );
        let all = HostOptions::default().project(&schema).expect("projects");
        assert!(all.is_identity());
        assert_eq!(all.schema, schema);
    }

    #[test]
    fn filters_check_and_patterns_escape() {
        let f: ExportFilters = serde_json::from_value(
            json!({"min_confidence": 0.5, "source_url": "https://a.example/100%_*"}),
        )
        .expect("parses");
        assert_eq!(f.check(), Ok(()));
        assert_eq!(
            f.source_url_like().as_deref(),
            Some("https://a.example/100\\%\\_%")
        );
        assert!(
            serde_json::from_value::<ExportFilters>(json!({"min_conf": 1})).is_err(),
            "unknown filters are refused"
        );
        let bad: ExportFilters =
            serde_json::from_value(json!({"min_confidence": 1.5})).expect("parses");
        assert!(bad.check().is_err());
        let bad: ExportFilters = serde_json::from_value(
            json!({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
        )
        .expect("parses");
        assert!(bad.check().is_err());
    }
}
