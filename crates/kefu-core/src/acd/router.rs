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
use super::types::{
    AcdSettings, Action, Input, OverflowAction, OverflowWhen, Priority, QueueConfig,
};
use crate::agent::{
    Agent, AgentInput, AgentState, InvalidTransition, NotReadyReason, StateKind, Transition,
};
use crate::ids::{CustomerId, InteractionId, QueueId, SkillId, UserId};
use crate::org::{Proficiency, QueueStrategy};
use crate::time::Timestamp;
use std::collections::{BTreeSet, HashMap, VecDeque};

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Waiting,
    Ringing,
    Connected {
        agent: usize,
        answered_at: Timestamp,
        hold_ms: i64,
        hold_since: Option<Timestamp>,
    },
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
    Ring {
        call: InteractionId,
        agent: usize,
        since: Timestamp,
    },
    Acw {
        agent: usize,
    },
    Overflow {
        call: InteractionId,
        queue: usize,
        queued_at: Timestamp,
    },
    Announce {
        call: InteractionId,
    },
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
        let level = skills
            .iter()
            .find(|(s, _)| *s == req.skill)
            .map(|(_, p)| *p)?;
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
        .filter_map(|req| {
            skills
                .iter()
                .find(|(s, _)| *s == req.skill)
                .map(|(_, p)| u32::from(p.get()))
        })
        .sum()
}

