//! The preview API over a real host, a real site on loopback and the bundled plugins:
//! a schema tried on several pages (fetched, and pasted) gives what a run of it stores,
//! with each item's problems, the follow links, per-selector counts, fuel and timings;
//! a selector checked or proposed from example elements counts what trawl's DOM matches;
//! the page shown is stripped of everything that runs; bad input is refused with its code.

use std::collections::HashMap;

use serde_json::{Value, json};
use trawl_tests::TestHost;

fn listing(n: usize) -> String {
    std::fs::read_to_string(trawl_tests::fixtures().join(format!("books-listing/page-{n}.html")))
        .expect("the listing fixture")
}

async fn site() -> anyhow::Result<String> {
    let mut pages = HashMap::new();
    for n in 1..=2 {
        pages.insert(
            format!("/catalogue/page-{n}.html"),
            (
                "text/html; charset=utf-8".to_owned(),
                listing(n).into_bytes(),
            ),
        );
    }
    pages.insert(
        "/robots.txt".to_owned(),
        (
            "text/plain".to_owned(),
            b"User-agent: *\nDisallow: /private/\n".to_vec(),
        ),
    );
    let addr = trawl_tests::serve_site(pages).await?;
    Ok(format!("http://{addr}"))
}

fn schema() -> Value {
    json!({
        "type": "object",
        "x-scope": "article.product_pod",
        "x-follow": "li.next a",
        "properties": {
            "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"},
            "price": {"type": "number", "x-selector": ".price_color"},
            "rating": {"type": "integer", "x-selector": ".star-rating", "x-attr": "class",
                       "x-regex": "star-rating (\\w+)", "x-map": {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5}},
            "isbn": {"type": "string", "x-selector": ".isbn"}
        },
        "required": ["title", "price", "rating"]
    })
}

