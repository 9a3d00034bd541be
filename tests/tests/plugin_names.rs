//! What a plugin says about itself is checked before it is stored, names belong to their
//! first owner and bundled names to trawl, "latest" is the highest semver version, and
//! nothing an exporter says reaches a download header unchecked; an export has a size
//! cap and leaves no partial file behind when it fails. Uploads are real components: the
//! chameleon exporter with its self-description rewritten (`trawl_tests::chameleon`).

use std::time::Duration;

use serde_json::{Value, json};
use trawl_tests::catalogue::{catalogue, schema};
use trawl_tests::{TestHost, chameleon, serve_site};

fn plain(name: &str, version: &str) -> Vec<u8> {
    chameleon(name, version, "a test exporter", "text/plain", "txt")
}

#[tokio::test]
async fn names_versions_and_formats_are_checked_at_upload() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let admin = host.admin_key.clone();
    let long = "a".repeat(10_000);
    for name in [
        "",
        "../../x",
        "Css-Extractor",
        "a--b",
        "-a",
        "a-",
        "1st",
        "a b",
        "a\tb",
        long.as_str(),
    ] {
        let (status, body) = host.upload(&admin, plain(name, "1.0.0")).await?;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert_eq!(
            body["error"]["code"], "invalid_plugin_name",
            "{name:?}: {body}"
        );
    }
    for version in ["1.0", "latest", "v1.0.0", ""] {
        let (status, body) = host.upload(&admin, plain("fine-name", version)).await?;
        assert_eq!(status, 422, "{version:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_plugin_version", "{body}");
    }
    let (status, body) = host
        .upload(
            &admin,
            chameleon("fine-name", "1.0.0", "two\rlines", "text/plain", "txt"),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_plugin_description");
    let evil = r#"html"; filename=evil.html; x=""#;
    for (media_type, extension) in [
        ("text/plain", evil),
        ("text/plain", "txt\r\nX-Evil: 1"),
        ("text/plain", "TXT"),
        ("text/plain", ""),
        (evil, "txt"),
        ("text/plain; charset=utf-8", "txt"),
        ("text/plain\r\nX-Evil: 1", "txt"),
        ("plain", "txt"),
    ] {
        let (status, body) = host
            .upload(
                &admin,
                chameleon("fine-name", "1.0.0", "d", media_type, extension),
            )
            .await?;
        assert_eq!(status, 422, "{media_type:?} {extension:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_plugin_format", "{body}");
    }
    // What passes.
    let (status, body) = host
        .upload(
            &admin,
            chameleon(
                "sheet-exporter",
                "1.2.3-rc.1",
                "Spreadsheets",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = host
        .upload(
            &admin,
            chameleon("tarball", "0.1.0", "d", "application/gzip", "tar.gz"),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    host.stop().await
}

/// An admin's `css-extractor@0.0.1` was accepted once, and members' schemas naming no
/// version were bound to it. Bundled names are reserved; a name belongs to whoever used
/// it first; and a schema naming no version gets the bundled plugin.
#[tokio::test]
async fn bundled_names_are_reserved_and_names_belong_to_their_owner() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.plugins.member_uploads = true).await?;
    let admin = host.admin_key.clone();
    for name in [
        "css-extractor",
        "csv-exporter",
        "json-exporter",
        "jsonld-extractor",
        "json-extractor",
        "product-extractor",
        "article-extractor",
        "jsonl-exporter",
        "parquet-exporter",
        "xlsx-exporter",
    ] {
        let (status, body) = host.upload(&admin, plain(name, "0.0.1")).await?;
        assert_eq!(status, 409, "{name}: {body}");
        assert_eq!(body["error"]["code"], "plugin_name_reserved", "{body}");
    }
    let ann = host.member("ann@example.com").await?;
    let bob = host.member("bob@example.com").await?;
    let (status, body) = host.upload(&ann, plain("anns-format", "0.1.0")).await?;
    assert_eq!(status, 201, "{body}");
    for (key, who) in [(&bob, "another member"), (&admin, "an admin")] {
        let (status, body) = host.upload(key, plain("anns-format", "0.2.0")).await?;
        assert_eq!(status, 409, "{who}: {body}");
        assert_eq!(body["error"]["code"], "plugin_name_taken", "{body}");
    }
    let (status, body) = host.upload(&ann, plain("anns-format", "0.2.0")).await?;
    assert_eq!(status, 201, "the owner adds versions: {body}");
    let (status, body) = host.upload(&admin, plain("shared-format", "1.0.0")).await?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = host.upload(&bob, plain("shared-format", "9.0.0")).await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "plugin_name_taken");

    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &ann,
            Some(json!({"name": "books", "json_schema": schema()})),
        )
        .await?;
    assert_eq!(status, 201, "{schema}");
    assert_eq!(schema["plugin"]["name"], "css-extractor", "{schema}");
    assert_eq!(schema["plugin"]["version"], "0.1.0", "{schema}");
    host.stop().await
}

