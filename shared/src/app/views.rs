//! What the course views show, computed from the store: a resource link's attempts with each
//! learner's name (or a neutral label), their score and the latest grade delivery; class
//! statistics that leave out Transient and TestUser attempts (seed: preview and test users
//! must not distort them); and the learners of a roster who have not launched yet.
//!
//! The handlers in `functions/views` render these; everything here is plain data so it can be
//! tested without a socket.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::ids::{ResourceLinkId, UserId};
use crate::domain::model::{Attempt, PlatformScope, User};
use crate::domain::outbox::{Delivery, channel_of};
use crate::domain::roles::{RoleMap, Roles};
use crate::domain::score::ActivityProgress;
use crate::lti13::ags::Member;
use crate::ports::{CourseRecords, StoreError};

/// One attempt as a view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptLine {
    /// The attempt (with its latest score).
    pub attempt: Attempt,
    /// The learner's display name, or a neutral label when the platform sent none.
    pub learner: String,
    /// Whether the platform sent a name.
    pub named: bool,
    /// The SIS id, when the platform sent one.
    pub sis_id: Option<String>,
    /// The latest grade delivery of this attempt.
    pub delivery: Option<Delivery>,
    /// Course staff, Transient or TestUser: shown apart, left out of statistics.
    pub excluded: bool,
}

/// Class statistics over the attempts that count.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassStats {
    /// Attempts counted.
    pub attempts: usize,
    /// Distinct learners counted.
    pub learners: usize,
    /// Attempts whose latest score says the activity was completed.
    pub completed: usize,
    /// Mean score, as a percentage of the maximum, over scored attempts.
    pub mean: Option<f64>,
    /// Median score, as a percentage, over scored attempts.
    pub median: Option<f64>,
}

