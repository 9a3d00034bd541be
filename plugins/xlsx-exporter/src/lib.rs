//! The bundled XLSX exporter: an Excel workbook with typed cells, streamed as it is written.
//!
//! Columns are the item schema's top-level `properties`, in schema order (a schema without
//! `properties` takes them from the first row's keys). Every sheet starts with a bold
//! header row that stays frozen while scrolling, under an autofilter; a zero-row export is
//! a workbook with one sheet holding only the header.
//!
//! Cells keep each value's own JSON type, whatever the schema declares, so that an item
//! that failed validation is still exported faithfully:
//! - numbers are numbers; an integer that a spreadsheet number (an IEEE double) cannot hold
//!   exactly (beyond 2^53, and not a double itself) is written as its digits in a text cell
//!   instead of being rounded;
//! - booleans are booleans; `null`, missing keys and empty strings are blank cells (Excel
//!   keeps no empty text);
//! - strings are text and are never converted: `"00123"` and `"1e5"` stay text. Text longer
//!   than Excel's limit of 32,767 characters per cell is cut to that length;
//! - a string whose property declares `format: date-time` (RFC 3339, with `Z` or an
//!   offset) or `format: date` (`YYYY-MM-DD`) becomes an Excel date, shown as
//!   `yyyy-mm-dd hh:mm:ss` or `yyyy-mm-dd`. A date-time is written as its UTC time, since
//!   Excel dates have no time zone, to the millisecond. A string that does not parse, or a
//!   date before 1900 or after 9999 (which Excel cannot show), stays text;
//! - objects and arrays are compact JSON text (objects get their own columns with
//!   `flatten`).
//!
//! A sheet holds at most 1,048,575 rows under its header (Excel's limit of 1,048,576 rows);
//! further rows go on to sheets named `Results (2)`, `Results (3)`, … each with its own
//! header.
//!
//! The workbook is streamed: each `write` returns the compressed bytes of its rows at
//! once, and memory and work per call stay flat however many rows come (a ZIP entry per
//! sheet, written as rows arrive; cells are inline text, with no shared string table
//! to grow). The parts that list every sheet and the ZIP directory come with `finish`.
//! Text that XML cannot carry (control characters other than tab and line feed) is kept
//! with Excel's `_xHHHH_` escapes, so it reads back as it was.
//!
//! Options (all optional; any other key is refused):
//! - `sheet_name`: the first sheet's name (default `Results`), by Excel's rules: at most 31
//!   characters, none of `[ ] : * ? / \`, no control characters, not blank and not
//!   starting or ending with `'`. Later sheets add ` (2)`, ` (3)`, … shortening the name
//!   to stay within 31 characters.
//! - `sheet_rows`: rows per sheet under the header, from 1 to 1,048,575 (the default).
//! - `flatten`: `true` to give each property of a nested object its own dotted column
//!   (`seller.name`, `seller.address.city`), following the schema's nested `properties`;
//!   an object the schema declares without `properties` gets the columns of the keys it
//!   has in the first row. Arrays stay compact JSON in one cell.
//!
//! Limits: at most 16,384 columns (Excel's `XFD`; a schema declaring more is refused), at
//! most [`MAX_SHEETS`] sheets, and a sheet also ends early, before Excel's row limit, if
//! its XML would pass [`MAX_SHEET_BYTES`] (4 GB, which only rows of kilobytes of
//! text reach).

mod package;

use std::fmt::Write as _;

use serde_json::{Map, Value};
use trawl_sdk::prelude::*;

pub use package::MAX_SHEET_BYTES;
use package::{Package, STYLE_DATE, STYLE_DATE_TIME, STYLE_HEADER, push_cell_text};

/// The option keys this exporter takes.
const OPTIONS: &[&str] = &["sheet_name", "sheet_rows", "flatten"];

/// Rows a sheet holds under its header: Excel's 1,048,576 rows, less the header.
pub const MAX_SHEET_ROWS: u32 = 1_048_575;

