//! Plugin uploads through the HTTP API of a real host: who may upload, what is checked
//! before anything is stored, versions and digests, deprecation and deletion, per-schema
//! limits, run logs, and the on-disk compile cache.

use std::time::Duration;

use serde_json::{Value, json};
use trawl_tests::catalogue::catalogue;
use trawl_tests::{TestHost, serve_site, test_plugin};

/// The same component with a custom section appended: other bytes, same name and version.
fn with_custom_section(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.extend_from_slice(&[0x00, 0x02, 0x01, b'x']);
    bytes
}

#[tokio::test]
async fn admins_upload_and_the_same_bytes_come_back() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let (status, plugin) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{plugin}");
    assert_eq!(plugin["name"], "hostile");
    assert_eq!(plugin["version"], "0.1.0");
    assert_eq!(plugin["kind"], "extractor");
    assert_eq!(plugin["wit_version"], "0.2.0");
    assert_eq!(plugin["system"], false);
    assert_eq!(plugin["digest"].as_str().map(str::len), Some(64));

    let (status, again) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], plugin["id"]);

    let (status, body) = host
        .upload(&host.admin_key, with_custom_section(test_plugin("hostile")))
        .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "plugin_version_exists");

    // Multipart works too.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(test_plugin("hostile_exporter")).file_name("stuck.wasm"),
    );
    let response = host
        .client
        .post(format!("{}/v1/plugins", host.base))
        .bearer_auth(&host.admin_key)
        .multipart(form)
        .send()
        .await?;
    assert_eq!(response.status(), 201);
    let exporter: Value = response.json().await?;
    assert_eq!(exporter["kind"], "exporter");
    assert_eq!(exporter["info"]["media_type"], "text/plain");

    // Everyone sees what admins upload.
    let member = host.member("mel@example.com").await?;
    let (_, list) = host.call("GET", "/v1/plugins", &member, None).await?;
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"hostile") && names.contains(&"hostile-exporter"),
        "{names:?}"
    );
    host.stop().await
}

#[tokio::test]
async fn bad_uploads_are_refused_before_anything_is_stored() -> anyhow::Result<()> {
    let host =
        TestHost::start_with(|c| c.plugins.max_upload = bytesize::ByteSize::kib(200)).await?;
    let member = host.member("mo@example.com").await?;
    let (status, body) = host.upload(&member, test_plugin("hostile")).await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    let (status, body) = host
        .upload(&host.admin_key, b"\0asm\x01\0\0\0".to_vec())
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_plugin");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("component"),
        "{body}"
    );

    let (status, body) = host.upload(&host.admin_key, b"hello".to_vec()).await?;
    assert_eq!(status, 422, "{body}");

    let (status, body) = host.upload(&host.admin_key, vec![0u8; 300 * 1024]).await?;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");

    let (_, list) = host
        .call("GET", "/v1/plugins", &host.admin_key, None)
        .await?;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(trawl_host::bundled::BUNDLED.len()),
        "only the bundled plugins: {list}"
    );
    host.stop().await
}

#[tokio::test]
async fn members_may_upload_private_plugins_when_allowed() -> anyhow::Result<()> {
    let host = TestHost::start_with(|c| c.plugins.member_uploads = true).await?;
    let ann = host.member("ann@example.com").await?;
    let ben = host.member("ben@example.com").await?;
    let (status, plugin) = host.upload(&ann, test_plugin("hostile")).await?;
    assert_eq!(status, 201, "{plugin}");
    assert_eq!(plugin["private"], true);
    let id = plugin["id"].as_str().expect("id");
    let (status, _) = host
        .call("GET", &format!("/v1/plugins/{id}"), &ben, None)
        .await?;
    assert_eq!(status, 404);
    let schema = json!({"name": "s", "json_schema": {"type": "object"}, "plugin": "hostile"});
    let (status, body) = host
        .call("POST", "/v1/schemas", &ben, Some(schema.clone()))
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "unknown_plugin");
    let (status, _) = host.call("POST", "/v1/schemas", &ann, Some(schema)).await?;
    assert_eq!(status, 201);
    host.stop().await
}

