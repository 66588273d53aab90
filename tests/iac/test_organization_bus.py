"""Organization mode's way in (template.yaml, the template parsed).

The organization bus admits `events:PutEvents` from every principal of the organization, so its
rule passes only what the member stacks forward: AWS services' CloudTrail events (no caller can
put an `aws.*` source), the same sources, event sources and event names as the member rules
(member-template.yaml). What it passes waits in the change queue, whose event source mapping caps
how many changes are checked at once, keeps per-change retries and a dead-letter queue.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from iac_template import (
    MAIN_TEMPLATE,
    MEMBER_TEMPLATE,
    SAMPLE_ACCOUNT,
    Bus,
    Resolver,
    load_event,
    load_template,
)
from moto import mock_aws

pytestmark = pytest.mark.iac

MAIN = load_template(MAIN_TEMPLATE)
MEMBER = load_template(MEMBER_TEMPLATE)
RESOURCES: dict[str, Any] = MAIN["Resources"]
ORGANIZATION = {"MemberRoleName": "vpc-dns-watchdog-member", "OrganizationId": "o-a1b2c3d4e5"}
MEMBER_ACCOUNT = "222222222222"
FORWARDED_SAMPLES = (
    "associate_dhcp_options",
    "create_dhcp_options",
    "modify_vpc_attribute",
    "associate_resolver_rule",
    "disassociate_resolver_rule",
    "associate_vpc_with_hosted_zone",
    "disassociate_vpc_from_hosted_zone",
    "associate_firewall_rule_group",
    "disassociate_firewall_rule_group",
    "revoke_security_group_egress",
    "modify_security_group_rules",
    "replace_network_acl_entry",
)


def central(**values: Any) -> Resolver:
    """template.yaml in organization mode, resources named after their logical ids."""
    names = {
        logical_id: f"arn:aws:{resource['Type'].split('::')[1].lower()}:us-east-1:"
        f"{SAMPLE_ACCOUNT}:{logical_id}"
        for logical_id, resource in RESOURCES.items()
    }
    attributes = {f"{name}.Arn": arn for name, arn in names.items()}
    queue_names = {f"{name}.QueueName": name for name in names}
    return Resolver(MAIN, {**names, **attributes, **queue_names, **ORGANIZATION, **values})


def organization_rule(**values: Any) -> dict[str, Any]:
    properties: dict[str, Any] = central(**values).resolve(
        RESOURCES["ForwardedChangesRule"]["Properties"]
    )
    return properties


def member_patterns() -> list[dict[str, Any]]:
    """The patterns of every member forwarding rule (a member stack in us-east-1, where every
    rule exists; the defaults of the optional parameters)."""
    resolver = Resolver(
        MEMBER,
        {
            "CentralAccountId": SAMPLE_ACCOUNT,
            "CentralRegion": "eu-central-1",
            "AWS::Region": "us-east-1",
            "AWS::AccountId": MEMBER_ACCOUNT,
        },
    )
    return [
        resolver.resolve(resource["Properties"]["EventPattern"])
        for resource in MEMBER["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule"
        and resolver.condition(resource.get("Condition", "ForwardEvents"))
    ]


def event_names(detail: dict[str, Any]) -> set[str]:
    names = set(detail.get("eventName", []))
    for branch in detail.get("$or", []):
        names |= set(branch.get("eventName", []))
    return names


# ---------------------------------------------------------------- what the rule passes


def test_the_organization_rule_passes_exactly_what_the_member_rules_forward() -> None:
    pattern = organization_rule()["EventPattern"]
    members = member_patterns()
    assert members  # not vacuous
    assert set(pattern["source"]) == {s for m in members for s in m["source"]}
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert all(m["detail-type"] == pattern["detail-type"] for m in members)
    detail = pattern["detail"]
    assert set(detail["eventSource"]) == {s for m in members for s in m["detail"]["eventSource"]}
    assert set(detail["eventName"]) == {n for m in members for n in event_names(m["detail"])}
    assert len(detail["eventName"]) == len(set(detail["eventName"]))
    # and, like them, never a failed call
    assert detail["errorCode"] == [{"exists": False}]
    assert all(m["detail"]["errorCode"] == [{"exists": False}] for m in members)


def test_the_organization_rule_admits_aws_services_sources_only() -> None:
    # plain values (no prefix, wildcard or anything-but matching): only AWS services put these
    sources = organization_rule()["EventPattern"]["source"]
    assert all(isinstance(source, str) and source.startswith("aws.") for source in sources)
    assert "aws.events" not in sources  # not the schedule: nothing but CloudTrail changes


def test_without_preflight_on_create_new_option_sets_are_not_passed_either() -> None:
    names = organization_rule(PreflightOnCreate="false")["EventPattern"]["detail"]["eventName"]
    assert "CreateDhcpOptions" not in names
    assert "CreateDhcpOptions" in organization_rule()["EventPattern"]["detail"]["eventName"]


@pytest.fixture
def organization_bus() -> Iterator[Bus]:
    with mock_aws():
        yield Bus({"organization": organization_rule()["EventPattern"]})


def forwarded(sample: str) -> dict[str, Any]:
    """A member account's event as the central bus receives it."""
    event = copy.deepcopy(load_event(f"{sample}.json"))
    event["account"] = MEMBER_ACCOUNT
    event["detail"]["recipientAccountId"] = MEMBER_ACCOUNT
    return event


