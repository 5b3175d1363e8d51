//! The shift handover log (交接班, SV-6): team leads and supervisors write what the next shift
//! needs to know and what is still open, and read the log newest first. Append-only: nothing
//! is edited or deleted; a correction is a new note.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::ClientIp;
use crate::routes::supervisor::event;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_core::Timestamp;
use kefu_core::event::EventKind;
use kefu_store::{HandoverFilter, HandoverNote, NewHandoverNote, Page, PageRequest, StoreError};
use serde::Deserialize;
use serde_json::json;

/// A note to write.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// The shift handed over (`早班`, `late`, …), 1–64 characters.
    pub shift: String,
    /// What the next shift needs to know, 1–4000 characters.
    pub text: String,
    /// Items still open (at most 50, each 1–500 characters).
    #[serde(default)]
    pub open_items: Vec<String>,
}

/// Filters for the log.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HandoverQuery {
    /// Written at or after this instant (epoch ms).
    pub from: Option<i64>,
    /// Written before this instant (epoch ms).
    pub to: Option<i64>,
    /// Only this shift.
    pub shift: Option<String>,
    /// Notes per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The handover log, newest first.
#[utoipa::path(get, path = "/api/v1/handover", tag = "supervisor", security(("bearer" = [])), params(HandoverQuery),
    responses((status = 200, body = inline(Page<HandoverNote>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<HandoverQuery>,
) -> ApiResult<Json<Page<HandoverNote>>> {
    if let (Some(from), Some(to)) = (q.from, q.to)
        && to < from
    {
        return Err(ApiError::bad_request("`to` is before `from`"));
    }
    let filter = HandoverFilter {
        since: q.from.map(Timestamp::from_millis),
        until: q.to.map(Timestamp::from_millis),
        shift: q.shift.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    Ok(Json(state.store.list_handover_notes(&filter, &page).await.map_err(|e| match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?))
}

/// Writes a handover note as the caller.
#[utoipa::path(post, path = "/api/v1/handover", tag = "supervisor", security(("bearer" = [])), request_body = NewNote,
    responses((status = 201, body = HandoverNote), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<NewNote>,
) -> ApiResult<(StatusCode, Json<HandoverNote>)> {
    let author = state.store.user(p.id).await?;
    let new = NewHandoverNote {
        author_id: p.id,
        author_name: author.display_name,
        shift: req.shift,
        text: req.text,
        open_items: req.open_items,
    };
    let problems = new.problems();
    if !problems.is_empty() {
        return Err(ApiError::validation_details("the note is not valid", problems));
    }
    let note = state.store.add_handover_note(&new, state.clock.now()).await?;
    let mut e = event(&state, EventKind::HandoverWritten);
    e.agent = Some(p.id);
    e.data = json!({ "note": note.id, "shift": note.shift, "open_items": note.open_items.len() });
    state.events.send(e);
    super::audit_change(&state, &p, &ip, "handover.write", note.id.to_string(), json!({ "shift": note.shift })).await;
    Ok((StatusCode::CREATED, Json(note)))
}
