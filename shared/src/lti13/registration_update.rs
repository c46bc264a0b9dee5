//! Re-registration: LTI Dynamic Registration run again for a registration the tool already has.
//!
//! LTI Dynamic Registration 1.0 defines no separate update message. A platform that updates a
//! tool runs the same flow (§3.3 to §3.6): Moodle's re-registration (an administrator updating
//! an existing tool) sends the same issuer, and its registration response carries the existing
//! `client_id` and the deployment. So the tool learns that a registration is an update only
//! from the platform's answer, after the platform has accepted it. It then proposes the update
//! ([`updated_registration`]), shows the administrator what changes ([`registration_changes`],
//! one [`RegistrationChange`] per line), keeps the proposal server-side as a [`PendingUpdate`]
//! for [`dynamic_registration::PENDING_LIFETIME`], and writes it only after a second,
//! same-origin confirmation of those changes, with an audit entry
//! ([`crate::domain::audit::AuditAction::RegistrationUpdate`]).
//!
//! What an update changes:
//! - the deployment set grows by the deployment the platform reported; it never shrinks (the
//!   other deployments of the client stay valid until the operator removes them);
//! - the authorization, token and key set URLs become the platform's current ones;
//! - the token audience becomes the platform's `authorization_server` when it declares one
//!   (an audience the operator set is kept when it declares none);
//! - the name becomes the platform's display name.
//!
//! The operator's settings (role map, clock leeway, anonymous launches) and the creation time
//! are kept. The status follows [`updated_status`].
//!
//! [`dynamic_registration::PENDING_LIFETIME`]: crate::lti13::dynamic_registration::PENDING_LIFETIME

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::ids::DeploymentId;
use crate::domain::model::{Registration, Status};
use crate::lti13::dynamic_registration::{PlatformConfiguration, RegisteredClient};
use crate::ports::StoreError;

/// The status an updated registration gets.
///
/// - **Disabled stays disabled**: an operator disabled it, and re-registering never re-enables
///   it.
/// - With auto-activation on (the operator's rule for dynamic registrations), the result is
///   **active**, as a new registration would be.
/// - Otherwise an **active** registration stays active when the platform's trust endpoints
///   (key set, authorization and token URLs, token audience) are unchanged: only deployments or
///   the name changed, and a launch from any deployment is still verified with the same keys.
///   When a trust endpoint changes it becomes **pending**: the key set URL decides whose
///   signatures the tool accepts, and the registration flow is not authenticated on the tool's
///   side, so the operator reviews that change as they review a new registration.
/// - A **pending** registration stays pending.
pub fn updated_status(before: Status, trust_changed: bool, auto_activate: bool) -> Status {
    match before {
        Status::Disabled => Status::Disabled,
        _ if auto_activate => Status::Active,
        Status::Active if !trust_changed => Status::Active,
        Status::Active | Status::Pending => Status::Pending,
    }
}

/// Whether `after` trusts other platform endpoints than `before`: key set, authorization or
/// token URL, or the token audience.
pub fn trust_changed(before: &Registration, after: &Registration) -> bool {
    before.jwks_url != after.jwks_url
        || before.auth_url != after.auth_url
        || before.token_url != after.token_url
        || before.options.token_audience != after.options.token_audience
}

/// The registration `before` updated with what the platform's configuration and registration
/// answer say (see the module documentation), and its status by [`updated_status`].
pub fn updated_registration(
    before: &Registration,
    platform: &PlatformConfiguration,
    client: &RegisteredClient,
    auto_activate: bool,
) -> Registration {
    let mut after = before.clone();
    if let Some(deployment) = &client.deployment_id {
        after.deployment_ids.insert(deployment.clone());
    }
    after.auth_url = platform.auth_url.clone();
    after.token_url = platform.token_url.clone();
    after.jwks_url = platform.jwks_url.clone();
    after.name = Some(crate::domain::text::strip_controls(&platform.display_name));
    if let Some(audience) = platform.token_audience() {
        after.options.token_audience = Some(audience);
    }
    after.status = updated_status(before.status, trust_changed(before, &after), auto_activate);
    after
}

