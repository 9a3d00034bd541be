//! Exports as their users meet them, through a real host on a real database: a job's
//! runs exported as one deduplicated file, filters, the host's column options, options
//! refused when the export is created, and the download link's life — ranges, `HEAD`,
//! tampering, expiry, revocation and the janitor that deletes what is left.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::Duration;

use serde_json::{Value, json};
use trawl_tests::catalogue::{catalogue, schema};
use trawl_tests::{TestHost, serve_site};

/// A member's catalogue schema and job (validation lenient, so items missing a price are
/// stored with their errors); returns (schema id, job id, job body).
async fn catalogue_job(
    host: &TestHost,
    key: &str,
    base: &str,
    start_page: usize,
) -> anyhow::Result<(Value, String, Value)> {
    let (status, schema) = host
        .call(
            "POST",
            "/v1/schemas",
            key,
            Some(
                json!({"name": "catalogue", "json_schema": schema(), "validation_mode": "lenient"}),
            ),
        )
        .await?;
    assert_eq!(status, 201, "{schema}");
    let job = job_body(&schema["id"], base, start_page);
    let (status, created) = host
        .call("POST", "/v1/jobs", key, Some(job.clone()))
        .await?;
    assert_eq!(status, 201, "{created}");
    Ok((
        schema["id"].clone(),
        created["id"].as_str().expect("id").to_owned(),
        job,
    ))
}

fn job_body(schema_id: &Value, base: &str, start_page: usize) -> Value {
    json!({
        "name": "Livros / «catálogo»",
        "schema_id": schema_id,
        "start_urls": [format!("{base}/catalogue/page-{start_page}.html")],
        "pagination": {"type": "next-link", "selector": "li.next a"},
        "max_pages": 2,
        "dedup_scope": "run"
    })
}

