//! Access control. Each route is registered together with its [`Access`] rule (see
//! `routes::table`), so a route cannot exist without one; [`check`] enforces it before the
//! handler runs, and [`Principal`] hands the authenticated user to the handler.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kefu_core::{Permission, Role, UserId};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (health, metrics, login, the API description).
    Public,
    /// Any logged-in user.
    Authenticated,
    /// Users whose role holds the permission.
    Allowed(Permission),
    /// The user the path names (`{id}`), or users whose role holds the permission; the
    /// handler finishes the check with [`Principal::require_self_or`].
    SelfOr(Permission),
    /// Any logged-in user for records that are their own (their recordings), users whose
    /// role holds the permission for everyone's; the handler filters lists with
    /// [`Principal::sees_all`] and checks single records with [`Principal::require_self_or`].
    OwnOr(Permission),
}

impl Access {
    /// Whether `role` passes this rule for a resource that is not the caller's own.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::Authenticated => true,
            Access::Allowed(p) | Access::SelfOr(p) | Access::OwnOr(p) => role.allows(p),
        }
    }
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The user's id.
    pub id: UserId,
    /// The user's login name.
    pub username: String,
    /// The user's role.
    pub role: Role,
    /// The stored hash of the token they used (to log out this session).
    pub token_hash: String,
}

impl Principal {
    /// `Ok` if the caller's role holds `permission`, else 403.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) { Ok(()) } else { Err(forbidden(self.role, permission)) }
    }

    /// `Ok` if `id` is the caller, or the caller's role holds `permission`, else 403.
    pub fn require_self_or(&self, id: UserId, permission: Permission) -> Result<(), ApiError> {
        if self.id == id { Ok(()) } else { self.require(permission) }
    }

    /// Whether the caller sees everyone's records under an [`Access::OwnOr`] rule, rather than
    /// only their own.
    pub fn sees_all(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

fn forbidden(role: Role, permission: Permission) -> ApiError {
    let what = serde_json::to_value(permission).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    ApiError::forbidden(format!("role `{role}` lacks the `{what}` permission"))
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "this route needs a bearer token"))
    }
}

/// Reads `Authorization: Bearer <token>` and resolves it to a live session and an enabled user.
pub async fn authenticate(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Principal, ApiError> {
    let unauthenticated =
        || ApiError::new(ErrorCode::Unauthenticated, "missing `Authorization: Bearer <token>` header; log in first");
    let value = headers.get(axum::http::header::AUTHORIZATION).ok_or_else(unauthenticated)?;
    let value = value.to_str().map_err(|_| unauthenticated())?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthenticated)?;
    authenticate_token(state, token).await
}

/// The `?token=` of a WebSocket upgrade without an `Authorization` header: browsers cannot
/// set headers on a WebSocket (the CTI stream). Other requests must use the header, so tokens
/// stay out of URLs (and proxies' logs) everywhere else.
fn socket_token(req: &Request) -> Option<String> {
    let headers = req.headers();
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        return None;
    }
    let upgrade = headers.get(axum::http::header::UPGRADE).and_then(|v| v.to_str().ok());
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return None;
    }
    req.uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Resolves a bearer token to a live session and an enabled user.
async fn authenticate_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let token_hash = super::token::hash(token);
    let now = state.clock.now();
    let (session, who) = state
        .store
        .session_identity(&token_hash)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "the token is not valid; log in again"))?;
    if session.revoked_at.is_some() {
        return Err(ApiError::new(ErrorCode::InvalidToken, "the token was revoked; log in again"));
    }
    if now >= session.expires_at {
        return Err(ApiError::new(ErrorCode::TokenExpired, "the token has expired; log in again"));
    }
    if !who.enabled {
        return Err(ApiError::new(ErrorCode::AccountDisabled, "the account is disabled"));
    }
    Ok(Principal { id: who.id, username: who.username, role: who.role, token_hash })
}

/// Enforces `access` for one route, then runs the handler with the [`Principal`] attached.
pub async fn check(access: Access, mut req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return ApiError::internal(&"application state missing from request").into_response();
    };
    let authenticated = match socket_token(&req) {
        Some(token) => authenticate_token(&state, &token).await,
        None => authenticate(&state, req.headers()).await,
    };
    let principal = match authenticated {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Access::Allowed(p) = access
        && let Err(e) = principal.require(p)
    {
        return e.into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}
