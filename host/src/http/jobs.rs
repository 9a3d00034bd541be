//! `/v1/jobs`: what to scrape — start URLs, pagination and limits — with which schema.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::list::{NamedPageQuery, Page};
use crate::db::{self, jobs::JobRow};
use crate::ids::{JobId, SchemaId};
use crate::model::DedupScope;
use crate::model::Overlap;
use crate::model::job::{FetchSettings, JobSpec, Pagination};
use crate::model::quota::{Counted, Quotas};
use crate::model::reach::{JobSecrets, RenderMode, SecretsShown};
use crate::model::schedule::{Cron, Schedule, parse_timezone};
use crate::model::webhook::{Webhook, WebhookIn};
use crate::state::AppState;
use crate::validate::Problem;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job, replace_job, delete_job))
        .routes(routes!(get_schedule))
        .routes(routes!(preview_schedule))
}

/// A job to create or replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobIn {
    /// A name for people.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The schema items are extracted and validated with.
    pub schema_id: SchemaId,
    /// Where crawling starts (http or https). May be left out with `url-template`
    /// pagination, whose pages are the start.
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub start_urls: Vec<String>,
    /// How the next pages are found (default `{"type": "none"}`).
    #[serde(default = "no_pagination")]
    pub pagination: Pagination,
    /// Pages fetched at most in one run (default 100); at most the caller's `max_pages`
    /// quota (`quota_max_pages` otherwise; 100,000 unless the operator or an admin sets it).
    #[serde(default = "default_max_pages")]
    #[schema(minimum = 1)]
    pub max_pages: i32,
    /// Requests in flight at once (default 4, at most 64). Pages already fetched are
    /// extracted and stored beside them, up to twice as many pages in progress.
    #[serde(default = "default_concurrency")]
    #[schema(minimum = 1, maximum = 64)]
    pub concurrency: i32,
    /// Links followed at most this many steps from a start URL (default: no limit
    /// beyond `max_pages`). Start URLs are depth 0.
    #[serde(default)]
    pub max_depth: Option<i32>,
    /// Politeness, retries and timeouts of the job's requests (every field has a default).
    #[serde(default)]
    pub fetch: FetchSettings,
    /// Query parameters removed from every URL before it enters the frontier (session
    /// ids, tracking tags), so that one page is not fetched under many names.
    #[serde(default)]
    pub drop_query_params: Vec<String>,
    /// Default `run`.
    #[serde(default)]
    pub dedup_scope: DedupScope,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Where runs' changes are POSTed, signed with the job's secret (default none, at
    /// most 10).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub webhooks: Vec<WebhookIn>,
    /// A run still going this many seconds after it started ends `timed_out`, keeping
    /// what it stored (default: no limit; at most 30 days).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2592000)]
    pub max_duration_secs: Option<i32>,
    /// A run that has cost this many credits ends `succeeded` with reason
    /// `credit_cap_reached`, keeping what it stored (default: no cap). A run's request
    /// may set its own.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_credits: Option<i64>,
    /// When runs start by themselves: a crontab expression of five fields (minute hour
    /// day-of-month month day-of-week; day-of-week 0–7, 0 and 7 Sunday, or SUN–SAT;
    /// months 1–12 or JAN–DEC), or six with seconds first, or `@hourly`, `@daily`,
    /// `@weekly`, `@monthly`, `@yearly`. Each field is a list of `*`, `N` or `N-M`, each
    /// with an optional `/STEP`; when both day fields are restricted, a day matching
    /// either fires. Absent or null: no schedule. Its occurrences may come no closer
    /// together than the caller's `min_schedule_interval_secs` quota
    /// (`quota_schedule_interval` otherwise).
    #[serde(default)]
    #[schema(max_length = 256, example = "30 2 * * *")]
    pub cron: Option<String>,
    /// The IANA time zone the schedule is read in (default `UTC`). Daylight saving: a
    /// fixed-hour time that occurs twice fires once, at its first instant; one that does
    /// not exist fires shifted forward by the gap (02:30 at 03:30). A schedule whose hour
    /// field is every hour follows the clock: nothing in the gap, both repeated hours.
    #[serde(default = "utc")]
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    /// What a due occurrence does while a run of the job is queued or running: `skip`
    /// it (default) or `queue` a run all the same.
    #[serde(default)]
    pub overlap: Overlap,
    /// Request headers, login fields and proxies, which are never shown again: answers
    /// name them (`secrets` of the job) without their values. Left out of a replacement,
    /// the job keeps the ones it has; given, they replace them all (`{}` removes them).
    #[serde(default)]
    pub secrets: Option<JobSecrets>,
}

