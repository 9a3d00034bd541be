//! `trawl plugin new`: a plugin crate that builds with one command and has a passing test.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::Kind;

/// Where this binary's SDK sources were, if they are still there: new crates depend on
/// them by path (the SDK is not on crates.io yet).
fn sdk_dependency() -> String {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk");
    match std::fs::canonicalize(&sdk) {
        Ok(path) if path.join("Cargo.toml").is_file() => {
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        _ => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Write the crate into `dir` (which must not exist or be empty).
pub fn write(dir: &Path, name: &str, kind: Kind) -> anyhow::Result<()> {
    if !valid_name(name) {
        bail!(
            "{name:?}: a plugin name is kebab-case: lower-case letters, digits and '-', starting with a letter"
        );
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let (description, lib) = match kind {
        Kind::Extractor => ("A trawl extractor", EXTRACTOR),
        Kind::Exporter => ("A trawl exporter", EXPORTER),
    };
    let files = [
        ("Cargo.toml", cargo_toml(name, description)),
        ("rust-toolchain.toml", TOOLCHAIN.to_owned()),
        (".gitignore", "/target\n".to_owned()),
        ("src/lib.rs", lib.to_owned()),
        ("README.md", readme(name, kind)),
    ];
    for (path, contents) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn cargo_toml(name: &str, description: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
description = "{description}"

[lib]
# cdylib: the WebAssembly component; rlib: so `cargo test` runs the logic natively.
crate-type = ["cdylib", "rlib"]

[dependencies]
trawl-sdk = {sdk}

# Small components: about 100 KB instead of megabytes.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = "debuginfo"

# A crate of its own, even inside another workspace.
[workspace]
"#,
        sdk = sdk_dependency()
    )
}

const TOOLCHAIN: &str = r#"[toolchain]
channel = "stable"
targets = ["wasm32-wasip2"]
"#;

fn readme(name: &str, kind: Kind) -> String {
    let file = name.replace('-', "_");
    let run = match kind {
        Kind::Extractor => format!(
            "trawl plugin run target/wasm32-wasip2/release/{file}.wasm --schema schema.json --url https://example.com/"
        ),
        Kind::Exporter => {
            format!(
                "trawl plugin run target/wasm32-wasip2/release/{file}.wasm --schema schema.json --rows rows.jsonl"
            )
        }
    };
    format!(
        "# {name}\n\n```sh\ncargo test                                        # the logic, natively\n\
         cargo build --release --target wasm32-wasip2      # the component\n\
         trawl plugin check target/wasm32-wasip2/release/{file}.wasm\n{run}\n\
         trawl plugin upload target/wasm32-wasip2/release/{file}.wasm   # TRAWL_SERVER, TRAWL_API_KEY\n```\n"
    )
}

const EXTRACTOR: &str = r##"//! An extractor: every heading of a page becomes an item with its text and link.

use trawl_sdk::prelude::*;

/// The plugin.
pub struct Plugin;

impl Extractor for Plugin {
    fn info() -> PluginInfo {
        plugin_info!() // name, version and description from Cargo.toml
    }

    fn extract(page: &Page, _schema: &Schema, _options: &Options) -> Result<Extraction, PluginError> {
        headings(page)
    }
}

/// The logic, written against the `Dom` trait so that tests can answer for the page.
/// Two calls into the host for the whole page: one select, one read.
pub fn headings(dom: &impl Dom) -> Result<Extraction, PluginError> {
    let found = dom.select_in(&[Node::DOCUMENT], "h1, h2, h3")?;
    let nodes = found.into_iter().next().unwrap_or_default();
    let table = dom.read(&nodes, &[Field::text(), Field::url("href").selector("a")])?;
    Ok(table
        .rows()
        .filter_map(|row| {
            let title = row.first(0).filter(|t| !t.is_empty())?;
            Some(Item::from(json!({ "title": title, "link": row.first(1) })).with_confidence(1.0))
        })
        .collect())
}

register_extractor!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with two headings, the second without a link.
    struct Canned;

    impl Dom for Canned {
        fn select_in(&self, _scopes: &[Node], selector: &str) -> Result<Vec<Vec<Node>>, QueryError> {
            assert_eq!(selector, "h1, h2, h3");
            Ok(vec![vec![Node::from_id(1), Node::from_id(2)]])
        }

        fn read(&self, nodes: &[Node], _fields: &[Field]) -> Result<Table, QueryError> {
            let cells = vec![
                vec![vec!["Welcome".to_owned()], vec!["https://example.com/welcome".to_owned()]],
                vec![vec!["News".to_owned()], vec![]],
            ];
            Ok(Table::new(nodes.to_vec(), cells))
        }
    }

    #[test]
    fn headings_become_items() {
        let extraction = headings(&Canned).expect("extracts");
        let items: Vec<serde_json::Value> =
            extraction.items.iter().map(|i| serde_json::from_str(&i.json).expect("JSON")).collect();
        assert_eq!(
            items,
            [
                json!({"title": "Welcome", "link": "https://example.com/welcome"}),
                json!({"title": "News", "link": null}),
            ]
        );
    }
}
"##;

const EXPORTER: &str = r##"//! An exporter: a Markdown table with one column per schema property.

use trawl_sdk::prelude::*;

/// One export in progress.
pub struct Plugin {
    columns: Vec<String>,
    header_written: bool,
}

impl Exporter for Plugin {
    fn info() -> PluginInfo {
        plugin_info!()
    }

    fn format() -> Format {
        Format::new("text/markdown", "md")
    }

    fn open(schema: &Schema, _options: &Options) -> Result<Self, PluginError> {
        let schema: serde_json::Value = serde_json::from_str(schema.as_str())
            .map_err(|e| PluginError::invalid_input(format!("schema: {e}")))?;
        let columns = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        Ok(Self { columns, header_written: false })
    }

    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
        let mut out = String::new();
        if !self.header_written {
            out.push_str(&self.header());
            self.header_written = true;
        }
        for row in rows {
            let row: serde_json::Value = serde_json::from_str(&row)
                .map_err(|e| PluginError::other(format!("a row is not JSON: {e}")))?;
            let cells: Vec<String> = self.columns.iter().map(|c| cell(&row[c])).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        Ok(out.into_bytes())
    }

    fn finish(self) -> Result<Vec<u8>, PluginError> {
        Ok(if self.header_written { Vec::new() } else { self.header().into_bytes() })
    }
}

impl Plugin {
    fn header(&self) -> String {
        let rule: Vec<&str> = self.columns.iter().map(|_| "---").collect();
        format!("| {} |\n| {} |\n", self.columns.join(" | "), rule.join(" | "))
    }
}

fn cell(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.replace('|', "\\|").replace('\n', " ")
}

register_exporter!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_table_lines() {
        let schema = Schema::new(r#"{"properties": {"title": {}, "price": {}}}"#);
        let mut export = Plugin::open(&schema, &Options::new("{}")).expect("opens");
        let out = export.write(vec![r#"{"title": "A|B", "price": 2.5}"#.to_owned()]).expect("writes");
        assert_eq!(String::from_utf8(out).expect("utf-8"), "| title | price |\n| --- | --- |\n| A\\|B | 2.5 |\n");
        assert!(export.finish().expect("finishes").is_empty());
    }
}
"##;
