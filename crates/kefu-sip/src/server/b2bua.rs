//! The B2BUA call model: every call is one task owning its legs (SIP dialogs) and one media
//! session; SIP dialog states, media events, outbound INVITE outcomes, ring timers and API
//! commands all arrive at that task, so a call's state changes in one place, in order.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, DialogStateSender, TerminatedReason};
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::ToTypedHeader;
use rsipstack::sip::{Header, HeadersExt, StatusCode, StatusCodeKind};
use rsipstack::transaction::Transaction;
use rsipstack::transport::SipAddr;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::auth::Realm;
use super::types::*;
use super::{Inner, Trunk, TrunkTransport, now_ms};
use crate::media::engine::{LegId, LegMedia, MediaEvent, MediaSession, RtpSocket, Source};
use crate::media::{Digit, Law, MonitorMode};
use crate::sdp::SessionDescription;
use crate::sdp::{Codec, LocalMedia, NegotiatedMedia, answer_offer, build_offer, read_answer};

/// Where a new leg goes.
#[derive(Clone, Debug)]
pub(super) enum Target {
    /// An agent's (or supervisor's) extension: all its registered contacts ring at once.
    Extension(String),
    /// A number reached through a trunk.
    Number {
        /// The number.
        number: String,
        /// The trunk.
        trunk: Trunk,
    },
}

impl Target {
    fn party(&self) -> &str {
        match self {
            Target::Extension(e) => e,
            Target::Number { number, .. } => number,
        }
    }
}

type Reply = oneshot::Sender<Result<(), ControlError>>;

/// A command from the API to one call.
pub(super) enum CallCmd {
    Hold { on: bool, reply: Reply },
    Hangup { reply: Reply },
    BlindTransfer { target: Target, reply: Reply },
    Consult { target: Target, reply: Reply },
    CompleteTransfer { reply: Reply },
    CancelConsult { reply: Reply },
    Conference { reply: Reply },
    Monitor { target: Target, mode: MonitorMode, reply: Reply },
    SetMonitorMode { extension: String, mode: MonitorMode, reply: Reply },
    StopMonitor { extension: String, reply: Reply },
    ReleaseAgent { to: String, reply: Reply },
    Play { token: u64, samples: Arc<[i16]>, reply: Reply },
    PlayMusic { reply: Reply },
    StopPlayback { reply: Reply },
    Connect { target: Target, back_to_ivr: bool, reply: Reply },
    CancelAgent { reply: Reply },
    RecordVoicemail { path: PathBuf, max_ms: u64, reply: Reply },
    StopVoicemail { reply: Reply },
    Shutdown { reply: oneshot::Sender<Result<(), ControlError>> },
}

/// The server's reference to a live call.
pub(super) struct CallHandle {
    tx: mpsc::UnboundedSender<CallCmd>,
    snapshot: Arc<Mutex<CallSnapshot>>,
}

impl CallHandle {
    pub(super) fn sender(&self) -> mpsc::UnboundedSender<CallCmd> {
        self.tx.clone()
    }

    pub(super) fn snapshot(&self) -> Option<CallSnapshot> {
        self.snapshot.lock().ok().map(|s| s.clone())
    }
}

/// What to do when an outbound leg is answered or fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// The agent for an inbound customer call.
    AgentForInbound,
    /// The new party of a blind transfer.
    BlindTarget,
    /// The party an agent consults.
    ConsultTarget,
    /// Click-to-dial, first step: the agent's phone.
    DialAgent,
    /// Click-to-dial, second step: the customer.
    DialCustomer,
    /// A supervisor listening, whispering or barging.
    Monitor(MonitorMode),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegState {
    Ringing,
    Answered,
    Ended,
}

struct Leg {
    id: u64,
    role: LegRole,
    direction: LegDirection,
    party: String,
    extension: Option<String>,
    purpose: Option<Purpose>,
    state: LegState,
    /// SIP Call-IDs of this leg's dialogs (one per fork).
    sip_call_ids: Vec<String>,
    /// The inbound dialog, for an inbound leg.
    inbound: Option<InviteDialog>,
    /// Outbound forks still ringing.
    branches: Vec<InviteDialog>,
    /// The answered outbound dialog.
    answered: Option<InviteDialog>,
    pending: usize,
    best_failure: u16,
    timed_out: bool,
    rang: bool,
    /// kefu ended (or is ending) this leg on purpose: its termination is expected.
    released: bool,
    local: LocalMedia,
    offer: Option<SessionDescription>,
    /// Dialog ids to remove from the dialog layer when the call ends.
    dialog_ids: Vec<DialogId>,
}

impl Leg {
    fn snapshot(&self) -> LegSnapshot {
        LegSnapshot {
            id: self.id,
            role: self.role,
            direction: self.direction,
            party: self.party.clone(),
            state: match self.state {
                LegState::Ringing => "ringing",
                LegState::Answered => "answered",
                LegState::Ended => "ended",
            },
        }
    }

    fn live(&self) -> bool {
        self.state != LegState::Ended
    }
}

/// What the call's own helper tasks report (`VoicemailTimeout`: the time limit of the voicemail
/// with that serial number is up).
enum Internal {
    BranchDone { leg: u64, dialog: InviteDialog, result: Result<InviteAsyncResult, String> },
    RingTimeout { leg: u64 },
    NoContacts { leg: u64 },
    VoicemailTimeout { serial: u64 },
}

/// A voicemail being recorded for the IVR.
struct Voicemail {
    /// Tells this voicemail's time limit from a later one's.
    serial: u64,
    path: PathBuf,
    /// Sends the `VoicemailTimeout`; aborted when the voicemail stops earlier.
    timer: tokio::task::JoinHandle<()>,
}

static NEXT_LEG: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_leg_id() -> u64 {
    NEXT_LEG.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

struct Call {
    id: CallId,
    server: Arc<Inner>,
    media: MediaSession,
    legs: Vec<Leg>,
    customer: Option<u64>,
    agent: Option<u64>,
    consult: Option<u64>,
    /// The answered consultation became a three-way conference: customer, agent and the
    /// consulted party (still in `consult`) each hear the other two.
    conference: bool,
    monitors: Vec<(u64, MonitorMode)>,
    held: bool,
    answered_at: Option<i64>,
    customer_number: String,
    dialled: String,
    recording: Option<(PathBuf, i64)>,
    /// Call recordings started so far (a caller back with the IVR may talk to a second agent).
    recordings_started: u32,
    state_tx: DialogStateSender,
    internal_tx: mpsc::UnboundedSender<Internal>,
    snapshot: Arc<Mutex<CallSnapshot>>,
    ended: Option<EndCause>,
    /// The SDP answer to send when an inbound leg is accepted.
    legs_answer_sdp: HashMap<u64, Vec<u8>>,
    /// Click-to-dial: the customer to ring once the agent answers.
    pending_customer: Option<Target>,
    /// The IVR's signals, for the whole life of a call the IVR answered.
    ivr: Option<mpsc::UnboundedSender<IvrSignal>>,
    /// The IVR has the caller: no agent bridged, no transfer under way. Its commands work and
    /// it hears the caller's keys only then.
    ivr_active: bool,
    /// The token of the IVR's audio now playing to the customer.
    ivr_playing: Option<u64>,
    /// The agent the IVR connected was asked for with `back_to_ivr`: if they hang up first,
    /// the caller goes back to the IVR.
    ivr_return: bool,
    /// A transfer the IVR asked for rings this target; the IVR hears of the answer.
    ivr_transfer: Option<String>,
    /// The voicemail being recorded.
    voicemail: Option<Voicemail>,
    voicemail_serial: u64,
    /// Stopped voicemails whose files are being finished; each tells the IVR when done. The
    /// call waits for them before it tells the IVR it ended.
    voicemail_flights: Vec<tokio::task::JoinHandle<()>>,
}

fn law_of(codec: Codec) -> Law {
    match codec {
        Codec::Pcmu => Law::Mu,
        Codec::Pcma => Law::A,
    }
}

fn session_id() -> u64 {
    u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([1; 8])) >> 1
}

fn sdp_headers() -> Vec<Header> {
    vec![Header::ContentType("application/sdp".into())]
}

fn status_u16(code: &StatusCode) -> u16 {
    u16::from(code.clone())
}

impl Inner {
    /// A target from text: a known extension, else a number on the first trunk.
    pub(super) async fn resolve_target(&self, text: &str) -> Result<Target, ControlError> {
        let text = text.trim();
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || "+*#-_.".contains(c)) {
            return Err(ControlError::NoRoute(text.to_owned()));
        }
        if self.directory.sip_secret(text).await.is_some() {
            return Ok(Target::Extension(text.to_owned()));
        }
        match self.trunks().first() {
            Some(trunk) => Ok(Target::Number { number: text.to_owned(), trunk: trunk.clone() }),
            None => Err(ControlError::NoRoute(text.to_owned())),
        }
    }

    fn contact_uri(&self, user: &str) -> rsipstack::sip::Uri {
        let text = format!("sip:{user}@{}", self.local);
        rsipstack::sip::Uri::try_from(text.as_str()).unwrap_or_default()
    }

    fn register_call(&self, call: &Call, tx: mpsc::UnboundedSender<CallCmd>) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.insert(call.id.clone(), CallHandle { tx, snapshot: call.snapshot.clone() });
        }
    }
}

