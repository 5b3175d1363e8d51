//! Erlang B, Erlang C and Erlang A (M/M/N+M): probability of waiting, service level, average
//! speed of answer, occupancy, abandonment, and the agents needed to meet a target.
//!
//! Units: offered load `A` in Erlangs (arrival rate × average handle time), times in seconds.
//! Inputs that make no sense (negative or non-finite loads and times, a queue that cannot
//! keep up) are typed errors, never `NaN` or infinity.
//!
//! Erlang A is solved exactly on the birth–death chain of the number of calls in the
//! system, truncated where the remaining probability is below about 1e-16; its waiting-time
//! figures (service level, ASA of answered calls) come from following one arriving caller
//! through the queue, see [`ErlangA`].

use std::fmt;

/// Why an Erlang figure cannot be computed.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum ErlangError {
    /// A parameter is outside its domain (negative, zero where it must not be, not finite).
    #[error("{name} must be {expected}, got {value}")]
    InvalidParameter {
        /// Which parameter.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it was.
        value: f64,
    },
    /// Without abandonment, N ≤ A agents never catch up: the queue grows without bound, so
    /// waiting probability, service level and ASA have no steady state.
    #[error(
        "{agents} agents cannot carry {load:.3} Erlangs: without abandonment the queue grows without bound (more than {load:.3} agents are needed)"
    )]
    Overloaded {
        /// Agents.
        agents: u32,
        /// Offered load in Erlangs.
        load: f64,
    },
    /// No staffing up to `max_agents` meets the target.
    #[error("no staffing up to {max_agents} agents meets the target")]
    NoSolution {
        /// The largest staffing tried.
        max_agents: u32,
    },
    /// The Erlang A chain needs more states than the solver allows (patience so long and
    /// load so high that the queue is practically unbounded).
    #[error("the Erlang A state space exceeds {0} states; use Erlang C or more agents")]
    TooLarge(usize),
}

fn check(name: &'static str, value: f64, ok: bool, expected: &'static str) -> Result<f64, ErlangError> {
    if ok && value.is_finite() { Ok(value) } else { Err(ErlangError::InvalidParameter { name, expected, value }) }
}

fn check_load(load: f64) -> Result<f64, ErlangError> {
    check("load", load, load >= 0.0, "a finite number of Erlangs ≥ 0")
}

fn check_positive(name: &'static str, v: f64) -> Result<f64, ErlangError> {
    check(name, v, v > 0.0, "finite and greater than 0")
}

fn check_non_negative(name: &'static str, v: f64) -> Result<f64, ErlangError> {
    check(name, v, v >= 0.0, "finite and at least 0")
}

/// Offered load in Erlangs: `calls` arriving over `period_secs`, each needing `aht_secs`
/// of handling on average (A = λ · AHT).
pub fn offered_load(calls: f64, period_secs: f64, aht_secs: f64) -> Result<f64, ErlangError> {
    let calls = check_non_negative("calls", calls)?;
    let period = check_positive("period_secs", period_secs)?;
    let aht = check_non_negative("aht_secs", aht_secs)?;
    Ok(calls / period * aht)
}

/// Erlang B: the probability that all `agents` are busy (blocking probability of M/M/N/N),
/// by the stable recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)).
pub fn erlang_b(agents: u32, load: f64) -> Result<f64, ErlangError> {
    let a = check_load(load)?;
    let mut b = 1.0;
    for n in 1..=agents {
        b = a * b / (f64::from(n) + a * b);
    }
    Ok(b)
}

/// Erlang C: the probability that a call has to wait, P_w = N·B / (N − A(1 − B)), defined
/// for N > A ([`ErlangError::Overloaded`] otherwise).
pub fn erlang_c(agents: u32, load: f64) -> Result<f64, ErlangError> {
    let a = check_load(load)?;
    let n = f64::from(agents);
    if n <= a {
        return Err(ErlangError::Overloaded { agents, load: a });
    }
    let b = erlang_b(agents, a)?;
    Ok((n * b / (n - a * (1.0 - b))).clamp(0.0, 1.0))
}