async fn run_now(host: &TestHost, key: &str, job: &str) -> anyhow::Result<Value> {
    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{job}/runs"), key, None)
        .await?;
    assert_eq!(status, 201, "{run}");
    let run = host
        .wait_run(
            key,
            run["id"].as_str().expect("id"),
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    Ok(run)
}

/// Create an export at `path` and wait for it to succeed.
async fn export(host: &TestHost, key: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, export) = host.call("POST", path, key, Some(body)).await?;
    assert_eq!(status, 202, "{export}");
    let export = host
        .wait_export(
            key,
            export["id"].as_str().expect("id"),
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(export["status"], "succeeded", "{export}");
    Ok(export)
}

async fn download(export: &Value) -> anyhow::Result<Vec<u8>> {
    let url = export["download_url"].as_str().expect("a link");
    let response = reqwest::get(url).await?;
    assert_eq!(response.status(), 200);
    Ok(response.bytes().await?.to_vec())
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn text(v: &Value) -> String {
    v.to_string()
}

#[tokio::test]
async fn a_job_export_takes_each_item_once_across_its_runs_and_filters_them() -> anyhow::Result<()>
{
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    let host = TestHost::start().await?;
    let key = host.member("ines@example.com").await?;
    let (schema_id, job, _) = catalogue_job(&host, &key, &base, 1).await?;

    // Three runs over pages 1–2, 2–3 and 3–4: each pair shares a page.
    let mut runs = Vec::new();
    for start in [1, 2, 3] {
        let (status, replaced) = host
            .call(
                "PUT",
                &format!("/v1/jobs/{job}"),
                &key,
                Some(job_body(&schema_id, &base, start)),
            )
            .await?;
        assert_eq!(status, 200, "{replaced}");
        runs.push(run_now(&host, &key, &job).await?);
    }
    let mut stored = Vec::new();
    for run in &runs {
        stored.push(
            host.all_results(&key, run["id"].as_str().expect("id"))
                .await?,
        );
    }
    let all: Vec<&Value> = stored.iter().flatten().collect();
    let distinct: BTreeSet<String> = all.iter().map(|r| text(&r["data"])).collect();
    assert!(
        all.len() > distinct.len(),
        "the runs overlap: {} stored, {} distinct",
        all.len(),
        distinct.len()
    );

    let path = format!("/v1/jobs/{job}/exports");
    let whole = export(&host, &key, &path, json!({"format": "jsonl"})).await?;
    assert!(whole["run_id"].is_null(), "{whole}");
    assert_eq!(whole["job_id"], job.as_str());
    let rows = json_lines(&download(&whole).await?);
    let exported: Vec<String> = rows.iter().map(text).collect();
    let exported_set: BTreeSet<String> = exported.iter().cloned().collect();
    assert_eq!(exported.len(), exported_set.len(), "each item once");
    assert_eq!(exported_set, distinct);
    assert_eq!(whole["row_count"], distinct.len());

    // Filters: validity, the page an item came from, and when it was stored.
    let valid = export(
        &host,
        &key,
        &path,
        json!({"format": "jsonl", "filters": {"valid": true}}),
    )
    .await?;
    let expect: BTreeSet<String> = all
        .iter()
        .filter(|r| r["validation_errors"].is_null())
        .map(|r| text(&r["data"]))
        .collect();
    assert!(expect.len() < distinct.len(), "some items are invalid");
    let got: Vec<String> = json_lines(&download(&valid).await?)
        .iter()
        .map(text)
        .collect();
    assert_eq!(got.len(), expect.len());
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expect);

    let page_2 = format!("{base}/catalogue/page-2*");
    let from_page = export(
        &host,
        &key,
        &path,
        json!({"format": "jsonl", "filters": {"source_url": page_2, "valid": false}}),
    )
    .await?;
    let expect: BTreeSet<String> = all
        .iter()
        .filter(|r| {
            r["source_url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("{base}/catalogue/page-2")))
                && !r["validation_errors"].is_null()
        })
        .map(|r| text(&r["data"]))
        .collect();
    assert!(!expect.is_empty());
    let got: Vec<String> = json_lines(&download(&from_page).await?)
        .iter()
        .map(text)
        .collect();
    assert_eq!(got.len(), expect.len());
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expect);

    // Only what the first run stored: everything before the second began.
    let until = runs[1]["created_at"].clone();
    let first_only = export(
        &host,
        &key,
        &path,
        json!({"format": "jsonl", "filters": {"until": until}}),
    )
    .await?;
    let expect: BTreeSet<String> = stored[0].iter().map(|r| text(&r["data"])).collect();
    let got: BTreeSet<String> = json_lines(&download(&first_only).await?)
        .iter()
        .map(text)
        .collect();
    assert_eq!(got, expect);

    // Another member's job is not there to export.
    let other = host.member("someone@example.com").await?;
    let (status, body) = host
        .call("POST", &path, &other, Some(json!({"format": "jsonl"})))
        .await?;
    assert_eq!(status, 404, "{body}");
    host.stop().await
}

#[tokio::test]
async fn host_options_choose_order_and_add_columns() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    let host = TestHost::start().await?;
    let key = host.member("ana@example.com").await?;
    let (_, job, _) = catalogue_job(&host, &key, &base, 4).await?;
    let run = run_now(&host, &key, &job).await?;
    let run_id = run["id"].as_str().expect("id");
    let results = host.all_results(&key, run_id).await?;
    let path = format!("/v1/runs/{run_id}/exports");

    let chosen = export(
        &host,
        &key,
        &path,
        json!({"format": "csv", "options": {"fields": ["url", "name", "stock"], "omit": ["stock"],
               "include": ["source_url", "confidence", "validation_errors"]}}),
    )
    .await?;
    let csv = download(&chosen).await?;
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "url",
            "name",
            "_source_url",
            "_confidence",
            "_validation_errors"
        ]
    );
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record?;
        rows.push(r.iter().map(str::to_owned).collect::<Vec<_>>());
    }
    assert_eq!(rows.len(), results.len());
    let expected: BTreeSet<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r["data"]["url"].as_str().expect("url").to_owned(),
                r["data"]["name"].as_str().expect("name").to_owned(),
                r["source_url"].as_str().expect("source").to_owned(),
                r["confidence"].to_string(),
                if r["validation_errors"].is_null() {
                    String::new()
                } else {
                    r["validation_errors"].to_string()
                },
            ]
        })
        .collect();
    assert_eq!(rows.into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(
        chosen["file_name"]
            .as_str()
            .expect("name")
            .starts_with("Livros-catálogo-run-"),
        "{chosen}"
    );

    // gzip: the same lines, compressed, under a name that says so.
    let plain = download(&export(&host, &key, &path, json!({"format": "jsonl"})).await?).await?;
    let zipped = export(
        &host,
        &key,
        &path,
        json!({"format": "jsonl", "options": {"gzip": true}}),
    )
    .await?;
    assert_eq!(zipped["media_type"], "application/gzip");
    assert!(
        zipped["file_name"]
            .as_str()
            .expect("name")
            .ends_with(".jsonl.gz")
    );
    let gz = download(&zipped).await?;
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut unzipped)?;
    assert_eq!(unzipped, plain);
    assert!(gz.len() < plain.len());
    host.stop().await
}