/// A platform endpoint a registration keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The OIDC authorization endpoint.
    Authorization,
    /// The OAuth 2 token endpoint.
    Token,
    /// The key set (JWKS) URL.
    KeySet,
}

impl Endpoint {
    /// What administrators call it.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Authorization => "authorization URL",
            Endpoint::Token => "token URL",
            Endpoint::KeySet => "key set URL",
        }
    }
}

/// One difference between a registration and its update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationChange {
    /// A deployment the registration did not have.
    DeploymentAdded(DeploymentId),
    /// A platform endpoint moved.
    Endpoint {
        /// Which one.
        endpoint: Endpoint,
        /// Before.
        from: Url,
        /// After.
        to: Url,
    },
    /// The `aud` of client assertions changed.
    TokenAudience {
        /// Before.
        from: Option<String>,
        /// After.
        to: Option<String>,
    },
    /// The name for operators changed.
    Name {
        /// Before.
        from: Option<String>,
        /// After.
        to: Option<String>,
    },
    /// The status changed.
    Status {
        /// Before.
        from: Status,
        /// After.
        to: Status,
    },
}

fn shown(value: &Option<String>) -> String {
    match value {
        Some(text) => format!("“{text}”"),
        None => "(none)".to_owned(),
    }
}

/// The line shown to the administrator before the change is made, e.g.
/// `deployment dep-2 will be added`, `key set URL changes from A to B`.
impl fmt::Display for RegistrationChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistrationChange::DeploymentAdded(id) => {
                write!(f, "deployment {id} will be added")
            }
            RegistrationChange::Endpoint { endpoint, from, to } => {
                write!(f, "{} changes from {from} to {to}", endpoint.label())
            }
            RegistrationChange::TokenAudience { from, to } => write!(
                f,
                "token audience changes from {} to {}",
                shown(from),
                shown(to)
            ),
            RegistrationChange::Name { from, to } => {
                write!(f, "name changes from {} to {}", shown(from), shown(to))
            }
            RegistrationChange::Status { from, to } => {
                write!(
                    f,
                    "status changes from {} to {}",
                    from.as_str(),
                    to.as_str()
                )?;
                match to {
                    Status::Pending => f.write_str(
                        ": launches are refused until the tool's operator approves the changes",
                    ),
                    Status::Active => f.write_str(": launches are accepted"),
                    Status::Disabled => Ok(()),
                }
            }
        }
    }
}

impl RegistrationChange {
    /// The line for the audit log, in the past tense. It holds no personal data: ids, URLs and
    /// statuses only; a changed name is noted without its values (an operator may have named
    /// a registration after a person).
    pub fn audit_text(&self) -> String {
        match self {
            RegistrationChange::DeploymentAdded(id) => format!("deployment {id} added"),
            RegistrationChange::Endpoint { endpoint, from, to } => {
                format!("{} changed from {from} to {to}", endpoint.label())
            }
            RegistrationChange::TokenAudience { from, to } => format!(
                "token audience changed from {} to {}",
                from.as_deref().unwrap_or("(none)"),
                to.as_deref().unwrap_or("(none)")
            ),
            RegistrationChange::Name { .. } => "name changed".to_owned(),
            RegistrationChange::Status { from, to } => {
                format!("status changed from {} to {}", from.as_str(), to.as_str())
            }
        }
    }
}

