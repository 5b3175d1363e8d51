//! The simulator, driving the real router, against queueing theory from
//! `kefu_core::wfm::erlang`. One queue, Poisson arrivals, exponential handle times, no
//! after-call work, answers without ringing: the M/M/N queue of Erlang C (and M/M/N+M of
//! Erlang A with exponential patience). Long runs with fixed seeds; the tolerances are
//! several standard errors of the simulated estimates (see each test).

use crate::{simulate, single};
use kefu_core::wfm::erlang::{self, ErlangA};

/// 200 calls/h × 180 s = 10 Erlangs.
const CALLS_PER_HOUR: f64 = 200.0;
const AHT: f64 = 180.0;
const LOAD: f64 = CALLS_PER_HOUR * AHT / 3600.0;

#[test]
fn service_level_and_asa_match_erlang_c() {
    // 13 agents: Erlang C gives SL(20 s) = 0.796, ASA = 17.1 s, occupancy 0.769.
    // 2,000 hours ≈ 400,000 calls. Over 16 seeds the simulated SL had a standard deviation
    // of 0.4 points and ASA of 3.5 % (waits are strongly correlated in a busy queue), so
    // 2 points is 5 sd and 10 % is about 3 sd.
    let n = 13;
    let center = single(n, CALLS_PER_HOUR, AHT, None, 2000.0);
    let (outcome, s) = simulate(&center, 2024);
    let sl_theory = erlang::service_level(n, LOAD, AHT, 20.0).unwrap();
    let asa_theory = erlang::asa_secs(n, LOAD, AHT).unwrap();
    let occ_theory = erlang::occupancy(n, LOAD).unwrap();
    let sl = s.service_level.unwrap();
    let asa = s.asa_secs.unwrap();
    let occ = s.occupancy.unwrap();
    eprintln!(
        "calls {} | SL sim {sl:.4} theory {sl_theory:.4} | ASA sim {asa:.2} theory {asa_theory:.2} | occupancy sim {occ:.4} theory {occ_theory:.4}",
        s.offered
    );
    assert!(s.offered > 390_000, "{}", s.offered);
    assert!((sl - sl_theory).abs() <= 0.02, "SL {sl} vs Erlang C {sl_theory}");
    assert!((asa - asa_theory).abs() <= 0.10 * asa_theory, "ASA {asa} vs Erlang C {asa_theory}");
    assert!((occ - occ_theory).abs() <= 0.02, "occupancy {occ} vs {occ_theory}");
    // AHT is the mean handle time
    assert!((s.aht_secs.unwrap() - AHT).abs() <= 0.02 * AHT);
    // nothing abandons without patience
    assert_eq!(s.abandoned, 0);
    // The wait announced on entry (EWT = position × AHT ÷ staffed agents) is, in M/M/N, the
    // mean time to that many departures: on average it must match the waits callers had.
    let ratio = outcome.ewt.actual_over_predicted().unwrap();
    eprintln!("EWT: {} announced calls, actual ÷ predicted = {ratio:.3}", outcome.ewt.calls);
    assert!(outcome.ewt.calls > 100_000, "{}", outcome.ewt.calls);
    assert!((ratio - 1.0).abs() <= 0.10, "mean actual wait ÷ mean announced estimate = {ratio}");
    assert_eq!(outcome.tally.logged_in_at_end, 0);
}

#[test]
fn abandon_rate_matches_erlang_a() {
    // 11 agents, mean patience 120 s: 9.4 % of callers hang up; leaving out those who do
    // within 5 s (as the KPI does, and `ErlangA::abandon_rate(5.0)` too) gives 8.05 %,
    // SL(20 s) 0.780 and ASA 9.8 s. 400 hours ≈ 80,000 calls; over 30 seeds the simulated
    // abandon rate had a standard deviation of 0.19 points (2.4 %), SL 0.45 points and ASA
    // 2.3 %, so ±10 %, ±2 points and ±10 % are each over 4 sd.
    let (n, patience) = (11, 120.0);
    let center = single(n, CALLS_PER_HOUR, AHT, Some(patience), 400.0);
    let (_, s) = simulate(&center, 2025);
    let model = ErlangA::new(n, LOAD, AHT, patience).unwrap();
    let theory = model.abandon_rate(5.0).unwrap().unwrap();
    let sl_theory = model.service_level(20.0, 5.0).unwrap().unwrap();
    let asa_theory = model.asa_secs().unwrap();
    let rate = s.abandon_rate.unwrap();
    let sl = s.service_level.unwrap();
    let asa = s.asa_secs.unwrap();
    eprintln!(
        "calls {} | abandon sim {rate:.4} Erlang A {theory:.4} (all abandons {:.4}) | SL sim {sl:.4} theory {sl_theory:.4} | ASA sim {asa:.2} theory {asa_theory:.2}",
        s.offered,
        model.abandon_probability()
    );
    assert!((rate - theory).abs() <= 0.10 * theory, "abandon rate {rate} vs Erlang A {theory}");
    assert!((sl - sl_theory).abs() <= 0.02, "SL {sl} vs Erlang A {sl_theory}");
    assert!((asa - asa_theory).abs() <= 0.10 * asa_theory, "ASA {asa} vs Erlang A {asa_theory}");
}