#[tokio::test]
async fn a_schema_is_tried_on_several_pages_as_a_run_would() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("previewer@example.com").await?;
    let base = site().await?;
    let urls = [
        format!("{base}/catalogue/page-1.html"),
        format!("{base}/catalogue/page-2.html"),
        format!("{base}/private/x.html"),
    ];
    let (status, body) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema": {"json_schema": schema()}, "urls": urls, "include_html": true})),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let pages = body["pages"].as_array().expect("pages");
    assert_eq!(pages.len(), 3);
    let first = &pages[0];
    assert_eq!(first["status"], 200);
    assert!(first["error"].is_null(), "{}", first["error"]);
    let items = first["items"].as_array().expect("items");
    assert_eq!(items.len(), 20);
    assert_eq!(pages[1]["items"].as_array().map(Vec::len), Some(10));
    // Each item as a run would store it, numbers coerced, every one valid and kept.
    assert!(
        items
            .iter()
            .all(|i| i["kept"] == true && i["problems"] == json!([]))
    );
    assert!(
        items.iter().all(|i| i["data"]["price"].is_number()),
        "{}",
        items[0]
    );
    assert_eq!(
        first["follow"],
        json!([format!("{base}/catalogue/page-2.html")])
    );
    assert_eq!(
        pages[1]["follow"],
        json!([]),
        "the last page has no next link"
    );
    // Per-selector counts from trawl's DOM.
    let counts: HashMap<String, (u64, Value)> = first["selectors"]
        .as_array()
        .expect("selectors")
        .iter()
        .map(|s| {
            (
                s["pointer"].as_str().unwrap_or_default().to_owned(),
                (
                    s["matches"].as_u64().unwrap_or(0),
                    s["scopes_matched"].clone(),
                ),
            )
        })
        .collect();
    assert_eq!(counts["/x-scope"].0, 20);
    assert_eq!(counts["/x-follow"].0, 1);
    assert_eq!(counts["/properties/title"], (20, json!(20)));
    assert_eq!(
        counts["/properties/isbn"],
        (0, json!(0)),
        "a selector that finds nothing says so"
    );
    assert!(first["fuel"].as_u64().unwrap_or(0) > 0);
    assert!(first["fetch_ms"].is_u64() && first["extract_ms"].is_u64());
    // The page to show: no scripts (the fixture has some), a policy that loads nothing.
    let shown = first["html"].as_str().expect("html");
    assert!(listing(1).contains("<script"));
    assert!(!shown.contains("<script"), "scripts are stripped");
    assert!(shown.contains("Content-Security-Policy"));
    // robots.txt holds for a preview as for a run.
    assert_eq!(
        pages[2]["error"]["code"], "robots_disallowed",
        "{}",
        pages[2]
    );
    assert_eq!(pages[2]["items"], json!([]));

    // The same run, stored: the preview's items are the run's.
    let (status, saved) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "books", "json_schema": schema()})),
        )
        .await?;
    assert_eq!(status, 201, "{saved}");
    let run = host
        .run_job(
            &key,
            json!({"name": "one", "schema_id": saved["id"], "start_urls": [urls[0]], "max_pages": 1}),
        )
        .await?;
    let stored = host
        .all_results(&key, run["id"].as_str().expect("id"))
        .await?;
    let mut stored: Vec<Value> = stored.into_iter().map(|r| r["data"].clone()).collect();
    let mut previewed: Vec<Value> = items.iter().map(|i| i["data"].clone()).collect();
    let by_title = |v: &Value| v["title"].as_str().unwrap_or_default().to_owned();
    stored.sort_by_key(by_title);
    previewed.sort_by_key(by_title);
    assert_eq!(stored, previewed);
    // A preview fetched with a job's own settings.
    let job_id = run["job_id"].clone();
    let (status, by_job) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema_id": saved["id"], "urls": [urls[1]], "job_id": job_id})),
        )
        .await?;
    assert_eq!(status, 200, "{by_job}");
    assert_eq!(
        by_job["pages"][0]["items"].as_array().map(Vec::len),
        Some(10)
    );
    let (status, both) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(
                json!({"schema_id": saved["id"], "urls": [urls[1]], "job_id": job_id, "fetch": {}}),
            ),
        )
        .await?;
    assert_eq!(
        (status, both["error"]["code"].as_str()),
        (422, Some("invalid_request")),
        "{both}"
    );
    // The run's results, filtered as exports are.
    let run_id = run["id"].as_str().expect("id");
    for (query, count) in [
        ("valid=true", 20),
        ("valid=false", 0),
        (&format!("source_url={base}/catalogue/*") as &str, 20),
        ("source_url=http://elsewhere.example/*", 0),
        ("min_confidence=1", 20),
    ] {
        let (status, page) = host
            .call(
                "GET",
                &format!("/v1/runs/{run_id}/results?{query}"),
                &key,
                None,
            )
            .await?;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["items"].as_array().map(Vec::len),
            Some(count),
            "{query}"
        );
    }
    let (status, bad) = host
        .call(
            "GET",
            &format!("/v1/runs/{run_id}/results?min_confidence=2"),
            &key,
            None,
        )
        .await?;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_query")),
        "{bad}"
    );

    // A saved schema by id, on pasted HTML.
    let (status, body) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema_id": saved["id"], "html": listing(2), "url": "http://books.example/catalogue/page-2.html"})),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pages"][0]["items"].as_array().map(Vec::len), Some(10));
    assert!(
        body["pages"][0]["html"].is_null(),
        "the page is given back only when asked"
    );
    host.stop().await
}

#[tokio::test]
async fn invalid_items_are_shown_with_their_problems() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("strict@example.com").await?;
    let mut strict = schema();
    strict["properties"]["price"]["minimum"] = json!(30);
    let (status, body) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema": {"json_schema": strict}, "html": listing(1)})),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let items = body["pages"][0]["items"].as_array().expect("items");
    assert_eq!(items.len(), 20);
    let cheap: Vec<&Value> = items
        .iter()
        .filter(|i| i["data"]["price"].as_f64().is_some_and(|p| p < 30.0))
        .collect();
    assert!(!cheap.is_empty(), "the fixture has books under £30");
    for item in &cheap {
        assert_eq!(item["kept"], false, "strict validation drops it: {item}");
        assert_eq!(item["problems"][0]["path"], "/price", "{item}");
    }
    assert!(items.iter().filter(|i| i["kept"] == true).count() == 20 - cheap.len());
    host.stop().await
}