/// Erlang C service level: the share of calls answered within `threshold_secs`,
/// SL(T) = 1 − P_w · e^(−(N − A)·T / AHT).
pub fn service_level(agents: u32, load: f64, aht_secs: f64, threshold_secs: f64) -> Result<f64, ErlangError> {
    let aht = check_positive("aht_secs", aht_secs)?;
    let t = check_non_negative("threshold_secs", threshold_secs)?;
    let pw = erlang_c(agents, load)?;
    let n = f64::from(agents);
    Ok((1.0 - pw * (-(n - load) * t / aht).exp()).clamp(0.0, 1.0))
}

/// Erlang C average speed of answer in seconds: ASA = P_w · AHT / (N − A).
pub fn asa_secs(agents: u32, load: f64, aht_secs: f64) -> Result<f64, ErlangError> {
    let aht = check_positive("aht_secs", aht_secs)?;
    let pw = erlang_c(agents, load)?;
    Ok(pw * aht / (f64::from(agents) - load))
}

/// Agent occupancy without abandonment: A / N, defined for N > A (at N ≤ A the queue has no
/// steady state, [`ErlangError::Overloaded`]).
pub fn occupancy(agents: u32, load: f64) -> Result<f64, ErlangError> {
    let a = check_load(load)?;
    if f64::from(agents) <= a {
        return Err(ErlangError::Overloaded { agents, load: a });
    }
    Ok(a / f64::from(agents))
}

/// What a staffing must achieve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StaffingTarget {
    /// Share of calls to answer within the threshold, 0 ≤ target < 1 (e.g. 0.8).
    pub service_level: f64,
    /// The service-level threshold in seconds (e.g. 20).
    pub threshold_secs: f64,
    /// Highest acceptable occupancy, 0 < max ≤ 1 (e.g. 0.85).
    pub max_occupancy: f64,
}

/// A staffing and the Erlang C figures it gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Staffing {
    /// Agents on the phones.
    pub agents: u32,
    /// Probability of waiting.
    pub p_wait: f64,
    /// Service level at the target's threshold.
    pub service_level: f64,
    /// Average speed of answer in seconds.
    pub asa_secs: f64,
    /// Occupancy A / N.
    pub occupancy: f64,
}

/// The Erlang C figures for `agents` carrying `load`.
pub fn staffing(agents: u32, load: f64, aht_secs: f64, threshold_secs: f64) -> Result<Staffing, ErlangError> {
    Ok(Staffing {
        agents,
        p_wait: erlang_c(agents, load)?,
        service_level: service_level(agents, load, aht_secs, threshold_secs)?,
        asa_secs: asa_secs(agents, load, aht_secs)?,
        occupancy: occupancy(agents, load)?,
    })
}

/// Required agents: the smallest N > A whose Erlang C service level meets the target and
/// whose occupancy A/N is at most the maximum. A load of 0 needs 0 agents (returned with
/// service level 1 and no waiting).
pub fn required_agents(load: f64, aht_secs: f64, target: &StaffingTarget) -> Result<Staffing, ErlangError> {
    let a = check_load(load)?;
    check_positive("aht_secs", aht_secs)?;
    check(
        "service_level",
        target.service_level,
        (0.0..1.0).contains(&target.service_level),
        "between 0 and 1 (exclusive)",
    )?;
    check_non_negative("threshold_secs", target.threshold_secs)?;
    let occ = target.max_occupancy;
    check("max_occupancy", occ, occ > 0.0 && occ <= 1.0, "in (0, 1]")?;
    if a == 0.0 {
        return Ok(Staffing { agents: 0, p_wait: 0.0, service_level: 1.0, asa_secs: 0.0, occupancy: 0.0 });
    }
    // Service level rises to 1 as N grows, so the search ends; the cap only guards against
    // absurd inputs (e.g. a load of 1e12 Erlangs).
    let max_agents = (a * 2.0 + 1000.0).min(f64::from(u32::MAX - 1)) as u32;
    let first = (a.floor() + 1.0).max((a / occ - 1e-9).ceil()).min(f64::from(max_agents)) as u32;
    for n in first..=max_agents {
        let s = staffing(n, a, aht_secs, target.threshold_secs)?;
        if s.service_level >= target.service_level && s.occupancy <= occ + 1e-12 {
            return Ok(s);
        }
    }
    Err(ErlangError::NoSolution { max_agents })
}

