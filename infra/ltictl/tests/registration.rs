//! `ltictl registration invite|invites|revoke` and the control-character rule of `platform
//! add|list`, as an operator runs them: the real binary, on the embedded backend and on
//! DynamoDB (the loopback moto server `infra/test.sh` starts).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use serde_json::Value;
use support::{Target, assert_fails, assert_success, on_both_backends};

const PUBLIC: &str = "https://lti.example.edu";

fn invite(target: &Target, extra: &[&str]) -> Value {
    let mut args = vec!["registration", "invite", "--public-url", PUBLIC];
    args.extend_from_slice(extra);
    target.json(&args)
}

fn invitations_round_trip(target: &Target) {
    assert_eq!(
        target.json(&["registration", "invites"]),
        serde_json::json!([])
    );
    let first = invite(
        target,
        &["--expires", "2d", "--note", "Moodle at Example U"],
    );
    let url = url::Url::parse(first["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.origin().ascii_serialization(), PUBLIC);
    assert_eq!(url.path(), "/register");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].0, "invitation");
    let token = pairs[0].1.clone();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["note"], "Moodle at Example U");

    // The human form prints the URL alone on stdout (for scripts and copying).
    let out = target.run(&["registration", "invite", "--public-url", PUBLIC]);
    assert_success(&out);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed
            .trim()
            .starts_with(&format!("{PUBLIC}/register?invitation="))
    );
    assert_ne!(printed.trim(), url.as_str(), "every invitation is new");

    let listed = target.json(&["registration", "invites"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let text = serde_json::to_string(listed).unwrap();
    assert!(!text.contains(&token), "the list never shows a token");
    assert!(listed.iter().any(|i| i["id"] == id.as_str()));

    let table = target.run(&["registration", "invites"]);
    assert_success(&table);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains(&id) && table.contains("Moodle at Example U"),
        "{table}"
    );

    assert_success(&target.run(&["registration", "revoke", &id]));
    let listed = target.json(&["registration", "invites"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0]["id"] != id.as_str());
    assert_fails(
        &target.run(&["registration", "revoke", &id]),
        1,
        "no invitation with id",
    );
}

fn invitation_bad_input_is_refused(target: &Target) {
    for bad in ["0d", "91d", "7w", "soon"] {
        let out = target.run(&[
            "registration",
            "invite",
            "--public-url",
            PUBLIC,
            "--expires",
            bad,
        ]);
        assert_fails(&out, 2, "--expires");
    }
    let out = target.run(&["registration", "invite", "--public-url", "lti.example.edu"]);
    assert_fails(&out, 2, "--public-url");
    assert_fails(
        &target.run(&["registration", "revoke", "zz"]),
        1,
        "no invitation with id",
    );
    assert_eq!(
        target.json(&["registration", "invites"]),
        serde_json::json!([])
    );
}

const ESCAPES: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}Evil\u{9b}31m LMS\r\n";

fn platform_name_with_escape_sequences_is_stored_clean(target: &Target) {
    let out = target.run(&[
        "platform",
        "add",
        "--issuer",
        "https://evil.example",
        "--client-id",
        "c-1",
        "--deployment-id",
        "d-1",
        "--auth-url",
        "https://evil.example/auth",
        "--token-url",
        "https://evil.example/token",
        "--jwks-url",
        "https://evil.example/jwks",
        "--name",
        ESCAPES,
    ]);
    assert_success(&out);
    let list = target.json(&["platform", "list"]);
    assert_eq!(list[0]["name"], "Evil LMS");
    // The good sibling: an ordinary non-ASCII name is kept as given.
    let out = target.run(&[
        "platform",
        "update",
        "--issuer",
        "https://evil.example",
        "--client-id",
        "c-1",
        "--name",
        "Université de Genève 🎓",
    ]);
    assert_success(&out);
    let list = target.json(&["platform", "list"]);
    assert_eq!(list[0]["name"], "Université de Genève 🎓");
}

on_both_backends!(
    aws = aws_without_secret;
    invitations_round_trip,
    invitation_bad_input_is_refused,
    platform_name_with_escape_sequences_is_stored_clean,
);

/// A name stored before names were cleaned is printed escaped: it cannot clear the screen.
#[tokio::test]
async fn platform_list_escapes_control_characters_of_a_stored_name() {
    use lti_shared::ports::PlatformRegistry as _;
    let dir = tempfile::tempdir().unwrap();
    let store = lti_shared::adapters::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    let registration = lti_shared::domain::model::Registration {
        issuer: lti_shared::domain::ids::Issuer::parse("https://old.example").unwrap(),
        client_id: lti_shared::domain::ids::ClientId::parse("c-1").unwrap(),
        deployment_ids: [lti_shared::domain::ids::DeploymentId::parse("d-1").unwrap()].into(),
        auth_url: url::Url::parse("https://old.example/auth").unwrap(),
        token_url: url::Url::parse("https://old.example/token").unwrap(),
        jwks_url: url::Url::parse("https://old.example/jwks").unwrap(),
        name: Some(ESCAPES.to_owned()),
        status: lti_shared::domain::model::Status::Active,
        options: lti_shared::domain::model::PlatformOptions::default(),
        created_at: time::OffsetDateTime::now_utc(),
    };
    store.add_platform(&registration).await.unwrap();
    drop(store);
    let target = Target::Embedded(dir);
    for args in [
        &["platform", "list"][..],
        &["platform", "show", "--issuer", "https://old.example"][..],
    ] {
        let out = target.run(args);
        assert_success(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("\\u{1b}[2J"), "{text}");
    }
}
