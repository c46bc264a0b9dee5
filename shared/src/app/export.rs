//! Attempt exports: one row per attempt, as JSON or CSV, for `ltictl attempts export` and the
//! instructor view's CSV download (both call [`attempt_rows`] and [`attempts_csv`]).
//!
//! A row carries the user identifiers the platform sent (its user id, the SIS id when sent),
//! the name when sent, the attempt's times in ISO 8601 UTC, the score and progress, and the
//! status of the attempt's latest grade delivery. Nothing the platform did not send is made
//! up: an anonymous or privacy-restricted learner has empty name and SIS id cells.
//!
//! The CSV is UTF-8 (no byte-order mark) with a header row, quoted as RFC 4180 requires.
//! Every cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed
//! with `'`, so a spreadsheet opens it as text instead of running it as a formula (OWASP
//! "CSV Injection"); names and ids come from platforms and learners and are not trusted.

use std::collections::HashMap;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::domain::ids::{AttemptId, ContextId, ResourceLinkId, UserId};
use crate::domain::model::{Attempt, PlatformScope, User};
use crate::domain::outbox::{Delivery, DeliveryStatus};
use crate::domain::score::{ActivityProgress, GradingProgress};
use crate::ports::{CourseRecords, DataLifecycle, StoreError};

/// Which attempts to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every attempt on one resource link.
    ResourceLink(ResourceLinkId),
    /// Every attempt on every resource link of a context.
    Context(ContextId),
}

/// One attempt, as exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRow {
    /// The resource link the attempt is on.
    pub resource_link_id: ResourceLinkId,
    /// The context, when known.
    pub context_id: Option<ContextId>,
    /// The platform's id for the learner (LTI 1.3 `sub`, LTI 1.1 `user_id`).
    pub user_id: UserId,
    /// The SIS id (LIS `person_sourcedid`), when the platform sent it.
    pub sis_id: Option<String>,
    /// The display name, when the platform sent one (or its given and family names).
    pub name: Option<String>,
    /// The attempt's id.
    pub attempt_id: AttemptId,
    /// When the attempt was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The last time a launch or the activity touched it.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// The latest score given, if any.
    pub score_given: Option<f64>,
    /// The maximum of that score.
    pub score_maximum: Option<f64>,
    /// Progress with the activity (AGS 2.0 §3.4.6), with the score.
    pub activity_progress: Option<ActivityProgress>,
    /// Progress with grading (AGS 2.0 §3.4.7), with the score.
    pub grading_progress: Option<GradingProgress>,
    /// A Transient or TestUser launch (e.g. student view): kept, but not a real learner.
    pub excluded_from_statistics: bool,
    /// The status of the attempt's latest grade delivery, if a score was sent.
    pub delivery_status: Option<DeliveryStatus>,
    /// When that delivery was accepted, or last tried.
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivery_at: Option<OffsetDateTime>,
    /// Its last error, while not delivered.
    pub delivery_error: Option<String>,
}

/// The CSV header, in column order.
pub const CSV_HEADER: [&str; 16] = [
    "resource_link_id",
    "context_id",
    "user_id",
    "sis_id",
    "name",
    "attempt_id",
    "started_at",
    "last_activity_at",
    "score_given",
    "score_maximum",
    "activity_progress",
    "grading_progress",
    "excluded_from_statistics",
    "delivery_status",
    "delivery_at",
    "delivery_error",
];

