//! `ltictl catalog` as an operator runs it: the real binary, against the embedded backend and
//! against DynamoDB on the loopback moto server that `infra/test.sh` starts. (Kept apart from
//! `cli.rs` so the catalog commands' tests live with nothing else.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::process::Output;

use serde_json::{Value, json};
use support::{Target, assert_fails, assert_success, on_both_backends};

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

on_both_backends!(catalog_round_trip, catalog_bad_input_is_refused);
