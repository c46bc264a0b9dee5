//! `ltictl outcomes …` (grade deliveries) and `ltictl resource …` (grading settings).

use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use lti_shared::app::delivery::DeliveryPolicy;
use lti_shared::domain::clock::SystemClock;
use lti_shared::domain::ids::{ClientId, ConsumerKey, DeliveryId, DeploymentId, ResourceLinkId};
use lti_shared::domain::model::{PassbackPolicy, PlatformScope};
use lti_shared::domain::outbox::{Delivery, DeliveryStatus, DeliveryTarget};

use crate::CliError;
use crate::backend::Backend;
use crate::commands::{issuer, timestamp, usage};
use crate::output::Output;

/// The most deliveries one listing shows.
const LIST_LIMIT: usize = 1000;

/// A delivery status on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusFilter {
    /// Waiting for a (re)try.
    Pending,
    /// Accepted by the platform.
    Delivered,
    /// Refused by the platform for good.
    Failed,
    /// Every try failed; in the dead-letter queue.
    Dead,
}

impl From<StatusFilter> for DeliveryStatus {
    fn from(value: StatusFilter) -> Self {
        match value {
            StatusFilter::Pending => DeliveryStatus::Pending,
            StatusFilter::Delivered => DeliveryStatus::Delivered,
            StatusFilter::Failed => DeliveryStatus::Failed,
            StatusFilter::Dead => DeliveryStatus::Dead,
        }
    }
}

/// `ltictl outcomes …`
#[derive(Debug, Subcommand)]
pub enum OutcomesCommand {
    /// List grade deliveries (default: every one not yet delivered).
    List {
        /// Only deliveries with this status.
        #[arg(long, value_enum)]
        status: Option<StatusFilter>,
    },
    /// Show one delivery with every try.
    Show {
        /// The delivery id (as the score API answered, or from `outcomes list`).
        id: String,
    },
    /// Make failed or dead deliveries pending again and deliver them now.
    Replay {
        /// The delivery id.
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        /// Every dead delivery.
        #[arg(long)]
        all_dead: bool,
    },
}

/// Which platform a resource link belongs to.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// The LTI 1.3 platform's issuer (with --client-id).
    #[arg(long, requires = "client_id", conflicts_with = "consumer_key")]
    pub issuer: Option<String>,
    /// The LTI 1.3 client id (with --issuer).
    #[arg(long, requires = "issuer")]
    pub client_id: Option<String>,
    /// The LTI 1.3 deployment id (with --issuer): context and resource link ids are unique
    /// only within a deployment, so every record is kept per deployment
    /// (`ltictl platform show` lists a registration's deployments).
    #[arg(long, requires = "issuer")]
    pub deployment_id: Option<String>,
    /// The LTI 1.1 consumer key.
    #[arg(long)]
    pub consumer_key: Option<String>,
}

impl ScopeArgs {
    pub(crate) fn scope(&self) -> Result<PlatformScope, CliError> {
        match (
            &self.issuer,
            &self.client_id,
            &self.deployment_id,
            &self.consumer_key,
        ) {
            (Some(iss), Some(client), Some(deployment), None) => Ok(PlatformScope::lti13(
                issuer(iss)?,
                ClientId::parse(client.clone()).map_err(usage)?,
                DeploymentId::parse(deployment.clone()).map_err(usage)?,
            )),
            (Some(_), Some(_), None, None) => Err(CliError::Usage(
                "name the deployment with --deployment-id: LTI 1.3 records are kept per                  deployment (`ltictl platform show` lists the registration's deployments)"
                    .into(),
            )),
            (None, None, None, Some(key)) => Ok(PlatformScope::Lti11 {
                consumer_key: ConsumerKey::parse(key.clone()).map_err(usage)?,
            }),
            _ => Err(CliError::Usage(
                "name the platform with --issuer, --client-id and --deployment-id (LTI 1.3) or \
                 --consumer-key (LTI 1.1)"
                    .into(),
            )),
        }
    }
}

/// A passback policy on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PassbackArg {
    /// Send the most recent score.
    Latest,
    /// Send the best score so far.
    Best,
}

/// `ltictl resource …`
#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Show a resource link's grading settings.
    Show {
        /// The platform.
        #[command(flatten)]
        scope: ScopeArgs,
        /// The platform's resource link id.
        #[arg(long)]
        link: String,
    },
    /// Set a resource link's grading settings (launches keep them).
    Grading {
        /// The platform.
        #[command(flatten)]
        scope: ScopeArgs,
        /// The platform's resource link id.
        #[arg(long)]
        link: String,
        /// Which score the platform's gradebook gets.
        #[arg(long, value_enum)]
        passback: Option<PassbackArg>,
        /// Whether scoreGiven may exceed scoreMaximum.
        #[arg(long, value_name = "true|false")]
        extra_credit: Option<bool>,
    },
}

fn delivery_id(text: &str) -> Result<DeliveryId, CliError> {
    DeliveryId::parse(text).map_err(usage)
}

