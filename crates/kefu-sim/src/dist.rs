//! Random draws: non-homogeneous Poisson arrivals (piecewise-constant rate per hour),
//! handle times (exponential or log-normal) and caller patience (exponential or none).

use crate::scenario::{HandleTime, Patience};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, LogNormal};

const HOUR_MS: f64 = 3_600_000.0;

/// Arrivals of one call type: a Poisson process whose rate is constant within each hour.
///
/// Exact method: within an hour, gaps are exponential with that hour's rate; when a gap
/// would cross the end of the hour, the draw is discarded and the process restarts at the
/// boundary with the next hour's rate — valid because the exponential is memoryless.
#[derive(Clone, Debug)]
pub struct Arrivals {
    /// calls per ms for each hour
    rates: Vec<f64>,
    horizon_ms: f64,
    /// current time (ms, fractional) and its hour
    t: f64,
    hour: usize,
}

impl Arrivals {
    /// Arrivals at `calls_per_hour[h]` during hour h, over `[0, horizon_ms)`.
    pub fn new(calls_per_hour: &[f64], horizon_ms: i64) -> Self {
        Arrivals {
            rates: calls_per_hour.iter().map(|r| r / HOUR_MS).collect(),
            horizon_ms: horizon_ms as f64,
            t: 0.0,
            hour: 0,
        }
    }

    /// The next arrival time in ms (rounded), or `None` after the end of the day.
    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> Option<i64> {
        loop {
            let end = ((self.hour + 1) as f64 * HOUR_MS).min(self.horizon_ms);
            if self.hour >= self.rates.len() || self.t >= self.horizon_ms {
                return None;
            }
            let rate = self.rates[self.hour];
            if rate > 0.0 {
                let gap: f64 = Exp1.sample(rng);
                let t = self.t + gap / rate;
                if t < end {
                    self.t = t;
                    return Some(t.round() as i64);
                }
            }
            self.t = end;
            self.hour += 1;
        }
    }
}

/// Draws handle times in ms (at least 1).
#[derive(Clone, Copy, Debug)]
pub enum HandleSampler {
    /// Exponential with this mean in ms.
    Exponential(f64),
    /// Log-normal in seconds.
    Lognormal(LogNormal<f64>),
}

impl HandleSampler {
    /// A sampler for `h` (parameters were checked when the scenario was loaded; a
    /// log-normal with unusable parameters falls back to an exponential of the same mean).
    pub fn new(h: HandleTime) -> Self {
        match h {
            HandleTime::Exponential { mean_secs } => HandleSampler::Exponential(mean_secs * 1000.0),
            HandleTime::Lognormal { mean_secs, sd_secs } => {
                // mean m and sd s of the log-normal give σ² = ln(1 + s²/m²), μ = ln m − σ²/2
                let sigma2 = (1.0 + (sd_secs / mean_secs).powi(2)).ln();
                match LogNormal::new(mean_secs.ln() - sigma2 / 2.0, sigma2.sqrt()) {
                    Ok(d) => HandleSampler::Lognormal(d),
                    Err(_) => HandleSampler::Exponential(mean_secs * 1000.0),
                }
            }
        }
    }

    /// One handle time in ms.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> i64 {
        let ms = match self {
            HandleSampler::Exponential(mean) => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            HandleSampler::Lognormal(d) => d.sample(rng) * 1000.0,
        };
        (ms.round() as i64).max(1)
    }
}

/// One patience in ms, or `None` for callers who never hang up.
pub fn patience_ms(p: Patience, rng: &mut ChaCha8Rng) -> Option<i64> {
    match p {
        Patience::None => None,
        Patience::Exponential { mean_secs } => {
            let e: f64 = Exp1.sample(rng);
            Some((e * mean_secs * 1000.0).round() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn arrivals_follow_the_hourly_profile() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // 0 calls in hour 0, 600 in hour 1, 60 in hour 2 (the day ends halfway through)
        let mut a = Arrivals::new(&[0.0, 600.0, 60.0], (2.5 * HOUR_MS) as i64);
        let mut per_hour = [0u32; 3];
        let mut last = 0;
        while let Some(t) = a.next(&mut rng) {
            assert!(t >= last && t < (2.5 * HOUR_MS) as i64);
            last = t;
            per_hour[(t as f64 / HOUR_MS) as usize] += 1;
        }
        assert_eq!(per_hour[0], 0);
        // Poisson(600): ±4 sd ≈ ±98; Poisson(30): ±4 sd ≈ ±22
        assert!((502..=698).contains(&per_hour[1]), "{per_hour:?}");
        assert!((8..=52).contains(&per_hour[2]), "{per_hour:?}");
    }

    #[test]
    fn handle_time_means_match() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for h in
            [HandleTime::Exponential { mean_secs: 180.0 }, HandleTime::Lognormal { mean_secs: 180.0, sd_secs: 90.0 }]
        {
            let s = HandleSampler::new(h);
            let n = 100_000;
            let mean = (0..n).map(|_| s.sample(&mut rng) as f64).sum::<f64>() / f64::from(n) / 1000.0;
            // standard error ≤ 180/√n ≈ 0.57 s
            assert!((mean - 180.0).abs() < 2.5, "{h:?}: {mean}");
        }
        let fixed = HandleSampler::new(HandleTime::Lognormal { mean_secs: 60.0, sd_secs: 0.0 });
        assert_eq!(fixed.sample(&mut rng), 60_000);
        assert_eq!(patience_ms(Patience::None, &mut rng), None);
    }
}