/// Agents to schedule so that `required` are on the phones after shrinkage (breaks,
/// training, absence): ⌈N / (1 − shrinkage)⌉, with 0 ≤ shrinkage < 1.
pub fn scheduled_agents(required: u32, shrinkage: f64) -> Result<u32, ErlangError> {
    check("shrinkage", shrinkage, (0.0..1.0).contains(&shrinkage), "in [0, 1)")?;
    // the tolerance keeps 14 / (1 − 0.3) = 20.000000000000004 at 20
    let s = (f64::from(required) / (1.0 - shrinkage) - 1e-9).ceil();
    if s > f64::from(u32::MAX) {
        return Err(ErlangError::InvalidParameter {
            name: "required",
            expected: "small enough to schedule",
            value: f64::from(required),
        });
    }
    Ok(s.max(0.0) as u32)
}

/// Most states the Erlang A solver keeps before giving up.
pub const ERLANG_A_MAX_STATES: usize = 2_000_000;

/// Shares of all offered calls answered and abandoned with a wait of at most some time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcomes {
    /// Answered with wait ≤ t (including those answered at once).
    pub answered: f64,
    /// Abandoned with wait ≤ t.
    pub abandoned: f64,
}

/// Erlang A: M/M/N+M, N agents, Poisson arrivals, exponential handle times and exponential
/// caller patience (callers hang up while waiting at rate θ = 1 / mean patience).
///
/// **Method.** The number of calls in the system is a birth–death chain with birth rate λ
/// and death rate min(k, N)·μ + max(k − N, 0)·θ in state k. Its stationary probabilities
/// π_k ∝ Π λ / death(j) are computed in log space (no overflow for hundreds of agents) up to
/// the state where the remaining tail is below ~1e-16 of the mass. Arrivals see π (PASTA):
/// - P(wait) = Σ_{k ≥ N} π_k;
/// - P(abandon) = θ · E[calls waiting] / λ (abandonment flow over arrival flow).
///
/// For waiting times, follow a caller who arrives in state k = N + q (q callers ahead,
/// FCFS). With i callers ahead it moves up at rate r_i = N·μ + i·θ (a service completion or
/// an abandonment ahead; callers behind do not matter) — from i = 0 it is answered — and it
/// hangs up at rate θ. This is a small absorbing chain, started from the π-weighted mix of
/// positions and solved at time T by uniformization (Poisson-weighted powers of its jump
/// matrix, all terms positive, so no cancellation), giving the shares answered and
/// abandoned within T. The mean wait of answered calls is exact in closed form: given q, the
/// wait V is hypo-exponential with rates r_0…r_q and the caller is answered iff patience
/// exceeds V, so P(answered | q) = Π r_i/(r_i+θ) and E[V; answered | q] = P(answered | q) ·
/// Σ 1/(r_i+θ).
///
/// As patience grows (θ → 0) every figure tends to Erlang C's (tested).
#[derive(Clone, Debug)]
pub struct ErlangA {
    agents: u32,
    lambda: f64,
    mu: f64,
    theta: f64,
    /// π_k, k = 0 … K, normalised.
    probs: Vec<f64>,
}

impl fmt::Display for ErlangA {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Erlang A: N={} A={:.3} patience={:.1}s", self.agents, self.lambda / self.mu, 1.0 / self.theta)
    }
}

