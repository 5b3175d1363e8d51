//! What people do to a work order: move it in the workflow, assign, dispatch, escalate,
//! comment, advance its template step, link calls, attach files — each checked with
//! [`require_change`], recorded in the order's history and followed by the SLA worker.

use super::tickets::{TicketDetail, body_rejection, calendar_for, detail, require_change};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_core::service::escalation::EscalationTarget;
use kefu_core::service::ticket::{PendingReason, TicketStatus};
use kefu_core::{TeamId, TicketId, UserId};
use kefu_store::{Attachment, LinkedCall, NewAttachment, TicketChange};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// A workflow move.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTicket {
    /// The status to move to.
    pub status: TicketStatus,
    /// Whom a pending order waits for (required for `pending`, refused otherwise).
    #[serde(default)]
    pub reason: Option<PendingReason>,
    /// A note for the history.
    #[serde(default)]
    pub note: Option<String>,
    /// The version the move is based on.
    pub version: i64,
}

/// A new owner and/or group.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTicket {
    /// The new owner (their team comes along unless `team` is given).
    #[serde(default)]
    pub owner: Option<UserId>,
    /// The new group.
    #[serde(default)]
    pub team: Option<TeamId>,
}

/// A dispatch to another department.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchTicket {
    /// The department (team) whose list the order moves to.
    pub team: TeamId,
    /// Why, for the department.
    pub note: String,
}

/// A manual escalation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateTicket {
    /// The tier to go to (default: the next one; at most 3).
    #[serde(default)]
    pub tier: Option<u8>,
    /// Why.
    pub note: String,
}

/// A progress note.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// The text, 1–5000 characters.
    pub body: String,
}

/// A call to link.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCall {
    /// The SIP Call-ID.
    pub call_id: String,
}

/// A template step to move to.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStep {
    /// The step's key.
    pub step: String,
}

/// `?name=` of an upload.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name (1–255 characters, no path separators).
    pub name: String,
}

/// Loads the order and checks the caller may change it.
async fn changeable(state: &AppState, p: &Principal, id: TicketId) -> ApiResult<kefu_store::Ticket> {
    let t = state.store.ticket(id).await?;
    require_change(state, p, &t).await?;
    Ok(t)
}

/// After a committed change: the SLA worker follows, and the caller gets the order.
async fn changed(state: &AppState, t: kefu_store::Ticket) -> ApiResult<Json<TicketDetail>> {
    crate::sla::ticket_changed(state, t.id).await;
    Ok(Json(detail(state, t).await?))
}

/// Moves a work order in its workflow (409 for a move the workflow does not allow).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = MoveTicket,
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn move_status(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<MoveTicket>,
) -> ApiResult<Json<TicketDetail>> {
    let t = changeable(&state, &p, id).await?;
    let cal = calendar_for(&state, &t.sla_targets);
    let t = state
        .store
        .move_ticket(id, req.version, req.status, req.reason, req.note.as_deref(), Some(p.id), state.clock.now(), &cal)
        .await?;
    changed(&state, t).await
}

/// Gives a work order an owner and/or a group.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = AssignTicket,
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<AssignTicket>,
) -> ApiResult<Json<TicketDetail>> {
    changeable(&state, &p, id).await?;
    let t = state.store.assign_ticket(id, req.owner, req.team, Some(p.id), state.clock.now()).await?;
    changed(&state, t).await
}

/// Dispatches a work order to another department's list (the owner is cleared).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/dispatch", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = DispatchTicket,
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn dispatch(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<DispatchTicket>,
) -> ApiResult<Json<TicketDetail>> {
    changeable(&state, &p, id).await?;
    if req.note.trim().is_empty() {
        return Err(ApiError::validation("a dispatch needs a note for the department"));
    }
    let t = state.store.dispatch_ticket(id, req.team, &req.note, Some(p.id), state.clock.now()).await?;
    changed(&state, t).await
}

/// Escalates a work order to a higher tier by hand (409 at the top tier).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/escalate", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = EscalateTicket,
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn escalate(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<EscalateTicket>,
) -> ApiResult<Json<TicketDetail>> {
    changeable(&state, &p, id).await?;
    if req.note.trim().is_empty() {
        return Err(ApiError::validation("an escalation needs a note saying why"));
    }
    let to = req.tier.map(EscalationTarget::Tier);
    let t = state.store.escalate_ticket(id, to, &req.note, None, Some(p.id), state.clock.now()).await?;
    changed(&state, t).await
}

