//! `trawl plugin new`: a plugin crate that builds with one command and has a passing test.

use std::path::Path;

use anyhow::{Context as _, bail};

/// Plugin kinds for `trawl plugin new`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Pages in, items out.
    Extractor,
    /// Rows in, a file out.
    Exporter,
}

/// How a new crate at `dir` depends on the SDK. The SDK is not on crates.io yet, so by
/// path when its sources can be found, and relative, so that moving the trawl clone (and
/// the crate within it, or beside it) keeps it building: `TRAWL_SDK_PATH`, else a
/// `plugin-sdk` beside one of the crate's ancestors (a crate made inside the clone), else
/// one above the running `trawl` (`target/release/trawl` in a clone), else where this
/// binary was built from. With none, the registry version.
fn sdk_dependency(dir: &Path) -> String {
    let is_sdk = |p: &Path| {
        std::fs::read_to_string(p.join("Cargo.toml"))
            .is_ok_and(|t| t.contains("name = \"trawl-sdk\""))
    };
    let dir = absolute(dir);
    let beside = |start: &Path| {
        start
            .ancestors()
            .map(|a| a.join("plugin-sdk"))
            .find(|p| is_sdk(p))
    };
    let found = std::env::var_os("TRAWL_SDK_PATH")
        .map(std::path::PathBuf::from)
        .filter(|p| is_sdk(p))
        .or_else(|| beside(&dir))
        .or_else(|| std::env::current_exe().ok().and_then(|exe| beside(&exe)))
        .or_else(|| {
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk")).filter(|p| is_sdk(p))
        });
    match found.and_then(|sdk| std::fs::canonicalize(sdk).ok()) {
        Some(sdk) => {
            let path = relative(&dir, &sdk);
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        None => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
    }
}

/// `path` made absolute and canonical as far as it exists (the crate's directory may not
/// exist yet).
fn absolute(path: &Path) -> std::path::PathBuf {
    let path = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_owned());
    out.extend(rest.iter().rev());
    out
}

/// The path from directory `from` to `to` (both absolute).
fn relative(from: &Path, to: &Path) -> std::path::PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part);
    }
    out
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
        (
            "Cargo.toml",
            cargo_toml(name, description, &sdk_dependency(dir)),
        ),
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

fn cargo_toml(name: &str, description: &str, sdk: &str) -> String {
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
        sdk = sdk
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_relative() {
        assert_eq!(
            relative(Path::new("/a/b/plugins/x"), Path::new("/a/b/plugin-sdk")),
            Path::new("../../plugin-sdk")
        );
        assert_eq!(
            relative(Path::new("/home/me/x"), Path::new("/opt/trawl/plugin-sdk")),
            Path::new("../../../opt/trawl/plugin-sdk")
        );
    }

    /// A crate made inside the clone depends on the clone's SDK by a relative path.
    #[test]
    fn the_sdk_is_found_beside_an_ancestor() {
        let root = std::env::temp_dir().join(format!("trawl-scaffold-{}", std::process::id()));
        let sdk = root.join("plugin-sdk");
        std::fs::create_dir_all(&sdk).expect("dir");
        std::fs::write(sdk.join("Cargo.toml"), "[package]\nname = \"trawl-sdk\"\n").expect("write");
        let dependency = sdk_dependency(&root.join("plugins/new-one"));
        assert_eq!(dependency, r#"{ path = "../../plugin-sdk" }"#);
        let _ = std::fs::remove_dir_all(&root);
    }
}
