//! Every bundled export format, read back by a reader that is not trawl's (serde_json,
//! the csv crate, calamine for XLSX, the parquet crate's Arrow reader), equals the run's
//! results as the API gives them. The run is a real crawl of a local page whose items
//! have nested objects, arrays of strings and of objects, unicode, empty and null values,
//! missing values, strings that look like numbers ("00123", "1e5", "TRUE"), an integer
//! past 2^53, dates, an item that failed validation, and text with the delimiters,
//! quotes and line breaks CSV has to escape.

use std::time::Duration;

use serde_json::{Map, Value, json};
use trawl_tests::{TestHost, serve_site};

const PAGE: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>Edge cases</title></head><body>
<article class="item" data-code="00123">
  <h2>Łódź — «quotes» "and", semi; colon: done</h2>
  <span class="price">£51.77</span><span class="count">3</span><span class="stock">yes</span>
  <time datetime="2026-12-01T10:30:00Z">today</time><span class="day">2026-12-01</span>
  <span class="note">none</span>
  <pre>line one
line "two"; with, commas</pre>
  <div class="seller"><b class="name">Ann, "the" seller</b><i class="city">Zürich</i><i class="zip">8001</i></div>
  <ul><li class="tag">a</li><li class="tag">b,c</li><li class="tag">"q"</li></ul>
  <div class="offer"><span class="p">1.50</span><span class="c">EUR</span></div>
  <div class="offer"><span class="p">2</span><span class="c">USD</span></div>
</article>
<article class="item" data-code="TRUE">
  <h2>1e5</h2>
  <span class="price">0</span><span class="count">-7</span><span class="stock">no</span>
  <time datetime="yesterday">yesterday</time><span class="day">not a date</span>
  <span class="note">blank</span>
  <div class="seller"><b class="name">Bo</b></div>
</article>
<article class="item" data-code="=1+2">
  <h2>🦀 日本語 ﬁ</h2>
  <span class="price">12345678.9</span><span class="count">9007199254740993</span><span class="stock">yes</span>
  <span class="note">1e5</span>
  <pre>	tab first</pre>
  <ul><li class="tag">only</li></ul>
</article>
<article class="item" data-code="">
  <h2>no price, so invalid</h2>
  <span class="count">0</span>
</article>
</body></html>"#;

fn schema() -> Value {
    json!({
        "type": "object",
        "x-scope": "article.item",
        "properties": {
            "title": {"type": "string", "x-selector": "h2"},
            "code": {"type": "string", "x-attr": "data-code"},
            "price": {"type": "number", "x-selector": ".price"},
            "count": {"type": "integer", "x-selector": ".count"},
            "in_stock": {"type": "boolean", "x-selector": ".stock"},
            "published": {"type": "string", "format": "date-time", "x-selector": "time", "x-attr": "datetime"},
            "day": {"type": "string", "format": "date", "x-selector": ".day"},
            "note": {"type": ["string", "null"], "x-selector": ".note",
                     "x-map": {"none": null, "blank": "", "1e5": "1e5"}},
            "raw": {"type": "string", "x-selector": "pre", "x-html": "inner"},
            "seller": {"type": "object", "x-scope": ".seller", "properties": {
                "name": {"type": "string", "x-selector": ".name"},
                "address": {"type": "object", "properties": {
                    "city": {"type": "string", "x-selector": ".city"},
                    "zip": {"type": "string", "x-selector": ".zip"}}}}},
            "tags": {"type": "array", "items": {"type": "string"}, "x-selector": ".tag"},
            "offers": {"type": "array", "x-scope": ".offer", "items": {"type": "object", "properties": {
                "price": {"type": "number", "x-selector": ".p"},
                "currency": {"type": "string", "x-selector": ".c"}}}}
        },
        "required": ["title", "price"]
    })
}

/// The columns, in the schema's order.
const COLUMNS: [&str; 12] = [
    "title",
    "code",
    "price",
    "count",
    "in_stock",
    "published",
    "day",
    "note",
    "raw",
    "seller",
    "tags",
    "offers",
];

