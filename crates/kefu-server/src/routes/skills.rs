//! Skills agents hold and queues require.

use super::{ClientIp, audit_change, valid_name};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::SkillId;
use kefu_store::{NewSkill, Page, Skill, SkillPatch};
use serde::Deserialize;

/// A new skill.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSkill {
    /// Unique name, 1–64 characters.
    pub name: String,
    /// What it covers (up to 500 characters).
    #[serde(default)]
    pub description: String,
}

/// A change to a skill.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSkill {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

pub(crate) fn valid_description(d: String) -> ApiResult<String> {
    if d.chars().count() > 500 {
        return Err(ApiError::validation("description must be at most 500 characters"));
    }
    Ok(d)
}

/// Lists skills.
#[utoipa::path(get, path = "/api/v1/skills", tag = "skills", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<Skill>))))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<Skill>>> {
    Ok(Json(state.store.list_skills(&paging.request()).await?))
}

/// Creates a skill.
#[utoipa::path(post, path = "/api/v1/skills", tag = "skills", security(("bearer" = [])), request_body = CreateSkill,
    responses((status = 201, body = Skill), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateSkill>,
) -> ApiResult<(StatusCode, Json<Skill>)> {
    let new = NewSkill { name: valid_name("name", &req.name)?, description: valid_description(req.description)? };
    let skill = state.store.create_skill(&new, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "skill.create", skill.name.clone(), serde_json::json!({ "id": skill.id })).await;
    Ok((StatusCode::CREATED, Json(skill)))
}

/// One skill.
#[utoipa::path(get, path = "/api/v1/skills/{id}", tag = "skills", security(("bearer" = [])),
    params(("id" = SkillId, Path, description = "skill id")),
    responses((status = 200, body = Skill), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, PathId(id): PathId<SkillId>) -> ApiResult<Json<Skill>> {
    Ok(Json(state.store.skill(id).await?))
}

/// Changes a skill.
#[utoipa::path(patch, path = "/api/v1/skills/{id}", tag = "skills", security(("bearer" = [])), request_body = UpdateSkill,
    params(("id" = SkillId, Path, description = "skill id")),
    responses((status = 200, body = Skill), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<SkillId>,
    Json(req): Json<UpdateSkill>,
) -> ApiResult<Json<Skill>> {
    let patch = SkillPatch {
        name: req.name.map(|n| valid_name("name", &n)).transpose()?,
        description: req.description.map(valid_description).transpose()?,
    };
    let skill = state.store.update_skill(id, &patch, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "skill.update", skill.name.clone(), serde_json::json!({ "id": id })).await;
    Ok(Json(skill))
}

/// Deletes a skill that no agent holds and no queue requires.
#[utoipa::path(delete, path = "/api/v1/skills/{id}", tag = "skills", security(("bearer" = [])),
    params(("id" = SkillId, Path, description = "skill id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<SkillId>,
) -> ApiResult<StatusCode> {
    state.store.delete_skill(id).await?;
    audit_change(&state, &p, &ip, "skill.delete", id.to_string(), serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}
