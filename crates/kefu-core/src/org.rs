//! How the center is organised: skill proficiency, queue routing strategy and the service
//! targets a queue is measured against. The ACD that acts on these lives in `acd` (later).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How well an agent holds a skill, 1 (novice) to 10 (expert).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Proficiency(u8);

/// A proficiency outside 1–10.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("proficiency must be between 1 and 10, got {0}")]
pub struct InvalidProficiency(pub i64);

impl Proficiency {
    /// The lowest proficiency.
    pub const MIN: Proficiency = Proficiency(1);
    /// The highest proficiency.
    pub const MAX: Proficiency = Proficiency(10);

    /// Checks that `value` is within 1–10.
    pub fn new(value: i64) -> Result<Self, InvalidProficiency> {
        match u8::try_from(value) {
            Ok(v @ 1..=10) => Ok(Self(v)),
            _ => Err(InvalidProficiency(value)),
        }
    }

    /// The level, 1–10.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Proficiency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        Proficiency::new(v).map_err(serde::de::Error::custom)
    }
}

/// How a queue picks among the free agents that qualify for a call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueStrategy {
    /// The agent who has been idle longest (the default).
    #[default]
    LongestIdle,
    /// The agent who has taken the fewest calls today.
    LeastCalls,
    /// The next agent after the one offered last time.
    RoundRobin,
    /// Every free qualified agent at once; the first to answer takes the call.
    RingAll,
    /// The best proficiency in the queue's skills, then the longest idle.
    SkillWeighted,
    /// A fixed order of agents, always from the top.
    TopDown,
}

impl QueueStrategy {
    /// Every strategy.
    pub const ALL: [QueueStrategy; 6] = [
        QueueStrategy::LongestIdle,
        QueueStrategy::LeastCalls,
        QueueStrategy::RoundRobin,
        QueueStrategy::RingAll,
        QueueStrategy::SkillWeighted,
        QueueStrategy::TopDown,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            QueueStrategy::LongestIdle => "longest_idle",
            QueueStrategy::LeastCalls => "least_calls",
            QueueStrategy::RoundRobin => "round_robin",
            QueueStrategy::RingAll => "ring_all",
            QueueStrategy::SkillWeighted => "skill_weighted",
            QueueStrategy::TopDown => "top_down",
        }
    }
}

impl fmt::Display for QueueStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A strategy name kefu does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown queue strategy `{0}`")]
pub struct UnknownStrategy(pub String);

impl FromStr for QueueStrategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueStrategy::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownStrategy(s.chars().take(32).collect()))
    }
}

/// The service targets a queue is measured against (defaults from the requirements).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceTargets {
    /// Service-level threshold: a call answered within this many seconds is "in service level".
    pub service_level_secs: u32,
    /// Target share of calls answered within the threshold, in percent (0–100).
    pub service_level_pct: f64,
    /// Target average speed of answer, in seconds.
    pub asa_secs: u32,
    /// Highest acceptable abandon rate, in percent (0–100).
    pub max_abandon_pct: f64,
}

impl Default for ServiceTargets {
    fn default() -> Self {
        Self { service_level_secs: 20, service_level_pct: 80.0, asa_secs: 20, max_abandon_pct: 5.0 }
    }
}

impl ServiceTargets {
    /// Every problem with these targets, empty if they are sound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.service_level_secs == 0 {
            out.push("service_level_secs must be at least 1".to_owned());
        }
        for (name, v) in [("service_level_pct", self.service_level_pct), ("max_abandon_pct", self.max_abandon_pct)] {
            if !(0.0..=100.0).contains(&v) {
                out.push(format!("{name} must be between 0 and 100, got {v}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proficiency_accepts_only_one_to_ten() {
        assert!(Proficiency::new(0).is_err());
        assert!(Proficiency::new(11).is_err());
        assert!(Proficiency::new(-3).is_err());
        assert_eq!(Proficiency::new(7).map(Proficiency::get), Ok(7));
        let err = serde_json::from_str::<Proficiency>("12").unwrap_err();
        assert!(err.to_string().contains("between 1 and 10"), "{err}");
    }

    #[test]
    fn strategy_names_round_trip() {
        for s in QueueStrategy::ALL {
            assert_eq!(s.as_str().parse::<QueueStrategy>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        assert_eq!(QueueStrategy::default(), QueueStrategy::LongestIdle);
    }

    #[test]
    fn targets_report_every_problem() {
        let t = ServiceTargets { service_level_secs: 0, service_level_pct: 120.0, asa_secs: 20, max_abandon_pct: -1.0 };
        assert_eq!(t.problems().len(), 3);
        assert!(ServiceTargets::default().problems().is_empty());
    }
}
