//! `infra/smoke.sh`, the post-deploy smoke test, run against the tool on loopback (the same
//! server `ltictl serve` runs), so CI proves the script works and that it can fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Output};

use lti_tests::platform::FakePlatform;
use lti_tests::tool::RunningTool;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/smoke.sh");

/// Runs the script with `args` off the async runtime (the tool serves on it meanwhile).
async fn smoke(args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output: Output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(SCRIPT)
            .args(&args)
            // A developer's AWS setup must not matter: --base-url never calls AWS.
            .env_remove("AWS_PROFILE")
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_script_local_tool_passes_every_check() {
    let tool = RunningTool::start(None).await;
    let (ok, text) = smoke(&["--base-url", &tool.base]).await;
    assert!(ok, "{text}");
    for check in [
        "ok    JWKS: ",
        "ok    JWKS (well-known): ",
        "ok    login: an unregistered issuer is refused (400 UNKNOWN_PLATFORM)",
        "ok    launch: a garbage id_token is refused (400)",
    ] {
        assert!(text.contains(check), "missing {check:?} in:\n{text}");
    }
    assert!(text.contains("2 key(s)"), "current and next key: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_script_registered_issuer_expects_a_redirect() {
    let tool = RunningTool::start(None).await;
    let platform = FakePlatform::start().await;
    tool.backend
        .store
        .add_platform(&platform.registration(platform.client_id()))
        .await
        .unwrap();
    let (ok, text) = smoke(&[
        "--base-url",
        &tool.base,
        "--issuer",
        platform.issuer(),
        "--client-id",
        platform.client_id(),
    ])
    .await;
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "ok    login: {} redirects (302) to {}",
            platform.issuer(),
            platform.auth_url()
        )),
        "{text}"
    );

    // The same check for an issuer the tool does not know must fail, not pass quietly.
    let (ok, text) = smoke(&[
        "--base-url",
        &tool.base,
        "--issuer",
        "https://unregistered.example",
    ])
    .await;
    assert!(!ok, "{text}");
    assert!(text.contains("FAIL  login: expected a 302"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_script_wrong_public_origin_fails_with_advice() {
    let tool = RunningTool::start(Some("https://lti.example.edu")).await;
    let (ok, text) = smoke(&["--base-url", &tool.base]).await;
    assert!(!ok, "{text}");
    assert!(text.contains("FOREIGN_TARGET"), "{text}");
    let (ok, text) = smoke(&[
        "--base-url",
        &tool.base,
        "--public-url",
        "https://lti.example.edu",
    ])
    .await;
    assert!(ok, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_script_nothing_listening_fails_every_check() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (ok, text) = smoke(&["--base-url", &format!("http://127.0.0.1:{port}")]).await;
    assert!(!ok, "{text}");
    assert!(text.contains("smoke.sh: 4 check(s) failed"), "{text}");
}

#[tokio::test]
async fn smoke_script_usage_errors_exit_2() {
    for args in [&[][..], &["--stack"][..], &["--bogus"][..]] {
        let output = Command::new("bash")
            .arg(SCRIPT)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let output = Command::new("bash")
        .arg(SCRIPT)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage: infra/smoke.sh"));
}
