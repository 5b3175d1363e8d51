//! KPI definitions computed from router events (one function per KPI; see KPI.md).
//!
//! [`KpiAccumulator`] observes [`RouterEvent`]s in time order and adds them up into
//! [`Counts`], per queue and for all queues, per interval and for the whole period. The KPI
//! functions ([`abandon_rate`], [`service_level`], [`asa_secs`], [`aht_secs`],
//! [`occupancy`]) turn counts into figures. A ratio whose denominator is zero is `None`
//! ("no data"), never `NaN` or a made-up 0.
//!
//! Which interval a figure belongs to:
//! - call figures (offered, answered, abandoned, waits, talk, hold, ACW) are keyed by the
//!   time the call **entered the queue** (its `CallQueued` event), so a call that waits
//!   across an interval boundary counts where it arrived;
//! - agent time (occupancy) is split by the clock: a state that spans a boundary counts in
//!   both intervals for the part it spent in each. It is counted when the state ends.
//!
//! Per queue versus all queues: a call overflowed from A to B counts as offered to both A
//! and B, and is answered or abandoned in B (KPI.md). The all-queues totals count each call
//! once: offered when it first entered a queue, answered or abandoned once, with its wait
//! measured from that first entry, and `overflowed` when it left the router (voicemail,
//! callback, IVR, external). Occupancy is an agent measure and is only reported for all
//! queues (agents serve several queues).

use crate::acd::{OverflowAction, RouterEvent, RouterEventDetail};
use crate::agent::StateKind;
use crate::ids::{InteractionId, QueueId, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How figures are grouped and judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiConfig {
    /// Start of interval 0 (intervals before it have negative indexes).
    pub origin: Timestamp,
    /// Interval length in milliseconds (e.g. 30 minutes), at least 1.
    pub interval_ms: i64,
    /// Service-level threshold T: answered with a wait ≤ T is "within service level".
    pub sl_threshold_ms: i64,
    /// Abandons with a wait shorter than this are "short" and left out of abandon rate and
    /// service level.
    pub short_abandon_ms: i64,
}

impl Default for KpiConfig {
    /// Intervals of 30 minutes from the epoch, SL threshold 20 s, short abandons under 5 s.
    fn default() -> Self {
        KpiConfig {
            origin: Timestamp::from_millis(0),
            interval_ms: 30 * 60_000,
            sl_threshold_ms: 20_000,
            short_abandon_ms: 5_000,
        }
    }
}

/// Additive tallies from which every KPI is computed. Sums of times are in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Calls that entered the queue.
    pub offered: u64,
    /// Offered calls connected to an agent.
    pub answered: u64,
    /// Offered calls the caller ended before an agent connected (short ones included).
    pub abandoned: u64,
    /// Abandoned with a wait shorter than the short-abandon threshold.
    pub short_abandoned: u64,
    /// Calls that left the queue by an overflow rule (to another queue or out of the router;
    /// for all queues: out of the router only).
    pub overflowed: u64,
    /// Overflow rules that widened the queue (the call stayed; other queues' agents could
    /// take it).
    pub widened: u64,
    /// Offered calls still waiting or ringing when the report was made.
    pub waiting: u64,
    /// Answered with a wait ≤ the SL threshold.
    pub answered_within_sl: u64,
    /// Abandoned (short ones excluded) with a wait > the SL threshold.
    pub abandoned_after_sl: u64,
    /// Σ wait (queue entry → answer) of answered calls.
    pub answer_wait_ms: i64,
    /// Σ talk time of answered calls (holds excluded), counted when the call completes.
    pub talk_ms: i64,
    /// Σ hold time of answered calls.
    pub hold_ms: i64,
    /// Σ after-call work following answered calls.
    pub acw_ms: i64,
    /// Agents' time talking, on hold or in after-call work (by the clock).
    pub agent_busy_ms: i64,
    /// Agents' time ready and idle (by the clock).
    pub agent_ready_ms: i64,
}

