//! `ltictl catalog` as an operator runs it: the real binary, against the embedded backend and
//! against DynamoDB on the loopback moto server that `infra/test.sh` starts. (Kept apart from
//! `cli.rs` so the catalog commands' tests live with nothing else.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

/// Where a test's data lives: a temporary data folder, or a fresh table and secret on moto.
enum Target {
    Embedded(tempfile::TempDir),
    Aws { table: String, secret: String },
}

impl Target {
    fn embedded() -> Self {
        Target::Embedded(tempfile::tempdir().unwrap())
    }

    async fn aws() -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "these tests need a local DynamoDB/Secrets Manager endpoint: run ./infra/test.sh, \
             or start moto and export AWS_ENDPOINT_URL"
        );
        let config = lti_shared::config::aws_sdk_config().await;
        let id = uuid::Uuid::new_v4();
        let (table, secret) = (format!("ltictl-{id}"), format!("ltictl-{id}"));
        lti_shared::store::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&config), &table)
            .await
            .unwrap();
        lti_shared::keystore::secrets_manager::create_secret(
            &aws_sdk_secretsmanager::Client::new(&config),
            &secret,
        )
        .await
        .unwrap();
        Target::Aws { table, secret }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Target::Embedded(dir) => vec!["--data-dir".into(), dir.path().display().to_string()],
            Target::Aws { table, secret } => vec![
                "--aws".into(),
                "--table".into(),
                table.clone(),
                "--secret-id".into(),
                secret.clone(),
            ],
        }
    }

    /// Runs `ltictl <backend args> <args>` with `stdin`, in a scratch working folder.
    fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        let scratch = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ltictl"))
            .args(self.args())
            .args(args)
            .current_dir(scratch.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, "")
    }

    /// Runs a command that must succeed and print JSON.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the exit code and that stderr says `needle`.
fn assert_fails(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

fn add(target: &Target, extra: &[&str]) -> Output {
    let mut args = vec!["catalog", "add"];
    args.extend_from_slice(extra);
    target.run(&args)
}

fn catalog_round_trip(target: &Target) {
    assert_eq!(target.json(&["catalog", "list"]), json!([]));
    let quiz = [
        "--id",
        "quiz-1",
        "--title",
        "Quiz 1",
        "--description",
        "Fractions",
        "--activity-url",
        "https://activities.example.edu/quiz/1",
        "--score-maximum",
        "10",
        "--custom",
        "chapter=3",
        "--custom",
        "due=$ResourceLink.submission.endDateTime",
    ];
    let mut with_json = quiz.to_vec();
    with_json.push("--json");
    let added: Value = {
        let out = add(target, &with_json);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(added["id"], "quiz-1");
    assert_eq!(added["score_maximum"], 10.0);
    assert_eq!(
        added["custom"],
        json!({"chapter": "3", "due": "$ResourceLink.submission.endDateTime"})
    );
    assert_fails(&add(target, &quiz), 1, "already exists");

    let reading = add(
        target,
        &[
            "--id",
            "reading",
            "--title",
            "Reading",
            "--activity-url",
            "http://localhost:9000/read",
        ],
    );
    assert_success(&reading);
    assert!(String::from_utf8_lossy(&reading.stdout).contains("Added catalog item reading"));

    let list = target.json(&["catalog", "list"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["quiz-1", "reading"]);
    assert!(list[1].get("score_maximum").is_none());

    let table = target.run(&["catalog", "list"]);
    assert_success(&table);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Quiz 1") && text.contains("https://activities.example.edu/quiz/1"));

    let remove = ["catalog", "remove", "--id", "quiz-1"];
    assert_eq!(target.json(&remove), json!({"removed": "quiz-1"}));
    assert_fails(&target.run(&remove), 1, "no catalog item quiz-1");
    assert_eq!(
        target.json(&["catalog", "list"]).as_array().unwrap().len(),
        1
    );
}

fn catalog_bad_input_is_refused(target: &Target) {
    let base = |flag: &str, value: &str| {
        let mut args = vec![
            "--id",
            "ok-id",
            "--title",
            "T",
            "--activity-url",
            "https://a.example/x",
        ];
        if let Some(i) = args.iter().position(|a| *a == flag) {
            args[i + 1] = value;
        } else {
            args.push(flag);
            args.push(value);
        }
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |flag: &str, value: &str| {
        let args = base(flag, value);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        add(target, &refs)
    };
    assert_fails(&run("--id", "a/b"), 2, "item id");
    assert_fails(&run("--id", "_x"), 2, "item id");
    assert_fails(&run("--activity-url", "http://a.example/x"), 2, "https://");
    assert_fails(&run("--activity-url", "not a url"), 2, "https://");
    assert_fails(&run("--score-maximum", "0"), 2, "greater than 0");
    assert_fails(&run("--score-maximum", "-3"), 2, "greater than 0");
    assert_fails(&run("--title", " "), 2, "title");
    assert_fails(&run("--custom", "novalue"), 2, "NAME=VALUE");
    assert_fails(&run("--custom", "bad-name=1"), 2, "custom parameter name");
    assert_fails(
        &target.run(&["catalog", "remove", "--id", "a b"]),
        2,
        "item id",
    );
    // Nothing was written by any of them; the good input passes.
    assert_eq!(target.json(&["catalog", "list"]), json!([]));
    assert_success(&run("--score-maximum", "0.5"));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[test]
            fn $name() {
                super::$name(&super::Target::embedded());
            })*
        }
        mod aws {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                let target = super::Target::aws().await;
                tokio::task::spawn_blocking(move || super::$name(&target)).await.unwrap();
            })*
        }
    };
}

on_both_backends!(catalog_round_trip, catalog_bad_input_is_refused);