struct Fixture {
    host: TestHost,
    key: String,
    run: String,
    /// The run's results, as the API gives them, in export (id) order.
    results: Vec<Value>,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let mut site = std::collections::HashMap::new();
    site.insert(
        "/items.html".to_owned(),
        (
            "text/html; charset=utf-8".to_owned(),
            PAGE.as_bytes().to_vec(),
        ),
    );
    let site = serve_site(site).await?;
    let host = TestHost::start().await?;
    let key = host.member("fay@example.com").await?;
    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "edge cases", "json_schema": schema(), "validation_mode": "lenient"})),
        )
        .await?;
    assert_eq!(status, 201, "{schema}");
    let run = host
        .run_job(
            &key,
            json!({"name": "Edge cases", "schema_id": schema["id"],
                   "start_urls": [format!("http://{site}/items.html")], "max_pages": 1}),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let run = run["id"].as_str().expect("id").to_owned();
    let results = host.all_results(&key, &run).await?;
    assert_eq!(results.len(), 4, "{results:#?}");
    // The page gives what this test is about: check the crawl made it so.
    let data: Vec<&Value> = results.iter().map(|r| &r["data"]).collect();
    let has = |f: &dyn Fn(&Value) -> bool| data.iter().any(|d| f(d));
    assert!(has(&|d| d["code"] == "00123"), "a string of digits");
    assert!(
        has(&|d| d["title"] == "1e5"),
        "a string that reads as a number"
    );
    assert!(
        has(&|d| d["note"].is_null() && d.get("note").is_some()),
        "a null: {data:#?}"
    );
    assert!(has(&|d| d["note"] == ""), "an empty string: {data:#?}");
    assert!(
        has(&|d| d["count"] == json!(9007199254740993_u64)),
        "an integer past 2^53"
    );
    assert!(has(&|d| d.get("price").is_none()), "a missing value");
    assert!(has(&|d| d["raw"]
        .as_str()
        .is_some_and(|r| r.contains('\n') && r.contains('"'))));
    assert!(
        has(&|d| d["offers"][1]["currency"] == "USD"),
        "an array of objects"
    );
    assert!(
        results.iter().any(|r| r["validation_errors"].is_array()),
        "an invalid item"
    );
    Ok(Fixture {
        host,
        key,
        run,
        results,
    })
}

impl Fixture {
    /// Export the run with `body`, wait for it, download it.
    async fn export(&self, body: Value) -> anyhow::Result<(Value, Vec<u8>)> {
        let (status, export) = self
            .host
            .call(
                "POST",
                &format!("/v1/runs/{}/exports", self.run),
                &self.key,
                Some(body),
            )
            .await?;
        assert_eq!(status, 202, "{export}");
        let export = self
            .host
            .wait_export(
                &self.key,
                export["id"].as_str().expect("id"),
                Duration::from_secs(60),
            )
            .await?;
        assert_eq!(export["status"], "succeeded", "{export}");
        let response = reqwest::get(export["download_url"].as_str().expect("link")).await?;
        assert_eq!(response.status(), 200);
        Ok((export, response.bytes().await?.to_vec()))
    }

    fn items(&self) -> impl Iterator<Item = &Map<String, Value>> {
        self.results
            .iter()
            .map(|r| r["data"].as_object().expect("an object"))
    }
}

/// A CSV cell as it must read for `value`: text as it is, numbers as their value,
/// nested values as their JSON, nothing for null or missing.
fn assert_cell(cell: &str, value: Option<&Value>, what: &str) {
    match value {
        None | Some(Value::Null) => assert_eq!(cell, "", "{what}"),
        Some(Value::String(s)) => assert_eq!(cell, s, "{what}"),
        Some(Value::Number(n)) => {
            assert_eq!(cell.parse::<f64>().ok(), n.as_f64(), "{what}: {cell}");
            if let Some(i) = n.as_u64() {
                assert_eq!(cell, i.to_string(), "{what}: integers exactly");
            }
        }
        Some(Value::Bool(b)) => assert_eq!(cell, b.to_string(), "{what}"),
        Some(nested) => assert_eq!(
            serde_json::from_str::<Value>(cell).ok().as_ref(),
            Some(nested),
            "{what}: {cell}"
        ),
    }
}

