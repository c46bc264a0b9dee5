//! Moving LTI 1.3 records written before records were scoped per deployment under their
//! deployment (`ltictl migrate deployments`).
//!
//! Context and resource link ids are unique only within a deployment (LTI Core 1.3 §5.3.5,
//! §5.4.1), so every LTI 1.3 user, context, resource link and attempt is keyed by issuer,
//! client id and deployment id ([`PlatformScope`]). Records from before carry no deployment,
//! and nothing tells which deployment wrote them. So the migration is an operator's command,
//! not a read-time fallback: a fallback would hand a registration's unscoped records to every
//! one of its deployments, the very mixing the scoping ends. A registration with exactly one
//! deployment has its records moved there; one with several is moved only when the operator
//! names the deployment (`--assign`), and is otherwise reported and left as it is.
//!
//! Each record is written under its new key before the old one is removed, users last (their
//! removal also removes the markers that lead to their attempts), so an interrupted run is
//! simply run again. Grade deliveries are not moved: each carries its own target, so pending
//! ones are still delivered from their channel, and the history stays listed by
//! `ltictl outcomes list`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::ids::{ClientId, DeploymentId, Issuer};
use crate::domain::model::PlatformScope;
use crate::ports::{Store, StoreError};

/// Every unscoped record is listed at once (an operator's scan, never a request path).
const ALL: usize = usize::MAX;

/// One registration's unscoped records that were left where they are, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The registration's issuer.
    pub issuer: Issuer,
    /// The registration's client id.
    pub client_id: ClientId,
    /// Why, in words an operator can act on.
    pub reason: String,
}

/// What a migration moved, per kind of record, and what it left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Users moved.
    pub users: usize,
    /// Contexts moved.
    pub contexts: usize,
    /// Resource links moved.
    pub resource_links: usize,
    /// Attempts moved.
    pub attempts: usize,
    /// Registrations whose records were left (no deployment could be chosen).
    pub skipped: Vec<Skipped>,
    /// The deployment each registration's records went to.
    pub assigned: Vec<(Issuer, ClientId, DeploymentId)>,
}

impl MigrationReport {
    /// Whether nothing was moved.
    pub fn is_empty(&self) -> bool {
        self.users + self.contexts + self.resource_links + self.attempts == 0
    }
}

/// Chooses the deployment of each registration's unscoped records: the operator's choice
/// (`assign`), else the registration's only deployment.
struct Chooser<'a> {
    store: &'a dyn Store,
    assign: &'a BTreeMap<(Issuer, ClientId), DeploymentId>,
    chosen: BTreeMap<(Issuer, ClientId), Result<DeploymentId, String>>,
}

impl Chooser<'_> {
    async fn target(&mut self, scope: &PlatformScope) -> Result<Option<PlatformScope>, StoreError> {
        let PlatformScope::Lti13 {
            issuer,
            client_id,
            deployment_id: None,
        } = scope
        else {
            return Ok(None);
        };
        let key = (issuer.clone(), client_id.clone());
        if !self.chosen.contains_key(&key) {
            let choice = match self.assign.get(&key) {
                Some(deployment) => Ok(deployment.clone()),
                None => match self.store.platform(issuer, client_id).await? {
                    None => Err(
                        "the registration no longer exists; name the deployment with \
                                 --assign"
                            .to_owned(),
                    ),
                    Some(registration) => match (
                        registration.deployment_ids.len(),
                        registration.deployment_ids.first(),
                    ) {
                        (1, Some(only)) => Ok(only.clone()),
                        _ => Err(format!(
                            "the registration has {} deployments ({}); its older records cannot \
                         tell which one wrote them, so name it with --assign",
                            registration.deployment_ids.len(),
                            registration
                                .deployment_ids
                                .iter()
                                .map(DeploymentId::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    },
                },
            };
            self.chosen.insert(key.clone(), choice);
        }
        Ok(match self.chosen.get(&key) {
            Some(Ok(deployment)) => Some(scope.with_deployment(deployment)),
            _ => None,
        })
    }
}

/// Moves every unscoped LTI 1.3 record under its deployment (see the module documentation).
/// With `dry_run`, only counts what would move.
pub async fn migrate_deployments(
    store: &dyn Store,
    assign: &BTreeMap<(Issuer, ClientId), DeploymentId>,
    dry_run: bool,
) -> Result<MigrationReport, StoreError> {
    let mut chooser = Chooser {
        store,
        assign,
        chosen: BTreeMap::new(),
    };
    let mut report = MigrationReport::default();
    // Attempts first, then links and contexts, users last: the old user record's removal
    // takes the markers that lead to its attempts with it.
    let mut moved = 0;
    for mut attempt in store.attempts_without_deployment(ALL).await? {
        let Some(scope) = chooser.target(&attempt.key.scope).await? else {
            continue;
        };
        moved += 1;
        if dry_run {
            continue;
        }
        let old = attempt.key.clone();
        attempt.key.scope = scope;
        match store.create_attempt(&attempt).await {
            Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
            Err(error) => return Err(error),
        }
        store.remove_attempt(&old).await?;
    }
    report.attempts = moved;
    let mut moved = 0;
    for mut link in store.resource_links_without_deployment(ALL).await? {
        let Some(scope) = chooser.target(&link.scope).await? else {
            continue;
        };
        moved += 1;
        if dry_run {
            continue;
        }
        let old = link.scope.clone();
        link.scope = scope;
        store.put_resource_link(&link).await?;
        store
            .remove_resource_link(&old, &link.resource_link_id)
            .await?;
    }
    report.resource_links = moved;
    let mut moved = 0;
    for mut context in store.contexts_without_deployment(ALL).await? {
        let Some(scope) = chooser.target(&context.scope).await? else {
            continue;
        };
        moved += 1;
        if dry_run {
            continue;
        }
        let old = context.scope.clone();
        context.scope = scope;
        store.put_context(&context).await?;
        store.remove_context(&old, &context.context_id).await?;
    }
    report.contexts = moved;
    let mut moved = 0;
    for mut user in store.users_without_deployment(ALL).await? {
        let Some(scope) = chooser.target(&user.scope).await? else {
            continue;
        };
        moved += 1;
        if dry_run {
            continue;
        }
        let old = user.scope.clone();
        user.scope = scope;
        store.put_user(&user).await?;
        store.remove_user(&old, &user.user_id).await?;
    }
    report.users = moved;
    for ((issuer, client_id), choice) in chooser.chosen {
        match choice {
            Ok(deployment) => report.assigned.push((issuer, client_id, deployment)),
            Err(reason) => report.skipped.push(Skipped {
                issuer,
                client_id,
                reason,
            }),
        }
    }
    Ok(report)
}
