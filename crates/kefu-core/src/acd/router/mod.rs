//! The router: agents, waiting calls, offers and timers. `handle(now, input)` applies one
//! input and returns what to do; nothing here reads a clock or performs I/O.
//!
//! Waiting calls live in one FIFO per base priority level per queue, ordered by arrival
//! (a call rung out unanswered goes back to the front). The best call is the front with the
//! highest *effective* priority — base level plus one per `priority_aging_ms` waited — then
//! the re-queued one, then the earliest arrival; so a low-priority caller rises with time and
//! never starves.

use super::config::{ConfigError, validate};
use super::events::{RouterEvent, RouterEventDetail as D};
use super::stats::{QueueCounters, QueueStats};
use super::strategy::{self, Candidate};
use super::types::{AcdSettings, Action, Input, OverflowAction, OverflowWhen, Priority, QueueConfig};
use crate::agent::{Agent, AgentInput, AgentState, InvalidTransition, NotReadyReason, StateKind, Transition};
use crate::ids::{CustomerId, InteractionId, QueueId, SkillId, UserId};
use crate::org::{Proficiency, QueueStrategy};
use crate::time::Timestamp;
use std::collections::{BTreeSet, HashMap, VecDeque};

mod matching;
mod overflow;

const LEVELS: usize = Priority::MAX as usize + 1;

/// Service order of a waiting call: effective priority, re-queued flag, earlier arrival.
type CallKey = (i64, bool, std::cmp::Reverse<u64>);

/// An input the router cannot apply. The router's state is unchanged by a refused input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// No such agent has ever logged in.
    #[error("unknown agent {0}")]
    UnknownAgent(UserId),
    /// No such call is known (never queued, or already finished).
    #[error("unknown call {0}")]
    UnknownCall(InteractionId),
    /// No such queue.
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    /// The call is already known.
    #[error("call {0} is already in the router")]
    DuplicateCall(InteractionId),
    /// The agent's state does not allow the input.
    #[error("agent {agent}: {source}")]
    Transition {
        /// The agent.
        agent: UserId,
        /// Why.
        source: InvalidTransition,
    },
    /// The call is not ringing at that agent.
    #[error("call {call} is not being offered to agent {agent}")]
    NotOffered {
        /// The call.
        call: InteractionId,
        /// The agent.
        agent: UserId,
    },
    /// The call is not in the state the input needs (e.g. ending a call nobody answered).
    #[error("call {call} is {state}, not {expected}")]
    CallState {
        /// The call.
        call: InteractionId,
        /// Its state.
        state: &'static str,
        /// The state needed.
        expected: &'static str,
    },
    /// A merge or split request that does not make sense.
    #[error("{0}")]
    Merge(String),
}

#[derive(Clone, Debug)]
struct AgentEntry {
    id: UserId,
    agent: Agent,
    skills: Vec<(SkillId, Proficiency)>,
    /// Queues the agent qualifies for (all required skills at the minimum level).
    queues: Vec<usize>,
    /// The call the agent is on outside the queue ([`Input::OutsideCallStarted`]).
    outside: Option<InteractionId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Waiting,
    Ringing,
    Connected { agent: usize, answered_at: Timestamp, hold_ms: i64, hold_since: Option<Timestamp> },
}

impl CallState {
    fn name(&self) -> &'static str {
        match self {
            CallState::Waiting => "waiting",
            CallState::Ringing => "ringing",
            CallState::Connected { .. } => "connected",
        }
    }
}

#[derive(Clone, Debug)]
struct CallEntry {
    queue: usize,
    priority: u8,
    customer: Option<CustomerId>,
    /// When the caller first entered any queue (aging and ordering use it).
    arrived: Timestamp,
    /// Arrival order, the last tie-breaker.
    seq: u64,
    /// When the call entered its current queue (overflow timing, stats).
    queued_at: Timestamp,
    /// Went back to the front after ringing out.
    head: bool,
    state: CallState,
    /// Agents ringing, with when the ringing started.
    offers: Vec<(usize, Timestamp)>,
    /// Queues whose agents may also take the call (overflow `widen`).
    widened: Vec<usize>,
    /// Overflow steps of the current queue that have fired.
    fired: Vec<bool>,
    next_announce: Option<Timestamp>,
}

#[derive(Clone, Debug)]
struct QueueState {
    cfg: QueueConfig,
    waiting: [VecDeque<InteractionId>; LEVELS],
    /// Agents that qualify, in agent-table order.
    qualified: Vec<usize>,
    /// Index of the merge group, if merged.
    group: Option<usize>,
    rr_last: Option<UserId>,
    /// This queue's own index, as a one-element group.
    me: [usize; 1],
    counters: QueueCounters,
    aht_ms: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Ring { call: InteractionId, agent: usize, since: Timestamp },
    Acw { agent: usize },
    Overflow { call: InteractionId, queue: usize, queued_at: Timestamp },
    Announce { call: InteractionId },
}

