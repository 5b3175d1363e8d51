//! One simulated day of a large center: 500 agents on one queue for 24 hours, ~150,000
//! Poisson calls, exponential handle times (mean 275 s) plus 10 s of after-call work — 495
//! Erlangs, 99 % of the agents — and exponential patience (mean 120 s), through the real
//! router, KPIs included. Target ≤ 2 s.
//! Also the example four-queue center (`scenarios/center.yaml`).
//!
//! `cargo bench -p kefu-sim --bench day` (BENCH_RUNS=5 by default). Prints wall time per
//! day (best and median of the runs), calls, router inputs per second and the process's
//! peak resident memory.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use kefu_sim::{Center, SimOptions, SingleQueue, Summary};
use std::time::Instant;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn bench(name: &str, center: &Center, runs: usize) {
    let options = SimOptions { seed: 1, ..SimOptions::default() };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let outcome = kefu_sim::run(center, &options).unwrap();
        let summary = Summary::new(center, &options, &outcome);
        times.push(start.elapsed().as_secs_f64());
        last = Some((outcome, summary));
    }
    let (outcome, s) = last.unwrap();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{name}: {} agents, {} calls, {} router inputs, {} router events | best {:.3} s, median {median:.3} s per day | {:.2} M inputs/s",
        center.agents.len(),
        s.offered,
        outcome.tally.inputs,
        outcome.tally.router_events,
        times[0],
        outcome.tally.inputs as f64 / median / 1e6,
    );
    println!(
        "  SL {:.3}  ASA {:.1} s  abandon {:.3}  AHT {:.1} s  occupancy {:.3}",
        s.service_level.unwrap_or(f64::NAN),
        s.asa_secs.unwrap_or(f64::NAN),
        s.abandon_rate.unwrap_or(f64::NAN),
        s.aht_secs.unwrap_or(f64::NAN),
        s.occupancy.unwrap_or(f64::NAN)
    );
}

fn main() {
    // `cargo test --benches` runs bench targets too: only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let large = Center::single_queue(&SingleQueue {
        agents: 500,
        calls_per_hour: 6250.0,
        aht_secs: 275.0,
        patience_secs: Some(120.0),
        hours: 24.0,
        acw_secs: 10.0,
        ring_delay_secs: 0.0,
    })
    .unwrap();
    bench("500 agents, 24 h", &large, runs);
    let center = Center::from_yaml(include_str!("../scenarios/center.yaml")).unwrap();
    bench("example center (4 queues)", &center, runs);
    println!("peak RSS of this process: {} MiB", peak_rss_kib() / 1024);
}
