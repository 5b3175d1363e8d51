//! The work order (工单): its type, status workflow, pending reasons, channel, priority
//! quadrant, human-readable number and summary rules.

use super::calendar::Date;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A name given where one of a fixed set of snake_case values was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{text}` (expected one of {expected})")]
pub struct UnknownValue {
    /// What was being parsed (`ticket type`, `status`, …).
    pub kind: &'static str,
    /// The offending text, truncated to 32 characters.
    pub text: String,
    /// The accepted values, comma-separated.
    pub expected: String,
}

impl UnknownValue {
    /// An error for `text`, which is none of `expected`.
    pub fn new(kind: &'static str, text: &str, expected: &[&str]) -> Self {
        Self { kind, text: text.chars().take(32).collect(), expected: expected.join(", ") }
    }
}

/// Declares a snake_case string enum with `ALL`, `as_str`, `Display`, `FromStr` and serde.
macro_rules! str_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vdoc])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable snake_case name used in the API, the database and configuration.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::service::ticket::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    $crate::service::ticket::UnknownValue::new($kind, s, &[$($text),+])
                })
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(
    /// What kind of request a work order is (TK-1).
    TicketType, "ticket type" {
        /// A question (咨询).
        Consultation = "consultation",
        /// A complaint (投诉).
        Complaint = "complaint",
        /// A suggestion (建议).
        Suggestion = "suggestion",
        /// An emergency (紧急).
        Emergency = "emergency",
    }
);

str_enum!(
    /// Where a work order is in its life cycle.
    TicketStatus, "work-order status" {
        /// Just created, nobody owns it yet.
        New = "new",
        /// Given to an owner or group, not started.
        Assigned = "assigned",
        /// Being worked.
        InProgress = "in_progress",
        /// Waiting for the customer or a third party; the SLA clock is paused.
        Pending = "pending",
        /// Solved; awaiting the callback.
        Resolved = "resolved",
        /// The callback (回访) is under way.
        Callback = "callback",
        /// Closed and archived.
        Closed = "closed",
    }
);

/// A status change the workflow does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The order is already in that status.
    #[error("the work order is already {0}")]
    Unchanged(TicketStatus),
    /// The workflow has no such step.
    #[error("{}", transition_message(*.from, *.to))]
    NotAllowed {
        /// The current status.
        from: TicketStatus,
        /// The requested status.
        to: TicketStatus,
    },
}

fn status_phrase(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::New => "a new work order",
        TicketStatus::Assigned => "an assigned work order",
        TicketStatus::InProgress => "a work order in progress",
        TicketStatus::Pending => "a pending work order",
        TicketStatus::Resolved => "a resolved work order",
        TicketStatus::Callback => "a work order in callback",
        TicketStatus::Closed => "a closed work order",
    }
}

fn transition_message(from: TicketStatus, to: TicketStatus) -> String {
    let hint = match from {
        TicketStatus::Resolved | TicketStatus::Callback | TicketStatus::Closed => "; reopen it first",
        _ => "",
    };
    let allowed: Vec<&str> = TicketStatus::ALL.iter().filter(|t| from.can_move_to(**t)).map(|t| t.as_str()).collect();
    format!("{} cannot move to {}{hint} (allowed: {})", status_phrase(from), to.as_str(), allowed.join(", "))
}

impl TicketStatus {
    /// Whether the workflow allows moving from `self` to `to` (moving to the same status is not a move).
    pub const fn can_move_to(self, to: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, to),
            (New, Assigned | InProgress | Resolved)
                | (Assigned, InProgress | Pending | Resolved)
                | (InProgress, Pending | Resolved)
                | (Pending, InProgress | Resolved)
                | (Resolved, Callback | Closed | InProgress)
                | (Callback, Closed | InProgress)
                | (Closed, InProgress)
        )
    }

    /// `Ok` if the move is allowed, else an error that says why.
    pub fn check_move(self, to: TicketStatus) -> Result<(), TransitionError> {
        if self == to {
            Err(TransitionError::Unchanged(self))
        } else if self.can_move_to(to) {
            Ok(())
        } else {
            Err(TransitionError::NotAllowed { from: self, to })
        }
    }

    /// Whether moving `from` → `to` reopens a resolved, called-back or closed order.
    pub const fn is_reopen(from: TicketStatus, to: TicketStatus) -> bool {
        matches!(from, TicketStatus::Resolved | TicketStatus::Callback | TicketStatus::Closed)
            && matches!(to, TicketStatus::InProgress)
    }

    /// Whether the order is still being worked (new, assigned, in progress or pending).
    pub const fn is_open(self) -> bool {
        matches!(self, TicketStatus::New | TicketStatus::Assigned | TicketStatus::InProgress | TicketStatus::Pending)
    }

    /// Whether the resolution and update clocks are paused in this status (pending).
    pub const fn sla_paused(self) -> bool {
        matches!(self, TicketStatus::Pending)
    }
}

str_enum!(
    /// Whom a pending work order is waiting for.
    PendingReason, "pending reason" {
        /// The customer (information, a visit, a parcel).
        Customer = "customer",
        /// A third party (supplier, courier, another company).
        ThirdParty = "third_party",
    }
);

str_enum!(
    /// The channel a work order came in through.
    Channel, "channel" {
        /// A phone call.
        Phone = "phone",
        /// An email.
        Email = "email",
        /// Online chat.
        Chat = "chat",
        /// A text message.
        Sms = "sms",
        /// A web form.
        Web = "web",
        /// Anything else (walk-in, letter, social media).
        Other = "other",
    }
);

/// The urgent × important quadrant of a work order, written `p1` (urgent and important),
/// `p2` (important), `p3` (urgent) or `p4` (neither). Orders sort with `p1` first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Priority {
    /// Needs attention soon.
    pub urgent: bool,
    /// Matters a lot to the customer or the business.
    pub important: bool,
}

impl Priority {
    /// `p1`: urgent and important.
    pub const P1: Priority = Priority { urgent: true, important: true };
    /// `p2`: important, not urgent.
    pub const P2: Priority = Priority { urgent: false, important: true };
    /// `p3`: urgent, not important.
    pub const P3: Priority = Priority { urgent: true, important: false };
    /// `p4`: neither urgent nor important.
    pub const P4: Priority = Priority { urgent: false, important: false };
    /// Every priority, `p1` first.
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// The code: `p1` … `p4`.
    pub const fn code(self) -> &'static str {
        match (self.urgent, self.important) {
            (true, true) => "p1",
            (false, true) => "p2",
            (true, false) => "p3",
            (false, false) => "p4",
        }
    }

    /// 1 (`p1`, handled first) to 4 (`p4`).
    pub const fn rank(self) -> u8 {
        match (self.urgent, self.important) {
            (true, true) => 1,
            (false, true) => 2,
            (true, false) => 3,
            (false, false) => 4,
        }
    }
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl FromStr for Priority {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.code() == s)
            .ok_or_else(|| UnknownValue::new("priority", s, &["p1", "p2", "p3", "p4"]))
    }
}

impl TryFrom<String> for Priority {
    type Error = UnknownValue;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Priority> for String {
    fn from(p: Priority) -> Self {
        p.code().to_owned()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Priority {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["p1", "p2", "p3", "p4"]))
            .description(Some("urgent × important: p1 both, p2 important, p3 urgent, p4 neither"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Priority {}

/// The human-readable number of a work order: `GD` + local date + `-` + a sequence of at
/// least four digits, e.g. `GD20261122-0001`.
pub fn ticket_number(local_date: Date, seq: u32) -> String {
    format!("GD{:04}{:02}{:02}-{seq:04}", local_date.year, local_date.month, local_date.day)
}

/// The longest summary, in characters.
pub const SUMMARY_MAX_CHARS: usize = 200;

/// A field value that fails validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name in the API (`summary`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// The summary trimmed, if it has 1 to [`SUMMARY_MAX_CHARS`] characters and no control characters.
pub fn check_summary(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new("summary", "must not be empty"));
    }
    let chars = s.chars().count();
    if chars > SUMMARY_MAX_CHARS {
        return Err(FieldError::new(
            "summary",
            format!("must be at most {SUMMARY_MAX_CHARS} characters, got {chars}; put the rest in the details"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new("summary", "must be one line without control characters"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    #[test]
    fn enums_round_trip_through_text_and_serde() {
        for t in TicketType::ALL {
            assert_eq!(t.as_str().parse::<TicketType>().unwrap(), *t);
            assert_eq!(serde_json::to_string(t).unwrap(), format!("\"{t}\""));
        }
        for s in TicketStatus::ALL {
            assert_eq!(s.as_str().parse::<TicketStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
        for r in PendingReason::ALL {
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{r}\""));
        }
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), *c);
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{c}\""));
        }
        assert_eq!(serde_json::to_string(&InProgress).unwrap(), "\"in_progress\"");
        let err = "question".parse::<TicketType>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown ticket type `question` (expected one of consultation, complaint, suggestion, emergency)"
        );
    }

    #[test]
    fn workflow_allows_exactly_the_listed_moves() {
        let allowed = [
            (New, Assigned),
            (New, InProgress),
            (New, Resolved),
            (Assigned, InProgress),
            (Assigned, Pending),
            (Assigned, Resolved),
            (InProgress, Pending),
            (InProgress, Resolved),
            (Pending, InProgress),
            (Pending, Resolved),
            (Resolved, Callback),
            (Resolved, Closed),
            (Resolved, InProgress),
            (Callback, Closed),
            (Callback, InProgress),
            (Closed, InProgress),
        ];
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let expected = allowed.contains(&(*from, *to));
                assert_eq!(from.can_move_to(*to), expected, "{from} -> {to}");
                assert_eq!(from.check_move(*to).is_ok(), expected, "{from} -> {to}");
            }
        }
        assert_eq!(Pending.check_move(Pending), Err(TransitionError::Unchanged(Pending)));
        assert_eq!(
            Closed.check_move(Pending).unwrap_err().to_string(),
            "a closed work order cannot move to pending; reopen it first (allowed: in_progress)"
        );
        assert_eq!(
            New.check_move(Closed).unwrap_err().to_string(),
            "a new work order cannot move to closed (allowed: assigned, in_progress, resolved)"
        );
    }

    #[test]
    fn reopen_open_and_paused_are_classified() {
        assert!(TicketStatus::is_reopen(Closed, InProgress));
        assert!(TicketStatus::is_reopen(Resolved, InProgress));
        assert!(TicketStatus::is_reopen(Callback, InProgress));
        assert!(!TicketStatus::is_reopen(Pending, InProgress));
        assert!(!TicketStatus::is_reopen(Resolved, Closed));
        let open: Vec<_> = TicketStatus::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [&New, &Assigned, &InProgress, &Pending]);
        let paused: Vec<_> = TicketStatus::ALL.iter().filter(|s| s.sla_paused()).collect();
        assert_eq!(paused, [&Pending]);
    }

    #[test]
    fn priority_codes_sort_and_serialise() {
        assert_eq!(Priority { urgent: true, important: true }.code(), "p1");
        assert_eq!(Priority { urgent: false, important: true }.code(), "p2");
        assert_eq!(Priority { urgent: true, important: false }.code(), "p3");
        assert_eq!(Priority { urgent: false, important: false }.code(), "p4");
        let mut all = vec![Priority::P4, Priority::P2, Priority::P1, Priority::P3];
        all.sort();
        assert_eq!(all, Priority::ALL);
        assert_eq!(all.iter().map(|p| p.rank()).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(serde_json::to_string(&Priority::P3).unwrap(), "\"p3\"");
        assert_eq!(serde_json::from_str::<Priority>("\"p2\"").unwrap(), Priority::P2);
        let err = serde_json::from_str::<Priority>("\"p5\"").unwrap_err().to_string();
        assert!(err.contains("unknown priority `p5`"), "{err}");
        assert!(serde_json::from_str::<Priority>("{\"urgent\":true,\"important\":true}").is_err());
    }

    #[test]
    fn ticket_numbers_are_padded_but_not_truncated() {
        let d: Date = "2026-11-22".parse().unwrap();
        assert_eq!(ticket_number(d, 1), "GD20261122-0001");
        assert_eq!(ticket_number(d, 9_999), "GD20261122-9999");
        assert_eq!(ticket_number(d, 123_456), "GD20261122-123456");
        let d: Date = "2027-01-05".parse().unwrap();
        assert_eq!(ticket_number(d, 42), "GD20270105-0042");
    }

    #[test]
    fn summaries_are_trimmed_and_limited_in_characters() {
        assert_eq!(check_summary("  鲜花不新鲜  ").unwrap(), "鲜花不新鲜");
        // 200 Chinese characters are 600 bytes but still allowed.
        let max = "花".repeat(SUMMARY_MAX_CHARS);
        assert_eq!(check_summary(&max).unwrap(), max);
        let err = check_summary(&"花".repeat(SUMMARY_MAX_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "summary");
        assert!(err.message.contains("got 201"), "{err}");
        assert!(check_summary("   ").is_err());
        assert!(check_summary("").is_err());
        assert!(check_summary("line one\nline two").is_err());
        assert!(check_summary("bell\u{7}").is_err());
    }
}
