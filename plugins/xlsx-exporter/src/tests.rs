//! Workbooks written here and read back with calamine (and, for what calamine does not
//! show, the sheet XML inside the zip).

use std::io::{Cursor, Read};

use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};

use super::*;

fn open(schema: &str, options: &str) -> XlsxExport {
    XlsxExport::open(&Schema::new(schema), &Options::new(options)).unwrap()
}

/// Export `rows` in batches of two; the bytes of the whole file.
fn export(schema: &str, options: &str, rows: &[&str]) -> Vec<u8> {
    let mut export = open(schema, options);
    let mut file = Vec::new();
    for batch in rows.chunks(2) {
        // Every batch's rows come out at once.
        let bytes = export
            .write(batch.iter().map(|r| r.to_string()).collect())
            .unwrap();
        assert!(!bytes.is_empty());
        file.extend(bytes);
    }
    file.extend(export.finish().unwrap());
    file
}

/// Every sheet: its name and its cells, row by row.
fn sheets(file: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(file.to_vec())).unwrap();
    let names = book.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            assert_eq!(range.start(), Some((0, 0)), "the header starts at A1");
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

/// The XML of one part of the file (`xl/worksheets/sheet1.xml`).
fn part(file: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(file.to_vec())).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn s(text: &str) -> Data {
    Data::String(text.into())
}

fn header(names: &[&str]) -> Vec<Data> {
    names.iter().map(|n| s(n)).collect()
}

const SCHEMA: &str = r#"{"type":"object","properties":{
    "title":{"type":"string"},"price":{"type":"number"},"in_stock":{"type":"boolean"},
    "tags":{"type":"array"},"seller":{"type":"object"},"note":{"type":["string","null"]},
    "count":{"type":"integer"}}}"#;

