//! The agent state machine: logged out, ready, not ready (with a reason), reserved (ringing),
//! talking, on hold, after-call work. Every transition is validated — an input that does not
//! apply to the current state is a typed error, never a silent change — and timed, so the
//! time spent in each state feeds occupancy, not-ready ratio and ACW.

use crate::ids::InteractionId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an agent is not ready.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotReadyReason {
    /// A short break.
    Break,
    /// A meal.
    Meal,
    /// A meeting.
    Meeting,
    /// Training or coaching.
    Training,
    /// Any other reason.
    Other,
    /// Set by the ACD: an offered call rang out unanswered.
    NoAnswer,
}

impl NotReadyReason {
    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NotReadyReason::Break => "break",
            NotReadyReason::Meal => "meal",
            NotReadyReason::Meeting => "meeting",
            NotReadyReason::Training => "training",
            NotReadyReason::Other => "other",
            NotReadyReason::NoAnswer => "no_answer",
        }
    }
}

/// Where an agent is. Call-bound states carry the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    /// Not signed in to the ACD.
    LoggedOut,
    /// Waiting for a call.
    Ready,
    /// Signed in but not taking calls.
    NotReady {
        /// Why.
        reason: NotReadyReason,
    },
    /// A call is ringing at the agent.
    Reserved {
        /// The call.
        call: InteractionId,
    },
    /// Talking with a caller.
    Talking {
        /// The call.
        call: InteractionId,
    },
    /// The caller is on hold.
    OnHold {
        /// The call.
        call: InteractionId,
    },
    /// Wrapping up after a call, until the limit (then ready, or not ready if asked).
    AfterCallWork {
        /// The call just finished.
        call: InteractionId,
        /// When ACW ends by itself.
        until: Timestamp,
    },
}

/// The state without its data, for counting and reporting.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// [`AgentState::LoggedOut`].
    LoggedOut,
    /// [`AgentState::Ready`].
    Ready,
    /// [`AgentState::NotReady`].
    NotReady,
    /// [`AgentState::Reserved`].
    Reserved,
    /// [`AgentState::Talking`].
    Talking,
    /// [`AgentState::OnHold`].
    OnHold,
    /// [`AgentState::AfterCallWork`].
    AfterCallWork,
}

impl StateKind {
    /// Every kind, in a fixed order (indexes [`StateDurations`]).
    pub const ALL: [StateKind; 7] = [
        StateKind::LoggedOut,
        StateKind::Ready,
        StateKind::NotReady,
        StateKind::Reserved,
        StateKind::Talking,
        StateKind::OnHold,
        StateKind::AfterCallWork,
    ];

    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            StateKind::LoggedOut => "logged_out",
            StateKind::Ready => "ready",
            StateKind::NotReady => "not_ready",
            StateKind::Reserved => "reserved",
            StateKind::Talking => "talking",
            StateKind::OnHold => "on_hold",
            StateKind::AfterCallWork => "after_call_work",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl AgentState {
    /// The kind of this state.
    pub const fn kind(&self) -> StateKind {
        match self {
            AgentState::LoggedOut => StateKind::LoggedOut,
            AgentState::Ready => StateKind::Ready,
            AgentState::NotReady { .. } => StateKind::NotReady,
            AgentState::Reserved { .. } => StateKind::Reserved,
            AgentState::Talking { .. } => StateKind::Talking,
            AgentState::OnHold { .. } => StateKind::OnHold,
            AgentState::AfterCallWork { .. } => StateKind::AfterCallWork,
        }
    }

    /// The call the agent is bound to, if any.
    pub const fn call(&self) -> Option<InteractionId> {
        match self {
            AgentState::Reserved { call }
            | AgentState::Talking { call }
            | AgentState::OnHold { call }
            | AgentState::AfterCallWork { call, .. } => Some(*call),
            _ => None,
        }
    }

    /// Logged in and not in not-ready: counts as staffed for the queue.
    pub const fn is_staffed(&self) -> bool {
        !matches!(self, AgentState::LoggedOut | AgentState::NotReady { .. })
    }
}

/// What can happen to an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentInput {
    /// Sign in (lands in not-ready: the agent chooses when to be ready).
    Login,
    /// Sign out; refused while bound to a call.
    Logout,
    /// Forced sign-out by a supervisor or the ACD, allowed from any state but a live call.
    ForceLogout,
    /// Ready for calls (also ends ACW early).
    SetReady,
    /// Not ready; during a call this is remembered and applied when ACW ends.
    SetNotReady(NotReadyReason),
    /// The ACD offers a call (agent must be ready).
    Offer(InteractionId),
    /// The offered call was answered.
    Answer,
    /// The offered call rang out or was declined.
    NoAnswer,
    /// The offer was withdrawn (the caller hung up, or another agent answered a ring-all).
    OfferCancelled,
    /// The agent took a call the ACD did not offer (a colleague's transfer, a call they
    /// dialled); from not-ready the reason is remembered for after the call.
    Direct(InteractionId),
    /// Put the caller on hold.
    Hold,
    /// Take the caller off hold.
    Unhold,
    /// The call ended (either side hung up).
    CallEnded,
    /// Time passed: ends ACW when its limit is reached.
    Tick,
}

