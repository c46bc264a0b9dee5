//! `ltictl` as an operator runs it: the real binary, against the embedded backend and against
//! DynamoDB + Secrets Manager on the loopback moto server that `infra/test.sh` starts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{Target, assert_fails, assert_success, on_both_backends};

const ISSUER: &str = "https://canvas.test.example";

fn add_platform(target: &Target, client_id: &str) -> Output {
    target.run(&[
        "platform",
        "add",
        "--issuer",
        ISSUER,
        "--client-id",
        client_id,
        "--deployment-id",
        "1:abc",
        "--deployment-id",
        "2:def",
        "--auth-url",
        "https://canvas.test.example/api/lti/authorize_redirect",
        "--token-url",
        "https://canvas.test.example/login/oauth2/token",
        "--jwks-url",
        "https://canvas.test.example/api/lti/security/jwks",
        "--name",
        "Test Canvas",
    ])
}

fn platforms_round_trip(target: &Target) {
    assert_success(&add_platform(target, "10000000000001"));
    assert_success(&add_platform(target, "10000000000002"));

    let list = target.json(&["platform", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0]["issuer"], ISSUER,
        "issuer kept exactly, no trailing slash"
    );
    assert_eq!(list[0]["client_id"], "10000000000001");
    assert_eq!(
        list[0]["deployment_ids"],
        serde_json::json!(["1:abc", "2:def"])
    );
    assert_eq!(list[0]["name"], "Test Canvas");
    assert_eq!(list[0]["status"], "active");

    // A duplicate is refused, says how to update, and changes nothing.
    let dup = add_platform(target, "10000000000001");
    assert_fails(&dup, 1, "ltictl platform update");
    assert_eq!(
        target.json(&["platform", "list"]),
        Value::Array(list.clone())
    );

    let updated = target.json(&[
        "platform",
        "update",
        "--issuer",
        ISSUER,
        "--client-id",
        "10000000000001",
        "--add-deployment-id",
        "3:ghi",
        "--remove-deployment-id",
        "1:abc",
        "--status",
        "disabled",
    ]);
    assert_eq!(
        updated["deployment_ids"],
        serde_json::json!(["2:def", "3:ghi"])
    );
    assert_eq!(updated["status"], "disabled");

    // A declared token audience (Brightspace) is kept for client assertions, and removed by an
    // empty value; a value with a control character is refused and changes nothing.
    let with_audience = |value: &str| {
        target.run(&[
            "platform",
            "update",
            "--issuer",
            ISSUER,
            "--client-id",
            "10000000000001",
            "--token-audience",
            value,
            "--json",
        ])
    };
    let set = with_audience("https://api.brightspace.com/auth/token");
    assert_success(&set);
    let set: Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(
        set["options"]["token_audience"],
        "https://api.brightspace.com/auth/token"
    );
    assert_fails(&with_audience("bad\naudience"), 2, "--token-audience");
    let cleared = with_audience("");
    assert_success(&cleared);
    let updated: Value = serde_json::from_slice(&cleared.stdout).unwrap();
    assert!(
        updated["options"].get("token_audience").is_none(),
        "{updated}"
    );

    let shown = target.json(&[
        "platform",
        "show",
        "--issuer",
        ISSUER,
        "--client-id",
        "10000000000001",
    ]);
    assert_eq!(shown, updated);
    // Without --client-id the issuer is ambiguous here.
    assert_fails(
        &target.run(&["platform", "show", "--issuer", ISSUER]),
        2,
        "pass --client-id",
    );

    let remove = [
        "platform",
        "remove",
        "--issuer",
        ISSUER,
        "--client-id",
        "10000000000002",
    ];
    assert_success(&target.run(&remove));
    assert_fails(&target.run(&remove), 1, "no platform");
    assert_eq!(
        target.json(&["platform", "list"]).as_array().unwrap().len(),
        1
    );
    assert_fails(
        &target.run(&[
            "platform",
            "update",
            "--issuer",
            ISSUER,
            "--client-id",
            "nope",
            "--name",
            "x",
        ]),
        1,
        "no platform",
    );
}

fn platform_bad_input_is_refused(target: &Target) {
    let bad = |flag: &str, value: &str| {
        let mut args = vec![
            "platform",
            "add",
            "--issuer",
            ISSUER,
            "--client-id",
            "c",
            "--deployment-id",
            "d",
            "--auth-url",
            "https://p.example/auth",
            "--token-url",
            "https://p.example/token",
            "--jwks-url",
            "https://p.example/jwks",
        ];
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = value;
        target.run(&args)
    };
    assert_fails(&bad("--auth-url", "not a url"), 2, "--auth-url");
    assert_fails(&bad("--jwks-url", "http://p.example/jwks"), 2, "https://");
    assert_fails(&bad("--issuer", "https://p.example/?x=1"), 2, "query");
    assert_fails(&bad("--client-id", ""), 2, "client_id must not be empty");
    // Nothing was written by any of them.
    assert_eq!(target.json(&["platform", "list"]), serde_json::json!([]));
    // http is fine for a platform on this machine.
    assert_success(&bad("--jwks-url", "http://127.0.0.1:9/jwks"));
}

