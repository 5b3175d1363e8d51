//! Supervisor and team-lead actions on live calls and agents (SV-2): listen, whisper and barge
//! in through their own phone, switch between them, leave; force a transfer, a hang-up or an
//! agent's sign-out; merge and split queues (ACD-6). Every one of them is written to the audit
//! log and as a `supervisor.action` event (which the CTI stream shows). Also the agent's side:
//! floor support (AG-5) and where a transfer goes (an agent by id, a queue by name, or a
//! number).

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, PathId, Query};
use crate::routes::ClientIp;
use crate::routes::calls::{control_error, own_extension, sip, visible_call};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_core::Permission::TelephonyMonitor;
use kefu_core::acd::{AcdError, Input};
use kefu_core::agent::StateKind;
use kefu_core::event::{Event, EventKind};
use kefu_core::service::customer::show_number;
use kefu_core::{EventId, InteractionId, QueueId, Role, UserId};
use kefu_sip::media::MonitorMode;
use kefu_sip::server::{CallSnapshot, SipHandle};
use kefu_store::{PageRequest, User};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::str::FromStr;

/// Longest reason or note given with an action, in characters.
const MAX_REASON_CHARS: usize = 500;

/// How a supervisor joins a call.
#[derive(Deserialize, Serialize, utoipa::ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Hears caller and agent; nobody hears them (监听).
    Listen,
    /// Hears both; only the agent hears them (coaching, 密语).
    Whisper,
    /// Everyone hears everyone (强插).
    Barge,
}

impl Mode {
    fn sip(self) -> MonitorMode {
        match self {
            Mode::Listen => MonitorMode::Listen,
            Mode::Whisper => MonitorMode::Whisper,
            Mode::Barge => MonitorMode::Barge,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Listen => "listen",
            Mode::Whisper => "whisper",
            Mode::Barge => "barge",
        }
    }
}

/// Join a call, or change how.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorRequest {
    /// `listen`, `whisper` or `barge`.
    pub mode: Mode,
    /// The extension whose phone joins; default the caller's own. Another extension must
    /// belong to a user who may monitor calls too.
    pub extension: Option<String>,
}

/// Which monitoring to end.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonitorQuery {
    /// The monitoring extension; default the caller's own.
    pub extension: Option<String>,
}

/// A supervisor's phone on a call.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Monitoring {
    /// The call.
    pub call: String,
    /// The supervisor's extension (its phone rings, or already takes part).
    pub extension: String,
    /// How it takes part.
    pub mode: Mode,
}

/// A forced transfer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceTransfer {
    /// A queue (`queue:NAME` or a queue's name), an agent (`agent:ID` or a user id), or an
    /// extension or outside number.
    pub target: String,
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

/// A forced hang-up or sign-out.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ForceReason {
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

/// Merge a queue into another's group.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The queue to merge with (its group, if it is not merged yet).
    pub into: QueueId,
}

/// A floor-support request.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SupportRequest {
    /// Also consult the first available support person at once (the customer holds).
    #[serde(default)]
    pub consult: bool,
    /// What the agent needs help with.
    pub note: Option<String>,
}

/// A support person.
#[derive(Serialize, utoipa::ToSchema, Clone)]
pub struct SupportPerson {
    /// User id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Extension.
    pub extension: Option<String>,
}

/// Who was told, and who was consulted.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SupportAnswer {
    /// The on-duty team leads and supervisors notified (a `support.requested` event).
    pub notified: Vec<SupportPerson>,
    /// The one whose phone rings for a consultation, when `consult` was asked and someone
    /// was free.
    pub consulted: Option<SupportPerson>,
}

fn reason_of(reason: Option<&str>) -> ApiResult<String> {
    let r = reason.unwrap_or_default().trim();
    let n = r.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(ApiError::validation(format!("reason must be at most {MAX_REASON_CHARS} characters, got {n}")));
    }
    if r.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::validation("reason must not contain control characters"));
    }
    Ok(r.to_owned())
}

/// A new event record of `kind` now.
pub(crate) fn event(state: &AppState, kind: EventKind) -> Event {
    Event::new(EventId::from_uuid(uuid::Uuid::now_v7()), state.clock.now(), kind)
}

