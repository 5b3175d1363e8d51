//! The harassment blocklist over HTTP (AG-6, IVR-4): an agent marks a call as harassment
//! (the call ends and the caller's number is proposed), supervisors approve or reject
//! proposals, add numbers directly and take them off. Numbers are masked (`138****5678`) for
//! roles without `pii_read`; a response that shows them in clear is audited
//! (`blocklist.pii_read`). Every change is audited and logged as a `blocklist.changed` event
//! (with the number masked). Inbound calls are checked in `crate::screening`.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PathId, Query};
use crate::routes::ClientIp;
use crate::routes::calls::{control_error, sip, visible_call};
use crate::routes::customers::masked_for;
use crate::routes::supervisor::event;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_core::Permission::TelephonyMonitor;
use kefu_core::event::EventKind;
use kefu_core::service::customer::PhoneNumber;
use kefu_core::{BlocklistEntryId, InteractionId, Timestamp, UserId};
use kefu_sip::server::ControlError;
use kefu_store::{
    BlocklistEntry, BlocklistFilter, BlocklistStatus, MAX_BLOCKLIST_NOTE_CHARS, NewBlocklistEntry, Page, PageRequest,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::str::FromStr;

/// A blocklist entry as shown to the caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Unique id.
    pub id: BlocklistEntryId,
    /// The number: masked for roles without `pii_read`.
    pub number: String,
    /// Whether `number` is masked.
    pub masked: bool,
    /// `pending`, `active`, `rejected` or `removed`.
    pub status: BlocklistStatus,
    /// Whether it blocks calls now (active and not expired).
    pub blocking: bool,
    /// Why it was proposed or added.
    pub reason: String,
    /// The call marked as harassment.
    pub call_id: Option<String>,
    /// Who proposed (or added) it.
    pub proposed_by: Option<UserId>,
    /// When (epoch ms).
    pub proposed_at: Timestamp,
    /// Who approved, rejected or added it.
    pub decided_by: Option<UserId>,
    /// When (epoch ms).
    pub decided_at: Option<Timestamp>,
    /// The decider's note.
    pub decision_note: String,
    /// When an active entry stops blocking (epoch ms); none: never.
    pub expires_at: Option<Timestamp>,
    /// Who took it off the list.
    pub removed_by: Option<UserId>,
    /// When (epoch ms).
    pub removed_at: Option<Timestamp>,
}

fn view(e: BlocklistEntry, masked: bool, now: Timestamp) -> EntryView {
    EntryView {
        id: e.id,
        number: if masked { e.number.mask() } else { e.number.as_str().to_owned() },
        masked,
        status: e.status,
        blocking: e.blocks_at(now),
        reason: e.reason,
        call_id: e.call_id,
        proposed_by: e.proposed_by,
        proposed_at: e.proposed_at,
        decided_by: e.decided_by,
        decided_at: e.decided_at,
        decision_note: e.decision_note,
        expires_at: e.expires_at,
        removed_by: e.removed_by,
        removed_at: e.removed_at,
    }
}

/// Views for the caller; one `blocklist.pii_read` audit entry when numbers show in clear.
async fn views(state: &AppState, p: &Principal, ip: &str, entries: Vec<BlocklistEntry>) -> Vec<EntryView> {
    let masked = masked_for(p);
    if !masked && !entries.is_empty() {
        let ids: Vec<BlocklistEntryId> = entries.iter().map(|e| e.id).collect();
        let target = if ids.len() == 1 { ids[0].to_string() } else { format!("{} entries", ids.len()) };
        super::audit_change(state, p, ip, "blocklist.pii_read", target, json!({ "entries": ids })).await;
    }
    let now = state.clock.now();
    entries.into_iter().map(|e| view(e, masked, now)).collect()
}

/// Logs a `blocklist.changed` event (number masked) and audits the change.
async fn changed(
    state: &AppState,
    p: &Principal,
    ip: &str,
    action: &str,
    e: &BlocklistEntry,
    detail: serde_json::Value,
) {
    let mut ev = event(state, EventKind::BlocklistChanged);
    ev.interaction = e.call_id.as_deref().and_then(|c| InteractionId::from_str(c).ok());
    ev.data = json!({
        "action": action,
        "entry": e.id,
        "number": e.number.mask(),
        "status": e.status,
        "by": p.id,
    });
    state.events.send(ev);
    super::audit_change(state, p, ip, &format!("blocklist.{action}"), e.id.to_string(), detail).await;
}

