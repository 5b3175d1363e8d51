//! The SLA clock of a work order: first-response, update and resolution targets measured on
//! a business calendar, paused while the order is pending, with warnings at a percentage of
//! each target. Everything is a function of the recorded state and the time passed in, so
//! the timers the server stores can be recomputed at any moment and come out the same.

use super::calendar::BusinessCalendar;
use super::category::SlaTargets;
use super::ticket::{TicketStatus, str_enum};
use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

const MIN_MS: i64 = 60_000;
/// The due time of a target that can never fall due (see [`BusinessCalendar::add`]).
pub const NEVER: Timestamp = Timestamp::from_millis(i64::MAX);
/// The default warning threshold, in percent of a target.
pub const DEFAULT_WARN_PERCENT: u8 = 80;

/// The calendar an SLA runs on: the center's when the category counts business hours,
/// else around the clock.
pub fn sla_calendar(business_hours: bool, center: &BusinessCalendar) -> Cow<'_, BusinessCalendar> {
    if business_hours { Cow::Borrowed(center) } else { Cow::Owned(BusinessCalendar::always()) }
}

/// The targets of one order in milliseconds of its calendar's open time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// Open time allowed until the first response.
    pub first_response_ms: i64,
    /// Open time allowed between progress updates while the order is open.
    pub update_every_ms: Option<i64>,
    /// Open time allowed until resolution, pauses excluded.
    pub resolution_ms: i64,
    /// Warn when this percentage of a target is used; no warnings unless 1–99.
    pub warn_percent: u8,
}

impl SlaPolicy {
    /// The policy of a category's targets, warning at `warn_percent`.
    pub fn from_targets(targets: &SlaTargets, warn_percent: u8) -> SlaPolicy {
        SlaPolicy {
            first_response_ms: i64::from(targets.first_response_mins) * MIN_MS,
            update_every_ms: targets.update_every_mins.map(|m| i64::from(m) * MIN_MS),
            resolution_ms: i64::from(targets.resolution_mins) * MIN_MS,
            warn_percent,
        }
    }

    /// The part of `target_ms` after which a warning is due, if warnings are on.
    fn warn_ms(&self, target_ms: i64) -> Option<i64> {
        (1..100).contains(&self.warn_percent).then(|| target_ms.saturating_mul(i64::from(self.warn_percent)) / 100)
    }
}

/// What the SLA clock has recorded about one order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlaState {
    /// When the order was created; every clock starts here.
    pub created_at: Timestamp,
    /// The first response to the customer.
    #[serde(default)]
    pub first_response_at: Option<Timestamp>,
    /// The latest progress update.
    #[serde(default)]
    pub last_update_at: Option<Timestamp>,
    /// When the order was resolved (cleared on reopen).
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    /// Since when the order has been pending (clock paused), if it is.
    #[serde(default)]
    pub paused_since: Option<Timestamp>,
    /// Open time spent in finished pauses.
    #[serde(default)]
    pub paused_ms: i64,
    /// Open time spent in finished pauses since the update clock last restarted.
    #[serde(default)]
    pub update_paused_ms: i64,
}

impl SlaState {
    /// The state of an order created at `created_at`.
    pub const fn new(created_at: Timestamp) -> SlaState {
        SlaState {
            created_at,
            first_response_at: None,
            last_update_at: None,
            resolved_at: None,
            paused_since: None,
            paused_ms: 0,
            update_paused_ms: 0,
        }
    }

    /// Where the update clock counts from: the last update, else the first response, else creation.
    pub fn update_base(&self) -> Timestamp {
        self.last_update_at.or(self.first_response_at).unwrap_or(self.created_at)
    }

    /// Whether the resolution and update clocks are paused (the order is pending).
    pub const fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// The order went pending at `now`: resolution and update clocks stop (not first response).
    /// No effect if already paused or resolved.
    pub fn pause(&mut self, now: Timestamp) {
        if self.paused_since.is_none() && self.resolved_at.is_none() {
            self.paused_since = Some(now);
        }
    }

    /// The order left pending at `now`: the open time of the pause (on `cal`) is added to
    /// `paused_ms`. No effect if not paused.
    pub fn resume(&mut self, cal: &BusinessCalendar, now: Timestamp) {
        if let Some(since) = self.paused_since.take() {
            self.paused_ms = self.paused_ms.saturating_add(cal.between(since, now));
            let update_part = cal.between(since.max(self.update_base()), now);
            self.update_paused_ms = self.update_paused_ms.saturating_add(update_part);
        }
    }

