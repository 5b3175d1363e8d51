//! What callers leave around a queue, for the people who follow them up: voicemails (listed,
//! listened to, marked heard) and callback requests (worked oldest first, finished once) for
//! agents and up (`calls_control`); post-call survey answers for QA and supervisors
//! (`recordings_read`).

use super::ClientIp;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kefu_core::{CallbackRequestId, QueueId, VoicemailId};
use kefu_store::{
    CallbackFilter, CallbackRequest, CallbackStatus, Page, PageRequest, StoreError, SurveyAnswer, Voicemail,
    VoicemailFilter,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The longest note an agent may leave on a callback request, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Filters for the voicemail list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VoicemailsQuery {
    /// Only this queue's box.
    pub queue: Option<QueueId>,
    /// `true`: only voicemails nobody has marked heard.
    pub unheard: Option<bool>,
    /// Voicemails per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Filters for the callback list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallbacksQuery {
    /// Only requests in this state (`open`, `done` or `cancelled`).
    pub status: Option<CallbackStatus>,
    /// Only requests from this queue.
    pub queue: Option<QueueId>,
    /// Requests per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// How a callback request ended.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishCallback {
    /// `done` (called back) or `cancelled` (given up).
    pub status: CallbackStatus,
    /// What happened, up to 2000 characters.
    #[serde(default)]
    pub note: String,
}

/// `?call=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SurveysQuery {
    /// The call (SIP Call-ID) whose answers to read.
    pub call: String,
}

/// A call's survey answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CallSurvey {
    /// The call.
    pub call_id: String,
    /// Its answers, by question id (none if the caller was not surveyed or did not answer).
    pub answers: Vec<SurveyAnswer>,
}

/// A bad cursor is the caller's mistake (400), like a bad query string.
fn list_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    }
}

/// Lists voicemails, newest first.
#[utoipa::path(get, path = "/api/v1/voicemails", tag = "voicemails", security(("bearer" = [])), params(VoicemailsQuery),
    responses((status = 200, body = inline(Page<Voicemail>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_voicemails(
    State(state): State<AppState>,
    Query(q): Query<VoicemailsQuery>,
) -> ApiResult<Json<Page<Voicemail>>> {
    let filter = VoicemailFilter { queue: q.queue, unheard_only: q.unheard.unwrap_or(false) };
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    Ok(Json(state.store.list_voicemails(&filter, &page).await.map_err(list_error)?))
}

/// Marks a voicemail heard by the caller. Marking it again changes nothing: the first
/// listener and time stay.
#[utoipa::path(post, path = "/api/v1/voicemails/{id}/heard", tag = "voicemails", security(("bearer" = [])),
    params(("id" = VoicemailId, Path, description = "voicemail id")),
    responses((status = 200, body = Voicemail), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn mark_heard(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<VoicemailId>,
) -> ApiResult<Json<Voicemail>> {
    Ok(Json(state.store.mark_voicemail_heard(id, p.id, state.clock.now()).await?))
}

/// The voicemail's audio as WAV. Every listen is written to the audit log
/// (`voicemail.listened`). 404 when the voicemail or its file is missing.
#[utoipa::path(get, path = "/api/v1/voicemails/{id}/audio", tag = "voicemails", security(("bearer" = [])),
    params(("id" = VoicemailId, Path, description = "voicemail id")),
    responses((status = 200, content_type = "audio/wav", body = Vec<u8>), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn audio(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<VoicemailId>,
) -> ApiResult<Response> {
    let vm = state.store.voicemail(id).await?;
    // the path as the server wrote it (under `<data_dir>/voicemails`), like recordings' paths
    let path = PathBuf::from(&vm.path);
    // voicemails are short (minutes at most), so the file is read whole, off the async threads
    let read = tokio::task::spawn_blocking({
        let path = path.clone();
        move || std::fs::read(path)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(voicemail = %id, path = %path.display(), "voicemail file is missing");
            return Err(ApiError::not_found(format!("the audio of voicemail `{id}` is missing")));
        }
        Err(e) => return Err(ApiError::internal(&format!("cannot read {}: {e}", path.display()))),
    };
    super::audit_change(
        &state,
        &p,
        &ip,
        "voicemail.listened",
        id.to_string(),
        serde_json::json!({ "call_id": vm.call_id, "queue_id": vm.queue_id }),
    )
    .await;
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{id}.wav\""))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("audio/wav")),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        bytes,
    )
        .into_response())
}

/// Lists callback requests, oldest first (the order to work them in).
#[utoipa::path(get, path = "/api/v1/callbacks", tag = "callbacks", security(("bearer" = [])), params(CallbacksQuery),
    responses((status = 200, body = inline(Page<CallbackRequest>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_callbacks(
    State(state): State<AppState>,
    Query(q): Query<CallbacksQuery>,
) -> ApiResult<Json<Page<CallbackRequest>>> {
    let filter = CallbackFilter { status: q.status, queue: q.queue };
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    Ok(Json(state.store.list_callback_requests(&filter, &page).await.map_err(list_error)?))
}

/// Finishes an open callback request as `done` or `cancelled`, with a note. 409 when it is
/// no longer open.
#[utoipa::path(post, path = "/api/v1/callbacks/{id}/finish", tag = "callbacks", security(("bearer" = [])),
    params(("id" = CallbackRequestId, Path, description = "callback request id")), request_body = FinishCallback,
    responses((status = 200, body = CallbackRequest), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn finish_callback(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<CallbackRequestId>,
    Json(req): Json<FinishCallback>,
) -> ApiResult<Json<CallbackRequest>> {
    if req.status == CallbackStatus::Open {
        return Err(ApiError::validation("status must be `done` or `cancelled`"));
    }
    let note = req.note.trim();
    let n = note.chars().count();
    if n > MAX_NOTE_CHARS {
        return Err(ApiError::validation(format!("note must be at most {MAX_NOTE_CHARS} characters, got {n}")));
    }
    if note.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::validation("note must not contain control characters other than newlines and tabs"));
    }
    Ok(Json(state.store.finish_callback_request(id, p.id, req.status, note, state.clock.now()).await?))
}

/// A call's post-call survey answers.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", security(("bearer" = [])), params(SurveysQuery),
    responses((status = 200, body = CallSurvey), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn surveys(State(state): State<AppState>, Query(q): Query<SurveysQuery>) -> ApiResult<Json<CallSurvey>> {
    let call = q.call.trim();
    if call.is_empty() || call.chars().count() > 256 {
        return Err(ApiError::bad_request("`call` must be a call id of 1–256 characters"));
    }
    let answers = state.store.survey_answers_for_call(call).await?;
    Ok(Json(CallSurvey { call_id: call.to_owned(), answers }))
}