/// Characters a cell holds (Excel counts UTF-16 units).
pub const MAX_CELL_CHARS: usize = 32_767;

/// Columns a sheet holds (Excel's `XFD`).
pub const MAX_COLUMNS: usize = 16_384;

/// The most sheets an export writes: each keeps a small record until `finish` lists them
/// (at the default `sheet_rows`, ten billion rows).
pub const MAX_SHEETS: usize = 10_000;

/// Excel's longest sheet name.
const MAX_SHEET_NAME: usize = 31;

/// How a column's strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// `format: date`: `YYYY-MM-DD` becomes a date.
    Date,
    /// `format: date-time`: RFC 3339 becomes a date and time.
    DateTime,
}

/// One column: its header (`seller.name`), the keys leading to its value, and how its
/// strings are written.
#[derive(Debug, Clone)]
struct Column {
    header: String,
    path: Vec<String>,
    kind: Kind,
}

impl Column {
    fn value<'a>(&self, row: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.path.split_first()?;
        let mut value = row.get(first)?;
        for key in rest {
            value = value.as_object()?.get(key)?;
        }
        Some(value)
    }
}

/// A column as the schema gives it, before the first row is seen.
#[derive(Debug, Clone)]
enum Planned {
    Column(Column),
    /// An object without `properties`: its columns are the keys of the first row's value
    /// at `path` (with `path` empty, the row itself: a schema without properties).
    Open {
        path: Vec<String>,
        flatten: bool,
    },
}

/// The nested properties a schema gives an object, when it gives any.
fn object_properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())
}

/// Whether a property's `type` (a name or a list of names) is or includes `name`; a
/// property without a type may be anything.
fn allows_type(schema: &Value, name: &str) -> bool {
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => t == name,
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some(name)),
        Some(_) => false,
    }
}

fn kind_of(schema: &Value) -> Kind {
    if !allows_type(schema, "string") {
        return Kind::Text;
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("date") => Kind::Date,
        Some("date-time") => Kind::DateTime,
        _ => Kind::Text,
    }
}

/// Plan the columns of property `name` under `path`: one, or with `flatten` one per nested
/// property.
fn plan_property(
    out: &mut Vec<Planned>,
    path: &[String],
    name: &str,
    schema: &Value,
    flatten: bool,
) {
    let mut path = path.to_vec();
    path.push(name.to_owned());
    if flatten {
        if let Some(props) = object_properties(schema) {
            for (sub, sub_schema) in props {
                plan_property(out, &path, sub, sub_schema, flatten);
            }
            return;
        }
        if schema.get("type").and_then(Value::as_str) == Some("object") {
            out.push(Planned::Open { path, flatten });
            return;
        }
    }
    out.push(Planned::Column(Column {
        header: path.join("."),
        path,
        kind: kind_of(schema),
    }));
}

/// Columns from an object's keys: with `flatten`, nested objects become dotted columns.
fn object_columns(
    out: &mut Vec<Column>,
    path: &[String],
    object: &Map<String, Value>,
    flatten: bool,
) {
    for (key, value) in object {
        let mut path = path.to_vec();
        path.push(key.clone());
        match value {
            Value::Object(inner) if flatten && !inner.is_empty() => {
                object_columns(out, &path, inner, flatten);
            }
            _ => out.push(Column {
                header: path.join("."),
                path,
                kind: Kind::Text,
            }),
        }
    }
}

/// The columns once the first row (or none) is known.
fn resolve(plan: &[Planned], first: Option<&Map<String, Value>>) -> Vec<Column> {
    let mut columns = Vec::new();
    for planned in plan {
        match planned {
            Planned::Column(column) => columns.push(column.clone()),
            Planned::Open { path, flatten } => {
                let found = match path.split_first() {
                    None => first,
                    Some((head, rest)) => {
                        let mut value = first.and_then(|row| row.get(head));
                        for key in rest {
                            value = value.and_then(|v| v.as_object()).and_then(|o| o.get(key));
                        }
                        value.and_then(Value::as_object)
                    }
                };
                match found {
                    Some(object) if !object.is_empty() => {
                        object_columns(&mut columns, path, object, *flatten);
                    }
                    _ if path.is_empty() => {}
                    _ => columns.push(Column {
                        header: path.join("."),
                        path: path.clone(),
                        kind: Kind::Text,
                    }),
                }
            }
        }
    }
    columns
}

