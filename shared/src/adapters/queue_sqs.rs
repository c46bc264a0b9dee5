//! The [`RetryQueue`] on Amazon SQS: the outcomes function's retry path in AWS.
//!
//! A retry is a message `{"delivery_id": "…"}` on the outcomes queue, delayed by the backoff
//! (SQS allows up to 15 minutes; a longer wait is finished by re-queueing when the message
//! arrives early, see [`crate::app::delivery::Deliverer::deliver`]). The outcomes function consumes
//! the queue. A delivery marked dead is sent to the dead-letter queue, which an alarm watches
//! and `ltictl outcomes replay` empties. The queue's own redrive policy (a bounded receive
//! count into the same dead-letter queue) catches messages whose handling crashes repeatedly.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use serde::{Deserialize, Serialize};

use crate::domain::ids::DeliveryId;
use crate::ports::{QueueError, RetryQueue};

/// The longest delay SQS can put on a message.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// The body of a retry message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryMessage {
    /// The delivery to try.
    pub delivery_id: DeliveryId,
}

/// The SQS-backed retry queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: String,
}

impl SqsQueue {
    /// A queue over `queue_url` with its dead-letter queue `dead_letter_url`.
    pub fn new(client: Client, queue_url: String, dead_letter_url: String) -> Self {
        Self {
            client,
            queue_url,
            dead_letter_url,
        }
    }

    /// A queue from an AWS SDK configuration.
    pub fn from_config(
        config: &aws_config::SdkConfig,
        queue_url: String,
        dead_letter_url: String,
    ) -> Self {
        Self::new(Client::new(config), queue_url, dead_letter_url)
    }

    async fn send(&self, url: &str, id: &DeliveryId, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(&RetryMessage {
            delivery_id: id.clone(),
        })
        .map_err(|e| QueueError(e.to_string()))?;
        let seconds = delay_seconds(delay);
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(seconds)
            .send()
            .await
            .map_err(|e| {
                QueueError(format!(
                    "the queue {url} could not be used ({}); check the queue URL and the \
                     function's permissions",
                    DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }

    /// Reads up to ten messages from the dead-letter queue (hidden for `visibility`), as
    /// (receipt handle, delivery id) pairs.
    pub async fn receive_dead(
        &self,
        visibility: Duration,
    ) -> Result<Vec<(String, Option<DeliveryId>)>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.dead_letter_url)
            .max_number_of_messages(10)
            .visibility_timeout(i32::try_from(visibility.as_secs()).unwrap_or(30))
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| QueueError(format!("{}", DisplayErrorContext(&e))))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let id = m
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_str::<RetryMessage>(b).ok())
                    .map(|m| m.delivery_id);
                Some((m.receipt_handle?, id))
            })
            .collect())
    }

    /// Deletes one dead-letter message.
    pub async fn delete_dead(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.dead_letter_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| QueueError(format!("{}", DisplayErrorContext(&e))))?;
        Ok(())
    }
}

/// An SQS `DelaySeconds` for `delay`: whole seconds, **rounded up** so a retry message never
/// arrives before its delivery is due, and at most [`MAX_DELAY`] (SQS's limit).
pub fn delay_seconds(delay: Duration) -> i32 {
    let delay = delay.min(MAX_DELAY);
    let whole = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    i32::try_from(whole).unwrap_or(i32::MAX)
}

#[async_trait]
impl RetryQueue for SqsQueue {
    async fn schedule(&self, id: &DeliveryId, delay: Duration) -> Result<(), QueueError> {
        self.send(&self.queue_url, id, delay).await
    }

    async fn dead_letter(&self, id: &DeliveryId) -> Result<(), QueueError> {
        self.send(&self.dead_letter_url, id, Duration::ZERO).await
    }

    async fn forget_dead(&self, ids: &[DeliveryId]) -> Result<(), QueueError> {
        // Dead letters are few; read them (briefly hidden) and delete the replayed ones.
        for _ in 0..10 {
            let batch = self.receive_dead(Duration::from_secs(5)).await?;
            if batch.is_empty() {
                break;
            }
            for (receipt, id) in batch {
                if id.as_ref().is_none_or(|id| ids.contains(id)) {
                    self.delete_dead(&receipt).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_seconds_rounds_up_and_caps() {
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::from_millis(1)), 1);
        assert_eq!(delay_seconds(Duration::from_millis(400)), 1);
        assert_eq!(delay_seconds(Duration::from_millis(1_000)), 1);
        assert_eq!(delay_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(delay_seconds(Duration::from_secs(3_600)), 900);
    }
}