#[tokio::test]
async fn json_and_json_lines_read_back_equal() -> anyhow::Result<()> {
    let f = fixture().await?;
    let (export, bytes) = f.export(json!({"format": "json"})).await?;
    assert!(
        export["file_name"]
            .as_str()
            .is_some_and(|n| n.ends_with(".json")),
        "{export}"
    );
    let array: Vec<Map<String, Value>> = serde_json::from_slice(&bytes)?;
    assert_eq!(array.len(), f.results.len());
    for (got, want) in array.iter().zip(f.items()) {
        assert_eq!(got, want);
        // In the schema's order, not jsonb's.
        let order: Vec<&str> = got.keys().map(String::as_str).collect();
        let expected: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| want.contains_key(*c))
            .collect();
        assert_eq!(order, expected);
    }
    assert_eq!(export["row_count"], 4);

    let (_, bytes) = f.export(json!({"format": "jsonl"})).await?;
    let text = String::from_utf8(bytes)?;
    assert_eq!(
        text.lines().count(),
        4,
        "one line per item, line breaks escaped"
    );
    for (line, want) in text.lines().zip(f.items()) {
        assert_eq!(&serde_json::from_str::<Map<String, Value>>(line)?, want);
    }

    // `omit` alone: every other key stays, in order.
    let (_, bytes) = f
        .export(json!({"format": "jsonl", "options": {"omit": ["raw", "seller"]}}))
        .await?;
    let text = String::from_utf8(bytes)?;
    for (line, want) in text.lines().zip(f.items()) {
        let mut want = want.clone();
        want.shift_remove("raw");
        want.shift_remove("seller");
        let got: Map<String, Value> = serde_json::from_str(line)?;
        assert_eq!(got, want);
        assert!(got.keys().eq(want.keys()), "{line}");
    }
    f.host.stop().await
}

