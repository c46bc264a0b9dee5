//! Fuzzes the score API body: JSON into [`ScoreInput`] (serde_json, `deny_unknown_fields`) and
//! [`ScoreInput::validate`] (AGS 2.0 §3.4), with bodies a hostile or buggy activity could post.
//!
//! The first byte chooses `extra_credit` (bit 0); the rest is the body. Checked besides "never
//! panics":
//! * determinism: parsing and validating twice give the same answer;
//! * an accepted score respects the documented bounds: `given` and `maximum` finite, `given`
//!   ≥ 0, `maximum` > 0, `given` ≤ `maximum` unless extra credit is allowed, the comment at
//!   most [`MAX_COMMENT_LEN`] characters and never empty, the timestamp the one passed, and
//!   `fraction()` within 0..=1;
//! * a refusal names one of the body's fields (`ScoreError::field`), and a refusal about a
//!   number is consistent with that number (e.g. `Negative` only for a negative given score);
//! * an accepted score survives a serde round trip of [`Score`] (as stored with the attempt;
//!   the numbers to within the last bit, as serde_json parses floats best-effort).

#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_shared::domain::score::{MAX_COMMENT_LEN, Score, ScoreError, ScoreInput};
use time::macros::datetime;

const FIELDS: [&str; 5] = [
    "scoreGiven",
    "scoreMaximum",
    "activityProgress",
    "gradingProgress",
    "comment",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let extra_credit = selector & 1 == 1;
    let at = datetime!(2026-03-01 12:00:00.123 UTC);

    let Ok(input) = serde_json::from_slice::<ScoreInput>(body) else {
        return;
    };
    assert_eq!(serde_json::from_slice::<ScoreInput>(body).ok(), Some(input.clone()));
    let result = input.validate(extra_credit, at);
    assert_eq!(result, input.validate(extra_credit, at));
    match result {
        Ok(score) => {
            assert!(score.given.is_finite() && score.maximum.is_finite());
            assert!(score.given >= 0.0, "{}", score.given);
            assert!(score.maximum > 0.0, "{}", score.maximum);
            assert!(extra_credit || score.given <= score.maximum);
            assert_eq!(Some(score.given), input.score_given);
            assert_eq!(Some(score.maximum), input.score_maximum);
            let fraction = score.fraction();
            assert!((0.0..=1.0).contains(&fraction), "{fraction}");
            if let Some(comment) = &score.comment {
                assert!(!comment.is_empty());
                assert!(comment.chars().count() <= MAX_COMMENT_LEN);
                assert_eq!(input.comment.as_ref(), Some(comment));
            }
            assert_eq!(score.timestamp, at);
            let stored = serde_json::to_string(&score).expect("a score serializes");
            let back: Score = serde_json::from_str(&stored).expect("a stored score parses");
            // serde_json without `float_roundtrip` parses floats best-effort: allow the last
            // bit to differ, everything else must come back exactly.
            let close = |a: f64, b: f64| a == b || (a - b).abs() <= 2.0 * f64::EPSILON * a.abs();
            assert!(close(back.given, score.given), "{} {}", back.given, score.given);
            assert!(close(back.maximum, score.maximum), "{} {}", back.maximum, score.maximum);
            assert_eq!(
                (back.activity_progress, back.grading_progress, &back.comment, back.timestamp),
                (score.activity_progress, score.grading_progress, &score.comment, score.timestamp)
            );
        }
        Err(error) => {
            assert!(FIELDS.contains(&error.field()), "{error:?}");
            match error {
                ScoreError::Missing("scoreGiven") => assert!(input.score_given.is_none()),
                ScoreError::Missing("scoreMaximum") => assert!(input.score_maximum.is_none()),
                ScoreError::NotFinite(field) => {
                    let value = if field == "scoreGiven" {
                        input.score_given
                    } else {
                        input.score_maximum
                    };
                    assert!(value.is_some_and(|v| !v.is_finite()), "{field}");
                }
                ScoreError::Negative => assert!(input.score_given.is_some_and(|g| g < 0.0)),
                ScoreError::MaximumNotPositive => {
                    assert!(input.score_maximum.is_some_and(|m| m <= 0.0));
                }
                ScoreError::AboveMaximum => {
                    assert!(!extra_credit);
                    assert!(input.score_given > input.score_maximum);
                }
                ScoreError::CommentTooLong => assert!(
                    input
                        .comment
                        .as_ref()
                        .is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN)
                ),
                ScoreError::UnknownValue { .. } | ScoreError::Missing(_) => {}
            }
        }
    }
});
