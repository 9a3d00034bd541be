//! The URLs to follow after a response, by its root `x-follow`: a next-page URL found in
//! the response, the page's own URL with the next page number, or with the next cursor.
//! The host's `plugin` pagination enqueues them (normalised and deduplicated).

use serde_json::Value;
use url::Url;
use url::form_urlencoded;

use crate::coerce::{Scalar, to_scalar, truthy};
use crate::plan::Follow;

/// The URLs to follow after the page at `page_url`, whose response is `body` and which
/// had `items` items. A URL that cannot be built (a relative link that does not resolve,
/// a page number that is not a number) is skipped, and the reason returned beside.
pub fn follow(
    rule: &Follow,
    page_url: &Url,
    body: &Value,
    items: usize,
) -> (Vec<String>, Option<String>) {
    match rule {
        Follow::Next(path) => {
            let mut urls: Vec<String> = Vec::new();
            let mut skipped = None;
            for link in path.find(body).into_iter().filter_map(Value::as_str) {
                let link = link.trim();
                if link.is_empty() {
                    continue;
                }
                match page_url.join(link) {
                    Ok(url) if !urls.iter().any(|u| u == url.as_str()) => urls.push(url.into()),
                    Ok(_) => {}
                    Err(e) => skipped = Some(format!("next URL {link:?} does not resolve: {e}")),
                }
            }
            (urls, skipped)
        }
        Follow::Page {
            param,
            start,
            while_true,
            total_pages,
            until_empty,
        } => {
            let current = match query_value(page_url, param) {
                None => *start,
                Some(text) => match text.trim().parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => {
                        return (
                            Vec::new(),
                            Some(format!(
                                "query parameter {param:?} is {text:?}, not a page number"
                            )),
                        );
                    }
                },
            };
            let goes_on = while_true.as_ref().is_none_or(|p| truthy(p.first(body)))
                && total_pages.as_ref().is_none_or(|p| {
                    p.first(body)
                        .and_then(|v| to_scalar(v, Scalar::Integer))
                        .and_then(|v| v.as_i64())
                        .is_some_and(|total| current < total)
                })
                && (!until_empty || items > 0);
            match current.checked_add(1) {
                Some(next) if goes_on => {
                    (vec![with_param(page_url, param, &next.to_string())], None)
                }
                _ => (Vec::new(), None),
            }
        }
        Follow::Cursor {
            param,
            path,
            while_true,
        } => {
            let cursor = match path.first(body) {
                Some(Value::String(s)) => s.clone(),
                Some(n @ Value::Number(_)) => n.to_string(),
                _ => return (Vec::new(), None),
            };
            let same = query_value(page_url, param).as_deref() == Some(cursor.as_str());
            if cursor.is_empty()
                || same
                || !while_true.as_ref().is_none_or(|p| truthy(p.first(body)))
            {
                return (Vec::new(), None);
            }
            (vec![with_param(page_url, param, &cursor)], None)
        }
    }
}