@pytest.mark.parametrize("sample", FORWARDED_SAMPLES)
def test_every_forwarded_change_is_passed(organization_bus: Bus, sample: str) -> None:
    organization_bus.put(forwarded(sample))
    assert organization_bus.triggered() == {"organization"}


@pytest.mark.parametrize(
    "forge",
    [
        {"source": "forger"},
        {"source": "ec2"},
        {"source": "custom.aws.ec2"},
        {"source": "aws.partner/forger.example/1/changes"},
        {"detail-type": "AWS Console Sign In via CloudTrail"},
    ],
)
def test_an_event_any_member_could_put_is_not_passed(
    organization_bus: Bus, forge: dict[str, str]
) -> None:
    # Given what a principal of a member account can put on the bus itself: any source but an
    # AWS service's, any detail-type and detail
    organization_bus.put({**forwarded("associate_dhcp_options"), **forge})
    assert organization_bus.triggered() == set()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("eventName",), "RunInstances"),
        (("eventName",), "DeleteTrail"),
        (("eventSource",), "cloudtrail.amazonaws.com"),
        (("errorCode",), "Client.UnauthorizedOperation"),
    ],
)
def test_other_cloudtrail_events_a_member_could_forward_are_not_passed(
    organization_bus: Bus, path: tuple[str, ...], value: str
) -> None:
    # Given a member admin forwarding every CloudTrail event of the account to the central bus
    event = forwarded("associate_dhcp_options")
    event["detail"][path[0]] = value
    organization_bus.put(event)
    assert organization_bus.triggered() == set()


# ---------------------------------------------------------------- the change queue


def test_forwarded_changes_go_to_the_change_queue_not_straight_to_the_checker() -> None:
    resolver = central()
    [target] = organization_rule()["Targets"]
    assert target["Arn"] == resolver.value_of("ChangeQueue.Arn")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 20, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": resolver.value_of("EventsDeadLetterQueue.Arn")}
    # no permission lets the organization bus's rule invoke the checker itself
    for resource in RESOURCES.values():
        if resource["Type"] == "AWS::Lambda::Permission":
            assert "ForwardedChangesRule" not in repr(resource["Properties"])


