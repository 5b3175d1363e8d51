//! Real-time queue statistics, kept up to date as the router decides (the wallboard reads
//! these; reports recompute the same figures from the event log with `kefu_core::kpi`).

use crate::agent::StateKind;
use crate::ids::QueueId;
use serde::Serialize;

/// Running counts of a queue since the router started (or was reset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueCounters {
    /// Calls that entered the queue (overflowed-in calls count in both queues).
    pub offered: u64,
    /// Calls an agent answered.
    pub answered: u64,
    /// Of those, answered within the service-level threshold.
    pub answered_in_sl: u64,
    /// Σ queue wait of answered calls, ms.
    pub answer_wait_ms: i64,
    /// Abandoned after at least `short_abandon_ms`.
    pub abandoned: u64,
    /// Of those, abandoned after the service-level threshold.
    pub abandoned_after_sl: u64,
    /// Abandoned before `short_abandon_ms` (left out of abandon rate and SL).
    pub short_abandoned: u64,
    /// Overflow steps fired.
    pub overflowed: u64,
    /// Callers who chose to leave while waiting (voicemail, callback).
    pub left: u64,
    /// Answered calls that ended.
    pub completed: u64,
}

/// A snapshot of one queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueStats {
    /// The queue.
    pub queue: QueueId,
    /// Calls waiting now.
    pub waiting: u32,
    /// Longest current wait, ms.
    pub longest_wait_ms: i64,
    /// Calls offered so far.
    pub offered: u64,
    /// Calls answered so far.
    pub answered: u64,
    /// Calls abandoned so far (short abandons excluded).
    pub abandoned: u64,
    /// Short abandons so far.
    pub short_abandoned: u64,
    /// Overflow steps fired so far.
    pub overflowed: u64,
    /// Callers who chose a voicemail or callback while waiting, so far.
    pub left: u64,
    /// Service-level threshold, ms.
    pub sl_threshold_ms: i64,
    /// Answered within T ÷ (answered + abandoned after T); `None` before any such call.
    pub service_level: Option<f64>,
    /// Abandoned ÷ (answered + abandoned); `None` before any call ended either way.
    pub abandon_rate: Option<f64>,
    /// Average speed of answer, seconds; `None` before the first answer.
    pub asa_secs: Option<f64>,
    /// Current handle-time estimate used for waits, seconds.
    pub aht_estimate_secs: u32,
    /// Qualified agents by state.
    pub agents: Vec<(StateKind, u32)>,
}

impl QueueStats {
    /// Builds a snapshot (the rates follow KPI.md).
    pub fn new(
        queue: QueueId,
        sl_threshold_ms: i64,
        waiting: u32,
        longest_wait_ms: i64,
        c: &QueueCounters,
        agents: Vec<(StateKind, u32)>,
        aht_estimate_secs: u32,
    ) -> Self {
        let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        QueueStats {
            queue,
            waiting,
            longest_wait_ms,
            offered: c.offered,
            answered: c.answered,
            abandoned: c.abandoned,
            short_abandoned: c.short_abandoned,
            overflowed: c.overflowed,
            left: c.left,
            sl_threshold_ms,
            service_level: ratio(c.answered_in_sl, c.answered + c.abandoned_after_sl),
            abandon_rate: ratio(c.abandoned, c.answered + c.abandoned),
            asa_secs: (c.answered > 0).then(|| c.answer_wait_ms as f64 / 1000.0 / c.answered as f64),
            aht_estimate_secs,
            agents,
        }
    }

    /// Agents of the queue in `kind`.
    pub fn agents_in(&self, kind: StateKind) -> u32 {
        self.agents.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n)
    }
}
