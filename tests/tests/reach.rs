//! Reach in `http` mode, against local sites: a login with a CSRF token whose session
//! shows members' fields, secrets the API never shows, sitemaps (an index with a gzip
//! child, from robots.txt), POST bodies and headers, the run's cookie jar, and proxies
//! that see every request of a job that names them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trawl_tests::TestHost;

async fn serve(router: Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

fn html(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!DOCTYPE html><html><body>{body}</body></html>"),
    )
        .into_response()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

async fn member_schema(host: &TestHost, schema: Value) -> anyhow::Result<(String, Value)> {
    let key = host
        .member(&format!("{}@example.com", uuid::Uuid::new_v4().simple()))
        .await?;
    let (status, created) = host
        .call(
            "POST",
            "/v1/schemas",
            &key,
            Some(json!({"name": "s", "json_schema": schema})),
        )
        .await?;
    anyhow::ensure!(status == 201, "schema: {created}");
    Ok((key, created["id"].clone()))
}

fn product_schema() -> Value {
    json!({
        "type": "object",
        "x-scope": "article.product",
        "properties": {
            "name": {"type": "string", "x-selector": "h3"},
            "price": {"type": "number", "x-selector": ".price"}
        },
        "required": ["name"]
    })
}

/// A shop whose prices only members see. `GET /login` starts a pre-session (a cookie)
/// and puts a CSRF token tied to it in the form; `POST /login` wants both, and the right
/// password, and answers with a session cookie and a redirect.
async fn members_shop() -> anyhow::Result<SocketAddr> {
    let router = Router::new()
        .route(
            "/login",
            get(|| async {
                let pre = uuid::Uuid::new_v4().simple().to_string();
                let mut response = html(format!(
                    r#"<form id="search" action="/search"><input name="q"></form>
                       <form id="login" method="post" action="/login">
                         <input type="hidden" name="csrf" value="tok-{pre}">
                         <input name="username"><input type="password" name="password">
                         <button type="submit" name="go" value="1">Log in</button>
                       </form>"#
                ));
                response.headers_mut().insert(
                    header::SET_COOKIE,
                    format!("pre={pre}; Path=/; HttpOnly")
                        .parse()
                        .expect("cookie"),
                );
                response
            })
            .post(|headers: HeaderMap, body: String| async move {
                let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let pre = cookie(&headers, "pre").unwrap_or_default();
                let csrf_ok = !pre.is_empty()
                    && form.get("csrf").map(String::as_str) == Some(&format!("tok-{pre}"));
                let user_ok = form.get("username").map(String::as_str) == Some("alice")
                    && form.get("password").map(String::as_str) == Some("s3cret pw")
                    && form.get("go").map(String::as_str) == Some("1");
                if !csrf_ok {
                    return (StatusCode::FORBIDDEN, "bad csrf").into_response();
                }
                if !user_ok {
                    return html(r#"<p class="error">Wrong password</p>"#.into());
                }
                (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, "/account"),
                        (header::SET_COOKIE, "session=member-1; Path=/; HttpOnly"),
                    ],
                )
                    .into_response()
            }),
        )
        .route(
            "/account",
            get(|headers: HeaderMap| async move {
                match cookie(&headers, "session").as_deref() {
                    Some("member-1") => {
                        html(r#"<a class="logout" href="/logout">Log out</a>"#.into())
                    }
                    _ => html("<p>who are you?</p>".into()),
                }
            }),
        )
        .route(
            "/products/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>, headers: HeaderMap| async move {
                    let member = cookie(&headers, "session").as_deref() == Some("member-1");
                    let items: String = (0..3)
                        .map(|i| {
                            let price = if member {
                                format!(r#"<span class="price">{}.50</span>"#, n * 10 + i)
                            } else {
                                String::new()
                            };
                            format!(
                                r#"<article class="product"><h3>P{n}-{i}</h3>{price}</article>"#
                            )
                        })
                        .collect();
                    let next = if n < 3 {
                        format!(r#"<a class="next" href="/products/{}">next</a>"#, n + 1)
                    } else {
                        String::new()
                    };
                    html(format!("{items}{next}"))
                },
            ),
        );
    serve(router).await
}

fn login_job(schema: &Value, base: &str, password: &str) -> Value {
    json!({
        "name": "members",
        "schema_id": schema,
        "start_urls": [format!("{base}/products/1")],
        "pagination": {"type": "next-link", "selector": "a.next"},
        "fetch": {"login": {
            "url": format!("{base}/login"),
            "form": "form#login",
            "success_selector": "a.logout",
            "failure_selector": ".error"
        }},
        "secrets": {"login": {"username": "alice", "password": password}}
    })
}

#[tokio::test]
async fn a_login_with_a_csrf_token_opens_members_fields() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let site = members_shop().await?;
    let base = format!("http://{site}");
    let (key, schema) = member_schema(&host, product_schema()).await?;

    // Without a login, the prices are not there.
    let mut anonymous = login_job(&schema, &base, "unused");
    anonymous["fetch"] = json!({});
    anonymous["secrets"] = json!({});
    let run = host.run_job(&key, anonymous).await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let items = host.all_results(&key, run["id"].as_str().unwrap()).await?;
    assert_eq!(items.len(), 9);
    assert!(
        items.iter().all(|i| i["data"].get("price").is_none()),
        "{items:?}"
    );

    let (status, job) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(login_job(&schema, &base, "s3cret pw")),
        )
        .await?;
    assert_eq!(status, 201, "{job}");
    // The password is never shown, only that there is one.
    let text = job.to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(
        job["secrets"]["login"],
        json!(["password", "username"]),
        "{job}"
    );
    let id = job["id"].as_str().unwrap();
    let (_, got) = host
        .call("GET", &format!("/v1/jobs/{id}"), &key, None)
        .await?;
    assert!(!got.to_string().contains("s3cret"), "{got}");
    let (_, listed) = host.call("GET", "/v1/jobs", &key, None).await?;
    assert!(!listed.to_string().contains("s3cret"), "{listed}");

    let (status, run) = host
        .call("POST", &format!("/v1/jobs/{id}/runs"), &key, None)
        .await?;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().unwrap().to_owned();
    let run = host
        .wait_run(&key, &run_id, std::time::Duration::from_secs(60))
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(!run.to_string().contains("s3cret"), "{run}");
    let mut items = host.all_results(&key, &run_id).await?;
    items.sort_by_key(|i| i["data"]["name"].as_str().unwrap_or_default().to_owned());
    assert_eq!(items.len(), 9, "{items:?}");
    assert_eq!(items[0]["data"], json!({"name": "P1-0", "price": 10.5}));
    assert!(
        items.iter().all(|i| i["data"]["price"].is_number()),
        "{items:?}"
    );

    // A replacement that leaves the secrets out keeps them.
    let mut replaced = login_job(&schema, &base, "unused");
    replaced.as_object_mut().unwrap().remove("secrets");
    let (status, kept) = host
        .call("PUT", &format!("/v1/jobs/{id}"), &key, Some(replaced))
        .await?;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(
        kept["secrets"]["login"],
        json!(["password", "username"]),
        "{kept}"
    );

    // Another member cannot see the job at all.
    let other = host.member("other@example.com").await?;
    let (status, _) = host
        .call("GET", &format!("/v1/jobs/{id}"), &other, None)
        .await?;
    assert_eq!(status, 404);

    // A wrong password fails the run with `login_failed`, fetching no product page.
    let run = host
        .run_job(&key, login_job(&schema, &base, "wrong"))
        .await?;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "login_failed", "{run}");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("failure_selector"),
        "{run}"
    );
    assert_eq!(run["counters"]["pages_fetched"], 0, "{run}");
    Ok(())
}

