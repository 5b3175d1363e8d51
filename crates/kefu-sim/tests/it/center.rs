//! Whole centers: the example scenario loads and runs, every call is accounted for, overflow
//! and VIP priority do what they say, and bad scenarios are refused with every problem.

use crate::simulate;
use kefu_sim::{Center, ScenarioError};

fn example() -> Center {
    Center::from_yaml(include_str!("../../scenarios/center.yaml")).unwrap()
}

#[test]
fn the_example_center_runs_and_conserves_calls() {
    let center = example();
    assert_eq!(center.queues.len(), 4);
    let (outcome, s) = simulate(&center, 1);
    let t = outcome.tally;
    // the simulator's own count and the KPIs from the router's events agree
    assert_eq!(s.offered, t.arrivals);
    assert_eq!(s.answered, t.answered);
    assert_eq!(s.abandoned, t.abandoned);
    assert_eq!(s.overflowed, t.overflowed);
    assert_eq!(s.waiting_at_end, t.waiting_at_end);
    assert_eq!(t.completed, t.answered, "every answered call ended");
    assert_eq!(t.logged_in_at_end, 0, "every agent went home");
    // offered = answered + abandoned + overflowed out + still queued at the end
    assert_eq!(s.offered, s.answered + s.abandoned + s.overflowed + s.waiting_at_end);
    for q in &s.queues {
        assert_eq!(q.offered, q.answered + q.abandoned + q.overflowed + q.waiting_at_end, "{}", q.name);
    }
    // a call moved between queues is offered to both, so the queues add up to more
    let moved: u64 = s.queues.iter().map(|q| q.offered).sum::<u64>() - s.offered;
    let after_sales = s.queues.iter().find(|q| q.name == "after_sales").unwrap();
    let complaints = s.queues.iter().find(|q| q.name == "complaints").unwrap();
    assert_eq!(moved, after_sales.overflowed, "after-sales moves calls to product");
    assert_eq!(complaints.overflowed, s.overflowed, "only complaints leave the router (voicemail)");
    let vip = s.queues.iter().find(|q| q.name == "vip").unwrap();
    assert!(vip.widened > 0, "VIP callers waiting 60 s widen to product agents");
    assert!(s.offered > 5_000, "{}", s.offered);
    // KPIs present and sane
    for v in [s.service_level, s.abandon_rate, s.occupancy] {
        let v = v.unwrap();
        assert!((0.0..=1.0).contains(&v), "{v}");
    }
    // AHT includes 15 s of ACW on top of talk
    assert!(s.aht_secs.unwrap() > 250.0, "{:?}", s.aht_secs);
    assert_eq!(s.intervals.len(), 48);
}

#[test]
fn vip_callers_jump_the_queue() {
    // The same agents serve a normal line and a VIP line (priority 5): when an agent frees
    // up, the waiting VIP caller goes first.
    let split = Center::from_yaml(
        "
hours: 8
skills: [line]
queues:
  - { name: line, skills: { line: 1 } }
  - { name: vip, skills: { line: 1 } }
agent_groups: [ { name: agents, count: 11, skills: { line: 5 } } ]
settings: { acw_ms: 0 }
call_types:
  - { name: normal, queue: line, calls_per_hour: 180, handle_time: { dist: exponential, mean_secs: 180 } }
  - { name: vip, queue: vip, priority: 5, calls_per_hour: 20, handle_time: { dist: exponential, mean_secs: 180 } }
",
    )
    .unwrap();
    let (_, s) = simulate(&split, 3);
    let line = s.queues.iter().find(|q| q.name == "line").unwrap();
    let vip = s.queues.iter().find(|q| q.name == "vip").unwrap();
    let (line_asa, vip_asa) = (line.asa_secs.unwrap(), vip.asa_secs.unwrap());
    eprintln!("ASA normal {line_asa:.1} s, VIP {vip_asa:.1} s");
    assert!(line_asa > 10.0, "the normal line must have queueing for the test to mean anything: {line_asa}");
    assert!(vip_asa < line_asa / 3.0, "VIP {vip_asa} s vs normal {line_asa} s");
    assert_eq!(s.offered, s.answered + s.abandoned + s.overflowed + s.waiting_at_end);
}

#[test]
fn a_bad_scenario_reports_every_problem_with_its_path() {
    let yaml = include_str!("../../scenarios/center.yaml")
        .replace("action: { kind: widen, queues: [product] }", "action: { kind: queue, queue: vip2 }")
        .replace("skills: { complaints: 7, product: 4 }", "skills: { complaint: 7, product: 4 }")
        .replace("after_secs: 90", "after_secs: -90");
    let Err(ScenarioError::Invalid(problems)) = Center::from_yaml(&yaml) else { panic!("accepted") };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "queues[2].overflow[0].after_secs: must be between 0 and 4294967295, got -90",
            "queues[3].overflow[0].action.queue: unknown queue \"vip2\"",
            "agent_groups[3].skills.complaint: unknown skill \"complaint\"",
        ]
    );
    // the error's text lists them all
    let msg = Center::from_yaml(&yaml).unwrap_err().to_string();
    assert!(msg.starts_with("the scenario has 3 problem(s):"), "{msg}");
}

#[test]
fn every_strategy_with_ringing_and_ring_outs_runs_clean() {
    // Phones ring 4 s before an answer (ring-all offers race and are cancelled); in the
    // second case they ring longer than the ring timeout, so every offer rings out, agents
    // go not-ready and are logged out after three misses, and callers eventually hang up.
    for (delay, expect_answers) in [(4, true), (20, false)] {
        for strategy in ["longest_idle", "least_calls", "round_robin", "ring_all", "skill_weighted", "top_down"] {
            let yaml = format!(
                "
hours: 2
ring_delay_secs: {delay}
settings: {{ ring_timeout_ms: 15000, acw_ms: 5000 }}
skills: [s]
queues: [ {{ name: q, strategy: {strategy}, skills: {{ s: 2 }} }} ]
agent_groups:
  - {{ name: a, count: 6, skills: {{ s: 4 }} }}
  - {{ name: b, count: 4, skills: {{ s: 9 }}, shift: {{ start: 0.5, end: 1.5 }} }}
call_types:
  - name: c
    queue: q
    calls_per_hour: [80, 120]
    handle_time: {{ dist: lognormal, mean_secs: 150, sd_secs: 60 }}
    patience: {{ dist: exponential, mean_secs: 90 }}
"
            );
            let center = Center::from_yaml(&yaml).unwrap();
            let (outcome, s) = simulate(&center, 5);
            let t = outcome.tally;
            let what = format!("{strategy}, ring delay {delay} s");
            assert_eq!(s.offered, t.arrivals, "{what}");
            assert_eq!(s.offered, s.answered + s.abandoned + s.overflowed + s.waiting_at_end, "{what}");
            assert_eq!(t.completed, t.answered, "{what}");
            assert_eq!(t.logged_in_at_end, 0, "{what}");
            if expect_answers {
                assert!(s.answered > s.offered * 8 / 10, "{what}: {} of {}", s.answered, s.offered);
                assert!(s.asa_secs.unwrap() >= 4.0, "{what}: the ring delay is part of the wait");
            } else {
                assert_eq!(s.answered, 0, "{what}");
                assert_eq!(s.abandoned + s.waiting_at_end, s.offered, "{what}");
            }
        }
    }
}
