//! `ltictl user …`, `ltictl context erase`, `ltictl attempts export`, `ltictl retention purge`
//! and `ltictl audit list`: export, erasure and retention of the data the tool holds.

use clap::{Args, Subcommand, ValueEnum};
use lti_shared::app::export::{Selection, attempt_rows, attempts_csv};
use lti_shared::app::lifecycle::{
    ErasureReport, erase_context, erase_user, export_user, purge_expired,
};
use lti_shared::compose::config::{parse_retention_days, retention};
use lti_shared::domain::audit::{AuditEntry, ErasureCounts};
use lti_shared::domain::ids::{ContextId, ResourceLinkId, UserId};
use lti_shared::domain::model::PlatformScope;
use lti_shared::domain::record_key::scope_key;
use time::OffsetDateTime;

use crate::CliError;
use crate::backend::Backend;
use crate::commands::{timestamp, usage};
use crate::outcomes_cmd::ScopeArgs;
use crate::output::Output;

/// `ltictl user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Print everything held on one person as JSON: the user record, every attempt with its
    /// score, every grade delivery, and the resource links and contexts they touched.
    Export(UserArgs),
    /// Erase one person: their attempts, scores, grade deliveries and user record. Keeps an
    /// audit entry without personal data. Needs --yes.
    Erase {
        /// Who.
        #[command(flatten)]
        who: UserArgs,
        /// Confirm the permanent deletion.
        #[arg(long)]
        yes: bool,
    },
}

/// One person on one platform.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// The platform.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The platform's user id (LTI 1.3 `sub`, LTI 1.1 `user_id`), exactly as it sends it.
    #[arg(long, allow_hyphen_values = true)]
    pub user: String,
}

/// `ltictl context …`
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Erase a course: its resource links, every attempt, score and grade delivery on them,
    /// and the context record. User records stay. Keeps an audit entry. Needs --yes.
    Erase {
        /// The platform.
        #[command(flatten)]
        scope: ScopeArgs,
        /// The platform's context id.
        #[arg(long, allow_hyphen_values = true)]
        context: String,
        /// Confirm the permanent deletion.
        #[arg(long)]
        yes: bool,
    },
}

/// An export format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// CSV with a header row (UTF-8; formula-like cells neutralized).
    Csv,
    /// A JSON array of rows.
    Json,
}

/// `ltictl attempts …`
#[derive(Debug, Subcommand)]
pub enum AttemptsCommand {
    /// Print one row per attempt of a resource link or a context, as CSV (default) or JSON.
    Export {
        /// The platform.
        #[command(flatten)]
        scope: ScopeArgs,
        /// The platform's resource link id.
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present = "context",
            conflicts_with = "context"
        )]
        resource: Option<String>,
        /// The platform's context id (every resource link in it).
        #[arg(long, allow_hyphen_values = true)]
        context: Option<String>,
        /// Output format (default csv; json with --json).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

/// `ltictl retention …`
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Delete attempts (with their scores and grade deliveries) whose last activity is older
    /// than the retention period, and user records not seen within it that have no attempt
    /// left. Keeps an audit entry. The period is LTI_RETENTION_DAYS (default 400; 0 keeps
    /// everything) unless --days is given.
    Purge {
        /// The retention period in days for this run (0: keep everything).
        #[arg(long)]
        days: Option<String>,
    },
}

/// `ltictl audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the audit log of erasures and purges (no personal data), oldest first.
    List,
}

fn user_id(text: &str) -> Result<UserId, CliError> {
    UserId::parse(text).map_err(usage)
}

fn context_id(text: &str) -> Result<ContextId, CliError> {
    ContextId::parse(text).map_err(usage)
}

fn platform_hint(scope: &PlatformScope) -> String {
    match scope {
        PlatformScope::Lti13 {
            issuer,
            client_id,
            deployment_id,
        } => match deployment_id {
            Some(deployment) => {
                format!("platform {issuer} with client id {client_id}, deployment {deployment}")
            }
            None => format!("platform {issuer} with client id {client_id}"),
        },
        PlatformScope::Lti11 { consumer_key } => format!("LTI 1.1 consumer {consumer_key}"),
    }
}

fn counts_text(c: &ErasureCounts) -> String {
    format!(
        "{} user record(s), {} attempt(s), {} grade delivery(ies), {} delivery channel(s), \
         {} resource link(s), {} context(s)",
        c.users, c.attempts, c.deliveries, c.channels, c.resource_links, c.contexts
    )
}

fn confirm(yes: bool, what: &str) -> Result<(), CliError> {
    if yes {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "this permanently deletes {what} and cannot be undone; run the same command again \
             with --yes to confirm (`ltictl user export` shows what is held on a person first)"
        )))
    }
}

/// What an erasure prints: removed counts, or that a repeated request found nothing left.
fn erasure_result(
    out: &Output,
    report: &ErasureReport,
    subject: &str,
    scope: &PlatformScope,
    hint: &str,
) -> Result<(), CliError> {
    if !report.counts.is_empty() {
        return out.done(
            report,
            &format!(
                "Erased {subject}: {}. Audit entry {} kept (no personal data).",
                counts_text(&report.counts),
                report.audit.as_ref().map(|a| a.id.as_str()).unwrap_or("-")
            ),
        );
    }
    if let Some(last) = report.earlier.last() {
        return out.done(
            report,
            &format!(
                "Nothing left to erase: {subject} was already erased at {} (audit entry {}).",
                timestamp(last.at),
                last.id
            ),
        );
    }
    Err(CliError::Failure(format!(
        "no data held for {subject} of {}; check the platform (--issuer and --client-id, or \
         --consumer-key) and the id exactly as the platform sends it ({hint})",
        platform_hint(scope)
    )))
}