fn utc() -> String {
    "UTC".into()
}

fn no_pagination() -> Pagination {
    Pagination::None
}
fn default_max_pages() -> i32 {
    100
}
fn default_concurrency() -> i32 {
    4
}
fn yes() -> bool {
    true
}

/// A job's newest run, in brief.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastRunOut {
    /// Id.
    pub id: crate::ids::RunId,
    /// Its status.
    pub status: crate::model::RunStatus,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Ended at, once it has.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A stored job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobOut {
    /// Id.
    pub id: JobId,
    /// Name.
    pub name: String,
    /// Schema.
    pub schema_id: SchemaId,
    /// Start URLs.
    pub start_urls: Vec<String>,
    /// Pagination.
    pub pagination: Pagination,
    /// Max pages per run.
    pub max_pages: i32,
    /// Requests in flight at once.
    pub concurrency: i32,
    /// Depth limit, if any.
    pub max_depth: Option<i32>,
    /// Fetch settings.
    pub fetch: FetchSettings,
    /// Query parameters dropped by URL normalisation.
    pub drop_query_params: Vec<String>,
    /// Dedup scope.
    pub dedup_scope: DedupScope,
    /// Enabled.
    pub enabled: bool,
    /// Webhooks, each with its events spelled out.
    pub webhooks: Vec<Webhook>,
    /// Runs still going this many seconds after they started end `timed_out`.
    pub max_duration_secs: Option<i32>,
    /// Runs that have cost this many credits end `succeeded` (`credit_cap_reached`).
    pub max_credits: Option<i64>,
    /// The webhooks' signing secret (`whsec_…`, also the HMAC key): only in the answer
    /// that creates the job; `POST /v1/jobs/{id}/webhook-secret` replaces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last replaced.
    pub updated_at: DateTime<Utc>,
    /// The schedule's crontab expression, if any.
    pub cron: Option<String>,
    /// The time zone it is read in.
    pub timezone: String,
    /// `skip` or `queue` occurrences due while a run is going.
    pub overlap: Overlap,
    /// The schedule's next occurrence: null without a schedule or while disabled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// When the schedule last fired (a run was queued or the occurrence skipped).
    pub last_run_at: Option<DateTime<Utc>>,
    /// Which secrets the job has: names and counts, never values.
    pub secrets: SecretsShown,
    /// The job's newest run, in brief; null before its first.
    pub last_run: Option<LastRunOut>,
}

impl TryFrom<JobRow> for JobOut {
    type Error = ApiError;

    fn try_from(row: JobRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id,
            name: row.name,
            schema_id: row.schema_id,
            start_urls: row.start_urls,
            pagination: serde_json::from_value(row.pagination).map_err(ApiError::internal)?,
            max_pages: row.max_pages,
            concurrency: row.concurrency,
            max_depth: row.max_depth,
            fetch: serde_json::from_value(row.fetch_settings).map_err(ApiError::internal)?,
            drop_query_params: row.drop_query_params,
            dedup_scope: row.dedup_scope,
            enabled: row.enabled,
            webhooks: serde_json::from_value(row.webhooks).map_err(ApiError::internal)?,
            max_duration_secs: row.max_duration_secs,
            max_credits: row.max_credits,
            webhook_secret: None,
            created_at: row.created_at,
            updated_at: row.updated_at,
            cron: row.cron,
            timezone: row.timezone,
            overlap: row.overlap,
            next_run_at: row.next_run_at,
            last_run_at: row.last_run_at,
            secrets: SecretsShown::default(),
            last_run: None,
        })
    }
}

impl JobOut {
    /// The stored job as the API shows it, with the names of its secrets.
    async fn of(state: &AppState, row: JobRow) -> ApiResult<Self> {
        let secrets = db::job_secrets::get(&state.pool, row.id).await?;
        let last = db::jobs::last_run(&state.pool, row.id).await?;
        let mut out = JobOut::try_from(row)?;
        out.secrets = secrets.shown();
        out.last_run = last.map(|r| LastRunOut {
            id: r.id,
            status: r.status,
            created_at: r.created_at,
            finished_at: r.finished_at,
        });
        Ok(out)
    }
}

