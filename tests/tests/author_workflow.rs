//! The plugin author's workflow: `trawl plugin new` writes a crate whose own test passes
//! and which builds to a component that the host loads and runs.

use std::process::Command;
use std::sync::Arc;

use trawl_host::cli::{Kind, scaffold};
use trawl_host::config::PluginLimits;
use trawl_host::runtime::{PageData, Runtime};

#[tokio::test]
async fn a_new_extractor_tests_builds_and_runs() -> anyhow::Result<()> {
    let dir = trawl_tests::TempDir::new();
    let crate_dir = dir.0.join("headlines");
    scaffold::write(&crate_dir, "headlines", Kind::Extractor)?;
    assert!(
        scaffold::write(&crate_dir, "headlines", Kind::Extractor).is_err(),
        "never overwrites"
    );
    assert!(scaffold::write(&dir.0.join("x"), "Bad_Name", Kind::Extractor).is_err());

    // Share one target dir between runs of this test: the SDK compiles once.
    let target =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold-test");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["test", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .status()?;
    assert!(status.success(), "the new crate's own test fails");
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .status()?;
    assert!(
        status.success(),
        "the new crate does not build for wasm32-wasip2"
    );

    let bytes = std::fs::read(target.join("wasm32-wasip2/release/headlines.wasm"))?;
    let runtime = Runtime::new(PluginLimits::default())?;
    let plugin = runtime.load(&bytes)?;
    assert_eq!(plugin.manifest.name, "headlines");
    let html = std::fs::read_to_string(trawl_tests::fixtures().join("books/10.html"))?;
    let page = Arc::new(PageData {
        url: "http://books.toscrape.com/x/index.html".into(),
        status: 200,
        headers: vec![],
        body: html,
    });
    let out = runtime
        .extract(&plugin, page, "{}".into(), "{}".into(), None)
        .await?;
    let titles: Vec<&str> = out
        .items
        .iter()
        .filter_map(|i| i.value["title"].as_str())
        .collect();
    assert!(titles.contains(&"The Black Maria"), "{titles:?}");
    Ok(())
}
