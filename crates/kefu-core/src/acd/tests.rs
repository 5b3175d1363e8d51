//! Router behaviour, one scenario per rule: strategies, ring-no-answer, priority and aging,
//! overflow steps, merge groups, abandon, ACW, announcements, statistics, refused inputs —
//! and property tests of the invariants over random input sequences.

use super::*;
use crate::agent::{AgentState, NotReadyReason, StateKind};
use crate::ids::{InteractionId, QueueId, SkillId, UserId};
use crate::org::{Proficiency, QueueStrategy};
use crate::time::Timestamp;
use uuid::Uuid;

fn agent(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(1_000 + n))
}
fn queue(n: u128) -> QueueId {
    QueueId::from_uuid(Uuid::from_u128(2_000 + n))
}
fn call(n: u128) -> InteractionId {
    InteractionId::from_uuid(Uuid::from_u128(3_000 + n))
}
fn skill(n: u128) -> SkillId {
    SkillId::from_uuid(Uuid::from_u128(4_000 + n))
}
fn p(level: i64) -> Proficiency {
    Proficiency::new(level).unwrap()
}

/// A queue requiring skill `n` at level ≥ 1.
fn q(n: u128) -> QueueConfig {
    let mut c = QueueConfig::new(queue(n), format!("q{n}"));
    c.skills = vec![SkillRequirement { skill: skill(n), min: p(1) }];
    c
}

struct H {
    r: Router,
    now: i64,
}

impl H {
    fn new(queues: Vec<QueueConfig>) -> H {
        Self::with(AcdSettings { announce_every_ms: 0, ..AcdSettings::default() }, queues)
    }
    fn with(settings: AcdSettings, queues: Vec<QueueConfig>) -> H {
        H { r: Router::new(settings, queues).unwrap(), now: 0 }
    }
    fn t(&self) -> Timestamp {
        Timestamp::from_millis(self.now)
    }
    fn at(&mut self, secs: f64) -> &mut Self {
        self.now = (secs * 1000.0) as i64;
        self
    }
    fn go(&mut self, input: Input) -> Vec<Action> {
        let out = self.r.handle(self.t(), input).unwrap();
        self.r.check_invariants().unwrap();
        out
    }
    fn tick_to(&mut self, secs: f64) -> Vec<Action> {
        self.at(secs);
        self.go(Input::Tick)
    }
    /// Logs an agent in with skills [(skill n, level)] and makes them ready.
    fn ready(&mut self, a: u128, skills: &[(u128, i64)]) -> Vec<Action> {
        let skills = skills.iter().map(|(s, l)| (skill(*s), p(*l))).collect();
        self.go(Input::AgentLogin { agent: agent(a), skills });
        self.go(Input::AgentReady { agent: agent(a) })
    }
    fn queue_call(&mut self, c: u128, qn: u128, prio: Priority) -> Vec<Action> {
        self.go(Input::CallQueued { call: call(c), queue: queue(qn), priority: prio, customer: None })
    }
    fn state(&self, a: u128) -> AgentState {
        self.r.agent(agent(a)).unwrap().state()
    }
}

fn offers(actions: &[Action]) -> Vec<(InteractionId, UserId)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Offer { call, agent, .. } => Some((*call, *agent)),
            _ => None,
        })
        .collect()
}

fn events(actions: &[Action]) -> Vec<&RouterEventDetail> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(&e.detail),
            _ => None,
        })
        .collect()
}

/// Three agents for queue 1, made ready at 1 s, 2 s, 3 s; agent 3 has answered a call before.
fn three_ready(strategy: QueueStrategy) -> H {
    let mut cfg = q(1);
    cfg.strategy = strategy;
    cfg.agent_order = vec![agent(2), agent(3), agent(1)];
    let mut h = H::new(vec![cfg]);
    h.at(0.0).ready(3, &[(1, 9)]);
    h.queue_call(99, 1, Priority::NORMAL);
    h.go(Input::CallAnswered { call: call(99), agent: agent(3) });
    h.go(Input::CallEnded { call: call(99) });
    h.go(Input::AgentReady { agent: agent(3) }); // ends ACW at t=0
    h.at(1.0).ready(1, &[(1, 5)]);
    h.at(2.0).ready(2, &[(1, 7)]);
    h.at(3.0).go(Input::AgentReady { agent: agent(3) });
    h
}

#[test]
fn strategies_pick_the_right_agent() {
    let cases = [
        (QueueStrategy::LongestIdle, 3),   // ready since 0 s (ACW ended at 0)
        (QueueStrategy::LeastCalls, 1),    // 0 calls, longest idle among 1 and 2
        (QueueStrategy::SkillWeighted, 3), // proficiency 9
        (QueueStrategy::TopDown, 2),       // first in the fixed order
        (QueueStrategy::RoundRobin, 1),    // last offered was agent 3 → next id after it wraps to 1
    ];
    for (strategy, want) in cases {
        let mut h = three_ready(strategy);
        let out = h.at(10.0).queue_call(1, 1, Priority::NORMAL);
        assert_eq!(offers(&out), vec![(call(1), agent(want))], "{strategy:?}");
    }
}

