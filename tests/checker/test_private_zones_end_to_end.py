"""A VPC's own DNS through the checker and the real canary, against the DNS lab: the checker
discovers the VPC's private hosted zone and Resolver rule (moto Route 53 and Route 53 Resolver),
puts their names in the canary's plan, and the page names the zone or the rule.

The lab serves the private zone's names only at its "Amazon" server (the VPC base + 2), as only
the Amazon resolver answers a private hosted zone; it forwards the rule's domain to the rule's
targets, as the Amazon resolver does with a Resolver forwarding rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from real_canary import AWS_RECORDS, CANARY, Invoke, LabVpc, change_event, manual_check

from devtools.lambdakit import REGION, cloudtrail_event

pytestmark = pytest.mark.integration

ZONE = "corp.internal"
ZONE_NAME = "app.corp.internal"
ZONE_ADDRESS = "10.9.0.5"
RULE_DOMAIN = "onprem.example"


@pytest.fixture
def zone_vpc(lab_vpc: LabVpc) -> tuple[LabVpc, str]:
    """The lab VPC with a private hosted zone holding one name, answered by the Amazon server."""
    zone = lab_vpc.world.private_zone(lab_vpc.vpc_id, ZONE, {ZONE_NAME: ZONE_ADDRESS})
    lab_vpc.amazon.set_records({**AWS_RECORDS, ZONE_NAME: {"A": [ZONE_ADDRESS]}})
    return lab_vpc, zone


@pytest.fixture
def chat_queue(lab_vpc: LabVpc, monkeypatch: pytest.MonkeyPatch) -> str:
    """A chat topic (what Amazon Q Developer subscribes to), read through an SQS queue."""
    world = lab_vpc.world
    topic = world.create_chat_topic("vpc-dns-watchdog-chat", subscriber_queue="chat")
    monkeypatch.setenv("CHAT_TOPIC_ARN", topic)
    return world.chat_queue_url


def _move(vpc: LabVpc, checker: Invoke, option_set: str) -> dict[str, Any]:
    """Associate `option_set` with the VPC, the canary starting cold, and check the change."""
    vpc.associate(option_set)
    vpc.platform.recycle(CANARY)
    return checker(change_event(vpc, option_set))


def test_a_corporate_server_that_does_not_forward_the_private_zone_pages_with_the_zone(
    zone_vpc: tuple[LabVpc, str], chat_queue: str, checker: Invoke
) -> None:
    lab_vpc, zone = zone_vpc
    world = lab_vpc.world
    # Given a healthy VPC on AmazonProvidedDNS with a private zone, no probe names configured
    assert checker(manual_check([lab_vpc.vpc_id]))["vpcs"][0]["verdict"] == "OK"
    assert world.alerts() == []
    # When it moves to a corporate server that answers the AWS names but not the zone
    corp = lab_vpc.platform.lab.add_server("corp", records=AWS_RECORDS)
    corporate = world.option_set(corp.address)
    result = _move(lab_vpc, checker, corporate)

    # Then one CRITICAL names the zone, its id and the server, with the rollback
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
    sentence = (
        f"private hosted zone {ZONE} ({zone}) is answered only by the Amazon resolver; "
        f"{corp.address} does not forward it"
    )
    assert sentence.lower() in critical.text.lower()
    rollback = (
        f"aws ec2 associate-dhcp-options --dhcp-options-id {lab_vpc.good} "
        f"--vpc-id {lab_vpc.vpc_id} --region {REGION}"
    )
    assert rollback in critical.text
    assert (
        f"  - private hosted zone {ZONE} ({zone}): not forwarded by {corp.address} "
        f"(names: {ZONE_NAME})"
    ) in critical.text
    # and the option set's lint says what the corporate server must forward, and where
    lint = (
        f"[WARNING] VPC_DNS_TO_FORWARD: {lab_vpc.vpc_id} has 1 private hosted zone that custom "
        f"DNS servers must forward to {lab_vpc.amazon.address} (its Amazon resolver): {ZONE}."
    )
    assert lint in critical.text
    # the JSON document carries the zone, structured
    diagnosis = critical.document["diagnosis"]
    assert diagnosis["code"] == "CUSTOM_SERVER_MISSING_NAMES"
    assert diagnosis["sources"] == [
        {
            "kind": "private_zone",
            "id": zone,
            "domain": ZONE,
            "via": None,
            "finding": "not_forwarded",
            "names": [ZONE_NAME],
            "servers": [corp.address],
        }
    ]
    # and chat says it too, with the rollback among the next steps
    [notification] = world.chat_notifications()
    assert sentence.lower() in notification.markdown.lower()
    assert any(rollback in step for step in notification.document["content"]["nextSteps"])


def test_the_same_vpc_on_a_server_that_forwards_the_zone_is_healthy(
    zone_vpc: tuple[LabVpc, str], checker: Invoke
) -> None:
    lab_vpc, _ = zone_vpc
    world = lab_vpc.world
    checker(manual_check([lab_vpc.vpc_id]))
    # When it moves to a corporate server that forwards the zone (it answers its names)
    forwarding = lab_vpc.platform.lab.add_server(
        "corp-forwarding", records={**AWS_RECORDS, ZONE_NAME: {"A": [ZONE_ADDRESS]}}
    )
    result = _move(lab_vpc, checker, world.option_set(forwarding.address))

    # Then the VPC is healthy: the change is announced, nothing pages
    [vpc] = result["vpcs"]
    assert vpc["verdict"] == "OK"
    [info] = world.alerts()
    assert info.severity == "INFO"
    assert info.document["diagnosis"]["code"] == "HEALTHY"
    # the zone's name was asked (and answered) at the new server
    plan = [event for name, event in lab_vpc.platform.invocations if name == CANARY][-1]
    assert ZONE_NAME in [probe["name"] for probe in plan["probes"]]


def test_a_forward_rule_whose_target_is_dead_pages_without_a_rollback(
    lab_vpc: LabVpc, checker: Invoke
) -> None:
    world = lab_vpc.world
    # Given a healthy VPC on AmazonProvidedDNS
    checker(manual_check([lab_vpc.vpc_id]))
    assert world.alerts() == []
    # When a forward rule to a dead target is associated with it (the Amazon resolver forwards
    # the rule's domain to the target, which never answers), and the association's event arrives
    dead = lab_vpc.dead.address
    rule = world.forward_rule(lab_vpc.vpc_id, RULE_DOMAIN, [dead])
    lab_vpc.amazon.forward_rules[RULE_DOMAIN] = [dead]
    association = cloudtrail_event(
        "associate_resolver_rule", resolverRuleId=rule, vPCId=lab_vpc.vpc_id
    )
    result = checker(association)

    # Then one CRITICAL names the rule, its domain and its dead target, and advises no rollback
    assert result["vpcs"][0]["verdict"] == "FAILED"
    [critical] = world.alerts()
    assert critical.severity == "CRITICAL"
    diagnosis = critical.document["diagnosis"]
    assert diagnosis["code"] == "RESOLVER_RULE_TARGETS_FAILING"
    assert f"{RULE_DOMAIN} ({rule})" in critical.text
    assert (
        f"  - Resolver forwarding rule {RULE_DOMAIN} ({rule}): its targets fail: {dead} "
        f"(names: {RULE_DOMAIN})"
    ) in critical.text
    [source] = diagnosis["sources"]
    assert (source["kind"], source["id"], source["domain"]) == ("forward_rule", rule, RULE_DOMAIN)
    assert source["finding"] == "targets_failing"
    assert source["servers"] == [dead]
    assert "associate-dhcp-options" not in critical.text
    assert critical.document["rollback"] == "not_option_set"
    assert critical.document["rollback_command"] is None


# --- preflight: the candidate is asked for the VPC's own names before it is associated ----------


def _created(option_set: str) -> dict[str, Any]:
    event = cloudtrail_event("create_dhcp_options")
    event["detail"]["responseElements"]["dhcpOptions"]["dhcpOptionsId"] = option_set
    return event


def test_a_candidate_that_does_not_forward_the_private_zone_is_flagged_before_association(
    zone_vpc: tuple[LabVpc, str], checker: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_vpc, zone = zone_vpc
    world = lab_vpc.world
    monkeypatch.setenv("LINT_ALLOWED_NETWORKS", lab_vpc.platform.lab.cidr)
    # Given a VPC with a private zone, never checked (no discovery stored), and a corporate
    # option set whose server answers the AWS names but not the zone
    corp = lab_vpc.platform.lab.add_server("corp", records=AWS_RECORDS)
    candidate = world.option_set(corp.address)
    # When it is preflighted
    request = {"action": "preflight", "dhcp_options_id": candidate, "vpc_ids": [lab_vpc.vpc_id]}
    result = checker(request)

    # Then the prediction says it would break the VPC, naming the zone
    [vpc] = result["vpcs"]
    assert vpc["would_break"] is True
    assert vpc["diagnosis"] == "CUSTOM_SERVER_MISSING_NAMES"
    sentence = (
        f"Private hosted zone {ZONE} ({zone}) is answered only by the Amazon resolver; "
        f"{corp.address} does not forward it"
    )
    assert sentence in vpc["summary"]
    [source] = vpc["sources"]
    assert (source["kind"], source["id"], source["names"]) == ("private_zone", zone, [ZONE_NAME])
    [lint] = [f for f in result["lint"] if f["code"] == "VPC_DNS_TO_FORWARD"]
    assert lint["message"].startswith(f"{lab_vpc.vpc_id} has 1 private hosted zone that custom")
    # because the canary asked the candidate for the zone's name
    [(_, plan)] = lab_vpc.platform.invocations
    assert plan["candidate_nameservers"] == [corp.address]
    assert ZONE_NAME in [probe["name"] for probe in plan["probes"]]

    # When the option set's creation is seen: one WARNING names the zone, before association
    checker(_created(candidate))
    [warning] = world.alerts()
    assert warning.severity == "WARNING"
    assert warning.text.startswith(
        f"WARNING: {candidate} would break Lambda DNS in {lab_vpc.vpc_id}: "
        "CUSTOM_SERVER_MISSING_NAMES"
    )
    assert sentence in warning.text
    assert "VPC_DNS_TO_FORWARD" in warning.text
    [described] = world.ec2.describe_vpcs(VpcIds=[lab_vpc.vpc_id])["Vpcs"]
    assert described["DhcpOptionsId"] == lab_vpc.good


def test_a_candidate_that_forwards_the_private_zone_is_safe(
    zone_vpc: tuple[LabVpc, str], checker: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_vpc, _ = zone_vpc
    monkeypatch.setenv("LINT_ALLOWED_NETWORKS", lab_vpc.platform.lab.cidr)
    forwarding = lab_vpc.platform.lab.add_server(
        "corp-forwarding", records={**AWS_RECORDS, ZONE_NAME: {"A": [ZONE_ADDRESS]}}
    )
    candidate = lab_vpc.world.option_set(forwarding.address)
    request = {"action": "preflight", "dhcp_options_id": candidate, "vpc_ids": [lab_vpc.vpc_id]}
    [vpc] = checker(request)["vpcs"]
    assert (vpc["verdict"], vpc["diagnosis"], vpc["sources"]) == ("OK", "HEALTHY", [])