impl ErlangA {
    /// Solves the chain for `agents` carrying `load` Erlangs with handle time `aht_secs` and
    /// mean caller patience `patience_secs` (> 0; any N is stable, even N ≤ A).
    pub fn new(agents: u32, load: f64, aht_secs: f64, patience_secs: f64) -> Result<ErlangA, ErlangError> {
        let a = check_load(load)?;
        let aht = check_positive("aht_secs", aht_secs)?;
        let patience = check_positive("patience_secs", patience_secs)?;
        let mu = 1.0 / aht;
        let lambda = a * mu;
        let theta = 1.0 / patience;
        if lambda == 0.0 {
            return Ok(ErlangA { agents, lambda, mu, theta, probs: vec![1.0] });
        }
        let n = agents as usize;
        let ln_lambda = lambda.ln();
        let mut logs: Vec<f64> = vec![0.0];
        let mut max_log = 0.0f64;
        let mut k = 0usize;
        loop {
            k += 1;
            if k > ERLANG_A_MAX_STATES {
                return Err(ErlangError::TooLarge(ERLANG_A_MAX_STATES));
            }
            let death = k.min(n) as f64 * mu + k.saturating_sub(n) as f64 * theta;
            let l = logs[k - 1] + ln_lambda - death.ln();
            logs.push(l);
            max_log = max_log.max(l);
            let ratio = lambda / death;
            // Past the mode the terms fall at least geometrically with ratio < 1 (death
            // rates only grow), so the tail is below π_k / (1 − ratio).
            if k > n && ratio < 1.0 && l - (1.0 - ratio).ln() < max_log - 37.0 {
                break;
            }
        }
        let total: f64 = logs.iter().map(|l| (l - max_log).exp()).sum();
        let probs = logs.iter().map(|l| (l - max_log).exp() / total).collect();
        Ok(ErlangA { agents, lambda, mu, theta, probs })
    }

    /// Number of states kept after truncation.
    pub fn states(&self) -> usize {
        self.probs.len()
    }

    /// Stationary probability of `k` calls in the system (0 beyond the truncation).
    pub fn prob(&self, k: usize) -> f64 {
        self.probs.get(k).copied().unwrap_or(0.0)
    }

    fn waiting_probs(&self) -> &[f64] {
        let n = (self.agents as usize).min(self.probs.len());
        &self.probs[n..]
    }

    /// Probability that an arriving call has to wait (all agents busy).
    pub fn p_wait(&self) -> f64 {
        self.waiting_probs().iter().sum::<f64>().clamp(0.0, 1.0)
    }

    /// Mean number of callers waiting.
    pub fn mean_queue_length(&self) -> f64 {
        self.waiting_probs().iter().enumerate().map(|(q, p)| q as f64 * p).sum()
    }

    /// Probability that an arriving call abandons: θ · E[waiting] / λ.
    pub fn abandon_probability(&self) -> f64 {
        if self.lambda == 0.0 {
            return 0.0;
        }
        (self.theta * self.mean_queue_length() / self.lambda).clamp(0.0, 1.0)
    }

    /// Probability that an arriving call is answered, computed by following the caller
    /// through the queue (equals 1 − [`abandon_probability`](Self::abandon_probability); the
    /// two are derived independently and the tests check they agree).
    pub fn answered_probability(&self) -> f64 {
        let (answered, _) = self.answered_and_wait();
        answered.clamp(0.0, 1.0)
    }

    /// (P(answered), E[wait; answered]) by the closed form in the type's documentation.
    fn answered_and_wait(&self) -> (f64, f64) {
        let n = (self.agents as usize).min(self.probs.len());
        let mut answered: f64 = self.probs[..n].iter().sum();
        let mut wait = 0.0;
        let base = f64::from(self.agents) * self.mu;
        let mut product = 1.0; // Π_{i ≤ q} r_i / (r_i + θ)
        let mut inv_sum = 0.0; // Σ_{i ≤ q} 1 / (r_i + θ)
        for (q, p) in self.waiting_probs().iter().enumerate() {
            let r = base + q as f64 * self.theta;
            product *= r / (r + self.theta);
            inv_sum += 1.0 / (r + self.theta);
            answered += p * product;
            wait += p * product * inv_sum;
            if product == 0.0 {
                break;
            }
        }
        (answered, wait)
    }

