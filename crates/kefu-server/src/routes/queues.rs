//! Queues (skill groups): name, routing strategy, service targets, required skills and
//! overflow rules. Overflow rules are checked against the other queues before saving: every
//! target queue must exist, a queue cannot move calls into itself or close a cycle of moves,
//! and each problem is named by its step (`overflow[1].action.queue: …`).

use super::skills::valid_description;
use super::{ClientIp, audit_change, valid_name};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::QueueId;
use kefu_core::acd::{AcdSettings, OverflowAction, OverflowStep, QueueConfig, config};
use kefu_core::org::{QueueStrategy, ServiceTargets};
use kefu_store::{NewQueue, Page, PageRequest, Queue, QueuePatch, QueueSkill};
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
    /// Overflow rules, tried in order while a call waits (none by default), each
    /// `{"after_secs": 30, "when": {"kind": "always"}, "action": {"kind": "queue", "queue": "<id>"}}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub overflow: Vec<OverflowStep>,
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
    /// Replace the overflow rules (`[]` removes them).
    #[schema(value_type = Option<Vec<Object>>)]
    pub overflow: Option<Vec<OverflowStep>>,
}

/// The longest wait an overflow step may wait for (a day).
pub const MAX_OVERFLOW_AFTER_SECS: u32 = 86_400;
/// The most overflow steps a queue may have.
pub const MAX_OVERFLOW_STEPS: usize = 32;

/// Checks a queue's overflow rules against every other queue (with the ACD's own check):
/// 422 listing each problem, named by its step.
async fn valid_overflow(
    state: &AppState,
    id: Option<QueueId>,
    name: &str,
    steps: Vec<OverflowStep>,
) -> ApiResult<Vec<OverflowStep>> {
    if steps.len() > MAX_OVERFLOW_STEPS {
        return Err(ApiError::validation(format!(
            "overflow has {} steps; at most {MAX_OVERFLOW_STEPS} are allowed",
            steps.len()
        )));
    }
    let mut problems: Vec<String> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.after_secs > MAX_OVERFLOW_AFTER_SECS)
        .map(|(k, s)| {
            format!("overflow[{k}].after_secs: must be at most {MAX_OVERFLOW_AFTER_SECS} (a day), got {}", s.after_secs)
        })
        .collect();
    // this queue first (index 0), then every other queue as stored
    let this = id.unwrap_or_else(|| QueueId::from_uuid(kefu_store::new_uuid()));
    let mut configs = vec![QueueConfig { overflow: steps.clone(), ..QueueConfig::new(this, name) }];
    let mut cursor = None;
    loop {
        let page = state.store.list_queues(&PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor }).await?;
        configs.extend(
            page.items
                .into_iter()
                .filter(|q| q.id != this)
                .map(|q| QueueConfig { overflow: q.overflow, ..QueueConfig::new(q.id, q.name) }),
        );
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let settings = AcdSettings::default();
    // a cycle among the other queues alone is not this change's doing
    let before = {
        let mut without = configs.clone();
        without[0].overflow.clear();
        config::validate(&settings, &without)
    };
    for e in config::validate(&settings, &configs) {
        if let Some(rest) = e.field.strip_prefix("queues[0].") {
            problems.push(format!("{rest}: {}", e.message));
        } else if e.field.ends_with(".overflow") && !before.contains(&e) {
            problems.push(format!("overflow: {}", e.message));
        }
    }
    match problems.as_slice() {
        [] => Ok(steps),
        [one] => Err(ApiError::validation_details(one.clone(), problems)),
        more => Err(ApiError::validation_details(
            format!("overflow has {} problems, listed in details", more.len()),
            problems,
        )),
    }
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
    let name = valid_name("name", &req.name)?;
    let overflow = valid_overflow(&state, None, &name, req.overflow).await?;
    let new = NewQueue {
        name,
        description: valid_description(req.description)?,
        strategy: req.strategy,
        targets: valid_targets(req.targets)?,
        skills: req.skills,
        overflow,
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
    let name = req.name.map(|n| valid_name("name", &n)).transpose()?;
    let overflow = match req.overflow {
        Some(steps) => {
            let current = state.store.queue(id).await?;
            let shown = name.clone().unwrap_or(current.name);
            Some(valid_overflow(&state, Some(id), &shown, steps).await?)
        }
        None => None,
    };
    let patch = QueuePatch {
        name,
        description: req.description.map(valid_description).transpose()?,
        strategy: req.strategy,
        targets: req.targets.map(valid_targets).transpose()?,
        skills: req.skills,
        overflow,
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
    // another queue's overflow rule sending callers here would point at nothing
    let configs = crate::acd::queue_configs(&state.store).await.map_err(|e| ApiError::internal(&e))?;
    let users: Vec<&str> = configs
        .iter()
        .filter(|q| {
            q.id != id
                && q.overflow.iter().any(|s| match &s.action {
                    OverflowAction::Queue { queue } => *queue == id,
                    OverflowAction::Widen { queues } => queues.contains(&id),
                    _ => false,
                })
        })
        .map(|q| q.name.as_str())
        .collect();
    if !users.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("overflow rules of {} send callers to this queue; change them first", users.join(", ")),
        ));
    }
    state.store.delete_queue(id).await?;
    audit_change(&state, &p, &ip, "queue.delete", id.to_string(), serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}