/// Check a sheet name by Excel's rules.
fn check_sheet_name(name: &str) -> Result<(), PluginError> {
    let problem = if name.trim().is_empty() {
        Some("must not be blank".to_owned())
    } else if name.encode_utf16().count() > MAX_SHEET_NAME {
        Some(format!("must be at most {MAX_SHEET_NAME} characters"))
    } else if let Some(c) = name.chars().find(|c| "[]:*?/\\".contains(*c)) {
        Some(format!("must not contain `{c}`"))
    } else if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
    {
        Some("must not contain control characters".to_owned())
    } else if name.starts_with('\'') || name.ends_with('\'') {
        Some("must not start or end with an apostrophe".to_owned())
    } else if name.eq_ignore_ascii_case("history") {
        Some("must not be `History`, which Excel reserves".to_owned())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(PluginError::invalid_input(format!(
            "option `sheet_name` {problem}, not {name:?}"
        ))),
        None => Ok(()),
    }
}

/// The name of sheet `number` (from 1): the base name, then `Base (2)`, `Base (3)`, … with
/// the base shortened so that the whole stays within Excel's 31 characters.
fn sheet_name(base: &str, number: usize) -> String {
    if number <= 1 {
        return base.to_owned();
    }
    let suffix = format!(" ({number})");
    // Excel counts UTF-16 units.
    let mut keep = MAX_SHEET_NAME.saturating_sub(suffix.len());
    loop {
        let mut name = String::new();
        let mut units = 0;
        for c in base.chars() {
            units += c.len_utf16();
            if units > keep {
                break;
            }
            name.push(c);
        }
        // A shortened name must not end with an apostrophe either.
        while name.ends_with('\'') {
            name.pop();
        }
        name.push_str(&suffix);
        // A long base already ending in ` (2)` would come out as itself: Excel's names
        // are unique whatever their case, so shorten until it differs.
        if name.to_lowercase() != base.to_lowercase() || keep == 0 {
            return name;
        }
        keep -= 1;
    }
}

/// `s` cut to Excel's cell limit (in UTF-16 units), on a character boundary.
fn excel_text(s: &str) -> &str {
    // Fast path: even all-astral text of this many bytes fits.
    if s.len() <= MAX_CELL_CHARS {
        return s;
    }
    let mut units = 0;
    for (at, c) in s.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL_CHARS {
            return &s[..at];
        }
    }
    s
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

/// Excel's first year: its dates start on 1900-01-01.
const FIRST_YEAR: i64 = 1900;

/// Excel's last year.
const LAST_YEAR: i64 = 9999;

/// Excel's day number (its serial date) for the day `days` after 1970-01-01.
///
/// Excel counts from 1899-12-31 as day 0 and keeps a 29 February 1900 that never was
/// (day 60), so from 1900-03-01 on its days are those since 1899-12-30.
fn excel_day(days: i64) -> i64 {
    let serial = days + 25_569;
    if serial < 61 { serial - 1 } else { serial }
}

/// An Excel date (its serial number) for a `YYYY-MM-DD` string, when Excel can show it.
fn excel_date(s: &str) -> Option<f64> {
    use chrono::Datelike as _;
    let date = parse_date(s)?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&i64::from(date.year())) {
        return None;
    }
    Some(excel_day((date - chrono::NaiveDate::default()).num_days()) as f64)
}

