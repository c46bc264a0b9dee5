//! `ltictl catalog …`: the activities instructors can place in courses through deep linking.

use clap::Subcommand;
use lti_shared::domain::catalog::{CatalogItem, CatalogItemId, NewCatalogItem};
use lti_shared::ports::StoreError;
use time::OffsetDateTime;

use crate::CliError;
use crate::backend::Backend;
use crate::output::Output;

/// `ltictl catalog …`
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Offer an activity in the deep-linking picker.
    Add {
        /// A short id (letters, digits, '-' and '_'); it is part of every link placed in a
        /// course, so it cannot be changed later.
        #[arg(long)]
        id: String,
        /// The title instructors and learners see.
        #[arg(long)]
        title: String,
        /// A description shown in the picker and sent as the link's text.
        #[arg(long)]
        description: Option<String>,
        /// Where launches of the placed activity go (https; http for localhost only).
        #[arg(long, value_name = "URL")]
        activity_url: String,
        /// The maximum score: makes the activity gradable (the platform creates a gradebook
        /// column for it).
        #[arg(long, value_name = "POINTS", allow_negative_numbers = true)]
        score_maximum: Option<f64>,
        /// A custom parameter the platform sends back on every launch, `NAME=VALUE`
        /// (repeatable).
        #[arg(long = "custom", value_name = "NAME=VALUE")]
        custom: Vec<String>,
    },
    /// List the catalog.
    List,
    /// Stop offering an activity. Links already placed in courses then show that the
    /// activity was removed.
    Remove {
        /// The item's id.
        #[arg(long)]
        id: String,
    },
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn custom_pair(pair: &str) -> Result<(String, String), CliError> {
    pair.split_once('=')
        .map(|(name, value)| (name.trim().to_owned(), value.to_owned()))
        .ok_or_else(|| CliError::Usage(format!("--custom {pair:?} must look like NAME=VALUE")))
}

fn item_id(text: &str) -> Result<CatalogItemId, CliError> {
    CatalogItemId::parse(text).map_err(|e| CliError::Usage(e.to_string()))
}

/// Runs one `catalog` command.
pub(crate) async fn catalog(
    backend: &Backend,
    out: &Output,
    command: CatalogCommand,
) -> Result<(), CliError> {
    let store = &backend.store;
    match command {
        CatalogCommand::Add {
            id,
            title,
            description,
            activity_url,
            score_maximum,
            custom,
        } => {
            let custom = custom
                .iter()
                .map(|pair| custom_pair(pair))
                .collect::<Result<Vec<_>, _>>()?;
            let item = CatalogItem::new(
                NewCatalogItem {
                    id: &id,
                    title: &title,
                    description: description.as_deref(),
                    activity_url: &activity_url,
                    score_maximum,
                    custom,
                },
                OffsetDateTime::now_utc(),
            )
            .map_err(|e| CliError::Usage(e.to_string()))?;
            match store.add_catalog_item(&item).await {
                Ok(()) => {}
                Err(StoreError::AlreadyExists(_)) => {
                    return Err(CliError::Failure(format!(
                        "catalog item {id} already exists; remove it first with \
                         `ltictl catalog remove --id {id}` to replace it"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            out.done(
                &item,
                &format!(
                    "Added catalog item {id} in the {}. Instructors can now pick it in the \
                     deep-linking picker.",
                    backend.description
                ),
            )
        }
        CatalogCommand::List => {
            let list = store.catalog_items().await?;
            let rows = list
                .iter()
                .map(|item| {
                    vec![
                        item.id.to_string(),
                        item.title.clone(),
                        item.activity_url.to_string(),
                        item.score_maximum
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                        timestamp(item.created_at),
                    ]
                })
                .collect();
            out.table(
                &list,
                &["id", "title", "activity url", "max score", "created"],
                rows,
            )
        }
        CatalogCommand::Remove { id } => {
            let item = item_id(&id)?;
            match store.remove_catalog_item(&item).await {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => {
                    return Err(CliError::Failure(format!(
                        "no catalog item {item}; `ltictl catalog list` shows the existing ones"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            out.done(
                &serde_json::json!({"removed": item}),
                &format!(
                    "Removed catalog item {item}. Links already placed in courses now show that \
                     it was removed."
                ),
            )
        }
    }
}
