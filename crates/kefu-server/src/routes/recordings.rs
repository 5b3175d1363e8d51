//! Call recordings' metadata. Team leads, QA, supervisors and administrators see every
//! recording; anyone else sees only the recordings of their own calls.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::state::AppState;
use axum::extract::State;
use kefu_core::Permission::RecordingsRead;
use kefu_core::{RecordingId, Timestamp, UserId};
use kefu_store::{Page, PageRequest, Recording, RecordingFilter};
use serde::Deserialize;

/// Filters for the recordings list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordingsQuery {
    /// Only this agent's calls (callers without the `recordings_read` permission may only
    /// name themselves; their list is always their own).
    pub agent: Option<UserId>,
    /// Only calls from or to exactly this number.
    pub number: Option<String>,
    /// Started at or after this instant (epoch ms).
    pub from: Option<i64>,
    /// Started before this instant (epoch ms).
    pub to: Option<i64>,
    /// Recordings per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists recordings, newest first.
#[utoipa::path(get, path = "/api/v1/recordings", tag = "recordings", security(("bearer" = [])), params(RecordingsQuery),
    responses((status = 200, body = inline(Page<Recording>)), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<RecordingsQuery>,
) -> ApiResult<Json<Page<Recording>>> {
    let agent_id = if p.sees_all(RecordingsRead) {
        q.agent
    } else {
        if let Some(other) = q.agent {
            p.require_self_or(other, RecordingsRead)?;
        }
        Some(p.id)
    };
    if let (Some(from), Some(to)) = (q.from, q.to)
        && to < from
    {
        return Err(ApiError::bad_request("`to` is before `from`"));
    }
    let number = match q.number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) if n.chars().count() <= 64 => Some(n.to_owned()),
        Some(_) => return Err(ApiError::bad_request("`number` must be at most 64 characters")),
    };
    let filter = RecordingFilter {
        agent_id,
        number,
        from: q.from.map(Timestamp::from_millis),
        to: q.to.map(Timestamp::from_millis),
    };
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    Ok(Json(state.store.list_recordings(&filter, &page).await.map_err(|e| match e {
        kefu_store::StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?))
}

/// One recording's metadata.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "recordings", security(("bearer" = [])),
    params(("id" = RecordingId, Path, description = "recording id")),
    responses((status = 200, body = Recording), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<RecordingId>,
) -> ApiResult<Json<Recording>> {
    let recording = state.store.recording(id).await?;
    match recording.agent_id {
        Some(agent) => p.require_self_or(agent, RecordingsRead)?,
        None => p.require(RecordingsRead)?,
    }
    Ok(Json(recording))
}
