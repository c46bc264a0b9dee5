//! The table in `template.yaml` is the table the code expects: same attributes, key schema,
//! index and TTL attribute as `create_table` builds (checked on the loopback moto server by
//! describing the real table), and the settings an institution needs (on-demand, PITR, SSE).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;

use lti_shared::adapters::store::dynamo::{TTL, create_table};
use serde_yaml_ng::Value;

/// An index as (name, key schema, projection type).
type IndexShape = (String, Vec<(String, String)>, String);

fn template_table() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let template: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let tables: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::DynamoDB::Table")
        .collect();
    assert_eq!(tables.len(), 1, "exactly one table in the template");
    tables[0]["Properties"].clone()
}

fn key_schema(list: &Value) -> Vec<(String, String)> {
    list.as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn template_table_has_institution_settings() {
    let table = template_table();
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], TTL);
}

#[tokio::test]
async fn template_table_matches_create_table() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs a local DynamoDB endpoint: run ./infra/test.sh, or start moto and export \
         AWS_ENDPOINT_URL"
    );
    let config = lti_shared::compose::config::aws_sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = format!("template-{}", uuid::Uuid::new_v4());
    create_table(&client, &name).await.unwrap();
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let template = template_table();

    let attributes = |pairs: Vec<(String, String)>| pairs.into_iter().collect::<BTreeSet<_>>();
    let code_attributes = attributes(
        described
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    a.attribute_type().as_str().to_owned(),
                )
            })
            .collect(),
    );
    let template_attributes = attributes(
        template["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["AttributeName"].as_str().unwrap().to_owned(),
                    a["AttributeType"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    );
    assert_eq!(code_attributes, template_attributes);

    let code_keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(code_keys, key_schema(&template["KeySchema"]));

    let code_indexes: Vec<IndexShape> = described
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap().to_owned(),
                i.key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_owned(),
                            k.key_type().as_str().to_owned(),
                        )
                    })
                    .collect(),
                i.projection()
                    .unwrap()
                    .projection_type()
                    .unwrap()
                    .as_str()
                    .to_owned(),
            )
        })
        .collect();
    let template_indexes: Vec<IndexShape> = template["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["IndexName"].as_str().unwrap().to_owned(),
                key_schema(&i["KeySchema"]),
                i["Projection"]["ProjectionType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(code_indexes, template_indexes);

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        template["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
}
