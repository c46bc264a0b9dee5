//! Grade delivery under load: 10,000 scores for 100 learners on 10 resource links, posted to
//! the tool's score API on loopback while the AGS platform fails 20% of score requests
//! (500, 503, 429, dropped connections, and answers lost after the score was applied).
//!
//! Prints the submission throughput, the time until every grade was delivered, and the
//! counts delivered, lost and duplicated (aim: 0 lost, 0 duplicated, ≥ 500 scores/s).
//!
//! `cargo bench -p lti-tests --bench outcomes` (set `SCORES_PER_CHANNEL` to scale it down).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lti_shared::domain::outbox::DeliveryStatus;
use lti_tests::ags::AgsEndpoint;
use lti_tests::faults::Fault;
use lti_tests::grades::{GradeRig, count_with_status, fast_policy, wait_for};
use lti_tests::tool::ToolOptions;
use serde_json::json;
use tokio::sync::Semaphore;

const USERS: usize = 100;
const LINKS: usize = 10;
const CONCURRENCY: usize = 32;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let per_channel: usize = std::env::var("SCORES_PER_CHANNEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let rig = Arc::new(
        GradeRig::start(
            ToolOptions {
                app: ltictl::serve::AppOptions {
                    policy: fast_policy(),
                    ..Default::default()
                },
                retry_interval: Some(Duration::from_millis(50)),
                ..ToolOptions::default()
            },
            |c| c,
        )
        .await,
    );
    let lineitems: Vec<String> = (0..LINKS)
        .map(|l| {
            rig.ags.add_line_item(
                "bench",
                json!({"label": format!("Activity {l}"), "scoreMaximum": 100, "resourceLinkId": format!("link-{l}")}),
            )
        })
        .collect();
    let mut channels = Vec::new();
    for (l, lineitem) in lineitems.iter().enumerate() {
        for u in 0..USERS {
            let user = format!("user-{u}");
            let token = rig
                .seed("bench", &format!("link-{l}"), &user, Some(lineitem))
                .await;
            channels.push((lineitem.clone(), user, token));
        }
    }
    rig.ags.faults().random(
        AgsEndpoint::Scores,
        0.2,
        7,
        &[
            Fault::Status(500),
            Fault::Status(503),
            Fault::TooManyRequests { retry_after: 0 },
            Fault::Close,
            Fault::CloseAfterProcessing,
        ],
    );
    let total = channels.len() * per_channel;
    println!(
        "outcomes bench: {total} scores, {USERS} learners x {LINKS} resource links, \
         {CONCURRENCY} concurrent clients, 20% of score requests failing"
    );
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (_, _, token) in &channels {
        let token = token.clone();
        let rig = Arc::clone(&rig);
        let limit = Arc::clone(&limit);
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for n in 0..per_channel {
                let _permit = limit.acquire().await.unwrap();
                let (status, _) = rig
                    .post_score(&token, json!({"scoreGiven": n + 1, "scoreMaximum": 100}))
                    .await;
                if status != 202 {
                    refused += 1;
                }
            }
            refused
        }));
    }
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    let submitted = started.elapsed();
    let settled = wait_for(Duration::from_secs(600), || async {
        count_with_status(&rig.tool, DeliveryStatus::Pending).await == 0
    })
    .await;
    let delivered_after = started.elapsed();
    let expected: Vec<(&str, &str, f64)> = channels
        .iter()
        .flat_map(|(lineitem, user, _)| {
            (0..per_channel).map(move |n| (lineitem.as_str(), user.as_str(), (n + 1) as f64))
        })
        .collect();
    let report = rig.ags.delivery_report(&expected);
    let dead = count_with_status(&rig.tool, DeliveryStatus::Dead).await;
    let failed = count_with_status(&rig.tool, DeliveryStatus::Failed).await;
    println!(
        "submitted {total} scores in {:.2} s: {:.0} scores/s ({refused} refused by the API)",
        submitted.as_secs_f64(),
        total as f64 / submitted.as_secs_f64()
    );
    println!(
        "all settled: {settled}, after {:.2} s; faults injected: {}; dead {dead}, failed {failed}",
        delivered_after.as_secs_f64(),
        rig.ags.faults().injected_count(AgsEndpoint::Scores)
    );
    println!(
        "delivered {}, lost {}, duplicated {} (token requests: {})",
        report.delivered,
        report.lost,
        report.duplicated,
        rig.ags.token_requests()
    );
    println!("{report}");
}