#[tokio::test]
async fn selectors_are_checked_and_proposed_on_trawls_own_dom() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("picker@example.com").await?;
    // The page as the console shows it.
    let (_, shown) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema": {"json_schema": {"type": "object"}}, "html": listing(1), "include_html": true})),
        )
        .await?;
    let html = shown["pages"][0]["html"].as_str().expect("html").to_owned();
    let (status, titles) = host
        .call(
            "POST",
            "/v1/preview/selector",
            &key,
            Some(json!({"html": html, "selector": "article.product_pod h3 a", "sample": 100})),
        )
        .await?;
    assert_eq!(status, 200, "{titles}");
    assert_eq!(titles["count"], 20);
    let paths: Vec<Value> = titles["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m["path"].clone())
        .collect();
    assert_eq!(paths.len(), 20);
    assert!(
        titles["matches"][0]["html"]
            .as_str()
            .is_some_and(|h| h.starts_with("<a href="))
    );
    // Two example titles: all twenty, and the item around them.
    let (status, proposed) = host
        .call(
            "POST",
            "/v1/preview/selector",
            &key,
            Some(json!({"html": html, "examples": [paths[0], paths[7]]})),
        )
        .await?;
    assert_eq!(status, 200, "{proposed}");
    assert_eq!(proposed["count"], 20, "{proposed}");
    assert_eq!(proposed["container"]["count"], 20, "{proposed}");
    let scope = proposed["container"]["selector"]
        .as_str()
        .expect("scope")
        .to_owned();
    assert_eq!(proposed["container"]["field"], "h3 > a");
    // A price clicked inside one item: its selector in every item.
    let (_, prices) = host
        .call(
            "POST",
            "/v1/preview/selector",
            &key,
            Some(json!({"html": html, "selector": "p.price_color"})),
        )
        .await?;
    let (status, price) = host
        .call(
            "POST",
            "/v1/preview/selector",
            &key,
            Some(
                json!({"html": html, "examples": [prices["matches"][4]["path"]], "within": scope}),
            ),
        )
        .await?;
    assert_eq!(status, 200, "{price}");
    assert_eq!(
        (price["scopes"].clone(), price["in_scopes"].clone()),
        (json!(20), json!(20)),
        "{price}"
    );

    // Bad input: a selector that does not parse, a path to nothing, both or neither.
    for (body, code) in [
        (
            json!({"html": html, "selector": "h3 a["}),
            "invalid_selector",
        ),
        (
            json!({"html": html, "examples": [[1, 999, 3]]}),
            "no_selector",
        ),
        (
            json!({"html": html, "examples": [[1]], "selector": "a"}),
            "invalid_request",
        ),
        (json!({"html": html}), "invalid_request"),
        (
            json!({"html": html, "selector": "a", "sample": 1000}),
            "invalid_request",
        ),
    ] {
        let (status, got) = host
            .call("POST", "/v1/preview/selector", &key, Some(body))
            .await?;
        assert_eq!(
            (status, got["error"]["code"].as_str()),
            (422, Some(code)),
            "{got}"
        );
    }
    host.stop().await
}

#[tokio::test]
async fn previews_are_refused_what_runs_are_refused() -> anyhow::Result<()> {
    // The SSRF guard on, as a production host has it.
    let host = TestHost::start_with(|c| c.fetch.allow_private_networks = false).await?;
    let key = host.member("guarded@example.com").await?;
    let other = host.member("other@example.com").await?;
    let base = site().await?;
    let inline = json!({"json_schema": schema()});
    let (status, body) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema": inline, "urls": [format!("{base}/catalogue/page-1.html")]})),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["pages"][0]["error"]["code"], "blocked_address",
        "{body}"
    );
    // Through the selector endpoint's own fetch too.
    let (status, body) = host
        .call(
            "POST",
            "/v1/preview/selector",
            &key,
            Some(json!({"url": format!("{base}/catalogue/page-1.html"), "selector": "a"})),
        )
        .await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("fetch_failed")),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"][0]["message"], "blocked_address",
        "{body}"
    );
    let cases = [
        (json!({"schema": inline, "urls": []}), "invalid_request"),
        (
            json!({"schema": inline, "urls": ["a", "b", "c", "d", "e", "f"]}),
            "invalid_request",
        ),
        (
            json!({"schema": inline, "urls": ["ftp://x/"]}),
            "invalid_request",
        ),
        (json!({"schema": inline}), "invalid_request"),
        (
            json!({"schema": inline, "html": "<p>", "urls": ["http://x/"]}),
            "invalid_request",
        ),
        (json!({"html": "<p>"}), "invalid_request"),
        (
            json!({"schema": {"json_schema": {"type": "nonsense"}}, "html": "<p>"}),
            "invalid_schema",
        ),
        (
            json!({"schema": {"json_schema": {}, "plugin": "csv-exporter"}, "html": "<p>"}),
            "wrong_plugin_kind",
        ),
        (
            json!({"schema": {"json_schema": {}, "plugin": "nope"}, "html": "<p>"}),
            "unknown_plugin",
        ),
        (
            json!({"schema": inline, "html": "<p>", "url": "javascript:1"}),
            "invalid_request",
        ),
    ];
    for (body, code) in cases {
        let (status, got) = host
            .call("POST", "/v1/preview", &key, Some(body.clone()))
            .await?;
        assert_eq!(
            (status, got["error"]["code"].as_str()),
            (422, Some(code)),
            "{body} → {got}"
        );
    }
    // Someone else's schema is not found.
    let (_, saved) = host
        .call(
            "POST",
            "/v1/schemas",
            &other,
            Some(json!({"name": "theirs", "json_schema": schema()})),
        )
        .await?;
    let (status, got) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema_id": saved["id"], "html": "<p>"})),
        )
        .await?;
    assert_eq!(
        (status, got["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{got}"
    );
    // A page past the DOM's bounds is the page's error, and the host goes on.
    let deep = "<div>".repeat(20_000);
    let (status, got) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(json!({"schema": inline, "html": deep, "include_html": true})),
        )
        .await?;
    assert_eq!(status, 200, "{}", got["error"]);
    assert_eq!(
        got["pages"][0]["error"]["code"], "page_too_complex",
        "{}",
        got["pages"][0]["error"]
    );
    assert!(got["pages"][0]["html"].is_null());
    let (status, _) = host.call("GET", "/v1/me", &key, None).await?;
    assert_eq!(status, 200);
    host.stop().await
}

