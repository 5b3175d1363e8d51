//! Teams of agents.

use super::{ClientIp, audit_change, valid_name};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::TeamId;
use kefu_store::{NewTeam, Page, Team, TeamPatch};
use serde::Deserialize;

/// A new team.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// Unique name, 1–64 characters.
    pub name: String,
}

/// A change to a team.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    /// New name.
    pub name: Option<String>,
}

/// Lists teams.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<Team>))))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<Team>>> {
    Ok(Json(state.store.list_teams(&paging.request()).await?))
}

/// Creates a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), request_body = CreateTeam,
    responses((status = 201, body = Team), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let team = state.store.create_team(&NewTeam { name: valid_name("name", &req.name)? }, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "team.create", team.name.clone(), serde_json::json!({ "id": team.id })).await;
    Ok((StatusCode::CREATED, Json(team)))
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = TeamId, Path, description = "team id")),
    responses((status = 200, body = Team), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, PathId(id): PathId<TeamId>) -> ApiResult<Json<Team>> {
    Ok(Json(state.store.team(id).await?))
}

/// Renames a team.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])), request_body = UpdateTeam,
    params(("id" = TeamId, Path, description = "team id")),
    responses((status = 200, body = Team), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<TeamId>,
    Json(req): Json<UpdateTeam>,
) -> ApiResult<Json<Team>> {
    let name = req.name.map(|n| valid_name("name", &n)).transpose()?;
    let team = state.store.update_team(id, &TeamPatch { name }, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "team.update", team.name.clone(), serde_json::json!({ "id": id })).await;
    Ok(Json(team))
}

/// Deletes a team without members.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    params(("id" = TeamId, Path, description = "team id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<TeamId>,
) -> ApiResult<StatusCode> {
    state.store.delete_team(id).await?;
    audit_change(&state, &p, &ip, "team.delete", id.to_string(), serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}
