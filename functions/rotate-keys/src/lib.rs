//! The `rotate-keys` function: Secrets Manager rotation of the tool's key document.
//!
//! Secrets Manager starts a rotation (on the schedule in `template.yaml`, or on
//! `aws secretsmanager rotate-secret`) by giving a new version id (`ClientRequestToken`) the
//! `AWSPENDING` stage, then invokes this function once per step, in order:
//!
//! 1. `createSecret`: the `AWSCURRENT` document with its signing keys rotated
//!    ([`lti_shared::adapters::keystore::rotation::rotated_document`]: next → current, current →
//!    retired, a new next key, keys retired past the publish window dropped; LTI 1.1 consumer
//!    secrets unchanged) is put as that version, staged `AWSPENDING`. A retry of the step finds
//!    the version already written and leaves it alone.
//! 2. `setSecret`: nothing to do. The keys are only used by this tool; there is no database
//!    or external service whose credentials would have to change.
//! 3. `testSecret`: the pending document must pass
//!    [`lti_shared::adapters::keystore::rotation::check_rotated_document`] against `AWSCURRENT`: one
//!    current key that signs and verifies through the published set, was already published,
//!    the previous current key published as retired, consumer secrets unchanged.
//! 4. `finishSecret`: `AWSCURRENT` moves to the version (the previous one becomes
//!    `AWSPREVIOUS`, as Secrets Manager does by itself).
//!
//! Functions read `AWSCURRENT` through a cache of a few minutes; until their cache expires they
//! sign with the key that was current, which the new document still publishes as retired.
//!
//! Each step first checks, as the AWS rotation templates do, that the version exists and is
//! staged `AWSPENDING`, and does nothing when it is already `AWSCURRENT` (a finished rotation
//! retried). Any failure is returned as an error, which fails the rotation and leaves
//! `AWSCURRENT` untouched.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use lti_shared::adapters::keystore::rotation::{self, RotationError};
use lti_shared::domain::clock::Clock;
use serde::Deserialize;

/// The stage of the version every reader uses.
pub const CURRENT: &str = "AWSCURRENT";
/// The stage of the version being rotated in.
pub const PENDING: &str = "AWSPENDING";

/// One invocation by Secrets Manager (the rotation function's event).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RotationEvent {
    /// The secret's ARN.
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    /// The id of the version being rotated in.
    #[serde(rename = "ClientRequestToken")]
    pub token: String,
    /// The step to run.
    #[serde(rename = "Step")]
    pub step: Step,
}

/// The four rotation steps, in the order Secrets Manager runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Step {
    /// Write the pending version.
    #[serde(rename = "createSecret")]
    Create,
    /// Configure the service that uses the secret (nothing to do here).
    #[serde(rename = "setSecret")]
    Set,
    /// Check the pending version.
    #[serde(rename = "testSecret")]
    Test,
    /// Make the pending version current.
    #[serde(rename = "finishSecret")]
    Finish,
}

/// Why a rotation step failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// A Secrets Manager call failed.
    #[error("Secrets Manager {operation} on {secret_id} failed: {detail}")]
    SecretsManager {
        /// The API operation.
        operation: &'static str,
        /// The secret.
        secret_id: String,
        /// The SDK's error with its context.
        detail: String,
    },
    /// The version to rotate in does not exist.
    #[error("secret {secret_id} has no version {token}")]
    UnknownVersion {
        /// The secret.
        secret_id: String,
        /// The version id.
        token: String,
    },
    /// The version exists but is not staged for rotation.
    #[error("version {token} of secret {secret_id} is not staged AWSPENDING")]
    NotPending {
        /// The secret.
        secret_id: String,
        /// The version id.
        token: String,
    },
    /// A version holds no string (the key document is always a string).
    #[error("version {stage} of secret {secret_id} holds no key document")]
    Empty {
        /// The secret.
        secret_id: String,
        /// The version stage or id read.
        stage: String,
    },
    /// The key document could not be rotated, or the pending one failed its test.
    #[error(transparent)]
    Rotation(#[from] RotationError),
}

fn sdk_error<E, R>(operation: &'static str, secret_id: &str, error: SdkError<E, R>) -> RotateError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    RotateError::SecretsManager {
        operation,
        secret_id: secret_id.to_owned(),
        detail: DisplayErrorContext(&error).to_string(),
    }
}

/// The rotation handler: a Secrets Manager client and a clock.
pub struct RotateKeys {
    client: Client,
    clock: Arc<dyn Clock>,
}

impl RotateKeys {
    /// A handler using `client` (its policy must allow `GetSecretValue`, `DescribeSecret`,
    /// `PutSecretValue` and `UpdateSecretVersionStage` on the secret).
    pub fn new(client: Client, clock: Arc<dyn Clock>) -> Self {
        Self { client, clock }
    }

