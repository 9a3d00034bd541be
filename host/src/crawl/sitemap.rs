//! Discovery by sitemap: the pages a site's sitemaps list, read through the run's
//! session (guard, robots.txt, politeness), from sitemap files, gzipped or not, sitemap
//! indexes, or robots.txt's `Sitemap:` lines; filtered by pattern and `lastmod`, and
//! bounded in files, entries and bytes.

use std::collections::HashSet;
use std::io::Read as _;

use chrono::{DateTime, Utc};

use super::frontier::{self, LinkFilter};
use super::session::{Session, VisitResult};

/// Levels of sitemap indexes followed below a start URL.
const MAX_DEPTH: usize = 3;

/// Entries read from one file at most: the sitemap protocol's own limit.
const MAX_ENTRIES: usize = 50_000;

/// What a run discovers its pages with.
#[derive(Debug)]
pub struct Discovery<'a> {
    /// Only pages modified at or after this (pages without `lastmod` are kept).
    pub modified_since: Option<DateTime<Utc>>,
    /// Files read at most.
    pub max_sitemaps: usize,
    /// Include and exclude patterns.
    pub filter: &'a LinkFilter,
    /// Query parameters normalisation drops.
    pub drop_params: &'a [String],
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Found {
    /// The pages, normalised, deduplicated, in sitemap order.
    pub pages: Vec<String>,
    /// Sitemap files read.
    pub read: usize,
    /// What went wrong on the way (a sitemap that could not be fetched or parsed), for
    /// the run's log; the first few only.
    pub problems: Vec<String>,
}

impl Found {
    const PROBLEMS_KEPT: usize = 10;

    fn problem(&mut self, message: String) {
        if self.problems.len() < Self::PROBLEMS_KEPT {
            self.problems.push(message);
        }
    }
}

/// Where a start URL leads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A sitemap file or index.
    Sitemap(String),
    /// A robots.txt whose `Sitemap:` lines name the sitemaps (with `/sitemap.xml` of its
    /// origin when it names none).
    Robots(url::Url),
}

fn source_of(start: &str) -> Option<Source> {
    let url = url::Url::parse(start).ok()?;
    let path = url.path().to_ascii_lowercase();
    if path == "/robots.txt" {
        return Some(Source::Robots(url));
    }
    let file = path.rsplit('/').next().unwrap_or_default();
    if file.ends_with(".xml") || file.ends_with(".xml.gz") || file.contains("sitemap") {
        return Some(Source::Sitemap(url.to_string()));
    }
    Some(Source::Robots(url.join("/robots.txt").ok()?))
}

/// Up to `max_pages` pages from the sitemaps `start_urls` lead to.
pub async fn discover(
    session: &Session,
    start_urls: &[String],
    discovery: &Discovery<'_>,
    max_pages: usize,
) -> Found {
    let mut found = Found::default();
    let mut seen_pages = HashSet::new();
    let mut seen_sitemaps = HashSet::new();
    // (sitemap URL, depth below its start URL), read first in, first out.
    let mut queue = std::collections::VecDeque::new();
    for start in start_urls {
        match source_of(start) {
            Some(Source::Sitemap(url)) => queue.push_back((url, 0)),
            Some(Source::Robots(robots)) => {
                let rules = session.robots(&robots).await;
                let named = rules.sitemaps();
                if named.is_empty() {
                    if let Ok(default) = robots.join("/sitemap.xml") {
                        queue.push_back((default.to_string(), 0));
                    }
                } else {
                    queue.extend(named.iter().map(|s| (s.clone(), 0)));
                }
            }
            None => found.problem(format!("{start:?} is not a URL")),
        }
    }
    while let Some((url, depth)) = queue.pop_front() {
        if found.pages.len() >= max_pages || found.read >= discovery.max_sitemaps {
            break;
        }
        if !seen_sitemaps.insert(url.clone()) {
            continue;
        }
        let body = match session.visit_other(&url).await.result {
            VisitResult::Fetched(raw) => raw.body,
            VisitResult::Skipped { message, .. } => {
                found.problem(format!("sitemap {url}: {message}"));
                continue;
            }
            VisitResult::Failed(e) => {
                found.problem(format!("sitemap {url}: {e}"));
                continue;
            }
        };
        found.read += 1;
        let max_bytes = session.fetcher().config().max_body.as_u64();
        let xml = match ungzip(body, max_bytes) {
            Ok(xml) => xml,
            Err(e) => {
                found.problem(format!("sitemap {url}: {e}"));
                continue;
            }
        };
        let entries = parse(&xml);
        if let Some(e) = &entries.error {
            found.problem(format!("sitemap {url}: {e}"));
        }
        for child in entries.sitemaps {
            if depth < MAX_DEPTH {
                queue.push_back((child, depth + 1));
            } else {
                found.problem(format!(
                    "sitemap {url}: indexes nested deeper than {MAX_DEPTH} levels are not followed"
                ));
            }
        }
        for (loc, lastmod) in entries.pages {
            if found.pages.len() >= max_pages {
                break;
            }
            if let (Some(since), Some(at)) = (discovery.modified_since, lastmod)
                && at < since
            {
                continue;
            }
            let Some(page) = frontier::normalise(&loc, discovery.drop_params) else {
                continue;
            };
            if discovery.filter.follows(&page) && seen_pages.insert(page.clone()) {
                found.pages.push(page);
            }
        }
    }
    found
}

