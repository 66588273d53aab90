"""What a page says is hit: the workloads in the VPC, read from moto when an alert goes out,
cached with the VPC's state, never blocking the page; PriorityFromImpact."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from checker_doubles import FakeCanary, World

from devtools.awsworld import CallRecorder
from devtools.lambdakit import cloudtrail_event, load_event
from devtools.orgworld import error_response

pytestmark = pytest.mark.integration

Invoke = Callable[[Any], dict[str, Any]]
CORP_DNS = "10.1.1.10"
CANARY = "vpc-dns-canary-a"


@pytest.fixture
def vpc(world: World) -> dict[str, str]:
    """A VPC watched by one canary that cannot reach 10.1.1.10, with the canary's interface."""
    vpc_id = world.create_vpc("10.0.0.0/16")
    subnet = world.create_subnet(vpc_id, "10.0.1.0/24")
    group = world.create_security_group(vpc_id)
    good = world.option_set("AmazonProvidedDNS", domain_name="ec2.internal")
    bad = world.option_set(CORP_DNS)
    world.associate(vpc_id, good)
    world.add_canary(vpc_id, CANARY, FakeCanary(dead={CORP_DNS}))
    world.add_lambda_interface(subnet, CANARY, [group])
    return {"vpc_id": vpc_id, "subnet": subnet, "group": group, "good": good, "bad": bad}


def with_workloads(world: World, vpc: dict[str, str]) -> None:
    """Three functions, an ECS task, an instance and a NAT gateway in the VPC; and a function
    in another VPC, which is not hit."""
    for name in ("reports", "orders-api", "billing"):
        world.add_function(name, subnet_ids=[vpc["subnet"]], security_group_ids=[vpc["group"]])
    world.add_task_interface(vpc["subnet"])
    world.add_instance(vpc["subnet"])
    world.add_nat_gateway_interface(vpc["subnet"])
    elsewhere = world.create_vpc("10.9.0.0/16")
    other_subnet = world.create_subnet(elsewhere, "10.9.1.0/24")
    world.add_function(
        "elsewhere",
        subnet_ids=[other_subnet],
        security_group_ids=[world.create_security_group(elsewhere)],
    )


def break_it(world: World, vpc: dict[str, str], checker_app: Invoke) -> dict[str, Any]:
    event = load_event("manual_check")
    event["vpc_ids"] = [vpc["vpc_id"]]
    checker_app(event)
    world.associate(vpc["vpc_id"], vpc["bad"])
    return checker_app(
        cloudtrail_event("associate_dhcp_options", vpcId=vpc["vpc_id"], dhcpOptionsId=vpc["bad"])
    )


@pytest.fixture
def recorder() -> Iterator[CallRecorder]:
    with CallRecorder().recording() as calls:
        yield calls


