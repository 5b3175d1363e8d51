//! Civil dates and business calendars: weekly opening hours at a fixed UTC offset, holidays
//! and make-up working days (调休), with fast "add N business milliseconds" and "business
//! milliseconds between" arithmetic for the SLA clock and escalation rules.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

const MIN_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const DAY_MINUTES: u16 = 1_440;
/// The largest UTC offset accepted, in minutes (UTC±14:00).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// A calendar date (proleptic Gregorian), written `2026-10-01`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    /// The year, e.g. 2026.
    pub year: i32,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31.
    pub day: u8,
}

/// A date that does not exist or is not written `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid date (expected YYYY-MM-DD, e.g. 2026-10-01)")]
pub struct InvalidDate(pub String);

const fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date, if it exists.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        (day >= 1 && day <= days_in_month(i64::from(year), month)).then_some(Date { year, month, day })
    }

    /// The date `days` days after 1970-01-01 (negative: before). Years beyond `i32` saturate.
    pub fn from_days_since_epoch(days: i64) -> Date {
        // Civil from days (Howard Hinnant), in i128 so no input overflows.
        let z = i128::from(days) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i128::from(month <= 2);
        let year = i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX });
        // month is 1..=12 and day 1..=31 by construction.
        Date { year, month: u8::try_from(month).unwrap_or(1), day: u8::try_from(day).unwrap_or(1) }
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Days from civil (Howard Hinnant).
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day of the week, 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u8 {
        weekday_of(self.days_since_epoch())
    }

    /// The next day.
    pub fn succ(self) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + 1)
    }
}

/// 0 = Monday for a count of days since 1970-01-01 (a Thursday).
fn weekday_of(day: i64) -> u8 {
    // rem_euclid(7) is 0..=6.
    u8::try_from((day + 3).rem_euclid(7)).unwrap_or(0)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = InvalidDate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidDate(s.chars().take(32).collect());
        let mut parts = s.splitn(3, '-');
        let (y, m, d) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
            return Err(bad());
        }
        let (y, m, d) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        Date::new(y, m, d).ok_or_else(bad)
    }
}

impl TryFrom<String> for Date {
    type Error = InvalidDate;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Date> for String {
    fn from(d: Date) -> Self {
        d.to_string()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Date {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Date)))
            .examples(["2026-10-01"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Date {}

/// Opening hours within one day, as minutes from local midnight, half-open: `09:00-18:00` is
/// `[540, 1080)`. The end may be `24:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Span {
    /// First open minute.
    pub start_min: u16,
    /// The minute the span closes (exclusive), at most 1440.
    pub end_min: u16,
}

/// A calendar that is malformed: bad span, overlapping spans, offset out of range, a date
/// both holiday and workday.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid business calendar: {}", .0.join("; "))]
pub struct CalendarError(pub Vec<String>);

impl Span {
    /// The span from `start_min` to `end_min`, if `start_min < end_min <= 1440`.
    pub fn new(start_min: u16, end_min: u16) -> Result<Span, CalendarError> {
        if start_min < end_min && end_min <= DAY_MINUTES {
            Ok(Span { start_min, end_min })
        } else {
            Err(CalendarError(vec![format!(
                "opening hours {} must start before they end, within 00:00-24:00",
                Span { start_min, end_min }
            )]))
        }
    }

    fn start_ms(self) -> i64 {
        i64::from(self.start_min) * MIN_MS
    }

    fn end_ms(self) -> i64 {
        i64::from(self.end_min) * MIN_MS
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start_min), hm(self.end_min))
    }
}

impl FromStr for Span {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            CalendarError(vec![format!(
                "`{}` is not opening hours like 09:00-18:00",
                s.chars().take(32).collect::<String>()
            )])
        };
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let a = crate::ivr::hours::parse_hhmm(a).ok_or_else(bad)?;
        let b = crate::ivr::hours::parse_hhmm(b).ok_or_else(bad)?;
        Span::new(u16::try_from(a).map_err(|_| bad())?, u16::try_from(b).map_err(|_| bad())?)
    }
}

