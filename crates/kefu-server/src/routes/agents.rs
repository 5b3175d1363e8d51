//! Agents in the ACD: sign in, ready, not ready (with a reason), sign out — for oneself, or
//! forced by a supervisor — the live view of agents and queues, and colleagues' states (for
//! an agent's transfer dialog).

use crate::acd::{AcdStatus, AgentView};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, PathId};
use crate::state::AppState;
use axum::extract::State;
use kefu_core::UserId;
use kefu_core::acd::{AcdError, Input};
use kefu_core::agent::{AgentState, NotReadyReason, StateKind};
use serde::{Deserialize, Serialize};

/// The state an agent asks for.
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum WantedState {
    /// Take calls (signs in first if needed).
    Ready,
    /// Signed in, not taking calls (signs in first if needed).
    NotReady,
    /// Signed out of the ACD.
    LoggedOut,
}

/// A state change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    /// `ready`, `not_ready` or `logged_out`.
    pub state: WantedState,
    /// Why not ready (break, meal, meeting, training, other); default `other`.
    pub reason: Option<NotReadyReason>,
}

fn acd_error(e: AcdError) -> ApiError {
    match e {
        AcdError::UnknownAgent(_) | AcdError::UnknownCall(_) | AcdError::UnknownQueue(_) => {
            ApiError::new(ErrorCode::Conflict, format!("{e}: sign in first"))
        }
        other => ApiError::new(ErrorCode::Conflict, other.to_string()),
    }
}

async fn view(state: &AppState, agent: UserId) -> ApiResult<Json<AgentView>> {
    let status = state.acd.status().await.ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "the ACD is stopped"))?;
    status
        .agents
        .into_iter()
        .find(|a| a.agent == agent)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("the agent has not signed in to the ACD since it started"))
}

async fn set_state(state: &AppState, agent: UserId, req: &StateRequest, forced: bool) -> ApiResult<Json<AgentView>> {
    if req.reason.is_some() && req.state != WantedState::NotReady {
        return Err(ApiError::validation("`reason` goes with `not_ready` only"));
    }
    let status = state.acd.status().await.ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "the ACD is stopped"))?;
    let signed_in = status
        .agents
        .iter()
        .find(|a| a.agent == agent)
        .is_some_and(|a| !matches!(a.state, kefu_core::agent::AgentState::LoggedOut));
    if req.state != WantedState::LoggedOut && !signed_in {
        let user = state.store.user(agent).await?;
        if !user.enabled {
            return Err(ApiError::new(ErrorCode::Conflict, "the account is disabled"));
        }
        let skills = user.skills.iter().map(|s| (s.skill_id, s.proficiency)).collect();
        state.acd.login(agent, user.extension.clone(), skills).await.map_err(acd_error)?;
    }
    let input = match req.state {
        WantedState::Ready => Some(Input::AgentReady { agent }),
        WantedState::NotReady => {
            Some(Input::AgentNotReady { agent, reason: req.reason.unwrap_or(NotReadyReason::Other) })
        }
        WantedState::LoggedOut if signed_in => Some(Input::AgentLogout { agent, forced }),
        WantedState::LoggedOut => None,
    };
    if let Some(input) = input {
        state.acd.input(input).await.map_err(acd_error)?;
    }
    view(state, agent).await
}

/// The caller's own ACD state.
#[utoipa::path(get, path = "/api/v1/agents/me/state", tag = "acd", security(("bearer" = [])),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::ErrorBody)))]
pub async fn my_state(State(state): State<AppState>, p: Principal) -> ApiResult<Json<AgentView>> {
    view(&state, p.id).await
}

/// Signs the caller in, makes them ready or not ready, or signs them out.
#[utoipa::path(put, path = "/api/v1/agents/me/state", tag = "acd", security(("bearer" = [])), request_body = StateRequest,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn set_my_state(
    State(state): State<AppState>,
    p: Principal,
    Json(req): Json<StateRequest>,
) -> ApiResult<Json<AgentView>> {
    set_state(&state, p.id, &req, false).await
}

/// A team lead, supervisor or administrator sets an agent's state (a forced sign-out is
/// allowed from any state but a call); agents use `/agents/me/state`.
#[utoipa::path(put, path = "/api/v1/agents/{id}/state", tag = "acd", security(("bearer" = [])), request_body = StateRequest,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_agent_state(
    State(state): State<AppState>,
    crate::routes::ClientIp(ip): crate::routes::ClientIp,
    p: Principal,
    PathId(id): PathId<UserId>,
    Json(req): Json<StateRequest>,
) -> ApiResult<Json<AgentView>> {
    let view = set_state(&state, id, &req, id != p.id).await?;
    if id != p.id {
        // a supervisor's forced state change: audited, and a `supervisor.action` event
        let detail = serde_json::json!({ "state": req.state, "reason": req.reason });
        super::supervisor::record(&state, &p, &ip, "agent.force_state", id.to_string(), None, Some(id), detail).await;
    }
    Ok(view)
}

/// Agents and queues right now: states, waiting calls, service level, abandon rate.
#[utoipa::path(get, path = "/api/v1/acd", tag = "acd", security(("bearer" = [])),
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::ErrorBody)))]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<AcdStatus>> {
    state.acd.status().await.map(Json).ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "the ACD is stopped"))
}

/// A colleague signed in to the ACD, as any agent may see them: who, where to reach them, and
/// their state — no contact details, skills or calls.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Colleague {
    /// User id (transfer to them with the target `agent:ID`).
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Extension, if they have one.
    pub extension: Option<String>,
    /// ACD state (`ready`, `not_ready`, `reserved`, `talking`, `on_hold`, `after_call_work`).
    pub state: StateKind,
    /// Why not ready (with `not_ready` only).
    pub reason: Option<NotReadyReason>,
    /// When they entered the state (epoch ms).
    pub since: kefu_core::Timestamp,
}

/// Ready first, then by name.
fn colleague_order(a: &Colleague, b: &Colleague) -> std::cmp::Ordering {
    (a.state != StateKind::Ready).cmp(&(b.state != StateKind::Ready)).then_with(|| a.name.cmp(&b.name))
}

/// The agents signed in to the ACD, with name, extension and state (ready first, then by
/// name): what an agent needs to pick a colleague to transfer to or consult. The caller is
/// listed too.
#[utoipa::path(get, path = "/api/v1/agents/colleagues", tag = "acd", security(("bearer" = [])),
    responses((status = 200, body = [Colleague]), (status = 403, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn colleagues(State(state): State<AppState>) -> ApiResult<Json<Vec<Colleague>>> {
    let status = state.acd.status().await.ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "the ACD is stopped"))?;
    let signed_in: Vec<_> = status.agents.into_iter().filter(|a| a.state.kind() != StateKind::LoggedOut).collect();
    if signed_in.is_empty() {
        return Ok(Json(Vec::new()));
    }
    let users: std::collections::HashMap<UserId, kefu_store::User> =
        super::supervisor::all_users(&state).await?.into_iter().map(|u| (u.id, u)).collect();
    let mut out: Vec<Colleague> = signed_in
        .into_iter()
        .map(|a| {
            let user = users.get(&a.agent);
            Colleague {
                id: a.agent,
                name: user.map_or_else(|| a.agent.to_string(), |u| u.display_name.clone()),
                extension: user.and_then(|u| u.extension.clone()).or(a.extension),
                state: a.state.kind(),
                reason: match a.state {
                    AgentState::NotReady { reason } => Some(reason),
                    _ => None,
                },
                since: a.since,
            }
        })
        .collect();
    out.sort_by(colleague_order);
    Ok(Json(out))
}
