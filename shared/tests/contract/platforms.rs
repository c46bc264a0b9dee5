//! `PlatformRegistry`: LTI 1.3 registrations keyed by issuer + client id.

use std::collections::{BTreeMap, BTreeSet};

use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer};
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use time::macros::datetime;
use url::Url;

use crate::support::StoreFixture;

store_contracts!(
    add_platform_new_round_trips_every_field,
    add_platform_minimal_round_trips_absent_fields,
    add_platform_duplicate_fails_already_exists_and_keeps_original,
    platform_unknown_is_none,
    update_platform_missing_fails_not_found,
    update_platform_existing_replaces_every_field,
    platforms_of_issuer_two_clients_returns_only_that_issuer_by_client_id,
    platforms_of_issuer_unknown_is_empty,
    platforms_of_issuer_prefix_issuer_excludes_longer_issuers,
    platforms_empty_store_is_empty,
    platforms_several_issuers_ordered_by_issuer_then_client_id,
    platforms_with_other_records_returns_only_registrations,
    remove_platform_existing_then_platform_is_none,
    remove_platform_missing_fails_not_found,
    remove_platform_one_client_keeps_other_clients,
    platform_identifiers_with_separators_do_not_collide,
    platform_written_by_one_instance_is_read_by_another,
);

pub(crate) fn issuer(value: &str) -> Issuer {
    Issuer::parse(value).unwrap()
}

pub(crate) fn client(value: &str) -> ClientId {
    ClientId::parse(value).unwrap()
}

fn url(value: &str) -> Url {
    Url::parse(value).unwrap()
}

/// A registration with every field set, varied by issuer and client id.
pub(crate) fn registration(iss: &str, client_id: &str) -> Registration {
    Registration {
        issuer: issuer(iss),
        client_id: client(client_id),
        deployment_ids: ["1:deadbeef", "2:cafe#f00d", "déploiement|3"]
            .into_iter()
            .map(|d| DeploymentId::parse(d).unwrap())
            .collect(),
        auth_url: url("https://lms.example/api/lti/authorize_redirect"),
        token_url: url("https://lms.example/login/oauth2/token?x=1"),
        jwks_url: url("https://lms.example/api/lti/security/jwks"),
        name: Some(format!("Platform {iss} / {client_id}")),
        status: Status::Active,
        options: PlatformOptions {
            role_map: BTreeMap::from([
                (
                    "urn:lti:role:sakai/Maintain".to_owned(),
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor".to_owned(),
                ),
                (
                    "Teaching Assistant".to_owned(),
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant"
                        .to_owned(),
                ),
            ]),
            clock_leeway_secs: Some(45),
            allow_anonymous: true,
            token_audience: Some("https://lms.example/login/oauth2/token".to_owned()),
        },
        created_at: datetime!(2026-03-01 12:34:56.123456789 UTC),
    }
}

/// A registration with every optional field absent and every collection empty.
fn minimal_registration(iss: &str, client_id: &str) -> Registration {
    Registration {
        issuer: issuer(iss),
        client_id: client(client_id),
        deployment_ids: BTreeSet::new(),
        auth_url: url("https://min.example/auth"),
        token_url: url("https://min.example/token"),
        jwks_url: url("https://min.example/jwks"),
        name: None,
        status: Status::Disabled,
        options: PlatformOptions::default(),
        created_at: datetime!(2026-01-02 03:04:05 UTC),
    }
}

fn keys_of(registrations: &[Registration]) -> Vec<(String, String)> {
    registrations
        .iter()
        .map(|r| (r.issuer.to_string(), r.client_id.to_string()))
        .collect()
}

async fn add_platform_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let reg = registration("https://canvas.instructure.com", "10000000000001");
    store.add_platform(&reg).await.unwrap();
    let read = store.platform(&reg.issuer, &reg.client_id).await.unwrap();
    assert_eq!(read, Some(reg));
}

