//! The plugin runtime under hostile plugins (built by host/build.rs from
//! tests/plugins/hostile): each limit fails the call with its own code, and the next call
//! on the same compiled plugin works.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytesize::ByteSize;
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{CallError, ExtractOutput, LoadedPlugin, PageData, Runtime};

fn page() -> Arc<PageData> {
    Arc::new(PageData {
        url: "http://example.test/".into(),
        status: 200,
        headers: vec![],
        body: "<html><body><p>hello</p></body></html>".into(),
    })
}

async fn call(
    runtime: &Arc<Runtime>,
    plugin: &Arc<LoadedPlugin>,
    mode: &str,
) -> Result<ExtractOutput, CallError> {
    let options = serde_json::json!({ "mode": mode }).to_string();
    runtime
        .extract(plugin, page(), "{}".into(), options.into(), None)
        .await
}

fn hostile(limits: PluginLimits) -> (Arc<Runtime>, Arc<LoadedPlugin>) {
    let runtime = Runtime::new(limits).expect("runtime");
    let bytes = trawl_tests::test_plugin("hostile");
    let plugin = runtime.load(&bytes).expect("hostile loads");
    assert_eq!(plugin.manifest.name, "hostile");
    (runtime, plugin)
}

async fn assert_recovers(runtime: &Arc<Runtime>, plugin: &Arc<LoadedPlugin>) {
    let ok = call(runtime, plugin, "ok")
        .await
        .expect("the next call works");
    assert_eq!(ok.items.len(), 1);
    assert_eq!(ok.items[0].value, serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn an_infinite_loop_times_out() {
    let limits = PluginLimits {
        timeout: Duration::from_millis(500),
        fuel: u64::MAX / 4,
        ..PluginLimits::default()
    };
    let (runtime, plugin) = hostile(limits);
    let started = Instant::now();
    let e = call(&runtime, &plugin, "loop")
        .await
        .expect_err("a loop cannot finish");
    assert_eq!(e.code(), "plugin_timeout", "{e}");
    assert!(e.to_string().contains("hostile@0.1.0"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped after {:?}",
        started.elapsed()
    );
    assert_recovers(&runtime, &plugin).await;
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    let limits = PluginLimits {
        timeout: Duration::from_secs(30),
        fuel: 50_000_000,
        ..PluginLimits::default()
    };
    let (runtime, plugin) = hostile(limits);
    let e = call(&runtime, &plugin, "loop")
        .await
        .expect_err("a loop cannot finish");
    assert_eq!(e.code(), "plugin_out_of_fuel", "{e}");
    assert!(e.fuel >= 49_000_000, "fuel used {}", e.fuel);
    assert_recovers(&runtime, &plugin).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let limits = PluginLimits {
        memory: ByteSize::mib(64),
        ..PluginLimits::default()
    };
    let (runtime, plugin) = hostile(limits);
    let e = call(&runtime, &plugin, "alloc")
        .await
        .expect_err("memory is capped");
    assert_eq!(e.code(), "plugin_memory_limit", "{e}");
    assert_recovers(&runtime, &plugin).await;
}

#[tokio::test]
async fn panics_overflows_and_plugin_errors_are_told_apart() {
    let (runtime, plugin) = hostile(PluginLimits::default());
    let e = call(&runtime, &plugin, "panic").await.expect_err("panics");
    assert_eq!(e.code(), "plugin_trap", "{e}");
    let e = call(&runtime, &plugin, "recurse")
        .await
        .expect_err("overflows");
    // Rust guests keep a shadow stack in linear memory: overflowing it shows up as an
    // out-of-bounds access rather than wasmtime's own stack-overflow trap. Either way a trap.
    assert_eq!(e.code(), "plugin_trap", "{e}");
    assert!(e.to_string().contains("hostile@0.1.0"), "{e}");
    let e = call(&runtime, &plugin, "error")
        .await
        .expect_err("returns its error");
    assert_eq!(e.code(), "plugin_error", "{e}");
    assert!(e.to_string().contains("hostile error"), "{e}");
    assert_recovers(&runtime, &plugin).await;
}

#[tokio::test]
async fn floods_hit_the_output_limits() {
    let (runtime, plugin) = hostile(PluginLimits::default());
    let e = call(&runtime, &plugin, "flood")
        .await
        .expect_err("too many items");
    assert!(
        matches!(e.code(), "plugin_output_limit" | "plugin_memory_limit"),
        "{e}"
    );
    let e = call(&runtime, &plugin, "follow-flood")
        .await
        .expect_err("too many URLs");
    assert!(
        matches!(e.code(), "plugin_output_limit" | "plugin_memory_limit"),
        "{e}"
    );
    // A plugin that keeps logging far past its cap is stopped …
    let e = call(&runtime, &plugin, "log-flood")
        .await
        .expect_err("a million lines");
    assert_eq!(e.code(), "plugin_resource_limit", "{e}");
    // … and so is one that asks for DOM nodes without end.
    let e = call(&runtime, &plugin, "nodes")
        .await
        .expect_err("node flood");
    assert_eq!(e.code(), "plugin_resource_limit", "{e}");
    assert_recovers(&runtime, &plugin).await;
}

#[tokio::test]
async fn garbage_is_not_a_plugin() {
    let runtime = Runtime::new(PluginLimits::default()).expect("runtime");
    let e = runtime
        .load(b"\0asm\x01\0\0\0")
        .err()
        .expect("a core module is not a component");
    assert!(e.to_string().contains("component"), "{e}");
    let e = runtime.load(b"not wasm at all").err().expect("garbage");
    assert!(
        e.to_string().contains("not a valid WebAssembly component"),
        "{e}"
    );
}

/// A plugin that queries the DOM gets HTML pages parsed before it starts; one that reads
/// only the body stops costing a parse after its first HTML page, and a page that is not
/// HTML teaches nothing. The items are the same either way.
#[tokio::test]
async fn html_is_parsed_first_only_for_plugins_that_query_the_dom() {
    let runtime = Runtime::new(PluginLimits::default()).expect("runtime");
    let plugin = runtime
        .load(trawl_host::bundled::components::CSS_EXTRACTOR)
        .expect("css-extractor loads");
    let listing = r#"{"type":"object","x-scope":"p","properties":{"text":{"type":"string"}}}"#;
    let no_fields = r#"{"type":"object"}"#;
    let extract = |page: Arc<PageData>, schema: &'static str| {
        let runtime = runtime.clone();
        let plugin = plugin.clone();
        async move {
            runtime
                .extract(&plugin, page, schema.into(), "{}".into(), None)
                .await
                .expect("css-extractor extracts")
        }
    };
    let json = Arc::new(PageData {
        url: "http://example.test/api".into(),
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"p": "not html"}"#.into(),
    });
    let hello = || {
        vec![trawl_host::runtime::ExtractedItem {
            value: serde_json::json!({"text": "hello"}),
            confidence: Some(1.0),
            fields: Vec::new(),
        }]
    };

    assert!(
        plugin.queries_dom(),
        "a new plugin is assumed to query the DOM"
    );
    assert_eq!(extract(page(), listing).await.items, hello());
    assert!(plugin.queries_dom());

    assert!(extract(page(), no_fields).await.items.is_empty());
    assert!(!plugin.queries_dom(), "it read no DOM on an HTML page");
    assert!(extract(json.clone(), listing).await.items.is_empty());
    assert!(!plugin.queries_dom(), "a JSON page teaches nothing");

    // Parsed on its first query again, with the same items.
    assert_eq!(extract(page(), listing).await.items, hello());
    assert!(plugin.queries_dom());
    assert!(extract(json, no_fields).await.items.is_empty());
    assert!(plugin.queries_dom(), "a JSON page teaches nothing");
}

/// A page of 1,000 nested divs around `paragraphs` paragraphs.
fn nested_page(paragraphs: usize) -> Arc<PageData> {
    Arc::new(PageData {
        url: "http://example.test/nested".into(),
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: format!(
            "<body>{}{}{}</body>",
            "<div>".repeat(1_000),
            "<p>lorem ipsum</p>".repeat(paragraphs),
            "</div>".repeat(1_000)
        ),
    })
}

/// A select over 100,000 scopes runs in the host, where epochs do not tick: the host
/// stops it at the call's deadline itself, so the call ends then (not minutes later)
/// and its slot is free for the next call at once. With one slot per owner and every
/// slot taken by such calls, an honest call right after them runs without waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_host_call_frees_its_slot() {
    // Long enough that the page (1,000 nested divs around 5,000 paragraphs) is parsed well
    // within it even on a busy machine; its 100,000 scopes take minutes.
    let timeout = Duration::from_millis(1500);
    let limits = PluginLimits {
        timeout,
        concurrency: 1,
        fuel: u64::MAX / 4,
        ..PluginLimits::default()
    };
    let (runtime, plugin) = hostile(limits);
    let slow = |runtime: Arc<Runtime>, plugin: Arc<LoadedPlugin>| async move {
        let started = Instant::now();
        let options = serde_json::json!({ "mode": "scopes" }).to_string();
        let result = runtime
            .extract(
                &plugin,
                nested_page(20_000),
                "{}".into(),
                options.into(),
                None,
            )
            .await;
        (started.elapsed(), result)
    };
    // Both slots of the host (one owner's share and the spare).
    let (a, b) = tokio::join!(
        slow(runtime.clone(), plugin.clone()),
        slow(runtime.clone(), plugin.clone())
    );
    for (took, result) in [a, b] {
        let e = result.expect_err("100,000 scopes cannot finish in time");
        assert_eq!(e.code(), "plugin_timeout", "{e}");
        assert!(
            took < timeout + Duration::from_millis(700),
            "the call ended {took:?} after it started"
        );
    }
    let started = Instant::now();
    assert_recovers(&runtime, &plugin).await;
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "the next call waited {:?} for a slot",
        started.elapsed()
    );
}
