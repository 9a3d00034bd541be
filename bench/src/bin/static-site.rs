//! `static-site DIR [ADDR]`: serve a directory from memory, fast, for the crawl benchmark
//! (trawl versus Scrapy on the same site). Every file is read once at start; requests
//! are answered from a map on one thread, so the server takes as little of the machine's
//! CPU as possible away from the crawlers it serves.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;

fn load(
    root: &Path,
    dir: &Path,
    files: &mut HashMap<String, (&'static str, Bytes)>,
) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            load(root, &path, files)?;
            continue;
        }
        let url = format!("/{}", path.strip_prefix(root)?.to_string_lossy());
        let content_type = match path.extension().and_then(|e| e.to_str()) {
            Some("html") => "text/html; charset=utf-8",
            Some("txt") => "text/plain",
            _ => "application/octet-stream",
        };
        files.insert(url, (content_type, Bytes::from(std::fs::read(&path)?)));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: static-site DIR [ADDR]"))?,
    );
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8099".into());
    let mut files = HashMap::new();
    load(&dir, &dir, &mut files)?;
    let files = Arc::new(files);
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let files = files.clone();
        async move {
            match files.get(uri.path()) {
                Some((content_type, body)) => {
                    ([(header::CONTENT_TYPE, *content_type)], body.clone()).into_response()
                }
                None => (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!(
            "serving {} on http://{}",
            dir.display(),
            listener.local_addr()?
        );
        axum::serve(listener, app).await?;
        Ok(())
    })
}