/// The (decoded) value of the query parameter `name` in `url`: the first, when repeated.
fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `url` with the query parameter `name` set to `value`: in the place of its first
/// occurrence (the others removed), else at the end. The other parameters are kept as
/// they were written.
///
/// ```
/// # use url::Url;
/// # use json_extractor::follow::with_param;
/// let url = Url::parse("https://api.test/items?q=a%20b&page=2&page=9#top")?;
/// assert_eq!(with_param(&url, "page", "3"), "https://api.test/items?q=a%20b&page=3#top");
/// assert_eq!(with_param(&url, "after", "x/y"), "https://api.test/items?q=a%20b&page=2&page=9&after=x%2Fy#top");
/// # Ok::<(), url::ParseError>(())
/// ```
pub fn with_param(url: &Url, name: &str, value: &str) -> String {
    let pair = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    let mut pairs: Vec<&str> = Vec::new();
    let mut placed = false;
    for raw in url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let is_it = form_urlencoded::parse(raw.as_bytes())
            .next()
            .is_some_and(|(key, _)| key == name);
        if !is_it {
            pairs.push(raw);
        } else if !placed {
            pairs.push(&pair);
            placed = true;
        }
    }
    if !placed {
        pairs.push(&pair);
    }
    let mut next = url.clone();
    next.set_query(Some(&pairs.join("&")));
    next.into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use crate::plan::Plan;
    use serde_json::json;

    fn rule(follow: Value) -> Follow {
        Plan::parse(&json!({"x-follow": follow}))
            .unwrap()
            .follow
            .unwrap()
    }

    fn next(follow: &Follow, url: &str, body: Value, items: usize) -> Vec<String> {
        let (urls, skipped) = super::follow(follow, &Url::parse(url).unwrap(), &body, items);
        assert_eq!(skipped, None);
        urls
    }

    #[test]
    fn page_numbers_while_has_next() {
        let f = rule(json!({"page": {"param": "page", "while": "has_next"}}));
        let api = "http://api.test/api/items";
        assert_eq!(
            next(&f, api, json!({"has_next": true}), 2),
            [format!("{api}?page=2")]
        );
        assert_eq!(
            next(
                &f,
                &format!("{api}?page=2&size=10"),
                json!({"has_next": true}),
                2
            ),
            [format!("{api}?page=3&size=10")]
        );
        assert!(next(&f, &format!("{api}?page=3"), json!({"has_next": false}), 2).is_empty());
        assert!(
            next(&f, api, json!({}), 2).is_empty(),
            "a missing stop field stops"
        );
        assert_eq!(
            next(&f, api, json!({"has_next": "true"}), 0),
            [format!("{api}?page=2")]
        );
        let nested = rule(json!({"page": {"param": "p", "start": 0, "while": "meta.has_more"}}));
        assert_eq!(
            next(&nested, api, json!({"meta": {"has_more": 1}}), 1),
            [format!("{api}?p=1")]
        );
    }

    #[test]
    fn page_numbers_until_empty_or_total_pages() {
        let api = "http://api.test/list?page=4";
        let empty = rule(json!({"page": {"param": "page", "until_empty": true}}));
        assert_eq!(
            next(&empty, api, json!([]), 3),
            ["http://api.test/list?page=5"]
        );
        assert!(next(&empty, api, json!([]), 0).is_empty());
        let total = rule(json!({"page": {"param": "page", "total_pages": "meta.total_pages"}}));
        assert_eq!(
            next(&total, api, json!({"meta": {"total_pages": 5}}), 3),
            ["http://api.test/list?page=5"]
        );
        assert!(next(&total, api, json!({"meta": {"total_pages": "4"}}), 3).is_empty());
        assert!(next(&total, api, json!({"meta": {}}), 3).is_empty());
        let both =
            rule(json!({"page": {"param": "page", "total_pages": "pages", "until_empty": true}}));
        assert!(
            next(&both, api, json!({"pages": 9}), 0).is_empty(),
            "every condition must hold"
        );
    }

    #[test]
    fn a_page_number_that_is_not_one_is_skipped_with_a_reason() {
        let f = rule(json!({"page": {"param": "page", "until_empty": true}}));
        let (urls, why) = follow(
            &f,
            &Url::parse("http://a.test/?page=last").unwrap(),
            &json!({}),
            1,
        );
        assert!(urls.is_empty());
        assert_eq!(
            why.as_deref(),
            Some("query parameter \"page\" is \"last\", not a page number")
        );
    }

    #[test]
    fn cursors() {
        let f = rule(json!({"cursor": {"param": "cursor", "path": "next_cursor"}}));
        let api = "http://api.test/feed?limit=2";
        assert_eq!(
            next(&f, api, json!({"next_cursor": "c2=="}), 2),
            ["http://api.test/feed?limit=2&cursor=c2%3D%3D"]
        );
        assert_eq!(
            next(
                &f,
                "http://api.test/feed?cursor=c2%3D%3D&limit=2",
                json!({"next_cursor": 30}),
                2
            ),
            ["http://api.test/feed?cursor=30&limit=2"]
        );
        for body in [
            json!({"next_cursor": null}),
            json!({"next_cursor": ""}),
            json!({}),
            json!({"next_cursor": {}}),
        ] {
            assert!(next(&f, api, body.clone(), 2).is_empty(), "{body}");
        }
        assert!(
            next(
                &f,
                "http://api.test/feed?cursor=same",
                json!({"next_cursor": "same"}),
                2
            )
            .is_empty(),
            "a cursor that points at this page again stops"
        );
        let guarded = rule(
            json!({"cursor": {"param": "after", "path": "paging.next", "while": "paging.has_more"}}),
        );
        let body = |more: bool| json!({"paging": {"next": "abc", "has_more": more}});
        assert_eq!(
            next(&guarded, api, body(true), 2),
            ["http://api.test/feed?limit=2&after=abc"]
        );
        assert!(next(&guarded, api, body(false), 2).is_empty());
    }

    #[test]
    fn next_urls_absolute_or_relative() {
        let f = rule(json!({"next": "links.next"}));
        let page = "http://api.test/v1/items?page=1";
        assert_eq!(
            next(&f, page, json!({"links": {"next": "/v1/items?page=2"}}), 1),
            ["http://api.test/v1/items?page=2"]
        );
        assert_eq!(
            next(&f, page, json!({"links": {"next": "?page=2"}}), 1),
            ["http://api.test/v1/items?page=2"]
        );
        assert_eq!(
            next(
                &f,
                page,
                json!({"links": {"next": "https://cdn.test/p2"}}),
                1
            ),
            ["https://cdn.test/p2"]
        );
        assert!(next(&f, page, json!({"links": {"next": null}}), 1).is_empty());
        assert!(next(&f, page, json!({"links": {"next": "  "}}), 1).is_empty());
        let many = rule(json!("data[*].url"));
        assert_eq!(
            next(
                &many,
                page,
                json!({"data": [{"url": "a"}, {"url": "b"}, {"url": "a"}, {"url": 3}]}),
                1
            ),
            ["http://api.test/v1/a", "http://api.test/v1/b"]
        );
        let (urls, why) = follow(
            &f,
            &Url::parse(page).unwrap(),
            &json!({"links": {"next": "http://[bad"}}),
            1,
        );
        assert!(
            urls.is_empty()
                && why.is_some_and(|w| w.starts_with("next URL \"http://[bad\" does not resolve"))
        );
    }
}
