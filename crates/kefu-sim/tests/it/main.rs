//! kefu-sim against the real router: determinism, agreement with queueing theory (Erlang C
//! and Erlang A), scenario checks, and a multi-queue center that conserves its calls.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod center;
mod determinism;
mod theory;

use kefu_sim::{Center, Outcome, SimOptions, SingleQueue, Summary};

pub fn single(agents: u32, calls_per_hour: f64, aht_secs: f64, patience_secs: Option<f64>, hours: f64) -> Center {
    Center::single_queue(&SingleQueue {
        agents,
        calls_per_hour,
        aht_secs,
        patience_secs,
        hours,
        acw_secs: 0.0,
        ring_delay_secs: 0.0,
    })
    .unwrap()
}

pub fn simulate(center: &Center, seed: u64) -> (Outcome, Summary) {
    let options = SimOptions { seed, ..SimOptions::default() };
    let outcome = kefu_sim::run(center, &options).unwrap();
    let summary = Summary::new(center, &options, &outcome);
    (outcome, summary)
}