/// An input that does not apply in the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("agent in state `{from}` cannot take `{input:?}`")]
pub struct InvalidTransition {
    /// The state the agent was in.
    pub from: StateKind,
    /// The refused input.
    pub input: AgentInput,
}

/// A change of state, with how long the previous state lasted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: AgentState,
    /// The state entered.
    pub to: AgentState,
    /// Milliseconds spent in `from`.
    pub duration_ms: i64,
}

/// Milliseconds spent in each state kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateDurations([i64; 7]);

impl StateDurations {
    /// Time spent in `kind`.
    pub fn get(&self, kind: StateKind) -> i64 {
        self.0[kind.index()]
    }

    fn add(&mut self, kind: StateKind, ms: i64) {
        self.0[kind.index()] += ms.max(0);
    }

    /// Logged-in time: everything but logged out.
    pub fn logged_in(&self) -> i64 {
        self.0.iter().sum::<i64>() - self.get(StateKind::LoggedOut)
    }
}

/// One agent's state, the time it was entered, and the counters routing needs.
#[derive(Clone, Debug)]
pub struct Agent {
    state: AgentState,
    since: Timestamp,
    /// When the agent last became ready (the start of their idle time).
    idle_since: Timestamp,
    /// Not-ready asked for during a call, applied when ACW ends.
    pending_not_ready: Option<NotReadyReason>,
    /// Calls answered since the counters were reset.
    calls_answered: u32,
    /// Offers that rang out in a row.
    consecutive_no_answers: u32,
    durations: StateDurations,
}

impl Agent {
    /// A logged-out agent, as of `now`.
    pub fn new(now: Timestamp) -> Self {
        Agent {
            state: AgentState::LoggedOut,
            since: now,
            idle_since: now,
            pending_not_ready: None,
            calls_answered: 0,
            consecutive_no_answers: 0,
            durations: StateDurations::default(),
        }
    }

    /// The current state.
    pub fn state(&self) -> AgentState {
        self.state
    }

    /// When the current state was entered.
    pub fn since(&self) -> Timestamp {
        self.since
    }

    /// When the agent last became ready.
    pub fn idle_since(&self) -> Timestamp {
        self.idle_since
    }

    /// Calls answered so far.
    pub fn calls_answered(&self) -> u32 {
        self.calls_answered
    }

    /// Offers that rang out in a row (reset by an answer).
    pub fn consecutive_no_answers(&self) -> u32 {
        self.consecutive_no_answers
    }

    /// Not-ready reason waiting for the end of the current call, if any.
    pub fn pending_not_ready(&self) -> Option<NotReadyReason> {
        self.pending_not_ready
    }

    /// Time in each state, counting the current one up to `now`.
    pub fn durations(&self, now: Timestamp) -> StateDurations {
        let mut d = self.durations;
        d.add(self.state.kind(), now.millis_since(self.since));
        d
    }