#[tokio::test]
async fn csv_reads_back_equal_with_its_options() -> anyhow::Result<()> {
    let f = fixture().await?;
    let (export, bytes) = f
        .export(
            json!({"format": "csv", "options": {"include": ["source_url", "validation_errors"]}}),
        )
        .await?;
    assert_eq!(export["media_type"], "text/csv", "{export}");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    let mut expected_header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    expected_header.extend(["_source_url".to_owned(), "_validation_errors".to_owned()]);
    assert_eq!(header, expected_header);
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    assert_eq!(records.len(), 4);
    for ((record, want), result) in records.iter().zip(f.items()).zip(&f.results) {
        for (i, column) in COLUMNS.iter().enumerate() {
            assert_cell(&record[i], want.get(*column), column);
        }
        assert_eq!(&record[12], result["source_url"].as_str().expect("url"));
        assert_cell(
            &record[13],
            result.get("validation_errors"),
            "validation errors",
        );
    }

    // Semicolons, a byte order mark for Excel, and nested objects in dotted columns.
    let (_, bytes) = f
        .export(
            json!({"format": "csv", "options": {"delimiter": ";", "bom": true, "flatten": true,
                                                    "fields": ["title", "seller", "tags"]}}),
        )
        .await?;
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&bytes[3..]);
    assert_eq!(
        reader.headers()?.iter().collect::<Vec<_>>(),
        [
            "title",
            "seller.name",
            "seller.address.city",
            "seller.address.zip",
            "tags"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    for (record, want) in records.iter().zip(f.items()) {
        assert_cell(&record[0], want.get("title"), "title");
        let seller = want.get("seller");
        assert_cell(
            &record[1],
            seller.and_then(|s| s.get("name")),
            "seller.name",
        );
        let address = seller.and_then(|s| s.get("address"));
        assert_cell(&record[2], address.and_then(|a| a.get("city")), "city");
        assert_cell(&record[3], address.and_then(|a| a.get("zip")), "zip");
        assert_cell(&record[4], want.get("tags"), "tags");
    }
    f.host.stop().await
}

/// `value` without the nulls and empty containers a columnar file cannot tell from
/// missing, numbers as doubles, and the two date columns as the reader shows them:
/// valid ones in canonical form, others gone (they are null in a typed column).
fn columnar(value: &Value, key: Option<&str>) -> Option<Value> {
    match (key, value) {
        (_, Value::Null) => None,
        (Some("published"), Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| json!(t.with_timezone(&chrono::Utc).to_rfc3339())),
        (Some("day"), Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(|d| json!(d.to_string())),
        (_, Value::Number(n)) => n.as_f64().map(|f| json!(f)),
        (_, Value::Object(map)) => {
            let out: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), columnar(v, Some(k))?)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (_, Value::Array(items)) => Some(Value::Array(
            items.iter().filter_map(|v| columnar(v, None)).collect(),
        )),
        (_, other) => Some(other.clone()),
    }
}

#[tokio::test]
async fn parquet_reads_back_equal_with_typed_columns() -> anyhow::Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let f = fixture().await?;
    let (export, bytes) = f.export(json!({"format": "parquet"})).await?;
    assert_eq!(
        export["media_type"], "application/vnd.apache.parquet",
        "{export}"
    );
    assert!(
        export["file_name"]
            .as_str()
            .is_some_and(|n| n.ends_with(".parquet"))
    );
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))?;
    let schema = builder.schema().clone();
    let types: Vec<(String, String)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    let type_of = |name: &str| {
        types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        types.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        COLUMNS,
        "{types:?}"
    );
    assert_eq!(type_of("title"), "Utf8");
    assert_eq!(type_of("price"), "Float64");
    assert_eq!(type_of("count"), "Int64");
    assert_eq!(type_of("in_stock"), "Boolean");
    assert!(
        type_of("published").starts_with("Timestamp(µs"),
        "{types:?}"
    );
    assert_eq!(type_of("day"), "Date32");
    assert!(type_of("seller").starts_with("Struct("), "{types:?}");
    assert!(type_of("tags").starts_with("List("), "{types:?}");
    assert!(type_of("offers").contains("Struct("), "{types:?}");

    let mut writer = arrow_json::ArrayWriter::new(Vec::new());
    for batch in builder.build()? {
        writer.write(&batch?)?;
    }
    writer.finish()?;
    let rows: Vec<Value> = serde_json::from_slice(&writer.into_inner())?;
    assert_eq!(rows.len(), 4);
    for (got, want) in rows.iter().zip(f.items()) {
        let want = columnar(&Value::Object(want.clone()), None);
        let got = columnar(got, None);
        assert_eq!(got, want);
    }
    // The integer past 2^53 is exact in an Int64 column.
    let mut writer = arrow_json::ArrayWriter::new(Vec::new());
    let again = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(
        f.export(
            json!({"format": "parquet", "options": {"fields": ["count"], "compression": "gzip"}}),
        )
        .await?
        .1,
    ))?;
    for batch in again.build()? {
        writer.write(&batch?)?;
    }
    writer.finish()?;
    let counts: Vec<Value> = serde_json::from_slice(&writer.into_inner())?;
    assert!(
        counts.contains(&json!({"count": 9007199254740993_u64})),
        "{counts:?}"
    );
    f.host.stop().await
}