#[tokio::test]
async fn schedules_are_read_before_they_are_saved() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("planner@example.com").await?;
    let (status, got) = host
        .call(
            "POST",
            "/v1/schedule/preview",
            &key,
            Some(json!({"cron": "30 6 * * 1-5", "timezone": "Europe/Berlin"})),
        )
        .await?;
    assert_eq!(status, 200, "{got}");
    let next = got["occurrences"].as_array().expect("occurrences");
    assert_eq!(next.len(), 5);
    for at in next {
        let at: chrono::DateTime<chrono::Utc> = at.as_str().expect("instant").parse()?;
        // Berlin is one or two hours ahead of UTC, by the season.
        let utc = at.format("%H:%M").to_string();
        assert!(utc == "05:30" || utc == "04:30", "{at}");
        assert!(
            !matches!(at.format("%a").to_string().as_str(), "Sat" | "Sun"),
            "{at}"
        );
    }
    let (status, got) = host
        .call(
            "POST",
            "/v1/schedule/preview",
            &key,
            Some(json!({"cron": "61 * * * *", "timezone": "Mars/Base"})),
        )
        .await?;
    assert_eq!(
        (status, got["error"]["code"].as_str()),
        (422, Some("invalid_schedule")),
        "{got}"
    );
    let fields: Vec<&str> = got["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(fields, ["/cron", "/timezone"]);
    host.stop().await
}