#[tokio::test]
async fn wrong_options_are_refused_when_the_export_is_made() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    let host = TestHost::start().await?;
    let key = host.member("rui@example.com").await?;
    let (_, job, _) = catalogue_job(&host, &key, &base, 5).await?;
    let run = run_now(&host, &key, &job).await?;
    let path = format!("/v1/runs/{}/exports", run["id"].as_str().expect("id"));
    for (body, says) in [
        (
            json!({"format": "csv", "options": {"fields": "name"}}),
            "fields",
        ),
        (
            json!({"format": "csv", "options": {"fields": ["nome"]}}),
            "nome",
        ),
        (
            json!({"format": "csv", "options": {"omit": ["nome"]}}),
            "nome",
        ),
        (
            json!({"format": "csv", "options": {"include": ["url"]}}),
            "include",
        ),
        (json!({"format": "csv", "options": {"gzip": 1}}), "gzip"),
        (
            json!({"format": "csv", "options": {"delimiter": ";;"}}),
            "delimiter",
        ),
        (json!({"format": "csv", "options": []}), "object"),
        (json!({"format": "csv", "expires_in": "1s"}), "expires_in"),
        (
            json!({"format": "csv", "expires_in": "forever"}),
            "expires_in",
        ),
        (
            json!({"format": "csv", "expires_in": "400days"}),
            "expires_in",
        ),
        (
            json!({"format": "csv", "filters": {"min_confidence": 2}}),
            "min_confidence",
        ),
        (
            json!({"format": "csv", "filters": {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}}),
            "since",
        ),
    ] {
        let (status, error) = host.call("POST", &path, &key, Some(body.clone())).await?;
        assert_eq!(status, 422, "{body} → {error}");
        assert_eq!(
            error["error"]["code"], "invalid_export_options",
            "{body} → {error}"
        );
        let message = error["error"]["message"].as_str().expect("message");
        assert!(message.contains(says), "{body} → {message}");
    }
    // Filters the API does not know are refused too.
    let (status, error) = host
        .call(
            "POST",
            &path,
            &key,
            Some(json!({"format": "csv", "filters": {"confidence": 1}})),
        )
        .await?;
    assert_eq!(status, 422, "{error}");
    // Nothing was queued.
    let (status, list) = host.call("GET", "/v1/exports", &key, None).await?;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([]), "{list}");
    host.stop().await
}

