//! A schema is checked by its plugin when it is saved: a bad CSS selector, a bad
//! `x-regex` or a misspelt hint is a 422 naming the place (a JSON pointer) and saying
//! what to do, rather than a run that fails, or "succeeds" with empty items, later.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trawl_tests::{TestHost, test_plugin};

async fn refused(host: &TestHost, key: &str, body: Value) -> anyhow::Result<(String, String)> {
    let (status, answer) = host
        .call("POST", "/v1/schemas", key, Some(body.clone()))
        .await?;
    anyhow::ensure!(status == 422, "{body} was accepted: {status} {answer}");
    anyhow::ensure!(answer["error"]["code"] == "invalid_schema", "{answer}");
    let problem = &answer["error"]["details"][0];
    Ok((
        problem["path"].as_str().unwrap_or_default().to_owned(),
        problem["message"].as_str().unwrap_or_default().to_owned(),
    ))
}

fn css(properties: Value) -> Value {
    json!({"name": "s", "json_schema": {"type": "object", "x-scope": "li", "properties": properties}})
}

#[tokio::test]
async fn schemas_are_checked_by_their_plugin_when_saved() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.member("check@example.com").await?;

    let (path, message) = refused(
        &host,
        &key,
        css(json!({"price": {"type": "number", "x-selector": "p.price["}})),
    )
    .await?;
    assert_eq!(path, "/properties/price");
    assert!(message.contains("bad CSS selector"), "{message}");

    let (path, message) = refused(
        &host,
        &key,
        css(json!({"price": {"type": "number", "x-selector": "p", "x-regex": "("}})),
    )
    .await?;
    assert_eq!(path, "/properties/price");
    assert!(message.contains("`x-regex` does not compile"), "{message}");

    let (path, message) = refused(
        &host,
        &key,
        css(json!({"title": {"type": "string", "x-selecter": "h1"}})),
    )
    .await?;
    assert_eq!(path, "/properties/title/x-selecter");
    assert!(message.contains("did you mean `x-selector`?"), "{message}");

    let (path, message) = refused(
        &host,
        &key,
        json!({"name": "s", "json_schema": {"type": "object", "x-scope": "li[", "properties": {}}}),
    )
    .await?;
    assert_eq!(path, "/x-scope");
    assert!(message.contains("bad CSS selector"), "{message}");

    let (path, message) = refused(
        &host,
        &key,
        json!({"name": "s", "plugin": "jsonld-extractor",
               "json_schema": {"type": "object", "x-typ": "Product"}}),
    )
    .await?;
    assert_eq!(path, "/x-typ");
    assert!(message.contains("did you mean `x-type`?"), "{message}");
    let (path, message) = refused(
        &host,
        &key,
        json!({"name": "s", "plugin": "jsonld-extractor", "json_schema": {"type": "object"},
               "plugin_options": {"sources": ["rdfa"]}}),
    )
    .await?;
    assert_eq!(path, "");
    assert!(message.contains("sources"), "{message}");

    // A good schema is saved; replacing it with a bad one is refused the same way.
    let good = css(json!({"title": {"type": "string", "x-selector": "h1"}}));
    let (status, saved) = host.call("POST", "/v1/schemas", &key, Some(good)).await?;
    assert_eq!(status, 201, "{saved}");
    let id = saved["id"].as_str().expect("id");
    let (status, answer) = host
        .call(
            "PUT",
            &format!("/v1/schemas/{id}"),
            &key,
            Some(css(
                json!({"title": {"type": "string", "x-selector": "h1", "x-html": "all"}}),
            )),
        )
        .await?;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["details"][0]["path"], "/properties/title");
    host.stop().await
}

/// The check is bounded: a plugin that never returns on the empty page does not hold
/// the request, and is saved (its runs report what it does).
#[tokio::test]
async fn a_plugin_that_hangs_does_not_hold_the_save() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let (status, body) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{body}");
    let key = host.member("hang@example.com").await?;
    let started = Instant::now();
    let (status, body) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(
                json!({"name": "loop", "plugin": "hostile", "json_schema": {"type": "object"},
                        "plugin_options": {"mode": "loop"}, "limits": {"fuel": 10_000_000_000u64}}),
            ),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    host.stop().await
}
