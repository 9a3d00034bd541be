//! A hostile extractor for the host's runtime tests: each mode breaks one rule, so the
//! tests can check that every limit trips cleanly and that the host survives.
//!
//! The mode is the `mode` option (`{"mode": "loop"}`); without one it behaves (`ok`).
//!
//! | mode | what it does | what the host should report |
//! |---|---|---|
//! | `ok` | one item `{"ok":true}`, confidence 1 | success |
//! | `loop` | spins forever | epoch deadline or fuel (a trap) |
//! | `alloc` | keeps 1 MiB blocks, each filled, forever | memory limit (a trap) |
//! | `recurse` | unbounded recursion | stack overflow (a trap) |
//! | `panic` | `panic!("hostile panic")` | a trap |
//! | `error` | `PluginError::Other("hostile error")` | a plugin error |
//! | `flood` | 5,000,000 items `{"i":N}` | an item or size limit |
//! | `big-string` | one item holding a 256 MiB string | memory or size limit |
//! | `log-flood` | 1,000,000 log lines, then `ok` | the per-run log cap |
//! | `follow-flood` | 1,000,000 follow URLs | a follow limit |
//! | `nodes` | `select("*")` on the document 1,000,000 times | node limit / hostcall fuel |
//! | `log` | `lines` log lines (default 150), then `ok` | lines kept up to the cap, the rest counted |
//! | `read-file` | reads `/etc/passwd`; returns it as an item if it could | a plugin error: no filesystem |
//! | `read-env` | reads the environment; returns it as an item if not empty | a plugin error: no environment |
//! | `socket` | connects to 127.0.0.1:5432; returns an item if it could | a plugin error: no network |
//! | `clock` | waits for the wall clock to pass one hour | time or fuel limit (a trap) |
//!
//! In `nodes` mode a failing `select` ends the call with `PluginError::Other` carrying the
//! query error (`too many nodes: …`); if no limit stops it, the mode returns `ok`'s item.

use std::hint::black_box;

use trawl_sdk::prelude::*;

/// The hostile extractor.
pub struct Hostile;

fn ok() -> Extraction {
    Extraction::new().with_item(Item::from_json(r#"{"ok":true}"#).with_confidence(1.0))
}

/// Spins until the host stops it. `black_box` keeps the loop from being proven empty.
fn spin() -> ! {
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Keeps 1 MiB blocks filled with a non-zero byte (so every page is touched) until the
/// memory limit stops it.
fn hoard() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        blocks.push(black_box(vec![0xA5u8; 1 << 20]));
        black_box(&blocks);
    }
}

/// Recursion with a frame that cannot be elided and work after the call, so it is neither
/// a tail call nor a loop: it runs until the stack overflows.
#[inline(never)]
fn dive(depth: u64) -> u64 {
    // An exit the optimiser cannot see through, never taken.
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let mut frame = [0u8; 256];
    frame[(depth % 256) as usize] = depth as u8;
    let below = dive(black_box(depth + 1));
    black_box(&frame);
    below.wrapping_add(u64::from(frame[0]))
}

fn flood() -> Extraction {
    (0..5_000_000u32)
        .map(|i| Item::from_json(format!(r#"{{"i":{i}}}"#)))
        .collect()
}

fn big_string() -> Extraction {
    const LEN: usize = 256 << 20;
    let mut json = String::with_capacity(LEN + 8);
    json.push_str(r#"{"s":""#);
    json.extend(std::iter::repeat_n('a', LEN));
    json.push_str(r#""}"#);
    Extraction::new().with_item(Item::from_json(json))
}

fn log_flood() -> Extraction {
    for i in 0..1_000_000u32 {
        log::info!("hostile log line {i}");
    }
    ok()
}

fn some_logs(lines: u64) -> Extraction {
    for i in 0..lines {
        log::warn!("hostile log line {i}");
    }
    ok()
}

fn read_file() -> Result<Extraction, PluginError> {
    match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => {
            Ok(Extraction::default().with_item(Item::from(serde_json::json!({ "leaked": text }))))
        }
        Err(e) => Err(PluginError::other(format!("denied: reading a file: {e}"))),
    }
}

fn read_env() -> Result<Extraction, PluginError> {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    if vars.is_empty() {
        return Err(PluginError::other("denied: the environment is empty"));
    }
    Ok(Extraction::default().with_item(Item::from(
        serde_json::json!({ "leaked": format!("{vars:?}") }),
    )))
}

fn socket() -> Result<Extraction, PluginError> {
    match std::net::TcpStream::connect("127.0.0.1:5432") {
        Ok(_) => Ok(Extraction::default()
            .with_item(Item::from(serde_json::json!({ "leaked": "connected" })))),
        Err(e) => Err(PluginError::other(format!("denied: opening a socket: {e}"))),
    }
}

fn clock() -> ! {
    let start = std::time::Instant::now();
    loop {
        if black_box(start.elapsed()) > std::time::Duration::from_secs(3600) {
            panic!("an hour passed");
        }
    }
}

fn follow_flood() -> Extraction {
    ok().with_follow((0..1_000_000u32).map(|i| format!("https://example.com/hostile/{i}")))
}

fn nodes(page: &Page) -> Result<Extraction, PluginError> {
    let mut total: usize = 0;
    for _ in 0..1_000_000u32 {
        let found = page
            .select("*")
            .map_err(|e| PluginError::other(format!("select failed after {total} nodes: {e}")))?;
        total = total.wrapping_add(black_box(found).len());
    }
    Ok(ok())
}

impl Extractor for Hostile {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "hostile",
            env!("CARGO_PKG_VERSION"),
            "Misbehaves on purpose, for the host's runtime tests",
        )
    }

    fn extract(
        page: &Page,
        _schema: &Schema,
        options: &Options,
    ) -> Result<Extraction, PluginError> {
        match options.get_str("mode")?.unwrap_or("ok") {
            "ok" => Ok(ok()),
            "loop" => spin(),
            "alloc" => hoard(),
            "recurse" => {
                let _ = black_box(dive(black_box(0)));
                Ok(ok())
            }
            "panic" => panic!("hostile panic"),
            "error" => Err(PluginError::other("hostile error")),
            "flood" => Ok(flood()),
            "big-string" => Ok(big_string()),
            "log-flood" => Ok(log_flood()),
            "follow-flood" => Ok(follow_flood()),
            "nodes" => nodes(page),
            "log" => Ok(some_logs(
                options
                    .get("lines")?
                    .and_then(|v| v.as_u64())
                    .unwrap_or(150),
            )),
            "read-file" => read_file(),
            "read-env" => read_env(),
            "socket" => socket(),
            "clock" => clock(),
            other => Err(PluginError::invalid_input(format!(
                "unknown mode {other:?}"
            ))),
        }
    }
}

register_extractor!(Hostile);
