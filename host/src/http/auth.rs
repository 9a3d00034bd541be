//! Bearer API keys: `Authorization: Bearer trawl_…`, or for event streams (browsers'
//! EventSource sends no headers) an `access_token` query parameter.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::{ApiError, ErrorCode};
use crate::db::{self, users::User};
use crate::ids::UserId;
use crate::keys::hash_api_key;
use crate::state::AppState;

/// The user a request is made by.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "send an API key: Authorization: Bearer <key>",
            )
        })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "the Authorization header must be `Bearer <key>`",
                )
            })?;
        authenticate(parts, state, key).await.map(Caller)
    }
}

/// The key's holder, once the request is counted against the key's rate limit.
async fn authenticate(parts: &Parts, state: &AppState, key: &str) -> Result<User, ApiError> {
    let who = db::api_keys::authenticate(&state.pool, &hash_api_key(key))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidApiKey,
                "the API key is unknown or revoked",
            )
        })?;
    super::rate_limit::charge(parts, state, &who)?;
    if state.key_use.due(who.key, std::time::Instant::now()) {
        let pool = state.pool.clone();
        let key = who.key;
        tokio::spawn(async move {
            if let Err(e) = db::api_keys::record_use(&pool, key).await {
                tracing::warn!(%key, "recording an API key's use: {e}");
            }
        });
    }
    Ok(who.user)
}

/// The caller of an event stream: the bearer header, or the `access_token` query
/// parameter when there is no header. Only streams take the parameter: a key in a URL
/// ends up in browser histories and proxies' logs, and only EventSource needs it.
#[derive(Debug, Clone)]
pub struct StreamCaller(pub User);

impl FromRequestParts<AppState> for StreamCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(AUTHORIZATION) {
            return Caller::from_request_parts(parts, state)
                .await
                .map(|c| StreamCaller(c.0));
        }
        let token = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == "access_token")
                .map(|(_, value)| value.into_owned())
        });
        let Some(token) = token else {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "send an API key: Authorization: Bearer <key>, or ?access_token=<key> for an event stream",
            ));
        };
        authenticate(parts, state, token.trim())
            .await
            .map(StreamCaller)
    }
}

/// A caller who must be an admin.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        if !user.is_admin() {
            return Err(ApiError::forbidden("only admins may do this"));
        }
        Ok(Admin(user))
    }
}

/// Whether `caller` may read the records of user `id` (quotas, ledger, usage): admins
/// anyone's, members their own. Anyone else's is a 404, as if there were no such user.
pub fn may_read_user(caller: &User, id: UserId) -> Result<(), ApiError> {
    if caller.is_admin() || caller.id == id {
        Ok(())
    } else {
        Err(ApiError::not_found("user"))
    }
}
