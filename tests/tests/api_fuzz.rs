//! The whole API fuzzed from its own OpenAPI document by schemathesis (from PyPI), on a
//! real host over loopback, bounded in time: no answer may be a server error, and every
//! answer must have a documented status, content type and shape. Once as an admin and
//! once as a member, with real rows to reach (a schema, a job, a run, an export, a
//! plugin, a user and a key), so that the operations on ids get past their 404s.
//!
//! Each pass fuzzes for `TRAWL_FUZZ_SECONDS` (default 45). Needs schemathesis: `python3 -m venv target/schemathesis &&
//! target/schemathesis/bin/pip install schemathesis==4.32.5` (what `.ci/run` does), or
//! `TRAWL_SCHEMATHESIS` naming its `st` command.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use trawl_tests::{TempDir, TestHost, test_plugin};

/// The `st` command, or what to install.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("TRAWL_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis/bin/st");
    if venv.is_file() {
        return venv;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("st"))
            .find(|st| st.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "schemathesis is not installed: run `python3 -m venv target/schemathesis && \
             target/schemathesis/bin/pip install schemathesis==4.32.5` in the repository \
             (or set TRAWL_SCHEMATHESIS to its `st` command)"
        )
    })
}

/// Ids of real rows, for the operations that take one.
struct Seeded {
    schema: String,
    job: String,
    run: String,
    export: String,
    plugin: String,
    user: String,
    key: String,
}

async fn seed(host: &TestHost, key: &str, admin: bool) -> anyhow::Result<Seeded> {
    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            key,
            Some(json!({"name": "seed", "json_schema": {"type": "object",
                "properties": {"title": {"type": "string", "x-selector": "h1"}}}})),
        )
        .await?;
    anyhow::ensure!(status == 201, "{schema}");
    // A host no one can reach: the run fails fast, and is real.
    let (status, job) = host
        .call(
            "POST",
            "/v1/jobs",
            key,
            Some(json!({"name": "seed", "schema_id": schema["id"],
                        "start_urls": ["http://unreachable.invalid/"]})),
        )
        .await?;
    anyhow::ensure!(status == 201, "{job}");
    let job_id = job["id"].as_str().unwrap_or_default().to_owned();
    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{job_id}/runs"), key, None)
        .await?;
    anyhow::ensure!(status == 201, "{run}");
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    host.wait_run(key, &run_id, Duration::from_secs(60)).await?;
    let (status, export) = host
        .call(
            "POST",
            &format!("/v1/runs/{run_id}/exports"),
            key,
            Some(json!({"format": "csv"})),
        )
        .await?;
    anyhow::ensure!(status == 202, "{export}");
    let (_, plugins) = host.call("GET", "/v1/plugins", key, None).await?;
    let plugin = plugins[0]["id"].as_str().unwrap_or_default().to_owned();
    let (user, key_id) = if admin {
        let (status, user) = host
            .call(
                "POST",
                "/v1/users",
                key,
                Some(json!({"email": "seeded@example.com"})),
            )
            .await?;
        anyhow::ensure!(status == 201, "{user}");
        let user_id = user["id"].as_str().unwrap_or_default().to_owned();
        let (status, new_key) = host
            .call(
                "POST",
                &format!("/v1/users/{user_id}/keys"),
                key,
                Some(json!({"name": "throwaway"})),
            )
            .await?;
        anyhow::ensure!(status == 201, "{new_key}");
        (
            user_id,
            new_key["id"].as_str().unwrap_or_default().to_owned(),
        )
    } else {
        (uuid_like(), uuid_like())
    };
    Ok(Seeded {
        schema: schema["id"].as_str().unwrap_or_default().to_owned(),
        job: job_id,
        run: run_id,
        export: export["id"].as_str().unwrap_or_default().to_owned(),
        plugin,
        user,
        key: key_id,
    })
}

fn uuid_like() -> String {
    "00000000-0000-7000-8000-000000000000".into()
}

/// A schemathesis configuration pointing each operation on an id at a seeded row.
fn config(seeded: &Seeded) -> String {
    let mut out = String::new();
    for (regex, id) in [
        (r"^/v1/schemas/\{id\}", &seeded.schema),
        (r"^/v1/jobs/\{id\}", &seeded.job),
        (r"^/v1/runs/\{id\}", &seeded.run),
        (r"^/v1/exports/\{id\}", &seeded.export),
        (r"^/v1/plugins/\{id\}", &seeded.plugin),
        (r"^/v1/users/\{id\}", &seeded.user),
        (r"^/v1/keys/\{id\}", &seeded.key),
    ] {
        out.push_str(&format!(
            "[[operations]]\ninclude-path-regex = '{regex}'\nparameters = {{ \"path.id\" = \"{id}\" }}\n\n"
        ));
    }
    out
}

