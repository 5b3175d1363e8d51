//! The discrete-event loop: a binary heap of the simulation's own events (arrivals, answers,
//! hang-ups, patience expiries, shift changes) ordered by (time, sequence number), merged
//! with the router's timers (`Router::next_deadline`, fired with `Input::Tick`). Every
//! router event feeds the KPI accumulator.
//!
//! The end of the day: calls arrive in `[0, hours)`; agents stop taking calls at the end of
//! their shift (not ready, then logged out once their call and after-call work are done).
//! The simulation ends when its own event heap is empty — every scheduled arrival, answer,
//! hang-up, patience expiry and shift change has happened; router timers are fired only up to
//! then. Calls still queued at that point (no agent left on shift and a caller who never
//! hangs up) are reported as `waiting_at_end`, so offered = answered + abandoned +
//! overflowed + waiting_at_end.

use crate::dist::{Arrivals, HandleSampler, patience_ms};
use crate::ids;
use crate::scenario::Center;
use kefu_core::acd::{AcdError, Action, ConfigError, Input, Router, RouterEventDetail};
use kefu_core::agent::{AgentState, NotReadyReason};
use kefu_core::kpi::{KpiAccumulator, KpiConfig, KpiReport};
use kefu_core::{QueueId, Timestamp};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How a run is driven and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// Seed of every random draw: the same seed gives the same run.
    pub seed: u64,
    /// Length of the report's intervals in ms.
    pub interval_ms: i64,
    /// Service-level threshold in ms (also set on every queue for the router's statistics).
    pub sl_threshold_ms: i64,
}

impl Default for SimOptions {
    /// Seed 1, 30-minute intervals, 20-second service level.
    fn default() -> Self {
        SimOptions { seed: 1, interval_ms: 30 * 60_000, sl_threshold_ms: 20_000 }
    }
}

/// What went wrong in a run. A refused input is a bug in the simulator or the router, so it
/// stops the run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The router refused its configuration.
    #[error("the router refused the configuration: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Config(Vec<ConfigError>),
    /// The router refused an input.
    #[error("at {at_ms} ms the router refused {input}: {error}")]
    Router {
        /// Simulated time.
        at_ms: i64,
        /// The input, as debug text.
        input: String,
        /// The router's error.
        error: AcdError,
    },
    /// The router named an agent or call the simulation never created.
    #[error("at {at_ms} ms the router returned an unknown {what}: {id}")]
    UnknownId {
        /// Simulated time.
        at_ms: i64,
        /// `agent` or `call`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// The router keeps asking for a tick at the same time without its deadline moving.
    #[error("the router's next deadline stays at {at_ms} ms after {ticks} ticks")]
    Stuck {
        /// Simulated time.
        at_ms: i64,
        /// Ticks sent at that time.
        ticks: u32,
    },
}

/// The simulation's own count of what happened, kept apart from the KPI accumulator so the
/// two can be checked against each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Calls that arrived (entered their first queue).
    pub arrivals: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls whose caller hung up before an answer.
    pub abandoned: u64,
    /// Calls that left the router by an overflow rule (voicemail, callback, IVR, external).
    pub overflowed: u64,
    /// Answered calls that ended.
    pub completed: u64,
    /// Calls still in a queue when the simulation ended.
    pub waiting_at_end: u64,
    /// Inputs sent to the router (ticks included).
    pub inputs: u64,
    /// Events the router recorded.
    pub router_events: u64,
    /// Agents still logged in at the end.
    pub logged_in_at_end: u64,
}

/// How the router's announced wait estimates compared with the waits callers then had: for
/// every call announced on entering the queue and later answered, the first estimate and the
/// actual queue wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EwtCheck {
    /// Calls announced on entry and then answered.
    pub calls: u64,
    /// Σ estimated wait announced on entry, ms.
    pub predicted_ms: i64,
    /// Σ actual wait from entry to answer, ms.
    pub actual_ms: i64,
}

