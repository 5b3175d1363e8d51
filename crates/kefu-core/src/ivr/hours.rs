//! Local calendar arithmetic for opening hours: UTC milliseconds plus the flow's offset to a
//! local date, weekday and minute of the day (proleptic Gregorian, no time-zone database:
//! the flow names its offset, and China has no daylight saving).

/// A local date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Days since 1970-01-01 (local).
    pub day: i64,
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// Minutes since local midnight.
    pub minute: u32,
}

/// The local time of `utc_ms` at `offset_minutes` from UTC.
pub fn local_time(utc_ms: i64, offset_minutes: i32) -> LocalTime {
    let local_min = utc_ms.div_euclid(60_000) + i64::from(offset_minutes);
    let day = local_min.div_euclid(1_440);
    // 1970-01-01 was a Thursday (ISO 4).
    let weekday = u8::try_from((day + 3).rem_euclid(7) + 1).unwrap_or(1);
    let minute = u32::try_from(local_min.rem_euclid(1_440)).unwrap_or(0);
    LocalTime { day, weekday, minute }
}

/// `HH:MM` (00:00–24:00) as minutes since midnight.
pub fn parse_hhmm(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 1_440).then_some(total)
}

/// `YYYY-MM-DD` as days since 1970-01-01 (the civil-date math lives in
/// [`crate::service::calendar::Date`]).
pub fn parse_date(text: &str) -> Option<i64> {
    text.trim().parse::<crate::service::calendar::Date>().ok().map(crate::service::calendar::Date::days_since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_the_offset_and_weekday() {
        // 2026-11-23T01:30:00Z is a Monday; in China (UTC+8) 09:30 the same day.
        let t = 1_795_397_400_000;
        assert_eq!(local_time(t, 0), LocalTime { day: parse_date("2026-11-23").unwrap(), weekday: 1, minute: 90 });
        assert_eq!(local_time(t, 480), LocalTime { day: parse_date("2026-11-23").unwrap(), weekday: 1, minute: 570 });
        // 23:30 UTC on Sunday is already Monday 07:30 in China.
        let sunday = t - 2 * 3_600_000;
        assert_eq!(local_time(sunday, 0).weekday, 7);
        assert_eq!(local_time(sunday, 480).weekday, 1);
        assert_eq!(local_time(-1, 0), LocalTime { day: -1, weekday: 3, minute: 1_439 });
    }

    #[test]
    fn times_and_dates_parse_strictly() {
        assert_eq!(parse_hhmm("09:00"), Some(540));
        assert_eq!(parse_hhmm("24:00"), Some(1_440));
        for bad in ["9:00", "24:01", "12:60", "ab:cd", "1200", ""] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        for bad in ["2023-02-29", "2026-13-01", "2026-1-01", "2026-00-10", "2026-04-31", "x"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
