//! Telephony over HTTP: registered phones, live calls, and call control (hold, transfer,
//! hang-up, click-to-dial). Agents control their own calls; team leads, supervisors and
//! administrators (`telephony_monitor`) see and control every call.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Json;
use crate::routes::customers::masked_for;
use crate::routes::{ClientIp, audit_change};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_core::Permission::TelephonyMonitor;
use kefu_core::service::customer::show_number;
use kefu_core::{CustomerId, Permission};
use kefu_sip::server::{CallSnapshot, ControlError, LegDirection, LegRole, RegistrationView, SipHandle};
use serde::{Deserialize, Serialize};

/// A registered phone.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Registration {
    /// The extension (SIP user).
    pub extension: String,
    /// Contact URI the phone registered.
    pub contact: String,
    /// Where its REGISTER came from (`udp:203.0.113.4:5062`); calls go there (NAT).
    pub source: String,
    /// Seconds until the registration lapses.
    pub expires_in_secs: u32,
    /// The phone's User-Agent, if it sent one.
    pub user_agent: Option<String>,
}

impl From<RegistrationView> for Registration {
    fn from(r: RegistrationView) -> Self {
        Registration {
            extension: r.extension,
            contact: r.contact,
            source: r.source,
            expires_in_secs: r.expires_in_secs,
            user_agent: r.user_agent,
        }
    }
}

/// One leg of a live call.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CallLeg {
    /// Leg id.
    pub id: u64,
    /// `customer`, `agent`, `consult` or `monitor`.
    pub role: &'static str,
    /// `inbound` or `outbound`.
    pub direction: &'static str,
    /// Number or extension of the far end.
    pub party: String,
    /// `ringing`, `answered` or `ended`.
    pub state: &'static str,
}

/// A live call.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Call {
    /// Call id (also the interaction id in the event log).
    pub id: String,
    /// `ringing`, `ivr`, `talking`, `held`, `consulting`, `conference` (customer, agent and the
    /// consulted party all hear each other), `transferring` or `ended`.
    pub state: &'static str,
    /// The customer's number.
    pub customer: String,
    /// The agent's extension, if an agent is on the call.
    pub agent: Option<String>,
    /// Started, epoch ms.
    pub started_at: i64,
    /// Answered by an agent, epoch ms.
    pub answered_at: Option<i64>,
    /// Being recorded.
    pub recording: bool,
    /// Legs, oldest first.
    pub legs: Vec<CallLeg>,
}

impl Call {
    /// The call as `p` may see it: the customer's number (and their leg's) masked unless the
    /// role may read personal data (SEC-3); agents' extensions stay as they are.
    fn for_viewer(c: CallSnapshot, p: &Principal) -> Self {
        let masked = masked_for(p);
        Call {
            id: c.id.0,
            state: c.state,
            customer: show_number(&c.customer, masked),
            agent: c.agent,
            started_at: c.started_at_ms,
            answered_at: c.answered_at_ms,
            recording: c.recording,
            legs: c
                .legs
                .into_iter()
                .map(|l| CallLeg {
                    id: l.id,
                    role: l.role.as_str(),
                    direction: match l.direction {
                        LegDirection::Inbound => "inbound",
                        LegDirection::Outbound => "outbound",
                    },
                    party: if l.role == LegRole::Customer { show_number(&l.party, masked) } else { l.party },
                    state: l.state,
                })
                .collect(),
        }
    }
}

/// Click-to-dial: a number, or a customer's number by index (which the caller need not be
/// able to read). Exactly one of `number` and `customer_id`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialRequest {
    /// The number (or extension) to call.
    pub number: Option<String>,
    /// A customer to call instead: the server dials their number without showing it (needs
    /// `customers_read`).
    pub customer_id: Option<CustomerId>,
    /// Which of the customer's phone numbers, 0-based (default 0); with `customer_id` only.
    pub phone: Option<u32>,
    /// The agent's extension whose phone rings first; defaults to the caller's own. Only
    /// `telephony_monitor` may name another agent.
    pub agent: Option<String>,
}

/// The new call.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Dialled {
    /// Its id.
    pub id: String,
}

/// How to transfer.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TransferModeBody {
    /// The agent leaves at once; the customer rings the target.
    Blind,
    /// Consult the target first; complete or cancel with the `/transfer/complete` and
    /// `/transfer/cancel` routes.
    Attended,
}

/// A transfer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// An agent's extension or an outside number; an agent by id (`agent:ID`, or the bare
    /// user id: refused while they are on a call); or a queue (`queue:NAME`, or a queue's
    /// name: blind only, for calls the IVR took — the caller waits in that queue again).
    pub target: String,
    /// `blind` or `attended`.
    pub mode: TransferModeBody,
}

