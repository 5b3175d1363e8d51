//! Follow-up after resolution: callbacks (回访) with up to three attempts (TK-5) and the
//! satisfaction survey (SURV-1: speed, attitude, quality 1–5 and a comment; target ≥ 85).

use super::ticket::{FieldError, str_enum};
use serde::{Deserialize, Serialize};

/// The most callback attempts before a follow-up fails.
pub const MAX_ATTEMPTS: u8 = 3;
/// The longest survey comment, in characters.
pub const COMMENT_MAX_CHARS: usize = 500;
/// The satisfaction target (SURV-1), on the 0–100 scale of [`Satisfaction::score_100`].
pub const TARGET_SCORE: f64 = 85.0;

str_enum!(
    /// How one callback attempt went.
    AttemptOutcome, "attempt outcome" {
        /// The customer answered and talked.
        Answered = "answered",
        /// Nobody answered.
        NoAnswer = "no_answer",
        /// The line was busy.
        Busy = "busy",
        /// The number could not be reached (off, out of service).
        Unreachable = "unreachable",
        /// Someone else answered.
        WrongNumber = "wrong_number",
        /// The customer answered but declined the callback.
        Refused = "refused",
    }
);

impl AttemptOutcome {
    /// Whether the customer was reached (answered or refused): the follow-up is done.
    pub const fn is_contact(self) -> bool {
        matches!(self, AttemptOutcome::Answered | AttemptOutcome::Refused)
    }
}

str_enum!(
    /// Where a follow-up stands.
    FollowUpState, "follow-up state" {
        /// Attempts remain.
        Open = "open",
        /// The customer was reached.
        Done = "done",
        /// Three attempts failed.
        Failed = "failed",
        /// Called off (e.g. the order was reopened).
        Cancelled = "cancelled",
    }
);

impl FollowUpState {
    /// Whether no more attempts can be made.
    pub const fn is_final(self) -> bool {
        !matches!(self, FollowUpState::Open)
    }
}

/// A follow-up that cannot take another attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpError {
    /// All attempts are used up.
    #[error("this callback already had {MAX_ATTEMPTS} attempts; no more can be recorded")]
    NoAttemptsLeft,
}

/// The state after one more attempt with `outcome`, given `attempts_so_far` earlier failed
/// attempts: done on contact, failed after the third failure, else still open.
pub fn after_attempt(attempts_so_far: u8, outcome: AttemptOutcome) -> Result<FollowUpState, FollowUpError> {
    if attempts_so_far >= MAX_ATTEMPTS {
        return Err(FollowUpError::NoAttemptsLeft);
    }
    Ok(if outcome.is_contact() {
        FollowUpState::Done
    } else if attempts_so_far + 1 >= MAX_ATTEMPTS {
        FollowUpState::Failed
    } else {
        FollowUpState::Open
    })
}

/// A satisfaction survey result: three scores 1–5 and a free-text comment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Satisfaction {
    /// How fast the problem was solved, 1–5.
    pub speed: u8,
    /// The agent's attitude, 1–5.
    pub attitude: u8,
    /// The quality of the solution, 1–5.
    pub quality: u8,
    /// Free text, at most 500 characters.
    #[serde(default)]
    pub comment: String,
}

