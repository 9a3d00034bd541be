//! Carrying out one export: results stream from the database in keyset batches, through
//! the exporter plugin, into a file in storage. A reader task fetches and shapes the next
//! batch while the plugin writes this one; a bounded channel between them is the
//! back-pressure, so memory stays flat however many rows there are.
//!
//! [`plan`] is also what the API calls when an export is created: the options, the
//! projection and the exporter's own `open` are checked there, before anything is queued.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::db::{
    self,
    exports::ExportRow,
    results::{ExportItem, ExportScope},
};
use crate::ids::UserId;
use crate::model::export::{ExportFilters, ExtraColumn, HostOptions, Projection};
use crate::model::pricing::ChargeItem;
use crate::runtime::{CallError, CallErrorKind, ExportSession, LoadedPlugin};
use crate::state::AppState;
use crate::storage::{FileInfo, Upload};
use crate::validate::PropertyOrder;

/// Rows per database read and per exporter `write` call.
const BATCH: i64 = 1000;

/// Batches read ahead of the exporter.
const READ_AHEAD: usize = 2;

/// How often a running export records its progress (and renews its lease).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A failed export: its stable code and what to tell its owner.
pub type Failure = (&'static str, String);

/// Why an export cannot be made as asked, found before it is queued.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The host's options (`fields`, `omit`, `include`, `gzip`) or the filters are wrong.
    #[error("{0}")]
    Options(String),
    /// The exporter refused its options (its own message).
    #[error("{0}")]
    PluginOptions(String),
    /// The exporter could not be started at all.
    #[error(transparent)]
    Plugin(CallError),
}

/// What one export writes and how: worked out once, from the export's schema and options.
pub struct Plan {
    pub plugin: Arc<LoadedPlugin>,
    host: HostOptions,
    projection: Projection,
    /// The options the exporter sees (the host's taken out), as JSON text.
    plugin_options: String,
    /// Item keys never written: those omitted, and those an extra column is named after
    /// (the extra column gives way to nothing).
    except: Vec<String>,
    /// The schema's key order, for rows exported whole.
    order: PropertyOrder,
    /// The file's media type and extension (`.gz` added when gzipped).
    pub media_type: String,
    pub extension: String,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("extension", &self.extension)
            .finish_non_exhaustive()
    }
}

/// Whether a media type is text, which gzip shrinks and the formats that compress
/// themselves (XLSX, Parquet) are not.
fn is_text(media_type: &str) -> bool {
    let m = media_type.to_ascii_lowercase();
    m.starts_with("text/")
        || m == "application/json"
        || m == "application/x-ndjson"
        || m == "application/jsonl"
        || m == "application/xml"
        || m.ends_with("+json")
        || m.ends_with("+xml")
}

/// Work out an export of `schema` (the item JSON Schema) with `options` through `plugin`,
/// and open the exporter once with what it would be given, so that options it refuses are
/// refused now. Returns the plan and the opened session.
pub async fn plan(
    state: &AppState,
    owner: UserId,
    plugin: Arc<LoadedPlugin>,
    schema: &str,
    options: &Value,
) -> Result<(Plan, ExportSession), PlanError> {
    let Value::Object(options) = options else {
        return Err(PlanError::Options("options must be a JSON object".into()));
    };
    let mut plugin_options = options.clone();
    let host = HostOptions::take(&mut plugin_options).map_err(PlanError::Options)?;
    let schema: Value = serde_json::from_str(schema)
        .map_err(|e| PlanError::Options(format!("the job's schema is not JSON: {e}")))?;
    let projection = host.project(&schema).map_err(PlanError::Options)?;
    let except = projection
        .omit
        .iter()
        .cloned()
        .chain(projection.include.iter().map(|e| e.column().to_owned()))
        .collect();
    let media_type = plugin
        .manifest
        .media_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut extension = plugin
        .manifest
        .extension
        .clone()
        .unwrap_or_else(|| "out".into());
    if host.gzip {
        if !is_text(&media_type) {
            return Err(PlanError::Options(format!(
                "option `gzip` is for text formats; {} ({media_type}) is not one",
                plugin.manifest.name
            )));
        }
        extension.push_str(".gz");
    }
    let plugin_options = Value::Object(plugin_options).to_string();
    let session = state
        .runtime
        .open_exporter(
            &plugin,
            projection.schema.to_string(),
            plugin_options.clone(),
            Some(owner),
        )
        .await
        .map_err(|e| match &e.kind {
            CallErrorKind::Plugin(p) => {
                PlanError::PluginOptions(format!("{}: {}", e.plugin, p.message))
            }
            _ => PlanError::Plugin(e),
        })?;
    let media_type = if host.gzip {
        "application/gzip".to_owned()
    } else {
        media_type
    };
    Ok((
        Plan {
            plugin,
            order: PropertyOrder::of(&schema),
            host,
            projection,
            plugin_options,
            except,
            media_type,
            extension,
        },
        session,
    ))
}

