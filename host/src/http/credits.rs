//! Credits: the price list, grants and adjustments (admins), ledgers, usage by day or
//! job, a run's charges, and what a run of a job may cost at worst.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::{Admin, Caller};
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::list::{Page, PageQuery};
use crate::db::{self, ledger::Adjusted, ledger::LedgerLine, ledger::UsageRow, users::User};
use crate::ids::{JobId, RunId, UserId};
use crate::model::pricing::{Charge, ChargeItem, LedgerKind, Pricing, Work};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pricing))
        .routes(routes!(adjust_credits, user_ledger))
        .routes(routes!(my_ledger))
        .routes(routes!(user_usage))
        .routes(routes!(my_usage))
        .routes(routes!(run_usage))
        .routes(routes!(estimate))
}

/// The price list and whose work is charged.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PricingOut {
    /// Credits per unit of each kind of work.
    #[serde(flatten)]
    pub prices: Pricing,
    /// Whether this host takes prices from balances at all.
    pub charging: bool,
    /// Whether admins' own work is charged (else it is priced only).
    pub charge_admins: bool,
    /// Credits a new user starts with.
    pub signup_credits: i64,
}

/// What work costs: credits per page fetched and extracted, per million fuel, per
/// thousand new items, per megabyte exported. Each kind of a run's (or an export's) work
/// is charged its whole quantity at that price, rounded up to a whole credit. Failed,
/// skipped, blocked and robots-disallowed pages, duplicate and invalid items cost nothing.
#[utoipa::path(get, path = "/v1/pricing", tag = "credits", security(()),
    responses((status = 200, body = PricingOut)))]
async fn pricing(State(state): State<AppState>) -> axum::Json<PricingOut> {
    let credits = &state.config.credits;
    axum::Json(PricingOut {
        prices: credits.pricing(),
        charging: credits.charging,
        charge_admins: credits.charge_admins,
        signup_credits: credits.signup_credits,
    })
}

/// A change of a user's balance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditsIn {
    /// Credits to add (negative: to take, for an `adjustment`); at most 10^15 either way.
    #[schema(minimum = -1_000_000_000_000_000i64, maximum = 1_000_000_000_000_000i64)]
    pub amount: i64,
    /// Why, for the ledger.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// `grant` (the default for a positive amount), `refund` or `adjustment` (the
    /// default for a negative one).
    #[serde(default)]
    pub kind: Option<LedgerKind>,
}

/// Grant, refund or adjust a user's credits (admins). The balance and the ledger line
/// change together; a change that would take the balance below zero is refused (409
/// `balance_below_zero`), and one past 10^15 credits too (409 `balance_above_max`).
#[utoipa::path(post, path = "/v1/users/{id}/credits", tag = "credits", params(("id" = UserId, Path)),
    request_body = CreditsIn,
    responses((status = 201, body = LedgerLine), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn adjust_credits(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiPath(user): ApiPath<UserId>,
    ApiJson(body): ApiJson<CreditsIn>,
) -> ApiResult<(StatusCode, axum::Json<LedgerLine>)> {
    let reason = body.reason.trim();
    let mut problems = Vec::new();
    if reason.is_empty() || reason.chars().count() > 500 {
        problems.push(problem("/reason", "give a reason of 1 to 500 characters"));
    }
    if body.amount == 0 || body.amount.unsigned_abs() > db::ledger::MAX_BALANCE as u64 {
        problems.push(problem(
            "/amount",
            "must not be zero, and at most 10^15 either way",
        ));
    }
    let kind = body.kind.unwrap_or(if body.amount > 0 {
        LedgerKind::Grant
    } else {
        LedgerKind::Adjustment
    });
    match kind {
        LedgerKind::Charge => problems.push(problem(
            "/kind",
            "charges are made by runs and exports; use `adjustment` to take credits",
        )),
        LedgerKind::Grant | LedgerKind::Refund if body.amount < 0 => problems.push(problem(
            "/amount",
            "a grant or refund adds credits; use `adjustment` to take them",
        )),
        _ => {}
    }
    if !problems.is_empty() {
        return Err(
            ApiError::new(ErrorCode::InvalidRequest, "the credit change is not valid")
                .with_details(problems),
        );
    }
    let mut conn = state.pool.acquire().await?;
    match db::ledger::adjust(&mut conn, user, kind, body.amount, reason, Some(admin.id)).await? {
        Adjusted::Done(line) => Ok((StatusCode::CREATED, axum::Json(line))),
        Adjusted::NoUser => Err(ApiError::not_found("user")),
        Adjusted::AboveMax { balance } => Err(ApiError::new(
            ErrorCode::BalanceAboveMax,
            format!(
                "the balance is {balance}: adding {} would take it past the largest balance, 10^15",
                body.amount
            ),
        )),
        Adjusted::BelowZero { balance } => Err(ApiError::new(
            ErrorCode::BalanceBelowZero,
            format!(
                "the balance is {balance}: taking {} would leave it below zero",
                -body.amount
            ),
        )),
    }
}

fn problem(path: &str, message: &str) -> crate::validate::Problem {
    crate::validate::Problem {
        path: path.into(),
        message: message.into(),
    }
}

/// The user `caller` asks about, if they may read that user's records.
async fn visible_user(state: &AppState, caller: &User, id: UserId) -> ApiResult<User> {
    super::auth::may_read_user(caller, id)?;
    db::users::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

async fn ledger_page(state: &AppState, user: UserId, q: &PageQuery) -> ApiResult<Page<LedgerLine>> {
    let lines = db::ledger::list(&state.pool, user, q.cursor()?, q.limit()).await?;
    Ok(Page::new(lines, q.limit(), |l| l.id.to_string()))
}

/// A user's ledger, oldest line first (admins: anyone's; members: their own).
#[utoipa::path(get, path = "/v1/users/{id}/credits", tag = "credits", params(("id" = UserId, Path), PageQuery),
    responses((status = 200, body = Page<LedgerLine>), (status = 404, body = ErrorBody)))]
