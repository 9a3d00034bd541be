//! The bundled CSV exporter (RFC 4180, via the `csv` crate).
//!
//! Columns are the item schema's top-level `properties`, in schema order; the header row
//! is written first, even for an export of zero rows. Cells: strings as they are, numbers
//! and booleans as their JSON text, `null` or missing as empty, objects and arrays as
//! compact JSON. Keys a row has beyond the schema's properties are not exported.
//!
//! Options (all optional; any other key is refused):
//! - `delimiter`: one ASCII character instead of `,` (`";"`, `"\t"`).
//! - `bom`: `true` to start the file with a UTF-8 byte order mark, which Excel needs to
//!   read non-ASCII text correctly.
//! - `flatten`: `true` to give each property of a nested object its own dotted column
//!   (`seller.name`, `seller.address.city`), following the schema's nested `properties`
//!   (or, without a schema, the first row's objects). Objects the schema does not
//!   describe, and arrays, stay compact JSON in one cell.
//! - `escape_formulas`: `true` to prefix string cells starting with `=`, `+`, `-`, `@`, tab
//!   or carriage return with `'`, so that spreadsheets show scraped text instead of
//!   running it as a formula.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use trawl_sdk::prelude::*;

/// The option keys this exporter takes.
const OPTIONS: &[&str] = &["delimiter", "bom", "flatten", "escape_formulas"];

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One column: its header (`seller.name`) and the keys leading to its value.
#[derive(Debug, Clone)]
struct Column {
    header: String,
    path: Vec<String>,
}

impl Column {
    /// This column's value in a row: its JSON text. `hint` is where the member usually
    /// is (rows come in the schema's order), tried before a search.
    fn value<'a>(&self, row: &[Member<'a>], hint: usize) -> Option<&'a RawValue> {
        let (first, rest) = self.path.split_first()?;
        let mut value = find(row, first, hint)?;
        for key in rest {
            if !value.get().starts_with('{') {
                return None;
            }
            let inner = members(value.get()).ok()?;
            value = find(&inner, key, 0)?;
        }
        Some(value)
    }
}

/// One member of a row object: its key and its value's JSON text.
type Member<'a> = (Cow<'a, str>, &'a RawValue);

fn find<'a>(row: &[Member<'a>], key: &str, hint: usize) -> Option<&'a RawValue> {
    match row.get(hint) {
        Some((k, v)) if k == key => Some(*v),
        _ => row.iter().find(|(k, _)| k == key).map(|(_, v)| *v),
    }
}

/// A row object's members in the order written, each value left as text: a row is
/// scanned once, and only the strings that become cells are decoded.
fn members(row: &str) -> Result<Vec<Member<'_>>, serde_json::Error> {
    struct Members<'a>(Vec<Member<'a>>);
    impl<'de> serde::Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16).min(256));
                    while let Some(Text(key)) = map.next_key()? {
                        out.push((key, map.next_value()?));
                    }
                    Ok(Members(out))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Members<'_>>(row).map(|m| m.0)
}

/// A JSON string, borrowed from the text when it has no escapes.
#[derive(serde::Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The nested properties a schema gives an object, when it gives any.
fn object_properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())
}

/// Columns for `name` under `prefix`: one, or with `flatten` one per nested property.
fn schema_columns(
    out: &mut Vec<Column>,
    path: &[String],
    name: &str,
    schema: &Value,
    flatten: bool,
) {
    let mut path = path.to_vec();
    path.push(name.to_owned());
    match object_properties(schema).filter(|_| flatten) {
        Some(props) => {
            for (sub, sub_schema) in props {
                schema_columns(out, &path, sub, sub_schema, flatten);
            }
        }
        None => out.push(Column {
            header: path.join("."),
            path,
        }),
    }
}

/// Columns from a row's keys: with `flatten`, nested objects become dotted columns.
fn row_columns(out: &mut Vec<Column>, path: &[String], row: &Map<String, Value>, flatten: bool) {
    for (key, value) in row {
        let mut path = path.to_vec();
        path.push(key.clone());
        match value {
            Value::Object(inner) if flatten && !inner.is_empty() => {
                row_columns(out, &path, inner, flatten);
            }
            _ => out.push(Column {
                header: path.join("."),
                path,
            }),
        }
    }
}