fn check(body: &JobIn, caps: &crate::config::FetchConfig) -> ApiResult<()> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(Problem {
            path: path.into(),
            message,
        })
    };
    if body.name.trim().is_empty() || body.name.chars().count() > 200 {
        problem("/name", "must be 1 to 200 characters".into());
    }
    let spec = JobSpec {
        start_urls: &body.start_urls,
        pagination: &body.pagination,
        max_pages: body.max_pages,
        concurrency: body.concurrency,
        max_depth: body.max_depth,
        fetch: &body.fetch,
        drop_query_params: &body.drop_query_params,
    };
    for (path, message) in spec.problems(caps) {
        problem(&path, message);
    }
    if body
        .max_duration_secs
        .is_some_and(|s| !(1..=2_592_000).contains(&s))
    {
        problem(
            "/max_duration_secs",
            "must be 1 to 2592000 (30 days)".into(),
        );
    }
    if body.max_credits.is_some_and(|c| c < 1) {
        problem("/max_credits", "must be at least 1".into());
    }
    if let Err(found) = crate::model::webhook::check(&body.webhooks) {
        for (path, message) in found {
            problem(&format!("/webhooks{path}"), message);
        }
    }
    for (path, message) in schedule_problems(body) {
        problem(path, message);
    }
    if let Some(secrets) = &body.secrets {
        for (path, message) in secrets.problems() {
            problem(&format!("/secrets{path}"), message);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidJob, "the job is not valid").with_details(problems))
    }
}

/// A `browser` job is refused on a host that has no Chromium to render it with.
fn browser_ready(state: &AppState, body: &JobIn) -> ApiResult<()> {
    if body.fetch.render != RenderMode::Browser {
        return Ok(());
    }
    match state.browser_unavailable() {
        None => Ok(()),
        Some(why) => Err(ApiError::new(ErrorCode::BrowserUnavailable, why)),
    }
}

/// What is wrong with the schedule's expression and time zone, each under its field.
fn schedule_problems(body: &JobIn) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(cron) = &body.cron
        && let Err(e) = Cron::parse(cron)
    {
        out.push(("/cron", e.message));
    }
    if let Err(e) = parse_timezone(&body.timezone) {
        out.push(("/timezone", e.message));
    }
    out
}

/// The schedule of a checked job body: `next_run_at` is its first occurrence after now
/// when it has one and is enabled.
fn schedule_settings(body: &JobIn) -> ApiResult<db::jobs::ScheduleSettings<'_>> {
    let next_run_at = match (&body.cron, body.enabled) {
        (Some(cron), true) => Schedule::parse(cron, &body.timezone)
            .map_err(ApiError::internal)?
            .next_after(Utc::now()),
        _ => None,
    };
    Ok(db::jobs::ScheduleSettings {
        cron: body.cron.as_deref().map(str::trim),
        timezone: &body.timezone,
        overlap: body.overlap,
        next_run_at,
    })
}

fn new_job<'a>(
    body: &'a JobIn,
    pagination: &'a serde_json::Value,
    fetch_settings: &'a serde_json::Value,
) -> db::jobs::NewJob<'a> {
    db::jobs::NewJob {
        schema_id: body.schema_id,
        name: &body.name,
        start_urls: &body.start_urls,
        pagination,
        max_pages: body.max_pages,
        concurrency: body.concurrency,
        dedup_scope: body.dedup_scope,
        enabled: body.enabled,
        max_depth: body.max_depth,
        fetch_settings,
        drop_query_params: &body.drop_query_params,
    }
}

fn pagination_json(body: &JobIn) -> serde_json::Value {
    serde_json::to_value(&body.pagination).expect("pagination always serialises")
}

fn fetch_json(body: &JobIn) -> serde_json::Value {
    serde_json::to_value(&body.fetch).expect("fetch settings always serialise")
}

/// The webhooks as stored, events spelled out (the body is checked already).
fn webhooks_json(body: &JobIn) -> ApiResult<serde_json::Value> {
    let hooks = crate::model::webhook::check(&body.webhooks)
        .map_err(|_| ApiError::internal("webhooks checked twice disagree"))?;
    serde_json::to_value(hooks).map_err(ApiError::internal)
}

/// Whether the job stays within the caller's quotas: its pages per run, and how often its
/// schedule fires (the body is checked already, so its schedule parses).
fn within_quotas(body: &JobIn, quotas: &Quotas) -> ApiResult<()> {
    crate::quotas::check_max_pages(quotas, body.max_pages)?;
    if let Some(cron) = &body.cron {
        let schedule = Schedule::parse(cron, &body.timezone).map_err(ApiError::internal)?;
        crate::quotas::check_schedule(quotas, &schedule, Utc::now())?;
    }
    Ok(())
}