#[test]
fn ring_all_rings_everyone_and_the_first_answer_wins() {
    let mut h = three_ready(QueueStrategy::RingAll);
    let out = h.at(10.0).queue_call(1, 1, Priority::NORMAL);
    let mut rung: Vec<UserId> = offers(&out).into_iter().map(|(_, a)| a).collect();
    rung.sort();
    assert_eq!(rung, vec![agent(1), agent(2), agent(3)]);
    let out = h.at(12.0).go(Input::CallAnswered { call: call(1), agent: agent(2) });
    let cancelled: Vec<UserId> = out
        .iter()
        .filter_map(|a| match a {
            Action::CancelOffer { agent, .. } => Some(*agent),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled.len(), 2);
    assert_eq!(h.state(1), AgentState::Ready);
    assert_eq!(h.state(3), AgentState::Ready);
    assert!(matches!(h.state(2), AgentState::Talking { .. }));
    // a second agent answering now is refused
    let err = h.r.handle(h.t(), Input::CallAnswered { call: call(1), agent: agent(1) }).unwrap_err();
    assert_eq!(err, AcdError::NotOffered { call: call(1), agent: agent(1) });
}

#[test]
fn ring_no_answer_sets_not_ready_and_requeues_at_the_head() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    h.at(1.0).ready(2, &[(1, 5)]);
    // agent 2 busy on another call so the rung-out call must wait
    h.at(2.0).queue_call(1, 1, Priority::NORMAL); // → agent 1
    h.at(3.0).queue_call(2, 1, Priority::NORMAL); // → agent 2
    h.go(Input::CallAnswered { call: call(2), agent: agent(2) });
    h.at(4.0).queue_call(3, 1, Priority::NORMAL); // waits behind nobody
    let out = h.tick_to(17.0); // agent 1's ring timed out (15 s)
    assert_eq!(h.state(1), AgentState::NotReady { reason: NotReadyReason::NoAnswer });
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, RouterEventDetail::CallNoAnswer { ring_ms: 15_000, declined: false, .. }))
    );
    assert_eq!(h.r.position(call(1), h.t()), Some((queue(1), 1)), "back at the head, ahead of call 3");
    assert_eq!(h.r.position(call(3), h.t()), Some((queue(1), 2)));
    // the next free agent gets call 1 first
    h.at(20.0).go(Input::CallEnded { call: call(2) });
    let out = h.go(Input::AgentReady { agent: agent(2) });
    assert_eq!(offers(&out), vec![(call(1), agent(2))]);
}

#[test]
fn declining_counts_like_ringing_out_and_max_no_answer_logs_out() {
    let settings = AcdSettings { max_no_answer: 2, announce_every_ms: 0, ..AcdSettings::default() };
    let mut h = H::with(settings, vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    h.queue_call(1, 1, Priority::NORMAL);
    let out = h.at(1.0).go(Input::CallRejected { call: call(1), agent: agent(1) });
    assert!(events(&out).iter().any(|e| matches!(e, RouterEventDetail::CallNoAnswer { declined: true, .. })));
    assert_eq!(h.state(1), AgentState::NotReady { reason: NotReadyReason::NoAnswer });
    let out = h.at(2.0).go(Input::AgentReady { agent: agent(1) });
    assert_eq!(offers(&out), vec![(call(1), agent(1))], "the waiting call comes straight back");
    h.tick_to(17.5);
    assert_eq!(h.state(1), AgentState::LoggedOut, "second no-answer in a row logs the agent out");
}

#[test]
fn priority_serves_emergency_then_vip_and_aging_prevents_starvation() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    h.at(1.0).queue_call(2, 1, Priority::VIP);
    h.at(2.0).queue_call(3, 1, Priority::EMERGENCY);
    h.at(3.0).queue_call(4, 1, Priority::NORMAL);
    assert_eq!(h.r.position(call(3), h.t()).unwrap().1, 1);
    assert_eq!(h.r.position(call(2), h.t()).unwrap().1, 2);
    assert_eq!(h.r.position(call(1), h.t()).unwrap().1, 3);
    assert_eq!(h.r.position(call(4), h.t()).unwrap().1, 4);
    let out = h.at(4.0).ready(1, &[(1, 5)]);
    assert_eq!(offers(&out), vec![(call(3), agent(1))]);

    // aging: one level per 60 s. At 360 s: VIP call 2 (5 + 5 = 10) first, normal call 1
    // (0 + 6) next, normal call 4 (0 + 5) ties with a VIP call 5 arriving now (5 + 0) and
    // goes first by arrival; the low-priority callers have overtaken the fresh VIP.
    h.at(360.0).queue_call(5, 1, Priority::VIP);
    assert_eq!(h.r.position(call(2), h.t()).unwrap().1, 1);
    assert_eq!(h.r.position(call(1), h.t()).unwrap().1, 2);
    assert_eq!(h.r.position(call(4), h.t()).unwrap().1, 3);
    assert_eq!(h.r.position(call(5), h.t()).unwrap().1, 4, "the fresh VIP waits behind the aged normal calls");
}