/// Notes progress (restarts the update clock; the first note is also the first response).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/comments", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = AddComment,
    responses((status = 201, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn comment(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<AddComment>,
) -> ApiResult<(StatusCode, Json<TicketDetail>)> {
    changeable(&state, &p, id).await?;
    let t = state.store.add_comment(id, &req.body, Some(p.id), state.clock.now()).await?;
    Ok((StatusCode::CREATED, changed(&state, t).await?))
}

/// A work order's history, oldest first: who, when, what.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/history", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")),
    responses((status = 200, body = Vec<TicketChange>), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    PathId(id): PathId<TicketId>,
) -> ApiResult<Json<Vec<TicketChange>>> {
    Ok(Json(state.store.ticket_history(id).await?))
}

/// Moves a work order to another step of its template.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/step", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = SetStep,
    responses((status = 200, body = TicketDetail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn step(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<SetStep>,
) -> ApiResult<Json<TicketDetail>> {
    changeable(&state, &p, id).await?;
    let t = state.store.set_ticket_step(id, req.step.trim(), Some(p.id), state.clock.now()).await?;
    changed(&state, t).await
}

/// Links a call (SIP Call-ID) to a work order (409 if already linked).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/calls", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")), request_body = LinkCall,
    responses((status = 201, body = LinkedCall), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn link_call(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Json(req): Json<LinkCall>,
) -> ApiResult<(StatusCode, Json<LinkedCall>)> {
    changeable(&state, &p, id).await?;
    let linked = state.store.link_call(id, &req.call_id, Some(p.id), state.clock.now()).await?;
    crate::sla::ticket_changed(&state, id).await;
    Ok((StatusCode::CREATED, Json(linked)))
}

/// The directory an order's files live in.
fn attachment_dir(state: &AppState, id: TicketId) -> PathBuf {
    state.settings.data_dir.join("attachments").join(id.to_string())
}

fn valid_file_name(name: &str) -> ApiResult<String> {
    let n = name.trim();
    let count = n.chars().count();
    if count == 0 || count > 255 || n.contains(['/', '\\']) || n.chars().any(char::is_control) || n == "." || n == ".."
    {
        return Err(ApiError::validation(
            "name must be a file name of 1–255 characters without `/`, `\\` or control characters",
        ));
    }
    Ok(n.to_owned())
}

/// Attaches a file: the raw body, its `Content-Type` kept, up to the server's body limit.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file"),
    responses((status = 201, body = Attachment), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<TicketId>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    changeable(&state, &p, id).await?;
    let body = body.map_err(body_rejection)?;
    let name = valid_file_name(&q.name)?;
    if body.is_empty() {
        return Err(ApiError::validation("the file is empty"));
    }
    if body.len() > state.settings.max_body_bytes {
        return Err(ApiError::new(
            crate::error::ErrorCode::PayloadTooLarge,
            format!("the file is larger than {} bytes", state.settings.max_body_bytes),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 255)
        .unwrap_or("application/octet-stream")
        .to_owned();
    let att_id = kefu_store::new_uuid();
    let dir = attachment_dir(&state, id);
    let path = dir.join(att_id.to_string());
    let sha256 = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let size = body.len();
    // write beside, then rename: a crash never leaves a half file under the final name
    let written = tokio::task::spawn_blocking({
        let path = path.clone();
        move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!("{att_id}.part"));
            std::fs::write(&tmp, &body)?;
            std::fs::rename(&tmp, &path)
        }
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    written.map_err(|e| ApiError::internal(&format!("cannot write {}: {e}", path.display())))?;
    let new = NewAttachment {
        id: att_id,
        ticket_id: id,
        name,
        content_type,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        sha256,
        path: path.display().to_string(),
        uploaded_by: p.id,
        created_at: state.clock.now(),
    };
    match state.store.add_attachment(&new).await {
        Ok(a) => {
            crate::sla::ticket_changed(&state, id).await;
            Ok((StatusCode::CREATED, Json(a)))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e.into())
        }
    }
}

/// A work order's attachments, oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id")),
    responses((status = 200, body = Vec<Attachment>), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn attachments(
    State(state): State<AppState>,
    PathId(id): PathId<TicketId>,
) -> ApiResult<Json<Vec<Attachment>>> {
    Ok(Json(state.store.attachments(id).await?))
}

/// An attachment's content, with its stored content type, as a download.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments/{attachment}", tag = "work orders", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "work order id"), ("attachment" = uuid::Uuid, Path, description = "attachment id")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    axum::extract::Path((id, attachment)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    let id: TicketId = id.parse().map_err(|e: kefu_core::ids::InvalidId| ApiError::bad_request(e.to_string()))?;
    let attachment = uuid::Uuid::parse_str(&attachment).map_err(|_| {
        ApiError::bad_request(format!(
            "`{}` is not a valid attachment id",
            attachment.chars().take(64).collect::<String>()
        ))
    })?;
    let a = state.store.attachment(id, attachment).await?;
    let path = PathBuf::from(&a.path);
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await.map_err(|e| ApiError::internal(&e))?;
    let bytes = match read {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(ticket = %id, attachment = %a.id, "attachment file is missing");
            return Err(ApiError::not_found(format!("the file of attachment `{}` is missing", a.id)));
        }
        Err(e) => return Err(ApiError::internal(&format!("cannot read {}: {e}", a.path))),
    };
    let content_type =
        HeaderValue::from_str(&a.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let ascii: String =
        a.name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    let encoded: String = a
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        bytes,
    )
        .into_response())
}
