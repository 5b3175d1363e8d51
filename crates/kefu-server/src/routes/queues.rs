//! Queues (skill groups): name, routing strategy, service targets and required skills.

use super::skills::valid_description;
use super::{ClientIp, audit_change, valid_name};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::QueueId;
use kefu_core::org::{QueueStrategy, ServiceTargets};
use kefu_store::{NewQueue, Page, Queue, QueuePatch, QueueSkill};
use serde::Deserialize;

/// A new queue.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQueue {
    /// Unique name, 1–64 characters.
    pub name: String,
    /// What the queue is for.
    #[serde(default)]
    pub description: String,
    /// Routing strategy (default `longest_idle`).
    #[serde(default)]
    pub strategy: QueueStrategy,
    /// Service targets (defaults: 80 % in 20 s, ASA 20 s, abandon ≤ 5 %).
    #[serde(default)]
    pub targets: ServiceTargets,
    /// Required skills with minimum proficiency.
    #[serde(default)]
    pub skills: Vec<QueueSkill>,
}

/// A change to a queue; absent fields stay.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateQueue {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New strategy.
    pub strategy: Option<QueueStrategy>,
    /// New targets (replaces all four).
    pub targets: Option<ServiceTargets>,
    /// Replace the required skills.
    pub skills: Option<Vec<QueueSkill>>,
}

fn valid_targets(t: ServiceTargets) -> ApiResult<ServiceTargets> {
    let problems = t.problems();
    if problems.is_empty() { Ok(t) } else { Err(ApiError::validation(format!("targets: {}", problems.join("; ")))) }
}

/// Lists queues with their skills and targets.
#[utoipa::path(get, path = "/api/v1/queues", tag = "queues", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<Queue>))))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<Queue>>> {
    Ok(Json(state.store.list_queues(&paging.request()).await?))
}

/// Creates a queue.
#[utoipa::path(post, path = "/api/v1/queues", tag = "queues", security(("bearer" = [])), request_body = CreateQueue,
    responses((status = 201, body = Queue), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateQueue>,
) -> ApiResult<(StatusCode, Json<Queue>)> {
    let new = NewQueue {
        name: valid_name("name", &req.name)?,
        description: valid_description(req.description)?,
        strategy: req.strategy,
        targets: valid_targets(req.targets)?,
        skills: req.skills,
    };
    let queue = state.store.create_queue(&new, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "queue.create", queue.name.clone(), serde_json::json!({ "id": queue.id })).await;
    Ok((StatusCode::CREATED, Json(queue)))
}

/// One queue.
#[utoipa::path(get, path = "/api/v1/queues/{id}", tag = "queues", security(("bearer" = [])),
    params(("id" = QueueId, Path, description = "queue id")),
    responses((status = 200, body = Queue), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, PathId(id): PathId<QueueId>) -> ApiResult<Json<Queue>> {
    Ok(Json(state.store.queue(id).await?))
}

/// Changes a queue.
#[utoipa::path(patch, path = "/api/v1/queues/{id}", tag = "queues", security(("bearer" = [])), request_body = UpdateQueue,
    params(("id" = QueueId, Path, description = "queue id")),
    responses((status = 200, body = Queue), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<QueueId>,
    Json(req): Json<UpdateQueue>,
) -> ApiResult<Json<Queue>> {
    let patch = QueuePatch {
        name: req.name.map(|n| valid_name("name", &n)).transpose()?,
        description: req.description.map(valid_description).transpose()?,
        strategy: req.strategy,
        targets: req.targets.map(valid_targets).transpose()?,
        skills: req.skills,
    };
    let queue = state.store.update_queue(id, &patch, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "queue.update", queue.name.clone(), serde_json::json!({ "id": id })).await;
    Ok(Json(queue))
}

/// Deletes a queue.
#[utoipa::path(delete, path = "/api/v1/queues/{id}", tag = "queues", security(("bearer" = [])),
    params(("id" = QueueId, Path, description = "queue id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<QueueId>,
) -> ApiResult<StatusCode> {
    state.store.delete_queue(id).await?;
    audit_change(&state, &p, &ip, "queue.delete", id.to_string(), serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}