    /// The customer got a first response at `now` (later calls change nothing).
    pub fn responded(&mut self, now: Timestamp) {
        if self.first_response_at.is_none() {
            if self.last_update_at.is_none() {
                // The update clock now counts from the first response.
                self.update_paused_ms = 0;
            }
            self.first_response_at = Some(now);
        }
    }

    /// Progress was noted at `now`: the update clock restarts.
    pub fn updated(&mut self, now: Timestamp) {
        self.last_update_at = Some(now);
        self.update_paused_ms = 0;
    }

    /// The order was resolved at `now`. A pause still open ends here, and a resolution also
    /// counts as the first response if there was none. Later calls change nothing.
    pub fn resolved(&mut self, cal: &BusinessCalendar, now: Timestamp) {
        if self.resolved_at.is_some() {
            return;
        }
        self.resume(cal, now);
        self.responded(now);
        self.resolved_at = Some(now);
    }

    /// The order was reopened at `now`: the resolution clock runs again from where it was
    /// (the time spent resolved counts, as in a "full resolution time"), and the update clock
    /// restarts at `now`. No effect unless resolved.
    pub fn reopened(&mut self, now: Timestamp) {
        if self.resolved_at.take().is_some() {
            self.updated(now);
        }
    }

    /// Applies a status change `from` → `to` at `now`: pauses on entering pending, resumes
    /// on leaving it, records resolution and reopening. Other changes leave the clock alone.
    pub fn on_status_change(&mut self, cal: &BusinessCalendar, from: TicketStatus, to: TicketStatus, now: Timestamp) {
        if from.sla_paused() && !to.sla_paused() {
            self.resume(cal, now);
        }
        if TicketStatus::is_reopen(from, to) {
            self.reopened(now);
        }
        match to {
            TicketStatus::Pending => self.pause(now),
            TicketStatus::Resolved => self.resolved(cal, now),
            _ => {}
        }
    }
}

str_enum!(
    /// What an SLA timer announces when it falls due.
    TimerKind, "SLA timer kind" {
        /// The first response is getting close to its target.
        FirstResponseWarning = "first_response_warning",
        /// The first response is late.
        FirstResponseBreach = "first_response_breach",
        /// A progress update is getting close to due.
        UpdateWarning = "update_warning",
        /// A progress update is overdue.
        UpdateBreach = "update_breach",
        /// Resolution is getting close to its target.
        ResolutionWarning = "resolution_warning",
        /// Resolution is late.
        ResolutionBreach = "resolution_breach",
    }
);

impl TimerKind {
    /// Whether this is a breach (rather than a warning).
    pub const fn is_breach(self) -> bool {
        matches!(self, TimerKind::FirstResponseBreach | TimerKind::UpdateBreach | TimerKind::ResolutionBreach)
    }
}

/// A timer that should exist: fire `kind` at `due`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerSpec {
    /// What the timer announces.
    pub kind: TimerKind,
    /// When it falls due.
    pub due: Timestamp,
}

/// The instant the clock behind `kind` started: creation for first response and
/// resolution, [`SlaState::update_base`] for updates. A server that has fired `kind` for a
/// given clock start should not fire it again for the same start, even if a later pause moves
/// the due time of an already-passed threshold (pauses shift due times, see [`timers`]).
pub fn clock_start(kind: TimerKind, state: &SlaState) -> Timestamp {
    match kind {
        TimerKind::UpdateWarning | TimerKind::UpdateBreach => state.update_base(),
        _ => state.created_at,
    }
}

