//! How a run finds its next pages: the job's pagination style, turned into the URLs the
//! frontier starts from and the URLs each visited page adds, normalised, filtered and
//! bounded by depth.

use std::sync::Arc;

use crate::crawl::frontier::{self, LinkFilter};
pub use crate::model::job::Pagination;
use crate::model::job::{BadPattern, fill};

/// A run's pagination, ready to use.
#[derive(Debug)]
pub struct Planner {
    pagination: Pagination,
    filter: Option<LinkFilter>,
    drop_params: Vec<String>,
    max_depth: Option<i32>,
}

impl Planner {
    /// Prepare a job's pagination; fails when a pattern does not compile.
    pub fn new(
        pagination: Pagination,
        start_urls: &[String],
        drop_params: Vec<String>,
        max_depth: Option<i32>,
    ) -> Result<Self, BadPattern> {
        let filter = match &pagination {
            Pagination::Crawl {
                include,
                exclude,
                same_host,
                ..
            } => Some(LinkFilter::new(start_urls, *same_host, include, exclude)?),
            Pagination::Sitemap {
                include, exclude, ..
            } => Some(LinkFilter::new(start_urls, false, include, exclude)?),
            _ => None,
        };
        Ok(Self {
            pagination,
            filter,
            drop_params,
            max_depth,
        })
    }

    fn normalise(&self, url: &str) -> Option<String> {
        frontier::normalise(url, &self.drop_params)
    }

    /// The selector whose links the extractor call should return (host-side DOM).
    pub fn link_selector(&self) -> Option<Arc<str>> {
        match &self.pagination {
            Pagination::NextLink { selector } | Pagination::Crawl { selector, .. } => {
                Some(selector.as_str().into())
            }
            _ => None,
        }
    }

