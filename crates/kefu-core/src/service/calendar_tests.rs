//! Tests for dates and business calendars.

use super::*;
use proptest::prelude::*;

const HOUR: i64 = 3_600_000;

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// The instant of local `date` `hh:mm` on `cal`.
fn at(cal: &BusinessCalendar, day: &str, hhmm: &str) -> Timestamp {
    let min = i64::from(crate::ivr::hours::parse_hhmm(hhmm).unwrap());
    let local_min = date(day).days_since_epoch() * 1_440 + min - i64::from(cal.utc_offset_minutes);
    Timestamp::from_millis(local_min * MIN_MS)
}

fn china() -> BusinessCalendar {
    BusinessCalendar::office(480)
}

#[test]
fn dates_round_trip_through_days() {
    assert_eq!(date("1970-01-01").days_since_epoch(), 0);
    assert_eq!(date("2024-02-29").days_since_epoch(), 19_782);
    assert_eq!(Date::from_days_since_epoch(-1), date("1969-12-31"));
    for days in (-1_000_000..1_000_000).step_by(997).chain([-1, 0, 1, 19_782, 20_779]) {
        let d = Date::from_days_since_epoch(days);
        assert_eq!(d.days_since_epoch(), days);
        assert_eq!(d.to_string().parse::<Date>().unwrap_or(d), d);
        assert_eq!(d.succ().days_since_epoch(), days + 1);
    }
    // Extreme inputs saturate rather than panic.
    assert_eq!(Date::from_days_since_epoch(i64::MAX).year, i32::MAX);
    assert_eq!(Date::from_days_since_epoch(i64::MIN).year, i32::MIN);
}

#[test]
fn weekdays_start_on_monday() {
    assert_eq!(date("1970-01-01").weekday(), 3); // a Thursday
    assert_eq!(date("2026-11-23").weekday(), 0);
    assert_eq!(date("2026-11-28").weekday(), 5);
    assert_eq!(date("2026-11-29").weekday(), 6);
    assert_eq!(date("1969-12-29").weekday(), 0);
}

#[test]
fn dates_parse_strictly_and_serialise_as_text() {
    let d = date("2026-10-01");
    assert_eq!(d, Date { year: 2026, month: 10, day: 1 });
    assert_eq!(d.to_string(), "2026-10-01");
    assert_eq!(serde_json::to_string(&d).unwrap(), "\"2026-10-01\"");
    assert_eq!(serde_json::from_str::<Date>("\"2024-02-29\"").unwrap(), date("2024-02-29"));
    for bad in
        ["2023-02-29", "2026-13-01", "2026-1-01", "2026-00-10", "2026-04-31", "x", "+202-01-01", "2026-10-01x", ""]
    {
        assert!(bad.parse::<Date>().is_err(), "{bad}");
    }
    let err = serde_json::from_str::<Date>("\"2026-02-30\"").unwrap_err().to_string();
    assert!(err.contains("`2026-02-30` is not a valid date"), "{err}");
    assert!(date("2026-09-30") < date("2026-10-01") && date("2026-12-31") < date("2027-01-01"));
    assert_eq!(Date::new(2026, 2, 29), None);
    // The IVR's opening hours share this date math.
    assert_eq!(crate::ivr::hours::parse_date("2026-10-01"), Some(d.days_since_epoch()));
}

#[test]
fn spans_parse_as_hours() {
    assert_eq!("09:00-18:00".parse::<Span>().unwrap(), Span { start_min: 540, end_min: 1_080 });
    assert_eq!("00:00-24:00".parse::<Span>().unwrap(), Span { start_min: 0, end_min: 1_440 });
    assert_eq!(Span { start_min: 570, end_min: 1_440 }.to_string(), "09:30-24:00");
    for bad in ["18:00-09:00", "09:00-09:00", "09:00", "9:00-18:00", "09:00-24:30", "a-b"] {
        assert!(bad.parse::<Span>().is_err(), "{bad}");
    }
}

