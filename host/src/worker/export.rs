//! Carrying out one export: stream a run's results from the database in batches through
//! the exporter plugin into a file. Memory stays flat however many rows there are.

use tokio::io::AsyncWriteExt;

use crate::db::{self, exports::ExportRow};
use crate::model::pricing::ChargeItem;
use crate::state::AppState;

/// Rows per database read and per exporter `write` call.
const BATCH: i64 = 500;

/// Write a claimed export and record how it ended.
pub async fn execute(state: &AppState, worker: &str, export: ExportRow) {
    let id = export.id;
    if let Err((code, message)) = write(state, worker, &export).await
        && let Err(e) = db::exports::fail(&state.pool, id, worker, code, &message).await
    {
        tracing::error!(export = %id, "recording a failed export: {e}");
    }
}

type Failure = (&'static str, String);

/// The file an export is being written to, removed unless it was renamed into place.
struct Part(std::path::PathBuf);

impl Part {
    /// It was renamed: nothing to remove.
    fn keep(mut self) {
        self.0 = std::path::PathBuf::new();
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if self.0.as_os_str().is_empty() {
            return;
        }
        // Synchronous, and only ever a file of this export's: no await in a drop.
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("removing {}: {e}", self.0.display());
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    tracing::error!("export failed: {e}");
    ("internal_error", "the export could not be written".into())
}

async fn write(state: &AppState, worker: &str, export: &ExportRow) -> Result<(), Failure> {
    let pool = &state.pool;
    let run = db::runs::get(pool, export.owner_id, export.run_id)
        .await
        .map_err(internal)?
        .ok_or(("run_missing", "the run was deleted".to_owned()))?;
    let job = db::jobs::get_any(pool, run.job_id)
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
    let extension = plugin
        .manifest
        .extension
        .clone()
        .unwrap_or_else(|| "out".into());
    let media_type = plugin
        .manifest
        .media_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());

    let key = state.storage.key_for(export.id, &extension);
    let path = state.storage.path(&key);
    // A name of this attempt's own: a worker that lost its lease and the one that took
    // over never write one file, and whatever fails removes only its own.
    let partial = Part(path.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple())));
    let mut file = tokio::fs::File::create(&partial.0)
        .await
        .map_err(internal)?;
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
    let fail = |e: crate::runtime::CallError| (e.code(), e.to_string());

    let mut session = state
        .runtime
        .open_exporter(
            &plugin,
            schema.json_schema.clone(),
            export.options.to_string(),
            Some(export.owner_id),
        )
        .await
        .map_err(fail)?;
    let order = serde_json::from_str(&schema.json_schema)
        .map(|schema| crate::validate::PropertyOrder::of(&schema))
        .unwrap_or_default();
    let lease = state.config.lease.as_secs_f64();
    let (mut rows, mut bytes) = (0i64, 0i64);
    let mut after = None;
    loop {
        let batch = db::results::data_batch(pool, export.run_id, after, BATCH)
            .await
            .map_err(internal)?;
        let Some((last, _)) = batch.last() else { break };
        after = Some(*last);
        rows += batch.len() as i64;
        // Rows in the schema's property order (jsonb keeps its own).
        let rows_text = batch
            .into_iter()
            .map(
                |(_, data)| match serde_json::from_str::<serde_json::Value>(&data) {
                    Ok(mut value) => {
                        order.apply(&mut value);
                        value.to_string()
                    }
                    Err(_) => data,
                },
            )
            .collect();
        let out = session.write(rows_text).await.map_err(fail)?;
        if (bytes as u64).saturating_add(out.len() as u64) > max_size {
            return Err(too_large());
        }
        file.write_all(&out).await.map_err(internal)?;
        bytes += out.len() as i64;
        if export.charged {
            affordable(state, export, bytes).await?;
        }
        if !db::exports::progress(pool, export.id, worker, rows, bytes, lease)
            .await
            .map_err(internal)?
        {
            return Ok(()); // taken over by another worker after our lease lapsed
        }
    }
    let out = session.finish().await.map_err(fail)?;
    if (bytes as u64).saturating_add(out.len() as u64) > max_size {
        return Err(too_large());
    }
    file.write_all(&out).await.map_err(internal)?;
    bytes += out.len() as i64;
    file.sync_all().await.map_err(internal)?;
    drop(file);
    // The charge and the success in one transaction, the file put in place before it
    // commits: a download exists only for an export that was paid for.
    let pricing = state.config.credits.pricing();
    let credits = pricing.credits(ChargeItem::Export, bytes);
    let mut tx = pool.begin().await.map_err(internal)?;
    if !db::exports::succeed(
        &mut *tx,
        export.id,
        worker,
        rows,
        bytes,
        &key,
        &media_type,
        &extension,
        if export.charged { credits } else { 0 },
    )
    .await
    .map_err(internal)?
    {
        return Ok(()); // taken over by another worker after our lease lapsed
    }
    if export.charged {
        let payer = db::ledger::Payer {
            user: export.owner_id,
            run: Some(export.run_id),
            job: Some(run.job_id),
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
    tokio::fs::rename(&partial.0, &path)
        .await
        .map_err(internal)?;
    partial.keep();
    tx.commit().await.map_err(internal)?;
    Ok(())
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