#[tokio::test]
async fn deprecated_plugins_keep_old_schemas_running_and_used_ones_cannot_go() -> anyhow::Result<()>
{
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let (_, plugin) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    let id = plugin["id"].as_str().expect("id").to_owned();
    let key = host.member("deb@example.com").await?;
    let schema = json!({"name": "old", "json_schema": {"type": "object"}, "plugin": "hostile"});
    let (status, schema) = host.call("POST", "/v1/schemas", &key, Some(schema)).await?;
    assert_eq!(status, 201, "{schema}");

    let (status, body) = host
        .call(
            "DELETE",
            &format!("/v1/plugins/{id}"),
            &host.admin_key,
            None,
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "plugin_in_use");
    let (status, body) = host
        .call("POST", &format!("/v1/plugins/{id}/deprecate"), &key, None)
        .await?;
    assert_eq!(status, 403, "{body}");
    let (status, body) = host
        .call(
            "POST",
            &format!("/v1/plugins/{id}/deprecate"),
            &host.admin_key,
            None,
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert!(body["deprecated_at"].is_string());

    // New schemas cannot pick it by name …
    let new = json!({"name": "new", "json_schema": {"type": "object"}, "plugin": "hostile"});
    let (status, body) = host.call("POST", "/v1/schemas", &key, Some(new)).await?;
    assert_eq!(status, 422, "{body}");
    // … the old one still runs.
    let job = json!({"name": "j", "schema_id": schema["id"], "start_urls": [format!("http://{site}/catalogue/page-1.html")]});
    let run = host.run_job(&key, job).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["items_new"], 1, "{run}");

    // Bundled plugins cannot be deleted; unused uploads can.
    let (_, list) = host
        .call("GET", "/v1/plugins", &host.admin_key, None)
        .await?;
    let csv = list
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"] == "csv-exporter")
        .expect("csv");
    let (status, body) = host
        .call(
            "DELETE",
            &format!("/v1/plugins/{}", csv["id"].as_str().expect("id")),
            &host.admin_key,
            None,
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "bundled_plugin");
    let (status, stuck) = host
        .upload(&host.admin_key, test_plugin("hostile_exporter"))
        .await?;
    assert_eq!(status, 201);
    let path = format!("/v1/plugins/{}", stuck["id"].as_str().expect("id"));
    let (status, _) = host.call("DELETE", &path, &host.admin_key, None).await?;
    assert_eq!(status, 204);
    let (status, _) = host.call("GET", &path, &host.admin_key, None).await?;
    assert_eq!(status, 404);
    host.stop().await
}

#[tokio::test]
async fn schema_limits_apply_up_to_the_ceilings_and_logs_are_capped_per_run() -> anyhow::Result<()>
{
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start_with(|c| c.run_log_lines = 200).await?;
    let key = host.member("lim@example.com").await?;
    let mut schema = json!({"name": "tight", "json_schema": trawl_tests::catalogue::schema(), "limits": {"fuel": 1000}});
    let (status, tight) = host
        .call("POST", "/v1/schemas", &key, Some(schema.clone()))
        .await?;
    assert_eq!(status, 201, "{tight}");
    assert_eq!(tight["limits"], json!({"fuel": 1000}));
    schema["name"] = json!("greedy");
    schema["limits"] = json!({"memory": "64 GiB"});
    let (status, body) = host.call("POST", "/v1/schemas", &key, Some(schema)).await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "limit_above_ceiling");

    let start = format!("http://{site}/catalogue/page-1.html");
    let job = json!({"name": "tight", "schema_id": tight["id"], "start_urls": [start]});
    let run = host.run_job(&key, job).await?;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "plugin_out_of_fuel", "{run}");
    assert!(
        run["counters"]["fuel_consumed"].as_i64().expect("fuel") >= 1000,
        "{run}"
    );

    // Logs: 150 lines a page over five pages, 200 kept, the rest counted in a last line.
    host.upload(&host.admin_key, test_plugin("hostile")).await?;
    let schema = json!({"name": "chatty", "json_schema": {"type": "object"}, "plugin": "hostile",
                        "plugin_options": {"mode": "log", "lines": 150}});
    let (_, schema) = host.call("POST", "/v1/schemas", &key, Some(schema)).await?;
    let urls: Vec<String> = (1..=5)
        .map(|p| format!("http://{site}/catalogue/page-{p}.html"))
        .collect();
    let job =
        json!({"name": "chatty", "schema_id": schema["id"], "start_urls": urls, "concurrency": 1});
    let (_, job) = host.call("POST", "/v1/jobs", &key, Some(job)).await?;
    let (_, run) = host
        .call(
            "POST",
            &format!("/v1/jobs/{}/runs", job["id"].as_str().expect("id")),
            &key,
            None,
        )
        .await?;
    let run_id = run["id"].as_str().expect("id").to_owned();
    let run = host
        .wait_run(&key, &run_id, Duration::from_secs(30))
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let mut lines = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = host
            .call(
                "GET",
                &format!("/v1/runs/{run_id}/logs?limit=500{cursor}"),
                &key,
                None,
            )
            .await?;
        assert_eq!(status, 200, "{page}");
        lines.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(lines.len(), 201, "200 kept and one summary");
    assert!(lines[..200].iter().all(|l| {
        l["level"] == "warn"
            && l["page_url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http://"))
    }));
    assert_eq!(
        lines[200]["message"], "550 more lines dropped (the run keeps 200)",
        "{}",
        lines[200]
    );
    let other = host.member("nosy@example.com").await?;
    let (status, _) = host
        .call("GET", &format!("/v1/runs/{run_id}/logs"), &other, None)
        .await?;
    assert_eq!(status, 404);
    host.stop().await
}

