//! Users and API keys (admins), users' quotas, and `/v1/me`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::{Admin, Caller};
use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{ApiJson, ApiPath};
use crate::db::{self, ResultExt, api_keys::ApiKey, users::User};
use crate::ids::{ApiKeyId, UserId};
use crate::keys::{hash_api_key, key_prefix, new_api_key};
use crate::model::Role;
use crate::model::quota::{QuotaOverrides, QuotaUsage, Quotas};
use crate::state::AppState;
use crate::validate::Problem;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(create_user, list_users))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(get_quotas, set_quotas))
}

/// The caller, with their quotas and how much of them is in use.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeOut {
    /// The user (its fields at the top level, as before quotas existed).
    #[serde(flatten)]
    pub user: User,
    /// The quotas in effect.
    pub quotas: Quotas,
    /// How much of them is in use.
    pub usage: QuotaUsage,
}

/// Who the key belongs to, with their quotas in effect and their use of them.
#[utoipa::path(get, path = "/v1/me", tag = "users", responses((status = 200, body = MeOut)))]
async fn me(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<axum::Json<MeOut>> {
    let (quotas, _) = crate::quotas::effective(&state.pool, &state.config.quotas, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let usage = db::users::quota_usage(&state.pool, user.id).await?;
    Ok(axum::Json(MeOut {
        user,
        quotas,
        usage,
    }))
}

/// A user's quotas: in effect, as overridden, and in use.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotasOut {
    /// Whose.
    pub user_id: UserId,
    /// In effect: each override, or else the host's default.
    pub quotas: Quotas,
    /// What an admin set for this user; null fields follow the host's default.
    pub overrides: QuotaOverrides,
    /// How much of them is in use.
    pub usage: QuotaUsage,
}

async fn quotas_of(state: &AppState, user: UserId) -> ApiResult<QuotasOut> {
    let (quotas, overrides) = crate::quotas::effective(&state.pool, &state.config.quotas, user)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let usage = db::users::quota_usage(&state.pool, user).await?;
    Ok(QuotasOut {
        user_id: user,
        quotas,
        overrides,
        usage,
    })
}

/// A user's quotas and use: admins for anyone, members for themselves (another user's id
/// is a 404 to them).
#[utoipa::path(get, path = "/v1/users/{id}/quotas", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = QuotasOut), (status = 404, body = ErrorBody)))]
async fn get_quotas(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(user): ApiPath<UserId>,
) -> ApiResult<axum::Json<QuotasOut>> {
    super::auth::may_read_user(&caller, user)?;
    Ok(axum::Json(quotas_of(&state, user).await?))
}

/// Set a user's quota overrides (admins): the body replaces them all, and each field left
/// out or null goes back to the host's default. Lowering a quota below what the user has
/// removes nothing: it refuses new jobs, schemas or uploads, and keeps extra runs queued.
#[utoipa::path(put, path = "/v1/users/{id}/quotas", tag = "users", params(("id" = UserId, Path)),
    request_body = QuotaOverrides,
    responses((status = 200, body = QuotasOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_quotas(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(user): ApiPath<UserId>,
    ApiJson(body): ApiJson<QuotaOverrides>,
) -> ApiResult<axum::Json<QuotasOut>> {
    let problems = body.problems();
    if !problems.is_empty() {
        let details = problems
            .into_iter()
            .map(|(path, message)| Problem { path, message })
            .collect();
        return Err(
            ApiError::new(ErrorCode::InvalidRequest, "the quotas are not valid")
                .with_details(details),
        );
    }
    if !db::users::set_quota_overrides(&state.pool, user, &body).await? {
        return Err(ApiError::not_found("user"));
    }
    Ok(axum::Json(quotas_of(&state, user).await?))
}

/// A user to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// Unique e-mail or handle.
    #[schema(min_length = 1, max_length = 320)]
    pub email: String,
    /// Default `member`.
    #[serde(default)]
    pub role: Role,
    /// Starting credits (default: the host's `signup_credits`, see `GET /v1/pricing`),
    /// given by a `grant` line in the user's ledger.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000i64)]
    pub credits: Option<i64>,
}

/// Create a user (admins).
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = UserIn,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<UserIn>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    if body.email.trim().is_empty() || body.email.chars().count() > 320 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "email must be 1 to 320 characters",
        ));
    }
    let credits = body.credits.unwrap_or(state.config.credits.signup_credits);
    if !(0..=db::ledger::MAX_BALANCE).contains(&credits) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "credits must be 0 to 10^15",
        ));
    }
    let role = body.role;
    let mut tx = state.pool.begin().await?;
    let mut user = db::users::create(&mut *tx, body.email.trim(), role, 0)
        .await
        .on_constraint("users_email_key", || {
            ApiError::new(ErrorCode::EmailTaken, "a user with that email exists")
        })?;
    if credits > 0 {
        match db::ledger::adjust(
            &mut tx,
            user.id,
            crate::model::pricing::LedgerKind::Grant,
            credits,
            "starting credits",
            Some(admin.id),
        )
        .await?
        {
            db::ledger::Adjusted::Done(line) => user.credits = line.balance,
            other => return Err(ApiError::internal(format!("a new user's grant: {other:?}"))),
        }
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// Every user (admins).
#[utoipa::path(get, path = "/v1/users", tag = "users", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
async fn list_users(State(state): State<AppState>, _: Admin) -> ApiResult<axum::Json<Vec<User>>> {
    Ok(axum::Json(db::users::list(&state.pool).await?))
}

/// A key to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIn {
    /// A name to tell keys apart.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A new key: `key` is shown this once and never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewKeyOut {
    /// The key itself.
    pub key: String,
    /// What is stored about it.
    #[serde(flatten)]
    pub info: ApiKey,
}

/// Create an API key for a user (admins).
#[utoipa::path(post, path = "/v1/users/{id}/keys", tag = "users", params(("id" = UserId, Path)), request_body = KeyIn,
    responses((status = 201, body = NewKeyOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(user): ApiPath<UserId>,
    ApiJson(body): ApiJson<KeyIn>,
) -> ApiResult<(StatusCode, axum::Json<NewKeyOut>)> {
    if body.name.trim().is_empty() || body.name.chars().count() > 200 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "name must be 1 to 200 characters",
        ));
    }
    db::users::get(&state.pool, user)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let (key, _) = new_api_key();
    let info = db::api_keys::create(
        &state.pool,
        user,
        &body.name,
        &key_prefix(&key),
        &hash_api_key(&key),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(NewKeyOut { key, info })))
}

/// A user's keys (admins).
#[utoipa::path(get, path = "/v1/users/{id}/keys", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<ApiKey>), (status = 403, body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(user): ApiPath<UserId>,
) -> ApiResult<axum::Json<Vec<ApiKey>>> {
    Ok(axum::Json(db::api_keys::list(&state.pool, user).await?))
}

/// Revoke a key (admins).
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "users", params(("id" = ApiKeyId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> ApiResult<StatusCode> {
    if !db::api_keys::revoke(&state.pool, id).await? {
        return Err(ApiError::not_found("key"));
    }
    Ok(StatusCode::NO_CONTENT)
}