#[test]
fn overflow_widen_keeps_position_and_lets_other_agents_take_it() {
    let mut a = q(1);
    a.overflow = vec![OverflowStep {
        after_secs: 30,
        when: OverflowWhen::Always,
        action: OverflowAction::Widen { queues: vec![queue(2)] },
    }];
    let mut h = H::new(vec![a, q(2)]);
    h.at(0.0).go(Input::AgentLogin { agent: agent(9), skills: vec![(skill(1), p(5))] }); // logged in, not ready
    h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    h.at(10.0).ready(2, &[(2, 5)]); // skill 2 only: not eligible yet
    assert_eq!(h.state(2), AgentState::Ready);
    let out = h.tick_to(30.0);
    assert!(events(&out).iter().any(|e| matches!(e, RouterEventDetail::CallOverflowed { step: 0, .. })));
    assert_eq!(offers(&out), vec![(call(1), agent(2))], "agent of the widened queue takes it");
}

#[test]
fn overflow_to_another_queue_and_out_of_the_router() {
    let mut a = q(1);
    a.overflow = vec![OverflowStep {
        after_secs: 20,
        when: OverflowWhen::Always,
        action: OverflowAction::Queue { queue: queue(2) },
    }];
    let mut b = q(2);
    b.overflow = vec![OverflowStep { after_secs: 40, when: OverflowWhen::Always, action: OverflowAction::Voicemail }];
    let mut h = H::new(vec![a, b]);
    h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    let out = h.tick_to(20.0);
    let ev = events(&out);
    assert!(ev.iter().any(|e| matches!(e, RouterEventDetail::CallQueued { queue: q, overflowed_from: Some(f), .. } if *q == queue(2) && *f == queue(1))));
    assert_eq!(h.r.position(call(1), h.t()), Some((queue(2), 1)));
    let out = h.tick_to(59.0);
    assert!(offers(&out).is_empty() && h.r.calls_in_progress() == 1, "queue 2's timer counts from entering queue 2");
    let out = h.tick_to(60.0);
    assert!(out.iter().any(|a| matches!(a, Action::Overflow { action: OverflowAction::Voicemail, .. })));
    assert_eq!(h.r.calls_in_progress(), 0, "voicemail takes the call out of the router");
    let s1 = h.r.stats(queue(1), h.t()).unwrap();
    let s2 = h.r.stats(queue(2), h.t()).unwrap();
    assert_eq!((s1.offered, s1.overflowed, s2.offered, s2.overflowed), (1, 1, 1, 1));
}

#[test]
fn every_leaving_action_takes_the_call_out_with_its_target() {
    let leaving = [
        OverflowAction::Ivr { node: "main_menu".into() },
        OverflowAction::External { number: "4008001234".into() },
        OverflowAction::Voicemail,
        OverflowAction::Callback,
    ];
    for action in leaving {
        let mut a = q(1);
        a.overflow = vec![OverflowStep { after_secs: 45, when: OverflowWhen::Always, action: action.clone() }];
        let mut h = H::new(vec![a]);
        h.at(0.0).queue_call(1, 1, Priority::NORMAL);
        assert!(h.tick_to(44.9).is_empty(), "{action:?} not yet due");
        let out = h.tick_to(45.0);
        assert!(
            out.contains(&Action::Overflow { call: call(1), queue: queue(1), step: 0, action: action.clone() }),
            "{action:?}: {out:?}"
        );
        assert!(events(&out).iter().any(
            |e| matches!(e, RouterEventDetail::CallOverflowed { action: a, wait_ms: 45_000, .. } if *a == action)
        ));
        assert_eq!(h.r.calls_in_progress(), 0, "{action:?} leaves the router");
        assert_eq!(h.r.next_deadline(), None, "no timer left behind");
        assert_eq!(h.r.handle(h.t(), Input::CallAbandoned { call: call(1) }), Err(AcdError::UnknownCall(call(1))));
    }
}

#[test]
fn conditional_overflow_on_queue_length_and_staffing() {
    let mut a = q(1);
    a.overflow = vec![
        OverflowStep { after_secs: 0, when: OverflowWhen::NoAgentsLoggedIn, action: OverflowAction::Voicemail },
        OverflowStep {
            after_secs: 0,
            when: OverflowWhen::QueueLongerThan { max: 2 },
            action: OverflowAction::Callback,
        },
        OverflowStep {
            after_secs: 0,
            when: OverflowWhen::AllAgentsNotReady,
            action: OverflowAction::External { number: "95555".into() },
        },
    ];
    let mut h = H::new(vec![a]);
    let out = h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    assert!(out.iter().any(|a| matches!(a, Action::Overflow { step: 0, .. })), "nobody logged in → voicemail at once");
    // an agent logs in (not ready) → all logged-in agents are not ready → external number
    h.go(Input::AgentLogin { agent: agent(1), skills: vec![(skill(1), p(3))] });
    let out = h.at(1.0).queue_call(2, 1, Priority::NORMAL);
    assert!(out.iter().any(|a| matches!(a, Action::Overflow { step: 2, .. })));
    // agent ready but busy: calls wait; the third waiting call makes the queue longer than 2
    h.go(Input::AgentReady { agent: agent(1) });
    h.queue_call(3, 1, Priority::NORMAL); // offered to agent 1
    h.queue_call(4, 1, Priority::NORMAL);
    h.queue_call(5, 1, Priority::NORMAL);
    let out = h.queue_call(6, 1, Priority::NORMAL);
    assert!(out.iter().any(|a| matches!(a, Action::Overflow { call: c, step: 1, .. } if *c == call(6))), "{out:?}");
    assert_eq!(h.r.stats(queue(1), h.t()).unwrap().waiting, 2);
}

