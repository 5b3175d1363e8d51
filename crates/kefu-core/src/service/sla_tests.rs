//! Tests for the SLA clock, with simulated time.

use super::*;
use crate::service::calendar::Date;
use TimerKind::*;

const HOUR: i64 = 3_600_000;

/// The instant of local `day` `hh:mm` on `cal`.
fn at(cal: &BusinessCalendar, day: &str, hhmm: &str) -> Timestamp {
    let min = i64::from(crate::ivr::hours::parse_hhmm(hhmm).unwrap());
    let days = day.parse::<Date>().unwrap().days_since_epoch();
    Timestamp::from_millis((days * 1_440 + min - i64::from(cal.utc_offset_minutes)) * MIN_MS)
}

fn china() -> BusinessCalendar {
    BusinessCalendar::office(480)
}

fn policy(first_response_mins: i64, update_mins: Option<i64>, resolution_mins: i64) -> SlaPolicy {
    SlaPolicy {
        first_response_ms: first_response_mins * MIN_MS,
        update_every_ms: update_mins.map(|m| m * MIN_MS),
        resolution_ms: resolution_mins * MIN_MS,
        warn_percent: 80,
    }
}

fn due(timers: &[TimerSpec], kind: TimerKind) -> Option<Timestamp> {
    timers.iter().find(|t| t.kind == kind).map(|t| t.due)
}

fn kinds(timers: &[TimerSpec]) -> Vec<TimerKind> {
    let mut k: Vec<_> = timers.iter().map(|t| t.kind).collect();
    k.sort();
    k
}

#[test]
fn policies_come_from_category_targets() {
    let targets = SlaTargets {
        first_response_mins: 5,
        update_every_mins: Some(180),
        resolution_mins: 1_440,
        business_hours: true,
    };
    assert_eq!(
        SlaPolicy::from_targets(&targets, 80),
        SlaPolicy {
            first_response_ms: 300_000,
            update_every_ms: Some(3 * HOUR),
            resolution_ms: 24 * HOUR,
            warn_percent: 80
        }
    );
    let center = china();
    assert_eq!(*sla_calendar(true, &center), center);
    assert_eq!(*sla_calendar(false, &center), BusinessCalendar::always());
}

#[test]
fn timer_kinds_have_stable_names() {
    for k in TimerKind::ALL {
        assert_eq!(k.as_str().parse::<TimerKind>().unwrap(), *k);
        assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{k}\""));
    }
    assert_eq!(ResolutionBreach.as_str(), "resolution_breach");
    assert!(UpdateBreach.is_breach() && !UpdateWarning.is_breach());
}

#[test]
fn a_friday_evening_order_is_due_on_monday_morning() {
    let cal = china();
    let state = SlaState::new(at(&cal, "2026-11-27", "17:50"));
    let t = timers(&policy(30, None, 120), &state, &cal);
    assert_eq!(due(&t, FirstResponseBreach), Some(at(&cal, "2026-11-30", "09:20")));
    // 80 % of 30 min is 24 min: 10 on Friday, 14 on Monday.
    assert_eq!(due(&t, FirstResponseWarning), Some(at(&cal, "2026-11-30", "09:14")));
    assert_eq!(due(&t, ResolutionBreach), Some(at(&cal, "2026-11-30", "10:50")));
    assert_eq!(due(&t, ResolutionWarning), Some(at(&cal, "2026-11-30", "10:26")));
    assert_eq!(kinds(&t), [FirstResponseWarning, FirstResponseBreach, ResolutionWarning, ResolutionBreach]);
    // Sorted by due time.
    assert!(t.windows(2).all(|w| w[0].due <= w[1].due));
    // Around the clock the same order is due Friday at 18:20.
    let t = timers(&policy(30, None, 120), &state, &BusinessCalendar::always());
    assert_eq!(due(&t, FirstResponseBreach), Some(at(&cal, "2026-11-27", "18:20")));
}

#[test]
fn holidays_and_makeup_days_move_due_times() {
    let mut cal = china();
    let state = SlaState::new(at(&cal, "2026-11-27", "17:50"));
    cal.holidays.insert("2026-11-30".parse().unwrap());
    let t = timers(&policy(30, None, 120), &state, &cal);
    assert_eq!(due(&t, FirstResponseBreach), Some(at(&cal, "2026-12-01", "09:20")));
    cal.workdays.insert("2026-11-28".parse().unwrap());
    let t = timers(&policy(30, None, 120), &state, &cal);
    assert_eq!(due(&t, FirstResponseBreach), Some(at(&cal, "2026-11-28", "09:20")));
}