/// The display name of a user: the full name, else given and family names, when sent.
pub fn display_name(user: &User) -> Option<String> {
    user.name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| {
            let parts: Vec<&str> = [user.given_name.as_deref(), user.family_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|p| !p.trim().is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
}

/// A neutral label for a learner the platform did not name: stable, short, and not personal.
pub fn neutral_label(user: &UserId) -> String {
    let id = user.as_str();
    let short: String = id.chars().take(10).collect();
    if short.len() < id.len() {
        format!("Learner {short}…")
    } else {
        format!("Learner {short}")
    }
}

/// Statistics over `lines`, leaving out excluded (Transient, TestUser) attempts.
pub fn class_stats(lines: &[AttemptLine]) -> ClassStats {
    let counted: Vec<&AttemptLine> = lines.iter().filter(|l| !l.excluded).collect();
    let learners: BTreeSet<&UserId> = counted.iter().map(|l| &l.attempt.key.user_id).collect();
    let completed = counted
        .iter()
        .filter(|l| {
            l.attempt
                .score
                .as_ref()
                .is_some_and(|s| s.activity_progress == ActivityProgress::Completed)
        })
        .count();
    let mut percents: Vec<f64> = counted
        .iter()
        .filter_map(|l| l.attempt.score.as_ref())
        .map(|s| s.given / s.maximum * 100.0)
        .collect();
    percents.sort_by(f64::total_cmp);
    let mean = (!percents.is_empty()).then(|| percents.iter().sum::<f64>() / percents.len() as f64);
    let median = match percents.len() {
        0 => None,
        n if n % 2 == 1 => Some(percents[n / 2]),
        n => Some((percents[n / 2 - 1] + percents[n / 2]) / 2.0),
    };
    ClassStats {
        attempts: counted.len(),
        learners: learners.len(),
        completed,
        mean,
        median,
    }
}

/// The latest delivery of each attempt among `deliveries` (one channel's).
fn latest_by_attempt(deliveries: Vec<Delivery>) -> BTreeMap<String, Delivery> {
    let mut latest = BTreeMap::new();
    for delivery in deliveries {
        // Oldest first, so the last one written wins.
        latest.insert(delivery.attempt.attempt_id.to_string(), delivery);
    }
    latest
}

/// Builds the lines of `attempts` (users and deliveries read from `store`).
pub async fn lines_of(
    store: &dyn CourseRecords,
    scope: &PlatformScope,
    attempts: Vec<Attempt>,
) -> Result<Vec<AttemptLine>, StoreError> {
    let mut users: BTreeMap<UserId, Option<User>> = BTreeMap::new();
    let mut deliveries: BTreeMap<String, BTreeMap<String, Delivery>> = BTreeMap::new();
    let mut lines = Vec::with_capacity(attempts.len());
    for attempt in attempts {
        let user_id = attempt.key.user_id.clone();
        if !users.contains_key(&user_id) {
            let user = store.user(scope, &user_id).await?;
            users.insert(user_id.clone(), user);
        }
        let user = users.get(&user_id).cloned().flatten();
        let channel = channel_of(&attempt.key);
        if !deliveries.contains_key(&channel) {
            let found = store.deliveries_in_channel(&channel).await?;
            deliveries.insert(channel.clone(), latest_by_attempt(found));
        }
        let delivery = deliveries
            .get(&channel)
            .and_then(|d| d.get(attempt.key.attempt_id.as_str()))
            .cloned();
        let name = user.as_ref().and_then(display_name);
        lines.push(AttemptLine {
            learner: name.clone().unwrap_or_else(|| neutral_label(&user_id)),
            named: name.is_some(),
            sis_id: user.and_then(|u| u.sis_id),
            delivery,
            // Course staff trying the activity (and Transient or TestUser launches, e.g. student
            // view) are kept apart from the class.
            excluded: attempt.roles.excluded_from_statistics() || attempt.roles.is_instructor(),
            attempt,
        });
    }
    Ok(lines)
}

/// Every attempt on a resource link, as lines.
pub async fn resource_lines(
    store: &dyn CourseRecords,
    scope: &PlatformScope,
    link: &ResourceLinkId,
) -> Result<Vec<AttemptLine>, StoreError> {
    let attempts = store.attempts_of_resource_link(scope, link).await?;
    lines_of(store, scope, attempts).await
}

/// One learner's attempts on a resource link, as lines.
pub async fn learner_lines(
    store: &dyn CourseRecords,
    scope: &PlatformScope,
    link: &ResourceLinkId,
    user: &UserId,
) -> Result<Vec<AttemptLine>, StoreError> {
    let attempts = store
        .attempts_of_user_on_resource_link(scope, link, user)
        .await?;
    lines_of(store, scope, attempts).await
}

/// The active learners of a roster (not Transient or TestUser, not staff) who have no
/// attempt among `lines`, in roster order.
pub fn not_launched<'a>(
    members: &'a [Member],
    lines: &[AttemptLine],
    map: &RoleMap,
) -> Vec<&'a Member> {
    let launched: BTreeSet<&str> = lines
        .iter()
        .map(|l| l.attempt.key.user_id.as_str())
        .collect();
    members
        .iter()
        .filter(|m| m.status.as_deref().is_none_or(|s| s == "Active"))
        .filter(|m| {
            let roles = Roles::from_claim(&m.roles, map);
            roles.is_learner() && !roles.is_instructor() && !roles.excluded_from_statistics()
        })
        .filter(|m| !launched.contains(m.user_id.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AttemptId, ConsumerKey};
    use crate::domain::model::AttemptKey;
    use crate::domain::score::{GradingProgress, Score};
    use time::macros::datetime;

    fn scope() -> PlatformScope {
        PlatformScope::Lti11 {
            consumer_key: ConsumerKey::parse("k").unwrap(),
        }
    }

    fn line(user: &str, score: Option<(f64, f64)>, roles: &[&str]) -> AttemptLine {
        let at = datetime!(2026-11-22 10:00 UTC);
        AttemptLine {
            attempt: Attempt {
                key: AttemptKey {
                    scope: scope(),
                    resource_link_id: ResourceLinkId::parse("l").unwrap(),
                    user_id: UserId::parse(user).unwrap(),
                    attempt_id: AttemptId::parse("000001").unwrap(),
                },
                context_id: None,
                started_at: at,
                last_activity_at: at,
                roles: Roles::from_claim(
                    &roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>(),
                    &RoleMap::new(),
                ),
                basic_outcome: None,
                score: score.map(|(given, maximum)| Score {
                    given,
                    maximum,
                    activity_progress: ActivityProgress::Completed,
                    grading_progress: GradingProgress::FullyGraded,
                    comment: None,
                    timestamp: at,
                }),
                closed_at: None,
            },
            learner: user.into(),
            named: false,
            sis_id: None,
            delivery: None,
            excluded: false,
        }
        .with_exclusion()
    }

    impl AttemptLine {
        fn with_exclusion(mut self) -> Self {
            self.excluded = self.attempt.roles.excluded_from_statistics();
            self
        }
    }

    const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
    const TRANSIENT: &str = "urn:lti:role:ims/lti/Transient";
    const TEST_USER: &str = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser";

    #[test]
    fn class_stats_leave_out_transient_and_test_users() {
        let lines = vec![
            line("a", Some((5.0, 10.0)), &[LEARNER]),
            line("b", Some((10.0, 10.0)), &[LEARNER]),
            line("c", Some((6.0, 10.0)), &[LEARNER]),
            line("d", None, &[LEARNER]),
            line("preview", Some((0.0, 10.0)), &[LEARNER, TRANSIENT]),
            line("test", Some((0.0, 10.0)), &[TEST_USER]),
        ];
        let stats = class_stats(&lines);
        assert_eq!(stats.attempts, 4);
        assert_eq!(stats.learners, 4);
        assert_eq!(stats.completed, 3);
        assert_eq!(stats.mean, Some(70.0));
        assert_eq!(stats.median, Some(60.0));
    }

    #[test]
    fn class_stats_even_count_median_is_the_middle_pair_mean() {
        let lines = vec![
            line("a", Some((2.0, 10.0)), &[LEARNER]),
            line("b", Some((4.0, 10.0)), &[LEARNER]),
        ];
        assert_eq!(class_stats(&lines).median, Some(30.0));
    }

    #[test]
    fn class_stats_no_scores_has_no_mean_or_median() {
        let stats = class_stats(&[line("a", None, &[LEARNER])]);
        assert_eq!((stats.mean, stats.median), (None, None));
    }

    #[test]
    fn display_name_prefers_full_name_then_parts() {
        let mut user = User {
            scope: scope(),
            user_id: UserId::parse("u").unwrap(),
            name: None,
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            sis_id: None,
            lti11: None,
            updated_at: datetime!(2026-11-22 10:00 UTC),
        };
        assert_eq!(display_name(&user).as_deref(), Some("Ada Lovelace"));
        user.name = Some("Ada King".into());
        assert_eq!(display_name(&user).as_deref(), Some("Ada King"));
        user.name = None;
        user.given_name = None;
        user.family_name = None;
        assert_eq!(display_name(&user), None);
    }

    #[test]
    fn neutral_label_is_short_and_not_empty() {
        assert_eq!(neutral_label(&UserId::parse("abc").unwrap()), "Learner abc");
        assert_eq!(
            neutral_label(&UserId::parse("0123456789abcdef").unwrap()),
            "Learner 0123456789…"
        );
    }

    #[test]
    fn not_launched_lists_active_learners_without_attempts() {
        let member = |id: &str, roles: &[&str], status: Option<&str>| Member {
            user_id: id.into(),
            status: status.map(str::to_owned),
            name: None,
            given_name: None,
            family_name: None,
            lis_person_sourcedid: None,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        let members = vec![
            member("a", &[LEARNER], Some("Active")),
            member("new", &[LEARNER], None),
            member("gone", &[LEARNER], Some("Inactive")),
            member(
                "teacher",
                &["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
                None,
            ),
            member("preview", &[LEARNER, TRANSIENT], None),
        ];
        let lines = vec![line("a", None, &[LEARNER])];
        let ids: Vec<&str> = not_launched(&members, &lines, &RoleMap::new())
            .iter()
            .map(|m| m.user_id.as_str())
            .collect();
        assert_eq!(ids, ["new"]);
    }
}