async fn fuzz(host: &TestHost, key: &str, seeded: &Seeded, who: &str) -> anyhow::Result<()> {
    let dir = TempDir::new();
    let config_file = dir.0.join("schemathesis.toml");
    std::fs::write(&config_file, config(seeded))?;
    // Fuzzing repeats until the time is spent: 45 s a pass by default.
    let seconds: u64 = std::env::var("TRAWL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(schemathesis())
        .arg("--config-file")
        .arg(&config_file)
        .args([
            "run",
            &format!("{}/v1/openapi.json", host.base),
            "--header",
            &format!("Authorization: Bearer {key}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--request-timeout",
            "15",
            "--max-time",
            &seconds.to_string(),
            "--no-color",
            "--seed",
            "1",
        ])
        .current_dir(&dir.0)
        .kill_on_drop(true)
        .output()
        .await?;
    let said = String::from_utf8_lossy(&output.stdout);
    let tail: String = said
        .lines()
        .rev()
        .take(150)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    // A failed check is the API's fault; an error may be schemathesis's own (a crash of
    // its generator, counted as a "Runtime Error"), which says nothing about the API.
    // Any other error (the API unreachable, a network error, a timeout) is the API's.
    let own_errors_only = said.contains("Errors:")
        && !said.contains("Failures:")
        && said
            .lines()
            .skip_while(|l| !l.starts_with("Errors:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .all(|l| l.contains("Runtime Error"));
    if own_errors_only {
        eprintln!("as {who}: schemathesis itself failed on some operation (not counted):\n{tail}");
    } else {
        assert!(
            output.status.success(),
            "schemathesis found problems (as {who}):\n{tail}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        said.contains("passed"),
        "schemathesis ran no test (as {who}):\n{tail}"
    );
    let summary = said
        .lines()
        .rev()
        .find(|l| l.contains("generated"))
        .unwrap_or_default();
    eprintln!("as {who}: {} in {:?}", summary.trim(), started.elapsed());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_fuzzing_as_its_document_says() -> anyhow::Result<()> {
    // The guard on: fuzzed jobs cannot make the host fetch from this machine.
    let host = TestHost::start_with(|c| c.fetch.allow_private_networks = false).await?;
    let (status, body) = host.upload(&host.admin_key, test_plugin("hostile")).await?;
    anyhow::ensure!(status == 201, "{body}");
    let admin = host.admin_key.clone();
    let member = host.member("fuzz@example.com").await?;
    let seeded = seed(&host, &member, false).await?;
    fuzz(&host, &member, &seeded, "a member").await?;
    let seeded = seed(&host, &admin, true).await?;
    fuzz(&host, &admin, &seeded, "an admin").await?;
    host.stop().await
}

/// What the fuzzer first found, pinned: a 422's `details` is documented as the array it
/// is, an empty `cursor` is the first page, every operation that needs a key documents
/// its 401, and the health endpoints are in the document.
#[tokio::test]
async fn the_document_says_what_the_api_does() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let key = host.admin_key.clone();
    let (_, doc) = host.call("GET", "/v1/openapi.json", &key, None).await?;
    let details = &doc["components"]["schemas"]["ErrorDetail"]["properties"]["details"];
    assert!(
        details["type"] == "array" || details["type"][0] == "array",
        "{details}"
    );
    let (status, body) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(json!({"name": "", "schema_id": "00000000-0000-7000-8000-000000000000"})),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["details"].is_array(), "{body}");
    for path in ["/v1/jobs?cursor=", "/v1/schemas?cursor=&limit=5"] {
        let (status, body) = host.call("GET", path, &key, None).await?;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/healthz") && paths.contains_key("/readyz"));
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("operations") {
            let responses = op["responses"].as_object().expect("responses");
            let keyless = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| r.is_empty()))
            });
            assert!(responses.contains_key("400"), "{method} {path}");
            assert_eq!(responses.contains_key("401"), !keyless, "{method} {path}");
        }
    }
    host.stop().await
}
