//! Time as the domain sees it: UTC milliseconds since the Unix epoch, always passed in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant in UTC, in milliseconds since 1970-01-01T00:00:00Z.
///
/// The core never reads a clock; callers at the edge create timestamps and pass them in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Wraps a count of milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved forward by `ms` milliseconds (saturating).
    pub const fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub const fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// ISO 8601 in UTC to the second (`2026-09-21T14:13:20Z`), for exports and people.
    pub fn to_iso8601(self) -> String {
        let d = crate::service::calendar::Date::from_days_since_epoch(self.0.div_euclid(86_400_000));
        let secs = self.0.rem_euclid(86_400_000) / 1000;
        format!("{d}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let t = Timestamp::from_millis(i64::MAX - 1);
        assert_eq!(t.plus_millis(10).as_millis(), i64::MAX);
        let a = Timestamp::from_millis(1_000);
        let b = Timestamp::from_millis(4_500);
        assert_eq!(b.millis_since(a), 3_500);
        assert_eq!(a.millis_since(b), -3_500);
    }

    #[test]
    fn iso8601_is_utc_to_the_second() {
        assert_eq!(Timestamp::from_millis(0).to_iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_millis(1_790_000_000_123).to_iso8601(), "2026-09-21T14:13:20Z");
        assert_eq!(Timestamp::from_millis(-1).to_iso8601(), "1969-12-31T23:59:59Z");
    }
}
