//! What the SIP server reports and answers: call events, snapshots and control errors.

use std::fmt;
use std::path::PathBuf;

/// A call's stable id (a UUID v7, so ids sort by start time).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub String);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl CallId {
    /// A fresh id.
    pub fn new() -> Self {
        CallId(uuid::Uuid::now_v7().to_string())
    }
}

impl Default for CallId {
    fn default() -> Self {
        Self::new()
    }
}

/// What a leg is for, seen from the contact center.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegRole {
    /// The customer: an inbound caller or the far end of a click-to-dial.
    Customer,
    /// The agent handling the call.
    Agent,
    /// A third party being consulted (attended transfer) or the target of a transfer.
    Consult,
    /// A supervisor listening, whispering or barging.
    Monitor,
}

impl LegRole {
    /// Lower-case name used in events and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            LegRole::Customer => "customer",
            LegRole::Agent => "agent",
            LegRole::Consult => "consult",
            LegRole::Monitor => "monitor",
        }
    }
}

/// Direction of a leg relative to kefu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegDirection {
    /// The far end called kefu.
    Inbound,
    /// kefu called the far end.
    Outbound,
}

/// Why a leg or call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndCause {
    /// The customer hung up.
    CustomerHangup,
    /// The agent (or consulted party) hung up.
    AgentHangup,
    /// Ended through the call-control API.
    Api,
    /// The caller gave up while the agent's phone rang.
    Cancelled,
    /// The far end was busy (486/600).
    Busy,
    /// The far end declined (603).
    Declined,
    /// Nobody answered within the ring timeout.
    NoAnswer,
    /// No registered contact, or the target could not be reached.
    Unavailable,
    /// The dialled number or extension does not exist.
    NotFound,
    /// Offer/answer failed (no common codec).
    MediaFailure,
    /// The leg left the call because it was transferred away.
    Transferred,
    /// Any other failure; the SIP code tells more.
    Failed,
    /// The server is shutting down.
    Shutdown,
}

impl EndCause {
    /// Snake-case name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::CustomerHangup => "customer_hangup",
            EndCause::AgentHangup => "agent_hangup",
            EndCause::Api => "api",
            EndCause::Cancelled => "cancelled",
            EndCause::Busy => "busy",
            EndCause::Declined => "declined",
            EndCause::NoAnswer => "no_answer",
            EndCause::Unavailable => "unavailable",
            EndCause::NotFound => "not_found",
            EndCause::MediaFailure => "media_failure",
            EndCause::Transferred => "transferred",
            EndCause::Failed => "failed",
            EndCause::Shutdown => "shutdown",
        }
    }

    /// The cause a failed outbound leg's final SIP status means.
    pub fn from_status(status: u16) -> Self {
        match status {
            486 | 600 => EndCause::Busy,
            603 => EndCause::Declined,
            408 | 480 => EndCause::NoAnswer,
            404 | 484 | 604 => EndCause::NotFound,
            487 => EndCause::Cancelled,
            488 | 606 => EndCause::MediaFailure,
            _ => EndCause::Failed,
        }
    }
}

/// How a transfer was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferMode {
    /// The agent leaves at once; the customer rings the target.
    Blind,
    /// The agent talked to the target first, then joined the customer to it.
    Attended,
}

impl TransferMode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferMode::Blind => "blind",
            TransferMode::Attended => "attended",
        }
    }
}

/// Where a DTMF digit came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigitVia {
    /// RFC 4733 telephone-event in the RTP stream.
    Rfc4733,
    /// SIP INFO (application/dtmf-relay or application/dtmf).
    Info,
}

/// A finished recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingDone {
    /// The file (stereo WAV: customer left, agent right).
    pub path: PathBuf,
    /// When recording started, epoch ms.
    pub started_at_ms: i64,
    /// Audio length in ms.
    pub duration_ms: u64,
    /// File size in bytes.
    pub size_bytes: u64,
    /// The customer's number.
    pub customer: String,
    /// The number the customer dialled or was dialled on.
    pub dialled: String,
    /// The agent's extension on the recording's right channel (the last one, after transfers).
    pub agent_extension: Option<String>,
}