impl EwtCheck {
    /// Mean actual wait ÷ mean estimate; `None` before any announced call was answered.
    pub fn actual_over_predicted(&self) -> Option<f64> {
        (self.calls > 0 && self.predicted_ms > 0).then(|| self.actual_ms as f64 / self.predicted_ms as f64)
    }
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every KPI, per queue and interval.
    pub kpi: KpiReport,
    /// The simulation's own tally.
    pub tally: Tally,
    /// Announced wait estimates against actual waits.
    pub ewt: EwtCheck,
    /// Simulated time when the run ended, ms.
    pub end_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    ShiftStart(u32),
    ShiftEnd(u32),
    TryLogout(u32),
    Arrival(u32),
    Answer { call: u32, agent: u32 },
    End(u32),
    Patience(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Waiting,
    Answered,
    Abandoned,
    Left,
    Done,
}

#[derive(Clone, Copy, Debug)]
struct SimCall {
    status: Status,
    agent: u32,
    handle_ms: i64,
    arrived_ms: i64,
    /// The wait estimate announced when the call entered the queue, ms.
    announced_ewt_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, Default)]
struct SimAgent {
    ringing: Option<u32>,
    logout_pending: bool,
}

struct CallTypeRt {
    queue: QueueId,
    priority: kefu_core::acd::Priority,
    arrivals: Arrivals,
    handle: HandleSampler,
    patience: crate::scenario::Patience,
}

/// Most ticks at one instant before the run is declared stuck.
const MAX_TICKS_AT_ONCE: u32 = 10_000;

/// Runs one simulated day of `center`.
pub fn run(center: &Center, options: &SimOptions) -> Result<Outcome, SimError> {
    let mut queues = center.queues.clone();
    for q in &mut queues {
        q.sl_threshold_ms = options.sl_threshold_ms;
    }
    let router = Router::new(center.settings.clone(), queues).map_err(SimError::Config)?;
    let kpi = KpiAccumulator::new(KpiConfig {
        origin: Timestamp::from_millis(0),
        interval_ms: options.interval_ms.max(1),
        sl_threshold_ms: options.sl_threshold_ms,
        short_abandon_ms: center.settings.short_abandon_ms,
    });
    let stream = |n: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream(n);
        rng
    };
    let day = center.day_ms();
    let mut e = Engine {
        center,
        router,
        heap: BinaryHeap::new(),
        seq: 0,
        now: 0,
        calls: Vec::new(),
        agents: vec![SimAgent::default(); center.agents.len()],
        types: center
            .call_types
            .iter()
            .map(|ct| CallTypeRt {
                queue: ct.queue,
                priority: ct.priority,
                arrivals: Arrivals::new(&ct.calls_per_hour, day),
                handle: HandleSampler::new(ct.handle_time),
                patience: ct.patience,
            })
            .collect(),
        rng_arrivals: stream(1),
        rng_handle: stream(2),
        rng_patience: stream(3),
        kpi,
        tally: Tally::default(),
        ewt: EwtCheck::default(),
        actions: Vec::with_capacity(16),
    };
    e.start();
    e.run()?;
    Ok(e.finish())
}

struct Engine<'a> {
    center: &'a Center,
    router: Router,
    heap: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    seq: u64,
    now: i64,
    calls: Vec<SimCall>,
    agents: Vec<SimAgent>,
    types: Vec<CallTypeRt>,
    rng_arrivals: ChaCha8Rng,
    rng_handle: ChaCha8Rng,
    rng_patience: ChaCha8Rng,
    kpi: KpiAccumulator,
    tally: Tally,
    ewt: EwtCheck,
    actions: Vec<Action>,
}