#[test]
fn pending_during_hours_shifts_resolution_but_not_first_response() {
    let cal = china();
    let p = policy(60, None, 240);
    let mut state = SlaState::new(at(&cal, "2026-11-23", "09:00"));
    let before = timers(&p, &state, &cal);
    assert_eq!(due(&before, ResolutionBreach), Some(at(&cal, "2026-11-23", "13:00")));
    state.pause(at(&cal, "2026-11-23", "10:00"));
    let paused = timers(&p, &state, &cal);
    // Only the first-response clock runs while pending.
    assert_eq!(kinds(&paused), [FirstResponseWarning, FirstResponseBreach]);
    assert_eq!(due(&paused, FirstResponseBreach), due(&before, FirstResponseBreach));
    let st = status(&p, &state, &cal, at(&cal, "2026-11-23", "11:00"));
    assert!(st.paused && st.resolution.due.is_none());
    assert_eq!(st.resolution.used_percent, 25);
    state.resume(&cal, at(&cal, "2026-11-23", "12:00"));
    assert_eq!(state.paused_ms, 2 * HOUR);
    let after = timers(&p, &state, &cal);
    assert_eq!(due(&after, ResolutionBreach), Some(at(&cal, "2026-11-23", "15:00")));
    assert_eq!(due(&after, FirstResponseBreach), due(&before, FirstResponseBreach));
    // A second pause adds up.
    state.pause(at(&cal, "2026-11-23", "13:00"));
    state.resume(&cal, at(&cal, "2026-11-23", "13:30"));
    assert_eq!(due(&timers(&p, &state, &cal), ResolutionBreach), Some(at(&cal, "2026-11-23", "15:30")));
}

#[test]
fn pending_outside_hours_shifts_nothing() {
    let cal = china();
    let p = policy(60, None, 600);
    let mut state = SlaState::new(at(&cal, "2026-11-23", "09:00"));
    let before = timers(&p, &state, &cal);
    state.pause(at(&cal, "2026-11-23", "19:00"));
    state.resume(&cal, at(&cal, "2026-11-24", "08:00"));
    assert_eq!(state.paused_ms, 0);
    assert_eq!(timers(&p, &state, &cal), before);
    assert_eq!(due(&before, ResolutionBreach), Some(at(&cal, "2026-11-24", "10:00")));
    // Pausing twice or resuming when not paused changes nothing.
    state.pause(at(&cal, "2026-11-24", "09:00"));
    state.pause(at(&cal, "2026-11-24", "09:30"));
    assert_eq!(state.paused_since, Some(at(&cal, "2026-11-24", "09:00")));
    state.resume(&cal, at(&cal, "2026-11-24", "10:00"));
    state.resume(&cal, at(&cal, "2026-11-24", "11:00"));
    assert_eq!(state.paused_ms, HOUR);
}

#[test]
fn warnings_follow_the_configured_percentage() {
    let cal = BusinessCalendar::always();
    let t0 = at(&cal, "2026-11-23", "09:00");
    let state = SlaState::new(t0);
    let mut p = policy(10, Some(180), 100);
    let t = timers(&p, &state, &cal);
    assert_eq!(due(&t, FirstResponseWarning), Some(t0.plus_millis(8 * MIN_MS)));
    assert_eq!(due(&t, UpdateWarning), Some(t0.plus_millis(144 * MIN_MS)));
    assert_eq!(due(&t, ResolutionWarning), Some(t0.plus_millis(80 * MIN_MS)));
    p.warn_percent = 50;
    assert_eq!(due(&timers(&p, &state, &cal), FirstResponseWarning), Some(t0.plus_millis(5 * MIN_MS)));
    for off in [0, 100, 150] {
        p.warn_percent = off;
        assert_eq!(kinds(&timers(&p, &state, &cal)), [FirstResponseBreach, UpdateBreach, ResolutionBreach]);
    }
    // Status shows the percentage used.
    p.warn_percent = 80;
    let st = status(&p, &state, &cal, t0.plus_millis(9 * MIN_MS));
    assert_eq!(st.first_response.used_percent, 90);
    assert!(!st.first_response.breached);
    assert_eq!(st.resolution.used_percent, 9);
}