/// An Excel date and time (its serial number: UTC, to the millisecond) for an RFC 3339
/// string, when Excel can show it.
fn excel_date_time(s: &str) -> Option<f64> {
    let micros = parse_date_time(s)?;
    let millis = micros.div_euclid(1000);
    let days = millis.div_euclid(86_400_000);
    use chrono::Datelike as _;
    let year = i64::from(chrono::DateTime::from_timestamp_millis(millis)?.year());
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return None;
    }
    let in_day = millis.rem_euclid(86_400_000);
    Some(excel_day(days) as f64 + in_day as f64 / 86_400_000.0)
}

/// A number as Excel can hold it: a double, when the JSON number is one or is an integer
/// a double holds exactly; otherwise `None` (it is written as text).
fn excel_number(n: &serde_json::Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        let f = i as f64;
        // `f` is exact when converting back gives the same integer; `i64::MAX as f64` is
        // 2^63, which does not fit and would saturate back, so it is compared first.
        return (f < i64::MAX as f64 && f as i64 == i).then_some(f);
    }
    if let Some(u) = n.as_u64() {
        let f = u as f64;
        return (f < u64::MAX as f64 && f as u64 == u).then_some(f);
    }
    n.as_f64()
}

/// Append a number as a cell value: the shortest digits that read back as the same
/// double; an exponent (`1.5E-7`, `1E+300`) for the very small and very large.
fn push_number(out: &mut String, f: f64) {
    let magnitude = f.abs();
    if f.fract() == 0.0 && magnitude < 1e15 {
        // Exact: integers below 2^53 convert without loss.
        let _ = write!(out, "{}", f as i64);
    } else if magnitude == 0.0 || (1e-5..1e15).contains(&magnitude) {
        let _ = write!(out, "{f}");
    } else {
        let start = out.len();
        let _ = write!(out, "{f:E}");
        // Excel writes a sign on the exponent: `1E+300`.
        if let Some(e) = out[start..].find('E')
            && !out[start + e + 1..].starts_with('-')
        {
            out.insert(start + e + 1, '+');
        }
    }
}

/// Append a row or column number.
fn push_u32(out: &mut String, n: u32) {
    let _ = write!(out, "{n}");
}

/// What a cell will hold.
enum Cell<'a> {
    Blank,
    Number(f64),
    Bool(bool),
    Text(&'a str),
    Json(String),
    /// An Excel serial date, and its style.
    Date(f64, u8),
}

impl<'a> Cell<'a> {
    fn of(value: Option<&'a Value>, kind: Kind) -> Self {
        match value {
            None | Some(Value::Null) => Self::Blank,
            Some(Value::Bool(b)) => Self::Bool(*b),
            Some(Value::Number(n)) => match excel_number(n) {
                Some(f) => Self::Number(f),
                None => Self::Json(n.to_string()),
            },
            // Excel keeps no empty text.
            Some(Value::String(s)) if s.is_empty() => Self::Blank,
            Some(Value::String(s)) => {
                let date = match kind {
                    Kind::Text => None,
                    Kind::Date => excel_date(s).map(|d| Self::Date(d, STYLE_DATE)),
                    Kind::DateTime => excel_date_time(s).map(|d| Self::Date(d, STYLE_DATE_TIME)),
                };
                date.unwrap_or(Self::Text(excel_text(s)))
            }
            Some(other) => Self::Json(other.to_string()),
        }
    }
}

/// Append a text cell (inline text, so that nothing accumulates across rows).
fn push_text_cell(out: &mut String, reference: &str, line: u32, style: Option<u8>, text: &str) {
    out.push_str("<c r=\"");
    out.push_str(reference);
    push_u32(out, line);
    if let Some(style) = style {
        let _ = write!(out, "\" s=\"{style}");
    }
    if text.is_empty() {
        out.push_str("\"/>");
        return;
    }
    out.push_str("\" t=\"inlineStr\"><is><t xml:space=\"preserve\">");
    push_cell_text(out, excel_text(text));
    out.push_str("</t></is></c>");
}

