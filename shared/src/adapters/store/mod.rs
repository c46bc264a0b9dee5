//! Storage adapters for the [`crate::ports`] traits.
//!
//! - [`dynamo`]: the cloud adapter, one DynamoDB table (key design documented there).
//! - [`embedded`]: a SQLite file in the local data folder, for `ltictl serve` and tests.
//!
//! Both build their keys with [`crate::domain::record_key`], and both return lists in the
//! order the port documents, sorted by domain values (not by encoded keys), so their answers
//! are identical.

use crate::domain::model::{Attempt, Registration};

pub mod dynamo;
pub mod embedded;

/// An instant as whole milliseconds since the Unix epoch: the precision expiries are checked at.
pub(crate) fn unix_millis(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The instant `millis` milliseconds after the Unix epoch (the inverse of [`unix_millis`]).
pub(crate) fn from_unix_millis(
    millis: i64,
) -> Result<time::OffsetDateTime, crate::ports::StoreError> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|e| crate::ports::StoreError::Corrupt(format!("expiry {millis}: {e}")))
}

/// Orders registrations by issuer, then client id.
pub(crate) fn sort_registrations(list: &mut [Registration]) {
    list.sort_by(|a, b| (&a.issuer, &a.client_id).cmp(&(&b.issuer, &b.client_id)));
}

/// Orders attempts by user, then start time (attempt id breaks ties).
pub(crate) fn sort_attempts(list: &mut [Attempt]) {
    list.sort_by(|a, b| {
        a.key
            .user_id
            .cmp(&b.key.user_id)
            .then(a.started_at.cmp(&b.started_at))
            .then_with(|| a.key.attempt_id.cmp(&b.key.attempt_id))
    });
}
