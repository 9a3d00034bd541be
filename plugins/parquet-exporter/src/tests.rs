//! Files written here and read back with the parquet crate's Arrow reader.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use arrow_json::writer::{JsonArray, WriterBuilder};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use serde_json::json;

use super::*;

fn open(schema: &str, options: &str) -> ParquetExport {
    ParquetExport::open(&Schema::new(schema), &Options::new(options)).unwrap()
}

/// Export `rows` in batches of `batch`; the whole file.
fn export_in(schema: &str, options: &str, rows: &[String], batch: usize) -> Vec<u8> {
    let mut export = open(schema, options);
    let mut file = Vec::new();
    for chunk in rows.chunks(batch.max(1)) {
        file.extend(export.write(chunk.to_vec()).unwrap());
    }
    file.extend(export.finish().unwrap());
    file
}

fn export(schema: &str, options: &str, rows: &[Value]) -> Vec<u8> {
    let rows: Vec<String> = rows.iter().map(Value::to_string).collect();
    export_in(schema, options, &rows, 2)
}

/// The file's Arrow schema, its batches and its metadata.
fn read(file: Vec<u8>) -> (Arc<ArrowSchema>, Vec<RecordBatch>, Arc<ParquetMetaData>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
    let schema = builder.schema().clone();
    let metadata = builder.metadata().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (schema, batches, metadata)
}

/// The rows as JSON, with explicit nulls (timestamps and dates as the JSON writer shows
/// them).
fn rows_of(batches: &[RecordBatch]) -> Vec<Value> {
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
    let text = writer.into_inner();
    if text.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice(&text).unwrap()
}

const SCHEMA: &str = r#"{"type":"object","properties":{
    "title":{"type":"string"},
    "price":{"type":["number","null"]},
    "count":{"type":"integer"},
    "in_stock":{"type":"boolean"},
    "tags":{"type":"array","items":{"type":"string"}},
    "seller":{"type":"object","properties":{"name":{"type":"string"},"address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string"}}}}},
    "meta":{"type":"object"},
    "anything":{},
    "mixed":{"type":["string","number"]},
    "at":{"type":"string","format":"date-time"},
    "day":{"type":["string","null"],"format":"date"},
    "_source_url":{"type":"string","format":"uri"},
    "_confidence":{"type":["number","null"]},
    "_validation_errors":{"type":["array","null"],"items":{"type":"object","properties":{"path":{"type":"string"},"message":{"type":"string"}}}}}}"#;

#[test]
fn column_types_follow_the_schema() {
    let (schema, batches, _) = read(export(SCHEMA, "", &[]));
    let types: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| {
            assert!(f.is_nullable(), "{f}");
            (f.name().clone(), f.data_type().clone())
        })
        .collect();
    let strings = |names: &[&str]| -> DataType {
        DataType::Struct(
            names
                .iter()
                .map(|n| Field::new(*n, DataType::Utf8, true))
                .collect(),
        )
    };
    let expected = vec![
        ("title", DataType::Utf8),
        ("price", DataType::Float64),
        ("count", DataType::Int64),
        ("in_stock", DataType::Boolean),
        (
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        ),
        (
            "seller",
            DataType::Struct(
                vec![
                    Field::new("name", DataType::Utf8, true),
                    Field::new("address", strings(&["city", "zip"]), true),
                ]
                .into(),
            ),
        ),
        ("meta", DataType::Utf8),
        ("anything", DataType::Utf8),
        ("mixed", DataType::Utf8),
        (
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        ),
        ("day", DataType::Date32),
        ("_source_url", DataType::Utf8),
        ("_confidence", DataType::Float64),
        (
            "_validation_errors",
            DataType::List(Arc::new(Field::new(
                "item",
                strings(&["path", "message"]),
                true,
            ))),
        ),
    ];
    let expected: Vec<(String, DataType)> = expected
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t))
        .collect();
    assert_eq!(types, expected);
    // Zero rows: a valid file with the columns and no rows.
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
}