    /// The sitemap discovery the run starts with, when its pagination is `sitemap`.
    pub fn sitemap(&self) -> Option<crate::crawl::sitemap::Discovery<'_>> {
        match &self.pagination {
            Pagination::Sitemap {
                modified_since,
                max_sitemaps,
                ..
            } => Some(crate::crawl::sitemap::Discovery {
                modified_since: modified_since
                    .as_deref()
                    .and_then(crate::model::job::parse_instant),
                max_sitemaps: *max_sitemaps as usize,
                filter: self.filter.as_ref()?,
                drop_params: &self.drop_params,
            }),
            _ => None,
        }
    }

    /// The URLs the frontier starts from (depth 0): the start URLs, and the template's
    /// pages (all of them, up to `max_pages`, when it has an end; else the first). With
    /// `sitemap` pagination the start URLs are sitemaps, not pages: see [`Self::sitemap`].
    pub fn start(&self, start_urls: &[String], max_pages: i64) -> Vec<String> {
        if matches!(self.pagination, Pagination::Sitemap { .. }) {
            return Vec::new();
        }
        let mut urls: Vec<String> = start_urls
            .iter()
            .filter_map(|u| self.normalise(u))
            .collect();
        if let Pagination::UrlTemplate {
            template,
            start,
            end,
            step,
        } = &self.pagination
        {
            let last = end.unwrap_or(*start);
            let pages = (*start..=last)
                .step_by(usize::try_from(*step).unwrap_or(1).max(1))
                .take(usize::try_from(max_pages).unwrap_or(0));
            urls.extend(pages.filter_map(|n| self.normalise(&fill(template, n))));
        }
        urls
    }

    /// The URLs to enqueue at `depth + 1` after the page `url` (as enqueued) at `depth`
    /// gave `items` items, the selector's `links` and the plugin's `follow` URLs.
    pub fn next(
        &self,
        url: &str,
        depth: i32,
        items: usize,
        links: &[String],
        follow: &[String],
    ) -> Vec<String> {
        if let Pagination::UrlTemplate {
            template,
            start,
            end: None,
            step,
        } = &self.pagination
        {
            // Template page k sits at depth k: the next one exists only if this one
            // was a template page (not a start URL) and gave items.
            let this = start.saturating_add(step.saturating_mul(i64::from(depth)));
            if items == 0 || self.normalise(&fill(template, this)).as_deref() != Some(url) {
                return Vec::new();
            }
            return self
                .normalise(&fill(template, this.saturating_add(*step)))
                .into_iter()
                .collect();
        }
        if self.max_depth.is_some_and(|max| depth >= max) {
            return Vec::new();
        }
        let candidates = match &self.pagination {
            Pagination::NextLink { .. } | Pagination::Crawl { .. } => links,
            Pagination::Plugin => follow,
            Pagination::None | Pagination::UrlTemplate { .. } | Pagination::Sitemap { .. } => {
                return Vec::new();
            }
        };
        let mut out: Vec<String> = candidates
            .iter()
            .filter_map(|u| self.normalise(u))
            .filter(|u| self.filter.as_ref().is_none_or(|f| f.follows(u)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner(p: Pagination, max_depth: Option<i32>) -> Planner {
        Planner::new(
            p,
            &["http://shop.test/".into()],
            vec!["sid".into()],
            max_depth,
        )
        .expect("planner")
    }

    #[test]
    fn template_with_an_end_starts_with_every_page() {
        let p = planner(
            Pagination::UrlTemplate {
                template: "http://shop.test/list?page={page}".into(),
                start: 0,
                end: Some(40),
                step: 20,
            },
            None,
        );
        assert_eq!(
            p.start(&[], 100),
            [0, 20, 40].map(|n| format!("http://shop.test/list?page={n}"))
        );
        assert_eq!(p.start(&[], 2).len(), 2, "max_pages bounds the pages");
        assert!(
            p.next("http://shop.test/list?page=0", 0, 5, &[], &[])
                .is_empty()
        );
    }

    #[test]
    fn open_template_goes_on_while_pages_give_items() {
        let p = planner(
            Pagination::UrlTemplate {
                template: "http://shop.test/p/{page}".into(),
                start: 1,
                end: None,
                step: 1,
            },
            Some(0),
        );
        assert_eq!(p.start(&[], 100), ["http://shop.test/p/1"]);
        assert_eq!(
            p.next("http://shop.test/p/1", 0, 3, &[], &[]),
            ["http://shop.test/p/2"]
        );
        assert_eq!(
            p.next("http://shop.test/p/2", 1, 3, &[], &[]),
            ["http://shop.test/p/3"]
        );
        assert!(p.next("http://shop.test/p/3", 2, 0, &[], &[]).is_empty());
        // A start URL at depth 0 is not template page 1.
        assert!(p.next("http://shop.test/other", 0, 3, &[], &[]).is_empty());
    }

    #[test]
    fn crawl_filters_normalises_and_bounds_depth() {
        let p = planner(
            Pagination::Crawl {
                include: vec![],
                exclude: vec!["/logout".into()],
                same_host: true,
                selector: "a[href]".into(),
            },
            Some(2),
        );
        let links = [
            "http://shop.test/a#x".to_owned(),
            "http://SHOP.test:80/a".to_owned(),
            "http://shop.test/b?sid=123".to_owned(),
            "http://elsewhere.test/".to_owned(),
            "http://shop.test/logout".to_owned(),
            "mailto:a@shop.test".to_owned(),
        ];
        assert_eq!(
            p.next("http://shop.test/", 1, 0, &links, &[]),
            ["http://shop.test/a", "http://shop.test/b"]
        );
        assert!(p.next("http://shop.test/", 2, 0, &links, &[]).is_empty());
        assert_eq!(p.link_selector().as_deref(), Some("a[href]"));
    }

    #[test]
    fn problems_are_reported() {
        let bad = Pagination::UrlTemplate {
            template: "http://shop.test/".into(),
            start: 3,
            end: Some(1),
            step: 0,
        };
        assert_eq!(bad.problems().len(), 3);
        let crawl = Pagination::Crawl {
            include: vec!["(".into()],
            exclude: vec![],
            same_host: true,
            selector: "a[".into(),
        };
        assert_eq!(crawl.problems().len(), 2);
    }
}