fn where_to(delivery: &Delivery) -> String {
    match &delivery.target {
        DeliveryTarget::Ags { lineitem, .. } => lineitem
            .as_ref()
            .map_or_else(|| "AGS (line item to be found)".into(), ToString::to_string),
        DeliveryTarget::BasicOutcome(o) => format!("Basic Outcomes {}", o.service_url),
    }
}

fn rows(list: &[Delivery]) -> Vec<Vec<String>> {
    list.iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.status.as_str().to_owned(),
                format!("{}/{}", d.score.given, d.score.maximum),
                d.attempt.user_id.to_string(),
                d.attempt.resource_link_id.to_string(),
                d.tries.to_string(),
                timestamp(d.next_try_at),
                d.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

const HEADER: &[&str] = &[
    "id",
    "status",
    "score",
    "user",
    "resource link",
    "tries",
    "next try",
    "last error",
];

pub(crate) async fn outcomes(
    backend: &Backend,
    out: &Output,
    command: OutcomesCommand,
) -> Result<(), CliError> {
    match command {
        OutcomesCommand::List { status } => {
            let statuses: Vec<DeliveryStatus> = match status {
                Some(s) => vec![s.into()],
                None => vec![
                    DeliveryStatus::Pending,
                    DeliveryStatus::Failed,
                    DeliveryStatus::Dead,
                ],
            };
            let mut list = Vec::new();
            for status in statuses {
                list.extend(
                    backend
                        .store
                        .deliveries_with_status(status, LIST_LIMIT)
                        .await?,
                );
            }
            out.table(&list, HEADER, rows(&list))
        }
        OutcomesCommand::Show { id } => {
            let id = delivery_id(&id)?;
            let delivery = backend.store.delivery(&id).await?.ok_or_else(|| {
                CliError::Failure(format!(
                    "no grade delivery {id}; `ltictl outcomes list` shows the open ones"
                ))
            })?;
            if out.is_json() {
                return out.done(&delivery, "");
            }
            out.table(&delivery, HEADER, rows(std::slice::from_ref(&delivery)))?;
            println!("target: {}", where_to(&delivery));
            let tries = delivery
                .history
                .iter()
                .map(|t| {
                    vec![
                        timestamp(t.at),
                        t.outcome.clone(),
                        t.http_status.map(|s| s.to_string()).unwrap_or_default(),
                        t.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out.table(
                &delivery.history,
                &["at", "outcome", "http", "error"],
                tries,
            )
        }
        OutcomesCommand::Replay { id, all_dead } => {
            let deliverer = backend.deliverer(Arc::new(SystemClock), DeliveryPolicy::default())?;
            let ids: Vec<DeliveryId> = if all_dead {
                backend
                    .store
                    .deliveries_with_status(DeliveryStatus::Dead, LIST_LIMIT)
                    .await?
                    .into_iter()
                    .map(|d| d.id)
                    .collect()
            } else {
                vec![delivery_id(id.as_deref().unwrap_or_default())?]
            };
            let mut replayed = Vec::new();
            for id in ids {
                let delivery = deliverer.replay(&id).await?.ok_or_else(|| {
                    CliError::Failure(format!(
                        "no grade delivery {id}; `ltictl outcomes list` shows the open ones"
                    ))
                })?;
                replayed.push(delivery);
            }
            let summary = replayed
                .iter()
                .map(|d| format!("{} {}", d.id, d.status.as_str()))
                .collect::<Vec<_>>()
                .join("\n");
            out.done(
                &replayed,
                &if replayed.is_empty() {
                    "No dead deliveries to replay.".to_owned()
                } else {
                    format!("Replayed (id, status now):\n{summary}")
                },
            )
        }
    }
}

pub(crate) async fn resource(
    backend: &Backend,
    out: &Output,
    command: ResourceCommand,
) -> Result<(), CliError> {
    let (scope, link, change) = match command {
        ResourceCommand::Show { scope, link } => (scope, link, None),
        ResourceCommand::Grading {
            scope,
            link,
            passback,
            extra_credit,
        } => (scope, link, Some((passback, extra_credit))),
    };
    let scope = scope.scope()?;
    let link_id = ResourceLinkId::parse(link).map_err(usage)?;
    let mut link = backend
        .store
        .resource_link(&scope, &link_id)
        .await?
        .ok_or_else(|| {
            CliError::Failure(format!(
                "no resource link {link_id} for that platform; it exists once it has been \
                 launched"
            ))
        })?;
    if let Some((passback, extra_credit)) = change {
        if let Some(p) = passback {
            link.grading.passback = match p {
                PassbackArg::Latest => PassbackPolicy::Latest,
                PassbackArg::Best => PassbackPolicy::Best,
            };
        }
        if let Some(extra) = extra_credit {
            link.grading.extra_credit = extra;
        }
        backend.store.put_resource_link(&link).await?;
    }
    let row = vec![vec![
        link.resource_link_id.to_string(),
        link.title.clone().unwrap_or_default(),
        link.grading.passback.as_str().to_owned(),
        link.grading.extra_credit.to_string(),
        link.ags
            .as_ref()
            .and_then(|a| a.lineitem.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
    ]];
    out.table(
        &link,
        &[
            "resource link",
            "title",
            "passback",
            "extra credit",
            "line item",
        ],
        row,
    )
}