#[test]
fn values_round_trip() {
    let rows = [
        json!({
            "title": "Łódź 🚀 \"quoted\"", "price": 51.77, "count": 3, "in_stock": true,
            "tags": ["a", "", "ü"], "seller": {"name": "S", "address": {"city": "Kraków", "zip": "00123"}},
            "meta": {"k": [1, {"x": null}]}, "anything": "plain text", "mixed": 1e5,
            "at": "2024-05-01T12:30:15.250+02:00", "day": "2024-02-29",
            "_source_url": "https://example.com/a", "_confidence": 0.75,
            "_validation_errors": [{"path": "/price", "message": "required"}]
        }),
        // Empty strings, nulls and missing keys.
        json!({"title": "", "price": null, "tags": [], "seller": {"name": null}, "anything": null, "mixed": "00123"}),
        json!({"count": -9223372036854775808i64, "price": 1e308, "anything": ["x"], "mixed": "1e5", "title": "x".repeat(100_000)}),
    ];
    let (_, batches, _) = read(export(SCHEMA, "", &rows));
    let back = rows_of(&batches);
    assert_eq!(back.len(), 3);
    assert_eq!(
        back[0],
        json!({
            "title": "Łódź 🚀 \"quoted\"", "price": 51.77, "count": 3, "in_stock": true,
            "tags": ["a", "", "ü"], "seller": {"name": "S", "address": {"city": "Kraków", "zip": "00123"}},
            "meta": r#"{"k":[1,{"x":null}]}"#, "anything": "plain text", "mixed": "100000.0",
            "at": "2024-05-01T10:30:15.250Z", "day": "2024-02-29",
            "_source_url": "https://example.com/a", "_confidence": 0.75,
            "_validation_errors": [{"path": "/price", "message": "required"}]
        })
    );
    assert_eq!(
        back[1],
        json!({
            "title": "", "price": null, "count": null, "in_stock": null, "tags": [],
            "seller": {"name": null, "address": null}, "meta": null, "anything": null,
            "mixed": "00123", "at": null, "day": null, "_source_url": null,
            "_confidence": null, "_validation_errors": null
        })
    );
    assert_eq!(back[2]["count"], json!(-9223372036854775808i64));
    assert_eq!(back[2]["price"], json!(1e308));
    assert_eq!(back[2]["anything"], json!(r#"["x"]"#));
    assert_eq!(back[2]["mixed"], json!("1e5"));
    assert_eq!(back[2]["title"].as_str().map(str::len), Some(100_000));
    // The date columns hold the numbers themselves.
    let at = batches[0]
        .column(9)
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(at.value(0), 1_714_559_415_250_000);
    let day = batches[0].column(10).as_primitive::<Date32Type>();
    assert_eq!(day.value(0), 19_782);
}

#[test]
fn values_that_do_not_fit_their_type() {
    let rows = [
        json!({"title": 42, "price": "abc", "count": 1.5, "in_stock": "yes", "tags": "not a list",
               "seller": "not an object", "at": "yesterday", "day": "2024-02-30", "_confidence": true}),
        json!({"title": {"a": [1]}, "price": "42", "count": "42", "in_stock": 1, "tags": [1, "b", null, ["c"]],
               "seller": {"name": 7, "address": [1], "extra": 1}, "at": "2024-05-01T10:00:00", "day": 20240229}),
        // Numbers an integer column can take; one it cannot.
        json!({"count": 1e3, "price": 18446744073709551615u64, "title": true}),
        json!({"count": 18446744073709551615u64, "title": -0.5}),
        json!({"count": 1e19, "at": "2024-05-01 10:00:00z", "day": "1969-12-31"}),
    ];
    let (_, batches, _) = read(export(SCHEMA, "", &rows));
    let back = rows_of(&batches);
    let pick = |row: &Value, keys: &[&str]| -> Vec<Value> {
        keys.iter().map(|k| row[*k].clone()).collect()
    };
    let keys = [
        "title",
        "price",
        "count",
        "in_stock",
        "tags",
        "seller",
        "at",
        "day",
        "_confidence",
    ];
    assert_eq!(
        pick(&back[0], &keys),
        vec![
            json!("42"),
            json!(null),
            json!(null),
            json!(null),
            json!(null),
            json!(null),
            json!(null),
            json!(null),
            json!(null)
        ]
    );
    assert_eq!(
        pick(&back[1], &keys[..8]),
        vec![
            json!(r#"{"a":[1]}"#),
            json!(null),
            json!(null),
            json!(null),
            // In a list of strings, a value of another kind is its JSON; null stays null.
            json!(["1", "b", null, r#"["c"]"#]),
            json!({"name": "7", "address": null}),
            json!(null),
            json!(null)
        ]
    );
    assert_eq!(
        pick(&back[2], &["count", "price", "title"]),
        vec![json!(1000), json!(18446744073709552000.0), json!("true")]
    );
    assert_eq!(
        pick(&back[3], &["count", "title"]),
        vec![json!(null), json!("-0.5")]
    );
    assert_eq!(
        pick(&back[4], &["count", "at", "day"]),
        vec![
            json!(null),
            json!("2024-05-01T10:00:00Z"),
            json!("1969-12-31")
        ]
    );
}

#[test]
fn date_parsing() {
    assert_eq!(parse_date_time("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_date_time("1970-01-01T01:00:00+01:00"), Some(0));
    assert_eq!(parse_date_time("1969-12-31T23:00:00.000001-01:00"), Some(1));
    assert_eq!(
        parse_date_time("0001-01-01T00:00:00Z"),
        Some(-62_135_596_800_000_000)
    );
    for bad in [
        "2024-05-01",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:00:60Z",
        "2024-05-01T10:00:00",
        "2024-05-01T10:00:00+2:00",
        "2023-02-29T10:00:00Z",
        "2024-05-01T10:00:00.Z",
    ] {
        assert_eq!(parse_date_time(bad), None, "{bad}");
    }
    assert_eq!(parse_date("2000-02-29").map(days_since_epoch), Some(11_016));
    assert_eq!(parse_date("2100-02-29"), None);
}

#[test]
fn columns_from_the_first_row_without_properties() {
    let rows = [json!({"b": 1, "a": {"x": 2}}), json!({"a": "s", "c": 4})];
    for schema in [r#"{"type":"object"}"#, r#"{"properties":{}}"#] {
        let (schema, batches, _) = read(export(schema, "", &rows));
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert!(
            schema
                .fields()
                .iter()
                .all(|f| f.data_type() == &DataType::Utf8)
        );
        assert_eq!(
            rows_of(&batches),
            vec![
                json!({"b": "1", "a": r#"{"x":2}"#}),
                json!({"b": null, "a": "s"})
            ]
        );
    }
    // Without properties and without rows: a valid file with no columns.
    let (schema, batches, _) = read(export("{}", "", &[]));
    assert!(schema.fields().is_empty());
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
}

#[test]
fn row_groups_split_and_bytes_come_as_they_are_ready() {
    let rows: Vec<String> = (0..7)
        .map(|n| json!({"title": format!("t{n}"), "count": n}).to_string())
        .collect();
    let mut export = open(SCHEMA, r#"{"row_group_rows":3}"#);
    let first = export.write(rows[..4].to_vec()).unwrap();
    // A completed row group is returned at once, after the file's magic.
    assert!(
        first.starts_with(b"PAR1") && first.len() > 4,
        "{}",
        first.len()
    );
    let mut file = first;
    file.extend(export.write(rows[4..].to_vec()).unwrap());
    file.extend(export.finish().unwrap());
    let (_, batches, metadata) = read(file);
    let groups: Vec<i64> = metadata.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(groups, [3, 3, 1]);
    let back = rows_of(&batches);
    let counts: Vec<i64> = back.iter().map(|r| r["count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [0, 1, 2, 3, 4, 5, 6]);
    // Batches of one row make the same file.
    let one_by_one = export_in(SCHEMA, r#"{"row_group_rows":3}"#, &rows, 1);
    let (_, _, metadata) = read(one_by_one);
    assert_eq!(metadata.row_groups().len(), 3);
}

#[test]
fn many_rows_stream_in_bounded_row_groups() {
    let rows: Vec<String> = (0..5000)
        .map(|n| json!({"title": format!("row {n} {}", "x".repeat(n % 50)), "count": n, "price": n as f64 / 3.0}).to_string())
        .collect();
    let mut export = open(SCHEMA, r#"{"row_group_rows":1000}"#);
    let mut file = Vec::new();
    let mut nonempty_writes = 0;
    for chunk in rows.chunks(1000) {
        let out = export.write(chunk.to_vec()).unwrap();
        nonempty_writes += usize::from(!out.is_empty());
        file.extend(out);
    }
    file.extend(export.finish().unwrap());
    assert_eq!(nonempty_writes, 5);
    let (_, batches, metadata) = read(file);
    assert_eq!(metadata.row_groups().len(), 5);
    let back = rows_of(&batches);
    assert_eq!(back.len(), 5000);
    assert_eq!(back[4999]["count"], json!(4999));
    assert_eq!(
        back[4999]["title"],
        json!(format!("row 4999 {}", "x".repeat(49)))
    );
}

#[test]
fn every_compression_reads_back() {
    let rows = [json!({"title": "t", "count": 1, "tags": ["a"]})];
    for (name, codec) in [
        (None, "SNAPPY"),
        (Some("snappy"), "SNAPPY"),
        (Some("lz4"), "LZ4_RAW"),
        (Some("gzip"), "GZIP"),
        (Some("brotli"), "BROTLI"),
        (Some("none"), "UNCOMPRESSED"),
    ] {
        let options = name.map_or("{}".to_owned(), |n| json!({ "compression": n }).to_string());
        let (_, batches, metadata) = read(export(SCHEMA, &options, &rows));
        let column = metadata.row_group(0).column(0);
        assert!(
            column.compression().to_string().starts_with(codec),
            "{name:?}: {}",
            column.compression()
        );
        assert_eq!(rows_of(&batches)[0]["tags"], json!(["a"]));
    }
}

#[test]
fn options_are_checked() {
    for bad in [
        r#"{"compression":"zstd"}"#,
        r#"{"compression":"SNAPPY"}"#,
        r#"{"compression":1}"#,
        r#"{"row_group_rows":0}"#,
        r#"{"row_group_rows":1000001}"#,
        r#"{"row_group_rows":"10"}"#,
        r#"{"row_group_rows":1.5}"#,
        r#"{"compresion":"lz4"}"#,
        r#"{"gzip":true}"#,
        "[1]",
    ] {
        let err = ParquetExport::open(&Schema::new(SCHEMA), &Options::new(bad))
            .err()
            .unwrap_or_else(|| panic!("{bad} was accepted"));
        assert!(matches!(err, PluginError::InvalidInput(_)), "{bad}: {err}");
        let named = [
            "compression",
            "row_group_rows",
            "compresion",
            "gzip",
            "object",
        ];
        assert!(
            named.iter().any(|n| err.message().contains(n)),
            "{bad}: {err}"
        );
    }
    let err = ParquetExport::open(&Schema::new(SCHEMA), &Options::new(r#"{"rows":1}"#))
        .err()
        .unwrap();
    assert!(
        err.message().contains("`rows`") && err.message().contains("`row_group_rows`"),
        "{err}"
    );
    open(SCHEMA, r#"{"row_group_rows":1000000,"compression":"none"}"#);
    open(SCHEMA, r#"{"row_group_rows":1}"#);
    assert!(ParquetExport::open(&Schema::new(r#"{"properties":[]}"#), &Options::new("")).is_err());
    assert!(ParquetExport::open(&Schema::new("{"), &Options::new("")).is_err());
}

#[test]
fn bad_rows_fail() {
    let mut export = open(SCHEMA, "");
    let err = export.write(vec!["{}".into(), "[1]".into()]).unwrap_err();
    assert!(
        err.message().starts_with("row 2 is not a JSON object"),
        "{err}"
    );
}

#[test]
fn format_and_info() {
    assert_eq!(
        ParquetExport::format(),
        Format::new("application/vnd.apache.parquet", "parquet")
    );
    assert_eq!(ParquetExport::info().name, "parquet-exporter");
}