impl Plan {
    /// One result as the row the exporter gets: compact JSON, its keys in the schema's
    /// order (jsonb keeps an order of its own), the selected columns only, the extra
    /// columns last. Worked on the stored text, never parsed into values: a million
    /// rows are split and copied, not rebuilt.
    fn row(&self, item: ExportItem) -> Result<String, Failure> {
        let mut out = String::with_capacity(item.data.len() + 64);
        let shaped = match &self.projection.columns {
            None if self.projection.include.is_empty() => {
                self.order
                    .write_ordered_except(&item.data, &mut out, &self.projection.omit)
            }
            columns => self.select(&item, columns.as_deref(), &mut out),
        };
        match shaped {
            Ok(()) => Ok(out),
            // jsonb text is always JSON; if it were not, the row could not be shaped, and
            // exporting it whole would show what the export leaves out.
            Err(e) if !self.projection.is_identity() => Err((
                "internal_error",
                format!("a stored result could not be shaped: {e}"),
            )),
            Err(_) => Ok(item.data),
        }
    }

    /// Write the chosen columns (or all, in order) and the extra ones, as one object.
    fn select(
        &self,
        item: &ExportItem,
        columns: Option<&[String]>,
        out: &mut String,
    ) -> Result<(), serde_json::Error> {
        let except = &self.except;
        match columns {
            None => {
                self.order.write_ordered_except(&item.data, out, except)?;
                if !out.ends_with('}') {
                    return Err(serde::de::Error::custom("not an object"));
                }
                out.pop();
            }
            Some(columns) => {
                let members = crate::validate::json_members(&item.data)?;
                let find = crate::validate::MemberIndex::new(&members);
                out.push('{');
                for column in columns.iter().filter(|c| !except.contains(c)) {
                    if let Some((_, raw)) = find.get(&members, column).map(|i| &members[i]) {
                        if out.len() > 1 {
                            out.push(',');
                        }
                        crate::validate::write_key(column, out);
                        match self.order.of_property(column) {
                            Some(order) => order.write_ordered(raw.get(), out)?,
                            None => crate::validate::compact_json(raw.get(), out),
                        }
                    }
                }
            }
        }
        for extra in &self.projection.include {
            let value = match extra {
                ExtraColumn::SourceUrl => Value::String(item.source_url.clone()),
                // Through its shortest text, as the API shows it: 0.6666667, not the
                // 0.6666666865348816 its f64 widening would print.
                ExtraColumn::Confidence => item
                    .confidence
                    .and_then(|c| c.to_string().parse::<f64>().ok())
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number),
                ExtraColumn::ValidationErrors => item
                    .validation_errors
                    .as_deref()
                    .and_then(|e| serde_json::from_str(e).ok())
                    .unwrap_or(Value::Null),
                ExtraColumn::Fields => item
                    .field_meta
                    .as_deref()
                    .and_then(|e| serde_json::from_str(e).ok())
                    .unwrap_or(Value::Null),
            };
            if out.len() > 1 {
                out.push(',');
            }
            crate::validate::write_key(extra.column(), out);
            out.push_str(&value.to_string());
        }
        out.push('}');
        Ok(())
    }
}

