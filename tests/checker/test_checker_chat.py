"""Chat: with CHAT_TOPIC_ARN set, each alert also reaches the chat topic as an Amazon Q Developer
custom notification (the whole message), once, threaded per incident; e-mail keeps its text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from checker_doubles import FakeCanary, World
from dns_watchdog.constants import CHAT_TOPIC_ARN_ENV

from devtools.lambdakit import cloudtrail_event, load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CORP_DNS = "10.1.1.10"


@pytest.fixture
def chat_queue(world: World, monkeypatch: pytest.MonkeyPatch) -> str:
    """A chat topic (what Amazon Q Developer subscribes to), read through an SQS queue."""
    topic = world.sns.create_topic(Name="vpc-dns-watchdog-chat")["TopicArn"]
    url = world.sqs.create_queue(QueueName="chat")["QueueUrl"]
    arn = world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    world.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv(CHAT_TOPIC_ARN_ENV, topic)
    return url


def chat_documents(world: World, url: str) -> list[dict[str, Any]]:
    messages = world.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def test_a_critical_and_its_recovery_reach_chat_in_one_thread(
    world: World, chat_queue: str, checker_app: Invoke
) -> None:
    # Given a watched VPC, seen healthy
    vpc_id = world.create_vpc("10.0.0.0/16")
    good = world.option_set("AmazonProvidedDNS")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, "vpc-dns-canary-a", FakeCanary(dead={CORP_DNS}))
    manual = load_event("manual_check")
    manual["vpc_ids"] = [vpc_id]
    checker_app(manual)
    # When a broken option set is associated, then the good one put back
    world.associate(vpc_id, bad)
    checker_app(cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=bad))
    [critical] = chat_documents(world, chat_queue)
    world.associate(vpc_id, good)
    checker_app(cloudtrail_event("associate_dhcp_options", vpcId=vpc_id, dhcpOptionsId=good))
    [recovered] = chat_documents(world, chat_queue)

    # Then chat got custom notifications with the rollback command, in one thread
    assert critical["version"] == "1.0"
    assert critical["source"] == "custom"
    assert critical["content"]["textType"] == "client-markdown"
    rollback = f"aws ec2 associate-dhcp-options --dhcp-options-id {good} --vpc-id {vpc_id}"
    assert any(rollback in step for step in critical["content"]["nextSteps"])
    assert critical["metadata"]["eventType"] == "VpcDnsWatchdogCritical"
    assert vpc_id in critical["metadata"]["relatedResources"]
    assert recovered["metadata"]["eventType"] == "VpcDnsWatchdogRecovered"
    assert critical["metadata"]["threadId"] == recovered["metadata"]["threadId"]
    # and e-mail subscribers still get the text, on the alert topic
    severities = [alert.severity for alert in world.alerts()]
    assert severities[-2:] == ["CRITICAL", "RECOVERED"]
