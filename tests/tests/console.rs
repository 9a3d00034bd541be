//! The web console in a real browser: Debian's headless Chromium, driven through
//! chromedriver, against a real host and a real site on loopback. A member signs in, builds
//! a schema by clicking on a books.toscrape.com listing (two titles → all twenty), saves it,
//! makes a job with next-link pagination and a schedule, runs it and watches its counters
//! move to the end, sees every result, exports CSV and downloads it; admins' screens are
//! for admins only. Each screen is photographed under target/tmp/console/<test>/.

#[path = "console/driver.rs"]
mod driver;

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::Locator;
use serde_json::json;
use trawl_tests::TestHost;

use driver::Browser;

fn listing(n: usize) -> String {
    std::fs::read_to_string(trawl_tests::fixtures().join(format!("books-listing/page-{n}.html")))
        .expect("the listing fixture")
}

/// The corpus's listing pages, each answered after `delay`, so that a run's progress can
/// be watched page by page.
async fn slow_site(delay: Duration) -> anyhow::Result<String> {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
        use axum::response::IntoResponse;
        let page = match uri.path() {
            "/catalogue/page-1.html" => Some(listing(1)),
            "/catalogue/page-2.html" => Some(listing(2)),
            _ => None,
        };
        match page {
            Some(html) => {
                tokio::time::sleep(delay).await;
                (
                    [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    html,
                )
                    .into_response()
            }
            None => (axum::http::StatusCode::NOT_FOUND, "not found").into_response(),
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

async fn sign_in(browser: &mut Browser, host: &TestHost, key: &str) -> anyhow::Result<()> {
    browser.client.goto(&format!("{}/", host.base)).await?;
    browser.fill("#api-key", key).await?;
    browser.shot("sign-in").await?;
    browser.click("#sign-in").await?;
    browser.wait("#whoami").await?;
    Ok(())
}

/// Click, inside the page frame, the `nth` element `css` selects there.
async fn click_in_frame(browser: &Browser, css: &str, nth: usize) -> anyhow::Result<()> {
    // The frame, then the element in it, brought into view from the console's side (the
    // frame itself runs no scripts), as a person would scroll to it.
    browser
        .client
        .execute(
            "const f = document.getElementById('page-frame'); f.scrollIntoView({block: 'start'});
             const el = f.contentDocument.querySelectorAll(arguments[0])[arguments[1]];
             if (el) el.scrollIntoView({block: 'center'});",
            vec![json!(css), json!(nth)],
        )
        .await?;
    let frame = browser.wait("#page-frame").await?;
    frame.enter_frame().await?;
    let found = browser.client.find_all(Locator::Css(css)).await?;
    let target = found
        .get(nth)
        .with_context(|| format!("{css} #{nth} in the frame"))?;
    let clicked = target
        .click()
        .await
        .with_context(|| format!("clicking {css} #{nth} in the frame"));
    browser.client.enter_parent_frame().await?;
    clicked?;
    Ok(())
}

/// Elements inside the page frame carrying the console's highlight class `class`.
async fn highlighted(browser: &Browser, class: &str) -> anyhow::Result<usize> {
    let frame = browser.wait("#page-frame").await?;
    frame.enter_frame().await?;
    let n = browser
        .client
        .find_all(Locator::Css(&format!(".{class}")))
        .await?
        .len();
    browser.client.enter_parent_frame().await?;
    Ok(n)
}

async fn wait_until<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    loop {
        if check().await? {
            return Ok(());
        }
        if started.elapsed() > driver::WAIT {
            bail!("{what} did not happen in {:?}", driver::WAIT);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_member_builds_runs_watches_and_exports_from_the_console() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("console@example.com").await?;
    let site = slow_site(Duration::from_millis(1500)).await?;
    let mut browser = Browser::start("member_flow").await?;
    sign_in(&mut browser, &host, &key).await?;
    // A member's console has no admin screens.
    assert!(
        browser
            .client
            .find(Locator::Css(r##"a[href="#/admin"]"##))
            .await
            .is_err(),
        "a member's navigation has no admin link"
    );

    // The schema builder: load the listing, click two titles.
    browser
        .client
        .goto(&format!("{}/#/schemas/new", host.base))
        .await?;
    browser
        .fill("#page-url", &format!("{site}/catalogue/page-1.html"))
        .await?;
    browser.click("#load-page").await?;
    browser.wait("#page-frame").await?;
    // The page shown runs nothing: no script element reached the frame.
    let frame = browser.wait("#page-frame").await?;
    assert_eq!(
        frame.attr("sandbox").await?.as_deref(),
        Some("allow-same-origin")
    );
    frame.enter_frame().await?;
    let scripts = browser.client.find_all(Locator::Css("script")).await?.len();
    browser.client.enter_parent_frame().await?;
    assert_eq!(scripts, 0, "scripts are stripped before the page is shown");
    click_in_frame(&browser, "article.product_pod h3 a", 0).await?;
    browser
        .wait_text("#prop-0-count", |t| t.starts_with("1 matched"))
        .await?;
    click_in_frame(&browser, "article.product_pod h3 a", 5).await?;
    browser
        .wait_text("#scope-count", |t| t == "20 items")
        .await?;
    browser
        .wait_text("#prop-0-count", |t| t.starts_with("20 matched"))
        .await?;
    wait_until("every title highlighted", || async {
        Ok(highlighted(&browser, "trawl-match").await? == 20)
    })
    .await?;
    assert_eq!(
        highlighted(&browser, "trawl-scope").await?,
        20,
        "every item shows as one"
    );
    browser.fill("#prop-0-name", "title").await?;
    browser.fill("#prop-0-attr", "title").await?;
    // A second field: the price, clicked in one item, found in every item.
    browser.click("#add-property").await?;
    click_in_frame(&browser, "article.product_pod p.price_color", 3).await?;
    browser
        .wait_text("#prop-1-count", |t| t.starts_with("20 matched"))
        .await?;
    browser.fill("#prop-1-name", "price").await?;
    browser
        .wait("#prop-1-type")
        .await?
        .select_by_value("number")
        .await?;
    // The items, extracted live by the real plugin.
    browser
        .wait_text("#item-count", |t| t.contains("20"))
        .await?;
    let schema_text = browser
        .wait("#json-schema")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).context("the JSON view")?;
    assert_eq!(schema["x-scope"], ".product_pod", "{schema}");
    assert_eq!(
        schema["properties"]["title"]["x-selector"], "h3 > a",
        "{schema}"
    );
    assert_eq!(schema["properties"]["price"]["type"], "number", "{schema}");
    browser.shot("schema-builder").await?;
    browser.fill("#schema-name", "Books").await?;
    browser.click("#save-schema").await?;
    browser.wait("#schema-saved").await?;
    browser.shot("schema-saved").await?;

    // The job: next-link pagination and a schedule shown in its time zone.
    browser.click("#new-job-link").await?;
    browser.fill("#job-name", "Books from the console").await?;
    browser
        .fill("#start-urls", &format!("{site}/catalogue/page-1.html"))
        .await?;
    browser
        .wait("#pagination")
        .await?
        .select_by_value("next-link")
        .await?;
    browser.fill("#next-selector", "li.next a").await?;
    browser.fill("#schedule", "30 6 * * 1-5").await?;
    browser.fill("#timezone", "Europe/Berlin").await?;
    let next = browser
        .wait_text("#schedule-next", |t| {
            t.lines().filter(|l| !l.trim().is_empty()).count() >= 5
        })
        .await?;
    assert!(
        next.contains("06:30"),
        "the next runs in the chosen zone: {next}"
    );
    browser
        .wait_text("#schedule-words", |t| !t.trim().is_empty())
        .await?;
    browser.shot("job-form").await?;
    browser.click("#save-job").await?;
    browser.wait("#job-saved").await?;
    let (_, jobs) = host.call("GET", "/v1/jobs", &key, None).await?;
    let job = &jobs["items"][0];
    assert_eq!(
        job["pagination"],
        json!({"type": "next-link", "selector": "li.next a"}),
        "{job}"
    );
    assert_eq!(job["cron"], "30 6 * * 1-5");
    assert_eq!(job["timezone"], "Europe/Berlin");
    let job_id = job["id"].as_str().context("job id")?.to_owned();

    // Run it, and watch the counters move to the end.
    browser
        .client
        .goto(&format!("{}/#/jobs/{job_id}", host.base))
        .await?;
    browser.wait("#run-now").await?;
    browser.shot("job-page").await?;
    browser.click("#run-now").await?;
    browser.wait("#run-status").await?;
    let mut seen = Vec::new();
    let started = Instant::now();
    loop {
        let status = browser.wait("#run-status").await?.text().await?;
        let pages = browser
            .wait("#pages-fetched")
            .await?
            .attr("data-value")
            .await?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if seen.last() != Some(&(status.clone(), pages)) {
            if seen.is_empty() || pages == 1 {
                browser.shot("run-live").await?;
            }
            seen.push((status.clone(), pages));
        }
        if status.contains("succeeded") || status.contains("failed") {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the run did not end on screen: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.last()
            .is_some_and(|(s, p)| s.contains("succeeded") && *p == 2),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(s, p)| s.contains("running") && *p == 1),
        "the page showed the run between its two pages, live: {seen:?}"
    );
    browser
        .wait_text("#items-new", |t| t.contains("30"))
        .await?;
    browser.shot("run-done").await?;

    // Every result, with the schema's columns.
    browser.click("#results-link").await?;
    wait_until("thirty rows", || async {
        Ok(browser
            .client
            .find_all(Locator::Css("#results-table tbody tr"))
            .await?
            .len()
            == 30)
    })
    .await?;
    let header = browser.wait("#results-table thead").await?.text().await?;
    assert!(
        header.contains("title") && header.contains("price"),
        "{header}"
    );
    browser.shot("results").await?;

    // Export CSV and download it through the link.
    browser
        .wait("#export-format")
        .await?
        .select_by_value("csv-exporter")
        .await?;
    browser.click("#create-export").await?;
    let link = browser.wait("a#download-link").await?;
    let href = link.attr("href").await?.context("the link's href")?;
    browser.shot("export").await?;
    let csv = reqwest::get(&href).await?;
    assert_eq!(csv.status(), 200, "{href}");
    let text = csv.text().await?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    assert!(
        headers.iter().any(|h| h == "title") && headers.iter().any(|h| h == "price"),
        "{headers:?}"
    );
    assert_eq!(reader.records().count(), 30);

    // A member asking for the admin screen is told why not.
    browser
        .client
        .goto(&format!("{}/#/admin", host.base))
        .await?;
    let refusal = browser.wait("#forbidden").await?.text().await?;
    assert!(refusal.contains("forbidden"), "{refusal}");
    browser.shot("admin-forbidden").await?;
    browser.close().await?;
    host.stop().await
}

#[tokio::test]
async fn admins_see_the_admin_screens_and_errors_show_their_code() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let mut browser = Browser::start("admin").await?;
    // A key that is not one: the API's code and message where it happened.
    browser.client.goto(&format!("{}/", host.base)).await?;
    browser.fill("#api-key", "trawl_not_a_key").await?;
    browser.click("#sign-in").await?;
    browser
        .wait_text("body", |t| t.contains("invalid_api_key"))
        .await?;
    browser.shot("sign-in-refused").await?;
    let admin_key = host.admin_key.clone();
    sign_in(&mut browser, &host, &admin_key).await?;
    browser.wait(r##"a[href="#/admin"]"##).await?;
    browser
        .client
        .goto(&format!("{}/#/admin", host.base))
        .await?;
    wait_until("the bundled plugins listed", || async {
        Ok(browser
            .client
            .find_all(Locator::Css("#plugins-table tbody tr"))
            .await?
            .len()
            >= 8)
    })
    .await?;
    let plugins = browser.wait("#plugins-table").await?.text().await?;
    assert!(
        plugins.contains("css-extractor") && plugins.contains("csv-exporter"),
        "{plugins}"
    );
    browser.wait("#users-table").await?;
    browser.shot("admin").await?;
    // The console is served with its own strict policy, and its assets by their hash.
    let index = reqwest::get(format!("{}/", host.base)).await?;
    let csp = index
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = index.text().await?;
    let asset = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the script tag")?
        .to_owned();
    let script = reqwest::get(format!("{}{asset}", host.base)).await?;
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()?
            .starts_with("text/javascript")
    );
    assert!(
        script.headers()["cache-control"]
            .to_str()?
            .contains("immutable")
    );
    browser.close().await?;
    host.stop().await
}

/// The builder without a mouse: the arrow keys move a cursor through the page's tree,
/// Enter picks, and two picks give the repeating item as clicks do.
#[tokio::test]
async fn the_builder_picks_from_the_keyboard() -> anyhow::Result<()> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    use fantoccini::key::Key;
    let host = TestHost::start().await?;
    let key = host.member("keys@example.com").await?;
    let mut browser = Browser::start("keyboard").await?;
    sign_in(&mut browser, &host, &key).await?;
    browser
        .client
        .goto(&format!("{}/#/schemas/new", host.base))
        .await?;
    browser.click("#source-html").await?;
    browser
        .fill(
            "#page-html",
            "<html><body><ul><li><a href='/1'>One</a></li><li><a href='/2'>Two</a></li><li><a href='/3'>Three</a></li></ul></body></html>",
        )
        .await?;
    browser.click("#load-page").await?;
    browser.wait("#page-frame").await?;
    browser
        .client
        .execute("document.getElementById('page-frame').focus()", vec![])
        .await?;
    let press = |keys: &[Key]| {
        let mut actions = KeyActions::new("keyboard".into());
        for k in keys {
            let value = char::from(*k);
            actions = actions
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        actions
    };
    // ul, its first li, that li's link: pick it.
    browser
        .client
        .perform_actions(press(&[Key::Down, Key::Down, Key::Down]))
        .await?;
    browser
        .wait_text("#frame-cursor", |t| t.contains("<a>") && t.contains("One"))
        .await?;
    browser.client.perform_actions(press(&[Key::Enter])).await?;
    browser
        .wait_text("#prop-0-count", |t| t.starts_with("1 matched"))
        .await?;
    // Up to the li, right to the next, down to its link: pick it too.
    browser
        .client
        .perform_actions(press(&[Key::Up, Key::Right, Key::Down]))
        .await?;
    browser
        .wait_text("#frame-cursor", |t| t.contains("Two"))
        .await?;
    browser.client.perform_actions(press(&[Key::Enter])).await?;
    browser
        .wait_text("#scope-count", |t| t == "3 items")
        .await?;
    browser
        .wait_text("#prop-0-count", |t| t.starts_with("3 matched"))
        .await?;
    browser.shot("keyboard-picks").await?;
    browser.close().await?;
    host.stop().await
}