def test_a_critical_names_the_functions_and_counts_the_task_and_the_instance(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given three functions, an ECS task, an instance and a NAT gateway besides the canary
    with_workloads(world, vpc)
    # When the VPC's DNS breaks
    result = break_it(world, vpc, checker_app)

    # Then the page says what is hit, canary and NAT gateway left out of the count
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert (
        "Hit: 3 Lambda functions (billing, orders-api, reports), 1 ECS task, 1 instance"
        in alert.text
    )
    assert "1 canary interface (not counted)" in alert.text
    assert "1 other interface that resolves nothing through the option set (nat_gateway 1)" in (
        alert.text
    )
    blast = alert.document["blast_radius"]
    assert blast["status"] == "read"
    assert blast["workloads"] == 5
    assert blast["lambda_functions"] == {
        "total": 3,
        "names": ["billing", "orders-api", "reports"],
        "complete": True,
    }
    assert (blast["ecs_tasks"], blast["instances"], blast["canary_interfaces"]) == (1, 1, 1)
    assert blast["other_interfaces_by_type"] == {"nat_gateway": 1}
    assert alert.document["priority"] is None
    # and subscription filter policies can route on the count
    assert alert.attributes["workloads"] == "5"
    assert alert.attributes["evidence"] == "not-collected"
    assert result["vpcs"][0]["workloads"] == 5


def test_the_census_is_cached_with_the_state_and_not_read_again_within_its_ttl(
    world: World, vpc: dict[str, str], checker_app: Invoke, recorder: CallRecorder
) -> None:
    # Given a page that read the workloads
    with_workloads(world, vpc)
    break_it(world, vpc, checker_app)
    world.alerts()
    read = [c.operation for c in recorder.calls if c.operation == "ListFunctions"]
    assert read == ["ListFunctions"]
    item = world.dynamodb.get_item(
        TableName=world.table_name, Key={"pk": {"S": f"vpc#{vpc['vpc_id']}"}}
    )["Item"]
    assert item["workloads"]["M"]["functions_total"] == {"N": "3"}

    # When the VPC recovers and breaks again within the cache's time to live
    world.associate(vpc["vpc_id"], vpc["good"])
    checker_app(
        cloudtrail_event("associate_dhcp_options", vpcId=vpc["vpc_id"], dhcpOptionsId=vpc["good"])
    )
    world.associate(vpc["vpc_id"], vpc["bad"])
    checker_app(
        cloudtrail_event("associate_dhcp_options", vpcId=vpc["vpc_id"], dhcpOptionsId=vpc["bad"])
    )

    # Then the second page shows the cached census, with its age, and lists no function again
    pages = [a for a in world.alerts() if a.severity == "CRITICAL"]
    assert len(pages) == 1
    assert "(as of " in pages[0].text
    assert pages[0].document["blast_radius"]["status"] == "cached"
    assert [c.operation for c in recorder.calls].count("ListFunctions") == 1
    assert [c.operation for c in recorder.calls].count("DescribeNetworkInterfaces") == 1


def test_a_sweep_that_pages_nothing_reads_no_workloads(
    world: World, vpc: dict[str, str], checker_app: Invoke, recorder: CallRecorder
) -> None:
    with_workloads(world, vpc)
    checker_app(load_event("scheduled_sweep"))
    assert world.alerts() == []
    assert "ListFunctions" not in {c.operation for c in recorder.calls}


def test_a_blast_radius_that_cannot_be_read_never_holds_the_page_back(
    world: World, vpc: dict[str, str], checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the checker may not list functions (PriorityFromImpact on: an unknown count must not
    # lower the page either)
    monkeypatch.setenv("PRIORITY_FROM_IMPACT", "true")
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.lambda.ListFunctions",
        lambda **_: error_response("AccessDeniedException", "not authorized", 403),
    )
    # When the VPC's DNS breaks
    break_it(world, vpc, checker_app)

    # Then the CRITICAL goes out and says why it cannot say what is hit
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert (
        f"Hit: unknown, the workloads in {vpc['vpc_id']} could not be read "
        "(lambda:ListFunctions failed (AccessDeniedException: not authorized))"
    ) in alert.text
    assert alert.document["blast_radius"]["status"] == "unreadable"
    assert "workloads" not in alert.attributes


def test_priority_from_impact_sends_a_warning_for_a_vpc_holding_only_the_canary(
    world: World, vpc: dict[str, str], checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given PriorityFromImpact is on and nothing but the canary is in the VPC
    monkeypatch.setenv("PRIORITY_FROM_IMPACT", "true")
    # When the VPC's DNS breaks
    result = break_it(world, vpc, checker_app)

    # Then a WARNING says why it is not a page
    [alert] = world.alerts()
    assert alert.severity == "WARNING"
    assert alert.subject.startswith("[WARNING]")
    assert "Lambda DNS FAILED" in alert.subject
    assert (
        "Priority: sent as WARNING, not CRITICAL: nothing but the watchdog's canaries has a "
        f"network interface in {vpc['vpc_id']}"
    ) in alert.text
    assert "Hit: nothing but the watchdog's canaries" in alert.text
    assert alert.document["priority"]["lowered_from"] == "CRITICAL"
    assert alert.attributes["workloads"] == "0"
    assert result["vpcs"][0]["alert"] == "WARNING"


def test_priority_from_impact_still_pages_a_vpc_with_workloads(
    world: World, vpc: dict[str, str], checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIORITY_FROM_IMPACT", "true")
    world.add_instance(vpc["subnet"])
    break_it(world, vpc, checker_app)
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "Hit: 1 instance" in alert.text


def test_without_priority_from_impact_a_canary_only_vpc_still_pages(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    break_it(world, vpc, checker_app)
    [alert] = world.alerts()
    assert alert.severity == "CRITICAL"
    assert "Hit: nothing but the watchdog's canaries" in alert.text


def test_the_chat_notification_says_what_is_hit_with_names_escaped(
    world: World, vpc: dict[str, str], checker_app: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a chat channel, and a function whose name is markdown emphasis in chat
    topic = world.create_chat_topic("vpc-dns-watchdog-chat", subscriber_queue="chat")
    monkeypatch.setenv("CHAT_TOPIC_ARN", topic)
    world.add_function("_orders_", subnet_ids=[vpc["subnet"]], security_group_ids=[vpc["group"]])
    world.add_instance(vpc["subnet"])
    break_it(world, vpc, checker_app)
    [chat] = world.chat_notifications()
    description = chat.document["content"]["description"]
    assert "*Hit: 1 Lambda function (\u02cdorders\u02cd), 1 instance*" in description
    assert chat.document["metadata"]["additionalContext"]["workloads"] == "2"
    json.dumps(chat.document)


# The README's routing example: pages go to the pager when something besides the canaries is
# hit, or when that is not known; a VPC holding only canaries goes to a ticket queue.
PAGER_POLICY = {
    "severity": ["CRITICAL"],
    "workloads": [{"numeric": [">", 0]}, {"exists": False}],
}
TICKET_POLICY = {"workloads": [{"numeric": ["=", 0]}]}


def filtered_queue(world: World, name: str, policy: dict[str, Any]) -> str:
    """A queue subscribed to the alert topic with a filter policy on message attributes."""
    url = world.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    world.sns.subscribe(
        TopicArn=world.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"},
    )
    return url


def received(world: World, url: str) -> list[str]:
    messages = world.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"])["vpc_id"] for m in messages.get("Messages", [])]


def test_filter_policies_route_on_the_workloads_number(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    # Given a pager queue and a ticket queue, filtered on the alert's attributes
    pager = filtered_queue(world, "pager", PAGER_POLICY)
    ticket = filtered_queue(world, "ticket", TICKET_POLICY)
    # and a second VPC whose workloads are an instance
    busy = world.create_vpc("10.2.0.0/16")
    world.associate(busy, vpc["good"])
    world.add_canary(busy, "vpc-dns-canary-b", FakeCanary(dead={CORP_DNS}))
    world.add_instance(world.create_subnet(busy, "10.2.1.0/24"))

    # When both VPCs break
    break_it(world, vpc, checker_app)
    break_it(world, {**vpc, "vpc_id": busy}, checker_app)

    # Then the page with something hit goes to the pager, the canary-only one to the ticket queue
    assert received(world, pager) == [busy]
    assert received(world, ticket) == [vpc["vpc_id"]]


def test_an_unknown_blast_radius_still_reaches_the_pager(
    world: World, vpc: dict[str, str], checker_app: Invoke
) -> None:
    pager = filtered_queue(world, "pager", PAGER_POLICY)
    ticket = filtered_queue(world, "ticket", TICKET_POLICY)
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.ec2.DescribeNetworkInterfaces",
        lambda **_: error_response("UnauthorizedOperation", "not authorized", 403),
    )
    break_it(world, vpc, checker_app)
    assert received(world, pager) == [vpc["vpc_id"]]
    assert received(world, ticket) == []


def test_a_number_sent_as_a_string_would_match_no_numeric_policy(world: World) -> None:
    # SNS's "numeric" matches only attributes of DataType Number: why `workloads` is one.
    ticket = filtered_queue(world, "ticket", TICKET_POLICY)
    for data_type in ("String", "Number"):
        world.sns.publish(
            TopicArn=world.topic_arn,
            Message=json.dumps({"vpc_id": data_type}),
            MessageAttributes={"workloads": {"DataType": data_type, "StringValue": "0"}},
        )
    assert received(world, ticket) == ["Number"]
