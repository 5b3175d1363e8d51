//! The ACD's vocabulary: settings, queue configuration, overflow rules, caller priority,
//! and the inputs the router takes and the actions it returns.

use crate::agent::NotReadyReason;
use crate::ids::{CustomerId, InteractionId, QueueId, SkillId, UserId};
use crate::org::{Proficiency, QueueStrategy};
use serde::{Deserialize, Serialize};

/// Center-wide ACD timings (all configurable; defaults from the requirements).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcdSettings {
    /// How long an offer rings before it counts as no answer (15 s ≈ 3 rings).
    pub ring_timeout_ms: i64,
    /// After-call-work limit; then the agent is ready again (0: no ACW).
    pub acw_ms: i64,
    /// Offers that ring out in a row before the agent is logged out (0: never).
    pub max_no_answer: u32,
    /// Waiting this long raises a call's priority by one level, so none starves.
    pub priority_aging_ms: i64,
    /// How often a waiting caller hears their position and wait (0: never).
    pub announce_every_ms: i64,
    /// Handle time assumed for the wait estimate before any call has finished.
    pub default_aht_ms: i64,
    /// Weight of the newest handle time in the moving average (0 < α ≤ 1; 0.02 ≈ the last
    /// 50 calls, which keeps the wait estimate unbiased when queues build after long calls).
    pub aht_smoothing: f64,
    /// Abandons quicker than this are "short" and left out of abandon rate and SL.
    pub short_abandon_ms: i64,
}

impl Default for AcdSettings {
    fn default() -> Self {
        AcdSettings {
            ring_timeout_ms: 15_000,
            acw_ms: 20_000,
            max_no_answer: 3,
            priority_aging_ms: 60_000,
            announce_every_ms: 30_000,
            default_aht_ms: 180_000,
            aht_smoothing: 0.02,
            short_abandon_ms: 5_000,
        }
    }
}

/// A caller's priority: 0 (normal) to 9 (emergency). Higher is served first; waiting raises
/// it by one level per `priority_aging_ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Priority(pub u8);

impl Priority {
    /// Ordinary callers.
    pub const NORMAL: Priority = Priority(0);
    /// VIP tier.
    pub const VIP: Priority = Priority(5);
    /// Emergencies (account security, system fault): served before everyone.
    pub const EMERGENCY: Priority = Priority(9);
    /// The highest level.
    pub const MAX: u8 = 9;
}

/// When an overflow step applies (checked once the call has waited `after_secs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum OverflowWhen {
    /// Whenever the wait is reached.
    #[default]
    Always,
    /// Only while more than `max` calls wait in the queue.
    QueueLongerThan {
        /// The length that is too long.
        max: u32,
    },
    /// Only while no agent who could take the call is logged in.
    NoAgentsLoggedIn,
    /// Only while every logged-in agent who could take the call is not ready.
    AllAgentsNotReady,
}

/// Where an overflowing call goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum OverflowAction {
    /// Stay in this queue, keeping the position, and also let these queues' agents take it.
    Widen {
        /// Queues whose agents become eligible.
        queues: Vec<QueueId>,
    },
    /// Move to another queue (keeping the original arrival time for ordering).
    Queue {
        /// The target queue.
        queue: QueueId,
    },
    /// Back to an IVR node.
    Ivr {
        /// The node to go to.
        node: String,
    },
    /// Transfer to an external number.
    External {
        /// The number to dial.
        number: String,
    },
    /// Record a voicemail.
    Voicemail,
    /// Take a callback request.
    Callback,
}

impl OverflowAction {
    /// Whether the call leaves the router with this action.
    pub fn leaves_router(&self) -> bool {
        !matches!(self, OverflowAction::Widen { .. } | OverflowAction::Queue { .. })
    }

    /// The stable name of the action kind.
    pub fn kind(&self) -> &'static str {
        match self {
            OverflowAction::Widen { .. } => "widen",
            OverflowAction::Queue { .. } => "queue",
            OverflowAction::Ivr { .. } => "ivr",
            OverflowAction::External { .. } => "external",
            OverflowAction::Voicemail => "voicemail",
            OverflowAction::Callback => "callback",
        }
    }
}

/// One overflow rule: after waiting `after_secs`, if `when` holds, do `action`. Steps of a
/// queue are tried in order; each fires at most once per call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverflowStep {
    /// Seconds of waiting before the step is considered.
    #[serde(default)]
    pub after_secs: u32,
    /// The condition.
    #[serde(default)]
    pub when: OverflowWhen,
    /// What to do.
    pub action: OverflowAction,
}

/// A skill requirement of a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRequirement {
    /// The skill.
    pub skill: SkillId,
    /// Agents below this proficiency do not qualify.
    pub min: Proficiency,
}

/// A queue as the router sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueConfig {
    /// Id.
    pub id: QueueId,
    /// Name (for messages and events).
    pub name: String,
    /// How an agent is picked.
    pub strategy: QueueStrategy,
    /// Skills an agent needs (all of them).
    pub skills: Vec<SkillRequirement>,
    /// Service-level threshold for the real-time statistics.
    pub sl_threshold_ms: i64,
    /// Overflow rules, in order.
    pub overflow: Vec<OverflowStep>,
    /// Fixed agent order for `top_down` (agents not listed follow, by id).
    pub agent_order: Vec<UserId>,
}