impl Counts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counts) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.short_abandoned += other.short_abandoned;
        self.overflowed += other.overflowed;
        self.widened += other.widened;
        self.waiting += other.waiting;
        self.answered_within_sl += other.answered_within_sl;
        self.abandoned_after_sl += other.abandoned_after_sl;
        self.answer_wait_ms += other.answer_wait_ms;
        self.talk_ms += other.talk_ms;
        self.hold_ms += other.hold_ms;
        self.acw_ms += other.acw_ms;
        self.agent_busy_ms += other.agent_busy_ms;
        self.agent_ready_ms += other.agent_ready_ms;
    }
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// Abandon rate: abandoned ÷ (answered + abandoned), short abandons excluded from both.
/// `None` when no call was answered or (long-)abandoned.
pub fn abandon_rate(c: &Counts) -> Option<f64> {
    let long = c.abandoned.saturating_sub(c.short_abandoned) as f64;
    ratio(long, c.answered as f64 + long)
}

/// Service level: answered within T ÷ (answered + abandoned after T), short abandons
/// excluded. `None` when the denominator is zero.
pub fn service_level(c: &Counts) -> Option<f64> {
    ratio(c.answered_within_sl as f64, (c.answered + c.abandoned_after_sl) as f64)
}

/// Average speed of answer in seconds: Σ wait of answered calls ÷ answered (wait = queue
/// entry → agent connect). `None` when nothing was answered.
pub fn asa_secs(c: &Counts) -> Option<f64> {
    ratio(c.answer_wait_ms as f64 / 1000.0, c.answered as f64)
}

/// Average handle time in seconds: (talk + hold + ACW) ÷ answered. `None` when nothing was
/// answered.
pub fn aht_secs(c: &Counts) -> Option<f64> {
    ratio((c.talk_ms + c.hold_ms + c.acw_ms) as f64 / 1000.0, c.answered as f64)
}

/// Occupancy: (talk + hold + ACW) ÷ (talk + hold + ACW + ready idle), from agents' state
/// times. `None` when agents were neither busy nor ready.
pub fn occupancy(c: &Counts) -> Option<f64> {
    let busy = c.agent_busy_ms as f64;
    ratio(busy, busy + c.agent_ready_ms as f64)
}

/// The figures a manager reads, computed from [`Counts`] by the KPI functions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// Calls offered.
    pub offered: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls abandoned (short ones included).
    pub abandoned: u64,
    /// Short abandons.
    pub short_abandoned: u64,
    /// Calls that overflowed out (see [`Counts::overflowed`]).
    pub overflowed: u64,
    /// Calls still waiting at the end.
    pub waiting: u64,
    /// [`abandon_rate`], a fraction 0–1.
    pub abandon_rate: Option<f64>,
    /// [`service_level`], a fraction 0–1.
    pub service_level: Option<f64>,
    /// [`asa_secs`].
    pub asa_secs: Option<f64>,
    /// [`aht_secs`].
    pub aht_secs: Option<f64>,
    /// [`occupancy`], a fraction 0–1.
    pub occupancy: Option<f64>,
}

impl Kpis {
    /// Computes every KPI from `c`.
    pub fn from_counts(c: &Counts) -> Kpis {
        Kpis {
            offered: c.offered,
            answered: c.answered,
            abandoned: c.abandoned,
            short_abandoned: c.short_abandoned,
            overflowed: c.overflowed,
            waiting: c.waiting,
            abandon_rate: abandon_rate(c),
            service_level: service_level(c),
            asa_secs: asa_secs(c),
            aht_secs: aht_secs(c),
            occupancy: occupancy(c),
        }
    }
}

/// The counts of one interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalCounts {
    /// Interval index from the origin.
    pub index: i64,
    /// When the interval starts.
    pub start: Timestamp,
    /// Its counts.
    pub counts: Counts,
}

