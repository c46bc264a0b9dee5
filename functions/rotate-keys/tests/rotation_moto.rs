//! The four rotation steps against a Secrets-Manager-compatible server on loopback (moto,
//! started by `infra/test.sh`, which exports `AWS_ENDPOINT_URL`), run in order as Secrets
//! Manager runs them. moto's `RotateSecret` cannot invoke a Rust Lambda (and without one it
//! simply relabels a copy as current), so the tests start a rotation with a fresh token and
//! let `createSecret` create the `AWSPENDING` version that Secrets Manager would have staged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use lti_shared::adapters::keystore::secrets_manager::{SecretsManagerKeyStore, create_secret};
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::keys::{KeySet, KeyStatus};
use lti_shared::domain::platform_key::PlatformKey;
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::ports::KeyStore;
use rotate_keys::{CURRENT, PENDING, RotateError, RotateKeys, RotationEvent, Step};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

async fn client() -> Client {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs a local Secrets Manager endpoint: run ./infra/test.sh, or start moto and export \
         AWS_ENDPOINT_URL"
    );
    Client::new(&lti_shared::compose::config::aws_sdk_config().await)
}

fn store(client: &Client, name: &str) -> SecretsManagerKeyStore {
    SecretsManagerKeyStore::new(client.clone(), name, Duration::ZERO)
}

/// A secret with a current and a next key and one LTI 1.1 consumer.
async fn initialised_secret(client: &Client) -> (String, KeySet) {
    let name = format!("rotate-{}", uuid::Uuid::new_v4());
    create_secret(client, &name).await.unwrap();
    let mut keys = KeySet::default();
    keys.init(NOW).unwrap();
    let store = store(client, &name);
    store.save_signing_keys(&keys).await.unwrap();
    store
        .put_consumer_secret(
            &ConsumerKey::parse("moodle").unwrap(),
            &ConsumerSecret::new("a-long-consumer-secret-0123"),
        )
        .await
        .unwrap();
    (name, keys)
}

/// A rotation's token (Secrets Manager's `ClientRequestToken`, the new version's id).
fn start_rotation() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn event(name: &str, token: &str, step: Step) -> RotationEvent {
    RotationEvent {
        secret_id: name.to_owned(),
        token: token.to_owned(),
        step,
    }
}

async fn stages_of(client: &Client, name: &str, version: &str) -> Vec<String> {
    let described = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    described
        .version_ids_to_stages()
        .and_then(|m| m.get(version).cloned())
        .unwrap_or_default()
}

async fn version_string(client: &Client, name: &str, version: &str) -> String {
    client
        .get_secret_value()
        .secret_id(name)
        .version_id(version)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_owned()
}

fn verifies(
    published: &lti_shared::domain::keys::PublicJwkSet,
    kid: &str,
    signature: &[u8],
) -> bool {
    published
        .keys
        .iter()
        .filter(|k| k.kid.as_str() == kid)
        .filter_map(|k| PlatformKey::from_components(k.kid.as_str(), &k.n, &k.e))
        .any(|k| k.verify_rs256(b"a grade, signed just before the rotation", signature))
}