fn consumers_round_trip(target: &Target) {
    let add = |key: &str, stdin: &str| {
        target.run_with_input(
            &["consumer", "add", "--key", key, "--name", "Moodle"],
            stdin,
        )
    };
    assert_fails(&add("moodle-1", ""), 2, "standard input");
    assert_eq!(target.json(&["consumer", "list"]), serde_json::json!([]));

    let secret = "s3cret-s3cret-s3cret-s3cret";
    assert_success(&add("moodle-1", &format!("{secret}\n")));
    assert_fails(
        &add("moodle-1", "other-secret-other-secret\n"),
        1,
        "already exists",
    );

    let out = target.run(&["consumer", "list", "--json"]);
    assert_success(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["key"], "moodle-1");
    assert_eq!(list[0]["name"], "Moodle");

    if let Target::Embedded(dir) = target {
        let keys = std::fs::read_to_string(dir.path().join("keys.json")).unwrap();
        assert!(
            keys.contains(secret),
            "the first secret is kept, not replaced"
        );
    }

    let remove = ["consumer", "remove", "--key", "moodle-1"];
    assert_success(&target.run(&remove));
    assert_fails(&target.run(&remove), 1, "no consumer");
    assert_eq!(target.json(&["consumer", "list"]), serde_json::json!([]));
    if let Target::Embedded(dir) = target {
        let keys = std::fs::read_to_string(dir.path().join("keys.json")).unwrap();
        assert!(
            !keys.contains(secret),
            "the secret is removed with the consumer"
        );
    }
}

fn statuses(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect()
}

fn kid_with(list: &Value, status: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| k["status"] == status)
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn keys_round_trip(target: &Target) {
    assert_fails(&target.run(&["keys", "rotate"]), 1, "ltictl keys init");
    assert_eq!(target.json(&["keys", "list"]), serde_json::json!([]));

    let init = target.json(&["keys", "init"]);
    assert_eq!(statuses(&init), ["current", "next"]);
    assert_eq!(
        target.json(&["keys", "init"]),
        init,
        "a second init changes nothing"
    );
    let text = serde_json::to_string(&init).unwrap();
    assert!(!text.contains("pkcs8"), "no private key in the listing");

    let rotated = target.json(&["keys", "rotate"]);
    assert_eq!(statuses(&rotated), ["current", "next", "retired"]);
    assert_eq!(kid_with(&rotated, "current"), kid_with(&init, "next"));
    assert_eq!(kid_with(&rotated, "retired"), kid_with(&init, "current"));
    assert_eq!(target.json(&["keys", "list"]), rotated);

    let current = kid_with(&rotated, "current");
    assert_fails(&target.run(&["keys", "retire", &current]), 1, "keys rotate");
    assert_fails(
        &target.run(&["keys", "retire", "no-such-kid"]),
        1,
        "keys list",
    );
    let next = kid_with(&rotated, "next");
    let retired = target.json(&["keys", "retire", &next]);
    assert_eq!(statuses(&retired), ["current", "retired", "retired"]);
}

on_both_backends!(
    platforms_round_trip,
    platform_bad_input_is_refused,
    consumers_round_trip,
    keys_round_trip,
);

fn ltictl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ltictl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn unwritable_data_folder_fails_with_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let data_dir: PathBuf = file.join("data");
    let out = ltictl(&["--data-dir", data_dir.to_str().unwrap(), "platform", "list"]);
    assert_fails(&out, 1, "cannot create the data folder");
}

#[test]
fn unreachable_aws_fails_with_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_ltictl"))
        .args([
            "--aws",
            "--table",
            "t",
            "--secret-id",
            "s",
            "platform",
            "list",
        ])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_fails(&out, 1, "DynamoDB table t could not be used");
}

#[test]
fn aws_without_table_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ltictl"))
        .args(["--aws", "platform", "list"])
        .env_remove("LTI_TABLE")
        .output()
        .unwrap();
    assert_fails(&out, 2, "--table");
}

/// Kids are base64url: about one in 64 starts with `-`, which must not read as an option.
#[test]
fn keys_retire_kid_starting_with_hyphen_is_a_kid() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = ltictl(&["--data-dir", &data, "keys", "retire", "-eX7kid"]);
    assert_fails(&out, 1, "no signing key has kid -eX7kid");
}

#[test]
fn unknown_command_is_a_usage_error() {
    assert_eq!(ltictl(&["frobnicate"]).status.code(), Some(2));
}