/// Records a supervisor action: one audit entry (`<action>` on `target`) and one
/// `supervisor.action` event about the call and the agent.
#[allow(clippy::too_many_arguments, reason = "who, from where, what, on what call and agent, with what detail")]
pub(crate) async fn record(
    state: &AppState,
    p: &Principal,
    ip: &str,
    action: &str,
    target: String,
    call: Option<&str>,
    agent: Option<UserId>,
    detail: Value,
) {
    let mut e = event(state, EventKind::SupervisorAction);
    e.interaction = call.and_then(|c| InteractionId::from_str(c).ok());
    e.agent = agent;
    let mut data = json!({ "action": action, "by": p.id, "by_name": p.username, "target": target });
    if let (Some(obj), Value::Object(more)) = (data.as_object_mut(), &detail) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    e.data = data;
    state.events.send(e);
    super::audit_change(state, p, ip, action, target, detail).await;
}

/// The user whose extension is the call's agent.
pub(crate) async fn agent_of(state: &AppState, call: &CallSnapshot) -> Option<UserId> {
    let ext = call.agent.as_deref()?;
    state.store.sip_secret(ext).await.ok().flatten().map(|s| s.user_id)
}

/// The extension a supervisor monitors with: their own by default; another only if it
/// belongs to someone who may monitor calls.
async fn monitor_extension(state: &AppState, p: &Principal, requested: Option<&str>) -> ApiResult<String> {
    let own = own_extension(state, p).await?;
    let Some(ext) = requested.map(str::trim) else {
        return own.ok_or_else(|| {
            ApiError::validation("you have no extension; name the `extension` whose phone joins the call")
        });
    };
    if own.as_deref() == Some(ext) {
        return Ok(ext.to_owned());
    }
    let holder = state.store.sip_secret(ext).await?;
    let Some(holder) = holder else { return Err(ApiError::validation(format!("no extension `{ext}`"))) };
    let user = state.store.user(holder.user_id).await?;
    if !user.role.allows(TelephonyMonitor) {
        return Err(ApiError::validation(format!("extension `{ext}` belongs to a user who may not monitor calls")));
    }
    Ok(ext.to_owned())
}

fn monitoring_leg(call: &CallSnapshot, ext: &str) -> bool {
    call.legs.iter().any(|l| l.role.as_str() == "monitor" && l.party == ext && l.state != "ended")
}

/// Rings the supervisor's phone and joins it to the call as listener, whisperer or barger.
#[utoipa::path(post, path = "/api/v1/calls/{id}/monitor", tag = "supervisor", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = MonitorRequest,
    responses((status = 202, body = Monitoring), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn start_monitor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<MonitorRequest>,
) -> ApiResult<(StatusCode, Json<Monitoring>)> {
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    let ext = monitor_extension(&state, &p, req.extension.as_deref()).await?;
    if call.agent.as_deref() == Some(ext.as_str()) {
        return Err(ApiError::new(ErrorCode::Conflict, format!("extension `{ext}` is the call's agent")));
    }
    if monitoring_leg(&call, &ext) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("extension `{ext}` already monitors this call; PUT changes the mode"),
        ));
    }
    if !sip.is_registered(&ext) {
        return Err(ApiError::new(ErrorCode::Conflict, format!("extension `{ext}` has no registered phone")));
    }
    sip.monitor(&id, &ext, req.mode.sip()).await.map_err(control_error)?;
    let agent = agent_of(&state, &call).await;
    let detail = json!({ "mode": req.mode.as_str(), "extension": ext, "agent_extension": call.agent });
    record(&state, &p, &ip, "call.monitor", id.clone(), Some(&id), agent, detail).await;
    Ok((StatusCode::ACCEPTED, Json(Monitoring { call: id, extension: ext, mode: req.mode })))
}

/// Switches the supervisor's monitoring of the call to another mode (listen → whisper →
/// barge, or back) without ringing their phone again.
#[utoipa::path(put, path = "/api/v1/calls/{id}/monitor", tag = "supervisor", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = MonitorRequest,
    responses((status = 200, body = Monitoring), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn change_monitor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<MonitorRequest>,
) -> ApiResult<Json<Monitoring>> {
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    let ext = monitor_extension(&state, &p, req.extension.as_deref()).await?;
    sip.set_monitor_mode(&id, &ext, req.mode.sip()).await.map_err(control_error)?;
    let agent = agent_of(&state, &call).await;
    let detail = json!({ "mode": req.mode.as_str(), "extension": ext });
    record(&state, &p, &ip, "call.monitor_mode", id.clone(), Some(&id), agent, detail).await;
    Ok(Json(Monitoring { call: id, extension: ext, mode: req.mode }))
}