#[tokio::test]
async fn jobs_are_listed_by_name_state_and_schedule_with_their_last_run() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("lister@example.com").await?;
    let base = site().await?;
    let (_, saved) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "s", "json_schema": schema()})),
        )
        .await?;
    let job = |name: &str, cron: Option<&str>, enabled: bool| {
        json!({"name": name, "schema_id": saved["id"], "start_urls": [format!("{base}/catalogue/page-1.html")],
               "max_pages": 1, "cron": cron, "enabled": enabled})
    };
    for body in [
        job("Books daily", Some("0 6 * * *"), true),
        job("books once", None, true),
        job("Shoes", None, false),
    ] {
        let (status, got) = host.call("POST", "/v1/jobs", &key, Some(body)).await?;
        assert_eq!(status, 201, "{got}");
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|j| j["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, got) = host.call("GET", "/v1/jobs?q=BOOKS", &key, None).await?;
    assert_eq!(names(&got), ["books once", "Books daily"]);
    let (_, got) = host
        .call("GET", "/v1/jobs?scheduled=true", &key, None)
        .await?;
    assert_eq!(names(&got), ["Books daily"]);
    let (_, got) = host
        .call("GET", "/v1/jobs?enabled=false", &key, None)
        .await?;
    assert_eq!(names(&got), ["Shoes"]);
    let (_, got) = host
        .call("GET", "/v1/jobs?q=books&scheduled=false", &key, None)
        .await?;
    assert_eq!(names(&got), ["books once"]);
    assert!(got["items"][0]["last_run"].is_null());
    let id = got["items"][0]["id"].as_str().expect("id").to_owned();
    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{id}/runs"), &key, None)
        .await?;
    assert_eq!(status, 201, "{run}");
    let done = host
        .wait_run(
            &key,
            run["id"].as_str().expect("run id"),
            std::time::Duration::from_secs(60),
        )
        .await?;
    let (_, got) = host
        .call("GET", &format!("/v1/jobs/{id}"), &key, None)
        .await?;
    assert_eq!(got["last_run"]["id"], run["id"]);
    assert_eq!(got["last_run"]["status"], done["status"]);
    assert!(got["last_run"]["finished_at"].is_string(), "{got}");
    // A job's runs by status.
    let status = done["status"].as_str().expect("status").to_owned();
    let other = if status == "succeeded" {
        "failed"
    } else {
        "succeeded"
    };
    let (_, runs) = host
        .call(
            "GET",
            &format!("/v1/jobs/{id}/runs?status={status}"),
            &key,
            None,
        )
        .await?;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(1), "{runs}");
    let (_, runs) = host
        .call(
            "GET",
            &format!("/v1/jobs/{id}/runs?status={other}"),
            &key,
            None,
        )
        .await?;
    assert_eq!(runs["items"], json!([]));
    let (code, bad) = host
        .call(
            "GET",
            &format!("/v1/jobs/{id}/runs?status=sleeping"),
            &key,
            None,
        )
        .await?;
    assert_eq!(
        (code, bad["error"]["code"].as_str()),
        (400, Some("invalid_query")),
        "{bad}"
    );
    // Schemas by name.
    let (_, _) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "Shoe pages", "json_schema": schema()})),
        )
        .await?;
    for bad in ["/v1/schemas?q=a%00b", "/v1/jobs?q=a%00b"] {
        let (code, got) = host.call("GET", bad, &key, None).await?;
        assert_eq!(
            (code, got["error"]["code"].as_str()),
            (400, Some("invalid_query")),
            "{bad}: {got}"
        );
    }
    let (_, found) = host.call("GET", "/v1/schemas?q=SHOE", &key, None).await?;
    assert_eq!(names(&found), ["Shoe pages"]);
    let (_, found) = host.call("GET", "/v1/schemas", &key, None).await?;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(2));
    host.stop().await
}

/// A page that scripts build: over HTTP it has no items; rendered in headless Chromium
/// (the job's render mode, given to the preview) it has them, and the page given back to
/// show is the rendered one, its scripts gone.
#[tokio::test]
async fn a_preview_renders_in_the_browser_when_asked() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("rendered@example.com").await?;
    let page = r#"<!doctype html><html><head><title>built</title></head><body><ol id="list"></ol>
        <script>
          const list = document.getElementById('list');
          for (let n = 1; n <= 5; n++) {
            const li = document.createElement('li');
            li.innerHTML = '<article class="product_pod"><h3><a href="/b/' + n + '" title="Book ' + n + '">Book ' + n + '</a></h3><p class="price_color">£' + n + '.50</p><p class="star-rating Two"></p></article>';
            list.appendChild(li);
          }
        </script></body></html>"#;
    let mut pages = HashMap::new();
    pages.insert(
        "/built.html".to_owned(),
        (
            "text/html; charset=utf-8".to_owned(),
            page.as_bytes().to_vec(),
        ),
    );
    let addr = trawl_tests::serve_site(pages).await?;
    let url = format!("http://{addr}/built.html");
    let ask = |fetch: Value| json!({"schema": {"json_schema": schema()}, "urls": [url], "include_html": true, "fetch": fetch});
    let (status, plain) = host
        .call("POST", "/v1/preview", &key, Some(ask(json!({}))))
        .await?;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(
        plain["pages"][0]["items"],
        json!([]),
        "over HTTP the list is empty"
    );
    let (status, rendered) = host
        .call(
            "POST",
            "/v1/preview",
            &key,
            Some(ask(json!({"render": "browser"}))),
        )
        .await?;
    assert_eq!(status, 200, "{rendered}");
    let page = &rendered["pages"][0];
    assert!(page["error"].is_null(), "{}", page["error"]);
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 5, "{page}");
    assert_eq!(items[4]["data"]["title"], "Book 5");
    assert_eq!(items[4]["data"]["price"], 5.5);
    let shown = page["html"].as_str().expect("html");
    assert!(
        shown.contains("Book 3") && !shown.contains("<script"),
        "{shown}"
    );
    host.stop().await
}