#[test]
fn calendars_round_trip_through_yaml_and_json() {
    let yaml = "utc_offset_minutes: 480\nweek:\n  mon: ['09:00-12:00', '13:00-18:00']\n  fri: ['09:00-18:00']\nholidays: ['2026-10-01', '2026-10-02']\nworkdays: ['2026-09-27']\n";
    let cal: BusinessCalendar = serde_norway::from_str(yaml).unwrap();
    assert_eq!(cal.utc_offset_minutes, 480);
    assert_eq!(cal.week[0], ["09:00-12:00".parse().unwrap(), "13:00-18:00".parse().unwrap()]);
    assert!(cal.week[1].is_empty() && cal.week[6].is_empty());
    assert_eq!(cal.week[4], ["09:00-18:00".parse().unwrap()]);
    assert!(cal.holidays.contains(&date("2026-10-02")) && cal.workdays.contains(&date("2026-09-27")));
    let json = serde_json::to_value(&cal).unwrap();
    assert_eq!(json["week"]["mon"], serde_json::json!(["09:00-12:00", "13:00-18:00"]));
    assert!(json["week"].get("tue").is_none());
    assert_eq!(serde_json::from_value::<BusinessCalendar>(json).unwrap(), cal);
    let again: BusinessCalendar = serde_norway::from_str(&serde_norway::to_string(&cal).unwrap()).unwrap();
    assert_eq!(again, cal);
    for c in [BusinessCalendar::always(), china()] {
        assert_eq!(serde_json::from_str::<BusinessCalendar>(&serde_json::to_string(&c).unwrap()).unwrap(), c);
    }
}