def test_the_change_queue_caps_the_checks_at_a_parameter_with_a_sane_default() -> None:
    parameter = MAIN["Parameters"]["ChangeMaxConcurrency"]
    assert parameter["Type"] == "Number"
    assert 2 <= parameter["Default"] <= 50
    # Lambda's bounds for an SQS event source mapping's maximum concurrency
    assert (parameter["MinValue"], parameter["MaxValue"]) == (2, 1000)
    resolver = central(ChangeMaxConcurrency=25)
    mapping = resolver.resolve(RESOURCES["ChangeQueueMapping"]["Properties"])
    assert mapping == {
        "EventSourceArn": resolver.value_of("ChangeQueue.Arn"),
        "FunctionName": resolver.value_of("CheckerFunction"),
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": "25"},
    }
    groups = MAIN["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    [organization] = [g for g in groups if "ChangeMaxConcurrency" in g["Parameters"]]
    assert "MemberRoleName" in organization["Parameters"]


@pytest.mark.parametrize("blocking_rule", ["false", "true"])
def test_a_failing_change_is_retried_then_dead_lettered_before_it_expires(
    blocking_rule: str,
) -> None:
    resolver = central(NameBlockingRule=blocking_rule)
    queue = resolver.resolve(RESOURCES["ChangeQueue"]["Properties"])
    checker_timeout = resolver.resolve(RESOURCES["CheckerFunction"]["Properties"]["Timeout"])
    # Lambda's advice for SQS sources: a visibility timeout of 6 x the function's timeout
    assert queue["VisibilityTimeout"] >= 6 * checker_timeout
    redrive = queue["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": resolver.value_of("ChangeDeadLetterQueue.Arn"),
        "maxReceiveCount": 3,
    }
    # every receive fits in the retention: a failing change reaches the dead-letter queue
    assert queue["MessageRetentionPeriod"] > redrive["maxReceiveCount"] * queue["VisibilityTimeout"]
    assert queue["KmsMasterKeyId"] == resolver.value_of("WatchdogKey")
    dead_letters = resolver.resolve(RESOURCES["ChangeDeadLetterQueue"]["Properties"])
    assert dead_letters["MessageRetentionPeriod"] == 1209600


def test_only_the_organization_rule_may_put_changes_on_the_queue() -> None:
    resolver = central()
    policy = resolver.resolve(RESOURCES["ChangeQueuePolicy"]["Properties"])
    assert policy["Queues"] == [resolver.value_of("ChangeQueue")]
    [allow] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": resolver.value_of("ForwardedChangesRule.Arn")}
    }
    [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_checker_may_only_receive_from_the_change_queue() -> None:
    resolver = central()
    statements = resolver.resolve(RESOURCES["CheckerOrganizationPolicy"]["Properties"])[
        "PolicyDocument"
    ]["Statement"]
    on_queue = [s for s in statements if s["Resource"] == resolver.value_of("ChangeQueue.Arn")]
    [receive] = on_queue
    assert sorted(receive["Action"]) == [
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]


def test_the_change_queue_is_watched() -> None:
    resolver = central()
    dead_letters = resolver.resolve(RESOURCES["ChangeDeadLetterQueueAlarm"]["Properties"])
    assert dead_letters["Dimensions"] == [{"Name": "QueueName", "Value": "ChangeDeadLetterQueue"}]
    assert (dead_letters["ComparisonOperator"], dead_letters["Threshold"]) == (
        "GreaterThanThreshold",
        0,
    )
    age = resolver.resolve(RESOURCES["ChangeQueueAgeAlarm"]["Properties"])
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": "ChangeQueue"}]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    retention = resolver.resolve(RESOURCES["ChangeQueue"]["Properties"])["MessageRetentionPeriod"]
    # it pages while the oldest change can still be checked
    assert age["Threshold"] + age["Period"] * age["EvaluationPeriods"] < retention


def test_the_change_queue_exists_in_organization_mode_only() -> None:
    for name in (
        "ChangeQueue",
        "ChangeQueuePolicy",
        "ChangeDeadLetterQueue",
        "ChangeQueueMapping",
        "ChangeDeadLetterQueueAlarm",
        "ChangeQueueAgeAlarm",
        "ForwardedChangesRule",
    ):
        assert RESOURCES[name]["Condition"] == "OrganizationMode", name