/// The body, gunzipped when it is gzip (by its magic bytes, whatever the URL or media
/// type say), and no larger than `max_bytes` once it is.
fn ungzip(body: Vec<u8>, max_bytes: u64) -> Result<Vec<u8>, String> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .take(max_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not valid gzip ({e})"))?;
    if out.len() as u64 > max_bytes {
        return Err(format!("larger than {max_bytes} bytes once gunzipped"));
    }
    Ok(out)
}

/// What one sitemap file lists.
#[derive(Debug, Default, PartialEq)]
struct Entries {
    /// Pages with their `lastmod`.
    pages: Vec<(String, Option<DateTime<Utc>>)>,
    /// Child sitemaps (of an index).
    sitemaps: Vec<String>,
    /// Why reading stopped early, if it did.
    error: Option<String>,
}

fn parse(xml: &[u8]) -> Entries {
    use ::sitemap::reader::{SiteMapEntity, SiteMapReader};
    let mut entries = Entries::default();
    for (n, entity) in SiteMapReader::new(xml).enumerate() {
        if n >= MAX_ENTRIES {
            entries.error = Some(format!(
                "more than {MAX_ENTRIES} entries; the rest were not read"
            ));
            break;
        }
        match entity {
            SiteMapEntity::Url(entry) => {
                if let Some(loc) = entry.loc.get_url() {
                    let lastmod = entry.lastmod.get_time().map(|t| t.with_timezone(&Utc));
                    entries.pages.push((loc.to_string(), lastmod));
                }
            }
            SiteMapEntity::SiteMap(entry) => {
                if let Some(loc) = entry.loc.get_url() {
                    entries.sitemaps.push(loc.to_string());
                }
            }
            SiteMapEntity::Err(e) => {
                entries.error = Some(format!("not a valid sitemap ({e})"));
                break;
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlsets_and_indexes() {
        let urlset = br#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc>
                http://site.test/a</loc><lastmod>2026-01-02</lastmod></url>
              <url><loc>http://site.test/b?x=1&amp;y=2</loc></url>
              <url><loc>not a url</loc></url>
            </urlset>"#;
        let entries = parse(urlset);
        assert_eq!(entries.pages.len(), 2, "{entries:?}");
        assert_eq!(entries.pages[0].0, "http://site.test/a");
        assert_eq!(
            entries.pages[0].1,
            crate::model::job::parse_instant("2026-01-02")
        );
        assert_eq!(
            entries.pages[1],
            ("http://site.test/b?x=1&y=2".into(), None)
        );
        assert!(entries.error.is_none());

        let index = br#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>http://site.test/s1.xml.gz</loc></sitemap></sitemapindex>"#;
        assert_eq!(parse(index).sitemaps, ["http://site.test/s1.xml.gz"]);

        let broken = parse(b"<urlset><url><loc>http://site.test/a</loc></url><url>");
        assert_eq!(broken.pages.len(), 1);
        assert!(broken.error.is_some());
    }

    #[test]
    fn gunzips_within_the_cap() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[b'x'; 1000]).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(ungzip(gz.clone(), 1000).unwrap().len(), 1000);
        assert!(ungzip(gz, 999).is_err(), "a bomb stops at the cap");
        assert_eq!(ungzip(b"<urlset/>".to_vec(), 5).unwrap(), b"<urlset/>");
        assert!(ungzip(vec![0x1f, 0x8b, 1, 2], 100).is_err());
    }

    #[test]
    fn start_urls_lead_to_sitemaps_or_robots() {
        assert_eq!(
            source_of("http://site.test/sitemap_index.xml"),
            Some(Source::Sitemap("http://site.test/sitemap_index.xml".into()))
        );
        assert_eq!(
            source_of("http://site.test/robots.txt"),
            Some(Source::Robots(
                url::Url::parse("http://site.test/robots.txt").unwrap()
            ))
        );
        assert_eq!(
            source_of("http://site.test/shop/"),
            Some(Source::Robots(
                url::Url::parse("http://site.test/robots.txt").unwrap()
            ))
        );
    }
}
