//! The API's error type: a stable snake_case code, a human message and optional details,
//! with the right status. Internal errors are logged and answered with a generic message.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::quota::Counted;
use crate::quotas::{Exceeded, QuotaError};
use crate::validate::Problem;

/// Declares [`ErrorCode`]: each code with its stable text, its HTTP status and what it
/// means. Two variants may share a text when one condition answers with two statuses.
macro_rules! error_codes {
    ( $( #[doc = $doc:literal] $variant:ident = ($text:tt, $status:ident), )+ ) => {
        /// Every code the API answers with, its stable text and its HTTP status. The
        /// OpenAPI document lists them all (`ErrorCode`), so clients can branch on each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( #[doc = $doc] $variant, )+
        }

        impl ErrorCode {
            /// Every code, in order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The stable snake_case text clients branch on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)+
                }
            }

            /// The HTTP status answered with it.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }

            /// What it means, for people (the OpenAPI document's table).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $doc.trim(),)+
                }
            }
        }
    };
}

error_codes! {
    /// A field's value is unacceptable (length, shape, a character that cannot be stored).
    InvalidRequest = ("invalid_request", UNPROCESSABLE_ENTITY),
    /// The request could not be read (a broken multipart form, a body cut short).
    MalformedRequest = ("invalid_request", BAD_REQUEST),
    /// The body is not JSON.
    InvalidJson = ("invalid_json", BAD_REQUEST),
    /// The query string does not parse.
    InvalidQuery = ("invalid_query", BAD_REQUEST),
    /// A list cursor this API did not give.
    InvalidCursor = ("invalid_cursor", BAD_REQUEST),
    /// An `Idempotency-Key` that is not 1 to 255 visible ASCII characters.
    InvalidIdempotencyKey = ("invalid_idempotency_key", BAD_REQUEST),
    /// No API key, or an Authorization header that is not `Bearer <key>`.
    Unauthorized = ("unauthorized", UNAUTHORIZED),
    /// The API key is unknown or revoked.
    InvalidApiKey = ("invalid_api_key", UNAUTHORIZED),
    /// The caller's role may not do this.
    Forbidden = ("forbidden", FORBIDDEN),
    /// A download link whose signature does not match.
    InvalidSignature = ("invalid_signature", FORBIDDEN),
    /// A download link past its expiry, or of an export that expired.
    LinkExpired = ("link_expired", FORBIDDEN),
    /// A download link of an export that was deleted.
    LinkRevoked = ("link_revoked", FORBIDDEN),
    /// A `Range` outside the file.
    RangeNotSatisfiable = ("range_not_satisfiable", RANGE_NOT_SATISFIABLE),
    /// Missing, or someone else's.
    NotFound = ("not_found", NOT_FOUND),
    /// A user with that email exists.
    EmailTaken = ("email_taken", CONFLICT),
    /// The caller has a schema of that name.
    SchemaNameTaken = ("schema_name_taken", CONFLICT),
    /// Jobs use the schema.
    SchemaInUse = ("schema_in_use", CONFLICT),
    /// Schemas or exports use the plugin.
    PluginInUse = ("plugin_in_use", CONFLICT),
    /// A plugin bundled with trawl, which cannot be changed.
    BundledPlugin = ("bundled_plugin", CONFLICT),
    /// The name of a plugin bundled with trawl.
    PluginNameReserved = ("plugin_name_reserved", CONFLICT),
    /// Plugins of that name belong to someone else.
    PluginNameTaken = ("plugin_name_taken", CONFLICT),
    /// That name and version exist with other bytes.
    PluginVersionExists = ("plugin_version_exists", CONFLICT),
    /// The run already ended.
    RunFinished = ("run_finished", CONFLICT),
    /// The `Idempotency-Key` was used in the last 24 hours with a different request body.
    IdempotencyKeyReused = ("idempotency_key_reused", UNPROCESSABLE_ENTITY),
    /// Retention removed the run's results (its row and earlier export files stay).
    RunPruned = ("run_pruned", CONFLICT),
    /// The work would be charged and the balance cannot pay for any of it.
    InsufficientCredits = ("insufficient_credits", PAYMENT_REQUIRED),
    /// A credit adjustment that would take the balance below zero.
    BalanceBelowZero = ("balance_below_zero", CONFLICT),
    /// A credit grant that would take the balance past the largest one (10^15).
    BalanceAboveMax = ("balance_above_max", CONFLICT),
    /// The body is larger than the route takes.
    PayloadTooLarge = ("payload_too_large", PAYLOAD_TOO_LARGE),
    /// A body that is not `application/json`.
    UnsupportedMediaType = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE),
    /// The JSON Schema is not valid, or its plugin cannot use it (`details` say where).
    InvalidSchema = ("invalid_schema", UNPROCESSABLE_ENTITY),
    /// A CSS selector that does not parse.
    InvalidSelector = ("invalid_selector", UNPROCESSABLE_ENTITY),
    /// No selector matches every example element and none of the rejected ones.
    NoSelector = ("no_selector", UNPROCESSABLE_ENTITY),
    /// A page too large or too deeply nested to work on within the limits.
    PageTooComplex = ("page_too_complex", UNPROCESSABLE_ENTITY),
    /// The work on a page ran past its time.
    Timeout = ("timeout", UNPROCESSABLE_ENTITY),
    /// The page a request names could not be fetched (`details` give the page's code).
    FetchFailed = ("fetch_failed", UNPROCESSABLE_ENTITY),
    /// A schedule's crontab expression or time zone is not valid.
    InvalidSchedule = ("invalid_schedule", UNPROCESSABLE_ENTITY),
    /// The job is not valid (`details` say where).
    InvalidJob = ("invalid_job", UNPROCESSABLE_ENTITY),
    /// A `browser` job on a host without Chromium: the message names what to install.
    BrowserUnavailable = ("browser_unavailable", UNPROCESSABLE_ENTITY),
    /// A limit above the host's ceiling.
    LimitAboveCeiling = ("limit_above_ceiling", UNPROCESSABLE_ENTITY),
    /// No plugin of that name the caller can use.
    UnknownPlugin = ("unknown_plugin", UNPROCESSABLE_ENTITY),
    /// An export's options or filters are wrong, or its exporter refused its options.
    InvalidExportOptions = ("invalid_export_options", UNPROCESSABLE_ENTITY),
    /// The exporter could not be started (it traps or breaks its contract).
    ExporterFailed = ("exporter_failed", UNPROCESSABLE_ENTITY),
    /// No schema with that id among the caller's.
    UnknownSchema = ("unknown_schema", UNPROCESSABLE_ENTITY),
    /// An exporter where an extractor is needed, or the other way round.
    WrongPluginKind = ("wrong_plugin_kind", UNPROCESSABLE_ENTITY),
    /// The upload is not a component trawl can load.
    InvalidPlugin = ("invalid_plugin", UNPROCESSABLE_ENTITY),
    /// A plugin name that is not lower-case kebab-case of at most 64 characters.
    InvalidPluginName = ("invalid_plugin_name", UNPROCESSABLE_ENTITY),
    /// A plugin version that is not semantic.
    InvalidPluginVersion = ("invalid_plugin_version", UNPROCESSABLE_ENTITY),
    /// A plugin description that is too long.
    InvalidPluginDescription = ("invalid_plugin_description", UNPROCESSABLE_ENTITY),
    /// An exporter's media type or file extension that is not acceptable.
    InvalidPluginFormat = ("invalid_plugin_format", UNPROCESSABLE_ENTITY),
    /// The component took too long to compile.
    CompileTimeout = ("compile_timeout", UNPROCESSABLE_ENTITY),
    /// A component built against a WIT version this host does not speak.
    UnsupportedWitVersion = ("unsupported_wit_version", UNPROCESSABLE_ENTITY),
    /// The plugin's `info` call failed.
    PluginInfoFailed = ("plugin_info_failed", UNPROCESSABLE_ENTITY),
    /// Creating the job would pass the caller's `jobs` quota (an admin can raise it).
    QuotaJobs = ("quota_jobs", FORBIDDEN),
    /// Creating the schema would pass the caller's `schemas` quota (an admin can raise it).
    QuotaSchemas = ("quota_schemas", FORBIDDEN),
    /// The upload would pass the caller's `plugins` quota of private plugin versions (an admin can raise it).
    QuotaPlugins = ("quota_plugins", FORBIDDEN),
    /// A job's or a run's `max_pages` above the caller's `max_pages` quota (an admin can raise it).
    QuotaMaxPages = ("quota_max_pages", FORBIDDEN),
    /// A schedule firing more often than the caller's `min_schedule_interval_secs` quota allows (an admin can lower it).
    QuotaScheduleInterval = ("quota_schedule_interval", FORBIDDEN),
    /// Too many requests with this API key: wait the `Retry-After` seconds.
    RateLimited = ("rate_limited", TOO_MANY_REQUESTS),
    /// Something went wrong on trawl's side (logged; the answer says nothing more).
    InternalError = ("internal_error", INTERNAL_SERVER_ERROR),
}