impl Engine<'_> {
    fn push(&mut self, at: i64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, ev)));
    }

    fn start(&mut self) {
        for (i, a) in self.center.agents.iter().enumerate() {
            self.push(a.shift_start_ms, Ev::ShiftStart(i as u32));
            self.push(a.shift_end_ms, Ev::ShiftEnd(i as u32));
        }
        for c in 0..self.types.len() {
            if let Some(t) = self.types[c].arrivals.next(&mut self.rng_arrivals) {
                self.push(t, Ev::Arrival(c as u32));
            }
        }
    }

    fn run(&mut self) -> Result<(), SimError> {
        let mut ticks_at_now = 0u32;
        while let Some(&Reverse((next_at, _, _))) = self.heap.peek() {
            if let Some(deadline) = self.router.next_deadline().map(Timestamp::as_millis)
                && deadline <= next_at
            {
                let at = deadline.max(self.now);
                ticks_at_now = if at == self.now { ticks_at_now + 1 } else { 1 };
                if ticks_at_now > MAX_TICKS_AT_ONCE {
                    return Err(SimError::Stuck { at_ms: at, ticks: ticks_at_now });
                }
                self.now = at;
                self.send(Input::Tick)?;
                continue;
            }
            let Some(Reverse((at, _, ev))) = self.heap.pop() else { break };
            if at != self.now {
                ticks_at_now = 0;
            }
            self.now = at.max(self.now);
            self.handle(ev)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Outcome {
        self.tally.waiting_at_end = self.calls.iter().filter(|c| c.status == Status::Waiting).count() as u64;
        self.tally.logged_in_at_end = self
            .center
            .agents
            .iter()
            .filter(|a| self.router.agent(a.id).is_some_and(|x| x.state() != AgentState::LoggedOut))
            .count() as u64;
        Outcome { kpi: self.kpi.report(), tally: self.tally, ewt: self.ewt, end_ms: self.now }
    }

    fn handle(&mut self, ev: Ev) -> Result<(), SimError> {
        match ev {
            Ev::Arrival(c) => self.arrival(c as usize),
            Ev::Answer { call, agent } => {
                let (ci, a) = (call as usize, agent as usize);
                if self.agents[a].ringing != Some(call) || self.calls[ci].status != Status::Waiting {
                    return Ok(()); // the offer was withdrawn or the caller left meanwhile
                }
                self.agents[a].ringing = None;
                self.calls[ci].status = Status::Answered;
                self.calls[ci].agent = agent;
                self.tally.answered += 1;
                if let Some(predicted) = self.calls[ci].announced_ewt_ms {
                    self.ewt.calls += 1;
                    self.ewt.predicted_ms += predicted;
                    self.ewt.actual_ms += self.now - self.calls[ci].arrived_ms;
                }
                self.send(Input::CallAnswered { call: ids::call(ci), agent: self.center.agents[a].id })?;
                let end = self.now + self.calls[ci].handle_ms;
                self.push(end, Ev::End(call));
                Ok(())
            }
            Ev::End(call) => {
                let ci = call as usize;
                self.calls[ci].status = Status::Done;
                self.tally.completed += 1;
                self.send(Input::CallEnded { call: ids::call(ci) })?;
                let a = self.calls[ci].agent as usize;
                if self.agents[a].logout_pending {
                    self.try_logout(a)?;
                }
                Ok(())
            }
            Ev::Patience(call) => {
                let ci = call as usize;
                if self.calls[ci].status != Status::Waiting {
                    return Ok(());
                }
                self.calls[ci].status = Status::Abandoned;
                self.tally.abandoned += 1;
                self.send(Input::CallAbandoned { call: ids::call(ci) })
            }
            Ev::ShiftStart(a) => {
                let plan = &self.center.agents[a as usize];
                let (agent, skills) = (plan.id, plan.skills.clone());
                self.send(Input::AgentLogin { agent, skills })?;
                self.send(Input::AgentReady { agent })
            }
            Ev::ShiftEnd(a) => {
                let a = a as usize;
                let agent = self.center.agents[a].id;
                match self.state(a) {
                    None | Some(AgentState::LoggedOut | AgentState::Ready | AgentState::NotReady { .. }) => {}
                    Some(_) => self.send(Input::AgentNotReady { agent, reason: NotReadyReason::Other })?,
                }
                self.try_logout(a)
            }
            Ev::TryLogout(a) => self.try_logout(a as usize),
        }
    }

    fn state(&self, a: usize) -> Option<AgentState> {
        self.router.agent(self.center.agents[a].id).map(|x| x.state())
    }

    /// Logs the agent out if they are free; otherwise tries again when they will be.
    fn try_logout(&mut self, a: usize) -> Result<(), SimError> {
        match self.state(a) {
            None | Some(AgentState::LoggedOut) => {
                self.agents[a].logout_pending = false;
                Ok(())
            }
            Some(AgentState::Ready | AgentState::NotReady { .. }) => {
                self.agents[a].logout_pending = false;
                self.send(Input::AgentLogout { agent: self.center.agents[a].id, forced: false })
            }
            Some(AgentState::AfterCallWork { until, .. }) => {
                self.agents[a].logout_pending = true;
                self.push(until.as_millis().max(self.now), Ev::TryLogout(a as u32));
                Ok(())
            }
            // ringing or on a call: tried again when the call ends or the offer goes away
            Some(_) => {
                self.agents[a].logout_pending = true;
                Ok(())
            }
        }
    }

    fn arrival(&mut self, c: usize) -> Result<(), SimError> {
        let ci = self.calls.len();
        let handle_ms = self.types[c].handle.sample(&mut self.rng_handle);
        let patience = patience_ms(self.types[c].patience, &mut self.rng_patience);
        self.calls.push(SimCall {
            status: Status::Waiting,
            agent: u32::MAX,
            handle_ms,
            arrived_ms: self.now,
            announced_ewt_ms: None,
        });
        self.tally.arrivals += 1;
        if let Some(p) = patience {
            self.push(self.now + p, Ev::Patience(ci as u32));
        }
        if let Some(t) = self.types[c].arrivals.next(&mut self.rng_arrivals) {
            self.push(t.max(self.now), Ev::Arrival(c as u32));
        }
        let (queue, priority) = (self.types[c].queue, self.types[c].priority);
        self.send(Input::CallQueued { call: ids::call(ci), queue, priority, customer: None })
    }

    fn agent_index(&self, id: kefu_core::UserId) -> Result<usize, SimError> {
        ids::agent_index(id).filter(|&a| a < self.agents.len()).ok_or_else(|| SimError::UnknownId {
            at_ms: self.now,
            what: "agent",
            id: id.to_string(),
        })
    }

    fn call_index(&self, id: kefu_core::InteractionId) -> Result<usize, SimError> {
        ids::call_index(id).filter(|&c| c < self.calls.len()).ok_or_else(|| SimError::UnknownId {
            at_ms: self.now,
            what: "call",
            id: id.to_string(),
        })
    }

    /// Sends one input to the router and carries out the actions it returns.
    fn send(&mut self, input: Input) -> Result<(), SimError> {
        self.tally.inputs += 1;
        let mut actions = std::mem::take(&mut self.actions);
        actions.clear();
        let now = Timestamp::from_millis(self.now);
        // a copy for the error message (cheap: only logins carry a vector)
        let copy = input.clone();
        if let Err(error) = self.router.handle_into(now, input, &mut actions) {
            return Err(SimError::Router { at_ms: self.now, input: format!("{copy:?}"), error });
        }
        let result = self.apply(&mut actions);
        self.actions = actions;
        result
    }

    fn apply(&mut self, actions: &mut Vec<Action>) -> Result<(), SimError> {
        for action in actions.drain(..) {
            match action {
                Action::Offer { call, agent, .. } => {
                    let (ci, a) = (self.call_index(call)?, self.agent_index(agent)?);
                    self.agents[a].ringing = Some(ci as u32);
                    let at = self.now + self.center.ring_delay_ms;
                    self.push(at, Ev::Answer { call: ci as u32, agent: a as u32 });
                }
                Action::CancelOffer { call, agent } => {
                    let (ci, a) = (self.call_index(call)?, self.agent_index(agent)?);
                    self.offer_gone(ci, a);
                }
                Action::Overflow { call, action, .. } => {
                    if action.leaves_router() {
                        let ci = self.call_index(call)?;
                        if self.calls[ci].status == Status::Waiting {
                            self.calls[ci].status = Status::Left;
                            self.tally.overflowed += 1;
                        }
                    }
                }
                Action::Announce { call, ewt_secs, .. } => {
                    let ci = self.call_index(call)?;
                    let c = &mut self.calls[ci];
                    if c.announced_ewt_ms.is_none() && c.arrived_ms == self.now {
                        c.announced_ewt_ms = Some(i64::from(ewt_secs) * 1000);
                    }
                }
                Action::Event(event) => {
                    if let RouterEventDetail::CallNoAnswer { call, agent, .. } = &event.detail {
                        let (ci, a) = (self.call_index(*call)?, self.agent_index(*agent)?);
                        self.offer_gone(ci, a);
                    }
                    self.tally.router_events += 1;
                    self.kpi.observe(&event);
                }
            }
        }
        Ok(())
    }

    /// An offer ended without an answer by this agent.
    fn offer_gone(&mut self, ci: usize, a: usize) {
        if self.agents[a].ringing == Some(ci as u32) {
            self.agents[a].ringing = None;
        }
        if self.agents[a].logout_pending {
            // decided after the current input is done, at the same instant
            self.push(self.now, Ev::TryLogout(a as u32));
        }
    }
}