    /// Average speed of answer of answered calls, in seconds; `None` when no call is ever
    /// answered (no agents).
    pub fn asa_secs(&self) -> Option<f64> {
        let (answered, wait) = self.answered_and_wait();
        (answered > 0.0).then(|| wait / answered)
    }

    /// Occupancy: carried load over agents, (1 − P(abandon)) · A / N; `None` for 0 agents.
    pub fn occupancy(&self) -> Option<f64> {
        (self.agents > 0)
            .then(|| (self.answered_probability() * self.lambda / self.mu / f64::from(self.agents)).clamp(0.0, 1.0))
    }

    /// Shares of all offered calls answered and abandoned with a wait of at most `t_secs`.
    pub fn outcomes_within(&self, t_secs: f64) -> Result<Outcomes, ErlangError> {
        let t = check_non_negative("t_secs", t_secs)?;
        let n = (self.agents as usize).min(self.probs.len());
        let immediate: f64 = self.probs[..n].iter().sum();
        let mut p: Vec<f64> = self.waiting_probs().to_vec();
        if p.is_empty() || t == 0.0 {
            return Ok(Outcomes { answered: immediate, abandoned: 0.0 });
        }
        let base = f64::from(self.agents) * self.mu;
        let theta = self.theta;
        let rate = |i: usize| base + i as f64 * theta; // move up from i ahead
        let uni = rate(p.len() - 1) + theta; // the largest total exit rate
        let lt = uni * t;
        // Poisson(lt) weights, in log space so that a large lt does not underflow e^(−lt).
        let max_terms = (lt + 12.0 * lt.sqrt() + 60.0).ceil() as usize;
        let mut log_w = -lt;
        let mut weight_sum = 0.0;
        let (mut served, mut gone) = (0.0, 0.0);
        let (mut ans, mut ab) = (0.0, 0.0);
        let mut next = vec![0.0; p.len()];
        for step in 0..=max_terms {
            if step > 0 {
                log_w += lt.ln() - (step as f64).ln();
                // one jump of the uniformized chain
                served += p[0] * rate(0) / uni;
                let mut left = 0.0;
                for i in 0..p.len() {
                    let stay = 1.0 - (rate(i) + theta) / uni;
                    let from_behind = p.get(i + 1).map_or(0.0, |b| b * rate(i + 1) / uni);
                    next[i] = p[i] * stay + from_behind;
                    left += p[i];
                }
                gone += left * theta / uni;
                std::mem::swap(&mut p, &mut next);
            }
            let w = log_w.exp();
            weight_sum += w;
            ans += w * served;
            ab += w * gone;
            if step as f64 > lt && 1.0 - weight_sum < 1e-14 {
                break;
            }
        }
        // The weights not summed (≤ 1e-14, or the cap) belong to later steps, whose
        // absorbed mass is at least the last one's: add it so the result is not biased low.
        let rest = (1.0 - weight_sum).max(0.0);
        Ok(Outcomes { answered: immediate + ans + rest * served, abandoned: ab + rest * gone })
    }

    /// Service level as KPI.md defines it: answered within `t` ÷ (answered + abandoned after
    /// `t`), with abandons quicker than `short_abandon_secs` left out; `None` if no call is
    /// answered or abandoned.
    pub fn service_level(&self, t_secs: f64, short_abandon_secs: f64) -> Result<Option<f64>, ErlangError> {
        let within = self.outcomes_within(t_secs)?;
        let short = self.outcomes_within(check_non_negative("short_abandon_secs", short_abandon_secs)?)?;
        let answered = self.answered_probability();
        let abandoned_after = (self.abandon_probability() - within.abandoned.max(short.abandoned)).max(0.0);
        let denom = answered + abandoned_after;
        Ok((denom > 0.0).then(|| (within.answered / denom).clamp(0.0, 1.0)))
    }