pub(crate) fn sip(state: &AppState) -> ApiResult<SipHandle> {
    state
        .telephony
        .as_ref()
        .map(|t| t.sip.clone())
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "telephony is off: set the `sip` setting to enable it"))
}

pub(crate) fn control_error(e: ControlError) -> ApiError {
    let code = match &e {
        ControlError::NoSuchCall(_) => ErrorCode::NotFound,
        ControlError::InvalidState(_) | ControlError::NotRegistered(_) => ErrorCode::Conflict,
        ControlError::NoRoute(_) => ErrorCode::ValidationFailed,
        ControlError::ShuttingDown => ErrorCode::Unavailable,
    };
    ApiError::new(code, e.to_string())
}

/// The caller's own extension, if they have one.
pub(crate) async fn own_extension(state: &AppState, p: &Principal) -> ApiResult<Option<String>> {
    Ok(state.store.user(p.id).await?.extension)
}

/// A live call the caller may see and control: their own (they are its agent), or any with
/// `telephony_monitor`. Someone else's call is reported as not found, not forbidden, so ids
/// cannot be probed.
pub(crate) async fn visible_call(
    state: &AppState,
    p: &Principal,
    sip: &SipHandle,
    id: &str,
) -> ApiResult<CallSnapshot> {
    let not_found = || ApiError::not_found(format!("no active call {id}"));
    let call = sip.call(id).ok_or_else(not_found)?;
    if p.sees_all(TelephonyMonitor) {
        return Ok(call);
    }
    let own = own_extension(state, p).await?;
    if own.is_some() && call.agent == own { Ok(call) } else { Err(not_found()) }
}

