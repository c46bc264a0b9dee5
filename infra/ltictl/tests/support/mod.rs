//! The harness the `ltictl` CLI tests share: the real binary, run against the embedded backend
//! or against DynamoDB + Secrets Manager on the loopback moto server that `infra/test.sh`
//! starts, with its output captured. Each test file includes it with `mod support;`.
#![allow(dead_code, reason = "each test file uses a part of the harness")]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The secret id the AWS backend is given when the commands under test never read the keys.
const UNUSED_SECRET: &str = "unused-by-these-commands";

/// Where a test's data lives: a temporary data folder, or a fresh table (and secret) on moto.
pub(crate) enum Target {
    /// `--data-dir` of a temporary folder.
    Embedded(tempfile::TempDir),
    /// `--aws` with this table and secret.
    Aws { table: String, secret: String },
}

impl Target {
    /// A fresh temporary data folder.
    pub(crate) fn embedded() -> Self {
        Target::Embedded(tempfile::tempdir().unwrap())
    }

    /// A fresh table and secret on moto.
    pub(crate) async fn aws() -> Self {
        Self::fresh_aws(true).await
    }

    /// A fresh table on moto and no secret, for commands that never read the signing keys.
    pub(crate) async fn aws_without_secret() -> Self {
        Self::fresh_aws(false).await
    }

    async fn fresh_aws(with_secret: bool) -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "these tests need a local DynamoDB/Secrets Manager endpoint: run ./infra/test.sh, \
             or start moto and export AWS_ENDPOINT_URL"
        );
        let config = lti_shared::compose::config::aws_sdk_config().await;
        let name = format!("ltictl-{}", uuid::Uuid::new_v4());
        lti_shared::adapters::store::dynamo::create_table(
            &aws_sdk_dynamodb::Client::new(&config),
            &name,
        )
        .await
        .unwrap();
        let secret = if with_secret {
            lti_shared::adapters::keystore::secrets_manager::create_secret(
                &aws_sdk_secretsmanager::Client::new(&config),
                &name,
            )
            .await
            .unwrap();
            name.clone()
        } else {
            UNUSED_SECRET.to_owned()
        };
        Target::Aws {
            table: name,
            secret,
        }
    }

    /// The backend arguments of `ltictl`.
    pub(crate) fn args(&self) -> Vec<String> {
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

    /// Runs `ltictl <backend args> <args>` with `stdin` and the extra environment `env`, in a
    /// scratch working folder. `LTI_RETENTION_DAYS` is never inherited from the test's own
    /// environment.
    pub(crate) fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let scratch = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ltictl"))
            .args(self.args())
            .args(args)
            .current_dir(scratch.path())
            .env_remove("LTI_RETENTION_DAYS")
            .envs(env.iter().copied())
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

    /// Runs `ltictl <backend args> <args>` with `stdin`.
    pub(crate) fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with(args, stdin, &[])
    }

    /// Runs `ltictl <backend args> <args>` with the extra environment `env`.
    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_with(args, "", env)
    }

    /// Runs `ltictl <backend args> <args>`.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, "", &[])
    }

    /// Runs a command that must succeed and print JSON.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Asserts that the command succeeded, showing its output if not.
pub(crate) fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the exit code and that stderr says `needle`.
pub(crate) fn assert_fails(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

/// Makes each named `fn(&Target)` a test on both backends: `embedded::<name>` on a fresh data
/// folder and `aws::<name>` on a fresh table and secret on moto (`aws = aws_without_secret;`
/// before the names: a fresh table only).
macro_rules! on_both_backends {
    (aws = $aws:ident; $($name:ident),* $(,)?) => {
        mod embedded {
            $(#[test]
            fn $name() {
                super::$name(&$crate::support::Target::embedded());
            })*
        }
        mod aws {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                let target = $crate::support::Target::$aws().await;
                tokio::task::spawn_blocking(move || super::$name(&target)).await.unwrap();
            })*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::support::on_both_backends!(aws = aws; $($name),*);
    };
}
pub(crate) use on_both_backends;