/// The ACD router for one center (or one node's share of it).
#[derive(Clone, Debug)]
pub struct Router {
    settings: AcdSettings,
    queues: Vec<QueueState>,
    queue_index: HashMap<QueueId, usize>,
    agents: Vec<AgentEntry>,
    agent_index: HashMap<UserId, usize>,
    calls: HashMap<InteractionId, CallEntry>,
    /// Calls widened beyond their queue, re-checked when any agent frees up.
    widened_calls: Vec<InteractionId>,
    groups: Vec<Option<Vec<usize>>>,
    timers: BTreeSet<(Timestamp, Timer)>,
    seq: u64,
}

/// Proficiency sum over a queue's required skills, or `None` if the agent does not qualify.
fn qualification(skills: &[(SkillId, Proficiency)], q: &QueueConfig) -> Option<u32> {
    let mut score = 0u32;
    for req in &q.skills {
        let level = skills.iter().find(|(s, _)| *s == req.skill).map(|(_, p)| *p)?;
        if level < req.min {
            return None;
        }
        score += u32::from(level.get());
    }
    Some(score)
}

fn score_for(skills: &[(SkillId, Proficiency)], q: &QueueConfig) -> u32 {
    q.skills
        .iter()
        .filter_map(|req| skills.iter().find(|(s, _)| *s == req.skill).map(|(_, p)| u32::from(p.get())))
        .sum()
}