#[tokio::test]
async fn secrets_are_checked_without_echoing_them() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let (key, schema) = member_schema(&host, product_schema()).await?;
    let (status, body) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(json!({
                "name": "bad",
                "schema_id": schema,
                "start_urls": ["http://127.0.0.1:1/"],
                "secrets": {
                    "headers": {"Host": "evil.test", "X-Token": "line\nbreak-hunter2"},
                    "proxies": ["ftp://hunter2@proxy.test"]
                }
            })),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_job");
    let text = body.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    let paths: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/secrets/headers/Host",
            "/secrets/headers/X-Token",
            "/secrets/proxies/0"
        ],
        "{body}"
    );
    Ok(())
}

/// Requests a site or proxy saw, as "METHOD path-or-URL".
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, line: String) {
        self.0.lock().expect("seen").push(line);
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().expect("seen").clone()
    }
}

#[tokio::test]
async fn sitemaps_from_robots_through_an_index_with_a_gzip_child() -> anyhow::Result<()> {
    use std::io::Write as _;
    let host = TestHost::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let site = listener.local_addr()?;
    let base = format!("http://{site}");
    let urlset = |paths: &[(&str, &str)]| {
        let urls: String = paths
            .iter()
            .map(|(p, lastmod)| {
                format!("<url><loc>{base}{p}</loc><lastmod>{lastmod}</lastmod></url>")
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>"#
        )
    };
    let plain = urlset(&[
        ("/p/1", "2026-03-01"),
        ("/p/2", "2026-03-02T10:00:00+00:00"),
        ("/tag/x", "2026-03-01"),
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        urlset(&[
            ("/p/3", "2026-04-01"),
            ("/p/4", "2025-01-01"),
            ("/p/5", "2026-05-01"),
        ])
        .as_bytes(),
    )?;
    let gzipped = gz.finish()?;
    let index = format!(
        r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
           <sitemap><loc>{base}/sitemaps/plain.xml</loc></sitemap>
           <sitemap><loc>{base}/sitemaps/more.xml.gz</loc></sitemap></sitemapindex>"#
    );
    let robots = format!("User-agent: *\nDisallow: /private\nSitemap: {base}/sitemap_index.xml\n");
    let seen = Seen::default();
    let logged = seen.clone();
    let router = Router::new()
        .route("/robots.txt", get(move || async move { robots }))
        .route(
            "/sitemap_index.xml",
            get(move || async move { ([(header::CONTENT_TYPE, "application/xml")], index) }),
        )
        .route(
            "/sitemaps/plain.xml",
            get(move || async move { ([(header::CONTENT_TYPE, "text/xml")], plain) }),
        )
        .route(
            "/sitemaps/more.xml.gz",
            get(move || async move { ([(header::CONTENT_TYPE, "application/x-gzip")], gzipped) }),
        )
        .route(
            "/{*path}",
            get(
                |axum::extract::Path(path): axum::extract::Path<String>| async move {
                    html(format!(
                        r#"<article class="product"><h3>{path}</h3></article>"#
                    ))
                },
            ),
        )
        .layer(axum::middleware::from_fn(
            move |request: Request, next: axum::middleware::Next| {
                let seen = logged.clone();
                async move {
                    seen.push(request.uri().path().to_owned());
                    next.run(request).await
                }
            },
        ));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let (key, schema) = member_schema(&host, product_schema()).await?;
    let run = host
        .run_job(
            &key,
            json!({
                "name": "by sitemap",
                "schema_id": schema,
                "start_urls": [format!("{base}/")],
                "pagination": {"type": "sitemap", "include": ["/p/"], "modified_since": "2026-01-01"},
            }),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let items = host.all_results(&key, run["id"].as_str().unwrap()).await?;
    let mut names: Vec<String> = items
        .iter()
        .map(|i| i["data"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    // /tag/x is not included, /p/4 is older than modified_since.
    assert_eq!(names, ["p/1", "p/2", "p/3", "p/5"], "{items:?}");
    let paths = seen.all();
    assert!(
        paths.contains(&"/sitemaps/more.xml.gz".to_owned()),
        "{paths:?}"
    );
    assert!(!paths.contains(&"/tag/x".to_owned()), "{paths:?}");
    assert!(!paths.contains(&"/p/4".to_owned()), "{paths:?}");

    // A site with no sitemap at all fails the run with a reason.
    let empty = serve(Router::new()).await?;
    let run = host
        .run_job(
            &key,
            json!({
                "name": "none",
                "schema_id": schema,
                "start_urls": [format!("http://{empty}/sitemap.xml")],
                "pagination": {"type": "sitemap"},
            }),
        )
        .await?;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "sitemap_unavailable", "{run}");
    Ok(())
}

#[tokio::test]
async fn posts_bodies_and_headers_and_keeps_the_sites_cookies() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let seen = Seen::default();
    let logged = seen.clone();
    let router = Router::new()
        .route(
            "/search",
            post(move |headers: HeaderMap, body: String| {
                let seen = logged.clone();
                async move {
                    let auth = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let media = headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.push(format!("POST {auth} {media} {body}"));
                    let mut response = html(
                        r#"<article class="product"><h3>found</h3></article><a class="next" href="/more">more</a>"#
                            .into(),
                    );
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, "visit=42; Path=/".parse().expect("cookie"));
                    response
                }
            }),
        )
        .route(
            "/more",
            post(|headers: HeaderMap| async move {
                let visit = cookie(&headers, "visit").unwrap_or_else(|| "none".into());
                html(format!(r#"<article class="product"><h3>more {visit}</h3></article>"#))
            }),
        );
    let site = serve(router).await?;
    let (key, schema) = member_schema(&host, product_schema()).await?;
    let run = host
        .run_job(
            &key,
            json!({
                "name": "search",
                "schema_id": schema,
                "start_urls": [format!("http://{site}/search")],
                "pagination": {"type": "next-link", "selector": "a.next"},
                "fetch": {"method": "POST", "body": {"json": {"query": "shoes"}}},
                "secrets": {"headers": {"Authorization": "Bearer tok-1"}}
            }),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    let mut names: Vec<String> = host
        .all_results(&key, run["id"].as_str().unwrap())
        .await?
        .iter()
        .map(|i| i["data"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["found", "more 42"],
        "the cookie came back on the next page"
    );
    assert_eq!(
        seen.all(),
        [r#"POST Bearer tok-1 application/json {"query":"shoes"}"#]
    );

    // A body needs POST.
    let (status, body) = host
        .call(
            "POST",
            "/v1/jobs",
            &key,
            Some(json!({
                "name": "bad", "schema_id": schema, "start_urls": [format!("http://{site}/")],
                "fetch": {"body": {"form": {"q": "x"}}}
            })),
        )
        .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["path"], "/fetch/body", "{body}");
    Ok(())
}

/// A forward proxy on loopback: plain-HTTP requests in absolute form, relayed to their
/// target; every request line it relays is logged. `auth` is the Proxy-Authorization it
/// wants, if any (407 otherwise).
async fn forward_proxy(auth: Option<&'static str>) -> anyhow::Result<(SocketAddr, Seen)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head (these requests have no bodies).
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let mut lines = head.split("\r\n");
                let request_line = lines.next().unwrap_or_default().to_owned();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                if let Some(want) = auth {
                    let got = headers
                        .iter()
                        .find(|(k, _)| k == "proxy-authorization")
                        .map(|(_, v)| v.as_str());
                    if got != Some(want) {
                        let _ = client
                            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
                log.push(request_line.clone());
                let mut parts = request_line.split(' ');
                let (method, target) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
                let Ok(url) = url::Url::parse(target) else {
                    return;
                };
                let upstream = format!(
                    "{}:{}",
                    url.host_str().unwrap_or_default(),
                    url.port_or_known_default().unwrap_or(80)
                );
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    let _ = client
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let path = &target[url.origin().ascii_serialization().len()..];
                let path = if path.is_empty() { "/" } else { path };
                let mut out = format!("{method} {path} HTTP/1.1\r\n");
                for (k, v) in &headers {
                    if !k.starts_with("proxy-") && k != "connection" {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                }
                out.push_str("connection: close\r\n\r\n");
                if server.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy(&mut server, &mut client).await;
            });
        }
    });
    Ok((addr, seen))
}

#[tokio::test]
async fn a_proxy_sees_every_request_of_the_job_that_names_it() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let site_seen = Seen::default();
    let logged = site_seen.clone();
    let router = Router::new()
        .route(
            "/list/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    let next = if n < 4 {
                        format!(r#"<a class="next" href="/list/{}">next</a>"#, n + 1)
                    } else {
                        String::new()
                    };
                    html(format!(
                        r#"<article class="product"><h3>item {n}</h3></article>{next}"#
                    ))
                },
            ),
        )
        .layer(axum::middleware::from_fn(
            move |request: Request, next: axum::middleware::Next| {
                let seen = logged.clone();
                async move {
                    seen.push(request.uri().path().to_owned());
                    next.run(request).await
                }
            },
        ));
    let site = serve(router).await?;
    // Credentials in the proxy URL become its Proxy-Authorization (basic, "u:p").
    let (proxy, proxy_seen) = forward_proxy(Some("Basic dTpw")).await?;
    let (key, schema) = member_schema(&host, product_schema()).await?;
    let job = |proxies: Value| {
        json!({
            "name": "proxied",
            "schema_id": schema,
            "start_urls": [format!("http://{site}/list/1")],
            "pagination": {"type": "next-link", "selector": "a.next"},
            "fetch": {"proxy_rotation": "sticky-host"},
            "secrets": {"proxies": proxies}
        })
    };
    let run = host
        .run_job(&key, job(json!([format!("http://u:p@{proxy}")])))
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["items_new"], 4, "{run}");
    let through: Vec<String> = proxy_seen.all();
    let mut expected: Vec<String> =
        std::iter::once(format!("GET http://{site}/robots.txt HTTP/1.1"))
            .chain((1..=4).map(|n| format!("GET http://{site}/list/{n} HTTP/1.1")))
            .collect();
    let mut sorted = through.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "the proxy relayed every request");
    assert_eq!(site_seen.all().len(), 5, "and the site saw nothing else");

    // A proxy that refuses the job's credentials: each page fails as a proxy error.
    let (strict, _) = forward_proxy(Some("Basic other")).await?;
    let mut strict_job = job(json!([format!("http://u:p@{strict}")]));
    strict_job["fetch"]["obey_robots"] = json!(false);
    let run = host.run_job(&key, strict_job).await?;
    let run_id = run["id"].as_str().unwrap();
    let (_, pages) = host
        .call("GET", &format!("/v1/runs/{run_id}/pages"), &key, None)
        .await?;
    let codes: Vec<&str> = pages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["error"]["code"].as_str())
        .collect();
    assert_eq!(codes, ["proxy_error"], "{pages}");
    assert!(
        !pages.to_string().contains("u:p@"),
        "credentials never shown: {pages}"
    );
    Ok(())
}