#[test]
fn merge_groups_share_agents_oldest_first_and_split_again() {
    let mut h = H::new(vec![q(1), q(2)]);
    h.at(0.0).queue_call(1, 2, Priority::NORMAL);
    h.at(1.0).queue_call(2, 1, Priority::NORMAL);
    h.at(2.0).queue_call(3, 2, Priority::NORMAL);
    h.at(3.0).go(Input::AgentLogin { agent: agent(1), skills: vec![(skill(1), p(5))] });
    let out = h.go(Input::AgentReady { agent: agent(1) });
    assert_eq!(offers(&out), vec![(call(2), agent(1))], "only its own queue before merging");
    h.go(Input::CallAnswered { call: call(2), agent: agent(1) });
    h.go(Input::CallEnded { call: call(2) });
    let out = h.at(5.0).go(Input::MergeQueues { queues: vec![queue(1), queue(2)] });
    assert!(events(&out).iter().any(|e| matches!(e, RouterEventDetail::QueuesMerged { queues } if queues.len() == 2)));
    let out = h.go(Input::AgentReady { agent: agent(1) });
    assert_eq!(offers(&out), vec![(call(1), agent(1))], "merged: the oldest call of either queue");
    let err = h.r.handle(h.t(), Input::MergeQueues { queues: vec![queue(1), queue(2)] }).unwrap_err();
    assert!(matches!(err, AcdError::Merge(_)));
    let out = h.go(Input::SplitQueues { queue: queue(2) });
    assert!(events(&out).iter().any(|e| matches!(e, RouterEventDetail::QueuesSplit { .. })));
    h.go(Input::CallAnswered { call: call(1), agent: agent(1) });
    h.go(Input::CallEnded { call: call(1) });
    let out = h.go(Input::AgentReady { agent: agent(1) });
    assert!(offers(&out).is_empty(), "split: queue 2's call 3 is no longer theirs");
}

#[test]
fn abandon_while_waiting_or_ringing() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    h.queue_call(2, 1, Priority::NORMAL);
    let out = h.at(12.0).go(Input::CallAbandoned { call: call(2) });
    assert!(
        events(&out).iter().any(|e| matches!(e, RouterEventDetail::CallAbandoned { wait_ms: 12_000, position: 2, .. }))
    );
    h.at(13.0).ready(1, &[(1, 5)]); // call 1 rings
    let out = h.at(14.0).go(Input::CallAbandoned { call: call(1) });
    assert!(out.iter().any(|a| matches!(a, Action::CancelOffer { .. })));
    assert_eq!(h.state(1), AgentState::Ready, "the agent is free again, not penalised");
    let s = h.r.stats(queue(1), h.t()).unwrap();
    assert_eq!((s.abandoned, s.short_abandoned, s.waiting), (2, 0, 0));
    assert_eq!(h.r.handle(h.t(), Input::CallAbandoned { call: call(1) }), Err(AcdError::UnknownCall(call(1))));
}

#[test]
fn a_caller_who_chooses_voicemail_leaves_without_counting_as_abandoned() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    h.queue_call(2, 1, Priority::NORMAL);
    let out = h.at(40.0).go(Input::CallLeft { call: call(1), action: OverflowAction::Voicemail });
    assert!(events(&out).iter().any(|e| matches!(
        e,
        RouterEventDetail::CallLeftQueue { wait_ms: 40_000, position: 1, action: OverflowAction::Voicemail, .. }
    )));
    assert!(!events(&out).iter().any(|e| matches!(e, RouterEventDetail::CallAbandoned { .. })));
    let s = h.r.stats(queue(1), h.t()).unwrap();
    assert_eq!((s.abandoned, s.short_abandoned, s.left, s.waiting), (0, 0, 1, 1));
    assert_eq!(h.r.position(call(2), h.t()).map(|(_, p)| p), Some(1), "the next caller moves up");
    let again = h.r.handle(h.t(), Input::CallLeft { call: call(1), action: OverflowAction::Callback });
    assert_eq!(again, Err(AcdError::UnknownCall(call(1))));
}

#[test]
fn acw_returns_to_ready_by_itself_or_to_the_requested_not_ready() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    h.queue_call(1, 1, Priority::NORMAL);
    h.go(Input::CallAnswered { call: call(1), agent: agent(1) });
    h.at(10.0).go(Input::CallHold { agent: agent(1) });
    h.at(40.0).go(Input::CallUnhold { agent: agent(1) });
    let out = h.at(100.0).go(Input::CallEnded { call: call(1) });
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, RouterEventDetail::CallCompleted { talk_ms: 70_000, hold_ms: 30_000, .. }))
    );
    assert!(matches!(h.state(1), AgentState::AfterCallWork { .. }));
    assert_eq!(h.r.next_deadline(), Some(Timestamp::from_millis(120_000)));
    h.queue_call(2, 1, Priority::NORMAL);
    let out = h.tick_to(120.0);
    assert_eq!(h.state(1), AgentState::Reserved { call: call(2) }, "ready after ACW and straight to the waiting call");
    assert_eq!(offers(&out), vec![(call(2), agent(1))]);
    h.go(Input::CallAnswered { call: call(2), agent: agent(1) });
    h.go(Input::AgentNotReady { agent: agent(1), reason: NotReadyReason::Meal });
    assert_eq!(h.r.pending_not_ready(agent(1)), Some(NotReadyReason::Meal));
    h.at(150.0).go(Input::CallEnded { call: call(2) });
    h.tick_to(170.0);
    assert_eq!(h.state(1), AgentState::NotReady { reason: NotReadyReason::Meal });
}

