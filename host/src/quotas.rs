//! Users' quotas in effect and the checks against them: the host's defaults
//! (`TRAWL_QUOTA_*`) under each user's overrides, the counted quotas (jobs, schemas,
//! plugins) checked under the user's lock in the creating transaction, and the limits a
//! job asks for (pages per run, schedule interval) checked against the quotas. Runs at once
//! are not refused here: the claim keeps the extra ones queued (`db::runs::claim_next`).

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::QuotaConfig;
use crate::db;
use crate::ids::UserId;
use crate::model::quota::{Counted, QuotaOverrides, Quotas};
use crate::model::schedule::Schedule;

/// The host's default quotas, as configured.
pub fn defaults(config: &QuotaConfig) -> Quotas {
    let secs = i32::try_from(config.min_schedule_interval.as_secs()).unwrap_or(i32::MAX);
    Quotas {
        concurrent_runs: config.concurrent_runs,
        max_pages: config.max_pages,
        jobs: config.jobs,
        schemas: config.schemas,
        plugins: config.plugins,
        min_schedule_interval_secs: secs,
        rate_limit: i32::try_from(config.rate_limit).unwrap_or(i32::MAX),
        rate_burst: i32::try_from(config.rate_burst).unwrap_or(i32::MAX),
    }
}

/// A user's quotas in effect; `None` when there is no such user.
pub async fn effective(
    ex: impl sqlx::PgExecutor<'_>,
    config: &QuotaConfig,
    user: UserId,
) -> Result<Option<(Quotas, QuotaOverrides)>, sqlx::Error> {
    let overrides = db::users::quota_overrides(ex, user).await?;
    Ok(overrides.map(|o| (o.over(&defaults(config)), o)))
}

/// A request past a quota: which, and the numbers that say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    /// A creation past a counted quota.
    #[error(
        "you have {have} {what}, the most your quota allows: delete one, or ask an admin to raise your `{what}` quota",
        what = .what.as_str()
    )]
    Count {
        /// Which quota.
        what: Counted,
        /// What the user has.
        have: i64,
        /// The quota.
        most: i32,
    },
    /// A job or a run asking for more pages than the quota.
    #[error(
        "{asked} pages per run is more than your quota of {most} (`max_pages`): ask for fewer, or ask an admin to raise it"
    )]
    MaxPages {
        /// What was asked for.
        asked: i32,
        /// The quota.
        most: i32,
    },
    /// A schedule firing more often than the quota.
    #[error(
        "the schedule fires as often as every {gap_secs}s, more often than your quota of one run every {least_secs}s (`min_schedule_interval_secs`): space it out, or ask an admin to lower it"
    )]
    ScheduleInterval {
        /// The schedule's shortest gap, in seconds.
        gap_secs: i64,
        /// The quota.
        least_secs: i32,
    },
}

/// Why a counted creation could not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// Past the quota.
    #[error(transparent)]
    Exceeded(#[from] Exceeded),
    /// Database trouble.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Make room for one more of `what` in the transaction on `conn`, before its insert:
/// takes the user's lock of that quota until the transaction ends and counts under it, so
/// two creations at quota - 1 cannot both pass. Returns the user's quotas in effect.
pub async fn reserve(
    conn: &mut sqlx::PgConnection,
    config: &QuotaConfig,
    user: UserId,
    what: Counted,
) -> Result<Quotas, QuotaError> {
    let have = db::users::lock_and_count(&mut *conn, user, what).await?;
    let (quotas, _) = effective(&mut *conn, config, user)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let most = match what {
        Counted::Jobs => quotas.jobs,
        Counted::Schemas => quotas.schemas,
        Counted::Plugins => quotas.plugins,
    };
    if have >= i64::from(most) {
        return Err(Exceeded::Count { what, have, most }.into());
    }
    Ok(quotas)
}

/// Whether `asked` pages per run are within the quota.
pub fn check_max_pages(quotas: &Quotas, asked: i32) -> Result<(), Exceeded> {
    if asked > quotas.max_pages {
        return Err(Exceeded::MaxPages {
            asked,
            most: quotas.max_pages,
        });
    }
    Ok(())
}

/// Whether a schedule's occurrences, from `now` on, stay at least the quota's interval
/// apart (see [`Schedule::shortest_gap`] for how far it looks).
pub fn check_schedule(
    quotas: &Quotas,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<(), Exceeded> {
    let least = TimeDelta::seconds(i64::from(quotas.min_schedule_interval_secs));
    // A second is the finest step a schedule has: a quota of 0 or 1 allows any.
    if least <= TimeDelta::seconds(1) {
        return Ok(());
    }
    match schedule.shortest_gap(now, least) {
        Some(gap) if gap < least => Err(Exceeded::ScheduleInterval {
            gap_secs: gap.num_seconds(),
            least_secs: quotas.min_schedule_interval_secs,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas() -> Quotas {
        defaults(&QuotaConfig::default())
    }

    /// Schedules at or above the interval pass; busier ones are refused with their gap.
    #[test]
    fn schedules_are_checked_against_the_interval() {
        let now = Utc::now();
        let mut q = quotas();
        let every_minute = Schedule::parse("* * * * *", "UTC").expect("valid");
        let every_second = Schedule::parse("* * * * * *", "UTC").expect("valid");
        assert!(check_schedule(&q, &every_second, now).is_ok());
        q.min_schedule_interval_secs = 60;
        assert!(check_schedule(&q, &every_minute, now).is_ok());
        q.min_schedule_interval_secs = 300;
        assert_eq!(
            check_schedule(&q, &every_minute, now),
            Err(Exceeded::ScheduleInterval {
                gap_secs: 60,
                least_secs: 300
            })
        );
    }

    /// The messages name the quota and the way to raise it.
    #[test]
    fn messages_name_the_quota() {
        let q = quotas();
        let e = check_max_pages(&q, q.max_pages + 1).expect_err("over");
        assert!(e.to_string().contains("`max_pages`"), "{e}");
        assert!(check_max_pages(&q, q.max_pages).is_ok());
        let e = Exceeded::Count {
            what: Counted::Jobs,
            have: 3,
            most: 3,
        };
        assert!(e.to_string().contains("`jobs` quota"), "{e}");
        assert!(e.to_string().contains("admin"), "{e}");
    }
}
