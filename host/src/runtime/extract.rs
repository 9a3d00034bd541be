//! The extract call: a page in, items (each read or refused on its own), follow URLs and
//! pagination links out, within the call's limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::off_thread;
use super::engine::Runtime;
use super::error::{CallError, CallErrorKind, HostTrap, classify};
use super::limits::CallLimits;
use super::load::{LoadedPlugin, Pre};
use super::log::LogLine;
use super::page::{PageData, PageResource};
use super::store::{PluginState, fuel_used};
use super::world::RawItem;
use crate::model::FieldMeta;
use crate::validate::ItemIssue;

/// Time past a call's deadline that finding its pagination links may take, for a plugin
/// that returned just in time.
const LINK_GRACE: Duration = Duration::from_secs(1);

/// One item the plugin returned, read.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedItem {
    /// The item, a JSON object.
    pub value: serde_json::Value,
    /// How sure the plugin is of it, in [0, 1], or none.
    pub confidence: Option<f32>,
    /// What the plugin said of its fields (0.2.0 plugins), by field name: only fields the
    /// item has, each once (the first entry wins), confidences clamped into [0, 1].
    pub fields: Vec<(String, FieldMeta)>,
}

/// The output of one `extract` call.
#[derive(Debug)]
pub struct ExtractOutput {
    /// Items as parsed JSON objects with their confidence and field metadata.
    pub items: Vec<ExtractedItem>,
    /// Items that could not be read (not JSON, not an object), by their index in what
    /// the plugin returned; `items` holds the others, in order.
    pub refused: Vec<ItemIssue>,
    /// URLs to follow.
    pub follow: Vec<String>,
    /// Absolute URLs of the links matching the request's link selector (host-side DOM).
    pub links: Vec<String>,
    /// Fuel burnt.
    pub fuel: u64,
    /// Lines logged.
    pub logs: Vec<LogLine>,
    /// Lines dropped over the cap.
    pub logs_dropped: u64,
    /// Wall-clock time of the call.
    pub elapsed: Duration,
}

impl ExtractOutput {
    /// The index in what the plugin returned of each of `items`.
    pub fn item_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        let mut refused = self.refused.iter().map(|r| r.index).peekable();
        let mut next = 0;
        self.items.iter().map(move |_| {
            while refused.next_if(|&r| r == next).is_some() {
                next += 1;
            }
            next += 1;
            next - 1
        })
    }
}

impl Runtime {
    /// Run an extractor on a page with the default limits.
    pub async fn extract(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        page: Arc<PageData>,
        schema: Arc<str>,
        options: Arc<str>,
        link_selector: Option<Arc<str>>,
    ) -> Result<ExtractOutput, CallError> {
        let limits = self.defaults.clone();
        self.extract_limited(plugin, page, schema, options, link_selector, limits)
            .await
    }

    /// Run an extractor on a page under the given limits, in a slot of the limits' owner.
    pub async fn extract_limited(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        page: Arc<PageData>,
        schema: Arc<str>,
        options: Arc<str>,
        link_selector: Option<Arc<str>>,
        limits: CallLimits,
    ) -> Result<ExtractOutput, CallError> {
        let label = plugin.label();
        let timeout = limits.timeout;
        let owner = limits.owner;
        let this = self.clone();
        let plugin = plugin.clone();
        off_thread(&label, Some((&self.slots, owner)), timeout, move || {
            this.extract_blocking(
                &plugin,
                page,
                &schema,
                &options,
                link_selector.as_deref(),
                &limits,
            )
        })
        .await
    }

    /// Run an extractor on this thread, which must be one where blocking is allowed (a
    /// `spawn_blocking` closure, a thread of the caller's own pool, a plain thread), never a
    /// tokio worker. It takes no permit: the caller bounds how many calls run at once. The
    /// epoch deadline and fuel stop the wasm as in [`Runtime::extract_limited`]; what that
    /// adds is the permit, the hop to a blocking thread and back, and an outer timeout over
    /// time spent inside host calls.
    pub fn extract_blocking(
        &self,
        plugin: &LoadedPlugin,
        page: Arc<PageData>,
        schema: &str,
        options: &str,
        link_selector: Option<&str>,
        limits: &CallLimits,
    ) -> Result<ExtractOutput, CallError> {
        let started = Instant::now();
        let result = self.extract_call(plugin, page, schema, options, link_selector, limits);
        // Failed calls too: a plugin that times out is the latency an operator looks for.
        crate::telemetry::extract_seconds(started.elapsed());
        result
    }