fn note_of(field: &str, text: Option<&str>) -> ApiResult<String> {
    let t = text.unwrap_or_default().trim();
    let n = t.chars().count();
    if n > MAX_BLOCKLIST_NOTE_CHARS {
        return Err(ApiError::validation(format!(
            "{field} must be at most {MAX_BLOCKLIST_NOTE_CHARS} characters, got {n}"
        )));
    }
    Ok(t.to_owned())
}

fn expiry(state: &AppState, at: Option<i64>) -> ApiResult<Option<Timestamp>> {
    match at {
        Some(ms) if ms <= state.clock.now().as_millis() => {
            Err(ApiError::validation("expires_at must be in the future"))
        }
        other => Ok(other.map(Timestamp::from_millis)),
    }
}

/// Filters for the list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlocklistQuery {
    /// Comma-separated states (`pending`, `active`, `rejected`, `removed`); default
    /// `pending,active`: the pending proposals and the entries.
    pub status: Option<String>,
    /// Entries per page, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The blocklist: entries and pending proposals, newest first. Agents see only their own
/// proposals; numbers are masked unless the caller holds `pii_read`.
#[utoipa::path(get, path = "/api/v1/blocklist", tag = "blocklist", security(("bearer" = [])), params(BlocklistQuery),
    responses((status = 200, body = inline(Page<EntryView>)), (status = 400, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Query(q): Query<BlocklistQuery>,
) -> ApiResult<Json<Page<EntryView>>> {
    let statuses = match q.status.as_deref().map(str::trim) {
        None | Some("") => vec![BlocklistStatus::Pending, BlocklistStatus::Active],
        Some(list) => list
            .split(',')
            .map(|s| BlocklistStatus::from_str(s.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::bad_request)?,
    };
    let filter = BlocklistFilter { statuses, proposed_by: (!p.sees_all(TelephonyMonitor)).then_some(p.id) };
    let page = PageRequest { limit: q.limit, cursor: q.cursor };
    let got = state.store.list_blocklist(&filter, &page).await.map_err(|e| match e {
        StoreError::Invalid(m) => ApiError::bad_request(m),
        other => other.into(),
    })?;
    let items = views(&state, &p, &ip, got.items).await;
    Ok(Json(Page { items, next_cursor: got.next_cursor }))
}

/// A number a supervisor blocks at once.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// The number (any common form: `+86 138 0013 8000`, `13800138000` …).
    pub number: String,
    /// Why.
    pub reason: Option<String>,
    /// When it stops blocking (epoch ms); none: never.
    pub expires_at: Option<i64>,
}

/// Blocks a number at once (a supervisor's own entry, no proposal needed). 409 when the
/// number already has a pending or active entry.
#[utoipa::path(post, path = "/api/v1/blocklist", tag = "blocklist", security(("bearer" = [])), request_body = AddRequest,
    responses((status = 201, body = EntryView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<AddRequest>,
) -> ApiResult<(StatusCode, Json<EntryView>)> {
    let number = PhoneNumber::parse(&req.number).map_err(|e| ApiError::validation(format!("number: {}", e.reason)))?;
    let reason = note_of("reason", req.reason.as_deref())?;
    let expires_at = expiry(&state, req.expires_at)?;
    let new =
        NewBlocklistEntry { number, status: BlocklistStatus::Active, reason, call_id: None, by: p.id, expires_at };
    let entry = state.store.add_blocklist_entry(&new, state.clock.now()).await?;
    changed(&state, &p, &ip, "added", &entry, json!({ "expires_at": entry.expires_at })).await;
    let mut v = views(&state, &p, &ip, vec![entry]).await;
    Ok((StatusCode::CREATED, Json(v.remove(0))))
}

/// A supervisor's decision.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why.
    pub note: Option<String>,
    /// For an approval: when the block ends (epoch ms); none: never.
    pub expires_at: Option<i64>,
}

async fn decide(
    state: &AppState,
    p: &Principal,
    ip: &str,
    id: BlocklistEntryId,
    approve: bool,
    req: Decision,
) -> ApiResult<Json<EntryView>> {
    let note = note_of("note", req.note.as_deref())?;
    if !approve && req.expires_at.is_some() {
        return Err(ApiError::validation("expires_at goes with an approval only"));
    }
    let expires_at = expiry(state, req.expires_at)?;
    let entry = state.store.decide_blocklist_entry(id, approve, p.id, &note, expires_at, state.clock.now()).await?;
    let action = if approve { "approved" } else { "rejected" };
    changed(state, p, ip, action, &entry, json!({ "note": note, "expires_at": entry.expires_at })).await;
    let mut v = views(state, p, ip, vec![entry]).await;
    Ok(Json(v.remove(0)))
}

/// Approves a pending proposal: the number is blocked from now on. 409 unless pending.
#[utoipa::path(post, path = "/api/v1/blocklist/{id}/approve", tag = "blocklist", security(("bearer" = [])),
    params(("id" = BlocklistEntryId, Path, description = "entry id")), request_body = Decision,
    responses((status = 200, body = EntryView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<BlocklistEntryId>,
    Json(req): Json<Decision>,
) -> ApiResult<Json<EntryView>> {
    decide(&state, &p, &ip, id, true, req).await
}

/// Rejects a pending proposal. 409 unless pending.
#[utoipa::path(post, path = "/api/v1/blocklist/{id}/reject", tag = "blocklist", security(("bearer" = [])),
    params(("id" = BlocklistEntryId, Path, description = "entry id")), request_body = Decision,
    responses((status = 200, body = EntryView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<BlocklistEntryId>,
    Json(req): Json<Decision>,
) -> ApiResult<Json<EntryView>> {
    decide(&state, &p, &ip, id, false, req).await
}

/// Takes a number off the list (or withdraws a pending proposal); the entry is kept as
/// `removed`. 409 when it is already rejected or removed.
#[utoipa::path(delete, path = "/api/v1/blocklist/{id}", tag = "blocklist", security(("bearer" = [])),
    params(("id" = BlocklistEntryId, Path, description = "entry id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<BlocklistEntryId>,
) -> ApiResult<StatusCode> {
    let entry = state.store.remove_blocklist_entry(id, p.id, state.clock.now()).await?;
    changed(&state, &p, &ip, "removed", &entry, json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Marking a call as harassment.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct HarassmentRequest {
    /// What happened (kept as the proposal's reason).
    pub note: Option<String>,
}

/// What marking a call as harassment did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HarassmentAnswer {
    /// The proposal (or the number's existing pending or active entry).
    pub entry: EntryView,
    /// Whether this request made the proposal (false: the number was already proposed or
    /// blocked).
    pub proposed: bool,
    /// Whether the call was hung up by this request (false: it had ended already).
    pub hung_up: bool,
}

/// Marks the caller's call as harassment (AG-6): the call is hung up and the caller's number
/// proposed for the blocklist (a supervisor approves it). The number is shown masked to
/// roles without `pii_read`.
#[utoipa::path(post, path = "/api/v1/calls/{id}/harassment", tag = "telephony", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = HarassmentRequest,
    responses((status = 201, body = HarassmentAnswer), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn harassment(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<HarassmentRequest>,
) -> ApiResult<(StatusCode, Json<HarassmentAnswer>)> {
    let reason = note_of("note", req.note.as_deref())?;
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    let number = PhoneNumber::parse(&call.customer).map_err(|_| {
        ApiError::validation("the caller's number is not a phone number; it cannot be put on the blocklist")
    })?;
    let now = state.clock.now();
    let (entry, proposed) = match state.store.open_blocklist_entry(&number).await? {
        Some(existing) => (existing, false),
        None => {
            let new = NewBlocklistEntry {
                number: number.clone(),
                status: BlocklistStatus::Pending,
                reason: reason.clone(),
                call_id: Some(id.clone()),
                by: p.id,
                expires_at: None,
            };
            match state.store.add_blocklist_entry(&new, now).await {
                Ok(e) => (e, true),
                // proposed by someone else a moment ago
                Err(StoreError::Conflict(_)) => match state.store.open_blocklist_entry(&number).await? {
                    Some(e) => (e, false),
                    None => {
                        return Err(ApiError::new(
                            crate::error::ErrorCode::Conflict,
                            "the blocklist changed; try again",
                        ));
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
    };
    let hung_up = match sip.hangup(&id).await {
        Ok(()) => true,
        Err(ControlError::NoSuchCall(_)) => false,
        Err(e) => return Err(control_error(e)),
    };
    let agent = crate::routes::supervisor::agent_of(&state, &call).await;
    let mut ev = event(&state, EventKind::HarassmentReported);
    ev.interaction = InteractionId::from_str(&id).ok();
    ev.agent = agent;
    ev.data = json!({ "call": id, "entry": entry.id, "number": number.mask(), "by": p.id, "proposed": proposed });
    state.events.send(ev);
    if proposed {
        changed(&state, &p, &ip, "proposed", &entry, json!({ "call": id })).await;
    }
    let mut v = views(&state, &p, &ip, vec![entry]).await;
    Ok((StatusCode::CREATED, Json(HarassmentAnswer { entry: v.remove(0), proposed, hung_up })))
}
