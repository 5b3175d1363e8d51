//! Picking among the free agents that qualify for a call, by the queue's strategy. Ties are
//! broken by the longest idle time, then by agent id, so every decision is deterministic.

use crate::ids::UserId;
use crate::org::QueueStrategy;
use crate::time::Timestamp;
use std::cmp::Ordering;

/// What a strategy needs to know about one free candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index in the router's agent table.
    pub idx: usize,
    /// The agent's id (final tie-breaker).
    pub id: UserId,
    /// When the agent last became ready.
    pub idle_since: Timestamp,
    /// Calls the agent has answered.
    pub calls_answered: u32,
    /// Sum of the agent's proficiency in the queue's required skills.
    pub skill_score: u32,
    /// Position in the queue's fixed order (`top_down`), unlisted agents after all listed.
    pub order_rank: usize,
}

fn idle_then_id(a: &Candidate, b: &Candidate) -> Ordering {
    a.idle_since.cmp(&b.idle_since).then(a.id.cmp(&b.id))
}

/// The better of two candidates under `strategy` (`Less` means `a` is preferred).
pub fn compare(strategy: QueueStrategy, a: &Candidate, b: &Candidate) -> Ordering {
    match strategy {
        QueueStrategy::LongestIdle | QueueStrategy::RingAll | QueueStrategy::RoundRobin => idle_then_id(a, b),
        QueueStrategy::LeastCalls => a.calls_answered.cmp(&b.calls_answered).then_with(|| idle_then_id(a, b)),
        QueueStrategy::SkillWeighted => b.skill_score.cmp(&a.skill_score).then_with(|| idle_then_id(a, b)),
        QueueStrategy::TopDown => a.order_rank.cmp(&b.order_rank).then(a.id.cmp(&b.id)),
    }
}

/// Picks the agent for a call from a stream of free candidates, without collecting them.
/// Round robin takes the first candidate (by id) after the one offered last (`rr_last`),
/// wrapping around; the other strategies take the best by [`compare`].
#[derive(Clone, Debug)]
pub struct Picker {
    strategy: QueueStrategy,
    rr_last: Option<UserId>,
    best: Option<Candidate>,
    /// Round robin: the smallest id overall, for wrapping around.
    first: Option<Candidate>,
}

impl Picker {
    /// A picker for `strategy`; `rr_last` is the agent the queue offered to last.
    pub fn new(strategy: QueueStrategy, rr_last: Option<UserId>) -> Self {
        Picker { strategy, rr_last, best: None, first: None }
    }

    /// Considers one candidate.
    pub fn consider(&mut self, c: Candidate) {
        if self.strategy == QueueStrategy::RoundRobin {
            if self.first.is_none_or(|f| c.id < f.id) {
                self.first = Some(c);
            }
            if self.rr_last.is_none_or(|last| c.id > last) && self.best.is_none_or(|b| c.id < b.id) {
                self.best = Some(c);
            }
        } else if self.best.as_ref().is_none_or(|b| compare(self.strategy, &c, b).is_lt()) {
            self.best = Some(c);
        }
    }

    /// The chosen candidate, if any was considered.
    pub fn finish(self) -> Option<Candidate> {
        self.best.or(self.first)
    }
}

/// The candidate to offer the call to (see [`Picker`]).
pub fn pick(strategy: QueueStrategy, candidates: &[Candidate], rr_last: Option<UserId>) -> Option<Candidate> {
    let mut p = Picker::new(strategy, rr_last);
    for c in candidates {
        p.consider(*c);
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(idx: usize, idle: i64, calls: u32, score: u32, rank: usize) -> Candidate {
        Candidate {
            idx,
            id: UserId::from_uuid(uuid::Uuid::from_u128(idx as u128 + 100)),
            idle_since: Timestamp::from_millis(idle),
            calls_answered: calls,
            skill_score: score,
            order_rank: rank,
        }
    }

    fn picked(s: QueueStrategy, cs: &[Candidate]) -> usize {
        pick(s, cs, None).unwrap().idx
    }

    #[test]
    fn longest_idle_prefers_earliest_ready_and_breaks_ties_by_id() {
        let cs = [c(0, 500, 0, 0, 0), c(1, 100, 9, 0, 0), c(2, 300, 0, 0, 0)];
        assert_eq!(picked(QueueStrategy::LongestIdle, &cs), 1);
        let tie = [c(2, 100, 0, 0, 0), c(1, 100, 0, 0, 0)];
        assert_eq!(picked(QueueStrategy::LongestIdle, &tie), 1, "lower id wins a tie");
    }

    #[test]
    fn least_calls_then_longest_idle() {
        let cs = [c(0, 100, 5, 0, 0), c(1, 300, 2, 0, 0), c(2, 200, 2, 0, 0)];
        assert_eq!(picked(QueueStrategy::LeastCalls, &cs), 2);
        let tie = [c(4, 200, 2, 0, 0), c(3, 200, 2, 0, 0)];
        assert_eq!(picked(QueueStrategy::LeastCalls, &tie), 3);
    }

    #[test]
    fn skill_weighted_best_proficiency_then_longest_idle() {
        let cs = [c(0, 100, 0, 6, 0), c(1, 300, 0, 9, 0), c(2, 200, 0, 9, 0)];
        assert_eq!(picked(QueueStrategy::SkillWeighted, &cs), 2);
        let tie = [c(6, 50, 0, 9, 0), c(5, 50, 0, 9, 0)];
        assert_eq!(picked(QueueStrategy::SkillWeighted, &tie), 5);
    }

    #[test]
    fn top_down_follows_the_fixed_order() {
        let cs = [c(0, 100, 0, 0, 2), c(1, 50, 0, 0, 0), c(2, 10, 0, 0, 1)];
        assert_eq!(picked(QueueStrategy::TopDown, &cs), 1);
        let unlisted = [c(3, 0, 0, 0, usize::MAX), c(2, 0, 0, 0, usize::MAX)];
        assert_eq!(picked(QueueStrategy::TopDown, &unlisted), 2, "unlisted agents by id");
    }

    #[test]
    fn round_robin_remembers_the_last_agent_and_wraps() {
        let cs = [c(0, 0, 0, 0, 0), c(1, 0, 0, 0, 0), c(2, 0, 0, 0, 0)];
        let first = pick(QueueStrategy::RoundRobin, &cs, None).unwrap();
        assert_eq!(first.idx, 0);
        let second = pick(QueueStrategy::RoundRobin, &cs, Some(first.id)).unwrap();
        assert_eq!(second.idx, 1);
        let third = pick(QueueStrategy::RoundRobin, &cs, Some(second.id)).unwrap();
        assert_eq!(third.idx, 2);
        let wrapped = pick(QueueStrategy::RoundRobin, &cs, Some(third.id)).unwrap();
        assert_eq!(wrapped.idx, 0);
        // the remembered agent is busy now: the next one after it still gets the call
        let without_1 = [cs[0], cs[2]];
        assert_eq!(pick(QueueStrategy::RoundRobin, &without_1, Some(first.id)).unwrap().idx, 2);
    }

    #[test]
    fn no_candidates_no_pick() {
        for s in QueueStrategy::ALL {
            assert!(pick(s, &[], None).is_none());
        }
    }
}