/// One queue's counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReport {
    /// The queue.
    pub queue: QueueId,
    /// The whole period.
    pub total: Counts,
    /// Every interval of the report's range, in order (empty ones included).
    pub intervals: Vec<IntervalCounts>,
}

/// Everything the accumulator has counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiReport {
    /// The configuration used.
    pub config: KpiConfig,
    /// All queues, whole period.
    pub total: Counts,
    /// All queues, every interval from the first to the last with anything in it.
    pub intervals: Vec<IntervalCounts>,
    /// Per queue, by queue id.
    pub queues: Vec<QueueReport>,
}

/// Where an answered call's handle time is booked: its queue and entry intervals.
#[derive(Clone, Copy, Debug)]
struct Booking {
    queue: QueueId,
    queue_interval: i64,
    first_interval: i64,
}

#[derive(Clone, Copy, Debug)]
struct CallTrack {
    first_at: Timestamp,
    queue: QueueId,
    queue_at: Timestamp,
    answered: bool,
}

impl CallTrack {
    fn booking(&self, cfg: &KpiConfig) -> Booking {
        Booking {
            queue: self.queue,
            queue_interval: interval_of(cfg, self.queue_at),
            first_interval: interval_of(cfg, self.first_at),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Bucket {
    total: Counts,
    queues: BTreeMap<QueueId, Counts>,
}

fn interval_of(cfg: &KpiConfig, at: Timestamp) -> i64 {
    at.millis_since(cfg.origin).div_euclid(cfg.interval_ms.max(1))
}

/// Adds up router events into per-queue and all-queue counts, per interval and overall.
#[derive(Clone, Debug)]
pub struct KpiAccumulator {
    config: KpiConfig,
    calls: HashMap<InteractionId, CallTrack>,
    /// The last completed call of each agent, for the after-call work that follows it.
    last_call: HashMap<UserId, Booking>,
    buckets: BTreeMap<i64, Bucket>,
}

impl KpiAccumulator {
    /// An empty accumulator (an `interval_ms` below 1 is taken as 1).
    pub fn new(config: KpiConfig) -> Self {
        KpiAccumulator {
            config: KpiConfig { interval_ms: config.interval_ms.max(1), ..config },
            calls: HashMap::new(),
            last_call: HashMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &KpiConfig {
        &self.config
    }

    fn total(&mut self, interval: i64) -> &mut Counts {
        &mut self.buckets.entry(interval).or_default().total
    }

    fn queue(&mut self, interval: i64, queue: QueueId) -> &mut Counts {
        self.buckets.entry(interval).or_default().queues.entry(queue).or_default()
    }

    /// The call's tracking record; a call first seen mid-stream (its `CallQueued` was not
    /// observed) is taken to have entered `queue` `wait_ms` before `at`.
    fn track(&self, call: InteractionId, queue: QueueId, at: Timestamp, wait_ms: i64) -> CallTrack {
        self.calls.get(&call).copied().unwrap_or(CallTrack {
            first_at: at.plus_millis(-wait_ms),
            queue,
            queue_at: at.plus_millis(-wait_ms),
            answered: false,
        })
    }

    /// Adds `ms` of agent time (busy or ready) ending at `end`, split over the intervals it spans.
    fn add_agent_time(&mut self, end: Timestamp, ms: i64, busy: bool) {
        let mut start = end.plus_millis(-ms.max(0));
        while start < end {
            let i = interval_of(&self.config, start);
            let boundary = self.config.origin.plus_millis((i + 1).saturating_mul(self.config.interval_ms));
            let stop = boundary.min(end);
            let part = stop.millis_since(start);
            let t = self.total(i);
            if busy {
                t.agent_busy_ms += part;
            } else {
                t.agent_ready_ms += part;
            }
            start = stop;
        }
    }

    /// Takes one event into account. Events must come in time order.
    pub fn observe(&mut self, event: &RouterEvent) {
        let cfg = self.config;
        let at = event.at;
        use RouterEventDetail as D;
        match &event.detail {
            D::CallQueued { call, queue, overflowed_from, .. } => {
                let moved = overflowed_from.is_some() && self.calls.contains_key(call);
                if moved {
                    if let Some(t) = self.calls.get_mut(call) {
                        t.queue = *queue;
                        t.queue_at = at;
                    }
                } else {
                    self.calls.insert(*call, CallTrack { first_at: at, queue: *queue, queue_at: at, answered: false });
                    self.total(interval_of(&cfg, at)).offered += 1;
                }
                self.queue(interval_of(&cfg, at), *queue).offered += 1;
            }
            D::CallAnswered { call, queue, wait_ms, .. } => {
                let mut t = self.track(*call, *queue, at, *wait_ms);
                t.answered = true;
                self.calls.insert(*call, t);
                let answer = |counts: &mut Counts, wait: i64| {
                    counts.answered += 1;
                    counts.answer_wait_ms += wait;
                    if wait <= cfg.sl_threshold_ms {
                        counts.answered_within_sl += 1;
                    }
                };
                let b = t.booking(&cfg);
                answer(self.queue(b.queue_interval, *queue), at.millis_since(t.queue_at));
                answer(self.total(b.first_interval), at.millis_since(t.first_at));
            }
            D::CallAbandoned { call, queue, wait_ms, .. } => {
                let t = self.track(*call, *queue, at, *wait_ms);
                self.calls.remove(call);
                let abandon = |counts: &mut Counts, wait: i64| {
                    counts.abandoned += 1;
                    if wait < cfg.short_abandon_ms {
                        counts.short_abandoned += 1;
                    } else if wait > cfg.sl_threshold_ms {
                        counts.abandoned_after_sl += 1;
                    }
                };
                let b = t.booking(&cfg);
                abandon(self.queue(b.queue_interval, *queue), at.millis_since(t.queue_at));
                abandon(self.total(b.first_interval), at.millis_since(t.first_at));
            }
            D::CallOverflowed { call, queue, action, wait_ms, .. } => {
                let t = self.track(*call, *queue, at, *wait_ms);
                let b = t.booking(&cfg);
                match action {
                    OverflowAction::Widen { .. } => self.queue(b.queue_interval, *queue).widened += 1,
                    OverflowAction::Queue { .. } => self.queue(b.queue_interval, *queue).overflowed += 1,
                    _ => {
                        self.queue(b.queue_interval, *queue).overflowed += 1;
                        self.total(b.first_interval).overflowed += 1;
                        self.calls.remove(call);
                    }
                }
            }
            // Neither answered nor abandoned: the caller took a voicemail or callback instead.
            D::CallLeftQueue { call, .. } => {
                self.calls.remove(call);
            }
            D::CallCompleted { call, queue, agent, talk_ms, hold_ms } => {
                let b = match self.calls.remove(call) {
                    Some(t) => t.booking(&cfg),
                    // not seen answered: book by completion time
                    None => Booking {
                        queue: *queue,
                        queue_interval: interval_of(&cfg, at),
                        first_interval: interval_of(&cfg, at),
                    },
                };
                let handle = |counts: &mut Counts| {
                    counts.talk_ms += talk_ms;
                    counts.hold_ms += hold_ms;
                };
                handle(self.queue(b.queue_interval, b.queue));
                handle(self.total(b.first_interval));
                self.last_call.insert(*agent, b);
            }
            D::AgentStateChanged { agent, from, duration_ms, .. } => {
                match from {
                    StateKind::Talking | StateKind::OnHold | StateKind::AfterCallWork => {
                        self.add_agent_time(at, *duration_ms, true)
                    }
                    StateKind::Ready => self.add_agent_time(at, *duration_ms, false),
                    _ => {}
                }
                if *from == StateKind::AfterCallWork
                    && let Some(b) = self.last_call.remove(agent)
                {
                    self.queue(b.queue_interval, b.queue).acw_ms += duration_ms;
                    self.total(b.first_interval).acw_ms += duration_ms;
                }
            }
            D::CallOffered { .. } | D::CallNoAnswer { .. } | D::QueuesMerged { .. } | D::QueuesSplit { .. } => {}
        }
    }

    /// Calls offered and not yet answered, abandoned or overflowed out.
    pub fn waiting(&self) -> usize {
        self.calls.values().filter(|t| !t.answered).count()
    }

    /// The counts so far, with calls still waiting counted in `waiting`.
    pub fn report(&self) -> KpiReport {
        let cfg = self.config;
        let mut buckets = self.buckets.clone();
        for t in self.calls.values().filter(|t| !t.answered) {
            let b = t.booking(&cfg);
            buckets.entry(b.first_interval).or_default().total.waiting += 1;
            let q = buckets.entry(b.queue_interval).or_default().queues.entry(b.queue).or_default();
            q.waiting += 1;
        }
        let (first, last) = match (buckets.keys().next(), buckets.keys().next_back()) {
            (Some(&f), Some(&l)) => (f, l),
            _ => (0, -1),
        };
        let start = |i: i64| cfg.origin.plus_millis(i.saturating_mul(cfg.interval_ms));
        let mut total = Counts::default();
        let mut intervals = Vec::new();
        let mut per_queue: BTreeMap<QueueId, QueueReport> = BTreeMap::new();
        for b in buckets.values() {
            for q in b.queues.keys() {
                per_queue.entry(*q).or_insert_with(|| QueueReport {
                    queue: *q,
                    total: Counts::default(),
                    intervals: Vec::new(),
                });
            }
        }
        for i in first..=last {
            let bucket = buckets.get(&i);
            let counts = bucket.map(|b| b.total).unwrap_or_default();
            total.add(&counts);
            intervals.push(IntervalCounts { index: i, start: start(i), counts });
            for (q, report) in per_queue.iter_mut() {
                let counts = bucket.and_then(|b| b.queues.get(q)).copied().unwrap_or_default();
                report.total.add(&counts);
                report.intervals.push(IntervalCounts { index: i, start: start(i), counts });
            }
        }
        KpiReport { config: cfg, total, intervals, queues: per_queue.into_values().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::Priority;
    use uuid::Uuid;

    const MIN: i64 = 60_000;

    fn call(n: u128) -> InteractionId {
        InteractionId::from_uuid(Uuid::from_u128(n))
    }
    fn queue(n: u128) -> QueueId {
        QueueId::from_uuid(Uuid::from_u128(0x100 + n))
    }
    fn agent(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(0x200 + n))
    }
    fn ev(at_ms: i64, detail: RouterEventDetail) -> RouterEvent {
        RouterEvent { at: Timestamp::from_millis(at_ms), detail }
    }
    fn queued(at: i64, c: u128, q: u128, from: Option<u128>) -> RouterEvent {
        ev(
            at,
            RouterEventDetail::CallQueued {
                call: call(c),
                queue: queue(q),
                priority: Priority::NORMAL,
                position: 1,
                customer: None,
                overflowed_from: from.map(queue),
            },
        )
    }
    fn answered(at: i64, c: u128, q: u128, a: u128, wait_ms: i64) -> RouterEvent {
        ev(at, RouterEventDetail::CallAnswered { call: call(c), queue: queue(q), agent: agent(a), wait_ms, ring_ms: 0 })
    }
    fn abandoned(at: i64, c: u128, q: u128, wait_ms: i64) -> RouterEvent {
        ev(at, RouterEventDetail::CallAbandoned { call: call(c), queue: queue(q), wait_ms, position: 1 })
    }
    fn completed(at: i64, c: u128, q: u128, a: u128, talk_ms: i64, hold_ms: i64) -> RouterEvent {
        ev(at, RouterEventDetail::CallCompleted { call: call(c), queue: queue(q), agent: agent(a), talk_ms, hold_ms })
    }
    fn state(at: i64, a: u128, from: StateKind, to: StateKind, duration_ms: i64) -> RouterEvent {
        ev(
            at,
            RouterEventDetail::AgentStateChanged { agent: agent(a), from, to, reason: None, duration_ms, call: None },
        )
    }
    fn overflowed(at: i64, c: u128, q: u128, action: OverflowAction) -> RouterEvent {
        ev(at, RouterEventDetail::CallOverflowed { call: call(c), queue: queue(q), step: 0, action, wait_ms: 0 })
    }
    fn run(events: &[RouterEvent]) -> KpiReport {
        let mut acc = KpiAccumulator::new(KpiConfig::default());
        for e in events {
            acc.observe(e);
        }
        acc.report()
    }

    #[test]
    fn one_queue_day_follows_the_definitions() {
        let r = run(&[
            // call 1: waits 10 s, talks 100 s, holds 20 s, 30 s of ACW
            queued(0, 1, 0, None),
            answered(10_000, 1, 0, 1, 10_000),
            completed(130_000, 1, 0, 1, 100_000, 20_000),
            state(160_000, 1, StateKind::AfterCallWork, StateKind::Ready, 30_000),
            // call 2: waits 30 s (outside SL), talks 60 s, no ACW
            queued(1_000, 2, 0, None),
            answered(31_000, 2, 0, 2, 30_000),
            completed(91_000, 2, 0, 2, 60_000, 0),
            // call 3: short abandon after 3 s
            queued(2_000, 3, 0, None),
            abandoned(5_000, 3, 0, 3_000),
            // call 4: abandons after 40 s
            queued(3_000, 4, 0, None),
            abandoned(43_000, 4, 0, 40_000),
            // call 5: abandons after 12 s (within T: not in the SL denominator)
            queued(4_000, 5, 0, None),
            abandoned(16_000, 5, 0, 12_000),
        ]);
        let k = Kpis::from_counts(&r.total);
        assert_eq!((k.offered, k.answered, k.abandoned, k.short_abandoned, k.waiting), (5, 2, 3, 1, 0));
        // (3 − 1 short) ÷ (2 + 2)
        assert_eq!(k.abandon_rate, Some(0.5));
        // 1 within 20 s ÷ (2 answered + 1 abandoned after 20 s)
        assert_eq!(k.service_level, Some(1.0 / 3.0));
        assert_eq!(k.asa_secs, Some(20.0));
        // (160 + 60 + 30) ÷ 2
        assert_eq!(k.aht_secs, Some(105.0));
        assert_eq!(r.queues.len(), 1);
        assert_eq!(r.queues[0].total, Counts { agent_busy_ms: 0, agent_ready_ms: 0, ..r.total });
    }

    #[test]
    fn calls_count_in_the_interval_they_entered() {
        let r = run(&[
            queued(29 * MIN + 59_000, 1, 0, None),
            answered(30 * MIN + 10_000, 1, 0, 1, 11_000),
            completed(33 * MIN, 1, 0, 1, 170_000, 0),
            queued(31 * MIN, 2, 0, None),
        ]);
        assert_eq!(r.intervals.len(), 2);
        assert_eq!(r.intervals[0].counts.offered, 1);
        assert_eq!(r.intervals[0].counts.answered, 1);
        assert_eq!(r.intervals[0].counts.talk_ms, 170_000);
        assert_eq!(r.intervals[1].start, Timestamp::from_millis(30 * MIN));
        assert_eq!(r.intervals[1].counts.offered, 1);
        assert_eq!(r.intervals[1].counts.answered, 0);
        assert_eq!(r.intervals[1].counts.waiting, 1);
        assert_eq!(r.total.waiting, 1);
    }

    #[test]
    fn overflow_counts_as_offered_to_both_queues_and_once_in_total() {
        let vip = 1;
        let product = 2;
        let r = run(&[
            // call 1 moves vip → product and is answered there
            queued(0, 1, vip, None),
            overflowed(60_000, 1, vip, OverflowAction::Queue { queue: queue(product) }),
            queued(60_000, 1, product, Some(vip)),
            answered(65_000, 1, product, 7, 5_000),
            // call 2 is widened in vip and answered there
            queued(1_000, 2, vip, None),
            overflowed(61_000, 2, vip, OverflowAction::Widen { queues: vec![queue(product)] }),
            answered(62_000, 2, vip, 8, 61_000),
            // call 3 leaves to voicemail
            queued(2_000, 3, product, None),
            overflowed(120_000, 3, product, OverflowAction::Voicemail),
        ]);
        let v = &r.queues.iter().find(|q| q.queue == queue(vip)).unwrap().total;
        let p = &r.queues.iter().find(|q| q.queue == queue(product)).unwrap().total;
        assert_eq!((v.offered, v.answered, v.overflowed, v.widened), (2, 1, 1, 1));
        assert_eq!((p.offered, p.answered, p.overflowed), (2, 1, 1));
        // product's wait is from entering product; the center's from the first queue
        assert_eq!(p.answer_wait_ms, 5_000);
        assert_eq!((r.total.offered, r.total.answered, r.total.overflowed), (3, 2, 1));
        assert_eq!(r.total.answer_wait_ms, 65_000 + 61_000);
        // conservation per queue and in total
        for c in [v, p, &r.total] {
            assert_eq!(c.offered, c.answered + c.abandoned + c.overflowed + c.waiting, "{c:?}");
        }
    }

    #[test]
    fn occupancy_uses_agent_state_time_split_by_the_clock() {
        let r = run(&[
            // ready 20:00–29:00, talking 29:00–32:00, ACW 32:00–33:00, ready 33:00–40:00
            state(29 * MIN, 1, StateKind::Ready, StateKind::Reserved, 9 * MIN),
            state(32 * MIN, 1, StateKind::Talking, StateKind::AfterCallWork, 3 * MIN),
            state(33 * MIN, 1, StateKind::AfterCallWork, StateKind::Ready, MIN),
            state(40 * MIN, 1, StateKind::Ready, StateKind::NotReady, 7 * MIN),
        ]);
        let first = &r.intervals[0].counts;
        let second = &r.intervals[1].counts;
        assert_eq!((first.agent_ready_ms, first.agent_busy_ms), (9 * MIN, MIN));
        assert_eq!((second.agent_ready_ms, second.agent_busy_ms), (7 * MIN, 3 * MIN));
        assert_eq!(occupancy(first), Some(0.1));
        assert_eq!(occupancy(&r.total), Some(4.0 / 20.0));
        // agent time is not per queue
        assert!(r.queues.is_empty());
    }

    #[test]
    fn empty_denominators_are_none() {
        let k = Kpis::from_counts(&Counts::default());
        assert_eq!(
            (k.abandon_rate, k.service_level, k.asa_secs, k.aht_secs, k.occupancy),
            (None, None, None, None, None)
        );
        // only short abandons: still no abandon rate or service level
        let c = Counts { offered: 2, abandoned: 2, short_abandoned: 2, ..Counts::default() };
        assert_eq!(abandon_rate(&c), None);
        assert_eq!(service_level(&c), None);
        let r = run(&[]);
        assert!(r.intervals.is_empty());
        assert_eq!(r.total, Counts::default());
    }

    #[test]
    fn a_call_seen_mid_stream_is_booked_from_its_wait() {
        // its CallQueued came before the accumulator started
        let r = run(&[answered(31 * MIN, 9, 0, 1, 2 * MIN)]);
        assert_eq!(r.intervals[0].start, Timestamp::from_millis(0));
        assert_eq!(r.total.answered, 1);
        assert_eq!(r.total.answer_wait_ms, 2 * MIN);
        assert_eq!(r.total.answered_within_sl, 0);
    }
}
