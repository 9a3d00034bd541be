//! `trawl plugin …`: the plugin author's inner loop, with no server and no database —
//! scaffold a crate, check a built component, run it on a page or on rows, upload it.

pub mod scaffold;

pub use scaffold::Kind;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::config::{FetchConfig, PluginLimits};
use crate::runtime::{LoadedPlugin, PageData, PluginKind, Runtime};

/// `trawl plugin` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PluginCommand {
    /// Write a new plugin crate that depends on trawl-sdk, builds with one command and has a
    /// passing test.
    New {
        /// Crate and plugin name (kebab-case), also the directory created.
        name: String,
        /// What the plugin does.
        #[arg(long, value_enum, default_value = "extractor")]
        kind: Kind,
        /// Where to create it (default: ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Say what a built component is: world, WIT version, info(), size, compile time.
    Check {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Run a built plugin locally: an extractor on a URL or an HTML file, an exporter on rows.
    Run {
        /// The `.wasm` component.
        file: PathBuf,
        /// The item JSON Schema (with `x-` hints), a JSON file.
        #[arg(long)]
        schema: PathBuf,
        /// Plugin options, a JSON file (default `{}`).
        #[arg(long)]
        options: Option<PathBuf>,
        /// Extractors: the page to fetch.
        #[arg(long, conflicts_with_all = ["html", "rows"])]
        url: Option<String>,
        /// Extractors: a local HTML file.
        #[arg(long, conflicts_with = "rows")]
        html: Option<PathBuf>,
        /// Extractors reading `--html`: the URL the page pretends to come from.
        #[arg(long, default_value = "http://localhost/")]
        base_url: String,
        /// Exporters: the rows, one JSON object per line.
        #[arg(long)]
        rows: Option<PathBuf>,
        /// Exporters: where to write the file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Upload a built component to a trawl server.
    Upload {
        /// The `.wasm` component.
        file: PathBuf,
        /// The server.
        #[arg(long, env = "TRAWL_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// An API key allowed to upload (an admin's, or a member's where the server allows it).
        #[arg(long, env = "TRAWL_API_KEY", hide_env_values = true)]
        key: String,
    },
}

/// Carry out a `trawl plugin` command.
pub async fn plugin(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::New { name, kind, path } => {
            let dir = path.unwrap_or_else(|| PathBuf::from(&name));
            scaffold::write(&dir, &name, kind)?;
            println!("created {} ({kind:?}). Next:", dir.display());
            println!("  cd {}", dir.display());
            println!(
                "  cargo test                                        # the plugin's own tests"
            );
            println!("  cargo build --release --target wasm32-wasip2      # the component");
            println!(
                "  trawl plugin check target/wasm32-wasip2/release/{}.wasm",
                name.replace('-', "_")
            );
            Ok(())
        }
        PluginCommand::Check { file } => check(&file).await,
        PluginCommand::Run {
            file,
            schema,
            options,
            url,
            html,
            base_url,
            rows,
            out,
        } => {
            run(
                &file,
                &schema,
                options.as_deref(),
                url,
                html,
                &base_url,
                rows,
                out,
            )
            .await
        }
        PluginCommand::Upload { file, server, key } => upload(&file, &server, &key).await,
    }
}

async fn load(
    file: &Path,
) -> anyhow::Result<(Arc<Runtime>, Arc<LoadedPlugin>, usize, std::time::Duration)> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let runtime = Runtime::new(PluginLimits::default())?;
    let size = bytes.len();
    let started = Instant::now();
    let rt = runtime.clone();
    let plugin = tokio::task::spawn_blocking(move || rt.load(&bytes)).await??;
    Ok((runtime, plugin, size, started.elapsed()))
}

