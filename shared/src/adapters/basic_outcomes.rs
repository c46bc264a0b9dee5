//! The LTI 1.1 Basic Outcomes client (LTI 1.1 Implementation Guide §6): signs a POX request
//! built by [`crate::lti11::pox`], posts it to the launch's `lis_outcome_service_url` and reads
//! the answer back through the same codec.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::adapters::http_client::{OutboundClient, OutboundError, OutboundPolicy, read_capped};
use crate::domain::clock::Clock;
use crate::lti11::oauth1;
use crate::lti11::pox::{
    MAX_RESPONSE_BYTES, OutcomeError, OutcomeRequest, OutcomeTarget, ParsedResponse,
    REQUEST_TIMEOUT, Score, USER_AGENT, parse_response, request_body,
};

/// Sends Basic Outcomes requests for the tool.
///
/// It signs each request with a fresh nonce and the injected clock's time, does not follow
/// redirects (the signature covers the URL, and a 307 would replay the signed body elsewhere),
/// gives each request [`REQUEST_TIMEOUT`] and sends [`USER_AGENT`]. Requests go through an
/// [`OutboundClient`] under its [`OutboundPolicy`]: a `lis_outcome_service_url` the policy
/// refuses is [`OutcomeError::InvalidServiceUrl`] when the URL alone is refused, and
/// [`OutcomeError::Transport`] when the address its host resolves to is (DNS answers change,
/// so that one is retried).
pub struct OutcomesClient {
    http: OutboundClient,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for OutcomesClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutcomesClient").finish_non_exhaustive()
    }
}

impl OutcomesClient {
    /// A client whose `oauth_timestamp` comes from `clock`.
    ///
    /// Does not fail today: the HTTP client is built on first use, and a TLS stack that cannot
    /// be initialised is then reported as [`OutcomeError::Transport`] by that request. The
    /// `Result` stays so callers keep handling set-up failures.
    pub fn new(clock: Arc<dyn Clock>) -> Result<Self, OutcomeError> {
        Self::with_timeout(clock, REQUEST_TIMEOUT)
    }

    /// A client whose requests time out after `timeout`, under
    /// [`OutboundPolicy::process_default`].
    pub fn with_timeout(clock: Arc<dyn Clock>, timeout: Duration) -> Result<Self, OutcomeError> {
        Self::with_policy(clock, timeout, OutboundPolicy::process_default())
    }

    /// A client whose requests time out after `timeout`, under `outbound`.
    pub fn with_policy(
        clock: Arc<dyn Clock>,
        timeout: Duration,
        outbound: OutboundPolicy,
    ) -> Result<Self, OutcomeError> {
        // Built on the first service call, not at cold start (see `crate::adapters::http_client`).
        let http = OutboundClient::new(outbound, timeout, USER_AGENT);
        Ok(Self { http, clock })
    }

    /// Sets the result's score (`replaceResult`). `score` must be from 0.0 to 1.0; anything
    /// else is refused with [`OutcomeError::InvalidScore`] before a request is made.
    pub async fn replace_result(
        &self,
        target: &OutcomeTarget,
        score: f64,
    ) -> Result<(), OutcomeError> {
        let score = Score::new(score)?;
        self.send(target, &OutcomeRequest::ReplaceResult(score))
            .await
            .map(|_| ())
    }

    /// Reads the result's score (`readResult`): `None` when the platform holds none.
    pub async fn read_result(&self, target: &OutcomeTarget) -> Result<Option<f64>, OutcomeError> {
        let response = self.send(target, &OutcomeRequest::ReadResult).await?;
        Ok(response.score.map(Score::value))
    }

    /// Deletes the result's score (`deleteResult`).
    pub async fn delete_result(&self, target: &OutcomeTarget) -> Result<(), OutcomeError> {
        self.send(target, &OutcomeRequest::DeleteResult)
            .await
            .map(|_| ())
    }

    /// Sends `request` for `target` and reads the answer; `Ok` only for a `success` or
    /// `processing` answer that refers to this request.
    pub async fn send(
        &self,
        target: &OutcomeTarget,
        request: &OutcomeRequest,
    ) -> Result<ParsedResponse, OutcomeError> {
        if !matches!(target.service_url.scheme(), "http" | "https") {
            return Err(OutcomeError::InvalidServiceUrl(
                "is not an http or https URL",
            ));
        }
        let request_builder = self
            .http
            .post(target.service_url.clone())
            .map_err(|error| self.outbound_error(error))?;
        let message_id = fresh_token();
        let body = request_body(request, &target.sourcedid, &message_id)?;
        let authorization = oauth1::sign_body_request(
            &target.service_url,
            target.consumer_key.as_str(),
            &target.secret,
            &body,
            self.clock.now().unix_timestamp(),
            &oauth1::fresh_nonce(),
        );
        let call = request_builder
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .header(reqwest::header::AUTHORIZATION, authorization)
            .body(body);
        let response = self
            .http
            .send(call)
            .await
            .map_err(|error| self.outbound_error(error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(OutcomeError::Http(status.as_u16()));
        }
        let answer = read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|error| self.outbound_error(error))?;
        parse_response(&answer, &message_id, request.operation())
    }

    /// An [`OutboundError`] as this client's [`OutcomeError`].
    fn outbound_error(&self, error: OutboundError) -> OutcomeError {
        match error {
            OutboundError::Refused(refusal) if !refusal.depends_on_dns() => {
                tracing::warn!(%refusal, "lis_outcome_service_url refused by the outbound policy");
                OutcomeError::InvalidServiceUrl(refusal.rule())
            }
            refused @ OutboundError::Refused(_) => {
                OutcomeError::Transport(format!("its lis_outcome_service_url {refused}"))
            }
            OutboundError::TooLarge { .. } => OutcomeError::ResponseTooLarge,
            OutboundError::Timeout => OutcomeError::Transport(format!(
                "no answer within {} s",
                self.http.timeout().as_secs_f32()
            )),
            OutboundError::Setup(_) | OutboundError::Connect(_) | OutboundError::Transport(_) => {
                OutcomeError::Transport(error.to_string())
            }
        }
    }
}

/// A new `imsx_messageIdentifier`: 122 random bits (a v4 UUID) as 32 hex digits.
fn fresh_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ConsumerKey;
    use crate::domain::secret::ConsumerSecret;
    use url::Url;

    #[tokio::test]
    async fn replace_result_invalid_score_is_refused_before_sending() {
        let client = OutcomesClient::new(Arc::new(crate::domain::clock::SystemClock)).unwrap();
        // Port 9 (discard) on loopback: any attempt to send would be a Transport
        // error, so InvalidScore shows no request was tried.
        let target = OutcomeTarget {
            service_url: Url::parse("http://127.0.0.1:9/outcomes").unwrap(),
            sourcedid: "s".into(),
            consumer_key: ConsumerKey::parse("key").unwrap(),
            secret: ConsumerSecret::new("secret"),
        };
        for bad in [-0.01, 1.01, f64::NAN] {
            let result = client.replace_result(&target, bad).await;
            assert!(
                matches!(result, Err(OutcomeError::InvalidScore(_))),
                "{bad}: {result:?}"
            );
        }
    }

    #[test]
    fn fresh_token_repeated_is_unique() {
        let a = fresh_token();
        let b = fresh_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }
}