impl TryFrom<String> for Span {
    type Error = CalendarError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Span> for String {
    fn from(s: Span) -> Self {
        s.to_string()
    }
}

/// When a team is at work: weekly hours at a fixed UTC offset, holidays (closed all day) and
/// make-up working days (调休, worked with the Monday hours). A date that is both holiday and
/// workday is rejected by [`BusinessCalendar::validate`]; if built by hand, the holiday wins.
///
/// Serde form (YAML or JSON):
/// ```yaml
/// utc_offset_minutes: 480
/// week: { mon: ["09:00-12:00", "13:00-18:00"], tue: ["09:00-18:00"], sat: [] }
/// holidays: ["2026-10-01", "2026-10-02"]
/// workdays: ["2026-09-27"]
/// ```
/// Days left out of `week` are closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarRepr", into = "CalendarRepr")]
pub struct BusinessCalendar {
    /// Local time minus UTC, in minutes (480 for China).
    pub utc_offset_minutes: i32,
    /// Opening hours per weekday, Monday first; sorted and non-overlapping.
    pub week: [Vec<Span>; 7],
    /// Dates closed all day.
    pub holidays: BTreeSet<Date>,
    /// Dates worked with the Monday hours even if they fall on a weekend.
    pub workdays: BTreeSet<Date>,
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeekRepr {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["09:00-18:00"])))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mon: Vec<Span>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tue: Vec<Span>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    wed: Vec<Span>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    thu: Vec<Span>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fri: Vec<Span>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sat: Vec<Span>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sun: Vec<Span>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarRepr {
    #[cfg_attr(feature = "openapi", schema(example = 480))]
    utc_offset_minutes: i32,
    #[cfg_attr(feature = "openapi", schema(inline))]
    #[serde(default)]
    week: WeekRepr,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["2026-10-01"])))]
    #[serde(default)]
    holidays: BTreeSet<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["2026-09-27"])))]
    #[serde(default)]
    workdays: BTreeSet<Date>,
}

impl TryFrom<CalendarRepr> for BusinessCalendar {
    type Error = CalendarError;

    fn try_from(r: CalendarRepr) -> Result<Self, Self::Error> {
        let w = r.week;
        let cal = BusinessCalendar {
            utc_offset_minutes: r.utc_offset_minutes,
            week: [w.mon, w.tue, w.wed, w.thu, w.fri, w.sat, w.sun],
            holidays: r.holidays,
            workdays: r.workdays,
        };
        cal.validate()?;
        Ok(cal)
    }
}

