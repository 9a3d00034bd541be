//! The bundled JSON Lines exporter: each row becomes one line, its JSON text exactly as
//! the host stored it (no parsing, no reformatting), followed by `\n`. The only change a
//! row can see: line breaks between tokens of pretty-printed JSON become spaces, so that a
//! row is always one line. It takes no options (any is refused).

use trawl_sdk::prelude::*;

/// One JSON Lines export in progress. It holds nothing: every batch is written out whole.
pub struct JsonLines;

impl Exporter for JsonLines {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "jsonl-exporter",
            env!("CARGO_PKG_VERSION"),
            "JSON Lines: one item per line, exactly as stored",
        )
    }

    fn format() -> Format {
        Format::new("application/x-ndjson", "jsonl")
    }

    fn open(_schema: &Schema, options: &Options) -> Result<Self, PluginError> {
        options.allow_only(&[])?;
        Ok(Self)
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let len = rows.iter().map(|row| row.len() + 1).sum();
        let mut out = Vec::with_capacity(len);
        for row in rows {
            // JSON strings cannot hold a raw line break, so one in a row is whitespace
            // between tokens (pretty-printed JSON): blank it rather than split the row.
            out.extend(
                row.bytes()
                    .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
            );
            out.push(b'\n');
        }
        Ok(out)
    }

    fn finish(self) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }
}

register_exporter!(JsonLines);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn each_row_is_one_line_as_is() {
        let mut export = JsonLines::open(&Schema::new("{}"), &Options::new("")).unwrap();
        let first = export
            .write(vec![r#"{"a": 1,"b":"x"}"#.into(), r#"{"a":2}"#.into()])
            .unwrap();
        assert_eq!(first, b"{\"a\": 1,\"b\":\"x\"}\n{\"a\":2}\n");
        assert_eq!(export.write(vec![]).unwrap(), b"");
        assert_eq!(export.finish().unwrap(), b"");
    }

    #[test]
    fn pretty_rows_stay_on_one_line() {
        let mut export = JsonLines::open(&Schema::new("{}"), &Options::new("")).unwrap();
        let out = export
            .write(vec!["{\r\n  \"a\": \"x\\ny\"\n}".into()])
            .unwrap();
        assert_eq!(out, b"{    \"a\": \"x\\ny\" }\n");
    }

    #[test]
    fn options_are_refused() {
        let err = JsonLines::open(&Schema::new("{}"), &Options::new(r#"{"pretty":true}"#))
            .err()
            .map(|e| e.message().to_owned());
        assert_eq!(
            err.as_deref(),
            Some("unknown option `pretty`; there are no options")
        );
        assert!(JsonLines::open(&Schema::new("{}"), &Options::new("{}")).is_ok());
    }
}