async fn check(file: &Path) -> anyhow::Result<()> {
    let (_, plugin, size, compile) = load(file).await?;
    let m = &plugin.manifest;
    let world = match m.kind {
        PluginKind::Extractor => "extractor-plugin",
        PluginKind::Exporter => "exporter-plugin",
    };
    let mut report = json!({
        "file": file.display().to_string(),
        "world": format!("trawl:plugin/{world}@{}", m.wit_version),
        "wit_version": m.wit_version,
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "kind": m.kind,
        "size_bytes": size,
        "sha256": hex::encode(plugin.digest),
        "compile_ms": compile.as_secs_f64() * 1000.0,
    });
    if let (Some(media_type), Some(extension)) = (&m.media_type, &m.extension) {
        report["format"] = json!({"media_type": media_type, "extension": extension});
    }
    if semver::Version::parse(&m.version).is_err() {
        report["warnings"] = json!([format!(
            "version {:?} is not semver: uploads will be refused",
            m.version
        )]);
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    file: &Path,
    schema_path: &Path,
    options_path: Option<&Path>,
    url: Option<String>,
    html: Option<PathBuf>,
    base_url: &str,
    rows: Option<PathBuf>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (runtime, plugin, _, _) = load(file).await?;
    let schema = read_json(schema_path)?;
    let schema_text = std::fs::read_to_string(schema_path)?;
    let options = match options_path {
        Some(p) => read_json(p)?,
        None => json!({}),
    };
    match plugin.manifest.kind {
        PluginKind::Extractor => {
            let page = match (url, html) {
                (Some(url), _) => {
                    // The author's own machine: local and private addresses are fine here.
                    let fetcher = crate::crawl::Fetcher::new(&FetchConfig {
                        allow_private_networks: true,
                        ..FetchConfig::default()
                    })?;
                    fetcher
                        .fetch(&url)
                        .await
                        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?
                        .page
                }
                (None, Some(path)) => {
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Arc::new(PageData {
                        url: base_url.to_owned(),
                        status: 200,
                        headers: vec![("content-type".into(), "text/html".into())],
                        body: crate::crawl::decode(&bytes, None),
                    })
                }
                (None, None) => bail!("an extractor needs --url or --html"),
            };
            let validator = crate::validate::check_schema(&schema).map_err(|p| {
                anyhow::anyhow!(
                    "the schema is not valid: {}",
                    serde_json::to_string(&p).unwrap_or_default()
                )
            })?;
            let output = runtime
                .extract(
                    &plugin,
                    page,
                    schema_text.into(),
                    options.to_string().into(),
                    None,
                )
                .await?;
            let items: Vec<Value> = output
                .items
                .iter()
                .map(|extracted| {
                    let item = &extracted.value;
                    let problems = crate::validate::item_problems(&validator, item);
                    let empty = crate::validate::is_empty_item(item);
                    let fields = crate::model::field_meta_json(&extracted.fields);
                    json!({"item": item, "confidence": extracted.confidence, "fields": fields, "valid": problems.is_empty(), "empty": empty, "problems": problems})
                })
                .collect();
            let report = json!({
                "items": items,
                "refused": output.refused,
                "follow": output.follow,
                "logs": output.logs,
                "logs_dropped": output.logs_dropped,
                "fuel": output.fuel,
                "time_ms": output.elapsed.as_secs_f64() * 1000.0,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        PluginKind::Exporter => {
            let Some(rows) = rows else {
                bail!("an exporter needs --rows FILE.jsonl")
            };
            let text = std::fs::read_to_string(&rows)
                .with_context(|| format!("reading {}", rows.display()))?;
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            let started = Instant::now();
            let mut session = runtime
                .open_exporter(&plugin, schema_text, options.to_string(), None)
                .await?;
            let mut bytes = Vec::new();
            for batch in lines.chunks(500) {
                bytes.extend(session.write(batch.to_vec()).await?);
            }
            let fuel_before_finish = session.fuel;
            bytes.extend(session.finish().await?);
            match out {
                Some(path) => std::fs::write(&path, &bytes)?,
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            eprintln!(
                "{} rows, {} bytes, fuel {fuel_before_finish}+, {:.1} ms",
                lines.len(),
                bytes.len(),
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

async fn upload(file: &Path, server: &str, key: &str) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/plugins", server.trim_end_matches('/')))
        .bearer_auth(key)
        .header("content-type", "application/wasm")
        .body(bytes)
        .send()
        .await
        .with_context(|| format!("reaching {server}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let error = &body["error"];
        match (error["code"].as_str(), error["message"].as_str()) {
            (Some(code), Some(message)) => {
                bail!("the server refused the upload ({status}, {code}): {message}")
            }
            _ => bail!("the server refused the upload ({status})"),
        }
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}