/// What changes from `before` to `after`: added deployments (in id order), endpoints (key set,
/// authorization, token), token audience, name, status. Empty when nothing changes. Only
/// additions of deployments are listed: an update never removes one.
pub fn registration_changes(
    before: &Registration,
    after: &Registration,
) -> Vec<RegistrationChange> {
    let mut changes: Vec<RegistrationChange> = after
        .deployment_ids
        .difference(&before.deployment_ids)
        .cloned()
        .map(RegistrationChange::DeploymentAdded)
        .collect();
    for (endpoint, from, to) in [
        (Endpoint::KeySet, &before.jwks_url, &after.jwks_url),
        (Endpoint::Authorization, &before.auth_url, &after.auth_url),
        (Endpoint::Token, &before.token_url, &after.token_url),
    ] {
        if from != to {
            changes.push(RegistrationChange::Endpoint {
                endpoint,
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
    if before.options.token_audience != after.options.token_audience {
        changes.push(RegistrationChange::TokenAudience {
            from: before.options.token_audience.clone(),
            to: after.options.token_audience.clone(),
        });
    }
    if before.name != after.name {
        changes.push(RegistrationChange::Name {
            from: before.name.clone(),
            to: after.name.clone(),
        });
    }
    if before.status != after.status {
        changes.push(RegistrationChange::Status {
            from: before.status,
            to: after.status,
        });
    }
    changes
}

/// A proposed update waiting for the administrator's confirmation of its changes: the
/// registration as it was when the changes were shown, and as it will be. The confirmation
/// applies it only if the stored registration still equals `before`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpdate {
    /// The registration the changes were computed from.
    pub before: Registration,
    /// The registration to write.
    pub after: Registration,
}

impl PendingUpdate {
    /// What changes (see [`registration_changes`]).
    pub fn changes(&self) -> Vec<RegistrationChange> {
        registration_changes(&self.before, &self.after)
    }

    /// The value to keep in the store's short-lived items.
    pub fn to_stored(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Reads a stored value back.
    pub fn from_stored(text: &str) -> Result<Self, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    use crate::domain::ids::{ClientId, Issuer};
    use crate::domain::model::PlatformOptions;
    use crate::lti13::dynamic_registration::{UrlPolicy, check_configuration};
    use serde_json::json;
    use time::OffsetDateTime;

    const ISSUER: &str = "https://moodle.example.edu";

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn existing(status: Status) -> Registration {
        Registration {
            issuer: Issuer::parse(ISSUER).unwrap(),
            client_id: ClientId::parse("client-1").unwrap(),
            deployment_ids: BTreeSet::from([DeploymentId::parse("dep-1").unwrap()]),
            auth_url: url("https://moodle.example.edu/mod/lti/auth.php"),
            token_url: url("https://moodle.example.edu/mod/lti/token.php"),
            jwks_url: url("https://moodle.example.edu/mod/lti/certs.php"),
            name: Some("moodle at moodle.example.edu".into()),
            status,
            options: PlatformOptions {
                clock_leeway_secs: Some(30),
                ..PlatformOptions::default()
            },
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn platform(jwks: &str) -> PlatformConfiguration {
        let doc = json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://moodle.example.edu/mod/lti/auth.php",
            "token_endpoint": "https://moodle.example.edu/mod/lti/token.php",
            "jwks_uri": jwks,
            "registration_endpoint": "https://moodle.example.edu/mod/lti/openid-registration.php",
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "moodle"
            }
        });
        check_configuration(
            &url("https://moodle.example.edu/mod/lti/openid-configuration.php"),
            doc.to_string().as_bytes(),
            UrlPolicy::default(),
        )
        .unwrap()
    }

    const SAME_KEYS: &str = "https://moodle.example.edu/mod/lti/certs.php";
    const NEW_KEYS: &str = "https://keys.moodle.example.edu/certs.php";

    fn client(deployment: Option<&str>) -> RegisteredClient {
        RegisteredClient {
            client_id: ClientId::parse("client-1").unwrap(),
            deployment_id: deployment.map(|d| DeploymentId::parse(d).unwrap()),
        }
    }

    #[test]
    fn updated_registration_new_deployment_is_added_and_others_kept() {
        let before = existing(Status::Active);
        let after =
            updated_registration(&before, &platform(SAME_KEYS), &client(Some("dep-2")), false);
        assert_eq!(
            after.deployment_ids,
            BTreeSet::from([
                DeploymentId::parse("dep-1").unwrap(),
                DeploymentId::parse("dep-2").unwrap()
            ])
        );
        assert_eq!(after.status, Status::Active, "same keys: stays active");
        assert_eq!(
            after.options.clock_leeway_secs,
            Some(30),
            "operator's settings kept"
        );
        assert_eq!(after.created_at, before.created_at);
        let changes = registration_changes(&before, &after);
        assert_eq!(
            changes,
            [RegistrationChange::DeploymentAdded(
                DeploymentId::parse("dep-2").unwrap()
            )]
        );
        assert_eq!(changes[0].to_string(), "deployment dep-2 will be added");
        assert_eq!(changes[0].audit_text(), "deployment dep-2 added");
    }

    #[test]
    fn updated_registration_same_answer_changes_nothing() {
        let before = existing(Status::Active);
        let after =
            updated_registration(&before, &platform(SAME_KEYS), &client(Some("dep-1")), false);
        assert_eq!(after, before);
        assert!(registration_changes(&before, &after).is_empty());
        let after = updated_registration(&before, &platform(SAME_KEYS), &client(None), false);
        assert!(registration_changes(&before, &after).is_empty());
    }

    #[test]
    fn updated_registration_key_set_change_makes_an_active_registration_pending() {
        let before = existing(Status::Active);
        let after = updated_registration(&before, &platform(NEW_KEYS), &client(None), false);
        assert_eq!(after.jwks_url.as_str(), NEW_KEYS);
        assert_eq!(after.status, Status::Pending);
        let lines: Vec<String> = registration_changes(&before, &after)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                format!("key set URL changes from {SAME_KEYS} to {NEW_KEYS}"),
                "status changes from active to pending: launches are refused until the tool's \
                 operator approves the changes"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn updated_status_follows_the_rules() {
        use Status::*;
        // (before, trust changed, auto-activate) -> after
        let table = [
            (Disabled, false, false, Disabled),
            (Disabled, true, true, Disabled),
            (Pending, false, false, Pending),
            (Pending, true, false, Pending),
            (Pending, false, true, Active),
            (Active, false, false, Active),
            (Active, true, false, Pending),
            (Active, true, true, Active),
        ];
        for (before, trust, auto, after) in table {
            assert_eq!(
                updated_status(before, trust, auto),
                after,
                "{before:?} trust changed {trust} auto {auto}"
            );
        }
    }

    #[test]
    fn registration_changes_names_and_audiences_without_personal_data_in_the_audit() {
        let mut before = existing(Status::Pending);
        before.name = Some("Ada Lovelace's test site".into());
        before.options.token_audience = Some("https://old-aud.example".into());
        let mut after = before.clone();
        after.name = Some("moodle at moodle.example.edu".into());
        after.options.token_audience = None;
        let changes = registration_changes(&before, &after);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            changes[0].to_string(),
            "token audience changes from “https://old-aud.example” to (none)"
        );
        assert_eq!(
            changes[1].to_string(),
            "name changes from “Ada Lovelace's test site” to “moodle at moodle.example.edu”"
        );
        assert_eq!(changes[1].audit_text(), "name changed");
        for change in &changes {
            assert!(
                !change.audit_text().contains("Ada"),
                "{}",
                change.audit_text()
            );
        }
    }

    #[test]
    fn updated_registration_keeps_an_operator_audience_when_the_platform_declares_none() {
        let mut before = existing(Status::Active);
        before.options.token_audience = Some("https://aud.example".into());
        let after = updated_registration(&before, &platform(SAME_KEYS), &client(None), false);
        assert_eq!(
            after.options.token_audience.as_deref(),
            Some("https://aud.example")
        );
        assert_eq!(after.status, Status::Active);
    }

    #[test]
    fn pending_update_round_trips() {
        let before = existing(Status::Active);
        let after =
            updated_registration(&before, &platform(NEW_KEYS), &client(Some("dep-2")), false);
        let pending = PendingUpdate { before, after };
        let stored = pending.to_stored().unwrap();
        assert_eq!(PendingUpdate::from_stored(&stored).unwrap(), pending);
        assert_eq!(pending.changes().len(), 3);
        assert!(matches!(
            PendingUpdate::from_stored("{\"before\": 1}"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