/// The columns, once known, with their letters.
struct Columns {
    list: Vec<Column>,
    letters: Vec<String>,
}

impl Columns {
    fn new(list: Vec<Column>) -> Self {
        let letters = (0..list.len()).map(package::column_letters).collect();
        Self { list, letters }
    }

    /// The last column's letters, if there are columns.
    fn last(&self) -> Option<&str> {
        self.letters.last().map(String::as_str)
    }

    /// The header row's XML (empty without columns).
    fn header(&self) -> String {
        let mut xml = String::new();
        if self.list.is_empty() {
            return xml;
        }
        xml.push_str("<row r=\"1\">");
        for (column, letters) in self.list.iter().zip(&self.letters) {
            push_text_cell(&mut xml, letters, 1, Some(STYLE_HEADER), &column.header);
        }
        xml.push_str("</row>");
        xml
    }

    /// A data row's XML, as row `line` of its sheet, into `out`.
    fn render(&self, out: &mut String, line: u32, row: &Map<String, Value>) {
        out.clear();
        out.push_str("<row r=\"");
        push_u32(out, line);
        out.push_str("\">");
        for (column, letters) in self.list.iter().zip(&self.letters) {
            let cell = Cell::of(column.value(row), column.kind);
            let (style, kind, value) = match cell {
                Cell::Blank => continue,
                Cell::Text(s) => {
                    push_text_cell(out, letters, line, None, s);
                    continue;
                }
                Cell::Json(s) => {
                    push_text_cell(out, letters, line, None, &s);
                    continue;
                }
                Cell::Number(n) => (None, "", n),
                Cell::Bool(b) => (None, "b", f64::from(u8::from(b))),
                Cell::Date(d, style) => (Some(style), "", d),
            };
            out.push_str("<c r=\"");
            out.push_str(letters);
            push_u32(out, line);
            out.push('"');
            if let Some(style) = style {
                let _ = write!(out, " s=\"{style}\"");
            }
            if !kind.is_empty() {
                let _ = write!(out, " t=\"{kind}\"");
            }
            out.push_str("><v>");
            push_number(out, value);
            out.push_str("</v></c>");
        }
        out.push_str("</row>");
    }
}

/// One XLSX export in progress.
pub struct XlsxExport {
    plan: Vec<Planned>,
    /// Known once the first row arrives (or at the end, for zero rows).
    columns: Option<Columns>,
    base_name: String,
    sheet_rows: u32,
    package: Package,
    rows_seen: u64,
    /// The row being laid out, reused from row to row.
    line: String,
}

impl XlsxExport {
    /// Open the next sheet's entry, with its header row.
    fn add_sheet(&mut self) -> Result<(), PluginError> {
        let Some(columns) = &self.columns else {
            return Err(PluginError::other("XLSX: columns are not known yet"));
        };
        let number = self.package.sheet_count() + 1;
        if number > MAX_SHEETS {
            return Err(PluginError::other(format!(
                "XLSX: more than {MAX_SHEETS} sheets at row {}; raise `sheet_rows`",
                self.rows_seen
            )));
        }
        let header = columns.header();
        let last = columns.last().map(str::to_owned);
        self.package.end_sheet(last.as_deref())?;
        self.package
            .start_sheet(sheet_name(&self.base_name, number), &header)
    }

    /// Fix the columns (from the first row, if the plan needs it) and start the first sheet.
    fn start(&mut self, first: Option<&Map<String, Value>>) -> Result<(), PluginError> {
        if self.columns.is_some() {
            return Ok(());
        }
        let columns = resolve(&self.plan, first);
        if columns.is_empty() && first.is_some() {
            // Every later row would be written as nothing.
            return Err(PluginError::other(
                "the schema lists no properties and the first row has no keys, so there are no columns to write: give the schema its properties",
            ));
        }
        if columns.len() > MAX_COLUMNS {
            return Err(PluginError::other(format!(
                "XLSX: {} columns, more than the {MAX_COLUMNS} a sheet holds",
                columns.len()
            )));
        }
        self.columns = Some(Columns::new(columns));
        self.add_sheet()
    }

