//! A user's quotas: what the host allows each user by default, what an admin changed of
//! it for one user, and how much of each the user has in use. Types only: the checks
//! that take locks and count live in `crate::quotas`.

use serde::{Deserialize, Serialize};

/// The quotas in effect for a user: the host's defaults with the user's overrides over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quotas {
    /// Runs of the user's that run at once. More are not refused: they wait `queued`
    /// until one of the user's runs ends.
    pub concurrent_runs: i32,
    /// Most pages a job's `max_pages` (or a run's override of it) may ask for.
    pub max_pages: i32,
    /// Most jobs the user may have.
    pub jobs: i32,
    /// Most schemas the user may have.
    pub schemas: i32,
    /// Most private plugin versions a member may own (each uploaded version counts).
    pub plugins: i32,
    /// Shortest time, in seconds, between two occurrences of a job's schedule.
    pub min_schedule_interval_secs: i32,
    /// API requests per second each of the user's keys may make; 0: no limit.
    pub rate_limit: i32,
    /// Requests a key may make at once before the rate applies.
    pub rate_burst: i32,
}

/// What an admin changed of a user's quotas. Each field left out or null is the host's
/// default, and follows it when the host's configuration changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverrides {
    /// Runs at once (0 or more; 0 keeps every run of the user's queued).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub concurrent_runs: Option<i32>,
    /// Most pages per run (1 or more).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_pages: Option<i32>,
    /// Most jobs (0 or more).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub jobs: Option<i32>,
    /// Most schemas (0 or more).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub schemas: Option<i32>,
    /// Most private plugin versions (0 or more).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub plugins: Option<i32>,
    /// Shortest schedule interval in seconds (0 or more; 0 and 1 allow any schedule).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub min_schedule_interval_secs: Option<i32>,
    /// Requests per second per key (0: no limit).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub rate_limit: Option<i32>,
    /// Requests at once per key (1 or more).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub rate_burst: Option<i32>,
}

impl QuotaOverrides {
    /// The quotas in effect: each override, or else the default.
    pub fn over(&self, defaults: &Quotas) -> Quotas {
        Quotas {
            concurrent_runs: self.concurrent_runs.unwrap_or(defaults.concurrent_runs),
            max_pages: self.max_pages.unwrap_or(defaults.max_pages),
            jobs: self.jobs.unwrap_or(defaults.jobs),
            schemas: self.schemas.unwrap_or(defaults.schemas),
            plugins: self.plugins.unwrap_or(defaults.plugins),
            min_schedule_interval_secs: self
                .min_schedule_interval_secs
                .unwrap_or(defaults.min_schedule_interval_secs),
            rate_limit: self.rate_limit.unwrap_or(defaults.rate_limit),
            rate_burst: self.rate_burst.unwrap_or(defaults.rate_burst),
        }
    }

    /// Every value out of its range, as (JSON pointer, message) pairs: the same ranges as
    /// the columns' CHECK constraints.
    pub fn problems(&self) -> Vec<(String, String)> {
        let fields = [
            ("concurrent_runs", self.concurrent_runs, 0),
            ("max_pages", self.max_pages, 1),
            ("jobs", self.jobs, 0),
            ("schemas", self.schemas, 0),
            ("plugins", self.plugins, 0),
            (
                "min_schedule_interval_secs",
                self.min_schedule_interval_secs,
                0,
            ),
            ("rate_limit", self.rate_limit, 0),
            ("rate_burst", self.rate_burst, 1),
        ];
        fields
            .into_iter()
            .filter(|(_, value, least)| value.is_some_and(|v| v < *least))
            .map(|(name, _, least)| (format!("/{name}"), format!("must be {least} or more")))
            .collect()
    }
}

/// How much of the counted quotas a user has in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuotaUsage {
    /// Runs of the user's running now (against `concurrent_runs`).
    pub running_runs: i64,
    /// Runs of the user's waiting their turn.
    pub queued_runs: i64,
    /// Jobs (against `jobs`).
    pub jobs: i64,
    /// Schemas (against `schemas`).
    pub schemas: i64,
    /// Private plugin versions owned (against `plugins`).
    pub plugins: i64,
}

/// A counted quota a creation can run into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    /// Jobs.
    Jobs,
    /// Schemas.
    Schemas,
    /// Private plugin versions.
    Plugins,
}

impl Counted {
    /// The quota's field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Counted::Jobs => "jobs",
            Counted::Schemas => "schemas",
            Counted::Plugins => "plugins",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Quotas {
        Quotas {
            concurrent_runs: 10,
            max_pages: 1000,
            jobs: 5,
            schemas: 6,
            plugins: 7,
            min_schedule_interval_secs: 60,
            rate_limit: 100,
            rate_burst: 200,
        }
    }

    /// An override wins, a null or absent field follows the default.
    #[test]
    fn overrides_go_over_the_defaults() {
        let overrides: QuotaOverrides =
            serde_json::from_value(serde_json::json!({"jobs": 50, "schemas": null}))
                .expect("parses");
        let quotas = overrides.over(&defaults());
        assert_eq!(quotas.jobs, 50);
        assert_eq!(quotas.schemas, 6);
        assert_eq!(QuotaOverrides::default().over(&defaults()), defaults());
        assert!(serde_json::from_value::<QuotaOverrides>(serde_json::json!({"jobz": 1})).is_err());
    }

    /// Values below each range are named.
    #[test]
    fn out_of_range_values_are_problems() {
        let overrides = QuotaOverrides {
            max_pages: Some(0),
            jobs: Some(-1),
            rate_limit: Some(0),
            ..Default::default()
        };
        let paths: Vec<String> = overrides.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(paths, ["/max_pages", "/jobs"]);
    }
}