    /// Abandon rate as KPI.md defines it: abandoned ÷ (answered + abandoned), abandons
    /// quicker than `short_abandon_secs` left out of both; `None` if there are none of either.
    pub fn abandon_rate(&self, short_abandon_secs: f64) -> Result<Option<f64>, ErlangError> {
        let short = self.outcomes_within(short_abandon_secs)?.abandoned;
        let abandoned = (self.abandon_probability() - short).max(0.0);
        let denom = self.answered_probability() + abandoned;
        Ok((denom > 0.0).then(|| (abandoned / denom).clamp(0.0, 1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn kpi_md_check_value() {
        // 100 calls per 30 min, AHT 180 s, N = 14
        let a = offered_load(100.0, 1800.0, 180.0).unwrap();
        assert!(close(a, 10.0, 1e-12), "{a}");
        let pw = erlang_c(14, a).unwrap();
        assert!(close(pw, 0.174, 0.0005), "{pw}");
        let sl = service_level(14, a, 180.0, 20.0).unwrap();
        assert!(close(sl, 0.888, 0.0005), "{sl}");
        let asa = asa_secs(14, a, 180.0).unwrap();
        assert!(close(asa, 7.84, 0.005), "{asa}");
        assert!(close(occupancy(14, a).unwrap(), 10.0 / 14.0, 1e-12));
    }

    #[test]
    fn erlang_b_matches_the_closed_form() {
        // B(N, A) = (A^N / N!) / Σ_{k ≤ N} A^k / k!
        for (n, a) in [(1u32, 0.5f64), (5, 3.0), (10, 8.0), (20, 25.0)] {
            let mut term = 1.0;
            let mut sum = 1.0;
            for k in 1..=n {
                term *= a / f64::from(k);
                sum += term;
            }
            let b = erlang_b(n, a).unwrap();
            assert!(close(b, term / sum, 1e-12), "N={n} A={a}: {b} vs {}", term / sum);
        }
        assert_eq!(erlang_b(0, 3.0).unwrap(), 1.0);
        assert_eq!(erlang_b(4, 0.0).unwrap(), 0.0);
        // no overflow for a large center
        let b = erlang_b(2000, 1900.0).unwrap();
        assert!(b.is_finite() && b > 0.0 && b < 1.0);
    }

    #[test]
    fn overload_and_bad_inputs_are_errors_not_nan() {
        assert!(matches!(erlang_c(10, 10.0), Err(ErlangError::Overloaded { agents: 10, .. })));
        assert!(matches!(erlang_c(9, 10.0), Err(ErlangError::Overloaded { .. })));
        assert!(matches!(service_level(0, 0.0, 180.0, 20.0), Err(ErlangError::Overloaded { .. })));
        assert!(matches!(asa_secs(5, 7.5, 180.0), Err(ErlangError::Overloaded { .. })));
        assert!(matches!(occupancy(3, 3.0), Err(ErlangError::Overloaded { .. })));
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(erlang_b(3, bad), Err(ErlangError::InvalidParameter { name: "load", .. })));
            assert!(erlang_c(3, bad).is_err());
        }
        assert!(service_level(14, 10.0, 0.0, 20.0).is_err());
        assert!(service_level(14, 10.0, 180.0, -1.0).is_err());
        assert!(offered_load(100.0, 0.0, 180.0).is_err());
        assert!(scheduled_agents(10, 1.0).is_err());
        assert!(scheduled_agents(10, -0.1).is_err());
        let msg = erlang_c(10, 10.0).unwrap_err().to_string();
        assert!(msg.contains("10 agents cannot carry 10.000 Erlangs"), "{msg}");
    }

    #[test]
    fn zero_load_never_waits() {
        assert_eq!(erlang_c(1, 0.0).unwrap(), 0.0);
        assert_eq!(service_level(1, 0.0, 180.0, 20.0).unwrap(), 1.0);
        assert_eq!(asa_secs(3, 0.0, 180.0).unwrap(), 0.0);
    }

    #[test]
    fn required_agents_is_the_smallest_meeting_the_target() {
        let target = StaffingTarget { service_level: 0.8, threshold_secs: 20.0, max_occupancy: 1.0 };
        let s = required_agents(10.0, 180.0, &target).unwrap();
        assert_eq!(s.agents, 14); // 13 agents give 79.6 %
        assert!(s.service_level >= 0.8);
        assert!(service_level(13, 10.0, 180.0, 20.0).unwrap() < 0.8);
        // an occupancy cap can be what decides
        let capped = StaffingTarget { max_occupancy: 0.7, ..target };
        let s = required_agents(10.0, 180.0, &capped).unwrap();
        assert_eq!(s.agents, 15);
        assert!(s.occupancy <= 0.7);
        // exact ratio: 10 / 0.625 = 16 agents, not 17
        let exact = StaffingTarget { max_occupancy: 0.625, ..target };
        assert_eq!(required_agents(10.0, 180.0, &exact).unwrap().agents, 16);
        // nothing offered, nobody needed
        assert_eq!(required_agents(0.0, 180.0, &target).unwrap().agents, 0);
        // service level 1 is never reached
        let perfect = StaffingTarget { service_level: 1.0, ..target };
        assert!(required_agents(10.0, 180.0, &perfect).is_err());
        // monotone: more load never needs fewer agents
        let mut last = 0;
        for tenth in 1..300 {
            let n = required_agents(f64::from(tenth) / 10.0, 180.0, &target).unwrap().agents;
            assert!(n >= last, "load {tenth}/10 needs {n} < {last}");
            last = n;
        }
    }

    #[test]
    fn scheduled_agents_rounds_up_after_shrinkage() {
        assert_eq!(scheduled_agents(14, 0.3).unwrap(), 20);
        assert_eq!(scheduled_agents(14, 0.0).unwrap(), 14);
        assert_eq!(scheduled_agents(13, 0.3).unwrap(), 19); // 18.57
        assert_eq!(scheduled_agents(0, 0.5).unwrap(), 0);
    }

    #[test]
    fn erlang_a_tends_to_erlang_c_as_patience_grows() {
        let (n, a, aht) = (14u32, 10.0, 180.0);
        let c = ErlangA::new(n, a, aht, 1e9).unwrap();
        assert!(close(c.p_wait(), erlang_c(n, a).unwrap(), 1e-5), "{}", c.p_wait());
        assert!(c.abandon_probability() < 1e-6);
        let asa = c.asa_secs().unwrap();
        assert!(close(asa, asa_secs(n, a, aht).unwrap(), 1e-3), "{asa}");
        let sl = c.service_level(20.0, 0.0).unwrap().unwrap();
        assert!(close(sl, service_level(n, a, aht, 20.0).unwrap(), 1e-5), "{sl}");
        assert!(close(c.occupancy().unwrap(), a / f64::from(n), 1e-5));
        // and the figures move monotonically towards it
        let mut last_pw = 0.0;
        for patience in [30.0, 120.0, 600.0, 3600.0, 1e6] {
            let pw = ErlangA::new(n, a, aht, patience).unwrap().p_wait();
            assert!(pw > last_pw, "patience {patience}: {pw} ≤ {last_pw}");
            last_pw = pw;
        }
    }

    #[test]
    fn erlang_a_with_patience_equal_to_aht_is_an_infinite_server_queue() {
        // θ = μ: every call leaves at rate μ whether served or waiting, so the number in the
        // system is Poisson(A) (M/M/∞) — an independent check of the chain.
        let (n, a) = (8u32, 9.0f64);
        let e = ErlangA::new(n, a, 120.0, 120.0).unwrap();
        let mut pk = (-a).exp();
        let (mut p_wait, mut excess) = (0.0, 0.0);
        for k in 0..200u32 {
            if k > 0 {
                pk *= a / f64::from(k);
            }
            assert!(close(e.prob(k as usize), pk, 1e-12), "π_{k}");
            if k >= n {
                p_wait += pk;
                excess += f64::from(k - n) * pk;
            }
        }
        assert!(close(e.p_wait(), p_wait, 1e-12));
        assert!(close(e.abandon_probability(), excess / a, 1e-12));
    }

    #[test]
    fn erlang_a_answered_and_abandoned_add_up() {
        for (n, a, patience) in [(10u32, 10.0, 60.0), (11, 10.0, 180.0), (5, 9.0, 30.0), (40, 36.0, 90.0)] {
            let e = ErlangA::new(n, a, 180.0, patience).unwrap();
            // two independent derivations: abandonment flow (Little) vs the tagged caller
            let total = e.answered_probability() + e.abandon_probability();
            assert!(close(total, 1.0, 1e-9), "N={n} A={a} θ=1/{patience}: {total}");
            // over a long horizon every caller has been answered or has hung up
            let o = e.outcomes_within(5000.0).unwrap();
            assert!(close(o.answered, e.answered_probability(), 1e-9), "{o:?}");
            assert!(close(o.abandoned, e.abandon_probability(), 1e-9), "{o:?}");
            // shares within T grow with T
            let early = e.outcomes_within(10.0).unwrap();
            let later = e.outcomes_within(60.0).unwrap();
            assert!(early.answered < later.answered && early.abandoned < later.abandoned);
            assert!(e.asa_secs().unwrap() > 0.0);
        }
    }

    #[test]
    fn erlang_a_is_stable_when_overloaded_and_handles_edges() {
        // N ≤ A is fine with abandonment
        let e = ErlangA::new(8, 10.0, 180.0, 60.0).unwrap();
        assert!(e.abandon_probability() > 0.1 && e.abandon_probability() < 1.0);
        assert!(e.occupancy().unwrap() < 1.0);
        // no agents: everyone hangs up, nobody is answered
        let none = ErlangA::new(0, 2.0, 180.0, 60.0).unwrap();
        assert!(close(none.abandon_probability(), 1.0, 1e-12));
        assert_eq!(none.asa_secs(), None);
        assert_eq!(none.occupancy(), None);
        // no calls
        let idle = ErlangA::new(3, 0.0, 180.0, 60.0).unwrap();
        assert_eq!(idle.p_wait(), 0.0);
        assert_eq!(idle.abandon_probability(), 0.0);
        assert_eq!(idle.asa_secs(), Some(0.0));
        assert!(ErlangA::new(3, 2.0, 180.0, 0.0).is_err());
        assert!(ErlangA::new(3, 2.0, 180.0, f64::INFINITY).is_err());
        // a large center does not overflow
        let big = ErlangA::new(500, 480.0, 240.0, 120.0).unwrap();
        assert!(big.p_wait() > 0.0 && big.p_wait() < 1.0);
        assert!(close(big.answered_probability() + big.abandon_probability(), 1.0, 1e-9));
    }

    #[test]
    fn erlang_a_kpi_style_rates_leave_out_short_abandons() {
        let e = ErlangA::new(10, 10.0, 180.0, 120.0).unwrap();
        let all = e.abandon_rate(0.0).unwrap().unwrap();
        assert!(close(all, e.abandon_probability(), 1e-12));
        let long_only = e.abandon_rate(5.0).unwrap().unwrap();
        assert!(long_only < all);
        let sl = e.service_level(20.0, 5.0).unwrap().unwrap();
        assert!(sl > 0.0 && sl < 1.0);
    }
}