#[test]
fn the_target_of_a_transfer_is_busy_until_its_outside_call_ends() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    h.at(1.0).ready(2, &[(1, 5)]);
    h.queue_call(1, 1, Priority::NORMAL);
    assert_eq!(h.state(1), AgentState::Reserved { call: call(1) }, "longest idle first");
    h.go(Input::CallAnswered { call: call(1), agent: agent(1) });
    // agent 1 transfers the caller to agent 2: 2's phone answers, then 1 leaves
    let out = h.at(30.0).go(Input::OutsideCallStarted { agent: agent(2), call: call(1) });
    assert_eq!(h.state(2), AgentState::Talking { call: call(1) });
    assert!(events(&out).iter().any(|e| matches!(e,
        RouterEventDetail::AgentStateChanged { to: StateKind::Talking, call: Some(c), .. } if *c == call(1))));
    assert!(
        !events(&out).iter().any(|e| matches!(e, RouterEventDetail::CallAnswered { .. })),
        "a transfer is not a second answer of the queue call"
    );
    h.go(Input::CallEnded { call: call(1) });
    assert!(matches!(h.state(1), AgentState::AfterCallWork { .. }));
    // a new caller is not offered to agent 2, who is still talking
    let out = h.queue_call(2, 1, Priority::NORMAL);
    assert!(offers(&out).is_empty(), "{out:?}");
    // 2's hold is theirs, not the ended queue call's
    h.at(40.0).go(Input::CallHold { agent: agent(2) });
    assert_eq!(h.state(2), AgentState::OnHold { call: call(1) });
    h.at(45.0).go(Input::CallUnhold { agent: agent(2) });
    let out = h.at(60.0).go(Input::OutsideCallEnded { agent: agent(2), call: call(1) });
    assert!(matches!(h.state(2), AgentState::AfterCallWork { .. }), "after-call work after any call");
    assert!(!events(&out).iter().any(|e| matches!(e, RouterEventDetail::CallCompleted { .. })));
    let out = h.go(Input::AgentReady { agent: agent(2) });
    assert_eq!(offers(&out), vec![(call(2), agent(2))]);
}

#[test]
fn an_outside_call_withdraws_a_ringing_offer_and_keeps_a_not_ready_reason() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    h.at(1.0).ready(2, &[(1, 5)]);
    h.queue_call(1, 1, Priority::NORMAL);
    assert_eq!(h.state(1), AgentState::Reserved { call: call(1) });
    // agent 1's phone picks up a colleague's consultation while the queue call rings at it
    let out = h.at(2.0).go(Input::OutsideCallStarted { agent: agent(1), call: call(50) });
    assert!(out.contains(&Action::CancelOffer { call: call(1), agent: agent(1) }), "{out:?}");
    assert_eq!(h.state(1), AgentState::Talking { call: call(50) });
    assert_eq!(offers(&out), vec![(call(1), agent(2))], "the queue call goes on to the next free agent");
    // a not-ready agent can take a colleague's call and is back on their break after it
    h.go(Input::CallAnswered { call: call(1), agent: agent(2) });
    h.go(Input::CallEnded { call: call(1) });
    h.go(Input::AgentNotReady { agent: agent(2), reason: NotReadyReason::Meal });
    h.go(Input::OutsideCallStarted { agent: agent(2), call: call(51) });
    assert_eq!(h.state(2), AgentState::Talking { call: call(51) });
    h.at(10.0).go(Input::OutsideCallEnded { agent: agent(2), call: call(51) });
    h.tick_to(60.0);
    assert_eq!(h.state(2), AgentState::NotReady { reason: NotReadyReason::Meal });
}

#[test]
fn notices_about_routed_calls_or_other_calls_change_nothing() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    h.queue_call(1, 1, Priority::NORMAL);
    // the phone's answer can reach the router before the IVR's: the offer stands
    assert!(h.go(Input::OutsideCallStarted { agent: agent(1), call: call(1) }).is_empty());
    assert_eq!(h.state(1), AgentState::Reserved { call: call(1) });
    h.go(Input::CallAnswered { call: call(1), agent: agent(1) });
    assert!(h.go(Input::OutsideCallStarted { agent: agent(1), call: call(1) }).is_empty());
    // the leg's end is not the end of the queue call: CallEnded is
    assert!(h.go(Input::OutsideCallEnded { agent: agent(1), call: call(1) }).is_empty());
    assert_eq!(h.state(1), AgentState::Talking { call: call(1) });
    // an agent on a call who also picks up a second line stays on the first
    assert!(h.go(Input::OutsideCallStarted { agent: agent(1), call: call(9) }).is_empty());
    h.go(Input::CallEnded { call: call(1) });
    // a late or repeated end changes nothing
    assert!(h.go(Input::OutsideCallEnded { agent: agent(1), call: call(1) }).is_empty());
    assert!(matches!(h.state(1), AgentState::AfterCallWork { .. }));
    assert!(matches!(
        h.r.handle(h.t(), Input::OutsideCallStarted { agent: agent(7), call: call(2) }),
        Err(AcdError::UnknownAgent(_))
    ));
}