async fn add_platform_minimal_round_trips_absent_fields(fx: &StoreFixture) {
    let store = fx.store();
    let reg = minimal_registration("https://moodle.example", "client-min");
    store.add_platform(&reg).await.unwrap();
    let read = store
        .platform(&reg.issuer, &reg.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.name, None);
    assert_eq!(read.options, PlatformOptions::default());
    assert!(read.deployment_ids.is_empty());
    assert_eq!(read, reg);
}

async fn add_platform_duplicate_fails_already_exists_and_keeps_original(fx: &StoreFixture) {
    let store = fx.store();
    let original = registration("https://lms.example", "client-1");
    store.add_platform(&original).await.unwrap();

    let mut other = minimal_registration("https://lms.example", "client-1");
    other.name = Some("impostor".to_owned());
    assert_store_error!(store.add_platform(&other).await, AlreadyExists);

    let read = store
        .platform(&original.issuer, &original.client_id)
        .await
        .unwrap();
    assert_eq!(read, Some(original));
    assert_eq!(store.platforms().await.unwrap().len(), 1);
}

async fn platform_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    store
        .add_platform(&registration("https://lms.example", "client-1"))
        .await
        .unwrap();
    let by_client = store
        .platform(&issuer("https://lms.example"), &client("client-2"))
        .await
        .unwrap();
    assert_eq!(by_client, None);
    let by_issuer = store
        .platform(&issuer("https://other.example"), &client("client-1"))
        .await
        .unwrap();
    assert_eq!(by_issuer, None);
}

async fn update_platform_missing_fails_not_found(fx: &StoreFixture) {
    let store = fx.store();
    let reg = registration("https://lms.example", "client-1");
    assert_store_error!(store.update_platform(&reg).await, NotFound);
    // The failed update must not have created the registration.
    let read = store.platform(&reg.issuer, &reg.client_id).await.unwrap();
    assert_eq!(read, None);
    assert!(store.platforms().await.unwrap().is_empty());
}

async fn update_platform_existing_replaces_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let original = registration("https://lms.example", "client-1");
    store.add_platform(&original).await.unwrap();

    // Clear every optional field: an update that merges instead of replacing keeps them.
    let mut updated = minimal_registration("https://lms.example", "client-1");
    updated.deployment_ids = BTreeSet::from([DeploymentId::parse("only-this-one").unwrap()]);
    store.update_platform(&updated).await.unwrap();

    let read = store
        .platform(&original.issuer, &original.client_id)
        .await
        .unwrap();
    assert_eq!(read, Some(updated));
    assert_eq!(store.platforms().await.unwrap().len(), 1);
}

async fn platforms_of_issuer_two_clients_returns_only_that_issuer_by_client_id(fx: &StoreFixture) {
    let store = fx.store();
    // Added out of order, so insertion order cannot pass for client-id order.
    let b = registration("https://canvas.instructure.com", "b-client");
    let a = registration("https://canvas.instructure.com", "a-client");
    let other = registration("https://canvas.test.instructure.com", "a-client");
    for reg in [&b, &other, &a] {
        store.add_platform(reg).await.unwrap();
    }

    let found = store
        .platforms_of_issuer(&issuer("https://canvas.instructure.com"))
        .await
        .unwrap();
    assert_eq!(found, vec![a, b]);
    let found_other = store
        .platforms_of_issuer(&issuer("https://canvas.test.instructure.com"))
        .await
        .unwrap();
    assert_eq!(found_other, vec![other]);
}

async fn platforms_of_issuer_unknown_is_empty(fx: &StoreFixture) {
    let store = fx.store();
    store
        .add_platform(&registration("https://lms.example", "client-1"))
        .await
        .unwrap();
    let found = store
        .platforms_of_issuer(&issuer("https://unknown.example"))
        .await
        .unwrap();
    assert!(found.is_empty(), "{:?}", keys_of(&found));
}

