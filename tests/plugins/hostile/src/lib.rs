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
//! | `outer-html` | every `div` as a scope, the outer HTML of each read at once | the host's answer budget |
//! | `scopes` | `select("span")` in 100,000 scopes (the page's divs, repeated) | the call's deadline, in the host |
//! | `wide-read` | 2,000 fields on 100,000 nodes in one `read` | a host bound, before anything is built |
//! | `confidence` | items with confidences NaN, ∞, −1, 2, 0.5 and −∞, past the SDK | NaN stored as none, the rest clamped to [0, 1] |
//! | `nul` | an item and a log line holding U+0000, in values and keys | stored, with U+FFFD |
//! | `nul-error` | `PluginError::Other` with a U+0000 in its message | a plugin error, stored |
//! | `not-json` | items that are not JSON, not objects, and one good one | the good one stored, the others refused |
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

/// Every `div` as a scope and the outer HTML of each: on a page of nested divs the total
/// grows with the square of the depth.
fn outer_html(page: &Page) -> Result<Extraction, PluginError> {
    let divs = page.select("div")?;
    let table = page.read(&divs, &[Field::outer_html()])?;
    let bytes: usize = (0..table.len())
        .filter_map(|row| table.first(row, 0))
        .map(str::len)
        .sum();
    Ok(Extraction::new().with_item(Item::from(serde_json::json!({ "bytes": bytes }))))
}

/// 100,000 scopes (the page's divs, over and over), each searched for spans: on a page
/// of nested divs each scope holds most of the page.
fn scopes(page: &Page) -> Result<Extraction, PluginError> {
    let all = page.select("div")?;
    if all.is_empty() {
        return Ok(ok());
    }
    let scopes: Vec<Node> = all.iter().copied().cycle().take(100_000).collect();
    let found = page.select_in(&scopes, "span")?;
    Ok(Extraction::new().with_item(Item::from(serde_json::json!({ "scopes": found.len() }))))
}

/// One read of 2,000 fields on 100,000 nodes: 200 million cells.
fn wide_read(page: &Page) -> Result<Extraction, PluginError> {
    let nodes = vec![Node::DOCUMENT; 100_000];
    let fields: Vec<Field> = (0..2_000)
        .map(|i| Field::text().selector(format!("p.c{i}")))
        .collect();
    let table = page.read(&nodes, &fields)?;
    Ok(Extraction::new().with_item(Item::from(serde_json::json!({ "rows": table.len() }))))
}

/// Set past the SDK's `with_confidence`, which would clamp them: the host must not trust
/// a plugin to.
fn confidences() -> Extraction {
    [f32::NAN, f32::INFINITY, -1.0, 2.0, 0.5, f32::NEG_INFINITY]
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut item = Item::from(serde_json::json!({ "i": i }));
            item.confidence = Some(c);
            item
        })
        .collect()
}

fn nul() -> Extraction {
    log::warn!("a line with a \u{0} in it");
    Extraction::new().with_item(Item::from_json(
        r#"{"name": "a\u0000b", "k\u0000ey": ["\u0000"]}"#,
    ))
}

fn not_json() -> Extraction {
    ["{not json", "[1, 2]", "\"text\"", r#"{"ok": true}"#]
        .into_iter()
        .map(Item::from_json)
        .collect()
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
            "outer-html" => outer_html(page),
            "scopes" => scopes(page),
            "wide-read" => wide_read(page),
            "confidence" => Ok(confidences()),
            "nul" => Ok(nul()),
            "nul-error" => Err(PluginError::other("hostile \u{0} error")),
            "not-json" => Ok(not_json()),
            other => Err(PluginError::invalid_input(format!(
                "unknown mode {other:?}"
            ))),
        }
    }
}

register_extractor!(Hostile);
