//! The event-log record: one structured fact about an interaction, an agent or a queue.
//! Reports, the wallboard and the CTI stream are derived from these and nothing else.

use crate::ids::{CustomerId, EventId, InteractionId, QueueId, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// What happened. The dotted name (`agent.logged_in`) is what the log stores.
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum EventKind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The stable dotted name stored in the log and used in queries.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }
        }
    };
}

event_kinds! {
    /// A user logged in to kefu (web or API session opened).
    SessionOpened => "session.opened",
    /// A user logged out (web or API session closed).
    SessionClosed => "session.closed",
    /// An agent's ACD state changed (data: from, to, reason, duration_ms).
    AgentStateChanged => "agent.state_changed",
    /// A call entered a queue (data: priority, position).
    CallQueued => "call.queued",
    /// A call was offered to an agent (data: wait_ms).
    CallOffered => "call.offered",
    /// An offered call was answered (data: wait_ms, ring_ms).
    CallAnswered => "call.answered",
    /// An offer rang out or was declined; the call went back to the head of its queue.
    CallNoAnswer => "call.no_answer",
    /// The caller hung up while waiting (data: wait_ms, position).
    CallAbandoned => "call.abandoned",
    /// A call overflowed by a queue rule (data: step, action, wait_ms).
    CallOverflowed => "call.overflowed",
    /// An answered call ended (data: talk_ms, hold_ms).
    CallCompleted => "call.completed",
    /// A supervisor merged queues (data: queues).
    QueuesMerged => "queue.merged",
    /// A supervisor split merged queues (data: queues).
    QueuesSplit => "queue.split",
    /// Telephony: a call leg exists (inbound from a caller, or outbound to an agent or number).
    LegCreated => "leg.created",
    /// Telephony: an outbound leg's phone is ringing.
    LegRinging => "leg.ringing",
    /// Telephony: a leg was answered.
    LegAnswered => "leg.answered",
    /// Telephony: a leg ended, with its cause and SIP status.
    LegEnded => "leg.ended",
    /// Telephony: the customer and the agent hear each other.
    CallBridged => "call.bridged",
    /// Telephony: the customer was put on hold (music).
    CallHeld => "call.held",
    /// Telephony: the customer was taken off hold.
    CallResumed => "call.resumed",
    /// Telephony: a consultation became a three-way conference (data: with — the consulted party).
    CallConferenced => "call.conferenced",
    /// Telephony: the customer was transferred (blind or attended).
    CallTransferred => "call.transferred",
    /// Telephony: a transfer or consultation target could not be reached.
    CallTransferFailed => "call.transfer_failed",
    /// Telephony: a keypad digit (RFC 4733 or SIP INFO).
    CallDigit => "call.digit",
    /// Telephony: every leg of the call has ended.
    CallEnded => "call.ended",
    /// Telephony: a call recording was finished and indexed.
    RecordingSaved => "recording.saved",
    /// Telephony: a call recording could not be written.
    RecordingFailed => "recording.failed",
    /// IVR: a call entered a flow (data: flow, dialled).
    IvrStarted => "ivr.started",
    /// IVR: the call reached a node (data: node, type).
    IvrNode => "ivr.node",
    /// IVR: a menu key chose a branch (data: node, key, next).
    IvrChoice => "ivr.choice",
    /// IVR: a key the menu does not offer, or too few digits (data: node, attempt).
    IvrInvalid => "ivr.invalid",
    /// IVR: no key within the timeout (data: node, attempt).
    IvrNoInput => "ivr.no_input",
    /// IVR: digits collected into a variable (data: node, var, digits — the count, not the digits).
    IvrCollected => "ivr.collected",
    /// IVR: an HTTP node finished (data: node, ok, detail).
    IvrHttp => "ivr.http",
    /// IVR: a value could not be spoken (data: node, value).
    IvrSayFailed => "ivr.say_failed",
    /// IVR: the flow ended (data: node, outcome, path).
    IvrEnded => "ivr.ended",
    /// A waiting caller was told their position and estimated wait (data: position, ewt_secs, prompts).
    CallAnnounced => "call.announced",
    /// The caller chose to leave the queue for a voicemail or a callback (data: action, wait_ms, position).
    CallLeftQueue => "call.left_queue",
    /// A voicemail was recorded and stored (data: voicemail, duration_ms, queue).
    VoicemailSaved => "voicemail.saved",
    /// A caller asked to be called back (data: callback, queue).
    CallbackRequested => "callback.requested",
    /// A caller answered the post-call survey (data: answers, agent).
    SurveyAnswered => "survey.answered",
    /// A caller was recognised as a known customer by their number (customer column set; data: call).
    CustomerIdentified => "customer.identified",
    /// A work order was created (data: ticket, number, category, type, priority, channel).
    TicketCreated => "ticket.created",
    /// A work order moved in its workflow (data: ticket, from, to, reason).
    TicketStatusChanged => "ticket.status_changed",
    /// A work order got a new owner or group (data: ticket, owner, team).
    TicketAssigned => "ticket.assigned",
    /// A work order was dispatched to a department (data: ticket, team).
    TicketDispatched => "ticket.dispatched",
    /// A work order was escalated (data: ticket, rule, target, by).
    TicketEscalated => "ticket.escalated",
    /// A work order's SLA target passed its warning threshold (data: ticket, target, due).
    TicketSlaWarning => "ticket.sla_warning",
    /// A work order's SLA target was breached (data: ticket, target, due).
    TicketSlaBreached => "ticket.sla_breached",
    /// A follow-up callback attempt was made (data: ticket, followup, attempt, outcome).
    FollowUpAttempted => "followup.attempted",
    /// A customer rated how a work order was handled (data: ticket, speed, attitude, quality).
    TicketSurveyed => "ticket.surveyed",
    /// A supervisor or team lead acted on a call or an agent: listen, whisper, barge, change
    /// or stop monitoring, force a transfer, a hang-up, a state or a sign-out, merge or split
    /// queues (data: action, by, and what it was done to).
    SupervisorAction => "supervisor.action",
    /// An agent asked for floor support on a call (data: call, agent, notified, consulted).
    SupportRequested => "support.requested",
    /// An agent marked a call as harassment and ended it (data: call, entry, number masked).
    HarassmentReported => "call.harassment",
    /// The harassment blocklist changed (data: action proposed / added / approved / rejected /
    /// removed, entry, number masked, by).
    BlocklistChanged => "blocklist.changed",
    /// A call from a blocklisted number arrived (data: entry, number masked, outcome
    /// `diverted` to the harassment queue or `declined` with 603).
    CallBlocked => "call.blocked",
    /// A shift handover note was written (data: note, shift, open items).
    HandoverWritten => "handover.written",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// An event kind name that kefu does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind `{0}`")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.chars().take(64).collect()))
    }
}

/// One record of the append-only event log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique, application-generated, ordered by creation.
    pub id: EventId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The call, chat or email it belongs to, if any.
    pub interaction: Option<InteractionId>,
    /// The agent involved, if any.
    pub agent: Option<UserId>,
    /// The queue involved, if any.
    pub queue: Option<QueueId>,
    /// The customer involved, if any.
    pub customer: Option<CustomerId>,
    /// Kind-specific details.
    pub data: serde_json::Value,
}

impl Event {
    /// An event with no subjects and empty data; set the fields that apply.
    pub fn new(id: EventId, at: Timestamp, kind: EventKind) -> Self {
        Self {
            id,
            at,
            kind,
            interaction: None,
            agent: None,
            queue: None,
            customer: None,
            data: serde_json::Value::Object(serde_json::Map::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip_and_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(*k));
            assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{}\"", k.as_str()));
        }
        assert_eq!("call.nonsense".parse::<EventKind>(), Err(UnknownEventKind("call.nonsense".into())));
    }
}