#[test]
fn a_restart_compiles_nothing_it_compiled_before() {
    let dir = trawl_tests::TempDir::new();
    let cache = dir.0.join("cache");
    let limits = trawl_host::config::PluginLimits::default();
    let first = trawl_host::runtime::Runtime::new(limits.clone())
        .expect("runtime")
        .with_cache_dir(cache.clone());
    first.load(&test_plugin("hostile")).expect("loads");
    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let written = std::fs::metadata(&files[0])
        .expect("meta")
        .modified()
        .expect("mtime");
    drop(first);

    // A new engine (a restart) loads the cached code instead of compiling again.
    let second = trawl_host::runtime::Runtime::new(limits)
        .expect("runtime")
        .with_cache_dir(cache.clone());
    let plugin = second
        .load(&test_plugin("hostile"))
        .expect("loads from the cache");
    assert_eq!(plugin.manifest.name, "hostile");
    assert_eq!(
        std::fs::metadata(&files[0])
            .expect("meta")
            .modified()
            .expect("mtime"),
        written
    );
    second.instantiate(&plugin).expect("the cached code runs");

    // A damaged cache file is ignored and replaced. (Replaced by rename, as trawl writes
    // the cache: a file that a live engine has mapped must never be rewritten in place.)
    drop(plugin);
    drop(second);
    let garbage = files[0].with_extension("tmp");
    std::fs::write(&garbage, b"garbage").expect("write");
    std::fs::rename(&garbage, &files[0]).expect("rename");
    let third = trawl_host::runtime::Runtime::new(trawl_host::config::PluginLimits::default())
        .expect("runtime")
        .with_cache_dir(cache);
    third.load(&test_plugin("hostile")).expect("recompiles");
    assert!(std::fs::metadata(&files[0]).expect("meta").len() > 1000);
}

/// A plugin built for `trawl:plugin@0.1.0` (the chameleon exporter as it was built before
/// 0.2.0, kept as a binary fixture) is still accepted, says its WIT version, and writes
/// an export on a host that serves 0.2.0.
#[tokio::test]
async fn plugins_built_for_wit_0_1_are_still_accepted_and_used() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let host = TestHost::start().await?;
    let old = std::fs::read(trawl_tests::fixtures().join("plugins/chameleon-wit-0.1.0.wasm"))?;
    let (status, plugin) = host.upload(&host.admin_key, old).await?;
    assert_eq!(status, 201, "{plugin}");
    assert_eq!(plugin["name"], "chameleon");
    assert_eq!(plugin["kind"], "exporter");
    assert_eq!(plugin["wit_version"], "0.1.0");

    let key = host.member("old@example.com").await?;
    let schema = json!({"name": "books", "json_schema": trawl_tests::catalogue::schema()});
    let run = host
        .one_page_run(
            &key,
            schema,
            &format!("http://{site}/catalogue/page-1.html"),
        )
        .await?;
    let run = host.wait_run(&key, &run, Duration::from_secs(60)).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let items = run["counters"]["items_new"].as_u64().expect("items");
    assert!(items > 0, "{run}");
    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{}/exports", run["id"].as_str().expect("id")),
            &key,
            Some(json!({"format": "chameleon"})),
        )
        .await?;
    assert_eq!(status, 202, "{export}");
    let export = host
        .wait_export(
            &key,
            export["id"].as_str().expect("id"),
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(export["status"], "succeeded", "{export}");
    // Eight bytes per row: the chameleon's default.
    assert_eq!(export["size_bytes"].as_u64(), Some(items * 8), "{export}");
    host.stop().await
}
