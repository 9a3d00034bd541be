//! The page writer of a run: pages that were fetched and extracted are stored (items,
//! next pages, outcome) by one task, up to 64 pages per transaction and statement, so a busy run costs
//! the database one commit per batch instead of one per page, and the foreign-key locks
//! on the run's row are taken once per batch. The channel is bounded: when the database
//! falls behind, page tasks wait instead of piling up.

use tokio::sync::{mpsc, oneshot};

use crate::db::{self, pages::DonePage, runs::Lease};
use crate::ids::JobId;

/// Pages written in one transaction at most.
const BATCH: usize = 64;

struct Job {
    page: DonePage,
    /// How many items were new, or why the write failed.
    reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// Why a page could not be stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database refused this page's data; the page is recorded failed with
    /// `store_failed` and the run goes on.
    #[error("the database refused the page's data: {0}")]
    Refused(String),
    /// The database could not be reached or failed otherwise: the run cannot go on.
    #[error("storing a page failed: {0}")]
    Database(String),
    /// The writer is gone (the run is ending).
    #[error("the page writer stopped")]
    Stopped,
    /// The run's lease is lost: nothing more is written for it.
    #[error("the run's lease was lost")]
    Lost,
}

/// Why a batch was not written.
#[derive(Debug)]
enum WriteError {
    Lost,
    Db(sqlx::Error),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Db(e)
    }
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
    /// Start the writer of the run `lease` holds; it ends when every `Writer` clone is
    /// dropped, after writing what it was given.
    pub fn spawn(
        pool: sqlx::PgPool,
        lease: Lease,
        job: JobId,
        dedup_key: uuid::Uuid,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        // Bounded: page tasks wait (backpressure) when the database falls behind.
        let (jobs, mut queue) = mpsc::channel::<Job>(BATCH * 2);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while queue.recv_many(&mut batch, BATCH).await > 0 {
                let run = lease.run;
                match write(&pool, lease, job, dedup_key, &batch).await {
                    Ok(stored) => {
                        for (done, n) in batch.drain(..).zip(stored) {
                            let _ = done.reply.send(Ok(n));
                        }
                    }
                    // One page's data the database refuses must not take its batch down:
                    // each page is tried alone, and one that still fails is recorded
                    // failed, with the reason, while the others are stored.
                    Err(WriteError::Lost) => {
                        for done in batch.drain(..) {
                            let _ = done.reply.send(Err(StoreError::Lost));
                        }
                    }
                    Err(WriteError::Db(e)) if is_data_error(&e) => {
                        if batch.len() == 1 {
                            let done = batch.pop().expect("a batch of one page");
                            let reply =
                                settle(&pool, lease, &done.page, Err(WriteError::Db(e))).await;
                            let _ = done.reply.send(reply);
                            continue;
                        }
                        tracing::warn!(run = %run, "a batch of pages was refused ({e}); storing them one by one");
                        for done in batch.drain(..) {
                            let alone = std::slice::from_ref(&done);
                            let result = write(&pool, lease, job, dedup_key, alone).await;
                            let reply = settle(&pool, lease, &done.page, result).await;
                            let _ = done.reply.send(reply);
                        }
                    }
                    Err(WriteError::Db(e)) => {
                        tracing::error!(run = %run, "storing pages failed: {e}");
                        let message = e.to_string();
                        for done in batch.drain(..) {
                            let _ = done.reply.send(Err(StoreError::Database(message.clone())));
                        }
                    }
                }
            }
        });
        (Self { jobs }, task)
    }

    /// Store a page; returns how many of its items were new, or why it failed.
    pub async fn write(&self, page: DonePage) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { page, reply })
            .await
            .map_err(|_| StoreError::Stopped)?;
        answer.await.map_err(|_| StoreError::Stopped)?
    }
}

/// Errors in the data of a statement (SQLSTATE class 22: a value PostgreSQL cannot hold)
/// or its constraints (class 23), as opposed to trouble with the database itself.
fn is_data_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
        _ => false,
    }
}

/// What a page's writer answers: the count of new items, or the failure, which for a page
/// whose data the database refused is also recorded on the page.
async fn settle(
    pool: &sqlx::PgPool,
    lease: Lease,
    page: &DonePage,
    result: Result<Vec<u64>, WriteError>,
) -> Result<u64, StoreError> {
    let run = lease.run;
    match result {
        Ok(stored) => Ok(stored.first().copied().unwrap_or(0)),
        Err(WriteError::Lost) => Err(StoreError::Lost),
        Err(WriteError::Db(e)) if is_data_error(&e) => {
            let message = format!("the database refused the page's items: {e}");
            let outcome = db::pages::Outcome {
                state: crate::model::PageState::Failed,
                final_url: Some(&page.final_url),
                http_status: Some(page.http_status),
                bytes: Some(page.bytes),
                items: Some(page.items),
                attempts: page.attempts,
                content_type: page.content_type.as_deref(),
                error_code: Some("store_failed"),
                error_message: Some(&message),
                fuel: page.fuel,
                ..db::pages::Outcome::default()
            };
            match db::pages::record(pool, lease, &page.url, &outcome).await {
                Ok(true) => Err(StoreError::Refused(message)),
                Ok(false) => Err(StoreError::Lost),
                Err(e) => {
                    tracing::error!(run = %run, "recording a page that could not be stored: {e}");
                    Err(StoreError::Database(e.to_string()))
                }
            }
        }
        Err(WriteError::Db(e)) => {
            tracing::error!(run = %run, "storing pages failed: {e}");
            Err(StoreError::Database(e.to_string()))
        }
    }
}

async fn write(
    pool: &sqlx::PgPool,
    lease: Lease,
    job: JobId,
    dedup_key: uuid::Uuid,
    batch: &[Job],
) -> Result<Vec<u64>, WriteError> {
    let mut tx = pool.begin().await?;
    // The fence first: a worker whose lease was taken over, or lapsed, writes nothing.
    if !db::runs::hold(&mut *tx, lease).await? {
        return Err(WriteError::Lost);
    }
    let pages: Vec<&DonePage> = batch.iter().map(|job| &job.page).collect();
    let stored = db::pages::complete_batch(&mut *tx, lease.run, job, dedup_key, &pages).await?;
    tx.commit().await?;
    Ok(stored)
}
