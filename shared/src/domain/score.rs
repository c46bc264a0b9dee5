//! Scores: what the activity submits, how it is checked, and how it is written for AGS.
//!
//! The activity posts a score to the `outcomes` function in the shape of an AGS score
//! (AGS 2.0 §3.4: `scoreGiven`, `scoreMaximum`, `activityProgress`, `gradingProgress`,
//! `comment`). [`ScoreInput::validate`] refuses what a platform would refuse, naming the field,
//! so a bad score fails at once with an answer the activity can act on instead of failing
//! later, during delivery, where nobody sees it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

/// The longest comment accepted (platforms show comments to learners; this bounds storage).
pub const MAX_COMMENT_LEN: usize = 4096;

/// The learner's progress with the activity (AGS 2.0 §3.4.6 `activityProgress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivityProgress {
    /// The learner has not started.
    Initialized,
    /// The learner has started.
    Started,
    /// The learner is working on it.
    InProgress,
    /// The learner submitted, but may still change it.
    Submitted,
    /// The learner has finished.
    Completed,
}

/// How far grading has gone (AGS 2.0 §3.4.7 `gradingProgress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GradingProgress {
    /// Grading is finished; the platform may show the score.
    FullyGraded,
    /// Grading is not finished; more scores will follow.
    Pending,
    /// A person must grade before the score is final.
    PendingManual,
    /// Grading could not finish.
    Failed,
    /// There is nothing to grade yet.
    NotReady,
}

/// A score as the activity posts it (JSON, AGS field names). Unknown fields are refused so a
/// misspelt field is reported rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScoreInput {
    /// The score given.
    pub score_given: Option<f64>,
    /// The maximum score.
    pub score_maximum: Option<f64>,
    /// Progress with the activity; `Completed` when absent.
    pub activity_progress: Option<String>,
    /// Progress with grading; `FullyGraded` when absent.
    pub grading_progress: Option<String>,
    /// A comment for the learner.
    pub comment: Option<String>,
    /// The attempt the activity means; when given it must be the session's attempt.
    pub attempt_id: Option<String>,
}

/// Why a submitted score was refused; each names the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// A required field is missing.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A number is not finite.
    #[error("{0} must be a finite number")]
    NotFinite(&'static str),
    /// `scoreGiven` is below zero.
    #[error("scoreGiven must not be negative")]
    Negative,
    /// `scoreMaximum` is zero or below.
    #[error("scoreMaximum must be greater than zero")]
    MaximumNotPositive,
    /// `scoreGiven` exceeds `scoreMaximum` on a resource that does not allow extra credit.
    #[error("scoreGiven must not exceed scoreMaximum (this resource does not allow extra credit)")]
    AboveMaximum,
    /// A progress value is not one of the AGS enumeration.
    #[error("{field} must be one of {allowed}")]
    UnknownValue {
        /// The field.
        field: &'static str,
        /// The accepted values.
        allowed: &'static str,
    },
    /// The comment is too long.
    #[error("comment must be at most {MAX_COMMENT_LEN} characters")]
    CommentTooLong,
}

impl ScoreError {
    /// The JSON field name the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ScoreError::Missing(f) | ScoreError::NotFinite(f) => f,
            ScoreError::Negative | ScoreError::AboveMaximum => "scoreGiven",
            ScoreError::MaximumNotPositive => "scoreMaximum",
            ScoreError::UnknownValue { field, .. } => field,
            ScoreError::CommentTooLong => "comment",
        }
    }
}

/// A checked score, as stored with the attempt and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The score given (≥ 0).
    pub given: f64,
    /// The maximum score (> 0).
    pub maximum: f64,
    /// Progress with the activity.
    pub activity_progress: ActivityProgress,
    /// Progress with grading.
    pub grading_progress: GradingProgress,
    /// A comment for the learner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When the score was given (milliseconds; strictly increasing per user and resource
    /// link, AGS 2.0 §3.4.8).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

