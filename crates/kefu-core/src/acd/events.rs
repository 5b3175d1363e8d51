//! What the router records: one typed event per decision, convertible to the event-log
//! record (`kefu_core::event::Event`) so reports and the wallboard need nothing else.

use crate::agent::{NotReadyReason, StateKind};
use crate::event::{Event, EventKind};
use crate::ids::{CustomerId, EventId, InteractionId, QueueId, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::types::{OverflowAction, Priority};

/// A routing fact, with the time it happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouterEvent {
    /// When.
    pub at: Timestamp,
    /// What.
    pub detail: RouterEventDetail,
}

/// The facts the router records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouterEventDetail {
    /// A call entered a queue.
    CallQueued {
        /// The call.
        call: InteractionId,
        /// The queue.
        queue: QueueId,
        /// Its priority.
        priority: Priority,
        /// Its 1-based position on entry.
        position: usize,
        /// The customer, if known.
        customer: Option<CustomerId>,
        /// True when it came from another queue by overflow.
        overflowed_from: Option<QueueId>,
    },
    /// A call was offered to an agent.
    CallOffered {
        /// The call.
        call: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// The agent.
        agent: UserId,
        /// Time waited in this queue so far.
        wait_ms: i64,
    },
    /// An agent answered.
    CallAnswered {
        /// The call.
        call: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// The agent.
        agent: UserId,
        /// Queue entry → answer.
        wait_ms: i64,
        /// Ringing time of the answered offer.
        ring_ms: i64,
    },
    /// An offer rang out (or was declined); the call is back at the head of its queue.
    CallNoAnswer {
        /// The call.
        call: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// The agent who did not answer.
        agent: UserId,
        /// How long it rang.
        ring_ms: i64,
        /// True if the agent declined rather than let it ring out.
        declined: bool,
    },
    /// The caller hung up before being answered.
    CallAbandoned {
        /// The call.
        call: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// Time waited in this queue.
        wait_ms: i64,
        /// 1-based position when they hung up.
        position: usize,
    },
    /// The caller chose to leave the queue while waiting (for a voicemail or a callback).
    CallLeftQueue {
        /// The call.
        call: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// Where the caller went.
        action: OverflowAction,
        /// Time waited in this queue.
        wait_ms: i64,
        /// 1-based position when they left.
        position: usize,
    },
    /// A call overflowed.
    CallOverflowed {
        /// The call.
        call: InteractionId,
        /// The queue it overflowed from.
        queue: QueueId,
        /// Index of the rule.
        step: usize,
        /// Where it went.
        action: OverflowAction,
        /// Time waited in the queue.
        wait_ms: i64,
    },
    /// An answered call ended.
    CallCompleted {
        /// The call.
        call: InteractionId,
        /// Its queue.
        queue: QueueId,
        /// The agent.
        agent: UserId,
        /// Talk time, holds excluded.
        talk_ms: i64,
        /// Time on hold.
        hold_ms: i64,
    },
    /// An agent changed state.
    AgentStateChanged {
        /// Who.
        agent: UserId,
        /// The state left.
        from: StateKind,
        /// The state entered.
        to: StateKind,
        /// Not-ready reason, when `to` is not ready.
        reason: Option<NotReadyReason>,
        /// Time spent in `from`.
        duration_ms: i64,
        /// The call involved, if any.
        call: Option<InteractionId>,
    },
    /// Queues were merged.
    QueuesMerged {
        /// The group.
        queues: Vec<QueueId>,
    },
    /// A merge group was split.
    QueuesSplit {
        /// The former group.
        queues: Vec<QueueId>,
    },
}

impl RouterEvent {
    /// The event-log kind.
    pub fn kind(&self) -> EventKind {
        match &self.detail {
            RouterEventDetail::CallQueued { .. } => EventKind::CallQueued,
            RouterEventDetail::CallOffered { .. } => EventKind::CallOffered,
            RouterEventDetail::CallAnswered { .. } => EventKind::CallAnswered,
            RouterEventDetail::CallNoAnswer { .. } => EventKind::CallNoAnswer,
            RouterEventDetail::CallAbandoned { .. } => EventKind::CallAbandoned,
            RouterEventDetail::CallOverflowed { .. } => EventKind::CallOverflowed,
            RouterEventDetail::CallLeftQueue { .. } => EventKind::CallLeftQueue,
            RouterEventDetail::CallCompleted { .. } => EventKind::CallCompleted,
            RouterEventDetail::AgentStateChanged { .. } => EventKind::AgentStateChanged,
            RouterEventDetail::QueuesMerged { .. } => EventKind::QueuesMerged,
            RouterEventDetail::QueuesSplit { .. } => EventKind::QueuesSplit,
        }
    }

    /// The event-log record, with the id the edge generated. The subjects (interaction,
    /// agent, queue, customer) go to their columns; the whole detail goes to `data`.
    pub fn to_event(&self, id: EventId) -> Event {
        use RouterEventDetail as D;
        let mut e = Event::new(id, self.at, self.kind());
        match &self.detail {
            D::CallQueued { call, queue, customer, .. } => {
                e.interaction = Some(*call);
                e.queue = Some(*queue);
                e.customer = *customer;
            }
            D::CallOffered { call, queue, agent, .. }
            | D::CallAnswered { call, queue, agent, .. }
            | D::CallNoAnswer { call, queue, agent, .. }
            | D::CallCompleted { call, queue, agent, .. } => {
                e.interaction = Some(*call);
                e.queue = Some(*queue);
                e.agent = Some(*agent);
            }
            D::CallAbandoned { call, queue, .. }
            | D::CallOverflowed { call, queue, .. }
            | D::CallLeftQueue { call, queue, .. } => {
                e.interaction = Some(*call);
                e.queue = Some(*queue);
            }
            D::AgentStateChanged { agent, call, .. } => {
                e.agent = Some(*agent);
                e.interaction = *call;
            }
            D::QueuesMerged { .. } | D::QueuesSplit { .. } => {}
        }
        e.data = serde_json::to_value(&self.detail).unwrap_or(serde_json::Value::Null);
        e
    }

    /// Reads a router event back from an event-log record (for reports built from the log).
    pub fn from_event(e: &Event) -> Option<RouterEvent> {
        let detail: RouterEventDetail = serde_json::from_value(e.data.clone()).ok()?;
        Some(RouterEvent { at: e.at, detail })
    }
}