#[test]
fn announcements_tell_position_and_estimated_wait() {
    let settings = AcdSettings { announce_every_ms: 30_000, default_aht_ms: 120_000, ..AcdSettings::default() };
    let mut h = H::with(settings, vec![q(1)]);
    // two staffed agents, both busy
    for (a, c) in [(1, 101), (2, 102)] {
        h.at(0.0).ready(a, &[(1, 5)]);
        h.queue_call(c, 1, Priority::NORMAL);
        h.go(Input::CallAnswered { call: call(c), agent: agent(a) });
    }
    let out = h.at(1.0).queue_call(1, 1, Priority::NORMAL);
    h.queue_call(2, 1, Priority::NORMAL);
    assert_eq!(
        out.iter().find(|a| matches!(a, Action::Announce { .. })),
        Some(&Action::Announce { call: call(1), position: 1, ewt_secs: 60 })
    );
    assert_eq!(h.r.ewt_secs(queue(1), 2), Some(120), "EWT = position × AHT ÷ staffed agents");
    let out = h.tick_to(31.0);
    let announced: Vec<_> = out.iter().filter(|a| matches!(a, Action::Announce { .. })).collect();
    assert_eq!(announced.len(), 2, "each waiting caller again after 30 s");
}

#[test]
fn statistics_follow_the_kpi_definitions() {
    let mut cfg = q(1);
    cfg.sl_threshold_ms = 20_000;
    let mut h = H::new(vec![cfg]);
    h.at(0.0).queue_call(1, 1, Priority::NORMAL);
    h.queue_call(2, 1, Priority::NORMAL);
    h.queue_call(3, 1, Priority::NORMAL);
    h.queue_call(4, 1, Priority::NORMAL);
    h.at(2.0).go(Input::CallAbandoned { call: call(4) }); // short abandon
    h.at(30.0).go(Input::CallAbandoned { call: call(3) }); // abandoned after SL
    h.at(10.0).ready(1, &[(1, 5)]);
    h.go(Input::CallAnswered { call: call(1), agent: agent(1) }); // waited 10 s
    h.at(10.0).ready(2, &[(1, 5)]);
    h.at(40.0);
    h.go(Input::CallAnswered { call: call(2), agent: agent(2) }); // waited 40 s
    let s = h.r.stats(queue(1), h.t()).unwrap();
    assert_eq!((s.offered, s.answered, s.abandoned, s.short_abandoned), (4, 2, 1, 1));
    assert_eq!(s.service_level, Some(1.0 / 3.0), "1 in SL ÷ (2 answered + 1 abandoned after T)");
    assert_eq!(s.abandon_rate, Some(1.0 / 3.0));
    assert_eq!(s.asa_secs, Some(25.0));
    assert_eq!(s.agents_in(StateKind::Talking), 2);
}

#[test]
fn refused_inputs_change_nothing() {
    let mut h = H::new(vec![q(1)]);
    h.at(0.0).ready(1, &[(1, 5)]);
    assert_eq!(h.r.handle(h.t(), Input::AgentReady { agent: agent(7) }), Err(AcdError::UnknownAgent(agent(7))));
    assert_eq!(
        h.r.handle(
            h.t(),
            Input::CallQueued { call: call(1), queue: queue(9), priority: Priority::NORMAL, customer: None }
        ),
        Err(AcdError::UnknownQueue(queue(9)))
    );
    h.queue_call(1, 1, Priority::NORMAL);
    assert_eq!(
        h.r.handle(
            h.t(),
            Input::CallQueued { call: call(1), queue: queue(1), priority: Priority::NORMAL, customer: None }
        ),
        Err(AcdError::DuplicateCall(call(1)))
    );
    let err = h.r.handle(h.t(), Input::CallEnded { call: call(1) }).unwrap_err();
    assert!(matches!(err, AcdError::CallState { state: "ringing", .. }), "{err}");
    let err = h.r.handle(h.t(), Input::CallHold { agent: agent(1) }).unwrap_err();
    assert!(matches!(err, AcdError::Transition { .. }), "cannot hold a ringing call");
    let err = h.r.handle(h.t(), Input::AgentLogout { agent: agent(1), forced: false }).unwrap_err();
    assert!(matches!(err, AcdError::Transition { .. }));
    assert_eq!(h.state(1), AgentState::Reserved { call: call(1) });
    h.r.check_invariants().unwrap();
    // a forced logout while ringing puts the call back at the head
    let out = h.go(Input::AgentLogout { agent: agent(1), forced: true });
    assert!(out.iter().any(|a| matches!(a, Action::CancelOffer { .. })));
    assert_eq!(h.r.position(call(1), h.t()), Some((queue(1), 1)));
}