#[test]
fn updates_are_due_every_three_hours() {
    let cal = BusinessCalendar::always();
    let t0 = at(&cal, "2026-11-23", "09:00");
    let p = policy(30, Some(180), 48 * 60);
    let mut state = SlaState::new(t0);
    assert_eq!(due(&timers(&p, &state, &cal), UpdateBreach), Some(t0.plus_millis(3 * HOUR)));
    state.responded(t0.plus_millis(HOUR));
    let t = timers(&p, &state, &cal);
    assert_eq!(due(&t, UpdateBreach), Some(t0.plus_millis(4 * HOUR)));
    assert_eq!(due(&t, FirstResponseBreach), None);
    // A later "first" response changes nothing.
    state.responded(t0.plus_millis(2 * HOUR));
    assert_eq!(state.first_response_at, Some(t0.plus_millis(HOUR)));
    state.updated(t0.plus_millis(2 * HOUR));
    assert_eq!(due(&timers(&p, &state, &cal), UpdateBreach), Some(t0.plus_millis(5 * HOUR)));
    let st = status(&p, &state, &cal, t0.plus_millis(5 * HOUR + 1));
    let update = st.update.unwrap();
    assert!(update.breached);
    assert_eq!(update.due, Some(t0.plus_millis(5 * HOUR)));
    assert_eq!(update.used_percent, 100);
    // Pending for an hour after the update moves it by an hour…
    state.pause(t0.plus_millis(3 * HOUR));
    state.resume(&cal, t0.plus_millis(4 * HOUR));
    assert_eq!(due(&timers(&p, &state, &cal), UpdateBreach), Some(t0.plus_millis(6 * HOUR)));
    // …and an update restarts the clock, forgetting older pauses.
    state.updated(t0.plus_millis(7 * HOUR));
    assert_eq!(due(&timers(&p, &state, &cal), UpdateBreach), Some(t0.plus_millis(10 * HOUR)));
}

#[test]
fn an_update_during_a_pause_counts_only_the_rest_of_the_pause() {
    let cal = BusinessCalendar::always();
    let t0 = at(&cal, "2026-11-23", "09:00");
    let p = policy(30, Some(180), 48 * 60);
    let mut state = SlaState::new(t0);
    state.pause(t0.plus_millis(HOUR));
    state.updated(t0.plus_millis(2 * HOUR));
    assert!(!kinds(&timers(&p, &state, &cal)).contains(&UpdateBreach));
    state.resume(&cal, t0.plus_millis(4 * HOUR));
    assert_eq!(state.update_paused_ms, 2 * HOUR);
    assert_eq!(state.paused_ms, 3 * HOUR);
    // The update clock restarted at +2 h, was paused until +4 h: due at +7 h.
    assert_eq!(due(&timers(&p, &state, &cal), UpdateBreach), Some(t0.plus_millis(7 * HOUR)));
    assert_eq!(due(&timers(&p, &state, &cal), ResolutionBreach), Some(t0.plus_millis(51 * HOUR)));
}

#[test]
fn met_targets_have_no_timers_and_late_ones_show_as_breached() {
    let cal = BusinessCalendar::always();
    let t0 = at(&cal, "2026-11-23", "09:00");
    let p = policy(10, Some(180), 60);
    let mut state = SlaState::new(t0);
    let st = status(&p, &state, &cal, t0.plus_millis(10 * MIN_MS));
    assert!(st.first_response.breached, "due counts as breached");
    assert_eq!(st.first_response.due, Some(t0.plus_millis(10 * MIN_MS)));
    state.responded(t0.plus_millis(11 * MIN_MS));
    let st = status(&p, &state, &cal, t0.plus_millis(30 * MIN_MS));
    assert!(st.first_response.breached);
    assert_eq!(st.first_response.met_at, Some(t0.plus_millis(11 * MIN_MS)));
    assert_eq!(st.first_response.used_percent, 110);
    assert!(!st.resolution.breached);
    state.resolved(&cal, t0.plus_millis(50 * MIN_MS));
    assert!(timers(&p, &state, &cal).is_empty());
    let st = status(&p, &state, &cal, t0.plus_millis(10 * HOUR));
    assert!(!st.resolution.breached, "met on time stays met");
    assert_eq!(st.resolution.used_percent, 83);
    assert_eq!(st.update, Some(TargetStatus { due: None, met_at: None, breached: false, used_percent: 0 }));
    // On time exactly at the due instant.
    let mut exact = SlaState::new(t0);
    exact.responded(t0.plus_millis(10 * MIN_MS));
    assert!(!status(&p, &exact, &cal, t0.plus_millis(HOUR)).first_response.breached);
}

#[test]
fn a_breach_stays_a_breach_through_a_pause() {
    let cal = BusinessCalendar::always();
    let t0 = at(&cal, "2026-11-23", "09:00");
    let p = policy(10, None, 60);
    let mut state = SlaState::new(t0);
    state.responded(t0);
    state.pause(t0.plus_millis(2 * HOUR));
    let st = status(&p, &state, &cal, t0.plus_millis(5 * HOUR));
    assert!(st.resolution.breached && st.paused && st.resolution.due.is_none());
    assert_eq!(st.resolution.used_percent, 200);
    state.resume(&cal, t0.plus_millis(6 * HOUR));
    let st = status(&p, &state, &cal, t0.plus_millis(6 * HOUR));
    assert!(st.resolution.breached);
    assert_eq!(st.resolution.used_percent, 200);
    // The recomputed due time is already past, and the clock it belongs to is the same.
    assert!(st.resolution.due.unwrap() <= t0.plus_millis(6 * HOUR));
    assert_eq!(clock_start(ResolutionBreach, &state), t0);
}