/// One CSV export in progress.
pub struct CsvExport {
    columns: Vec<Column>,
    /// Whether columns come from the first row (the schema has no properties).
    columns_from_first_row: bool,
    header_written: bool,
    escape_formulas: bool,
    bom: bool,
    flatten: bool,
    rows_seen: u64,
    builder: csv::WriterBuilder,
}

impl CsvExport {
    fn header_if_needed(&mut self, out: &mut csv::Writer<Vec<u8>>) -> Result<(), PluginError> {
        if !self.header_written {
            self.header_written = true;
            if !self.columns.is_empty() {
                out.write_record(self.columns.iter().map(|c| &c.header))
                    .map_err(csv_error)?;
            }
        }
        Ok(())
    }

    /// A writer for one batch: each call returns only its own bytes. The first batch,
    /// which writes the header, starts with the byte order mark when one is asked for.
    fn batch(&self) -> csv::Writer<Vec<u8>> {
        let start = if self.bom && !self.header_written {
            BOM.to_vec()
        } else {
            Vec::new()
        };
        self.builder.from_writer(start)
    }

    /// A cell: strings as they are, `null` or missing as empty, anything else as its
    /// JSON text (numbers exactly as written).
    fn cell<'a>(&self, value: Option<&'a RawValue>) -> Result<Cow<'a, str>, PluginError> {
        let Some(raw) = value.map(RawValue::get) else {
            return Ok(Cow::Borrowed(""));
        };
        if raw == "null" {
            return Ok(Cow::Borrowed(""));
        }
        if !raw.starts_with('"') {
            return Ok(Cow::Borrowed(raw));
        }
        let Text(text) = serde_json::from_str(raw)
            .map_err(|e| PluginError::other(format!("row {}: {e}", self.rows_seen)))?;
        // Only text can smuggle a formula: a JSON number like -3 stays a number.
        if self.escape_formulas && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            return Ok(Cow::Owned(format!("'{text}")));
        }
        Ok(text)
    }
}

fn csv_error(e: csv::Error) -> PluginError {
    PluginError::other(format!("CSV: {e}"))
}

fn into_bytes(out: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, PluginError> {
    out.into_inner()
        .map_err(|e| PluginError::other(format!("CSV: {}", e.error())))
}

impl Exporter for CsvExport {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "csv-exporter",
            env!("CARGO_PKG_VERSION"),
            "CSV (RFC 4180) with a header row of the schema's properties",
        )
    }

    fn format() -> Format {
        Format::new("text/csv", "csv")
    }

    fn open(schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        options.allow_only(OPTIONS)?;
        let flatten = options.get_bool("flatten")?.unwrap_or(false);
        let columns: Vec<Column> = match schema.json()?.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(props)) => {
                let mut columns = Vec::with_capacity(props.len());
                for (name, sub) in props {
                    schema_columns(&mut columns, &[], name, sub, flatten);
                }
                columns
            }
            Some(_) => {
                return Err(PluginError::invalid_input(
                    "schema `properties` must be an object",
                ));
            }
        };
        let delimiter = match options.get_str("delimiter")? {
            None => b',',
            Some(d) if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" && d != "\r" => {
                d.as_bytes()[0]
            }
            Some(d) => {
                return Err(PluginError::invalid_input(format!(
                    "option `delimiter` must be one ASCII character other than a quote or a line break, not {d:?}"
                )));
            }
        };
        let escape_formulas = options.get_bool("escape_formulas")?.unwrap_or(false);
        let bom = options.get_bool("bom")?.unwrap_or(false);
        let mut builder = csv::WriterBuilder::new();
        builder
            .delimiter(delimiter)
            .terminator(csv::Terminator::CRLF)
            // A header row and data rows may differ in length when columns come from
            // the first row; padding is done here, not by the writer.
            .flexible(true);
        Ok(Self {
            columns_from_first_row: columns.is_empty(),
            columns,
            header_written: false,
            escape_formulas,
            bom,
            flatten,
            rows_seen: 0,
            builder,
        })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let mut out = self.batch();
        for row in rows {
            self.rows_seen += 1;
            let members = members(&row).map_err(|e| {
                PluginError::other(format!("row {} is not a JSON object: {e}", self.rows_seen))
            })?;
            if self.columns_from_first_row && !self.header_written {
                // Once, for the first row: its objects parsed, for flattening.
                let object: Map<String, Value> = serde_json::from_str(&row).map_err(|e| {
                    PluginError::other(format!("row {} is not a JSON object: {e}", self.rows_seen))
                })?;
                row_columns(&mut self.columns, &[], &object, self.flatten);
                if self.columns.is_empty() {
                    // Every later row would be written as nothing.
                    return Err(PluginError::other(
                        "the schema lists no properties and the first row has no keys, so there are no columns to write: give the schema its properties",
                    ));
                }
            }
            self.header_if_needed(&mut out)?;
            if self.columns.is_empty() {
                continue;
            }
            for (i, column) in self.columns.iter().enumerate() {
                let cell = self.cell(column.value(&members, i))?;
                out.write_field(cell.as_bytes()).map_err(csv_error)?;
            }
            out.write_record(None::<&[u8]>).map_err(csv_error)?;
        }
        self.header_if_needed(&mut out)?;
        into_bytes(out)
    }

    fn finish(mut self) -> Result<Vec<u8>, PluginError> {
        let mut out = self.batch();
        self.header_if_needed(&mut out)?;
        into_bytes(out)
    }
}