/// Write a claimed export and record how it ended.
pub async fn execute(state: &AppState, export: ExportRow) {
    let id = export.id;
    if let Err((code, message)) = write(state, &export).await
        && let Err(e) = db::exports::fail(&state.pool, id, export.lease_token, code, &message).await
    {
        tracing::error!(export = %id, "recording a failed export: {e}");
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    tracing::error!("export failed: {e}");
    ("internal_error", "the export could not be written".into())
}

fn plugin_failure(e: CallError) -> Failure {
    (e.code(), e.to_string())
}

/// The file's name: the job's name, the run (or `all-runs`), the date; safe in any file
/// system and header, the job's own letters kept.
pub fn file_name(job: &str, run: Option<crate::ids::RunId>, extension: &str) -> String {
    let mut stem = String::new();
    for c in job.chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            stem.push(c);
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
        if stem.chars().count() >= 80 {
            break;
        }
    }
    let stem = stem.trim_matches(['-', '.']);
    let stem = if stem.is_empty() { "export" } else { stem };
    let which = match run {
        Some(run) => format!("run-{}", &run.to_string()[..8]),
        None => "all-runs".to_owned(),
    };
    let date = chrono::Utc::now().format("%Y-%m-%d");
    format!("{stem}-{which}-{date}.{extension}")
}

/// Reads an export's results batch after batch and shapes them into rows, ahead of the
/// exporter; stops when the receiver goes.
async fn read_ahead(
    pool: sqlx::PgPool,
    scope: ExportScope,
    filters: ExportFilters,
    plan: Arc<Plan>,
    rows: mpsc::Sender<Result<Vec<String>, Failure>>,
) {
    let mut after = None;
    loop {
        let batch = match db::results::export_batch(&pool, scope, &filters, after, BATCH).await {
            Ok(batch) => batch,
            Err(e) => {
                let _ = rows.send(Err(internal(e))).await;
                return;
            }
        };
        let Some(last) = batch.last() else { return };
        after = Some(last.id);
        let shaped: Result<Vec<String>, Failure> =
            batch.into_iter().map(|item| plan.row(item)).collect();
        let stop = shaped.is_err();
        if rows.send(shaped).await.is_err() || stop {
            return;
        }
    }
}

/// gzip as the bytes go, or not.
enum Encoder {
    Plain,
    Gzip(Box<flate2::write::GzEncoder<Vec<u8>>>),
}

impl Encoder {
    fn encode(&mut self, bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Plain => Ok(bytes),
            Self::Gzip(gz) => {
                gz.write_all(&bytes)?;
                Ok(std::mem::take(gz.get_mut()))
            }
        }
    }

    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Plain => Ok(Vec::new()),
            Self::Gzip(gz) => gz.finish(),
        }
    }
}