/// Ends the supervisor's monitoring: their phone is hung up; caller and agent carry on.
#[utoipa::path(delete, path = "/api/v1/calls/{id}/monitor", tag = "supervisor", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id"), MonitorQuery),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn stop_monitor(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<MonitorQuery>,
) -> ApiResult<StatusCode> {
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    let ext = monitor_extension(&state, &p, q.extension.as_deref()).await?;
    sip.stop_monitor(&id, &ext).await.map_err(control_error)?;
    let agent = agent_of(&state, &call).await;
    record(&state, &p, &ip, "call.monitor_stop", id.clone(), Some(&id), agent, json!({ "extension": ext })).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Where a transfer goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TransferTarget {
    /// An extension or an outside number, rung by the SIP server.
    Dial {
        /// What to dial.
        target: String,
        /// The agent whose extension it is, when named by id.
        agent: Option<UserId>,
    },
    /// Back into a queue of the ACD.
    Queue(String),
}

/// Resolves a transfer target: `queue:NAME` or a queue's name → that queue; `agent:ID` or a
/// user id → that agent's extension (refused while they are busy on a call, or without a
/// phone); anything else is dialled as given (an extension or a number).
pub(crate) async fn resolve_transfer_target(state: &AppState, text: &str) -> ApiResult<TransferTarget> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 64 {
        return Err(ApiError::validation("`target` must be 1–64 characters"));
    }
    if let Some(name) = text.strip_prefix("queue:") {
        return match state.acd.queue_id(name).await {
            Some(_) => Ok(TransferTarget::Queue(name.to_owned())),
            None => Err(ApiError::validation(format!("no queue named `{name}`"))),
        };
    }
    let id_text = text.strip_prefix("agent:");
    if let Some(id) = id_text.or(Some(text)).and_then(|t| UserId::from_str(t).ok()) {
        return agent_target(state, id).await;
    }
    if let Some(id) = id_text {
        return Err(ApiError::validation(format!("`{id}` is not a user id")));
    }
    if state.acd.queue_id(text).await.is_some() {
        return Ok(TransferTarget::Queue(text.to_owned()));
    }
    Ok(TransferTarget::Dial { target: text.to_owned(), agent: None })
}

async fn agent_target(state: &AppState, id: UserId) -> ApiResult<TransferTarget> {
    let user = match state.store.user(id).await {
        Ok(u) => u,
        Err(kefu_store::StoreError::NotFound { .. }) => {
            return Err(ApiError::validation(format!("no user `{id}` to transfer to")));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(ext) = user.extension.clone().filter(|_| user.enabled) else {
        return Err(ApiError::validation(format!("{} has no phone to transfer to", user.display_name)));
    };
    if let Some(status) = state.acd.status().await
        && let Some(a) = status.agents.iter().find(|a| a.agent == id)
    {
        let kind = a.state.kind();
        if matches!(kind, StateKind::Reserved | StateKind::Talking | StateKind::OnHold) {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("{} is {} now; choose someone free", user.display_name, kind.as_str()),
            ));
        }
    }
    if let Ok(sip) = sip(state)
        && !sip.is_registered(&ext)
    {
        return Err(ApiError::new(ErrorCode::Conflict, format!("{}'s phone is not registered", user.display_name)));
    }
    Ok(TransferTarget::Dial { target: ext, agent: Some(id) })
}

/// Sends the customer of a call back into a queue: the agent leaves, the IVR holds the caller
/// and queues them again (only calls the IVR took can do this).
pub(crate) async fn transfer_to_queue(state: &AppState, sip: &SipHandle, call: &str, queue: &str) -> ApiResult<()> {
    let telephony =
        state.telephony.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "telephony is off"))?;
    telephony.requeues.put(call, queue);
    if let Err(e) = sip.release_agent(call, &format!("queue:{queue}")).await {
        telephony.requeues.take(call);
        return Err(control_error(e));
    }
    Ok(())
}