#[tokio::test]
async fn rotation_steps_promote_next_retire_current_and_keep_consumers() {
    let client = client().await;
    let (name, before) = initialised_secret(&client).await;
    let old_current = before.current().unwrap().clone();
    let old_next = before
        .keys
        .iter()
        .find(|k| k.status == KeyStatus::Next)
        .unwrap()
        .clone();
    let signed_before = old_current
        .sign_rs256(b"a grade, signed just before the rotation")
        .unwrap();
    let old_version = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();

    let rotate = RotateKeys::new(client.clone(), Arc::new(FixedClock::new(NOW)));
    let token = start_rotation();

    rotate
        .handle(&event(&name, &token, Step::Create))
        .await
        .unwrap();
    assert!(
        stages_of(&client, &name, &token)
            .await
            .contains(&PENDING.to_owned())
    );
    assert!(
        stages_of(&client, &name, &old_version)
            .await
            .contains(&CURRENT.to_owned())
    );
    let pending = version_string(&client, &name, &token).await;
    // A retried createSecret leaves the pending version as it is.
    rotate
        .handle(&event(&name, &token, Step::Create))
        .await
        .unwrap();
    assert_eq!(version_string(&client, &name, &token).await, pending);

    rotate
        .handle(&event(&name, &token, Step::Set))
        .await
        .unwrap();
    rotate
        .handle(&event(&name, &token, Step::Test))
        .await
        .unwrap();
    // Readers still see the old keys until finishSecret.
    assert_eq!(
        store(&client, &name)
            .signing_keys()
            .await
            .unwrap()
            .current()
            .unwrap()
            .kid,
        old_current.kid
    );
    rotate
        .handle(&event(&name, &token, Step::Finish))
        .await
        .unwrap();

    assert!(
        stages_of(&client, &name, &token)
            .await
            .contains(&CURRENT.to_owned())
    );
    assert!(
        !stages_of(&client, &name, &old_version)
            .await
            .contains(&CURRENT.to_owned())
    );
    // A retried finishSecret (the version is already current) changes nothing.
    rotate
        .handle(&event(&name, &token, Step::Finish))
        .await
        .unwrap();

    let after_store = store(&client, &name);
    let after = after_store.signing_keys().await.unwrap();
    assert_eq!(
        after.current().unwrap().kid,
        old_next.kid,
        "next was promoted"
    );
    let published = after.public_jwks(NOW);
    let kids: Vec<&str> = published.keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids.len(), 3, "current, next and the retired key: {kids:?}");
    assert!(kids.contains(&old_current.kid.as_str()));
    assert!(
        verifies(&published, old_current.kid.as_str(), &signed_before),
        "a token signed by the old current key still verifies against the new JWKS"
    );
    // The new current key was already in the set platforms cached before the rotation.
    assert!(
        before
            .public_jwks(NOW)
            .keys
            .iter()
            .any(|k| k.kid == after.current().unwrap().kid)
    );
    // LTI 1.1 consumer secrets are carried over unchanged.
    assert_eq!(
        after_store
            .consumer_secret(&ConsumerKey::parse("moodle").unwrap())
            .await
            .unwrap(),
        Some(ConsumerSecret::new("a-long-consumer-secret-0123"))
    );
}

#[tokio::test]
async fn rotation_steps_empty_secret_gets_first_keys() {
    let client = client().await;
    let name = format!("rotate-{}", uuid::Uuid::new_v4());
    create_secret(&client, &name).await.unwrap();
    let rotate = RotateKeys::new(client.clone(), Arc::new(FixedClock::new(NOW)));
    let token = start_rotation();
    for step in [Step::Create, Step::Set, Step::Test, Step::Finish] {
        rotate.handle(&event(&name, &token, step)).await.unwrap();
    }
    let keys = store(&client, &name).signing_keys().await.unwrap();
    assert!(keys.current().is_ok());
    assert_eq!(keys.public_jwks(NOW).keys.len(), 2);
}

#[tokio::test]
async fn rotation_test_step_refuses_document_changed_meanwhile() {
    let client = client().await;
    let (name, _) = initialised_secret(&client).await;
    let rotate = RotateKeys::new(client.clone(), Arc::new(FixedClock::new(NOW)));
    let token = start_rotation();
    rotate
        .handle(&event(&name, &token, Step::Create))
        .await
        .unwrap();
    // An operator adds a consumer between createSecret and testSecret (ltictl writes
    // AWSCURRENT directly): making the pending version current would lose it.
    store(&client, &name)
        .put_consumer_secret(
            &ConsumerKey::parse("sakai").unwrap(),
            &ConsumerSecret::new("another-long-consumer-secret"),
        )
        .await
        .unwrap();
    let result = rotate.handle(&event(&name, &token, Step::Test)).await;
    assert!(
        matches!(
            result,
            Err(RotateError::Rotation(
                lti_shared::adapters::keystore::rotation::RotationError::ConsumerSecretsChanged
            ))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn rotation_step_unknown_version_is_refused() {
    let client = client().await;
    let (name, _) = initialised_secret(&client).await;
    let rotate = RotateKeys::new(client.clone(), Arc::new(FixedClock::new(NOW)));
    let token = start_rotation();
    for step in [Step::Set, Step::Test, Step::Finish] {
        let result = rotate.handle(&event(&name, &token, step)).await;
        assert!(
            matches!(result, Err(RotateError::UnknownVersion { .. })),
            "{step:?}: {result:?}"
        );
    }
}