pub(crate) async fn user(
    backend: &Backend,
    out: &Output,
    command: UserCommand,
) -> Result<(), CliError> {
    let now = OffsetDateTime::now_utc();
    match command {
        UserCommand::Export(who) => {
            let scope = who.scope.scope()?;
            let id = user_id(&who.user)?;
            let export = export_user(&*backend.store, &scope, &id, now)
                .await?
                .ok_or_else(|| {
                    CliError::Failure(format!(
                        "no data held for user {id} of {}; check the platform (--issuer and \
                         --client-id, or --consumer-key) and the user id exactly as the \
                         platform sends it (`ltictl attempts export` lists them)",
                        platform_hint(&scope)
                    ))
                })?;
            // Always JSON: the export is for a person's data request.
            Output::new(true).done(&export, "")
        }
        UserCommand::Erase { who, yes } => {
            let scope = who.scope.scope()?;
            let id = user_id(&who.user)?;
            confirm(
                yes,
                &format!("every attempt, score and grade delivery of user {id}"),
            )?;
            let report = erase_user(&*backend.store, &scope, &id, now, "ltictl user erase").await?;
            erasure_result(
                out,
                &report,
                &format!("user {id}"),
                &scope,
                "`ltictl attempts export` lists the user ids",
            )
        }
    }
}

pub(crate) async fn context(
    backend: &Backend,
    out: &Output,
    command: ContextCommand,
) -> Result<(), CliError> {
    let ContextCommand::Erase {
        scope,
        context,
        yes,
    } = command;
    let scope = scope.scope()?;
    let id = context_id(&context)?;
    confirm(
        yes,
        &format!("context {id} with every resource link, attempt, score and grade delivery in it"),
    )?;
    let now = OffsetDateTime::now_utc();
    let report = erase_context(&*backend.store, &scope, &id, now, "ltictl context erase").await?;
    erasure_result(
        out,
        &report,
        &format!("context {id}"),
        &scope,
        "the course's context id from a launch",
    )
}

pub(crate) async fn attempts(
    backend: &Backend,
    out: &Output,
    command: AttemptsCommand,
) -> Result<(), CliError> {
    let AttemptsCommand::Export {
        scope,
        resource,
        context,
        format,
    } = command;
    let scope = scope.scope()?;
    let selection = match (resource, context) {
        (Some(link), None) => Selection::ResourceLink(ResourceLinkId::parse(link).map_err(usage)?),
        (None, Some(context)) => Selection::Context(context_id(&context)?),
        _ => {
            return Err(CliError::Usage(
                "name what to export with --resource ID or --context ID (one of them)".into(),
            ));
        }
    };
    let rows = attempt_rows(&*backend.store, &*backend.store, &scope, &selection).await?;
    if rows.is_empty() {
        let exists = match &selection {
            Selection::ResourceLink(link) => {
                backend.store.resource_link(&scope, link).await?.is_some()
            }
            Selection::Context(context) => backend.store.context(&scope, context).await?.is_some(),
        };
        if !exists {
            let what = match &selection {
                Selection::ResourceLink(link) => format!("resource link {link}"),
                Selection::Context(context) => format!("context {context}"),
            };
            return Err(CliError::Failure(format!(
                "no {what} for {}; it exists once it has been launched. Check the platform \
                 (--issuer and --client-id, or --consumer-key) and the id",
                platform_hint(&scope)
            )));
        }
    }
    let format = format.unwrap_or(if out.is_json() {
        Format::Json
    } else {
        Format::Csv
    });
    match format {
        Format::Csv => {
            print!("{}", attempts_csv(&rows));
            Ok(())
        }
        Format::Json => Output::new(true).done(&rows, ""),
    }
}

pub(crate) async fn retention_cmd(
    backend: &Backend,
    out: &Output,
    command: RetentionCommand,
) -> Result<(), CliError> {
    let RetentionCommand::Purge { days } = command;
    let period = match days {
        Some(text) => parse_retention_days(&text),
        None => retention(),
    }
    .map_err(|e| CliError::Usage(format!("{e}; use --days N or LTI_RETENTION_DAYS")))?;
    let now = OffsetDateTime::now_utc();
    let report = purge_expired(&*backend.store, now, period, "ltictl retention purge").await?;
    let message = match report.cutoff {
        None => "Retention is forever (0 days): nothing expires.".to_owned(),
        Some(cutoff) => format!(
            "Retention {} days: removed what was last active before {}: {}.",
            period.days(),
            timestamp(cutoff),
            counts_text(&report.counts)
        ),
    };
    out.done(&report, &message)
}

fn audit_rows(list: &[AuditEntry]) -> Vec<Vec<String>> {
    list.iter()
        .map(|e| {
            vec![
                timestamp(e.at),
                e.action.as_str().to_owned(),
                e.scope.as_ref().map(scope_key).unwrap_or_default(),
                e.subject.clone().unwrap_or_default(),
                // A registration update removes nothing: it lists what changed instead.
                if e.changes.is_empty() {
                    counts_text(&e.counts)
                } else {
                    e.changes.join("; ")
                },
            ]
        })
        .collect()
}

pub(crate) async fn audit(
    backend: &Backend,
    out: &Output,
    command: AuditCommand,
) -> Result<(), CliError> {
    let AuditCommand::List = command;
    let list = backend.store.audit_entries().await?;
    out.table(
        &list,
        &[
            "at",
            "action",
            "platform",
            "subject (sha256)",
            "removed / changed",
        ],
        audit_rows(&list),
    )
}
