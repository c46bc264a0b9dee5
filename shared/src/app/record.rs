//! Recording a verified launch: the user, the context, the resource link and the attempt
//! (ARCHITECTURE "The flow of one launch", step 3).
//!
//! Personal fields are stored only when the platform sent them. A later launch that sends
//! less (a privacy level was tightened, or a Canvas "anonymous" placement) keeps what an
//! earlier one sent, unless it sends the claim as an empty string, which clears it: that is the
//! platform saying so.

use time::OffsetDateTime;

use crate::domain::ids::{AttemptId, ContextId, ResourceLinkId, UserId};
use crate::domain::launch_facts::{LaunchFacts, Lti11Continuity};
use crate::domain::model::{
    AgsEndpoint, Attempt, AttemptKey, BasicOutcome, Context, GradingSettings, PlatformScope,
    ResourceLink, User,
};
use crate::domain::roles::Roles;
use crate::ports::{LaunchRecords, StoreError};

/// A sent value replaces the stored one; an empty string clears it; absence keeps it.
fn merge(sent: Option<String>, stored: Option<String>) -> Option<String> {
    match sent {
        Some(value) if value.is_empty() => None,
        Some(value) => Some(value),
        None => stored,
    }
}

/// The AGS endpoint a launch sent replaces the stored one, but a line item the tool found or
/// created in the same container (the launch had no `lineitem`) is kept, so the next score
/// does not search for it again.
fn merge_ags(sent: Option<AgsEndpoint>, stored: Option<AgsEndpoint>) -> Option<AgsEndpoint> {
    match (sent, stored) {
        (Some(mut sent), Some(stored)) => {
            if sent.lineitem.is_none() && sent.lineitems == stored.lineitems {
                sent.lineitem = stored.lineitem;
            }
            Some(sent)
        }
        (sent, stored) => sent.or(stored),
    }
}

/// Writes the launch's records and opens or resumes the user's attempt. Returns the attempt
/// (`None` for an anonymous launch).
pub async fn record_launch(
    facts: LaunchFacts,
    records: &dyn LaunchRecords,
    now: OffsetDateTime,
) -> Result<Option<Attempt>, StoreError> {
    let scope = facts.scope;
    let context_id = facts.context.as_ref().map(|(id, _)| id.clone());
    if let Some((id, sent)) = facts.context {
        let stored = records.context(&scope, &id).await?;
        let (label, title, types, memberships_url, lti11) = match stored {
            Some(c) => (c.label, c.title, c.types, c.memberships_url, c.lti11),
            None => (None, None, Vec::new(), None, None),
        };
        let continued = facts
            .continues
            .as_ref()
            .and_then(|c| Some(c.reference(c.context_id.as_ref()?.as_str())));
        records
            .put_context(&Context {
                scope: scope.clone(),
                context_id: id,
                label: merge(sent.label, label),
                title: merge(sent.title, title),
                types: if sent.types.is_empty() {
                    types
                } else {
                    sent.types
                },
                memberships_url: sent.memberships_url.or(memberships_url),
                lti11: continued.or(lti11),
                updated_at: now,
            })
            .await?;
    }
    let stored = records
        .resource_link(&scope, &facts.resource_link_id)
        .await?;
    let (title, description, ags, lti11, grading) = match stored {
        Some(l) => (l.title, l.description, l.ags, l.lti11, l.grading),
        None => (None, None, None, None, GradingSettings::default()),
    };
    let continued = facts
        .continues
        .as_ref()
        .map(|c| c.reference(c.resource_link_id.as_str()));
    records
        .put_resource_link(&ResourceLink {
            scope: scope.clone(),
            resource_link_id: facts.resource_link_id.clone(),
            context_id: context_id.clone(),
            title: merge(facts.link.title, title),
            description: merge(facts.link.description, description),
            ags: merge_ags(facts.link.ags, ags),
            lti11: continued.or(lti11),
            grading,
            updated_at: now,
        })
        .await?;

    let Some(user_id) = facts.user_id else {
        return Ok(None);
    };
    let stored = records.user(&scope, &user_id).await?;
    let (name, given, family, sis, lti11) = match stored {
        Some(u) => (u.name, u.given_name, u.family_name, u.sis_id, u.lti11),
        None => (None, None, None, None, None),
    };
    let continued = facts
        .continues
        .as_ref()
        .map(|c| c.reference(c.user_id.as_ref().map_or(user_id.as_str(), UserId::as_str)));
    records
        .put_user(&User {
            scope: scope.clone(),
            user_id: user_id.clone(),
            name: merge(facts.user.name, name),
            given_name: merge(facts.user.given_name, given),
            family_name: merge(facts.user.family_name, family),
            sis_id: merge(facts.user.sis_id, sis),
            lti11: continued.or(lti11),
            updated_at: now,
        })
        .await?;
    if let Some(continues) = &facts.continues {
        carry_over(
            continues,
            &scope,
            &facts.resource_link_id,
            &user_id,
            records,
        )
        .await?;
    }
    let placement = Placement {
        scope: &scope,
        link: &facts.resource_link_id,
        user: &user_id,
        context_id,
        roles: facts.roles,
        outcome: facts.outcome,
    };
    open_attempt(placement, records, now).await.map(Some)
}

