//! `ltictl migrate …`: one-off moves of stored records to a newer key layout.

use std::collections::BTreeMap;

use clap::Subcommand;
use lti_shared::app::migrate::{MigrationReport, migrate_deployments};
use lti_shared::domain::ids::{ClientId, DeploymentId};

use crate::CliError;
use crate::backend::Backend;
use crate::commands::{issuer, usage};
use crate::output::Output;

/// `ltictl migrate …`
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Move LTI 1.3 users, contexts, resource links and attempts written before records were
    /// kept per deployment under their deployment. A registration with one deployment is
    /// moved there; one with several only with --assign (older records cannot tell which
    /// deployment wrote them). Safe to run again; run it once after upgrading.
    Deployments {
        /// ISSUER CLIENT_ID DEPLOYMENT_ID: move that registration's older records to this
        /// deployment (repeat for several registrations).
        #[arg(long, num_args = 3, value_names = ["ISSUER", "CLIENT_ID", "DEPLOYMENT_ID"], action = clap::ArgAction::Append)]
        assign: Vec<String>,
        /// Only count what would move.
        #[arg(long)]
        dry_run: bool,
    },
}

pub(crate) async fn migrate(
    backend: &Backend,
    out: &Output,
    command: MigrateCommand,
) -> Result<(), CliError> {
    let MigrateCommand::Deployments { assign, dry_run } = command;
    let mut chosen = BTreeMap::new();
    for triple in assign.chunks(3) {
        let [iss, client, deployment] = triple else {
            return Err(CliError::Usage(
                "--assign takes ISSUER CLIENT_ID DEPLOYMENT_ID".into(),
            ));
        };
        chosen.insert(
            (
                issuer(iss)?,
                ClientId::parse(client.clone()).map_err(usage)?,
            ),
            DeploymentId::parse(deployment.clone()).map_err(usage)?,
        );
    }
    let report = migrate_deployments(&*backend.store, &chosen, dry_run).await?;
    out.done(&report, &summary(&report, dry_run))
}

fn summary(report: &MigrationReport, dry_run: bool) -> String {
    let verb = if dry_run { "Would move" } else { "Moved" };
    let mut text = format!(
        "{verb} {} user(s), {} context(s), {} resource link(s), {} attempt(s) under their \
         deployment.",
        report.users, report.contexts, report.resource_links, report.attempts
    );
    for (issuer, client, deployment) in &report.assigned {
        text.push_str(&format!(
            "\n  {issuer} client {client}: deployment {deployment}"
        ));
    }
    for skipped in &report.skipped {
        text.push_str(&format!(
            "\n  left {} client {}: {}",
            skipped.issuer, skipped.client_id, skipped.reason
        ));
    }
    text
}