/// An INVITE outside any dialog: a trunk call or an extension calling.
pub(super) async fn inbound(server: Arc<Inner>, mut tx: Transaction) {
    let source_ip =
        tx.connection.as_ref().and_then(|c| c.get_remote_addr()).and_then(|a| a.get_socketaddr().ok()).map(|a| a.ip());
    let dialled = tx.original.uri.user().unwrap_or_default().to_owned();
    let from_user = tx
        .original
        .from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .and_then(|u| u.user().map(str::to_owned))
        .unwrap_or_default();
    let trunk = source_ip.and_then(|ip| server.trunks().iter().find(|t| t.allows(ip)).cloned());
    let (customer_number, target_ext) = match &trunk {
        Some(trunk) => match trunk.route(&dialled) {
            Some(target) => (from_user.clone(), target.to_owned()),
            None => {
                info!(trunk = %trunk.name, %dialled, "no inbound route for the dialled number");
                tx.reply(StatusCode::NotFound).await.ok();
                return;
            }
        },
        None => {
            let Some(auth) = server.authenticate(&mut tx, Realm::Proxy).await else { return };
            (auth.extension, dialled.clone())
        }
    };
    if trunk.is_some()
        && let super::Screening::Reject(code) = server.directory.screen(&customer_number, &dialled, &target_ext).await
    {
        info!(%dialled, code, "call refused by screening");
        tx.reply(StatusCode::from(code)).await.ok();
        return;
    }
    let ivr_flow = target_ext.strip_prefix("ivr:").map(str::to_owned);
    let ivr_taker = server.ivr.lock().ok().and_then(|t| t.clone());
    if ivr_flow.is_some() && ivr_taker.is_none() {
        info!(%dialled, "a route names an IVR flow, but no IVR is attached");
        tx.reply(StatusCode::TemporarilyUnavailable).await.ok();
        return;
    }
    if ivr_flow.is_none() && server.directory.sip_secret(&target_ext).await.is_none() {
        debug!(target = %target_ext, "call to an unknown extension");
        tx.reply(StatusCode::NotFound).await.ok();
        return;
    }
    // A dialog needs the caller's Contact (its remote target); answer a missing or broken one
    // here with 400 rather than failing later with 500.
    let contact_ok = tx.original.contact_header().ok().is_some_and(|c| c.typed().is_ok());
    if !contact_ok {
        let warning = Header::Warning("399 kefu \"INVITE needs a valid Contact\"".into());
        tx.reply_with(StatusCode::BadRequest, vec![warning], None).await.ok();
        return;
    }
    let offer = match SessionDescription::parse_bytes(&tx.original.body) {
        Ok(sdp) => sdp,
        Err(e) => {
            debug!(error = %e, "INVITE without a usable SDP offer");
            let warning = Header::Warning("399 kefu \"an SDP offer with G.711 audio is required\"".into());
            tx.reply_with(StatusCode::NotAcceptableHere, vec![warning], None).await.ok();
            return;
        }
    };
    let socket = match server.media.allocate().await {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "no RTP port for a new call");
            tx.reply(StatusCode::ServiceUnavailable).await.ok();
            return;
        }
    };
    let local = LocalMedia::new(server.cfg.public_ip, socket.local_addr().port(), session_id(), 1);
    let (answer, negotiated) = match answer_offer(&offer, &local) {
        Ok(a) => a,
        Err(e) => {
            debug!(error = %e, "offer refused");
            let warning = Header::Warning(format!("304 kefu \"{e}\"").into());
            tx.reply_with(StatusCode::from(e.sip_status()), vec![warning], None).await.ok();
            return;
        }
    };

    let (state_tx, state_rx) = server.dialogs.new_dialog_state_channel();
    let contact = server.contact_uri("kefu");
    let dialog = match server.dialogs.get_or_create_server_invite(&tx, state_tx.clone(), None, Some(contact)) {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "cannot create the inbound dialog");
            tx.reply(StatusCode::ServerInternalError).await.ok();
            return;
        }
    };
    let sip_call_id = dialog.id().call_id.clone();
    let dialog_id = dialog.id();
    let mut handler = dialog.clone();
    tokio::spawn(async move {
        if let Err(e) = handler.handle(&mut tx).await {
            debug!(error = %e, "inbound INVITE transaction ended with an error");
        }
    });

    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let media = server.media.session(media_tx);
    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let id = CallId::new();
    let mut call =
        Call::new(id.clone(), server.clone(), media, state_tx, internal_tx, customer_number.clone(), dialled.clone());
    let leg_id = next_leg_id();
    let mut leg = Leg::new(leg_id, LegRole::Customer, LegDirection::Inbound, customer_number, local);
    leg.sip_call_ids.push(sip_call_id);
    leg.dialog_ids.push(dialog_id);
    leg.inbound = Some(dialog);
    leg.local = answer_local(&leg.local);
    call.add_leg_media(leg_id, socket, &negotiated);
    call.customer = Some(leg_id);
    call.legs.push(leg);
    call.emit_leg_created(leg_id);
    call.legs_answer_sdp.insert(leg_id, answer.to_string().into_bytes());
    server.register_call(&call, cmd_tx);
    match (ivr_flow, ivr_taker) {
        (Some(flow), Some(taker)) => {
            // The IVR answers at once and drives the call from here on.
            let (signals_tx, signals) = mpsc::unbounded_channel();
            call.ivr = Some(signals_tx);
            call.ivr_active = true;
            call.answer_customer(leg_id);
            let handed = IvrCall { call: id, caller: call.customer_number.clone(), dialled, flow, signals };
            if taker.send(handed).is_err() {
                warn!("the IVR is gone; hanging up");
                call.finish(EndCause::Failed).await;
            }
        }
        _ => {
            call.originate(LegRole::Agent, Purpose::AgentForInbound, Target::Extension(target_ext)).await;
        }
    }
    call.publish();
    tokio::spawn(call.run(state_rx, media_rx, internal_rx, cmd_rx));
}

/// Our LocalMedia after answering: the next description in this dialog gets a higher version.
fn answer_local(local: &LocalMedia) -> LocalMedia {
    let mut next = local.clone();
    next.session_version += 1;
    next
}

/// Click-to-dial: a call whose first leg rings the agent.
pub(super) async fn click_to_dial(
    server: Arc<Inner>,
    agent_extension: String,
    customer: Target,
) -> Result<CallId, ControlError> {
    let (state_tx, state_rx) = server.dialogs.new_dialog_state_channel();
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let media = server.media.session(media_tx);
    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let id = CallId::new();
    let number = customer.party().to_owned();
    let mut call = Call::new(id.clone(), server.clone(), media, state_tx, internal_tx, number.clone(), number);
    call.pending_customer = Some(customer);
    server.register_call(&call, cmd_tx);
    call.originate(LegRole::Agent, Purpose::DialAgent, Target::Extension(agent_extension)).await;
    call.publish();
    tokio::spawn(call.run(state_rx, media_rx, internal_rx, cmd_rx));
    Ok(id)
}

impl Leg {
    fn new(id: u64, role: LegRole, direction: LegDirection, party: String, local: LocalMedia) -> Self {
        Leg {
            id,
            role,
            direction,
            party,
            extension: None,
            purpose: None,
            state: LegState::Ringing,
            sip_call_ids: Vec::new(),
            inbound: None,
            branches: Vec::new(),
            answered: None,
            pending: 0,
            best_failure: 0,
            timed_out: false,
            rang: false,
            released: false,
            local,
            offer: None,
            dialog_ids: Vec::new(),
        }
    }
}

impl Call {
    fn new(
        id: CallId,
        server: Arc<Inner>,
        media: MediaSession,
        state_tx: DialogStateSender,
        internal_tx: mpsc::UnboundedSender<Internal>,
        customer_number: String,
        dialled: String,
    ) -> Self {
        let started_at = now_ms();
        let snapshot = Arc::new(Mutex::new(CallSnapshot {
            id: id.clone(),
            state: "ringing",
            customer: customer_number.clone(),
            agent: None,
            started_at_ms: started_at,
            answered_at_ms: None,
            recording: false,
            legs: Vec::new(),
        }));
        Call {
            id,
            server,
            media,
            legs: Vec::new(),
            customer: None,
            agent: None,
            consult: None,
            conference: false,
            monitors: Vec::new(),
            held: false,
            answered_at: None,
            customer_number,
            dialled,
            recording: None,
            recordings_started: 0,
            state_tx,
            internal_tx,
            snapshot,
            ended: None,
            legs_answer_sdp: HashMap::new(),
            pending_customer: None,
            ivr: None,
            ivr_active: false,
            ivr_playing: None,
            ivr_return: false,
            ivr_transfer: None,
            voicemail: None,
            voicemail_serial: 0,
            voicemail_flights: Vec::new(),
        }
    }
}

