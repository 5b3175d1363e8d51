//! Routing decision cost in a large center: 2,000 agents, 100 queues, 30 skills, half the
//! agents busy on calls.
//!
//! - `call_arrives`: a call enters a random queue and is offered to the best free agent,
//!   then the caller hangs up so the agent is free again (two router inputs per iteration;
//!   the state is the same before every iteration).
//! - `agent_frees_up`: with 300 calls waiting across the queues and every agent busy, one
//!   agent becomes ready and takes the best call it may, then declines it (the call goes
//!   back to the head of its queue).
//!
//! `cargo bench -p kefu-core --bench routing`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_core::acd::{AcdSettings, Input, Priority, QueueConfig, Router, SkillRequirement};
use kefu_core::agent::AgentState;
use kefu_core::org::Proficiency;
use kefu_core::{InteractionId, QueueId, SkillId, Timestamp, UserId};
use std::hint::black_box;
use uuid::Uuid;

const AGENTS: u128 = 2_000;
const QUEUES: u128 = 100;
const SKILLS: u128 = 30;

/// A small deterministic generator (no dependency, same center every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn agent(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(1_000_000 + n))
}
fn queue(n: u128) -> QueueId {
    QueueId::from_uuid(Uuid::from_u128(2_000_000 + n))
}
fn skill(n: u128) -> SkillId {
    SkillId::from_uuid(Uuid::from_u128(3_000_000 + n))
}
fn call(n: u128) -> InteractionId {
    InteractionId::from_uuid(Uuid::from_u128(4_000_000 + n))
}

/// The center: queue q needs skill q % 30 (and every fourth queue also skill (q + 7) % 30);
/// each agent holds 6 skills at proficiency 3–10.
fn center() -> (Router, Lcg) {
    let mut rng = Lcg(42);
    let queues: Vec<QueueConfig> = (0..QUEUES)
        .map(|q| {
            let mut c = QueueConfig::new(queue(q), format!("q{q}"));
            c.strategy = kefu_core::org::QueueStrategy::ALL[(q % 6) as usize];
            if c.strategy == kefu_core::org::QueueStrategy::RingAll {
                c.strategy = kefu_core::org::QueueStrategy::LongestIdle;
            }
            c.skills.push(SkillRequirement { skill: skill(q % SKILLS), min: Proficiency::new(3).unwrap() });
            if q % 4 == 0 {
                c.skills.push(SkillRequirement { skill: skill((q + 7) % SKILLS), min: Proficiency::new(2).unwrap() });
            }
            c
        })
        .collect();
    let settings = AcdSettings { announce_every_ms: 0, max_no_answer: 0, ..AcdSettings::default() };
    let mut r = Router::new(settings, queues).unwrap();
    let t = Timestamp::from_millis(0);
    for a in 0..AGENTS {
        let mut skills = Vec::new();
        while skills.len() < 6 {
            let s = skill(u128::from(rng.next(SKILLS as u64)));
            if !skills.iter().any(|(x, _)| *x == s) {
                skills.push((s, Proficiency::new(3 + rng.next(8) as i64).unwrap()));
            }
        }
        r.handle(t, Input::AgentLogin { agent: agent(a), skills }).unwrap();
        r.handle(Timestamp::from_millis(a as i64), Input::AgentReady { agent: agent(a) }).unwrap();
    }
    (r, rng)
}

/// Makes half the agents busy: queue calls until 1,000 agents are talking.
fn occupy_half(r: &mut Router, rng: &mut Lcg, next_call: &mut u128) {
    let t = Timestamp::from_millis(10_000);
    let mut talking = 0;
    while talking < AGENTS / 2 {
        *next_call += 1;
        let c = call(*next_call);
        let out = r
            .handle(
                t,
                Input::CallQueued {
                    call: c,
                    queue: queue(u128::from(rng.next(QUEUES as u64))),
                    priority: Priority::NORMAL,
                    customer: None,
                },
            )
            .unwrap();
        let offered = out.iter().find_map(|a| match a {
            kefu_core::acd::Action::Offer { agent, .. } => Some(*agent),
            _ => None,
        });
        match offered {
            Some(a) => {
                r.handle(t, Input::CallAnswered { call: c, agent: a }).unwrap();
                talking += 1;
            }
            None => {
                r.handle(t, Input::CallAbandoned { call: c }).unwrap();
            }
        }
    }
}

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing_2000_agents_100_queues_30_skills");
    g.sample_size(50);

    let (mut r, mut rng) = center();
    let mut next_call = 0u128;
    occupy_half(&mut r, &mut rng, &mut next_call);
    let now = Timestamp::from_millis(20_000);
    let mut out = Vec::with_capacity(16);
    g.bench_function("call_arrives", |b| {
        b.iter(|| {
            next_call += 1;
            let c = call(next_call);
            let q = queue(u128::from(rng.next(QUEUES as u64)));
            out.clear();
            r.handle_into(
                now,
                Input::CallQueued { call: c, queue: q, priority: Priority::NORMAL, customer: None },
                &mut out,
            )
            .unwrap();
            black_box(&out);
            out.clear();
            r.handle_into(now, Input::CallAbandoned { call: c }, &mut out).unwrap();
        })
    });

    // every agent busy, 300 calls waiting
    let (mut r, mut rng) = center();
    let mut next_call = 0u128;
    let t = Timestamp::from_millis(10_000);
    let mut talking = 0u128;
    let mut waiting = 0;
    while talking < AGENTS || waiting < 300 {
        next_call += 1;
        let c = call(next_call);
        let out = r
            .handle(
                t,
                Input::CallQueued {
                    call: c,
                    queue: queue(u128::from(rng.next(QUEUES as u64))),
                    priority: Priority(rng.next(3) as u8 * 4),
                    customer: None,
                },
            )
            .unwrap();
        match out.iter().find_map(|a| match a {
            kefu_core::acd::Action::Offer { agent, .. } => Some(*agent),
            _ => None,
        }) {
            Some(a) => {
                r.handle(t, Input::CallAnswered { call: c, agent: a }).unwrap();
                talking += 1;
            }
            None if talking < AGENTS => {
                r.handle(t, Input::CallAbandoned { call: c }).unwrap();
            }
            None => waiting += 1,
        }
        if next_call > 200_000 {
            break; // some agents may qualify for no queue; do not loop forever
        }
    }
    // free one agent that is on a call, to use as the agent that frees up
    let freed = (0..AGENTS)
        .map(agent)
        .find(|a| matches!(r.agent(*a).map(|x| x.state()), Some(AgentState::Talking { .. })))
        .unwrap();
    let busy_call = r.agent(freed).unwrap().state().call().unwrap();
    r.handle(t, Input::CallEnded { call: busy_call }).unwrap();
    let now = Timestamp::from_millis(60_000); // ACW over
    r.handle(now, Input::Tick).unwrap();
    // the Tick may already have handed it a call: decline it so it waits at the head again
    if let Some(AgentState::Reserved { call }) = r.agent(freed).map(|x| x.state()) {
        r.handle(now, Input::CallRejected { call, agent: freed }).unwrap();
    }
    g.bench_function("agent_frees_up", |b| {
        b.iter(|| {
            out.clear();
            r.handle_into(now, Input::AgentReady { agent: freed }, &mut out).unwrap();
            black_box(&out);
            if let Some(AgentState::Reserved { call }) = r.agent(freed).map(|x| x.state()) {
                out.clear();
                r.handle_into(now, Input::CallRejected { call, agent: freed }, &mut out).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