impl QueueConfig {
    /// A queue with defaults: longest idle, no skills, SL threshold 20 s, no overflow.
    pub fn new(id: QueueId, name: impl Into<String>) -> Self {
        QueueConfig {
            id,
            name: name.into(),
            strategy: QueueStrategy::LongestIdle,
            skills: Vec::new(),
            sl_threshold_ms: 20_000,
            overflow: Vec::new(),
            agent_order: Vec::new(),
        }
    }
}

/// What the router is told.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An agent signs in with these skills (they land in not-ready).
    AgentLogin {
        /// Who.
        agent: UserId,
        /// Skills held.
        skills: Vec<(SkillId, Proficiency)>,
    },
    /// An agent signs out (`forced` by a supervisor: allowed from any state but a live call).
    AgentLogout {
        /// Who.
        agent: UserId,
        /// Supervisor-forced.
        forced: bool,
    },
    /// An agent becomes ready (or ends ACW early).
    AgentReady {
        /// Who.
        agent: UserId,
    },
    /// An agent becomes not ready (remembered until after the call if on one).
    AgentNotReady {
        /// Who.
        agent: UserId,
        /// Why.
        reason: NotReadyReason,
    },
    /// A call enters a queue.
    CallQueued {
        /// The call.
        call: InteractionId,
        /// The queue.
        queue: QueueId,
        /// Caller priority.
        priority: Priority,
        /// The customer, if known (carried into events).
        customer: Option<CustomerId>,
    },
    /// The caller hung up before an agent answered.
    CallAbandoned {
        /// The call.
        call: InteractionId,
    },
    /// The caller chose to leave the queue (a key while waiting): not an abandon.
    CallLeft {
        /// The call.
        call: InteractionId,
        /// Where they went: [`OverflowAction::Voicemail`] or [`OverflowAction::Callback`].
        action: OverflowAction,
    },
    /// The offered agent answered.
    CallAnswered {
        /// The call.
        call: InteractionId,
        /// Who answered.
        agent: UserId,
    },
    /// The offered agent declined (treated like ringing out).
    CallRejected {
        /// The call.
        call: InteractionId,
        /// Who declined.
        agent: UserId,
    },
    /// The agent put the caller on hold.
    CallHold {
        /// Who.
        agent: UserId,
    },
    /// The agent took the caller off hold.
    CallUnhold {
        /// Who.
        agent: UserId,
    },
    /// An answered call ended.
    CallEnded {
        /// The call.
        call: InteractionId,
    },
    /// The agent took a call the router did not route — a colleague's transfer or
    /// consultation, a call they dialled: they are busy (talking) until
    /// [`Input::OutsideCallEnded`], so no queue call is offered meanwhile. A call the router
    /// itself offered to or connected with this agent is left alone (its own inputs follow);
    /// an agent already on a call, or signed out, is unchanged. A queue call ringing at the
    /// agent is withdrawn and goes back to the front of its queue.
    OutsideCallStarted {
        /// Who.
        agent: UserId,
        /// The call.
        call: InteractionId,
    },
    /// The call of an [`Input::OutsideCallStarted`] ended for the agent: after-call work
    /// follows as after any call. Ignored unless the agent is on exactly that call outside
    /// the queue (so a late or repeated notice changes nothing).
    OutsideCallEnded {
        /// Who.
        agent: UserId,
        /// The call.
        call: InteractionId,
    },
    /// A supervisor merges these queues (合大组): agents of any take calls of all.
    MergeQueues {
        /// Two or more queues.
        queues: Vec<QueueId>,
    },
    /// A supervisor splits the merge group containing this queue.
    SplitQueues {
        /// Any queue of the group.
        queue: QueueId,
    },
    /// Time passed: fire due timers (ring timeouts, ACW ends, overflow, announcements).
    Tick,
}

/// What the router asks its driver to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Ring this agent with this call.
    Offer {
        /// The call.
        call: InteractionId,
        /// The agent.
        agent: UserId,
        /// The queue it is offered from.
        queue: QueueId,
    },
    /// Stop ringing this agent (caller gone, timed out, or another agent answered).
    CancelOffer {
        /// The call.
        call: InteractionId,
        /// The agent.
        agent: UserId,
    },
    /// Tell a waiting caller their position and estimated wait.
    Announce {
        /// The call.
        call: InteractionId,
        /// 1-based position in its queue.
        position: usize,
        /// Estimated wait in seconds.
        ewt_secs: u32,
    },
    /// The call overflows; for actions that leave the router, the call is no longer queued.
    Overflow {
        /// The call.
        call: InteractionId,
        /// The queue it overflows from.
        queue: QueueId,
        /// Index of the rule in the queue's overflow list.
        step: usize,
        /// Where it goes.
        action: OverflowAction,
    },
    /// A record for the event log.
    Event(super::events::RouterEvent),
}