/// The timers that should exist now for `state`, sorted by due time then kind: none for a
/// met target, none for resolution or update while paused or resolved, none that would never
/// fall due. Due times are pure functions of the state: recomputing after an unrelated change
/// gives identical pairs. A pause moves resolution and update due times later by its open
/// time — including thresholds already passed before it (see [`clock_start`]).
pub fn timers(policy: &SlaPolicy, state: &SlaState, cal: &BusinessCalendar) -> Vec<TimerSpec> {
    let mut out = Vec::new();
    let mut push = |kind: TimerKind, from: Timestamp, ms: i64| {
        let due = cal.add(from, ms);
        if due != NEVER {
            out.push(TimerSpec { kind, due });
        }
    };
    if state.first_response_at.is_none() && state.resolved_at.is_none() {
        let target = policy.first_response_ms;
        if let Some(w) = policy.warn_ms(target) {
            push(TimerKind::FirstResponseWarning, state.created_at, w);
        }
        push(TimerKind::FirstResponseBreach, state.created_at, target);
    }
    if state.resolved_at.is_none() && state.paused_since.is_none() {
        if let Some(every) = policy.update_every_ms {
            let base = state.update_base();
            if let Some(w) = policy.warn_ms(every) {
                push(TimerKind::UpdateWarning, base, w.saturating_add(state.update_paused_ms));
            }
            push(TimerKind::UpdateBreach, base, every.saturating_add(state.update_paused_ms));
        }
        let target = policy.resolution_ms;
        if let Some(w) = policy.warn_ms(target) {
            push(TimerKind::ResolutionWarning, state.created_at, w.saturating_add(state.paused_ms));
        }
        push(TimerKind::ResolutionBreach, state.created_at, target.saturating_add(state.paused_ms));
    }
    out.sort_by_key(|t| (t.due, t.kind));
    out
}

/// How one target stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetStatus {
    /// When the target falls due; none while its clock is paused or stopped.
    pub due: Option<Timestamp>,
    /// When it was met, if it was.
    pub met_at: Option<Timestamp>,
    /// Met late, or not met and past due.
    pub breached: bool,
    /// Open time used so far (until met), in percent of the target; may exceed 100.
    pub used_percent: u32,
}

/// How all targets of an order stand at a moment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SlaStatus {
    /// The first response.
    pub first_response: TargetStatus,
    /// The current update interval (none without an update target).
    pub update: Option<TargetStatus>,
    /// Resolution.
    pub resolution: TargetStatus,
    /// Whether the order is pending (resolution and update clocks stopped).
    pub paused: bool,
}

fn percent(used_ms: i64, target_ms: i64) -> u32 {
    if target_ms <= 0 {
        return if used_ms > 0 { 100 } else { 0 };
    }
    let p = i128::from(used_ms.max(0)) * 100 / i128::from(target_ms);
    u32::try_from(p).unwrap_or(u32::MAX)
}

fn due_or_none(t: Timestamp) -> Option<Timestamp> {
    (t != NEVER).then_some(t)
}

/// Where each target of `state` stands at `now` on calendar `cal`.
pub fn status(policy: &SlaPolicy, state: &SlaState, cal: &BusinessCalendar, now: Timestamp) -> SlaStatus {
    let created = state.created_at;
    // Open time of the pause in progress, up to `end`, counted from no earlier than `from`.
    let open_pause = |from: Timestamp, end: Timestamp| state.paused_since.map_or(0, |p| cal.between(p.max(from), end));

    let fr_due = cal.add(created, policy.first_response_ms);
    let fr_met = state.first_response_at;
    let fr_used = cal.between(created, fr_met.unwrap_or(now));
    let first_response = TargetStatus {
        due: due_or_none(fr_due),
        met_at: fr_met,
        breached: fr_met.map_or(now >= fr_due, |m| m > fr_due),
        used_percent: percent(fr_used, policy.first_response_ms),
    };

    let res_end = state.resolved_at.unwrap_or(now);
    let res_used = cal.between(created, res_end) - state.paused_ms - open_pause(created, res_end);
    let res_due = (!state.is_paused()).then(|| cal.add(created, policy.resolution_ms.saturating_add(state.paused_ms)));
    let resolution = TargetStatus {
        due: res_due.and_then(due_or_none),
        met_at: state.resolved_at,
        breached: match (state.resolved_at, res_due) {
            (Some(m), Some(d)) => m > d,
            (None, Some(d)) => now >= d,
            (_, None) => res_used >= policy.resolution_ms,
        },
        used_percent: percent(res_used, policy.resolution_ms),
    };

    let update = policy.update_every_ms.map(|every| {
        if state.resolved_at.is_some() {
            return TargetStatus { due: None, met_at: None, breached: false, used_percent: 0 };
        }
        let base = state.update_base();
        let used = cal.between(base, now) - state.update_paused_ms - open_pause(base, now);
        let due = (!state.is_paused()).then(|| cal.add(base, every.saturating_add(state.update_paused_ms)));
        TargetStatus {
            due: due.and_then(due_or_none),
            met_at: None,
            breached: due.map_or(used >= every, |d| now >= d),
            used_percent: percent(used, every),
        }
    });

    SlaStatus { first_response, update, resolution, paused: state.is_paused() }
}

#[cfg(test)]
#[path = "sla_tests.rs"]
mod tests;
