//! Service-process templates (on-site repair, carry-in, mail-in, return / exchange / refund):
//! read by everyone who works orders, written by administrators (`ConfigManage`).

use super::{ClientIp, audit_change};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{Json, PathId};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::TemplateId;
use kefu_store::{NewTemplate, TemplateField, TemplatePatch, TemplateStep, TicketTemplate};
use serde::Deserialize;

/// A new template.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    /// Unique name, 1–64 characters.
    pub name: String,
    /// The steps, in order (at least one; an order starts at the first).
    pub steps: Vec<TemplateStep>,
    /// The extra fields an order carries.
    #[serde(default)]
    pub fields: Vec<TemplateField>,
}

/// A change to a template; absent parts stay.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    /// New name.
    pub name: Option<String>,
    /// New steps (a step that is some order's current step must stay).
    pub steps: Option<Vec<TemplateStep>>,
    /// New fields.
    pub fields: Option<Vec<TemplateField>>,
}

/// Every template, by name.
#[utoipa::path(get, path = "/api/v1/ticket-templates", tag = "work orders", security(("bearer" = [])),
    responses((status = 200, body = Vec<TicketTemplate>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TicketTemplate>>> {
    Ok(Json(state.store.list_templates().await?))
}

/// Creates a template (422 lists every problem).
#[utoipa::path(post, path = "/api/v1/ticket-templates", tag = "work orders", security(("bearer" = [])),
    request_body = CreateTemplate,
    responses((status = 201, body = TicketTemplate), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<CreateTemplate>,
) -> ApiResult<(StatusCode, Json<TicketTemplate>)> {
    let new = NewTemplate { name: req.name, steps: req.steps, fields: req.fields };
    let t = state.store.create_template(&new, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "ticket_template.create", t.name.clone(), serde_json::json!({ "id": t.id })).await;
    Ok((StatusCode::CREATED, Json(t)))
}

/// One template.
#[utoipa::path(get, path = "/api/v1/ticket-templates/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = TemplateId, Path, description = "template id")),
    responses((status = 200, body = TicketTemplate), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, PathId(id): PathId<TemplateId>) -> ApiResult<Json<TicketTemplate>> {
    Ok(Json(state.store.template(id).await?))
}

/// Changes a template.
#[utoipa::path(patch, path = "/api/v1/ticket-templates/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = TemplateId, Path, description = "template id")), request_body = UpdateTemplate,
    responses((status = 200, body = TicketTemplate), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<TemplateId>,
    Json(req): Json<UpdateTemplate>,
) -> ApiResult<Json<TicketTemplate>> {
    let patch = TemplatePatch { name: req.name, steps: req.steps, fields: req.fields };
    let t = state.store.update_template(id, &patch, state.clock.now()).await?;
    audit_change(&state, &p, &ip, "ticket_template.update", t.name.clone(), serde_json::json!({ "id": id })).await;
    Ok(Json(t))
}

/// Deletes a template no order was made from (409 otherwise).
#[utoipa::path(delete, path = "/api/v1/ticket-templates/{id}", tag = "work orders", security(("bearer" = [])),
    params(("id" = TemplateId, Path, description = "template id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<TemplateId>,
) -> ApiResult<StatusCode> {
    let t = state.store.template(id).await?;
    state.store.delete_template(id).await?;
    audit_change(&state, &p, &ip, "ticket_template.delete", t.name, serde_json::json!({ "id": id })).await;
    Ok(StatusCode::NO_CONTENT)
}