#[tokio::test]
async fn links_serve_ranges_and_die_when_tampered_expired_or_revoked() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    let host = TestHost::start().await?;
    let key = host.member("teresa@example.com").await?;
    let (_, job, _) = catalogue_job(&host, &key, &base, 1).await?;
    let run = run_now(&host, &key, &job).await?;
    let path = format!("/v1/runs/{}/exports", run["id"].as_str().expect("id"));
    let made = export(
        &host,
        &key,
        &path,
        json!({"format": "csv", "expires_in": "2h"}),
    )
    .await?;
    let url = made["download_url"].as_str().expect("link").to_owned();
    let whole = download(&made).await?;
    let size = whole.len();
    assert!(size > 100);
    // The link lasts as long as the export: two hours from when it was written.
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(made["expires_at"].clone())?;
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(118) && left <= chrono::Duration::minutes(120),
        "{left}"
    );
    // Asking again gives the same shareable link.
    let (_, again) = host
        .call(
            "GET",
            &format!("/v1/exports/{}", made["id"].as_str().expect("id")),
            &key,
            None,
        )
        .await?;
    assert_eq!(again["download_url"], made["download_url"]);

    let client = &host.client;
    let head = client.head(&url).send().await?;
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], size.to_string().as_str());
    assert_eq!(head.headers()["accept-ranges"], "bytes");
    assert_eq!(head.headers()["content-type"], "text/csv");
    let disposition = head.headers()["content-disposition"].to_str()?.to_owned();
    assert!(
        disposition.contains("filename*=UTF-8''Livros-cat%C3%A1logo-run-"),
        "{disposition}"
    );
    assert!(head.bytes().await?.is_empty());

    for (range, start, end) in [
        ("bytes=0-9", 0, 10),
        ("bytes=-7", size - 7, size),
        (&format!("bytes={}-", size - 3) as &str, size - 3, size),
        ("bytes=5-100000000", 5, size),
    ] {
        let part = client.get(&url).header("range", range).send().await?;
        assert_eq!(part.status(), 206, "{range}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {start}-{}/{size}", end - 1).as_str()
        );
        assert_eq!(
            part.bytes().await?.to_vec(),
            whole[start..end].to_vec(),
            "{range}"
        );
    }
    let outside = client
        .get(&url)
        .header("range", format!("bytes={size}-"))
        .send()
        .await?;
    assert_eq!(outside.status(), 416);
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );

    // Tampering with the signature, the expiry or the export breaks the link.
    let tampered_sig = format!("{}A", url);
    let later = {
        let at = url.find("expires=").expect("expires") + "expires=".len();
        let end = at + url[at..].find('&').expect("&");
        let n: u64 = url[at..end].parse()?;
        format!("{}{}{}", &url[..at], n + 3600, &url[end..])
    };
    let other = url.replace(
        made["id"].as_str().expect("id"),
        &uuid::Uuid::new_v4().to_string(),
    );
    for bad in [tampered_sig, later, other] {
        let response = client.get(&bad).send().await?;
        assert_eq!(response.status(), 403, "{bad}");
        let body: Value = response.json().await?;
        assert_eq!(body["error"]["code"], "invalid_signature", "{bad}");
    }

    // Deleting the export revokes its link at once and removes its file.
    let id = made["id"].as_str().expect("id");
    let key_of = |id: &str| {
        let pool = host.state.pool.clone();
        let id = id.to_owned();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT storage_key FROM exports WHERE id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
        }
    };
    let file = host.state.storage.path(&key_of(id).await?.expect("a file"));
    assert!(file.exists());
    let (status, _) = host
        .call("DELETE", &format!("/v1/exports/{id}"), &key, None)
        .await?;
    assert_eq!(status, 204);
    let response = client.get(&url).send().await?;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "link_revoked");
    assert!(!file.exists(), "the file is gone");
    let (status, _) = host
        .call("GET", &format!("/v1/exports/{id}"), &key, None)
        .await?;
    assert_eq!(status, 404);
    let (status, _) = host
        .call("DELETE", &format!("/v1/exports/{id}"), &key, None)
        .await?;
    assert_eq!(status, 404);

    // An export whose time is up: its link says so at once, and the janitor deletes
    // its file; a file no export owns goes too once it is old, a young one stays.
    let short = export(
        &host,
        &key,
        &path,
        json!({"format": "jsonl", "expires_in": "1m"}),
    )
    .await?;
    let short_id = short["id"].as_str().expect("id");
    let short_file = host
        .state
        .storage
        .path(&key_of(short_id).await?.expect("a file"));
    assert!(short_file.exists());
    sqlx::query("UPDATE exports SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(short_id)
        .execute(&host.state.pool)
        .await?;
    let response = client
        .get(short["download_url"].as_str().expect("link"))
        .send()
        .await?;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "link_expired");

    let keep = export(&host, &key, &path, json!({"format": "csv"})).await?;
    let keep_file = host.state.storage.path(
        &key_of(keep["id"].as_str().expect("id"))
            .await?
            .expect("a file"),
    );
    let orphan = host.state.storage.path("left-behind.csv");
    std::fs::write(&orphan, b"a,b\r\n")?;
    std::fs::File::options()
        .write(true)
        .open(&orphan)?
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 3600))?;
    let young = host.state.storage.path("being-written.csv");
    std::fs::write(&young, b"a,b\r\n")?;
    // What a host that died mid-upload leaves: a part file, not yet an object.
    let unfinished = host.state.storage.path("died-writing.csv#1");
    std::fs::write(&unfinished, b"a,b\r\n")?;
    std::fs::File::options()
        .write(true)
        .open(&unfinished)?
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(2 * 3600))?;

    let round = trawl_host::worker::janitor::round(&host.state).await?;
    assert_eq!(round.expired, 1, "{round:?}");
    assert_eq!(round.removed, 1, "{round:?}");
    assert_eq!(round.orphans, 2, "{round:?}");
    assert!(!short_file.exists());
    assert!(!orphan.exists());
    assert!(!unfinished.exists());
    assert!(young.exists());
    let (_, gone) = host
        .call("GET", &format!("/v1/exports/{short_id}"), &key, None)
        .await?;
    assert_eq!(gone["status"], "expired", "{gone}");
    assert!(gone["download_url"].is_null());
    // Another export's file is untouched, and a second round finds nothing to do.
    assert!(keep_file.exists());
    let round = trawl_host::worker::janitor::round(&host.state).await?;
    assert_eq!(round, trawl_host::worker::janitor::Round::default());
    host.stop().await
}