impl Router {
    /// A router for these queues, or every problem with the configuration.
    pub fn new(
        settings: AcdSettings,
        queues: Vec<QueueConfig>,
    ) -> Result<Router, Vec<ConfigError>> {
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
    pub fn handle_into(
        &mut self,
        now: Timestamp,
        input: Input,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
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
        Some(
            self.ewt_ms(q, position)
                .div_euclid(1000)
                .clamp(0, i64::from(u32::MAX)) as u32,
        )
    }

    /// Real-time statistics of a queue.
    pub fn stats(&self, queue: QueueId, now: Timestamp) -> Option<QueueStats> {
        let qi = *self.queue_index.get(&queue)?;
        let q = &self.queues[qi];
        let mut by_state = [0u32; 7];
        for &a in &q.qualified {
            by_state[StateKind::ALL
                .iter()
                .position(|k| *k == self.agents[a].agent.state().kind())
                .unwrap_or(0)] += 1;
        }
        let waiting_calls: Vec<&CallEntry> = q
            .waiting
            .iter()
            .flatten()
            .filter_map(|c| self.calls.get(c))
            .collect();
        let longest = waiting_calls
            .iter()
            .map(|c| now.millis_since(c.queued_at))
            .max()
            .unwrap_or(0);
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

    fn apply(
        &mut self,
        now: Timestamp,
        input: Input,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        match input {
            Input::AgentLogin { agent, skills } => self.login(now, agent, skills, out),
            Input::AgentLogout { agent, forced } => {
                let a = self.agent_idx(agent)?;
                let ringing = match self.agents[a].agent.state() {
                    AgentState::Reserved { call } => Some(call),
                    _ => None,
                };
                let input = if forced {
                    AgentInput::ForceLogout
                } else {
                    AgentInput::Logout
                };
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
            Input::CallQueued {
                call,
                queue,
                priority,
                customer,
            } => {
                let q = *self
                    .queue_index
                    .get(&queue)
                    .ok_or(AcdError::UnknownQueue(queue))?;
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
            Input::CallAbandoned { call } => self.abandon(now, call, out),
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
                    && let CallState::Connected { hold_since, .. } = &mut c.state
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
                    && let CallState::Connected {
                        hold_since,
                        hold_ms,
                        ..
                    } = &mut c.state
                    && let Some(since) = hold_since.take()
                {
                    *hold_ms += now.millis_since(since);
                }
                Ok(())
            }
            Input::CallEnded { call } => self.end(now, call, out),
            Input::MergeQueues { queues } => self.merge(now, &queues, out),
            Input::SplitQueues { queue } => self.split(now, queue, out),
            Input::Tick => {
                self.tick(now, out);
                Ok(())
            }
        }
    }

    fn agent_idx(&self, id: UserId) -> Result<usize, AcdError> {
        self.agent_index
            .get(&id)
            .copied()
            .ok_or(AcdError::UnknownAgent(id))
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

    fn record_transition(
        &mut self,
        now: Timestamp,
        a: usize,
        t: Transition,
        out: &mut Vec<Action>,
    ) {
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

    // ---------------------------------------------------------------- queueing

    /// Puts a (new or moved) call into its queue, offers it if an agent is free, otherwise
    /// announces its position and arms its timers.
    fn enqueue(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        from: Option<usize>,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (q, level, seq) = (c.queue, usize::from(c.priority), c.seq);
        let fifo = &mut self.queues[q].waiting[level];
        // keep arrival order (a moved call keeps its original arrival)
        let pos = fifo.iter().position(|other| {
            self.calls
                .get(other)
                .is_some_and(|o| !o.head && o.seq > seq)
        });
        match pos {
            Some(p) => fifo.insert(p, call),
            None => fifo.push_back(call),
        }
        self.queues[q].counters.offered += 1;
        let position = self.position_of(call, now);
        let (priority, customer) = (
            Priority(self.calls[&call].priority),
            self.calls[&call].customer,
        );
        out.push(event(
            now,
            D::CallQueued {
                call,
                queue: self.queues[q].cfg.id,
                priority,
                position,
                customer,
                overflowed_from: from.map(|f| self.queues[f].cfg.id),
            },
        ));
        // overflow timers of this queue
        let queued_at = now;
        for step in &self.queues[q].cfg.overflow {
            let at = queued_at.plus_millis(i64::from(step.after_secs) * 1000);
            self.timers.insert((
                at,
                Timer::Overflow {
                    call,
                    queue: q,
                    queued_at,
                },
            ));
        }
        if self.offer_call(now, call, out) {
            return;
        }
        if self.check_overflow(now, call, out) {
            return;
        }
        if self.settings.announce_every_ms > 0 {
            self.announce(now, call, out);
        }
    }

    fn position_of(&self, call: InteractionId, now: Timestamp) -> usize {
        let Some(c) = self.calls.get(&call) else {
            return 0;
        };
        let key = self.key(c, now);
        let q = &self.queues[c.queue];
        1 + q
            .waiting
            .iter()
            .flatten()
            .filter(|other| **other != call)
            .filter_map(|other| self.calls.get(other))
            .filter(|o| self.key(o, now) > key)
            .count()
    }

    /// Ordering key of a waiting call at `now`: larger is served first.
    fn key(&self, c: &CallEntry, now: Timestamp) -> CallKey {
        let aged = now.millis_since(c.arrived).max(0) / self.settings.priority_aging_ms.max(1);
        (
            i64::from(c.priority) + aged,
            c.head,
            std::cmp::Reverse(c.seq),
        )
    }

    fn remove_waiting(&mut self, call: InteractionId) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let fifo = &mut self.queues[c.queue].waiting[usize::from(c.priority)];
        if let Some(p) = fifo.iter().position(|x| *x == call) {
            fifo.remove(p);
        }
        if !c.widened.is_empty() {
            self.widened_calls.retain(|x| *x != call);
        }
    }

    fn ring_deadline(&self, since: Timestamp) -> Timestamp {
        since.plus_millis(self.settings.ring_timeout_ms)
    }

    fn cancel_ring_timer(&mut self, call: InteractionId, agent: usize, since: Timestamp) {
        let at = self.ring_deadline(since);
        self.timers
            .remove(&(at, Timer::Ring { call, agent, since }));
    }

    fn cancel_announce_timer(&mut self, call: InteractionId) {
        if let Some(c) = self.calls.get_mut(&call)
            && let Some(at) = c.next_announce.take()
        {
            self.timers.remove(&(at, Timer::Announce { call }));
        }
    }

    /// Drops the call's overflow and announcement timers (it was answered or left its queue).
    fn cancel_queue_timers(&mut self, call: InteractionId) {
        self.cancel_announce_timer(call);
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (queue, queued_at) = (c.queue, c.queued_at);
        for step in &self.queues[queue].cfg.overflow {
            let at = queued_at.plus_millis(i64::from(step.after_secs) * 1000);
            self.timers.remove(&(
                at,
                Timer::Overflow {
                    call,
                    queue,
                    queued_at,
                },
            ));
        }
    }

    fn ewt_ms(&self, q: usize, position: usize) -> i64 {
        let mut staffed = 0usize;
        self.for_each_eligible(q, &[], |a| {
            if self.agents[a].agent.state().is_staffed() {
                staffed += 1;
            }
        });
        let aht = self.queues[q].aht_ms;
        (position as f64 * aht / staffed.max(1) as f64) as i64
    }

    fn announce(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        if c.state != CallState::Waiting {
            return;
        }
        let q = c.queue;
        let position = self.position_of(call, now);
        let ewt_secs = (self.ewt_ms(q, position) / 1000).clamp(0, i64::from(u32::MAX)) as u32;
        out.push(Action::Announce {
            call,
            position,
            ewt_secs,
        });
        let next = now.plus_millis(self.settings.announce_every_ms);
        if let Some(c) = self.calls.get_mut(&call) {
            c.next_announce = Some(next);
        }
        self.timers.insert((next, Timer::Announce { call }));
    }

    // ---------------------------------------------------------------- matching

    /// Queues whose agents may take calls of queue `q`: itself and its merge group.
    fn group_of(&self, q: usize) -> &[usize] {
        match self.queues[q]
            .group
            .and_then(|g| self.groups.get(g))
            .and_then(Option::as_deref)
        {
            Some(members) => members,
            None => &self.queues[q].me,
        }
    }

    /// Calls `f` once for every agent that may take a call of queue `q` widened to `extra`.
    fn for_each_eligible(&self, q: usize, extra: &[usize], mut f: impl FnMut(usize)) {
        let group = self.group_of(q);
        if extra.is_empty() && group.len() == 1 {
            for &a in &self.queues[group[0]].qualified {
                f(a);
            }
            return;
        }
        let mut queues: Vec<usize> = group.to_vec();
        for &w in extra {
            for &g in self.group_of(w) {
                if !queues.contains(&g) {
                    queues.push(g);
                }
            }
        }
        let mut seen = vec![false; self.agents.len()];
        for qq in queues {
            for &a in &self.queues[qq].qualified {
                if !seen[a] {
                    seen[a] = true;
                    f(a);
                }
            }
        }
    }

    /// The strategy's view of agent `a` for a call of queue `cfg`; the costlier fields are
    /// filled only for the strategies that use them.
    fn candidate(&self, a: usize, cfg: &QueueConfig) -> Candidate {
        let e = &self.agents[a];
        Candidate {
            idx: a,
            id: e.id,
            idle_since: e.agent.idle_since(),
            calls_answered: e.agent.calls_answered(),
            skill_score: if cfg.strategy == QueueStrategy::SkillWeighted {
                score_for(&e.skills, cfg)
            } else {
                0
            },
            order_rank: if cfg.strategy == QueueStrategy::TopDown {
                cfg.agent_order
                    .iter()
                    .position(|x| *x == e.id)
                    .unwrap_or(usize::MAX)
            } else {
                0
            },
        }
    }

    /// The free agent(s) a waiting call should ring, by its queue's strategy.
    fn choose(&self, c: &CallEntry) -> Vec<usize> {
        let q = c.queue;
        let cfg = &self.queues[q].cfg;
        let ready = |a: usize| self.agents[a].agent.state() == AgentState::Ready;
        match cfg.strategy {
            QueueStrategy::RingAll => {
                let mut all: Vec<Candidate> = Vec::new();
                self.for_each_eligible(q, &c.widened, |a| {
                    if ready(a) {
                        all.push(self.candidate(a, cfg));
                    }
                });
                all.sort_by(|x, y| strategy::compare(QueueStrategy::RingAll, x, y));
                all.iter().map(|x| x.idx).collect()
            }
            strategy => {
                let mut picker = strategy::Picker::new(strategy, self.queues[q].rr_last);
                self.for_each_eligible(q, &c.widened, |a| {
                    if ready(a) {
                        picker.consider(self.candidate(a, cfg));
                    }
                });
                picker.finish().map(|b| vec![b.idx]).unwrap_or_default()
            }
        }
    }

    /// Offers a waiting call to the best free agent(s). Returns whether it was offered.
    fn offer_call(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) -> bool {
        let chosen = match self.calls.get(&call) {
            Some(c) if c.state == CallState::Waiting => self.choose(c),
            _ => return false,
        };
        if chosen.is_empty() {
            return false;
        }
        for a in chosen {
            self.offer(now, call, a, out);
        }
        true
    }

    fn offer(&mut self, now: Timestamp, call: InteractionId, a: usize, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let q = c.queue;
        let was_waiting = c.state == CallState::Waiting;
        let wait_ms = now.millis_since(c.queued_at);
        if was_waiting {
            self.remove_waiting(call);
            self.cancel_announce_timer(call);
        }
        self.force(now, a, AgentInput::Offer(call), out);
        let agent = self.agents[a].id;
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Ringing;
            c.offers.push((a, now));
        }
        self.queues[q].rr_last = Some(agent);
        self.timers.insert((
            self.ring_deadline(now),
            Timer::Ring {
                call,
                agent: a,
                since: now,
            },
        ));
        out.push(Action::Offer {
            call,
            agent,
            queue: self.queues[q].cfg.id,
        });
        out.push(event(
            now,
            D::CallOffered {
                call,
                queue: self.queues[q].cfg.id,
                agent,
                wait_ms,
            },
        ));
    }

    /// Gives a newly free agent the best waiting call they may take.
    fn assign_agent(&mut self, now: Timestamp, a: usize, out: &mut Vec<Action>) {
        if self.agents[a].agent.state() != AgentState::Ready {
            return;
        }
        let mut best: Option<(CallKey, InteractionId)> = None;
        let consider = |router: &Router, call: InteractionId, best: &mut Option<_>| {
            if let Some(c) = router.calls.get(&call) {
                let k = router.key(c, now);
                if best.as_ref().is_none_or(|(bk, _)| k > *bk) {
                    *best = Some((k, call));
                }
            }
        };
        let mut reachable: Vec<usize> = Vec::new();
        for &q in &self.agents[a].queues {
            for &g in self.group_of(q) {
                if !reachable.contains(&g) {
                    reachable.push(g);
                }
            }
        }
        for &q in &reachable {
            for fifo in &self.queues[q].waiting {
                if let Some(&front) = fifo.front() {
                    consider(self, front, &mut best);
                }
            }
        }
        for &call in &self.widened_calls {
            if let Some(c) = self.calls.get(&call)
                && c.state == CallState::Waiting
                && !reachable.contains(&c.queue)
                && c.widened.iter().any(|w| {
                    self.group_of(*w)
                        .iter()
                        .any(|g| self.agents[a].queues.contains(g))
                })
            {
                consider(self, call, &mut best);
            }
        }
        if let Some((_, call)) = best {
            self.offer(now, call, a, out);
        }
    }

    // ---------------------------------------------------------------- call outcomes

    fn answer(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        agent: UserId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        let Some(&(_, rang_since)) = c.offers.iter().find(|(x, _)| *x == a) else {
            return Err(AcdError::NotOffered { call, agent });
        };
        let offers = c.offers.clone();
        let others: Vec<usize> = offers.iter().map(|(x, _)| *x).filter(|x| *x != a).collect();
        let (q, queued_at) = (c.queue, c.queued_at);
        self.transition(now, a, AgentInput::Answer, out)?;
        for (x, since) in offers {
            self.cancel_ring_timer(call, x, since);
        }
        self.cancel_queue_timers(call);
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Connected {
                agent: a,
                answered_at: now,
                hold_ms: 0,
                hold_since: None,
            };
            c.offers.clear();
        }
        let wait_ms = now.millis_since(queued_at);
        let sl = self.queues[q].cfg.sl_threshold_ms;
        let counters = &mut self.queues[q].counters;
        counters.answered += 1;
        counters.answer_wait_ms += wait_ms;
        if wait_ms <= sl {
            counters.answered_in_sl += 1;
        }
        out.push(event(
            now,
            D::CallAnswered {
                call,
                queue: self.queues[q].cfg.id,
                agent,
                wait_ms,
                ring_ms: now.millis_since(rang_since),
            },
        ));
        for o in others {
            out.push(Action::CancelOffer {
                call,
                agent: self.agents[o].id,
            });
            self.force(now, o, AgentInput::OfferCancelled, out);
            self.assign_agent(now, o, out);
        }
        Ok(())
    }

    /// An offer to agent `a` ended without an answer (rang out or declined).
    fn ring_out(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        a: usize,
        declined: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(p) = c.offers.iter().position(|(x, _)| *x == a) else {
            return;
        };
        let (_, since) = c.offers.remove(p);
        let (q, no_more_offers) = (c.queue, c.offers.is_empty());
        self.cancel_ring_timer(call, a, since);
        let agent = self.agents[a].id;
        if !declined {
            out.push(Action::CancelOffer { call, agent });
        }
        self.force(now, a, AgentInput::NoAnswer, out);
        out.push(event(
            now,
            D::CallNoAnswer {
                call,
                queue: self.queues[q].cfg.id,
                agent,
                ring_ms: now.millis_since(since),
                declined,
            },
        ));
        let max = self.settings.max_no_answer;
        if max > 0 && self.agents[a].agent.consecutive_no_answers() >= max {
            self.force(now, a, AgentInput::ForceLogout, out);
        }
        if no_more_offers {
            self.requeue_head(now, call, out);
        }
    }

    /// An offer withdrawn without the agent's fault (agent logged out while ringing).
    fn withdraw_offer(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        a: usize,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let since = c.offers.iter().find(|(x, _)| *x == a).map(|(_, s)| *s);
        c.offers.retain(|(x, _)| *x != a);
        let requeue = c.offers.is_empty() && c.state == CallState::Ringing;
        if let Some(since) = since {
            self.cancel_ring_timer(call, a, since);
        }
        if requeue {
            self.requeue_head(now, call, out);
        }
    }

    /// Back to the front of its queue, then straight to the next free agent if there is one.
    fn requeue_head(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.state = CallState::Waiting;
        c.head = true;
        let (q, level) = (c.queue, usize::from(c.priority));
        let widened = !c.widened.is_empty();
        self.queues[q].waiting[level].push_front(call);
        if widened && !self.widened_calls.contains(&call) {
            self.widened_calls.push(call);
        }
        if self.offer_call(now, call, out) || self.check_overflow(now, call, out) {
            return;
        }
        if self.settings.announce_every_ms > 0
            && self
                .calls
                .get(&call)
                .is_some_and(|c| c.next_announce.is_none())
        {
            self.announce(now, call, out);
        }
    }

    fn abandon(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        if let CallState::Connected { .. } = c.state {
            return Err(AcdError::CallState {
                call,
                state: "connected",
                expected: "waiting or ringing",
            });
        }
        let position = self.position_of(call, now);
        let c = &self.calls[&call];
        let (q, wait_ms, offers) = (c.queue, now.millis_since(c.queued_at), c.offers.clone());
        self.remove_waiting(call);
        self.cancel_queue_timers(call);
        for (a, since) in &offers {
            self.cancel_ring_timer(call, *a, *since);
        }
        self.calls.remove(&call);
        let sl = self.queues[q].cfg.sl_threshold_ms;
        let counters = &mut self.queues[q].counters;
        if wait_ms < self.settings.short_abandon_ms {
            counters.short_abandoned += 1;
        } else {
            counters.abandoned += 1;
            if wait_ms > sl {
                counters.abandoned_after_sl += 1;
            }
        }
        out.push(event(
            now,
            D::CallAbandoned {
                call,
                queue: self.queues[q].cfg.id,
                wait_ms,
                position,
            },
        ));
        for (a, _) in offers {
            out.push(Action::CancelOffer {
                call,
                agent: self.agents[a].id,
            });
            self.force(now, a, AgentInput::OfferCancelled, out);
            self.assign_agent(now, a, out);
        }
        Ok(())
    }

    fn end(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        let CallState::Connected {
            agent: a,
            answered_at,
            hold_ms,
            hold_since,
        } = c.state
        else {
            return Err(AcdError::CallState {
                call,
                state: c.state.name(),
                expected: "connected",
            });
        };
        let q = c.queue;
        let hold_ms = hold_ms + hold_since.map_or(0, |s| now.millis_since(s));
        let talk_ms = now.millis_since(answered_at) - hold_ms;
        self.transition(now, a, AgentInput::CallEnded, out)?;
        self.calls.remove(&call);
        let handle = (talk_ms + hold_ms + self.settings.acw_ms) as f64;
        let alpha = self.settings.aht_smoothing;
        let qs = &mut self.queues[q];
        qs.aht_ms = alpha * handle + (1.0 - alpha) * qs.aht_ms;
        qs.counters.completed += 1;
        out.push(event(
            now,
            D::CallCompleted {
                call,
                queue: qs.cfg.id,
                agent: self.agents[a].id,
                talk_ms,
                hold_ms,
            },
        ));
        self.assign_agent(now, a, out);
        Ok(())
    }

    // ---------------------------------------------------------------- overflow

    /// Fires the first due overflow step of a waiting call whose condition holds.
    /// Returns whether the call left its queue.
    fn check_overflow(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        out: &mut Vec<Action>,
    ) -> bool {
        let Some(c) = self.calls.get(&call) else {
            return false;
        };
        if c.state != CallState::Waiting {
            return false;
        }
        let q = c.queue;
        let waited = now.millis_since(c.queued_at);
        let steps = self.queues[q].cfg.overflow.clone();
        for (i, step) in steps.iter().enumerate() {
            let fired = self
                .calls
                .get(&call)
                .is_none_or(|c| c.fired.get(i).copied().unwrap_or(true));
            if fired
                || waited < i64::from(step.after_secs) * 1000
                || !self.condition_holds(q, &step.when)
            {
                continue;
            }
            if let Some(c) = self.calls.get_mut(&call) {
                c.fired[i] = true;
            }
            out.push(event(
                now,
                D::CallOverflowed {
                    call,
                    queue: self.queues[q].cfg.id,
                    step: i,
                    action: step.action.clone(),
                    wait_ms: waited,
                },
            ));
            out.push(Action::Overflow {
                call,
                queue: self.queues[q].cfg.id,
                step: i,
                action: step.action.clone(),
            });
            self.queues[q].counters.overflowed += 1;
            match &step.action {
                OverflowAction::Widen { queues } => {
                    let targets: Vec<usize> = queues
                        .iter()
                        .filter_map(|t| self.queue_index.get(t).copied())
                        .collect();
                    if let Some(c) = self.calls.get_mut(&call) {
                        for t in targets {
                            if !c.widened.contains(&t) {
                                c.widened.push(t);
                            }
                        }
                    }
                    if !self.widened_calls.contains(&call) {
                        self.widened_calls.push(call);
                    }
                    if self.offer_call(now, call, out) {
                        return false;
                    }
                }
                OverflowAction::Queue { queue } => {
                    let Some(&target) = self.queue_index.get(queue) else {
                        continue;
                    };
                    self.remove_waiting(call);
                    self.cancel_queue_timers(call);
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.queue = target;
                        c.queued_at = now;
                        c.head = false;
                        c.widened.clear();
                        c.fired = vec![false; self.queues[target].cfg.overflow.len()];
                    }
                    self.enqueue(now, call, Some(q), out);
                    return true;
                }
                _ => {
                    self.remove_waiting(call);
                    self.cancel_queue_timers(call);
                    self.calls.remove(&call);
                    return true;
                }
            }
        }
        false
    }

    fn condition_holds(&self, q: usize, when: &OverflowWhen) -> bool {
        match when {
            OverflowWhen::Always => true,
            OverflowWhen::QueueLongerThan { max } => {
                self.queues[q]
                    .waiting
                    .iter()
                    .map(VecDeque::len)
                    .sum::<usize>()
                    > *max as usize
            }
            OverflowWhen::NoAgentsLoggedIn => {
                let mut any = false;
                self.for_each_eligible(q, &[], |a| {
                    any |= self.agents[a].agent.state() != AgentState::LoggedOut
                });
                !any
            }
            OverflowWhen::AllAgentsNotReady => {
                let (mut logged_in, mut not_ready) = (0usize, 0usize);
                self.for_each_eligible(q, &[], |a| match self.agents[a].agent.state() {
                    AgentState::LoggedOut => {}
                    AgentState::NotReady { .. } => {
                        logged_in += 1;
                        not_ready += 1;
                    }
                    _ => logged_in += 1,
                });
                logged_in > 0 && logged_in == not_ready
            }
        }
    }

    /// Re-checks armed conditional steps of waiting calls in these queues (after agents
    /// left or went not ready).
    fn check_conditional_overflow(
        &mut self,
        now: Timestamp,
        queues: &[usize],
        out: &mut Vec<Action>,
    ) {
        for &q in queues {
            if !self.queues[q]
                .cfg
                .overflow
                .iter()
                .any(|s| s.when != OverflowWhen::Always)
            {
                continue;
            }
            let calls: Vec<InteractionId> =
                self.queues[q].waiting.iter().flatten().copied().collect();
            for call in calls {
                self.check_overflow(now, call, out);
            }
        }
    }

    // ---------------------------------------------------------------- merge groups

    fn merge(
        &mut self,
        now: Timestamp,
        queues: &[QueueId],
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let mut members = Vec::new();
        for id in queues {
            let q = *self
                .queue_index
                .get(id)
                .ok_or(AcdError::UnknownQueue(*id))?;
            if !members.contains(&q) {
                members.push(q);
            }
        }
        if members.len() < 2 {
            return Err(AcdError::Merge(
                "merging needs at least two different queues".into(),
            ));
        }
        if let Some(&q) = members.iter().find(|&&q| self.queues[q].group.is_some()) {
            return Err(AcdError::Merge(format!(
                "queue {} is already merged; split it first",
                self.queues[q].cfg.name
            )));
        }
        members.sort_unstable();
        let g = self.groups.len();
        self.groups.push(Some(members.clone()));
        for &q in &members {
            self.queues[q].group = Some(g);
        }
        out.push(event(
            now,
            D::QueuesMerged {
                queues: members.iter().map(|&q| self.queues[q].cfg.id).collect(),
            },
        ));
        // agents of any member may now take the others' waiting calls, oldest first
        let mut free: Vec<usize> = Vec::new();
        for &q in &members {
            for &a in &self.queues[q].qualified {
                if self.agents[a].agent.state() == AgentState::Ready && !free.contains(&a) {
                    free.push(a);
                }
            }
        }
        free.sort_by_key(|&a| (self.agents[a].agent.idle_since(), self.agents[a].id));
        for a in free {
            self.assign_agent(now, a, out);
        }
        Ok(())
    }

    fn split(
        &mut self,
        now: Timestamp,
        queue: QueueId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let q = *self
            .queue_index
            .get(&queue)
            .ok_or(AcdError::UnknownQueue(queue))?;
        let g = self.queues[q].group.ok_or_else(|| {
            AcdError::Merge(format!("queue {} is not merged", self.queues[q].cfg.name))
        })?;
        let members = self
            .groups
            .get_mut(g)
            .and_then(Option::take)
            .unwrap_or_default();
        for &m in &members {
            self.queues[m].group = None;
        }
        out.push(event(
            now,
            D::QueuesSplit {
                queues: members.iter().map(|&m| self.queues[m].cfg.id).collect(),
            },
        ));
        Ok(())
    }

    // ---------------------------------------------------------------- timers

    fn tick(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::Ring { call, agent, since } => {
                    let still = self
                        .calls
                        .get(&call)
                        .is_some_and(|c| c.offers.iter().any(|&(a, s)| a == agent && s == since));
                    if still {
                        self.ring_out(at.max(since), call, agent, false, out);
                    }
                }
                Timer::Acw { agent } => {
                    if matches!(self.agents[agent].agent.state(), AgentState::AfterCallWork { until, .. } if until <= now)
                    {
                        self.force(now, agent, AgentInput::Tick, out);
                        self.assign_agent(now, agent, out);
                    }
                }
                Timer::Overflow {
                    call,
                    queue,
                    queued_at,
                } => {
                    if self
                        .calls
                        .get(&call)
                        .is_some_and(|c| c.queue == queue && c.queued_at == queued_at)
                    {
                        self.check_overflow(now, call, out);
                    }
                }
                Timer::Announce { call } => {
                    if self
                        .calls
                        .get(&call)
                        .is_some_and(|c| c.next_announce == Some(at))
                    {
                        self.announce(now, call, out);
                    }
                }
            }
        }
    }

    /// Checks the router's internal bookkeeping; used by tests and debug builds.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut bound: HashMap<InteractionId, Vec<usize>> = HashMap::new();
        for (i, e) in self.agents.iter().enumerate() {
            if let Some(call) = e.agent.state().call()
                && !matches!(e.agent.state(), AgentState::AfterCallWork { .. })
            {
                bound.entry(call).or_default().push(i);
            }
        }
        let mut waiting_seen = std::collections::HashSet::new();
        for (qi, q) in self.queues.iter().enumerate() {
            for (level, fifo) in q.waiting.iter().enumerate() {
                for call in fifo {
                    let c = self
                        .calls
                        .get(call)
                        .ok_or(format!("queued call {call} unknown"))?;
                    if c.state != CallState::Waiting
                        || c.queue != qi
                        || usize::from(c.priority) != level
                    {
                        return Err(format!(
                            "call {call} misfiled in queue {qi} level {level}: {:?}",
                            c.state
                        ));
                    }
                    if !waiting_seen.insert(*call) {
                        return Err(format!("call {call} is queued twice"));
                    }
                }
            }
        }
        for (id, c) in &self.calls {
            let agents = bound.remove(id).unwrap_or_default();
            match c.state {
                CallState::Waiting => {
                    if !waiting_seen.contains(id) || !agents.is_empty() || !c.offers.is_empty() {
                        return Err(format!("waiting call {id} not queued or bound to agents"));
                    }
                }
                CallState::Ringing => {
                    let mut offered: Vec<usize> = c.offers.iter().map(|(a, _)| *a).collect();
                    offered.sort_unstable();
                    let mut agents = agents.clone();
                    agents.sort_unstable();
                    if offered.is_empty() || offered != agents {
                        return Err(format!(
                            "ringing call {id}: offers {offered:?} vs reserved agents {agents:?}"
                        ));
                    }
                    if self.queues[c.queue].cfg.strategy != QueueStrategy::RingAll
                        && offered.len() > 1
                    {
                        return Err(format!(
                            "call {id} rings {} agents without ring-all",
                            offered.len()
                        ));
                    }
                }
                CallState::Connected { agent, .. } => {
                    if agents != vec![agent] {
                        return Err(format!(
                            "connected call {id} bound to {agents:?}, expected [{agent}]"
                        ));
                    }
                }
            }
        }
        if let Some((call, agents)) = bound.into_iter().next() {
            return Err(format!("agents {agents:?} bound to unknown call {call}"));
        }
        Ok(())
    }

    /// Calls the router still holds (waiting, ringing or connected).
    pub fn calls_in_progress(&self) -> usize {
        self.calls.len()
    }

    /// Not-ready reason an agent asked for during a call, if any.
    pub fn pending_not_ready(&self, agent: UserId) -> Option<NotReadyReason> {
        self.agent(agent).and_then(Agent::pending_not_ready)
    }
}

fn event(at: Timestamp, detail: super::events::RouterEventDetail) -> Action {
    Action::Event(RouterEvent { at, detail })
}
