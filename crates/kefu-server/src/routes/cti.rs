//! `GET /api/v1/events`: the live CTI stream over a WebSocket (protocol in `crate::cti` and
//! docs/adr/0012-cti-stream.md). The session token comes as the `Authorization` header or, for
//! browsers (which cannot set headers on a WebSocket), as `?token=` — the access middleware
//! accepts the query token on WebSocket upgrades only, and a bad one is a 401 before the
//! upgrade.

use crate::auth::Principal;
use crate::cti::{Resume, Viewer};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::ClientIp;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::Response;
use serde::Deserialize;

/// Largest frame a client may send (they send only `{"type":"ping"}`).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// `?token=&since=&epoch=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The session token, for browsers; other clients send `Authorization: Bearer …`.
    pub token: Option<String>,
    /// The `seq` of the last message received: the missed ones follow `hello` (or a snapshot,
    /// if they are no longer kept).
    pub since: Option<u64>,
    /// The `epoch` from the last `hello`, with `since`: a different one (the server restarted)
    /// gets a snapshot.
    pub epoch: Option<String>,
}

/// The live stream of agent states, screen-pops (`call.offer`), call progress and queue
/// figures, filtered by role (a WebSocket; JSON text frames
/// `{"seq","type","at","data"}`: `hello`, `snapshot`, `agent.state`, `call.offer`,
/// `call.progress`, `queue.stats`, `heartbeat`, `pong`).
#[utoipa::path(get, path = "/api/v1/events", tag = "cti", security(("bearer" = [])), params(StreamQuery),
    responses((status = 101, description = "switching to the WebSocket stream"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Query(q): Query<StreamQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let resume = match (q.since, q.epoch) {
        (Some(since), epoch) => {
            if epoch.as_ref().is_some_and(|e| e.is_empty() || e.len() > 64) {
                return Err(ApiError::bad_request("epoch must be 1–64 characters"));
            }
            Some(Resume { since, epoch })
        }
        (None, Some(_)) => return Err(ApiError::bad_request("epoch goes with since")),
        (None, None) => None,
    };
    let ws = ws.map_err(|e| {
        ApiError::bad_request(format!("this is a WebSocket endpoint; send an upgrade request ({})", e.body_text()))
    })?;
    let team = state.store.user(p.id).await?.team_id;
    let viewer = Viewer { user: p.id, role: p.role, team };
    let ws = ws.max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE);
    Ok(ws.on_upgrade(move |socket| crate::cti::socket::serve(state, p, ip, viewer, resume, socket)))
}