/// The file name of a download, from its Content-Disposition.
async fn download(host: &TestHost, key: &str, export: &Value) -> anyhow::Result<(String, String)> {
    let id = export["id"].as_str().expect("id");
    let export = host.wait_export(key, id, Duration::from_secs(60)).await?;
    anyhow::ensure!(export["status"] == "succeeded", "{export}");
    let url = export["download_url"].as_str().expect("link");
    let response = host.client.get(url).send().await?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Ok((header("content-type"), header("content-disposition")))
}

async fn export(host: &TestHost, key: &str, run: &str, body: Value) -> anyhow::Result<Value> {
    let (status, export) = host
        .call("POST", &format!("/v1/runs/{run}/exports"), key, Some(body))
        .await?;
    anyhow::ensure!(status == 202, "{export}");
    Ok(export)
}

/// "Latest" is the highest version by semver among those not deprecated, a release over
/// a pre-release; the order of uploads does not matter.
#[tokio::test]
async fn the_latest_version_is_the_highest() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let admin = host.admin_key.clone();
    let mut ids = std::collections::HashMap::new();
    for (version, extension) in [
        ("0.2.0", "two"),
        ("0.10.0", "ten"),
        ("0.9.0", "nine"),
        ("1.0.0-rc.1", "rc"),
    ] {
        let (status, body) = host
            .upload(
                &admin,
                chameleon("fmt-x", version, "d", "text/plain", extension),
            )
            .await?;
        assert_eq!(status, 201, "{body}");
        ids.insert(extension, body["id"].as_str().expect("id").to_owned());
    }
    let key = host.member("mel@example.com").await?;
    let (_, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "c", "json_schema": schema()})),
        )
        .await?;
    let job = json!({"name": "c", "schema_id": schema["id"],
                     "start_urls": [format!("http://{site}/catalogue/page-1.html")]});
    let run = host.run_job(&key, job).await?;
    let run = run["id"].as_str().expect("id").to_owned();

    let first = export(&host, &key, &run, json!({"format": "fmt-x"})).await?;
    let (_, disposition) = download(&host, &key, &first).await?;
    assert!(disposition.contains(".ten\";"), "{disposition}");

    let (status, body) = host
        .call(
            "POST",
            &format!("/v1/plugins/{}/deprecate", ids["ten"]),
            &admin,
            None,
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let second = export(&host, &key, &run, json!({"format": "fmt-x"})).await?;
    let (_, disposition) = download(&host, &key, &second).await?;
    assert!(disposition.contains(".nine\";"), "{disposition}");
    host.stop().await
}

/// An export larger than the host allows fails with `export_too_large`; failed exports
/// leave no partial file; and a download's headers carry only safe values, even for an
/// export row stored with unsafe ones.
#[tokio::test]
async fn exports_are_capped_and_their_headers_safe() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start_with(|c| c.export_max_size = bytesize::ByteSize::kib(4)).await?;
    let admin = host.admin_key.clone();
    let (status, body) = host.upload(&admin, plain("bulky", "1.0.0")).await?;
    assert_eq!(status, 201, "{body}");
    let key = host.member("cap@example.com").await?;
    let (_, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "c", "json_schema": schema()})),
        )
        .await?;
    let job = json!({"name": "c", "schema_id": schema["id"],
                     "start_urls": [format!("http://{site}/catalogue/page-1.html")]});
    let run = host.run_job(&key, job).await?;
    let run = run["id"].as_str().expect("id").to_owned();

    // 18 rows of 1,000 bytes each is over 4 KiB.
    let big = export(
        &host,
        &key,
        &run,
        json!({"format": "bulky", "options": {"bytes_per_row": 1000}}),
    )
    .await?;
    let big = host
        .wait_export(
            &key,
            big["id"].as_str().expect("id"),
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(big["status"], "failed", "{big}");
    assert_eq!(big["error"]["code"], "export_too_large", "{big}");
    let exports_dir = host.state.config.data_dir.join("exports");
    let left: Vec<String> = std::fs::read_dir(&exports_dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");

    let small = export(&host, &key, &run, json!({"format": "bulky"})).await?;
    let (content_type, disposition) = download(&host, &key, &small).await?;
    assert_eq!(content_type, "text/plain");
    let id = small["id"].as_str().expect("id");
    // Named after the job and the run, in the exporter's extension.
    let (_, written) = host
        .call("GET", &format!("/v1/exports/{id}"), &key, None)
        .await?;
    let name = written["file_name"].as_str().expect("a file name");
    assert!(
        name.starts_with("c-run-") && name.ends_with(".txt"),
        "{name}"
    );
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
    );
    // A row written before uploads were checked: its values never reach the headers.
    sqlx::query(
        "UPDATE exports SET media_type = $1, file_extension = $2, file_name = $3 WHERE id = $4::uuid",
    )
    .bind("text/html\"; filename=evil.html")
    .bind("html\"; filename=evil.html; x=\"")
    .bind("a\"; filename=evil.html")
    .bind(id)
        .execute(&host.state.pool)
        .await?;
    let (content_type, disposition) = download(&host, &key, &small).await?;
    assert_eq!(content_type, "application/octet-stream");
    assert_eq!(
        disposition,
        "attachment; filename=\"a___filename_evil.html\"; filename*=UTF-8''a%22%3B%20filename%3Devil.html"
    );
    host.stop().await
}