async fn platforms_of_issuer_prefix_issuer_excludes_longer_issuers(fx: &StoreFixture) {
    let store = fx.store();
    // A begins_with/LIKE lookup on the issuer would wrongly include the longer ones.
    let exact = registration("https://a.example/x", "1");
    for reg in [
        registration("https://a.example/x#y", "1"),
        registration("https://a.example/xy", "1"),
        registration("https://a.example/x/", "1"),
        registration("https://a.example/x%", "1"),
        exact.clone(),
    ] {
        store.add_platform(&reg).await.unwrap();
    }
    let found = store
        .platforms_of_issuer(&issuer("https://a.example/x"))
        .await
        .unwrap();
    assert_eq!(keys_of(&found), keys_of(std::slice::from_ref(&exact)));
    assert_eq!(found, vec![exact]);
}

async fn platforms_empty_store_is_empty(fx: &StoreFixture) {
    let found = fx.store().platforms().await.unwrap();
    assert!(found.is_empty(), "{:?}", keys_of(&found));
}

async fn platforms_several_issuers_ordered_by_issuer_then_client_id(fx: &StoreFixture) {
    let store = fx.store();
    // "https://b.example" < "https://b.example!" as strings, but a key that joins issuer and
    // client id with a separator above '!' (such as '#') would sort them the other way.
    let input = [
        ("https://c.example", "1"),
        ("https://b.example!", "a"),
        ("https://b.example", "z"),
        ("https://a.example", "2"),
        ("https://b.example", "m"),
        ("https://a.example", "10"),
    ];
    for (iss, client_id) in input {
        store
            .add_platform(&registration(iss, client_id))
            .await
            .unwrap();
    }
    let expected: Vec<(String, String)> = [
        ("https://a.example", "10"),
        ("https://a.example", "2"),
        ("https://b.example", "m"),
        ("https://b.example", "z"),
        ("https://b.example!", "a"),
        ("https://c.example", "1"),
    ]
    .iter()
    .map(|(i, c)| ((*i).to_owned(), (*c).to_owned()))
    .collect();

    let found = store.platforms().await.unwrap();
    assert_eq!(keys_of(&found), expected);
    for reg in &found {
        assert_eq!(
            reg,
            &registration(reg.issuer.as_str(), reg.client_id.as_str())
        );
    }
}

async fn platforms_with_other_records_returns_only_registrations(fx: &StoreFixture) {
    let store = fx.store();
    let reg = registration("k", "k");
    store.add_platform(&reg).await.unwrap();
    store
        .add_consumer(&crate::consumers::consumer("k"))
        .await
        .unwrap();
    let user = crate::records::user(&crate::records::lti13("k", "k"), "k");
    store.put_user(&user).await.unwrap();

    assert_eq!(store.platforms().await.unwrap(), vec![reg.clone()]);
    assert_eq!(
        store.platforms_of_issuer(&issuer("k")).await.unwrap(),
        vec![reg]
    );
}

async fn remove_platform_existing_then_platform_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let reg = registration("https://lms.example", "client-1");
    store.add_platform(&reg).await.unwrap();
    store
        .remove_platform(&reg.issuer, &reg.client_id)
        .await
        .unwrap();
    assert_eq!(
        store.platform(&reg.issuer, &reg.client_id).await.unwrap(),
        None
    );
    assert!(store.platforms().await.unwrap().is_empty());
    assert!(
        store
            .platforms_of_issuer(&reg.issuer)
            .await
            .unwrap()
            .is_empty()
    );
    // Once removed, the same key can be added again.
    store.add_platform(&reg).await.unwrap();
}

async fn remove_platform_missing_fails_not_found(fx: &StoreFixture) {
    let store = fx.store();
    store
        .add_platform(&registration("https://lms.example", "client-1"))
        .await
        .unwrap();
    assert_store_error!(
        store
            .remove_platform(&issuer("https://lms.example"), &client("client-2"))
            .await,
        NotFound
    );
    // Removing twice: the second fails.
    store
        .remove_platform(&issuer("https://lms.example"), &client("client-1"))
        .await
        .unwrap();
    assert_store_error!(
        store
            .remove_platform(&issuer("https://lms.example"), &client("client-1"))
            .await,
        NotFound
    );
}

