//! `ltictl registration invite|invites|revoke`: invitations for LTI Dynamic Registration (see
//! [`lti_shared::app::invitations`]).

use clap::Subcommand;
use lti_shared::app::invitations::{self, Invitation, IssueError};
use lti_shared::domain::text::escape_controls;
use lti_shared::domain::tool::ToolUrls;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::CliError;
use crate::backend::Backend;
use crate::commands::timestamp;
use crate::output::Output;

/// The public origin `invite` uses on the embedded backend when none is given: what `ltictl
/// serve` listens on by default.
const LOCAL_PUBLIC_URL: &str = "http://localhost:3000";

/// `ltictl registration …`
#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Print a one-time registration URL for an LMS administrator: they paste it into the
    /// LMS's dynamic registration (LTI Advantage) "Tool URL" field. It registers one LMS once
    /// and expires. The URL is printed once and cannot be shown again.
    Invite {
        /// How long the invitation is valid: minutes, hours or days, e.g. `30m`, `12h`, `7d`
        /// (at most 90d).
        #[arg(long, default_value = "7d", value_name = "DURATION")]
        expires: String,
        /// A note for operators: whom the invitation is for (shown by `invites`).
        #[arg(long)]
        note: Option<String>,
        /// The tool's public origin (the stack's PublicUrl). Default with the embedded backend:
        /// http://localhost:3000, `ltictl serve`'s default.
        #[arg(long, env = "PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
    },
    /// List the invitations that can still be used (never their URLs).
    Invites,
    /// Revoke an invitation by its id (from `invites`).
    Revoke {
        /// The invitation's id (or a unique prefix of at least 6 characters).
        id: String,
    },
}

/// `--expires`: `<n>m`, `<n>h` or `<n>d`.
fn lifetime(text: &str) -> Result<Duration, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--expires {text:?} must be a number followed by m, h or d, e.g. 7d, at most 90d"
        ))
    };
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let duration = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(bad()),
    };
    if duration <= Duration::ZERO || duration > invitations::MAX_LIFETIME {
        return Err(bad());
    }
    Ok(duration)
}

/// What `invite --json` prints.
#[derive(Serialize)]
struct Invited<'a> {
    url: &'a str,
    #[serde(flatten)]
    invitation: &'a Invitation,
}

fn rows(list: &[Invitation]) -> Vec<Vec<String>> {
    list.iter()
        .map(|i| {
            vec![
                i.id.clone(),
                timestamp(i.created_at),
                timestamp(i.expires_at),
                escape_controls(i.note.as_deref().unwrap_or_default()),
            ]
        })
        .collect()
}

pub(crate) async fn registration(
    backend: &Backend,
    aws: bool,
    out: &Output,
    command: RegistrationCommand,
) -> Result<(), CliError> {
    let items = backend.store.as_ref();
    let now = OffsetDateTime::now_utc();
    match command {
        RegistrationCommand::Invite {
            expires,
            note,
            public_url,
        } => {
            let lifetime = lifetime(&expires)?;
            let public_url = match public_url {
                Some(text) => lti_shared::compose::config::parse_public_url(&text)
                    .map_err(|e| CliError::Usage(format!("--public-url {e}")))?,
                None if aws => {
                    return Err(CliError::Usage(
                        "--aws needs the tool's public origin for the URL: pass --public-url \
                         (the stack's PublicUrl) or set PUBLIC_URL"
                            .into(),
                    ));
                }
                None => Url::parse(LOCAL_PUBLIC_URL).map_err(|e| CliError::Usage(e.to_string()))?,
            };
            let issued = invitations::issue(items, now, lifetime, note.as_deref())
                .await
                .map_err(|e| match e {
                    IssueError::Store(e) => e.into(),
                    other => CliError::Failure(other.to_string()),
                })?;
            let url = invitations::registration_url(&ToolUrls::new(&public_url), &issued.token);
            let invitation = &issued.invitation;
            if out.is_json() {
                return out.done(
                    &Invited {
                        url: url.as_str(),
                        invitation,
                    },
                    "",
                );
            }
            println!("{url}");
            eprintln!(
                "Invitation {} (valid until {}, one registration). Give the URL above to the LMS \
                 administrator over a private channel: they paste it into the LMS's dynamic \
                 registration (LTI Advantage) tool URL field. It is not shown again; revoke it \
                 with `ltictl registration revoke {}`.",
                invitation.id,
                timestamp(invitation.expires_at),
                invitation.id
            );
            Ok(())
        }
        RegistrationCommand::Invites => {
            let list = invitations::live(items, now).await?;
            out.table(&list, &["id", "created", "expires", "note"], rows(&list))
        }
        RegistrationCommand::Revoke { id } => match invitations::revoke(items, &id, now).await? {
            Some(invitation) => out.done(
                &serde_json::json!({"revoked": invitation}),
                &format!("Revoked invitation {}.", invitation.id),
            ),
            None => Err(CliError::Failure(format!(
                "no invitation with id {}; `ltictl registration invites` lists them (an id \
                 prefix must match exactly one)",
                escape_controls(&id)
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_accepts_minutes_hours_days_and_refuses_the_rest() {
        assert_eq!(lifetime("30m").unwrap(), Duration::minutes(30));
        assert_eq!(lifetime("12h").unwrap(), Duration::hours(12));
        assert_eq!(lifetime("7d").unwrap(), invitations::DEFAULT_LIFETIME);
        for bad in ["", "7", "0d", "-1d", "91d", "7w", "d", "1.5h"] {
            assert!(lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