fn display_name(user: &User) -> Option<String> {
    if let Some(name) = user.name.as_ref().filter(|n| !n.trim().is_empty()) {
        return Some(name.clone());
    }
    let parts: Vec<&str> = [user.given_name.as_deref(), user.family_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The delivery a view shows for an attempt: the one with the latest score.
fn latest(deliveries: Vec<Delivery>) -> Option<Delivery> {
    deliveries
        .into_iter()
        .max_by(|a, b| (a.score.timestamp, a.created_at).cmp(&(b.score.timestamp, b.created_at)))
}

fn row(attempt: Attempt, user: Option<&User>, delivery: Option<Delivery>) -> AttemptRow {
    let score = attempt.score.as_ref();
    AttemptRow {
        excluded_from_statistics: attempt.roles.excluded_from_statistics(),
        resource_link_id: attempt.key.resource_link_id,
        context_id: attempt.context_id,
        sis_id: user.and_then(|u| u.sis_id.clone()),
        name: user.and_then(display_name),
        user_id: attempt.key.user_id,
        attempt_id: attempt.key.attempt_id,
        started_at: attempt.started_at,
        last_activity_at: attempt.last_activity_at,
        score_given: score.map(|s| s.given),
        score_maximum: score.map(|s| s.maximum),
        activity_progress: score.map(|s| s.activity_progress),
        grading_progress: score.map(|s| s.grading_progress),
        delivery_at: delivery
            .as_ref()
            .and_then(|d| d.delivered_at.or_else(|| d.history.last().map(|t| t.at))),
        delivery_error: delivery.as_ref().and_then(|d| d.last_error.clone()),
        delivery_status: delivery.map(|d| d.status),
    }
}

/// The export rows of the selected attempts on one platform: by resource link id, then by
/// learner and start time. Empty when the resource link or context has no attempts (or does
/// not exist).
pub async fn attempt_rows(
    store: &dyn CourseRecords,
    lifecycle: &dyn DataLifecycle,
    scope: &PlatformScope,
    selection: &Selection,
) -> Result<Vec<AttemptRow>, StoreError> {
    let links: Vec<ResourceLinkId> = match selection {
        Selection::ResourceLink(link) => vec![link.clone()],
        Selection::Context(context) => lifecycle
            .resource_links_of_context(scope, context)
            .await?
            .into_iter()
            .map(|l| l.resource_link_id)
            .collect(),
    };
    let mut users: HashMap<UserId, Option<User>> = HashMap::new();
    let mut rows = Vec::new();
    for link in links {
        for attempt in store.attempts_of_resource_link(scope, &link).await? {
            if !users.contains_key(&attempt.key.user_id) {
                let user = store.user(scope, &attempt.key.user_id).await?;
                users.insert(attempt.key.user_id.clone(), user);
            }
            let delivery = latest(lifecycle.deliveries_of_attempt(&attempt.key).await?);
            let user = users.get(&attempt.key.user_id).and_then(Option::as_ref);
            rows.push(row(attempt, user, delivery));
        }
    }
    Ok(rows)
}

/// An instant as ISO 8601 / RFC 3339 in UTC.
fn iso(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A progress value by its AGS name (`Completed`, `FullyGraded`, …).
fn ags_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// A cell made safe for spreadsheets: a leading `=`, `+`, `-`, `@`, tab or carriage return
/// gets a `'` in front, so the value is shown as text rather than evaluated.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn cells(row: &AttemptRow) -> Vec<String> {
    let number = |n: Option<f64>| n.map(|n| n.to_string()).unwrap_or_default();
    vec![
        row.resource_link_id.to_string(),
        row.context_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        row.user_id.to_string(),
        row.sis_id.clone().unwrap_or_default(),
        row.name.clone().unwrap_or_default(),
        row.attempt_id.to_string(),
        iso(row.started_at),
        iso(row.last_activity_at),
        number(row.score_given),
        number(row.score_maximum),
        row.activity_progress
            .as_ref()
            .map(ags_name)
            .unwrap_or_default(),
        row.grading_progress
            .as_ref()
            .map(ags_name)
            .unwrap_or_default(),
        row.excluded_from_statistics.to_string(),
        row.delivery_status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        row.delivery_at.map(iso).unwrap_or_default(),
        row.delivery_error.clone().unwrap_or_default(),
    ]
}

/// The rows as CSV: UTF-8, a header row ([`CSV_HEADER`]), one line
/// per attempt, every cell passed through [`neutralize`].
pub fn attempts_csv(rows: &[AttemptRow]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail (csv only reports I/O errors of its writer), so errors
    // are ignored rather than turned into a panic.
    writer.write_record(CSV_HEADER).ok();
    for row in rows {
        let line: Vec<String> = cells(row).iter().map(|c| neutralize(c)).collect();
        writer.write_record(&line).ok();
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AttemptId, ConsumerKey};
    use crate::domain::model::AttemptKey;
    use crate::domain::roles::Roles;
    use crate::domain::score::Score;
    use time::macros::datetime;

    fn attempt(user: &str) -> Attempt {
        Attempt {
            key: AttemptKey {
                scope: PlatformScope::Lti11 {
                    consumer_key: ConsumerKey::parse("k").unwrap(),
                },
                resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
                user_id: UserId::parse(user).unwrap(),
                attempt_id: AttemptId::parse("000001").unwrap(),
            },
            context_id: Some(ContextId::parse("course-1").unwrap()),
            started_at: datetime!(2026-03-01 08:00:00 +01:00),
            last_activity_at: datetime!(2026-03-01 09:30:00.25 UTC),
            roles: Roles::default(),
            basic_outcome: None,
            score: Some(Score {
                given: 7.5,
                maximum: 10.0,
                activity_progress: ActivityProgress::Completed,
                grading_progress: GradingProgress::FullyGraded,
                comment: None,
                timestamp: datetime!(2026-03-01 09:30:00 UTC),
            }),
            closed_at: None,
        }
    }

    fn user(id: &str, name: Option<&str>, sis: Option<&str>) -> User {
        User {
            scope: attempt(id).key.scope,
            user_id: UserId::parse(id).unwrap(),
            name: name.map(str::to_owned),
            given_name: None,
            family_name: None,
            sis_id: sis.map(str::to_owned),
            lti11: None,
            updated_at: datetime!(2026-03-01 08:00 UTC),
        }
    }

    fn parse(csv_text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv_text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn attempts_csv_formula_cells_are_neutralized() {
        let u = user(
            "=HYPERLINK(\"http://evil\")",
            Some("+SUM(A1:A9)"),
            Some("@cmd"),
        );
        let mut a = attempt("=HYPERLINK(\"http://evil\")");
        a.key.resource_link_id = ResourceLinkId::parse("-2+3").unwrap();
        let text = attempts_csv(&[row(a, Some(&u), None)]);
        let lines = parse(&text);
        assert_eq!(lines[1][0], "'-2+3");
        assert_eq!(lines[1][2], "'=HYPERLINK(\"http://evil\")");
        assert_eq!(lines[1][3], "'@cmd");
        assert_eq!(lines[1][4], "'+SUM(A1:A9)");
        for cell in &lines[1] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} is not neutralized"
            );
        }
    }

    #[test]
    fn neutralize_tab_and_carriage_return_are_prefixed_plain_text_kept() {
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("\rx"), "'\rx");
        assert_eq!(neutralize("Ana"), "Ana");
        assert_eq!(neutralize("a=b"), "a=b");
        assert_eq!(neutralize(""), "");
    }

    #[test]
    fn attempts_csv_non_ascii_name_round_trips_as_utf8() {
        let u = user("u1", Some("Zoë Łukasiewicz, 李雷"), Some("S-1"));
        let text = attempts_csv(&[row(attempt("u1"), Some(&u), None)]);
        let lines = parse(&text);
        assert_eq!(lines[1][4], "Zoë Łukasiewicz, 李雷");
        assert_eq!(lines[1][3], "S-1");
    }

    #[test]
    fn attempts_csv_anonymous_user_has_empty_name_and_sis_cells() {
        let text = attempts_csv(&[row(attempt("anon-7"), None, None)]);
        let lines = parse(&text);
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1][2], "anon-7");
        assert_eq!(lines[1][3], "");
        assert_eq!(lines[1][4], "");
    }

    #[test]
    fn attempts_csv_learner_without_sis_id_has_name_and_empty_sis() {
        let u = user("u2", Some("Ana"), None);
        let lines = parse(&attempts_csv(&[row(attempt("u2"), Some(&u), None)]));
        assert_eq!(lines[1][3], "");
        assert_eq!(lines[1][4], "Ana");
    }

    #[test]
    fn attempts_csv_times_scores_and_progress_are_iso_utc_and_ags_names() {
        let lines = parse(&attempts_csv(&[row(attempt("u3"), None, None)]));
        let header = &lines[0];
        let cell = |name: &str| {
            let i = header.iter().position(|h| h == name).unwrap();
            lines[1][i].clone()
        };
        assert_eq!(cell("started_at"), "2026-03-01T07:00:00Z");
        assert_eq!(cell("last_activity_at"), "2026-03-01T09:30:00.25Z");
        assert_eq!(cell("score_given"), "7.5");
        assert_eq!(cell("score_maximum"), "10");
        assert_eq!(cell("activity_progress"), "Completed");
        assert_eq!(cell("grading_progress"), "FullyGraded");
        assert_eq!(cell("delivery_status"), "");
    }

    #[test]
    fn display_name_falls_back_to_given_and_family() {
        let mut u = user("u4", None, None);
        u.given_name = Some("Zoë".into());
        u.family_name = Some("O'Brien".into());
        assert_eq!(display_name(&u).as_deref(), Some("Zoë O'Brien"));
        u.given_name = None;
        u.family_name = None;
        assert_eq!(display_name(&u), None);
    }
}