async fn remove_platform_one_client_keeps_other_clients(fx: &StoreFixture) {
    let store = fx.store();
    let keep = registration("https://lms.example", "client-2");
    let keep_other_issuer = registration("https://other.example", "client-1");
    store
        .add_platform(&registration("https://lms.example", "client-1"))
        .await
        .unwrap();
    store.add_platform(&keep).await.unwrap();
    store.add_platform(&keep_other_issuer).await.unwrap();
    store
        .remove_platform(&issuer("https://lms.example"), &client("client-1"))
        .await
        .unwrap();
    assert_eq!(
        store.platforms().await.unwrap(),
        vec![keep, keep_other_issuer]
    );
}

async fn platform_identifiers_with_separators_do_not_collide(fx: &StoreFixture) {
    let store = fx.store();
    // Pairs that a naive "issuer<sep>client" or percent-encoded key would map to one record.
    let pairs = [
        ("https://a.example/x#y", "1"),
        ("https://a.example/x", "y#1"),
        ("https://a.example/x|y", "1"),
        ("https://a.example/x", "y|1"),
        ("https://a.example/x%23y", "1"),
        ("https://a.example/x", "y%231"),
        ("https://a.example/x%7Cy", "1"),
        ("https://ä.example/ü", "ключ"),
        ("https://xn--4ca.example/%C3%BC", "ключ"),
        ("https://ä.example/ü", "%D0%BA%D0%BB%D1%8E%D1%87"),
        ("https://a.example/x", "🔑 1"),
    ];
    for (n, (iss, client_id)) in pairs.iter().enumerate() {
        let mut reg = registration(iss, client_id);
        reg.name = Some(format!("pair {n}"));
        store
            .add_platform(&reg)
            .await
            .unwrap_or_else(|err| panic!("adding {iss:?} / {client_id:?} failed: {err:?}"));
    }
    for (n, (iss, client_id)) in pairs.iter().enumerate() {
        let read = store
            .platform(&issuer(iss), &client(client_id))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{iss:?} / {client_id:?} is missing"));
        assert_eq!(read.issuer.as_str(), *iss);
        assert_eq!(read.client_id.as_str(), *client_id);
        assert_eq!(read.name, Some(format!("pair {n}")));
    }

    let mut expected: Vec<(String, String)> = pairs
        .iter()
        .map(|(i, c)| ((*i).to_owned(), (*c).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(keys_of(&store.platforms().await.unwrap()), expected);

    let of_x = store
        .platforms_of_issuer(&issuer("https://a.example/x"))
        .await
        .unwrap();
    let mut expected_x: Vec<&str> = vec!["y#1", "y|1", "y%231", "🔑 1"];
    expected_x.sort_unstable();
    let found_x: Vec<&str> = of_x.iter().map(|r| r.client_id.as_str()).collect();
    assert_eq!(found_x, expected_x);

    store
        .remove_platform(&issuer("https://a.example/x#y"), &client("1"))
        .await
        .unwrap();
    assert!(
        store
            .platform(&issuer("https://a.example/x"), &client("y#1"))
            .await
            .unwrap()
            .is_some(),
        "removing one registration removed its look-alike"
    );
}

async fn platform_written_by_one_instance_is_read_by_another(fx: &StoreFixture) {
    let reg = registration("https://lms.example", "client-1");
    fx.store().add_platform(&reg).await.unwrap();
    let other = fx.reopen().await;
    assert_eq!(
        other.platform(&reg.issuer, &reg.client_id).await.unwrap(),
        Some(reg.clone())
    );
    assert_store_error!(other.add_platform(&reg).await, AlreadyExists);
}
