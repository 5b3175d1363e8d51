//! The API's error catalogue: one table of stable codes with their HTTP status, and the JSON
//! body `{"error":{"code","message"}}` every failure is returned as (with `details`, a list
//! of every problem, when one request has several).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kefu_store::StoreError;
use serde::Serialize;

/// A stable, snake_case error code. Clients branch on the code, people read the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON syntax, bad query string, malformed id).
    BadRequest,
    /// No or malformed credentials.
    Unauthenticated,
    /// Wrong username or password.
    InvalidCredentials,
    /// The bearer token is unknown or was revoked.
    InvalidToken,
    /// The bearer token has expired.
    TokenExpired,
    /// The account is disabled.
    AccountDisabled,
    /// The caller's role may not do this.
    Forbidden,
    /// No such resource.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The change clashes with the current state (taken name, row in use).
    Conflict,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// Well-formed, but the values break a rule (wrong type, unknown field, out of range).
    ValidationFailed,
    /// Too many attempts; wait and retry.
    RateLimited,
    /// Something broke on our side; the message carries a reference for the logs.
    Internal,
    /// A dependency (the database) is not available.
    Unavailable,
    /// The byte range asked for lies outside the file (media downloads).
    RangeNotSatisfiable,
}

impl ErrorCode {
    /// The HTTP status for this code.
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::AccountDisabled => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        }
    }
}

/// An API failure: a code, a message for people, and optionally when to retry.
#[derive(Debug)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, in words.
    pub message: String,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after_secs: Option<u64>,
    /// Every problem, one message each, when there are several (a flow's validation).
    pub details: Vec<String>,
}

/// The JSON error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The code and message of an error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// Every problem found, one message each, when the request has several (absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retry_after_secs: None, details: Vec::new() }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// 422.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }

    /// 422 listing every problem in `details`.
    pub fn validation_details(message: impl Into<String>, details: Vec<String>) -> Self {
        ApiError { details, ..Self::validation(message) }
    }

    /// 500, logging the cause with a reference the caller can quote.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let reference = kefu_store::new_uuid().simple().to_string();
        let reference = &reference[reference.len() - 12..];
        tracing::error!(reference, error = %cause, "internal error");
        Self::new(ErrorCode::Internal, format!("internal error (reference {reference})"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            StoreError::Invalid(m) => ApiError::validation(m),
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::new(ErrorCode::Unavailable, "the database is not available; try again shortly")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, details: self.details } };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
