//! The bundled Parquet exporter: columns typed from the item schema (via the `parquet`
//! crate's Arrow writer).
//!
//! Columns are the item schema's top-level `properties`, in schema order, each named after
//! its property and nullable. Their types follow the property's `type` (a `"null"` beside
//! one other type is ignored):
//! - `string` is UTF-8 text; with `format: date-time` it is a timestamp (microseconds,
//!   UTC) and with `format: date` a date. A string that does not parse as RFC 3339
//!   (`2024-05-01T12:30:00+02:00`, with `Z` or an offset) or as `YYYY-MM-DD` is written as
//!   null there: the column keeps one type, and the item's validation errors tell which
//!   values were wrong;
//! - `integer` is a 64-bit integer, `number` a double (`["integer","number"]` too),
//!   `boolean` a boolean;
//! - `object` with `properties` is a struct of them (recursively), `array` with `items` a
//!   list of the item type;
//! - anything else (no type, several types, an object without properties, an array without
//!   items) is UTF-8 text holding the value's compact JSON; a string value stays its own
//!   text, not quoted JSON.
//!
//! A value that does not fit its column's type is written as well as the type allows: a
//! text column takes its compact JSON; a numeric, boolean, date, struct or list column
//! writes null. An integer column takes a number with no fraction that fits 64 bits
//! (`1e3`, `5.0`); a double column takes any number (integers beyond 2^53 are rounded).
//! Keys a row has beyond its column's properties are not exported. A schema without
//! `properties` takes its columns from the first row's keys, all as text.
//!
//! Rows are written in row groups of at most `row_group_rows` rows and about
//! [`ROW_GROUP_BYTES`] of encoded data; each `write` returns the row groups it completed,
//! so memory stays bounded whatever the length of the export; `finish` returns the last
//! row group and the footer.
//!
//! Options (all optional; any other key is refused):
//! - `compression`: `snappy` (the default), `lz4`, `gzip`, `brotli` or `none`.
//! - `row_group_rows`: the most rows in a row group, from 1 to 1,000,000 (default 100,000).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::ReaderBuilder;
use arrow_json::reader::Decoder;
use arrow_schema::{DataType, Field, Fields, Schema as ArrowSchema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Number, Value};
use trawl_sdk::prelude::*;

/// The option keys this exporter takes.
const OPTIONS: &[&str] = &["compression", "row_group_rows"];

/// Rows in a row group unless `row_group_rows` says otherwise.
pub const DEFAULT_ROW_GROUP_ROWS: u64 = 100_000;

/// The most rows `row_group_rows` may ask for.
pub const MAX_ROW_GROUP_ROWS: u64 = 1_000_000;

/// Encoded bytes after which a row group is closed even if it has fewer rows: the writer
/// keeps the row group in progress in memory, and this keeps it well inside the 128 MiB a
/// plugin may use, next to a batch of rows being decoded.
pub const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// Rows decoded into one Arrow batch at a time.
const BATCH_ROWS: usize = 1024;

/// The time zone of timestamp columns: UTC, spelt as an offset (a zone name would need
/// the time zone database). Parquet marks such columns as adjusted to UTC.
const UTC: &str = "+00:00";

/// Nesting deeper than this in the schema is written as JSON text.
const MAX_DEPTH: usize = 32;

/// A column's type, as this exporter writes it.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Text; values that are not strings are written as their compact JSON.
    Text,
    Int,
    Float,
    Bool,
    /// Microseconds since the epoch, UTC.
    DateTime,
    /// Days since the epoch.
    Date,
    Struct(Vec<(String, Kind)>),
    List(Box<Kind>),
}