#[test]
fn bad_calendars_are_rejected_with_every_problem() {
    let bad = r#"{"utc_offset_minutes": 900, "week": {"mon": ["09:00-13:00", "12:00-18:00"], "tue": ["14:00-18:00", "09:00-12:00"]},
                 "holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}"#;
    let err = serde_json::from_str::<BusinessCalendar>(bad).unwrap_err().to_string();
    assert!(err.contains("utc_offset_minutes must be between -840 and 840, got 900"), "{err}");
    assert!(err.contains("mon: opening hours 09:00-13:00 and 12:00-18:00 overlap"), "{err}");
    assert!(err.contains("tue: opening hours 14:00-18:00 and 09:00-12:00 overlap or are out of order"), "{err}");
    assert!(err.contains("2026-10-01 is both a holiday and a workday"), "{err}");
    // Touching spans are fine; unknown keys and bad spans are not.
    assert!(
        serde_json::from_str::<BusinessCalendar>(
            r#"{"utc_offset_minutes":0,"week":{"mon":["09:00-12:00","12:00-18:00"]}}"#
        )
        .is_ok()
    );
    assert!(serde_json::from_str::<BusinessCalendar>(r#"{"utc_offset_minutes":0,"week":{"monday":[]}}"#).is_err());
    assert!(serde_json::from_str::<BusinessCalendar>(r#"{"utc_offset_minutes":0,"hollidays":[]}"#).is_err());
    assert!(
        serde_json::from_str::<BusinessCalendar>(r#"{"utc_offset_minutes":0,"week":{"mon":["18:00-09:00"]}}"#).is_err()
    );
    let mut by_hand = china();
    by_hand.week[2] = vec![Span { start_min: 600, end_min: 500 }];
    assert!(by_hand.validate().unwrap_err().to_string().contains("wed: opening hours 10:00-08:20 must start before"));
    assert_eq!(china().validate(), Ok(()));
    assert_eq!(BusinessCalendar::always().validate(), Ok(()));
}

#[test]
fn office_hours_are_open_on_weekdays_in_local_time() {
    let cal = china();
    assert!(cal.is_open(at(&cal, "2026-11-23", "09:00")));
    assert!(cal.is_open(at(&cal, "2026-11-27", "17:59")));
    assert!(!cal.is_open(at(&cal, "2026-11-23", "08:59")));
    assert!(!cal.is_open(at(&cal, "2026-11-23", "18:00")));
    assert!(!cal.is_open(at(&cal, "2026-11-28", "10:00")));
    // 01:30 UTC is 09:30 in China: open there, closed in London.
    let t = Timestamp::from_millis(1_795_397_400_000);
    assert!(cal.is_open(t));
    assert!(!BusinessCalendar::office(0).is_open(t));
    assert_eq!(cal.local_date(t), date("2026-11-23"));
    // 23:30 UTC on Sunday is Monday in China.
    assert_eq!(cal.local_date(t.plus_millis(-2 * HOUR)), date("2026-11-23"));
    assert_eq!(BusinessCalendar::office(0).local_date(t.plus_millis(-2 * HOUR)), date("2026-11-22"));
}

#[test]
fn add_skips_nights_weekends_holidays_and_works_makeup_days() {
    let mut cal = china();
    let friday = at(&cal, "2026-11-27", "17:50");
    assert_eq!(cal.add(friday, 30 * MIN_MS), at(&cal, "2026-11-30", "09:20"));
    assert_eq!(cal.add(friday, 10 * MIN_MS), at(&cal, "2026-11-27", "18:00"));
    assert_eq!(cal.add(friday, 0), friday);
    assert_eq!(cal.add(friday, -5), friday);
    // Starting while closed counts from the next opening.
    assert_eq!(cal.add(at(&cal, "2026-11-28", "03:00"), HOUR), at(&cal, "2026-11-30", "10:00"));
    assert_eq!(cal.add(at(&cal, "2026-11-30", "07:00"), HOUR), at(&cal, "2026-11-30", "10:00"));
    // A holiday Monday pushes to Tuesday.
    cal.holidays.insert(date("2026-11-30"));
    assert_eq!(cal.add(friday, 30 * MIN_MS), at(&cal, "2026-12-01", "09:20"));
    // A make-up Saturday (调休) is worked with Monday's hours.
    cal.workdays.insert(date("2026-11-28"));
    assert!(cal.is_open(at(&cal, "2026-11-28", "09:00")));
    assert_eq!(cal.add(friday, 30 * MIN_MS), at(&cal, "2026-11-28", "09:20"));
    // 10 min on Friday, 9 h on Saturday, Monday off, 9 h on Tuesday, 50 min on Wednesday.
    assert_eq!(cal.add(friday, 19 * HOUR), at(&cal, "2026-12-02", "09:50"));
}

#[test]
fn split_days_skip_the_lunch_break() {
    let mut cal = china();
    cal.week[0] = vec!["09:00-12:00".parse().unwrap(), "13:00-18:00".parse().unwrap()];
    let start = at(&cal, "2026-11-23", "11:30");
    assert_eq!(cal.add(start, HOUR), at(&cal, "2026-11-23", "13:30"));
    assert_eq!(cal.add(start, 30 * MIN_MS), at(&cal, "2026-11-23", "12:00"));
    assert_eq!(cal.between(start, at(&cal, "2026-11-23", "13:30")), HOUR);
    assert!(!cal.is_open(at(&cal, "2026-11-23", "12:30")));
}

#[test]
fn always_open_is_the_wall_clock() {
    let cal = BusinessCalendar::always();
    let t = Timestamp::from_millis(1_795_397_400_123);
    for d in [1, 59_999, HOUR, 7 * 24 * HOUR + 17, 400 * 24 * HOUR] {
        assert_eq!(cal.add(t, d), t.plus_millis(d));
        assert_eq!(cal.between(t, t.plus_millis(d)), d);
    }
    assert!(cal.is_open(t));
}

#[test]
fn between_counts_open_time_only() {
    let cal = china();
    let friday = at(&cal, "2026-11-27", "17:00");
    assert_eq!(cal.between(friday, at(&cal, "2026-11-30", "10:00")), 2 * HOUR);
    assert_eq!(cal.between(at(&cal, "2026-11-23", "00:00"), at(&cal, "2026-11-30", "00:00")), 45 * HOUR);
    assert_eq!(cal.between(at(&cal, "2026-11-28", "00:00"), at(&cal, "2026-11-30", "08:00")), 0);
    assert_eq!(cal.between(friday, friday), 0);
    assert_eq!(cal.between(at(&cal, "2026-11-30", "10:00"), friday), 0);
    // Thirty years of office hours: 9 h on each of the weekdays.
    let from = at(&cal, "2000-01-03", "00:00");
    let to = at(&cal, "2030-01-07", "00:00");
    let weeks = (date("2030-01-07").days_since_epoch() - date("2000-01-03").days_since_epoch()) / 7;
    assert_eq!(cal.between(from, to), weeks * 45 * HOUR);
}

#[test]
fn no_open_time_gives_the_never_sentinel_quickly() {
    let never = Timestamp::from_millis(i64::MAX);
    let mut closed = china();
    closed.week = Default::default();
    let t = at(&closed, "2026-11-23", "10:00");
    assert_eq!(closed.add(t, 1), never);
    assert_eq!(closed.between(t, never), 0);
    // A make-up day borrows Monday's hours, and there are none.
    closed.workdays.insert(date("2026-12-05"));
    assert_eq!(closed.add(t, HOUR), never);
    // Only Mondays, all of them holidays for a year: the next open Monday after that year.
    let mut mondays = closed.clone();
    mondays.week[0] = vec!["09:00-10:00".parse().unwrap()];
    let mut d = date("2026-11-23");
    while d < date("2027-11-22") {
        mondays.holidays.insert(d);
        d = Date::from_days_since_epoch(d.days_since_epoch() + 7);
    }
    mondays.workdays.clear();
    assert_eq!(mondays.add(t, 30 * MIN_MS), at(&mondays, "2027-11-22", "09:30"));
    // Nothing overflows near the end of time.
    let cal = china();
    assert_eq!(cal.add(Timestamp::from_millis(i64::MAX - 1_000), HOUR), never);
    assert_eq!(cal.add(Timestamp::from_millis(0), i64::MAX), never);
    assert!(cal.between(Timestamp::from_millis(i64::MIN), never) > 0);
}

#[test]
fn years_of_holidays_are_fast_and_exact() {
    let mut cal = china();
    // Every 1 May to 7 May and 1 to 7 October for 50 years off, with a make-up Saturday before each.
    for year in 2000..2050 {
        for month in [5, 10] {
            for day in 1..=7 {
                cal.holidays.insert(Date::new(year, month, day).unwrap());
            }
            let mut sat = Date::new(year, month - 1, 20).unwrap();
            while sat.weekday() != 5 {
                sat = sat.succ();
            }
            cal.workdays.insert(sat);
        }
    }
    cal.validate().unwrap();
    let start = at(&cal, "2001-03-01", "12:00");
    let ten_years = 10 * 250 * 9 * HOUR;
    let due = cal.add(start, ten_years);
    assert_eq!(cal.between(start, due), ten_years);
    assert!(cal.between(start, due.plus_millis(-1)) < ten_years);
    assert!(cal.is_open(due.plus_millis(-1)));
}

/// Open milliseconds in `[a, b)`, the slow way: minute by minute (spans and offsets are
/// whole minutes, so each minute is all open or all closed).
fn brute_between(cal: &BusinessCalendar, a: Timestamp, b: Timestamp) -> i64 {
    let mut total = 0;
    let mut t = a.as_millis();
    while t < b.as_millis() {
        let next = ((t.div_euclid(MIN_MS) + 1) * MIN_MS).min(b.as_millis());
        if cal.is_open(Timestamp::from_millis(t)) {
            total += next - t;
        }
        t = next;
    }
    total
}

fn arb_calendar() -> impl Strategy<Value = BusinessCalendar> {
    let day = prop::collection::vec((0u16..1_440, 1u16..600), 0..3).prop_map(|raw| {
        let mut spans: Vec<Span> = Vec::new();
        let mut cursor = 0;
        for (gap, len) in raw {
            let start = cursor + gap % 400;
            let end = (start + len).min(1_440);
            if start >= end {
                break;
            }
            spans.push(Span { start_min: start, end_min: end });
            cursor = end;
        }
        spans
    });
    let days = prop::collection::vec(0i64..60, 0..8);
    (-720i32..=840, prop::array::uniform7(day), days.clone(), days).prop_map(|(offset, week, hol, work)| {
        let base = date("2026-11-20").days_since_epoch();
        let holidays: BTreeSet<Date> = hol.iter().map(|d| Date::from_days_since_epoch(base + d)).collect();
        let workdays =
            work.iter().map(|d| Date::from_days_since_epoch(base + d)).filter(|d| !holidays.contains(d)).collect();
        BusinessCalendar { utc_offset_minutes: offset, week, holidays, workdays }
    })
}

proptest! {
    #[test]
    fn add_is_the_inverse_of_between(cal in arb_calendar(), start in 0i64..60 * 86_400_000, d in 0i64..40 * 86_400_000) {
        prop_assert!(cal.validate().is_ok());
        let a = at(&cal, "2026-11-18", "00:00").plus_millis(start);
        let due = cal.add(a, d);
        if due == Timestamp::from_millis(i64::MAX) {
            // Only when there is not that much open time left at all.
            prop_assert!(cal.between(a, due) < d);
        } else {
            prop_assert_eq!(cal.between(a, due), d);
            prop_assert!(due >= a);
            if d > 0 {
                // The earliest such instant.
                prop_assert!(cal.between(a, due.plus_millis(-1)) < d);
            }
        }
    }

    #[test]
    fn add_and_between_are_monotone(cal in arb_calendar(), start in 0i64..30 * 86_400_000, d1 in 0i64..20 * 86_400_000, d2 in 0i64..20 * 86_400_000, x in 0i64..20 * 86_400_000) {
        let a = at(&cal, "2026-11-18", "00:00").plus_millis(start);
        let (lo, hi) = (d1.min(d2), d1.max(d2));
        prop_assert!(cal.add(a, lo) <= cal.add(a, hi));
        prop_assert!(cal.between(a, a.plus_millis(lo)) <= cal.between(a, a.plus_millis(hi)));
        // Additive: [a, a+x) and [a+x, b) make [a, b).
        let b = a.plus_millis(hi);
        let mid = a.plus_millis(x.min(hi));
        prop_assert_eq!(cal.between(a, mid) + cal.between(mid, b), cal.between(a, b));
    }

    #[test]
    fn between_matches_a_minute_by_minute_count(cal in arb_calendar(), start in 0i64..50 * 86_400_000, len in 0i64..4 * 86_400_000) {
        let a = at(&cal, "2026-11-18", "00:00").plus_millis(start);
        let b = a.plus_millis(len);
        prop_assert_eq!(cal.between(a, b), brute_between(&cal, a, b));
    }
}

#[cfg(feature = "openapi")]
#[test]
fn openapi_schemas_build() {
    use utoipa::{PartialSchema, ToSchema};
    let json = serde_json::to_string(&BusinessCalendar::schema()).unwrap();
    assert!(json.contains("utc_offset_minutes") && json.contains("holidays"), "{json}");
    let mut deps = Vec::new();
    BusinessCalendar::schemas(&mut deps);
    assert_eq!(BusinessCalendar::name(), "BusinessCalendar");
    assert!(serde_json::to_string(&Date::schema()).unwrap().contains("date"));
}