/// `udp:203.0.113.4:5062` (a binding's source) as a SIP address.
fn parse_source(source: &str) -> Option<SipAddr> {
    let (transport, addr) = source.split_once(':')?;
    let addr: SocketAddr = addr.parse().ok()?;
    let transport = match transport {
        "tcp" => rsipstack::sip::Transport::Tcp,
        "udp" => rsipstack::sip::Transport::Udp,
        _ => return None,
    };
    Some(SipAddr { r#type: Some(transport), addr: addr.into() })
}

/// How bad a failure is when several forks fail: 6xx beats busy beats the rest; our own
/// CANCEL's 487 says least.
fn failure_rank(code: u16) -> u8 {
    match code {
        600..=699 => 4,
        486 => 3,
        487 => 0,
        0 => 0,
        _ => 2,
    }
}

/// The status to answer a caller with when the agent leg failed for `cause`.
fn caller_status(cause: EndCause, code: u16) -> u16 {
    match cause {
        EndCause::Busy => 486,
        EndCause::Declined => 603,
        EndCause::NotFound => 404,
        EndCause::NoAnswer | EndCause::Unavailable | EndCause::Cancelled => 480,
        EndCause::MediaFailure => 488,
        _ if (400..700).contains(&code) && code != 487 => code,
        _ => 480,
    }
}

/// A digit from an INFO body (`application/dtmf-relay`: `Signal=5`, or `application/dtmf`: `5`).
fn info_digit(body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    let signal = text
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim().eq_ignore_ascii_case("signal").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| text.trim().to_owned());
    let c = signal.chars().next()?;
    (signal.chars().count() == 1 && Digit::from_char(c).is_some()).then_some(c.to_ascii_uppercase())
}

/// `YYYY-MM-DD` of an epoch-ms time, UTC (civil-from-days, Howard Hinnant's algorithm).
fn utc_date(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn spawn_bye(server: &Arc<Inner>, dialog: InviteDialog) {
    let server = server.clone();
    tokio::spawn(async move {
        let id = dialog.id();
        if let Err(e) = dialog.bye().await {
            debug!(error = %e, "BYE failed");
        }
        server.dialogs.remove_dialog(&id);
    });
}

fn spawn_cancel(dialog: InviteDialog) {
    tokio::spawn(async move {
        if let Err(e) = dialog.cancel().await {
            debug!(error = %e, "CANCEL failed");
        }
    });
}

impl Call {
    fn leg(&self, id: u64) -> Option<&Leg> {
        self.legs.iter().find(|l| l.id == id)
    }

    fn leg_mut(&mut self, id: u64) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.id == id)
    }

    fn leg_by_sip_call_id(&self, call_id: &str) -> Option<u64> {
        self.legs.iter().find(|l| l.sip_call_ids.iter().any(|c| c == call_id)).map(|l| l.id)
    }

    fn answered(&self, id: Option<u64>) -> Option<u64> {
        id.filter(|id| self.leg(*id).is_some_and(|l| l.state == LegState::Answered))
    }

    /// The live monitor legs of a supervisor's extension (ringing or answered).
    fn monitor_legs(&self, extension: &str) -> Vec<u64> {
        self.monitors
            .iter()
            .filter(|(m, _)| self.leg(*m).is_some_and(|l| l.live() && l.extension.as_deref() == Some(extension)))
            .map(|(m, _)| *m)
            .collect()
    }

    fn agent_extension(&self) -> Option<String> {
        self.agent.and_then(|a| self.leg(a)).and_then(|l| l.extension.clone())
    }

    fn emit(&self, leg: Option<u64>, kind: CallEventKind) {
        self.server.emit(&self.id, leg, self.agent_extension(), kind);
    }

    fn emit_leg_created(&self, id: u64) {
        if let Some(leg) = self.leg(id) {
            let kind = CallEventKind::LegCreated { role: leg.role, direction: leg.direction, party: leg.party.clone() };
            self.emit(Some(id), kind);
        }
    }

    fn add_leg_media(&self, leg: u64, socket: RtpSocket, negotiated: &NegotiatedMedia) {
        self.media.add_leg(LegMedia {
            id: LegId(leg),
            socket,
            remote: negotiated.remote_rtp,
            law: law_of(negotiated.codec),
            payload_type: negotiated.payload_type,
            telephone_event: negotiated.telephone_event,
        });
    }

    fn state_name(&self) -> &'static str {
        if self.ended.is_some() {
            "ended"
        } else if self.conference {
            "conference"
        } else if let Some(k) = self.consult.and_then(|k| self.leg(k)) {
            // A blind transfer's target rings in the consult slot too.
            if k.purpose == Some(Purpose::BlindTarget) { "transferring" } else { "consulting" }
        } else if self.held {
            "held"
        } else if self.answered(self.customer).is_some() && self.answered(self.agent).is_some() {
            "talking"
        } else if self.ivr_active && self.answered(self.customer).is_some() {
            "ivr"
        } else if self.answered(self.customer).is_some() {
            "transferring"
        } else {
            "ringing"
        }
    }

    fn publish(&self) {
        if let Ok(mut snap) = self.snapshot.lock() {
            snap.state = self.state_name();
            snap.agent = self.agent_extension();
            snap.answered_at_ms = self.answered_at;
            snap.recording = self.recording.is_some();
            snap.customer = self.customer_number.clone();
            snap.legs = self.legs.iter().map(Leg::snapshot).collect();
        }
    }

    /// Starts an outbound leg: every contact of the target rings at once.
    async fn originate(&mut self, role: LegRole, purpose: Purpose, target: Target) -> u64 {
        let id = next_leg_id();
        let socket = match self.server.media.allocate().await {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(error = %e, "no RTP port for an outbound leg");
                None
            }
        };
        let port = socket.as_ref().map(|s| s.local_addr().port()).unwrap_or(0);
        let local = LocalMedia::new(self.server.cfg.public_ip, port, session_id(), 1);
        let offer = build_offer(&local);
        let body = offer.to_string().into_bytes();
        let mut leg = Leg::new(id, role, LegDirection::Outbound, target.party().to_owned(), local);
        leg.purpose = Some(purpose);
        leg.offer = Some(offer);
        if let Target::Extension(e) = &target {
            leg.extension = Some(e.clone());
        }
        if let Some(socket) = socket {
            self.media.add_leg(LegMedia {
                id: LegId(id),
                socket,
                remote: None,
                law: Law::Mu,
                payload_type: 0,
                telephone_event: None,
            });
        }
        let mut caller = self.customer_number.clone();
        let contacts: Vec<(rsipstack::sip::Uri, Option<SipAddr>, Option<Credential>)> = match &target {
            Target::Extension(ext) => {
                let bindings = match self.server.bindings.lock() {
                    Ok(b) => b.lookup(now_ms(), ext).into_iter().cloned().collect::<Vec<_>>(),
                    Err(_) => Vec::new(),
                };
                bindings
                    .iter()
                    .filter_map(|b| {
                        let uri = rsipstack::sip::Uri::try_from(b.uri.as_str()).ok()?;
                        Some((uri, parse_source(&b.source), None))
                    })
                    .collect()
            }
            Target::Number { number, trunk } => {
                if let Some(cid) = &trunk.caller_id
                    && matches!(purpose, Purpose::DialCustomer)
                {
                    caller = cid.clone();
                }
                let transport = match trunk.transport {
                    TrunkTransport::Udp => "",
                    TrunkTransport::Tcp => ";transport=tcp",
                };
                let text = format!("sip:{number}@{}:{}{transport}", trunk.host, trunk.port);
                match rsipstack::sip::Uri::try_from(text.as_str()) {
                    Ok(uri) => {
                        let credential = trunk.auth_username.as_ref().map(|u| Credential {
                            username: u.clone(),
                            password: trunk.auth_password.clone().unwrap_or_default(),
                            realm: None,
                            ..Default::default()
                        });
                        let dest =
                            format!("{}:{}", trunk.host, trunk.port).parse::<SocketAddr>().ok().map(|a| SipAddr {
                                r#type: Some(match trunk.transport {
                                    TrunkTransport::Udp => rsipstack::sip::Transport::Udp,
                                    TrunkTransport::Tcp => rsipstack::sip::Transport::Tcp,
                                }),
                                addr: a.into(),
                            });
                        vec![(uri, dest, credential)]
                    }
                    Err(_) => Vec::new(),
                }
            }
        };
        let caller_uri = rsipstack::sip::Uri::try_from(format!("sip:{caller}@{}", self.server.local).as_str())
            .unwrap_or_else(|_| self.server.contact_uri("kefu"));
        if port != 0 {
            for (uri, destination, credential) in contacts {
                let sip_call_id = uuid::Uuid::new_v4().simple().to_string();
                let option = InviteOption {
                    caller: caller_uri.clone(),
                    callee: uri,
                    destination,
                    content_type: Some("application/sdp".to_owned()),
                    offer: Some(body.clone()),
                    contact: self.server.contact_uri("kefu"),
                    credential,
                    call_id: Some(sip_call_id.clone()),
                    ..Default::default()
                };
                match self.server.dialogs.do_invite_async(option, self.state_tx.clone()) {
                    Ok((dialog, handle)) => {
                        leg.sip_call_ids.push(sip_call_id);
                        leg.branches.push(dialog.clone());
                        leg.pending += 1;
                        let tx = self.internal_tx.clone();
                        tokio::spawn(async move {
                            let result = handle.await.map_err(|e| e.to_string());
                            let _ = tx.send(Internal::BranchDone { leg: id, dialog, result });
                        });
                    }
                    Err(e) => warn!(error = %e, "cannot send INVITE"),
                }
            }
        }
        if leg.pending == 0 {
            let _ = self.internal_tx.send(Internal::NoContacts { leg: id });
        } else {
            let tx = self.internal_tx.clone();
            let ring = self.server.cfg.ring_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(ring).await;
                let _ = tx.send(Internal::RingTimeout { leg: id });
            });
        }
        self.legs.push(leg);
        match purpose {
            Purpose::AgentForInbound | Purpose::DialAgent => self.agent = Some(id),
            Purpose::ConsultTarget | Purpose::BlindTarget => self.consult = Some(id),
            Purpose::DialCustomer => self.customer = Some(id),
            Purpose::Monitor(mode) => self.monitors.push((id, mode)),
        }
        self.emit_leg_created(id);
        id
    }

    async fn run(
        mut self,
        mut state_rx: DialogStateReceiver,
        mut media_rx: mpsc::UnboundedReceiver<MediaEvent>,
        mut internal_rx: mpsc::UnboundedReceiver<Internal>,
        mut cmd_rx: mpsc::UnboundedReceiver<CallCmd>,
    ) {
        while self.ended.is_none() {
            tokio::select! {
                Some(state) = state_rx.recv() => self.on_dialog_state(state).await,
                Some(event) = media_rx.recv() => self.on_media(event),
                Some(msg) = internal_rx.recv() => self.on_internal(msg).await,
                Some(cmd) = cmd_rx.recv() => self.on_command(cmd).await,
                else => break,
            }
            self.publish();
        }
        if self.ended.is_none() {
            self.finish(EndCause::Failed).await;
        }
        self.publish();
        if let Ok(mut calls) = self.server.calls.lock() {
            calls.remove(&self.id);
        }
    }

    async fn on_dialog_state(&mut self, state: DialogState) {
        match state {
            DialogState::Early(id, _) => {
                let Some(leg_id) = self.leg_by_sip_call_id(&id.call_id) else { return };
                let mut ring_customer = false;
                if let Some(leg) = self.leg_mut(leg_id) {
                    if leg.direction == LegDirection::Outbound && leg.state == LegState::Ringing && !leg.rang {
                        leg.rang = true;
                        ring_customer = leg.purpose == Some(Purpose::AgentForInbound);
                    } else {
                        return;
                    }
                }
                self.emit(Some(leg_id), CallEventKind::LegRinging);
                if ring_customer
                    && let Some(d) = self.customer.and_then(|c| self.leg(c)).and_then(|l| l.inbound.clone())
                {
                    d.ringing(None, None).ok();
                }
            }
            DialogState::Confirmed(id, _) => {
                if let Some(leg_id) = self.leg_by_sip_call_id(&id.call_id)
                    && let Some(leg) = self.leg_mut(leg_id)
                    && !leg.dialog_ids.contains(&id)
                {
                    leg.dialog_ids.push(id);
                }
            }
            DialogState::Updated(id, request, handle) => {
                let Some(leg_id) = self.leg_by_sip_call_id(&id.call_id) else {
                    handle.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
                    return;
                };
                self.on_reoffer(leg_id, request, handle).await;
            }
            DialogState::Info(id, request, handle) => {
                let leg = self.leg_by_sip_call_id(&id.call_id);
                match info_digit(&request.body) {
                    Some(digit) => {
                        handle.reply(StatusCode::OK).await.ok();
                        self.emit(leg, CallEventKind::Digit { digit, via: DigitVia::Info });
                        if let Some(leg) = leg {
                            self.customer_key(leg, digit);
                        }
                    }
                    None if request.body.is_empty() => {
                        handle.reply(StatusCode::OK).await.ok();
                    }
                    None => {
                        handle.reply(StatusCode::UnsupportedMediaType).await.ok();
                    }
                }
            }
            DialogState::Options(_, _, handle) => {
                handle.reply(StatusCode::OK).await.ok();
            }
            DialogState::Notify(_, _, handle)
            | DialogState::Refer(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                handle.reply(StatusCode::NotImplemented).await.ok();
            }
            DialogState::Terminated(id, reason) => self.on_terminated(id, reason).await,
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(_, _) => {}
        }
    }

    /// A re-INVITE or UPDATE from a leg's phone: answer it, follow the new address, and treat
    /// an agent phone's hold as putting the customer on hold.
    async fn on_reoffer(
        &mut self,
        leg_id: u64,
        request: rsipstack::sip::Request,
        handle: rsipstack::dialog::dialog::TransactionHandle,
    ) {
        let Some(leg) = self.leg_mut(leg_id) else { return };
        if request.body.is_empty() {
            // No offer (a session refresh): answer with our current description.
            let sdp = build_offer(&leg.local).to_string().into_bytes();
            handle.respond(StatusCode::OK, Some(sdp_headers()), Some(sdp)).await.ok();
            return;
        }
        let outcome = SessionDescription::parse_bytes(&request.body)
            .map_err(|e| (488u16, e.to_string()))
            .and_then(|offer| answer_offer(&offer, &leg.local).map_err(|e| (e.sip_status(), e.to_string())));
        match outcome {
            Ok((answer, negotiated)) => {
                leg.local.session_version += 1;
                let role = leg.role;
                self.media.set_remote(
                    LegId(leg_id),
                    negotiated.remote_rtp,
                    law_of(negotiated.codec),
                    negotiated.payload_type,
                    negotiated.telephone_event,
                );
                handle.respond(StatusCode::OK, Some(sdp_headers()), Some(answer.to_string().into_bytes())).await.ok();
                if role == LegRole::Agent && Some(leg_id) == self.agent && self.consult.is_none() {
                    if negotiated.remote_hold && !self.held {
                        self.set_hold(true, "phone");
                    } else if !negotiated.remote_hold && self.held {
                        self.set_hold(false, "phone");
                    }
                }
            }
            Err((status, reason)) => {
                debug!(%reason, "re-offer refused");
                handle.reply(StatusCode::from(status)).await.ok();
            }
        }
    }

    async fn on_terminated(&mut self, id: DialogId, reason: TerminatedReason) {
        self.server.dialogs.remove_dialog(&id);
        let Some(leg_id) = self.leg_by_sip_call_id(&id.call_id) else { return };
        let Some(leg) = self.leg_mut(leg_id) else { return };
        if leg.released || !leg.live() {
            return;
        }
        match leg.direction {
            LegDirection::Inbound => {
                let (cause, code) = match (leg.state, &reason) {
                    (LegState::Ringing, TerminatedReason::UacCancel) => (EndCause::Cancelled, 487),
                    (LegState::Ringing, _) => (EndCause::Failed, 500),
                    (_, TerminatedReason::Timeout) => (EndCause::Failed, 408),
                    _ => (EndCause::CustomerHangup, 200),
                };
                leg.state = LegState::Ended;
                self.emit(Some(leg_id), CallEventKind::LegEnded { cause, sip_code: code });
                self.finish(cause).await;
            }
            LegDirection::Outbound => {
                if leg.state == LegState::Ringing {
                    return; // the INVITE's outcome arrives as BranchDone
                }
                leg.state = LegState::Ended;
                let cause =
                    if leg.role == LegRole::Customer { EndCause::CustomerHangup } else { EndCause::AgentHangup };
                self.emit(Some(leg_id), CallEventKind::LegEnded { cause, sip_code: 200 });
                self.on_party_left(leg_id, cause).await;
            }
        }
    }

    /// An answered leg's far end hung up.
    async fn on_party_left(&mut self, leg_id: u64, cause: EndCause) {
        if Some(leg_id) == self.customer {
            self.finish(cause).await;
        } else if Some(leg_id) == self.agent {
            match self.consult {
                Some(k) if self.answered(Some(k)).is_some() && self.answered(self.customer).is_some() => {
                    // The agent hung up during a consultation or a conference: the customer goes on
                    // with the consulted party (`join_consult` hands the call over, the agent's leg
                    // having ended already, and tells the IVR the agent is free).
                    self.media.remove_leg(LegId(leg_id));
                    self.join_consult(k);
                }
                None if self.ivr_return && self.ivr.is_some() && self.answered(self.customer).is_some() => {
                    self.agent = None;
                    self.return_to_ivr(leg_id).await;
                }
                _ => {
                    self.agent = None;
                    self.finish(cause).await;
                }
            }
        } else if Some(leg_id) == self.consult {
            self.consult = None;
            self.held = false;
            let was_conference = std::mem::take(&mut self.conference);
            if was_conference {
                // The third party left the conference: customer and agent talk on, recorded as before.
                self.media.remove_leg(LegId(leg_id));
                if let (Some(c), Some(a)) = (self.answered(self.customer), self.answered(self.agent)) {
                    self.media.set_recording_legs(LegId(c), vec![LegId(a)]);
                }
                info!(call = %self.id, "the third party left the conference");
            }
            self.apply_routes();
            if !was_conference {
                // the consulted party hung up: the customer is off hold (as after a cancel), and
                // the hold the consultation started stops counting
                self.emit(None, CallEventKind::Resumed { by: "consult" });
            }
            if let (Some(c), Some(a)) = (self.answered(self.customer), self.answered(self.agent)) {
                self.emit(None, CallEventKind::Bridged { customer: c, agent: a });
            }
        } else {
            self.monitors.retain(|(m, _)| *m != leg_id);
            self.apply_routes();
        }
    }

    async fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::BranchDone { leg, dialog, result } => self.on_branch_done(leg, dialog, result).await,
            Internal::RingTimeout { leg } => {
                let Some(l) = self.leg_mut(leg) else { return };
                if l.state != LegState::Ringing {
                    return;
                }
                l.timed_out = true;
                for b in l.branches.clone() {
                    spawn_cancel(b);
                }
                // Fail the leg now: a phone that never answered at all (gone without
                // unregistering) sends no provisional, so rsipstack holds the CANCEL and the
                // INVITE would only end at Timer B, 32 s later.
                self.leg_failed(leg).await;
            }
            Internal::NoContacts { leg } => {
                if let Some(l) = self.leg_mut(leg) {
                    l.best_failure = 480;
                }
                self.leg_failed(leg).await;
            }
            Internal::VoicemailTimeout { serial } => {
                if self.voicemail.as_ref().is_some_and(|v| v.serial == serial) {
                    self.stop_voicemail();
                }
            }
        }
    }

    async fn on_branch_done(&mut self, leg_id: u64, dialog: InviteDialog, result: Result<InviteAsyncResult, String>) {
        let server = self.server.clone();
        let call_ended = self.ended.is_some();
        let Some(leg) = self.leg_mut(leg_id) else {
            if matches!(&result, Ok(Ok((_, Some(r)))) if r.status_code.kind() == StatusCodeKind::Successful) {
                spawn_bye(&server, dialog);
            }
            return;
        };
        leg.pending = leg.pending.saturating_sub(1);
        let code = match &result {
            Ok(Ok((dialog_id, Some(resp)))) if resp.status_code.kind() == StatusCodeKind::Successful => {
                if leg.state != LegState::Ringing || leg.released || call_ended {
                    spawn_bye(&server, dialog);
                    return;
                }
                let negotiated = SessionDescription::parse_bytes(&resp.body).map_err(|e| e.to_string()).and_then(
                    |answer| match &leg.offer {
                        Some(offer) => read_answer(offer, &answer).map_err(|e| e.to_string()),
                        None => Err("no offer".to_owned()),
                    },
                );
                match negotiated {
                    Ok(neg) => {
                        leg.state = LegState::Answered;
                        leg.answered = Some(dialog.clone());
                        leg.dialog_ids.push(dialog_id.clone());
                        leg.local.session_version += 1;
                        for b in &leg.branches {
                            if b.id().call_id != dialog_id.call_id {
                                spawn_cancel(b.clone());
                            }
                        }
                        let purpose = leg.purpose;
                        self.media.set_remote(
                            LegId(leg_id),
                            neg.remote_rtp,
                            law_of(neg.codec),
                            neg.payload_type,
                            neg.telephone_event,
                        );
                        self.emit(Some(leg_id), CallEventKind::LegAnswered);
                        if let Some(purpose) = purpose {
                            self.on_answered(leg_id, purpose).await;
                        }
                        return;
                    }
                    Err(reason) => {
                        info!(%reason, "answer with unusable SDP; hanging up that leg");
                        spawn_bye(&server, dialog);
                        488
                    }
                }
            }
            Ok(Ok((_, Some(resp)))) => status_u16(&resp.status_code),
            Ok(Ok((_, None))) => 408,
            Ok(Err(e)) => {
                debug!(error = %e, "INVITE failed");
                503
            }
            Err(e) => {
                debug!(error = %e, "INVITE task failed");
                500
            }
        };
        if failure_rank(code) > failure_rank(leg.best_failure) || leg.best_failure == 0 {
            leg.best_failure = code;
        }
        if leg.pending == 0 && leg.state == LegState::Ringing {
            self.leg_failed(leg_id).await;
        }
    }

    /// Every fork of an outbound leg failed (or timed out).
    async fn leg_failed(&mut self, leg_id: u64) {
        let Some(leg) = self.leg_mut(leg_id) else { return };
        if leg.state != LegState::Ringing {
            return;
        }
        leg.state = LegState::Ended;
        let code = if leg.best_failure == 0 { 480 } else { leg.best_failure };
        let cause = if leg.timed_out { EndCause::NoAnswer } else { EndCause::from_status(code) };
        let purpose = leg.purpose;
        let party = leg.party.clone();
        self.emit(Some(leg_id), CallEventKind::LegEnded { cause, sip_code: code });
        match purpose {
            Some(Purpose::AgentForInbound) if self.ivr_active => {
                // The caller stays with the IVR, which may try another agent.
                self.agent = None;
                self.ivr_return = false;
                let extension = self.leg(leg_id).and_then(|l| l.extension.clone()).unwrap_or(party);
                self.signal(IvrSignal::AgentFailed { extension, cause, sip_code: code });
            }
            Some(Purpose::AgentForInbound) => {
                self.agent = None;
                let status = caller_status(cause, code);
                if let Some(c) = self.customer {
                    if let Some(leg) = self.leg_mut(c)
                        && let Some(d) = leg.inbound.clone()
                    {
                        leg.released = true;
                        leg.state = LegState::Ended;
                        d.reject(Some(StatusCode::from(status)), None).ok();
                    }
                    self.emit(Some(c), CallEventKind::LegEnded { cause, sip_code: status });
                }
                self.finish(cause).await;
            }
            Some(Purpose::BlindTarget) => {
                self.consult = None;
                self.emit(None, CallEventKind::TransferFailed { to: party, sip_code: code });
                self.finish(cause).await;
            }
            Some(Purpose::ConsultTarget) => {
                self.consult = None;
                self.emit(None, CallEventKind::TransferFailed { to: party, sip_code: code });
                self.held = false;
                self.apply_routes();
                self.emit(None, CallEventKind::Resumed { by: "api" });
            }
            Some(Purpose::DialAgent) | Some(Purpose::DialCustomer) => self.finish(cause).await,
            Some(Purpose::Monitor(_)) => self.monitors.retain(|(m, _)| *m != leg_id),
            None => {}
        }
    }

    async fn on_answered(&mut self, leg_id: u64, purpose: Purpose) {
        match purpose {
            Purpose::AgentForInbound => {
                let Some(c) = self.customer else { return };
                if self.ivr_active {
                    // The IVR answered the caller long ago; it hands over now.
                    self.leave_ivr();
                    let extension = self.leg(leg_id).and_then(|l| l.extension.clone()).unwrap_or_default();
                    self.signal(IvrSignal::AgentAnswered { extension });
                } else if self.answered(Some(c)).is_none() && !self.answer_customer(c) {
                    self.finish(EndCause::Cancelled).await;
                    return;
                }
                self.answered_at.get_or_insert_with(now_ms);
                self.bridge(c, leg_id);
                self.start_recording(c, leg_id);
            }
            Purpose::BlindTarget => {
                self.consult = None;
                self.agent = Some(leg_id);
                if let Some(l) = self.leg_mut(leg_id) {
                    l.role = LegRole::Agent;
                }
                self.held = false;
                if let Some(c) = self.answered(self.customer) {
                    self.answered_at.get_or_insert_with(now_ms);
                    self.bridge(c, leg_id);
                    if self.recording.is_some() {
                        self.media.set_recording_legs(LegId(c), vec![LegId(leg_id)]);
                    } else {
                        // A transfer away from the IVR: the first conversation of the call.
                        self.start_recording(c, leg_id);
                    }
                }
                if let Some(to) = self.ivr_transfer.take() {
                    self.signal(IvrSignal::Transferred { to });
                }
            }
            Purpose::ConsultTarget => self.apply_routes(),
            Purpose::DialAgent => match self.pending_customer.take() {
                Some(target) => {
                    self.originate(LegRole::Customer, Purpose::DialCustomer, target).await;
                }
                None => self.finish(EndCause::Failed).await,
            },
            Purpose::DialCustomer => {
                let Some(a) = self.answered(self.agent) else {
                    self.finish(EndCause::AgentHangup).await;
                    return;
                };
                self.answered_at = Some(now_ms());
                self.bridge(leg_id, a);
                self.start_recording(leg_id, a);
            }
            Purpose::Monitor(_) => self.apply_routes(),
        }
    }

    /// Accepts the inbound customer leg with the SDP answer kept for it; false when the
    /// dialog is gone (the caller cancelled).
    fn answer_customer(&mut self, c: u64) -> bool {
        let body = self.legs_answer_sdp.remove(&c);
        let accepted = match self.leg(c).and_then(|l| l.inbound.clone()) {
            Some(d) => d.accept(Some(sdp_headers()), body).is_ok(),
            None => false,
        };
        if accepted {
            if let Some(l) = self.leg_mut(c) {
                l.state = LegState::Answered;
            }
            self.emit(Some(c), CallEventKind::LegAnswered);
        }
        accepted
    }

    /// Tells the IVR, if one drives the call.
    fn signal(&self, signal: IvrSignal) {
        if let Some(ivr) = &self.ivr {
            let _ = ivr.send(signal);
        }
    }

    /// A key from `leg`: the IVR hears the customer's keys while it has the caller.
    fn customer_key(&self, leg: u64, key: char) {
        if Some(leg) == self.customer && self.ivr_active {
            self.signal(IvrSignal::Key(key));
        }
    }

    /// The customer leg when the IVR has the caller, else why the IVR cannot act now.
    fn ivr_customer(&self) -> Result<u64, ControlError> {
        if self.ivr.is_none() {
            return Err(ControlError::InvalidState("the call is not an IVR call".into()));
        }
        if !self.ivr_active {
            let message = match self.answered(self.agent).and_then(|a| self.leg(a)) {
                Some(agent) => format!(
                    "the caller is talking to {}; the IVR has the call again only if that agent was connected \
                     with back_to_ivr and hangs up first",
                    agent.party
                ),
                None => "the call is being transferred away from the IVR".to_owned(),
            };
            return Err(ControlError::InvalidState(message));
        }
        self.answered(self.customer).ok_or_else(|| ControlError::InvalidState("the caller is not connected".into()))
    }

    /// The IVR hands the caller over (to an agent or a transfer target): its audio and any
    /// voicemail stop, and it no longer hears keys.
    fn leave_ivr(&mut self) {
        self.stop_voicemail();
        self.ivr_playing = None;
        self.ivr_active = false;
    }

    /// The agent connected with `back_to_ivr` hung up first: the recording is finished, the
    /// caller hears silence and the IVR has the caller again.
    async fn return_to_ivr(&mut self, agent: u64) {
        self.ivr_return = false;
        self.held = false;
        for (m, _) in std::mem::take(&mut self.monitors) {
            self.release(m, EndCause::AgentHangup);
        }
        self.finish_recording().await;
        self.media.remove_leg(LegId(agent));
        self.ivr_active = true;
        self.ivr_playing = None;
        if let Some(c) = self.answered(self.customer) {
            self.media.route(LegId(c), Source::Silence);
        }
        let extension = self.leg(agent).map(|l| l.extension.clone().unwrap_or_else(|| l.party.clone()));
        info!(call = %self.id, "the agent left; the caller is back with the IVR");
        self.signal(IvrSignal::AgentLeft { extension: extension.unwrap_or_default() });
    }

    /// Stops the voicemail, if one is recording; the IVR hears the outcome once the file is
    /// complete (the call task does not wait for the disk).
    fn stop_voicemail(&mut self) {
        let Some(voicemail) = self.voicemail.take() else { return };
        voicemail.timer.abort();
        let done = self.media.stop_voicemail();
        let ivr = self.ivr.clone();
        self.voicemail_flights.retain(|flight| !flight.is_finished());
        self.voicemail_flights.push(tokio::spawn(async move {
            let signal = match done.await {
                Some(Ok(info)) => IvrSignal::VoicemailRecorded {
                    path: voicemail.path,
                    duration_ms: u64::try_from(info.duration.as_millis()).unwrap_or(u64::MAX),
                    size_bytes: info.size,
                },
                Some(Err(e)) => {
                    IvrSignal::VoicemailFailed { message: format!("voicemail {}: {e}", voicemail.path.display()) }
                }
                None => IvrSignal::VoicemailFailed {
                    message: format!(
                        "voicemail {} was not recorded: the media session has ended",
                        voicemail.path.display()
                    ),
                },
            };
            if let Some(ivr) = ivr {
                let _ = ivr.send(signal);
            }
        }));
    }

    fn bridge(&mut self, customer: u64, agent: u64) {
        self.apply_routes();
        self.emit(None, CallEventKind::Bridged { customer, agent });
    }

    /// Sets every leg's source from the call's state: hold, consultation, conference, monitors.
    fn apply_routes(&self) {
        let c = self.answered(self.customer);
        let a = self.answered(self.agent);
        let k = self.answered(self.consult);
        if self.conference
            && let (Some(c), Some(a), Some(k)) = (c, a, k)
        {
            self.conference_routes(LegId(c), LegId(a), LegId(k));
            return;
        }
        let moh = Source::Play { samples: self.server.cfg.music_on_hold.clone(), looped: true };
        if let Some(c) = c
            && (self.held || self.consult.is_some() || a.is_none())
            && !self.ivr_active
        {
            self.media.route(LegId(c), moh);
        }
        match (a, k) {
            (Some(a), Some(k)) => {
                self.media.route(LegId(a), Source::Leg(LegId(k)));
                self.media.route(LegId(k), Source::Leg(LegId(a)));
                return;
            }
            (Some(a), None) if self.held || self.consult.is_some() => {
                self.media.route(LegId(a), Source::Silence);
                return;
            }
            _ => {}
        }
        let (Some(c), Some(a)) = (c, a) else { return };
        if self.held || self.consult.is_some() {
            return;
        }
        let mut customer_hears = Source::Leg(LegId(a));
        let mut agent_hears = Source::Leg(LegId(c));
        for (m, mode) in &self.monitors {
            if self.answered(Some(*m)).is_none() {
                continue;
            }
            let m = LegId(*m);
            self.media.route(m, Source::Mix(vec![LegId(c), LegId(a)]));
            match mode {
                MonitorMode::Listen => {}
                MonitorMode::Whisper => agent_hears = Source::Mix(vec![LegId(c), m]),
                MonitorMode::Barge => {
                    agent_hears = Source::Mix(vec![LegId(c), m]);
                    customer_hears = Source::Mix(vec![LegId(a), m]);
                }
            }
        }
        self.media.route(LegId(c), customer_hears);
        self.media.route(LegId(a), agent_hears);
    }

    /// A conference: each of customer `c`, agent `a` and third party `k` hears the other two.
    /// Supervisors listening hear all three; a whisper reaches the agent; a barge, everyone.
    fn conference_routes(&self, c: LegId, a: LegId, k: LegId) {
        let mut customer_hears = vec![a, k];
        let mut agent_hears = vec![c, k];
        let mut third_hears = vec![c, a];
        for (m, mode) in &self.monitors {
            if self.answered(Some(*m)).is_none() {
                continue;
            }
            let m = LegId(*m);
            self.media.route(m, Source::Mix(vec![c, a, k]));
            match mode {
                MonitorMode::Listen => {}
                MonitorMode::Whisper => agent_hears.push(m),
                MonitorMode::Barge => {
                    customer_hears.push(m);
                    agent_hears.push(m);
                    third_hears.push(m);
                }
            }
        }
        self.media.route(c, Source::Mix(customer_hears));
        self.media.route(a, Source::Mix(agent_hears));
        self.media.route(k, Source::Mix(third_hears));
    }

    /// Turns the answered consultation into a three-way conference: the customer comes off
    /// hold and customer, agent and consulted party each hear the other two; the recording's
    /// right channel carries the agent and the consulted party.
    fn start_conference(&mut self) -> Result<(), ControlError> {
        if self.conference {
            return Err(ControlError::InvalidState("the call is already a conference".into()));
        }
        let k = match self.consult.and_then(|k| self.leg(k)) {
            Some(l) if l.purpose == Some(Purpose::ConsultTarget) => l.id,
            Some(_) => {
                return Err(ControlError::InvalidState(
                    "a blind transfer is under way; only a consultation can become a conference".into(),
                ));
            }
            None => {
                return Err(ControlError::InvalidState(
                    "a conference needs a consultation: consult a third party first".into(),
                ));
            }
        };
        let Some(k) = self.answered(Some(k)) else {
            return Err(ControlError::InvalidState("the consulted party has not answered yet".into()));
        };
        let (Some(c), Some(a)) = (self.answered(self.customer), self.answered(self.agent)) else {
            return Err(ControlError::InvalidState("a conference needs the customer and the agent on the line".into()));
        };
        self.conference = true;
        self.held = false;
        self.media.set_recording_legs(LegId(c), vec![LegId(a), LegId(k)]);
        self.apply_routes();
        let with = self.leg(k).map(|l| l.party.clone()).unwrap_or_default();
        info!(call = %self.id, %with, "conference started");
        self.emit(Some(k), CallEventKind::Conferenced { with });
        self.emit(None, CallEventKind::Resumed { by: "conference" });
        Ok(())
    }

    fn set_hold(&mut self, on: bool, by: &'static str) {
        self.held = on;
        self.apply_routes();
        let kind = if on { CallEventKind::Held { by } } else { CallEventKind::Resumed { by } };
        self.emit(None, kind);
    }

    fn start_recording(&mut self, customer: u64, agent: u64) {
        let Some(dir) = self.server.cfg.recordings_dir.clone() else { return };
        if self.recording.is_some() {
            return;
        }
        let now = now_ms();
        let dir = dir.join(utc_date(now));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            self.emit(
                None,
                CallEventKind::RecordingFailed { message: format!("cannot create {}: {e}", dir.display()) },
            );
            return;
        }
        self.recordings_started += 1;
        let name = match self.recordings_started {
            1 => format!("{}.wav", self.id),
            n => format!("{}-{n}.wav", self.id),
        };
        let path = dir.join(name);
        self.media.start_recording(path.clone(), LegId(customer), LegId(agent));
        self.recording = Some((path, now));
    }

    /// Attended transfer's last step (or the agent leaving a conference): the customer talks to
    /// the consulted party, who becomes the call's agent; the agent leaves.
    fn join_consult(&mut self, k: u64) {
        let Some(c) = self.answered(self.customer) else { return };
        let to = self.leg(k).map(|l| l.party.clone()).unwrap_or_default();
        if let Some(a) = self.agent.take() {
            self.release(a, EndCause::Transferred);
            self.signal(IvrSignal::AgentTransferred { to: to.clone() });
        }
        self.consult = None;
        self.conference = false;
        self.agent = Some(k);
        if let Some(l) = self.leg_mut(k) {
            l.role = LegRole::Agent;
        }
        self.held = false;
        self.emit(None, CallEventKind::Transferred { mode: TransferMode::Attended, to });
        self.media.set_recording_legs(LegId(c), vec![LegId(k)]);
        self.bridge(c, k);
    }

    /// Ends one leg on purpose (kefu hangs it up) and reports it.
    fn release(&mut self, leg_id: u64, cause: EndCause) {
        let server = self.server.clone();
        let Some(leg) = self.leg_mut(leg_id) else { return };
        if !leg.live() {
            return;
        }
        leg.released = true;
        let was = leg.state;
        leg.state = LegState::Ended;
        let code = match (leg.direction, was) {
            (LegDirection::Inbound, LegState::Ringing) => {
                let status = caller_status(cause, 480);
                if let Some(d) = &leg.inbound {
                    d.reject(Some(StatusCode::from(status)), None).ok();
                }
                status
            }
            (LegDirection::Inbound, _) => {
                if let Some(d) = leg.inbound.clone() {
                    spawn_bye(&server, d);
                }
                200
            }
            (LegDirection::Outbound, LegState::Ringing) => {
                for b in leg.branches.clone() {
                    spawn_cancel(b);
                }
                487
            }
            (LegDirection::Outbound, _) => {
                if let Some(d) = leg.answered.clone() {
                    spawn_bye(&server, d);
                }
                200
            }
        };
        self.media.remove_leg(LegId(leg_id));
        self.emit(Some(leg_id), CallEventKind::LegEnded { cause, sip_code: code });
    }

    async fn on_command(&mut self, cmd: CallCmd) {
        match cmd {
            CallCmd::Hold { on, reply } => {
                let result = if self.answered(self.customer).is_none() || self.answered(self.agent).is_none() {
                    Err(ControlError::InvalidState("hold needs a customer and an agent talking".into()))
                } else if self.conference {
                    Err(ControlError::InvalidState("hold is not available in a conference".into()))
                } else if self.consult.is_some() {
                    Err(ControlError::InvalidState("the call is in a consultation".into()))
                } else if self.held == on {
                    Err(ControlError::InvalidState(if on { "already on hold" } else { "not on hold" }.into()))
                } else {
                    self.set_hold(on, "api");
                    Ok(())
                };
                let _ = reply.send(result);
            }
            CallCmd::Hangup { reply } => {
                self.finish(EndCause::Api).await;
                let _ = reply.send(Ok(()));
            }
            CallCmd::Shutdown { reply } => {
                self.finish(EndCause::Shutdown).await;
                let _ = reply.send(Ok(()));
            }
            CallCmd::Play { token, samples, reply } => {
                let result = self.ivr_customer().map(|c| {
                    self.ivr_playing = Some(token);
                    self.media.route(LegId(c), Source::Play { samples, looped: false });
                });
                let _ = reply.send(result);
            }
            CallCmd::PlayMusic { reply } => {
                let result = self.ivr_customer().map(|c| {
                    self.ivr_playing = None;
                    let samples = self.server.cfg.music_on_hold.clone();
                    self.media.route(LegId(c), Source::Play { samples, looped: true });
                });
                let _ = reply.send(result);
            }
            CallCmd::StopPlayback { reply } => {
                let result = self.ivr_customer().map(|c| {
                    self.ivr_playing = None;
                    self.media.route(LegId(c), Source::Silence);
                });
                let _ = reply.send(result);
            }
            CallCmd::Connect { target, back_to_ivr, reply } => {
                let result = match self.ivr_customer() {
                    Err(e) => Err(e),
                    Ok(_) if self.agent.is_some() => {
                        Err(ControlError::InvalidState("an agent is already ringing (cancel_agent stops it)".into()))
                    }
                    Ok(_) => {
                        self.ivr_return = back_to_ivr;
                        self.originate(LegRole::Agent, Purpose::AgentForInbound, target).await;
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
            CallCmd::CancelAgent { reply } => {
                let result = self.ivr_customer().and_then(|_| {
                    let ringing = self
                        .agent
                        .and_then(|a| self.leg(a))
                        .filter(|l| l.state == LegState::Ringing && l.purpose == Some(Purpose::AgentForInbound));
                    let Some(leg) = ringing else {
                        return Err(ControlError::InvalidState("no agent is ringing".into()));
                    };
                    let (id, extension) = (leg.id, leg.extension.clone().unwrap_or_else(|| leg.party.clone()));
                    self.release(id, EndCause::Cancelled);
                    self.agent = None;
                    self.ivr_return = false;
                    self.signal(IvrSignal::AgentFailed { extension, cause: EndCause::Cancelled, sip_code: 487 });
                    Ok(())
                });
                let _ = reply.send(result);
            }
            CallCmd::RecordVoicemail { path, max_ms, reply } => {
                let result = match self.ivr_customer() {
                    Err(e) => Err(e),
                    Ok(_) if self.voicemail.is_some() => {
                        Err(ControlError::InvalidState("a voicemail is already being recorded".into()))
                    }
                    Ok(_) if max_ms == 0 => {
                        Err(ControlError::InvalidState("a voicemail needs a time limit above 0 ms".into()))
                    }
                    Ok(c) => {
                        self.voicemail_serial += 1;
                        let serial = self.voicemail_serial;
                        self.media.start_voicemail(path.clone(), LegId(c));
                        let tx = self.internal_tx.clone();
                        let timer = tokio::spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_millis(max_ms)).await;
                            let _ = tx.send(Internal::VoicemailTimeout { serial });
                        });
                        self.voicemail = Some(Voicemail { serial, path, timer });
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
            CallCmd::StopVoicemail { reply } => {
                let result = if self.voicemail.is_some() {
                    self.stop_voicemail();
                    Ok(())
                } else {
                    Err(ControlError::InvalidState("no voicemail is being recorded".into()))
                };
                let _ = reply.send(result);
            }
            CallCmd::BlindTransfer { target, reply } => {
                let Some(_) = self.answered(self.customer) else {
                    let _ = reply.send(Err(ControlError::InvalidState("no answered customer to transfer".into())));
                    return;
                };
                if self.consult.is_some() {
                    let message =
                        if self.conference { "finish the conference first" } else { "finish the consultation first" };
                    let _ = reply.send(Err(ControlError::InvalidState(message.into())));
                    return;
                }
                let to = target.party().to_owned();
                if self.ivr_active {
                    if self.agent.is_some() {
                        let _ = reply.send(Err(ControlError::InvalidState(
                            "an agent is ringing for the IVR; cancel_agent first".into(),
                        )));
                        return;
                    }
                    // The IVR lets go of the caller, who hears music while the target rings; the
                    // call ends with the target (no way back to the IVR).
                    self.leave_ivr();
                    self.ivr_return = false;
                    self.ivr_transfer = Some(to.clone());
                }
                if let Some(a) = self.agent.take() {
                    self.release(a, EndCause::Transferred);
                    self.signal(IvrSignal::AgentTransferred { to: to.clone() });
                }
                self.emit(None, CallEventKind::Transferred { mode: TransferMode::Blind, to });
                self.originate(LegRole::Consult, Purpose::BlindTarget, target).await;
                self.apply_routes();
                let _ = reply.send(Ok(()));
            }
            CallCmd::Consult { target, reply } => {
                if self.answered(self.customer).is_none() || self.answered(self.agent).is_none() {
                    let _ = reply.send(Err(ControlError::InvalidState(
                        "consulting needs a customer and an agent talking".into(),
                    )));
                    return;
                }
                if self.conference {
                    let _ = reply.send(Err(ControlError::InvalidState(
                        "a conference is going on: no second consultation".into(),
                    )));
                    return;
                }
                if self.consult.is_some() {
                    let _ = reply.send(Err(ControlError::InvalidState("a consultation is already going on".into())));
                    return;
                }
                self.originate(LegRole::Consult, Purpose::ConsultTarget, target).await;
                self.apply_routes();
                self.emit(None, CallEventKind::Held { by: "consult" });
                let _ = reply.send(Ok(()));
            }
            CallCmd::CompleteTransfer { reply } => match self.answered(self.consult) {
                Some(k) if self.leg(k).and_then(|l| l.purpose) == Some(Purpose::ConsultTarget) => {
                    self.join_consult(k);
                    let _ = reply.send(Ok(()));
                }
                _ => {
                    let _ = reply.send(Err(ControlError::InvalidState("no answered consultation to complete".into())));
                }
            },
            CallCmd::CancelConsult { reply } => match self.consult {
                Some(k) if self.leg(k).and_then(|l| l.purpose) == Some(Purpose::ConsultTarget) => {
                    self.consult = None;
                    self.release(k, EndCause::Api);
                    self.held = false;
                    if std::mem::take(&mut self.conference) {
                        // The third party is dropped from the conference; the customer was not on hold.
                        if let (Some(c), Some(a)) = (self.answered(self.customer), self.answered(self.agent)) {
                            self.media.set_recording_legs(LegId(c), vec![LegId(a)]);
                            self.apply_routes();
                            self.emit(None, CallEventKind::Bridged { customer: c, agent: a });
                        }
                    } else {
                        self.apply_routes();
                        self.emit(None, CallEventKind::Resumed { by: "api" });
                    }
                    let _ = reply.send(Ok(()));
                }
                _ => {
                    let _ = reply.send(Err(ControlError::InvalidState("no consultation to cancel".into())));
                }
            },
            CallCmd::Conference { reply } => {
                let _ = reply.send(self.start_conference());
            }
            CallCmd::Monitor { target, mode, reply } => {
                if self.answered(self.customer).is_none() || self.answered(self.agent).is_none() {
                    let _ =
                        reply.send(Err(ControlError::InvalidState("only a call in progress can be monitored".into())));
                    return;
                }
                self.originate(LegRole::Monitor, Purpose::Monitor(mode), target).await;
                let _ = reply.send(Ok(()));
            }
            CallCmd::SetMonitorMode { extension, mode, reply } => {
                let legs = self.monitor_legs(&extension);
                let result = if legs.is_empty() {
                    Err(ControlError::InvalidState(format!("{extension} is not monitoring this call")))
                } else {
                    for (m, current) in &mut self.monitors {
                        if legs.contains(m) {
                            *current = mode;
                        }
                    }
                    for leg in &legs {
                        if let Some(l) = self.leg_mut(*leg) {
                            l.purpose = Some(Purpose::Monitor(mode));
                        }
                    }
                    self.apply_routes();
                    Ok(())
                };
                let _ = reply.send(result);
            }
            CallCmd::ReleaseAgent { to, reply } => {
                let result = if self.ivr.is_none() {
                    Err(ControlError::InvalidState("only a call the IVR took can go back to it".into()))
                } else if self.consult.is_some() {
                    Err(ControlError::InvalidState("finish the consultation first".into()))
                } else {
                    match (self.answered(self.customer), self.answered(self.agent)) {
                        (Some(_), Some(a)) => {
                            self.agent = None;
                            self.emit(None, CallEventKind::Transferred { mode: TransferMode::Blind, to });
                            self.return_to_ivr(a).await;
                            self.release(a, EndCause::Transferred);
                            Ok(())
                        }
                        _ => Err(ControlError::InvalidState("no agent is talking to the customer".into())),
                    }
                };
                let _ = reply.send(result);
            }
            CallCmd::StopMonitor { extension, reply } => {
                let legs = self.monitor_legs(&extension);
                let result = if legs.is_empty() {
                    Err(ControlError::InvalidState(format!("{extension} is not monitoring this call")))
                } else {
                    self.monitors.retain(|(m, _)| !legs.contains(m));
                    for leg in legs {
                        self.release(leg, EndCause::Api);
                    }
                    self.apply_routes();
                    Ok(())
                };
                let _ = reply.send(result);
            }
        }
    }

    fn on_media(&mut self, event: MediaEvent) {
        match event {
            MediaEvent::Digit { leg, digit } => {
                self.emit(Some(leg.0), CallEventKind::Digit { digit: digit.as_char(), via: DigitVia::Rfc4733 });
                self.customer_key(leg.0, digit.as_char());
            }
            MediaEvent::FirstPacket { leg, from } => debug!(leg = leg.0, %from, "first RTP packet"),
            MediaEvent::PlaybackDone { leg } => {
                if Some(leg.0) == self.customer
                    && let Some(token) = self.ivr_playing.take()
                {
                    self.signal(IvrSignal::PlaybackDone { token });
                }
            }
            MediaEvent::Error { message } => {
                warn!(call = %self.id, %message, "media error");
                if self.recording.is_some() {
                    self.emit(None, CallEventKind::RecordingFailed { message });
                }
            }
            MediaEvent::VoicemailFailed { path, message } => {
                warn!(call = %self.id, %message, "voicemail failed");
                // Stopping it tells the IVR why.
                if self.voicemail.as_ref().is_some_and(|v| v.path == path) {
                    self.stop_voicemail();
                }
            }
        }
    }

    /// Ends the call: every live leg is hung up, the recording finished and indexed; the IVR
    /// hears how its voicemail went, then that the call ended.
    async fn finish(&mut self, cause: EndCause) {
        if self.ended.is_some() {
            return;
        }
        self.ended = Some(cause);
        self.stop_voicemail();
        for flight in std::mem::take(&mut self.voicemail_flights) {
            if let Err(e) = flight.await {
                warn!(call = %self.id, error = %e, "voicemail task failed");
            }
        }
        self.signal(IvrSignal::Ended { cause });
        self.ivr = None;
        self.ivr_active = false;
        let live: Vec<u64> = self.legs.iter().filter(|l| l.live()).map(|l| l.id).collect();
        for id in live {
            self.release(id, cause);
        }
        self.finish_recording().await;
        self.media.close().await;
        let talk_ms = self.answered_at.map(|a| u64::try_from(now_ms() - a).unwrap_or(0)).unwrap_or(0);
        self.emit(None, CallEventKind::CallEnded { cause, talk_ms });
    }

    /// Stops the call recording, if one runs, and reports it as saved or failed.
    async fn finish_recording(&mut self) {
        if let Some((path, started)) = self.recording.take() {
            let agent = self
                .legs
                .iter()
                .rev()
                .find(|l| l.role == LegRole::Agent && l.state != LegState::Ringing && l.answered.is_some())
                .and_then(|l| l.extension.clone());
            match self.media.stop_recording().await {
                Some(Ok(info)) => {
                    let done = RecordingDone {
                        path,
                        started_at_ms: started,
                        duration_ms: u64::try_from(info.duration.as_millis()).unwrap_or(u64::MAX),
                        size_bytes: info.size,
                        customer: self.customer_number.clone(),
                        dialled: self.dialled.clone(),
                        agent_extension: agent,
                    };
                    self.emit(None, CallEventKind::RecordingSaved(done));
                }
                Some(Err(e)) => self.emit(None, CallEventKind::RecordingFailed { message: e.to_string() }),
                None => self.emit(None, CallEventKind::RecordingFailed { message: "recording was not running".into() }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_bodies_give_digits() {
        assert_eq!(info_digit(b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(info_digit(b"Signal= #\r\nDuration=100"), Some('#'));
        assert_eq!(info_digit(b"7"), Some('7'));
        assert_eq!(info_digit(b"Signal=55"), None);
        assert_eq!(info_digit(b"Signal=x"), None);
        assert_eq!(info_digit(b""), None);
        assert_eq!(info_digit(&[0xff, 0xfe]), None);
    }

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(1_795_305_600_000), "2026-11-22");
        assert_eq!(utc_date(-86_400_000), "1969-12-31");
    }

    #[test]
    fn fork_failures_keep_the_most_telling_status() {
        assert!(failure_rank(603) > failure_rank(486));
        assert!(failure_rank(486) > failure_rank(480));
        assert!(failure_rank(480) > failure_rank(487));
        assert_eq!(caller_status(EndCause::Busy, 486), 486);
        assert_eq!(caller_status(EndCause::NoAnswer, 487), 480);
        assert_eq!(caller_status(EndCause::Failed, 503), 503);
    }

    #[test]
    fn binding_sources_parse_back_to_addresses() {
        let a = parse_source("udp:127.0.0.1:5062").unwrap();
        assert_eq!(a.r#type, Some(rsipstack::sip::Transport::Udp));
        assert!(parse_source("tcp:[::1]:5060").is_some());
        assert!(parse_source("sctp:127.0.0.1:1").is_none());
        assert!(parse_source("garbage").is_none());
    }
}
