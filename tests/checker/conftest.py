"""Fixtures of the checker tests (helpers live in checker_doubles.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from checker_doubles import REGION, CanaryRouter, World
from moto import mock_aws

CHECKER_SETTINGS = (
    "ALERT_TOPIC_ARN",
    "STATE_TABLE_NAME",
    "PROBE_PLAN",
    "CANARY_DEADLINE_MS",
    "CANARY_INVOKE_TIMEOUT_S",
    "INVOKE_MAX_ATTEMPTS",
    "REFRESH_BUDGET_S",
    "MAX_CONCURRENT_INVOCATIONS",
)
TABLE_NAME = "vpc-dns-watchdog-state"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline AWS settings: fake credentials, one region, tracing off."""
    for variable in CHECKER_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "vpc-dns-watchdog-checker")


@pytest.fixture
def moto_world(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """moto with the resources the template creates: state table, alert topic, a subscriber.

    Nothing answers lambda Invoke yet: `world` routes it to canary doubles, the end-to-end tests
    to the real canary (devtools.local_lambda.LocalCanaryPlatform).
    """
    with mock_aws():
        boto3.setup_default_session(region_name=REGION)
        session = boto3.session.Session(region_name=REGION)
        session.client("dynamodb").create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sns = session.client("sns")
        sqs = session.client("sqs")
        topic_arn = sns.create_topic(Name="vpc-dns-watchdog-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alert-subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("STATE_TABLE_NAME", TABLE_NAME)
        try:
            yield World(CanaryRouter(), topic_arn, queue_url, TABLE_NAME, session)
        finally:
            boto3.DEFAULT_SESSION = None


@pytest.fixture
def world(moto_world: World) -> World:
    """The moto world with lambda Invoke answered by in-process canary doubles."""
    assert boto3.DEFAULT_SESSION is not None
    # Clients the checker builds from the default session route Invoke to the doubles.
    boto3.DEFAULT_SESSION.events.register("before-call.lambda.Invoke", moto_world.router)
    return moto_world


@pytest.fixture
def checker_app(
    world: World, load_handler: Callable[[str], ModuleType], lambda_context: Any
) -> Callable[[Any], dict[str, Any]]:
    """Invoke the checker handler like Lambda would (one execution environment per test)."""
    app = load_handler("checker")

    def invoke(event: Any) -> dict[str, Any]:
        result: dict[str, Any] = app.lambda_handler(event, lambda_context)
        return result

    return invoke