/// One thing that happened to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEventKind {
    /// A leg exists.
    LegCreated {
        /// Its role.
        role: LegRole,
        /// Its direction.
        direction: LegDirection,
        /// Number or extension of the far end.
        party: String,
    },
    /// The far end of an outbound leg is ringing (180/183).
    LegRinging,
    /// The leg was answered.
    LegAnswered,
    /// Two legs hear each other.
    Bridged {
        /// The customer-side leg.
        customer: u64,
        /// The agent-side leg.
        agent: u64,
    },
    /// The customer is on hold (hearing music).
    Held {
        /// Who put the call on hold: `api`, `phone`, or `consult` (the agent consults a third party).
        by: &'static str,
    },
    /// The customer is off hold.
    Resumed {
        /// Who resumed: `api`, `phone`, or `conference` (the consultation became a conference).
        by: &'static str,
    },
    /// The consultation became a three-way conference: customer, agent and the consulted party
    /// each hear the other two (the customer is off hold; `Resumed { by: "conference" }`
    /// follows). It ends when a party leaves: the consulted party hanging up (or the
    /// consultation being cancelled) → `LegEnded` and `Bridged` (customer and agent again); the
    /// agent hanging up (or completing the transfer) → `Transferred { mode: Attended }` (the
    /// consulted party becomes the call's agent); the customer hanging up ends the call.
    Conferenced {
        /// The consulted party who joined (extension or number).
        with: String,
    },
    /// The customer was handed to another party.
    Transferred {
        /// Blind or attended.
        mode: TransferMode,
        /// The new party (extension or number).
        to: String,
    },
    /// A transfer or consultation could not reach its target.
    TransferFailed {
        /// The target.
        to: String,
        /// Final SIP status of the attempt.
        sip_code: u16,
    },
    /// A keypad digit.
    Digit {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// RTP event or SIP INFO.
        via: DigitVia,
    },
    /// A leg ended.
    LegEnded {
        /// Why.
        cause: EndCause,
        /// The SIP status that ended it (BYE: 200; failed INVITE: its final code).
        sip_code: u16,
    },
    /// A recording was finished and fsynced.
    RecordingSaved(RecordingDone),
    /// Recording failed (disk full, …); the call goes on.
    RecordingFailed {
        /// What went wrong.
        message: String,
    },
    /// The call is over; every leg has ended.
    CallEnded {
        /// Why the call ended.
        cause: EndCause,
        /// Talk time (answer to end), ms; 0 if never answered.
        talk_ms: u64,
    },
}

impl CallEventKind {
    /// Dotted name for the event log.
    pub fn name(&self) -> &'static str {
        match self {
            CallEventKind::LegCreated { .. } => "leg.created",
            CallEventKind::LegRinging => "leg.ringing",
            CallEventKind::LegAnswered => "leg.answered",
            CallEventKind::Bridged { .. } => "call.bridged",
            CallEventKind::Held { .. } => "call.held",
            CallEventKind::Resumed { .. } => "call.resumed",
            CallEventKind::Conferenced { .. } => "call.conferenced",
            CallEventKind::Transferred { .. } => "call.transferred",
            CallEventKind::TransferFailed { .. } => "call.transfer_failed",
            CallEventKind::Digit { .. } => "call.digit",
            CallEventKind::LegEnded { .. } => "leg.ended",
            CallEventKind::RecordingSaved(_) => "recording.saved",
            CallEventKind::RecordingFailed { .. } => "recording.failed",
            CallEventKind::CallEnded { .. } => "call.ended",
        }
    }
}