    fn extract_call(
        &self,
        plugin: &LoadedPlugin,
        page: Arc<PageData>,
        schema: &str,
        options: &str,
        link_selector: Option<&str>,
        limits: &CallLimits,
    ) -> Result<ExtractOutput, CallError> {
        let label = plugin.label();
        let Pre::Extractor(pre) = &plugin.pre else {
            return Err(CallError::new(
                &label,
                CallErrorKind::WrongKind("an exporter cannot extract"),
            ));
        };
        let started = Instant::now();
        // The call's time counts from here: the host's work for the plugin (the parse, its
        // queries, the links it finds for pagination) is part of the call.
        let clock = self.clock(limits, limits.owner);
        // An HTML page is parsed before a plugin that queries the DOM starts (see
        // `PageResource::parse_ahead`).
        let is_html = page.is_html();
        let mut resource = PageResource::new(page, limits.dom.clone());
        if is_html && plugin.queries_dom() {
            resource.parse_ahead(&clock);
        }
        let mut store = self.new_store(limits, clock);
        let mut page_rep = None;
        let result = (|| {
            let instance = pre.instantiate(&mut store)?;
            let page = store.data_mut().table.push(resource)?;
            page_rep = Some(page.rep());
            instance.extract(&mut store, page, schema, options)
        })();
        let fuel = fuel_used(limits, &store);
        if is_html && let Some(rep) = page_rep {
            let page = wasmtime::component::Resource::<PageResource>::new_own(rep);
            if let Ok(page) = store.data().table.get(&page) {
                plugin.set_queries_dom(page.queried());
            }
        }
        let extraction = match result {
            Err(trap) => return Err(classify(trap, &store, &label).with_fuel(fuel)),
            Ok(Err(plugin_error)) => {
                return Err(
                    CallError::new(&label, CallErrorKind::Plugin(plugin_error)).with_fuel(fuel)
                );
            }
            Ok(Ok(extraction)) => extraction,
        };
        let fail = |what: String| {
            Err(CallError::new(&label, CallErrorKind::OutputLimit(what)).with_fuel(fuel))
        };
        if extraction.items.len() > limits.max_items {
            return fail(format!(
                "{} items (limit {})",
                extraction.items.len(),
                limits.max_items
            ));
        }
        if extraction.follow.len() > limits.max_follow {
            return fail(format!(
                "{} follow URLs (limit {})",
                extraction.follow.len(),
                limits.max_follow
            ));
        }
        // Field metadata counts as output too: a plugin could send megabytes of detail.
        let bytes: usize = extraction
            .items
            .iter()
            .map(|i| {
                i.json.len()
                    + i.fields
                        .iter()
                        .map(|(name, f)| name.len() + f.detail.as_ref().map_or(0, String::len) + 16)
                        .sum::<usize>()
            })
            .sum();
        if bytes as u64 > limits.max_output {
            return fail(format!(
                "{bytes} bytes of items (limit {})",
                limits.max_output
            ));
        }
        // Each item stands alone: one that is not a JSON object is refused, with its
        // index and why, and the others go on.
        let mut items = Vec::with_capacity(extraction.items.len());
        let mut refused = Vec::new();
        for (index, item) in extraction.items.into_iter().enumerate() {
            match read_item(index, item) {
                Ok(item) => items.push(item),
                Err(issue) => refused.push(issue),
            }
        }
        // Pagination links come from the same DOM the plugin used: the page is parsed once.
        // The call's deadline bounds it too, with a moment's grace for a plugin that
        // finished just in time.
        let links = match (link_selector, page_rep) {
            (Some(selector), Some(rep)) => {
                let page = store
                    .data_mut()
                    .table
                    .delete(wasmtime::component::Resource::<PageResource>::new_own(rep));
                let deadline = store.data().clock.deadline().max(Instant::now()) + LINK_GRACE;
                match page {
                    Ok(mut page) => page
                        .select_urls(selector, &trawl_dom::Deadline::at(deadline))
                        .map_err(|e| {
                            classify(HostTrap::from_dom(e), &store, &label).with_fuel(fuel)
                        })?,
                    Err(_) => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        // Drop the DOM and the WASI context before taking the time: they are part of the call.
        let PluginState { logs, .. } = store.into_data();
        Ok(ExtractOutput {
            items,
            refused,
            follow: extraction.follow,
            links,
            fuel,
            logs: logs.lines,
            logs_dropped: logs.dropped,
            elapsed: started.elapsed(),
        })
    }
}

/// One item the plugin returned, read: refused (with its index and why) when it is not a
/// JSON object. Field metadata is kept for the item's own top-level fields only, each once.
fn read_item(index: usize, item: RawItem) -> Result<ExtractedItem, ItemIssue> {
    let value = match serde_json::from_str::<serde_json::Value>(&item.json) {
        Ok(value) if value.is_object() => value,
        Ok(_) => {
            return Err(ItemIssue::new(
                index,
                ItemIssue::NOT_AN_OBJECT,
                "the item is JSON but not an object",
            ));
        }
        Err(e) => {
            return Err(ItemIssue::new(
                index,
                ItemIssue::NOT_JSON,
                format!("the item is not JSON: {e}"),
            ));
        }
    };
    let mut fields: Vec<(String, FieldMeta)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (name, mut meta) in item.fields {
        if !value.as_object().is_some_and(|o| o.contains_key(&name)) || !seen.insert(name.clone()) {
            continue;
        }
        meta.confidence = probability(meta.confidence);
        fields.push((name, meta));
    }
    Ok(ExtractedItem {
        value,
        confidence: probability(item.confidence),
        fields,
    })
}

/// A confidence is a probability: NaN says nothing (none), anything else is clamped into
/// [0, 1] (infinities too), as the SDK's `with_confidence` does.
fn probability(confidence: Option<f32>) -> Option<f32> {
    confidence
        .filter(|c| !c.is_nan())
        .map(|c| c.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field metadata is kept for fields the item has, once each (the first wins), with
    /// confidences made probabilities; an item that is not an object is refused.
    #[test]
    fn field_metadata_is_kept_for_the_items_own_fields_once() {
        use crate::model::FieldOrigin;
        let meta = |confidence: f32, detail: &str| FieldMeta {
            confidence: Some(confidence),
            origin: FieldOrigin::StructuredData,
            detail: Some(detail.into()),
        };
        let item = RawItem {
            json: r#"{"price": 9.5, "sku": "A1"}"#.into(),
            confidence: Some(f32::NAN),
            fields: vec![
                ("price".into(), meta(2.0, "first")),
                ("price".into(), meta(0.1, "second")),
                ("colour".into(), meta(0.5, "not in the item")),
                ("sku".into(), meta(f32::NAN, "unknown")),
            ],
        };
        let read = read_item(0, item).expect("an object");
        assert_eq!(read.confidence, None);
        assert_eq!(
            read.fields,
            [
                (
                    "price".to_string(),
                    FieldMeta {
                        confidence: Some(1.0),
                        ..meta(0.0, "first")
                    }
                ),
                (
                    "sku".to_string(),
                    FieldMeta {
                        confidence: None,
                        ..meta(0.0, "unknown")
                    }
                ),
            ]
        );
        let refused = read_item(
            3,
            RawItem {
                json: "[1]".into(),
                confidence: None,
                fields: Vec::new(),
            },
        )
        .expect_err("not an object");
        assert_eq!(refused.index, 3);
    }

    /// Refused items leave gaps: each kept item knows its place in the plugin's list.
    #[test]
    fn kept_items_know_their_index() {
        let output = |refused: &[usize], kept: usize| ExtractOutput {
            items: (0..kept)
                .map(|_| ExtractedItem {
                    value: serde_json::json!({}),
                    confidence: None,
                    fields: Vec::new(),
                })
                .collect(),
            refused: refused
                .iter()
                .map(|&i| ItemIssue::new(i, ItemIssue::NOT_JSON, "x"))
                .collect(),
            follow: Vec::new(),
            links: Vec::new(),
            fuel: 0,
            logs: Vec::new(),
            logs_dropped: 0,
            elapsed: Duration::ZERO,
        };
        let indexes = |o: ExtractOutput| o.item_indexes().collect::<Vec<_>>();
        assert_eq!(indexes(output(&[], 3)), [0, 1, 2]);
        assert_eq!(indexes(output(&[0, 2], 3)), [1, 3, 4]);
        assert_eq!(indexes(output(&[3, 4], 3)), [0, 1, 2]);
        assert_eq!(indexes(output(&[1, 2, 3], 2)), [0, 4]);
    }
}
