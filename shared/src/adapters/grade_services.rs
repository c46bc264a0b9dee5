//! The [`PlatformServices`] port over the real clients: AGS 2.0 through [`AgsClient`] and
//! Basic Outcomes through [`OutcomesClient`].

use std::sync::Arc;

use async_trait::async_trait;

use crate::adapters::ags_client::AgsClient;
use crate::adapters::basic_outcomes::OutcomesClient;
use crate::domain::ids::{ConsumerKey, LineItemUrl, ResourceLinkId, UserId};
use crate::domain::keys::KeySet;
use crate::domain::model::{BasicOutcome, Registration};
use crate::domain::score::Score;
use crate::domain::secret::ConsumerSecret;
use crate::lti11::pox::OutcomeTarget;
use crate::ports::{PlatformServices, ServiceError};

/// Both grade services, as the tool sends them over HTTP.
#[derive(Debug, Clone)]
pub struct GradeServices {
    ags: Arc<AgsClient>,
    basic: Arc<OutcomesClient>,
}

impl GradeServices {
    /// The services over `ags` (its token cache should live as long as the process) and
    /// `basic`.
    pub fn new(ags: Arc<AgsClient>, basic: Arc<OutcomesClient>) -> Self {
        Self { ags, basic }
    }
}

#[async_trait]
impl PlatformServices for GradeServices {
    async fn find_or_create_lineitem(
        &self,
        registration: &Registration,
        keys: &KeySet,
        granted: &[String],
        lineitems: &str,
        resource_link: &ResourceLinkId,
        label: &str,
        score_maximum: f64,
    ) -> Result<LineItemUrl, ServiceError> {
        Ok(self
            .ags
            .find_or_create_lineitem(
                registration,
                keys,
                granted,
                lineitems,
                resource_link,
                label,
                score_maximum,
            )
            .await?)
    }

    async fn post_score(
        &self,
        registration: &Registration,
        keys: &KeySet,
        granted: &[String],
        lineitem: &LineItemUrl,
        user: &UserId,
        score: &Score,
    ) -> Result<(), ServiceError> {
        Ok(self
            .ags
            .post_score(registration, keys, granted, lineitem, user, score)
            .await?)
    }

    async fn replace_result(
        &self,
        outcome: &BasicOutcome,
        consumer_key: &ConsumerKey,
        secret: ConsumerSecret,
        fraction: f64,
    ) -> Result<(), ServiceError> {
        let target = OutcomeTarget::new(outcome, consumer_key.clone(), secret)?;
        Ok(self.basic.replace_result(&target, fraction).await?)
    }
}