#[tokio::test]
async fn a_worker_that_lost_its_claim_writes_nothing() -> anyhow::Result<()> {
    use trawl_host::db::exports;
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    // Workers wake only when told, so nothing but this test claims the export below.
    let host = TestHost::start_with(|c| c.poll_interval = Duration::from_secs(3600)).await?;
    let key = host.member("lia@example.com").await?;
    let (_, job, _) = catalogue_job(&host, &key, &base, 5).await?;
    let run = run_now(&host, &key, &job).await?;
    let path = format!("/v1/runs/{}/exports", run["id"].as_str().expect("id"));
    let done = export(&host, &key, &path, json!({"format": "csv"})).await?;
    let id: trawl_host::ids::ExportId = done["id"].as_str().expect("id").parse()?;
    let pool = &host.state.pool;
    // Its worker vanished mid-write: the lease lapsed, and another worker claims it.
    sqlx::query(
        "UPDATE exports SET status = 'running', lease_owner = 'a', lease_expires_at = now() - interval '1 second'
         WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    let before: i64 = sqlx::query_scalar("SELECT lease_token FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?;
    let claimed = exports::claim_next(pool, "b", 30.0)
        .await?
        .expect("the lapsed export is claimed again");
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.lease_token, before + 1);
    // The first worker comes back: none of its writes land.
    assert!(!exports::progress(pool, id, before, 5, 5, 30.0).await?);
    let written = exports::Written {
        rows: 1,
        bytes: 1,
        storage_key: "stale.csv",
        storage_backend: "local",
        media_type: "text/csv",
        extension: "csv",
        file_name: "stale.csv",
        credits: 0,
    };
    assert!(!exports::writing(pool, id, before, "stale.csv", "local").await?);
    assert!(!exports::succeed(pool, id, before, written).await?);
    exports::fail(pool, id, before, "stale", "stale").await?;
    let row = exports::get_any(pool, id).await?.expect("row");
    assert_eq!(row.status, trawl_host::model::ExportStatus::Running);
    assert_ne!(row.storage_key.as_deref(), Some("stale.csv"));
    // The current holder's do; the key it is writing is known before its file exists,
    // so no janitor takes that file for an orphan.
    assert!(exports::progress(pool, id, claimed.lease_token, 5, 5, 30.0).await?);
    assert!(exports::writing(pool, id, claimed.lease_token, "fresh.csv", "local").await?);
    assert_eq!(
        exports::known_keys(pool, &["fresh.csv".to_owned()]).await?,
        ["fresh.csv"]
    );
    exports::release(pool, id, claimed.lease_token).await?;
    let row = exports::get_any(pool, id).await?.expect("row");
    assert_eq!(row.status, trawl_host::model::ExportStatus::Queued);
    host.stop().await
}

/// A bucket on a real S3-compatible server (moto, on loopback) shared by two hosts of one
/// deployment: an export written by one downloads through the other, ranges and `HEAD`
/// included, and redirects to a presigned URL where a host is set to; deleting it
/// through either removes the object; the janitor deletes expired exports' objects and
/// objects no export owns on the bucket.
#[tokio::test]
async fn hosts_sharing_a_bucket_share_exports() -> anyhow::Result<()> {
    let s3 = trawl_tests::S3Server::start().await?;
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    // Janitors run only when this test says, so that it sees what each round does.
    let quiet = |c: &mut trawl_host::Config| {
        s3.configure(c);
        c.export_janitor_interval = Duration::from_secs(3600);
    };
    let first = TestHost::start_with(quiet).await?;
    let second = first
        .beside(|c| {
            quiet(c);
            // Orphans are old at once here, so that this test can watch one go.
            c.export_orphan_age = Duration::ZERO;
        })
        .await?;
    let redirecting = first
        .beside(|c| {
            quiet(c);
            c.storage.redirect = true;
        })
        .await?;
    let key = first.member("sol@example.com").await?;
    let (_, job, _) = catalogue_job(&first, &key, &base, 1).await?;
    let run = run_now(&first, &key, &job).await?;
    let path = format!("/v1/runs/{}/exports", run["id"].as_str().expect("id"));
    let made = export(&first, &key, &path, json!({"format": "csv"})).await?;
    let id = made["id"].as_str().expect("id");
    let (backend, stored): (String, String) =
        sqlx::query_as("SELECT storage_backend, storage_key FROM exports WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&first.state.pool)
            .await?;
    assert_eq!(backend, "s3");
    assert_eq!(
        s3.keys().await?,
        [format!("trawl/exports/{stored}")],
        "one object under the prefix"
    );
    assert!(
        !first.state.storage.path(&stored).exists(),
        "nothing on local disk"
    );

    let here = download(&made).await?;
    let link = made["download_url"].as_str().expect("a link");
    let there = link.replace(&first.base, &second.base);
    let client = reqwest::Client::new();
    let response = client.get(&there).send().await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv");
    assert_eq!(response.bytes().await?.to_vec(), here, "the same file");
    let response = client
        .get(&there)
        .header("range", "bytes=5-24")
        .send()
        .await?;
    assert_eq!(response.status(), 206);
    assert_eq!(response.bytes().await?.to_vec(), here[5..25].to_vec());
    let head = client.head(&there).send().await?;
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], here.len().to_string());

    // A host set to redirect sends the client to the bucket with a presigned URL.
    let elsewhere = link.replace(&first.base, &redirecting.base);
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = no_follow.get(&elsewhere).send().await?;
    assert_eq!(response.status(), 307);
    let location = response.headers()["location"].to_str()?.to_owned();
    assert!(location.starts_with(&s3.endpoint), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    let followed = client.get(&elsewhere).send().await?;
    assert_eq!(followed.status(), 200);
    assert_eq!(followed.bytes().await?.to_vec(), here, "the bucket's copy");
    // HEAD is answered by the host itself.
    assert_eq!(no_follow.head(&elsewhere).send().await?.status(), 200);

    // Deleted through the second host: the object goes, the link is revoked everywhere.
    let (status, _) = second
        .call("DELETE", &format!("/v1/exports/{id}"), &key, None)
        .await?;
    assert_eq!(status, 204);
    assert_eq!(s3.keys().await?, Vec::<String>::new());
    let response = client.get(link).send().await?;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "link_revoked");

    // The janitor on the bucket: an expired export's object, and an object no export
    // owns; a live export's object stays.
    let expiring = export(&first, &key, &path, json!({"format": "jsonl"})).await?;
    let live = export(&first, &key, &path, json!({"format": "json"})).await?;
    sqlx::query("UPDATE exports SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(expiring["id"].as_str().expect("id"))
        .execute(&first.state.pool)
        .await?;
    let orphan = client
        .put(format!(
            "{}/{}/trawl/exports/left-behind.csv",
            s3.endpoint, s3.bucket
        ))
        .body("a,b\r\n")
        .send()
        .await?;
    assert!(orphan.status().is_success());
    let outside = client
        .put(format!("{}/{}/not-trawls.txt", s3.endpoint, s3.bucket))
        .body("x")
        .send()
        .await?;
    assert!(outside.status().is_success());
    // Below the prefix but not one of trawl's keys (those are file names directly under it).
    let nested = client
        .put(format!(
            "{}/{}/trawl/exports/sub/kept.csv",
            s3.endpoint, s3.bucket
        ))
        .body("x")
        .send()
        .await?;
    assert!(nested.status().is_success());
    assert_eq!(s3.keys().await?.len(), 5);
    let round = trawl_host::worker::janitor::round(&second.state).await?;
    assert_eq!(round.expired, 1, "{round:?}");
    assert_eq!(round.removed, 1, "{round:?}");
    assert_eq!(round.orphans, 1, "{round:?}");
    let (live_key,): (String,) =
        sqlx::query_as("SELECT storage_key FROM exports WHERE id = $1::uuid")
            .bind(live["id"].as_str().expect("id"))
            .fetch_one(&first.state.pool)
            .await?;
    let mut left = s3.keys().await?;
    left.sort();
    let mut expected = vec![
        "not-trawls.txt".to_owned(),
        "trawl/exports/sub/kept.csv".to_owned(),
        format!("trawl/exports/{live_key}"),
    ];
    expected.sort();
    assert_eq!(
        left, expected,
        "only the live export's object and what is not trawl's"
    );
    assert_eq!(download(&live).await?.first(), Some(&b'['));

    redirecting.stop().await?;
    second.stop().await?;
    first.stop().await
}

/// A file larger than several parts goes up as a multipart stream and reads back whole
/// and in ranges across part boundaries; an abandoned upload leaves no object.
#[tokio::test]
async fn multipart_uploads_reach_the_bucket_whole() -> anyhow::Result<()> {
    use trawl_host::storage::{Backend, FileInfo, Storage};
    let s3 = trawl_tests::S3Server::start().await?;
    let mut config = trawl_host::Config::for_tests(std::env::temp_dir());
    s3.configure(&mut config);
    config.storage.part_size = bytesize::ByteSize::mib(5);
    let dir = trawl_tests::TempDir::new();
    let storage = Storage::new(&config.storage, dir.0.clone(), b"k".to_vec()).await?;
    assert_eq!(storage.backend(), Backend::S3);
    let info = FileInfo {
        media_type: "text/csv",
        disposition: "attachment; filename=\"a.csv\"",
    };
    // 12 MiB in 1 MiB writes of a pattern that shows any misplaced byte.
    let chunk = |i: usize| -> Vec<u8> { (0..1 << 20).map(|j| ((i * 7 + j) % 251) as u8).collect() };
    let whole: Vec<u8> = (0..12).flat_map(chunk).collect();
    let key = storage.key_for(trawl_host::ids::ExportId::new(), "csv");
    let mut upload = storage.upload(&key, info).await?;
    for i in 0..12 {
        upload.write(chunk(i)).await?;
    }
    assert_eq!(
        s3.keys().await?,
        Vec::<String>::new(),
        "not visible before it finishes"
    );
    upload.finish().await?;
    let read = |start: u64, len: u64| {
        let storage = &storage;
        let key = key.clone();
        async move {
            let body = storage.read(Backend::S3, &key, start, len).await?;
            anyhow::Ok(axum::body::to_bytes(body, usize::MAX).await?.to_vec())
        }
    };
    assert_eq!(read(0, whole.len() as u64).await?, whole);
    let boundary = 5 << 20;
    assert_eq!(
        read(boundary - 3, 6).await?,
        whole[boundary as usize - 3..boundary as usize + 3].to_vec()
    );
    let abandoned = storage.key_for(trawl_host::ids::ExportId::new(), "csv");
    let mut upload = storage.upload(&abandoned, info).await?;
    upload.write(chunk(0)).await?;
    upload.abort().await;
    assert_eq!(s3.keys().await?, [format!("trawl/exports/{key}")]);
    storage.delete(Backend::S3, &key).await?;
    assert_eq!(s3.keys().await?, Vec::<String>::new());
    Ok(())
}

/// While an export runs, its rows and bytes written so far show; an exporter that fails
/// part way fails the export with an error naming the plugin and its version, and leaves
/// no file.
#[tokio::test]
async fn progress_shows_while_an_export_runs_and_a_failing_plugin_is_named() -> anyhow::Result<()> {
    let site = serve_site(catalogue()).await?;
    let base = format!("http://{site}");
    let host = TestHost::start().await?;
    let (status, body) = host
        .upload(
            &host.admin_key,
            trawl_tests::test_plugin("hostile_exporter"),
        )
        .await?;
    assert_eq!(status, 201, "{body}");
    let key = host.member("pia@example.com").await?;
    let (_, job, _) = catalogue_job(&host, &key, &base, 1).await?;
    let run = run_now(&host, &key, &job).await?;
    let run_id = run["id"].as_str().expect("id");
    sqlx::query(
        "INSERT INTO results (id, run_id, job_id, dedup_key, source_url, data, content_hash)
         SELECT md5(i::text)::uuid, $1::uuid, $2::uuid, $1::uuid, 'http://x.example/' || i,
                jsonb_build_object('name', 'n' || i, 'price', i, 'url', 'http://x.example/' || i),
                sha256(i::text::bytea)
         FROM generate_series(1, 5000) AS i",
    )
    .bind(run_id)
    .bind(&job)
    .execute(&host.state.pool)
    .await?;
    let (total,): (i64,) = sqlx::query_as("SELECT count(*) FROM results WHERE run_id = $1::uuid")
        .bind(run_id)
        .fetch_one(&host.state.pool)
        .await?;
    let path = format!("/v1/runs/{run_id}/exports");
    // Slow: each batch of a thousand rows takes a while.
    let (status, export) = host
        .call(
            "POST",
            &path,
            &key,
            Some(json!({"format": "hostile-exporter", "options": {"spin": 150_000_000}})),
        )
        .await?;
    assert_eq!(status, 202, "{export}");
    let id = export["id"].as_str().expect("id").to_owned();
    let mut seen = None;
    let started = std::time::Instant::now();
    let done = loop {
        let (_, now) = host
            .call("GET", &format!("/v1/exports/{id}"), &key, None)
            .await?;
        let rows = now["row_count"].as_i64().unwrap_or(0);
        if now["status"] == "running" && rows > 0 && rows < total {
            assert!(now["size_bytes"].as_i64().unwrap_or(0) > 0, "{now}");
            seen.get_or_insert(rows);
        }
        if now["status"] != "running" && now["status"] != "queued" {
            break now;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["row_count"], total, "{done}");
    assert!(seen.is_some(), "progress was visible while the export ran");

    let (status, export) = host
        .call(
            "POST",
            &path,
            &key,
            Some(json!({"format": "hostile-exporter", "options": {"spin": 0, "fail_at": 3}})),
        )
        .await?;
    assert_eq!(status, 202, "{export}");
    let failed = host
        .wait_export(
            &key,
            export["id"].as_str().expect("id"),
            Duration::from_secs(60),
        )
        .await?;
    assert_eq!(failed["status"], "failed", "{failed}");
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("hostile-exporter@0.1.0"), "{failed}");
    assert!(message.contains("gave up at write 3"), "{failed}");
    assert!(failed["download_url"].is_null(), "{failed}");
    let files = std::fs::read_dir(host.state.storage.path(""))?.count();
    assert_eq!(files, 1, "only the first export's file");
    host.stop().await
}