#[test]
fn every_decision_becomes_an_event_log_record() {
    let mut h = H::new(vec![q(1)]);
    let mut all = h.at(0.0).ready(1, &[(1, 5)]);
    all.extend(h.queue_call(1, 1, Priority::VIP));
    all.extend(h.at(3.0).go(Input::CallAnswered { call: call(1), agent: agent(1) }));
    all.extend(h.at(60.0).go(Input::CallEnded { call: call(1) }));
    let kinds: Vec<&str> = all
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e.kind().as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "agent.state_changed", // not ready → ready
            "call.queued",
            "agent.state_changed", // → reserved
            "call.offered",
            "agent.state_changed", // → talking
            "call.answered",
            "agent.state_changed", // → ACW
            "call.completed",
        ]
    );
    for a in &all {
        if let Action::Event(e) = a {
            let rec = e.to_event(crate::ids::EventId::from_uuid(Uuid::from_u128(1)));
            assert_eq!(RouterEvent::from_event(&rec).as_ref(), Some(e), "round trip through the log record");
            if let RouterEventDetail::CallAnswered { .. } = e.detail {
                assert_eq!(rec.agent, Some(agent(1)));
                assert_eq!(rec.queue, Some(queue(1)));
                assert_eq!(rec.interaction, Some(call(1)));
                assert_eq!(rec.data["wait_ms"], 3_000);
            }
        }
    }
}