#[test]
fn typed_cells_under_a_bold_frozen_header() {
    let file = export(
        SCHEMA,
        "",
        &[
            // Keys in another order than the schema; one extra key, not exported.
            r#"{"price":51.77,"title":"A Light in the \"Attic\"","in_stock":true,"tags":["a","b"],"seller":{"n":1},"note":null,"count":3,"extra":1}"#,
            r#"{"title":"Łódź 🚀 <&>","note":""}"#,
            r#"{"title":"00123","price":-0.5,"in_stock":false,"note":"1e5","count":0}"#,
        ],
    );
    let sheets = sheets(&file);
    assert_eq!(sheets.len(), 1);
    let (name, rows) = &sheets[0];
    assert_eq!(name, "Results");
    assert_eq!(
        rows[0],
        header(&[
            "title", "price", "in_stock", "tags", "seller", "note", "count"
        ])
    );
    assert_eq!(
        rows[1],
        vec![
            s("A Light in the \"Attic\""),
            Data::Float(51.77),
            Data::Bool(true),
            s(r#"["a","b"]"#),
            s(r#"{"n":1}"#),
            Data::Empty,
            Data::Float(3.0),
        ]
    );
    // Missing keys are blank, and so is an empty string: Excel keeps no empty text.
    assert_eq!(
        rows[2],
        vec![
            s("Łódź 🚀 <&>"),
            Data::Empty,
            Data::Empty,
            Data::Empty,
            Data::Empty,
            Data::Empty,
            Data::Empty,
        ]
    );
    // Number-looking strings stay text.
    assert_eq!(rows[3][0], s("00123"));
    assert_eq!(rows[3][1], Data::Float(-0.5));
    assert_eq!(rows[3][2], Data::Bool(false));
    assert_eq!(rows[3][5], s("1e5"));
    assert_eq!(rows[3][6], Data::Float(0.0));
    assert_eq!(rows.len(), 4);

    let sheet = part(&file, "xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{sheet}"
    );
    assert!(sheet.contains(r#"<autoFilter ref="A1:G4"/>"#), "{sheet}");
    // The header cells use the bold style.
    let styles = part(&file, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "{styles}");
}

#[test]
fn values_that_do_not_fit_their_type_are_written_as_they_are() {
    let file = export(
        SCHEMA,
        "",
        &[
            r#"{"title":42,"price":"abc","in_stock":"yes","tags":"not a list","seller":[1],"count":1.5}"#,
            // 2^53 + 1 has no exact double: text. 2^60 has one: a number.
            r#"{"count":9007199254740993,"price":1152921504606846976}"#,
            r#"{"count":-9223372036854775808,"price":18446744073709551615}"#,
            r#"{"count":1e300,"title":true}"#,
        ],
    );
    let rows = &sheets(&file)[0].1;
    assert_eq!(
        rows[1][..6],
        [
            Data::Float(42.0),
            s("abc"),
            s("yes"),
            s("not a list"),
            s("[1]"),
            Data::Empty,
        ]
    );
    assert_eq!(rows[1][6], Data::Float(1.5));
    assert_eq!(rows[2][6], s("9007199254740993"));
    assert_eq!(rows[2][1], Data::Float(1_152_921_504_606_846_976.0));
    // -2^63 is a double; 2^64 - 1 is not.
    assert_eq!(rows[3][6], Data::Float(-9_223_372_036_854_775_808.0));
    assert_eq!(rows[3][1], s("18446744073709551615"));
    assert_eq!(rows[4][6], Data::Float(1e300));
    assert_eq!(rows[4][0], Data::Bool(true));
}

#[test]
fn dates_and_date_times_that_parse_become_excel_dates() {
    let schema = r#"{"properties":{
        "day":{"type":"string","format":"date"},
        "at":{"type":["string","null"],"format":"date-time"},
        "plain":{"type":"string"},
        "numeric":{"type":"integer","format":"date"}}}"#;
    let file = export(
        schema,
        "",
        &[
            r#"{"day":"2024-02-29","at":"2024-05-01T12:30:15.250+02:00","plain":"2024-02-29","numeric":"2024-02-29"}"#,
            r#"{"day":"2024-02-30","at":"2024-05-01 10:00:00Z"}"#,
            r#"{"day":"yesterday","at":"2024-05-01T10:00:00"}"#,
            // 00:00:00.001+00:01 is a minute before 1900 in UTC.
            r#"{"day":"1899-12-31","at":"1900-01-01T00:00:00.001+00:01"}"#,
            r#"{"day":20240229,"at":null}"#,
            r#"{"day":"1900-01-01","at":"1969-12-31T23:59:59.999Z"}"#,
        ],
    );
    let rows = &sheets(&file)[0].1;
    let date = |d: &Data| d.as_datetime().map(|t| t.to_string());
    assert!(matches!(rows[1][0], Data::DateTime(_)), "{:?}", rows[1][0]);
    assert_eq!(date(&rows[1][0]).as_deref(), Some("2024-02-29 00:00:00"));
    // UTC, to the millisecond.
    assert!(matches!(rows[1][1], Data::DateTime(_)), "{:?}", rows[1][1]);
    assert_eq!(
        date(&rows[1][1]).as_deref(),
        Some("2024-05-01 10:30:15.250")
    );
    // Without a date format, or a type that is not a string, the text stays text.
    assert_eq!(rows[1][2], s("2024-02-29"));
    assert_eq!(rows[1][3], s("2024-02-29"));
    // A space instead of `T` is RFC 3339 too.
    assert_eq!(date(&rows[2][1]).as_deref(), Some("2024-05-01 10:00:00"));
    // Not dates, or not dates Excel can show: text.
    assert_eq!(rows[2][0], s("2024-02-30"));
    assert_eq!(rows[3][0], s("yesterday"));
    assert_eq!(rows[3][1], s("2024-05-01T10:00:00"));
    assert_eq!(rows[4][0], s("1899-12-31"));
    assert_eq!(rows[4][1], s("1900-01-01T00:00:00.001+00:01"));
    assert_eq!(rows[5][0], Data::Float(20_240_229.0));
    assert_eq!(rows[5][1], Data::Empty);
    assert_eq!(date(&rows[6][0]).as_deref(), Some("1900-01-01 00:00:00"));
    assert_eq!(
        date(&rows[6][1]).as_deref(),
        Some("1969-12-31 23:59:59.999")
    );

    let styles = part(&file, "xl/styles.xml");
    assert!(styles.contains(r#"formatCode="yyyy-mm-dd""#), "{styles}");
    assert!(
        styles.contains(r#"formatCode="yyyy-mm-dd hh:mm:ss""#),
        "{styles}"
    );
}

#[test]
fn date_parsing() {
    assert_eq!(parse_date_time("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_date_time("1970-01-01T01:00:00+01:00"), Some(0));
    assert_eq!(parse_date_time("1969-12-31T23:00:00-01:00"), Some(0));
    assert_eq!(
        parse_date_time("2000-03-01T00:00:00.1234567z"),
        Some(951_868_800_123_456)
    );
    for bad in [
        "",
        "2024-05-01",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:60:00Z",
        "2024-05-01T10:00:60Z",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00+0200",
        "2024-13-01T10:00:00Z",
        "2023-02-29T10:00:00Z",
        "+024-05-01T10:00:00Z",
        "2024-05-01T10:00:00Zjunk",
        "２０２４-05-01T10:00:00Z",
    ] {
        assert_eq!(parse_date_time(bad), None, "{bad}");
    }
    assert_eq!(
        parse_date("2000-02-29"),
        chrono::NaiveDate::from_ymd_opt(2000, 2, 29)
    );
    assert_eq!(parse_date("1900-02-29"), None);
    assert_eq!(parse_date("2024-1-01"), None);
}

#[test]
fn long_text_is_cut_to_the_cell_limit() {
    let ascii = "a".repeat(40_000);
    let accented = "é".repeat(40_000);
    let astral = "🚀".repeat(20_000);
    let rows: Vec<String> = [&ascii, &accented, &astral]
        .iter()
        .map(|t| serde_json::json!({ "title": t }).to_string())
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = export(SCHEMA, "", &rows);
    let rows = &sheets(&file)[0].1;
    assert_eq!(rows[1][0], s(&ascii[..32_767]));
    assert_eq!(rows[2][0], s(&"é".repeat(32_767)));
    // A character of two UTF-16 units is not split.
    assert_eq!(rows[3][0], s(&"🚀".repeat(16_383)));
    assert_eq!(excel_text("short"), "short");
}

#[test]
fn zero_rows_give_a_sheet_with_the_header() {
    let file = export(SCHEMA, "{}", &[]);
    let sheets = sheets(&file);
    assert_eq!(sheets.len(), 1);
    assert_eq!(
        sheets[0].1,
        vec![header(&[
            "title", "price", "in_stock", "tags", "seller", "note", "count"
        ])]
    );
    assert!(part(&file, "xl/worksheets/sheet1.xml").contains(r#"state="frozen""#));
    // Without properties and without rows there are no columns: an empty sheet.
    let file = export("{}", "", &[]);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(file)).unwrap();
    assert_eq!(book.sheet_names(), vec!["Results"]);
    assert_eq!(book.worksheet_range("Results").unwrap().height(), 0);
}

#[test]
fn sheets_split_at_sheet_rows_each_with_its_header() {
    let rows: Vec<String> = (1..=7)
        .map(|n| format!(r#"{{"title":"t{n}","count":{n}}}"#))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = export(
        r#"{"properties":{"title":{},"count":{}}}"#,
        r#"{"sheet_rows":3}"#,
        &rows,
    );
    let sheets = sheets(&file);
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Results", "Results (2)", "Results (3)"]);
    let mut n = 0;
    for (index, (_, cells)) in sheets.iter().enumerate() {
        assert_eq!(cells[0], header(&["title", "count"]));
        assert_eq!(cells.len() - 1, if index < 2 { 3 } else { 1 });
        for row in &cells[1..] {
            n += 1;
            assert_eq!(row, &vec![s(&format!("t{n}")), Data::Float(f64::from(n))]);
        }
        let xml = part(&file, &format!("xl/worksheets/sheet{}.xml", index + 1));
        assert!(xml.contains(r#"state="frozen""#), "{xml}");
    }
    assert_eq!(n, 7);
    // Exactly a sheet's worth: no empty sheet after it.
    let file = export(
        r#"{"properties":{"title":{}}}"#,
        r#"{"sheet_rows":3}"#,
        &rows[..6],
    );
    assert_eq!(self::sheets(&file).len(), 2);
}

#[test]
fn sheet_names() {
    let long = "x".repeat(31);
    assert_eq!(sheet_name(&long, 1), long);
    assert_eq!(sheet_name(&long, 2), format!("{} (2)", "x".repeat(27)));
    assert_eq!(sheet_name(&long, 12).chars().count(), 31);
    assert_eq!(sheet_name("Results", 3), "Results (3)");
    // Cutting must not leave an apostrophe at the end.
    let quoted = format!("{}'{}", "x".repeat(26), "y".repeat(4));
    assert_eq!(sheet_name(&quoted, 2), format!("{} (2)", "x".repeat(26)));

    let rows = [r#"{"a":1}"#, r#"{"a":2}"#];
    let file = export(
        r#"{"properties":{"a":{}}}"#,
        r#"{"sheet_name":"Prix été 2024","sheet_rows":1}"#,
        &rows,
    );
    let names: Vec<String> = sheets(&file).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Prix été 2024", "Prix été 2024 (2)"]);
}

#[test]
fn flatten_follows_nested_properties_and_the_first_row() {
    let schema = r#"{"properties":{"title":{},"seller":{"type":"object","properties":{
        "name":{},"address":{"properties":{"city":{},"zip":{"type":"string"}}}}},
        "meta":{"type":"object"},"tags":{"type":"array"}}}"#;
    let file = export(
        schema,
        r#"{"flatten":true}"#,
        &[
            r#"{"title":"t","seller":{"name":"S","address":{"city":"Łódź","zip":"00123"}},"meta":{"k":1,"deep":{"x":true}},"tags":[1]}"#,
            r#"{"title":"u","seller":{"name":"N"},"meta":{"other":1}}"#,
            r#"{"title":"v","seller":"not an object","meta":{"k":{"a":1}}}"#,
        ],
    );
    let rows = &sheets(&file)[0].1;
    assert_eq!(
        rows[0],
        header(&[
            "title",
            "seller.name",
            "seller.address.city",
            "seller.address.zip",
            "meta.k",
            "meta.deep.x",
            "tags"
        ])
    );
    assert_eq!(
        rows[1],
        vec![
            s("t"),
            s("S"),
            s("Łódź"),
            s("00123"),
            Data::Float(1.0),
            Data::Bool(true),
            s("[1]")
        ]
    );
    // Keys the first row did not have are not exported.
    assert_eq!(
        rows[2],
        vec![
            s("u"),
            s("N"),
            Data::Empty,
            Data::Empty,
            Data::Empty,
            Data::Empty,
            Data::Empty
        ]
    );
    assert_eq!(rows[3][..2], [s("v"), Data::Empty]);
    assert_eq!(rows[3][4], s(r#"{"a":1}"#));

    // Without flatten each object is one JSON cell.
    let file = export(schema, "", &[r#"{"title":"t","seller":{"name":"S"}}"#]);
    let rows = &sheets(&file)[0].1;
    assert_eq!(rows[0], header(&["title", "seller", "meta", "tags"]));
    assert_eq!(rows[1][1], s(r#"{"name":"S"}"#));

    // Zero rows: an undescribed object is one column.
    let file = export(schema, r#"{"flatten":true}"#, &[]);
    assert_eq!(sheets(&file)[0].1[0][4], s("meta"));
}

#[test]
fn columns_from_the_first_row_without_properties() {
    let file = export(
        r#"{"type":"object"}"#,
        "",
        &[r#"{"b":1,"a":{"x":2}}"#, r#"{"a":3,"c":4}"#],
    );
    let rows = &sheets(&file)[0].1;
    assert_eq!(
        rows,
        &vec![
            header(&["b", "a"]),
            vec![Data::Float(1.0), s(r#"{"x":2}"#)],
            vec![Data::Empty, Data::Float(3.0)],
        ]
    );
    let file = export(
        r#"{"properties":{}}"#,
        r#"{"flatten":true}"#,
        &[r#"{"b":1,"a":{"x":2}}"#],
    );
    assert_eq!(sheets(&file)[0].1[0], header(&["b", "a.x"]));
}

#[test]
fn the_host_columns() {
    let schema = r#"{"properties":{"title":{"type":"string"},
        "_source_url":{"type":"string","format":"uri"},
        "_confidence":{"type":["number","null"]},
        "_validation_errors":{"type":["array","null"],"items":{"type":"object","properties":{"path":{"type":"string"},"message":{"type":"string"}}}}}}"#;
    let file = export(
        schema,
        "",
        &[
            r#"{"title":"t","_source_url":"https://example.com/a","_confidence":0.75,"_validation_errors":[{"path":"/price","message":"required"}]}"#,
            r#"{"title":"u","_source_url":"https://example.com/b","_confidence":null,"_validation_errors":null}"#,
        ],
    );
    let rows = &sheets(&file)[0].1;
    assert_eq!(
        rows[1],
        vec![
            s("t"),
            s("https://example.com/a"),
            Data::Float(0.75),
            s(r#"[{"path":"/price","message":"required"}]"#)
        ]
    );
    assert_eq!(rows[2][2..], [Data::Empty, Data::Empty]);
}

#[test]
fn the_same_rows_give_the_same_file() {
    let rows = [r#"{"title":"t","price":1}"#];
    assert_eq!(export(SCHEMA, "", &rows), export(SCHEMA, "", &rows));
    let core = part(&export(SCHEMA, "", &rows), "docProps/core.xml");
    assert!(core.contains("2000-01-01T00:00:00Z"), "{core}");
}

#[test]
fn options_are_checked() {
    for bad in [
        r#"{"sheet_name":""}"#,
        r#"{"sheet_name":"   "}"#,
        r#"{"sheet_name":"a/b"}"#,
        r#"{"sheet_name":"a[1]"}"#,
        r#"{"sheet_name":"why?"}"#,
        r#"{"sheet_name":"'quoted'"}"#,
        r#"{"sheet_name":"History"}"#,
        r#"{"sheet_name":"12345678901234567890123456789012"}"#,
        r#"{"sheet_name":5}"#,
        r#"{"sheet_rows":0}"#,
        r#"{"sheet_rows":1048576}"#,
        r#"{"sheet_rows":"3"}"#,
        r#"{"sheet_rows":2.5}"#,
        r#"{"sheet_rows":-1}"#,
        r#"{"flatten":"yes"}"#,
        r#"{"flatten":1}"#,
        r#"{"sheetname":"x"}"#,
        r#"{"gzip":true}"#,
        "[1]",
    ] {
        let err = XlsxExport::open(&Schema::new(SCHEMA), &Options::new(bad))
            .err()
            .unwrap_or_else(|| panic!("{bad} was accepted"));
        assert!(matches!(err, PluginError::InvalidInput(_)), "{bad}: {err}");
        let named = [
            "sheet_name",
            "sheet_rows",
            "flatten",
            "sheetname",
            "gzip",
            "object",
        ];
        assert!(
            named.iter().any(|n| err.message().contains(n)),
            "{bad}: {err}"
        );
    }
    let err = XlsxExport::open(&Schema::new(SCHEMA), &Options::new(r#"{"sheet_row":3}"#))
        .err()
        .unwrap();
    assert!(
        err.message().contains("`sheet_row`") && err.message().contains("`sheet_rows`"),
        "{err}"
    );
    // The extremes are accepted.
    open(
        SCHEMA,
        r#"{"sheet_rows":1048575,"sheet_name":"1234567890123456789012345678901","flatten":false}"#,
    );
    open(SCHEMA, r#"{"sheet_rows":1,"sheet_name":"it's"}"#);
    assert!(XlsxExport::open(&Schema::new(r#"{"properties":[]}"#), &Options::new("")).is_err());
    assert!(XlsxExport::open(&Schema::new("{"), &Options::new("")).is_err());
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
fn bytes_leave_with_each_write_and_stay_flat() {
    let columns = 10;
    let props: Vec<String> = (0..columns).map(|c| format!(r#""c{c}":{{}}"#)).collect();
    let schema = format!(r#"{{"properties":{{{}}}}}"#, props.join(","));
    let mut export = open(&schema, "");
    let mut file = Vec::new();
    let mut sizes = Vec::new();
    // 300,000 cells: past what a workbook held in memory could take in one call.
    let mut n = 0u64;
    for _ in 0..30 {
        let batch: Vec<String> = (0..1000)
            .map(|_| {
                n += 1;
                let cells: Vec<String> = (0..columns)
                    .map(|c| match c % 3 {
                        0 => format!(r#""c{c}":{n}"#),
                        1 => format!(r#""c{c}":"text {n} in column {c}""#),
                        _ => format!(r#""c{c}":{}"#, n.is_multiple_of(2)),
                    })
                    .collect();
                format!("{{{}}}", cells.join(","))
            })
            .collect();
        let bytes = export.write(batch).unwrap();
        sizes.push(bytes.len());
        file.extend(bytes);
    }
    // The first call carries the fixed parts and the header; after that every call's
    // share is about the same: the rows come out as they go in.
    assert!(file.starts_with(b"PK\x03\x04"));
    let (low, high) = (sizes[1..].iter().min(), sizes[1..].iter().max());
    let (low, high) = (*low.unwrap(), *high.unwrap());
    assert!(low > 10_000 && high < low * 2, "{sizes:?}");
    let before_finish = file.len();
    let last = export.finish().unwrap();
    // What `finish` adds is the workbook parts and the directory: small.
    assert!(last.len() < 4_000, "{}", last.len());
    file.extend(last);
    assert!(before_finish > file.len() * 9 / 10);
    let sheets = sheets(&file);
    assert_eq!(sheets.len(), 1);
    let rows = &sheets[0].1;
    assert_eq!(rows.len(), 30_001);
    assert_eq!(rows[30_000][0], Data::Float(30_000.0));
    assert_eq!(rows[30_000][1], s("text 30000 in column 1"));
    assert_eq!(rows[30_000][2], Data::Bool(true));
    assert!(part(&file, "xl/worksheets/sheet1.xml").contains(r#"<autoFilter ref="A1:J30001"/>"#));
}

#[test]
fn xml_special_and_control_characters_read_back_as_they_were() {
    let odd = "a<b>&\"c\"'d' \u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\r\n\t_x0041_ _X0041_ _x12_ \u{fffe}\u{ffff}\u{fffd} ]]>";
    let header_name = "<h&1> \"q\" \u{7} _x0000_";
    let schema = serde_json::json!({"properties": {
        header_name: {"type": "string"},
        "plain": {}
    }})
    .to_string();
    let row = serde_json::json!({ header_name: odd, "plain": ["<&>", "\u{1}"] }).to_string();
    let file = export(&schema, r#"{"sheet_name":"R&D's <list>"}"#, &[&row]);
    let sheets = sheets(&file);
    assert_eq!(sheets[0].0, "R&D's <list>");
    let rows = &sheets[0].1;
    assert_eq!(rows[0], header(&[header_name, "plain"]));
    assert_eq!(rows[1][0], s(odd));
    assert_eq!(rows[1][1], s(r#"["<&>","\u0001"]"#));
    // The autofilter's defined name quotes the sheet, apostrophe doubled.
    let workbook = part(&file, "xl/workbook.xml");
    assert!(
        workbook.contains(r#"<sheet name="R&amp;D's &lt;list&gt;" sheetId="1" r:id="rId1"/>"#),
        "{workbook}"
    );
    assert!(
        workbook.contains("hidden=\"1\">'R&amp;D''s &lt;list&gt;'!$A$1:$B$2</definedName>"),
        "{workbook}"
    );
    // Control characters are sheet-name errors, not escapes.
    let err = XlsxExport::open(
        &Schema::new(SCHEMA),
        &Options::new(r#"{"sheet_name":"a\u0001b"}"#),
    )
    .err()
    .unwrap();
    assert!(err.message().contains("control characters"), "{err}");
}

#[test]
fn cell_text_escapes() {
    let escaped = |t: &str| {
        let mut out = String::new();
        package::push_cell_text(&mut out, t);
        out
    };
    assert_eq!(escaped("plain é 🚀"), "plain é 🚀");
    assert_eq!(escaped("<&>\""), "&lt;&amp;&gt;&quot;");
    assert_eq!(escaped("\u{0}\r\n\t\u{1f}"), "_x0000__x000D_\n\t_x001F_");
    assert_eq!(
        escaped("_x00e9_ _x12_ _y0041_"),
        "_x005F_x00e9_ _x12_ _y0041_"
    );
    assert_eq!(
        escaped("\u{fffe}\u{ffff}\u{fffd}"),
        "_xFFFE__xFFFF_\u{fffd}"
    );
    let mut out = String::new();
    package::push_escaped(&mut out, "a'b\"<&>");
    assert_eq!(out, "a'b&quot;&lt;&amp;&gt;");
}

#[test]
fn columns_past_z_get_two_letters() {
    let letters: Vec<String> = [0, 25, 26, 27, 51, 52, 701, 702, 16_383]
        .into_iter()
        .map(package::column_letters)
        .collect();
    assert_eq!(
        letters,
        ["A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA", "XFD"]
    );

    let names: Vec<String> = (0..30).map(|c| format!("c{c}")).collect();
    let props: Vec<String> = names.iter().map(|n| format!(r#""{n}":{{}}"#)).collect();
    let schema = format!(r#"{{"properties":{{{}}}}}"#, props.join(","));
    let row: Vec<String> = (0..30).map(|c| format!(r#""c{c}":{c}"#)).collect();
    let row = format!("{{{}}}", row.join(","));
    let file = export(&schema, "", &[&row, &row]);
    let rows = &sheets(&file)[0].1;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(rows[0], header(&names));
    assert_eq!(rows[2][29], Data::Float(29.0));
    assert_eq!(rows[2][26], Data::Float(26.0));
    let sheet = part(&file, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"<c r="AD3"><v>29</v></c>"#), "{sheet}");
    assert!(sheet.contains(r#"<autoFilter ref="A1:AD3"/>"#), "{sheet}");
}

#[test]
fn more_columns_than_excel_holds_are_refused() {
    let schema = |n: usize| {
        let props: Vec<String> = (0..n).map(|c| format!(r#""c{c}":{{}}"#)).collect();
        Schema::new(format!(r#"{{"properties":{{{}}}}}"#, props.join(",")))
    };
    let err = XlsxExport::open(&schema(MAX_COLUMNS + 1), &Options::new(""))
        .err()
        .unwrap();
    assert!(matches!(err, PluginError::InvalidInput(_)), "{err}");
    assert!(err.message().contains("16384"), "{err}");
    let mut export = XlsxExport::open(&schema(MAX_COLUMNS), &Options::new("")).unwrap();
    let mut file = export.write(vec![r#"{"c16383":1}"#.into()]).unwrap();
    file.extend(export.finish().unwrap());
    let sheet = part(&file, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"<c r="XFD2"><v>1</v></c>"#));
    assert!(sheet.contains(r#"<autoFilter ref="A1:XFD2"/>"#));

    // Columns from the first row are counted too.
    let keys: Vec<String> = (0..=MAX_COLUMNS).map(|c| format!(r#""k{c}":1"#)).collect();
    let mut export = open("{}", "");
    let err = export
        .write(vec![format!("{{{}}}", keys.join(","))])
        .unwrap_err();
    assert!(err.message().contains("16385 columns"), "{err}");
}

#[test]
fn numbers_keep_their_digits() {
    let number = |f: f64| {
        let mut out = String::new();
        push_number(&mut out, f);
        out
    };
    assert_eq!(number(3.0), "3");
    assert_eq!(number(-0.5), "-0.5");
    assert_eq!(number(51.77), "51.77");
    assert_eq!(number(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(number(1e300), "1E+300");
    assert_eq!(number(1.5e-7), "1.5E-7");
    assert_eq!(number(1e15), "1E+15");
    assert_eq!(number(999_999_999_999_999.0), "999999999999999");
    assert_eq!(number(0.0), "0");
    for f in [
        1e300,
        1.5e-7,
        0.1 + 0.2,
        1_152_921_504_606_846_976.0,
        f64::MIN_POSITIVE,
    ] {
        assert_eq!(number(f).parse::<f64>().unwrap(), f);
    }
}

#[test]
fn excel_day_numbers() {
    let day = |s: &str| excel_date(s).unwrap();
    assert_eq!(day("1900-01-01"), 1.0);
    assert_eq!(day("1900-02-28"), 59.0);
    // Day 60 is Excel's 29 February 1900.
    assert_eq!(day("1900-03-01"), 61.0);
    assert_eq!(day("1970-01-01"), 25_569.0);
    assert_eq!(day("2024-02-29"), 45_351.0);
    assert_eq!(day("9999-12-31"), 2_958_465.0);
    assert_eq!(excel_date_time("2024-02-29T18:00:00Z"), Some(45_351.75));
    // Past Excel's last day once in UTC.
    assert_eq!(excel_date_time("9999-12-31T23:00:00-05:00"), None);
    assert!(excel_date_time("9999-12-31T23:00:00+05:00").is_some());
}

#[test]
fn a_sheet_that_would_pass_the_zip_entry_size_goes_on_to_the_next() {
    let mut export = open(r#"{"properties":{"n":{},"t":{}}}"#, "");
    export.package.set_max_sheet_bytes(2_000);
    let text = "x".repeat(300);
    let mut file = Vec::new();
    for n in 1..=20 {
        file.extend(
            export
                .write(vec![format!(r#"{{"n":{n},"t":"{text}"}}"#)])
                .unwrap(),
        );
    }
    file.extend(export.finish().unwrap());
    let sheets = sheets(&file);
    assert!(sheets.len() > 3, "{}", sheets.len());
    let mut n = 0;
    for (_, rows) in &sheets {
        assert_eq!(rows[0], header(&["n", "t"]));
        assert!(rows.len() > 1);
        for row in &rows[1..] {
            n += 1;
            assert_eq!(row[0], Data::Float(f64::from(n)));
        }
    }
    assert_eq!(n, 20);
}

#[test]
fn sheets_are_bounded() {
    let mut export = open(r#"{"properties":{"n":{}}}"#, r#"{"sheet_rows":1}"#);
    let rows: Vec<String> = (0..MAX_SHEETS).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
    export.write(rows).unwrap();
    let err = export.write(vec![r#"{"n":0}"#.into()]).unwrap_err();
    assert!(err.message().contains("more than 10000 sheets"), "{err}");
}

/// Excel's row limit: 1,100,000 rows make a full sheet and a second one. Slow unoptimised.
#[test]
#[cfg_attr(debug_assertions, ignore = "run with --release")]
fn past_excels_row_limit_rows_go_on_to_a_second_sheet() {
    let mut export = open(r#"{"properties":{"n":{},"t":{}}}"#, "");
    let mut file = Vec::new();
    let total = 1_100_000u32;
    let mut n = 0;
    while n < total {
        let batch: Vec<String> = (0..1000)
            .map(|_| {
                n += 1;
                format!(r#"{{"n":{n},"t":"row {n}"}}"#)
            })
            .collect();
        file.extend(export.write(batch).unwrap());
    }
    file.extend(export.finish().unwrap());
    let sheets = sheets(&file);
    assert_eq!(sheets.len(), 2);
    assert_eq!(sheets[1].0, "Results (2)");
    assert_eq!(sheets[0].1.len(), 1_048_576);
    assert_eq!(sheets[1].1.len(), 1 + 51_425);
    assert_eq!(sheets[0].1[1_048_575][0], Data::Float(1_048_575.0));
    assert_eq!(
        sheets[1].1[1],
        vec![Data::Float(1_048_576.0), s("row 1048576")]
    );
    assert_eq!(sheets[1].1[51_425][0], Data::Float(f64::from(total)));
}

#[test]
fn later_sheets_never_repeat_the_first_sheets_name() {
    let base = "ABCDEFGHIJKLMNOPQRSTUVWXYZA (2)";
    assert_eq!(base.len(), 31);
    let second = sheet_name(base, 2);
    assert_ne!(second.to_lowercase(), base.to_lowercase());
    assert!(second.encode_utf16().count() <= 31, "{second}");
    assert_eq!(second, "ABCDEFGHIJKLMNOPQRSTUVWXYZ (2)");
    // Counted in UTF-16 units, as Excel counts: 16 astral characters are 32.
    let astral = "🦀".repeat(16);
    assert!(check_sheet_name(&astral).is_err());
    assert!(check_sheet_name(&"🦀".repeat(15)).is_ok());
    assert!(sheet_name(&"🦀".repeat(15), 2).encode_utf16().count() <= 31);
}
