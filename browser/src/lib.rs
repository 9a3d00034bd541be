//! Renders pages in headless Chromium over the DevTools protocol, with every request the
//! browser makes handed to the host.
//!
//! The browser never touches the network. Each page's requests are paused with the
//! DevTools Fetch domain, on the page and on every iframe and worker it attaches: the
//! main document is answered with the bytes the host already fetched, blocked kinds fail
//! at once, and everything else goes to the host's [`SubFetch`], which applies the
//! host's own address, robots and size rules. What the Fetch domain cannot see
//! (WebSockets, preconnects, Chromium's own traffic) meets a proxy on a loopback port
//! that refuses connections, with the implicit loopback bypass removed.
//!
//! ```no_run
//! # async fn example(fetch: std::sync::Arc<dyn trawl_browser::SubFetch>, document: trawl_browser::SubResponse) {
//! use std::time::Duration;
//! use trawl_browser::*;
//!
//! let pool = BrowserPool::new(BrowserConfig::default());
//! let rendered = pool
//!     .render(RenderRequest {
//!         url: "https://example.com/".into(),
//!         document,
//!         settings: RenderSettings { wait_for: Some(".item".into()), ..Default::default() },
//!         scope: ContextScope::Page,
//!         fetch,
//!         deadline: Duration::from_secs(30),
//!     })
//!     .await;
//! # }
//! ```
//!
//! # Layout
//! - [`BrowserPool`], [`Stats`] (`pool`): the shared browser, its context slots, restarts
//!   after crashes, hangs and the memory limit.
//! - [`BrowserConfig`] (`config`): the pool's settings and where Chromium is found.
//! - [`RenderRequest`], [`RenderSettings`], [`SubFetch`], [`Rendered`], … (`request`): what
//!   a render is asked and answers.
//! - [`RenderError`], [`Unavailable`] (`error`): failures and their stable codes.
//! - `render`: one render on a live browser: navigate, wait, scroll, read the DOM.
//! - `intercept`: the answers to the page's paused requests, and the idle bookkeeping.
//! - `process`: launching Chromium with the network backstop; the tree's RSS.
//! - `cdp`: the DevTools connection: commands, flat sessions, events routed per render.

mod cdp;
mod config;
mod error;
mod intercept;
mod pool;
mod process;
mod render;
mod request;

pub use config::BrowserConfig;
pub use error::{RenderError, Unavailable};
pub use pool::{BrowserPool, Stats};
pub use request::{
    ContextKey, ContextScope, RenderRequest, RenderSettings, Rendered, ResourceKind, SubFetch,
    SubRefusal, SubRequest, SubResponse, WaitOutcome,
};
