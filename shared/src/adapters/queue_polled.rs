//! The local retry "queue": nothing to send, because `ltictl serve`'s loop reads due deliveries
//! from the store and dead ones are found by status.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::ids::DeliveryId;
use crate::ports::{QueueError, RetryQueue};

/// The local "queue": nothing to send, because `ltictl serve`'s loop reads due deliveries from
/// the store ([`crate::ports::Outbox::due_deliveries`]) and dead ones are found by status.
#[derive(Debug, Default, Clone, Copy)]
pub struct PolledStore;

#[async_trait]
impl RetryQueue for PolledStore {
    async fn schedule(&self, _: &DeliveryId, _: Duration) -> Result<(), QueueError> {
        Ok(())
    }
    async fn dead_letter(&self, _: &DeliveryId) -> Result<(), QueueError> {
        Ok(())
    }
    async fn forget_dead(&self, _: &[DeliveryId]) -> Result<(), QueueError> {
        Ok(())
    }
}
