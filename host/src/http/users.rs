//! Users and API keys (admins), and `/v1/me`.

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
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(create_user, list_users))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}

/// Who the key belongs to.
#[utoipa::path(get, path = "/v1/me", tag = "users", responses((status = 200, body = User)))]
async fn me(Caller(user): Caller) -> axum::Json<User> {
    axum::Json(user)
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
    #[schema(minimum = 0)]
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
    if credits < 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "credits must not be negative",
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