impl ErrorCode {
    /// The distinct texts, in order.
    pub fn texts() -> Vec<&'static str> {
        let mut texts: Vec<&'static str> = Vec::new();
        for code in Self::ALL {
            if !texts.contains(&code.as_str()) {
                texts.push(code.as_str());
            }
        }
        texts
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut table = String::from(
            "Stable, snake_case: clients branch on this. Each code, its status and what it \
             means:\n\n| code | status | meaning |\n|---|---|---|\n",
        );
        for code in Self::ALL {
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.meaning()
            ));
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::texts()))
            .description(Some(table))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {
    fn name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Option<Vec<Problem>>,
}

/// The JSON body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: clients branch on this.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// For validation errors: each problem, where (a JSON pointer into what was sent)
    /// and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Problem>>,
}

impl ApiError {
    /// An answer with `code`, whose status it carries.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Attach the problems found.
    pub fn with_details(mut self, details: Vec<Problem>) -> Self {
        self.details = Some(details);
        self
    }

    /// 404: missing, or someone else's.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 403.
    pub fn forbidden(message: &str) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 500, logged; the client learns nothing about internals.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {error}");
        Self::new(ErrorCode::InternalError, "something went wrong on our side")
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

impl From<Exceeded> for ApiError {
    fn from(e: Exceeded) -> Self {
        let code = match e {
            Exceeded::Count {
                what: Counted::Jobs,
                ..
            } => ErrorCode::QuotaJobs,
            Exceeded::Count {
                what: Counted::Schemas,
                ..
            } => ErrorCode::QuotaSchemas,
            Exceeded::Count {
                what: Counted::Plugins,
                ..
            } => ErrorCode::QuotaPlugins,
            Exceeded::MaxPages { .. } => ErrorCode::QuotaMaxPages,
            Exceeded::ScheduleInterval { .. } => ErrorCode::QuotaScheduleInterval,
        };
        Self::new(code, e.to_string())
    }
}

impl From<QuotaError> for ApiError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::Exceeded(e) => e.into(),
            QuotaError::Db(e) => e.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => Self::new(ErrorCode::InvalidRequest, e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Self::new(ErrorCode::InvalidJson, e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                ErrorCode::UnsupportedMediaType,
                "send JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            }
            other => Self::new(ErrorCode::MalformedRequest, other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        // A malformed id names nothing that exists.
        Self::not_found("resource")
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(ErrorCode::InvalidQuery, r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        (self.code.status(), Json(body)).into_response()
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A text names one condition: two variants share it only to answer two statuses.
    #[test]
    fn each_code_has_one_text_and_status() {
        for (i, a) in ErrorCode::ALL.iter().enumerate() {
            assert!(
                a.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{a:?}"
            );
            assert!(!a.meaning().is_empty(), "{a:?}");
            for b in &ErrorCode::ALL[i + 1..] {
                assert!(
                    a.as_str() != b.as_str() || a.status() != b.status(),
                    "{a:?} and {b:?} say the same"
                );
            }
        }
        assert_eq!(ErrorCode::InvalidRequest.status(), 422);
        assert_eq!(ErrorCode::MalformedRequest.as_str(), "invalid_request");
    }

    /// The document lists every text once, with each code's status in its table.
    #[test]
    fn the_document_lists_every_code() {
        let schema =
            serde_json::to_value(<ErrorCode as utoipa::PartialSchema>::schema()).expect("json");
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(listed, ErrorCode::texts());
        let table = schema["description"].as_str().expect("a description");
        for code in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.status().as_u16());
            assert!(table.contains(&row), "{row}");
        }
        let body = serde_json::to_value(ErrorDetail {
            code: ErrorCode::LinkExpired,
            message: String::new(),
            details: None,
        })
        .expect("json");
        assert_eq!(body["code"], "link_expired");
    }
}
