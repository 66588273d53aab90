"""The outbound endpoints behind a VPC's forward rules, as a second, passive signal in a page
(moto's Route 53 Resolver and CloudWatch through the checker's handler, canary doubles): read
once for a page about a failing forward rule, never when DNS is healthy."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from canary_findings import healthy, rule_targets_failing
from checker_doubles import Reply, World
from dns_watchdog.constants import CHAT_TOPIC_ARN_ENV

from devtools.lambdakit import load_event

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CANARY = "vpc-dns-canary-a"


class Targets:
    """A canary double whose forward rule's targets are dead while `failing` is set."""

    failing = False

    def __call__(self, payload: dict[str, Any], env: dict[str, str]) -> Reply:
        servers = list(payload.get("expected_nameservers") or [])
        return None, rule_targets_failing(servers) if self.failing else healthy(servers)


@pytest.fixture
def calls() -> list[str]:
    """The Resolver and CloudWatch operations the checker's clients call."""
    made: list[str] = []
    assert boto3.DEFAULT_SESSION is not None
    for service in ("route53resolver", "cloudwatch"):
        boto3.DEFAULT_SESSION.events.register(
            f"before-call.{service}", lambda model, **_: made.append(model.name)
        )
    return made


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


def chat_descriptions(world: World, url: str) -> list[str]:
    messages = world.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [
        json.loads(json.loads(m["Body"])["Message"])["content"]["description"] for m in messages
    ]


def manual(vpc_id: str) -> dict[str, Any]:
    event = load_event("manual_check")
    event["vpc_ids"] = [vpc_id]
    return event


def endpoint_of(world: World, rule: str) -> str:
    resolver = world.client("route53resolver")
    found = resolver.get_resolver_rule(ResolverRuleId=rule)["ResolverRule"]
    return str(found["ResolverEndpointId"])


def test_a_page_about_failing_rule_targets_carries_the_endpoints_health(
    world: World, checker_app: Invoke, calls: list[str], chat_queue: str
) -> None:
    # Given a VPC with a forward rule through an outbound endpoint with 2 addresses, one of
    # which CloudWatch counted unhealthy
    vpc_id = world.create_vpc("10.0.0.0/16")
    world.create_subnet(vpc_id, "10.0.1.0/24")
    world.associate(vpc_id, world.option_set("AmazonProvidedDNS"))
    canary = Targets()
    world.add_canary(vpc_id, CANARY, canary)
    rule = world.forward_rule(vpc_id, "onprem.example", ["10.9.0.10"])
    endpoint = endpoint_of(world, rule)
    world.client("cloudwatch").put_metric_data(
        Namespace="AWS/Route53Resolver",
        MetricData=[
            {
                "MetricName": "EndpointHealthyENICount",
                "Dimensions": [{"Name": "EndpointId", "Value": endpoint}],
                "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
                "Value": 1,
            }
        ],
    )
    # When DNS is healthy, the endpoint is not read
    checker_app(manual(vpc_id))
    assert "GetResolverEndpoint" not in calls
    assert "GetMetricData" not in calls
    world.alerts()
    chat_descriptions(world, chat_queue)
    # When the rule's targets fail
    canary.failing = True
    checker_app(manual(vpc_id))
    # Then the page names the endpoint and its healthy interfaces
    [alert] = world.alerts()
    [line] = [line for line in alert.text.splitlines() if line.startswith("Outbound endpoint")]
    assert line.startswith(f"Outbound endpoint {endpoint}: degraded")
    assert "1 of 2 network interfaces healthy" in line
    [health] = alert.document["resolver_endpoints"]
    assert (health["endpoint_id"], health["healthy_interfaces"], health["interfaces"]) == (
        endpoint,
        1,
        2,
    )
    assert health["signal"] == "degraded"
    # and chat shows the same line
    [description] = chat_descriptions(world, chat_queue)
    assert f"Outbound endpoint {endpoint}: degraded" in description
    # and it was read once: one GetResolverEndpoint, one GetMetricData
    assert calls.count("GetResolverEndpoint") == 1
    assert calls.count("GetMetricData") == 1
