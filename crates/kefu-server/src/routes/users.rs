//! Users: the directory (team leads and up), self-service profile, and administration.

use super::{ClientIp, audit_change, double_option, valid_name};
use crate::auth::{Principal, password, sip};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::{Permission, Role, TeamId, UserId};
use kefu_store::{NewUser, Page, User, UserPatch, UserSkill};
use serde::Deserialize;

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: 1–64 of letters, digits, `.`, `_`, `-`, `@`.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Initial password (8–256 characters). With an extension, it is also the phone's SIP
    /// password (digest username: the extension).
    pub password: String,
    /// Team.
    #[serde(default)]
    pub team_id: Option<TeamId>,
    /// SIP extension (2–16 digits).
    #[serde(default)]
    pub extension: Option<String>,
    /// Skills with proficiency 1–10.
    #[serde(default)]
    pub skills: Vec<UserSkill>,
}

/// A change to a user; absent fields stay, `null` clears `team_id` / `extension`.
///
/// The SIP password is the user's password, hashed with the extension as digest username. A new
/// `password` also sets the SIP credentials for the (new) extension; a new or removed
/// `extension` without a `password` deletes them, and the phone cannot register until the
/// password is set again.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Enable or disable (disabling ends the user's sessions).
    pub enabled: Option<bool>,
    /// New team, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TeamId>)]
    pub team_id: Option<Option<TeamId>>,
    /// New extension, or `null` for none. Without `password`, this deletes the user's SIP
    /// credentials (they were made for the old extension).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub extension: Option<Option<String>>,
    /// New password (ends the user's sessions); with an extension, also the SIP password.
    pub password: Option<String>,
    /// Replace the skills.
    pub skills: Option<Vec<UserSkill>>,
}

fn valid_username(u: &str) -> ApiResult<String> {
    let ok = !u.is_empty()
        && u.chars().count() <= 64
        && u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(u.to_owned())
    } else {
        Err(ApiError::validation("username must be 1–64 of letters, digits, `.`, `_`, `-`, `@`"))
    }
}

fn valid_extension(e: Option<String>) -> ApiResult<Option<String>> {
    match e {
        None => Ok(None),
        Some(e) if (2..=16).contains(&e.len()) && e.chars().all(|c| c.is_ascii_digit()) => Ok(Some(e)),
        Some(_) => Err(ApiError::validation("extension must be 2–16 digits")),
    }
}

async fn hash_password(pw: String) -> ApiResult<String> {
    password::hash_async(pw).await.map_err(|e| match e {
        password::PasswordError::Length => ApiError::validation(e.to_string()),
        other => ApiError::internal(&other),
    })
}

/// Lists users (the directory).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<User>)), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<User>>> {
    Ok(Json(state.store.list_users(&paging.request()).await?))
}

/// Creates a user; one with an extension gets SIP credentials from the password, stored with
/// the user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = User), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let username = valid_username(&req.username)?;
    let display_name = valid_name("display_name", &req.display_name)?;
    let extension = valid_extension(req.extension)?;
    let sip = sip::for_user(&state.settings.sip_realm, extension.as_deref(), &req.password);
    let new = NewUser {
        username,
        display_name,
        role: req.role,
        password_hash: hash_password(req.password).await?,
        team_id: req.team_id,
        extension,
        skills: req.skills,
        sip,
    };
    let user = state.store.create_user(&new, state.clock.now()).await?;
    audit_change(
        &state,
        &p,
        &ip,
        "user.create",
        user.username.clone(),
        serde_json::json!({ "id": user.id, "role": user.role }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user)))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(State(state): State<AppState>, p: Principal) -> ApiResult<Json<User>> {
    Ok(Json(state.store.user(p.id).await?))
}

/// One user: anyone may read their own; the directory permission reads others.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "user id")),
    responses((status = 200, body = User), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, p: Principal, PathId(id): PathId<UserId>) -> ApiResult<Json<User>> {
    p.require_self_or(id, Permission::DirectoryRead)?;
    Ok(Json(state.store.user(id).await?))
}

/// Changes a user. An administrator cannot remove the last enabled administrator. A new
/// password sets the SIP credentials for the user's extension in the same change; a new or
/// removed extension without a new password deletes them (the phone needs the password set
/// again).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateUser,
    params(("id" = UserId, Path, description = "user id")),
    responses((status = 200, body = User), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<UserId>,
    Json(req): Json<UpdateUser>,
) -> ApiResult<Json<User>> {
    let current = state.store.user(id).await?;
    let loses_admin = current.role == Role::Admin
        && current.enabled
        && (req.role.is_some_and(|r| r != Role::Admin) || req.enabled == Some(false));
    if loses_admin {
        ensure_another_admin(&state, id).await?;
    }
    let mut changed: Vec<&str> = Vec::new();
    let mut patch = UserPatch::default();
    if let Some(d) = req.display_name {
        patch.display_name = Some(valid_name("display_name", &d)?);
        changed.push("display_name");
    }
    if let Some(r) = req.role {
        patch.role = Some(r);
        changed.push("role");
    }
    if let Some(e) = req.enabled {
        patch.enabled = Some(e);
        changed.push("enabled");
    }
    if let Some(t) = req.team_id {
        patch.team_id = Some(t);
        changed.push("team_id");
    }
    if let Some(e) = req.extension {
        patch.extension = Some(valid_extension(e)?);
        changed.push("extension");
    }
    if let Some(pw) = req.password {
        let extension = patch.extension.clone().unwrap_or(current.extension.clone());
        patch.sip = sip::for_user(&state.settings.sip_realm, extension.as_deref(), &pw);
        patch.password_hash = Some(hash_password(pw).await?);
        changed.push("password");
    }
    if let Some(s) = req.skills {
        patch.skills = Some(s);
        changed.push("skills");
    }
    let user = state.store.update_user(id, &patch, state.clock.now()).await?;
    // live CTI sockets were opened with the old rights, team or password: they reconnect
    if changed.iter().any(|c| matches!(*c, "role" | "enabled" | "team_id" | "password")) {
        state.cti.close_user(id);
    }
    audit_change(
        &state,
        &p,
        &ip,
        "user.update",
        user.username.clone(),
        serde_json::json!({ "id": id, "changed": changed }),
    )
    .await;
    Ok(Json(user))
}

/// Deletes a user (prefer disabling: the logs keep the id either way).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = UserId, Path, description = "user id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<UserId>,
) -> ApiResult<StatusCode> {
    let current = state.store.user(id).await?;
    if current.role == Role::Admin && current.enabled {
        ensure_another_admin(&state, id).await?;
    }
    state.store.delete_user(id).await?;
    state.cti.close_user(id);
    audit_change(&state, &p, &ip, "user.delete", current.username, serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn ensure_another_admin(state: &AppState, except: UserId) -> ApiResult<()> {
    if state.store.count_enabled_admins_except(except).await? == 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this is the last enabled administrator; create or enable another one first",
        ));
    }
    Ok(())
}