async fn user_ledger(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<LedgerLine>>> {
    let user = visible_user(&state, &caller, id).await?;
    Ok(axum::Json(ledger_page(&state, user.id, &q).await?))
}

/// Your ledger, oldest line first: every grant, charge, refund and adjustment, with the
/// balance after it.
#[utoipa::path(get, path = "/v1/me/credits", tag = "credits", params(PageQuery),
    responses((status = 200, body = Page<LedgerLine>)))]
async fn my_ledger(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<Page<LedgerLine>>> {
    Ok(axum::Json(ledger_page(&state, caller.id, &q).await?))
}

/// How usage is grouped.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UsageGroup {
    /// By day (UTC).
    #[default]
    Day,
    /// By job.
    Job,
}

/// Which usage to report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// From this time (RFC 3339), inclusive; default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Until this time, exclusive; default now.
    pub to: Option<DateTime<Utc>>,
    /// `day` (default) or `job`.
    pub group: Option<UsageGroup>,
}

/// Credits charged in a period, grouped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageOut {
    /// The user.
    pub user_id: UserId,
    /// From (inclusive).
    pub from: DateTime<Utc>,
    /// To (exclusive).
    pub to: DateTime<Utc>,
    /// `day` or `job`.
    pub group: String,
    /// One row per day or job with charges, in order.
    pub rows: Vec<UsageRow>,
    /// The rows' sum.
    pub total: i64,
}

async fn usage_of(state: &AppState, user: UserId, q: &UsageQuery) -> ApiResult<UsageOut> {
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "`from` must not be after `to`",
        ));
    }
    let group = q.group.unwrap_or_default();
    let (db_group, name) = match group {
        UsageGroup::Day => (db::ledger::Group::Day, "day"),
        UsageGroup::Job => (db::ledger::Group::Job, "job"),
    };
    let rows = db::ledger::usage(&state.pool, user, from, to, db_group).await?;
    let total = rows.iter().map(|r| r.total).sum();
    Ok(UsageOut {
        user_id: user,
        from,
        to,
        group: name.into(),
        rows,
        total,
    })
}

/// A user's consumption by day or by job (admins: anyone's; members: their own).
#[utoipa::path(get, path = "/v1/users/{id}/usage", tag = "credits", params(("id" = UserId, Path), UsageQuery),
    responses((status = 200, body = UsageOut), (status = 404, body = ErrorBody)))]
async fn user_usage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> ApiResult<axum::Json<UsageOut>> {
    let user = visible_user(&state, &caller, id).await?;
    Ok(axum::Json(usage_of(&state, user.id, &q).await?))
}

/// Your consumption by day (UTC) or by job, between `from` and `to`.
#[utoipa::path(get, path = "/v1/me/usage", tag = "credits", params(UsageQuery),
    responses((status = 200, body = UsageOut)))]
