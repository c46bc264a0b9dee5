//! No id_token, secret, name or e-mail address in any log line: this test plants them in
//! launches (good and refused ones) through the tool's real server, captures every log line
//! the process writes, and searches them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use lti_tests::platform::{FakePlatform, LaunchSpec, auto_submit_form, post_form};
use lti_tests::tool::RunningTool;

const NAME: &str = "Zelda Plantedname";
const GIVEN: &str = "Zelda";
const FAMILY: &str = "Plantedname";
const EMAIL: &str = "zelda.planted@example.edu";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_good_and_refused_launches_hold_no_tokens_or_personal_data() {
    let captured = Captured::default();
    // Everything at debug level, except the HTML parser this test itself uses to read the
    // tool's pages (it logs their characters; it is not part of the tool).
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,html5ever=off,markup5ever=off,scraper=off,selectors=off",
        ))
        .with_writer(captured.clone())
        .init();

    let tool = RunningTool::start(None).await;
    let base = tool.base.clone();
    let platform = FakePlatform::builder()
        .redirect_uri(format!("{base}/launch"))
        .start()
        .await;
    tool.backend
        .store
        .add_platform(&platform.registration(platform.client_id()))
        .await
        .unwrap();

    let planted = || {
        LaunchSpec::student()
            .set("name", NAME.into())
            .set("given_name", GIVEN.into())
            .set("family_name", FAMILY.into())
            .set("email", EMAIL.into())
    };
    let login = format!("{base}/login");
    let target = format!("{base}/launch");
    let mut secrets: Vec<String> = vec![NAME.into(), GIVEN.into(), FAMILY.into(), EMAIL.into()];

    // A good launch, then the activity.
    let good = platform.launch(&login, &target, planted()).await;
    let response = good.expect_launch();
    assert_eq!(response.status, 200, "{}", response.body);
    let (action, fields) = auto_submit_form(&response.body).unwrap();
    let session = fields
        .iter()
        .find(|(n, _)| n == "lti_session")
        .unwrap()
        .1
        .clone();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let activity = post_form(&action, &fields, None).await;
    assert_eq!(activity.status, 200);
    assert!(
        activity.body.contains(NAME),
        "the activity shows the name it was sent"
    );
    secrets.push(good.expect_id_token().to_owned());
    secrets.push(good.state.clone().unwrap());
    secrets.push(good.claims()["nonce"].as_str().unwrap().to_owned());
    secrets.push(session);

    // Refused launches: expired, and signed by a key the platform never published.
    let expired = platform
        .launch(
            &login,
            &target,
            planted().exp_offset(-3600).iat_offset(-4000),
        )
        .await;
    assert_eq!(expired.expect_launch().status, 401);
    secrets.push(expired.expect_id_token().to_owned());
    let forged = platform
        .launch(&login, &target, planted().signed_with_unpublished_key())
        .await;
    assert_eq!(forged.expect_launch().status, 401);
    secrets.push(forged.expect_id_token().to_owned());

    drop(tool);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The test can fail: the lines it searches were written.
    assert!(logs.contains("launch verified"), "{logs}");
    assert!(logs.contains("LAUNCH_EXPIRED"), "{logs}");
    assert!(logs.contains("UNKNOWN_KEY"), "{logs}");
    for secret in &secrets {
        // Whole tokens, and each JWS part long enough to be identifying.
        for part in secret.split('.').filter(|p| p.len() >= 5) {
            assert!(
                !logs.contains(part),
                "a log line contains planted data {part:.40}…:\n{logs}"
            );
        }
    }
}
