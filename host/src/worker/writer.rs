//! The page writer of a run: pages that were fetched and extracted are stored (items,
//! next pages, outcome) by one task, up to 64 pages per transaction and statement, so a busy run costs
//! the database one commit per batch instead of one per page, and the foreign-key locks
//! on the run's row are taken once per batch. The channel is bounded: when the database
//! falls behind, page tasks wait instead of piling up.
//!
//! The batch's price is charged in the same transaction that stores it: pages stored are
//! pages paid for. When the owner's balance (or the run's `max_credits`) does not cover
//! the whole batch, the longest run of its pages that is covered is stored and paid, and
//! the rest are recorded skipped, with the reason.

use tokio::sync::{mpsc, oneshot};

use crate::db::{self, ledger::RunCharges, pages::DonePage, runs::Lease};
use crate::ids::{JobId, UserId};
use crate::model::pricing::{Charge, ChargeItem, Pricing, Work};

/// Pages written in one transaction at most.
const BATCH: usize = 64;

struct Job {
    page: DonePage,
    /// How many items were new, or why the write failed.
    reply: oneshot::Sender<Result<Stored, StoreError>>,
}

/// Who pays for a run's pages, and how much the run may cost.
#[derive(Debug, Clone, Copy)]
pub struct Billing {
    /// The run's owner, whose balance pays when `charged`.
    pub owner: UserId,
    /// Whether the price is taken from the owner's balance (else it is only recorded).
    pub charged: bool,
    /// The most credits the run may cost.
    pub max_credits: Option<i64>,
    pub pricing: Pricing,
}

/// Why a run cannot store more pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpaid {
    /// The owner's balance does not cover more.
    Exhausted,
    /// The run reached its `max_credits`.
    CapReached,
}

impl Unpaid {
    /// The run's error code (a `credit_cap_reached` run ends `succeeded`).
    pub fn code(self) -> &'static str {
        match self {
            Unpaid::Exhausted => "credits_exhausted",
            Unpaid::CapReached => "credit_cap_reached",
        }
    }

    /// For people.
    pub fn message(self) -> &'static str {
        match self {
            Unpaid::Exhausted => {
                "the owner's credits ran out; every result stored was paid for, and the pages not paid for were not stored"
            }
            Unpaid::CapReached => {
                "the run reached its max_credits; every result stored was paid for, and the pages beyond the cap were not stored"
            }
        }
    }
}