/// A "proxy" that takes connections and closes them at once, counting them.
async fn broken_proxy() -> anyhow::Result<(SocketAddr, Arc<std::sync::atomic::AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    Ok((addr, count))
}

#[tokio::test]
async fn proxies_rotate_and_one_that_keeps_failing_is_rested() -> anyhow::Result<()> {
    let host = TestHost::start().await?;
    let router = Router::new().route(
        "/list/{n}",
        get(
            |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                let next = if n < 12 {
                    format!(r#"<a class="next" href="/list/{}">next</a>"#, n + 1)
                } else {
                    String::new()
                };
                html(format!(
                    r#"<article class="product"><h3>item {n}</h3></article>{next}"#
                ))
            },
        ),
    );
    let site = serve(router).await?;
    let (key, schema) = member_schema(&host, product_schema()).await?;
    let job = |proxies: Vec<String>, rotation: &str| {
        json!({
            "name": "rotating",
            "schema_id": schema,
            "start_urls": [format!("http://{site}/list/1")],
            "pagination": {"type": "next-link", "selector": "a.next"},
            "fetch": {"proxy_rotation": rotation, "obey_robots": false},
            "secrets": {"proxies": proxies}
        })
    };

    // Per request, two working proxies share the pages.
    let (a, a_seen) = forward_proxy(None).await?;
    let (b, b_seen) = forward_proxy(None).await?;
    let run = host
        .run_job(
            &key,
            job(
                vec![format!("http://{a}"), format!("http://{b}")],
                "per-request",
            ),
        )
        .await?;
    assert_eq!(run["counters"]["items_new"], 12, "{run}");
    let (na, nb) = (a_seen.all().len(), b_seen.all().len());
    assert_eq!(na + nb, 12);
    assert!(na >= 5 && nb >= 5, "alternating: {na} and {nb}");

    // Sticky per host: one proxy takes every request to the site.
    let (a, a_seen) = forward_proxy(None).await?;
    let (b, b_seen) = forward_proxy(None).await?;
    let run = host
        .run_job(
            &key,
            job(
                vec![format!("http://{a}"), format!("http://{b}")],
                "sticky-host",
            ),
        )
        .await?;
    assert_eq!(run["counters"]["items_new"], 12, "{run}");
    let mut counts = [a_seen.all().len(), b_seen.all().len()];
    counts.sort();
    assert_eq!(counts, [0, 12]);

    // A proxy that breaks every connection fails three times, then rests: the pages go
    // through the other, and none of them fails.
    let (broken, tries) = broken_proxy().await?;
    let (good, good_seen) = forward_proxy(None).await?;
    let run = host
        .run_job(
            &key,
            job(
                vec![format!("http://{broken}"), format!("http://{good}")],
                "per-request",
            ),
        )
        .await?;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counters"]["items_new"], 12, "{run}");
    assert_eq!(run["counters"]["pages_failed"], 0, "{run}");
    assert_eq!(good_seen.all().len(), 12);
    let tries = tries.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (3..=4).contains(&tries),
        "rested after 3 failures in a row, not retried again: {tries}"
    );
    Ok(())
}