impl From<BusinessCalendar> for CalendarRepr {
    fn from(c: BusinessCalendar) -> Self {
        let [mon, tue, wed, thu, fri, sat, sun] = c.week;
        CalendarRepr {
            utc_offset_minutes: c.utc_offset_minutes,
            week: WeekRepr { mon, tue, wed, thu, fri, sat, sun },
            holidays: c.holidays,
            workdays: c.workdays,
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for BusinessCalendar {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <CalendarRepr as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for BusinessCalendar {}

impl Default for BusinessCalendar {
    fn default() -> Self {
        Self::always()
    }
}

impl BusinessCalendar {
    /// Open around the clock, every day, at UTC (the offset does not matter when always open).
    pub fn always() -> Self {
        let all_day = vec![Span { start_min: 0, end_min: DAY_MINUTES }];
        BusinessCalendar {
            utc_offset_minutes: 0,
            week: std::array::from_fn(|_| all_day.clone()),
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        }
    }

    /// Office hours: Monday to Friday 09:00–18:00 at `utc_offset_minutes`, no holidays.
    pub fn office(utc_offset_minutes: i32) -> Self {
        let day = vec![Span { start_min: 9 * 60, end_min: 18 * 60 }];
        BusinessCalendar {
            utc_offset_minutes,
            week: std::array::from_fn(|i| if i < 5 { day.clone() } else { Vec::new() }),
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        }
    }

    /// Every problem at once: offset within ±14 h, spans well-formed, sorted and
    /// non-overlapping, no date both holiday and workday.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let mut problems = Vec::new();
        if self.utc_offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
            problems.push(format!(
                "utc_offset_minutes must be between -{MAX_UTC_OFFSET_MINUTES} and {MAX_UTC_OFFSET_MINUTES}, got {}",
                self.utc_offset_minutes
            ));
        }
        for (key, spans) in DAY_KEYS.iter().zip(&self.week) {
            for s in spans {
                if s.start_min >= s.end_min || s.end_min > DAY_MINUTES {
                    problems.push(format!("{key}: opening hours {s} must start before they end, within 00:00-24:00"));
                }
            }
            for pair in spans.windows(2) {
                if pair[1].start_min < pair[0].end_min {
                    problems
                        .push(format!("{key}: opening hours {} and {} overlap or are out of order", pair[0], pair[1]));
                }
            }
        }
        for d in self.holidays.intersection(&self.workdays) {
            problems.push(format!("{d} is both a holiday and a workday"));
        }
        if problems.is_empty() { Ok(()) } else { Err(CalendarError(problems)) }
    }

    fn offset_ms(&self) -> i128 {
        i128::from(self.utc_offset_minutes) * i128::from(MIN_MS)
    }

    /// The local day number and millisecond of the day of `t`.
    fn local(&self, t: Timestamp) -> (i64, i64) {
        let local = i128::from(t.as_millis()) + self.offset_ms();
        let day = local.div_euclid(i128::from(DAY_MS));
        let ms = local.rem_euclid(i128::from(DAY_MS));
        // |local| < 2^64, so the day fits in i64; ms is below DAY_MS.
        (i64::try_from(day).unwrap_or(0), i64::try_from(ms).unwrap_or(0))
    }

    /// The regular (weekly) hours of a weekday, 0 = Monday.
    fn regular(&self, weekday: u8) -> &[Span] {
        self.week.get(usize::from(weekday)).map_or(&[], Vec::as_slice)
    }

    /// The hours of the local day `day`, holidays and make-up workdays applied.
    fn spans_on(&self, day: i64) -> &[Span] {
        if self.holidays.is_empty() && self.workdays.is_empty() {
            return self.regular(weekday_of(day));
        }
        let date = Date::from_days_since_epoch(day);
        if self.holidays.contains(&date) {
            &[]
        } else if self.workdays.contains(&date) {
            self.regular(0)
        } else {
            self.regular(weekday_of(day))
        }
    }

    /// Whether the center is open at `t`.
    pub fn is_open(&self, t: Timestamp) -> bool {
        let (day, ms) = self.local(t);
        self.spans_on(day).iter().any(|s| s.start_ms() <= ms && ms < s.end_ms())
    }

    /// The local date of `t`.
    pub fn local_date(&self, t: Timestamp) -> Date {
        Date::from_days_since_epoch(self.local(t).0)
    }

    /// Open milliseconds in the whole local days `[d0, d1)`, in O(holidays in range).
    fn open_in_days(&self, d0: i64, d1: i64) -> i128 {
        if d1 <= d0 {
            return 0;
        }
        let n = i128::from(d1) - i128::from(d0);
        let w0 = weekday_of(d0);
        let mut total: i128 = 0;
        for k in 0..7u8 {
            let count = n / 7 + i128::from(i128::from(k) < n % 7);
            total += count * i128::from(open_ms(self.regular((w0 + k) % 7)));
        }
        if self.holidays.is_empty() && self.workdays.is_empty() {
            return total;
        }
        let (from, to) = (Date::from_days_since_epoch(d0), Date::from_days_since_epoch(d1));
        for h in self.holidays.range(from..to) {
            total -= i128::from(open_ms(self.regular(h.weekday())));
        }
        let monday = i128::from(open_ms(self.regular(0)));
        for w in self.workdays.range(from..to).filter(|w| !self.holidays.contains(w)) {
            total += monday - i128::from(open_ms(self.regular(w.weekday())));
        }
        total
    }

    /// Open milliseconds in `[a, b)`; 0 if `b <= a`. Fast for any span of time.
    pub fn between(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b <= a {
            return 0;
        }
        let ((da, ma), (db, mb)) = (self.local(a), self.local(b));
        let total = if da == db {
            i128::from(open_within(self.spans_on(da), ma, mb))
        } else {
            i128::from(open_within(self.spans_on(da), ma, DAY_MS))
                + self.open_in_days(da + 1, db)
                + i128::from(open_within(self.spans_on(db), 0, mb))
        };
        i64::try_from(total).unwrap_or(i64::MAX)
    }

    /// The instant at which `business_ms` of open time has passed since `start`: counting
    /// begins at `start` or, if closed then, at the next opening. `start` itself when
    /// `business_ms <= 0`. If the calendar never accumulates that much open time (no open
    /// hours at all, or an instant beyond the `i64` range), returns the sentinel
    /// `Timestamp::from_millis(i64::MAX)`, "never". Runs in O(log(days) × holidays).
    pub fn add(&self, start: Timestamp, business_ms: i64) -> Timestamp {
        const NEVER: Timestamp = Timestamp::from_millis(i64::MAX);
        if business_ms <= 0 {
            return start;
        }
        let (d0, m0) = self.local(start);
        let first = open_within(self.spans_on(d0), m0, DAY_MS);
        let (day, need, from) = if business_ms <= first {
            (d0, business_ms, m0)
        } else {
            let remaining = i128::from(business_ms - first);
            // The last local day whose instants still fit in i64 once converted to UTC.
            let last_day = (i128::from(i64::MAX) + self.offset_ms()).div_euclid(i128::from(DAY_MS));
            let last_day = i64::try_from(last_day).unwrap_or(i64::MAX - 1);
            if last_day <= d0 || self.open_in_days(d0 + 1, last_day + 1) < remaining {
                return NEVER;
            }
            // The first day D such that days (d0, D] hold `remaining`.
            let (mut lo, mut hi) = (d0 + 1, last_day);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.open_in_days(d0 + 1, mid + 1) >= remaining {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            let need = remaining - self.open_in_days(d0 + 1, lo);
            (lo, i64::try_from(need).unwrap_or(i64::MAX), 0)
        };
        let Some(ms) = instant_within(self.spans_on(day), from, need) else {
            return NEVER;
        };
        let utc = i128::from(day) * i128::from(DAY_MS) + i128::from(ms) - self.offset_ms();
        i64::try_from(utc).map_or(NEVER, Timestamp::from_millis)
    }
}

/// Open milliseconds of a day's spans.
fn open_ms(spans: &[Span]) -> i64 {
    spans.iter().map(|s| s.end_ms() - s.start_ms()).sum()
}

/// Open milliseconds of `spans` within `[from, to)` (milliseconds of the day).
fn open_within(spans: &[Span], from: i64, to: i64) -> i64 {
    spans.iter().map(|s| (s.end_ms().min(to) - s.start_ms().max(from)).max(0)).sum()
}

/// The millisecond of the day at which `need` (> 0) open milliseconds after `from` have passed.
fn instant_within(spans: &[Span], from: i64, mut need: i64) -> Option<i64> {
    for s in spans {
        let begin = s.start_ms().max(from);
        let len = s.end_ms() - begin;
        if len <= 0 {
            continue;
        }
        if need <= len {
            return Some(begin + need);
        }
        need -= len;
    }
    None
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