impl Score {
    /// The score as a fraction of the maximum, clamped to 0..=1 (Basic Outcomes only takes
    /// a decimal in that range, LTI 1.1 §6.1.1).
    pub fn fraction(&self) -> f64 {
        (self.given / self.maximum).clamp(0.0, 1.0)
    }

    /// Whether `self` is a better result than `other` (higher fraction of the maximum).
    pub fn beats(&self, other: &Score) -> bool {
        self.given / self.maximum > other.given / other.maximum
    }
}

const ACTIVITY_VALUES: &str = "Initialized, Started, InProgress, Submitted, Completed";
const GRADING_VALUES: &str = "FullyGraded, Pending, PendingManual, Failed, NotReady";

fn finite(value: Option<f64>, field: &'static str) -> Result<f64, ScoreError> {
    let value = value.ok_or(ScoreError::Missing(field))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ScoreError::NotFinite(field))
    }
}

fn activity(value: Option<&str>) -> Result<ActivityProgress, ScoreError> {
    Ok(match value {
        None | Some("Completed") => ActivityProgress::Completed,
        Some("Initialized") => ActivityProgress::Initialized,
        Some("Started") => ActivityProgress::Started,
        Some("InProgress") => ActivityProgress::InProgress,
        Some("Submitted") => ActivityProgress::Submitted,
        Some(_) => {
            return Err(ScoreError::UnknownValue {
                field: "activityProgress",
                allowed: ACTIVITY_VALUES,
            });
        }
    })
}

fn grading(value: Option<&str>) -> Result<GradingProgress, ScoreError> {
    Ok(match value {
        None | Some("FullyGraded") => GradingProgress::FullyGraded,
        Some("Pending") => GradingProgress::Pending,
        Some("PendingManual") => GradingProgress::PendingManual,
        Some("Failed") => GradingProgress::Failed,
        Some("NotReady") => GradingProgress::NotReady,
        Some(_) => {
            return Err(ScoreError::UnknownValue {
                field: "gradingProgress",
                allowed: GRADING_VALUES,
            });
        }
    })
}

impl ScoreInput {
    /// Checks the score as AGS 2.0 §3.4 would, at `timestamp`. `extra_credit` lets
    /// `scoreGiven` exceed `scoreMaximum` (the resource's grading settings decide).
    pub fn validate(
        &self,
        extra_credit: bool,
        timestamp: OffsetDateTime,
    ) -> Result<Score, ScoreError> {
        let given = finite(self.score_given, "scoreGiven")?;
        let maximum = finite(self.score_maximum, "scoreMaximum")?;
        if given < 0.0 {
            return Err(ScoreError::Negative);
        }
        if maximum <= 0.0 {
            return Err(ScoreError::MaximumNotPositive);
        }
        if given > maximum && !extra_credit {
            return Err(ScoreError::AboveMaximum);
        }
        if self
            .comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN)
        {
            return Err(ScoreError::CommentTooLong);
        }
        Ok(Score {
            given,
            maximum,
            activity_progress: activity(self.activity_progress.as_deref())?,
            grading_progress: grading(self.grading_progress.as_deref())?,
            comment: self.comment.clone().filter(|c| !c.is_empty()),
            timestamp,
        })
    }
}