async fn write(state: &AppState, export: &ExportRow) -> Result<(), Failure> {
    let pool = &state.pool;
    let job = db::jobs::get_any(pool, export.job_id)
        .await
        .map_err(internal)?
        .ok_or(("job_missing", "the job was deleted".to_owned()))?;
    let schema = db::schemas::get(pool, export.owner_id, job.schema_id)
        .await
        .map_err(internal)?
        .ok_or(("schema_missing", "the schema was deleted".to_owned()))?;
    let plugin = state
        .plugin(export.plugin_id)
        .await
        .map_err(|e| ("plugin_unavailable", e.to_string()))?;
    let (plan, session) = plan(
        state,
        export.owner_id,
        plugin,
        &schema.json_schema,
        &export.options,
    )
    .await
    .map_err(|e| match e {
        PlanError::Options(m) | PlanError::PluginOptions(m) => ("invalid_export_options", m),
        PlanError::Plugin(e) => plugin_failure(e),
    })?;
    let plan = Arc::new(plan);
    let name = file_name(&job.name, export.run_id, &plan.extension);
    tracing::debug!(export = %export.id, options = %plan.plugin_options, "export planned");

    let key = state.storage.key_for(export.id, &plan.extension);
    let disposition = crate::storage::disposition(&name);
    let info = FileInfo {
        media_type: &plan.media_type,
        disposition: &disposition,
    };
    let backend = state.storage.backend();
    if !db::exports::writing(
        &state.pool,
        export.id,
        export.lease_token,
        &key,
        backend.as_str(),
    )
    .await
    .map_err(internal)?
    {
        return Ok(()); // taken over after our lease lapsed, or deleted
    }
    let mut upload = state.storage.upload(&key, info).await.map_err(internal)?;
    // Until the export is recorded, however long its queries, plugin and upload take.
    let progress = Arc::new(Progress::default());
    let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
        state.pool.clone(),
        export.id,
        export.lease_token,
        state.config.lease,
        progress.clone(),
    )));
    let counts = match stream(state, export, plan.clone(), session, &mut upload, &progress).await {
        Ok(Some(counts)) => counts,
        Ok(None) => {
            upload.abort().await;
            return Ok(()); // taken over after our lease lapsed, or deleted
        }
        Err(failure) => {
            upload.abort().await;
            return Err(failure);
        }
    };
    upload.finish().await.map_err(internal)?;
    // The file is in place under a key of this attempt's own; it counts once the success
    // is recorded, and goes if that does not happen.
    let written = db::exports::Written {
        rows: counts.rows,
        bytes: counts.bytes,
        storage_key: &key,
        storage_backend: backend.as_str(),
        media_type: &plan.media_type,
        extension: &plan.extension,
        file_name: &name,
        credits: 0,
    };
    let recorded = record(state, export, written).await;
    if !matches!(recorded, Ok(true))
        && let Err(e) = state.storage.delete(backend, &key).await
    {
        tracing::warn!(export = %export.id, "removing an unrecorded file: {e}");
    }
    recorded.map(|_| ())
}

/// What a finished stream wrote.
struct Counts {
    rows: i64,
    bytes: i64,
}

/// Stream the export's rows through the exporter into `upload`. `None` when the claim
/// was lost on the way (another worker took over, or the export was deleted).
async fn stream(
    state: &AppState,
    export: &ExportRow,
    plan: Arc<Plan>,
    mut session: ExportSession,
    upload: &mut Upload,
    progress: &Progress,
) -> Result<Option<Counts>, Failure> {
    let pool = &state.pool;
    let max_size = state.config.export_max_size.as_u64();
    let too_large = || {
        (
            "export_too_large",
            format!(
                "the export would be larger than {} (TRAWL_EXPORT_MAX_SIZE)",
                state.config.export_max_size
            ),
        )
    };
    let mut encoder = if plan.host.gzip {
        Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        )))
    } else {
        Encoder::Plain
    };

    let scope = match export.run_id {
        Some(run) => ExportScope::Run(run),
        None => ExportScope::Job(export.job_id),
    };
    let filters: ExportFilters = serde_json::from_value(export.filters.clone())
        .map_err(|e| ("invalid_filters", format!("the export's filters: {e}")))?;
    let (tx, mut batches) = mpsc::channel(READ_AHEAD);
    let reader = tokio::spawn(read_ahead(pool.clone(), scope, filters, plan, tx));
    let _stop_reader = AbortOnDrop(reader);

    let (mut rows, mut bytes) = (0i64, 0i64);
    let mut last_check = Instant::now();
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        rows += batch.len() as i64;
        let out = session.write(batch).await.map_err(plugin_failure)?;
        let out = encoder.encode(out).map_err(internal)?;
        if (bytes as u64).saturating_add(out.len() as u64) > max_size {
            return Err(too_large());
        }
        bytes += out.len() as i64;
        upload.write(out).await.map_err(internal)?;
        progress.rows.store(rows, Ordering::Relaxed);
        progress.bytes.store(bytes, Ordering::Relaxed);
        if progress.lost.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if export.charged && last_check.elapsed() >= PROGRESS_EVERY {
            last_check = Instant::now();
            affordable(state, export, bytes).await?;
        }
    }
    if progress.lost.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut out = session.finish().await.map_err(plugin_failure)?;
    out = encoder.encode(out).map_err(internal)?;
    out.extend(encoder.finish().map_err(internal)?);
    if (bytes as u64).saturating_add(out.len() as u64) > max_size {
        return Err(too_large());
    }
    bytes += out.len() as i64;
    upload.write(out).await.map_err(internal)?;
    Ok(Some(Counts { rows, bytes }))
}