/// Registered phones, by extension.
#[utoipa::path(get, path = "/api/v1/registrations", tag = "telephony", security(("bearer" = [])),
    responses((status = 200, body = [Registration]), (status = 403, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn registrations(State(state): State<AppState>) -> ApiResult<Json<Vec<Registration>>> {
    Ok(Json(sip(&state)?.registrations().into_iter().map(Registration::from).collect()))
}

/// Live calls: all of them with `telephony_monitor`, else the caller's own.
#[utoipa::path(get, path = "/api/v1/calls", tag = "telephony", security(("bearer" = [])),
    responses((status = 200, body = [Call]), (status = 503, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<Json<Vec<Call>>> {
    let sip = sip(&state)?;
    let calls = sip.calls();
    let calls = if p.sees_all(TelephonyMonitor) {
        calls
    } else {
        let own = own_extension(&state, &p).await?;
        calls.into_iter().filter(|c| own.is_some() && c.agent == own).collect()
    };
    Ok(Json(calls.into_iter().map(|c| Call::for_viewer(c, &p)).collect()))
}

/// One live call.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "telephony", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")),
    responses((status = 200, body = Call), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<Json<Call>> {
    let sip = sip(&state)?;
    Ok(Json(Call::for_viewer(visible_call(&state, &p, &sip, &id).await?, &p)))
}

/// Click-to-dial: rings the agent's phone, then the number — or the customer's number, which
/// the caller never sees (audited as `customer.dial`); returns the call id.
#[utoipa::path(post, path = "/api/v1/calls", tag = "telephony", security(("bearer" = [])), request_body = DialRequest,
    responses((status = 201, body = Dialled), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn dial(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Json(req): Json<DialRequest>,
) -> ApiResult<(StatusCode, Json<Dialled>)> {
    let sip = sip(&state)?;
    let (number, customer) = match (req.number, req.customer_id) {
        (Some(number), None) => {
            if req.phone.is_some() {
                return Err(ApiError::validation("`phone` goes with `customer_id` only"));
            }
            let number = number.trim().to_owned();
            if number.is_empty() || number.chars().count() > 64 {
                return Err(ApiError::validation("`number` must be 1–64 characters"));
            }
            (number, None)
        }
        (None, Some(id)) => {
            let index = req.phone.unwrap_or(0);
            (customer_number(&state, &p, id, index).await?, Some((id, index)))
        }
        (Some(_), Some(_)) => return Err(ApiError::validation("give either `number` or `customer_id`, not both")),
        (None, None) => return Err(ApiError::validation("give the `number` or the `customer_id` to call")),
    };
    let number = number.as_str();
    let own = own_extension(&state, &p).await?;
    let agent = match (req.agent, own) {
        (Some(agent), own) if Some(&agent) == own.as_ref() => agent,
        (Some(agent), _) => {
            p.require(TelephonyMonitor)?;
            agent
        }
        (None, Some(own)) => own,
        (None, None) => return Err(ApiError::validation("you have no extension; name the `agent` whose phone rings")),
    };
    let id = sip.dial(&agent, number).await.map_err(control_error)?;
    if let Some((customer, index)) = customer {
        // the number itself is neither logged nor audited: only which customer and which phone
        tracing::info!(call_id = %id.0, customer = %customer, phone = index, agent = %agent, "click-to-dial to a customer");
        let detail = serde_json::json!({ "call": id.0, "phone": index, "agent": agent });
        audit_change(&state, &p, &ip, "customer.dial", customer.to_string(), detail).await;
    } else {
        tracing::info!(call_id = %id.0, agent = %agent, "click-to-dial");
    }
    Ok((StatusCode::CREATED, Json(Dialled { id: id.0 })))
}

/// The clear number `index` of customer `id`, for dialling on the caller's behalf: needs
/// `customers_read` (not `pii_read`: the number never leaves the server). 404 for an unknown
/// customer, 409 for an erased one, 422 for an index past their numbers.
async fn customer_number(state: &AppState, p: &Principal, id: CustomerId, index: u32) -> ApiResult<String> {
    p.require(Permission::CustomersRead)?;
    let customer = state.store.customer(id).await?;
    if customer.erased_at.is_some() {
        return Err(ApiError::new(ErrorCode::Conflict, "the customer's data was erased: there is no number to dial"));
    }
    let count = customer.phones.len();
    let phone = usize::try_from(index).ok().and_then(|i| customer.phones.get(i));
    match phone {
        Some(phone) => Ok(phone.number.as_str().to_owned()),
        None if count == 0 => Err(ApiError::validation("the customer has no phone number")),
        None => Err(ApiError::validation(format!(
            "`phone` must be 0–{}: the customer has {count} phone number{}",
            count - 1,
            if count == 1 { "" } else { "s" }
        ))),
    }
}

macro_rules! call_action {
    ($(#[$doc:meta])* $name:ident, $path:literal, |$sip:ident, $id:ident| $body:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "telephony", security(("bearer" = [])),
            params(("id" = String, Path, description = "Call id")),
            responses((status = 204), (status = 404, body = crate::error::ErrorBody),
                (status = 409, body = crate::error::ErrorBody)))]
        pub async fn $name(State(state): State<AppState>, p: Principal, Path($id): Path<String>) -> ApiResult<StatusCode> {
            let $sip = sip(&state)?;
            visible_call(&state, &p, &$sip, &$id).await?;
            $body.await.map_err(control_error)?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

call_action!(
    /// Puts the customer on hold (music on hold).
    hold, "/api/v1/calls/{id}/hold", |sip, id| sip.hold(&id)
);
call_action!(
    /// Takes the customer off hold.
    unhold, "/api/v1/calls/{id}/unhold", |sip, id| sip.unhold(&id)
);
call_action!(
    /// Hangs the whole call up.
    hangup, "/api/v1/calls/{id}/hangup", |sip, id| sip.hangup(&id)
);
call_action!(
    /// Completes an attended transfer: the customer talks to the consulted party; the agent leaves.
    complete_transfer, "/api/v1/calls/{id}/transfer/complete", |sip, id| sip.complete_transfer(&id)
);
call_action!(
    /// Cancels a consultation and returns the agent to the customer.
    cancel_transfer, "/api/v1/calls/{id}/transfer/cancel", |sip, id| sip.cancel_consult(&id)
);
call_action!(
    /// Turns the answered consultation into a three-way call: the customer comes off hold and
    /// customer, agent and consulted party all hear each other (state `conference`). 409 unless
    /// a consulted party has answered. If the agent hangs up, the consulted party becomes the
    /// call's agent; if the consulted party hangs up, customer and agent talk on.
    conference, "/api/v1/calls/{id}/conference", |sip, id| sip.conference(&id)
);

/// Transfers the customer: blind (the agent leaves at once) or attended (consult first).
#[utoipa::path(post, path = "/api/v1/calls/{id}/transfer", tag = "telephony", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")), request_body = TransferRequest,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn transfer(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(req): Json<TransferRequest>,
) -> ApiResult<StatusCode> {
    let sip = sip(&state)?;
    visible_call(&state, &p, &sip, &id).await?;
    let target = match super::supervisor::resolve_transfer_target(&state, &req.target).await? {
        super::supervisor::TransferTarget::Queue(queue) if req.mode == TransferModeBody::Blind => {
            super::supervisor::transfer_to_queue(&state, &sip, &id, &queue).await?;
            return Ok(StatusCode::NO_CONTENT);
        }
        super::supervisor::TransferTarget::Queue(_) => {
            return Err(ApiError::validation("a queue takes blind transfers only"));
        }
        super::supervisor::TransferTarget::Dial { target, .. } => target,
    };
    let result = match req.mode {
        TransferModeBody::Blind => sip.transfer(&id, &target).await,
        TransferModeBody::Attended => sip.consult(&id, &target).await,
    };
    result.map_err(control_error)?;
    Ok(StatusCode::NO_CONTENT)
}