impl Kind {
    /// The kind a property's schema asks for.
    fn of(schema: &Value, depth: usize) -> Self {
        if depth > MAX_DEPTH {
            return Self::Text;
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => Vec::new(),
        };
        match types.as_slice() {
            ["string"] => match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => Self::DateTime,
                Some("date") => Self::Date,
                _ => Self::Text,
            },
            ["integer"] => Self::Int,
            ["number"] | ["integer", "number"] | ["number", "integer"] => Self::Float,
            ["boolean"] => Self::Bool,
            ["object"] => match schema.get("properties").and_then(Value::as_object) {
                Some(props) if !props.is_empty() => Self::Struct(
                    props
                        .iter()
                        .map(|(name, sub)| (name.clone(), Self::of(sub, depth + 1)))
                        .collect(),
                ),
                _ => Self::Text,
            },
            ["array"] => match schema.get("items") {
                Some(items @ Value::Object(_)) => Self::List(Box::new(Self::of(items, depth + 1))),
                _ => Self::Text,
            },
            _ => Self::Text,
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Self::Text => DataType::Utf8,
            Self::Int => DataType::Int64,
            Self::Float => DataType::Float64,
            Self::Bool => DataType::Boolean,
            Self::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            Self::Date => DataType::Date32,
            Self::Struct(fields) => DataType::Struct(fields_of(fields)),
            Self::List(item) => {
                DataType::List(Arc::new(Field::new("item", item.data_type(), true)))
            }
        }
    }

    /// `value` made to fit this kind: what the Arrow decoder is given.
    fn coerce(&self, value: Option<&Value>) -> Value {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Value::Null;
        };
        match (self, value) {
            (Self::Text, Value::String(s)) => Value::String(s.clone()),
            (Self::Text, other) => Value::String(other.to_string()),
            (Self::Int, Value::Number(n)) => int_of(n).map_or(Value::Null, Value::from),
            (Self::Float, Value::Number(n)) => n
                .as_f64()
                .and_then(Number::from_f64)
                .map_or(Value::Null, Value::Number),
            (Self::Bool, Value::Bool(b)) => Value::Bool(*b),
            (Self::DateTime, Value::String(s)) => {
                parse_date_time(s).map_or(Value::Null, Value::from)
            }
            (Self::Date, Value::String(s)) => parse_date(s)
                .map(days_since_epoch)
                .and_then(|days| i32::try_from(days).ok())
                .map_or(Value::Null, Value::from),
            (Self::Struct(fields), Value::Object(object)) => Value::Object(
                fields
                    .iter()
                    .map(|(name, kind)| (name.clone(), kind.coerce(object.get(name))))
                    .collect(),
            ),
            (Self::List(item), Value::Array(values)) => {
                Value::Array(values.iter().map(|v| item.coerce(Some(v))).collect())
            }
            _ => Value::Null,
        }
    }
}

fn fields_of(fields: &[(String, Kind)]) -> Fields {
    fields
        .iter()
        .map(|(name, kind)| Field::new(name, kind.data_type(), true))
        .collect()
}

/// An integer column's value: a JSON integer in 64 bits, or a number with no fraction in
/// range.
fn int_of(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    // -2^63 ..< 2^63, both exact as doubles.
    (f.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&f)).then_some(f as i64)
}

/// `YYYY-MM-DD`, checked against the calendar.
fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    // Exactly four, two and two digits: the parser alone would take `2024-1-1`.
    let b = s.as_bytes();
    (b.len() == 10 && b[..4].iter().all(u8::is_ascii_digit))
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

/// An RFC 3339 date-time (`2024-05-01T12:30:00.5+02:00`) as microseconds since
/// 1970-01-01T00:00:00Z; digits finer than microseconds are dropped. A leap second
/// (`:60`) is not accepted.
fn parse_date_time(s: &str) -> Option<i64> {
    use chrono::Timelike as _;
    let at = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    (at.nanosecond() < 1_000_000_000).then(|| at.timestamp_micros())
}

/// Days since 1970-01-01.
fn days_since_epoch(date: chrono::NaiveDate) -> i64 {
    (date - chrono::NaiveDate::default()).num_days()
}

fn compression(name: Option<&str>) -> Result<Compression, PluginError> {
    Ok(match name {
        None | Some("snappy") => Compression::SNAPPY,
        Some("lz4") => Compression::LZ4_RAW,
        Some("gzip") => Compression::GZIP(GzipLevel::default()),
        Some("brotli") => Compression::BROTLI(BrotliLevel::default()),
        Some("none") => Compression::UNCOMPRESSED,
        Some(other) => {
            return Err(PluginError::invalid_input(format!(
                "option `compression` must be one of `snappy`, `lz4`, `gzip`, `brotli`, `none`, not {other:?}"
            )));
        }
    })
}

fn parquet_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::other(format!("Parquet: {e}"))
}

/// The writer, once the columns are known.
struct Started {
    columns: Vec<(String, Kind)>,
    decoder: Decoder,
    writer: ArrowWriter<Vec<u8>>,
}

