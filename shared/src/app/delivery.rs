//! Grade delivery: from a submitted score to the platform's gradebook, without losing one.
//!
//! 1. [`Deliverer::submit`] checks the score against the resource's grading settings, applies
//!    the passback policy (latest or best), gives it a timestamp later than every earlier
//!    score of the learner on that resource link (AGS 2.0 §3.4.8 wants them strictly
//!    increasing), and writes the attempt and an outbox record in **one atomic write**
//!    ([`Outbox::submit_score`]). From then on the grade exists even if the process dies.
//! 2. It then tries to deliver at once ([`Deliverer::deliver_channel`]): under the channel's
//!    lease (one learner on one resource link), the pending deliveries go out oldest first;
//!    each one's status is written before the next is sent, so a delivered grade is never
//!    sent again and a later grade never overtakes an earlier one still pending.
//! 3. What could not be delivered (the platform down, 429, 5xx, timeouts) is retried after an
//!    exponential backoff with jitter that honours `Retry-After`, from the [`RetryQueue`] (SQS
//!    in AWS; under `ltictl serve` a loop over [`Outbox::due_deliveries`]). After
//!    [`DeliveryPolicy::max_tries`] it is marked dead and dead-lettered for an operator to
//!    replay. What the platform refuses for good (400, 403, 404…) is marked failed, with the
//!    platform's reason, and can be replayed too.
//!
//! A crash between the write and the delivery loses nothing: the record is pending and due,
//! so the next sweep (or the queue message) sends it.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::clock::Clock;
use crate::domain::ids::{DeliveryId, LineItemUrl};
use crate::domain::model::{Attempt, PassbackPolicy, PlatformScope, ResourceLink};
use crate::domain::outbox::{Delivery, DeliveryStatus, DeliveryTarget, DeliveryTry};
use crate::domain::score::{Score, truncate_to_millis};
use crate::lti13::ags::AgsError;
use crate::ports::{
    KeyStore, LaunchRecords, Outbox, PlatformRegistry, PlatformServices, RetryQueue, ServiceError,
    StoreError,
};

/// How deliveries are retried.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Tries before a delivery is dead-lettered.
    pub max_tries: u32,
    /// The first retry's delay (doubled for each further try).
    pub base_backoff: Duration,
    /// The longest delay between tries.
    pub max_backoff: Duration,
    /// How long a channel lease lasts (longer than a delivery can take).
    pub lease: Duration,
    /// How long to wait before looking again at a channel another worker holds.
    pub busy_retry: Duration,
    /// How long one request to a platform may take.
    pub request_timeout: Duration,
}

impl Default for DeliveryPolicy {
    /// Ten tries over about two hours: 2 s, 4 s, 8 s … capped at 30 minutes.
    fn default() -> Self {
        Self {
            max_tries: 10,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30 * 60),
            lease: Duration::from_secs(60),
            busy_retry: Duration::from_secs(2),
            request_timeout: crate::lti13::ags::REQUEST_TIMEOUT,
        }
    }
}

impl DeliveryPolicy {
    /// The delay after the `tries`-th failed try: exponential, with "equal jitter" (half fixed,
    /// half random) so a crowd of retries spreads out, and never shorter than the platform's
    /// `Retry-After`.
    pub fn backoff(&self, tries: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = tries.saturating_sub(1).min(20);
        let full = self
            .base_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let half = full / 2;
        let jitter = half.mul_f64(random_fraction());
        (half + jitter).max(retry_after.unwrap_or(Duration::ZERO))
    }
}

/// A uniformly random number in [0, 1).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// Why a score could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The platform gave no way to send grades for this resource link.
    #[error(
        "the platform did not enable grade passback for this resource link (no AGS score \
         scope, or no LTI 1.1 outcome service); ask the course's administrator to enable it"
    )]
    NoPassback,
    /// The attempt no longer exists.
    #[error("the attempt no longer exists; launch the activity again")]
    NoAttempt,
    /// Storage failed; nothing was recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How one try ended.
enum TryOutcome {
    /// Accepted; with a note when the platform said it already had the score.
    Delivered(Option<String>),
    Retry(String, Option<u16>, Option<Duration>),
    Failed(String, Option<u16>),
}

/// What [`Deliverer::deliver_channel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelRun {
    /// The channel was processed (every due delivery tried, in order).
    Processed,
    /// Another worker holds the channel; it was left alone.
    Busy,
}