    /// Runs one rotation step.
    pub async fn handle(&self, event: &RotationEvent) -> Result<(), RotateError> {
        let stages = self.stages(&event.secret_id).await?;
        let token_stages = match stages.get(&event.token) {
            Some(token_stages) => token_stages.as_slice(),
            // Secrets Manager stages the version AWSPENDING before `createSecret`, so it is
            // always there; a caller that starts a rotation by calling `createSecret` itself
            // (as the tests do against moto) gets the version created.
            None if event.step == Step::Create => &[PENDING.to_owned()][..],
            None => {
                return Err(RotateError::UnknownVersion {
                    secret_id: event.secret_id.clone(),
                    token: event.token.clone(),
                });
            }
        };
        if token_stages.iter().any(|s| s == CURRENT) {
            tracing::info!(step = ?event.step, token = %event.token, "version is already current");
            return Ok(());
        }
        if !token_stages.iter().any(|s| s == PENDING) {
            return Err(RotateError::NotPending {
                secret_id: event.secret_id.clone(),
                token: event.token.clone(),
            });
        }
        match event.step {
            Step::Create => self.create(event, stages.contains_key(&event.token)).await,
            Step::Set => Ok(()),
            Step::Test => self.test(event).await,
            Step::Finish => self.finish(event, &stages).await,
        }?;
        tracing::info!(step = ?event.step, token = %event.token, "rotation step done");
        Ok(())
    }

    async fn create(&self, event: &RotationEvent, version_exists: bool) -> Result<(), RotateError> {
        if version_exists && self.pending_exists(event).await? {
            return Ok(());
        }
        let current = self.read(&event.secret_id, None, CURRENT).await?;
        let pending = rotation::rotated_document(&current, self.clock.now())?;
        self.client
            .put_secret_value()
            .secret_id(&event.secret_id)
            .client_request_token(&event.token)
            .secret_string(pending)
            .version_stages(PENDING)
            .send()
            .await
            .map_err(|e| sdk_error("PutSecretValue", &event.secret_id, e))?;
        Ok(())
    }

    /// Whether a previous try of `createSecret` already wrote the pending version.
    async fn pending_exists(&self, event: &RotationEvent) -> Result<bool, RotateError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(&event.secret_id)
            .version_id(&event.token)
            .version_stage(PENDING)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.secret_string().is_some_and(|s| !s.is_empty())),
            Err(error) if error.code() == Some("ResourceNotFoundException") => Ok(false),
            Err(error) => Err(sdk_error("GetSecretValue", &event.secret_id, error)),
        }
    }

    async fn test(&self, event: &RotationEvent) -> Result<(), RotateError> {
        let current = self.read(&event.secret_id, None, CURRENT).await?;
        let pending = self
            .read(&event.secret_id, Some(&event.token), PENDING)
            .await?;
        rotation::check_rotated_document(&current, &pending, self.clock.now())?;
        Ok(())
    }

    async fn finish(
        &self,
        event: &RotationEvent,
        stages: &HashMap<String, Vec<String>>,
    ) -> Result<(), RotateError> {
        let mut request = self
            .client
            .update_secret_version_stage()
            .secret_id(&event.secret_id)
            .version_stage(CURRENT)
            .move_to_version_id(&event.token);
        if let Some((previous, _)) = stages.iter().find(|(_, s)| s.iter().any(|s| s == CURRENT)) {
            request = request.remove_from_version_id(previous);
        }
        request
            .send()
            .await
            .map_err(|e| sdk_error("UpdateSecretVersionStage", &event.secret_id, e))?;
        Ok(())
    }

    /// Version id → stages, for every version that has a stage.
    async fn stages(&self, secret_id: &str) -> Result<HashMap<String, Vec<String>>, RotateError> {
        let output = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSecret", secret_id, e))?;
        Ok(output.version_ids_to_stages().cloned().unwrap_or_default())
    }

    async fn read(
        &self,
        secret_id: &str,
        version_id: Option<&str>,
        stage: &str,
    ) -> Result<String, RotateError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version_id.map(str::to_owned))
            .version_stage(stage)
            .send()
            .await
            .map_err(|e| sdk_error("GetSecretValue", secret_id, e))?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| RotateError::Empty {
                secret_id: secret_id.to_owned(),
                stage: stage.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_event_parses_secrets_manager_payload() {
        let event: RotationEvent = serde_json::from_str(
            r#"{"Step":"createSecret","SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:lti-AbCdEf","ClientRequestToken":"0f3c6d0e-0000-4000-8000-000000000000","RotationToken":"ignored"}"#,
        )
        .unwrap();
        assert_eq!(event.step, Step::Create);
        assert_eq!(event.token, "0f3c6d0e-0000-4000-8000-000000000000");
        for (text, step) in [
            ("setSecret", Step::Set),
            ("testSecret", Step::Test),
            ("finishSecret", Step::Finish),
        ] {
            let json = format!(r#"{{"Step":"{text}","SecretId":"s","ClientRequestToken":"t"}}"#);
            assert_eq!(
                serde_json::from_str::<RotationEvent>(&json).unwrap().step,
                step
            );
        }
    }

    #[test]
    fn rotation_event_unknown_step_is_refused() {
        let json = r#"{"Step":"dropSecret","SecretId":"s","ClientRequestToken":"t"}"#;
        assert!(serde_json::from_str::<RotationEvent>(json).is_err());
    }
}