/// On a user's first LTI 1.3 launch of a link that continues an LTI 1.1 link, copies their
/// LTI 1.1 attempts on it into the LTI 1.3 link (same ids and times), so the open attempt is
/// resumed rather than restarted and the history stays together. The 1.1 records are kept.
async fn carry_over(
    continues: &Lti11Continuity,
    scope: &PlatformScope,
    link: &ResourceLinkId,
    user: &UserId,
    records: &dyn LaunchRecords,
) -> Result<(), StoreError> {
    if !records
        .attempts_of_user_on_resource_link(scope, link, user)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let old_user = continues.user_id.as_ref().unwrap_or(user);
    let old = records
        .attempts_of_user_on_resource_link(
            &continues.scope(),
            &continues.resource_link_id,
            old_user,
        )
        .await?;
    for attempt in old {
        let mut copy = attempt.clone();
        copy.key = AttemptKey {
            scope: scope.clone(),
            resource_link_id: link.clone(),
            user_id: user.clone(),
            attempt_id: attempt.key.attempt_id,
        };
        match records.create_attempt(&copy).await {
            Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Who launched which link, for [`open_attempt`].
struct Placement<'a> {
    scope: &'a PlatformScope,
    link: &'a ResourceLinkId,
    user: &'a UserId,
    context_id: Option<ContextId>,
    roles: Roles,
    outcome: Option<BasicOutcome>,
}

/// Resumes the user's open attempt on the link, or opens the next one. Attempt ids are the
/// attempt's number (`000001`, `000002`, …), so two simultaneous first launches both try to
/// create `000001` and the conditional write lets exactly one succeed; the other resumes it.
async fn open_attempt(
    placement: Placement<'_>,
    records: &dyn LaunchRecords,
    now: OffsetDateTime,
) -> Result<Attempt, StoreError> {
    let Placement {
        scope,
        link,
        user,
        context_id,
        roles,
        outcome,
    } = placement;
    for _ in 0..3 {
        let attempts = records
            .attempts_of_user_on_resource_link(scope, link, user)
            .await?;
        if let Some(open) = attempts.iter().rev().find(|a| a.closed_at.is_none()) {
            let mut resumed = open.clone();
            resumed.last_activity_at = now;
            resumed.roles = roles;
            resumed.basic_outcome = outcome.or(resumed.basic_outcome);
            records.update_attempt(&resumed).await?;
            return Ok(resumed);
        }
        let number = attempts.len() + 1;
        let attempt = Attempt {
            key: AttemptKey {
                scope: scope.clone(),
                resource_link_id: link.clone(),
                user_id: user.clone(),
                attempt_id: AttemptId::parse(format!("{number:06}"))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            },
            context_id: context_id.clone(),
            started_at: now,
            last_activity_at: now,
            roles: roles.clone(),
            basic_outcome: outcome.clone(),
            score: None,
            closed_at: None,
        };
        match records.create_attempt(&attempt).await {
            Ok(()) => return Ok(attempt),
            // Another launch opened it first: read again and resume it.
            Err(StoreError::AlreadyExists(_)) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Corrupt(
        "could not open an attempt after three tries".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::embedded::EmbeddedStore;
    use crate::domain::ids::{ClientId, Issuer};
    use crate::domain::launch_facts::{ContextFacts, LinkFacts, UserFacts};
    use std::sync::Arc;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

    fn facts(user: UserFacts) -> LaunchFacts {
        LaunchFacts {
            scope: PlatformScope::lti13(
                Issuer::parse("https://lms.example").unwrap(),
                ClientId::parse("c").unwrap(),
                crate::domain::ids::DeploymentId::parse("dep-1").unwrap(),
            ),
            user_id: Some(UserId::parse("u1").unwrap()),
            user,
            context: Some((ContextId::parse("ctx").unwrap(), ContextFacts::default())),
            resource_link_id: ResourceLinkId::parse("rl").unwrap(),
            link: LinkFacts::default(),
            roles: Roles::from_claim(
                &["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner".to_owned()],
                &crate::domain::roles::RoleMap::new(),
            ),
            outcome: None,
            continues: None,
        }
    }

    #[tokio::test]
    async fn record_less_personal_data_later_keeps_earlier_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let full = UserFacts {
            name: Some("Ada Lovelace".into()),
            sis_id: Some("S-1".into()),
            ..UserFacts::default()
        };
        record_launch(facts(full), &store, NOW).await.unwrap();
        record_launch(facts(UserFacts::default()), &store, NOW)
            .await
            .unwrap();
        let f = facts(UserFacts::default());
        let user = store
            .user(&f.scope, f.user_id.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(user.sis_id.as_deref(), Some("S-1"));
        // An explicit empty value clears.
        let cleared = UserFacts {
            name: Some(String::new()),
            ..UserFacts::default()
        };
        record_launch(facts(cleared), &store, NOW).await.unwrap();
        let user = store
            .user(&f.scope, f.user_id.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.name, None);
        assert_eq!(user.sis_id.as_deref(), Some("S-1"));
    }

    #[tokio::test]
    async fn record_second_launch_resumes_open_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let first = record_launch(facts(UserFacts::default()), &store, NOW)
            .await
            .unwrap()
            .unwrap();
        let later = NOW + time::Duration::minutes(5);
        let second = record_launch(facts(UserFacts::default()), &store, later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.key, second.key);
        assert_eq!(second.last_activity_at, later);
        assert_eq!(second.key.attempt_id.as_str(), "000001");
        assert!(second.roles.is_learner());
    }

    #[tokio::test]
    async fn record_transient_launch_flags_the_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut f = facts(UserFacts::default());
        f.roles = Roles::from_claim(
            &[
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner".to_owned(),
                "urn:lti:role:ims/lti/Transient".to_owned(),
            ],
            &crate::domain::roles::RoleMap::new(),
        );
        let attempt = record_launch(f, &store, NOW).await.unwrap().unwrap();
        let stored = store.attempt(&attempt.key).await.unwrap().unwrap();
        assert!(stored.roles.excluded_from_statistics());
        assert!(stored.roles.is_learner());
    }

    #[tokio::test]
    async fn record_after_closed_attempt_opens_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut first = record_launch(facts(UserFacts::default()), &store, NOW)
            .await
            .unwrap()
            .unwrap();
        first.closed_at = Some(NOW);
        store.update_attempt(&first).await.unwrap();
        let next = record_launch(facts(UserFacts::default()), &store, NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.key.attempt_id.as_str(), "000002");
    }

    #[tokio::test]
    async fn record_simultaneous_first_launches_open_one_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    record_launch(facts(UserFacts::default()), store.as_ref(), NOW).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let f = facts(UserFacts::default());
        let all = store
            .attempts_of_user_on_resource_link(
                &f.scope,
                &f.resource_link_id,
                f.user_id.as_ref().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
    }

    #[tokio::test]
    async fn record_anonymous_launch_records_no_user_or_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut f = facts(UserFacts::default());
        f.user_id = None;
        assert_eq!(record_launch(f.clone(), &store, NOW).await.unwrap(), None);
        assert!(
            store
                .resource_link(&f.scope, &f.resource_link_id)
                .await
                .unwrap()
                .is_some()
        );
    }
}
