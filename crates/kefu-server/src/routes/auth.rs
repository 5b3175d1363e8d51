//! Login, logout and password change.

use super::ClientIp;
use crate::auth::{Principal, password, sip, token};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::event::{Event, EventKind};
use kefu_core::{EventId, Role, Timestamp, UserId};
use kefu_store::{AuditOutcome, NewAuditEntry, User, UserPatch};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A new session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the token stops working (epoch ms).
    pub expires_at: Timestamp,
    /// The logged-in user.
    pub user: User,
}

/// A password change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new password (8–256 characters).
    pub new_password: String,
}

async fn audit_login(state: &AppState, user: Option<&User>, name: &str, outcome: AuditOutcome, ip: &str, why: &str) {
    let entry = NewAuditEntry {
        at: state.clock.now(),
        actor_id: user.map(|u| u.id),
        actor_name: name.chars().take(64).collect(),
        action: "auth.login".into(),
        target: name.chars().take(64).collect(),
        outcome,
        client_ip: Some(ip.to_owned()),
        detail: serde_json::json!({ "reason": why }),
    };
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, "could not write audit entry for login");
    }
}

/// Exchanges a username and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong credentials or disabled account", body = crate::error::ErrorBody),
        (status = 429, description = "too many attempts", body = crate::error::ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let now_instant = Instant::now();
    if let Err(wait) = state.login_limiter.check(&req.username, &ip, now_instant) {
        audit_login(&state, None, &req.username, AuditOutcome::Failure, &ip, "rate_limited").await;
        let mut e = ApiError::new(ErrorCode::RateLimited, format!("too many login attempts; try again in {wait} s"));
        e.retry_after_secs = Some(wait);
        return Err(e);
    }
    let found = state.store.user_credentials(&req.username).await?;
    let stored_hash = found.as_ref().map_or_else(|| password::dummy_hash().to_owned(), |(_, h)| h.clone());
    let ok = password::verify_async(req.password, stored_hash).await;
    let user = match found {
        Some((user, _)) if ok => user,
        Some((user, _)) => {
            state.login_limiter.failed(&req.username, now_instant);
            audit_login(&state, Some(&user), &req.username, AuditOutcome::Failure, &ip, "bad_password").await;
            return Err(bad_credentials());
        }
        None => {
            state.login_limiter.failed(&req.username, now_instant);
            audit_login(&state, None, &req.username, AuditOutcome::Failure, &ip, "unknown_user").await;
            return Err(bad_credentials());
        }
    };
    if !user.enabled {
        audit_login(&state, Some(&user), &req.username, AuditOutcome::Failure, &ip, "disabled").await;
        return Err(ApiError::new(ErrorCode::AccountDisabled, "the account is disabled"));
    }
    state.login_limiter.succeeded(&req.username);

    let token = token::generate();
    let now = state.clock.now();
    let ttl_ms = i64::try_from(state.settings.token_ttl().as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.plus_millis(ttl_ms);
    state.store.create_session(&token::hash(&token), user.id, now, expires_at, Some(&ip)).await?;
    audit_login(&state, Some(&user), &req.username, AuditOutcome::Success, &ip, "ok").await;
    record_session_event(&state, user.id, user.role, EventKind::SessionOpened, now).await;
    tracing::info!(user = %user.username, role = %user.role, "login");
    Ok(Json(LoginResponse { token, token_type: "Bearer", expires_at, user }))
}

fn bad_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password")
}

async fn record_session_event(state: &AppState, user: UserId, role: Role, kind: EventKind, now: Timestamp) {
    let mut ev = Event::new(EventId::from_uuid(kefu_store::new_uuid()), now, kind);
    ev.agent = Some(user);
    ev.data = serde_json::json!({ "role": role, "agent_role": role == Role::Agent });
    if let Err(e) = state.store.append_event(&ev).await {
        tracing::error!(error = %e, "could not append session event");
    }
}

/// Ends the session of the token used for this call.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "the token no longer works"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(State(state): State<AppState>, ClientIp(ip): ClientIp, p: Principal) -> ApiResult<StatusCode> {
    let now = state.clock.now();
    state.store.revoke_session(&p.token_hash, now).await?;
    state.cti.close_session(&p.token_hash);
    record_session_event(&state, p.id, p.role, EventKind::SessionClosed, now).await;
    let entry = NewAuditEntry {
        at: now,
        actor_id: Some(p.id),
        actor_name: p.username.clone(),
        action: "auth.logout".into(),
        target: p.username.clone(),
        outcome: AuditOutcome::Success,
        client_ip: Some(ip),
        detail: serde_json::json!({}),
    };
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, "could not write audit entry for logout");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's own password; every session of the user, this one included, ends. With
/// an extension, it is also the new SIP password of their phone.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 204, description = "changed; log in again"), (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    let (user, stored) = state
        .store
        .user_credentials(&p.username)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "the token's user no longer exists"))?;
    if !password::verify_async(req.current_password, stored).await {
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "the current password is wrong"));
    }
    let sip = sip::for_user(&state.settings.sip_realm, user.extension.as_deref(), &req.new_password);
    let hash = password::hash_async(req.new_password).await.map_err(|e| match e {
        password::PasswordError::Length => ApiError::validation(e.to_string()),
        other => ApiError::internal(&other),
    })?;
    let now = state.clock.now();
    state.store.update_user(p.id, &UserPatch { password_hash: Some(hash), sip, ..Default::default() }, now).await?;
    state.cti.close_user(p.id);
    let entry = NewAuditEntry {
        at: now,
        actor_id: Some(p.id),
        actor_name: p.username.clone(),
        action: "auth.password_change".into(),
        target: p.username.clone(),
        outcome: AuditOutcome::Success,
        client_ip: Some(ip),
        detail: serde_json::json!({}),
    };
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, "could not write audit entry for password change");
    }
    Ok(StatusCode::NO_CONTENT)
}
