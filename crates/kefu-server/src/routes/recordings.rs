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

/// A byte range of a file of `len` bytes, from a `Range: bytes=…` header: `Ok(None)` to send
/// the whole file (no header, or one this server does not serve partly: several ranges, other
/// units, malformed — RFC 9110 lets a server ignore those), `Err` when the range lies wholly
/// outside the file (416).
pub(crate) fn byte_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.map(str::trim).and_then(|h| h.strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else { return Ok(None) };
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.is_empty(), end.is_empty()) {
        // the last `n` bytes
        (true, false) => match end.parse::<u64>() {
            Ok(0) => return Err(()),
            Ok(n) => (len.saturating_sub(n), len.saturating_sub(1)),
            Err(_) => return Ok(None),
        },
        (false, _) => {
            let Ok(first) = start.parse::<u64>() else { return Ok(None) };
            let last = if end.is_empty() {
                len.saturating_sub(1)
            } else {
                match end.parse::<u64>() {
                    Ok(last) if last >= first => last.min(len.saturating_sub(1)),
                    _ => return Ok(None),
                }
            };
            (first, last)
        }
        (true, true) => return Ok(None),
    };
    if len == 0 || range.0 >= len { Err(()) } else { Ok(Some(range)) }
}

/// A recording's audio: the stereo WAV (customer left, agent right), streamed, with `Range`
/// requests answered 206 so the browser's `<audio>` can seek. Agents hear only their own
/// calls. One playback writes one audit entry (`recording.played`): the request for the
/// whole file or a range from byte 0, not every later range of the same playback.
#[utoipa::path(get, path = "/api/v1/recordings/{id}/audio", tag = "recordings", security(("bearer" = [])),
    params(("id" = RecordingId, Path, description = "recording id"),
        ("Range" = Option<String>, Header, description = "`bytes=START-END`, `bytes=START-` or `bytes=-SUFFIX`")),
    responses((status = 200, content_type = "audio/wav", body = Vec<u8>),
        (status = 206, content_type = "audio/wav", body = Vec<u8>, description = "the range asked for"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 416, body = crate::error::ErrorBody)))]
pub async fn audio(
    State(state): State<AppState>,
    crate::routes::ClientIp(ip): crate::routes::ClientIp,
    p: Principal,
    PathId(id): PathId<RecordingId>,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};

    let recording = state.store.recording(id).await?;
    match recording.agent_id {
        Some(agent) => p.require_self_or(agent, RecordingsRead)?,
        None => p.require(RecordingsRead)?,
    }
    // the path as the SIP server wrote it; a relative one is tried under the recordings folder too
    let mut path = std::path::PathBuf::from(&recording.path);
    if path.is_relative() && !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        path = state.settings.recordings_dir().join(&recording.path);
    }
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(recording = %id, "recording file is missing");
            return Err(ApiError::not_found(format!("the audio of recording `{id}` is missing")));
        }
        Err(e) => return Err(ApiError::internal(&format!("cannot open recording `{id}`: {e}"))),
    };
    let len = file.metadata().await.map_err(|e| ApiError::internal(&e))?.len();
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match byte_range(range_header, len) {
        Ok(r) => r,
        Err(()) => {
            let mut resp = ApiError::new(
                crate::error::ErrorCode::RangeNotSatisfiable,
                format!("the recording has {len} bytes; the range asked for lies outside it"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    if start == 0 {
        let detail = serde_json::json!({ "call_id": recording.call_id, "agent_id": recording.agent_id });
        super::audit_change(&state, &p, &ip, "recording.played", id.to_string(), detail).await;
    }
    let count = if len == 0 { 0 } else { end - start + 1 };
    file.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| ApiError::internal(&e))?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file.take(count)));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{id}.wav\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if range.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(byte_range(None, 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(byte_range(Some("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(byte_range(Some("bytes=90-500"), 100), Ok(Some((90, 99))), "the end is clipped");
        assert_eq!(byte_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=-500"), 100), Ok(Some((0, 99))));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Err(()));
        assert_eq!(byte_range(Some("bytes=-0"), 100), Err(()));
        assert_eq!(byte_range(Some("bytes=0-"), 0), Err(()));
        // ignored: the whole file is sent
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(byte_range(Some("items=0-1"), 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=x-1"), 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=5-2"), 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=-"), 100), Ok(None));
    }
}