impl Satisfaction {
    /// Checks every score is 1–5 and the comment at most 500 characters.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, v) in [("speed", self.speed), ("attitude", self.attitude), ("quality", self.quality)] {
            if !(1..=5).contains(&v) {
                return Err(FieldError::new(field, format!("must be between 1 and 5, got {v}")));
            }
        }
        let chars = self.comment.chars().count();
        if chars > COMMENT_MAX_CHARS {
            return Err(FieldError::new(
                "comment",
                format!("must be at most {COMMENT_MAX_CHARS} characters, got {chars}"),
            ));
        }
        Ok(())
    }

    /// The mean of the three scores on a 0–100 scale (×20): 5, 4, 5 → 93.33.
    pub fn score_100(&self) -> f64 {
        (f64::from(self.speed) + f64::from(self.attitude) + f64::from(self.quality)) / 3.0 * 20.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptOutcome::*;

    #[test]
    fn only_answered_and_refused_are_contact() {
        let contact: Vec<_> = AttemptOutcome::ALL.iter().filter(|o| o.is_contact()).collect();
        assert_eq!(contact, [&Answered, &Refused]);
        for o in AttemptOutcome::ALL {
            assert_eq!(o.as_str().parse::<AttemptOutcome>().unwrap(), *o);
            assert_eq!(serde_json::to_string(o).unwrap(), format!("\"{o}\""));
        }
        assert_eq!(WrongNumber.as_str(), "wrong_number");
        assert!("hung_up".parse::<AttemptOutcome>().unwrap_err().to_string().contains("expected one of answered"));
    }

    #[test]
    fn a_callback_is_done_on_contact_or_failed_after_three_misses() {
        for so_far in 0..MAX_ATTEMPTS {
            assert_eq!(after_attempt(so_far, Answered), Ok(FollowUpState::Done));
            assert_eq!(after_attempt(so_far, Refused), Ok(FollowUpState::Done));
        }
        for miss in [NoAnswer, Busy, Unreachable, WrongNumber] {
            assert_eq!(after_attempt(0, miss), Ok(FollowUpState::Open));
            assert_eq!(after_attempt(1, miss), Ok(FollowUpState::Open));
            assert_eq!(after_attempt(2, miss), Ok(FollowUpState::Failed));
        }
        assert_eq!(after_attempt(3, Answered), Err(FollowUpError::NoAttemptsLeft));
        assert_eq!(after_attempt(200, NoAnswer), Err(FollowUpError::NoAttemptsLeft));
        assert_eq!(
            FollowUpError::NoAttemptsLeft.to_string(),
            "this callback already had 3 attempts; no more can be recorded"
        );
        let finals: Vec<_> = FollowUpState::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [&FollowUpState::Done, &FollowUpState::Failed, &FollowUpState::Cancelled]);
        assert_eq!(serde_json::to_string(&FollowUpState::Cancelled).unwrap(), "\"cancelled\"");
    }

    fn survey(speed: u8, attitude: u8, quality: u8) -> Satisfaction {
        Satisfaction { speed, attitude, quality, comment: String::new() }
    }

    #[test]
    fn satisfaction_scores_on_a_hundred_point_scale() {
        assert!((survey(5, 4, 5).score_100() - 93.333).abs() < 0.001);
        assert!((survey(5, 5, 5).score_100() - 100.0).abs() < f64::EPSILON);
        assert!((survey(1, 1, 1).score_100() - 20.0).abs() < f64::EPSILON);
        assert!(survey(4, 4, 5).score_100() >= TARGET_SCORE);
        assert!(survey(4, 4, 4).score_100() < TARGET_SCORE);
    }

    #[test]
    fn satisfaction_is_validated() {
        assert_eq!(survey(1, 3, 5).validate(), Ok(()));
        let err = survey(0, 3, 5).validate().unwrap_err();
        assert_eq!((err.field, err.message.as_str()), ("speed", "must be between 1 and 5, got 0"));
        assert_eq!(survey(5, 6, 5).validate().unwrap_err().field, "attitude");
        assert_eq!(survey(5, 5, 9).validate().unwrap_err().field, "quality");
        let long = Satisfaction { comment: "好".repeat(COMMENT_MAX_CHARS), ..survey(5, 5, 5) };
        assert_eq!(long.validate(), Ok(()));
        let too_long = Satisfaction { comment: "好".repeat(COMMENT_MAX_CHARS + 1), ..survey(5, 5, 5) };
        assert_eq!(too_long.validate().unwrap_err().field, "comment");
        let s: Satisfaction = serde_json::from_str(r#"{"speed":5,"attitude":4,"quality":5}"#).unwrap();
        assert_eq!(s, survey(5, 4, 5));
    }
}