/// A call event with its call, leg and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallEvent {
    /// The call.
    pub call: CallId,
    /// The leg, where the event is about one.
    pub leg: Option<u64>,
    /// The agent's extension on the call when the event happened, if any.
    pub agent: Option<String>,
    /// When, epoch ms.
    pub at_ms: i64,
    /// What.
    pub kind: CallEventKind,
}

/// A leg as shown by the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegSnapshot {
    /// Leg id (unique within the server's lifetime).
    pub id: u64,
    /// Role.
    pub role: LegRole,
    /// Direction.
    pub direction: LegDirection,
    /// Far end.
    pub party: String,
    /// `ringing`, `answered` or `ended`.
    pub state: &'static str,
}

/// A live call as shown by the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSnapshot {
    /// Call id.
    pub id: CallId,
    /// `ringing`, `ivr` (answered by the IVR, no agent yet), `talking`, `held`, `consulting`,
    /// `conference` (customer, agent and the consulted party all hear each other), `transferring`, `ended`.
    pub state: &'static str,
    /// The customer's number.
    pub customer: String,
    /// The agent's extension, if an agent is on the call.
    pub agent: Option<String>,
    /// Started, epoch ms.
    pub started_at_ms: i64,
    /// Answered by an agent, epoch ms.
    pub answered_at_ms: Option<i64>,
    /// Whether the call is being recorded.
    pub recording: bool,
    /// Legs, oldest first.
    pub legs: Vec<LegSnapshot>,
}

/// A registered contact as shown by the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationView {
    /// The extension (address-of-record user part).
    pub extension: String,
    /// Contact URI.
    pub contact: String,
    /// Where the REGISTER came from (`udp:203.0.113.4:5062`).
    pub source: String,
    /// Seconds left.
    pub expires_in_secs: u32,
    /// User-Agent header of the phone, if given.
    pub user_agent: Option<String>,
}

/// Why a call-control request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No live call with that id.
    #[error("no active call {0}")]
    NoSuchCall(String),
    /// The call is not in a state that allows it.
    #[error("{0}")]
    InvalidState(String),
    /// The target is not a known extension and no trunk can dial it.
    #[error("cannot reach `{0}`: not an extension and no trunk is configured")]
    NoRoute(String),
    /// The agent's phone is not registered.
    #[error("extension {0} has no registered phone")]
    NotRegistered(String),
    /// The telephony server is stopping.
    #[error("telephony is shutting down")]
    ShuttingDown,
}

/// What the SIP server holds at one moment ([`super::SipHandle::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SipStats {
    /// Calls whose task is running.
    pub calls: usize,
    /// Media sessions whose task is running.
    pub media_sessions: usize,
    /// SIP dialogs known to the dialog layer.
    pub dialogs: usize,
    /// Transactions in progress.
    pub transactions_running: usize,
    /// Completed transactions kept to answer retransmissions.
    pub transactions_finished: usize,
    /// INVITE server transactions waiting for their ACK.
    pub transactions_waiting_ack: usize,
    /// Live registered contacts.
    pub registrations: usize,
    /// RTP packets received since the server started.
    pub rtp_packets_received: u64,
    /// RTP packets sent since the server started.
    pub rtp_packets_sent: u64,
}

/// A call handed to the IVR: a trunk route whose target is `ivr:FLOW` answers the caller in
/// kefu and gives the call to whoever called [`super::SipHandle::attach_ivr`]. The IVR drives it
/// with [`super::SipHandle::play`], [`super::SipHandle::play_music`],
/// [`super::SipHandle::stop_playback`], [`super::SipHandle::record_voicemail`],
/// [`super::SipHandle::connect`], [`super::SipHandle::cancel_agent`],
/// [`super::SipHandle::transfer`] and [`super::SipHandle::hangup`], and hears back through
/// `signals` until the call ends.
///
/// The IVR *has the caller* from the answer until an agent (or a transfer target) answers, and
/// again after an agent connected with `back_to_ivr` hangs up first
/// ([`IvrSignal::AgentLeft`]). Only then do its commands work and does it hear the caller's
/// keys; at every other moment they fail with [`ControlError::InvalidState`].
#[derive(Debug)]
pub struct IvrCall {
    /// The call.
    pub call: CallId,
    /// The caller's number.
    pub caller: String,
    /// The number dialled.
    pub dialled: String,
    /// The flow named by the route (`ivr:hotline` → `hotline`).
    pub flow: String,
    /// What happens on the call, in order; [`IvrSignal::Ended`] comes last, then the channel
    /// closes.
    pub signals: tokio::sync::mpsc::UnboundedReceiver<IvrSignal>,
}