register_exporter!(CsvExport);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn open(schema: &str, options: &str) -> CsvExport {
        CsvExport::open(&Schema::new(schema), &Options::new(options)).unwrap()
    }

    const SCHEMA: &str = r#"{"type":"object","properties":{
        "title":{"type":"string"},"price":{"type":"number"},"in_stock":{"type":"boolean"},
        "tags":{"type":"array"},"seller":{"type":"object"},"note":{"type":["string","null"]}}}"#;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn header_in_schema_order_and_cells() {
        let mut export = open(SCHEMA, "");
        let out = export
            .write(vec![
                // Keys in another order than the schema; one extra key.
                r#"{"price":51.77,"title":"A Light in the \"Attic\"","in_stock":true,"tags":["a","b"],"seller":{"n":1},"note":null,"extra":1}"#.into(),
                r#"{"title":"Line\nbreak, comma"}"#.into(),
            ])
            .unwrap();
        assert_eq!(
            text(out),
            "title,price,in_stock,tags,seller,note\r\n\
             \"A Light in the \"\"Attic\"\"\",51.77,true,\"[\"\"a\"\",\"\"b\"\"]\",\"{\"\"n\"\":1}\",\r\n\
             \"Line\nbreak, comma\",,,,,\r\n"
        );
        // Streaming: the next batch has only its own rows, the header is not repeated.
        let out = export
            .write(vec![r#"{"title":"x","price":3}"#.into()])
            .unwrap();
        assert_eq!(text(out), "x,3,,,,\r\n");
        assert_eq!(text(export.finish().unwrap()), "");
    }

    #[test]
    fn header_even_with_zero_rows() {
        let export = open(SCHEMA, "{}");
        assert_eq!(
            text(export.finish().unwrap()),
            "title,price,in_stock,tags,seller,note\r\n"
        );
        let mut export = open(SCHEMA, "{}");
        assert_eq!(
            text(export.write(vec![]).unwrap()),
            "title,price,in_stock,tags,seller,note\r\n"
        );
        assert_eq!(text(export.finish().unwrap()), "");
    }

    #[test]
    fn options() {
        let mut export = open(
            r#"{"properties":{"a":{},"b":{}}}"#,
            r#"{"delimiter":";","escape_formulas":true}"#,
        );
        let out = export
            .write(vec![
                r#"{"a":"=HYPERLINK(\"x\")","b":"-3"}"#.into(),
                r#"{"a":-3,"b":"a-b"}"#.into(),
            ])
            .unwrap();
        assert_eq!(
            text(out),
            "a;b\r\n\"'=HYPERLINK(\"\"x\"\")\";'-3\r\n-3;a-b\r\n"
        );
        for bad in [
            r#"{"delimiter":";;"}"#,
            r#"{"delimiter":"\""}"#,
            r#"{"escape_formulas":1}"#,
            r#"{"bom":"yes"}"#,
            r#"{"flatten":1}"#,
            r#"{"delimeter":";"}"#,
            "[1]",
        ] {
            assert!(
                matches!(
                    CsvExport::open(&Schema::new(SCHEMA), &Options::new(bad)),
                    Err(PluginError::InvalidInput(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn columns_from_first_row_without_properties() {
        let mut export = open(r#"{"type":"object"}"#, "");
        let out = export
            .write(vec![r#"{"b":1,"a":2}"#.into(), r#"{"a":3,"c":4}"#.into()])
            .unwrap();
        assert_eq!(text(out), "b,a\r\n1,2\r\n,3\r\n");
        assert_eq!(text(open("{}", "").finish().unwrap()), "");
        // A first row with no keys leaves nothing to take columns from: an error, not a
        // file of empty rows.
        let err = open("{}", "")
            .write(vec!["{}".into(), r#"{"a":1}"#.into()])
            .unwrap_err();
        assert!(err.message().contains("no columns"), "{err}");
    }

    #[test]
    fn bad_rows() {
        let mut export = open(SCHEMA, "");
        let err = export.write(vec!["{}".into(), "[1]".into()]).unwrap_err();
        assert!(
            err.message().starts_with("row 2 is not a JSON object"),
            "{err}"
        );
        assert!(CsvExport::open(&Schema::new("{"), &Options::new("")).is_err());
        assert!(CsvExport::open(&Schema::new(r#"{"properties":[]}"#), &Options::new("")).is_err());
    }

    #[test]
    fn unknown_options_are_named() {
        let err = CsvExport::open(&Schema::new(SCHEMA), &Options::new(r#"{"delimeter":";"}"#))
            .err()
            .unwrap();
        assert!(err.message().contains("`delimeter`"), "{err}");
        assert!(err.message().contains("`delimiter`"), "{err}");
    }

    #[test]
    fn bom_comes_first_once() {
        let mut export = open(r#"{"properties":{"a":{}}}"#, r#"{"bom":true}"#);
        let first = export.write(vec![r#"{"a":"é"}"#.into()]).unwrap();
        assert_eq!(first, "\u{feff}a\r\né\r\n".as_bytes());
        assert_eq!(export.write(vec![r#"{"a":"b"}"#.into()]).unwrap(), b"b\r\n");
        // Zero rows: the mark and the header.
        let export = open(r#"{"properties":{"a":{}}}"#, r#"{"bom":true}"#);
        assert_eq!(export.finish().unwrap(), "\u{feff}a\r\n".as_bytes());
    }

    #[test]
    fn flatten_follows_nested_properties() {
        let schema = r#"{"properties":{"title":{},"seller":{"type":"object","properties":{
            "name":{},"address":{"properties":{"city":{},"zip":{}}}}},"meta":{"type":"object"},"tags":{}}}"#;
        let mut export = open(schema, r#"{"flatten":true}"#);
        let out = export
            .write(vec![
                r#"{"title":"t","seller":{"name":"S","address":{"city":"Łódź","zip":"00123"}},"meta":{"k":1},"tags":[1]}"#.into(),
                r#"{"title":"u","seller":{"name":"N"}}"#.into(),
                r#"{"title":"v","seller":"not an object"}"#.into(),
            ])
            .unwrap();
        assert_eq!(
            text(out),
            "title,seller.name,seller.address.city,seller.address.zip,meta,tags\r\n\
             t,S,Łódź,00123,\"{\"\"k\"\":1}\",[1]\r\n\
             u,N,,,,\r\n\
             v,,,,,\r\n"
        );
        // Without flatten the object is one JSON cell.
        let mut export = open(schema, "");
        let out = export
            .write(vec![r#"{"title":"t","seller":{"name":"S"}}"#.into()])
            .unwrap();
        assert_eq!(
            text(out),
            "title,seller,meta,tags\r\nt,\"{\"\"name\"\":\"\"S\"\"}\",,\r\n"
        );
    }

    #[test]
    fn flatten_without_a_schema_uses_the_first_row() {
        let mut export = open("{}", r#"{"flatten":true}"#);
        let out = export
            .write(vec![
                r#"{"a":{"b":1,"c":{"d":2}},"e":{}}"#.into(),
                r#"{"a":{"b":3}}"#.into(),
            ])
            .unwrap();
        assert_eq!(text(out), "a.b,a.c.d,e\r\n1,2,{}\r\n3,,\r\n");
    }
}
