#!/usr/bin/env python3
"""Creates the stack's stateful resources on a local AWS-compatible server (moto).

The same shapes as template.yaml: the table (pk/sk, index gsi1, TTL on `ttl`), the secret
holding an empty key document, and the grade retry queue with its dead-letter queue. Used by
infra/coldstart.sh and infra/lambda-local.sh; idempotent. Prints the function environment as
KEY=VALUE lines (LTI_TABLE, LTI_SECRET_ID, LTI_QUEUE_URL, LTI_DEAD_LETTER_QUEUE_URL).

Needs boto3 (moto[server] brings it) and AWS_ENDPOINT_URL pointing at the server; refuses to
run without it, so it can never create anything in a real account.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import boto3

# The placeholder document template.yaml gives the secret (no keys yet).
EMPTY_KEY_DOCUMENT = '{"signing_keys":{"keys":[]},"consumer_secrets":{}}'


def create_table(dynamodb, name: str) -> None:
    try:
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": attr, "AttributeType": "S"}
                for attr in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    for _ in range(60):
        status = dynamodb.describe_table(TableName=name)["Table"]["TableStatus"]
        if status == "ACTIVE":
            break
        time.sleep(0.5)
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True}
    )


def create_secret(secrets, name: str) -> None:
    try:
        secrets.create_secret(Name=name, SecretString=EMPTY_KEY_DOCUMENT)
    except secrets.exceptions.ResourceExistsException:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="lti-local", help="base name of every resource")
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith(("http://127.", "http://localhost")):
        print(
            "local_aws.py: AWS_ENDPOINT_URL must point at a local server on loopback "
            f"(got {endpoint!r})",
            file=sys.stderr,
        )
        return 2
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
    create_table(session.client("dynamodb"), args.name)
    create_secret(session.client("secretsmanager"), args.name)
    sqs = session.client("sqs")
    dead = sqs.create_queue(QueueName=f"{args.name}-dead")["QueueUrl"]
    retries = sqs.create_queue(QueueName=f"{args.name}-retries")["QueueUrl"]
    print(f"LTI_TABLE={args.name}")
    print(f"LTI_SECRET_ID={args.name}")
    print(f"LTI_QUEUE_URL={retries}")
    print(f"LTI_DEAD_LETTER_QUEUE_URL={dead}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