impl Router {
    /// A router for these queues, or every problem with the configuration.
    pub fn new(settings: AcdSettings, queues: Vec<QueueConfig>) -> Result<Router, Vec<ConfigError>> {
        let problems = validate(&settings, &queues);
        if !problems.is_empty() {
            return Err(problems);
        }
        let queue_index = queues.iter().enumerate().map(|(i, q)| (q.id, i)).collect();
        let aht = settings.default_aht_ms as f64;
        let queues = queues
            .into_iter()
            .map(|cfg| QueueState {
                cfg,
                waiting: Default::default(),
                qualified: Vec::new(),
                group: None,
                rr_last: None,
                me: [0],
                counters: QueueCounters::default(),
                aht_ms: aht,
            })
            .collect::<Vec<QueueState>>();
        let mut queues = queues;
        for (i, q) in queues.iter_mut().enumerate() {
            q.me = [i];
        }
        Ok(Router {
            settings,
            queues,
            queue_index,
            agents: Vec::new(),
            agent_index: HashMap::new(),
            calls: HashMap::new(),
            widened_calls: Vec::new(),
            groups: Vec::new(),
            timers: BTreeSet::new(),
            seq: 0,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &AcdSettings {
        &self.settings
    }

    /// Applies one input at `now` and returns the actions, in order.
    pub fn handle(&mut self, now: Timestamp, input: Input) -> Result<Vec<Action>, AcdError> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out)?;
        Ok(out)
    }

    /// Like [`Router::handle`], appending to `out` (no allocation on the hot path). On error
    /// nothing is appended and nothing changed.
    pub fn handle_into(&mut self, now: Timestamp, input: Input, out: &mut Vec<Action>) -> Result<(), AcdError> {
        let start = out.len();
        let result = self.apply(now, input, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The earliest pending timer; call `handle(t, Input::Tick)` at that time.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// An agent's state machine, if the agent ever logged in.
    pub fn agent(&self, id: UserId) -> Option<&Agent> {
        self.agent_index.get(&id).map(|&i| &self.agents[i].agent)
    }

    /// The queues' ids and names, in configuration order.
    pub fn queue_names(&self) -> impl Iterator<Item = (QueueId, &str)> + '_ {
        self.queues.iter().map(|q| (q.cfg.id, q.cfg.name.as_str()))
    }

    /// Agents known to the router, in the order they first logged in.
    pub fn agent_ids(&self) -> impl Iterator<Item = UserId> + '_ {
        self.agents.iter().map(|a| a.id)
    }

    /// The queue a call is in and its 1-based position, while it waits or rings.
    pub fn position(&self, call: InteractionId, now: Timestamp) -> Option<(QueueId, usize)> {
        let c = self.calls.get(&call)?;
        if matches!(c.state, CallState::Connected { .. }) {
            return None;
        }
        Some((self.queues[c.queue].cfg.id, self.position_of(call, now)))
    }

    /// Estimated wait in seconds for the caller at `position` (1-based) of `queue`.
    ///
    /// Method: each of the N agents staffed for the queue (logged in and not in not-ready)
    /// frees up on average once per AHT, where AHT is the queue's exponentially weighted
    /// moving average of handle time (talk + hold + ACW); the caller at position p waits for
    /// p departures: EWT = p × AHT ÷ N. With no staffed agent the estimate is p × AHT.
    pub fn ewt_secs(&self, queue: QueueId, position: usize) -> Option<u32> {
        let q = *self.queue_index.get(&queue)?;
        Some(self.ewt_ms(q, position).div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32)
    }

    /// Real-time statistics of a queue.
    pub fn stats(&self, queue: QueueId, now: Timestamp) -> Option<QueueStats> {
        let qi = *self.queue_index.get(&queue)?;
        let q = &self.queues[qi];
        let mut by_state = [0u32; 7];
        for &a in &q.qualified {
            by_state[StateKind::ALL.iter().position(|k| *k == self.agents[a].agent.state().kind()).unwrap_or(0)] += 1;
        }
        let waiting_calls: Vec<&CallEntry> = q.waiting.iter().flatten().filter_map(|c| self.calls.get(c)).collect();
        let longest = waiting_calls.iter().map(|c| now.millis_since(c.queued_at)).max().unwrap_or(0);
        Some(QueueStats::new(
            queue,
            q.cfg.sl_threshold_ms,
            waiting_calls.len() as u32,
            longest,
            &q.counters,
            StateKind::ALL.iter().copied().zip(by_state).collect(),
            (q.aht_ms / 1000.0) as u32,
        ))
    }

    // ---------------------------------------------------------------- inputs

    fn apply(&mut self, now: Timestamp, input: Input, out: &mut Vec<Action>) -> Result<(), AcdError> {
        match input {
            Input::AgentLogin { agent, skills } => self.login(now, agent, skills, out),
            Input::AgentLogout { agent, forced } => {
                let a = self.agent_idx(agent)?;
                let ringing = match self.agents[a].agent.state() {
                    AgentState::Reserved { call } => Some(call),
                    _ => None,
                };
                let input = if forced { AgentInput::ForceLogout } else { AgentInput::Logout };
                self.transition(now, a, input, out)?;
                if let Some(call) = ringing {
                    out.push(Action::CancelOffer { call, agent });
                    self.withdraw_offer(now, call, a, out);
                }
                let queues = self.agents[a].queues.clone();
                self.check_conditional_overflow(now, &queues, out);
                Ok(())
            }
            Input::AgentReady { agent } => {
                let a = self.agent_idx(agent)?;
                self.transition(now, a, AgentInput::SetReady, out)?;
                self.assign_agent(now, a, out);
                Ok(())
            }
            Input::AgentNotReady { agent, reason } => {
                let a = self.agent_idx(agent)?;
                self.transition(now, a, AgentInput::SetNotReady(reason), out)?;
                let queues = self.agents[a].queues.clone();
                self.check_conditional_overflow(now, &queues, out);
                Ok(())
            }
            Input::CallQueued { call, queue, priority, customer } => {
                let q = *self.queue_index.get(&queue).ok_or(AcdError::UnknownQueue(queue))?;
                if self.calls.contains_key(&call) {
                    return Err(AcdError::DuplicateCall(call));
                }
                self.seq += 1;
                let entry = CallEntry {
                    queue: q,
                    priority: priority.0.min(Priority::MAX),
                    customer,
                    arrived: now,
                    seq: self.seq,
                    queued_at: now,
                    head: false,
                    state: CallState::Waiting,
                    offers: Vec::new(),
                    widened: Vec::new(),
                    fired: vec![false; self.queues[q].cfg.overflow.len()],
                    next_announce: None,
                };
                self.calls.insert(call, entry);
                self.enqueue(now, call, None, out);
                Ok(())
            }
            Input::CallAbandoned { call } => self.abandon(now, call, None, out),
            Input::CallLeft { call, action } => self.abandon(now, call, Some(action), out),
            Input::CallAnswered { call, agent } => self.answer(now, call, agent, out),
            Input::CallRejected { call, agent } => {
                let a = self.agent_idx(agent)?;
                let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
                if !c.offers.iter().any(|(x, _)| *x == a) {
                    return Err(AcdError::NotOffered { call, agent });
                }
                self.ring_out(now, call, a, true, out);
                Ok(())
            }
            Input::CallHold { agent } => {
                let a = self.agent_idx(agent)?;
                self.transition(now, a, AgentInput::Hold, out)?;
                if let Some(call) = self.agents[a].agent.state().call()
                    && let Some(c) = self.calls.get_mut(&call)
                    && let CallState::Connected { agent: with, hold_since, .. } = &mut c.state
                    && *with == a
                {
                    *hold_since = Some(now);
                }
                Ok(())
            }
            Input::CallUnhold { agent } => {
                let a = self.agent_idx(agent)?;
                self.transition(now, a, AgentInput::Unhold, out)?;
                if let Some(call) = self.agents[a].agent.state().call()
                    && let Some(c) = self.calls.get_mut(&call)
                    && let CallState::Connected { agent: with, hold_since, hold_ms, .. } = &mut c.state
                    && *with == a
                    && let Some(since) = hold_since.take()
                {
                    *hold_ms += now.millis_since(since);
                }
                Ok(())
            }
            Input::CallEnded { call } => self.end(now, call, out),
            Input::OutsideCallStarted { agent, call } => self.outside_call_started(now, agent, call, out),
            Input::OutsideCallEnded { agent, call } => self.outside_call_ended(now, agent, call, out),
            Input::MergeQueues { queues } => self.merge(now, &queues, out),
            Input::SplitQueues { queue } => self.split(now, queue, out),
            Input::Tick => {
                self.tick(now, out);
                Ok(())
            }
        }
    }

    fn agent_idx(&self, id: UserId) -> Result<usize, AcdError> {
        self.agent_index.get(&id).copied().ok_or(AcdError::UnknownAgent(id))
    }

    fn transition(
        &mut self,
        now: Timestamp,
        a: usize,
        input: AgentInput,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let acw = self.settings.acw_ms;
        let entry = &mut self.agents[a];
        let agent = entry.id;
        match entry.agent.handle(now, input, acw) {
            Ok(Some(t)) => {
                self.record_transition(now, a, t, out);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(source) => Err(AcdError::Transition { agent, source }),
        }
    }

    /// Applies a transition the router itself causes (always valid by construction).
    fn force(&mut self, now: Timestamp, a: usize, input: AgentInput, out: &mut Vec<Action>) {
        // The router only sends inputs its own bookkeeping says are valid; a refusal here
        // would be a router bug, and is ignored rather than corrupting other state.
        let _ = self.transition(now, a, input, out);
    }

    fn record_transition(&mut self, now: Timestamp, a: usize, t: Transition, out: &mut Vec<Action>) {
        let reason = match t.to {
            AgentState::NotReady { reason } => Some(reason),
            _ => None,
        };
        if let AgentState::AfterCallWork { until, .. } = t.from {
            self.timers.remove(&(until, Timer::Acw { agent: a }));
        }
        if let AgentState::AfterCallWork { until, .. } = t.to {
            self.timers.insert((until, Timer::Acw { agent: a }));
        }
        out.push(event(
            now,
            D::AgentStateChanged {
                agent: self.agents[a].id,
                from: t.from.kind(),
                to: t.to.kind(),
                reason,
                duration_ms: t.duration_ms,
                call: t.from.call().or(t.to.call()),
            },
        ));
    }

    fn login(
        &mut self,
        now: Timestamp,
        id: UserId,
        skills: Vec<(SkillId, Proficiency)>,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let a = match self.agent_index.get(&id) {
            Some(&a) => {
                if self.agents[a].agent.state() != AgentState::LoggedOut {
                    return Err(AcdError::Transition {
                        agent: id,
                        source: InvalidTransition {
                            from: self.agents[a].agent.state().kind(),
                            input: AgentInput::Login,
                        },
                    });
                }
                a
            }
            None => {
                let a = self.agents.len();
                self.agents.push(AgentEntry {
                    id,
                    agent: Agent::new(now),
                    skills: Vec::new(),
                    queues: Vec::new(),
                    outside: None,
                });
                self.agent_index.insert(id, a);
                a
            }
        };
        // re-qualify with the (possibly changed) skills
        for q in &mut self.queues {
            q.qualified.retain(|&x| x != a);
        }
        let mut queues = Vec::new();
        for (qi, q) in self.queues.iter_mut().enumerate() {
            if qualification(&skills, &q.cfg).is_some() {
                let pos = q.qualified.partition_point(|&x| x < a);
                q.qualified.insert(pos, a);
                queues.push(qi);
            }
        }
        self.agents[a].skills = skills;
        self.agents[a].queues = queues;
        self.transition(now, a, AgentInput::Login, out)
    }
}

fn event(at: Timestamp, detail: super::events::RouterEventDetail) -> Action {
    Action::Event(RouterEvent { at, detail })
}