/// The README's first command: `ltictl serve` in a fresh folder answers on /jwks with the
/// keys it created on first run.
#[test]
fn serve_fresh_folder_creates_keys_and_serves_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ltictl"))
        .args(["serve", "--port", &port.to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let body = poll_jwks(port);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("http://localhost:{port}/jwks")),
        "{stdout}"
    );
    assert!(stdout.contains("first run"), "{stdout}");
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "current and next");
    assert!(Path::new(&dir.path().join(".lti/keys.json")).exists());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Fetches `/jwks` with a plain HTTP/1.1 request, retrying while the server starts.
fn poll_jwks(port: u16) -> Value {
    poll_json(port, "/jwks")
}

/// Fetches `path` as JSON with a plain HTTP/1.1 request, retrying while the server starts.
fn poll_json(port: u16, path: &str) -> Value {
    use std::io::Read as _;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            stream
                .write_all(
                    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).unwrap();
            assert!(text.starts_with("HTTP/1.1 200"), "{text}");
            let body = text.split("\r\n\r\n").nth(1).unwrap();
            return serde_json::from_str(body).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("ltictl serve did not answer on port {port}");
}

/// `ltictl serve --privacy` (or `LTI_PRIVACY_LEVEL`, the stack's setting) shapes the Canvas
/// JSON it serves, as it shapes the claims a dynamic registration asks for; an unknown level is
/// a usage error.
#[test]
fn serve_privacy_flag_and_env_shape_the_canvas_json() {
    for (args, env, expected) in [
        (vec![], None, "anonymous"),
        (vec!["--privacy", "name-only"], None, "name_only"),
        (vec![], Some("public"), "public"),
        (vec![], Some("name_only"), "name_only"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ltictl"));
        command
            .args(["serve", "--port", &port.to_string()])
            .args(&args)
            .env_remove("LTI_PRIVACY_LEVEL")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(value) = env {
            command.env("LTI_PRIVACY_LEVEL", value);
        }
        let mut child = command.spawn().unwrap();
        let config = poll_json(port, "/config/canvas.json");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            config["extensions"][0]["privacy_level"], expected,
            "{args:?} {env:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ltictl"))
        .args(["serve", "--port", "0", "--privacy", "names"])
        .env_remove("LTI_PRIVACY_LEVEL")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown level is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("names"));
}

#[test]
fn config_prints_lms_values_without_touching_data() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("never-created");
    let data = data_dir.to_str().unwrap();
    let out = ltictl(&[
        "--data-dir",
        data,
        "config",
        "moodle",
        "--public-url",
        "https://lti.example.edu",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Initiate login URL"), "{text}");
    assert!(text.contains("https://lti.example.edu/login"), "{text}");
    assert!(text.contains("https://lti.example.edu/register"), "{text}");
    assert!(!data_dir.exists(), "config needs no data folder");

    let out = ltictl(&[
        "config",
        "canvas",
        "--public-url",
        "https://lti.example.edu",
    ]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["public_jwk_url"], "https://lti.example.edu/jwks");
    assert_eq!(json["extensions"][0]["privacy_level"], "anonymous");
}

#[test]
fn config_without_public_url_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ltictl"))
        .args(["config", "sakai"])
        .env_remove("PUBLIC_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = ltictl(&["config", "sakai", "--public-url", "lti.example.edu"]);
    assert_fails(&out, 2, "--public-url");
}

#[tokio::test]
async fn pending_dynamic_registration_is_listed_and_approved_without_deployment() {
    use lti_shared::ports::PlatformRegistry as _;
    let dir = tempfile::tempdir().unwrap();
    let store = lti_shared::adapters::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    store
        .add_platform(&lti_shared::domain::model::Registration {
            issuer: lti_shared::domain::ids::Issuer::parse(ISSUER).unwrap(),
            client_id: lti_shared::domain::ids::ClientId::parse("10000000000042").unwrap(),
            deployment_ids: Default::default(),
            auth_url: url::Url::parse("https://canvas.test.example/auth").unwrap(),
            token_url: url::Url::parse("https://canvas.test.example/token").unwrap(),
            jwks_url: url::Url::parse("https://canvas.test.example/jwks").unwrap(),
            name: Some("Test University (canvas)".into()),
            status: lti_shared::domain::model::Status::Pending,
            options: Default::default(),
            created_at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let data = dir.path().to_str().unwrap();
    let out = ltictl(&["--data-dir", data, "platform", "list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("pending"), "{text}");
    assert!(text.contains("await approval"), "{text}");

    let approve = [
        "--data-dir",
        data,
        "platform",
        "update",
        "--issuer",
        ISSUER,
        "--client-id",
        "10000000000042",
        "--status",
        "active",
    ];
    let out = ltictl(&approve);
    assert!(out.status.success(), "{out:?}");
    let out = ltictl(&["--data-dir", data, "--json", "platform", "list"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["status"], "active");
}