/// How far a running export is, shared with its heartbeat.
#[derive(Default)]
struct Progress {
    rows: AtomicI64,
    bytes: AtomicI64,
    /// The claim was lost (another worker took over, or the export was deleted).
    lost: AtomicBool,
}

/// Record an export's progress and renew its lease every [`PROGRESS_EVERY`], whatever
/// the export is waiting on (a slow query, a slow plugin, a slow upload): a lease that
/// lapses only when the worker is gone. Stops, marking the claim lost, once the export
/// is no longer this worker's.
async fn heartbeat(
    pool: sqlx::PgPool,
    id: crate::ids::ExportId,
    token: i64,
    lease: Duration,
    progress: Arc<Progress>,
) {
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let rows = progress.rows.load(Ordering::Relaxed);
        let bytes = progress.bytes.load(Ordering::Relaxed);
        match db::exports::progress(&pool, id, token, rows, bytes, lease.as_secs_f64()).await {
            Ok(true) => {}
            Ok(false) => {
                progress.lost.store(true, Ordering::Relaxed);
                return;
            }
            // The next beat tries again; the lease outlasts a few missed ones.
            Err(e) => tracing::warn!(export = %id, "recording an export's progress: {e}"),
        }
    }
}

/// Record a written export and charge for it, in one transaction: a download exists only
/// for an export that was paid for. `false` when the claim was lost meanwhile.
async fn record(
    state: &AppState,
    export: &ExportRow,
    mut written: db::exports::Written<'_>,
) -> Result<bool, Failure> {
    let pool = &state.pool;
    let pricing = state.config.credits.pricing();
    let credits = pricing.credits(ChargeItem::Export, written.bytes);
    let bytes = written.bytes;
    written.credits = if export.charged { credits } else { 0 };
    let mut tx = pool.begin().await.map_err(internal)?;
    if !db::exports::succeed(&mut *tx, export.id, export.lease_token, written)
        .await
        .map_err(internal)?
    {
        return Ok(false);
    }
    if export.charged {
        let payer = db::ledger::Payer {
            user: export.owner_id,
            run: export.run_id,
            job: Some(export.job_id),
            export: Some(export.id),
        };
        let lines = [(ChargeItem::Export, bytes, credits)];
        if !db::ledger::charge(&mut *tx, payer, &pricing, &lines)
            .await
            .map_err(internal)?
        {
            return Err(exhausted(credits));
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(true)
}

/// Stops a task when the export ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn exhausted(credits: i64) -> Failure {
    (
        "credits_exhausted",
        format!(
            "the export costs {credits} credits and the balance does not cover them; nothing was charged"
        ),
    )
}

/// Fail a charged export early once what it wrote so far costs more than its owner has.
async fn affordable(state: &AppState, export: &ExportRow, bytes: i64) -> Result<(), Failure> {
    let credits = state
        .config
        .credits
        .pricing()
        .credits(ChargeItem::Export, bytes);
    let balance = db::ledger::balance(&state.pool, export.owner_id)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    if credits > balance {
        return Err(exhausted(credits));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_say_what_they_hold() {
        let run: crate::ids::RunId = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().expect("id");
        let name = file_name("Books / «Ficção» \"2026\"", Some(run), "csv");
        let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert_eq!(name, format!("Books-Ficção-2026-run-0193a1b2-{date}.csv"));
        assert_eq!(
            file_name("../..", None, "csv.gz"),
            format!("export-all-runs-{date}.csv.gz")
        );
    }

    #[test]
    fn text_formats_are_told_apart() {
        assert!(is_text("text/csv"));
        assert!(is_text("application/x-ndjson"));
        assert!(is_text("application/ld+json"));
        assert!(!is_text("application/vnd.apache.parquet"));
        assert!(!is_text(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ));
    }
}