#[tokio::test]
async fn xlsx_reads_back_equal_with_typed_cells() -> anyhow::Result<()> {
    use calamine::{Data, Reader as _, Xlsx};
    let f = fixture().await?;
    let (export, bytes) = f.export(json!({"format": "xlsx"})).await?;
    assert_eq!(
        export["media_type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))?;
    assert_eq!(book.sheet_names(), ["Results"]);
    let sheet = book.worksheet_range("Results")?;
    let mut rows = sheet.rows();
    let header: Vec<String> = rows
        .next()
        .expect("a header")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, COLUMNS);
    let rows: Vec<&[Data]> = rows.collect();
    assert_eq!(rows.len(), 4);
    for (row, want) in rows.iter().zip(f.items()) {
        for (i, column) in COLUMNS.iter().enumerate() {
            let cell = row.get(i).unwrap_or(&Data::Empty);
            let what = format!("{column}: {cell:?}");
            match (want.get(*column), cell) {
                (None | Some(Value::Null), Data::Empty) => {}
                (Some(Value::String(s)), Data::Empty) if s.is_empty() => {}
                (Some(Value::String(s)), Data::DateTime(t)) if *column == "published" => {
                    let at = chrono::DateTime::parse_from_rfc3339(s)?.naive_utc();
                    assert_eq!(t.as_datetime(), Some(at), "{what}");
                }
                (Some(Value::String(s)), Data::DateTime(t)) if *column == "day" => {
                    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")?;
                    assert_eq!(t.as_datetime().map(|d| d.date()), Some(day), "{what}");
                }
                (Some(Value::String(s)), Data::String(text)) => {
                    assert_eq!(text, s, "{what}: text stays text");
                    if *column == "published" || *column == "day" {
                        assert!(
                            s.contains("not") || s == "yesterday",
                            "{what}: only bad dates are text"
                        );
                    }
                }
                (Some(Value::Number(n)), Data::Float(x)) => {
                    assert_eq!(Some(*x), n.as_f64(), "{what}")
                }
                (Some(Value::Number(n)), Data::Int(x)) => {
                    assert_eq!(n.as_i64(), Some(*x), "{what}")
                }
                (Some(Value::Number(n)), Data::String(text)) => {
                    assert!(
                        n.as_u64().is_some_and(|n| n > 1 << 53),
                        "{what}: only past 2^53 as text"
                    );
                    assert_eq!(text, &n.to_string(), "{what}");
                }
                (Some(Value::Bool(b)), Data::Bool(x)) => assert_eq!(b, x, "{what}"),
                (Some(nested @ (Value::Array(_) | Value::Object(_))), Data::String(text)) => {
                    assert_eq!(&serde_json::from_str::<Value>(text)?, nested, "{what}")
                }
                (want, _) => panic!("{what} for {want:?}"),
            }
        }
    }
    // Flattened into dotted columns, and split into sheets of two rows.
    let (_, bytes) = f
        .export(json!({"format": "xlsx", "options": {"flatten": true, "sheet_rows": 2,
                                                     "sheet_name": "Items", "fields": ["title", "seller"]}}))
        .await?;
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))?;
    assert_eq!(book.sheet_names(), ["Items", "Items (2)"]);
    let mut titles = Vec::new();
    for name in ["Items", "Items (2)"] {
        let sheet = book.worksheet_range(name)?;
        let mut rows = sheet.rows();
        let header: Vec<String> = rows
            .next()
            .expect("a header")
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            header,
            [
                "title",
                "seller.name",
                "seller.address.city",
                "seller.address.zip"
            ]
        );
        for row in rows {
            titles.push(row[0].to_string());
        }
    }
    let want: Vec<String> = f
        .items()
        .map(|i| i["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(titles, want);
    f.host.stop().await
}

/// Each format's options are checked when the export is made: unknown keys, bad values
/// and gzip on a format that compresses itself are 422s naming what is wrong.
#[tokio::test]
async fn format_options_are_checked_at_creation() -> anyhow::Result<()> {
    let f = fixture().await?;
    let path = format!("/v1/runs/{}/exports", f.run);
    for (body, names) in [
        (
            json!({"format": "json", "options": {"indent": 2}}),
            "indent",
        ),
        (
            json!({"format": "jsonl", "options": {"pretty": true}}),
            "pretty",
        ),
        (
            json!({"format": "csv", "options": {"delimeter": ";"}}),
            "delimeter",
        ),
        (json!({"format": "csv", "options": {"bom": "yes"}}), "bom"),
        (
            json!({"format": "xlsx", "options": {"sheet_name": "a/b"}}),
            "sheet_name",
        ),
        (
            json!({"format": "xlsx", "options": {"sheet_rows": 1048576}}),
            "sheet_rows",
        ),
        (json!({"format": "xlsx", "options": {"gzip": true}}), "gzip"),
        (
            json!({"format": "parquet", "options": {"compression": "zstd"}}),
            "compression",
        ),
        (
            json!({"format": "parquet", "options": {"row_group_rows": 0}}),
            "row_group_rows",
        ),
        (
            json!({"format": "parquet", "options": {"gzip": true}}),
            "gzip",
        ),
    ] {
        let (status, error) = f
            .host
            .call("POST", &path, &f.key, Some(body.clone()))
            .await?;
        assert_eq!(status, 422, "{body}: {error}");
        assert_eq!(error["error"]["code"], "invalid_export_options", "{error}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{body}: {message}");
    }
    let (_, exports) = f
        .host
        .call(
            "GET",
            &format!("/v1/exports?run_id={}", f.run),
            &f.key,
            None,
        )
        .await?;
    assert_eq!(
        exports["items"].as_array().map(Vec::len),
        Some(0),
        "nothing queued: {exports}"
    );
    f.host.stop().await
}