    fn write_row(&mut self, row: &Map<String, Value>) -> Result<(), PluginError> {
        if self
            .package
            .sheet_rows()
            .is_none_or(|n| n >= self.sheet_rows)
        {
            self.add_sheet()?;
        }
        let mut line = std::mem::take(&mut self.line);
        let result = self.lay_out(&mut line, row);
        self.line = line;
        result
    }

    fn lay_out(&mut self, line: &mut String, row: &Map<String, Value>) -> Result<(), PluginError> {
        let Some(columns) = &self.columns else {
            return Err(PluginError::other("XLSX: columns are not known yet"));
        };
        let rows = self.package.sheet_rows().unwrap_or(0);
        columns.render(line, rows + 2, row);
        if rows > 0 && self.package.would_overflow(line.len()) {
            // The sheet's entry is as large as a ZIP entry may be: on to the next sheet.
            self.add_sheet()?;
            let Some(columns) = &self.columns else {
                return Err(PluginError::other("XLSX: columns are not known yet"));
            };
            columns.render(line, 2, row);
        }
        self.package.write_row(line)
    }
}

impl Exporter for XlsxExport {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "xlsx-exporter",
            env!("CARGO_PKG_VERSION"),
            "Excel workbook (XLSX) with typed cells and a frozen header row",
        )
    }

    fn format() -> Format {
        Format::new(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    }

    fn open(schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        options.allow_only(OPTIONS)?;
        let flatten = options.get_bool("flatten")?.unwrap_or(false);
        let base_name = options
            .get_str("sheet_name")?
            .unwrap_or("Results")
            .to_owned();
        check_sheet_name(&base_name)?;
        let sheet_rows = options
            .get_u64("sheet_rows", 1..=u64::from(MAX_SHEET_ROWS))?
            .map_or(Ok(MAX_SHEET_ROWS), u32::try_from)
            .map_err(|_| PluginError::invalid_input("option `sheet_rows` is out of range"))?;
        let plan = match schema.json()?.get("properties") {
            None | Some(Value::Null) => vec![Planned::Open {
                path: Vec::new(),
                flatten,
            }],
            Some(Value::Object(props)) if props.is_empty() => vec![Planned::Open {
                path: Vec::new(),
                flatten,
            }],
            Some(Value::Object(props)) => {
                let mut plan = Vec::with_capacity(props.len());
                for (name, sub) in props {
                    plan_property(&mut plan, &[], name, sub, flatten);
                }
                plan
            }
            Some(_) => {
                return Err(PluginError::invalid_input(
                    "schema `properties` must be an object",
                ));
            }
        };
        // Each planned entry is at least one column.
        if plan.len() > MAX_COLUMNS {
            return Err(PluginError::invalid_input(format!(
                "the schema has {} columns, more than the {MAX_COLUMNS} an Excel sheet holds",
                plan.len()
            )));
        }
        Ok(Self {
            plan,
            columns: None,
            base_name,
            sheet_rows,
            package: Package::new()?,
            rows_seen: 0,
            line: String::new(),
        })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        for row in rows {
            self.rows_seen += 1;
            let object: Map<String, Value> = serde_json::from_str(&row).map_err(|e| {
                PluginError::other(format!("row {} is not a JSON object: {e}", self.rows_seen))
            })?;
            self.start(Some(&object))?;
            self.write_row(&object)?;
        }
        // A long row's buffer is not kept.
        if self.line.capacity() > 1 << 20 {
            self.line = String::new();
        }
        self.package.drain()
    }

    fn finish(mut self) -> Result<Vec<u8>, PluginError> {
        self.start(None)?;
        let last = self
            .columns
            .as_ref()
            .and_then(Columns::last)
            .map(str::to_owned);
        self.package.finish(last.as_deref())
    }
}

register_exporter!(XlsxExport);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests;