impl Started {
    fn new(
        columns: Vec<(String, Kind)>,
        properties: WriterProperties,
    ) -> Result<Self, PluginError> {
        let schema = Arc::new(ArrowSchema::new(fields_of(&columns)));
        let decoder = ReaderBuilder::new(schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder()
            .map_err(parquet_error)?;
        let writer =
            ArrowWriter::try_new(Vec::new(), schema, Some(properties)).map_err(parquet_error)?;
        Ok(Self {
            columns,
            decoder,
            writer,
        })
    }

    /// Decode `rows` into Arrow and hand them to the writer.
    fn write(&mut self, rows: &[Value]) -> Result<(), PluginError> {
        for chunk in rows.chunks(BATCH_ROWS) {
            self.decoder.serialize(chunk).map_err(parquet_error)?;
            if let Some(batch) = self.decoder.flush().map_err(parquet_error)? {
                self.write_batch(&batch)?;
            }
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), PluginError> {
        // The writer closes row groups itself at the row and byte limits.
        self.writer.write(batch).map_err(parquet_error)
    }

    /// The bytes of every row group completed so far, not returned yet. The writer counts
    /// the file's offsets itself, so emptying its buffer after a flush is safe.
    fn drain(&mut self) -> Result<Vec<u8>, PluginError> {
        self.writer.sync().map_err(parquet_error)?;
        Ok(std::mem::take(self.writer.inner_mut()))
    }
}

/// One Parquet export in progress.
pub struct ParquetExport {
    /// From the schema; `None` when the columns come from the first row.
    columns: Option<Vec<(String, Kind)>>,
    properties: WriterProperties,
    started: Option<Started>,
    rows_seen: u64,
}

impl ParquetExport {
    fn start(&mut self, first: Option<&Map<String, Value>>) -> Result<&mut Started, PluginError> {
        if self.started.is_none() {
            let columns = match (&self.columns, first) {
                (Some(columns), _) => columns.clone(),
                (None, Some(row)) if row.is_empty() => {
                    // Every later row would be written as nothing.
                    return Err(PluginError::other(
                        "the schema lists no properties and the first row has no keys, so there are no columns to write: give the schema its properties",
                    ));
                }
                (None, Some(row)) => row.keys().map(|k| (k.clone(), Kind::Text)).collect(),
                (None, None) => Vec::new(),
            };
            self.started = Some(Started::new(columns, self.properties.clone())?);
        }
        self.started
            .as_mut()
            .ok_or_else(|| PluginError::other("Parquet: the writer did not start"))
    }
}

impl Exporter for ParquetExport {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "parquet-exporter",
            env!("CARGO_PKG_VERSION"),
            "Apache Parquet with columns typed from the item schema",
        )
    }

    fn format() -> Format {
        Format::new("application/vnd.apache.parquet", "parquet")
    }

    fn open(schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        options.allow_only(OPTIONS)?;
        let compression = compression(options.get_str("compression")?)?;
        let row_group_rows = options
            .get_u64("row_group_rows", 1..=MAX_ROW_GROUP_ROWS)?
            .unwrap_or(DEFAULT_ROW_GROUP_ROWS);
        let row_group_rows = usize::try_from(row_group_rows)
            .map_err(|_| PluginError::invalid_input("option `row_group_rows` is out of range"))?;
        let columns = match schema.json()?.get("properties") {
            None | Some(Value::Null) => None,
            Some(Value::Object(props)) if props.is_empty() => None,
            Some(Value::Object(props)) => Some(
                props
                    .iter()
                    .map(|(name, sub)| (name.clone(), Kind::of(sub, 0)))
                    .collect(),
            ),
            Some(_) => {
                return Err(PluginError::invalid_input(
                    "schema `properties` must be an object",
                ));
            }
        };
        let properties = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_row_count(Some(row_group_rows))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_created_by(format!(
                "trawl parquet-exporter {}",
                env!("CARGO_PKG_VERSION")
            ))
            .build();
        Ok(Self {
            columns,
            properties,
            started: None,
            rows_seen: 0,
        })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let mut values = Vec::with_capacity(rows.len().min(BATCH_ROWS));
        let mut out = Vec::new();
        for row in rows {
            self.rows_seen += 1;
            let object: Map<String, Value> = serde_json::from_str(&row).map_err(|e| {
                PluginError::other(format!("row {} is not a JSON object: {e}", self.rows_seen))
            })?;
            drop(row);
            let started = self.start(Some(&object))?;
            let coerced: Map<String, Value> = started
                .columns
                .iter()
                .map(|(name, kind)| (name.clone(), kind.coerce(object.get(name))))
                .collect();
            values.push(Value::Object(coerced));
            if values.len() == BATCH_ROWS {
                started.write(&values)?;
                values.clear();
                out.extend(started.drain()?);
            }
        }
        if let Some(started) = self.started.as_mut() {
            started.write(&values)?;
            out.extend(started.drain()?);
        }
        Ok(out)
    }

    fn finish(mut self) -> Result<Vec<u8>, PluginError> {
        let mut started = match self.started.take() {
            Some(started) => started,
            None => {
                self.start(None)?;
                self.started
                    .take()
                    .ok_or_else(|| PluginError::other("Parquet: the writer did not start"))?
            }
        };
        started.writer.finish().map_err(parquet_error)?;
        started.drain()
    }
}

register_exporter!(ParquetExport);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests;