fn unknown_schema() -> ApiError {
    ApiError::new(
        ErrorCode::UnknownSchema,
        "there is no schema with that id among yours",
    )
}

/// Create a job.
///
/// Refused with 403 past the caller's quotas: `quota_jobs` (as many jobs as the quota
/// allows), `quota_max_pages` (`max_pages` above it), `quota_schedule_interval` (a
/// schedule firing more often than it allows). `GET /v1/me` shows the quotas; an admin
/// can raise them.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = JobIn,
    responses((status = 201, body = JobOut), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<JobIn>,
) -> ApiResult<(StatusCode, axum::Json<JobOut>)> {
    check(&body, &state.config.fetch)?;
    browser_ready(&state, &body)?;
    let schedule = schedule_settings(&body)?;
    let pagination = pagination_json(&body);
    let fetch = fetch_json(&body);
    let new = new_job(&body, &pagination, &fetch);
    let webhooks = webhooks_json(&body)?;
    let secret = crate::webhooks::new_secret();
    let mut tx = state.pool.begin().await?;
    let quotas =
        crate::quotas::reserve(&mut tx, &state.config.quotas, caller.0.id, Counted::Jobs).await?;
    within_quotas(&body, &quotas)?;
    let id = db::jobs::create(&mut *tx, caller.0.id, &new)
        .await?
        .ok_or_else(unknown_schema)?;
    db::jobs::set_webhooks(&mut *tx, caller.0.id, id, &webhooks, Some(&secret)).await?;
    db::jobs::set_run_limits(
        &mut *tx,
        caller.0.id,
        id,
        body.max_duration_secs,
        body.max_credits,
    )
    .await?;
    db::jobs::set_schedule(&mut *tx, caller.0.id, id, &schedule).await?;
    if let Some(secrets) = &body.secrets {
        db::job_secrets::set(&mut *tx, caller.0.id, id, secrets).await?;
    }
    tx.commit().await?;
    let row = db::jobs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::internal("job vanished"))?;
    let mut out = JobOut::of(&state, row).await?;
    out.webhook_secret = Some(crate::webhooks::shown_secret(&secret));
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// `GET /v1/jobs`'s page and filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// The `next_cursor` of the previous page (empty: the first page).
    pub cursor: Option<String>,
    /// Items per page (default 50; values outside 1 to 500 are taken as the nearest).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only jobs whose name holds this text (any case).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only enabled (`true`) or disabled (`false`) jobs.
    pub enabled: Option<bool>,
    /// Only jobs with (`true`) or without (`false`) a schedule.
    pub scheduled: Option<bool>,
}

/// List your jobs, newest first, filtered by name, state and schedule.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(JobsQuery), responses((status = 200, body = Page<JobOut>)))]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<JobsQuery>,
) -> ApiResult<axum::Json<Page<JobOut>>> {
    let named = NamedPageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
        q: q.q.clone(),
    };
    let page = named.page();
    let filter = db::jobs::JobFilter {
        name_contains: named.name()?,
        enabled: q.enabled,
        scheduled: q.scheduled,
    };
    let rows = db::jobs::list(
        &state.pool,
        caller.0.id,
        page.cursor()?,
        page.limit(),
        &filter,
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(JobOut::of(&state, row).await?);
    }
    Ok(axum::Json(Page::new(items, page.limit(), |j| {
        j.id.to_string()
    })))
}

/// A schedule to read before it is saved.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// A crontab expression, as a job's `cron`.
    #[schema(max_length = 256, example = "30 2 * * *")]
    pub cron: String,
    /// The IANA time zone it is read in (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// How many occurrences (default 5, 1 to 100).
    #[schema(minimum = 1, maximum = 100)]
    pub count: Option<u32>,
}

/// The next occurrences of a schedule not saved yet (the job form shows them as it is
/// typed). Refused with 422 `invalid_schedule` (`details` say which field).
#[utoipa::path(post, path = "/v1/schedule/preview", tag = "jobs", request_body = ScheduleIn,
    responses((status = 200, body = ScheduleOut), (status = 422, body = ErrorBody)))]