#[test]
fn resolving_while_pending_ends_the_pause() {
    let cal = china();
    let p = policy(60, Some(180), 600);
    let mut state = SlaState::new(at(&cal, "2026-11-23", "09:00"));
    state.on_status_change(&cal, TicketStatus::Assigned, TicketStatus::Pending, at(&cal, "2026-11-23", "10:00"));
    assert!(state.is_paused());
    state.on_status_change(&cal, TicketStatus::Pending, TicketStatus::Resolved, at(&cal, "2026-11-23", "11:00"));
    assert!(!state.is_paused());
    assert_eq!(state.paused_ms, HOUR);
    assert_eq!(state.resolved_at, Some(at(&cal, "2026-11-23", "11:00")));
    assert_eq!(state.first_response_at, state.resolved_at, "a resolution is a response");
    assert!(timers(&p, &state, &cal).is_empty());
    assert_eq!(status(&p, &state, &cal, at(&cal, "2026-11-24", "11:00")).resolution.used_percent, 10);
}

#[test]
fn reopening_restarts_resolution_and_update_clocks() {
    let cal = BusinessCalendar::always();
    let t0 = at(&cal, "2026-11-23", "09:00");
    let p = policy(10, Some(180), 24 * 60);
    let mut state = SlaState::new(t0);
    state.responded(t0.plus_millis(5 * MIN_MS));
    state.on_status_change(&cal, TicketStatus::InProgress, TicketStatus::Resolved, t0.plus_millis(2 * HOUR));
    assert!(timers(&p, &state, &cal).is_empty());
    // Reopened from closed the next morning.
    let reopen = t0.plus_millis(20 * HOUR);
    state.on_status_change(&cal, TicketStatus::Closed, TicketStatus::InProgress, reopen);
    assert_eq!(state.resolved_at, None);
    let t = timers(&p, &state, &cal);
    assert_eq!(kinds(&t), [UpdateWarning, UpdateBreach, ResolutionWarning, ResolutionBreach]);
    // The resolution target still counts from creation; the update clock from the reopening.
    assert_eq!(due(&t, ResolutionBreach), Some(t0.plus_millis(24 * HOUR)));
    assert_eq!(due(&t, UpdateBreach), Some(reopen.plus_millis(3 * HOUR)));
    let st = status(&p, &state, &cal, t0.plus_millis(25 * HOUR));
    assert!(st.resolution.breached && st.resolution.met_at.is_none());
    // Reopening an order that is not resolved changes nothing.
    let copy = state;
    state.reopened(t0.plus_millis(21 * HOUR));
    assert_eq!(state, copy);
}

#[test]
fn timers_are_a_pure_function_of_the_state() {
    let cal = china();
    let p = policy(30, Some(180), 24 * 60);
    let mut state = SlaState::new(at(&cal, "2026-11-27", "17:50"));
    state.pause(at(&cal, "2026-11-30", "09:05"));
    state.resume(&cal, at(&cal, "2026-11-30", "09:35"));
    let first = timers(&p, &state, &cal);
    // A restart: the state is stored as JSON and read back.
    let stored = serde_json::to_string(&state).unwrap();
    let loaded: SlaState = serde_json::from_str(&stored).unwrap();
    assert_eq!(timers(&p, &loaded, &cal), first);
    // A state stored before `update_paused_ms` existed still loads.
    let old = r#"{"created_at":1000,"first_response_at":null,"last_update_at":null,"resolved_at":null,"paused_since":null,"paused_ms":0}"#;
    assert_eq!(serde_json::from_str::<SlaState>(old).unwrap(), SlaState::new(Timestamp::from_millis(1_000)));
    // An unrelated change (the first response) leaves the other timers' pairs as they were.
    state.responded(at(&cal, "2026-11-30", "09:40"));
    let after = timers(&p, &state, &cal);
    for kind in [ResolutionWarning, ResolutionBreach] {
        assert_eq!(due(&after, kind), due(&first, kind));
    }
    assert_eq!(due(&after, FirstResponseBreach), None);
    assert_eq!(timers(&p, &state, &cal), after);
}

#[test]
fn a_calendar_without_hours_never_falls_due() {
    let mut cal = china();
    cal.week = Default::default();
    let state = SlaState::new(at(&cal, "2026-11-23", "09:00"));
    let p = policy(30, Some(180), 600);
    assert!(timers(&p, &state, &cal).is_empty());
    let st = status(&p, &state, &cal, at(&cal, "2027-11-23", "09:00"));
    assert!(!st.first_response.breached && st.first_response.due.is_none());
    assert_eq!(st.resolution.used_percent, 0);
}
