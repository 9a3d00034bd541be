//! The scheduler: every host looks for jobs whose schedule is due and queues their
//! runs (trigger `schedule`). Each due occurrence becomes at most one run however many
//! hosts look: a host fires a job under its row lock, and the occurrence is the run's
//! idempotency (a unique key per job and occurrence), so timing never decides it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Notify, watch};

use crate::db;
use crate::db::runs::ScheduledRun;
use crate::model::Overlap;
use crate::model::schedule::Schedule;
use crate::state::AppState;

/// Jobs fired in one transaction; more due ones are taken by the next tick, at once.
const BATCH: i64 = 100;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Due jobs looked at.
    pub due: usize,
    /// Runs queued.
    pub fired: usize,
    /// Occurrences skipped because a run of the job was going (overlap `skip`).
    pub skipped_overlap: usize,
    /// Occurrences that already had their run.
    pub already_fired: usize,
    /// Jobs whose stored schedule no longer parses: their schedule was stopped.
    pub broken: usize,
}

/// The scheduler of one host.
#[derive(Debug, Clone)]
pub struct Scheduler {
    pool: PgPool,
    wake: Arc<Notify>,
    interval: Duration,
    /// Whose runs are charged: fixed on each run as it is queued.
    credits: crate::config::CreditsConfig,
}

impl Scheduler {
    /// A scheduler over `pool` that wakes the workers through `wake` when it queues runs,
    /// and looks every `interval`.
    pub fn new(pool: PgPool, wake: Arc<Notify>, interval: Duration) -> Self {
        Self {
            pool,
            wake,
            interval,
            credits: crate::config::CreditsConfig::default(),
        }
    }

    /// The scheduler of the host whose state this is.
    pub fn of(state: &AppState) -> Self {
        Self {
            credits: state.config.credits.clone(),
            ..Self::new(
                state.pool.clone(),
                state.wake.clone(),
                state.config.scheduler_interval,
            )
        }
    }

    /// Fire what is due, in one transaction: each due job's occurrence (its
    /// `next_run_at`) queues a run unless the job skips overlaps and a run of it is
    /// going; either way the job moves on to its first occurrence after both now and
    /// the one fired, so a schedule missed during downtime fires once, not once per
    /// occurrence missed.
    pub async fn tick(&self) -> Result<Tick, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let due = db::jobs::lock_due(&mut *tx, BATCH).await?;
        let mut tick = Tick {
            due: due.len(),
            ..Tick::default()
        };
        for job in &due {
            let schedule = match &job.cron {
                Some(cron) => Schedule::parse(cron, &job.timezone).map_err(|e| e.to_string()),
                None => Err("it has a next run but no cron expression".to_owned()),
            };
            let schedule = match schedule {
                Ok(schedule) => schedule,
                Err(why) => {
                    // The API stores only valid schedules; one that stopped parsing (an
                    // older trawl's, a time zone dropped from the database) stops
                    // instead of failing every tick.
                    tracing::warn!(job = %job.id, "the job's schedule stops: {why}");
                    db::jobs::clear_next_run(&mut *tx, job.id).await?;
                    tick.broken += 1;
                    continue;
                }
            };
            let skip = job.overlap == Overlap::Skip;
            match db::runs::create_scheduled(&mut *tx, job.id, job.occurrence, skip, &self.credits)
                .await?
            {
                ScheduledRun::Queued(_) => tick.fired += 1,
                ScheduledRun::Overlapping => tick.skipped_overlap += 1,
                ScheduledRun::AlreadyQueued => tick.already_fired += 1,
            }
            let next = schedule.next_after(job.now.max(job.occurrence));
            db::jobs::schedule_fired(&mut *tx, job.id, next).await?;
        }
        tx.commit().await?;
        if tick.fired > 0 {
            self.wake.notify_waiters();
        }
        Ok(tick)
    }

    /// How long to wait before the next look: until the earliest due occurrence (by the
    /// database's clock, which the tick compares with), at most the interval.
    async fn until_next_due(&self) -> Duration {
        match db::jobs::until_next_due(&self.pool).await {
            // A few milliseconds late rather than early: an early look finds nothing.
            Ok(Some(wait)) => (wait + Duration::from_millis(5)).min(self.interval),
            Ok(None) => self.interval,
            Err(e) => {
                tracing::warn!("looking for the next due schedule failed: {e}");
                self.interval
            }
        }
    }

    /// Tick until `stop` turns true: at the next due occurrence, and at least every
    /// interval (a job created meanwhile may be due sooner than any the last look saw).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let ticked = self.tick().await;
            if let Ok(tick) = &ticked {
                for (outcome, n) in [
                    ("fired", tick.fired),
                    ("skipped_overlap", tick.skipped_overlap),
                    ("already_fired", tick.already_fired),
                    ("broken", tick.broken),
                ] {
                    for _ in 0..n {
                        crate::telemetry::scheduler_fire(outcome);
                    }
                }
            }
            match ticked {
                // A full batch: more may be due right now.
                Ok(tick) if tick.due as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!("the scheduler's tick failed: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.until_next_due().await) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    }
}

/// Start the host's scheduler; the task ends once `stop` turns true.
pub fn spawn(state: &AppState, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(Scheduler::of(state).run(stop))
}