/// Sends grades: the outcomes function's core, shared by the score API, the queue consumer,
/// `ltictl serve`'s retry loop and `ltictl outcomes replay`.
pub struct Deliverer {
    registry: Arc<dyn PlatformRegistry>,
    records: Arc<dyn LaunchRecords>,
    outbox: Arc<dyn Outbox>,
    keys: Arc<dyn KeyStore>,
    services: Arc<dyn PlatformServices>,
    queue: Arc<dyn RetryQueue>,
    clock: Arc<dyn Clock>,
    policy: DeliveryPolicy,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The parts a [`Deliverer`] is built from.
pub struct DelivererParts {
    /// Registrations (to sign AGS token requests for the right platform).
    pub registry: Arc<dyn PlatformRegistry>,
    /// Resource links and attempts (line items found or created are kept on the link).
    pub records: Arc<dyn LaunchRecords>,
    /// Scores waiting for delivery, their channels and history.
    pub outbox: Arc<dyn Outbox>,
    /// The tool's keys and LTI 1.1 secrets.
    pub keys: Arc<dyn KeyStore>,
    /// The platforms' grade services (AGS and Basic Outcomes; the adapter's token cache
    /// should live as long as the process).
    pub services: Arc<dyn PlatformServices>,
    /// Where retries wait.
    pub queue: Arc<dyn RetryQueue>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Retry rules.
    pub policy: DeliveryPolicy,
}

fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl Deliverer {
    /// A deliverer from its parts.
    pub fn new(parts: DelivererParts) -> Self {
        Self {
            registry: parts.registry,
            records: parts.records,
            outbox: parts.outbox,
            keys: parts.keys,
            services: parts.services,
            queue: parts.queue,
            clock: parts.clock,
            policy: parts.policy,
        }
    }

    /// The retry rules.
    pub fn policy(&self) -> &DeliveryPolicy {
        &self.policy
    }

    /// Where the score for `attempt` on `link` goes, from what the launch stored.
    fn target(attempt: &Attempt, link: &ResourceLink) -> Result<DeliveryTarget, SubmitError> {
        match &attempt.key.scope {
            PlatformScope::Lti13 { .. } => {
                let ags = link.ags.as_ref().ok_or(SubmitError::NoPassback)?;
                if !ags
                    .scopes
                    .iter()
                    .any(|s| s == crate::lti13::ags::SCOPE_SCORE)
                    || (ags.lineitem.is_none() && ags.lineitems.is_none())
                {
                    return Err(SubmitError::NoPassback);
                }
                Ok(DeliveryTarget::Ags {
                    lineitem: ags.lineitem.clone(),
                    lineitems: ags.lineitems.clone(),
                    scopes: ags.scopes.clone(),
                    label: link.title.clone(),
                })
            }
            PlatformScope::Lti11 { .. } => attempt
                .basic_outcome
                .clone()
                .map(DeliveryTarget::BasicOutcome)
                .ok_or(SubmitError::NoPassback),
        }
    }

    /// Records `score` on `attempt` with an outbox record (one atomic write), then tries to
    /// deliver it. Returns the delivery as it then stands.
    pub async fn submit(
        &self,
        attempt: &Attempt,
        link: &ResourceLink,
        score: Score,
    ) -> Result<Delivery, SubmitError> {
        let target = Self::target(attempt, link)?;
        let mut to_send = score.clone();
        if link.grading.passback == PassbackPolicy::Best {
            let others = self
                .records
                .attempts_of_user_on_resource_link(
                    &attempt.key.scope,
                    &attempt.key.resource_link_id,
                    &attempt.key.user_id,
                )
                .await?;
            for other in others.iter().filter(|a| a.key != attempt.key) {
                if let Some(best) = other.score.as_ref().filter(|s| s.beats(&to_send)) {
                    to_send = best.clone();
                }
            }
        }
        let channel = crate::domain::outbox::channel_of(&attempt.key);
        let mut stamp = truncate_to_millis(self.clock.now());
        for _ in 0..8 {
            if let Some(last) = self.outbox.last_score_time(&channel).await?
                && last >= stamp
            {
                stamp = last + time::Duration::milliseconds(1);
            }
            let now = self.clock.now();
            let mut scored = attempt.clone();
            scored.score = Some(Score {
                timestamp: stamp,
                ..score.clone()
            });
            scored.last_activity_at = now;
            let delivery = Delivery {
                id: DeliveryId::generate(now),
                attempt: attempt.key.clone(),
                score: Score {
                    timestamp: stamp,
                    ..to_send.clone()
                },
                target: target.clone(),
                status: DeliveryStatus::Pending,
                tries: 0,
                next_try_at: now,
                last_error: None,
                created_at: now,
                delivered_at: None,
                history: Vec::new(),
            };
            match self.outbox.submit_score(&scored, &delivery).await {
                Ok(()) => {
                    if let Err(error) = self.deliver_channel(&channel).await {
                        // Recorded and due: the retry path will send it.
                        tracing::warn!(%error, delivery = %delivery.id, "immediate delivery failed");
                    }
                    return Ok(self
                        .outbox
                        .delivery(&delivery.id)
                        .await?
                        .unwrap_or(delivery));
                }
                Err(StoreError::AlreadyExists(_)) => {
                    stamp += time::Duration::milliseconds(1);
                }
                Err(StoreError::NotFound(_)) => return Err(SubmitError::NoAttempt),
                Err(error) => return Err(error.into()),
            }
        }
        Err(SubmitError::Store(StoreError::AlreadyExists(
            "a concurrent score".to_owned(),
        )))
    }

    /// Delivers one delivery's channel (from a queue message or the retry loop). A delivery
    /// that is no longer pending is left alone, so a repeated message is harmless.
    pub async fn deliver(&self, id: &DeliveryId) -> Result<ChannelRun, StoreError> {
        let Some(delivery) = self.outbox.delivery(id).await? else {
            tracing::warn!(delivery = %id, "a queued delivery does not exist; dropping it");
            return Ok(ChannelRun::Processed);
        };
        if delivery.status != DeliveryStatus::Pending {
            return Ok(ChannelRun::Processed);
        }
        let now = self.clock.now();
        if delivery.next_try_at > now {
            // Woken early: SQS delays top out at 15 minutes, and a message can arrive a
            // moment before the delivery is due. Wait the rest; the channel run would skip a
            // delivery that is not due yet, and nothing else would wake it.
            let rest = (delivery.next_try_at - now).unsigned_abs();
            self.schedule(id, rest).await;
            return Ok(ChannelRun::Processed);
        }
        let run = self.deliver_channel(&delivery.channel()).await?;
        if run == ChannelRun::Busy {
            self.schedule(id, self.policy.busy_retry).await;
        }
        Ok(run)
    }

    async fn schedule(&self, id: &DeliveryId, delay: Duration) {
        if let Err(error) = self.queue.schedule(id, delay).await {
            // Still pending and due in the store: a sweep or replay will find it.
            tracing::error!(%error, delivery = %id, "could not queue a retry");
        }
    }

    /// Sends the channel's due deliveries in order, under its lease.
    pub async fn deliver_channel(&self, channel: &str) -> Result<ChannelRun, StoreError> {
        let now = self.clock.now();
        let until = now + to_time(self.policy.lease);
        // Each run is its own owner: the score API and the retry loop of one process share
        // this deliverer, and must not both hold a channel.
        let owner = uuid::Uuid::new_v4().to_string();
        if !self
            .outbox
            .lease_channel(channel, &owner, until, now)
            .await?
        {
            return Ok(ChannelRun::Busy);
        }
        let result = self.run_channel(channel).await;
        if let Err(error) = self.outbox.release_channel(channel, &owner).await {
            tracing::warn!(%error, "a channel lease could not be released; it will expire");
        }
        result.map(|()| ChannelRun::Processed)
    }

    async fn run_channel(&self, channel: &str) -> Result<(), StoreError> {
        for mut delivery in self.outbox.pending_in_channel(channel).await? {
            let now = self.clock.now();
            if delivery.next_try_at > now {
                // An earlier grade is waiting for its retry: later ones wait behind it.
                return Ok(());
            }
            let outcome = self.try_once(&mut delivery).await;
            let now = self.clock.now();
            let keep_going = match outcome {
                TryOutcome::Delivered(note) => {
                    delivery.status = DeliveryStatus::Delivered;
                    delivery.delivered_at = Some(now);
                    delivery.last_error = None;
                    delivery.record_try(DeliveryTry {
                        at: now,
                        outcome: "delivered".into(),
                        http_status: None,
                        error: note,
                    });
                    self.outbox.update_delivery(&delivery).await?;
                    true
                }
                TryOutcome::Failed(error, status) => {
                    delivery.status = DeliveryStatus::Failed;
                    delivery.record_try(DeliveryTry {
                        at: now,
                        outcome: "failed".into(),
                        http_status: status,
                        error: Some(error.clone()),
                    });
                    delivery.last_error = Some(error);
                    self.outbox.update_delivery(&delivery).await?;
                    tracing::warn!(delivery = %delivery.id, ?status, "grade refused by the platform");
                    true
                }
                TryOutcome::Retry(error, status, retry_after) => {
                    delivery.record_try(DeliveryTry {
                        at: now,
                        outcome: "retry".into(),
                        http_status: status,
                        error: Some(error.clone()),
                    });
                    delivery.last_error = Some(error);
                    if delivery.tries >= self.policy.max_tries {
                        delivery.status = DeliveryStatus::Dead;
                        self.outbox.update_delivery(&delivery).await?;
                        tracing::error!(delivery = %delivery.id, tries = delivery.tries, "grade delivery is dead; replay it with ltictl outcomes replay");
                        if let Err(error) = self.queue.dead_letter(&delivery.id).await {
                            tracing::error!(%error, delivery = %delivery.id, "could not dead-letter");
                        }
                        true
                    } else {
                        let delay = self.policy.backoff(delivery.tries, retry_after);
                        delivery.next_try_at = now + to_time(delay);
                        self.outbox.update_delivery(&delivery).await?;
                        tracing::info!(delivery = %delivery.id, tries = delivery.tries, delay_ms = delay.as_millis() as u64, "grade delivery will be retried");
                        self.schedule(&delivery.id, delay).await;
                        false
                    }
                }
            };
            if !keep_going {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Sends one delivery once.
    async fn try_once(&self, delivery: &mut Delivery) -> TryOutcome {
        match delivery.target.clone() {
            DeliveryTarget::Ags {
                lineitem,
                lineitems,
                scopes,
                label,
            } => {
                let result = self
                    .send_ags(delivery, lineitem, lineitems, &scopes, label)
                    .await;
                match result {
                    Ok(()) => TryOutcome::Delivered(None),
                    // A retry of a score whose earlier answer was lost (timeout, dropped
                    // connection): the platform refuses the same timestamp again because it
                    // already applied it (AGS 2.0 §3.4.8). Sending it was the goal.
                    Err(ServiceError {
                        status: Some(409), ..
                    }) if delivery.tries > 0 => TryOutcome::Delivered(Some(
                        "the platform already had this score (409 on a retry)".into(),
                    )),
                    Err(e) if e.retryable => TryOutcome::Retry(e.message, e.status, e.retry_after),
                    Err(e) => TryOutcome::Failed(e.message, e.status),
                }
            }
            DeliveryTarget::BasicOutcome(outcome) => {
                let PlatformScope::Lti11 { consumer_key } = &delivery.attempt.scope else {
                    return TryOutcome::Failed(
                        "a Basic Outcomes target on an LTI 1.3 attempt".into(),
                        None,
                    );
                };
                let secret = match self.keys.consumer_secret(consumer_key).await {
                    Ok(Some(secret)) => secret,
                    Ok(None) => {
                        return TryOutcome::Failed(
                            format!(
                                "the LTI 1.1 consumer {consumer_key} has no secret any more; \
                                 add it again with ltictl consumer add, then replay"
                            ),
                            None,
                        );
                    }
                    Err(e) => return TryOutcome::Retry(e.to_string(), None, None),
                };
                match self
                    .services
                    .replace_result(&outcome, consumer_key, secret, delivery.score.fraction())
                    .await
                {
                    Ok(()) => TryOutcome::Delivered(None),
                    Err(e) if e.retryable => TryOutcome::Retry(e.message, e.status, None),
                    Err(e) => TryOutcome::Failed(e.message, e.status),
                }
            }
        }
    }

    async fn send_ags(
        &self,
        delivery: &mut Delivery,
        lineitem: Option<LineItemUrl>,
        lineitems: Option<String>,
        scopes: &[String],
        label: Option<String>,
    ) -> Result<(), ServiceError> {
        let PlatformScope::Lti13 {
            issuer, client_id, ..
        } = &delivery.attempt.scope
        else {
            return Err(AgsError::NoLineItem.into());
        };
        let store_error = |e: StoreError| {
            ServiceError::from(AgsError::Transport {
                what: "the tool's own data",
                detail: e.to_string(),
            })
        };
        let registration = self
            .registry
            .platform(issuer, client_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ServiceError::from(AgsError::Malformed {
                    what: "the registration",
                    detail: "the platform is no longer registered; register it again and replay"
                        .into(),
                })
            })?;
        let keys = self.keys.signing_keys().await.map_err(store_error)?;
        let lineitem = match lineitem {
            Some(lineitem) => lineitem,
            None => {
                let container = lineitems.ok_or(ServiceError::from(AgsError::NoLineItem))?;
                let label = label.unwrap_or_else(|| "Activity".to_owned());
                let found = self
                    .services
                    .find_or_create_lineitem(
                        &registration,
                        &keys,
                        scopes,
                        &container,
                        &delivery.attempt.resource_link_id,
                        &label,
                        delivery.score.maximum,
                    )
                    .await?;
                self.remember_lineitem(delivery, &found).await;
                found
            }
        };
        self.services
            .post_score(
                &registration,
                &keys,
                scopes,
                &lineitem,
                &delivery.attempt.user_id,
                &delivery.score,
            )
            .await
    }

    /// Keeps a found or created line item on the delivery and the resource link, so it is
    /// not searched for (or created twice) again.
    async fn remember_lineitem(&self, delivery: &mut Delivery, found: &LineItemUrl) {
        if let DeliveryTarget::Ags { lineitem, .. } = &mut delivery.target {
            *lineitem = Some(found.clone());
        }
        let key = &delivery.attempt;
        let link = self
            .records
            .resource_link(&key.scope, &key.resource_link_id)
            .await;
        if let Ok(Some(mut link)) = link
            && let Some(ags) = link.ags.as_mut()
            && ags.lineitem.is_none()
        {
            ags.lineitem = Some(found.clone());
            if let Err(error) = self.records.put_resource_link(&link).await {
                tracing::warn!(%error, "the found line item could not be kept on the link");
            }
        }
    }

    /// Sends every pending delivery that is due (the local retry loop; also a safety sweep).
    /// Returns how many channels were processed.
    pub async fn sweep(&self, limit: usize) -> Result<usize, StoreError> {
        let due = self.outbox.due_deliveries(self.clock.now(), limit).await?;
        let mut channels: Vec<String> = due.iter().map(Delivery::channel).collect();
        channels.sort();
        channels.dedup();
        let mut processed = 0;
        for channel in &channels {
            if self.deliver_channel(channel).await? == ChannelRun::Processed {
                processed += 1;
            }
        }
        Ok(processed)
    }

    /// Makes a failed or dead delivery pending again and delivers it (operators' replay).
    /// Returns the delivery as it then stands; `None` if there is no such delivery.
    pub async fn replay(&self, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let Some(mut delivery) = self.outbox.delivery(id).await? else {
            return Ok(None);
        };
        if matches!(
            delivery.status,
            DeliveryStatus::Failed | DeliveryStatus::Dead
        ) {
            let now = self.clock.now();
            delivery.status = DeliveryStatus::Pending;
            delivery.next_try_at = now;
            delivery.tries = 0;
            delivery.history.push(DeliveryTry {
                at: now,
                outcome: "replayed".into(),
                http_status: None,
                error: None,
            });
            self.outbox.update_delivery(&delivery).await?;
            if let Err(error) = self.queue.forget_dead(std::slice::from_ref(id)).await {
                tracing::warn!(%error, "the dead-letter message could not be removed");
            }
            if self.deliver_channel(&delivery.channel()).await? == ChannelRun::Busy {
                self.schedule(id, self.policy.busy_retry).await;
            }
        }
        self.outbox.delivery(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = DeliveryPolicy::default();
        for tries in 1..=12 {
            let d = policy.backoff(tries, None);
            let full = Duration::from_secs(2)
                .saturating_mul(1 << (tries - 1))
                .min(policy.max_backoff);
            assert!(d >= full / 2 && d <= full, "try {tries}: {d:?}");
        }
    }

    #[test]
    fn backoff_honours_retry_after() {
        let policy = DeliveryPolicy::default();
        assert!(policy.backoff(1, Some(Duration::from_secs(90))) >= Duration::from_secs(90));
    }

    #[test]
    fn random_fraction_is_in_range() {
        for _ in 0..100 {
            let f = random_fraction();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