mod properties {
    //! Random input sequences against the router; after every step the bookkeeping must be
    //! consistent, and at the end every call must have ended exactly once.
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Clone, Debug)]
    enum Step {
        Login(u8),
        Ready(u8),
        NotReady(u8),
        Logout(u8, bool),
        Queue(u8, u8),
        Abandon(u8),
        AnswerSomeOffer(u8),
        Reject(u8),
        End(u8),
        Hold(u8),
        Outside(u8, u8),
        OutsideEnd(u8),
        Advance(u16),
        Merge,
        Split,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..6).prop_map(Step::Login),
            (0u8..6).prop_map(Step::Ready),
            (0u8..6).prop_map(Step::NotReady),
            ((0u8..6), any::<bool>()).prop_map(|(a, f)| Step::Logout(a, f)),
            ((0u8..3), (0u8..10)).prop_map(|(q, p)| Step::Queue(q, p)),
            (0u8..40).prop_map(Step::Abandon),
            (0u8..6).prop_map(Step::AnswerSomeOffer),
            (0u8..6).prop_map(Step::Reject),
            (0u8..40).prop_map(Step::End),
            (0u8..6).prop_map(Step::Hold),
            ((0u8..6), (0u8..40)).prop_map(|(a, c)| Step::Outside(a, c)),
            (0u8..6).prop_map(Step::OutsideEnd),
            (0u16..40_000).prop_map(Step::Advance),
            Just(Step::Merge),
            Just(Step::Split),
        ]
    }

    fn center(strategy: QueueStrategy) -> Vec<QueueConfig> {
        let mut qs: Vec<QueueConfig> = (0..3)
            .map(|n| {
                let mut c = q(n);
                c.strategy = strategy;
                c
            })
            .collect();
        qs[0].overflow = vec![OverflowStep {
            after_secs: 20,
            when: OverflowWhen::Always,
            action: OverflowAction::Widen { queues: vec![queue(1)] },
        }];
        qs[1].overflow = vec![OverflowStep {
            after_secs: 40,
            when: OverflowWhen::Always,
            action: OverflowAction::Queue { queue: queue(2) },
        }];
        qs[2].overflow =
            vec![OverflowStep { after_secs: 90, when: OverflowWhen::Always, action: OverflowAction::Voicemail }];
        qs
    }

    /// Outcome per call: answered, abandoned, or left by overflow.
    #[derive(Default)]
    struct Ledger {
        queued: HashMap<InteractionId, u32>,
        ended: HashMap<InteractionId, u32>,
        answered_by: HashMap<InteractionId, UserId>,
    }

    impl Ledger {
        fn observe(&mut self, actions: &[Action]) -> Result<(), TestCaseError> {
            for a in actions {
                let Action::Event(e) = a else { continue };
                match &e.detail {
                    RouterEventDetail::CallQueued { call, overflowed_from: None, .. } => {
                        *self.queued.entry(*call).or_default() += 1;
                    }
                    RouterEventDetail::CallAnswered { call, agent, .. } => {
                        prop_assert!(self.answered_by.insert(*call, *agent).is_none(), "call {call} answered twice");
                        *self.ended.entry(*call).or_default() += 1;
                    }
                    RouterEventDetail::CallAbandoned { call, .. } => *self.ended.entry(*call).or_default() += 1,
                    RouterEventDetail::CallOverflowed { call, action, .. } if action.leaves_router() => {
                        *self.ended.entry(*call).or_default() += 1;
                    }
                    _ => {}
                }
            }
            Ok(())
        }
    }

    fn run(strategy: QueueStrategy, steps: Vec<Step>) -> Result<(), TestCaseError> {
        let settings = AcdSettings { max_no_answer: 2, ..AcdSettings::default() };
        let mut r = Router::new(settings, center(strategy)).unwrap();
        let mut now = 0i64;
        let mut next_call = 0u128;
        let mut ledger = Ledger::default();
        let skills_of = |a: u8| vec![(skill(u128::from(a % 3)), p(5)), (skill(u128::from((a + 1) % 3)), p(2))];
        let apply = |r: &mut Router, now: i64, input: Input, ledger: &mut Ledger| -> Result<(), TestCaseError> {
            // refused inputs are fine (random steps are often invalid); they must change nothing
            if let Ok(out) = r.handle(Timestamp::from_millis(now), input) {
                ledger.observe(&out)?;
            }
            r.check_invariants().map_err(TestCaseError::fail)?;
            Ok(())
        };
        for s in steps {
            let input = match s {
                Step::Login(a) => Input::AgentLogin { agent: agent(u128::from(a)), skills: skills_of(a) },
                Step::Ready(a) => Input::AgentReady { agent: agent(u128::from(a)) },
                Step::NotReady(a) => {
                    Input::AgentNotReady { agent: agent(u128::from(a)), reason: NotReadyReason::Break }
                }
                Step::Logout(a, forced) => Input::AgentLogout { agent: agent(u128::from(a)), forced },
                Step::Queue(qn, prio) => {
                    next_call += 1;
                    Input::CallQueued {
                        call: call(next_call),
                        queue: queue(u128::from(qn)),
                        priority: Priority(prio),
                        customer: None,
                    }
                }
                Step::Abandon(c) => Input::CallAbandoned { call: call(u128::from(c)) },
                Step::AnswerSomeOffer(a) | Step::Reject(a) => {
                    let id = agent(u128::from(a));
                    match r.agent(id).map(|x| x.state()) {
                        Some(AgentState::Reserved { call }) if matches!(s, Step::Reject(_)) => {
                            Input::CallRejected { call, agent: id }
                        }
                        Some(AgentState::Reserved { call }) => Input::CallAnswered { call, agent: id },
                        _ => Input::Tick,
                    }
                }
                Step::End(c) => Input::CallEnded { call: call(u128::from(c)) },
                Step::Hold(a) => Input::CallHold { agent: agent(u128::from(a)) },
                // a transfer of a routed call (or of a call the router never saw) to agent a
                Step::Outside(a, c) => {
                    Input::OutsideCallStarted { agent: agent(u128::from(a)), call: call(u128::from(c)) }
                }
                Step::OutsideEnd(a) => match r.agent(agent(u128::from(a))).map(|x| x.state()) {
                    Some(AgentState::Talking { call } | AgentState::OnHold { call }) => {
                        Input::OutsideCallEnded { agent: agent(u128::from(a)), call }
                    }
                    _ => Input::Tick,
                },
                Step::Advance(ms) => {
                    now += i64::from(ms);
                    Input::Tick
                }
                Step::Merge => Input::MergeQueues { queues: vec![queue(0), queue(2)] },
                Step::Split => Input::SplitQueues { queue: queue(0) },
            };
            apply(&mut r, now, input, &mut ledger)?;
        }
        // drain: every waiting call either gets answered, overflows, or is abandoned
        for a in 0..6u8 {
            let id = agent(u128::from(a));
            if r.agent(id).is_none() {
                apply(&mut r, now, Input::AgentLogin { agent: id, skills: skills_of(a) }, &mut ledger)?;
            }
        }
        for _ in 0..200 {
            for a in 0..6u8 {
                let id = agent(u128::from(a));
                match r.agent(id).map(|x| x.state()) {
                    Some(AgentState::Reserved { call }) => {
                        apply(&mut r, now, Input::CallAnswered { call, agent: id }, &mut ledger)?
                    }
                    Some(AgentState::Talking { call } | AgentState::OnHold { call }) => {
                        // whichever applies: a routed call ends, or the agent's outside call
                        apply(&mut r, now, Input::CallEnded { call }, &mut ledger)?;
                        apply(&mut r, now, Input::OutsideCallEnded { agent: id, call }, &mut ledger)?
                    }
                    Some(AgentState::LoggedOut) => {
                        apply(&mut r, now, Input::AgentLogin { agent: id, skills: skills_of(a) }, &mut ledger)?;
                        apply(&mut r, now, Input::AgentReady { agent: id }, &mut ledger)?;
                    }
                    Some(AgentState::NotReady { .. }) => {
                        apply(&mut r, now, Input::AgentReady { agent: id }, &mut ledger)?
                    }
                    _ => {}
                }
            }
            // shorter than the ring timeout, so offers are answered rather than ringing out
            now += 10_000;
            apply(&mut r, now, Input::Tick, &mut ledger)?;
            if r.calls_in_progress() == 0 {
                break;
            }
        }
        prop_assert_eq!(r.calls_in_progress(), 0, "calls left in the router after draining");
        for (c, n) in &ledger.queued {
            prop_assert_eq!(*n, 1, "call {} queued {} times", c, n);
            prop_assert_eq!(ledger.ended.get(c).copied().unwrap_or(0), 1, "call {} must end exactly once", c);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn invariants_hold_longest_idle(steps in proptest::collection::vec(step(), 1..120)) {
            run(QueueStrategy::LongestIdle, steps)?;
        }

        #[test]
        fn invariants_hold_ring_all(steps in proptest::collection::vec(step(), 1..120)) {
            run(QueueStrategy::RingAll, steps)?;
        }

        #[test]
        fn invariants_hold_round_robin(steps in proptest::collection::vec(step(), 1..120)) {
            run(QueueStrategy::RoundRobin, steps)?;
        }

        #[test]
        fn invariants_hold_skill_weighted(steps in proptest::collection::vec(step(), 1..120)) {
            run(QueueStrategy::SkillWeighted, steps)?;
        }
    }
}
