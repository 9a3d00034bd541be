//! The bundled JSON exporter: one JSON array holding every row, streamed as the rows
//! arrive, one row per line: `[` on the first line, then each row as the host stored it
//! (no parsing, no reformatting) followed by `,` except the last, then `]`. Zero rows
//! give `[]`. Line breaks between tokens of a pretty-printed row become spaces, so that
//! a row is always one line. It takes no options (any is refused).

use trawl_sdk::prelude::*;

/// One JSON export in progress: how many rows came so far.
pub struct JsonArray {
    rows: u64,
}

impl Exporter for JsonArray {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "json-exporter",
            env!("CARGO_PKG_VERSION"),
            "JSON: one array of every item, exactly as stored",
        )
    }

    fn format() -> Format {
        Format::new("application/json", "json")
    }

    fn open(_schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        options.allow_only(&[])?;
        Ok(Self { rows: 0 })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let len = rows.iter().map(|row| row.len() + 3).sum::<usize>() + 2;
        let mut out = Vec::with_capacity(len);
        for row in rows {
            // The separator goes before a row, so the last one needs no lookahead.
            out.extend_from_slice(if self.rows == 0 { b"[\n" } else { b",\n" });
            self.rows += 1;
            // JSON strings cannot hold a raw line break: one in a row is whitespace.
            out.extend(
                row.bytes()
                    .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
            );
        }
        Ok(out)
    }

    fn finish(self) -> Result<Vec<u8>, PluginError> {
        Ok(if self.rows == 0 {
            b"[]\n".to_vec()
        } else {
            b"\n]\n".to_vec()
        })
    }
}

register_exporter!(JsonArray);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn export(batches: &[&[&str]]) -> Vec<u8> {
        let mut export = JsonArray::open(&Schema::new("{}"), &Options::new("")).unwrap();
        let mut file = Vec::new();
        for batch in batches {
            file.extend(
                export
                    .write(batch.iter().map(|r| (*r).to_owned()).collect())
                    .unwrap(),
            );
        }
        file.extend(export.finish().unwrap());
        file
    }

    #[test]
    fn one_array_across_batches() {
        let file = export(&[
            &[r#"{"a":1}"#, r#"{"a":"x\ny"}"#],
            &[],
            &["{\n \"b\": [1]\n}"],
        ]);
        assert_eq!(
            String::from_utf8(file.clone()).unwrap(),
            "[\n{\"a\":1},\n{\"a\":\"x\\ny\"},\n{  \"b\": [1] }\n]\n"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!([{"a": 1}, {"a": "x\ny"}, {"b": [1]}])
        );
    }

    #[test]
    fn zero_rows_is_an_empty_array() {
        assert_eq!(export(&[]), b"[]\n");
        assert_eq!(export(&[&[]]), b"[]\n");
    }

    #[test]
    fn options_are_refused() {
        assert!(matches!(
            JsonArray::open(&Schema::new("{}"), &Options::new(r#"{"indent":2}"#)),
            Err(PluginError::InvalidInput(_))
        ));
    }
}
