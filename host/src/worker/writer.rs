//! The page writer of a run: pages that were fetched and extracted are stored (items,
//! next pages, outcome) by one task, up to 64 pages per transaction and statement, so a busy run costs
//! the database one commit per batch instead of one per page, and the foreign-key locks
//! on the run's row are taken once per batch. The channel is bounded: when the database
//! falls behind, page tasks wait instead of piling up.

use tokio::sync::{mpsc, oneshot};

use crate::db::{self, pages::DonePage};
use crate::ids::{JobId, RunId};

/// Pages written in one transaction at most.
const BATCH: usize = 64;

struct Job {
    page: DonePage,
    /// How many items were new, or why the write failed.
    reply: oneshot::Sender<Result<u64, String>>,
}

/// The sending side, held by a run's page tasks.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("url", &self.page.url).finish()
    }
}

impl Writer {
    /// Start the writer of `run`; it ends when every `Writer` clone is dropped.
    pub fn spawn(
        pool: sqlx::PgPool,
        run: RunId,
        job: JobId,
        dedup_key: uuid::Uuid,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        // Bounded: page tasks wait (backpressure) when the database falls behind.
        let (jobs, mut queue) = mpsc::channel::<Job>(BATCH * 2);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while queue.recv_many(&mut batch, BATCH).await > 0 {
                match write(&pool, run, job, dedup_key, &batch).await {
                    Ok(stored) => {
                        for (done, n) in batch.drain(..).zip(stored) {
                            let _ = done.reply.send(Ok(n));
                        }
                    }
                    Err(e) => {
                        tracing::error!(run = %run, "storing pages failed: {e}");
                        for done in batch.drain(..) {
                            let _ = done.reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        (Self { jobs }, task)
    }

    /// Store a page; returns how many of its items were new.
    pub async fn write(&self, page: DonePage) -> Result<u64, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { page, reply })
            .await
            .map_err(|_| "the page writer stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the page writer stopped".to_owned())?
    }
}

async fn write(
    pool: &sqlx::PgPool,
    run: RunId,
    job: JobId,
    dedup_key: uuid::Uuid,
    batch: &[Job],
) -> Result<Vec<u64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Not waiting for the WAL flush is safe here: a crash of PostgreSQL can lose only the
    // last moments of pages, which stay `fetching` and are fetched again when the run
    // resumes (their items deduplicated by content hash).
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let pages: Vec<&DonePage> = batch.iter().map(|job| &job.page).collect();
    let stored = db::pages::complete_batch(&mut *tx, run, job, dedup_key, &pages).await?;
    tx.commit().await?;
    Ok(stored)
}
