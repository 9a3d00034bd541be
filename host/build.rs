//! Builds the bundled plugins for `wasm32-wasip2` (see `trawl-build`), and lists the web
//! console's built assets (`ui/dist`, committed); the `trawl` binary embeds both.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use trawl_build::{Give, build_plugins};

fn main() {
    let bundled = [
        "css-extractor",
        "jsonl-exporter",
        "csv-exporter",
        "json-exporter",
        "xlsx-exporter",
        "parquet-exporter",
        "jsonld-extractor",
        "json-extractor",
        "product-extractor",
        "article-extractor",
    ];
    build_plugins(&bundled, Give::Bytes, &["plugins"], "plugins.rs");
    console_assets();
}

/// `console.rs` in OUT_DIR: `CONSOLE`, each file under ui/dist as (path from the dist
/// folder, bytes). An absent folder gives none (the host then says the console is not
/// built).
fn console_assets() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = root.join("../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    walk(&dist, &mut files);
    files.sort();
    let mut out = String::from("pub static CONSOLE: &[(&str, &[u8])] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file
            .strip_prefix(&dist)
            .expect("under dist")
            .to_string_lossy()
            .replace('\\', "/");
        let absolute = file.canonicalize().expect("a file just listed");
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            absolute.display().to_string()
        )
        .expect("writing to a string");
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("console.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