/// A stored page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Its items that were new.
    pub new: u64,
    /// Set when the run can pay for no further page.
    pub last: Option<Unpaid>,
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
    /// The run could not pay for the page, which was recorded skipped.
    #[error("{}", .0.message())]
    Unpaid(Unpaid),
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
        billing: Billing,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        // Bounded: page tasks wait (backpressure) when the database falls behind.
        let (jobs, mut queue) = mpsc::channel::<Job>(BATCH * 2);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            // Once the run can pay for nothing more, pages are refused unwritten.
            let mut unpaid: Option<Unpaid> = None;
            let target = Target {
                lease,
                job,
                dedup_key,
                billing,
            };
            while queue.recv_many(&mut batch, BATCH).await > 0 {
                let run = lease.run;
                if let Some(why) = unpaid {
                    refuse(&pool, lease, &mut batch, why).await;
                    continue;
                }
                match write(&pool, &target, &batch).await {
                    Ok(written) => {
                        unpaid = written.unpaid;
                        answer(&mut batch, written);
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
                            if let Some(why) = unpaid {
                                refuse(&pool, lease, &mut vec![done], why).await;
                                continue;
                            }
                            let alone = std::slice::from_ref(&done);
                            let result = write(&pool, &target, alone).await;
                            if let Ok(written) = &result {
                                unpaid = written.unpaid;
                            }
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
    pub async fn write(&self, page: DonePage) -> Result<Stored, StoreError> {
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
    result: Result<Written, WriteError>,
) -> Result<Stored, StoreError> {
    let run = lease.run;
    match result {
        Ok(written) => match written.stored.first() {
            Some(&new) => Ok(Stored {
                new,
                last: written.unpaid,
            }),
            None => Err(StoreError::Unpaid(
                written.unpaid.unwrap_or(Unpaid::Exhausted),
            )),
        },
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

/// Where a run's pages go and who pays for them.
#[derive(Debug, Clone, Copy)]
struct Target {
    lease: Lease,
    job: JobId,
    dedup_key: uuid::Uuid,
    billing: Billing,
}

/// What a batch's write did.
#[derive(Debug)]
struct Written {
    /// New items of each page stored: the batch's first pages, all of them unless the
    /// run could not pay for the rest (which were recorded skipped).
    stored: Vec<u64>,
    /// Set when the run can pay for no page beyond those stored.
    unpaid: Option<Unpaid>,
}

/// Answer each page of a written batch.
fn answer(batch: &mut Vec<Job>, written: Written) {
    let mut stored = written.stored.into_iter();
    for done in batch.drain(..) {
        let reply = match stored.next() {
            Some(new) => Ok(Stored {
                new,
                last: written.unpaid,
            }),
            None => Err(StoreError::Unpaid(
                written.unpaid.unwrap_or(Unpaid::Exhausted),
            )),
        };
        let _ = done.reply.send(reply);
    }
}

/// Refuse pages the run cannot pay for, recording them skipped.
async fn refuse(pool: &sqlx::PgPool, lease: Lease, batch: &mut Vec<Job>, why: Unpaid) {
    let urls: Vec<&str> = batch.iter().map(|job| job.page.url.as_str()).collect();
    let recorded = async {
        let mut tx = pool.begin().await?;
        if db::runs::hold(&mut *tx, lease).await? {
            db::pages::skip_unpaid(&mut *tx, lease.run, &urls, why.code(), why.message()).await?;
        }
        tx.commit().await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(run = %lease.run, "recording unpaid pages as skipped: {e}");
    }
    for done in batch.drain(..) {
        let _ = done.reply.send(Err(StoreError::Unpaid(why)));
    }
}

/// The work of stored pages: each page, its fuel and its new items.
fn work_of(pages: &[&DonePage], stored: &[u64]) -> Work {
    let mut work = Work::default();
    for (page, new) in pages.iter().zip(stored) {
        work = work.plus(Work {
            pages: 1,
            fuel: page.fuel.max(0),
            items: i64::try_from(*new).unwrap_or(i64::MAX),
        });
    }
    work
}

/// The most credits a batch may cost now, and what stops it beyond that.
#[derive(Debug, Clone, Copy)]
struct Room {
    credits: i64,
    why: Unpaid,
}

/// What the run may still spend: the owner's balance when it is charged (locked until the
/// transaction ends, so concurrent runs of one owner take from it one after the other)
/// and what is left under its cap.
async fn room_for(
    ex: &mut sqlx::PgConnection,
    billing: &Billing,
    before: &RunCharges,
) -> Result<Room, sqlx::Error> {
    let cap = billing
        .max_credits
        .map(|max| (max - before.credits.total()).max(0));
    let balance = if billing.charged {
        Some(db::ledger::lock_balance(&mut *ex, billing.owner).await?)
    } else {
        None
    };
    Ok(match (cap, balance) {
        (Some(cap), Some(balance)) if cap <= balance => Room {
            credits: cap,
            why: Unpaid::CapReached,
        },
        (_, Some(balance)) => Room {
            credits: balance,
            why: Unpaid::Exhausted,
        },
        (Some(cap), None) => Room {
            credits: cap,
            why: Unpaid::CapReached,
        },
        (None, None) => Room {
            credits: i64::MAX,
            why: Unpaid::Exhausted,
        },
    })
}

/// How many of the batch's first pages fit in `room`, given each page's new items.
fn affordable(
    pricing: &Pricing,
    before: Work,
    pages: &[&DonePage],
    stored: &[u64],
    room: i64,
) -> usize {
    let mut fit = 0;
    for n in 1..=pages.len() {
        let work = work_of(&pages[..n], &stored[..n]);
        if pricing.charge(before, work).total() > room {
            break;
        }
        fit = n;
    }
    fit
}

async fn write(pool: &sqlx::PgPool, target: &Target, batch: &[Job]) -> Result<Written, WriteError> {
    let Target {
        lease,
        job,
        dedup_key,
        ref billing,
    } = *target;
    let pricing = billing.pricing;
    let mut tx = pool.begin().await?;
    // The fence first: a worker whose lease was taken over, or lapsed, writes nothing.
    if !db::runs::hold(&mut *tx, lease).await? {
        return Err(WriteError::Lost);
    }
    let pages: Vec<&DonePage> = batch.iter().map(|job| &job.page).collect();
    let before = db::ledger::run_charges(&mut *tx, lease.run).await?;

    // Most batches are paid in full: store them, then take the balance's lock (after the
    // batch's statement, so one owner's runs store their pages side by side and queue
    // only for the charge).
    let mut part = sqlx::Acquire::begin(&mut *tx).await?;
    let mut stored =
        db::pages::complete_batch(&mut *part, lease.run, job, dedup_key, &pages).await?;
    let mut work = work_of(&pages, &stored);
    let mut cost = pricing.charge(before.work, work);
    let mut room = room_for(&mut part, billing, &before).await?;
    if cost.total() <= room.credits {
        part.commit().await?;
    } else {
        // Not all of it: give the batch back, then store and pay for the pages that fit,
        // under the balance's lock from here to the commit.
        part.rollback().await?;
        room = room_for(&mut tx, billing, &before).await?;
        let mut take = affordable(&pricing, before.work, &pages, &stored, room.credits);
        loop {
            if take == 0 {
                stored.clear();
                work = Work::default();
                cost = Charge::default();
                break;
            }
            let mut part = sqlx::Acquire::begin(&mut *tx).await?;
            let again =
                db::pages::complete_batch(&mut *part, lease.run, job, dedup_key, &pages[..take])
                    .await?;
            let w = work_of(&pages[..take], &again);
            let c = pricing.charge(before.work, w);
            // The items a page adds can change between the tries (another run of the
            // job storing the same ones): what is stored is what is paid, so look again.
            if c.total() <= room.credits {
                part.commit().await?;
                (stored, work, cost) = (again, w, c);
                break;
            }
            part.rollback().await?;
            take -= 1;
        }
        let unpaid: Vec<&str> = pages[stored.len()..]
            .iter()
            .map(|p| p.url.as_str())
            .collect();
        db::pages::skip_unpaid(
            &mut *tx,
            lease.run,
            &unpaid,
            room.why.code(),
            room.why.message(),
        )
        .await?;
    }
    if billing.charged {
        let payer = db::ledger::Payer {
            user: billing.owner,
            run: Some(lease.run),
            job: Some(job),
            export: None,
        };
        let lines = [
            (ChargeItem::Pages, work.pages, cost.pages),
            (ChargeItem::Fuel, work.fuel, cost.fuel),
            (ChargeItem::Items, work.items, cost.items),
        ];
        if !db::ledger::charge(&mut *tx, payer, &pricing, &lines).await? {
            // The balance is locked and was read under the lock: this cannot happen, and
            // if it did nothing may be stored unpaid.
            return Err(WriteError::Db(sqlx::Error::Protocol(
                "the balance did not cover a charge it was checked against".into(),
            )));
        }
    }
    if work != Work::default() || cost != Charge::default() {
        db::ledger::add_run_charges(&mut *tx, lease.run, work, cost).await?;
    }
    tx.commit().await?;
    // Whether any further page can be paid for: the cheapest one is a page with no fuel
    // and no new items.
    let next = pricing
        .charge(
            before.work.plus(work),
            Work {
                pages: 1,
                ..Work::default()
            },
        )
        .total();
    let left = room.credits.saturating_sub(cost.total());
    let unpaid = if stored.len() < pages.len() || (next > 0 && left < next) {
        Some(room.why)
    } else {
        None
    };
    Ok(Written { stored, unpaid })
}