    /// Applies `input` at `now`. `acw_ms` is the after-call-work limit used when a call ends
    /// (0 goes straight back to ready). Returns the transition, or `None` when the input
    /// changed nothing (a `Tick` before ACW ends, not-ready remembered during a call).
    pub fn handle(
        &mut self,
        now: Timestamp,
        input: AgentInput,
        acw_ms: i64,
    ) -> Result<Option<Transition>, InvalidTransition> {
        use AgentInput as I;
        use AgentState as S;
        let invalid = InvalidTransition { from: self.state.kind(), input };
        let next = match (self.state, input) {
            (S::LoggedOut, I::Login) => S::NotReady { reason: NotReadyReason::Other },
            (S::Ready | S::NotReady { .. }, I::Logout) => S::LoggedOut,
            (S::Ready | S::NotReady { .. } | S::AfterCallWork { .. } | S::Reserved { .. }, I::ForceLogout) => {
                S::LoggedOut
            }
            (S::NotReady { .. }, I::SetReady) => S::Ready,
            (S::Ready, I::SetReady) => return Ok(None),
            (S::AfterCallWork { .. }, I::SetReady) => {
                self.pending_not_ready = None;
                S::Ready
            }
            (S::Ready | S::NotReady { .. } | S::AfterCallWork { .. }, I::SetNotReady(reason)) => {
                self.pending_not_ready = None;
                S::NotReady { reason }
            }
            (S::Reserved { .. } | S::Talking { .. } | S::OnHold { .. }, I::SetNotReady(reason)) => {
                self.pending_not_ready = Some(reason);
                return Ok(None);
            }
            (S::Ready, I::Offer(call)) => S::Reserved { call },
            (S::Reserved { call }, I::Answer) => {
                self.calls_answered += 1;
                self.consecutive_no_answers = 0;
                S::Talking { call }
            }
            (S::Reserved { .. }, I::NoAnswer) => {
                self.consecutive_no_answers += 1;
                S::NotReady { reason: NotReadyReason::NoAnswer }
            }
            (S::Reserved { .. }, I::OfferCancelled) => match self.pending_not_ready.take() {
                Some(reason) => S::NotReady { reason },
                None => S::Ready,
            },
            (S::Ready | S::AfterCallWork { .. }, I::Direct(call)) => S::Talking { call },
            (S::NotReady { reason }, I::Direct(call)) => {
                self.pending_not_ready = Some(reason);
                S::Talking { call }
            }
            (S::Talking { call }, I::Hold) => S::OnHold { call },
            (S::OnHold { call }, I::Unhold) => S::Talking { call },
            (S::Talking { call } | S::OnHold { call }, I::CallEnded) => {
                if acw_ms > 0 {
                    S::AfterCallWork { call, until: now.plus_millis(acw_ms) }
                } else {
                    self.after_acw()
                }
            }
            (S::AfterCallWork { until, .. }, I::Tick) if now >= until => self.after_acw(),
            (_, I::Tick) => return Ok(None),
            _ => return Err(invalid),
        };
        Ok(Some(self.enter(now, next)))
    }

    fn after_acw(&mut self) -> AgentState {
        match self.pending_not_ready.take() {
            Some(reason) => AgentState::NotReady { reason },
            None => AgentState::Ready,
        }
    }

