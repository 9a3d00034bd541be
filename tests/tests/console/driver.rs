//! Debian's headless Chromium driven through chromedriver (WebDriver), one browser per
//! test, with a screenshot of each screen written under the test's output folder.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a screen may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Browser {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
    shot: u32,
    _profile: trawl_tests::TempDir,
}

impl Browser {
    /// Start chromedriver and a headless Chromium at a laptop's 1280×800. Fails naming the
    /// packages when they are missing: the console's tests never pass without a browser.
    pub async fn start(test: &str) -> anyhow::Result<Self> {
        let driver_path =
            std::env::var("TRAWL_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
        let chromium = std::env::var("TRAWL_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
        for (path, package) in [(&driver_path, "chromium-driver"), (&chromium, "chromium")] {
            if !std::path::Path::new(path).exists() {
                bail!(
                    "{path} is missing: the console's browser tests need Debian's chromium and \
                     chromium-driver (apt-get install chromium chromium-driver); {package} provides it"
                );
            }
        }
        let port = free_port()?;
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {driver_path}"))?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{url}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("chromedriver did not answer on {url} in 20 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = trawl_tests::TempDir::new();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", format!("--user-data-dir={}", profile.0.display()),
                         "--no-first-run", "--disable-extensions"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .context("connecting to chromedriver")?;
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("console")
            .join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots)?;
        Ok(Self {
            client,
            driver,
            shots,
            shot: 0,
            _profile: profile,
        })
    }

    /// Write a screenshot of the screen as it is now, numbered in order.
    pub async fn shot(&mut self, name: &str) -> anyhow::Result<()> {
        self.shot += 1;
        let png = self.client.screenshot().await?;
        let path = self.shots.join(format!("{:02}-{name}.png", self.shot));
        std::fs::write(&path, png)?;
        Ok(())
    }

    /// The element `css` selects, once it is there.
    pub async fn wait(&self, css: &str) -> anyhow::Result<Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for {css}"))
    }

    /// Wait until `check` holds of the text of the element `css` selects.
    pub async fn wait_text(
        &self,
        css: &str,
        check: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = el.text().await
            {
                if check(&text) {
                    return Ok(text);
                }
                last = text;
            }
            if started.elapsed() > WAIT {
                bail!("{css} never showed what was waited for; last: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Type into the input `css` selects, replacing what it holds.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let input = self.wait(css).await?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.wait(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {css}"))?;
        Ok(())
    }

    /// Close the browser and stop chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        closed?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