/// What the IVR hears about its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrSignal {
    /// The caller pressed a key (RFC 4733 or SIP INFO). Only while the IVR has the caller (not
    /// while an agent is bridged).
    Key(char),
    /// The audio of [`super::SipHandle::play`] with this token was played to the end.
    PlaybackDone {
        /// The token given to `play`.
        token: u64,
    },
    /// The agent rung by [`super::SipHandle::connect`] answered: caller and agent are bridged
    /// (and recorded); the IVR's audio has stopped (and a voicemail being recorded is stopped).
    /// The IVR no longer has the caller: next comes [`IvrSignal::AgentLeft`] (if connected with
    /// `back_to_ivr`) or [`IvrSignal::Ended`].
    AgentAnswered {
        /// The agent's extension.
        extension: String,
    },
    /// The agent's phones did not answer (busy, declined, no answer, gone, or cancelled with
    /// [`super::SipHandle::cancel_agent`]: [`EndCause::Cancelled`], 487); the caller is still on
    /// the line, hearing the IVR.
    AgentFailed {
        /// The agent's extension.
        extension: String,
        /// Why.
        cause: EndCause,
        /// The SIP status that ended the attempt.
        sip_code: u16,
    },
    /// The agent connected with `back_to_ivr` hung up while the caller stayed on the line: the
    /// recording is saved, the caller hears silence, and the IVR has the caller again (for a
    /// survey, say) — play, keys, voicemail, connect and hangup work as before the agent.
    AgentLeft {
        /// The agent's extension.
        extension: String,
    },
    /// The agent talking to the IVR's caller handed them on — a blind transfer, or a completed
    /// consultation — and left: the agent's conversation is over, the caller stays on the
    /// line with `to` (recorded); [`IvrSignal::Ended`] follows at the end of the call.
    AgentTransferred {
        /// The target, as given to `transfer` or `consult`.
        to: String,
    },
    /// The target of a [`super::SipHandle::transfer`] the IVR asked for answered: the caller
    /// talks to it (recorded) and the IVR no longer has the caller; [`IvrSignal::Ended`] follows
    /// at the end of the call. (A transfer that fails ends the call.)
    Transferred {
        /// The target, as given to `transfer`.
        to: String,
    },
    /// The voicemail started with [`super::SipHandle::record_voicemail`] was stopped (by
    /// [`super::SipHandle::stop_voicemail`], its time limit, an agent answering, a transfer or
    /// the end of the call) and its file is complete. Comes before [`IvrSignal::Ended`].
    VoicemailRecorded {
        /// The file: 8 kHz mono 16-bit PCM WAV of what the caller said.
        path: PathBuf,
        /// Length of the audio, ms.
        duration_ms: u64,
        /// Size of the file in bytes.
        size_bytes: u64,
    },
    /// The voicemail could not be recorded (its file cannot be created or written); it has
    /// stopped. Comes before [`IvrSignal::Ended`].
    VoicemailFailed {
        /// What went wrong.
        message: String,
    },
    /// The call ended (the caller hung up, or it was hung up): always the last signal, also
    /// after an agent or a transfer target took the call; nothing more will come.
    Ended {
        /// Why.
        cause: EndCause,
    },
}