/// An instant in RFC 3339 with exactly three fractional digits in UTC, the form AGS platforms
/// compare (AGS 2.0 §3.4.8: "timestamp … with sub-second precision").
pub fn ags_timestamp(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// `at` truncated to whole milliseconds (the precision scores are ordered at).
pub fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000_000)
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn input(json: &str) -> Result<ScoreInput, serde_json::Error> {
        serde_json::from_str(json)
    }

    const AT: OffsetDateTime = datetime!(2026-11-22 10:00:00.123 UTC);

    #[test]
    fn validate_full_score_is_accepted() {
        let score = input(r#"{"scoreGiven":7,"scoreMaximum":10,"activityProgress":"Submitted","gradingProgress":"Pending","comment":"ok"}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap();
        assert_eq!(score.given, 7.0);
        assert_eq!(score.maximum, 10.0);
        assert_eq!(score.activity_progress, ActivityProgress::Submitted);
        assert_eq!(score.grading_progress, GradingProgress::Pending);
        assert_eq!(score.comment.as_deref(), Some("ok"));
    }

    #[test]
    fn validate_absent_progress_defaults_to_completed_and_fully_graded() {
        let score = input(r#"{"scoreGiven":0,"scoreMaximum":1}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap();
        assert_eq!(score.activity_progress, ActivityProgress::Completed);
        assert_eq!(score.grading_progress, GradingProgress::FullyGraded);
    }

    #[test]
    fn validate_negative_is_refused_naming_score_given() {
        let e = input(r#"{"scoreGiven":-1,"scoreMaximum":10}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap_err();
        assert_eq!(e, ScoreError::Negative);
        assert_eq!(e.field(), "scoreGiven");
    }

    #[test]
    fn validate_above_maximum_is_refused_unless_extra_credit() {
        let i = input(r#"{"scoreGiven":11,"scoreMaximum":10}"#).unwrap();
        assert_eq!(i.validate(false, AT).unwrap_err(), ScoreError::AboveMaximum);
        assert_eq!(i.validate(true, AT).unwrap().given, 11.0);
    }

    #[test]
    fn validate_maximum_zero_is_refused() {
        let e = input(r#"{"scoreGiven":0,"scoreMaximum":0}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap_err();
        assert_eq!(e, ScoreError::MaximumNotPositive);
        assert_eq!(e.field(), "scoreMaximum");
    }

    #[test]
    fn validate_missing_fields_are_named() {
        let e = input(r#"{"scoreMaximum":10}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap_err();
        assert_eq!(e.field(), "scoreGiven");
        let e = input(r#"{"scoreGiven":1}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap_err();
        assert_eq!(e.field(), "scoreMaximum");
    }

    #[test]
    fn validate_unknown_progress_values_are_refused() {
        let e = input(r#"{"scoreGiven":1,"scoreMaximum":2,"activityProgress":"Done"}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap_err();
        assert_eq!(e.field(), "activityProgress");
        let e = input(r#"{"scoreGiven":1,"scoreMaximum":2,"gradingProgress":"graded"}"#)
            .unwrap()
            .validate(false, AT)
            .unwrap_err();
        assert_eq!(e.field(), "gradingProgress");
    }

    #[test]
    fn input_unknown_field_is_refused() {
        assert!(input(r#"{"scoreGiven":1,"scoreMaximum":2,"score":3}"#).is_err());
    }

    #[test]
    fn validate_long_comment_is_refused() {
        let i = ScoreInput {
            score_given: Some(1.0),
            score_maximum: Some(2.0),
            activity_progress: None,
            grading_progress: None,
            comment: Some("x".repeat(MAX_COMMENT_LEN + 1)),
            attempt_id: None,
        };
        assert_eq!(
            i.validate(false, AT).unwrap_err(),
            ScoreError::CommentTooLong
        );
    }

    #[test]
    fn ags_timestamp_has_three_fraction_digits_in_utc() {
        assert_eq!(ags_timestamp(AT), "2026-11-22T10:00:00.123Z");
        assert_eq!(
            ags_timestamp(datetime!(2026-11-22 10:00:00 UTC)),
            "2026-11-22T10:00:00.000Z"
        );
        assert_eq!(
            ags_timestamp(datetime!(2026-11-22 12:00:00.5 +02:00)),
            "2026-11-22T10:00:00.500Z"
        );
    }

    #[test]
    fn fraction_is_clamped_for_basic_outcomes() {
        let mut s = input(r#"{"scoreGiven":12,"scoreMaximum":10}"#)
            .unwrap()
            .validate(true, AT)
            .unwrap();
        assert_eq!(s.fraction(), 1.0);
        s.given = 5.0;
        assert_eq!(s.fraction(), 0.5);
    }

    #[test]
    fn truncate_to_millis_drops_sub_millisecond_digits() {
        let at = datetime!(2026-11-22 10:00:00.123456789 UTC);
        assert_eq!(truncate_to_millis(at), AT);
    }
}