/// Transfers the customer away from the agent at once (强转): to a queue, an agent or a number.
#[utoipa::path(post, path = "/api/v1/calls/{id}/force-transfer", tag = "supervisor", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = ForceTransfer,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn force_transfer(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<ForceTransfer>,
) -> ApiResult<StatusCode> {
    let reason = reason_of(req.reason.as_deref())?;
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    let target = resolve_transfer_target(&state, &req.target).await?;
    let to = match &target {
        TransferTarget::Queue(q) => {
            transfer_to_queue(&state, &sip, &id, q).await?;
            json!({ "queue": q })
        }
        TransferTarget::Dial { target, agent } => {
            sip.transfer(&id, target).await.map_err(control_error)?;
            match agent {
                Some(a) => json!({ "agent": a, "extension": target }),
                None => json!({ "number": show_number(target, true) }),
            }
        }
    };
    let agent = agent_of(&state, &call).await;
    let detail = json!({ "to": to, "reason": reason, "agent_extension": call.agent });
    record(&state, &p, &ip, "call.force_transfer", id.clone(), Some(&id), agent, detail).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a call at once (强拆): every leg is hung up.
#[utoipa::path(post, path = "/api/v1/calls/{id}/force-hangup", tag = "supervisor", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = ForceReason,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn force_hangup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<ForceReason>,
) -> ApiResult<StatusCode> {
    let reason = reason_of(req.reason.as_deref())?;
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    sip.hangup(&id).await.map_err(control_error)?;
    let agent = agent_of(&state, &call).await;
    let detail = json!({ "reason": reason, "agent_extension": call.agent });
    record(&state, &p, &ip, "call.force_hangup", id.clone(), Some(&id), agent, detail).await;
    Ok(StatusCode::NO_CONTENT)
}

fn acd_error(e: AcdError) -> ApiError {
    match e {
        AcdError::UnknownAgent(_) => ApiError::new(ErrorCode::Conflict, "the agent is not signed in"),
        AcdError::UnknownQueue(q) => ApiError::not_found(format!("queue `{q}` is not in the ACD")),
        other => ApiError::new(ErrorCode::Conflict, other.to_string()),
    }
}

