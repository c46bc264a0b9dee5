//! Registration by invitation: who may run LTI Dynamic Registration against the tool.
//!
//! Without it, anyone who can reach `/register` creates registrations (active ones, with
//! auto-activation) and launches as Instructor. So the operator issues an invitation
//! (`ltictl registration invite`): the tool's `/register` URL with `?invitation=<token>`, which
//! the LMS administrator pastes into the LMS's dynamic registration form. Moodle and Canvas
//! open that URL with `openid_configuration` and `registration_token` appended to its query,
//! so the invitation arrives with them.
//!
//! - The token is 256 random bits (base64url, 43 characters). The store keeps only its
//!   SHA-256 ([`key_of`]) as the key of an [`ItemKind::RegistrationInvitation`] item, with
//!   the [`Invitation`] facts (id, note, times) as value: a leaked table does not hold a
//!   usable invitation, and the token is printed once.
//! - `GET /register` [`check`]s it (it stays usable, so the administrator can confirm); the
//!   confirmation [`consume`]s it in one atomic step (the store's `take_item`), then marks it
//!   used, so two confirmations cannot both use one invitation. The pending registration
//!   carries the invitation's key server-side between the two steps.
//! - It expires ([`DEFAULT_LIFETIME`], at most [`MAX_LIFETIME`]); the item is kept
//!   [`REMEMBERED_FOR`] past that, so a late or second use is refused with its exact reason
//!   (expired, used) instead of "unknown".
//! - The operator lists live invitations ([`live`], never a token) and [`revoke`]s one by id
//!   (the first 12 hex digits of its key).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::domain::oidc::{NoRandomness, random_token};
use crate::domain::tool::ToolUrls;
use crate::lti13::dynamic_registration::RegistrationError;
use crate::ports::{ExpiringItems, ItemKind, StoreError};

/// The query parameter of `/register` that carries the invitation.
pub const INVITATION_PARAM: &str = "invitation";
/// How long an invitation is valid when the operator does not say.
pub const DEFAULT_LIFETIME: Duration = Duration::days(7);
/// The longest validity an operator may give.
pub const MAX_LIFETIME: Duration = Duration::days(90);
/// How long an expired or used invitation is remembered, to name the reason of a refusal.
pub const REMEMBERED_FOR: Duration = Duration::days(30);
/// The longest invitation token read from a request (the tool issues 43 characters).
const MAX_TOKEN_LEN: usize = 128;
/// The length of an invitation's id: a prefix of its key, for operators.
pub const ID_LEN: usize = 12;
/// The longest operator note kept.
pub const MAX_NOTE_CHARS: usize = 200;

/// An invitation token: a bearer credential for one registration. `Debug` hides it; it is
/// shown once, in the URL [`registration_url`] builds.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl InvitationToken {
    /// Wraps a token read from a request.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token, for the URL.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvitationToken([redacted])")
    }
}

/// What the store keeps of an invitation (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The first [`ID_LEN`] hex digits of its key: how operators name it.
    pub id: String,
    /// The operator's note (whom it is for), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When a confirmed registration used it.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub used_at: Option<OffsetDateTime>,
}

impl Invitation {
    /// Whether it can still open a registration at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }

    fn refusal(&self, now: OffsetDateTime) -> Option<RegistrationError> {
        match self.used_at {
            Some(at) => Some(RegistrationError::InvitationUsed(at)),
            None if self.expires_at <= now => {
                Some(RegistrationError::InvitationExpired(self.expires_at))
            }
            None => None,
        }
    }