async fn preview_schedule(
    _caller: Caller,
    ApiJson(body): ApiJson<ScheduleIn>,
) -> ApiResult<axum::Json<ScheduleOut>> {
    let count = body.count.unwrap_or(5);
    if !(1..=100).contains(&count) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "count must be 1 to 100",
        ));
    }
    let mut problems = Vec::new();
    if body.cron.len() > 256 {
        problems.push(Problem {
            path: "/cron".into(),
            message: "at most 256 characters".into(),
        });
    } else if let Err(e) = Cron::parse(&body.cron) {
        problems.push(Problem {
            path: "/cron".into(),
            message: e.message,
        });
    }
    if let Err(e) = parse_timezone(&body.timezone) {
        problems.push(Problem {
            path: "/timezone".into(),
            message: e.message,
        });
    }
    if !problems.is_empty() {
        return Err(
            ApiError::new(ErrorCode::InvalidSchedule, "the schedule is not valid")
                .with_details(problems),
        );
    }
    let occurrences = Schedule::parse(&body.cron, &body.timezone)
        .map_err(|e| ApiError::new(ErrorCode::InvalidSchedule, e.to_string()))?
        .upcoming(Utc::now(), count as usize);
    Ok(axum::Json(ScheduleOut {
        cron: Some(body.cron.trim().to_owned()),
        timezone: body.timezone,
        occurrences,
    }))
}

/// One job.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = JobOut), (status = 404, body = ErrorBody)))]
async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<axum::Json<JobOut>> {
    let row = db::jobs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok(axum::Json(JobOut::of(&state, row).await?))
}

/// Replace a job.
///
/// Refused with 403 `quota_max_pages` or `quota_schedule_interval` past the caller's
/// quotas, as at creation.
#[utoipa::path(put, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)), request_body = JobIn,
    responses((status = 200, body = JobOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
    ApiJson(body): ApiJson<JobIn>,
) -> ApiResult<axum::Json<JobOut>> {
    db::jobs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    check(&body, &state.config.fetch)?;
    browser_ready(&state, &body)?;
    let (quotas, _) = crate::quotas::effective(&state.pool, &state.config.quotas, caller.0.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    within_quotas(&body, &quotas)?;
    let schedule = schedule_settings(&body)?;
    let pagination = pagination_json(&body);
    let fetch = fetch_json(&body);
    let new = new_job(&body, &pagination, &fetch);
    let webhooks = webhooks_json(&body)?;
    let mut tx = state.pool.begin().await?;
    if !db::jobs::update(&mut *tx, caller.0.id, id, &new).await? {
        return Err(unknown_schema());
    }
    db::jobs::set_webhooks(&mut *tx, caller.0.id, id, &webhooks, None).await?;
    db::jobs::set_run_limits(
        &mut *tx,
        caller.0.id,
        id,
        body.max_duration_secs,
        body.max_credits,
    )
    .await?;
    db::jobs::set_schedule(&mut *tx, caller.0.id, id, &schedule).await?;
    if let Some(secrets) = &body.secrets {
        db::job_secrets::set(&mut *tx, caller.0.id, id, secrets).await?;
    }
    tx.commit().await?;
    let row = db::jobs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok(axum::Json(JobOut::of(&state, row).await?))
}

/// Delete a job with its runs, results and exports.
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<StatusCode> {
    if !db::jobs::delete(&state.pool, caller.0.id, id).await? {
        return Err(ApiError::not_found("job"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `?count=` of the schedule's occurrences.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScheduleQuery {
    /// How many occurrences (default 5, 1 to 100).
    #[param(minimum = 1, maximum = 100)]
    pub count: Option<u32>,
}

/// A job's schedule and its next occurrences.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleOut {
    /// The crontab expression; null when the job has no schedule.
    pub cron: Option<String>,
    /// The time zone it is read in.
    pub timezone: String,
    /// The next occurrences after now, as UTC instants, earliest first. They are what the
    /// schedule says, whether or not the job is enabled (a disabled job fires none of
    /// them); empty when the job has no schedule.
    pub occurrences: Vec<DateTime<Utc>>,
}

/// The next occurrences of a job's schedule (for a job without one: none).
#[utoipa::path(get, path = "/v1/jobs/{id}/schedule", tag = "jobs", params(("id" = JobId, Path), ScheduleQuery),
    responses((status = 200, body = ScheduleOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
    ApiQuery(q): ApiQuery<ScheduleQuery>,
) -> ApiResult<axum::Json<ScheduleOut>> {
    let count = q.count.unwrap_or(5);
    if !(1..=100).contains(&count) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "count must be 1 to 100",
        ));
    }
    let row = db::jobs::get(&state.pool, caller.0.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let occurrences = match &row.cron {
        Some(cron) => Schedule::parse(cron, &row.timezone)
            .map_err(ApiError::internal)?
            .upcoming(Utc::now(), count as usize),
        None => Vec::new(),
    };
    Ok(axum::Json(ScheduleOut {
        cron: row.cron,
        timezone: row.timezone,
        occurrences,
    }))
}