/// Signs an agent out of the ACD (a forced sign-out; refused while they are on a call).
#[utoipa::path(post, path = "/api/v1/agents/{id}/logout", tag = "supervisor", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")), request_body = ForceReason,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn force_logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(agent): PathId<UserId>,
    Json(req): Json<ForceReason>,
) -> ApiResult<StatusCode> {
    let reason = reason_of(req.reason.as_deref())?;
    let status = state.acd.status().await.ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "the ACD is stopped"))?;
    let signed_in = status.agents.iter().any(|a| a.agent == agent && a.state.kind() != StateKind::LoggedOut);
    if !signed_in {
        return Err(ApiError::new(ErrorCode::Conflict, "the agent is not signed in"));
    }
    state.acd.input(Input::AgentLogout { agent, forced: agent != p.id }).await.map_err(acd_error)?;
    record(&state, &p, &ip, "agent.force_logout", agent.to_string(), None, Some(agent), json!({ "reason": reason }))
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Merges a queue with another (合大组): the agents of each take the calls of all, oldest
/// first, until the group is split.
#[utoipa::path(post, path = "/api/v1/queues/{id}/merge", tag = "supervisor", security(("bearer" = [])),
    params(("id" = QueueId, Path, description = "Queue id")), request_body = MergeRequest,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn merge_queues(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<QueueId>,
    Json(req): Json<MergeRequest>,
) -> ApiResult<StatusCode> {
    if req.into == id {
        return Err(ApiError::validation("a queue cannot be merged with itself"));
    }
    state.acd.input(Input::MergeQueues { queues: vec![req.into, id] }).await.map_err(acd_error)?;
    record(&state, &p, &ip, "queue.merge", id.to_string(), None, None, json!({ "into": req.into })).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Splits the merge group the queue belongs to; each queue serves its own callers again.
#[utoipa::path(post, path = "/api/v1/queues/{id}/split", tag = "supervisor", security(("bearer" = [])),
    params(("id" = QueueId, Path, description = "Queue id")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn split_queues(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(id): PathId<QueueId>,
) -> ApiResult<StatusCode> {
    state.acd.input(Input::SplitQueues { queue: id }).await.map_err(acd_error)?;
    record(&state, &p, &ip, "queue.split", id.to_string(), None, None, json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user (a contact center has hundreds, not millions).
pub(crate) async fn all_users(state: &AppState) -> ApiResult<Vec<User>> {
    let mut out = Vec::new();
    let mut page = PageRequest { limit: Some(PageRequest::MAX_LIMIT), cursor: None };
    loop {
        let got = state.store.list_users(&page).await?;
        out.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The floor-support staff on duty, best first: enabled team leads and supervisors with a
/// registered phone (or signed in to the ACD) — the agent's own team's first, then team
/// leads, then supervisors. The flag says whether each is free now (phone registered, on no
/// call).
async fn support_staff(state: &AppState, sip: &SipHandle, agent: Option<&User>) -> ApiResult<Vec<(User, bool)>> {
    let status = state.acd.status().await;
    let calls = sip.calls();
    let busy_ext = |ext: &str| calls.iter().any(|c| c.legs.iter().any(|l| l.party == ext && l.state != "ended"));
    let mut staff: Vec<(User, bool)> = Vec::new();
    for u in all_users(state).await? {
        if !u.enabled || !matches!(u.role, Role::TeamLead | Role::Supervisor) || agent.is_some_and(|a| a.id == u.id) {
            continue;
        }
        let acd_state = status.as_ref().and_then(|s| s.agents.iter().find(|a| a.agent == u.id)).map(|a| a.state.kind());
        let signed_in = acd_state.is_some_and(|k| k != StateKind::LoggedOut);
        let registered = u.extension.as_deref().is_some_and(|e| sip.is_registered(e));
        if !signed_in && !registered {
            continue;
        }
        let acd_busy =
            acd_state.is_some_and(|k| matches!(k, StateKind::Reserved | StateKind::Talking | StateKind::OnHold));
        let free = registered && !acd_busy && !u.extension.as_deref().is_some_and(busy_ext);
        staff.push((u, free));
    }
    let team = agent.and_then(|a| a.team_id);
    staff.sort_by_key(|(u, _)| (team.is_none() || u.team_id != team, u.role != Role::TeamLead, u.username.clone()));
    Ok(staff)
}

fn person(u: &User) -> SupportPerson {
    SupportPerson { id: u.id, name: u.display_name.clone(), role: u.role, extension: u.extension.clone() }
}

/// Asks for floor support on the caller's call (现场支撑): the on-duty team leads and
/// supervisors are told (`support.requested`); with `consult`, the first free one's phone
/// rings at once as a consultation (the customer holds; complete or cancel it with the
/// transfer routes).
#[utoipa::path(post, path = "/api/v1/calls/{id}/support", tag = "telephony", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = SupportRequest,
    responses((status = 200, body = SupportAnswer), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn support(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<SupportRequest>,
) -> ApiResult<Json<SupportAnswer>> {
    let note = reason_of(req.note.as_deref())?;
    let sip = sip(&state)?;
    let call = visible_call(&state, &p, &sip, &id).await?;
    let agent_id = agent_of(&state, &call).await;
    let agent = match agent_id {
        Some(a) => Some(state.store.user(a).await?),
        None => None,
    };
    let staff = support_staff(&state, &sip, agent.as_ref()).await?;
    let mut consulted = None;
    if req.consult
        && let Some((u, _)) = staff.iter().find(|(_, free)| *free)
    {
        let ext = u.extension.clone().unwrap_or_default();
        sip.consult(&id, &ext).await.map_err(control_error)?;
        consulted = Some(person(u));
    }
    let notified: Vec<SupportPerson> = staff.iter().map(|(u, _)| person(u)).collect();
    let mut e = event(&state, EventKind::SupportRequested);
    e.interaction = InteractionId::from_str(&id).ok();
    e.agent = agent_id;
    e.data = json!({
        "call": id,
        "by": p.id,
        "agent_extension": call.agent,
        "note": note,
        "notified": notified.iter().map(|s| s.id).collect::<Vec<_>>(),
        "consulted": consulted.as_ref().map(|s| s.id),
    });
    state.events.send(e);
    Ok(Json(SupportAnswer { notified, consulted }))
}