    fn to_stored(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn from_stored(text: &str) -> Result<Self, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// A fresh invitation: the token (shown once) and what is stored.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token for the URL.
    pub token: InvitationToken,
    /// The stored facts.
    pub invitation: Invitation,
}

/// Why an invitation could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The lifetime is not positive or longer than [`MAX_LIFETIME`].
    #[error("an invitation must be valid for more than 0 and at most {} days", MAX_LIFETIME.whole_days())]
    Lifetime,
    /// No randomness for the token.
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The store key of an invitation token: its SHA-256, lower-case hex.
pub fn key_of(token: &InvitationToken) -> String {
    Sha256::digest(token.expose().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The URL an LMS administrator pastes into the LMS: the tool's `/register` with the token.
pub fn registration_url(tool: &ToolUrls, token: &InvitationToken) -> Url {
    let mut url = tool.register();
    url.query_pairs_mut()
        .append_pair(INVITATION_PARAM, token.expose());
    url
}

/// Issues an invitation valid for `lifetime` from `now`, with an operator's `note` (control
/// characters removed, at most [`MAX_NOTE_CHARS`]).
pub async fn issue(
    items: &dyn ExpiringItems,
    now: OffsetDateTime,
    lifetime: Duration,
    note: Option<&str>,
) -> Result<Issued, IssueError> {
    if lifetime <= Duration::ZERO || lifetime > MAX_LIFETIME {
        return Err(IssueError::Lifetime);
    }
    let token = InvitationToken(random_token()?);
    let key = key_of(&token);
    let invitation = Invitation {
        id: key[..ID_LEN].to_owned(),
        note: note
            .map(|n| {
                crate::domain::text::strip_controls(n)
                    .trim()
                    .chars()
                    .take(MAX_NOTE_CHARS)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty()),
        created_at: now,
        expires_at: now + lifetime,
        used_at: None,
    };
    items
        .put_item(
            ItemKind::RegistrationInvitation,
            &key,
            &invitation.to_stored()?,
            invitation.expires_at + REMEMBERED_FOR,
        )
        .await?;
    Ok(Issued { token, invitation })
}

/// Every invitation that can still open a registration, by expiry.
pub async fn live(
    items: &dyn ExpiringItems,
    now: OffsetDateTime,
) -> Result<Vec<Invitation>, StoreError> {
    let mut list = items
        .live_items(ItemKind::RegistrationInvitation, now)
        .await?
        .iter()
        .map(|item| Invitation::from_stored(&item.value))
        .collect::<Result<Vec<_>, _>>()?;
    list.retain(|i| i.is_live(now));
    list.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
    Ok(list)
}

/// Revokes the invitation with this id (or unique id prefix of at least 6 hex digits), live
/// or not; the removed invitation, or `None` when no invitation has that id.
pub async fn revoke(
    items: &dyn ExpiringItems,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<Invitation>, StoreError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() < 6 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let matching: Vec<_> = items
        .live_items(ItemKind::RegistrationInvitation, now)
        .await?
        .into_iter()
        .filter(|item| item.key.starts_with(&id))
        .collect();
    let [item] = matching.as_slice() else {
        return Ok(None);
    };
    items
        .remove_item(ItemKind::RegistrationInvitation, &item.key)
        .await?;
    Invitation::from_stored(&item.value).map(Some)
}

/// Checks an invitation from a request without using it: its store key when it can open a
/// registration at `now`, otherwise the exact reason.
pub async fn check(
    items: &dyn ExpiringItems,
    token: Option<&str>,
    now: OffsetDateTime,
) -> Result<String, RegistrationError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(RegistrationError::InvitationRequired)?;
    if token.len() > MAX_TOKEN_LEN {
        return Err(RegistrationError::InvitationUnknown);
    }
    let key = key_of(&InvitationToken::new(token));
    let stored = items
        .item(ItemKind::RegistrationInvitation, &key, now)
        .await?
        .ok_or(RegistrationError::InvitationUnknown)?;
    match Invitation::from_stored(&stored)?.refusal(now) {
        Some(refusal) => Err(refusal),
        None => Ok(key),
    }
}

/// Uses the invitation stored under `key` (from [`check`]) for a confirmed registration, in
/// one atomic step: of two confirmations, one gets the invitation and the other a refusal.
/// The invitation is then kept as used. Returns it as it was before this use, for
/// [`give_back`].
pub async fn consume(
    items: &dyn ExpiringItems,
    key: &str,
    now: OffsetDateTime,
) -> Result<Invitation, RegistrationError> {
    let stored = items
        .take_item(ItemKind::RegistrationInvitation, key, now)
        .await?
        // Taken by another confirmation a moment ago (or revoked meanwhile).
        .ok_or(RegistrationError::InvitationUnknown)?;
    let invitation = Invitation::from_stored(&stored)?;
    if let Some(refusal) = invitation.refusal(now) {
        // Not ours to use: put it back as it was, so the next attempt names the same reason.
        put(items, key, &invitation).await?;
        return Err(refusal);
    }
    let used = Invitation {
        used_at: Some(now),
        ..invitation.clone()
    };
    put(items, key, &used).await?;
    Ok(invitation)
}

/// Makes a consumed invitation usable again, when the registration it was used for could not
/// be completed (the LMS refused or could not be reached): the administrator may retry.
pub async fn give_back(
    items: &dyn ExpiringItems,
    key: &str,
    invitation: &Invitation,
) -> Result<(), StoreError> {
    put(items, key, invitation).await
}

async fn put(
    items: &dyn ExpiringItems,
    key: &str,
    invitation: &Invitation,
) -> Result<(), StoreError> {
    items
        .put_item(
            ItemKind::RegistrationInvitation,
            key,
            &invitation.to_stored()?,
            invitation.expires_at + REMEMBERED_FOR,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_of_is_sha256_hex_and_id_a_prefix() {
        let key = key_of(&InvitationToken::new("abc"));
        assert_eq!(
            key,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn registration_url_keeps_the_token_in_the_query() {
        let tool = ToolUrls::new(&Url::parse("https://tool.example").unwrap());
        let url = registration_url(&tool, &InvitationToken::new("tok-1_x"));
        assert_eq!(
            url.as_str(),
            "https://tool.example/register?invitation=tok-1_x"
        );
    }

    #[test]
    fn invitation_token_debug_is_redacted() {
        assert!(!format!("{:?}", InvitationToken::new("secret-tok")).contains("secret-tok"));
    }

    #[test]
    fn invitation_refusal_names_used_before_expired() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(10);
        let mut invitation = Invitation {
            id: "0123456789ab".into(),
            note: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: now + Duration::days(1),
            used_at: None,
        };
        assert!(invitation.refusal(now).is_none());
        invitation.expires_at = now;
        assert!(matches!(
            invitation.refusal(now),
            Some(RegistrationError::InvitationExpired(_))
        ));
        invitation.used_at = Some(now);
        assert!(matches!(
            invitation.refusal(now),
            Some(RegistrationError::InvitationUsed(_))
        ));
    }
}