    fn enter(&mut self, now: Timestamp, next: AgentState) -> Transition {
        let from = self.state;
        let duration_ms = now.millis_since(self.since).max(0);
        self.durations.add(from.kind(), duration_ms);
        if next == AgentState::Ready && from != AgentState::Ready {
            self.idle_since = now;
        }
        if next == AgentState::LoggedOut {
            self.pending_not_ready = None;
        }
        self.state = next;
        self.since = now;
        Transition { from, to: next, duration_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgentInput as I;
    use AgentState as S;

    const ACW: i64 = 20_000;

    fn call() -> InteractionId {
        InteractionId::from_uuid(uuid::Uuid::from_u128(7))
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    fn agent_in(state: AgentState) -> Agent {
        let mut a = Agent::new(t(0));
        a.state = state;
        a
    }

    #[test]
    fn a_whole_call_cycle_is_timed() {
        let mut a = Agent::new(t(0));
        a.handle(t(10), I::Login, ACW).unwrap();
        assert_eq!(a.state(), S::NotReady { reason: NotReadyReason::Other });
        a.handle(t(20), I::SetReady, ACW).unwrap();
        assert_eq!(a.idle_since(), t(20));
        a.handle(t(50), I::Offer(call()), ACW).unwrap();
        a.handle(t(55), I::Answer, ACW).unwrap();
        a.handle(t(100), I::Hold, ACW).unwrap();
        a.handle(t(130), I::Unhold, ACW).unwrap();
        let tr = a.handle(t(200), I::CallEnded, ACW).unwrap().unwrap();
        assert_eq!(tr.from, S::Talking { call: call() });
        assert_eq!(tr.duration_ms, 70_000);
        assert_eq!(a.state(), S::AfterCallWork { call: call(), until: t(220) });
        assert_eq!(a.handle(t(219), I::Tick, ACW).unwrap(), None, "ACW not over yet");
        a.handle(t(220), I::Tick, ACW).unwrap();
        assert_eq!(a.state(), S::Ready);
        assert_eq!(a.idle_since(), t(220));
        assert_eq!(a.calls_answered(), 1);
        let d = a.durations(t(230));
        assert_eq!(d.get(StateKind::LoggedOut), 10_000);
        assert_eq!(d.get(StateKind::NotReady), 10_000);
        assert_eq!(d.get(StateKind::Ready), 30_000 + 10_000);
        assert_eq!(d.get(StateKind::Reserved), 5_000);
        assert_eq!(d.get(StateKind::Talking), 45_000 + 70_000);
        assert_eq!(d.get(StateKind::OnHold), 30_000);
        assert_eq!(d.get(StateKind::AfterCallWork), 20_000);
        assert_eq!(d.logged_in(), 220_000);
    }

    #[test]
    fn not_ready_during_a_call_applies_after_acw() {
        let mut a = agent_in(S::Talking { call: call() });
        assert_eq!(a.handle(t(1), I::SetNotReady(NotReadyReason::Meal), ACW).unwrap(), None);
        assert_eq!(a.pending_not_ready(), Some(NotReadyReason::Meal));
        a.handle(t(2), I::CallEnded, ACW).unwrap();
        assert!(matches!(a.state(), S::AfterCallWork { .. }));
        a.handle(t(22), I::Tick, ACW).unwrap();
        assert_eq!(a.state(), S::NotReady { reason: NotReadyReason::Meal });
        assert_eq!(a.pending_not_ready(), None);
    }

    #[test]
    fn zero_acw_goes_straight_back() {
        let mut a = agent_in(S::OnHold { call: call() });
        a.handle(t(1), I::CallEnded, 0).unwrap();
        assert_eq!(a.state(), S::Ready);
        let mut b = agent_in(S::Talking { call: call() });
        b.handle(t(1), I::SetNotReady(NotReadyReason::Break), 0).unwrap();
        b.handle(t(2), I::CallEnded, 0).unwrap();
        assert_eq!(b.state(), S::NotReady { reason: NotReadyReason::Break });
    }

    #[test]
    fn acw_can_end_early_either_way() {
        let acw = S::AfterCallWork { call: call(), until: t(100) };
        let mut a = agent_in(acw);
        a.handle(t(5), I::SetReady, ACW).unwrap();
        assert_eq!(a.state(), S::Ready);
        let mut b = agent_in(acw);
        b.handle(t(5), I::SetNotReady(NotReadyReason::Training), ACW).unwrap();
        assert_eq!(b.state(), S::NotReady { reason: NotReadyReason::Training });
    }

    #[test]
    fn ring_no_answer_counts_and_answer_resets() {
        let mut a = agent_in(S::Ready);
        a.handle(t(1), I::Offer(call()), ACW).unwrap();
        a.handle(t(16), I::NoAnswer, ACW).unwrap();
        assert_eq!(a.state(), S::NotReady { reason: NotReadyReason::NoAnswer });
        assert_eq!(a.consecutive_no_answers(), 1);
        a.handle(t(17), I::SetReady, ACW).unwrap();
        a.handle(t(18), I::Offer(call()), ACW).unwrap();
        a.handle(t(19), I::Answer, ACW).unwrap();
        assert_eq!(a.consecutive_no_answers(), 0);
    }

    #[test]
    fn cancelled_offer_returns_to_ready_or_pending_not_ready() {
        let mut a = agent_in(S::Reserved { call: call() });
        a.handle(t(1), I::OfferCancelled, ACW).unwrap();
        assert_eq!(a.state(), S::Ready);
        let mut b = agent_in(S::Reserved { call: call() });
        b.handle(t(1), I::SetNotReady(NotReadyReason::Meeting), ACW).unwrap();
        b.handle(t(2), I::OfferCancelled, ACW).unwrap();
        assert_eq!(b.state(), S::NotReady { reason: NotReadyReason::Meeting });
    }

    #[test]
    fn logout_and_force_logout() {
        let mut a = agent_in(S::Ready);
        a.handle(t(1), I::Logout, ACW).unwrap();
        assert_eq!(a.state(), S::LoggedOut);
        for s in [S::Talking { call: call() }, S::OnHold { call: call() }] {
            let mut b = agent_in(s);
            assert!(b.handle(t(1), I::Logout, ACW).is_err());
            assert!(b.handle(t(1), I::ForceLogout, ACW).is_err(), "never drops a live call");
        }
        let mut c = agent_in(S::AfterCallWork { call: call(), until: t(9) });
        c.handle(t(1), I::ForceLogout, ACW).unwrap();
        assert_eq!(c.state(), S::LoggedOut);
    }

    /// Every (state, input) pair: the valid ones change state as the table says, every other
    /// one is an `InvalidTransition` and leaves the agent untouched.
    #[test]
    fn every_state_input_pair_is_either_valid_or_refused() {
        let states = [
            S::LoggedOut,
            S::Ready,
            S::NotReady { reason: NotReadyReason::Break },
            S::Reserved { call: call() },
            S::Talking { call: call() },
            S::OnHold { call: call() },
            S::AfterCallWork { call: call(), until: t(1000) },
        ];
        let inputs = [
            I::Login,
            I::Logout,
            I::ForceLogout,
            I::SetReady,
            I::SetNotReady(NotReadyReason::Break),
            I::Offer(call()),
            I::Answer,
            I::NoAnswer,
            I::OfferCancelled,
            I::Hold,
            I::Unhold,
            I::CallEnded,
            I::Tick,
        ];
        // (state kind, input index) pairs that are accepted
        let valid: &[(StateKind, usize)] = &[
            (StateKind::LoggedOut, 0),
            (StateKind::LoggedOut, 12),
            (StateKind::Ready, 1),
            (StateKind::Ready, 2),
            (StateKind::Ready, 3),
            (StateKind::Ready, 4),
            (StateKind::Ready, 5),
            (StateKind::Ready, 12),
            (StateKind::NotReady, 1),
            (StateKind::NotReady, 2),
            (StateKind::NotReady, 3),
            (StateKind::NotReady, 4),
            (StateKind::NotReady, 12),
            (StateKind::Reserved, 2),
            (StateKind::Reserved, 4),
            (StateKind::Reserved, 6),
            (StateKind::Reserved, 7),
            (StateKind::Reserved, 8),
            (StateKind::Reserved, 12),
            (StateKind::Talking, 4),
            (StateKind::Talking, 9),
            (StateKind::Talking, 11),
            (StateKind::Talking, 12),
            (StateKind::OnHold, 4),
            (StateKind::OnHold, 10),
            (StateKind::OnHold, 11),
            (StateKind::OnHold, 12),
            (StateKind::AfterCallWork, 2),
            (StateKind::AfterCallWork, 3),
            (StateKind::AfterCallWork, 4),
            (StateKind::AfterCallWork, 12),
        ];
        for s in states {
            for (i, input) in inputs.iter().enumerate() {
                let mut a = agent_in(s);
                let res = a.handle(t(5), *input, ACW);
                let ok = valid.contains(&(s.kind(), i));
                assert_eq!(res.is_ok(), ok, "{:?} + {input:?}", s.kind());
                if !ok {
                    assert_eq!(a.state(), s, "a refused input changes nothing");
                    assert_eq!(res.unwrap_err().from, s.kind());
                }
            }
        }
    }
}