async fn my_usage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> ApiResult<axum::Json<UsageOut>> {
    Ok(axum::Json(usage_of(&state, caller.id, &q).await?))
}

/// A run's usage: its priced work by kind, and the charge lines taken for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunUsageOut {
    /// The run.
    pub run_id: RunId,
    /// Whether its price is taken from its owner's balance.
    pub charged: bool,
    /// Its work so far: pages, fuel, new items.
    pub work: Work,
    /// Their credits.
    pub credits: Charge,
    /// All of them.
    pub total: i64,
    /// The charge lines, oldest first (none when the run is not charged).
    pub charges: Page<LedgerLine>,
}

/// A run's charges: what it did, what that cost by kind, and each ledger line.
#[utoipa::path(get, path = "/v1/runs/{id}/usage", tag = "credits", params(("id" = RunId, Path), PageQuery),
    responses((status = 200, body = RunUsageOut), (status = 404, body = ErrorBody)))]
async fn run_usage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<RunId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<axum::Json<RunUsageOut>> {
    let run = db::runs::get(&state.pool, caller.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let charges = db::ledger::run_charges(&state.pool, id).await?;
    let lines = db::ledger::list_for_run(&state.pool, id, q.cursor()?, q.limit()).await?;
    Ok(axum::Json(RunUsageOut {
        run_id: id,
        charged: run.charged,
        work: charges.work,
        credits: charges.credits,
        total: charges.credits.total(),
        charges: Page::new(lines, q.limit(), |l| l.id.to_string()),
    }))
}

/// The worst case of one run of a job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EstimateOut {
    /// The job.
    pub job_id: JobId,
    /// Whether a run of it would be charged (its owner's role and this host's setting).
    pub charged: bool,
    /// The most work a run may do: `max_pages` pages, each burning at most the
    /// extractor's fuel budget and storing at most its items per page.
    pub work: Work,
    /// Those quantities' price, by kind.
    pub credits: Charge,
    /// The run's cap (`max_credits` of the request, else of the job).
    pub max_credits: Option<i64>,
    /// The most a run can cost: the price of the most work, or the cap if lower.
    pub worst_case: i64,
    /// The owner's balance now.
    pub balance: i64,
    /// Whether the balance covers the worst case (always true when not charged).
    pub covered: bool,
}

/// What a run of the job may cost at worst, from its limits (and the optional body's
/// overrides of them, as a run's request would give them) and the price list.
#[utoipa::path(post, path = "/v1/jobs/{id}/estimate", tag = "credits", params(("id" = JobId, Path)),
    request_body(content = Option<crate::model::job::RunOverrides>, description = "What the run would change of its job (optional)"),
    responses((status = 200, body = EstimateOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn estimate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<JobId>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<EstimateOut>> {
    let overrides = super::runs::run_overrides(&headers, &body)?;
    let job = db::jobs::get(&state.pool, caller.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let schema = db::schemas::get(&state.pool, caller.id, job.schema_id)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    let limits: crate::runtime::SchemaLimits =
        serde_json::from_value(schema.limits.clone()).unwrap_or_default();
    let limits = limits
        .apply(state.runtime.default_call_limits(), state.runtime.limits())
        .map_err(|e| ApiError::new(ErrorCode::LimitAboveCeiling, e))?;
    let pages = i64::from(overrides.max_pages.unwrap_or(job.max_pages));
    let work = Work {
        pages,
        fuel: pages.saturating_mul(i64::try_from(limits.fuel).unwrap_or(i64::MAX)),
        items: pages.saturating_mul(i64::try_from(limits.max_items).unwrap_or(i64::MAX)),
    };
    let pricing = state.config.credits.pricing();
    let credits = Charge {
        pages: pricing.credits(ChargeItem::Pages, work.pages),
        fuel: pricing.credits(ChargeItem::Fuel, work.fuel),
        items: pricing.credits(ChargeItem::Items, work.items),
    };
    let max_credits = overrides.max_credits.or(job.max_credits);
    let worst_case = max_credits.map_or(credits.total(), |cap| cap.min(credits.total()));
    let charged = state.config.credits.charges(caller.role);
    let balance = caller.credits;
    Ok(axum::Json(EstimateOut {
        job_id: id,
        charged,
        work,
        credits,
        max_credits,
        worst_case,
        balance,
        covered: !charged || balance >= worst_case,
    }))
}
