//! The benchmark corpus: real books.toscrape.com pages from the Scrapy benchmark, read at
//! run time from its gzipped tarball rather than copied into the repository.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use trawl_host::runtime::PageData;

/// One page of the corpus.
#[derive(Debug, Clone)]
pub struct Page {
    /// File name inside the tarball, for messages.
    pub name: String,
    /// The page as the crawler would hand it to a plugin.
    pub data: Arc<PageData>,
}

/// Every `.html` file of the tarball at `path`, ordered by name.
///
/// The files carry no URL; each gets a detail-page URL of the real site so that relative
/// links resolve as they would in a crawl.
pub fn load(path: &Path) -> anyhow::Result<Vec<Page>> {
    let file =
        File::open(path).with_context(|| format!("opening the corpus {}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut pages = Vec::new();
    for entry in archive.entries().context("reading the corpus tarball")? {
        let mut entry = entry.context("reading a tarball entry")?;
        let entry_path = entry.path().context("a tarball entry's path")?.into_owned();
        if entry_path.extension().is_none_or(|ext| ext != "html") {
            continue;
        }
        let name = entry_path.to_string_lossy().into_owned();
        let mut body = String::new();
        entry
            .read_to_string(&mut body)
            .with_context(|| format!("{name} is not UTF-8"))?;
        let stem = entry_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = PageData {
            url: format!("http://books.toscrape.com/catalogue/book_{stem}/index.html"),
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body,
        };
        pages.push(Page {
            name,
            data: Arc::new(data),
        });
    }
    anyhow::ensure!(!pages.is_empty(), "no .html files in {}", path.display());
    pages.sort_by(|a, b| natural_key(&a.name).cmp(&natural_key(&b.name)));
    Ok(pages)
}

/// `2.html` before `10.html`.
fn natural_key(name: &str) -> (usize, &str) {
    (name.len(), name)
}
